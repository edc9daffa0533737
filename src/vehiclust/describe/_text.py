"""Words from evidence: a short name, one or two sentences, and how strong they are.

Rules: every word is backed by a number printed next to it; a word needs more than
:data:`MAJORITY` of the sampled images behind it, or a clear plurality (at least
:data:`PLURALITY` and :data:`LEAD` times the runner-up), otherwise the cluster is called mixed;
two sources must not contradict each other (the colour model's word is used only where the
pixels show some of it); a type is weighed against what its model says of every cluster
(:func:`weigh`), and two close types are said together; a cluster without images or labels is
described by its size alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vehiclust.describe._evidence import (
    SOURCE_COLOUR_MODEL,
    SOURCE_IMAGENET,
    SOURCE_PIXELS,
    SOURCE_TYPE_MODEL,
    ClusterEvidence,
    format_distribution,
    top,
)

MAJORITY = 0.5  # a word needs more than this share of the sampled images...
PLURALITY = 0.4  # ...or at least this share
LEAD = 1.5  # ...and this many times the share of the runner-up
CORROBORATION = 0.2  # the pixels must show this share of the colour model's word
NO_VEHICLE = 0.35  # mean ImageNet vehicle probability below which the type model is not used
MIN_TYPE_MASS = 0.1  # ImageNet evidence on vehicle types below this gives no type word
# Two types are said together ("trucks or articulated lorries") when neither stands out alone,
# the second has at least PAIR_RATIO of the first's weight, the two hold PAIR_MIN of it, and
# the third has less than PAIR_RATIO of the second's (the pair stands apart from the rest).
PAIR_RATIO = 0.6
PAIR_MIN = 0.6
SURE_TYPE = 0.75  # a type word with less weight than this is said with "probably"
DARK_MAJORITY = 0.5
DAY_MAX_DARK = 0.1
MIN_SEPARATION = 0.15

_PLURALS = {"bus": "buses", "minibus": "minibuses", "lorry": "lorries", "articulated lorry": "articulated lorries"}
_MODEL_COLOURS = {"white", "grey", "yellow", "red", "green", "blue", "black"}


@dataclass
class Words:
    colour: str = ""
    colour_share: float = 0.0
    colour_source: str = ""
    colour_named: bool = False
    vtype: str = ""  # the first (or only) type word
    type_share: float = 0.0  # its share of the type evidence
    type_weight: float = 0.0  # its weight after weighing against all clusters (see :func:`weigh`)
    type_lift: float = float("nan")  # its share here over its mean share over all clusters
    type_pair: str = ""  # a second type said with the first when the two are close
    type_source: str = ""
    type_named: bool = False
    type_mass: bool = False  # type shares are probability mass (else shares of images)
    colour_dist: dict | None = None
    type_dist: dict | None = None
    type_reference: dict | None = None

    @property
    def type_word(self) -> str:
        return f"{self.vtype} or {self.type_pair}" if self.type_pair else self.vtype


def named(dist: dict[str, float]) -> bool:
    """Does the top word of ``dist`` carry enough of the images to be said?"""
    if not dist:
        return False
    shares = sorted(dist.values(), reverse=True)
    first, second = shares[0], (shares[1] if len(shares) > 1 else 0.0)
    return first > MAJORITY or (first >= PLURALITY and first >= LEAD * second)


def weigh(dist: dict[str, float], reference: dict[str, float] | None) -> dict[str, float]:
    """Type weights: share here times lift over the mean of all clusters (share² / mean), normalised.

    A type word must be common in the cluster *and* typical of it. Classifiers lean: on small
    oblique traffic crops ImageNet calls every lorry, van and pickup a "moving van", and the
    type model calls nearly everything a truck; weighing each answer against what the model
    says of every cluster cancels that lean while a type that holds most of a cluster keeps it.
    With one cluster (or no reference) the weights are the shares.
    """
    scores = {}
    for word, share in dist.items():
        if share <= 0:
            continue
        mean = (reference or {}).get(word, 0.0)
        scores[word] = share * share / mean if mean > 0 else share
    total = sum(scores.values())
    if total <= 0:
        return {}
    return dict(sorted(((w, v / total) for w, v in scores.items()), key=lambda kv: -kv[1]))


def plural(word: str) -> str:
    return " or ".join(_PLURALS.get(part, part + "s") for part in word.split(" or "))


def quantifier(share: float) -> str:
    if share >= 0.95:
        return "All or nearly all"
    if share >= 0.8:
        return "Almost all"
    if share >= 0.6:
        return "Mostly"
    if share > MAJORITY:
        return "Mainly"
    return "Often"  # a clear plurality, not a majority


def choose_words(ev: ClusterEvidence) -> Words:
    """Pick the colour and type words the evidence supports, with their shares and sources."""
    w = Words()
    pc, ps = top(ev.pixel_colours)
    mc, ms = top(ev.model_colours)
    options = []  # (said, share, word, source, distribution)
    if pc:
        options.append((named(ev.pixel_colours), ps, pc, SOURCE_PIXELS, ev.pixel_colours))
    if mc:
        # The colour model knows 7 words: pink and brown cars come out "red", silver "white".
        # Its word counts only where the pixels show some of it too.
        agrees = not ev.pixel_colours or ev.pixel_colours.get(mc, 0.0) >= CORROBORATION
        options.append((named(ev.model_colours) and agrees, ms, mc, SOURCE_COLOUR_MODEL, ev.model_colours))
    if options:
        said = [o for o in options if o[0]]
        if said and pc and said[0][3] == SOURCE_PIXELS and pc not in _MODEL_COLOURS:
            best = said[0]  # a word the model cannot say is not out-voted by it
        else:
            best = max(said or options, key=lambda o: o[1])
        w.colour_named, w.colour_share, w.colour, w.colour_source, w.colour_dist = best
    _choose_type(ev, w)
    return w


def _choose_type(ev: ClusterEvidence, w: Words) -> None:
    """The type word: ImageNet's vehicle classes where it saw vehicles, else the type model."""
    sources = []
    if ev.imagenet_types and not (np.isfinite(ev.imagenet_type_mass) and ev.imagenet_type_mass < MIN_TYPE_MASS):
        sources.append((ev.imagenet_types, "imagenet_types", SOURCE_IMAGENET, ev.imagenet_mass_based))
    if ev.model_types and not (np.isfinite(ev.vehicle_prob) and ev.vehicle_prob < NO_VEHICLE):
        # The type model must answer car, bus, truck or van even for a motorbike or a road;
        # where ImageNet sees few vehicles its answer is not evidence.
        sources.append((ev.model_types, "model_types", SOURCE_TYPE_MODEL, False))
    if not sources:
        return
    dist, key, source, mass = sources[0]
    reference = ev.overall.get(key) or {}
    weights = weigh(dist, reference)
    if not weights:
        return
    ranked = list(weights.items()) + [("", 0.0), ("", 0.0)]
    (first, p1), (second, p2), (_, p3) = ranked[:3]
    w.vtype, w.type_share, w.type_weight, w.type_source, w.type_mass = first, dist[first], p1, source, mass
    w.type_dist, w.type_reference = dist, (reference if reference and reference != dist else None)
    if w.type_reference and reference.get(first, 0.0) > 0:
        w.type_lift = dist[first] / reference[first]
    if named(weights):
        w.type_named = True
    elif second and p2 >= PAIR_RATIO * p1 and p1 + p2 >= PAIR_MIN and p3 < PAIR_RATIO * p2:
        w.type_named, w.type_pair, w.type_weight = True, second, p1 + p2


def cluster_name(ev: ClusterEvidence, w: Words) -> str:
    colour = w.colour if w.colour_named else ""
    vtype = w.type_word if w.type_named else ""
    if colour and vtype:
        return f"{colour} {plural(vtype)}"
    if colour:
        return f"{colour}, mixed types" if w.type_dist else colour
    if vtype:
        return f"mixed colours, {plural(vtype)}" if w.colour_dist else plural(vtype)
    if w.colour_dist or w.type_dist:
        return "mixed"
    for col, dist in ev.labels.items():
        word, share = top(dist)
        if word and share > MAJORITY:
            return f"{col} {word}"
    return f"cluster {ev.cluster}"


def strength(w: Words) -> float:
    """Mean share (for the type: weight) of the evidence behind the words used (0 = nothing to say)."""
    shares = [s for s, d in ((w.colour_share, w.colour_dist), (w.type_weight, w.type_dist)) if d]
    return float(np.mean(shares)) if shares else 0.0


def strength_label(value: float) -> str:
    if value >= 0.75:
        return "strong"
    if value >= 0.5:
        return "moderate"
    return "weak" if value > 0 else "none"


def _type_head(w: Words) -> str:
    """The type as said: a weight is not a share of images, so no "mostly"; hedged unless strong."""
    text = plural(w.type_word) if w.type_weight >= SURE_TYPE else f"probably {plural(w.type_word)}"
    return text[0].upper() + text[1:]


def _type_fact(w: Words) -> str:
    """The numbers behind the type word: share, lift over all clusters where known, and the
    largest other type's share when the word has no majority, so the reader sees the margin."""
    said = [w.vtype] + ([w.type_pair] if w.type_pair else [])
    lift = lambda word: (w.type_dist.get(word, 0.0) / w.type_reference[word]  # noqa: E731
                         if (w.type_reference or {}).get(word, 0.0) > 0 else float("nan"))
    parts = []
    for word in said:
        share = w.type_dist.get(word, 0.0)
        text = (f"{word} {share:.0%} of the {w.type_source}'s vehicle-type probability" if w.type_mass
                else f"{share:.0%} {word} by the {w.type_source}")
        if np.isfinite(lift(word)):
            text += f", {lift(word):.1f}x its mean over all clusters"
        parts.append(text)
    text = "; ".join(parts)
    others = sorted(((x, s) for x, s in w.type_dist.items() if x not in said), key=lambda kv: -kv[1])
    if others and w.type_dist.get(w.vtype, 0.0) <= MAJORITY:
        word, share = others[0]
        text += f" (other types: {word} {share:.0%}" + (f", {lift(word):.1f}x" if np.isfinite(lift(word)) else "") + ")"
    return text


def _runner_up(dist: dict | None, share: float) -> str:
    """For a plurality word, the next word's share, so the reader sees the margin."""
    if share > MAJORITY or not dist or len(dist) < 2:
        return ""
    word, second = sorted(dist.items(), key=lambda kv: -kv[1])[1]
    return f", next {word} {second:.0%}"


def _sentence_one(ev: ClusterEvidence, w: Words) -> str:
    n = ev.n_images
    colour_ok = w.colour_named
    type_ok = w.type_named
    facts = []
    if type_ok:
        facts.append(_type_fact(w))
    if colour_ok:
        facts.append(f"{w.colour_share:.0%} of {n} sampled images {w.colour} by {w.colour_source}"
                     + _runner_up(w.colour_dist, w.colour_share))
    if colour_ok and type_ok:
        head = f"{_type_head(w)}, {quantifier(w.colour_share).lower()} {w.colour}"
    elif colour_ok:
        head = f"{quantifier(w.colour_share)} {w.colour}"
        if w.type_dist:
            facts.append(f"types mixed: {format_distribution(w.type_dist)} by the {w.type_source}")
    elif type_ok:
        head = _type_head(w)
        if w.colour_dist:
            facts.append(f"colours mixed: {format_distribution(w.colour_dist)} by {w.colour_source}")
    elif w.colour_dist or w.type_dist:
        head = "Mixed cluster"
        if w.colour_dist:
            facts.append(f"no colour stands out: {format_distribution(w.colour_dist)} by {w.colour_source}")
        if w.type_dist:
            facts.append(f"no type stands out: {format_distribution(w.type_dist)} by the {w.type_source}")
    else:
        head = f"{ev.size:,} rows ({ev.share:.1%} of assigned rows)"
        facts.append("no image or model evidence available")
    text = f"{head} ({'; '.join(facts)})"
    extras = []
    if np.isfinite(ev.dark_share):
        if ev.dark_share >= DARK_MAJORITY:
            extras.append(f"dark, night-like images ({ev.dark_share:.0%} dark)")
        elif ev.dark_share <= DAY_MAX_DARK:
            extras.append(f"daylight brightness (mean lightness {ev.brightness:.0f}/100)")
    if np.isfinite(ev.vehicle_prob) and ev.vehicle_prob < 0.3:
        extras.append(f"few recognisable vehicles (ImageNet vehicle probability {ev.vehicle_prob:.0%})")
    if np.isfinite(ev.aspect) and (ev.aspect > 1.4 or ev.aspect < 0.7):
        extras.append(f"{'wide' if ev.aspect > 1 else 'tall'} crops (median aspect {ev.aspect:.2f})")
    if extras:
        text += ", " + ", ".join(extras)
    for col, dist in ev.labels.items():
        if dist:
            text += f"; labels {col}: {format_distribution(dist)}"
    return text


def _tv(a: dict, b: dict) -> float:
    keys = set(a) | set(b)
    return 0.5 * sum(abs(a.get(k, 0.0) - b.get(k, 0.0)) for k in keys)


def separation(ev: ClusterEvidence, w: Words, other: ClusterEvidence, wo: Words, other_name: str) -> str:
    """What separates a cluster from its nearest neighbour, the biggest difference only."""
    options: list[tuple[float, str]] = []
    if w.colour_dist and wo.colour_dist is not None and w.colour_source == wo.colour_source:
        diff = _tv(w.colour_dist, wo.colour_dist)
        if wo.colour_named and w.colour != wo.colour and w.colour_named:
            options.append((diff, f"these are {w.colour} rather than {wo.colour}"))
        elif w.colour:
            options.append((diff * 0.8, f"{w.colour} {w.colour_share:.0%} here vs {wo.colour_dist.get(w.colour, 0.0):.0%} there"))
    if w.type_dist and wo.type_dist is not None and w.type_source == wo.type_source:
        diff = _tv(w.type_dist, wo.type_dist)
        if wo.type_named and w.type_word != wo.type_word and w.type_named:
            options.append((diff, f"these are {plural(w.type_word)} rather than {plural(wo.type_word)}"))
        elif w.vtype:
            options.append((diff * 0.8, f"{w.vtype} {w.type_share:.0%} here vs {wo.type_dist.get(w.vtype, 0.0):.0%} there"))
    if np.isfinite(ev.brightness) and np.isfinite(other.brightness):
        d = ev.brightness - other.brightness
        options.append((abs(d) / 30.0, f"these are {'brighter' if d > 0 else 'darker'} (lightness {ev.brightness:.0f} vs {other.brightness:.0f})"))
    if np.isfinite(ev.saturation) and np.isfinite(other.saturation):
        d = ev.saturation - other.saturation
        options.append((abs(d) / 25.0, f"these are {'more colourful' if d > 0 else 'more muted'} (chroma {ev.saturation:.0f} vs {other.saturation:.0f})"))
    if np.isfinite(ev.aspect) and np.isfinite(other.aspect):
        d = ev.aspect - other.aspect
        options.append((abs(d) / 0.4, f"these crops are {'wider' if d > 0 else 'taller'} (aspect {ev.aspect:.2f} vs {other.aspect:.2f})"))
    for col, dist in ev.labels.items():
        odist = other.labels.get(col, {})
        if dist and odist:
            word, share = top(dist)
            options.append((_tv(dist, odist), f"labels {col} {word} {share:.0%} here vs {odist.get(word, 0.0):.0%} there"))
    ref = f"cluster {other.cluster} ({other_name})"
    if not options:
        return f"Nearest cluster is {ref}."
    score, phrase = max(options, key=lambda o: o[0])
    if score < MIN_SEPARATION:
        return f"Close to {ref}, with no clear difference in this evidence."
    return f"Unlike {ref}, {phrase}."


def describe(evidence: list[ClusterEvidence], neighbours: dict[int, int]) -> list[dict]:
    """Name, description, strength and neighbour of every cluster."""
    words = {ev.cluster: choose_words(ev) for ev in evidence}
    names = {ev.cluster: cluster_name(ev, words[ev.cluster]) for ev in evidence}
    by_id = {ev.cluster: ev for ev in evidence}
    out = []
    for ev in evidence:
        w = words[ev.cluster]
        text = _sentence_one(ev, w) + "."
        j = neighbours.get(ev.cluster)
        if j is not None:
            text += " " + separation(ev, w, by_id[j], words[j], names[j])
        s = strength(w)
        out.append({
            "cluster": ev.cluster,
            "cluster_name": names[ev.cluster],
            "description": text,
            "strength": round(s, 3),
            "strength_label": strength_label(s),
            "colour": w.colour if w.colour_named else "",
            "colour_share": round(w.colour_share, 3),
            "colour_source": w.colour_source,
            "type": w.type_word if w.type_named else "",
            "type_share": round(w.type_share, 3),
            "type_weight": round(w.type_weight, 3),
            "type_lift": round(w.type_lift, 2),
            "type_source": w.type_source,
            "nearest_cluster": -1 if j is None else int(j),
        })
    return out

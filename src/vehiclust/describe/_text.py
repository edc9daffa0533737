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

import re
from dataclasses import dataclass, field

import pandas as pd

import numpy as np

from vehiclust.evidence.colour import clearly_more
from vehiclust.describe._evidence import (
    SOURCE_BOX_MODEL,
    SOURCE_COLOUR_MODEL,
    SOURCE_IMAGENET,
    SOURCE_PIXELS,
    SOURCE_TYPE_MODEL,
    ClusterEvidence,
    format_distribution,
    top,
)
from vehiclust.evidence.head_models import MASS_COLUMNS, MASS_PREFIX, TYPE_KINDS

MAJORITY = 0.5  # a word needs more than this share of the sampled images...
PLURALITY = 0.4  # ...or at least this share
LEAD = 1.5  # ...and this many times the share of the runner-up
MODEL_MAJORITY = 0.6  # the colour model's own majority this large is said even where the pixels differ
CORROBORATION = 0.2  # below this share of the other source, a colour word is said with "probably"
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
# Colours only the pixels can say, and the colour-model words consistent with each.
PIXEL_ONLY: dict[str, set[str]] = {"brown": {"red", "black", "grey", "yellow", "white"}, "pink": {"red", "white"},
              "orange": {"red", "yellow"}, "purple": {"red", "blue", "black"}}
MAX_NAME_WORDS = 4
# A cluster with no leading colour is named by its leading colours, most common first ("black,
# white or grey"): those held by at least LIST_MIN of the images, at most LIST_MAX, together a majority.
LIST_MAX = 3
LIST_MIN = 0.15
LEAN_MIN = 0.25  # a mixed cluster's leading colour ("mixed, often blue") holds at least this share
HEDGE = 0.35  # a name covering at least this share (but under MAJORITY) is said with "mostly"
# Shades the colour model folds into one of its words (it calls silver and shaded white paint
# "white"): where the vehicles' own colours say the shade more often, both are said, the
# better-supported word first ("white or grey" when the model's share is the larger).
MODEL_SHADES: dict[str, tuple[str, ...]] = {"white": ("grey",), "black": ("grey",)}
# The colour that the neighbours' pixels fall into on a small crop (shaded white, lit black and
# silver paint are all mid-lightness and colourless): it leads another only by a clear margin.
SINK_COLOURS = ("grey",)


@dataclass
class Words:
    colour: str = ""
    colour_share: float = 0.0
    colour_source: str = ""
    colour_named: bool = False
    colour_hedged: bool = False  # said with "probably": the other source does not show it
    colour_pair: str = ""  # a shade said with the colour ("white or grey"): the sources each see one
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

    @property
    def colour_word(self) -> str:
        # A pair leads with the colour model's clear majority; the vehicles' own word follows.
        return f"{self.colour} or {self.colour_pair}" if self.colour_pair else self.colour


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
    _choose_colour(ev, w)
    _choose_type(ev, w)
    return w


def _choose_colour(ev: ClusterEvidence, w: Words) -> None:
    """The colour word: the vehicle's colour per image (pixels and colour model weighed
    together, :func:`vehicle_colour`), unless the colour model alone has a clear majority
    (:data:`MODEL_MAJORITY`) for another word: then the model's word is said first, with
    "probably" where the vehicles' own colours show little of it, except where the vehicles'
    colour is a pixel-only shade of it with a majority of its own (pink and brown paint are
    "red" to the model, which has no word for them). Where the vehicles' own word holds at least
    :data:`CORROBORATION` of them, it is said second: a shade of the model's word ("white or
    grey"), or another word more of the vehicles show than the model's ("white or black": black
    cars the model calls white on a small crop); grey counts as more only by a clear margin
    (:func:`_leads`). A clear model majority always leads: the weaker source never overrules
    it, and where the vehicles disagree the name says both."""
    if not ev.colours:
        _choose_colour_two_sources(ev, w)
        return
    word, share = top(ev.colours)
    source, dist, said, hedged = ev.colour_source, ev.colours, named(ev.colours), False
    mc, ms = top(ev.model_colours)
    strong_model = bool(mc) and ms >= MODEL_MAJORITY
    pair = ""
    if strong_model and mc != word and (mc not in PIXEL_ONLY.get(word, ()) or share <= MAJORITY):
        # The model's clear majority is said; a pixel-only shade of it (pink for red) only
        # where that shade holds a majority of its own (the model has no word for it).
        hedged = _support(ev.colours, mc) < CORROBORATION
        if share >= CORROBORATION and word in MODEL_SHADES.get(mc, ()):
            # Silver or shaded paint the model calls white: each source's word is said.
            pair, hedged = word, False
        elif share >= CORROBORATION and _leads(ev, word, mc):
            # The vehicles' own colours show more of another word (black cars the model calls
            # white): both words are said, the model's clear majority first.
            pair, hedged = word, False
        word, share, source, dist, said = mc, ms, ev.model_colour_source, ev.model_colours, True
    elif strong_model and mc == word and not said:
        # Both say it; the model by a clear majority, the vehicles' colours by a plurality.
        share, source, dist, said = ms, ev.model_colour_source, ev.model_colours, True
    elif not said:
        said = _covers(ev, word, "") >= HEDGE
    w.colour, w.colour_share, w.colour_source, w.colour_dist = word, share, source, dist
    w.colour_named, w.colour_hedged, w.colour_pair = said, said and hedged, pair


def _leads(ev: ClusterEvidence, word: str, other: str) -> bool:
    """Do more of the cluster's vehicles show ``word`` than ``other`` (their per-image colours,
    :attr:`ClusterEvidence.colours`)? Grey needs a lead beyond sampling error
    (:func:`clearly_more`): on a small crop shaded white paint, lit black paint and silver all
    read grey, so a grey count is inflated by its neighbours."""
    n = max(ev.n_images, 1)
    a, b = ev.colours.get(word, 0.0) * n, ev.colours.get(other, 0.0) * n
    return clearly_more(a, b, n) if word in SINK_COLOURS else a > b


def _choose_colour_two_sources(ev: ClusterEvidence, w: Words) -> None:
    """Without per-image vehicle colours: pixels and the colour model, the stronger one said.

    Where the two agree the word is said plainly. Where they disagree the better-supported word
    (the larger share of the sampled images) is said only if its own source names it, with
    "probably" unless the other source shows some of it too; the weaker never overrules. The
    model has no brown, pink, orange or purple: only the pixels say those, and where the model
    says more of a near colour (red for pink or brown paint) its word is said.
    """
    pixels, model = ev.pixel_colours, ev.model_colours
    pc, ps = top(pixels)
    mc, ms = top(model)
    options = []
    if pc:
        options.append((ps, pc, SOURCE_PIXELS, pixels))
    if mc:
        options.append((ms, mc, ev.model_colour_source, model))
    if not options:
        return
    share, word, source, dist = max(options, key=lambda o: o[0])
    said = named(dist)
    hedged = False
    if pc and mc and pc != mc:
        other = model if dist is pixels else pixels
        hedged = _support(other, word) < CORROBORATION
    elif pc and mc and not said:
        # Both say the same word, neither by a clear majority: together they may ("mostly").
        said = _covers(ev, word, "") >= HEDGE
    w.colour, w.colour_share, w.colour_source, w.colour_dist = word, share, source, dist
    w.colour_named, w.colour_hedged = said, said and hedged
    if pc and mc:
        w.colour_source = f"{SOURCE_PIXELS} and {ev.model_colour_source}" if pc == mc else source


def _support(dist: dict[str, float], word: str) -> float:
    """How much of ``dist`` agrees with ``word``: the word itself, and for a colour-model word
    the pixel-only colours it covers (pixels calling dark red paint brown agree with red)."""
    return dist.get(word, 0.0) + sum(dist.get(p, 0.0) for p, near in PIXEL_ONLY.items() if word in near)


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
    kind_leads = _kind_leads(first, second, dist, reference)
    if kind_leads:
        (first, p1), (second, p2) = (second, p2), (first, p1)
    w.vtype, w.type_share, w.type_weight, w.type_source, w.type_mass = first, dist[first], p1, source, mass
    w.type_dist, w.type_reference = dist, (reference if reference and reference != dist else None)
    if w.type_reference and reference.get(first, 0.0) > 0:
        w.type_lift = dist[first] / reference[first]
    if kind_leads:
        # The kind first, its general word after it: "articulated lorries or trucks".
        if p1 >= PAIR_RATIO * p2 and p1 + p2 >= PAIR_MIN and p3 < PAIR_RATIO * p1:
            w.type_named, w.type_pair, w.type_weight = True, second, p1 + p2
        else:  # the kind is too weak to be said: the general word alone, as without the rule
            w.vtype, w.type_share, w.type_weight = second, dist[second], p2
            w.type_lift = dist[second] / reference[second] if w.type_reference else float("nan")
            w.type_named = named(weights)
    elif named(weights):
        w.type_named = True
    elif second and p2 >= PAIR_RATIO * p1 and p1 + p2 >= PAIR_MIN and p3 < PAIR_RATIO * p2:
        w.type_named, w.type_pair, w.type_weight = True, second, p1 + p2


def _kind_leads(first: str, second: str, dist: dict[str, float], reference: dict[str, float] | None) -> bool:
    """Does the runner-up lead because it is a kind of the first word (:data:`TYPE_KINDS`, an
    articulated lorry is a truck) that is more typical of the cluster than the general word?

    The general word's classes also fire on the kind (a lorry's box trailer looks like a moving
    van), so its larger share does not speak against the kind. Between the two, the word whose
    share here is the larger multiple of its mean over all clusters is said first."""
    if not second or TYPE_KINDS.get(second) != first or not reference:
        return False
    r_kind, r_general = reference.get(second, 0.0), reference.get(first, 0.0)
    if r_kind <= 0 or r_general <= 0:
        return False
    return dist[second] / r_kind > dist[first] / r_general


# ---- how much of the cluster the words cover ----------------------------------------------
def _image_colours(ev: ClusterEvidence, with_model: bool = True) -> list[set[str]]:
    """Per sampled image, the colour words its sources say: the vehicle's colour (pixels and
    model together), and the colour model's own word where the name's word is the model's
    (``with_model``); without the vehicle's colour, the pixels' and the model's."""
    pi = ev.per_image
    if pi is None or not len(pi):
        return []
    model = "box_colour" if ev.model_colour_source == SOURCE_BOX_MODEL else "head_colour"
    first = "vehicle_colour" if "vehicle_colour" in pi and ev.colours else "colour"
    cols = [c for c in (first, model if with_model or first == "colour" else "") if c in pi]
    return [{str(v) for v in row if isinstance(v, str) and v} for row in pi[cols].itertuples(index=False)]


def _image_types(ev: ClusterEvidence, w: Words) -> list[str]:
    """Per sampled image, its type word by the source the cluster's type came from; ImageNet
    masses are weighed against all clusters as the cluster's own type is (:func:`weigh`)."""
    pi = ev.per_image
    if pi is None or not len(pi):
        return []
    if w.type_source == SOURCE_IMAGENET and w.type_mass and set(MASS_COLUMNS) <= set(pi.columns):
        masses = pi[MASS_COLUMNS].apply(pd.to_numeric, errors="coerce").to_numpy(float)
        groups = [c[len(MASS_PREFIX):] for c in MASS_COLUMNS]
        ref = np.array([(w.type_reference or {}).get(g, 0.0) for g in groups])
        lift = np.where(ref > 0, 1.0 / np.where(ref > 0, ref, 1.0), 1.0)
        scored = np.nan_to_num(masses, nan=-1.0) * lift
        ok = np.isfinite(masses).any(axis=1) & (np.nan_to_num(masses).sum(axis=1) > 0)
        return [groups[int(i)] if good else "" for i, good in zip(scored.argmax(axis=1), ok)]
    col = "imagenet_type" if w.type_source == SOURCE_IMAGENET else "head_type"
    return [str(v) if isinstance(v, str) else "" for v in pi[col]] if col in pi else []


def _covers(ev: ClusterEvidence, colour: str, vtype: str, w: Words | None = None) -> float:
    """Share of the sampled images that carry the colour word (either source says it) and the
    type word (one of its types is the image's own); words left empty are not asked for."""
    carry = None
    if colour:
        mc, ms = top(ev.model_colours)
        model_agrees = mc == colour and ms >= MODEL_MAJORITY  # the model's clear majority says it too
        per = _image_colours(ev, with_model=w is not None and (w.colour_source != ev.colour_source or model_agrees))
        said_c = colour_set(colour)  # a pair ("grey or white") or list: any of its words
        carry = np.array([bool(said_c & s) for s in per], dtype=bool) if per else None
    if vtype and w is not None:
        said = {w.vtype, w.type_pair} - {""}
        per_t = np.array(_image_types(ev, w), dtype=object)
        # Only images the type source has an answer for count (an ImageNet top class is often
        # not a vehicle class on a 100 px crop: such an image says nothing of the type).
        known = per_t != "" if len(per_t) else per_t.astype(bool)
        if known.any():
            has = np.isin(per_t, list(said))
            if carry is not None and len(carry) == len(has):
                carry = carry[known] & has[known]
            else:
                carry = has[known]
        else:
            carry = None
    if carry is None or not len(carry):
        # No per-image evidence: the share behind the word is the best measure there is.
        # (the type's weight: its share after weighing against all clusters, as it was chosen)
        said_share = sum((w.colour_dist or {}).get(c, 0.0) for c in colour_set(colour)) if colour and w else 0.0
        shares = ([max(w.colour_share, said_share)] if colour and w else []) + ([w.type_weight] if vtype and w else [])
        return float(min(shares)) if shares else 0.0
    return float(carry.mean())


# ---- names ------------------------------------------------------------------------------
@dataclass
class Name:
    """A name in parts, so a separating trait can be added and the whole kept short."""

    colour: str = ""
    vtype: str = ""  # type word as chosen ("van or minibus"), pluralised when said
    hedge: str = ""  # "probably" (sources disagree on the colour) or "mostly" (covers < half)
    traits: list[str] = field(default_factory=list)
    fallback: str = ""  # "mixed" or a label/size phrase when there are no words
    lean: str = ""  # a mixed cluster's leading colour ("mixed, often blue")
    cover: float = 0.0
    lead_share: float = float("nan")  # a list of colours: the first one's share (the name's strength)
    mix: str = ""  # a list of colours: their shares ("black 30%, white 25%, grey 23%")

    def text(self, max_words: int = MAX_NAME_WORDS) -> str:
        vt = plural(self.vtype) if self.vtype else ""
        for shorter in (lambda t: t, _first_type, _short_type):
            vt = shorter(vt)
            fallback = f"{self.fallback}, often {self.lean}" if self.lean else self.fallback
            words = [self.hedge, *self.traits, self.colour, vt] if (self.colour or vt) else [*self.traits, fallback]
            text = " ".join(x for x in words if x)
            if len(text.split()) <= max_words:
                break
        return text


def colour_set(colour: str) -> set[str]:
    """The colour words of a name's colour part: "black, white or grey" → {black, white, grey}."""
    return {part.strip() for part in re.split(r",| or ", colour) if part.strip()}


def leading_colours(dist: dict[str, float] | None, max_n: int = LIST_MAX, n: int = 0) -> list[str]:
    """A mixed cluster's leading colours, most common first: those held by at least
    :data:`LIST_MIN` of the images, the first ``max_n`` of them; ``[]`` unless two or more
    together hold a majority. Of ``n`` sampled images, grey (:data:`SINK_COLOURS`) comes first
    only where it clearly outnumbers the next colour."""
    ranked = sorted((dist or {}).items(), key=lambda kv: -kv[1])
    lead = [(word, share) for word, share in ranked if share >= LIST_MIN][:max_n]
    if len(lead) > 1 and lead[0][0] in SINK_COLOURS and not clearly_more(lead[0][1] * n, lead[1][1] * n, n):
        lead[0], lead[1] = lead[1], lead[0]
    return [word for word, _ in lead] if len(lead) > 1 and sum(s for _, s in lead) > MAJORITY else []


def list_text(words: list[str]) -> str:
    """["black", "white", "grey"] → "black, white or grey"."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _first_type(text: str) -> str:
    return text.split(" or ")[0]


def _short_type(text: str) -> str:
    return _first_type(text).split()[-1] if text else text


def base_name(ev: ClusterEvidence, w: Words) -> Name:
    """Colour and type words that cover the cluster: a name covering under half of the sampled
    images is said with "mostly"; under :data:`HEDGE` it drops the word that covers least, or
    is called mixed ("mixed, often blue" where one colour still leads the rest clearly). Where
    no colour leads, the leading colours are listed (:func:`_listed_name`): with the type where
    both fit, else alone where the list covers more images than the type alone."""
    colour = w.colour_word if w.colour_named else ""
    vtype = w.type_word if w.type_named else ""
    alone = None
    if not colour and w.colour_dist:
        listed = _listed_name(ev, w, vtype)
        if listed is not None:
            return listed
        alone = _listed_name(ev, w, "") if vtype else None
    if not colour and not vtype:
        if w.colour_dist or w.type_dist:
            return _mixed(ev, w)
        for col, dist in ev.labels.items():
            word, share = top(dist)
            if word and share > MAJORITY:
                return Name(fallback=f"{col} {word}", cover=share)
        return Name(fallback=f"cluster {ev.cluster}")
    choices = [(colour, vtype)] + ([(colour, ""), ("", vtype)] if colour and vtype else [])
    covers = [(_covers(ev, c, t, w), c, t) for c, t in choices]
    cover, c, t = covers[0]
    if cover < HEDGE:
        # Both words together cover too little: the single word that covers most.
        cover, c, t = max(covers, key=lambda x: x[0])
    if alone is not None and alone.cover > cover:
        return alone
    if cover < HEDGE:
        return _mixed(ev, w)
    hedge = "probably" if c and w.colour_hedged else ("mostly" if cover < MAJORITY else "")
    name = Name(colour=c, vtype=t, hedge=hedge, cover=cover)
    if c and t and len(name.text().split()) > MAX_NAME_WORDS:
        # A colour pair and a type do not fit in four words: the type with the colour model's
        # word ("mostly white cars"), else the pair alone; covers measured again.
        single = _covers(ev, w.colour, t, w)
        c, t, cover = (w.colour, t, single) if single >= HEDGE else (c, "", covers[1][0])
        name = Name(colour=c, vtype=t, hedge="probably" if w.colour_hedged else ("mostly" if cover < MAJORITY else ""),
                    cover=cover)
    return name


def _listed_name(ev: ClusterEvidence, w: Words, vtype: str) -> Name | None:
    """No colour leads: the leading colours in order ("black, white or grey"), the first the
    most common; with the type where two colours and the type fit in four words and together
    cover a majority ("black or white cars"). ``None`` where no list covers a majority."""
    lead = leading_colours(w.colour_dist, 2 if vtype else LIST_MAX, ev.n_images)
    if not lead:
        return None
    colour, first = list_text(lead), float(w.colour_dist[lead[0]])
    mix = ", ".join(f"{c} {w.colour_dist[c]:.0%}" for c in lead)
    if vtype:
        name = Name(colour=colour, vtype=vtype, cover=_covers(ev, colour, vtype, w), lead_share=first, mix=mix)
        if name.cover > MAJORITY and len(name.text().split()) <= MAX_NAME_WORDS:
            return name
        return None
    cover = _covers(ev, colour, "", w)
    return Name(colour=colour, cover=cover, lead_share=first, mix=mix) if cover > MAJORITY else None


def _mixed(ev: ClusterEvidence, w: Words) -> Name:
    """A mixed cluster: its leading colours where they hold a majority (:func:`_listed_name`),
    else "mixed, often X" where colour X leads the next by :data:`LEAD` and holds at least
    :data:`LEAN_MIN` of the images (its strength is then that share), else "mixed"."""
    listed = _listed_name(ev, w, "") if w.colour_dist else None
    if listed is not None:
        return listed
    dist = w.colour_dist or {}
    # Grey does not hold back a colour it may have taken images from (shaded white, lit black).
    rivals = [s for c, s in dist.items() if c != w.colour and (w.colour in SINK_COLOURS or c not in SINK_COLOURS)]
    runner_up = max(rivals, default=0.0)
    if w.colour and dist.get(w.colour, 0.0) >= LEAN_MIN and dist.get(w.colour, 0.0) >= LEAD * runner_up:
        return Name(fallback="mixed", lean=w.colour, cover=_covers(ev, w.colour, "", w))
    return Name(fallback="mixed")


# Traits that tell look-alike clusters apart: (evidence attribute, low word, high word, scale).
# Between look-alikes the trait on which they differ most (in units of its scale) is said.
_TRAITS = (
    ("vehicle_lightness", "darker", "lighter", 4.0),  # the vehicle itself (inside its box)
    ("brightness", "dim", "bright", 8.0),  # the whole image's light
    ("saturation", "muted", "vivid", 6.0),
    ("sharpness", "blurry", "sharp", None),  # image quality, compared on a log scale: 50 % sharper
    ("aspect", "tall", "wide", 0.12),  # crop shape: a proxy of the viewpoint (side-on vehicles are wide)
    ("width", "small", "large", None),  # compared on a log scale: 25 % larger images
)
_LOG_SCALE = {"sharpness": np.log(1.5), "width": np.log(1.25)}
MIN_SPREAD = 0.25  # a trait is said first where look-alikes differ by this many of its scales


def _trait_values(ev: ClusterEvidence, attr: str) -> float:
    v = getattr(ev, attr)
    return float(np.log(v)) if attr in _LOG_SCALE and np.isfinite(v) and v > 0 else float(v)


def unique_names(evidence: list[ClusterEvidence], names: dict[int, Name],
                 words: dict[int, Words] | None = None) -> dict[int, str]:
    """Names no two clusters share. Night-time clusters say so. Among clusters with the same
    name, a type word is added where their leading types differ (each still covering enough of
    its cluster); else the trait on which they differ most (the vehicle's lightness, the
    image's, colourfulness, sharpness, crop shape, image size), low or high, split where a wide
    gap leaves both sides large, until every name differs. A last resort numbers them."""
    by_id = {ev.cluster: ev for ev in evidence}
    for ev in evidence:
        if np.isfinite(ev.dark_share) and ev.dark_share >= DARK_MAJORITY:
            names[ev.cluster].traits.append("night")
    for min_spread in (MIN_SPREAD, 0.0):
        for _ in range(len(_TRAITS) + 2):
            clashes = _clashes(names)
            if not clashes:
                break
            changed = False
            for group in clashes:
                changed |= (words is not None and _separate_by_type(group, by_id, names, words)) or \
                    _separate(group, by_id, names, min_spread)
            if not changed:
                break
    for group in _clashes(names):
        # Four words cannot hold one more comparative: the trait on which a cluster is the
        # extreme of all clusters of its plain name ("darkest white"), in place of its traits.
        _superlatives(group, by_id, names, words)
    texts = {c: n.text() for c, n in names.items()}
    counts: dict[str, int] = {}
    for t in texts.values():
        counts[t] = counts.get(t, 0) + 1
    # The very last resort (clusters alike in every measured trait): the number.
    return {c: (_numbered(names[c], c) if counts[t] > 1 else t) for c, t in texts.items()}


# The extreme of each trait among look-alikes, in one word where English has one.
_SUPERLATIVES = {"vehicle_lightness": ("darkest", "lightest"), "brightness": ("dimmest", "brightest"),
                 "saturation": ("dullest", "most vivid"), "sharpness": ("blurriest", "sharpest"),
                 "aspect": ("tallest", "widest"), "width": ("smallest", "largest")}


def _plain(name: Name) -> Name:
    """The name without the comparatives added to separate it (night stays)."""
    return Name(colour=name.colour, vtype=name.vtype, hedge=name.hedge, fallback=name.fallback, lean=name.lean,
                traits=[t for t in name.traits if t == "night"], cover=name.cover, lead_share=name.lead_share,
                mix=name.mix)


def _superlatives(group: list[int], by_id: dict[int, ClusterEvidence], names: dict[int, Name],
                  words: dict[int, Words] | None) -> None:
    """Rename clusters of ``group`` (one shared name) by superlatives: a cluster that is the
    extreme, on some trait, of every cluster sharing its plain name (colour, type, hedge) is
    called by it ("probably darkest white"), the widest margin (in the trait's scale) first, one
    cluster per superlative; where four words cannot hold it with the type, without the type
    (its cover and hedge measured again for the colour alone). A cluster extreme on nothing
    keeps its name (unique once the others are renamed)."""
    plain = {c: _plain(n).text() for c, n in names.items()}
    family = [c for c in names if plain[c] == plain[group[0]]]
    options = []
    for attr, _, _, scale in _TRAITS:
        scale = scale or _LOG_SCALE[attr]
        vals = {c: _trait_values(by_id[c], attr) for c in family}
        if len(family) < 2 or not all(np.isfinite(v) for v in vals.values()):
            continue
        ordered = sorted(family, key=vals.get)
        for side, (c, nxt) in enumerate(((ordered[0], ordered[1]), (ordered[-1], ordered[-2]))):
            margin = abs(vals[c] - vals[nxt]) / scale
            if c in group and margin > 0:
                options.append((margin, c, _SUPERLATIVES[attr][side]))
    done: set[int] = set()
    used: set[str] = set()

    def rename(c: int, word: str) -> bool:
        name = _plain(names[c])
        name.traits.insert(0, word)
        if len(name.text().split()) > MAX_NAME_WORDS and name.colour and name.vtype and words is not None:
            w = words[c]
            name.vtype, name.cover = "", _covers(by_id[c], name.colour, "", w)
            name.hedge = "probably" if w.colour_hedged else ("mostly" if name.cover < MAJORITY else "")
        taken = {n.text() for k, n in names.items() if k != c}
        if len(name.text().split()) > MAX_NAME_WORDS or name.text() in taken:
            return False
        names[c] = name
        done.add(c)
        used.add(word)
        return True

    for _, c, word in sorted(options, key=lambda o: -o[0]):
        if c not in done and word not in used:
            rename(c, word)
    # Clusters extreme on nothing: one comparative each between the two left that differ most
    # on a trait ("dim" and "bright white or grey"), as look-alikes are told apart above.
    for _ in range(len(group)):
        left = [c for c in group if c not in done]
        if len(left) < 2:
            break
        pairs = []
        for attr, low, high, scale in _TRAITS:
            vals = {c: _trait_values(by_id[c], attr) for c in left}
            if all(np.isfinite(v) for v in vals.values()):
                lo, hi = min(left, key=vals.get), max(left, key=vals.get)
                pairs.append(((vals[hi] - vals[lo]) / (scale or _LOG_SCALE[attr]), lo, hi, low, high))
        for gap, lo, hi, low, high in sorted(pairs, key=lambda p: -p[0]):
            if gap > 0 and rename(lo, low) + rename(hi, high):
                break
        else:
            break


def _numbered(name: Name, cluster: int) -> str:
    plain = Name(colour=name.colour, vtype=name.vtype, hedge=name.hedge, fallback=name.fallback, lean=name.lean,
                 traits=[t for t in name.traits if t == "night"])
    return f"{plain.text(MAX_NAME_WORDS - 1)} {cluster}"


def _clashes(names: dict[int, Name]) -> list[list[int]]:
    groups: dict[str, list[int]] = {}
    for c, n in names.items():
        groups.setdefault(n.text(), []).append(c)
    return [g for g in groups.values() if len(g) > 1]


def _separate_by_type(group: list[int], by_id: dict[int, ClusterEvidence], names: dict[int, Name],
                      words: dict[int, Words]) -> bool:
    """Add each cluster's leading type word where the clashing names have none and the leading
    types differ; a type covering under half of its cluster with the colour is said "mostly",
    one covering under :data:`HEDGE` is not said."""
    if any(names[c].vtype or names[c].fallback for c in group):
        return False
    leading = {c: words[c].vtype for c in group}
    counts = {t: list(leading.values()).count(t) for t in leading.values()}
    changed = False
    for c in group:
        t, n = leading[c], names[c]
        if not t or counts[t] > 1:
            continue
        cover = _covers(by_id[c], n.colour, t, words[c])
        if cover >= HEDGE:
            old = (n.vtype, n.cover, n.hedge)
            n.vtype, n.cover = t, cover
            if n.cover < MAJORITY and not n.hedge:
                n.hedge = "mostly"
            if len(n.text().split()) > MAX_NAME_WORDS:
                n.vtype, n.cover, n.hedge = old
            else:
                changed = True
    return changed


def _separate(group: list[int], by_id: dict[int, ClusterEvidence], names: dict[int, Name], min_spread: float) -> bool:
    """Add to clusters of ``group`` (same name) the trait that splits them best: at a gap between
    their values that is wide (in the trait's scale) and leaves both sides large; the low side
    gets the low word, the high side the high."""
    best = None
    for attr, low, high, scale in _TRAITS:
        scale = scale or _LOG_SCALE[attr]
        vals = np.array([_trait_values(by_id[c], attr) for c in group])
        if not np.isfinite(vals).all() or any(low in names[c].traits or high in names[c].traits for c in group):
            continue
        ordered = np.sort(vals)
        gaps = np.diff(ordered) / scale
        if not len(gaps) or gaps.max() <= 0:
            continue
        spread = (ordered[-1] - ordered[0]) / scale
        # Split where a wide gap leaves both sides large (fewer clusters left to tell apart).
        sides = np.minimum(np.arange(1, len(ordered)), np.arange(len(ordered) - 1, 0, -1))
        score = gaps * sides
        if spread >= min_spread and (best is None or score.max() > best[0]):
            cut = float(ordered[int(np.argmax(score))])
            best = (float(score.max()), vals, low, high, cut)
    if best is None:
        return False
    _, vals, low, high, cut = best
    changed = False
    for c, v in zip(group, vals):
        names[c].traits.append(low if v <= cut else high)
        if len(names[c].text().split()) > MAX_NAME_WORDS:
            names[c].traits.pop()  # names stay short; a number separates what words cannot
        else:
            changed = True
    return changed


def strength(cover: float) -> float:
    """Share of the sampled images that carry every word of the name (0 = nothing to say)."""
    return float(cover)


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
        if w.colour_pair:
            note = ("(the colour model has no word for silver or shaded paint)"
                    if w.colour_pair in MODEL_SHADES.get(w.colour, ()) else
                    f"against {ev.colours.get(w.colour, 0.0):.0%} {w.colour}")
            facts.append(f"{ev.colours.get(w.colour_pair, 0.0):.0%} {w.colour_pair} by their vehicle colours {note}")
    if colour_ok and type_ok:
        head = f"{_type_head(w)}, {quantifier(w.colour_share).lower()} {w.colour_word}"
    elif colour_ok:
        head = f"{quantifier(w.colour_share)} {w.colour_word}"
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
    if ev.pixel_colours and ev.model_colours:
        facts.append(f"colours by {SOURCE_PIXELS}: {format_distribution(ev.pixel_colours)}; "
                     f"by the {ev.model_colour_source}: {format_distribution(ev.model_colours)}")
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


def separation(ev: ClusterEvidence, w: Words, other: ClusterEvidence, wo: Words) -> tuple[float, str, str]:
    """What separates a cluster from its nearest neighbour, the biggest difference only:
    (score, plain phrase, phrase with its numbers). Distributions are compared source by
    source, so two clusters named from different sources are still compared."""
    options: list[tuple[float, str, str]] = []
    for mine, theirs, source in ((ev.pixel_colours, other.pixel_colours, SOURCE_PIXELS),
                                 (ev.model_colours, other.model_colours, ev.model_colour_source)):
        if mine and theirs:
            diff = _tv(mine, theirs)
            lead = w.colour_word.split(" or ")[0]  # the word the name says first
            word, share = (lead, mine.get(lead, 0.0)) if w.colour_named and lead in mine else top(mine)
            theirs_word = wo.colour if wo.colour_named else top(theirs)[0]
            plain = (f"they are {word} rather than {theirs_word}" if word != theirs_word
                     else f"more of them are {word}" if share > theirs.get(word, 0.0) else f"fewer of them are {word}")
            options.append((diff, plain, f"{word} {share:.0%} here vs {theirs.get(word, 0.0):.0%} there by {source}"))
    if w.type_dist and wo.type_dist is not None and w.type_source == wo.type_source:
        diff = _tv(w.type_dist, wo.type_dist)
        mine_t, theirs_t = {w.vtype, w.type_pair} - {""}, {wo.vtype, wo.type_pair} - {""}
        if wo.type_named and w.type_named and not mine_t & theirs_t:
            plain = f"they are {plural(w.vtype)} rather than {plural(wo.vtype)}"
        else:
            plain = f"more of them are {plural(w.vtype)}" if w.type_share > wo.type_dist.get(w.vtype, 0.0) else f"fewer of them are {plural(w.vtype)}"
        options.append((diff, plain, f"{w.vtype} {w.type_share:.0%} here vs {wo.type_dist.get(w.vtype, 0.0):.0%} there by the {w.type_source}"))
    if np.isfinite(ev.brightness) and np.isfinite(other.brightness):
        d = ev.brightness - other.brightness
        word = "brighter" if d > 0 else "darker"
        options.append((abs(d) / 30.0, f"the images are {word}", f"{word}: lightness {ev.brightness:.0f} vs {other.brightness:.0f}"))
    if np.isfinite(ev.saturation) and np.isfinite(other.saturation):
        d = ev.saturation - other.saturation
        word = "more colourful" if d > 0 else "more muted"
        options.append((abs(d) / 25.0, f"the images are {word}", f"{word}: chroma {ev.saturation:.0f} vs {other.saturation:.0f}"))
    if np.isfinite(ev.aspect) and np.isfinite(other.aspect):
        d = ev.aspect - other.aspect
        word = "wider" if d > 0 else "taller"
        options.append((abs(d) / 0.4, f"the crops are {word}", f"{word} crops: aspect {ev.aspect:.2f} vs {other.aspect:.2f}"))
    if not options:
        return 0.0, "", ""
    return max(options, key=lambda o: o[0])


_COVER_PHRASES = ((0.95, "All or nearly all are"), (0.8, "Almost all are"), (0.6, "Most are"),
                  (MAJORITY, "Just over half are"), (0.4, "About two in five are"), (0.0, "More than a third are"))


def _sentence(ev: ClusterEvidence, name: Name, contrast: str) -> str:
    """One plain sentence: what the images are, how many of them, and the look-alike's difference."""
    if name.mix:
        text = f"Mixed colours, none held by most: {name.mix} of the sampled images"
        if name.vtype:
            text += f"; most are {plural(' or '.join(name.vtype.split(' or ')[:2]))}"
    elif name.colour or name.vtype:
        vtype = " or ".join(name.vtype.split(" or ")[:2])  # "trucks or vans", not "trucks or vans or minibuses"
        core = " ".join(x for x in (name.colour, plural(vtype) if vtype else "vehicles") if x)
        text = next(p for v, p in _COVER_PHRASES if name.cover >= v) + " " + core
        if name.hedge == "probably":
            text += ", though the pixels and the colour model disagree on the colour"
    elif name.fallback == "mixed":
        text = "A mix: no colour or vehicle type is shared by most of the images"
        if name.lean:
            text += f", though {name.lean} is the most common colour"
    elif name.fallback.startswith("cluster "):
        text = f"A group of {ev.size:,} rows with no image or model evidence"
    else:
        text = f"Described by the given labels only: mostly {name.fallback}"
    if np.isfinite(ev.dark_share) and ev.dark_share >= DARK_MAJORITY:
        text += ", mostly in dark, night-like images"
    if np.isfinite(ev.vehicle_prob) and ev.vehicle_prob < 0.3:
        text += ", with few recognisable vehicles"
    return text + (f"; {contrast}" if contrast else "") + "."


def describe(evidence: list[ClusterEvidence], neighbours: dict[int, int]) -> list[dict]:
    """Name, one-sentence description, details, strength and neighbour of every cluster."""
    words = {ev.cluster: choose_words(ev) for ev in evidence}
    parts = {ev.cluster: base_name(ev, words[ev.cluster]) for ev in evidence}
    names = unique_names(evidence, parts, words)
    by_id = {ev.cluster: ev for ev in evidence}
    out = []
    for ev in evidence:
        w, name = words[ev.cluster], parts[ev.cluster]
        details = _sentence_one(ev, w) + "."
        contrast = ""
        j = neighbours.get(ev.cluster)
        if j is not None:
            score, plain, numeric = separation(ev, w, by_id[j], words[j])
            ref = f"cluster {j} ({names[j]})"
            if score >= MIN_SEPARATION:
                contrast = f"unlike the look-alike {ref}, {plain}"
                details += f" Unlike {ref}: {numeric}."
            else:
                contrast = f"close to {ref}, with no clear difference"
                details += f" Close to {ref}, with no clear difference in this evidence."
        # A list of colours names a mix: as strong as its leading colour is common.
        s = strength(name.lead_share if np.isfinite(name.lead_share) else name.cover)
        out.append({
            "cluster": ev.cluster,
            "cluster_name": names[ev.cluster],
            "description": _sentence(ev, name, contrast),
            "strength": round(s, 3),
            "strength_label": strength_label(s),
            "details": details,
            "name_traits": " ".join(name.traits),
            "colour": w.colour if w.colour_named else "",
            "colour_or": w.colour_pair if w.colour_named else "",
            "colour_share": round(w.colour_share, 3),
            "colour_source": w.colour_source,
            "colour_hedged": bool(w.colour_named and w.colour_hedged),
            "type": w.type_word if w.type_named else "",
            "type_share": round(w.type_share, 3),
            "type_weight": round(w.type_weight, 3),
            "type_lift": round(w.type_lift, 2),
            "type_source": w.type_source,
            "nearest_cluster": -1 if j is None else int(j),
        })
    return out

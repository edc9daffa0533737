"""Words only from evidence: names, mixed clusters, neighbours, strength."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from vehiclust.describe import ClusterEvidence
from vehiclust.describe._text import describe, quantifier, strength_label


def ev(cluster, pixel=None, types=None, imagenet=None, brightness=55.0, dark=0.0, labels=None, size=100):
    return ClusterEvidence(cluster=cluster, size=size, share=0.25, n_images=64, pixel_colours=pixel or {},
                           model_types=types or {}, imagenet_types=imagenet or {}, brightness=brightness,
                           dark_share=dark, saturation=20.0, aspect=1.0, labels=labels or {})


def test_colour_and_type_named_with_their_numbers():
    out = describe([ev(0, {"white": 0.83, "grey": 0.17}, {"van": 0.71, "car": 0.29}),
                    ev(1, {"black": 0.9, "grey": 0.1}, {"car": 0.8, "van": 0.2})], {0: 1, 1: 0})
    a = out[0]
    assert a["cluster_name"] == "white vans"
    # the numbers are in the details; the description is one plain sentence
    assert "71% van by the type model" in a["details"] and "83%" in a["details"]
    assert "Unlike cluster 1 (black cars)" in a["details"]
    assert not re.search(r"\d", a["description"].replace("cluster 1", ""))
    assert a["description"].startswith("Most are white vans") and "look-alike cluster 1 (black cars)" in a["description"]
    # without per-image evidence the name covers at most its weakest word's share (type: weight)
    assert a["strength"] == pytest.approx(a["type_weight"], abs=1e-3) and a["strength"] < 0.83
    assert a["colour"] == "white" and a["type"] == "van"


def test_mixed_cluster_is_called_mixed():
    """No three colours hold a majority: nothing honest to list."""
    spread = {"white": 0.16, "black": 0.15, "red": 0.15, "blue": 0.14, "green": 0.14, "yellow": 0.13, "brown": 0.13}
    out = describe([ev(0, spread, {"car": 0.4, "van": 0.35, "truck": 0.25})], {})
    assert out[0]["cluster_name"] == "mixed"
    assert out[0]["description"].startswith("A mix")
    assert out[0]["colour"] == "" and out[0]["type"] == ""
    assert out[0]["strength_label"] == "none"  # "mixed" claims nothing


def test_pixel_only_evidence_names_the_colour():
    out = describe([ev(0, {"red": 0.9, "grey": 0.1})], {})
    assert out[0]["cluster_name"] == "red"
    assert "ImageNet" not in out[0]["details"] and "type model" not in out[0]["details"]


def test_no_evidence_describes_size_only():
    e = ClusterEvidence(cluster=3, size=1234, share=0.123)
    out = describe([e], {})
    assert out[0]["cluster_name"] == "cluster 3"
    assert "1,234 rows" in out[0]["description"] and "no image or model evidence" in out[0]["description"]
    assert out[0]["strength"] == 0 and out[0]["strength_label"] == "none"


def test_imagenet_finer_word_preferred_when_supported():
    out = describe([ev(0, {"grey": 0.7}, {"car": 0.6}, {"pickup": 0.55})], {})
    assert out[0]["type"] == "pickup" and out[0]["cluster_name"] == "grey pickups"


def test_dark_clusters_are_night_like_and_neighbour_difference_is_brightness():
    out = describe([ev(0, {"black": 0.9}, brightness=12.0, dark=0.9), ev(1, {"black": 0.85}, brightness=50.0)], {0: 1, 1: 0})
    assert "night-like" in out[0]["description"]
    assert "darker: lightness 12 vs 50" in out[0]["details"] and "the images are darker" in out[0]["description"]
    assert out[0]["cluster_name"] != out[1]["cluster_name"] and "night" in out[0]["cluster_name"]


def test_labels_are_reported_with_distribution():
    out = describe([ev(0, {"red": 0.9}, labels={"type": {"truck": 0.8, "bus": 0.2}})], {})
    assert "labels type: truck 80%, bus 20%" in out[0]["details"]


def test_every_percentage_is_backed_by_the_evidence():
    e = ev(0, {"blue": 0.62, "grey": 0.38}, {"car": 0.55, "van": 0.45})
    text = describe([e], {})[0]["details"]
    allowed = {62, 38, 55, 45, 64}
    assert {int(x) for x in re.findall(r"(\d+)%", text)} <= allowed


@pytest.mark.parametrize("share, word", [(0.97, "All or nearly all"), (0.85, "Almost all"), (0.65, "Mostly"), (0.52, "Mainly")])
def test_quantifiers(share, word):
    assert quantifier(share) == word


@pytest.mark.parametrize("value, label", [(0.9, "strong"), (0.6, "moderate"), (0.3, "weak"), (0.0, "none")])
def test_strength_labels(value, label):
    assert strength_label(value) == label


@pytest.mark.parametrize("dist, said", [
    ({"grey": 0.44, "black": 0.23, "blue": 0.16}, True),   # clear plurality
    ({"grey": 0.48, "white": 0.45}, False),                # two-way split
    ({"red": 0.51, "pink": 0.49}, True),                   # majority
    ({"red": 0.35, "pink": 0.2, "brown": 0.2}, False),     # too small
    ({}, False),
])
def test_named_rule(dist, said):
    from vehiclust.describe._text import named

    assert named(dist) is said


def test_sources_disagree_the_stronger_is_said_with_a_hedge():
    e = ev(0, {"black": 0.45, "blue": 0.17, "white": 0.16})
    e.model_colours = {"white": 0.77, "red": 0.23}
    out = describe([e], {})[0]
    assert out["colour"] == "white" and out["colour_source"] == "colour model" and out["colour_hedged"]
    assert out["cluster_name"] == "probably white" and "disagree" in out["description"]
    # the weaker source never overrules: pixels 45 % black do not beat the model's 77 % white
    e.model_colours = {"white": 0.3, "red": 0.25, "grey": 0.25, "blue": 0.2}
    out = describe([e], {})[0]
    assert out["colour"] == "black" and out["colour_source"] == "pixel colour"


def test_pink_is_said_where_the_pixels_are_stronger():
    e = ev(0, {"pink": 0.85, "red": 0.15})
    e.model_colours = {"red": 0.8, "white": 0.2}
    assert describe([e], {})[0]["colour"] == "pink"  # the model has no pink
    # dark red paint read as brown by the pixels: the model's stronger red is said, unhedged
    e = ev(0, {"brown": 0.55, "red": 0.1, "black": 0.35})
    e.model_colours = {"red": 0.9, "white": 0.1}
    out = describe([e], {})[0]
    assert out["colour"] == "red" and not out["colour_hedged"] and out["cluster_name"] == "red"


def test_type_model_ignored_where_imagenet_sees_no_vehicle():
    e = ev(0, {"grey": 0.9}, {"car": 0.7, "truck": 0.3})
    e.vehicle_prob = 0.2
    out = describe([e], {})[0]
    assert out["type"] == "" and out["cluster_name"] == "grey"
    assert "type model" not in out["details"]


def _mass(cluster, types):
    e = ev(cluster, {"grey": 0.9}, imagenet=types)
    e.imagenet_mass_based, e.imagenet_type_mass = True, 0.6
    return e


def test_weighing_against_all_clusters_cancels_a_models_lean():
    """ImageNet says truck to everything; what each cluster has more of than the rest decides."""
    from vehiclust.describe._evidence import mean_distribution

    es = [_mass(0, {"truck": 0.45, "van or minibus": 0.35, "car": 0.2}),
          _mass(1, {"truck": 0.45, "car": 0.45, "van or minibus": 0.1}),
          _mass(2, {"truck": 0.8, "van or minibus": 0.1, "car": 0.1})]
    overall = {"imagenet_types": mean_distribution([e.imagenet_types for e in es])}
    for e in es:
        e.overall = overall
    out = describe(es, {})
    assert [o["type"] for o in out] == ["van or minibus", "car", "truck"]
    assert out[0]["cluster_name"] == "grey vans or minibuses"
    assert "van or minibus 35% of the ImageNet classifier's vehicle-type probability, 1.9x its mean over all clusters" in out[0]["details"]
    assert out[2]["type_lift"] == pytest.approx(0.8 / (1.7 / 3), abs=0.01)


def _weighed(clusters):
    """Clusters (ImageNet type shares) weighed as the describer does: against the mean over all
    clusters."""
    from vehiclust.describe._evidence import mean_distribution

    es = [_mass(i, dict(types)) for i, types in enumerate(clusters)]
    overall = {"imagenet_types": mean_distribution([e.imagenet_types for e in es])}
    for e in es:
        e.overall = overall
    return describe(es, {})


# ImageNet type shares of the kind measured on Zenodo clusters (EfficientNet-Lite0 masses):
# box-trailer articulated lorries, rigid light trucks, cars, panel vans, more articulated
# lorries, motorbikes.
LORRY_LIKE = [{"truck": 0.61, "articulated lorry": 0.36, "van or minibus": 0.02, "car": 0.01},
              {"truck": 0.66, "articulated lorry": 0.185, "van or minibus": 0.075, "car": 0.05, "military vehicle": 0.03},
              {"car": 0.5, "truck": 0.23, "van or minibus": 0.18, "articulated lorry": 0.05, "motorbike or bicycle": 0.04},
              {"truck": 0.45, "van or minibus": 0.33, "car": 0.14, "articulated lorry": 0.06, "bus": 0.02},
              {"truck": 0.55, "articulated lorry": 0.41, "van or minibus": 0.02, "car": 0.01, "bus": 0.01},
              {"motorbike or bicycle": 0.56, "military vehicle": 0.19, "truck": 0.11, "car": 0.06, "articulated lorry": 0.06}]


def test_a_kind_leads_its_general_word_where_it_is_the_more_typical(monkeypatch):
    """A lorry's box trailer gets ImageNet's truck classes too (moving van): the truck share does
    not speak against the lorry, which is said first where it is more typical of the cluster
    than truck is; rigid trucks stay trucks."""
    out = _weighed(LORRY_LIKE)
    firsts = [o["type"].split(" or ")[0] for o in out]
    assert firsts[0] == "articulated lorry" and firsts[4] == "articulated lorry"
    assert firsts[1] == "truck" and firsts[2] == "car"
    assert "articulated lorries" in out[0]["cluster_name"]
    from vehiclust.describe import _text

    monkeypatch.setattr(_text, "TYPE_KINDS", {})
    assert _weighed(LORRY_LIKE)[0]["type"].split(" or ")[0] == "truck"


def test_a_weak_kind_does_not_lead():
    """A few trailer-truck answers on a truck cluster do not make it lorries."""
    clusters = [{"truck": 0.85, "articulated lorry": 0.15}, {"car": 0.7, "truck": 0.25, "articulated lorry": 0.05},
                {"car": 0.8, "truck": 0.2}]
    assert [o["type"] for o in _weighed(clusters)] == ["truck", "car", "car"]


def test_one_cluster_is_not_weighed():
    out = describe([_mass(0, {"truck": 0.55, "car": 0.45})], {})[0]
    assert out["type"] == "truck" and out["type_weight"] == pytest.approx(0.55)
    assert "x its mean" not in out["details"]


def test_close_types_are_said_together_and_three_way_is_mixed():
    two = describe([_mass(0, {"truck": 0.48, "articulated lorry": 0.45, "car": 0.07})], {})[0]
    # names keep to four words: the pair's first type
    assert two["type"] == "truck or articulated lorry" and two["cluster_name"] == "grey trucks"
    assert "trucks or articulated lorries" in two["description"]
    assert "truck 48%" in two["details"] and "articulated lorry 45%" in two["details"]
    three = describe([_mass(0, {"truck": 0.36, "articulated lorry": 0.33, "car": 0.31})], {})[0]
    assert three["type"] == "" and three["cluster_name"] == "grey"
    assert "no type stands out" not in three["details"] and "types mixed" in three["details"]


def test_no_type_word_from_little_vehicle_evidence():
    e = _mass(0, {"motorbike or bicycle": 0.9, "car": 0.1})
    e.imagenet_type_mass = 0.05
    out = describe([e], {})[0]
    assert out["type"] == "" and "ImageNet" not in out["details"]


def test_look_alikes_told_apart_by_a_trait_not_a_number():
    clusters = [ev(i, {"white": 0.9, "grey": 0.1}, brightness=b) for i, b in enumerate((30.0, 55.0, 80.0))]
    for e, sharp in zip(clusters, (0.1, 0.5, 0.2)):
        e.sharpness = sharp
    names = [d["cluster_name"] for d in describe(clusters, {})]
    assert len(set(names)) == 3, names
    assert not any(n.split()[-1].isdigit() for n in names), names
    assert all(len(n.split()) <= 4 and n.endswith("white") for n in names), names


def test_look_alikes_told_apart_by_their_leading_types():
    a = ev(0, {"white": 0.9, "grey": 0.1}, {"truck": 0.45, "car": 0.3, "van": 0.25})
    b = ev(1, {"white": 0.9, "grey": 0.1}, {"car": 0.45, "truck": 0.3, "van": 0.25})
    names = {d["cluster"]: d["cluster_name"] for d in describe([a, b], {})}
    assert names[0] != names[1]
    assert "truck" in names[0] and "car" in names[1], names


def test_mixed_cluster_with_a_leading_colour_says_it():
    # two or three colours that hold a majority are listed, the most common first
    out = describe([ev(0, {"blue": 0.33, "yellow": 0.19, "grey": 0.14, "black": 0.14, "red": 0.2})], {})
    assert out[0]["cluster_name"] == "blue, red or yellow"
    # one colour leads and no others are common: it is said as the lean of a mix
    out = describe([ev(0, {"blue": 0.33, "yellow": 0.14, "grey": 0.14, "black": 0.13, "red": 0.13, "green": 0.13})], {})
    assert out[0]["cluster_name"] == "mixed, often blue"
    assert "blue is the most common colour" in out[0]["description"]
    assert out[0]["strength_label"] == "weak"


def test_many_look_alikes_get_superlatives_never_numbers():
    """Six clusters with one plain name: two comparatives fill four words, so the clusters still
    alike are called by the trait on which each is the extreme ("darkest white")."""
    rng = np.random.default_rng(3)
    clusters = []
    for i in range(6):
        e = ev(i, {"white": 0.95, "grey": 0.05}, brightness=float(rng.uniform(30, 80)))
        e.model_colours = {"grey": 0.9, "white": 0.05, "black": 0.05}  # the model disagrees: "probably white"
        e.sharpness, e.vehicle_lightness = float(rng.uniform(10, 400)), float(rng.uniform(40, 90))
        e.aspect, e.width = float(rng.uniform(0.8, 1.6)), float(rng.uniform(60, 200))
        clusters.append(e)
    out = describe(clusters, {})
    names = [d["cluster_name"] for d in out]
    assert len(set(names)) == 6, names
    assert not any(re.search(r"\d", n) for n in names), names
    assert all(len(n.split()) <= 4 and n.startswith("probably") and n.endswith("white") for n in names), names
    assert any(n.split()[1].endswith("est") for n in names), names  # a superlative was needed
    # each superlative is true: the cluster is that trait's extreme among the six
    for d, e in zip(out, clusters):
        if "darkest" in d["cluster_name"]:
            assert e.vehicle_lightness == min(c.vehicle_lightness for c in clusters)
        if "brightest" in d["cluster_name"]:
            assert e.brightness == max(c.brightness for c in clusters)


def test_paint_the_model_calls_white_but_the_vehicles_show_grey_is_grey_or_white():
    """Silver or shaded paint: the colour model says white (its majority is said), the vehicles'
    own colours say grey more often: both words, the model's majority first, no "probably"; the
    cover counts either."""
    e = ev(0, {"grey": 0.5, "white": 0.3, "black": 0.2})
    e.colours = {"grey": 0.45, "white": 0.31, "black": 0.16, "blue": 0.08}
    e.model_colours = {"white": 0.77, "grey": 0.12, "red": 0.11}
    out = describe([e], {})[0]
    assert out["cluster_name"] == "white or grey"  # 77 % say white, 45 % grey
    assert out["colour"] == "white" and out["colour_or"] == "grey" and not out["colour_hedged"]
    assert "white or grey vehicles" in out["description"] and "45% grey" in out["details"]
    # more images show the shade than the model's word: the model's clear majority still leads
    # (the weaker source never overrules it), the shade is said with it
    e.colours = {"grey": 0.8, "white": 0.1, "black": 0.1}
    e.model_colours = {"white": 0.62, "grey": 0.2, "red": 0.18}
    assert describe([e], {})[0]["cluster_name"] == "white or grey"
    # black paint the model calls white is not a shade of white, but more of the vehicles show
    # black than white: both words, the model's majority first
    e.colours = {"black": 0.6, "grey": 0.3, "white": 0.1}
    e.n_images = 64
    out = describe([e], {})[0]
    assert out["cluster_name"] == "white or black" and out["colour"] == "white" and out["colour_or"] == "black"
    assert not out["colour_hedged"]
    # where the vehicles show little black, the model's word is said alone
    e.colours = {"white": 0.5, "grey": 0.4, "black": 0.1}
    assert describe([e], {})[0]["cluster_name"] in {"white", "white or grey"}


def test_grey_leads_a_list_only_by_a_clear_margin():
    """A mix of grey, black and white vehicles: grey (where shaded white, lit black and silver
    paint all land on a small crop) comes first only where it clearly outnumbers the next."""
    e = ev(0, {"grey": 0.34, "white": 0.27, "black": 0.23, "blue": 0.16})
    e.colours = {"grey": 0.28, "black": 0.26, "white": 0.24, "red": 0.06, "blue": 0.09, "green": 0.07}
    e.n_images = 200
    assert describe([e], {})[0]["cluster_name"] == "black, grey or white"
    e.colours = {"grey": 0.45, "black": 0.2, "white": 0.18, "red": 0.06, "blue": 0.05, "green": 0.06}
    assert describe([e], {})[0]["cluster_name"].startswith("mostly grey")
    e.colours = {"grey": 0.36, "black": 0.2, "white": 0.18, "red": 0.11, "blue": 0.09, "green": 0.06}
    assert describe([e], {})[0]["cluster_name"] == "grey, black or white"


def test_no_leading_colour_lists_the_leading_colours_most_common_first():
    """A cluster of black, white and grey cars, none a plurality to name alone: its name lists
    them, the most common first; the strength is the first one's share (a mix is weak)."""
    e = ev(0, {"grey": 0.34, "white": 0.27, "black": 0.23, "blue": 0.16})
    e.colours = {"black": 0.30, "white": 0.25, "grey": 0.23, "blue": 0.09, "red": 0.08, "yellow": 0.05}
    words = ["black"] * 30 + ["white"] * 25 + ["grey"] * 23 + ["blue"] * 9 + ["red"] * 8 + ["yellow"] * 5
    e.per_image = pd.DataFrame({"vehicle_colour": words})
    e.n_images = len(words)
    out = describe([e], {})[0]
    assert out["cluster_name"] == "black, white or grey"
    assert out["description"].startswith("Mixed colours") and "black 30%" in out["description"]
    assert out["strength"] == pytest.approx(0.30) and out["strength_label"] == "weak"
    # two colours and a type fit in four words when together they cover a majority
    e.colours = {"black": 0.33, "white": 0.30, "red": 0.13, "grey": 0.12, "blue": 0.12}
    words = ["black"] * 33 + ["white"] * 30 + ["red"] * 13 + ["grey"] * 12 + ["blue"] * 12
    e.per_image = pd.DataFrame({"vehicle_colour": words,
                                "head_type": ["car"] * 100})
    e.model_types = {"car": 1.0}
    out = describe([e], {})[0]
    assert out["cluster_name"] == "black or white cars"
    # names stay unique: a second such cluster gets a trait, not a number
    f = ev(1, {"grey": 0.5, "white": 0.5}, brightness=20.0)
    f.colours, f.per_image, f.model_types = dict(e.colours), e.per_image.copy(), {"car": 1.0}
    f.vehicle_lightness, e.vehicle_lightness = 20.0, 60.0
    names = [d["cluster_name"] for d in describe([e, f], {})]
    assert len(set(names)) == 2 and not any(re.search(r"\d", n) for n in names)


def test_colour_list_when_the_type_covers_too_little():
    """Mixed colours, and a type word too weak to carry the name alone: the colours are listed."""
    e = ev(0, {"grey": 0.34, "white": 0.27, "black": 0.23, "blue": 0.16})
    e.colours = {"black": 0.29, "grey": 0.24, "white": 0.24, "red": 0.06, "blue": 0.09, "green": 0.08}
    words = ["black"] * 29 + ["grey"] * 24 + ["white"] * 24 + ["red"] * 6 + ["blue"] * 9 + ["green"] * 8
    types = (["truck"] * 30 + ["car"] * 70)
    e.per_image = pd.DataFrame({"vehicle_colour": words, "head_type": types})
    e.model_types = {"truck": 0.3, "car": 0.7}
    other = ev(1, {"red": 0.9, "grey": 0.1})
    other.model_types = {"car": 1.0}
    out = describe([e, other], {})[0]
    assert out["cluster_name"] == "black, grey or white", out


def test_grey_does_not_hold_back_a_mixed_clusters_leading_colour():
    """A mix led by black, grey next: grey (where lit black paint also lands) does not stop
    "mixed, often black"; another colour as close does."""
    e = ev(0, {"grey": 0.3, "black": 0.3, "red": 0.2, "yellow": 0.2})
    e.colours = {"black": 0.27, "grey": 0.22, "red": 0.14, "yellow": 0.11, "blue": 0.1, "green": 0.08, "white": 0.08}
    e.n_images = 130
    assert describe([e], {})[0]["cluster_name"] == "mixed, often black"
    e.colours = {"black": 0.27, "red": 0.22, "grey": 0.14, "yellow": 0.11, "blue": 0.1, "green": 0.08, "white": 0.08}
    assert describe([e], {})[0]["cluster_name"] == "mixed"

"""CIELAB conversion and colour words for pixels and whole crops."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.describe import COLOURS, colour_shares, image_colour, measure_image, srgb_to_lab
from vehiclust.evidence.colour import pixel_colour_index


@pytest.mark.parametrize("rgb, lab", [
    ((255, 255, 255), (100.0, 0.0, 0.0)),
    ((0, 0, 0), (0.0, 0.0, 0.0)),
    ((255, 0, 0), (53.24, 80.09, 67.20)),
    ((0, 0, 255), (32.30, 79.19, -107.86)),
    ((128, 128, 128), (53.59, 0.0, 0.0)),
])
def test_lab_reference_values(rgb, lab):
    np.testing.assert_allclose(srgb_to_lab(np.array(rgb, dtype=np.uint8)), lab, atol=0.1)


@pytest.mark.parametrize("rgb, word", [
    ((250, 250, 250), "white"), ((10, 10, 10), "black"), ((128, 128, 130), "grey"),
    ((220, 20, 20), "red"), ((20, 60, 200), "blue"), ((250, 220, 30), "yellow"),
    ((30, 150, 40), "green"), ((130, 80, 40), "brown"), ((245, 130, 180), "pink"),
])
def test_pixel_words(rgb, word):
    idx = pixel_colour_index(srgb_to_lab(np.array([rgb], dtype=np.uint8)))
    assert COLOURS[int(idx[0])] == word


@pytest.mark.parametrize("colour", ["red", "blue", "white", "black", "yellow", "green"])
def test_crop_colour_is_the_body_not_the_road(colour, make_crop):
    rng = np.random.default_rng(1)
    assert image_colour(colour_shares(make_crop(colour, rng))) == colour


def test_empty_road_is_grey():
    road = np.full((32, 32, 3), 118, dtype=np.uint8)
    shares = colour_shares(road)
    assert image_colour(shares) == "grey"
    assert shares.sum() == pytest.approx(1.0, abs=1e-5)


def test_measure_image_brightness_and_dark_flag(make_crop):
    from PIL import Image

    rng = np.random.default_rng(2)
    day = measure_image(Image.fromarray(make_crop("white", rng)))
    night = measure_image(Image.fromarray(make_crop("white", rng, dark=True)))
    assert day["brightness"] > 40 and not day["dark"]
    assert night["brightness"] < 25 and night["dark"]
    assert day["aspect"] == 1.0


def _shares(**kw) -> np.ndarray:
    out = np.zeros(len(COLOURS), dtype=np.float32)
    for word, share in kw.items():
        out[COLOURS.index(word)] = share
    return out


def test_no_parameters_fitted_on_labelled_photos():
    """The colour rules are thresholds in colour terms: no read-out fitted on any data set."""
    import vehiclust.evidence.colour as colour

    assert not [n for n in dir(colour) if "READOUT" in n or "COEF" in n]


@pytest.mark.parametrize("shares, model, hues, word", [
    # the colour model's hue, said where the pixels show some of it (dull red pixels count)
    (dict(grey=0.6, black=0.35, brown=0.05), "red", {"red": 0.25}, "red"),
    # ... not where the pixels show none of it: a black car with a blue sheen
    (dict(black=0.7, grey=0.3), "blue", {"blue": 0.02}, "black"),
    # ... nor where only dull pixels are blue: shade and sky reflections tint dark paint blue
    (dict(black=0.6, grey=0.35, blue=0.05), "blue", {"blue": 0.7}, "black"),
    (dict(blue=0.6, black=0.2, grey=0.2), "blue", {"blue": 0.8}, "blue"),
    # red to the model, pink to the pixels: pink (the model has no pink)
    (dict(pink=0.55, red=0.1, grey=0.35), "red", {"red": 0.6}, "pink"),
    # red to the model, no red pixels but brown ones: brown
    (dict(brown=0.3, black=0.5, grey=0.2), "red", {"red": 0.05}, "brown"),
    # the model's black is said; its white only tips grey towards white
    (dict(grey=0.7, white=0.2, black=0.1), "black", {}, "black"),
    (dict(grey=0.5, white=0.3, black=0.2), "white", {}, "white"),
    (dict(grey=0.7, white=0.2, black=0.1), "white", {}, "grey"),
    # no model: the pixels alone
    (dict(blue=0.5, grey=0.5), "", {}, "blue"),
    (dict(black=0.6, grey=0.4), "", {}, "black"),
])
def test_vehicle_colour_rules(shares, model, hues, word):
    from vehiclust.evidence.colour import vehicle_colour

    assert vehicle_colour(_shares(**shares), model, hues) == word


def test_hue_shares_count_dull_paint():
    from vehiclust.evidence.colour import CHROMA_MIN, hue_shares

    dull_red = np.full((16, 16, 3), (120, 95, 92), dtype=np.uint8)  # chroma ~9: grey to the palette
    lab = srgb_to_lab(dull_red[0, 0])
    assert np.hypot(lab[1], lab[2]) < CHROMA_MIN
    assert image_colour(colour_shares(dull_red)) in ("grey", "black")
    hues = hue_shares(dull_red)
    assert hues["red"] == pytest.approx(1.0, abs=1e-5) and hues["blue"] == 0.0


def test_tied_leading_colours_ask_for_more_images():
    """A cluster whose two leading colours are within sampling error gets more images (seeded,
    only from its own unsampled rows); a clear lead or a lone cluster gets none."""
    from vehiclust.evidence.colour import colour_tied, extra_colour_rows

    assert colour_tied(["black"] * 19 + ["white"] * 16 + ["grey"] * 15 + ["blue"] * 14)
    assert not colour_tied(["red"] * 40 + ["pink"] * 20 + ["grey"] * 4)
    assert not colour_tied(["red"]) and not colour_tied(["", ""])
    labels = np.repeat([0, 1], 200)
    usable = np.ones(400, dtype=bool)
    sampled = np.r_[np.arange(0, 64), np.arange(200, 264)]
    colours = ["black", "white"] * 32 + ["red"] * 64
    more = extra_colour_rows(labels, usable, sampled, colours, 100, np.random.default_rng(0))
    assert len(more) == 100 and set(labels[more]) == {0} and not set(more) & set(sampled)
    again = extra_colour_rows(labels, usable, sampled, colours, 100, np.random.default_rng(0))
    assert np.array_equal(more, again)
    assert extra_colour_rows(labels, usable, sampled, [], 100, np.random.default_rng(0)).size == 0

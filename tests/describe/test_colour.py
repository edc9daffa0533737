"""CIELAB conversion and colour words for pixels and whole crops."""

from __future__ import annotations

import numpy as np
import pytest

from vehiclust.describe import COLOURS, colour_shares, image_colour, measure_image, srgb_to_lab
from vehiclust.describe._colour import pixel_colour_index


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

"""Classical descriptors: the numpy kernels against slow references, and their invariances."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vehiclust.exceptions import InputError
from vehiclust.extract import _kernels
from vehiclust.extract.classical import ColorHistogramBackend, HOGBackend


def slow_hog(g: np.ndarray, orientations: int, cell: int, block: int) -> np.ndarray:
    """Pixel-by-pixel Dalal-Triggs reference."""
    h, w = g.shape
    ncy, ncx = h // cell, w // cell
    hist = np.zeros((ncy, ncx, orientations))
    width = 180.0 / orientations
    for y in range(ncy * cell):
        for x in range(ncx * cell):
            gx = (g[y, x + 1] - g[y, x - 1]) if 0 < x < w - 1 else 0.0
            gy = (g[y + 1, x] - g[y - 1, x]) if 0 < y < h - 1 else 0.0
            mag = np.hypot(gx, gy)
            ang = np.degrees(np.arctan2(gy, gx)) % 180.0
            pos = ang / width - 0.5
            lo = int(np.floor(pos))
            frac = pos - lo
            hist[y // cell, x // cell, lo % orientations] += mag * (1 - frac)
            hist[y // cell, x // cell, (lo + 1) % orientations] += mag * frac
    out = []
    for by in range(ncy - block + 1):
        for bx in range(ncx - block + 1):
            v = hist[by:by + block, bx:bx + block].transpose(2, 0, 1).ravel()
            v = v / np.sqrt((v**2).sum() + 1e-12)
            v = np.minimum(v, 0.2)
            out.append(v / np.sqrt((v**2).sum() + 1e-12))
    return np.concatenate(out)


@pytest.mark.parametrize("shape,cell,block,orient", [((32, 32), 8, 2, 9), ((24, 40), 8, 3, 6), ((17, 33), 4, 2, 12)])
def test_hog_kernel_matches_reference(shape: tuple[int, int], cell: int, block: int, orient: int) -> None:
    g = np.random.default_rng(3).random(shape).astype(np.float32)
    fast = _kernels.hog(g, orient, cell, block)
    np.testing.assert_allclose(fast, slow_hog(g.astype(np.float64), orient, cell, block), atol=2e-5)


def test_hog_of_flat_image_is_zero() -> None:
    assert not _kernels.hog(np.full((32, 32), 0.5, np.float32), 9, 8, 2).any()


def test_joint_histogram_matches_reference() -> None:
    hsv = np.random.default_rng(4).integers(0, 256, (30, 20, 3), dtype=np.uint8)
    bins = (8, 4, 4)
    ref = np.zeros(bins)
    for h, s, v in hsv.reshape(-1, 3).astype(int):
        ref[h * bins[0] // 256, s * bins[1] // 256, v * bins[2] // 256] += 1
    np.testing.assert_array_equal(_kernels.joint_histogram(hsv, bins), ref.ravel())


def test_color_hist_is_unit_hellinger(rgb_image: Image.Image) -> None:
    b = ColorHistogramBackend()
    v = b.prepare(rgb_image)
    assert v.shape == (b.dim,) == (128,) and v.dtype == np.float32
    assert np.isclose((v**2).sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("colour,other", [((230, 20, 20), (20, 20, 230)), ((250, 250, 250), (10, 10, 10))])
def test_color_hist_separates_colours(colour: tuple[int, int, int], other: tuple[int, int, int]) -> None:
    b = ColorHistogramBackend()
    a1 = b.prepare(Image.new("RGB", (50, 50), colour))
    a2 = b.prepare(Image.new("RGB", (80, 30), colour))
    c = b.prepare(Image.new("RGB", (50, 50), other))
    np.testing.assert_allclose(a1, a2)  # size does not matter
    assert float(a1 @ c) == 0.0  # different colours share no bin


def test_hog_shape_and_brightness_invariance(rgb_image: Image.Image) -> None:
    b = HOGBackend()
    v = b.prepare(rgb_image)
    assert v.shape == (b.dim,) == (324,)
    dim = Image.fromarray((np.asarray(rgb_image) // 2).astype(np.uint8))
    np.testing.assert_allclose(b.prepare(dim), v, atol=0.05)  # block normalisation


@pytest.mark.parametrize("kwargs", [{"bins": (0, 4, 4)}, {"bins": (8, 4)}, {"bins": (300, 1, 1)}])
def test_color_hist_bad_bins(kwargs: dict) -> None:
    with pytest.raises(InputError, match="bins"):
        ColorHistogramBackend(**kwargs)


def test_hog_too_small() -> None:
    with pytest.raises(InputError, match="size"):
        HOGBackend(size=8)

"""load_image: RGB out for every sane file, ImageReadError (never a raw PIL error) otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vehiclust.exceptions import VehiclustError
from vehiclust.io.images import ImageReadError, image_size, load_image


MODES = ["RGB", "L", "P", "I;16", "RGBA", "LA", "1"]


@pytest.mark.parametrize("mode,fmt", [(m, "png") for m in MODES] + [(m, "tiff") for m in MODES + ["CMYK"]])
def test_modes_become_rgb(tmp_path: Path, mode: str, fmt: str) -> None:
    rng = np.random.default_rng(1)
    base = Image.fromarray(rng.integers(0, 256, (12, 20, 3), dtype=np.uint8), "RGB")
    im = base.convert(mode) if mode != "I;16" else Image.fromarray((rng.integers(0, 65535, (12, 20))).astype(np.uint16))
    path = tmp_path / f"x.{fmt}"
    im.save(path)
    out = load_image(path)
    assert out.mode == "RGB"
    assert out.size == (20, 12)


def test_real_jpeg(demo_dir: Path, few_demo: list[str]) -> None:
    im = load_image(demo_dir / few_demo[0].replace("\\", "/"))
    assert im.mode == "RGB" and im.size == (100, 100)
    assert np.asarray(im).std() > 5  # real content, not a grey fill


def test_transparent_background_is_white(tmp_path: Path) -> None:
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(tmp_path / "t.png")
    assert np.asarray(load_image(tmp_path / "t.png")).min() == 255


def test_16bit_is_scaled_not_clipped(tmp_path: Path) -> None:
    arr = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    Image.fromarray(arr).save(tmp_path / "d.png")
    out = np.asarray(load_image(tmp_path / "d.png"))[:, :, 0]
    assert out.min() == 0 and out.max() == 255 and len(np.unique(out)) > 30


def _reason(path: Path, **kw: int) -> str:
    with pytest.raises(ImageReadError) as info:
        load_image(path, **kw)
    assert isinstance(info.value, VehiclustError)
    assert str(path) in str(info.value)
    return info.value.reason


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in _reason(tmp_path / "nope.jpg")


def test_folder_is_not_an_image(tmp_path: Path) -> None:
    assert "not a regular file" in _reason(tmp_path)


def test_broken_files(broken_dir: Path) -> None:
    assert "truncated" in _reason(broken_dir / "truncated.jpg")
    assert "identify" in _reason(broken_dir / "notanimage.jpg")
    assert "identify" in _reason(broken_dir / "empty.png")


def test_decompression_bomb_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "bomb.png"
    Image.new("1", (8000, 6000)).save(path)  # 48 Mpx of zeros: a few kB on disk
    assert path.stat().st_size < 200_000
    reason = _reason(path)
    assert "decompression bomb" in reason and "48,000,000" in reason
    with pytest.raises(ImageReadError):
        image_size(path)


def test_pixel_limit_is_a_parameter(tmp_path: Path, rgb_image: Image.Image) -> None:
    rgb_image.save(tmp_path / "a.png")
    assert load_image(tmp_path / "a.png", max_pixels=2400).size == (60, 40)
    assert "exceeds the limit" in _reason(tmp_path / "a.png", max_pixels=2399)


def test_absurd_aspect_ratio(tmp_path: Path) -> None:
    Image.new("RGB", (5000, 2)).save(tmp_path / "strip.png")
    assert "aspect ratio" in _reason(tmp_path / "strip.png")


def test_image_size_reads_header(tmp_path: Path, rgb_image: Image.Image) -> None:
    rgb_image.save(tmp_path / "a.jpg")
    assert image_size(tmp_path / "a.jpg") == (60, 40)

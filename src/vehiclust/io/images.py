"""Safe image loading shared by every stage that opens an image file.

Real image folders hold truncated downloads, HTML saved as ``.jpg``, zero-byte files and the
occasional huge scan. Every such case becomes one :class:`ImageReadError` that says which file
and why, so a caller can turn it into a flagged row instead of a stopped run. No raw PIL error
escapes from here.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from vehiclust.exceptions import VehiclustError

log = logging.getLogger(__name__)

#: Default pixel budget: far above any vehicle crop, far below a decompression bomb.
DEFAULT_MAX_PIXELS = 40_000_000
#: Images smaller than this on either side carry no usable content.
MIN_SIDE = 1
#: Width/height ratios beyond this are corrupt headers, not vehicles.
MAX_ASPECT = 50.0

__all__ = ["DEFAULT_MAX_PIXELS", "ImageReadError", "load_image", "image_size"]


class ImageReadError(VehiclustError, OSError):
    """An image file is missing, unreadable, truncated or of an unusable size."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"Cannot read image '{path}': {reason}.")


def _check_size(path: str | Path, width: int, height: int, max_pixels: int) -> None:
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageReadError(path, f"size {width}x{height} is empty")
    if width * height > max_pixels:
        raise ImageReadError(
            path,
            f"size {width}x{height} = {width * height:,} pixels exceeds the limit of "
            f"{max_pixels:,} (possible decompression bomb; raise max_pixels if it is genuine)",
        )
    aspect = max(width / height, height / width)
    if aspect > MAX_ASPECT:
        raise ImageReadError(path, f"size {width}x{height} has an absurd aspect ratio {aspect:.0f}:1 (limit {MAX_ASPECT:.0f}:1)")


def image_size(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """(width, height) from the header only, with the same checks as :func:`load_image`."""
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file")
    try:
        with Image.open(path) as im:
            width, height = im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(path, f"refused as a decompression bomb ({exc})") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise ImageReadError(path, f"not a readable image ({type(exc).__name__}: {exc})") from None
    _check_size(path, width, height, max_pixels)
    return width, height


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open ``path`` fully decoded as an RGB image, or raise :class:`ImageReadError`.

    The size is checked from the header before any pixel is decoded, so a bomb costs nothing.
    Truncated files are errors, because a half-grey crop would give a misleading descriptor.
    Thread-safe: no global PIL setting is changed, so callers may decode in a thread pool.
    """
    path = Path(path)
    if not path.is_file():
        raise ImageReadError(path, "no such file" if not path.exists() else "not a regular file")
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        log.warning("PIL.ImageFile.LOAD_TRUNCATED_IMAGES is set by another library; truncated "
                    "images will load with grey padding instead of being reported")
    try:
        with Image.open(path) as im:
            width, height = im.size
            _check_size(path, width, height, max_pixels)
            im.load()
            rgb = _to_rgb(im)
    except ImageReadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageReadError(path, f"refused as a decompression bomb ({exc})") from None
    except UnidentifiedImageError:
        raise ImageReadError(path, "not an image file PIL can identify") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageReadError(path, f"truncated or corrupt ({type(exc).__name__}: {exc})") from None
    except MemoryError:
        raise ImageReadError(path, "out of memory while decoding") from None
    return rgb


def load_thumbnail(path: str | Path, size: int) -> Image.Image:
    """The image (RGB) shrunk to fit ``size`` x ``size`` px, for galleries and reports (the only
    other reader of input images besides :func:`load_image`'s measuring callers in
    :mod:`vehiclust.evidence`). Raises :class:`ImageReadError` like :func:`load_image`."""
    image = load_image(path)
    image.thumbnail((size, size))
    return image


def _to_rgb(im: Image.Image) -> Image.Image:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        # Composite on white: a transparent background must not turn black.
        rgba = im.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, (255, 255, 255))
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        return rgb
    if im.mode.startswith("I") or im.mode == "F":
        # 16-bit / float greyscale: scale to 0-255 instead of clipping to white.
        arr = np.asarray(im, dtype=np.float64)
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        return Image.fromarray(scaled.astype(np.uint8), mode="L").convert("RGB")
    return im.convert("RGB")

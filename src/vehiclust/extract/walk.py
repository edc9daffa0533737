"""Find the images under a folder, in a stable order."""

from __future__ import annotations

import os
from pathlib import Path

from vehiclust.exceptions import InputError

#: File endings treated as images when walking a folder (case-insensitive).
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


def walk_images(root: str | Path, *, follow_links: bool = False) -> list[str]:
    """All image files under ``root`` as sorted POSIX paths relative to ``root``.

    Hidden files and folders (leading dot) are skipped; symlinked folders are not followed
    unless asked, so a link loop cannot hang the walk.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"The images root '{root}' is not a folder.")
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=follow_links):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        rel_dir = Path(dirpath).relative_to(root)
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in IMAGE_SUFFIXES:
                continue
            found.append((rel_dir / name).as_posix())
    found.sort()
    return found

"""walk_images: every image under a root, relative, sorted, hidden and non-images skipped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vehiclust.exceptions import InputError
from vehiclust.extract import walk_images


def test_walk(tmp_path: Path) -> None:
    files = ["b/z.JPG", "a/2.png", "a/10.png", "a/deep/er/x.webp", "top.jpeg", "c d/(1) e.jpg",
             "a/notes.txt", ".hidden/h.jpg", "a/.dot.jpg", "a/noext"]
    for f in files:
        (tmp_path / f).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / f).write_bytes(b"x")
    assert walk_images(tmp_path) == sorted(["a/10.png", "a/2.png", "a/deep/er/x.webp", "b/z.JPG", "c d/(1) e.jpg", "top.jpeg"])


def test_walk_empty_and_missing(tmp_path: Path) -> None:
    assert walk_images(tmp_path) == []
    with pytest.raises(InputError, match="not a folder"):
        walk_images(tmp_path / "nope")


def test_walk_does_not_follow_link_loops(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"x")
    os.symlink(tmp_path, tmp_path / "a" / "loop")
    assert walk_images(tmp_path) == ["a/x.jpg"]


def test_walk_demo(demo_dir: Path, demo_paths: list[str]) -> None:
    found = walk_images(demo_dir / "images")
    assert len(found) == 1200
    assert sorted("images/" + p for p in found) == sorted(p.replace("\\", "/") for p in demo_paths)

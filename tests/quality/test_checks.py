"""Image checks: measure → score → mark on synthetic and real images, cache, duplicates."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageFilter

from vehiclust.exceptions import InputError
from vehiclust.quality import (
    CHECKS,
    ImageChecker,
    duplicate_groups,
    make_checks,
    measure_image,
    score_checks,
)
from vehiclust.quality._checks import quality_high_is_bad, quality_low_is_bad
from vehiclust.quality._duplicates import parse_hashes, popcount64

NO_VEHICLE_CHECKS = [c for c in CHECKS if c != "no_vehicle"]


def textured(seed: int, size: tuple[int, int] = (96, 96)) -> Image.Image:
    """A sharp, mid-grey, well-exposed image with structure (blocks + noise)."""
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(40, 215, (12, 12, 3))
    a = np.kron(blocks, np.ones((size[1] // 12 + 1, size[0] // 12 + 1, 1)))[: size[1], : size[0]]
    a = a + rng.normal(0, 12, a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


@pytest.fixture()
def problem_images(tmp_path: Path) -> tuple[list[str], list[str]]:
    """One image per problem, and the exact reasons expected (no_vehicle not run)."""
    items: list[tuple[str, str]] = []

    def save(name: str, im: Image.Image, expected: str) -> None:
        p = tmp_path / name
        im.save(p)
        items.append((str(p), expected))

    save("fine.png", textured(0), "")
    save("fine2.png", textured(1), "")
    save("blurry.png", textured(2).filter(ImageFilter.GaussianBlur(4)), "blurry")
    dark = (np.asarray(textured(3), np.float32) * 0.18).astype(np.uint8)
    save("dark.png", Image.fromarray(dark), "dark")
    bright = (255 - (255 - np.asarray(textured(4), np.float32)) * 0.18).astype(np.uint8)
    save("overexposed.png", Image.fromarray(bright), "overexposed")
    save("sliver.png", textured(5, (120, 16)), "odd_size")
    flat = np.full((80, 80, 3), 120, np.uint8)
    flat[:40] = 124
    save("flat.png", Image.fromarray(flat), "low_information;blurry")
    save("copy.png", textured(0), "near_duplicate")
    broken = tmp_path / "broken.jpg"
    textured(6).save(broken, quality=90)
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    items.append((str(broken), "unreadable"))
    items.append((str(tmp_path / "gone.png"), "missing_file"))
    items.append(("", "missing_file"))  # a path the loader refused
    return [p for p, _ in items], [e for _, e in items]


def _sorted_reasons(text: str) -> str:
    return ";".join(sorted(t for t in text.split(";") if t))


def test_each_problem_gets_exactly_its_reason(problem_images, tmp_path):
    paths, expected = problem_images
    table = ImageChecker(NO_VEHICLE_CHECKS, cache_dir=tmp_path / "cache", progress=False).fit(paths).table_
    got = [_sorted_reasons(r) for r in table["image_reasons"]]
    assert got == [_sorted_reasons(e) for e in expected]
    assert len(table) == len(paths)
    # direction-carrying columns: quality in [0, 1], flags where quality < 0.5
    for name in NO_VEHICLE_CHECKS:
        q = table[f"{name}_quality"].to_numpy(float)
        assert np.nanmin(q) >= 0 and np.nanmax(q) <= 1
    assert table.loc[7, "duplicate_of"] == 0
    assert table["image_outlierness"].iloc[1] < 0.5 < table["image_outlierness"].iloc[2]
    assert "truncated" in table.loc[8, "read_error"] or "corrupt" in table.loc[8, "read_error"]


def test_rescoring_reads_no_image(problem_images, tmp_path, monkeypatch):
    paths, _ = problem_images
    cache = tmp_path / "cache"
    first = ImageChecker(NO_VEHICLE_CHECKS, cache_dir=cache, progress=False).fit(paths)
    import vehiclust.evidence.properties as measure

    def boom(path):  # any image read now is a failure
        raise AssertionError(f"re-read {path}")

    monkeypatch.setattr(measure, "measure_image", boom)
    strict = ImageChecker(NO_VEHICLE_CHECKS, params={"blurry": {"threshold": 0.9}}, cache_dir=cache, progress=False).fit(paths)
    pd.testing.assert_frame_equal(first.properties_, strict.properties_)
    # a stricter blur threshold flags more, from the cached measurements alone
    assert strict.table_["is_blurry"].sum() > first.table_["is_blurry"].sum()


def test_changed_file_is_measured_again(tmp_path):
    p = tmp_path / "a.png"
    textured(0).save(p)
    cache = tmp_path / "cache"
    before = ImageChecker(["dark"], cache_dir=cache, progress=False).fit([str(p)]).table_
    Image.fromarray((np.asarray(textured(0), np.float32) * 0.1).astype(np.uint8)).save(p)
    import os

    os.utime(p, ns=(1, 1))  # a different mtime even on coarse clocks
    after = ImageChecker(["dark"], cache_dir=cache, progress=False).fit([str(p)]).table_
    assert not before["is_dark"].iloc[0] and after["is_dark"].iloc[0]


@pytest.mark.parametrize("fn,low_bad", [(quality_low_is_bad, True), (quality_high_is_bad, False)])
@pytest.mark.parametrize("threshold", [0.1, 2.0, 50.0])
def test_quality_is_half_at_threshold(fn, low_bad, threshold):
    v = np.array([threshold / 4, threshold, threshold * 4, np.nan])
    q = fn(v, threshold)
    assert q[1] == pytest.approx(0.5)
    assert (q[0] < 0.5 < q[2]) if low_bad else (q[0] > 0.5 > q[2])
    assert np.isnan(q[3])


def _brute_force(hashes: list[str], r: int) -> tuple[np.ndarray, np.ndarray]:
    v, _ = parse_hashes(np.array(hashes))
    d = popcount64(v[:, None] ^ v[None, :])
    np.fill_diagonal(d, 99)
    nearest = np.where(d.min(1) <= r, d.min(1), -1)
    # groups: connected components by union-find
    parent = list(range(len(v)))

    def find(x):
        while parent[x] != x:
            x = parent[x]
        return x

    for i, j in zip(*np.nonzero(d <= r)):
        parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(v))]
    first = np.full(len(v), -1)
    for i, root in enumerate(roots):
        members = [j for j, rr in enumerate(roots) if rr == root]
        if len(members) > 1:
            first[i] = min(members)
    return nearest, first


@pytest.mark.parametrize("r", [0, 2, 4, 8])
def test_duplicate_groups_match_brute_force(r):
    rng = np.random.default_rng(r)
    base = rng.integers(0, 2**63, 40, dtype=np.int64).astype(np.uint64)
    values = [base[i % 40] ^ np.uint64(1 << int(rng.integers(0, 64))) if i >= 40 else base[i] for i in range(60)]
    values += [base[3], base[3]]  # exact copies
    hashes = [f"{int(v):016x}" for v in values]
    got_nearest, got_first = duplicate_groups(np.array(hashes), r)
    ref_nearest, ref_first = _brute_force(hashes, r)
    np.testing.assert_array_equal(got_nearest, ref_nearest)
    np.testing.assert_array_equal(got_first, ref_first)


def test_duplicate_groups_edge_cases():
    assert duplicate_groups(np.array([], dtype=object), 4)[0].size == 0
    nearest, first = duplicate_groups(np.array(["", "00ff00ff00ff00ff", ""]), 4)
    assert nearest.tolist() == [-1, -1, -1] and first.tolist() == [-1, -1, -1]


def test_measure_image_reports_problems_without_raising(tmp_path):
    p = tmp_path / "not_an_image.jpg"
    p.write_text("<html>nope</html>")
    row = measure_image(str(p))
    assert row["file_exists"] and not row["readable"] and row["read_error"]
    assert not measure_image(str(tmp_path / "missing.jpg"))["file_exists"]


def test_make_checks_validates_names_and_params():
    with pytest.raises(InputError, match="Unknown image check 'fuzzy'"):
        make_checks(["fuzzy"])
    with pytest.raises(InputError, match="threshold"):
        make_checks(["dark"], {"dark": {"threshold": -1}})
    with pytest.raises(InputError, match="Bad parameters"):
        make_checks(["dark"], {"dark": {"nope": 1}})
    assert [c.name for c in make_checks()] == list(CHECKS)


def test_no_vehicle_skipped_without_weights(tmp_path, monkeypatch, problem_images):
    monkeypatch.delenv("VEHICLUST_MODELS", raising=False)
    monkeypatch.setattr("vehiclust.extract._weights.BUNDLED", tmp_path / "no-bundled-weights")
    paths, _ = problem_images
    with pytest.warns(UserWarning, match="no_vehicle check skipped"):
        checker = ImageChecker(cache_dir=None, progress=False).fit(paths[:3])
    assert "no_vehicle" in checker.skipped_
    assert "no_vehicle_quality" not in checker.table_


def test_score_checks_without_checks_is_all_fine():
    props = pd.DataFrame({"readable": [True, True], "file_exists": [True, True]})
    table = score_checks(props, [])
    assert table["image_reasons"].tolist() == ["", ""]
    assert table["image_quality"].tolist() == [1.0, 1.0]

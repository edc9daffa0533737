"""Map PNGs: written, readable, coloured where the points are; NaN rows skipped."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from vehiclust.embed import cluster_colours, render_map
from vehiclust.embed._runs import full_coords, render_run_maps
from vehiclust.results import DescriptorRun


@pytest.mark.parametrize("n", [3, 500, 200_000])
def test_cluster_map_is_written(tmp_path, n):
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(n, 2)).astype(np.float32)
    labels = rng.integers(-1, 5, n)
    p = render_map(coords, labels, tmp_path / "m.png", names={0: "white vans"})
    im = np.asarray(Image.open(p).convert("RGB"))
    assert im.shape[0] > 300 and im.shape[1] > 300
    assert (im.sum(-1) < 700).mean() > 0.001  # something drawn on the white canvas


def test_outlier_map_draws_red(tmp_path):
    rng = np.random.default_rng(0)
    coords = rng.normal(size=(2000, 2))
    flags = np.zeros(2000, bool)
    flags[:50] = True
    coords[:50] += 10  # outliers far away
    im = np.asarray(Image.open(render_map(coords, flags, tmp_path / "o.png", kind="outliers")).convert("RGB")).astype(int)
    red = (im[..., 0] > 150) & (im[..., 1] < 90) & (im[..., 2] < 90)
    assert red.sum() > 20


def test_nan_rows_are_skipped(tmp_path):
    coords = np.array([[0, 0], [1, 1], [np.nan, np.nan], [2, 0]], dtype=np.float32)
    render_map(coords, np.array([0, 1, -1, 1]), tmp_path / "n.png")
    assert (tmp_path / "n.png").stat().st_size > 1000


def test_all_nan_still_writes(tmp_path):
    render_map(np.full((3, 2), np.nan), np.array([0, 0, 1]), tmp_path / "e.png")
    assert (tmp_path / "e.png").exists()


def test_colours_distinct():
    c = cluster_colours(40)
    assert len({tuple(np.round(x, 3)) for x in c}) == 40


def test_run_maps_register_artifacts(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6)).astype(np.float32)
    valid = np.ones(130, bool)
    valid[-10:] = False
    labels = np.where(valid, rng.integers(0, 3, 130), -1)
    run = DescriptorRun(name="osnet", labels=labels, selection=None, chosen={})
    run.coords_2d = full_coords(X, valid, 2, "pca", 0)
    assert np.isnan(run.coords_2d[~valid]).all() and np.isfinite(run.coords_2d[valid]).all()
    render_run_maps(run, tmp_path)
    assert run.artifacts == {"map_clusters": "descriptors/osnet/map_clusters.png",
                             "map_outliers": "descriptors/osnet/map_outliers.png"}
    assert (tmp_path / run.artifacts["map_outliers"]).exists()


def test_map_run_sets_2d_and_3d_with_nan_for_invalid_rows(tmp_path):
    from vehiclust.embed import map_run

    rng = np.random.default_rng(1)
    valid = rng.random(80) > 0.1
    X = rng.normal(size=(int(valid.sum()), 5)).astype(np.float32)
    run = DescriptorRun(name="hog", labels=np.where(valid, 0, -1), selection=None, chosen={})
    map_run(run, X, valid, tmp_path, method="pca", three_d=True, random_state=0)
    assert run.coords_2d.shape == (80, 2) and run.coords_3d.shape == (80, 3)
    assert run.coords_3d.dtype == np.float32
    assert np.isnan(run.coords_3d[~valid]).all() and np.isfinite(run.coords_3d[valid]).all()
    assert (tmp_path / "descriptors" / "hog" / "map_clusters.png").exists()

"""A run interrupted after the cluster stage and resumed picks the same best set as a fresh run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust import pipeline
from vehiclust.config import RunConfig


class _Interrupted(Exception):
    pass


def _interrupt(ctx):
    raise _Interrupted


@pytest.mark.slow
def test_resumed_run_picks_the_same_best_and_clusters(demo_dir, tmp_path, monkeypatch):
    names = ("color-hist", "hog")
    cfg = dict(descriptors={n: demo_dir / "descriptors" / f"{n}.pkl" for n in names},
               paths=demo_dir / "images_paths.csv", labels=demo_dir / "labels.csv", mixes=["all"],
               families=("gmm",),  # not k-means: a refit that fell back to k-means would show
               k_min=3, k_max=6, pca_components=16, map_method="pca", map_3d=False, notebook=False,
               html=False, progress=False, n_jobs=1)
    resumed_out = tmp_path / "resumed"
    with monkeypatch.context() as mp:  # killed right after the cluster stage wrote its cache
        mp.setattr(pipeline, "_stage_image_checks", _interrupt)
        with pytest.raises(_Interrupted):
            pipeline.run(RunConfig(out=resumed_out, **cfg))
    assert not (resumed_out / "clusters.csv").exists()
    resumed = pipeline.run(RunConfig(out=resumed_out, **cfg))
    fresh = pipeline.run(RunConfig(out=tmp_path / "fresh", cache_dir=tmp_path / "fresh-cache", **cfg))

    assert resumed.best == fresh.best
    assert resumed.best_reason == fresh.best_reason
    for name, run_ in fresh.descriptors.items():
        np.testing.assert_array_equal(run_.labels, resumed.descriptors[name].labels)
        assert run_.best_params == resumed.descriptors[name].best_params
        np.testing.assert_allclose(run_.cluster_centers, resumed.descriptors[name].cluster_centers)
    # stability refits the chosen family in both runs (not a k-means fallback after the resume)
    pd.testing.assert_frame_equal(resumed.comparison, fresh.comparison)
    assert (resumed_out / "clusters.csv").read_bytes() == (tmp_path / "fresh" / "clusters.csv").read_bytes()

"""A second run with the same inputs reuses the expensive stages; --force recomputes."""

import logging

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from vehiclust.cache import StageCache, cache_key
from vehiclust.config import RunConfig
from vehiclust.pipeline import run


def _case(d):
    X, _ = make_blobs(n_samples=300, centers=3, n_features=10, random_state=1)
    np.save(d / "a.npy", X.astype(np.float32))
    pd.DataFrame({"paths": [f"{i}.jpg" for i in range(300)]}).to_csv(d / "p.csv", index=False)


def test_second_run_resumes_from_cache(tmp_path, caplog):
    _case(tmp_path)
    cfg = dict(descriptors={"a": tmp_path / "a.npy"}, paths=tmp_path / "p.csv", out=tmp_path / "out",
               families=("kmeans", "eac"), k_max=6, pca_components=5, progress=False, notebook=False, html=False)
    first = run(RunConfig(**cfg))
    with caplog.at_level(logging.INFO, logger="vehiclust.cache"):
        second = run(RunConfig(**cfg))
    reused = [r.getMessage() for r in caplog.records if "reused cached result" in r.getMessage()]
    assert any("stage prepare [a]" in m for m in reused) and any("stage cluster [a]" in m for m in reused)
    assert any("stage maps [a]" in m for m in reused)  # the map coordinates are read back too
    np.testing.assert_array_equal(first.descriptors["a"].coords_2d, second.descriptors["a"].coords_2d)
    np.testing.assert_array_equal(first.descriptors["a"].coords_3d, second.descriptors["a"].coords_3d)
    np.testing.assert_array_equal(first.descriptors["a"].labels, second.descriptors["a"].labels)
    # the resumed clustering still gives the outlier stage its centres and the compare stage its
    # refits: the same outliers, the same scores, the same best set as the fresh run
    pd.testing.assert_frame_equal(first.descriptors["a"].outliers, second.descriptors["a"].outliers)
    pd.testing.assert_frame_equal(first.comparison, second.comparison)
    fresh, resumed = first.descriptors["a"].selector, second.descriptors["a"].selector
    assert resumed is not None and resumed.best_params_ == fresh.best_params_  # the compare stage refits this
    np.testing.assert_allclose(resumed.cluster_centers_, fresh.cluster_centers_, rtol=1e-6)  # the outliers use these
    assert first.best_reason == second.best_reason
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="vehiclust.cache"):
        run(RunConfig(force=True, **cfg))
    assert not [r for r in caplog.records if "reused cached result" in r.getMessage()]


def test_changed_parameters_miss_the_cache(tmp_path):
    cache = StageCache(tmp_path)
    key = cache_key("src", {"k": 3, "cols": np.arange(2000)})
    cache.save("cluster", "osnet", key, {"labels": np.arange(5), "selection": pd.DataFrame({"k": [2, 3]}), "chosen": {"k": 3}})
    hit = cache.load("cluster", "osnet", key)
    assert hit["chosen"] == {"k": 3} and hit["labels"].tolist() == [0, 1, 2, 3, 4]
    other = cache_key("src", {"k": 3, "cols": np.r_[np.arange(1999), 5000]})  # differs past repr's "..."
    assert other != key and cache.load("cluster", "osnet", other) is None
    assert StageCache(tmp_path, enabled=False).load("cluster", "osnet", key) is None

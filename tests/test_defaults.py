"""One home for defaults and one seed scheme: the config, the estimators and the CLI agree, and
the seed helpers give the seeds the package used before they existed (so results are unchanged)."""

from __future__ import annotations

import numpy as np

from vehiclust import defaults
from vehiclust.cluster import ClusterSelector
from vehiclust.config import RunConfig
from vehiclust.outliers import find_outliers
from vehiclust.pipeline import STAGES, stage_seeds
from vehiclust.prepare import DescriptorPreparer
from vehiclust.seeds import child_seeds, draw_seed


def test_config_and_estimators_share_the_defaults():
    cfg = RunConfig()
    prep = DescriptorPreparer().get_params()
    sel = ClusterSelector().get_params()
    assert cfg.pca_components == prep["n_components"] == defaults.PCA_COMPONENTS
    assert cfg.whiten == prep["whiten"] == defaults.WHITEN
    assert (cfg.k_min, cfg.k_max) == (sel["k_min"], sel["k_max"]) == (defaults.K_MIN, defaults.K_MAX)
    assert tuple(cfg.families) == tuple(sel["families"]) == defaults.FAMILY_NAMES
    kw = find_outliers.__kwdefaults__
    assert (kw["n_components"], kw["whiten"], kw["random_state"]) == (cfg.pca_components, cfg.whiten, cfg.seed)


def test_stage_seeds_are_the_recorded_ones():
    # the seeds the demo's metadata.json records for --seed 0 (before the helper existed)
    seeds = stage_seeds(0)
    assert list(seeds) == list(STAGES)
    assert seeds["prepare"] == 673228719 and seeds["cluster"] == 3685993406 and seeds["report"] == 2976135721
    assert child_seeds(0, ("prepare", "detect")) == {"prepare": 3757552657, "detect": 673228719}


def test_draw_seed_is_the_old_draw_for_every_kind_of_random_state():
    rs = np.random.RandomState(5)
    assert [draw_seed(rs) for _ in range(3)] == list(np.random.RandomState(5).randint(0, 2**31 - 1, 3))
    ref = np.random.default_rng(5)
    gen = np.random.default_rng(5)
    assert [draw_seed(gen) for _ in range(3)] == [int(ref.integers(0, 2**31 - 1)) for _ in range(3)]
    assert draw_seed(7) == draw_seed(7) == int(np.random.RandomState(7).randint(0, 2**31 - 1))
    assert 0 <= draw_seed(None) < 2**31 - 1

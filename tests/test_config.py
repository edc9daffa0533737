from pathlib import Path

import pytest

from vehiclust.config import RunConfig
from vehiclust.exceptions import InputError
from vehiclust.pipeline import run, stage_seeds


def test_toml_paths_are_relative_to_the_file_and_overrides_win(tmp_path):
    (tmp_path / "run.toml").write_text(
        '[vehiclust]\npaths = "images_paths.csv"\nseed = 5\nk_max = 12\nfamilies = ["kmeans", "gmm"]\n'
        '[vehiclust.descriptors]\nosnet = "osnet.pickle"\n'
    )
    cfg = RunConfig.from_toml(tmp_path / "run.toml", seed=9)
    assert cfg.paths == tmp_path / "images_paths.csv"
    assert cfg.descriptors == {"osnet": tmp_path / "osnet.pickle"}
    assert cfg.seed == 9 and cfg.k_max == 12 and cfg.families == ("kmeans", "gmm")


def test_unknown_keys_and_bad_toml_are_clear_errors(tmp_path):
    (tmp_path / "a.toml").write_text("k_maxx = 3\n")
    with pytest.raises(InputError, match="unknown keys \\['k_maxx'\\]"):
        RunConfig.from_toml(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text("k_max = \n")
    with pytest.raises(InputError, match="not valid TOML"):
        RunConfig.from_toml(tmp_path / "b.toml")
    with pytest.raises(InputError, match="does not exist"):
        RunConfig.from_toml(tmp_path / "missing.toml")


def test_run_without_descriptors_or_paths_says_what_is_missing(tmp_path):
    with pytest.raises(InputError, match="descriptor"):
        run(RunConfig(out=tmp_path))
    with pytest.raises(InputError, match="paths"):
        run(RunConfig(descriptors={"a": Path("a.npy")}, out=tmp_path))


def test_stage_seeds_are_stable_and_distinct():
    a, b = stage_seeds(0), stage_seeds(0)
    assert a == b and len(set(a.values())) == len(a)
    assert stage_seeds(1) != a


def test_unknown_engine_is_refused(tmp_path):
    with pytest.raises(InputError, match="'engine' setting must be 'local' or 'dask'. Got 'Dask'"):
        run(RunConfig(descriptors={"a": Path("a.npy")}, paths=Path("p.csv"), engine="Dask", out=tmp_path))

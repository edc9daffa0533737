"""extract_descriptors: alignment, determinism, broken images, checkpoints, parameter checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vehiclust.exceptions import InputError
from vehiclust.extract import Extraction, extract_descriptors, list_models
from vehiclust.extract import _registry
from vehiclust.extract.classical import ColorHistogramBackend

BROKEN = ["good0.jpg", "truncated.jpg", "good1.jpg", "notanimage.jpg", "missing.jpg", "empty.png", "good2.jpg"]


@pytest.mark.parametrize("model", ["color-hist", "hog"])
def test_alignment_and_determinism(demo_dir: Path, demo_paths: list[str], model: str) -> None:
    paths = demo_paths[::40]  # 30 images, all six types
    a = extract_descriptors(paths, model, root=demo_dir, progress=False, batch_size=7)
    b = extract_descriptors(paths, model, root=demo_dir, progress=False, batch_size=32, n_jobs=1)
    assert isinstance(a, Extraction) and a.features.dtype == np.float32
    assert a.features.shape == (30, a.info["dim"])
    np.testing.assert_array_equal(a.features, b.features)  # batching and threads change nothing
    order = np.random.default_rng(0).permutation(len(paths))
    c = extract_descriptors([paths[i] for i in order], model, root=demo_dir, progress=False, batch_size=4)
    np.testing.assert_array_equal(c.features, a.features[order])
    assert len({row.tobytes() for row in a.features}) == len(paths)  # rows really differ


def test_broken_images_become_nan_rows(broken_dir: Path) -> None:
    ext = extract_descriptors(BROKEN, "color-hist", root=broken_dir, progress=False, batch_size=2)
    bad = [1, 3, 4, 5]
    assert ext.failed.tolist() == [i in bad for i in range(len(BROKEN))]
    assert np.isnan(ext.features[bad]).all() and np.isfinite(ext.features[[0, 2, 6]]).all()
    assert list(ext.errors.columns) == ["row", "path", "error"]
    assert ext.errors.row.tolist() == bad
    assert ext.errors.path.tolist() == [BROKEN[i] for i in bad]
    reasons = dict(zip(ext.errors.path, ext.errors.error))
    assert "truncated" in reasons["truncated.jpg"] and "no such file" in reasons["missing.jpg"]


def test_paths_escaping_root_are_refused(broken_dir: Path, tmp_path: Path) -> None:
    ext = extract_descriptors(["good0.jpg", "../imgs/good1.jpg", "../../etc/passwd", "/etc/hosts"], "color-hist",
                              root=broken_dir, progress=False)
    assert ext.failed.tolist() == [False, False, True, True]
    assert "outside the images root" in ext.errors.error.iloc[0]
    assert "absolute" in ext.errors.error.iloc[1]


def test_without_root_paths_are_used_as_given(broken_dir: Path) -> None:
    ext = extract_descriptors([broken_dir / "good0.jpg", str(broken_dir / "good1.jpg")], "hog", progress=False)
    assert not ext.failed.any() and ext.errors.empty


def test_empty_list() -> None:
    ext = extract_descriptors([], "color-hist", progress=False)
    assert ext.features.shape == (0, 128) and ext.errors.empty


class _Interrupt(Exception):
    pass


def test_checkpoint_resumes_after_interruption(demo_dir: Path, demo_paths: list[str], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    paths = demo_paths[::25] + ["images\\car\\missing.jpg"]  # 49 images, chunks of 8
    full = extract_descriptors(paths, "color-hist", root=demo_dir, progress=False, batch_size=4, chunk_size=8)
    ckpt = tmp_path / "ckpt"
    calls = {"n": 0}
    real_infer = ColorHistogramBackend.infer

    def flaky(self, batch):  # dies during the 6th batch, i.e. inside the third chunk
        calls["n"] += 1
        if calls["n"] == 6:
            raise _Interrupt
        return real_infer(self, batch)

    monkeypatch.setattr(ColorHistogramBackend, "infer", flaky)
    with pytest.raises(_Interrupt):
        extract_descriptors(paths, "color-hist", root=demo_dir, progress=False, batch_size=4, chunk_size=8, checkpoint=ckpt)
    parts = sorted(p.name for p in ckpt.glob("part-*.npz"))
    assert parts == ["part-0000000000-0000000008.npz", "part-0000000008-0000000016.npz"]  # no half chunk
    assert not list(ckpt.glob(".*.tmp"))
    monkeypatch.setattr(ColorHistogramBackend, "infer", real_infer)
    seen = {"n": 0}

    def counting(self, batch):
        seen["n"] += len(batch)
        return real_infer(self, batch)

    monkeypatch.setattr(ColorHistogramBackend, "infer", counting)
    resumed = extract_descriptors(paths, "color-hist", root=demo_dir, progress=False, batch_size=4, chunk_size=8,
                                  checkpoint=ckpt)
    assert seen["n"] == len(paths) - 16 - 1  # only the unfinished rows ran (minus the missing file)
    np.testing.assert_array_equal(resumed.features, full.features)
    assert resumed.errors.equals(full.errors) and len(resumed.errors) == 1


def test_checkpoint_of_other_job_is_refused(demo_dir: Path, demo_paths: list[str], tmp_path: Path) -> None:
    ckpt = tmp_path / "ckpt"
    extract_descriptors(demo_paths[:5], "color-hist", root=demo_dir, progress=False, checkpoint=ckpt)
    with pytest.raises(InputError, match="different extraction"):
        extract_descriptors(demo_paths[1:6], "color-hist", root=demo_dir, progress=False, checkpoint=ckpt)
    with pytest.raises(InputError, match="different extraction"):
        extract_descriptors(demo_paths[:5], "hog", root=demo_dir, progress=False, checkpoint=ckpt)


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 2.5}, "batch_size"), ({"n_jobs": 0}, "n_jobs"),
    ({"model": "resnet9000"}, "Unknown model"), ({"weights": "x.pth"}, "has no weights"),
])
def test_bad_parameters(kwargs: dict, match: str) -> None:
    args = {"model": "color-hist", **kwargs}
    model = args.pop("model")
    with pytest.raises(InputError, match=match):
        extract_descriptors(["a.jpg"], model, progress=False, **args)


def test_single_path_string_is_refused() -> None:
    with pytest.raises(InputError, match="sequence of paths"):
        extract_descriptors("images/a.jpg", "color-hist")


def test_bad_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a folder"):
        extract_descriptors(["a.jpg"], "color-hist", root=tmp_path / "nope", progress=False)


def test_list_models() -> None:
    models = list_models()
    assert {"efficientnet-lite0", "osnet", "vehicle-attributes", "mobilenet", "onnx", "color-hist", "hog"} <= set(models)


def test_missing_dependency_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    from vehiclust.exceptions import MissingDependencyError

    _registry.clear_cache()  # a cached osnet from an earlier test would hide the check
    spec = _registry._SPECS["osnet"]
    monkeypatch.setitem(_registry._SPECS, "osnet", _registry.ModelSpec(
        spec.name, spec.module, spec.cls, ("no_such_module_xyz",), spec.summary))
    with pytest.raises(MissingDependencyError, match=r"no_such_module_xyz.*vehiclust\[extract\]"):
        extract_descriptors(["a.jpg"], "osnet", progress=False)

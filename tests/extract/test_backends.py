"""Each deep backend on real demo images (skipped without its package or weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehiclust.exceptions import InputError, MissingWeightsError
from vehiclust.extract import extract_descriptors, predict_heads, resolve_weights

DEEP = {
    "efficientnet-lite0": ("torch", 1280, ["imagenet_top1", "imagenet_top1_prob", "imagenet_vehicle_prob"]),
    "osnet": ("onnxruntime", 512, None),
    "vehicle-attributes": ("openvino", 128, [f"color_{c}" for c in ("white", "gray", "yellow", "red", "green", "blue", "black")]
                           + [f"type_{t}" for t in ("car", "bus", "truck", "van")]),
    "mobilenet": ("ai_edge_litert", 1024, None),
}


@pytest.fixture(scope="module")
def models_env(models_dir: Path) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setenv("VEHICLUST_MODELS", str(models_dir))
    yield models_dir
    mp.undo()


SLOW = {"efficientnet-lite0"}  # PyTorch start-up dominates on small CPUs


def _params() -> list:
    return [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in DEEP]


@pytest.mark.parametrize("model", _params())
def test_backend_on_real_images(model: str, models_env: Path, demo_dir: Path, few_demo: list[str]) -> None:
    package, dim, head_cols = DEEP[model]
    pytest.importorskip(package)
    paths = few_demo[:3]
    a = extract_descriptors(paths, model, root=demo_dir, progress=False, batch_size=2)
    assert a.features.shape == (3, dim) and a.features.dtype == np.float32
    assert np.isfinite(a.features).all() and a.errors.empty
    assert np.linalg.norm(a.features, axis=1).min() > 0
    # same images again, other batching and reversed order: same rows, reordered
    b = extract_descriptors(paths[::-1], model, root=demo_dir, progress=False, batch_size=3)
    np.testing.assert_allclose(b.features[::-1], a.features, rtol=1e-4, atol=1e-4)
    # different vehicles give different descriptors
    assert np.abs(a.features[0] - a.features[1]).max() > 1e-3
    if head_cols is None:
        assert a.heads is None
    else:
        assert list(a.heads.columns) == head_cols and len(a.heads) == 3


@pytest.mark.parametrize("model", _params())
def test_broken_images_with_deep_models(model: str, models_env: Path, broken_dir: Path) -> None:
    pytest.importorskip(DEEP[model][0])
    ext = extract_descriptors(["good0.jpg", "truncated.jpg", "notanimage.jpg"], model, root=broken_dir, progress=False)
    assert ext.failed.tolist() == [False, True, True]
    assert ext.errors.row.tolist() == [1, 2]
    if ext.heads is not None:
        assert ext.heads.iloc[1:].select_dtypes("number").isna().all().all()


def test_vehicle_attribute_heads(models_env: Path, demo_dir: Path, demo_paths: list[str]) -> None:
    pytest.importorskip("openvino")
    labels = pd.read_csv(demo_dir / "labels.csv")
    paths = labels.path[labels.type.isin(["car", "truck"])].tolist()[::10]  # 20 cars, 20 trucks
    heads = predict_heads(paths, "vehicle-attributes", root=demo_dir, progress=False)
    assert heads.path.tolist() == paths
    colors = heads.filter(like="color_").to_numpy()
    types = heads.filter(like="type_").to_numpy()
    np.testing.assert_allclose(colors.sum(1), 1, atol=1e-3)
    np.testing.assert_allclose(types.sum(1), 1, atol=1e-3)
    is_car = np.array(["\\car\\" in p for p in paths])
    assert is_car.sum() == 20
    # On these elevated low-quality crops the type head is weak but not blind: "car minus
    # truck" is clearly higher for the cars than for the trucks.
    score = types[:, 0] - types[:, 2]
    assert score[is_car].mean() > score[~is_car].mean() + 0.1


@pytest.mark.slow
def test_imagenet_heads(demo_dir: Path, few_demo: list[str]) -> None:
    pytest.importorskip("torch")
    heads = predict_heads(few_demo[:3], "imagenet", root=demo_dir, progress=False)
    assert list(heads.columns) == ["path", "imagenet_top1", "imagenet_top1_prob", "imagenet_vehicle_prob"]
    assert heads.imagenet_top1.map(lambda s: isinstance(s, str) and len(s) > 0).all()
    assert heads.imagenet_top1_prob.between(0, 1).all() and heads.imagenet_vehicle_prob.between(0, 1).all()
    assert heads.imagenet_vehicle_prob.mean() > 0.3  # these are vehicles


def test_predict_heads_rejects_other_models() -> None:
    with pytest.raises(InputError, match="vehicle-attributes, imagenet"):
        predict_heads(["a.jpg"], "osnet")


def test_generic_onnx_reproduces_osnet(models_env: Path, demo_dir: Path, few_demo: list[str]) -> None:
    pytest.importorskip("onnxruntime")
    onnx_file = resolve_weights("onnx/osnet_x0_25_msmt17.onnx")
    ref = extract_descriptors(few_demo[:3], "osnet", root=demo_dir, progress=False)
    gen = extract_descriptors(few_demo[:3], "onnx", weights=onnx_file, root=demo_dir, progress=False,
                              options={"input_size": (256, 128), "mean": [0.485, 0.456, 0.406],
                                       "std": [0.229, 0.224, 0.225]})
    np.testing.assert_allclose(gen.features, ref.features, rtol=1e-5, atol=1e-5)
    bgr = extract_descriptors(few_demo[:3], "onnx", weights=onnx_file, root=demo_dir, progress=False,
                              options={"input_size": (256, 128), "channels": "bgr"})
    assert np.abs(bgr.features - ref.features).max() > 1e-3


@pytest.mark.parametrize("options,match", [
    ({"input_size": 4}, "input_size"), ({"mean": [0.5, 0.5]}, "mean"), ({"std": 0}, "std"),
    ({"channels": "rgba"}, "channels"), ({"output": "nope"}, "output"),
])
def test_generic_onnx_bad_options(models_env: Path, options: dict, match: str) -> None:
    pytest.importorskip("onnxruntime")
    onnx_file = resolve_weights("onnx/osnet_x0_25_msmt17.onnx")
    with pytest.raises(InputError, match=match):
        extract_descriptors([], "onnx", weights=onnx_file, options=options, progress=False)


def test_generic_onnx_needs_a_file(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    with pytest.raises(InputError, match="needs --weights"):
        extract_descriptors([], "onnx", progress=False)
    with pytest.raises(MissingWeightsError, match="nothere.onnx"):
        extract_descriptors([], "onnx", weights=tmp_path / "nothere.onnx", progress=False)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match="could not be loaded"):
        extract_descriptors([], "onnx", weights=tmp_path / "junk.onnx", progress=False)


@pytest.mark.parametrize("model", ["osnet", "mobilenet"])  # vehicle-attributes is bundled
def test_missing_weights_names_where_it_looked(model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip(DEEP[model][0])
    monkeypatch.setenv("VEHICLUST_MODELS", str(tmp_path / "models"))
    with pytest.raises(MissingWeightsError) as info:
        extract_descriptors(["a.jpg"], model, progress=False)
    assert str(tmp_path / "models") in str(info.value) and "VEHICLUST_MODELS" in str(info.value)
    monkeypatch.delenv("VEHICLUST_MODELS")
    with pytest.raises(MissingWeightsError, match="VEHICLUST_MODELS is not set"):
        extract_descriptors(["a.jpg"], model, progress=False)
    with pytest.raises(MissingWeightsError, match="elsewhere"):
        extract_descriptors(["a.jpg"], model, weights=tmp_path / "elsewhere", progress=False)


def test_bundled_openvino_models_need_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from vehiclust.extract._weights import BUNDLED, resolve_weights

    monkeypatch.delenv("VEHICLUST_MODELS", raising=False)
    for rel in ("openvino/vehicle-detection-0200.xml", "openvino/vehicle-attributes-recognition-barrier-0039.bin"):
        assert resolve_weights(rel) == BUNDLED / rel

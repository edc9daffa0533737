"""The no_vehicle signal on real images: the Open Model Zoo vehicle detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vehiclust.exceptions import MissingWeightsError
from vehiclust.quality import ImageChecker, VehicleDetector

SCENES = ("non-vehicles/GTI/image1424.png", "non-vehicles/Extras/extra1099.png")


def test_detector_separates_vehicles_from_road_scenes(with_models: Path, shared_dir: Path, tmp_path: Path):
    vehicles = [sorted((shared_dir / "data" / "vehicles-zenodo" / c).glob("*.jpg"))[0] for c in ("car", "bike", "truck")]
    scenes = [shared_dir / "data" / "vehicles-udacity" / s for s in SCENES]
    paths = [str(p) for p in vehicles + scenes] + [str(tmp_path / "missing.png")]
    conf = VehicleDetector(progress=False).confidence(paths)["vehicle_confidence"].to_numpy()
    assert (conf[:3] > 0.8).all()
    assert (conf[3:5] < 0.3).all()
    assert np.isnan(conf[5])
    table = ImageChecker(["no_vehicle"], cache_dir=tmp_path / "cache", progress=False).fit(paths).table_
    assert table["is_no_vehicle"].tolist() == [False, False, False, True, True, False]
    assert list((tmp_path / "cache").glob("vehicle-*.parquet"))


def test_missing_weights_is_a_project_error(monkeypatch, tmp_path):
    monkeypatch.delenv("VEHICLUST_MODELS", raising=False)
    monkeypatch.setattr("vehiclust.extract._weights.BUNDLED", tmp_path / "no-bundled-weights")
    with pytest.raises(MissingWeightsError, match="vehicle-detection-0200"):
        VehicleDetector(tmp_path)


def test_detector_runs_once_per_image_for_checks_and_boxes(with_models: Path, shared_dir: Path, tmp_path: Path,
                                                            monkeypatch):
    """The image checks and the describer's vehicle boxes share one cached detector run."""
    from vehiclust.evidence.boxes import vehicle_boxes
    from vehiclust.quality import detect_vehicle_boxes

    vehicles = [sorted((shared_dir / "data" / "vehicles-zenodo" / c).glob("*.jpg"))[:2] for c in ("car", "truck")]
    paths = [str(p) for group in vehicles for p in group] + [str(shared_dir / "data" / "vehicles-udacity" / SCENES[0])]
    seen: list[str] = []
    original = VehicleDetector.confidence

    def counting(self, todo):
        seen.extend(todo)
        return original(self, todo)

    monkeypatch.setattr(VehicleDetector, "confidence", counting)
    cache = tmp_path / "cache"
    table = ImageChecker(["no_vehicle"], cache_dir=cache, progress=False).fit(paths).table_
    boxes = vehicle_boxes(paths[::-1], cache_dir=cache, progress=False)  # another order, same images
    again = detect_vehicle_boxes(paths[:2], cache_dir=cache, progress=False)
    assert sorted(seen) == sorted(paths)  # each image through the detector exactly once
    assert boxes.shape == (len(paths), 5)
    conf = ImageChecker(["no_vehicle"], cache_dir=cache, progress=False).fit(paths).properties_["vehicle_confidence"]
    boxes = boxes[::-1]  # back in the order of paths
    np.testing.assert_allclose(boxes[:, 0], conf.to_numpy())
    assert (boxes[:4, 0] > 0.8).all() and np.isfinite(boxes[:4, 1:]).all()
    assert ((boxes[:4, 1] < boxes[:4, 3]) & (boxes[:4, 2] < boxes[:4, 4])).all()  # x0 < x1, y0 < y1
    np.testing.assert_allclose(again.to_numpy(), boxes[:2])
    assert table["is_no_vehicle"].tolist() == [False] * 4 + [True]

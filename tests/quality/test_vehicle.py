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

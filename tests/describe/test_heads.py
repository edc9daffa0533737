"""Head tables → per-image words, whatever the column naming."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.describe import head_evidence
from vehiclust.evidence.head_models import merge_head_tables


@pytest.mark.parametrize("colour_cols, type_cols", [
    (["color_white", "color_gray", "color_red"], ["type_car", "type_van"]),
    (["colour:white", "colour:gray", "colour:red"], ["type:car", "type:van"]),
    (["vehicle_color_white_prob", "vehicle_color_gray_prob", "vehicle_color_red_prob"], ["vehicle_type_car_prob", "vehicle_type_van_prob"]),
])
def test_colour_and_type_columns_recognised(colour_cols, type_cols):
    t = pd.DataFrame([[ "a.jpg", 0.1, 0.7, 0.2, 0.9, 0.1], ["b.jpg", 0.8, 0.1, 0.1, 0.2, 0.8]],
                     columns=["path", *colour_cols, *type_cols])
    ev = head_evidence(t)
    assert ev["head_colour"].tolist() == ["grey", "white"]  # gray → grey
    assert ev["head_type"].tolist() == ["car", "van"]
    np.testing.assert_allclose(ev["head_type_prob"], [0.9, 0.8])


def test_imagenet_classes_map_to_type_words():
    t = pd.DataFrame({"path": ["a", "b", "c", "d"],
                      "imagenet_top1": ["trailer truck, tractor trailer, trucking rig, rig, articulated lorry, semi",
                                        "minibus", "tabby, tabby cat", ""],
                      "imagenet_top1_prob": [0.5, 0.4, 0.9, np.nan], "imagenet_vehicle_prob": [0.9, 0.8, 0.01, np.nan]})
    ev = head_evidence(t)
    assert ev["imagenet_class"].tolist() == ["trailer truck", "minibus", "tabby", ""]
    assert ev["imagenet_type"].tolist() == ["articulated lorry", "van or minibus", "", ""]


def test_missing_probabilities_give_no_word():
    t = pd.DataFrame({"path": ["a"], "color_white": [np.nan], "color_red": [np.nan]})
    assert head_evidence(t)["head_colour"].tolist() == [""]


def test_merge_two_models_on_path():
    va = pd.DataFrame({"path": ["a", "b"], "color_red": [0.9, 0.1], "color_blue": [0.1, 0.9]})
    im = pd.DataFrame({"path": ["b", "c"], "imagenet_top1": ["moving van", "pickup, pickup truck"]})
    m = merge_head_tables([va, im]).set_index("path")
    assert m.loc["b", "head_colour"] == "blue" and m.loc["b", "imagenet_type"] == "truck"  # a moving van is a lorry
    assert m.loc["c", "imagenet_type"] == "pickup" and m.loc["a", "head_colour"] == "red"


def test_type_mass_columns_read_and_not_taken_for_the_type_model():
    t = pd.DataFrame({"path": ["a"], "type_car": [0.9], "type_van": [0.1], "imagenet_mass:truck": [0.6],
                      "imagenet_mass:car": [0.1]})
    ev = head_evidence(t)
    assert ev.loc[0, "head_type"] == "car"
    assert ev.loc[0, "imagenet_mass:truck"] == pytest.approx(0.6)
    assert np.isnan(ev.loc[0, "imagenet_mass:pickup"])


def test_group_masses_sum_the_classes_of_each_type():
    from vehiclust.evidence.head_models import IMAGENET_GROUPS, MASS_PREFIX, group_masses
    from vehiclust.extract._imagenet import class_names

    names = class_names()
    probs = np.zeros((2, 1000), dtype=np.float32)
    probs[0, names.index("moving van")] = 0.3
    probs[0, names.index("tow truck")] = 0.2
    probs[0, names.index("tabby")] = 0.5
    probs[1, names.index("moped")] = 0.6
    probs[1, names.index("mountain bike")] = 0.4
    m = group_masses(probs)
    assert list(m.columns) == [MASS_PREFIX + g for g in IMAGENET_GROUPS]
    np.testing.assert_allclose(m[MASS_PREFIX + "truck"], [0.5, 0.0])
    np.testing.assert_allclose(m[MASS_PREFIX + "motorbike or bicycle"], [0.0, 1.0])
    np.testing.assert_allclose(m.sum(axis=1), [0.5, 1.0])


@pytest.mark.slow
def test_imagenet_heads_give_type_masses_and_nan_for_unreadable(shared_dir, tmp_path):
    pytest.importorskip("efficientnet_lite_pytorch")
    from vehiclust.describe import imagenet_heads
    from vehiclust.evidence.head_models import MASS_COLUMNS

    real = sorted((shared_dir / "data" / "vehicles-zenodo" / "juggernaut").glob("*.jpg"))[:2]
    if len(real) < 2:
        pytest.skip("vehicles-zenodo not present")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    t = imagenet_heads([str(real[0]), str(bad), str(real[1])], progress=False)
    assert list(t["path"]) == [str(real[0]), str(bad), str(real[1])]
    masses = t[MASS_COLUMNS].to_numpy()
    assert np.isnan(masses[1]).all()
    ok = masses[[0, 2]]
    assert (ok >= 0).all() and (ok.sum(axis=1) <= 1 + 1e-5).all()
    # the masses are the classifier's own probabilities: the top class's type holds at least its probability
    ev = head_evidence(t)
    for i in (0, 2):
        if ev.loc[i, "imagenet_type"]:
            assert t.loc[i, "imagenet_mass:" + ev.loc[i, "imagenet_type"]] >= t.loc[i, "imagenet_top1_prob"] - 1e-5

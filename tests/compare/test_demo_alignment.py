"""On the embedded demo (real Zenodo crops): sets trained for different things are told apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.compare import attribute_alignment, gather_attributes
from vehiclust.io import load_case
from vehiclust.prepare import DescriptorPreparer

from .conftest import kmeans_labels

SETS = ("vehicle-attributes", "mobilenet", "color-hist")


@pytest.fixture(scope="module")
def demo_alignment(demo_dir) -> pd.DataFrame:
    missing = [n for n in SETS if not (demo_dir / "descriptors" / f"{n}.pkl").exists()]
    heads = demo_dir / "heads" / "vehicle-attributes.csv"
    if missing or not heads.exists():
        pytest.skip(f"the demo lacks {missing or [heads.name]}")
    case = load_case({n: demo_dir / "descriptors" / f"{n}.pkl" for n in SETS}, demo_dir / "images_paths.csv",
                     labels=demo_dir / "labels.csv")
    labels = {}
    for name, raw in case.descriptors.items():
        X = DescriptorPreparer(whiten=False, n_components=32, random_state=0).fit_transform(np.asarray(raw))
        labels[name] = kmeans_labels(X, 6)
    attributes, kinds = gather_attributes(case.samples, heads={"va": heads}, measure_pixels=False)
    return attribute_alignment(labels, attributes, kinds)


def test_attribute_head_set_follows_colour_imagenet_set_follows_type(demo_alignment):
    t = demo_alignment
    assert {"label:type", "head:va:color", "head:va:type"} <= set(t.columns)
    # the colour/type classifier's features group by colour far more than ImageNet features do
    assert t.loc["vehicle-attributes", "head:va:color"] > 2 * t.loc["mobilenet", "head:va:color"]
    # ImageNet features group by the true vehicle type far more than the colour features
    assert t.loc["mobilenet", "label:type"] > 2 * t.loc["vehicle-attributes", "label:type"]
    assert t.loc["mobilenet", "label:type"] > 2 * t.loc["color-hist", "label:type"]

"""ClusterDescriber end to end on synthetic crops, the embedded demo and real colour photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vehiclust.describe import ClusterDescriber, EvidenceCache, describe_clusters, describe_run
from vehiclust.exceptions import InputError
from vehiclust.results import DescriptorRun


def test_colours_named_from_pixels(crops):
    paths, labels, X = crops
    d = ClusterDescriber(run_heads=False, random_state=0, progress=False).fit(labels, X, paths=paths)
    t = d.clusters_.set_index("cluster")
    assert t.loc[0, "colour"] == "red" and t.loc[1, "colour"] == "blue" and t.loc[2, "colour"] == "white"
    assert list(d.clusters_.columns[:6]) == ["cluster", "size", "share", "cluster_name", "description", "strength"]
    assert (t["size"] == 12).all() and t["share"].sum() == pytest.approx(1.0, abs=1e-5)
    assert t["nearest_cluster"].isin([0, 1, 2]).all()
    assert all(t["description"].str.len() > 20)


def test_same_seed_same_table(crops):
    paths, labels, X = crops
    a = describe_clusters(labels, X, paths=paths, run_heads=False, random_state=1, n_images=5, progress=False)
    b = describe_clusters(labels, X, paths=paths, run_heads=False, random_state=1, n_images=5, progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_unassigned_rows_and_unreadable_images(crops, tmp_path):
    paths, labels, X = crops
    labels = labels.copy()
    labels[:3] = -1
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    paths = list(paths)
    paths[5] = str(bad)
    paths[6] = ""
    d = ClusterDescriber(run_heads=False, random_state=0, progress=False).fit(labels, X, paths=paths)
    assert sorted(d.clusters_["cluster"]) == [0, 1, 2]
    assert d.clusters_.set_index("cluster").loc[0, "size"] == 9
    assert d.clusters_.set_index("cluster").loc[0, "colour"] == "red"


def test_no_images_no_descriptors_still_describes():
    labels = np.array([0, 0, 1, 1, 1, -1])
    table = describe_clusters(labels)
    assert len(table) == 2 and table["description"].str.contains("rows").all()


def test_labels_and_head_tables_without_images():
    labels = np.array([0, 0, 0, 1, 1, 1])
    keys = [f"img/{i}.jpg" for i in range(6)]
    heads = pd.DataFrame({"path": keys, "color_white": [.9, .8, .9, .1, .1, .2], "color_red": [.1, .2, .1, .9, .9, .8],
                          "type_van": [.9, .9, .2, .1, .1, .1], "type_car": [.1, .1, .8, .9, .9, .9]})
    lab = pd.DataFrame({"type": ["van", "van", "car", "car", "car", "car"]})
    t = describe_clusters(labels, keys=keys, head_tables={"va": heads}, label_table=lab, random_state=0).set_index("cluster")
    assert t.loc[0, "cluster_name"] == "white vans" and t.loc[1, "cluster_name"] == "red cars"
    assert t.loc[0, "label_type"] == "van 67%, car 33%"


@pytest.mark.parametrize("kwargs, match", [
    ({"paths": ["a"]}, "paths has 1 rows"),
    ({"label_table": pd.DataFrame({"x": [1]})}, "label_table has 1 rows"),
])
def test_length_mismatch(kwargs, match):
    with pytest.raises(InputError, match=match):
        ClusterDescriber().fit(np.array([0, 1, 1]), **kwargs)


def test_bad_labels_and_params():
    with pytest.raises(InputError, match="1-D integer"):
        ClusterDescriber().fit(np.array([0.5, 1.0]))
    with pytest.raises(InputError, match="'n_images'"):
        ClusterDescriber(n_images=0).fit(np.array([0, 1]))


def test_galleries_and_outlier_gallery(crops, tmp_path):
    paths, labels, X = crops
    d = ClusterDescriber(run_heads=False, random_state=0, progress=False).fit(labels, X, paths=paths)
    outliers = pd.DataFrame({"is_outlier": np.arange(36) % 7 == 0, "outlier_score": np.linspace(0, 1, 36),
                             "outlier_reasons": np.where(np.arange(36) % 2 == 0, "dark;blurry", "far_from_data")})
    written = d.write_galleries(tmp_path / "g", outliers=outliers)
    assert set(written) == {"gallery_cluster_0", "gallery_cluster_1", "gallery_cluster_2", "gallery_outliers"}
    im = Image.open(written["gallery_cluster_0"])
    assert im.width > 300 and im.height > 3 * 80


def test_describe_run_sets_clusters_and_relative_artifacts(crops, tmp_path):
    paths, labels, X = crops
    samples = pd.DataFrame({"path": [Path(p).name for p in paths], "resolved": paths,
                            "colour": np.array(["red", "blue", "white"])[labels]})
    run = DescriptorRun(name="color-hist", labels=labels, selection=pd.DataFrame(), chosen={})
    heads = tmp_path / "heads.csv"
    pd.DataFrame({"path": samples["path"], "color_red": (labels == 0).astype(float)}).to_csv(heads, index=False)
    describe_run(run, X, np.ones(len(labels), bool), samples, tmp_path / "run", images=True,
                 head_files={"va": heads}, random_state=0, cache=EvidenceCache(), progress=False, run_heads=False)
    assert run.clusters is not None and len(run.clusters) == 3
    assert run.cluster_names()[0] == "red"
    assert run.artifacts["gallery_cluster_1"] == "descriptors/color-hist/galleries/cluster_1.png"
    assert (tmp_path / "run" / run.artifacts["gallery_cluster_1"]).exists()
    assert "label_colour" in run.clusters


def test_demo_every_cluster_described(demo_dir):
    from sklearn.cluster import KMeans

    from vehiclust.io.descriptors import load_descriptors

    paths = pd.read_csv(demo_dir / "images_paths.csv")["paths"].str.replace("\\", "/", regex=False)
    X = np.asarray(load_descriptors(demo_dir / "descriptors" / "color-hist.pkl"), dtype=np.float32)
    labels = KMeans(6, n_init=2, random_state=0).fit_predict(X)
    files = [str(demo_dir / p) for p in paths]
    t = describe_clusters(labels, X, paths=files, n_images=12, run_heads=False, random_state=0, progress=False)
    assert len(t) == 6 and t["description"].str.len().gt(30).all() and t["cluster_name"].str.len().gt(0).all()
    # 12 sampled images per cluster; up to 4 x 12 where the leading colours tie
    assert t["n_images"].between(12, 48).all() and (t["n_images"] == 12).any()


@pytest.mark.parametrize("colour", ["red", "blue", "yellow", "white", "black"])
def test_real_colour_photos(shared_dir, colour):
    """Real web photos of one colour, 16 of them: the cluster's colour word is that colour."""
    files = sorted((shared_dir / "data" / "vehicle-colors" / "train" / colour).glob("*.jpg"))[:16]
    if len(files) < 16:
        pytest.skip("vehicle-colors not complete")
    t = describe_clusters(np.zeros(16, dtype=np.int64), paths=[str(f) for f in files], run_heads=False, random_state=0, progress=False)
    assert t.loc[0, "colour"] == colour


@pytest.mark.slow
def test_real_models_name_zenodo_types(shared_dir):
    """Real traffic crops, six pure clusters of 20, no labels: the models run on them and name
    five types; ImageNet has no word for these pickups, so that cluster must not get another."""
    pytest.importorskip("efficientnet_lite_pytorch")
    root = shared_dir / "data" / "vehicles-zenodo"
    kinds = {"bike": "motorbike or bicycle", "car": "car", "juggernaut": "articulated lorry",
             "minibus": "van or minibus", "pickup": "", "truck": "truck"}
    rng = np.random.default_rng(0)
    files, labels = [], []
    for c, kind in enumerate(kinds):
        found = sorted((root / kind).glob("*.jpg"))
        if len(found) < 20:
            pytest.skip("vehicles-zenodo not complete")
        files += [str(found[i]) for i in sorted(rng.choice(len(found), 20, replace=False))]
        labels += [c] * 20
    d = ClusterDescriber(weights=shared_dir / "models", random_state=0, progress=False).fit(np.array(labels), paths=files)
    t = d.clusters_.set_index("cluster")
    assert t["type"].tolist() == list(kinds.values())
    assert t["type_source"].eq("ImageNet classifier").all()
    assert d.image_evidence_["imagenet_mass:truck"].between(0, 1).all()
    assert "of the ImageNet classifier's vehicle-type probability" in t.loc[5, "details"]  # the numbers, folded away
    assert "ImageNet" not in t.loc[5, "description"]  # the sentence itself is plain
    # pickups: no model gives them evidence, so the name claims no type (colour words only, or "mixed")
    assert not any(w in t.loc[4, "cluster_name"] for w in ("car", "truck", "lorr", "van", "motorbike", "bus"))

"""clusters.csv joins back to the user's images_paths.csv: on `path` exactly and on `row`."""

import numpy as np
import pandas as pd

from vehiclust.config import RunConfig
from vehiclust.pipeline import run


def test_clusters_csv_joins_back_to_the_demo_paths(demo_dir, tmp_path):
    """The demo's paths are Windows-style (images\\bike\\bike12.jpg): the join must not need them rewritten."""
    given = pd.read_csv(demo_dir / "images_paths.csv", dtype=str, keep_default_na=False)
    assert given["paths"].str.contains("\\", regex=False).all()
    out = tmp_path / "out"
    run(RunConfig(descriptors={"va": demo_dir / "descriptors" / "vehicle-attributes.pkl"},
                  paths=demo_dir / "images_paths.csv", out=out, families=("kmeans",), k_min=2, k_max=6,
                  progress=False, notebook=False, html=False))
    clusters = pd.read_csv(out / "clusters.csv", dtype={"path": str}, keep_default_na=False)
    assert len(clusters) == len(given)
    on_path = given.merge(clusters, left_on="paths", right_on="path", how="left", validate="one_to_one")
    assert on_path["cluster"].notna().all()
    assert (on_path["row"].to_numpy() == np.arange(len(given))).all()
    on_row = given.reset_index(names="row").merge(clusters, on="row", validate="one_to_one")
    assert (on_row["paths"] == on_row["path"]).all()
    assert (on_row["path_normalised"] == on_row["paths"].str.replace("\\", "/", regex=False)).all()
    per_set = pd.read_csv(out / "descriptors" / "va" / "clusters.csv", dtype={"path": str}, keep_default_na=False)
    assert (per_set["path"] == given["paths"]).all()

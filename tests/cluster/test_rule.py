from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vehiclust.cluster._rule import REPLICATE_COLUMNS, choose_configuration, elbow, tolerant_rank


def _kfamily(name, ks, r2, sil_x=0.05, db_x=0.2, stability=0.8, start=0):
    return pd.DataFrame({
        "config_id": np.arange(start, start + len(ks)), "family": name, "params": [f"k={k}" for k in ks],
        "k": np.asarray(ks, float), "n_clusters": ks, "noise_share": 0.0,
        "calinski_harabasz": 100.0, "davies_bouldin": 1.0, "silhouette_sample": 0.2,
        "silhouette_excess": sil_x, "davies_bouldin_excess": db_x, "calinski_harabasz_excess": 1.0,
        "stability": stability, "explained_variance": r2,
    })


def test_elbow_finds_the_knee_of_a_saturating_curve():
    ks = np.arange(2, 21)
    r2 = np.minimum(ks, 6) / 6 * 0.8 + ks * 0.002
    assert elbow(ks, r2)[0] == 6
    assert elbow(ks, r2)[1] > 0.3
    k, height = elbow(ks, 0.01 * ks)  # a straight line has no knee
    assert height < 0.05


def test_elbow_at_two_is_visible_when_grid_starts_at_two():
    ks = np.arange(2, 11)
    assert elbow(ks, 0.9 + 0.001 * ks)[0] == 2
    # a grid starting higher is taken as given: its first point is not a knee by default
    ks = np.arange(4, 11)
    assert elbow(ks, np.minimum(ks, 7) / 7)[0] == 7


def test_chosen_is_the_elbow_not_the_best_raw_index():
    ks = list(range(2, 16))
    r2 = [min(k, 8) / 8 * 0.7 + 0.001 * k for k in ks]
    t = _kfamily("kmeans", ks, r2, sil_x=[0.1 - 0.005 * k for k in ks])
    t.loc[t.k == 2, "silhouette_sample"] = 0.9  # raw silhouette would pick k=2
    out, cid, note = choose_configuration(t, k_min=2, k_max=15)
    assert out.loc[out.chosen, "k"].item() == 8 and note == ""
    assert out["elbow"].sum() == 1 and out["chosen"].sum() == 1


def test_density_configs_below_the_elbow_do_not_compete():
    ks = list(range(2, 12))
    t = _kfamily("kmeans", ks, [min(k, 6) / 6 * 0.7 for k in ks], sil_x=0.01, db_x=0.1, stability=0.6)
    dens = _kfamily("hdbscan", [2, 7], [0.3, 0.7], sil_x=0.2, db_x=0.5, stability=0.99, start=100)
    dens["k"] = np.nan
    out, cid, _ = choose_configuration(pd.concat([t, dens], ignore_index=True), k_min=2, k_max=11)
    cand = out[out.candidate]
    assert set(cand.family) == {"kmeans", "hdbscan"}
    assert (cand.loc[cand.family == "hdbscan", "n_clusters"] >= 6).all()
    assert out.loc[out.chosen, "family"].item() == "hdbscan" and out.loc[out.chosen, "n_clusters"].item() == 7


def test_configurations_below_the_reference_are_not_eligible():
    ks = list(range(2, 10))
    t = _kfamily("kmeans", ks, [min(k, 5) / 5 for k in ks])
    t.loc[t.k == 5, "silhouette_excess"] = -0.01
    out, _, _ = choose_configuration(t, k_min=2, k_max=9)
    assert not out.loc[out.k == 5, "eligible"].item()
    assert out.loc[out.chosen, "k"].item() in (4, 6)
    # the same for Davies-Bouldin: a 2-cluster mixture with a high silhouette but clusters that
    # overlap more than a split of structureless data does (seen on sqrt-whitened hog, NMI 0.05)
    t = _kfamily("kmeans", ks, [min(k, 5) / 5 for k in ks], sil_x=0.02, stability=0.6)
    t.loc[t.k == 5, ["silhouette_excess", "stability", "davies_bouldin_excess"]] = [0.3, 0.99, -0.5]
    out, _, _ = choose_configuration(t, k_min=2, k_max=9)
    assert not out.loc[out.k == 5, "eligible"].item()
    assert out.loc[out.chosen, "k"].item() in (4, 6)


def test_stability_floor_dropped_with_a_note():
    ks = list(range(2, 8))
    t = _kfamily("kmeans", ks, [min(k, 4) / 4 for k in ks], stability=0.1)
    out, _, note = choose_configuration(t, k_min=2, k_max=7, stability_floor=0.5)
    assert "floor dropped" in note and out["eligible"].all()


def test_without_reference_columns_raw_indices_are_ranked():
    ks = list(range(2, 8))
    t = _kfamily("kmeans", ks, [min(k, 4) / 4 for k in ks]).drop(
        columns=["silhouette_excess", "davies_bouldin_excess", "calinski_harabasz_excess", "explained_variance"])
    t["silhouette_sample"] = [0.1, 0.2, 0.6, 0.3, 0.2, 0.1]
    t["davies_bouldin"] = [2.0, 1.5, 0.5, 1.0, 1.5, 2.0]
    t["calinski_harabasz"] = [10, 20, 90, 30, 20, 10]
    out, _, note = choose_configuration(t, k_min=2, k_max=7)
    assert out.loc[out.chosen, "k"].item() == 4 and "raw indices" in note


@pytest.mark.parametrize("k_true, side", [(2, "lower"), (7, "upper")])
def test_boundary_choices_are_noted(k_true, side):
    ks = list(range(2, 8))
    # R² grows linearly: no elbow, so the family's best-scored k is taken (with a note)
    t = _kfamily("kmeans", ks, [0.05 * (k - 1) for k in ks], sil_x=[0.2 if k == k_true else 0.01 for k in ks])
    out, _, note = choose_configuration(t, k_min=2, k_max=7)
    assert out.loc[out.chosen, "k"].item() == k_true
    assert "no clear elbow" in note
    assert f"{side} boundary" in note and out.loc[out.chosen, "note"].item() == note


def test_a_few_giant_clusters_solution_is_not_eligible():
    # a mixture whose R² elbow is a 90 % cluster plus crumbs must lose to a balanced k-means,
    # even with a higher silhouette excess and stability (the vehicle-attributes failure)
    ks = list(range(2, 12))
    km = _kfamily("kmeans", ks, [min(k, 6) / 6 * 0.7 for k in ks], sil_x=0.03, db_x=0.1, stability=0.6)
    km["size_balance"] = 0.95
    gm = _kfamily("gmm", ks, [min(k, 4) / 4 * 0.3 for k in ks], sil_x=0.08, db_x=0.3, stability=0.9, start=100)
    gm["size_balance"] = 0.3
    out, _, note = choose_configuration(pd.concat([km, gm], ignore_index=True), k_min=2, k_max=11)
    assert not out.loc[out.family == "gmm", "eligible"].any()
    assert out.loc[out.chosen, "family"].item() == "kmeans" and out.loc[out.chosen, "k"].item() == 6
    assert note == ""
    # when nothing is balanced the floor is dropped, with a note
    out, _, note = choose_configuration(gm, k_min=2, k_max=11)
    assert out.loc[out.chosen, "k"].item() == 4 and "size-balance floor" in note


def test_consensus_replaces_kmeans_at_the_chosen_k():
    ks = list(range(2, 14))
    r2 = [min(k, 6) / 6 * 0.7 + 0.001 * k for k in ks]
    km = _kfamily("kmeans", ks, r2, sil_x=0.08)
    # the consensus is less compact than k-means at every k and its own knee would be k=3:
    # it must neither win on its own nor move k, only replace k-means' labels at k=6
    eac = _kfamily("eac", ks, [min(k, 3) / 3 * 0.7 for k in ks], sil_x=0.05, start=100)
    out, cid, note = choose_configuration(pd.concat([km, eac], ignore_index=True), k_min=2, k_max=13)
    chosen = out.loc[out.chosen].iloc[0]
    assert (chosen["family"], chosen["k"]) == ("eac", 6) and cid == chosen["config_id"]
    assert "consensus (eac) of the kmeans runs at the chosen k=6" in note
    # the consensus at k-means' elbow is the candidate in k-means' place
    assert out.loc[out.candidate, ["family", "k"]].values.tolist() == [["eac", 6]]
    assert out.loc[out.chosen, "rank"].item() == 1
    assert out.loc[(out.family == "kmeans") & (out.k == 6), "rank"].item() == 2


def test_consensus_competes_on_its_own_scores_not_the_kmeans_run_it_replaces():
    ks = list(range(2, 14))
    r2 = [min(k, 6) / 6 * 0.7 + 0.001 * k for k in ks]
    km = _kfamily("kmeans", ks, r2, sil_x=0.08, db_x=0.3, stability=0.8)  # beats the mixture
    eac = _kfamily("eac", ks, r2, sil_x=0.02, db_x=0.1, stability=0.6, start=100)  # loses to it
    gm = _kfamily("gmm", ks, r2, sil_x=0.05, db_x=0.2, stability=0.7, start=200)
    out, _, note = choose_configuration(pd.concat([km, eac, gm], ignore_index=True), k_min=2, k_max=13)
    assert set(out.loc[out.candidate, "family"]) == {"eac", "gmm"}
    assert out.loc[out.chosen, "family"].item() == "gmm" and "consensus" not in note


def test_ineligible_consensus_leaves_kmeans_chosen():
    ks = list(range(2, 14))
    r2 = [min(k, 6) / 6 * 0.7 + 0.001 * k for k in ks]
    km = _kfamily("kmeans", ks, r2)
    eac = _kfamily("eac", ks, r2, sil_x=-0.01, start=100)  # worse than structureless data
    out, _, note = choose_configuration(pd.concat([km, eac], ignore_index=True), k_min=2, k_max=13)
    assert out.loc[out.chosen, "family"].item() == "kmeans" and "consensus" not in note


def test_consensus_alone_competes_with_its_own_elbow():
    ks = list(range(2, 14))
    eac = _kfamily("eac", ks, [min(k, 5) / 5 * 0.7 + 0.001 * k for k in ks])
    out, _, note = choose_configuration(eac, k_min=2, k_max=13)
    assert out.loc[out.chosen, "k"].item() == 5 and "consensus" not in note


def test_tolerant_rank_is_the_percentile_rank_without_uncertainty():
    v = pd.Series([0.3, 0.1, np.nan, 0.3, 0.2])
    pd.testing.assert_series_equal(tolerant_rank(v), v.rank(pct=True))
    # a difference within the interval of the difference is a tie, a larger one is not
    v = pd.Series([0.30, 0.29, 0.10, np.nan])
    r = tolerant_rank(v, pd.Series([0.01, 0.01, 0.01, 0.01]))
    assert r[0] == r[1] == 2.5 / 3 and r[2] == 1 / 3 and np.isnan(r[3])
    assert tolerant_rank(v, pd.Series([0.001] * 4))[0] == 1.0


def _with_ci(frame, half):
    return frame.assign(silhouette_ci_low=frame["silhouette_sample"] - half,
                        silhouette_ci_high=frame["silhouette_sample"] + half)


def test_a_silhouette_edge_inside_its_confidence_interval_does_not_decide():
    # the candidates of the MobileNet run (Zenodo 4,800, seed 2): k-means' run is ahead on the
    # silhouette by 0.0024 with half-widths of 0.0024, Leiden far ahead on DB and stability
    ks = list(range(2, 20))
    def fam(name, knee, sil_x, half, db_x, stab, start):
        r2 = [min(k, knee) / knee * 0.7 + 0.001 * k for k in ks]
        f = _kfamily(name, ks, r2, sil_x=sil_x, db_x=db_x, stability=stab, start=start)
        return _with_ci(f.assign(silhouette_sample=0.05 + f["silhouette_excess"]), half)
    leiden = _with_ci(pd.DataFrame({
        "config_id": [300], "family": "leiden", "params": "resolution=0.4", "k": np.nan, "n_clusters": 13,
        "noise_share": 0.0, "calinski_harabasz": 100.0, "davies_bouldin": 1.0, "silhouette_sample": 0.0808,
        "silhouette_excess": 0.0308, "davies_bouldin_excess": 0.372, "calinski_harabasz_excess": 1.0,
        "stability": 0.784, "explained_variance": 0.2}), 0.0024)
    table = pd.concat([fam("kmeans", 12, 0.0332, 0.0024, 0.314, 0.576, 0), fam("ward", 8, 0.0309, 0.0020, 0.237, 0.567, 100),
                       fam("gmm", 14, 0.0256, 0.0035, 0.256, 0.520, 200), leiden], ignore_index=True)
    out, _, _ = choose_configuration(table, k_min=2, k_max=19)
    assert set(out.loc[out.candidate, "family"]) == {"kmeans", "ward", "gmm", "leiden"}
    assert out.loc[out.chosen, "family"].item() == "leiden"
    # ranked on the bare estimates (no interval), the silhouette edge ties the scores and breaks the tie
    bare = table.drop(columns=["silhouette_ci_low", "silhouette_ci_high"])
    out, _, _ = choose_configuration(bare, k_min=2, k_max=19)
    assert out.loc[out.chosen, "family"].item() == "kmeans"


def test_a_family_without_an_elbow_breaks_score_ties_like_step_4():
    # planted-like Leiden sweep: every resolution finds the same 20 groups (flat R², no knee);
    # the silhouettes differ within their interval and every other figure is equal: they are the
    # same partition as far as the rule can tell, and the middle of that plateau is taken, not the
    # first resolution of the grid (nor the one whose silhouette is ahead inside its interval)
    res = [0.1, 0.2, 0.5, 1.0, 2.0]
    sil_x = [0.2000, 0.2002, 0.2002, 0.2021, 0.2015]
    t = pd.DataFrame({
        "config_id": range(5), "family": "leiden", "params": [f"resolution={r}" for r in res], "k": np.nan,
        "n_clusters": 20, "noise_share": 0.0, "calinski_harabasz": 100.0, "davies_bouldin": 1.0,
        "silhouette_sample": [0.23 + s - 0.2 for s in sil_x], "silhouette_excess": sil_x,
        "davies_bouldin_excess": 0.67, "calinski_harabasz_excess": 1.0, "stability": 0.99, "explained_variance": 0.5})
    t = _with_ci(t, 0.0035)
    out, _, note = choose_configuration(t, k_min=2, k_max=40)
    assert "no clear elbow" in note
    assert out.loc[out.chosen, "params"].item() == "resolution=0.5"
    # a silhouette ahead beyond its interval does decide
    t.loc[3, ["silhouette_excess", "silhouette_sample"]] += 0.01
    out, _, _ = choose_configuration(t, k_min=2, k_max=40)
    assert out.loc[out.chosen, "params"].item() == "resolution=1.0"


def _leiden(res, counts, r2, sil_x, db_x, start=0):
    return _with_ci(pd.DataFrame({
        "config_id": np.arange(start, start + len(res)), "family": "leiden",
        "params": [f"resolution={r}" for r in res], "k": np.nan, "n_clusters": counts, "noise_share": 0.0,
        "calinski_harabasz": 100.0, "davies_bouldin": 1.0, "silhouette_sample": [0.03 + s for s in sil_x],
        "silhouette_excess": sil_x, "davies_bouldin_excess": db_x, "calinski_harabasz_excess": 1.0,
        "stability": 0.9, "explained_variance": r2}), 0.0035)


def test_identical_partitions_at_neighbouring_resolutions_give_the_middle_one():
    # the case's screen sample (session 4): 0.1-0.7 give the same 20 groups, 1.0 a slightly different
    # partition; the rule must not take the lowest resolution of the plateau (next to a merge)
    res = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5]
    t = _leiden(res, [20] * 8, [0.5] * 6 + [0.5001, 0.4999], [0.2] * 6 + [0.2019, 0.15],
                [0.67] * 6 + [0.6694, 0.5])
    out, _, note = choose_configuration(t, k_min=2, k_max=40)
    assert "no clear elbow" in note
    assert out.loc[out.chosen, "params"].item() == "resolution=0.4"
    # the plateau is only what the rule sees as the same partition: a resolution that differs stays apart
    t.loc[2, "davies_bouldin_excess"] = 0.671
    out, _, _ = choose_configuration(t, k_min=2, k_max=40)
    assert out.loc[out.chosen, "params"].item() == "resolution=0.3"


def test_resolutions_at_the_knee_count_go_to_the_best_scored_then_the_plateau_middle():
    res = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0]
    counts = [3, 6, 6, 6, 9, 12, 16, 20, 24]
    r2 = [0.30, 0.60, 0.61, 0.62, 0.64, 0.66, 0.68, 0.70, 0.72]
    t = _leiden(res, counts, r2, [0.05] * 9, [0.3] * 9)
    out, _, _ = choose_configuration(t, k_min=2, k_max=40)  # 0.2-0.4 tie on every figure: the middle
    assert out.loc[out.elbow, "params"].item() == "resolution=0.3"
    assert out.loc[out.chosen, "params"].item() == "resolution=0.3"
    # OSNet on the Zenodo crops (seed 0): 0.2 and 0.3 both find 6 communities, 0.2 with the better
    # Davies-Bouldin excess (silhouettes and scores tied): the knee's count goes to the best-scored
    t.loc[1, "davies_bouldin_excess"] = 0.38
    t.loc[2, "davies_bouldin_excess"] = 0.29
    t.loc[2, "stability"] = 0.95
    out, _, _ = choose_configuration(t, k_min=2, k_max=40)
    assert out.loc[out.elbow, "params"].item() == "resolution=0.2"


def _with_replicates(t, counts, r2):
    t = t.copy()
    for i, (c, r) in enumerate(zip(counts, r2), start=1):
        t[REPLICATE_COLUMNS[0] % i], t[REPLICATE_COLUMNS[1] % i] = c, r
    return t


def test_a_broad_knee_goes_to_the_best_scored_count_within_the_seed_to_seed_spread():
    # MobileNet on the Zenodo crops (seed 0): the R² knee at 11 communities, 14 nearly as high
    # (0.348 vs 0.336 above the chord), 14 ahead on Davies-Bouldin, silhouettes tied
    res = [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0]
    counts = [4, 8, 11, 13, 14, 16, 19, 25, 28, 39]
    r2 = [0.102, 0.144, 0.189, 0.197, 0.210, 0.221, 0.233, 0.267, 0.280, 0.310]
    db_x = [0.35, 0.48, 0.376, 0.37, 0.396, 0.36, 0.36, 0.34, 0.30, 0.25]
    t = _leiden(res, counts, r2, [0.03] * 10, db_x)
    out, _, _ = choose_configuration(t, k_min=2, k_max=40)
    assert out.loc[out.chosen, "n_clusters"].item() == 11  # no replicates: the knee itself
    # other Leiden seeds that give the same curve: the knee is sharp, 11 stays
    same = _with_replicates(t, [counts] * 4, [r2] * 4)
    out, _, _ = choose_configuration(same, k_min=2, k_max=40)
    assert out.loc[out.chosen, "n_clusters"].item() == 11
    # a seed whose curve has its knee at 14 (as seed 3 of 4 did on the real crops): 11-14 are one
    # broad knee, and 14 is the best-scored of it
    other = list(r2)
    other[3:5] = [0.205, 0.222]
    spread = _with_replicates(t, [counts] * 4, [r2, r2, other, r2])
    out, _, _ = choose_configuration(spread, k_min=2, k_max=40)
    assert out.loc[out.chosen, "n_clusters"].item() == 14
    assert out.loc[out.elbow, "n_clusters"].item() == 14

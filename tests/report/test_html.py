"""report.html without a browser: escaping, offline-ness, sampling, absent stages, determinism."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vehiclust.report import _mapfig, _media, write_html_report
from vehiclust.report.html import FILES_DIR, esc, script_json
from vehiclust.results import DescriptorRun, RunResults

XSS_NAME = "<img src=x onerror=alert(1)>.jpg"
HOSTILE = [
    XSS_NAME,
    "</script><script>alert(1)</script>",
    "<!-- x --> & \u2028 \u2029 ' \"",
    "images\\car\\a b (1).jpg",
]


def _scripts_removed(text: str) -> str:
    return re.sub(r"<script\b[^>]*>.*?</script>", "", text, flags=re.S)


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_survives_script_context(text: str) -> None:
    encoded = script_json({"p": text, "list": [text]})
    assert "<" not in encoded and ">" not in encoded and "&" not in encoded
    assert "\u2028" not in encoded and "\u2029" not in encoded
    assert json.loads(encoded) == {"p": text, "list": [text]}


@pytest.mark.parametrize("text", HOSTILE)
def test_esc_leaves_no_markup(text: str) -> None:
    out = esc(text)
    assert "<" not in out and ">" not in out and "'" not in out and '"' not in out


def _figure(html_text: str, div: str) -> dict:
    match = re.search(rf"<script type='application/json' id='{div}-data'>(.*?)</script>", html_text, flags=re.S)
    assert match, div
    return json.loads(match.group(1))


def _json_block(html_text: str, block: str):
    match = re.search(rf"<script type='application/json' id='{block}'>(.*?)</script>", html_text, flags=re.S)
    assert match, block
    return json.loads(match.group(1))


def _n_points(trace: dict) -> int:
    x = trace.get("x")
    if isinstance(x, dict):  # plotly's typed-array encoding
        import base64
        return len(base64.b64decode(x["bdata"])) // np.dtype(x["dtype"]).itemsize
    return len(x)


def test_big_run_draws_a_sample_over_a_density_layer(tmp_path: Path, synthetic) -> None:
    results = synthetic(30_000, 7)
    out = write_html_report(results, tmp_path, max_points=2_000, max_points_3d=800)
    text = out.read_text()
    fig2 = _figure(text, "map2d")
    kinds = [t["type"] for t in fig2["data"]]
    assert kinds[0] == "heatmap"
    drawn = sum(_n_points(t) for t in fig2["data"][1:] if t.get("name") != "outliers")
    assert drawn <= 2_000
    legend = [t["name"] for t in fig2["data"] if t.get("showlegend", True) and t["type"] != "heatmap"]
    assert sum(name.startswith(tuple(f"{c}: group" for c in range(7))) for name in legend) == 7
    fig3 = _figure(text, "map3d")
    density3 = [t for t in fig3["data"] if str(t.get("name", "")).startswith("density of all 30,000")]
    assert len(density3) == 1 and density3[0]["showlegend"] is False  # every row, beneath the sample
    assert 0 < _n_points(density3[0]) <= 36**3
    assert sum(_n_points(t) for t in fig3["data"] if t.get("name") != "outliers" and t not in density3) <= 800
    assert len(text) < 8_000_000


def test_sample_is_seeded_and_keeps_every_cluster(synthetic) -> None:
    results = synthetic(20_000, 12)
    run = results.descriptors["osnet"]
    a = _media.map_sample(run, run.coords_2d, 1_000, random_state=3)
    b = _media.map_sample(run, run.coords_2d, 1_000, random_state=3)
    c = _media.map_sample(run, run.coords_2d, 1_000, random_state=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert len(a) <= 1_000
    assert set(np.unique(run.labels[a])) >= set(range(12))


@pytest.mark.parametrize("coords,outliers,table", [(False, False, False), (True, False, False), (False, True, True)])
def test_absent_stages_are_skipped_cleanly(tmp_path: Path, coords: bool, outliers: bool, table: bool, synthetic) -> None:
    results = synthetic(300, 3, coords=coords, outliers=outliers, clusters_table=table)
    text = write_html_report(results, tmp_path).read_text()
    assert ("no map coordinates" in text) is (not coords)
    assert text.count("<section class='cluster'") == 3
    assert "No comparison in this run." in text


def test_hostile_names_are_escaped_everywhere(tmp_path: Path, synthetic) -> None:
    results = synthetic(200, 3, names=HOSTILE[:3])
    results.samples.loc[0, "path"] = XSS_NAME
    results.best_reason = HOSTILE[1]
    text = write_html_report(results, tmp_path).read_text()
    outside = _scripts_removed(text)
    assert "<img src=x" not in text
    assert "<script>alert(1)" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in outside
    # the JSON blocks decode back to the names, which plotly shows as text
    legend = [t["name"] for t in _figure(text, "map2d")["data"]]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in name for name in legend)


def test_single_cluster_and_one_row(tmp_path: Path, synthetic) -> None:
    results = synthetic(1, 1)
    results.descriptors["osnet"].labels[:] = 0
    results.descriptors["osnet"].outliers.loc[:, "is_outlier"] = False
    text = write_html_report(results, tmp_path).read_text()
    assert text.count("<section class='cluster'") == 1


def test_report_of_the_real_run(report_run: Path) -> None:
    text = (report_run / "report.html").read_text()
    outside = _scripts_removed(text)
    # offline: every src/href outside scripts is a data: URI, a fragment or a relative file
    for attr in re.findall(r"(?:src|href)='([^']*)'", outside):
        assert attr.startswith(("data:", "#", FILES_DIR)) or not re.match(r"^[a-z]+:", attr), attr
    assert "<img src=x" not in text
    results = RunResults.load(report_run)
    probe_row = int(np.flatnonzero(results.samples["path"].str.endswith(XSS_NAME))[0])
    shown = {int(r) for r in re.findall(r"<figure class='thumb' data-row='(\d+)'", outside)}
    assert (esc(XSS_NAME) in outside) is (probe_row in shown)
    if "id='rowinfo'" in text:
        info = json.loads(re.search(r"<script type='application/json' id='rowinfo'>(.*?)</script>", text, re.S).group(1))
        assert info["p"][info["rows"].index(probe_row)].endswith(XSS_NAME)
    best = results.descriptors[results.best]
    assert outside.count("<section class='cluster'") == len(_media.cluster_ids(best))
    # every picture in the galleries is an embedded WebP thumbnail, stored once in the page
    rows = re.findall(r"<figure class='thumb'[^>]*><img data-thumb='(\d+)'", outside)
    table = _json_block(text, "thumbs")
    assert rows and all(table[r].startswith("data:image/webp;base64,") for r in rows)
    assert all(text.count(src) == 1 for src in table.values())


def test_rewriting_is_byte_identical_and_large_runs_use_a_folder(report_run: Path, tmp_path: Path) -> None:
    results = RunResults.load(report_run)
    first = write_html_report(results, tmp_path / "a").read_bytes()
    second = write_html_report(results, tmp_path / "a").read_bytes()
    assert first == second
    out = write_html_report(results, tmp_path / "b", embed_limit=5)
    files = sorted((tmp_path / "b" / FILES_DIR / "thumbs").glob("*.webp"))
    assert len(files) > 5
    text = out.read_text()
    assert f"src='{FILES_DIR}/thumbs/{files[0].name}'" in text or f"{FILES_DIR}/thumbs/{files[0].name}" in text


@pytest.mark.parametrize(
    "selection,chosen,expected",
    [
        (pd.DataFrame({"family": ["kmeans", "gmm"], "k": [3, 3], "chosen": [False, True]}), {}, 1),
        (pd.DataFrame({"family": ["kmeans", "gmm", "kmeans"], "k": [2, 3, 3]}), {"family": "kmeans", "k": 3}, 2),
        (pd.DataFrame({"family": ["kmeans"], "k": [2]}), {"family": "ward", "k": 5}, None),
        (pd.DataFrame(), {"family": "kmeans"}, None),
    ],
)
def test_chosen_row_is_found(selection: pd.DataFrame, chosen: dict, expected) -> None:
    from vehiclust.report.html import _chosen_position

    run = DescriptorRun(name="x", labels=np.zeros(3, np.int64), selection=selection, chosen=chosen)
    assert _chosen_position(run) == expected


@pytest.mark.parametrize("kwargs", [{"max_points": 0}, {"gallery_size": 2.5}, {"thumb_size": True}, {"embed_limit": -1}])
def test_bad_parameters_are_refused(tmp_path: Path, kwargs: dict, synthetic) -> None:
    from vehiclust.exceptions import InputError

    name = next(iter(kwargs))
    with pytest.raises(InputError, match=f"'{name}' parameter of write_html_report"):
        write_html_report(synthetic(10, 2), tmp_path, **kwargs)


@pytest.mark.parametrize("n_outliers_wanted,visible", [(40, True), (5_000, "legendonly")])
def test_outliers_are_small_and_hidden_when_many(tmp_path: Path, synthetic, n_outliers_wanted: int, visible) -> None:
    results = synthetic(n_outliers_wanted * 50 // 3, 5)  # synthetic() flags 3 % of rows
    n_out = int(results.descriptors["osnet"].outliers["is_outlier"].sum())
    assert (n_out <= _mapfig.OUTLIERS_SHOWN_UP_TO) is (visible is True)
    text = write_html_report(results, tmp_path, max_points=3_000, max_points_3d=1_000).read_text()
    for div in ("map2d", "map3d"):
        traces = [t for t in _figure(text, div)["data"] if t.get("name", "").startswith("outliers")]
        assert len(traces) == 1 and traces[0].get("visible", True) == visible
        assert traces[0]["marker"]["symbol"] == "x" and traces[0]["marker"]["size"] <= 5
        assert traces[0]["name"] == f"outliers ({n_out:,})"
    assert ("id='show-outliers' checked" in text) is (visible is True)


def test_one_colour_per_cluster_everywhere(tmp_path: Path, synthetic) -> None:
    """The report's map, its cluster cards, the notebook's map and the map PNG share one palette."""
    from vehiclust.embed import cluster_palette
    from vehiclust.report import notebook_helpers as nh

    results = synthetic(2_000, 6)
    run = results.descriptors["osnet"]
    palette = cluster_palette(run.labels)
    text = write_html_report(results, tmp_path).read_text()
    sizes = {c: int((run.labels == c).sum()) for c in range(6)}
    for div in ("map2d", "map3d"):
        colours = {t["name"]: t["marker"]["color"] for t in _figure(text, div)["data"] if t["type"] != "heatmap"}
        assert {_mapfig.legend_name(run, c, sizes[c]): palette[c] for c in range(6)}.items() <= colours.items()
    for c in range(6):
        assert f"data-cluster='{c}' style='border-top-color:{palette[c]}'" in text
    fig = nh.map_figure(run)
    import matplotlib.colors as mcolors

    drawn = {h.get_label(): mcolors.to_hex(h.get_facecolor()[0]) for h in fig.axes[0].collections if h.get_label().startswith(tuple("012345"))}
    assert {f"{_media.cluster_label(run, c)} ({sizes[c]:,})": palette[c] for c in range(6)} == drawn
    assert nh.map_3d(run, results).data[0].marker.color == palette[0]


def test_map_names_and_sizes_at_cluster_centres(tmp_path: Path, synthetic) -> None:
    results = synthetic(30_000, 7)
    run = results.descriptors["osnet"]
    text = write_html_report(results, tmp_path, max_points=2_000).read_text()
    fig = _figure(text, "map2d")
    notes = {a["text"]: (a["x"], a["y"]) for a in fig["layout"]["annotations"]}
    for c in range(7):
        centre = np.median(run.coords_2d[run.labels == c], axis=0)
        assert np.allclose(notes[_media.cluster_label(run, c)], centre, atol=1e-3)
    assert len(_figure(text, "map3d")["layout"]["scene"]["annotations"]) == 7
    assert fig["data"][0]["type"] == "heatmap" and fig["data"][0].get("visible", True) is True


def test_page_stores_plotly_once_compressed(tmp_path: Path, synthetic) -> None:
    import base64
    import gzip

    import plotly.offline

    text = write_html_report(synthetic(300, 3), tmp_path).read_text()
    blob = re.search(r"<script type='application/octet-stream' id='plotly-gz'>(.*?)</script>", text, re.S).group(1)
    assert gzip.decompress(base64.b64decode(blob)).decode("utf-8") == plotly.offline.get_plotlyjs()
    assert text.count("id='plotly-gz'") == 1 and "Plotly.newPlot" in text
    assert len(text) < 2_500_000  # plotly.js alone is 4.8 MB uncompressed


@pytest.mark.parametrize("chosen,expected", [
    ({"family": "kmeans", "k": 12, "n_clusters": 12, "params": "k=12"}, "kmeans, 12 clusters"),
    ({"family": "hdbscan", "n_clusters": 9.0, "params": {"min_cluster_size": 20}}, "hdbscan (min_cluster_size=20), 9 clusters"),
    ({"family": "ward", "k": 1}, "ward, 1 cluster"),
    ({}, "no configuration recorded"),
])
def test_chosen_clustering_is_said_once(chosen: dict, expected: str) -> None:
    from vehiclust.report.notebook_helpers import chosen_text

    assert chosen_text(chosen) == expected


def test_summary_says_each_thing_once_and_why_scores_differ(tmp_path: Path, synthetic) -> None:
    results = synthetic(500, 4)
    run = results.descriptors["osnet"]
    run.chosen.update({"n_clusters": 4, "params": "k=4", "silhouette_sample": 0.31})
    results.comparison = pd.DataFrame({"descriptor": ["osnet"], "silhouette": [0.12], "davies_bouldin": [1.5]})
    summary = re.search(r"<section id='summary'>(.*?)</section>", write_html_report(results, tmp_path).read_text(), re.S).group(1)
    assert "<td>k-means</td>" in summary and "k=4" not in summary and "n_clusters" not in summary
    assert summary.count("<td>4</td>") == 1  # the set's cluster count, once in its row
    assert "silhouette 0.12 vs 0.31" in summary and "cosine" in summary
    assert "id='best-reason'>Why <b>osnet</b>: the only set" in summary


def test_follows_table_is_shown_when_the_run_has_one(tmp_path: Path, synthetic) -> None:
    results = synthetic(300, 3)
    assert "id='follows'" not in write_html_report(results, tmp_path).read_text()
    # the compare stage's shape: indexed by descriptor, shares per kind of evidence and a sentence
    results.follows = pd.DataFrame({"type": [0.4], "colour": [0.05], "follows": ["vehicle type <and> colour"]},
                                   index=pd.Index(["osnet"], name="descriptor"))
    text = write_html_report(results, tmp_path).read_text()
    summary = re.search(r"<section id='summary'>(.*?)</section>", text, re.S).group(1)
    assert "<td>★ osnet</td>" in summary and "<td>vehicle type &lt;and&gt; colour</td>" in summary
    assert "<details id='follows'>" in summary and "<td>osnet</td>" in summary and "<td>0.4</td>" in summary


def test_cluster_cards_are_compact(tmp_path: Path, synthetic) -> None:
    results = synthetic(1_000, 3)
    run = results.descriptors["osnet"]
    run.clusters["description"] = ["White vans, e.g. Transits. Mostly side views.", "Red cars.", "Trucks"]
    run.clusters["typicality_mean"] = [0.5, 0.6, 0.7]
    text = write_html_report(results, tmp_path).read_text()
    cards = re.findall(r"<section class='cluster'.*?</section>", text, re.S)
    assert len(cards) == 3
    first = cards[0]
    assert "<p class='description'>White vans, e.g. Transits.</p>" in first
    assert re.search(r"<b>[\d,]+</b> images · <b>[\d.]+%</b>", first)
    numbers = re.search(r"<details><summary>numbers</summary>(.*?)</details>", first, re.S).group(1)
    assert "Mostly side views." in numbers and "typicality_mean" in numbers


def test_long_selection_table_shows_its_best_ranked_rows_and_the_chosen_one() -> None:
    from vehiclust.report.html import SELECTION_ROWS_SHOWN, _selection_table

    n = 60
    selection = pd.DataFrame({"family": ["kmeans"] * n, "k": np.arange(2, n + 2), "rank": np.arange(n, 0, -1),
                              "chosen": np.arange(n) == 3})  # the chosen row ranks 57th
    run = DescriptorRun(name="x", labels=np.zeros(3, np.int64), selection=selection, chosen={"family": "kmeans", "k": 5})
    html_text = _selection_table(run)
    ks = [int(k) for k in re.findall(r"<tr(?: class='chosen')?><td>kmeans</td><td>(\d+)</td>", html_text)]
    assert len(ks) == SELECTION_ROWS_SHOWN + 1
    assert ks[:3] == [61, 60, 59] and 5 in ks  # best rank first; the chosen row kept
    assert re.search(r"<tr class='chosen'><td>kmeans</td><td>5</td>", html_text)
    assert f"of {n:,}" in html_text and "selection.csv" in html_text


@pytest.mark.parametrize("text,expected", [
    ("White vans, e.g. Transits. Mostly side views.", "White vans, e.g. Transits."),
    ("Probably trucks, almost all grey (truck 49% of the classifier's probability, 1.1x its mean over all clusters "
     "(other types: car 20%, 1.3x); 75% of 16 sampled images grey by pixel colour), daylight brightness; labels type: truck.",
     "Probably trucks, almost all grey, daylight brightness."),
    (None, ""),
])
def test_card_sentence(text, expected: str) -> None:
    from vehiclust.report.notebook_helpers import first_sentence

    assert first_sentence(text) == expected


def test_gallery_prefers_the_runs_typicality(synthetic) -> None:
    run = synthetic(500, 3).descriptors["osnet"]
    members = np.flatnonzero(run.labels == 1)
    run.typicality = np.zeros(len(run.labels), np.float32)
    run.typicality[members[-4:]] = [0.7, 0.9, 0.8, 1.0]
    assert _media.gallery_rows(run, 1, 4).tolist() == [members[-1], members[-3], members[-2], members[-4]]
    del run.typicality
    assert len(_media.gallery_rows(run, 1, 4)) == 4  # without it: the map's core

"""report.html in a real headless Chromium: it renders offline, maps and galleries load, the
XSS probe stays text.

Run against another report (e.g. the demo's) with
``VEHICLUST_REPORT=demo-output/report.html pytest tests/report/test_browser.py``;
screenshots then go to ``demo-output/screenshots/``, otherwise to a tmp folder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from vehiclust.report import _mapfig, _media, write_html_report
from vehiclust.results import RunResults

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
XSS_NAME = "<img src=x onerror=alert(1)>.jpg"  # the probe file name tests/report/conftest.py plants
REPO = Path(__file__).resolve().parents[2]
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
    # WebGL (the 3-D map) on the CPU: SwiftShader, explicitly allowed since Chromium 137
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]
# Chromium's own performance notes about software WebGL are warnings, not page errors.
BENIGN = ("GPU stall due to ReadPixels", "willReadFrequently", "Automatic fallback to software WebGL")


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install '.[test]')")
    if not CHROMIUM.exists():
        subprocess.run(["bash", str(REPO / "scripts" / "install-chromium.sh")], check=False, timeout=900)
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing and scripts/install-chromium.sh could not install it (needs apt and root)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def report_under_test(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bool]:
    """(report.html, screenshot folder, whether the XSS probe is in it)."""
    given = os.environ.get("VEHICLUST_REPORT")
    if given:
        report = Path(given).resolve()
        if not report.is_file():
            pytest.fail(f"VEHICLUST_REPORT={given} does not exist; run `make demo` first")
        return report, report.parent / "screenshots", False
    report_run = request.getfixturevalue("report_run")
    return report_run / "report.html", tmp_path_factory.mktemp("screenshots"), True


def _open(browser, report: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    events: dict[str, list] = {"console": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: events["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: events["console"].append(("pageerror", str(e))))
    page.on("dialog", lambda d: (events["dialogs"].append(d.message), d.dismiss()))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.goto(report.as_uri(), wait_until="load")
    return page, events


def test_report_in_chromium(browser, report_under_test) -> None:
    report, shots, has_probe = report_under_test
    shots.mkdir(parents=True, exist_ok=True)
    results = RunResults.load(report.parent)
    best = results.descriptors[results.best]
    clusters = _media.cluster_ids(best)

    page, events = _open(browser, report)
    try:
        has_map = best.coords_2d is not None
        if has_map:
            page.wait_for_selector("#map2d[data-rendered='1']", timeout=60_000)
            if best.coords_3d is not None:
                page.wait_for_selector("#map3d[data-rendered='1']", timeout=60_000)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(500)
        page.screenshot(path=str(shots / "report-top.png"))

        # 1. nothing from the network; only the page itself and data: URIs / sibling files
        outside = [u for u in events["requests"] if not u.startswith(("data:", "file:", "blob:"))]
        assert outside == []

        # 2. the map: one legend entry per cluster with its size (plus outliers / unassigned overlays)
        if has_map:
            expected = _legend_names(best)
            for div in ["#map2d"] + (["#map3d"] if best.coords_3d is not None else []):
                legend = page.eval_on_selector_all(f"{div} .legendtext", "els => els.map(e => e.textContent)")
                assert {t for t in legend if not t.startswith(("outliers (", "unassigned ("))} == expected, div
                assert len([t for t in legend if t in expected]) == len(clusters)
            # hovering a point fills the side panel with its image, path and cluster
            target = page.evaluate(
                """() => { const d = document.getElementById('map2d'); const fl = d._fullLayout;
                   const tr = d._fullData.find(t => t.type.startsWith('scatter') && t.x && t.x.length);
                   return {x: fl.xaxis.l2p(tr.x[0]) + fl._size.l, y: fl.yaxis.l2p(tr.y[0]) + fl._size.t, row: tr.customdata[0]}; }""")
            page.evaluate("""() => document.getElementById('map2d').on('plotly_hover',
                                   e => { window.__hovered = e.points[0].customdata; })""")
            box = page.locator("#map2d").bounding_box()
            page.mouse.move(box["x"] + target["x"], box["y"] + target["y"])
            page.wait_for_function("document.getElementById('hover-path').textContent.length > 0", timeout=10_000)
            hovered = page.evaluate("window.__hovered")  # the point under the cursor (may sit on top of ours)
            assert page.text_content("#hover-path") == results.samples["path"].iloc[int(hovered)]
            if _media.images_root(results, report.parent) is not None:
                assert page.evaluate("document.getElementById('hover-img').naturalWidth") > 0
            page.screenshot(path=str(shots / "report-hover.png"))
        else:
            assert "no map coordinates" in page.text_content("#map")

        # the selection curves of the chosen set are drawn (the others render when opened)
        if _media.selection_axes(best.selection) is not None:
            assert page.locator("details[open] .selplot[data-rendered='1']").count() >= 1

        # 3. every cluster has its section, and every image in it decoded
        sections = page.locator("section.cluster")
        assert sections.count() == len(clusters)
        page.wait_for_function("Array.from(document.querySelectorAll('section.cluster img')).every(i => i.complete)")
        widths = page.evaluate(
            """() => Array.from(document.querySelectorAll('section.cluster')).map(
                 s => Array.from(s.querySelectorAll('img')).map(i => i.complete ? i.naturalWidth : 0))""")
        if _media.images_root(results, report.parent) is not None:
            assert all(len(w) > 0 and min(w) > 0 for w in widths), widths
        page.evaluate("document.getElementById('clusters').scrollIntoView()")
        page.wait_for_timeout(300)
        page.screenshot(path=str(shots / "report-clusters.png"))
        page.evaluate("document.getElementById('outliers').scrollIntoView()")
        page.screenshot(path=str(shots / "report-outliers.png"))

        # 4. the hostile file name is shown as text and ran nothing
        flag = page.evaluate("window.__xss === undefined && document.querySelectorAll('img[src=\"x\"]').length === 0")
        assert flag
        assert events["dialogs"] == []
        if has_probe:
            # wherever the probe's row is shown as a tile, its caption is the literal name
            probe_row = int(np.flatnonzero(results.samples["path"].str.endswith(XSS_NAME))[0])
            captions = page.eval_on_selector_all(
                f"figure.thumb[data-row='{probe_row}'] .path", "els => els.map(e => e.textContent)")
            assert all(c.endswith(XSS_NAME) for c in captions)

        # 5. no console errors (Chromium's software-WebGL performance notes are not errors)
        errors = [(t, m) for t, m in events["console"] if t in ("error", "pageerror") and not any(b in m for b in BENIGN)]
        assert errors == []
    finally:
        page.close()


def _legend_names(best) -> set[str]:
    sizes = dict(zip(*np.unique(best.labels[best.labels >= 0], return_counts=True)))
    return {_mapfig.legend_name(best, c, int(sizes[c])) for c in _media.cluster_ids(best)}


def _outlier_visibility(page, div: str) -> list:
    return page.evaluate(f"""() => document.getElementById('{div[1:]}').data
        .filter(t => typeof t.name === 'string' && t.name.startsWith('outliers')).map(t => t.visible === undefined ? true : t.visible)""")


def test_layout_in_chromium(browser, report_under_test) -> None:
    """The first column of wide tables stays in view when they scroll sideways, figures are folded
    under captions placed above them, and the outlier layer starts shown only when there are few."""
    report, shots, _ = report_under_test
    shots.mkdir(parents=True, exist_ok=True)
    results = RunResults.load(report.parent)
    best = results.descriptors[results.best]
    page = browser.new_page(viewport={"width": 760, "height": 900})
    try:
        page.goto(report.as_uri(), wait_until="load")
        # 1. sticky first column: scroll every wide table to its right end; its first cells stay put
        wides = page.evaluate("""() => Array.from(document.querySelectorAll('.table-wrap'))
            .map((w, i) => [i, w.checkVisibility() && w.scrollWidth > w.clientWidth + 4]).filter(x => x[1]).map(x => x[0])""")
        assert wides, "no table is wider than a 760 px window; nothing to check"
        for i in wides:
            state = page.evaluate("""(i) => { const w = document.querySelectorAll('.table-wrap')[i];
                w.scrollIntoView({block: 'center'}); const before = w.querySelector('tbody td').getBoundingClientRect().left;
                w.scrollLeft = w.scrollWidth; const cell = w.querySelector('tbody td'); const r = cell.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + Math.min(r.width / 2, 20), r.top + r.height / 2);
                return {moved: w.scrollLeft > 0, before: before, after: r.left, wrapLeft: w.getBoundingClientRect().left,
                        visible: hit === cell || cell.contains(hit)}; }""", i)
            assert state["moved"], state
            assert abs(state["after"] - state["wrapLeft"]) < 2 and abs(state["after"] - state["before"]) < 2, state
            assert state["visible"], state
        if "comparison" in [w for w in page.evaluate("() => Array.from(document.querySelectorAll('.table-wrap')).map(w => w.closest('section').id)")]:
            page.evaluate("document.querySelector('#comparison .table-wrap').scrollIntoView()")
            page.screenshot(path=str(shots / "report-comparison-scrolled.png"))
        # 2. figures folded, each under a caption that comes before its picture
        folded = page.evaluate("""() => Array.from(document.querySelectorAll('#comparison details.figure')).map(d => ({
            open: d.open, shown: d.querySelector('img').checkVisibility(),
            captionFirst: !!(d.querySelector('figcaption').compareDocumentPosition(d.querySelector('img')) & Node.DOCUMENT_POSITION_FOLLOWING)}))""")
        assert all(not f["open"] and not f["shown"] and f["captionFirst"] for f in folded), folded
        if folded:
            page.locator("#comparison details.figure summary").first.click()
            assert page.evaluate("document.querySelector('#comparison details.figure img').checkVisibility()")
        # 3. outliers: shown when few, hidden (one legend click or the box shows them) when many
        n_out = int(_media.outlier_frame(best)["is_outlier"].sum())
        if best.coords_2d is not None and n_out:
            page.wait_for_selector("#map2d[data-rendered='1']", timeout=60_000)
            expected = True if n_out <= _mapfig.OUTLIERS_SHOWN_UP_TO else "legendonly"
            assert set(_outlier_visibility(page, "#map2d")) == {expected}
            page.check("#show-outliers") if expected != True else page.uncheck("#show-outliers")
            assert set(_outlier_visibility(page, "#map2d")) == {True if expected != True else "legendonly"}
    finally:
        page.close()


def test_large_run_opens_on_its_clusters(browser, synthetic, tmp_path_factory: pytest.TempPathFactory) -> None:
    """200,000 rows without images, built as a RunResults: the page is light, opens on the map, and
    its first screen shows the clusters (named, sized, over the density of every row), not outliers."""
    import io
    import time

    from PIL import Image

    results = synthetic(200_000, 14, seed=1)
    best = results.descriptors[results.best]
    n_out = int(best.outliers["is_outlier"].sum())
    assert n_out > _mapfig.OUTLIERS_SHOWN_UP_TO
    out = tmp_path_factory.mktemp("large-report")
    report = write_html_report(results, out)
    weight = report.stat().st_size
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        start = time.perf_counter()
        page.goto(report.as_uri(), wait_until="load")
        page.wait_for_selector("#map2d[data-rendered='1']", timeout=60_000)
        opened = time.perf_counter() - start
        print(f"200,000-row report: {weight / 1e6:.2f} MB, map drawn {opened:.1f} s after opening")  # reported, not asserted
        shot = page.screenshot(path=str(out / "large-first-screen.png"))
        # the map is on the first screen
        box = page.locator("#map2d").bounding_box()
        assert box["y"] < 1000 * 0.6
        # clusters, named and sized, in the legend and at their centres; the density of every row beneath
        legend = page.eval_on_selector_all("#map2d .legendtext", "els => els.map(e => e.textContent)")
        assert _legend_names(best) <= set(legend)
        notes = page.evaluate("document.getElementById('map2d').layout.annotations.map(a => a.text)")
        assert set(notes) == {_media.cluster_label(best, c) for c in _media.cluster_ids(best)}
        assert page.evaluate("document.getElementById('map2d').data[0].type") == "heatmap"
        # outliers hidden until asked for, in 2-D and 3-D
        assert set(_outlier_visibility(page, "#map2d")) == {"legendonly"}
        assert set(_outlier_visibility(page, "#map3d")) == {"legendonly"}
        assert not page.is_checked("#show-outliers")
        # what the eye sees: the map area is mostly cluster colour, hardly any black crosses
        pixels = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB")).astype(int)
        area = pixels[int(box["y"]) + 40:int(box["y"] + box["height"]) - 10, int(box["x"]) + 10:int(box["x"] + box["width"] * 0.6)]
        saturated = (area.max(-1) - area.min(-1)) > 60
        black = area.max(-1) < 50
        assert saturated.mean() > 0.05 and black.mean() < 0.01, (saturated.mean(), black.mean())
        # one click on their legend entry shows them, and the box follows
        page.locator("#map2d .traces", has_text="outliers (").locator(".legendtoggle").click()
        page.wait_for_function("document.getElementById('show-outliers').checked", timeout=10_000)
        assert set(_outlier_visibility(page, "#map2d")) == {True}
        page.uncheck("#show-outliers")
        assert set(_outlier_visibility(page, "#map2d")) == {"legendonly"}
        assert errors == []
    finally:
        page.close()


def test_probe_hover_is_text(browser, report_run: Path) -> None:
    """Hovering the probe's own point shows its name literally in plotly's tooltip."""
    results = RunResults.load(report_run)
    best = results.descriptors[results.best]
    if best.coords_2d is None:
        pytest.skip("this run has no 2-D map (map stage absent)")
    probe_row = int(np.flatnonzero(results.samples["path"].str.endswith(XSS_NAME))[0])
    page, events = _open(browser, report_run / "report.html")
    try:
        page.wait_for_selector("#map2d[data-rendered='1']", timeout=60_000)
        # hover exactly the probe's point (a neighbour could sit on top of it under a mouse)
        found = page.evaluate(
            """(row) => { const d = document.getElementById('map2d');
               for (const [c, tr] of d._fullData.entries()) { if (!tr.customdata || tr.name === 'outliers') continue;
                 const i = Array.from(tr.customdata).indexOf(row);
                 if (i >= 0) { Plotly.Fx.hover(d, [{curveNumber: c, pointNumber: i}]); return true; } }
               return false; }""", probe_row)
        assert found
        page.wait_for_selector("#map2d .hovertext", timeout=10_000)
        tooltip = page.text_content("#map2d .hovertext")
        assert XSS_NAME in tooltip
        assert page.evaluate("document.querySelectorAll('img[src=\"x\"]').length") == 0
        assert events["dialogs"] == []
    finally:
        page.close()


def test_thumbnails_from_the_sibling_folder_load(browser, report_run: Path, tmp_path: Path) -> None:
    """Big runs put thumbnails in report_files/; the page's CSP must still let them load from disk."""
    from vehiclust.report import write_html_report
    from vehiclust.report.html import FILES_DIR

    results = RunResults.load(report_run)
    # the report is written elsewhere but must find the images the run recorded
    results.metadata["config"]["images"] = str(_media.images_root(results, report_run))
    out = write_html_report(results, tmp_path, embed_limit=0)
    assert any((tmp_path / FILES_DIR / "thumbs").glob("*.webp"))
    page, events = _open(browser, out)
    try:
        page.wait_for_load_state("networkidle")
        widths = page.evaluate("Array.from(document.querySelectorAll('figure.thumb img')).map(i => i.complete ? i.naturalWidth : 0)")
        srcs = page.evaluate("Array.from(document.querySelectorAll('figure.thumb img')).map(i => i.getAttribute('src'))")
        assert widths and min(widths) > 0
        assert all(s.startswith(f"{FILES_DIR}/thumbs/") for s in srcs)
        errors = [(t, m) for t, m in events["console"] if t in ("error", "pageerror") and not any(b in m for b in BENIGN)]
        assert errors == []
    finally:
        page.close()

"""analysis.ipynb: executed by the pipeline, no error cells, numbers from the results, reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from vehiclust.cli import app
from vehiclust.exceptions import InputError
from vehiclust.report import build_notebook, write_notebook
from vehiclust.results import RunResults


def _outputs(nb) -> list:
    return [cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"]


def _text(nb) -> str:
    parts = []
    for outputs in _outputs(nb):
        for out in outputs:
            data = out.get("data", {})
            parts.append(data.get("text/markdown", "") + data.get("text/plain", "") + out.get("text", ""))
    return "\n".join(parts)


def test_pipeline_notebook_is_executed_without_errors(report_run: Path) -> None:
    nb = nbformat.read(report_run / "analysis.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    assert all(c.execution_count is not None for c in code)
    assert not any(o.get("output_type") == "error" for outs in _outputs(nb) for o in outs)
    assert not any(o.get("name") == "stderr" and "Traceback" in o.get("text", "") for outs in _outputs(nb) for o in outs)
    results = RunResults.load(report_run)
    text = _text(nb)
    # numbers in the text are the run's own, computed in cells
    assert f"**{results.n_rows:,}** rows" in text
    assert f"`{results.best}`" in text
    best = results.descriptors[results.best]
    n_clusters = len({int(c) for c in best.labels if c >= 0})
    assert f"**{n_clusters}** clusters" in text
    assert f"**{n_clusters} clusters**" in text  # the conclusion
    markdown = [o["data"]["text/markdown"] for outs in _outputs(nb) for o in outs if "text/markdown" in o.get("data", {})]
    assert not any("<" in m or ">" in m for m in markdown)  # data strings arrive escaped
    images = sum(bool({"image/png", "image/jpeg"} & set(o.get("data", {}))) for outs in _outputs(nb) for o in outs)
    assert images >= 1 + n_clusters  # selection curves + one gallery per cluster at least


def test_cli_rewrites_the_same_notebook(report_run: Path, tmp_path: Path) -> None:
    before = nbformat.read(report_run / "analysis.ipynb", as_version=4)
    result = CliRunner().invoke(app, ["notebook", str(report_run)])
    assert result.exit_code == 0, result.output
    after = nbformat.read(report_run / "analysis.ipynb", as_version=4)
    assert [c.source for c in before.cells] == [c.source for c in after.cells]
    assert json.dumps(_outputs(before), sort_keys=True) == json.dumps(_outputs(after), sort_keys=True)


def test_not_a_run_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no metadata.json"):
        write_notebook(tmp_path)
    result = CliRunner().invoke(app, ["notebook", str(tmp_path)])
    assert result.exit_code == 2
    assert "no metadata.json" in result.output


@pytest.mark.parametrize("root", [None, "/data/images"])
def test_unexecuted_notebook_is_valid_with_a_parameter_cell(root) -> None:
    nb = build_notebook(root)
    nbformat.validate(nb)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1
    assert f"IMAGES_ROOT = {root!r}" in params[0].source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")


def test_notebook_interprets_every_set_and_maps_in_3d(report_run: Path) -> None:
    """Every set's clusters in words, a written comparison, one interactive 3-D map in the
    report's colours, and an images root relative to the notebook's folder."""
    from vehiclust.embed import cluster_palette
    from vehiclust.report import _media
    from vehiclust.report.notebook_helpers import md, md_code

    nb = nbformat.read(report_run / "analysis.ipynb", as_version=4)
    results = RunResults.load(report_run)
    text = _text(nb)
    for name, run in results.descriptors.items():
        assert f"**{md_code(name)}** (" in text
        for c in _media.cluster_ids(run):
            assert f"**{md(_media.cluster_label(run, c))}**:" in text
    assert f"The run chose **{md_code(results.best)}**" in text
    assert "agree most (ARI" in text or len(results.descriptors) < 2
    plots = [o["data"]["application/vnd.plotly.v1+json"] for outs in _outputs(nb) for o in outs
             if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert len(plots) == 1
    best = results.descriptors[results.best]
    traces = [t for t in plots[0]["data"] if t["type"] == "scatter3d" and not t["name"].startswith(("outliers", "unassigned"))]
    assert [t["marker"]["color"] for t in traces] == [cluster_palette(best.labels)[c] for c in _media.cluster_ids(best)]
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    root = params.source.split("IMAGES_ROOT = ")[1].strip().strip("'\"")
    assert not Path(root).is_absolute()
    assert (report_run / root).resolve() == _media.images_root(results, report_run)



def test_notebook_leads_outliers_with_image_problems(report_run: Path) -> None:
    """The outlier section shows image problems before rare-looking images, as the report does."""
    from vehiclust.report.notebook_helpers import outliers_by_kind

    nb = nbformat.read(report_run / "analysis.ipynb", as_version=4)
    assert "## 5. Outliers: image problems first, then rare-looking images" in "\n".join(
        c.source for c in nb.cells if c.cell_type == "markdown")
    results = RunResults.load(report_run)
    with_kinds = [r for r in results.descriptors.values() if r.outliers is not None and "outlier_kind" in r.outliers]
    assert with_kinds, "the single descriptor sets carry outlier_kind"
    for run_ in with_kinds:
        parts = outliers_by_kind(results, run_)
        assert [title.split(":")[0] for title, _, _ in parts] == ["Image problems", "Rare-looking images"]
        kinds = run_.outliers["outlier_kind"].fillna("").astype(str)
        assert [len(t) for _, t, _ in parts] == [min(20, int((kinds == k).sum())) for k in ("problem", "rare")]
        for _, table, _ in parts:  # worst first
            assert table["outlier_score"].is_monotonic_decreasing

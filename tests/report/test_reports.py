"""report.html and analysis.ipynb are written side by side; a notebook failure is not lost."""

from __future__ import annotations

import threading

import pytest

from vehiclust.report import NotebookExecutionError, notebook, write_reports


def test_notebook_runs_beside_the_html_page(tmp_path, monkeypatch, synthetic):
    from vehiclust.report import html

    started, seen = threading.Event(), {}
    real_html = html.write_html_report

    def notebook_started(run_dir):
        seen["thread"] = threading.current_thread().name
        started.set()

    def html_after_the_notebook_started(*args, **kwargs):
        seen["notebook_running"] = started.wait(timeout=60)  # one after the other: never set
        return real_html(*args, **kwargs)

    monkeypatch.setattr(notebook, "write_notebook", notebook_started)
    monkeypatch.setattr(html, "write_html_report", html_after_the_notebook_started)
    write_reports(synthetic(300, 3), tmp_path, random_state=0)
    assert seen == {"thread": "vehiclust-notebook", "notebook_running": True}
    assert "<html" in (tmp_path / "report.html").read_text()


def test_a_failing_notebook_is_raised_after_the_page_is_written(tmp_path, monkeypatch, synthetic):
    def broken(run_dir):
        raise NotebookExecutionError("cell 3 failed")

    monkeypatch.setattr(notebook, "write_notebook", broken)
    with pytest.raises(NotebookExecutionError, match="cell 3"):
        write_reports(synthetic(200, 3), tmp_path, random_state=0)
    assert (tmp_path / "report.html").is_file()


def test_only_what_is_asked(tmp_path, monkeypatch, synthetic):
    monkeypatch.setattr(notebook, "write_notebook", lambda run_dir: pytest.fail("no notebook was asked for"))
    write_reports(synthetic(100, 2), tmp_path, notebook=False, random_state=0)
    assert (tmp_path / "report.html").is_file()
    write_reports(synthetic(100, 2), tmp_path / "none", html=False, notebook=False)
    assert not (tmp_path / "none" / "report.html").exists()


def test_worker_paths_of_a_small_run_give_the_same_outputs(report_case, tmp_path, monkeypatch):
    """The sets described in worker processes beside the comparison (what the demo does) write
    what the one-after-the-other run writes."""
    import pandas as pd

    from vehiclust import parallel, pipeline

    from .conftest import make_config

    root, files, heads = report_case
    plain = pipeline.run(make_config(root, tmp_path / "plain", files, heads, html=False, notebook=False))
    started = []
    for name in ("_describe_in_workers",):
        real = getattr(pipeline, name)
        monkeypatch.setattr(pipeline, name, lambda *a, _real=real, _name=name: started.append(_name) or _real(*a))
    monkeypatch.setattr(parallel, "MIN_TOTAL_ROWS", 1)  # workers even for these 96 rows
    side = pipeline.run(make_config(root, tmp_path / "side", files, heads, html=False, notebook=False, n_jobs=2))
    assert side.image_checks is not None and side.descriptors[side.best].clusters is not None
    assert started == ["_describe_in_workers"]  # the sets and the consensus, described together
    pd.testing.assert_frame_equal(plain.image_checks, side.image_checks)
    for name, run in plain.descriptors.items():
        other = side.descriptors[name]
        pd.testing.assert_frame_equal(run.clusters, other.clusters)
        assert list(run.artifacts) == list(other.artifacts)
    assert (tmp_path / "plain" / "clusters.csv").read_bytes() == (tmp_path / "side" / "clusters.csv").read_bytes()
    a, b = (pd.read_csv(tmp_path / d / "selection.csv") for d in ("plain", "side"))
    timings = [c for c in a.columns if c.endswith("_seconds")]  # differ run to run
    pd.testing.assert_frame_equal(a.drop(columns=timings), b.drop(columns=timings))

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

"""Write report.html and analysis.ipynb side by side.

The notebook runs in its own kernel process, so while it executes, this process is free to
write the HTML page: on two cores the report stage then takes about as long as the longer of
the two, not their sum (the demo: ~13 s → ~8 s). Each reads only the saved run, not the other's
files, so the outputs are the same as when they are written one after the other.
"""

from __future__ import annotations

import threading
from pathlib import Path

from vehiclust.results import RunResults


def write_reports(results: RunResults, run_dir: str | Path, *, html: bool = True, notebook: bool = True,
                  random_state: int | None = None) -> None:
    """``write_html_report`` and ``write_notebook`` (executed) for a saved run, side by side.

    The run must be saved in ``run_dir`` already (the notebook loads it from there). An error of
    either is raised here, the notebook's first."""
    from vehiclust.report.html import write_html_report
    from vehiclust.report.notebook import write_notebook

    failure: list[BaseException] = []

    def run_notebook() -> None:
        try:
            write_notebook(run_dir)
        except BaseException as exc:  # raised again in the calling thread
            failure.append(exc)

    worker = threading.Thread(target=run_notebook, name="vehiclust-notebook", daemon=True) if notebook else None
    if worker is not None:
        worker.start()
    try:
        if html:
            write_html_report(results, run_dir, random_state=random_state)
    finally:
        if worker is not None:
            worker.join()
    if failure:
        raise failure[0]

"""`analysis.ipynb`: the run explained step by step, executed so it opens with every output.

The notebook is built with nbformat from the cells in ``_notebook_cells`` and executed with
nbclient in a kernel of the current Python (so it sees the same vehiclust), with the run
directory as working directory. Execution metadata (timings) is not recorded, so writing it
twice from the same run gives the same notebook.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vehiclust.exceptions import InputError, VehiclustError
from vehiclust.io.atomic import atomic_write_text
from vehiclust.report import _media
from vehiclust.report._notebook_cells import CELLS
from vehiclust.results import RunResults

log = logging.getLogger(__name__)

NOTEBOOK_NAME = "analysis.ipynb"


class NotebookExecutionError(VehiclustError, RuntimeError):
    """A cell of the analysis notebook raised while it was executed."""


def build_notebook(images_root: str | Path | None = None):
    """The unexecuted notebook; `images_root` becomes the parameter cell's ``IMAGES_ROOT``
    (relative paths are read from the notebook's folder)."""
    import nbformat
    from nbformat import v4

    root = repr(str(images_root)) if images_root is not None else "None"
    params = v4.new_code_cell(
        "# Parameters: where the images are, relative to this notebook's folder\n"
        "# (None = the root recorded in the run's config).\n"
        f"IMAGES_ROOT = {root}",
        metadata={"tags": ["parameters"]},
    )
    cells = []
    for i, (kind, source) in enumerate(CELLS):
        cells.append(v4.new_markdown_cell(source) if kind == "markdown" else v4.new_code_cell(source))
        if i == 0:
            cells.append(params)
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    # Stable cell ids: the same run gives byte-identical notebooks.
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.validate(nb)
    return nb


def write_notebook(run_dir: str | Path, *, execute: bool = True, timeout: int = 600,
                   kernel_name: str = "python3") -> Path:
    """Write (and by default execute) ``analysis.ipynb`` in `run_dir`; returns its path.

    Raises :class:`NotebookExecutionError` naming the failing cell when a cell raises, so a
    broken notebook is never written as if it were fine.
    """
    import nbformat

    run_dir = Path(run_dir)
    if not (run_dir / "metadata.json").is_file():
        raise InputError(f"{run_dir} is not a vehiclust run directory: it has no metadata.json.")
    results = RunResults.load(run_dir)
    nb = build_notebook(_relative_root(_media.images_root(results, run_dir), run_dir))
    if execute:
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError

        client = NotebookClient(
            nb,
            timeout=timeout,
            kernel_name=kernel_name,
            resources={"metadata": {"path": str(run_dir.resolve())}},
            record_timing=False,
            allow_errors=False,
            # the kernel's "running over TCP" warning is about remote kernels; this one is local
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
        )
        log.info("executing %s", run_dir / NOTEBOOK_NAME)
        try:
            client.execute(env=_kernel_env())
        except CellExecutionError as exc:
            raise NotebookExecutionError(f"The analysis notebook for {run_dir} failed: {exc}") from None
        _strip_volatile(nb)
    out = atomic_write_text(nbformat.writes(nb), run_dir / NOTEBOOK_NAME)
    log.info("notebook written to %s", out)
    return out


def _relative_root(root: Path | None, run_dir: Path) -> str | None:
    """The images root relative to the notebook's folder, so the run folder and the images can
    move together; absolute only when no relative path exists (another drive)."""
    import os

    if root is None:
        return None
    try:
        return Path(os.path.relpath(Path(root).resolve(), run_dir.resolve())).as_posix()
    except ValueError:
        return str(root)


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, with a non-interactive matplotlib backend, and BLAS /
    OpenMP on one thread unless set (the notebook reads the saved run and draws, beside the HTML
    report being written: a second thread would only spin)."""
    import os

    env = dict(os.environ)
    env.pop("MPLBACKEND", None)  # the inline backend of the kernel draws into the notebook
    env["PYTHONHASHSEED"] = "0"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(name, "1")
    return env


def _strip_volatile(nb) -> None:
    """Drop what changes between identical executions (kernel versions, execution metadata)."""
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)

"""What a user sees while `vehiclust run` works and when it ends.

- :func:`step`: one line per stage and per descriptor set (``cluster osnet: 166 configurations,
  74 s (16 rows/s)``), logged on ``vehiclust.steps``. The CLI shows these lines when stderr is
  not a terminal (a log file, CI), where progress bars are off, so a long run can be followed.
- :func:`install_warnings`: every warning becomes one plain line without a source path
  (``warning: ...``);
  third-party warnings that change nothing for the user are dropped.
- :func:`summary`: the closing table: per set the chosen clustering, clusters, outliers and
  what the clusters follow; the best and why; the time; where to look.

The library only logs; handlers and levels are the CLI's.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from pathlib import Path
from typing import Any

STEPS = "vehiclust.steps"
WARNINGS = "py.warnings"  # where logging.captureWarnings sends them
log = logging.getLogger(STEPS)

# Third-party warnings that change nothing in the results (matched on the message).
HARMLESS = (
    # joblib/loky restarted a worker (e.g. after a memory spike); its jobs ran again.
    r"A worker stopped while some jobs were given to the executor",
    # umap-learn: with a seed it runs single-threaded, which is what we ask for.
    r"n_jobs value .* overridden to 1 by setting random_state",
    r"Graph is not fully connected, spectral embedding may not work as expected",
    # numba / sklearn / pandas deprecation notices are for developers.
    r"is deprecated|will be removed in|DeprecationWarning",
    # a mixture that stops early is still a clustering; `converged` says so in selection.csv.
    r"Best performing initialization did not converge|did not converge",
)
_HARMLESS = re.compile("|".join(f"(?:{p})" for p in HARMLESS))


def seconds_text(seconds: float) -> str:
    """``0.4 s``, ``12 s``, ``3 min 05 s``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


def step(what: str, seconds: float, rows: int | None = None, detail: str = "") -> None:
    """Log one finished step: ``what: detail, time (rows/s)``."""
    rate = f" ({rows / seconds:,.0f} rows/s)" if rows and seconds > 0 else ""
    log.info("%s: %s%s%s", what, f"{detail}, " if detail else "", seconds_text(seconds), rate)


def one_line(message: Warning | str, category: type[Warning] = UserWarning, filename: str = "") -> str | None:
    """The line shown for a warning, or None when it is harmless and dropped."""
    text = " ".join(str(message).split())
    if _HARMLESS.search(text) or issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
        return None
    if issubclass(category, FutureWarning) and "vehiclust" not in filename:
        return None
    source = _package(filename)
    return text if source in ("", "vehiclust") else f"{text} ({source})"


def _package(filename: str) -> str:
    """The top-level package a file belongs to (``sklearn``), '' when unknown."""
    parts = Path(filename).parts
    for marker in ("site-packages", "dist-packages"):
        if marker in parts:
            i = parts.index(marker)
            return parts[i + 1].removesuffix(".py") if i + 1 < len(parts) else ""
    return "vehiclust" if "vehiclust" in parts else ""


def install_warnings() -> None:
    """Warnings become log records of ``py.warnings`` (``logging.captureWarnings``) holding one
    plain line each (harmless ones: an empty line, which :class:`_OncePlain` drops)."""
    logging.captureWarnings(True)
    warnings.formatwarning = _format_warning


def _format_warning(message, category, filename, lineno, line=None) -> str:  # noqa: ARG001 (warnings API)
    return one_line(message, category, str(filename)) or ""


class _OncePlain(logging.Filter):
    """Drop empty (harmless) warning lines and repeats of a line already shown."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage().strip()
        if not text or text in self.seen:
            return False
        self.seen.add(text)
        return True


class _Plain(logging.Formatter):
    """``warning: osnet: 170 constant columns dropped``: the level in lower case, no logger name."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


def setup_cli_logging(quiet: bool, verbose: int, follow: bool | None = None) -> None:
    """Handlers for the CLI: the library's own log records and warnings as ``warning: ...``
    (with the logger's name from -v on); step lines with the clock time when stderr is not a
    terminal (and not -q), or always with -v."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    if verbose == 0:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_Plain())
    for name, fmt in ((WARNINGS, "warning: %(message)s"), (STEPS, "%(asctime)s %(message)s")):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
        if name == WARNINGS:
            handler.addFilter(_OncePlain())
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger(WARNINGS).setLevel(logging.ERROR if quiet else logging.WARNING)
    if follow is None:
        follow = not quiet and (verbose > 0 or not sys.stderr.isatty())
    logging.getLogger(STEPS).setLevel(logging.INFO if follow else logging.WARNING)
    install_warnings()


# ---- the closing summary ------------------------------------------------------------------
def _follows(results: Any, name: str, n: int = 2) -> str:
    """The attributes the set's clusters explain best, e.g. ``type (label) 0.62, colour (vehicle-attributes) 0.41``."""
    table = results.attribute_alignment
    if table is None or name not in table.index:
        return ""
    row = table.loc[name].dropna().astype(float).sort_values(ascending=False)
    parts: dict[str, float] = {}
    for col, value in row.items():
        if len(parts) >= n or value < 0.05:
            break
        parts.setdefault(attribute_words(str(col)), value)
    return ", ".join(f"{words} {value:.2f}" for words, value in parts.items())


def attribute_words(column: str) -> str:
    """``head:imagenet:imagenet_mass:car`` → ``car (ImageNet)``; ``label:type`` → ``type (label)``;
    ``checks:brightness_p95`` → ``brightness (image)``."""
    source, _, rest = column.partition(":")
    if source == "label":
        return f"{rest} (label)"
    if source == "head":
        model, _, what = rest.partition(":")
        if what.startswith("imagenet_mass:"):
            return f"{what.split(':', 1)[1]} (ImageNet)"
        if what.startswith("imagenet_"):
            return f"{what.removeprefix('imagenet_').replace('_', ' ')} (ImageNet)"
        return f"{what.replace('_', ' ')} ({model})"
    if source in ("checks", "pixels"):
        words = re.sub(r"^is_|_(p\d+|quality)$", "", rest).replace("_", " ")
        return f"{words} (image)"
    return column.replace(":", " ").replace("_", " ")


def _chosen(chosen: dict[str, Any]) -> str:
    """``kmeans``, ``eac (k-means consensus)``, ``hdbscan (min_cluster_size=12)``:
    the number of clusters has its own column."""
    family = str(chosen.get("family", "") or "")
    if not family:
        return "-"
    params = str(chosen.get("params", "") or "")
    if params and not params.startswith("k="):
        return f"{family} ({params})"
    if family == "eac":
        return "eac (k-means consensus)"
    return family


def summary_rows(results: Any) -> list[dict[str, str]]:
    """One row per descriptor set, mix and the consensus: what the table shows."""
    import numpy as np

    rows = []
    for name, run in results.descriptors.items():
        labels = np.asarray(run.labels)
        n_clusters = len(np.unique(labels[labels >= 0]))
        n_out = int(run.outliers["is_outlier"].sum()) if run.outliers is not None else int((labels < 0).sum())
        rows.append({
            "set": name + (" *" if name == results.best else ""),
            "clustering": _chosen(run.chosen),
            "clusters": str(n_clusters),
            "outliers": f"{n_out:,} ({n_out / max(len(labels), 1):.1%})",
            "follows": _follows(results, name),
        })
    return rows


def summary(results: Any, seconds: float, out_dir: str | Path, console: Any) -> None:
    """Print the closing table with rich: sets, the best and why, time, where to look."""
    from rich.table import Table

    rows = summary_rows(results)
    table = Table(title=f"{results.n_rows:,} rows, {len(rows)} descriptor sets, {seconds_text(seconds)}",
                  title_justify="left", show_lines=False)
    show_follows = any(r["follows"] for r in rows)
    for col, justify in (("set", "left"), ("clustering", "left"), ("clusters", "right"), ("outliers", "right")):
        table.add_column(col, justify=justify)
    if show_follows:
        table.add_column("its clusters follow (share explained)")
    for r in rows:
        cells = [r["set"], r["clustering"], r["clusters"], r["outliers"]] + ([r["follows"]] if show_follows else [])
        table.add_row(*cells, style="bold" if r["set"].endswith(" *") else None)
    console.print(table)
    best = results.descriptors[results.best]
    names = best.cluster_names()
    console.print(f"Best: [bold]{results.best}[/] (*), {len(names) or '?'} clusters"
                  + (f" — {results.best_reason}" if results.best_reason else "."), highlight=False, soft_wrap=True)
    if names:
        shown = ", ".join(list(names.values())[:6]) + (", ..." if len(names) > 6 else "")
        console.print(f"Its clusters: {shown}", highlight=False, soft_wrap=True)
    out = Path(out_dir).resolve()
    look = [("report.html", "open in a browser"), ("clusters.csv", "one row per image, joins to images_paths.csv"),
            ("analysis.ipynb", "the run explained, executed")]
    for fname, what in look:
        if (out / fname).exists():
            console.print(f"  {out / fname}  ({what})", highlight=False, soft_wrap=True)

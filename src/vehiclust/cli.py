"""The `vehiclust` command line: a thin layer over the library.

Every command catches the project's own errors, prints one line and exits non-zero; a
traceback appears only with -v.
"""

from __future__ import annotations

import functools
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from vehiclust import __version__, progress as _progress, runlog as _runlog
from vehiclust.defaults import WHITEN
from vehiclust.exceptions import VehiclustError

class _OneLineErrors(typer.core.TyperGroup):
    """A wrong option (``--seed abc``, an unknown flag) is one ``error:`` line and exit code 2,
    like every other bad input, instead of a usage box."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:  # typer >= 0.20 carries its own click
            from typer._click import exceptions as cx
        except ImportError:  # pragma: no cover
            from click import exceptions as cx

        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            rv = super().main(*args, standalone_mode=False, **kwargs)
        except cx.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `vehiclust` alone: the help
                exc.show()
                sys.exit(exc.exit_code)
            cmd = getattr(exc.ctx, "info_name", None) if getattr(exc.ctx, "parent", None) is not None else None
            message = " ".join(exc.format_message().split())
            err.print(f"[bold red]error:[/] {escape(f'vehiclust {cmd}: ' if cmd else '')}{escape(message)}", highlight=False,
                      markup=True, soft_wrap=True)
            sys.exit(2)
        except cx.ClickException as exc:
            err.print(f"[bold red]error:[/] {escape(' '.join(exc.format_message().split()))}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code or 2)
        except (typer.Abort, KeyboardInterrupt):
            err.print("interrupted.")
            sys.exit(130)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="vehiclust",
    help="Cluster vehicle images by their deep descriptors, find outliers, draw maps, describe clusters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
out = Console()
_state: dict[str, Any] = {"verbose": 0}


def _version(value: bool) -> None:
    if value:
        out.print(f"vehiclust {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More log output; -vv for debug and tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors; no progress bars."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
) -> None:
    """vehiclust: cluster vehicle images by their descriptors."""
    _state["verbose"] = verbose
    _progress.ENABLED = not quiet and sys.stderr.isatty()
    _runlog.setup_cli_logging(quiet, verbose)  # warnings as one line; step lines when stderr is a log


def _warn_trusted_pickles(trust: bool) -> None:
    if trust:
        err.print("[bold yellow]warning:[/] --trust-pickle: descriptor pickles are unpickled without the safety "
                  "checks; a malicious file can run code on this machine.", highlight=False, soft_wrap=True)


def friendly_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a VehiclustError (or Ctrl-C) into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except VehiclustError as exc:
            if _state["verbose"]:
                raise
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except (OSError, MemoryError) as exc:  # the machine, not the input: disk full, permissions, memory
            if _state["verbose"]:
                raise
            what = f"{exc.strerror}: {exc.filename}" if isinstance(exc, OSError) and exc.strerror and exc.filename \
                else (str(exc) or type(exc).__name__)
            err.print(f"[bold red]error:[/] {escape(' '.join(what.split()))}", highlight=False, markup=True, soft_wrap=True)
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            err.print("interrupted; finished stages are cached, run again to resume.")
            raise typer.Exit(code=130) from None

    return wrapper


# Options that take several values: `-d a=x b=y` is read as `-d a=x -d b=y`.
MANY = ("-d", "--descriptors", "--heads", "--mix", "--mix-weight")


class ManyValuesCommand(TyperCommand):
    """A command whose MANY options take every value up to the next option, or repeat."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, spread_values(args))


def spread_values(args: list[str]) -> list[str]:
    """``[-d, a=x, b=y, --paths, p]`` → ``[-d, a=x, -d, b=y, --paths, p]``; ``-d=a=x b=y`` too."""
    out: list[str] = []
    current: str | None = None  # the MANY option whose values are being read
    expecting = False  # the next token is an option's own value, whatever it looks like
    for i, token in enumerate(args):
        if token == "--":
            out.extend(args[i:])
            break
        if expecting:
            expecting = False
        elif token.startswith("-") and len(token) > 1:
            option = token.split("=", 1)[0]
            current = option if option in MANY else None
            expecting = current is not None and "=" not in token
        elif current is not None:
            out.append(current)  # one more value of the same option
        out.append(token)
    return out


def _named(items: list[str] | None) -> dict[str, Path]:
    from vehiclust.io import parse_named_paths

    return parse_named_paths(items or [])


@app.command(cls=ManyValuesCommand)
@friendly_errors
def run(
    descriptors: Optional[list[str]] = typer.Option(None, "--descriptors", "-d", metavar="NAME=PATH ...", help="Descriptor files, one NAME=PATH each: -d a=x.pkl b=y.pkl, or repeat -d. Required (or in --config)."),
    paths: Optional[Path] = typer.Option(None, "--paths", "-p", help="images_paths.csv (column 'paths' or 'path'), row i = descriptor row i. Required (or in --config)."),
    images: Optional[Path] = typer.Option(None, "--images", help="Images root; enables image checks, galleries and evidence from pixels."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="CSV with 'path' + attribute columns; reported only, never used to fit."),
    heads: Optional[list[str]] = typer.Option(None, "--heads", metavar="NAME=CSV ...", help="Model head tables (probabilities per path) as evidence for descriptions: --heads a=x.csv b=y.csv."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", show_default="vehiclust-output", help="Output folder."),
    seed: Optional[int] = typer.Option(None, "--seed", show_default="0", help="Random seed."),
    config: Optional[Path] = typer.Option(None, "--config", help="TOML file with the same settings (command-line options win)."),
    families: Optional[str] = typer.Option(None, "--families", show_default="kmeans,eac,gmm,ward,hdbscan,dbscan,leiden", help="Comma-separated algorithm families."),
    k_min: Optional[int] = typer.Option(None, "--k-min", show_default="2", help="Smallest number of clusters tried."),
    k_max: Optional[int] = typer.Option(None, "--k-max", show_default="40", help="Largest number of clusters tried."),
    pca: Optional[float] = typer.Option(None, "--pca", show_default="64", help="PCA dimensions (>= 1) or explained-variance share (< 1)."),
    whiten: Optional[float] = typer.Option(None, "--whiten", show_default=str(WHITEN), help="PCA components / std ** WHITEN: 0 none, 1 full, 0.5 partial."),
    mix: Optional[list[str]] = typer.Option(None, "--mix", metavar="A+B ...", help="Mixed descriptor sets: --mix osnet+vehicle-attributes all ('all' = every set, weights chosen from the data unless --mix-weight; 'auto' = the same, named auto-mix), or repeat --mix."),
    mix_weight: Optional[list[str]] = typer.Option(None, "--mix-weight", metavar="NAME=WEIGHT ...", show_default="equal", help="Weight of a block in mixes (given for any block: 'all' uses these, equal otherwise)."),
    best_name: Optional[str] = typer.Option(None, "--best", help="Deliver this set, mix or 'consensus' in clusters.csv instead of the label-free pick."),
    contamination: Optional[float] = typer.Option(None, "--contamination", help="Force this outlier share instead of the data-driven threshold."),
    map_method: Optional[str] = typer.Option(None, "--map-method", show_default="umap", help="umap, tsne or pca."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", show_default="-1", help="Processes for per-set work (sweeps, maps) on 50k+ rows; -1 = every core."),
    engine: Optional[str] = typer.Option(None, "--engine", show_default="local", help="local or dask."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Dask scheduler address (with --engine dask); default a LocalCluster."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help="Unpickle descriptor files without the safety allow-list."),
    force: bool = typer.Option(False, "--force", help="Recompute every stage instead of reusing cached results."),
    no_notebook: bool = typer.Option(False, "--no-notebook", help="Skip writing the executed analysis notebook."),
    no_html: bool = typer.Option(False, "--no-html", help="Skip writing report.html."),
) -> None:
    """Load → validate → prepare → cluster → outliers → map → describe → compare → report."""
    from vehiclust.config import RunConfig
    from vehiclust.exceptions import InputError
    from vehiclust.pipeline import run as run_pipeline

    overrides: dict[str, Any] = {
        "paths": paths, "images": images, "labels": labels, "out": out_dir, "seed": seed,
        "k_min": k_min, "k_max": k_max, "contamination": contamination, "map_method": map_method,
        "engine": engine, "scheduler": scheduler, "n_jobs": jobs, "best": best_name,
    }
    if descriptors:
        overrides["descriptors"] = _named(descriptors)
    if heads:
        overrides["heads"] = _named(heads)
    if families:
        overrides["families"] = tuple(f.strip() for f in families.split(",") if f.strip())
    if pca is not None:
        overrides["pca_components"] = int(pca) if pca >= 1 else float(pca)
    if whiten is not None:
        overrides["whiten"] = float(whiten)
    if mix:
        overrides["mixes"] = list(mix)
    if mix_weight:
        weights = {}
        for item in mix_weight:
            name, _, value = item.partition("=")
            try:
                weights[name] = float(value)
            except ValueError:
                raise InputError(f"--mix-weight expects NAME=NUMBER, got '{item}'.") from None
        overrides["mix_weights"] = weights
    flags = {"trust_pickle": trust_pickle or None, "force": force or None,
             "notebook": False if no_notebook else None, "html": False if no_html else None,
             "progress": _progress.ENABLED}
    overrides.update(flags)
    if config is not None:
        cfg = RunConfig.from_toml(config, **overrides)
    else:
        cfg = RunConfig(**{k: v for k, v in overrides.items() if v is not None})
    cfg.validate()
    _warn_trusted_pickles(cfg.trust_pickle)
    start = time.perf_counter()
    results = run_pipeline(cfg)
    _runlog.summary(results, time.perf_counter() - start, cfg.out, out)
    if results.metadata.get("label_note"):
        out.print(f"[bold red]{results.metadata['label_note']}[/]")


@app.command(cls=ManyValuesCommand)
@friendly_errors
def validate(
    descriptors: list[str] = typer.Option(..., "--descriptors", "-d", help="NAME=PATH of a descriptor file (repeat for several sets)."),
    paths: Path = typer.Option(..., "--paths", "-p", help="images_paths.csv."),
    images: Optional[Path] = typer.Option(None, "--images", help="Images root, to check that paths stay inside it."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="Labels CSV to join on path."),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the findings to this CSV."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help="Unpickle without the safety allow-list."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Where pickles are converted to .npy [default: none, read in memory]."),
) -> None:
    """Check descriptor files and paths; print (and optionally write) the findings."""
    from vehiclust.exceptions import InputError
    from vehiclust.io import load_case
    from vehiclust.io.atomic import atomic_write_csv
    from vehiclust.prepare import validate_descriptors

    if out_file is not None and out_file.is_dir():
        raise InputError(f"--out {out_file} is a folder; give the CSV file to write.")
    _warn_trusted_pickles(trust_pickle)
    case = load_case(_named(descriptors), paths, images=images, labels=labels, trust_pickle=trust_pickle, cache_dir=cache_dir)
    result = validate_descriptors(case.descriptors, case.samples, progress=_progress.ENABLED, notes=case.notes)
    for name, arr in case.descriptors.items():
        out.print(f"{name}: {arr.shape[0]:,} rows x {arr.shape[1]} columns, {int(result.valid_rows[name].sum()):,} valid rows, {len(result.kept_columns[name])} columns kept")
    if result.findings.empty:
        out.print("No problems found.")
    for row in result.findings.itertuples():
        out.print(f"[{row.severity}] {row.descriptor}: {row.detail}", highlight=False, markup=False)
    if out_file is not None:
        atomic_write_csv(result.findings, out_file)


@app.command()
@friendly_errors
def assign(
    run_dir: Path = typer.Argument(..., help="A run directory written by `vehiclust run`."),
    descriptors: list[str] = typer.Option(..., "--descriptors", "-d", help="NAME=PATH of the new rows' descriptors, same NAMEs as the run."),
    paths: Path = typer.Option(..., "--paths", "-p", help="images_paths.csv of the new rows."),
    images: Optional[Path] = typer.Option(None, "--images", help="Images root of the new rows; enables the image checks."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="Output folder: clusters.csv, drift.csv, drift.json, drift.html."),
    descriptor_set: Optional[str] = typer.Option(None, "--set", help="Use this set's clusters (default: the run's chosen set, the one in its clusters.csv)."),
    trust_pickle: bool = typer.Option(False, "--trust-pickle", help="Unpickle descriptor files without the safety allow-list."),
) -> None:
    """Place new images into RUN_DIR's clusters (same ids, names, outlier rules) and report the drift."""
    import json

    from vehiclust.assign import assign_run

    table = assign_run(run_dir, _named(descriptors), paths, out_dir, images=images, descriptor_set=descriptor_set,
                       trust_pickle=trust_pickle, progress=_progress.ENABLED)
    summary = json.loads((out_dir / "drift.json").read_text())
    out.print(f"{len(table):,} rows assigned to {summary['descriptor_set']}: {out_dir / 'clusters.csv'}")
    out.print(summary["sentence"], highlight=False, markup=False)


@app.command()
@friendly_errors
def notebook(
    run_dir: Path = typer.Argument(..., help="A run directory written by `vehiclust run`."),
    no_execute: bool = typer.Option(False, "--no-execute", help="Write the notebook without running it."),
    timeout: int = typer.Option(600, "--timeout", help="Seconds one cell may run."),
) -> None:
    """(Re)write RUN_DIR/analysis.ipynb from the run's results and execute it."""
    from vehiclust.report import write_notebook

    path = write_notebook(run_dir, execute=not no_execute, timeout=timeout)
    out.print(f"Notebook written: {path}")


@app.command()
@friendly_errors
def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by `vehiclust run`."),
    max_points: int = typer.Option(12_000, "--max-points", help="Most points drawn on the 2-D map (a seeded sample beyond)."),
) -> None:
    """(Re)write RUN_DIR/report.html, a self-contained page, from the run's results."""
    from vehiclust.exceptions import InputError
    from vehiclust.report import write_html_report
    from vehiclust.results import RunResults

    if not (run_dir / "metadata.json").is_file():
        raise InputError(f"{run_dir} is not a vehiclust run directory: it has no metadata.json.")
    path = write_html_report(RunResults.load(run_dir), run_dir, max_points=max_points)
    out.print(f"Report written: {path}")


@app.command()
@friendly_errors
def extract(
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Descriptor model; see --list-models."),
    out_file: Optional[Path] = typer.Option(None, "--out", "-o", help="Descriptor file to write: .pkl (case format) or .npy."),
    images: Optional[Path] = typer.Option(None, "--images", help="Images root. Without --paths the folder is walked and images_paths.csv written next to --out."),
    paths: Optional[Path] = typer.Option(None, "--paths", "-p", help="images_paths.csv; row i of the output = line i. Relative to --images (default: its own folder)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Weights file, or a folder laid out like shared/models [default: $VEHICLUST_MODELS]."),
    heads_out: Optional[Path] = typer.Option(None, "--heads-out", help="CSV of per-image head predictions (vehicle-attributes: colour/type; efficientnet-lite0: ImageNet)."),
    batch_size: int = typer.Option(32, "--batch-size", help="Images per inference batch."),
    n_jobs: int = typer.Option(2, "--n-jobs", help="Threads decoding images."),
    input_size: Optional[str] = typer.Option(None, "--input-size", help="Generic onnx model: input side in pixels, 224 or HEIGHTxWIDTH (256x128)."),
    mean: Optional[str] = typer.Option(None, "--mean", help="Generic onnx model: R,G,B mean of [0,1] pixels, e.g. 0.485,0.456,0.406."),
    std: Optional[str] = typer.Option(None, "--std", help="Generic onnx model: R,G,B std, e.g. 0.229,0.224,0.225."),
    list_models_: bool = typer.Option(False, "--list-models", help="List the models and exit."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --out, --heads-out or images_paths.csv."),
) -> None:
    """Compute descriptors (and optional head predictions) from images with a real model."""
    from vehiclust.exceptions import InputError
    from vehiclust.extract import model_summaries
    from vehiclust.extract.command import run_extract

    if list_models_:
        for name, summary in model_summaries().items():
            out.print(f"{name:20s} {summary}", highlight=False, soft_wrap=True)
        return
    if model is None or out_file is None:
        raise InputError("extract needs --model NAME and --out FILE (.pkl or .npy); see --list-models.")
    options: dict[str, Any] = {}
    for key, text in (("mean", mean), ("std", std)):
        if text is not None:
            try:
                options[key] = [float(v) for v in text.split(",")]
            except ValueError:
                raise InputError(f"--{key} expects one number or R,G,B numbers. Got '{text}'.") from None
    if input_size is not None:
        try:
            options["input_size"] = [int(v) for v in input_size.lower().split("x")]
        except ValueError:
            raise InputError(f"--input-size expects 224 or HEIGHTxWIDTH such as 256x128. Got '{input_size}'.") from None
        if len(options["input_size"]) == 1:
            options["input_size"] = options["input_size"] * 2
    if options and model != "onnx":
        raise InputError(f"--input-size/--mean/--std apply only to --model onnx. Got --model {model}.")
    report = run_extract(model=model, out=out_file, images=images, paths=paths, weights=weights, heads_out=heads_out,
                         batch_size=batch_size, n_jobs=n_jobs, options=options or None, progress=_progress.ENABLED,
                         overwrite=overwrite)
    ext = report.extraction
    n_bad = len(ext.errors)
    out.print(f"{len(ext.paths):,} images → {report.out} ({ext.features.shape[1]}-d, {ext.images_per_second:,.1f} img/s); "
              f"{n_bad:,} unreadable" + (f", listed in {report.errors_out}" if report.errors_out else "") + ".", highlight=False)
    if report.paths_file is not None:
        out.print(f"Paths written: {report.paths_file}", highlight=False)
    if report.heads_out is not None:
        out.print(f"Heads written: {report.heads_out}", highlight=False)


@app.command(cls=ManyValuesCommand)
@friendly_errors
def outliers(
    descriptors: Optional[list[str]] = typer.Option(None, "--descriptors", "-d", help="NAME=PATH of a descriptor file (repeat for several sets)."),
    paths: Optional[Path] = typer.Option(None, "--paths", "-p", help="images_paths.csv, row i = descriptor row i."),
    images: Optional[Path] = typer.Option(None, "--images", help="Images root; adds the image checks (blur, dark, duplicates, no vehicle...)."),
    out_dir: Path = typer.Option(Path("vehiclust-outliers"), "--out", "-o", help="Output folder."),
    contamination: Optional[float] = typer.Option(None, "--contamination", help="Force this outlier share instead of the data-driven threshold."),
    clusters: int = typer.Option(8, "--clusters", help="k-means clusters for 'far_from_cluster' (0 = distance to the data centre)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Models folder (like shared/models) for the no_vehicle detector [default: $VEHICLUST_MODELS]."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Only the outlier stage: flagged rows with every check's score in outliers.csv, worst first."""
    from vehiclust.exceptions import InputError
    from vehiclust.io.atomic import atomic_write_csv
    from vehiclust.outliers import find_outliers

    if not descriptors or paths is None:
        raise InputError("outliers needs --descriptors NAME=PATH and --paths FILE.")
    report = find_outliers(_named(descriptors), paths, images=images, contamination=contamination, n_clusters=clusters,
                           random_state=seed, cache_dir=out_dir / ".cache", weights=weights, progress=_progress.ENABLED)
    out_dir.mkdir(parents=True, exist_ok=True)
    flagged = report.flagged()
    atomic_write_csv(flagged, out_dir / "outliers.csv")
    if report.image_checks is not None:
        atomic_write_csv(report.image_checks, out_dir / "image_checks.csv")
    if report.validation is not None:
        atomic_write_csv(report.validation, out_dir / "validation.csv")
    for name, table in report.tables.items():
        n_flag = int(table["is_outlier"].sum())
        reasons = table.loc[table["is_outlier"], "outlier_reasons"].str.split(";").explode().value_counts()
        top = ", ".join(f"{r} {c:,}" for r, c in reasons.head(6).items())
        out.print(f"{name}: {n_flag:,} of {len(table):,} rows flagged" + (f" ({top})" if top else "") + ".", highlight=False)
    out.print(f"Outliers in {(out_dir / 'outliers.csv').resolve()}", highlight=False, soft_wrap=True)

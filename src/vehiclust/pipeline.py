"""`pipeline.run(config)`: load → validate → prepare → cluster → outliers → map → describe
→ compare → report, returning one :class:`~vehiclust.results.RunResults`.

Each stage is one function below that calls its subpackage; the stage functions are the only
place where stages meet, so a newcomer can read the whole job top to bottom here.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import vehiclust
from vehiclust import progress as _progress, runlog as _runlog
from vehiclust.cache import StageCache, cache_key
from vehiclust.config import RunConfig
from vehiclust.exceptions import InputError
from vehiclust.neighbors import GRAPH_NEIGHBOURS
from vehiclust.prepare import PreparedSet  # noqa: F401 - re-exported: stages build it here
from vehiclust.results import DescriptorRun, RunResults
from vehiclust.seeds import child_seeds

log = logging.getLogger(__name__)


@dataclass
class RunContext:
    """State passed between stages."""

    config: RunConfig
    seeds: dict[str, int]
    samples: pd.DataFrame  # path, resolved (absolute image path or ""), label columns
    validation: pd.DataFrame
    prepared: dict[str, PreparedSet] = field(default_factory=dict)
    runs: dict[str, DescriptorRun] = field(default_factory=dict)
    case: Any = None  # vehiclust.io.Case: descriptor arrays (memory-mapped) + samples
    validity: Any = None  # vehiclust.prepare.Validation: valid rows, kept columns, findings
    image_checks: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    agreement: pd.DataFrame | None = None
    attribute_alignment: pd.DataFrame | None = None
    best: str = ""
    best_reason: str = ""
    follows: pd.DataFrame | None = None  # what each clustering follows (compare stage)
    evidence: Any = None  # vehiclust.evidence.EvidenceCache: per-image evidence (describe stage, read by compare)
    type_evidence: Any = False  # what an ImageNet classifier says each vehicle is (best-set rule); False: not asked yet
    label_note: str = ""  # the labels disagree with the label-free pick (reported, never used)
    cache: StageCache | None = None  # expensive stage results, keyed by content + parameters
    source_keys: dict[str, str] = field(default_factory=dict)  # descriptor name -> content hash
    timings: dict[str, float] = field(default_factory=dict)
    describing: Any = None  # the sets' descriptions still being written in worker processes (see _describe_in_workers)
    mapping: Any = None  # the sets' maps still being laid out in worker processes (see _start_maps)
    results: RunResults | None = None


STAGES = ("load", "prepare", "mix", "cluster", "image_checks", "outliers", "maps", "describe", "compare", "report")


def stage_seeds(seed: int) -> dict[str, int]:
    """One user seed → an independent, recorded seed per stage."""
    return child_seeds(seed, STAGES)


def run(config: RunConfig) -> RunResults:
    """Run the whole job and write the outputs into ``config.out``."""
    config.validate()  # every setting, before any work and before the output folder exists
    _progress.ENABLED = config.progress
    ctx = _stage_load(config)  # an unreadable input stops the run before the output folder exists
    out = Path(config.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"The output folder {out} cannot be created ({exc.strerror}).") from None
    _runlog.step("load", ctx.timings["load"], len(ctx.samples), f"{len(ctx.case.descriptors)} sets, {len(ctx.samples):,} rows")
    with main_threads(len(ctx.samples)):
        for stage in (_stage_prepare, _stage_mix, _stage_cluster, _stage_image_checks, _stage_outliers,
                      _stage_consensus, _stage_maps, _stage_describe, _stage_compare, _stage_report):
            name = stage.__name__.removeprefix("_stage_")
            start = time.perf_counter()
            stage(ctx)
            ctx.timings[name] = round(time.perf_counter() - start, 3)
            log.info("stage %s done in %.1f s", name, ctx.timings[name])
            if ctx.timings[name] >= 0.05:  # a stage with nothing to do (no mixes, no images) is not news
                _runlog.step(f"{name} done", ctx.timings[name], len(ctx.samples))
    assert ctx.results is not None
    return ctx.results


# Up to this many rows this process runs BLAS and OpenMP on one thread. Its matrices are then too
# small for a second thread to pay, and the per-set worker processes (one thread each) hold the
# other cores; a second thread only spins waiting for work: on the demo's prepare stage, 1.5 CPU-s
# on one thread, 49 CPU-s on two on a busy 2-core machine (bench/RESULTS.md, "make demo").
ONE_THREAD_ROWS = 50_000


def main_threads(n_rows: int) -> Any:
    """BLAS / OpenMP on one thread in this process for a small run (restored afterwards)."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1) if n_rows <= ONE_THREAD_ROWS else nullcontext()


# ---- load + validate --------------------------------------------------------------------
def _stage_load(config: RunConfig) -> RunContext:
    from vehiclust.io import content_key, load_case
    from vehiclust.prepare import validate_descriptors

    start = time.perf_counter()
    case = load_case(
        descriptors=config.descriptors,
        paths=config.paths,
        images=config.images,
        labels=config.labels,
        trust_pickle=config.trust_pickle,
        cache_dir=config.cache_path / "descriptors",
    )
    validation = validate_descriptors(case.descriptors, case.samples, progress=config.progress, notes=case.notes)
    ctx = RunContext(
        config=config,
        seeds=stage_seeds(config.seed),
        samples=case.samples,
        validation=validation.findings,
        case=case,
        validity=validation,
        cache=StageCache(config.cache_path / "stages", enabled=not config.force),
        source_keys={name: content_key(src) for name, src in case.sources.items()},
    )
    ctx.timings["load"] = round(time.perf_counter() - start, 3)
    return ctx


# ---- prepare ----------------------------------------------------------------------------
def _stage_prepare(ctx: RunContext) -> None:
    _prepare_locally(ctx)
    # The raw descriptors are not read again: unmap them (at full size, GBs of resident pages).
    ctx.case.descriptors.clear()
    if ctx.config.best is not None:  # --best: a wrong name fails now, not after the long stages
        from vehiclust.compare import CONSENSUS, check_best_name

        check_best_name(ctx.config.best, [*ctx.prepared, *_mix_names(ctx), CONSENSUS])


def _prepare_locally(ctx: RunContext) -> None:
    from vehiclust.engine import engine_for

    cfg = ctx.config
    for name, raw in ctx.case.descriptors.items():
        valid = ctx.validity.valid_rows[name]
        keep_cols = ctx.validity.kept_columns[name]
        prep = engine_for(cfg).preparer(
            l2_normalize=cfg.l2_normalize,
            n_components=cfg.pca_components,
            whiten=cfg.whiten,
            columns=keep_cols,
            random_state=ctx.seeds["prepare"],
        )
        key = cache_key(ctx.source_keys[name], prep.get_params(), valid)
        cached = ctx.cache.load("prepare", name, key) if ctx.cache else None
        if cached is None or "prep_mean" not in cached:
            from vehiclust.assign import preparation_state

            X = prep.fit_transform(raw, rows=valid)
            cached = {"X": X, "preparation": prep.summary(), **preparation_state(prep, raw, valid, ctx.seeds["prepare"])}
            if ctx.cache:
                ctx.cache.save("prepare", name, key, cached)
        ctx.prepared[name] = PreparedSet(name=name, X=cached["X"], valid=valid, preparation=cached["preparation"],
                                         model={k: v for k, v in cached.items() if k.startswith("prep_")})


# ---- mixes (compare issue) --------------------------------------------------------------
def _stage_mix(ctx: RunContext) -> None:
    """The mixes with given weights (``a+b``, ``all`` with ``--mix-weight``), clustered beside the
    single sets; the auto-weighted ones wait for the single sets' clusterings (:func:`_anchored_mixes`)."""
    from vehiclust.compare import build_mixes, is_auto

    cfg = ctx.config
    fixed = [spec for spec in cfg.mixes if not is_auto(spec, _single_names(ctx), cfg.mix_weights)]
    for mixed in build_mixes(_singles(ctx), fixed, weights=cfg.mix_weights, n_components=cfg.pca_components,
                             random_state=ctx.seeds["mix"]):
        ctx.prepared[mixed.name] = mixed


def _anchored_mixes(ctx: RunContext) -> None:
    """The auto-weighted mixes (``all`` without weights, ``auto``), built once the single sets are
    clustered, anchored on the selection rule's pick among them
    (:func:`vehiclust.compare.choose_single`), so the mix refines the set the run delivers; chosen
    from the blocks alone, the anchor could be another set (on the Zenodo crops, OSNet instead of
    EfficientNet). A mix that passes its anchor through unchanged takes that set's clustering as
    it is (same space, seed and sweep: the same result, without a second sweep). Specs that name
    a mix built already (the first spec wins) are skipped."""
    from vehiclust.compare import build_mixes, choose_single, is_auto

    cfg = ctx.config
    names = _single_names(ctx)
    auto = [spec for spec in cfg.mixes
            if is_auto(spec, names, cfg.mix_weights) and _mix_name(spec, names) not in ctx.prepared]
    if not auto:
        return
    anchor = choose_single(_candidates(ctx), random_state=ctx.seeds["compare"], type_evidence=_type_evidence(ctx))
    log.info("auto-weighted mixes are anchored on %s, the rule's pick among the single sets", anchor)
    singles = _singles(ctx)
    for mixed in build_mixes(singles, auto, weights=cfg.mix_weights, n_components=cfg.pca_components,
                             random_state=ctx.seeds["mix"], anchor=anchor):
        ctx.prepared[mixed.name] = mixed
        block = mixed.preparation.get("passthrough")
        if block in ctx.runs and np.array_equal(mixed.valid, singles[block].valid):
            mixed.graph = singles[block].graph
            ctx.runs[mixed.name] = replace(ctx.runs[block], name=mixed.name, preparation=mixed.preparation,
                                           labels=ctx.runs[block].labels.copy())
            ctx.runs[mixed.name].selector = ctx.runs[block].selector
    _cluster_pending(ctx)  # the mixes that are not one set passed through


def _singles(ctx: RunContext) -> dict[str, PreparedSet]:
    """The prepared single descriptor sets (not the mixes), in input order."""
    return {n: ps for n, ps in ctx.prepared.items() if ps.preparation.get("kind") not in ("mix", "consensus")}


def _single_names(ctx: RunContext) -> list[str]:
    return list(_singles(ctx))


def _type_evidence(ctx: RunContext) -> pd.DataFrame | None:
    """What an ImageNet classifier says each vehicle is, for the best-set rule: looked up once per
    run (the mix stage's anchor and the compare stage read the same), into the run's evidence
    cache so the describe stage does not look at those images again. None with one set."""
    if ctx.type_evidence is False:
        from vehiclust.compare import type_evidence
        from vehiclust.evidence import EvidenceCache

        ctx.type_evidence = None
        if len(ctx.source_keys) > 1:  # one set: nothing to choose between
            ctx.evidence = ctx.evidence if ctx.evidence is not None else EvidenceCache()
            start = time.perf_counter()
            ctx.type_evidence = type_evidence(ctx.samples, ctx.config.heads, random_state=ctx.seeds["compare"],
                                              cache=ctx.evidence, cache_dir=ctx.config.cache_path / "image_checks",
                                              progress=ctx.config.progress)
            if ctx.type_evidence is not None:
                log.info("type evidence: an ImageNet classifier's vehicle types for %d images (%.1f s)",
                         int(ctx.type_evidence["imagenet_type"].notna().sum()), time.perf_counter() - start)
    return ctx.type_evidence


def _mix_name(spec: str, sets: list[str]) -> str:
    """The name the mix ``spec`` gets among the single sets ``sets``."""
    from vehiclust.compare import AUTO, AUTO_NAME, mix_name, parse_mix_spec

    return AUTO_NAME if str(spec).strip().lower() == AUTO else mix_name(parse_mix_spec(spec, sets))


def _mix_names(ctx: RunContext) -> list[str]:
    """The names the mixes of this run will have (for checking ``--best`` before any work)."""
    return [_mix_name(spec, _single_names(ctx)) for spec in ctx.config.mixes]


def _candidates(ctx: RunContext) -> list[Any]:
    """Every clustered set as a :class:`~vehiclust.compare.Candidate` (compare's input)."""
    from vehiclust.compare import Candidate

    out = []
    for name, run_ in ctx.runs.items():
        ps = ctx.prepared[name]
        kind = ps.preparation.get("kind", "single")
        out.append(Candidate(
            name=name, X=ps.X, valid=ps.valid, labels=run_.labels,
            kind=kind if kind in ("mix", "consensus") else "single", preparation=ps.preparation,
            refit=_selector_refit(getattr(run_, "selector", None), ctx.seeds["compare"], run_.chosen, run_.best_params),
            outliers=None if run_.outliers is None else run_.outliers["is_outlier"].to_numpy(bool),
            chosen=run_.chosen,
        ))
    return out


# ---- cluster (clustering-engine issue) --------------------------------------------------
def _fit_selector(X: np.ndarray, params: dict[str, Any], graph: Any = None, engine: Any = None) -> Any:
    """One set's sweep; module-level so a worker process can run it."""
    from vehiclust.engine import LocalEngine

    return (engine or LocalEngine()).selector(**params).fit(X, graph=graph)


def _fit_selector_with_graph(X: np.ndarray, params: dict[str, Any], seed: int, engine: Any = None) -> tuple[Any, Any]:
    """One set's k-NN graph (Leiden clusters it; the outliers and maps reuse it) and sweep."""
    graph = _set_graph(X, seed, params.get("progress"), engine)
    return _fit_selector(X, params, graph, engine), graph


def _set_graph(X: np.ndarray, seed: int, progress: Any, engine: Any = None) -> Any:
    """The one k-NN graph of a set, built alike whether the cluster stage ran or was read from the
    cache (a resumed run then gives the same neighbours, twins and outlier scores)."""
    from vehiclust.engine import LocalEngine

    return (engine or LocalEngine()).knn_graph(X, GRAPH_NEIGHBOURS, random_state=seed, progress=progress) if len(X) > 1 else None




def _resumed_selector(cached: dict[str, Any], seed: int | None = None) -> Any:
    """The parts of a fitted ClusterSelector that the outlier and compare stages read (centres,
    chosen configuration), from the cache: a resumed run then scores exactly like a clean one.
    ``seed``: the selector's random_state (the assignment model draws EAC / Ward trees again)."""
    from types import SimpleNamespace

    return SimpleNamespace(cluster_centers_=cached["centers"], best_=cached["chosen"],
                           best_params_=cached["best_params"], random_state=seed)


def _stage_cluster(ctx: RunContext) -> None:
    """Every prepared set and mix with given weights, side by side; then the auto-weighted mixes,
    anchored on the rule's pick among the single sets (:func:`_anchored_mixes`)."""
    _cluster_pending(ctx)
    _anchored_mixes(ctx)


def _cluster_pending(ctx: RunContext) -> None:
    from vehiclust.parallel import processes, run_jobs
    from vehiclust.cluster import sweep_params
    from vehiclust.cluster import summarise
    from vehiclust.engine import engine_for

    cfg = ctx.config
    n = len(ctx.samples)
    engine = engine_for(cfg)
    n_jobs = engine.n_jobs(cfg.n_jobs)
    selector = engine.selector(families=cfg.families, k_min=cfg.k_min, k_max=cfg.k_max,
                               random_state=ctx.seeds["cluster"], **sweep_params(n))
    params = {k: v for k, v in selector.get_params().items() if k != "progress"}  # every default: the cache key
    found: dict[str, tuple[dict[str, Any], Any]] = {}
    todo: list[tuple[str, str]] = []
    for name, ps in ctx.prepared.items():
        if name in ctx.runs:  # clustered already (before the auto-weighted mixes were built)
            continue
        key = cache_key(ps.X, ps.valid, params)
        cached = ctx.cache.load("cluster", name, key) if ctx.cache else None
        if cached is None or "centers" not in cached:
            todo.append((name, key))
        else:
            found[name] = (cached, _resumed_selector(cached, ctx.seeds["cluster"]))  # what later stages read of the estimator
    in_workers = processes(n_jobs, len(todo), n) > 1
    jobs = [(ctx.prepared[name].X, {**params, "progress": cfg.progress and not in_workers}, ctx.seeds["cluster"],
             engine) for name, _ in todo]
    fitted = run_jobs(_fit_selector_with_graph, jobs, n_jobs=n_jobs, n_rows=n, description="clustering sets",
                      progress=cfg.progress, on_done=lambda i, fit, s: _runlog.step(
                          f"cluster {todo[i][0]}", s, n, f"{len(fit[0].selection_)} configurations, chose {fit[0].n_clusters_} clusters"))
    for (name, key), (selector, graph) in zip(todo, fitted):
        ctx.prepared[name].graph = graph  # the outliers and the maps search no further
        cached = {"labels": np.asarray(selector.labels_, dtype=np.int64), "selection": selector.selection_,
                  "chosen": selector.best_, "centers": np.asarray(selector.cluster_centers_, dtype=np.float32),
                  "best_params": dict(selector.best_params_)}
        if in_workers:  # the worker's own log line is lost
            log.info("%s: chosen %s", name, summarise(selector.best_))
        if ctx.cache:
            ctx.cache.save("cluster", name, key, cached)
        found[name] = (cached, selector)
    for name, ps in ctx.prepared.items():
        if name not in found:
            continue
        cached, selector = found[name]
        labels = np.full(n, -1, dtype=np.int64)
        labels[ps.valid] = cached["labels"]
        ctx.runs[name] = DescriptorRun(
            name=name,
            labels=labels,
            selection=cached["selection"],
            chosen=cached["chosen"],
            preparation=ps.preparation,
            best_params=dict(cached["best_params"]),
            cluster_centers=cached["centers"],
        )
        ctx.runs[name].selector = selector


def _typicality(ps: PreparedSet, labels: np.ndarray) -> np.ndarray:
    """Per row, how typical it is of its cluster in the prepared space (1 = nearest the centre)."""
    from vehiclust.cluster import typicality

    out = np.full(len(labels), np.nan, dtype=np.float32)
    out[ps.valid] = typicality(ps.X, np.asarray(labels)[ps.valid])
    return out


# ---- image checks (outliers issue) ------------------------------------------------------
def _stage_image_checks(ctx: RunContext) -> None:
    """Per-image quality checks; only when an images root is given (cached per image)."""
    if ctx.config.images is None:
        return
    import warnings

    from vehiclust.quality import ImageChecker

    checker = ImageChecker(cache_dir=ctx.config.cache_path / "image_checks", progress=ctx.config.progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # skipped checks become validation notes
        checker.fit(ctx.samples["resolved"].fillna("").astype(str).tolist())
    table = checker.table_
    table.insert(0, "path", ctx.samples["path"].to_numpy())
    ctx.image_checks = table
    notes = [
        {"descriptor": "", "check": f"image_check_skipped:{check}", "severity": "warning", "count": len(table),
         "detail": f"The '{check}' image check did not run: {why}"}
        for check, why in checker.skipped_.items()
    ]
    if notes:
        ctx.validation = pd.concat([ctx.validation, pd.DataFrame(notes)], ignore_index=True)


# ---- outliers (outliers issue) ----------------------------------------------------------
def _fit_outliers(X: np.ndarray, labels: np.ndarray, centers: np.ndarray | None, contamination: float | None,
                  seed: int, progress: bool, graph: Any = None, graph_seed: int = 0, engine: Any = None) -> tuple[Any, Any]:
    """One set's k-NN graph (unless the cluster stage built it) and detector ensemble;
    module-level so a worker process can run it."""
    from vehiclust.engine import LocalEngine

    ensemble = (engine or LocalEngine()).ensemble(contamination=contamination, random_state=seed)
    if graph is None or graph.indices.shape[0] != len(X) or graph.k < min(ensemble.n_neighbors, len(X) - 1):
        graph = _set_graph(X, graph_seed, progress, engine)  # GRAPH_NEIGHBOURS (15) covers the detectors' 10
    return graph, ensemble.fit(X, labels, centers=centers, graph=graph)


def _stage_outliers(ctx: RunContext) -> None:
    """Per-row outlier table for each descriptor set; invalid rows are always outliers.

    The k-NN graph searched here is kept on the prepared set: the maps place rows with it."""
    from vehiclust.parallel import processes, run_jobs
    from vehiclust.assign import model_for_set
    from vehiclust.engine import engine_for
    from vehiclust.outliers import outlier_table, vehicle_mass

    cfg = ctx.config
    n = len(ctx.samples)
    engine = engine_for(cfg)
    n_jobs = engine.n_jobs(cfg.n_jobs)
    vehicle_prob = vehicle_mass(cfg.heads, ctx.samples["path"]) if ctx.image_checks is not None else None
    todo = [name for name in ctx.runs if len(ctx.prepared[name].X)]
    show = cfg.progress and processes(n_jobs, len(todo), n) == 1
    jobs = []
    for name in todo:
        ps, run_ = ctx.prepared[name], ctx.runs[name]
        centers = getattr(getattr(run_, "selector", None), "cluster_centers_", None)
        jobs.append((ps.X, np.asarray(run_.labels)[ps.valid], centers, cfg.contamination, ctx.seeds["outliers"], show,
                     ps.graph, ctx.seeds["cluster"], engine))
    fitted = dict(zip(todo, run_jobs(_fit_outliers, jobs, n_jobs=n_jobs, n_rows=n, description="outliers",
                                     progress=cfg.progress, on_done=lambda i, fit, s: _runlog.step(
                                         f"outliers {todo[i]}", s, n, f"{int(fit[1].labels_.sum()):,} flagged"))))
    for name in ctx.runs:
        ctx.prepared[name].graph = fitted.get(name, (None, None))[0]
    _start_maps(ctx)  # the maps need only the graphs: laid out in the workers while this process goes on
    for name, run_ in ctx.runs.items():
        ps = ctx.prepared[name]
        ensemble = fitted.get(name, (None, None))[1]
        run_.outliers = outlier_table(n, ps.valid, ensemble, ctx.image_checks, paths=ctx.samples.get("path_given", ctx.samples["path"]),
                                      vehicle_prob=vehicle_prob, descriptors=ps.X)
        run_.model = model_for_set(ps, run_, ensemble)  # what `vehiclust assign` needs


# ---- maps (maps-and-words issue) --------------------------------------------------------
MAP_LAYOUT = "sample-umap-small-1"  # in the maps' cache key: bumped when a layout changes


def _map_plan(ctx: RunContext, names: list[str]) -> tuple[dict, dict, list]:
    """(cache keys, cached coordinates or None, (name, d) still to lay out) of the maps of ``names``."""
    cfg = ctx.config
    dims = (2, 3) if cfg.map_3d else (2,)
    # The consensus space is a spectral embedding already: a PCA map of it is enough and saves
    # a sixth UMAP (the largest single cost of the consensus at full size).
    keys = {(name, d): cache_key(ctx.prepared[name].X, ctx.prepared[name].valid,
                                 {"method": _map_method(ctx, name), "d": d, "seed": ctx.seeds["maps"], "layout": MAP_LAYOUT})
            for name in names for d in dims}
    found = {nd: (ctx.cache.load("maps", nd[0], key) if ctx.cache else None) for nd, key in keys.items()}
    return keys, found, [nd for nd, hit in found.items() if hit is None or "coords" not in hit]


def _map_method(ctx: RunContext, name: str) -> str:
    return "pca" if ctx.prepared[name].preparation.get("kind") == "consensus" else ctx.config.map_method


def _map_jobs(ctx: RunContext, todo: list, show: bool) -> list[tuple]:
    """:func:`vehiclust.embed.full_coords`'s arguments for each (name, d) of ``todo``."""
    return [(ctx.prepared[name].X, ctx.prepared[name].valid, d, _map_method(ctx, name), ctx.seeds["maps"], 20_000, show,
             ctx.prepared[name].graph) for name, d in todo]


def _start_maps(ctx: RunContext) -> None:
    """On a large run in worker processes: lay out the maps of the sets in a thread once their
    k-NN graphs are final, while this process goes on with the outlier tables, the assignment
    models and the consensus (the maps read only the prepared rows and the graph); :func:`_stage_maps`
    collects them. The same coordinates as when the maps stage lays them out itself (each map
    is seeded on its own). Nothing where that does not pay (small data, one process)."""
    import threading

    from threadpoolctl import threadpool_limits

    from vehiclust.embed import full_coords
    from vehiclust.parallel import MIN_ROWS, processes, run_jobs

    cfg, n = ctx.config, len(ctx.samples)
    names = [name for name in ctx.runs if ctx.prepared[name].graph is not None]
    if n < MIN_ROWS or not names:
        return
    keys, found, todo = _map_plan(ctx, names)
    if processes(cfg.n_jobs, len(todo), n) < 2:
        return
    jobs = _map_jobs(ctx, todo, False)
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["done"] = run_jobs(full_coords, jobs, n_jobs=cfg.n_jobs, n_rows=n, description="maps", progress=False,
                                       on_done=lambda i, xy, s: _runlog.step(
                                           f"map {todo[i][0]}", s, n, f"{todo[i][1]}-D {_map_method(ctx, todo[i][0])}, laid out beside the outliers"))
        except BaseException as exc:  # raised again by _stage_maps
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="vehiclust-maps", daemon=True)
    thread.start()
    # the worker processes hold the cores until the maps are in: BLAS and OpenMP here on one thread
    ctx.mapping = (thread, todo, outcome, threadpool_limits(limits=1))


def _stage_maps(ctx: RunContext) -> None:
    """2-D (and 3-D) coordinates of every row, and the map PNGs, for each descriptor set."""
    from vehiclust.parallel import processes, run_jobs
    from vehiclust.embed import full_coords

    cfg = ctx.config
    early: dict[tuple[str, int], Any] = {}
    if ctx.mapping is not None:  # laid out beside the outliers (see _start_maps)
        thread, done_todo, outcome, limits = ctx.mapping
        ctx.mapping = None
        thread.join()
        limits.restore_original_limits()
        if "error" in outcome:
            raise outcome["error"]
        early = dict(zip(done_todo, outcome["done"]))
    # a second run on the same output reads the coordinates back (keyed by content and layout)
    keys, found, todo = _map_plan(ctx, list(ctx.runs))
    todo = [nd for nd in todo if nd not in early]
    show = cfg.progress and processes(cfg.n_jobs, len(todo), len(ctx.samples)) == 1
    coords = run_jobs(full_coords, _map_jobs(ctx, todo, show), n_jobs=cfg.n_jobs, n_rows=len(ctx.samples),
                      description="maps", progress=cfg.progress, on_done=lambda i, xy, s: _runlog.step(
                          f"map {todo[i][0]}", s, len(ctx.samples), f"{todo[i][1]}-D {_map_method(ctx, todo[i][0])}"))
    for nd, xy in [*early.items(), *zip(todo, coords)]:
        found[nd] = {"coords": xy}
        if ctx.cache:
            ctx.cache.save("maps", nd[0], keys[nd], found[nd])
    for (name, d), hit in found.items():
        setattr(ctx.runs[name], "coords_2d" if d == 2 else "coords_3d", np.asarray(hit["coords"], dtype=np.float32))
    for name in ctx.runs:
        # the PNGs are drawn by the describe stage, once the clusters have names
        ctx.prepared[name].graph = None  # its last user: free ~50 MB per set at full size


# ---- describe (maps-and-words issue) ----------------------------------------------------
def _stage_describe(ctx: RunContext) -> None:
    """Per-cluster evidence, names and descriptions; galleries when images are given."""
    from vehiclust.describe import describe_run
    from vehiclust.embed import render_run_maps
    from vehiclust.evidence import EvidenceCache

    cfg = ctx.config
    # images measured for one descriptor set serve the others, the consensus and the comparison
    cache = ctx.evidence = ctx.evidence if ctx.evidence is not None else EvidenceCache()
    if _describe_in_workers(ctx, cache):
        return
    for name, run_ in ctx.runs.items():
        ps = ctx.prepared[name]
        start = time.perf_counter()
        describe_run(run_, ps.X, ps.valid, ctx.samples, cfg.out, images=cfg.images is not None,
                     head_files=cfg.heads, random_state=ctx.seeds["describe"], cache=cache,
                     progress=cfg.progress, cache_dir=cfg.cache_path / "image_checks")
        render_run_maps(run_, cfg.out)  # the map PNGs, with the cluster names in the legend
        _runlog.step(f"describe {name}", time.perf_counter() - start, None,
                     f"{0 if run_.clusters is None else len(run_.clusters)} clusters")


def _describe_set(run_: DescriptorRun, X: np.ndarray, valid: np.ndarray, samples: pd.DataFrame, out: Path,
                  heads: dict, seed: int, cache: Any, cache_dir: Path) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """One set's words, galleries and map PNGs; module-level so a worker process can run it."""
    from vehiclust.describe import describe_run
    from vehiclust.embed import render_run_maps

    describe_run(run_, X, valid, samples, out, images=True, head_files=heads, random_state=seed, cache=cache,
                 progress=False, cache_dir=cache_dir)
    render_run_maps(run_, out)
    return run_.clusters, run_.artifacts


def _describe_in_workers(ctx: RunContext, cache: Any) -> bool:
    """On a small run with images and several sets: measure every image once, split over the
    worker processes, then describe the sets side by side (the same words, galleries and maps
    as one after the other) while this process goes on with the comparison, which does not read
    the descriptions; :func:`_finish_describe` collects them. False, doing nothing, where that
    does not pay."""
    import dataclasses
    import threading

    from vehiclust.describe import PREFETCH_MAX_IMAGES, prefetch_evidence
    from vehiclust.parallel import effective_jobs, processes, run_jobs

    cfg, n, names = ctx.config, len(ctx.samples), list(ctx.runs)
    if cfg.images is None or n > PREFETCH_MAX_IMAGES or processes(cfg.n_jobs, len(names), n) < 2:
        return False
    cache_dir = cfg.cache_path / "image_checks"
    # n_rows: the stage's rows over all sets, so that the split images go to the workers too
    prefetch_evidence(ctx.samples["resolved"].fillna("").astype(str).tolist(), cache, cache_dir=cache_dir,
                      n_chunks=effective_jobs(cfg.n_jobs, len(names)),
                      run_chunks=lambda fn, jobs: run_jobs(fn, jobs, n_jobs=cfg.n_jobs, n_rows=n * len(names),
                                                           description="reading images for evidence", progress=False))
    # a copy without the fitted estimator and the assignment model: the workers need neither
    jobs = [(dataclasses.replace(ctx.runs[name], model=None, artifacts=dict(ctx.runs[name].artifacts)), ctx.prepared[name].X, ctx.prepared[name].valid, ctx.samples,
             Path(cfg.out), cfg.heads, ctx.seeds["describe"], cache, cache_dir) for name in names]
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["done"] = run_jobs(_describe_set, jobs, n_jobs=cfg.n_jobs, n_rows=n, description="describing sets",
                                       progress=False, on_done=lambda i, res, s: _runlog.step(
                                           f"describe {names[i]}", s, None, f"{0 if res[0] is None else len(res[0])} clusters"))
        except BaseException as exc:  # raised again by _finish_describe
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="vehiclust-describe", daemon=True)
    thread.start()
    ctx.describing = (thread, {name: dict(ctx.runs[name].artifacts) for name in names}, outcome)
    return True


def _finish_describe(ctx: RunContext) -> None:
    """Wait for the descriptions :func:`_describe_in_workers` started and put them on the runs,
    the artifacts in the order a one-after-the-other run gives them."""
    if ctx.describing is None:
        return
    thread, before, outcome = ctx.describing
    ctx.describing = None
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    for name, (clusters, artifacts) in zip(before, outcome["done"]):
        run_ = ctx.runs[name]
        # what was added meanwhile (the comparison's figures) comes after the descriptions' files
        artifacts.update((k, v) for k, v in run_.artifacts.items() if before[name].get(k) != v)
        run_.clusters, run_.artifacts = clusters, artifacts


# ---- compare + choose the best (compare issue) ------------------------------------------
def _selector_refit(selector: Any, seed: int, chosen: dict[str, Any] | None = None,
                    params: dict[str, Any] | None = None) -> Any:
    """Refit the chosen family and parameters on a subsample (for stability): from ``chosen`` and
    ``params`` (a run's declared fields, also after a resumed run), else from a fitted selector."""
    if not (chosen and params and "family" in chosen):
        if selector is None or not hasattr(selector, "best_params_"):
            return None
        chosen, params = selector.best_, selector.best_params_
    from vehiclust.cluster import make_family

    family, params = make_family(chosen["family"]), dict(params)
    return lambda X, k: np.asarray(family.fit(X, params, seed).labels)


def _stage_consensus(ctx: RunContext) -> None:
    """The consensus of the single-set clusterings as one more set (built in ``compare``); the
    maps and describe stages then treat it like any set."""
    from vehiclust.compare import consensus_set

    cfg = ctx.config
    built = consensus_set(ctx.runs, ctx.prepared, families=cfg.families, k_min=cfg.k_min, k_max=cfg.k_max,
                          random_state=ctx.seeds["compare"], progress=cfg.progress)
    if built is None:
        log.info("no consensus: it needs 2+ descriptor sets with 3+ clusters in all and 10+ rows")
        return
    from vehiclust.assign import build_consensus_model

    ps, run_ = built
    singles = {n: r.labels for n, r in ctx.runs.items() if n in run_.preparation["clusterings"]}
    run_.model = build_consensus_model(ps.name, run_.labels, singles, run_.outliers,  # what `vehiclust assign` needs
                                       seed=ctx.seeds["compare"])
    ctx.prepared[ps.name], ctx.runs[ps.name] = ps, run_


def _stage_compare(ctx: RunContext) -> None:
    """Score every set, mix and the consensus the same way; choose the deliverable without labels."""
    from vehiclust.compare import compare_run

    cfg = ctx.config
    candidates = _candidates(ctx)
    out = compare_run(candidates, ctx.samples, cfg.out, heads=cfg.heads, image_checks=ctx.image_checks,
                      random_state=ctx.seeds["compare"], progress=cfg.progress, best=cfg.best,
                      evidence=ctx.evidence, cache_dir=cfg.cache_path / "image_checks",
                      type_evidence=_type_evidence(ctx))
    ctx.comparison, ctx.follows, ctx.label_note = out.comparison, out.follows, out.label_note
    ctx.agreement = out.agreement
    ctx.attribute_alignment = out.attribute_alignment
    ctx.best, ctx.best_reason = out.best, out.best_reason
    # the report finds the compare figures among the chosen set's artifacts
    ctx.runs[out.best].artifacts.update(out.artifacts)


# ---- report -----------------------------------------------------------------------------
def _stage_report(ctx: RunContext) -> None:
    cfg = ctx.config
    _finish_describe(ctx)  # the sets' descriptions, written beside the comparison
    for name, run_ in ctx.runs.items():  # every set, mix and the consensus, whichever engine clustered it
        if run_.typicality is None and name in ctx.prepared:
            run_.typicality = _typicality(ctx.prepared[name], run_.labels)
    results = RunResults(
        samples=ctx.samples.drop(columns=["resolved"], errors="ignore"),
        validation=ctx.validation,
        descriptors=ctx.runs,
        best=ctx.best,
        best_reason=ctx.best_reason,
        image_checks=ctx.image_checks,
        comparison=ctx.comparison,
        agreement=ctx.agreement,
        attribute_alignment=ctx.attribute_alignment,
        follows=ctx.follows,
        metadata={
            "label_note": ctx.label_note,
            "vehiclust_version": vehiclust.__version__,
            "python": platform.python_version(),
            "seed": cfg.seed,
            "stage_seeds": ctx.seeds,
            "config": cfg.to_dict(),
            "n_rows": int(len(ctx.samples)),
            "timings_s": ctx.timings,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        },
    )
    results.save(cfg.out, n_jobs=cfg.n_jobs)  # the sets' folders in the worker processes on a large run
    ctx.results = results
    if cfg.html or cfg.notebook:
        from vehiclust.report import write_reports

        # the notebook executes in its kernel process while this one writes the HTML page
        write_reports(results, cfg.out, html=cfg.html, notebook=cfg.notebook, random_state=ctx.seeds["report"])

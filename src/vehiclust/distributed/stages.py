"""The pipeline's prepare and cluster stages on the Dask engine (``config.engine == "dask"``).

`vehiclust.pipeline._stage_prepare` / `_stage_cluster` hand over to these (and
`_stage_outliers` can, to `outliers_stage`); they fill the run context exactly as the local
stages do (``ctx.prepared[name]``, ``ctx.runs[name]``), so every later stage (maps,
descriptions, comparison, report) runs unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


def prepare_stage(ctx: Any) -> None:
    """DaskPreparer on every descriptor set: PCA fitted on all valid rows by the workers."""
    from vehiclust.assign import preparation_state
    from vehiclust.distributed.prepare import DaskPreparer
    from vehiclust.prepare import PreparedSet

    cfg = ctx.config
    for name, raw in ctx.case.descriptors.items():
        valid = ctx.validity.valid_rows[name]
        prep = DaskPreparer(
            l2_normalize=cfg.l2_normalize,
            n_components=cfg.pca_components,
            whiten=cfg.whiten,
            columns=ctx.validity.kept_columns[name],
            random_state=ctx.seeds["prepare"],
            scheduler=cfg.scheduler,
        )
        X = prep.fit_transform(raw, rows=valid)
        ctx.prepared[name] = PreparedSet(name=name, X=X, valid=valid, preparation=prep.summary(),
                                         model=preparation_state(prep, raw, valid, ctx.seeds["prepare"]))  # for `vehiclust assign`


def cluster_stage(ctx: Any) -> None:
    """DaskClusterSelector on every prepared set (and mix); labels of invalid rows stay -1."""
    from vehiclust.distributed.cluster import DaskClusterSelector
    from vehiclust.results import DescriptorRun

    cfg = ctx.config
    n = len(ctx.samples)
    for name, ps in ctx.prepared.items():
        selector = DaskClusterSelector(
            families=cfg.families,
            k_min=cfg.k_min,
            k_max=cfg.k_max,
            random_state=ctx.seeds["cluster"],
            progress=cfg.progress,
            scheduler=cfg.scheduler,
        )
        selector.fit(ps.X)
        labels = np.full(n, -1, dtype=np.int64)
        labels[ps.valid] = selector.labels_
        run = DescriptorRun(name=name, labels=labels, selection=selector.selection_, chosen=selector.best_,
                            preparation=ps.preparation)
        run.selector = selector  # type: ignore[attr-defined]
        ctx.runs[name] = run


def fit_outliers(X: np.ndarray, labels: np.ndarray, centers: np.ndarray | None, contamination: float | None,
                 seed: int, scheduler: Any = None) -> tuple[Any, Any]:
    """One set's k-NN graph and detector ensemble, as `pipeline._fit_outliers` gives them, with
    the k-NN search and the forest scoring of every row on the workers."""
    from vehiclust.distributed.outliers import DaskOutlierEnsemble, dask_knn_graph
    from vehiclust.neighbors import GRAPH_NEIGHBOURS

    ensemble = DaskOutlierEnsemble(contamination=contamination, random_state=seed, scheduler=scheduler)
    graph = dask_knn_graph(X, max(GRAPH_NEIGHBOURS, ensemble.n_neighbors), random_state=seed, scheduler=scheduler) if len(X) > 1 else None
    return graph, ensemble.fit(X, labels, centers=centers, graph=graph)


def outliers_stage(ctx: Any) -> None:
    """The outlier stage on the Dask engine: fills ``ctx.prepared[name].graph`` (for the maps)
    and ``ctx.runs[name].outliers`` exactly as the local stage does."""
    from vehiclust.assign import model_for_set
    from vehiclust.outliers import outlier_table

    cfg = ctx.config
    n = len(ctx.samples)
    for name, run_ in ctx.runs.items():
        ps = ctx.prepared[name]
        ensemble = None
        if len(ps.X):
            centers = getattr(getattr(run_, "selector", None), "cluster_centers_", None)
            ps.graph, ensemble = fit_outliers(ps.X, np.asarray(run_.labels)[ps.valid], centers, cfg.contamination,
                                              ctx.seeds["outliers"], scheduler=cfg.scheduler)
        run_.outliers = outlier_table(n, ps.valid, ensemble, ctx.image_checks, paths=ctx.samples.get("path_given", ctx.samples["path"]))
        run_.model = model_for_set(ps, run_, ensemble)  # the same assignment model as the local engine

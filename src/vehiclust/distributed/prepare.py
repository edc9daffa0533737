"""`DaskPreparer`: the same preparation as `DescriptorPreparer`, computed on a Dask cluster.

Column selection → L2 normalisation → PCA. By default the PCA is fitted as the local engine
fits it, on the same seeded sample of ``sample_size`` rows (the driver reads them), so both
engines project onto the same components; the projection of every row runs on the workers,
which read their rows from the memory-mapped file themselves. With ``sample_size=None`` the
PCA is fitted on EVERY valid row by the workers: the mean and variance are one pass of
per-block sums, the components come from dask.array's randomized SVD (``svd_compressed``)
or, when the number of components is a share of variance, from the covariance matrix summed
over blocks.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from vehiclust.distributed._arrays import auto_chunk_rows, n_workers, row_chunked
from vehiclust.distributed._client import get_client
from vehiclust.distributed._params import extended_init
from vehiclust.exceptions import InputError
from vehiclust.prepare import DescriptorPreparer

log = logging.getLogger(__name__)


def _project(block: np.ndarray, params: tuple) -> np.ndarray:
    mean, scale, components, whiten_div = params
    block = block - mean
    if scale is not None:
        block /= scale
    if components is not None:
        block = block @ components
        if whiten_div is not None:
            block /= whiten_div
    return np.ascontiguousarray(block, dtype=np.float32)


class DaskPreparer(DescriptorPreparer):
    """L2-normalise, optionally standardise, and PCA-reduce a descriptor matrix on Dask.

    Parameters are those of :class:`vehiclust.prepare.DescriptorPreparer` (``chunk_rows``:
    the most rows per block; ``sample_size``: rows of the PCA fit, as the local preparer, or
    None = every valid row, on the workers, which no longer matches the local engine
    exactly), plus ``scheduler`` (address, Client, or None for the process's LocalCluster)
    and ``n_power_iter`` (power iterations of the randomized SVD when fitting on every row).
    """

    __init__ = extended_init(DescriptorPreparer, n_power_iter=4, scheduler=None)

    def _array(self, X: np.ndarray, rows: np.ndarray, client):
        workers = n_workers(client)
        step = auto_chunk_rows(len(rows), X.shape[1], workers)  # blocks of ~64 MB at most
        return row_chunked(X, rows, self.columns, l2=self.l2_normalize, n_workers=workers,
                           chunk_rows=min(step, int(self.chunk_rows)) if self.chunk_rows else step)

    def fit(self, X: np.ndarray, y: Any = None, rows: np.ndarray | None = None) -> "DaskPreparer":
        import dask.array as da

        rows = self._check(X, rows)
        n_comp = self.n_components
        if n_comp is not None and not (
            (isinstance(n_comp, (int, np.integer)) and not isinstance(n_comp, bool) and n_comp >= 1)
            or (isinstance(n_comp, float) and 0 < n_comp < 1)
        ):
            raise InputError(f"The 'n_components' parameter of DaskPreparer must be an int >= 1, a float in (0, 1) or None. Got {n_comp!r}.")
        ss = self.sample_size
        if ss is not None and (not isinstance(ss, (int, np.integer)) or isinstance(ss, bool) or ss < 2):
            raise InputError(f"The 'sample_size' parameter of DaskPreparer must be None or an int in [2, inf). Got {ss!r}.")
        if ss is not None:
            # The local fit itself, on its seeded sample: the same components by construction.
            super().fit(X, rows=rows)
            self.n_rows_fit_ = int(min(len(rows), ss))
            if self.components_ is None:
                self.explained_variance_ = np.ones(1)
            return self
        client = get_client(self.scheduler)
        rng = check_random_state(self.random_state)
        S = self._array(X, rows, client)
        n, d = S.shape
        self.n_features_in_ = X.shape[1]
        self.n_features_kept_ = d
        # One pass: column sums and sums of squares (float64 accumulators per block).
        s1, s2 = client.compute([S.sum(axis=0, dtype=np.float64), (S.astype(np.float64) ** 2).sum(axis=0)], sync=True)
        mean = s1 / n
        var = np.maximum(s2 / n - mean**2, 0.0) * n / max(n - 1, 1)
        self.mean_ = mean.astype(np.float32)
        self.scale_ = None
        if self.standardize:
            std = np.sqrt(var).astype(np.float32)
            self.scale_ = np.where(std > 0, std, 1).astype(np.float32)
            var = np.where(std > 0, 1.0, var)
        self.n_rows_fit_ = int(n)
        if n_comp is None:
            self.components_ = None
            self.explained_variance_ = np.ones(1)
            self.explained_variance_ratio_ = np.ones(1)
            self.n_components_ = d
            return self
        C = S - self.mean_
        if self.scale_ is not None:
            C = C / self.scale_
        total_var = float(var.sum())
        if isinstance(n_comp, (int, np.integer)) and n_comp < min(n, d) // 4:
            k = int(n_comp)
            _, sing, vt = da.linalg.svd_compressed(
                C, k, n_power_iter=int(self.n_power_iter), seed=int(rng.randint(0, 2**31 - 1)), compute=False
            )
            sing, vt = client.compute([sing, vt], sync=True)
            eigval = np.asarray(sing, dtype=np.float64) ** 2 / max(n - 1, 1)
            eigvec = np.asarray(vt, dtype=np.float64).T
        else:
            cov = client.compute(C.astype(np.float64).T @ C.astype(np.float64), sync=True) / max(n - 1, 1)
            eigval, eigvec = np.linalg.eigh(cov)
            order = np.argsort(eigval)[::-1]
            eigval, eigvec = np.clip(eigval[order], 0, None), eigvec[:, order]
        ratio = eigval / total_var if total_var > 0 else np.zeros_like(eigval)
        k = int(np.searchsorted(np.cumsum(ratio), n_comp) + 1) if isinstance(n_comp, float) else int(n_comp)
        k = max(1, min(k, d, n, len(eigval)))
        # Same sign convention as DescriptorPreparer: largest-magnitude loading positive.
        signs = np.sign(eigvec[np.abs(eigvec).argmax(axis=0), np.arange(eigvec.shape[1])])
        eigvec = eigvec * np.where(signs == 0, 1, signs)
        self.components_ = eigvec[:, :k].astype(np.float32)
        self.explained_variance_ = eigval[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.n_components_ = k
        power = float(self.whiten)
        self.whiten_scale_ = (np.maximum(self.explained_variance_, 1e-12) ** (power / 2)).astype(np.float32) if power else None
        log.info("DaskPreparer: PCA on %d rows x %d columns -> %d components (%.3f of variance)",
                 n, d, k, float(ratio[:k].sum()))
        return self

    def transform_dask(self, X: np.ndarray, rows: np.ndarray | None = None):
        """The prepared rows as a lazy row-chunked Dask array (for engines that stay on Dask)."""
        import dask
        import dask.array as da

        check_is_fitted(self, "mean_")
        rows = self._check(X, rows)
        client = get_client(self.scheduler)
        A = self._array(X, rows, client)
        whiten_div = getattr(self, "whiten_scale_", None) if self.components_ is not None else None
        params = dask.delayed((self.mean_, self.scale_, self.components_, whiten_div), pure=True)
        parts = [
            da.from_delayed(dask.delayed(_project, pure=True)(blk, params), shape=(A.chunks[0][i], self.n_components_),
                            dtype=np.float32)
            for i, blk in enumerate(A.to_delayed().ravel())
        ]
        return da.concatenate(parts, axis=0)

    def transform(self, X: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        client = get_client(self.scheduler)
        out = client.compute(self.transform_dask(X, rows), sync=True)
        return np.ascontiguousarray(out, dtype=np.float32)

    def summary(self) -> dict[str, Any]:
        """What preparation did, for the selection table and the report."""
        return {**super().summary(), "engine": "dask", "n_rows_fit": int(self.n_rows_fit_)}

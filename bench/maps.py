"""Map time and neighbourhood preservation: MapEmbedder (sample + k-NN placement) vs umap-learn
defaults on every row, side by side on case-shaped data (416,314 x 64 float32).

    flock /tmp/vehiclust-big.lock .venv/bin/python bench/maps.py

The rows are drawn in memory (seeded): 40 clusters of very different sizes, each a 6-dimensional
Gaussian patch on its own random subspace of R^64 plus isotropic noise, so that within-cluster
neighbourhoods carry structure a map can keep (pure isotropic blobs have none). Preservation is
the mean share of each of 2,000 seeded query rows' 10 nearest neighbours in R^64 kept among its
10 nearest on the map (exact faiss search over all rows); trustworthiness (scikit-learn, k=10)
is computed on a 5,000-row subsample.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from vehiclust.embed import MapEmbedder, neighbourhood_preservation


def case_shaped(n: int, d: int, n_clusters: int = 40, intrinsic: int = 6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(n_clusters, 0.7))
    y = rng.choice(n_clusters, size=n, p=weights)
    centres = rng.normal(0, 3.0, (n_clusters, d)).astype(np.float32)
    bases = rng.normal(0, 1.0 / np.sqrt(intrinsic), (n_clusters, intrinsic, d)).astype(np.float32)
    X = np.empty((n, d), dtype=np.float32)
    for c in range(n_clusters):
        idx = np.flatnonzero(y == c)
        z = rng.normal(0, 1, (idx.size, intrinsic)).astype(np.float32)
        X[idx] = centres[c] + z @ bases[c] + rng.normal(0, 0.08, (idx.size, d)).astype(np.float32)
    return X, y


def score(X: np.ndarray, Y: np.ndarray, seed: int) -> tuple[float, float]:
    from sklearn.manifold import trustworthiness

    pres = neighbourhood_preservation(X, Y, k=10, n_samples=2000, random_state=seed)
    sub = np.random.default_rng(seed).choice(len(X), size=min(5000, len(X)), replace=False)
    trust = trustworthiness(X[sub], Y[sub], n_neighbors=10)
    return pres, float(trust)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=416_314)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--sample-sizes", default="10000,20000,50000")
    ap.add_argument("--no-full-umap", action="store_true", help="skip umap-learn defaults on every row")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    t = time.perf_counter()
    X, _ = case_shaped(args.n, args.dim, seed=args.seed)
    print(f"data: {X.shape[0]:,} x {X.shape[1]} float32, 40 clusters, drawn in {time.perf_counter() - t:.1f} s", flush=True)
    # warm numba's JIT so the first timed run does not pay for compilation
    MapEmbedder(sample_size=None, random_state=0, n_epochs=5, progress=False).fit_transform(X[:2000])

    rows = []
    for s in [int(v) for v in args.sample_sizes.split(",") if v]:
        t = time.perf_counter()
        Y = MapEmbedder(method="umap", sample_size=s, random_state=args.seed, progress=False).fit_transform(X)
        secs = time.perf_counter() - t
        pres, trust = score(X, Y, args.seed)
        rows.append((f"MapEmbedder umap, sample {s:,} + 10-NN placement", secs, pres, trust))
        print(f"{rows[-1][0]:<52} {secs:8.1f} s  preservation@10 {pres:.3f}  trustworthiness {trust:.3f}", flush=True)
    if not args.no_full_umap:
        import umap

        t = time.perf_counter()
        Y = umap.UMAP().fit_transform(X)
        secs = time.perf_counter() - t
        pres, trust = score(X, Y, args.seed)
        rows.append(("umap-learn defaults, every row", secs, pres, trust))
        print(f"{rows[-1][0]:<52} {secs:8.1f} s  preservation@10 {pres:.3f}  trustworthiness {trust:.3f}", flush=True)

    print("\n| method | seconds | neighbourhood preservation@10 | trustworthiness@10 |")
    print("|---|---:|---:|---:|")
    for name, secs, pres, trust in rows:
        print(f"| {name} | {secs:.0f} | {pres:.3f} | {trust:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Near-duplicate groups from 64-bit perceptual hashes without an all-pairs comparison.

Pigeonhole: two hashes within ``r`` bits agree exactly on at least one of ``r + 1`` bit
chunks, so only rows sharing a chunk value are compared. Identical hashes are collapsed first.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount64(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint64."""
    x = np.ascontiguousarray(x, dtype=np.uint64)
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    return _BYTE_POPCOUNT[x.view(np.uint8).reshape(*x.shape, 8)].sum(axis=-1).astype(np.int64)


def parse_hashes(hex_hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint64 values, valid mask); empty strings are invalid."""
    valid = np.array([bool(h) for h in hex_hashes], dtype=bool)
    values = np.zeros(len(hex_hashes), dtype=np.uint64)
    values[valid] = np.array([int(h, 16) for h in np.asarray(hex_hashes)[valid]], dtype=np.uint64)
    return values, valid


def duplicate_groups(hex_hashes: np.ndarray, max_distance: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Per row: Hamming distance to the nearest other row (-1 if none within ``max_distance``)
    and the first row (input order) of its duplicate group (-1 if it has no duplicate)."""
    n = len(hex_hashes)
    nearest = np.full(n, -1, dtype=np.int64)
    first = np.full(n, -1, dtype=np.int64)
    values, valid = parse_hashes(hex_hashes)
    rows = np.flatnonzero(valid)
    if rows.size < 2:
        return nearest, first
    uniq, inverse, counts = np.unique(values[rows], return_inverse=True, return_counts=True)
    u_nearest = np.where(counts > 1, 0, -1).astype(np.int64)
    pairs_a: list[np.ndarray] = []
    pairs_b: list[np.ndarray] = []
    n_chunks = max_distance + 1
    bounds = np.linspace(0, 64, n_chunks + 1).astype(int)
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        mask = np.uint64(((1 << (hi - lo)) - 1) << lo)
        chunk = uniq & mask
        order = np.argsort(chunk, kind="stable")
        sorted_chunk = chunk[order]
        cuts = np.flatnonzero(np.diff(sorted_chunk)) + 1
        for members in np.split(order, cuts):
            if members.size < 2:
                continue
            for s in range(0, members.size, block):
                a = members[s : s + block]
                d = popcount64(uniq[a][:, None] ^ uniq[members][None, :])
                ia, ib = np.nonzero((d <= max_distance) & (a[:, None] != members[None, :]))
                if ia.size == 0:
                    continue
                dist = d[ia, ib]
                ua, ub = a[ia], members[ib]
                pairs_a.append(ua)
                pairs_b.append(ub)
                # nearest distance per unique hash (0 already set for repeated hashes)
                tmp = np.full(len(uniq), 65, dtype=np.int64)
                np.minimum.at(tmp, ua, dist)
                has = tmp < 65
                u_nearest[has] = np.where(u_nearest[has] < 0, tmp[has], np.minimum(u_nearest[has], tmp[has]))
    nearest[rows] = u_nearest[inverse]
    # groups over unique hashes, then rows: first row = smallest input position
    m = len(uniq)
    if pairs_a:
        a = np.concatenate(pairs_a)
        b = np.concatenate(pairs_b)
        graph = coo_matrix((np.ones(a.size, dtype=np.int8), (a, b)), shape=(m, m))
        _, comp = connected_components(graph, directed=False)
    else:
        comp = np.arange(m)
    row_comp = comp[inverse]
    size = np.bincount(row_comp, minlength=comp.max() + 1)
    first_of = np.full(comp.max() + 1, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_of, row_comp, rows)
    grouped = size[row_comp] > 1
    first[rows[grouped]] = first_of[row_comp[grouped]]
    return nearest, first

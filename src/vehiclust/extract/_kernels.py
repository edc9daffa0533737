"""Numeric kernels for the classical descriptors: prepared arrays in, vectors out, no checks."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def joint_histogram(hsv: np.ndarray, bins: tuple[int, int, int]) -> np.ndarray:
    """H×W×3 uint8 HSV → flattened joint histogram (counts, float32)."""
    flat = hsv.reshape(-1, 3).astype(np.int64)
    bh, bs, bv = bins
    idx = ((flat[:, 0] * bh) >> 8) * (bs * bv) + ((flat[:, 1] * bs) >> 8) * bv + ((flat[:, 2] * bv) >> 8)
    return np.bincount(idx, minlength=bh * bs * bv).astype(np.float32)


def hog(gray: np.ndarray, orientations: int, cell: int, block: int, eps: float = 1e-6) -> np.ndarray:
    """Dalal-Triggs HOG of an H×W float image: unsigned gradients, bilinear orientation
    voting, ``block``×``block`` cell blocks with stride one cell, L2-Hys normalisation."""
    g = gray.astype(np.float32)
    gx = np.zeros_like(g)
    gy = np.zeros_like(g)
    gx[:, 1:-1] = g[:, 2:] - g[:, :-2]
    gy[1:-1, :] = g[2:, :] - g[:-2, :]
    mag = np.hypot(gx, gy)
    ang = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    ncy, ncx = g.shape[0] // cell, g.shape[1] // cell
    h, w = ncy * cell, ncx * cell
    mag, ang = mag[:h, :w], ang[:h, :w]
    pos = ang / (180.0 / orientations) - 0.5
    lower = np.floor(pos)
    w_upper = (pos - lower).astype(np.float32)
    b0 = lower.astype(np.int64) % orientations
    b1 = (b0 + 1) % orientations
    cy = (np.arange(h) // cell)[:, None]
    cx = (np.arange(w) // cell)[None, :]
    cell_idx = (cy * ncx + cx) * orientations
    n = ncy * ncx * orientations
    hist = np.bincount((cell_idx + b0).ravel(), weights=(mag * (1 - w_upper)).ravel(), minlength=n)
    hist += np.bincount((cell_idx + b1).ravel(), weights=(mag * w_upper).ravel(), minlength=n)
    hist = hist.reshape(ncy, ncx, orientations).astype(np.float32)
    blocks = sliding_window_view(hist, (block, block), axis=(0, 1))  # nby, nbx, orient, b, b
    v = blocks.reshape(blocks.shape[0], blocks.shape[1], -1)
    v = v / np.sqrt((v**2).sum(axis=-1, keepdims=True) + eps**2)
    v = np.minimum(v, 0.2)
    v = v / np.sqrt((v**2).sum(axis=-1, keepdims=True) + eps**2)
    return v.ravel().astype(np.float32)

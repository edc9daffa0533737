"""SampledHDBSCAN gives the same labels for the same rows and seed, run after run in one process.

fast_hdbscan's numba-parallel tree build breaks ties between equal distances by thread order;
the demo's colour histograms (many equal bins, so many equal distances) showed it: two fits with
the same seed split the 1,200 images 603/597 and 615/585.
"""

from __future__ import annotations

import numba
import numpy as np

from vehiclust.cluster.hdbscan import SampledHDBSCAN
from vehiclust.io._safe_pickle import load_pickle
from vehiclust.prepare.preprocess import DescriptorPreparer


def test_hdbscan_same_labels_on_tie_rich_rows(demo_dir):
    raw = np.asarray(load_pickle(demo_dir / "descriptors" / "color-hist.pkl"), dtype=np.float32)
    Z = DescriptorPreparer(n_components=64, whiten=0.5, random_state=0).fit_transform(raw)
    before = numba.get_num_threads()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # every thread numba has
    try:
        fits = [SampledHDBSCAN(min_cluster_size=12, random_state=0).fit(Z) for _ in range(3)]
        assert numba.get_num_threads() == numba.config.NUMBA_NUM_THREADS  # the fit restores it
    finally:
        numba.set_num_threads(before)
    for fit in fits[1:]:
        np.testing.assert_array_equal(fit.labels_, fits[0].labels_)
        np.testing.assert_array_equal(fit.noise_mask_, fits[0].noise_mask_)
    assert len(np.unique(fits[0].labels_)) >= 2  # a real clustering, not one block

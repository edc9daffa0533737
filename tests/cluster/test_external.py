from __future__ import annotations

import numpy as np
import pytest

from vehiclust.cluster import external_agreement
from vehiclust.exceptions import InputError


def test_perfect_and_permuted():
    t = ["car", "car", "bus", "bus", "van", "van"]
    r = external_agreement(t, [2, 2, 0, 0, 1, 1])
    assert r["nmi"] == pytest.approx(1.0) and r["ari"] == pytest.approx(1.0) and r["purity"] == 1.0
    assert r["n_labelled"] == 6


def test_purity_of_one_big_cluster():
    t = ["a"] * 6 + ["b"] * 4
    r = external_agreement(t, [0] * 10)
    assert r["purity"] == pytest.approx(0.6)
    assert r["ari"] == pytest.approx(0.0)


def test_missing_true_labels_are_dropped():
    t = ["a", None, "b", np.nan, "", "a"]
    r = external_agreement(t, [0, 5, 1, 7, 9, 0])
    assert r["n_labelled"] == 3 and r["nmi"] == pytest.approx(1.0)
    assert np.isnan(external_agreement([None, None], [0, 1])["nmi"])


def test_length_mismatch():
    with pytest.raises(InputError, match="equal length"):
        external_agreement(["a", "b"], [0])

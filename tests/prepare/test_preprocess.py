import numpy as np
import pytest

from vehiclust.exceptions import InputError
from vehiclust.prepare import DescriptorPreparer


@pytest.fixture()
def X():
    rng = np.random.default_rng(0)
    latent = rng.standard_normal((2000, 5)).astype(np.float32)
    mixing = rng.standard_normal((5, 100)).astype(np.float32)
    return latent @ mixing + 0.01 * rng.standard_normal((2000, 100)).astype(np.float32)


def test_pca_keeps_the_signal_and_is_float32(X):
    prep = DescriptorPreparer(whiten=False, n_components=8, random_state=0)
    Y = prep.fit_transform(X)
    assert Y.dtype == np.float32 and Y.shape == (2000, 8)
    assert prep.summary()["explained_variance"] > 0.95


def test_variance_target_picks_the_latent_dimension(X):
    prep = DescriptorPreparer(whiten=False, n_components=0.95, random_state=0).fit(X)
    assert prep.n_components_ <= 5


def test_chunked_transform_equals_one_shot(X):
    a = DescriptorPreparer(whiten=False, n_components=6, chunk_rows=97, random_state=3).fit_transform(X)
    b = DescriptorPreparer(whiten=False, n_components=6, chunk_rows=5000, random_state=3).fit_transform(X)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_rows_mask_and_columns_are_respected(X):
    mask = np.ones(len(X), bool)
    mask[::7] = False
    prep = DescriptorPreparer(whiten=False, n_components=4, columns=np.arange(50), random_state=0)
    Y = prep.fit_transform(X, rows=mask)
    assert Y.shape == (mask.sum(), 4) and prep.n_features_kept_ == 50


def test_same_seed_same_output_on_memmap(tmp_path, X):
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    a = DescriptorPreparer(whiten=False, n_components=4, sample_size=500, random_state=7).fit_transform(mm)
    b = DescriptorPreparer(whiten=False, n_components=4, sample_size=500, random_state=7).fit_transform(mm)
    np.testing.assert_array_equal(a, b)
    assert not mm.flags.writeable  # never written to


@pytest.mark.parametrize("bad", [0, -3, 1.5, "ten"])
def test_bad_n_components(X, bad):
    with pytest.raises(InputError, match="n_components"):
        DescriptorPreparer(whiten=False, n_components=bad).fit(X)


def test_one_row_and_identical_rows():
    one = np.ones((1, 5), np.float32)
    assert DescriptorPreparer(whiten=False, n_components=3).fit_transform(one).shape == (1, 1)
    same = np.ones((20, 5), np.float32)
    Y = DescriptorPreparer(whiten=False, n_components=3).fit_transform(same)
    assert np.isfinite(Y).all()

import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans

from rvagene.cluster import (
    choose_n_clusters,
    cluster_latent,
    clustering_scores,
    sample_around_centres,
)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 6.0]])
    labels = np.repeat(np.arange(4), 15)
    Z = centres[labels] + rng.normal(scale=0.3, size=(labels.size, 3))
    return Z, labels


def test_kmeans_recovers_blobs(blobs):
    Z, labels = blobs
    km = cluster_latent(Z, 4)
    assert isinstance(km, KMeans)
    assert km.cluster_centers_.shape == (4, 3)
    assert km.labels_.shape == (60,)
    assert km.n_nonempty_clusters_ == 4
    assert clustering_scores(labels, km.labels_) == {"ari": 1.0, "nmi": 1.0}


def test_kmeans_deterministic(blobs):
    Z, _ = blobs
    a = cluster_latent(Z, 4, random_state=3)
    b = cluster_latent(Z, 4, random_state=3)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_)


def test_minibatch_runs_with_original_settings(blobs):
    Z, labels = blobs
    mb = cluster_latent(Z, 4, method="minibatch")
    assert isinstance(mb, MiniBatchKMeans)
    assert mb.batch_size == 6
    assert mb.max_iter == 10
    assert mb.random_state == 0
    # labels_ are the nearest final centres
    np.testing.assert_array_equal(mb.labels_, mb.predict(Z))
    assert 1 <= mb.n_nonempty_clusters_ <= 4
    assert clustering_scores(labels, mb.labels_)["ari"] > 0.5


def test_empty_cluster_is_reported_not_fatal():
    # 3 distinct points, 5 clusters: some clusters must stay empty
    Z = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]), 4, axis=0)
    with pytest.warns(UserWarning, match="clusters have members"):
        est = cluster_latent(Z, 5, method="minibatch")
    assert est.cluster_centers_.shape == (5, 2)
    assert est.n_nonempty_clusters_ == np.unique(est.labels_).size <= 3


@pytest.mark.parametrize("k", [0, -1, 61, 2.5, True, "3"])
def test_bad_n_clusters(blobs, k):
    Z, _ = blobs
    with pytest.raises(ValueError, match="n_clusters must be an integer between 1 and"):
        cluster_latent(Z, k)


def test_one_cluster_and_all_points(blobs):
    Z, _ = blobs
    assert np.all(cluster_latent(Z, 1).labels_ == 0)
    assert cluster_latent(Z, Z.shape[0]).n_nonempty_clusters_ == Z.shape[0]


def test_bad_method(blobs):
    Z, _ = blobs
    with pytest.raises(ValueError, match="Unknown clustering method 'dbscan'"):
        cluster_latent(Z, 3, method="dbscan")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_latent(blobs, bad):
    Z, _ = blobs
    Z = Z.copy()
    Z[5, 1] = bad
    with pytest.raises(ValueError, match="NaN or infinite values in 1 of 60 rows"):
        cluster_latent(Z, 3)


def test_latent_must_be_2d():
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        cluster_latent(np.arange(10.0), 2)


def test_choose_n_clusters(blobs):
    Z, _ = blobs
    best, scores = choose_n_clusters(Z, candidates=range(2, 8))
    assert best == 4
    assert set(scores) == set(range(2, 8))
    with pytest.raises(ValueError, match="No usable number of clusters"):
        choose_n_clusters(Z[:3], candidates=[5])


def test_sample_shape():
    centres = np.zeros((6, 3))
    s = sample_around_centres(centres, n_samples=20, random_state=0)
    assert s.shape == (6, 20, 3)
    assert sample_around_centres(np.zeros(4), n_samples=2, random_state=0).shape == (1, 2, 4)


def test_sample_deterministic_under_seed():
    centres = np.arange(6.0).reshape(3, 2)
    a = sample_around_centres(centres, random_state=42)
    b = sample_around_centres(centres, random_state=42)
    c = sample_around_centres(centres, random_state=43)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    g1, g2 = np.random.default_rng(7), np.random.default_rng(7)
    np.testing.assert_array_equal(
        sample_around_centres(centres, random_state=g1),
        sample_around_centres(centres, random_state=g2),
    )
    rs = np.random.RandomState(1)
    assert sample_around_centres(centres, random_state=rs).shape == (3, 20, 2)


def test_sample_covariance_is_scale_times_identity():
    centres = np.array([[1.0, -2.0, 0.5], [10.0, 10.0, 10.0]])
    s = sample_around_centres(centres, n_samples=20000, scale=0.3, random_state=0)
    for i, c in enumerate(centres):
        np.testing.assert_allclose(s[i].mean(axis=0), c, atol=0.03)
        np.testing.assert_allclose(np.cov(s[i], rowvar=False), 0.3 * np.eye(3), atol=0.02)


def test_scale_zero_returns_centres():
    centres = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(
        sample_around_centres(centres, n_samples=3, scale=0.0, random_state=0)[0],
        np.repeat(centres, 3, axis=0),
    )


def test_no_global_rng_use(blobs):
    Z, _ = blobs
    before = np.random.get_state()  # noqa: NPY002 (checking the global RNG is untouched)
    sample_around_centres(np.zeros((2, 3)))
    sample_around_centres(np.zeros((2, 3)), random_state=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster_latent(Z, 3)
        cluster_latent(Z, 3, method="minibatch")
    after = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    np.testing.assert_array_equal(before[1], after[1])
    assert before[2:] == after[2:]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"scale": -0.1}, "scale"),
        ({"random_state": "seed"}, "random_state must be"),
    ],
)
def test_sample_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_around_centres(np.zeros((2, 2)), **kwargs)


def test_clustering_scores():
    assert clustering_scores([0, 0, 1, 1], ["b", "b", "a", "a"]) == {"ari": 1.0, "nmi": 1.0}
    scores = clustering_scores([0, 0, 1, 1], [0, 1, 0, 1])
    assert scores["ari"] < 0.1
    assert scores["nmi"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="must label the same genes"):
        clustering_scores([0, 1], [0, 1, 1])

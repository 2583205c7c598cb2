import numpy as np
import pytest
from conftest import sine_blobs

from rvagene import RVAgene, cluster_latent, generate_around_centres
from rvagene.evaluate import (
    generation_scores,
    reconstruction_r2,
    specificity_nearest_mean,
    specificity_reencoded,
    spread_ratio,
)


@pytest.fixture
def shapes():
    """Three clusters of 10 genes: rising, falling and peaked series, with levels."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 12)
    means = np.stack([t, 1 - t, np.exp(-((t - 0.5) ** 2) / 0.02)])
    labels = np.repeat(np.arange(3), 10)
    X = 5 + 3 * means[labels] + 0.05 * rng.standard_normal((30, 12))
    return X, labels, means


def test_specificity_nearest_mean_known_answer(shapes):
    X, labels, means = shapes
    generated = np.repeat(means[:, None, :], 4, axis=1)  # (3, 4, 12), any units
    generated[0, :2] = means[1]  # two of cluster 0's series look like cluster 1
    got = specificity_nearest_mean(generated, X, labels)
    assert got["specificity"] == pytest.approx(10 / 12)
    np.testing.assert_allclose(got["per_cluster"], [0.5, 1.0, 1.0])
    # level and amplitude do not matter (z-scored), NaN in X is ignored
    X = X.copy()
    X[0, 3] = np.nan
    scaled = 100 + 7 * generated
    assert specificity_nearest_mean(scaled, X, labels)["specificity"] == pytest.approx(10 / 12)


def test_specificity_nearest_mean_leaves_a_members_missing_values_out_of_the_mean():
    # z-scored, [-1, 1, nan, nan] is [-1, 1] over its 2 observed points: cluster 0's mean is
    # [-1, 1, -1, 1] with or without it. Counted as 0 instead, its missing points would pull
    # the mean to [-1, 1, -0.5, 0.5], next to the series generated for cluster 0, which lies
    # nearer cluster 1's mean [-1, 1, 0, 0] (z-scored) than the true mean of cluster 0.
    X = np.array([[-1.0, 1, -1, 1], [-1.0, 1, np.nan, np.nan], [-1.0, 1, 0, 0]])
    generated = np.array([[[-1.0, 1, -0.35, 0.35]], [[-1.0, 1, 0, 0]]])
    got = specificity_nearest_mean(generated, X, [0, 0, 1])
    np.testing.assert_array_equal(got["per_cluster"], [0.0, 1.0])
    without = specificity_nearest_mean(generated, X[[0, 2]], [0, 1])
    np.testing.assert_array_equal(got["per_cluster"], without["per_cluster"])


def test_specificity_nearest_mean_cluster_without_members(shapes):
    X, labels, means = shapes
    generated = np.repeat(np.vstack([means, means[:1]])[:, None, :], 3, axis=1)  # 4 clusters
    got = specificity_nearest_mean(generated, X, labels)
    assert got["specificity"] == 1.0
    assert np.isnan(got["per_cluster"][3])


class _FirstTwoPoints:
    """Stands in for a fitted model: its 'latent mean' is the first two time points."""

    def transform(self, X, times=None):
        return np.asarray(X)[:, :2]


def test_specificity_reencoded_known_answer():
    centres = np.array([[0.0, 0.0], [10.0, 10.0]])
    generated = np.zeros((2, 5, 6))
    generated[1] = 10.0
    generated[1, 0, :2] = 1.0  # one of cluster 1's series encodes next to centre 0
    got = specificity_reencoded(_FirstTwoPoints(), generated, centres)
    assert got["specificity"] == pytest.approx(0.9)
    np.testing.assert_allclose(got["per_cluster"], [1.0, 0.8])
    with pytest.raises(ValueError, match="one per generated cluster"):
        specificity_reencoded(_FirstTwoPoints(), generated, centres[:1])


def test_spread_ratio_known_answer(shapes):
    X, labels, _ = shapes
    generated = np.stack([X[labels == i] for i in range(3)])  # the members themselves
    got = spread_ratio(generated, X, labels)
    np.testing.assert_allclose(got["per_cluster"], 1.0)
    mean = generated.mean(axis=1, keepdims=True)
    wide = mean + 2 * (generated - mean)
    assert spread_ratio(wide, X, labels)["ratio"] == pytest.approx(2.0)
    # zscore=True compares shapes: a level shift of every generated series changes nothing
    shifted = generated + 100 * np.arange(10)[None, :, None]
    assert spread_ratio(shifted, X, labels)["ratio"] > 10
    assert spread_ratio(shifted, X, labels, zscore=True)["ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("generated", "match"),
    [
        (np.zeros((3, 4)), "generated must have shape"),
        (np.full((3, 2, 12), np.nan), "NaN"),
        (np.zeros((3, 2, 11)), "series of shape"),
        (np.zeros((2, 2, 12)), r"cluster numbers 0\.\.1"),
    ],
)
def test_bad_input(shapes, generated, match):
    X, labels, _ = shapes
    with pytest.raises(ValueError, match=match):
        specificity_nearest_mean(generated, X, labels)


def test_flat_genes_are_left_out(shapes):
    """-1 (GeneClustering's flat genes): before, "labels must be cluster numbers 0..2"."""
    X, labels, means = shapes
    generated = np.repeat(means[:, None, :], 4, axis=1)
    flat = np.vstack([np.full((2, 12), 3.0), X])
    with_flat = np.r_[-1, -1, labels]
    for score in (specificity_nearest_mean, spread_ratio):
        got, want = score(generated, flat, with_flat), score(generated, X, labels)
        for key in got:
            np.testing.assert_array_equal(got[key], want[key])
    scores = generation_scores(_FirstTwoPoints(), generated, flat, with_flat, means[:, :2])
    assert scores == generation_scores(_FirstTwoPoints(), generated, X, labels, means[:, :2])


@pytest.mark.parametrize("labels", [[], [-1, -1]])
def test_no_clustered_gene_is_a_clear_error(shapes, labels):
    """Before: numpy's "zero-size array to reduction operation minimum"."""
    X, _, means = shapes
    generated = np.repeat(means[:, None, :], 4, axis=1)
    with pytest.raises(ValueError, match=r"No gene to compare with.*clusters 0\.\.2"):
        specificity_nearest_mean(generated, X[: len(labels)], labels)


def test_generation_stays_in_cluster_on_a_trained_model():
    """Cluster-spread generation is specific on clear clusters; the old 0.3 is the baseline."""
    X, _ = sine_blobs(n_per=15, T=25, k=4)
    X = X + np.repeat([0.0, 5.0, -3.0, 10.0], 15)[:, None]  # levels differ between clusters
    model = RVAgene(hidden_size=16, latent_length=2, max_steps=400, random_state=0).fit(X)
    km = cluster_latent(model.transform(X), 4)
    kw = dict(X=X, labels=km.labels_, random_state=0)
    own = generate_around_centres(model, km.cluster_centers_, 30, **kw)
    scores = generation_scores(model, own, X, km.labels_, km.cluster_centers_)
    assert set(scores) == {
        "specificity_nearest_mean",
        "specificity_reencoded",
        "spread_ratio",
        "spread_ratio_z",
    }
    assert scores["specificity_nearest_mean"] >= 0.95
    assert scores["specificity_reencoded"] >= 0.95
    # members differ from their mean by noise; the generated series are denoised shapes,
    # so without noise=True their spread is a fraction of the members' (0.29 here)
    assert 0.1 < scores["spread_ratio"] < 3
    noisy = generate_around_centres(model, km.cluster_centers_, 30, noise=True, **kw)
    noisy_scores = generation_scores(model, noisy, X, km.labels_, km.cluster_centers_)
    assert 0.7 < noisy_scores["spread_ratio"] < 1.4  # with the members' residuals: alike


class _Rebuilds:
    """A stand-in model whose reconstruction is a given array (the sums are the test)."""

    def __init__(self, rebuilt):
        self.rebuilt = np.asarray(rebuilt, dtype=np.float64)

    def reconstruct(self, X, times=None):
        return self.rebuilt


def test_reconstruction_r2_known_answers():
    X = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 5.0, 5.0, 5.0], [0.0, 2.0, 0.0, 2.0]])
    np.testing.assert_allclose(reconstruction_r2(_Rebuilds(X), X), [1.0, np.nan, 1.0])
    means = np.repeat(np.nanmean(X, axis=1, keepdims=True), 4, axis=1)
    np.testing.assert_allclose(reconstruction_r2(_Rebuilds(means), X), [0.0, np.nan, 0.0])
    # off by 0.5 everywhere: 1 - 4 * 0.25 / 5 and 1 - 4 * 0.25 / 4
    np.testing.assert_allclose(reconstruction_r2(_Rebuilds(X + 0.5), X), [0.8, np.nan, 0.75])
    worse = reconstruction_r2(_Rebuilds(X[:, ::-1]), X)  # backwards: worse than the mean
    assert worse[0] < 0


def test_reconstruction_r2_leaves_missing_values_out_and_pools_dimensions():
    X = np.array([[1.0, np.nan, 3.0, 4.0], [2.0, 4.0, np.nan, np.nan]])
    rebuilt = np.nan_to_num(X, nan=100.0)  # the model's fill-in is not scored
    np.testing.assert_allclose(reconstruction_r2(_Rebuilds(rebuilt), X), [1.0, 1.0])
    X3 = np.stack([X[:1, [0, 2, 3]], 10 * X[:1, [0, 2, 3]]], axis=2)  # (1, 3, 2)
    rebuilt = X3.copy()
    rebuilt[0, :, 1] += 1.0  # the second dimension off by 1: 3 / (100 * 14 / 3 + 14 / 3)
    want = 1.0 - 3.0 / (101 * 14 / 3)
    np.testing.assert_allclose(reconstruction_r2(_Rebuilds(rebuilt), X3), [want])


def test_reconstruction_r2_of_a_trained_model_tells_shapes_from_noise():
    X, _ = sine_blobs(n_per=10, T=20, k=3, noise=0.1)
    noise = np.random.default_rng(1).standard_normal((6, 20))  # genes without a shape
    X = np.concatenate([X + 4.0, noise])
    model = RVAgene(hidden_size=16, latent_length=2, max_steps=400, random_state=0).fit(X)
    r2 = reconstruction_r2(model, X)
    assert np.all(r2 <= 1.0)
    assert np.median(r2[:30]) > 0.8
    assert np.median(r2[30:]) < np.median(r2[:30]) - 0.3

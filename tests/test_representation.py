"""The clustering space (rvagene.representation): spaces, downsampling, probabilities."""

import numpy as np
import pytest

from rvagene import RVAgene, simulate
from rvagene.data import scale_series
from rvagene.representation import (
    SPACES,
    between_gene_share,
    central_fit,
    centre_across_genes,
    cluster_fits,
    downsample,
    embed,
    embed_codes,
    membership_probabilities,
    slopes,
    soft_assignment,
)


@pytest.fixture(scope="module")
def fitted():
    X, y = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8, random_state=0)
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=3, random_state=0).fit(X)
    return model, X


def test_downsample_bin_means_and_times():
    X = np.arange(20.0).reshape(2, 10)
    Xb, tb = downsample(X, max_timepoints=4, times=np.linspace(0, 9, 10))
    # bins of ceil(10 / 4) = 3 points; the last bin holds one point
    assert Xb.tolist() == [[1.0, 4.0, 7.0, 9.0], [11.0, 14.0, 17.0, 19.0]]
    assert tb.tolist() == [1.0, 4.0, 7.0, 9.0]


def test_downsample_short_series_unchanged_copy():
    X = np.random.default_rng(0).normal(size=(5, 6))
    Xb, tb = downsample(X, max_timepoints=6)
    assert tb is None
    np.testing.assert_array_equal(Xb, X)
    Xb[0, 0] = 99.0
    assert X[0, 0] != 99.0


def test_downsample_ignores_nan_and_keeps_empty_bins_nan():
    X = np.array([[1.0, np.nan, 3.0, np.nan, np.nan, 6.0]])
    Xb, _ = downsample(X, max_timepoints=3)
    np.testing.assert_allclose(Xb, [[1.0, 3.0, 6.0]])
    Xb, _ = downsample(np.array([[1.0, 2.0, np.nan, np.nan, 5.0, 6.0]]), max_timepoints=3)
    assert np.isnan(Xb[0, 1])
    assert Xb[0, 0] == 1.5
    assert Xb[0, 2] == 5.5


def test_downsample_3d_bins_time_axis_only():
    X = np.random.default_rng(1).normal(size=(4, 9, 2))
    Xb, _ = downsample(X, max_timepoints=3)
    assert Xb.shape == (4, 3, 2)
    np.testing.assert_allclose(Xb[:, 1, :], X[:, 3:6, :].mean(axis=1))


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "64"])
def test_downsample_rejects_bad_max_timepoints(bad):
    with pytest.raises(ValueError, match="max_timepoints"):
        downsample(np.zeros((2, 10)), max_timepoints=bad)


def test_downsample_rejects_times_of_wrong_length():
    with pytest.raises(ValueError, match="times has 3 values"):
        downsample(np.zeros((2, 10)), max_timepoints=4, times=[0, 1, 2])


def test_spaces_shapes_and_agreement(fitted):
    model, X = fitted
    Z = model.transform(X)
    for space in SPACES:
        points = embed(model, X, space)
        assert points.shape[0] == len(X)
        np.testing.assert_allclose(points, embed_codes(model, Z, space))
    np.testing.assert_allclose(embed(model, X, "latent"), Z)
    assert embed(model, X, "decoded").shape == (len(X), X.shape[1])


def test_unknown_space_is_refused(fitted):
    model, X = fitted
    with pytest.raises(ValueError, match="Unknown space 'nope'"):
        embed(model, X, "nope")


def test_membership_probabilities_rows_sum_to_one_in_every_space(fitted):
    model, X = fitted
    for space in SPACES:
        points = embed(model, X, space)
        centres = points[[0, 10, 20]]
        p = membership_probabilities(model, X, centres, space, n_samples=50, random_state=0)
        assert p.shape == (len(X), 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0)


def test_centre_across_genes_keeps_kmeans_geometry():
    rng = np.random.default_rng(0)
    X = 5.0 + np.sin(np.linspace(0, 3, 20)) + 0.05 * rng.normal(size=(30, 20))
    Xc, common, scale = centre_across_genes(X)
    Z = scale_series(X)[0]
    np.testing.assert_allclose(Xc.mean(axis=0), 0.0, atol=1e-12)
    assert np.sqrt((Xc**2).mean()) == pytest.approx(1.0)
    np.testing.assert_allclose(Xc * scale + common, Z)
    # distances between genes are the z-scores' up to one factor
    d_c = np.linalg.norm(Xc[:, None] - Xc[None], axis=-1)
    d_z = np.linalg.norm(Z[:, None] - Z[None], axis=-1)
    np.testing.assert_allclose(d_c * scale, d_z, atol=1e-10)
    assert scale < 0.5  # the genes share one shape: the deviations were small


def test_centre_across_genes_nan_stays_nan_and_identical_genes_are_safe():
    X = np.array([[1.0, 2.0, np.nan, 4.0], [2.0, 3.0, 4.0, 6.0], [0.0, 1.0, 1.0, 3.0]])
    Xc, _, _ = centre_across_genes(X)
    assert np.isnan(Xc[0, 2])
    assert np.isfinite(np.delete(Xc.ravel(), 2)).all()
    same = np.tile(np.arange(5.0), (4, 1))
    Xc, _, scale = centre_across_genes(same)
    assert scale == 1.0
    np.testing.assert_allclose(Xc, 0.0)


def test_central_fit_picks_the_medoid_of_the_labelings():
    truth = np.repeat([0, 1, 2], 5)
    relabelled = (truth + 1) % 3  # the same clusters under other names
    rng = np.random.default_rng(0)
    noisy = truth.copy()
    noisy[:3] = rng.permutation(noisy[:3])[::-1] + 1
    wrong = np.tile([0, 1, 2], 5)  # a different partition
    index, agreement = central_fit([wrong, noisy, relabelled, truth])
    assert index == 2  # relabelled and truth agree fully with each other; the earliest wins
    np.testing.assert_allclose(np.diag(agreement), 1.0)
    np.testing.assert_allclose(agreement, agreement.T)
    assert agreement[2, 3] == pytest.approx(1.0)


def test_central_fit_refuses_empty_and_ragged_input():
    with pytest.raises(ValueError, match="at least one fit"):
        central_fit([])
    with pytest.raises(ValueError, match="same genes"):
        central_fit([[0, 1, 1], [0, 1]])


def test_cluster_fits_one_fit_one_space_is_kmeans_there(fitted):
    from rvagene import cluster_latent

    model, X = fitted
    labels, central = cluster_fits([model], X, 3, spaces=("decoded",), random_state=0)
    expected = cluster_latent(embed(model, X, "decoded"), 3, random_state=0).labels_
    np.testing.assert_array_equal(labels, expected)
    assert central == 0


def test_cluster_fits_consensus_of_fits_and_spaces(fitted):
    model, X = fitted
    other = RVAgene(hidden_size=8, latent_length=2, n_epochs=3, random_state=1).fit(X)
    labels, central = cluster_fits([model, other, model], X, 3, random_state=0)
    assert labels.shape == (len(X),)
    assert set(np.unique(labels)) == {0, 1, 2}
    assert central in (0, 2)  # the two identical fits agree fully with each other
    with pytest.raises(ValueError, match="Unknown space"):
        cluster_fits([model], X, 3, spaces=("latent", "bogus"))
    with pytest.raises(ValueError, match="at least one fitted model"):
        cluster_fits([], X, 3)


# ---------------------------------------------------------------------------- the slopes


def test_slopes_are_steps_of_the_zscores_with_gaps_filled():
    X = np.array([[1.0, 2.0, 4.0, 8.0], [5.0, 5.0, 5.0, 5.0], [2.0, np.nan, 6.0, np.nan]])
    Z = scale_series(X)[0]
    S = slopes(X)
    assert S.shape == (3, 3)
    np.testing.assert_allclose(S[0], np.diff(Z[0]))
    np.testing.assert_array_equal(S[1], 0.0)  # a flat gene does not change
    # the gap at t=1 is interpolated; after the last observed value the series stays put
    np.testing.assert_allclose(S[2], [1.0, 1.0, 0.0])


def test_slopes_of_3d_series_flatten_time_and_dims():
    X = np.random.default_rng(0).standard_normal((5, 6, 2))
    S = slopes(X)
    assert S.shape == (5, 10)
    np.testing.assert_allclose(S.reshape(5, 5, 2), np.diff(scale_series(X)[0], axis=1))


def test_slopes_of_long_series_are_taken_over_bins():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 250)
    # two groups whose change lies in where the series rises, under point-to-point noise
    X = np.vstack([np.tanh((t - c) / 0.05) for c in (0.3,) * 10 + (0.7,) * 10])
    X = X + rng.normal(0, 0.5, X.shape)
    S = slopes(X)
    assert S.shape == (20, 62)  # 250 points in 63 bins of 4 (the last of 2)
    np.testing.assert_allclose(S, slopes(downsample(X, 64)[0], max_timepoints=None))
    assert slopes(X, max_timepoints=None).shape == (20, 249)

    # over bins the rise stands out of the noise: the groups lie further apart, relative to
    # the spread within them, than in the raw point-to-point slopes
    def separation(P):
        within = np.sqrt(((P[:10] - P[:10].mean(0)) ** 2).sum(1).mean())
        return np.linalg.norm(P[:10].mean(0) - P[10:].mean(0)) / within

    assert separation(S) > 1.2 * separation(slopes(X, max_timepoints=None))


def test_slopes_are_a_space_of_the_data_not_of_codes(fitted):
    model, X = fitted
    np.testing.assert_array_equal(embed(model, X, "slopes"), slopes(X))
    np.testing.assert_array_equal(embed(None, X, "slopes"), slopes(X))
    with pytest.raises(ValueError, match="space of the data"):
        embed_codes(model, model.transform(X), "slopes")


def test_soft_assignment_is_kmeans_made_soft():
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [4.0, 0.0]])
    points = np.vstack([rng.normal(c, 0.5, size=(20, 2)) for c in centres])
    p = soft_assignment(points, centres)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    d2 = ((points[:, None] - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(p.argmax(axis=1), d2.argmin(axis=1))
    # a point half-way is undecided; points on the centres are all but certain
    half = soft_assignment([[2.0, 0.0], [0.0, 0.0], [4.0, 0.0]], centres)
    np.testing.assert_allclose(half[0], [0.5, 0.5])
    assert half[1, 0] > 0.999
    assert half[2, 1] > 0.999
    # all points on the centres (no spread): the nearest centre is certain
    np.testing.assert_array_equal(soft_assignment(centres, centres), np.eye(2))


def test_membership_probabilities_in_slopes_are_the_soft_assignment(fitted):
    model, X = fitted
    S = slopes(X)
    centres = S[[0, 10, 20]]
    p = membership_probabilities(model, X, centres, "slopes")
    np.testing.assert_allclose(p, soft_assignment(S, centres))


def test_between_gene_share_is_low_for_one_shape_and_high_for_many():
    t = np.linspace(0, 1, 30)
    rng = np.random.default_rng(0)
    one = np.exp(-((t - 0.5) ** 2) / 0.02) + 0.05 * rng.standard_normal((40, 30))
    many = np.sin(2 * np.pi * (t + rng.uniform(0, 1, (40, 1))))
    assert between_gene_share(one) < 0.1 < 0.9 < between_gene_share(many)

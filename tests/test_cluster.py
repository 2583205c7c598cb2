import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_samples

from rvagene.cluster import (
    K_CRITERIA,
    choose_k,
    cluster_covariances,
    cluster_latent,
    clustering_scores,
    coassociation_matrix,
    consensus_clusters,
    match_clusters,
    membership_probabilities,
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


@pytest.fixture
def big_blobs():
    # 30 points per blob: a full-covariance mixture (bic) needs more than the 15 of `blobs`
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [0.0, 6.0, 0.0], [0.0, 0.0, 6.0]])
    labels = np.repeat(np.arange(4), 30)
    return centres[labels] + rng.normal(scale=0.3, size=(labels.size, 3))


@pytest.mark.parametrize("criterion", list(K_CRITERIA))
def test_choose_k_recovers_blobs(big_blobs, criterion):
    Z = big_blobs
    k, scores = choose_k(Z, k_range=range(2, 9), criterion=criterion)
    assert k == 4
    assert list(scores) == list(range(2, 9))
    assert all(np.isfinite(v) for v in scores.values())
    best = max if K_CRITERIA[criterion] == "higher" else min
    if criterion != "gap":  # the gap's rule is not its argmax
        assert best(scores, key=scores.get) == 4


@pytest.mark.parametrize("criterion", ["gap", "bic", "gmeans"])
def test_choose_k_one_cluster(criterion):
    # one round blob: criteria that can say "no structure" should
    Z = np.random.default_rng(1).normal(size=(80, 3))
    k, scores = choose_k(Z, k_range=range(1, 7), criterion=criterion)
    assert k == 1
    assert set(scores) == set(range(1, 7))


@pytest.mark.parametrize("criterion", ["silhouette", "davies_bouldin", "gap"])
def test_choose_k_averages_the_scores_of_several_fits(big_blobs, criterion):
    rng = np.random.default_rng(5)
    fits = [big_blobs, big_blobs + rng.normal(scale=0.8, size=big_blobs.shape), big_blobs[:, :2]]
    ks = range(2, 8)
    k, scores = choose_k(fits, ks, criterion=criterion)
    alone = [choose_k(F, ks, criterion=criterion)[1] for F in fits]
    for j in ks:  # the silhouette averages per gene first: the same mean
        assert scores[j] == pytest.approx(np.mean([a[j] for a in alone]))
    assert k == 4
    # one fit in a list is that fit; the same fit twice changes nothing
    assert choose_k([big_blobs], ks, criterion=criterion) == choose_k(
        big_blobs, ks, criterion=criterion
    )
    twice = choose_k([big_blobs, big_blobs], ks, criterion=criterion)
    assert twice[0] == choose_k(big_blobs, ks, criterion=criterion)[0]


def test_choose_k_gmeans_takes_the_lower_median_of_the_point_sets(big_blobs):
    # the same 120 genes seen as 4, 3 and 2 groups: G-means finds each, takes the lower median
    merged3, merged2 = big_blobs.copy(), big_blobs.copy()
    merged3[90:] = big_blobs[60:90]  # blobs 2 and 3 together
    merged2[60:] = big_blobs[:60]  # every gene of blobs 2-3 onto blobs 0-1
    ks = range(2, 9)
    alone = [choose_k(F, ks, criterion="gmeans")[0] for F in (big_blobs, merged3, merged2)]
    assert alone == [4, 3, 2]
    k, scores = choose_k([big_blobs, merged3, merged2], ks, criterion="gmeans")
    assert k == 3
    assert scores == pytest.approx({j: (j in (2, 3, 4)) / 3 for j in ks})
    assert choose_k([big_blobs, merged2], ks, criterion="gmeans")[0] == 2
    # never outside k_range: 4 groups seen from k = 5 up, and at most 3
    assert choose_k(big_blobs, range(5, 9), criterion="gmeans")[0] == 5
    assert choose_k(big_blobs, range(2, 4), criterion="gmeans")[0] == 3


def test_choose_k_gmeans_keeps_gmeans_within_the_silhouettes_window(big_blobs, monkeypatch):
    import rvagene.cluster as cluster
    from rvagene import choose_k_gmeans

    ks = range(2, 9)
    # plain G-means when it lies inside the window
    assert choose_k_gmeans(big_blobs, k_range=ks) == choose_k(big_blobs, ks, "gmeans")
    # G-means asking for more or fewer clusters than the silhouettes admit is clipped
    silhouette_k = choose_k(big_blobs, ks, "silhouette")[0]  # 4, the window's low end
    high = choose_k(big_blobs, ks, "silhouette", tolerance=4.0)[0]
    assert silhouette_k == high == 4  # clean blobs: a window of one k
    for asked, expected in ((8, high), (2, silhouette_k)):
        monkeypatch.setattr(cluster, "_gmeans_k", lambda *a, asked=asked: asked)
        k, scores = choose_k_gmeans(big_blobs, k_range=ks)
        assert k == expected
        assert scores[asked] == 1.0
    # the window comes from silhouette_points when given; window=0 is the best silhouette
    monkeypatch.setattr(cluster, "_gmeans_k", lambda *a: 8)
    flat = np.random.default_rng(4).normal(size=big_blobs.shape)
    assert choose_k_gmeans(flat, big_blobs, ks, window=0.0)[0] == 4
    # the window itself, on request: k = 4 within (4, 4)
    assert choose_k_gmeans(flat, big_blobs, ks, window=0.0, return_window=True)[::2] == (4, (4, 4))
    with pytest.raises(ValueError, match="window must be a number >= 0"):
        choose_k_gmeans(big_blobs, window=-1)
    with pytest.raises(ValueError, match="silhouette_points must hold the same genes as points; "
                                         "got 119 rows against 120"):  # fmt: skip
        choose_k_gmeans(big_blobs, big_blobs[1:])
    with pytest.raises(ValueError, match="k_range must lie between 2"):
        choose_k_gmeans(big_blobs, k_range=range(1, 5))


def test_gmeans_normality_statistic_is_andersons():
    import warnings

    from scipy.stats import anderson

    from rvagene.cluster import _anderson_darling

    for x in (np.random.default_rng(3).normal(size=50), np.arange(20.0) ** 2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy >= 1.17 asks for a p-value method
            a2 = anderson(x).statistic
        n = x.size
        assert _anderson_darling(x) == pytest.approx(a2 * (1 + 4 / n - 25 / n**2))


def test_choose_k_tolerance_uses_the_averaged_silhouettes():
    # each gene's silhouette is averaged over the fits before its standard error is taken
    from sklearn.metrics import silhouette_samples

    rng = np.random.default_rng(2)
    fits = [rng.normal(size=(60, 2)) for _ in range(3)]
    ks = range(2, 6)
    k, scores = choose_k(fits, ks, criterion="silhouette", tolerance=2.0)
    per_gene = {
        j: np.mean(
            [silhouette_samples(F, cluster_latent(F, j, random_state=0).labels_) for F in fits],
            axis=0,
        )
        for j in ks
    }
    best = max(ks, key=lambda j: per_gene[j].mean())
    floor = per_gene[best].mean() - 2.0 * per_gene[best].std() / np.sqrt(60)
    expected = best
    for j in range(best + 1, 6):
        if per_gene[j].mean() < floor:
            break
        expected = j
    assert k == expected


def test_choose_k_fits_must_hold_the_same_genes(big_blobs):
    with pytest.raises(ValueError, match=r"same genes; got \[60, 120\] rows"):
        choose_k([big_blobs, big_blobs[:60]], range(2, 5))
    with pytest.raises(ValueError, match="NaN"):
        choose_k([big_blobs, np.full_like(big_blobs, np.nan)], range(2, 5))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("criterion", list(K_CRITERIA))
def test_choose_k_warns_when_the_points_do_not_separate(criterion):
    """Identical points: before, k=2 with scores all inf (or -inf), without a word."""
    with pytest.warns(UserWarning, match=r"only 1 distinct point.*do not separate.*one cluster"):
        assert choose_k(np.zeros((20, 2)), range(2, 5), criterion)[0] == 2
    two = np.repeat([[0.0, 0.0], [1.0, 1.0]], 10, axis=0)
    with pytest.warns(UserWarning, match=r"only 2 distinct point.*k_range up to 2"):
        choose_k(two, range(3, 5), criterion)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # 2 distinct points separate at k=2
        assert choose_k(two, [2], criterion)[0] == 2


def test_choose_k_default_criterion_range_and_determinism(big_blobs, blobs):
    k, scores = choose_k(big_blobs)
    assert (k, list(scores)) == (4, list(range(2, 16)))
    assert scores == choose_k(big_blobs, criterion="davies_bouldin")[1]  # the default
    assert choose_k(big_blobs, random_state=3) == choose_k(big_blobs, random_state=3)
    Z, _ = blobs
    k, scores = choose_k(Z[:6], criterion="silhouette")  # the default range stops at n - 1
    assert list(scores) == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("k_range", "criterion", "match"),
    [
        ([], "silhouette", "k_range is empty"),
        (range(2, 2), "gap", "k_range is empty"),
        ([1, 2, 3], "silhouette", "between 2 and n_points - 1 = 59"),
        ([0, 2], "gap", "between 1 and n_points - 1 = 59"),
        ([2, 60], "bic", "between 1 and n_points - 1 = 59"),
        ([2, 2.5], "silhouette", "iterable of integers"),
        ([True, 3], "silhouette", "iterable of integers"),
        (5, "silhouette", "iterable of integers"),
        (["3"], "silhouette", "iterable of integers"),
    ],
)
def test_choose_k_bad_k_range(blobs, k_range, criterion, match):
    Z, _ = blobs
    with pytest.raises(ValueError, match=match):
        choose_k(Z, k_range=k_range, criterion=criterion)


def test_choose_k_tolerance_takes_the_largest_k_near_the_best():
    # two far pairs of close blobs: the silhouette's best k is 2, the 4 blobs score a little less
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [20.0, 0.0], [25.0, 0.0]])
    Z = centres[np.repeat(np.arange(4), 40)] + rng.normal(scale=0.5, size=(160, 2))
    ks = range(2, 8)
    best, scores = choose_k(Z, ks, criterion="silhouette")
    assert best == 2
    assert scores[4] < scores[2]
    labels = cluster_latent(Z, 2, random_state=0).labels_
    per_gene = silhouette_samples(Z, labels)
    error = per_gene.std() / np.sqrt(per_gene.size)
    chosen = []
    for tolerance in (1.0, 20.0):
        floor = scores[2] - tolerance * error
        expected = 2  # up from the best k while the scores stay above the floor
        while expected + 1 in scores and scores[expected + 1] >= floor:
            expected += 1
        k, again = choose_k(Z, ks, criterion="silhouette", tolerance=tolerance)
        assert (k, again) == (expected, scores)
        chosen.append(k)
    assert chosen == [2, 4]
    assert choose_k(Z, ks, criterion="silhouette", tolerance=1e9)[0] == 7
    assert choose_k(Z, ks, criterion="silhouette", tolerance=0)[0] == 2


@pytest.mark.parametrize(
    ("tolerance", "criterion", "match"),
    [
        (-1.0, "silhouette", "tolerance must be a number >= 0"),
        (float("nan"), "silhouette", "tolerance must be a number >= 0"),
        (True, "silhouette", "tolerance must be a number >= 0"),
        ("2", "silhouette", "tolerance must be a number >= 0"),
        (2.0, "davies_bouldin", "criterion='silhouette' only; got 'davies_bouldin'"),
    ],
)
def test_choose_k_bad_tolerance(blobs, tolerance, criterion, match):
    with pytest.raises(ValueError, match=match):
        choose_k(blobs[0], criterion=criterion, tolerance=tolerance)


def test_choose_k_bad_criterion_and_input(blobs):
    Z, _ = blobs
    with pytest.raises(ValueError, match="Unknown criterion 'aic'. Use one of 'bic', "):
        choose_k(Z, criterion="aic")
    with pytest.raises(ValueError, match="n_references must be an integer >= 2"):
        choose_k(Z, criterion="gap", n_references=1)
    with pytest.raises(ValueError, match=r"reshape\(-1, 1\)"):
        choose_k(np.arange(10.0))


def test_membership_rows_sum_to_one_and_match_hard_labels(blobs):
    Z, labels = blobs
    km = cluster_latent(Z, 4)
    p = membership_probabilities(Z, np.full(Z.shape, 0.05), km.cluster_centers_)
    assert p.shape == (60, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_array_equal(p.argmax(axis=1), km.labels_)
    assert p.max(axis=1).min() > 0.99  # tight posteriors well inside their cells


def test_membership_between_and_at_centres():
    centres = np.array([[-2.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 8.0, 0.0]])
    mean = np.array([[0.0, 0.0, 0.0], [-2.0, 0.0, 0.0], [0.0, 8.0, 0.0], [0.0, 0.0, 5.0]])
    p = membership_probabilities(mean, np.ones_like(mean), centres, random_state=1)
    np.testing.assert_allclose(p[0], [0.5, 0.5, 0.0], atol=0.02)  # midway between two
    assert p[1, 0] > 0.97
    assert p[2, 2] > 0.99
    np.testing.assert_allclose(p[3, :2], [0.5, 0.5], atol=0.05)  # on the plane between 0 and 1


def test_membership_matches_the_normal_distribution():
    # 1-D, centres at -1 and +1: P(nearest to +1) = P(z > 0) = Phi(mean / sd)
    from scipy.stats import norm

    mean = np.array([[0.5], [-0.3], [1.0]])
    variance = np.array([[1.0], [0.25], [4.0]])
    p = membership_probabilities(mean, variance, [[-1.0], [1.0]], n_samples=40000)
    np.testing.assert_allclose(p[:, 1], norm.cdf(mean[:, 0] / np.sqrt(variance[:, 0])), atol=0.01)


def test_membership_zero_variance_is_the_hard_assignment(blobs):
    Z, _ = blobs
    km = cluster_latent(Z, 4)
    p = membership_probabilities(Z, np.zeros_like(Z), km.cluster_centers_, n_samples=3)
    np.testing.assert_array_equal(p, np.eye(4)[km.labels_])


def test_membership_wider_posterior_is_less_sure(blobs):
    Z, _ = blobs
    centres = cluster_latent(Z, 4).cluster_centers_
    narrow = membership_probabilities(Z, np.full(Z.shape, 0.1), centres).max(axis=1)
    wide = membership_probabilities(Z, np.full(Z.shape, 9.0), centres).max(axis=1)
    assert np.all(wide <= narrow)
    assert wide.mean() < 0.8


def test_membership_seeded():
    mean, var, centres = np.zeros((5, 2)), np.ones((5, 2)), np.array([[1.0, 0.0], [0.0, 1.0]])
    a = membership_probabilities(mean + 0.1, var, centres, n_samples=51, random_state=4)
    b = membership_probabilities(mean + 0.1, var, centres, n_samples=51, random_state=4)
    np.testing.assert_array_equal(a, b)
    assert np.all(a * 52 == np.round(a * 52))  # 51 is rounded up to 26 antithetic pairs


@pytest.mark.parametrize(
    ("mean", "variance", "centres", "kwargs", "match"),
    [
        (np.zeros((3, 2)), np.ones((3, 3)), np.zeros((2, 2)), {}, "variance has shape"),
        (np.zeros((3, 2)), -np.ones((3, 2)), np.zeros((2, 2)), {}, "non-negative"),
        (np.zeros((3, 2)), np.ones((3, 2)), np.zeros((2, 3)), {}, r"shape \(n_clusters, 2\)"),
        (np.zeros((3, 2)), np.ones((3, 2)), np.zeros((0, 2)), {}, r"shape \(n_clusters, 2\)"),
        (np.zeros((3, 2)), np.ones((3, 2)), np.zeros((2, 2)), {"n_samples": 0}, "n_samples"),
        (np.full((3, 2), np.nan), np.ones((3, 2)), np.zeros((2, 2)), {}, "NaN or infinite"),
    ],
)
def test_membership_bad_input(mean, variance, centres, kwargs, match):
    with pytest.raises(ValueError, match=match):
        membership_probabilities(mean, variance, centres, **kwargs)


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


def test_membership_from_a_fitted_model(tiny, fast_params):
    from rvagene import RVAgene

    X, _ = tiny
    model = RVAgene(**fast_params).fit(X)
    mean, variance = model.latent_posterior(X)
    assert mean.shape == variance.shape == (30, 2)
    np.testing.assert_array_equal(mean, model.transform(X))
    assert np.all(variance > 0)
    assert model.latent_posterior(X.astype(np.float32))[1].dtype == np.float32
    km = cluster_latent(mean, 3)
    p = membership_probabilities(mean, variance, km.cluster_centers_)
    assert p.shape == (30, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="time points per series"):
        model.latent_posterior(X[:, :5])


# --------------------------------------------------------------------- cluster spread


def test_cluster_covariances_follow_each_cluster(blobs):
    Z, labels = blobs
    Z = Z.copy()
    Z[labels == 1] = 6.0 + 3.0 * (Z[labels == 1] - 6.0 * np.array([1, 0, 0]))  # wider cluster 1
    cov = cluster_covariances(Z, labels)
    assert cov.shape == (4, 3, 3)
    np.testing.assert_allclose(cov, cov.transpose(0, 2, 1))
    traces = np.trace(cov, axis1=1, axis2=2)
    assert traces[1] > 4 * traces[0]
    plain = cluster_covariances(Z, labels, shrinkage="none")
    np.testing.assert_allclose(plain[0], np.cov(Z[labels == 0], rowvar=False, bias=True))
    with_var = cluster_covariances(Z, labels, variance=np.full(Z.shape, 0.5))
    np.testing.assert_allclose(with_var - cov, np.broadcast_to(0.5 * np.eye(3), cov.shape))


def test_cluster_covariances_small_and_empty_clusters(blobs):
    Z, labels = blobs
    labels = labels.copy()
    labels[0] = 5  # one gene alone in cluster 5; cluster 4 empty
    with pytest.warns(UserWarning, match=r"\[4, 5\] have fewer .* pooled within-cluster"):
        cov = cluster_covariances(Z, labels)
    assert cov.shape == (6, 3, 3)
    np.testing.assert_allclose(cov[4], cov[5])
    assert np.all(np.linalg.eigvalsh(cov[4]) > 0)
    # every cluster alone: the spread of all points, said so (before: "pooled within-cluster")
    with pytest.warns(UserWarning, match=r"they get the spread of all points \(no cluster has 2"):
        alone = cluster_covariances(Z[:4], np.arange(4))
    np.testing.assert_allclose(alone[0], cluster_covariances(Z[:4], np.zeros(4, int))[0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"labels": np.zeros(5, int)}, "labels must have shape"),
        ({"labels": -np.ones(60, int)}, "no negatives"),
        ({"n_clusters": 2}, "raise n_clusters"),
        ({"variance": np.zeros((60, 2))}, "variance has shape"),
        ({"shrinkage": "oas"}, "Unknown shrinkage"),
    ],
)
def test_cluster_covariances_bad_input(blobs, kwargs, match):
    Z, labels = blobs
    args = {"labels": labels, **kwargs}
    with pytest.raises(ValueError, match=match):
        cluster_covariances(Z, **args)


def test_sample_with_covariance():
    centres = np.array([[0.0, 0.0], [10.0, 0.0]])
    cov = np.array([[[1.0, 0.8], [0.8, 1.0]], [[0.01, 0.0], [0.0, 4.0]]])
    s = sample_around_centres(centres, 20000, covariance=cov, random_state=0)
    for i in range(2):
        np.testing.assert_allclose(np.cov(s[i], rowvar=False), cov[i], atol=0.08)
        np.testing.assert_allclose(s[i].mean(axis=0), centres[i], atol=0.05)
    shared = sample_around_centres(centres, 5, covariance=cov[0], random_state=0)
    assert shared.shape == (2, 5, 2)
    # the same seed gives the same draws; scale=0.3 is the isotropic covariance 0.3 I
    np.testing.assert_array_equal(
        sample_around_centres(centres, 5, random_state=3),
        sample_around_centres(centres, 5, covariance=0.3 * np.eye(2), random_state=3),
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"scale": 0.3, "covariance": np.eye(2)}, "not both"),
        ({"covariance": np.eye(3)}, r"covariance must have shape \(2, 2, 2\)"),
        ({"covariance": np.array([[1.0, 2.0], [0.0, 1.0]])}, "symmetric"),
        ({"covariance": -np.eye(2)}, "positive semi-definite"),
    ],
)
def test_sample_bad_covariance(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sample_around_centres(np.zeros((2, 2)), **kwargs)


# --------------------------------------------------------------------------- consensus


def test_coassociation_matrix():
    C = coassociation_matrix([[0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 1, 1]])
    assert C.shape == (4, 4)
    np.testing.assert_allclose(np.diag(C), 1.0)
    np.testing.assert_allclose(C, C.T)
    assert C[0, 1] == pytest.approx(2 / 3)
    assert C[2, 3] == 1.0
    assert C[0, 3] == 0.0
    with pytest.raises(ValueError, match="same genes"):
        coassociation_matrix([[0, 1], [0, 1, 1]])
    with pytest.raises(ValueError, match="empty"):
        coassociation_matrix([])


@pytest.mark.parametrize("method", ["coassociation", "concat"])
def test_consensus_fixes_one_bad_fit(method):
    """Three fits agree on the truth, one merges two clusters: the consensus keeps the truth."""
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 15)
    centres = rng.normal(0, 5, (4, 3))
    good = [centres[truth] + rng.normal(0, 0.3, (60, 3)) for _ in range(3)]
    merged = centres.copy()
    merged[1] = merged[0]  # this fit cannot tell clusters 0 and 1 apart
    bad = merged[truth] + rng.normal(0, 0.3, (60, 3))
    single = cluster_latent(bad, 4).labels_
    assert clustering_scores(truth, single)["ari"] < 0.95
    labels = consensus_clusters([*good, bad], 4, method=method)
    assert labels.shape == (60,)
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    assert clustering_scores(truth, labels)["ari"] == 1.0
    np.testing.assert_array_equal(labels, consensus_clusters([*good, bad], 4, method=method))


def test_consensus_latent_sizes_may_differ_and_bad_input(blobs):
    Z, labels = blobs
    wider = np.hstack([Z, Z[:, :1]])
    got = consensus_clusters([Z, wider], 4, method="concat")
    assert clustering_scores(labels, got)["ari"] == 1.0
    assert clustering_scores(labels, consensus_clusters(Z, 4))["ari"] == 1.0  # one fit
    with pytest.raises(ValueError, match="Unknown consensus method"):
        consensus_clusters([Z], 4, method="vote")
    with pytest.raises(ValueError, match="same genes"):
        consensus_clusters([Z, Z[:10]], 4)
    with pytest.raises(ValueError, match="n_clusters must be"):
        consensus_clusters([Z, Z], 0)


def test_concat_weighs_each_fit_the_same_whatever_its_latent_size():
    # two 1-D fits split the genes by a, one 16-D fit by b: with each fit weighing the same,
    # the split shared by two fits wins; weighed by their coordinates, the 16-D one would
    a = np.tile([0, 0, 1, 1], 10)
    b = np.tile([0, 1, 0, 1], 10)
    one_d = a[:, None].astype(float)
    wide = np.repeat(b[:, None].astype(float), 16, axis=1)
    got = consensus_clusters([one_d, one_d, wide], 2, method="concat")
    assert clustering_scores(a, got)["ari"] == 1.0


def test_consensus_runs(blobs):
    """n_runs single-start runs per space; n_runs=1 is one K-means of 10 starts per space."""
    Z, labels = blobs
    noisy = Z + np.random.default_rng(1).normal(0, 0.5, Z.shape)
    one = consensus_clusters([noisy], 4, n_runs=1, random_state=3)
    kmeans = cluster_latent(noisy, 4, random_state=np.random.RandomState(3)).labels_
    assert clustering_scores(kmeans, one)["ari"] == 1.0
    many = consensus_clusters([Z, noisy], 4, n_runs=20, random_state=3)
    assert clustering_scores(labels, many)["ari"] == 1.0
    np.testing.assert_array_equal(
        many, consensus_clusters([Z, noisy], 4, n_runs=20, random_state=3)
    )
    assert (consensus_clusters([Z, noisy], 1) == 0).all()
    assert np.unique(consensus_clusters([Z, noisy], len(Z))).size == len(Z)
    for bad in (0, 2.5, True, "10"):
        with pytest.raises(ValueError, match="n_runs must be an integer >= 1"):
            consensus_clusters([Z], 4, n_runs=bad)


def test_match_clusters_renumbers_to_the_labels():
    labels = np.repeat([0, 1, 2, 3], 5)
    perm = np.array([2, 0, 3, 1])  # K-means numbered true cluster i as perm[i]
    assignments = perm[labels]
    assignments[0] = perm[1]  # one gene in the wrong cluster
    m = match_clusters(assignments, labels)
    shown = m.numbering[assignments]
    assert (shown == labels).sum() == 19
    assert m.labels == [0, 1, 2, 3]


def test_match_clusters_more_or_fewer_clusters_than_labels():
    labels = np.array(["up"] * 4 + ["down"] * 4)
    assignments = np.array([2, 2, 2, 2, 0, 0, 1, 1])
    m = match_clusters(assignments, labels, n_clusters=4)  # cluster 3 is empty
    shown = m.numbering[assignments]
    np.testing.assert_array_equal(shown[:4], 1)  # "up" sorts after "down"
    assert shown[4] == 0
    assert m.labels == ["down", "up", None, None]
    m = match_clusters([0, 0, 1, 1, 1, 1], [5, 5, 7, 7, 9, 9])  # 2 clusters, 3 labels
    assert m.numbering.tolist() == [0, 1]
    assert m.labels == [5, 7]
    with pytest.raises(ValueError, match="labels has 2 entries but assignments has 3"):
        match_clusters([0, 1, 1], [0, 1])


def test_match_clusters_leaves_flat_genes_out():
    """-1 (a flat gene in GeneClustering.labels_) was counted as the last cluster."""
    m = match_clusters([-1, -1, -1, 0, 1], ["a", "a", "a", "b", "c"])
    assert m.numbering.tolist() == [0, 1]
    assert m.labels == ["b", "c"]
    m = match_clusters([1, 1, 0, 0, -1, -1, -1], [0, 0, 1, 1, 1, 1, 1])
    assert m.numbering.tolist() == [1, 0]


def test_match_clusters_n_clusters_below_the_assignments():
    match = r"assignments go up to cluster 2, but n_clusters is 2; give n_clusters=3"
    with pytest.raises(ValueError, match=match):
        match_clusters([0, 1, 2], [0, 1, 2], n_clusters=2)


def test_match_clusters_takes_labels_of_an_object_array():
    """Labels from a pandas column (object dtype, strings) are matched as strings."""
    labels = np.array(["up", "up", "down", "down"], dtype=object)
    match = match_clusters(np.array([1, 1, 0, 0]), labels, 2)
    assert sorted(match.labels) == ["down", "up"]
    assert match.labels[match.numbering[1]] == "up"

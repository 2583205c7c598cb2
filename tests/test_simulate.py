import importlib
import re
import warnings

import numpy as np
import pytest

from rvagene.simulate import (
    _banded_covariance,
    sampling_times,
    simulate,
    simulate_timecourse,
    time_grid,
)

# rvagene/__init__.py exports the function `simulate`, which hides the submodule attribute.
sim_module = importlib.import_module("rvagene.simulate")


def _within_cluster_residuals(X, labels, means):
    return X - means[labels]


def test_deterministic_under_seed():
    X1, y1 = simulate(n_clusters=3, genes_per_cluster=5, sequence_length=20, random_state=7)
    X2, y2 = simulate(n_clusters=3, genes_per_cluster=5, sequence_length=20, random_state=7)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, _ = simulate(n_clusters=3, genes_per_cluster=5, sequence_length=20, random_state=8)
    assert not np.allclose(X1, X3)


def test_accepts_generators_and_leaves_global_rng_alone():
    state = np.random.get_state()  # noqa: NPY002
    X1, _ = simulate(2, 3, 10, random_state=np.random.default_rng(1))
    X2, _ = simulate(2, 3, 10, random_state=np.random.default_rng(1))
    X3, _ = simulate(2, 3, 10, random_state=np.random.RandomState(1))
    X4, _ = simulate(2, 3, 10, random_state=np.random.RandomState(1))
    simulate(2, 3, 10)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(X3, X4)
    after = np.random.get_state()  # noqa: NPY002
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]


@pytest.mark.parametrize("method", ["convolve", "add"])
def test_shapes_and_labels_int_sizes(method):
    X, labels, means = simulate(
        n_clusters=4,
        genes_per_cluster=3,
        sequence_length=12,
        method=method,
        random_state=0,
        return_means=True,
    )
    assert X.shape == (12, 12)
    assert X.dtype == np.float64
    assert means.shape == (4, 12)
    assert labels.dtype.kind == "i"
    np.testing.assert_array_equal(labels, np.repeat(np.arange(4), 3))
    assert np.all(np.isfinite(X))


def test_shapes_and_labels_sequence_sizes():
    sizes = [5, 60, 17]
    X, labels = simulate(n_clusters=3, genes_per_cluster=sizes, random_state=0)
    assert X.shape == (82, 100)
    np.testing.assert_array_equal(np.bincount(labels), sizes)
    assert np.all(np.diff(labels) >= 0)
    X2, labels2 = simulate(n_clusters=3, genes_per_cluster=np.array(sizes), random_state=0)
    np.testing.assert_array_equal(X, X2)


def test_sequence_length_sets_time_points():
    X, _ = simulate(n_clusters=2, genes_per_cluster=2, sequence_length=250, random_state=0)
    assert X.shape == (4, 250)
    t = time_grid(250)
    assert t[0] == 0.0
    assert t[-1] == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"n_clusters": 2.5}, "n_clusters"),
        ({"sequence_length": 1}, "sequence_length"),
        ({"method": "multiply"}, "method"),
        ({"genes_per_cluster": 0}, "genes_per_cluster"),
        ({"genes_per_cluster": [3, 4]}, "2 entries"),
        ({"genes_per_cluster": [3, 0, 4, 1, 1, 1]}, "genes_per_cluster"),
        ({"genes_per_cluster": "20"}, "genes_per_cluster"),
        ({"noise": -1.0}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"gene_scale": -0.1}, "gene_scale"),
        ({"gene_offset": -0.1}, "gene_offset"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate(**kwargs)


def test_bad_random_state_raises():
    with pytest.raises(ValueError, match="RandomState"):
        simulate(random_state="seed")


@pytest.mark.parametrize("method", ["convolve", "add"])
@pytest.mark.parametrize("length", [8, 100])
def test_covariance_is_psd(method, length):
    rng = np.random.default_rng(0)
    x = time_grid(length)
    for _ in range(20):
        y = sim_module._cluster_mean(rng, x, method)
        raw = _banded_covariance(y, project=False)
        cov = _banded_covariance(y)
        assert np.allclose(cov, cov.T)
        assert np.linalg.eigvalsh(cov).min() >= -1e-10
        if length == 100:
            # The unprojected banded matrix is indefinite: that is the defect being fixed.
            assert np.linalg.eigvalsh(raw).min() < -1e-6
        # The projection only adds the negative part back; it stays close to the original.
        assert np.linalg.norm(cov - raw) <= 0.25 * np.linalg.norm(raw)


def test_covariance_matches_original_formula_at_100_points():
    y = np.linspace(-1, 1, 100) ** 3
    raw = _banded_covariance(y, project=False)
    v = y[:, None] + 0.1
    expected = v @ v.T / (y @ y)
    i, j = np.indices(expected.shape)
    expected[np.abs(i - j) > 50] = 0
    np.testing.assert_allclose(raw, expected)


def test_means_never_flat_and_scaled_to_unit_range():
    for seed in range(200):
        method = "convolve" if seed % 2 else "add"
        _, _, means = simulate(
            n_clusters=6,
            genes_per_cluster=1,
            method=method,
            noise=0.0,
            random_state=seed,
            return_means=True,
        )
        np.testing.assert_allclose(means.min(axis=1), -1.0)
        np.testing.assert_allclose(means.max(axis=1), 1.0)


@pytest.mark.parametrize("method", ["convolve", "add"])
def test_smallest_integer_draws_give_a_curve(method):
    # The original drew 0..99, where a 0 amplitude gives a flat curve. Here the smallest
    # possible draw is 1, and even all-ones (the flattest case) gives a full-range curve.
    class LowestDraws:
        def integers(self, low, high, size):
            assert low >= 1
            return np.full(size, low)

    y = sim_module._cluster_mean(LowestDraws(), time_grid(100), method)
    assert y is not None
    assert np.ptp(y) == pytest.approx(2.0)


def test_flat_draw_is_redrawn(monkeypatch):
    # Force the first candidate to be flat; the generator must skip it.
    real = sim_module._cluster_mean
    state = {"n": 0}

    def flaky(rng, x, method):
        state["n"] += 1
        if state["n"] == 1:
            return None
        return real(rng, x, method)

    monkeypatch.setattr(sim_module, "_cluster_mean", flaky)
    _, _, means = simulate(n_clusters=2, genes_per_cluster=1, random_state=0, return_means=True)
    assert np.all(np.ptp(means, axis=1) == pytest.approx(2.0))


def test_cluster_means_are_distinct():
    for seed in range(30):
        _, _, means = simulate(random_state=seed, genes_per_cluster=1, return_means=True)
        corr = np.corrcoef(means)
        np.fill_diagonal(corr, 0)
        assert corr.max() <= 0.95


def test_impossible_distinctness_warns():
    # With 2 time points every scaled mean is (-1, 1) or (1, -1): 3 clusters cannot differ.
    with pytest.warns(UserWarning, match="hard to tell apart"):
        simulate(n_clusters=3, genes_per_cluster=1, sequence_length=2, random_state=0)


def test_many_clusters_on_short_series_warn_once_and_stop_redrawing():
    """Before: every later cluster redrew 1000 times against all earlier means (200 clusters
    of 5 points: 22 s and 92 warnings; 1000 clusters: hours) and warned once each."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        X, labels = simulate(
            n_clusters=200, genes_per_cluster=1, sequence_length=5, random_state=0
        )
    said = [str(w.message) for w in caught]
    assert len(said) == 1, said[:3]
    assert re.match(r"Cluster \d+'s mean correlates > 0.95 .*; it and clusters \d+ to 199 were "
                    r"kept as drawn", said[0])  # fmt: skip
    assert X.shape == (200, 5)
    np.testing.assert_array_equal(labels, np.arange(200))


def test_noise_increases_spread():
    kwargs = {"n_clusters": 3, "genes_per_cluster": 30, "random_state": 0, "return_means": True}
    X1, y1, m1 = simulate(noise=1.0, **kwargs)
    X4, y4, m4 = simulate(noise=4.0, **kwargs)
    np.testing.assert_array_equal(m1, m4)
    s1 = _within_cluster_residuals(X1, y1, m1).std()
    s4 = _within_cluster_residuals(X4, y4, m4).std()
    assert s4 == pytest.approx(2 * s1)
    X0, y0, m0 = simulate(noise=0.0, **kwargs)
    np.testing.assert_allclose(X0, m0[y0])


def test_gene_scale_and_offset_keep_shape():
    kwargs = {"n_clusters": 4, "genes_per_cluster": 25, "random_state": 3, "return_means": True}
    X, labels, means = simulate(**kwargs)
    Xs, labels_s, means_s = simulate(gene_scale=0.5, gene_offset=2.0, **kwargs)
    np.testing.assert_array_equal(means, means_s)
    np.testing.assert_array_equal(labels, labels_s)
    # Genes now differ in level and scale ...
    assert np.std(Xs.mean(axis=1)) > 3 * np.std(X.mean(axis=1))
    ratio = Xs.std(axis=1) / X.std(axis=1)
    assert ratio.max() / ratio.min() > 1.5
    # ... but each gene is an affine, positively scaled copy of the unscaled one,
    for a, b in zip(X, Xs, strict=True):
        assert np.corrcoef(a, b)[0, 1] == pytest.approx(1.0)

    # so it still follows its cluster's shape.
    def corr_to_mean(data):
        return np.array(
            [np.corrcoef(g, means[k])[0, 1] for g, k in zip(data, labels, strict=True)]
        )

    np.testing.assert_allclose(corr_to_mean(Xs), corr_to_mean(X))
    assert np.median(corr_to_mean(Xs)) > 0.8


# --------------------------------------------------------------------------- simulate_timecourse
def test_timecourse_deterministic_and_leaves_global_rng_alone():
    state = np.random.get_state()  # noqa: NPY002
    a = simulate_timecourse(random_state=3)
    b = simulate_timecourse(random_state=3)
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002
    assert not np.array_equal(a[0], simulate_timecourse(random_state=4)[0])


def test_timecourse_default_sizes_are_imbalanced_5_to_60():
    X, labels, times = simulate_timecourse(n_clusters=6, random_state=0)
    sizes = np.bincount(labels)
    assert sizes.min() == 5
    assert sizes.max() == 60
    assert X.shape == (sizes.sum(), times.size)
    assert np.all(np.diff(labels) >= 0)


@pytest.mark.parametrize(("n", "spacing"), [(6, "even"), (12, "uneven"), (24, "even")])
def test_timecourse_times(n, spacing):
    X, _, times = simulate_timecourse(
        n_timepoints=n, spacing=spacing, genes_per_cluster=5, random_state=0
    )
    assert X.shape[1] == times.size == n
    assert times[0] == 0
    assert times[-1] == pytest.approx(24.0)
    steps = np.diff(times)
    assert np.all(steps > 0)
    if spacing == "even":
        np.testing.assert_allclose(steps, steps[0])
    else:
        assert steps[-1] > 3 * steps[0]  # dense early, sparse late


@pytest.mark.parametrize("response", ["impulse", "sigmoid", "mixed"])
def test_timecourse_noise_free_clusters_are_separable(response):
    from rvagene.cluster import cluster_latent, clustering_scores
    from rvagene.data import scale_series

    X, labels, _ = simulate_timecourse(
        n_clusters=4,
        genes_per_cluster=10,
        response=response,
        onset_jitter=0,
        noise=0,
        n_outliers=0,
        random_state=1,
    )
    pred = cluster_latent(scale_series(X)[0], 4).labels_
    assert clustering_scores(labels, pred)["ari"] == pytest.approx(1.0)


def test_timecourse_noise_is_heteroscedastic_and_outliers_spike():
    kw = {"n_clusters": 3, "genes_per_cluster": 200, "n_outliers": 0, "random_state": 0}
    clean = simulate_timecourse(noise=0, **kw)[0]
    noisy = simulate_timecourse(noise=0.2, **kw)[0]
    resid = noisy - clean
    low, high = clean < 4, clean > 7
    assert resid[low].std() > 1.5 * resid[high].std()
    spiked = simulate_timecourse(noise=0, **{**kw, "n_outliers": 3})[0]
    changed = np.abs(spiked - clean).max(axis=1) > 3
    assert changed.sum() == 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_clusters": 0}, "n_clusters"),
        ({"response": "step"}, "response"),
        ({"noise": -1}, "noise"),
        ({"spacing": "log"}, "spacing"),
        ({"n_timepoints": 1}, "n_timepoints"),
        ({"n_outliers": 10_000}, "n_outliers"),
        ({"t_max": 0}, "t_max"),
    ],
)
def test_timecourse_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        simulate_timecourse(**kwargs)


def test_sampling_times_even():
    np.testing.assert_allclose(sampling_times(5, "even", t_max=4.0), [0, 1, 2, 3, 4])

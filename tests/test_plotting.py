import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from rvagene.cluster import match_clusters  # noqa: E402
from rvagene.plotting import (  # noqa: E402
    DOWN_COLOR,
    FLAT_COLOR,
    UP_COLOR,
    cluster_colors,
    label_colors,
    matched_colors,
    plot_clusters,
    plot_correlations,
    plot_generated,
    plot_k_scores,
    plot_latent,
    plot_loss,
    plot_series,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def _latent(rng, d, n=30, k=3):
    labels = np.repeat(np.arange(k), n // k)
    Z = rng.normal(size=(n, d)) + 4 * labels[:, None]
    centres = np.stack([Z[labels == i].mean(axis=0) for i in range(k)])
    return Z, labels, centres


def test_importing_plotting_does_not_import_pyplot():
    code = "import sys, rvagene.plotting; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cluster_colors_stable():
    assert cluster_colors(6)[2] == cluster_colors(6)[2]
    assert cluster_colors(3)[0] == cluster_colors(6)[0]
    assert cluster_colors(6) == cluster_colors(20)[:6] == cluster_colors(30)[:6]
    assert cluster_colors(30)[:25] == cluster_colors(25)
    for n in (0, 1, 10, 11, 20, 21, 40):
        colors = cluster_colors(n)
        assert len(colors) == n
        assert len(set(colors)) == n  # distinct
        assert all(len(c) == 4 and all(0 <= v <= 1 for v in c) for c in colors)


@pytest.mark.parametrize("given_ax", [False, True])
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_plot_latent(rng, d, given_ax):
    Z, labels, _ = _latent(rng, d)
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_latent(Z, labels, ax=ax_in, title="latent")
    assert isinstance(ax, Axes)
    if given_ax:
        assert ax is ax_in
    if d == 3:
        assert (ax.name == "3d") != given_ax
    if d == 5 or (d == 3 and given_ax):
        assert ax.get_xlabel().startswith("PC1 (")
        assert "PCA" in ax.get_title()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["cluster 0", "cluster 1", "cluster 2"]


def test_plot_latent_given_3d_axes(rng):
    Z, labels, _ = _latent(rng, 3)
    ax_in = plt.figure().add_subplot(projection="3d")
    ax = plot_latent(Z, labels, ax=ax_in)
    assert ax is ax_in
    assert ax.get_zlabel() == "z3"


def test_plot_latent_colours_match_cluster_colors(rng):
    Z, labels, _ = _latent(rng, 2)
    ax = plot_latent(Z, labels + 1)  # labels 1..3: colour is picked by value
    face = [c.get_facecolor()[0][:3] for c in ax.collections]
    np.testing.assert_allclose(face, [cluster_colors(4)[i][:3] for i in (1, 2, 3)])


def test_plot_latent_options(rng):
    Z, labels, _ = _latent(rng, 2)
    names = {0: "early", 1: "mid", 2: "late"}
    flagged = np.zeros(len(Z), dtype=bool)
    flagged[:4] = True
    ax = plot_latent(Z, labels, colors=["r", "g", "b"], label_names=names, flagged=flagged)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["early", "mid", "late", "flagged (4)"]
    ax = plot_latent(Z)  # no labels: one colour, no legend
    assert ax.get_legend() is None
    ax = plot_latent(Z, np.array(["up", "down"] * 15))
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["down", "up"]


def test_plot_latent_errors(rng):
    Z, labels, _ = _latent(rng, 2)
    with pytest.raises(ValueError, match="labels has 29 entries but Z has 30 rows"):
        plot_latent(Z, labels[:-1])
    with pytest.raises(ValueError, match="Z must have shape"):
        plot_latent(np.zeros(5))


@pytest.mark.parametrize("given_ax", [False, True])
@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_plot_clusters(rng, d, given_ax):
    Z, labels, centres = _latent(rng, d)
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_clusters(Z, labels, centres, ax=ax_in)
    assert isinstance(ax, Axes)
    assert ax.get_title().startswith("K-means clusters (k=3)")
    assert "centres" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_plot_clusters_centres_projected_with_points(rng):
    Z, labels, centres = _latent(rng, 5)
    ax = plot_clusters(Z, labels, centres)
    from sklearn.decomposition import PCA

    projected = PCA(n_components=2, svd_solver="full").fit(Z).transform(centres)
    stars = ax.collections[-3:]
    got = np.concatenate([s.get_offsets() for s in stars])
    np.testing.assert_allclose(got, projected)


def test_flat_genes_are_grey_and_the_clusters_keep_their_colours(rng):
    """Label -1 (a flat gene): before, named "-1" and every cluster's colour shifted by one."""
    from matplotlib.colors import to_rgba

    Z, labels, centres = _latent(rng, 2)
    labels[:2] = -1
    ax = plot_clusters(Z, labels, centres)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["cluster 0", "cluster 1", "cluster 2", "flat", "centres"]
    assert ax.get_title() == "K-means clusters (k=3)"
    face = [c.get_facecolor()[0] for c in ax.collections[:4]]
    np.testing.assert_allclose(face[:3], [c[:3] + (0.85,) for c in cluster_colors(3)])
    np.testing.assert_allclose(face[3], to_rgba(FLAT_COLOR, 0.85))
    assert label_colors(labels, flat_label=True)[-1] == FLAT_COLOR
    assert label_colors(labels, flat_label=True)[0] == cluster_colors(1)[0]
    ax = plot_latent(Z, labels, colors={-1: "k", 0: "r", 1: "g", 2: "b"},
                     label_names={0: "a", 1: "b", 2: "c"}, flat_label=True)  # fmt: skip
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c", "flat"]


def test_true_labels_of_minus_one_are_not_flat(rng):
    """Classes coded -1 and 1 are two labels: only cluster numbers use -1 for flat genes."""
    Z, _, _ = _latent(rng, 2)
    labels = np.where(np.arange(Z.shape[0]) % 2, 1, -1)
    ax = plot_latent(Z, labels)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["-1", "1"]
    colors = label_colors(labels)
    assert FLAT_COLOR not in colors.values()
    assert colors[-1] != colors[1]


@pytest.mark.parametrize("d", [3, 5])
def test_rows_that_are_not_finite_are_left_out_of_the_projection(rng, d):
    """Flat genes' NaN rows of GeneClustering.embedding_: before, PCA's "contains NaN"."""
    from sklearn.decomposition import PCA

    Z, labels, centres = _latent(rng, d)
    Z[:2], labels[:2] = np.nan, -1
    ax = plot_clusters(Z, labels, centres, ax=plt.subplots()[1])
    projected = PCA(n_components=2, svd_solver="full").fit(Z[2:]).transform(centres)
    got = np.concatenate([s.get_offsets() for s in ax.collections[-3:]])
    np.testing.assert_allclose(got, projected)
    assert plot_latent(Z, labels, ax=plt.subplots()[1]).get_xlabel().startswith("PC1 (")


def test_plot_clusters_empty_cluster_and_bad_centres(rng):
    Z, labels, centres = _latent(rng, 2)
    extra = np.vstack([centres, [[50.0, 50.0]]])  # cluster 3 has no members
    ax = plot_clusters(Z, labels, extra)
    assert isinstance(ax, Axes)
    with pytest.raises(ValueError, match="centres must have shape"):
        plot_clusters(Z, labels, centres[:, :1])


@pytest.mark.parametrize("given_ax", [False, True])
@pytest.mark.parametrize("shape", [(5, 12), (5, 12, 1), (5, 12, 3), (12,)])
def test_plot_series(rng, shape, given_ax):
    X = rng.normal(size=shape)
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_series(X, ax=ax_in, color=cluster_colors(3)[1], mean=np.zeros(12), title="c1")
    assert isinstance(ax, Axes)
    n = shape[0] if len(shape) > 1 else 1
    assert len(ax.lines) == n + 1
    assert ax.lines[-1].get_linewidth() > ax.lines[0].get_linewidth()
    assert ax.get_xlabel() == "time point"


def test_plot_series_times_and_label(rng):
    X = rng.normal(size=(4, 6))
    times = np.array([0, 2, 4, 7, 8, 9.5])
    ax = plot_series(X, times=times, label="cluster 0")
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), times)
    assert ax.get_xlabel() == "time"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cluster 0"]
    with pytest.raises(ValueError, match="times has 3 values"):
        plot_series(X, times=[0, 1, 2])
    with pytest.raises(ValueError, match="mean must be one series"):
        plot_series(X, mean=np.zeros(5))
    assert isinstance(plot_series(np.zeros((0, 6))), Axes)  # empty cluster


@pytest.mark.parametrize("given_ax", [False, True])
@pytest.mark.parametrize(
    ("shape", "centre_shape"), [((20, 15), (15,)), ((20, 15, 1), (15, 1)), ((20, 15, 2), (1, 15))]
)
def test_plot_generated(rng, shape, centre_shape, given_ax):
    gen = rng.normal(size=shape)
    ax_in = plt.subplots()[1] if given_ax else None
    color = cluster_colors(6)[4]
    ax = plot_generated(
        gen, rng.normal(size=centre_shape), ax=ax_in, color=color, label="cluster 4"
    )
    assert isinstance(ax, Axes)
    assert len(ax.lines) == 21
    assert ax.lines[0].get_color() == color
    assert ax.lines[-1].get_color() == "black"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["cluster 4", "decoded centre"]


def test_plot_generated_of_every_cluster_takes_cluster(rng):
    """GeneClustering.generate's (k, n, T): before, read as (n, T, dims) without a word."""
    every = rng.normal(size=(3, 5, 10))  # 3 clusters, 5 series of 10 time points
    ax = plot_generated(every, cluster=2)
    assert len(ax.lines) == 5
    np.testing.assert_allclose(ax.lines[0].get_ydata(), every[2, 0])
    assert ax.lines[0].get_color() == cluster_colors(3)[2]
    assert plot_generated(every, cluster=2, color="k").lines[0].get_color() == "k"
    with pytest.warns(UserWarning, match=r"drawn by the first\. This looks like .* cluster=i"):
        plot_generated(every)
    # generate's default 20 samples of a short series: fewer values than time points
    with pytest.warns(UserWarning, match=r"\(n_clusters, n_samples, n_timepoints\)"):
        plot_generated(rng.normal(size=(3, 20, 12)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a few replicates, drawn by the first: no warning
        plot_generated(rng.normal(size=(5, 10, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # replicates, averaged: no warning
        plot_generated(every, features="mean")
    with pytest.raises(ValueError, match=r"shape \(3, 5, 10, 2\), one set .* cluster=i"):
        plot_generated(rng.normal(size=(3, 5, 10, 2)))
    for bad in (3, -1, 1.0, True):
        with pytest.raises(ValueError, match="cluster must be an integer from 0 to 2"):
            plot_generated(every, cluster=bad)
    with pytest.raises(ValueError, match="With cluster=, generated must have shape"):
        plot_generated(every[0], cluster=0)


def test_plot_generated_shades_the_members_middle_80_percent(rng):
    members = rng.normal(size=(30, 8))
    ax = plot_generated(rng.normal(size=(3, 8)), members=members, times=np.linspace(0, 1, 8))
    (band,) = ax.collections
    assert band.get_label() == "its 30 genes, middle 80%"
    top = band.get_paths()[0].vertices[:, 1].max()
    np.testing.assert_allclose(top, np.percentile(members, 90, axis=0).max())
    with pytest.raises(ValueError, match="members have 7 time points, the generated series 8"):
        plot_generated(rng.normal(size=(3, 8)), members=members[:, :7])


def test_plot_generated_with_no_members_draws_no_band(rng):
    """An empty cluster's members (0 genes, or only NaN) leave the band out, not an error."""
    for members in (np.empty((0, 8)), np.full((2, 8), np.nan), np.empty((0, 8, 3))):
        ax = plot_generated(rng.normal(size=(3, 8)), members=members, features="mean")
        assert not ax.collections
        assert ax.get_legend_handles_labels()[1] == ["3 sampled trajectories"]


def test_plot_generated_without_centre(rng):
    ax = plot_generated(rng.normal(size=(3, 8)), times=np.linspace(0, 1, 8))
    assert len(ax.lines) == 3


@pytest.mark.parametrize("given_ax", [False, True])
def test_plot_loss(given_ax):
    history = {
        "loss": [5.0, 3.0, 2.0, 1.9],
        "val_loss": [5.5, 3.5, 2.4, 2.6],
        "reconstruction": [4.0, 2.5, 1.7, 1.6],
        "kl": [1.0, 0.5, 0.3, 0.3],
        "best_epoch": 2,
    }
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_loss(history, ax=ax_in)
    assert isinstance(ax, Axes)
    assert ax.get_yscale() == "log"
    assert len(ax.lines) == 5  # four curves + the best-epoch marker
    assert ax.lines[-1].get_xdata()[0] == 3  # 0-based index 2 is epoch 3


def test_plot_loss_linear_and_sequence():
    ax = plot_loss({"loss": [1.0, -0.5, -1.0]})
    assert ax.get_yscale() == "linear"
    ax = plot_loss([3.0, 2.0, 1.0])
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="'loss'"):
        plot_loss({"kl": [1.0]})


@pytest.mark.parametrize("given_ax", [False, True])
def test_plot_correlations(rng, given_ax):
    values = rng.uniform(-1, 1, size=40)
    values[3] = np.nan
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_correlations(values, ax=ax_in, names=[f"g{i}" for i in range(40)])
    assert isinstance(ax, Axes)
    heights = [p.get_height() for p in ax.patches]
    assert len(heights) == 40
    n_up = int(np.sum(values > 0))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == f"up ({n_up})"
    # bars are sorted in decreasing order
    xs = np.array([p.get_x() for p in ax.patches])
    ordered = np.array(heights)[np.argsort(xs)]
    assert np.all(np.diff(ordered[:-1]) <= 0)


@pytest.mark.parametrize("given_ax", [False, True])
def test_plot_k_scores(given_ax, tmp_path):
    scores = {4: 0.55, 2: 0.41, 3: 0.62, 5: 0.30}  # any order: plotted by k
    ax_in = plt.subplots()[1] if given_ax else None
    ax = plot_k_scores(scores, chosen=3, criterion="silhouette", ax=ax_in, title="choosing k")
    assert isinstance(ax, Axes)
    if given_ax:
        assert ax is ax_in
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [2, 3, 4, 5])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.41, 0.62, 0.55, 0.30])
    assert ax.lines[1].get_xdata()[0] == 3  # the chosen k
    assert ax.get_ylabel() == "silhouette (higher is better)"
    assert ax.get_legend().get_texts()[0].get_text() == "chosen k = 3"
    assert ax.get_title() == "choosing k"
    ax.figure.savefig(tmp_path / "k.png")
    assert (tmp_path / "k.png").stat().st_size > 1000


def test_plot_k_scores_options_and_errors():
    ax = plot_k_scores({2: 900.0, 3: 850.0}, criterion="bic")
    assert ax.get_ylabel() == "bic (lower is better)"
    assert ax.get_legend() is None  # nothing chosen, no legend
    assert plot_k_scores({2: 1.0}, criterion="my_index").get_ylabel() == "my-index"
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot_k_scores({})
    with pytest.raises(ValueError, match=r"chosen=7 is not one of the scored k \(2, 3\)"):
        plot_k_scores({2: 1.0, 3: 2.0}, chosen=7)


def test_plot_k_scores_shades_the_window():
    shares = {2: 0.0, 3: 0.0, 4: 0.25, 5: 0.75}  # G-means chose 5; the window ends at 4
    ax = plot_k_scores(shares, chosen=4, criterion="gmeans", window=(3, 4))
    (span,) = ax.patches  # a Rectangle, or a Polygon in matplotlib < 3.9
    xs = ax.transData.inverted().transform(span.get_verts())[:, 0]
    left, right = xs.min(), xs.max()
    assert 2 < left < 3  # k = 3 and 4 inside, 2 and 5 outside
    assert 4 < right < 5
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["silhouette's window: k = 3..4", "chosen k = 4"]
    one = plot_k_scores(shares, criterion="silhouette", window=(4, 4))
    assert [t.get_text() for t in one.get_legend().get_texts()] == ["window: k = 4"]
    for bad in ((4, 3), (1, 4), (3,), 4):
        with pytest.raises(ValueError, match="window must be \\(lowest k, highest k\\)"):
            plot_k_scores(shares, window=bad)


def test_uneven_times_and_replicate_means(rng):
    """Real (uneven) time on the x-axis; features="mean" draws the mean over replicates."""
    times = np.array([0, 0.5, 1, 2, 4, 8, 24.0])
    X = rng.normal(size=(4, 7, 3))
    X[0, 1, 2] = np.nan
    ax = plot_series(X, times=times, mean=X.mean(axis=(0, 2)), features="mean")
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), times)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.nanmean(X[0], axis=1))
    assert ax.get_xlabel() == "time"
    first = plot_series(X, times=times)  # the default stays the first feature
    np.testing.assert_array_equal(first.lines[1].get_ydata(), X[1, :, 0])
    gen = rng.normal(size=(5, 7, 3))
    ax = plot_generated(gen, centre_series=gen[0], times=times, features="mean")
    np.testing.assert_array_equal(ax.lines[-1].get_xdata(), times)
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), gen[0].mean(axis=1))
    with pytest.raises(ValueError, match="features must be 'first' or 'mean'"):
        plot_series(X, features="median")


# --------------------------------------------------------------------------- issue 14, item 2


def test_matched_colors_give_each_cluster_its_labels_colour():
    labels = np.repeat([0, 1, 2, 3], 5)
    perm = np.array([2, 0, 3, 1])
    m = match_clusters(perm[labels], labels)
    assert matched_colors(m, labels) == [label_colors(labels)[i] for i in range(4)]
    updown = np.array(["up"] * 4 + ["down"] * 4)
    colors = {"up": UP_COLOR, "down": DOWN_COLOR}
    m = match_clusters([2, 2, 2, 2, 0, 0, 1, 1], updown, n_clusters=4)  # cluster 3 is empty
    shown = matched_colors(m, updown, colors)
    assert shown[:2] == [DOWN_COLOR, UP_COLOR]
    assert len({tuple(np.round(matplotlib.colors.to_rgba(c), 6)) for c in shown}) == 4
    m = match_clusters([0, 0, 1, 1, 1, 1], [5, 5, 7, 7, 9, 9])  # 2 clusters, 3 labels
    assert matched_colors(m, [5, 5, 7, 7, 9, 9])[0] == cluster_colors(10)[5]  # by value


def test_no_second_principal_axis_of_zero_percent(rng):
    # 8-D latent in which one direction holds all the variance (the others are constant)
    Z = np.zeros((30, 8))
    Z[:, 0] = np.repeat([0.0, 5.0, 10.0], 10) + rng.normal(size=30) * 0.1
    Z[:, 1:] = 1e-6 * rng.normal(size=(30, 7))
    ax = plot_latent(Z, labels=np.repeat([0, 1, 2], 10))
    labels = ax.get_xlabel() + " " + ax.get_ylabel() + " " + ax.get_title()
    assert "PC2" not in labels
    assert "(0%)" not in labels
    assert ax.get_xlabel() == "row of Z (gene)"
    assert ax.get_ylabel() == "PC1 (100% of the latent variance)"
    assert "one direction holds 100% of the variance" in ax.get_title()
    ax = plot_latent(rng.normal(size=(30, 8)), labels=np.repeat([0, 1, 2], 10))
    assert ax.get_xlabel().startswith("PC1 (")
    assert ax.get_ylabel().startswith("PC2 (")
    ax = plot_latent(rng.normal(size=(30, 2)))  # 2-D: the raw axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("z1", "z2")


def test_legends_name_the_black_line_and_the_sampled_trajectories(rng):
    ax = plot_generated(rng.normal(size=(20, 6)), centre_series=np.zeros(6))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["20 sampled trajectories", "decoded centre"]
    ax = plot_series(
        rng.normal(size=(4, 6)), mean=np.zeros(6), label="4 genes", mean_label="cluster mean"
    )
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["4 genes", "cluster mean"]
    ax = plot_series(rng.normal(size=(4, 6)), mean=np.zeros(6))  # the black line is named
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mean"]


def test_one_pair_of_up_down_colours():
    ax = plot_correlations([0.9, -0.4, 0.2, -0.8])
    up, down = ax.containers[0], ax.containers[1]
    assert up.patches[0].get_facecolor() == matplotlib.colors.to_rgba(UP_COLOR)
    assert down.patches[0].get_facecolor() == matplotlib.colors.to_rgba(DOWN_COLOR)
    Z = np.random.default_rng(0).normal(size=(4, 2))
    ax = plot_latent(
        Z,
        labels=[1, 1, 2, 2],
        colors={1: UP_COLOR, 2: DOWN_COLOR},
        label_names={1: "up", 2: "down"},
    )
    faces = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert faces[0][:3] == matplotlib.colors.to_rgba(UP_COLOR)[:3]
    assert faces[1][:3] == matplotlib.colors.to_rgba(DOWN_COLOR)[:3]


def test_plot_loss_of_a_fitted_model_marks_the_kept_check():
    class Fitted:  # what plot_loss reads from a fitted RVAgene
        history_ = {"loss": [3.0, 2.0, 1.0, 1.5], "epoch": [0.5, 1.0, 1.5, 2.0]}
        best_check_ = 3
        best_epoch_ = 1.5

    ax = plot_loss(Fitted())
    assert ax.lines[-1].get_xdata()[0] == 1.5
    assert ax.get_legend().get_texts()[-1].get_text() == "best epoch (1.5)"


def test_identical_points_are_drawn_without_a_numpy_warning():
    """Identical genes (one point in 5-D): before, PCA's 'invalid value encountered'."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_latent(np.ones((6, 5)), labels=np.zeros(6, dtype=int))
    assert len(ax.collections[0].get_offsets()) == 6


def test_a_long_title_is_wrapped_within_the_figure(rng):
    """Script titles with a note ('... (1 flat gene, not drawn) (8-D latent: ...)') ran off."""
    Z, labels, _ = _latent(rng, 2)
    title = "cells: latent means by direction (1 flat gene, not drawn) " * 2
    lines = plot_latent(Z, labels, title=title.strip()).get_title().split("\n")
    assert len(lines) > 1
    assert all(len(line) <= 60 for line in lines)


def test_plot_loss_of_a_fitted_model_gives_the_kls_weight():
    """history_'s KL is unweighted (loss = reconstruction + kl_weight x KL): its curve lay
    above 'loss' under the plain legend 'KL'."""

    class Fitted:
        history_ = {"loss": [3.0, 1.2], "reconstruction": [2.5, 1.0], "kl": [5.0, 2.0]}
        best_check_ = 2
        kl_weight = 0.1

    texts = [t.get_text() for t in plot_loss(Fitted()).get_legend().get_texts()]
    assert "KL (the loss adds 0.1 x KL)" in texts
    assert "KL" in [t.get_text() for t in plot_loss(Fitted.history_).get_legend().get_texts()]

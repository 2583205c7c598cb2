"""Figures for RVAgene: expression series, latent spaces, clusters, generated series, losses.

Every function takes arrays and an optional ``ax``, draws on it (or on a new figure when
``ax`` is None) and returns the :class:`~matplotlib.axes.Axes`. Nothing here calls
``plt.show()`` or saves files: scripts and notebooks do that with ``ax.figure.savefig``.
``matplotlib.pyplot`` is imported only when a function has to create a figure, so importing
:mod:`rvagene` stays fast and backend-neutral.

Cluster colours come from :func:`cluster_colors`, so cluster ``i`` has the same colour in the
latent plot, the member-series plot and the generated-series plot (the original picked random
colours on every run). When the genes have labels, :func:`rvagene.cluster.match_clusters`
renumbers K-means clusters to agree with them (the Hungarian method) and
:func:`matched_colors` gives each cluster the colour of its label, so one group of genes has
one number and one colour in every figure. Up- and down-regulated genes are always
:data:`UP_COLOR` (red) and :data:`DOWN_COLOR` (blue); flat genes (label -1 of
:attr:`rvagene.GeneClustering.labels_`) are :data:`FLAT_COLOR` (grey), named "flat", in
:func:`plot_clusters` and where ``flat_label=True`` says the labels are such cluster numbers.
"""

from __future__ import annotations

import logging
import textwrap
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral

import matplotlib as mpl
import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D

from ._utils import user_stacklevel

logger = logging.getLogger(__name__)

__all__ = [
    "DOWN_COLOR",
    "FLAT_COLOR",
    "UP_COLOR",
    "cluster_colors",
    "label_colors",
    "matched_colors",
    "plot_clusters",
    "plot_correlations",
    "plot_generated",
    "plot_k_scores",
    "plot_latent",
    "plot_loss",
    "plot_series",
]

_GOLDEN = 0.6180339887498949
_MAX_LEGEND_ENTRIES = 20
# Below this share (%) of the latent variance, a second principal axis is not drawn.
_MIN_PC_SHARE = 1.0
#: Colour of up-regulated genes in every figure (plot_correlations, up/down latent plots).
UP_COLOR = "tab:red"
#: Colour of down-regulated genes in every figure.
DOWN_COLOR = "tab:blue"
#: Colour of flat genes (label -1, in no cluster) in every figure.
FLAT_COLOR = "grey"
_FLAT = -1  # GeneClustering's label of a flat gene
# plot_generated warns when 3-D input, drawn by its first value, has more values per time
# point than this (or than time points): likely (n_clusters, n_samples, n_timepoints)
_MAX_FIRST_FEATURES = 4
_TITLE_WIDTH = 60  # characters per line of a latent figure's title


# ---------------------------------------------------------------------------- helpers


def _new_axes(projection: str | None = None):
    """Create a figure with one Axes (pyplot is imported only here)."""
    import matplotlib.pyplot as plt

    if projection is None:
        _, ax = plt.subplots()
        return ax
    fig = plt.figure()
    return fig.add_subplot(projection=projection)


def _is_3d(ax) -> bool:
    return getattr(ax, "name", "") == "3d"


def _first_feature(X, name: str, features: str = "first") -> np.ndarray:
    """Return ``X`` as (n, T): 1-D is one series, 3-D keeps the first feature.

    With ``features="mean"``, 3-D input is averaged over its features (replicates), NaN
    ignored.
    """
    X = np.asarray(X, dtype=float)
    if features not in ("first", "mean"):
        msg = f"features must be 'first' or 'mean', got {features!r}."
        raise ValueError(msg)
    if X.ndim == 1:
        return X[np.newaxis, :]
    if X.ndim == 3:
        if features == "mean":
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN time points
                return np.nanmean(X, axis=2)
        if X.shape[2] > 1:
            logger.debug(
                "%s has %d features per time point; plotting the first.", name, X.shape[2]
            )
        return X[:, :, 0]
    if X.ndim == 2:
        return X
    msg = f"{name} must have shape (n, T) or (n, T, F), got {X.shape}."
    raise ValueError(msg)


def _time_axis(times, n_timepoints: int) -> tuple[np.ndarray, str]:
    if times is None:
        return np.arange(n_timepoints), "time point"
    times = np.asarray(times, dtype=float).ravel()
    if times.size != n_timepoints:
        msg = f"times has {times.size} values but the series have {n_timepoints} time points."
        raise ValueError(msg)
    return times, "time"


def _draw_series(
    ax, X, color, mean, mean_label, times, alpha, linewidth, label, features, mean_style="-"
):
    X = _first_feature(X, "X", features)
    t, xlabel = _time_axis(times, X.shape[1])
    if X.shape[0]:
        lines = ax.plot(t, X.T, color=color, alpha=alpha, linewidth=linewidth)
        if label is not None:
            lines[0].set_label(label)
    if mean is not None:
        mean = _first_feature(mean, "mean", features)
        if mean.shape[0] != 1 or mean.shape[1] != X.shape[1]:
            msg = f"mean must be one series of {X.shape[1]} time points, got shape {mean.shape}."
            raise ValueError(msg)
        ax.plot(t, mean[0], mean_style, color="black", linewidth=2.5, label=mean_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("expression")
    return ax


def cluster_colors(n: int) -> list[tuple[float, float, float, float]]:
    """Return ``n`` distinct RGBA colours; colour ``i`` is the same whatever ``n`` is.

    The first 10 colours are matplotlib's ``tab10``, the next 10 the light ``tab20`` shades,
    and any further ones are spread over the continuous ``turbo`` map by golden-ratio steps.
    So cluster ``i`` keeps its colour in every figure, whichever number of clusters it is
    drawn with.

    Parameters
    ----------
    n : int
        Number of colours.

    Returns
    -------
    colors : list of tuple
        ``n`` RGBA tuples of floats in [0, 1].

    Examples
    --------
    >>> cluster_colors(3)[0] == cluster_colors(12)[0]
    True
    >>> len(cluster_colors(25))
    25
    """
    if n < 0:
        msg = f"n must be >= 0, got {n}."
        raise ValueError(msg)
    tab20 = mpl.colormaps["tab20"].colors
    # tab20's even entries are exactly tab10; put them first so n <= 10 and n <= 20 agree.
    base = [tuple(float(v) for v in to_rgba(c)) for c in (*tab20[0::2], *tab20[1::2])]
    turbo = mpl.colormaps["turbo"]
    extra = [tuple(float(v) for v in turbo((i * _GOLDEN) % 1.0)) for i in range(n - len(base))]
    return (base + extra)[:n]


def label_colors(labels, colors=None, flat_label: bool = False) -> dict:
    """The colour of each distinct label, as :func:`plot_latent` draws them by default.

    Non-negative integer labels take ``cluster_colors`` by value, other labels by position
    among the sorted distinct labels. With ``flat_label`` (labels that are cluster numbers,
    such as :attr:`rvagene.GeneClustering.labels_`), -1, a flat gene, takes
    :data:`FLAT_COLOR`. ``colors`` (a mapping or a sequence indexed like that) overrides
    them (-1 only through a mapping).

    Examples
    --------
    >>> label_colors([2, 0, 2])[2] == cluster_colors(3)[2]
    True
    """
    labels = np.asarray(labels).ravel()
    styles = _label_styles(labels, colors, None, flat_label)
    return {key: color for key, (color, _) in styles.items()}


def matched_colors(match, labels, colors=None) -> list:
    """One colour per shown cluster of a :func:`rvagene.cluster.match_clusters` result.

    A cluster paired with a label takes that label's colour (:func:`label_colors`, with
    ``colors`` overriding it); an unpaired cluster takes a colour that no label uses.

    Parameters
    ----------
    match : ClusterMatch
        From :func:`rvagene.cluster.match_clusters` on the same ``labels``.
    labels : array-like of shape (n_genes,)
        The known labels.
    colors : mapping or sequence, optional
        Label colours, as :func:`label_colors` takes them.

    Returns
    -------
    list
        ``colors[i]`` is the colour of shown cluster ``i``.

    Examples
    --------
    >>> from rvagene.cluster import match_clusters
    >>> labels = [0, 0, 1, 1]
    >>> m = match_clusters([1, 1, 0, 0], labels, n_clusters=3)
    >>> shown = matched_colors(m, labels)
    >>> shown[:2] == [label_colors(labels)[0], label_colors(labels)[1]], len(shown)
    (True, 3)
    """
    by_label = label_colors(labels, colors)
    used = set(map(_rgba, by_label.values()))
    spare = (c for c in cluster_colors(len(match.labels) + len(used)) if _rgba(c) not in used)
    return [next(spare) if label is None else by_label[label] for label in match.labels]


def _rgba(color) -> tuple:
    return tuple(round(float(v), 6) for v in to_rgba(color))


def _label_styles(labels, colors, label_names, flat_label: bool = False):
    """Map each distinct label to (colour, legend name), stable for integer labels.

    With ``flat_label``, integer label -1 (a flat gene) is grey and named "flat" (unless a
    mapping names it), after the clusters; without it, -1 is a label like any other.
    """
    uniq = np.unique(labels)
    lowest = _FLAT if flat_label else 0
    integer = np.issubdtype(uniq.dtype, np.integer) and (uniq.size == 0 or uniq.min() >= lowest)
    flat = flat_label and integer and uniq.size > 0 and uniq[0] == _FLAT
    uniq = uniq[1:] if flat else uniq
    # Integer labels index the palette directly, so cluster i is coloured i even when
    # some clusters are missing from this plot.
    positions = [int(u) for u in uniq] if integer else list(range(uniq.size))
    palette = cluster_colors(max(positions) + 1 if positions else 0)
    styles = {}
    for u, pos in zip(uniq, positions, strict=True):
        if colors is None:
            color = palette[pos]
        elif isinstance(colors, Mapping):
            color = colors[u.item()]
        else:
            color = colors[pos]
        if label_names is None:
            name = f"cluster {u}" if integer else str(u)
        elif isinstance(label_names, Mapping):
            name = str(label_names[u.item()])
        else:
            name = str(label_names[pos])
        styles[u.item()] = (color, name)
    if flat:
        styles[_FLAT] = (_given(colors, FLAT_COLOR), str(_given(label_names, "flat")))
    return styles


def _given(options, default):
    """A mapping's entry for label -1 (a flat gene), else ``default``."""
    return options.get(_FLAT, default) if isinstance(options, Mapping) else default


def _project(Z, ax, extra=None):
    """Choose how to draw latent points.

    Returns ``(ax, coords, extra_coords, axis_labels, note)`` where ``coords`` has 1 column
    (a strip against gene index), 2 (a scatter) or 3 (a 3-D scatter).
    """
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2 or Z.shape[1] < 1:
        msg = f"Z must have shape (n_genes, latent_length), got {Z.shape}."
        raise ValueError(msg)
    d = Z.shape[1]
    if extra is not None:
        extra = np.asarray(extra, dtype=float)
        if extra.ndim != 2 or extra.shape[1] != d:
            msg = f"centres must have shape (n_centres, {d}) to match Z, got {extra.shape}."
            raise ValueError(msg)
    if d == 1:
        return ax or _new_axes(), Z, extra, ("row of Z (gene)", "z1"), ""
    if d == 2:
        return ax or _new_axes(), Z, extra, ("z1", "z2"), ""
    if d == 3 and (ax is None or _is_3d(ax)):
        return ax or _new_axes("3d"), Z, extra, ("z1", "z2", "z3"), ""
    # Project to two principal components (fitted on Z only; centres follow the same map).
    # Rows that are not finite (flat genes in GeneClustering.embedding_) are left out.
    from sklearn.decomposition import PCA

    ax = ax or _new_axes()
    finite = np.isfinite(Z).all(axis=1)
    if finite.sum() < 2 or np.ptp(Z[finite], axis=0).max() == 0:  # nothing to project
        return ax, Z[:, :2], None if extra is None else extra[:, :2], ("z1", "z2"), ""
    pca = PCA(n_components=2, svd_solver="full").fit(Z[finite])
    ratio = 100 * pca.explained_variance_ratio_
    coords = np.full((Z.shape[0], 2), np.nan)
    coords[finite] = pca.transform(Z[finite])
    extra = None if extra is None else pca.transform(extra)
    if ratio[1] < _MIN_PC_SHARE:  # a second axis of ~0 % would show noise: draw a strip
        note = f"{d}-D latent: one direction holds {ratio[0]:.0f}% of the variance"
        labels = ("row of Z (gene)", f"PC1 ({ratio[0]:.0f}% of the latent variance)")
        return ax, coords[:, :1], None if extra is None else extra[:, :1], labels, note
    labels = (f"PC1 ({ratio[0]:.0f}%)", f"PC2 ({ratio[1]:.0f}%)")
    return ax, coords, extra, labels, f"PCA of {d}-D latent"


def _scatter(ax, coords, index, **kwargs):
    """Scatter rows ``index`` of coords on a 1-D strip, 2-D or 3-D axes."""
    pts = coords[index]
    if coords.shape[1] == 1:
        return ax.scatter(np.flatnonzero(index), pts[:, 0], **kwargs)
    if coords.shape[1] == 3:
        return ax.scatter(pts[:, 0], pts[:, 1], pts[:, 2], **kwargs)
    return ax.scatter(pts[:, 0], pts[:, 1], **kwargs)


def _latent_figure(Z, labels, centres, ax, colors, label_names, title, flagged, size, flat):
    ax, coords, centre_coords, axis_labels, note = _project(Z, ax, centres)
    n = coords.shape[0]
    if labels is None:
        labels = np.zeros(n, dtype=int)
        label_names = ["genes"] if label_names is None else label_names
    labels = np.asarray(labels).ravel()
    if labels.shape[0] != n:
        msg = f"labels has {labels.shape[0]} entries but Z has {n} rows."
        raise ValueError(msg)
    styles = _label_styles(labels, colors, label_names, flat)

    for value, (color, name) in styles.items():
        _scatter(ax, coords, labels == value, color=color, s=size, label=name, alpha=0.85)
    if flagged is not None:
        _draw_flagged(ax, coords, flagged, size)
    if centre_coords is not None:
        _draw_centres(ax, coords, centre_coords, labels, styles, colors, size)

    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    if len(axis_labels) == 3:
        ax.set_zlabel(axis_labels[2])
    if note:
        title = f"{title} ({note})" if title else note
    if title:  # wrapped, so a long title with its note stays within the figure
        ax.set_title("\n".join(textwrap.fill(part, _TITLE_WIDTH) for part in title.split("\n")))
    wanted = len(styles) > 1 or flagged is not None or centre_coords is not None
    if wanted and len(styles) <= _MAX_LEGEND_ENTRIES:
        handles, names = ax.get_legend_handles_labels()
        if centre_coords is not None:
            star = dict(
                marker="*", markersize=12, markerfacecolor="white", markeredgecolor="black"
            )
            handles.append(Line2D([], [], linestyle="none", **star))
            names.append("centres")
        ax.legend(handles, names, fontsize="small")
    return ax


def _draw_flagged(ax, coords, flagged, size) -> None:
    """Ring the flagged genes in black."""
    n = coords.shape[0]
    flagged = np.asarray(flagged, dtype=bool).ravel()
    if flagged.shape[0] != n:
        msg = f"flagged has {flagged.shape[0]} entries but Z has {n} rows."
        raise ValueError(msg)
    if flagged.any():
        _scatter(
            ax,
            coords,
            flagged,
            facecolors="none",
            edgecolors="black",
            s=size * 3,
            linewidths=1.2,
            label=f"flagged ({int(flagged.sum())})",
        )


def _draw_centres(ax, coords, centre_coords, labels, styles, colors, size) -> None:
    """A star per centre, in its cluster's colour."""
    n = coords.shape[0]
    for i, c in enumerate(centre_coords):
        if i in styles:
            color = styles[i][0]
        elif colors is not None and not isinstance(colors, Mapping):
            color = colors[i]
        else:  # an empty cluster: the colour it would have had
            color = cluster_colors(i + 1)[i]
        if coords.shape[1] == 1:
            members = np.flatnonzero(labels == i)
            x = members.mean() if members.size else (n - 1) / 2
            point = (x, c[0])
        else:
            point = tuple(c)
        ax.scatter(
            *[[v] for v in point],
            marker="*",
            s=size * 12,
            color=color,
            edgecolors="black",
            linewidths=1.2,
            zorder=5,
        )


# ---------------------------------------------------------------------------- public


def plot_series(
    X,
    ax=None,
    color=None,
    mean=None,
    times=None,
    alpha: float = 0.4,
    title: str | None = None,
    label: str | None = None,
    features: str = "first",
    mean_label: str = "mean",
):
    """Plot expression series as thin lines, optionally with their mean in thick black.

    Parameters
    ----------
    X : array-like of shape (n_series, n_timepoints) or (n_series, n_timepoints, n_dims)
        Series to draw. A 1-D array is one series. For 3-D input the first feature
        (``X[:, :, 0]``) is drawn, or the mean over features (see ``features``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    color : matplotlib colour, optional
        Colour of the series, e.g. ``cluster_colors(k)[i]``. Default: the next colour of
        matplotlib's cycle for every line.
    mean : array-like of shape (n_timepoints,), optional
        A summary series (e.g. the cluster mean) drawn thick and black.
    times : array-like of shape (n_timepoints,), optional
        Real time (or pseudotime) of each point for the x-axis (labelled ``"time"``); the
        time point's number otherwise (``"time point"``). Set a unit with
        ``ax.set_xlabel("time (h)")``.
    alpha : float, default=0.4
        Opacity of the thin lines.
    title : str, optional
        Axes title.
    label : str, optional
        Legend entry for the series. A legend is drawn when a label or a mean is given.
    features : {"first", "mean"}, default="first"
        What 3-D input shows: its first feature, or the mean over the features (NaN
        ignored), the summary to use for replicates of one measurement.
    mean_label : str, default="mean"
        Legend entry for the mean, e.g. ``"cluster mean"``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> X = np.sin(np.linspace(0, 3, 20))[None, :] + np.zeros((5, 1))
    >>> ax = plot_series(X, color=cluster_colors(1)[0], mean=X.mean(axis=0))
    """
    ax = ax or _new_axes()
    _draw_series(ax, X, color, mean, mean_label, times, alpha, 0.8, label, features)
    if label is not None or mean is not None:
        ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_latent(
    Z,
    labels=None,
    ax=None,
    colors=None,
    label_names=None,
    title: str | None = None,
    flagged=None,
    flat_label: bool = False,
):
    """Scatter latent codes, coloured by label.

    How the points are drawn depends on the latent size ``d``:

    - ``d == 1``: latent value against gene index (a strip);
    - ``d == 2``: a scatter of the two coordinates;
    - ``d == 3``: a 3-D scatter (a 3-D axes is created when ``ax`` is None; if a 2-D ``ax``
      is given, the points are projected onto two principal components and the title says so);
    - ``d > 3``: projected onto two principal components, axes labelled with the share of
      variance each explains, e.g. ``"PC1 (62%)"``.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length)
        Latent codes, e.g. ``RVAgene.transform(X)``.
    labels : array-like of shape (n_genes,), optional
        Label of each gene (cluster, true class, ...). Non-negative integer labels pick
        ``cluster_colors`` by value, so label ``i`` has the same colour in every figure.
        Rows of ``Z`` that are not finite (flat genes' NaN rows of
        ``GeneClustering.embedding_``) are not drawn, and are left out of the principal
        components.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    colors : sequence or mapping, optional
        Colour per label (indexed by integer label, or by position among the sorted distinct
        labels; a mapping is keyed by label). Default: :func:`cluster_colors`.
    label_names : sequence or mapping, optional
        Legend name per label, indexed like ``colors``. Default ``"cluster <label>"`` for
        integer labels and the label itself otherwise.
    title : str, optional
        Axes title.
    flagged : array-like of bool, shape (n_genes,), optional
        Points to ring in black (e.g. genes whose cluster is ambiguous).
    flat_label : bool, default=False
        ``labels`` are cluster numbers with -1 for a flat gene (as
        :attr:`rvagene.GeneClustering.labels_`): -1 is drawn in :data:`FLAT_COLOR` and named
        "flat". Without it -1 is a label like any other (true classes coded -1 and 1).

    Returns
    -------
    ax : matplotlib Axes
        A 3-D Axes when the points are drawn in 3-D.

    Notes
    -----
    A legend is drawn when there are several labels (at most 20) or when ``label_names`` or
    ``flagged`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.random.default_rng(0).normal(size=(30, 2))
    >>> ax = plot_latent(Z, labels=np.repeat([0, 1, 2], 10))
    """
    return _latent_figure(
        Z, labels, None, ax, colors, label_names, title, flagged, size=20, flat=flat_label
    )


def plot_clusters(
    Z,
    assignments,
    centres=None,
    ax=None,
    colors=None,
    label_names=None,
    title: str | None = None,
    flagged=None,
):
    """Latent codes coloured by K-means cluster, with the centres as black-edged stars.

    Drawn as :func:`plot_latent` does (strip, 2-D, 3-D or PCA). When a projection is used it
    is fitted on ``Z`` and the centres are mapped with it, so they sit among their points.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length)
        Latent codes.
    assignments : array-like of int, shape (n_genes,)
        Cluster of each gene, e.g. ``cluster_latent(Z, k).labels_``, or
        ``GeneClustering.labels_``, whose -1 (flat genes) is drawn grey as "flat" (as
        :func:`plot_latent` with ``flat_label=True``).
    centres : array-like of shape (n_clusters, latent_length), optional
        Cluster centres; centre ``i`` is drawn in the colour of cluster ``i``. On a 1-D strip
        it is placed at the mean gene index of its members.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    colors, label_names, flagged
        As in :func:`plot_latent`.
    title : str, optional
        Axes title. Default ``"K-means clusters (k=<n>)"``.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> from rvagene.cluster import cluster_latent
    >>> Z = np.random.default_rng(0).normal(size=(30, 3))
    >>> km = cluster_latent(Z, 3)
    >>> ax = plot_clusters(Z, km.labels_, km.cluster_centers_)
    """
    if title is None:
        clusters = np.asarray(assignments).ravel()
        if np.issubdtype(clusters.dtype, np.integer):
            clusters = clusters[clusters != _FLAT]  # a flat gene is in no cluster
        k = len(centres) if centres is not None else np.unique(clusters).size
        title = f"K-means clusters (k={k})"
    return _latent_figure(
        Z, assignments, centres, ax, colors, label_names, title, flagged, size=20, flat=True
    )


def plot_generated(
    generated,
    centre_series=None,
    ax=None,
    color=None,
    times=None,
    title: str | None = None,
    label: str | None = None,
    features: str = "first",
    centre_label: str = "decoded centre",
    cluster: int | None = None,
    members=None,
):
    """Plot series sampled around one cluster centre, with the decoded centre dashed black.

    Parameters
    ----------
    generated : array-like of shape (n_samples, n_timepoints) or (n_samples, n_timepoints, n_dims)
        Decoded samples of one cluster (for 3-D input the first feature, or the mean, see
        ``features``). With ``cluster``, the series of every cluster as
        :meth:`rvagene.GeneClustering.generate` returns them, of shape
        ``(n_clusters, n_samples, n_timepoints[, n_dims])``: a 3-D array cannot say which of
        the two it is, so ``cluster`` says so (a 4-D array without it is an error, and a 3-D
        one drawn by its first value with more values per time point than time points or
        than 4 gets a warning; not with ``features="mean"``).
    centre_series : array-like of shape (n_timepoints,), optional
        The decoded cluster centre (shapes ``(1, n_timepoints)`` and
        ``(n_timepoints, n_dims)`` are accepted too), drawn thick and black.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    color : matplotlib colour, optional
        The cluster's colour, e.g. ``cluster_colors(k)[i]``.
    times : array-like of shape (n_timepoints,), optional
        Real time of each point for the x-axis; the time index otherwise.
    title : str, optional
        Axes title.
    label : str, optional
        Legend entry for the generated series. Default: ``"<n> sampled trajectories"``.
    features : {"first", "mean"}, default="first"
        What 3-D input shows: its first feature, or the mean over the features (e.g. over
        replicates).
    centre_label : str, default="decoded centre"
        Legend entry for ``centre_series`` (e.g. "decoded centre + offset" for series made
        with :func:`rvagene.generate_around_centres`'s ``offset``).
    cluster : int, optional
        Draw ``generated[cluster]``, where ``generated`` holds every cluster's series
        (``GeneClustering.generate``'s output), in that cluster's colour
        (``cluster_colors``) unless ``color`` is given.
    members : array-like of shape (n_genes, n_timepoints[, n_dims]), optional
        The cluster's real series, in the units of ``generated``: the range of their middle
        80% (10th to 90th percentile) at each time point is shaded, so the generated series'
        spread can be judged against that of real genes (decoded series without ``noise``
        are smooth and vary far less in shape than real genes).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> gen = np.random.default_rng(0).normal(size=(20, 15)).cumsum(axis=1)
    >>> ax = plot_generated(gen, gen.mean(axis=0), color=cluster_colors(3)[1], members=gen[:8])
    >>> every = np.stack([gen, -gen])  # (n_clusters, n_samples, n_timepoints)
    >>> ax = plot_generated(every, cluster=1)  # cluster 1's series, in its colour
    """
    generated = _first_feature(_one_cluster(generated, cluster, features), "generated", features)
    if cluster is not None and color is None:
        color = cluster_colors(cluster + 1)[cluster]
    ax = ax or _new_axes()
    if centre_series is not None:
        centre_series = np.asarray(centre_series, dtype=float)
        if centre_series.ndim == 2 and centre_series.shape[0] != 1:
            centre_series = centre_series[np.newaxis]  # (T, F) -> (1, T, F)
    if label is None:
        n = len(generated)
        label = f"{n} sampled trajectories" if n != 1 else "1 sampled trajectory"
    if members is not None:
        _draw_band(ax, members, color, times, features, generated.shape[1])
    _draw_series(
        ax,
        generated,
        color,
        centre_series,
        centre_label,
        times,
        0.6,
        0.9,
        label,
        features,
        mean_style="--",
    )  # dashed: samples close to it stay visible
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def _draw_band(ax, members, color, times, features: str, n_timepoints: int) -> None:
    """Shade the 10th-90th percentile of a cluster's real series at each time point."""
    members = _first_feature(members, "members", features)
    if members.shape[1] != n_timepoints:
        msg = (
            f"members have {members.shape[1]} time points, the generated series "
            f"{n_timepoints}; give the cluster's real series in the same units and times."
        )
        raise ValueError(msg)
    n = int(np.isfinite(members).any(axis=1).sum())
    if n == 0:  # an empty cluster (mini-batch K-means can leave one): nothing to shade
        return
    with warnings.catch_warnings():  # a time point with no value: a gap in the band
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanpercentile(members, [10, 90], axis=0)
    label = f"its {n} genes, middle 80%" if n != 1 else "its gene"
    t, _ = _time_axis(times, n_timepoints)
    ax.fill_between(t, low, high, color=color, alpha=0.2, linewidth=0, label=label)


def _one_cluster(generated, cluster, features: str) -> np.ndarray:
    """One cluster's series: ``generated[cluster]``, or ``generated`` itself checked.

    3-D input drawn by its first value, with more values per time point than time points or
    than ``_MAX_FIRST_FEATURES``, is most likely every cluster's series (``(n_clusters,
    n_samples, n_timepoints)``), and else leaves most values undrawn: a warning says so
    (replicates, averaged with ``features="mean"``, are not warned about).
    """
    generated = np.asarray(generated, dtype=float)
    shape = generated.shape
    if cluster is not None:
        if generated.ndim not in (3, 4):
            msg = (
                f"With cluster=, generated must have shape (n_clusters, n_samples, "
                f"n_timepoints[, n_dims]) as GeneClustering.generate returns, got {shape}."
            )
            raise ValueError(msg)
        bad = isinstance(cluster, bool) or not isinstance(cluster, Integral)
        if bad or not 0 <= cluster < shape[0]:
            msg = (
                f"cluster must be an integer from 0 to {shape[0] - 1} (generated has shape "
                f"{shape}), got {cluster!r}."
            )
            raise ValueError(msg)
        return generated[cluster]
    if generated.ndim == 4:
        msg = (
            f"generated has shape {shape}, one set of series per cluster as "
            "GeneClustering.generate returns; plot one cluster: plot_generated(generated, "
            "cluster=i) or plot_generated(generated[i])."
        )
        raise ValueError(msg)
    many = shape[2] > min(shape[1], _MAX_FIRST_FEATURES) if generated.ndim == 3 else False
    if many and features == "first":
        msg = (
            f"generated has shape {shape}, read as {shape[0]} series of {shape[1]} time points "
            f"with {shape[2]} values each, drawn by the first. This looks like "
            "GeneClustering.generate's (n_clusters, n_samples, n_timepoints): if so, plot one "
            "cluster with cluster=i (or generated[i]); for replicates, features='mean'."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    return generated


def plot_loss(history, ax=None, title: str | None = None):
    """Plot training curves per epoch.

    Parameters
    ----------
    history : fitted RVAgene, dict or sequence of float
        A fitted model: its ``history_``, with the check whose weights were kept marked.
        Or ``{"loss": [...], "val_loss": [...], "reconstruction": [...], "kl": [...]}`` with one
        value per epoch or check (only ``"loss"`` is required; e.g. ``RVAgene.history_``,
        whose ``"epoch"`` list, when present, gives the x positions), or a plain
        sequence such as ``loss_curve_``. An optional ``"best_epoch"`` entry, a 0-based index
        into the lists (as ``np.argmin(history["val_loss"])`` gives), is marked with a dotted
        line. The KL curve is the unweighted KL, so it may lie above the loss; for a fitted
        model the legend says its weight in the loss (``kl_weight``).
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    title : str, optional
        Axes title.

    Returns
    -------
    ax : matplotlib Axes
        The y-axis is logarithmic when every plotted value is positive.

    Examples
    --------
    >>> ax = plot_loss({"loss": [3.0, 2.0, 1.5], "val_loss": [3.2, 2.5, 2.6], "best_epoch": 1})
    """
    kl_label = "KL"
    if hasattr(history, "history_"):  # a fitted RVAgene: mark the check that was kept
        model = history
        best = getattr(model, "best_check_", None)  # 1-based check
        best = model.best_epoch_ if best is None else best  # models whose checks were epochs
        history = {**model.history_, "best_epoch": int(best) - 1}
        weight = getattr(model, "kl_weight", None)
        if weight is not None:  # history_'s KL is unweighted: it may lie above the loss
            kl_label = f"KL (the loss adds {weight:g} x KL)"
    elif not isinstance(history, Mapping):
        history = {"loss": list(history)}
    if "loss" not in history:
        msg = f"history needs a 'loss' list; it has keys {sorted(history)}."
        raise ValueError(msg)
    ax = ax or _new_axes()
    styles = {
        "loss": {"color": "black", "linewidth": 2.0, "label": "loss"},
        "val_loss": {"color": "tab:orange", "linewidth": 2.0, "label": "validation loss"},
        "reconstruction": {"color": "tab:blue", "linestyle": "--", "label": "reconstruction"},
        "kl": {"color": "tab:green", "linestyle": "--", "label": kl_label},
    }
    plotted = []
    for key, style in styles.items():
        values = history.get(key)
        if values is None or len(values) == 0:
            continue
        values = np.asarray(values, dtype=float)
        x = np.arange(1, values.size + 1)
        epochs = history.get("epoch")
        if epochs is not None and len(epochs) == values.size:
            x = np.asarray(epochs, dtype=float)  # fractional epochs of part-epoch checks
        ax.plot(x, values, **style)
        plotted.append(values)
    all_values = np.concatenate(plotted)
    finite = all_values[np.isfinite(all_values)]
    if finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    best = history.get("best_epoch")
    if best is not None:
        epochs = history.get("epoch")
        at = float(epochs[int(best)]) if epochs is not None and len(epochs) > int(best) else None
        at = int(best) + 1 if at is None else at
        ax.axvline(at, color="grey", linestyle=":", label=f"best epoch ({at:g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_correlations(
    values,
    ax=None,
    names: Sequence[str] | None = None,
    title: str | None = None,
    up_color=UP_COLOR,
    down_color=DOWN_COLOR,
):
    """Sorted bar plot of per-gene correlation with time, up- and down-regulated coloured apart.

    Parameters
    ----------
    values : array-like of shape (n_genes,)
        Correlation of each gene with (pseudo)time, e.g. Pearson r with the window index.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    names : sequence of str, optional
        Gene names, shown as tick labels when there are at most 50 genes.
    title : str, optional
        Axes title.
    up_color, down_color : matplotlib colour, default="tab:red", "tab:blue"
        Colours of positive (up-regulated) and negative (down-regulated) bars. Zero and NaN
        bars are grey; NaN values are placed last.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> ax = plot_correlations([0.9, -0.4, 0.2, -0.8])
    """
    values = np.asarray(values, dtype=float).ravel()
    if names is not None and len(names) != values.size:
        msg = f"names has {len(names)} entries but values has {values.size}."
        raise ValueError(msg)
    ax = ax or _new_axes()
    order = np.argsort(-values, kind="stable")  # descending, NaN last
    v = values[order]
    colors = np.where(v > 0, "up", np.where(v < 0, "down", "zero"))
    palette = {"up": up_color, "down": down_color, "zero": "grey"}
    x = np.arange(v.size)
    for key, name in (("up", "up"), ("down", "down")):
        mask = colors == key
        ax.bar(
            x[mask],
            np.nan_to_num(v[mask]),
            width=1.0 if v.size > 50 else 0.8,
            color=palette[key],
            label=f"{name} ({int(mask.sum())})",
        )
    rest = colors == "zero"
    if rest.any():
        ax.bar(x[rest], np.nan_to_num(v[rest]), width=0.8, color=palette["zero"])
    ax.axhline(0.0, color="black", linewidth=0.8)
    if names is not None and v.size <= 50:
        ax.set_xticks(x, [str(names[i]) for i in order], rotation=90, fontsize="small")
    ax.set_xlabel("gene (sorted)")
    ax.set_ylabel("correlation with time")
    ax.set_xlim(-0.5, v.size - 0.5)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def plot_k_scores(
    scores: Mapping[int, float],
    chosen: int | None = None,
    criterion: str | None = None,
    ax=None,
    title: str | None = None,
    window: tuple[int, int] | None = None,
):
    """Plot a criterion's score against the number of clusters, marking the chosen k.

    Parameters
    ----------
    scores : mapping of int to float
        Score per candidate k, e.g. the second output of :func:`rvagene.cluster.choose_k`.
    chosen : int, optional
        The chosen k, marked with a dotted line and a larger point.
    criterion : str, optional
        Name of the criterion (e.g. ``"silhouette"``), used as the y label; for a criterion
        of ``rvagene.cluster.K_CRITERIA`` the label says whether higher or lower is better.
    ax : matplotlib Axes, optional
        Axes to draw on; a new figure is created when None.
    title : str, optional
        Axes title.
    window : tuple of int, optional
        The lowest and highest k admitted, shaded: ``GeneClustering.k_window_``, the
        silhouette's window into which ``"gmeans"``' choice is clipped (so the chosen k may
        have a share of 0 when G-means chose a k outside it).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> ax = plot_k_scores({2: 0.41, 3: 0.62, 4: 0.55}, chosen=3, criterion="silhouette")
    >>> ax = plot_k_scores({2: 0.0, 3: 0.25, 4: 0.75}, chosen=3, criterion="gmeans",
    ...                    window=(2, 3))
    """
    from .cluster import K_CRITERIA

    if not isinstance(scores, Mapping) or not scores:
        msg = "scores must be a non-empty mapping of k to score, as choose_k returns."
        raise ValueError(msg)
    ks = np.array(sorted(scores), dtype=int)
    values = np.array([scores[k] for k in ks], dtype=float)
    if chosen is not None and chosen not in scores:
        msg = f"chosen={chosen!r} is not one of the scored k ({', '.join(map(str, ks))})."
        raise ValueError(msg)
    if window is not None:
        if (
            not isinstance(window, tuple | list)
            or len(window) != 2
            or not all(w in scores for w in window)
            or window[0] > window[1]
        ):
            msg = (
                f"window must be (lowest k, highest k), both scored and in order; got "
                f"{window!r} for k in {ks[0]}..{ks[-1]}."
            )
            raise ValueError(msg)
    ax = ax or _new_axes()
    ax.plot(ks, values, marker="o", color="black", linewidth=1.5)
    if window is not None:
        low, high = window
        what = "silhouette's window" if criterion == "gmeans" else "window"
        span = f"{low}..{high}" if low < high else f"{low}"
        ax.axvspan(
            low - 0.4, high + 0.4, color="tab:blue", alpha=0.12, label=f"{what}: k = {span}"
        )
    if chosen is not None:
        ax.axvline(chosen, color="tab:red", linestyle=":", label=f"chosen k = {chosen}")
        ax.scatter([chosen], [scores[chosen]], s=80, color="tab:red", zorder=5)
    if chosen is not None or window is not None:
        ax.legend()
    ax.set_xticks(ks)
    ax.set_xlabel("number of clusters k")
    ylabel = "score" if criterion is None else criterion.replace("_", "-")
    if criterion == "gmeans":  # choose_k's scores: the share of point sets choosing k
        ylabel = "share of point sets whose G-means chose k"
    elif criterion in K_CRITERIA:
        ylabel += f" ({K_CRITERIA[criterion]} is better)"
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax

"""The space in which genes are clustered: one definition used everywhere.

A fitted :class:`~rvagene.RVAgene` gives each gene a Gaussian posterior over its latent code.
Genes can be clustered on more than the posterior means: the decoder maps a code to a series,
and distances between decoded series measure shape as the model denoised it. This module
names each such space and computes it, so choosing k, K-means, the consensus of fits, the
membership probabilities and the figures all work on the same points.

Spaces
------
``"latent"``
    The posterior means, ``model.transform(X)``: the published tool's space.
``"decoded"``
    The series decoded from the posterior means, ``model.decode(model.transform(X))``, in the
    model's scaled units (z-scores under the default ``scaling="zscore"``), flattened to one
    row per gene. The series are not z-scored again: a flat gene's reconstruction stays near
    0 instead of becoming noise blown up to unit variance.

``"slopes"``
    A space of the data, not of the model: each gene's z-scored series differenced between
    consecutive time points (:func:`slopes`). When the genes share one shape
    (:func:`between_gene_share` below :data:`ONE_SHAPE_SHARE`), a model of the genes learns
    that shape and little else, and the z-scores are dominated by it too; what still tells
    the genes apart is where and how fast they change. On the hard suite's five such cases
    (docs/results.md, "Genes that share one shape") K-means on the slopes scored 0.48 on
    average, against 0.17 for K-means on the z-scores and 0.02 for the model's consensus; on
    the other seven they lost (0.39 against 0.79 on the z-scores), so they are used only there.

The model's spaces are functions of the latent code, so a point drawn from a gene's posterior
maps into them by :func:`embed_codes`; :func:`membership_probabilities` uses this. The slopes
are not: their probabilities come from the genes' spread around the centres instead.

Several fits
------------
:func:`cluster_fits` clusters the genes of several fits in several spaces at once (the
co-association consensus of every fit's K-means in every space) and names the central fit
(:func:`central_fit`), the one whose clusters agree most with the others'. On the hard suite
(docs/results.md) 5 fits clustered this way in ``("latent", "decoded")`` had a seed spread
of at most 0.05 on every case; in the latent space alone they had the higher suite mean.

Long series
-----------
:func:`downsample` averages a long series over equal bins of consecutive time points (at
most ``max_timepoints`` bins) before the model sees it. On the hard suite's long cases (150
to 286 points) binning to 64 points made fits 3-6x cheaper, at an ARI a little lower on
ArrowHead and Coffee (docs/results.md). It is no fix for them: their genes share one
shape, with little variance between genes, and the model learns that shape and little else.
:func:`centre_across_genes` removes the shared shape first; it lifted ArrowHead, not Coffee.
"""

from __future__ import annotations

import warnings

import numpy as np

from .cluster import _as_generator, _check_centres_and_samples
from .data import as_time_series, bin_means, bin_width, scale_series

__all__ = [
    "DATA_SPACES",
    "ONE_SHAPE_SHARE",
    "SPACES",
    "between_gene_share",
    "central_fit",
    "cluster_fits",
    "centre_across_genes",
    "downsample",
    "embed",
    "embed_codes",
    "fill_gaps",
    "membership_probabilities",
    "slopes",
    "soft_assignment",
]

SPACES = ("latent", "decoded")  # the model's spaces: functions of the latent code
DATA_SPACES = ("slopes",)  # spaces of the data alone
# Below this share of between-gene variance the genes share one shape: 0.01 to 0.23 on the
# hard suite's UCR cases where the model fell below K-means on z-scores, 0.45 to 0.97 on the
# cases where it clustered well (docs/results.md).
ONE_SHAPE_SHARE = 0.3


def between_gene_share(X) -> float:
    """Share of the variance of the per-gene z-scores that lies between genes.

    Each gene's series is z-scored over time; at each time point the variance over genes is
    taken, and averaged over time (NaN ignored). 1 means the genes' shapes are unrelated; near
    0 means every gene follows the same shape, and a model of the genes learns that shape.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 20)
    >>> round(between_gene_share(np.vstack([np.sin(6 * t), -np.sin(6 * t)])), 2)
    1.0
    >>> round(between_gene_share(np.vstack([np.sin(6 * t), 2 * np.sin(6 * t) + 1])), 2)
    0.0
    """
    Z = scale_series(as_time_series(X))[0]  # (genes, time, dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        return float(np.nanmean(np.nanvar(Z, axis=0)))


def fill_gaps(Z) -> np.ndarray:
    """Missing values of (genes, time, dims) filled by linear interpolation along time.

    Before the first and after the last observed value, the nearest one is used; a series
    with no observed value becomes 0. Returns a copy.

    Examples
    --------
    >>> fill_gaps(np.array([[[np.nan], [1.0], [np.nan], [3.0], [np.nan]]])).ravel().tolist()
    [1.0, 1.0, 2.0, 3.0, 3.0]
    """
    Z = np.array(Z, dtype=np.float64)
    steps = np.arange(Z.shape[1])
    for g, d in zip(*np.nonzero(np.isnan(Z).any(axis=1)), strict=True):
        seen = ~np.isnan(Z[g, :, d])
        Z[g, :, d] = np.interp(steps, steps[seen], Z[g, seen, d]) if seen.any() else 0.0
    return Z


def slopes(X, max_timepoints: int | None = 64) -> np.ndarray:
    """Each gene's z-scored series differenced between consecutive time points.

    A series longer than ``max_timepoints`` is first averaged over equal bins of consecutive
    points (:func:`downsample`). The series is then z-scored over time
    (:func:`rvagene.data.scale_series`), missing values are filled by linear interpolation
    along time, and each point is subtracted from the next: the change per step between
    samples (times are not used, so uneven sampling weighs each step alike). A flat gene's
    slopes are 0.

    Why the bins: differencing amplifies the noise of finely sampled series, so on long
    series the point-to-point change is mostly noise. On the long cases whose genes share
    one shape, binning to 64 points first lifted K-means on the slopes on ArrowHead (251
    points) from 0.163 to 0.196 and on ACSF1 (1,460 points, a case chosen after the rule)
    from 0.170 to 0.186, and kept Coffee at 1.000 (docs/results.md, "Small shifts in time,
    and slopes over bins").
    64 is :func:`downsample`'s default, not a value tuned on those cases.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    max_timepoints : int or None, default=64
        Series longer than this are averaged over at most this many bins first; ``None``
        differences every point.

    Returns
    -------
    points : ndarray of shape (n_genes, (n_kept - 1) * n_dims)
        ``n_kept`` is ``n_timepoints``, or the number of bins for longer series.

    Examples
    --------
    >>> slopes([[1.0, 2.0, 3.0], [3.0, 2.0, np.nan]]).round(3).tolist()
    [[1.225, 1.225], [-2.0, 0.0]]
    >>> slopes(np.arange(100.0)[None, :], max_timepoints=4).shape
    (1, 3)
    """
    X = as_time_series(X, dtype=np.float64)
    if max_timepoints is not None:
        X = downsample(X, max_timepoints)[0]
    Z = fill_gaps(scale_series(X)[0])
    if Z.shape[1] < 2:
        msg = f"slopes need at least 2 time points per series, got {Z.shape[1]}."
        raise ValueError(msg)
    return np.diff(Z, axis=1).reshape(len(Z), -1)


def downsample(X, max_timepoints: int = 64, times=None):
    """Average each series over bins of consecutive time points, at most ``max_timepoints``.

    Series of at most ``max_timepoints`` points come back unchanged (a copy). Longer ones are
    cut into bins of ``ceil(n_timepoints / max_timepoints)`` points (the last bin may be
    shorter) and each bin is replaced by the mean of its observed values (NaN is ignored; a
    bin with no observed value stays NaN). ``times`` are averaged over the same bins.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    max_timepoints : int, default=64
        Largest number of time points kept.
    times : array-like of shape (n_timepoints,), optional

    Returns
    -------
    X_binned : ndarray of shape (n_genes, n_bins) or (n_genes, n_bins, n_dims)
    times_binned : ndarray of shape (n_bins,) or None
        None when ``times`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> Xb, tb = downsample(np.arange(10.0)[None, :], max_timepoints=4, times=np.arange(10.0))
    >>> Xb.tolist(), tb.tolist()
    ([[1.0, 4.0, 7.0, 9.0]], [1.0, 4.0, 7.0, 9.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if isinstance(max_timepoints, bool) or not isinstance(max_timepoints, (int, np.integer)):
        msg = f"max_timepoints must be an integer >= 2, got {max_timepoints!r}."
        raise ValueError(msg)
    if max_timepoints < 2:
        msg = f"max_timepoints must be >= 2 (a series needs 2 points), got {max_timepoints}."
        raise ValueError(msg)
    if X.ndim not in (2, 3):
        msg = f"X must be 2-D (genes, time) or 3-D (genes, time, dims), got shape {X.shape}."
        raise ValueError(msg)
    n_timepoints = X.shape[1]
    t = None if times is None else np.asarray(times, dtype=np.float64).ravel()
    if t is not None and t.size != n_timepoints:
        msg = f"times has {t.size} values but X has {n_timepoints} time points; give one each."
        raise ValueError(msg)
    width = bin_width(n_timepoints, max_timepoints)
    if width == 1:
        return X.copy(), None if t is None else t.copy()
    t_binned = None if t is None else bin_means(t[None, :], width)[0]
    return bin_means(X, width), t_binned


def centre_across_genes(X):
    """Per-gene z-scores with the genes' common shape removed, on one global scale.

    Each series is z-scored over time (:func:`rvagene.data.scale_series`); the mean series
    over genes (per time point, and per dimension for 3-D input) is subtracted, and all
    values are divided by one number, the root mean square of what remains. Distances
    between genes are those of their z-scores, up to that one factor, so K-means finds the
    same clusters; but a model fitted to the result sees the differences between genes at
    unit scale instead of a shape shared by all of them plus small deviations. Fit the model
    with ``scaling="none"`` on it (a per-gene scaling would blow each gene's small deviation
    up to unit variance).

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        NaN marks a missing value; it stays NaN.

    Returns
    -------
    X_centred : ndarray, the shape of X
    common : ndarray of shape (n_timepoints,) or (n_timepoints, n_dims)
        The mean z-scored series that was subtracted.
    scale : float
        The divisor. ``z-scores = X_centred * scale + common``.

    Examples
    --------
    >>> import numpy as np
    >>> Xc, common, scale = centre_across_genes([[0.0, 1.0, 2.0], [0.0, 2.0, 1.0]])
    >>> np.allclose(Xc.mean(axis=0), 0), round(float(np.sqrt((Xc**2).mean())), 6)
    (True, 1.0)
    """
    from .data import scale_series

    Z = scale_series(X)[0]
    if Z.ndim not in (2, 3):
        msg = f"X must be 2-D (genes, time) or 3-D (genes, time, dims), got shape {Z.shape}."
        raise ValueError(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a time point with no value
        common = np.nanmean(Z, axis=0)
    common = np.nan_to_num(common)
    residual = Z - common
    scale = float(np.sqrt(np.nanmean(residual**2)))
    if not np.isfinite(scale) or scale <= 0:
        scale = 1.0  # every gene has the same shape: nothing to rescale
    return residual / scale, common, scale


def central_fit(labelings) -> tuple[int, np.ndarray]:
    """The fit whose clusters agree most with the other fits' clusters.

    Given the clusters of the same genes from several fits (each fit's K-means in its own
    clustering space), returns the fit with the highest mean adjusted Rand index to the
    others: the medoid of the fits. A fit that fell into a poor solution (another axis of
    its latent space, an early stop) disagrees with the rest and is not chosen, while the
    chosen fit keeps its own space, centres and generator, so the labels, the membership
    probabilities and generation all come from one model. Ties go to the earliest fit.

    Parameters
    ----------
    labelings : sequence of array-like of shape (n_genes,)
        Cluster labels of the same genes, one array per fit (at least one).

    Returns
    -------
    index : int
        Position of the central fit in ``labelings``.
    agreement : ndarray of shape (n_fits, n_fits)
        Adjusted Rand index between every pair of fits (1 on the diagonal).

    Examples
    --------
    >>> central_fit([[0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]])[0]
    0
    """
    from sklearn.metrics import adjusted_rand_score

    labelings = [np.asarray(labels).ravel() for labels in labelings]
    if not labelings:
        msg = "labelings is empty; give the cluster labels of at least one fit."
        raise ValueError(msg)
    sizes = {labels.size for labels in labelings}
    if len(sizes) != 1:
        msg = f"Every labeling must cover the same genes; got lengths {sorted(sizes)}."
        raise ValueError(msg)
    n = len(labelings)
    agreement = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            agreement[i, j] = agreement[j, i] = adjusted_rand_score(labelings[i], labelings[j])
    return int(agreement.sum(axis=1).argmax()), agreement


def cluster_fits(
    models, X, n_clusters: int, spaces=("latent", "decoded"), random_state=0, times=None
) -> tuple[np.ndarray, int]:
    """One clustering of the genes from several fits and several spaces.

    Each fit's genes are embedded in each of ``spaces`` (:func:`embed`) and clustered by
    K-means; the co-association consensus of all these clusterings
    (:func:`rvagene.cluster.consensus_clusters`) gives the labels. The central fit
    (:func:`central_fit` on the fits' K-means in ``spaces[0]``) is returned beside them: the
    model to generate from and to compute membership probabilities with. With one fit and
    one space this is K-means in that space.

    On the hard suite (docs/results.md), the consensus of 5 fits in both spaces had the
    smallest spread over seeds of every candidate (at most 0.05 per case); in the latent space
    alone it kept ItalyPowerDemand (which only the latent space separates, in about half of
    the fits) at a larger spread.

    Parameters
    ----------
    models : sequence of RVAgene
        Fitted models of the same genes.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    n_clusters : int
    spaces : sequence of str, default=("latent", "decoded")
        Spaces from :data:`SPACES`.
    random_state : int, RandomState instance or None, default=0
        Seed of the K-means runs.
    times : array-like of shape (n_timepoints,), optional

    Returns
    -------
    labels : ndarray of shape (n_genes,)
    central : int
        Index of the central fit in ``models``.
    """
    from .cluster import cluster_latent, consensus_clusters

    models, spaces = list(models), [_check_space(s) for s in spaces]
    if not models or not spaces:
        msg = "cluster_fits needs at least one fitted model and one space."
        raise ValueError(msg)
    codes = [np.asarray(m.transform(X, times=times)) for m in models]  # not DataFrames
    points = {
        s: [embed_codes(m, Z, s) for m, Z in zip(models, codes, strict=True)] for s in spaces
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty cluster in one fit is allowed
        first = [cluster_latent(E, n_clusters, random_state=random_state).labels_
                 for E in points[spaces[0]]]  # fmt: skip
    central = central_fit(first)[0] if len(models) > 1 else 0
    if len(models) == 1 and len(spaces) == 1:
        return first[0], 0
    everything = [E for s in spaces for E in points[s]]
    return consensus_clusters(everything, n_clusters, "coassociation", random_state), central


def _check_space(space: str, allowed=SPACES) -> str:
    if space not in allowed:
        msg = f"Unknown space {space!r}; use one of {', '.join(map(repr, allowed))}."
        if space in DATA_SPACES:
            msg = (
                f"{space!r} is a space of the data, not of the latent code; use "
                f"embed(model, X, {space!r}) for genes, or one of {', '.join(map(repr, allowed))}."
            )
        raise ValueError(msg)
    return space


def embed_codes(model, Z, space: str = "latent") -> np.ndarray:
    """Map latent codes into a clustering space.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    Z : array-like of shape (n_points, latent_length)
        Latent codes (posterior means, or draws from the posteriors).
    space : {"latent", "decoded"}, default="latent"

    Returns
    -------
    points : ndarray of shape (n_points, n_dims_of_space)
    """
    _check_space(space)
    Z = np.asarray(Z, dtype=np.float64)
    if space == "latent":
        return Z
    decoded = model.decode(Z)  # (n, time) or (n, time, dims), scaled units
    return decoded.reshape(len(decoded), -1)


def embed(model, X, space: str = "latent", times=None) -> np.ndarray:
    """The points in which the genes of ``X`` are clustered, one row per gene.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    space : {"latent", "decoded", "slopes"}, default="latent"
        See the module's docstring. ``"slopes"`` needs no model (``model`` may be None).
    times : array-like of shape (n_timepoints,), optional
        Checked against the model's ``times_`` as in :meth:`rvagene.RVAgene.transform`
        (not used by ``"slopes"``).

    Returns
    -------
    points : ndarray of shape (n_genes, n_dims_of_space)

    Examples
    --------
    >>> from rvagene import RVAgene, simulate
    >>> X, _ = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8, random_state=0)
    >>> model = RVAgene(hidden_size=8, latent_length=2, n_epochs=2, random_state=0).fit(X)
    >>> embed(model, X, "latent").shape, embed(model, X, "decoded").shape
    ((30, 2), (30, 8))
    >>> embed(None, X, "slopes").shape
    (30, 7)
    """
    if _check_space(space, SPACES + DATA_SPACES) == "slopes":
        return slopes(X)
    return embed_codes(model, np.asarray(model.transform(X, times=times)), space)


def membership_probabilities(
    model,
    X,
    centres,
    space: str = "latent",
    n_samples: int = 1000,
    random_state=0,
    times=None,
) -> np.ndarray:
    """Probability that each gene belongs to each cluster, in a clustering space.

    In the model's spaces: for each gene, ``n_samples`` codes are drawn from its posterior
    ``N(mean, diag(var))`` in antithetic pairs, mapped into ``space`` by :func:`embed_codes`
    and assigned to the nearest centre; the share of draws per centre is the probability. In
    the latent space this is :func:`rvagene.cluster.membership_probabilities`. In
    ``"slopes"``, a space of the data, the probabilities are :func:`soft_assignment` of the
    genes' slopes to the centres.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    centres : array-like of shape (n_clusters, n_dims_of_space)
        Cluster centres in ``space``.
    space : {"latent", "decoded", "slopes"}, default="latent"
    n_samples : int, default=1000
        Draws per gene (rounded up to an even number). Decoding costs one decoder pass per
        draw, so spaces other than ``"latent"`` are slower by that much.
    random_state : int, numpy Generator, RandomState or None, default=0
        Seed of the draws.
    times : array-like of shape (n_timepoints,), optional

    Returns
    -------
    probabilities : ndarray of shape (n_genes, n_clusters)
        Rows sum to 1.
    """
    from .cluster import membership_probabilities as latent_probabilities

    if _check_space(space, SPACES + DATA_SPACES) in DATA_SPACES:
        return soft_assignment(embed(model, X, space), centres)
    mean, variance = model.latent_posterior(X, times=times)
    centres = np.asarray(centres, dtype=np.float64)
    if space == "latent":
        return latent_probabilities(mean, variance, centres, n_samples, random_state)
    _check_centres_and_samples(centres, n_samples)
    rng = _as_generator(random_state)
    n_genes, latent_length = mean.shape
    k = centres.shape[0]
    half = (int(n_samples) + 1) // 2
    sd = np.sqrt(np.asarray(variance, dtype=np.float64))
    probabilities = np.empty((n_genes, k))
    chunk = max(1, 200_000 // (2 * half))  # genes per decoder call: bounds memory
    for start in range(0, n_genes, chunk):
        stop = min(start + chunk, n_genes)
        eps = rng.standard_normal(size=(stop - start, half, latent_length))
        spread = sd[start:stop, np.newaxis, :] * eps
        draws = mean[start:stop, np.newaxis, :] + np.concatenate([spread, -spread], axis=1)
        points = embed_codes(model, draws.reshape(-1, latent_length), space)
        d2 = (centres**2).sum(axis=1) - 2.0 * points @ centres.T  # (genes * draws, k)
        nearest = d2.argmin(axis=1).reshape(stop - start, -1)
        counts = (nearest[:, :, np.newaxis] == np.arange(k)).sum(axis=1)
        probabilities[start:stop] = counts / nearest.shape[1]
    return probabilities


def soft_assignment(points, centres) -> np.ndarray:
    """Probabilities of belonging to each centre, from the points' spread around the centres.

    The responsibilities of a mixture of equal-weight spherical Gaussians at ``centres``,
    whose variance per dimension is the mean squared distance of the points to their nearest
    centre divided by the number of dimensions: K-means made soft. The most probable centre
    is the nearest.

    Parameters
    ----------
    points : array-like of shape (n_points, n_dims)
    centres : array-like of shape (n_centres, n_dims)

    Returns
    -------
    probabilities : ndarray of shape (n_points, n_centres)
        Rows sum to 1.

    Examples
    --------
    >>> p = soft_assignment([[0.0], [0.1], [1.0]], [[0.0], [1.0]])
    >>> p.argmax(axis=1).tolist(), bool(p[0, 0] > 0.99)
    ([0, 0, 1], True)
    """
    points = np.asarray(points, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    d2 = ((points[:, np.newaxis, :] - centres[np.newaxis, :, :]) ** 2).sum(axis=2)
    nearest = d2.min(axis=1, keepdims=True)
    variance = float(nearest.mean()) / points.shape[1]
    if not np.isfinite(variance) or variance <= 0:  # every point on a centre
        return (d2 == nearest).astype(np.float64) / (d2 == nearest).sum(axis=1, keepdims=True)
    weights = np.exp(-(d2 - nearest) / (2.0 * variance))
    return weights / weights.sum(axis=1, keepdims=True)

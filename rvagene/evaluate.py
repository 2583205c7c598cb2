"""Measures of generated series, and of how well a model rebuilds each gene.

RVAgene generates cluster-specific trajectories by decoding latent points drawn around each
cluster centre (:meth:`rvagene.RVAgene.generate`). Two questions judge the result:

- **specificity**: does a series generated for cluster i look like cluster i? Measured two
  ways: :func:`specificity_nearest_mean` (after z-scoring, is the series nearest to the mean
  of cluster i's real genes?) and :func:`specificity_reencoded` (does the model encode it
  back into cluster i?);
- **realism**: :func:`spread_ratio`, the spread of the generated series at each time point
  over that of the real members; 1 means they vary as much as the real genes.

:func:`generation_scores` computes all three at once. Genes labelled -1 (flat genes, in no
cluster, as :attr:`rvagene.GeneClustering.labels_` marks them) are left out of every measure,
so ``GeneClustering``'s ``labels_`` and the genes it was fitted on can be passed as they are.

:func:`reconstruction_r2` scores the model itself, gene by gene: the share of each gene's
variance over time that its reconstruction explains. A gene the model rebuilds poorly has a
latent code that says little about its shape, so its cluster deserves less trust: on 9 cases,
the quarter of genes with the lowest R^2 sat in a cluster of another true group 3 times as
often as the rest (docs/results.md, "Genes the model rebuilds poorly").
"""

from __future__ import annotations

import warnings

import numpy as np

from .data import as_time_series, flat_genes, scale_series

_FLAT = -1  # the label of a flat gene, in no cluster (GeneClustering.labels_)

__all__ = [
    "generation_scores",
    "reconstruction_r2",
    "specificity_nearest_mean",
    "specificity_reencoded",
    "spread_ratio",
]


def _check_generated(generated) -> np.ndarray:
    """Generated series as float (n_clusters, n_samples, time[, dims]), or a ValueError."""
    generated = np.asarray(generated, dtype=float)
    if generated.ndim not in (3, 4) or 0 in generated.shape[:2]:
        msg = (
            "generated must have shape (n_clusters, n_samples, n_timepoints[, n_dims]), as "
            f"RVAgene.generate returns, got {generated.shape}."
        )
        raise ValueError(msg)
    if not np.all(np.isfinite(generated)):
        msg = "generated contains NaN or infinite values."
        raise ValueError(msg)
    return generated


def _check_members(X, labels, generated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real series as float (n_genes, time[, dims]) matching ``generated``, and int labels.

    Genes labelled -1 (flat genes) are left out of both.
    """
    X = np.asarray(X, dtype=float)
    if X.shape[1:] != generated.shape[2:]:
        msg = (
            f"X has series of shape {X.shape[1:]} but the generated ones have "
            f"{generated.shape[2:]}; pass the genes the model was fitted on."
        )
        raise ValueError(msg)
    labels = np.asarray(labels)
    if labels.shape != (X.shape[0],):
        msg = f"labels must have shape ({X.shape[0]},), one per row of X, got {labels.shape}."
        raise ValueError(msg)
    labels = labels.astype(np.int64)
    clustered = labels != _FLAT  # a flat gene is in no cluster: left out
    X, labels = X[clustered], labels[clustered]
    k = generated.shape[0]
    if labels.size == 0:
        msg = (
            "No gene to compare with: labels is empty or labels every gene -1 (flat). Pass "
            f"the clustered genes and their clusters 0..{k - 1} (GeneClustering: X, labels_)."
        )
        raise ValueError(msg)
    if labels.min() < 0 or labels.max() >= k:
        msg = (
            f"labels must be cluster numbers 0..{k - 1}, one per generated cluster "
            "(generated[i] was generated for cluster i), or -1 for a flat gene (left out)."
        )
        raise ValueError(msg)
    return X, labels


def _flat(series: np.ndarray) -> np.ndarray:
    """(n, time[, dims]) -> (n, time * dims)."""
    return series.reshape(series.shape[0], -1)


def _zscore(series: np.ndarray) -> np.ndarray:
    """Each series z-scored over time (per value dimension), NaN-aware."""
    return scale_series(series, "zscore")[0]


def specificity_nearest_mean(generated, X, labels) -> dict:
    """Share of generated series nearest, after z-scoring, to their own cluster's real mean.

    Every series (generated and real) is z-scored over time. For each cluster the mean of its
    real members' z-scored series is taken; a series generated for cluster i counts as
    specific when, of all those means, the one of cluster i is nearest (Euclidean distance).

    Parameters
    ----------
    generated : array-like of shape (n_clusters, n_samples, n_timepoints[, n_dims])
        ``generated[i]`` was generated for cluster i, as :meth:`RVAgene.generate` returns for
        the centres ``cluster_centers_`` (any units: each series is z-scored).
    X : array-like of shape (n_genes, n_timepoints[, n_dims])
        The real series. NaN values are ignored.
    labels : array-like of shape (n_genes,)
        Cluster of each real gene, 0 to ``n_clusters - 1``; genes labelled -1 (flat genes,
        as in ``GeneClustering.labels_``) are left out.

    Returns
    -------
    scores : dict
        ``"specificity"``: the share over all generated series; ``"per_cluster"``: ndarray of
        shape (n_clusters,), the share per cluster (NaN for a cluster with no real member).

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 10)
    >>> X = np.stack([t, t + 0.01, -t, -t + 0.01])
    >>> generated = np.stack([[t**2, t], [-t, -(t**2)]])
    >>> specificity_nearest_mean(generated, X, [0, 0, 1, 1])["specificity"]
    1.0
    """
    generated = _check_generated(generated)
    X, labels = _check_members(X, labels, generated)
    k, n = generated.shape[:2]
    real = np.nan_to_num(_flat(_zscore(X)))  # a missing value adds nothing to a mean
    counts = np.zeros((k, real.shape[1]))
    np.add.at(counts, labels, ~np.isnan(_flat(X)))
    means = np.zeros((k, real.shape[1]))
    np.add.at(means, labels, real)
    means = means / np.maximum(counts, 1)
    present = np.bincount(labels, minlength=k) > 0
    gen = _flat(_zscore(generated.reshape(k * n, *generated.shape[2:])))
    d2 = ((gen[:, np.newaxis, :] - means[np.newaxis, present, :]) ** 2).sum(axis=-1)
    nearest = np.flatnonzero(present)[d2.argmin(axis=1)].reshape(k, n)
    hit = nearest == np.arange(k)[:, np.newaxis]
    per_cluster = np.where(present, hit.mean(axis=1), np.nan)
    return {"specificity": float(hit[present].mean()), "per_cluster": per_cluster}


def specificity_reencoded(model, generated, centres, times=None) -> dict:
    """Share of generated series that the model encodes back into their own cluster.

    Each series generated for cluster i is encoded (:meth:`RVAgene.transform`, the posterior
    mean) and assigned to the nearest of ``centres``, as K-means assigns genes; it counts as
    specific when that is centre i.

    Parameters
    ----------
    model : RVAgene
        The fitted model that generated the series.
    generated : array-like of shape (n_clusters, n_samples, n_timepoints[, n_dims])
        ``generated[i]`` was generated around ``centres[i]`` (in data or scaled units: the
        model scales every series before encoding it).
    centres : array-like of shape (n_clusters, latent_length)
        The cluster centres, e.g. ``cluster_latent(Z, k).cluster_centers_``.
    times : array-like of shape (n_timepoints,), optional
        Passed to ``transform`` (the model's fitted times are used in any case).

    Returns
    -------
    scores : dict
        ``"specificity"``: the share over all generated series; ``"per_cluster"``: ndarray of
        shape (n_clusters,).
    """
    generated = _check_generated(generated)
    centres = np.asarray(centres, dtype=float)
    k, n = generated.shape[:2]
    if centres.ndim != 2 or centres.shape[0] != k:
        msg = (
            f"centres must have shape ({k}, latent_length), one per generated cluster, got "
            f"{centres.shape}."
        )
        raise ValueError(msg)
    series = generated.reshape(k * n, *generated.shape[2:])
    if series.ndim == 3 and getattr(model, "input_ndim_", 3) == 2:
        series = series[:, :, 0]
    Z = np.asarray(model.transform(series, times=times))  # set_output: not a DataFrame
    d2 = ((Z[:, np.newaxis, :] - centres[np.newaxis, :, :]) ** 2).sum(axis=-1)
    hit = d2.argmin(axis=1).reshape(k, n) == np.arange(k)[:, np.newaxis]
    return {"specificity": float(hit.mean()), "per_cluster": hit.mean(axis=1)}


def spread_ratio(generated, X, labels, zscore: bool = False) -> dict:
    """Spread of the generated series at each time point, over that of the real members.

    For cluster i: the standard deviation across its generated series at every time point
    (and value dimension), averaged over time points, divided by the same for its real
    members. 1 means the generated series vary as much as the real genes; below 1 they are
    too alike (a fixed small spread), above 1 too varied.

    Parameters
    ----------
    generated : array-like of shape (n_clusters, n_samples, n_timepoints[, n_dims])
        ``generated[i]`` was generated for cluster i.
    X : array-like of shape (n_genes, n_timepoints[, n_dims])
        The real series, in the units of ``generated`` unless ``zscore``. NaN is ignored.
    labels : array-like of shape (n_genes,)
        Cluster of each real gene, 0 to ``n_clusters - 1``; genes labelled -1 (flat genes,
        as in ``GeneClustering.labels_``) are left out.
    zscore : bool, default=False
        Z-score every series (generated and real) over time first, so that the spread of the
        shapes is compared whatever the units (e.g. for generation in scaled units, or to
        leave out the genes' levels and amplitudes).

    Returns
    -------
    scores : dict
        ``"ratio"``: the mean of the per-cluster ratios; ``"per_cluster"``: ndarray of shape
        (n_clusters,), NaN for a cluster with fewer than 2 real members or no real spread.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(0, 1.0, (500, 5))
    >>> generated = rng.normal(0, 2.0, (1, 500, 5))
    >>> round(spread_ratio(generated, X, np.zeros(500, int))["ratio"], 1)
    2.0
    """
    generated = _check_generated(generated)
    X, labels = _check_members(X, labels, generated)
    if zscore:
        k, n = generated.shape[:2]
        generated = _zscore(generated.reshape(k * n, *generated.shape[2:])).reshape(
            generated.shape
        )
        X = _zscore(X)
    ratios = np.full(generated.shape[0], np.nan)
    for i in range(generated.shape[0]):
        members = X[labels == i]
        if members.shape[0] < 2:
            continue
        real = np.nanmean(np.nanstd(_flat(members), axis=0))
        if real > 0:
            ratios[i] = np.mean(np.std(_flat(generated[i]), axis=0)) / real
    ratio = float(np.nanmean(ratios)) if np.any(np.isfinite(ratios)) else float("nan")
    return {"ratio": ratio, "per_cluster": ratios}


def generation_scores(model, generated, X, labels, centres, times=None) -> dict:
    """Specificity (both kinds) and realism of series generated for each cluster.

    Parameters
    ----------
    model : RVAgene
        The fitted model that generated the series.
    generated : array-like of shape (n_clusters, n_samples, n_timepoints[, n_dims])
        ``generated[i]`` was generated around ``centres[i]``.
    X : array-like of shape (n_genes, n_timepoints[, n_dims])
        The real series (as given to ``fit``).
    labels : array-like of shape (n_genes,)
        Cluster of each real gene, e.g. ``cluster_latent(model.transform(X), k).labels_``
        or ``GeneClustering.labels_``, whose flat genes (-1) are left out.
    centres : array-like of shape (n_clusters, latent_length)
        The centres the series were generated around.
    times : array-like of shape (n_timepoints,), optional
        Passed to ``transform``.

    Returns
    -------
    scores : dict of float
        ``specificity_nearest_mean``, ``specificity_reencoded`` (shares, higher is better),
        ``spread_ratio`` (in the units of ``generated``, against the real ``X``; meaningful
        when both are in data units) and ``spread_ratio_z`` (of the z-scored series: the
        spread of the shapes).

    Notes
    -----
    Series generated with each cluster's offset (``generate_around_centres``'s default with
    the clusters' own spread) have their cluster's mean residual added, which puts their mean
    at the mean of ``X``'s members of that cluster: scored against the same genes,
    ``specificity_nearest_mean`` is then near 1 by construction for clusters of one or two
    genes. To score the offset on genes it did not come from, generate from part of each
    cluster's genes and score against the rest (``benchmarks/generation_pipeline.py`` does
    this, as its split-half check).
    """
    return {
        "specificity_nearest_mean": specificity_nearest_mean(generated, X, labels)["specificity"],
        "specificity_reencoded": specificity_reencoded(model, generated, centres, times)[
            "specificity"
        ],
        "spread_ratio": spread_ratio(generated, X, labels)["ratio"],
        "spread_ratio_z": spread_ratio(generated, X, labels, zscore=True)["ratio"],
    }


def reconstruction_r2(model, X, times=None) -> np.ndarray:
    """Per gene, the share of its variance over time that the model's reconstruction explains.

    R^2 = 1 - sum((x - x_hat)^2) / sum((x - mean(x))^2) over the gene's observed (non-NaN)
    values, where ``x_hat`` is :meth:`rvagene.RVAgene.reconstruct` (the series decoded from
    the gene's latent mean, in the input's units) and the mean is the gene's own, per value
    dimension. It does not depend on the gene's level or scale, so genes of any expression
    level compare. 1 is a perfect rebuild, 0 is no better than the gene's mean, and below 0
    is worse than that. On the genes the model was fitted on it is a training score, which
    flatters a model that overfits; pass held-out genes for an honest one.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        The genes, as :meth:`rvagene.RVAgene.reconstruct` takes them; NaN marks a missing
        value, left out of both sums.
    times : array-like of shape (n_timepoints,), optional
        Checked as in :meth:`rvagene.RVAgene.transform`.

    Returns
    -------
    r2 : ndarray of shape (n_genes,)
        NaN for a flat gene (:func:`rvagene.data.flat_genes`: no variance to explain).

    Examples
    --------
    >>> import numpy as np
    >>> from rvagene import RVAgene
    >>> rng = np.random.default_rng(0)
    >>> t = np.linspace(0, 1, 12)
    >>> X = np.sin(2 * np.pi * (t + rng.uniform(0, 1, (40, 1)))) + rng.normal(0, 0.1, (40, 12))
    >>> model = RVAgene(latent_length=3, n_epochs=40, batch_size=8, random_state=0).fit(X)
    >>> r2 = reconstruction_r2(model, X)
    >>> r2.shape, bool(np.median(r2) > 0.5)
    ((40,), True)
    """
    observed = as_time_series(X, dtype=np.float64)  # (genes, time, dims)
    rebuilt = as_time_series(model.reconstruct(X, times=times), dtype=np.float64)
    known = np.isfinite(observed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a dimension without values: flat
        mean = np.nanmean(observed, axis=1, keepdims=True)
    total = np.where(known, (observed - mean) ** 2, 0.0).sum(axis=(1, 2))
    residual = np.where(known, (observed - rebuilt) ** 2, 0.0).sum(axis=(1, 2))
    flat = flat_genes(observed)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - residual / total
    r2[flat] = np.nan
    return r2

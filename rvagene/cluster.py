"""Clustering genes in the latent space and generating new trajectories around cluster centres.

RVAgene (Mitra & MacLean 2021) clusters genes by running K-means on the latent means of
their expression series, then generates new cluster-specific trajectories by decoding latent
points drawn around each cluster centre. This module holds the numpy/scikit-learn half of that
workflow; decoding is done by :meth:`rvagene.RVAgene.decode`. Beyond the original, it chooses
the number of clusters from the data (:func:`choose_k`), gives each gene a probability per
cluster from its latent posterior (:func:`membership_probabilities`), measures each cluster's
own latent spread for generation (:func:`cluster_covariances`) and combines the latent spaces
of several fits into one clustering (:func:`consensus_clusters`; the fits come from
:func:`rvagene.pipeline.fit_ensemble`), and renumbers clusters to agree with known labels
(:func:`match_clusters`).

What the original ``train_and_gen.py`` did, and what is kept here:

- ``MiniBatchKMeans(n_clusters=6, random_state=0, batch_size=6, max_iter=10)`` on the latent
  means, with the number of clusters hard-coded (``method="minibatch"`` reproduces it; the
  default ``method="kmeans"`` uses full K-means with several initialisations, which recovered
  the true clusters more reliably in the quality benchmark);
- 20 samples per centre from ``np.random.multivariate_normal(centre, np.identity(d) * 0.3)``,
  i.e. 0.3 is the **covariance** (variance per latent dimension), so the standard deviation is
  ``sqrt(0.3) ~= 0.548``. :func:`sample_around_centres` keeps that meaning of ``scale`` but
  draws from a seeded generator instead of numpy's global one.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.covariance import EmpiricalCovariance, LedoitWolf
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_samples,
)
from sklearn.mixture import GaussianMixture
from sklearn.utils import check_random_state

from ._utils import as_generator as _as_generator
from ._utils import check_n_samples as _check_n_samples
from ._utils import is_real_at_least as _is_real_at_least
from ._utils import user_stacklevel

logger = logging.getLogger(__name__)

__all__ = [
    "CONSENSUS_METHODS",
    "K_CRITERIA",
    "choose_k_gmeans",
    "choose_k",
    "cluster_covariances",
    "cluster_latent",
    "coassociation_matrix",
    "consensus_clusters",
    "ClusterMatch",
    "match_clusters",
    "clustering_scores",
    "membership_probabilities",
    "sample_around_centres",
]

# The original's MiniBatchKMeans settings (train_and_gen.py).
_MINIBATCH_BATCH_SIZE = 6
_MINIBATCH_MAX_ITER = 10
# scikit-learn's MiniBatchKMeans default n_init when the original was written (before 1.4).
_MINIBATCH_N_INIT = 3
# The original's spread around a centre: N(centre, 0.3 I) in the latent space.
DEFAULT_SCALE = 0.3


def _check_latent(Z) -> np.ndarray:
    """Return ``Z`` as a finite 2-D float array, or raise a clear ``ValueError``."""
    Z = np.asarray(Z, dtype=float)
    if Z.ndim != 2:
        msg = (
            f"Z must be a 2-D array (n_genes, latent_length), got shape {Z.shape}. "
            "Use Z.reshape(-1, 1) for a 1-D latent space."
        )
        raise ValueError(msg)
    if Z.shape[0] == 0:
        msg = "Z has no rows; there is nothing to cluster."
        raise ValueError(msg)
    if not np.all(np.isfinite(Z)):
        n_bad = int(np.sum(~np.all(np.isfinite(Z), axis=1)))
        msg = (
            f"Z contains NaN or infinite values in {n_bad} of {Z.shape[0]} rows. "
            "Check the model's training (a diverged fit gives NaN latent means)."
        )
        raise ValueError(msg)
    return Z


def _check_variance(variance, like: np.ndarray, name: str) -> np.ndarray:
    """Posterior variances: one per gene and latent dimension, finite and non-negative."""
    variance = np.asarray(variance, dtype=float)
    if variance.shape != like.shape:
        msg = (
            f"variance has shape {variance.shape} but {name} has {like.shape}; pass one "
            "variance per gene and latent dimension (RVAgene.latent_posterior(X)[1])."
        )
        raise ValueError(msg)
    if not np.all(np.isfinite(variance)) or np.any(variance < 0):
        msg = "variance must be finite and non-negative."
        raise ValueError(msg)
    return variance


def _check_centres_and_samples(centres: np.ndarray, n_samples) -> None:
    """Finite centres and a positive integer number of samples, or a ValueError."""
    if not np.all(np.isfinite(centres)):
        msg = "centres contain NaN or infinite values."
        raise ValueError(msg)
    _check_n_samples(n_samples)


def _check_labels(labels, n_points: int, n_clusters: int | None) -> tuple[np.ndarray, int]:
    """Labels as non-negative ints, one per point, and the number of clusters."""
    labels = np.asarray(labels)
    if labels.shape != (n_points,):
        msg = f"labels must have shape ({n_points},), one per row of Z, got {labels.shape}."
        raise ValueError(msg)
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        if not np.all(np.isfinite(labels.astype(float))) or np.any(labels % 1):
            msg = "labels must be integer cluster numbers 0, 1, ..., n_clusters - 1."
            raise ValueError(msg)
    labels = labels.astype(np.int64)
    if labels.size and labels.min() < 0:
        msg = "labels must be integer cluster numbers 0, 1, ..., n_clusters - 1 (no negatives)."
        raise ValueError(msg)
    top = int(labels.max()) + 1 if labels.size else 0
    if n_clusters is None:
        n_clusters = top
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, numbers.Integral):
        msg = f"n_clusters must be an integer, got {n_clusters!r}."
        raise ValueError(msg)
    if n_clusters < max(top, 1):
        msg = f"labels go up to {top - 1} but n_clusters is {n_clusters}; raise n_clusters."
        raise ValueError(msg)
    return labels, int(n_clusters)


def cluster_latent(
    Z,
    n_clusters: int,
    method: str = "kmeans",
    n_init: int | None = None,
    random_state: int | np.random.RandomState | None = 0,
):
    """Cluster latent means with K-means.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length)
        Latent means, e.g. ``RVAgene.transform(X)``.
    n_clusters : int
        Number of clusters, between 1 and ``n_genes``.
    method : {"kmeans", "minibatch"}, default="kmeans"
        ``"kmeans"``: :class:`~sklearn.cluster.KMeans` with ``n_init`` initialisations (the
        robust default). ``"minibatch"``: the original tool's
        ``MiniBatchKMeans(batch_size=6, max_iter=10)``.
    n_init : int, optional
        Number of initialisations. Defaults to 10 for ``"kmeans"`` and to 3 for
        ``"minibatch"`` (scikit-learn's default when the original was written).
    random_state : int, RandomState instance or None, default=0
        Seed for the K-means initialisation; ``0`` as in the original. ``None`` lets
        scikit-learn draw from numpy's global RNG.

    Returns
    -------
    estimator : KMeans or MiniBatchKMeans
        The fitted estimator. ``labels_`` holds the assignment of each row of ``Z`` (for
        ``"minibatch"`` it is replaced by ``predict(Z)``, the nearest final centre, as the
        original did); ``cluster_centers_`` has shape ``(n_clusters, latent_length)``; the
        extra attribute ``n_nonempty_clusters_`` counts the clusters with at least one member.

    Raises
    ------
    ValueError
        If ``Z`` is not a finite 2-D array, ``n_clusters`` is out of range, or ``method`` is
        unknown.

    Notes
    -----
    A cluster can end up empty (with ``"minibatch"`` on few points, or when ``Z`` has fewer
    distinct rows than ``n_clusters``). It is not an error: the centre is kept, so
    ``cluster_centers_[i]`` still lines up with cluster ``i``, a warning says how many clusters
    are non-empty, and code that loops over clusters must accept a cluster with no genes.
    The original crashed in that case.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> km = cluster_latent(Z, n_clusters=2)
    >>> bool(km.labels_[0] == km.labels_[1] != km.labels_[2] == km.labels_[3])
    True
    >>> km.cluster_centers_.shape
    (2, 2)
    """
    Z = _check_latent(Z)
    n_points = Z.shape[0]
    if (
        isinstance(n_clusters, bool)
        or not isinstance(n_clusters, numbers.Integral)
        or not 1 <= n_clusters <= n_points
    ):
        msg = (
            f"n_clusters must be an integer between 1 and the number of points ({n_points}), "
            f"got {n_clusters!r}."
        )
        raise ValueError(msg)
    n_clusters = int(n_clusters)

    if method == "kmeans":
        estimator = KMeans(
            n_clusters=n_clusters,
            n_init=10 if n_init is None else n_init,
            random_state=random_state,
        )
        estimator.fit(Z)
    elif method == "minibatch":
        estimator = MiniBatchKMeans(
            n_clusters=n_clusters,
            batch_size=_MINIBATCH_BATCH_SIZE,
            max_iter=_MINIBATCH_MAX_ITER,
            n_init=_MINIBATCH_N_INIT if n_init is None else n_init,
            random_state=random_state,
        )
        estimator.fit(Z)
        # labels_ of a mini-batch fit can refer to centres from before the last update;
        # the nearest final centre is what the original used (kmeans.predict(z_run)).
        estimator.labels_ = estimator.predict(Z)
    else:
        msg = f"Unknown clustering method {method!r}. Use 'kmeans' or 'minibatch'."
        raise ValueError(msg)

    n_nonempty = int(np.unique(estimator.labels_).size)
    estimator.n_nonempty_clusters_ = n_nonempty
    if n_nonempty < n_clusters:
        warnings.warn(
            f"Only {n_nonempty} of {n_clusters} clusters have members; the empty clusters keep "
            "their centres. Consider fewer clusters or method='kmeans'.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    logger.debug(
        "Clustered %d points into %d clusters (%d non-empty) with %s.",
        n_points,
        n_clusters,
        n_nonempty,
        method,
    )
    return estimator


# choose_k's criteria: name -> whether a "higher" or "lower" score is better.
K_CRITERIA = {
    "bic": "lower",
    "silhouette": "higher",
    "gap": "higher",
    "calinski_harabasz": "higher",
    "davies_bouldin": "lower",
    "gmeans": "higher",
}
DEFAULT_K_CRITERION = "davies_bouldin"  # chosen by benchmarks/choose_k.py; see choose_k
DEFAULT_K_MAX = 15  # choose_k tries k = 2..15 (fewer when there are few genes)
_MIN_K = {"gap": 1, "bic": 1, "gmeans": 1}  # the others compare clusters: k >= 2
_GAP_REFERENCES = 10  # reference data sets per k for the gap statistic
_GAP_REFERENCE_N_INIT = 3
# G-means (Hamerly & Elkan 2003): split a cluster while its points, projected on the axis
# of its own 2-means split, fail an Anderson-Darling test of normality at alpha = 0.0001
# (their level: critical value 1.8692 of the corrected statistic A*^2); clusters of fewer
# than 8 genes are not tested.
_GMEANS_CRITICAL = 1.8692
_GMEANS_MIN_SIZE = 8
DEFAULT_GMEANS_WINDOW = 4.0  # choose_k_gmeans: the silhouette's window, in standard errors


def _check_k_range(k_range, n_points: int, criterion: str) -> list[int]:
    """Sorted distinct candidate k, or a ``ValueError`` that says what is allowed."""
    min_k = _MIN_K.get(criterion, 2)
    if k_range is None:
        k_range = range(2, min(DEFAULT_K_MAX, n_points - 1) + 1)
    try:
        values = list(k_range)
    except TypeError:
        values = None
    if values is None or any(
        isinstance(k, bool) or not isinstance(k, numbers.Integral) for k in values
    ):
        msg = f"k_range must be an iterable of integers such as range(2, 16), got {k_range!r}."
        raise ValueError(msg)
    ks = sorted({int(k) for k in values})
    if not ks:
        msg = (
            f"k_range is empty for {n_points} points; give at least one number of clusters "
            f"between {min_k} and {n_points - 1}."
        )
        raise ValueError(msg)
    if ks[0] < min_k or ks[-1] > n_points - 1:
        msg = (
            f"k_range must lie between {min_k} and n_points - 1 = {n_points - 1} for criterion "
            f"{criterion!r} on {n_points} points, got {ks[0]}..{ks[-1]}."
        )
        raise ValueError(msg)
    return ks


def _within_dispersion(Z: np.ndarray, labels: np.ndarray, centres: np.ndarray) -> float:
    """Sum of squared distances of the points to their cluster centre (W_k of the gap)."""
    return float(np.sum((Z - centres[labels]) ** 2))


def _gap(Z, ks, method, random_state, n_references) -> tuple[dict[int, float], dict[int, float]]:
    """Gap(k) and its standard error s_k (Tibshirani, Walther & Hastie 2001)."""
    rng = _as_generator(random_state)
    # Reference data: uniform over the box aligned with Z's principal axes (their method b).
    centre = Z.mean(axis=0)
    _, _, axes = np.linalg.svd(Z - centre, full_matrices=False)
    projected = (Z - centre) @ axes.T
    low, high = projected.min(axis=0), projected.max(axis=0)
    references = [
        rng.uniform(low, high, size=projected.shape) @ axes + centre for _ in range(n_references)
    ]
    gap, error = {}, {}
    for k in ks:
        with warnings.catch_warnings():  # an empty cluster only adds nothing to W_k
            warnings.simplefilter("ignore", UserWarning)
            km = cluster_latent(Z, k, method=method, random_state=random_state)
        log_w = np.log(max(_within_dispersion(Z, km.labels_, km.cluster_centers_), 1e-300))
        log_ref = []
        for ref in references:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                rk = cluster_latent(
                    ref, k, method=method, n_init=_GAP_REFERENCE_N_INIT, random_state=random_state
                )
            w = _within_dispersion(ref, rk.labels_, rk.cluster_centers_)
            log_ref.append(np.log(max(w, 1e-300)))
        gap[k] = float(np.mean(log_ref) - log_w)
        error[k] = float(np.std(log_ref) * np.sqrt(1.0 + 1.0 / n_references))
    return gap, error


def choose_k(
    Z,
    k_range: Iterable[int] | None = None,
    criterion: str = DEFAULT_K_CRITERION,
    method: str = "kmeans",
    random_state: int | np.random.RandomState | None = 0,
    n_references: int = _GAP_REFERENCES,
    tolerance: float = 0.0,
) -> tuple[int, dict[int, float]]:
    """Choose the number of clusters of the latent means from the data.

    Every candidate k is scored by one criterion and the best is returned with all the
    scores. The default, ``"davies_bouldin"``, recovered the true number of clusters most
    often in ``benchmarks/choose_k.py`` when it was chosen (default fits to simulated
    settings with 3 to 12 clusters, imbalanced sizes and strong noise included: 10 of 10);
    with the model's later defaults it found 9 of 10 and the silhouette 10 of 10.
    :class:`~rvagene.GeneClustering` uses :func:`choose_k_gmeans`. docs/results.md,
    *Number of clusters*, gives the numbers.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length), or a list of them
        Latent means, e.g. ``RVAgene.transform(X)``; or the points of the same genes from
        several fits (a list of 2-D arrays, whose widths may differ). With several, each
        candidate k is scored on every fit and the scores are averaged (the silhouette: each
        gene's silhouette averaged over the fits, so its standard error for ``tolerance`` is
        that of the averaged values); one k is chosen on the averages.
        With the silhouette on the fits' latent means (``GeneClustering``'s rule before
        :func:`choose_k_gmeans`) the pipeline chose k within one of the truth in 13 of 18
        trials on the hard suite's cases of 4 to 10 groups and 19 of 27 on 9 others, against
        10 and 17 for the median of the fits' own choices on the same host (docs/results.md,
        "Choosing k on the fits' averaged silhouettes").
    k_range : iterable of int, optional
        Candidate numbers of clusters, each between 2 (1 for ``"gap"``, ``"bic"`` and
        ``"gmeans"``) and ``n_genes - 1``. Default: 2 to 15, or to ``n_genes - 1`` when that
        is smaller.
    criterion : {"davies_bouldin", "bic", "silhouette", "gap", "calinski_harabasz", \
"gmeans"}, default="davies_bouldin"
        - ``"bic"``: Bayesian information criterion of a full-covariance
          :class:`~sklearn.mixture.GaussianMixture` with k components (3 initialisations;
          lowest wins). Full covariances fitted the elongated clusters of the latent space
          better than diagonal, tied or spherical ones in ``benchmarks/choose_k.py``;
        - ``"silhouette"``: mean silhouette of the K-means clusters (highest wins);
        - ``"gap"``: gap statistic, log within-cluster dispersion of uniform reference data
          minus that of ``Z``; the smallest k with ``gap(k) >= gap(k') - s(k')`` for the next
          candidate k' wins (the highest gap when no k passes);
        - ``"calinski_harabasz"``: between- over within-cluster dispersion (highest wins);
        - ``"davies_bouldin"``: mean similarity of each cluster to its closest one (lowest
          wins);
        - ``"gmeans"``: G-means (Hamerly & Elkan 2003): from one cluster, each cluster of 8
          or more points is split in two by K-means while its points, projected on the
          line through the two centres, fail an Anderson-Darling test of normality at
          alpha = 0.0001; the k reached, clipped into ``k_range`` (several point sets: the
          lower median of their k). Its scores are the share of point sets that chose each
          k. It finds groups of very unequal size that lie close together, and splits a
          continuum that is not Gaussian (the ESC data: 4 to 14 clusters for 2);
          :func:`choose_k_gmeans` keeps it within the silhouette's window.
    method : {"kmeans", "minibatch"}, default="kmeans"
        Clustering behind every criterion but ``"bic"``; passed to :func:`cluster_latent`.
    random_state : int, RandomState instance or None, default=0
        Seed of K-means, the Gaussian mixtures and the gap's reference data.
    n_references : int, default=10
        Reference data sets per k for ``"gap"``.
    tolerance : float, default=0.0
        ``"silhouette"`` only: from the best k, step up to larger k while the mean
        silhouette stays at most ``tolerance`` standard errors below the best (the standard
        error of the mean of the best k's per-gene silhouettes), and take the last k
        reached. 0 takes the best k. The silhouette favours few clusters when groups of very
        unequal size lie close together: on the hard suite's cases with 4 to 10 groups its
        best k was mostly too small, and a tolerance of 2 brought the pipeline's k within
        one of the truth in 15 of 18 trials instead of 10, with as many hits as before on 9
        other cases, real yeast time courses among them (docs/results.md, "Choosing k: a
        tolerance on the silhouette").

    Returns
    -------
    k : int
        The chosen number of clusters (the smallest one on ties).
    scores : dict of int to float
        The criterion's score for each candidate, in increasing k; ``K_CRITERIA[criterion]``
        says whether higher or lower is better.

    Raises
    ------
    ValueError
        If ``Z`` is not a finite 2-D array (or a list of them with the same number of
        rows), ``k_range`` is empty, holds a non-integer or a
        value out of range, ``criterion`` is unknown, or ``tolerance`` is negative, or
        positive with a criterion other than ``"silhouette"``.

    Warns
    -----
    UserWarning
        If the points hold fewer distinct rows than the smallest k tried (identical genes give
        identical points): they do not separate into that many clusters, every score is
        degenerate (e.g. ``inf`` for every k) and the k returned is only the smallest tried.

    References
    ----------
    Rousseeuw (1987) silhouettes; Tibshirani, Walther & Hastie (2001) the gap statistic;
    Schwarz (1978) BIC; Calinski & Harabasz (1974); Davies & Bouldin (1979); Hamerly &
    Elkan (2003) G-means.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(c, 0.1, size=(10, 2)) for c in (0, 5, 10)])
    >>> k, scores = choose_k(Z, k_range=range(2, 6))
    >>> k
    3
    >>> sorted(scores)
    [2, 3, 4, 5]
    """
    if criterion not in K_CRITERIA:
        msg = f"Unknown criterion {criterion!r}. Use one of {', '.join(map(repr, K_CRITERIA))}."
        raise ValueError(msg)
    fits = _check_fits(Z)
    ks = _check_k_range(k_range, fits[0].shape[0], criterion)
    if isinstance(n_references, bool) or not isinstance(n_references, numbers.Integral):
        n_references = 0
    if criterion == "gap" and n_references < 2:
        msg = f"n_references must be an integer >= 2, got {n_references!r}."
        raise ValueError(msg)
    _check_tolerance(tolerance, criterion)
    _warn_if_inseparable(fits, ks)

    if criterion == "gmeans":
        chosen = sorted(_gmeans_k(F, ks, method, random_state) for F in fits)
        best_k = chosen[(len(chosen) - 1) // 2]  # the lower median
        scores = {k: chosen.count(k) / len(chosen) for k in ks}
        logger.debug("G-means chose %s; took k=%d.", chosen, best_k)
        return best_k, scores

    if criterion == "gap":
        per_fit = [_gap(F, ks, method, random_state, int(n_references)) for F in fits]
        scores = {k: float(np.mean([gap[k] for gap, _ in per_fit])) for k in ks}
        error = {k: float(np.mean([err[k] for _, err in per_fit])) for k in ks}
        passing = [
            k for k, nxt in zip(ks, ks[1:], strict=False) if scores[k] >= scores[nxt] - error[nxt]
        ]
        best_k = passing[0] if passing else max(ks, key=lambda k: (scores[k], -k))
        logger.debug("Gap %s, standard errors %s; chose k=%d.", scores, error, best_k)
        return best_k, scores

    scores, errors = {}, {}
    for k in ks:
        per_fit = [_score_at_k(F, k, criterion, method, random_state) for F in fits]
        if criterion == "silhouette" and all(s is not None for s in per_fit):
            per_gene = np.mean(per_fit, axis=0)  # each gene's silhouette, averaged over fits
            scores[k] = float(per_gene.mean())
            errors[k] = float(per_gene.std() / np.sqrt(per_gene.size))
        elif criterion == "silhouette":  # a single cluster in some fit
            scores[k] = -np.inf
        else:
            scores[k] = float(np.mean(per_fit))
    sign = 1.0 if K_CRITERIA[criterion] == "higher" else -1.0
    best_k = max(ks, key=lambda k: (sign * scores[k], -k))
    if tolerance > 0 and best_k in errors:  # walk up from the best while within tolerance
        floor = scores[best_k] - tolerance * errors[best_k]
        for k in ks[ks.index(best_k) + 1 :]:
            if scores[k] < floor:
                break
            best_k = k
    logger.debug("%s scores %s; chose k=%d.", criterion, scores, best_k)
    return best_k, scores


def choose_k_gmeans(
    points,
    silhouette_points=None,
    k_range: Iterable[int] | None = None,
    window: float = DEFAULT_GMEANS_WINDOW,
    method: str = "kmeans",
    random_state: int | np.random.RandomState | None = 0,
    return_window: bool = False,
) -> tuple[int, dict[int, float]] | tuple[int, dict[int, float], tuple[int, int]]:
    """Choose k by G-means, kept within the range of k that the silhouette admits.

    :class:`~rvagene.GeneClustering`'s rule with ``k_criterion="gmeans"`` (its default). G-means
    (``choose_k(points, k_range, "gmeans")``) splits a cluster while it does not look
    Gaussian; it finds groups of very unequal size that lie close together, where the
    silhouette merges them, but it also splits a continuum of genes that is not Gaussian.
    The silhouette says where such splits stop being supported: k is kept between the k of
    the best mean silhouette of ``silhouette_points`` and the k that ``choose_k``'s
    ``tolerance`` walk reaches at ``window`` standard errors (each averaged over the point
    sets given).

    Parameters
    ----------
    points : array-like of shape (n_genes, n_dims), or a list of them
        The point sets G-means runs on (the pipeline: every fit's points in every clustering
        space); the lower median of their k is taken.
    silhouette_points : array-like or list of them, optional
        The point sets of the same genes whose silhouettes set the window (the pipeline: the
        fits' latent means). Default: ``points``.
    k_range : iterable of int, optional
        Candidate k, each between 2 and ``n_genes - 1``. Default: 2 to 15, or fewer.
    window : float, default=4.0
        Standard errors of the best mean silhouette that the window's upper end may lie
        below (``tolerance`` of :func:`choose_k`). On the pipeline's own fits, cached for
        seeds 0-5, 4 brought k within one of the truth in 32 of 36 trials on the hard
        suite's cases of 4 to 10 groups and 46 of 54 on 9 other cases; 6 gave 33 and 45, 2
        gave 28 and 46; the silhouette alone with a tolerance of 2, 27 and 36. Run by the
        pipeline on the same seeds: 31 of 36 and 34 of 39 against 27 and 27, at a higher
        mean ARI (docs/results.md, "Choosing k by G-means within the silhouette's window").
    method : {"kmeans", "minibatch"}, default="kmeans"
    random_state : int, RandomState instance or None, default=0
    return_window : bool, default=False
        Also return the window.

    Returns
    -------
    k : int
    scores : dict of int to float
        G-means' scores (the share of ``points``' sets that chose each k).
    window : tuple of int
        Only with ``return_window``: the lowest and highest k the silhouette admits; ``k``
        is G-means' choice clipped into them.

    Raises
    ------
    ValueError
        As :func:`choose_k`, if ``window`` is not a number >= 0, or if ``silhouette_points``
        holds another number of genes than ``points``.

    References
    ----------
    Hamerly & Elkan (2003) Learning the k in k-means, NIPS 16; Rousseeuw (1987).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(c, 0.3, size=(30, 2)) for c in (0, 4, 8)])
    >>> choose_k_gmeans([Z, Z + rng.normal(0, 0.1, Z.shape)], k_range=range(2, 7))[0]
    3
    >>> choose_k_gmeans(Z, k_range=range(2, 7), return_window=True)[2]
    (3, 3)
    """
    if not _is_real_at_least(window, 0.0):
        msg = f"window must be a number >= 0 (standard errors), got {window!r}."
        raise ValueError(msg)
    points = _check_fits(points)
    n_genes = points[0].shape[0]
    ks = _check_k_range(k_range, n_genes, "silhouette")
    k_gmeans, scores = choose_k(points, ks, "gmeans", method, random_state)
    silhouette_points = points if silhouette_points is None else _check_fits(silhouette_points)
    if silhouette_points[0].shape[0] != n_genes:
        msg = (
            f"silhouette_points must hold the same genes as points; got "
            f"{silhouette_points[0].shape[0]} rows against {n_genes}."
        )
        raise ValueError(msg)
    high, silhouettes = choose_k(silhouette_points, ks, "silhouette", method,
                                 random_state, tolerance=float(window))  # fmt: skip
    low = max(silhouettes, key=lambda k: (silhouettes[k], -k))  # choose_k's best: ties low
    k = int(np.clip(k_gmeans, low, high))
    logger.debug("G-means chose %d; the silhouette's window is %d..%d; k=%d.", k_gmeans, low,
                 high, k)  # fmt: skip
    if return_window:
        return k, scores, (int(low), int(high))
    return k, scores


def _anderson_darling(values: np.ndarray) -> float:
    """The Anderson-Darling statistic of ``values`` against a fitted normal, corrected.

    The normal has the values' mean and variance; the small-sample correction is
    A*^2 = A^2 (1 + 4/n - 25/n^2), as in Hamerly & Elkan (2003).
    """
    from scipy.stats import norm

    n = values.size
    w = np.sort((values - values.mean()) / values.std(ddof=1))
    weights = (2.0 * np.arange(1, n + 1) - 1.0) / n
    a2 = -n - float(np.sum(weights * (norm.logcdf(w) + norm.logsf(w[::-1]))))
    return a2 * (1.0 + 4.0 / n - 25.0 / n**2)


def _gmeans_k(Z: np.ndarray, ks: list[int], method: str, random_state) -> int:
    """The number of clusters G-means reaches on ``Z``, clipped into ``ks``.

    From one cluster, every cluster of at least ``_GMEANS_MIN_SIZE`` points is split in two
    by K-means; the split is kept when the points, projected on the line through the two
    centres, fail the normality test (``_GMEANS_CRITICAL``). K-means then runs on all points
    from the kept centres, until no cluster splits or ``max(ks)`` is reached.
    """
    labels = np.zeros(Z.shape[0], dtype=np.int64)
    centres = Z.mean(axis=0, keepdims=True)
    while centres.shape[0] < ks[-1]:
        kept = []
        for j, centre in enumerate(centres):
            members = Z[labels == j]
            if members.shape[0] < _GMEANS_MIN_SIZE:
                kept.append(centre)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                two = cluster_latent(members, 2, method=method, random_state=random_state)
            projected = members @ (two.cluster_centers_[0] - two.cluster_centers_[1])
            if np.ptp(projected) > 0 and _anderson_darling(projected) > _GMEANS_CRITICAL:
                kept.extend(two.cluster_centers_)
            else:
                kept.append(members.mean(axis=0))
        if len(kept) == centres.shape[0]:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            km = KMeans(len(kept), init=np.asarray(kept), n_init=1).fit(Z)
        labels, centres = km.labels_, km.cluster_centers_
    return int(np.clip(centres.shape[0], ks[0], ks[-1]))


def _check_fits(Z) -> list[np.ndarray]:
    """``Z`` as a list of checked point sets of the same genes: one array, or one per fit."""
    if isinstance(Z, list | tuple) and len(Z) and np.ndim(Z[0]) == 2:
        return _check_same_genes(Z)
    return [_check_latent(Z)]


def _n_distinct(point_sets) -> int:
    """Genes whose points differ in at least one point set: at most that many clusters.

    Each point set is divided by its largest absolute value and rounded to 6 decimals, so
    points that differ by rounding only count as one: genes of one shape at other levels
    and scales (float32 codes differ by about 1e-7), which K-means would split on that
    rounding. Two such points on either side of a rounding boundary still count as two.
    """
    columns = []
    for points in point_sets:
        points = np.asarray(points, dtype=np.float64)
        scale = np.abs(points).max(initial=0.0)
        columns.append(np.round(points / scale, 6) + 0.0 if scale > 0 else points)  # no -0
    return int(np.unique(np.hstack(columns), axis=0).shape[0])


def _warn_if_inseparable(fits: list[np.ndarray], ks: list[int]) -> None:
    """Warn when the points hold fewer distinct rows than the smallest k tried."""
    m = _n_distinct(fits)
    if m >= ks[0]:
        return
    fix = "they are one cluster" if m == 1 else f"try k_range up to {m}"
    msg = (
        f"The {fits[0].shape[0]} points hold only {m} distinct point(s), fewer than the "
        f"smallest k tried ({ks[0]}): they do not separate into that many clusters, so "
        f"every score is degenerate and k={ks[0]} (the smallest tried) is no choice: {fix} "
        "(identical genes give identical points)."
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _check_same_genes(point_sets) -> list[np.ndarray]:
    """Each point set checked (:func:`_check_latent`), all with the same number of genes."""
    point_sets = [_check_latent(Z) for Z in point_sets]
    sizes = sorted({Z.shape[0] for Z in point_sets})
    if len(sizes) > 1:
        msg = f"Every point set must hold the same genes; got {sizes} rows."
        raise ValueError(msg)
    return point_sets


def _score_at_k(Z, k: int, criterion: str, method: str, random_state):
    """One point set's score at k; for the silhouette, the per-gene silhouettes.

    ``None`` (silhouette) or the worst value (other criteria) when K-means finds one cluster.
    """
    if criterion == "bic":
        gmm = GaussianMixture(k, covariance_type="full", n_init=3, random_state=random_state)
        return float(gmm.fit(Z).bic(Z))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        labels = cluster_latent(Z, k, method=method, random_state=random_state).labels_
    if np.unique(labels).size < 2:  # every index is undefined for a single cluster
        if criterion == "silhouette":
            return None
        return -np.inf if K_CRITERIA[criterion] == "higher" else np.inf
    if criterion == "silhouette":
        return silhouette_samples(Z, labels)
    if criterion == "calinski_harabasz":
        return float(calinski_harabasz_score(Z, labels))
    return float(davies_bouldin_score(Z, labels))


def _check_tolerance(tolerance, criterion: str) -> None:
    """choose_k's tolerance: a number >= 0, and positive only for the silhouette."""
    if not _is_real_at_least(tolerance, 0.0):
        msg = f"tolerance must be a number >= 0 (standard errors), got {tolerance!r}."
        raise ValueError(msg)
    if tolerance > 0 and criterion != "silhouette":
        msg = f"tolerance applies to criterion='silhouette' only; got {criterion!r}. Use 0."
        raise ValueError(msg)


def cluster_covariances(
    Z,
    labels,
    n_clusters: int | None = None,
    variance=None,
    shrinkage: str = "ledoit-wolf",
) -> np.ndarray:
    """Each cluster's own spread in the latent space, as a covariance matrix.

    The covariance of cluster i is that of the latent means of its members (``labels == i``),
    shrunk towards a scaled identity by Ledoit-Wolf so that it is well conditioned even when a
    cluster has fewer members than latent dimensions. With ``variance`` (the encoder's
    posterior variances) the members' mean posterior variance is added on the diagonal, so the
    spread also covers the encoder's uncertainty about each member.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length)
        Latent means, e.g. ``RVAgene.transform(X)``.
    labels : array-like of shape (n_genes,)
        Cluster of each gene, integers in ``[0, n_clusters)``, e.g.
        ``cluster_latent(Z, k).labels_``.
    n_clusters : int, optional
        Number of clusters; ``labels.max() + 1`` by default. Give it when the last clusters
        may be empty.
    variance : array-like of shape (n_genes, latent_length), optional
        Posterior variances, e.g. ``RVAgene.latent_posterior(X)[1]``.
    shrinkage : {"ledoit-wolf", "none"}, default="ledoit-wolf"
        ``"none"``: the plain (maximum-likelihood) covariance of the members.

    Returns
    -------
    covariances : ndarray of shape (n_clusters, latent_length, latent_length)
        Symmetric positive semi-definite. A cluster with fewer than 2 members gets the pooled
        within-cluster covariance of all clusters, or that of all points when no cluster has
        2 members (and a warning says which).

    Raises
    ------
    ValueError
        If ``Z`` is not a finite 2-D array, ``labels`` or ``variance`` do not match it, a label
        is out of range, or ``shrinkage`` is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(0, 0.1, (20, 2)), rng.normal(5, 1.0, (20, 2))])
    >>> cov = cluster_covariances(Z, np.repeat([0, 1], 20))
    >>> cov.shape
    (2, 2, 2)
    >>> bool(np.trace(cov[0]) < np.trace(cov[1]))
    True
    """
    Z = _check_latent(Z)
    labels, n_clusters = _check_labels(labels, Z.shape[0], n_clusters)
    if shrinkage not in ("ledoit-wolf", "none"):
        msg = f"Unknown shrinkage {shrinkage!r}. Use 'ledoit-wolf' or 'none'."
        raise ValueError(msg)
    if variance is not None:
        variance = _check_variance(variance, Z, "Z")

    def covariance(points: np.ndarray) -> np.ndarray:
        if shrinkage == "none":
            return EmpiricalCovariance().fit(points).covariance_
        return LedoitWolf().fit(points).covariance_

    d = Z.shape[1]
    sizes = np.bincount(labels, minlength=n_clusters)
    out = np.empty((n_clusters, d, d))
    small = [i for i in range(n_clusters) if sizes[i] < 2]
    if small:
        members = sizes[labels] >= 2
        if members.sum() >= 2:
            means = np.zeros((n_clusters, d))
            for i in np.flatnonzero(sizes >= 2):
                means[i] = Z[labels == i].mean(axis=0)
            pooled = covariance(Z[members] - means[labels[members]])
            spread = "the pooled within-cluster spread"
        else:  # no cluster has two members: the spread of all genes is all there is
            pooled = covariance(Z) if Z.shape[0] >= 2 else np.zeros((d, d))
            spread = "the spread of all points (no cluster has 2 members)"
        warnings.warn(
            f"Clusters {small} have fewer than 2 members; they get {spread}.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
    for i in range(n_clusters):
        inside = labels == i
        out[i] = covariance(Z[inside]) if sizes[i] >= 2 else pooled
        if variance is not None:
            var = variance[inside].mean(axis=0) if sizes[i] else variance.mean(axis=0)
            out[i] += np.diag(var)
    return out


def sample_around_centres(
    centres,
    n_samples: int = 20,
    scale: float | None = None,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
    covariance=None,
) -> np.ndarray:
    """Draw latent points around each cluster centre, from N(centre, covariance).

    Parameters
    ----------
    centres : array-like of shape (n_centres, latent_length)
        Cluster centres, e.g. ``cluster_latent(Z, k).cluster_centers_``. A single centre of
        shape ``(latent_length,)`` is accepted as one row.
    n_samples : int, default=20
        Points per centre (20 in the original).
    scale : float, optional
        Isotropic spread: the covariance is ``scale * I``, so ``scale`` is the variance of
        each latent coordinate and ``sqrt(scale)`` its standard deviation. This is what the
        original's ``np.random.multivariate_normal(centre, np.identity(d) * 0.3)`` meant by
        0.3, the value used when neither ``scale`` nor ``covariance`` is given.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed or generator. ``None`` draws fresh entropy. numpy's global RNG is never used.
    covariance : array-like of shape (n_centres, latent_length, latent_length) or \
(latent_length, latent_length), optional
        One covariance per centre (or one for all), e.g. from :func:`cluster_covariances`:
        each cluster's own spread. Give either ``scale`` or ``covariance``, not both.

    Returns
    -------
    samples : ndarray of shape (n_centres, n_samples, latent_length)
        ``samples[i]`` are the points drawn around ``centres[i]``; decode
        ``samples.reshape(-1, latent_length)`` to get trajectories.

    Examples
    --------
    >>> import numpy as np
    >>> centres = np.array([[0.0, 0.0, 0.0], [3.0, 3.0, 3.0]])
    >>> sample_around_centres(centres, n_samples=5, random_state=0).shape
    (2, 5, 3)
    >>> tight = sample_around_centres(centres, 1000, covariance=0.01 * np.eye(3), random_state=0)
    >>> bool(np.abs(tight[0]).max() < 1)
    True
    """
    centres = np.asarray(centres, dtype=float)
    if centres.ndim == 1:
        centres = centres[np.newaxis, :]
    if centres.ndim != 2:
        msg = f"centres must have shape (n_centres, latent_length), got {centres.shape}."
        raise ValueError(msg)
    _check_centres_and_samples(centres, n_samples)
    n_centres, latent_length = centres.shape
    if covariance is not None and scale is not None:
        msg = "Give either scale (isotropic) or covariance (per cluster), not both."
        raise ValueError(msg)
    if covariance is None:
        scale = DEFAULT_SCALE if scale is None else scale
        if not (
            isinstance(scale, numbers.Real)
            and not isinstance(scale, bool)
            and np.isfinite(scale)
            and scale >= 0
        ):
            msg = f"scale (the variance per latent coordinate) must be >= 0, got {scale!r}."
            raise ValueError(msg)
    rng = _as_generator(random_state)
    noise = rng.standard_normal(size=(n_centres, int(n_samples), latent_length))
    if covariance is None:
        return centres[:, np.newaxis, :] + np.sqrt(scale) * noise
    factors = _covariance_factors(covariance, n_centres, latent_length)  # (k, d, d)
    return centres[:, np.newaxis, :] + noise @ factors.transpose(0, 2, 1)


def _covariance_factors(covariance, n_centres: int, latent_length: int) -> np.ndarray:
    """Matrices L with L L^T = covariance, one per centre, or a ValueError naming the fix."""
    cov = np.asarray(covariance, dtype=float)
    d = latent_length
    if cov.shape == (d, d):
        cov = np.broadcast_to(cov, (n_centres, d, d))
    if cov.shape != (n_centres, d, d):
        msg = (
            f"covariance must have shape ({n_centres}, {d}, {d}) (one per centre) or "
            f"({d}, {d}), got {cov.shape}."
        )
        raise ValueError(msg)
    if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.transpose(0, 2, 1)):
        msg = "covariance must be finite and symmetric."
        raise ValueError(msg)
    values, vectors = np.linalg.eigh(cov)
    if np.any(values < -1e-8 * np.maximum(1.0, np.abs(values).max(axis=1, keepdims=True))):
        msg = "covariance must be positive semi-definite (a covariance matrix)."
        raise ValueError(msg)
    return vectors * np.sqrt(np.clip(values, 0.0, None))[:, np.newaxis, :]


def membership_probabilities(
    mean,
    variance,
    centres,
    n_samples: int = 1000,
    random_state: int | np.random.Generator | np.random.RandomState | None = 0,
) -> np.ndarray:
    """Probability that each gene belongs to each cluster, from its latent posterior.

    For gene i, ``n_samples`` latent points are drawn from the encoder's posterior
    ``N(mean[i], diag(variance[i]))`` and each is assigned to its nearest centre, as K-means
    assigns points; the share of draws that land with centre j is the probability that gene i
    belongs to cluster j. The draws come in antithetic pairs ``mean ± sd * eps``, which halves
    the Monte Carlo noise near a boundary and gives exactly 0.5 / 0.5 to a gene whose mean lies
    midway between two centres. A gene whose posterior sits well inside one cell gets ~1 for
    that cluster, so ``probabilities.max(axis=1)`` is a confidence in the hard assignment.

    Parameters
    ----------
    mean : array-like of shape (n_genes, latent_length)
        Posterior means, e.g. the first output of ``RVAgene.latent_posterior(X)``.
    variance : array-like of shape (n_genes, latent_length)
        Posterior variances (non-negative), the second output of ``latent_posterior``.
    centres : array-like of shape (n_clusters, latent_length)
        Cluster centres, e.g. ``cluster_latent(mean, k).cluster_centers_``.
    n_samples : int, default=1000
        Posterior draws per gene (rounded up to an even number); the standard error of a
        probability p is at most ``sqrt(p (1 - p) / n_samples)``, 0.016 at the default.
    random_state : int, numpy Generator, RandomState or None, default=0
        Seed of the draws. numpy's global RNG is never used.

    Returns
    -------
    probabilities : ndarray of shape (n_genes, n_clusters)
        Rows sum to 1. ``probabilities[i].argmax()`` is the nearest centre of most draws. It
        is the hard assignment of ``mean[i]`` when the posterior is narrow compared with the
        distances between centres (as after training); a wide posterior (an untrained model)
        spreads its draws, favours clusters with large cells and gives low confidence.

    Notes
    -----
    Why sampling and not a Gaussian mixture: the clusters are K-means clusters of the latent
    means, so the question is how sure the encoder is that the gene falls in its K-means cell.
    A mixture fitted to the means would answer another question (how well the means fit
    Gaussian blobs) and ignore the encoder's own uncertainty. A variance of 0 gives a one-hot
    row, the hard assignment.

    Examples
    --------
    >>> import numpy as np
    >>> centres = np.array([[-1.0, 0.0], [1.0, 0.0]])
    >>> mean = np.array([[-1.0, 0.0], [0.0, 0.0]])
    >>> p = membership_probabilities(mean, np.full((2, 2), 0.01), centres)
    >>> p.round(2).tolist()
    [[1.0, 0.0], [0.5, 0.5]]
    """
    mean = _check_latent(mean)
    variance = _check_variance(variance, mean, "mean")
    centres = np.asarray(centres, dtype=float)
    if centres.ndim != 2 or centres.shape[0] == 0 or centres.shape[1] != mean.shape[1]:
        msg = (
            f"centres must have shape (n_clusters, {mean.shape[1]}) to match mean, "
            f"got {centres.shape}."
        )
        raise ValueError(msg)
    _check_centres_and_samples(centres, n_samples)
    rng = _as_generator(random_state)
    n_genes, latent_length = mean.shape
    k = centres.shape[0]
    half = (int(n_samples) + 1) // 2
    sd = np.sqrt(variance)
    probabilities = np.empty((n_genes, k))
    chunk = max(1, 4_000_000 // (2 * half * max(k, latent_length)))  # bounds memory
    for start in range(0, n_genes, chunk):
        stop = min(start + chunk, n_genes)
        eps = rng.standard_normal(size=(stop - start, half, latent_length))
        spread = sd[start:stop, np.newaxis, :] * eps
        draws = mean[start:stop, np.newaxis, :] + np.concatenate([spread, -spread], axis=1)
        # squared distance to each centre up to the draw's own |z|^2: (genes, draws, clusters)
        d2 = (centres**2).sum(axis=1) - 2.0 * draws @ centres.T
        nearest = d2.argmin(axis=-1)  # (genes, draws)
        counts = (nearest[:, :, np.newaxis] == np.arange(k)).sum(axis=1)
        probabilities[start:stop] = counts / nearest.shape[1]
    return probabilities


def clustering_scores(labels_true, labels_pred) -> dict[str, float]:
    """Agreement between two labellings: adjusted Rand index and normalised mutual information.

    Parameters
    ----------
    labels_true : array-like of shape (n_genes,)
        Reference labels (e.g. the simulated clusters, or up/down regulation).
    labels_pred : array-like of shape (n_genes,)
        Predicted labels (e.g. ``cluster_latent(Z, k).labels_``). A label of -1
        (:class:`GeneClustering`'s flat genes) is scored as one more group; ``train_and_gen.py``
        scores the genes it clustered only: ``keep = clusters >= 0``, then
        ``clustering_scores(labels[keep], clusters[keep])``.

    Returns
    -------
    scores : dict
        ``{"ari": float, "nmi": float}``; both are 1.0 for identical partitions whatever the
        label names.

    Examples
    --------
    >>> clustering_scores([0, 0, 1, 1], [1, 1, 0, 0])
    {'ari': 1.0, 'nmi': 1.0}
    """
    labels_true = np.asarray(labels_true).ravel()
    labels_pred = np.asarray(labels_pred).ravel()
    if labels_true.shape != labels_pred.shape:
        msg = (
            f"labels_true has {labels_true.size} entries but labels_pred has "
            f"{labels_pred.size}; they must label the same genes."
        )
        raise ValueError(msg)
    return {
        "ari": float(adjusted_rand_score(labels_true, labels_pred)),
        "nmi": float(normalized_mutual_info_score(labels_true, labels_pred)),
    }


def coassociation_matrix(labelings) -> np.ndarray:
    """Share of labelings in which each pair of genes falls in the same cluster.

    Parameters
    ----------
    labelings : sequence of array-like of shape (n_genes,)
        Cluster labels of the same genes from several clusterings (e.g. K-means on the latent
        means of several fits); label names need not agree between labelings.

    Returns
    -------
    C : ndarray of shape (n_genes, n_genes)
        Symmetric, entries in [0, 1], ones on the diagonal.

    Examples
    --------
    >>> coassociation_matrix([[0, 0, 1], [1, 1, 0], [0, 1, 1]]).round(2).tolist()
    [[1.0, 0.67, 0.0], [0.67, 1.0, 0.33], [0.0, 0.33, 1.0]]
    """
    labelings = [np.asarray(labels).ravel() for labels in labelings]
    if not labelings:
        msg = "labelings is empty; give the labels of at least one clustering."
        raise ValueError(msg)
    n = labelings[0].size
    if any(labels.size != n for labels in labelings):
        sizes = sorted({labels.size for labels in labelings})
        msg = f"Every labeling must label the same genes; got lengths {sizes}."
        raise ValueError(msg)
    # One indicator column per cluster of every labeling: C counts the shared columns.
    onehot = np.hstack(
        [np.eye(codes.max() + 1, dtype=np.float32)[codes] for codes in map(_codes, labelings)]
    )
    return (onehot @ onehot.T).astype(np.float64) / len(labelings)


def _codes(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0..m-1 (any hashable label names)."""
    return np.unique(labels, return_inverse=True)[1].ravel()


CONSENSUS_METHODS = ("coassociation", "concat")
CONSENSUS_RUNS = 160  # K-means runs per space in the co-association (see consensus_clusters)


def consensus_clusters(
    latents,
    n_clusters: int,
    method: str = "coassociation",
    random_state: int | np.random.RandomState | None = 0,
    n_runs: int = CONSENSUS_RUNS,
) -> np.ndarray:
    """One clustering of the genes from the latent spaces of several fits.

    Each RVAgene fit (one per seed) gives its own latent space, and K-means on one of them
    depends on the seed. A consensus over several fits targets that spread:

    - ``"coassociation"`` (evidence accumulation, Fred & Jain 2005): ``n_runs`` K-means
      runs with ``n_clusters`` on each latent space, each from one k-means++ start, the
      share of runs in which each pair of genes is clustered together
      (:func:`coassociation_matrix`), then average-linkage agglomerative clustering on
      ``1 - share`` cut at ``n_clusters`` clusters. Single starts land in different local
      minima, so the share also measures how firmly K-means puts two genes together; a
      large group that K-means splits in a different place on every run stays together;
    - ``"concat"``: each latent space standardised (every coordinate to mean 0 and standard
      deviation 1, then divided by the square root of the latent size, so each fit weighs the
      same), the spaces placed side by side, and K-means on the result.

    Parameters
    ----------
    latents : sequence of array-like of shape (n_genes, latent_length)
        Latent means of the same genes, e.g. ``[m.transform(X) for m in rvagene.fit_ensemble(X)]``.
        Latent sizes may differ between fits.
    n_clusters : int
        Number of clusters, between 1 and ``n_genes``.
    method : {"coassociation", "concat"}, default="coassociation"
    random_state : int, RandomState instance or None, default=0
        Seed of the K-means runs.
    n_runs : int, default=160
        K-means runs per latent space for ``"coassociation"``, each from one start; 1 runs
        K-means once per space with 10 starts (the consensus before 160 became the default).
        On the hard quality suite's cases that the model clusters, 160 runs raised the
        pipeline's mean ARI, most on a case whose groups are of very unequal size, and 40
        runs left that case's result to chance (docs/results.md, "Many single-start runs in
        the consensus"). Ignored by ``"concat"``.

    Returns
    -------
    labels : ndarray of shape (n_genes,)
        Cluster of each gene, 0 to ``n_clusters - 1``.

    References
    ----------
    Fred, A. L. N., Jain, A. K. "Combining multiple clusterings using evidence
    accumulation." IEEE TPAMI 27(6), 835-850 (2005). Monti, S. et al. "Consensus
    clustering." Machine Learning 52, 91-118 (2003).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth = np.repeat([0, 1, 2], 10)
    >>> latents = [rng.normal(truth[:, None] * 3, 1.0, (30, 2)) for _ in range(5)]
    >>> labels = consensus_clusters(latents, 3)
    >>> clustering_scores(truth, labels)["ari"]
    1.0
    """
    if method not in CONSENSUS_METHODS:
        msg = f"Unknown consensus method {method!r}. Use 'coassociation' or 'concat'."
        raise ValueError(msg)
    if isinstance(latents, np.ndarray) and latents.ndim == 2:
        latents = [latents]
    latents = _check_same_genes(latents)
    if not latents:
        msg = "latents is empty; give the latent means of at least one fit."
        raise ValueError(msg)
    n = latents[0].shape[0]
    rng = check_random_state(random_state)
    if method == "concat":
        parts = []
        for Z in latents:
            sd = Z.std(axis=0)
            parts.append((Z - Z.mean(axis=0)) / np.where(sd > 0, sd, 1.0) / np.sqrt(Z.shape[1]))
        return cluster_latent(np.hstack(parts), n_clusters, random_state=rng).labels_
    if isinstance(n_runs, bool) or not isinstance(n_runs, numbers.Integral) or n_runs < 1:
        msg = f"n_runs must be an integer >= 1, got {n_runs!r}."
        raise ValueError(msg)
    if n_clusters == 1:
        return np.zeros(n, dtype=np.int64)
    n_init = None if n_runs == 1 else 1  # one run: K-means' own 10 starts
    if n_clusters == n:  # every gene its own cluster, whatever the runs
        return cluster_latent(latents[0], n, n_init=n_init, random_state=rng).labels_
    labelings = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty cluster is allowed here
        for Z in latents:
            labelings += [
                cluster_latent(Z, n_clusters, n_init=n_init, random_state=rng).labels_
                for _ in range(int(n_runs))
            ]
    distance = 1.0 - coassociation_matrix(labelings)
    agglomerative = AgglomerativeClustering(
        n_clusters=n_clusters, metric="precomputed", linkage="average"
    )
    return agglomerative.fit_predict(distance)


class ClusterMatch(NamedTuple):
    """Clusters renumbered to agree with known labels (see :func:`match_clusters`)."""

    #: ``numbering[c]`` is the number cluster ``c`` is shown as; shown = numbering[assigned].
    numbering: np.ndarray
    #: The label matched with each shown cluster (None for a cluster left unmatched).
    labels: list


def _plain(value):
    """A numpy scalar as a Python value; an object array's element (a str) as it is."""
    return value.item() if isinstance(value, np.generic) else value


def match_clusters(assignments, labels, n_clusters: int | None = None) -> ClusterMatch:
    """Renumber clusters to agree with known labels (the Hungarian method).

    The clusters are paired one to one with the labels so that the number of genes whose
    cluster and label are paired is largest (``scipy.optimize.linear_sum_assignment`` on
    the cluster x label counts). Paired clusters are numbered in the order of their labels
    (sorted), the others after them, so the cluster holding true cluster 0's genes is shown
    as cluster 0. Only the numbering changes; :func:`rvagene.plotting.matched_colors` gives
    each shown cluster its label's colour.

    Parameters
    ----------
    assignments : array-like of int, shape (n_genes,)
        Cluster of each gene, ``0 .. n_clusters - 1``. A negative assignment (-1, a flat
        gene of :attr:`rvagene.GeneClustering.labels_`) is in no cluster: the gene is left
        out of the pairing.
    labels : array-like of shape (n_genes,)
        Known label of each gene (any sortable values).
    n_clusters : int, optional
        Number of clusters (default: ``max(assignments) + 1``), for clusters without genes;
        at least ``max(assignments) + 1``.

    Returns
    -------
    ClusterMatch
        ``numbering`` (int array of shape (n_clusters,)): cluster ``c`` is shown as
        ``numbering[c]``; ``labels``: the label paired with each shown cluster (None when
        unpaired).

    Raises
    ------
    ValueError
        If ``labels`` and ``assignments`` differ in length, or ``n_clusters`` is below
        ``max(assignments) + 1``.

    Examples
    --------
    >>> m = match_clusters([2, 2, 0, 0, 1, 1], ["a", "a", "b", "b", "c", "c"])
    >>> m.numbering.tolist(), m.labels
    ([1, 2, 0], ['a', 'b', 'c'])
    >>> match_clusters([-1, -1, 0, 1], ["a", "a", "b", "c"]).labels  # -1: a flat gene
    ['b', 'c']
    """
    from scipy.optimize import linear_sum_assignment

    assignments = np.asarray(assignments).ravel().astype(int)
    labels = np.asarray(labels).ravel()
    if labels.shape != assignments.shape:
        msg = f"labels has {labels.size} entries but assignments has {assignments.size}."
        raise ValueError(msg)
    clustered = assignments >= 0  # a negative assignment (a flat gene) is in no cluster
    assignments, labels = assignments[clustered], labels[clustered]
    top = int(assignments.max()) + 1 if assignments.size else 0
    k = top if n_clusters is None else int(n_clusters)
    if k < top:
        msg = (
            f"assignments go up to cluster {top - 1}, but n_clusters is {k}; give "
            f"n_clusters={top} or more (or leave it out)."
        )
        raise ValueError(msg)
    uniq, label_index = np.unique(labels, return_inverse=True)
    counts = np.zeros((k, uniq.size), dtype=int)
    np.add.at(counts, (assignments, label_index), 1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    paired = dict(zip(rows.tolist(), cols.tolist(), strict=True))
    order = sorted(paired, key=paired.get) + [c for c in range(k) if c not in paired]
    numbering = np.empty(k, dtype=int)
    numbering[order] = np.arange(k)
    shown = [_plain(uniq[paired[c]]) if c in paired else None for c in order]
    return ClusterMatch(numbering, shown)

"""Clustering genes in the latent space and generating new trajectories around cluster centres.

RVAgene (Mitra & MacLean 2021) clusters genes by running K-means on the latent means of
their expression series, then generates new cluster-specific trajectories by decoding latent
points drawn around each cluster centre. This module holds the numpy/scikit-learn half of that
workflow; decoding is done by :meth:`rvagene.RVAgene.decode`.

What the original ``train_and_gen.py`` did, and what is kept here:

- ``MiniBatchKMeans(n_clusters=6, random_state=0, batch_size=6, max_iter=10)`` on the latent
  means, with the number of clusters hard-coded (``method="minibatch"`` reproduces it; the
  default ``method="kmeans"`` uses full K-means with several initialisations, which recovered
  the true clusters more reliably in our measurements: ARI 0.80-1.00 against 0.76-0.77);
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

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import (
    adjusted_rand_score,
    normalized_mutual_info_score,
    silhouette_score,
)

logger = logging.getLogger(__name__)

__all__ = [
    "choose_n_clusters",
    "cluster_latent",
    "clustering_scores",
    "sample_around_centres",
]

# The original's MiniBatchKMeans settings (train_and_gen.py).
_MINIBATCH_BATCH_SIZE = 6
_MINIBATCH_MAX_ITER = 10
# scikit-learn's MiniBatchKMeans default n_init when the original was written (before 1.4).
_MINIBATCH_N_INIT = 3


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


def _as_generator(random_state) -> np.random.Generator | np.random.RandomState:
    """Turn ``random_state`` into a generator without ever using numpy's global RNG."""
    if random_state is None:
        return np.random.default_rng()  # fresh OS entropy, global state untouched
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    msg = (
        "random_state must be None, an int, a numpy Generator or a RandomState, "
        f"got {type(random_state).__name__}."
    )
    raise ValueError(msg)


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
            stacklevel=2,
        )
    logger.debug(
        "Clustered %d points into %d clusters (%d non-empty) with %s.",
        n_points,
        n_clusters,
        n_nonempty,
        method,
    )
    return estimator


def choose_n_clusters(
    Z,
    candidates: Iterable[int] = range(2, 11),
    method: str = "kmeans",
    random_state: int | np.random.RandomState | None = 0,
) -> tuple[int, dict[int, float]]:
    """Pick the number of clusters with the best silhouette score.

    The original tool hard-coded 6 clusters; this offers a data-driven choice.

    Parameters
    ----------
    Z : array-like of shape (n_genes, latent_length)
        Latent means.
    candidates : iterable of int, default=range(2, 11)
        Numbers of clusters to try. Values outside ``[2, n_genes - 1]`` (where the silhouette
        is undefined) are skipped.
    method : {"kmeans", "minibatch"}, default="kmeans"
        Passed to :func:`cluster_latent`.
    random_state : int, RandomState instance or None, default=0
        Passed to :func:`cluster_latent`.

    Returns
    -------
    best_k : int
        The candidate with the highest silhouette score (the smallest one on ties).
    scores : dict of int to float
        Silhouette score of each candidate tried.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> Z = np.concatenate([rng.normal(c, 0.1, size=(10, 2)) for c in (0, 5, 10)])
    >>> best_k, scores = choose_n_clusters(Z, candidates=[2, 3, 4])
    >>> best_k
    3
    """
    Z = _check_latent(Z)
    n_points = Z.shape[0]
    ks = sorted({int(k) for k in candidates if 2 <= int(k) <= n_points - 1})
    if not ks:
        msg = (
            f"No usable number of clusters among {list(candidates)!r}: the silhouette needs "
            f"2 <= k <= n_points - 1 = {n_points - 1}."
        )
        raise ValueError(msg)
    scores = {}
    for k in ks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            labels = cluster_latent(Z, k, method=method, random_state=random_state).labels_
        # Silhouette is undefined with a single non-empty cluster.
        scores[k] = float(silhouette_score(Z, labels)) if np.unique(labels).size > 1 else -1.0
    best_k = max(ks, key=lambda k: (scores[k], -k))
    logger.debug("Silhouette scores %s; chose k=%d.", scores, best_k)
    return best_k, scores


def sample_around_centres(
    centres,
    n_samples: int = 20,
    scale: float = 0.3,
    random_state: int | np.random.Generator | np.random.RandomState | None = None,
) -> np.ndarray:
    """Draw latent points around each cluster centre from N(centre, scale * I).

    Parameters
    ----------
    centres : array-like of shape (n_centres, latent_length)
        Cluster centres, e.g. ``cluster_latent(Z, k).cluster_centers_``. A single centre of
        shape ``(latent_length,)`` is accepted as one row.
    n_samples : int, default=20
        Points per centre (20 in the original).
    scale : float, default=0.3
        Variance of each latent coordinate: the covariance is ``scale * I``, so the standard
        deviation is ``sqrt(scale)``. This is what the original's
        ``np.random.multivariate_normal(centre, np.identity(d) * 0.3)`` meant by 0.3.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed or generator. ``None`` draws fresh entropy. numpy's global RNG is never used.

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
    """
    centres = np.asarray(centres, dtype=float)
    if centres.ndim == 1:
        centres = centres[np.newaxis, :]
    if centres.ndim != 2:
        msg = f"centres must have shape (n_centres, latent_length), got {centres.shape}."
        raise ValueError(msg)
    if not np.all(np.isfinite(centres)):
        msg = "centres contain NaN or infinite values."
        raise ValueError(msg)
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        msg = f"n_samples must be a positive integer, got {n_samples!r}."
        raise ValueError(msg)
    if not (isinstance(scale, numbers.Real) and np.isfinite(scale) and scale >= 0):
        msg = f"scale (the variance per latent coordinate) must be >= 0, got {scale!r}."
        raise ValueError(msg)
    rng = _as_generator(random_state)
    n_centres, latent_length = centres.shape
    noise = rng.standard_normal(size=(n_centres, int(n_samples), latent_length))
    return centres[:, np.newaxis, :] + np.sqrt(scale) * noise


def clustering_scores(labels_true, labels_pred) -> dict[str, float]:
    """Agreement between two labellings: adjusted Rand index and normalised mutual information.

    Parameters
    ----------
    labels_true : array-like of shape (n_genes,)
        Reference labels (e.g. the simulated clusters, or up/down regulation).
    labels_pred : array-like of shape (n_genes,)
        Predicted labels (e.g. ``cluster_latent(Z, k).labels_``).

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

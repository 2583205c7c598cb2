"""The analysis as one estimator: fit, cluster genes, give probabilities, generate series.

:class:`GeneClustering` is the pipeline of ``train_and_gen.py`` as a scikit-learn clusterer:

1. ``n_fits`` RVAgene models are fitted to the genes, each with its own seed drawn from
   ``random_state`` (:func:`fit_ensemble`); the fit with the lowest held-out loss is kept as
   ``model_`` (it gives the probabilities and generates);
2. the genes are placed in the clustering space (:func:`rvagene.representation.embed`,
   ``space``); without ``n_clusters``, k is chosen there by
   :func:`rvagene.cluster.choose_k_gmeans` (G-means kept within the silhouette's window);
3. one fit in one space is clustered by K-means; several fits, or both spaces
   (``space="both"``), by the co-association consensus of 160 single-start K-means runs
   on each (:func:`rvagene.cluster.consensus_clusters`); the default ``space="auto"`` takes
   ``"both"``, or, when the genes share one shape, K-means on the slopes of their z-scored
   series (``"slopes"``, a space of the data);
4. each gene gets a probability per cluster from its latent posterior, in the same space
   (:func:`rvagene.representation.membership_probabilities`);
5. :meth:`GeneClustering.generate` draws new series from each cluster's own latent spread
   and shifts them by the cluster's mean residual (:func:`generate_around_centres`,
   :func:`cluster_offsets`).

Flat genes (no variance over time, :func:`rvagene.data.flat_genes`) get the label -1 and are
left out of fitting and clustering. This module sits above both :mod:`rvagene.model` and
:mod:`rvagene.cluster`, which do not import each other.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import numbers
import os
import signal
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _gru
from ._utils import (
    SEEDS,
    as_generator,
    forget_fit,
    fork_is_safe,
    is_real_at_least,
    is_seed,
    resolve_device,
    user_stacklevel,
    warn_without_effect,
)
from .cluster import (
    DEFAULT_K_MAX,
    K_CRITERIA,
    _n_distinct,
    choose_k,
    choose_k_gmeans,
    cluster_covariances,
    cluster_latent,
    consensus_clusters,
    sample_around_centres,
)
from .data import (
    _all_missing,
    as_time_series,
    check_input,
    flat_genes,
    plain_missing,
    scale_series,
    split_table,
)
from .evaluate import reconstruction_r2
from .model import RVAgene
from .representation import (
    DATA_SPACES,
    ONE_SHAPE_SHARE,
    SPACES,
    between_gene_share,
    embed,
    embed_codes,
    membership_probabilities,
)

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_N_FITS",
    "DEFAULT_SPACE",
    "GeneClustering",
    "cluster_offsets",
    "fit_ensemble",
    "fit_seeds",
    "generate_around_centres",
    "between_gene_share",
    "held_out_loss",
]

# The defaults of GeneClustering (and of the scripts, which build one), chosen on the hard
# quality suite (docs/results.md, "Clustering spaces" and "Genes that share one shape"): the
# consensus of the fits in both the latent and the decoded space was the only option whose
# ARI spread over seeds stayed within 0.05 on every case, and the best on the cases whose
# groups are shapes over time; "auto" uses it unless the genes share one shape, and then
# clusters the slopes of the z-scored series.
DEFAULT_SPACE = "auto"
DEFAULT_N_FITS = "auto"
AUTO_N_FITS = 5  # fits of n_fits="auto" for at most AUTO_MAX_GENES genes; 1 above
AUTO_FIRST_FITS = 2  # ... of which these come first; the rest only if they disagree:
AUTO_AGREEMENT = 0.9  # the lowest ARI between their K-means clusterings in every space
AUTO_MAX_GENES = 2000
CONSENSUS_MAX_GENES = 5000  # the co-association matrix is genes x genes
SPACE_CHOICES = ("auto", "both", *SPACES, *DATA_SPACES)
PIPELINE_K_CRITERION = "gmeans"  # within the silhouette's window; see GeneClustering's k_criterion
PIPELINE_K_TOLERANCE = 2.0  # standard errors of the silhouette; see GeneClustering's k_tolerance
CLUSTER_METHODS = ("kmeans", "minibatch")
MAX_ROUNDS = 100  # rounds of redrawing generated series that left their cluster
_PRIVATE_FIT = ("_X_fit", "_labels_fit", "_seed")  # what generate() needs of the fit


# ---------------------------------------------------------------------------- ensembles


def fit_seeds(random_state, n_fits: int) -> list[int]:
    """The ``random_state`` of each of ``n_fits`` fits, drawn from one seed.

    With an int seed the first fit gets the seed itself (so one fit is
    ``RVAgene(random_state=seed)``) and the others draw from ``default_rng(seed)``; a
    RandomState draws every seed (and is advanced); None draws them from fresh operating
    system entropy, as ``RVAgene`` does, leaving numpy's global RNG alone.

    Examples
    --------
    >>> fit_seeds(7, 3)[0]
    7
    >>> fit_seeds(7, 3) == fit_seeds(7, 3)
    True
    """
    if isinstance(n_fits, bool) or not isinstance(n_fits, numbers.Integral) or n_fits < 1:
        msg = f"n_fits must be a positive integer, got {n_fits!r}."
        raise ValueError(msg)
    if not is_seed(random_state):
        msg = f"random_state must be {SEEDS}, got {random_state!r}."
        raise ValueError(msg)
    if random_state is None:  # check_random_state(None) would draw from np.random's state
        return [int(s) for s in np.random.default_rng().integers(2**31 - 1, size=n_fits)]
    if isinstance(random_state, numbers.Integral):
        others = np.random.default_rng(int(random_state)).integers(2**31 - 1, size=n_fits - 1)
        return [int(random_state), *map(int, others)]
    return [int(s) for s in random_state.randint(2**31 - 1, size=n_fits)]


def _fit_one(params: dict, seed: int, X, times, parallel: bool, c_loops: bool = True):
    """One fit, run here or in a worker process; returns the model, its warnings and its error.

    An error is returned, not raised, so that worker processes end cleanly (an exception
    raised in a loky worker leaves its resource tracker warning on stderr at exit); the
    caller raises it. ``c_loops=False``: the caller found the GRU's C loops unavailable
    (and said why), so the worker does not try them again.
    """
    if parallel:
        import torch

        torch.set_num_threads(1)  # one torch thread per process; the fits fill the cores
        if not c_loops:
            _gru.skip_kernel()
    model, error = None, None
    with warnings.catch_warnings(record=True) as caught:  # shown by the caller, once
        try:
            model = RVAgene(**params, random_state=seed).fit(X, times=times)
        except Exception as err:  # re-raised by _fit_models, in the parent
            if not parallel:
                raise
            error = err
    return model, [(w.message, w.category) for w in caught], error


def fit_ensemble(
    X, n_fits: int = 5, random_state=None, times=None, n_jobs=None, **params
) -> list[RVAgene]:
    """Fit several RVAgene models to the same genes, each with its own seed.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        The genes, as for :meth:`rvagene.RVAgene.fit`.
    n_fits : int, default=5
        Number of models.
    random_state : int, RandomState instance or None, default=None
        Seed from which each model's ``random_state`` is drawn (:func:`fit_seeds`); an int
        makes the ensemble repeatable, and its first model is ``RVAgene(random_state=seed)``.
    times : array-like of shape (n_timepoints,), optional
        Passed to ``fit``.
    n_jobs : int or None, default=None
        Fits run at once, in separate processes (joblib; forked where the platform forks:
        Linux, CPU fits, docs/design.md "Parallel fits"), each with one torch thread; None
        means 1 unless in a ``joblib.parallel_config`` context, -1 means every core. The
        models are the same whatever ``n_jobs`` is. With ``callbacks`` the fits run one
        after another in this process, with a warning, so that the callbacks see them.
    **params
        Parameters of every :class:`~rvagene.RVAgene` (each gets its own ``random_state``).

    Returns
    -------
    models : list of RVAgene
        The fitted models, in the order of their seeds. Warnings of the first fit are shown
        (the others fit the same data with the same parameters).

    Examples
    --------
    >>> from rvagene import simulate
    >>> X, _ = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8,
    ...                 random_state=0)
    >>> models = fit_ensemble(X, 2, random_state=0, hidden_size=8, latent_length=2,
    ...                       n_epochs=2)
    >>> [m.random_state for m in models][0], len(models)
    (0, 2)
    """
    return _fit_models(X, fit_seeds(random_state, n_fits), times, n_jobs, params)


def held_out_loss(model: RVAgene) -> float:
    """The loss the stopping rule kept: the held-out genes' when there were any."""
    history = model.history_
    return min(history.get("val_loss") or history["loss"])


# ---------------------------------------------------------------------------- generation


def _check_generate_args(centres, X, scale, covariance, units, noise, offset) -> np.ndarray:
    """Centres as a 2-D float array, after checking that the arguments fit together."""
    centres = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    if not isinstance(noise, bool | np.bool_):  # "False" or "no" would add noise
        msg = f"noise must be True or False, got {noise!r}."
        raise ValueError(msg)
    if units not in (None, "data", "scaled"):
        msg = f"Unknown units {units!r}; use 'data' or 'scaled'."
        raise ValueError(msg)
    if X is None:
        if scale is None and covariance is None:
            msg = (
                "Give X (the clustered genes) to draw from each cluster's own spread, "
                "or scale=0.3 for the original's N(centre, 0.3 I)."
            )
            raise ValueError(msg)
        if units == "data" or noise or _is_true(offset):
            what = "units='data'" if units == "data" else "noise=True" if noise else "offset=True"
            msg = f"{what} needs X, the clustered genes (their levels and residuals)."
            raise ValueError(msg)
    return centres


def _is_true(flag) -> bool:
    """Whether ``flag`` is the boolean True (an array of offsets is not)."""
    return isinstance(flag, bool | np.bool_) and bool(flag)


def _given_offsets(offset, k: int, layout: tuple) -> np.ndarray:
    """Offsets given as an array, checked against the centres and the series' layout."""
    offsets = np.asarray(offset, dtype=np.float64)
    if offsets.shape != (k, *layout):
        msg = (
            f"offset has shape {offsets.shape}; give True, False or an array of shape "
            f"{(k, *layout)}: one series per centre, in the model's scaled units (as "
            "cluster_offsets returns)."
        )
        raise ValueError(msg)
    return offsets


def _one_label_per_gene(labels, n_genes: int, n_clusters: int) -> np.ndarray:
    """``labels`` as int64, checked to hold one cluster 0..n_clusters - 1 per gene of X."""
    labels = np.asarray(labels)
    if labels.shape != (n_genes,):
        msg = f"labels must have one entry per gene of X ({n_genes}), got shape {labels.shape}."
        raise ValueError(msg)
    if not np.issubdtype(labels.dtype, np.integer) or not (
        labels.size == 0 or 0 <= labels.min() <= labels.max() < n_clusters
    ):
        msg = (
            f"labels must be integers 0..{n_clusters - 1}: the cluster (row of centres) each "
            "gene belongs to."
        )
        raise ValueError(msg)
    return labels.astype(np.int64)


def _generation_labels(labels, mean: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Cluster of each gene for generation: given, or the nearest centre."""
    if centres.ndim != 2 or centres.shape[1] != mean.shape[1]:
        d = mean.shape[1]
        msg = (
            f"centres have shape {centres.shape}, but this RVAgene has "
            f"latent_length={d}; pass an array of shape (n_centres, {d})."
        )
        raise ValueError(msg)
    if labels is None:
        return _nearest(mean, centres)
    return _one_label_per_gene(labels, mean.shape[0], centres.shape[0])


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre of each point (squared Euclidean distance)."""
    return ((points[:, np.newaxis, :] - centres) ** 2).sum(axis=-1).argmin(axis=1)


def _keep_own(model, Z, out, draw, space: str, space_centres, shift=None) -> None:
    """Redraw, in place, the series that left their cluster (up to MAX_ROUNDS rounds).

    A draw is kept when its code lies nearest its own centre in ``space`` and the model
    encodes its decoded series (plus ``shift``, each series' cluster offset, when given)
    back nearest that centre too.
    """
    k, n_samples = space_centres.shape[0], Z.shape[0] // space_centres.shape[0]
    own = np.repeat(np.arange(k), n_samples)
    todo = np.arange(Z.shape[0])
    for _ in range(MAX_ROUNDS):
        series = out[todo] if shift is None else out[todo] + shift[todo]
        encoded = np.asarray(model.transform(series), dtype=np.float64)  # not a DataFrame
        here = _nearest(embed_codes(model, Z[todo], space), space_centres)
        back = _nearest(embed_codes(model, encoded, space), space_centres)
        todo = todo[(here != own[todo]) | (back != own[todo])]
        if todo.size == 0:
            return
        Z[todo] = draw().reshape(-1, Z.shape[1])[todo]
        out[todo] = model.decode(Z[todo])


def _scaled_residuals(model, X3) -> np.ndarray:
    """Each gene's series minus its reconstruction, in the model's scaled units."""
    X_scaled, centre, spread = scale_series(X3, model.scaling_)
    recon = as_time_series(model.reconstruct(X3), dtype=np.float64)
    return X_scaled - (recon - centre) / spread  # (genes, time, dims)


def _cluster_means(values, labels, k: int) -> np.ndarray:
    """The mean of ``values`` over each cluster's genes, NaN ignored; 0 for no members."""
    out = np.zeros((k, *values.shape[1:]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cluster without members
        for i in range(k):
            out[i] = np.nanmean(values[labels == i], axis=0)
    return np.nan_to_num(out)


def _add_noise(out, residual, labels, rng, offsets=None) -> np.ndarray:
    """Add Gaussian noise as large as each cluster's residuals around its offset (scaled).

    The noise's standard deviation at each time point is the root mean square, over the
    cluster's members, of their residuals minus the offset already added to the cluster's
    series (``offsets``, (k, ...) in the layout of ``out[:, 0]``; None: no offset). With the
    offset that is the members' mean residual, this is the residuals' spread around their
    mean: the mean itself is in the series once, as the offset, not again in the noise.
    """
    k = out.shape[0]
    if offsets is not None:
        residual = residual - np.reshape(offsets, (k, *residual.shape[1:]))[labels]
    rms = np.sqrt(_cluster_means(residual**2, labels, k))
    rms = rms.reshape(k, 1, *out.shape[2:])
    return out + rms * rng.standard_normal(out.shape)


def cluster_offsets(model: RVAgene, X, labels, n_clusters: int) -> np.ndarray:
    """Each cluster's offset: the mean of its members' series minus their reconstructions.

    :func:`generate_around_centres` adds it to every series decoded for the cluster
    (``offset=True``, the default with the clusters' own spread). Decoded series carry the
    decoder's error: a gene the model reconstructs poorly, such as an outlier that the
    clustering leaves in a cluster of one or two genes, gets series that follow its
    reconstruction and may look more like a neighbouring cluster than like the gene. The
    offset puts the mean of a cluster's generated series back at the mean of its members
    (where the decoder is good, the offset is small); the variation around it is the
    decoder's.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    X : array-like of shape (n_genes, n_timepoints[, n_dims])
        The clustered genes, in the units of ``fit``'s input.
    labels : array-like of shape (n_genes,)
        Cluster of each gene, 0 to ``n_clusters - 1``.
    n_clusters : int
        Number of clusters (a cluster without members gets 0).

    Returns
    -------
    ndarray of shape (n_clusters, n_timepoints[, n_dims])
        In the model's scaled units (its ``scaling``); the layout follows ``X``.

    Examples
    --------
    >>> from rvagene import RVAgene, simulate
    >>> X, y = simulate(n_clusters=2, genes_per_cluster=5, sequence_length=6, random_state=0)
    >>> model = RVAgene(hidden_size=4, latent_length=2, n_epochs=2, random_state=0).fit(X)
    >>> cluster_offsets(model, X, y, 2).shape
    (2, 6)
    """
    check_is_fitted(model, "module_")
    X = np.asarray(plain_missing(X), dtype=np.float64)
    labels = _one_label_per_gene(labels, X.shape[0], n_clusters)
    residual = _scaled_residuals(model, as_time_series(X, dtype=np.float64))
    offsets = _cluster_means(residual, labels, n_clusters)
    return offsets.reshape(n_clusters, *X.shape[1:])


def _to_data_units(model, out, X3, labels, rng) -> np.ndarray:
    """Give each generated series the level and spread of a member gene drawn at random."""
    _, level, spread = scale_series(X3, model.scaling_)  # (genes, 1, dims) each
    if out.ndim == 3:  # 2-D layout: (k, n, time)
        level, spread = level[:, :, 0], spread[:, :, 0]  # (genes, 1)
    for i in range(out.shape[0]):
        members = np.flatnonzero(labels == i)
        pick = rng.choice(members if members.size else np.arange(X3.shape[0]), out.shape[1])
        out[i] = out[i] * spread[pick] + level[pick]
    return out


def generate_around_centres(
    model: RVAgene,
    centres,
    n_samples: int = 20,
    scale: float | None = None,
    random_state=None,
    *,
    X=None,
    labels=None,
    covariance=None,
    noise: bool = False,
    offset: bool | np.ndarray | None = None,
    units: str | None = None,
    times=None,
    space: str = "latent",
    space_centres=None,
) -> np.ndarray:
    """New series for each cluster of a fitted model, drawn from the cluster's own spread.

    Latent points are drawn around each centre and decoded by ``model``. Two ways to set
    the spread:

    - **each cluster's own spread** (give ``X``, the clustered genes): the latent
      covariance of the cluster's members (:func:`rvagene.cluster.cluster_covariances`,
      Ledoit-Wolf shrunk). Each decoded series is shifted by its cluster's offset, the
      mean of the members' series minus their reconstructions (``offset``,
      :func:`cluster_offsets`), so the series centre on the members even where the decoder
      reproduces them poorly. A draw is kept only when it lies nearest its own centre in the
      clustering space and the model encodes its series back nearest that centre too, i.e.
      when the model itself would assign the new series to the cluster; other draws are
      drawn again (up to 100 rounds, then kept). Output is in **data units**: each
      generated series takes the level and spread (the ``scaling``'s centre and scale) of a
      member gene of its cluster drawn at random. Nothing bounds the values: series of
      non-negative genes can go below 0 (not clipped; see :meth:`GeneClustering.generate`);
    - **a fixed isotropic spread** (``scale``, e.g. 0.3): N(centre, scale * I), the
      original's sampling. Without ``X`` the output is in the model's **scaled units**.

    Parameters
    ----------
    model : RVAgene
        A fitted model.
    centres : array-like of shape (n_centres, latent_length)
        Latent centres, e.g. ``GeneClustering.cluster_centers_``.
    n_samples : int, default=20
        Series per centre (the original drew 20).
    scale : float, optional
        Variance of an isotropic Gaussian around every centre (the original used 0.3).
        Overrides the clusters' own spread.
    random_state : int, numpy Generator, RandomState instance or None
        Seed of the draws. numpy's global RNG is never used.
    X : array-like of shape (n_genes, n_timepoints[, n_dims]), optional
        The clustered genes, in the units of ``fit``'s input. Needed for the clusters'
        own spread and for output in data units.
    labels : array-like of shape (n_genes,), optional
        Cluster of each gene of ``X``, the row of ``centres`` it belongs to. Default: the
        nearest centre of each gene's latent mean.
    covariance : array-like of shape (n_centres, latent_length, latent_length), optional
        The latent spread to draw from, overriding the one estimated from ``X``.
    noise : bool, default=False
        Add Gaussian noise with, at every time point, the root-mean-square residual of the
        cluster's members (``X`` minus its reconstruction) around the cluster's offset (its
        mean residual with ``offset=True``, none with ``offset=False``), so the series are as
        noisy as the real genes: the offset is not counted twice. Needs ``X``.
    offset : bool or array-like of shape (n_centres, n_timepoints[, n_dims]), optional
        Add each cluster's mean residual (:func:`cluster_offsets`) to its series, so that a
        cluster whose genes the decoder reproduces poorly still gets series around its
        members' mean. Default: True with the clusters' own spread (``X`` given, no
        ``scale``), False for the original's ``scale``. True needs ``X``; an array gives
        the offsets themselves (scaled units), e.g. :func:`cluster_offsets` computed once
        for several calls.
    units : {"data", "scaled"}, optional
        ``"data"`` (the default when ``X`` is given) or ``"scaled"``.
    times : array-like of shape (n_timepoints,), optional
        Checked as in :meth:`rvagene.RVAgene.transform` when ``X`` is given.
    space : {"latent", "decoded"}, default="latent"
        The clustering space in which a draw must stay nearest its own centre.
    space_centres : array-like of shape (n_centres, n_dims_of_space), optional
        The centres in ``space`` (default: ``centres`` mapped by
        :func:`rvagene.representation.embed_codes`).

    Returns
    -------
    ndarray of shape (n_centres, n_samples, n_timepoints[, n_dims])
        ``out[i]`` are the series generated for ``centres[i]``; the layout follows the
        model's ``fit`` input.

    Examples
    --------
    >>> from rvagene import RVAgene, cluster_latent, simulate
    >>> X, _ = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8,
    ...                 random_state=0)
    >>> model = RVAgene(hidden_size=8, latent_length=2, n_epochs=2, random_state=0).fit(X)
    >>> km = cluster_latent(model.transform(X), 3)
    >>> generate_around_centres(model, km.cluster_centers_, 5, X=X, labels=km.labels_,
    ...                         random_state=0).shape
    (3, 5, 8)
    >>> generate_around_centres(model, km.cluster_centers_, 5, scale=0.3).shape
    (3, 5, 8)
    """
    check_is_fitted(model, "module_")
    centres = _check_generate_args(centres, X, scale, covariance, units, noise, offset)
    if offset is None:
        offset = X is not None and scale is None
    rng = as_generator(random_state)
    k = centres.shape[0]
    if X is not None:
        X3 = as_time_series(X, dtype=np.float64)
        mean = model.latent_posterior(X, times=times)[0].astype(np.float64)
        labels = _generation_labels(labels, mean, centres)
        if scale is None and covariance is None:
            covariance = cluster_covariances(mean, labels, n_clusters=k)
        if noise or _is_true(offset):
            residual = _scaled_residuals(model, X3)  # (genes, time, dims), scaled
    Z = sample_around_centres(centres, n_samples, scale, rng, covariance)  # (k, n, latent)
    Z = Z.reshape(-1, Z.shape[-1])  # (k * n, latent)
    out = model.decode(Z)  # (k * n, time[, dims]), scaled
    offsets = None  # each cluster's offset, in the layout of out
    if _is_true(offset):
        offsets = _cluster_means(residual, labels, k).reshape(k, *out.shape[1:])
    elif not isinstance(offset, bool | np.bool_):
        offsets = _given_offsets(offset, k, out.shape[1:])
    shift = None if offsets is None else np.repeat(offsets, n_samples, axis=0)  # per series
    if scale is None:  # a cluster's own spread: keep only series of that cluster
        if space_centres is None:
            space_centres = embed_codes(model, centres, space)
        space_centres = np.asarray(space_centres, dtype=np.float64)
        draw = lambda: sample_around_centres(centres, n_samples, None, rng, covariance)  # noqa: E731
        _keep_own(model, Z, out, draw, space, space_centres, shift)
    if shift is not None:
        out = out + shift
    out = out.reshape(k, n_samples, *out.shape[1:])  # (k, n, time[, dims]), scaled
    if X is None:
        return out
    if noise:
        out = _add_noise(out, residual, labels, rng, offsets)
    if units == "scaled":
        return out
    return _to_data_units(model, out, X3, labels, rng)


# ---------------------------------------------------------------------------- the estimator


def _member_means(points: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The mean point of each cluster's members, one row per cluster."""
    return np.stack([points[labels == j].mean(axis=0) for j in range(k)])


def _is_int(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum


class GeneClustering(ClusterMixin, BaseEstimator):
    """Cluster genes by the shape of their time series with RVAgene, and generate new ones.

    The scripts' whole analysis as one scikit-learn clusterer: it fits ``n_fits`` RVAgene
    models (each seed drawn from ``random_state``), keeps the fit with the lowest held-out
    loss as ``model_``, chooses k in the clustering ``space`` (unless ``n_clusters`` is
    given), clusters the genes there (K-means on one fit in one space, the co-association
    consensus of K-means clusterings on several fits or in both spaces; K-means on the
    series' slopes when the genes share one shape), gives each gene a probability per
    cluster, and generates new series from each cluster's own latent spread
    (:meth:`generate`). Flat genes (no variance over time, see
    :func:`rvagene.data.flat_genes`) get the label -1 and are left out of fitting and
    clustering.

    Parameters
    ----------
    n_clusters : int or None, default=None
        Number of clusters; None chooses k in ``2 .. min(k_max, n_genes - 1)`` by
        ``k_criterion`` on the fits' points (see there), and never more than the genes with
        distinct points in the clustering space (genes of one shape coincide there: with
        one distinct point, k is 1 and a warning says so). A given number above that count
        is a ``ValueError`` (it would leave clusters without genes).
    n_fits : int or "auto", default="auto"
        RVAgene models fitted with different seeds. With more than one, the genes are
        clustered by the consensus of the fits (:func:`rvagene.cluster.consensus_clusters`).
        ``"auto"``: 1 fit in the ``"slopes"`` space; else, for at most 2,000 genes (not
        counting flat ones), 2 fits, and 3 more
        when the two disagree (the ARI between their K-means clusterings below 0.9 in a
        clustering space); for more genes, 1 fit. On the hard suite this matched 5 fits
        (suite mean 0.490 against 0.489, seed spread at most 0.05 on every case) with 3.6
        fits on average and 2 on ``demo`` and ``simfinal`` (docs/results.md). ``n_jobs``
        runs the fits side by side.
    space : {"auto", "both", "latent", "decoded", "slopes"}, default="auto"
        The clustering space (:mod:`rvagene.representation`): ``"latent"``, the posterior
        means (the published tool's; ``n_fits=1, space="latent"`` is the original's
        clustering); ``"decoded"``, the series decoded from them; ``"both"``, the
        co-association consensus of 160 single-start K-means runs on every fit in both
        spaces (:func:`rvagene.cluster.consensus_clusters`), with
        k chosen, centres, probabilities and generation in ``model_``'s latent space (above
        5,000 genes the consensus, a genes x genes matrix, is too big and ``"both"`` clusters
        the latent means of ``model_`` instead); ``"slopes"``, K-means on the slopes of the
        z-scored series (:func:`rvagene.representation.slopes`), a space of the data that
        needs no fit (one fit is made for :meth:`generate`). ``"auto"``: ``"slopes"`` when the
        genes share one shape (:func:`rvagene.representation.between_gene_share` below 0.3),
        where the model learns that shape and clusters poorly, else ``"both"``.
        ``space_`` says which ran.
    random_state : int, RandomState instance or None, default=None
        Seeds everything: the fits' seeds (with an int, the first fit is
        ``RVAgene(random_state=random_state)``), K-means, choosing k, the probabilities'
        draws and :meth:`generate`. With an int, results repeat bit for bit on the CPU.
        None draws fresh seeds from the operating system (numpy's global RNG is not used).
    model_params : dict or None, default=None
        Parameters of each :class:`~rvagene.RVAgene` (e.g. ``{"latent_length": 4}``), except
        ``random_state``, which comes from this estimator's. One of them can be set alone
        with ``set_params(model_params__latent_length=4)``, so a ``GridSearchCV`` grid may
        name it (``{"model_params__latent_length": [2, 4]}``).
    k_criterion : str, default="gmeans"
        How k is chosen when ``n_clusters`` is None; see :data:`rvagene.cluster.K_CRITERIA`.
        ``"gmeans"``: :func:`rvagene.cluster.choose_k_gmeans`, G-means on every fit's points
        in every clustering space (the lower median of its k), kept between the k of the
        best silhouette of the fits' latent means and the k 4 standard errors reach from
        it. Any other criterion: :func:`rvagene.cluster.choose_k` on the fits' latent means
        (the space's points for ``"decoded"`` and ``"slopes"``), each k's score averaged
        over the fits. With ``"gmeans"`` the pipeline chose k within one of the truth in 15
        of 18 trials on the hard suite's cases of 4 to 10 groups and 23 of 27 on 9 other
        cases, against 13 and 19 with ``"silhouette"`` (``k_tolerance=2``, the default
        before), at a mean ARI of 0.750 against 0.743 (docs/results.md, "Choosing k by
        G-means within the silhouette's window", which also tables every criterion on the
        same fits). Give ``n_clusters`` when you know better.
    k_max : int, default=15
        Largest k tried when ``n_clusters`` is None.
    n_jobs : int or None, default=None
        Fits run at once in separate processes (joblib; forked where the platform forks:
        Linux, CPU fits, docs/design.md "Parallel fits"), each with one torch thread; None
        means 1 unless in a ``joblib.parallel_config`` context, -1 every core. The results
        do not depend on it. With ``callbacks`` in ``model_params`` the fits run one after
        another in this process, with a warning, so that the callbacks see them.
    n_draws : int, default=1000
        Draws from each gene's posterior for ``probabilities_``.
    cluster_method : {"kmeans", "minibatch"}, default="kmeans"
        ``"minibatch"``: the original tool's ``MiniBatchKMeans(batch_size=6, max_iter=10)``
        on one fit's latent means (needs ``n_fits=1`` and ``space="latent"``; the defaults
        ``"auto"`` are a ``ValueError``, unlike the script, which sets both).
    k_tolerance : float, default=2.0
        With ``k_criterion="silhouette"``, k steps up from the best k while the fits' mean
        silhouette stays within this many standard errors of the best (``tolerance`` of
        :func:`rvagene.cluster.choose_k`); 0 takes the best k. Ignored by the other
        criteria (``"gmeans"``' window is 4 standard errors, ``choose_k_gmeans``' default).

    Attributes
    ----------
    labels_ : ndarray of shape (n_genes,)
        Cluster of each gene, 0 to ``n_clusters_ - 1``; -1 for a flat gene.
    n_clusters_ : int
        Number of clusters (given or chosen).
    k_scores_ : dict of int to float or None
        The criterion's score for each k tried, averaged over the fits (``"gmeans"``: the
        share of the fits' point sets whose G-means chose k); None when ``n_clusters`` was
        given, or when every gene had the same point (k = 1, nothing to choose).
    k_window_ : tuple of int or None
        With ``k_criterion="gmeans"``, the lowest and highest k that the silhouette of the
        fits' latent means admits (:func:`rvagene.cluster.choose_k_gmeans`); the chosen k
        is G-means' clipped into it. None for the other criteria and when ``n_clusters``
        was given or every gene had the same point.
    probabilities_ : ndarray of shape (n_genes, n_clusters_)
        Share of draws from each gene's latent posterior nearest each centre, in
        ``space_`` (the latent space for ``"both"``); for ``"slopes"``, the soft assignment
        of the gene's slopes to the centres
        (:func:`rvagene.representation.soft_assignment`). Rows sum to 1. A flat gene's row
        is NaN (it is in no cluster).
    confidence_ : ndarray of shape (n_genes,)
        Each gene's probability of its own cluster, ``probabilities_[i, labels_[i]]``: low
        where the gene lies between clusters, and also where the consensus put it in a
        cluster whose centre its posterior draws are not nearest (then it is not the row's
        largest). NaN for a flat gene.
    reconstruction_r2_ : ndarray of shape (n_genes,)
        How well ``model_`` rebuilds each gene: the share of its variance over time that its
        reconstruction explains (:func:`rvagene.reconstruction_r2`; 1 is perfect, 0 no better
        than the gene's mean). A gene rebuilt poorly has a code that says little about its
        shape, so its cluster is less certain than ``confidence_`` alone says. NaN for a
        flat gene.
    cluster_centers_ : ndarray of shape (n_clusters_, latent_length)
        Centres in ``model_``'s latent space: the K-means centres for one fit in the latent
        space, else the mean latent code of each cluster's members. Generation draws
        around them.
    embedding_centers_ : ndarray of shape (n_clusters_, n_dims_of_space)
        Centres in the clustering space (the latent space for ``"both"``); :meth:`predict`
        assigns to the nearest.
    embedding_ : ndarray of shape (n_genes, n_dims_of_space)
        Each gene's point in that space (``model_``'s); NaN rows for flat genes.
    latent_ : ndarray of shape (n_genes, latent_length)
        Each gene's latent mean in ``model_`` (``model_.transform``, the published model's
        code, whatever ``space_``); NaN rows for flat genes.
    models_ : list of RVAgene
        The ``n_fits`` fitted models, in the order of their seeds.
    model_ : RVAgene
        The fit with the lowest held-out loss: it places the genes, gives the
        probabilities and generates.
    space_ : str
        The clustering space used: ``space``, ``"auto"``'s choice, or ``"latent"`` where
        ``"both"`` fell back.
    embedding_space_ : str
        The space of ``embedding_``, ``embedding_centers_``, the probabilities and
        :meth:`predict`: ``space_``, or ``"latent"`` for ``"both"``.
    generation_space_ : str
        The space in which :meth:`generate` keeps each series nearest its own centre:
        ``embedding_space_``, or ``"latent"`` for ``"slopes"`` (a space of the data, which a
        latent code does not reach).
    flat_ : ndarray of bool, shape (n_genes,)
        Flat genes (label -1).
    times_ : ndarray of shape (n_features_in_,) or None
        The times the models were fitted with (a table's times only when uneven).
    n_features_in_ : int
        Time points per gene.

    See Also
    --------
    rvagene.RVAgene : the model alone (fit, transform, decode, sample).

    Notes
    -----
    With several fits, or with ``space="both"`` (which ``"auto"`` picks for most data, also
    with ``n_fits=1``), the labels come from the consensus, not from the nearest centre, so
    :meth:`predict` on the training genes can differ from ``labels_`` for genes between
    clusters; with one fit clustered by K-means in one space (``"latent"``, ``"decoded"`` or
    ``"slopes"``) they agree.

    There is no ``score`` method, on purpose. K-means' ``score`` (minus the inertia) only
    grows with k, so a search over ``n_clusters`` would always pick the largest; and the
    model's ELBO (:meth:`RVAgene.score`) does not depend on the clusters at all. So
    ``GridSearchCV`` without ``scoring`` stops at once with scikit-learn's "should have a
    'score' method". Give it a scoring: ``scoring="adjusted_rand_score"`` with known labels
    as ``y`` (it compares :meth:`predict` with them), or a callable ``scorer(gc, X, y)``
    that says what a good clustering is for your data.

    Examples
    --------
    >>> from rvagene import GeneClustering, simulate
    >>> X, _ = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=8, random_state=0)
    >>> params = {"hidden_size": 8, "latent_length": 2, "n_epochs": 2}
    >>> gc = GeneClustering(n_clusters=3, random_state=0, model_params=params)
    >>> gc.fit_predict(X).shape, gc.probabilities_.shape
    ((30,), (30, 3))
    >>> gc.generate(5).shape
    (3, 5, 8)
    """

    def __init__(
        self,
        n_clusters: int | None = None,
        n_fits: int | str = DEFAULT_N_FITS,
        space: str = DEFAULT_SPACE,
        random_state=None,
        model_params: dict | None = None,
        k_criterion: str = PIPELINE_K_CRITERION,
        k_max: int = DEFAULT_K_MAX,
        n_jobs: int | None = None,
        n_draws: int = 1000,
        cluster_method: str = "kmeans",
        k_tolerance: float = PIPELINE_K_TOLERANCE,
    ):
        self.n_clusters = n_clusters
        self.n_fits = n_fits
        self.space = space
        self.random_state = random_state
        self.model_params = model_params
        self.k_criterion = k_criterion
        self.k_max = k_max
        self.n_jobs = n_jobs
        self.n_draws = n_draws
        self.cluster_method = cluster_method
        self.k_tolerance = k_tolerance

    def set_params(self, **params):
        """Set parameters; ``model_params__<name>`` sets one RVAgene parameter.

        scikit-learn's nested names (``estimator__param``) expect an estimator;
        ``model_params`` is a dict, so its entries are merged into a copy of it here (the
        caller's dict is left as it was).

        Parameters
        ----------
        **params : dict
            GeneClustering's parameters by name, and ``model_params__<name>`` entries.

        Returns
        -------
        self : GeneClustering
        """
        prefix = "model_params__"
        entries = {
            key[len(prefix) :]: params.pop(key) for key in list(params) if key.startswith(prefix)
        }
        super().set_params(**params)
        if entries:
            self.model_params = {**(self.model_params or {}), **entries}
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> None:
        """Check every parameter before any work, naming the fix."""
        checks = (
            ("n_clusters", self.n_clusters is None or _is_int(self.n_clusters, 1),
             "None or an integer >= 1"),
            ("n_fits", self.n_fits == "auto" or _is_int(self.n_fits, 1),
             '"auto" or an integer >= 1'),
            ("k_max", _is_int(self.k_max, 2), "an integer >= 2"),
            ("k_tolerance", is_real_at_least(self.k_tolerance, 0.0), "a number >= 0"),
            ("n_draws", _is_int(self.n_draws, 1), "an integer >= 1"),
            ("n_jobs", self.n_jobs is None or (_is_int(self.n_jobs, -2**31) and self.n_jobs),
             "None or a non-zero integer"),
            ("model_params", self.model_params is None or isinstance(self.model_params, dict),
             "None or a dict of RVAgene parameters"),
            ("random_state", is_seed(self.random_state), SEEDS),
        )  # fmt: skip
        for name, ok, want in checks:
            if not ok:
                msg = f"{name} must be {want}, got {getattr(self, name)!r}."
                raise ValueError(msg)
        for name, choices in (("space", SPACE_CHOICES), ("k_criterion", tuple(K_CRITERIA)),
                              ("cluster_method", CLUSTER_METHODS)):  # fmt: skip
            if getattr(self, name) not in choices:
                msg = f"Unknown {name} {getattr(self, name)!r}; use one of {', '.join(choices)}."
                raise ValueError(msg)
        if "random_state" in (self.model_params or {}):
            msg = "Give the seed as GeneClustering's random_state, not in model_params."
            raise ValueError(msg)
        known = RVAgene().get_params()
        unknown = [name for name in (self.model_params or {}) if name not in known]
        if unknown:
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            msg = (
                f"model_params holds {unknown[0]!r}{hint}, which is not an RVAgene parameter; "
                f"they are: {', '.join(sorted(known))}."
            )
            raise ValueError(msg)
        if self.cluster_method == "minibatch" and (self.n_fits != 1 or self.space != "latent"):
            msg = (
                "cluster_method='minibatch' is the original's clustering of one fit's latent "
                "means; set n_fits=1 and space='latent', or use cluster_method='kmeans'."
            )
            raise ValueError(msg)
        given = self.n_clusters is not None
        warn_without_effect(self, (
            ("k_criterion", given, f"k is given (n_clusters={self.n_clusters}), not chosen"),
            ("k_max", given, f"k is given (n_clusters={self.n_clusters}), not chosen"),
            ("k_tolerance", given or self.k_criterion != "silhouette",
             "it applies to k_criterion='silhouette' when k is chosen"),
        ))  # fmt: skip

    def _validate(self, X, reset: bool) -> np.ndarray:
        """Check X as RVAgene does; return it as a float array (2-D or 3-D)."""
        check_input(X, None if reset else self.n_features_in_, type(self).__name__)
        X = validate_data(
            self,
            X,
            reset=reset,
            allow_nd=True,
            ensure_all_finite="allow-nan",
            dtype=[np.float64, np.float32],
            ensure_min_features=1,
        )
        if X.ndim > 3:
            msg = f"X must be 2-D (genes, time) or 3-D (genes, time, values), got {X.ndim}-D."
            raise ValueError(msg)
        empty = np.isnan(X.reshape(len(X), -1)).all(axis=1)
        if empty.any():  # as RVAgene says: not a flat gene, a gene without data
            raise _all_missing(empty)
        if reset and X.shape[1] < 2:
            msg = (
                f"X has {X.shape[1]} feature(s) (time points) per series; GeneClustering "
                "needs at least 2 time points per series."
            )
            raise ValueError(msg)
        return X

    def _check_genes(self, n: int, n_flat: int) -> None:
        """Enough genes that are not flat to fit and to form the clusters."""
        if n == 0:
            msg = (
                f"All {n_flat} genes are flat (no variance over time); there is nothing to "
                "cluster. Check the input (rvagene.data.flat_genes finds them)."
            )
            raise ValueError(msg)
        flat = f" that are not flat ({n_flat} are)" if n_flat else ""
        if self.n_clusters is not None and self.n_clusters > n:
            msg = (
                f"n_clusters={self.n_clusters} is more than the {n} genes{flat} "
                f"(n_samples = {n}); use a smaller number."
            )
            raise ValueError(msg)
        if self.n_clusters is None and n < 3:  # choose_k needs 2 <= k <= n - 1
            msg = (
                f"X has {n} genes{flat} (n_samples = {n}), too few to choose the number of "
                "clusters; give n_clusters."
            )
            raise ValueError(msg)

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, times=None):
        """Fit the models, cluster the genes and give each a probability per cluster.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims), \
or TimeSeriesTable
            One series per gene (NaN marks a missing value), or a table from
            :func:`rvagene.read_table` / :func:`rvagene.load_dataset`, whose ``X`` is used,
            with its ``times`` when they are uneven (even times are steps, as without
            times), or the windows of :func:`rvagene.single_cell.prepare` (fitted as steps).
            A pandas DataFrame's column names are read as a table's header is: times such
            as ``0h,30min,1h,4h`` that are uneven are used, as from the same table in a file;
            replicate columns (``0h_rep1, 0h_rep2``) or times out of order are an error
            (read the file with :func:`rvagene.read_table` for a 3-D X).
        y : ignored
        times : array-like of shape (n_timepoints,), optional
            Time of each point, passed to :meth:`rvagene.RVAgene.fit` (overrides a table's
            or a DataFrame's).

        Returns
        -------
        self : GeneClustering

        Raises
        ------
        ValueError
            Besides bad parameters and input: if ``n_clusters`` is more than the genes with
            distinct points in the clustering space (e.g. duplicated genes, or 2 time points,
            where every gene is "up" or "down"); the message says how many clusters to ask
            for at most.

        Warns
        -----
        UserWarning
            When every gene has the same point, so k = 1 (``n_clusters=None``), and when the
            final clustering leaves a cluster without genes (possible with
            ``cluster_method="minibatch"`` only): the empty cluster keeps its centre, is
            counted in ``n_clusters_``, and :meth:`generate` draws series for it.
        """
        self._check_params()
        forget_fit(self, private=_PRIVATE_FIT)
        try:  # a fit that fails leaves no fit, not parts of two
            X, times = split_table(X, times, fitting=True)
            X = self._validate(X, reset=True)
            flat = flat_genes(X)
            X_fit = X[~flat]
            self._check_genes(X_fit.shape[0], int(flat.sum()))
            share = between_gene_share(X_fit)
            self.space_ = self._space(X_fit.shape[0], share)
            _warn_if_one_shape(share, self.space_)
            seeds = fit_seeds(self.random_state, self._n_fits(X_fit.shape[0]))
            self.models_, k_choice = self._fit_until_agreed(X_fit, seeds, times, X)
            self.model_ = min(self.models_, key=held_out_loss)  # the first of equals
            self.embedding_space_ = "latent" if self.space_ == "both" else self.space_
            self.generation_space_ = (
                "latent" if self.space_ in DATA_SPACES else self.embedding_space_
            )
            points, n_fits = self._points(X_fit)
            labels, centres, (scores, window) = self._cluster(points, seeds[0], n_fits, k_choice)
            k = centres.shape[0]
            _warn_if_empty(labels, k)
            latent = np.asarray(self.model_.transform(X_fit))  # set_output: not a DataFrame
            if len(points) == 1 and self.space_ == "latent":
                latent_centres = centres
            else:
                latent_centres = _member_means(latent, labels, k)
            probabilities = membership_probabilities(
                self.model_,
                X_fit,
                centres,
                self.embedding_space_,
                self.n_draws,
                random_state=seeds[0],
            )
            r2 = reconstruction_r2(self.model_, X_fit, times=times)
            per_gene = (points[0], latent, probabilities, r2)
            self._set_fitted(flat, labels, per_gene, (scores, window))
            self.cluster_centers_ = latent_centres.astype(np.float64)
            self.embedding_centers_ = centres.astype(np.float64)
            self.times_ = None if times is None else np.asarray(times, dtype=np.float64)
            self._X_fit, self._labels_fit, self._seed = X_fit, labels, seeds[0]
        except BaseException:
            forget_fit(self, private=_PRIVATE_FIT)
            raise
        return self

    def _points(self, X) -> tuple[list[np.ndarray], int]:
        """The genes' points in every clustering space of every fit, and how many choose k.

        ``model_``'s points come first; the slopes are the same for every fit, so once.
        """
        if self.space_ in DATA_SPACES:  # the same points whatever the fits
            return [embed(self.model_, X, self.space_)], 1
        fits = [self.model_, *(m for m in self.models_ if m is not self.model_)]
        spaces = SPACES if self.space_ == "both" else (self.space_,)
        return [embed(m, X, space) for space in spaces for m in fits], len(fits)

    def _fit_until_agreed(
        self, X, seeds: list[int], times, X_user
    ) -> tuple[list[RVAgene], tuple | None]:
        """All fits; for n_fits="auto", 2 first, and the rest only when those 2 disagree.

        Also the k chosen on the fits to measure their agreement, with its scores, when
        no more fits followed (else None), so that k is not chosen twice on the same fits.
        """
        params = dict(self.model_params or {})
        shown = _check_model_params(params)  # here, not in the worker processes
        shown |= _data_warnings(X, X_user)  # given on the user's X
        first = AUTO_FIRST_FITS if self.n_fits == "auto" else len(seeds)
        models = _fit_models(X, seeds[:first], times, self.n_jobs, params, shown=shown)
        k_choice = None
        if len(seeds) > first:
            agreement, k_choice = self._agreement(models, X, seeds[0])
            if agreement < AUTO_AGREEMENT:
                logger.info("the first fits agree at ARI %.3f: fitting %d more", agreement,
                            len(seeds) - first)  # fmt: skip
                models += _fit_models(X, seeds[first:], times, self.n_jobs, params, warn=False)
                k_choice = None
            else:
                logger.info("the first %d fits agree at ARI %.3f: no more fits", first, agreement)
        return models, k_choice

    def _agreement(self, models: list[RVAgene], X, seed: int) -> tuple[float, tuple | None]:
        """The lowest ARI between the fits' K-means clusterings, over the clustering spaces.

        Also ``_choose_k``'s answer on these fits (None when ``n_clusters`` is given).
        """
        from sklearn.metrics import adjusted_rand_score

        spaces = SPACES if self.space_ == "both" else (self.space_,)
        points = {s: [embed(m, X, s) for m in models] for s in spaces}
        n_distinct = self._check_distinct([p for s in spaces for p in points[s]])
        per_space = [points[s] for s in spaces]
        k_choice = None if self.n_clusters else self._choose_k(per_space, seed, n_distinct)
        k = self.n_clusters or k_choice[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty cluster in one fit
            labels = {s: [cluster_latent(p, k, random_state=seed).labels_ for p in points[s]]
                      for s in spaces}  # fmt: skip
        agreement = min(
            adjusted_rand_score(a, b)
            for s in spaces
            for i, a in enumerate(labels[s])
            for b in labels[s][i + 1 :]
        )
        return agreement, k_choice

    def _n_fits(self, n_genes: int) -> int:
        if self.n_fits != "auto":
            return int(self.n_fits)
        if self.space_ in DATA_SPACES:  # the clusters do not depend on the fits
            return 1
        return AUTO_N_FITS if n_genes <= AUTO_MAX_GENES else 1

    def _space(self, n_genes: int, share: float) -> str:
        """The space that runs.

        "auto" is "slopes" for genes that share one shape, else "both"; "both" falls back to
        "latent" where a consensus is too big.
        """
        space = self.space
        if space == "auto":
            space = "slopes" if share < ONE_SHAPE_SHARE else "both"
            logger.info("%.2f of the variance lies between genes: space %r", share, space)
        if space == "both" and n_genes > CONSENSUS_MAX_GENES:
            logger.info(
                "%d genes: more than %d, so the genes are clustered on model_'s latent means "
                "(space='latent') instead of a consensus of both spaces",
                n_genes,
                CONSENSUS_MAX_GENES,
            )
            return "latent"
        return space

    def _check_distinct(self, point_sets: list[np.ndarray]) -> int:
        """How many genes have distinct points; ``n_clusters`` above that is a ValueError."""
        n_distinct = _n_distinct(point_sets)
        if self.n_clusters is not None and self.n_clusters > n_distinct:
            msg = (
                f"Only {n_distinct} distinct gene(s): the {point_sets[0].shape[0]} genes (flat "
                f"ones aside) have only {n_distinct} distinct point(s) in the clustering space "
                f"{self.space_!r} (genes of one shape coincide there), so "
                f"n_clusters={self.n_clusters} would leave clusters without genes; ask for at "
                f"most {n_distinct} cluster(s)."
            )
            raise ValueError(msg)
        return n_distinct

    def _choose_k(
        self, per_space: list[list], seed: int, n_distinct: int
    ) -> tuple[int, dict | None, tuple | None]:
        """The k chosen on the fits' points, its scores, and "gmeans"' window (else None).

        ``per_space``: each clustering space's points of every fit. The criteria score the
        first space's (the latent means for "both"), averaged over the fits; "gmeans" takes
        the lower median of its choices on every space's points of every fit. k is at most
        ``n_distinct``, the genes with distinct points; with 1, k is 1 (no scores).
        """
        latent = list(per_space[0])
        if n_distinct < 2:
            msg = (
                f"All {latent[0].shape[0]} genes (flat ones aside) have the same point in the "
                f"clustering space {self.space_!r} (they have one shape), so they form one "
                "cluster: n_clusters_ is 1."
            )
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
            return 1, None, None
        k_range = range(2, min(self.k_max, latent[0].shape[0] - 1, n_distinct) + 1)
        # said before: on many genes this is the longest step (silhouettes grow as genes^2)
        logger.info("choosing k among %d..%d by %s on %d genes", k_range.start, k_range.stop - 1,
                    self.k_criterion, latent[0].shape[0])  # fmt: skip
        if self.k_criterion == "gmeans":
            every = [p for fits in per_space for p in fits]
            k, scores, window = choose_k_gmeans(every, latent, k_range, random_state=seed,
                                                return_window=True)  # fmt: skip
            logger.info("chose k=%d by gmeans on %d point sets, within k = %d..%d", k,
                        len(every), *window)  # fmt: skip
            return k, scores, window
        tolerance = self.k_tolerance if self.k_criterion == "silhouette" else 0.0
        k, scores = choose_k(latent, k_range, criterion=self.k_criterion,
                             random_state=seed, tolerance=tolerance)  # fmt: skip
        logger.info("chose k=%d by %s, averaged over %d fits", k, self.k_criterion, len(latent))
        return k, scores, None

    def _cluster(self, points: list, seed: int, n_fits: int, k_choice=None):
        """Labels, centres (in the space) and (the k scores, the window), from each fit's points.

        ``k_choice``: (k, the scores, the window) already chosen on these fits, or None.
        """
        n_distinct = self._check_distinct(points)
        k, how = self.n_clusters, (None, None)
        if k is None and k_choice is not None:
            k, *how = k_choice
        elif k is None:
            per_space = [points[i : i + n_fits] for i in range(0, len(points), n_fits)]
            k, *how = self._choose_k(per_space, seed, n_distinct)
        if len(points) > 1:
            labels = consensus_clusters(points, k, "coassociation", random_state=seed)
            return labels, _member_means(points[0], labels, k), tuple(how)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty cluster: fit says it
            km = cluster_latent(points[0], k, method=self.cluster_method, random_state=seed)
        return km.labels_, km.cluster_centers_, tuple(how)

    def _set_fitted(self, flat, labels, per_gene, how_k) -> None:
        """The per-gene attributes, with flat genes' rows: label -1, NaN elsewhere.

        ``per_gene``: the genes' points, latent means, probabilities and R^2 (not flat only).
        """
        points, latent, probabilities, r2 = per_gene
        n, k = flat.size, probabilities.shape[1]
        self.flat_ = flat
        self.labels_ = np.full(n, -1, dtype=np.int64)
        self.labels_[~flat] = labels
        self.probabilities_ = np.full((n, k), np.nan)
        self.probabilities_[~flat] = probabilities
        self.confidence_ = np.full(n, np.nan)  # the probability of the gene's own cluster
        self.confidence_[~flat] = probabilities[np.arange(labels.size), labels]
        self.embedding_ = np.full((n, points.shape[1]), np.nan)
        self.embedding_[~flat] = points
        self.latent_ = np.full((n, latent.shape[1]), np.nan)
        self.latent_[~flat] = latent
        self.reconstruction_r2_ = np.full(n, np.nan)
        self.reconstruction_r2_[~flat] = r2
        self.n_clusters_ = int(k)
        self.k_scores_, self.k_window_ = how_k

    # ------------------------------------------------------------------ using the clusters
    def predict(self, X, times=None) -> np.ndarray:
        """Assign genes to the nearest cluster centre in the clustering space.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims), \
or TimeSeriesTable
            The genes, or a table as :meth:`fit` takes it (its uneven times are used).
        times : array-like of shape (n_timepoints,), optional
            Checked against the fitted times (see :meth:`rvagene.RVAgene.transform`);
            overrides a table's.

        Returns
        -------
        labels : ndarray of shape (n_genes,)
            Cluster of each gene; -1 for a flat gene. With one fit clustered in one space
            (``space_`` ``"latent"``, ``"decoded"`` or ``"slopes"``) this is ``labels_`` for
            the training genes. A consensus (``n_fits > 1``, or ``space_ == "both"``, the
            usual choice of ``"auto"`` even with ``n_fits=1``) can put a gene on a cluster
            boundary in another cluster than its nearest centre, so ``predict`` may differ
            from ``labels_`` for such genes.
        """
        check_is_fitted(self)
        X, times = split_table(X, times)
        X = self._validate(X, reset=False)
        flat = flat_genes(X)
        labels = np.full(X.shape[0], -1, dtype=np.int64)
        if (~flat).any():
            points = embed(self.model_, X[~flat], self.embedding_space_, times=times)
            labels[~flat] = _nearest(points.astype(np.float64), self.embedding_centers_)
        return labels

    def generate(
        self,
        n_samples: int = 20,
        noise: bool = False,
        *,
        offset: bool = True,
        units: str = "data",
        random_state=None,
    ) -> np.ndarray:
        """New series for every cluster, drawn from the cluster's own latent spread.

        Parameters
        ----------
        n_samples : int, default=20
            Series per cluster.
        noise : bool, default=False
            Add noise as large as the cluster's members' residuals (see
            :func:`generate_around_centres`).
        offset : bool, default=True
            Shift each cluster's series by its members' mean residual, the mean of their
            series minus their reconstructions (:func:`cluster_offsets`); False gives the
            decoder's series alone.
        units : {"data", "scaled"}, default="data"
            ``"data"``: each series takes the level and spread of a member gene drawn at
            random, in the units of ``X``; ``"scaled"``: the model's scaled units.
        random_state : int, numpy Generator, RandomState or None, default=None
            Seed of the draws; None uses the seed of the fit, so repeated calls repeat.

        Returns
        -------
        ndarray of shape (n_clusters_, n_samples, n_timepoints[, n_dims])
            ``out[i]`` are cluster i's series; the layout follows ``X``. Values are not
            bounded by the data's range: for non-negative data (counts, TPM) some can be
            below 0, many more with ``noise``. They are not clipped, since clipping would
            pile values at 0 and raise the clusters' means; ``np.clip(out, 0, None)`` where
            your units cannot be negative (docs/design.md, "Generated values below zero").
        """
        check_is_fitted(self)
        return generate_around_centres(
            self.model_,
            self.cluster_centers_,
            n_samples,
            random_state=self._seed if random_state is None else random_state,
            X=self._X_fit,
            labels=self._labels_fit,
            noise=noise,
            offset=offset,
            units=units,
            space=self.generation_space_,
            space_centres=self._generation_centres(),
        )

    def _generation_centres(self):
        """The centres in ``generation_space_`` (None: the latent centres themselves)."""
        return self.embedding_centers_ if self.generation_space_ == self.embedding_space_ else None


def _warn_if_empty(labels: np.ndarray, k: int) -> None:
    """Say which clusters the final clustering left without genes, and what follows."""
    empty = np.setdiff1d(np.arange(k), labels).tolist()
    if empty:
        msg = (
            f"Clusters {empty} of {k} have no genes after the final clustering (mini-batch "
            "K-means can leave a cluster empty). Their centres are kept, so n_clusters_ "
            "counts them and generate() draws series for them from the pooled spread of the "
            "others. Ask for fewer clusters, or use cluster_method='kmeans'."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _warn_if_one_shape(share: float, space: str) -> None:
    """Say when the genes share one shape, and what the clustering did about it."""
    if share >= ONE_SHAPE_SHARE:
        return
    said = (
        f"The genes share one shape: only {share:.0%} of the variance of their z-scored "
        f"series lies between genes (below {ONE_SHAPE_SHARE:.0%})."
    )
    if space == "slopes":
        msg = (
            f"{said} They were clustered by K-means on the slopes of their z-scored series "
            "(space='slopes'), which separates such data better than the model, which learns "
            "the common shape (docs/results.md); space='both' clusters on the model instead."
        )
    else:
        msg = (
            f"{said} On such data the model learned the common shape and little else, and "
            "clustered worse than K-means on the slopes of the z-scored series "
            "(space='slopes', the default space='auto' picks it; docs/results.md)."
        )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _check_model_params(params: dict) -> set[str]:
    """RVAgene's own checks of its parameters and device, before any fit starts.

    Returns the texts of the warnings they gave (parameters without effect), which the
    fits give again and :func:`_fit_models` does not repeat.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        RVAgene(**params)._check_params()
    for w in caught:  # at the user's call of fit (or fit_predict)
        warnings.warn(str(w.message), w.category, stacklevel=user_stacklevel())
    _fit_device(params)
    return {str(w.message) for w in caught}


def _data_warnings(X, X_user) -> set[str]:
    """The texts of the fits' data warnings (extreme values, ...) not to give again.

    ``GeneClustering.fit`` gives them on the user's X; the fits see only the genes ``X``
    that are not flat, whose rows are numbered otherwise, so their copies are not repeated.
    A time point without values among those genes only (the flat genes have some) is not
    in the user's warnings: the fits give it (its columns are numbered as in the user's X).
    """
    texts = []
    for arr in (X_user, X):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_input(arr)
        texts.append({str(w.message) for w in caught})
    return texts[0] | {t for t in texts[1] if not t.startswith("X has no observed value")}


def _fit_device(params: dict):
    """The torch device the fits will run on (a bad device name raises ``ValueError``)."""
    model = RVAgene(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "cuda asked for without a GPU": the fit says it
        return resolve_device(model.device, model.cuda)


def _process_backend(params: dict) -> str | None:
    """The joblib backend for parallel fits: forked processes where that is safe, else loky.

    A forked worker starts with everything this process has imported (torch, scikit-learn,
    rvagene), where a fresh loky worker spends about 2.5 s importing them before its fit
    starts (``train_and_gen.py demosim``: 1.7 s less wall time for its 2 fits;
    docs/design.md, "Parallel fits"). Forking is used only where it is the platform's start
    method (Linux up to Python 3.13), for CPU fits, with CUDA not yet initialised (a forked
    child cannot use it), and not from a daemonic process (which cannot have children).
    Each worker runs one torch thread, as PyTorch's own forked ``DataLoader`` workers do.
    Inside a ``joblib.parallel_config`` that names another backend than loky (threads, dask,
    ...), that backend is kept: None is returned.
    """
    from joblib.parallel import BACKENDS, get_active_backend

    if not isinstance(get_active_backend()[0], BACKENDS["loky"]):
        return None  # the user's choice of backend
    if fork_is_safe() and _fit_device(params).type == "cpu":
        return "multiprocessing"
    return "loky"


def _fit_models(
    X, seeds: list[int], times, n_jobs, params: dict, warn=True, shown=frozenset()
) -> list[RVAgene]:
    """One RVAgene fit per seed, in parallel processes when ``n_jobs`` asks for them.

    The first fit's warnings are given again here (once: the same data give the same
    warnings), but not those in ``shown``, already given; ``warn=False`` gives none (nor
    that callbacks make the fits run one after another). They name the user's line
    (:func:`rvagene._utils.user_stacklevel`).
    """
    from joblib import Parallel, delayed, effective_n_jobs

    n_procs = effective_n_jobs(n_jobs)  # n_jobs, or a joblib.parallel_config's for None
    parallel = len(seeds) > 1 and n_procs > 1
    if parallel and params.get("callbacks"):
        msg = (
            f"the fits run one after another (n_jobs={n_jobs} ignored): the callbacks in "
            "model_params must run in this process to see the training, and a separate "
            "process would get copies of them."
        )
        if warn:
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
        parallel = False
    backend = _process_backend(params) if parallel else None
    logger.info(
        "fitting %d model(s), n_jobs=%s%s: random_state %s",
        len(seeds),
        n_jobs,
        f" ({backend})" if backend else "",
        seeds,
    )
    c_loops = _c_loops_here(params) if parallel else True
    jobs = (delayed(_fit_one)(params, seed, X, times, parallel, c_loops) for seed in seeds)
    with _forked_workers_ignore_sigint(backend == "multiprocessing"):
        results = Parallel(n_jobs=n_procs if parallel else 1, backend=backend)(jobs)
    for message, category in results[0][1] if warn else ():  # the same data: same warnings
        if str(message) not in shown:
            warnings.warn(message, category, stacklevel=user_stacklevel())
    for _, _, error in results:
        if error is not None:
            raise error
    return [model for model, _, _ in results]


_FORKING_FITS = {"on": False, "hook": False}  # see _forked_workers_ignore_sigint


@contextlib.contextmanager
def _forked_workers_ignore_sigint(on: bool):
    """Processes forked in the block (the fits' pool) ignore SIGINT; this process takes it.

    Ctrl-C sends SIGINT to every process of the terminal's group. A multiprocessing pool's
    worker interrupted while it waits for a task dies holding the pool's queue lock, and
    the parent then waits for ever: a ``train_and_gen.py`` run given SIGINT during its
    fits hung for 12 minutes. Workers that ignore it keep the lock sound; the parent's
    KeyboardInterrupt makes joblib terminate them. The fork hook is registered once and
    does nothing outside the block.
    """
    if not on:
        yield
        return
    if not _FORKING_FITS["hook"]:
        os.register_at_fork(after_in_child=_ignore_sigint_in_fit_worker)
        _FORKING_FITS["hook"] = True
    _FORKING_FITS["on"] = True
    try:
        yield
    finally:
        _FORKING_FITS["on"] = False


def _ignore_sigint_in_fit_worker() -> None:
    if _FORKING_FITS["on"]:
        with contextlib.suppress(ValueError):  # not the main thread: signals not ours
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _c_loops_here(params: dict) -> bool:
    """Before parallel CPU fits of a GRU: try its C loops here, once; whether they load.

    A compiler or cache problem is then said once, by this process, and not once by each
    worker (forked workers inherit the loaded loops; fresh ones load them from the cache).
    """
    model = RVAgene(**params)
    if str(model.block).upper() != "GRU" or _fit_device(params).type != "cpu":
        return True
    return _gru.kernel() is not None

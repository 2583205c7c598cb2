"""Synthetic gene-cluster time series, after RVAgene's ``gen_synthetic_data.py``.

Each cluster has a smooth mean curve built from a random sine and cosine; every gene in the
cluster is one draw from a multivariate normal around that curve, with a banded covariance
that ties neighbouring time points together. This is the generator behind the paper's
synthetic benchmarks (Mitra & MacLean 2021), with two defects of the original fixed: its
covariance was not positive semi-definite, and a random zero could give a flat cluster.

Two more generators: :func:`simulate_timecourse`, realistic bulk time courses (impulse and
sigmoid responses with per-gene timing, amplitude and heteroscedastic noise, sampled at even
or uneven times), and :func:`simulate_single_cell`, cells along a pseudotime trajectory.
"""

from __future__ import annotations

import logging
import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state

from ._utils import user_stacklevel

logger = logging.getLogger(__name__)

TIME_SPAN = 0.1  # the original's time axis is linspace(0, 0.1, 100)
_ORIGINAL_LENGTH = 100  # the covariance formula is kept exactly at this length
_METHODS = ("convolve", "add")
_MAX_CORRELATION = 0.95  # cluster means more alike than this are redrawn
_MAX_DRAWS = 1000  # tries per cluster before accepting a near-duplicate mean (with a warning)


def time_grid(sequence_length: int = 100) -> np.ndarray:
    """Return the time points of :func:`simulate`: ``linspace(0, 0.1, sequence_length)``.

    Parameters
    ----------
    sequence_length : int, default=100
        Number of time points.

    Returns
    -------
    ndarray of shape (sequence_length,)

    Examples
    --------
    >>> time_grid(3)
    array([0.  , 0.05, 0.1 ])
    """
    return np.linspace(0.0, TIME_SPAN, sequence_length)


def _as_generator(random_state) -> np.random.Generator:
    """Turn ``random_state`` (None, int, RandomState or Generator) into a Generator.

    None gives a freshly seeded Generator, so numpy's global RNG is never used or advanced.
    """
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None:
        return np.random.default_rng()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.default_rng(int(random_state))
    rs = check_random_state(random_state)  # a RandomState, or a ValueError for anything else
    return np.random.default_rng(rs.randint(np.iinfo(np.int32).max))


def _cluster_mean(rng: np.random.Generator, x: np.ndarray, method: str) -> np.ndarray | None:
    """Draw one cluster mean, min-max scaled to [-1, 1]; None if it came out flat.

    As in the original: ``a1*sin(f1*x)`` and ``a2*cos(f2*x)`` with random integer amplitudes
    and frequencies, convolved ('same') or added. The integers are drawn from 1..99 rather
    than 0..99, because a 0 amplitude (or a 0 sine frequency) makes the curve constant.
    """
    a1, f1, a2, f2 = rng.integers(1, 100, size=4)
    sine = a1 * np.sin(f1 * x)
    cosine = a2 * np.cos(f2 * x)
    y = np.convolve(sine, cosine, mode="same") if method == "convolve" else sine + cosine
    span = np.ptp(y)
    if not span > 1e-12 * max(1.0, float(np.max(np.abs(y)))):
        return None
    return 2.0 * (y - y.min()) / span - 1.0


def _psd_factor(cov: np.ndarray) -> np.ndarray:
    """Return ``L`` with ``L @ L.T`` the nearest PSD matrix to symmetric ``cov`` (Frobenius).

    The nearest positive semi-definite matrix keeps the eigenvectors and clips negative
    eigenvalues to 0 (Higham 1988), so ``L = V * sqrt(max(w, 0))``.
    """
    w, V = np.linalg.eigh(cov)
    return V * np.sqrt(np.clip(w, 0.0, None))


def _banded_covariance(
    y: np.ndarray, bandwidth: int | None = None, *, project: bool = True
) -> np.ndarray:
    """Return the covariance that genes around the cluster mean ``y`` are drawn with.

    The original's ``(y + 0.1)(y + 0.1)^T / (y . y)`` with entries more than ``bandwidth``
    steps off the diagonal set to 0. ``bandwidth`` defaults to ``len(y) // 2`` (50 at the
    original 100 points), and the denominator is scaled by ``100 / len(y)`` so that the
    noise per time point does not depend on the number of points (exact at 100 points).
    Banding breaks positive semi-definiteness; with ``project=True`` (what
    :func:`simulate` samples from) the result is projected onto the PSD cone.
    """
    y = np.asarray(y, dtype=np.float64)
    n = y.shape[0]
    if bandwidth is None:
        bandwidth = n // 2
    v = y + 0.1
    cov = np.outer(v, v) / (float(y @ y) * _ORIGINAL_LENGTH / n)
    steps = np.arange(n)
    cov[np.abs(steps[:, None] - steps[None, :]) > bandwidth] = 0.0
    if project:
        factor = _psd_factor(cov)
        cov = factor @ factor.T
    return cov


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_real(name: str, value) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        msg = f"{name} must be a finite number >= 0, got {value!r}."
        raise ValueError(msg)
    return float(value)


def _cluster_sizes(genes_per_cluster, n_clusters: int) -> np.ndarray:
    if _is_int(genes_per_cluster):
        sizes = [genes_per_cluster] * n_clusters
    elif isinstance(genes_per_cluster, (Sequence, np.ndarray)) and not isinstance(
        genes_per_cluster, str
    ):
        sizes = list(genes_per_cluster)
        if len(sizes) != n_clusters:
            msg = (
                f"genes_per_cluster has {len(sizes)} entries but n_clusters is {n_clusters}; "
                "give one size per cluster or a single int."
            )
            raise ValueError(msg)
    else:
        msg = f"genes_per_cluster must be an int or a sequence of ints, got {genes_per_cluster!r}."
        raise ValueError(msg)
    if not all(_is_int(s) and s >= 1 for s in sizes):
        msg = f"genes_per_cluster must be >= 1 for every cluster, got {genes_per_cluster!r}."
        raise ValueError(msg)
    return np.asarray(sizes, dtype=np.int64)


def _distinct_means(
    rng: np.random.Generator, x: np.ndarray, n_clusters: int, method: str
) -> np.ndarray:
    """Draw ``n_clusters`` non-flat means, redrawing any that correlate > 0.95 with another.

    When one cluster finds no distinct mean in ``_MAX_DRAWS`` tries (short series, many
    clusters), the series have no room for more distinct shapes: it and every later
    cluster keep their first non-flat draw, with one warning. (Checking each later cluster
    too cost each one ``_MAX_DRAWS`` draws against all earlier means: an hour for 1000
    clusters of 5 points, and a warning per cluster.) Before that, the draws are as always,
    so a seed gives the same data.
    """
    means: list[np.ndarray] = []
    crowded = None  # the first cluster without a distinct mean
    for k in range(n_clusters):
        candidate = None
        for _ in range(_MAX_DRAWS):
            y = _cluster_mean(rng, x, method)
            if y is None:
                continue
            candidate = y
            if crowded is not None or not means:
                break
            if np.corrcoef(np.vstack([*means, y]))[-1, :-1].max() <= _MAX_CORRELATION:
                break
        else:
            if candidate is None:
                msg = f"Could not draw a non-flat cluster mean in {_MAX_DRAWS} tries."
                raise RuntimeError(msg)
            crowded = k
        means.append(candidate)
    if crowded is not None:
        rest = crowded + 1
        kept = (
            f"it and clusters {rest} to {n_clusters - 1} were" if rest < n_clusters else "it was"
        )
        msg = (
            f"Cluster {crowded}'s mean correlates > {_MAX_CORRELATION} with another cluster's "
            f"after {_MAX_DRAWS} draws; {kept} kept as drawn, so some clusters may be hard to "
            "tell apart. Use fewer clusters or a longer sequence_length."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    return np.vstack(means)


def simulate(
    n_clusters: int = 6,
    genes_per_cluster: int | Sequence[int] = 20,
    sequence_length: int = 100,
    method: str = "convolve",
    noise: float = 1.0,
    gene_scale: float = 0.0,
    gene_offset: float = 0.0,
    random_state=None,
    return_means: bool = False,
):
    """Simulate clusters of gene expression time series, as in RVAgene's synthetic data.

    Each cluster mean is built on ``x = linspace(0, 0.1, sequence_length)`` from
    ``s = a1 * sin(f1 * x)`` and ``c = a2 * cos(f2 * x)`` with random integers ``a1, f1, a2,
    f2`` in 1..99: ``method="convolve"`` takes ``np.convolve(s, c, "same")``, ``method="add"``
    takes ``s + c``; the curve ``y`` is then min-max scaled to [-1, 1]. Each gene of the
    cluster is a draw from a multivariate normal with mean ``y`` and covariance
    ``noise * (y + 0.1)(y + 0.1)^T / (y . y)``, with entries more than ``sequence_length // 2``
    steps off the diagonal set to 0 (see Notes for the fixes to this recipe).

    Parameters
    ----------
    n_clusters : int, default=6
        Number of clusters (distinct mean curves), at least 1.
    genes_per_cluster : int or sequence of int, default=20
        Genes per cluster: one int for equal clusters, or one size per cluster (for example
        ``[5, 20, 60]``) for imbalanced ones. Each at least 1.
    sequence_length : int, default=100
        Number of time points, at least 2. The time axis stays ``[0, 0.1]``, so a longer
        series samples the same kind of curve more finely.
    method : {"convolve", "add"}, default="convolve"
        How the sine and cosine are combined into a cluster mean.
    noise : float, default=1.0
        Multiplies the covariance; 1 is the original's noise level, larger values spread the
        genes of a cluster further from its mean (standard deviation grows as
        ``sqrt(noise)``), 0 gives every gene its cluster mean exactly.
    gene_scale : float, default=0.0
        When > 0, each gene is multiplied by its own positive factor drawn from a lognormal
        with ``sigma=gene_scale`` (median 1), after sampling. Clusters then differ in shape
        while genes differ in scale, as real genes do.
    gene_offset : float, default=0.0
        When > 0, each gene is shifted by its own offset drawn from a normal with standard
        deviation ``gene_offset``, after sampling and scaling.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, \
default=None
        Seed or random generator. An int gives the same data on every call; None gives fresh
        data. numpy's global random state is never used.
    return_means : bool, default=False
        Also return the cluster means.

    Returns
    -------
    X : ndarray of shape (n_genes, sequence_length), float64
        One gene per row, the genes of cluster 0 first, then cluster 1, and so on.
        ``n_genes`` is the total of the cluster sizes.
    labels : ndarray of shape (n_genes,), int64
        The cluster of each gene, 0 to ``n_clusters - 1``, in non-decreasing order.
    means : ndarray of shape (n_clusters, sequence_length), float64
        The cluster means (before ``gene_scale`` and ``gene_offset``); only returned when
        ``return_means=True``.

    Raises
    ------
    ValueError
        If an argument is out of range (for example ``n_clusters < 1``,
        ``sequence_length < 2``, an unknown ``method`` or a negative ``noise``).

    Warns
    -----
    UserWarning
        If no cluster mean distinct from the others (correlation <= 0.95) was found in 1000
        draws, which happens only for very short series or very many clusters.

    See Also
    --------
    time_grid : the time points the series are sampled at.

    Notes
    -----
    Differences from the original generator (defect 12 of the original tool):

    * **Positive semi-definite covariance.** Zeroing the entries far from the diagonal
      turns the rank-one matrix ``v v^T`` into an indefinite one: at 100 points its smallest
      eigenvalue is typically about -0.13 times its largest. numpy's
      ``multivariate_normal`` warned (the original hid the warning) and, through its SVD,
      in effect sampled from ``V |W| V^T``, about 34 % (Frobenius) away from the stated
      matrix. Here the banded matrix is projected onto the positive semi-definite cone,
      keeping its eigenvectors and clipping negative eigenvalues to 0, which is the nearest
      PSD matrix in Frobenius norm. Over 1000 random means at 100 points this moves the
      matrix by a median 17 % (at most 20 %) of its Frobenius norm and raises its trace, the
      total variance per gene, by a median 1.55 times (1.1 to 1.65). Genes are drawn as
      ``y + sqrt(noise) * Z @ L.T`` with ``L = V sqrt(max(W, 0))``.
    * **No flat clusters.** The original drew amplitudes and frequencies from 0..99; a 0
      amplitude or a 0 sine frequency makes the curve constant (with ``"convolve"``, 18 % of
      6-cluster data sets had a flat cluster). Here the integers are drawn from 1..99, and
      any curve that is still constant is redrawn.
    * **Distinguishable clusters.** In the original more than half of the 6-cluster data sets
      had two means correlated above 0.95. A mean that correlates above 0.95 with an
      earlier one is redrawn (up to 1000 times, then kept with a warning; the clusters
      after it, for which a short series has no room either, keep their first draw).
    * **Other lengths.** The off-diagonal band is ``sequence_length // 2`` steps and the
      covariance denominator is ``(y . y) * 100 / sequence_length``, so both match the
      original at 100 points and the noise per point does not change with the length.
    * Genes are labelled 0 to ``n_clusters - 1``, as in the original's files.

    References
    ----------
    .. [1] R. Mitra and A. L. MacLean, "RVAgene: generative modeling of gene expression time
       series data", Bioinformatics 37(19):3252-3262, 2021.
    .. [2] N. J. Higham, "Computing a nearest symmetric positive semidefinite matrix",
       Linear Algebra and its Applications 103:103-118, 1988.

    Examples
    --------
    >>> from rvagene.simulate import simulate
    >>> X, labels = simulate(n_clusters=3, genes_per_cluster=4, sequence_length=8,
    ...                      random_state=0)
    >>> X.shape, labels.tolist()
    ((12, 8), [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])

    Imbalanced clusters, with their means:

    >>> X, labels, means = simulate(n_clusters=2, genes_per_cluster=[2, 5], random_state=0,
    ...                             return_means=True)
    >>> X.shape, means.shape, labels.tolist()
    ((7, 100), (2, 100), [0, 0, 1, 1, 1, 1, 1])
    >>> means.min(axis=1).tolist(), means.max(axis=1).tolist()
    ([-1.0, -1.0], [1.0, 1.0])
    """
    if not _is_int(n_clusters) or n_clusters < 1:
        msg = f"n_clusters must be an int >= 1, got {n_clusters!r}."
        raise ValueError(msg)
    if not _is_int(sequence_length) or sequence_length < 2:
        msg = f"sequence_length must be an int >= 2, got {sequence_length!r}."
        raise ValueError(msg)
    if method not in _METHODS:
        msg = f"method must be 'convolve' or 'add', got {method!r}."
        raise ValueError(msg)
    sizes = _cluster_sizes(genes_per_cluster, n_clusters)
    noise = _check_real("noise", noise)
    gene_scale = _check_real("gene_scale", gene_scale)
    gene_offset = _check_real("gene_offset", gene_offset)
    rng = _as_generator(random_state)

    x = time_grid(sequence_length)
    means = _distinct_means(rng, x, n_clusters, method)
    labels = np.repeat(np.arange(n_clusters, dtype=np.int64), sizes)
    # One standard-normal block for all genes (drawn even when noise is 0, so that the
    # gene_scale and gene_offset draws do not depend on it), coloured cluster by cluster.
    Z = rng.standard_normal((len(labels), sequence_length))  # (n_genes, time)
    X = means[labels]  # (n_genes, time)
    for k in range(n_clusters if noise > 0 else 0):
        rows = labels == k
        factor = _psd_factor(_banded_covariance(means[k], project=False))  # (time, time)
        X[rows] += np.sqrt(noise) * (Z[rows] @ factor.T)
    if gene_scale > 0:
        X *= rng.lognormal(0.0, gene_scale, size=(len(X), 1))
    if gene_offset > 0:
        X += rng.normal(0.0, gene_offset, size=(len(X), 1))
    logger.debug("simulated %d genes in %d clusters (%s)", len(X), n_clusters, method)
    if return_means:
        return X, labels, means
    return X, labels


# ------------------------------------------------------------------ single-cell trajectories

PROGRAMS = ("up", "down", "transient_early", "transient_late", "flat")


def _program_curve(program: str, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return one gene's activity in [0, 1] along true time ``t`` for a named program.

    Each gene of a program gets its own jittered switch time or peak, so genes of one
    program share a shape without being copies.
    """
    if program in ("up", "down"):
        centre, width = rng.uniform(0.4, 0.6), rng.uniform(0.1, 0.2)
        rise = 1.0 / (1.0 + np.exp(-(t - centre) / width))
        return rise if program == "up" else 1.0 - rise
    if program in ("transient_early", "transient_late"):
        early = program == "transient_early"
        peak, width = rng.uniform(0.25, 0.35) if early else rng.uniform(0.55, 0.65), 0.1
        return np.exp(-0.5 * ((t - peak) / width) ** 2)
    return np.full_like(t, 0.5)  # flat


def simulate_single_cell(
    n_cells: int = 1500,
    n_genes_per_program: int = 20,
    programs: Sequence[str] = PROGRAMS,
    dropout: float = 0.5,
    dispersion: float = 5.0,
    random_state=None,
):
    """Simulate single-cell counts along one branch-free differentiation trajectory.

    Every cell gets a true time ``t`` drawn uniformly on [0, 1]. Every gene follows one
    expression program, a curve ``f(t)`` in [0, 1]: ``"up"`` (a logistic switch on,
    centred between 0.4 and 0.6, with a scale of 0.1-0.2 so it rises over most of the
    trajectory), ``"down"`` (the same switching off), ``"transient_early"`` and
    ``"transient_late"`` (Gaussian peaks at 0.25-0.35 and 0.55-0.65, sd 0.1) or ``"flat"``
    (constant). A gene's mean count in a cell is
    ``mu = size * base * fold ** f(t)``, with a per-gene baseline ``base`` (lognormal,
    median 1), a per-gene fold change ``fold`` between 8 and 30 and a per-cell size factor
    ``size`` (lognormal, sd 0.1 on the log scale). Counts are negative-binomial with mean
    ``mu`` and variance ``mu + mu**2 / dispersion``; then each count is set to zero with
    probability ``dropout / (1 + mu)``, so dropout hits lowly expressed genes hardest.

    Because every programmed gene moves smoothly with ``t`` and the switches are gradual,
    the cells lie on a one-dimensional curve in expression space that keeps moving until
    the end, and diffusion pseudotime computed from the cell with the smallest ``t``
    recovers their order (see :func:`rvagene.single_cell.prepare`; with the defaults,
    windows of 40 cells follow true time with a Spearman correlation above 0.99). Cells
    near the end are ordered least well, as DPT distances saturate there; a late peak
    closer to the end, or sharper switches, blur the late windows.

    Parameters
    ----------
    n_cells : int, default=1500
        Number of cells, at least 2. Cells are stored in random order, not sorted by time.
    n_genes_per_program : int, default=20
        Genes per program, at least 1.
    programs : sequence of str, default=("up", "down", "transient_early", \
"transient_late", "flat")
        Programs to simulate, in the order the genes are stored; each may appear once.
    dropout : float, default=0.5
        Dropout probability of a gene with mean 0, in [0, 1]; a count with mean ``mu`` is
        zeroed with probability ``dropout / (1 + mu)``. 0 disables dropout.
    dispersion : float, default=5.0
        Size parameter (inverse dispersion, ``theta``) of the negative binomial, > 0:
        the variance is ``mu + mu**2 / theta``, so smaller values give noisier counts.
    random_state : int, numpy.random.Generator, RandomState or None, default=None
        Seed or generator; numpy's global random state is never used.

    Returns
    -------
    adata : anndata.AnnData
        ``n_cells x (len(programs) * n_genes_per_program)`` float32 counts, with
        ``obs_names`` ``cell_0000, ...``, ``var_names`` ``gene_000, ...``,
        ``obs["true_time"]`` (float), ``var["program"]`` (categorical, the ground truth)
        and ``uns["root_cell"]``, the integer index of the cell with the smallest true
        time, to use as the DPT root (also as ``uns["iroot"]``, scanpy's name, so that
        :func:`rvagene.single_cell.prepare` and ``train_and_gen.py`` compute diffusion
        pseudotime from it when given no other). There is no pseudotime column: compute one
        with :func:`rvagene.single_cell.compute_pseudotime`.

    Raises
    ------
    ValueError
        If an argument is out of range or a program name is unknown or repeated.

    Examples
    --------
    >>> from rvagene.simulate import simulate_single_cell
    >>> adata = simulate_single_cell(n_cells=100, n_genes_per_program=3, random_state=0)
    >>> adata.shape
    (100, 15)
    >>> int((adata.var["program"] == "up").sum()), adata.uns["root_cell"] < 100
    (3, True)
    """
    import anndata
    import pandas as pd

    if not _is_int(n_cells) or n_cells < 2:
        msg = f"n_cells must be an int >= 2, got {n_cells!r}."
        raise ValueError(msg)
    if not _is_int(n_genes_per_program) or n_genes_per_program < 1:
        msg = f"n_genes_per_program must be an int >= 1, got {n_genes_per_program!r}."
        raise ValueError(msg)
    programs = [programs] if isinstance(programs, str) else list(programs)
    unknown = [p for p in programs if p not in PROGRAMS]
    if not programs or unknown or len(set(programs)) != len(programs):
        msg = (
            f"programs must be distinct names from {PROGRAMS}, got {programs!r}. "
            "List each program once."
        )
        raise ValueError(msg)
    dropout = _check_real("dropout", dropout)
    if dropout > 1:
        msg = f"dropout must be in [0, 1], got {dropout!r}."
        raise ValueError(msg)
    dispersion = _check_real("dispersion", dispersion)
    if dispersion == 0:
        msg = "dispersion must be > 0 (smaller is noisier); got 0."
        raise ValueError(msg)
    rng = _as_generator(random_state)

    t = rng.uniform(0.0, 1.0, size=n_cells)  # (cells,)
    labels = np.repeat(programs, n_genes_per_program)  # (genes,)
    curves = np.column_stack([_program_curve(p, t, rng) for p in labels])  # (cells, genes)
    base = rng.lognormal(0.0, 0.5, size=len(labels))  # (genes,)
    fold = rng.uniform(8.0, 30.0, size=len(labels))  # (genes,)
    size = rng.lognormal(0.0, 0.1, size=(n_cells, 1))  # (cells, 1)
    mu = size * base * fold**curves  # (cells, genes)
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mu))
    counts[rng.uniform(size=mu.shape) < dropout / (1.0 + mu)] = 0

    obs = pd.DataFrame({"true_time": t}, index=[f"cell_{i:04d}" for i in range(n_cells)])
    var = pd.DataFrame(
        {"program": pd.Categorical(labels, categories=programs)},
        index=[f"gene_{j:03d}" for j in range(len(labels))],
    )
    adata = anndata.AnnData(counts.astype(np.float32), obs=obs, var=var)
    adata.uns["root_cell"] = int(np.argmin(t))
    adata.uns["iroot"] = adata.uns["root_cell"]  # scanpy's name: DPT's root, prepare's default
    logger.debug("simulated %d cells x %d genes (%s)", n_cells, len(labels), ", ".join(programs))
    return adata


RESPONSES = ("impulse", "sigmoid", "mixed")
_PROTOTYPE_MAX_CORRELATION = 0.9  # cluster shapes more alike than this are redrawn


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50.0, 50.0)))


def _response(t: np.ndarray, shape: dict) -> np.ndarray:
    """A response in [-1, 1] at times ``t``: impulse (two sigmoids) or one sigmoid."""
    rise = _sigmoid(shape["slope"] * (t - shape["onset"]))
    if shape["kind"] == "sigmoid":
        return rise
    fall = _sigmoid(-shape["slope"] * (t - shape["offset"]))
    return rise * (shape["final"] + (1.0 - shape["final"]) * fall)  # Chechik & Koller, h0 = 0


def _draw_shape(rng: np.random.Generator, kind: str, t_max: float) -> dict:
    onset = rng.uniform(0.03, 0.6) * t_max
    return {
        "kind": kind,
        "sign": rng.choice([-1.0, 1.0]),
        "onset": onset,
        "offset": onset + rng.uniform(0.1, 0.45) * t_max,
        "slope": rng.uniform(8.0, 30.0) / t_max,
        "final": rng.uniform(-0.3, 0.5),  # level after the impulse, relative to its peak
    }


def sampling_times(n_timepoints: int, spacing: str = "uneven", t_max: float = 24.0):
    """Return the sampling times of :func:`simulate_timecourse`.

    Parameters
    ----------
    n_timepoints : int
        Number of time points, at least 2.
    spacing : {"even", "uneven"}, default="uneven"
        ``"even"``: equally spaced on ``[0, t_max]``. ``"uneven"``: dense early and sparse
        late, as in most time-course designs (``t_max * (exp(3u) - 1) / (exp(3) - 1)`` for
        ``u`` equally spaced on [0, 1]).
    t_max : float, default=24.0
        Time of the last sample (for example hours).

    Returns
    -------
    ndarray of shape (n_timepoints,)

    Examples
    --------
    >>> sampling_times(4, "even", t_max=3.0)
    array([0., 1., 2., 3.])
    """
    if not _is_int(n_timepoints) or n_timepoints < 2:
        msg = f"n_timepoints must be an integer >= 2, got {n_timepoints!r}."
        raise ValueError(msg)
    if spacing not in ("even", "uneven"):
        msg = f"spacing must be 'even' or 'uneven', got {spacing!r}."
        raise ValueError(msg)
    u = np.linspace(0.0, 1.0, int(n_timepoints))
    if spacing == "uneven":
        u = np.expm1(3.0 * u) / np.expm1(3.0)
    return float(t_max) * u


def simulate_timecourse(
    n_clusters: int = 6,
    genes_per_cluster: int | Sequence[int] | None = None,
    n_timepoints: int = 12,
    spacing: str = "uneven",
    response: str = "impulse",
    onset_jitter: float = 0.03,
    amplitude_sigma: float = 0.5,
    noise: float = 0.2,
    n_outliers: int = 3,
    t_max: float = 24.0,
    random_state=None,
):
    """Simulate a bulk expression time course: genes responding in clusters of shared shape.

    Each cluster has a response shape: an impulse (a rise to a peak, then a fall to a new
    level; the double sigmoid of Chechik & Koller 2009) or a single sigmoid switch, going up
    or down, with its own onset, duration and steepness. Every gene follows its cluster's
    shape with its own onset shift, amplitude and baseline, on a log2 expression scale::

        x_g(t) = b_g + sign_c * a_g * f_c(t - d_g) + noise

    with ``b_g ~ N(6, 1.5)`` (log2 level), ``a_g ~ LogNormal(log 2, amplitude_sigma)``
    (log2 fold change, median 2), ``d_g ~ N(0, onset_jitter * t_max)``. The noise is
    heteroscedastic: its standard deviation is ``noise * sqrt(1 + 2 ** (4 - x_g(t)))``
    times a per-gene factor ``LogNormal(0, 0.3)``, so weakly expressed genes and time points
    are noisier, as with counts. ``n_outliers`` genes get one spike of 2 to 4 median
    amplitudes at a random time point; they keep their cluster's label.

    Parameters
    ----------
    n_clusters : int, default=6
        Number of clusters (response shapes), at least 1.
    genes_per_cluster : int, sequence of int or None, default=None
        Genes per cluster. None: imbalanced sizes from 5 to 60 (geometrically spaced, in a
        random order); an int: equal clusters; a sequence: one size per cluster.
    n_timepoints : int, default=12
        Number of sampling times, at least 2.
    spacing : {"even", "uneven"}, default="uneven"
        Sampling design, see :func:`sampling_times`.
    response : {"impulse", "sigmoid", "mixed"}, default="impulse"
        Shape family of the clusters; ``"mixed"`` draws each cluster's family at random.
    onset_jitter : float, default=0.03
        Standard deviation of each gene's onset shift, as a fraction of ``t_max``.
    amplitude_sigma : float, default=0.5
        Log-normal sigma of the per-gene amplitudes.
    noise : float, default=0.2
        Noise standard deviation (log2 units) of a well-expressed gene.
    n_outliers : int, default=3
        Genes that get one outlying time point.
    t_max : float, default=24.0
        Time of the last sample.
    random_state : int, numpy.random.RandomState, numpy.random.Generator or None, \
default=None
        Seed or random generator; numpy's global random state is never used.

    Returns
    -------
    X : ndarray of shape (n_genes, n_timepoints), float64
        Log2 expression, one gene per row, cluster 0's genes first.
    labels : ndarray of shape (n_genes,), int64
        The cluster of each gene.
    times : ndarray of shape (n_timepoints,)
        The sampling times (pass them as ``RVAgene.fit(X, times=times)``).

    Raises
    ------
    ValueError
        If an argument is out of range.

    References
    ----------
    G. Chechik and D. Koller, "Timing of gene expression responses to environmental changes",
    Journal of Computational Biology 16(2):279-290 (2009).

    Examples
    --------
    >>> X, labels, times = simulate_timecourse(n_clusters=3, n_timepoints=8, random_state=0)
    >>> X.shape[1], times.shape, sorted(set(labels.tolist()))
    (8, (8,), [0, 1, 2])
    """
    if not _is_int(n_clusters) or n_clusters < 1:
        msg = f"n_clusters must be an integer >= 1, got {n_clusters!r}."
        raise ValueError(msg)
    if response not in RESPONSES:
        msg = f"response must be one of {', '.join(RESPONSES)}, got {response!r}."
        raise ValueError(msg)
    onset_jitter = _check_real("onset_jitter", onset_jitter)
    amplitude_sigma = _check_real("amplitude_sigma", amplitude_sigma)
    noise = _check_real("noise", noise)
    t_max = _check_real("t_max", t_max)
    if t_max == 0:
        msg = "t_max must be > 0."
        raise ValueError(msg)
    times = sampling_times(n_timepoints, spacing, t_max)
    rng = _as_generator(random_state)
    if genes_per_cluster is None:
        sizes = np.rint(np.geomspace(5, 60, n_clusters)).astype(np.int64)
        sizes = rng.permutation(sizes if n_clusters > 1 else np.array([20]))
    else:
        sizes = _cluster_sizes(genes_per_cluster, n_clusters)
    n_genes = int(sizes.sum())
    if not _is_int(n_outliers) or not 0 <= n_outliers <= n_genes:
        msg = f"n_outliers must be an integer from 0 to the number of genes, got {n_outliers!r}."
        raise ValueError(msg)

    grid = np.linspace(0.0, t_max, 200)
    shapes: list[dict] = []
    while len(shapes) < n_clusters:
        kind = response if response != "mixed" else rng.choice(["impulse", "sigmoid"])
        for _ in range(_MAX_DRAWS):
            shape = _draw_shape(rng, str(kind), t_max)
            curve = shape["sign"] * _response(grid, shape)
            if all(
                np.corrcoef(curve, s["sign"] * _response(grid, s))[0, 1]
                <= _PROTOTYPE_MAX_CORRELATION
                for s in shapes
            ):
                break
        shapes.append(shape)

    labels = np.repeat(np.arange(n_clusters), sizes)
    base = rng.normal(6.0, 1.5, n_genes)
    amplitude = rng.lognormal(np.log(2.0), amplitude_sigma, n_genes)
    shift = rng.normal(0.0, onset_jitter * t_max, n_genes)
    X = np.empty((n_genes, times.size))
    for g, c in enumerate(labels):
        X[g] = base[g] + shapes[c]["sign"] * amplitude[g] * _response(times - shift[g], shapes[c])
    sd = noise * np.sqrt(1.0 + 2.0 ** (4.0 - X)) * rng.lognormal(0.0, 0.3, (n_genes, 1))
    X += sd * rng.standard_normal(X.shape)
    for g in rng.choice(n_genes, size=int(n_outliers), replace=False):
        X[g, rng.integers(times.size)] += rng.choice([-1.0, 1.0]) * rng.uniform(4.0, 8.0)
    return X, labels, times

"""Cluster the genes of an AnnData and write the results back where scanpy users look.

:func:`cluster_anndata` takes single cells (cells are ordered by pseudotime and averaged
over windows, :func:`rvagene.single_cell.prepare`) or bulk samples (samples x genes, each
sample's time in an ``.obs`` column, ``time_key``), clusters the genes with
:class:`rvagene.GeneClustering` and adds

- ``adata.var["rvagene_cluster"]``: categorical, the cluster of each gene (``"0"``,
  ``"1"``, ...), ``"flat"`` for a gene with no variance over time (a category only when
  there is such a gene: scanpy's grouped plots refuse an empty group), NaN for a gene not
  analysed (subset to the analysed, non-flat genes before scanpy calls that refuse NaN);
- ``adata.var["rvagene_confidence"]``: the membership probability of the gene's own cluster
  (``GeneClustering.confidence_``);
- ``adata.var["rvagene_reconstruction_r2"]``: the share of the gene's variance over time that
  the model's reconstruction explains (``GeneClustering.reconstruction_r2_``);
- ``adata.varm["X_rvagene"]``: the genes' latent means (NaN rows for genes not analysed
  and flat genes);
- ``adata.varm["rvagene_series"]``: the series that were clustered, one column per window
  (or distinct sample time), in the values' units (NaN rows for genes not analysed): with
  ``uns["rvagene"]``'s ``window_pseudotime`` (or ``times``) they redraw a cluster's trend
  without running ``prepare`` again;
- ``adata.uns["rvagene"]``: k, the scores of each k tried (when k was chosen, not given),
  the matrix averaged (``values``: ``"adata.X"`` or ``"adata.layers['<layer>']"``),
  the parameters (JSON), the rvagene version, the pseudotime key (or time key) and the
  windows; in ``train_and_gen.py``'s ``.h5ad`` also its generated series (``generated``).

Nothing else in ``adata`` changes. scanpy and anndata (``pip install "rvagene[singlecell]"``)
are imported inside the functions.

Examples
--------
>>> from rvagene.simulate import simulate_single_cell
>>> from rvagene.annotate import cluster_anndata
>>> from rvagene import GeneClustering
>>> adata = simulate_single_cell(n_cells=200, n_genes_per_program=3, random_state=0)
>>> adata.obs["pt"] = adata.obs["true_time"]
>>> params = {"hidden_size": 8, "latent_length": 2, "n_epochs": 2}
>>> gc = GeneClustering(n_clusters=2, random_state=0, model_params=params)
>>> cluster_anndata(adata, gc, pseudotime="pt", window_length=20)
>>> sorted(adata.var["rvagene_cluster"].cat.categories)  # no flat gene: no "flat"
['0', '1']
>>> adata.varm["X_rvagene"].shape
(15, 2)
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from ._utils import package_version, user_stacklevel
from .data import _MISSING, _all_missing, _label_times, _prefixed_times, _uneven_times
from .pipeline import GeneClustering
from .single_cell import values_name

__all__ = ["FLAT", "cluster_anndata"]

FLAT = "flat"
INSTALL = 'pip install "rvagene[singlecell]"'


def _require_anndata():
    try:
        import anndata
        import pandas as pd
    except ImportError as err:
        msg = f"rvagene.annotate needs anndata ({err}); install it with {INSTALL}"
        raise ImportError(msg) from None
    return anndata, pd


def cluster_anndata(
    adata,
    clustering: GeneClustering | None = None,
    *,
    pseudotime=None,
    root_cell=None,
    window_length: int | None = None,
    n_bins: int | None = None,
    genes=None,
    time_key: str | None = None,
    layer: str | None = None,
    copy: bool = False,
):
    """Cluster an AnnData's genes by their time courses; write the results into it.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells (or samples) x genes.
    clustering : GeneClustering, optional
        The (unfitted) estimator to use; it is fitted here. Default:
        ``GeneClustering(random_state=0)``.
    pseudotime : str or array-like, optional
        Single cells: the ``.obs`` column of the pseudotime, or its values (see
        :func:`rvagene.single_cell.prepare`).
    root_cell : int or str, optional
        Single cells: compute diffusion pseudotime from this cell instead.
    window_length : int, optional
        Single cells: cells per window along pseudotime (default: 40 without ``n_bins``).
    n_bins : int, optional
        Single cells: equal-frequency pseudotime bins instead of windows (give one of
        ``window_length`` and ``n_bins``).
    genes : sequence of str or boolean mask, optional
        Genes to analyse (default: all), by name or one bool per gene
        (``adata.var["highly_variable"]``); the others get NaN. Names not in the data are
        skipped with a warning.
    time_key : str, optional
        Bulk data: the ``.obs`` column holding each sample's time, as numbers or as times
        with a unit (``"0h"``, ``"30min"``; mixed units are converted to hours, as in a
        table's header). Samples at the same time are averaged (NaN-aware); the series are
        fitted with the sorted distinct times when they are uneven, and as steps when even
        (as a table's times, and as ``train_and_gen.py --time-key`` fits them).
    layer : str, optional
        Use ``adata.layers[layer]`` (e.g. log-normalised values kept beside raw counts)
        instead of ``adata.X``, in both paths (for single cells, as
        :func:`rvagene.single_cell.prepare`'s ``layer``).
    copy : bool, default=False
        Return an annotated copy instead of annotating ``adata`` in place.

    Returns
    -------
    anndata.AnnData or None
        The annotated copy when ``copy=True``, else None.

    Raises
    ------
    ValueError
        Before any fit, if ``adata.var_names`` repeat a name (the results are written back
        by gene name): make them unique with ``adata.var_names_make_unique()``; or if
        ``time_key`` is given with ``pseudotime``, ``root_cell``, ``window_length`` or
        ``n_bins``, which apply to single cells only.
    """
    _require_anndata()
    _check_unique_genes(adata)
    cell_options = {"pseudotime": pseudotime, "root_cell": root_cell,
                    "window_length": window_length, "n_bins": n_bins}  # fmt: skip
    _check_bulk_choice(time_key, cell_options)
    adata = adata.copy() if copy else adata
    gc = clustering if clustering is not None else GeneClustering(random_state=0)
    if time_key is not None:
        X, times, names = bulk_series(adata, time_key, genes, layer=layer)
        gc.fit(X, times=_uneven_times(times))  # even times are steps, as from a table
        times = np.asarray(times, dtype=np.float64)
        where = {"time_key": time_key, "times": times, "values": values_name(layer)}
    else:
        from .single_cell import prepare

        series = prepare(adata, genes=genes, pseudotime=pseudotime, root_cell=root_cell,
                         window_length=window_length, n_bins=n_bins, layer=layer)  # fmt: skip
        gc.fit(series)
        names = list(series.genes)
        where = windows_info(series)
    write_results(adata, gc, names, gc.labels_, where, X if time_key is not None else series.X)
    return adata if copy else None


def _check_bulk_choice(time_key, cell_options: dict) -> None:
    """A ValueError when ``time_key`` comes with a single-cell option, which it would ignore.

    Before, the samples were averaged by ``time_key`` and the option dropped without a word
    (``train_and_gen.py`` refused the same pair).
    """
    given = [name for name, value in cell_options.items() if value is not None]
    if time_key is not None and given:
        msg = (
            f"{given[0]} applies to single cells ordered by pseudotime; with time_key the "
            "samples at each time are averaged, so it would be ignored. Leave it out, or "
            "leave out time_key."
        )
        raise ValueError(msg)


def _check_column(name: str, key: str, frame, where: str, hint: str = "") -> None:
    """A ValueError naming ``name`` and ``frame``'s columns when ``key`` is not one of them.

    ``name``: the option as the user gave it (``time_key``; ``--time-key`` in the script).
    """
    if key not in frame.columns:
        columns = ", ".join(map(str, frame.columns[:8])) or "none"
        more = ", ..." if len(frame.columns) > 8 else ""
        msg = f"{name} {key!r} is not a {where} column (the columns: {columns}{more}){hint}."
        raise ValueError(msg)


def _check_unique_genes(adata) -> None:
    """Gene names that each name one gene, or a ValueError naming the fix."""
    names = adata.var_names
    if not names.is_unique:
        repeated = list(dict.fromkeys(map(str, names[names.duplicated()])))
        msg = (
            f"adata.var_names repeat {len(repeated)} name(s) ({', '.join(repeated[:3])}"
            f"{', ...' if len(repeated) > 3 else ''}), so the results cannot be written back "
            "by gene name. Make them unique first: adata.var_names_make_unique()."
        )
        raise ValueError(msg)


def bulk_series(adata, time_key: str, genes=None, layer: str | None = None):
    """Genes x distinct times: the mean of the samples at each time; the times; gene names.

    ``layer``: average ``adata.layers[layer]`` instead of ``adata.X``.
    """
    _check_column("time_key", time_key, adata.obs, ".obs", "; give the column of sample times")
    from .single_cell import (
        _check_layer,
        _dense,
        _group_means,
        _in_memory,
        _is_sparse,
        check_no_infinity,
        select_genes,
    )

    _check_layer(adata, layer)
    times = _sample_times(adata.obs[time_key], time_key)
    if genes is not None:  # missing names are skipped with a warning, as for single cells
        genes = select_genes(adata, genes)
    sub = adata if genes is None else adata[:, genes]
    values = _in_memory(sub.X if layer is None else sub.layers[layer])
    values = values.tocsr() if _is_sparse(values) else _dense(values)  # sparse stays sparse
    where = values_name(layer)
    check_no_infinity(values, adata.obs_names, sub.var_names, where, row="sample")
    distinct = np.unique(times[np.isfinite(times)])
    if not np.isfinite(times).all():
        missing = adata.obs_names[~np.isfinite(times)]
        msg = (
            f"{missing.size} sample(s) have no time in .obs[{time_key!r}] "
            f"({', '.join(map(str, missing[:3]))}{', ...' if missing.size > 3 else ''}) and "
            "are left out; give them a time to use them."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    if distinct.size < 2:
        msg = f".obs[{time_key!r}] holds {distinct.size} distinct time(s); at least 2 are needed."
        raise ValueError(msg)
    finite = np.isfinite(times)
    at = np.where(finite, np.searchsorted(distinct, np.where(finite, times, 0.0)), -1)
    # the NaN-aware mean of each time's samples, as one sparse product (no dense copy)
    X = _group_means(values, times, np.arange(len(times)), at).X
    names = [str(g) for g in sub.var_names]
    empty = np.isnan(X).all(axis=1)
    if empty.any():
        raise _all_missing(empty, names, where="adata")
    return X, distinct, names


def _sample_times(column, time_key: str) -> np.ndarray:
    """Each sample's time from an ``.obs`` column: numbers, or times with a unit ("2h").

    Also one time in each name or after a prefix, as a table's header gives them
    (``day3``, ``LPS_30m``, ``t30``, ``ZT4``, ``E10.5``; see :func:`rvagene.data.read_table`);
    a missing entry (NaN, None) is NaN, a sample without a time.
    """
    try:
        return np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    _, pd = _require_anndata()
    labels = [  # no time (NaN, None, "NA", "", ... as in a table's cell): left out
        None if pd.isna(v) or str(v).strip().lower() in _MISSING else str(v) for v in column
    ]
    distinct = list(dict.fromkeys(label for label in labels if label is not None))
    parsed, _, problem = _label_times(distinct)  # as a table's header gives them
    if parsed is None:
        msg = (
            f".obs[{time_key!r}] holds {', '.join(distinct[:3])}..., which are not times; "
            "give numbers, or times with one unit each (0h, 30min, 2h, day3)."
        )
        if problem and _prefixed_times(distinct)[2]:  # E10.5 ... P0: no one origin
            msg += (
                " They mix embryonic and postnatal days, which count from different days: "
                "give days from one origin (in mouse, E18.5 as 18.5d and P0 as 19.5d)."
            )
        elif problem:  # a header's problem, said for samples (not "read as equal steps")
            msg += (
                " Some hold a time and others none, or several conditions share the column: "
                "give one condition's samples (adata[mask]), and a sample without a time "
                "(a control) NaN or 'NA', which leaves it out with a warning."
            )
        raise ValueError(msg)
    value = dict(zip(distinct, parsed, strict=True))
    return np.array([np.nan if v is None else value[v] for v in labels], dtype=np.float64)


def windows_info(series) -> dict:
    """Where the windows came from, for ``uns["rvagene"]``."""
    return {
        "pseudotime_key": str(series.pseudotime_key),
        "values": str(series.source),  # the matrix averaged: adata.X or a layer
        "window_pseudotime": np.asarray(series.window_pseudotime, dtype=np.float64),
        "window_sizes": np.asarray(series.window_sizes, dtype=np.int64),
        "n_cells_dropped": int(series.n_cells_dropped),
    }


def write_results(adata, gc, genes, clusters, where: dict, series=None) -> None:
    """Add rvagene's keys to ``adata`` for the analysed ``genes`` (the rest get NaN).

    ``clusters`` are the genes' cluster numbers (-1 flat), in the numbering the caller shows;
    the confidence is ``gc.confidence_``, which no numbering changes. ``series``, the genes x
    time points that were clustered (in ``genes``' order), becomes ``varm["rvagene_series"]``.
    """
    _, pd = _require_anndata()
    k = gc.n_clusters_
    rows = adata.var_names.get_indexer(list(genes))
    categories = [str(j) for j in range(k)] + ([FLAT] if np.any(np.asarray(clusters) < 0) else [])
    cluster = np.full(adata.n_vars, None, dtype=object)
    cluster[rows] = [FLAT if c < 0 else str(c) for c in clusters]
    adata.var["rvagene_cluster"] = pd.Categorical(cluster, categories=categories)
    confidence = np.full(adata.n_vars, np.nan)
    confidence[rows] = gc.confidence_  # the probability of the gene's own cluster
    adata.var["rvagene_confidence"] = confidence
    r2 = np.full(adata.n_vars, np.nan)
    r2[rows] = gc.reconstruction_r2_  # how well model_ rebuilds each gene (NaN: flat)
    adata.var["rvagene_reconstruction_r2"] = r2
    latent = np.full((adata.n_vars, gc.latent_.shape[1]), np.nan)
    latent[rows] = gc.latent_  # the latent means (NaN: flat)
    adata.varm["X_rvagene"] = latent
    if series is not None and np.ndim(series) == 2:  # not replicates: one value per time
        series = np.asarray(series, dtype=np.float64)
        values = np.full((adata.n_vars, series.shape[1]), np.nan)
        values[rows] = series
        adata.varm["rvagene_series"] = values
    adata.uns["rvagene"] = _uns(gc, where)


def _uns(gc, where: dict) -> dict:
    """The k (and its scores when chosen), parameters (JSON), version and the times' source."""
    params = {k: v for k, v in gc.get_params(deep=False).items() if k != "model_params"}
    info = {
        "n_clusters": int(gc.n_clusters_),
        "space": gc.space_,
        "n_fits": len(gc.models_),
        "fit_seeds": np.asarray([m.random_state for m in gc.models_], dtype=np.int64),
        "params": json.dumps(params, default=str),
        "model_params": json.dumps(gc.model_params or {}, default=str),
        "version": package_version(),
        "n_flat": int(gc.flat_.sum()),
        **where,
    }
    if gc.k_scores_ is not None:
        info["k_scores"] = {str(k): float(v) for k, v in gc.k_scores_.items()}
    if gc.k_window_ is not None:
        info["k_window"] = np.asarray(gc.k_window_, dtype=np.int64)
    return info


def write_annotated(path, adata, gc, found, where: dict) -> None:
    """The script's ``<name>_rvagene.h5ad``: the input with rvagene's keys, in display numbers.

    ``uns["rvagene"]["generated"]`` also holds the series the script generated (clusters x
    series x time points, data units, the clusters in display order), as in its
    ``<name>_generated.csv``.
    """
    from ._cli import announce
    from ._utils import atomic_path

    write_results(adata, gc, found.genes, found.clusters, where, found.table.X)
    adata.uns["rvagene"]["generated"] = np.asarray(found.generated, dtype=np.float64)
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp)
    keys = "var['rvagene_cluster'], varm['X_rvagene'], varm['rvagene_series'], uns['rvagene']"
    announce(path, f" (the input with {keys})")

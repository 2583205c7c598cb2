"""Single-cell data to gene time series: AnnData -> pseudotime -> windows of cells.

RVAgene (Mitra & MacLean 2021) was applied to single-cell RNA-seq by ordering cells along
diffusion pseudotime and averaging each gene over consecutive windows of 40 cells; each
gene's window means then form one time series. :func:`prepare` runs that path in one call:

1. :func:`select_genes` -- a given list (e.g. differentially expressed genes) or highly
   variable genes;
2. a pseudotime -- an ``obs`` column (``dpt_pseudotime``, ``velocity_pseudotime``,
   ``latent_time``, ...), given values, or scanpy's diffusion pseudotime computed here from a
   root cell (:func:`compute_pseudotime`); cells whose pseudotime is infinite or missing are
   dropped;
3. :func:`window_average` (windows of ``window_length`` cells, the original's method) or
   :func:`bin_average` (``n_bins`` equal-frequency pseudotime bins);
4. optional per-gene scaling, and :func:`updown_labels`, the up/down label of each gene from
   the sign of its correlation with the window index.

The result, a :class:`SingleCellSeries`, holds a genes x windows matrix that
:class:`rvagene.RVAgene` takes directly, and writes the UCR and gene-named CSV files of
:mod:`rvagene.data`. :func:`load_klein_esc` reads the paper's mouse embryonic stem cell data.

scanpy and anndata (``pip install rvagene[singlecell]``) are imported inside the functions,
so ``import rvagene`` does not need them.

Examples
--------
>>> from rvagene.simulate import simulate_single_cell
>>> from rvagene.single_cell import prepare
>>> adata = simulate_single_cell(n_cells=200, n_genes_per_program=4, random_state=0)
>>> adata.obs["pseudotime"] = adata.obs["true_time"]  # or compute it: root_cell=...
>>> series = prepare(adata, pseudotime="pseudotime", window_length=20)
>>> series.X.shape
(20, 10)
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from rvagene._utils import user_stacklevel
from rvagene.data import (
    TimeSeriesTable,
    names_kept,
    read_gene_list,
    scale_series,
    write_table,
    write_ucr,
)

logger = logging.getLogger(__name__)

__all__ = [
    "KLEIN_ESC_FILES",
    "PSEUDOTIME_KEYS",
    "SingleCellSeries",
    "Windows",
    "bin_average",
    "compute_pseudotime",
    "load_klein_esc",
    "prepare",
    "read_gene_list",
    "select_genes",
    "updown_labels",
    "window_average",
]

UP, DOWN = 1, 2  # the labels of the original's ESC file
PSEUDOTIME_KEYS = ("dpt_pseudotime", "velocity_pseudotime", "latent_time", "pseudotime")
SCALES = ("none", "zscore", "minmax")
REMAINDERS = ("keep", "drop", "merge")
WINDOW_LENGTH = 40  # cells per window, as the original
KLEIN_ESC_ACCESSION = "GSE65525"
KLEIN_ESC_FILES = {
    0: "GSM1599494_ES_d0_main.csv",
    2: "GSM1599497_ES_d2_LIFminus.csv",
    4: "GSM1599498_ES_d4_LIFminus.csv",
    7: "GSM1599499_ES_d7_LIFminus.csv",
}


def _require_scanpy():
    try:
        import anndata
        import scanpy
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = (
            f"The single-cell path needs scanpy and anndata ({err}). "
            "Install them with `pip install rvagene[singlecell]`."
        )
        raise ImportError(msg) from err
    return scanpy, anndata


def _dense(X) -> np.ndarray:
    """A numpy, scipy-sparse or array-like matrix as a float64 array; not copied if it is one.

    Nothing here writes into the result (a NaN becomes 0 in a new array, cells left out are
    not read), so a float64 matrix is read in place: each copy of a dense cells x genes
    matrix costs its size again in memory.
    """
    X = X.toarray() if hasattr(X, "toarray") else X
    return np.asarray(X, dtype=np.float64)


def _read_in_place(X) -> np.ndarray:
    """A float32 or float64 numpy array as it is; any other dense matrix as :func:`_dense`.

    The cells x genes values are then read a block of rows at a time (:func:`_dense_sums`,
    :func:`_blocks`), each block copied and made float64 on its own, so a float32 matrix is
    not made float64 all at once, and cells left out (no pseudotime) are not copied out.
    """
    ok = isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64)
    return X if ok else _dense(X)


BLOCK_VALUES = 2**21  # values read at a time from a dense cells x genes matrix (16 MB)


def _rows_per_block(n_genes: int) -> int:
    """Rows of ``n_genes`` values that make a block of about ``BLOCK_VALUES`` (at least 1)."""
    return max(1, BLOCK_VALUES // max(n_genes, 1))


def _blocks(values, rows=None):
    """``(start, block)``: the rows of ``values`` (all, or ``rows`` in order), a few at a time.

    Each block holds the rows ``start, start + 1, ...`` (of ``rows`` when given) and about
    ``BLOCK_VALUES`` values; it is a new array for ``rows`` (numpy's fancy indexing), a
    view otherwise. Nothing writes into it.
    """
    n = values.shape[0] if rows is None else len(rows)
    step = _rows_per_block(values.shape[1])
    for start in range(0, n, step):
        stop = min(start + step, n)
        yield start, values[start:stop] if rows is None else values[rows[start:stop]]


def _few(names, k: int = 5) -> str:
    names = [str(n) for n in names]
    return ", ".join(names[:k]) + (", ..." if len(names) > k else "")


def check_no_infinity(
    values, cells, genes, where: str, row: str = "cell", rows: np.ndarray | None = None
) -> None:
    """A ValueError naming the first cell (or sample: ``row``) and gene whose value is infinite.

    An infinite value would make its window's (or time's) mean infinite, and the error
    would then point at a window, not at the cell. NaN is a missing value and passes.
    ``values`` may be a scipy sparse matrix: only its stored values are looked at.
    ``rows``: the rows looked at (``cells[i]`` names row ``rows[i]``), read where they are;
    all rows when None. :func:`prepare` passes the cells it keeps, so an infinite value in
    a cell dropped for its pseudotime is no error, as when those cells were indexed out.
    """
    if _is_sparse(values) and not np.isinf(values.data).any():
        return  # no coordinates to make for the stored values (a copy of them all)
    if _is_sparse(values):
        rows, cols = _sparse_infinities(values, rows)
    else:
        at, cols = [np.zeros(0, int)], [np.zeros(0, int)]
        for start, block in _blocks(values, rows):
            r, c = np.nonzero(np.isinf(block))
            at.append(r + start)
            cols.append(c)
        rows, cols = np.concatenate(at), np.concatenate(cols)
    if rows.size:
        more = rows.size - 1
        msg = (
            f"{where} holds an infinite value at {row} {str(cells[rows[0]])!r}, gene "
            f"{str(genes[cols[0]])!r}{f' (and {more} more)' if more else ''}; replace it with "
            "a finite value, or with NaN to mark it missing."
        )
        raise ValueError(msg)


def _sparse_infinities(values, rows=None) -> tuple[np.ndarray, np.ndarray]:
    """Row (position in ``rows``) and column of each infinite stored value, row-major."""
    coo = values.tocoo()
    bad = np.isinf(coo.data)
    at, cols = coo.row[bad], coo.col[bad]
    if rows is not None:  # the position of each row in rows; -1: not looked at
        position = np.full(values.shape[0], -1, dtype=np.int64)
        position[rows] = np.arange(len(rows))
        at = position[at]
        at, cols = at[at >= 0], cols[at >= 0]
    first = np.lexsort((cols, at))  # row-major order, as np.nonzero gives for arrays
    return at[first], cols[first]


def values_name(layer: str | None) -> str:
    """The matrix averaged, as messages and ``uns["rvagene"]["values"]`` name it."""
    return "adata.X" if layer is None else f"adata.layers[{layer!r}]"


def _is_sparse(X) -> bool:
    from scipy import sparse

    return sparse.issparse(X)


def _in_memory(X):
    """A backed AnnData's sparse matrix (``read_h5ad(..., backed="r")``) read into memory.

    Any other matrix is returned as it is (an h5py dataset, a backed dense ``X``, is read
    where it is used). Before, numpy took the backed sparse matrix for one object: "setting
    an array element with a sequence".
    """
    return X.to_memory() if hasattr(X, "to_memory") and not _is_sparse(X) else X


# ------------------------------------------------------------------------------ input


def _as_anndata(data, gene_names=None):
    """Turn an AnnData, an ``.h5ad`` path or a cells x genes matrix into an AnnData."""
    _, anndata = _require_scanpy()
    if isinstance(data, anndata.AnnData):
        return data
    if isinstance(data, str | os.PathLike):
        path = Path(data)
        if not path.is_file():
            msg = f"No such file: {str(path)!r}. Give the path of an .h5ad file."
            raise FileNotFoundError(msg)
        return anndata.read_h5ad(path)
    cell_names = None
    if hasattr(data, "columns") and hasattr(data, "index"):  # a pandas DataFrame
        cell_names = [str(i) for i in data.index]  # cells keep their names (root_cell, names)
        if gene_names is None:
            gene_names = [str(c) for c in data.columns]
    X = data if hasattr(data, "toarray") else np.asarray(data, dtype=np.float64)
    if X.ndim != 2:
        msg = f"data must be a cells x genes matrix, got shape {X.shape}."
        raise ValueError(msg)
    if gene_names is None:
        gene_names = [f"gene_{j}" for j in range(X.shape[1])]
    gene_names = [str(g) for g in gene_names]
    if len(gene_names) != X.shape[1]:
        msg = (
            f"data has {X.shape[1]} genes (columns) but {len(gene_names)} gene names were "
            "given. Give one name per column (cells in rows, genes in columns)."
        )
        raise ValueError(msg)
    adata = anndata.AnnData(X)
    adata.var_names = gene_names
    if cell_names is not None:
        adata.obs_names = cell_names
    return adata


# ------------------------------------------------------------------------------ steps


def _looks_like_counts(X) -> bool:
    """Whether a (sample of a) matrix holds non-negative integers, i.e. raw counts."""
    values = X.data if hasattr(X, "data") and hasattr(X, "toarray") else np.asarray(X)
    values = np.asarray(values).ravel()[:100_000]
    return bool(values.size) and bool(np.all(values >= 0) and np.all(values == np.round(values)))


def select_genes(adata, genes=None, n_top_genes: int | None = None, flavor: str = "seurat"):
    """Choose the genes to turn into time series.

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes. Not modified.
    genes : sequence of str or boolean mask, default=None
        Gene names to keep, in this order (duplicates are kept once), or one bool per gene
        (``adata.var["highly_variable"]``). Names missing from
        ``adata.var_names`` are skipped with a warning that says how many and names a few;
        a ``ValueError`` is raised when none is present.
    n_top_genes : int, default=None
        Keep this many highly variable genes instead (exactly: where genes tie at the cut,
        the first in ``adata``'s order are kept), found with
        :func:`scanpy.pp.highly_variable_genes` (``flavor``, default ``"seurat"``, which
        expects log-normalised values). When ``adata.X`` holds raw counts (non-negative
        integers), a copy is first normalised to 10,000 counts per cell and log1p
        transformed; the genes are returned in ``adata``'s order. When it is not below the
        number of genes, every gene is kept, with a warning.
    flavor : str, default="seurat"
        Passed to :func:`scanpy.pp.highly_variable_genes` (``"cell_ranger"`` also works on
        log data; ``"seurat_v3"`` needs the ``scikit-misc`` package and raw counts).

    Returns
    -------
    list of str
        The selected gene names; all genes when neither ``genes`` nor ``n_top_genes`` is
        given.
    """
    names = [str(g) for g in adata.var_names]
    if genes is not None and n_top_genes is not None:
        msg = "Give either genes or n_top_genes, not both."
        raise ValueError(msg)
    if genes is not None:
        if isinstance(genes, str):
            genes = [genes]
        mask = np.asarray(genes)
        if mask.dtype == bool:  # scanpy's idiom: adata.var["highly_variable"]
            if mask.shape != (len(names),):
                msg = (
                    f"genes as a boolean mask needs one value per gene ({len(names)}), got "
                    f"shape {mask.shape}."
                )
                raise ValueError(msg)
            if not mask.any():  # before: "None of the 0 requested genes ()"
                msg = (
                    "genes as a boolean mask selects no gene (every value is False): check "
                    "the column it comes from, e.g. adata.var['highly_variable'].sum()."
                )
                raise ValueError(msg)
            genes = [g for g, keep in zip(names, mask, strict=True) if keep]
        _check_names_in_var(adata, names, genes)
        return names_kept(names, genes)
    if n_top_genes is None:
        return names
    if int(n_top_genes) < 1:
        msg = f"n_top_genes must be >= 1, got {n_top_genes!r}."
        raise ValueError(msg)
    if n_top_genes >= len(names):  # before: all kept without a word
        msg = (
            f"n_top_genes={n_top_genes} is not below the {len(names)} genes there are: every "
            "gene is kept. Ask for fewer to select highly variable genes."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
        return names
    sc, anndata = _require_scanpy()
    tmp = anndata.AnnData(adata.X.copy())
    tmp.var_names = names
    if _looks_like_counts(tmp.X):
        logger.info("X holds counts: normalising a copy and taking log1p to find HVGs")
        sc.pp.normalize_total(tmp, target_sum=1e4)
        sc.pp.log1p(tmp)
    sc.pp.highly_variable_genes(tmp, n_top_genes=int(n_top_genes), flavor=flavor)
    chosen = np.flatnonzero(tmp.var["highly_variable"].to_numpy())
    if chosen.size > n_top_genes:  # scanpy keeps every gene tied at the cut: keep n_top_genes
        var = tmp.var.iloc[chosen]
        if "highly_variable_rank" in var:
            key = var["highly_variable_rank"].to_numpy(dtype=np.float64)
        else:
            key = -var["dispersions_norm"].to_numpy(dtype=np.float64)
        chosen = np.sort(chosen[np.argsort(key, kind="stable")[: int(n_top_genes)]])
    return [names[i] for i in chosen]


def _check_names_in_var(adata, names, genes) -> None:
    """A ValueError naming the ``var`` column that holds the genes asked for.

    Raised when ``var_names`` hold none of them but a text column of ``var`` does (Ensembl
    ids as names, symbols in ``var["gene_symbol"]``); before, the error showed the ids only.
    """
    import pandas as pd

    wanted = {str(g) for g in genes}
    if wanted & set(names):
        return
    held = {  # how many of the wanted names each text column of var holds
        str(column): len(wanted & set(map(str, adata.var[column].dropna())))
        for column in adata.var.columns
        if not pd.api.types.is_numeric_dtype(adata.var[column])
    }
    best = max(held, key=held.get, default=None)
    if best is None or not held[best]:
        return
    msg = (
        f"None of the {len(wanted)} requested genes ({_few(sorted(wanted), 3)}) is in "
        f"adata.var_names (such as {_few(names, 3)}), but adata.var[{best!r}] holds "
        f"{held[best]} of them. Name the genes by var_names, or use that column as the "
        f"names: adata.var_names = adata.var[{best!r}].astype(str), then "
        "adata.var_names_make_unique()."
    )
    raise ValueError(msg)


def _root_index(adata, root_cell) -> int:
    """Resolve a root cell given as a position or an obs_name."""
    n = adata.n_obs
    if isinstance(root_cell, str):
        hits = np.flatnonzero(adata.obs_names == root_cell)
        if hits.size:
            return int(hits[0])
        text = root_cell.strip()
        if not text.removeprefix("-").isdigit():  # "-1": a position, said out of range
            msg = (
                f"Root cell {root_cell!r} is not an obs_name (cells are named like "
                f"{_few(adata.obs_names, 3)}). Give a name or an integer position."
            )
            raise ValueError(msg)
        root_cell = int(text)
    if isinstance(root_cell, bool) or not isinstance(root_cell, int | np.integer):
        msg = f"root_cell must be an integer position or an obs_name, got {root_cell!r}."
        raise ValueError(msg)
    if not 0 <= root_cell < n:
        msg = f"Root cell position {root_cell} is out of range for {n} cells (0 to {n - 1})."
        raise ValueError(msg)
    return int(root_cell)


def compute_pseudotime(
    adata, root_cell, n_comps: int = 10, n_neighbors: int = 15, use_rep: str = "X"
) -> np.ndarray:
    """Diffusion pseudotime from a root cell, computed as the original RVAgene did.

    Runs ``sc.pp.neighbors(use_rep=use_rep, n_neighbors=n_neighbors)``,
    ``sc.tl.diffmap(n_comps=n_comps)``, sets ``uns["iroot"]`` and runs ``sc.tl.dpt`` on a
    light copy, so ``adata`` is not modified (store the result yourself with
    ``adata.obs["dpt_pseudotime"] = compute_pseudotime(adata, root)``).

    Parameters
    ----------
    adata : anndata.AnnData
        Cells x genes; with ``use_rep="X"`` the distances are taken on ``adata.X`` as it
        is (the original used its differentially expressed genes' values).
    root_cell : int or str
        The starting cell: an integer position, or an ``obs_name``. A string that is not an
        obs_name but is made of digits, with or without a minus sign (as on a command line),
        is read as a position.
    n_comps : int, default=10
        Diffusion components, as in the original.
    n_neighbors : int, default=15
        Neighbours per cell (scanpy's default, used by the original).
    use_rep : str, default="X"
        Representation for the neighbour graph: ``"X"``, or a key of ``adata.obsm`` such
        as ``"X_pca"``.

    Returns
    -------
    ndarray of shape (n_cells,)
        Pseudotime in [0, 1] (0 at the root), aligned with ``adata.obs``. Cells that the
        neighbour graph does not connect to the root get ``inf``.
    """
    sc, anndata = _require_scanpy()
    root = _root_index(adata, root_cell)
    if use_rep == "X":
        if adata.X is None:  # before: AttributeError, 'NoneType' object has no attribute
            msg = (
                "adata.X is None, and diffusion pseudotime is computed on X: give the "
                "pseudotime itself, or use_rep, a key of adata.obsm such as 'X_pca'."
            )
            raise ValueError(msg)
        tmp = anndata.AnnData(_in_memory(adata.X).copy())
    else:
        if use_rep not in adata.obsm:
            msg = f"use_rep={use_rep!r} is not in adata.obsm (keys: {list(adata.obsm)})."
            raise ValueError(msg)
        tmp = anndata.AnnData(np.zeros((adata.n_obs, 1), dtype=np.float32))
        tmp.obsm[use_rep] = np.asarray(adata.obsm[use_rep])
    if adata.n_obs <= n_comps + 1:
        msg = f"DPT needs more than {n_comps + 1} cells; got {adata.n_obs}."
        raise ValueError(msg)
    from scipy.sparse import SparseEfficiencyWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # scanpy/anndata deprecation chatter
        warnings.simplefilter("ignore", SparseEfficiencyWarning)  # inside scanpy's DPT
        sc.pp.neighbors(tmp, n_neighbors=min(n_neighbors, adata.n_obs - 1), use_rep=use_rep)
        sc.tl.diffmap(tmp, n_comps=n_comps)
        tmp.uns["iroot"] = root
        sc.tl.dpt(tmp, n_dcs=n_comps)  # scanpy's default of 10 fails for fewer components
    logger.info("computed diffusion pseudotime from root cell %d", root)
    return tmp.obs["dpt_pseudotime"].to_numpy(dtype=np.float64)


class Windows(NamedTuple):
    """Gene means over groups of cells ordered by pseudotime.

    Attributes
    ----------
    X : ndarray of shape (n_genes, n_windows)
        Mean of each gene over the cells of each window.
    pseudotime : ndarray of shape (n_windows,)
        Mean pseudotime of each window's cells (non-decreasing).
    n_cells : ndarray of shape (n_windows,)
        Cells per window.
    window : ndarray of shape (n_cells_in,)
        Window of each input cell, in the input order; -1 for cells left out.
    """

    X: np.ndarray
    pseudotime: np.ndarray
    n_cells: np.ndarray
    window: np.ndarray


def _check_cells(X, pseudotime):
    """A scipy sparse matrix as CSR (never made dense), a dense one as :func:`_read_in_place`.

    A float32 or float64 array is read as it is; cells are checked against the pseudotime.
    """
    X = X.tocsr() if _is_sparse(X) else _read_in_place(X)
    pseudotime = np.asarray(pseudotime, dtype=np.float64).ravel()
    if X.ndim != 2 or X.shape[0] != pseudotime.size:
        msg = (
            f"X has shape {X.shape} but pseudotime has {pseudotime.size} values; give a cells "
            "x genes matrix and one pseudotime per cell."
        )
        raise ValueError(msg)
    if not np.isfinite(pseudotime).all():
        msg = "pseudotime has infinite or NaN values; drop those cells first (prepare does)."
        raise ValueError(msg)
    return X, pseudotime


def _nan_as_zero(X):
    """``X`` with NaN (missing) set to 0, and a matrix of 1 where it was NaN (None: none)."""
    values = X.data if _is_sparse(X) else X
    missing = np.isnan(values)
    if not missing.any():
        return X, None
    if _is_sparse(X):
        zeroed, where = X.copy(), X.copy()
        zeroed.data[missing] = 0.0
        where.data = missing.astype(np.float64)
        return zeroed, where
    return np.where(missing, 0.0, X), missing.astype(np.float64)


def _sparse_sums(X, at, starts) -> tuple[np.ndarray, np.ndarray]:
    """Each group's sums and counts of values (not NaN) over the rows ``at[starts[g]:...]``.

    One product with a sparse (groups x rows) membership matrix, so a sparse ``X`` stays
    sparse: only the small groups x genes result is dense. Each group's rows are stored in
    the order given, which the product sums in.
    """
    from scipy import sparse

    n_groups = len(starts) - 1
    member = sparse.csr_matrix((np.ones(at.size), at, starts), shape=(n_groups, X.shape[0]))
    values, missing = _nan_as_zero(X)  # a missing value is left out of its window's mean
    sums = _dense(member @ values)
    counts = np.repeat(np.diff(starts)[:, None].astype(np.float64), X.shape[1], axis=1)
    if missing is not None:
        counts -= _dense(member @ missing)
    return sums, counts


def _dense_sums(X, at, starts) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_sparse_sums` for a dense ``X``, read a block of whole groups at a time.

    A group larger than a block is read a block of its rows at a time
    (:func:`_large_group_sums`).

    Each block's rows are copied out of ``X`` and made float64 (about ``BLOCK_VALUES``
    values), so ``X`` is never copied whole, nor written into; each block is summed as
    :func:`_sparse_sums` sums, so the means are bit-for-bit those of one product.
    """
    n_groups, n_genes = len(starts) - 1, X.shape[1]
    sums, counts = np.zeros((n_groups, n_genes)), np.zeros((n_groups, n_genes))
    step = _rows_per_block(n_genes)
    g = 0
    while g < n_groups:
        end = int(np.searchsorted(starts, starts[g] + step, side="right")) - 1
        if end <= g:  # one group larger than a block: read a block of its rows at a time
            sums[g], counts[g] = _large_group_sums(X, at[starts[g] : starts[g + 1]], step)
            g += 1
            continue
        end = min(end, n_groups)
        block = np.asarray(X[at[starts[g] : starts[end]]], dtype=np.float64)  # a copy
        in_block = starts[g : end + 1] - starts[g]
        sums[g:end], counts[g:end] = _sparse_sums(block, np.arange(len(block)), in_block)
        g = end
    return sums, counts


def _large_group_sums(X, rows, step: int) -> tuple[np.ndarray, np.ndarray]:
    """One group's sums and counts over ``rows`` of a dense ``X``, ``step`` rows at a time.

    Each block is summed after the sums so far (a first row of the product), so the values
    are added one after another in ``rows``' order, as one product adds them: bit-for-bit.
    """
    from scipy import sparse

    total, counts = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start in range(0, len(rows), step):
        block = np.asarray(X[rows[start : start + step]], dtype=np.float64)  # a copy
        missing = np.isnan(block)  # left out of the mean, as in _sparse_sums
        block = np.concatenate([total[None], np.where(missing, 0.0, block)])
        n = len(block)
        member = sparse.csr_matrix((np.ones(n), np.arange(n), [0, n]), shape=(1, n))
        total = _dense(member @ block)[0]
        counts += len(missing) - missing.sum(axis=0)
    return total, counts


def _group_means(X, pseudotime, order, group_of_rank, rows=None) -> Windows:
    """Average the cells ``order[r]`` over groups ``group_of_rank[r]`` (-1 = left out).

    ``rows``: the row of ``X`` that holds each cell (cell ``i`` is row ``i`` when None), so
    :func:`prepare` reads the cells it keeps where they are, without copying them out.
    """
    kept = group_of_rank >= 0
    n_groups = int(group_of_rank.max()) + 1 if kept.any() else 0
    sizes = np.bincount(group_of_rank[kept], minlength=n_groups)
    # each group's cells in rank order, which the sums add them in: the order of the
    # earlier np.add.at, so dense float64 means are bit-for-bit the same (built from
    # (row, col) pairs, scipy sorted each row by cell index: means off by an ulp)
    by_group = np.argsort(group_of_rank[kept], kind="stable")
    at = order[kept][by_group]
    at = at if rows is None else np.asarray(rows)[at]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    sums, counts = (_sparse_sums if _is_sparse(X) else _dense_sums)(X, at, starts)
    pt = np.bincount(group_of_rank[kept], weights=pseudotime[order[kept]], minlength=n_groups)
    window = np.full(len(order), -1, dtype=np.int64)
    window[order] = group_of_rank
    with np.errstate(invalid="ignore", divide="ignore"):  # no value in a window: NaN
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return Windows(means.T, pt / sizes, sizes, window)


def window_average(X, pseudotime, window_length: int = 40, remainder: str = "keep") -> Windows:
    """Average each gene over consecutive windows of ``window_length`` cells in pseudotime.

    Cells are sorted by pseudotime (a stable sort: ties keep their input order), then cut
    into blocks of ``window_length`` consecutive cells, as the original RVAgene did for its
    ESC data (40 cells per window).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_cells, n_genes)
        Expression values.
    pseudotime : array-like of shape (n_cells,)
        Finite pseudotime of each cell.
    window_length : int, default=40
        Cells per window, at least 1.
    remainder : {"keep", "drop", "merge"}, default="keep"
        What to do with the last ``n_cells % window_length`` cells. ``"keep"``: they form a
        last, shorter window -- what the original did (2717 ESC cells gave 67 windows of 40
        and one of 37, hence 68 windows). ``"drop"``: they are left out. ``"merge"``: they
        join the last full window. With no remainder all three agree.

    Returns
    -------
    Windows
        ``X`` of shape ``(n_genes, n_windows)``, window pseudotime, cells per window and the
        window of each cell.

    Examples
    --------
    >>> import numpy as np
    >>> w = window_average(np.arange(10.0)[:, None], np.arange(10), window_length=4)
    >>> w.X.tolist(), w.n_cells.tolist()
    ([[1.5, 5.5, 8.5]], [4, 4, 2])
    >>> window_average(np.arange(10.0)[:, None], np.arange(10), 4, "merge").X.tolist()
    [[1.5, 6.5]]
    """
    X, pseudotime = _check_cells(X, pseudotime)
    return _group_means(X, pseudotime, *_window_groups(pseudotime, window_length, remainder))


def _window_groups(pseudotime, window_length, remainder) -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_average`'s checks, the cells' order and each rank's window."""
    if isinstance(window_length, bool) or not isinstance(window_length, int | np.integer):
        msg = f"window_length must be an int >= 1, got {window_length!r}."
        raise ValueError(msg)
    if remainder not in REMAINDERS:
        msg = f"remainder must be one of {REMAINDERS}, got {remainder!r}."
        raise ValueError(msg)
    n = len(pseudotime)
    if not 1 <= window_length <= n:
        msg = (
            f"window_length must be between 1 and the number of cells ({n}), got "
            f"{window_length}. Give a window of 1 to {n} cells."
        )
        raise ValueError(msg)
    order = np.argsort(pseudotime, kind="stable")
    group = np.arange(n) // window_length
    n_full = n // window_length
    if n % window_length and remainder == "drop":
        group[group == n_full] = -1
    elif n % window_length and remainder == "merge" and n_full > 0:
        group[group == n_full] = n_full - 1
    return order, group


def bin_average(X, pseudotime, n_bins: int = 50) -> Windows:
    """Average each gene over ``n_bins`` equal-frequency pseudotime bins.

    Cells are ranked by pseudotime (stable for ties) and the ``r``-th of ``n`` cells goes
    to bin ``floor(r * n_bins / n)``, so bin sizes differ by at most one cell and no cell is
    dropped. This is the binning of Morabito et al. (50 bins of Monocle3 pseudotime).

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_cells, n_genes)
        Expression values.
    pseudotime : array-like of shape (n_cells,)
        Finite pseudotime of each cell.
    n_bins : int, default=50
        Number of bins, between 2 and the number of cells.

    Returns
    -------
    Windows
        ``X`` of shape ``(n_genes, n_bins)``, bin pseudotime, cells per bin and the bin of
        each cell.

    Examples
    --------
    >>> import numpy as np
    >>> bin_average(np.arange(10.0)[:, None], np.arange(10), n_bins=3).n_cells.tolist()
    [4, 3, 3]
    """
    X, pseudotime = _check_cells(X, pseudotime)
    return _group_means(X, pseudotime, *_bin_groups(pseudotime, n_bins))


def _bin_groups(pseudotime, n_bins) -> tuple[np.ndarray, np.ndarray]:
    """:func:`bin_average`'s checks, the cells' order and each rank's bin."""
    n = len(pseudotime)
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 2:
        msg = f"n_bins must be an int >= 2, got {n_bins!r}."
        raise ValueError(msg)
    if n_bins > n:
        msg = f"n_bins ({n_bins}) is more than the number of cells ({n}). Use fewer bins."
        raise ValueError(msg)
    order = np.argsort(pseudotime, kind="stable")
    group = (np.arange(n) * n_bins) // n
    return order, group


def updown_labels(X) -> tuple[np.ndarray, np.ndarray]:
    """Label each gene up- (1) or down-regulated (2) from its correlation with time.

    The label is the sign of the Pearson correlation between the gene's series and the
    window index ``0, 1, ..., n_windows - 1``, as in the original's ESC file (1 = up,
    2 = down). Missing values (NaN) are left out: a gene's correlation uses the windows
    where it has a value. A gene that is constant over those windows (or has fewer than 2)
    has correlation NaN and label 2, as the original's ``corr > 0`` test gave.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_windows)

    Returns
    -------
    labels : ndarray of shape (n_genes,), int64
    correlations : ndarray of shape (n_genes,), float64

    Examples
    --------
    >>> labels, r = updown_labels([[1, 2, 3], [3, 1, 0], [1, np.nan, 3]])
    >>> labels.tolist(), r.round(3).tolist()
    ([1, 2, 1], [1.0, -0.982, 1.0])
    """
    X = np.asarray(X, dtype=np.float64)
    observed = ~np.isnan(X)
    n = observed.sum(axis=1, keepdims=True)
    t = np.broadcast_to(np.arange(X.shape[1], dtype=np.float64), X.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        # each gene's means over its own observed windows
        t_mean = np.where(observed, t, 0.0).sum(axis=1, keepdims=True) / n
        x_mean = np.where(observed, X, 0.0).sum(axis=1, keepdims=True) / n
        dt = np.where(observed, t - t_mean, 0.0)
        dx = np.where(observed, X - x_mean, 0.0)
        norm = np.sqrt((dx**2).sum(axis=1) * (dt**2).sum(axis=1))
        r = np.where(norm > 0, (dx * dt).sum(axis=1) / np.where(norm > 0, norm, 1.0), np.nan)
    labels = np.where(r > 0, UP, DOWN).astype(np.int64)
    return labels, r


# ----------------------------------------------------------------------------- result


@dataclass(eq=False)
class SingleCellSeries:
    """Gene time series made from single cells ordered by pseudotime.

    Attributes
    ----------
    X : ndarray of shape (n_genes, n_windows)
        Window means of each gene (scaled when ``scale`` is not ``"none"``); pass it to
        :meth:`rvagene.RVAgene.fit` as it is.
    genes : list of str
        Gene names, one per row of ``X``.
    labels : ndarray of shape (n_genes,), int64
        1 for up-regulated, 2 for down-regulated genes (see :func:`updown_labels`).
    correlations : ndarray of shape (n_genes,)
        Pearson correlation of each gene with the window index.
    window_pseudotime : ndarray of shape (n_windows,)
        Mean pseudotime of each window.
    window_sizes : ndarray of shape (n_windows,)
        Cells per window.
    cell_names : list of str
        Names of the cells used, in pseudotime order.
    cell_pseudotime : ndarray of shape (n_cells_used,)
        Their pseudotime (sorted).
    cell_window : ndarray of shape (n_cells_used,)
        Their window (-1 for cells left out by ``remainder="drop"``).
    n_cells_dropped : int
        Cells dropped for an infinite or missing pseudotime.
    pseudotime_key : str
        Where the pseudotime came from: an ``obs`` column's name, ``"given pseudotime"`` for
        values passed in, or ``"DPT computed from root cell '<obs_name>' (not stored in
        obs)"`` when computed here (store it with :func:`compute_pseudotime` to keep it).
    scale : str
        Scaling applied to ``X``.
    source : str
        The matrix averaged: ``"adata.X"`` or ``"adata.layers['<layer>']"``.
    """

    X: np.ndarray
    genes: list[str]
    labels: np.ndarray
    correlations: np.ndarray
    window_pseudotime: np.ndarray
    window_sizes: np.ndarray
    cell_names: list[str]
    cell_pseudotime: np.ndarray
    cell_window: np.ndarray
    n_cells_dropped: int = 0
    pseudotime_key: str = "given pseudotime"
    scale: str = "none"
    source: str = "adata.X"

    def __repr__(self) -> str:
        n_up = int((self.labels == UP).sum())
        return (
            f"SingleCellSeries: {len(self.genes)} genes x {self.X.shape[1]} windows of "
            f"{self.source} ({len(self.cell_names)} cells by {self.pseudotime_key}, "
            f"{self.n_cells_dropped} dropped); {n_up} up, {len(self.genes) - n_up} down; "
            f"scale={self.scale!r}"
        )

    @property
    def time_labels(self) -> list[str]:
        """Window pseudotimes as text, for file headers; ``t0, t1, ...`` when two are equal.

        Each with the fewest significant digits (6 at least) that keep the windows in
        increasing order when read back (``0.123406``, not ``0.12340567890123456``). Windows of
        a discrete pseudotime can share a mean; a header of repeated times would read back
        as replicates, so such windows are named as steps.
        """
        if not self._distinct_pseudotimes():
            return [f"t{j}" for j in range(len(self.window_pseudotime))]
        for digits in range(6, 18):
            labels = [f"{t:.{digits}g}" for t in self.window_pseudotime]
            if (np.diff([float(label) for label in labels]) > 0).all():
                return labels
        return [repr(float(t)) for t in self.window_pseudotime]

    def _distinct_pseudotimes(self) -> bool:
        return bool((np.diff(self.window_pseudotime) > 0).all())

    def to_table(self, source: str = "single-cell") -> TimeSeriesTable:
        """Return the series as a :class:`rvagene.data.TimeSeriesTable` (as files are read)."""
        return TimeSeriesTable(
            X=self.X,
            genes=list(self.genes),
            times=self.window_pseudotime.copy() if self._distinct_pseudotimes() else None,
            time_labels=self.time_labels,
            labels=self.labels.copy(),
            source=str(source),
        )

    def write_ucr(self, path) -> None:
        """Write a UCR file (label, then one value per window), as the original's ESC_TRAIN."""
        write_ucr(path, self.X, self.labels)

    def write_table(self, path, sep: str | None = None) -> None:
        """Write a gene-named CSV/TSV: gene, label, then one column per window.

        The header holds each window's mean pseudotime, which :func:`rvagene.read_table`
        reads back as ``times``.
        """
        write_table(path, self.X, self.genes, self.time_labels, self.labels, sep=sep)


# ------------------------------------------------------------------------ entry point


def _pseudotime_from_obs(adata, key: str, root: str = "a root cell") -> np.ndarray:
    """``obs[key]`` as float64; else a ValueError listing the numeric obs columns.

    ``root``: how the message names the other choice (the script: ``--root-cell CELL``).
    """
    import pandas as pd

    numeric = [c for c in adata.obs.columns if pd.api.types.is_numeric_dtype(adata.obs[c])]
    choose = (
        f"Numeric obs columns: {_few(numeric, 8) or 'none'}. Give one of them, or {root} "
        "to compute diffusion pseudotime."
    )
    if key not in adata.obs:
        msg = f"obs has no column {key!r}. {choose}"
        raise ValueError(msg)
    try:
        return adata.obs[key].to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as err:  # before: no word of the columns that would do
        msg = f"obs[{key!r}] is not numeric ({err}); give a pseudotime column. {choose}"
        raise ValueError(msg) from err


def prepare(
    data,
    *,
    genes=None,
    n_top_genes: int | None = None,
    pseudotime=None,
    root_cell: int | str | None = None,
    n_comps: int = 10,
    window_length: int | None = None,
    n_bins: int | None = None,
    remainder: str = "keep",
    scale: str = "none",
    layer: str | None = None,
    gene_names=None,
) -> SingleCellSeries:
    """Turn single cells into gene time series: genes -> pseudotime -> windows -> labels.

    Every option is a keyword. Three choices take at most one option each: which genes
    (``genes`` or ``n_top_genes``), where the pseudotime comes from (``pseudotime`` or
    ``root_cell``) and how cells are grouped (``window_length`` or ``n_bins``). Giving both
    options of one choice raises a ``ValueError``.

    Parameters
    ----------
    data : anndata.AnnData, str, PathLike or array-like of shape (n_cells, n_genes)
        An AnnData (not modified; a backed one, ``read_h5ad(path, backed="r")``, has the
        matrix averaged read into memory), the path of an ``.h5ad`` file, or a cells x genes
        matrix (numpy, scipy sparse or a pandas DataFrame whose columns are genes).
    genes : sequence of str or boolean mask, default=None
        *Genes, one of two.* Genes to keep, in this order, or one bool per gene (see
        :func:`select_genes`); missing names are skipped with a warning.
    n_top_genes : int, default=None
        *Genes, one of two.* Keep this many highly variable genes instead. With neither
        option, all genes are used.
    pseudotime : str or array-like of shape (n_cells,), default=None
        *Pseudotime, one of two.* The name of an ``obs`` column holding each cell's
        pseudotime (``"dpt_pseudotime"``, ``"velocity_pseudotime"``, ``"latent_time"``, any
        name), or the values themselves (e.g. for a matrix ``data``). With an AnnData or a
        DataFrame ``data``, a pandas Series whose index holds the cell names (``obs_names``,
        the DataFrame's index) is matched to the cells by name, in any order; any other
        values, and any values for a matrix ``data`` (whose cells have no names), are taken
        in the cells' order. An AnnData made without names has anndata's ``"0"``, ``"1"``,
        ... as ``obs_names``, and a Series with an integer index is then matched to those:
        give ``series.to_numpy()`` to take the values in the cells' order instead.
    root_cell : int or str, default=None
        *Pseudotime, one of two.* Compute diffusion pseudotime from this cell instead (an
        integer position or an obs_name), as the original did: ``neighbors(use_rep="X")``
        on the selected genes, ``diffmap(n_comps=n_comps)``, ``dpt`` (see
        :func:`compute_pseudotime`). With neither option, the one column of ``obs`` among
        ``dpt_pseudotime``, ``velocity_pseudotime``, ``latent_time`` and ``pseudotime`` is
        used; without such a column, diffusion pseudotime from ``adata.uns["iroot"]``
        (scanpy's root cell for DPT, which :func:`rvagene.simulate.simulate_single_cell`
        sets) when it is set.
    n_comps : int, default=10
        Diffusion components when computing pseudotime from ``root_cell``.
    window_length : int, default=None
        *Grouping, one of two.* Cells per window (:func:`window_average`), the original's
        method. With neither option, windows of 40 cells, as in the original.
    n_bins : int, default=None
        *Grouping, one of two.* This many equal-frequency pseudotime bins instead
        (:func:`bin_average`).
    remainder : {"keep", "drop", "merge"}, default="keep"
        Windows only: what happens to the cells left after the last full window; ``"keep"``
        (the original) makes them a last, shorter window. See :func:`window_average`.
    scale : {"none", "zscore", "minmax"}, default="none"
        Per-gene scaling of the window means: none (the original's files hold raw means),
        z-scores, or min-max to [-1, 1] (as Morabito et al. did). :class:`rvagene.RVAgene`
        scales each gene itself (``scaling="zscore"``), so this matters for the files.
    layer : str, default=None
        Average ``adata.layers[layer]`` instead of ``adata.X``. DPT and ``n_top_genes``'s
        highly variable genes still use ``X``; to choose genes from the layer, pass
        ``genes=select_genes(AnnData(adata.layers[layer], var=adata.var), n_top_genes=n)``.
    gene_names : sequence of str, default=None
        Gene names for a matrix ``data`` (the columns of a DataFrame otherwise).

    Returns
    -------
    SingleCellSeries
        ``X`` (genes x windows), ``genes``, up/down ``labels``, ``correlations``,
        ``window_pseudotime``, ``n_cells_dropped``; ``to_table()``, ``write_ucr()`` and
        ``write_table()``.

    Raises
    ------
    ValueError
        For a missing ``obs`` column, unknown genes, a bad root cell or window setting, two
        options of one choice, a pseudotime equal in every cell, or an infinite value in a
        cell averaged (naming the cell and gene). The cells dropped for their pseudotime are
        not read, so an infinite value in one of them raises nothing.

    Warns
    -----
    UserWarning
        When requested genes are missing, or cells are dropped for an infinite (not
        connected to the root) or missing pseudotime -- the warning says how many; and when
        the values averaged (``X`` or ``layer``) are raw counts, naming the matrices that
        are not.

    Examples
    --------
    >>> from rvagene.simulate import simulate_single_cell
    >>> adata = simulate_single_cell(n_cells=120, n_genes_per_program=2, random_state=0)
    >>> s = prepare(adata, pseudotime=adata.obs["true_time"], n_bins=12, scale="minmax")
    >>> s.X.shape, float(s.X.max())
    ((10, 12), 1.0)
    """
    _check_choices(pseudotime, root_cell, window_length, n_bins, remainder, scale)
    if _is_series(pseudotime) and not _names_cells(data):  # a matrix's cells: positions
        pseudotime = pseudotime.to_numpy()  # its 0, 1, ... are no names to match a Series by
    adata = _as_anndata(data, gene_names)
    kept = select_genes(adata, genes=genes, n_top_genes=n_top_genes)
    # every gene in adata's order: no copy; else in ``kept``'s order (all genes reordered too)
    sub = adata if kept == [str(g) for g in adata.var_names] else _genes_by_name(adata, kept)
    _check_layer(adata, layer)  # before the pseudotime's work
    pt, source = _pseudotime_of(adata, sub, pseudotime, root_cell, n_comps)
    good = np.isfinite(pt)
    n_dropped = int((~good).sum())
    if n_dropped:
        msg = (
            f"Dropped {n_dropped} of {len(pt)} cells whose pseudotime is infinite or missing "
            "(cells not connected to the root in the neighbour graph, or NaN values)."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    if good.sum() < 2:
        msg = f"Only {int(good.sum())} cells have a finite pseudotime; at least 2 are needed."
        raise ValueError(msg)
    _check_varies(pt[good], source)
    values = _in_memory(sub.layers[layer] if layer is not None else sub.X)
    values = values.tocsr() if _is_sparse(values) else _read_in_place(values)  # no copy
    rows = None if good.all() else np.flatnonzero(good)  # kept cells, read where they are
    where = values_name(layer)
    check_no_infinity(values, adata.obs_names[good], kept, where, rows=rows)
    _warn_if_counts(values, where, adata, rows)
    pt_good = pt[good]
    win = _windows(values, pt_good, window_length, n_bins, remainder, rows)
    labels, r = updown_labels(win.X)
    _report_unlabelled(win.X, r, kept)
    order = np.argsort(pt_good, kind="stable")
    names = np.asarray(adata.obs_names)[good][order]
    series = SingleCellSeries(
        X=scale_series(win.X, scale, genes=kept)[0],
        genes=list(kept),
        labels=labels,
        correlations=r,
        window_pseudotime=win.pseudotime,
        window_sizes=win.n_cells,
        cell_names=[str(c) for c in names],
        cell_pseudotime=pt_good[order],
        cell_window=win.window[order],
        n_cells_dropped=n_dropped,
        pseudotime_key=source,
        scale=scale,
        source=where,
    )
    if not series._distinct_pseudotimes():
        msg = (
            "Some windows share a mean pseudotime (a pseudotime with few distinct values), so "
            "the windows are named t0, t1, ... in tables and files instead of by their "
            "pseudotime; window_pseudotime keeps the values (windows are fitted as steps "
            "either way)."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    logger.info("%r", series)
    return series


def _warn_if_counts(values, where: str, adata, rows=None) -> None:
    """Warn when the values to average are raw counts (whole numbers >= 0).

    Their window means are not whole numbers, so the table's own raw-counts warning missed
    them: each mean follows its cells' sequencing depth, and a gene of few reads is mostly
    sampling noise. ``rows``: the rows averaged (all when None), read where they are.
    """
    if not _looks_like_counts(_first_rows(values, rows)) or not any(  # all 0: no depth
        (b.data if _is_sparse(b) else b).any() for _, b in _blocks(values, rows)
    ):
        return
    matrices = {"adata.X": adata.X, **{f"adata.layers[{k!r}]": m for k, m in adata.layers.items()}}
    logged = [  # the others to suggest: not counts themselves (X may be None beside layers)
        name
        for name, m in matrices.items()
        if name != where and m is not None and not _looks_like_counts(m)
    ]
    msg = (
        f"{where} holds raw counts (whole numbers >= 0): each window's mean follows its "
        "cells' sequencing depth, and a gene of few reads is mostly sampling noise. Average "
        "log-normalised values (sc.pp.normalize_total, then sc.pp.log1p)"
        + (f", e.g. {' or '.join(logged)}." if logged else ".")
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _first_rows(values, rows=None):
    """The first of ``rows`` (all when None) that hold the 100,000 values sampled for counts.

    :func:`_looks_like_counts` looks at those values only, so only their rows are copied
    (its row-major ``ravel`` of a column-major matrix copied it whole).
    """
    if _is_sparse(values):
        if rows is None:
            return values
        held = np.cumsum(np.diff(values.indptr)[rows])
        return values[rows[: int(np.searchsorted(held, 100_000)) + 1]]
    n = -(-100_000 // max(values.shape[1], 1))  # rows that hold 100,000 values
    return values[:n] if rows is None else values[rows[:n]]


def _is_series(values) -> bool:
    import pandas as pd

    return isinstance(values, pd.Series)


def _names_cells(data) -> bool:
    """Whether ``data`` names its cells: an AnnData, an ``.h5ad`` path or a DataFrame.

    A matrix's cells get the names "0", "1", ... (their positions), which a Series' own
    index (a sorted or filtered table's row labels) must not be matched against.
    """
    if isinstance(data, str | os.PathLike) or hasattr(data, "obs_names"):
        return True
    return hasattr(data, "columns") and hasattr(data, "index")


def _check_layer(adata, layer: str | None) -> None:
    """A ValueError naming the layers, unless ``layer`` is one of them or ``X`` holds values.

    An AnnData may hold no ``X`` (``X=None``, its values in layers): before, that was an
    ``IndexError: tuple index out of range``.
    """
    if layer is not None and layer not in adata.layers:
        msg = f"layer {layer!r} is not in adata.layers (layers: {list(adata.layers) or 'none'})."
        raise ValueError(msg)
    if layer is None and adata.X is None:
        msg = (
            "adata.X is None: this AnnData keeps no values in X. Give layer, one of "
            f"adata.layers ({list(adata.layers) or 'none'}), or set adata.X."
        )
        raise ValueError(msg)


def _genes_by_name(adata, kept):
    """``adata[:, kept]``, or a ValueError naming the fix where gene names repeat."""
    names = adata.var_names
    if not names.is_unique:  # before: pandas' InvalidIndexError from anndata's indexing
        repeated = list(dict.fromkeys(map(str, names[names.duplicated()])))
        msg = (
            f"adata.var_names repeat {len(repeated)} name(s) ({_few(repeated, 3)}), so genes "
            "cannot be chosen by name (genes=, n_top_genes=). Make them unique first: "
            "adata.var_names_make_unique()."
        )
        raise ValueError(msg)
    return adata[:, kept]


def _windows(values, pt, window_length, n_bins, remainder, rows=None) -> Windows:
    """``prepare``'s windows: ``n_bins`` bins, else windows of ``window_length`` (40) cells.

    ``pt``: the pseudotime of each cell kept, held in row ``rows[i]`` of ``values`` (row
    ``i`` when None).
    """
    n = len(pt)
    if n_bins is not None:
        what, win = f"{n_bins} bins", _group_means(values, pt, *_bin_groups(pt, n_bins), rows)
    else:
        what = f"windows of {window_length} cells"
        if window_length is None:
            window_length = WINDOW_LENGTH
            what = f"windows of {WINDOW_LENGTH} cells (the default)"
        too_long = isinstance(window_length, int | np.integer) and window_length > n
        # more cells per window than there are cells: window_average's own error suggested
        # a length (up to n) that still made 1 window
        win = None
        if not too_long:
            win = _group_means(values, pt, *_window_groups(pt, window_length, remainder), rows)
    if win is None or win.X.shape[1] < 2:  # one window is no series
        msg = (
            f"The {n} cells with a pseudotime make fewer than 2 {what}; a series needs at "
            f"least 2: give window_length at most {n // 2}, or n_bins >= 2."
        )
        raise ValueError(msg)
    return win


def _check_choices(pseudotime, root_cell, window_length, n_bins, remainder, scale) -> None:
    """Raise when two options of one choice are given, or an option has a bad value."""
    if pseudotime is not None and root_cell is not None:
        msg = (
            "Give either pseudotime (an obs column or one value per cell) or root_cell (to "
            "compute diffusion pseudotime), not both."
        )
        raise ValueError(msg)
    if window_length is not None and n_bins is not None:
        msg = (
            "Give either window_length (cells per window) or n_bins (equal-frequency "
            "pseudotime bins), not both."
        )
        raise ValueError(msg)
    if n_bins is not None and remainder != "keep":
        msg = f"remainder={remainder!r} applies to windows of cells; n_bins bins use every cell."
        raise ValueError(msg)
    if scale not in SCALES:
        msg = f"scale must be one of {SCALES}, got {scale!r}."
        raise ValueError(msg)


def pseudotime_keys_in(adata) -> list[str]:
    """The known pseudotime columns (``PSEUDOTIME_KEYS``) that ``adata.obs`` holds."""
    return [key for key in PSEUDOTIME_KEYS if key in adata.obs]


def stored_root(adata) -> int | None:
    """``adata.uns["iroot"]``, scanpy's root cell for DPT, when it is set to a cell; else None."""
    root = adata.uns.get("iroot") if hasattr(adata, "uns") else None
    ok = isinstance(root, int | np.integer) and not isinstance(root, bool | np.bool_)
    return int(root) if ok and 0 <= root < adata.n_obs else None


def _pseudotime_of(adata, sub, pseudotime, root_cell, n_comps) -> tuple[np.ndarray, str]:
    """Each cell's pseudotime and where it came from (see :func:`prepare`)."""
    if pseudotime is None and root_cell is None:
        found, root_cell = pseudotime_keys_in(adata), stored_root(adata)
        if not found and root_cell is not None:
            logger.info("no pseudotime column: DPT from uns['iroot'], cell %d", root_cell)
            pt = compute_pseudotime(sub, root_cell, n_comps=n_comps)
            return pt, _dpt_source(adata, root_cell)
        if len(found) != 1:
            which = f"several: {found}" if found else f"none of {list(PSEUDOTIME_KEYS)}"
            msg = (
                f"No pseudotime given, and obs has {which}. Pass pseudotime (an obs column or "
                "the values), or root_cell to compute diffusion pseudotime (or set scanpy's "
                "adata.uns['iroot'])."
            )
            raise ValueError(msg)
        pseudotime = found[0]
        logger.info("using obs[%r] as pseudotime", pseudotime)
    if isinstance(pseudotime, str):
        return _pseudotime_from_obs(adata, pseudotime), pseudotime
    if pseudotime is not None:
        pseudotime = _by_cell_name(adata, pseudotime)
        pt = np.asarray(pseudotime, dtype=np.float64).ravel()
        if pt.size != adata.n_obs:
            msg = f"pseudotime has {pt.size} values but there are {adata.n_obs} cells."
            raise ValueError(msg)
        return pt, "given pseudotime"
    return compute_pseudotime(sub, root_cell, n_comps=n_comps), _dpt_source(adata, root_cell)


def _check_varies(pt: np.ndarray, source: str) -> None:
    """A ValueError when every cell has the same pseudotime: it does not order the cells.

    Before, the cells were windowed in the data's own order and clustered without a word.
    """
    if pt.min() == pt.max():
        msg = (
            f"The pseudotime ({source}) is {pt[0]:g} in all {pt.size} cells that have one, "
            "so it does not order them. Give a pseudotime that varies along the trajectory, "
            "or compute diffusion pseudotime from a root cell."
        )
        raise ValueError(msg)


def _dpt_source(adata, root_cell) -> str:
    """``pseudotime_key`` for a DPT computed here: no obs column holds it, so name its root.

    ``"dpt_pseudotime"`` alone named an obs column that did not exist, or an older one that
    held other values.
    """
    root = adata.obs_names[_root_index(adata, root_cell)]
    return f"DPT computed from root cell {str(root)!r} (not stored in obs)"


def _by_cell_name(adata, pseudotime):
    """A Series indexed by cell names, put in ``adata``'s cell order; other values as given.

    A Series of another order (``other.obs["dpt_pseudotime"]``, one read from a CSV of
    barcodes) was taken by position: each cell got another cell's pseudotime, silently.
    """
    import pandas as pd

    if not isinstance(pseudotime, pd.Series):
        return pseudotime
    index = pseudotime.index.astype(str)
    cells = pd.Index(adata.obs_names.astype(str))
    if index.equals(cells):
        return pseudotime.to_numpy()
    shared = index.isin(cells)
    if not shared.any():  # an index of its own (0, 1, ...): the values in the cells' order
        return pseudotime.to_numpy()
    missing = ~cells.isin(index)
    if not index.is_unique or not cells.is_unique or missing.any() or not shared.all():
        msg = (
            "pseudotime is a Series indexed by cell names that do not match obs_names one "
            f"to one ({int(missing.sum())} cells have no value, {int((~shared).sum())} "
            "values name no cell, or names repeat). Give one value per cell, e.g. "
            "series.reindex(adata.obs_names) (cells without a value get NaN and are dropped)."
        )
        raise ValueError(msg)
    return pd.Series(pseudotime.to_numpy(), index=index).reindex(cells).to_numpy()


def _report_unlabelled(X, r, genes) -> None:
    """Log the genes whose correlation with time is NaN: constant, or too few windows."""
    undefined = np.isnan(r)
    if not undefined.any():
        return
    observed = (~np.isnan(X)).sum(axis=1)
    few = undefined & (observed < 2)
    if few.any():
        shown = _few([genes[i] for i in np.flatnonzero(few)])
        logger.warning(
            "%d genes have fewer than 2 windows with a value (%s); label 2, r = NaN",
            int(few.sum()),
            shown,
        )
    if (undefined & ~few).any():
        shown = _few([genes[i] for i in np.flatnonzero(undefined & ~few)])
        logger.warning(
            "%d genes are constant over the windows (%s); label 2, r = NaN",
            int((undefined & ~few).sum()),
            shown,
        )


# ------------------------------------------------------------------------------- data


def _read_klein_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Read one GSE65525 CSV: genes in rows, gene name first, then one count per cell."""
    import pandas as pd

    frame = pd.read_csv(path, header=None, index_col=0)
    frame.index = frame.index.astype(str)
    return list(frame.index), frame.to_numpy(dtype=np.float64)


def load_klein_esc(directory, genes_file=None):
    """Load the mouse embryonic stem cell data of Klein et al. (2015) used in the paper.

    inDrop counts of ES cells at days 0, 2, 4 and 7 after LIF withdrawal (GEO
    GSE65525). Download these four files from GEO yourself and unpack them into
    ``directory``: ``GSM1599494_ES_d0_main.csv``, ``GSM1599497_ES_d2_LIFminus.csv``,
    ``GSM1599498_ES_d4_LIFminus.csv`` and ``GSM1599499_ES_d7_LIFminus.csv`` (genes in
    rows, cells in columns, the gene name first, no header). The days are concatenated in
    that order, as the original did.

    Parameters
    ----------
    directory : str or PathLike
        Folder holding the four CSV files (``.csv.gz`` is read too).
    genes_file : str or PathLike, default=None
        A gene list such as the original's ``esc_data/degenes_ES2.txt`` (732 differentially
        expressed genes); the genes are kept in its order. All genes when None.

    Returns
    -------
    anndata.AnnData
        Cells x genes counts, ``obs["day"]`` (0, 2, 4 or 7) and obs_names
        ``d<day>_<i>``. Follow with ``prepare(adata, root_cell=1)`` for the paper's
        732 x 68 matrix.

    Raises
    ------
    FileNotFoundError
        Naming the accession and the missing files when one is not in ``directory``.
    """
    _, anndata = _require_scanpy()
    import pandas as pd

    directory = Path(directory)
    paths = {}
    for day, name in KLEIN_ESC_FILES.items():
        found = [directory / n for n in (name, name + ".gz") if (directory / n).is_file()]
        paths[day] = found[0] if found else None
    missing = [KLEIN_ESC_FILES[d] for d, p in paths.items() if p is None]
    if missing:
        msg = (
            f"Missing {', '.join(missing)} in {str(directory)!r}. Download the Klein et al. "
            f"ESC files from GEO accession {KLEIN_ESC_ACCESSION} "
            f"(https://www.ncbi.nlm.nih.gov/geo/query/acc.cgi?acc={KLEIN_ESC_ACCESSION}) and "
            f"unpack {', '.join(KLEIN_ESC_FILES.values())} there."
        )
        raise FileNotFoundError(msg)
    blocks, days, names = [], [], None
    for day, path in paths.items():
        genes, counts = _read_klein_csv(path)
        if names is None:
            names = genes
        elif genes != names:
            msg = f"{path.name} lists different genes from {KLEIN_ESC_FILES[0]}."
            raise ValueError(msg)
        blocks.append(counts.T)  # (cells, genes)
        days.extend([day] * counts.shape[1])
    X = np.vstack(blocks)
    obs = pd.DataFrame(
        {"day": np.array(days, dtype=np.int64)},
        index=[f"d{d}_{i}" for d, i in zip(days, _running_index(days), strict=True)],
    )
    adata = anndata.AnnData(X.astype(np.float32), obs=obs)
    adata.var_names = names
    if genes_file is not None:
        kept = select_genes(adata, genes=read_gene_list(genes_file))
        adata = adata[:, kept].copy()
    logger.info("Klein ESC: %d cells x %d genes", adata.n_obs, adata.n_vars)
    return adata


def _running_index(days) -> list[int]:
    seen: dict = {}
    out = []
    for d in days:
        out.append(seen.get(d, 0))
        seen[d] = out[-1] + 1
    return out

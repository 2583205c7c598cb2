"""Reading, writing and normalising gene expression time series.

Two file formats are supported:

* **UCR** files, as used by the original RVAgene (``data/<name>/<name>_TRAIN``): no header,
  one gene per line, an integer label first, then one value per time point.
* **Gene-named tables** (CSV/TSV): a header of time-point names, one gene per row with its
  name first, and an optional label column. Numeric time names (``0,0.5,1,2``, or with a
  unit: ``0h,30min,2h``) give the times of uneven sampling. Replicates (or several
  measurements per time point) are columns named ``<time>_rep<k>`` (or ``<time>_r<k>``),
  e.g. ``0h_rep1,0h_rep2,1h_rep1,1h_rep2``, or time names repeated once per replicate; they
  are read as a 3-D array (genes, time points, replicates). A table without a gene column
  (its header starts with a time, or its first column holds numbers) is read as data
  throughout, with the genes named ``gene_1, gene_2, ...``; a column of numbers never
  becomes gene names. Semicolon-separated files with decimal commas (``gene;0h;1h`` and
  ``Sox2;1,5;2,25``, as European spreadsheet programs export) are read too.

Writers go through :func:`rvagene._utils.atomic_open`: an interrupted run never leaves a
partial file. Readers turn empty cells and ``NA``/``nan`` into NaN.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rvagene._utils import atomic_open

logger = logging.getLogger(__name__)

_MISSING = frozenset({"", "na", "nan", "n/a", "null"})
# A replicate column's header: "<time>_rep<k>", "<time>_r<k>" or "<time>_replicate<k>".
_REPLICATE = re.compile(r"^(?P<time>.+)_(?:replicate|rep|r)(?P<rep>\d+)$", re.IGNORECASE)
# A time with a unit, e.g. "30min", "0.5 h", "2d"; the factor converts to hours.
_TIME_UNIT = re.compile(
    r"^(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[a-z]+)$", re.IGNORECASE
)
_HOURS = {"s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600,
          "seconds": 1 / 3600, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60,
          "minutes": 1 / 60, "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
          "d": 24.0, "day": 24.0, "days": 24.0, "w": 168.0, "wk": 168.0, "week": 168.0,
          "weeks": 168.0}  # fmt: skip
_UNIT_NAMES = {1 / 3600: "s", 1 / 60: "min", 1.0: "h", 24.0: "d", 168.0: "wk"}
# A number written with a decimal comma, possibly with a unit: "1,5", "-0,25", "0,5h".
_DECIMAL_COMMA = re.compile(r"^([-+]?\d*),(\d+(?:[eE][-+]?\d+)?\s*[A-Za-z]*)$")


@dataclass(frozen=True, eq=False)
class TimeSeriesTable:
    """Expression time series read from a file, with their annotations.

    Attributes
    ----------
    X : ndarray of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_replicates)
        float64 values; missing values are NaN. 3-D for a table with replicate columns.
    genes : list of str or None
        Gene names (None for UCR files).
    times : ndarray of shape (n_timepoints,) or None
        Time points, when every header entry is a number, or a number with a unit
        (``30min``, ``2h``, ``1d``: in that unit, or in hours when the units differ).
    time_labels : list of str or None
        The header's time-point names as written, without replicate suffixes (None for UCR
        files).
    labels : ndarray of shape (n_genes,) or None
        Per-gene labels, used only for annotation and evaluation.
    source : str
        The file read.
    replicates : list of int or None
        Replicate numbers (the ``k`` of ``_rep<k>``, or 1, 2, ... for repeated time names)
        along the last axis of ``X``; None for a table without replicates.
    time_unit : str or None
        The unit of ``times`` when the header gave one (``"s"``, ``"min"``, ``"h"``, ``"d"``
        or ``"wk"``; ``"h"`` when the units differ); None for plain numbers or no times.
    """

    X: np.ndarray
    genes: list[str] | None
    times: np.ndarray | None
    time_labels: list[str] | None
    labels: np.ndarray | None
    source: str
    replicates: list[int] | None = None
    time_unit: str | None = None


def as_time_series(X, dtype=None) -> np.ndarray:
    """Return ``X`` as an array of shape ``(n_series, n_timepoints, n_dims)``.

    Parameters
    ----------
    X : array-like, torch.Tensor or torch.utils.data.Dataset
        2-D ``(n_series, n_timepoints)`` (one gene per row) becomes ``(n, T, 1)``; 3-D is
        kept. A torch ``Dataset`` (such as the original tool's ``TensorDataset``) may yield
        tensors of shape ``(T, F)`` or ``(T,)``, or tuples whose first element is one.
    dtype : numpy dtype, default=None
        By default floating input keeps its dtype and anything else becomes float64.
        NaN and inf pass through unchanged.

    Returns
    -------
    ndarray of shape (n_series, n_timepoints, n_dims)
        May share memory with ``X``.

    Examples
    --------
    >>> as_time_series([[1, 2, 3], [4, 5, 6]]).shape
    (2, 3, 1)
    >>> as_time_series(np.zeros((4, 10, 2), dtype=np.float32)).dtype
    dtype('float32')
    """
    torch = sys.modules.get("torch")  # X can only be a torch object once torch is loaded
    if torch is not None:
        from torch.utils.data import Dataset, TensorDataset

        if isinstance(X, TensorDataset):
            X = X.tensors[0]
        elif isinstance(X, Dataset):
            items = [X[i] for i in range(len(X))] if hasattr(X, "__len__") else list(X)
            items = [it[0] if isinstance(it, tuple | list) else it for it in items]
            X = [it.detach().cpu().numpy() if torch.is_tensor(it) else it for it in items]
        if torch.is_tensor(X):
            X = X.detach().cpu().numpy()
    try:
        arr = np.asarray(X)
        if arr.dtype.kind not in "biuf":
            arr = arr.astype(np.float64)
    except (TypeError, ValueError) as err:
        msg = (
            f"X must be a numeric array with the same number of time points in every series "
            f"({err}). Convert values to numbers and resample or trim ragged series."
        )
        raise ValueError(msg) from err
    if arr.size == 0:
        msg = f"X is empty (shape {arr.shape}). Pass at least one series with time points."
        raise ValueError(msg)
    if arr.ndim not in (2, 3):
        msg = (
            f"X must be 2-D (n_series, n_timepoints) or 3-D (n_series, n_timepoints, n_dims), "
            f"got shape {arr.shape}. For a single series use X.reshape(1, -1)."
        )
        raise ValueError(msg)
    arr = arr[:, :, np.newaxis] if arr.ndim == 2 else arr
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else np.float64
    return arr.astype(dtype, copy=False)


def check_input(X, n_timepoints: int | None = None, owner: str = "RVAgene") -> None:
    """Check ``X`` before an estimator reads it; raise one clear error naming the fix.

    The checks look at ``X`` itself (its nesting, dtype, shape and values), so the messages
    do not depend on how numpy or scikit-learn word theirs. They cover: ragged series,
    non-numeric values, complex numbers, empty input, 1-D input, infinite values, and (when
    ``n_timepoints`` is given) the number of time points. NaN passes (it marks a missing
    value). Sparse matrices are left to scikit-learn, which says they are not supported. The
    phrases scikit-learn's own estimator checks look for ("X has 3 features, but ... is
    expecting 4 features as input", "Reshape your data", "inf", "Complex data not
    supported", "0 feature(s) (shape=...) while a minimum of 1 is required") are kept.

    Parameters
    ----------
    X : array-like
        The input, as given to ``fit``, ``transform``, ... (not modified).
    n_timepoints : int, optional
        The number of time points the estimator was fitted on.
    owner : str, default="RVAgene"
        The estimator's name, for the time-point message.

    Raises
    ------
    ValueError
        With a message that names the problem, where it is, and the fix.

    Examples
    --------
    >>> check_input([[1.0, 2.0], [3.0, float("nan")]])  # fine: nothing happens
    >>> try:
    ...     check_input([["Sox2", 1, 2], ["Nanog", 3, 4]])
    ... except ValueError as err:
    ...     print(str(err).split(". ")[0])
    X holds a non-numeric value ('Sox2')
    """
    if "scipy.sparse" in sys.modules and sys.modules["scipy.sparse"].issparse(X):
        return
    try:
        arr = np.asarray(X)
    except ValueError as err:  # numpy cannot make one array: find out why from X itself
        if _is_ragged(X):
            msg = (
                "X is ragged: its series have different numbers of time points. Resample "
                "or trim them to one length (NaN marks a missing value)."
            )
            raise ValueError(msg) from err
        msg = f"X cannot be read as one array of numbers ({err}). Give a 2-D or 3-D array."
        raise ValueError(msg) from err
    if arr.dtype.kind == "c":
        msg = (
            "X holds complex numbers: Complex data not supported. Give real values, e.g. "
            "X.real or abs(X)."
        )
        raise ValueError(msg)
    if arr.dtype.kind in "OUS" and arr.size:
        try:
            arr = arr.astype(np.float64)
        except ValueError:
            bad = next(v for v in arr.flat if _number(str(v).strip()) is None)
            value = repr(bad.item() if isinstance(bad, np.generic) else bad)
            msg = (
                f"X holds a non-numeric value ({value}). Convert it to numbers; if the first "
                "column holds gene names or labels, leave it out (X[:, 1:]) or read the "
                "file with rvagene.read_table."
            )
            raise ValueError(msg) from None
        # a TypeError (e.g. a dict among the values) passes: its own message names the type
    if arr.size == 0:
        if arr.ndim == 2 and arr.shape[0] and not arr.shape[1]:
            where = f"X has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        elif arr.ndim >= 2 and not arr.shape[0]:
            where = f"X has 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        else:
            where = f"X is empty (shape {arr.shape})."
        msg = f"{where} X is empty: pass at least one series with at least 2 time points."
        raise ValueError(msg)
    if arr.ndim < 2:
        msg = (
            f"X is {arr.ndim}-D (shape {arr.shape}); {owner} needs (n_series, n_timepoints) "
            "or (n_series, n_timepoints, n_dims). Reshape your data: one series is "
            "X.reshape(1, -1)."
        )
        raise ValueError(msg)
    if arr.dtype.kind == "f" and np.isinf(arr).any():
        index = tuple(int(i) for i in np.argwhere(np.isinf(arr))[0])
        msg = (
            f"X contains inf or a value too large for float64 (first at index {index}). "
            "Replace it with a finite value, or with NaN to mark it missing (NaN is left "
            "out of the loss)."
        )
        raise ValueError(msg)
    if n_timepoints is not None and arr.shape[1] != n_timepoints:
        msg = (
            f"X has {arr.shape[1]} features, but {owner} is expecting {n_timepoints} "
            "features as input (time points per series). Resample X to the fitted number "
            "of time points, or refit on data of this length."
        )
        raise ValueError(msg)


def _is_ragged(X) -> bool:
    """Whether nested sequences ``X`` have rows (or rows of rows) of different lengths."""
    level = [X]
    while level:
        items = [x for x in level if isinstance(x, Sequence | np.ndarray)]
        items = [x for x in items if not isinstance(x, str)]
        if not items:
            return False
        if len({len(x) for x in items}) > 1 or len(items) != len(level):
            return True
        level = [y for x in items for y in x]
    return False


SCALINGS = ("zscore", "minmax", "none")


def scale_series(X, method: str = "zscore") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each series over time (the model, the single-cell path and the benchmarks use it).

    Parameters
    ----------
    X : array-like of shape (n_series, n_timepoints) or (n_series, n_timepoints, n_dims)
        NaN marks a missing value; it is ignored by the statistics and stays NaN.
    method : {"zscore", "minmax", "none"}, default="zscore"
        ``"zscore"``: mean 0 and standard deviation 1 over time; ``"minmax"``: to [-1, 1];
        ``"none"``: unchanged.

    Returns
    -------
    scaled : ndarray, the shape of X
    centre, scale : ndarray of shape (n_series, 1) or (n_series, 1, n_dims)
        ``X = scaled * scale + centre``. Flat series get scale 1 (and scaled values 0).

    Examples
    --------
    >>> scaled, centre, scale = scale_series([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    >>> scaled.round(3).tolist(), centre.ravel().tolist()
    ([[-1.225, 0.0, 1.225], [0.0, 0.0, 0.0]], [2.0, 5.0])
    """
    X = np.asarray(X, dtype=np.float64)
    if method not in SCALINGS:
        msg = f"Unknown scaling {method!r}; use one of {', '.join(SCALINGS)}."
        raise ValueError(msg)
    if method == "none":
        shape = (X.shape[0], 1, *X.shape[2:])
        return X.copy(), np.zeros(shape), np.ones(shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series are reported below
        if method == "zscore":
            centre = np.nanmean(X, axis=1, keepdims=True)
            scale = np.nanstd(X, axis=1, keepdims=True)
        else:  # minmax to [-1, 1]
            lo, hi = np.nanmin(X, axis=1, keepdims=True), np.nanmax(X, axis=1, keepdims=True)
            centre, scale = (hi + lo) / 2, (hi - lo) / 2
    if np.isnan(centre).any():
        gene = int(np.isnan(centre).reshape(len(X), -1).any(axis=1).argmax())
        msg = f"Series {gene} has no observed value (all NaN). Remove it or fill it in."
        raise ValueError(msg)
    scale = np.where(scale > 1e-12 * np.maximum(1.0, np.abs(centre)), scale, 1.0)  # flat genes
    return (X - centre) / scale, centre, scale


def _finite_series(X) -> np.ndarray:
    """X for a file: (n, time, dims) float64, finite or NaN (NaN is written as missing)."""
    arr = as_time_series(X, dtype=np.float64)
    if np.isinf(arr).any():
        i, j, k = np.argwhere(np.isinf(arr))[0]
        msg = (
            f"X[{i}, {j}] is {arr[i, j, k]}; files hold finite values, with NaN for missing "
            "ones. Replace the infinite values first."
        )
        raise ValueError(msg)
    return arr


def _univariate(X) -> np.ndarray:
    """X for a UCR file: 2-D float64, finite or NaN (NaN is written as a missing value)."""
    arr = as_time_series(X, dtype=np.float64)
    if arr.shape[2] != 1:
        msg = (
            f"UCR files hold one value per time point, but X has shape {arr.shape}. Split "
            "the dims, or write replicates with write_table."
        )
        raise ValueError(msg)
    return _finite_series(arr)[:, :, 0]


def _number(cell: str) -> float | None:
    """Parse a cell: NaN for a missing value, None when it is not a number."""
    if cell.lower() in _MISSING:
        return np.nan
    try:
        return float(cell)
    except ValueError:
        return None


def _numbers(cells: list[str]) -> np.ndarray | None:
    """Parse cells as float64, or return None when one is not a number."""
    values = [_number(c) for c in cells]
    return None if None in values else np.array(values, dtype=np.float64)


def _read_text(path) -> str:
    """The text of a file (UTF-8, with or without a byte-order mark), or a clear error."""
    path = Path(path)
    if path.is_dir():
        msg = f"{str(path)!r} is a folder, not a data file. Give the path of a file in it."
        raise ValueError(msg)
    if not path.is_file():
        msg = f"No such file: {str(path)!r}. Check the path, or the folder you run from."
        raise FileNotFoundError(msg)
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError as err:
        msg = (
            f"{path} is not UTF-8 text (byte {err.start} cannot be decoded); it may be a binary "
            "file. Give a text table, saved as UTF-8 (in Excel: 'CSV UTF-8')."
        )
        raise ValueError(msg) from None


def _guess_sep(first: str) -> str:
    """The separator of a table judged from its first line: semicolon, comma, tab or spaces.

    A semicolon wins when it is at least as common as the comma, so a European export's
    header (``gene;0,5h;1h``) is split at its semicolons.
    """
    if ";" in first and first.count(";") >= first.count(","):
        return ";"
    return "," if "," in first else "\t" if "\t" in first else " "


def _read_rows(path, sep: str | None, short_header: bool = False) -> list[tuple[int, list[str]]]:
    """Return the non-blank rows of a text file as ``(line_number, cells)``, all equally long.

    Cells are stripped of surrounding whitespace; quoted cells (as written by the ``csv``
    module) may hold separators, quotes and line breaks. With any separator but the comma,
    numbers written with a decimal comma (``1,5``) are read as ``1.5``. With
    ``short_header``, a first row one cell shorter than all the others (a header without a
    name for the first column, as R's ``write.table`` writes) gets an empty first cell.
    """
    text = _read_text(path)
    if "\x00" in text:
        msg = f"{path} contains NUL bytes; it is not a text table. Give a CSV/TSV or UCR file."
        raise ValueError(msg)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if sep is None:
        sep = _guess_sep(next((line for line in lines if line.strip()), ""))
    if sep == " ":
        numbered = [(i, line.split()) for i, line in enumerate(lines, 1)]
    else:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
        numbered = []
        try:
            for cells in reader:
                numbered.append((reader.line_num, cells))
        except csv.Error as err:
            msg = f"{path}, line {reader.line_num + 1}: {err}. Check the quotes in that line."
            raise ValueError(msg) from None
    rows = [(i, [c.strip() for c in r]) for i, r in numbered if "".join(r).strip()]
    if not rows:
        msg = f"{path} is empty. Give a file with one series per line."
        raise ValueError(msg)
    if sep != ",":  # decimal commas: "1,5" is 1.5 (and "0,5h" is 0.5h)
        rows = [(i, [_DECIMAL_COMMA.sub(r"\1.\2", c) for c in r]) for i, r in rows]
    widths = {len(cells) for _, cells in rows[1:]}
    if short_header and widths == {len(rows[0][1]) + 1}:
        rows[0] = (rows[0][0], ["", *rows[0][1]])
    line0, width = rows[0][0], len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            msg = (
                f"{path}: line {line} has {len(cells)} columns but line {line0} has {width}. "
                "Give every row the same number of time points (or check the separator)."
            )
            raise ValueError(msg)
    return rows


def _parse(rows, where) -> np.ndarray:
    """Parse all cells as floats; ``where(row_index, column_index)`` names a bad cell.

    Missing cells become NaN; a non-numeric or infinite value is an error naming its place.
    """
    try:  # fast path: numpy parses every cell
        out = np.array([cells for _, cells in rows], dtype=np.float64)
    except ValueError:  # missing values or a bad cell: go cell by cell
        out = None
    if out is None:
        parsed = [_numbers(cells) for _, cells in rows]
        for r, (_, cells) in enumerate(rows):
            if parsed[r] is None:
                col = next(j for j, c in enumerate(cells) if _number(c) is None)
                msg = f"Non-numeric value {cells[col]!r} at {where(r, col)}. Fix or remove it."
                raise ValueError(msg)
        out = np.array(parsed)
    if np.isinf(out).any():
        r, col = np.argwhere(np.isinf(out))[0]
        msg = (
            f"Infinite value {rows[r][1][col]!r} at {where(r, col)}. Replace it with a finite "
            "number, or leave the cell empty (or NA) to mark it missing."
        )
        raise ValueError(msg)
    return out


def _check_timepoints(n: int, path) -> None:
    if n < 2:
        msg = f"{path} has {n} time point(s) per series; at least 2 are needed (check the sep)."
        raise ValueError(msg)


def _integral(values: np.ndarray) -> np.ndarray:
    return np.isfinite(values) & (values == np.round(values))


def read_ucr(path, delimiter: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a UCR-style file such as the original RVAgene's ``data/<name>/<name>_TRAIN``.

    Parameters
    ----------
    path : str or PathLike
        No header; one gene per line: an integer label, then one value per time point.
    delimiter : str, default=None
        Column separator; by default a comma, tab or whitespace, guessed from the first line.

    Returns
    -------
    X : ndarray of shape (n_genes, n_timepoints)
        float64 values.
    labels : ndarray of shape (n_genes,)
        int64 labels.
    """
    rows = _read_rows(path, delimiter)
    _check_timepoints(len(rows[0][1]) - 1, path)
    data = _parse(rows, lambda r, col: f"{path}: line {rows[r][0]}, column {col + 1}")
    bad = np.flatnonzero(~_integral(data[:, 0]))
    if bad.size:
        msg = (
            f"{path}: line {rows[bad[0]][0]} has label {rows[bad[0]][1][0]!r}, not an integer. "
            "The first column of a UCR file must be the label (an integer); for series without "
            "labels use a gene-named CSV (a header line 'gene,t0,t1,...', then each gene's "
            "name and values; see read_table)."
        )
        raise ValueError(msg)
    logger.debug("read %d series x %d time points from %s", len(data), data.shape[1] - 1, path)
    return data[:, 1:], data[:, 0].astype(np.int64)


def _fmt(value) -> str:
    """Shortest text that reads back as the same float64 (``repr``), without a trailing '.0'."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _labels_for(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels).ravel()
    if len(labels) != n:
        msg = f"labels has {len(labels)} entries but X has {n} series. Give one label per series."
        raise ValueError(msg)
    return labels


def write_ucr(path, X, labels=None) -> None:
    """Write series as a comma-separated UCR file that :func:`read_ucr` reads back exactly.

    Parameters
    ----------
    path : str or PathLike
        Target file; written atomically, parent folders created.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, 1)
        Values, written at ``repr`` precision so that float64 round-trips exactly.
    labels : array-like of int of shape (n_genes,), default=None
        When None every row gets label 0, because the format requires the column;
        :func:`has_real_labels` then reports that there are no labels.
    """
    X = _univariate(X)
    labels = _labels_for(np.zeros(len(X), np.int64) if labels is None else labels, len(X))
    if labels.dtype.kind not in "biuf" or not _integral(labels.astype(np.float64)).all():
        msg = (
            f"UCR labels must be integers, got {labels[:3].tolist()}... Encode them first, "
            "e.g. labels = np.unique(labels, return_inverse=True)[1]."
        )
        raise ValueError(msg)
    with atomic_open(path, "w", encoding="utf-8") as fh:
        for label, row in zip(labels.tolist(), X.tolist(), strict=True):
            fh.write(",".join([str(int(label)), *map(_fmt, row)]) + "\n")


def open_data(direc, ratio_train=0.8, dataset="ECG5000", *, shuffle=False, random_state=None):
    """Load ``<direc>/<dataset>/<dataset>_TRAIN`` (and ``_TEST``) like the original tool.

    Kept so that scripts written for the original run unchanged; new code should use
    :func:`load_dataset` or :func:`read_ucr`.

    Parameters
    ----------
    direc : str or PathLike
        Folder holding one sub-folder per dataset.
    ratio_train : float, default=0.8
        Fraction of rows returned for training. Below 1, the ``_TEST`` rows are appended
        first, **without the last one**, as the original did.
    dataset : str, default="ECG5000"
        Dataset name.
    shuffle : bool, default=False
        The original split in file order (its permutation was commented out); True permutes
        the rows first.
    random_state : int, numpy Generator, RandomState or None, default=None
        Seed for that permutation. The global RNG is never used.

    Returns
    -------
    X_train, X_val : ndarray of shape (n, n_timepoints, 1)
    y_train, y_val : ndarray of shape (n, 1)
        float64 label columns, as in the original.
    """
    stem = Path(direc) / dataset / dataset
    X, y = read_ucr(f"{stem}_TRAIN")
    if ratio_train < 1:
        X_test, y_test = read_ucr(f"{stem}_TEST")
        X, y = np.concatenate([X, X_test[:-1]]), np.concatenate([y, y_test[:-1]])
    order = np.arange(len(X))
    if shuffle:
        rng = random_state
        if not isinstance(rng, np.random.RandomState | np.random.Generator):
            rng = np.random.default_rng(random_state)
        order = rng.permutation(len(X))
    X, y = X[order, :, np.newaxis], y[order, np.newaxis].astype(np.float64)
    cut = int(ratio_train * len(X))
    return X[:cut], X[cut:], y[:cut], y[cut:]


def _table_sep(path, sep: str | None) -> str | None:
    """The separator given, a tab for ``.tsv``/``.tab`` files, else None (guessed)."""
    return sep or ("\t" if Path(path).suffix.lower() in {".tsv", ".tab"} else None)


def _parse_times(labels: list[str]) -> np.ndarray | None:
    """Times from time-point names: numbers, or numbers with a unit; None otherwise."""
    return _parse_times_unit(labels)[0]


def _parse_times_unit(labels: list[str]) -> tuple[np.ndarray | None, str | None]:
    """Times from time-point names and their unit (None for plain numbers).

    One unit throughout (``0h,1h``, ``0d,2d``) keeps the numbers; different units
    (``30min,1h``) are converted to hours.
    """
    plain = _numbers(labels)
    if plain is not None:
        return (plain if np.isfinite(plain).all() else None), None
    found = [_TIME_UNIT.match(label) for label in labels]
    if not all(found) or any(m["unit"].lower() not in _HOURS for m in found):
        return None, None
    values = np.array([float(m["value"]) for m in found])
    hours = np.array([_HOURS[m["unit"].lower()] for m in found])
    if np.all(hours == hours[0]):
        return values, _UNIT_NAMES[hours[0]]
    return values * hours, "h"


def _is_time_name(name: str, other: str | None) -> bool:
    """Whether a header's first cell names a time point rather than the gene column.

    True for a time (``0``, ``2.5``, ``0h``) and for a name built like the next header
    cell with other digits (``t0`` before ``t1``, ``day0`` before ``day1``).
    """
    if _parse_times([name]) is not None:
        return True
    shape = re.sub(r"\d+(?:\.\d+)?", "#", name)
    return other is not None and "#" in shape and shape == re.sub(r"\d+(?:\.\d+)?", "#", other)


def _replicate_layout(names: list[str], path) -> tuple[list[str], list[int], np.ndarray] | None:
    """Group time columns by time and replicate; None for a table without replicates.

    Returns the time names (in order of first appearance), the replicate numbers, and the
    position in ``names`` of each (time, replicate) cell, an int array (n_times, n_reps).
    """
    found = [_REPLICATE.match(name) for name in names]
    if any(found):
        plain = [name for name, m in zip(names, found, strict=True) if m is None]
        if plain:
            first = next(name for name, m in zip(names, found, strict=True) if m)
            msg = (
                f"{path}: column {plain[0]!r} has no replicate suffix, but {first!r} has "
                "one. Name every time column '<time>_rep<k>' (e.g. '0h_rep1'), or none of "
                "them."
            )
            raise ValueError(msg)
        keys = [m["time"] for m in found]
        reps = [int(m["rep"]) for m in found]
    else:  # repeated time names: the k-th column of a time is replicate k
        if len(set(names)) == len(names):
            return None
        keys, seen, reps = list(names), Counter(), []
        for key in keys:
            seen[key] += 1
            reps.append(seen[key])
    position: dict[tuple[str, int], int] = {}
    for j, cell in enumerate(zip(keys, reps, strict=True)):
        if cell in position:
            msg = (
                f"{path}: columns {names[position[cell]]!r} and {names[j]!r} are both time "
                f"{cell[0]!r}, replicate {cell[1]}. Give each time and replicate one "
                "column."
            )
            raise ValueError(msg)
        position[cell] = j
    order = list(dict.fromkeys(keys))
    want = sorted(r for k, r in position if k == order[0])
    for key in order[1:]:
        got = sorted(r for k, r in position if k == key)
        if got != want:
            msg = (
                f"{path}: time {key!r} has replicate(s) {got} but time {order[0]!r} has "
                f"{want}. Give every time point the same replicate columns (leave a "
                "missing measurement empty, or NA)."
            )
            raise ValueError(msg)
    index = np.array([[position[key, r] for r in want] for key in order])
    return order, want, index


def _gene_column(path, header, body, label_key: str) -> str | None:
    """What a table's first column holds: ``"genes"``, ``"label"`` or None (data).

    A column of numbers never becomes gene names: under a header cell that names a time
    point it is data; under any other name it is kept as gene IDs only when every value is
    an integer (such as Entrez IDs), and otherwise it is an error that says what to do.
    """
    name, values = header[0], [cells[0] for _, cells in body]
    numeric = _numbers(values)
    if label_key and name.lower() == label_key:
        return "label"
    if _is_time_name(name, header[1] if len(header) > 1 else None):
        if numeric is None:
            bad = next(v for v in values if _number(v) is None)
            msg = (
                f"{path}: the header starts with the time {name!r}, but the rows start with "
                f"names such as {bad!r}. Add a name for the gene column (e.g. 'gene') at the "
                "start of the header."
            )
            raise ValueError(msg)
        return None
    if numeric is None or _integral(numeric).all():
        return "genes"  # names, or integer gene IDs
    shown = ", ".join(values[:3])
    column = f"column {name!r}" if name else "first column (no header)"
    msg = (
        f"{path}: the {column} holds numbers ({shown}, ...), not gene names. If it is a "
        "time point, name it as one in the header (e.g. '0h'); if the file has a gene "
        "column, put it first."
    )
    raise ValueError(msg)


def _header_is_values(path, header) -> ValueError:
    return ValueError(
        f"{path}: the first line ({', '.join(header[:4])}, ...) is read as the header, but "
        "its time points decrease, so it looks like a gene's values. "
        "Add a header line such as 'gene,t0,t1,...' above the genes (or put the time "
        "columns in increasing order)."
    )


def read_table(
    path, sep: str | None = None, label_column: str | None = "label"
) -> TimeSeriesTable:
    """Read a gene-named table: genes in rows, time points in columns.

    The header row names the gene column, then each time point (numbers such as
    ``0,0.5,1,2``, numbers with a unit such as ``0h,30min,2h``, or strings such as
    ``t0,t1``). A column whose header matches ``label_column`` (case-insensitively) holds
    per-gene labels. The gene column's header may be empty, or missing altogether (a header
    one cell shorter than the rows, as R writes).

    A column of numbers never becomes gene names. When the header's first cell is a time
    point (``0h``, ``0``, ``2.5``, or ``t0`` before ``t1``), every column is data and the
    genes are named ``gene_1, gene_2, ...``; the same when the first column is the label
    column. A first column of integers under another name (``gene``, ``id``) is read as
    gene IDs; one of other numbers is an error that says what to do.

    Replicates, or several measurements per time point, are read as a 3-D ``X`` (genes,
    time points, replicates) when the time columns are named ``<time>_rep<k>`` (also
    ``_r<k>``, ``_replicate<k>``; case-insensitive), in any order, e.g.
    ``gene,0h_rep1,0h_rep2,1h_rep1,1h_rep2``, or when each time name is repeated once per
    replicate (``gene,0,0,1,1``: the k-th column of a time is replicate k). Every time
    point must have the same replicates; a missing measurement is an empty or NA cell.

    Parameters
    ----------
    path : str or PathLike
        ``.tsv``/``.tab`` files are tab-separated; otherwise the separator is guessed from
        the header: a semicolon (when at least as common as the comma), a comma, a tab,
        else whitespace. With any separator but the comma, decimal commas (``1,5``) are
        read as decimal points.
    sep : str, default=None
        Column separator, overriding the above.
    label_column : str or None, default="label"
        Header of the label column; None if there is none.

    Returns
    -------
    TimeSeriesTable
        Labels are int64 when all are integers, float64 when all are numbers, else strings.

    Examples
    --------
    A file with the header ``gene,label,0h_rep1,0h_rep2,2h_rep1,2h_rep2,6h_rep1,6h_rep2``
    gives ``X`` of shape (n_genes, 3, 2), ``times`` ``[0, 2, 6]`` and ``replicates``
    ``[1, 2]``; :func:`write_table` writes such a file from a 3-D array.
    """
    rows = _read_rows(path, _table_sep(path, sep), short_header=True)
    (_, header), body = rows[0], rows[1:]
    if not body:
        msg = f"{path} has a header but no genes. Add one row per gene below the header."
        raise ValueError(msg)
    key = (label_column or "").lower()
    first = _gene_column(path, header, body, key)
    start = 0 if first is None else 1
    label_at = next(
        (j for j, h in enumerate(header) if j >= start and key and h.lower() == key), None
    )
    cols = [j for j in range(start, len(header)) if j != label_at]
    _check_timepoints(len(cols), path)
    genes = [cells[0] for _, cells in body] if first == "genes" else None
    if first is None or first == "label":  # no gene names in the file
        logger.info("%s has no gene column; genes are named gene_1 ... gene_%d", path, len(body))
        genes = [f"gene_{i}" for i in range(1, len(body) + 1)]
        if first == "label":
            label_at = 0
    X = _parse(
        [(line, [cells[j] for j in cols]) for line, cells in body],
        lambda r, c: f"{path}: gene {genes[r]!r} (line {body[r][0]}), column {header[cols[c]]!r}",
    )
    labels = None
    if label_at is not None:
        raw = [cells[label_at] for _, cells in body]
        labels = _numbers(raw)
        if labels is None:
            labels = np.array(raw)
        elif _integral(labels).all():
            labels = labels.astype(np.int64)
    time_labels = [header[j] for j in cols]
    try:
        layout = _replicate_layout(time_labels, path)
    except ValueError:
        values = _numbers(list(dict.fromkeys(time_labels)))  # a gene's values, repeated?
        if values is not None and (np.diff(values) < 0).any():
            raise _header_is_values(path, header) from None
        raise
    replicates = None
    if layout is not None:
        time_labels, replicates, index = layout
        _check_timepoints(len(time_labels), path)
        X = X[:, index]  # (genes, times, replicates)
    times, unit = _parse_times_unit(time_labels)
    if times is not None and (np.diff(times) < 0).any():
        raise _header_is_values(path, header)
    dupes = sorted(g for g, k in Counter(genes).items() if k > 1)
    if dupes:
        msg = f"{path}: duplicate gene names {dupes[:5]}; all rows are kept."
        warnings.warn(msg, UserWarning, stacklevel=2)
    logger.debug("read %d genes x %d time points from %s", *X.shape[:2], path)
    return TimeSeriesTable(X, genes, times, time_labels, labels, str(path), replicates, unit)


def write_table(path, X, genes=None, times=None, labels=None, sep: str | None = None) -> None:
    """Write a gene-named table that :func:`read_table` reads back exactly.

    Parameters
    ----------
    path : str or PathLike
        Target file; written atomically. ``.tsv``/``.tab`` get tabs, anything else commas.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_replicates)
        Values; NaN is written as ``NA``. With more than one replicate the header names the
        columns ``<time>_rep<k>`` (k = 1, 2, ...), replicates of a time side by side; a
        3-D ``X`` with one replicate is written as 2-D.
    genes : sequence of str, default=None
        Gene names; ``gene_0, gene_1, ...`` when None.
    times : sequence of float or str, default=None
        Time-point names for the header (numbers are read back as ``times``); ``t0, t1,
        ...`` when None.
    labels : array-like of shape (n_genes,), default=None
        Written as a ``label`` column after the gene names when given.
    sep : str, default=None
        Column separator, overriding the extension.
    """
    X = _finite_series(X)
    n, n_times, n_reps = X.shape
    genes = [f"gene_{i}" for i in range(n)] if genes is None else [str(g) for g in genes]
    times = [f"t{j}" for j in range(n_times)] if times is None else list(times)
    if len(genes) != n or len(times) != n_times:
        msg = (
            f"X has shape {X.shape} but {len(genes)} gene names and {len(times)} times were "
            "given. Give one name per row and one time per time point."
        )
        raise ValueError(msg)

    def cell(v) -> str:
        return str(v) if isinstance(v, str) else "NA" if np.isnan(v) else _fmt(v)

    labels = None if labels is None else _labels_for(labels, n).tolist()
    # The csv module quotes a cell holding a character of its line terminator, so with "\r\n"
    # it quotes names holding "\r" or "\n"; each row then ends in "\n" alone.
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=_table_sep(path, sep) or ",", lineterminator="\r\n")

    def line(cells) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(cells)
        return buffer.getvalue()[:-2] + "\n"

    columns = [cell(t) for t in times]
    if n_reps > 1:
        columns = [f"{c}_rep{k}" for c in columns for k in range(1, n_reps + 1)]
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(line(["gene", *(["label"] if labels is not None else []), *columns]))
        for i, row in enumerate(X.reshape(n, n_times * n_reps).tolist()):
            fh.write(
                line(
                    [genes[i], *([cell(labels[i])] if labels is not None else []), *map(cell, row)]
                )
            )


def load_dataset(name_or_path, data_dir="data") -> TimeSeriesTable:
    """Load a dataset by name (``<data_dir>/<name>/<name>_TRAIN``) or from a file.

    Parameters
    ----------
    name_or_path : str or PathLike
        A UCR file (recognised by a first row of numbers only), a gene-named CSV/TSV (see
        :func:`read_table`; a ``.csv``/``.tsv``/``.tab``/``.txt`` file whose first row is
        strictly increasing numbers is a table with a header of times), a folder ``<dir>``
        holding ``<dir>/<basename>_TRAIN``, or a dataset name.
    data_dir : str or PathLike, default="data"
        Where dataset names are looked up, as in the original tool.

    Returns
    -------
    TimeSeriesTable
        For UCR files ``genes``, ``times`` and ``time_labels`` are None.
    """
    path = Path(name_or_path)
    if path.suffix.lower() == ".h5ad":
        msg = f"{path} is an AnnData file; turn it into series with rvagene.single_cell first."
        raise ValueError(msg)
    root = Path(data_dir)
    names = sorted(d.name for d in root.glob("*") if (d / f"{d.name}_TRAIN").is_file())
    available = f"Datasets in {str(data_dir)!r}: {', '.join(names) or 'none'}."
    if path.is_dir():
        if not (path / f"{path.name}_TRAIN").is_file():
            files = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
            msg = (
                f"{str(path)!r} is a folder without {path.name}_TRAIN (it holds: "
                f"{', '.join(files[:8]) or 'nothing'}). Give a data file's path, or a dataset "
                f"name. {available}"
            )
            raise FileNotFoundError(msg)
        path = path / f"{path.name}_TRAIN"
    elif not path.is_file():
        looks_like_path = path.suffix != "" or len(path.parts) > 1
        candidate = root / str(name_or_path) / f"{name_or_path}_TRAIN"
        if looks_like_path or not candidate.is_file():
            hint = (
                f"Check the path (relative paths start at {str(Path.cwd())!r})."
                if looks_like_path
                else f"Run `python gen_synthetic_data.py {name_or_path}` to simulate it, or "
                "give a file's path."
            )
            msg = (
                f"No dataset {str(name_or_path)!r}: there is no such file and no "
                f"{candidate}. {available} {hint}"
            )
            raise FileNotFoundError(msg)
        path = candidate
    first = next((line for line in _read_text(path).splitlines() if line.strip()), "")
    cells = first.replace(",", " ").replace("\t", " ").split()
    if cells and all(c.lower() not in _MISSING and _number(c) is not None for c in cells):
        values = np.array([float(c) for c in cells])
        table_file = path.suffix.lower() in {".csv", ".tsv", ".tab", ".txt"}
        if table_file and len(values) > 2 and (np.diff(values) > 0).all():
            return read_table(path)  # a header of times (0,1,2,4,...) above rows of data
        X, labels = read_ucr(path)
        return TimeSeriesTable(X, None, None, None, labels, str(path))
    return read_table(path)


def has_real_labels(labels) -> bool:
    """Return whether ``labels`` can score a clustering: not None and not all the same.

    Examples
    --------
    >>> has_real_labels([0, 0, 0]), has_real_labels([1, 2, 1]), has_real_labels(None)
    (False, True, False)
    """
    return labels is not None and len(np.unique(np.asarray(labels).ravel())) > 1


def flat_genes(X) -> np.ndarray:
    """Which genes are flat: no variance over time, so there is no shape to cluster.

    A gene is flat when its series has zero variance over time once NaN (missing values)
    is left out, or when it has fewer than 2 finite values. With several values per time
    point (a 3-D ``X``), a gene is flat when each of its values is. The threshold is the one
    :func:`scale_series` uses for a flat series: a standard deviation of at most
    ``1e-12 * max(1, |mean|)``. Z-scoring such a gene leaves nothing but 0 (or noise blown
    up to unit variance), so :class:`rvagene.GeneClustering` gives flat genes the label -1
    and leaves them out of fitting and clustering.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)

    Returns
    -------
    flat : ndarray of bool, shape (n_genes,)

    Examples
    --------
    >>> nan = float("nan")
    >>> flat_genes([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0], [4.0, nan, 4.0], [7.0, nan, nan]])
    array([False,  True,  True,  True])
    """
    X = as_time_series(X, dtype=np.float64)  # (genes, time, dims)
    finite = np.isfinite(X)
    n_finite = finite.sum(axis=1)  # (genes, dims)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series: flat below
        values = np.where(finite, X, np.nan)
        centre = np.nanmean(values, axis=1)
        spread = np.nanstd(values, axis=1)
    flat = (n_finite < 2) | ~(spread > 1e-12 * np.maximum(1.0, np.abs(centre)))
    return flat.all(axis=1)

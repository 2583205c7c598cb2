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

Sample names holding one time each (``LPS_30m, LPS_1h``, ``t2h``, ``day3``, ``0.5 h``) give
times too; a header without times is read as equal steps, with one warning, and a header
mixing controls or conditions with time points gets a warning saying to split the file.

Writers go through :func:`rvagene._utils.atomic_open`: an interrupted run never leaves a
partial file; a ``.gz`` name is written through gzip, so the readers read it back.
Readers turn empty cells, ``NA``/``nan``/``null``, Excel's ``#N/A`` and a lone ``-`` into
NaN; they skip comment lines (starting with ``#``; a commented header
``#gene,0h,1h`` is kept), ignore a separator at the end of every line, and read ``.gz`` files
(``genes.csv.gz``) through gzip. A GEO series matrix (``GSE<n>_series_matrix.txt``) is read
from its table, the samples named by their ``!Sample_title`` (see :func:`_series_matrix`).
:func:`load_dataset` also marks values no one means (a ``1e30`` among values of order 1; see
:func:`extreme_values`) as missing, with a warning naming each gene, time point and value.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import gzip
import io
import logging
import re
import sys
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rvagene._utils import atomic_open, atomic_path, user_stacklevel

logger = logging.getLogger(__name__)

# Missing-value markers (lower case): also Excel's "#N/A" and a lone dash.
_MISSING = frozenset({"", "na", "nan", "n/a", "null", "#n/a", "-"})
# A label cell that leaves its gene unlabelled: a missing marker, but not "-", a label
# (as in "+"/"-" strands or directions).
_NO_LABEL = _MISSING - {"-"}
# A replicate column's header: "<time>_rep<k>", "<time>_r<k>" or "<time>_replicate<k>"; the
# separator may also be ".", "-" or a space (R's make.names turns "0h rep1" into "X0h.rep1").
_REPLICATE_AFTER = re.compile(r"^(?P<time>.+)[_.\- ](?:replicate|rep|r)(?P<rep>\d+)$", re.I)
_REPLICATE_BEFORE = re.compile(r"^(?:replicate|rep|r)(?P<rep>\d+)[_.\- ](?P<time>.+)$", re.I)


def _replicate_of(name: str) -> re.Match | None:
    """A time column's replicate: ``0h_rep1`` (also ``_r1``, ``.replicate1``) or ``rep1_0h``.

    A match with the groups ``time`` and ``rep``, or None. Before its time, a replicate
    counts only where the rest of the name holds a time (``rep1_0h``, ``R1.day2``) or is
    a prefix and a number (``rep1_t0``, ``rep1_P7``, ``rep1_E13``: whether those are times
    is decided for the whole header, as for ``t0_rep1``), not in ``R1_S1`` (a sequencing
    read and sample).
    """
    after = _REPLICATE_AFTER.match(name)
    if after:
        return after
    before = _REPLICATE_BEFORE.match(name)
    if before and (
        _PREFIXED_TIME.fullmatch(before["time"].strip())
        or _label_times([before["time"]])[0] is not None
    ):
        return before
    return None


# What is left of a sample name without its time when it may number a replicate: "_1", "rep2_",
# ".1" (R's name for a repeated column), "_B", "" (the first of R's repeated columns), also
# in a file's path ("aligned/*_rep1.sorted.bam": featureCounts names columns so).
_REPLICATE_LIKE = re.compile(
    r"^(?:.*/)?[_.\- ]*(?:(?:replicate|rep|r)?\d+|[A-Za-z])?[_.\- ]*"
    r"(?:\.(?:sorted|bam|sam|cram))*$",
    re.IGNORECASE,
)
# A time with a unit, e.g. "30min", "0.5 h", "2d"; the factor converts to hours.
_TIME_UNIT = re.compile(
    r"^(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[a-z]+)$", re.IGNORECASE
)
_HOURS = {"s": 1 / 3600, "sec": 1 / 3600, "secs": 1 / 3600, "second": 1 / 3600,
          "seconds": 1 / 3600, "min": 1 / 60, "mins": 1 / 60, "minute": 1 / 60,
          "minutes": 1 / 60, "h": 1.0, "hr": 1.0, "hrs": 1.0, "hour": 1.0, "hours": 1.0,
          "d": 24.0, "day": 24.0, "days": 24.0, "w": 168.0, "wk": 168.0, "week": 168.0,
          "weeks": 168.0, "hpf": 1.0, "hpi": 1.0, "dpf": 24.0, "dpi": 24.0}  # fmt: skip
# (hpf, hpi, dpf, dpi: hours or days post fertilisation or infection, as zebrafish and
# infection time courses name their samples)
_UNIT_NAMES = {1 / 3600: "s", 1 / 60: "min", 1.0: "h", 24.0: "d", 168.0: "wk"}
# A number written with a decimal comma, possibly with a unit: "1,5", "-0,25", "0,5h".
# a digit before the comma too ("0,5", not ",5"): a name such as ",0" stays a name
_DECIMAL_COMMA = re.compile(r"^([-+]?\d+),(\d+(?:[eE][-+]?\d+)?\s*[A-Za-z]*)$")


@dataclasses.dataclass(frozen=True, eq=False)
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
        Per-gene labels, used only for annotation and evaluation. A gene without a label
        (an empty or NA cell) has NaN among numeric labels, ``""`` among strings.
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


def split_table(X, times, fitting: bool = False):
    """The array and the times to use, from an array or a table (anything else as it is).

    A table (``read_table``, ``load_dataset``, or ``single_cell.prepare``'s windows) gives
    its ``X`` and, when ``times`` is None, its times when they are uneven. Windows of single
    cells carry no ``times``: they are fitted as steps, as the script does. When
    ``fitting``, a pandas DataFrame's column names, when all are strings, are read as a
    table's header is (``0h,30min,1h,4h``, ``"0","0.5","1","4"``, ``LPS_30m``; integer labels are
    pandas' positions, which a dropped column makes uneven, so they are not): strictly
    increasing times that are uneven are used, as ``train_and_gen.py`` uses them from the
    same table in a file; replicate columns (``0h_rep1``, a repeated name) and times out of
    order are a ``ValueError`` (see :func:`_frame_times`). After the fit the
    fitted times are used, so a DataFrame's columns are not read again.
    """
    X = plain_missing(X)
    if hasattr(X, "X") and hasattr(X, "genes") and not isinstance(X, np.ndarray):
        if times is None:
            times = _uneven_times(getattr(X, "times", None))
        X = X.X
    elif fitting and times is None and hasattr(X, "columns") and hasattr(X, "to_numpy"):
        _check_frame_rows_are_no_times(X)
        if not all(isinstance(c, str) for c in X.columns):  # pandas' positions, not times
            return X, times
        if _frame_names_column(X) is not None:  # check_input names the column of names
            return X, times
        parsed = _frame_times([str(c) for c in X.columns])
        if parsed is not None and parsed.size > 1 and (np.diff(parsed) > 0).all():
            times = _uneven_times(parsed)
    return X, times


def plain_missing(X):
    """``X`` with its missing values as NaN where numpy would not see them; else as it is.

    A masked array's masked values become NaN (``np.asarray`` would keep the values under
    the mask, and the model would read them as data), and a pandas DataFrame with nullable
    columns (``Float64``, ``Int64``: missing values are ``pd.NA``) becomes float64 with
    NaN, keeping its column names.

    Examples
    --------
    >>> plain_missing(np.ma.masked_array([[1, 2, 3]], mask=[[0, 1, 0]]))
    array([[ 1., nan,  3.]])
    """
    if isinstance(X, np.ma.MaskedArray):
        kind = X.dtype.kind
        dtype = X.dtype if kind == "f" else np.float64 if kind in "biu" else object
        return np.ma.filled(X.astype(dtype), np.nan)
    dtypes = getattr(X, "dtypes", None)
    if hasattr(X, "columns") and dtypes is not None:
        if not all(isinstance(d, np.dtype) for d in dtypes):  # pandas' extension dtypes
            try:
                return X.astype(np.float64)
            except (TypeError, ValueError):
                return X  # not numbers: check_input names the value
    return X


def _frame_times(names: list[str]) -> np.ndarray | None:
    """A DataFrame's column names as times (None: not times), checked as a header would be.

    A DataFrame is fitted one column per time point, in column order; replicate columns
    (``0h_rep1, 0h_rep2``, or a time repeated) or times out of order would be fitted as
    consecutive time points, where :func:`read_table` gives replicates or an error.
    Times are read from the names as from a file's header (:func:`_label_times`: ``0h``,
    ``X0h``, ``LPS_30m``, ``t0, t30``), and a header's problem (controls among the time
    points, several conditions) is the same warning; names without times give none.
    """
    stats = [names[j] for j in _statistic_columns(names)]
    if stats:
        msg = (
            f"X is a DataFrame whose column(s) {', '.join(map(repr, stats))} hold statistics "
            "(of a differential-expression test, or a summary of the row), not time points. "
            f"Leave them out: X.drop(columns={stats!r})."
        )
        raise ValueError(msg)
    found = [_replicate_of(name) for name in names]
    if any(found) or len(set(names)) < len(names):
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        msg = (
            f"X is a DataFrame whose columns name replicates ({shown}), but a DataFrame is "
            "read as one column per time point, so the replicates would be fitted as "
            "consecutive time points. Read the file with rvagene.read_table (a 3-D X of "
            "genes, time points, replicates), or pass a 3-D array."
        )
        raise ValueError(msg)
    parsed, _, problem = _label_times(names)  # as read_table reads a header
    if problem is not None:
        msg = f"X is a DataFrame whose column names are read as a file's header: {problem}"
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    if parsed is not None and parsed.size > 1 and (np.diff(parsed) < 0).any():
        j = int(np.flatnonzero(np.diff(parsed) < 0)[0])
        msg = (
            f"X is a DataFrame whose time columns are not in increasing order: "
            f"{names[j]!r} comes before {names[j + 1]!r}, and a DataFrame is fitted in column "
            "order. Sort the columns by time first (e.g. X[sorted_columns])."
        )
        raise ValueError(msg)
    return parsed


def _check_frame_rows_are_no_times(X) -> None:
    """A ValueError for a DataFrame whose rows are time points and columns genes.

    Its index names increasing times with a unit (``0h, 2h, 6h``; ``day0, day2``) or it is
    named as times (``time``, ``hours``) over numbers (:func:`_rows_are_times`), where the
    column names hold no times with a unit: fitted as it is, each time point would be a
    gene. A default index (0, 1, ...) is never, nor one named as genes (``gene``, ``id``).
    """
    index = getattr(X, "index", None)
    if index is None or len(index) < 2 or type(index).__name__ == "RangeIndex":
        return
    rows, columns = [str(v) for v in index], [str(c) for c in X.columns]
    if type(index).__name__ in ("DatetimeIndex", "TimedeltaIndex", "PeriodIndex"):
        msg = (
            f"X is a DataFrame whose rows are dates or durations ({_few_names(rows)}): time "
            "points, but X holds one gene per row and one time point per column. Pass X.T "
            "(and its times in hours or days as times=, for uneven sampling)."
        )
        raise ValueError(msg)
    if not _rows_are_times(str(index.name or ""), rows):
        return
    if _label_times(columns)[1] is not None:
        return  # times with a unit both ways: the columns are the time points
    msg = (
        f"X is a DataFrame whose rows are time points ({_few_names(rows)}) and whose "
        f"columns look like genes ({_few_names(columns)}), but X holds one gene per row and "
        "one time point per column. Pass X.T."
    )
    raise ValueError(msg)


def _uneven_times(times):
    """A table's times when they are uneven, else None (even times are one step each)."""
    if times is None:
        return None
    gaps = np.diff(np.asarray(times, dtype=np.float64))
    if gaps.size and np.allclose(gaps, gaps.mean(), rtol=1e-6, atol=0.0):
        return None
    return np.asarray(times, dtype=np.float64)


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
        arr = np.asarray(plain_missing(X))
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

    Warns
    -----
    UserWarning
        At fit (``n_timepoints`` None): for series of only 2 time points, which z-scoring
        leaves as "up" or "down", and for extreme values (see :func:`extreme_values`), which
        :func:`mask_extreme_values` marks missing.

    Examples
    --------
    >>> check_input([[1.0, 2.0, 0.5], [3.0, float("nan"), 1.0]])  # fine: nothing happens
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
            raise ValueError(_frame_names_column(X) or msg) from None
        # a TypeError (e.g. a dict among the values) passes: its own message names the type
    _check_shape(arr, owner)
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
    if n_timepoints is None and arr.dtype.kind in "biuf":  # fitting: say what the data mean
        _warn_fit_data(arr)


def _frame_names_column(X) -> str | None:
    """The message for a DataFrame with a column of names, or None for anything else.

    ``pd.read_csv(path)`` without ``index_col`` keeps the gene names as a column; the fix
    for it is the index, not ``X[:, 1:]``. A column of repeated words (each gene's group,
    ``cluster``, ``label``) names no gene: the fix is to leave it out.
    """
    if not hasattr(X, "columns") or not hasattr(X, "dtypes"):
        return None
    for name, dtype in zip(X.columns, X.dtypes, strict=True):
        if getattr(dtype, "kind", "O") in "OUS":
            present = X[name].dropna()  # a missing name (NaN, None) is no word
            values = [v for v in present if _number(str(v).strip()) is None]
            if 2 * len(values) <= len(present):  # a stray word: check_input names the cell
                continue
            if 2 * len(set(values)) <= len(values):  # groups, not names (some repeat)
                return (
                    f"X is a DataFrame whose column {name!r} holds words, not numbers "
                    f"({values[0]!r}), such as each gene's group. Leave it out: "
                    f"X.drop(columns={name!r}) (labels are not fitted)."
                )
            return (
                f"X is a DataFrame whose column {name!r} holds names, not numbers "
                f"({values[0]!r}). Make it the index: X.set_index({name!r}), or read "
                "the file with pd.read_csv(path, index_col=0) or rvagene.read_table."
            )
    return None


def _check_shape(arr: np.ndarray, owner: str) -> None:
    """Raise for an empty ``arr`` or one with fewer than 2 dimensions."""
    if arr.size == 0:
        if arr.ndim == 2 and arr.shape[0] and not arr.shape[1]:
            where = f"X has 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        elif arr.ndim >= 2 and not arr.shape[0]:
            where = f"X has 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required."
        else:
            where = f"X is empty (shape {arr.shape})"
        fix = "pass at least one series with at least 2 time points."
        msg = f"{where}: {fix}" if where.startswith("X is empty") else f"{where} X is empty: {fix}"
        raise ValueError(msg)
    if arr.ndim < 2:
        msg = (
            f"X is {arr.ndim}-D (shape {arr.shape}); {owner} needs (n_series, n_timepoints) "
            "or (n_series, n_timepoints, n_dims). Reshape your data: one series is "
            "X.reshape(1, -1)."
        )
        raise ValueError(msg)


def _warn_fit_data(arr: np.ndarray) -> None:
    """Warn about data a fit reads but a user would not mean: 2 time points, extreme values."""
    if arr.shape[1] == 2:
        warn_two_timepoints()
    if arr.ndim in (2, 3) and arr.size and arr.dtype.kind == "f":
        empty = np.isnan(arr).reshape(arr.shape[0], arr.shape[1], -1).all(axis=(0, 2))
        if empty.any():
            cols = np.flatnonzero(empty)
            shown = ", ".join(str(j) for j in cols[:5]) + (", ..." if cols.size > 5 else "")
            msg = (
                f"X has no observed value at {cols.size} time point(s), in any gene: X[:, j] "
                f"for j = {shown}. The model fills them in from the other points; leave them "
                "out (and their times) unless that is what you want."
            )
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    if arr.ndim in (2, 3) and arr.shape[1] >= 2:
        found = extreme_values(arr)
        _warn_if_unlogged(arr, found)
        if found.any():
            i, j = (int(v) for v in np.argwhere(found)[0][:2])
            value = float(np.asarray(arr, dtype=np.float64)[i, j].ravel()[0])
            msg = (
                f"X holds {int(found.sum())} extreme value(s), far outside their gene's other "
                f"values, first X[{i}, {j}] = {value:.6g}. One such value dominates its "
                "gene's scaling, and the gene ends up in a cluster of its own. Mark them "
                "missing first: X = rvagene.data.mask_extreme_values(X)."
            )
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


# Values >= 0 whose largest (extreme values aside) is above this are not on a log scale:
# log2(CPM + 1), DESeq2's vst and rlog stay below ~25 for any gene.
UNLOGGED_MAX = 1000.0
# A gene whose counts average below this is mostly sampling noise.
LOW_COUNTS = 10


def _warn_if_unlogged(arr: np.ndarray, extreme: np.ndarray) -> None:
    """Warn about raw counts or other unlogged expression (values >= 0 above UNLOGGED_MAX).

    Each gene's series is z-scored and clustered by its shape; on raw counts that shape
    carries each sample's sequencing depth and, for genes of few reads, mostly sampling
    noise, and on any linear scale it is that of the gene's highest points. The warning
    says how many genes average below :data:`LOW_COUNTS` counts (flat genes included).
    """
    values = np.asarray(arr, dtype=np.float64)
    kept = values[~extreme & ~np.isnan(values)]
    if not kept.size or kept.min() < 0 or kept.max() <= UNLOGGED_MAX:
        return
    fix = (
        "Give log-scale normalised values, e.g. log2(CPM + 1) or DESeq2's vst or rlog, as "
        "is usual for clustering expression profiles"
    )
    if np.all(kept == np.round(kept)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a gene without values
            means = np.nanmean(values.reshape(len(values), -1), axis=1)
        low = int(np.sum(means < LOW_COUNTS))
        what = (
            f"raw counts (whole numbers >= 0, up to {kept.max():.6g}; {low} of {len(values)} "
            f"genes average below {LOW_COUNTS}). Each gene's series is z-scored and clustered "
            "by its shape: on counts that shape carries each sample's sequencing depth and, "
            "for genes of few reads, mostly sampling noise"
        )
        fix += ", and leave out genes of few reads"
    else:
        what = (
            f"values >= 0 up to {kept.max():.6g}, not on a log scale (as normalised counts, "
            "CPM or TPM). Each gene's series is z-scored and clustered by its shape, which on "
            "a linear scale is that of its highest points"
        )
    msg = f"X looks like {what}. {fix}."
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def warn_two_timepoints() -> None:
    """Warn that series of 2 time points leave only "up" or "down" after z-scoring."""
    msg = (
        "X has only 2 time points per series. Z-scoring 2 points leaves only 'up' "
        "(-1, 1) or 'down' (1, -1) (or flat), so every gene falls into one of two "
        "patterns and any clustering score is meaningless (Davies-Bouldin is 0 for every "
        "k). Measure at least 3 time points, or compare the two directly (e.g. a fold "
        "change)."
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


# A value is extreme when its distance from its gene's median is more than EXTREME_FACTOR
# times the larger of the gene's median absolute deviation and a typical gene's spread.
EXTREME_FACTOR = 1e6
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def extreme_values(X) -> np.ndarray:
    """Find values a user would never mean: far outside their gene's spread, or float32's range.

    A value is extreme when its distance from its gene's median (over time points and
    replicates, ignoring NaN) is more than :data:`EXTREME_FACTOR` (1e6) times the larger of
    the gene's median absolute deviation and the (lower) median over genes of each gene's
    largest deviation (so a gene flat but for one real peak is judged by a typical gene's
    spread),
    or when its magnitude is beyond float32's range (3.4e38), where the network computes.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        NaN is ignored.

    Returns
    -------
    ndarray of bool, the shape of X
        True at each extreme value.

    Examples
    --------
    >>> X = [[1.0, 2.0, 1e30, 3.0], [5.0, 1.0, 2.0, 4.0], [0.0, 0.0, 7.0, 0.0]]
    >>> extreme_values(X).nonzero()
    (array([0]), array([2]))
    """
    X = np.asarray(X, dtype=np.float64)
    flat = X.reshape(len(X), -1)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", over="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN genes: no extreme value
        centre = np.nanmedian(flat, axis=1, keepdims=True)
        deviation = np.abs(flat - centre)
        mad = np.nanmedian(deviation, axis=1, keepdims=True)
        largest = np.nanmax(deviation, axis=1)
        largest = largest[~np.isnan(largest)]  # a lower median: robust with 2 genes too
        typical = np.quantile(largest, 0.5, method="lower") if largest.size else 0.0
        spread = np.fmax(np.fmax(mad, typical), 1e-12 * np.abs(centre))
        found = (deviation > EXTREME_FACTOR * spread) | (np.abs(flat) > _FLOAT32_MAX)
    found &= ~np.isnan(flat)
    return found.reshape(X.shape)


def mask_extreme_values(X, genes=None, time_labels=None, where: str = "X") -> np.ndarray:
    """Return a float64 copy of ``X`` with its extreme values set to NaN, with a warning.

    The values :func:`extreme_values` finds (a single ``1e30`` among values of order 1,
    say) are masked as missing: the fit then leaves them out of the loss, and the warning
    names each one (gene, time point, value) so that it can be corrected at its source.

    Parameters
    ----------
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
    genes : sequence of str, optional
        Gene names for the warning (else rows are named by their 1-based number).
    time_labels : sequence of str, optional
        Time-point names for the warning (else 1-based numbers).
    where : str, default="X"
        What ``X`` is, e.g. a file's path, for the warning.

    Returns
    -------
    ndarray
        ``X`` (float64) with NaN at the extreme values; ``X`` itself is not modified.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     out = mask_extreme_values([[1.0, 1e30, 2.0], [3.0, 1.0, 2.0]], ["Sox2", "Nanog"])
    >>> out.tolist()[0], str(caught[0].message).split("range: ")[1].split(".")[0]
    ([1.0, nan, 2.0], "gene 'Sox2' at time point 2 = 1e+30")
    """
    X = np.array(X, dtype=np.float64)
    found = extreme_values(X)
    if not found.any():
        return X
    cells = np.argwhere(found)
    shown = []
    for cell in cells[:5]:
        i, j = int(cell[0]), int(cell[1])
        gene = repr(str(genes[i])) if genes is not None else f"{i + 1}"
        time = repr(str(time_labels[j])) if time_labels is not None else f"point {j + 1}"
        shown.append(f"gene {gene} at time {time} = {X[tuple(cell)]:.6g}")
    more = f"; and {len(cells) - 5} more" if len(cells) > 5 else ""
    msg = (
        f"{where}: {len(cells)} extreme value(s), more than {EXTREME_FACTOR:.0e} times their "
        f"gene's spread from its median or beyond float32's range: {'; '.join(shown)}{more}. "
        "They are read as missing (NaN) and left out of the fit. Correct them in the data, "
        "or leave those cells empty (NA) to mark them missing."
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    X[found] = np.nan
    return X


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


def bin_width(n_timepoints: int, max_timepoints: int | None) -> int:
    """Points per bin that bring ``n_timepoints`` down to at most ``max_timepoints``.

    1 (no binning) when the series are short enough or ``max_timepoints`` is None.

    Examples
    --------
    >>> bin_width(100, 64), bin_width(68, 64), bin_width(38, 64), bin_width(1460, 64)
    (2, 2, 1, 23)
    """
    if max_timepoints is None or n_timepoints <= max_timepoints:
        return 1
    return -(-int(n_timepoints) // int(max_timepoints))  # ceil


def bin_means(X: np.ndarray, width: int) -> np.ndarray:
    """Means of axis 1 (time) over consecutive bins of ``width`` points (the last may be shorter).

    NaN is ignored; a bin without an observed value stays NaN. ``width`` 1 returns ``X``.
    """
    if width == 1:
        return X
    starts = np.arange(0, X.shape[1], width)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a bin with no observed value
        return np.stack([np.nanmean(X[:, s : s + width], axis=1) for s in starts], axis=1)


def scale_series(
    X, method: str = "zscore", genes=None, return_flat: bool = False
) -> tuple[np.ndarray, ...]:
    """Scale each series over time (the model, the single-cell path and the benchmarks use it).

    Parameters
    ----------
    X : array-like of shape (n_series, n_timepoints) or (n_series, n_timepoints, n_dims)
        NaN marks a missing value; it is ignored by the statistics and stays NaN. A value
        dimension of a series with no observed value (a replicate not measured) gets the
        series' statistics over all its dimensions; a series with no observed value at all
        is a ValueError naming it.
    method : {"zscore", "minmax", "none"}, default="zscore"
        ``"zscore"``: mean 0 and standard deviation 1 over time; ``"minmax"``: to [-1, 1];
        ``"none"``: unchanged.
    genes : sequence of str, optional
        Gene names, for the message about a gene without observed values.
    return_flat : bool, default=False
        Also return which series were flat.

    Returns
    -------
    scaled : ndarray, the shape of X
    centre, scale : ndarray of shape (n_series, 1) or (n_series, 1, n_dims)
        ``X = scaled * scale + centre``. Flat series get scale 1 (and scaled values 0).
    flat : ndarray of bool, the shape of ``scale``
        Only with ``return_flat``: the series given scale 1 because they do not vary (none
        for ``"none"``).

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
        none = (X.copy(), np.zeros(shape), np.ones(shape))
        return (*none, np.zeros(shape, dtype=bool)) if return_flat else none
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN series are reported below
        if method == "zscore":
            centre = np.nanmean(X, axis=1, keepdims=True)
            scale = np.nanstd(X, axis=1, keepdims=True)
        else:  # minmax to [-1, 1]
            lo, hi = np.nanmin(X, axis=1, keepdims=True), np.nanmax(X, axis=1, keepdims=True)
            centre, scale = (hi + lo) / 2, (hi - lo) / 2
    if np.isnan(centre).any():
        centre, scale = _pooled_where_missing(X, method, centre, scale, genes)
    flat = ~(scale > 1e-12 * np.maximum(1.0, np.abs(centre)))  # no spread to scale by
    scale = np.where(flat, 1.0, scale)
    scaled = (X - centre) / scale
    return (scaled, centre, scale, flat) if return_flat else (scaled, centre, scale)


def _pooled_where_missing(X, method, centre, scale, genes):
    """A value dimension without data (a replicate not measured) gets its gene's statistics.

    The statistics are those of all the gene's values, every dimension pooled, so the
    model's output for that dimension comes back on the gene's scale. A gene without any
    observed value is an error.
    """
    missing = np.isnan(centre)  # (genes, 1[, dims])
    rows = missing.reshape(len(X), -1).any(axis=1)
    flat_values = X[rows].reshape(int(rows.sum()), -1)
    if np.isnan(flat_values).all(axis=1).any():
        raise _all_missing(np.isnan(X.reshape(len(X), -1)).all(axis=1), genes)
    if method == "zscore":
        pooled = np.nanmean(flat_values, axis=1), np.nanstd(flat_values, axis=1)
    else:
        lo, hi = np.nanmin(flat_values, axis=1), np.nanmax(flat_values, axis=1)
        pooled = (hi + lo) / 2, (hi - lo) / 2
    shape = (-1,) + (1,) * (X.ndim - 1)
    centre, scale = centre.copy(), scale.copy()
    for stat, value in ((centre, pooled[0]), (scale, pooled[1])):
        stat[rows] = np.where(missing[rows], value.reshape(shape), stat[rows])
    return centre, scale


def _all_missing(empty: np.ndarray, genes=None, where: str = "X") -> ValueError:
    """The error for genes without any observed value: ``empty`` is a bool mask of genes."""
    rows = np.flatnonzero(empty)
    i = int(rows[0])
    name = (
        f"gene {str(genes[i])!r} (row {i + 1})"
        if genes is not None
        else f"row {i + 1} ({where}[{i}])"
    )
    more = f", and {len(rows) - 1} more gene(s)" if len(rows) > 1 else ""
    return ValueError(
        f"{where}: {name}{more} has no observed value (all NaN). Remove the gene, or fill in "
        "its values."
    )


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


def _read_text(path, sep: str | None = None, warn: bool = False) -> str:
    """The text of a table file (see :func:`_decoded`), or a clear error.

    Comment lines are blanked (see :func:`_uncomment`; ``sep`` splits a commented header,
    guessed when None); with ``warn``, a comment line as wide as the data is warned about.
    A GEO series matrix is cut to its table (see :func:`_series_matrix`).
    """
    return _uncomment(_series_matrix(_decoded(path)), path, sep, warn)


def _decoded(path) -> str:
    """The text of a file, or a clear error; ``.gz`` files are unpacked.

    UTF-8, with or without a byte-order mark, or UTF-16 with one (Excel's "Unicode Text",
    a tab-separated ``.txt``).
    """
    path = Path(path)
    if path.is_dir():
        msg = f"{str(path)!r} is a folder, not a data file. Give the path of a file in it."
        raise ValueError(msg)
    if not path.is_file():
        msg = f"No such file: {str(path)!r}. Check the path, or the folder you run from."
        raise FileNotFoundError(msg)
    gzipped = path.suffix.lower() == ".gz"
    try:
        with (gzip.open if gzipped else open)(path, "rb") as fh:
            raw = fh.read()
        utf16 = raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as err:
        msg = (
            f"{path} is not UTF-8 text (byte {err.start} cannot be decoded); it may be a binary "
            "file. Give a text table, saved as UTF-8 (in Excel: 'CSV UTF-8')."
        )
        raise ValueError(msg) from None
    except (gzip.BadGzipFile, EOFError) as err:
        msg = f"{path} is not a readable gzip file ({err}). Give it unpacked, or gzip it again."
        raise ValueError(msg) from None
    return text


def _series_matrix(text: str) -> str:
    """A GEO series matrix's table alone, its columns named by ``!Sample_title``.

    A file holding a ``!series_matrix_table_begin`` line (GEO's ``GSE<n>_series_matrix.txt``)
    has every line outside the table, and the begin and end lines, blanked, so line numbers
    stay those of the file. The table's header (``"ID_REF"`` and one ``GSM`` accession per
    sample) gets the samples' titles in place of the accessions when ``!Sample_title`` gives
    one distinct title per column, as titles usually say the time (``ES_0h_rep1``). Other
    text is returned as it is.
    """
    if "!series_matrix_table_begin" not in text.lower():
        return text
    parts = re.split(r"(\r\n|\r|\n)", text)  # lines at even places, line breaks between
    lines = parts[0::2]
    marks = [line.strip().lower() for line in lines]
    start = next((i + 1 for i, m in enumerate(marks) if m == "!series_matrix_table_begin"), 0)
    ends = [i for i in range(start, len(lines)) if marks[i] == "!series_matrix_table_end"]
    end = ends[0] if ends else len(lines)
    titles = next(
        (r for r in csv.reader(lines[:start], delimiter="\t") if r and r[0] == "!Sample_title"),
        None,
    )
    header = next(csv.reader([lines[start]], delimiter="\t"), []) if start < end else []
    distinct = titles is not None and len(set(titles[1:])) == len(titles) - 1
    if distinct and header and len(titles) == len(header):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter="\t", lineterminator="").writerow([header[0], *titles[1:]])
        lines[start] = buffer.getvalue()
    lines = ["" if i < start or i >= end else line for i, line in enumerate(lines)]
    parts[0::2] = lines
    return "".join(parts)


# A line whose first non-blank character is '#' (but not Excel's "#N/A"): a comment.
_COMMENT = re.compile(r"^[ \t]*#(?!N/A)", re.IGNORECASE)


def _uncomment(text: str, path, sep: str | None, warn: bool) -> str:
    """Blank the comment lines (``#`` first), so line numbers stay those of the file.

    A ``#`` line above the first other line may be the header (``#gene,0h,1h``): it is
    kept, its ``#`` removed, when that first line is data (a name, then numbers) and the
    ``#`` line has as many cells and looks like a header (see :func:`_commented_header`).
    """
    parts = re.split(r"(\r\n|\r|\n)", text)  # lines at even places, line breaks between
    lines = parts[0::2]
    quotes = np.cumsum([0] + [line.count('"') for line in lines[:-1]])  # '"'s above each line
    inside = quotes % 2 == 1  # the line continues a quoted cell (a name with a line break)
    comments = [i for i, line in enumerate(lines) if _COMMENT.match(line) and not inside[i]]
    if not comments:
        return text
    first = next((i for i, x in enumerate(lines) if x.strip() and not _COMMENT.match(x)), None)
    above = [i for i in comments if first is not None and i < first]
    header = _commented_header(lines, above, first, path, sep, warn) if above else None
    for i in comments:
        lines[i] = lines[i].replace("#", "", 1) if i == header else ""
    parts[0::2] = lines
    return "".join(parts)


def _commented_header(lines, above, first, path, sep, warn) -> int | None:
    """Which comment line in ``above`` (those above line ``first``) is the header, if any.

    Only when line ``first`` is data: its first cell does not name the gene column and
    the others are numbers (or missing). Then the last comment line as wide as that line
    whose first cell (after the ``#``) names the gene column, or whose other cells are
    times, is the header; other comment lines as wide are skipped with a warning.
    """
    sep = sep or _table_sep(path, None) or _guess_sep(lines[first])
    row = _split_line(lines[first], sep)
    if row[0].lower() in _GENE_COLUMN_NAMES or _numbers(row[1:]) is None:
        return None  # the first line is the header (or not data)
    wide = [i for i in above if len(_split_line(lines[i].replace("#", "", 1), sep)) == len(row)]
    found = [i for i in wide if _looks_like_header(_split_line(lines[i].replace("#", "", 1), sep))]
    header = found[-1] if found else None
    for i in wide:
        if warn and i != header:
            msg = (
                f"{path}: line {i + 1} ({lines[i].strip()[:40]!r}) starts with '#' and is "
                f"skipped as a comment, but it has as many cells as the data ({len(row)}). "
                "If it is the header, remove the '#'."
            )
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    return header


def _split_line(line: str, sep: str) -> list[str]:
    """One line's cells, stripped."""
    cells = _split_spaces(line) if sep == " " else next(csv.reader([line], delimiter=sep), [])
    return [c.strip() for c in cells] or [""]


def _split_spaces(line: str) -> list[str]:
    """A whitespace-separated line's cells, without quotes around them.

    R's ``write.table`` quotes names (``"Sox2" 1.5 2``); a quoted cell may hold spaces
    (``"Day 1"``).
    """
    if '"' not in line:
        return line.split()
    text = " ".join(line.split())  # runs of spaces and tabs: one space
    return next(csv.reader([text], delimiter=" ", skipinitialspace=True), [])


def _looks_like_header(cells: list[str]) -> bool:
    """Whether cells are a header: a gene column's name first, or a non-number then times."""
    name, rest = cells[0].lower(), cells[1:]
    if name in _GENE_COLUMN_NAMES:
        return True
    if _number(name) is not None or not rest:
        return False
    times = _parse_times(rest)
    if times is not None:
        return bool((np.diff(times) > 0).all())
    return _times_in_names(rest)[0] is not None or _step_names(rest)


def _suffix(path) -> str:
    """A file's lower-case suffix, under a ``.gz`` (``a.tsv.gz`` -> ``.tsv``)."""
    path = Path(path)
    if path.suffix.lower() == ".gz":
        path = path.with_suffix("")
    return path.suffix.lower()


def _guess_sep(first: str) -> str:
    """The separator of a table judged from its first line: semicolon, comma, tab or spaces.

    A semicolon wins when it is at least as common as the comma, so a European export's
    header (``gene;0,5h;1h``) is split at its semicolons.
    """
    if ";" in first and first.count(";") >= first.count(","):
        return ";"
    return "," if "," in first else "\t" if "\t" in first else " "


def _read_rows(
    path, sep: str | None, short_header: bool = False, warn: bool = True
) -> list[tuple[int, list[str]]]:
    """Return the non-blank rows of a text file as ``(line_number, cells)``, all equally long.

    Cells are stripped of surrounding whitespace; quoted cells (as written by the ``csv``
    module) may hold separators, quotes and line breaks. With any separator but the comma,
    numbers written with a decimal comma (``1,5``) are read as ``1.5``. With
    ``short_header``, a first row one cell shorter than all the others (a header without a
    name for the first column, as R's ``write.table`` writes) gets an empty first cell.
    Comment lines are skipped (a commented header kept; see :func:`_uncomment`), with a
    warning (``warn``) for one as wide as the data.
    """
    text = _read_text(path, sep, warn)
    if "\x00" in text:
        msg = f"{path} contains NUL bytes; it is not a text table. Give a CSV/TSV or UCR file."
        raise ValueError(msg)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if sep is None:
        sep = _guess_sep(next((line for line in lines if line.strip()), ""))
    if sep == " ":
        numbered = [(i, _split_spaces(line)) for i, line in enumerate(lines, 1)]
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
        _check_one_decimal_mark(path, rows)
        rows = [(i, [_DECIMAL_COMMA.sub(r"\1.\2", c) for c in r]) for i, r in rows]
    rows = _drop_empty_end(rows)
    widths = {len(cells) for _, cells in rows[1:]}
    header = rows[0][1]
    named = header[0].lower() in _GENE_COLUMN_NAMES  # "gene,0h,1h": not R's layout
    if short_header and widths == {len(header) + 1} and not named:
        rows[0] = (rows[0][0], ["", *header])
    line0, width = rows[0][0], len(rows[0][1])
    for line, cells in rows:
        if len(cells) != width:
            msg = (
                f"{path}: line {line} has {len(cells)} columns but line {line0} has {width}. "
                "Give every row the same number of time points (or check the separator)."
            )
            raise ValueError(msg)
    return rows


# A number with a decimal point ("1.234"): with decimal commas around, a point groups thousands;
# and one with commas grouping thousands ("1,234", "12,345,678"), as English exports write.
_DECIMAL_POINT = re.compile(r"^[-+]?\d+\.\d+$")
_THOUSANDS_COMMA = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+$")
_THOUSANDS_POINT = re.compile(r"^[-+]?\d{1,3}(?:\.\d{3})+$")


def _check_one_decimal_mark(path, rows) -> None:
    """Refuse a thousands separator among decimals written with the other mark.

    Below the first row, the more common mark is the decimal one. A file written with
    decimal commas (a European export) writes a point only to group thousands (``1.234``
    for 1234; ``1.234,5`` is no number and is named by the parser), and one written with
    decimal points writes ``1,234`` for 1234: read as decimals, either would be a value
    1000 times too small. A lone mark of the other kind that groups no thousands (``2,5``
    among points, ``1.5`` among commas) stays a decimal mark.
    """
    cells = [(i, c) for i, r in rows[1:] for c in r]
    commas = [(i, c) for i, c in cells if _DECIMAL_COMMA.match(c)]
    points = [(i, c) for i, c in cells if _DECIMAL_POINT.match(c)]
    if not commas or not points:
        return
    if len(commas) >= len(points):
        grouped = [(i, c) for i, c in points if _THOUSANDS_POINT.match(c)]
        if not grouped:  # "1.5" groups no thousands: it was "1.5 may be 15"
            return
        (line, cell), such, mark, decimals = grouped[0], commas[0][1], "point", "commas"
    else:
        grouped = [(i, c) for i, c in commas if _THOUSANDS_COMMA.match(c)]
        if not grouped:
            return
        (line, cell), such, mark, decimals = grouped[0], points[0][1], "comma", "points"
    msg = (
        f"{path}: line {line} has {cell!r}, with a {mark}, but the file writes decimals with "
        f"{decimals} (such as {such!r}), where a {mark} groups thousands ({cell!r} may be "
        f"{cell.replace('.', '').replace(',', '')}). Save the file without thousands "
        "separators, or with one decimal mark throughout."
    )
    raise ValueError(msg)


def _drop_empty_end(rows):
    """Drop last columns that are empty in every row: a separator at the end of each line.

    The first row (a header) may be empty there too, or one cell short.
    """
    while True:
        width = len(rows[-1][1])
        body = [cells for _, cells in rows[1:]]
        header = rows[0][1]
        if width < 2 or any(len(c) != width or c[-1] for c in body):
            return rows
        if len(header) == width and header[-1]:
            return rows
        if len(header) not in (width, width - 1):
            return rows
        rows = [(i, cells[: width - 1]) for i, cells in rows]


# A spreadsheet's error values (Excel, LibreOffice), written into a CSV as the cell's text.
_EXCEL_ERROR = re.compile(
    r"#(DIV/0!|VALUE!|NUM!|REF!|NAME\?|NULL!|N/A|GETTING_DATA|SPILL!|CALC!)$", re.IGNORECASE
)


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
                fix = (
                    "It is a spreadsheet's error value: fix the formula that made it, or empty "
                    "the cell (or write NA) to mark it missing."
                    if _EXCEL_ERROR.match(cells[col])
                    else "Fix or remove it."
                )
                msg = f"Non-numeric value {cells[col]!r} at {where(r, col)}. {fix}"
                raise ValueError(msg)
        out = np.array(parsed)
    if np.isinf(out).any():
        r, col = np.argwhere(np.isinf(out))[0]
        msg = (
            f"Infinite value {rows[r][1][col]!r} at {where(r, col)}. Replace it with a finite "
            "number, or leave the cell empty (or NA) to mark it missing."
        )
        if out[r, col] < 0:  # log(0)
            msg += " A -Inf is most often the log of 0: take the log after adding 1, log2(x + 1)."
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
        Column separator; by default a comma, semicolon, tab or whitespace, guessed from the
        first line (with a semicolon, decimal commas are read).

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
    huge = np.flatnonzero(np.abs(data[:, 0]) >= 2**62)  # no int64 label (numpy casts to junk)
    if huge.size:
        i = huge[0]
        msg = (
            f"{path}: line {rows[i][0]} has label {rows[i][1][0]!r}, too large for a label; "
            "number the labels 0, 1, ... (a UCR file's first column is each gene's label)."
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


@contextlib.contextmanager
def _open_to_write(path, **kwargs):
    """Open ``path`` to write text atomically; through gzip when it ends in ``.gz``.

    The readers read a ``.gz`` file through gzip (:func:`_decoded`), so a writer that put
    plain text under that name would write a file they refuse.
    """
    if Path(path).suffix.lower() != ".gz":
        with atomic_open(path, "w", **kwargs) as fh:
            yield fh
        return
    with (
        atomic_path(path) as tmp,
        open(tmp, "wb") as raw,
        # named as the file, not the temporary one: gunzip -N restores that name
        gzip.GzipFile(Path(path).name, "wb", fileobj=raw) as packed,
        io.TextIOWrapper(packed, **kwargs) as fh,
    ):
        yield fh


def write_ucr(path, X, labels=None) -> None:
    """Write series as a comma-separated UCR file that :func:`read_ucr` reads back exactly.

    Parameters
    ----------
    path : str or PathLike
        Target file; written atomically, parent folders created; gzipped when it ends in
        ``.gz``.
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
    with _open_to_write(path, encoding="utf-8") as fh:
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
    return sep or ("\t" if _suffix(path) in {".tsv", ".tab"} else None)


def _read_sep(path, sep: str | None) -> str | None:
    """The separator to read a table with: :func:`_table_sep`'s, but for a CSV named .tsv.

    A ``.tsv``/``.tab`` file whose first line has no tab but commas or semicolons (a CSV
    saved under that name) gets None: its separator is guessed, as a ``.csv``'s is.
    """
    given = _table_sep(path, sep)
    if sep is not None or given is None:
        return given
    first = next((line for line in _read_text(path).splitlines() if line.strip()), "")
    return None if "\t" not in first and ("," in first or ";" in first) else given


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
    # a bare 0 among times with units ("0,30min,1h") is 0 in their unit
    zero = [m is None and _number(label) == 0 for m, label in zip(found, labels, strict=True)]
    found = [m for m, z in zip(found, zero, strict=True) if not z]
    if not found or not all(found) or any(m["unit"].lower() not in _HOURS for m in found):
        return None, None
    values = np.array([float(m["value"]) for m in found])
    hours = np.array([_HOURS[m["unit"].lower()] for m in found])
    if any(zero):
        at = np.flatnonzero(zero) - np.arange(sum(zero))
        values = np.insert(values, at, 0.0)
        hours = np.insert(hours, at, hours[0] if np.all(hours == hours[0]) else 1.0)
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
    found = [_replicate_of(name) for name in names]
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
        _check_no_name_column(path, header, body, label_key)
        return None
    if numeric is None or _integral(numeric).all():
        return "genes"  # names, or integer gene IDs
    _check_rows_are_no_times(path, header, values, header[1:])  # 0.5, 1, 24 under "hours"
    shown = ", ".join(values[:3])
    column = f"column {name!r}" if name else "first column (no header)"
    msg = (
        f"{path}: the {column} holds numbers ({shown}, ...), not gene names. If it is a "
        "time point, name it as one in the header (e.g. '0h'); if the file has a gene "
        "column, put it first."
    )
    raise ValueError(msg)


def _check_no_name_column(path, header, body, label_key: str) -> None:
    """Refuse a table whose gene names are in a later column (``0h,2h,gene``): put it first.

    A table without a gene column is read as data throughout, so a column of names would
    be a non-numeric value; where every cell of a column is a word, the gene column is
    elsewhere than first. The label column (``label_key``) may hold words.
    """
    for j in range(1, len(header)):
        cells = [row[j] for _, row in body]
        if label_key and header[j].lower() == label_key:
            continue
        if all(_number(c) is None and re.search(r"[A-Za-z]", c) for c in cells):
            where = f"{path}: column {header[j]!r} (column {j + 1})"
            hint = _group_hint([header[j]])  # a group column: a label column by another name
            msg = f"{where} holds words ({_few_names(cells)}), not values.{hint}"
            if not hint:
                msg = (
                    f"{where} holds names ({_few_names(cells)}), but a table's gene names come "
                    f"first. Put the gene column first (e.g. 'gene,{header[0]},...')."
                )
            raise ValueError(msg)


def _header_is_values(path, header) -> ValueError:
    """The error for a first line that is read as a header but looks like a gene's values.

    A file without a table's suffix (``<name>_TRAIN``) is likely a UCR file whose labels
    are not integers (``A``, ``B``, ``NA``); the error says so too.
    """
    ucr = ""
    if _suffix(path) not in {".csv", ".tsv", ".tab", ".txt"}:
        ucr = (
            f" If it is a UCR file (no header; a label, then the values), its labels must "
            f"be integers: {header[0]!r} is not one (number the labels 0, 1, ...)."
        )
    return ValueError(
        f"{path}: the first line ({', '.join(header[:4])}, ...) is read as the header, but "
        "its time points decrease, so it looks like a gene's values. "
        "Add a header line such as 'gene,t0,t1,...' above the genes (or put the time "
        f"columns in increasing order).{ucr}"
    )


# Headers of a gene column: a first line starting with one of these is a header for sure.
_GENE_COLUMN_NAMES = frozenset(
    {"", "gene", "genes", "id", "ids", "name", "names", "symbol", "gene_id", "gene_name",
     "gene_symbol", "geneid", "genename", "ensembl", "ensembl_id", "probe", "feature"}
)  # fmt: skip


def _unsorted_times(path, header, time_labels, times, first) -> ValueError:
    """The error for time columns out of order: a header to sort, or a gene's values.

    A first line that is certainly a header (its first cell names the gene column, or its
    times carry units) is asked to be sorted; otherwise it may be a gene's values.
    """
    sure = header[0].strip().lower() in _GENE_COLUMN_NAMES and first is not None
    if not sure and _numbers(time_labels) is not None:
        return _header_is_values(path, header)
    j = int(np.flatnonzero(np.diff(times) < 0)[0])
    return ValueError(
        f"{path}: the time columns are not in increasing order: {time_labels[j]!r} comes "
        f"before {time_labels[j + 1]!r}. Put the columns in time order (one column per "
        "time point; replicates as '<time>_rep<k>')."
    )


def _header_times(path, header, time_labels, first) -> tuple[np.ndarray | None, str | None]:
    """The times a table's header gives, or (None, None) with a warning that says why.

    Times are the header's numbers (``0,0.5,2``), numbers with units (``0h,30min``), the
    same with the ``X`` that R's ``read.table`` puts before names starting with a digit
    (``X0, X0.5, X2h``; when every column has it), or one time inside each sample name
    (``LPS_30m``, ``t2h``, ``day3``, ``0.5 h``) when every name holds exactly one and the
    rest of the names agree (a unit word may precede its number: ``Day 1``, ``Day_1``;
    ``hpf``/``hpi`` are hours, ``dpf``/``dpi`` days post fertilisation or infection), or one
    prefix before plain numbers (``t0, t30, t120``; ``T0``; ``time_0``: times without a
    unit; ``ZT4``, ``CT12``: hours; ``E10.5``, ``P0``: days, see :func:`_prefixed_times`).
    A header of ``t0, t1, ...`` (steps by name) is read as steps without a warning.
    """
    times, unit, problem = _label_times(time_labels)
    if times is None:
        if not _step_names(time_labels):
            n = len(time_labels)
            msg = f"{path}: {problem or _NO_TIMES.format(n=n)}"
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
        return None, None
    if (np.diff(times) < 0).any():
        raise _unsorted_times(path, header, time_labels, times, first)
    return times, unit  # equal times ("1", "1.0"): the fit says they must increase


def _label_times(time_labels) -> tuple[np.ndarray | None, str | None, str | None]:
    """The times, unit and problem of :func:`_header_times`, without its warning or checks."""
    times, unit = _parse_times_unit(time_labels)
    if times is None and all(_R_NAME.match(label) for label in time_labels):
        times, unit = _parse_times_unit([label[1:] for label in time_labels])  # R's X0h
    if times is not None:
        return times, unit, None
    times, unit, problem = _times_in_names(time_labels)
    if times is None:
        times, unit, mixed = _prefixed_times(time_labels)
        problem = mixed or problem
    return times, unit, problem


# column names that usually hold each gene's group, not a time point
_LABEL_LIKE = {"cluster", "clusters", "group", "groups", "class", "classes", "category", "type"}
_R_NAME = re.compile(r"^X\d")  # R's check.names: "0h" becomes "X0h", "0.5" becomes "X0.5"
_NO_TIMES = (
    "no times found in the header; the {n} columns are read as equal steps in file order. "
    "Name the columns by their times (0h, 30min, 2h, or LPS_30m, t2h, day3) for uneven "
    "sampling (in Python, times= of RVAgene.fit also gives them)."
)
# A time inside a sample name: a number with a unit ("30m", "0.5 h", "t2h"), or a unit
# word then a number ("day3", "hour 2"), between separators or the ends of the name; a
# unit word joined to its number by "_" ("Day_1") only where a name holds no other time
# ("day_1_2h" is 2 h, as before "Day_1" was read), see _times_in_names.
_TIME_IN_NAME_PATTERN = (
    r"(?<![A-Za-z0-9.])(?:t\s*)?(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>[A-Za-z]+)(?![A-Za-z0-9])"
    r"|(?<![A-Za-z0-9])(?P<word>days?|d|h|hours?|hrs?|min|mins|minutes?|weeks?|wk){gap}"
    r"(?P<value2>\d+(?:\.\d+)?)(?![A-Za-z0-9.])"
)
_TIME_IN_NAME = re.compile(_TIME_IN_NAME_PATTERN.format(gap=r"\s*"), re.IGNORECASE)
_TIME_IN_NAME_JOINED = re.compile(_TIME_IN_NAME_PATTERN.format(gap=r"[\s_]*"), re.IGNORECASE)
_NAME_UNITS = {**_HOURS, "m": 1 / 60}  # "LPS_30m": minutes in a sample name


def _times_in_names(names: list[str]) -> tuple[np.ndarray | None, str | None, str | None]:
    """Times inside sample names: (times, unit, None), or (None, None, why not or None).

    Each name must hold exactly one time with a known unit, and the names must agree apart
    from it (one condition); else the reason names the columns at fault.
    """
    found = []
    for name in names:
        for pattern in (_TIME_IN_NAME, _TIME_IN_NAME_JOINED):  # "Day_1" if no other time
            hits = _time_hits(pattern, name)
            if hits:
                break
        found.append(hits[0] if len(hits) == 1 else None)
    if not any(found):
        return None, None, None
    split = "Split the file (one condition per file), or in Python give times= to RVAgene.fit."
    rest = {_rest_of_name(n, m): None for n, m in zip(names, found, strict=True) if m}
    rest = {k.lower(): k for k in rest}  # the names without their times, one per condition
    zero = _bare_zeros(names, found, rest)  # "T0" beside "T2h, T6h": time 0
    if not all(m is not None or z for m, z in zip(found, zero, strict=True)):
        without = [n for n, m, z in zip(names, found, zero, strict=True) if m is None and not z]
        with_time = [n for n, m in zip(names, found, strict=True) if m is not None]
        why = (
            f"the header mixes time points ({_few_names(with_time)}) with columns without "
            f"one time ({_few_names(without)}), such as controls; the {len(names)} columns "
            f"are read as equal steps in file order. {split}"
        )
        return None, None, why + _group_hint(without)
    if len(rest) > 1:
        why = (
            f"the header's sample names hold times but several conditions "
            f"({_few_names(list(rest.values()))}); the {len(names)} columns are read as "
            f"equal steps in file order. {split}"
        )
        if all(_REPLICATE_LIKE.match(k.replace("*", "")) for k in rest.values()):
            why += (
                " If they are replicates, name the columns <time>_rep<k> (0h_rep1, 0h_rep2, "
                "...), read as replicates (a 3-D X)."
            )
        return None, None, why
    values = np.array([float(m["value"] or m["value2"]) if m else 0.0 for m in found])
    hours = np.array([_NAME_UNITS[_unit_of(m)] if m else np.nan for m in found])
    units = hours[np.isfinite(hours)]
    hours[~np.isfinite(hours)] = units[0] if np.all(units == units[0]) else 1.0  # time 0
    if np.all(hours == hours[0]):
        return values, _UNIT_NAMES.get(hours[0], "h"), None
    return values * hours, "h", None


def _bare_zeros(names: list[str], found: list, rest: dict) -> list[bool]:
    """Which names without a time are time 0 written without a unit (``T0`` beside ``T2h``).

    As a bare ``0`` among times with units is 0 in their unit (:func:`_parse_times_unit`),
    a name that is the timed names' common rest with ``0`` (or ``t0``) in place of their
    time is time 0: ``T0`` or ``t0`` beside ``T2h, T6h``, ``LPS_0`` beside ``LPS_2h``. A
    control (``ctrl``, ``untreated``) is not. ``rest``: the timed names' rests, lower-cased
    (``{"lps_*": "LPS_*"}``).
    """
    if len(rest) != 1:
        return [False] * len(names)
    before, after = next(iter(rest)).split("*", 1)
    zero = re.compile(re.escape(before) + r"(?:t\s*)?0+(?:\.0+)?" + re.escape(after), re.I)
    return [
        m is None and zero.fullmatch(n.strip()) is not None
        for n, m in zip(names, found, strict=True)
    ]


def _time_hits(pattern: re.Pattern, name: str) -> list[re.Match]:
    """The times with a known unit that ``pattern`` finds in a sample name.

    The word ``h`` before a number is an hour only in lower case (``h0``, ``h2``; ``H1``
    and ``H9`` name human ES cell lines, ``H1`` to ``H4`` histones) and only where the name
    holds no other time (``H1_0h`` is 0 h, ``h1_day2`` day 2).
    """
    hits = [m for m in pattern.finditer(name) if _unit_of(m) in _NAME_UNITS and m["word"] != "H"]
    return [m for m in hits if m["word"] != "h"] or hits


def _unit_of(match: re.Match) -> str:
    return (match["unit"] or match["word"]).lower()


def _rest_of_name(name: str, match: re.Match) -> str:
    """A sample name without its time: the condition (``LPS_30m`` -> ``LPS_``)."""
    return name[: match.start()] + "*" + name[match.end() :]


def _few_names(names: list[str], k: int = 3) -> str:
    return ", ".join(names[:k]) + (", ..." if len(names) > k else "")


def _group_hint(names: list[str]) -> str:
    """Advice for the first of ``names`` that may hold each gene's group (``cluster``), or ""."""
    groups = [n for n in names if n.strip().lower() in _LABEL_LIKE]
    if not groups:
        return ""
    return (
        f" If {groups[0]!r} holds each gene's group, name that column 'label' (or in Python "
        f"pass label_column={groups[0]!r} to read_table)."
    )


# A time after a prefix that says its unit: circadian Zeitgeber or circadian time (hours:
# ZT0, CT12), embryonic or postnatal days (E10.5, P7); or none (t0, t30, T=2, time_0).
_PREFIXED_TIME = re.compile(
    r"(?P<prefix>zt|ct|e|p|t|time)\s*[_ =]?\s*(?P<value>\d+(?:\.\d+)?)", re.I
)
_PREFIX_UNITS = {"zt": "h", "ct": "h", "e": "d", "p": "d", "t": None, "time": None}


def _prefixed_times(names: list[str]) -> tuple[np.ndarray | None, str | None, str | None]:
    """Times after one prefix: (times, unit, None), or (None, None, why not or None).

    ``t0, t30, t120``, ``T=2`` and ``time_0`` are times without a unit; ``ZT0, ZT4`` and
    ``CT12`` (circadian time, in capitals: ``ct1, ct2`` name controls) are hours;
    ``E10.5, E12.5`` (embryonic days, as mice are staged: at least one half day) and
    ``P0, P7`` (postnatal days, from the day of birth, P0) are days; ``E1, E2, E4`` or
    ``P1, P2, P5`` may number experiments or patients, so they give no times. A header that
    mixes ``E`` and ``P`` has no times from one origin: the reason says how to name them.
    Step names (``t0, t1, t2``, see :func:`_step_names`) are left to be steps.
    """
    found = [_PREFIXED_TIME.fullmatch(n.strip()) for n in names]
    if not all(found) or _step_names(names):
        return None, None, None
    if any(
        m["prefix"].lower() in ("zt", "ct") and m["prefix"] != m["prefix"].upper() for m in found
    ):
        return None, None, None  # circadian time is ZT, CT; ct1, ct2 name controls
    prefixes = {m["prefix"].lower() for m in found}
    if prefixes == {"e", "p"}:
        why = (
            f"the header mixes embryonic and postnatal days ({_few_names(names)}), which "
            f"count from different days; the {len(names)} columns are read as equal steps in "
            "file order. Name them by days from one origin (in mouse, E18.5 as 18.5d and P0 "
            "as 19.5d), or in Python give times= to RVAgene.fit."
        )
        return None, None, why
    if len(prefixes) > 1:
        return None, None, None
    values = np.array([float(m["value"]) for m in found])
    prefix = prefixes.pop()
    if (prefix == "e" and (values % 1 == 0).all()) or (prefix == "p" and 0 not in values):
        return None, None, None  # E1, E2, E4 or P1, P2, P5: experiments or patients
    return values, _PREFIX_UNITS[prefix], None


def _step_names(names: list[str]) -> bool:
    """Whether names are steps by design: ``t0, t1, ...`` (``step``, ``tp``; from 0 or 1)."""
    found = [re.fullmatch(r"(t|tp|time|step|timepoint)_?(\d+)", n, re.IGNORECASE) for n in names]
    if not all(found):
        return False
    steps = [int(m[2]) for m in found]
    return steps == list(range(steps[0], steps[0] + len(steps))) and steps[0] in (0, 1)


def read_gene_list(path) -> list[str]:
    """Read gene names from a text file: one per line (or separated by commas or tabs).

    Blank lines and lines starting with ``#`` are skipped. The file is UTF-8 text; a
    byte-order mark (as Excel writes) is not part of the first name, and ``.gz`` files are
    read through gzip. Quotes around a name (``"Sox2"``, as R's ``write.table`` and
    ``write.csv`` write) are not part of it.

    Parameters
    ----------
    path : str or PathLike
        For example the original's ``esc_data/degenes_ES2.txt``.

    Returns
    -------
    list of str
    """
    path = Path(path)
    if not path.is_file():
        msg = f"No such gene list: {str(path)!r}. Give a text file with one gene per line."
        raise FileNotFoundError(msg)
    genes = []
    for line in _decoded(path).splitlines():  # without a byte-order mark: Excel writes one
        if line.strip() and not line.lstrip().startswith("#"):
            names = (_unquoted(g) for g in line.replace(",", " ").split())
            genes.extend(g for g in names if g)
    if not genes:
        msg = f"{path} lists no genes. Put one gene name per line."
        raise ValueError(msg)
    return genes


def _unquoted(name: str) -> str:
    """A name without the quotes around it (``"Sox2"`` -> ``Sox2``), else as it is."""
    if len(name) >= 2 and name[0] == name[-1] and name[0] in "\"'":
        return name[1:-1]
    return name


def names_kept(names, genes, where: str = "the data") -> list[str]:
    """The requested gene names that ``names`` holds, in the order requested, each once.

    Names missing from ``names`` are skipped with a warning that says how many and names a
    few; a ``ValueError`` is raised when none is present. Shared by
    :func:`rvagene.single_cell.select_genes` and :func:`keep_genes`.

    Examples
    --------
    >>> names_kept(["a", "b", "c"], ["c", "a", "c"])
    ['c', 'a']
    """
    names = [str(g) for g in names]
    if isinstance(genes, str):
        genes = [genes]
    present = set(names)
    wanted = list(dict.fromkeys(str(g) for g in genes))
    missing = [g for g in wanted if g not in present]
    kept = [g for g in wanted if g in present]
    if not wanted:  # before: "None of the 0 requested genes ()"
        msg = "The list of requested genes is empty: give gene names, or none to keep all."
        raise ValueError(msg)
    if not kept:
        msg = (
            f"None of the {len(wanted)} requested genes ({_few_names(wanted, 5)}) is in "
            f"{where} (genes such as {_few_names(names, 5)}). Check the gene names and their "
            "case."
        )
        raise ValueError(msg)
    if missing:
        msg = (
            f"{len(missing)} of {len(wanted)} requested genes are not in {where} and are "
            f"skipped: {_few_names(missing, 5)}."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())  # prepare, cluster_anndata
    return kept


def keep_genes(table: TimeSeriesTable, genes) -> TimeSeriesTable:
    """The table's rows of the genes named in ``genes``, in that order (see :func:`names_kept`).

    For example the genes a time-course test found to change, out of a genome-wide table:
    every gene given to the model is clustered, so genes of noise make up clusters of their
    own and blur the others.

    Parameters
    ----------
    table : TimeSeriesTable
        A table with gene names (:func:`read_table`; a UCR file has none).
    genes : sequence of str
        Gene names to keep (:func:`read_gene_list` reads them from a
        file). A name that the table repeats is a ``ValueError``: its rows cannot be told
        apart by name.

    Returns
    -------
    TimeSeriesTable
        The same table with only those genes (and their labels).
    """
    if table.genes is None:
        msg = (
            f"{table.source} has no gene names (a UCR file), so genes cannot be chosen by "
            "name; give a table with a gene column."
        )
        raise ValueError(msg)
    kept = names_kept(table.genes, genes, where=table.source)
    rows = {}
    repeated = []
    for i, g in enumerate(table.genes):
        if g in rows and g not in repeated:
            repeated.append(g)
        rows.setdefault(g, i)
    repeated = [g for g in repeated if g in set(kept)]
    if repeated:
        msg = (
            f"{table.source} repeats the requested gene name(s) {_few_names(repeated)}, so "
            "their rows cannot be chosen by name; make the names unique in the file."
        )
        raise ValueError(msg)
    index = np.array([rows[g] for g in kept])
    labels = None if table.labels is None else np.asarray(table.labels)[index]
    return dataclasses.replace(table, X=table.X[index], genes=kept, labels=labels)


def read_table(
    path, sep: str | None = None, label_column: str | None = "label"
) -> TimeSeriesTable:
    """Read a gene-named table: genes in rows, time points in columns.

    The header row names the gene column, then each time point (numbers such as
    ``0,0.5,1,2``, numbers with a unit such as ``0h,30min,2h``, or strings such as
    ``t0,t1``). A column whose header matches ``label_column`` (case-insensitively) holds
    per-gene labels. The gene column's header may be empty, or missing altogether (a header
    one cell shorter than the rows, as R writes; not when the header starts with a gene
    column's name such as ``gene``). Columns at the end that are empty in every row (a
    separator at the end of each line) are dropped, as are lines starting with ``#``, but
    for a commented header above the data (``#gene,0h,1h``; see :func:`_uncomment`).
    A bare ``0`` among times with units (``0,30min,1h``) is time 0 in their unit.
    Gene names are kept as written (``001``, ``SEPT2``, ``MARCH1``: never read as numbers
    or dates); names that look like dates Excel made of symbols (``2-Sep``, ``1-Mar``) get a
    warning, as do repeated names (all their rows are kept).
    Columns right after the gene column that describe the genes (of words, such as symbols
    and descriptions, or named as annotations: ``symbol``, ``entrez``, featureCounts'
    ``Chr`` to ``Length``; numbers under such a name only before columns with times) are
    left out with a warning (see :func:`_without_annotations`), as are columns at either
    end of the time points named as a test's statistics (``log2FoldChange``, ``padj``,
    ``logFC``, ``adj.P.Val``, a row's ``mean``; see :func:`_without_statistics`).

    A column of numbers never becomes gene names. When the header's first cell is a time
    point (``0h``, ``0``, ``2.5``, or ``t0`` before ``t1``), every column is data and the
    genes are named ``gene_1, gene_2, ...`` (a later column of names, the gene column put
    last, is an error asking to put it first); the same when the first column is the label
    column. A first column of integers under another name (``gene``, ``id``) is read as
    gene IDs; one of other numbers is an error that says what to do.

    Replicates, or several measurements per time point, are read as a 3-D ``X`` (genes,
    time points, replicates) when the time columns are named ``<time>_rep<k>`` (also
    ``_r<k>``, ``_replicate<k>``; case-insensitive), in any order, e.g.
    ``gene,0h_rep1,0h_rep2,1h_rep1,1h_rep2``, or ``rep<k>_<time>`` where a time (or a
    prefix and a number, ``rep1_t0``) follows (``rep1_0h,rep2_0h``; ``R1_S1`` is no
    replicate), or when each time name is repeated once per
    replicate (``gene,0,0,1,1``: the k-th column of a time is replicate k). Every time
    point must have the same replicates; a missing measurement is an empty or NA cell.

    Times come from the header: numbers, numbers with units (also with R's ``X`` before
    each, ``X0h, X2h``, as ``read.table`` names them), or one time inside each sample
    name (``LPS_30m, LPS_1h, LPS_24h``; ``t0h, t2h``; ``day0, day3``; ``0.5 h``; ``h0, h2``
    in lower case) when the names agree apart from it, or one prefix before numbers:
    ``t0, t30, T=2`` (no unit), ``ZT0, CT12`` (hours), ``E10.5, E12.5`` and ``P0, P7``
    (days; ``E`` days need a half day and ``P`` days ``P0``: ``E1, E2`` or ``P1, P5`` may
    number experiments or patients, and give no times). Otherwise ``times`` is None and a
    warning says so (no warning for step names ``t0, t1, ...``): "no times found in the
    header", or, for controls, several conditions or ``E`` and ``P`` days in one header,
    which columns and what to do. Time columns out of order are an error that asks to sort
    them, and a table with the time points in rows (``time,Sox2,Nanog`` above ``0,1.2,2``;
    ``0h``, ``day0`` as row names) an error that asks to transpose it.

    Parameters
    ----------
    path : str or PathLike
        ``.tsv``/``.tab`` files are tab-separated; otherwise the separator is guessed from
        the header: a semicolon (when at least as common as the comma), a comma, a tab,
        else whitespace (where quoted cells, as R's ``write.table`` writes, lose their
        quotes). With any separator but the comma, decimal commas (``1,5``) are
        read as decimal points; a decimal point among them (``1.234``, a thousands
        separator in such a file) is an error, as is a thousands comma (``1,234``) among
        more decimal points. A GEO series matrix
        (``GSE<n>_series_matrix.txt``, also ``.gz``) is read from its table, the columns
        named by the samples' ``!Sample_title`` when these are distinct (else by their
        ``GSM`` accessions).
    sep : str, default=None
        Column separator, overriding the above.
    label_column : str or None, default="label"
        Header of the label column; None if there is none.

    Returns
    -------
    TimeSeriesTable
        Labels are int64 when all are integers, float64 when all are numbers (NaN for a
        gene without a label: an empty or NA cell), else strings ("" for no label).

    Examples
    --------
    A file with the header ``gene,label,0h_rep1,0h_rep2,2h_rep1,2h_rep2,6h_rep1,6h_rep2``
    gives ``X`` of shape (n_genes, 3, 2), ``times`` ``[0, 2, 6]`` and ``replicates``
    ``[1, 2]``; :func:`write_table` writes such a file from a 3-D array.
    """
    rows = _read_rows(path, _read_sep(path, sep), short_header=True)
    (_, header), body = rows[0], rows[1:]
    if not body:
        msg = f"{path} has a header but no genes. Add one row per gene below the header."
        raise ValueError(msg)
    _check_no_repeated_header(path, header, body)
    key = (label_column or "").lower()
    first = _gene_column(path, header, body, key)
    start = 0 if first is None else 1
    label_at = next(
        (j for j, h in enumerate(header) if j >= start and key and h.lower() == key), None
    )
    cols = [j for j in range(start, len(header)) if j != label_at]
    if first == "genes":
        cols = _without_annotations(path, header, body, cols)
    cols = _without_statistics(path, header, cols)
    _check_timepoints(len(cols), path)
    genes = [cells[0] for _, cells in body] if first == "genes" else None
    if genes is not None:
        _check_header_is_no_row(path, header, body)
        _check_rows_are_no_times(path, header, genes, [header[j] for j in cols])
    if first is None or first == "label":  # no gene names in the file
        logger.info("%s has no gene column; genes are named gene_1 ... gene_%d", path, len(body))
        genes = [f"gene_{i}" for i in range(1, len(body) + 1)]
        if first == "label":
            label_at = 0
    X = _parse(
        [(line, [cells[j] for j in cols]) for line, cells in body],
        lambda r, c: f"{path}: gene {genes[r]!r} (line {body[r][0]}), column {header[cols[c]]!r}",
    )
    labels = None if label_at is None else _read_labels([cells[label_at] for _, cells in body])
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
    times, unit = _header_times(path, header, time_labels, first)
    if first == "genes" and times is not None and unit is None:
        _warn_if_header_may_be_a_gene(path, header, time_labels)
    unnamed = [i for i, g in enumerate(genes) if not str(g).strip()]
    if unnamed:  # a name for the outputs, which name every gene
        for i in unnamed:
            genes[i] = f"gene_{i + 1}"  # as genes are named without a gene column
        msg = (
            f"{path}: {len(unnamed)} gene(s) without a name, called by their data row: "
            f"{', '.join(genes[i] for i in unnamed[:5])}. Name them in the file."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    _warn_about_names(path, genes)
    logger.debug("read %d genes x %d time points from %s", *X.shape[:2], path)
    return TimeSeriesTable(X, genes, times, time_labels, labels, str(path), replicates, unit)


# A date that Excel made of a gene symbol: "2-Sep" (SEPT2), "1-Mar" (MARCH1), "1.Dez" in
# other locales, or ISO "2021-09-02". Not month first: C. elegans has genes sep-1 and oct-1.
# Months as Excel writes them, short or whole (English, German): "4-Novel" is no date.
_MONTHS = (
    "jan(?:uary|uar)?|feb(?:ruary|ruar)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e|i)?|jul(?:y|i)?"
    "|aug(?:ust)?|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mrz|m[aä]rz|mai"
    "|okt(?:ober)?|dez(?:ember)?"
)
_EXCEL_DATE = re.compile(
    rf"^(?:\d{{1,2}}[-. /](?:{_MONTHS})\.?|\d{{4}}-\d{{2}}-\d{{2}})$", re.IGNORECASE
)


def _warn_about_names(path, genes: list[str]) -> None:
    """Warn about repeated gene names, and names that look like dates Excel made of symbols.

    Excel turns symbols such as SEPT2 into dates (2-Sep) when a file is opened there; no
    gene list names them so, and two genes may share one date.
    """
    dupes = sorted(g for g, k in Counter(genes).items() if k > 1)
    if dupes:
        msg = f"{path}: duplicate gene names {dupes[:5]}; all rows are kept."
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    dates = [g for g in genes if _EXCEL_DATE.match(str(g).strip())]
    if dates:
        msg = (
            f"{path}: {len(dates)} gene name(s) look like dates ({_few_names(dates)}), as "
            "Excel turns symbols such as SEPT2 and MARCH1 into 2-Sep and 1-Mar. Take the "
            "names from the source file again (in Excel, import the gene column as Text)."
        )
        warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


# Headers of columns that describe a gene rather than hold its values: symbols, descriptions,
# Entrez IDs, and featureCounts' Chr, Start, End, Strand and Length.
_ANNOTATION_NAMES = frozenset(
    {"symbol", "symbols", "gene_symbol", "genesymbol", "hgnc_symbol", "mgi_symbol", "name",
     "gene_name", "genename", "description", "gene_description", "desc", "entrez",
     "entrez_id", "entrezid", "entrezgene", "entrezgene_id", "ensembl", "ensembl_id",
     "ensembl_gene_id", "gene_id", "geneid", "gene_biotype", "biotype", "chr", "chrom",
     "chromosome", "start", "end", "strand", "length", "gene_length"}
)  # fmt: skip


def _without_annotations(path, header: list[str], body, cols: list[int]) -> list[int]:
    """The value columns of ``cols``: without the annotation columns that lead them.

    Columns right after the gene column whose header is no time and that hold words (most
    of their cells have a letter and are not numbers, as symbols and descriptions do) or
    whose header names an annotation (``symbol``, ``entrez``, featureCounts' ``Length``, see
    ``_ANNOTATION_NAMES``) describe the genes: they are left out with a warning that names
    them. The first column names the genes. Nothing is left out when fewer than 2 columns
    would remain (then a word in a value column is an error naming the cell), and
    columns of numbers alone are left out only where the columns after them have times
    (``entrez,0h,2h``): ``gene,start,mid,end`` is three steps.
    """
    found, wordy = [], False
    for j in cols:
        name = _name_key(header[j])
        cells = [c[j] for _, c in body if c[j].lower() not in _MISSING]
        words = sum(_number(c) is None and re.search(r"[A-Za-z]", c) is not None for c in cells)
        if _parse_times([header[j]]) is not None or _replicate_of(header[j]):
            break
        if name not in _ANNOTATION_NAMES and not 2 * words > len(cells):
            break
        found.append(j)
        wordy = wordy or 2 * words > len(cells)
    rest = [header[j] for j in cols[len(found) :]]
    if not found or len(rest) < 2:
        return cols
    if not wordy and _label_times(rest)[0] is None:  # numbers only: values, as in start,mid,end
        return cols
    names = ", ".join(repr(header[j]) for j in found)
    msg = (
        f"{path}: column(s) {names} describe the genes (words, or an annotation's name), "
        f"not time points, and are left out; the genes are named by the first column "
        f"{header[0]!r}. To name them otherwise, put that column first."
    )
    msg += _group_hint([header[j] for j in found])
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    return [j for j in cols if j not in found]


# Headers of the statistics a differential-expression tool writes beside (or instead of)
# the values, as _name_key spells them: DESeq2's baseMean to padj, edgeR's logFC, logCPM,
# PValue, FDR, limma's AveExpr, P.Value, adj.P.Val, Seurat's avg_log2FC, pct.1, p_val_adj,
# and a row's summaries (mean, sd). Never a time point. The short or common words of
# _WEAK_STATISTIC_NAMES (limma's t and B, edgeR's F and LR, DESeq2's stat) count only in a
# run of columns that also holds one of these: alone, "t" or "B" may be a step's name.
_STATISTIC_NAMES = frozenset(
    {"basemean", "log2foldchange", "lfcse", "pvalue", "padj", "logfc", "logcpm", "fdr",
     "aveexpr", "p_value", "adj_p_val", "p_val", "p_val_adj", "avg_log2fc", "avg_logfc",
     "pct_1", "pct_2", "log2fc", "log2_fold_change", "fold_change", "foldchange", "fc",
     "pval", "p_adj", "adj_pval", "padj_bh", "fdr_bh", "qvalue", "q_value", "qval",
     "significant", "mean", "sd", "std", "stdev", "variance", "cv", "median", "min", "max"}
)  # fmt: skip
_WEAK_STATISTIC_NAMES = frozenset({"t", "b", "f", "lr", "stat"})


def _name_key(name: str) -> str:
    """A column name compared with known names: lower case, runs of spaces, dots, dashes _."""
    return re.sub(r"[\s.\-]+", "_", name.strip().lower())


def _statistic_columns(names: list[str]) -> list[int]:
    """Positions of the runs of ``names`` at either end named as a test's statistics.

    ``log2FoldChange``, ``padj``, ``logFC``, ``adj.P.Val``, ``mean``: see
    ``_STATISTIC_NAMES``; a run of short names alone (``t``, ``B``) is none. Empty when
    fewer than 2 names would remain.
    """

    def run(order: list[int]) -> list[int]:
        found = []
        for j in order:
            key = _name_key(names[j])
            if key not in _STATISTIC_NAMES and key not in _WEAK_STATISTIC_NAMES:
                break
            found.append(j)
        strong = any(_name_key(names[j]) in _STATISTIC_NAMES for j in found)
        return found if strong else []

    every = list(range(len(names)))
    found = sorted(set(run(every) + run(every[::-1])))
    return found if len(names) - len(found) >= 2 else []


def _without_statistics(path, header: list[str], cols: list[int]) -> list[int]:
    """The value columns of ``cols``: without the test statistics that lead or end them.

    Runs of columns at either end of ``cols`` named as a differential-expression tool's
    statistics (:func:`_statistic_columns`) are left out with a warning that names them;
    read as time points, a p-value would be fitted as part of the series. Nothing is left
    out when fewer than 2 columns would remain.
    """
    found = [cols[i] for i in _statistic_columns([header[j] for j in cols])]
    if not found:
        return cols
    names = ", ".join(repr(header[j]) for j in found)
    msg = (
        f"{path}: column(s) {names} hold statistics (of a differential-expression test, or "
        "a summary of the row), not time points, and are left out. To read them as time "
        "points, give them times as their names (0h, 2h)."
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())
    return [j for j in cols if j not in found]


# Words of a gene column's header ("Gene Symbol", "GeneID", "ID_REF", "probe_set"), or of the
# header row's ("time", "hours"), or of a column that pandas named ("Unnamed: 0", "index"): a
# first cell without one, above plain numbers, may be a gene's name above its values.
_COLUMN_WORDS = frozenset(
    {"gene", "genes", "id", "ids", "name", "names", "symbol", "symbols", "probe", "probes",
     "transcript", "transcripts", "feature", "features", "ensembl", "entrez", "accession",
     "locus", "orf", "row", "rows", "key", "target", "protein", "proteins", "tag",
     "time", "times", "timepoint", "timepoints", "hour", "hours", "day", "days", "sample",
     "samples", "unnamed", "index"}
)  # fmt: skip
# Whole first cells that name a gene column in one word: the reader's own gene column names
# ("geneid", featureCounts' "Geneid"), and R's name for a column without one ("X").
_COLUMN_CELLS = _GENE_COLUMN_NAMES | {"genesymbol", "genesymbols", "probeset", "probesets", "x"}


def _warn_if_header_may_be_a_gene(path, header: list[str], time_labels: list[str]) -> None:
    """Warn when a header of plain-number times starts with a cell that names no column.

    ``Sox2,0.5,1.2,3.4`` above ``Nanog,4,5,6``: a file without a header whose first gene
    rises reads as a header of times 0.5, 1.2, 3.4, and that gene is lost. A first cell
    such as ``gene``, ``Gene Symbol`` or ``ID_REF`` says nothing.
    """
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", header[0])
    if header[0].strip().lower() in _COLUMN_CELLS or any(
        w.lower() in _COLUMN_WORDS for w in words
    ):
        return
    shown = ", ".join(time_labels[:4]) + (", ..." if len(time_labels) > 4 else "")
    msg = (
        f"{path}: the first line is read as a header of times ({shown}) above a gene column "
        f"named {header[0]!r}; if it is a gene's row, the gene is lost and the times are "
        "its values. Add a header line such as 'gene,t0,t1,...' above it, or name the gene "
        "column 'gene'."
    )
    warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _check_header_is_no_row(path, header: list[str], body) -> None:
    """A ValueError when the header starts as a row does: the first line is data.

    A UCR file whose labels are words (``A,0.5,1.5,2.5``, then ``B,...``, ``A,...``) would
    otherwise be read as a table whose header is its first gene, times 0.5, 1.5, 2.5.
    """
    name = header[0]
    if not name or name.lower() in _GENE_COLUMN_NAMES:
        return
    line = next((line for line, cells in body if cells[0] == name), None)
    if line is not None:
        msg = (
            f"{path}: the first line starts with {name!r}, as line {line} does, so it is a "
            "row of data, not a header. Add a header line such as 'gene,t0,t1,...'; a UCR "
            "file (no header; a label, then the values) needs integer labels (number them "
            "0, 1, ...)."
        )
        raise ValueError(msg)


# A first column's name that says its rows are time points ("time", "hours", "Day").
_TIME_COLUMN_NAMES = frozenset(
    {"time", "times", "timepoint", "timepoints", "time_point", "time_points", "t", "hour",
     "hours", "h", "hr", "hrs", "day", "days", "d", "min", "mins", "minute", "minutes",
     "week", "weeks", "hpf", "hpi", "time_h", "time_hours", "time_min", "time_d", "pseudotime"}
)  # fmt: skip


def _rows_are_times(column: str, names: list[str]) -> bool:
    """Whether row names under the column (or index) name ``column`` are time points.

    They are when they are increasing times that have a unit (``0h, 2h, 6h``; ``day0,
    day2``: numbers, numbers with a unit or one time inside each name, not a prefix alone,
    as ``P1``, ``E2`` also name genes and proteins) or stand under a time's name (``time``,
    ``hours``: ``0, 2, 6``). Never under a gene column's name (``gene``, ``symbol``, ``id``:
    ``H1``, ``D1`` or ``5S`` are genes there, integers gene IDs).
    """
    key = _name_key(column)
    if key in _GENE_COLUMN_NAMES - {""}:
        return False
    names = [name.strip() for name in names]
    times, unit = _parse_times_unit(names)
    if times is None:
        times, unit, _ = _times_in_names(names)
    if times is None or not (np.diff(times) > 0).all():
        return False
    return unit is not None or key in _TIME_COLUMN_NAMES


def _check_rows_are_no_times(path, header: list[str], genes: list[str], time_labels) -> None:
    """A ValueError for a transposed table: time points in rows, genes in columns.

    The rows are taken for time points as :func:`_rows_are_times` says (``0h, 2h, 6h``, or
    ``0, 2, 6`` under ``time``), where the header gives no times (``Sox2, Nanog``). Read as
    they are, each time point would be clustered as a gene, with a warning only that the
    header holds no times.
    """
    if len(genes) < 2 or _label_times(time_labels)[0] is not None:
        return
    if not _rows_are_times(header[0], genes):
        return
    msg = (
        f"{path}: the rows are time points ({_few_names(genes)}) and the columns look like "
        f"genes ({_few_names(list(time_labels))}), but a table holds one gene per row and "
        "one time point per column. Transpose it (pandas: df.T; R: t(x); a spreadsheet: "
        "Paste Special, Transpose), with the time points as the header."
    )
    raise ValueError(msg)


def _check_no_repeated_header(path, header: list[str], body) -> None:
    """A ValueError when a row below the header repeats it (files joined with ``cat``).

    Under a header of plain numbers (``gene,0,1,2``) such a row would otherwise be read as
    a gene named after the gene column, with the times as its values.
    """
    cells = [c.lower() for c in header]
    if not cells[0]:  # an unnamed gene column: a gene row may well start with ""
        return
    for line, row in body:
        if [c.lower() for c in row] == cells:
            msg = (
                f"{path}: line {line} repeats the header ({', '.join(header[:4])}, ...), as "
                "when tables are joined; remove that line, so that only the first line is "
                "a header."
            )
            raise ValueError(msg)


def _read_labels(raw: list[str]) -> np.ndarray | None:
    """A label column: int64, float64 or str; None when every cell is missing.

    A missing cell (empty, ``NA``, ``nan``, ``n/a``, ``null``, ``#N/A``) is an unlabelled
    gene: NaN among numbers (whose column is then float64), ``""`` among strings; see
    :func:`labelled`. A lone ``-``, missing in data cells, is a label here (``+``/``-``).
    """
    missing = [c.lower() in _NO_LABEL for c in raw]
    if all(missing):
        return None
    labels = None if "-" in raw else _numbers(raw)
    if labels is None:
        return np.array(["" if m else c for c, m in zip(raw, missing, strict=True)])
    return labels.astype(np.int64) if _integral(labels).all() else labels


def labelled(labels) -> np.ndarray:
    """Which genes have a label: not NaN, None or ``""`` (a missing cell of a label column).

    Examples
    --------
    >>> labelled([1.0, float("nan"), 2.0]).tolist(), labelled(["a", "", "b"]).tolist()
    ([True, False, True], [True, False, True])
    """
    labels = np.asarray(labels).ravel()
    if labels.dtype.kind == "f":
        return ~np.isnan(labels)
    return np.array([x is not None and str(x) != "" for x in labels.tolist()], dtype=bool)


def write_table(path, X, genes=None, times=None, labels=None, sep: str | None = None) -> None:
    """Write a gene-named table that :func:`read_table` reads back exactly.

    Parameters
    ----------
    path : str or PathLike
        Target file; written atomically. ``.tsv``/``.tab`` get tabs, anything else commas;
        a name ending in ``.gz`` (``expr.tsv.gz``) is gzipped.
    X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_replicates)
        Values; NaN is written as ``NA``. With more than one replicate the header names the
        columns ``<time>_rep<k>`` (k = 1, 2, ...), replicates of a time side by side; a
        3-D ``X`` with one replicate is written as 2-D.
    genes : sequence of str, default=None
        Gene names; ``gene_0, gene_1, ...`` when None.
    times : sequence of float or str, default=None
        Time-point names for the header (numbers are read back as ``times``), all distinct;
        ``t0, t1, ...`` when None.
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
    names = [str(t) if isinstance(t, str) else _fmt(t) for t in times]
    parsed = _parse_times(names)
    if len(set(names)) < n_times or (parsed is not None and len(set(parsed)) < n_times):
        msg = (
            f"times repeat ({', '.join(names[:6])}{', ...' if n_times > 6 else ''}); read_table "
            "reads a repeated time as replicates. Give distinct times, or replicates as a 3-D X "
            "(genes, time, replicates)."
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
        text = buffer.getvalue()[:-2] + "\n"
        # a row starting with '#' would read back as a comment: quote its first cell
        return f'"{cells[0]}"{text[len(cells[0]) :]}' if _COMMENT.match(text) else text

    columns = [cell(t) for t in times]
    if n_reps > 1:
        columns = [f"{c}_rep{k}" for c in columns for k in range(1, n_reps + 1)]
    with _open_to_write(path, encoding="utf-8", newline="") as fh:
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
        A UCR file (recognised by a first row of numbers only: a label, then values, some
        of which may be missing as ``nan`` or ``NA``), a gene-named CSV/TSV (see
        :func:`read_table`; a ``.csv``/``.tsv``/``.tab``/``.txt`` file whose first row is
        strictly increasing numbers is a table with a header of times, unless its first
        column looks like UCR labels, integers with few distinct values, at least 2, beside
        values that are not all integers, and that first row's values are not all round, of
        at most 2 decimals, as times are written), a folder ``<dir>`` holding
        ``<dir>/<basename>_TRAIN``, or a dataset name.
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
        path = _dataset_file(name_or_path, root, available)
    first = next((line for line in _read_text(path).splitlines() if line.strip()), "")
    cells = first.replace(",", " ").replace("\t", " ").split()
    if _guess_sep(first) == ";":  # a European export: semicolons, maybe decimal commas
        cells = [_DECIMAL_COMMA.sub(r"\1.\2", c.strip()) for c in first.split(";")]
    label = cells[0] if cells else ""
    label_first = label.lower() not in _MISSING and _number(label) is not None
    if label_first and all(c.lower() in _MISSING or _number(c) is not None for c in cells[1:]):
        # a row of numbers, as UCR files hold (missing values allowed after the label)
        values = np.array([np.nan if c.lower() in _MISSING else _number(c) for c in cells])
        table_file = _suffix(path) in {".csv", ".tsv", ".tab", ".txt"}
        rising = len(values) > 2 and (np.diff(values) > 0).all()
        if table_file and rising and not _label_column_first(path):
            return checked_table(read_table(path))  # a header of times above rows of data
        X, labels = read_ucr(path)
        return checked_table(TimeSeriesTable(X, None, None, None, labels, str(path)))
    return checked_table(read_table(path))


# a time as headers write it: an integer or a number of at most 2 decimals (0, 0.5, 12, 1.25)
_ROUND_TIME = re.compile(r"^[-+]?\d+(\.\d{0,2})?$")


def _label_column_first(path) -> bool:
    """Whether a file of numbers only starts with a UCR label column, not a header of times.

    True when the first column of every row (the first one too) holds integers with few
    distinct values (at least 2, at most half as many as the rows, and at most 50), the
    first row's among them, while the other rows' other columns are not all integers, and
    the first row's are not all round (at most 2 decimals, as times are written): a label
    column beside the values. A header of times above rows of values fails one of these:
    round times (``0,0.5,1,2,4``), times above counts, or above fold changes against the
    first time (a first column all 0, or all 1, the header's first time). A header one cell
    short of its rows (R's ``write.table``) is a header; a file that cannot be read as a
    table is left to the readers' errors.
    """
    try:
        rows = _read_rows(path, _read_sep(path, None), short_header=True, warn=False)
    except ValueError:
        return False
    first = _numbers([cells[0] for _, cells in rows])
    rest = _numbers([c for _, cells in rows[1:] for c in cells[1:]])
    if first is None or rest is None or len(rows) < 3 or not _integral(first).all():
        return False
    if all(_ROUND_TIME.match(cell.strip()) for cell in rows[0][1][1:]):
        return False  # round numbers above the values: times (0,0.5,1,2,4), not a gene
    distinct = set(first.tolist())
    few = 2 <= len(distinct) <= min(50, len(rows) // 2) and first[0] in set(first[1:].tolist())
    return few and not _integral(rest[np.isfinite(rest)]).all()


def _dataset_file(name_or_path, root: Path, available: str) -> Path:
    """The file of a dataset name (``<root>/<name>/<name>_TRAIN``), or a clear error.

    A path (it has a suffix or a folder) that does not exist is named as given; only a
    bare name is looked up under ``root``.
    """
    path = Path(name_or_path)
    if path.suffix != "" or len(path.parts) > 1:
        msg = (
            f"No such file: {str(name_or_path)!r}. Check the path (relative paths start at "
            f"{str(Path.cwd())!r}). {available}"
        )
        raise FileNotFoundError(msg)
    candidate = root / str(name_or_path) / f"{name_or_path}_TRAIN"
    if not candidate.is_file():
        msg = (
            f"No dataset {str(name_or_path)!r}: there is no such file and no {candidate}. "
            f"{available} Run `python gen_synthetic_data.py {name_or_path}` to simulate it, "
            "or give a file's path."
        )
        raise FileNotFoundError(msg)
    return candidate


def checked_table(table: TimeSeriesTable) -> TimeSeriesTable:
    """Check a table's values as a fit will read them; mask extreme values, with a warning.

    Genes without any observed value are an error naming the gene (a fit cannot scale
    them). Extreme values (see :func:`extreme_values`) are set to NaN by
    :func:`mask_extreme_values`, whose warning names each gene, time point and value.
    :func:`load_dataset` returns its tables through this function.

    Parameters
    ----------
    table : TimeSeriesTable

    Returns
    -------
    TimeSeriesTable
        ``table`` itself, or a copy whose ``X`` has the extreme values masked.
    """
    X = table.X
    empty = np.isnan(X.reshape(len(X), -1)).all(axis=1)
    genes = table.genes or [f"gene_{i}" for i in range(1, len(X) + 1)]
    if empty.any():
        raise _all_missing(empty, genes, where=table.source)
    masked = mask_extreme_values(X, genes, table.time_labels, where=table.source)
    if np.array_equal(masked, X, equal_nan=True):
        return table
    empty = np.isnan(masked.reshape(len(X), -1)).all(axis=1)
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        msg = (
            f"{table.source}: gene {str(genes[i])!r} (row {i + 1}) has no value left once its "
            f"extreme values (such as {float(np.nanmax(np.abs(X[i]))):.3g}) are read as "
            "missing. Correct its values in the data, or remove the gene."
        )
        raise ValueError(msg)
    return dataclasses.replace(table, X=masked)


def has_real_labels(labels) -> bool:
    """Return whether ``labels`` can score a clustering: not None and not all the same.

    Genes without a label (see :func:`labelled`) are left out.

    Examples
    --------
    >>> has_real_labels([0, 0, 0]), has_real_labels([1, 2, 1]), has_real_labels(None)
    (False, True, False)
    """
    if labels is None:
        return False
    labels = np.asarray(labels).ravel()
    return len(np.unique(labels[labelled(labels)])) > 1


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

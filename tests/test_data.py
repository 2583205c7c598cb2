import gzip
import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from torch.utils.data import Dataset, TensorDataset

import rvagene.data as data
from rvagene.data import (
    TimeSeriesTable,
    as_time_series,
    has_real_labels,
    keep_genes,
    load_dataset,
    open_data,
    read_gene_list,
    read_table,
    read_ucr,
    write_table,
    write_ucr,
)


def write_text(path, text):
    path.write_text(text)
    return path


# --------------------------------------------------------------------------- as_time_series


@pytest.mark.parametrize(
    ("X", "shape"),
    [
        (np.zeros((4, 7)), (4, 7, 1)),
        (np.zeros((4, 7, 3)), (4, 7, 3)),
        ([[1, 2, 3], [4, 5, 6]], (2, 3, 1)),
        (torch.zeros(5, 6), (5, 6, 1)),
        (torch.zeros(5, 6, 2), (5, 6, 2)),
        (TensorDataset(torch.zeros(5, 6, 1)), (5, 6, 1)),
    ],
)
def test_as_time_series_shapes(X, shape):
    assert as_time_series(X).shape == shape


class TupleDataset(Dataset):
    def __init__(self, x, one_d=False):
        self.x, self.one_d = x, one_d

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return (self.x[i, :, 0] if self.one_d else self.x[i]), torch.tensor(i)


@pytest.mark.parametrize("one_d", [False, True])
def test_as_time_series_dataset_of_tuples(one_d):
    x = torch.arange(24, dtype=torch.float32).reshape(4, 6, 1)
    out = as_time_series(TupleDataset(x, one_d=one_d))
    assert out.shape == (4, 6, 1)
    np.testing.assert_array_equal(out, x.numpy())


def test_as_time_series_dtypes_and_nan():
    assert as_time_series(np.zeros((2, 3), np.float32)).dtype == np.float32
    assert as_time_series(np.zeros((2, 3), np.int64)).dtype == np.float64
    assert as_time_series([[1, 2]], dtype=np.float32).dtype == np.float32
    assert np.isnan(as_time_series([[np.nan, 1.0]])).sum() == 1


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (np.zeros((0, 5)), "empty"),
        ([], "empty"),
        ([[1, 2, 3], [1, 2]], "same number of time points"),
        ([["a", "b"], ["c", "d"]], "numeric"),
        (np.zeros(5), r"reshape\(1, -1\)"),
        (np.zeros((2, 3, 4, 5)), "2-D"),
    ],
)
def test_as_time_series_errors(X, match):
    with pytest.raises(ValueError, match=match):
        as_time_series(X)


# --------------------------------------------------------------------------- UCR files


@pytest.mark.parametrize("name", ["d_TRAIN", "d_TRAIN.gz"])
def test_ucr_round_trip_exact(tmp_path, name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 11)) * 10.0 ** rng.integers(-8, 8, size=(7, 11))
    X[0, 0], X[1, 2] = np.nan, 0.1
    labels = np.array([3, 1, 2, 2, 0, -1, 5])
    write_ucr(tmp_path / name, X, labels)  # a .gz name is gzipped, as read_ucr reads it
    X2, labels2 = read_ucr(tmp_path / name)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(labels2, labels)
    assert X2.dtype == np.float64
    assert labels2.dtype == np.int64


def test_write_ucr_without_labels_writes_zeros(tmp_path):
    write_ucr(tmp_path / "f", np.ones((3, 4, 1)))
    assert (tmp_path / "f").read_text().splitlines()[0] == "0,1,1,1,1"
    _, labels = read_ucr(tmp_path / "f")
    assert not has_real_labels(labels)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        ([0.5, 1, 2], "must be integers"),
        (["a", "b", "c"], "must be integers"),
        ([1, 2], "one label"),
    ],
)
def test_write_ucr_bad_labels(tmp_path, labels, match):
    with pytest.raises(ValueError, match=match):
        write_ucr(tmp_path / "f", np.ones((3, 4)), labels)
    assert not (tmp_path / "f").exists()


def test_write_ucr_rejects_multivariate(tmp_path):
    with pytest.raises(ValueError, match="one value per time point"):
        write_ucr(tmp_path / "f", np.ones((3, 4, 2)))


@pytest.mark.parametrize(
    "text",
    ["1,0.5,2\n2,3,4\n", "1\t0.5\t2\n2\t3\t4\n", "1  0.5 2\n\n2 3   4\n", "1,0.5,2\r\n2,3,4\r\n"],
)
def test_read_ucr_delimiters(tmp_path, text):
    X, labels = read_ucr(write_text(tmp_path / "f", text))
    np.testing.assert_array_equal(X, [[0.5, 2], [3, 4]])
    np.testing.assert_array_equal(labels, [1, 2])


def test_read_ucr_missing_values_are_nan(tmp_path):
    X, _ = read_ucr(write_text(tmp_path / "f", "1,,2,NA\n2,nan,4,5\n"))
    assert np.isnan(X).sum() == 3


def test_read_ucr_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere_TRAIN"):
        read_ucr(tmp_path / "nowhere_TRAIN")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("\n  \n", "empty"),
        ("1,2,3\n1,2,3\n1,2\n", "line 3 has 2 columns but line 1 has 3"),
        ("1,2,3\n1,2,x\n", "'x' at .*line 2, column 3"),
        ("1,2\n2,3\n", "1 time point"),
        ("0.5,2,3\n1,2,3\n", "first column of a UCR file must be the label.*read_table"),
        ("1,2,3\nNA,2,3\n", "line 2 has label 'NA'"),
    ],
)
def test_read_ucr_errors(tmp_path, text, match):
    with pytest.raises(ValueError, match=match):
        read_ucr(write_text(tmp_path / "f", text))


def test_read_reference_simfinal(reference):
    X, labels = read_ucr(reference / "data" / "simfinal" / "simfinal_TRAIN")
    assert X.shape == (120, 100)
    assert len(np.unique(labels)) == 6


def test_read_reference_esc(reference):
    X, labels = read_ucr(reference / "data" / "ESC" / "ESC_TRAIN")
    assert X.shape == (732, 68)
    assert set(labels.tolist()) == {1, 2}
    genes = (reference / "ESC_genes.txt").read_text().split()
    assert len(genes) == len(X)


def test_read_reference_demosim(reference):
    X, labels = read_ucr(reference / "data" / "demosim" / "demosim_TRAIN")
    assert X.shape == (80, 100)
    assert len(np.unique(labels)) == 4


# --------------------------------------------------------------------------- gene-named tables


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.tab", "t.txt", "t.csv.gz", "t.tsv.gz"])
def test_table_round_trip(tmp_path, name):
    X = np.array([[1.5, np.nan, -3e-12], [0.1, 2.0, 1e300]])
    times = [0, 0.5, 2]
    write_table(tmp_path / name, X, genes=["Sox2", "Nanog, iso 2"], times=times, labels=[1, 2])
    table = read_table(tmp_path / name)
    assert isinstance(table, TimeSeriesTable)
    np.testing.assert_array_equal(table.X, X)
    assert table.genes == ["Sox2", "Nanog, iso 2"]
    np.testing.assert_array_equal(table.times, times)
    assert table.time_labels == ["0", "0.5", "2"]
    np.testing.assert_array_equal(table.labels, [1, 2])
    assert table.source == str(tmp_path / name)


def test_table_separator_follows_extension(tmp_path):
    write_table(tmp_path / "a.tsv", np.ones((1, 2)))
    write_table(tmp_path / "a.csv", np.ones((1, 2)))
    assert (tmp_path / "a.tsv").read_text() == "gene\tt0\tt1\ngene_0\t1\t1\n"
    assert (tmp_path / "a.csv").read_text() == "gene,t0,t1\ngene_0,1,1\n"
    write_table(tmp_path / "a.tsv.gz", np.ones((1, 2)))
    with gzip.open(tmp_path / "a.tsv.gz", "rt") as fh:
        assert fh.read() == "gene\tt0\tt1\ngene_0\t1\t1\n"
    # the gzip header names the file as gunzip -N restores it: a.tsv, not the temporary
    # file written first (before: '.a.tsv.<random>.tmp', a hidden file)
    head = (tmp_path / "a.tsv.gz").read_bytes()
    assert head[3] & 8  # FNAME
    assert head[10 : head.index(b"\0", 10)] == b"a.tsv"


def test_read_table_string_times_labels_anywhere(tmp_path):
    text = "id,t0,t1,Label,t2\ng1,1,2,up,3\ng2,4,NA,down,\n"
    table = read_table(write_text(tmp_path / "x.csv", text))
    assert table.times is None
    assert table.time_labels == ["t0", "t1", "t2"]
    assert table.labels.tolist() == ["up", "down"]
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, np.nan, np.nan]])


def test_read_table_without_label_column(tmp_path):
    table = read_table(write_text(tmp_path / "x.tsv", "gene\t1\t2\na\t3\t4\n"))
    assert table.labels is None
    np.testing.assert_array_equal(table.times, [1, 2])
    table = read_table(write_text(tmp_path / "y.csv", "g,label,1\na,3,4\n"), label_column=None)
    assert table.X.shape == (1, 2)


def test_read_table_errors(tmp_path):
    with pytest.raises(ValueError, match="gene 'b' \\(line 3\\), column '2'"):
        read_table(write_text(tmp_path / "a.csv", "gene,1,2\na,1,2\nb,1,high\n"))
    with pytest.raises(ValueError, match="no genes"):
        read_table(write_text(tmp_path / "b.csv", "gene,1,2\n"))
    with pytest.raises(ValueError, match="line 2 has 2 columns"):
        read_table(write_text(tmp_path / "c.csv", "gene,1,2\na,1\n"))
    with pytest.raises(ValueError, match="at least 2"):
        read_table(write_text(tmp_path / "d.csv", "gene,label,1\na,1,2\n"))
    with pytest.raises(FileNotFoundError, match="missing.csv"):
        read_table(tmp_path / "missing.csv")


def test_read_table_warns_on_duplicate_genes(tmp_path):
    with pytest.warns(UserWarning, match="duplicate gene names \\['a'\\]"):
        table = read_table(write_text(tmp_path / "a.csv", "gene,1,2\na,1,2\na,3,4\n"))
    assert table.X.shape == (2, 2)


def test_write_table_checks_lengths(tmp_path):
    with pytest.raises(ValueError, match="2 gene names"):
        write_table(tmp_path / "a.csv", np.ones((3, 2)), genes=["a", "b"])


# --------------------------------------------------------------------------- atomic writes


@pytest.mark.parametrize("writer", [write_ucr, write_table])
def test_interrupted_write_keeps_old_file(tmp_path, monkeypatch, writer):
    target = tmp_path / "d.csv"
    target.write_text("old content\n")
    calls = []

    def failing_fmt(value):
        calls.append(value)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return repr(float(value))

    monkeypatch.setattr(data, "_fmt", failing_fmt)
    with pytest.raises(KeyboardInterrupt):
        writer(target, np.ones((10, 10)))
    assert target.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["d.csv"]


# --------------------------------------------------------------------------- datasets


@pytest.fixture
def data_dir(tmp_path):
    rng = np.random.default_rng(1)
    for name, n in [("alpha", 10), ("beta", 6)]:
        write_ucr(tmp_path / name / f"{name}_TRAIN", rng.normal(size=(n, 5)), np.arange(n) % 2)
        write_ucr(tmp_path / name / f"{name}_TEST", rng.normal(size=(3, 5)), [7, 8, 9])
    (tmp_path / "notes").mkdir()
    return tmp_path


def test_load_dataset_by_name_dir_and_file(data_dir):
    table = load_dataset("alpha", data_dir=data_dir)
    assert table.X.shape == (10, 5)
    assert table.genes is None
    assert table.times is None
    assert has_real_labels(table.labels)
    assert load_dataset(data_dir / "beta").X.shape == (6, 5)
    assert load_dataset(data_dir / "beta" / "beta_TEST").X.shape == (3, 5)


def test_load_dataset_gene_table(tmp_path):
    write_table(tmp_path / "expr.tsv", np.ones((2, 3)), genes=["a", "b"], times=[0, 1, 2])
    table = load_dataset(tmp_path / "expr.tsv")
    assert table.genes == ["a", "b"]
    assert table.labels is None


def test_load_dataset_missing_lists_available(data_dir):
    with pytest.raises(FileNotFoundError, match="alpha, beta.*gen_synthetic_data.py gamma"):
        load_dataset("gamma", data_dir=data_dir)


def test_load_dataset_refuses_h5ad(tmp_path):
    with pytest.raises(ValueError, match="rvagene.single_cell"):
        load_dataset(tmp_path / "cells.h5ad")


def test_load_reference_by_name(reference):
    table = load_dataset("simfinal", data_dir=reference / "data")
    assert table.X.shape == (120, 100)


def test_flat_genes_with_replicates_are_those_flat_in_every_replicate():
    # a replicate that does not vary (or is missing) leaves the gene's other replicates a
    # shape to cluster: such a gene is not flat
    t = np.arange(5.0)
    X = np.stack(
        [
            np.stack([t, t**2], axis=1),  # both vary
            np.stack([t, np.full(5, 3.0)], axis=1),  # one replicate flat
            np.stack([t, np.full(5, np.nan)], axis=1),  # one replicate not measured
            np.stack([np.full(5, 2.0), np.full(5, 3.0)], axis=1),  # flat in both
        ]
    )
    np.testing.assert_array_equal(data.flat_genes(X), [False, False, False, True])


@pytest.mark.parametrize(
    ("labels", "expected"),
    [(None, False), ([0, 0, 0], False), (np.array([1, 2]), True), (["up", "up"], False)],
)
def test_has_real_labels(labels, expected):
    assert has_real_labels(labels) is expected


# --------------------------------------------------------------------------- open_data


def test_open_data_like_original(data_dir):
    X_train, X_val, y_train, y_val = open_data(str(data_dir), ratio_train=1, dataset="alpha")
    assert X_train.shape == (10, 5, 1)
    assert X_val.shape == (0, 5, 1)
    assert y_train.shape == (10, 1)
    assert y_train.dtype == np.float64
    X, labels = read_ucr(data_dir / "alpha" / "alpha_TRAIN")
    np.testing.assert_array_equal(X_train[:, :, 0], X)  # file order, as the original

    # below 1 the _TEST rows are appended without their last row: 10 + 2 = 12 rows
    X_train, X_val, y_train, y_val = open_data(data_dir, ratio_train=0.75, dataset="alpha")
    assert (len(X_train), len(X_val)) == (9, 3)
    np.testing.assert_array_equal(y_val[:, 0], [1, 7, 8])


def test_open_data_shuffle_is_seeded(data_dir):
    state = np.random.get_state()[1].copy()  # noqa: NPY002 (checking it stays untouched)
    a = open_data(data_dir, 0.5, "alpha", shuffle=True, random_state=0)
    b = open_data(data_dir, 0.5, "alpha", shuffle=True, random_state=0)
    c = open_data(data_dir, 0.5, "alpha", shuffle=True, random_state=1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # noqa: NPY002
    legacy = open_data(data_dir, 0.5, "alpha", shuffle=True, random_state=np.random.RandomState(0))
    assert legacy[0].shape == (6, 5, 1)  # 10 + 3 - 1 rows, half of them
    all_rows = np.concatenate([a[0], a[1]])[:, :, 0]
    plain = np.concatenate(open_data(data_dir, 0.5, "alpha")[:2])[:, :, 0]
    np.testing.assert_array_equal(np.sort(all_rows, axis=0), np.sort(plain, axis=0))


def test_open_data_reference(reference):
    X_train, X_val, y_train, _ = open_data(reference / "data", ratio_train=1, dataset="simfinal")
    assert X_train.shape == (120, 100, 1)
    assert len(np.unique(y_train)) == 6


# --------------------------------------------------------------------------- properties

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
matrices = st.tuples(st.integers(1, 20), st.integers(2, 30)).flatmap(
    lambda shape: arrays(np.float64, shape, elements=finite)
)


@settings(max_examples=50, deadline=None)
@given(X=matrices, seed=st.integers(0, 2**32 - 1))
def test_property_ucr_round_trip(tmp_path_factory, X, seed):
    labels = np.random.default_rng(seed).integers(-5, 5, size=len(X))
    path = tmp_path_factory.mktemp("ucr") / "p_TRAIN"
    write_ucr(path, X, labels)
    X2, labels2 = read_ucr(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(labels2, labels)


@settings(max_examples=50, deadline=None)
@given(X=matrices, tsv=st.booleans())
def test_property_table_round_trip(tmp_path_factory, X, tsv):
    path = tmp_path_factory.mktemp("table") / ("p.tsv" if tsv else "p.csv")
    times = np.linspace(0, 1, X.shape[1])
    write_table(path, X, times=times, labels=np.arange(len(X)))
    table = read_table(path)
    np.testing.assert_array_equal(table.X, X)
    np.testing.assert_array_equal(table.times, times)
    np.testing.assert_array_equal(table.labels, np.arange(len(X)))


# --------------------------------------------------------------------------- replicates, units


@pytest.mark.parametrize("name", ["r.csv", "r.tsv"])
@pytest.mark.parametrize("times", [[0, 0.5, 2, 24], None, ["0h", "30min", "2h", "1d"]])
def test_replicate_table_round_trip(tmp_path, name, times):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 4, 3))
    X[1, 2, 0] = np.nan
    write_table(tmp_path / name, X, genes=list("abcde"), times=times, labels=[0, 0, 1, 1, 2])
    header = (tmp_path / name).read_text().splitlines()[0].replace("\t", ",")
    first = "t0" if times is None else str(times[0])
    assert header.startswith(f"gene,label,{first}_rep1,{first}_rep2,{first}_rep3,")
    table = read_table(tmp_path / name)
    np.testing.assert_array_equal(table.X, X)
    assert table.replicates == [1, 2, 3]
    assert table.genes == list("abcde")
    np.testing.assert_array_equal(table.labels, [0, 0, 1, 1, 2])
    if times is None:
        assert table.times is None
        assert table.time_labels == ["t0", "t1", "t2", "t3"]
    else:  # "0h, 30min, 2h, 1d": mixed units are converted to hours
        np.testing.assert_array_equal(table.times, [0, 0.5, 2, 24])
    assert load_dataset(tmp_path / name).X.shape == (5, 4, 3)


def test_replicate_columns_in_any_order_and_spelling(tmp_path):
    text = "gene,0h_R2,2h_r2,6h_r2,0h_r1,2h_r1,6h_r1\na,4,5,6,1,2,3\n"
    table = read_table(write_text(tmp_path / "a.csv", text))
    np.testing.assert_array_equal(table.X, [[[1, 4], [2, 5], [3, 6]]])
    np.testing.assert_array_equal(table.times, [0, 2, 6])
    assert table.time_labels == ["0h", "2h", "6h"]
    text = "gene,label,t0_replicate1,t0_replicate2,t1_replicate1,t1_replicate2\na,1,1,2,3,4\n"
    table = read_table(write_text(tmp_path / "b.csv", text))
    assert table.X.shape == (1, 2, 2)
    assert table.times is None
    assert table.labels.tolist() == [1]


@pytest.mark.parametrize("sep", ["-", ".", " "])
def test_replicate_suffix_after_a_dot_dash_or_space(tmp_path, sep):
    """0h-rep1, R's X0h.rep1 (make.names of "0h rep1"): before, read as 4 equal steps."""
    names = [f"{t}{sep}rep{r}" for t in ("0h", "2h") for r in (1, 2)]
    text = "gene\t" + "\t".join(names) + "\na\t1\t2\t3\t4\n"
    table = read_table(write_text(tmp_path / "a.tsv", text))
    np.testing.assert_array_equal(table.X, [[[1, 2], [3, 4]]])
    np.testing.assert_array_equal(table.times, [0, 2])


def test_repeated_time_names_are_replicates(tmp_path):
    table = read_table(write_text(tmp_path / "a.csv", "gene,0,1,2,0,1,2\na,1,2,3,4,5,6\n"))
    np.testing.assert_array_equal(table.X, [[[1, 4], [2, 5], [3, 6]]])
    np.testing.assert_array_equal(table.times, [0, 1, 2])
    assert table.replicates == [1, 2]
    plain = read_table(write_text(tmp_path / "b.csv", "gene,0,1,2\na,1,2,3\n"))
    assert plain.X.shape == (1, 3)
    assert plain.replicates is None


@pytest.mark.parametrize(
    ("header", "match"),
    [
        ("0_rep1,0_rep2,1_rep1", r"time '1' has replicate\(s\) \[1\] but time '0' has \[1, 2\]"),
        ("0_rep1,0_rep3,1_rep1,1_rep2", r"time '1' has replicate\(s\) \[1, 2\] but .* \[1, 3\]"),
        ("0_rep1,0,1_rep1", "column '0' has no replicate suffix, but '0_rep1' has one"),
        (
            "0_rep1,0_r1,1_rep1,1_rep2",
            "columns '0_rep1' and '0_r1' are both time '0', replicate 1",
        ),
        ("0,0,1", r"time '1' has replicate\(s\) \[1\] but time '0' has \[1, 2\]"),
        ("0_rep1,0_rep2", "1 time point"),
    ],
)
def test_inconsistent_replicate_headers(tmp_path, header, match):
    n = header.count(",") + 1
    text = f"gene,{header}\na,{','.join(['1'] * n)}\n"
    with pytest.raises(ValueError, match=match):
        read_table(write_text(tmp_path / "a.csv", text))


def test_time_units(tmp_path):
    def times(header):
        text = f"gene,{header}\na,{','.join(['1'] * (header.count(',') + 1))}\n"
        return read_table(write_text(tmp_path / "u.csv", text)).times

    np.testing.assert_array_equal(times("0h,0.5h,2 h,24h"), [0, 0.5, 2, 24])
    np.testing.assert_array_equal(times("1d,2d,7d"), [1, 2, 7])  # one unit: kept
    np.testing.assert_array_equal(times("0min,30min,2h"), [0, 0.5, 2])  # mixed: hours
    assert times("t0,t1,t2") is None  # steps by name: no warning
    with pytest.warns(UserWarning, match="columns without one time"):
        assert times("5,30min,1h") is None  # a bare number among units is ambiguous
    # ... but a bare 0 is 0 in any unit (review B, item 7)
    np.testing.assert_array_equal(times("0,30min,1h,2h,4h"), [0, 0.5, 1, 2, 4])
    np.testing.assert_array_equal(times("0,1h,2h"), [0, 1, 2])
    with pytest.warns(UserWarning, match="no times found in the header; the 2 columns"):
        assert times("1x,2x") is None  # not a unit


def test_unsorted_time_columns_ask_to_sort_not_for_a_header(tmp_path):
    # The file has a header (a gene column and times with units): the message asks to
    # sort the columns and does not suggest adding a header.
    path = write_text(tmp_path / "u.csv", "gene,0h,2h,1h\na,1,2,3\nb,4,5,6\n")
    with pytest.raises(ValueError, match="not in increasing order: '2h' comes before '1h'") as e:
        read_table(path)
    assert "header" not in str(e.value)
    path = write_text(tmp_path / "n.csv", "gene,0,2,1\na,1,2,3\n")  # plain numbers too
    with pytest.raises(ValueError, match="Put the columns in time order") as e:
        read_table(path)
    assert "header" not in str(e.value)


def test_write_table_replicates_checks_lengths(tmp_path):
    with pytest.raises(ValueError, match="3 times were given"):
        write_table(tmp_path / "a.csv", np.ones((2, 4, 2)), times=[0, 1, 2])
    with pytest.raises(ValueError, match="files hold finite values"):
        write_table(tmp_path / "a.csv", np.full((2, 4, 2), np.inf))
    write_table(tmp_path / "one.csv", np.ones((2, 3, 1)))  # one replicate: a plain table
    assert (tmp_path / "one.csv").read_text().splitlines()[0] == "gene,t0,t1,t2"


# --------------------------------------------------------------------------- no gene column
# A column of numbers never becomes gene names (issue 14, item 1).

VALUES = np.array([[9.544, 1.0, 2.5, 3.0], [4.858, 0.5, 1.5, 2.0], [7.25, 2.0, 0.0, 1.0]])


def _rows(sep=","):
    return "".join(sep.join(f"{v:g}" for v in row) + "\n" for row in VALUES)


@pytest.mark.parametrize(
    ("header", "times", "unit"),
    [
        ("0h,1h,2h,4h", [0, 1, 2, 4], "h"),
        ("0,1,2,4", [0, 1, 2, 4], None),
        ("0,0.5,2.5,4", [0, 0.5, 2.5, 4], None),
        ("t0,t1,t2,t3", None, None),
        ("day0,day1,day2,day3", [0, 1, 2, 3], "d"),  # times inside names
    ],
)
def test_header_of_times_without_gene_column_keeps_every_column(tmp_path, header, times, unit):
    path = write_text(tmp_path / "x.csv", header + "\n" + _rows())
    for table in (read_table(path), load_dataset(path)):
        np.testing.assert_array_equal(table.X, VALUES)  # the first column is data
        assert table.genes == ["gene_1", "gene_2", "gene_3"]
        assert table.time_unit == unit
        if times is None:
            assert table.times is None
        else:
            np.testing.assert_array_equal(table.times, times)


def test_header_of_times_above_named_rows_is_an_error(tmp_path):
    path = write_text(tmp_path / "x.csv", "0h,1h,2h\nSox2,1,2\nNanog,3,4\n")
    with pytest.raises(
        ValueError,
        match=r"starts with the time '0h', but the rows start with "
        r"names such as 'Sox2'\. Add a name for the gene column",
    ):
        read_table(path)


def test_numeric_first_column_under_a_name_is_an_error(tmp_path):
    path = write_text(tmp_path / "x.csv", "gene,1h,2h,4h\n" + _rows())
    with pytest.raises(
        ValueError,
        match=r"the column 'gene' holds numbers \(9\.544, 4\.858, "
        r"7\.25, \.\.\.\), not gene names",
    ):
        read_table(path)


def test_integer_gene_ids_and_label_first(tmp_path):
    table = read_table(write_text(tmp_path / "a.csv", "entrez,0h,1h\n12345,1,2\n678,3,4\n"))
    assert table.genes == ["12345", "678"]
    table = read_table(write_text(tmp_path / "b.csv", "label,0h,1h\n1,1,2\n2,3,4\n"))
    assert table.genes == ["gene_1", "gene_2"]
    np.testing.assert_array_equal(table.labels, [1, 2])
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])


@pytest.mark.parametrize(
    "text",
    [
        ",0h,1h,2h\nSox2,1,2,3\nNanog,4,5,6\n",  # empty first header cell
        '"","0h","1h","2h"\n"Sox2",1,2,3\n"Nanog",4,5,6\n',  # quoted, as R writes
        '"0h","1h","2h"\n"Sox2",1,2,3\n"Nanog",4,5,6\n',  # R's write.table: no cell at all
    ],
)
def test_times_above_gene_rows_without_a_gene_header(tmp_path, text):
    table = load_dataset(write_text(tmp_path / "x.csv", text))
    assert table.genes == ["Sox2", "Nanog"]
    np.testing.assert_array_equal(table.times, [0, 1, 2])
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize("name", ["eu.csv", "eu.txt", "eu"])
def test_semicolons_and_decimal_commas(tmp_path, name):
    text = "gene;label;0h;0,5h;2h\nSox2;1;1,5;2;-0,25\nNanog;2;3;4,75;1e-3\n"
    table = load_dataset(write_text(tmp_path / name, text))
    assert table.genes == ["Sox2", "Nanog"]
    np.testing.assert_array_equal(table.times, [0, 0.5, 2])
    np.testing.assert_array_equal(table.X, [[1.5, 2, -0.25], [3, 4.75, 0.001]])
    np.testing.assert_array_equal(table.labels, [1, 2])


def test_tab_separated_decimal_commas_and_semicolon_without_genes(tmp_path):
    table = read_table(write_text(tmp_path / "x.tsv", "gene\t0\t1\nSox2\t1,5\t2,5\n"))
    np.testing.assert_array_equal(table.X, [[1.5, 2.5]])
    table = read_table(write_text(tmp_path / "y.csv", "0h;1h;2h\n1,5;2;3\n4;5;6,25\n"))
    assert table.genes == ["gene_1", "gene_2"]
    np.testing.assert_array_equal(table.X, [[1.5, 2, 3], [4, 5, 6.25]])


def test_comma_files_keep_commas_in_quoted_names(tmp_path):
    table = read_table(write_text(tmp_path / "x.csv", 'gene,0,1\n"1,5",1,2\n'))
    assert table.genes == ["1,5"]


def test_reference_tests_skip_saying_how_to_get_the_data(tmp_path):
    """RVAGENE_REFERENCE_DIR is honoured; without data the skip says where to get them."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "RVAGENE_REFERENCE_DIR": str(tmp_path), "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         "tests/test_data.py", "-k", "reference and not skip_saying"],
        cwd=root, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    skips = [line for line in proc.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skips) >= 4, proc.stdout
    for line in skips:
        assert "https://github.com/maclean-lab/RVAgene" in line
        assert "RVAGENE_REFERENCE_DIR" in line
        assert "shared" not in line


# ------------------------------------------------------------ times inside sample names


@pytest.mark.parametrize(
    ("header", "times", "unit"),
    [
        ("LPS_30m,LPS_1h,LPS_2h,LPS_6h,LPS_24h", [0.5, 1, 2, 6, 24], "h"),
        ("t0h,t2h,t4h,t8h", [0, 2, 4, 8], "h"),
        ("day0,day3,day7,day14", [0, 3, 7, 14], "d"),
        ("0.5 h,1 h,2 h,4 h", [0.5, 1, 2, 4], "h"),
        ("WT_0min_A,WT_30min_A,WT_60min_A", [0, 30, 60], "min"),
        # read so before c158d84, then steps: "day_1" had become a second time in each name
        ("day_1_2h,day_1_4h,day_1_8h", [2, 4, 8], "h"),
        ("hour 0_d_1,hour 2_d_1,hour 6_d_1", [0, 2, 6], "h"),
        # Before c158d84 these were "no times found in the header", read as steps 0, 1, 2:
        ("Day_1,Day_2,Day_4", [1, 2, 4], "d"),
        ("t0,t30,t120", [0, 30, 120], None),
        ("T0,T30,T120", [0, 30, 120], None),
        ("time_0,time_2,time_8", [0, 2, 8], None),
        ("0 hpi,2 hpi,24 hpi", [0, 2, 24], "h"),
        ("24hpf,48hpf,72hpf", [24, 48, 72], "h"),
        ("t0_rep1,t0_rep2,t30_rep1,t30_rep2,t120_rep1,t120_rep2", [0, 30, 120], None),
        # Before, these were "no times found in the header", read as equal steps:
        ("ZT2,ZT6,ZT10,ZT14,ZT22", [2, 6, 10, 14, 22], "h"),  # circadian: Zeitgeber time
        ("CT0,CT4,CT12", [0, 4, 12], "h"),
        ("E10.5,E11.5,E12.5,E14.5", [10.5, 11.5, 12.5, 14.5], "d"),  # embryonic days
        ("P0,P7,P14,P28", [0, 7, 14, 28], "d"),  # postnatal days
        ("T=0,T=2,T=6", [0, 2, 6], None),
        ("h0,h2,h6", [0, 2, 6], "h"),
        # a cell line (H1, H9 hESC) before the time: read so before "h0" was a time, then
        # "no times found" (two times in each name)
        ("H1_0h,H1_2h,H1_6h,H1_24h", [0, 2, 6, 24], "h"),
        ("H9_day0,H9_day2,H9_day7", [0, 2, 7], "d"),
        ("H9_D0,H9_D2,H9_D7", [0, 2, 7], "d"),
        ("KO_H1_0h,KO_H1_2h,KO_H1_6h", [0, 2, 6], "h"),
    ],
)
def test_times_inside_sample_names(tmp_path, header, times, unit, recwarn):
    n = header.count(",") + 1
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,{','.join(['1'] * n)}\n")
    table = read_table(path)
    np.testing.assert_allclose(table.times, times)
    assert table.time_unit == unit
    assert not [w for w in recwarn if "times" in str(w.message)]


@pytest.mark.parametrize(
    "header", ["P1,P2,P5,P8", "E1,E2,E4", "p1,p2,p3,p4", "R1_S1,R1_S2,R1_S3", "ct1,ct2,ct4"]
)
def test_patients_experiments_and_reads_are_no_times_or_replicates(tmp_path, header):
    """Patients (P1, P5), experiments (E1, E4) are no postnatal or embryonic days (those
    start at P0, or hold a half day: E10.5), controls ct1, ct4 no circadian hours (CT4), and
    R1_S1 (read 1, sample 1) no replicate."""
    n = header.count(",") + 1
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,{','.join(['1'] * n)}\n")
    with pytest.warns(UserWarning, match="no times found"):
        table = read_table(path)
    assert table.times is None
    assert table.replicates is None
    assert table.time_labels == header.split(",")


def test_header_without_times_warns_once(tmp_path):
    path = write_text(tmp_path / "s.csv", "gene,A,B,C,D\na,1,2,3,4\nb,4,3,2,1\n")
    with pytest.warns(UserWarning, match="no times found") as caught:
        table = read_table(path)
    assert table.times is None
    assert len(caught) == 1
    assert str(caught[0].message).endswith(
        "s.csv: no times found in the header; the 4 columns are read as equal steps in file "
        "order. Name the columns by their times (0h, 30min, 2h, or LPS_30m, t2h, day3) for "
        "uneven sampling (in Python, times= of RVAgene.fit also gives them)."
    )


@pytest.mark.parametrize("header", ["H1,H7,H9,H13", "H1_ctrl,H1_kd,H9_ctrl,H9_kd"])
def test_cell_lines_and_histones_named_h_are_no_hours(tmp_path, header):
    """H1, H9 (human ES cells), H1 to H4 (histones): an hour is a lower-case h (h0, h2)."""
    n = header.count(",") + 1
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,{','.join(['1'] * n)}\n")
    with pytest.warns(UserWarning, match="no times found"):
        assert read_table(path).times is None


def test_embryonic_and_postnatal_days_in_one_header_are_named(tmp_path):
    """E18.5 and P0 count from different days: steps, with the fix, not 18.5 then 0."""
    path = write_text(tmp_path / "s.csv", "gene,E14.5,E18.5,P0,P7\na,1,2,3,4\nb,4,3,2,1\n")
    with pytest.warns(UserWarning, match=r"mixes embryonic and postnatal days.*E18.5 as 18.5d"):
        table = read_table(path)
    assert table.times is None


def test_controls_in_a_time_course_header_get_a_clear_message(tmp_path):
    header = "ctrl_A,ctrl_B,LPS_30m,LPS_1h,LPS_2h,LPS_24h"
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,1,1,2,3,4,5\n")
    with pytest.warns(UserWarning, match="mixes time points") as caught:
        table = read_table(path)
    assert table.times is None
    text = str(caught[0].message)
    assert "(LPS_30m, LPS_1h, LPS_2h, ...)" in text
    assert "(ctrl_A, ctrl_B)" in text
    assert "read as equal steps in file order" in text
    assert "Split the file (one condition per file), or in Python give times= to RVAgene.fit." in (
        text
    )


@pytest.mark.parametrize(
    ("header", "times", "unit"),
    [
        ("T0,T2h,T6h,T24h", [0, 2, 6, 24], "h"),
        ("t0,t30min,t2h", [0, 0.5, 2], "h"),
        ("LPS_0,LPS_2h,LPS_6h", [0, 2, 6], "h"),
        ("T0,T30min,T60min", [0, 30, 60], "min"),  # the others' one unit, not hours
    ],
)
def test_time_zero_without_its_unit_is_time_zero(tmp_path, header, times, unit):
    """Before: 'T0' beside 'T2h' was taken for a control, the times lost (equal steps)."""
    n = header.count(",") + 1
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,{','.join(['1'] * n)}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = read_table(path)
    np.testing.assert_array_equal(table.times, times)
    assert table.time_unit == unit
    bad = write_text(tmp_path / "c.csv", "gene,ctrl,T2h,T6h\na,1,2,3\n")  # a control: no 0
    with pytest.warns(UserWarning, match="mixes time points"):
        assert read_table(bad).times is None


def test_two_conditions_in_one_header_get_a_clear_message(tmp_path):
    path = write_text(tmp_path / "s.csv", "gene,LPS_1h,TNF_1h,LPS_2h,TNF_2h\na,1,2,3,4\n")
    with pytest.warns(UserWarning, match=r"several conditions \(LPS_\*, TNF_\*\)"):
        assert read_table(path).times is None


@pytest.mark.parametrize(
    ("header", "shown"),
    [
        ("0h_1,0h_2,1h_1,1h_2,4h_1,4h_2", r"\*_1, \*_2"),  # DESeq2 sample names
        ("0h,0h.1,1h,1h.1,4h,4h.1", r"\*, \*\.1"),  # R's names for repeated columns
        ("0h_A,0h_B,1h_A,1h_B,4h_A,4h_B", r"\*_A, \*_B"),
        (
            "a/0h_1.bam,a/0h_2.bam,a/1h_1.bam,a/1h_2.bam,a/4h_1.bam,a/4h_2.bam",
            r"a/\*_1\.bam, a/\*_2\.bam",
        ),
    ],
)
def test_replicates_named_otherwise_get_the_replicate_naming(tmp_path, header, shown):
    """Before: only 'Split the file (one condition per file)', wrong for replicates."""
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,1,2,3,4,5,6\n")
    with pytest.warns(UserWarning, match=rf"several conditions \({shown}\)") as caught:
        assert read_table(path).times is None
    assert "If they are replicates, name the columns <time>_rep<k> (0h_rep1, 0h_rep2, ...)" in (
        str(caught[0].message)
    )


@pytest.mark.parametrize(
    "header",
    ["rep1_0h,rep2_0h,rep1_1h,rep2_1h,rep1_4h,rep2_4h", "R1.0h,R1.1h,R1.4h,R2.0h,R2.1h,R2.4h"],
)
def test_replicates_named_before_their_time_are_replicates(tmp_path, header):
    """Before: equal steps, with the warning to rename them <time>_rep<k>."""
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,1,2,3,4,5,6\n")
    table = read_table(path)
    np.testing.assert_array_equal(table.times, [0, 1, 4])
    assert table.replicates == [1, 2]
    cell = {name: float(v) for name, v in zip(header.split(","), "123456", strict=True)}
    first = header.split(",")[0]  # replicate 1 at 0 h
    assert table.X[0, 0, 0] == cell[first]


@pytest.mark.parametrize(
    ("header", "times"),
    [
        ("rep1_t0,rep1_t30,rep1_t120,rep2_t0,rep2_t30,rep2_t120", [0, 30, 120]),
        ("rep1_P0,rep1_P7,rep1_P14,rep2_P0,rep2_P7,rep2_P14", [0, 7, 14]),
        ("rep1_t0,rep1_t1,rep1_t2,rep2_t0,rep2_t1,rep2_t2", None),  # steps by name
    ],
)
def test_replicates_before_a_prefixed_time_are_read_as_after_it(tmp_path, header, times):
    """Whether t0, P7 or E13 is a time is decided for the whole header: before, each name
    was judged alone, so rep1_t0 (a step alone) or rep1_P7 (no P0 in it) was no replicate
    beside rep1_t30 or rep1_P0, and the file was refused ('has no replicate suffix') or
    read as 6 steps, where t0_rep1, ... gave replicates."""
    path = write_text(tmp_path / "s.csv", f"gene,{header}\na,1,2,3,4,5,6\nb,6,5,4,3,2,1\n")
    table = read_table(path)
    assert table.replicates == [1, 2]
    assert table.X.shape == (2, 3, 2)
    assert table.times is None if times is None else list(table.times) == times
    np.testing.assert_array_equal(table.X[0, :, 1], [4, 5, 6])  # replicate 2 of gene a


def test_two_conditions_are_not_called_replicates(tmp_path):
    path = write_text(tmp_path / "s.csv", "gene,LPS_1h,TNF_1h,LPS_2h,TNF_2h\na,1,2,3,4\n")
    with pytest.warns(UserWarning, match="several conditions") as caught:
        read_table(path)
    assert "replicates" not in str(caught[0].message)


def test_load_dataset_names_the_gene_without_values(tmp_path):
    path = write_text(tmp_path / "a.csv", "gene,0h,1h,2h\nSox2,1,2,3\nNanog,NA,,NA\n")
    with pytest.raises(ValueError, match=r"gene 'Nanog' \(row 2\) has no observed value"):
        load_dataset(path)


def test_a_gene_of_extreme_values_only_is_named_with_the_cause(tmp_path):
    """Before: "has no observed value (all NaN) ... fill in its values", for 1e200s."""
    text = "gene,0,1,2,3\na,1e200,2e200,3e200,1e200\nb,1,2,3,4\nc,4,3,2,1\n"
    path = write_text(tmp_path / "big.csv", text)
    with (
        pytest.warns(UserWarning, match="extreme value"),
        pytest.raises(ValueError, match=r"gene 'a' \(row 1\) has no value left once its "
                      r"extreme values \(such as 3e\+200\) are read as missing"),
    ):  # fmt: skip
        load_dataset(path)


def test_a_gene_without_a_name_is_named_by_its_row(tmp_path):
    """Before: an empty gene field in the clusters table."""
    path = write_text(tmp_path / "a.csv", "gene,0h,1h,2h\nSox2,1,2,3\n,3,1,2\nKlf4,2,2,1\n")
    with pytest.warns(UserWarning, match=r"1 gene\(s\) without a name, called by their data "
                      r"row: gene_2\. Name them in the file"):  # fmt: skip
        table = read_table(path)
    assert table.genes == ["Sox2", "gene_2", "Klf4"]


def test_a_time_point_without_any_value_is_warned_of():
    from rvagene.data import check_input

    X = np.arange(24.0).reshape(4, 6) % 5
    X[:, 2] = np.nan
    with pytest.warns(UserWarning, match=r"no observed value at 1 time point\(s\), in any "
                      r"gene: X\[:, j\] for j = 2\. The model fills them in"):  # fmt: skip
        check_input(X)


def test_missing_file_message_names_the_path_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError) as err:
        load_dataset("../mydata/nope.csv", data_dir="data")
    text = str(err.value)
    assert text.startswith("No such file: '../mydata/nope.csv'. Check the path")
    assert "_TRAIN" not in text
    assert text.count("nope.csv") == 1


def test_repeated_times_are_refused_by_write_table(tmp_path):
    for times in ([0.0, 0.0, 1.0], ["1", "1.0", "2"]):
        with pytest.raises(ValueError, match="times repeat .*reads a repeated time as replicates"):
            write_table(tmp_path / "r.csv", np.ones((2, 3)), times=times)
    assert not (tmp_path / "r.csv").exists()


def test_a_ucr_file_with_a_missing_value_in_its_first_row(tmp_path):
    X = np.arange(24, dtype=float).reshape(4, 6)
    X[0, 1] = np.nan
    for name in ("n_TRAIN", "n.csv"):
        write_ucr(tmp_path / name, X, [1, 2, 1, 2])
        table = load_dataset(tmp_path / name)
        np.testing.assert_array_equal(table.X, X)
        np.testing.assert_array_equal(table.labels, [1, 2, 1, 2])


# --------------------------------------------------------------------------- review B


@pytest.mark.parametrize(
    "text",
    [
        "gene\t0h\t1h\t2h\t4h\nSox2\t1.5\t2\t3.1\t4\t\nNanog\t2\t3\t1\t0.5\t\n",  # rows only
        "gene\t0h\t1h\t2h\t4h\t\nSox2\t1.5\t2\t3.1\t4\t\nNanog\t2\t3\t1\t0.5\t\n",  # every line
        "gene\t0h\t1h\t2h\t4h\t\t\nSox2\t1.5\t2\t3.1\t4\t\t\nNanog\t2\t3\t1\t0.5\t\t\n",  # two
    ],
)
@pytest.mark.parametrize("sep", ["\t", ","])
def test_a_separator_at_the_end_of_each_line_adds_no_column(tmp_path, text, sep, recwarn):
    path = write_text(tmp_path / ("t.tsv" if sep == "\t" else "t.csv"), text.replace("\t", sep))
    table = load_dataset(path)
    assert table.genes == ["Sox2", "Nanog"]
    assert table.time_labels == ["0h", "1h", "2h", "4h"]
    np.testing.assert_array_equal(table.times, [0, 1, 2, 4])
    np.testing.assert_array_equal(table.X, [[1.5, 2, 3.1, 4], [2, 3, 1, 0.5]])
    assert not recwarn.list


def test_a_short_gene_header_is_not_read_as_r_format(tmp_path):
    path = write_text(tmp_path / "t.csv", "gene,0h,1h\nSox2,1,2,3\nNanog,4,5,6\n")
    with pytest.raises(ValueError, match="line 2 has 4 columns but line 1 has 3"):
        read_table(path)


def test_an_empty_last_time_point_is_kept_under_its_header(tmp_path):
    table = read_table(write_text(tmp_path / "t.csv", "gene,0h,1h,2h\nSox2,1,2,\nNanog,4,5,\n"))
    assert table.time_labels == ["0h", "1h", "2h"]
    assert np.isnan(table.X[:, 2]).all()


def test_a_ucr_file_named_csv_whose_first_gene_rises(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(5, 2, size=(12, 6)).round(3)
    X[0] = [1.5, 2.0, 2.5, 3.0, 4.0, 8.775]  # above its label and rising
    labels = [1, 2, 3] * 4
    write_ucr(tmp_path / "u.csv", X, labels)
    table = load_dataset(tmp_path / "u.csv")
    assert table.genes is None
    np.testing.assert_array_equal(table.X, X)
    np.testing.assert_array_equal(table.labels, labels)


@pytest.mark.parametrize("header", ["0,1,2,4,8", "0,0.5,1,2,4", "1,2,3,4,5"])
@pytest.mark.parametrize(
    "row",
    [
        lambda i: f"{i % 2},{i + 1},{i + 2},{i},{i * 3}",  # counts: every column integers
        lambda i: f"{i * 3},{i + 0.5},{i + 1.5},{i},{i * 2.5}",  # many distinct first values
        # fold changes against the first time: log (all 0) or ratios (all 1), then floats
        lambda i: f"0,{i / 7 - 0.5:.3f},{0.3 - i / 9:.3f},{i / 5:.3f},{-i / 3:.3f}",
        lambda i: f"1,{1 + i / 7:.3f},{0.8 + i / 9:.3f},{1.2 - i / 5:.3f},{0.9 + i / 3:.3f}",
        # a few integers first, as labels would be, under round times: times win
        lambda i: f"{i % 3},{i / 7 - 0.5:.3f},{0.3 - i / 9:.3f},{i / 5:.3f},{-i / 3:.3f}",
    ],
)
def test_a_header_of_times_over_integer_first_values_stays_a_header(tmp_path, header, row):
    rows = "".join(row(i) + "\n" for i in range(8))
    table = load_dataset(write_text(tmp_path / "h.csv", header + "\n" + rows))
    assert table.time_labels == header.split(",")
    assert table.X.shape == (8, 5)
    assert table.times is not None
    assert table.labels is None


@pytest.mark.parametrize(
    ("sep", "names"),
    [("\t", ["Gene0", "Gene1", "Gene2"]), ("\t", ["1000", "1001", "1002"]),
     (",", ["1000", "1001", "1002"]), (" ", ["Gene0", "Gene1", "Gene2"])],
)  # fmt: skip
def test_load_dataset_reads_r_tables_with_a_short_header_of_times(tmp_path, sep, names):
    # R's write.table(quote=FALSE): no header cell above the row names
    X = [[0.346, 0.822, 0.33, -1.303, 0.905], [0.446, -0.537, 0.581, 0.365, 0.294],
         [0.028, 0.547, -0.736, -0.163, -0.482]]  # fmt: skip
    lines = [sep.join(["0", "1", "2", "4", "8"])]
    lines += [sep.join([g, *map(str, x)]) for g, x in zip(names, X, strict=True)]
    table = load_dataset(write_text(tmp_path / "r.txt", "\n".join(lines) + "\n"))
    assert table.genes == names
    np.testing.assert_array_equal(table.times, [0, 1, 2, 4, 8])
    np.testing.assert_array_equal(table.X, X)


def test_a_bare_zero_among_times_with_units(tmp_path):
    table = read_table(write_text(tmp_path / "z.csv", "gene,0,30min,1h,2h,4h\na,1,2,3,4,5\n"))
    np.testing.assert_array_equal(table.times, [0, 0.5, 1, 2, 4])
    assert table.time_unit == "h"
    table = read_table(write_text(tmp_path / "z.csv", "gene,0,1d,2d\na,1,2,3\n"))
    np.testing.assert_array_equal(table.times, [0, 1, 2])
    assert table.time_unit == "d"


def test_comment_lines_excel_missing_markers_and_gzip(tmp_path):
    import gzip

    text = "# exported by qPCR tool\ngene,0h,1h,2h\n# more\nSox2,#N/A,2,3\nNanog,4,-,6\n"
    expected = [[np.nan, 2, 3], [4, np.nan, 6]]
    table = load_dataset(write_text(tmp_path / "c.csv", text))
    np.testing.assert_array_equal(table.X, expected)
    with gzip.open(tmp_path / "c.csv.gz", "wt", encoding="utf-8") as fh:
        fh.write(text)
    table = load_dataset(tmp_path / "c.csv.gz")
    np.testing.assert_array_equal(table.X, expected)
    with gzip.open(tmp_path / "c.tsv.gz", "wt", encoding="utf-8") as fh:
        fh.write(text.replace(",", "\t"))
    np.testing.assert_array_equal(load_dataset(tmp_path / "c.tsv.gz").X, expected)
    write_text(tmp_path / "bad.csv.gz", "gene,0h\n")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        load_dataset(tmp_path / "bad.csv.gz")


def test_empty_or_na_labels_are_unlabelled(tmp_path):
    text = "gene,label,0h,1h\na,1,1,2\nb,,3,4\nc,NA,5,6\nd,2,7,8\n"
    table = read_table(write_text(tmp_path / "n.csv", text))
    np.testing.assert_array_equal(table.labels, [1, np.nan, np.nan, 2])
    assert data.labelled(table.labels).tolist() == [True, False, False, True]
    table = read_table(write_text(tmp_path / "s.csv", text.replace(",1,1", ",x,1")))
    assert table.labels.tolist() == ["x", "", "", "2"]
    assert not has_real_labels(["x", "", ""])
    assert read_table(write_text(tmp_path / "e.csv", "gene,label,0h,1h\na,,1,2\n")).labels is None


_GENES = "Sox2\t1\t2\t3\nNanog\t2\t3\t1\nPou5f1\t3\t1\t2\n"


@pytest.mark.parametrize(
    "text",
    [
        "#gene\t0h\t1h\t2h\n" + _GENES,
        "# exported by qPCR tool\n#gene\t0h\t1h\t2h\n" + _GENES,
        "#\t0h\t1h\t2h\n" + _GENES,  # no gene-column name
        "#name\t0\t1\t2\n" + _GENES,  # plain times
        "#Gene 0h 1h 2h\n" + _GENES.replace("\t", " "),  # whitespace
    ],
)
def test_a_header_starting_with_a_hash_is_the_header(tmp_path, text, recwarn):
    files = [("h.tsv", "\t"), ("h.csv", ",")] if "\t" in text else [("h.txt", " ")]
    for name, sep in files:
        table = load_dataset(write_text(tmp_path / name, text.replace("\t", sep)))
        assert table.genes == ["Sox2", "Nanog", "Pou5f1"]
        np.testing.assert_array_equal(table.times, [0, 1, 2])
        np.testing.assert_array_equal(table.X, [[1, 2, 3], [2, 3, 1], [3, 1, 2]])
    assert not recwarn.list


def test_a_comment_line_as_wide_as_the_data_is_skipped_with_a_warning(tmp_path, recwarn):
    # not a header ('Ctrl, A, B' are no times): skipped, but the data's width makes it suspect
    text = "#sample,Ctrl,A,B\ngene,0h,1h,2h\nSox2,1,2,3\n"
    read_table(write_text(tmp_path / "ok.csv", text))  # the header follows: no warning
    text = "gene,0h,1h,2h\nSox2,1,2,3\n#Nanog,2,3,1\nOct4,3,1,2\n"  # a gene left out
    assert read_table(write_text(tmp_path / "out.csv", text)).genes == ["Sox2", "Oct4"]
    assert not recwarn.list
    text = "#sample,Ctrl,A,B\nSox2,1,2,3\nNanog,2,3,1\n"
    with pytest.warns(UserWarning, match=r"line 1 \('#sample,Ctrl,A,B'\) starts with '#'"):
        read_table(write_text(tmp_path / "w.csv", text))


def test_a_dash_is_a_label_but_missing_in_data_cells(tmp_path):
    text = "gene,label,0h,1h,2h\na,+,1,2,3\nb,-,3,-,1\nc,+,1,2,4\nd,-,4,2,1\ne,NA,1,1,2\n"
    table = read_table(write_text(tmp_path / "pm.csv", text))
    assert table.labels.tolist() == ["+", "-", "+", "-", ""]
    assert np.isnan(table.X[1, 1])  # '-' in a data cell stays missing
    table = read_table(write_text(tmp_path / "n.csv", text.replace(",+,", ",1,")))
    assert table.labels.tolist() == ["1", "-", "1", "-", ""]  # not 1, NaN, 1, NaN
    assert np.isnan(data._read_labels(["1", "#N/A", "null", "n/a", "nan"])[1:]).all()
    # a --labels file alike
    from rvagene._train_and_gen import _file_labels

    path = write_text(tmp_path / "l.csv", "gene,label\na,+\nb,-\nc,\n")
    assert _file_labels(path, ["a", "b", "c"]).tolist() == ["+", "-", ""]


@pytest.mark.parametrize(
    ("header", "times"),
    [("X0,X2,X4,X8", [0, 2, 4, 8]), ("X0h,X30min,X2h,X1d", [0, 0.5, 2, 24]),
     ("X0.5,X1,X1.5,X3", [0.5, 1, 1.5, 3])],
)  # fmt: skip
def test_r_check_names_headers_keep_their_times(tmp_path, header, times):
    """R's read.table writes X0, X0.5, X2h for columns named 0, 0.5, 2h."""
    rows = "".join(f"g{i},{i},{i + 1},{i * 2},{i - 1}\n" for i in range(3))
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = read_table(write_text(tmp_path / "r.csv", f"gene,{header}\n{rows}"))
    assert not [w for w in record if "no times found" in str(w.message)]
    np.testing.assert_allclose(table.times, times)


def test_x_names_that_are_not_all_r_names_are_not_times(tmp_path):
    rows = "".join(f"g{i},{i},{i + 1},{i * 2}\n" for i in range(3))
    with pytest.warns(UserWarning, match="no times found in the header"):
        table = read_table(write_text(tmp_path / "x.csv", f"gene,X0,X2,other\n{rows}"))
    assert table.times is None


def test_a_group_column_read_as_a_time_is_named_in_the_warning(tmp_path):
    text = "gene,0h,2h,4h,Cluster\nSox2,1,2,3,1\nNanog,4,5,6,2\nKlf4,3,2,1,1\n"
    with pytest.warns(UserWarning, match=r"If 'Cluster' holds each gene's group, name that "):
        read_table(write_text(tmp_path / "c.csv", text))


def test_keep_genes_takes_each_named_genes_own_row_and_label(tmp_path):
    X = np.arange(5 * 4 * 2, dtype=float).reshape(5, 4, 2)
    table = TimeSeriesTable(X, ["a", "b", "c", "d", "e"], None, None, np.arange(5), "t.csv")
    with pytest.warns(UserWarning, match="1 of 4 requested genes are not in t.csv"):
        kept = keep_genes(table, ["d", "a", "zz", "d", "b"])
    assert kept.genes == ["d", "a", "b"]
    np.testing.assert_array_equal(kept.X, X[[3, 0, 1]])
    np.testing.assert_array_equal(kept.labels, [3, 0, 1])
    path = tmp_path / "genes.txt"
    path.write_text("# DE genes\nd, a\tb\n\n")
    assert read_gene_list(path) == ["d", "a", "b"]


# ------------------------------------------------------------ formats exported by other tools

SERIES_MATRIX = (
    '!Series_title\t"A time course"\n'
    '!Sample_title\t"ES_0h_rep1"\t"ES_0h_rep2"\t"ES_4h_rep1"\t"ES_4h_rep2"\n'
    '!Sample_geo_accession\t"GSM1"\t"GSM2"\t"GSM3"\t"GSM4"\n'
    "!series_matrix_table_begin\n"
    '"ID_REF"\t"GSM1"\t"GSM2"\t"GSM3"\t"GSM4"\n'
    '"1007_s_at"\t1.5\t2.5\t3.5\tnull\n'
    '"1053_at"\t4\t5\t6\t7\n'
    "!series_matrix_table_end\n"
)


@pytest.mark.parametrize("name", ["GSE1_series_matrix.txt", "GSE1_series_matrix.txt.gz"])
def test_a_geo_series_matrix_is_read_with_its_sample_titles(tmp_path, name):
    """Before: 'line 2 has 5 columns but line 1 has 2', for GEO's own table format."""
    path = tmp_path / name
    with (gzip.open if name.endswith(".gz") else open)(path, "wt") as fh:
        fh.write(SERIES_MATRIX)
    table = load_dataset(path)
    assert table.genes == ["1007_s_at", "1053_at"]
    assert table.time_labels == ["ES_0h", "ES_4h"]
    np.testing.assert_array_equal(table.times, [0, 4])
    np.testing.assert_array_equal(table.X, [[[1.5, 2.5], [3.5, np.nan]], [[4, 5], [6, 7]]])


def test_a_geo_series_matrix_without_titles_keeps_its_accessions(tmp_path):
    text = SERIES_MATRIX.replace("!Sample_title", "!Sample_source_name_ch1")
    path = write_text(tmp_path / "GSE1_series_matrix.txt", text)
    with pytest.warns(UserWarning, match="no times found"):
        table = read_table(path)
    assert table.time_labels == ["GSM1", "GSM2", "GSM3", "GSM4"]
    assert table.X.shape == (2, 4)


@pytest.mark.parametrize(
    ("header", "rows", "left_out"),
    [
        (  # gene IDs with symbols and descriptions, as annotated exports have them
            "gene_id\tsymbol\tdescription\t0h\t2h\t6h",
            ["ENSG1\tSOX2\tSRY-box 2\t1\t2\t3", "ENSG2\tNANOG\tNanog homeobox\t4\t5\t6.5"],
            "'symbol', 'description'",
        ),
        (  # numbers under an annotation's name: Entrez IDs
            "symbol\tentrez\t0h\t2h\t6h",
            ["SOX2\t6657\t1\t2\t3", "NANOG\t79923\t4\t5\t6.5"],
            "'entrez'",
        ),
        (  # featureCounts
            "Geneid\tChr\tStart\tEnd\tStrand\tLength\t0h.bam\t2h.bam\t6h.bam",
            [
                "ENSG1\tchr3\t100\t200\t+\t101\t1\t2\t3",
                "ENSG2\tchr1;chr1\t5;9\t7;12\t-;-\t6\t4\t5\t6.5",
            ],
            "'Chr', 'Start', 'End', 'Strand', 'Length'",
        ),
    ],
)
def test_annotation_columns_beside_the_gene_column_are_left_out(tmp_path, header, rows, left_out):
    """Before: 'Non-numeric value 'SOX2' ... Fix or remove it', or numbers such as Entrez IDs
    and gene lengths read as time points (with a warning about controls)."""
    path = write_text(tmp_path / "a.tsv", "\n".join([header, *rows]) + "\n")
    with pytest.warns(UserWarning, match=f"column\\(s\\) {left_out} describe the genes") as caught:
        table = load_dataset(path)
    assert "named by the first column" in str(caught[0].message)
    assert len(table.genes) == 2
    assert table.genes[0] in {"ENSG1", "SOX2"}
    np.testing.assert_array_equal(table.times, [0, 2, 6])
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6.5]])


@pytest.mark.parametrize(
    "header", ["gene,start,mid,end", "gene,length,width,depth", "gene,name,b,c"]
)
def test_numbers_under_an_annotations_name_stay_values_without_times(tmp_path, header):
    """Before this fix, a column named as an annotation (start, length) right after the
    gene column was left out even where no column has a time, so 'gene,start,mid,end', read
    as three steps before annotation columns were left out, lost its first time point."""
    path = write_text(tmp_path / "a.csv", f"{header}\nA,1,2,3\nB,4,5,6\n")
    with pytest.warns(UserWarning, match="no times found") as caught:
        table = read_table(path)
    assert not [w for w in caught if "describe the genes" in str(w.message)]
    assert table.time_labels == header.split(",")[1:]
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    ("header", "rows", "left_out"),
    [
        (  # DESeq2's results after the values
            "gene,0h,2h,6h,log2FoldChange,padj",
            ["Sox2,1,2,3,1.58,0.001", "Nanog,4,5,6.5,0.70,NA"],
            "'log2FoldChange', 'padj'",
        ),
        (  # limma's topTable after the values: its t and B among the others
            "gene\t0h\t2h\t6h\tlogFC\tAveExpr\tt\tP.Value\tadj.P.Val\tB",
            [
                "Sox2\t1\t2\t3\t1.58\t2\t5.1\t1e-4\t0.01\t2.2",
                "Nanog\t4\t5\t6.5\t0.7\t5\t1\t0.3\t0.5\t-4",
            ],
            "'logFC', 'AveExpr', 't', 'P.Value', 'adj.P.Val', 'B'",
        ),
        (  # DESeq2's results before the values, after a column of symbols
            "gene,symbol,baseMean,log2FoldChange,lfcSE,stat,pvalue,padj,0h,2h,6h",
            [
                "ENSG1,SOX2,2,1.6,0.2,8,1e-5,1e-4,1,2,3",
                "ENSG2,NANOG,5,0.7,0.3,2,0.02,0.05,4,5,6.5",
            ],
            "'baseMean', 'log2FoldChange', 'lfcSE', 'stat', 'pvalue', 'padj'",
        ),
        (  # a row's summaries, and a column of words (an edgeR-style call)
            "gene,0h,2h,6h,mean,sd,significant",
            ["Sox2,1,2,3,2,1,TRUE", "Nanog,4,5,6.5,5.2,1.3,FALSE"],
            "'mean', 'sd', 'significant'",
        ),
    ],
)
def test_statistics_beside_the_time_points_are_left_out(tmp_path, header, rows, left_out):
    """Before: p-values and fold changes were read as time points, the times lost ('the
    header mixes time points ... with columns without one time'), or 'Non-numeric value'."""
    path = write_text(tmp_path / "a.txt", "\n".join([header, *rows]) + "\n")
    with pytest.warns(UserWarning, match=f"column\\(s\\) {re.escape(left_out)} hold statistics"):
        table = read_table(path)
    assert table.genes[0] in {"ENSG1", "Sox2"}
    np.testing.assert_array_equal(table.times, [0, 2, 6])
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6.5]])


@pytest.mark.parametrize("header", ["gene,a,b,t", "gene,0h,B", "gene,s1,s2,stat,lr"])
def test_a_weak_statistics_name_alone_or_too_few_values_leave_the_columns_as_they_are(
    tmp_path, header
):
    """limma's 't' or 'B' alone may name a step; and at least 2 time points must remain."""
    n = len(header.split(",")) - 1
    path = write_text(
        tmp_path / "a.csv", f"{header}\nA,{','.join(['1'] * n)}\nB,{','.join(['2'] * n)}\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_table(path)
    assert not [w for w in caught if "hold statistics" in str(w.message)]
    assert table.time_labels == header.split(",")[1:]


@pytest.mark.parametrize(
    "text",
    [
        "time,Sox2,Nanog,Pou5f1\n0,1,2,3\n2,1.5,2.2,3.1\n6,2,2.5,3.3\n",
        "Hours\tSox2\tNanog\n0.5\t1\t2\n1\t1.5\t2.2\n24\t2\t2.5\n",
        ",Sox2,Nanog,Pou5f1\n0h,1,2,3\n2h,1.5,2.2,3.1\n6h,2,2.5,3.3\n",  # pandas' df.to_csv()
        "sample,Sox2,Nanog\nday0,1,2\nday2,1.5,2.2\nday7,2,2.5\n",
    ],
)
def test_a_table_with_time_points_in_rows_is_told_to_be_transposed(tmp_path, text):
    """Before: each time point was read as a gene, the genes as steps, with a warning only
    that the header held no times; the script then clustered the time points."""
    path = write_text(tmp_path / "a.csv", text)
    with pytest.raises(ValueError, match=r"the rows are time points .* Transpose it"):
        read_table(path)


@pytest.mark.parametrize(
    "text",
    [
        "gene,a,b,c\n1,1,2,3\n2,4,5,6\n3,7,8,9\n",  # gene IDs 1, 2, 3 under "gene"
        "time,0h,2h\n0,1,2\n1,4,5\n",  # the header has times: the rows are genes
        "time,a,b\n2,1,2\n1,4,5\n",  # not increasing
        "gene,a,b\nP1,1,2\nP2,4,5\nP3,7,8\n",  # names, not postnatal days
        # the first column is named as genes: its rows are genes whatever their names
        "gene,ctrl,kd,oe\nH1,1,2,3\nH2,4,5,6\nH3,7,8,9\nH4,1,2,3\n",  # histones, not hours
        "gene,ctrl,kd\nD1,1,2\nD2,4,5\nD3,7,8\n",
        "symbol,ctrl,kd\n5S,1,2\n5.8S,4,5\n18S,7,8\n28S,1,2\n",  # rRNAs, not seconds
    ],
)
def test_rows_that_may_be_genes_stay_genes(tmp_path, text):
    table = read_table(write_text(tmp_path / "a.csv", text))
    assert table.genes == [line.split(",")[0] for line in text.splitlines()[1:]]


@pytest.mark.parametrize("cell", ["#DIV/0!", "#VALUE!", "#NUM!", "#REF!", "#NAME?", "#div/0!"])
def test_a_spreadsheet_error_value_is_named_as_one(tmp_path, cell):
    """Before: the generic 'Non-numeric value ... Fix or remove it', no word of its cause."""
    path = write_text(tmp_path / "a.csv", f"gene,0h,2h,6h\nSox2,1,{cell},3\nNanog,4,5,6\n")
    with pytest.raises(ValueError, match=r"column '2h'.*spreadsheet's error value.*empty the"):
        read_table(path)


def test_a_word_in_a_time_column_is_still_an_error(tmp_path):
    path = write_text(tmp_path / "a.csv", "gene,0h,2h,6h\nSox2,1,abc,3\nNanog,4,5,6\n")
    with pytest.raises(ValueError, match=r"Non-numeric value 'abc' at .*column '2h'"):
        read_table(path)


def test_step_names_stay_steps(tmp_path, recwarn):
    path = write_text(tmp_path / "s.csv", "gene,t0,t1,t2\na,1,2,3\n")
    assert read_table(path).times is None
    assert not recwarn.list


def test_a_gene_list_written_by_r_loses_its_quotes(tmp_path):
    """R's write.csv(data.frame(gene = de), row.names = FALSE) and write.table(de) quote
    each name. Before: '"Sox2"' with its quotes, so no gene matched: 'None of the 3
    requested genes ("gene", "Sox2", "Nanog") is in ...', the names shown as in the data."""
    path = tmp_path / "de.csv"
    path.write_text('"gene"\n"Sox2"\n"Nanog"\n')
    assert read_gene_list(path) == ["gene", "Sox2", "Nanog"]
    path.write_text('"x"\n"1" "Sox2"\n"2" "Nanog"\n')  # write.table's row names too
    assert read_gene_list(path) == ["x", "1", "Sox2", "2", "Nanog"]
    path.write_text("'Klf4'\n\"\"\n3'UTR\n")  # an empty quoted cell is no name
    assert read_gene_list(path) == ["Klf4", "3'UTR"]


def test_a_gene_list_saved_by_excel_keeps_its_first_gene(tmp_path):
    """Before: the byte-order mark stayed in the first name ('\\ufeffSox2'), so --genes
    skipped Sox2 with a warning that showed it as 'Sox2'."""
    path = tmp_path / "genes.txt"
    path.write_bytes(b"\xef\xbb\xbfSox2\r\nNanog\r\n")
    assert read_gene_list(path) == ["Sox2", "Nanog"]


def test_a_thousands_point_among_decimal_commas_is_an_error(tmp_path):
    """Before: '1.234' (1234, as a European export groups thousands) was read as 1.234."""
    text = "gene;0h;2h;4h\r\nSox2;1.234;2,5;3\r\nNanog;4;5,75;6\r\n"
    path = write_text(tmp_path / "eu.csv", text)
    with pytest.raises(ValueError, match=r"line 2 has '1\.234', with a point, .*such as '2,5'"):
        load_dataset(path)
    # a point that groups no thousands is a decimal point (before: "'1.5' may be 15")
    path = write_text(tmp_path / "mixed.csv", text.replace("1.234", "1.5"))
    assert load_dataset(path).X[0, 0] == 1.5


def test_a_thousands_comma_among_decimal_points_is_an_error(tmp_path):
    """The mirror of the case above: a tab-separated export with decimal points and
    thousands commas ('1,234' for 1234, as English Excel writes a formatted cell) read the
    comma as a decimal comma, 1.234, without a word; a lone '2,5' among points still reads."""
    text = "gene\t0h\t2h\t4h\nSox2\t1,234\t0.5\t2.25\nNanog\t3.5\t4.75\t1.5\n"
    path = write_text(tmp_path / "en.tsv", text)
    with pytest.raises(ValueError, match=r"line 2 has '1,234', with a comma, .*such as '0\.5'"):
        load_dataset(path)
    path = write_text(tmp_path / "mixed.tsv", text.replace("1,234", "2,5"))
    assert load_dataset(path).X[0, 0] == 2.5


def test_decimal_commas_alone_are_read(tmp_path):
    path = write_text(tmp_path / "eu.csv", "gene;0h;0,5h;4h\nSox2;1,25;2,5;3\nNanog;4;5,75;6\n")
    table = load_dataset(path)
    np.testing.assert_array_equal(table.times, [0, 0.5, 4])
    np.testing.assert_array_equal(table.X, [[1.25, 2.5, 3], [4, 5.75, 6]])


def test_excel_unicode_text_utf16_is_read(tmp_path):
    """Before: 'is not UTF-8 text (byte 0 cannot be decoded); it may be a binary file', for
    Excel's 'Unicode Text' export (UTF-16 with a byte-order mark, tab-separated)."""
    path = tmp_path / "genes.txt"
    path.write_bytes("gene\t0h\t2h\t6h\r\nSox2\t1.5\t2\t3\r\nNanog\t4\tNA\t6\r\n".encode("utf-16"))
    table = load_dataset(path)
    assert table.genes == ["Sox2", "Nanog"]
    np.testing.assert_array_equal(table.times, [0, 2, 6])
    np.testing.assert_array_equal(table.X, [[1.5, 2, 3], [4, np.nan, 6]])


def test_gene_names_that_excel_made_dates_are_named(tmp_path):
    """Before: 2-Sep and 1-Mar (SEPT2 and MARCH1 once opened in Excel) were read without a
    word; symbols are kept as written, never read as dates or numbers."""
    text = "gene,0h,2h,6h\nSEPT2,1,2,3\n2-Sep,1,2,4\n1-Mar,1,3,3\nMARCH1,2,2,3\n001,4,5,6\n"
    path = write_text(tmp_path / "a.csv", text)
    with pytest.warns(UserWarning, match=r"2 gene name\(s\) look like dates \(2-Sep, 1-Mar\)"):
        table = read_table(path)
    assert table.genes == ["SEPT2", "2-Sep", "1-Mar", "MARCH1", "001"]


def test_worm_genes_are_no_dates(tmp_path, recwarn):
    path = write_text(tmp_path / "a.csv", "gene,0h,2h,6h\nsep-1,1,2,3\noct-1,1,2,4\n")
    assert read_table(path).genes == ["sep-1", "oct-1"]
    assert not recwarn.list


@pytest.mark.parametrize(
    ("name", "date"),
    [("4-Novel", False), ("2-Marker", False), ("1-Decoy", False), ("2-Sept", True),
     ("1-March", True), ("3-December", True), ("1.Dez", True), ("1-Mai", True)],
)  # fmt: skip
def test_only_a_months_name_after_the_day_looks_like_a_date(tmp_path, name, date):
    """Before, any word starting with a month's three letters did ('4-Novel', '2-Marker')."""
    path = write_text(tmp_path / "a.csv", f"gene,0h,2h,6h\n{name},1,2,3\nSox2,1,2,4\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_table(path).genes == [name, "Sox2"]
    assert any("look like dates" in str(w.message) for w in caught) == date


def test_r_write_table_output_loses_its_quotes(tmp_path):
    """Before: R's write.table (spaces, quoted names, no name for the row names) gave genes
    named '"Sox2"', quotes included, which no gene list matched."""
    text = '"Day 1" "Day 2" "Day 4"\n"Sox2" 1 2 3\n"Nanog"  4\t5 6.5\n'
    table = load_dataset(write_text(tmp_path / "r.txt", text))
    assert table.genes == ["Sox2", "Nanog"]
    assert table.time_labels == ["Day 1", "Day 2", "Day 4"]
    np.testing.assert_array_equal(table.times, [1, 2, 4])
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6.5]])


def test_a_gene_column_last_is_asked_to_come_first(tmp_path):
    """Before: "Non-numeric value 'Sox2' at ...: gene 'gene_1' (line 2), column 'gene'. Fix
    or remove it", as if the names were a bad value."""
    path = write_text(tmp_path / "a.csv", "0h,2h,4h,gene\n1,2,3,Sox2\n4,5,6,Nanog\n")
    with pytest.raises(ValueError, match=r"column 'gene' \(column 4\) holds names \(Sox2, Nanog"):
        read_table(path)
    path = write_text(tmp_path / "b.csv", "0h,2h,4h,label\n1,2,3,up\n4,5,6,down\n")
    assert read_table(path).labels.tolist() == ["up", "down"]  # labels may be words


@pytest.mark.parametrize("group", ["group", "cluster"])
def test_a_group_column_last_is_asked_to_be_named_label(tmp_path, group):
    """Before this fix (since cef06e5), a last column of groups under a time-first header was
    told to come first as the gene column ("Put the gene column first"), which would have
    named the genes by their groups; a group column is a label column by another name."""
    path = write_text(tmp_path / "a.csv", f"0h,2h,4h,{group}\n1,2,3,up\n4,5,6,down\n")
    with pytest.raises(ValueError, match="name that column 'label'") as caught:
        read_table(path)
    assert "gene column first" not in str(caught.value)
    assert read_table(path, label_column=group).labels.tolist() == ["up", "down"]

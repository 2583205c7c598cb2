"""Robustness: bad input gives a clear error, missing values, numerical faults, safe files.

One test (or parametrized case) per row of docs/robustness.md. The scripts are run as their
own processes, entering through ``if __name__ == "__main__"``: one real interpreter per
script checks the plain command line, and the other command lines are forked from a
process that has imported torch once (:class:`ScriptRunner`), because a fresh interpreter
spends 2-5 s of CPU importing torch, scikit-learn and matplotlib.
"""

import contextlib
import csv
import json
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from rvagene import Callback, LambdaCallback, RVAgene, load, simulate
from rvagene.data import (
    _MISSING,
    _number,
    check_input,
    extreme_values,
    load_dataset,
    mask_extreme_values,
    read_table,
    read_ucr,
    write_table,
    write_ucr,
)
from rvagene.network import RVAE, rvae_loss

ROOT = Path(__file__).resolve().parents[1]
FAST = dict(hidden_size=8, latent_length=2, n_epochs=2, random_state=0)
TINY = ["--n-epochs", "2", "--hidden-size", "8", "--latent-length", "2", "--quiet"]
NO_GPU = not torch.cuda.is_available()


# --------------------------------------------------------------------------- script runner

_SERVER = textwrap.dedent(
    """
    import json, os, runpy, sys, traceback
    root = sys.argv[1]
    sys.path.insert(0, root)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot, sklearn.cluster, torch  # noqa: the slow imports, done once
    import rvagene, rvagene._cli, rvagene.cluster, rvagene.plotting, rvagene.simulate  # noqa
    print("ready", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:  # the child runs the script as `python <script> <argv>` would
            code = 1
            try:
                os.chdir(job["cwd"])
                for fd, name in ((1, "stdout"), (2, "stderr")):
                    os.dup2(os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
                sys.argv = [job["script"], *job["argv"]]
                try:
                    runpy.run_path(os.path.join(root, job["script"]), run_name="__main__")
                    code = 0
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
                    if not isinstance(exc.code, int | None):
                        print(exc.code, file=sys.stderr)
                except BaseException:
                    traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
    """
)


class ScriptRunner:
    """Run ``python <script> <argv>`` in forked children of one pre-imported interpreter."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def start(self, script, argv, cwd):
        """Start a run; return its pid (call :meth:`wait` next)."""
        self.cwd = Path(cwd)
        job = {
            "script": script,
            "argv": [str(a) for a in argv],
            "cwd": str(cwd),
            "stdout": str(self.cwd / ".stdout"),
            "stderr": str(self.cwd / ".stderr"),
        }
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["pid"]

    def wait(self):
        """Return (exit status, stdout, stderr); a killed run has status -signal."""
        code = json.loads(self.proc.stdout.readline())["code"]
        return code, (self.cwd / ".stdout").read_text(), (self.cwd / ".stderr").read_text()

    def run(self, script, argv, cwd):
        self.start(script, argv, cwd)
        return self.wait()

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


@pytest.fixture(scope="module")
def runner():
    if not hasattr(os, "fork") or sys.platform != "linux":
        pytest.skip("the forking script runner needs Linux")
    r = ScriptRunner()
    yield r
    r.close()


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """A folder with data/toy (24 genes x 12 points, 3 clusters) and problem files."""
    root = tmp_path_factory.mktemp("work")
    X, y = simulate(n_clusters=3, genes_per_cluster=8, sequence_length=12, random_state=0)
    write_ucr(root / "data" / "toy" / "toy_TRAIN", X, y)
    files = {
        "empty.csv": "",
        "ragged.csv": "gene,t0,t1,t2\na,1,2,3\nb,1,2\n",
        "nonnum.csv": "gene,t0,t1\na,1,x\nb,2,3\n",
        "inf.csv": "gene,t0,t1,t2\na,1,inf,2\nb,1,2,3\n",
        "log0.csv": "gene,t0,t1,t2\na,1,-Inf,2\nb,1,2,3\n",
        "one.csv": "gene,t0\na,1\nb,2\n",
        "nolabel_TRAIN": "0.5,1,2\n1.5,2,3\n",
        "noheader.csv": "Sox2,1.5,0.2,3\nNanog,4,5,6\nKlf4,1,2,1\n",
        "allnan.csv": "gene,0h,1h,2h\nSox2,1,2,3\nNanog,NA,,NA\nKlf4,3,2,1\n",
        "unsorted.csv": "gene,0h,2h,1h\nSox2,1,2,3\nNanog,4,5,6\nKlf4,3,2,1\n",
        "latin1.csv": "gene,t0,t1\nB\xe9b\xe9,1,2\n",
        "textlabel_TRAIN": "A,0.5,1.5,2.5\nB,3.5,2.5,1.5\nA,0.5,1.5,2.25\n",
        "textfall_TRAIN": "A,3.5,1.5,0.5\nB,3.5,2.5,1.5\nC,0.5,1.5,2.25\n",
        "hugelabel_TRAIN": "100000000000000000000,1,2,3\n0,3,2,1\n1,1,2,4\n",
        "joined.csv": "gene,0,1,2\nSox2,1,2,3\nKlf4,3,2,1\ngene,0,1,2\nNanog,4,5,6\n",
    }
    for name, text in files.items():
        (root / name).write_bytes(text.encode("latin-1"))
    (root / "adir").mkdir()
    (root / "adir" / "notes.txt").write_text("x")
    # messy.csv: string labels and gene names with commas and quotes, 10 % of values missing
    labels = np.array(["up", "down, late", 'say "hi"'])[y]
    genes = [f"Gene{i}, iso" if i % 5 == 0 else f"G{i}" for i in range(len(X))]
    gaps = np.where(np.random.default_rng(0).random(X.shape) < 0.1, np.nan, X)
    write_table(root / "messy.csv", gaps, genes=genes, times=np.arange(12), labels=labels)
    text = (root / "messy.csv").read_text().replace(",NA", ",", 5)  # some blank cells too
    (root / "messy.csv").write_text(text)
    return root


@pytest.fixture(scope="module")
def messy_run(runner, work):
    """train_and_gen.py on messy.csv, asking for CUDA: (exit status, stdout, stderr)."""
    argv = [*TINY, "messy.csv", "--n-clusters", "3", "--device", "cuda", *_dirs(work, "messy")]
    return runner.run("train_and_gen.py", argv, work)


def _dirs(root, tag):
    return [
        "--data-dir",
        root / "data",
        "--figs-dir",
        root / f"figs_{tag}",
        "--out-dir",
        root / f"out_{tag}",
    ]


def _one_error_line(code, err, status=2):
    assert code == status, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(
        ("error: ", "train_and_gen.py: error: ", "gen_synthetic_data.py: error: ")
    ), err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- 1. bad input
# Each case: the script's argv (data first) and a regex its one stderr line must match.

SCRIPT_ERRORS = {
    "unknown name": (
        ["nosuch"],
        r"No dataset 'nosuch'.*Datasets in .*: toy\..*"
        r"gen_synthetic_data.py nosuch",
    ),
    "missing path": (
        ["missing.csv"],
        r"No such file: 'missing.csv'\. Check the path .*Datasets in .*toy",
    ),
    "missing path in another folder": (
        ["../mydata/nope.csv"],
        r"^error: No such file: '\.\./mydata/nope\.csv'\. Check the path \(relative paths "
        r"start at '[^']+'\)\. Datasets in '[^']*data': toy\.$",  # not data/../mydata/...
    ),
    "gene without values": (
        ["allnan.csv"],
        r"allnan.csv: gene 'Nanog' \(row 2\) has no observed value \(all NaN\)\. Remove "
        r"the gene, or fill in its values",
    ),
    "time columns out of order": (
        ["unsorted.csv"],
        r"unsorted.csv: the time columns are not in increasing order: '2h' comes before "
        r"'1h'\. Put the columns in time order",
    ),
    "folder": (["adir"], r"'adir' is a folder without adir_TRAIN \(it holds: notes.txt\)"),
    "empty file": (["empty.csv"], r"empty.csv is empty\. Give a file with one series per line"),
    "ragged": (["ragged.csv"], r"line 3 has 3 columns but line 1 has 4\. Give every row"),
    "non-numeric": (
        ["nonnum.csv"],
        r"Non-numeric value 'x' at nonnum.csv: gene 'a' \(line 2\), "
        r"column 't1'\. Fix or remove it",
    ),
    "inf": (
        ["inf.csv"],
        r"Infinite value 'inf' at inf.csv: gene 'a' \(line 2\), column 't1'\. "
        r"Replace it with a finite number, or leave the cell empty",
    ),
    "log of 0": (
        ["log0.csv"],
        r"Infinite value '-Inf' at log0.csv: .* most often the log of 0: take the log after "
        r"adding 1, log2\(x \+ 1\)\.",
    ),
    "one time point": (["one.csv"], r"1 time point\(s\) per series; at least 2 are needed"),
    "first column not a label": (
        ["nolabel_TRAIN"],
        r"line 1 has label '0.5', not an integer\. "
        r"The first column of a UCR file must be the label",
    ),
    "no header": (
        ["noheader.csv"],
        r"its time points decrease, so it looks like a gene's "
        r"values\. Add a header line",
    ),
    "not UTF-8": (["latin1.csv"], r"is not UTF-8 text .*saved as UTF-8"),
    # before: the first line (rising values) was a header of times 0.5, 1.5, 2.5, its gene
    # lost; and, where they fell, only "add a header line", which made the labels gene names
    "UCR labels not integers": (
        ["textlabel_TRAIN"],
        r"textlabel_TRAIN: the first line starts with 'A', as line 3 does, so it is a row of "
        r"data, not a header\. .*a UCR file .* needs integer labels",
    ),
    "UCR labels not integers, first gene falling": (
        ["textfall_TRAIN"],
        r"If it is a UCR file \(no header; a label, then the values\), its labels must be "
        r"integers: 'A' is not one",
    ),
    # before: numpy's "invalid value encountered in cast", and a label of -2**63
    "UCR label too large": (
        ["hugelabel_TRAIN"],
        r"hugelabel_TRAIN: line 1 has label '100000000000000000000', too large for a label; "
        r"number the labels 0, 1, \.\.\.",
    ),
    # before: a gene named 'gene' whose values were the times 0, 1, 2
    "header repeated below": (
        ["joined.csv"],
        r"joined.csv: line 4 repeats the header \(gene, 0, 1, 2, \.\.\.\), as when tables "
        r"are joined; remove that line",
    ),
    "unknown optimizer": (
        ["toy", "--optimizer", "adagrad"],
        r"Unknown --optimizer 'adagrad'; "
        r"use one of 'Adam', 'AdamW', 'SGD'",
    ),
    "unknown loss": (["toy", "--loss", "ReconLoss"], r"Unknown --loss 'ReconLoss'; use 'MSELoss'"),
    "unknown block": (["toy", "--block", "RNN"], r"Unknown --block 'RNN'; use 'GRU' or 'LSTM'"),
    "unknown device": (["toy", "--device", "tpu"], r"Unknown --device 'tpu'\. Use 'auto', 'cpu'"),
    "batch_size 0": (["toy", "--batch-size", "0"], r"--batch-size must be an integer >= 1, got 0"),
    "latent_length 0": (["toy", "--latent-length", "0"], r"--latent-length must be an integer"),
    "hidden_size 0": (["toy", "--hidden-size", "0"], r"--hidden-size must be an integer >= 1"),
    "n_epochs 0": (["toy", "--n-epochs", "0"], r"--n-epochs must be an integer >= 1, got 0"),
    "n_clusters > genes": (
        ["toy", "--n-clusters", "50"],
        r"--n-clusters 50 is more than the "
        r"24 genes in toy; use a smaller number",
    ),
    # before: the parameters' Python names, and "X has 12" without a unit
    "sequence length not the data's": (
        ["toy", "--sequence-length", "5"],
        r"--sequence-length 5 was given, but X has 12 time points per series\. Fix",
    ),
    "training diverges": (
        ["toy", "--learning-rate", "1e30", "--no-clip"],
        r"The training loss became non-finite .* Lower --learning-rate, keep --clip,",
    ),
    "n_clusters 0": (
        ["toy", "--n-clusters", "0"],
        r"argument --n-clusters: expected an integer "
        r">= 1, got '0'",
    ),
}


@pytest.mark.parametrize("case", list(SCRIPT_ERRORS))
def test_script_bad_input_one_line_exit_2(runner, work, case):
    argv, pattern = SCRIPT_ERRORS[case]
    # tiny settings first, so that a bad model option given by the case wins
    code, _, err = runner.run("train_and_gen.py", [*TINY, *argv, *_dirs(work, "bad")], work)
    line = _one_error_line(code, err)
    assert re.search(pattern, line), line
    assert not (work / "out_bad").exists()
    assert not (work / "figs_bad").exists()


def test_script_bad_input_fresh_interpreter(work):
    """The plain command lines: `python train_and_gen.py ...`, `python gen_synthetic_data.py`."""
    commands = [
        ["train_and_gen.py", "nosuch", *map(str, _dirs(work, "x"))],
        ["gen_synthetic_data.py", "x", "--length", "1"],
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, str(ROOT / c[0]), *c[1:]],
            cwd=work,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for c in commands
    ]
    results = [(p.communicate(timeout=120)[1], p.returncode)[::-1] for p in procs]
    assert "No dataset 'nosuch'" in _one_error_line(*results[0])
    assert "argument --length: expected an integer >= 2, got '1'" in _one_error_line(*results[1])
    assert not (work / "data" / "x").exists()


@pytest.fixture(scope="module")
def X12():
    return np.random.default_rng(0).standard_normal((12, 6)).cumsum(axis=1)


@pytest.fixture(scope="module")
def fitted(X12):
    return RVAgene(**FAST).fit(X12)


def _with_inf(X):
    X = X.copy()
    X[1, 2] = np.inf
    return X


API_FIT_ERRORS = {
    "empty array": (
        lambda X: np.zeros((0, 5)),
        r"0 sample\(s\) \(shape=\(0, 5\)\) .* X is "
        r"empty: pass at least one series",
    ),
    "empty list": (
        lambda X: [],
        r"^X is empty \(shape \(0,\)\): pass at least one series with at least 2 time points\.$",
    ),
    "ragged": (lambda X: [[1, 2, 3], [1, 2]], r"X is ragged.*Resample or trim"),
    "non-numeric": (lambda X: [["a", "b"], ["c", "d"]], r"non-numeric value \('a'\)\. Convert"),
    "gene names first": (
        lambda X: np.array([["Sox2", 1, 2], ["Nanog", 3, 4]], dtype=object),
        r"non-numeric value \('Sox2'\).*first column holds gene names or labels, leave it out",
    ),
    "inf": (
        _with_inf,
        r"X contains inf .*\(first at index \(1, 2\)\)\. Replace it with a "
        r"finite value, or with NaN",
    ),
    "one time point": (lambda X: np.ones((5, 1)), r"needs at least 2 time points per series"),
    "1-D": (lambda X: np.ones(5), r"X is 1-D.*X.reshape\(1, -1\)"),
    "4-D": (lambda X: np.ones((2, 3, 4, 5)), r"X must be 2-D \(genes, time\) or 3-D"),
    "all-NaN gene": (
        lambda X: np.where(np.arange(12)[:, None] == 3, np.nan, X),
        r"X: row 4 \(X\[3\]\) has no observed value \(all NaN\)\. Remove the gene, or fill "
        r"in its values",
    ),
}


@pytest.mark.parametrize("case", list(API_FIT_ERRORS))
def test_api_bad_data_at_fit(X12, case):
    make, pattern = API_FIT_ERRORS[case]
    with pytest.raises(ValueError, match=pattern):
        RVAgene(**FAST).fit(make(X12))


@pytest.mark.parametrize(
    "case", [c for c in API_FIT_ERRORS if c not in ("one time point", "4-D", "all-NaN gene")]
)
def test_api_bad_data_messages_do_not_depend_on_upstream_wording(X12, case, monkeypatch):
    """Checked up front: scikit-learn and numpy may reword their errors (issue 15, item 5)."""
    import rvagene.model

    def reworded(*args, **kwargs):
        msg = "an upstream message in new words"
        raise ValueError(msg)

    monkeypatch.setattr(rvagene.model, "validate_data", reworded)
    make, pattern = API_FIT_ERRORS[case]
    with pytest.raises(ValueError, match=pattern):
        RVAgene(**FAST).fit(make(X12))


def test_gene_clustering_refuses_a_gene_without_values_as_rvagene_does(X12):
    """Not a flat gene (-1) in silence: a gene without data is an error naming its row."""
    from rvagene import GeneClustering

    make, pattern = API_FIT_ERRORS["all-NaN gene"]
    params = {k: v for k, v in FAST.items() if k != "random_state"}
    gc = GeneClustering(n_clusters=2, n_fits=1, model_params=params)
    with pytest.raises(ValueError, match=pattern):
        gc.fit(make(X12))
    gc.fit(X12)
    with pytest.raises(ValueError, match=pattern):
        gc.predict(make(X12))


def test_a_replicate_not_measured_for_one_gene_is_missing_not_an_error(X12):
    """3-D data: one gene without its third replicate fits, on the gene's own scale."""
    from rvagene import GeneClustering
    from rvagene.data import scale_series

    X3 = np.stack([X12, X12 + 0.05, X12 - 0.05], axis=2)
    X3[4, :, 2] = np.nan
    scaled, centre, scale = scale_series(X3)
    np.testing.assert_allclose(centre[4, 0, 2], np.nanmean(X3[4]))
    np.testing.assert_allclose(scale[4, 0, 2], np.nanstd(X3[4]))
    assert np.isnan(scaled[4, :, 2]).all()
    assert np.isfinite(scaled[4, :, :2]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        params = {k: v for k, v in FAST.items() if k != "random_state"}
        gc = GeneClustering(n_clusters=2, n_fits=1, model_params=params).fit(X3)
        rebuilt = gc.model_.reconstruct(X3)
    assert gc.labels_[4] >= 0
    assert np.isfinite(gc.reconstruction_r2_[4])
    assert np.isfinite(rebuilt).all()  # the replicate comes back filled in
    X3[5] = np.nan  # a gene with no replicate at all
    with pytest.raises(ValueError, match=r"row 6 \(X\[5\]\) has no observed value"):
        RVAgene(**FAST).fit(X3)


def test_api_more_bad_data(X12, fitted):
    with pytest.raises(ValueError, match=r"X is ragged"):
        RVAgene(**FAST).fit([[[1], [2]], [[1]]])  # ragged at the second level
    with pytest.raises(ValueError, match=r"Complex data not supported\. Give real values"):
        RVAgene(**FAST).fit(X12 + 1j)
    with pytest.raises(
        ValueError,
        match=r"X has 0 feature\(s\) \(shape=\(12, 0\)\) while a "
        r"minimum of 1 is required\. X is empty",
    ):
        RVAgene(**FAST).fit(np.empty((12, 0)))
    with pytest.raises(ValueError, match=r"non-numeric value \('high'\)"):
        fitted.transform(np.array([["1", "2", "3", "4", "5", "high"]] * 2))
    with pytest.raises(TypeError, match="must be a string or a real number"):
        RVAgene(**FAST).fit(np.array([[{"a": 1}, 2.0]], dtype=object))
    strings = np.array([[f"{v:.17g}" for v in row] for row in X12])  # numbers as text
    np.testing.assert_array_equal(fitted.transform(strings), fitted.transform(X12))


@pytest.mark.parametrize(
    ("params", "pattern"),
    [
        ({"optimizer": "adagrad"}, "Unknown optimizer 'adagrad'; use one of"),
        ({"loss": "ReconLoss"}, "Unknown loss 'ReconLoss'; use 'MSELoss'"),
        ({"block": "rnn"}, "Unknown block 'rnn'; use 'GRU' or 'LSTM'"),
        ({"device": "tpu"}, "Unknown device 'tpu'. Use 'auto'"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ({"latent_length": -1}, "latent_length must be an integer >= 1, got -1"),
        ({"hidden_size": 2.5}, r"hidden_size must be an integer >= 1, got 2\.5"),
        ({"n_epochs": 0}, "n_epochs must be an integer >= 1, got 0"),
        *(
            ({"print_every": v, "log_file": "x.log"}, "print_every must be an integer number")
            for v in (-1, True, 2.5, "10", None)
        ),
        *(
            ({"max_grad_norm": v}, "max_grad_norm must be a number > 0 when clip=True")
            for v in ("5", None, True)
        ),
        ({"log_file": 3}, r"log_file must be None \(no log\) or a file name"),
        ({"dload": 3}, "dload must be a folder path"),
        ({"dload": None}, "dload must be a folder path"),
        ({"cuda": "yes"}, r"cuda must be True or False \(or 1 or 0\), got 'yes'"),
        ({"clip": "no"}, r"clip must be True or False \(or 1 or 0\), got 'no'"),
        ({"clip": 2}, r"clip must be True or False \(or 1 or 0\), got 2"),
        ({"early_stopping": "no"}, "early_stopping must be True or False"),
        ({"verbose": "x"}, "verbose must be an integer"),
        ({"learning_rate": math.inf}, "learning_rate must be a finite positive number"),
        ({"kl_weight": math.inf}, "kl_weight must be a finite number >= 0, got inf"),
        ({"time_shift": math.inf}, "time_shift must be a finite number of time steps"),
    ],
)
def test_api_bad_parameters_fail_before_work(X12, params, pattern):
    model = RVAgene(**{**FAST, **params})
    with pytest.raises(ValueError, match=pattern):
        model.fit(X12)
    assert not hasattr(model, "module_")


def test_negative_verbose_is_quiet(X12, capsys):
    RVAgene(**FAST, verbose=-1).fit(X12)  # the docstring: progress only when verbose > 0
    assert capsys.readouterr().err == ""
    RVAgene(**FAST, verbose=1).fit(X12)
    assert "RVAgene seed 0: epoch" in capsys.readouterr().err


def test_api_wrong_shapes_after_fit(tmp_path, fitted, X12):
    wrong_t = r"X has 4 features, but RVAgene is expecting 6 features as input"
    for method in (fitted.transform, fitted.reconstruct, fitted.score):
        with pytest.raises(ValueError, match=wrong_t + r" \(time points per series\)\. Resample"):
            method(X12[:, :4])
    with pytest.raises(
        ValueError,
        match="X has 2 values per time point, but this RVAgene was "
        "fitted on 1. Reshape X or refit",
    ):
        fitted.transform(np.ones((3, 6, 2)))
    with pytest.raises(
        ValueError,
        match=r"Z has shape \(2, 3\), but this RVAgene has "
        r"latent_length=2; pass an array of shape \(n_points, 2\)",
    ):
        fitted.decode(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="Z contains NaN or inf"):
        fitted.decode(np.full((1, 2), np.nan))
    # a model loaded from a file says the same
    loaded = load(fitted.save(tmp_path / "m.pt"))
    with pytest.raises(ValueError, match=wrong_t):
        loaded.transform(X12[:, :4])
    with pytest.raises(ValueError, match="X contains inf"):
        loaded.transform(_with_inf(X12))


@pytest.mark.skipif(not NO_GPU, reason="a GPU is present")
def test_cuda_without_gpu_warns_and_uses_cpu(work, messy_run, X12):
    with pytest.warns(
        UserWarning,
        match="CUDA was requested but no CUDA device is available; using the CPU instead",
    ):
        model = RVAgene(cuda=True, **FAST).fit(X12)
    assert model.device_ == "cpu"
    with pytest.warns(UserWarning, match="no CUDA device"):
        assert load(model.save(work / "cuda.pt"), device="cuda").device_ == "cpu"
    code, _, err = messy_run
    assert code == 0, err
    assert err.strip() == (
        "warning: CUDA was requested but no CUDA device is available; using the CPU instead."
    )
    assert load(work / "out_messy" / "messy_model.pt").device_ == "cpu"


def test_string_labels_and_awkward_gene_names(work, messy_run):
    code, out, err = messy_run
    assert code == 0, err
    assert "messy: ARI" in out
    with open(work / "out_messy" / "messy_clusters.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "gene",
        "cluster",
        "confidence",
        "p_cluster_0",
        "p_cluster_1",
        "p_cluster_2",
        "reconstruction_r2",
        "label",
    ]
    assert len(rows) == 25
    assert all(len(r) == 8 for r in rows)
    assert rows[1][0] == "Gene0, iso"
    assert {r[-1] for r in rows[1:]} == {"up", "down, late", 'say "hi"'}


def test_directory_with_train_file_is_a_dataset(work):
    assert load_dataset(work / "data" / "toy").X.shape == (24, 12)


# ------------------------------------------------ values a user would never mean (issue 21)


def _toy_with(value, gene=4, time=5):
    X, y = simulate(n_clusters=3, genes_per_cluster=8, sequence_length=12, random_state=0)
    X = X.copy()
    X[gene, time] = value
    return X, y


def test_script_extreme_value_is_named_and_masked(runner, work):
    """A single 1e30 is named (gene, time point, value), masked, and the run goes on."""
    X, y = _toy_with(1e30)
    genes = [f"g{i}" for i in range(1, len(X) + 1)]
    write_table(work / "extreme.csv", X, genes, [f"{t}h" for t in range(12)], y)
    argv = [*TINY, "extreme.csv", "--n-clusters", "3", *_dirs(work, "extreme")]
    code, out, err = runner.run("train_and_gen.py", argv, work)
    assert code == 0, err
    warned = [line for line in err.splitlines() if "extreme value" in line]
    assert len(warned) == 1, err
    assert warned[0].startswith("warning: ")
    assert "gene 'g5' at time '5h' = 1e+30" in warned[0]
    assert "read as missing (NaN)" in warned[0]


def test_a_semicolon_ucr_file_with_decimal_commas_is_read(tmp_path):
    """A UCR file saved by a European spreadsheet; before: taken for a table, and refused."""
    X = np.array([[0.5, 1.25, -2.0], [3.5, 2.5, 1.5], [0.25, 1.5, 2.75]])
    text = "\n".join(
        ";".join([str(label), *(f"{v:g}".replace(".", ",") for v in row)])
        for label, row in zip([0, 1, 0], X, strict=True)
    )
    for name in ("semi_TRAIN", "semi.csv"):
        (tmp_path / name).write_text(text + "\n")
        table = load_dataset(tmp_path / name)
        np.testing.assert_array_equal(table.X, X)
        np.testing.assert_array_equal(table.labels, [0, 1, 0])


@pytest.mark.parametrize(
    ("first", "warned"),
    [
        ("Sox2", True),
        ("g0", True),
        ("gene", False),
        ("Gene Symbol", False),
        ("ID_REF", False),
        ("Time (h)", False),
    ],
)
def test_a_first_gene_read_as_a_header_of_times_is_warned_about(tmp_path, first, warned):
    """A file without a header whose first gene rises: its values became the times, and the
    gene was lost, without a word (before)."""
    path = tmp_path / "nohead.csv"
    path.write_text(f"{first},0.5,1.2,3.4,4.1\nNanog,4,5,6,2\nKlf4,1,2,1,0.5\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_dataset(path)
    said = [str(w.message) for w in caught if "header of times" in str(w.message)]
    assert len(table.genes) == 2
    if not warned:
        assert not said
        return
    assert len(said) == 1
    assert (
        f"nohead.csv: the first line is read as a header of times (0.5, 1.2, 3.4, 4.1) above a "
        f"gene column named '{first}'; if it is a gene's row, the gene is lost" in said[0]
    )


@pytest.mark.parametrize("first", ["Geneid", "geneid", "GENEID", "genename", "Unnamed: 0", "X"])
def test_a_gene_column_named_in_one_word_is_not_taken_for_a_gene(tmp_path, first):
    """featureCounts' 'Geneid', the reader's own 'geneid'/'genename', pandas' 'Unnamed: 0' and
    R's 'X' name the gene column; before, each was warned about as a gene's name whose row
    may have been read as the header."""
    path = tmp_path / "named.csv"
    path.write_text(f"{first},0.5,1.2,3.4,4.1\nNanog,4,5,6,2\nKlf4,1,2,1,0.5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = load_dataset(path)
    assert table.genes == ["Nanog", "Klf4"]


def test_a_comma_separated_file_named_tsv_is_read(tmp_path):
    """Before: read at tabs only, 'has 0 time point(s) per series' (exit 2)."""
    path = tmp_path / "genes.tsv"
    path.write_text("gene,0h,1h,2h\nSox2,1,2,3\nNanog,4,5,6.5\n")
    table = load_dataset(path)
    np.testing.assert_array_equal(table.X, [[1, 2, 3], [4, 5, 6.5]])
    assert table.genes == ["Sox2", "Nanog"]
    path.write_text("gene\t0h\t1h\nSox2\t1,5\t2\n")  # tabs: a decimal comma stays one
    np.testing.assert_array_equal(load_dataset(path).X, [[1.5, 2]])


def test_load_dataset_masks_extreme_values_with_a_warning(tmp_path):
    X, _ = _toy_with(1e30)
    write_ucr(tmp_path / "x_TRAIN", X)
    with pytest.warns(UserWarning, match=r"gene 'gene_5' at time point 6 = 1e\+30") as caught:
        table = load_dataset(tmp_path / "x_TRAIN")
    assert "read as missing (NaN)" in str(caught[0].message)
    assert np.isnan(table.X[4, 5])
    assert np.isnan(table.X).sum() == 1  # nothing else touched


@pytest.mark.parametrize(
    ("value", "extreme"),
    [(1e30, True), (-1e30, True), (1e39, True), (1e3, False), (50.0, False)],
)
def test_extreme_values_per_gene(value, extreme):
    X, _ = _toy_with(value)
    found = extreme_values(X)
    assert found[4, 5] == extreme
    assert found.sum() == extreme


def test_extreme_values_leave_real_patterns_alone():
    rng = np.random.default_rng(0)
    X = rng.lognormal(3, 1, (20, 10))
    X[0] = 0.0
    X[0, 4] = 5000.0  # a gene off but for one real burst
    X[1] *= 1e4  # a highly expressed gene: its own scale
    X[2, 3] = np.nan
    assert not extreme_values(X).any()
    assert extreme_values(np.full((3, 4), 3.5e38)).all()  # beyond float32, where it computes


def test_api_extreme_value_warns_at_fit():
    X, _ = _toy_with(1e30)
    with pytest.warns(UserWarning, match=r"extreme value\(s\).*X\[4, 5\] = 1e\+30") as caught:
        RVAgene(**FAST).fit(X)
    assert "mask_extreme_values" in str(caught[0].message)
    with pytest.warns(UserWarning, match="read as missing"):
        masked = mask_extreme_values(X)
    assert np.isnan(masked).sum() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # masked: the fit has nothing more to say
        RVAgene(**FAST).fit(masked)


def test_two_time_points_warn_that_zscores_leave_up_or_down():
    X = np.random.default_rng(0).standard_normal((20, 2))
    with pytest.warns(UserWarning, match=r"only 2 time points.*'up' \(-1, 1\) or 'down'"):
        RVAgene(**FAST).fit(X)


def _counts(n_genes=60):
    """A bulk RNA-seq count table: genes of about 1 to 8,000 reads, 6 samples, 5 all zero."""
    rng = np.random.default_rng(0)
    means = np.exp(rng.uniform(0, 9, n_genes))[:, None] * np.linspace(0.5, 1.5, 6)
    means[:5] = 0.0
    return rng.poisson(means).astype(np.float64)


def test_raw_counts_and_unlogged_values_warn_at_fit():
    """Before: a count table (18,000 genes, up to 222,723 reads) was clustered without a word,
    its shapes those of sequencing depth and sampling noise."""
    X = _counts()
    low = int((X.mean(axis=1) < 10).sum())
    counts = rf"raw counts \(whole numbers >= 0, up to \d+; {low} of 60 genes average below 10\)"
    with pytest.warns(UserWarning, match=counts + r".*log2\(CPM \+ 1\).*few reads\.$"):
        RVAgene(**FAST).fit(X)
    with pytest.warns(UserWarning, match=r"values >= 0 up to [\d.]+, not on a log scale"):
        check_input(X * 1.37)  # normalised counts
    X3 = np.stack([X, X], axis=2)  # replicates
    with pytest.warns(UserWarning, match=counts):
        check_input(X3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log-scale values; values below 0
        check_input(np.log2(X / X.sum(axis=0) * 1e6 + 1))
        check_input(np.vstack([X, -X[-1:]]))
    with pytest.warns(UserWarning, match="extreme value") as caught:  # values up to 119 and
        check_input(np.vstack([X / 100, [[0, 0, 1e12, 0, 0, 0]]]))  # one extreme value
    assert len(caught) == 1  # no more: the extreme value is not taken for unlogged values


def test_fused_optimizer_only_where_torch_has_it(monkeypatch, tiny):
    """The training engine asks torch, not a version string, whether fused=True works."""
    from rvagene import _train
    from rvagene._utils import supports_fused

    class OldAdam(torch.optim.Adam):  # as torch releases without a fused CPU Adam behave
        def __init__(self, params, fused=None, **kw):
            if fused:
                msg = "`fused=True` requires all the params to be CUDA tensors"
                raise RuntimeError(msg)
            super().__init__(params, **kw)

    assert not supports_fused(OldAdam, "cpu")
    monkeypatch.setitem(_train.OPTIMIZERS, "adam", OldAdam)
    X, _ = tiny
    assert len(RVAgene(**FAST).fit(X).loss_curve_) == 2


# --------------------------------------------------------------------------- 2. missing values


def test_masked_loss_ignores_missing_values():
    """Values under the mask change neither the loss nor any gradient."""
    torch.manual_seed(0)
    x = torch.randn(4, 7, 1)
    mask = torch.rand(4, 7, 1) > 0.3
    x_hat = torch.randn(4, 7, 1, requires_grad=True)
    mu, logvar = torch.randn(4, 2), torch.zeros(4, 2)
    crit = torch.nn.MSELoss(reduction="none")
    losses, grads = [], []
    for fill in (0.0, 1e6):
        out = rvae_loss(torch.where(mask, x, fill), x_hat, mu, logvar, crit, mask=mask)
        (grad,) = torch.autograd.grad(out.loss, x_hat)
        losses.append(out.loss.item())
        grads.append(grad)
    assert losses[0] == losses[1]
    assert torch.equal(grads[0], grads[1])
    assert (grads[0][~mask] == 0).all()


def _blocks(n_per=12, T=16, seed=0):
    """Three shapes on a high baseline; the second half of each cluster misses t >= 11."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, T)
    shapes = [np.sin(2 * np.pi * t), np.cos(2 * np.pi * t), 2 * t - 1]
    X = np.concatenate([5 + s + 0.05 * rng.standard_normal((n_per, T)) for s in shapes])
    gap = np.zeros(X.shape, bool)
    for k in range(3):
        gap[k * n_per + n_per // 2 : (k + 1) * n_per, 11:] = True
    return X, gap


def test_missing_values_are_masked_not_zero_filled():
    X, gap = _blocks()
    params = dict(
        hidden_size=16,
        latent_length=2,
        n_epochs=60,
        early_stopping=False,
        learning_rate=0.02,
        random_state=0,
    )
    masked = RVAgene(**params).fit(np.where(gap, np.nan, X))
    filled = RVAgene(**params).fit(np.where(gap, 0.0, X))
    err_masked = np.abs(masked.reconstruct(np.where(gap, np.nan, X))[gap] - X[gap]).mean()
    err_filled = np.abs(filled.reconstruct(np.where(gap, 0.0, X))[gap] - X[gap]).mean()
    # a model trained on zeros rebuilds the zeros (about 5 off); the masked one the shape
    assert err_masked < 1.0
    assert err_filled > 2.5
    assert err_filled > 3 * err_masked


def test_missing_values_keep_clusters_small():
    """A small version of benchmarks/missing_values.py: 10 % missing, ARI within 0.05."""
    X, y = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=20, random_state=0)
    gaps = np.random.default_rng(0).random(X.shape) < 0.1
    X_gap = np.where(gaps, np.nan, X)
    # 80 one-batch epochs: at 40 steps, once the KL warm-up took a third of the fit, one seed
    # in five (seed 0) clustered the gapped copy at ARI 0.81; at 80 all five were at 1.0
    params = dict(hidden_size=16, latent_length=2, n_epochs=80, random_state=0)
    aris = []
    for data in (X, X_gap):
        model = RVAgene(**params).fit(data)
        Z = model.transform(data)
        assert np.isfinite(Z).all()
        aris.append(adjusted_rand_score(y, KMeans(3, n_init=10, random_state=0).fit_predict(Z)))
    assert aris[1] >= aris[0] - 0.05, aris
    R = model.reconstruct(X_gap)
    assert np.isfinite(R).all()
    np.testing.assert_array_equal(np.isnan(X_gap), gaps)  # the input is not modified


def test_script_trains_on_a_csv_with_gaps(work, messy_run):
    table = read_table(work / "messy.csv")
    assert 0.05 < np.isnan(table.X).mean() < 0.2  # blank and NA cells are NaN
    code, _, err = messy_run
    assert code == 0, err
    model = load(work / "out_messy" / "messy_model.pt")
    assert np.isfinite(model.reconstruct(table.X)).all()
    assert model.n_features_in_ == 12


# --------------------------------------------------------------------------- 3. numerical faults


def _all_finite(model):
    return all(torch.isfinite(p).all() for p in model.module_.parameters())


def test_nan_from_decoder_at_epoch_k(monkeypatch, tiny):
    X, _ = tiny
    state = {"epoch": 0}
    real_decode = RVAE.decode

    def remember(train_state):
        state["epoch"] = train_state.epoch

    def decode(self, z, n):
        out = real_decode(self, z, n)
        return out * math.nan if self.training and state["epoch"] == 3 else out

    monkeypatch.setattr(RVAE, "decode", decode)
    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=10,
        random_state=0,
        callbacks=[LambdaCallback(on_epoch_begin=remember)],
    )
    with pytest.raises(
        FloatingPointError,
        match=r"non-finite at epoch 3; the weights of epoch "
        r"2 were restored\. Lower learning_rate, keep clip=True",
    ):
        model.fit(X)
    assert _all_finite(model)


class _NanGradients(Callback):
    """From epoch ``bad`` on, every gradient is NaN (a finite loss, NaN weights after a step)."""

    def __init__(self, bad):
        self.bad, self.hooks, self.before = bad, [], None

    def on_epoch_begin(self, state):
        if state.epoch == self.bad:
            self.before = {k: v.clone() for k, v in state.module.state_dict().items()}
            self.hooks = [
                p.register_hook(lambda g: g * math.nan) for p in state.module.parameters()
            ]

    def on_train_end(self, state):
        for h in self.hooks:
            h.remove()


@pytest.mark.parametrize(("early_stopping", "epoch"), [(True, 1), (False, 3)])
def test_nan_gradients_never_leave_nan_weights(tiny, early_stopping, epoch):
    X, _ = tiny
    bad = _NanGradients(epoch)
    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=20,
        batch_size=8,
        early_stopping=early_stopping,
        random_state=0,
        callbacks=[bad],
    )
    # every step from then on is skipped, and 21 in a row stop the fit
    with pytest.raises(FloatingPointError, match="not finite in 21 steps in a row"):
        model.fit(X)
    assert _all_finite(model)
    for name, value in model.module_.state_dict().items():  # no NaN step was applied
        torch.testing.assert_close(value, bad.before[name])
    assert np.isfinite(model.transform(X)).all()


def test_script_nan_exit_2_and_no_files(runner, work):
    tag = "nan"
    figs, out = work / f"figs_{tag}", work / f"out_{tag}"
    argv = [*TINY, "toy", "--n-clusters", "3", "--learning-rate", "1e30", "--no-clip"]
    code, _, err = runner.run("train_and_gen.py", [*argv, *_dirs(work, tag)], work)
    line = _one_error_line(code, err)
    assert "The training loss became non-finite at epoch" in line
    assert not figs.exists()
    assert not out.exists()


# --------------------------------------------------------------------------- 4. files


def _outputs(root, tag, name, k):
    figs, out = root / f"figs_{tag}", root / f"out_{tag}"
    pngs = [figs / f"{p}_{name}.png" for p in ("z_run", "clusters", "loss")]
    pngs += [figs / f"{p}_cluster_{name}{i}.png" for p in ("genes", "generated") for i in range(k)]
    return (
        pngs,
        out / f"{name}_model.pt",
        out / f"{name}_clusters.csv",
        out / f"{name}_config.json",
        out / f"{name}_generated.csv",
    )


def _check_complete(root, tag, old, n_genes=24, k=3):
    """Every output is the old file or a complete new one; stray files are hidden temps."""
    pngs, model, table, config, generated = _outputs(root, tag, "toy", k)
    changed = 0
    for path in [*pngs, model, table, config, generated]:
        data = path.read_bytes()
        if data == old[path]:
            continue
        changed += 1
        if path.suffix == ".png":
            assert matplotlib.image.imread(path).ndim == 3, path
        elif path.suffix == ".pt":
            assert load(path).n_features_in_ == 12
        elif path == generated:
            rows = list(csv.reader(data.decode().splitlines()))
            assert len(rows) == 1 + k * 20  # cluster, sample, 12 time points
            assert all(len(r) == 2 + 12 for r in rows)
        elif path.suffix == ".csv":
            rows = list(csv.reader(data.decode().splitlines()))
            assert len(rows) == n_genes + 1
            # gene, cluster, confidence, k p's, reconstruction_r2, label
            assert all(len(r) == 5 + k for r in rows)
        else:
            assert json.loads(data)["seed"] == 1
    expected = {p.name for p in [*pngs, model, table, config, generated]}
    for folder in (root / f"figs_{tag}", root / f"out_{tag}"):
        for p in folder.iterdir():
            assert p.name in expected or (p.name.startswith(".") and ".tmp" in p.name), p
    return changed


def test_killed_run_leaves_old_or_new_files(runner, work):
    tag = "kill"
    argv = [*TINY, "toy", "--n-clusters", "2", *_dirs(work, tag)]
    code, _, err = runner.run("train_and_gen.py", [*argv, "--seed", "0"], work)
    assert code == 0, err
    pngs, model, table, config, generated = _outputs(work, tag, "toy", 2)
    paths = [*pngs, model, table, config, generated]
    old = {p: p.read_bytes() for p in paths}
    inodes = {p: p.stat().st_ino for p in paths}
    changed = []
    # kill right after the 1st, 4th and 7th of the 11 new files has replaced an old one, that
    # is while the next one is being written
    for after in (1, 4, 7):
        pid = runner.start("train_and_gen.py", [*argv, "--seed", "1", "--overwrite"], work)
        start = time.monotonic()
        while time.monotonic() - start < 30:
            done = sum(p.stat().st_ino != inodes[p] for p in paths)
            if done >= after:
                break
            time.sleep(0.002)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        code, _, _ = runner.wait()
        assert code in (-signal.SIGKILL, 0)
        changed.append(_check_complete(work, tag, old, k=2))
        old = {p: p.read_bytes() for p in paths}  # later kills start from this state
        inodes = {p: p.stat().st_ino for p in paths}
    assert max(changed) >= 1  # at least one kill landed while files were being replaced


def test_killed_generator_leaves_old_or_new_data(runner, tmp_path):
    argv = ["sim", "--length", "30", "--data-dir", "data", "--figs-dir", "figs"]
    code, _, err = runner.run("gen_synthetic_data.py", [*argv, "--seed", "0"], tmp_path)
    assert code == 0, err
    train = tmp_path / "data" / "sim" / "sim_TRAIN"
    old, inode = train.read_bytes(), train.stat().st_ino
    pid = runner.start("gen_synthetic_data.py", [*argv, "--seed", "1", "--overwrite"], tmp_path)
    start = time.monotonic()
    while train.stat().st_ino == inode and time.monotonic() - start < 60:
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    runner.wait()
    X, labels = read_ucr(train)
    assert X.shape == (120, 30)
    assert train.read_bytes() != old
    test = tmp_path / "data" / "sim" / "sim_TEST"
    assert read_ucr(test)[0].shape == (12, 30)  # old or new, always whole


def test_save_refuses_to_overwrite(tmp_path, fitted):
    path = fitted.save(tmp_path / "m.pt")
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match=r"m.pt exists; pass overwrite=True to replace it"):
        fitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (lambda p: torch.save({"weights": torch.zeros(2)}, p), "not an rvagene model file"),
        (lambda p: p.write_text("hello"), "not an rvagene model file"),
        (lambda p: p.write_bytes(b""), "not an rvagene model file"),
        (lambda p: p.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f8'"), "not an rvagene"),
        (lambda p: None, "No model file at"),
    ],
)
def test_load_rejects_other_files(tmp_path, content, pattern):
    path = tmp_path / "x.pt"
    content(path)
    with pytest.raises((ValueError, FileNotFoundError), match=pattern):
        load(path)


def _altered(saved, **changes):
    """The payload of ``saved`` with entries replaced (a key set to None is removed)."""

    def write(path):
        payload = torch.load(saved, weights_only=True)
        for key, value in changes.items():
            payload[key] = value
            if value is None:
                del payload[key]
        torch.save(payload, path)

    return write


def _params(saved, **changes):
    return {**torch.load(saved, weights_only=True)["params"], **changes}


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda saved, p: np.save(p, np.zeros(3)), r"it is a numpy array file \(\.npy\)"),
        (lambda saved, p: torch.save({"format_version": 1}, p), "it has no params"),
        (
            lambda saved, p: _altered(saved, params=_params(saved, hiden=3))(p),
            r"holds parameter\(s\) 'hiden', which RVAgene does not have",
        ),
        (
            lambda saved, p: _altered(saved, params=_params(saved, hidden_size=16))(p),
            r"do not fit together \(size mismatch for encoder",
        ),
        (lambda saved, p: _altered(saved, attributes={})(p), "do not fit together"),
        (lambda saved, p: _altered(saved, format_version="1")(p), "'1', not a number"),
        (
            lambda saved, p: _altered(saved, loss_settings={"delta": 1})(p),
            r"its MSELoss settings fail",
        ),
        (lambda saved, p: p.write_bytes(b""), r"it is empty \(0 bytes\)"),
        *(
            (
                lambda saved, p, share=share: p.write_bytes(
                    saved.read_bytes()[: int(len(saved.read_bytes()) * share)]
                ),
                r"it is damaged or cut short \(a copy or download that did not finish\?\)",
            )
            for share in (0.1, 0.5, 0.99)
        ),
        (
            lambda saved, p: p.write_bytes(pickle.dumps(load(saved))),
            r"it is a Python pickle \(pickle.dump, joblib.dump\), which load\(\) does not run",
        ),
    ],
    ids=["npy", "no params", "unknown parameter", "weights mismatch", "no attributes",
         "format as text", "bad loss settings", "empty", "cut at 10%", "cut at 50%",
         "cut at 99%", "pickle"],
)  # fmt: skip
def test_load_rejects_damaged_model_files(tmp_path, fitted, make, pattern):
    saved = fitted.save(tmp_path / "m.pt")
    path = tmp_path / "damaged.npy"
    make(saved, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=r"is not an rvagene model file: .*" + pattern):
            load(path)
    assert [str(w.message) for w in caught] == []  # the error says it all (no torch notes)


def test_save_and_load_refuse_a_folder(tmp_path, fitted):
    folder = tmp_path / "models"
    folder.mkdir()
    for overwrite in (False, True):
        with pytest.raises(IsADirectoryError, match=r"models is a folder; give a file path"):
            fitted.save(folder, overwrite=overwrite)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"afile is a file, not a folder"):
        fitted.save(tmp_path / "afile" / "m.pt")
    with pytest.raises(IsADirectoryError, match=r"models is a folder, not a model file"):
        load(folder)
    assert list(folder.iterdir()) == []


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # runs `Path(marker).touch()` when unpickled
        return (Path.touch, (Path(self.marker),))


def test_load_refuses_code_payload_and_never_runs_it(tmp_path):
    marker = tmp_path / "payload_ran"
    evil = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "x": _Payload(marker)}, evil)
    # the payload works: an unsafe load would run it
    torch.load(evil, weights_only=False)
    assert marker.exists()
    marker.unlink()
    with pytest.raises(
        ValueError,
        match=r"not an rvagene model file: it carries code \(.+\), "
        "which is refused and not run",
    ):
        load(evil)
    assert not marker.exists()


# --------------------------------------------------------------------------- 5. properties

# gene names that are not numbers: a first column of numbers is refused as gene names
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda s: s == s.strip() and s != "" and _number(s) is None)
labels_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1
).filter(lambda s: s == s.strip() and s.lower() not in _MISSING and _number(s) is None)
values = st.floats(allow_nan=True, allow_infinity=False, width=64)


@st.composite
def tables(draw):
    n, T = draw(st.integers(1, 8)), draw(st.integers(2, 6))
    X = np.array(draw(st.lists(values, min_size=n * T, max_size=n * T))).reshape(n, T)
    genes = draw(st.lists(names, min_size=n, max_size=n, unique=True))
    labels = draw(
        st.one_of(
            st.none(),
            st.lists(labels_text, min_size=n, max_size=n),
            st.lists(st.integers(-9, 9), min_size=n, max_size=n),
        )
    )
    return X, genes, labels


@settings(max_examples=60, deadline=None)
@given(data=tables(), ext=st.sampled_from(["csv", "tsv", "txt"]))
def test_property_table_round_trip_names_nan_labels(tmp_path_factory, data, ext):
    X, genes, labels = data
    path = tmp_path_factory.mktemp("t") / f"p.{ext}"
    write_table(path, X, genes=genes, labels=labels)
    table = read_table(path)
    np.testing.assert_array_equal(table.X, X)  # NaN where NaN
    assert table.genes == genes
    if labels is None:
        assert table.labels is None
    else:
        assert table.labels.tolist() == labels
    with warnings.catch_warnings():  # load_dataset masks extreme values, read_table does not
        warnings.simplefilter("ignore")
        expected = mask_extreme_values(X)
        if np.isnan(X).all(axis=1).any():
            with pytest.raises(ValueError, match=r"gene .* has no observed value \(all NaN\)"):
                load_dataset(path)
        elif np.isnan(expected).all(axis=1).any():  # every value extreme
            with pytest.raises(ValueError, match=r"gene .* has no value left once its extreme"):
                load_dataset(path)
        else:
            loaded = load_dataset(path)
            assert loaded.genes == genes
            np.testing.assert_array_equal(loaded.X, expected)


@settings(max_examples=40, deadline=None)
@given(
    X=st.tuples(st.integers(1, 10), st.integers(2, 10)).flatmap(
        lambda s: st.lists(values, min_size=s[0] * s[1], max_size=s[0] * s[1]).map(
            lambda v: np.array(v).reshape(s)
        )
    ),
    seed=st.integers(0, 2**16),
)
def test_property_ucr_round_trip_with_nan(tmp_path_factory, X, seed):
    labels = np.random.default_rng(seed).integers(-3, 3, size=len(X))
    path = tmp_path_factory.mktemp("u") / "p_TRAIN"
    write_ucr(path, X, labels)
    X2, labels2 = read_ucr(path)
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(labels2, labels)


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 40),
    T=st.integers(2, 15),
    F=st.integers(1, 3),
    two_d=st.booleans(),
    batch_size=st.integers(1, 50),
    latent=st.integers(1, 3),
    k=st.integers(1, 5),
    dtype=st.sampled_from([np.float32, np.float64]),
)
def test_property_shape_contract(n, T, F, two_d, batch_size, latent, k, dtype):
    X = np.random.default_rng(n * T).standard_normal((n, T, F)).astype(dtype)
    if F == 1 and two_d:
        X = X[:, :, 0]
    model = RVAgene(
        hidden_size=4, latent_length=latent, n_epochs=1, batch_size=batch_size, random_state=0
    ).fit(X)
    Z = model.transform(X)
    assert Z.shape == (n, latent)
    assert Z.dtype == dtype
    R = model.reconstruct(X)
    assert R.shape == X.shape
    assert R.dtype == dtype
    assert model.decode(np.zeros((k, latent))).shape == (k, *X.shape[1:])


def test_validation_fraction_that_leaves_no_training_gene(X12):
    """Every gene held out: a clear error before training, not a ZeroDivisionError inside."""
    with pytest.raises(ValueError, match=r"holds out 12 of the 12 genes and leaves none"):
        RVAgene(**FAST, validation_fraction=0.99).fit(X12)
    RVAgene(**FAST, validation_fraction=0.99, early_stopping=False).fit(X12)  # none held out


def test_script_validation_fraction_that_leaves_no_training_gene(runner, work):
    argv = [*TINY, "toy", "--validation-fraction", "0.99", *_dirs(work, "vf")]
    code, _, err = runner.run("train_and_gen.py", argv, work)
    assert re.search(r"holds out 24 of the 24 genes", _one_error_line(code, err))
    assert not (work / "out_vf").exists()


@pytest.mark.parametrize("ext", ["csv", "tsv", "txt"])
@pytest.mark.parametrize("gene", [",0", "a,5", "-,1"])
def test_gene_names_with_a_comma_round_trip(tmp_path, ext, gene):
    """Found by the property test: ',0' read back from a TSV as '.0' (a decimal comma)."""
    X = np.array([[0.5, 1.5, 2.5], [1.0, 0.0, 2.0]])
    path = tmp_path / f"g.{ext}"
    write_table(path, X, genes=[gene, "b"])
    assert read_table(path).genes == [gene, "b"]


@pytest.mark.parametrize("ext", ["csv", "tsv", "txt"])
@pytest.mark.parametrize("gene", ["#", "#1", " #a", "0\n#"])
def test_gene_names_starting_with_a_hash_round_trip(tmp_path, ext, gene):
    """Found by the property test: a gene named '#' was read back as a comment line."""
    X = np.array([[0.5, 1.5, 2.5], [1.0, 0.0, 2.0]])
    path = tmp_path / f"g.{ext}"
    write_table(path, X, genes=[gene.strip(), "b"], labels=["x", "y"])
    table = read_table(path)
    assert table.genes == [gene.strip(), "b"]
    np.testing.assert_array_equal(table.X, X)

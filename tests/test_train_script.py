import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import matplotlib.colors
import numpy as np
import pytest

from rvagene import load, simulate
from rvagene.data import read_ucr, write_table, write_ucr
from rvagene.plotting import cluster_colors

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n-epochs", "3", "--hidden-size", "8", "--latent-length", "2", "--quiet"]


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    """The command's code, in the package (the top-level file calls its main)."""
    return importlib.import_module("rvagene._train_and_gen")


@pytest.fixture(scope="module")
def outputs():
    """Where the command's figures and tables are written."""
    return importlib.import_module("rvagene._outputs")


def test_the_top_level_file_and_the_console_command_run_the_package_code(script):
    assert _load_script("train_and_gen").main is script.main
    text = (ROOT / "pyproject.toml").read_text()
    assert 'rvagene-train = "rvagene._train_and_gen:console"' in text


@pytest.fixture
def dataset(tmp_path):
    X, labels = simulate(n_clusters=3, genes_per_cluster=8, sequence_length=12, random_state=0)
    write_ucr(tmp_path / "data" / "toy" / "toy_TRAIN", X, labels)
    return tmp_path


def _dirs(tmp_path):
    return [
        "--data-dir",
        str(tmp_path / "data"),
        "--figs-dir",
        str(tmp_path / "figs"),
        "--out-dir",
        str(tmp_path / "out"),
    ]


def test_writes_every_output(script, dataset, capsys):
    assert script.main(["toy", "--n-clusters", "3", *TINY, *_dirs(dataset)]) == 0
    figs, out = dataset / "figs", dataset / "out"
    for name in (
        "z_run_toy.png",
        "clusters_toy.png",
        "loss_toy.png",
        "generated_cluster_toy0.png",
        "generated_cluster_toy2.png",
    ):
        assert (figs / name).stat().st_size > 1000, name
    assert not (figs / "generated_cluster_toy3.png").exists()
    assert not (figs / "k_scores_toy.png").exists()  # k was given
    rows = (out / "toy_clusters.csv").read_text().splitlines()
    head = "gene,cluster,confidence,p_cluster_0,p_cluster_1,p_cluster_2,reconstruction_r2,label"
    assert rows[0] == head
    assert len(rows) == 25
    table = np.array([[float(v) for v in row.split(",")[1:7]] for row in rows[1:]])
    confidence, p, r2 = table[:, 1], table[:, 2:5], table[:, 5]
    assert np.all(r2 <= 1.0)  # TINY's model is barely trained: R^2 near 0, not checked
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=0.002)  # 3 decimals each
    clusters = table[:, 0].astype(int)
    np.testing.assert_allclose(confidence, p[np.arange(len(p)), clusters])  # its own cluster
    assert np.all((p >= 0) & (p <= 1))
    model = load(out / "toy_model.pt")
    assert model.n_features_in_ == 12
    config = json.loads((out / "toy_config.json").read_text())
    assert config["n_clusters"] == 3
    printed = capsys.readouterr().out
    assert "ARI" in printed
    assert "toy: the model rebuilds a median " in printed  # of the genes' reconstruction_r2


def test_figures_drawn_in_forked_processes_match_those_drawn_here(
    script, outputs, dataset, capsys, monkeypatch
):
    """The same files, byte for byte, and the same ``wrote`` lines in the same order."""
    from types import SimpleNamespace

    if outputs.figure_processes(SimpleNamespace(n_jobs=2), 10) < 2:
        pytest.skip("figures are drawn in forked processes only where forking is safe")
    assert outputs.figure_processes(SimpleNamespace(n_jobs=1), 10) == 1
    assert outputs.figure_processes(SimpleNamespace(n_jobs=2), 5) == 1  # too few to pay
    runs = {}
    for how in ("forked", "here"):
        if how == "here":
            _in_this_process(outputs, monkeypatch)
        dirs = ["--figs-dir", str(dataset / how), "--out-dir", str(dataset / f"out_{how}")]
        argv = ["toy", "--n-clusters", "3", "--n-jobs", "2", "--data-dir", str(dataset / "data")]
        assert script.main([*argv, *TINY, *dirs]) == 0
        lines = capsys.readouterr().out.splitlines()
        runs[how] = [Path(line.split()[1]).name for line in lines if line.startswith("wrote")]
    assert runs["forked"] == runs["here"]
    pngs = sorted(p.name for p in (dataset / "here").glob("*.png"))
    assert len(pngs) == 9  # 3 + 2 per cluster; no k_scores figure: k was given
    for name in pngs:
        assert (dataset / "forked" / name).read_bytes() == (dataset / "here" / name).read_bytes()


def test_an_error_in_a_figure_process_is_reported_and_leaves_no_partial_file(
    script, outputs, dataset, capsys, monkeypatch
):
    from types import SimpleNamespace

    if outputs.figure_processes(SimpleNamespace(n_jobs=2), 10) < 2:
        pytest.skip("figures are drawn in forked processes only where forking is safe")

    def broken(args, name, found, i, *rest):
        if i == 2:  # the last cluster's figure: drawn by the child
            msg = "cannot draw cluster 2"
            raise ValueError(msg)
        return original(args, name, found, i, *rest)

    original = outputs._generated_figure
    monkeypatch.setattr(outputs, "_generated_figure", broken)
    argv = ["toy", "--n-clusters", "3", "--n-jobs", "2", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["error: cannot draw cluster 2; no file was replaced"]
    # the results replace files together or not at all: nothing, no temporary file either
    left = [p for d in ("figs", "out") if (dataset / d).exists() for p in (dataset / d).iterdir()]
    assert left == []


def _snapshot(root):
    """Every file under ``root`` and its bytes."""
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_rerun_without_the_log_removes_the_earlier_runs_log(script, dataset, capsys):
    """Before: a rerun with --overwrite and no --log-file (or another name) left the earlier
    run's log beside the new results, a folder of two runs. A log that another data set's
    run in --out-dir names is kept."""
    import shutil

    shutil.copytree(dataset / "data" / "toy", dataset / "data" / "toy2")
    (dataset / "data" / "toy2" / "toy_TRAIN").rename(dataset / "data" / "toy2" / "toy2_TRAIN")
    argv = ["toy", "--n-clusters", "2", "--n-jobs", "1", *TINY, *_dirs(dataset)]
    out = dataset / "out"
    assert script.main([*argv, "--log-file", "run.log"]) == 0
    assert script.main([*argv, "--overwrite"]) == 0
    assert not (out / "run.log").exists()
    assert f"removed {out / 'run.log'} (log of the earlier run)" in capsys.readouterr().out
    other = ["toy2", *argv[1:], "--log-file", "shared.log"]
    assert script.main(other) == 0
    assert script.main([*argv, "--log-file", "shared.log", "--overwrite"]) == 0
    assert script.main([*argv, "--overwrite"]) == 0
    assert (out / "shared.log").is_file()  # toy2's config names it too


def test_a_run_that_fails_while_writing_leaves_the_earlier_results_and_log(
    script, outputs, dataset, capsys, monkeypatch
):
    """Before: the new model and tables beside the earlier run's figures, the log emptied."""
    argv = ["toy", "--n-clusters", "3", "--n-jobs", "1", "--log-file", "run.log", *TINY]
    assert script.main([*argv, *_dirs(dataset)]) == 0
    before = _snapshot(dataset / "out") | _snapshot(dataset / "figs")
    assert (dataset / "out" / "run.log") in before

    def broken(args, name, found, i, *rest):
        msg = f"cannot draw cluster {i}"
        raise ValueError(msg)

    monkeypatch.setattr(outputs, "_generated_figure", broken)
    again = [*argv, "--overwrite", "--seed", "5", *_dirs(dataset)]
    assert script.main(again) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: cannot draw cluster 0; no file was replaced"
    ]
    assert _snapshot(dataset / "out") | _snapshot(dataset / "figs") == before  # no temp files
    # a folder where a figure goes: refused before any work, with or without --overwrite
    (dataset / "figs" / "loss_toy.png").unlink()
    (dataset / "figs" / "loss_toy.png").mkdir()
    before = _snapshot(dataset / "out") | _snapshot(dataset / "figs")
    assert script.main(again) == 2
    assert "loss_toy.png is a folder where a result of this run goes" in capsys.readouterr().err
    (dataset / "figs" / "loss_toy.png").rmdir()
    # refused after the log began (too many clusters for the genes): the earlier log stays
    monkeypatch.undo()
    assert script.main([*again, "--n-clusters", "30"]) == 2
    assert _snapshot(dataset / "out") | _snapshot(dataset / "figs") == before


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ("/abs/run.log", "must be a file name in --out-dir, such as train.log"),
        ("../run.log", "must be a file name in --out-dir"),
        ("genes_clusters.csv", "is one of this run's results; give another name"),
        ("INPUT", "is the input data; give another name"),
        ("sub", "is a folder; give a file name"),
        ("genes_model.pt/train.log", "is under a file or a result's name"),
    ],
)
def test_a_log_file_that_would_replace_another_file_is_refused(
    script, dataset, capsys, log, message
):
    """Before: --log-file emptied whatever it named, the input data included."""
    data = dataset / "out" / "genes.csv"
    write_table(data, simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8)[0])
    (dataset / "out" / "sub").mkdir()
    log = str(data.name) if log == "INPUT" else log
    kept = data.read_bytes()
    argv = [str(data), "--log-file", log, *TINY, *_dirs(dataset)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert data.read_bytes() == kept
    assert sorted(p.name for p in (dataset / "out").iterdir()) == ["genes.csv", "sub"]


def test_a_log_file_naming_a_data_sets_file_is_refused(script, dataset, capsys):
    """The input by data-set name: data/toy/toy_TRAIN, read with --out-dir data/toy."""
    data = dataset / "data" / "toy" / "toy_TRAIN"
    kept = data.read_bytes()
    argv = ["toy", "--log-file", "toy_TRAIN", *TINY, *_dirs(dataset)]
    argv += ["--out-dir", str(dataset / "data" / "toy")]
    assert script.main(argv) == 2
    assert "toy_TRAIN' is the input data" in capsys.readouterr().err
    assert data.read_bytes() == kept


def test_ctrl_c_during_the_moves_says_the_files_were_replaced(
    script, dataset, capsys, monkeypatch
):
    """SIGINT held back during the moves arrives after them: the record and the clean-up
    of the earlier run's extra figures happen first, and the message says what is so."""
    import os
    import signal

    import rvagene._utils as utils

    argv = ["toy", "--n-jobs", "1", *TINY, *_dirs(dataset)]
    assert script.main([*argv, "--n-clusters", "3"]) == 0
    calls = []
    replace = os.replace

    def interrupting(a, b):
        if Path(b).is_relative_to(dataset):  # the run's results, not a cache elsewhere
            calls.append(b)
        if len(calls) == 2 and Path(b).is_relative_to(dataset):
            os.kill(os.getpid(), signal.SIGINT)
        replace(a, b)

    monkeypatch.setattr(utils.os, "replace", interrupting)
    with pytest.raises(KeyboardInterrupt, match="^interrupted; this run's results were written$"):
        script.main([*argv, "--n-clusters", "2", "--overwrite"])
    assert not (dataset / "figs" / "genes_cluster_toy2.png").exists()  # removed with them


def test_write_together_is_not_nested(tmp_path):
    from rvagene._utils import atomic_open, write_together

    with write_together(), pytest.raises(RuntimeError, match="cannot be nested"):  # noqa: PT012
        with write_together():
            pass
    with atomic_open(tmp_path / "after.txt") as fh:  # the module state is clean afterwards
        fh.write("x")
    assert (tmp_path / "after.txt").read_text() == "x"


def test_exit_now_runs_the_exit_functions_and_flushes(tmp_path):
    """The scripts end without the interpreter's teardown, but nothing written is lost."""
    code = (
        "import atexit, sys\n"
        "from rvagene._cli import exit_now\n"
        "atexit.register(lambda: print('at exit'))\n"
        "sys.stdout.write('unflushed ')\n"
        "exit_now(3)\n"
        "print('never')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 3
    assert done.stdout == "unflushed at exit\n"


def test_every_model_parameter_is_an_option(script):
    from rvagene import RVAgene

    args = script.parse_args(["x"])
    for name in RVAgene().get_params():
        if name not in ("random_state", "verbose", "dload", "cuda", "callbacks"):  # code
            assert hasattr(args, name), name
    args = script.parse_args(["x", "--block", "LSTM", "--no-clip", "--hidden-layer-depth", "2"])
    assert (args.block, args.clip, args.hidden_layer_depth) == ("LSTM", False, 2)


def test_gene_named_csv_without_labels(script, tmp_path, capsys):
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=10, random_state=1)
    genes = [f"Gene{i}" for i in range(len(X))]
    path = tmp_path / "expr.csv"
    write_table(path, X, genes=genes, times=np.arange(10) * 0.5)
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    rows = (tmp_path / "out" / "expr_clusters.csv").read_text().splitlines()
    assert rows[0] == "gene,cluster,confidence,p_cluster_0,p_cluster_1,reconstruction_r2"
    assert rows[1].startswith("Gene0,")
    assert "ARI" not in capsys.readouterr().out


def test_chooses_k_when_not_given(script, dataset, capsys):
    argv = ["toy", "--k-criterion", "davies_bouldin", "--k-max", "6", "--min-confidence", "1"]
    assert script.main([*argv, *TINY, *_dirs(dataset)]) == 0
    out = capsys.readouterr().out
    chosen = [line for line in out.splitlines() if "chose k=" in line]
    assert len(chosen) == 1
    assert "by davies_bouldin, averaged over the fits (lower is better" in chosen[0]
    assert "scores: k=2: " in chosen[0]
    assert "k=6: " in chosen[0]
    assert "k=7" not in chosen[0]
    k = int(chosen[0].split("chose k=")[1].split()[0])
    assert 2 <= k <= 6
    assert (dataset / "figs" / "k_scores_toy.png").stat().st_size > 1000
    header = (dataset / "out" / "toy_clusters.csv").read_text().splitlines()[0].split(",")
    assert header[3 : 3 + k] == [f"p_cluster_{j}" for j in range(k)]
    assert "genes between clusters (membership probability of their own cluster < 1)" in out
    config = json.loads((dataset / "out" / "toy_config.json").read_text())
    assert (config["k_criterion"], config["k_max"], config["min_confidence"]) == (
        "davies_bouldin",
        6,
        1.0,
    )


@pytest.mark.parametrize(
    ("options", "words", "title", "recorded"),
    [
        ([], ["by gmeans (G-means' lower median over every space of every fit, within 4 ",
              "; share of the point sets whose G-means chose k: k=",
              "; the silhouette's window: k = "],
         "by G-means,\nwithin the silhouette's window (shaded)", ("gmeans", 2.0)),
        (["--k-criterion", "silhouette", "--k-tolerance", "1.5"],
         ["by silhouette (up from the best k while within 1.5 standard errors)"],
         "silhouette (up from the best k while within 1.5 SE)", ("silhouette", 1.5)),
    ],
)  # fmt: skip
def test_k_rule_is_named_and_recorded(
    script, outputs, dataset, capsys, monkeypatch, options, words, title, recorded
):
    titles = []
    original = outputs.plot_k_scores

    def spy(*a, **kw):
        titles.append(kw["title"])
        return original(*a, **kw)

    monkeypatch.setattr(outputs, "plot_k_scores", spy)
    _in_this_process(outputs, monkeypatch)
    assert script.main(["toy", "--k-max", "5", *options, *TINY, *_dirs(dataset)]) == 0
    chosen = [line for line in capsys.readouterr().out.splitlines() if "chose k=" in line]
    for part in words:
        assert part in chosen[0]
    assert title in titles[0]
    config = json.loads((dataset / "out" / "toy_config.json").read_text())
    assert (config["k_criterion"], config["k_tolerance"]) == recorded
    listed = re.findall(r"k=(\d+): ", chosen[0].split(" by ", 1)[1])
    shares = config["run"]["k_scores"]  # every k tried, in the config
    assert len(shares) == 4
    shown = [k for k, v in shares.items() if v > 0 or recorded[0] != "gmeans"]
    assert listed == shown  # gmeans: only the k some point set chose


def test_flagged_genes_are_ringed(script, outputs, dataset, monkeypatch):
    # with --min-confidence 1, the genes flagged are those with any doubt (confidence < 1);
    # both latent figures must ring exactly those
    seen = {}
    for name in ("plot_latent", "plot_clusters"):
        original = getattr(outputs, name)

        def spy(*a, _name=name, _original=original, **kw):
            seen[_name] = kw.get("flagged")
            return _original(*a, **kw)

        monkeypatch.setattr(outputs, name, spy)
    _in_this_process(outputs, monkeypatch)
    argv = ["toy", "--n-clusters", "3", "--min-confidence", "1", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 0
    rows = (dataset / "out" / "toy_clusters.csv").read_text().splitlines()[1:]
    expected = np.array([float(row.split(",")[2]) < 1.0 for row in rows])
    for name in ("plot_latent", "plot_clusters"):
        np.testing.assert_array_equal(seen[name], expected)


def test_k_option_defaults(script):
    args = script.parse_args(["x"])
    assert (args.n_clusters, args.k_criterion, args.k_max, args.min_confidence) == (
        None,
        "gmeans",
        15,
        0.9,
    )
    assert args.k_tolerance == 2.0
    assert script.parse_args(["x", "--k-tolerance", "0"]).k_tolerance == 0.0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--k-criterion", "aic"], "argument --k-criterion: invalid choice: 'aic'"),
        (["--k-max", "1"], "argument --k-max: expected an integer >= 2, got '1'"),
        (["--k-tolerance", "-1"], "argument --k-tolerance: expected a number >= 0, got '-1'"),
        (["--k-tolerance", "nan"], "argument --k-tolerance: expected a number >= 0, got 'nan'"),
        (["--min-confidence", "1.5"], "expected a number in (0, 1], got '1.5'"),
        (["--min-confidence", "high"], "expected a number in (0, 1], got 'high'"),
    ],
)
def test_bad_k_options_are_one_line_exit_2(script, dataset, capsys, option, message):
    with pytest.raises(SystemExit) as exc:
        script.main(["toy", *option, *TINY, *_dirs(dataset)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_too_few_genes_to_choose_k(script, tmp_path, capsys):
    X, labels = simulate(n_clusters=2, genes_per_cluster=1, sequence_length=12, random_state=0)
    write_ucr(tmp_path / "data" / "two" / "two_TRAIN", X, labels)
    assert script.main(["two", *TINY, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "two has 2 genes, too few to choose the number of clusters; give --n-clusters" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "nosuch"),
        (["toy", "--n-clusters", "500"], "more than the 24 genes"),
        (["toy", "--optimizer", "adagrad"], "Unknown --optimizer"),
        (["toy", "--batch-size", "0"], "--batch-size must be"),
    ],
)
def test_bad_input_is_one_line_exit_2(script, dataset, capsys, argv, message):
    assert script.main([*argv, *TINY, *_dirs(dataset)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_bad_option_from_the_command_line_no_traceback(dataset):
    proc = subprocess.run(
        [sys.executable, str(ROOT / "train_and_gen.py"), "toy", "--n-clusters", "zero"],
        capture_output=True,
        text=True,
        cwd=dataset,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- times, replicates

UNEVEN = [0, 0.5, 1, 2, 4, 8, 12, 24]


def _table(tmp_path, name, replicates=1, times=UNEVEN):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    if replicates > 1:
        noise = np.random.default_rng(0).standard_normal((*X.shape, replicates))
        X = X[:, :, None] + 0.1 * noise
    path = tmp_path / name
    write_table(path, X, times=times, labels=labels)
    return path


def test_genes_file_keeps_a_tables_genes_in_its_order(script, tmp_path, capsys):
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    genes = [f"g{i}" for i in range(12)]
    path = tmp_path / "some.csv"
    write_table(path, X, genes=genes, times=UNEVEN, labels=100 + np.arange(12))
    wanted = ["g7", "g0", "g11", "g3", "g9", "g1", "nope"]
    (tmp_path / "de.txt").write_text("# from a time-course test\n" + "\n".join(wanted) + "\n")
    argv = [str(path), "--genes", str(tmp_path / "de.txt"), "--n-clusters", "2", *TINY]
    assert script.main([*argv, *_dirs(tmp_path)]) == 0
    out, err = capsys.readouterr()
    assert "1 of 7 requested genes are not in" in err
    assert "nope" in err
    rows = [r.split(",") for r in (tmp_path / "out" / "some_clusters.csv").read_text().split()]
    assert rows[0][0] == "gene"
    assert rows[0][-1] == "label"
    assert [r[0] for r in rows[1:]] == wanted[:-1]  # the list's order
    assert [int(float(r[-1])) for r in rows[1:]] == [107, 100, 111, 103, 109, 101]  # its own


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["x1", "x2"], "None of the 2 requested genes (x1, x2) is in"),
        (["g1", "g1b"], "repeats the requested gene name(s) g1"),
    ],
)
def test_genes_file_that_keeps_nothing_or_a_repeated_name_is_refused(
    script, tmp_path, capsys, lines, message
):
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    genes = [f"g{i}" for i in range(11)] + ["g1"]
    path = tmp_path / "rep.csv"
    write_table(path, X, genes=genes, times=UNEVEN)
    (tmp_path / "de.txt").write_text("\n".join(lines))
    argv = [str(path), "--genes", str(tmp_path / "de.txt"), *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_genes_file_needs_gene_names(script, tmp_path, capsys):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    (tmp_path / "data" / "u").mkdir(parents=True)
    write_ucr(tmp_path / "data" / "u" / "u_TRAIN", X, labels)
    (tmp_path / "de.txt").write_text("g1\n")
    assert script.main(["u", "--genes", str(tmp_path / "de.txt"), *TINY, *_dirs(tmp_path)]) == 2
    assert "has no gene names (a UCR file)" in capsys.readouterr().err


def test_replicate_file_end_to_end(script, tmp_path, capsys):
    path = _table(tmp_path, "reps.csv", replicates=3, times=[f"{t}h" for t in UNEVEN])
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    for name in (
        "z_run_reps.png",
        "clusters_reps.png",
        "loss_reps.png",
        "generated_cluster_reps0.png",
        "generated_cluster_reps1.png",
    ):
        assert (tmp_path / "figs" / name).stat().st_size > 1000, name
    model = load(tmp_path / "out" / "reps_model.pt")
    assert model.n_dims_ == 3
    np.testing.assert_array_equal(model.times_, UNEVEN)  # "0h, 0.5h, ..." are times
    rows = (tmp_path / "out" / "reps_clusters.csv").read_text().splitlines()
    assert len(rows) == 13
    assert "ARI" in capsys.readouterr().out


def test_uneven_times_are_fitted_even_ones_are_steps(script, tmp_path):
    path = _table(tmp_path, "uneven.tsv")
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    np.testing.assert_array_equal(load(tmp_path / "out" / "uneven_model.pt").times_, UNEVEN)
    ignore = [*_dirs(tmp_path / "ignore"), "--ignore-times"]
    assert script.main([str(path), "--n-clusters", "2", *TINY, *ignore]) == 0
    assert load(tmp_path / "ignore" / "out" / "uneven_model.pt").times_ is None
    even = _table(tmp_path, "even.csv", times=np.arange(8) * 3.0)
    assert script.main([str(even), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    assert load(tmp_path / "out" / "even_model.pt").times_ is None  # the original model


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("gene,label,0_rep1,0_rep2,1_rep1,2_rep1,2_rep2", "time '1' has replicate(s) [1]"),
        ("gene,label,0_rep1,0,1_rep1,1_rep2", "no replicate suffix"),
        ("gene,label,0,1,1.0,2", "times must increase strictly"),
    ],
)
def test_bad_replicate_or_times_file_is_one_line_exit_2(script, tmp_path, capsys, header, message):
    n = header.count(",") - 1
    rows = [f"g{i},{i % 2},{','.join(str(i + j) for j in range(n))}" for i in range(6)]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


# --------------------------------------------------------------------------- issue 14


def _in_this_process(outputs, monkeypatch):
    """Draw every figure in the test's process, where a spy sees it (not in forked children)."""
    monkeypatch.setattr(outputs, "fork_is_safe", lambda: False)


def _figures(outputs, monkeypatch):
    """Record (x label, y label, legend texts, line colours, title) of every saved figure."""
    _in_this_process(outputs, monkeypatch)
    seen = {}
    original = outputs.save_figure

    def spy(fig, path, *a, **kw):
        ax = fig.axes[0]
        legend = ax.get_legend()
        seen[Path(path).name] = {
            "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel(),
            "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
            "title": ax.get_title(),
            "line": matplotlib.colors.to_rgba(ax.lines[0].get_color()) if ax.lines else None,
        }
        return original(fig, path, *a, **kw)

    monkeypatch.setattr(outputs, "save_figure", spy)
    return seen


@pytest.mark.usefixtures("last_cluster_emptied")
def test_an_empty_minibatch_cluster_still_gets_its_generated_figure(
    script, outputs, tmp_path, monkeypatch
):
    """Mini-batch K-means can leave a cluster empty: its figure has no band, and no error."""
    seen = _figures(outputs, monkeypatch)
    path = _table(tmp_path, "empty.csv")
    argv = [str(path), "--n-clusters", "3", "--cluster-method", "minibatch"]
    assert script.main([*argv, *TINY, *_dirs(tmp_path)]) == 0
    assert seen["generated_cluster_empty2.png"]["legend"][0] == "20 sampled trajectories"


def test_header_of_times_without_gene_column_end_to_end(script, tmp_path, capsys):
    """The first-hour file: a header of times over numbers only keeps every column."""
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=7, random_state=2)
    X = X + 10.0  # values such as 9.544, as in an expression table
    path = tmp_path / "sixty.csv"
    lines = ["0h,1h,2h,4h,8h,12h,24h", *(",".join(f"{v:.3f}" for v in row) for row in X)]
    path.write_text("\n".join(lines) + "\n")
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    assert "warning" not in capsys.readouterr().err  # no duplicate-gene warning, nothing else
    rows = (tmp_path / "out" / "sixty_clusters.csv").read_text().splitlines()[1:]
    assert [r.split(",")[0] for r in rows] == [f"gene_{i}" for i in range(1, 13)]
    assert load(tmp_path / "out" / "sixty_model.pt").n_features_in_ == 7  # 0h is kept


def test_announces_every_file_it_writes(script, dataset, capsys):
    assert (
        script.main(
            ["toy", "--n-clusters", "3", "--log-file", "train.log", *TINY, *_dirs(dataset)]
        )
        == 0
    )
    out = capsys.readouterr().out
    announced = {
        line.split(" ", 1)[1].split(" (")[0]
        for line in out.splitlines()
        if line.startswith("wrote ")
    }
    written = {str(p) for p in (dataset / "figs").iterdir()} | {
        str(p) for p in (dataset / "out").iterdir()
    }
    assert announced == written
    assert str(dataset / "out" / "toy_clusters.csv") in announced
    assert str(dataset / "out" / "toy_model.pt") in announced


def test_quiet_silences_training_progress(script, dataset, capsys):
    """Default: progress on stderr (a status line per check off a terminal); --quiet: none."""
    tiny = [a for a in TINY if a != "--quiet"]
    assert script.main(["toy", "--n-clusters", "3", *tiny, *_dirs(dataset)]) == 0
    loud = capsys.readouterr()
    again = ["--quiet", "--overwrite", *_dirs(dataset)]
    assert script.main(["toy", "--n-clusters", "3", *tiny, *again]) == 0
    quiet = capsys.readouterr()
    assert loud.err.strip(), "the default run shows no training progress"
    assert quiet.err.strip() == ""


def test_options_without_effect_are_named_once_before_the_fit(script, dataset, capsys):
    """Warned as options before any work (not as parameters after the fits), once each."""
    argv = ["toy", "--n-clusters", "3", "--k-max", "9", "--lr-decay", "0.2", "--no-clip"]
    argv += ["--max-grad-norm", "2", "--generate-scale", "0.3", "--no-offset", "--n-fits", "2"]
    argv += ["--no-early-stopping", "--validation-fraction", "0.3"]
    assert script.main([*argv, *TINY, *_dirs(dataset)]) == 0
    err = capsys.readouterr().err.splitlines()
    expected = [
        "warning: --lr-decay 0.2 has no effect: it decays the learning rate of --lr-schedule "
        "plateau, and --lr-schedule onecycle follows its cycle.",
        "warning: --max-grad-norm 2.0 has no effect: gradients are not clipped with --no-clip.",
        "warning: --validation-fraction 0.3 has no effect: genes are held out only with "
        "--early-stopping.",
        "warning: --k-max 9 has no effect: k is given (--n-clusters 3), not chosen.",
        "warning: --no-offset has no effect: --generate-scale is the original's generation, "
        "which adds no offset.",
    ]
    assert err[: len(expected)] == expected
    assert not [line for line in err[len(expected) :] if "has no effect" in line]
    config = json.loads((dataset / "out" / "toy_config.json").read_text())
    notes = config["run"]["warnings"]
    assert [n for n in notes if "has no effect" in n] == [e[len("warning: ") :] for e in expected]


def test_messages_name_options_but_leave_quoted_values_alone(script):
    convert = script._as_options
    assert convert("log_file='/tmp/batch_size/x.log' is odd") == (
        "--log-file /tmp/batch_size/x.log is odd"
    )
    assert (
        convert("Unknown scaling 'loss_balance'; use") == "Unknown --scaling 'loss_balance'; use"
    )
    assert convert("tol=1e-05 has no effect: with lr_decay < 1.") == (
        "--tol 1e-05 has no effect: with --lr-decay < 1."
    )
    assert convert("the loss is written, clip=False.") == "the loss is written, --no-clip."


def test_help_names_a_negated_parameter_without_a_triple_dash(script, capsys):
    """A docstring's ``-time_shift`` is ``-(--time-shift)`` in --help, not ``---time-shift``."""
    with pytest.raises(SystemExit):
        script.build_parser().parse_args(["--help"])
    squeezed = "".join(capsys.readouterr().out.split())  # argparse wraps at dashes too
    assert "---" not in squeezed
    assert "uniformin[-(--time-shift),--time-shift]timesteps" in squeezed


def test_help_gives_every_option_a_line_with_default_and_choices(script, capsys):
    parser = script.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = capsys.readouterr().out
    formatter = parser._get_formatter()
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        line = formatter._expand_help(action) if action.help else ""
        assert line.strip(), action.dest
        assert line.count("default") == 1, (action.dest, line)
    assert "(default: None)" not in text
    assert "--n-clusters N_CLUSTERS" in text
    flat = " ".join(text.split())
    assert "(default: chosen by --k-criterion, k = 2 to --k-max)" in flat
    assert "one of GRU, LSTM (default: GRU)" in flat
    assert "one of Adam, AdamW, SGD (default: Adam)" in flat
    assert "trajectories sampled around each cluster centre (default: 20)" in flat
    assert "(0.3) (default: each cluster's own latent spread)" in flat
    assert "no training progress" in flat
    # the epilog: accepted formats and a gene-named CSV example
    assert "input formats" in text
    assert "\n  gene,0h,1h,2h,4h,8h,12h,24h\n  Sox2," in text
    for fmt in ("UCR file", "gene-named table", ".h5ad", "decimal commas"):
        assert fmt in flat, fmt


def test_clusters_numbered_and_coloured_like_the_labels(script, outputs, dataset, monkeypatch):
    seen = _figures(outputs, monkeypatch)
    argv = ["toy", "--n-clusters", "3", *TINY, "--n-epochs", "20", *_dirs(dataset)]
    assert script.main(argv) == 0
    rows = [r.split(",") for r in (dataset / "out" / "toy_clusters.csv").read_text().split()[1:]]
    cluster = np.array([int(r[1]) for r in rows])
    label = np.array([int(r[-1]) for r in rows])
    counts = np.zeros((3, 3), dtype=int)
    np.add.at(counts, (cluster, label), 1)
    from scipy.optimize import linear_sum_assignment

    best = counts[linear_sum_assignment(counts, maximize=True)].sum()
    assert np.trace(counts) == best  # cluster i is the one matched to label i
    palette = cluster_colors(3)
    for i in range(3):  # one colour per cluster in every figure: its label's colour
        assert seen[f"generated_cluster_toy{i}.png"]["line"] == palette[i]
        assert seen[f"genes_cluster_toy{i}.png"]["line"] == palette[i]


def test_member_figures_units_and_legends(script, outputs, tmp_path, monkeypatch):
    seen = _figures(outputs, monkeypatch)
    path = _table(tmp_path, "hours.csv", times=[f"{t}h" for t in UNEVEN])
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    for i in range(2):
        genes = seen[f"genes_cluster_hours{i}.png"]
        assert genes["xlabel"] == "time (h)"
        assert genes["legend"][-1] == "cluster mean"
        assert genes["legend"][0].endswith(" genes")
        assert genes["ylabel"] == "z-score per gene"
        generated = seen[f"generated_cluster_hours{i}.png"]
        assert generated["xlabel"] == "time (h)"
        n = genes["legend"][0].split()[0]  # the band counts the same genes
        assert generated["legend"] == [
            f"its {n} genes, middle 80%",
            "20 sampled trajectories",
            "decoded centre + offset",
        ]
    assert "PC2 (0%)" not in str(seen)
    seen.clear()
    ucr = _table(tmp_path, "steps.csv", times=None)  # t0, t1, ...: no times
    argv = [str(ucr), "--n-clusters", "2", "--no-offset", "--overwrite", *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 0
    assert seen["genes_cluster_steps0.png"]["xlabel"] == "time point"
    assert seen["generated_cluster_steps1.png"]["xlabel"] == "time point"
    assert seen["generated_cluster_steps1.png"]["legend"][-1] == "decoded centre"


def test_single_cell_run_draws_up_and_down_in_one_pair_of_colours(
    script, outputs, tmp_path, monkeypatch
):
    pytest.importorskip("scanpy")
    from rvagene.plotting import DOWN_COLOR, UP_COLOR
    from rvagene.simulate import simulate_single_cell

    adata = simulate_single_cell(n_cells=200, n_genes_per_program=3, random_state=0)
    adata.obs["pt"] = adata.obs["true_time"]
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    faces = {}
    original = outputs.plot_latent

    def spy(Z, labels=None, **kw):
        ax = original(Z, labels=labels, **kw)
        names = [t.get_text() for t in ax.get_legend().get_texts()]
        pairs = zip(names, ax.collections, strict=False)  # no rings: --min-confidence 0.01
        faces.update({n: c.get_facecolor()[0] for n, c in pairs})
        return ax

    monkeypatch.setattr(outputs, "plot_latent", spy)
    seen = _figures(outputs, monkeypatch)
    argv = [str(path), "--pseudotime-key", "pt", "--window-length", "20", "--n-clusters", "2"]
    assert script.main([*argv, "--min-confidence", "0.01", *TINY, *_dirs(tmp_path)]) == 0
    assert tuple(faces["up"][:3]) == matplotlib.colors.to_rgba(UP_COLOR)[:3]
    assert tuple(faces["down"][:3]) == matplotlib.colors.to_rgba(DOWN_COLOR)[:3]
    lines = {seen[f"generated_cluster_cells{i}.png"]["line"] for i in range(2)}
    assert lines == {matplotlib.colors.to_rgba(UP_COLOR), matplotlib.colors.to_rgba(DOWN_COLOR)}
    assert seen["genes_cluster_cells0.png"]["xlabel"] == "pseudotime"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--pseudotime-key", "pt", "--root-cell", "0"], "either --pseudotime-key or --root-cell"),
        (["--pseudotime-key", "pt", "--window-length", "20", "--n-bins", "5"],
         "either --window-length (cells per window) or --n-bins, not both"),
        ([], "No --pseudotime-key given, and obs has none of dpt_pseudotime"),
        (["IROOT"], "DPT ... pseudotime (uns['iroot'] = 99 is not one of the 60 cells)."),
        (["--pseudotime-key", "pt", "--window-length", "60"],
         "--window-length 60 leaves fewer than 2 windows of the 60 cells; give at most 30"),
        (["NO CELLS"], "cells.h5ad holds 0 cells or samples x 10 genes: no data."),
        # before: "window_length must be between 1 and the number of cells (30) ... 1 to 30"
        (["--pseudotime-key", "pt", "--n-bins", "61"],
         "--n-bins 61 is more than the 60 cells; give at most 60."),
        (["FEW CELLS", "--pseudotime-key", "pt"],
         "--window-length 40 (the default) leaves fewer than 2 windows of the 30 cells; give "
         "--window-length at most 15 (or --n-bins)."),
        # before: bulk samples by --time-key, the windows' option dropped without a word
        (["--time-key", "pt", "--window-length", "20"],
         "--window-length applies to single cells ordered by pseudotime; with --time-key the "
         "samples at each time are averaged, so it would be ignored."),
        # before: prepare's words, "or a root cell to compute diffusion pseudotime"
        (["--pseudotime-key", "nokey"],
         "--pseudotime-key nokey: obs has no column 'nokey'. Numeric obs columns: true_time, "
         "pt. Give one of them, or --root-cell CELL to compute diffusion pseudotime."),
        (["TEXT", "--pseudotime-key", "lineage"],
         "--pseudotime-key lineage: obs['lineage'] is not numeric"),
    ],
)  # fmt: skip
def test_cell_options_are_checked_in_the_commands_own_names(
    script, tmp_path, capsys, options, expected
):
    pytest.importorskip("anndata")
    from rvagene.simulate import simulate_single_cell

    adata = simulate_single_cell(n_cells=60, n_genes_per_program=2, random_state=0)
    adata.obs["pt"] = adata.obs["true_time"]
    del adata.uns["iroot"]  # no stored root either (with one, DPT runs from it)
    if options == ["IROOT"]:  # a root that is no cell: said so, not "not set" (before)
        adata.uns["iroot"], options = 99, []
        del adata.obs["pt"]
        expected = expected.replace("DPT ... ", "--root-cell CELL to compute diffusion ")
    if options == ["NO CELLS"]:  # before: scikit-learn's words about an empty array
        adata, options = adata[:0].copy(), []
    if options[:1] == ["FEW CELLS"]:
        adata, options = adata[:30].copy(), options[1:]
    if options[:1] == ["TEXT"]:  # a column of words is no pseudotime
        adata.obs["lineage"], options = np.where(np.arange(60) % 2, "A", "B"), options[1:]
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    argv = [str(path), *options, "--n-clusters", "2", *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert expected in err
    assert "root_cell" not in err
    assert "window_length" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("length", [None, "40", "31", "59"])
def test_a_window_length_that_makes_two_windows_is_taken_given_or_not(script, length):
    """60 cells make 2 windows of 40 (40 and 20 cells), or of 31 or 59. Before, the default
    40 was taken but a given --window-length above 30 (40 too) was refused with "leaves
    fewer than 2 windows of the 60 cells", which prepare(window_length=40) does not."""
    ad = pytest.importorskip("anndata")

    adata = ad.AnnData(np.zeros((60, 2)))
    adata.obs["pt"] = np.arange(60.0)
    args = script.parse_args(
        ["cells.h5ad", "--pseudotime-key", "pt", *(["--window-length", length] if length else [])]
    )
    script._check_cell_options(args, adata)  # no error
    from rvagene.single_cell import prepare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zeros: no up or down genes
        series = prepare(adata, pseudotime="pt", window_length=int(length or 40))
    assert series.X.shape[1] == 2


@pytest.mark.parametrize(
    ("bulk", "bad", "expected"),
    [
        (False, "inf", "adata.X holds an infinite value at cell 'cell_0005', gene 'gene_002'"),
        (True, "inf", "adata.X holds an infinite value at sample 'cell_0005', gene 'gene_002'"),
        (False, "nan", "cells.h5ad: gene 'gene_002' (row 3) has no observed value (all NaN)"),
    ],
)
def test_bad_values_in_an_h5ad_name_the_cell_and_gene(
    script, tmp_path, capsys, bulk, bad, expected
):
    """Before: the window table's index ("X contains inf ... at index (2, 0)", "X: row 3").

    With --time-key the rows are samples, and the message says so (before: "cell").
    """
    pytest.importorskip("anndata")
    from rvagene.simulate import simulate_single_cell

    adata = simulate_single_cell(n_cells=60, n_genes_per_program=2, random_state=0)
    adata.obs["pt"] = adata.obs["true_time"]
    adata.obs["time"] = np.repeat([0, 1, 2], 20)
    if bad == "inf":
        adata.X[5, 2] = np.inf
    else:
        adata.X[:, 2] = np.nan
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    where = ["--time-key", "time"] if bulk else ["--pseudotime-key", "pt", "--window-length", "20"]
    argv = [str(path), *where, "--n-clusters", "2", *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert expected in err
    assert not (tmp_path / "out").exists()


def test_numbers_under_a_gene_header_exit_2_with_what_to_do(script, tmp_path, capsys):
    path = tmp_path / "nums.csv"
    path.write_text("gene,1h,2h,4h\n9.544,1,2,3\n4.858,2,3,4\n7.25,3,4,5\n")
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "the column 'gene' holds numbers (9.544, 4.858, 7.25, ...), not gene names" in err
    assert "name it as one in the header" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- issue 20, item 5


def test_an_earlier_run_is_not_replaced_without_overwrite(script, dataset, capsys, monkeypatch):
    argv = ["toy", "--n-clusters", "3", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 0
    table = dataset / "out" / "toy_clusters.csv"
    before = table.read_bytes()
    capsys.readouterr()
    fitted = []
    monkeypatch.setattr(script.GeneClustering, "fit", lambda self, *a, **k: fitted.append(1))
    assert script.main([*argv, "--seed", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "exists from an earlier run; give --overwrite" in err
    assert fitted == []  # refused before any work
    assert table.read_bytes() == before
    monkeypatch.undo()
    assert script.main([*argv, "--seed", "5", "--overwrite"]) == 0
    assert table.read_bytes() != before


def test_generated_series_table_in_data_units(script, tmp_path):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    X = X + 100.0  # data units far from the model's z-scores
    path = tmp_path / "level.csv"
    write_table(path, X, times=UNEVEN, labels=labels)
    argv = [str(path), "--n-clusters", "2", "--n-generate", "4", *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 0
    rows = (tmp_path / "out" / "level_generated.csv").read_text().splitlines()
    assert rows[0] == "cluster,sample," + ",".join(f"{t:g}" for t in UNEVEN)
    body = np.array([[float(v) for v in r.split(",")] for r in rows[1:]])
    assert body.shape == (8, 2 + 8)
    np.testing.assert_array_equal(body[:, 0], np.repeat([0, 1], 4))
    np.testing.assert_array_equal(body[:, 1], np.tile(np.arange(4), 2))
    assert abs(body[:, 2:].mean() - 100.0) < 10  # data units, not z-scores
    # --no-offset: the decoder's series alone, the same draws otherwise
    assert script.main([*argv, "--no-offset", "--overwrite"]) == 0
    config = json.loads((tmp_path / "out" / "level_config.json").read_text())
    assert config["no_offset"] is True
    decoder = (tmp_path / "out" / "level_generated.csv").read_text().splitlines()
    assert len(decoder) == len(rows)
    assert decoder != rows


def test_generated_table_columns_name_the_time_and_replicate_of_their_values(outputs, tmp_path):
    import csv
    from types import SimpleNamespace

    generated = np.arange(2 * 3 * 4 * 2, dtype=float).reshape(2, 3, 4, 2)  # k, n, time, reps
    table = SimpleNamespace(time_labels=["0h", "1h", "4h", "8h"], times=None)
    outputs.write_generated_table(tmp_path / "g.csv", generated, table)
    with open(tmp_path / "g.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 3
    for row in rows:
        i, s = int(row["cluster"]), int(row["sample"])
        for j, t in enumerate(table.time_labels):
            for r in (1, 2):
                assert float(row[f"{t}_rep{r}"]) == generated[i, s, j, r - 1]


def test_clusters_table_columns_hold_their_own_values(outputs, tmp_path):
    import csv
    from types import SimpleNamespace

    found = SimpleNamespace(
        k=2,
        flat=np.array([False, True, False]),
        truth=None,
        genes=["a", "b", "c"],
        clusters=np.array([1, -1, 0]),
        probabilities=np.array([[0.25, 0.75], [np.nan, np.nan], [0.875, 0.125]]),
        confidence=np.array([0.75, np.nan, 0.875]),
        reconstruction_r2=np.array([0.5, np.nan, -0.25]),
    )
    outputs.write_clusters_table(tmp_path / "c.csv", found)
    with open(tmp_path / "c.csv", newline="") as fh:
        rows = {row["gene"]: row for row in csv.DictReader(fh)}
    for i in (0, 2):
        row = rows[found.genes[i]]
        assert int(row["cluster"]) == found.clusters[i]
        assert float(row["confidence"]) == found.confidence[i]
        assert float(row["reconstruction_r2"]) == found.reconstruction_r2[i]
        for j in range(2):
            assert float(row[f"p_cluster_{j}"]) == found.probabilities[i, j]
    assert rows["b"]["cluster"] == outputs.FLAT
    assert rows["b"]["reconstruction_r2"] == ""


def test_noise_makes_generated_series_vary_as_real_genes(script, dataset, outputs, monkeypatch):
    """Without --noise the decoded series barely differ in shape; the figure shows the band
    of the cluster's genes, and says in its title and axis what it draws."""
    argv = ["toy", "--n-clusters", "3", "--n-generate", "10", *TINY, *_dirs(dataset)]

    def shape_spread():
        rows = (dataset / "out" / "toy_generated.csv").read_text().splitlines()[1:]
        body = np.array([[float(v) for v in r.split(",")] for r in rows])
        series = body[:, 2:]
        z = (series - series.mean(1, keepdims=True)) / series.std(1, keepdims=True)
        return np.mean([z[body[:, 0] == c].std(0).mean() for c in range(3)])

    assert script.main(argv) == 0
    smooth = shape_spread()
    saved = []
    monkeypatch.setattr(outputs, "save_figure", lambda fig, path: saved.append((path, fig)))
    monkeypatch.setattr(outputs, "fork_is_safe", lambda: False)  # figures drawn here
    assert script.main([*argv, "--noise", "--overwrite"]) == 0
    assert shape_spread() > 2 * smooth
    assert json.loads((dataset / "out" / "toy_config.json").read_text())["noise"] is True
    ax = next(fig.axes[0] for path, fig in saved if "generated_cluster_toy0" in str(path))
    assert ax.get_title().endswith("generated, with noise")
    assert ax.get_ylabel() == "z-score (the CSV holds data units)"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert re.fullmatch(r"its \d+ genes, middle 80%", legend[0])


def test_config_records_what_repeats_the_run(script, dataset):
    argv = ["toy", "--k-max", "4", "--n-fits", "2", "--seed", "3", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 0
    config = json.loads((dataset / "out" / "toy_config.json").read_text())
    run = config["run"]
    header = (dataset / "out" / "toy_clusters.csv").read_text().splitlines()[0]
    assert header.count("p_cluster_") == run["chosen_k"]
    assert set(run["k_scores"]) == {"2", "3", "4"}
    low, high = run["k_window"]  # the default gmeans: the silhouette's window
    assert 2 <= low <= run["chosen_k"] <= high <= 4
    assert run["space"] == "both"
    assert run["n_fits"] == 2
    assert run["fit_seeds"][0] == 3
    assert len(run["fit_seeds"]) == 2
    assert run["times"] is None  # a UCR file: equal steps
    assert set(run["versions"]) >= {"rvagene", "torch", "python"}
    assert "git_commit" in run
    assert run["warnings"] == []


def test_flat_genes_are_named_flat_and_not_a_cluster(
    script, tmp_path, capsys, outputs, monkeypatch
):
    titles = _figures(outputs, monkeypatch)
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    X[3] = 7.0  # a constant gene
    path = tmp_path / "flat.csv"
    write_table(path, X, genes=[f"g{i}" for i in range(12)], times=UNEVEN)
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    rows = [r.split(",") for r in (tmp_path / "out" / "flat_clusters.csv").read_text().split()]
    assert rows[4][:3] == ["g3", "flat", ""]
    assert all(r[1] in ("0", "1") for i, r in enumerate(rows[1:]) if i != 3)
    assert "1 flat gene" in " ".join(titles["clusters_flat.png"]["title"].split())  # wrapped
    assert "1 flat gene(s) in no cluster" in capsys.readouterr().out
    assert not (tmp_path / "figs" / "genes_cluster_flat2.png").exists()


def test_warnings_come_in_one_block_before_the_wrote_lines(script, tmp_path, capfd):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    X[2, 3] = 1e30  # named, masked, and the run goes on
    path = tmp_path / "extreme.csv"
    write_table(path, X, genes=[f"g{i}" for i in range(12)], times=UNEVEN, labels=labels)
    argv = [str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]
    both = io.StringIO()
    with redirect_stdout(both), redirect_stderr(both):
        assert script.main(argv) == 0
    lines = both.getvalue().splitlines()
    warned = [i for i, line in enumerate(lines) if line.startswith("warning: ")]
    wrote = [i for i, line in enumerate(lines) if line.startswith("wrote ")]
    assert warned
    assert wrote
    assert max(warned) < min(wrote)
    assert warned == list(range(warned[0], warned[-1] + 1))  # one block
    assert any("extreme value" in lines[i] for i in warned)
    config = json.loads((tmp_path / "out" / "extreme_config.json").read_text())
    assert any("extreme value" in w for w in config["run"]["warnings"])


def test_ari_only_against_labels_the_user_gave(script, tmp_path, capsys):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    genes = [f"g{i}" for i in range(12)]
    path = tmp_path / "plain.csv"
    write_table(path, X, genes=genes, times=UNEVEN)
    argv = [str(path), "--n-clusters", "2", *TINY]
    assert script.main([*argv, *_dirs(tmp_path / "a")]) == 0
    assert "ARI" not in capsys.readouterr().out
    truth = tmp_path / "truth.csv"
    truth.write_text(
        "gene,label\n" + "".join(f"{g},{y}\n" for g, y in zip(genes, labels, strict=True))
    )
    assert script.main([*argv, "--labels", str(truth), *_dirs(tmp_path / "b")]) == 0
    assert "ARI" in capsys.readouterr().out
    header = (tmp_path / "b" / "out" / "plain_clusters.csv").read_text().splitlines()[0]
    assert header.endswith(",label")
    truth.write_text("gene,label\ng0,1\n")
    assert script.main([*argv, "--labels", str(truth), *_dirs(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert "has no label for 11 gene(s): g1, g2, g3, ..." in err
    assert len(err.splitlines()) == 1
    for where, said in [(tmp_path, "is a folder"), (tmp_path / "nope.csv", "no such file")]:
        assert script.main([*argv, "--labels", str(where), *_dirs(tmp_path / "d")]) == 2
        err = capsys.readouterr().err.strip().splitlines()  # before: a folder was "no such file"
        assert len(err) == 1
        assert err[0].startswith("error: --labels: ")
        assert said in err[0]
        assert str(where) in err[0]


def test_warning_lines_drop_developer_warnings_and_repeats(outputs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("a  b\n c", UserWarning, stacklevel=1)
        warnings.warn("a b c", RuntimeWarning, stacklevel=1)
        warnings.warn("old", DeprecationWarning, stacklevel=1)
        warnings.warn("later", FutureWarning, stacklevel=1)
    assert outputs.warning_lines(caught) == ["a b c", "later"]


def test_genes_of_one_shape_are_clustered_on_their_slopes(script, tmp_path, capsys):
    """The script on one-shape data: the slopes' clusters, a warning, one fit, generation."""
    t = np.linspace(0, 1, 24)
    y = np.repeat([1, 2], 20)
    shoulder = np.where(y[:, None] == 1, np.exp(-((t - 0.25) ** 2) / 0.003),
                        np.exp(-((t - 0.75) ** 2) / 0.003))  # fmt: skip
    noise = 0.02 * np.random.default_rng(0).standard_normal((40, 24))
    X = 3.0 + 2.0 * (np.exp(-((t - 0.5) ** 2) / 0.02) + 0.3 * shoulder) + noise
    write_ucr(tmp_path / "bump", X, y)
    argv = [str(tmp_path / "bump"), "--n-clusters", "2", *TINY[:-1], *_dirs(tmp_path)]
    assert script.main(argv) == 0
    out = capsys.readouterr()
    assert "share one shape" in out.err
    assert "space='slopes'" in out.err
    assert "ARI 1.000" in out.out
    config = json.loads((tmp_path / "out" / "bump_config.json").read_text())
    assert config["run"]["space"] == "slopes"
    generated = (tmp_path / "out" / "bump_generated.csv").read_text().splitlines()
    assert len(generated) == 1 + 2 * 20  # a header, 20 series per cluster


def test_integer_options_that_take_none(script):
    args = script.parse_args(["x"])
    assert (args.max_timepoints, args.max_steps) == (64, 2500)
    args = script.parse_args(["x", "--max-timepoints", "none", "--max-steps", "None"])
    assert (args.max_timepoints, args.max_steps) == (None, None)
    assert script.parse_args(["x", "--max-timepoints", "20"]).max_timepoints == 20


def test_small_clusters_are_named(script, tmp_path, capsys):
    """8 genes in 6 clusters: at least 4 clusters of one gene, named in the output and
    counted in the config's cluster sizes."""
    X, labels = simulate(n_clusters=2, genes_per_cluster=4, sequence_length=10, random_state=2)
    write_ucr(tmp_path / "data" / "few" / "few_TRAIN", X, labels)
    assert script.main(["few", "--n-clusters", "6", *TINY, *_dirs(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if "small clusters:" in line)
    config = json.loads((tmp_path / "out" / "few_config.json").read_text())
    sizes = config["run"]["cluster_sizes"]
    assert sum(sizes) == 8
    assert len(sizes) == 6
    assert sizes.count(1) >= 4
    named = [i for i, n in enumerate(sizes) if n < 3]
    assert all(f"{i} ({sizes[i]} gene" in line for i in named)
    assert "shifted onto these genes' mean" in line
    argv = ["few", "--n-clusters", "6", "--no-offset", "--overwrite", *TINY, *_dirs(tmp_path)]
    assert script.main(argv) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "small clusters:" in ln)
    assert "may look more like a neighbouring cluster than like these genes" in line


def test_the_few_members_warning_numbers_clusters_as_the_output_does(script, tmp_path, capsys):
    """One odd gene labelled 0, three shapes labelled 1 to 3: the odd gene's cluster is shown
    as 0. Before: the warning named it by GeneClustering's number ('Clusters [3] have fewer
    than 2 members'), a cluster of 10 genes in the clusters table."""
    t = np.linspace(0, 1, 8)
    rng = np.random.default_rng(0)
    shapes = [t, 1 - t, np.sin(np.pi * t)]
    X = [shapes[g % 3] + rng.normal(0, 0.02, 8) for g in range(30)]
    X.append(np.array([0, 1, 0, 1, 0, 1, 0, 1.0]))  # the odd gene
    genes = [f"g{i}" for i in range(31)]
    write_table(tmp_path / "odd.csv", np.array(X), genes=genes, times=range(8),
                labels=[1 + g % 3 for g in range(30)] + [0])  # fmt: skip
    argv = [str(tmp_path / "odd.csv"), "--n-clusters", "4", "--space", "slopes", *TINY]
    assert script.main([*argv, *_dirs(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "small clusters: 0 (1 gene)" in out.out
    assert "warning: Clusters [0] have fewer than 2 members" in out.err
    table = (tmp_path / "out" / "odd_clusters.csv").read_text().splitlines()
    assert table[-1].startswith("g30,0,")


def test_the_few_members_warning_maps_each_cluster_to_its_display_number(script):
    """Display cluster j is GeneClustering's order[j]: gc's cluster i is shown as the j with
    order[j] == i. With order [2, 0, 1] (no swap of two, whose inverse is itself), gc's 0
    is shown as 1 and gc's 2 as 0; reading order[i] instead named 2 and 1."""
    text = "Clusters [0, 2] have fewer than 2 members; they get the pooled within-cluster spread."
    got = script._display_numbers(text, np.array([2, 0, 1]))
    assert (
        got
        == "Clusters [0, 1] have fewer than 2 members; they get the pooled within-cluster spread."
    )
    assert script._display_numbers("Clusters [0] have fewer than 2 members; x", [2, 0, 1]) == (
        "Clusters [1] have fewer than 2 members; x"
    )
    assert script._display_numbers("Other text [0]", np.array([2, 0, 1])) == "Other text [0]"


# --------------------------------------------------------------------------- review B


@pytest.mark.parametrize("kind", ["numbers", "strings"])
def test_genes_without_a_label_are_left_out_of_the_scores(script, tmp_path, capfd, kind):
    X, labels = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    names = [str(y) if kind == "numbers" else "ab"[y] for y in labels]
    names[3] = "" if kind == "numbers" else "NA"
    names[7] = ""
    genes = [f"g{i}" for i in range(12)]
    rows = zip(genes, names, X, strict=True)
    lines = [f"{g},{y}," + ",".join(f"{v:g}" for v in row) for g, y, row in rows]
    path = tmp_path / "part.csv"
    path.write_text("gene,label," + ",".join(f"{t}h" for t in UNEVEN) + "\n" + "\n".join(lines))
    argv = [str(path), "--n-clusters", "2", "--n-fits", "1", "--n-jobs", "1", *TINY]
    assert script.main([*argv, *_dirs(tmp_path)]) == 0
    captured = capfd.readouterr()
    assert "ARI" in captured.out
    assert "warning: part: 2 of 12 genes have no label (g3, g7); they are left out" in captured.err
    rows = (tmp_path / "out" / "part_clusters.csv").read_text().splitlines()
    assert rows[4].endswith(",")  # g3: no label written
    assert rows[8].endswith(",")
    assert rows[1].endswith("," + names[0])


def test_a_labels_file_with_semicolons_and_repeated_genes(script, tmp_path):
    path = tmp_path / "l.csv"
    path.write_text("gene;label\nSox2;a\nNanog;b\nSox2;c\nKlf4;\n")
    labels = script._file_labels(path, ["Sox2", "Nanog", "Sox2", "Klf4"])
    assert labels.tolist() == ["a", "b", "c", ""]  # each Sox2 row its own label, in order
    path.write_text("gene\tlabel\nSox2\t1\nNanog\t2\n")
    assert script._file_labels(path, ["Sox2", "Nanog", "Sox2"]).tolist() == [1, 2, 1]
    path.write_text("Sox2,1\nSox2,2\nNanog,2\n")
    with pytest.raises(ValueError, match="gives gene 'Sox2' 2 labels \\(1, 2\\) but the data"):
        script._file_labels(path, ["Sox2", "Nanog"])


@pytest.mark.parametrize(
    ("data", "name"),
    [("genes.csv", "genes"), ("GENES.CSV", "GENES"), ("x.TSV.GZ", "x"), ("c.H5AD", "c"),
     ("data/toy/toy_TRAIN", "toy"), ("a.b.txt", "a.b")],
)  # fmt: skip
def test_the_outputs_are_named_without_the_inputs_suffix_in_any_case(script, data, name):
    """Before: genes.CSV gave results/genes.CSV_clusters.csv."""
    assert script._dataset_name(data) == name


def test_a_labels_file_with_the_label_column_first_is_read_by_its_header(script, tmp_path):
    """Before: 'label,gene' was taken for data, and every gene was 'without a label'."""
    path = tmp_path / "l.csv"
    path.write_text("label,gene\na,Sox2\nb,Nanog\n")
    assert script._file_labels(path, ["Sox2", "Nanog"]).tolist() == ["a", "b"]
    path.write_text("label,gene\na,Sox2\nNanog\n")  # before: IndexError, a traceback
    with pytest.raises(ValueError, match="line 3 has no label; each line is gene,label"):
        script._file_labels(path, ["Sox2", "Nanog"])


def test_labels_given_that_are_all_one_say_why_there_is_no_score(script, dataset, capsys):
    """Before: --labels with one label for every gene printed no ARI, and no word why."""
    X, _ = read_ucr(dataset / "data" / "toy" / "toy_TRAIN")
    path = dataset / "same.csv"
    path.write_text("".join(f"gene_{i},A\n" for i in range(1, len(X) + 1)))
    argv = ["toy", "--n-clusters", "3", "--labels", str(path), *TINY, *_dirs(dataset)]
    assert script.main(argv) == 0
    out, err = capsys.readouterr()
    assert f"warning: --labels {path} gives the genes fewer than 2 distinct labels" in err
    assert "ARI" not in out


@pytest.mark.parametrize("which", ["--out-dir", "--figs-dir"])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_output_folders_are_checked_before_any_work(
    script, dataset, capsys, monkeypatch, which, where
):
    afile = dataset / "afile"
    afile.write_text("keep me\n")
    target = afile if where == "a file" else afile / "sub"
    fitted = []
    monkeypatch.setattr(script.GeneClustering, "fit", lambda self, *a, **k: fitted.append(1))
    argv = ["toy", "--n-clusters", "3", *TINY, *_dirs(dataset), which, str(target)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    expected = "is a file; give a folder" if where == "a file" else "cannot be written"
    assert f"error: {which} '{target}' {expected}" in err
    assert fitted == []
    assert afile.read_text() == "keep me\n"
    assert not (dataset / "out" / "toy_model.pt").exists()


def test_overwrite_removes_the_earlier_runs_extra_cluster_figures_and_log(
    script, outputs, dataset, capsys
):
    argv = ["toy", *TINY, "--n-fits", "1", "--n-jobs", "1", "--log-file", "run.log"]
    (dataset / "out").mkdir()
    (dataset / "out" / "run.log").write_text("a file of the user's\n")
    assert script.main([*argv, "--n-clusters", "3", *_dirs(dataset)]) == 2  # not replaced
    assert "run.log exists from an earlier run; give --overwrite" in capsys.readouterr().err
    assert (dataset / "out" / "run.log").read_text() == "a file of the user's\n"
    (dataset / "out" / "run.log").unlink()
    assert script.main([*argv, "--n-clusters", "3", *_dirs(dataset)]) == 0
    figs = dataset / "figs"
    assert (figs / "genes_cluster_toy2.png").is_file()
    log = (dataset / "out" / "run.log").read_text()
    assert "epoch" in log
    planned = outputs.planned_outputs(script.parse_args([*argv, *_dirs(dataset)]), "toy")
    assert figs / "generated_cluster_toy2.png" in planned
    (figs / "k_scores_toy.png").write_text("an earlier run that chose k")
    assert figs / "k_scores_toy.png" in planned
    assert script.main([*argv, "--n-clusters", "2", "--overwrite", *_dirs(dataset)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (figs / "k_scores_toy.png").exists()  # this run has no scores per k
    assert not (figs / "genes_cluster_toy2.png").exists()
    assert not (figs / "generated_cluster_toy2.png").exists()
    assert (figs / "genes_cluster_toy1.png").is_file()
    assert (dataset / "out" / "run.log").read_text().count("check 1)") == 1  # one run's log


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--time-key", "t"], "--time-key applies to .h5ad input only"),
        (["--labels-key", "k"], "--labels-key applies to .h5ad input only"),
        (
            ["--cluster-method", "minibatch", "--n-fits", "3", "--space", "both"],
            "so --n-fits 3 and --space both would be ignored; leave them out",
        ),
        (["--n-clusters", "11"], "--n-clusters 11 is more than the 10 genes of flat12"),
    ],
)
def test_options_that_would_be_ignored_are_refused(script, tmp_path, capsys, argv, message):
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    X[3], X[5] = 7.0, 1.0  # two flat genes
    path = tmp_path / "flat12.csv"
    write_table(path, X, genes=[f"g{i}" for i in range(12)], times=UNEVEN)
    assert script.main([str(path), *TINY, *argv, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1
    assert not (tmp_path / "out" / "flat12_model.pt").exists()


@pytest.mark.parametrize(
    "raised",
    [
        RuntimeError(  # torch's CPU allocator, e.g. for --hidden-size 100000
            "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
            "memory: you tried to allocate 120000000000 bytes. Error code 12"
        ),
        MemoryError("Unable to allocate 298. GiB for an array with shape (200000, 200000)"),
    ],
)
def test_running_out_of_memory_is_one_line_that_says_what_to_lower(
    script, dataset, capsys, monkeypatch, raised
):
    """Before: a traceback (exit 1)."""

    def fit(self, X, y=None, times=None):
        raise raised

    monkeypatch.setattr(script.GeneClustering, "fit", fit)
    argv = ["toy", "--n-clusters", "3", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("error: out of memory (")
    assert "allocate" in err
    assert "lower --hidden-size, --batch-size or --n-jobs" in err
    assert not (dataset / "out").exists()


def test_other_runtime_errors_are_not_called_out_of_memory(script, dataset, monkeypatch):
    def fit(self, X, y=None, times=None):
        msg = "a bug"
        raise RuntimeError(msg)

    monkeypatch.setattr(script.GeneClustering, "fit", fit)
    with pytest.raises(RuntimeError, match="a bug"):
        script.main(["toy", "--n-clusters", "3", *TINY, *_dirs(dataset)])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-5"], "argument --seed: expected an integer from 0 to 4294967295, got '-5'"),
        # before: numpy's "Seed must be between 0 and 2**32 - 1", after reading the data
        (["--seed", "4294967296"], "argument --seed: expected an integer from 0 to 4294967295"),
        (["--n-jobs", "0"], "argument --n-jobs: expected a non-zero integer"),
        (["--print-every", "-1"], "argument --print-every: expected an integer >= 0"),
    ],
)
def test_bad_run_options_name_the_option(script, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        script.parse_args(["toy", *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_stale_figures_of_another_data_sets_name_are_kept(script, outputs, tmp_path):
    """toy's cluster 10 and toy1's cluster 0 share genes_cluster_toy10.png: toy keeps it."""
    import json

    args = script.parse_args(["toy", *_dirs(tmp_path)])
    out, figs = tmp_path / "out", tmp_path / "figs"
    out.mkdir()
    figs.mkdir()
    (out / "toy1_config.json").write_text(json.dumps({"run": {"chosen_k": 1}}))
    for i in (10, 11):
        (figs / f"genes_cluster_toy{i}.png").write_text("png")
    outputs.remove_stale_figures(args, "toy", old_k=12, new_k=10)
    assert (figs / "genes_cluster_toy10.png").is_file()  # toy1's cluster 0
    assert not (figs / "genes_cluster_toy11.png").exists()  # toy's own cluster 11
    # the other way round: toy1's clusters 1..2 are gone, and toy1 cluster 1 is toy's 11
    (out / "toy_config.json").write_text(json.dumps({"run": {"chosen_k": 12}}))
    (out / "toy1_config.json").write_text(json.dumps({"run": {"chosen_k": 3}}))
    for i in (1, 2):
        (figs / f"genes_cluster_toy1{i}.png").write_text("png")
    outputs.remove_stale_figures(args, "toy1", old_k=3, new_k=1)
    assert (figs / "genes_cluster_toy11.png").is_file()  # toy's cluster 11
    assert not (figs / "genes_cluster_toy12.png").exists()  # toy has clusters 0..11 only


def test_a_k_held_to_the_silhouettes_window_is_said_so(outputs, tmp_path, monkeypatch):
    """G-means chose 3 on every point set, the window 2..2: k=2 is the window's, not G-means'."""
    from types import SimpleNamespace

    titles = []

    def spy(*a, **kw):
        titles.append(kw["title"])
        return SimpleNamespace(figure=None)

    monkeypatch.setattr(outputs, "plot_k_scores", spy)
    monkeypatch.setattr(outputs, "save_figure", lambda *a, **kw: None)
    args = SimpleNamespace(k_criterion="gmeans", figs_dir=str(tmp_path))
    held = SimpleNamespace(scores={2: 0.0, 3: 1.0}, k=2, k_window=(2, 2))
    outputs.k_scores_figure(args, "toy", held)
    assert titles[-1].endswith(": G-means chose outside it")
    assert outputs.held_to_window(held.scores, 2)
    chosen = SimpleNamespace(scores={2: 0.0, 3: 1.0}, k=3, k_window=(2, 4))
    outputs.k_scores_figure(args, "toy", chosen)
    assert not titles[-1].endswith("outside it")


def _one_gene_cluster_figures(outputs, tmp_path, monkeypatch):
    """The genes and generated figures of cluster 1, which has one gene; their axes."""
    from types import SimpleNamespace

    saved = []
    monkeypatch.setattr(outputs, "save_figure", lambda fig, path: saved.append(fig.axes[0]))
    args = SimpleNamespace(figs_dir=str(tmp_path), noise=False)
    times = np.arange(6.0)
    found = SimpleNamespace(
        assignments=np.array([0, 0, 1]),
        colors=cluster_colors(2),
        table=SimpleNamespace(times=None),
        offsets=None,
        generated_scaled=np.zeros((2, 4, 6)),
    )
    scaled = np.stack([np.sin(times), np.cos(times), times / 5])
    outputs._member_figure(args, "toy", found, 1, scaled, "time point", "z-score per gene")
    decoded = np.zeros((2, 6))
    outputs._generated_figure(args, "toy", found, 1, decoded, scaled, "time point", "z-score")
    return saved


def test_a_one_gene_clusters_gene_is_not_hidden_by_its_mean(outputs, tmp_path, monkeypatch):
    """Before, the thick black 'cluster mean' was drawn over the gene, in the same place."""
    members = _one_gene_cluster_figures(outputs, tmp_path, monkeypatch)[0]
    assert len(members.lines) == 1
    colour = matplotlib.colors.to_rgba(members.lines[0].get_color())
    assert colour[:3] == cluster_colors(2)[1][:3]
    assert [t.get_text() for t in members.get_legend().get_texts()] == ["1 gene"]
    assert members.lines[0].get_alpha() == 1.0  # not faint, as one of many


def test_a_one_gene_clusters_generated_title_says_1_gene(outputs, tmp_path, monkeypatch):
    """Before: 'toy: cluster 1 (1 genes), generated'."""
    generated = _one_gene_cluster_figures(outputs, tmp_path, monkeypatch)[1]
    assert generated.get_title() == "toy: cluster 1 (1 gene), generated"


def test_a_large_clusters_figure_draws_a_sample_over_the_band(outputs, tmp_path, monkeypatch):
    """A cluster of 1,000 genes: 200 of them drawn, over the band of all; before, all 1,000
    lines, a solid block of colour (5,653 genes in a bulk RNA-seq run) that also made
    matplotlib warn 'Creating legend with loc="best" can be slow'."""
    from types import SimpleNamespace

    saved = []
    monkeypatch.setattr(outputs, "save_figure", lambda fig, path: saved.append(fig.axes[0]))
    args = SimpleNamespace(figs_dir=str(tmp_path), noise=False, seed=0)
    scaled = np.random.default_rng(0).normal(size=(1003, 6))
    found = SimpleNamespace(
        assignments=np.r_[np.zeros(1000, int), np.ones(3, int)],
        colors=cluster_colors(2),
        table=SimpleNamespace(times=None),
    )
    outputs._member_figure(args, "toy", found, 0, scaled, "time point", "z-score per gene")
    outputs._member_figure(args, "toy", found, 1, scaled, "time point", "z-score per gene")
    big, small = saved
    assert len(big.lines) == 201  # 200 genes and the mean
    assert [t.get_text() for t in big.get_legend().get_texts()] == [
        "its 1000 genes, middle 80%",
        "200 of 1000 genes, at random",
        "cluster mean",
    ]
    assert len(big.collections) == 1  # the band
    assert len(small.lines) == 4  # every gene of a small cluster, and no band
    assert not small.collections


def test_data_warnings_are_printed_before_the_fits(script, tmp_path, capsys, monkeypatch):
    """A table of raw counts is said before the fits (minutes on a genome), not after them."""
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=8, random_state=1)
    counts = np.round(np.exp(X - X.min() + 2) * 50)  # whole numbers above 1,000
    path = tmp_path / "counts.csv"
    write_table(path, counts, genes=[f"g{i}" for i in range(12)], times=UNEVEN)
    before_fits = []
    real = script.cluster_genes

    def cluster_genes(*args, **kwargs):
        before_fits.append(capsys.readouterr().err)
        return real(*args, **kwargs)

    monkeypatch.setattr(script, "cluster_genes", cluster_genes)
    assert script.main([str(path), "--n-clusters", "2", *TINY, *_dirs(tmp_path)]) == 0
    assert "warning: X looks like raw counts" in before_fits[0]
    assert "looks like raw counts" not in capsys.readouterr().err  # said once


@pytest.mark.parametrize("device", ["gpu", "cudax", "cuda:one"])
def test_an_unknown_device_is_refused_before_the_data_are_read(
    script, dataset, capsys, monkeypatch, device
):
    # before: 'gpu' was refused by the fit, after the data were read and analysed (minutes
    # for a large .h5ad); 'cudax' and 'cuda:one' ran on the CPU without CUDA, with a warning
    read = []
    monkeypatch.setattr(script, "read_input", lambda *a, **k: read.append(1))
    argv = ["toy", "--n-clusters", "3", "--device", device, *TINY, *_dirs(dataset)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err == f"error: Unknown --device {device!r}. Use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    )
    assert read == []
    assert not (dataset / "out").exists()


@pytest.mark.parametrize(
    ("option", "value", "have"),
    [("--sequence-length", "5", "12 time points per series"),
     ("--number-of-features", "2", "1 value(s) per time point")],
)  # fmt: skip
def test_a_shape_option_that_disagrees_with_the_data_says_to_leave_it_out(
    script, dataset, capsys, option, value, have
):
    # before: "... Fix the parameter or X (None takes X's).": no option takes None
    argv = ["toy", "--n-clusters", "3", option, value, *TINY, *_dirs(dataset)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {option} {value} was given, but X has {have}. Fix X, or {option} "
        f"(no {option} takes X's)."
    )
    assert not (dataset / "out").exists()


@pytest.mark.parametrize("script", ["train_and_gen.py", "gen_synthetic_data.py"])
def test_ctrl_c_while_the_script_loads_is_one_line_not_a_traceback(tmp_path, script):
    """Before: Ctrl-C in the seconds torch and rvagene take to import printed a
    KeyboardInterrupt traceback (later, the scripts' main says one line)."""
    code = (
        "import runpy, sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        f"sys.argv = [{script!r}, 'demo', '--data-dir', {str(tmp_path)!r}]\n"
        f"runpy.run_path({str(ROOT / script)!r}, run_name='__main__')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 130
    assert done.stderr == "error: interrupted; no file was replaced\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("script", "where"),
    [
        ("train_and_gen.py", "_train_and_gen.read_input"),
        ("gen_synthetic_data.py", "_gen_synthetic_data.simulate"),
    ],
)
def test_ctrl_c_at_the_command_line_is_one_line_and_status_130(tmp_path, script, where):
    """main raises KeyboardInterrupt saying what it left (a notebook calling it stops); the
    command line turns it into one line on stderr and status 130, not a traceback."""
    module, name = where.split(".")
    code = (
        "import runpy, sys\n"
        f"import rvagene.{module} as m\n"
        "def interrupt(*args, **kwargs):\n"
        "    raise KeyboardInterrupt\n"
        f"m.{name} = interrupt\n"
        f"sys.argv = [{script!r}, 'demo', '--data-dir', {str(tmp_path)!r}, '--n-clusters', '2']\n"
        f"runpy.run_path({str(ROOT / script)!r}, run_name='__main__')\n"
    )
    if script == "train_and_gen.py":
        X, labels = simulate(n_clusters=2, genes_per_cluster=4, sequence_length=6, random_state=0)
        write_ucr(tmp_path / "demo" / "demo_TRAIN", X, labels)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (130, "error: interrupted; no file was replaced\n")


def test_ctrl_c_while_a_script_exits_is_ignored(tmp_path):
    """Before: Ctrl-C in exit_now's exit functions (after the results were written) printed
    'Exception ignored in atexit callback' with a KeyboardInterrupt traceback."""
    code = (
        "import atexit, os, signal, time\n"
        "from rvagene._cli import exit_now\n"
        "def interrupted():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(0.2)\n"
        "    print('clean-up done', flush=True)\n"
        "atexit.register(interrupted)\n"
        "exit_now(0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (0, "clean-up done\n", "")


def test_ctrl_c_in_a_figure_process_is_taken_between_figures(outputs):
    """Before: Ctrl-C reached a forked figure process inside a figure, where it could land
    in matplotlib's clean-up callbacks ('Exception ignored in ...', a traceback, and the
    drawing went on); now the child finishes the figure at hand and draws no more."""
    import multiprocessing
    import os
    import signal
    import time

    if not outputs.fork_is_safe():
        pytest.skip("figures are drawn in forked processes only where forking is safe")

    def first():
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C reaches every process of the run
        time.sleep(0.2)
        print("first figure done")

    def second():
        print("second figure drawn")

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=outputs._draw_share, args=([first, second], send))
    child.start()
    send.close()
    text, _, error, _ = receive.recv()
    child.join()
    assert text == "first figure done\n"
    assert isinstance(error, KeyboardInterrupt)


def test_a_ctrl_c_that_python_swallowed_still_stops_the_run(script, dataset, capsys, monkeypatch):
    """Before: a Ctrl-C that landed in a callback Python runs itself (at the fork of a fit's
    or a figure's process: 'Exception ignored in: <function _releaseLock ...>') was printed
    and dropped, and the run went on to replace the earlier results with status 0."""
    import signal

    from conftest import swallowing_a_ctrl_c

    argv = ["toy", "--n-jobs", "1", "--n-clusters", "2", *TINY, *_dirs(dataset)]
    assert script.main(argv) == 0
    files = {p: p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file()}
    capsys.readouterr()
    monkeypatch.setattr(script, "describe", swallowing_a_ctrl_c(script.describe))
    # Python's own handler, which main replaces (pytest run with & from a script ignores it)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt, match="^interrupted; no file was replaced$"):
            script.main([*argv, "--seed", "1", "--overwrite"])
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert {p: p.read_bytes() for p in sorted(dataset.rglob("*")) if p.is_file()} == files
    assert after is signal.default_int_handler  # put back


@pytest.mark.parametrize("handler", ["ignored", "own"])
def test_a_sigint_the_caller_ignores_or_handles_is_left_to_it(
    script, dataset, capsys, monkeypatch, handler
):
    """Before: main put its own SIGINT handler in place of any, so a run started with & from
    a shell script (SIGINT ignored, so that Ctrl-C stops the foreground job only) or called
    under a program's own handler stopped with status 130 at a SIGINT meant for others."""
    import os
    import signal

    argv = ["toy", "--n-jobs", "1", "--n-clusters", "2", *TINY, *_dirs(dataset)]
    real = script.describe
    seen = []

    def sigint_meanwhile(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    def own(signum, frame):
        seen.append(signum)

    monkeypatch.setattr(script, "describe", sigint_meanwhile)
    chosen = signal.SIG_IGN if handler == "ignored" else own
    previous = signal.signal(signal.SIGINT, chosen)
    try:
        status = script.main(argv)
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert status == 0, capsys.readouterr().err
    assert after is chosen
    assert seen == ([] if handler == "ignored" else [signal.SIGINT])
    assert any((dataset / "out").iterdir())  # the results were written


def test_a_figure_process_of_a_run_that_ignores_sigint_ignores_it(outputs):
    """Before: the figure process took SIGINT even when the run ignored it (started with &
    from a shell script), and stopped drawing at a Ctrl-C meant for the foreground job."""
    import multiprocessing
    import os
    import signal

    if not outputs.fork_is_safe():
        pytest.skip("figures are drawn in forked processes only where forking is safe")

    def first():
        os.kill(os.getpid(), signal.SIGINT)
        print("first figure done")

    def second():
        print("second figure drawn")

    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child
    try:
        child = context.Process(target=outputs._draw_share, args=([first, second], send))
        child.start()
    finally:
        signal.signal(signal.SIGINT, previous)
    send.close()
    text, _, error, _ = receive.recv()
    child.join()
    assert error is None
    assert text == "first figure done\nsecond figure drawn\n"


def test_generated_series_are_gene_clusterings_whatever_the_numbering(script, dataset):
    # the script numbers clusters after the labels given; its series were drawn in that
    # order, so a cluster's series changed with the labels and were not GeneClustering's
    from rvagene import GeneClustering

    X, y = read_ucr(dataset / "data" / "toy" / "toy_TRAIN")
    params = {"n_epochs": 3, "hidden_size": 8, "latent_length": 2}
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=params).fit(X)
    expected = gc.generate(4)
    flipped = dataset / "flipped.csv"
    flipped.write_text("".join(f"gene_{i + 1},{2 - v}\n" for i, v in enumerate(y)))
    for labels in ([], ["--labels", str(flipped), "--overwrite"]):
        argv = ["toy", "--n-clusters", "3", "--n-generate", "4", *labels, *TINY]
        assert script.main([*argv, *_dirs(dataset)]) == 0
        out = dataset / "out"
        shown = np.loadtxt(out / "toy_clusters.csv", delimiter=",", skiprows=1, usecols=1)
        generated = np.loadtxt(out / "toy_generated.csv", delimiter=",", skiprows=1)
        np.testing.assert_array_equal(load(out / "toy_model.pt").transform(X), gc.latent_)
        for j in range(3):
            (i,) = set(gc.labels_[shown == j])  # display cluster j is gc's cluster i
            rows = generated[generated[:, 0] == j, 2:]
            np.testing.assert_allclose(rows, expected[i], rtol=1e-5, atol=1e-5)

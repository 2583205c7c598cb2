import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rvagene.data import read_table, read_ucr

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen():
    """The command's code, in the package (the top-level file calls its main)."""
    return importlib.import_module("rvagene._gen_synthetic_data")


def test_the_top_level_file_and_the_console_command_run_the_package_code(gen):
    spec = importlib.util.spec_from_file_location("gen_top", ROOT / "gen_synthetic_data.py")
    top = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(top)
    assert top.main is gen.main
    text = (ROOT / "pyproject.toml").read_text()
    assert 'rvagene-simulate = "rvagene._gen_synthetic_data:console"' in text


def _dirs(tmp_path):
    return ["--data-dir", str(tmp_path / "data"), "--figs-dir", str(tmp_path / "figs")]


def test_writes_data_config_and_figures(gen, tmp_path):
    argv = ["tiny", "--n-clusters", "3", "--genes-per-cluster", "4", "--length", "10"]
    assert gen.main([*argv, "--n-test-per-cluster", "2", *_dirs(tmp_path)]) == 0

    out = tmp_path / "data" / "tiny"
    X, labels = read_ucr(out / "tiny_TRAIN")
    assert X.shape == (12, 10)
    np.testing.assert_array_equal(labels, np.repeat([0, 1, 2], 4))
    Xt, labels_t = read_ucr(out / "tiny_TEST")
    assert Xt.shape == (6, 10)
    np.testing.assert_array_equal(labels_t, np.repeat([0, 1, 2], 2))
    # Held-out genes are new draws, not copies of training genes.
    assert not (Xt[:, None, :] == X[None, :, :]).all(axis=-1).any()

    config = json.loads((out / "config.json").read_text())
    assert config["name"] == "tiny"
    assert config["n_clusters"] == 3
    assert config["seed"] == 0

    figs = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert figs == ["cluster_tiny0.png", "cluster_tiny1.png", "cluster_tiny2.png"]
    assert all((tmp_path / "figs" / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for f in figs)
    # No temporary files are left behind.
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".")]


def test_same_seed_same_data_and_held_out_shares_means(gen, tmp_path):
    base = ["d", "--n-clusters", "2", "--genes-per-cluster", "40", "--length", "30"]
    assert gen.main([*base, "--n-test-per-cluster", "20", *_dirs(tmp_path / "a")]) == 0
    assert gen.main([*base, "--n-test-per-cluster", "20", *_dirs(tmp_path / "b")]) == 0
    a = (tmp_path / "a" / "data" / "d" / "d_TRAIN").read_bytes()
    b = (tmp_path / "b" / "data" / "d" / "d_TRAIN").read_bytes()
    assert a == b
    X, y = read_ucr(tmp_path / "a" / "data" / "d" / "d_TRAIN")
    Xt, yt = read_ucr(tmp_path / "a" / "data" / "d" / "d_TEST")
    for k in range(2):
        # The average of each cluster's test genes is closer to its own training average.
        own = np.linalg.norm(Xt[yt == k].mean(0) - X[y == k].mean(0))
        other = np.linalg.norm(Xt[yt == k].mean(0) - X[y == 1 - k].mean(0))
        assert own < other

    assert gen.main([*base, "--seed", "1", *_dirs(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "data" / "d" / "d_TRAIN").read_bytes() != a


def test_imbalanced_sizes_and_no_test_file(gen, tmp_path):
    argv = ["imb", "--n-clusters", "3", "--genes-per-cluster", "2", "5", "9", "--length", "8"]
    assert gen.main([*argv, "--n-test-per-cluster", "0", "--method", "add", *_dirs(tmp_path)]) == 0
    _, labels = read_ucr(tmp_path / "data" / "imb" / "imb_TRAIN")
    np.testing.assert_array_equal(np.bincount(labels), [2, 5, 9])
    assert not (tmp_path / "data" / "imb" / "imb_TEST").exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["x", "--n-clusters", "3", "--genes-per-cluster", "1", "2"],
        ["x", "--length", "5", "--replicates", "2", "--replicate-noise", "1e308"],  # overflows
        # before: written, with values beyond float32 that train_and_gen.py reads as missing
        ["x", "--length", "5", "--genes-per-cluster", "2", "--gene-offset", "1e300"],
        ["x", "--length", "5", "--genes-per-cluster", "2", "--noise", "1e300"],
    ],
)
def test_bad_values_from_simulate_exit_2_with_one_line(gen, tmp_path, capsys, bad):
    assert gen.main([*bad, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "bad",
    [
        ["a/b"],
        [".."],
        ["x", "--genes-per-cluster", "0"],
        ["x", "--method", "multiply"],
        ["x", "--length", "ten"],
        ["x", "--n-clusters", "0"],
        ["x", "--length", "1"],
        ["x", "--seed", "-1"],
        ["x", "--replicate-noise", "inf"],
        ["x", "--noise", "-1"],
        ["x", "--gene-scale", "nan"],
        ["x", "--gene-offset", "-2"],
        [],
    ],
)
def test_bad_arguments_exit_2_with_one_line(gen, tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as info:
        gen.main([*bad, *_dirs(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error" in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert "sequence_length" not in err  # the option's name, not simulate's parameter
    assert not (tmp_path / "data").exists()


def test_a_file_where_a_folder_goes_stops_before_writing(gen, tmp_path, capsys):
    (tmp_path / "figs").write_text("not a folder")
    with pytest.raises(SystemExit) as info:
        gen.main(["x", "--length", "5", *_dirs(tmp_path)])
    assert info.value.code == 2
    assert "argument --figs-dir: " in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_failed_run_keeps_existing_files(gen, tmp_path):
    argv = ["keep", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "6"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 0
    train = tmp_path / "data" / "keep" / "keep_TRAIN"
    before = train.read_bytes()
    sizes = ["--genes-per-cluster", "3", "4", "5"]  # 3 sizes for 2 clusters: simulate refuses
    assert gen.main([*argv, *sizes, "--overwrite", *_dirs(tmp_path)]) == 2
    assert train.read_bytes() == before


def test_an_existing_data_set_is_replaced_only_with_overwrite(gen, tmp_path, capsys, monkeypatch):
    """Before: a second run replaced data/<name>/ in silence and kept a _TEST of other data."""
    argv = ["keep", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "6"]
    assert gen.main([*argv, "--n-test-per-cluster", "2", *_dirs(tmp_path)]) == 0
    folder = tmp_path / "data" / "keep"
    files = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    capsys.readouterr()
    assert gen.main([*argv, "--seed", "1", *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"error: {folder / 'keep_TRAIN'} exists; give --overwrite to replace the data set "
        "'keep', or choose another name or --data-dir."
    ]

    # a figure that fails: nothing of the new data set replaces the old one
    def broken(fig, path, *a, **kw):
        msg = "disk full"
        raise OSError(msg)

    monkeypatch.setattr(gen, "save_figure", broken)
    assert gen.main([*argv, "--seed", "1", "--overwrite", *_dirs(tmp_path)]) == 1
    assert capsys.readouterr().err == "error: disk full; no file was replaced\n"
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == files
    monkeypatch.undo()
    again = [*argv, "--seed", "1", "--length", "9", "--n-test-per-cluster", "0", "--overwrite"]
    assert gen.main([*again, *_dirs(tmp_path)]) == 0
    assert "removed" in capsys.readouterr().out
    assert read_ucr(folder / "keep_TRAIN")[0].shape == (6, 9)
    # fewer clusters: the earlier extra figures go, unless another data set's has the name
    figs = tmp_path / "figs"
    assert gen.main([*again, "--n-clusters", "11", *_dirs(tmp_path)]) == 0
    assert gen.main(["keep1", "--n-clusters", "1", "--length", "6", *_dirs(tmp_path)]) == 0
    assert gen.main([*again, "--n-clusters", "2", *_dirs(tmp_path)]) == 0
    assert (figs / "cluster_keep1.png").is_file()
    assert not (figs / "cluster_keep2.png").exists()
    assert not (figs / "cluster_keep9.png").exists()
    assert (figs / "cluster_keep10.png").is_file()  # keep1's cluster 0 (keep's 10): kept
    assert "removed" in capsys.readouterr().out
    assert not (folder / "keep_TEST").exists()  # it held 6-point series of the other data


def test_a_folder_that_cannot_be_written_is_refused_before_the_data(gen, tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    argv = ["x", "--length", "5", "--data-dir", str(tmp_path / "data")]
    assert gen.main([*argv, "--figs-dir", str(tmp_path / "afile" / "figs")]) == 2
    assert "--figs-dir" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_log_times_and_replicates_then_train(gen, tmp_path):
    """--time-spacing log --replicates 2 writes gene-named tables that train_and_gen reads."""
    argv = ["ur", "--n-clusters", "2", "--genes-per-cluster", "5", "--length", "8"]
    more = ["--time-spacing", "log", "--replicates", "2", "--n-test-per-cluster", "1"]
    assert gen.main([*argv, *more, *_dirs(tmp_path)]) == 0
    table = read_table(tmp_path / "data" / "ur" / "ur_TRAIN")
    assert table.X.shape == (10, 8, 2)
    assert table.replicates == [1, 2]
    gaps = np.diff(table.times)
    assert table.times[0] == 0
    assert np.all(gaps > 0)
    assert gaps[-1] > 5 * gaps[0]  # uneven
    np.testing.assert_array_equal(table.labels, np.repeat([0, 1], 5))
    assert read_table(tmp_path / "data" / "ur" / "ur_TEST").X.shape == (2, 8, 2)
    assert (tmp_path / "figs" / "cluster_ur1.png").stat().st_size > 1000
    # Replicates differ by the replicate noise only (sd 0.1 by default).
    assert 0.05 < np.std(table.X[:, :, 0] - table.X[:, :, 1]) / np.sqrt(2) < 0.2

    train = importlib.import_module("rvagene._train_and_gen")
    tiny = ["--n-epochs", "2", "--hidden-size", "8", "--latent-length", "2", "--quiet"]
    out = ["--figs-dir", str(tmp_path / "figs"), "--out-dir", str(tmp_path / "out")]
    data = ["--data-dir", str(tmp_path / "data")]
    assert train.main(["ur", "--n-clusters", "2", *tiny, *data, *out]) == 0
    assert (tmp_path / "figs" / "generated_cluster_ur1.png").stat().st_size > 1000


@pytest.mark.parametrize("option", ["--noise", "--gene-scale", "--gene-offset"])
def test_a_bad_noise_option_is_named_before_the_data_set_is_looked_at(
    gen, tmp_path, capsys, option
):
    """Before: "noise must be ..." in simulate's words, and only once --overwrite was given."""
    assert gen.main(["x", "--length", "4", "--genes-per-cluster", "2", *_dirs(tmp_path)]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        gen.main(["x", option, "-1", *_dirs(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert f"argument {option}: expected a finite number >= 0, got -1.0" in err
    assert len(err.splitlines()) == 1


def test_values_beyond_float32_are_refused_in_the_options_words(gen, tmp_path, capsys):
    argv = ["x", "--length", "5", "--genes-per-cluster", "2", "--gene-offset", "1e300"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "beyond the 3.4e+38 (float32) that train_and_gen.py reads" in err
    assert "--gene-offset" in err


def test_bad_replicate_noise_exit_2(gen, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        gen.main(["x", "--replicate-noise", "-1", *_dirs(tmp_path)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "--replicate-noise" in err
    assert len(err.splitlines()) == 1


# --------------------------------------------------------------------------- issue 14


def test_figures_use_time_points_and_name_the_lines(gen, tmp_path, monkeypatch):
    seen = {}
    original = gen.save_figure

    def spy(fig, path, *a, **kw):
        ax = fig.axes[0]
        seen[Path(path).name] = (
            ax.get_xlabel(),
            ax.lines[0].get_xdata().max(),
            [t.get_text() for t in ax.get_legend().get_texts()],
        )
        return original(fig, path, *a, **kw)

    monkeypatch.setattr(gen, "save_figure", spy)
    argv = ["ev", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "20"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 0
    # even spacing is written without times: the x-axis is the time point, 0 .. 19, as in
    # train_and_gen.py's figures of the same file (it was 0 .. 0.1)
    assert seen["cluster_ev0.png"] == ("time point", 19, ["3 genes", "cluster mean (noise-free)"])
    assert gen.main([*argv, "--time-spacing", "log", "--overwrite", *_dirs(tmp_path)]) == 0
    table = read_table(tmp_path / "data" / "ev" / "ev_TRAIN")
    assert seen["cluster_ev1.png"][0] == "time"
    assert seen["cluster_ev1.png"][1] == table.times[-1]


def test_announces_the_files_it_writes(gen, tmp_path, capsys):
    argv = ["an", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "8"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 0
    out = capsys.readouterr().out
    written = sorted(str(p) for p in tmp_path.rglob("*") if p.is_file())
    lines = [line for line in out.splitlines() if line.startswith("wrote ")]
    announced = sorted(line.split(" ", 1)[1].split(" (")[0] for line in lines)
    assert announced == written


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)


def test_the_two_commands_leave_git_status_clean(tmp_path):
    """The README's first command writes data/, figs/ and results/: all ignored, none tracked."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    tracked = subprocess.run(
        ["git", "ls-files", "data", "figs", "results"], cwd=ROOT, capture_output=True, text=True
    )
    if tracked.returncode != 0:
        pytest.skip("not a git checkout")
    assert tracked.stdout == ""  # no generated file is tracked
    repo = tmp_path / "clone"
    repo.mkdir()
    shutil.copy(ROOT / ".gitignore", repo / ".gitignore")
    _git("init", "-q", cwd=repo)
    _git("add", ".gitignore", cwd=repo)
    _git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=repo)
    small = ["--n-clusters", "2", "--genes-per-cluster", "4", "--length", "8"]
    tiny = ["--n-epochs", "2", "--hidden-size", "8", "--latent-length", "2", "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    for command in (
        ["gen_synthetic_data.py", "demosim", *small],
        ["train_and_gen.py", "demosim", "--n-clusters", "2", *tiny],
    ):
        proc = subprocess.run(
            [sys.executable, str(ROOT / command[0]), *command[1:]],
            cwd=repo,
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
    assert (repo / "data" / "demosim" / "demosim_TRAIN").is_file()
    assert (repo / "figs" / "generated_cluster_demosim1.png").is_file()
    assert (repo / "results" / "demosim_model.pt").is_file()
    (repo / "model.pt").write_bytes(b"x")  # a model saved in the root by hand
    assert _git("status", "--porcelain", cwd=repo).stdout == ""


def test_with_gene_scales_and_offsets_the_black_line_is_not_called_the_genes_mean(
    gen, tmp_path, monkeypatch
):
    """--gene-offset 3: the genes lay at -6..6 around a line at 0 named 'cluster mean'."""
    legends = {}
    original = gen.save_figure

    def spy(fig, path, *a, **kw):
        legends[Path(path).name] = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        return original(fig, path, *a, **kw)

    monkeypatch.setattr(gen, "save_figure", spy)
    argv = ["off", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "10"]
    assert gen.main([*argv, "--gene-offset", "3", *_dirs(tmp_path)]) == 0
    assert legends["cluster_off0.png"][1] == "noise-free shape (before gene scale/offset)"


@pytest.mark.parametrize("where", ["simulate", "save_figure", "moves"])
def test_ctrl_c_says_what_it_left_and_keeps_the_earlier_data_set(
    gen, tmp_path, capsys, monkeypatch, where
):
    """Before: Ctrl-C while simulating or drawing the figures ended in a traceback; later,
    main returned 130, so a notebook or a loop calling main went on (train_and_gen's too).
    main now raises KeyboardInterrupt saying what it left; the command line says it in one
    line, with status 130 (test_ctrl_c_at_the_command_line_is_one_line_and_status_130)."""
    import signal

    import rvagene._utils as utils

    argv = ["keep", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "6"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 0
    files = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    capsys.readouterr()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    replace = os.replace

    def interrupting_replace(a, b):  # SIGINT during the moves: held back until they are done
        os.kill(os.getpid(), signal.SIGINT)
        replace(a, b)

    if where == "moves":
        monkeypatch.setattr(utils.os, "replace", interrupting_replace)
    else:
        monkeypatch.setattr(gen, where, interrupt)
    try:
        with pytest.raises(KeyboardInterrupt) as raised:
            gen.main([*argv, "--seed", "1", "--overwrite", *_dirs(tmp_path)])
    finally:
        monkeypatch.undo()
    assert capsys.readouterr().err == ""  # the command line's one line: run_command's
    now = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    if where == "moves":
        assert str(raised.value) == "interrupted; the data set was written"
        assert now.keys() == files.keys()
        assert now != files
    else:
        assert str(raised.value) == "interrupted; no file was replaced"
        assert now == files  # no temporary file left, nothing replaced


def test_a_ctrl_c_that_python_swallowed_still_stops_the_run(gen, tmp_path, capsys, monkeypatch):
    """Before: gen_synthetic_data lacked train_and_gen's handling; a Ctrl-C that landed in a
    callback Python runs itself (matplotlib's weakref clean-up while drawing: 'Exception
    ignored in ...') was dropped, and the run replaced the earlier data set, status 0."""
    import signal

    from conftest import swallowing_a_ctrl_c

    argv = ["keep", "--n-clusters", "2", "--genes-per-cluster", "3", "--length", "6"]
    assert gen.main([*argv, *_dirs(tmp_path)]) == 0
    files = {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()}
    monkeypatch.setattr(gen, "save_figure", swallowing_a_ctrl_c(gen.save_figure))
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # Python's own
    try:
        with pytest.raises(KeyboardInterrupt, match="^interrupted; no file was replaced$"):
            gen.main([*argv, "--seed", "1", "--overwrite", *_dirs(tmp_path)])
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert {p: p.read_bytes() for p in sorted(tmp_path.rglob("*")) if p.is_file()} == files
    assert after is signal.default_int_handler  # put back

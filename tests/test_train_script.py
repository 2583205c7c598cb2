import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rvagene import load, simulate
from rvagene.data import write_table, write_ucr

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--n-epochs", "3", "--hidden-size", "8", "--latent-length", "2", "--quiet"]


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def script():
    return _load_script("train_and_gen")


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
    rows = (out / "toy_clusters.csv").read_text().splitlines()
    assert rows[0] == "gene,cluster,label"
    assert len(rows) == 25
    model = load(out / "toy_model.pt")
    assert model.n_features_in_ == 12
    config = json.loads((out / "toy_config.json").read_text())
    assert config["n_clusters"] == 3
    assert "ARI" in capsys.readouterr().out


def test_every_model_parameter_is_an_option(script):
    from rvagene import RVAgene

    args = script.parse_args(["x"])
    for name in RVAgene().get_params():
        if name not in ("random_state", "verbose", "dload", "cuda"):
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
    assert rows[0] == "gene,cluster"
    assert rows[1].startswith("Gene0,")
    assert "ARI" not in capsys.readouterr().out


def test_chooses_k_when_not_given(script, dataset, capsys):
    assert script.main(["toy", *TINY, *_dirs(dataset)]) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuch"], "nosuch"),
        (["toy", "--n-clusters", "500"], "more than the 24 genes"),
        (["toy", "--optimizer", "adagrad"], "Unknown optimizer"),
        (["toy", "--batch-size", "0"], "batch_size must be"),
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

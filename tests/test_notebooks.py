"""Run the notebooks top to bottom in quick mode (RVAGENE_QUICK=1), as CI does."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REFERENCE, REFERENCE_ENV

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
# The project's notebooks by name: a run of one saved beside it (nbconvert's
# demo.nbconvert.ipynb, or --output demo_run.ipynb) holds outputs and is not one of them.
NOTEBOOKS = [ROOT / "demo.ipynb", ROOT / "single_cell_demo.ipynb"]
# The paper's ESC matrix in the original's reference data (conftest.REFERENCE, from
# RVAGENE_REFERENCE_DIR); the notebook finds it there through the same variable.
ESC = REFERENCE / "data" / "ESC"


def _stderr(nb):
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )


def _stdout(nb):
    return "".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, monkeypatch):
    monkeypatch.setenv("RVAGENE_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    if "RVAGENE_ESC_DIR" not in os.environ and (ESC / "ESC_TRAIN").is_file():
        monkeypatch.setenv(REFERENCE_ENV, str(REFERENCE))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    assert "TqdmWarning" not in _stderr(nb)
    if path.name == "demo.ipynb":
        assert _stderr(nb) == ""  # no warning at all
    if path.name == "single_cell_demo.ipynb":
        assert "holds raw counts" not in _stderr(nb)  # its counts are meant: said, silenced
        out = _stdout(nb)
        if os.environ.get("RVAGENE_ESC_DIR") or (ESC / "ESC_TRAIN").is_file():
            assert "K-means(2) vs up/down: ARI" in out
        else:
            assert "ESC_DIR is not set: skipping the ESC section" in out
        assert "rvagene_cluster" in out  # the AnnData round trip


def test_single_cell_notebook_falls_back_without_the_esc_data(tmp_path):
    """A folder without the GEO files: the ESC cell says what is missing and goes on."""
    nb = nbformat.read(ROOT / "single_cell_demo.ipynb", as_version=4)
    setup = nb.cells[1].source.replace('os.environ.get("RVAGENE_ESC_DIR")', repr(str(tmp_path)))
    assert setup != nb.cells[1].source  # the path is a variable at the top
    esc = next(c for c in nb.cells if "load_klein_esc(ESC_DIR" in c.source)
    code = "\n".join([setup, esc.source])
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipping the ESC section" in proc.stdout
    assert "GSE65525" in proc.stdout


def test_notebook_text_tells_how_to_get_the_esc_data():
    text = "".join(c.source for c in nbformat.read(ROOT / "single_cell_demo.ipynb", 4).cells)
    for needed in ("GSE65525", "load_klein_esc", "RVAGENE_ESC_DIR", "ESC_DIR =", REFERENCE_ENV):
        assert needed in text, needed


def test_no_user_facing_text_names_the_shared_folder():
    files = [*NOTEBOOKS, *ROOT.glob("*.py"), *(ROOT / "rvagene").glob("*.py")]
    named = [p.name for p in files if "../shared" in p.read_text(encoding="utf-8")]
    assert named == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_stored_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert all(not c.get("outputs") for c in nb["cells"] if c["cell_type"] == "code")
    assert path.stat().st_size < 50_000


def test_nbconvert_runs_a_notebook_from_the_shell(tmp_path):
    """requirements-dev.txt installs what `jupyter nbconvert --execute` needs."""
    assert "nbconvert" in (ROOT / "requirements-dev.txt").read_text()
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which(
        "jupyter"
    )
    assert jupyter, "jupyter is not installed: pip install -r requirements-dev.txt"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nbformat.write(nb, tmp_path / "t.ipynb")
    proc = subprocess.run(
        [jupyter, "nbconvert", "--to", "notebook", "--execute", "t.ipynb", "--output", "out"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    done = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert done.cells[0].outputs[0]["text"] == "42\n"


def test_demo_says_how_many_of_its_genes_demosim_shares(tmp_path):
    """Section 1's count of its genes that `gen_synthetic_data.py demosim` also writes.

    Before, it said none were ('its genes are not the ones below'); 90 of the 120 are, as the
    two draws give gene i the same noise: those in the same cluster in both are equal.
    """
    import importlib

    from rvagene import read_ucr, simulate

    gen = importlib.import_module("rvagene._gen_synthetic_data")
    argv = ["demosim", "--data-dir", str(tmp_path / "data"), "--figs-dir", str(tmp_path)]
    assert gen.main(argv) == 0
    demosim, _ = read_ucr(tmp_path / "data" / "demosim" / "demosim_TRAIN")
    # the notebook's cell in full mode
    X, _ = simulate(n_clusters=6, genes_per_cluster=20, sequence_length=100, random_state=0)
    shared = int((X[:, None, :] == demosim[None, :, :]).all(axis=-1).any(axis=1).sum())
    text = nbformat.read(ROOT / "demo.ipynb", as_version=4).cells[2].source
    said = re.search(r"only (\d+) of the (\d+) genes below", " ".join(text.split()))
    assert said, text
    assert (int(said[1]), int(said[2])) == (shared, len(X))

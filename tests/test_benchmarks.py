"""The benchmarks' smoke modes leave the published results files alone.

The benchmarks themselves are never run here: their fits are replaced by a stub, and only the
choice of the file written is checked.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import _common
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_single_cell_quick_keeps_the_results_file(monkeypatch, tmp_path):
    bench = _load("single_cell", monkeypatch)
    written = []
    monkeypatch.setattr(bench, "simulated_row", lambda n_cells, seed: {"data": "stub"})
    monkeypatch.setattr(bench, "write_csv", lambda path, *args, **kw: written.append(Path(path)))
    assert bench.main(["--quick"]) == 0
    assert written == []  # before: benchmarks/results/single_cell.csv, replaced by one row
    assert bench.main(["--quick", "--out", str(tmp_path / "quick.csv")]) == 0
    assert written == [tmp_path / "quick.csv"]
    assert bench.main(["--n-cells", "300", "--seeds", "0", "--esc-seeds", ""]) == 0
    assert written[-1] == BENCHMARKS / "results" / "single_cell.csv"

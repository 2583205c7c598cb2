"""Single-cell path benchmark: pseudotime recovery and gene-program recovery, plus ESC.

Simulated data (``rvagene.simulate.simulate_single_cell``, one data set per seed): diffusion
pseudotime is computed from the simulator's root cell, cells are averaged over windows of
40 cells, and RVAgene (its defaults) is fitted on the genes x windows matrix. It reports

* the Spearman correlation of each window's pseudotime with its cells' mean true time
  (target >= 0.9), and of the cells' pseudotime with their true time;
* the ARI of K-means (k = number of programs) on the latent means against the true
  programs (target >= 0.9), and without the flat genes (whose z-scored windows are noise);
* the ARI of K-means on the z-scored windows (a classical baseline) and the times.

ESC (``../shared/data/reference/data/ESC/ESC_TRAIN``, 732 genes x 68 windows, raw values):
ARI of K-means(2) on the latent means of a default RVAgene against the up/down labels
(target >= 0.95; the original pipeline reaches 0.10). Prints a table, writes the rows to
``benchmarks/results/single_cell.csv`` (with ``--quick``, only to ``--out`` when given).
Never run by the unit tests::

    python benchmarks/single_cell.py                    # about 5-10 minutes on 2 cores
    python benchmarks/single_cell.py --quick            # one seed, 1500 cells, no ESC
    python benchmarks/single_cell.py --n-cells 1500,3000 --seeds 0,1,2 --esc-seeds 0,1
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from rvagene import RVAgene, read_ucr
from rvagene.simulate import simulate_single_cell
from rvagene.single_cell import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REFERENCE, kmeans_scores, write_csv, zscore  # noqa: E402

HERE = Path(__file__).resolve().parent
ESC = REFERENCE / "data" / "ESC" / "ESC_TRAIN"
WINDOW = 40


def _ints(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v.strip()]


def _ari(labels, Z, k):
    return kmeans_scores(Z, labels, k)["ari"]


def simulated_row(n_cells: int, seed: int) -> dict:
    adata = simulate_single_cell(n_cells=n_cells, random_state=seed)
    t0 = time.perf_counter()
    series = prepare(adata, root_cell=int(adata.uns["root_cell"]), window_length=WINDOW)
    t_prep = time.perf_counter() - t0
    true_time = adata.obs["true_time"].reindex(series.cell_names).to_numpy()
    window_time = np.bincount(series.cell_window, weights=true_time) / series.window_sizes
    programs = adata.var["program"].to_numpy()
    k = len(set(programs))
    dynamic = programs != "flat"

    t0 = time.perf_counter()
    model = RVAgene(random_state=seed).fit(series.X)
    t_fit = time.perf_counter() - t0
    Z = model.transform(series.X)
    return {
        "data": f"simulated {n_cells} cells",
        "seed": seed,
        "shape": f"{series.X.shape[0]}x{series.X.shape[1]}",
        "spearman_window": spearmanr(series.window_pseudotime, window_time).statistic,
        "spearman_cell": spearmanr(series.cell_pseudotime, true_time).statistic,
        "ari": _ari(programs, Z, k),
        "ari_no_flat": _ari(programs[dynamic], Z[dynamic], k - 1),
        "ari_kmeans_z": _ari(programs, zscore(series.X), k),
        "epochs": model.n_iter_,
        "prepare_s": t_prep,
        "fit_s": t_fit,
    }


def esc_row(seed: int) -> dict:
    X, labels = read_ucr(ESC)
    t0 = time.perf_counter()
    model = RVAgene(random_state=seed).fit(X)
    t_fit = time.perf_counter() - t0
    return {
        "data": "ESC (reference)",
        "seed": seed,
        "shape": f"{X.shape[0]}x{X.shape[1]}",
        "ari": _ari(labels, model.transform(X), 2),
        "ari_kmeans_z": _ari(labels, zscore(X), 2),
        "epochs": model.n_iter_,
        "fit_s": t_fit,
    }


COLUMNS = (
    "data",
    "seed",
    "shape",
    "spearman_window",
    "spearman_cell",
    "ari",
    "ari_no_flat",
    "ari_kmeans_z",
    "epochs",
    "prepare_s",
    "fit_s",
)


def _cell(value) -> str:
    if value is None or value == "":
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-cells", default="1500", help="comma-separated cell counts")
    parser.add_argument("--seeds", default="0,1,2", help="simulated data and model seeds")
    parser.add_argument("--esc-seeds", default="0", help="model seeds on ESC ('' skips ESC)")
    parser.add_argument("--quick", action="store_true", help="seed 0, 1500 cells, no ESC")
    parser.add_argument(
        "--out",
        type=Path,
        help="CSV of the rows (default benchmarks/results/single_cell.csv; with --quick: not "
        "saved)",
    )
    args = parser.parse_args(argv)
    n_cells, seeds, esc_seeds = _ints(args.n_cells), _ints(args.seeds), _ints(args.esc_seeds)
    if args.quick:
        n_cells, seeds, esc_seeds = [1500], [0], []
    warnings.filterwarnings("ignore", category=FutureWarning)

    rows = []
    for n in n_cells:
        for seed in seeds:
            rows.append(simulated_row(n, seed))
            print(" ".join(_cell(rows[-1].get(c)) for c in COLUMNS), file=sys.stderr)
    if esc_seeds and not ESC.is_file():
        print(f"ESC skipped: {ESC} not found", file=sys.stderr)
    elif esc_seeds:
        for seed in esc_seeds:
            rows.append(esc_row(seed))
            print(" ".join(_cell(rows[-1].get(c)) for c in COLUMNS), file=sys.stderr)

    widths = [max(len(c), *(len(_cell(r.get(c))) for r in rows)) for c in COLUMNS]
    print("  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    for r in rows:
        print("  ".join(_cell(r.get(c)).ljust(w) for c, w in zip(COLUMNS, widths, strict=True)))
    out = args.out or (None if args.quick else HERE / "results" / "single_cell.csv")
    if out is not None:
        write_csv(out, rows, list(COLUMNS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

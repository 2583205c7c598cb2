"""Windows of many cells: time and peak memory of ``prepare`` on sparse and dense matrices.

A single-cell data set is stored sparse (CSR, float32, about a third of the values
stored), and ``rvagene.single_cell.prepare`` averages its cells over windows along
pseudotime. This benchmark builds one such AnnData (log1p of Poisson counts whose means
follow smooth trends along a pseudotime, some cells without a pseudotime), then times
``prepare(adata, pseudotime="pt")`` on three copies of the same values, side by side in
one run:

* ``sparse``: the CSR matrix, as AnnData holds it;
* ``dense float32``: the same values as a dense array;
* ``dense float64``: the same, in float64.

Peak memory is the largest memory ``tracemalloc`` saw allocated during the call (numpy's
and scipy's arrays are traced), above what was allocated before it. Each variant runs
``--repeats`` times, after one small call that loads what the first call loads; the
table gives the fastest time. The window means of every variant
are compared with those of ``dense float64``. Writes
``benchmarks/results/single_cell_scale.csv`` and ``.log``. Never run by the unit tests::

    python benchmarks/single_cell_scale.py                  # 40,000 cells x 2,500 genes
    python benchmarks/single_cell_scale.py --n-cells 5000 --n-genes 500 --out /tmp/s.csv
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, markdown_table, provenance, provenance_lines, write_csv  # noqa: E402


def make_adata(n_cells: int, n_genes: int, mean_log: float = -2.5, seed: int = 0):
    """Cells along a pseudotime: log1p(Poisson counts) as CSR float32; 1 % without a time.

    A gene's mean count is lognormal (``mean_log``, sd 1 on the log scale) times a smooth
    trend: -2.5 stores about a tenth of the values, as in droplet data.
    """
    import anndata
    from scipy import sparse

    rng = np.random.default_rng(seed)
    pt = rng.uniform(0.0, 1.0, n_cells)
    base = rng.lognormal(mean_log, 1.0, n_genes)  # most genes lowly expressed: sparse
    phase = rng.uniform(0.0, 2 * np.pi, n_genes)
    fold = rng.uniform(0.0, 2.0, n_genes)
    rows = []
    for start in range(0, n_cells, 5000):  # in blocks: the dense means never all at once
        t = pt[start : start + 5000, None]
        mu = base * np.exp(fold * np.sin(2 * np.pi * t + phase))
        rows.append(sparse.csr_matrix(np.log1p(rng.poisson(mu)).astype(np.float32)))
    X = sparse.vstack(rows, format="csr")
    pt[rng.choice(n_cells, n_cells // 100, replace=False)] = np.nan
    adata = anndata.AnnData(X)
    adata.obs_names = [f"cell{i}" for i in range(n_cells)]
    adata.var_names = [f"gene{j}" for j in range(n_genes)]
    adata.obs["pt"] = pt
    return adata


def measure(adata, repeats: int):
    """Fastest time (s), peak traced memory (MB) and the window means of ``prepare``."""
    from rvagene.single_cell import prepare

    best, peak, series = np.inf, 0.0, None
    for _ in range(repeats):
        tracemalloc.start()
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the cells dropped for no pseudotime: expected
            series = prepare(adata, pseudotime="pt")
        best = min(best, time.perf_counter() - start)
        peak = max(peak, (tracemalloc.get_traced_memory()[1] - before) / 2**20)
        tracemalloc.stop()
    return best, peak, series


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-cells", type=int, default=40000)
    parser.add_argument("--n-genes", type=int, default=2500)
    parser.add_argument("--mean-log", type=float, default=-2.5, help="genes' mean count")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "single_cell_scale.csv")
    args = parser.parse_args(argv)

    measure(make_adata(200, 20), 1)  # imports and first calls, outside the timings
    adata = make_adata(args.n_cells, args.n_genes, args.mean_log)
    stored = adata.X.nnz / (args.n_cells * args.n_genes)
    variants = {
        "sparse": adata,
        "dense float32": adata.copy(),
        "dense float64": adata.copy(),
    }
    variants["dense float32"].X = adata.X.toarray()
    variants["dense float64"].X = adata.X.toarray().astype(np.float64)
    results = {name: measure(a, args.repeats) for name, a in variants.items()}
    reference = results["dense float64"][2].X
    rows = []
    for name, (seconds, peak, series) in results.items():
        rows.append(
            {
                "variant": name,
                "n_cells": args.n_cells,
                "n_genes": args.n_genes,
                "stored_share": stored,
                "windows": series.X.shape[1],
                "seconds": seconds,
                "peak_mb": peak,
                "seconds_vs_dense64": seconds / results["dense float64"][0],
                "peak_vs_dense64": peak / results["dense float64"][1],
                "max_abs_diff": float(np.nanmax(np.abs(series.X - reference))),
            }
        )
    columns = list(rows[0])
    info = provenance()
    write_csv(args.out, rows, columns, info)
    heads = ["variant", "s", "peak MB", "s / dense64", "peak / dense64", "max abs diff"]
    table = [
        [r["variant"], r["seconds"], r["peak_mb"], r["seconds_vs_dense64"],
         r["peak_vs_dense64"], f"{r['max_abs_diff']:.1e}"]
        for r in rows
    ]  # fmt: skip
    text = (
        "\n".join(provenance_lines(info))
        + f"\n{args.n_cells} cells x {args.n_genes} genes, {stored:.0%} of values stored, "
        f"{rows[0]['windows']} windows of 40 cells\n\n" + markdown_table(table, heads) + "\n"
    )
    print(text)
    args.out.with_suffix(".log").write_text(text)


if __name__ == "__main__":
    main()

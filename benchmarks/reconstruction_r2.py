"""Do genes that the model rebuilds poorly land in the wrong cluster more often?

For each case x seed: ``GeneClustering(n_clusters=k, random_state=seed)`` with every other
default (what the scripts run at the true k). A gene counts as **misplaced** when the true
label of most of its cluster's genes is not its own. Its reconstruction R^2
(``GeneClustering.reconstruction_r2_``, :func:`rvagene.reconstruction_r2`) and its confidence
(``confidence_``, the membership probability of its own cluster) are the two flags a user has.
Per case x seed the script records the median R^2, the share of misplaced genes among the
quarter of genes with the lowest R^2 and among the rest, and the same split by confidence
below / at least 0.9 (``train_and_gen.py``'s ``--min-confidence``). Cases come from
``quality.py --export-cases DIR``::

    python benchmarks/reconstruction_r2.py --cases-from DIR --jobs 2

Writes ``benchmarks/results/reconstruction_r2.csv`` and prints the table, stamped with
commit, date, machine, load and command. Never run by the tests.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import GeneClustering  # noqa: E402

CASES = ("tc-impulse-6x12u", "tc-mixed-8x24e", "tc-impulse-10x18u", "sc-windows",
         "tc-impulse-8x24u", "esc", "yeast-alpha", "yeast-elu", "yeast-diau")  # fmt: skip
MIN_CONFIDENCE = 0.9  # train_and_gen.py's --min-confidence


def _misplaced(truth: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether each gene's true label differs from the most common one in its cluster."""
    codes = np.unique(truth, return_inverse=True)[1]
    majority = {c: np.bincount(codes[labels == c]).argmax() for c in np.unique(labels)}
    return np.array([majority[c] != t for c, t in zip(labels, codes, strict=True)])


def _share(flags: np.ndarray, where: np.ndarray) -> float:
    return float(flags[where].mean()) if where.any() else float("nan")


def run(case: cases.Case, seed: int) -> dict:
    """One fit at the true k; misplaced genes split by R^2 quartile and by confidence."""
    import torch

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits' notes; the scores are the point here
        gc = GeneClustering(n_clusters=case.k, random_state=seed).fit(case.X, times=case.times)
    keep = gc.labels_ >= 0
    wrong = _misplaced(np.asarray(case.y)[keep], gc.labels_[keep])
    r2, confidence = gc.reconstruction_r2_[keep], gc.confidence_[keep]
    low = r2 <= np.quantile(r2, 0.25)
    unsure = confidence < MIN_CONFIDENCE
    return {
        "case": case.name, "seed": seed, "k": case.k, "space": gc.space_,
        "median_r2": float(np.median(r2)), "misplaced": float(wrong.mean()),
        "misplaced_low_r2": _share(wrong, low), "misplaced_rest_r2": _share(wrong, ~low),
        "misplaced_unsure": _share(wrong, unsure), "misplaced_sure": _share(wrong, ~unsure),
        "misplaced_low_r2_and_sure": _share(wrong, low & ~unsure),
        "n_genes": int(keep.sum()), "n_unsure": int(unsure.sum()),
    }  # fmt: skip


def tables(rows: list[dict]) -> str:
    keys = ["median_r2", "misplaced", "misplaced_low_r2", "misplaced_rest_r2",
            "misplaced_unsure", "misplaced_sure", "misplaced_low_r2_and_sure"]  # fmt: skip
    heads = ["case (k)", "seeds", "median R^2", "misplaced, all", "lowest R^2 quarter",
             "other 3 quarters", f"confidence < {MIN_CONFIDENCE}", f">= {MIN_CONFIDENCE}",
             f"lowest R^2 quarter, confidence >= {MIN_CONFIDENCE}"]  # fmt: skip
    table = []
    for name in dict.fromkeys(r["case"] for r in rows):
        sel = [r for r in rows if r["case"] == name]
        table.append([f"{name} ({sel[0]['k']})", str(len(sel)),
                      *(float(np.nanmean([r[k] for r in sel])) for k in keys)])  # fmt: skip
    table.append(["mean of cases", "", *(float(np.nanmean([t[i + 2] for t in table]))
                                         for i in range(len(keys)))])  # fmt: skip
    return "\n".join([
        "**Share of misplaced genes** (the true label of most of its cluster is not its own), "
        "mean over seeds", "", _common.markdown_table(table, heads),
    ])  # fmt: skip


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    out = _common.RESULTS / "reconstruction_r2.csv"
    return cases.main_exported(argv, __doc__.splitlines()[0], CASES, out, run, tables)


if __name__ == "__main__":
    raise SystemExit(main())

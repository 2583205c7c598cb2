"""Does generation from the shipped pipeline stay in its cluster? (issue 19)

For each case x seed: ``GeneClustering(n_clusters=k, random_state=seed)`` with every other
default (what the scripts run), then ``generate(50)`` per cluster, scored by
:func:`rvagene.generation_scores` against the pipeline's own clusters: the share of
generated series nearest (z-scored) to their own cluster's mean of real members, the share
re-encoded into their own cluster, and the spread of the generated series against the
members'. Beside it, the clusters' ARI against the case's labels, the first score again over
the clusters that have a shape (``specificity_shaped``: at least 3 members whose mean z-scored
series is not noise, see ``MIN_COHERENCE``) and the cluster generated worst, with its size and
coherence, so a miss can be traced to its cluster. Generation shifts each cluster's series
by its members' mean residual (``offset``, the default), which puts the generated series' mean
at the members' mean by construction; so the nearest-mean share is also given without it
(``specificity_no_offset``, the same draws), and in a split-half check that does not score
the offset on the genes it came from: in every cluster of at least 4 genes, half the members
(drawn with the seed) give the spread and the offset, and the generated series are scored
against the other half's means (``split_half``, and ``split_half_no_offset``), over those
clusters. The cases are the hard suite's with at least 4 groups (written by ``quality.py
--export-cases DIR``)::

    python benchmarks/generation_pipeline.py --cases-from DIR --jobs 2
    python benchmarks/generation_pipeline.py --cases-from DIR --cases tc-impulse-4x12u --seeds 0

Writes ``benchmarks/results/generation_pipeline.csv`` and prints a table per case (mean and min
over seeds), stamped with commit, date, machine, load and command. Never run by the tests.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import (  # noqa: E402
    GeneClustering,
    as_time_series,
    clustering_scores,
    generate_around_centres,
    generation_scores,
)
from rvagene.evaluate import specificity_nearest_mean  # noqa: E402

CASES = ("tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows")  # fmt: skip
N_GENERATED = 50
COLUMNS = ["case", "seed", "k", "space", "n_fits", "ari", "specificity_nearest_mean",
           "specificity_reencoded", "spread_ratio", "spread_ratio_z", "specificity_shaped",
           "specificity_no_offset", "split_half", "split_half_no_offset",
           "worst_cluster", "seconds"]  # fmt: skip
SCORES = COLUMNS[5:14]
SPLIT_MIN_MEMBERS = 4  # clusters of at least this many genes are split in halves
# A cluster "has a shape" when it has at least MIN_MEMBERS genes and the mean of its members'
# z-scored series has a root-mean-square of at least MIN_COHERENCE (1: every member has the
# same shape; near 0: the z-scores are noise, as for flat genes, and "nearest mean" is moot).
MIN_MEMBERS = 3
MIN_COHERENCE = 0.5


def coherence(X, labels, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cluster: members, and the root-mean-square of the members' mean z-scored series."""
    Z = np.nan_to_num(_common.zscore(as_time_series(X))).reshape(len(X), -1)
    sizes = np.bincount(labels, minlength=k)
    rms = np.array([np.sqrt(np.mean(Z[labels == i].mean(axis=0) ** 2)) if sizes[i] else 0.0
                    for i in range(k)])  # fmt: skip
    return sizes, rms


def split_half(gc, X, labels, seed: int) -> dict:
    """Nearest-mean share of series generated from half of each cluster, on the other half."""
    k = gc.n_clusters_
    rng = np.random.default_rng(seed)
    first = np.zeros(len(X), dtype=bool)
    for i in range(k):
        members = rng.permutation(np.flatnonzero(labels == i))
        first[members[: (members.size + 1) // 2]] = True  # a lone gene: the first half
    big = np.bincount(labels, minlength=k) >= SPLIT_MIN_MEMBERS
    same = gc.generation_space_ == gc.embedding_space_
    out = {}
    for key, offset in (("split_half", True), ("split_half_no_offset", False)):
        generated = generate_around_centres(
            gc.model_, gc.cluster_centers_, N_GENERATED, random_state=seed, X=X[first],
            labels=labels[first], offset=offset, times=gc.times_, space=gc.generation_space_,
            space_centres=gc.embedding_centers_ if same else None,
        )  # fmt: skip
        per_cluster = specificity_nearest_mean(generated, X[~first], labels[~first])
        out[key] = float(np.nanmean(per_cluster["per_cluster"][big]))
    return out


def run(case: cases.Case, seed: int) -> dict:
    """One pipeline fit of a case and the scores of what it generates."""
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits' notes; the scores are the point here
        gc = GeneClustering(n_clusters=case.k, random_state=seed).fit(case.X, times=case.times)
        generated = gc.generate(N_GENERATED)
        decoder = gc.generate(N_GENERATED, offset=False)
        keep = gc.labels_ >= 0
        X, labels = case.X[keep], gc.labels_[keep]
        halves = split_half(gc, X, labels, seed)
    scores = generation_scores(gc.model_, generated, X, labels, gc.cluster_centers_, gc.times_)
    scores["specificity_no_offset"] = specificity_nearest_mean(decoder, X, labels)["specificity"]
    scores.update(halves)
    per_cluster = specificity_nearest_mean(generated, X, labels)["per_cluster"]
    sizes, rms = coherence(X, labels, len(per_cluster))
    shaped = (sizes >= MIN_MEMBERS) & (rms >= MIN_COHERENCE)
    worst = int(np.nanargmin(per_cluster))
    scores["specificity_shaped"] = float(np.nanmean(per_cluster[shaped]))
    scores["worst_cluster"] = (f"{per_cluster[worst]:.2f} ({sizes[worst]} genes, "
                               f"coherence {rms[worst]:.2f})")  # fmt: skip
    return {
        "case": case.name,
        "seed": seed,
        "k": case.k,
        "space": gc.space_,
        "n_fits": len(gc.models_),
        "ari": clustering_scores(case.y, gc.labels_)["ari"],
        **scores,
        "seconds": time.perf_counter() - t0,
    }


def table(rows: list[dict]) -> str:
    out = []
    for name in dict.fromkeys(r["case"] for r in rows):
        sel = [r for r in rows if r["case"] == name]
        cells = [name, str(len(sel))]
        for key in SCORES:
            v = np.array([float(r[key]) for r in sel])
            cells.append(f"{v.mean():.3f} ({v.min():.3f})")
        out.append(cells)
    return _common.markdown_table(out, ["case", "seeds", *(f"{k}, mean (min)" for k in SCORES)])


def report(rows: list[dict]) -> str:
    """One line per case x seed, then the table."""
    lines = [" ".join(f"{k}={r[k]:.3f}" if isinstance(r[k], float) else f"{k}={r[k]}"
                      for k in COLUMNS) for r in rows]  # fmt: skip
    return "\n".join([*lines, "", table(rows)])


def main(argv=None) -> int:
    out = _common.RESULTS / "generation_pipeline.csv"
    return cases.main_exported(argv, __doc__.splitlines()[0], CASES, out, run, report, COLUMNS)


if __name__ == "__main__":
    raise SystemExit(main())

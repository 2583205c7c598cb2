"""The ARI at every k near the truth, on the shipped pipeline's own fits (issue 19, item 7).

Does a k within one of the truth give the best clusters? For each case x seed:
``GeneClustering(random_state=seed)`` with every default, k not given (what
``train_and_gen.py`` runs without ``--n-clusters``); its k (``k_chosen``) and ARI are
recorded. Its fits are then clustered again as the pipeline clusters them (the
co-association consensus, ``consensus_clusters``, of every fit's points in the space it
chose; K-means on the one point set of a data space such as ``"slopes"``) at every k from
the truth - 3 to the truth + 2, and the ARI against the truth is recorded per k
(``ari@k``). ``ari@chosen`` is that re-clustering at the pipeline's own k, which must match
the pipeline's ARI (a check that the re-clustering is the pipeline's). K-means on the
z-scores (``cluster_latent``, ``n_init=10``) at every k is recorded beside it (``z@k``): the
statistician's first try, with no model.

Reported per case: the mean ARI at each k over the seeds, and the k that scores best; over
the trials: how often the k of the best ARI is within one of the truth, in the pipeline's
space and on the z-scores. Cases come from ``quality.py --export-cases DIR``::

    python benchmarks/k_ari.py --cases-from DIR --seeds 0,1,2,3,4,5 --jobs 2

Writes ``benchmarks/results/k_ari.csv`` and prints the tables, stamped with commit, date,
machine, load and command. Never run by the tests.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import as_time_series, cluster_latent, clustering_scores  # noqa: E402
from rvagene.cluster import consensus_clusters  # noqa: E402
from rvagene.representation import DATA_SPACES, SPACES, embed, fill_gaps  # noqa: E402

CASES = ("tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows", "tc-impulse-8x24u", "yeast-alpha", "yeast-elu",
         "yeast-diau")  # fmt: skip
BELOW, ABOVE = 3, 2  # k from the truth - BELOW to the truth + ABOVE


def _points(X: np.ndarray, fits: list, space: str) -> list[np.ndarray]:
    """The point sets the pipeline clusters: its fits' points in its space (model_ first)."""
    if space in DATA_SPACES:
        return [embed(fits[0], X, space)]
    spaces = SPACES if space == "both" else (space,)
    return [embed(m, X, s) for s in spaces for m in fits]


def _labels(points: list[np.ndarray], k: int, seed: int) -> np.ndarray:
    if len(points) > 1:
        return consensus_clusters(points, k, "coassociation", random_state=seed)
    return cluster_latent(points[0], k, random_state=seed).labels_


def run(case: cases.Case, seed: int) -> dict:
    """The pipeline's k and ARI on a case, and the ARI at every k near the truth."""
    X, y, fits, row = cases.pipeline_fits(case, seed, n_clusters=None)
    z = fill_gaps(_common.zscore(as_time_series(X)))
    z = z.reshape(len(z), -1)
    ks = range(max(2, case.k - BELOW), min(case.k + ABOVE, X.shape[0] - 1) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty cluster is a score here
        points = _points(X, fits, row["space"])
        for k in sorted({*ks, row["k_chosen"]}):
            ari = clustering_scores(y, _labels(points, k, seed))["ari"]
            if k == row["k_chosen"]:
                row["ari@chosen"] = ari
            if k in ks:
                row[f"ari@{k - case.k:+d}"] = ari
                row[f"z@{k - case.k:+d}"] = _common.kmeans_scores(z, y, k, seed)["ari"]
    return row


def _best(row: dict, prefix: str) -> int:
    """The offset from the truth of the k with the best ARI (the lowest k of equals)."""
    offsets = [int(key.split("@")[1]) for key in row if key.startswith(f"{prefix}@")
               and key != "ari@chosen"]  # fmt: skip
    return max(sorted(offsets), key=lambda d: row[f"{prefix}@{d:+d}"])


def tables(rows: list[dict]) -> str:
    offsets = range(-BELOW, ABOVE + 1)
    table, hits = [], {"chosen": 0, "ari": 0, "z": 0}
    for name in dict.fromkeys(r["case"] for r in rows):
        sel = [r for r in rows if r["case"] == name]
        cells = []
        for prefix in ("ari", "z"):
            means = {d: np.mean([r[f"{prefix}@{d:+d}"] for r in sel]) if f"{prefix}@{d:+d}"
                     in sel[0] else np.nan for d in offsets}  # fmt: skip
            cells += [f"{means[d]:.3f}" if not np.isnan(means[d]) else "-" for d in offsets]
        best = [sel[0]["k"] + _best(r, "ari") for r in sel]
        table.append([f"{name} ({sel[0]['k']})", str(len(sel)), *cells[: len(offsets)],
                      ",".join(str(r["k_chosen"]) for r in sel), ",".join(map(str, best)),
                      f"{np.mean([r['ari@chosen'] for r in sel]):.3f}",
                      *cells[len(offsets):]])  # fmt: skip
        hits["chosen"] += sum(abs(r["k_chosen"] - r["k"]) <= 1 for r in sel)
        hits["ari"] += sum(abs(_best(r, "ari")) <= 1 for r in sel)
        hits["z"] += sum(abs(_best(r, "z")) <= 1 for r in sel)
    heads = ["case (truth)", "seeds", *(f"k{d:+d}" for d in offsets), "k chosen",
             "k of the best ARI", "ARI at k chosen",
             *(f"z: k{d:+d}" for d in offsets)]  # fmt: skip
    mismatch = [f"{r['case']} seed {r['seed']}" for r in rows
                if abs(r["ari@chosen"] - r["shipped"]) > 1e-9]  # fmt: skip
    n = len(rows)
    return "\n".join([
        "**Mean ARI at each k** (k - the truth), the pipeline's fits clustered as it clusters "
        "them; then K-means on the z-scores (z)", "", _common.markdown_table(table, heads), "",
        f"**Within one of the truth**, of {n} trials: the pipeline's k {hits['chosen']}; the "
        f"k of the best ARI in its space {hits['ari']}; on the z-scores {hits['z']}.",
        "Re-clustering at the chosen k matches the pipeline's ARI on "
        f"{n - len(mismatch)} of {n} trials" + (f" (not: {', '.join(mismatch)})" if mismatch
                                               else "") + ".",
    ])  # fmt: skip


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    out = _common.RESULTS / "k_ari.csv"
    return cases.main_exported(argv, __doc__.splitlines()[0], CASES, out, run, tables)


if __name__ == "__main__":
    raise SystemExit(main())

"""Choosing k on the shipped pipeline's own fits: every rule, the same fits (issue 19, item 7).

For each case x seed: ``GeneClustering(random_state=seed)`` with every default, k not
given (what ``train_and_gen.py`` runs without ``--n-clusters``). Its k (``k_chosen``) and
ARI are recorded; then every rule below chooses k in 2..15 on the same fits, so the rules
differ only in how they choose:

- ``<criterion>/mean``: :func:`rvagene.cluster.choose_k` with that criterion on the list of
  the fits' latent means (each k's score averaged over the fits; the pipeline's way since
  it chose on averaged scores), for every criterion of ``K_CRITERIA``;
- ``<criterion>/median``: ``choose_k`` on each fit's latent means alone, then the lower
  median of the fits' choices (the pipeline's way before);
- ``silhouette+tol2/...``: the silhouette with the pipeline's tolerance of 2 standard
  errors; ``/mean`` is what the pipeline runs, ``/both`` averages over the fits' latent means
  and decoded series together;
- ``gmeans/latent`` and ``gmeans/both``: G-means (``choose_k(..., "gmeans")``: the lower
  median of its k over the fits' latent means, or over their latent means and decoded
  series together); ``gmeans+window``: :func:`rvagene.cluster.choose_k_gmeans`, G-means on
  both spaces kept within the silhouette's window on the latent means (the pipeline's
  ``k_criterion="gmeans"``);
- ``eac-lifetime``: the evidence-accumulation rule of Fred & Jain (2005) for the
  co-association consensus the pipeline clusters with: 40 single-start K-means runs per fit
  and space, each at a k drawn from sqrt(n)/2..sqrt(n), average linkage on 1 - the share of
  runs that put two genes together, and the k whose cut survives the longest range of merge
  distances;
- ``z-silhouette`` and ``z-silhouette+tol2``: the silhouette on the z-scored series, no
  model (the statistician's first try).

Hits (k within one of the truth) are counted on the hard suite's cases with at least 4
groups (issue 19's set) and on the other cases given. Cases come from ``quality.py
--export-cases DIR``::

    python benchmarks/choose_k_pipeline.py --cases-from DIR --jobs 2

Writes ``benchmarks/results/choose_k_pipeline.csv`` and prints the table, stamped with commit,
date, machine, load and command. Never run by the tests.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import as_time_series, choose_k, choose_k_gmeans, cluster_latent  # noqa: E402
from rvagene.cluster import K_CRITERIA, coassociation_matrix  # noqa: E402
from rvagene.representation import embed, fill_gaps  # noqa: E402

CASES = ("tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows", "demo", "simfinal", "esc", "tc-impulse-8x24u",
         "yeast-alpha", "yeast-elu", "yeast-diau", "yeast-cdc15",
         "ucr-japanesevowels")  # fmt: skip
K_MAX = 15
TOLERANCE = 2.0  # GeneClustering's k_tolerance
EAC_RUNS = 40  # K-means runs per fit and space for the lifetime rule


def _median_k(points: list, ks: range, **kw) -> int:
    chosen = sorted(choose_k(p, ks, **kw)[0] for p in points)
    return chosen[(len(chosen) - 1) // 2]


def _lower_median(shares: dict, n_sets: int) -> int:
    """The lower median of the k chosen by ``n_sets`` point sets, from their shares."""
    counts = {k: round(share * n_sets) for k, share in shares.items()}
    target, seen = (n_sets - 1) // 2 + 1, 0
    for k in sorted(counts):
        seen += counts[k]
        if seen >= target:
            return k
    msg = f"the shares {shares} do not cover {n_sets} point sets"
    raise ValueError(msg)


def _lifetime_k(points: list, ks: range, seed: int) -> int:
    """Fred & Jain's k: the cut of the co-association dendrogram that lives the longest."""
    n = points[0].shape[0]
    low, high = max(2, int(np.sqrt(n)) // 2), max(3, int(np.sqrt(n)))
    rng = np.random.RandomState(seed)
    labelings = [
        cluster_latent(p, int(rng.randint(low, high + 1)), n_init=1, random_state=rng).labels_
        for p in points
        for _ in range(EAC_RUNS)
    ]
    distance = 1.0 - coassociation_matrix(labelings)
    np.fill_diagonal(distance, 0.0)
    heights = linkage(squareform(distance, checks=False), "average")[:, 2]
    life = {k: heights[n - k] - heights[n - k - 1] for k in ks}  # k clusters: merges n-k..
    return max(ks, key=lambda k: (life[k], -k))


def run(case: cases.Case, seed: int) -> dict:
    """The pipeline's own k on a case, and every rule's k on the same fits."""
    X, _, fits, row = cases.pipeline_fits(case, seed, n_clusters=None)
    ks = range(2, min(K_MAX, X.shape[0] - 1) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        latent = [embed(m, X, "latent") for m in fits]
        decoded = [embed(m, X, "decoded") for m in fits]
        for criterion in (c for c in K_CRITERIA if c != "gmeans"):  # below
            kw = {"criterion": criterion, "random_state": seed}
            row[f"{criterion}/mean"] = choose_k(latent, ks, **kw)[0]
            row[f"{criterion}/median"] = _median_k(latent, ks, **kw)
        kw = {"criterion": "silhouette", "random_state": seed, "tolerance": TOLERANCE}
        row["silhouette+tol2/mean"] = choose_k(latent, ks, **kw)[0]
        row["silhouette+tol2/median"] = _median_k(latent, ks, **kw)
        row["silhouette+tol2/both"] = choose_k(latent + decoded, ks, **kw)[0]
        row["gmeans/latent"] = choose_k(latent, ks, "gmeans", random_state=seed)[0]
        # One G-means run serves both rules: the window clips the lower median of its votes.
        k, shares = choose_k_gmeans(latent + decoded, latent, ks, random_state=seed)
        row["gmeans/both"] = _lower_median(shares, len(latent + decoded))
        row["gmeans+window"] = k
        row["eac-lifetime"] = _lifetime_k(latent + decoded, ks, seed)
        z = fill_gaps(_common.zscore(as_time_series(X)))
        z = z.reshape(len(z), -1)
        row["z-silhouette"] = choose_k(z, ks, criterion="silhouette", random_state=seed)[0]
        row["z-silhouette+tol2"] = choose_k(z, ks, **kw)[0]
    return row


def tables(rows: list[dict]) -> str:
    rules = [key for key in rows[0] if "/" in key or key.startswith(("eac", "z-", "gmeans"))]
    rules = ["k_chosen", *rules]
    suite = [r for r in rows if r["case"] in cases.SUITES["hard"] and r["k"] >= 4]
    other = [r for r in rows if r not in suite]

    def hits(group, rule):
        return f"{sum(abs(int(r[rule]) - int(r['k'])) <= 1 for r in group)} of {len(group)}"

    def picks(group, rule):
        by_case = {}
        for r in group:
            by_case.setdefault(f"{r['case']} ({r['k']})", []).append(str(r[rule]))
        return "; ".join(f"{c}: {','.join(v)}" for c, v in by_case.items())

    table = [[rule, hits(suite, rule), hits(other, rule)] for rule in rules]
    heads = ["rule", "within one, suite's cases of >= 4 groups", "within one, other cases"]
    detail = [[rule, picks(rows, rule)] for rule in rules]
    return "\n".join([
        "**k within one of the truth**, on the pipeline's own fits (`k_chosen`: the "
        "pipeline's k)", "", _common.markdown_table(table, heads), "",
        "**k chosen per case (truth), seeds in order**", "",
        _common.markdown_table(detail, ["rule", "k"]),
    ])  # fmt: skip


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    out = _common.RESULTS / "choose_k_pipeline.csv"
    return cases.main_exported(argv, __doc__.splitlines()[0], CASES, out, run, tables)


if __name__ == "__main__":
    raise SystemExit(main())

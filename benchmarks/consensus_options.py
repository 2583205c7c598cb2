"""Other ways to combine the shipped pipeline's fits, on the same fits (issue 19).

For each case x seed: ``GeneClustering(n_clusters=k, random_state=seed)`` with every other
default (what the scripts run, space "both" on these cases). Its fits are then clustered again
in other ways, so every row compares options on identical models:

- ``shipped``: the pipeline's own labels (co-association of the fits in both spaces);
- ``runs=1``, ``runs=40``: the same co-association with ``n_runs`` K-means runs per space
  instead of the default 160 (``runs=1``: one K-means of 10 starts, the consensus before);
- ``latent``, ``decoded``: co-association of the fits in one space only;
- ``both+z``: the shipped consensus with K-means on the z-scores added as one more member
  per fit (the strongest simple method, as a voter);
- ``both+zs``: the same with the z-scores smoothed over time (Gaussian, ``_common.SMOOTH_SIGMA``
  steps) and not scaled again, so a flat gene's smoothed noise stays small;
- ``both+zsz``: the same with the smoothed z-scores z-scored again (``kmeans-smooth``'s space);
- ``both+zw``: the z-scores, each gene's multiplied by the share of its variance that survives
  the smoothing (about 0.28 for white noise, near 1 for a smooth shape), so noise-like genes
  shrink toward the origin and fall together, as they do in the decoded space;
- ``concat``: each space of each fit standardised and put side by side, then K-means;
- ``kmeans-z``: K-means on the z-scores alone;
- with ``--shift-fits T`` only: ``shift-fits``, the same consensus on the fits of a second
  pipeline whose models have ``time_shift=T``, and ``both+shift-fits``, the consensus of both
  pipelines' fits together (twice the fits, two strengths of the time-shift augmentation).

On cases with at least 4 groups it also chooses k in each space with each criterion (the
lower median over the fits, as the pipeline does) and reports how often the choice is within
one of the truth. Cases come from ``quality.py --export-cases DIR``::

    python benchmarks/consensus_options.py --cases-from DIR --jobs 2 [--no-k]

``--no-k`` leaves out the choices of k (the ARI table only; BIC on the decoded space is slow).
``--shift-fits T`` adds the two options above (a second pipeline per case and seed).

Writes ``benchmarks/results/consensus_options.csv`` and prints the tables, stamped with commit,
date, machine, load and command. Never run by the tests.
"""

from __future__ import annotations

import functools
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import (  # noqa: E402
    as_time_series,
    choose_k,
    cluster_latent,
    clustering_scores,
    consensus_clusters,
)
from rvagene.representation import embed, fill_gaps  # noqa: E402

CASES = ("esc", "tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows")  # fmt: skip
OPTIONS = ("shipped", "runs=1", "runs=40", "latent", "decoded", "both+z", "both+zs", "both+zsz",
           "both+zw", "concat", "kmeans-z")  # fmt: skip
CRITERIA = ("silhouette", "davies_bouldin", "bic")
K_SPACES = ("latent", "decoded", "both", "z")
K_MIN_GROUPS = 4  # choose k only where the truth has at least this many groups
K_MAX = 15


def _voters(X) -> dict:
    """The data spaces the ``both+...`` options add as voters, keyed by the option's suffix."""
    Z = fill_gaps(_common.zscore(as_time_series(X)))  # as quality.py's baselines see them
    S = _common.smooth_over_time(Z)
    share = S.var(axis=(1, 2)) / np.maximum(Z.var(axis=(1, 2)), 1e-12)  # survives smoothing
    spaces = {"z": Z, "zs": S, "zsz": _common.zscore(S), "zw": Z * share[:, None, None]}
    return {name: [V.reshape(len(V), -1)] for name, V in spaces.items()}


def _labels(option: str, spaces: dict, k: int, seed: int) -> np.ndarray:
    lat, dec = spaces["latent"], spaces["decoded"]
    if option == "kmeans-z":
        return cluster_latent(spaces["z"][0], k, random_state=seed).labels_
    if option.startswith("runs="):
        n_runs = int(option.removeprefix("runs="))
        return consensus_clusters(lat + dec, k, random_state=seed, n_runs=n_runs)
    if option.startswith("both+"):  # one K-means member of the voter per fit
        members = lat + dec + spaces[option.removeprefix("both+")] * len(lat)
    else:
        members = {"latent": lat, "decoded": dec, "concat": lat + dec}[option]
    method = "concat" if option == "concat" else "coassociation"
    return consensus_clusters(members, k, method, random_state=seed)


def _chosen_k(points: list, seed: int, criterion: str) -> int:
    n = points[0].shape[0]
    ks = sorted(
        choose_k(p, range(2, min(K_MAX, n - 1) + 1), criterion=criterion, random_state=seed)[0]
        for p in points
    )
    return ks[(len(ks) - 1) // 2]


def run(case: cases.Case, seed: int, choose: bool = True, shift: float | None = None) -> dict:
    """One pipeline fit of a case, and every option on its fits (and k, when ``choose``)."""
    X, y, fits, row = cases.pipeline_fits(case, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spaces = {s: [embed(m, X, s) for m in fits] for s in ("latent", "decoded")}
        spaces.update(_voters(X))
        for option in OPTIONS[1:]:
            row[option] = clustering_scores(y, _labels(option, spaces, case.k, seed))["ari"]
        if shift is not None:
            more = cases.pipeline_fits(case, seed, model_params={"time_shift": shift})[2]
            other = [embed(m, X, s) for s in ("latent", "decoded") for m in more]
            mine = spaces["latent"] + spaces["decoded"]
            for option, members in (("shift-fits", other), ("both+shift-fits", mine + other)):
                labels = consensus_clusters(members, case.k, random_state=seed)
                row[option] = clustering_scores(y, labels)["ari"]
        if choose and case.k >= K_MIN_GROUPS:
            spaces["both"] = spaces["latent"] + spaces["decoded"]
            for criterion in CRITERIA:
                for space in K_SPACES:
                    row[f"k:{criterion}/{space}"] = _chosen_k(spaces[space], seed, criterion)
    return row


def tables(rows: list[dict]) -> str:
    extra = [o for o in ("shift-fits", "both+shift-fits") if o in rows[0]]
    out = [_common.option_table(rows, [*OPTIONS, *extra])]
    ks = [r for r in rows if "k:silhouette/latent" in r]
    if ks:
        hits = []
        for criterion in CRITERIA:
            for space in K_SPACES:
                key = f"k:{criterion}/{space}"
                n = sum(abs(int(r[key]) - int(r["k"])) <= 1 for r in ks)
                picks = " ".join(f"{r['k']}->{r[key]}" for r in ks)
                hits.append([criterion, space, f"{n} of {len(ks)}", picks])
        out += [
            "",
            f"**k chosen within one of the truth** (cases with >= {K_MIN_GROUPS} groups)",
            "",
            _common.markdown_table(hits, ["criterion", "space", "hits", "truth->chosen"]),
        ]
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    choose = "--no-k" not in argv  # --no-k: the ARI table only (choosing k by BIC is slow)
    argv = [a for a in argv if a != "--no-k"]
    shift = None
    if "--shift-fits" in argv:  # --shift-fits T: a second pipeline with time_shift=T
        i = argv.index("--shift-fits")
        shift = float(argv[i + 1])
        del argv[i : i + 2]
    task = functools.partial(run, choose=choose, shift=shift)
    out = _common.RESULTS / "consensus_options.csv"
    return cases.main_exported(argv, __doc__.splitlines()[0], CASES, out, task, tables)


if __name__ == "__main__":
    raise SystemExit(main())

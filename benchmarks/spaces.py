"""Clustering spaces and combinations of fits, scored offline on fits saved by quality.py.

``quality.py --cache DIR`` saves every rvagene fit (the model, the latent means and
variances, the decoded series). This script reads them back and clusters each case (K-means
at the true k) in every candidate way, without fitting again::

    python benchmarks/quality.py --suite hard --methods rvagene --set max_timepoints=64 \\
        --seeds 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14 --cache fits/ --out fits.csv
    python benchmarks/spaces.py --cache fits/ --name 'rvagene[max_timepoints=64]' \\
        --n-fits 5 --out benchmarks/results/quality_spaces.csv

Candidates (``+`` suffixes of the method name; rows in quality.py's format, so that
``quality.py --report`` merges them with the baselines):

- ``+latent``, ``+decoded``, ``+decoded-z``: one fit (seeds 0, 1, 2 by default) clustered
  on its latent means, its decoded series (``rvagene.representation.embed``), or those
  z-scored again;
- with ``--n-fits N``, the fits ``N*i .. N*i + N - 1`` form ensemble ``i`` (a row per
  ensemble, its seed column is ``i``): ``+central-latent`` / ``+central-decoded``, the
  clusters of the central fit (``rvagene.representation.central_fit``) in that space;
  ``+coassoc-latent`` / ``+coassoc-decoded`` / ``+coassoc-both``: co-association consensus
  (``rvagene.cluster.consensus_clusters``) of the fits' K-means in one space or both.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import quality  # noqa: E402

from rvagene import clustering_scores  # noqa: E402
from rvagene.cluster import consensus_clusters  # noqa: E402
from rvagene.data import scale_series  # noqa: E402
from rvagene.representation import central_fit  # noqa: E402


def load_fits(cache: Path, name: str) -> dict[str, dict[int, dict]]:
    """case -> seed -> arrays of one saved fit."""
    pattern = re.compile(rf"^(?P<case>.+)__{re.escape(name)}__(?P<seed>\d+)\.npz$")
    fits: dict[str, dict[int, dict]] = {}
    for path in sorted(Path(cache).glob("*.npz")):
        match = pattern.match(path.name)
        if match:
            with np.load(path) as f:
                fits.setdefault(match["case"], {})[int(match["seed"])] = dict(f)
    return fits


def spaces_of(fit: dict) -> dict[str, np.ndarray]:
    decoded = fit["decoded"].reshape(len(fit["y"]), -1)
    return {"latent": fit["Z"], "decoded": decoded, "decoded-z": scale_series(decoded)[0]}


def single_rows(case: str, fits: dict[int, dict], seeds, name: str) -> list[dict]:
    rows = []
    for seed in [s for s in seeds if s in fits]:
        fit, k = fits[seed], int(np.unique(fits[seed]["y"]).size)
        for space, points in spaces_of(fit).items():
            labels = _common.kmeans_labels(points, k, seed)
            rows.append(row(case, f"{name}+{space}", seed, fit, [fit], labels))
    return rows


def ensemble_rows(case: str, fits: dict[int, dict], n_fits: int, name: str) -> list[dict]:
    rows = []
    for i in range(len(fits) // n_fits):
        members = [fits.get(s) for s in range(i * n_fits, (i + 1) * n_fits)]
        if any(m is None for m in members):
            continue
        k = int(np.unique(members[0]["y"]).size)
        labelings = {}
        for space in ("latent", "decoded"):
            points = [spaces_of(m)[space] for m in members]
            labelings[space] = [_common.kmeans_labels(p, k, i) for p in points]
            best = central_fit(labelings[space])[0]
            rows.append(
                row(case, f"{name}+central-{space}", i, members[0], members,
                    labelings[space][best])
            )  # fmt: skip
            rows.append(
                row(case, f"{name}+coassoc-{space}", i, members[0], members,
                    consensus_clusters(points, k, "coassociation", i))
            )  # fmt: skip
        both = [spaces_of(m)[s] for m in members for s in ("latent", "decoded")]
        rows.append(
            row(case, f"{name}+coassoc-both", i, members[0], members,
                consensus_clusters(both, k, "coassociation", i))
        )  # fmt: skip
    return rows


def row(case, method, seed, fit, members, labels) -> dict:
    n_series, n_timepoints = fit["X"].shape[:2]
    return {
        "case": case,
        "method": method,
        "seed": seed,
        "n_series": n_series,
        "n_timepoints": n_timepoints,
        "k": int(np.unique(fit["y"]).size),
        **clustering_scores(fit["y"], labels),
        "fit_s": float(sum(float(m["fit_s"]) for m in members)),
        "n_iter": int(sum(int(m["n_iter"]) for m in members)),
        "note": f"{len(members)} fit(s), offline",
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, required=True, help="folder of quality.py --cache")
    p.add_argument("--name", required=True, help="method name of the fits, e.g. 'rvagene'")
    p.add_argument("--seeds", default="0,1,2", help="single-fit rows for these seeds")
    p.add_argument("--n-fits", type=int, default=0, help="fits per ensemble (0: none)")
    p.add_argument("--out", type=Path, required=True, help="CSV in quality.py's format")
    args = p.parse_args(argv)
    if not args.cache.is_dir():
        print(f"error: no such folder: {args.cache}", file=sys.stderr)
        return 2
    fits = load_fits(args.cache, args.name)
    if not fits:
        print(f"error: no fits named {args.name!r} in {args.cache}", file=sys.stderr)
        return 2
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    info = _common.provenance(None if argv is None else ["benchmarks/spaces.py", *argv])
    rows = []
    for case in sorted(fits):
        rows += single_rows(case, fits[case], seeds, args.name)
        if args.n_fits > 0:
            rows += ensemble_rows(case, fits[case], args.n_fits, args.name)
    _common.write_csv(args.out, rows, quality.COLUMNS, info)
    print("\n".join([*_common.provenance_lines(info), "", *quality.report_lines(rows)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

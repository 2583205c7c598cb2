"""Does n_fits="auto" (2 fits, 3 more when they disagree) match 5 fits? Offline, on saved fits.

Reads the fits that ``quality.py --cache DIR --set max_timepoints=64 --seeds 0,...,14`` saved
(benchmarks/spaces.py's input), forms 3 ensembles of 5 per case (fits 0-4, 5-9, 10-14) and
scores at the true k, against the case's labels:

- ``full``: the co-association consensus of the 5 fits' K-means in both spaces (the
  ``space="both"`` clustering of 5 fits);
- ``two``: the same consensus of the first 2 fits;
- ``agree``: the lowest ARI between the first 2 fits' K-means, over both spaces;
- the adaptive rule: ``two`` when ``agree`` >= a threshold, else ``full``.

    python benchmarks/auto_fits.py --cache DIR > benchmarks/results/auto_fits.log
"""

import argparse
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score as ari

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
from rvagene.cluster import cluster_latent, consensus_clusters  # noqa: E402

CASES = ("ucr-italypower", "ucr-chinatown", "ucr-gunpoint", "ucr-arrowhead", "ucr-coffee",
         "esc", "tc-impulse-4x12u", "tc-impulse-6x12u", "tc-sigmoid-5x6e", "tc-mixed-8x24e",
         "tc-impulse-10x18u", "sc-windows")  # fmt: skip
TARGETS = ("demo", "simfinal")
THRESHOLDS = (0.8, 0.9, 0.95)
NAME = "rvagene[max_timepoints=64]"


def points(fit, space):
    return fit["Z"] if space == "latent" else fit["decoded"].reshape(len(fit["y"]), -1)


def ensemble_scores(ens, y, k):
    """(ARI of the 5-fit consensus, ARI of the first 2 fits' consensus, their agreement)."""
    spaces = ("latent", "decoded")
    labels = {s: [cluster_latent(points(f, s), k, random_state=0).labels_ for f in ens]
              for s in spaces}  # fmt: skip
    full = consensus_clusters([points(f, s) for s in spaces for f in ens], k, random_state=0)
    two = consensus_clusters([points(f, s) for s in spaces for f in ens[:2]], k, random_state=0)
    agree = min(ari(labels[s][0], labels[s][1]) for s in spaces)
    return ari(y, full), ari(y, two), agree


def case_rows(cache: Path, case: str) -> list[tuple]:
    fits = []
    for seed in range(15):
        path = cache / f"{case}__{NAME}__{seed}.npz"
        if not path.exists():
            break
        fits.append(np.load(path, allow_pickle=True))
    y = fits[0]["y"]
    k = len(np.unique(y))
    return [ensemble_scores(fits[5 * e : 5 * e + 5], y, k) for e in range(len(fits) // 5)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, type=Path, help="quality.py --cache folder")
    cache = parser.parse_args().cache
    warnings.simplefilter("ignore")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()  # fmt: skip
    import datetime
    import os

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    print(f"# commit: {commit}\n# date: {date}\n# load: {os.getloadavg()[0]:.2f}")
    print(f"# command: python benchmarks/auto_fits.py --cache {cache}")
    res = {c: case_rows(cache, c) for c in (*CASES, *TARGETS)}
    print("| case | 5 fits | first 2 fits | agreement of the first 2 (per ensemble) |")
    print("|---|---|---|---|")
    for c, rows in res.items():
        r = np.array(rows)
        print(f"| {c} | {r[:, 0].mean():.3f} | {r[:, 1].mean():.3f} | {np.round(r[:, 2], 2)} |")
    full = np.mean([np.mean([r[0] for r in res[c]]) for c in CASES])
    for th in THRESHOLDS:
        pick = {c: [(two if ag >= th else f5) for f5, two, ag in res[c]] for c in CASES}
        n = [2 if ag >= th else 5 for c in CASES for _, _, ag in res[c]]
        spread = max(np.ptp(v) for v in pick.values())
        targets = [2 if ag >= th else 5 for c in TARGETS for _, _, ag in res[c]]
        print(f"threshold {th}: suite mean {np.mean([np.mean(v) for v in pick.values()]):.3f} "
              f"(5 fits {full:.3f}), largest seed spread {spread:.3f}, mean fits "
              f"{np.mean(n):.2f}, fits on demo/simfinal {targets}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Uneven time points: does telling RVAgene the sampling times help? (issue 7, item 3)

    python benchmarks/uneven_times.py                # 3 seeds, 9 fits (~2 min on 2 cores)
    python benchmarks/uneven_times.py --seeds 0 --genes-per-cluster 10

Data (generated here, a function of real time t in hours, so that sampling times matter):
4 clusters of response curves, two pairs that differ mainly in timing,

    0 fast pulse    (t / tau) exp(1 - t / tau), tau = 1 h   (peak at 1 h)
    1 slow pulse    the same, tau = 4 h                     (peak at 4 h)
    2 early rise    1 - exp(-t / tau), tau = 1.5 h
    3 late rise     1 / (1 + exp(-(t - tau) / (tau / 4))), tau = 10 h

each gene with its own tau (x exp(0.3 N(0, 1))), amplitude (x exp(0.3 N(0, 1))), offset
(N(0, 0.5)) and noise (sd 0.03 x amplitude), sampled at the 12 uneven times of a typical
time-course design, 0, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24 h (gaps 0.25 h to 8 h).

Per seed, half of each cluster's genes train a default ``RVAgene(random_state=seed)``:

    times       fit(X, times=TIMES): the network sees the time steps
    ignore      fit(X): one step per time point (the original model)
    resampled   each gene linearly interpolated onto 12 evenly spaced times over 0-24 h,
                then fit(X_even); its reconstructions are interpolated back to TIMES

ARI: KMeans(4, n_init=10) on ``transform`` of all genes against the true clusters; as a
reference for how far the clusters overlap, the same K-means on the genes' z-scored series
(no model).
Held-out MSE: ``reconstruct`` of the held-out genes against their values, in units of each
gene's standard deviation (so 0.01 is 1 % of a gene's variance). Rows go to
``benchmarks/results/uneven_times.csv``; a Markdown table is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rvagene import RVAgene

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import kmeans_scores, write_csv, zscore  # noqa: E402

TIMES = np.array([0, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24.0])  # hours
CLUSTERS = (("pulse", 1.0), ("pulse", 4.0), ("rise", 1.5), ("sigmoid", 10.0))
ARMS = ("times", "ignore", "resampled")
OUT = Path(__file__).resolve().parent / "results" / "uneven_times.csv"


def _curve(kind: str, t: np.ndarray, tau: float) -> np.ndarray:
    if kind == "pulse":
        return (t / tau) * np.exp(1 - t / tau)
    if kind == "rise":
        return 1 - np.exp(-t / tau)
    return 1 / (1 + np.exp(-(t - tau) / (0.25 * tau)))  # sigmoid


def make_data(genes_per_cluster: int, seed: int, jitter: float = 0.3, noise: float = 0.03):
    """Series (genes, len(TIMES)) and their cluster labels."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, (kind, tau) in enumerate(CLUSTERS):
        for _ in range(genes_per_cluster):
            gene_tau = tau * np.exp(jitter * rng.standard_normal())
            amplitude = np.exp(0.3 * rng.standard_normal())
            offset = rng.normal(0.0, 0.5)
            clean = offset + amplitude * _curve(kind, TIMES, gene_tau)
            X.append(clean + noise * amplitude * rng.standard_normal(TIMES.size))
            y.append(k)
    return np.array(X), np.array(y)


def _ari(Z: np.ndarray, y: np.ndarray) -> float:
    return kmeans_scores(Z, y)["ari"]


def _mse(recon: np.ndarray, X: np.ndarray) -> float:
    return float(np.mean(((recon - X) / X.std(axis=1, keepdims=True)) ** 2))


def run_seed(
    seed: int, genes_per_cluster: int, arms: tuple[str, ...] = ARMS, verbose: bool = True
) -> list[dict]:
    """One seed's data, a fit per arm on half of the genes; one row per arm."""
    X, y = make_data(genes_per_cluster, seed=100 + seed)
    rng = np.random.default_rng(seed)
    train = np.zeros(len(y), dtype=bool)
    for k in range(len(CLUSTERS)):
        members = np.flatnonzero(y == k)
        train[rng.choice(members, len(members) // 2, replace=False)] = True
    even = np.linspace(TIMES[0], TIMES[-1], TIMES.size)
    X_even = np.array([np.interp(even, TIMES, row) for row in X])
    reference = _ari(zscore(X), y)
    rows = []
    for arm in arms:
        data = X_even if arm == "resampled" else X
        start = time.perf_counter()
        model = RVAgene(random_state=seed)
        model.fit(data[train], times=TIMES if arm == "times" else None)
        fit_s = time.perf_counter() - start
        recon = model.reconstruct(data[~train])
        if arm == "resampled":  # back onto the measured times
            recon = np.array([np.interp(TIMES, even, row) for row in recon])
        rows.append(
            {
                "seed": seed,
                "arm": arm,
                "ari": _ari(model.transform(data), y),
                "mse_heldout": _mse(recon, X[~train]),
                "epochs": model.n_iter_,
                "fit_s": round(fit_s, 1),
                "genes": len(y),
                "timepoints": TIMES.size,
                "ari_kmeans_z": reference,
            }
        )
        if not verbose:
            continue
        print(
            f"seed {seed} {arm:9s} ARI {rows[-1]['ari']:.3f}  held-out MSE "
            f"{rows[-1]['mse_heldout']:.4f}  ({model.n_iter_} epochs, {fit_s:.0f} s)",
            flush=True,
        )
    return rows


def markdown(rows: list[dict]) -> str:
    """Per-seed and mean ARI / held-out MSE, one column pair per arm."""
    seeds = sorted({r["seed"] for r in rows})
    get = {(r["seed"], r["arm"]): r for r in rows}
    head = "| seed | " + " | ".join(f"ARI, {a} | held-out MSE, {a}" for a in ARMS)
    lines = [head + " | ARI, K-means on z-scores |", "|" + "---|" * (2 + 2 * len(ARMS))]
    for seed in seeds:
        cells = [f"{get[seed, a]['ari']:.3f} | {get[seed, a]['mse_heldout']:.4f}" for a in ARMS]
        cells.append(f"{get[seed, ARMS[0]]['ari_kmeans_z']:.3f}")
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    means = []
    for arm in ARMS:
        ari = np.mean([get[s, arm]["ari"] for s in seeds])
        mse = np.mean([get[s, arm]["mse_heldout"] for s in seeds])
        means.append(f"**{ari:.3f}** | **{mse:.4f}**")
    means.append(f"**{np.mean([get[s, ARMS[0]]['ari_kmeans_z'] for s in seeds]):.3f}**")
    lines.append("| mean | " + " | ".join(means) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Fit every seed and arm, write the CSV, print the Markdown table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0, 1, 2], help="seeds of the data and the fits"
    )
    parser.add_argument("--genes-per-cluster", type=int, default=25, help="genes per cluster")
    parser.add_argument("--out", type=Path, default=OUT, help="the CSV written")
    args = parser.parse_args(argv)
    print(
        f"{len(CLUSTERS)} clusters x {args.genes_per_cluster} genes x {TIMES.size} times "
        f"({', '.join(f'{t:g}' for t in TIMES)} h); half of the genes train"
    )
    rows = [row for seed in args.seeds for row in run_seed(seed, args.genes_per_cluster)]
    write_csv(args.out, rows, list(rows[0]))
    print(f"wrote {args.out}\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

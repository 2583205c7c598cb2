"""Clustering with missing values: does RVAgene's masked loss keep the clusters?

    python benchmarks/missing_values.py                  # 3 seeds, 10 % missing (~minutes)
    python benchmarks/missing_values.py --seeds 0 --missing 0.1 0.3

On the demo set (``rvagene.simulate(random_state=0)``: 6 clusters x 20 genes x 100 time
points) each seed fits a default ``RVAgene(random_state=seed)`` twice: on the complete data and
on a copy with a share of values (``--missing``) set to NaN at random. The NaNs are left out
of the reconstruction loss and ``reconstruct`` fills them in. It prints, per seed and missing
share, the ARI of KMeans(k=6, n_init=10) on ``transform``'s latent means against the true
clusters, the change from the complete data, and the RMSE of the imputed values next to two
simple baselines (each gene's mean; linear interpolation over time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rvagene import RVAgene, simulate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import kmeans_scores  # noqa: E402


def _ari(model: RVAgene, X: np.ndarray, y: np.ndarray) -> float:
    return kmeans_scores(model.transform(X), y)["ari"]


def _interpolate(X: np.ndarray) -> np.ndarray:
    out = X.copy()
    t = np.arange(X.shape[1])
    for row in out:
        gap = np.isnan(row)
        if gap.any():
            row[gap] = np.interp(t[gap], t[~gap], row[~gap])
    return out


def _rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def main(argv=None) -> int:
    """Print the table; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="seeds of the fits and of the missing values",
    )
    parser.add_argument(
        "--missing",
        type=float,
        nargs="+",
        default=[0.1],
        help="shares of values removed at random",
    )
    parser.add_argument("--data-seed", type=int, default=0, help="random_state of simulate")
    args = parser.parse_args(argv)

    X, y = simulate(random_state=args.data_seed)
    print(
        f"demo set: {X.shape[0]} genes x {X.shape[1]} time points, {len(np.unique(y))} "
        "clusters; KMeans(k, n_init=10) on transform(X)"
    )
    header = (
        f"{'seed':>4} {'missing':>7} {'ARI':>6} {'ARI full':>8} {'change':>7} "
        f"{'RMSE model':>10} {'RMSE mean':>9} {'RMSE interp':>11} {'epochs':>6} "
        f"{'fit s':>6}"
    )
    print(header)
    print("-" * len(header))
    changes = []
    for seed in args.seeds:
        start = time.perf_counter()
        full = RVAgene(random_state=seed).fit(X)
        fit_s = time.perf_counter() - start
        ari_full = _ari(full, X, y)
        print(
            f"{seed:>4} {0:>7.0%} {ari_full:>6.3f} {ari_full:>8.3f} {0:>+7.3f} "
            f"{'':>10} {'':>9} {'':>11} {full.n_iter_:>6} {fit_s:>6.1f}"
        )
        for share in args.missing:
            rng = np.random.default_rng(1000 + seed)
            gaps = rng.random(X.shape) < share
            X_gap = np.where(gaps, np.nan, X)
            start = time.perf_counter()
            model = RVAgene(random_state=seed).fit(X_gap)
            fit_s = time.perf_counter() - start
            ari = _ari(model, X_gap, y)
            imputed = model.reconstruct(X_gap)[gaps]
            gene_mean = np.broadcast_to(np.nanmean(X_gap, axis=1, keepdims=True), X.shape)[gaps]
            rmse_model = _rmse(imputed, X[gaps])
            rmse_mean = _rmse(gene_mean, X[gaps])
            rmse_interp = _rmse(_interpolate(X_gap)[gaps], X[gaps])
            changes.append(ari - ari_full)
            print(
                f"{seed:>4} {share:>7.0%} {ari:>6.3f} {ari_full:>8.3f} {ari - ari_full:>+7.3f} "
                f"{rmse_model:>10.3f} {rmse_mean:>9.3f} {rmse_interp:>11.3f} {model.n_iter_:>6} "
                f"{fit_s:>6.1f}"
            )
    worst = min(changes) if changes else 0.0
    print(f"largest ARI drop: {-worst:.3f}" if worst < 0 else "no ARI drop")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Choosing the number of clusters: which criterion finds the true k in RVAgene's latent space?

    python benchmarks/choose_k.py             # 5 settings x 2 seeds: 10 fits, 5-11 min
    python benchmarks/choose_k.py --quick     # 2 settings x 1 seed, 1-2 min
    python benchmarks/choose_k.py --cached    # rerun the criteria on the saved latents

Every setting is drawn with ``rvagene.simulate(..., random_state=seed)`` and fitted with a
default ``RVAgene(random_state=seed)``. The latent means ``Z = transform(X)`` of each fit are
then given to :func:`rvagene.cluster.choose_k` with every criterion (k = 2..15, the default
range), and to the silhouette with the pipeline's tolerance (``silhouette_tol``: the largest k
within ``GeneClustering``'s ``k_tolerance`` standard errors of the best), so all rules judge
the same embedding. It prints a Markdown table (setting, true k,
the k each criterion chose) with the hits per criterion, and writes one row per fit to
``benchmarks/results/choose_k.csv`` (``choose_k_quick.csv`` with ``--quick``).

It also checks the assignment confidence: with K-means at the true k, the share of genes whose
largest membership probability (:func:`rvagene.cluster.membership_probabilities` on
``latent_posterior``) is below ``--threshold`` (flagged), and how often flagged and confident
genes sit in a cluster that does not match their true one (clusters matched to true labels by
the Hungarian method).

The latent means and variances of each fit are saved beside the CSV (``<csv name>_latents.npz``),
so ``--cached`` compares criteria again without refitting (fits missing from the file are made).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import confusion_matrix

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_csv  # noqa: E402

from rvagene import GeneClustering, RVAgene, simulate  # noqa: E402
from rvagene.cluster import (  # noqa: E402
    K_CRITERIA,
    choose_k,
    cluster_latent,
    clustering_scores,
    membership_probabilities,
)

RESULTS = Path(__file__).resolve().parent / "results"

# name -> keyword arguments of rvagene.simulate (random_state is the row's seed)
SETTINGS = {
    "k3": {"n_clusters": 3},
    "k5-imbalanced": {"n_clusters": 5, "genes_per_cluster": [5, 10, 20, 40, 60]},
    "k6-noise3": {"n_clusters": 6, "noise": 3.0},
    "k9": {"n_clusters": 9, "genes_per_cluster": 15},
    "k12": {"n_clusters": 12, "genes_per_cluster": 15},
}
SEEDS = (0, 1)
QUICK = {"settings": ("k3", "k9"), "seeds": (0,)}
THRESHOLD = 0.9
# rule name -> (criterion, tolerance in standard errors)
RULES = {c: (c, 0.0) for c in K_CRITERIA}
RULES["silhouette_tol"] = ("silhouette", GeneClustering().k_tolerance)  # the pipeline's default


def misassigned(labels_true: np.ndarray, labels_pred: np.ndarray) -> np.ndarray:
    """True where a gene's cluster is not the one matched to its true label."""
    table = confusion_matrix(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(-table)
    true_values = np.unique(np.concatenate([labels_true, labels_pred]))
    match = {true_values[c]: true_values[r] for r, c in zip(rows, cols, strict=True)}
    return np.array([match.get(p) != t for t, p in zip(labels_true, labels_pred, strict=True)])


def fit_setting(setting: str, seed: int) -> dict:
    """Draw a setting with ``seed`` and fit a default RVAgene; latent posterior and labels."""
    X, y = simulate(**SETTINGS[setting], random_state=seed)
    start = time.perf_counter()
    model = RVAgene(random_state=seed).fit(X)
    seconds = time.perf_counter() - start
    mean, variance = model.latent_posterior(X)
    return {
        "Z": mean,
        "variance": variance,
        "labels": y,
        "fit_s": seconds,
        "epochs": float(model.n_iter_),
    }


def _load_cache(path: Path) -> dict:
    if not path.exists():
        return {}
    with np.load(path) as data:
        cache: dict = {}
        for key in data.files:
            run, field = key.rsplit("/", 1)
            cache.setdefault(run, {})[field] = data[key]
    return cache


def _save_cache(path: Path, cache: dict) -> None:
    flat = {
        f"{run}/{field}": np.asarray(v)
        for run, fields in cache.items()
        for field, v in fields.items()
    }
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **flat)
    tmp.replace(path)


def evaluate(Z, variance, labels, seed: int, threshold: float) -> dict:
    """Every criterion's k, and the confidence check at the true k."""
    true_k = int(np.unique(labels).size)
    row: dict = {"true_k": true_k, "n_genes": int(Z.shape[0])}
    for name, (criterion, tolerance) in RULES.items():
        start = time.perf_counter()
        k, _ = choose_k(Z, criterion=criterion, random_state=0, tolerance=tolerance)
        row[f"k_{name}"] = k
        row[f"s_{name}"] = round(time.perf_counter() - start, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        km = cluster_latent(Z, true_k, random_state=0)
    row["ari_true_k"] = round(clustering_scores(labels, km.labels_)["ari"], 3)
    probabilities = membership_probabilities(Z, variance, km.cluster_centers_, random_state=seed)
    flagged = probabilities.max(axis=1) < threshold
    wrong = misassigned(labels, km.labels_)
    row["flagged"] = int(flagged.sum())
    row["wrong"] = int(wrong.sum())
    row["wrong_flagged"] = int((wrong & flagged).sum())
    row["median_variance"] = float(np.median(variance))
    return row


def main(argv=None) -> int:
    """Fit (or load), evaluate, print the table, write the CSV; return 0."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 settings x 1 seed")
    parser.add_argument("--settings", default=None, help=f"comma-separated, of {list(SETTINGS)}")
    parser.add_argument("--seeds", default=None, help="comma-separated seeds (default 0,1)")
    parser.add_argument("--cached", action="store_true", help="reuse saved latents")
    parser.add_argument(
        "--threshold",
        type=float,
        default=THRESHOLD,
        help="confidence below which a gene is flagged",
    )
    parser.add_argument("--out", type=Path, default=None, help="CSV to write")
    args = parser.parse_args(argv)

    settings = QUICK["settings"] if args.quick else tuple(SETTINGS)
    seeds = QUICK["seeds"] if args.quick else SEEDS
    if args.settings:
        settings = tuple(args.settings.split(","))
        unknown = [s for s in settings if s not in SETTINGS]
        if unknown:
            parser.error(f"unknown settings {unknown}; choose from {list(SETTINGS)}")
    if args.seeds:
        seeds = tuple(int(s) for s in args.seeds.split(","))
    out = args.out or RESULTS / ("choose_k_quick.csv" if args.quick else "choose_k.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    cache_path = out.with_name(f"{out.stem}_latents.npz")
    cache = _load_cache(cache_path)  # other runs stay in the file
    if not args.cached:  # refit this run's fits
        runs = {f"{s}:{seed}" for s in settings for seed in seeds}
        cache = {run: fields for run, fields in cache.items() if run not in runs}

    rows = []
    for setting in settings:
        for seed in seeds:
            run = f"{setting}:{seed}"
            if run not in cache:
                cache[run] = fit_setting(setting, seed)
                _save_cache(cache_path, cache)
            fit = cache[run]
            row = {
                "setting": setting,
                "seed": seed,
                "fit_s": round(float(fit["fit_s"]), 1),
                "epochs": float(fit["epochs"]),
            }
            row.update(evaluate(fit["Z"], fit["variance"], fit["labels"], seed, args.threshold))
            rows.append(row)
            chosen = " ".join(f"{c}={row[f'k_{c}']}" for c in RULES)
            print(
                f"{setting} seed {seed}: true k={row['true_k']} | {chosen} | fit {row['fit_s']} s",
                flush=True,
            )

    write_csv(out, rows, list(rows[0]))

    names = list(RULES)
    print()
    print("| setting | seed | true k | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for row in rows:
        cells = [
            str(row[f"k_{c}"]) + (" ✓" if row[f"k_{c}"] == row["true_k"] else "") for c in names
        ]
        print(
            f"| {row['setting']} | {row['seed']} | {row['true_k']} | " + " | ".join(cells) + " |"
        )
    hits = {c: sum(row[f"k_{c}"] == row["true_k"] for row in rows) for c in names}
    by_setting = {
        c: sum(
            all(r[f"k_{c}"] == r["true_k"] for r in rows if r["setting"] == s) for s in settings
        )
        for c in names
    }
    print("| **hits (fits)** | | | " + " | ".join(f"{hits[c]}/{len(rows)}" for c in names) + " |")
    print(
        "| **settings, every seed** | | | "
        + " | ".join(f"{by_setting[c]}/{len(settings)}" for c in names)
        + " |"
    )
    seconds = {c: np.mean([row[f"s_{c}"] for row in rows]) for c in names}
    print("| seconds per call | | | " + " | ".join(f"{seconds[c]:.2f}" for c in names) + " |")

    print()
    print(f"Confidence (K-means at the true k; flagged: max probability < {args.threshold}):")
    print("| setting | seed | ARI | genes | flagged | mis-clustered | of them flagged |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['setting']} | {row['seed']} | {row['ari_true_k']:.3f} | {row['n_genes']} | "
            f"{row['flagged']} | {row['wrong']} | {row['wrong_flagged']} |"
        )
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

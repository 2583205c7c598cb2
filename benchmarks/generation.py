"""Generation and consensus benchmark (issue 12): does generation stay in its cluster, and
does a consensus over several fits cluster better than one fit?

For every case x seed it fits ``n_fits`` default RVAgene models with
``rvagene.fit_ensemble(X, n_fits, random_state=seed)`` and reports, against the true labels:

- clustering (ARI, NMI, time; a fit's time is the ensemble's over ``n_fits``): K-means on
  the z-scored series (no model); every single fit
  (K-means at the true k on the latent means); the same with the posterior's uncertainty
  (K-means on the means, each latent dimension divided by its mean posterior sd; K-means
  weighted by 1 / mean posterior variance; a full-covariance Gaussian mixture on the means);
  ``consensus_clusters`` of the ``n_fits`` latent spaces, by co-association and by
  concatenation. A consensus costs the sum of its fits plus its clustering time;
- generation, on the first fit of each seed, with the K-means clusters of its latent means:
  50 series per cluster from the original ``generate(centres, scale=0.3)`` (z-units), from
  each cluster's own spread (``generate(centres, X=X, labels=labels)``, data units) and the
  same with ``noise=True``; as a reference, 50 real members per cluster (with replacement)
  measured the same way. Measured with ``rvagene.evaluate``: specificity (share nearest,
  z-scored, to their own cluster's mean of real members; share re-encoded into their own
  cluster) and the spread ratio (per-time-point sd of generated over real members, in data
  units where the output is in data units, and of the z-scored series).

Cases (each with >= 4 clusters, each hard for K-means on z-scores):

- ``impulse8``: 8 clusters of impulse/sigmoid responses (160 genes, imbalanced 8 to 40 per
  cluster) at 16 uneven times, onset jitter, lognormal amplitudes, heteroscedastic noise,
  3 outlier genes; written here (``impulse_responses``);
- ``sim8-noise6``, ``sim12-noise6``: ``rvagene.simulate`` with 8 x 20 genes x 16 points and
  12 x 15 genes x 20 points, 6x the original's noise, lognormal gene scales and offsets.

The data are fixed (seed 0); the seeds vary the fits. Public API only::

    nice python benchmarks/generation.py                         # 3 cases x 3 seeds x 5 fits
    python benchmarks/generation.py --cases impulse8 --seeds 0 --n-fits 3 --out /tmp/gen
    python benchmarks/generation.py --out /tmp/gen               # elsewhere than results/

Writes ``benchmarks/results/generation.csv`` (one row per case x seed x method, each with the run's
commit, date, machine, load and command) and ``benchmarks/results/generation.log`` (the same
provenance, every row, summary tables). Never run by the tests.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from rvagene import (
    RVAgene,
    cluster_latent,
    clustering_scores,
    consensus_clusters,
    fit_ensemble,
    generate_around_centres,
    simulate,
)
from rvagene.data import scale_series
from rvagene.evaluate import generation_scores

HERE = Path(__file__).resolve().parent
N_GENERATED = 50  # series generated per cluster

# Uneven sampling times of a bulk time course (hours), 16 points.
IMPULSE_TIMES = np.array([0, 0.5, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 30, 36, 48.0])
# Impulse-response prototypes: (direction, onset time, offset time or inf for sustained).
IMPULSE_PROTOTYPES = [
    (1, 1.0, 6.0),  # early transient up
    (1, 6.0, 20.0),  # late transient up
    (1, 2.0, np.inf),  # early sustained up
    (1, 12.0, np.inf),  # late sustained up
    (-1, 1.0, 8.0),  # early transient down
    (-1, 2.0, np.inf),  # early sustained down
    (-1, 12.0, np.inf),  # late sustained down
    (1, 1.0, 16.0),  # early, long transient up
]
IMPULSE_SIZES = [40, 30, 25, 20, 15, 12, 10, 8]  # imbalanced groups


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def impulse_responses(noise: float = 0.25, n_outliers: int = 3, random_state: int = 0):
    """8 clusters of impulse/sigmoid responses (Chechik & Koller 2009 style) at uneven times.

    Per gene: onset and offset jitter (x lognormal, sigma 0.3), lognormal amplitude (median
    1.5, sigma 0.5) and slope (median 1, sigma 0.3), a baseline level ~ N(6, 2) (log
    expression), heteroscedastic noise (sd grows with the response) and a few outlier genes
    with one spike of +4. Returns X (160, 16) in data units and the labels.
    """
    rng = np.random.default_rng(random_state)
    t = IMPULSE_TIMES
    X, labels = [], []
    for c, ((direction, on, off), size) in enumerate(
        zip(IMPULSE_PROTOTYPES, IMPULSE_SIZES, strict=True)
    ):
        for _ in range(size):
            amplitude = rng.lognormal(np.log(1.5), 0.5)
            onset = on * np.exp(rng.normal(0, 0.3))
            offset = off * np.exp(rng.normal(0, 0.3))
            slope = rng.lognormal(0.0, 0.3)
            shape = _sigmoid(slope * (t - onset))
            if np.isfinite(offset):
                shape = shape * (1 - _sigmoid(slope * (t - offset)))
            sd = noise * (0.3 + 0.7 * amplitude * np.abs(shape)) + 0.05
            level = rng.normal(6.0, 2.0)
            X.append(level + direction * amplitude * shape + sd * rng.standard_normal(t.size))
            labels.append(c)
    X, labels = np.array(X), np.array(labels)
    for i in rng.choice(len(X), n_outliers, replace=False):
        X[i, rng.integers(t.size)] += 4.0
    return X, labels


CASES = {
    "impulse8": lambda: impulse_responses(random_state=0),
    "sim8-noise6": lambda: simulate(
        8, 20, 16, noise=6, gene_scale=0.5, gene_offset=1.0, random_state=0
    ),
    "sim12-noise6": lambda: simulate(
        12, 15, 20, noise=6, gene_scale=0.5, gene_offset=1.0, random_state=0
    ),
}
FIELDS = [
    "case",
    "n_genes",
    "n_timepoints",
    "n_clusters",
    "seed",
    "part",
    "method",
    "fit",
    "ari",
    "nmi",
    "fit_s",
    "cluster_s",
    "total_s",
    "spec_nearest",
    "spec_reencoded",
    "spread_data",
    "spread_z",
]
PROVENANCE = ["commit", "date", "machine", "load", "command"]  # repeated on every CSV row


def provenance(argv: list[str]) -> dict[str, str]:
    """What ran, where and when: commit, date, machine, load, command and versions."""

    def git(*args: str) -> str:
        try:
            out = subprocess.run(["git", *args], cwd=HERE.parent, capture_output=True, text=True)
        except OSError:
            return "?"
        return out.stdout.strip() or "?"

    dirty = git("status", "--porcelain", "--", "rvagene", "benchmarks/generation.py")
    import sklearn
    import torch

    commit = git("rev-parse", "--short", "HEAD")
    if dirty not in ("", "?"):
        commit += " (uncommitted changes in rvagene/ or this script)"
    return {
        "command": f"python {shlex.join(['benchmarks/generation.py', *argv])}",
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()}, {platform.machine()}, {os.cpu_count()} CPUs; python "
        f"{platform.python_version()}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}",
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
    }


def clustering_rows(X, y, k, models, fit_times) -> list[dict]:
    """ARI/NMI of every clustering of one case x seed."""
    rows = []

    def add(method, labels, fit=None, fit_s=0.0, cluster_s=0.0):
        scores = clustering_scores(y, labels)
        rows.append(
            {
                "part": "clustering",
                "method": method,
                "fit": fit,
                "ari": scores["ari"],
                "nmi": scores["nmi"],
                "fit_s": fit_s,
                "cluster_s": cluster_s,
                "total_s": fit_s + cluster_s,
            }
        )

    t = time.perf_counter()
    Xz = scale_series(X)[0]
    labels = KMeans(k, n_init=10, random_state=0).fit_predict(Xz.reshape(len(X), -1))
    add("kmeans-z", labels, cluster_s=time.perf_counter() - t)
    means = []
    for i, (model, fit_s) in enumerate(zip(models, fit_times, strict=True)):
        mean, variance = model.latent_posterior(X)
        means.append(mean)
        t = time.perf_counter()
        add("rvagene", cluster_latent(mean, k).labels_, i, fit_s, time.perf_counter() - t)
        whitened = mean / np.sqrt(variance.mean(axis=0))
        add("rvagene-whitened", cluster_latent(whitened, k).labels_, i, fit_s)
        weights = 1.0 / variance.mean(axis=1)
        km = KMeans(k, n_init=10, random_state=0).fit(mean, sample_weight=weights)
        add("rvagene-weighted", km.labels_, i, fit_s)
        gmm = GaussianMixture(k, covariance_type="full", n_init=3, random_state=0).fit(mean)
        add("rvagene-gmm", gmm.predict(mean), i, fit_s)
    for method in ("coassociation", "concat"):
        t = time.perf_counter()
        labels = consensus_clusters(means, k, method=method, random_state=0)
        add(f"consensus-{method}", labels, None, sum(fit_times), time.perf_counter() - t)
    return rows


def generation_rows(X, k, model, seed) -> list[dict]:
    """Specificity and spread of generated series, old fixed 0.3 against the clusters' own."""
    km = cluster_latent(model.transform(X), k)
    centres, labels = km.cluster_centers_, km.labels_
    Xz = scale_series(X)[0]
    arms = {
        "scale0.3 (z-units)": (
            generate_around_centres(model, centres, N_GENERATED, scale=0.3, random_state=seed),
            Xz,
        ),
        "cluster-spread (data units)": (
            generate_around_centres(
                model, centres, N_GENERATED, X=X, labels=labels, random_state=seed
            ),
            X,
        ),
        "cluster-spread+noise (data units)": (
            generate_around_centres(
                model, centres, N_GENERATED, X=X, labels=labels, noise=True, random_state=seed
            ),
            X,
        ),
    }
    # Reference: the real members themselves, N_GENERATED drawn per cluster with replacement
    # (their re-encoded specificity is 1 by construction: K-means assigned them).
    rng = np.random.default_rng(seed)
    picks = [rng.choice(np.flatnonzero(labels == i), N_GENERATED) for i in range(k)]
    arms["real members (reference)"] = (np.stack([X[p] for p in picks]), X)
    rows = []
    for method, (generated, real) in arms.items():
        scores = generation_scores(model, generated, real, labels, centres)
        rows.append(
            {
                "part": "generation",
                "method": method,
                "fit": 0,
                "spec_nearest": scores["specificity_nearest_mean"],
                "spec_reencoded": scores["specificity_reencoded"],
                "spread_data": scores["spread_ratio"],
                "spread_z": scores["spread_ratio_z"],
            }
        )
    return rows


def fmt(value) -> str:
    if value is None or value == "":
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def summary(rows: list[dict]) -> list[str]:
    """Mean and minimum per case x method."""
    lines = [
        "",
        "clustering: ARI mean / min (NMI mean) over seeds (and fits), seconds per result",
        f"{'case':14s} {'method':26s} {'n':>3s} {'ARI mean':>8s} {'ARI min':>8s} "
        f"{'NMI':>6s} {'time s':>7s}",
    ]
    cases = list(dict.fromkeys(r["case"] for r in rows))
    for case in cases:
        part = [r for r in rows if r["case"] == case and r["part"] == "clustering"]
        for method in dict.fromkeys(r["method"] for r in part):
            sel = [r for r in part if r["method"] == method]
            ari = np.array([r["ari"] for r in sel])
            nmi = np.mean([r["nmi"] for r in sel])
            secs = np.mean([r["total_s"] for r in sel])
            lines.append(
                f"{case:14s} {method:26s} {len(sel):3d} {ari.mean():8.3f} "
                f"{ari.min():8.3f} {nmi:6.3f} {secs:7.1f}"
            )
    lines += [
        "",
        "generation: mean (min) over seeds; spread = generated sd / real members' sd",
        f"{'case':14s} {'method':34s} {'spec nearest':>13s} {'spec re-enc':>13s} "
        f"{'spread':>13s} {'spread z':>13s}",
    ]
    for case in cases:
        part = [r for r in rows if r["case"] == case and r["part"] == "generation"]
        for method in dict.fromkeys(r["method"] for r in part):
            sel = [r for r in part if r["method"] == method]
            cells = []
            for key in ("spec_nearest", "spec_reencoded", "spread_data", "spread_z"):
                v = np.array([r[key] for r in sel])
                cells.append(f"{v.mean():.3f} ({v.min():.3f})")
            lines.append(f"{case:14s} {method:34s} " + " ".join(f"{c:>13s}" for c in cells))
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated cases")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    parser.add_argument("--n-fits", type=int, default=5, help="fits per consensus")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    parser.add_argument(
        "--cases-from",
        type=Path,
        default=None,
        help="also the quality suite's cases exported there (quality.py --export-cases), "
        "fitted without their times",
    )
    args = parser.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    if args.cases_from is not None:
        sys.path.insert(0, str(HERE))
        import cases as suite  # the quality suite's cases

        for name in cases:
            case = suite.read_case(name, args.cases_from)
            if name not in CASES and case is not None:
                CASES[name] = lambda case=case: (case.X, case.y)
    unknown = [c for c in cases if c not in CASES]
    try:
        seeds = [int(s) for s in args.seeds.split(",") if s]
    except ValueError:
        seeds = []
    if unknown or not seeds or args.n_fits < 1:
        why = (
            f"unknown case(s) {', '.join(unknown)} (use {', '.join(CASES)})"
            if unknown
            else "--seeds must be comma-separated integers and --n-fits >= 1"
        )
        print(f"generation.py: {why}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    about = provenance(argv)
    log_lines = ["rvagene generation and consensus benchmark (benchmarks/generation.py)"]
    log_lines += [f"{key}: {value}" for key, value in about.items()]
    log_lines[-1] = f"load average at start: {about['load']}"
    log_lines.append(f"RVAgene defaults: {RVAgene().get_params()}")
    print("\n".join(log_lines), flush=True)
    rows: list[dict] = []
    start = time.perf_counter()
    warnings.simplefilter("ignore", UserWarning)  # an empty K-means cluster is reported in rows
    for case in cases:
        X, y = CASES[case]()
        k = int(np.unique(y).size)
        info = {"case": case, "n_genes": X.shape[0], "n_timepoints": X.shape[1], "n_clusters": k}
        for seed in seeds:
            t = time.perf_counter()
            models = fit_ensemble(X, args.n_fits, random_state=seed)
            fit_times = [(time.perf_counter() - t) / args.n_fits] * args.n_fits  # mean per fit
            new = clustering_rows(X, y, k, models, fit_times) + generation_rows(
                X, k, models[0], seed
            )
            for row in new:
                row.update(info, seed=seed)
                line = " ".join(
                    f"{key}={fmt(row.get(key))}"
                    for key in FIELDS
                    if row.get(key) not in (None, "")
                )
                log_lines.append(f"[{time.perf_counter() - start:7.0f}s] {line}")
                print(log_lines[-1], flush=True)
            rows += new
    log_lines += summary(rows)
    log_lines.append(
        f"\ntotal {time.perf_counter() - start:.0f} s; load average at end: "
        + " ".join(f"{v:.2f}" for v in os.getloadavg())
    )
    print("\n".join(summary(rows)))
    with open(args.out / "generation.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS + PROVENANCE)
        writer.writeheader()
        for row in rows:
            writer.writerow({**{key: fmt(row.get(key)) for key in FIELDS}, **about})
    (args.out / "generation.log").write_text("\n".join(log_lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

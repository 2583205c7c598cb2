"""Train RVAgene on a data set, cluster its genes and generate new trajectories.

    python train_and_gen.py demosim
    python train_and_gen.py path/to/genes.csv --n-clusters 4 --latent-length 2 --seed 1

The data set is a name under ``--data-dir`` (``data/<name>/<name>_TRAIN``, as written by
``gen_synthetic_data.py``) or a path to a UCR-style file or a gene-named CSV/TSV (genes in
rows, a header of time points, an optional ``label`` column). A table whose header holds
uneven numeric times (``0,0.5,1,2,4``, or ``0h,30min,2h``) is fitted with them
(``RVAgene.fit(X, times=...)``; ``--ignore-times`` fits one step per point), and the
figures use real time on the x-axis (``time (h)`` when the header gave hours, ``time
point`` when it gave no times). Replicate columns (``0h_rep1,0h_rep2,...``, see
``rvagene.read_table``) are fitted as several values per time point, and the generated
series are drawn as the mean over replicates. It writes

    figs/z_run_<name>.png                 the latent means (2-D or 3-D; PCA beyond 3)
    figs/clusters_<name>.png              the latent means coloured by K-means cluster
    figs/genes_cluster_<name><i>.png      cluster i's genes over time, with their mean
    figs/generated_cluster_<name><i>.png  trajectories sampled around cluster i's centre
    figs/loss_<name>.png                  the training and validation loss per epoch
    figs/k_scores_<name>.png              score per k, when k is chosen (no --n-clusters)
    results/<name>_model.pt               the fitted model (``rvagene.load``)
    results/<name>_clusters.csv           gene, cluster, confidence, p_cluster_<i> (and label)
    results/<name>_config.json            the arguments of this run

When the data hold at most 10,000 values (genes x time points, e.g. 500 x 20), where a fit
takes seconds, ``--n-fits`` (5) models are fitted with different seeds and their K-means
clusterings combined by co-association (``rvagene.cluster.consensus_clusters``): on the
quality suite this raised the mean ARI and narrowed the spread over seeds (docs/results.md);
the model with the lowest held-out loss is saved and generates. Generated trajectories are
drawn from each cluster's own latent spread
(``rvagene.generate_around_centres(model, ..., X=X, labels=...)``);
``--generate-scale 0.3`` gives the original's N(centre, 0.3 I). It prints ``wrote <path>``
for each file, and ARI and NMI against the file's labels when
they are real labels. With labels, the K-means clusters are numbered to match them (the
Hungarian method), so cluster i holds mostly label i's genes and has label i's colour in
every figure; training progress is shown unless ``--quiet``. Without
``--n-clusters``, k is chosen by ``rvagene.cluster.choose_k`` (``--k-criterion``, k = 2 to
``--k-max``), and the chosen k and every score are printed. Each gene gets a probability per
cluster (the share of draws from its latent posterior nearest to each centre); genes whose
largest probability is below ``--min-confidence`` (0.9) are counted and ringed in black in
the latent figures. Every model parameter is an option (``--hidden-size``, ``--block LSTM``,
...), with the estimator's defaults. Bad input ends with exit status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import logging
import re
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
from sklearn.base import clone

from rvagene import RVAgene
from rvagene._cli import (
    HelpFormatter,
    OneLineParser,
    announce,
    int_at_least,
    parameter_docs,
    save_figure,
    setup_logging,
    write_config,
)
from rvagene._utils import atomic_open
from rvagene.cluster import (
    DEFAULT_K_CRITERION,
    DEFAULT_K_MAX,
    K_CRITERIA,
    choose_k,
    cluster_latent,
    clustering_scores,
    consensus_clusters,
    match_clusters,
    membership_probabilities,
)
from rvagene.data import has_real_labels, load_dataset, scale_series
from rvagene.pipeline import generate_around_centres
from rvagene.plotting import (
    DOWN_COLOR,
    UP_COLOR,
    cluster_colors,
    matched_colors,
    plot_clusters,
    plot_generated,
    plot_k_scores,
    plot_latent,
    plot_loss,
    plot_series,
)
from rvagene.plotting import label_colors as plot_label_colors
from rvagene.single_cell import DOWN, UP

matplotlib.use("Agg")  # figures go to files only; works without a display

logger = logging.getLogger("train_and_gen")

DATA_DIR = "data"
FIGS_DIR = "figs"
OUT_DIR = "results"
SEED = 0
N_GENERATE = 20  # trajectories generated per cluster, as in the original
# Fits whose clusterings are combined (co-association consensus) when the data hold at most
# ENSEMBLE_MAX_VALUES values (genes x time points x values per point, e.g. 500 x 20), where a
# fit takes seconds; larger data get one fit (--n-fits overrides). The consensus raised the
# quality suite's ARI on short, noisy series; see docs/results.md.
N_FITS = 5
ENSEMBLE_MAX_VALUES = 10_000
# A gene whose largest cluster membership probability is below this is between clusters.
MIN_CONFIDENCE = 0.9
# Model options come from the estimator's signature, so defaults live in one place.
MODEL_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(RVAgene.__init__).parameters.items()
    if name not in ("self", "random_state", "verbose", "dload", "cuda", "log_file", "callbacks")
}


# Help for model options whose docstring sentence is too long or too terse for --help.
MODEL_HELP = {
    "optimizer": "optimiser, case-insensitive",
    "loss_balance": "how the loss terms are reduced: per gene, or the original tool's balance",
    "max_steps": "stop after this many optimiser steps, whatever the stopping rule says",
    "cuda": "use the GPU (the original's switch; same as --device cuda)",
    "device": "where to train: auto uses CUDA when available, else the CPU; also cuda:N, mps",
    "log_file": "file name for the training log, written to --out-dir",
    "sequence_length": "time points per series, checked against the data when given",
    "number_of_features": "values per time point (replicates), checked when given",
    "loss": "elementwise reconstruction loss",
    "scaling": "per-gene scaling over time before encoding (none: the original's raw values)",
    "n_threads": "torch threads on the CPU while fitting and predicting; -1 uses every core",
}

EPILOG = """\
input formats (the positional argument):
  a data set name       data/<name>/<name>_TRAIN, as gen_synthetic_data.py writes it
  a UCR file            no header; one gene per line: an integer label, then its values
  a gene-named table    .csv/.tsv/.txt: a header of time points, one gene per row, its name
                        first; an optional 'label' column; times may carry a unit (0h, 30min,
                        2d) and uneven times are used; replicate columns are <time>_rep<k>;
                        semicolons and decimal commas (European exports) are read; a table
                        without a gene column (header 0h,1h,... over numbers) gets gene_1, ...
  an AnnData file       .h5ad single cells, averaged over windows along pseudotime

example of a gene-named CSV:
  gene,0h,1h,2h,4h,8h,12h,24h
  Sox2,9.54,8.21,7.90,5.02,3.30,2.11,1.07

example:
  python train_and_gen.py genes.csv --n-clusters 4 --seed 1
"""


def _model_option_type(default):
    if isinstance(default, bool):
        return None
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def _model_help(name: str, docs: dict) -> tuple[str, tuple[str, ...] | None]:
    """Help for a model option: the docstring's first sentence, parameters as --options."""
    sentence, choices = docs.get(name, (f"RVAgene's {name}", None))
    if sentence[1:2].islower():
        sentence = sentence[:1].lower() + sentence[1:]
    for other in MODEL_DEFAULTS:
        if "_" in other:
            sentence = re.sub(rf"\b{other}\b", "--" + other.replace("_", "-"), sentence)
    return MODEL_HELP.get(name, sentence), choices


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    return build_parser().parse_args(argv)


def build_parser() -> argparse.ArgumentParser:
    """The script's argument parser."""
    parser = OneLineParser(
        prog="train_and_gen.py",
        description="Train RVAgene, cluster genes in its latent space, generate trajectories.",
        formatter_class=HelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument(
        "data", help="data set name under --data-dir, or a file path (formats below)"
    )
    parser.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="data folder")
    parser.add_argument("--figs-dir", type=Path, default=Path(FIGS_DIR), help="figure folder")
    parser.add_argument(
        "--out-dir", type=Path, default=Path(OUT_DIR), help="folder for model, CSV, config"
    )
    parser.add_argument(
        "--n-clusters",
        type=int_at_least(1),
        default=None,
        help="number of K-means clusters (default: chosen by --k-criterion, k = 2 to --k-max)",
    )
    parser.add_argument(
        "--k-criterion",
        choices=tuple(K_CRITERIA),
        default=DEFAULT_K_CRITERION,
        help="how k is chosen without --n-clusters (rvagene.cluster.choose_k)",
    )
    parser.add_argument(
        "--k-max",
        type=int_at_least(2),
        default=DEFAULT_K_MAX,
        help="largest k tried without --n-clusters",
    )
    parser.add_argument(
        "--min-confidence",
        type=_probability,
        default=MIN_CONFIDENCE,
        help="genes whose largest membership probability is below this are flagged",
    )
    parser.add_argument(
        "--cluster-method",
        choices=("kmeans", "minibatch"),
        default="kmeans",
        help="kmeans: KMeans with 10 starts; minibatch: the original "
        "MiniBatchKMeans(batch_size=6, max_iter=10)",
    )
    parser.add_argument(
        "--n-generate",
        type=int_at_least(1),
        default=N_GENERATE,
        help="trajectories sampled around each cluster centre",
    )
    parser.add_argument(
        "--generate-scale",
        type=float,
        default=None,
        help="variance of the samples around a centre, N(centre, scale * I), as the original "
        "(0.3) (default: each cluster's own latent spread)",
    )
    parser.add_argument(
        "--n-fits",
        type=int_at_least(1),
        default=None,
        help=f"models fitted with different seeds whose K-means clusterings are combined "
        f"(co-association consensus); the one with the lowest held-out loss is saved and "
        f"generates (default: {N_FITS} when the data hold at most {ENSEMBLE_MAX_VALUES:,} "
        "values, genes x time points, else 1; 1 with --cluster-method minibatch)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (random_state)")
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no training progress (no progress bar on a terminal, no status lines "
        "otherwise); results and the 'wrote' lines are still printed",
    )
    parser.add_argument(
        "--ignore-times",
        action="store_true",
        help="fit without a table's uneven times (one step per time point); plots keep them",
    )
    model = parser.add_argument_group("model parameters (RVAgene; see help(rvagene.RVAgene))")
    docs = parameter_docs(RVAgene)
    for name, default in MODEL_DEFAULTS.items():
        flag = "--" + name.replace("_", "-")
        text, choices = _model_help(name, docs)
        if choices and name != "device":  # listed, not enforced: the estimator's errors say more
            text += f"; one of {', '.join(choices)}"
        if isinstance(default, bool):
            model.add_argument(
                flag, action=argparse.BooleanOptionalAction, default=default, help=text
            )
        elif default is None:
            model.add_argument(
                flag, type=int_at_least(1), default=None, help=text + " (default: from the data)"
            )
        else:
            model.add_argument(flag, type=_model_option_type(default), default=default, help=text)
    model.add_argument(
        "--log-file", default=None, help=MODEL_HELP["log_file"] + " (default: no log)"
    )
    cells = parser.add_argument_group("single-cell input (.h5ad; see rvagene.single_cell)")
    cells.add_argument(
        "--pseudotime-key",
        default=None,
        help="obs column with the pseudotime (default: compute DPT from --root-cell)",
    )
    cells.add_argument(
        "--root-cell",
        default=None,
        help="compute DPT from this cell, a position or an obs name (default: none)",
    )
    cells.add_argument(
        "--window-length",
        type=int_at_least(1),
        default=40,
        help="cells per window along pseudotime",
    )
    cells.add_argument(
        "--n-bins",
        type=int_at_least(2),
        default=None,
        help="equal-frequency pseudotime bins instead of windows (default: windows)",
    )
    cells.add_argument(
        "--genes",
        type=Path,
        default=None,
        metavar="FILE",
        help="genes to keep, one per line (default: all genes)",
    )
    return parser


def _dataset_name(data: str) -> str:
    path = Path(data)
    name = path.name
    for suffix in ("_TRAIN", ".csv", ".tsv", ".txt", ".tab", ".h5ad"):
        name = name.removesuffix(suffix)
    return name or "data"


def run(args: argparse.Namespace) -> dict:
    """Train, cluster, generate and write every output; return the scores."""
    if str(args.data).lower().endswith(".h5ad"):  # single cells -> windows along pseudotime
        from rvagene.single_cell import prepare, read_gene_list

        genes = read_gene_list(args.genes) if args.genes else None
        group = {"n_bins": args.n_bins} if args.n_bins else {"window_length": args.window_length}
        series = prepare(
            args.data,
            genes=genes,
            pseudotime=args.pseudotime_key,
            root_cell=args.root_cell,
            **group,
        )
        table = series.to_table(source=args.data)
    else:
        table = load_dataset(args.data, data_dir=args.data_dir)
    name = _dataset_name(args.data)
    X, n = table.X, table.X.shape[0]
    genes = table.genes or [f"gene_{i}" for i in range(1, n + 1)]
    labelled = has_real_labels(table.labels)
    logger.info(
        "%s: %d genes x %d time points%s from %s",
        name,
        n,
        X.shape[1],
        f" x {X.shape[2]} replicates" if X.ndim == 3 else "",
        table.source,
    )
    fit_times = _fit_times(table, args)

    params = {k: getattr(args, k) for k in MODEL_DEFAULTS}
    model = RVAgene(
        **params,
        log_file=args.log_file,
        dload=str(args.out_dir),
        random_state=args.seed,
        verbose=0 if args.quiet else 1,
    )
    if args.n_clusters is not None and args.n_clusters > n:
        msg = (
            f"--n-clusters {args.n_clusters} is more than the {n} genes in {name}; "
            "use a smaller number."
        )
        raise ValueError(msg)
    if args.n_clusters is None and n < 3:  # choose_k needs 2 <= k <= n - 1
        msg = f"{name} has {n} genes, too few to choose the number of clusters; give --n-clusters."
        raise ValueError(msg)
    n_fits = args.n_fits or (N_FITS if X.size <= ENSEMBLE_MAX_VALUES else 1)
    if args.cluster_method == "minibatch":
        n_fits = 1  # the original's clustering of one latent space
    models = [model] + [
        clone(model).set_params(random_state=int(s))
        for s in np.random.default_rng(args.seed).integers(2**31 - 1, size=n_fits - 1)
    ]
    for i, m in enumerate(models, start=1):
        if n_fits > 1 and not args.quiet:
            print(f"{name}: fit {i} of {n_fits}", file=sys.stderr, flush=True)
        with warnings.catch_warnings():
            if i > 1:  # same data and parameters: fit 1 has said what they would say
                warnings.simplefilter("ignore")
            m.fit(X, times=fit_times)
    model = min(models, key=_held_out_loss)  # saved, and generates
    logger.info(
        "trained %.3g epochs, kept the weights after epoch %.3g",
        model.history_["epoch"][-1],
        model.best_epoch_,
    )
    Z = model.transform(X)

    k = args.n_clusters
    scores = None
    if k is None:
        k_range = range(2, min(args.k_max, n - 1) + 1)
        k, scores = choose_k(Z, k_range, criterion=args.k_criterion, random_state=args.seed)
        print(
            f"{name}: chose k={k} by {args.k_criterion} "
            f"({K_CRITERIA[args.k_criterion]} is better): {_fmt_scores(scores)}"
        )
    if n_fits > 1:
        latents = [Z] + [m.transform(X) for m in models if m is not model]
        found = consensus_clusters(latents, k, "coassociation", random_state=args.seed)
        km_labels = found
        km_centres = np.stack([Z[found == j].mean(axis=0) for j in range(k)])
    else:
        km = cluster_latent(Z, k, method=args.cluster_method, random_state=args.seed)
        km_labels, km_centres = km.labels_, km.cluster_centers_
    # Display numbering: with labels, cluster i is the one matched to the i-th label (the
    # Hungarian method) and takes that label's colour in every figure; files use it too.
    single_cell = str(args.data).lower().endswith(".h5ad")
    label_colors = {UP: UP_COLOR, DOWN: DOWN_COLOR} if single_cell else None
    if labelled:
        match = match_clusters(km_labels, table.labels, k)
        numbering = match.numbering
        colors = matched_colors(match, table.labels, label_colors)
    else:
        numbering, colors = np.arange(k), cluster_colors(k)
    assignments = numbering[km_labels]
    centres = np.empty_like(km_centres)
    centres[numbering] = km_centres
    # Membership probabilities: the share of draws from each gene's latent posterior that
    # fall nearest to each centre (rvagene.cluster.membership_probabilities).
    mean, variance = model.latent_posterior(X)
    probabilities = membership_probabilities(mean, variance, centres, random_state=args.seed)
    confidence = probabilities.max(axis=1)
    flagged = confidence < args.min_confidence
    print(
        f"{name}: {int(flagged.sum())} of {n} genes between clusters (largest membership "
        f"probability < {args.min_confidence:g})"
    )

    result = {"n_clusters": k, "n_between": int(flagged.sum()), "n_fits": n_fits}
    if scores is not None:
        result["k_scores"] = scores
    if labelled:
        result.update(clustering_scores(table.labels, assignments))
        print(f"{name}: ARI {result['ari']:.3f}  NMI {result['nmi']:.3f}  (k={k})")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    announce(model.save(args.out_dir / f"{name}_model.pt", overwrite=True))
    if args.log_file and (args.out_dir / args.log_file).is_file():
        announce(args.out_dir / args.log_file)
    table_path = args.out_dir / f"{name}_clusters.csv"
    with atomic_open(table_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")  # quotes names that hold commas or quotes
        writer.writerow(
            [
                "gene",
                "cluster",
                "confidence",
                *(f"p_cluster_{j}" for j in range(k)),
                *(["label"] if labelled else []),
            ]
        )
        for i, gene in enumerate(genes):
            writer.writerow(
                [
                    gene,
                    assignments[i],
                    f"{confidence[i]:.3f}",
                    *(f"{p:.3f}" for p in probabilities[i]),
                    *([table.labels[i]] if labelled else []),
                ]
            )
    announce(table_path, f" ({n} genes: cluster, confidence, probability per cluster)")
    write_config(args.out_dir / f"{name}_config.json", args)
    found = SimpleNamespace(
        Z=Z,
        assignments=assignments,
        centres=centres,
        colors=colors,
        flagged=flagged,
        scores=scores,
        k=k,
        labelled=labelled,
        label_colors=label_colors,
        n_fits=n_fits,
    )
    _write_figures(args, name, table, model, found)
    return result


def _held_out_loss(model) -> float:
    """The loss the stopping rule kept: held-out genes' when there were any."""
    history = model.history_
    return min(history.get("val_loss") or history["loss"])


def _label_names(labels) -> dict:
    """Legend names for the file's labels: ``label 0``, ... (not ``cluster 0``)."""
    uniq = np.unique(labels)
    numbers = uniq.dtype.kind in "iuf"
    return {u.item(): f"label {u}" if numbers else str(u) for u in uniq}


def _time_label(table, single_cell: bool) -> str:
    """The x-axis label: pseudotime, time with its unit, plain time, or time point."""
    if single_cell:
        return "pseudotime"
    if table.times is None:
        return "time point"
    unit = getattr(table, "time_unit", None)
    return f"time ({unit})" if unit else "time"


def _write_figures(args, name, table, model, found: SimpleNamespace) -> None:
    """Write every figure of a run; cluster i has found.colors[i] in each of them."""
    Z, assignments, centres, colors = found.Z, found.assignments, found.centres, found.colors
    flagged, scores, k, labelled = found.flagged, found.scores, found.k, found.labelled
    label_colors, n_fits = found.label_colors, found.n_fits
    X, n = table.X, len(table.X)
    single_cell = str(args.data).lower().endswith(".h5ad")
    if labelled:
        title = f"{name}: latent means by label"
        label_names = {UP: "up", DOWN: "down"} if single_cell else _label_names(table.labels)
        latent_colors = plot_label_colors(table.labels, label_colors)
        ax = plot_latent(
            Z,
            labels=table.labels,
            colors=latent_colors,
            label_names=label_names,
            title=title,
            flagged=flagged,
        )
    else:
        ax = plot_latent(
            Z,
            labels=assignments,
            colors=colors,
            flagged=flagged,
            title=f"{name}: latent means by cluster",
        )
    save_figure(ax.figure, args.figs_dir / f"z_run_{name}.png")
    how = f"consensus of {n_fits} fits" if n_fits > 1 else "K-means"
    ax = plot_clusters(
        Z,
        assignments,
        centres=centres,
        colors=colors,
        title=f"{name}: {how}, k={k}",
        flagged=flagged,
    )
    save_figure(ax.figure, args.figs_dir / f"clusters_{name}.png")
    if scores is not None:
        ax = plot_k_scores(
            scores, chosen=k, criterion=args.k_criterion, title=f"{name}: choosing k"
        )
        save_figure(ax.figure, args.figs_dir / f"k_scores_{name}.png")
    ax = plot_loss(model, title=f"{name}: loss per gene")
    save_figure(ax.figure, args.figs_dir / f"loss_{name}.png")

    xlabel = _time_label(table, single_cell)
    unit = {"zscore": "z-score", "minmax": "min-max scaled", "none": "expression"}[model.scaling]
    unit += " (mean of replicates)" if X.ndim == 3 else ""
    scaled = scale_series(X, model.scaling)[0]  # the genes in the model's units
    # Each cluster's own latent spread (or N(centre, scale * I) with --generate-scale), in the
    # model's units like the member figures.
    generated = generate_around_centres(
        model,
        centres,
        args.n_generate,
        args.generate_scale,
        random_state=args.seed,
        X=X,
        labels=assignments,
        units="scaled",
        times=model.times_,
    )
    decoded = model.decode(centres)
    for i in range(k):
        members = scaled[assignments == i]
        size = len(members)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN time points
            cluster_mean = np.nanmean(members, axis=0)[np.newaxis] if size else None
        ax = plot_series(
            members,
            color=colors[i],
            mean=cluster_mean,
            times=table.times,
            label=f"{size} genes" if size != 1 else "1 gene",
            mean_label="cluster mean",
            features="mean",
            alpha=0.5,
            title=f"{name}: cluster {i}, its genes",
        )
        ax.set(xlabel=xlabel, ylabel=unit + " per gene" if model.scaling != "none" else unit)
        save_figure(ax.figure, args.figs_dir / f"genes_cluster_{name}{i}.png")
        ax = plot_generated(
            generated[i],
            centre_series=decoded[i],
            color=colors[i],
            times=table.times,
            features="mean",
            title=f"{name}: cluster {i} ({size} genes), generated",
        )
        ax.set(xlabel=xlabel, ylabel=unit)
        save_figure(ax.figure, args.figs_dir / f"generated_cluster_{name}{i}.png")
    logger.debug("%d genes in %d clusters drawn", n, k)


def _fit_times(table, args: argparse.Namespace):
    """The times to fit with: a table's numeric times when they are uneven, else None.

    Evenly spaced times carry nothing beyond the step index, so they give the original
    model; single-cell windows (equal numbers of cells) are steps too, as in the original.
    """
    times = table.times
    if times is None or args.ignore_times or str(args.data).lower().endswith(".h5ad"):
        return None
    gaps = np.diff(times)
    if gaps.size and np.allclose(gaps, gaps.mean(), rtol=1e-6, atol=0.0):
        return None
    shown = ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "")
    logger.info("uneven times (%s): the model sees the time steps", shown)
    return times


def _probability(value: str) -> float:
    """Argparse type: a number in (0, 1]."""
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not 0.0 < number <= 1.0:
        msg = f"expected a number in (0, 1], got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _fmt_scores(scores: dict) -> str:
    return ", ".join(f"k={k}: {v:.3f}" for k, v in scores.items())


def main(argv=None) -> int:
    """Run the script; return the exit status (0 on success, 2 for bad input)."""
    args = parse_args(argv)
    try:
        run(args)
    except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. an output folder that cannot be written
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; files already written are complete", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    setup_logging()
    raise SystemExit(main())

"""Train RVAgene on a data set, cluster its genes and generate new trajectories.

    python train_and_gen.py demosim
    python train_and_gen.py path/to/genes.csv --n-clusters 4 --latent-length 2 --seed 1

The data set is a name under ``--data-dir`` (``data/<name>/<name>_TRAIN``, as written by
``gen_synthetic_data.py``) or a path to a UCR-style file or a gene-named CSV/TSV (genes in
rows, a header of time points, an optional ``label`` column). A table whose header holds
uneven numeric times (``0,0.5,1,2,4``, or ``0h,30min,2h``) is fitted with them
(``RVAgene.fit(X, times=...)``; ``--ignore-times`` fits one step per point), and the
figures use real time on the x-axis. Replicate columns (``0h_rep1,0h_rep2,...``, see
``rvagene.read_table``) are fitted as several values per time point, and the generated
series are drawn as the mean over replicates. It writes

    figs/z_run_<name>.png                 the latent means (2-D or 3-D; PCA beyond 3)
    figs/clusters_<name>.png              the latent means coloured by K-means cluster
    figs/generated_cluster_<name><i>.png  generated trajectories over the decoded centre
    figs/loss_<name>.png                  the training and validation loss per epoch
    figs/k_scores_<name>.png              score per k, when k is chosen (no --n-clusters)
    results/<name>_model.pt               the fitted model (``rvagene.load``)
    results/<name>_clusters.csv           gene, cluster, confidence, p_cluster_<i> (and label)
    results/<name>_config.json            the arguments of this run

and prints ARI and NMI against the file's labels when they are real labels. Without
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
import sys
from pathlib import Path

import matplotlib
import numpy as np

from rvagene import RVAgene
from rvagene._cli import OneLineParser, int_at_least, save_figure, setup_logging, write_config
from rvagene._utils import atomic_open
from rvagene.cluster import (
    DEFAULT_K_CRITERION,
    DEFAULT_K_MAX,
    K_CRITERIA,
    choose_k,
    cluster_latent,
    clustering_scores,
    membership_probabilities,
)
from rvagene.data import has_real_labels, load_dataset
from rvagene.plotting import (
    cluster_colors,
    plot_clusters,
    plot_generated,
    plot_k_scores,
    plot_latent,
    plot_loss,
)

matplotlib.use("Agg")  # figures go to files only; works without a display

logger = logging.getLogger("train_and_gen")

DATA_DIR = "data"
FIGS_DIR = "figs"
OUT_DIR = "results"
SEED = 0
N_GENERATE = 20  # trajectories generated per cluster, as in the original
GENERATE_SCALE = 0.3  # variance of N(centre, scale * I), as in the original
# A gene whose largest cluster membership probability is below this is between clusters.
MIN_CONFIDENCE = 0.9
# Model options come from the estimator's signature, so defaults live in one place.
MODEL_DEFAULTS = {
    name: p.default
    for name, p in inspect.signature(RVAgene.__init__).parameters.items()
    if name not in ("self", "random_state", "verbose", "dload", "cuda", "log_file")
}


def _model_option_type(default):
    if isinstance(default, bool):
        return None
    if isinstance(default, int):
        return int
    if isinstance(default, float):
        return float
    return str


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = OneLineParser(
        prog="train_and_gen.py",
        description="Train RVAgene, cluster genes in its latent space, generate trajectories.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("data", help="data set name under --data-dir, or a file path")
    parser.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="data folder")
    parser.add_argument("--figs-dir", type=Path, default=Path(FIGS_DIR), help="figure folder")
    parser.add_argument(
        "--out-dir", type=Path, default=Path(OUT_DIR), help="folder for model, CSV, config"
    )
    parser.add_argument(
        "--n-clusters",
        type=int_at_least(1),
        default=None,
        help="K-means clusters (default: chosen by --k-criterion over 2..--k-max)",
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
        help="KMeans with 10 starts, or the original MiniBatchKMeans(batch_size=6, max_iter=10)",
    )
    parser.add_argument("--n-generate", type=int_at_least(1), default=N_GENERATE)
    parser.add_argument("--generate-scale", type=float, default=GENERATE_SCALE)
    parser.add_argument("--seed", type=int, default=SEED, help="random seed (random_state)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--ignore-times",
        action="store_true",
        help="fit without a table's uneven times (one step per time point); plots keep them",
    )
    model = parser.add_argument_group("model parameters (RVAgene)")
    for name, default in MODEL_DEFAULTS.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(default, bool):
            model.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
        elif default is None:
            model.add_argument(flag, type=int_at_least(1), default=None)
        else:
            model.add_argument(flag, type=_model_option_type(default), default=default)
    model.add_argument("--log-file", default=None, help="training log, written to --out-dir")
    cells = parser.add_argument_group("single-cell input (.h5ad; see rvagene.single_cell)")
    cells.add_argument("--pseudotime-key", default=None, help="obs column with the pseudotime")
    cells.add_argument(
        "--root-cell", default=None, help="compute DPT from this cell (position or obs_name)"
    )
    cells.add_argument("--window-length", type=int_at_least(1), default=40,
                       help="cells per window along pseudotime")  # fmt: skip
    cells.add_argument("--n-bins", type=int_at_least(2), default=None,
                       help="equal-frequency pseudotime bins instead of windows")  # fmt: skip
    cells.add_argument("--genes", type=Path, default=None, metavar="FILE",
                       help="genes to keep, one per line (None: all genes)")  # fmt: skip
    return parser.parse_args(argv)


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
        table = prepare(args.data, genes=genes, pseudotime_key=args.pseudotime_key,
                        root_cell=args.root_cell, window_length=args.window_length,
                        n_bins=args.n_bins).to_table(source=args.data)  # fmt: skip
    else:
        table = load_dataset(args.data, data_dir=args.data_dir)
    name = _dataset_name(args.data)
    X, n = table.X, table.X.shape[0]
    genes = table.genes or [f"gene_{i}" for i in range(n)]
    labelled = has_real_labels(table.labels)
    logger.info("%s: %d genes x %d time points%s from %s", name, n, X.shape[1],
                f" x {X.shape[2]} replicates" if X.ndim == 3 else "", table.source)  # fmt: skip
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
        msg = (f"--n-clusters {args.n_clusters} is more than the {n} genes in {name}; "
               "use a smaller number.")  # fmt: skip
        raise ValueError(msg)
    if args.n_clusters is None and n < 3:  # choose_k needs 2 <= k <= n - 1
        msg = f"{name} has {n} genes, too few to choose the number of clusters; give --n-clusters."
        raise ValueError(msg)
    model.fit(X, times=fit_times)
    logger.info("trained %.3g epochs (%d checks of the loss, kept check %d)",
                model.history_["epoch"][-1], model.n_iter_, model.best_epoch_)  # fmt: skip
    Z = model.transform(X)

    k = args.n_clusters
    scores = None
    if k is None:
        k_range = range(2, min(args.k_max, n - 1) + 1)
        k, scores = choose_k(Z, k_range, criterion=args.k_criterion, random_state=args.seed)
        print(f"{name}: chose k={k} by {args.k_criterion} "
              f"({K_CRITERIA[args.k_criterion]} is better): {_fmt_scores(scores)}")  # fmt: skip
    if k > n:
        msg = f"--n-clusters {k} is more than the {n} genes in {name}; use a smaller number."
        raise ValueError(msg)
    km = cluster_latent(Z, k, method=args.cluster_method, random_state=args.seed)
    assignments = km.labels_
    colors = cluster_colors(k)
    # Membership probabilities: the share of draws from each gene's latent posterior that
    # fall nearest to each centre (rvagene.cluster.membership_probabilities).
    mean, variance = model.latent_posterior(X)
    probabilities = membership_probabilities(mean, variance, km.cluster_centers_,
                                             random_state=args.seed)  # fmt: skip
    confidence = probabilities.max(axis=1)
    flagged = confidence < args.min_confidence
    print(f"{name}: {int(flagged.sum())} of {n} genes between clusters (largest membership "
          f"probability < {args.min_confidence:g})")  # fmt: skip

    result = {"n_clusters": k, "n_between": int(flagged.sum())}
    if scores is not None:
        result["k_scores"] = scores
    if labelled:
        result.update(clustering_scores(table.labels, assignments))
        print(f"{name}: ARI {result['ari']:.3f}  NMI {result['nmi']:.3f}  (k={k})")

    args.out_dir.mkdir(parents=True, exist_ok=True)
    model.save(args.out_dir / f"{name}_model.pt", overwrite=True)
    table_path = args.out_dir / f"{name}_clusters.csv"
    with atomic_open(table_path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")  # quotes names that hold commas or quotes
        writer.writerow(["gene", "cluster", "confidence", *(f"p_cluster_{j}" for j in range(k)),
                         *(["label"] if labelled else [])])  # fmt: skip
        for i, gene in enumerate(genes):
            writer.writerow([gene, assignments[i], f"{confidence[i]:.3f}",
                             *(f"{p:.3f}" for p in probabilities[i]),
                             *([table.labels[i]] if labelled else [])])  # fmt: skip
    write_config(args.out_dir / f"{name}_config.json", args)

    latent_labels = table.labels if labelled else assignments
    title = f"{name}: latent means" + (" (true labels)" if labelled else "")
    ax = plot_latent(Z, labels=latent_labels, title=title, flagged=flagged)
    save_figure(ax.figure, args.figs_dir / f"z_run_{name}.png")
    ax = plot_clusters(Z, assignments, centres=km.cluster_centers_, colors=colors,
                       title=f"{name}: K-means, k={k}", flagged=flagged)  # fmt: skip
    save_figure(ax.figure, args.figs_dir / f"clusters_{name}.png")
    if scores is not None:
        ax = plot_k_scores(scores, chosen=k, criterion=args.k_criterion,
                           title=f"{name}: choosing k")  # fmt: skip
        save_figure(ax.figure, args.figs_dir / f"k_scores_{name}.png")
    ax = plot_loss({**model.history_, "best_epoch": model.best_epoch_ - 1},
                   title=f"{name}: loss per gene")  # fmt: skip
    save_figure(ax.figure, args.figs_dir / f"loss_{name}.png")

    generated = model.generate(km.cluster_centers_, args.n_generate, args.generate_scale,
                               random_state=args.seed)  # fmt: skip
    centres = model.decode(km.cluster_centers_)
    unit = {"zscore": "z-score", "minmax": "min-max scaled", "none": "expression"}[model.scaling]
    for i in range(k):
        ax = plot_generated(generated[i], centre_series=centres[i], color=colors[i],
                            times=table.times, features="mean",
                            title=f"{name}: generated, cluster {i} "
                                  f"({int((assignments == i).sum())} genes)")  # fmt: skip
        ax.set(xlabel="time" if table.times is not None else "time point",
               ylabel=unit + (" (mean of replicates)" if X.ndim == 3 else ""))  # fmt: skip
        save_figure(ax.figure, args.figs_dir / f"generated_cluster_{name}{i}.png")
    return result


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

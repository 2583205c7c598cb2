"""Generate a synthetic gene-cluster data set, as RVAgene's ``gen_synthetic_data.py`` did.

The command ``gen_synthetic_data.py`` (installed as ``rvagene-simulate``):

    python gen_synthetic_data.py demosim --method convolve --n-clusters 6 --seed 0

writes

    data/demosim/demosim_TRAIN    all genes, label = cluster (0-based), comma-separated
    data/demosim/demosim_TEST     --n-test-per-cluster more genes per cluster, same means
    data/demosim/config.json      the arguments of this run
    figs/cluster_demosim0.png ... one figure per cluster: its genes and its mean in black

and prints ``wrote <path>`` for each. These are outputs, not part of the repository (git
ignores ``data/`` and ``figs/``). The data come from :func:`rvagene.simulate.simulate`
(see there for the maths and the fixes to the original generator).
``--genes-per-cluster 5 20 60`` gives one size per cluster. The default seed is fixed, so
the same command writes the same data.

Two options give data that UCR files cannot hold; the files are then gene-named tables
(``gene,label,<times>``, read by ``rvagene.read_table`` and ``train_and_gen.py``):

    --time-spacing log   sample --length time points, with gaps growing geometrically
                         (the last gap 41-46x the first for 12 to 200 points), from a
                         10x finer simulation;
                         the header holds the times
    --replicates 3       three noisy replicates of every gene's series (noise sd
                         --replicate-noise), in columns ``<time>_rep1, <time>_rep2, ...``
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import NoReturn

import matplotlib
import numpy as np

from ._cli import (
    OneLineParser,
    announce,
    command_interrupts,
    int_at_least,
    output_folder,
    run_command,
    save_figure,
    stop_if_interrupted,
    write_config,
)
from ._utils import write_together
from .data import write_table, write_ucr
from .plotting import cluster_colors, plot_series
from .simulate import simulate, time_grid

matplotlib.use("Agg")  # figures go to files only; works without a display

logger = logging.getLogger("gen_synthetic_data")

# Defaults: the original's demo data set (6 clusters x 20 genes x 100 time points).
METHOD = "convolve"
N_CLUSTERS = 6
GENES_PER_CLUSTER = 20
LENGTH = 100
NOISE = 1.0
GENE_SCALE = 0.0
GENE_OFFSET = 0.0
SEED = 0
N_TEST_PER_CLUSTER = 2
REPLICATES = 1
REPLICATE_NOISE = 0.1
DENSE_FACTOR = 10  # log spacing samples a simulation this many times finer
LOG_GROWTH = 5.0  # log spacing: the ramp's gaps grow by exp(LOG_GROWTH) (see below)
# The largest value written: train_and_gen.py reads larger ones as missing (the network
# computes in float32), so a data set beyond it could not be trained on.
FLOAT32_MAX = float(np.finfo(np.float32).max)
DATA_DIR = "data"
FIGS_DIR = "figs"


def _dataset_name(value: str) -> str:
    if not value or value in {".", ".."} or Path(value).name != value or "\\" in value:
        msg = f"invalid data set name {value!r}: use a plain name without path separators"
        raise argparse.ArgumentTypeError(msg)
    return value


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    parser = OneLineParser(
        prog="gen_synthetic_data.py",
        description="Generate a synthetic gene-cluster time series data set.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("name", type=_dataset_name, help="data set name, e.g. demosim")
    parser.add_argument(
        "--method", choices=("convolve", "add"), default=METHOD, help="how cluster means are built"
    )
    parser.add_argument("--n-clusters", type=int_at_least(1), default=N_CLUSTERS, help="clusters")
    parser.add_argument(
        "--genes-per-cluster",
        type=int_at_least(1),
        nargs="+",
        default=[GENES_PER_CLUSTER],
        metavar="N",
        help="one size for all clusters, or one size per cluster",
    )
    parser.add_argument(
        "--length", type=int_at_least(2), default=LENGTH, help="time points per gene"
    )
    parser.add_argument("--noise", type=float, default=NOISE, help="covariance multiplier")
    parser.add_argument(
        "--gene-scale", type=float, default=GENE_SCALE, help="lognormal sigma of gene scales"
    )
    parser.add_argument(
        "--gene-offset", type=float, default=GENE_OFFSET, help="sd of per-gene offsets"
    )
    parser.add_argument("--seed", type=int_at_least(0), default=SEED, help="random seed")
    parser.add_argument(
        "--n-test-per-cluster",
        type=int_at_least(0),
        default=N_TEST_PER_CLUSTER,
        metavar="N",
        help="held-out genes per cluster in <name>_TEST (0: no _TEST file)",
    )
    parser.add_argument(
        "--time-spacing",
        choices=("even", "log"),
        default="even",
        help="even: the original grid; log: uneven times, gaps growing geometrically",
    )
    parser.add_argument(
        "--replicates",
        type=int_at_least(1),
        default=REPLICATES,
        metavar="R",
        help="noisy replicates per gene and time point (R > 1 writes <time>_rep<k> columns)",
    )
    parser.add_argument(
        "--replicate-noise",
        type=float,
        default=REPLICATE_NOISE,
        help="sd of each replicate's independent noise around the gene's series",
    )
    _add_output_options(parser)
    args = parser.parse_args(argv)
    _check_args(parser, args)
    return args


def _add_output_options(parser) -> None:
    """Where the data set and figures go, and whether an existing data set is replaced."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing data set of this name (its _TRAIN, _TEST and config.json; "
        "a _TEST that this run does not write is removed)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="data folder")
    parser.add_argument("--figs-dir", type=Path, default=Path(FIGS_DIR), help="figure folder")


def _check_args(parser, args) -> None:
    """What argparse's types cannot check, as its one-line errors (before anything is written)."""
    for option in ("--noise", "--gene-scale", "--gene-offset", "--replicate-noise"):
        value = getattr(args, option[2:].replace("-", "_"))
        if not (math.isfinite(value) and value >= 0):
            parser.error(f"argument {option}: expected a finite number >= 0, got {value}")
    for option, folder in (("--data-dir", args.data_dir), ("--figs-dir", args.figs_dir)):
        if folder.exists() and not folder.is_dir():
            parser.error(f"argument {option}: {str(folder)!r} is a file; give a folder")


def log_spaced_indices(n_dense: int, n: int, growth: float = LOG_GROWTH) -> np.ndarray:
    """``n`` increasing indices into ``n_dense`` points, gaps growing geometrically.

    The first index is 0 and the last ``n_dense - 1``. The indices follow a convex ramp
    whose slope grows by ``exp(growth)`` from start to end, plus one step per index (which
    keeps them distinct) and rounding: with ``n_dense = 10 n`` the last gap is 41-46 times
    the first for n = 12 to 200 (17.5 for n = 6).

    Examples
    --------
    >>> log_spaced_indices(100, 6).tolist()
    [0, 2, 6, 15, 38, 99]
    """
    j = np.arange(n)
    ramp = np.expm1(growth * j / max(n - 1, 1)) / np.expm1(growth)  # 0 .. 1, convex
    return np.round(j + (n_dense - n) * ramp).astype(int)  # the + j keeps them distinct


def _save_cluster_figures(args, X, labels, means, times) -> None:
    """One figure per cluster: its genes and its mean, against the time written to the file.

    Evenly spaced data are written without times (a UCR file), so their x-axis is the time
    point's number, as in ``train_and_gen.py``'s figures; log-spaced data show their times.
    """
    colors = cluster_colors(len(means))  # colour k = cluster k, as train_and_gen draws it
    mean_label = "cluster mean (noise-free)"
    if args.gene_scale > 0 or args.gene_offset > 0:  # the genes are scaled/shifted from it
        mean_label = "noise-free shape (before gene scale/offset)"
    for k, mean in enumerate(means):  # 0-based file numbers, as in the original
        members = X[labels == k]
        ax = plot_series(
            members,
            color=colors[k],
            mean=mean,
            times=times,
            alpha=0.8,
            title=f"{args.name}: cluster {k}",
            features="mean",
            label=f"{len(members)} genes",
            mean_label=mean_label,
        )
        unit = "expression" + (" (mean of replicates)" if X.ndim == 3 else "")
        ax.set(xlabel="time point" if times is None else "time", ylabel=unit)
        save_figure(ax.figure, args.figs_dir / f"cluster_{args.name}{k}.png")


def _with_replicates(X: np.ndarray, args) -> np.ndarray:
    """``X`` (genes, time), or with ``--replicates`` noisy copies: (genes, time, replicates)."""
    if args.replicates == 1:
        return X
    rng = np.random.default_rng([args.seed, 1])  # independent noise around each gene's series
    noise = rng.standard_normal((*X.shape, args.replicates))
    with np.errstate(over="ignore", invalid="ignore"):  # main reports an overflow
        return X[:, :, None] + args.replicate_noise * noise


def _check_outputs(args) -> None:
    """Before anything is simulated: writable folders, and no data set replaced unasked."""
    for option, folder in (("--data-dir", args.data_dir), ("--figs-dir", args.figs_dir)):
        output_folder(option, folder)
    folder = args.data_dir / args.name
    existing = [folder / f"{args.name}_{part}" for part in ("TRAIN", "TEST")]
    existing = [p for p in [*existing, folder / "config.json"] if p.exists()]
    if existing and not args.overwrite:
        msg = (
            f"{existing[0]} exists; give --overwrite to replace the data set {args.name!r}, "
            "or choose another name or --data-dir."
        )
        raise FileExistsError(msg)


# Whether the data set replaced the earlier one (what an interrupt leaves behind).
_STATE = {"written": False}


def main(argv=None) -> int:
    """Run the script; return the exit status (0 on success, 2 for bad input).

    Nothing is written when a folder cannot be written or the data set exists without
    ``--overwrite``; the data, its config and the figures replace the earlier ones together
    (:func:`rvagene._utils.write_together`), so a run that fails or is interrupted leaves
    them as they were. Ctrl-C raises ``KeyboardInterrupt("interrupted; no file was
    replaced")`` (or "...; the data set was written", during the moves), so a notebook or a
    loop calling ``main`` stops too; at the command line it is one line on stderr and exit
    status 130 (:func:`rvagene._cli.command_interrupts`).
    """
    args = parse_args(argv)
    _STATE["written"] = False
    with command_interrupts(lambda: "the data set was written" if _STATE["written"] else None):
        return _run(args)


def _run(args) -> int:
    """:func:`main` after the arguments are parsed; the exit status."""
    try:
        _check_outputs(args)
    except (ValueError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sizes = np.asarray(args.genes_per_cluster)
    if len(sizes) == 1:
        sizes = np.full(max(args.n_clusters, 1), sizes[0])
    log = args.time_spacing == "log"
    n_points = args.length * DENSE_FACTOR if log and args.length > 1 else args.length
    try:
        # Train and test genes come from one draw, so they share the cluster means.
        X, labels, means = simulate(
            n_clusters=args.n_clusters,
            genes_per_cluster=[int(s) + args.n_test_per_cluster for s in sizes],
            sequence_length=n_points,
            method=args.method,
            noise=args.noise,
            gene_scale=args.gene_scale,
            gene_offset=args.gene_offset,
            random_state=args.seed,
            return_means=True,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    times = time_grid(n_points)
    if log:  # keep --length log-spaced points of the finer simulation
        keep = log_spaced_indices(n_points, args.length)
        X, means = X[:, keep], means[:, keep]
        times = np.array([float(f"{t:.6g}") for t in times[keep]])  # short header cells
    X = _with_replicates(X, args)
    biggest = float(np.max(np.abs(X)))
    if not biggest <= FLOAT32_MAX:  # before anything is written: values a fit cannot read
        print(f"error: the values reach {biggest:.3g}, beyond the {FLOAT32_MAX:.3g} (float32) "
              "that train_and_gen.py reads; lower --noise, --gene-scale, --gene-offset or "
              "--replicate-noise.", file=sys.stderr)  # fmt: skip
        return 2
    # The first sizes[k] genes of each cluster are training genes, the rest test genes.
    starts = np.searchsorted(labels, np.arange(len(means)))
    is_train = np.arange(len(labels)) - starts[labels] < sizes[labels]
    return _write_data_set(args, X, labels, is_train, means, times if log else None)


def _write_data_set(args, X, labels, is_train, means, times) -> int:
    """The data set, its config and figures, together (``times``: log-spaced only); a status."""

    def write(path, rows, row_labels):
        if times is not None or X.ndim == 3:  # a gene-named table: UCR has no times, replicates
            write_table(path, rows, times=times, labels=row_labels)
        else:
            write_ucr(path, rows, row_labels)

    out_dir = args.data_dir / args.name
    test = out_dir / f"{args.name}_TEST"
    earlier_k = _n_clusters_of(out_dir)

    def done():  # with the moves, Ctrl-C held back: the earlier data set's extra files go
        _STATE["written"] = True
        if args.n_test_per_cluster == 0 and test.exists():  # an earlier data set's, unmatched
            test.unlink()
            print(f"removed {test} (held-out genes of the earlier data set)", flush=True)
        _remove_stale_figures(args, len(means), earlier_k)

    try:
        with write_together(done):  # the data set, its config and figures: all, or none
            train = out_dir / f"{args.name}_TRAIN"
            write(train, X[is_train], labels[is_train])
            reps = f" x {X.shape[2]} replicates" if X.ndim == 3 else ""
            announce(train, f" ({is_train.sum()} genes x {X.shape[1]} time points{reps})")
            if args.n_test_per_cluster > 0:
                write(test, X[~is_train], labels[~is_train])
                announce(test, f" ({(~is_train).sum()} held-out genes)")
            write_config(out_dir / "config.json", args)
            # even spacing: no times written, so the figures show time points
            _save_cluster_figures(args, X[is_train], labels[is_train], means, times)
            stop_if_interrupted()  # a Ctrl-C that Python swallowed (in matplotlib's clean-up)
    except OSError as exc:
        said = "" if _STATE["written"] else "; no file was replaced"
        print(f"error: {exc}{said}", file=sys.stderr)
        return 1
    return 0


def _n_clusters_of(folder: Path) -> int:
    """The clusters of the data set in ``folder``, by its config.json; 0 without one."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        sizes = config.get("genes_per_cluster") or []
        k = len(sizes) if len(sizes) > 1 else config["n_clusters"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return 0
    return k if isinstance(k, int) and k > 0 else 0


def _remove_stale_figures(args, k: int, earlier_k: int) -> None:
    """After ``--overwrite`` with fewer clusters: the earlier data set's extra figures.

    ``cluster_<name><i>.png`` is kept where another data set in ``--data-dir`` has a figure
    of that name (``sim`` cluster 10 and ``sim1`` cluster 0).
    """
    others = {
        f"{d.name}{j}"
        for d in args.data_dir.iterdir()
        if d.is_dir() and d.name != args.name
        for j in range(_n_clusters_of(d))
    }
    for i in range(k, earlier_k):
        path = args.figs_dir / f"cluster_{args.name}{i}.png"
        if f"{args.name}{i}" not in others and path.is_file():
            path.unlink()
            print(f"removed {path} (cluster of the earlier data set)", flush=True)


def console() -> NoReturn:
    """The ``rvagene-simulate`` command: progress on stdout, warnings one line each.

    It ends the process (:func:`rvagene._cli.exit_now`) with :func:`main`'s status.
    """
    run_command(main)

"""Train RVAgene on a data set, cluster its genes and generate new trajectories.

The command ``train_and_gen.py`` (installed as ``rvagene-train``):

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
    results/<name>_clusters.csv           gene, cluster ("flat" for a flat gene), confidence,
                                          p_cluster_<i>, reconstruction_r2 (the share of the
                                          gene's variance the model rebuilds) and the
                                          user's label
    results/<name>_generated.csv          cluster, sample, one value per time point (data units)
    results/<name>_config.json            the arguments, the chosen k, the clusters' sizes,
                                          the space, the times, the fits' seeds, the versions,
                                          the commit, warnings
    results/<name>_rvagene.h5ad           for an .h5ad input: the input with rvagene's keys
                                          (rvagene.annotate)

A run never replaces an earlier run's files silently: when any of them exists it stops
before any work, with exit status 2 and one line naming ``--overwrite``.

The clustering is ``rvagene.GeneClustering`` with its defaults (``--space auto``): for at most
2,000 genes, 2 models are fitted with different seeds, 3 more when their clusters disagree
(``--n-fits``; side by side on every core, ``--n-jobs``), and the genes are clustered by the
co-association consensus of many single-start K-means runs on every fit's latent space and
decoded space (``--space both``): on the quality suite this was the only choice whose ARI
stayed within 0.05 over seeds on every case (docs/results.md). When the genes share one shape
(under 30% of the z-scores' variance between genes) the model learns that shape, and the genes
are clustered by K-means on the slopes of their z-scored series instead (``--space slopes``,
one fit, which generates). ``--n-fits 1 --space latent`` is the published tool's clustering of
one fit's latent means. The model with the lowest held-out loss is saved and generates.
Generated trajectories are drawn from each cluster's own latent spread and shifted by the
cluster's mean residual, the mean of its genes minus their reconstructions
(``rvagene.generate_around_centres(model, ..., X=X, labels=...)``; ``--no-offset`` leaves
the decoder's series alone); ``--generate-scale 0.3`` gives the original's N(centre, 0.3 I).
It prints ``wrote <path>`` for each file, after one block of the run's warnings, and ARI and NMI
only against labels the user gave (a UCR label column, a ``label`` column, ``--labels FILE``, or
for an ``.h5ad`` a ``.var`` column ``--labels-key``); the single-cell path's up/down directions
colour the figures but are not truth, so no ARI is printed against them. With labels, the K-means
clusters are numbered to match them (the Hungarian method), so cluster i holds mostly label i's
genes and has label i's colour in every figure; training progress is shown unless ``--quiet``.
Without ``--n-clusters``, k is chosen by ``rvagene.cluster.choose_k`` (``--k-criterion``, k = 2 to
``--k-max``), and the chosen k and every score are printed. Each gene gets a probability per
cluster (the share of draws from its latent posterior nearest to each centre); genes whose
probability of their own cluster is below ``--min-confidence`` (0.9) are counted and ringed in
black in the latent figures. Every model parameter is an option (``--hidden-size``, ``--block
LSTM``, ...), with the estimator's defaults. Flat genes (no variance over time) are in no
cluster: "flat" in the clusters table, named in the figures' titles. Bad input ends with exit
status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import csv
import inspect
import logging
import re
import sys
import warnings
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import NoReturn

import matplotlib
import numpy as np

from . import _outputs
from ._cli import (
    HelpFormatter,
    OneLineParser,
    command_interrupts,
    int_at_least,
    output_folder,
    parameter_docs,
    real_number,
    run_command,
    stop_if_interrupted,
)
from ._utils import is_real_at_least, write_together
from .cluster import (
    DEFAULT_GMEANS_WINDOW,
    DEFAULT_K_MAX,
    K_CRITERIA,
    clustering_scores,
    match_clusters,
)
from .data import (
    TimeSeriesTable,
    _guess_sep,
    _read_labels,
    _read_text,
    _uneven_times,
    check_input,
    checked_table,
    flat_genes,
    has_real_labels,
    keep_genes,
    labelled,
    load_dataset,
    read_gene_list,
)
from .model import RVAgene
from .pipeline import (
    DEFAULT_N_FITS,
    DEFAULT_SPACE,
    PIPELINE_K_CRITERION,
    PIPELINE_K_TOLERANCE,
    SPACE_CHOICES,
    GeneClustering,
    cluster_offsets,
    generate_around_centres,
)
from .plotting import DOWN_COLOR, UP_COLOR, cluster_colors, label_colors, matched_colors
from .single_cell import (
    DOWN,
    PSEUDOTIME_KEYS,
    UP,
    WINDOW_LENGTH,
    _pseudotime_from_obs,
    pseudotime_keys_in,
    stored_root,
    values_name,
)

matplotlib.use("Agg")  # figures go to files only; works without a display

logger = logging.getLogger("train_and_gen")

PROG = "train_and_gen.py"  # the command's name; installed, it is rvagene-train
DATA_DIR = "data"
FIGS_DIR = "figs"
OUT_DIR = "results"
SEED = 0
MAX_SEED = 2**32 - 1  # scikit-learn's random_state (numpy's RandomState) takes no more
N_GENERATE = 20  # trajectories generated per cluster, as in the original
# Fits run side by side on every core by default (GeneClustering's n_jobs; one torch thread
# each). The library's default is one process, as in scikit-learn; a command uses the machine.
N_JOBS = -1
# A gene whose largest cluster membership probability is below this is between clusters.
MIN_CONFIDENCE = 0.9
# A cluster with fewer genes is named in the output: on the hard suite the consensus of fits
# left genes that no fit placed firmly in clusters of 1 or 2 (docs/results.md, "Generation").
SMALL_CLUSTER = 3
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
    "log_file": "file name for the training log in --out-dir (not the input or a result); "
    "it replaces an earlier file with the other results, at the end of a run, and needs "
    "--overwrite as they do; parallel fits (--n-fits, --n-jobs) append their lines to it as "
    "they come, each fit's epochs counting from 1",
    "print_every": "with --log-file: log the batch loss every this many optimiser steps (0: "
    "only a line per check); nothing else uses it",
    "sequence_length": "time points per series, checked against the data when given",
    "number_of_features": "values per time point (replicates), checked when given",
    "loss": "elementwise reconstruction loss",
    "scaling": "per-gene scaling over time before encoding (none: the original's raw values)",
    "n_threads": "torch threads on the CPU while fitting and predicting; -1 uses every core",
    "max_timepoints": "longest series the network runs over: longer ones are averaged in bins "
    "of consecutive points and the outputs interpolated back",
}
# Argparse types of the number options: the check, and what the error says was expected.
_non_negative = real_number(lambda v: is_real_at_least(v, 0.0), "a number >= 0")
_probability = real_number(lambda v: 0.0 < v <= 1.0, "a number in (0, 1]")
# Integer options that also take "none" (the estimator's None: no limit).
NONE_ALLOWED = {"max_steps": 1, "max_timepoints": 2}
K_CRITERION_HELP = (
    "how k is chosen without --n-clusters (rvagene.cluster.choose_k on the fits' latent means, "
    "its scores averaged over the fits; gmeans: G-means on every clustering space of every "
    "fit, the lower median of its k, kept within the silhouette's window: from the k of the "
    "fits' best mean silhouette up to the largest k reached while it stays within "
    f"{DEFAULT_GMEANS_WINDOW:g} standard errors of the best; figs/k_scores_<name>.png shades "
    "the window)"
)

EPILOG = """\
input formats (the positional argument):
  a data set name       data/<name>/<name>_TRAIN, as gen_synthetic_data.py writes it
  a UCR file            no header; one gene per line: an integer label, then its values
  a gene-named table    .csv/.tsv/.txt: a header of time points, one gene per row, its name
                        first; an optional 'label' column; times may carry a unit (0h, 30min,
                        2d) and uneven times are used; replicate columns are <time>_rep<k>;
                        semicolons and decimal commas (European exports) are read; a table
                        without a gene column (header 0h,1h,... over numbers) gets gene_1, ...
  an AnnData file       .h5ad single cells, averaged over windows along pseudotime; needs
                        pip install "rvagene[singlecell]"; writes <name>_rvagene.h5ad

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
            option = "--" + other.replace("_", "-")
            # a minus before the name (``-time_shift``) would read ``---time-shift``
            sentence = re.sub(rf"(?<![\w-])-{other}\b", f"-({option})", sentence)
            sentence = re.sub(rf"\b{other}\b", option, sentence)
    return MODEL_HELP.get(name, sentence), choices


def parse_args(argv=None, prog: str = PROG) -> argparse.Namespace:
    """Parse the command line (``argv`` defaults to ``sys.argv[1:]``)."""
    return build_parser(prog).parse_args(argv)


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The script's argument parser (``prog`` names the command in help and errors)."""
    parser = OneLineParser(
        prog=prog,
        description="Train RVAgene, cluster genes by their trajectories (by default the "
        "consensus of the fits' latent and decoded spaces), generate trajectories.",
        formatter_class=HelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument(
        "data", help="data set name under --data-dir, or a file path (formats below)"
    )
    _add_file_options(parser)
    _add_cluster_options(parser)
    _add_generation_options(parser)
    _add_run_options(parser)
    _add_model_options(parser)
    _add_cell_options(parser)
    return parser


def _add_file_options(parser) -> None:
    """Where the data are read from and the outputs go; the user's labels."""
    parser.add_argument("--data-dir", type=Path, default=Path(DATA_DIR), help="data folder")
    parser.add_argument("--figs-dir", type=Path, default=Path(FIGS_DIR), help="figure folder")
    parser.add_argument(
        "--out-dir", type=Path, default=Path(OUT_DIR), help="folder for model, CSV, config"
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run's results (without it, a run whose files exist stops "
        "before any work, with exit status 2)",
    )
    parser.add_argument(
        "--labels",
        type=Path,
        default=None,
        metavar="FILE",
        help="known labels to score the clusters against (ARI, NMI): a CSV/TSV of gene, label "
        "(default: the file's own label column, if any)",
    )
    parser.add_argument(
        "--genes",
        type=Path,
        default=None,
        metavar="FILE",
        help="genes to cluster, one per line, e.g. those a time-course test found to change "
        "(a table's or an .h5ad's gene names; names not in the data are skipped with a "
        "warning; default: all genes)",
    )


def _add_cluster_options(parser) -> None:
    """How genes are clustered."""
    parser.add_argument(
        "--n-clusters",
        type=int_at_least(1),
        default=None,
        help="number of K-means clusters (default: chosen by --k-criterion, k = 2 to --k-max)",
    )
    parser.add_argument(
        "--k-criterion",
        choices=tuple(K_CRITERIA),
        default=PIPELINE_K_CRITERION,
        help=K_CRITERION_HELP,
    )
    parser.add_argument(
        "--k-max",
        type=int_at_least(2),
        default=DEFAULT_K_MAX,
        help="largest k tried without --n-clusters",
    )
    parser.add_argument(
        "--k-tolerance",
        type=_non_negative,
        default=PIPELINE_K_TOLERANCE,
        help="with --k-criterion silhouette: k steps up from the best k while the fits' mean "
        "silhouette stays within this many standard errors of the best (0: the best k)",
    )
    parser.add_argument(
        "--min-confidence",
        type=_probability,
        default=MIN_CONFIDENCE,
        help="genes whose membership probability of their own cluster is below this are flagged",
    )
    parser.add_argument(
        "--cluster-method",
        choices=("kmeans", "minibatch"),
        default="kmeans",
        help="kmeans: KMeans with 10 starts; minibatch: the original "
        "MiniBatchKMeans(batch_size=6, max_iter=10)",
    )


def _add_generation_options(parser) -> None:
    """How many trajectories are generated, and how."""
    parser.add_argument(
        "--n-generate",
        type=int_at_least(1),
        default=N_GENERATE,
        help="trajectories sampled around each cluster centre",
    )
    parser.add_argument(
        "--generate-scale",
        type=_non_negative,
        default=None,
        help="variance of the samples around a centre, N(centre, scale * I), as the original "
        "(0.3) (default: each cluster's own latent spread)",
    )
    parser.add_argument(
        "--noise",
        action="store_true",
        help="add to each generated series Gaussian noise as large as its cluster's genes' "
        "residuals at each time point, so the series vary about as much as real genes "
        "(default: the decoded series, smooth, which vary far less in shape than real genes)",
    )
    parser.add_argument(
        "--no-offset",
        action="store_true",
        help="generate the decoder's series alone (default: each cluster's series are shifted "
        "by its genes' mean residual, so a cluster the model reconstructs poorly still gets "
        "series around its genes' mean; never with --generate-scale)",
    )


def _add_run_options(parser) -> None:
    """Fits, seed, progress and times."""
    parser.add_argument(
        "--n-fits",
        type=int_at_least(1),
        default=None,
        help="models fitted with different seeds whose K-means clusterings are combined "
        "(co-association consensus); the one with the lowest held-out loss is saved and "
        f"generates (default: GeneClustering's {DEFAULT_N_FITS!r}: 2, and 3 more when they "
        "disagree, for at most 2,000 genes, else 1; 1 with --space slopes or --cluster-method "
        "minibatch)",
    )
    parser.add_argument(
        "--space",
        choices=SPACE_CHOICES,
        default=DEFAULT_SPACE,
        help="where genes are clustered: latent means, decoded series, the consensus of both, "
        "or the slopes of the z-scored series; auto: both, or slopes when the genes share one "
        "shape (rvagene.representation; latent with --cluster-method minibatch)",
    )
    parser.add_argument(
        "--n-jobs",
        type=_n_jobs,
        default=N_JOBS,
        help="fits (and figures) run side by side in this many processes (-1: every core, "
        "-2: all but one; 0 is refused)",
    )
    parser.add_argument(
        "--seed",
        type=int_at_least(0, maximum=MAX_SEED),
        default=SEED,
        help="random seed (random_state)",
    )
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


def _n_jobs(value: str) -> int:
    """Argparse type of --n-jobs: a non-zero integer (joblib's: -1 is every core)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number == 0:
        msg = f"expected a non-zero integer (1: one process, -1: every core), got {value!r}"
        raise argparse.ArgumentTypeError(msg)
    return number


def _add_model_options(parser) -> None:
    """One option per RVAgene parameter, with the estimator's defaults."""
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
        elif name in NONE_ALLOWED:
            kind = int_at_least(NONE_ALLOWED[name], none=True)
            model.add_argument(flag, type=kind, default=default, help=text + "; or none")
        elif name == "print_every":
            model.add_argument(flag, type=int_at_least(0), default=default, help=text)
        else:
            model.add_argument(flag, type=_model_option_type(default), default=default, help=text)
    model.add_argument(
        "--log-file", default=None, help=MODEL_HELP["log_file"] + " (default: no log)"
    )


def _add_cell_options(parser) -> None:
    """Options of the .h5ad path (rvagene.single_cell.prepare)."""
    cells = parser.add_argument_group(
        "AnnData input (.h5ad; see rvagene.single_cell, rvagene.annotate)"
    )
    cells.add_argument(
        "--pseudotime-key",
        default=None,
        help="obs column with the pseudotime (default: the one of "
        f"{', '.join(PSEUDOTIME_KEYS)} that obs holds; without one, give this or --root-cell)",
    )
    cells.add_argument(
        "--root-cell",
        default=None,
        help="compute diffusion pseudotime (DPT) from this cell, a position or an obs name, "
        "instead of --pseudotime-key (default: none)",
    )
    cells.add_argument(
        "--window-length",
        type=int_at_least(1),
        default=None,
        help="cells per window along pseudotime (default: 40, unless --n-bins is given)",
    )
    cells.add_argument(
        "--n-bins",
        type=int_at_least(2),
        default=None,
        help="equal-frequency pseudotime bins instead of windows of --window-length cells "
        "(default: windows)",
    )
    cells.add_argument(
        "--time-key",
        default=None,
        help="bulk AnnData (samples x genes): the obs column of each sample's time; samples "
        "at one time are averaged (default: single cells, by pseudotime)",
    )
    cells.add_argument(
        "--layer",
        default=None,
        help="an adata.layers key whose values are clustered instead of X, e.g. log-normalised "
        "values beside raw counts; --root-cell's DPT still reads X (default: X)",
    )
    cells.add_argument(
        "--labels-key",
        default=None,
        help="a .var column of known gene labels to score the clusters against "
        "(default: no score; the up/down directions are not truth)",
    )


def _dataset_name(data: str) -> str:
    """The name of the outputs: the file's name without its suffixes, in any case.

    ``genes.CSV.gz`` and ``genes.csv`` give ``genes``; ``data/toy/toy_TRAIN`` gives ``toy``.
    """
    path = Path(data)
    name = path.name
    for suffix in (".gz", "_TRAIN", ".csv", ".tsv", ".txt", ".tab", ".h5ad"):
        if name.lower().endswith(suffix.lower()):
            name = name[: -len(suffix)]
    return name or "data"


def _is_h5ad(args) -> bool:
    return str(args.data).lower().endswith(".h5ad")


# ---------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict:
    """Read, cluster, generate and write every output; return the scores.

    Nothing is read or fitted when an earlier run's files would be replaced without
    ``--overwrite``, when an option does not apply to the input, when an output folder
    cannot be written, or when ``--log-file`` is not a file name in ``--out-dir`` or names
    the input or a result. The results (the log with them) are written to temporary files
    and replace the earlier ones together at the end, so a run that stops, by an error or
    Ctrl-C, leaves every earlier file as it was. Warnings about the options are printed
    before any work, those about the data (raw counts, extreme values, ...) once it is read,
    before the fits, and those raised while clustering before the ``wrote`` lines; all are
    kept in the config file. With ``--overwrite``, the earlier run's figures of clusters beyond the
    new k, and its log when this run writes none in its place, are removed once every new
    file is written.
    """
    name = _dataset_name(args.data)
    with warnings.catch_warnings(record=True) as early:  # options without effect: say so now
        warnings.simplefilter("always")
        _check_options(args)
    shown = [_as_options(text) for text in _outputs.warning_lines(early)]
    _outputs.print_warnings(shown)
    for option, folder in (("--out-dir", args.out_dir), ("--figs-dir", args.figs_dir)):
        output_folder(option, folder)
    _outputs.check_log_file(args, name)
    _outputs.check_no_overwrite(args, name)
    if _is_h5ad(args):
        _require_singlecell()
    earlier_k = _outputs.earlier_k(args, name)
    earlier_log = _outputs.earlier_config(args, name).get("log_file")
    with _outputs.run_log(args) as log:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = read_input(args, name)
            check_input(data.table.X)  # the fit's data warnings (raw counts, ...): said now
        read = [t for t in _outputs.warning_lines(caught) if _as_options(t) not in shown]
        _outputs.print_warnings(read)  # before the fits, not minutes later
        shown = shown + read
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            gc = cluster_genes(args, data, name, log)
            found, result = describe(args, data, gc, name)
        later = [
            t
            for t in _outputs.warning_lines(caught)
            if t not in shown and _as_options(t) not in shown
        ]
        notes = shown + later  # the fits repeat the options' and the data's warnings: once
        _outputs.print_warnings(later)
        with warnings.catch_warnings(record=True) as late:
            warnings.simplefilter("always")
            _STATE["writing"] = True

            def done():  # with the moves, Ctrl-C held back: the earlier run's extra files go
                _STATE["written"] = True
                _outputs.remove_stale_figures(
                    args, name, earlier_k, found.k, gc.k_scores_ is not None
                )
                _outputs.remove_stale_annotation(args, name, data.adata is not None)
                _outputs.remove_stale_log(args, name, earlier_log)

            with write_together(done):  # every file, or none: no mix of two runs' results
                write_outputs(args, name, data, gc, found, notes, log)
                stop_if_interrupted()  # a Ctrl-C that Python swallowed
    _outputs.print_warnings([t for t in _outputs.warning_lines(late) if t not in notes])
    return result


# Options of the .h5ad path only (argparse's names).
CELL_OPTIONS = (
    "pseudotime_key", "root_cell", "window_length", "n_bins", "time_key", "labels_key", "layer",
)  # fmt: skip


def _check_options(args) -> None:
    """Refuse bad options and options that the input would ignore; warn about the rest.

    The warnings name options that the others make do nothing (``--lr-decay`` with the one
    cycle, ``--k-max`` with ``--n-clusters``, ...).
    """
    gc = estimator(args)
    try:
        RVAgene(**gc.model_params)._check_params()  # noqa: SLF001 - the package's own check
    except ValueError as exc:  # named as the command line names it
        raise ValueError(_as_options(str(exc))) from exc
    if not _is_h5ad(args):
        given = [o for o in CELL_OPTIONS if getattr(args, o) is not None]
        if given:
            flag = "--" + given[0].replace("_", "-")
            msg = f"{flag} applies to .h5ad input only, and {args.data} is not one; leave it out."
            raise ValueError(msg)
    _check_bulk_options(args)
    if args.cluster_method == "minibatch":
        extra = [f"--n-fits {args.n_fits}"] if args.n_fits not in (None, 1) else []
        extra += [f"--space {args.space}"] if args.space not in (DEFAULT_SPACE, "latent") else []
        if extra:
            msg = (
                f"--cluster-method minibatch clusters one fit's latent means (the original's "
                f"clustering), so {' and '.join(extra)} would be ignored; leave "
                f"{'them' if len(extra) > 1 else 'it'} out, or use --cluster-method kmeans."
            )
            raise ValueError(msg)
    gc._check_params()  # its warnings: k options with --n-clusters, ...
    if args.no_offset and args.generate_scale is not None:
        msg = (
            "--no-offset has no effect: --generate-scale is the original's generation, "
            "which adds no offset."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)


# Options of single cells along pseudotime, which bulk samples (--time-key) do not use.
PSEUDOTIME_OPTIONS = ("pseudotime_key", "root_cell", "window_length", "n_bins")


def _check_bulk_options(args) -> None:
    """Refuse the single-cell options with ``--time-key``, which would ignore them."""
    given = [o for o in PSEUDOTIME_OPTIONS if getattr(args, o) is not None]
    if args.time_key is not None and given:
        flag = "--" + given[0].replace("_", "-")
        msg = (
            f"{flag} applies to single cells ordered by pseudotime; with --time-key the "
            "samples at each time are averaged, so it would be ignored. Leave it out, or "
            "leave out --time-key."
        )
        raise ValueError(msg)


# Parameters that the warnings name, as options (``name=value`` -> ``--name value``).
_OPTION_NAMES = (*MODEL_DEFAULTS, "log_file", "n_clusters", "k_criterion", "k_max", "k_tolerance")


def _as_options(text: str) -> str:
    """A message's parameter names as the command line's options.

    ``clip=False`` reads ``--no-clip``, ``lr_schedule='plateau'`` ``--lr-schedule plateau``,
    ``log_file=None`` ``no --log-file``; a bare name is converted where it has an underscore
    (``print_every``) or begins the message (``Unknown optimizer ...``), not a word such as
    "loss" in a sentence.
    """

    def option(name: str, value: str | None = None) -> str:
        flag = "--" + name.replace("_", "-")
        value = None if value is None else value.strip("'")
        if value in ("True", "False"):
            return flag if value == "True" else "--no-" + flag[2:]
        if value is None:
            return flag
        return "no " + flag if value == "None" else f"{flag} {value}"

    bare = "|".join(n for n in _OPTION_NAMES if "_" in n)
    parts = re.split(r"('[^']*')", text)  # odd parts quoted: values (a path), left as they are
    parts[::2] = [
        re.sub(rf"(?<![\w-])({bare})\b(?!=)", lambda m: option(m[1]), p) for p in parts[::2]
    ]
    text = "".join(parts)
    names = "|".join(sorted(_OPTION_NAMES, key=len, reverse=True))
    value = r"'[^']*'|[^\s,;:)]+?(?=\.?(?:[\s,;:)]|$))"  # a trailing full stop is no part
    text = re.sub(rf"(?<![\w-])({names})=({value})", lambda m: option(m[1], m[2]), text)
    return re.sub(rf"^(Unknown )?({names})\b", lambda m: (m[1] or "") + option(m[2]), text)


def _require_singlecell() -> None:
    """An .h5ad input needs scanpy and anndata: say how to install them."""
    try:
        import anndata  # noqa: F401
        import scanpy  # noqa: F401
    except ImportError as err:
        msg = (
            f"reading an .h5ad file needs scanpy and anndata ({err}); install them with "
            'pip install "rvagene[singlecell]"'
        )
        raise ValueError(msg) from None


def read_input(args, name: str) -> SimpleNamespace:
    """The table to cluster, the user's labels (``truth``) and, for .h5ad, the AnnData."""
    series = adata = where = None
    if _is_h5ad(args):
        table, truth, series, adata, where = _read_anndata(args)
    else:
        table = load_dataset(args.data, data_dir=args.data_dir)
        if args.genes is not None:
            table = keep_genes(table, read_gene_list(args.genes))
        truth = table.labels if has_real_labels(table.labels) else None
    n = table.X.shape[0]
    genes = table.genes or [f"gene_{i}" for i in range(1, n + 1)]
    if args.labels is not None:
        truth = _file_labels(args.labels, genes)
    given = f"--labels {args.labels}" if args.labels is not None else None
    if args.labels_key is not None:
        given = f"--labels-key {args.labels_key}"
    if given and not has_real_labels(truth):
        msg = (
            f"{given} gives the genes fewer than 2 distinct labels; ARI and NMI need at "
            "least 2, so the clusters are not scored."
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
    truth, known = _unlabelled(truth, genes, name)
    reps = f" x {table.X.shape[2]} replicates" if table.X.ndim == 3 else ""
    logger.info(
        "%s: %d genes x %d time points%s from %s", name, n, table.X.shape[1], reps, table.source
    )
    return SimpleNamespace(
        table=table,
        genes=genes,
        truth=truth,
        known=known,
        series=series,
        adata=adata,
        where=where,
    )


def _read_anndata(args):
    """Single cells -> windows along pseudotime; or bulk samples with times (--time-key)."""
    import anndata

    from .annotate import _check_column, _check_unique_genes, bulk_series, windows_info
    from .single_cell import prepare

    if not Path(args.data).is_file():
        msg = f"No such file: {str(args.data)!r}. Give the path of an .h5ad file."
        raise FileNotFoundError(msg)
    try:
        adata = anndata.read_h5ad(args.data)
    except (OSError, KeyError, TypeError, ValueError) as exc:  # h5py's and anndata's words
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = (
            f"{args.data} is not a readable .h5ad file ({first}); give an AnnData file "
            "written by anndata or scanpy (adata.write_h5ad), or a table."
        )
        raise ValueError(msg) from exc
    if adata.n_obs == 0 or adata.n_vars == 0:
        msg = f"{args.data} holds {adata.n_obs} cells or samples x {adata.n_vars} genes: no data."
        raise ValueError(msg)
    _check_unique_genes(adata)  # the results are written back by gene name, after the fit
    _check_x(args, adata)
    if args.labels_key is not None:  # before the windows and DPT (before: after them)
        _check_column("--labels-key", args.labels_key, adata.var, ".var")
    genes = read_gene_list(args.genes) if args.genes else None
    if args.time_key is not None:  # bulk: samples x genes, each sample's time in .obs
        _check_column("--time-key", args.time_key, adata.obs, ".obs")
        X, times, names = bulk_series(adata, args.time_key, genes, layer=args.layer)
        labels = [f"{t:g}" for t in times]
        table = TimeSeriesTable(X, names, times, labels, None, str(args.data))
        where = {"time_key": args.time_key, "times": times, "values": values_name(args.layer)}
        series = None
    else:
        _check_cell_options(args, adata)
        series = prepare(adata, genes=genes, pseudotime=args.pseudotime_key,
                         root_cell=args.root_cell, window_length=args.window_length,
                         n_bins=args.n_bins, layer=args.layer)  # fmt: skip
        table, where = series.to_table(source=args.data), windows_info(series)
    truth = _var_labels(adata, args.labels_key, table.genes) if args.labels_key else None
    return checked_table(table), truth, series, adata, where  # a gene without values named


def _check_x(args, adata) -> None:
    """An AnnData without ``X`` (values in layers only), refused in the options' names."""
    if adata.X is not None:
        return
    layers = ", ".join(map(str, adata.layers)) or "none"
    if args.layer is None:
        msg = f"{args.data} keeps no values in X; give --layer, one of its layers ({layers})."
        raise ValueError(msg)
    if args.root_cell is not None:
        msg = (
            f"--root-cell computes diffusion pseudotime on X, which {args.data} does not "
            "hold; give --pseudotime-key COLUMN."
        )
        raise ValueError(msg)


def _check_cell_options(args, adata) -> None:
    """``prepare``'s checks of its one-of-two choices, in the command's option names."""
    if args.pseudotime_key is not None and args.root_cell is not None:
        msg = "Give either --pseudotime-key or --root-cell (to compute DPT), not both."
        raise ValueError(msg)
    if args.window_length is not None and args.n_bins is not None:
        msg = "Give either --window-length (cells per window) or --n-bins, not both."
        raise ValueError(msg)
    if args.pseudotime_key is not None:  # before: prepare's words, "or a root cell"
        try:
            _pseudotime_from_obs(adata, args.pseudotime_key, root="--root-cell CELL")
        except ValueError as exc:
            msg = f"--pseudotime-key {args.pseudotime_key}: {exc}"
            raise ValueError(msg) from exc
    found = pseudotime_keys_in(adata)
    stored = not found and stored_root(adata) is not None  # scanpy's uns["iroot"]
    if args.pseudotime_key is None and args.root_cell is None and len(found) != 1 and not stored:
        which = (
            f"several: {', '.join(found)}" if found else f"none of {', '.join(PSEUDOTIME_KEYS)}"
        )
        root = adata.uns.get("iroot")  # used only where obs has no pseudotime column
        why = (
            ""
            if found
            else " (uns['iroot'] is not set)"
            if root is None
            else f" (uns['iroot'] = {root!r} is not one of the {adata.n_obs} cells)"
        )
        msg = (
            f"No --pseudotime-key given, and obs has {which}. Give --pseudotime-key COLUMN, "
            f"or --root-cell CELL to compute diffusion pseudotime{why}."
        )
        raise ValueError(msg)
    n = adata.n_obs
    if args.n_bins is not None and args.n_bins > n:  # before: prepare's words, "n_bins (5000)"
        msg = f"--n-bins {args.n_bins} is more than the {n} cells; give at most {n}."
        raise ValueError(msg)
    length = WINDOW_LENGTH if args.window_length is None else args.window_length
    # windows of `length` cells, the last one shorter: fewer than 2 only when length >= n
    # (before: a given length above n // 2 was refused, though the default 40 was not)
    if args.n_bins is None and length >= n:
        default = args.window_length is None
        msg = (
            f"--window-length {length}{' (the default)' if default else ''} leaves fewer than "
            f"2 windows of the {n} cells; give {'--window-length ' if default else ''}at most "
            f"{n // 2} (or --n-bins)."
        )
        raise ValueError(msg)


def _var_labels(adata, key: str, genes: list[str]) -> np.ndarray:
    """The known labels of ``genes`` from the .var column ``key`` (checked on reading)."""
    values = adata.var[key].loc[genes]
    return np.where(values.isna(), "", values.astype(str)).astype(str)  # NA: no label


def _file_labels(path: Path, genes: list[str]) -> np.ndarray:
    """Labels from a CSV/TSV of gene, label (a header line ``gene,label`` is optional).

    The separator is guessed as for data tables (comma, semicolon, tab); ``#`` lines are
    comments. An empty or NA label leaves its gene unlabelled. A gene named on several rows
    of the data gets its labels in order when the file names it as often, its one label
    when the file names it once.
    """
    if not Path(path).is_file():
        if Path(path).is_dir():
            msg = f"--labels: {str(path)!r} is a folder; give a CSV file of gene, label."
        else:
            msg = f"--labels: no such file {str(path)!r}; give a CSV of gene, label."
        raise FileNotFoundError(msg)
    text = _read_text(path)
    delimiter = _guess_sep(next((line for line in text.splitlines() if line.strip()), ""))
    reader = csv.reader(text.splitlines(), delimiter=delimiter, skipinitialspace=True)
    rows = [(i, r) for i, r in enumerate(reader, 1) if "".join(r).strip()]
    head = [c.strip().lower() for c in rows[0][1][:2]] if rows else []
    if head == ["label", "gene"]:  # the header names the columns: label first
        rows = [(i, [r[1], r[0], *r[2:]] if len(r) > 1 else r) for i, r in rows]
    if head in (["gene", "label"], ["label", "gene"]):
        rows = rows[1:]
    bad = [i for i, r in rows if len(r) < 2]
    if bad:
        msg = f"--labels {path}: line {bad[0]} has no label; each line is gene,label."
        raise ValueError(msg)
    known: dict[str, list[str]] = {}
    for _, r in rows:
        known.setdefault(r[0].strip(), []).append(r[1].strip())
    missing = [g for g in genes if g not in known]
    if missing:
        few = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        msg = f"--labels {path} has no label for {len(missing)} gene(s): {few}; label every gene."
        raise ValueError(msg)
    return _read_labels(_labels_in_order(path, known, genes))


def _labels_in_order(path, known: dict[str, list[str]], genes: list[str]) -> list[str]:
    """Each gene's label; a gene on k rows of the data takes the file's k labels in order."""
    times = Counter(genes)
    for gene, found in known.items():
        if len(found) > 1 and len(set(found)) > 1 and len(found) != times[gene]:
            msg = (
                f"--labels {path} gives gene {gene!r} {len(found)} labels "
                f"({', '.join(found[:4])}) but the data have {times[gene]} row(s) of it; "
                "give one label per row of the data, in the data's order."
            )
            raise ValueError(msg)
    seen: Counter = Counter()
    out = []
    for gene in genes:
        found = known[gene]
        out.append(found[seen[gene]] if len(found) == times[gene] else found[0])
        seen[gene] += 1
    return out


# The shown label of genes without one (an empty or NA cell), and its colour.
UNLABELLED, UNLABELLED_COLOR = "unlabelled", "lightgrey"


def _unlabelled(truth, genes: list[str], name: str):
    """The user's labels and which genes have one: ``(truth, known)``.

    With every gene labelled, ``known`` is None and ``truth`` unchanged. With some genes
    unlabelled (an empty or NA label), a warning names them; ``truth`` becomes text (``""``
    for no label) and ``known`` marks the labelled genes, which alone are scored.
    """
    if truth is None or not has_real_labels(truth):
        return None, None
    known = labelled(truth)
    if known.all():
        return truth, None
    without = [g for g, k in zip(genes, known, strict=True) if not k]
    few = ", ".join(without[:3]) + (", ..." if len(without) > 3 else "")
    msg = (
        f"{name}: {len(without)} of {len(genes)} genes have no label ({few}); they are left "
        f"out of the ARI and NMI and drawn as '{UNLABELLED}'. Label them, or leave them as is."
    )
    warnings.warn(msg, UserWarning, stacklevel=2)
    text = [f"{v:g}" if isinstance(v, float) else str(v) for v in np.asarray(truth).tolist()]
    return np.array([t if k else "" for t, k in zip(text, known, strict=True)]), known


def _fit_times(table, args: argparse.Namespace):
    """The times to fit with: a table's numeric times when they are uneven, else None.

    Evenly spaced times carry nothing beyond the step index, so they give the original
    model; single-cell windows (equal numbers of cells) are steps too, as in the original.
    """
    cells = _is_h5ad(args) and args.time_key is None
    times = None if args.ignore_times or cells else _uneven_times(table.times)
    if times is None:
        return None
    shown = ", ".join(f"{t:g}" for t in times[:8]) + (", ..." if len(times) > 8 else "")
    logger.info("uneven times (%s): the model sees the time steps", shown)
    return times


def estimator(args, log: str | None = None) -> GeneClustering:
    """The GeneClustering the command line describes.

    ``log``: the fits' log file, if not ``--log-file`` itself (the run's temporary log, see
    :func:`rvagene._outputs.run_log`).
    """
    params = {k: getattr(args, k) for k in MODEL_DEFAULTS}
    params.update(
        log_file=log or args.log_file, dload=str(args.out_dir), verbose=0 if args.quiet else 1
    )
    n_fits, space = args.n_fits or DEFAULT_N_FITS, args.space
    if args.cluster_method == "minibatch":
        n_fits, space = 1, "latent"  # the original's clustering of one latent space
    return GeneClustering(
        n_clusters=args.n_clusters,
        n_fits=n_fits,
        space=space,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        model_params=params,
        k_criterion=args.k_criterion,
        k_max=args.k_max,
        cluster_method=args.cluster_method,
        k_tolerance=args.k_tolerance,
    )


def cluster_genes(args, data, name: str, log: str | None = None) -> GeneClustering:
    """Fit the models and cluster the genes (rvagene.GeneClustering); print the chosen k.

    ``log``: where the fits write their log until the results are written (``--log-file``'s
    temporary file); the models and ``model_params`` name ``--log-file`` afterwards.
    """
    X, n = data.table.X, data.table.X.shape[0]
    if args.n_clusters is not None and args.n_clusters > n:
        msg = (
            f"--n-clusters {args.n_clusters} is more than the {n} genes in {name}; "
            "use a smaller number."
        )
        raise ValueError(msg)
    n_flat = int(flat_genes(X).sum())
    if args.n_clusters is not None and args.n_clusters > n - n_flat:
        msg = (
            f"--n-clusters {args.n_clusters} is more than the {n - n_flat} genes of {name} "
            f"that vary over time ({n_flat} flat genes are in no cluster); use a smaller number."
        )
        raise ValueError(msg)
    if args.n_clusters is None and n < 3:  # choose_k needs 2 <= k <= n - 1
        msg = f"{name} has {n} genes, too few to choose the number of clusters; give --n-clusters."
        raise ValueError(msg)
    gc = estimator(args, log)
    try:
        gc.fit(X, times=_fit_times(data.table, args))
    except (ValueError, FloatingPointError) as exc:  # named as the command line names it
        raise type(exc)(_as_options(str(exc))) from exc
    if log is not None:  # saved and recorded under the name the user gave
        gc.model_params = {**gc.model_params, "log_file": args.log_file}
        for model in gc.models_:
            model.log_file = args.log_file
    if len(gc.models_) > 1 and not args.quiet:
        print(f"{name}: {len(gc.models_)} fits, clustered in space {gc.space_!r}", file=sys.stderr)
    model = gc.model_
    logger.info(
        "trained %.3g epochs, kept the weights after epoch %.3g",
        model.history_["epoch"][-1],
        model.best_epoch_,
    )
    if gc.k_scores_ is not None:
        rule = _outputs.k_rule(args)
        if args.k_criterion == "gmeans":  # only the k that some point set chose (the rest: 0)
            low, high = gc.k_window_
            votes = ", ".join(f"k={k}: {v:.3f}" for k, v in gc.k_scores_.items() if v > 0)
            how = (f"; share of the point sets whose G-means chose k: {votes}; "
                   f"the silhouette's window: k = {low}..{high}")  # fmt: skip
            if _outputs.held_to_window(gc.k_scores_, gc.n_clusters_):
                how += f" (G-means chose outside it, so k is the window's end, {gc.n_clusters_})"
        else:
            better = K_CRITERIA[args.k_criterion]
            scores = ", ".join(f"k={k}: {v:.3f}" for k, v in gc.k_scores_.items())
            how = f", averaged over the fits ({better} is better; scores: {scores})"
        print(f"{name}: chose k={gc.n_clusters_} by {rule}{how}")
    return gc


def _numbering(args, data, labels: np.ndarray, k: int):
    """Display numbers and colours: cluster i is matched to the i-th shown label, if any.

    The shown labels are the user's, or for single cells the up/down directions (which
    colour the figures but are never scored).
    """
    shown, colors_of = data.truth, None
    if shown is None and data.series is not None:
        shown, colors_of = data.series.labels, {UP: UP_COLOR, DOWN: DOWN_COLOR}
    if shown is None:
        return np.arange(k), cluster_colors(k), None, None
    keep = labels >= 0
    if data.truth is not None and data.known is not None:  # some genes without a label
        keep &= data.known
        shown = np.where(data.known, data.truth, UNLABELLED)
        colors_of = {**label_colors(shown[keep]), UNLABELLED: UNLABELLED_COLOR}
    match = match_clusters(labels[keep], np.asarray(shown)[keep], k)
    colors = matched_colors(match, np.asarray(shown)[keep], colors_of)
    return match.numbering, colors, shown, colors_of


def describe(args, data, gc: GeneClustering, name: str):
    """The run's results in display numbering (``found``) and its scores; prints them."""
    k, flat = gc.n_clusters_, gc.flat_
    numbering, colors, shown, shown_colors = _numbering(args, data, gc.labels_, k)
    order = np.argsort(numbering)  # display cluster j is K-means cluster order[j]
    assignments = numbering[gc.labels_[~flat]]
    probabilities = gc.probabilities_[:, order]
    flagged = gc.confidence_[~flat] < args.min_confidence
    n_flat = int(flat.sum())
    print(
        f"{name}: {int(flagged.sum())} of {len(flat) - n_flat} genes between clusters "
        f"(membership probability of their own cluster < {args.min_confidence:g})"
        + (f"; {n_flat} flat gene(s) in no cluster" if n_flat else "")
    )
    r2 = gc.reconstruction_r2_[~flat]
    print(f"{name}: the model rebuilds a median {np.median(r2):.2f} of a gene's variance over "
          f"time (reconstruction_r2 in the clusters table; lowest {r2.min():.2f})")  # fmt: skip
    result = {"n_clusters": k, "n_between": int(flagged.sum()), "n_fits": len(gc.models_)}
    _say_small_clusters(name, np.bincount(assignments, minlength=k), _offset(args))
    if gc.k_scores_ is not None:
        result["k_scores"] = gc.k_scores_
    if data.truth is not None:
        scored = (np.ones(len(flat), bool) if data.known is None else data.known)[~flat]
        truth = np.asarray(data.truth)[~flat][scored]
        result.update(clustering_scores(truth, assignments[scored]))
        print(f"{name}: ARI {result['ari']:.3f}  NMI {result['nmi']:.3f}  (k={k})")
    clusters = np.full(len(flat), -1, dtype=np.int64)
    clusters[~flat] = assignments
    found = SimpleNamespace(
        table=data.table, genes=data.genes, truth=data.truth, k=k, flat=flat,
        clusters=clusters, assignments=assignments, probabilities=probabilities, order=order,
        centres=gc.cluster_centers_[order],
        colors=colors, flagged=flagged, scores=gc.k_scores_, k_window=gc.k_window_,
        n_fits=len(gc.models_), space=gc.space_, confidence=gc.confidence_,
        reconstruction_r2=gc.reconstruction_r2_,
        Z=gc.latent_[~flat], shown=shown, shown_colors=shown_colors,
        shown_names={UP: "up", DOWN: "down"} if data.truth is None and shown_colors else None,
        shown_what="label" if data.truth is not None else "direction",
        single_cell=data.series is not None,
    )  # fmt: skip
    found.generated_scaled, found.generated = _generate(args, data, gc, found)
    return found, result


def _say_small_clusters(name: str, sizes: np.ndarray, offset: bool) -> None:
    """Print the clusters of fewer than SMALL_CLUSTER genes (display numbers, sizes)."""
    small = [(i, int(n)) for i, n in enumerate(sizes) if n < SMALL_CLUSTER]
    if not small:
        return
    listed = ", ".join(f"{i} ({n} gene{'s' if n != 1 else ''})" for i, n in small)
    said = (
        f"{name}: small clusters: {listed}; genes that the fits do not put firmly with "
        "others. The model often reconstructs such genes poorly, so "
    )
    if offset:
        said += (
            "the series generated there are its decoded series shifted onto these genes' "
            "mean (--no-offset: the decoded series alone, which may look more like a "
            "neighbouring cluster)"
        )
    else:
        said += (
            "series generated there follow its reconstruction and may look more like a "
            "neighbouring cluster than like these genes"
        )
    print(said)


def _offset(args) -> bool:
    """Whether generated series get their cluster's offset (not with the original's scale)."""
    return not args.no_offset and args.generate_scale is None


def _generate(args, data, gc, found):
    """The same draws around each centre, in the model's units and in data units.

    Drawn in ``gc``'s cluster order, then put in display order, so each cluster gets the
    series of ``gc.generate`` whatever the numbering (labels given or not). Also sets
    ``found.offsets``, what was added to each cluster's series (scaled units, display
    order; None without offsets).
    """
    X, labels = data.table.X[~found.flat], gc.labels_[~found.flat]
    offsets = (  # computed once here, for both calls below and the figures
        cluster_offsets(gc.model_, X, labels, found.k) if _offset(args) else None
    )
    found.offsets = None if offsets is None else offsets[found.order]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        draws = _draws(args, gc, found, X, labels, offsets)
    for w in caught:  # said again, small clusters in the numbers the output shows
        warnings.warn(_display_numbers(str(w.message), found.order), w.category, stacklevel=2)
    return draws["scaled"], draws["data"]


# cluster_covariances' warning, which names clusters in GeneClustering's numbering
_FEW_MEMBERS = re.compile(r"^Clusters \[([\d, ]+)\] have fewer than 2 members")


def _display_numbers(text: str, order: np.ndarray) -> str:
    """``text`` with the clusters of the few-members warning in display numbers.

    Display cluster j is ``gc``'s cluster ``order[j]``; the clusters table, the figures and
    the "small clusters" line number them so, and the warning named ``gc``'s numbers.
    """
    found = _FEW_MEMBERS.match(text)
    if found is None:
        return text
    shown = np.argsort(order)  # gc's cluster i is shown as shown[i]
    listed = sorted(int(shown[int(i)]) for i in found[1].split(","))
    return f"Clusters {listed}{text[found.end(1) + 1 :]}"


def _draws(args, gc, found, X, labels, offsets) -> dict:
    """:func:`_generate`'s draws, in "scaled" and "data" units, in display order."""
    return {
        units: generate_around_centres(
            gc.model_,
            gc.cluster_centers_,
            args.n_generate,
            args.generate_scale,
            random_state=args.seed,
            X=X,
            labels=labels,
            offset=False if offsets is None else offsets,
            units=units,
            times=gc.model_.times_,
            space=gc.generation_space_,
            space_centres=gc._generation_centres(),
            noise=args.noise,
        )[found.order]
        for units in ("scaled", "data")
    }


def write_outputs(args, name: str, data, gc, found, notes: list[str], log=None) -> None:
    """The model, the log, the tables, the annotated AnnData, the config and the figures."""
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _outputs.announce(gc.model_.save(out / f"{name}_model.pt", overwrite=True))
    _outputs.keep_log(args, log)
    _outputs.write_clusters_table(out / f"{name}_clusters.csv", found)
    _outputs.write_generated_table(out / f"{name}_generated.csv", found.generated, data.table)
    if data.adata is not None:
        from .annotate import write_annotated

        write_annotated(out / f"{name}_rvagene.h5ad", data.adata, gc, found, data.where)
    record = _outputs.run_record(found, gc, notes)
    _outputs.write_run_config(out / f"{name}_config.json", args, record)
    _outputs.write_figures(args, name, found, gc.model_)


# Whether the run began writing its results, and whether they replaced the earlier ones
# (what an error or an interrupt leaves behind).
_STATE = {"writing": False, "written": False}


def _what_was_written() -> str | None:
    """What an interrupt's message says when the results had replaced the earlier ones."""
    return "this run's results were written" if _STATE["written"] else None


def _error_line(exc: BaseException) -> str:
    """The one line on stderr; it says so when the results had begun to be written."""
    kept = "; no file was replaced" if _STATE["writing"] and not _STATE["written"] else ""
    return f"error: {exc}".replace("\n", " ") + kept


# What torch's CPU and CUDA allocators and numpy say when memory runs out.
_OUT_OF_MEMORY = re.compile(
    r"(?:can't allocate memory|out of memory|unable to allocate)[^.\n]*", re.I
)


def _out_of_memory(exc: BaseException) -> str | None:
    """The message for a run that ran out of memory (a model or data too large), else None."""
    found = _OUT_OF_MEMORY.search(str(exc))
    if found is None and not isinstance(exc, MemoryError):
        return None
    what = found[0].strip() if found else type(exc).__name__
    return (
        f"out of memory ({what}); lower --hidden-size, --batch-size or --n-jobs (fits side "
        "by side), or give fewer genes or time points."
    )


def main(argv=None, prog: str = PROG) -> int:
    """Run the script; return the exit status (0 on success, 2 for bad input).

    Ctrl-C raises ``KeyboardInterrupt("interrupted; no file was replaced")`` (or "...; this
    run's results were written", when it came during the moves), so a notebook or a loop
    calling ``main`` stops too; at the command line it is exit status 130
    (:func:`rvagene._cli.command_interrupts`).
    """
    args = parse_args(argv, prog)
    _STATE.update(writing=False, written=False)
    with command_interrupts(_what_was_written):
        try:
            run(args)
        except (ValueError, FileNotFoundError, FileExistsError, FloatingPointError) as exc:
            print(_error_line(exc), file=sys.stderr)
            return 2
        except OSError as exc:  # e.g. an output folder that cannot be written
            print(_error_line(exc), file=sys.stderr)
            return 1
        except (MemoryError, RuntimeError) as exc:  # torch's allocators raise RuntimeError
            said = _out_of_memory(exc)
            if said is None:
                raise
            print(_error_line(MemoryError(said)), file=sys.stderr)
            return 2
    return 0


def console() -> NoReturn:
    """The ``rvagene-train`` command: progress on stdout, warnings one line each.

    It ends the process (:func:`rvagene._cli.exit_now`) with :func:`main`'s status.
    """
    run_command(main, prog="rvagene-train")

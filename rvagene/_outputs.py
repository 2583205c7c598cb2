"""What ``train_and_gen.py`` writes: the tables, the run's record and the figures.

Every writer takes the run's ``found`` (a :class:`types.SimpleNamespace` made by the
script's clustering step) and prints ``wrote <path>`` for each file. Flat genes (label -1
from :class:`rvagene.GeneClustering`) are the cluster ``"flat"`` in the tables and are named,
not drawn as a cluster, in the figures.
"""

from __future__ import annotations

import contextlib
import csv
import io
import multiprocessing
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import warnings
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ._cli import announce, save_figure, write_config
from ._utils import (
    atomic_open,
    fork_is_safe,
    held_files,
    hold,
    package_version,
    plain_mode,
)
from .cluster import DEFAULT_GMEANS_WINDOW
from .data import scale_series
from .plotting import (
    _draw_band,
    _new_axes,
    label_colors,
    plot_clusters,
    plot_generated,
    plot_k_scores,
    plot_latent,
    plot_loss,
    plot_series,
)

FLAT = "flat"  # the cluster of a flat gene in the tables
# A genes figure draws at most this many of its cluster's genes (a random choice), over the
# band of them all: thousands of lines (bulk RNA-seq) are a solid block of colour.
MAX_MEMBER_LINES = 200


# ---------------------------------------------------------------------------- no overwriting


def planned_outputs(args, name: str) -> list[Path]:
    """The files a run of ``name`` would replace: each run writes all of them.

    With them the figures of cluster 0 (every run has one) and of every cluster of the
    earlier run its config names, and the ``--log-file``: a run's log replaces a file only
    as its other results do (an interrupted run leaves no log, see :func:`run_log`).
    """
    out, figs = Path(args.out_dir), Path(args.figs_dir)
    paths = [out / f"{name}_{part}" for part in ("model.pt", "clusters.csv", "config.json")]
    paths += [out / f"{name}_generated.csv"] + ([out / args.log_file] if args.log_file else [])
    if str(args.data).lower().endswith(".h5ad"):
        paths.append(out / f"{name}_rvagene.h5ad")
    paths += [figs / f"{part}_{name}.png" for part in ("z_run", "clusters", "loss", "k_scores")]
    paths += cluster_figures(args, name, range(max(1, earlier_k(args, name))))
    return paths


def cluster_figures(args, name: str, clusters) -> list[Path]:
    """figs/genes_cluster_<name><i>.png and generated_cluster_<name><i>.png for each i."""
    figs = Path(args.figs_dir)
    return [figs / f"{kind}_cluster_{name}{i}.png" for i in clusters for kind in KINDS]


KINDS = ("genes", "generated")  # the per-cluster figures


def earlier_config(args, name: str) -> dict:
    """The config of an earlier run of ``name`` in ``--out-dir``, else an empty dict."""
    import json

    try:
        with open(Path(args.out_dir) / f"{name}_config.json", encoding="utf-8") as fh:
            config = json.load(fh)
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def earlier_k(args, name: str) -> int:
    """The number of clusters of an earlier run of ``name`` (its config), else 0."""
    try:
        k = earlier_config(args, name)["run"]["chosen_k"]
    except (KeyError, TypeError):
        return 0
    return k if isinstance(k, int) and k > 0 else 0


def remove_stale_figures(args, name: str, old_k: int, new_k: int, chose_k: bool = True) -> None:
    """After ``--overwrite``: remove the earlier run's figures of clusters beyond ``new_k``.

    Without ``chose_k`` (``--n-clusters`` given) the earlier run's ``k_scores_<name>.png``
    is removed too: this run has no scores per k.

    A figure whose name is also another data set's (``esc3`` cluster 10 and ``esc31``
    cluster 0 both give ``genes_cluster_esc310.png``) is kept when a run of that data set
    in ``--out-dir`` has such a cluster.
    """
    if not chose_k:
        with contextlib.suppress(FileNotFoundError):
            path = Path(args.figs_dir) / f"k_scores_{name}.png"
            path.unlink()
            print(f"removed {path} (k of the earlier run)", flush=True)
    others = _cluster_suffixes_of_others(args, name)
    for i in range(new_k, old_k):
        if f"{name}{i}" in others:
            continue
        for path in cluster_figures(args, name, [i]):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                print(f"removed {path} (cluster of the earlier run)", flush=True)


def remove_stale_annotation(args, name: str, wrote_one: bool) -> None:
    """After ``--overwrite`` from a table: remove ``<name>_rvagene.h5ad`` of an earlier run.

    It annotated another input of the same name (``cells.h5ad`` before ``cells.csv``) with
    clusters that this run's results replace.
    """
    path = Path(args.out_dir) / f"{name}_rvagene.h5ad"
    if getattr(args, "overwrite", False) and not wrote_one and path.is_file():
        path.unlink()
        print(f"removed {path} (the input annotated by an earlier run)", flush=True)


def remove_stale_log(args, name: str, earlier_log) -> None:
    """After ``--overwrite``: remove the earlier run's ``--log-file`` if this run wrote none there.

    Else the earlier log would stay beside this run's results. ``earlier_log`` is what the
    earlier run's config names; it is left alone when it is no plain file name in
    ``--out-dir`` (:func:`check_log_file`, for an edited config) or when another run in
    ``--out-dir`` names it as its log (two data sets sharing ``train.log``).
    """
    if (
        not getattr(args, "overwrite", False)
        or not isinstance(earlier_log, str)
        or not earlier_log
    ):
        return
    try:
        check_log_file(SimpleNamespace(**{**vars(args), "log_file": earlier_log}), name)
    except ValueError:
        return
    out = Path(args.out_dir)
    path = (out / earlier_log).resolve()
    logs = [args.log_file] + [
        earlier_config(args, o).get("log_file") for o in _other_runs(args, name)
    ]
    if any(isinstance(log, str) and log and (out / log).resolve() == path for log in logs):
        return
    with contextlib.suppress(FileNotFoundError):
        (out / earlier_log).unlink()
        print(f"removed {out / earlier_log} (log of the earlier run)", flush=True)


def _other_runs(args, name: str) -> list[str]:
    """The data set names of the other runs in ``--out-dir`` (their ``<name>_config.json``)."""
    names = [
        config.name[: -len("_config.json")] for config in Path(args.out_dir).glob("*_config.json")
    ]
    return [other for other in names if other != name]


def _cluster_suffixes_of_others(args, name: str) -> set[str]:
    """``<other><j>`` for every other run's clusters j in ``--out-dir`` (by their configs)."""
    suffixes = set()
    for other in _other_runs(args, name):
        if other.startswith(name) or name.startswith(other):
            suffixes.update(f"{other}{j}" for j in range(earlier_k(args, other)))
    return suffixes


def check_log_file(args, name: str) -> None:
    """Refuse a ``--log-file`` outside ``--out-dir``, or one that names the input or an output.

    Before any work: the log is a file name in ``--out-dir`` (a sub-folder is allowed), not
    a path that could replace any file on the machine.
    """
    if not args.log_file:
        return
    log = Path(args.log_file)
    if log.is_absolute() or ".." in log.parts or not log.name:
        msg = (
            f"--log-file {args.log_file!r} must be a file name in --out-dir, such as "
            "train.log; give the folder with --out-dir."
        )
        raise ValueError(msg)
    path = Path(args.out_dir) / log
    if path.is_dir():
        msg = f"--log-file {str(path)!r} is a folder; give a file name, such as train.log."
        raise ValueError(msg)
    same = path.resolve()
    others = {
        p.resolve()
        for p in planned_outputs(SimpleNamespace(**{**vars(args), "log_file": None}), name)
    }
    named = Path(getattr(args, "data_dir", "data")) / str(args.data)  # a data set's name
    inputs = [Path(args.data), *(named / f"{named.name}_{part}" for part in ("TRAIN", "TEST"))]
    folders = [Path(args.out_dir).joinpath(*log.parts[:i]) for i in range(1, len(log.parts))]
    if any(p.exists() and p.resolve() == same for p in inputs):
        what = "the input data"
    elif same in others:
        what = "one of this run's results"
    elif any(f.resolve() in others or (f.exists() and not f.is_dir()) for f in folders):
        what = "under a file or a result's name"
    else:
        return
    msg = f"--log-file {str(path)!r} is {what}; give another name, such as train.log."
    raise ValueError(msg)


@contextlib.contextmanager
def run_log(args):
    """The run's ``--log-file``, written to a temporary file until the results are written.

    Yields the temporary file's name relative to ``--out-dir`` (the fits' ``log_file``), or
    None without a log. :func:`keep_log` moves it onto ``--log-file`` with the other results
    (:func:`rvagene._utils.write_together`); a run that stops before removes it, so an
    earlier log stays as it was.
    """
    if not args.log_file:
        yield None
        return
    path = Path(args.out_dir) / args.log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield os.path.relpath(tmp, args.out_dir)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def keep_log(args, log: str | None) -> None:
    """Inside the results' write_together block: the log replaces ``--log-file`` with them."""
    if log is None:
        return
    tmp, path = Path(args.out_dir) / log, Path(args.out_dir) / args.log_file
    plain_mode(tmp)
    hold([(tmp, path)])
    announce(path)


def check_no_overwrite(args, name: str) -> None:
    """Refuse, before any work, to replace an earlier run's results without ``--overwrite``.

    A folder where a result goes is refused with or without it (no file can replace it).
    """
    planned = planned_outputs(args, name)
    folders = [p for p in planned if p.is_dir()]
    if folders:
        msg = (
            f"{folders[0]} is a folder where a result of this run goes; remove it, or choose "
            "another --out-dir and --figs-dir."
        )
        raise ValueError(msg)
    if getattr(args, "overwrite", False):
        return
    existing = [p for p in planned if p.exists()]
    if existing:
        more = f" (and {len(existing) - 1} more files)" if len(existing) > 1 else ""
        msg = (
            f"{existing[0]}{more} exists from an earlier run; give --overwrite to replace "
            "the results, or choose another --out-dir and --figs-dir."
        )
        raise FileExistsError(msg)


# ---------------------------------------------------------------------------- warnings


# Warnings for developers, hidden by Python's default filters: not shown to the user.
DEVELOPER_WARNINGS = (
    DeprecationWarning,
    PendingDeprecationWarning,
    ImportWarning,
    ResourceWarning,
)


def warning_lines(caught) -> list[str]:
    """The distinct texts of caught warnings, each on one line, in the order raised.

    Warnings meant for developers (deprecations, imports, resources) are left out, as
    Python's default filters leave them out.
    """
    lines = []
    for w in caught:
        if issubclass(w.category, DEVELOPER_WARNINGS):
            continue
        text = " ".join(str(w.message).split())
        if text not in lines:
            lines.append(text)
    return lines


def print_warnings(lines: list[str]) -> None:
    """Print the run's warnings in one block on stderr, ``warning: ...`` per line."""
    import sys

    for text in lines:
        print(f"warning: {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- tables


def write_clusters_table(path: Path, found) -> None:
    """The clusters table: one row per gene, with its cluster ("flat" for a flat gene).

    Columns: gene, cluster, confidence, p_cluster_<j>, reconstruction_r2 and the user's label.
    """
    k, flat = found.k, found.flat
    truth = found.truth
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")  # quotes names that hold commas or quotes
        header = ["gene", "cluster", "confidence", *(f"p_cluster_{j}" for j in range(k))]
        header.append("reconstruction_r2")
        writer.writerow(header + (["label"] if truth is not None else []))
        for i, gene in enumerate(found.genes):
            if flat[i]:
                row = [gene, FLAT, "", *([""] * k), ""]
            else:
                p = found.probabilities[i]
                own = f"{found.confidence[i]:.3f}"  # the probability of its own cluster
                fit = f"{found.reconstruction_r2[i]:.3f}"
                row = [gene, found.clusters[i], own, *(f"{v:.3f}" for v in p), fit]
            writer.writerow(row + ([truth[i]] if truth is not None else []))
    n_flat = int(flat.sum())
    flats = f", {n_flat} flat" if n_flat else ""
    what = "cluster, confidence, probability per cluster, reconstruction R^2"
    announce(path, f" ({len(flat)} genes{flats}: {what})")


def _value_columns(table, n_points: int, n_dims: int) -> list[str]:
    names = table.time_labels or (
        [f"{t:g}" for t in table.times] if table.times is not None else None
    )
    names = names or [f"t{j}" for j in range(n_points)]
    if n_dims == 1:
        return list(names)
    return [f"{t}_rep{r}" for t in names for r in range(1, n_dims + 1)]


def write_generated_table(path: Path, generated: np.ndarray, table) -> None:
    """cluster, sample, then one value per time point (per replicate), in data units."""
    k, n, n_points = generated.shape[:3]
    n_dims = generated.shape[3] if generated.ndim == 4 else 1
    with atomic_open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["cluster", "sample", *_value_columns(table, n_points, n_dims)])
        for i in range(k):
            for s in range(n):
                writer.writerow([i, s, *(f"{v:.6g}" for v in generated[i, s].ravel())])
    announce(path, f" ({k} clusters x {n} generated series, in data units)")


# ---------------------------------------------------------------------------- config


def _git(*args: str) -> str | None:
    """The output of a git command in rvagene's source folder, or None (not a checkout)."""
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state() -> dict:
    """The commit rvagene runs from, and whether tracked files differ from it (or None)."""
    commit = (_git("rev-parse", "HEAD") or "").strip()
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        return {"git_commit": None, "git_dirty": None}
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".")
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status.strip())}


def run_record(found, gc, notes: list[str]) -> dict:
    """What is needed to repeat the run, beyond its arguments."""
    import torch

    times = gc.times_ if gc.times_ is not None else found.table.times
    return {
        "chosen_k": found.k,
        "cluster_sizes": np.bincount(found.assignments, minlength=found.k).tolist(),
        "k_scores": {str(k): v for k, v in (gc.k_scores_ or {}).items()} or None,
        "k_window": None if gc.k_window_ is None else list(gc.k_window_),
        "space": gc.space_,
        "n_fits": len(gc.models_),
        "fit_seeds": [int(m.random_state) for m in gc.models_],
        "times": None if times is None else [float(t) for t in times],
        "times_fitted": gc.times_ is not None,
        "n_flat_genes": int(found.flat.sum()),
        "versions": {
            "rvagene": package_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        **git_state(),
        "warnings": notes,
    }


def write_run_config(path: Path, args, record: dict) -> None:
    """The arguments and the run's record (chosen k, seeds, times, versions, warnings)."""
    write_config(path, args, extra={"run": record})


# ---------------------------------------------------------------------------- figures


def _flat_note(found) -> str:
    n = int(found.flat.sum())
    return "" if not n else f" ({n} flat gene{'s' if n > 1 else ''}, not drawn)"


def _label_names(labels) -> dict:
    """Legend names for the labels: ``label 0``, ... (not ``cluster 0``)."""
    uniq = np.unique(labels)
    numbers = uniq.dtype.kind in "iuf"
    return {u.item(): f"label {u}" if numbers else str(u) for u in uniq}


def latent_figure(args, name: str, found) -> None:
    """figs/z_run_<name>.png: the latent means, by the shown labels or by cluster."""
    keep = ~found.flat
    if found.shown is not None:
        shown = found.shown[keep]
        names = found.shown_names or _label_names(shown)
        ax = plot_latent(
            found.Z,
            labels=shown,
            colors=label_colors(shown, found.shown_colors),
            label_names=names,
            title=f"{name}: latent means by {found.shown_what}{_flat_note(found)}",
            flagged=found.flagged,
        )
    else:
        ax = plot_latent(
            found.Z,
            labels=found.assignments,
            colors=found.colors,
            flagged=found.flagged,
            title=f"{name}: latent means by cluster{_flat_note(found)}",
            flat_label=True,
        )
    save_figure(ax.figure, Path(args.figs_dir) / f"z_run_{name}.png")


def clusters_figure(args, name: str, found) -> None:
    """figs/clusters_<name>.png: the latent means by cluster, with the centres."""
    spaces = " in the latent and decoded spaces" if found.space == "both" else ""
    many = found.n_fits > 1 or found.space == "both"
    how = f"consensus of {found.n_fits} fit(s){spaces}" if many else "K-means"
    ax = plot_clusters(
        found.Z,
        found.assignments,
        centres=found.centres,
        colors=found.colors,
        title=f"{name}: {how}, k={found.k}{_flat_note(found)}",
        flagged=found.flagged,
    )
    save_figure(ax.figure, Path(args.figs_dir) / f"clusters_{name}.png")


def k_rule(args, short: bool = False) -> str:
    """How k was chosen, in words: the criterion, and the silhouette's tolerance if any."""
    rule = args.k_criterion
    if rule == "gmeans" and short:
        return f"{rule} (within the silhouette's {DEFAULT_GMEANS_WINDOW:g}-SE window)"
    if rule == "gmeans":
        return (f"{rule} (G-means' lower median over every space of every fit, within "
                f"{DEFAULT_GMEANS_WINDOW:g} standard errors of the best silhouette)")  # fmt: skip
    if rule == "silhouette" and args.k_tolerance > 0:
        within = f"{args.k_tolerance:g} " + ("SE" if short else "standard errors")
        rule += f" (up from the best k while within {within})"
    return rule


def held_to_window(scores: dict, k: int) -> bool:
    """Whether "gmeans"' k is the silhouette's window's end, where no point set chose it."""
    return scores.get(k, 0.0) == 0.0


def k_scores_figure(args, name: str, found) -> None:
    """figs/k_scores_<name>.png: the criterion per k (k chosen), and gmeans' window."""
    if found.scores is None:
        return
    if args.k_criterion == "gmeans":
        title = f"{name}: k={found.k} by G-means,\nwithin the silhouette's window (shaded)"
        if held_to_window(found.scores, found.k):
            title += ": G-means chose outside it"
    else:
        title = f"{name}: k={found.k}, scores averaged over the fits,\nby {k_rule(args, True)}"
    ax = plot_k_scores(found.scores, chosen=found.k, criterion=args.k_criterion, title=title,
                       window=found.k_window)  # fmt: skip
    save_figure(ax.figure, Path(args.figs_dir) / f"k_scores_{name}.png")


def loss_figure(args, name: str, model) -> None:
    """figs/loss_<name>.png: training and validation loss per epoch."""
    ax = plot_loss(model, title=f"{name}: loss per gene")
    save_figure(ax.figure, Path(args.figs_dir) / f"loss_{name}.png")


def _time_label(table, single_cell: bool) -> str:
    """The x-axis label: pseudotime, time with its unit, plain time, or time point."""
    if single_cell:
        return "pseudotime"
    if table.times is None:
        return "time point"
    unit = getattr(table, "time_unit", None)
    return f"time ({unit})" if unit else "time"


def _member_figure(args, name: str, found, i: int, scaled, xlabel: str, ylabel: str) -> None:
    """figs/genes_cluster_<name><i>.png: cluster i's genes and their mean.

    Of a cluster of more than :data:`MAX_MEMBER_LINES` genes, that many (chosen at random,
    by ``--seed``) over the band of its genes' middle 80%.
    """
    members = scaled[found.assignments == i]
    size = len(members)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN time points
        cluster_mean = np.nanmean(members, axis=0)[np.newaxis] if size else None
    ax, shown, label = _new_axes(), members, f"{size} genes" if size != 1 else "1 gene"
    alpha = 0.5 if size > 1 else 1.0  # one gene: drawn as plainly as a mean
    if size > MAX_MEMBER_LINES:
        alpha = 0.3  # the band shows through
        _draw_band(ax, members, found.colors[i], found.table.times, "mean", members.shape[1])
        rng = np.random.default_rng([int(args.seed), i])
        shown = members[np.sort(rng.choice(size, MAX_MEMBER_LINES, replace=False))]
        label = f"{MAX_MEMBER_LINES} of {size} genes, at random"
    plot_series(
        shown,
        ax=ax,
        color=found.colors[i],
        mean=cluster_mean if size > 1 else None,  # one gene's mean would hide it
        times=found.table.times,
        label=label,
        mean_label="cluster mean",
        features="mean",
        alpha=alpha,
        title=f"{name}: cluster {i}, its genes",
    )
    ax.set(xlabel=xlabel, ylabel=ylabel)
    save_figure(ax.figure, cluster_figures(args, name, [i])[0])


def _generated_figure(
    args, name: str, found, i: int, decoded, scaled, xlabel: str, unit: str
) -> None:
    """figs/generated_cluster_<name><i>.png: cluster i's generated series and centre.

    With the band of its genes' middle 80%, in the model's units (the CSV: data units).
    """
    size = int((found.assignments == i).sum())
    shifted = found.offsets is not None
    noise = ", with noise" if args.noise else ""
    ax = plot_generated(
        found.generated_scaled[i],
        centre_series=decoded[i] + found.offsets[i] if shifted else decoded[i],
        color=found.colors[i],
        times=found.table.times,
        features="mean",
        centre_label="decoded centre + offset" if shifted else "decoded centre",
        title=f"{name}: cluster {i} ({size} gene{'s' if size != 1 else ''}), generated{noise}",
        members=scaled[found.assignments == i],
    )
    ylabel = unit if unit.startswith("expression") else f"{unit} (the CSV holds data units)"
    ax.set(xlabel=xlabel, ylabel=ylabel)
    save_figure(ax.figure, cluster_figures(args, name, [i])[1])


def figure_jobs(args, name: str, found, model) -> list:
    """Every figure of a run as a call with no arguments, in the order they are written.

    The model is used here only (the centres decoded, the scaled series), so the calls
    themselves need numpy and matplotlib alone and may run in a forked process.
    """
    table = found.table
    xlabel = _time_label(table, found.single_cell)
    unit = {"zscore": "z-score", "minmax": "min-max scaled", "none": "expression"}[model.scaling_]
    unit += " (mean of replicates)" if table.X.ndim == 3 else ""
    per_gene = unit + " per gene" if model.scaling_ != "none" else unit
    scaled = scale_series(table.X[~found.flat], model.scaling_)[0]  # in the model's units
    decoded = model.decode(found.centres)
    jobs = [
        partial(latent_figure, args, name, found),
        partial(clusters_figure, args, name, found),
        partial(k_scores_figure, args, name, found),
        partial(loss_figure, args, name, model),
    ]
    for i in range(found.k):
        jobs.append(partial(_member_figure, args, name, found, i, scaled, xlabel, per_gene))
        jobs.append(
            partial(_generated_figure, args, name, found, i, decoded, scaled, xlabel, unit)
        )
    return jobs


def _draw_share(jobs, conn) -> None:
    """In a forked child: run ``jobs``; send back their ``wrote`` lines, warnings and error.

    Also the files it wrote inside the parent's :func:`~rvagene._utils.write_together`
    block, which the parent moves into place with its own.
    """
    out, error = io.StringIO(), None
    before = len(held_files())  # the parent's, inherited: not this child's to send
    # Ctrl-C (sent to the parent and its children) is taken between figures: inside one it
    # can land in matplotlib's clean-up callbacks, where Python prints it as "Exception
    # ignored in ..." with a traceback, swallows it and draws on.
    # A run that ignores SIGINT (started with & from a shell script) still ignores it here.
    interrupted = []
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, lambda signum, frame: interrupted.append(signum))
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            for job in jobs:
                if interrupted:
                    raise KeyboardInterrupt
                job()
        except BaseException as exc:  # noqa: BLE001 - every error goes back to the parent
            error = exc
    shown = [(str(w.message), w.category) for w in caught]
    written = [(str(tmp), str(path)) for tmp, path in held_files()[before:]]
    try:
        conn.send((out.getvalue(), shown, error, written))
    except Exception:  # noqa: BLE001 - an error that cannot be pickled: send its text
        error = RuntimeError(f"{type(error).__name__}: {error}")
        conn.send((out.getvalue(), shown, error, written))
    conn.close()


def figure_processes(args, n_figures: int) -> int:
    """How many processes draw ``n_figures`` figures: up to ``--n-jobs``, forked, 3+ each.

    One (this process) where forking is not safe (:func:`rvagene._utils.fork_is_safe`), for
    ``--n-jobs 1``, and for fewer than 6 figures, where a second process saves less than it
    costs to start.
    """
    from joblib import effective_n_jobs

    n_procs = min(effective_n_jobs(args.n_jobs or None), n_figures // 3)
    return n_procs if n_procs > 1 and fork_is_safe() else 1


def write_figures(args, name: str, found, model) -> None:
    """Every figure of a run; cluster i has found.colors[i] in each of them.

    The figures are shared out in contiguous runs among :func:`figure_processes` processes:
    this one draws the first run, forked children the others, at once (on ``demosim``, 12
    figures, 1.8 s drawn one by one; docs/results.md). The children's ``wrote`` lines and
    warnings are printed once each has finished, so the lines come in the same order as when
    drawn one by one; a child's error is raised here, after every child has ended. Every
    figure is written atomically, so one that failed leaves no partial file.
    """
    jobs = figure_jobs(args, name, found, model)
    n_procs = figure_processes(args, len(jobs))
    shares = np.array_split(np.arange(len(jobs)), n_procs)
    children = []
    context = multiprocessing.get_context("fork") if n_procs > 1 else None
    sys.stdout.flush()  # a child must not inherit unwritten output and write it again
    sys.stderr.flush()
    try:
        for share in shares[1:]:
            receive, send = context.Pipe(duplex=False)
            child = context.Process(target=_draw_share, args=([jobs[j] for j in share], send))
            child.start()
            send.close()
            children.append((child, receive))
        for j in shares[0]:
            jobs[j]()
        first_error = None
        while children:
            child, receive = children[0]
            try:
                text, shown, error, written = receive.recv()
            except EOFError:  # the child died before it could answer: its exit code says how
                child.join()
                text, shown, written = "", [], []
                error = RuntimeError(f"a figure process ended with exit code {child.exitcode}")
            children.pop(0)
            _keep(written)
            child.join()
            sys.stdout.write(text)
            sys.stdout.flush()
            for message, category in shown:
                warnings.warn(message, category, stacklevel=2)
            first_error = first_error or error
        if first_error is not None:
            raise first_error
    finally:
        for child, receive in children:  # only when this process failed or was interrupted
            if receive.poll(10):  # a child that was interrupted too answers and ends
                with contextlib.suppress(EOFError):
                    _keep(receive.recv()[3])  # its files go with the block's (removed)
            child.join(timeout=10)
            if child.is_alive():
                child.terminate()
                child.join()


def _keep(written) -> None:
    """A child's files: held for the parent's write_together block, else already in place."""
    if written:
        hold(written)

"""What the benchmarks share: the original configuration, scoring, tables and results files.

- ``ORIGINAL``: the published tool's demo configuration, defined once (``speed.py`` keeps its
  own copy for now; it must stay equal to this one).
- ``original_labels``: the original's clustering of its latents (MiniBatchKMeans with
  ``batch_size=6, max_iter=10, random_state=0``) and plain K-means on the same latents.
- ``zscore``, ``kmeans_scores``: per-gene z-scores (``rvagene.data.scale_series``) and
  "K-means at the true k, then ARI and NMI" (``cluster_latent`` + ``clustering_scores``).
- ``provenance``, ``write_csv``, ``read_csv``, ``write_json``: every results file starts with
  its commit, date, machine, load and command; ``markdown_table`` prints a table.
"""

from __future__ import annotations

import csv
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from rvagene import cluster_latent, clustering_scores
from rvagene.data import scale_series

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# The original tool's example data (read-only; never copied into the project): the folder
# beside the repository, as in this project's CI, or RVAGENE_REFERENCE_DIR (as for the tests).
REFERENCE = Path(
    os.environ.get("RVAGENE_REFERENCE_DIR") or HERE.parent.parent / "shared" / "data" / "reference"
)

# The original tool's demo configuration (its train_and_gen.py): an LSTM, latent 3, batch 20,
# 400 epochs at a fixed learning rate, MSE summed over batch and time plus the KL term
# unweighted (kl_weight 1 with loss_balance "original" is the original's loss), raw values,
# every epoch run (no early stopping, no step cap).
ORIGINAL = {
    "block": "LSTM",
    "hidden_size": 70,
    "hidden_layer_depth": 1,
    "latent_length": 3,
    "batch_size": 20,
    "learning_rate": 0.003,
    "n_epochs": 400,
    "dropout_rate": 0.2,
    "loss": "MSELoss",
    "loss_balance": "original",
    "kl_weight": 1.0,
    "kl_warmup": 0,  # the KL term at full weight from the first step
    "time_shift": 0.0,  # the encoder reads the series as they are
    "scaling": "none",
    "early_stopping": False,
    "lr_decay": 1.0,
    "lr_schedule": "plateau",  # with lr_decay 1: the fixed rate (the default is a one cycle)
    "max_steps": None,
    "max_timepoints": None,  # the network runs over every time point
}


def zscore(X: np.ndarray) -> np.ndarray:
    """Per-gene z-scores over time (flat genes stay at 0)."""
    return scale_series(X)[0]


def kmeans_scores(E, labels_true, k: int | None = None, random_state=0, **kwargs) -> dict:
    """ARI and NMI of K-means (``cluster_latent``, ``n_init=10``) on an embedding."""
    k = int(np.unique(labels_true).size) if k is None else k
    E = np.asarray(E).reshape(len(E), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # an empty cluster is a score, not news
        pred = cluster_latent(E, k, random_state=random_state, **kwargs).labels_
    return clustering_scores(labels_true, pred)


def kmeans_labels(E, k: int, random_state=0) -> np.ndarray:
    """K-means (``cluster_latent``, ``n_init=10``) labels of an embedding."""
    E = np.asarray(E).reshape(len(E), -1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return cluster_latent(E, k, random_state=random_state).labels_


def original_labels(Z: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """The original's clustering of latent means, and plain K-means on the same latents."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {
            "minibatch": cluster_latent(Z, k, method="minibatch", random_state=0).labels_,
            "kmeans": cluster_latent(Z, k, random_state=0).labels_,
        }


# --------------------------------------------------------------------------- provenance
def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(HERE.parent), *args], capture_output=True, text=True, check=False
        )
    except OSError:
        return ""
    return done.stdout.strip()


def provenance(argv: list[str] | None = None) -> dict:
    """Commit, date, machine, load and command of this run (the header of a results file)."""
    import sklearn
    import torch

    # code changes, not results being written
    dirty = _git("status", "--porcelain", "-uno", "--", ".", ":!benchmarks/results")
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    argv = sys.argv if argv is None else argv
    return {
        "commit": commit + (" (uncommitted changes)" if dirty else ""),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": f"{platform.node()}, {os.cpu_count()} CPUs, {platform.platform()}",
        "load": " ".join(f"{v:.2f}" for v in os.getloadavg()),
        "command": "python " + " ".join(shlex.quote(a) for a in argv),
        "versions": f"python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}",
    }


def provenance_lines(info: dict | None = None) -> list[str]:
    """The provenance as ``# key: value`` lines (CSV and log headers)."""
    info = provenance() if info is None else info
    return [f"# {key}: {value}" for key, value in info.items()]


def _atomic_write(path: Path, text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _cell(value) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return "" if value is None else str(value)


def write_csv(path, rows: list[dict], columns: list[str], info: dict | None = None) -> None:
    """Write rows as CSV after ``# key: value`` provenance lines (atomically)."""
    import io

    buf = io.StringIO()
    buf.write("\n".join(provenance_lines(info)) + "\n")
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: _cell(row.get(c)) for c in columns})
    _atomic_write(Path(path), buf.getvalue())


def read_csv(path) -> list[dict]:
    """Rows of a CSV written by ``write_csv`` (numbers as float, empty cells as NaN)."""
    with open(path, newline="") as fh:
        lines = [line for line in fh if not line.startswith("#")]
    rows = []
    for raw in csv.DictReader(lines):
        row = {}
        for key, value in raw.items():
            try:
                row[key] = float(value) if value != "" else math.nan
            except ValueError:
                row[key] = value
        rows.append(row)
    return rows


def read_provenance(path) -> dict:
    """The ``# key: value`` header of a file written by ``write_csv``."""
    info = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("# "):
                break
            key, _, value = line[2:].rstrip("\n").partition(": ")
            info[key] = value
    return info


def write_json(path, payload: dict, info: dict | None = None) -> None:
    """Write ``{"provenance": ..., **payload}`` as JSON (atomically)."""
    info = provenance() if info is None else info
    _atomic_write(Path(path), json.dumps({"provenance": info, **payload}, indent=1) + "\n")


def markdown_table(rows: list[list], heads: list[str]) -> str:
    """A Markdown table; floats to 3 decimals."""

    def fmt(v) -> str:
        if isinstance(v, float):
            return "-" if math.isnan(v) else f"{v:.3f}"
        return str(v)

    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def option_table(rows: list[dict], options) -> str:
    """ARI per case and option, mean (min) over seeds, and the mean of the case means.

    ``rows`` hold a ``case`` and one ARI per option, one row per case x seed (the scripts
    that re-cluster the same fits in several ways: consensus_options.py, refine.py).
    """
    table = []
    for name in dict.fromkeys(r["case"] for r in rows):
        sel = [r for r in rows if r["case"] == name]
        table.append([name, str(len(sel)), *(
            f"{np.mean([r[o] for r in sel]):.3f} ({np.min([r[o] for r in sel]):.3f})"
            for o in options)])  # fmt: skip
    means = [np.mean([np.mean([r[o] for r in rows if r["case"] == c[0]]) for c in table])
             for o in options]  # fmt: skip
    table.append(["mean of cases", "", *(f"{m:.3f}" for m in means)])
    return "\n".join(["**ARI** on the same fits, mean (min) over seeds", "",
                      markdown_table(table, ["case", "seeds", *options])])  # fmt: skip


SMOOTH_SIGMA = 1.0  # the kmeans-smooth baseline's Gaussian sd, in time steps


def smooth_over_time(Z: np.ndarray) -> np.ndarray:
    """Series (genes, time, dims) smoothed over time: a Gaussian of ``SMOOTH_SIGMA`` steps."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(Z, SMOOTH_SIGMA, axis=1, mode="nearest")

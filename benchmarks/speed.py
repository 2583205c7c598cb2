"""Speed and scale benchmark: time-to-quality, throughput, memory and the machine's ceiling.

Every measurement runs in its own Python subprocess (so peak memory and thread settings are
per measurement), the two sides of a comparison alternate (A B A B ...), and the load average
is recorded before each subprocess, because the machines are shared. Subprocesses get
``OMP_NUM_THREADS=MKL_NUM_THREADS=1`` (and ``RVAgene(n_threads=1)``) except where two threads
are measured. Sections:

- ``gru``: one training step of the default network (forward, loss, backward, Adam) at batch
  32 / 128 / 512 x 100 time points, with torch's ``nn.GRU`` against rvagene's hand-written
  CPU GRU (``rvagene._gru``), alternating.
- ``demo``: time-to-quality on ``data/demosim/demosim_TRAIN`` (120 genes x 100, 6 clusters):
  ``RVAgene(random_state=s).fit(X)`` with the defaults against the original configuration
  (LSTM, batch 20, 400 epochs, the original loss) and the defaults built on torch's
  ``nn.GRU`` (the speed-up of ``rvagene._gru`` in a whole fit), with the ARI of
  K-means(6, n_init=10) and of the original's MiniBatchKMeans on ``transform``; plus, in a
  traced run per side, the training time at which ARI >= 0.95 was first reached (ARI
  evaluated after every epoch, the evaluation's time excluded).
- ``throughput``: gene-epochs per second of training and peak RSS at 1,000, 20,000 and
  100,000 simulated genes x 100 points, batch 32 / 128 / 512; ``transform`` and ``decode``
  throughput (series/s).
- ``fit20k``: a full default fit of 20,000 genes x 100 points (target <= 5 minutes) and the
  ARI against the simulated clusters, plus the faster settings in ``FAST_SETTINGS``.
- ``ceiling``: achieved GFLOP/s of the training step at 1 and 2 threads against a 2048 x 2048
  float32 ``torch.mm`` with the same thread count.

Usage::

    python benchmarks/speed.py --quick                    # < ~3 minutes on an idle machine
    nohup python benchmarks/speed.py > benchmarks/results/speed_full.log 2>&1 &
    python benchmarks/speed.py --sections throughput,ceiling --skip-100k
    python benchmarks/speed.py --quick --device cuda      # see benchmarks/gpu_check.sh

Results are appended row by row to ``benchmarks/results/speed.csv`` (``speed_quick.csv`` with
``--quick``), rewritten atomically after every row. Never run by the unit tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DEMO = ROOT / "data" / "demosim" / "demosim_TRAIN"

# The original tool's demo configuration (train_and_gen.py); it kept the learning rate fixed.
ORIGINAL = {
    "block": "LSTM",
    "hidden_size": 70,
    "latent_length": 3,
    "batch_size": 20,
    "learning_rate": 0.003,
    "n_epochs": 400,
    "dropout_rate": 0.2,
    "loss_balance": "original",
    "scaling": "none",
    "early_stopping": False,
    "kl_weight": 1.0,
    "lr_decay": 1.0,
}
SIZES = (1_000, 20_000, 100_000)
BATCH_SIZES = (32, 128, 512)
N_CLUSTERS = 10  # simulated data sets: rvagene.simulate(n_clusters=10, genes_per_cluster=n/10)
LARGE = 20_000  # genes in the full fit and the ceiling measurement
TARGET_S = 300.0  # a default fit of 20,000 genes within 5 minutes
ARI_GOAL = 0.95
# Settings tried after the defaults in ``fit20k`` (``--fast-settings`` replaces them): a larger
# batch with the learning rate scaled by sqrt(batch / 32), and a shorter patience.
FAST_SETTINGS = (
    {"n_epochs": 3},
    {"batch_size": 128, "learning_rate": 0.02, "n_iter_no_change": 2, "n_epochs": 6},
)
TRACE_GENES = 4000
DEFAULT_FIT_TIMEOUT = 2400  # s; a default 20,000-gene fit still running then has failed anyway
# How much of each epoch the throughput runs train (genes; None = the whole epoch). The first
# (warm-up) epoch is never timed.
WARMUP_ROWS = 2048
MEASURE = {  # n_genes -> (timed epochs, genes per timed epoch or None for all)
    1_000: (3, None),
    20_000: (2, None),
    100_000: (2, 8192),
}
CEILING_ROWS = 4096  # genes in the one timed (truncated) epoch of a ceiling run
MATMUL_N = 2048
FLOP_FORMULA = (
    "GRU multiply-adds per series per time step, per layer: 3*H*(F_in+H) (encoder F_in = "
    "features, decoder F_in = 1); FLOPs = 2*MACs; training step = 3 x forward; "
    "training FLOPs per gene-epoch = 3 * 2 * T * sum over encoder+decoder layers of "
    "3*H*(F_in+H) (linear layers, loss and optimiser not counted)"
)


# =========================================================================== helpers
def gru_flops_per_gene(n_timepoints: int, hidden: int, features: int = 1, depth: int = 1):
    """Training FLOPs (forward + backward) per gene per epoch, counting only the GRUs."""
    macs = 0
    for layer in range(depth):
        enc_in = features if layer == 0 else hidden
        dec_in = 1 if layer == 0 else hidden
        macs += 3 * hidden * (enc_in + hidden) + 3 * hidden * (dec_in + hidden)
    return 3 * 2 * n_timepoints * macs


def load_avg() -> dict:
    one, five, fifteen = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2)}


def uptime() -> str:
    try:
        return subprocess.run(
            ["uptime"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        return "load average: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def median(values):
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return statistics.median(values) if values else float("nan")


def fmt(value, digits: int = 3) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "-"
        if math.isinf(value):
            return "never"
        return f"{value:.{digits}g}" if abs(value) < 10**digits else f"{value:.0f}"
    return str(value)


def md_table(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(title for _, title in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(fmt(r.get(key)) for key, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


# =========================================================================== workers
# Each worker runs in a fresh subprocess: ``speed.py --worker '{"kind": ..., ...}'``; it prints
# one line ``RESULT {json}`` at the end.
def _simulated(n_genes: int, seed: int = 0):
    from rvagene import simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return simulate(
            n_clusters=N_CLUSTERS, genes_per_cluster=n_genes // N_CLUSTERS, random_state=seed
        )


def _dataset(name: str, seed: int = 0):
    if name == "demo":
        from rvagene import read_ucr

        return read_ucr(DEMO)
    if name.startswith("sim"):
        return _simulated(int(name[3:]), seed)
    msg = f"unknown dataset {name!r}"
    raise ValueError(msg)


def _latent_means(model, X):
    """The latent means of ``X`` in the middle of a fit (for the per-epoch trace)."""
    module = model.module_
    was_training = module.training
    mu, _ = model._encode(X[:, :, None] if X.ndim == 2 else X)
    module.train(was_training)
    return mu.cpu().numpy()


def _aris(Z, y, k: int) -> dict:
    from sklearn.metrics import adjusted_rand_score

    from rvagene.cluster import cluster_latent

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty mini-batch clusters
        for how in ("kmeans", "minibatch"):
            labels = cluster_latent(Z, k, method=how, random_state=0).labels_
            out[f"ari_{how}"] = float(adjusted_rand_score(y, labels))
    return out


def worker_fit(task: dict) -> dict:
    """Fit one configuration; with ``trace``, score the latent means after every epoch."""
    import numpy as np

    import rvagene._train as train_module
    from rvagene import RVAgene

    _use_gru(task.get("gru", "rvagene"))
    X, y = _dataset(task["dataset"], task.get("data_seed", 0))
    k = int(np.unique(y).size)
    params = {**task["params"], "random_state": task["seed"], "device": task["device"]}
    model = RVAgene(**params)
    trace, eval_s, eval_cpu = [], 0.0, 0.0
    # The per-check trace scores a fixed random subset of at most TRACE_GENES genes (the
    # final ARI uses every gene).
    probe = np.random.default_rng(0).permutation(len(X))[:TRACE_GENES]
    t0, c0 = time.perf_counter(), time.process_time()
    if task.get("trace"):
        original_epoch = train_module.train_epoch

        def traced_epoch(*args, **kwargs):
            nonlocal eval_s, eval_cpu
            stats = original_epoch(*args, **kwargs)
            t_end, c_end = time.perf_counter(), time.process_time()
            scores = _aris(_latent_means(model, X[probe]), y[probe], k)
            trace.append(
                {
                    "epoch": len(trace) + 1,
                    "train_s": t_end - t0 - eval_s,
                    "loss": stats["loss"],
                    **scores,
                }
            )
            print("TRACE " + json.dumps(trace[-1]), flush=True)  # kept if the run times out
            eval_s += time.perf_counter() - t_end
            eval_cpu += time.process_time() - c_end
            return stats

        original_evaluate = train_module.evaluate

        def traced_evaluate(*args, **kwargs):  # the held-out loss that fit watches
            out = original_evaluate(*args, **kwargs)
            if trace:
                print(f"VAL {len(trace)} {out['loss']!r}", flush=True)
            return out

        train_module.train_epoch = traced_epoch
        train_module.evaluate = traced_evaluate
    model.fit(X)
    total_s, total_cpu = time.perf_counter() - t0, time.process_time() - c0
    scores = _aris(model.transform(X), y, k)
    monitored = model.history_.get("val_loss", model.history_["loss"])
    for entry, value in zip(trace, monitored, strict=False):
        entry["monitored"] = value  # the loss the stopping rule watched after that epoch
    from rvagene.model import _check_schedule, _n_validation

    # The stopping rule (for stopping_replay): stop once the monitored loss has not improved
    # by tol for `patience` checks and at least `warmup` checks have run; the fit's own clock.
    n_val = _n_validation(len(X), model.validation_fraction, model.early_stopping)
    _, warmup, patience = _check_schedule(len(X) - n_val, model.batch_size, model.n_iter_no_change)
    row = {
        "n_genes": len(X),
        "patience": patience,
        "warmup": warmup,
        "tol": model.tol,
        "fit_s": total_s - eval_s,
        "fit_total_s": total_s,
        # CPU seconds of the fit (one thread): robust to other processes on the machine
        "fit_cpu_s": total_cpu - eval_cpu,
        "n_epochs": model.n_iter_,
        "epochs_done": model.history_.get("epoch", [model.n_iter_])[-1],
        "best_epoch": getattr(model, "best_epoch_", model.n_iter_),
        "peak_rss_mb": peak_rss_mb(),
        **scores,
    }
    for how in ("kmeans", "minibatch"):
        hit = [t for t in trace if t[f"ari_{how}"] >= ARI_GOAL]
        row[f"t95_{how}_s"] = hit[0]["train_s"] if hit else (math.inf if trace else math.nan)
        row[f"epoch95_{how}"] = hit[0]["epoch"] if hit else ""
    if trace:
        row["trace"] = trace
    return row


def worker_throughput(task: dict) -> dict:
    """Time the training epochs of a fit (after a warm-up epoch), then transform and decode."""
    import numpy as np
    import torch

    import rvagene._train as train_module
    from rvagene import RVAgene

    rss_start = peak_rss_mb()
    X, _ = _simulated(task["n_genes"])
    rss_data = peak_rss_mb()
    batch, warmup_rows = task["batch_size"], task["warmup_rows"]
    epochs, rows_per_epoch = task["epochs"], task["rows"]
    timed = []
    original_epoch = train_module.train_epoch

    # Large gene sets are trained in parts of <= CHECK_STEPS steps (one train_epoch call
    # each): the first call is the warm-up, then calls are timed until `epochs` x `rows`
    # rows have been (or, with rows None, every call of the fit is), then each remaining
    # call trains one batch, untimed, so the fit ends quickly.
    needed = None if rows_per_epoch is None else epochs * rows_per_epoch
    untimed = []

    def timed_epoch(module, Xt, mask, *args, **kwargs):
        order = kwargs.get("order")
        if order is None:  # an epoch in one part: a fresh permutation, as train_epoch draws
            order = torch.randperm(Xt.shape[0], device=Xt.device)
        done = sum(n for n, _ in timed[1:])
        if not timed:
            order = order[:warmup_rows]
        elif needed is not None:
            order = order[: max(needed - done, batch)]
        kwargs["order"] = order  # rows still gathered from the full tensor
        t = time.perf_counter()
        stats = original_epoch(module, Xt, mask, *args, **kwargs)
        seconds = time.perf_counter() - t
        if timed and needed is not None and done >= needed:
            untimed.append(seconds)
        else:
            timed.append((order.shape[0], seconds))
        return stats

    train_module.train_epoch = timed_epoch
    model = RVAgene(
        n_epochs=1 + epochs,
        batch_size=batch,
        random_state=0,
        n_threads=task["threads"],
        device=task["device"],
    )
    t0 = time.perf_counter()
    model.fit(X)
    fit_s = time.perf_counter() - t0
    train_module.train_epoch = original_epoch
    genes = sum(n for n, _ in timed[1:])
    seconds = sum(s for _, s in timed[1:])
    row = {
        "n_genes": len(X),
        "data_mb": X.nbytes / 2**20,
        "timed_genes": genes,
        "timed_s": seconds,
        "gene_epochs_per_s": genes / seconds,
        "step_ms": 1e3 * seconds / sum(math.ceil(n / batch) for n, _ in timed[1:]),
        "fit_s": fit_s,
        "epoch_s_est": (0.9 * len(X)) / (genes / seconds),
        "rss_start_mb": rss_start,
        "rss_data_mb": rss_data,
    }
    if task.get("predict"):
        t = time.perf_counter()
        model.transform(X)
        row["transform_per_s"] = len(X) / (time.perf_counter() - t)
        t = time.perf_counter()
        _latent_means(model, X)
        row["encode_only_per_s"] = len(X) / (time.perf_counter() - t)
        n_dec = min(len(X), 20_000)
        Z = np.random.default_rng(0).standard_normal((n_dec, model.latent_length))
        t = time.perf_counter()
        model.decode(Z)
        row["decode_per_s"] = n_dec / (time.perf_counter() - t)
    row["peak_rss_mb"] = peak_rss_mb()
    if str(model.device_).startswith("cuda"):
        row["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def worker_matmul(task: dict) -> dict:
    import torch

    n, device = MATMUL_N, task["device"]
    torch.set_num_threads(task["threads"])
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    c = torch.empty(n, n, device=device)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for _ in range(3):
        torch.mm(a, b, out=c)
    sync()
    times = []
    for _ in range(task.get("repeats", 10)):
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        sync()
        times.append(time.perf_counter() - t)
    flops = 2 * n**3
    return {
        "gflops": flops / statistics.median(times) / 1e9,
        "gflops_best": flops / min(times) / 1e9,
        "threads_seen": torch.get_num_threads(),
    }


def _use_gru(which: str) -> None:
    """Build RVAgene's GRUs from torch's ``nn.GRU`` ("torch") or rvagene's own (default)."""
    if which == "torch":
        from torch import nn

        import rvagene.network as network

        network.BLOCKS["GRU"] = nn.GRU


def worker_gru_step(task: dict) -> dict:
    """Median time of one training step (forward, loss, backward, Adam) of the default network."""
    import torch

    from rvagene.network import RVAE, RVAEConfig, rvae_loss

    _use_gru(task["gru"])
    torch.manual_seed(0)
    module = RVAE(RVAEConfig(hidden_size=64, latent_length=8))
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    criterion = torch.nn.MSELoss(reduction="none")
    x = torch.randn(task["batch_size"], task["n_timepoints"], 1)
    times = []
    for i in range(task["warmup"] + task["steps"]):
        t = time.perf_counter()
        optimizer.zero_grad()
        x_hat, mu, logvar = module(x)
        rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight=0.1).loss.backward()
        optimizer.step()
        if i >= task["warmup"]:
            times.append(time.perf_counter() - t)
    return {"step_ms": 1e3 * statistics.median(times), "steps": len(times)}


WORKERS = {
    "fit": worker_fit,
    "throughput": worker_throughput,
    "matmul": worker_matmul,
    "gru_step": worker_gru_step,
}


def run_worker(spec: str) -> int:
    task = json.loads(spec)
    import torch

    if task.get("threads") and task["device"] == "cpu":
        torch.set_num_threads(task["threads"])
    row = WORKERS[task["kind"]](task)
    print("RESULT " + json.dumps(row), flush=True)
    return 0


# =========================================================================== orchestration
class Bench:
    """Runs workers in subprocesses and collects their rows into one CSV."""

    def __init__(self, out: Path, device: str, timeout: float, keep=None):
        self.out, self.device, self.timeout = out, device, timeout
        self.rows: list[dict] = []
        if keep is not None and out.exists():  # --update: keep the other sections' rows
            with open(out, newline="") as fh:
                self.rows = [r for r in csv.DictReader(fh) if keep(r["section"])]
        self.started = time.strftime("%Y-%m-%d %H:%M:%S")

    def run(
        self, section: str, name: str, task: dict, threads: int = 1, timeout=None, **extra
    ) -> dict:
        timeout = min(timeout or self.timeout, self.timeout)
        task = {**task, "device": self.device, "threads": threads}
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        load = load_avg()
        row = {
            "section": section,
            "name": name,
            "threads": threads,
            "device": self.device,
            **extra,
            **load,
            "time": time.strftime("%H:%M:%S"),
        }
        print(f"  [{row['time']} load {load['load1']:.2f}] {section}: {name} ...", flush=True)
        t = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(task)],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=ROOT,
                check=False,
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode or not lines:
                row["error"] = (proc.stderr.strip().splitlines() or ["no result"])[-1][:300]
            else:
                row.update(json.loads(lines[-1][len("RESULT ") :]))
        except subprocess.TimeoutExpired as err:
            row["error"] = f"timed out after {timeout:.0f} s"
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
            partial = [json.loads(ln[6:]) for ln in out.splitlines() if ln.startswith("TRACE ")]
            for ln in out.splitlines():
                if ln.startswith("VAL ") and 0 < int(ln.split()[1]) <= len(partial):
                    partial[int(ln.split()[1]) - 1]["monitored"] = float(ln.split()[2])
            if partial:
                row["trace"] = partial
                row["n_epochs"] = len(partial)
                row["ari_kmeans_last"] = partial[-1]["ari_kmeans"]
                row["fit_s_at_least"] = partial[-1]["train_s"]
                hit = [t for t in partial if t["ari_kmeans"] >= ARI_GOAL]
                row["t95_kmeans_s"] = hit[0]["train_s"] if hit else math.inf
        row["wall_s"] = time.perf_counter() - t
        if "error" in row:
            print(f"    ERROR: {row['error']}", flush=True)
        trace = row.pop("trace", None)
        if trace:
            row["_trace"] = trace  # kept in memory for the stopping-rule replay, not in the CSV
            row["trace"] = " ".join(
                f"{t['epoch']}:{t['train_s']:.1f}s/{t['ari_kmeans']:.2f}/{t['ari_minibatch']:.2f}"
                f"/{t.get('monitored', math.nan):.5g}"
                for t in trace
            )
        self.rows.append(row)
        self.save()
        return row

    def save(self) -> None:
        from rvagene._utils import atomic_open

        columns: list[str] = []
        for row in self.rows:
            columns += [k for k in row if k not in columns and not k.startswith("_")]
        with atomic_open(self.out, newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, restval="", extrasaction="ignore")
            writer.writeheader()
            for row in self.rows:
                writer.writerow(
                    {k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()}
                )


def section_demo(bench: Bench, repeats: int, trace: bool = True) -> list[dict]:
    """Defaults vs the original configuration, alternating (A B A B ...), one fit per row.

    With ``trace`` every fit scores its latent means after every epoch; ``fit_s`` then
    excludes that evaluation's time (``fit_total_s`` includes it).
    """
    print(f"\n## Time-to-quality on demosim ({repeats} repeat(s) per side, alternating)")
    sides = {"defaults": {}, "original": ORIGINAL, "defaults, torch nn.GRU": {}}
    timed = {s: [] for s in sides}
    for seed in range(repeats):
        for side, params in sides.items():
            task = {"kind": "fit", "dataset": "demo", "params": params, "seed": seed}
            task["gru"] = "torch" if "torch" in side else "rvagene"
            task["trace"] = trace
            timed[side].append(bench.run("demo", side, task, seed=seed, traced=trace))
    traced = timed
    summary = []
    for side in sides:
        rows = [r for r in timed[side] if "error" not in r]
        tr = [r for r in traced[side] if "error" not in r]
        summary.append(
            {
                "side": side,
                "fit_s": median([r["fit_s"] for r in rows]),
                "fit_range": " - ".join(fmt(f(r["fit_s"] for r in rows)) for f in (min, max))
                if rows
                else "",
                "ari_kmeans": median([r["ari_kmeans"] for r in rows]),
                "ari_minibatch": median([r["ari_minibatch"] for r in rows]),
                "epochs": median([r["n_epochs"] for r in rows]),
                "t95_kmeans_s": median([r["t95_kmeans_s"] for r in tr]),
                "t95_minibatch_s": median([r["t95_minibatch_s"] for r in tr]),
                "load1": median([r["load1"] for r in timed[side]]),
            }
        )
    print(
        md_table(
            summary,
            [
                ("side", "configuration"),
                ("fit_s", "fit s (median)"),
                ("fit_range", "fit s (range)"),
                ("epochs", "epochs"),
                ("ari_kmeans", "ARI K-means(6)"),
                ("ari_minibatch", "ARI MiniBatchKMeans"),
                ("t95_kmeans_s", "s to ARI>=0.95 (K-means)"),
                ("t95_minibatch_s", "s to ARI>=0.95 (MiniBatch)"),
                ("load1", "load1 (median)"),
            ],
        )
    )
    d, o = summary[:2]
    ratio = o["fit_s"] / d["fit_s"] if d["fit_s"] else float("nan")
    ok = ratio >= 10 and d["ari_kmeans"] >= max(o["ari_kmeans"], o["ari_minibatch"])
    print(
        f"\nratio original / defaults (median fit time): {ratio:.1f}x; "
        f"target >= 10x with ARI at least the original's: {'PASS' if ok else 'FAIL'}"
    )
    t95 = o["t95_kmeans_s"] / d["t95_kmeans_s"] if d["t95_kmeans_s"] else float("nan")
    print(f"ratio of the times to ARI >= 0.95 (K-means), original / defaults: {t95:.1f}x")
    if len(summary) > 2 and d["fit_s"]:
        g = summary[2]
        print(
            f"defaults with torch nn.GRU / with rvagene's GRU: fit {g['fit_s'] / d['fit_s']:.2f}x "
            f"(epochs {g['epochs']} vs {d['epochs']}; fits differ by float rounding)"
        )
    stopping_replay(timed["defaults"])
    for side in sides:
        for r in traced[side][:1]:
            if "trace" in r:
                print(
                    f"trace {side} (epoch:train s/ARI K-means/ARI MiniBatch/monitored loss): "
                    f"{_short_trace(r['trace'])}"
                )
    return summary


def stopping_replay(rows: list[dict], tols=(1e-3, 3e-3, 1e-2, 3e-2)) -> list[dict]:
    """Replay the stopping rule on traced fits with a larger ``tol`` (relative progress).

    Exact for ``tol`` >= the fitted one: ``tol`` only decides when the rule stops (neither the
    learning-rate schedule nor the kept best weights depend on it), so the fit would have
    ended at the replayed epoch holding the best epoch so far, whose ARI the trace records.
    """
    out = []
    for r in rows:
        trace = r.get("_trace") or []
        if not trace or "monitored" not in trace[0] or not r.get("patience"):
            continue
        full_best = min(t["monitored"] for t in trace)
        for tol in tols:
            if tol < r["tol"]:
                continue
            best, best_i, ref, stall, stop = math.inf, 0, math.inf, 0, len(trace)
            for i, t in enumerate(trace):
                m = t["monitored"]
                if m < best:
                    best, best_i = m, i
                if not math.isfinite(ref) or m < ref - tol * abs(ref):
                    ref, stall = m, 0
                else:
                    stall += 1
                    if stall >= r["patience"] and i + 1 >= r.get("warmup", 0):
                        stop = i + 1
                        break
            out.append(
                {
                    "name": r["name"],
                    "seed": r.get("seed"),
                    "tol": tol,
                    "stop_epoch": stop,
                    "fit_s": trace[stop - 1]["train_s"],
                    "best_epoch": best_i + 1,
                    "ari_kmeans": trace[best_i]["ari_kmeans"],
                    "loss_vs_full": 100 * (best / full_best - 1),
                }
            )
    if out:
        print(
            "\nStopping rule replayed with a larger tol (patience "
            + ", ".join(sorted({str(r["patience"]) for r in rows if r.get("patience")}))
            + " epochs after a warm-up of "
            + ", ".join(sorted({str(r.get("warmup")) for r in rows if r.get("patience")}))
            + " epochs; exact, see stopping_replay):"
        )
        print(
            md_table(
                out,
                [
                    ("name", "fit"),
                    ("seed", "seed"),
                    ("tol", "tol"),
                    ("stop_epoch", "stops after epoch"),
                    ("fit_s", "train s"),
                    ("best_epoch", "best epoch"),
                    ("ari_kmeans", "ARI K-means"),
                    ("loss_vs_full", "monitored loss vs full run, %"),
                ],
            )
        )
    return out


def _short_trace(trace: str, keep: int = 12) -> str:
    parts = trace.split()
    return (
        " ".join(parts)
        if len(parts) <= 2 * keep
        else (" ".join(parts[:keep]) + " ... " + " ".join(parts[-keep:]))
    )


def section_throughput(bench: Bench, sizes, batch_sizes, matmul: dict) -> list[dict]:
    print("\n## Throughput and peak memory (1 thread)")
    flops = gru_flops_per_gene(100, 64)
    rows = []
    for n in sizes:
        epochs, per_epoch = MEASURE.get(n, (2, None))
        how = f"{epochs} epochs" + (f" of the first {per_epoch} genes" if per_epoch else "")
        for batch in batch_sizes:
            task = {
                "kind": "throughput",
                "n_genes": n,
                "batch_size": batch,
                "epochs": epochs,
                "rows": per_epoch,
                "warmup_rows": WARMUP_ROWS,
                "predict": batch == 32,
            }
            row = bench.run(
                "throughput", f"{n} genes, batch {batch}", task, batch_size=batch, measured=how
            )
            if "error" not in row:
                row["gflops"] = row["gene_epochs_per_s"] * flops / 1e9
                if matmul.get(1):
                    row["pct_matmul"] = 100 * row["gflops"] / matmul[1]
            rows.append(row)
    print(
        md_table(
            rows,
            [
                ("n_genes", "genes"),
                ("batch_size", "batch"),
                ("gene_epochs_per_s", "gene-epochs/s"),
                ("step_ms", "ms/step"),
                ("epoch_s_est", "s/epoch (90 % train)"),
                ("gflops", "GFLOP/s"),
                ("pct_matmul", "% of 1-thread mm"),
                ("data_mb", "data MB"),
                ("peak_rss_mb", "peak RSS MB"),
                ("transform_per_s", "transform/s"),
                ("encode_only_per_s", "encode-only/s"),
                ("decode_per_s", "decode/s"),
                ("measured", "timed"),
                ("load1", "load1"),
            ],
        )
    )
    big = [r for r in rows if r.get("n_genes") == max(sizes) and "peak_rss_mb" in r]
    if max(sizes) >= 100_000 and big:
        peak = max(r["peak_rss_mb"] for r in big)
        print(
            f"\npeak RSS at {max(sizes)} genes: {peak:.0f} MB; target <= 4096 MB: "
            f"{'PASS' if peak <= 4096 else 'FAIL'}"
        )
    return rows


def section_fit20k(bench: Bench, fast_settings) -> list[dict]:
    print(
        f"\n## Full fit of {LARGE} genes x 100 points ({N_CLUSTERS} clusters); "
        f"target <= {TARGET_S:.0f} s"
    )
    rows = []
    for params in [{}, *fast_settings]:
        name = "defaults" if not params else json.dumps(params, separators=(",", ":"))
        task = {
            "kind": "fit",
            "dataset": f"sim{LARGE}",
            "params": params,
            "seed": 0,
            "trace": True,
        }
        limit = None if params else DEFAULT_FIT_TIMEOUT
        rows.append(bench.run("fit20k", name, task, timeout=limit, seed=0, traced=True))
    print(
        md_table(
            rows,
            [
                ("name", "setting"),
                ("fit_s", "fit s"),
                ("fit_cpu_s", "fit CPU s"),
                ("fit_s_at_least", "fit s (timed out, at least)"),
                ("n_epochs", "checks"),
                ("epochs_done", "epochs"),
                ("best_epoch", "best epoch"),
                ("ari_kmeans", "ARI K-means(10)"),
                ("ari_kmeans_last", "ARI at timeout"),
                ("ari_minibatch", "ARI MiniBatch"),
                ("t95_kmeans_s", "s to ARI>=0.95"),
                ("peak_rss_mb", "peak RSS MB"),
                ("load1", "load1"),
            ],
        )
    )
    for row in rows:
        if "fit_s" in row:
            ok = row["fit_s"] <= TARGET_S and row["ari_kmeans"] >= ARI_GOAL
            print(
                f"{row['name']}: {row['fit_s']:.0f} s, ARI {row['ari_kmeans']:.3f} -> "
                f"{'PASS' if ok else 'FAIL'} (<= {TARGET_S:.0f} s and ARI >= {ARI_GOAL})"
            )
        if row.get("trace"):
            print(
                "  trace (epoch:train s/ARI K-means/ARI MiniBatch/monitored loss): "
                + _short_trace(row["trace"])
            )
    stopping_replay(rows[:1])
    return rows


def section_matmul(bench: Bench, threads=(1, 2), repeats: int = 3) -> dict:
    print(f"\n## Ceiling: {MATMUL_N} x {MATMUL_N} float32 torch.mm")
    got = {t: [] for t in threads}
    rows = []
    for _ in range(repeats):
        for t in threads:  # alternating
            row = bench.run("matmul", f"mm {MATMUL_N} {t} thread(s)", {"kind": "matmul"}, t)
            rows.append(row)
            if "gflops" in row:
                got[t].append(row["gflops"])
    result = {t: median(v) for t, v in got.items()}
    print(
        md_table(
            [
                {
                    "threads": t,
                    "gflops": result[t],
                    "best": max([r.get("gflops_best", 0) for r in rows if r["threads"] == t]),
                    "load1": median([r["load1"] for r in rows if r["threads"] == t]),
                }
                for t in threads
            ],
            [
                ("threads", "threads"),
                ("gflops", "GFLOP/s (median)"),
                ("best", "GFLOP/s (best)"),
                ("load1", "load1"),
            ],
        )
    )
    return result


def section_ceiling(bench: Bench, batch_sizes, matmul: dict) -> list[dict]:
    print(
        f"\n## Training step vs the matmul ceiling ({LARGE} genes; one epoch of "
        f"{CEILING_ROWS} genes timed after a warm-up of {WARMUP_ROWS})"
    )
    print(
        f"FLOPs counted: {FLOP_FORMULA}; H=64, T=100 gives "
        f"{gru_flops_per_gene(100, 64) / 1e6:.2f} MFLOP per gene-epoch."
    )
    flops = gru_flops_per_gene(100, 64)
    rows = []
    for batch in batch_sizes:
        for t in matmul:  # alternating thread counts
            task = {
                "kind": "throughput",
                "n_genes": LARGE,
                "batch_size": batch,
                "epochs": 1,
                "rows": CEILING_ROWS,
                "warmup_rows": WARMUP_ROWS,
                "predict": False,
            }
            row = bench.run("ceiling", f"batch {batch}, {t} thread(s)", task, t, batch_size=batch)
            if "error" not in row:
                row["gflops"] = row["gene_epochs_per_s"] * flops / 1e9
                row["mm_gflops"] = matmul.get(t, float("nan"))
                row["pct_matmul"] = 100 * row["gflops"] / row["mm_gflops"]
            rows.append(row)
    print(
        md_table(
            rows,
            [
                ("batch_size", "batch"),
                ("threads", "threads"),
                ("gene_epochs_per_s", "gene-epochs/s"),
                ("step_ms", "ms/step"),
                ("gflops", "GFLOP/s"),
                ("mm_gflops", "mm GFLOP/s"),
                ("pct_matmul", "% of mm"),
                ("load1", "load1"),
            ],
        )
    )
    default = [
        r for r in rows if r.get("batch_size") == 32 and r["threads"] == 1 and "gflops" in r
    ]
    best = max((r for r in rows if "pct_matmul" in r), key=lambda r: r["pct_matmul"], default=None)
    if default:
        pct = default[0]["pct_matmul"]
        print(
            f"\ndefault step (batch 32, 1 thread): {pct:.1f} % of the matmul ceiling; "
            f"target >= 30 %: {'PASS' if pct >= 30 else 'FAIL'}"
        )
    if best:
        print(
            f"best: batch {best['batch_size']}, {best['threads']} thread(s): "
            f"{best['pct_matmul']:.1f} %"
        )
    return rows


def section_gru(bench: Bench, batch_sizes, repeats: int) -> list[dict]:
    """One training step with torch's nn.GRU and with rvagene's GRU, alternating."""
    print(
        "\n## Training step: torch nn.GRU vs rvagene's GRU (rvagene._gru), "
        "default network (hidden 64, latent 8), 100 time points, 1 thread"
    )
    rows = []
    for batch in batch_sizes:
        for rep in range(repeats):
            for gru in ("torch", "rvagene"):
                task = {"kind": "gru_step", "gru": gru, "batch_size": batch,
                        "n_timepoints": 100, "warmup": 5, "steps": 30}  # fmt: skip
                rows.append(bench.run("gru", gru, task, batch_size=batch, repeat=rep))
    summary = []
    for batch in batch_sizes:
        ms = {
            gru: median([r["step_ms"] for r in rows
                         if r.get("batch_size") == batch and r["name"] == gru and "step_ms" in r])
            for gru in ("torch", "rvagene")
        }  # fmt: skip
        summary.append({"batch_size": batch, **ms, "ratio": ms["torch"] / ms["rvagene"]})
    print(
        md_table(
            summary,
            [
                ("batch_size", "batch"),
                ("torch", "nn.GRU ms/step"),
                ("rvagene", "rvagene GRU ms/step"),
                ("ratio", "speed-up"),
            ],
        )
    )
    return summary


# =========================================================================== main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="demo time-to-quality with 1 repeat and 1,000-gene throughput "
        "only (< ~3 minutes idle)",
    )
    parser.add_argument("--skip-100k", action="store_true", help="leave out 100,000 genes")
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="timed fits per side in the demo comparison (default 3)",
    )
    parser.add_argument(
        "--device", default="cpu", help="device passed to RVAgene (cpu, cuda, ...; default cpu)"
    )
    parser.add_argument(
        "--sections",
        default="gru,demo,throughput,fit20k,ceiling",
        help="comma-separated subset of gru,demo,throughput,fit20k,ceiling",
    )
    parser.add_argument(
        "--fast-settings",
        default=None,
        help="JSON list of RVAgene parameter dicts tried after the defaults in fit20k",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600,
        help="seconds before one measurement is abandoned (default 3600)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="CSV path (default results/speed.csv, speed_quick.csv with --quick)",
    )
    parser.add_argument(
        "--no-trace",
        action="store_true",
        help="time the demo fits without the per-epoch ARI evaluation (no time-to-0.95)",
    )
    parser.add_argument(
        "--update",
        action="store_true",
        help="keep the rows of the sections not run now from an existing --out CSV",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        return run_worker(args.worker)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print("ERROR: --device cuda was given but torch sees no CUDA device.", file=sys.stderr)
            return 2
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = set(sections) - {"gru", "demo", "throughput", "fit20k", "ceiling"}
    if unknown:
        print(f"unknown section(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    repeats = 1 if args.quick else args.repeats
    if args.quick:
        sections = [s for s in sections if s in ("gru", "demo", "throughput")]
    sizes = (
        (1_000,)
        if args.quick
        else tuple(s for s in SIZES if not (args.skip_100k and s >= 100_000))
    )
    fast = json.loads(args.fast_settings) if args.fast_settings else list(FAST_SETTINGS)
    out = args.out or RESULTS / ("speed_quick.csv" if args.quick else "speed.csv")
    ran = set(sections) | ({"matmul"} if {"throughput", "ceiling"} & set(sections) else set())
    keep = (lambda section: section not in ran) if args.update else None
    bench = Bench(out, args.device, args.timeout, keep)

    import torch

    print("# rvagene speed benchmark")
    print(f"started {bench.started}; {uptime()}")
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
        f"device {args.device}; sections: {', '.join(sections)}; CSV: {out}"
    )
    bench.rows.append(
        {
            "section": "meta",
            "name": f"start: {','.join(sections)}",
            "uptime": uptime(),
            "torch": torch.__version__,
            "cpus": os.cpu_count(),
            **load_avg(),
            "time": time.strftime("%H:%M:%S"),
            "device": args.device,
        }
    )
    threads = (1,) if args.device != "cpu" or args.quick else (1, 2)
    matmul = {}
    if "throughput" in sections or "ceiling" in sections:
        matmul = section_matmul(bench, threads, repeats=1 if args.quick else 3)
    if "gru" in sections:
        section_gru(bench, (32,) if args.quick else (32, 128, 512), repeats)
    if "demo" in sections:
        section_demo(bench, repeats, trace=not args.no_trace)
    if "throughput" in sections:
        section_throughput(bench, sizes, BATCH_SIZES, matmul)
    if "fit20k" in sections:
        section_fit20k(bench, fast)
    if "ceiling" in sections:
        section_ceiling(bench, BATCH_SIZES, matmul)
    bench.rows.append(
        {
            "section": "meta",
            "name": f"end: {','.join(sections)}",
            "uptime": uptime(),
            **load_avg(),
            "time": time.strftime("%H:%M:%S"),
        }
    )
    bench.save()
    print(f"\nfinished; {uptime()}\nrows written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

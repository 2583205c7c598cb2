"""Speed benchmark: time to the original's quality, the training step, throughput and scale.

Every fit runs in its own Python subprocess (one torch thread, ``OMP_NUM_THREADS=1``, unless
a setting says otherwise), the two sides of a comparison alternate, and each row records the
load average before it ran. The machines are shared, so each fit reports **CPU seconds**
(``time.process_time`` in the child: robust to other processes) next to wall seconds.
Sections (``--sections``, comma-separated):

- ``gru``: CPU ms of one training step (forward, loss, backward, clipping, Adam) of the
  default network at batch 32 / 128 / 512 x 100 time points: rvagene's GRU with its C loops,
  with its Python loops (``RVAGENE_NO_KERNEL=1``), torch's ``nn.GRU`` and the LSTM, and, with
  ``--baseline REV``, the GRU of another git revision (e.g. the one before a change).
- ``ttq``: on ``simfinal`` (the original's data), 100 genes trained and 20 held out
  (stratified), the original configuration (``_common.ORIGINAL``) against the defaults with
  step budgets (``max_steps`` 100, 200, 300, 400, 800, None), 2 seeds: held-out error (mean over
  held-out genes of the MSE of ``reconstruct`` over the gene's variance) and ARI (K-means,
  k=6, on ``transform`` of all 120 genes; the original also with its MiniBatchKMeans). Prints
  the time-to-the-original's-quality ratio (quality: held-out error <= the original's and
  ARI >= 0.98) and the whole-fit ratio; then the whole-fit ratio on the demo data.
- ``levers``: settings that make a small fit cheaper, side by side on the ``ttq`` split, each
  fit traced by a callback (held-out error and ARI every few steps, the evaluation's CPU time
  excluded); then the stopping rule's warm-up, patience floor and ``tol`` replayed on the
  defaults' recorded held-out loss with ``StoppingRule.replay``.
- ``throughput``: gene-epochs/s and peak RSS at 1,000 (20,000 and 100,000 without
  ``--quick``) simulated genes, batch 32 and 512.
- ``fit20k``: a default fit of 20,000 simulated genes x 100 points (target <= 5 minutes,
  ARI >= 0.9).
- ``matmul``: the 2048 x 2048 float32 ``torch.mm`` ceiling, and the default step's share of it.
- ``threads``: one default fit (the ``ttq`` split, 300 steps) at ``n_threads`` 1 and 2,
  alternating, wall seconds per step: which thread count a single fit should use.
- ``pipeline``: ``train_and_gen.py`` end to end (read, fit, cluster, generate, write) on
  ``demosim`` and on 2,000 simulated genes x 20 points, here and, with ``--original DIR``, in
  the original tool: wall and CPU seconds, peak memory and ARI side by side
  (``benchmarks/_pipeline.py`` says how the original is run and patched).

Usage::

    python benchmarks/speed.py --sections ttq,levers           # ~30 CPU minutes
    python benchmarks/speed.py --sections gru --baseline 0cf7d91
    python benchmarks/speed.py --quick --device cuda           # < 3 minutes (gpu_check.sh)
    python benchmarks/speed.py --sections pipeline --original /work/orig_rvagene

Each section writes ``benchmarks/results/speed_<section>[_<tag>].csv`` and ``.log`` (its printed
output), both headed by commit, date, machine, load and command. Never run by the unit tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _common import ORIGINAL, REFERENCE, RESULTS, markdown_table, provenance, write_csv  # noqa: E402

SIMFINAL = REFERENCE / "data" / "simfinal" / "simfinal_TRAIN"
DEMO = ROOT / "data" / "demosim" / "demosim_TRAIN"
THREAD_STEPS = 300  # steps of each fit in the threads section
REFERENCE_DEMOSIM = REFERENCE / "data" / "demosim" / "demosim_TRAIN"
BUDGETS = (100, 200, 300, 400, 800, None)
ARI_GOAL = 0.98
LEVERS = {  # name -> RVAgene parameters (over the defaults); 90 genes are trained on
    "defaults": {},
    "full batch (90), lr 0.02": {"batch_size": 90, "learning_rate": 0.02},
    "batch 64, lr 0.014": {"batch_size": 64, "learning_rate": 0.014},
    "lr 0.02": {"learning_rate": 0.02},
    "no lr decay": {"lr_decay": 1.0},
    "2 threads": {"n_threads": 2},
}
REPLAYS = [  # (MIN_STEPS, PATIENCE_STEPS, tol) of the stopping rule, replayed on each trace
    (200, 200, 1e-3),
    (100, 100, 1e-3),
    (200, 200, 1e-2),
    (100, 100, 1e-2),
    (50, 50, 1e-2),
]


# =========================================================================== workers
# Each runs in a fresh subprocess (``speed.py --worker JSON``) and prints ``RESULT {json}``.
def _split(path: Path, seed: int = 0):
    """(X_train, X_heldout, X_all, y_all): 20 genes held out, stratified by cluster."""
    from sklearn.model_selection import train_test_split

    from rvagene import read_ucr

    X, y = read_ucr(path)
    train, held = train_test_split(np.arange(len(X)), test_size=20, stratify=y, random_state=seed)
    return X[train], X[held], X, y


def _quality(model, X_held, X_all, y, original: bool) -> dict:
    """Held-out error (MSE / gene variance, mean over genes) and ARI of K-means on the latents."""
    from sklearn.metrics import adjusted_rand_score

    from rvagene import cluster_latent

    err = ((model.reconstruct(X_held) - X_held) ** 2).mean(1) / X_held.var(1)
    Z = model.transform(X_all)
    out = {"heldout_err": float(err.mean())}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty mini-batch clusters
        for how in ("kmeans", "minibatch") if original else ("kmeans",):
            labels = cluster_latent(Z, len(np.unique(y)), method=how, random_state=0).labels_
            out[f"ari_{how}"] = float(adjusted_rand_score(y, labels))
    return out


def worker_fit(task: dict) -> dict:
    """One fit on a 100/20 split; with ``trace``, score it every ``trace`` steps on the way."""
    from rvagene import LambdaCallback, RVAgene

    X_train, X_held, X_all, y = _split(Path(task["data"]))
    original = task.get("original", False)
    model = RVAgene(**task["params"], random_state=task["seed"], device=task["device"])
    trace, spent = [], [0.0, 0.0]  # evaluation's (CPU, wall) seconds, excluded from the fit

    def on_check(state):
        if state.step - (trace[-1]["step"] if trace else -math.inf) < task["trace"]:
            return
        c0, w0 = time.process_time(), time.perf_counter()
        row = {
            "step": state.step,
            "cpu_s": c0 - t0[0] - spent[0],
            "wall_s": w0 - t0[1] - spent[1],
            "check": state.check,
        }
        row.update(_quality(model, X_held, X_all, y, original=False))
        trace.append(row)
        state.module.train()
        spent[0] += time.process_time() - c0
        spent[1] += time.perf_counter() - w0

    if task.get("trace"):
        model.set_params(callbacks=[LambdaCallback(on_check=on_check)])
    t0 = (time.process_time(), time.perf_counter())
    model.fit(X_train)
    row = {
        "cpu_s": time.process_time() - t0[0] - spent[0],
        "wall_s": time.perf_counter() - t0[1] - spent[1],
        "steps": model.n_steps_,
        "epochs": model.n_iter_,
        "best_step": model.best_step_,
        "stopped_by": model.stopped_by_,
        "n_train": len(X_train) - round(model.validation_fraction * len(X_train))
        if model.early_stopping
        else len(X_train),
        "batch_size": model.batch_size,
        **_quality(model, X_held, X_all, y, original),
    }
    if trace:
        row["trace"] = trace
        row["val_loss"] = model.history_.get("val_loss", model.history_["loss"])
    return row


def worker_step(task: dict) -> dict:
    """CPU ms per training step of the default network (median and min over ``steps``)."""
    import torch

    from rvagene.network import RVAE, RVAEConfig, rvae_loss

    block = "LSTM" if task["gru"] == "lstm" else "GRU"
    torch.manual_seed(0)
    module = RVAE(RVAEConfig(hidden_size=64, latent_length=8, block=block)).to(task["device"])
    if task["gru"] == "torch":  # the same network on torch's own nn.GRU
        for part in (module.encoder, module.decoder):
            part.rnn = torch.nn.GRU(part.rnn.input_size, 64, batch_first=True)
        module.to(task["device"])
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    criterion = torch.nn.MSELoss(reduction="none")
    x = torch.randn(task["batch_size"], 100, 1, device=task["device"]).cumsum(1) / 10
    cpu, wall = [], []
    for i in range(5 + task["steps"]):
        c, w = time.process_time(), time.perf_counter()
        x_hat, mu, logvar = module(x)
        loss = rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight=0.1).loss
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(module.parameters(), 5.0)
        optimizer.step()
        if task["device"].startswith("cuda"):
            torch.cuda.synchronize()
        if i >= 5:
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
    return {
        "cpu_ms": 1e3 * statistics.median(cpu),
        "cpu_ms_min": 1e3 * min(cpu),
        "wall_ms": 1e3 * statistics.median(wall),
        "wall_ms_min": 1e3 * min(wall),
    }


def worker_scale(task: dict) -> dict:
    """A fit of simulated genes: CPU/wall seconds, steps, ARI, peak RSS (``max_steps`` caps)."""
    import torch
    from sklearn.metrics import adjusted_rand_score

    from rvagene import Callback, RVAgene, cluster_latent, simulate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        X, y = simulate(n_clusters=10, genes_per_cluster=task["n_genes"] // 10, random_state=0)

    class Steps(Callback):  # CPU time of the steps after the first 20
        marks: list = []

        def on_step(self, state):
            if state.step in (20, state.config.max_steps):
                self.marks.append((state.step, time.process_time(), time.perf_counter()))

    steps = Steps()
    model = RVAgene(**task["params"], random_state=0, device=task["device"], callbacks=[steps])
    c0, w0 = time.process_time(), time.perf_counter()
    model.fit(X)
    row = {
        "cpu_s": time.process_time() - c0,
        "wall_s": time.perf_counter() - w0,
        "steps": model.n_steps_,
        "epochs": model.n_iter_,
        "stopped_by": model.stopped_by_,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if len(steps.marks) == 2:
        (s0, c0, w0), (s1, c1, w1) = steps.marks
        row["gene_epochs_per_s"] = (s1 - s0) * model.batch_size / (w1 - w0)
        row["step_cpu_ms"] = 1e3 * (c1 - c0) / (s1 - s0)
    if task.get("ari"):
        labels = cluster_latent(model.transform(X), 10, random_state=0).labels_
        row["ari_kmeans"] = float(adjusted_rand_score(y, labels))
    if task["device"].startswith("cuda"):
        row["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def worker_matmul(task: dict) -> dict:
    import torch

    a, b = (torch.randn(2048, 2048, device=task["device"]) for _ in range(2))
    times = []
    for i in range(13):
        t = time.perf_counter()
        torch.mm(a, b)
        if task["device"].startswith("cuda"):
            torch.cuda.synchronize()
        if i >= 3:
            times.append(time.perf_counter() - t)
    return {"gflops": 2 * 2048**3 / statistics.median(times) / 1e9}


WORKERS = {"fit": worker_fit, "step": worker_step, "scale": worker_scale, "matmul": worker_matmul}


# =========================================================================== orchestration
class Bench:
    """Runs workers in subprocesses; collects rows and printed text per section."""

    def __init__(self, args):
        self.device, self.timeout, self.tag = args.device, args.timeout, args.tag
        self.rows, self.text = [], []
        self.n_runs = self.n_failed = 0  # over all sections: main's exit status

    def say(self, line: str = "") -> None:
        print(line, flush=True)
        self.text.append(line)

    def run(self, name: str, task: dict, threads: int = 1, env: dict | None = None, **extra):
        task = {**task, "device": self.device}
        env = {
            **os.environ,
            "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads),
            "PYTHONPATH": str(ROOT),
            **(env or {}),
        }
        load = round(os.getloadavg()[0], 2)
        row = {"name": name, **extra, "load1": load}
        print(f"  [{time.strftime('%H:%M:%S')} load {load:.2f}] {name} ...", flush=True)
        try:
            done = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(task)],
                env=env,
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=self.timeout,
                check=False,
            )
            lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
            if lines:
                row.update(json.loads(lines[-1][7:]))
            else:
                row["error"] = (done.stderr.strip().splitlines() or ["no result"])[-1][:300]
        except subprocess.TimeoutExpired:
            row["error"] = f"timed out after {self.timeout:.0f} s"
        self.n_runs += 1
        if "error" in row:
            self.n_failed += 1
            print(f"    ERROR: {row['error']}", flush=True)
        else:
            keys = ("cpu_s", "wall_s", "steps", "heldout_err", "ari_kmeans", "cpu_ms")
            print("    " + ", ".join(f"{k} {row[k]:.4g}" for k in keys if k in row), flush=True)
        self.rows.append(row)
        return row

    def save(self, section: str, columns: list[str]) -> None:
        """Write this section's rows and text, then start the next section afresh."""
        stem = RESULTS / (f"speed_{section}" + (f"_{self.tag}" if self.tag else ""))
        info = provenance()
        write_csv(stem.with_suffix(".csv"), self.rows, columns, info)
        stem.with_suffix(".log").write_text(
            "".join(f"# {k}: {v}\n" for k, v in info.items()) + "\n".join(self.text) + "\n"
        )
        self.rows, self.text = [], []


def med(rows, key):
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    return statistics.median(values) if values else math.nan


# =========================================================================== sections
def section_gru(bench: Bench, batches, steps: int, baseline: str | None, repeats=2) -> None:
    bench.say(
        "## Training step of the default network (hidden 64, latent 8, 100 points), "
        "1 thread: CPU ms per step, median over steps (min in brackets)"
    )
    sides = {
        "C loops": ("rvagene", {}),
        "Python loops": ("rvagene", {"RVAGENE_NO_KERNEL": "1"}),
        "torch nn.GRU": ("torch", {}),
        "LSTM (oneDNN)": ("lstm", {}),
    }
    if bench.device != "cpu":
        sides = {"GRU": ("rvagene", {}), "LSTM": ("lstm", {})}
    tmp = None
    if baseline:
        tmp = tempfile.TemporaryDirectory()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", baseline, "rvagene"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
        # another revision's rvagene first on the path
        sides[f"GRU at {baseline}"] = ("rvagene", {"PYTHONPATH": f"{tmp.name}{os.pathsep}{ROOT}"})
    table = []
    for batch in batches:
        got = {side: [] for side in sides}
        for rep in range(repeats):
            for side, (gru, env) in sides.items():  # alternating
                task = {"kind": "step", "gru": gru, "batch_size": batch, "steps": steps}
                got[side].append(bench.run(side, task, env=env, batch_size=batch, repeat=rep))
        table.append(
            [batch]
            + [f"{med(got[s], 'cpu_ms'):.1f} ({med(got[s], 'cpu_ms_min'):.1f})" for s in sides]
        )
        if baseline:
            base, new = med(got[f"GRU at {baseline}"], "cpu_ms"), med(got["C loops"], "cpu_ms")
            table[-1].append(f"{base / new:.2f}x")
    heads = ["batch", *sides] + (["speed-up vs baseline"] if baseline else [])
    bench.say(markdown_table(table, heads))
    bench.save(
        "gru",
        [
            "name",
            "batch_size",
            "repeat",
            "cpu_ms",
            "cpu_ms_min",
            "wall_ms",
            "wall_ms_min",
            "load1",
            "error",
        ],
    )
    if tmp:
        tmp.cleanup()


def _fit_task(data: Path, params: dict, seed: int, original=False, trace=0) -> dict:
    return {
        "kind": "fit",
        "data": str(data),
        "params": params,
        "seed": seed,
        "original": original,
        "trace": trace,
    }


def _reached(row: dict, ref: dict) -> bool:
    return row.get("heldout_err", math.inf) <= ref["heldout_err"] and row["ari_kmeans"] >= ARI_GOAL


def section_ttq(
    bench: Bench, seeds, data: Path, budgets=BUDGETS, demo: bool = True, candidate=None
) -> None:
    """The original against the defaults (or the ``candidate`` parameters over them)."""
    candidate = candidate or {}
    if candidate:
        bench.say(f"'defaults' below: the defaults with {json.dumps(candidate)}")
    bench.say(
        f"## Time to the original's quality on {data.name} (100 genes train, 20 held out; "
        f"quality: held-out error <= the original's and ARI >= {ARI_GOAL})"
    )
    rows = {}
    for seed in seeds:  # the original, then the budgets; every fit its own process
        rows[seed, "original"] = bench.run(
            "original", _fit_task(data, ORIGINAL, seed, True), seed=seed, data=data.name
        )
        for budget in budgets:
            name = f"defaults, max_steps={budget}"
            rows[seed, budget] = bench.run(
                name,
                _fit_task(data, {**candidate, "max_steps": budget}, seed),
                seed=seed,
                data=data.name,
                budget=budget,
            )
    table, ratios = [], []
    for seed in seeds:
        ref = rows[seed, "original"]
        if "error" in ref:
            continue
        table.append(
            [
                seed,
                "original",
                ref["steps"],
                ref["cpu_s"],
                ref["wall_s"],
                ref["heldout_err"],
                ref["ari_kmeans"],
                ref["ari_minibatch"],
                "",
            ]
        )
        first = None
        for budget in budgets:
            r = rows[seed, budget]
            if "error" in r:
                continue
            ok = _reached(r, ref)
            first = first or (r if ok else None)
            table.append(
                [
                    seed,
                    f"defaults {budget or 'no budget'}",
                    r["steps"],
                    r["cpu_s"],
                    r["wall_s"],
                    r["heldout_err"],
                    r["ari_kmeans"],
                    "",
                    "yes" if ok else "no",
                ]
            )
        whole = rows[seed, None]
        ratios.append(
            {
                "seed": seed,
                "ttq_cpu": ref["cpu_s"] / first["cpu_s"] if first else math.nan,
                "ttq_wall": ref["wall_s"] / first["wall_s"] if first else math.nan,
                "ttq_steps": first["steps"] if first else "never",
                "whole_cpu": ref["cpu_s"] / whole["cpu_s"] if "cpu_s" in whole else math.nan,
                "whole_wall": ref["wall_s"] / whole["wall_s"] if "wall_s" in whole else math.nan,
            }
        )
    bench.say(
        markdown_table(
            table,
            [
                "seed",
                "fit",
                "steps",
                "CPU s",
                "wall s",
                "held-out err",
                "ARI K-means",
                "ARI MiniBatch",
                "quality",
            ],
        )
    )
    for r in ratios:
        bench.say(
            f"seed {r['seed']}: time to the original's quality {r['ttq_cpu']:.1f}x sooner "
            f"in CPU s ({r['ttq_wall']:.1f}x wall; defaults reached it within "
            f"{r['ttq_steps']} steps); whole fit {r['whole_cpu']:.2f}x the original's "
            f"speed in CPU s ({r['whole_wall']:.2f}x wall)"
        )
    if demo and DEMO.is_file():
        bench.say(f"\n## Whole fits on {DEMO.name} (same split, alternating)")
        table = []
        for seed in seeds:
            o = bench.run(
                "original", _fit_task(DEMO, ORIGINAL, seed, True), seed=seed, data="demosim"
            )
            d = bench.run("defaults", _fit_task(DEMO, candidate, seed), seed=seed, data="demosim")
            if "error" not in o and "error" not in d:
                table.append(
                    [
                        seed,
                        o["cpu_s"],
                        d["cpu_s"],
                        o["cpu_s"] / d["cpu_s"],
                        o["wall_s"] / d["wall_s"],
                        o["heldout_err"],
                        d["heldout_err"],
                        o["ari_kmeans"],
                        d["ari_kmeans"],
                        d["steps"],
                    ]
                )
        bench.say(
            markdown_table(
                table,
                [
                    "seed",
                    "original CPU s",
                    "defaults CPU s",
                    "ratio CPU",
                    "ratio wall",
                    "original err",
                    "defaults err",
                    "original ARI",
                    "defaults ARI",
                    "defaults steps",
                ],
            )
        )
    bench.save(
        "ttq",
        [
            "name",
            "data",
            "seed",
            "budget",
            "steps",
            "epochs",
            "best_step",
            "stopped_by",
            "cpu_s",
            "wall_s",
            "heldout_err",
            "ari_kmeans",
            "ari_minibatch",
            "load1",
            "error",
        ],
    )


def section_levers(bench: Bench, seeds, data: Path, reference: float) -> None:
    from rvagene import StoppingRule  # the fit's own rule, replayed

    bench.say(
        f"## Levers on {data.name} (100 train / 20 held out); a fit is 'at quality' "
        f"when its held-out error <= {reference:.4g} (the original's, median over "
        f"seeds) and ARI >= {ARI_GOAL}; traced every 5 steps, evaluation excluded"
    )
    rows = {}
    for seed in seeds:
        for name, params in LEVERS.items():  # alternating settings
            threads = params.get("n_threads", 1)
            rows[seed, name] = bench.run(
                name, _fit_task(data, params, seed, trace=5), threads=threads, seed=seed
            )
    table = []
    for name in LEVERS:
        got = [rows[s, name] for s in seeds if "error" not in rows[s, name]]
        hits = []
        for r in got:
            hit = [
                t
                for t in r["trace"]
                if t["heldout_err"] <= reference and t["ari_kmeans"] >= ARI_GOAL
            ]
            hits.append(hit[0] if hit else None)
            r["ttq_cpu_s"] = hit[0]["cpu_s"] if hit else math.inf
            r["ttq_step"] = hit[0]["step"] if hit else math.nan
        table.append(
            [
                name,
                med(got, "steps"),
                med(got, "cpu_s"),
                med(got, "cpu_s") / max(med(got, "steps"), 1) * 1e3,
                med(got, "heldout_err"),
                min((r["ari_kmeans"] for r in got), default=math.nan),
                med(got, "ttq_step"),
                med(got, "ttq_cpu_s"),
                ", ".join(r["stopped_by"] for r in got),
            ]
        )
    bench.say(
        markdown_table(
            table,
            [
                "setting",
                "steps",
                "CPU s",
                "CPU ms/step",
                "held-out err",
                "min ARI",
                "steps to quality",
                "CPU s to quality",
                "stopped by",
            ],
        )
    )
    bench.say(
        "\nStopping rule replayed on each fit's held-out loss (StoppingRule.replay: exact for "
        "the stop; the learning-rate decay is the fitted one's). Steps, CPU s, and the kept "
        "(best) check's held-out error and ARI, medians (min ARI) over seeds:"
    )
    table = []
    for name in LEVERS:
        for min_steps, patience_steps, tol in REPLAYS:
            stops = []
            for seed in seeds:
                r = rows[seed, name]
                if "error" in r:
                    continue
                rule = StoppingRule(
                    r["n_train"],
                    r["batch_size"],
                    10,
                    tol,
                    min_steps=min_steps,
                    patience_steps=patience_steps,
                )
                checks = rule.replay(r["val_loss"])
                best = int(np.argmin(r["val_loss"][:checks])) + 1
                kept = [t for t in r["trace"] if t["check"] <= best] or r["trace"][:1]
                spent = [t for t in r["trace"] if t["check"] <= checks] or r["trace"][:1]
                stops.append(
                    (
                        spent[-1]["step"],
                        spent[-1]["cpu_s"],
                        kept[-1]["heldout_err"],
                        kept[-1]["ari_kmeans"],
                    )
                )
            if stops:
                med_ = [statistics.median(s[i] for s in stops) for i in range(3)]
                table.append(
                    [name, min_steps, patience_steps, tol, *med_, min(s[3] for s in stops)]
                )
    bench.say(
        markdown_table(
            table,
            [
                "setting",
                "MIN_STEPS",
                "PATIENCE_STEPS",
                "tol",
                "stop step",
                "CPU s",
                "held-out err (kept)",
                "min ARI (kept)",
            ],
        )
    )
    for r in bench.rows:
        r.pop("trace", None)
        r.pop("val_loss", None)
    bench.save(
        "levers",
        [
            "name",
            "seed",
            "batch_size",
            "steps",
            "epochs",
            "best_step",
            "stopped_by",
            "cpu_s",
            "wall_s",
            "heldout_err",
            "ari_kmeans",
            "ttq_step",
            "ttq_cpu_s",
            "load1",
            "error",
        ],
    )


def section_scale(bench: Bench, sizes) -> None:
    bench.say("## Throughput and peak memory (1 thread; 60 steps, the first 20 not timed)")
    table = []
    for n in sizes:
        for batch in (32, 512):
            params = {"batch_size": batch, "max_steps": 60, "early_stopping": False}
            r = bench.run(
                f"{n} genes, batch {batch}",
                {"kind": "scale", "n_genes": n, "params": params},
                n_genes=n,
                batch_size=batch,
            )
            table.append(
                [
                    n,
                    batch,
                    r.get("gene_epochs_per_s"),
                    r.get("step_cpu_ms"),
                    r.get("peak_rss_mb"),
                    r.get("load1"),
                ]
            )
    bench.say(
        markdown_table(
            table, ["genes", "batch", "genes/s (wall)", "CPU ms/step", "peak RSS MB", "load1"]
        )
    )
    bench.save(
        "throughput",
        [
            "name",
            "n_genes",
            "batch_size",
            "gene_epochs_per_s",
            "step_cpu_ms",
            "peak_rss_mb",
            "cuda_peak_mb",
            "load1",
            "error",
        ],
    )


def section_fit20k(bench: Bench) -> None:
    bench.say(
        "## A default fit of 20,000 simulated genes x 100 points (10 clusters); "
        "target <= 300 s, ARI >= 0.9"
    )
    r = bench.run(
        "defaults, 20,000 genes",
        {"kind": "scale", "n_genes": 20_000, "params": {}, "ari": True},
        n_genes=20_000,
    )
    if "error" not in r:
        ok = r["wall_s"] <= 300 and r["ari_kmeans"] >= 0.9
        bench.say(
            f"{r['wall_s']:.0f} s wall ({r['cpu_s']:.0f} CPU s), {r['steps']} steps, "
            f"{r['stopped_by']}, ARI {r['ari_kmeans']:.3f}, peak RSS "
            f"{r['peak_rss_mb']:.0f} MB, load {r['load1']}: {'PASS' if ok else 'FAIL'}"
        )
    bench.save(
        "fit20k",
        [
            "name",
            "n_genes",
            "steps",
            "epochs",
            "stopped_by",
            "cpu_s",
            "wall_s",
            "ari_kmeans",
            "peak_rss_mb",
            "cuda_peak_mb",
            "load1",
            "error",
        ],
    )


def section_matmul(bench: Bench) -> None:
    bench.say("## Ceiling: 2048 x 2048 float32 torch.mm, 1 thread")
    r = bench.run("mm 2048", {"kind": "matmul"})
    step = bench.run(
        "step, batch 32", {"kind": "step", "gru": "rvagene", "batch_size": 32, "steps": 30}
    )
    if "gflops" in r and "cpu_ms" in step:
        macs = 2 * 3 * 64 * (1 + 64)  # GRU multiply-adds per gene and time point, both GRUs
        gflops = 32 * 100 * 3 * 2 * macs / (step["cpu_ms"] / 1e3) / 1e9  # forward + backward
        bench.say(
            f"mm {r['gflops']:.1f} GFLOP/s; default training step {step['cpu_ms']:.1f} "
            f"CPU ms = {gflops:.1f} GFLOP/s in the GRUs = "
            f"{100 * gflops / r['gflops']:.0f} % of the ceiling"
        )
    bench.save("matmul", ["name", "gflops", "cpu_ms", "load1", "error"])


def section_threads(bench: Bench, seeds, data: Path, repeats: int = 2) -> None:
    """One default fit at 1 and 2 torch threads, alternating, the same steps for both."""
    bench.say(
        f"## One fit at 1 and 2 torch threads ({data.name}: 100 genes trained, batch 32, "
        f"{THREAD_STEPS} steps, no early stopping so both do the same work); load before the "
        f"section {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs"
    )
    params = {"max_steps": THREAD_STEPS, "early_stopping": False}
    for seed in seeds:
        for rep in range(repeats):
            for n in (1, 2) if rep % 2 == 0 else (2, 1):
                task = _fit_task(data, {**params, "n_threads": n}, seed)
                bench.run(f"{n} threads", task, threads=n, threads_n=n, seed=seed)
    table = []
    for n in (1, 2):
        sel = [r for r in bench.rows if r.get("threads_n") == n and "error" not in r]
        table.append([n, len(sel), med(sel, "wall_s"), 1e3 * med(sel, "wall_s") / THREAD_STEPS,
                      med(sel, "cpu_s"), med(sel, "load1")])  # fmt: skip
    bench.say(markdown_table(table, ["threads", "fits", "wall s", "wall ms/step", "CPU s",
                                     "load"]))  # fmt: skip
    bench.save("threads", ["name", "threads_n", "seed", "steps", "wall_s", "cpu_s",
                           "heldout_err", "ari_kmeans", "load1", "error"])  # fmt: skip


def section_pipeline(bench: Bench, original: Path | None, seeds, names=None) -> None:
    """``train_and_gen.py`` end to end here and in the original (``_pipeline.py``)."""
    import _pipeline

    candidates = [REFERENCE_DEMOSIM, DEMO]
    if original is not None:
        candidates.insert(1, original / "data" / "demosim" / "demosim_TRAIN")
    demosim = next((c for c in candidates if c.is_file()), None)
    if demosim is None:
        bench.say(f"pipeline: no demosim file ({', '.join(map(str, candidates))}); skipped")
        return
    bench.say(
        "## The user's whole run: train_and_gen.py (read, fit, cluster, generate, write) here "
        f"and in the original ({original or 'not given: --original DIR'}), alternating; "
        f"load before the section {os.getloadavg()[0]:.2f}"
    )
    rows = _pipeline.section(bench, original, demosim, seeds, bench.timeout, names)
    bench.rows += rows
    table = []
    for data in dict.fromkeys(r["data"] for r in rows):
        for tool in ("original", "rvagene"):
            sel = [r for r in rows if r["data"] == data and r["tool"] == tool]
            if sel:
                keys = ("wall_s", "cpu_s", "peak_mb", "ari", "ari_true_k", "load1")
                table.append([data, tool, len(sel), *(med(sel, k) for k in keys)])
        pair = {r[1]: r for r in table if r[0] == data}
        if {"original", "rvagene"} <= pair.keys():
            table.append([data, "original / rvagene", "", pair["original"][3] / pair["rvagene"][3],
                          pair["original"][4] / pair["rvagene"][4], math.nan, math.nan,
                          math.nan, math.nan])  # fmt: skip
    heads = ["data", "tool", "runs", "wall s", "CPU s", "peak MB", "ARI", "ARI (K-means, "
             "true k)", "load"]  # fmt: skip
    bench.say("Medians over runs:")
    bench.say(markdown_table(table, heads))
    bench.save("pipeline", _pipeline.COLUMNS)


# =========================================================================== main
SECTIONS = ("gru", "ttq", "levers", "throughput", "fit20k", "matmul", "threads", "pipeline")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sections",
        default="gru,ttq,levers,throughput,matmul",
        help=f"comma-separated subset of {','.join(SECTIONS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="gru at batch 32, one seed of the demo whole fit, 1,000-gene "
        "throughput: a few minutes",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, ... (default cpu)")
    parser.add_argument(
        "--seeds", type=int, default=2, help="how many seeds (0, 1, ...) each section runs"
    )
    parser.add_argument("--baseline", default=None, help="git revision for the gru section")
    parser.add_argument(
        "--reference-err",
        type=float,
        default=None,
        help="levers: the original's held-out error (default: from "
        "benchmarks/results/speed_ttq.csv)",
    )
    parser.add_argument(
        "--levers",
        default=None,
        help='levers: JSON {"name": {RVAgene parameters}, ...} instead of LEVERS',
    )
    parser.add_argument(
        "--set",
        default=None,
        help="ttq: JSON {RVAgene parameters} over the defaults (a candidate default set)",
    )
    parser.add_argument("--budgets", default=None, help="ttq: comma-separated max_steps")
    parser.add_argument("--tag", default=None, help="suffix of the results files")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per fit")
    parser.add_argument(
        "--original",
        type=Path,
        default=None,
        help="pipeline: a checkout of the original RVAgene (github.com/maclean-lab/RVAgene)",
    )
    parser.add_argument(
        "--pipeline-data",
        default=None,
        help="pipeline: comma-separated subset of demosim,sim2000x20 (default both)",
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        task = json.loads(args.worker)
        import torch

        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        print("RESULT " + json.dumps(WORKERS[task["kind"]](task)), flush=True)
        return 0
    sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    bad = set(sections) - set(SECTIONS)
    if bad:
        print(
            f"speed.py: unknown section(s) {', '.join(sorted(bad))}; use {SECTIONS}",
            file=sys.stderr,
        )
        return 2
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(
                "speed.py: --device cuda was given but torch sees no CUDA device.", file=sys.stderr
            )
            return 2
    error = _pipeline_args_error(args)
    if error:
        print(f"speed.py: {error}", file=sys.stderr)
        return 2
    if args.quick:
        sections = [s for s in ("gru", "ttq", "throughput") if s in sections or s == "ttq"]
        args.tag = args.tag or "quick"
    data = SIMFINAL if SIMFINAL.is_file() else DEMO
    needed = DEMO if args.quick else data  # --quick fits the demo only
    if {"ttq", "levers"} & set(sections) and not needed.is_file():
        print(
            f"speed.py: no data for the ttq and levers sections: run `python "
            f"gen_synthetic_data.py demosim` first (it writes {DEMO.relative_to(ROOT)})"
            + ("." if args.quick else f", or set RVAGENE_REFERENCE_DIR (not found: {SIMFINAL})."),
            file=sys.stderr,
        )
        return 2
    bench = Bench(args)
    print(
        f"# rvagene speed benchmark: {', '.join(sections)}; "
        + ", ".join(f"{k} {v}" for k, v in provenance().items() if k != "command"),
        flush=True,
    )
    seeds = range(1 if args.quick else args.seeds)
    if "gru" in sections:
        batches = (32,) if args.quick else (32, 128, 512)
        steps, repeats = (15, 1) if args.quick else (40, 2)
        section_gru(bench, batches, steps, args.baseline, repeats)
    if "ttq" in sections:
        if args.quick:  # the demo, whole fits only
            section_ttq(bench, seeds, DEMO, budgets=(None,), demo=False)
        else:
            budgets = BUDGETS
            if args.budgets:
                budgets = tuple(None if b == "None" else int(b) for b in args.budgets.split(","))
            candidate = json.loads(args.set) if args.set else None
            section_ttq(bench, seeds, data, budgets=budgets, candidate=candidate)
    if "levers" in sections:
        ref = args.reference_err
        if ref is None:
            from _common import read_csv

            done = RESULTS / "speed_ttq.csv"
            rows = read_csv(done) if done.is_file() else []
            ref = med(
                [r for r in rows if r["name"] == "original" and r["data"] == data.name],
                "heldout_err",
            )
        if math.isnan(ref):
            print(
                "speed.py: levers needs the original's held-out error: run --sections ttq "
                "first or give --reference-err.",
                file=sys.stderr,
            )
            return 2
        if args.levers:
            LEVERS.clear()
            LEVERS.update(json.loads(args.levers))
        section_levers(bench, seeds, data, ref)
    if "throughput" in sections:
        section_scale(bench, (1_000,) if args.quick else (1_000, 20_000, 100_000))
    if "fit20k" in sections:
        section_fit20k(bench)
    if "matmul" in sections:
        section_matmul(bench)
    if "threads" in sections:
        section_threads(bench, seeds, data)
    if "pipeline" in sections:
        names = args.pipeline_data.split(",") if args.pipeline_data else None
        section_pipeline(bench, args.original, seeds, names)
    if bench.n_runs and bench.n_failed == bench.n_runs:
        print(f"speed.py: all {bench.n_runs} runs failed (errors above).", file=sys.stderr)
        return 1
    return 0


def _pipeline_args_error(args) -> str | None:
    """What is wrong with ``--original`` / ``--pipeline-data``, or None."""
    import _pipeline

    if args.original is not None and not (args.original / "train_and_gen.py").is_file():
        return (
            f"--original {args.original} has no train_and_gen.py; give the folder of a "
            "checkout of github.com/maclean-lab/RVAgene."
        )
    bad = set((args.pipeline_data or "").split(",")) - {"", *_pipeline.DATA}
    if bad:
        known = ",".join(_pipeline.DATA)
        return f"--pipeline-data: unknown {', '.join(sorted(bad))}; use {known}."
    return None


if __name__ == "__main__":
    raise SystemExit(main())

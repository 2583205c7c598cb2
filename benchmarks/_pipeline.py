"""The user's whole run, side by side: ``train_and_gen.py`` here and in the original tool.

``speed.py --sections pipeline --original DIR`` calls :func:`section`. Each run is one
subprocess, as a user types it, timed from outside: wall seconds, CPU seconds (user + sys of
the process and its children, ``os.wait4``) and peak memory (the largest resident set of the
process or a child, ``ru_maxrss``). Neither side gets ``OMP_NUM_THREADS``: each uses its own
default (rvagene one torch thread per fit, the original torch's default of one per core).
The two sides alternate per seed, and each row records the load average before it ran.

- **rvagene**: ``python train_and_gen.py FILE --quiet --seed S --out-dir D --figs-dir D``
  (and ``--overwrite`` when the script has it) into a fresh folder; its ARI is the
  ``cluster`` column of ``<name>_clusters.csv`` against the file's labels, in file order.
- **original**: its ``train_and_gen.py NAME`` (LSTM, 400 epochs, batch 20, MiniBatchKMeans
  with k = 6 whatever the data), in a temporary copy of ``DIR`` (the original's checkout,
  e.g. ``git --git-dir=<mirror> archive HEAD | tar -x -C /work/orig_rvagene``) with the data
  file at ``data/NAME/NAME_TRAIN``. It saves neither clusters nor latents, so one line is
  inserted into that copy before the run (never into ``DIR``): after
  ``c_zs = kmeans.predict(z_run)``, ``np.savez(<file>, z=z_run, labels=c_zs)``. Nothing
  else is changed: on torch 2.13 it runs as published (with two deprecation warnings, for
  ``size_average`` and for dropout on one layer). Its ARI is that of its own clusters
  (``ari``; k = 6 even on the 4 groups of demosim, as a user of it gets); ``ari_true_k`` is
  K-means (``n_init=10``) at the true k on the same latents. It seeds nothing, so its seeds
  are repeats.

Data: ``demosim`` (the original's file, 80 genes x 100 points, 4 groups) and 2,000 genes x
20 points from ``rvagene.simulate`` (6 groups of 333-334, ``random_state=0``), written as a
UCR file that both tools read.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ANCHOR = "c_zs = kmeans.predict(z_run)\n"
SAVE = "np.savez(__import__('os').environ['RVAGENE_BENCH_OUT'], z=z_run, labels=c_zs)\n"
COLUMNS = ["tool", "data", "seed", "wall_s", "cpu_s", "peak_mb", "ari", "ari_true_k", "k",
           "load1", "error"]  # fmt: skip


def _timed(cmd: list[str], cwd: Path, env: dict, log: Path, timeout: float) -> dict:
    """Run ``cmd``; wall and CPU seconds, peak RSS (MB) of it and its children, exit status."""
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "load1": round(load, 2),
        "rc": proc.returncode,
    }


def _env(pythonpath: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(pythonpath)
    env["MPLBACKEND"] = "Agg"
    return env


def _error(run: dict, log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines() or ["no output"]
    return f"exit {run['rc']}: {lines[-1][:300]}"


def run_rvagene(data: Path, y: np.ndarray, seed: int, work: Path, timeout: float) -> dict:
    """This project's ``train_and_gen.py`` on a UCR file, into a fresh folder under ``work``."""
    out = Path(tempfile.mkdtemp(prefix="rvagene-", dir=work))
    script = ROOT / "train_and_gen.py"
    cmd = [sys.executable, str(script), str(data), "--quiet", "--seed", str(seed),
           "--out-dir", str(out / "results"), "--figs-dir", str(out / "figs")]  # fmt: skip
    helptext = subprocess.run([sys.executable, str(script), "--help"], capture_output=True,
                              text=True, cwd=ROOT, env=_env(ROOT), check=False).stdout  # fmt: skip
    if "--overwrite" in helptext:
        cmd.append("--overwrite")
    log = out / "log.txt"
    run = _timed(cmd, out, _env(ROOT), log, timeout)
    if run["rc"] != 0:
        return {**run, "error": _error(run, log)}
    name = data.name.removesuffix("_TRAIN")
    tables = sorted((out / "results").rglob(f"{name}*clusters.csv"))
    if not tables:
        return {**run, "error": f"no {name}_clusters.csv under {out / 'results'}"}
    with open(tables[0], newline="") as fh:
        pred = [row["cluster"] for row in csv.DictReader(fh)]
    from rvagene import clustering_scores

    return {**run, "ari": clustering_scores(y, np.asarray(pred))["ari"],
            "k": len(set(pred) - {"-1", "flat"})}  # fmt: skip


def run_original(original: Path, data: Path, y: np.ndarray, work: Path, timeout: float) -> dict:
    """The original's ``train_and_gen.py`` on a UCR file, in a patched temporary copy."""
    copy = Path(tempfile.mkdtemp(prefix="original-", dir=work)) / "RVAgene"
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns(".git", "esc_data"))
    script = copy / "train_and_gen.py"
    text = script.read_text()
    if ANCHOR not in text:
        return {"error": f"{original}/train_and_gen.py has no line {ANCHOR.strip()!r} to patch"}
    script.write_text(text.replace(ANCHOR, ANCHOR + SAVE, 1))
    name = data.name.removesuffix("_TRAIN")
    (copy / "data" / name).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data, copy / "data" / name / f"{name}_TRAIN")
    (copy / "figs").mkdir(exist_ok=True)
    env = {**_env(copy), "RVAGENE_BENCH_OUT": str(copy / "bench_out.npz")}
    log = copy / "log.txt"
    run = _timed([sys.executable, "train_and_gen.py", name], copy, env, log, timeout)
    if run["rc"] != 0 or not (copy / "bench_out.npz").is_file():
        return {**run, "error": _error(run, log)}
    from _common import kmeans_scores

    from rvagene import clustering_scores

    saved = np.load(copy / "bench_out.npz")
    return {**run, "ari": clustering_scores(y, saved["labels"])["ari"],
            "ari_true_k": kmeans_scores(saved["z"], y)["ari"],
            "k": int(np.unique(saved["labels"]).size)}  # fmt: skip


DATA = ("demosim", "sim2000x20")


def pipeline_data(work: Path, demosim: Path) -> dict[str, Path]:
    """The two data files: demosim as given, and 2,000 simulated genes x 20 points."""
    from rvagene import simulate, write_ucr

    X, y = simulate(genes_per_cluster=[334, 334, 333, 333, 333, 333], sequence_length=20,
                    random_state=0)  # fmt: skip
    sim = work / "sim2000x20" / "sim2000x20_TRAIN"
    sim.parent.mkdir(parents=True, exist_ok=True)
    write_ucr(sim, X, y)
    return {"demosim": demosim, "sim2000x20": sim}


def section(
    bench, original: Path | None, demosim: Path, seeds, timeout: float, names=None
) -> list[dict]:
    """Both tools on the data sets ``names`` (default both) per seed, alternating."""
    from rvagene import read_ucr

    rows = []
    with tempfile.TemporaryDirectory(prefix="rvagene-pipeline-") as tmp:
        work = Path(tmp)
        for data_name, path in pipeline_data(work, demosim).items():
            if names and data_name not in names:
                continue
            y = read_ucr(path)[1]
            for seed in seeds:
                tools = ["rvagene"] + (["original"] if original is not None else [])
                for tool in tools if seed % 2 == 0 else tools[::-1]:
                    print(f"  [{time.strftime('%H:%M:%S')}] {tool} on {data_name}, "
                          f"seed {seed} ...", flush=True)  # fmt: skip
                    if tool == "rvagene":
                        got = run_rvagene(path, y, seed, work, timeout)
                    else:
                        got = run_original(original, path, y, work, timeout)
                    row = {"tool": tool, "data": data_name, "seed": seed, **got}
                    shown = [f"{k} {row[k]:.4g}" if isinstance(row[k], float) else
                             f"{k} {row[k]}" for k in COLUMNS[3:] if k in row]  # fmt: skip
                    print("    " + ", ".join(shown), flush=True)
                    rows.append(row)
    return rows

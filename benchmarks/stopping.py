"""When does more training stop paying? ARI and held-out loss against optimiser steps.

One fit per case and seed gives the whole curve: a callback (``rvagene.LambdaCallback``)
scores the model at fixed step counts on the way (``--steps``), and the fit's held-out loss at
every check is kept for replays of stopping rules (``rvagene.StoppingRule.replay``)::

    python benchmarks/stopping.py --out benchmarks/results/stopping_curves.csv     # ~30 CPU min
    python benchmarks/stopping.py --cases demo --seeds 0 --set max_steps=400       # one fit
    python benchmarks/stopping.py --replay benchmarks/results/stopping_curves.json

At each snapshot step: ARI of K-means at the true k on the latent means (``transform``) and
on the decoded series (``rvagene.representation.embed(..., "decoded")``), and the held-out
loss of the last check (the fit's own validation genes). Cases are fitted on all their genes,
as the quality suite does, except ``simfinal``: as in ``speed.py --sections ttq`` it is
fitted on 100 genes and ``heldout_err`` (MSE / gene variance on the 20 held-out genes, the
measure of the original's held-out error) is added. The ``final`` row of each fit scores the
weights the fit kept. ``--set NAME=JSON`` changes a parameter of every fit (``--label`` names
the rows), so a candidate rule is measured with real fits on the same cases.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this tree's rvagene
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import cases  # noqa: E402

from rvagene import LambdaCallback, RVAgene, StoppingRule  # noqa: E402
from rvagene.representation import embed  # noqa: E402

CASES = (
    "tc-impulse-4x12u",
    "tc-impulse-6x12u",
    "tc-sigmoid-5x6e",
    "tc-mixed-8x24e",
    "tc-impulse-10x18u",
    "sc-windows",
    "demo",
    "simfinal",
)
STEPS = (50, 100, 150, 200, 300, 400, 600, 800, 1200, 1600, 2000, 2500)
RULES = {  # name -> StoppingRule keywords, replayed by --replay (override with --rules JSON)
    "defaults": {},
    "patience 100 steps, tol 0.02": {"patience_steps": 100, "tol": 0.02},
    "patience 100 steps, tol 0.05": {"patience_steps": 100, "tol": 0.05},
    "patience 150 steps, tol 0.01": {"patience_steps": 150, "tol": 0.01},
    "warm-up 400, patience 100 steps, tol 0.05": {"min_steps": 400, "patience_steps": 100,
                                                  "tol": 0.05},
}  # fmt: skip
COLUMNS = ["label", "case", "seed", "step", "ari_latent", "ari_decoded", "val_loss",
           "heldout_err", "steps", "best_step", "stopped_by", "fit_s", "load1"]  # fmt: skip


def _data(name: str, folder: Path | None):
    """(X_fit, times, X_all, y, X_held) of a case; X_held only for simfinal."""
    case = cases.read_case(name, folder) if folder else cases.load_case(name)
    if case is None:
        msg = f"case {name} is not available here (see benchmarks/cases.py)."
        raise SystemExit(msg)
    if name != "simfinal":
        return case.X, case.times, case.X, case.y, None
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(case.X))
    train, held = train_test_split(idx, test_size=20, stratify=case.y, random_state=0)
    return case.X[train], None, case.X, case.y, case.X[held]


def _score(model, X_all, times, y, X_held) -> dict:
    Z = model.transform(X_all, times=times)
    row = {
        "ari_latent": _common.kmeans_scores(Z, y)["ari"],
        "ari_decoded": _common.kmeans_scores(embed(model, X_all, "decoded", times=times), y)[
            "ari"
        ],
    }
    if X_held is not None:
        err = ((model.reconstruct(X_held) - X_held) ** 2).mean(1) / X_held.var(1)
        row["heldout_err"] = float(err.mean())
    return row


def run_fit(task: dict) -> dict:
    """One fit with snapshots; returns its rows and its per-check held-out losses."""
    import torch

    torch.set_num_threads(1)
    X, times, X_all, y, X_held = _data(task["case"], task["folder"])
    model = RVAgene(random_state=task["seed"], **task["params"])
    base = {"label": task["label"], "case": task["case"], "seed": task["seed"]}
    rows, checks, todo = [], [], list(task["steps"])
    spent = [0.0]

    def on_check(state):
        monitored = state.monitored
        checks.append((state.step, monitored))
        if not todo or state.step < todo[0]:
            return
        t = time.perf_counter()
        while todo and state.step >= todo[0]:
            todo.pop(0)
        rows.append({**base, "step": state.step, "val_loss": monitored,
                     **_score(model, X_all, times, y, X_held)})  # fmt: skip
        state.module.train()
        spent[0] += time.perf_counter() - t

    model.set_params(callbacks=[LambdaCallback(on_check=on_check)])
    t0 = time.perf_counter()
    model.fit(X, times=times)
    fit_s = time.perf_counter() - t0 - spent[0]
    model.set_params(callbacks=None)
    final = {**base, "step": "final", "steps": model.n_steps_, "best_step": model.best_step_,
             "stopped_by": model.stopped_by_, "fit_s": fit_s, "load1": os.getloadavg()[0],
             **_score(model, X_all, times, y, X_held)}  # fmt: skip
    n_val = round(model.validation_fraction * len(X)) if model.early_stopping else 0
    curve = {**base, "n_train": len(X) - n_val, "batch_size": model.batch_size,
             "checks": checks}  # fmt: skip
    return {"rows": [*rows, final], "curve": curve}


# --------------------------------------------------------------------------- replay
def _at(rows: list[dict], step: int) -> dict:
    """The snapshot taken nearest to ``step``."""
    taken = [r for r in rows if r["step"] != "final"]
    return min(taken, key=lambda r: abs(float(r["step"]) - step))


def replay(curves: list[dict], rows: list[dict], rules: dict[str, dict]) -> list[dict]:
    """For each rule: where it stops and keeps on every recorded fit, and the ARI there.

    The recorded learning rate decayed as the default rule's schedule decided, so a rule with
    another patience is replayed on a curve its own schedule would have bent differently:
    the numbers show where to look, and real fits (``--set``) decide.
    """
    out = []
    for name, kwargs in rules.items():
        for curve in curves:
            steps = [s for s, _ in curve["checks"]]
            losses = [v for _, v in curve["checks"]]
            rule = StoppingRule(curve["n_train"], curve["batch_size"], **kwargs)
            n = rule.replay(losses)
            best = int(np.argmin(losses[:n]))
            key = (curve["label"], curve["case"], int(curve["seed"]))
            fit_rows = [r for r in rows if (r["label"], r["case"], int(r["seed"])) == key]
            snap = _at(fit_rows, steps[best])
            out.append({"rule": name, "case": curve["case"], "seed": curve["seed"],
                        "stop_step": steps[n - 1], "best_step": steps[best],
                        "val_loss": losses[best], "ari_latent": snap["ari_latent"],
                        "ari_decoded": snap["ari_decoded"]})  # fmt: skip
    return out


def replay_table(out: list[dict]) -> str:
    """Per rule: total steps, and the mean ARI at the snapshot nearest the kept check."""
    table = []
    for name in dict.fromkeys(r["rule"] for r in out):
        sel = [r for r in out if r["rule"] == name]
        table.append([name, int(sum(r["stop_step"] for r in sel)),
                      *(float(np.mean([r[k] for r in sel])) for k in
                        ("ari_latent", "ari_decoded"))])  # fmt: skip
    heads = ["rule", "steps, all fits", "ARI latent (nearest snapshot)", "ARI decoded"]
    return _common.markdown_table(table, heads)


# --------------------------------------------------------------------------- report
def _snapshot_at(rows: list[dict], step: int) -> dict:
    """The first snapshot at or after ``step``; the kept weights if the fit stopped before."""
    later = [r for r in rows if r["step"] != "final" and float(r["step"]) >= step]
    return later[0] if later else next(r for r in rows if r["step"] == "final")


def knee_table(rows: list[dict], steps) -> str:
    """Mean ARI (latent, decoded) over fits at each step, and the fits still training."""
    fits = sorted({(r["case"], r["seed"]) for r in rows})
    by_fit = {f: [r for r in rows if (r["case"], r["seed"]) == f] for f in fits}
    table = []
    for step in steps:
        snaps = [_snapshot_at(by_fit[f], step) for f in fits]
        running = sum(s["step"] != "final" for s in snaps)
        means = [float(np.mean([s[k] for s in snaps])) for k in ("ari_latent", "ari_decoded")]
        table.append([step, *means, f"{running} of {len(fits)}"])
    finals = [next(r for r in by_fit[f] if r["step"] == "final") for f in fits]
    table.append(["kept (final)", *(float(np.mean([s[k] for s in finals])) for k in
                                    ("ari_latent", "ari_decoded")), ""])  # fmt: skip
    return _common.markdown_table(table, ["step", "mean ARI latent", "mean ARI decoded",
                                          "fits still training"])  # fmt: skip


def compare_table(rows: list[dict]) -> str:
    """Per label and case: the kept model's ARI (mean of seeds), steps, fit seconds."""
    finals = [r for r in rows if r["step"] == "final"]
    table = []
    for label in dict.fromkeys(r["label"] for r in finals):
        mine = [r for r in finals if r["label"] == label]
        for case in [*dict.fromkeys(r["case"] for r in mine), "mean"]:
            sel = mine if case == "mean" else [r for r in mine if r["case"] == case]
            err = [r["heldout_err"] for r in sel if r.get("heldout_err") not in (None, "")]
            err = [e for e in err if isinstance(e, float) and not np.isnan(e)]
            table.append([label, case, *(float(np.mean([r[k] for r in sel])) for k in
                          ("ari_latent", "ari_decoded", "steps", "best_step", "fit_s")),
                          " / ".join(f"{e:.3f}" for e in err) or "-"])  # fmt: skip
    heads = ["rule", "case", "ARI latent", "ARI decoded", "steps", "best step", "fit s",
             "simfinal held-out err"]  # fmt: skip
    return _common.markdown_table(table, heads)


# --------------------------------------------------------------------------- main
def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", default=",".join(CASES), help="comma-separated case names")
    p.add_argument("--seeds", default="0,1", help="comma-separated seeds")
    p.add_argument(
        "--steps",
        default=",".join(map(str, STEPS)),
        help="comma-separated optimiser steps at which each fit is scored",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=JSON",
        help="an RVAgene parameter of every fit (repeatable), e.g. max_steps=400",
    )
    p.add_argument("--label", default="defaults", help="names the rows of this run")
    p.add_argument("--jobs", type=int, default=2, help="processes (one torch thread each)")
    p.add_argument("--cases-from", type=Path, default=None, help="folder of exported cases")
    p.add_argument("--out", type=Path, default=None, help="CSV of snapshots (+ .json curves)")
    p.add_argument("--replay", type=Path, default=None, help="a .json written by --out")
    p.add_argument("--rules", default=None, help='--replay: JSON {"name": {StoppingRule kw}}')
    p.add_argument("--report", type=Path, nargs="+", default=None,
                   help="CSVs written by --out: the first's knee; all rules compared")  # fmt: skip
    return p.parse_args(argv)


def _params(sets: list[str]) -> dict:
    params = {}
    for item in sets:
        name, _, value = item.partition("=")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            print(f"stopping.py: --set {item}: the value must be JSON.", file=sys.stderr)
            raise SystemExit(2) from None
    return params


def main(argv=None) -> int:
    args = _parse(argv)
    if args.replay is not None:
        data = json.loads(args.replay.read_text())
        rules = json.loads(args.rules) if args.rules else RULES
        print(replay_table(replay(data["curves"], data["rows"], rules)))
        return 0
    if args.report is not None:
        tables = [_common.read_csv(path) for path in args.report]
        steps = [int(x) for x in args.steps.split(",")]
        print(knee_table(tables[0], steps) + "\n\n" + compare_table(sum(tables, [])))
        return 0
    params = _params(args.set)
    tasks = [{"case": c, "seed": int(s), "params": params, "label": args.label,
              "steps": [int(x) for x in args.steps.split(",")], "folder": args.cases_from}
             for s in args.seeds.split(",") for c in args.cases.split(",")]  # fmt: skip
    info = _common.provenance()
    rows, curves = [], []
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(run_fit, t) for t in tasks]
        for fut in as_completed(futures):
            res = fut.result()
            rows += res["rows"]
            curves.append(res["curve"])
            f = res["rows"][-1]
            print(f"{f['case']} seed {f['seed']}: {f['steps']} steps (best {f['best_step']}), "
                  f"ARI {f['ari_latent']:.3f} / {f['ari_decoded']:.3f}, {f['fit_s']:.0f} s",
                  flush=True)  # fmt: skip
            if args.out is not None:
                _common.write_csv(args.out, rows, COLUMNS, info)
                _common.write_json(args.out.with_suffix(".json"),
                                   {"rows": rows, "curves": curves}, info)  # fmt: skip
    print(knee_table(rows, [int(x) for x in args.steps.split(",")]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

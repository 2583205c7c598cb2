import importlib.util
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

sc = pytest.importorskip("scanpy")
ad = pytest.importorskip("anndata")

from rvagene import GeneClustering  # noqa: E402
from rvagene.data import read_table, read_ucr  # noqa: E402
from rvagene.simulate import simulate_single_cell  # noqa: E402
from rvagene.single_cell import (  # noqa: E402
    KLEIN_ESC_FILES,
    bin_average,
    compute_pseudotime,
    load_klein_esc,
    prepare,
    select_genes,
    updown_labels,
    window_average,
)

ROOT = Path(__file__).resolve().parents[1]


def _spearman(a, b):
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return np.corrcoef(ra, rb)[0, 1]


@pytest.fixture
def tiny_adata():
    """10 cells x 2 genes in shuffled pseudotime order: gene a = rank, gene b = 10 * rank."""
    order = np.array([3, 7, 0, 9, 5, 1, 8, 2, 6, 4])  # rank of each cell
    X = np.column_stack([order, 10.0 * order])
    adata = ad.AnnData(X)
    adata.var_names = ["a", "b"]
    adata.obs_names = [f"c{i}" for i in range(10)]
    adata.obs["pt"] = order / 10.0
    return adata


@pytest.fixture(scope="module")
def sim():
    return simulate_single_cell(n_cells=300, n_genes_per_program=4, random_state=0)


@pytest.fixture(scope="module")
def sim_dpt(sim):
    """The simulated cells with diffusion pseudotime from the simulator's root cell."""
    return compute_pseudotime(sim, sim.uns["root_cell"])


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("train_and_gen", ROOT / "train_and_gen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ windows and bins


@pytest.mark.parametrize(
    ("remainder", "means", "sizes"),
    [
        ("keep", [1.5, 5.5, 8.5], [4, 4, 2]),  # the original's last, shorter window
        ("drop", [1.5, 5.5], [4, 4]),
        ("merge", [1.5, 6.5], [4, 6]),
    ],
)
def test_window_means_are_exact(tiny_adata, remainder, means, sizes):
    s = prepare(tiny_adata, pseudotime="pt", window_length=4, remainder=remainder)
    np.testing.assert_allclose(s.X, [means, 10 * np.array(means)])
    np.testing.assert_array_equal(s.window_sizes, sizes)
    np.testing.assert_allclose(s.window_pseudotime, np.array(means) / 10)
    assert s.genes == ["a", "b"]
    assert s.cell_names[:3] == ["c2", "c5", "c7"]  # ranks 0, 1, 2
    np.testing.assert_array_equal(np.diff(s.cell_pseudotime) >= 0, True)
    expected_window = {
        "keep": [0, 0, 0, 0, 1, 1, 1, 1, 2, 2],
        "drop": [0, 0, 0, 0, 1, 1, 1, 1, -1, -1],
        "merge": [0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
    }
    np.testing.assert_array_equal(s.cell_window, expected_window[remainder])


def test_window_average_exact_division_and_errors():
    X, pt = np.arange(8.0)[:, None], np.arange(8)
    for remainder in ("keep", "drop", "merge"):
        assert window_average(X, pt, 4, remainder).X.tolist() == [[1.5, 5.5]]
    with pytest.raises(ValueError, match="between 1 and the number of cells"):
        window_average(X, pt, 9)
    with pytest.raises(ValueError, match="remainder"):
        window_average(X, pt, 2, "pad")
    with pytest.raises(ValueError, match="infinite or NaN"):
        window_average(X, [0, 1, 2, 3, 4, 5, 6, np.inf], 2)


def test_equal_frequency_bins(tiny_adata):
    s = prepare(tiny_adata, pseudotime="pt", n_bins=3)
    np.testing.assert_array_equal(s.window_sizes, [4, 3, 3])
    np.testing.assert_allclose(s.X[0], [1.5, 5.0, 8.0])
    w = bin_average(np.ones((7, 1)), np.arange(7), n_bins=7)
    assert w.n_cells.tolist() == [1] * 7
    with pytest.raises(ValueError, match="more than the number of cells"):
        bin_average(np.ones((3, 1)), np.arange(3), n_bins=4)


def test_scaling_options(tiny_adata):
    z = prepare(tiny_adata, pseudotime="pt", window_length=2, scale="zscore").X
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=1), 1)
    m = prepare(tiny_adata, pseudotime="pt", window_length=2, scale="minmax").X
    np.testing.assert_allclose(m.min(axis=1), -1)
    np.testing.assert_allclose(m.max(axis=1), 1)
    with pytest.raises(ValueError, match="scale"):
        prepare(tiny_adata, pseudotime="pt", scale="log")


def test_drops_infinite_and_missing_pseudotime_with_a_warning(tiny_adata):
    tiny_adata.obs.loc["c0", "pt"] = np.inf  # not connected to the root
    tiny_adata.obs.loc["c1", "pt"] = np.nan
    with pytest.warns(UserWarning, match=r"Dropped 2 of 10 cells .* infinite or missing"):
        s = prepare(tiny_adata, pseudotime="pt", window_length=4)
    assert s.n_cells_dropped == 2
    assert "c0" not in s.cell_names
    assert "c1" not in s.cell_names
    assert s.window_sizes.tolist() == [4, 4]


def test_missing_obs_key_and_conflicting_options(tiny_adata):
    with pytest.raises(ValueError, match="obs has no column 'dpt_pseudotime'.*pt"):
        prepare(tiny_adata, pseudotime="dpt_pseudotime")
    with pytest.raises(ValueError, match="either pseudotime .* or root_cell"):
        prepare(tiny_adata, pseudotime="pt", root_cell=0)
    with pytest.raises(ValueError, match="either window_length .* or n_bins"):
        prepare(tiny_adata, pseudotime="pt", window_length=4, n_bins=3)
    with pytest.raises(ValueError, match="either genes or n_top_genes"):
        prepare(tiny_adata, pseudotime="pt", genes=["a"], n_top_genes=1)
    with pytest.raises(
        ValueError,
        match=r"10 cells with a pseudotime make fewer than 2 windows of 10 cells; .* at most 5",
    ):
        prepare(tiny_adata, pseudotime="pt", window_length=10)  # before: a 1-point series
    with pytest.raises(ValueError, match="remainder='drop' applies to windows"):
        prepare(tiny_adata, pseudotime="pt", n_bins=3, remainder="drop")
    with pytest.raises(ValueError, match="No pseudotime given") as err:
        prepare(tiny_adata)
    assert "--" not in str(err.value)  # a library message names no command-line flag
    with pytest.raises(TypeError):
        prepare(tiny_adata, None, None, "pt")  # options are keyword-only
    tiny_adata.obs["latent_time"] = tiny_adata.obs["pt"]  # a common key is found by itself
    assert prepare(tiny_adata, window_length=5).pseudotime_key == "latent_time"
    tiny_adata.obs["dpt_pseudotime"] = tiny_adata.obs["pt"]
    with pytest.raises(ValueError, match="several"):
        prepare(tiny_adata)


def test_default_windows_are_40_cells(sim):
    s = prepare(sim, pseudotime="true_time")
    assert s.window_sizes[:-1].tolist() == [40] * 7  # 300 cells: 7 windows of 40 and one of 20
    assert s.window_sizes[-1] == 20


def test_matrix_input_with_gene_names_and_pseudotime():
    X = np.array([[0.0, 5], [1, 4], [2, 3], [3, 2]])
    s = prepare(X, gene_names=["up", "down"], pseudotime=[0.1, 0.2, 0.3, 0.4], window_length=2)
    assert s.genes == ["up", "down"]
    np.testing.assert_allclose(s.X, [[0.5, 2.5], [4.5, 2.5]])
    assert s.labels.tolist() == [1, 2]
    with pytest.raises(ValueError, match="2 genes .* 3 gene names"):
        prepare(X, gene_names=["a", "b", "c"], pseudotime=[0, 1, 2, 3])


# ---------------------------------------------------------------------------- genes


def test_gene_list_keeps_order_and_warns_about_missing(tiny_adata):
    with pytest.warns(UserWarning, match=r"2 of 4 requested genes .*: x, y"):
        kept = select_genes(tiny_adata, genes=["b", "x", "a", "y", "b"])
    assert kept == ["b", "a"]
    with pytest.raises(ValueError, match="None of the 2 requested genes"):
        select_genes(tiny_adata, genes=["x", "y"])
    s = prepare(tiny_adata, genes=["b"], pseudotime="pt", window_length=5)
    assert s.genes == ["b"]
    with pytest.warns(UserWarning, match="1 of 2 requested genes") as said:
        prepare(tiny_adata, genes=["b", "x"], pseudotime="pt", window_length=5)
    assert said[0].filename == __file__  # the user's line, not single_cell.py's
    assert s.X.shape == (1, 2)


def test_highly_variable_genes_on_counts():
    rng = np.random.default_rng(0)
    flat = rng.poisson(rng.uniform(1, 40, size=200), size=(300, 200))  # Poisson noise only
    variable = rng.poisson(rng.choice([1, 60], size=(300, 5)))  # on in some cells, off in others
    adata = ad.AnnData(np.hstack([variable, flat]).astype(np.float32))
    adata.var_names = [f"var{i}" for i in range(5)] + [f"flat{i}" for i in range(200)]
    assert select_genes(adata, n_top_genes=5) == [f"var{i}" for i in range(5)]
    assert adata.X.max() > 50  # the input is not normalised in place
    with pytest.warns(UserWarning, match="n_top_genes=1000 is not below the 205 genes") as said:
        assert len(select_genes(adata, n_top_genes=1000)) == 205
    assert said[0].filename == __file__
    with pytest.raises(ValueError, match="selects no gene"):  # before: "None of the 0 ..."
        select_genes(adata, np.zeros(205, dtype=bool))
    with pytest.raises(ValueError, match="The list of requested genes is empty"):
        select_genes(adata, [])


# ------------------------------------------------------------------------------ DPT


def test_dpt_from_root_index_and_name(sim, sim_dpt):
    root = sim.uns["root_cell"]
    assert sim_dpt[root] == 0
    assert _spearman(sim_dpt, sim.obs["true_time"]) > 0.8
    # The same root by name or by text: 0 at that cell and the same pseudotime, up to the
    # run-to-run jitter of scanpy's neighbours and eigensolver (full runs on a loaded
    # machine differed by up to 0.005 between two calls, so the values are not compared
    # exactly; a wrong root would put the 0 elsewhere).
    for given in (sim.obs_names[root], str(root)):  # str: as --root-cell gives it
        dpt = compute_pseudotime(sim, given)
        assert dpt[root] == 0
        np.testing.assert_allclose(dpt, sim_dpt, atol=0.02)
    assert "dpt_pseudotime" not in sim.obs  # the input is not modified
    with pytest.raises(ValueError, match="not an obs_name"):
        compute_pseudotime(sim, "no_such_cell")
    with pytest.raises(ValueError, match="out of range"):
        compute_pseudotime(sim, sim.n_obs)
    # before: "Root cell '-1' is not an obs_name ... Give a name or an integer position."
    with pytest.raises(ValueError, match=r"position -1 is out of range for 300 cells \(0 to"):
        compute_pseudotime(sim, "-1")  # as --root-cell -1 gives it


def test_without_a_pseudotime_the_stored_root_is_used(sim):
    """scanpy's uns["iroot"] (set by the simulator): DPT from it, in prepare and the script."""
    from types import SimpleNamespace

    assert sim.uns["iroot"] == sim.uns["root_cell"]
    s = prepare(sim, window_length=20)
    t = prepare(sim, root_cell=int(sim.uns["root_cell"]), window_length=20)
    root = sim.obs_names[int(sim.uns["root_cell"])]
    assert s.pseudotime_key == f"DPT computed from root cell {root!r} (not stored in obs)"
    np.testing.assert_allclose(s.cell_pseudotime, t.cell_pseudotime)
    args = SimpleNamespace(pseudotime_key=None, root_cell=None, window_length=None, n_bins=None)
    cells = importlib.import_module("rvagene._train_and_gen")
    cells._check_cell_options(args, sim)  # no error: the root is known
    bare = sim.copy()
    del bare.uns["iroot"]
    with pytest.raises(ValueError, match=r"--root-cell CELL .*uns\['iroot'\] is not set"):
        cells._check_cell_options(args, bare)


def test_prepare_with_root_cell_orders_windows_by_true_time(sim, sim_dpt):
    s = prepare(sim, root_cell=int(sim.uns["root_cell"]), window_length=20)
    assert s.X.shape == (20, 15)
    assert s.pseudotime_key.startswith("DPT computed from root cell")
    np.testing.assert_allclose(np.sort(s.cell_pseudotime), np.sort(sim_dpt), atol=0.02)
    true_time = sim.obs["true_time"].reindex(s.cell_names).to_numpy()
    window_time = np.bincount(s.cell_window, weights=true_time) / s.window_sizes
    assert _spearman(s.window_pseudotime, window_time) > 0.9
    up = (sim.var["program"] == "up").to_numpy()
    down = (sim.var["program"] == "down").to_numpy()
    assert (s.labels[up] == 1).all()
    assert (s.labels[down] == 2).all()


# ------------------------------------------------------------------ labels and files


def test_updown_labels():
    labels, r = updown_labels([[1, 2, 3, 4], [4, 3, 3, 1], [2, 2, 2, 2], [0, 3, 3, 0]])
    assert labels.tolist() == [1, 2, 2, 2]  # constant -> NaN -> 2, as the original's r > 0
    np.testing.assert_allclose(r[:2], [1.0, np.corrcoef([4, 3, 3, 1], [0, 1, 2, 3])[0, 1]])
    assert np.isnan(r[2])
    assert r[3] == 0


def test_series_files_round_trip(tiny_adata, tmp_path):
    s = prepare(tiny_adata, pseudotime="pt", window_length=3)
    s.write_ucr(tmp_path / "esc" / "esc_TRAIN")
    X, labels = read_ucr(tmp_path / "esc" / "esc_TRAIN")
    np.testing.assert_array_equal(X, s.X)
    np.testing.assert_array_equal(labels, s.labels)
    s.write_table(tmp_path / "series.csv")
    table = read_table(tmp_path / "series.csv")
    assert table.genes == ["a", "b"]
    np.testing.assert_array_equal(table.X, s.X)
    np.testing.assert_allclose(table.times, s.window_pseudotime, rtol=1e-6)  # 6 digits
    np.testing.assert_array_equal(table.labels, [1, 1])
    t = s.to_table()
    assert t.genes == s.genes
    assert t.X is s.X
    assert "2 genes x 4 windows" in repr(s)


def _fake_klein(directory, genes=("Pou5f1", "Krt18", "Actb")):
    directory.mkdir(parents=True, exist_ok=True)
    for k, (_day, name) in enumerate(KLEIN_ESC_FILES.items()):
        counts = [[str(10 * k + j + i) for j in range(k + 2)] for i in range(len(genes))]
        rows = [",".join([g, *c]) for g, c in zip(genes, counts, strict=True)]
        (directory / name).write_text("\n".join(rows) + "\n")
    return directory


def test_klein_esc_loader_on_fake_files(tmp_path):
    directory = _fake_klein(tmp_path / "gse")
    adata = load_klein_esc(directory)
    assert adata.shape == (2 + 3 + 4 + 5, 3)
    assert adata.obs["day"].tolist() == [0] * 2 + [2] * 3 + [4] * 4 + [7] * 5
    assert list(adata.obs_names[:3]) == ["d0_0", "d0_1", "d2_0"]
    np.testing.assert_array_equal(adata[:, "Krt18"].X.ravel()[:3], [1, 2, 11])
    (tmp_path / "de.txt").write_text("Krt18\nPou5f1\nNanog\n")
    with pytest.warns(UserWarning, match="1 of 3 requested genes"):
        de = load_klein_esc(directory, genes_file=tmp_path / "de.txt")
    assert list(de.var_names) == ["Krt18", "Pou5f1"]
    (directory / KLEIN_ESC_FILES[4]).unlink()
    with pytest.raises(FileNotFoundError, match=r"GSM1599498_ES_d4_LIFminus\.csv.*GSE65525"):
        load_klein_esc(directory)


# --------------------------------------------------------------------- the script


def _script_args(tmp_path, *extra):
    tiny = "--n-epochs 2 --hidden-size 8 --latent-length 2 --n-clusters 2 --n-generate 2"
    outputs = ["--figs-dir", str(tmp_path / "figs"), "--out-dir", str(tmp_path / "out")]
    return [*extra, *tiny.split(), "--quiet", *outputs]


def test_train_and_gen_on_h5ad(script, sim, sim_dpt, tmp_path):
    adata = sim.copy()
    adata.obs["dpt_pseudotime"] = sim_dpt
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    argv = [str(path), "--pseudotime-key", "dpt_pseudotime", "--window-length", "30"]
    assert script.main(_script_args(tmp_path, *argv)) == 0
    rows = (tmp_path / "out" / "cells_clusters.csv").read_text().splitlines()
    # up/down (the sign of each gene's correlation with pseudotime) are not the user's
    # labels: no label column, no ARI (issue 20)
    assert rows[0] == "gene,cluster,confidence,p_cluster_0,p_cluster_1,reconstruction_r2"
    assert [r.split(",")[0] for r in rows[1:]] == list(sim.var_names)
    assert (tmp_path / "figs" / "z_run_cells.png").is_file()

    (tmp_path / "genes.txt").write_text("\n".join(sim.var_names[:8]) + "\n")
    argv = [
        str(path),
        "--root-cell",
        "0",
        "--n-bins",
        "10",
        "--genes",
        str(tmp_path / "genes.txt"),
    ]
    assert script.main(_script_args(tmp_path / "dpt", *argv)) == 0
    rows = (tmp_path / "dpt" / "out" / "cells_clusters.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == list(sim.var_names[:8])


def test_train_and_gen_h5ad_bad_key_is_one_line(script, sim, tmp_path, capsys):
    path = tmp_path / "cells.h5ad"
    sim.write_h5ad(path)
    argv = [str(path), "--pseudotime-key", "velocity_pseudotime"]
    assert script.main(_script_args(tmp_path, *argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "obs has no column 'velocity_pseudotime'" in err[0]


def test_train_and_gen_h5ad_repeated_gene_names_refused_before_the_fit(
    script, sim, tmp_path, capsys, monkeypatch
):
    """The results go back by gene name: repeated var_names stop the run before any fit."""
    adata = sim.copy()
    adata.var_names = [adata.var_names[0], *adata.var_names[:-1]]
    path = tmp_path / "cells.h5ad"
    adata.write_h5ad(path)
    fitted = []
    monkeypatch.setattr(GeneClustering, "fit", lambda self, *a, **k: fitted.append(1))
    assert script.main(_script_args(tmp_path, str(path))) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "adata.var_names repeat 1 name(s)" in err[0]
    assert fitted == []


# ---------------------------------------------------------------------- simulator


def test_simulator_shapes_seeds_and_programs():
    state = np.random.get_state()  # noqa: NPY002
    a = simulate_single_cell(n_cells=50, n_genes_per_program=3, random_state=1)
    b = simulate_single_cell(n_cells=50, n_genes_per_program=3, random_state=1)
    c = simulate_single_cell(n_cells=50, n_genes_per_program=3, random_state=2)
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(state[1], after[1])  # global RNG untouched
    assert a.shape == (50, 15)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    assert (a.X >= 0).all()
    assert (a.X == np.round(a.X)).all()
    assert (a.X == 0).any()
    programs = ["up", "down", "transient_early", "transient_late", "flat"]
    assert list(a.var["program"].cat.categories) == programs
    assert a.uns["root_cell"] == int(np.argmin(a.obs["true_time"]))
    assert a.obs_names[0] == "cell_0000"
    assert a.var_names[0] == "gene_000"
    assert a.obs["true_time"].between(0, 1).all()

    big = simulate_single_cell(n_cells=600, programs=("up", "down"), dropout=0, random_state=0)
    t = big.obs["true_time"].to_numpy()
    early, late = t < 0.2, t > 0.8
    up = (big.var["program"] == "up").to_numpy()
    assert (big.X[late][:, up].mean(0) > 3 * big.X[early][:, up].mean(0)).all()
    assert (big.X[early][:, ~up].mean(0) > 3 * big.X[late][:, ~up].mean(0)).all()

    with pytest.raises(ValueError, match="programs"):
        simulate_single_cell(programs=("up", "sideways"))
    with pytest.raises(ValueError, match="dropout"):
        simulate_single_cell(dropout=1.5)
    with pytest.raises(ValueError, match="dispersion"):
        simulate_single_cell(dispersion=0)


def test_a_missing_value_is_left_out_not_a_constant_gene(caplog):
    """One NaN in a gene's cells: its window mean and its correlation ignore it."""
    rng = np.random.default_rng(0)
    t = np.sort(rng.random(200))
    up = 5 * t + 0.3 * rng.standard_normal(200)
    down = -3 * t + 0.3 * rng.standard_normal(200)
    X = np.column_stack([up, down, up.copy(), down.copy()])
    X[17, 2] = np.nan  # gene "up_gap": one missing value
    X[150, 3] = np.nan  # gene "down_gap"
    adata = ad.AnnData(X)
    adata.var_names = ["up", "down", "up_gap", "down_gap"]
    adata.obs["pt"] = t
    with caplog.at_level("WARNING", logger="rvagene.single_cell"):
        s = prepare(adata, pseudotime="pt", window_length=20)
    assert s.labels.tolist() == [1, 2, 1, 2]
    assert np.isfinite(s.correlations).all()
    np.testing.assert_allclose(s.correlations[2], s.correlations[0], atol=0.02)
    assert np.isfinite(s.X).all()
    assert "constant" not in caplog.text
    # the window with the gap averages its other 19 cells
    window = s.cell_window[np.searchsorted(s.cell_pseudotime, t[17])]
    cells = np.flatnonzero(s.cell_window == window)
    others = [i for i in np.argsort(t, kind="stable")[cells] if i != 17]
    np.testing.assert_allclose(s.X[2, window], X[others, 2].mean())


def test_updown_labels_ignore_missing_windows():
    labels, r = updown_labels([[1.0, np.nan, 3.0, 4.0], [5.0, 5.0, np.nan, 5.0], [np.nan] * 4])
    assert labels.tolist() == [1, 2, 2]
    assert r[0] == pytest.approx(np.corrcoef([0, 2, 3], [1, 3, 4])[0, 1])
    assert np.isnan(r[1])  # constant over its observed windows
    assert np.isnan(r[2])


# --------------------------------------------------------------------------- a review's finds


def test_fewer_diffusion_components_than_scanpys_default(sim):
    pt = compute_pseudotime(sim, 0, n_comps=5)  # scanpy's DPT wanted 10 components
    assert pt.shape == (sim.n_obs,)
    assert pt[0] == 0.0


def test_n_top_genes_is_exact_when_genes_tie(sim):
    logged = sim.copy()
    sc.pp.normalize_total(logged)
    sc.pp.log1p(logged)
    for n in (3, 5, 10):
        kept = select_genes(logged, n_top_genes=n)
        assert len(kept) == n
        assert kept == [g for g in logged.var_names if g in kept]  # adata's order


def test_a_discrete_pseudotime_names_windows_as_steps(sim, tmp_path):
    with pytest.warns(UserWarning, match="share a mean pseudotime"):
        s = prepare(sim, pseudotime=np.repeat([0.0, 1, 2], 100), window_length=20)
    assert s.time_labels == [f"t{j}" for j in range(15)]
    assert s.to_table().times is None
    s.write_table(tmp_path / "s.csv")
    back = read_table(tmp_path / "s.csv")
    np.testing.assert_allclose(back.X, s.X, rtol=1e-6)  # not read back as replicates


def test_a_dataframe_keeps_its_cell_names_and_layers_are_checked(sim):
    import pandas as pd

    names = [f"cell{i}" for i in range(sim.n_obs)]
    df = pd.DataFrame(np.asarray(sim.X), columns=sim.var_names, index=names)
    s = prepare(df, root_cell="cell0", n_bins=5)
    assert set(s.cell_names) == set(names)
    assert s.cell_names[0] == "cell0"  # the root comes first in pseudotime
    with pytest.raises(ValueError, match=r"layer 'nolayer' is not in adata.layers \(layers: none"):
        prepare(sim, pseudotime=sim.obs["true_time"].to_numpy(), layer="nolayer")


def test_window_time_labels_are_short_and_keep_their_order():
    from rvagene.single_cell import SingleCellSeries

    series = SingleCellSeries.__new__(SingleCellSeries)
    series.window_pseudotime = np.array([0.012345678901, 0.0123457, 0.5, 0.50001])
    labels = series.time_labels
    assert labels == ["0.01234568", "0.0123457", "0.5", "0.50001"]  # 7 digits tell them apart
    series.window_pseudotime = np.array([0.10000000000000002, 0.39999999999999997, 0.75])
    assert series.time_labels == ["0.1", "0.4", "0.75"]
    assert (np.diff([float(x) for x in labels]) > 0).all()


def test_genes_as_a_boolean_mask(sim):
    """scanpy's idiom, adata.var['highly_variable']: before, 'None of the 2 requested genes'."""
    import pandas as pd

    from rvagene.single_cell import select_genes

    mask = np.zeros(sim.n_vars, dtype=bool)
    mask[[1, 4, 7]] = True
    assert select_genes(sim, genes=mask) == [sim.var_names[i] for i in (1, 4, 7)]
    assert select_genes(sim, genes=pd.Series(mask, index=sim.var_names)) == select_genes(
        sim, genes=mask
    )
    with pytest.raises(ValueError, match="one value per gene"):
        select_genes(sim, genes=mask[:3])


def test_every_gene_in_another_order_keeps_names_with_their_series(tiny_adata):
    """All genes, listed in another order: before, the rows kept adata's order under the
    requested names (gene a's series was named b), in prepare, cluster_anndata and --genes."""
    s = prepare(tiny_adata, genes=["b", "a"], pseudotime="pt", window_length=5)
    assert s.genes == ["b", "a"]
    np.testing.assert_allclose(s.X, [[20.0, 70.0], [2.0, 7.0]])  # b = 10 * a


def test_a_pseudotime_series_is_matched_to_the_cells_by_name(tiny_adata):
    """A Series in another cell order was taken by position: each cell got another's time."""
    import pandas as pd

    shuffled = tiny_adata.obs["pt"].iloc[::-1]
    expected = prepare(tiny_adata, pseudotime="pt", window_length=5)
    s = prepare(tiny_adata, pseudotime=shuffled, window_length=5)
    np.testing.assert_allclose(s.X, expected.X)
    assert s.cell_names == expected.cell_names
    positional = pd.Series(tiny_adata.obs["pt"].to_numpy())  # index 0..9: by position
    np.testing.assert_allclose(
        prepare(tiny_adata, pseudotime=positional, window_length=5).X, expected.X
    )
    with pytest.raises(ValueError, match=r"reindex\(adata.obs_names\)"):
        prepare(tiny_adata, pseudotime=shuffled.iloc[:9], window_length=5)


def test_a_pseudotime_series_for_a_matrix_is_taken_in_the_rows_order(tiny_adata):
    """A matrix's cells are named "0", "1", ... by position: a Series from a sorted or
    filtered table (its index 0..n-1 permuted, or with gaps) is not matched against them."""
    import pandas as pd

    X, pt = np.asarray(tiny_adata.X), tiny_adata.obs["pt"].to_numpy()
    expected = prepare(X, pseudotime=pt, window_length=5).X
    permuted = pd.Series(pt, index=np.arange(len(pt))[::-1])  # e.g. table.sort_values(...)
    np.testing.assert_allclose(prepare(X, pseudotime=permuted, window_length=5).X, expected)
    gaps = pd.Series(pt, index=np.arange(len(pt)) * 2)  # e.g. table[table.quality > q]
    np.testing.assert_allclose(prepare(X, pseudotime=gaps, window_length=5).X, expected)


@pytest.mark.parametrize("choice", [{"genes": ["a", "c"]}, {"n_top_genes": 2}])
def test_choosing_genes_among_repeated_names_says_how_to_fix_it(tiny_adata, choice):
    """Before: pandas' 'Reindexing only valid with uniquely valued Index objects'."""
    adata = ad.AnnData(np.column_stack([tiny_adata.X, tiny_adata.X[:, 0] ** 2]))
    adata.var_names = ["a", "b", "a"]
    adata.obs["pt"] = tiny_adata.obs["pt"].to_numpy()
    with pytest.raises(ValueError, match=r"repeat 1 name\(s\) \(a\).*var_names_make_unique"):
        prepare(adata, pseudotime="pt", window_length=5, **choice)
    assert prepare(adata, pseudotime="pt", window_length=5).genes == ["a", "b", "a"]


def _peak_bytes(func):
    """The most memory (bytes) that numpy and scipy held at once while ``func`` ran."""
    import tracemalloc

    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sparse_cells_are_averaged_without_a_dense_copy():
    """A sparse matrix stays sparse: only the windows x genes means are dense.

    Before, prepare and window_average made the whole cells x genes matrix dense (more
    than once): 3.3 GB more than the file's own 1.2 GB for 40,000 cells x 2,500 genes.
    """
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    n_cells, n_genes = 4000, 1000
    X = scipy_sparse.random(n_cells, n_genes, density=0.01, format="csr", random_state=0)
    X.data[:5] = np.nan  # missing values are left out, sparse or not
    pt = rng.permutation(n_cells) / n_cells
    dense_bytes = n_cells * n_genes * 8
    expected = window_average(X.toarray(), pt, 40)
    got = {}
    peak = _peak_bytes(lambda: got.setdefault("w", window_average(X, pt, 40)))
    assert peak < dense_bytes / 4
    np.testing.assert_allclose(got["w"].X, expected.X, rtol=1e-12)
    np.testing.assert_array_equal(got["w"].window, expected.window)
    adata = ad.AnnData(X)
    adata.obs["pt"] = np.where(np.arange(n_cells) % 50 == 0, np.nan, pt)
    with pytest.warns(UserWarning, match="Dropped 80 of 4000 cells"):
        peak = _peak_bytes(lambda: got.setdefault("s", prepare(adata, pseudotime="pt")))
    assert peak < dense_bytes / 4
    with pytest.warns(UserWarning, match="Dropped 80"):
        dense = prepare(ad.AnnData(X.toarray(), obs=adata.obs), pseudotime="pt")
    np.testing.assert_allclose(got["s"].X, dense.X, rtol=1e-12)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc", "coo", "csr_array"])
@pytest.mark.parametrize("average", ["windows", "bins"])
def test_window_means_sum_their_cells_in_pseudotime_order(fmt, average):
    """Each mean adds its cells in pseudotime order, as the dense np.add.at did: float64
    means are bit-for-bit those of earlier versions, sparse input or dense.

    Before, the sparse product summed each window's cells by their row in X instead, and
    float64 means differed from the earlier ones in the last bit.
    """
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(3)
    n_cells, n_genes = 997, 40
    X = rng.lognormal(size=(n_cells, n_genes)) * (rng.random((n_cells, n_genes)) < 0.4)
    X[rng.random((n_cells, n_genes)) < 0.02] = np.nan
    pt = rng.random(n_cells)
    made = {"dense": np.asarray, "csr_array": scipy_sparse.csr_array}
    Xin = made.get(fmt, lambda m: scipy_sparse.csr_matrix(m).asformat(fmt))(X)
    win = window_average(Xin, pt, 40) if average == "windows" else bin_average(Xin, pt, 17)
    expected = np.full((len(win.n_cells), n_genes), np.nan)
    for w in range(len(win.n_cells)):
        cells = np.flatnonzero(win.window == w)
        total, count = np.zeros(n_genes), np.zeros(n_genes)
        for c in cells[np.argsort(pt[cells], kind="stable")]:  # one cell at a time, in order
            total += np.nan_to_num(X[c])
            count += ~np.isnan(X[c])
        expected[w] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    np.testing.assert_array_equal(win.X, expected.T)


def test_an_infinite_value_in_a_sparse_matrix_names_its_cell_and_gene():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X = np.zeros((6, 3))
    X[4, 2], X[4, 1], X[5, 0] = np.inf, -np.inf, np.inf
    adata = ad.AnnData(scipy_sparse.csr_matrix(X))
    adata.obs["pt"] = np.arange(6.0)
    with pytest.raises(
        ValueError, match=r"adata.X holds an infinite value at cell '4', gene '1' \(and 2 more\)"
    ):
        prepare(adata, pseudotime="pt", window_length=2)


@pytest.mark.parametrize(("window_length", "what"), [(None, "40 cells (the default)"), (31, "31")])
def test_too_few_cells_for_two_windows_says_the_length_that_works(window_length, what):
    """Before: "window_length must be between 1 and the number of cells (30)", and a length
    of 16 to 30 then made one window, which was refused in turn."""
    adata = ad.AnnData(np.ones((30, 2)))
    adata.obs["pt"] = np.arange(30.0)
    match = f"The 30 cells with a pseudotime make fewer than 2 windows of {re.escape(what)}"
    with pytest.raises(ValueError, match=match + ".*window_length at most 15"):
        prepare(adata, pseudotime="pt", window_length=window_length)


def test_raw_counts_to_average_are_said_with_a_logged_matrix_to_use():
    """Before: no word; the window means of counts are no whole numbers, so the table's own
    raw-counts warning missed them."""
    scipy_sparse = pytest.importorskip("scipy.sparse")
    rng = np.random.default_rng(0)
    counts = scipy_sparse.csr_matrix(rng.poisson(2.0, size=(60, 4)).astype(np.float32))
    adata = ad.AnnData(counts)
    adata.obs["pt"] = rng.permutation(60) / 60
    adata.layers["logged"] = np.log1p(counts.toarray() * 10)
    match = r"adata.X holds raw counts .*sc.pp.log1p\), e.g. adata.layers\['logged'\]"
    with pytest.warns(UserWarning, match=match):
        prepare(adata, pseudotime="pt", window_length=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(adata, pseudotime="pt", window_length=10, layer="logged")


def test_the_matrix_averaged_is_said(tiny_adata, caplog):
    """Before: the log and the series named the pseudotime, not the matrix averaged."""
    tiny_adata.layers["logged"] = np.log1p(tiny_adata.X)
    with caplog.at_level("INFO", logger="rvagene.single_cell"):
        series = prepare(tiny_adata, pseudotime="pt", window_length=5, layer="logged")
    assert series.source == "adata.layers['logged']"
    assert "2 genes x 2 windows of adata.layers['logged'] (10 cells" in caplog.text
    assert prepare(tiny_adata, pseudotime="pt", window_length=5).source == "adata.X"


def test_genes_named_by_a_var_column_say_which_column(tiny_adata):
    """Ensembl ids as var_names, symbols asked for: before, only the ids were shown."""
    tiny_adata.var["symbol"] = ["Sox2", "Nanog"]
    tiny_adata.var["length"] = [1.0, 2.0]
    match = r"adata.var\['symbol'\] holds 1 of them.*adata.var_names = adata.var\['symbol'\]"
    with pytest.raises(ValueError, match=match):
        prepare(tiny_adata, genes=["Nanog", "Klf4"], pseudotime="pt", window_length=5)
    with pytest.raises(ValueError, match=r"Check the gene names and their case"):
        prepare(tiny_adata, genes=["Klf4"], pseudotime="pt", window_length=5)


def test_a_text_pseudotime_column_lists_the_numeric_ones(tiny_adata):
    tiny_adata.obs["lineage"] = ["A", "B"] * 5
    match = r"obs\['lineage'\] is not numeric .*Numeric obs columns: pt\. Give one of them"
    with pytest.raises(ValueError, match=match):
        prepare(tiny_adata, pseudotime="lineage", window_length=5)


def test_a_dense_float64_matrix_is_read_in_place_and_left_as_it_was():
    """prepare no longer copies a float64 cells x genes matrix (it made 2-3 copies: on 20,000
    x 5,000 cells it added 1.7 GB where it now adds 0.2 GB); nothing writes into it, NaN and
    cells without a pseudotime included."""
    from rvagene.single_cell import _dense

    rng = np.random.default_rng(0)
    X = rng.random((60, 4))
    X[5, 1] = np.nan
    adata = ad.AnnData(X)
    adata.var_names = list("abcd")
    adata.obs["pt"] = np.where(np.arange(60) == 7, np.nan, rng.random(60))
    before = adata.X.copy()
    assert np.shares_memory(_dense(adata.X), adata.X)  # read in place
    with pytest.warns(UserWarning, match="Dropped 1 of 60 cells"):
        series = prepare(adata, pseudotime="pt", window_length=10)
    np.testing.assert_array_equal(adata.X, before)  # NaN in place, as given
    other = adata.copy()
    other.X = np.array(before)  # the same values in another array: the same windows
    with pytest.warns(UserWarning, match="Dropped 1 of 60 cells"):
        np.testing.assert_array_equal(
            prepare(other, pseudotime="pt", window_length=10).X, series.X
        )
    assert _dense(before.astype(np.float32)).dtype == np.float64  # another dtype: converted


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cells_without_a_pseudotime_are_not_copied_out_of_a_dense_matrix(monkeypatch, dtype):
    """The kept cells are read where they are, a block of windows at a time: memory follows
    the block, not the matrix, and the windows are those of the kept cells alone.

    Before, indexing the kept rows out copied the whole matrix (800 MB for 40,000 x 2,500
    float64 cells), and a float32 matrix was first made float64 whole. An infinite value
    in a dropped cell is no error: its cell is not averaged (as when the kept rows were
    indexed out); in a kept cell it is.
    """
    from rvagene import single_cell

    monkeypatch.setattr(single_cell, "BLOCK_VALUES", 10_000, raising=False)
    rng = np.random.default_rng(0)
    n_cells, n_genes = 4000, 250
    X = (rng.lognormal(size=(n_cells, n_genes)) * (rng.random((n_cells, n_genes)) < 0.4)).astype(
        dtype
    )
    X[rng.random((n_cells, n_genes)) < 0.01] = np.nan  # missing values, left out of means
    pt = rng.random(n_cells)
    pt[::50] = np.nan  # 80 cells without a pseudotime
    X[50, 3] = np.inf  # in a dropped cell
    adata = ad.AnnData(X)
    adata.obs["pt"] = pt
    before = X.copy()
    got = {}
    with pytest.warns(UserWarning, match="Dropped 80 of 4000 cells"):
        peak = _peak_bytes(lambda: got.setdefault("s", prepare(adata, pseudotime="pt")))
    assert peak < n_cells * n_genes * 8 / 4  # a float64 copy: 8 MB; before, 24.7 MB
    np.testing.assert_array_equal(adata.X, before)  # nothing written into it
    kept = ad.AnnData(before[np.isfinite(pt)].astype(np.float64))
    kept.obs["pt"] = pt[np.isfinite(pt)]
    expected = prepare(kept, pseudotime="pt")
    np.testing.assert_array_equal(got["s"].X, expected.X)
    np.testing.assert_array_equal(got["s"].cell_window, expected.cell_window)
    adata.X[51, 4] = np.inf  # in a kept cell: named
    with (
        pytest.warns(UserWarning, match="Dropped 80"),
        pytest.raises(ValueError, match=r"infinite value at cell '51', gene '4'"),
    ):
        prepare(adata, pseudotime="pt")


def test_a_window_larger_than_a_block_is_read_a_block_at_a_time(monkeypatch):
    """Two bins of 2,000 cells each, blocks of 10,000 values (40 cells): each bin is read
    a block of its cells at a time, and its means are bit-for-bit those of one product.

    Before, a window larger than a block was copied whole (and made float64): n_bins=2 on
    a float64 matrix copied half of it (4 MB here; 80 MB of a 160 MB matrix), where the
    code before blocks read it in place.
    """
    from rvagene import single_cell

    rng = np.random.default_rng(1)
    n_cells, n_genes = 4000, 250
    X = rng.lognormal(size=(n_cells, n_genes))
    X[rng.random((n_cells, n_genes)) < 0.01] = np.nan
    pt = rng.random(n_cells)
    adata = ad.AnnData(X)
    adata.obs["pt"] = pt
    monkeypatch.setattr(single_cell, "BLOCK_VALUES", 10**9)  # one block: one product
    whole = prepare(adata, pseudotime="pt", n_bins=2)
    monkeypatch.setattr(single_cell, "BLOCK_VALUES", 10_000)
    got = {}
    peak = _peak_bytes(lambda: got.setdefault("s", prepare(adata, pseudotime="pt", n_bins=2)))
    assert peak < n_cells * n_genes * 8 / 8  # a bin's float64 copy: 4 MB
    assert got["s"].X.tobytes() == whole.X.tobytes()
    np.testing.assert_array_equal(adata.X, X)


def test_a_fortran_ordered_matrix_is_read_in_place(monkeypatch):
    """A column-major (Fortran-ordered) float64 matrix, every cell kept: the raw-counts
    check reads the rows it samples, not a row-major copy of the whole matrix (8 MB here;
    before, peak 8.9 MB, as before the blocks)."""
    from rvagene import single_cell

    monkeypatch.setattr(single_cell, "BLOCK_VALUES", 10_000)
    rng = np.random.default_rng(2)
    n_cells, n_genes = 4000, 250
    X = np.asfortranarray(rng.lognormal(size=(n_cells, n_genes)))
    adata = ad.AnnData(X)
    adata.obs["pt"] = rng.random(n_cells)
    got = {}
    peak = _peak_bytes(lambda: got.setdefault("s", prepare(adata, pseudotime="pt")))
    assert peak < n_cells * n_genes * 8 / 2
    expected = prepare(ad.AnnData(np.ascontiguousarray(X), obs=adata.obs), pseudotime="pt")
    assert got["s"].X.tobytes() == expected.X.tobytes()


def test_a_pseudotime_equal_in_every_cell_is_refused(tiny_adata, script, tmp_path, capsys):
    tiny_adata.obs["pt"] = 1.0  # e.g. a column of one value: the cells keep the file's order
    tiny_adata.obs.loc["c0", "pt"] = np.nan  # the cells that have one are all equal
    with (
        pytest.warns(UserWarning, match="Dropped 1 of 10 cells"),
        pytest.raises(ValueError, match=r"\(pt\) is 1 in all 9 cells .* does not order them"),
    ):
        prepare(tiny_adata, pseudotime="pt", window_length=3)
    path = tmp_path / "flat.h5ad"
    tiny_adata.write_h5ad(path)
    out = tmp_path / "out"
    argv = [str(path), "--pseudotime-key", "pt", "--window-length", "3", "--out-dir", str(out)]
    assert script.main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "does not order them" in err
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_an_anndata_without_x_asks_for_a_layer(tiny_adata, script, tmp_path, capsys):
    """Before: IndexError (tuple index out of range), or AttributeError for DPT."""
    tiny_adata.layers["logged"] = np.log1p(tiny_adata.X)
    tiny_adata.X = None  # values kept in layers only
    with pytest.raises(
        ValueError, match=r"adata.X is None: .* Give layer, one of adata.layers \(\['logged'\]\)"
    ):
        prepare(tiny_adata, pseudotime="pt", window_length=3)
    s = prepare(tiny_adata, pseudotime="pt", window_length=5, layer="logged")
    np.testing.assert_allclose(
        s.X[0], [np.log1p(np.arange(5)).mean(), np.log1p(np.arange(5, 10)).mean()]
    )
    with pytest.raises(ValueError, match="adata.X is None, and diffusion pseudotime"):
        compute_pseudotime(tiny_adata, 0)
    path = tmp_path / "nox.h5ad"
    tiny_adata.write_h5ad(path)
    dirs = ["--out-dir", str(tmp_path / "out"), "--figs-dir", str(tmp_path / "figs")]
    for options, said in [
        ([], "nox.h5ad keeps no values in X; give --layer, one of its layers (logged)."),
        (["--root-cell", "c0", "--layer", "logged"], "--root-cell computes diffusion"),
    ]:
        assert script.main([str(path), *options, *dirs]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1
        assert said in err[0]
    assert not (tmp_path / "out").exists()


def test_a_backed_sparse_anndata_is_averaged_as_in_memory(sim, tmp_path):
    """Before: ValueError 'setting an array element with a sequence' (numpy's words)."""
    from scipy import sparse as scipy_sparse

    from rvagene.annotate import bulk_series

    adata = sim.copy()
    adata.X = scipy_sparse.csr_matrix(adata.X)
    adata.obs["hours"] = np.repeat([0.0, 1, 2], 100)
    adata.write_h5ad(tmp_path / "cells.h5ad")
    backed = ad.read_h5ad(tmp_path / "cells.h5ad", backed="r")
    kwargs = {"pseudotime": "true_time", "window_length": 30}
    np.testing.assert_allclose(prepare(backed, **kwargs).X, prepare(adata, **kwargs).X)
    np.testing.assert_allclose(bulk_series(backed, "hours")[0], bulk_series(adata, "hours")[0])

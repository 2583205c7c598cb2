"""rvagene.annotate: AnnData in, AnnData out; the .h5ad path of train_and_gen.py; installs."""

import importlib
import sys

import numpy as np
import pytest

from rvagene import GeneClustering, simulate
from rvagene.annotate import cluster_anndata
from rvagene.data import write_table
from rvagene.simulate import simulate_single_cell
from rvagene.single_cell import prepare

try:  # the singlecell extra; the install tests below run without it
    import anndata
    import scanpy  # noqa: F401
except ImportError:
    anndata = None
singlecell = pytest.mark.skipif(anndata is None, reason='needs pip install "rvagene[singlecell]"')

PARAMS = {"hidden_size": 8, "latent_length": 2, "n_epochs": 3}
TINY = ["--n-epochs", "3", "--hidden-size", "8", "--latent-length", "2", "--quiet"]
KEYS = ("rvagene_cluster", "rvagene_confidence", "rvagene_reconstruction_r2")


@pytest.fixture(scope="module")
def cells():
    adata = simulate_single_cell(n_cells=200, n_genes_per_program=3, random_state=0)
    adata.obs["pt"] = adata.obs["true_time"]
    return adata


def _gc(k=2):
    return GeneClustering(n_clusters=k, random_state=0, model_params=PARAMS)


@singlecell
def test_single_cells_round_trip_and_a_scanpy_plot(cells, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import scanpy as sc

    before = cells.copy()
    out = cluster_anndata(cells, _gc(), pseudotime="pt", window_length=20, copy=True)
    assert "rvagene_cluster" not in cells.var  # copy=True leaves the input alone
    path = tmp_path / "cells.h5ad"
    out.write_h5ad(path)
    back = anndata.read_h5ad(path)
    np.testing.assert_array_equal(back.X, before.X)
    assert back.obs.equals(before.obs)
    assert list(back.var_names) == list(before.var_names)
    assert back.var["program"].equals(before.var["program"])
    cluster = back.var["rvagene_cluster"]
    assert cluster.dtype.name == "category"
    assert set(cluster.astype(str)) <= {"0", "1", "flat"}
    confidence = back.var["rvagene_confidence"].to_numpy()
    assert np.all((confidence > 0) & (confidence <= 1))
    assert back.varm["X_rvagene"].shape == (15, 2)
    windows = prepare(before, pseudotime="pt", window_length=20)  # the series clustered
    np.testing.assert_array_equal(back.varm["rvagene_series"], windows.X)
    info = back.uns["rvagene"]
    assert int(info["n_clusters"]) == 2
    assert info["pseudotime_key"] == "pt"
    assert len(info["window_pseudotime"]) == 10
    assert "latent_length" in info["model_params"]
    genes = back.T  # genes as observations: colour them by their cluster
    ax = sc.pl.embedding(genes, basis="X_rvagene", color="rvagene_cluster", show=False)
    assert len(ax.collections) >= 1
    groups = {c: list(back.var_names[cluster == c]) for c in cluster.cat.categories}
    groups = {c: g for c, g in groups.items() if g}
    back.obs["stage"] = (
        (back.obs["pt"] > back.obs["pt"].median())
        .map({True: "late", False: "early"})
        .astype("category")
    )
    sc.pl.matrixplot(back, groups, groupby="stage", show=False)


@singlecell
def test_genes_not_analysed_get_nan_and_flat_genes_flat(cells):
    adata = cells.copy()
    adata.X[:, 4] = 3.0  # a constant gene
    keep = list(adata.var_names[:12])
    cluster_anndata(adata, _gc(), pseudotime="pt", window_length=20, genes=keep)
    cluster = adata.var["rvagene_cluster"]
    assert cluster.isna().sum() == 3  # not analysed
    assert cluster.iloc[4] == "flat"
    assert np.isnan(adata.var["rvagene_confidence"].iloc[4])
    r2 = adata.var["rvagene_reconstruction_r2"].to_numpy()
    assert np.isnan(r2[4])  # flat
    assert np.isnan(r2[12:]).all()  # not analysed
    assert np.isfinite(np.delete(r2[:12], 4)).all()
    assert np.isnan(adata.varm["X_rvagene"][12:]).all()
    assert np.isnan(adata.varm["X_rvagene"][4]).all()
    assert np.isfinite(adata.varm["X_rvagene"][:4]).all()


@singlecell
def test_no_empty_flat_category_and_confidence_of_the_own_cluster(cells):
    """scanpy's grouped plots refuse an empty 'flat' group; confidence is p(own cluster)."""
    adata = cells.copy()
    gc = _gc()
    cluster_anndata(adata, gc, pseudotime="pt", window_length=20)
    assert "flat" not in adata.var["rvagene_cluster"].cat.categories
    own = gc.probabilities_[np.arange(gc.labels_.size), gc.labels_]
    np.testing.assert_allclose(adata.var["rvagene_confidence"].to_numpy(), own)
    np.testing.assert_allclose(gc.confidence_, own)


@singlecell
def test_bulk_samples_with_times_in_obs():
    X, y = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    times = np.array([0, 1, 2, 4, 8, 16.0])
    rng = np.random.default_rng(0)
    samples = np.concatenate([X.T, X.T + 0.01 * rng.standard_normal(X.T.shape)])  # 2 per time
    adata = anndata.AnnData(samples)
    adata.obs["hours"] = np.concatenate([times, times])
    adata.var_names = [f"g{i}" for i in range(12)]
    cluster_anndata(adata, _gc(), time_key="hours")
    info = adata.uns["rvagene"]
    np.testing.assert_array_equal(info["times"], times)
    assert info["time_key"] == "hours"
    assert adata.var["rvagene_cluster"].notna().all()
    with pytest.raises(ValueError, match=r"'day' is not a .obs column \(the columns: hours\)"):
        cluster_anndata(adata, _gc(), time_key="day")
    # times with a unit, as in a table's header; a gene not in the data is skipped, as for cells
    adata.obs["named"] = [f"{t:g}h" for t in adata.obs["hours"]]
    with pytest.warns(UserWarning, match="1 of 5 requested genes are not in the data") as said:
        out = cluster_anndata(adata, _gc(), time_key="named",
                              genes=["nope", "g0", "g1", "g6", "g7"], copy=True)  # fmt: skip
    assert said[0].filename == __file__  # the user's line, not annotate.py's
    np.testing.assert_array_equal(out.uns["rvagene"]["times"], times)
    assert out.var["rvagene_cluster"].notna().sum() == 4
    means = ((samples[:6] + samples[6:]) / 2).T  # each time's two samples, averaged
    kept = [0, 1, 6, 7]
    np.testing.assert_allclose(out.varm["rvagene_series"][kept], means[kept])
    assert np.isnan(np.delete(out.varm["rvagene_series"], kept, axis=0)).all()
    # times inside names, read as a table's header reads them (the error named day3 as a time)
    adata.obs["named"] = [f"day{t:g}" for t in adata.obs["hours"]]
    out = cluster_anndata(adata, _gc(), time_key="named", copy=True)
    np.testing.assert_array_equal(out.uns["rvagene"]["times"], times)
    # a sample without a time is left out with a warning (before: silently)
    adata.obs["gaps"] = np.where(np.arange(12) == 11, np.nan, adata.obs["hours"])
    with pytest.warns(UserWarning, match=r"1 sample\(s\) have no time in .obs\['gaps'\] \(11\)"):
        cluster_anndata(adata, _gc(), time_key="gaps", copy=True)
    adata.obs["gaps"] = [*adata.obs["named"][:10], "NA", ""]  # as a table's missing cells
    with pytest.warns(UserWarning, match=r"2 sample\(s\) have no time in .obs\['gaps'\]"):
        cluster_anndata(adata, _gc(), time_key="gaps", copy=True)
    adata.obs["named"] = ["early", "late"] * 6
    with pytest.raises(ValueError, match="holds early, late..., which are not times; give"):
        cluster_anndata(adata, _gc(), time_key="named")
    # controls among timed samples: the fix for samples, not a table header's (before:
    # "... the 12 columns are read as equal steps in file order. Split the file ...")
    adata.obs["named"] = ["ctrl", "ctrl", *[f"{t:g}h" for t in adata.obs["hours"][2:]]]
    with pytest.raises(ValueError, match="holds ctrl, ") as raised:
        cluster_anndata(adata, _gc(), time_key="named")
    assert "a sample without a time (a control) NaN or 'NA'" in str(raised.value)
    assert "equal steps" not in str(raised.value)
    # embryonic and postnatal days: their own fix (one origin), not the controls' one
    adata.obs["named"] = ["E10.5", "E12.5", "E14.5", "E16.5", "E18.5", "P0"] * 2
    with pytest.raises(ValueError, match="holds E10.5, E12.5, E14.5") as raised:
        cluster_anndata(adata, _gc(), time_key="named")
    assert "E18.5 as 18.5d and P0 as 19.5d" in str(raised.value)
    assert "control" not in str(raised.value)
    assert "equal steps" not in str(raised.value)
    adata.X[:, 3] = np.nan  # a gene measured in no sample: named, not taken for flat
    with pytest.raises(ValueError, match=r"adata: gene 'g3' \(row 4\) has no observed value"):
        cluster_anndata(adata, _gc(), time_key="hours")


@singlecell
@pytest.mark.parametrize("spell", ["t{:g}", "ZT{:g}", "P{:g}", "X{:g}h"])
def test_bulk_sample_times_are_read_as_a_tables_header_reads_them(spell):
    """One reader for both: before, .obs times after a prefix (t30, ZT4, P0) or R's X0h
    were 'not times', where the same names in a table's header gave times."""
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    times = np.array([0, 1, 2, 4, 8, 16.0])
    adata = anndata.AnnData(X.T.copy())
    adata.obs["when"] = [spell.format(t) for t in times]
    adata.var_names = [f"g{i}" for i in range(12)]
    out = cluster_anndata(adata, _gc(), time_key="when", copy=True)
    np.testing.assert_array_equal(out.uns["rvagene"]["times"], times)


@singlecell
def test_bulk_samples_at_even_times_fit_as_the_array_and_the_script_do():
    # even times carry nothing beyond the step (as a table's, in GeneClustering and the
    # script); before, cluster_anndata fitted them as times, another network: on demosim
    # with n_epochs=5 it chose k=5 where the script and the README's example chose 6
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    adata = anndata.AnnData(X.T.copy())
    adata.obs["hours"] = np.arange(6) * 2.0
    adata.var_names = [f"g{i}" for i in range(12)]
    gc = _gc()
    cluster_anndata(adata, gc, time_key="hours")
    assert gc.model_.times_ is None
    np.testing.assert_array_equal(gc.latent_, _gc().fit(X).latent_)
    np.testing.assert_array_equal(adata.uns["rvagene"]["times"], np.arange(6) * 2.0)


@singlecell
@pytest.mark.parametrize("path", ["bulk", "cells"])
def test_a_layer_is_clustered_instead_of_x(cells, path):
    """Raw counts in X, the values to cluster in a layer: the layer's genes are fitted."""
    adata = cells.copy()
    adata.obs["hours"] = np.arange(adata.n_obs) % 5
    kwargs = {"time_key": "hours"} if path == "bulk" else {"pseudotime": "pt", "n_bins": 5}
    adata.layers["values"] = np.asarray(adata.X).copy()
    adata.X = np.zeros_like(adata.layers["values"])  # every gene flat in X
    with pytest.raises(ValueError, match="'counts' is not in adata.layers"):
        cluster_anndata(adata, _gc(), layer="counts", copy=True, **kwargs)
    out = cluster_anndata(adata, _gc(), layer="values", copy=True, **kwargs)
    assert (out.var["rvagene_cluster"] != "flat").all()  # from X, every gene would be flat
    assert out.var["rvagene_cluster"].notna().all()
    assert out.uns["rvagene"]["values"] == "adata.layers['values']"  # before: not said
    adata.X = adata.layers["values"]
    assert cluster_anndata(adata, _gc(), copy=True, **kwargs).uns["rvagene"]["values"] == "adata.X"


@singlecell
@pytest.mark.parametrize("path", ["bulk", "cells"])
def test_repeated_gene_names_are_refused_before_the_fit(cells, monkeypatch, path):
    """Before: pandas' InvalidIndexError when writing the results, after the whole fit."""
    adata = cells.copy()
    adata.var_names = [adata.var_names[0], *adata.var_names[:-1]]  # the first name twice
    adata.obs["hours"] = np.arange(adata.n_obs) % 4
    monkeypatch.setattr(GeneClustering, "fit", lambda *a, **k: pytest.fail("fitted"))
    kwargs = {"time_key": "hours"} if path == "bulk" else {"pseudotime": "pt"}
    match = r"var_names repeat 1 name\(s\) \(\w+\).*adata.var_names_make_unique\(\)"
    with pytest.raises(ValueError, match=match):
        cluster_anndata(adata, _gc(), **kwargs)


@singlecell
def test_window_length_and_n_bins_are_one_choice(cells):
    with pytest.raises(ValueError, match="either window_length .* or n_bins"):
        cluster_anndata(cells, _gc(), pseudotime="pt", window_length=20, n_bins=5, copy=True)
    out = cluster_anndata(cells, _gc(), pseudotime="pt", n_bins=5, copy=True)
    assert out.uns["rvagene"]["window_sizes"].size == 5


def _script():
    return importlib.import_module("rvagene._train_and_gen")


def _dirs(root):
    return ["--figs-dir", str(root / "figs"), "--out-dir", str(root / "out")]


@singlecell
def test_script_writes_the_input_with_the_keys_and_scores_only_given_labels(
    cells, tmp_path, capsys
):
    path = tmp_path / "cells.h5ad"
    cells.write_h5ad(path)
    argv = [str(path), "--pseudotime-key", "pt", "--window-length", "20", "--n-clusters", "2"]
    assert _script().main([*argv, *TINY, *_dirs(tmp_path)]) == 0
    assert "ARI" not in capsys.readouterr().out  # up/down from pseudotime are not truth
    back = anndata.read_h5ad(tmp_path / "out" / "cells_rvagene.h5ad")
    np.testing.assert_array_equal(back.X, cells.X)
    assert back.obs.equals(cells.obs)
    assert set(back.var.columns) == {"program", *KEYS}
    assert set(back.uns) == {"root_cell", "iroot", "rvagene"}
    assert set(back.varm) == {"X_rvagene", "rvagene_series"}
    windows = prepare(cells, pseudotime="pt", window_length=20)  # what the script clustered
    np.testing.assert_array_equal(back.varm["rvagene_series"], windows.X)
    assert set(back.obsm) == set(cells.obsm)
    table = (tmp_path / "out" / "cells_clusters.csv").read_text().splitlines()
    head = "gene,cluster,confidence,p_cluster_0,p_cluster_1,reconstruction_r2"
    assert table[0] == head  # no label column
    shown = [r.split(",")[1] for r in table[1:]]
    assert shown == list(back.var["rvagene_cluster"].astype(str))  # same numbering
    rows = (tmp_path / "out" / "cells_generated.csv").read_text().splitlines()[1:]
    generated = back.uns["rvagene"]["generated"]  # as the CSV: cluster, series, values
    assert generated.shape == (2, len(rows) // 2, 10)
    for row in rows[:: len(rows) // 4]:
        cluster, sample, *values = row.split(",")
        np.testing.assert_allclose(
            generated[int(cluster), int(sample)], np.array(values, float), rtol=1e-5
        )
    labelled = [*argv, "--labels-key", "program", *TINY, *_dirs(tmp_path / "b")]
    assert _script().main(labelled) == 0
    assert "ARI" in capsys.readouterr().out


def test_h5ad_without_the_singlecell_extra_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    path = tmp_path / "x.h5ad"
    path.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "scanpy", None)  # import scanpy raises ImportError
    assert _script().main([str(path), *TINY, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert 'pip install "rvagene[singlecell]"' in err
    assert not (tmp_path / "out").exists()
    monkeypatch.setitem(sys.modules, "anndata", None)
    with pytest.raises(ImportError, match=r'pip install "rvagene\[singlecell\]"'):
        cluster_anndata(object())


def test_requirements_install_no_scanpy():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    lines = [
        line.split("#")[0].strip() for line in (root / "requirements.txt").read_text().splitlines()
    ]
    assert "-e ." in lines
    assert not any("singlecell" in line or "scanpy" in line for line in lines)
    assert "torch==2.13.0" in lines
    assert "singlecell" in (root / "requirements-dev.txt").read_text()


@singlecell
def test_script_layer_option(tmp_path, capsys):
    """--layer: the layer's values are clustered; an unknown layer is one line, exit 2."""
    X, _ = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    adata = anndata.AnnData(np.zeros((12, 12)))  # X: every gene flat
    adata.layers["logged"] = np.concatenate([X.T, X.T + 0.01])
    adata.obs["hours"] = np.tile([0, 1, 2, 4, 8, 16.0], 2)
    adata.var_names = [f"g{i}" for i in range(12)]
    path = tmp_path / "bulk.h5ad"
    adata.write_h5ad(path)
    argv = [str(path), "--time-key", "hours", "--n-clusters", "2", *TINY, *_dirs(tmp_path)]
    assert _script().main([*argv, "--layer", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: layer 'nope' is not in adata.layers (layers: ['logged'])."
    assert _script().main([*argv, "--layer", "logged"]) == 0
    table = (tmp_path / "out" / "bulk_clusters.csv").read_text()
    assert ",flat," not in table
    out = anndata.read_h5ad(tmp_path / "out" / "bulk_rvagene.h5ad")
    assert out.uns["rvagene"]["values"] == "adata.layers['logged']"  # before: not said


@singlecell
def test_script_on_bulk_anndata_fits_the_times_of_obs(tmp_path, capsys):
    X, y = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    times = np.array([0, 1, 2, 4, 8, 16.0])
    adata = anndata.AnnData(np.concatenate([X.T, X.T + 0.01]))
    adata.obs["hours"] = np.concatenate([times, times])
    adata.var_names = [f"g{i}" for i in range(12)]
    adata.var["truth"] = [str(v) for v in y]
    path = tmp_path / "bulk.h5ad"
    adata.write_h5ad(path)
    argv = [str(path), "--time-key", "hours", "--labels-key", "truth", "--n-clusters", "2"]
    assert _script().main([*argv, *TINY, *_dirs(tmp_path)]) == 0
    assert "ARI" in capsys.readouterr().out
    from rvagene import load

    np.testing.assert_array_equal(load(tmp_path / "out" / "bulk_model.pt").times_, times)
    back = anndata.read_h5ad(tmp_path / "out" / "bulk_rvagene.h5ad")
    assert back.uns["rvagene"]["time_key"] == "hours"
    assert back.var["rvagene_cluster"].notna().all()
    header = (tmp_path / "out" / "bulk_generated.csv").read_text().splitlines()[0]
    assert header == "cluster,sample,0,1,2,4,8,16"
    # the same name from a table, --overwrite: the earlier annotated input goes with the rest
    write_table(tmp_path / "t" / "bulk.csv", X, times=times)
    again = [str(tmp_path / "t" / "bulk.csv"), "--n-clusters", "2", "--overwrite"]
    assert _script().main([*again, *TINY, *_dirs(tmp_path)]) == 0
    assert "removed" in capsys.readouterr().out
    assert not (tmp_path / "out" / "bulk_rvagene.h5ad").exists()


@singlecell
@pytest.mark.parametrize(
    ("option", "said"),
    [
        ("--time-key", "--time-key 'day' is not a .obs column (the columns: hours, batch)."),
        ("--labels-key", "--labels-key 'day' is not a .var column (the columns: truth)."),
    ],
)
def test_a_key_not_in_the_h5ad_names_the_option_and_the_columns(tmp_path, capsys, option, said):
    """Before: --time-key's error named the library's time_key and no column."""
    X, y = simulate(n_clusters=2, genes_per_cluster=6, sequence_length=6, random_state=0)
    adata = anndata.AnnData(X.T.copy())
    adata.obs["hours"], adata.obs["batch"] = np.arange(6.0), "a"
    adata.var_names = [f"g{i}" for i in range(12)]
    adata.var["truth"] = [str(v) for v in y]
    adata.write_h5ad(tmp_path / "bulk.h5ad")
    keys = ["--time-key", "hours", option, "day"] if option == "--labels-key" else [option, "day"]
    argv = [str(tmp_path / "bulk.h5ad"), *keys, "--n-clusters", "2", *TINY, *_dirs(tmp_path)]
    assert _script().main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {said}"]


@singlecell
@pytest.mark.parametrize("content", [b"", b"gene,0,1\na,1,2\n", b"\x89HDF\r\n\x1a\n" + b"0" * 99])
def test_an_unreadable_h5ad_is_one_line_exit_2(tmp_path, capsys, content):
    """Before: h5py's message, exit 1."""
    path = tmp_path / "broken.h5ad"
    path.write_bytes(content)
    assert _script().main([str(path), *TINY, *_dirs(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"error: {path} is not a readable .h5ad file (")
    assert err[0].endswith("give an AnnData file written by anndata or scanpy "
                           "(adata.write_h5ad), or a table.")  # fmt: skip


@singlecell
def test_bulk_times_of_sparse_cells_are_averaged_without_a_dense_copy():
    """Single cells by day (--time-key day): before, the cells x genes matrix was made dense
    (1.2 GB more for 40,000 cells x 2,500 genes); now only the genes x times means are."""
    import tracemalloc

    from scipy import sparse

    from rvagene.annotate import bulk_series

    n_cells, n_genes = 4000, 1000
    X = sparse.random(n_cells, n_genes, density=0.01, format="csr", random_state=0)
    X.data[:5] = np.nan  # missing values are left out, as by nanmean
    adata = anndata.AnnData(X)
    adata.obs["day"] = np.arange(n_cells) % 4 * 2.0
    adata.obs.loc[adata.obs_names[:3], "day"] = np.nan  # no time: left out
    tracemalloc.start()
    try:
        with pytest.warns(UserWarning, match="3 sample"):
            got, times, _ = bulk_series(adata, "day")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < n_cells * n_genes * 8 / 4
    dense = X.toarray()
    day = adata.obs["day"].to_numpy()
    expected = np.stack([np.nanmean(dense[day == t], axis=0) for t in times], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert times.tolist() == [0.0, 2.0, 4.0, 6.0]


@singlecell
@pytest.mark.parametrize(
    "option",
    [{"pseudotime": "pt"}, {"root_cell": 0}, {"window_length": 20}, {"n_bins": 5}],
    ids=lambda o: next(iter(o)),
)
def test_bulk_time_key_with_a_single_cell_option_is_refused(cells, option):
    # before: the samples were averaged by time_key and the option ignored without a word
    adata = cells.copy()
    adata.obs["hours"] = np.repeat(np.arange(4.0), 50)
    name = next(iter(option))
    with pytest.raises(ValueError, match=f"^{name} applies to single cells .* time_key"):
        cluster_anndata(adata, _gc(), time_key="hours", **option)
    assert "rvagene" not in adata.uns


@singlecell
def test_a_labels_key_not_in_var_is_refused_before_the_windows(
    cells, tmp_path, capsys, monkeypatch
):
    """Before: the cells were windowed (a DPT computed, with --root-cell) and then refused."""
    import rvagene.single_cell

    def no_windows(*args, **kwargs):
        msg = "windows made before --labels-key was checked"
        raise AssertionError(msg)

    monkeypatch.setattr(rvagene.single_cell, "prepare", no_windows)
    cells.write_h5ad(tmp_path / "cells.h5ad")
    argv = [str(tmp_path / "cells.h5ad"), "--pseudotime-key", "pt", "--labels-key", "day"]
    assert _script().main([*argv, *TINY, *_dirs(tmp_path)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --labels-key 'day' is not a .var column (the columns: program)."
    ]

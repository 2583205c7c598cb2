"""GeneClustering and the rest of rvagene.pipeline: ensembles, clustering, generation."""

import csv
import importlib.util
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator, clone

from rvagene import (
    GeneClustering,
    RVAgene,
    cluster_latent,
    consensus_clusters,
    fit_ensemble,
    generate_around_centres,
    read_table,
    simulate,
)
from rvagene.data import flat_genes, write_table
from rvagene.evaluate import reconstruction_r2
from rvagene.pipeline import (
    DEFAULT_N_FITS,
    DEFAULT_SPACE,
    between_gene_share,
    fit_seeds,
    held_out_loss,
)
from rvagene.representation import embed, slopes, soft_assignment

ROOT = Path(__file__).resolve().parents[1]
PARAMS = dict(hidden_size=8, latent_length=2, n_epochs=3)
ONE = dict(n_fits=1, space="latent")  # one fit's K-means on its latent means


@pytest.fixture(scope="module")
def genes():
    """36 genes x 10 time points in 3 clusters, at levels far from 0 (data units show)."""
    X, y = simulate(n_clusters=3, genes_per_cluster=12, sequence_length=10, random_state=1)
    return X + 50.0, y


@pytest.fixture(scope="module")
def fitted(genes):
    X, _ = genes
    return GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(X)


# ---------------------------------------------------------------------------- GeneClustering


def test_defaults_are_the_module_constants():
    gc = GeneClustering()
    assert (gc.n_fits, gc.space) == (DEFAULT_N_FITS, DEFAULT_SPACE)


def test_fit_predict_shapes_and_attributes(genes, fitted):
    X, y = genes
    gc = fitted
    np.testing.assert_array_equal(clone(gc).fit_predict(X), gc.labels_)
    assert gc.labels_.shape == (36,)
    assert set(gc.labels_) == {0, 1, 2}
    assert gc.n_clusters_ == 3
    assert gc.k_scores_ is None
    assert gc.k_window_ is None
    assert gc.probabilities_.shape == (36, 3)
    np.testing.assert_allclose(gc.probabilities_.sum(axis=1), 1.0)
    assert gc.cluster_centers_.shape == (3, 2)
    assert gc.embedding_centers_.shape == (3, 2)
    assert gc.embedding_.shape == (36, 2)
    assert gc.space_ == "latent"
    assert len(gc.models_) == 1
    assert gc.model_ is gc.models_[0]
    assert not gc.flat_.any()
    assert gc.n_features_in_ == 10
    assert gc.times_ is None
    np.testing.assert_array_equal(gc.embedding_, gc.model_.transform(X))


def test_predict_agrees_with_labels_on_the_training_genes(genes, fitted):
    X, _ = genes
    np.testing.assert_array_equal(fitted.predict(X), fitted.labels_)
    assert fitted.predict(X[:5]).shape == (5,)
    with pytest.raises(ValueError, match="expecting 10 features"):
        fitted.predict(X[:, :8])


def test_flat_genes_get_minus_one_and_are_left_out(genes):
    X, _ = genes
    X = X.copy()
    X[3] = 7.0  # constant
    X[10, :] = np.nan
    X[10, 2] = 1.0  # one finite value
    X[20, ::2] = np.nan
    X[20, 1::2] = 2.5  # constant where observed
    np.testing.assert_array_equal(np.flatnonzero(flat_genes(X)), [3, 10, 20])
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(X)
    flat = np.zeros(36, bool)
    flat[[3, 10, 20]] = True
    np.testing.assert_array_equal(gc.flat_, flat)
    assert (gc.labels_[flat] == -1).all()
    assert (gc.labels_[~flat] >= 0).all()
    assert np.isnan(gc.probabilities_[flat]).all()
    assert np.isnan(gc.embedding_[flat]).all()
    assert np.isnan(gc.reconstruction_r2_[flat]).all()
    assert np.isnan(gc.latent_[flat]).all()
    np.testing.assert_array_equal(gc.latent_[~flat], gc.model_.transform(X[~flat]))
    r2 = reconstruction_r2(gc.model_, X[~flat])
    np.testing.assert_allclose(gc.reconstruction_r2_[~flat], r2)
    np.testing.assert_allclose(gc.probabilities_[~flat].sum(axis=1), 1.0)
    assert gc.model_.n_features_in_ == 10
    assert gc.model_.transform(X[~flat]).shape == (33, 2)  # the models saw 33 genes
    np.testing.assert_array_equal(gc.predict(X)[flat], -1)
    # the same genes without the flat ones cluster the same way
    rest = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(X[~flat])
    np.testing.assert_array_equal(rest.labels_, gc.labels_[~flat])


def test_default_is_the_consensus_of_the_fits_in_both_spaces(genes, monkeypatch):
    import rvagene.pipeline as pipeline

    X, y = genes
    assert (DEFAULT_N_FITS, DEFAULT_SPACE) == ("auto", "auto")
    assert between_gene_share(X) > pipeline.ONE_SHAPE_SHARE  # so "auto" is "both"
    monkeypatch.setattr(pipeline, "AUTO_AGREEMENT", 1.01)  # the first 2 fits never agree
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(X)
    assert len(gc.models_) == pipeline.AUTO_N_FITS == 5
    assert [m.random_state for m in gc.models_] == fit_seeds(0, 5)
    assert gc.space_ == "both"
    # the labels are the consensus of 10 K-means clusterings: 5 fits x 2 spaces
    fits = [gc.model_, *(m for m in gc.models_ if m is not gc.model_)]
    points = [embed(m, X, s) for s in ("latent", "decoded") for m in fits]
    np.testing.assert_array_equal(gc.labels_, consensus_clusters(points, 3, random_state=0))
    # centres, probabilities and predict in model_'s latent space
    np.testing.assert_array_equal(gc.embedding_, gc.model_.transform(X))
    np.testing.assert_allclose(gc.cluster_centers_, gc.embedding_centers_)
    assert gc.predict(X).shape == (36,)
    assert gc.generate(3).shape == (3, 3, 10)
    # two fits that agree are enough
    monkeypatch.setattr(pipeline, "AUTO_AGREEMENT", -1.0)
    two = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(X)
    assert [m.random_state for m in two.models_] == fit_seeds(0, 5)[:2]
    # more genes than AUTO_MAX_GENES: one fit; more than CONSENSUS_MAX_GENES: the latent space
    monkeypatch.setattr(pipeline, "AUTO_MAX_GENES", 30)
    monkeypatch.setattr(pipeline, "CONSENSUS_MAX_GENES", 30)
    big = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(X)
    assert (len(big.models_), big.space_) == (1, "latent")
    km = cluster_latent(big.model_.transform(X), 3, random_state=0)
    np.testing.assert_array_equal(big.labels_, km.labels_)


def test_k_is_chosen_on_the_fits_averaged_scores(genes):
    from rvagene import choose_k

    X, _ = genes
    gc = GeneClustering(n_fits=3, random_state=0, model_params=PARAMS,
                        k_criterion="silhouette").fit(X)  # fmt: skip
    assert (GeneClustering().k_criterion, gc.k_tolerance) == ("gmeans", 2.0)
    fits = [gc.model_, *(m for m in gc.models_ if m is not gc.model_)]
    k, scores = choose_k([m.transform(X) for m in fits], range(2, 16), "silhouette",
                         random_state=0, tolerance=2.0)  # fmt: skip
    assert (gc.n_clusters_, gc.k_scores_) == (k, scores)  # the fits' averaged scores
    assert gc.k_window_ is None  # a window for gmeans only


@pytest.mark.parametrize("agree", [-1.0, 1.01])
def test_k_is_chosen_once_on_the_same_fits(genes, monkeypatch, caplog, agree):
    # n_fits="auto" chooses k on the first 2 fits to measure their agreement; when no more
    # fits follow, that choice is the final one (not made twice), with its scores
    import logging

    import rvagene.pipeline as pipeline
    from rvagene import choose_k

    X, _ = genes
    monkeypatch.setattr(pipeline, "AUTO_AGREEMENT", agree)
    with caplog.at_level(logging.INFO, logger="rvagene.pipeline"):
        gc = GeneClustering(random_state=0, model_params=PARAMS, k_criterion="silhouette")
        gc.fit(X)
    chosen = [r for r in caplog.records if r.getMessage().startswith("chose k=")]
    assert len(gc.models_) == (2 if agree < 0 else 5)
    assert len(chosen) == (1 if agree < 0 else 2)
    # said before it starts: on 13,496 genes choosing k took 36 of a run's 50 s, in silence
    choosing = [r.getMessage() for r in caplog.records if r.getMessage().startswith("choosing")]
    assert choosing == ["choosing k among 2..15 by silhouette on 36 genes"] * len(chosen)
    k, scores = choose_k([m.transform(X) for m in gc.models_], range(2, 16), "silhouette",
                         tolerance=2.0)  # fmt: skip
    assert gc.n_clusters_ == k
    assert gc.k_scores_ == pytest.approx(scores)  # averaged over the fits (order: rounding)


def test_gmeans_chooses_k_on_every_space_of_every_fit(genes):
    from rvagene import choose_k_gmeans
    from rvagene.representation import embed

    X, _ = genes
    gc = GeneClustering(random_state=0, model_params=PARAMS, k_criterion="gmeans").fit(X)
    assert gc.space_ == "both"
    latent = [m.transform(X) for m in gc.models_]
    points = [*latent, *(embed(m, X, "decoded") for m in gc.models_)]
    k, scores, window = choose_k_gmeans(points, latent, range(2, 16), return_window=True)
    assert gc.n_clusters_ == k
    assert gc.k_window_ == window
    assert window[0] <= k <= window[1]
    assert gc.k_scores_ == pytest.approx(scores)
    assert sum(gc.k_scores_.values()) == pytest.approx(1.0)


def test_every_gene_flat_or_too_few_genes():
    with pytest.raises(ValueError, match="All 4 genes are flat"):
        GeneClustering(n_clusters=2).fit(np.ones((4, 6)))
    X = np.vstack([np.ones((3, 6)), np.arange(12.0).reshape(2, 6)])
    with pytest.raises(ValueError, match=r"2 genes that are not flat \(3 are\).*give n_clusters"):
        GeneClustering().fit(X)
    with pytest.raises(ValueError, match="n_clusters=3 is more than the 2 genes"):
        GeneClustering(n_clusters=3).fit(X)


def test_a_failed_refit_leaves_no_fit(genes):
    # the earlier fit's clusters and model stayed: generate() went on with them after a
    # refit had failed, and n_features_in_ was the new data's
    from sklearn.exceptions import NotFittedError

    X, _ = genes
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(X)
    with pytest.raises(ValueError, match="n_clusters=3 is more than the 2 genes"):
        gc.fit(X[:2, :6])
    assert not [name for name in vars(gc) if name.endswith("_") or name == "_X_fit"]
    with pytest.raises(NotFittedError):
        gc.generate(2)
    with pytest.raises(NotFittedError):
        gc.predict(X)
    gc.fit(X)  # and a failure during the fits (space_ set), not only in the data's checks

    def stop(state):
        msg = "stopped by a callback"
        raise RuntimeError(msg)

    from rvagene import LambdaCallback

    gc.set_params(model_params={**PARAMS, "callbacks": [LambdaCallback(on_check=stop)]})
    with pytest.raises(RuntimeError, match="stopped by a callback"):
        gc.fit(X)
    assert not [name for name in vars(gc) if name.endswith("_") or name == "_X_fit"]


def _repeated(X, rows, times):
    """Genes ``X[rows]``, each repeated ``times`` times."""
    return np.repeat(X[rows], times, axis=0)


@pytest.mark.filterwarnings("ignore:The genes share one shape")
@pytest.mark.parametrize("space", ["auto", "both"])
def test_genes_with_one_point_form_one_cluster_when_k_is_chosen(genes, space):
    """Identical genes: k is 1 with a warning (before: an empty cluster, NaN centres)."""
    X = _repeated(genes[0], [0], 4)
    gc = GeneClustering(space=space, random_state=0, model_params=PARAMS, n_fits=1)
    with pytest.warns(UserWarning, match=r"All 4 genes .* same point .* one cluster"):
        gc.fit(X)
    assert gc.n_clusters_ == 1
    assert gc.k_scores_ is None
    np.testing.assert_array_equal(gc.labels_, 0)
    assert np.isfinite(gc.cluster_centers_).all()
    np.testing.assert_array_equal(gc.probabilities_, 1.0)
    assert gc.generate(2).shape == (1, 2, 10)


def test_a_dataframe_with_time_columns_is_fitted_on_its_times(genes, tmp_path):
    """Column names are read as read_table reads a header: the same fit as from the file."""
    pd = pytest.importorskip("pandas")
    X = genes[0][:, :6]
    names = ["0h", "30min", "1h", "2h", "4h", "8h"]
    df = pd.DataFrame(X, index=[f"g{i}" for i in range(len(X))], columns=names)
    kw = dict(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    gc = GeneClustering(**kw).fit(df)
    np.testing.assert_array_equal(gc.times_, [0, 0.5, 1, 2, 4, 8])
    write_table(tmp_path / "genes.csv", X, times=gc.times_)
    from_file = GeneClustering(**kw).fit(read_table(tmp_path / "genes.csv"))
    np.testing.assert_array_equal(gc.labels_, from_file.labels_)
    with pytest.warns(UserWarning, match="does not have valid feature names"):  # sklearn's
        np.testing.assert_array_equal(gc.predict(df), gc.predict(X))  # the fitted times
    assert GeneClustering(**kw).fit(pd.DataFrame(X)).times_ is None  # 0, 1, ...: steps
    assert GeneClustering(**kw).fit(pd.DataFrame(X, columns=list("abcdef"))).times_ is None
    dropped = pd.DataFrame(X).drop(columns=[4])  # positions 0, 1, 2, 3, 5: not times
    assert GeneClustering(**kw).fit(dropped).times_ is None


@pytest.mark.parametrize(
    ("names", "times"),
    [
        (["t0", "t30", "t60", "t120", "t240", "t480"], [0, 30, 60, 120, 240, 480]),
        (["LPS_0m", "LPS_30m", "LPS_1h", "LPS_2h", "LPS_4h", "LPS_8h"], [0, 0.5, 1, 2, 4, 8]),
        (["X0h", "X1h", "X2h", "X4h", "X6h", "X12h"], [0, 1, 2, 4, 6, 12]),
        # a cell line (H1 hESC) before the time: not a second time "h1"
        (["H1_0h", "H1_1h", "H1_2h", "H1_4h", "H1_6h", "H1_12h"], [0, 1, 2, 4, 6, 12]),
    ],
)
def test_a_dataframes_columns_give_the_times_a_files_header_gives(genes, names, times, tmp_path):
    """Sample names with times in them: the same times from a DataFrame as from the file.

    Before, a DataFrame's names were read as plain times only, so ``pd.read_csv`` of a
    ``t0,t30,...`` file was fitted as equal steps where ``train_and_gen.py`` used its times.
    """
    pd = pytest.importorskip("pandas")
    X = genes[0][:40, :6]
    path = tmp_path / "genes.csv"
    path.write_text("gene," + ",".join(names) + "\n")
    with path.open("a") as f:
        for i, row in enumerate(X):
            f.write(f"g{i}," + ",".join(f"{v:.6f}" for v in row) + "\n")
    np.testing.assert_allclose(read_table(path).times, times)
    df = pd.read_csv(path, index_col=0)
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(df)
    np.testing.assert_allclose(gc.times_, times)


@pytest.mark.parametrize("estimator", ["GeneClustering", "RVAgene"])
def test_a_dataframe_with_its_gene_names_in_a_column_is_told_to_make_them_the_index(
    genes, estimator
):
    """``pd.read_csv(path)`` without ``index_col``: the fix for a DataFrame, not ``X[:, 1:]``,
    and no warning about controls among the time points (the column 'gene' has none)."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:20, :3], columns=["0h", "2h", "6h"])
    df.insert(0, "gene", [f"g{i}" for i in range(20)])
    model = GeneClustering(n_clusters=3) if estimator == "GeneClustering" else RVAgene()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"column 'gene' holds names.*X.set_index\('gene'\)"):
            model.fit(df)


def test_a_dataframes_names_column_with_missing_names_quotes_a_name(genes):
    """Missing names (NaN) are no words: the example quoted is a name, not 'nan'."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:20, :3], columns=["0h", "2h", "6h"])
    df.insert(0, "gene", [None] * 12 + [f"g{i}" for i in range(8)])
    gc = GeneClustering(n_clusters=2, model_params=PARAMS, **ONE)
    with pytest.raises(ValueError, match=r"column 'gene' holds names, not numbers \('g0'\)"):
        gc.fit(df)


def test_a_dataframe_with_statistics_or_dates_in_rows_is_refused(genes):
    """A DESeq2 result's columns, or a DatetimeIndex of time points: an error naming the fix.

    Before: the p-values were fitted as time points (with the warning about controls), and
    each date was fitted as a gene, silently."""
    pd = pytest.importorskip("pandas")
    gc = GeneClustering(n_clusters=2, model_params=PARAMS, **ONE)
    df = pd.DataFrame(genes[0][:20, :5], columns=["0h", "2h", "6h", "log2FoldChange", "padj"])
    with pytest.raises(ValueError, match=r"'log2FoldChange', 'padj' hold statistics.*X.drop"):
        gc.fit(df)
    dates = pd.DataFrame(genes[0][:20, :6].T, index=pd.date_range("2026-01-01", periods=6))
    with pytest.raises(ValueError, match=r"rows are dates or durations .*Pass X.T"):
        gc.fit(dates)


@pytest.mark.parametrize(
    ("index", "name"),
    [(["0h", "2h", "6h", "12h", "24h", "48h"], None), ([0.0, 2, 6, 12, 24, 48], "time")],
)
def test_a_dataframe_with_time_points_in_rows_is_told_to_pass_its_transpose(genes, index, name):
    """Before: each time point was fitted as a gene, silently."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:20, :6].T, columns=[f"g{i}" for i in range(20)])
    df.index = pd.Index(index, name=name)
    with pytest.raises(ValueError, match=r"DataFrame whose rows are time points .* Pass X.T"):
        GeneClustering(n_clusters=2, model_params=PARAMS, **ONE).fit(df)
    with pytest.raises(ValueError, match=r"DataFrame whose rows are time points"):
        RVAgene(**PARAMS).fit(df.set_axis(range(20), axis=1))  # columns by position
    frame = pd.DataFrame(genes[0][:20, :6], index=[f"g{i}" for i in range(20)])
    frame.columns = [f"c{j}" for j in range(6)]  # genes in rows, no times: fitted as steps
    assert GeneClustering(n_clusters=2, model_params=PARAMS, **ONE).fit(frame).times_ is None


def test_a_dataframe_whose_index_is_named_as_genes_is_not_taken_for_time_points(genes):
    """Genes D1 ... D20 (or H1 to H4, histones) under an index named 'gene' are genes, not
    days: before, a time-like index was refused as time points in rows whatever its name."""
    pd = pytest.importorskip("pandas")
    index = pd.Index([f"D{i}" for i in range(1, 21)], name="gene")
    frame = pd.DataFrame(genes[0][:20, :6], index=index, columns=[f"c{j}" for j in range(6)])
    gc = GeneClustering(n_clusters=2, model_params=PARAMS, **ONE).fit(frame)
    assert gc.labels_.shape == (20,)


@pytest.mark.parametrize("estimator", ["GeneClustering", "RVAgene"])
def test_a_dataframe_with_a_label_column_is_told_to_leave_it_out(genes, estimator):
    """A column of each gene's group (repeated words) is no column of names to index by."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:20, :3], columns=["0h", "2h", "6h"])
    df["cluster"] = ["up", "down"] * 10
    model = GeneClustering(n_clusters=3) if estimator == "GeneClustering" else RVAgene()
    with pytest.raises(ValueError, match=r"column 'cluster' holds words.*X.drop\(columns="):
        model.fit(df)


def test_a_dataframe_with_controls_among_its_times_is_warned_of(genes):
    """The header's warning (controls among the time points), not silent steps."""
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:40, :6], columns=["ctrl", "0h", "1h", "2h", "4h", "8h"])
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    with pytest.warns(UserWarning, match=r"DataFrame .* mixes time points .* \(ctrl\)"):
        gc.fit(df)
    assert gc.times_ is None


@pytest.mark.parametrize(
    ("names", "match"),
    [
        (["0h_rep1", "0h_rep2", "1h_rep1", "1h_rep2", "4h_rep1", "4h_rep2"], "replicates"),
        (["0h", "0h", "1h", "1h", "4h", "4h"], "replicates"),
        (["2h", "0h", "1h", "4h", "6h", "8h"], "'2h' comes before '0h'"),
    ],
)
def test_a_dataframe_whose_columns_are_not_one_per_time_in_order_is_refused(genes, names, match):
    """Replicate columns or unsorted times are not fitted as consecutive time points.

    read_table gives the same header a 3-D X (replicates) or an error (unsorted); a
    DataFrame was fitted one column per step, silently.
    """
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(genes[0][:, :6], columns=names)
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    with pytest.raises(ValueError, match=match):
        gc.fit(df)


def test_a_data_warning_is_given_once_with_the_users_row(genes):
    """An extreme value is named once, at its row in the user's X.

    Before, the fits (on the genes that are not flat) gave it again, numbered among those
    genes: with 2 flat genes first, X[7, 1] came back as X[5, 1], another gene.
    """
    X = genes[0][:30, :6].copy()
    X[:2] = 1.0  # flat
    X[7, 1] = 1e12
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.fit(X)
    extreme = [str(w.message) for w in caught if "extreme value" in str(w.message)]
    assert len(extreme) == 1, extreme
    assert "X[7, 1]" in extreme[0]


def test_raw_counts_are_said_once_at_the_users_line(genes):
    """GeneClustering on a count table (2 genes all zero): one warning, on the user's X."""
    X = np.round(genes[0][:30, :6] * 40)  # about 2,000 reads a gene
    X[:2] = 0.0  # flat: the fits see 28 genes, whose own warning is not given again
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.fit(X)
    counts = [w for w in caught if "raw counts" in str(w.message)]
    assert len(counts) == 1, [str(w.message) for w in counts]
    assert "2 of 30 genes average below 10" in str(counts[0].message)


@pytest.mark.parametrize("estimator", ["GeneClustering", "RVAgene", "check_input"])
def test_the_data_warnings_name_the_users_line(genes, estimator):
    """Before: GeneClustering's and RVAgene's named a line of the package (pipeline.py:860,
    model.py:769), the caller of check_input, not the user's call."""
    from rvagene import RVAgene
    from rvagene.data import check_input

    X = genes[0][:30, :6].copy()
    X[:, 2] = np.nan  # no value at a time point, in any gene
    fit = {
        "GeneClustering": GeneClustering(n_clusters=2, model_params=PARAMS, **ONE).fit,
        "RVAgene": RVAgene(**PARAMS).fit,
        "check_input": check_input,
    }[estimator]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(X)
    said = [w for w in caught if "no observed value" in str(w.message)]
    assert said
    assert {w.filename for w in said} == {__file__}


@pytest.mark.parametrize("call", ["fit_predict", "fit_transform"])
def test_warnings_from_scikit_learns_shortcuts_name_the_users_line(call):
    """gc.fit_predict(X), as the README calls it, and RVAgene.fit_transform run fit from
    scikit-learn's base.py. Before: each warning (one shape, raw counts, an option without
    effect) named 'sklearn/base.py', not the user's line."""
    from rvagene import RVAgene

    rng = np.random.default_rng(0)
    X = np.round(3000 * (1.5 + np.sin(np.linspace(0, 3, 8)))) + rng.poisson(30, (30, 8))
    if call == "fit_predict":  # one shape, counts; k_tolerance means nothing with gmeans
        estimator = GeneClustering(n_clusters=2, random_state=0, model_params=PARAMS,
                                   k_tolerance=3.0, n_fits=1)  # fmt: skip
    else:  # counts; lr_decay means nothing with the one cycle
        estimator = RVAgene(**PARAMS, lr_decay=0.3, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(estimator, call)(X)
    said = [w for w in caught if issubclass(w.category, UserWarning)]
    texts = " ".join(str(w.message) for w in said)
    assert "raw counts" in texts
    assert "has no effect" in texts
    assert call == "fit_transform" or "share one shape" in texts
    assert {w.filename for w in said} == {__file__}


def test_generation_warnings_name_the_users_line(genes, fitted):
    """generate_around_centres warns of a one-gene cluster from cluster_covariances; its fixed
    stacklevel named pipeline.py's line, not the user's (now user_stacklevel everywhere)."""
    X, _ = genes
    model = fitted.model_
    Z = model.transform(X)
    labels = np.zeros(len(X), dtype=int)
    labels[0] = 1
    centres = np.stack([Z[1:].mean(axis=0), Z[0]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        generate_around_centres(model, centres, 3, X=X, labels=labels)
    said = [w for w in caught if "fewer than 2 members" in str(w.message)]
    assert [w.filename for w in said] == [__file__]


def test_a_time_point_observed_only_in_flat_genes_still_warns(genes):
    """The fits see no value at a time point the flat genes alone have: still said, once.

    The data warnings of the fits on the non-flat genes were all taken as already given on
    the user's X; this one is not given there (the flat genes have values), so it was lost.
    """
    X = genes[0][:30, :6].copy()
    X[:3] = 5.0  # flat, observed at every time
    X[3:, 2] = np.nan
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.fit(X)
    empty = [w for w in caught if "no observed value" in str(w.message)]
    assert len(empty) == 1, [str(w.message) for w in empty]
    assert "j = 2" in str(empty[0].message)
    assert empty[0].filename == __file__


@pytest.mark.filterwarnings("ignore:The genes share one shape")
def test_one_shape_at_other_levels_and_scales_is_one_cluster(genes):
    """Copies of a gene at 2x + 3 differ from it only by rounding once z-scored: one point."""
    x = genes[0][0]
    X = np.vstack([np.tile(x, (6, 1)), np.tile(2 * x + 3, (6, 1)), np.tile(x / 7 - 1, (6, 1))])
    for space in ("slopes", "latent", "both"):
        gc = GeneClustering(space=space, random_state=0, model_params=PARAMS, n_fits=1)
        with pytest.warns(UserWarning, match=r"All 18 genes .* same point"):
            gc.fit(X)
        assert gc.n_clusters_ == 1
        np.testing.assert_array_equal(gc.labels_, 0)


def test_k_chosen_is_at_most_the_distinct_genes(genes):
    X = _repeated(genes[0], [0, 15], 5)  # two shapes, 5 genes each
    gc = GeneClustering(space="slopes", random_state=0, model_params=PARAMS).fit(X)
    assert gc.n_clusters_ == 2
    assert max(gc.k_scores_) == 2
    assert np.isfinite(gc.cluster_centers_).all()


@pytest.mark.filterwarnings("ignore:The genes share one shape")
@pytest.mark.filterwarnings("ignore:X has only 2 time points")
@pytest.mark.parametrize(
    ("data", "k", "kwargs", "distinct"),
    [
        ("one gene x4", 2, {}, 1),
        ("two genes x5", 3, {"space": "slopes"}, 2),
        ("2 time points", 3, {"space": "slopes"}, 2),
        ("2 time points", 3, ONE, 2),
    ],
)
def test_more_clusters_than_distinct_genes_is_an_error(genes, data, k, kwargs, distinct):
    """Before: labels in fewer clusters than n_clusters_, NaN centres, or generate failing."""
    X = {
        "one gene x4": _repeated(genes[0], [0], 4),
        "two genes x5": _repeated(genes[0], [0, 15], 5),
        "2 time points": genes[0][:, :2],
    }[data]
    gc = GeneClustering(n_clusters=k, random_state=0, model_params=PARAMS, **kwargs)
    match = rf"Only {distinct} distinct gene.*ask for at most {distinct} cluster"
    with pytest.raises(ValueError, match=match):
        gc.fit(X)


@pytest.mark.usefixtures("last_cluster_emptied")
def test_an_empty_cluster_after_the_final_clustering_warns(genes):
    """Mini-batch K-means can leave a cluster empty: fit says so, and what follows."""
    X, _ = genes
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, n_fits=1,
                        space="latent", cluster_method="minibatch")  # fmt: skip
    with pytest.warns(UserWarning, match=r"Clusters \[2\] of 3 have no genes.*'kmeans'"):
        gc.fit(X)
    assert gc.n_clusters_ == 3
    assert 2 not in gc.labels_


def test_generate_shape_units_and_repeats(genes, fitted):
    X, _ = genes
    out = fitted.generate(6)
    assert out.shape == (3, 6, 10)
    # data units: each cluster's series sit at its members' levels (about 50), not at 0
    for i in range(3):
        members = X[fitted.labels_ == i]
        assert members.mean(axis=1).min() - 1 < out[i].mean() < members.mean(axis=1).max() + 1
    scaled = fitted.generate(6, units="scaled")
    assert abs(scaled.mean()) < 2
    np.testing.assert_array_equal(out, fitted.generate(6))
    assert not np.array_equal(out, fitted.generate(6, random_state=1))
    noisy = fitted.generate(6, noise=True)
    assert noisy.shape == out.shape
    assert not np.allclose(noisy, out)
    decoder = fitted.generate(6, offset=False)
    assert decoder.shape == out.shape
    assert not np.allclose(decoder, out)


def test_several_fits_give_the_consensus(genes):
    X, _ = genes
    gc = GeneClustering(
        n_clusters=3, n_fits=3, space="latent", random_state=0, model_params=PARAMS
    ).fit(X)
    assert len(gc.models_) == 3
    assert [m.random_state for m in gc.models_] == fit_seeds(0, 3)
    assert gc.model_ is min(gc.models_, key=held_out_loss)
    ordered = [gc.model_] + [m for m in gc.models_ if m is not gc.model_]
    expected = consensus_clusters([m.transform(X) for m in ordered], 3, random_state=0)
    np.testing.assert_array_equal(gc.labels_, expected)
    Z = gc.model_.transform(X)
    for j in range(3):
        np.testing.assert_allclose(gc.cluster_centers_[j], Z[gc.labels_ == j].mean(axis=0))


def test_n_jobs_gives_the_same_results(genes):
    X, _ = genes
    kw = dict(n_fits=2, random_state=3, model_params=PARAMS)
    one = GeneClustering(n_jobs=1, **kw).fit(X)
    two = GeneClustering(n_jobs=2, **kw).fit(X)
    np.testing.assert_array_equal(one.labels_, two.labels_)
    np.testing.assert_array_equal(one.probabilities_, two.probabilities_)
    for a, b in zip(one.models_, two.models_, strict=True):
        np.testing.assert_array_equal(a.transform(X), b.transform(X))
        assert a.history_ == b.history_
    np.testing.assert_array_equal(one.generate(4), two.generate(4))


def _sigint_in_worker(params, seed, X, times, parallel, c_loops=True):
    """A stand-in for one fit: the worker's SIGINT disposition (module level: pickled)."""
    import signal

    return signal.getsignal(signal.SIGINT), [], None


def test_forked_fit_workers_leave_ctrl_c_to_the_parent(genes, monkeypatch):
    """Before: a worker interrupted while it waited for a task died holding the pool's
    queue lock, and a run given Ctrl-C during its fits could hang (12 minutes, seen once)."""
    import signal

    import rvagene.pipeline as pipeline
    from rvagene._utils import fork_is_safe

    if not fork_is_safe():
        pytest.skip("the fits fork only where forking is the platform's start method")
    monkeypatch.setattr(pipeline, "_fit_one", _sigint_in_worker)
    X, _ = genes
    seen = pipeline._fit_models(X, [0, 1], None, 2, PARAMS)
    assert seen == [signal.SIG_IGN, signal.SIG_IGN]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # this process's


def test_callbacks_see_every_fit_whatever_n_jobs(genes):
    """A callback in model_params (a lambda, too) sees both fits: they run in this process."""
    from rvagene import LambdaCallback

    X, _ = genes
    steps = []
    params = {**PARAMS, "callbacks": [LambdaCallback(on_step=lambda *a, **k: steps.append(1))]}
    kw = dict(n_clusters=3, n_fits=2, random_state=3, model_params=params)
    GeneClustering(n_jobs=1, **kw).fit(X)
    one = len(steps)
    assert one > 0
    with pytest.warns(UserWarning, match=r"one after another \(n_jobs=2 ignored\)"):
        GeneClustering(n_jobs=2, **kw).fit(X)
    assert len(steps) == 2 * one


def test_callbacks_warning_once_at_the_users_fit():
    """n_jobs ignored for callbacks: said once, at this file's line, also when more fits follow.

    It was given again for the 3 fits that follow 2 that disagree, and at pipeline.py's line.
    """
    from rvagene import LambdaCallback

    X, _ = simulate(n_clusters=3, genes_per_cluster=10, sequence_length=12, random_state=0)
    hook = LambdaCallback(on_train_begin=lambda state: None)
    params = {**PARAMS, "n_epochs": 20, "callbacks": [hook]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc = GeneClustering(n_jobs=2, random_state=0, model_params=params).fit(X)
    assert len(gc.models_) == 5  # 2 fits that disagree, then 3 more
    said = [w for w in caught if "n_jobs=2 ignored" in str(w.message)]
    assert len(said) == 1
    assert said[0].filename == __file__


def test_forked_and_fresh_worker_processes_give_the_same_results(genes, monkeypatch):
    """Parallel fits in forked workers (Linux) and in loky's fresh ones (elsewhere) agree."""
    import multiprocessing
    import sys

    import rvagene.pipeline as pipeline

    X, _ = genes
    kw = dict(n_fits=2, n_jobs=2, random_state=3, model_params=PARAMS)
    chosen = []
    choose = pipeline._process_backend
    monkeypatch.setattr(
        pipeline, "_process_backend", lambda p: chosen.append(choose(p)) or chosen[-1]
    )
    default = GeneClustering(**kw).fit(X)
    forks = sys.platform.startswith("linux") and multiprocessing.get_start_method() == "fork"
    assert chosen == ["multiprocessing" if forks else "loky"]
    monkeypatch.setattr(pipeline, "_process_backend", lambda p: "loky")
    fresh = GeneClustering(**kw).fit(X)
    np.testing.assert_array_equal(default.labels_, fresh.labels_)
    for a, b in zip(default.models_, fresh.models_, strict=True):
        np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_no_forked_workers_with_cuda_or_from_a_daemon(monkeypatch):
    """Forking is refused once CUDA is initialised, and from a daemonic process."""
    import multiprocessing
    import sys

    import torch

    from rvagene.pipeline import _process_backend

    if not (sys.platform.startswith("linux") and multiprocessing.get_start_method() == "fork"):
        pytest.skip("fork is not this platform's start method")
    assert _process_backend(PARAMS) == "multiprocessing"
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    assert _process_backend(PARAMS) == "loky"
    monkeypatch.undo()
    monkeypatch.setattr(multiprocessing.current_process(), "daemon", True, raising=False)
    assert _process_backend(PARAMS) == "loky"


def test_a_joblib_context_keeps_its_backend_and_n_jobs(genes, monkeypatch):
    """parallel_config's backend (other than loky) is kept; its n_jobs applies to n_jobs=None."""
    from joblib import parallel_config

    import rvagene.pipeline as pipeline

    with parallel_config(backend="threading", n_jobs=2):
        assert pipeline._process_backend(PARAMS) is None
    X, _ = genes
    seen = []
    import joblib  # _fit_models takes Parallel from joblib when it runs

    class Spy(joblib.Parallel):
        def __init__(self, *args, **kwargs):
            seen.append(kwargs.get("n_jobs"))
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(joblib, "Parallel", Spy)
    with parallel_config(n_jobs=2):
        GeneClustering(n_fits=2, random_state=0, model_params=PARAMS).fit(X)
    assert seen[0] == 2


def test_one_model_parameter_is_set_by_its_nested_name():
    """As GridSearchCV sets it: before, scikit-learn called set_params on the dict."""
    params = {"hidden_size": 8, "latent_length": 2}
    gc = GeneClustering(model_params=params)
    assert clone(gc).set_params(model_params__latent_length=4, n_fits=1) is not gc
    changed = gc.set_params(model_params__latent_length=4, k_max=9)
    assert changed.model_params == {"hidden_size": 8, "latent_length": 4}
    assert changed.k_max == 9
    assert params == {"hidden_size": 8, "latent_length": 2}  # the caller's dict is unchanged
    assert GeneClustering().set_params(model_params__n_epochs=3).model_params == {"n_epochs": 3}


def test_k_options_without_effect_warn():
    with pytest.warns(UserWarning, match=r"k_max=9 has no effect: k is given \(n_clusters=3\)"):
        GeneClustering(n_clusters=3, k_max=9)._check_params()
    with pytest.warns(UserWarning, match=r"k_tolerance=3 has no effect: .*'silhouette'"):
        GeneClustering(k_tolerance=3)._check_params()  # the default criterion is G-means
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        GeneClustering(k_criterion="silhouette", k_tolerance=3, k_max=9)._check_params()


def test_a_model_parameter_without_effect_warns_once_at_the_users_call(genes):
    """Checked before the fits and given again by them: one warning, at this file's line."""
    X, _ = genes
    params = {**PARAMS, "lr_decay": 0.3}
    gc = GeneClustering(n_clusters=3, n_fits=2, random_state=0, model_params=params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.fit(X)
    said = [w for w in caught if "lr_decay=0.3 has no effect" in str(w.message)]
    assert len(said) == 1
    assert said[0].filename == __file__


def test_the_fits_warnings_are_shown_once(genes):
    X, _ = genes
    params = {**PARAMS, "device": "mps"}  # not on this machine: each fit warns
    gc = GeneClustering(n_clusters=3, n_fits=2, random_state=0, model_params=params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.fit(X)
    assert [str(w.message) for w in caught if "MPS" in str(w.message)] == [
        "MPS was requested but is not available; using the CPU instead."
    ]


def test_windows_of_single_cells_are_fitted_as_steps(genes):
    from types import SimpleNamespace

    X, _ = genes
    windows = SimpleNamespace(X=X, genes=None, window_pseudotime=np.linspace(0, 1, 10) ** 2)
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(windows)
    assert gc.times_ is None
    assert gc.model_.times_ is None


def test_seeding_is_repeatable_and_one_fit_is_rvagenes(genes, fitted):
    X, _ = genes
    again = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS, **ONE).fit(X)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_array_equal(again.probabilities_, fitted.probabilities_)
    np.testing.assert_array_equal(again.generate(3), fitted.generate(3))
    # with an int seed, the one fit is RVAgene(random_state=seed)
    model = RVAgene(**PARAMS, random_state=0).fit(X)
    np.testing.assert_array_equal(fitted.model_.transform(X), model.transform(X))
    km = cluster_latent(model.transform(X), 3, random_state=0)
    np.testing.assert_array_equal(fitted.labels_, km.labels_)
    other = GeneClustering(n_clusters=3, random_state=1, model_params=PARAMS, **ONE).fit(X)
    assert not np.array_equal(other.embedding_, fitted.embedding_)
    rs = np.random.RandomState(5)
    assert fit_seeds(rs, 2) != fit_seeds(rs, 2)  # a RandomState advances, as in scikit-learn


def test_random_state_none_leaves_numpy_global_rng_alone(genes):
    # fit_seeds drew the fits' seeds with check_random_state(None), numpy's global RNG,
    # where RVAgene(random_state=None) takes fresh entropy and leaves it alone
    def numpy_state():
        _, keys, position, *_ = np.random.get_state()  # noqa: NPY002
        return keys.tolist(), position

    np.random.seed(5)  # noqa: NPY002
    state = numpy_state()
    assert len(set(fit_seeds(None, 3))) == 3
    params = {**PARAMS, "n_epochs": 1}
    GeneClustering(n_clusters=3, model_params=params, **ONE).fit(genes[0])
    assert numpy_state() == state
    seeds = fit_seeds(np.random.RandomState(0), 2)
    assert seeds == fit_seeds(np.random.RandomState(0), 2)


def test_decoded_space(genes):
    X, y = genes
    gc = GeneClustering(space="decoded", n_fits=1, random_state=0, model_params=PARAMS).fit(X)
    k = gc.n_clusters_
    assert gc.space_ == "decoded"
    assert set(gc.k_scores_) == set(range(2, 16))
    assert gc.embedding_.shape == (36, 10)
    assert gc.embedding_centers_.shape == (k, 10)
    assert gc.cluster_centers_.shape == (k, 2)
    np.testing.assert_allclose(gc.embedding_, embed(gc.model_, X, "decoded"))
    np.testing.assert_array_equal(gc.latent_, gc.model_.transform(X))  # whatever the space
    np.testing.assert_array_equal(gc.predict(X), gc.labels_)
    assert gc.probabilities_.shape == (36, k)
    assert gc.generate(4).shape == (k, 4, 10)


def test_tables_and_3d_input(tmp_path, genes):
    X, _ = genes
    times = np.array([0, 0.5, 1, 2, 4, 6, 8, 12, 16, 24.0])
    write_table(tmp_path / "uneven.csv", X, times=times)
    table = read_table(tmp_path / "uneven.csv")
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(table)
    np.testing.assert_array_equal(gc.times_, times)
    np.testing.assert_array_equal(gc.model_.times_, times)
    np.testing.assert_array_equal(gc.predict(table.X, times=times), gc.predict(table.X))
    np.testing.assert_array_equal(gc.predict(table), gc.predict(table.X))  # as fit takes it
    write_table(tmp_path / "even.csv", X, times=np.arange(10.0))
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS)
    assert gc.fit(read_table(tmp_path / "even.csv")).model_.times_ is None  # steps suffice
    X3 = np.stack([X, X + 0.1], axis=2)
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(X3)
    assert gc.labels_.shape == (36,)
    assert gc.generate(2).shape == (3, 2, 10, 2)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"n_clusters": 0}, "n_clusters must be None or an integer >= 1"),
        ({"n_fits": 0}, 'n_fits must be "auto" or an integer >= 1'),
        ({"space": "pca"}, "Unknown space 'pca'"),
        ({"k_criterion": "elbow"}, "Unknown k_criterion"),
        ({"k_tolerance": -0.5}, "k_tolerance must be a number >= 0"),
        ({"k_tolerance": None}, "k_tolerance must be a number >= 0"),
        ({"model_params": {"random_state": 1}}, "not in model_params"),
        ({"model_params": [1]}, "model_params must be None or a dict"),
        ({"model_params": {"hiden_size": 8}}, "'hiden_size' .did you mean 'hidden_size'.?."),
        ({"cluster_method": "minibatch", "n_fits": 2}, "set n_fits=1"),
        ({"n_jobs": 0}, "n_jobs must be"),
        ({"random_state": np.random.default_rng(0)}, r"random_state must be .*rng.integers"),
    ],
)
def test_bad_parameters(genes, params, match):
    with pytest.raises(ValueError, match=match):
        GeneClustering(**params).fit(genes[0])


def test_the_scripts_pipeline(tmp_path, genes):
    """train_and_gen.py and GeneClustering give the same clusters on the same data and seed."""
    spec = importlib.util.spec_from_file_location("train_and_gen", ROOT / "train_and_gen.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    X, _ = genes
    path = tmp_path / "genes.csv"
    write_table(path, X, genes=[f"g{i}" for i in range(36)], times=np.arange(10.0))
    for n_fits in (1, 2):
        args = [str(path), "--n-fits", str(n_fits), "--seed", "4", "--quiet"]
        args += ["--n-epochs", "3", "--hidden-size", "8", "--latent-length", "2"]
        out = tmp_path / f"out{n_fits}"
        assert script.main([*args, "--out-dir", str(out), "--figs-dir", str(out)]) == 0
        with open(out / "genes_clusters.csv", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        gc = GeneClustering(n_fits=n_fits, random_state=4, model_params=PARAMS)
        labels = gc.fit_predict(read_table(path))
        np.testing.assert_array_equal([int(r["cluster"]) for r in rows], labels)
        k = gc.n_clusters_
        table = np.array([[float(r[f"p_cluster_{j}"]) for j in range(k)] for r in rows])
        np.testing.assert_allclose(table, gc.probabilities_, atol=5e-4)


# ---------------------------------------------------------------------------- ensembles


def test_fit_ensemble(tiny):
    X, y = tiny
    models = fit_ensemble(X, 2, random_state=0, **PARAMS)
    assert len(models) == 2
    seeds = [m.random_state for m in models]
    assert seeds == fit_seeds(0, 2)
    assert seeds[0] == 0
    assert seeds[1] != 0
    assert seeds == [m.random_state for m in fit_ensemble(X, 2, random_state=0, **PARAMS)]
    labels = consensus_clusters([m.transform(X) for m in models], 3)
    assert labels.shape == (30,)
    with pytest.raises(ValueError, match="n_fits must be a positive integer"):
        fit_ensemble(X, 0, **PARAMS)


# ---------------------------------------------------------------------------- generation


def test_generate_repeats(fitted53):
    out = generate_around_centres(
        fitted53, np.zeros((3, 2)), n_samples=5, scale=0.3, random_state=0
    )
    assert out.shape == (3, 5, 12)
    np.testing.assert_array_equal(
        out, generate_around_centres(fitted53, np.zeros((3, 2)), 5, 0.3, 0)
    )


def test_generate_scale_override_is_the_original(fitted53):
    """scale=0.3 without X: N(centre, 0.3 I) decoded, in scaled units, as before."""
    centres = np.array([[0.0, 1.0], [-1.0, 0.5]])
    out = generate_around_centres(fitted53, centres, 6, scale=0.3, random_state=4)
    noise = np.random.default_rng(4).standard_normal((2, 6, 2))
    expected = fitted53.decode((centres[:, None, :] + np.sqrt(0.3) * noise).reshape(-1, 2))
    np.testing.assert_array_equal(out, expected.reshape(2, 6, 12))


@pytest.fixture(scope="module")
def clustered53(fitted53, data53):
    from rvagene import cluster_latent

    return cluster_latent(fitted53.transform(data53), 3)


def test_generate_from_cluster_spread_in_data_units(fitted53, data53, clustered53):
    from rvagene.data import scale_series

    centres, labels = clustered53.cluster_centers_, clustered53.labels_
    out = generate_around_centres(fitted53, centres, 7, X=data53, labels=labels, random_state=0)
    assert out.shape == (3, 7, 12)
    np.testing.assert_array_equal(
        out, generate_around_centres(fitted53, centres, 7, X=data53, labels=labels, random_state=0)
    )
    assert not np.array_equal(
        out, generate_around_centres(fitted53, centres, 7, X=data53, labels=labels, random_state=1)
    )
    # labels default to the nearest centre, which is what K-means assigned
    np.testing.assert_array_equal(
        out, generate_around_centres(fitted53, centres, 7, X=data53, random_state=0)
    )
    # data units: each series is a scaled-units series at the level and spread of a member
    scaled = generate_around_centres(
        fitted53, centres, 7, X=data53, units="scaled", random_state=0
    )
    _, level, spread = scale_series(data53)
    for i in range(3):
        members = labels == i
        for series, z in zip(out[i], scaled[i], strict=True):
            matches = np.isclose(series, z * spread[members] + level[members]).all(axis=1)
            assert matches.any()
    # every series is one the model itself assigns to its cluster
    from rvagene.evaluate import specificity_reencoded

    assert specificity_reencoded(fitted53, out, centres)["specificity"] == 1.0
    assert specificity_reencoded(fitted53, scaled, centres)["specificity"] == 1.0


def test_generate_noise_and_covariance(fitted53, data53, clustered53):
    centres = clustered53.cluster_centers_
    smooth = generate_around_centres(
        fitted53, centres, 5, X=data53, units="scaled", random_state=0
    )
    noisy = generate_around_centres(
        fitted53, centres, 5, X=data53, units="scaled", noise=True, random_state=0
    )
    assert noisy.shape == smooth.shape
    assert not np.allclose(noisy, smooth)
    tight = generate_around_centres(
        fitted53, centres, 5, covariance=np.zeros((3, 2, 2)), random_state=0
    )
    expected = np.repeat(fitted53.decode(centres)[:, None], 5, 1)
    np.testing.assert_allclose(tight, expected, atol=1e-6)


def test_noise_is_the_residuals_spread_around_the_offset():
    """noise=True with the offset: the mean residual is in the series once, not in the noise.

    An under-trained model leaves residuals far from 0 (an offset of about 1 sd), tightly
    spread around their cluster's mean. Before, the noise's sd was the residuals' root mean
    square, offset included, so the series were about 10 times as varied as the genes.
    """
    from rvagene import cluster_offsets
    from rvagene.data import scale_series

    X, y = simulate(n_clusters=3, genes_per_cluster=30, sequence_length=12, random_state=0)
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=2, random_state=0).fit(X)
    mean = model.transform(X)
    centres = np.stack([mean[y == i].mean(axis=0) for i in range(3)])
    kwargs = {"X": X, "labels": y, "units": "scaled", "random_state": 0}
    scaled, centre, spread = scale_series(X)
    residual = scaled - (model.reconstruct(X) - centre) / spread
    offsets = cluster_offsets(model, X, y, 3)
    for offset, shift in ((True, offsets), (False, np.zeros_like(offsets))):
        smooth = generate_around_centres(model, centres, 400, offset=offset, **kwargs)
        noisy = generate_around_centres(model, centres, 400, offset=offset, noise=True, **kwargs)
        noise = noisy - smooth  # the same draws: the noise alone
        for i in range(3):
            expected = np.sqrt(((residual[y == i] - shift[i]) ** 2).mean(axis=0))
            ratio = noise[i].std(axis=0) / expected  # (time,)
            assert 0.85 < ratio.mean() < 1.15, (offset, i, ratio.mean())
    # with the offset, the series vary about as much as the genes (before: about 10 times)
    noisy = generate_around_centres(model, centres, 400, noise=True, **kwargs)
    for i in range(3):
        assert noisy[i].std(axis=0).mean() < 2 * scaled[y == i].std(axis=0).mean()


@pytest.mark.filterwarnings("ignore:Clusters .0. have fewer")
def test_offset_makes_a_one_gene_cluster_generate_its_gene(fitted53, data53):
    """A draw at a lone gene's code, shifted by its residual, is the gene itself (scaled)."""
    from rvagene import cluster_offsets
    from rvagene.data import scale_series

    mean = fitted53.transform(data53).astype(np.float64)
    labels = np.r_[0, np.ones(52, dtype=int)]
    centres = np.stack([mean[0], mean[1:].mean(axis=0)])
    kwargs = {"X": data53, "labels": labels, "units": "scaled", "random_state": 0}
    tight = {**kwargs, "covariance": np.zeros((2, 2, 2))}
    out = generate_around_centres(fitted53, centres, 3, **tight)
    scaled = scale_series(data53)[0]
    np.testing.assert_allclose(out[0], np.repeat(scaled[:1], 3, axis=0), atol=1e-5)
    decoder = generate_around_centres(fitted53, centres, 3, offset=False, **tight)
    np.testing.assert_allclose(decoder[0], np.repeat(fitted53.decode(mean[:1]), 3, 0), atol=1e-5)
    # the offset is the members' mean residual, the same for every series of a cluster
    offsets = cluster_offsets(fitted53, data53, labels, 2)
    assert offsets.shape == (2, 12)
    np.testing.assert_allclose(out - decoder, np.repeat(offsets[:, None], 3, 1), atol=1e-5)
    np.testing.assert_allclose(offsets[0], scaled[0] - fitted53.decode(mean[:1])[0], atol=1e-5)
    # the default: on with the clusters' own spread, off with the original's scale
    own = generate_around_centres(fitted53, centres, 3, **kwargs)
    assert not np.allclose(
        own, generate_around_centres(fitted53, centres, 3, offset=False, **kwargs)
    )
    original = generate_around_centres(fitted53, centres, 3, scale=0.3, **kwargs)
    np.testing.assert_array_equal(
        original, generate_around_centres(fitted53, centres, 3, scale=0.3, offset=False, **kwargs)
    )
    with pytest.raises(ValueError, match="one entry per gene"):
        cluster_offsets(fitted53, data53, labels[:5], 2)
    for bad in (np.full_like(labels, 7), np.full_like(labels, -1), labels + 0.5):
        with pytest.raises(ValueError, match=r"labels must be integers 0\.\.1"):
            cluster_offsets(fitted53, data53, bad, 2)
    # offsets given as an array: the same series, without X's residuals computed again
    given = generate_around_centres(fitted53, centres, 3, **{**tight, "offset": offsets})
    np.testing.assert_allclose(given, out, atol=1e-6)
    with pytest.raises(ValueError, match=r"an array of shape \(2, 12\)"):
        generate_around_centres(fitted53, centres, 3, **{**tight, "offset": offsets[:, :5]})


class _EncodesLower(BaseEstimator):
    """Stands in for a fitted model: decodes a code to itself as a 2-point series, and
    encodes a series back 0.5 lower on the first axis."""

    def __init__(self):
        self.module_ = None

    def fit(self, X):
        return self

    def decode(self, Z):
        return np.array(Z, dtype=float)

    def transform(self, series):
        return np.asarray(series) - [0.5, 0.0]


def test_a_series_the_model_encodes_into_another_cluster_is_drawn_again():
    # Centres at x = -1 and 1: a draw of cluster 1 at 0 < x < 0.5 lies nearest its own centre,
    # but its series is encoded at x < 0, nearest cluster 0's; it must be drawn again.
    generated = generate_around_centres(
        _EncodesLower(), [[-1.0, 0.0], [1.0, 0.0]], 200, random_state=0, covariance=np.eye(2) / 4
    )
    assert generated.shape == (2, 200, 2)
    assert generated[0, :, 0].max() < 0  # its own centre's side
    assert generated[1, :, 0].min() > 0.5  # and encoded back there


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "Give X"),
        ({"scale": 0.3, "noise": True}, "noise=True needs X"),
        ({"scale": 0.3, "offset": True}, "offset=True needs X"),
        ({"scale": 0.3, "units": "data"}, "units='data' needs X"),
        ({"scale": 0.3, "units": "z"}, "Unknown units"),
        ({"labels": np.zeros(5, int)}, "one entry per gene"),
        ({"labels": np.full(53, 3)}, r"integers 0\.\.2"),
        ({"scale": 0.3, "noise": "False"}, "noise must be True or False"),  # added noise
        ({"scale": 0.3, "noise": None}, "noise must be True or False"),
    ],
)
def test_generate_bad_arguments(fitted53, data53, kwargs, match):
    if "labels" in kwargs:
        kwargs = {**kwargs, "X": data53}
    with pytest.raises(ValueError, match=match):
        generate_around_centres(fitted53, np.zeros((3, 2)), 4, **kwargs)


@pytest.mark.gpu
def test_gpu_pipeline_fit_predict_generate_and_load_on_cpu(tmp_path, genes):
    """The whole pipeline on a CUDA device; the kept model loads on a CPU machine."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    X, y = genes
    gc = GeneClustering(
        n_clusters=3, random_state=0, model_params={**PARAMS, "device": "cuda"}, **ONE
    ).fit(X)
    assert str(gc.model_.device_).startswith("cuda")
    # several fits on the GPU, through joblib's processes
    pair = GeneClustering(
        n_clusters=3, n_fits=2, n_jobs=2, random_state=0, model_params={**PARAMS, "device": "cuda"}
    ).fit(X)
    assert all(str(m.device_).startswith("cuda") for m in pair.models_)
    np.testing.assert_array_equal(gc.predict(X), gc.labels_)
    assert gc.generate(4).shape == (3, 4, X.shape[1])
    path = gc.model_.save(tmp_path / "gpu_pipeline.pt")
    from rvagene import load

    cpu = load(path, device="cpu")
    np.testing.assert_allclose(cpu.transform(X), gc.model_.transform(X), atol=1e-4)


def test_genes_of_one_shape_are_named():
    """Genes that all follow one shape: the fit warns that the model learns only that shape."""
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 12)
    X = np.sin(6 * t) + 0.05 * rng.standard_normal((30, 12))
    with pytest.warns(UserWarning, match="The genes share one shape"):
        GeneClustering(n_clusters=2, random_state=0, model_params=PARAMS, **ONE).fit(X)


def test_auto_fits_two_then_more_when_they_disagree(genes):
    """n_fits="auto": the 2 first fits' agreement decides whether 3 more are fitted."""
    from sklearn.metrics import adjusted_rand_score

    import rvagene.pipeline as pipeline

    X, _ = genes
    gc = GeneClustering(n_clusters=3, random_state=0, model_params=PARAMS).fit(X)
    first = sorted(gc.models_[:2], key=lambda m: fit_seeds(0, 5).index(m.random_state))
    agree = min(
        adjusted_rand_score(*(cluster_latent(embed(m, X, s), 3, random_state=0).labels_
                              for m in first))
        for s in ("latent", "decoded")
    )  # fmt: skip
    assert len(gc.models_) == (2 if agree >= pipeline.AUTO_AGREEMENT else 5)


@pytest.fixture(scope="module")
def one_shape():
    """40 genes that share one bump, in 2 groups by a small early or late shoulder."""
    t = np.linspace(0, 1, 24)
    y = np.repeat([0, 1], 20)
    shoulder = np.where(y[:, None] == 0, np.exp(-((t - 0.25) ** 2) / 0.003),
                        np.exp(-((t - 0.75) ** 2) / 0.003))  # fmt: skip
    bump = np.exp(-((t - 0.5) ** 2) / 0.02) + 0.3 * shoulder
    noise = 0.02 * np.random.default_rng(0).standard_normal((40, 24))
    return 3.0 + 2.0 * bump + noise, y


def test_auto_clusters_genes_of_one_shape_on_their_slopes(one_shape):
    X, y = one_shape
    assert between_gene_share(X) < 0.1
    gc = GeneClustering(n_clusters=2, random_state=0, model_params=PARAMS)
    with pytest.warns(UserWarning, match=r"share one shape.*space='slopes'"):
        gc.fit(X)
    assert (gc.space_, gc.embedding_space_, gc.generation_space_) == ("slopes", "slopes", "latent")
    assert len(gc.models_) == 1  # the clusters do not depend on the fit: one, to generate
    km = cluster_latent(slopes(X), 2, random_state=0)
    np.testing.assert_array_equal(gc.labels_, km.labels_)
    assert abs(np.corrcoef(gc.labels_, y)[0, 1]) == pytest.approx(1.0)
    np.testing.assert_array_equal(gc.embedding_, slopes(X))
    np.testing.assert_allclose(gc.embedding_centers_, km.cluster_centers_)
    np.testing.assert_allclose(gc.probabilities_, soft_assignment(slopes(X), km.cluster_centers_))
    np.testing.assert_array_equal(gc.predict(X), gc.labels_)
    Z = gc.model_.transform(X)  # generation draws around the members' latent means
    np.testing.assert_allclose(gc.cluster_centers_, [Z[gc.labels_ == j].mean(0) for j in (0, 1)])
    assert gc.generate(4).shape == (2, 4, 24)


def test_a_model_space_on_one_shape_warns_and_names_slopes(one_shape):
    X, _ = one_shape
    gc = GeneClustering(n_clusters=2, random_state=0, model_params=PARAMS, **ONE)
    with pytest.warns(UserWarning, match=r"share one shape.*space='slopes'.*picks it"):
        gc.fit(X)
    assert gc.space_ == "latent"


def test_genes_of_different_shapes_give_no_shape_warning(genes):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        assert between_gene_share(genes[0]) > 0.5

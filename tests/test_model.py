import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import sine_blobs
from sklearn.exceptions import NotFittedError

from rvagene import LambdaCallback, RVAgene, generate_around_centres, load


def test_fit_returns_self(tiny, fast_params):
    X, _ = tiny
    model = RVAgene(**fast_params)
    assert model.fit(X) is model
    assert model.n_features_in_ == 8
    assert model.n_dims_ == 1
    assert len(model.loss_curve_) == model.n_iter_ == 2
    assert set(model.history_) >= {"loss", "reconstruction", "kl", "val_loss"}


def test_a_failed_refit_leaves_no_fit(tiny, fast_params):
    # the earlier fit's network stayed with the new data's n_features_in_ and bin_width_:
    # series of the new length were transformed by a network fitted on bins of 100 points
    X, _ = tiny
    long = np.random.default_rng(0).standard_normal((20, 100)).cumsum(axis=1)
    model = RVAgene(**fast_params).fit(long)
    assert model.bin_width_ == 2
    model.set_params(validation_fraction=0.99)
    with pytest.raises(ValueError, match="leaves none to train on"):
        model.fit(X[:10])
    for method in ("transform", "reconstruct"):
        with pytest.raises(NotFittedError):
            getattr(model, method)(X[:10])
    assert not hasattr(model, "history_")
    model.set_params(validation_fraction=0.1)
    np.testing.assert_array_equal(  # and a fit that works is as a fresh one
        model.fit(X).transform(X), RVAgene(**fast_params).fit(X).transform(X)
    )


def test_not_fitted_error(tiny):
    X, _ = tiny
    for method in ("transform", "reconstruct", "score"):
        with pytest.raises(NotFittedError):
            getattr(RVAgene(), method)(X)
    with pytest.raises(NotFittedError):
        RVAgene().decode(np.zeros((1, 3)))


@pytest.mark.parametrize("batch_size", [10, 100])
@pytest.mark.parametrize("early_stopping", [False, True])
def test_no_gene_dropped(data53, batch_size, early_stopping):
    """Every epoch trains on every training gene once (the last, partial batch too), and
    the genes held out for early stopping are all the others."""
    seen = {"train": [], "held out": set()}

    def record(module, args):
        rows = {x.detach().numpy().tobytes() for x in args[0]}
        if module.training:
            seen["train"][-1].extend(rows)
        else:
            seen["held out"].update(rows)

    def begin(state):
        state.module.register_forward_pre_hook(record)

    def new_epoch(state):
        seen["train"].append([])
        seen["n_train"] = state.n_train

    hooks = LambdaCallback(on_train_begin=begin, on_epoch_begin=new_epoch)
    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=3,
        batch_size=batch_size,
        early_stopping=early_stopping,
        random_state=0,
        callbacks=[hooks],
    ).fit(data53)
    n_train = seen["n_train"]
    assert len(seen["train"]) == 3
    for rows in seen["train"]:
        n_rows, n_genes = len(rows), len(set(rows))
        assert (n_rows, n_genes) == (n_train, n_train)  # each training gene once per epoch
    n_seen = len(set(seen["train"][0]) | seen["held out"])
    assert n_seen == 53
    if early_stopping:
        assert n_train < 53
        assert not set(seen["train"][0]) & seen["held out"]
    else:
        assert n_train == 53
    assert model.transform(data53).shape == (53, 2)
    assert model.reconstruct(data53).shape == (53, 12)


def test_feature_names_out_and_pandas_output(tiny, fast_params):
    # a transformer without get_feature_names_out: set_output, and a Pipeline's, raised
    pd = pytest.importorskip("pandas")
    from sklearn import config_context

    from rvagene import GeneClustering, generation_scores

    X, _ = tiny
    with pytest.raises(NotFittedError):
        RVAgene(**fast_params).get_feature_names_out()
    model = RVAgene(**fast_params).fit(X)
    assert list(model.get_feature_names_out()) == ["rvagene0", "rvagene1"]
    Z = model.set_output(transform="pandas").transform(X)
    assert isinstance(Z, pd.DataFrame)
    assert list(Z.columns) == ["rvagene0", "rvagene1"]
    np.testing.assert_array_equal(Z.to_numpy(), model.set_output(transform="default").transform(X))
    params = dict(n_clusters=3, n_fits=2, random_state=0, model_params=dict(fast_params))
    del params["model_params"]["random_state"]
    expected = GeneClustering(**params).fit(X)
    with config_context(transform_output="pandas"):  # the models inside give arrays
        gc = GeneClustering(**params).fit(X)
        np.testing.assert_array_equal(gc.labels_, expected.labels_)
        np.testing.assert_array_equal(gc.generate(3), expected.generate(3))
        scores = generation_scores(gc.model_, gc.generate(3), X, gc.labels_, gc.cluster_centers_)
    assert scores == generation_scores(
        gc.model_, gc.generate(3), X, gc.labels_, gc.cluster_centers_
    )


def test_batch_size_larger_than_gene_count(data53):
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=2, batch_size=500, random_state=0)
    assert model.fit_transform(data53).shape == (53, 2)


@pytest.mark.parametrize("n", [0, 1, 3, 1000])  # 0: "torch.cat(): expected a non-empty list"
def test_decode_any_number(fitted53, n):
    Z = np.random.default_rng(0).standard_normal((n, 2))
    assert fitted53.decode(Z).shape == (n, 12)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "20"])
def test_decode_bad_n_timepoints(fitted53, bad):
    # 0 decoded the fitted length, 2.5 two points, -3 a torch RuntimeError
    with pytest.raises(ValueError, match="n_timepoints must be None .* or an integer >= 1"):
        fitted53.decode(np.zeros((1, 2)), n_timepoints=bad)
    assert fitted53.decode(np.zeros((1, 2)), n_timepoints=np.int64(20)).shape == (1, 20)


def test_decode_wrong_latent_size(fitted53):
    with pytest.raises(ValueError, match="latent_length=2"):
        fitted53.decode(np.zeros((4, 3)))


def test_sample(fitted53):
    assert fitted53.sample(4, random_state=0).shape == (4, 12)
    np.testing.assert_array_equal(fitted53.sample(4, 1), fitted53.sample(4, 1))
    # z is drawn from the prior N(0, I) and decoded
    z = np.random.default_rng(3).standard_normal((4, fitted53.latent_length))
    np.testing.assert_allclose(
        fitted53.sample(4, np.random.default_rng(3)), fitted53.decode(z), atol=1e-6
    )
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n_samples must be a positive integer"):
            fitted53.sample(bad)
    assert not hasattr(fitted53, "generate")  # generation around clusters is rvagene.pipeline's


def test_3d_input(fast_params):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25, 9, 2))
    model = RVAgene(**fast_params).fit(X)
    assert model.transform(X).shape == (25, 2)
    assert model.reconstruct(X).shape == X.shape
    assert model.decode(np.zeros((2, 2))).shape == (2, 9, 2)
    with pytest.raises(ValueError, match="values per time point"):
        model.transform(X[:, :, :1])


def test_wrong_number_of_timepoints(fitted53, data53):
    with pytest.raises(ValueError, match="12 features"):
        fitted53.transform(data53[:, :10])


def test_sequence_length_checked(data53):
    with pytest.raises(ValueError, match="sequence_length=20"):
        RVAgene(sequence_length=20, n_epochs=1).fit(data53)


def test_torch_dataset_input(fast_params):
    X = torch.randn(20, 7, 1)
    ds = torch.utils.data.TensorDataset(X)
    model = RVAgene(**fast_params).fit(ds)
    np.testing.assert_allclose(model.transform(ds), model.transform(X.numpy()), rtol=1e-6)


def test_same_seed_same_result_and_global_rng_untouched(tiny, fast_params):
    X, _ = tiny
    torch.manual_seed(123)
    np.random.seed(123)  # noqa: NPY002
    state_t, state_np = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    a = RVAgene(**fast_params).fit(X).transform(X)
    b = RVAgene(**fast_params).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), state_t)
    assert np.random.get_state()[1].tolist() == state_np[1].tolist()  # noqa: NPY002
    c = RVAgene(**{**fast_params, "random_state": 1}).fit(X).transform(X)
    assert not np.array_equal(a, c)


def test_random_state_none_leaves_numpy_global_rng_alone(tiny, fast_params):
    X, _ = tiny
    params = {**fast_params, "random_state": None, "n_epochs": 1}

    def numpy_state():
        _, keys, position, *_ = np.random.get_state()  # noqa: NPY002
        return keys.tolist(), position

    np.random.seed(5)  # noqa: NPY002
    state = numpy_state()
    a = RVAgene(**params).fit(X).transform(X)
    assert numpy_state() == state
    np.random.seed(5)  # noqa: NPY002
    b = RVAgene(**params).fit(X).transform(X)
    assert not np.array_equal(a, b)  # a fresh seed each fit, not one from numpy's state


def test_save_load_round_trip(tmp_path, fitted53, data53):
    path = fitted53.save(tmp_path / "model.pt")
    loaded = load(path)
    np.testing.assert_array_equal(loaded.transform(data53), fitted53.transform(data53))
    assert loaded.get_params() == fitted53.get_params()
    assert loaded.history_ == fitted53.history_
    with pytest.raises(FileExistsError, match="overwrite=True"):
        fitted53.save(path)
    fitted53.save(path, overwrite=True)


def test_scaling_changed_after_fit_waits_for_the_next_fit(tmp_path, data53):
    # transform, reconstruct and a saved file read self.scaling: set_params(scaling="none")
    # after fit ran unscaled series through a network fitted on z-scores, without a word
    model = RVAgene(hidden_size=4, latent_length=2, n_epochs=2, random_state=0).fit(data53)
    Z, R = model.transform(data53), model.reconstruct(data53)
    model.set_params(scaling="none")
    assert model.scaling_ == "zscore"
    np.testing.assert_array_equal(model.transform(data53), Z)
    np.testing.assert_array_equal(model.reconstruct(data53), R)
    loaded = load(model.save(tmp_path / "m.pt"))
    assert (loaded.scaling, loaded.scaling_) == ("none", "zscore")
    np.testing.assert_array_equal(loaded.transform(data53), Z)
    payload = torch.load(tmp_path / "m.pt", weights_only=True)  # a file from before scaling_
    del payload["attributes"]["scaling_"]
    payload["params"]["scaling"] = "zscore"
    torch.save(payload, tmp_path / "old.pt")
    np.testing.assert_array_equal(load(tmp_path / "old.pt").transform(data53), Z)


def test_save_load_model_fitted_on_a_dataframe(tmp_path, data53):
    # string column names become feature_names_in_ (an object array), which torch cannot
    # store as a tensor: save raised TypeError for any model fitted on such a DataFrame
    pd = pytest.importorskip("pandas")  # not a dependency (the lowest-versions CI has none)

    frame = pd.DataFrame(data53, columns=[f"t{i}" for i in range(data53.shape[1])])
    model = RVAgene(hidden_size=4, latent_length=2, n_epochs=1, random_state=0).fit(frame)
    loaded = load(model.save(tmp_path / "m.pt"))
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    np.testing.assert_array_equal(loaded.transform(frame), model.transform(frame))
    renamed = frame.rename(columns={"t0": "x0"})
    with pytest.raises(ValueError, match="feature names"):
        loaded.transform(renamed)  # still checked against the fitted names


def test_save_bare_name_goes_to_dload(tmp_path, data53):
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=1, dload=str(tmp_path))
    model.fit(data53)
    assert model.save("m.pt") == tmp_path / "m.pt"


def test_a_loaded_model_writes_where_it_is_loaded_not_where_it_was_saved(
    tmp_path, monkeypatch, data53
):
    # before: load kept the saving machine's dload, so a bare-name save and a refit's log
    # went to (and recreated) a folder of that machine, or failed where it cannot be made
    saving = tmp_path / "machine_a" / "run1"
    model = RVAgene(hidden_size=4, latent_length=2, n_epochs=1, dload=str(saving))
    path = model.set_params(log_file="train.log").fit(data53).save("m.pt")
    moved = path.rename(tmp_path / "m.pt")
    shutil.rmtree(tmp_path / "machine_a")  # the other machine has no such folder
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    loaded = load(moved)
    assert loaded.dload == "."
    assert loaded.log_file == "train.log"  # a name in dload: a setting, kept
    assert loaded.save("again.pt") == Path("again.pt")
    loaded.fit(data53)
    assert (tmp_path / "here" / "train.log").is_file()
    assert not (tmp_path / "machine_a").exists()


def test_save_path_with_a_folder_part_is_taken_as_given(tmp_path, monkeypatch, fitted53):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    model = fitted53.set_params(dload=str(tmp_path / "models"))
    try:
        assert model.save("./m.pt") == Path("m.pt")  # the current folder, as written
        assert (tmp_path / "here" / "m.pt").is_file()
        assert model.save("m.pt") == tmp_path / "models" / "m.pt"  # a bare name: dload
    finally:
        model.set_params(dload=".")


def test_save_to_a_folder_that_cannot_be_written_names_the_file(tmp_path, monkeypatch, fitted53):
    # before: "[Errno 13] Permission denied: '<dload>/.m.hrsfrtzu.tmp.pt'", the name of the
    # temporary file that save writes first, which the user never gave. The folder's refusal
    # is simulated, as chmod does not stop root.
    import tempfile

    def refuse(*args, dir=None, **kwargs):  # noqa: A002 (mkstemp's argument name)
        raise PermissionError(13, "Permission denied", f"{dir}/.m.hrsfrtzu.tmp.pt")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    model = fitted53.set_params(dload=str(tmp_path))
    try:
        with pytest.raises(PermissionError, match=r"Cannot save to .*m\.pt: Permission denied\. "
                           "Choose a folder you can write to") as err:  # fmt: skip
            model.save("m.pt")
    finally:
        model.set_params(dload=".")
    assert ".tmp" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_a_save_that_fails_keeps_the_errors_number(tmp_path, monkeypatch, fitted53):
    """Before: the error raised again with the file's name lost its errno (None), so a
    caller testing err.errno == errno.ENOSPC missed a full disk, and the message told
    the user to choose a folder they can write to, for a disk that is full."""
    import errno
    import tempfile

    def full(*args, dir=None, **kwargs):  # noqa: A002 (mkstemp's argument name)
        raise OSError(errno.ENOSPC, "No space left on device", f"{dir}/.m.abcdefgh.tmp.pt")

    monkeypatch.setattr(tempfile, "mkstemp", full)
    model = fitted53.set_params(dload=str(tmp_path))
    try:
        with pytest.raises(
            OSError, match=r"m\.pt: No space left on device\. Free some space"
        ) as err:
            model.save("m.pt")
    finally:
        model.set_params(dload=".")
    assert err.value.errno == errno.ENOSPC
    assert ".tmp" not in str(err.value)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "changed",
    [{"hidden_size": 5}, {"latent_length": 3}, {"block": "LSTM"}, {"hidden_layer_depth": 2}],
)
def test_save_refuses_network_parameters_changed_since_fit(tmp_path, data53, changed):
    model = RVAgene(hidden_size=4, latent_length=2, n_epochs=1, random_state=0).fit(data53)
    before = model.get_params()
    model.set_params(**changed)
    name = next(iter(changed))
    with pytest.raises(ValueError, match=rf"{name}=.* \(fitted with .*\) changed since fit.*"
                       "Fit again, or set them back"):  # fmt: skip
        model.save(tmp_path / "m.pt")
    assert not (tmp_path / "m.pt").exists()
    model.set_params(**{name: before[name]})  # set back: saves and loads
    np.testing.assert_array_equal(load(model.save(tmp_path / "m.pt")).transform(data53),
                                  model.transform(data53))  # fmt: skip


@pytest.mark.parametrize(
    "loss",
    [torch.nn.HuberLoss(delta=0.3), torch.nn.SmoothL1Loss(beta=0.25, reduction="sum")],
    ids=["huber", "smoothl1"],
)
def test_loss_instance_is_saved_with_its_settings(tmp_path, data53, loss):
    model = RVAgene(hidden_size=4, latent_length=2, n_epochs=2, loss=loss, random_state=0)
    model.fit(data53)
    loaded = load(model.save(tmp_path / "m.pt"))
    assert type(loaded.loss) is type(loss)
    assert vars(loaded.loss) == vars(loss)  # delta / beta and reduction, not the defaults
    assert loaded.score(data53) == model.score(data53)


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "bad.pt"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(ValueError, match="not an rvagene model"):
        load(bad)
    text = tmp_path / "text.pt"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an rvagene model"):
        load(text)


def test_load_refuses_code_payload(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            import os

            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"format_version": 1, "x": Payload()}, evil)
    with pytest.raises(ValueError, match="carries code"):
        load(evil)
    assert not marker.exists()


def test_loss_goes_down():
    X, _ = sine_blobs(n_per=10, T=20)
    model = RVAgene(
        hidden_size=16, latent_length=2, n_epochs=80, early_stopping=False, random_state=0
    ).fit(X)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]


def test_learns_clusters():
    from rvagene import cluster_latent, clustering_scores

    X, y = sine_blobs(n_per=15, T=25, k=3)
    model = RVAgene(hidden_size=32, latent_length=2, random_state=0).fit(X)
    labels = cluster_latent(model.transform(X), 3).labels_
    assert clustering_scores(y, labels)["ari"] > 0.9
    assert model.best_epoch_ <= model.n_iter_


def test_early_stopping_restores_best(tiny):
    X, _ = tiny
    # batch_size=1: 27 steps per epoch, so the 200-step warm-up is 8 epochs, and so is the
    # patience (n_iter_no_change=3 epochs are 81 steps, under the 200-step floor). The
    # plateau schedule: a one cycle runs to its end whatever the held-out loss does.
    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=200,
        n_iter_no_change=3,
        batch_size=1,
        learning_rate=0.05,
        lr_schedule="plateau",
        random_state=0,
    ).fit(X)
    val = model.history_["val_loss"]
    assert model.stopped_by_ == "early_stopping"
    assert model.n_iter_ < 200
    assert model.best_epoch_ == int(np.argmin(val)) + 1
    assert model.n_iter_ >= model.best_epoch_ + 8


def test_long_epochs_are_checked_in_parts():
    """More than 50 steps per epoch: the loss is checked after each part of an epoch."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6)).cumsum(axis=1)
    # 120 genes, batch 1, no validation: 120 steps per epoch -> 3 parts of 40 steps.
    model = RVAgene(
        hidden_size=4,
        latent_length=2,
        n_epochs=2,
        batch_size=1,
        early_stopping=False,
        print_every=0,
        random_state=0,
    ).fit(X)
    assert model.n_checks_ == 6
    assert model.n_iter_ == 2
    assert model.history_["epoch"] == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2])
    assert len(model.history_["loss"]) == 6
    # Up to 50 steps per epoch: one check per epoch, as before.
    model = RVAgene(
        hidden_size=4,
        latent_length=2,
        n_epochs=2,
        batch_size=3,
        early_stopping=False,
        print_every=0,
        random_state=0,
    ).fit(X)
    assert model.n_iter_ == 2
    assert model.history_["epoch"] == [1, 2]


def test_max_steps_bounds_training():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6)).cumsum(axis=1)
    model = RVAgene(
        hidden_size=4,
        latent_length=2,
        n_epochs=50,
        batch_size=1,
        max_steps=130,
        early_stopping=False,
        print_every=0,
        random_state=0,
    ).fit(X)
    assert model.n_steps_ == 130
    assert model.stopped_by_ == "max_steps"
    assert model.history_["epoch"][-1] == pytest.approx(130 / 120)
    with pytest.raises(ValueError, match="max_steps must be None"):
        RVAgene(max_steps=0).fit(X)


def test_onecycle_runs_its_cycle_and_keeps_the_best_check():
    from rvagene._train import CYCLE_STEPS, TrainConfig, cycle_steps

    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 6)).cumsum(axis=1)
    rates = []
    record = LambdaCallback(on_step=lambda s: rates.append(s.optimizer.param_groups[0]["lr"]))
    params = dict(hidden_size=4, latent_length=2, print_every=0, random_state=0)
    model = RVAgene(lr_schedule="onecycle", learning_rate=0.02, callbacks=[record], **params)
    model.fit(X)
    # 36 training genes, 2 steps per epoch: the whole cycle, never stopped early
    assert model.n_steps_ == len(rates) == CYCLE_STEPS == cycle_steps(TrainConfig(), 36)
    assert model.stopped_by_ == "cycle"  # its planned end, not max_steps (2,500)
    assert rates[0] == pytest.approx(0.002, rel=0.01)  # peak / 10 after the first step
    assert max(rates) == pytest.approx(0.02, rel=1e-3)  # the peak, a quarter in
    assert int(np.argmax(rates)) == pytest.approx(CYCLE_STEPS / 4, abs=2)
    assert rates[-1] == pytest.approx(0.02 / 50, rel=0.05)  # the cosine's floor
    val = model.history_["val_loss"]
    assert model.best_check_ == int(np.argmin(val)) + 1  # the best check's weights are kept
    # max_steps still bounds the cycle
    short = RVAgene(lr_schedule="onecycle", max_steps=50, **params).fit(X)
    assert short.n_steps_ == 50
    assert short.stopped_by_ == "max_steps"
    tiny = RVAgene(max_steps=4, **params).fit(X)  # too short to cycle: the plain rate
    assert tiny.n_steps_ == 4
    with pytest.raises(ValueError, match="Unknown lr_schedule 'cosine'"):
        RVAgene(lr_schedule="cosine").fit(X)


def test_small_gene_sets_are_not_stopped_on_the_initial_plateau():
    """45 genes: 2 steps per epoch; the 200-step warm-up keeps training past the plateau."""
    X, _ = sine_blobs(n_per=15, T=25, k=3)
    model = RVAgene(hidden_size=16, latent_length=2, random_state=0).fit(X)
    assert model.n_iter_ >= 100
    assert min(model.history_["val_loss"]) < 0.5 * model.history_["val_loss"][0]


def test_reconstruct_on_input_scale():
    X, _ = sine_blobs(n_per=10, T=20)
    X = X * 100 + 500
    model = RVAgene(hidden_size=16, latent_length=2, n_epochs=40, random_state=0).fit(X)
    R = model.reconstruct(X)
    assert abs(R.mean() - X.mean()) < 5
    assert np.mean((R - X) ** 2) < np.var(X)


def test_score_is_minus_the_per_gene_reconstruction_error_plus_the_full_kl(data53):
    # score counts the KL in full whatever kl_weight the model was trained with
    from rvagene.data import scale_series

    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=3, kl_weight=0.1, loss="MSELoss")
    model.set_params(random_state=0).fit(data53)
    scaled, centre, scale = scale_series(data53)
    rebuilt = (model.reconstruct(data53) - centre) / scale
    reconstruction = ((scaled - rebuilt) ** 2).sum(axis=1)
    mean, variance = model.latent_posterior(data53)
    kl = 0.5 * (mean**2 + variance - np.log(variance) - 1).sum(axis=1)
    expected = -(reconstruction + kl).mean()
    assert model.score(data53) == pytest.approx(expected, rel=1e-4)
    assert model.score(data53) != pytest.approx(-(reconstruction + 0.1 * kl).mean(), rel=1e-4)


@pytest.mark.parametrize("scaling", ["zscore", "minmax", "none"])
def test_scalings(tiny, fast_params, scaling):
    X, _ = tiny
    model = RVAgene(scaling=scaling, **fast_params).fit(X)
    assert np.isfinite(model.reconstruct(X)).all()


def test_constant_gene_is_fine(fast_params):
    X = np.random.default_rng(0).standard_normal((12, 6))
    X[3] = 5.0
    model = RVAgene(**fast_params).fit(X)
    assert np.isfinite(model.transform(X)).all()


@pytest.mark.parametrize("scaling", ["zscore", "minmax"])
def test_flat_gene_reconstructs_to_its_constant(scaling):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((12, 10)).cumsum(axis=1) * 1e-3  # data of scale 1e-3
    X[0] = 2e-3  # a flat gene: scaling gives it scale 1, so z units must not reach it
    X[1, :4] = 5.0  # flat where observed, NaN elsewhere
    X[1, 4:] = np.nan
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=3, scaling=scaling, random_state=0)
    R = model.fit(X).reconstruct(X)
    np.testing.assert_allclose(R[0], 2e-3, rtol=1e-12)
    np.testing.assert_allclose(R[1], 5.0, rtol=1e-12)
    assert not np.allclose(R[2], R[2, 0])  # other genes are rebuilt by the decoder


def test_missing_values_are_masked_and_imputed(tiny, fast_params):
    X, _ = tiny
    X = X.copy()
    X[0, 2] = np.nan
    X[5, 0] = np.nan
    model = RVAgene(**fast_params).fit(X)
    assert np.isfinite(model.transform(X)).all()
    R = model.reconstruct(X)
    assert np.isfinite(R).all()
    assert np.isfinite(model.score(X))


def test_masked_values_are_missing_not_data(tiny, fast_params):
    # np.asarray drops a masked array's mask: the values under it were read as data
    from rvagene import cluster_offsets
    from rvagene.data import plain_missing

    X, labels = tiny
    masked = np.ma.masked_array(X.copy(), mask=np.zeros(X.shape, dtype=bool))
    masked[0, 2] = np.ma.masked
    masked.data[0, 2] = 1e3  # a value nobody measured
    with_nan = X.copy()
    with_nan[0, 2] = np.nan
    model = RVAgene(**fast_params).fit(masked)
    np.testing.assert_array_equal(
        model.transform(masked), RVAgene(**fast_params).fit(with_nan).transform(with_nan)
    )
    np.testing.assert_array_equal(model.reconstruct(masked), model.reconstruct(with_nan))
    np.testing.assert_array_equal(
        cluster_offsets(model, masked, labels, 3), cluster_offsets(model, with_nan, labels, 3)
    )
    ints = np.ma.masked_array(np.arange(24).reshape(3, 8) % 5, mask=np.eye(3, 8, dtype=bool))
    assert np.isnan(plain_missing(ints)[np.eye(3, 8, dtype=bool)]).all()


def test_nullable_dataframe_columns_are_read_with_nan(tiny, fast_params):
    # pandas' nullable dtypes hold pd.NA: check_input raised "float() argument must be ...
    # not 'NAType'" where a float DataFrame with NaN works
    pd = pytest.importorskip("pandas")
    X, _ = tiny
    names = [f"t{i}" for i in range(X.shape[1])]
    with_nan = X.copy()
    with_nan[0, 2] = np.nan
    frame = pd.DataFrame(X, columns=names).astype("Float64")
    frame.iloc[0, 2] = pd.NA
    model = RVAgene(**fast_params).fit(frame)
    assert list(model.feature_names_in_) == names
    plain = pd.DataFrame(with_nan, columns=names)
    expected = RVAgene(**fast_params).fit(plain).transform(plain)
    np.testing.assert_allclose(model.transform(frame), expected, atol=1e-6)  # float rounding


def test_all_nan_gene_rejected(fast_params):
    X = np.random.default_rng(0).standard_normal((12, 6))
    X[2] = np.nan
    with pytest.raises(ValueError, match=r"row 3 \(X\[2\]\) has no observed value"):
        RVAgene(**fast_params).fit(X)


def test_non_finite_loss_restores_and_raises(tiny):
    from rvagene import LambdaCallback

    X, _ = tiny

    def poison(state):  # a NaN weight at the start of epoch 3: its first loss is NaN
        if state.epoch == 3:
            next(state.module.parameters()).data.fill_(float("nan"))

    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=10,
        random_state=0,
        callbacks=[LambdaCallback(on_epoch_begin=poison)],
    )
    with pytest.raises(FloatingPointError, match="epoch 3; the weights of epoch 2 were restored"):
        model.fit(X)
    for p in model.module_.parameters():
        assert torch.isfinite(p).all()


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_a_fit_stopped_by_an_error_leaves_no_fit(tiny, fast_params, error):
    # before: Ctrl-C (or a callback's error) after 2 steps left module_ with those weights
    # and no history_; transform, sample and save used the barely trained network silently
    X, _ = tiny

    def stop(state):
        if state.step == 2:
            raise error

    model = RVAgene(**fast_params).fit(X)
    model.set_params(callbacks=[LambdaCallback(on_step=stop)])
    with pytest.raises(error):
        model.fit(X)
    for method in ("transform", "reconstruct"):
        with pytest.raises(NotFittedError):
            getattr(model, method)(X)
    with pytest.raises(NotFittedError):
        model.sample(2)
    assert not [name for name in vars(model) if name.endswith("_")]


def test_nan_from_extreme_learning_rate_never_leaves_nan_weights(tiny):
    X, _ = tiny
    model = RVAgene(
        hidden_size=8, latent_length=2, n_epochs=5, clip=False, learning_rate=1e30, random_state=0
    )
    try:
        model.fit(X)
    except FloatingPointError:
        pass
    for p in model.module_.parameters():
        assert torch.isfinite(p).all()


def test_log_file_written_and_closed(tmp_path, tiny):
    X, _ = tiny
    RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=3,
        print_every=1,
        dload=str(tmp_path),
        log_file="train.log",
        random_state=0,
    ).fit(X)
    text = (tmp_path / "train.log").read_text()
    assert "epoch 3" in text
    assert "step 1: loss per gene" in text
    assert all(line.startswith("seed 0: epoch ") for line in text.splitlines())  # the fit


@pytest.mark.parametrize(
    ("dload", "log_file", "why"),
    [
        ("a_file", "train.log", "a_file is a file, not a folder"),
        (".", "a_file/train.log", "a_file is a file, not a folder"),
        (".", "a_folder", "it is a folder"),
    ],
)
def test_log_file_that_cannot_be_written_is_refused_before_the_fit(
    tmp_path, monkeypatch, tiny, fast_params, dload, log_file, why
):
    # before: the system's bare error (FileExistsError: File exists: 'a_file') when the fit
    # began, which named neither parameter, after the earlier fit had been forgotten and
    # with a network of untrained weights left in its place (transform answered with it)
    X, _ = tiny
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a folder")
    (tmp_path / "a_folder").mkdir()
    model = RVAgene(**fast_params).fit(X)
    Z = model.transform(X)
    model.set_params(dload=dload, log_file=log_file)
    with pytest.raises(ValueError, match=rf"log_file .* cannot be written: .*{why}\. Give dload"):
        model.fit(X)
    np.testing.assert_array_equal(model.transform(X), Z)  # the earlier fit is kept
    assert model.n_iter_ == len(model.loss_curve_)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"optimizer": "Adagrad"}, "Unknown optimizer"),
        ({"loss": "ReconLoss"}, "Unknown loss"),
        ({"block": "RNN"}, "Unknown block"),
        ({"device": "tpu"}, "Unknown device"),
        ({"device": "cuda:one"}, "Unknown device"),  # before: the CPU, warning of no CUDA
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"latent_length": 0}, "latent_length must be"),
        ({"hidden_size": 0}, "hidden_size must be"),
        ({"n_epochs": 0}, "n_epochs must be"),
        ({"scaling": "log"}, "Unknown scaling"),
        # a Generator, a float or a negative seed got check_random_state's "cannot be used
        # to seed a numpy.random.RandomState instance", after the data were checked
        ({"random_state": np.random.default_rng(0)}, r"random_state must be .*rng.integers"),
        ({"random_state": 1.5}, "random_state must be None, an int in"),
        ({"random_state": -1}, "random_state must be None, an int in"),
    ],
)
def test_bad_parameters(tiny, params, match):
    X, _ = tiny
    with pytest.raises(ValueError, match=match):
        RVAgene(**params).fit(X)


def test_optimizer_case_insensitive_and_loss_instance(tiny, fast_params):
    X, _ = tiny
    model = RVAgene(optimizer="adam", loss=torch.nn.SmoothL1Loss(beta=0.5), **fast_params)
    model.fit(X)
    assert model.loss.reduction == "mean"  # the user's instance is not modified


def test_single_time_point_rejected(fast_params):
    with pytest.raises(ValueError, match="at least 2 time points"):
        RVAgene(**fast_params).fit(np.ones((5, 1)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lr_decay": 0.2}, r"lr_decay=0\.2 has no effect: .*lr_schedule='onecycle'"),
        ({"n_iter_no_change": 3}, r"n_iter_no_change=3 has no effect"),
        ({"tol": 0.1, "lr_schedule": "plateau", "early_stopping": False}, r"tol=0\.1 has no"),
        ({"clip": False, "max_grad_norm": 2.0}, r"max_grad_norm=2\.0 has no effect: .*clip"),
        ({"dropout_rate": 0.5}, r"dropout_rate=0\.5 has no effect: .*hidden_layer_depth=1"),
        ({"print_every": 7}, r"print_every=7 has no effect: .*log_file=None"),
        ({"cuda": True, "device": "cpu"}, r"cuda=True has no effect: device='cpu' decides"),
        (  # before: without a word
            {"early_stopping": False, "validation_fraction": 0.3},
            r"validation_fraction=0\.3 has no effect: genes are held out only with "
            r"early_stopping=True",
        ),
    ],
)
def test_a_parameter_the_others_make_do_nothing_warns(tiny, fast_params, params, message):
    """As scikit-learn warns for l1_ratio without penalty='elasticnet'; the fit still runs."""
    X, _ = tiny
    with pytest.warns(UserWarning, match=message):
        RVAgene(**params, **fast_params).fit(X)


@pytest.mark.parametrize(
    "params",
    [
        {"lr_schedule": "plateau", "lr_decay": 0.2, "n_iter_no_change": 3, "tol": 0.1},
        {"lr_schedule": "plateau", "early_stopping": False, "n_iter_no_change": 3},
        {"hidden_layer_depth": 2, "dropout_rate": 0.5},
        {"max_grad_norm": 2.0, "print_every": 7, "log_file": "fit.log"},
        {"cuda": True, "lr_decay": 0.5, "tol": 1e-3},  # values equal to the defaults say nothing
        {"print_every": 0, "clip": False, "max_grad_norm": None},  # "off" needs no warning
    ],
)
def test_parameters_that_act_do_not_warn(params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RVAgene(**params)._check_params()


def test_cuda_without_gpu_warns_and_uses_cpu(tiny, fast_params):
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    X, _ = tiny
    with pytest.warns(UserWarning, match="no CUDA device"):
        model = RVAgene(cuda=True, **fast_params).fit(X)
    assert model.device_ == "cpu"


@pytest.mark.gpu
def test_gpu_fit_save_load_on_cpu(tmp_path, tiny, fast_params):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, _ = tiny
    model = RVAgene(device="cuda", **fast_params).fit(X)
    assert model.device_.startswith("cuda")
    path = model.save(tmp_path / "gpu.pt")
    cpu = load(path, device="cpu")
    assert cpu.device_ == "cpu"
    np.testing.assert_allclose(cpu.transform(X), model.transform(X), atol=1e-4)


# --------------------------------------------------------------------------- uneven times

TIMES = np.array([0, 0.5, 1, 2, 4, 8, 12, 16, 20, 24, 36, 48.0])


def test_times_none_is_the_default_model(data53):
    """fit(X, times=None) is fit(X): the original network, no time input, same numbers."""
    params = dict(hidden_size=8, latent_length=2, n_epochs=3, batch_size=10, random_state=0)
    plain = RVAgene(**params).fit(data53)
    explicit = RVAgene(**params).fit(data53, times=None)
    assert plain.times_ is None
    assert plain.module_.steps is None
    assert plain.module_.config.times is None
    assert plain.module_.encoder.rnn.input_size == 1
    np.testing.assert_array_equal(plain.transform(data53), explicit.transform(data53))
    np.testing.assert_array_equal(plain.reconstruct(data53), explicit.reconstruct(data53))
    assert plain.loss_curve_ == explicit.loss_curve_


def test_times_change_the_model_input(data53):
    params = dict(hidden_size=8, latent_length=2, n_epochs=3, batch_size=10, random_state=0)
    plain = RVAgene(**params).fit(data53)
    timed = RVAgene(**params).fit(data53, times=TIMES)
    np.testing.assert_array_equal(timed.times_, TIMES)
    assert timed.module_.encoder.rnn.input_size == 2  # the value and the time step
    assert not np.allclose(timed.transform(data53), plain.transform(data53))
    # The same weights on another grid of the same length see other inputs.
    even = RVAgene(**params).fit(data53, times=np.arange(12.0))
    assert not np.allclose(even.transform(data53), timed.transform(data53))
    # Repeatable with a seed.
    again = RVAgene(**params).fit(data53, times=list(TIMES))
    np.testing.assert_array_equal(again.transform(data53), timed.transform(data53))


@pytest.fixture(scope="module")
def fitted_times(data53):
    return RVAgene(hidden_size=8, latent_length=2, n_epochs=3, batch_size=10, random_state=0).fit(
        data53, times=TIMES
    )


def test_times_used_by_every_method(tmp_path, fitted_times, data53):
    model = fitted_times
    Z = model.transform(data53)
    np.testing.assert_array_equal(model.transform(data53, times=TIMES), Z)
    assert model.reconstruct(data53, times=TIMES).shape == data53.shape
    assert np.isfinite(model.score(data53, times=TIMES))
    assert model.decode(Z[:3]).shape == (3, 12)
    assert generate_around_centres(model, Z[:2], 4, scale=0.3, random_state=0).shape == (2, 4, 12)
    generated = generate_around_centres(model, Z[:2], 4, X=data53, times=TIMES, random_state=0)
    assert generated.shape == (2, 4, 12)
    assert model.sample(5, random_state=0).shape == (5, 12)
    loaded = load(model.save(tmp_path / "timed.pt"))
    assert isinstance(loaded.times_, np.ndarray)
    np.testing.assert_array_equal(loaded.times_, TIMES)
    np.testing.assert_array_equal(loaded.transform(data53), Z)
    np.testing.assert_array_equal(loaded.decode(Z[:3]), model.decode(Z[:3]))
    assert model.fit_transform(data53, times=TIMES).shape == (53, 2)


def test_a_table_is_its_series_and_uneven_times(tmp_path, fitted_times, data53):
    """RVAgene takes read_table's table as GeneClustering does: its X, its uneven times."""
    from rvagene import read_table, write_table

    write_table(tmp_path / "genes.csv", data53, times=TIMES)
    table = read_table(tmp_path / "genes.csv")
    model = RVAgene(hidden_size=8, latent_length=2, n_epochs=3, batch_size=10, random_state=0)
    model.fit(table)
    np.testing.assert_array_equal(model.times_, TIMES)
    Z = fitted_times.transform(data53)
    np.testing.assert_array_equal(model.transform(table), Z)
    np.testing.assert_array_equal(model.latent_posterior(table)[0], Z)
    np.testing.assert_array_equal(model.reconstruct(table), fitted_times.reconstruct(data53))
    assert model.score(table) == fitted_times.score(data53)


def test_other_times_after_fit_are_refused(fitted_times, fitted53, data53):
    for method in ("transform", "reconstruct", "score"):
        with pytest.raises(ValueError, match="differ from the times this RVAgene was fitted"):
            getattr(fitted_times, method)(data53, times=TIMES * 2)
        with pytest.raises(ValueError, match="fitted without times"):
            getattr(fitted53, method)(data53, times=TIMES)
    with pytest.raises(ValueError, match="decodes onto them only"):
        fitted_times.decode(np.zeros((1, 2)), n_timepoints=20)
    with pytest.raises(ValueError, match="12 features"):
        fitted_times.transform(data53[:, :6], times=TIMES[:6])


@pytest.mark.parametrize(
    ("times", "match"),
    [
        (np.arange(5.0), "times has 5 values but X has 12 time points"),
        (np.r_[0, 1, 1, np.arange(3.0, 12)], r"increase strictly, but times\[2\] = 1 follows"),
        (np.arange(12.0)[::-1], "increase strictly"),
        (np.r_[np.nan, np.arange(1.0, 12)], "NaN or inf"),
        (np.zeros((2, 6)), "1-D"),
        (["a"] * 12, "must be numbers"),
    ],
)
def test_bad_times_at_fit(data53, times, match):
    with pytest.raises(ValueError, match=match):
        RVAgene(hidden_size=8, latent_length=2, n_epochs=1).fit(data53, times=times)


# --------------------------------------------------------------------------- replicates


def test_replicates_as_features_end_to_end(tmp_path, tiny, fast_params):
    """3-D input (genes, time, replicates), with and without times: every method works."""
    X, _ = tiny
    rng = np.random.default_rng(0)
    X3 = X[:, :, None] + 0.1 * rng.standard_normal((*X.shape, 3))
    times = np.array([0, 1, 2, 4, 8, 16, 24, 48.0])
    for t in (None, times):
        model = RVAgene(**fast_params).fit(X3, times=t)
        assert model.n_dims_ == 3
        assert model.module_.encoder.rnn.input_size == 3 + (t is not None)
        Z = model.transform(X3)
        assert Z.shape == (30, 2)
        assert model.reconstruct(X3).shape == X3.shape
        assert model.decode(Z[:4]).shape == (4, 8, 3)
        generated = generate_around_centres(model, Z[:2], 5, scale=0.3, random_state=0)
        assert generated.shape == (2, 5, 8, 3)
        generated = generate_around_centres(model, Z[:2], 5, X=X3, noise=True, random_state=0)
        assert generated.shape == (2, 5, 8, 3)
        assert np.abs(generated.mean() - X3.mean()) < 3 * X3.std()  # data units
        assert np.isfinite(model.score(X3))
        loaded = load(model.save(tmp_path / f"rep{t is None}.pt"))
        np.testing.assert_array_equal(loaded.transform(X3), Z)
        np.testing.assert_array_equal(loaded.reconstruct(X3), model.reconstruct(X3))
    with pytest.raises(ValueError, match="3 values per time point"):
        RVAgene(**fast_params).fit(X).transform(X3)


# --------------------------------------------------------------------------- long series

BINNED = dict(hidden_size=8, latent_length=2, n_epochs=2, batch_size=10, random_state=0)


@pytest.fixture(scope="module")
def long_series():
    """30 genes x 20 points, and the same series with the points of each pair swapped."""
    X, _ = sine_blobs(n_per=10, T=20, k=3, seed=3)
    swapped = X.reshape(len(X), 10, 2)[:, :, ::-1].reshape(len(X), 20)
    return X, swapped


def test_long_series_run_over_bins(long_series):
    """Above max_timepoints the network reads bin means: swapping two points of one bin
    keeps each bin's mean and the gene's scaling, so the code cannot change."""
    X, swapped = long_series
    model = RVAgene(max_timepoints=10, **BINNED).fit(X)
    assert model.bin_width_ == 2
    assert model.module_.config.times is None  # even bins: the original network
    np.testing.assert_allclose(model.transform(swapped), model.transform(X), atol=1e-6)
    every = RVAgene(max_timepoints=None, **BINNED).fit(X)
    assert every.bin_width_ == 1
    assert not np.allclose(every.transform(swapped), every.transform(X), atol=1e-3)
    short = RVAgene(max_timepoints=20, **BINNED).fit(X)  # short enough: every point
    np.testing.assert_array_equal(short.transform(X), every.transform(X))


def test_binned_outputs_on_the_input_points(tmp_path, long_series):
    X, _ = long_series
    model = RVAgene(max_timepoints=10, **BINNED).fit(X)
    Z = model.transform(X)
    assert model.reconstruct(X).shape == X.shape
    assert model.decode(Z[:3]).shape == (3, 20)
    assert model.sample(4, random_state=0).shape == (4, 20)
    decoded = model.decode(Z[:1])[0]
    # Linear between the bins' mean times 0.5, 2.5, ..., constant before the first: t = 0 is
    # bin 0, t = 1 and 2 are 1/4 and 3/4 of the way to bin 1.
    b0 = decoded[0]
    b1 = (decoded[2] - 0.25 * b0) / 0.75
    assert decoded[1] == pytest.approx(0.75 * b0 + 0.25 * b1, abs=1e-6)
    assert not np.allclose(decoded[:-1], decoded[1:])  # not a constant series
    with pytest.raises(ValueError, match="averaged in bins of 2"):
        model.decode(Z[:1], n_timepoints=30)
    loaded = load(model.save(tmp_path / "binned.pt"))
    assert loaded.bin_width_ == 2
    np.testing.assert_array_equal(loaded.reconstruct(X), model.reconstruct(X))
    # Format 2 for a binned model (an rvagene before the bins refuses it), 1 otherwise.
    every = RVAgene(max_timepoints=None, **BINNED).fit(X).save(tmp_path / "every.pt")
    for path, version in ((tmp_path / "binned.pt", 2), (every, 1)):
        assert torch.load(path, weights_only=True)["format_version"] == version
    payload = torch.load(every, weights_only=True)
    old = {**payload, "attributes": dict(payload["attributes"])}  # a file from before the bins
    del old["attributes"]["bin_width_"]
    torch.save(old, tmp_path / "old.pt")
    assert load(tmp_path / "old.pt").bin_width_ == 1
    torch.save({**payload, "format_version": 99}, tmp_path / "future.pt")
    with pytest.raises(ValueError, match="has model format 99; this rvagene reads formats 1, 2"):
        load(tmp_path / "future.pt")


def test_uneven_last_bin_gives_the_network_its_times(long_series):
    """19 points in bins of 2: the last bin is one point, so the network sees the bins' times."""
    X, _ = long_series
    model = RVAgene(max_timepoints=10, **BINNED).fit(X[:, :19])
    assert model.bin_width_ == 2
    assert model.module_.config.times == (*np.arange(0.5, 18, 2.0), 18.0)
    assert model.reconstruct(X[:, :19]).shape == (30, 19)
    assert np.isfinite(model.score(X[:, :19]))
    # decode and sample (as generate does) run the network over all 10 bins, the short too
    assert model.decode(model.transform(X[:2, :19])).shape == (2, 19)
    assert model.sample(3, random_state=0).shape == (3, 19)


@pytest.mark.parametrize("bad", [1, 0, 2.5, True, "64"])
def test_bad_max_timepoints(long_series, bad):
    with pytest.raises(ValueError, match="max_timepoints must be None"):
        RVAgene(max_timepoints=bad).fit(long_series[0])


def test_binned_missing_values_and_replicates(long_series):
    """A bin of missing values stays missing (masked, filled in by the model); replicates on
    the last axis are binned along time only."""
    X, _ = long_series
    gappy = X.copy()
    gappy[0, 4:6] = np.nan  # one whole bin of gene 0
    gappy[1, 7] = np.nan  # half a bin of gene 1
    model = RVAgene(max_timepoints=10, **BINNED).fit(gappy)
    filled = model.reconstruct(gappy)
    assert filled.shape == X.shape
    assert np.isfinite(filled).all()
    X3 = np.stack([X, X + 0.1], axis=2)  # (genes, 20 time points, 2 replicates)
    model = RVAgene(max_timepoints=10, **BINNED).fit(X3)
    assert model.bin_width_ == 2
    assert model.reconstruct(X3).shape == X3.shape
    assert model.decode(model.transform(X3)[:2]).shape == (2, 20, 2)


def test_an_array_parameter_without_effect_warns_not_raises():
    """Before: numpy's 'truth value of an array is ambiguous' from the default comparison."""
    model = RVAgene(clip=False, max_grad_norm=np.array([1.0, 2.0]))
    with pytest.warns(UserWarning, match="max_grad_norm=array.*has no effect"):
        model._check_params()


def test_saving_one_model_twice_writes_equal_bytes(tmp_path, fitted53, data53):
    """Before: torch.save named the archive's records after the random temporary file, so
    two saves (or two runs of the script with one seed) gave model files that differed."""
    first = fitted53.save(tmp_path / "a.pt")
    second = fitted53.save(tmp_path / "b.pt")
    assert first.read_bytes() == second.read_bytes()
    np.testing.assert_array_equal(load(second).transform(data53), fitted53.transform(data53))

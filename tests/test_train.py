"""The training engine: stopping rule, callbacks, progress output."""

import io

import numpy as np
import pytest
import torch

from rvagene import Callback, LambdaCallback, RVAgene
from rvagene._train import StoppingRule, TrainConfig, fit_module
from rvagene.network import RVAE, RVAEConfig


def test_stopping_rule_clock():
    rule = StoppingRule(n_train=100, batch_size=32, n_iter_no_change=10)
    assert (rule.steps_per_check, rule.warmup, rule.patience) == (4, 50, 50)
    big = StoppingRule(n_train=20_000, batch_size=32, n_iter_no_change=10)
    assert big.steps_per_check <= 50
    assert big.patience == 10  # 10 checks of ~50 steps already span 200 steps


def test_stopping_rule_waits_for_patience_and_warmup():
    rule = StoppingRule(n_train=32, batch_size=32, n_iter_no_change=1, tol=0.1)
    # 1 step per check: warm-up 200 checks, patience 200 checks
    assert rule.replay([1.0] * 1000) == 201  # the first check sets the reference
    assert rule.replay([1.0 / (i + 1) for i in range(300)]) == 300  # always improving
    rule.update(2.0)
    assert rule.update(1.0)
    assert rule.best_check == 2
    assert not rule.update(1.5)


def test_replay_matches_the_fit(tiny):
    """A benchmark's replay of the recorded curve stops where the fit stopped."""
    X, _ = tiny
    model = RVAgene(
        hidden_size=8,
        latent_length=2,
        batch_size=8,
        n_iter_no_change=2,
        learning_rate=0.05,
        lr_schedule="plateau",  # the one cycle runs to its end
        random_state=0,
    ).fit(X)
    assert model.stopped_by_ == "early_stopping"
    rule = StoppingRule(len(X) - round(0.1 * len(X)), 8, 2, model.tol)  # 10 % held out
    assert rule.replay(model.history_["val_loss"]) == model.n_checks_
    assert model.best_check_ == int(np.argmin(model.history_["val_loss"])) + 1


def test_callbacks_see_every_step_and_check(tiny):
    X, _ = tiny
    seen = {"steps": 0, "checks": [], "begin": 0, "end": 0}

    class Count(Callback):
        def on_train_begin(self, state):
            seen["begin"] += 1

        def on_step(self, state):
            seen["steps"] += 1

        def on_check(self, state):
            seen["checks"].append(state.step)

        def on_train_end(self, state):
            seen["end"] += 1

    model = RVAgene(
        hidden_size=8, latent_length=2, n_epochs=3, random_state=0, callbacks=[Count()]
    ).fit(X)
    assert seen["begin"] == seen["end"] == 1
    assert seen["steps"] == model.n_steps_
    assert len(seen["checks"]) == model.n_checks_ == 3
    assert seen["checks"][-1] == model.n_steps_


def test_callbacks_do_not_change_the_fit(tiny):
    X, _ = tiny
    params = {"hidden_size": 8, "latent_length": 2, "n_epochs": 3, "random_state": 0}
    plain = RVAgene(**params).fit(X).transform(X)
    hooked = RVAgene(**params, callbacks=[LambdaCallback(on_check=lambda s: None)])
    np.testing.assert_array_equal(plain, hooked.fit(X).transform(X))


def test_bad_callbacks_are_refused(tiny):
    X, _ = tiny
    with pytest.raises(ValueError, match="callbacks must be a list of rvagene callbacks"):
        RVAgene(callbacks=[print]).fit(X)
    hook = LambdaCallback(on_check=print)
    with pytest.raises(
        ValueError, match="callbacks must be a list"
    ):  # was TypeError: not iterable
        RVAgene(callbacks=hook).fit(X)
    with pytest.raises(ValueError, match="Unknown callback hook 'on_batch'"):
        LambdaCallback(on_batch=print)


def test_progress_status_lines_off_a_terminal(tiny, capsys):
    X, _ = tiny
    RVAgene(hidden_size=8, latent_length=2, n_epochs=3, verbose=1, random_state=0).fit(X)
    err = capsys.readouterr().err
    assert "RVAgene seed 0: epoch 3, step" in err  # the last check's line
    RVAgene(hidden_size=8, latent_length=2, n_epochs=3, verbose=0, random_state=0).fit(X)
    assert capsys.readouterr().err == ""


def test_progress_line_is_one_write(tiny):
    """Fits in parallel processes share stderr: each status line is one write with its newline."""
    from rvagene._train import ProgressBar

    class Recorder(io.StringIO):
        writes = []

        def write(self, text):
            self.writes.append(text)
            return super().write(text)

    out = Recorder()
    X, _ = tiny
    RVAgene(
        hidden_size=8, latent_length=2, n_epochs=2, random_state=0,
        callbacks=[ProgressBar(file=out)],
    ).fit(X)  # fmt: skip
    assert out.writes
    assert all(w.startswith("RVAgene: epoch") and w.endswith("\n") for w in out.writes)


def test_progress_bar_on_a_terminal(tiny):
    from rvagene._train import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    X, _ = tiny
    RVAgene(
        hidden_size=8,
        latent_length=2,
        n_epochs=3,
        random_state=0,
        callbacks=[ProgressBar(file=out)],
    ).fit(X)
    assert "RVAgene" in out.getvalue()
    assert "epoch" in out.getvalue()


@pytest.mark.parametrize("terminal", [True, False])
def test_progress_counts_to_the_fits_planned_end(terminal):
    """The bar and the status lines count to the steps the fit will take, not n_epochs.

    300 genes, batch 32, max_steps=40: the one cycle ends after 40 steps (4.4 passes of 9
    steps over the 270 training genes); before, the bar counted epochs to n_epochs=500, so it
    stayed at 0-1% with a time left 100x too long (18,000 genes: 4 epochs of 500).
    """
    from rvagene._train import ProgressBar

    class Stream(io.StringIO):
        def isatty(self):
            return terminal

    out = Stream()
    X = np.random.default_rng(0).normal(size=(300, 6))
    RVAgene(
        hidden_size=8, latent_length=2, max_steps=40, random_state=0,
        callbacks=[ProgressBar(file=out, interval=0)],
    ).fit(X)  # fmt: skip
    text = out.getvalue()
    assert "/500" not in text
    if terminal:
        assert "40/40" in text
        assert "step" in text
    else:
        assert "step 9/40," in text
        assert "step 40/40," in text
        assert "left" in text.splitlines()[0]
        assert "left" not in text.splitlines()[-1]


def test_fit_module_directly():
    torch.manual_seed(0)
    X = torch.randn(20, 6, 1).cumsum(1)
    module = RVAE(RVAEConfig(number_of_features=1, hidden_size=4, latent_length=2))
    result = fit_module(
        module, X, TrainConfig(n_epochs=2, batch_size=8), torch.nn.MSELoss(reduction="none")
    )
    assert result.n_steps == 6
    assert result.n_checks == 2
    assert result.stopped_by == "n_epochs"
    assert result.check_steps == [3, 6]


def test_training_loss_leaves_masked_values_out():
    # what lies under the mask (RVAgene fills a missing value with its gene's mean) must add
    # nothing to the training objective: the reconstruction recorded is that of the observed
    # values, whether 0 or 1000 sits at the missing ones
    torch.manual_seed(0)
    X = torch.randn(20, 6, 1).cumsum(1)
    mask = torch.ones_like(X, dtype=torch.bool)
    mask[::2, 3] = False  # every other gene misses time point 3
    rec = {}
    for fill in (0.0, 1000.0):
        torch.manual_seed(1)
        module = RVAE(RVAEConfig(number_of_features=1, hidden_size=4, latent_length=2))
        config = TrainConfig(n_epochs=2, batch_size=8)
        x = torch.where(mask, X, fill)
        result = fit_module(module, x, config, torch.nn.MSELoss(reduction="none"), mask=mask)
        rec[fill] = result.history["reconstruction"]
    np.testing.assert_allclose(rec[1000.0], rec[0.0], rtol=0.1)


def test_stopping_rule_warmup_and_patience_floor_in_steps():
    """Benchmarks replay other warm-ups and patience floors (given in optimiser steps)."""
    rule = StoppingRule(
        n_train=90, batch_size=32, n_iter_no_change=10, min_steps=30, patience_steps=60
    )
    assert (rule.steps_per_check, rule.warmup, rule.patience) == (3, 10, 20)
    assert rule.replay([1.0] * 100) == 21  # the first check sets the reference, 20 stall
    default = StoppingRule(n_train=90, batch_size=32, n_iter_no_change=10)
    assert (default.warmup, default.patience) == (67, 67)  # MIN_STEPS = PATIENCE_STEPS = 200


def _overflowing(module: RVAE, steps) -> list[int]:
    """Make the gradient of ``module`` infinite on the given backward passes (1-based)."""
    calls = [0]

    def hook(grad):
        calls[0] += 1
        return grad * float("inf") if calls[0] in steps else grad

    next(module.parameters()).register_hook(hook)
    return calls


@pytest.mark.parametrize("max_grad_norm", [5.0, None])
def test_a_step_whose_gradient_overflows_is_skipped(max_grad_norm):
    torch.manual_seed(0)
    X = torch.randn(20, 6, 1).cumsum(1)
    module = RVAE(RVAEConfig(number_of_features=1, hidden_size=4, latent_length=2))
    calls = _overflowing(module, {2, 5})
    config = TrainConfig(n_epochs=3, batch_size=8, max_grad_norm=max_grad_norm)
    result = fit_module(module, X, config, torch.nn.MSELoss(reduction="none"))
    assert calls[0] == 9  # the fit ran its course
    assert result.n_steps == 9
    assert result.skipped_steps == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())
    assert np.isfinite(result.history["loss"]).all()


def test_a_gradient_that_keeps_overflowing_stops_the_fit():
    torch.manual_seed(0)
    X = torch.randn(20, 6, 1).cumsum(1)
    module = RVAE(RVAEConfig(number_of_features=1, hidden_size=4, latent_length=2))
    before = {k: v.clone() for k, v in module.state_dict().items()}
    _overflowing(module, range(1, 1000))
    with pytest.raises(FloatingPointError, match="not finite in 21 steps in a row"):
        fit_module(
            module, X, TrainConfig(n_epochs=20, batch_size=8), torch.nn.MSELoss(reduction="none")
        )
    for k, v in module.state_dict().items():  # no update was applied
        torch.testing.assert_close(v, before[k])


def test_rvagene_warns_about_skipped_steps(tiny, monkeypatch):
    X, _ = tiny
    import rvagene.model as model_module

    real = model_module.RVAE

    def rvae(config):
        module = real(config)
        _overflowing(module, {3})
        return module

    monkeypatch.setattr(model_module, "RVAE", rvae)
    model = RVAgene(n_epochs=3, batch_size=8, random_state=0, verbose=0)
    with pytest.warns(RuntimeWarning, match="1 of .* optimiser steps were skipped"):
        model.fit(X)
    assert model.n_skipped_steps_ == 1
    assert np.isfinite(model.transform(X)).all()


def test_shift_in_time_moves_each_series_by_one_amount():
    from rvagene._train import shift_in_time

    x = torch.arange(10.0).repeat(64, 1).unsqueeze(-1)  # ramps: a shift is a constant offset
    assert shift_in_time(x, 0.0) is x
    torch.manual_seed(0)
    y = shift_in_time(x, 1.5)
    offset = (x - y)[:, 2:-2, 0]  # away from the ends, where the end values are held
    torch.testing.assert_close(offset, offset[:, :1].expand_as(offset))  # one shift per series
    assert offset.abs().max() <= 1.5
    assert offset.min() < -0.5 < 0.5 < offset.max()  # both directions are drawn
    assert y.min() == 0  # the ends are held, never extrapolated
    assert y.max() == 9
    torch.manual_seed(0)
    torch.testing.assert_close(shift_in_time(x, 1.5), y)  # torch's generator: repeatable


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "1"])
def test_time_shift_must_be_a_number_of_steps(tiny, bad):
    X, _ = tiny
    with pytest.raises(ValueError, match="time_shift must be a finite number of time steps >= 0"):
        RVAgene(time_shift=bad, n_epochs=1).fit(X)


def test_time_shift_changes_training_only(tiny):
    X, _ = tiny
    kwargs = {"n_epochs": 3, "batch_size": 8, "random_state": 0}
    plain = RVAgene(time_shift=0, **kwargs).fit(X)
    shifted = RVAgene(time_shift=1.0, **kwargs).fit(X)
    assert not np.allclose(plain.transform(X), shifted.transform(X))
    # after fit the series are read as they are: transform is deterministic
    np.testing.assert_array_equal(shifted.transform(X), shifted.transform(X))
    np.testing.assert_array_equal(
        RVAgene(time_shift=1.0, **kwargs).fit(X).transform(X), shifted.transform(X)
    )


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"kl_warmup": 3}, [0.1, 0.2, 0.3] + [0.3] * 6),  # 9 steps: 3 epochs of 3 batches
        ({"kl_warmup": 200, "max_steps": 6}, [0.15, 0.3] + [0.3] * 4),  # a third of 6 steps
        ({"kl_warmup": 0}, [0.3] * 9),
    ],
)
def test_kl_warmup_ramps_the_kl_term_of_the_steps_only(monkeypatch, settings, expected):
    import rvagene._train as train

    seen = []
    real = train.rvae_loss

    def spy(x, x_hat, mu, logvar, criterion, kl_weight=1.0, *args, **kwargs):
        if x_hat.requires_grad:  # a training step, not a held-out check
            seen.append(kl_weight)
        return real(x, x_hat, mu, logvar, criterion, kl_weight, *args, **kwargs)

    monkeypatch.setattr(train, "rvae_loss", spy)
    torch.manual_seed(0)
    X = torch.randn(20, 6, 1).cumsum(1)
    module = RVAE(RVAEConfig(number_of_features=1, hidden_size=4, latent_length=2))
    config = TrainConfig(n_epochs=3, batch_size=8, kl_weight=0.3, **settings)
    result = fit_module(module, X, config, torch.nn.MSELoss(reduction="none"))
    np.testing.assert_allclose(seen, expected)
    # the history is at the full weight: loss = reconstruction + kl_weight * kl
    h = result.history
    np.testing.assert_allclose(
        h["loss"], np.add(h["reconstruction"], 0.3 * np.asarray(h["kl"])), rtol=1e-5
    )


@pytest.mark.parametrize("bad", [-1, 2.5, True])
def test_kl_warmup_must_be_a_number_of_steps(tiny, bad):
    X, _ = tiny
    with pytest.raises(ValueError, match="kl_warmup must be an integer number of steps >= 0"):
        RVAgene(kl_warmup=bad, n_epochs=1).fit(X)


@pytest.mark.parametrize("name", ["adam", "adamw", "sgd"])
def test_optimizers_step_as_torchs_own(name):
    """The engine's optimisers skip torch.compile's decorators but compute what torch's do."""
    from rvagene._train import OPTIMIZERS

    ours = OPTIMIZERS[name]
    theirs = ours.__mro__[2]  # (ours, _Eager, torch's class)
    assert theirs.__module__.startswith("torch.optim")
    torch.manual_seed(0)
    x = torch.randn(16, 10, 3)
    nets = [torch.nn.GRU(3, 8, batch_first=True) for _ in range(2)]
    nets[1].load_state_dict(nets[0].state_dict())
    for net, kind in zip(nets, (ours, theirs), strict=True):
        kwargs = {"momentum": 0.9} if name == "sgd" else {"fused": True}
        optimizer = kind(net.parameters(), lr=0.02, **kwargs)
        schedule = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=0.02, total_steps=30, cycle_momentum=False
        )
        for _ in range(30):
            optimizer.zero_grad()
            net(x)[0].pow(2).mean().backward()
            optimizer.step()
            schedule.step()
        assert torch.is_grad_enabled()
    for a, b in zip(nets[0].parameters(), nets[1].parameters(), strict=True):
        assert torch.equal(a, b)


def test_a_fit_does_not_import_the_compiler():
    """torch.optim's decorators would import torch._dynamo (about 0.9 CPU s) in every fit."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, rvagene\n"
        "X = np.random.default_rng(0).normal(size=(30, 12)).cumsum(1)\n"
        "rvagene.RVAgene(max_steps=5, random_state=0).fit(X)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

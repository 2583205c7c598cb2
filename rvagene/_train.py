"""The training engine: one loop for every fit, apart from the estimator.

:func:`fit_module` trains an :class:`~rvagene.network.RVAE` on a tensor of series and returns a
:class:`TrainResult`. It owns batching, the checks of the held-out loss, the learning-rate
schedule, the restore after a non-finite loss, and the snapshot of the best weights.
:class:`StoppingRule` is the one place that says when to check, when to stop and which check
is best; benchmarks that replay stopping call it too. Progress bars, log files and benchmark
traces hook in through :class:`Callback` objects (skorch's and Lightning's pattern), never by
patching functions of this module.

The data stay one tensor on the training device; a batch is an index slice of it, so nothing
is collated or copied per sample, and every gene is used in every epoch (no ``drop_last``).
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ._utils import supports_fused
from .network import RVAE, rvae_loss

logger = logging.getLogger(__name__)


def _call_undecorated(method, self, *args):
    """Call ``method``'s own function, past a decorator made with ``functools.wraps``."""
    function = getattr(method, "__wrapped__", None)
    return function(self, *args) if function is not None else method(*args)


class _Eager:
    """Mixin: a ``torch.optim`` optimiser that does not import torch's compiler package.

    ``torch.optim`` wraps ``add_param_group`` (called by the constructor), ``zero_grad`` and
    ``step`` in decorators that import ``torch._dynamo`` on their first call, to tell
    ``torch.compile`` how to trace them. Nothing here is compiled, and that import cost about
    0.9 CPU s in every process that fits (each parallel fit's worker included: a third of a
    default fit on 120 genes). These methods call torch's own undecorated functions, so the
    arithmetic is torch's, bit for bit (tested against the plain classes); the only
    difference is that ``torch.compile`` must not trace them. Where a future torch drops the
    ``__wrapped__`` attribute, the decorated method runs as before.
    """

    def add_param_group(self, param_group):
        _call_undecorated(super().add_param_group, self, param_group)

    def zero_grad(self, set_to_none: bool = True):
        _call_undecorated(super().zero_grad, self, set_to_none)

    def step(self, closure=None):
        # what torch's wrapper does around the step, less the compiler's graph breaks
        with torch.set_grad_enabled(self.defaults["differentiable"]):
            return _call_undecorated(super().step, self, closure)


class Adam(_Eager, torch.optim.Adam):
    """torch's Adam, without importing ``torch._dynamo`` (see ``_Eager``)."""


class AdamW(_Eager, torch.optim.AdamW):
    """torch's AdamW, without importing ``torch._dynamo`` (see ``_Eager``)."""


class SGD(_Eager, torch.optim.SGD):
    """torch's SGD, without importing ``torch._dynamo`` (see ``_Eager``)."""


OPTIMIZERS = {"adam": Adam, "adamw": AdamW, "sgd": SGD}
MIN_STEPS = 200  # optimiser steps before early stopping or learning-rate decay may act
CHECK_STEPS = 50  # at most this many optimiser steps between two checks of the stopping rule
PATIENCE_STEPS = 200  # the stopping rule's patience spans at least this many optimiser steps
LR_SCHEDULES = ("plateau", "onecycle")
CYCLE_STEPS = 600  # lr_schedule="onecycle": the shortest cycle, in optimiser steps
CYCLE_EPOCHS = 4  # ... and at least this many passes over the training genes
MIN_CYCLE_STEPS = 8  # a fit of fewer steps keeps the plain learning rate


@dataclass
class TrainConfig:
    """What :func:`fit_module` needs to know besides the data (the estimator's parameters)."""

    batch_size: int = 32  # genes per optimiser step; the last partial batch is used
    learning_rate: float = 0.02
    optimizer: str = "adam"  # a key of OPTIMIZERS
    n_epochs: int = 500  # passes over the training genes, at most
    max_steps: int | None = 2500  # optimiser steps, at most (None: no limit)
    kl_weight: float = 0.1
    kl_warmup: int = 200  # steps over which the KL weight rises (at most a third of the fit)
    time_shift: float = 0.5  # largest shift (in time steps) of the encoder's input; 0: none
    balance: str = "per-gene"  # see rvagene.network.rvae_loss
    max_grad_norm: float | None = 5.0  # None: no clipping
    early_stopping: bool = True
    n_iter_no_change: int = 10  # patience, in checks (see StoppingRule)
    tol: float = 1e-3  # relative gain that counts as progress
    lr_decay: float = 0.5  # ReduceLROnPlateau factor; 1 disables the schedule
    lr_schedule: str = "onecycle"  # or "plateau" (see cycle_steps)


def cycle_steps(config: TrainConfig, n_train: int) -> int:
    """Optimiser steps of a one-cycle schedule.

    ``CYCLE_STEPS``, or ``CYCLE_EPOCHS`` passes over the training genes when that is more;
    at most ``max_steps`` and at most ``n_epochs`` passes, so that a fit bounded by either
    still runs a whole cycle.

    Examples
    --------
    >>> config = TrainConfig()
    >>> cycle_steps(config, 100), cycle_steps(config, 20_000)
    (600, 2500)
    >>> cycle_steps(TrainConfig(max_steps=300), 100), cycle_steps(TrainConfig(n_epochs=40), 100)
    (300, 160)
    """
    per_epoch = math.ceil(n_train / config.batch_size)
    steps = min(max(CYCLE_STEPS, CYCLE_EPOCHS * per_epoch), int(config.n_epochs) * per_epoch)
    return steps if config.max_steps is None else min(steps, int(config.max_steps))


class StoppingRule:
    """When to check the monitored loss, when to stop, and which check is best.

    The loss is checked once per epoch, or, when an epoch has more than ``CHECK_STEPS``
    optimiser steps (large gene sets), after each of the nearly equal parts of the epoch that
    have at most ``CHECK_STEPS`` steps, so that patience and the learning-rate schedule act on
    a scale of steps rather than of whole passes. Warm-up: no stop (and no learning-rate
    decay) during the first ``MIN_STEPS`` steps, since a model that has not yet left the
    initial plateau (output = the mean series) must not be stopped there. Patience:
    ``n_iter_no_change`` checks without a relative gain of ``tol``, spanning at least
    ``PATIENCE_STEPS`` steps, since with a few steps per epoch (small gene sets) a few epochs
    are too short to see a model leave a plateau.

    Parameters
    ----------
    n_train : int
        Training genes.
    batch_size : int
    n_iter_no_change : int, default=10
    tol : float, default=1e-3
    early_stopping : bool, default=True
        When False the rule never stops a fit (it still tracks the best check).
    min_steps : int, default=200
        The warm-up in optimiser steps (``MIN_STEPS``; replays try other values).
    patience_steps : int, default=200
        The patience floor in optimiser steps (``PATIENCE_STEPS``; replays try other values).

    Examples
    --------
    >>> rule = StoppingRule(n_train=100, batch_size=32, n_iter_no_change=2)
    >>> rule.steps_per_check, rule.warmup, rule.patience
    (4, 50, 50)
    >>> rule.replay([3.0, 2.0] + [2.0] * 60)  # checks run before it stops
    52
    """

    def __init__(
        self,
        n_train: int,
        batch_size: int,
        n_iter_no_change: int = 10,
        tol: float = 1e-3,
        early_stopping: bool = True,
        *,
        min_steps: int = MIN_STEPS,
        patience_steps: int = PATIENCE_STEPS,
    ):
        steps_per_epoch = math.ceil(n_train / batch_size)
        self.steps_per_check = math.ceil(
            steps_per_epoch / math.ceil(steps_per_epoch / CHECK_STEPS)
        )
        self.warmup = math.ceil(min_steps / self.steps_per_check)  # checks
        self.patience = max(
            int(n_iter_no_change), math.ceil(patience_steps / self.steps_per_check)
        )
        self.tol = float(tol)
        self.early_stopping = bool(early_stopping)
        self.reset()

    def reset(self) -> None:
        """Forget every check."""
        self.checks, self.best, self.best_check = 0, math.inf, 0
        self.reference, self.stall = math.inf, 0

    def update(self, monitored: float) -> bool:
        """Record one check's loss; return whether it is the best so far (any gain counts)."""
        self.checks += 1
        improved = monitored < self.best
        if improved:
            self.best, self.best_check = monitored, self.checks
        if not math.isfinite(self.reference) or monitored < self.reference - self.tol * abs(
            self.reference
        ):
            self.reference, self.stall = monitored, 0
        else:
            self.stall += 1
        return improved

    @property
    def should_stop(self) -> bool:
        """Patience is spent (and the warm-up over)."""
        return self.early_stopping and self.stall >= self.patience and self.checks >= self.warmup

    @property
    def in_warmup(self) -> bool:
        return self.checks <= self.warmup

    def replay(self, losses: Iterable[float]) -> int:
        """Feed a recorded loss curve to a fresh copy of this rule; return the checks it runs."""
        rule = StoppingRule.__new__(StoppingRule)
        rule.__dict__.update(self.__dict__)
        rule.reset()
        for value in losses:
            rule.update(value)
            if rule.should_stop:
                break
        return rule.checks


@dataclass
class TrainState:
    """What callbacks see: updated in place as training runs."""

    module: RVAE
    optimizer: torch.optim.Optimizer
    config: TrainConfig
    rule: StoppingRule
    n_train: int
    history: dict[str, list[float]]
    step_scheduler: object | None = None  # a scheduler stepped after every optimiser step
    epoch: int = 0  # the epoch being trained (1-based)
    step: int = 0  # optimiser steps taken
    check: int = 0  # checks done
    batch_loss: torch.Tensor | None = None  # the last step's loss per gene (a 0-d tensor)
    monitored: float = math.nan  # the loss the rule watched at the last check
    improved: bool = False  # whether the last check was the best so far
    skipped_steps: int = 0  # steps whose gradient overflowed, so the weights were not updated
    skipped_in_row: int = 0  # of those, the ones since the last step that updated them


class Callback:
    """Base class of training callbacks: override the hooks you need.

    ``on_step`` runs after every optimiser step, so keep it cheap (read
    ``state.batch_loss.item()`` only when you use it). ``on_check`` runs after each check of the
    stopping rule, once the check's losses are in ``state.history``.
    """

    def on_train_begin(self, state: TrainState) -> None: ...

    def on_epoch_begin(self, state: TrainState) -> None: ...

    def on_step(self, state: TrainState) -> None: ...

    def on_check(self, state: TrainState) -> None: ...

    def on_train_end(self, state: TrainState) -> None: ...


class ProgressBar(Callback):
    """A tqdm bar over optimiser steps on a terminal or notebook; else a status line per check.

    ``name`` starts each line and names the bar (RVAgene's: ``"RVAgene seed <random_state>"``,
    or ``"RVAgene fit <seed drawn>"`` without an integer ``random_state``).

    Both count to the most steps the fit can take (:func:`planned_steps`: the one cycle's
    end, ``max_steps`` or ``n_epochs`` passes), so the bar's time left is that of the fit (an
    early stop ends it sooner), and each status line says the step of that total and at most
    how long is left. Both go to ``file`` (stderr by default). Off a terminal a check's line is
    written when ``interval`` seconds have passed since the last one (and at the end), so logs
    of batch jobs show progress without a bar's carriage returns or hundreds of lines.
    """

    def __init__(self, file=None, interval: float = 5.0, name: str = "RVAgene"):
        self.file, self.interval, self.name = file, float(interval), str(name)
        self.bar, self.last, self.start, self.total = None, -math.inf, 0.0, 0

    def _stream(self):
        return self.file if self.file is not None else sys.stderr

    def on_train_begin(self, state: TrainState) -> None:
        stream = self._stream()
        self.start, self.total = time.monotonic(), planned_steps(state)
        interactive = getattr(stream, "isatty", lambda: False)() or _in_notebook()
        if interactive:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=self.total, desc=self.name, unit="step", file=stream, leave=False
            )

    def on_check(self, state: TrainState) -> None:
        epochs = state.history["epoch"][-1]
        if self.bar is not None:
            self.bar.update(state.step - self.bar.n)
            self.bar.set_postfix(epoch=f"{epochs:.3g}", loss=f"{state.monitored:.4g}")
        elif time.monotonic() - self.last >= self.interval:
            self._line(state, epochs)

    def _line(self, state: TrainState, epochs: float) -> None:
        self.last = time.monotonic()
        left = ""
        if 0 < state.step < self.total:
            seconds = (self.last - self.start) / state.step * (self.total - state.step)
            shown = f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
            left = f", at most {shown} left"
        stream = self._stream()
        # One write of the whole line: fits in parallel processes share stderr, and print's
        # separate write of the newline let their lines run together.
        stream.write(
            f"{self.name}: epoch {epochs:.4g}, step {state.step}/{self.total}, loss "
            f"{state.monitored:.4g}, best at epoch "
            f"{state.history['epoch'][state.rule.best_check - 1]:.4g}{left}\n"
        )
        stream.flush()

    def on_train_end(self, state: TrainState) -> None:
        if self.bar is not None:
            self.bar.close()
        elif state.check:
            self._line(state, state.history["epoch"][-1])


def planned_steps(state: TrainState) -> int:
    """The most optimiser steps a fit can take: ``n_epochs`` passes, at most ``max_steps``.

    :func:`fit_module` has set ``max_steps`` to a one cycle's end, so this is where a one-cycle
    fit ends; an early stop (``lr_schedule="plateau"``) may end a fit sooner.
    """
    config = state.config
    steps = int(config.n_epochs) * math.ceil(state.n_train / config.batch_size)
    return steps if config.max_steps is None else min(steps, int(config.max_steps))


class LogFile(Callback):
    """Append progress lines to a file (the original's ``log_file``).

    The batch loss every ``print_every`` steps and a line per check; flushed at every line
    and closed at the end. ``tag`` starts every line (RVAgene's: ``"seed <random_state>: "``,
    or ``"fit <seed drawn>: "``), so the lines of fits that share one file in parallel tell
    which fit wrote them; each line is one write.
    """

    def __init__(self, path: str | Path, print_every: int = 0, tag: str = ""):
        self.path, self.print_every, self.fh = Path(path), int(print_every), None
        self.tag = str(tag)

    def _write(self, line: str) -> None:
        self.fh.write(f"{self.tag}{line}\n")
        self.fh.flush()

    def on_train_begin(self, state: TrainState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed at the end)

    def on_step(self, state: TrainState) -> None:
        if self.print_every and state.step % self.print_every == 0:
            self._write(
                f"epoch {state.epoch} step {state.step}: loss per gene "
                f"{state.batch_loss.item():.4f}"
            )

    def on_check(self, state: TrainState) -> None:
        h = state.history
        shown = f", validation {h['val_loss'][-1]:.5g}" if "val_loss" in h else ""
        self._write(f"epoch {state.epoch} (check {state.check}): loss {h['loss'][-1]:.5g}{shown}")

    def on_train_end(self, state: TrainState) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_check=lambda s: ...)``.

    Parameters
    ----------
    **hooks : callable
        Functions of the training state, by hook name: ``on_train_begin``,
        ``on_epoch_begin``, ``on_step``, ``on_check``, ``on_train_end``. Another name
        raises a ``ValueError``.
    """

    def __init__(self, **hooks: Callable[[TrainState], None]):
        for name, fn in hooks.items():
            if not hasattr(Callback, name):
                msg = f"Unknown callback hook {name!r}; use one of {_HOOKS}."
                raise ValueError(msg)
            setattr(self, name, fn)


_HOOKS = ("on_train_begin", "on_epoch_begin", "on_step", "on_check", "on_train_end")


def _in_notebook() -> bool:
    """Whether we run inside a Jupyter kernel (tqdm.auto then draws a widget)."""
    shell = sys.modules.get("IPython")
    ipy = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return ipy is not None and type(ipy).__name__ == "ZMQInteractiveShell"


@dataclass
class TrainResult:
    """What :func:`fit_module` returns; the module holds the kept (best) weights."""

    history: dict[str, list[float]]  # one value per check
    n_steps: int  # optimiser steps taken
    n_checks: int  # checks of the stopping rule
    best_check: int  # 1-based check whose weights were kept
    best_step: int  # optimiser steps taken at that check
    epochs: float  # passes over the training genes (fractional when stopped mid-epoch)
    stopped_by: str  # "early_stopping", "max_steps", "cycle" or "n_epochs"
    check_steps: list[int] = field(default_factory=list)  # steps taken at each check
    skipped_steps: int = 0  # steps not applied because their gradient was not finite


def _batches(n: int, batch_size: int, order: torch.Tensor | None = None):
    """Yield index tensors (or slices) of at most ``batch_size`` rows covering all ``n``."""
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        yield order[start:stop] if order is not None else slice(start, stop)


def kl_ramp(step: int, warmup: int) -> float:
    """Share of ``kl_weight`` used at optimiser step ``step`` (0-based): linear over ``warmup``.

    The KL warm-up of ``RVAgene(kl_warmup=...)``: the first steps learn to reconstruct before
    the prior pulls the codes together (Bowman et al. 2016). Losses recorded in the history
    use the full weight, so checks during the warm-up compare like with like.

    Examples
    --------
    >>> [kl_ramp(s, 4) for s in range(5)], kl_ramp(0, 0)
    ([0.25, 0.5, 0.75, 1.0, 1.0], 1.0)
    """
    return 1.0 if warmup <= 0 else min(1.0, (step + 1) / warmup)


def shift_in_time(x: torch.Tensor, max_shift: float) -> torch.Tensor:
    """Each series of ``x`` (batch, time, F) shifted by a random amount of time steps.

    The shifts are uniform in ``[-max_shift, max_shift]``, one per series, drawn from torch's
    default generator; values between points are interpolated linearly and the end values
    are held. ``max_shift=0`` returns ``x`` itself.

    The training augmentation behind ``RVAgene(time_shift=...)``: on the quality suite and
    the held-out time courses (docs/results.md, "Small shifts in time"), half a step raised
    or kept the pipeline's ARI on 11 of the 12 cases it was chosen on.

    Examples
    --------
    >>> x = torch.arange(5.0).reshape(1, 5, 1)
    >>> shift_in_time(x, 0.0) is x
    True
    >>> y = shift_in_time(x, 1.0)
    >>> bool((y[0, 1:-1, 0] - x[0, 1:-1, 0]).abs().max() <= 1)
    True
    """
    if max_shift <= 0:
        return x
    batch, steps, features = x.shape
    shift = (torch.rand(batch, 1, device=x.device) * 2 - 1) * max_shift
    where = torch.arange(steps, device=x.device, dtype=x.dtype) - shift.to(x.dtype)
    where = where.clamp(0, steps - 1)  # (batch, time): the position read at each point
    low = where.floor().long()
    high = (low + 1).clamp(max=steps - 1)
    frac = (where - low.to(x.dtype)).unsqueeze(-1)
    low, high = (i.unsqueeze(-1).expand(-1, -1, features) for i in (low, high))
    return torch.gather(x, 1, low) * (1 - frac) + torch.gather(x, 1, high) * frac


# Steps in a row whose gradient may be non-finite before the fit counts as diverged. A
# gradient through a long series can overflow float32 on one batch and not the next; on
# ACSF1 (1,460 points) it overflowed 60-90 steps into the default fit and then on every
# batch, so that fit still stops, with a message that names the cause.
MAX_SKIPPED_IN_ROW = 20


def _gradient_finite(module: nn.Module, max_grad_norm: float | None) -> bool:
    """Clip the gradient's norm at ``max_grad_norm`` (None: no clipping); whether it is finite.

    Like the loss scaling of mixed-precision training, a step whose gradient is not finite is
    skipped rather than written into the weights (where it would make every one NaN).
    """
    limit = math.inf if max_grad_norm is None else max_grad_norm  # inf: the norm, no clipping
    return bool(torch.isfinite(nn.utils.clip_grad_norm_(module.parameters(), limit)))


def _all_finite(module: nn.Module) -> bool:
    """Whether every weight of ``module`` is finite (one device synchronisation)."""
    return bool(torch.stack([torch.isfinite(p).all() for p in module.parameters()]).all())


def _snapshot(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _finite(module: nn.Module, stats: dict, val: dict | None) -> bool:
    """Whether a part of an epoch left finite losses (training and held-out) and weights."""
    return (
        math.isfinite(stats["loss"])
        and (val is None or math.isfinite(val["loss"]))
        and _all_finite(module)
    )


def _diverged(epoch: int, history: dict, skipped_in_row: int = 0) -> str:
    """The message for a non-finite loss, naming the weights that were restored."""
    if skipped_in_row > MAX_SKIPPED_IN_ROW:
        return (
            f"The gradient was not finite in {skipped_in_row} steps in a row at epoch {epoch} "
            "(through long series it can overflow), so the fit was stopped and its last "
            "finite weights restored. Lower learning_rate, check the input for extreme "
            "values, or lower max_timepoints (the network's longest series)."
        )
    kept = (
        f"the weights of epoch {history['epoch'][-1]:.3g}"
        if history["epoch"]
        else "the initial weights"
    )
    return (
        f"The training loss became non-finite at epoch {epoch}; {kept} were restored. Lower "
        "learning_rate, keep clip=True, or check the input for extreme values (or, for "
        "series of hundreds of points whose gradient overflowed, lower max_timepoints)."
    )


def _train_part(state, X, mask, order, criterion, callbacks) -> dict[str, float]:
    """Optimiser steps over the rows ``order``; per-gene means of the objective's terms.

    A non-finite loss stops at once and returns ``nan`` (the caller restores weights).
    """
    module, optimizer, config = state.module, state.optimizer, state.config
    module.train()
    totals = torch.zeros(3, dtype=torch.float64)
    for idx in _batches(order.shape[0], config.batch_size, order):
        x = X[idx]  # (batch, time, features)
        m = mask[idx] if mask is not None else None
        x_hat, mu, logvar = module(shift_in_time(x, config.time_shift))
        kl_weight = config.kl_weight * kl_ramp(state.step, config.kl_warmup)
        out = rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight, config.balance, m)
        if not torch.isfinite(out.loss):
            return {"loss": math.nan, "reconstruction": math.nan, "kl": math.nan}
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        if _gradient_finite(module, config.max_grad_norm):
            optimizer.step()
            if state.step_scheduler is not None:
                state.step_scheduler.step()
            state.skipped_in_row = 0
        else:  # the gradient overflowed (it can, through long series): drop this update
            state.skipped_steps += 1
            state.skipped_in_row += 1
            if state.skipped_in_row > MAX_SKIPPED_IN_ROW:
                return {"loss": math.nan, "reconstruction": math.nan, "kl": math.nan}
        b = x.shape[0]
        scale = b if config.balance == "per-gene" else 1.0  # back to sums over genes
        rec, kl = out.reconstruction.detach() * scale, out.kl.detach() * b
        if config.balance == "original":
            kl = kl * mu.shape[1]  # the mean over latent dims -> a sum
        total = rec + config.kl_weight * kl
        totals += torch.stack([total, rec, kl]).double().cpu()
        state.step += 1
        state.batch_loss = total / b
        for cb in callbacks:
            cb.on_step(state)
    loss, rec, kl = (totals / order.shape[0]).tolist()
    return {"loss": loss, "reconstruction": rec, "kl": kl}


def _one_cycle(optimizer, peak: float, total: int):
    """One cycle of ``total`` steps (torch's ``OneCycleLR``).

    A quarter rises from ``peak / 10`` to ``peak``, then a cosine falls to ``peak / 50``;
    momentum is left alone.
    """
    return torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=peak,
        total_steps=total,
        pct_start=0.25,
        anneal_strategy="cos",
        cycle_momentum=False,
        div_factor=10.0,
        final_div_factor=5.0,
    )


def fit_module(
    module: RVAE,
    X: torch.Tensor,
    config: TrainConfig,
    criterion: nn.Module,
    *,
    mask: torch.Tensor | None = None,
    X_val: torch.Tensor | None = None,
    mask_val: torch.Tensor | None = None,
    callbacks: Sequence[Callback] = (),
) -> TrainResult:
    """Train ``module`` on the series ``X`` (n, time, features) and keep its best weights.

    Shuffles draw from torch's default generator: seed it (in a ``fork_rng`` block) for
    repeatable fits. The monitored loss is the held-out genes' ``X_val`` when given, else the
    training loss. On a non-finite loss or weight the last finite weights are restored and
    ``FloatingPointError`` is raised, naming the epoch.

    Returns
    -------
    TrainResult
        ``module`` then holds the weights of ``best_check`` when ``config.early_stopping``,
        else those of the last check.
    """
    # fused: one kernel for all parameters instead of ~10 small operations per tensor, where
    # the installed torch has it for this optimizer and device (a feature check)
    kind = OPTIMIZERS[config.optimizer.lower()]
    fused = {"fused": True} if supports_fused(kind, X.device.type) else {}
    optimizer = kind(module.parameters(), lr=config.learning_rate, **fused)
    n_train = X.shape[0]
    onecycle = config.lr_schedule == "onecycle"
    rule = StoppingRule(  # a one-cycle fit runs its cycle; it still keeps the best check
        n_train,
        config.batch_size,
        config.n_iter_no_change,
        config.tol,
        config.early_stopping and not onecycle,
    )
    cap = config.max_steps  # the user's limit (a one cycle may set a shorter one below)
    scheduler, per_step, fit_steps = None, None, config.max_steps
    if onecycle:
        total = fit_steps = cycle_steps(config, n_train)
        if total < int(config.n_epochs) * math.ceil(n_train / config.batch_size):
            config = replace(config, max_steps=total)  # else n_epochs ends the cycle
        if total >= MIN_CYCLE_STEPS:  # shorter: the plain learning rate (too few to cycle)
            per_step = _one_cycle(optimizer, config.learning_rate, total)
    elif config.lr_decay < 1:
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, factor=config.lr_decay, patience=max(1, rule.patience // 4)
        )
    if fit_steps is not None:  # a short fit warms the KL term up over its first third
        config = replace(config, kl_warmup=min(config.kl_warmup, int(fit_steps) // 3))
    history = {"loss": [], "reconstruction": [], "kl": [], "epoch": []}
    if X_val is not None:
        history.update(val_loss=[], val_reconstruction=[], val_kl=[])
    state = TrainState(module, optimizer, config, rule, n_train, history, per_step)
    for cb in callbacks:
        cb.on_train_begin(state)
    try:
        data = _Data(X, mask, X_val, mask_val)
        stopped_by, best_state, check_steps = _train_loop(
            state, data, criterion, scheduler, callbacks
        )
    finally:
        for cb in callbacks:
            cb.on_train_end(state)
    if best_state is not None:
        module.load_state_dict(best_state)
    if stopped_by == "max_steps" and (cap is None or state.step < int(cap)):
        stopped_by = "cycle"  # the one cycle's planned end, before max_steps
        logger.info("The one cycle ended after %d optimiser steps.", state.step)
    elif stopped_by == "max_steps":
        logger.info("Stopped after max_steps=%d optimiser steps.", state.step)
    best_check = rule.best_check if config.early_stopping else state.check
    return TrainResult(
        history=history,
        n_steps=state.step,
        n_checks=state.check,
        best_check=best_check,
        best_step=check_steps[best_check - 1] if best_check else 0,
        epochs=history["epoch"][-1] if history["epoch"] else 0.0,
        stopped_by=stopped_by,
        check_steps=check_steps,
        skipped_steps=state.skipped_steps,
    )


@dataclass
class _Data:
    """The training genes and the held-out ones (None without validation), with masks."""

    X: torch.Tensor
    mask: torch.Tensor | None
    X_val: torch.Tensor | None
    mask_val: torch.Tensor | None


def _train_loop(state, data: _Data, criterion, scheduler, callbacks):
    """Epochs of parts with a check after each; returns (stopped_by, best_state, steps)."""
    module, config, rule, n_train = state.module, state.config, state.rule, state.n_train
    part = rule.steps_per_check * config.batch_size  # genes trained between two checks
    max_steps = sys.maxsize if config.max_steps is None else int(config.max_steps)
    good_state, best_state, check_steps = _snapshot(module), None, []
    for epoch in range(1, int(config.n_epochs) + 1):
        state.epoch = epoch
        for cb in callbacks:
            cb.on_epoch_begin(state)
        order = torch.randperm(n_train, device=data.X.device)
        for start in range(0, n_train, part):
            take = min(part, (max_steps - state.step) * config.batch_size, n_train - start)
            stats = _train_part(
                state, data.X, data.mask, order[start : start + take], criterion, callbacks
            )
            val = None
            if data.X_val is not None and math.isfinite(stats["loss"]):
                val = evaluate(
                    module,
                    data.X_val,
                    data.mask_val,
                    criterion,
                    batch_size=max(config.batch_size, 256),
                    kl_weight=config.kl_weight,
                )
            if not _finite(module, stats, val):
                module.load_state_dict(good_state)
                raise FloatingPointError(_diverged(epoch, state.history, state.skipped_in_row))
            good_state = _snapshot(module)
            check_steps.append(state.step)
            _record_check(state, stats, val, epoch - 1 + (start + take) / n_train)
            if state.improved and config.early_stopping:
                best_state = good_state  # a fresh copy each check, never modified
            stopped_by = _after_check(state, scheduler, callbacks, max_steps)
            if stopped_by != "n_epochs":
                return stopped_by, best_state, check_steps
    return "n_epochs", best_state, check_steps


def _record_check(state, stats: dict, val: dict | None, epochs: float) -> None:
    """Write a check's losses into the history and update the stopping rule."""
    history = state.history
    state.check += 1
    for key, value in stats.items():
        history[key].append(value)
    history["epoch"].append(epochs)
    state.monitored = stats["loss"]
    if val is not None:
        for key, value in val.items():
            history[f"val_{key}"].append(value)
        state.monitored = val["loss"]
    state.improved = state.rule.update(state.monitored)


def _after_check(state, scheduler, callbacks, max_steps: int) -> str:
    """Step the schedule, call the callbacks; say what stops training ("n_epochs": nothing)."""
    if scheduler is not None and not state.rule.in_warmup:
        scheduler.step(state.monitored)
    for cb in callbacks:
        cb.on_check(state)
    if state.rule.should_stop:
        return "early_stopping"
    if state.step >= max_steps:
        return "max_steps"
    return "n_epochs"


@torch.no_grad()
def evaluate(
    module: RVAE,
    X: torch.Tensor,
    mask: torch.Tensor | None,
    criterion: nn.Module,
    *,
    batch_size: int,
    kl_weight: float,
) -> dict[str, float]:
    """Per-gene objective of ``X`` with z at the posterior mean (deterministic)."""
    module.eval()
    totals = torch.zeros(3, dtype=torch.float64)
    for idx in _batches(X.shape[0], batch_size):
        x = X[idx]
        m = mask[idx] if mask is not None else None
        x_hat, mu, logvar = module(x)
        out = rvae_loss(x, x_hat, mu, logvar, criterion, kl_weight, "per-gene", m)
        totals += torch.stack([out.loss, out.reconstruction, out.kl]).double().cpu() * x.shape[0]
    loss, rec, kl = (totals / X.shape[0]).tolist()
    return {"loss": loss, "reconstruction": rec, "kl": kl}


@torch.no_grad()
def encode(module: RVAE, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means and log-variances (n, latent), without decoding."""
    module.eval()
    parts = [module.encode(X[idx]) for idx in _batches(X.shape[0], batch_size)]
    return torch.cat([mu for mu, _ in parts]), torch.cat([lv for _, lv in parts])


@torch.no_grad()
def predict(module: RVAE, X: torch.Tensor, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior means (n, latent) and reconstructions from them (n, time, features)."""
    module.eval()
    mus, recons = [], []
    for idx in _batches(X.shape[0], batch_size):
        mu, _ = module.encode(X[idx])
        mus.append(mu)
        recons.append(module.decode(mu, X.shape[1]))
    return torch.cat(mus), torch.cat(recons)

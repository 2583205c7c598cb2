"""The RVAgene estimator: numpy in, numpy out, scikit-learn style."""

from __future__ import annotations

import copy
import errno
import inspect
import logging
import math
import os
import re
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from . import _train
from ._train import OPTIMIZERS, LogFile, ProgressBar, TrainConfig
from ._utils import (
    SEEDS,
    as_generator,
    atomic_path,
    check_device,
    check_n_samples,
    forget_fit,
    is_seed,
    package_version,
    resolve_device,
    torch_threads,
    user_stacklevel,
    warn_without_effect,
)
from .data import SCALINGS, bin_means, bin_width, scale_series, split_table
from .network import RVAE, RVAEConfig

logger = logging.getLogger(__name__)

# Model files: 1, or 2 for a model fitted over bins (bin_width_ > 1), which a reader of
# format 1 would run over every time point without a word; this version reads both.
FORMAT_VERSION = 2
READ_FORMATS = (1, 2)
LOSSES = {"mseloss": "MSELoss", "smoothl1loss": "SmoothL1Loss", "l1loss": "L1Loss",
          "huberloss": "HuberLoss"}  # fmt: skip
BALANCES = ("per-gene", "original")
BLOCKS = ("GRU", "LSTM")
MAX_VALIDATION = 1000  # genes held out for early stopping, at most


def _n_validation(n_genes: int, fraction: float, early_stopping: bool) -> int:
    """Genes held out for early stopping: a share, at most MAX_VALIDATION, none below 10.

    A share that would hold out every gene is a ``ValueError`` that says what to change.
    """
    if not early_stopping or n_genes < 10:
        return 0
    n_val = min(int(round(fraction * n_genes)), MAX_VALIDATION)
    if n_val >= n_genes:
        msg = (
            f"validation_fraction={fraction!r} holds out {n_val} of the {n_genes} genes and "
            "leaves none to train on; lower it (the default is 0.1), or pass "
            "early_stopping=False to train on every gene."
        )
        raise ValueError(msg)
    return n_val


def _check_times(times, n_timepoints: int) -> np.ndarray:
    """Validate the time of each point: 1-D, finite, strictly increasing, one per point."""
    try:
        t = np.asarray(times, dtype=np.float64)
    except (TypeError, ValueError):
        msg = f"times must be numbers (one per time point), got {times!r}."
        raise ValueError(msg) from None
    if t.ndim != 1:
        msg = f"times must be 1-D (one time per time point), got shape {t.shape}."
        raise ValueError(msg)
    if t.size != n_timepoints:
        msg = (
            f"times has {t.size} values but X has {n_timepoints} time points per series. "
            "Give one time per time point."
        )
        raise ValueError(msg)
    if not np.isfinite(t).all():
        msg = "times contains NaN or inf; give a finite time for every time point."
        raise ValueError(msg)
    bad = np.flatnonzero(np.diff(t) <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        msg = (
            f"times must increase strictly, but times[{i}] = {t[i]:g} follows "
            f"times[{i - 1}] = {t[i - 1]:g}. Sort the time points (the columns of X with "
            "them); repeated measurements at one time are replicates (a 3-D X)."
        )
        raise ValueError(msg)
    return t


def _draw_seed(random_state) -> int:
    """The fit's seed: from ``random_state``, or fresh OS entropy (not numpy's global RNG)."""
    if random_state is None:  # check_random_state(None) would draw from np.random's state
        return int(np.random.default_rng().integers(np.iinfo(np.int32).max))
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _input_ndim(X) -> int:
    """2 for (genes, time) input, 3 for (genes, time, features) or a torch Dataset."""
    if isinstance(X, torch.utils.data.Dataset):
        return 3
    return X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim


def _is_int(value, minimum: int) -> bool:
    return (
        isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum
    )


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_finite(value) -> bool:
    """A real number (not a bool) that is neither NaN nor infinite."""
    return _is_number(value) and math.isfinite(value)


def _is_bool(value) -> bool:
    """True or False, also as numpy's bool or the integers 1 and 0 (as C and R write them)."""
    return isinstance(value, (bool, np.bool_)) or (
        isinstance(value, (int, np.integer)) and value in (0, 1)
    )


def _is_path(value) -> bool:
    return isinstance(value, (str, os.PathLike))


def _check_log_file(dload, log_file) -> None:
    """Refuse, before any work, a log file that cannot be written, naming the fix.

    ``dload / log_file`` must be a file that can be written, or a missing one whose nearest
    existing folder can be written (its missing folders are created when the fit starts).
    Without this check the fit failed at its start with the system's bare error (``File
    exists: 'dload'`` when ``dload`` is a file), after the earlier fit was forgotten.
    """
    if not log_file:
        return
    path = Path(dload) / log_file
    parent = next(p for p in path.absolute().parents if p.exists())
    if path.is_dir():
        why = "it is a folder"
    elif path.exists():
        why = None if os.access(path, os.W_OK) else "the file cannot be written"
    elif not parent.is_dir():
        why = f"{parent} is a file, not a folder"
    else:
        why = None if os.access(parent, os.W_OK | os.X_OK) else f"{parent} cannot be written"
    if why:
        msg = (
            f"log_file {str(path)!r} (dload={str(dload)!r}, log_file={str(log_file)!r}) "
            f"cannot be written: {why}. Give dload a folder you can write to and log_file a "
            "file name in it, or log_file=None for no log."
        )
        raise ValueError(msg)


# (parameter, check, what it must be): every numeric parameter, checked before any work.
_PARAM_CHECKS = (
    *((name, lambda v: _is_int(v, 1), "an integer >= 1")
      for name in ("hidden_size", "hidden_layer_depth", "latent_length", "batch_size",
                   "n_epochs", "n_iter_no_change")),
    *((name, lambda v: v is None or _is_int(v, 1), "None (inferred from the data) or an "
       "integer >= 1") for name in ("sequence_length", "number_of_features")),
    ("max_steps", lambda v: v is None or _is_int(v, 1), "None (no limit) or an integer >= 1"),
    ("max_timepoints", lambda v: v is None or _is_int(v, 2),
     "None (every time point) or an integer >= 2"),
    ("learning_rate", lambda v: _is_finite(v) and v > 0, "a finite positive number"),
    ("n_threads", lambda v: v is None or v == -1 or _is_int(v, 1),
     "None, -1 or an integer >= 1"),
    ("dropout_rate", lambda v: _is_number(v) and 0 <= v < 1, "in [0, 1)"),
    ("kl_weight", lambda v: _is_finite(v) and v >= 0, "a finite number >= 0"),
    ("time_shift", lambda v: _is_finite(v) and v >= 0, "a finite number of time steps >= 0"),
    ("kl_warmup", lambda v: _is_int(v, 0), "an integer number of steps >= 0"),
    ("lr_decay", lambda v: _is_number(v) and 0 < v <= 1, "in (0, 1]"),
    ("validation_fraction", lambda v: _is_number(v) and 0 < v < 1, "in (0, 1)"),
    ("tol", lambda v: _is_number(v) and v >= 0, "a number >= 0"),
    ("print_every", lambda v: _is_int(v, 0), "an integer number of steps >= 0 (0: no step "
     "lines)"),
    ("verbose", lambda v: isinstance(v, (int, np.integer)), "an integer (> 0 shows progress)"),
    *((f, _is_bool, "True or False (or 1 or 0)") for f in ("clip", "cuda", "early_stopping")),
    ("random_state", is_seed, SEEDS),
    ("dload", _is_path, "a folder path (a str or os.PathLike; '.' is the current folder)"),
    ("log_file", lambda v: v is None or _is_path(v), "None (no log) or a file name (a str or "
     "os.PathLike, inside dload)"),
)  # fmt: skip


# The network's parameters: a file's weights are loaded into a network built from them.
_ARCHITECTURE = ("hidden_size", "hidden_layer_depth", "latent_length", "dropout_rate", "block")
_PLAIN = (bool, int, float, str, type(None))


def _changed_since_fit(model: RVAgene) -> list[str]:
    """The network parameters whose value differs from the fitted network's, as text."""
    config = model.module_.config
    return [
        f"{name}={getattr(model, name)!r} (fitted with {getattr(config, name)!r})"
        for name in _ARCHITECTURE
        if getattr(model, name) != getattr(config, name)
    ]


def _torch_loss_class(name) -> type | None:
    """The torch loss class of that name (``"HuberLoss"`` -> ``nn.HuberLoss``), or None."""
    found = getattr(nn, name, None) if isinstance(name, str) else None
    return found if isinstance(found, type) and issubclass(found, nn.modules.loss._Loss) else None


def _loss_settings(loss: nn.Module) -> dict | None:
    """The constructor settings of one of torch's losses (delta, beta, reduction, ...).

    Plain values and tensors only (the file is read with ``weights_only=True``); None for a
    loss class that is not torch's own, which cannot be rebuilt by name.
    """
    kind = type(loss)
    if _torch_loss_class(kind.__name__) is not kind:
        return None
    settings = {}
    for name in inspect.signature(kind).parameters:
        if not hasattr(loss, name):
            continue  # size_average, reduce: folded into reduction by torch
        value = getattr(loss, name)
        if isinstance(value, _PLAIN):
            settings[name] = value
        elif torch.is_tensor(value):
            settings[name] = value.detach().cpu()
    return settings


def _not_a_model(path: Path, why: str) -> str:
    return f"{path} is not an rvagene model file: {why}. Give a file written by save()."


def _unreadable(path: Path, err: Exception) -> str:
    """Why ``torch.load`` could not read ``path``, from its error and the file's first bytes."""
    code = re.search(r"GLOBAL ([\w.]+)", str(err))  # torch names what it refused
    with open(path, "rb") as fh:
        head = fh.read(6)
    if code:
        return f"it carries code ({code.group(1)}), which is refused and not run"
    if not head:
        return "it is empty (0 bytes)"
    if head == b"\x93NUMPY":
        return "it is a numpy array file (.npy); read it with numpy.load"
    if head.startswith(b"PK") and path.suffix == ".npz":
        return "it is a numpy archive (.npz); read it with numpy.load"
    if head.startswith(b"PK"):  # a zip archive, as save() writes, that torch cannot read
        return (
            "it is damaged or cut short (a copy or download that did not finish?); copy it "
            "again from where it was saved, or save the model again"
        )
    if head[:1] == b"\x80":  # the protocol byte that starts a pickle (pickle, joblib)
        return (
            "it is a Python pickle (pickle.dump, joblib.dump), which load() does not run; "
            "open it with pickle.load or joblib.load if you trust where it came from"
        )
    return f"it cannot be read ({type(err).__name__})"


def _read_model_file(path: Path, target: torch.device) -> dict:
    """``torch.load`` with ``weights_only=True``; a ValueError saying why for other files."""
    try:
        with warnings.catch_warnings():  # torch's note on a plain pickle's protocol
            warnings.filterwarnings("ignore", "Detected pickle protocol", UserWarning)
            payload = torch.load(path, map_location=target, weights_only=True)
    except Exception as err:  # noqa: BLE001 (any failure means: not our file)
        raise ValueError(_not_a_model(path, _unreadable(path, err))) from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        msg = (
            f"{path} is not an rvagene model file (no format_version). Give a file "
            "written by save()."
        )
        raise ValueError(msg)
    version = payload["format_version"]
    if not _is_int(version, 0):
        raise ValueError(_not_a_model(path, f"its format_version is {version!r}, not a number"))
    if version not in READ_FORMATS:
        msg = (
            f"{path} has model format {version}; this rvagene reads formats "
            f"{', '.join(map(str, READ_FORMATS))}. Update rvagene."
        )
        raise ValueError(msg)
    for key in ("params", "attributes", "state_dict"):
        if not isinstance(payload.get(key), dict):
            raise ValueError(_not_a_model(path, f"it has no {key}"))
    return payload


def _loaded_params(path: Path, payload: dict, known: set[str]) -> dict:
    """The saved parameters, checked by name, with the loss rebuilt from its settings."""
    params = dict(payload["params"])
    unknown = sorted(set(params) - known, key=str)
    if unknown:
        names = ", ".join(repr(name) for name in unknown)
        why = (
            f"it holds parameter(s) {names}, which RVAgene does not have (a file of another "
            f"rvagene than {package_version()}?)"
        )
        raise ValueError(_not_a_model(path, why))
    loss, settings = params.get("loss"), payload.get("loss_settings")
    kind = _torch_loss_class(loss)
    if kind is not None and isinstance(settings, dict):
        try:
            params["loss"] = kind(**settings)
        except (TypeError, ValueError) as err:
            raise ValueError(_not_a_model(path, f"its {loss} settings fail ({err})")) from None
    elif isinstance(loss, str) and loss.lower() not in LOSSES:
        warnings.warn(
            f"Custom loss {loss} replaced by MSELoss on loading; set model.loss before refitting.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
        params["loss"] = "MSELoss"
    return params


class RVAgene(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Recurrent variational autoencoder for gene expression time series (RVAgene).

    Each gene's series is read by an RNN encoder (GRU by default), mapped to a Gaussian latent
    code, and rebuilt by an RNN decoder. ``transform`` returns the posterior means, on which
    genes are clustered (:func:`rvagene.cluster.cluster_latent`); ``decode`` turns latent codes
    into series. :class:`rvagene.GeneClustering` runs the whole analysis (clusters, their
    probabilities, and new series generated from each cluster's spread).

    Parameters
    ----------
    sequence_length : int, default=None
        Number of time points. Inferred at ``fit``; checked against the data when given.
    number_of_features : int, default=None
        Values per time point (1 for one series per gene; e.g. replicates as features).
        Inferred at ``fit``; checked when given.
    hidden_size : int, default=64
        RNN hidden units in the encoder and the decoder.
    hidden_layer_depth : int, default=1
        Stacked RNN layers. The last layer's final state feeds the latent layer.
    latent_length : int, default=8
        Size of the latent code.
    batch_size : int, default=32
        Genes per optimiser step. A final partial batch is used, never dropped.
    learning_rate : float, default=0.02
        Optimiser learning rate: the peak of the one cycle (``lr_schedule="onecycle"``), or
        the starting rate of ``"plateau"`` (which was tuned at 0.01).
    n_epochs : int, default=500
        Maximum number of passes over the genes (training usually stops earlier, see
        ``early_stopping``).
    dropout_rate : float, default=0.0
        Dropout between stacked RNN layers; it has an effect only when
        ``hidden_layer_depth > 1`` (the original warned and ignored it otherwise).
    optimizer : {"Adam", "AdamW", "SGD"}, default="Adam"
        Case-insensitive. torch's optimisers with their default settings (fused where the
        installed torch has it), called past the decorators that ``torch.compile`` needs,
        which would import ``torch._dynamo`` in every fitting process (docs/design.md).
    loss : {"MSELoss", "SmoothL1Loss", "L1Loss", "HuberLoss"} or torch loss module, \
default="MSELoss"
        Elementwise reconstruction loss (an instance is copied and used with
        ``reduction="none"``).
    kl_weight : float, default=0.1
        Weight of the KL term relative to the reconstruction term.
    kl_warmup : int, default=200
        Optimiser steps over which the KL term's weight rises linearly from 0 to
        ``kl_weight`` (a KL warm-up), at most a third of the fit's steps (the one cycle's
        length, or ``max_steps``), so that a short fit still trains with the prior; 0 uses
        ``kl_weight`` from the first step (the original). The loss history is recorded at
        the full weight.
    time_shift : float, default=0.5
        While training, the encoder reads each series shifted along time by a random amount,
        uniform in [-time_shift, time_shift] time steps (linear interpolation between
        neighbouring points, the end values held), while the decoder still rebuilds the
        series as observed; 0 turns this off (the original). Codes so learn to ignore small
        differences of timing between genes of one group, such as a response's onset.
        ``transform`` and every other method after ``fit`` read the series unshifted. Steps
        are positions in the series, so with uneven ``times`` a shift is a share of the
        interval next to each point.
    loss_balance : {"per-gene", "original"}, default="per-gene"
        How the terms are reduced. ``"per-gene"``: reconstruction summed over time points and
        features, KL summed over latent dimensions, both averaged over genes (the negative
        ELBO for ``kl_weight=1``; independent of the batch size). ``"original"``: the published
        tool's balance, reconstruction summed over the batch and KL averaged over batch and
        latent dimensions (the KL is then nearly ignored).
    scaling : {"zscore", "minmax", "none"}, default="zscore"
        Per-gene scaling of the input over time before encoding: ``"zscore"`` (mean 0, sd 1),
        ``"minmax"`` (to [-1, 1]) or ``"none"`` (the original). The scaling is per series, so
        it needs no fitted state; ``reconstruct`` returns values on the input's scale, while
        ``decode``/``sample`` return scaled values. Genes that are clustered by shape (as
        up/down-regulated genes are) need scaling: on the raw ESC matrix the unscaled model
        does not separate them.
    max_timepoints : int or None, default=64
        Longest series the network runs over. A longer series is averaged over bins of
        ``ceil(n_timepoints / max_timepoints)`` consecutive points after scaling (as the
        paper averages cells over pseudotime windows; :func:`rvagene.data.bin_means`), the
        network is fitted on the bins, and every output comes back on the input's time
        points: :meth:`reconstruct`, :meth:`decode` and :meth:`sample` interpolate linearly
        between the bins' mean times (constant beyond the first and last). ``bin_width_``
        says how many points a bin took (1: none); the training and held-out losses,
        :meth:`score` and ``time_shift`` (in the network's steps) are on the bins. A GRU
        step costs the same whatever it reads, so this halves a fit of 100 points; on
        100-point ``demo`` and ``simfinal`` and 68-point ESC the clusters were the same
        binned, and on the 1,460-point ACSF1 the full-length fit overflowed where the
        binned one did not (docs/results.md).
        None runs over every time point, as the original did.
    block : {"GRU", "LSTM"}, default="GRU"
        Recurrent unit. The paper describes a GRU; the original code built an LSTM.
    clip : bool, default=True
        Clip the gradient norm at ``max_grad_norm``.
    max_grad_norm : float, default=5.0
        Gradient norm limit when ``clip``.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the genes and restore the weights of the check
        where their loss was lowest; with ``lr_schedule="plateau"`` also stop when it has not
        improved by ``tol`` (relative) for ``n_iter_no_change`` checks (a one cycle runs to
        its end). With fewer than 10 genes the training loss is watched instead.
    validation_fraction : float, default=0.1
        Share of genes held out for early stopping, at most 1,000 genes (enough to watch
        the loss; the rest are trained on).
    n_iter_no_change : int, default=10
        Patience of the stopping rule, in checks. The loss is checked after every epoch, or,
        when an epoch has more than 50 optimiser steps (large gene sets), after each of the
        nearly equal parts of an epoch with at most 50 steps: patience, learning-rate decay
        and the restored best state then act on a scale of steps, not of passes over tens
        of thousands of genes (at 20,000 genes one epoch is 594 steps of 32: 19,000
        training genes after 1,000 held out). Neither the stopping rule nor the learning
        rate decay acts during the first 200 optimiser steps (a warm-up): a small gene set
        has few steps per epoch, and a model that has not yet left the initial plateau
        (output = the mean series) must not be stopped there. For
        the same reason the patience spans at least 200 optimiser steps (50 epochs of a
        120-gene set at batch 32). docs/design.md has the measurements.
    tol : float, default=1e-3
        Relative improvement that counts as progress for the stopping rule.
    max_steps : int or None, default=2500
        Stop after this many optimiser steps whatever the stopping rule says (None: no
        limit), so that the time of a fit is bounded: a few minutes for series of 100
        points on one CPU thread, whatever the number of genes. Small and medium gene sets
        stop earlier, at the end of their one cycle (600 steps) or by ``early_stopping``.
    lr_decay : float, default=0.5
        Multiply the learning rate by this factor when the monitored loss has not improved
        for a quarter of the stopping rule's patience (``ReduceLROnPlateau``); 1 disables it.
        Used by ``lr_schedule="plateau"``.
    lr_schedule : {"onecycle", "plateau"}, default="onecycle"
        ``"onecycle"``: one cycle (Smith & Topin 2019; torch's ``OneCycleLR``) of 600
        optimiser steps, or 4 passes over the training genes when that is more, at most
        ``max_steps``: the learning rate rises from ``learning_rate / 10`` to
        ``learning_rate`` over the first quarter, then falls along a cosine to
        ``learning_rate / 50``. The fit runs the whole cycle and, with ``early_stopping``,
        keeps the weights of the check with the lowest held-out loss (a fit of fewer than 8
        steps keeps ``learning_rate`` throughout). ``"plateau"`` (the
        default before): ``learning_rate``, decayed by ``lr_decay`` on plateaus, until the
        stopping rule or ``max_steps`` ends the fit. On the hard quality suite the one cycle
        at 0.02 cut the pipeline's time by 44% at a mean ARI 0.002 lower; on ``simfinal`` it
        reached the plateau schedule's held-out error in 40% of the steps (docs/results.md).
    cuda : bool, default=False
        The original switch, read only with ``device="auto"``: ``True`` then asks for CUDA
        (as ``device="cuda"``: a warning and the CPU without a GPU). ``False`` does not mean
        the CPU as it did in the original: ``device="auto"`` still uses CUDA when available,
        so give ``device="cpu"`` for the CPU. With any other ``device``, ``cuda=True`` warns
        that it has no effect.
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"}, default="auto"
        ``"auto"`` uses CUDA when available. CUDA requested without a GPU warns and uses the
        CPU. Fitted models keep the device in ``device_``.
    n_threads : int or None, default=1
        Torch threads used on the CPU while fitting and predicting (restored afterwards);
        ``-1`` uses every core, ``None`` leaves torch's own setting. One thread is the
        default because RNN steps on gene-sized batches are bound by per-operation overhead:
        more threads gain little, and while another process uses a core they make training
        much slower (OpenMP threads wait for each other at every time step).
    print_every : int, default=100
        Write the batch loss to ``log_file`` every ``print_every`` optimiser steps (0: only
        the line per check). It has an effect only when ``log_file`` is given; progress on
        the screen is ``verbose``'s.
    dload : str or os.PathLike, default="."
        Folder in which ``save`` puts a bare file name (one without a folder part, such as
        ``"m.pt"``), and ``log_file`` is written. Not restored by :meth:`load`, which gives
        the default.
    log_file : str or os.PathLike, default=None
        When given, training progress lines are appended to ``dload/log_file``, each
        starting with the fit's seed (``seed 0: epoch 3 ...``; ``fit <seed drawn>: ...``
        when ``random_state`` is not an int).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, sampling and the validation split. With an
        int, fitting is repeatable bit for bit on the CPU (not promised on CUDA, whose RNN
        kernels may be non-deterministic). None draws a fresh seed from the operating
        system. Global random number generators (numpy's and torch's) are not touched; a
        RandomState instance given here is advanced, as in scikit-learn.
    verbose : int, default=0
        When > 0, show progress on stderr (0 or less: nothing): a tqdm bar over optimiser
        steps on a terminal or in a notebook, otherwise a short status line (epoch, step of
        the most the fit takes, monitored loss, at most how long is left) at most every few
        seconds. The scripts turn it on; ``--quiet`` turns it off.
    callbacks : list of rvagene.Callback or None, default=None
        Hooks called during training (``on_train_begin``, ``on_epoch_begin``, ``on_step``,
        ``on_check``, ``on_train_end``; see :mod:`rvagene._train`), e.g. to trace the
        latent space while it trains. Not saved by :meth:`save`.

    Notes
    -----
    How the defaults were chosen (by K-means ARI on the latent means over the quality
    benchmark's data sets; docs/design.md has the measurements):

    - ``loss_balance="per-gene"`` (reconstruction summed over time, KL over latent
      dimensions, both averaged over genes) does not depend on the batch size, unlike the
      original balance, under which the KL term is scaled down by batch x latent (256 at
      the defaults) relative to the reconstruction, and the latent space is barely
      regularised.
    - ``kl_weight=0.1``: with ``kl_weight=1`` (the plain ELBO) the mean-squared error acts
      as a Gaussian likelihood of variance 0.5 on z-scored data, so the model explains much
      of the signal as noise and leaves latent dimensions unused.
    - ``scaling="zscore"``: genes are grouped by the shape of their series, not their level;
      without scaling the latent space of the raw ESC matrix does not separate up- from
      down-regulated genes.
    - ``latent_length=8`` (the original used 3): with 3 dimensions, K-means on the latent
      means missed genes on several synthetic settings and split 12 clusters badly; 8
      recovered the clusters better there and on ESC. Plots project more than 3 dimensions
      on 2 principal components.
    - ``block="GRU"``, ``hidden_size=64``, ``batch_size=32``: the clusters are found within
      a few epochs. ``lr_schedule="onecycle"`` with ``learning_rate=0.02`` reaches the
      plateau schedule's clusters in about half its steps; the weights of the check where
      the held-out genes' loss was lowest are kept.
    - ``time_shift=0.5``: on the quality suite and the held-out time courses, the
      pipeline's clusters improved or held on 11 of the 12 cases it was chosen on (most
      where a response's onset varies within a group); whole steps (1.0) helped those more
      and lost others.
    - ``kl_warmup=200``: on top of the shift, a KL warm-up raised or kept 10 of those 12
      cases and lost at most 0.006 on the others.

    Attributes
    ----------
    module_ : RVAE
        The trained network.
    n_features_in_ : int
        Number of time points seen at ``fit`` (scikit-learn calls them features).
    n_dims_ : int
        Values per time point seen at ``fit`` (e.g. replicates).
    times_ : ndarray of shape (n_features_in_,) or None
        The time of each point given to ``fit``; None when fitted without times.
    bin_width_ : int
        Time points averaged into one of the network's steps (``max_timepoints``); 1 when
        the series were short enough.
    scaling_ : str
        The ``scaling`` the network was fitted with, which every method after ``fit`` uses
        (``set_params(scaling=...)`` acts at the next ``fit``, as for the other parameters).
    input_ndim_ : int
        2 or 3: the layout of ``fit``'s input, used for ``decode``/``sample`` output.
    loss_curve_ : list of float
        Training loss per gene, one value per check of the stopping rule.
    history_ : dict of list
        One value per check of the stopping rule (per epoch, or per part of an epoch when
        an epoch has more than 50 optimiser steps, see ``n_iter_no_change``): ``loss``,
        ``reconstruction``, ``kl`` (training genes), ``val_loss``, ``val_reconstruction``,
        ``val_kl`` (held-out genes) when validation is used, and ``epoch`` (epochs done at
        the check, fractional for parts of epochs). Reconstruction is summed over time
        points (per gene) on the scaled data.
    n_iter_ : int
        Epochs (passes over the training genes) started, as in scikit-learn's MLP.
    n_steps_ : int
        Optimiser steps taken.
    n_skipped_steps_ : int
        Of those, the steps whose gradient was not finite and so were not applied (a gradient
        through series of hundreds of points can overflow on one batch); a warning names them.
    n_checks_ : int
        Checks of the stopping rule (one per epoch, or per part of an epoch when an epoch
        has more than 50 optimiser steps).
    best_check_ : int
        The check (1-based) whose weights were kept.
    best_step_ : int
        Optimiser steps taken at that check.
    best_epoch_ : float
        Epochs done at that check (fractional when checks split epochs).
    stopped_by_ : {"early_stopping", "max_steps", "cycle", "n_epochs"}
        What ended training: the stopping rule, ``max_steps``, the end of the one cycle
        (``lr_schedule="onecycle"``, planned within ``max_steps`` and ``n_epochs``) or
        ``n_epochs``.
    device_ : str
        Device the network lives on.

    Examples
    --------
    >>> import numpy as np
    >>> from rvagene import RVAgene
    >>> X = np.sin(np.linspace(0, 3, 12))[None, :] * np.arange(1, 21)[:, None]
    >>> model = RVAgene(hidden_size=8, latent_length=2, n_epochs=2, random_state=0)
    >>> model.fit_transform(X).shape
    (20, 2)

    References
    ----------
    .. [1] Mitra, R., MacLean, A. L. "RVAgene: generative modeling of gene expression time
       series data." Bioinformatics 37(19), 3252-3262 (2021).
    """

    def __init__(
        self,
        sequence_length: int | None = None,
        number_of_features: int | None = None,
        hidden_size: int = 64,
        hidden_layer_depth: int = 1,
        latent_length: int = 8,
        batch_size: int = 32,
        learning_rate: float = 0.02,
        n_epochs: int = 500,
        dropout_rate: float = 0.0,
        optimizer: str = "Adam",
        loss: str | nn.Module = "MSELoss",
        kl_weight: float = 0.1,
        kl_warmup: int = 200,
        time_shift: float = 0.5,
        loss_balance: str = "per-gene",
        scaling: str = "zscore",
        max_timepoints: int | None = 64,
        block: str = "GRU",
        clip: bool = True,
        max_grad_norm: float = 5.0,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-3,
        lr_decay: float = 0.5,
        lr_schedule: str = "onecycle",
        max_steps: int | None = 2500,
        cuda: bool = False,
        device: str = "auto",
        n_threads: int | None = 1,
        print_every: int = 100,
        dload: str = ".",
        log_file: str | None = None,
        random_state=None,
        verbose: int = 0,
        callbacks: list | None = None,
    ):
        self.sequence_length = sequence_length
        self.number_of_features = number_of_features
        self.hidden_size = hidden_size
        self.hidden_layer_depth = hidden_layer_depth
        self.latent_length = latent_length
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.dropout_rate = dropout_rate
        self.optimizer = optimizer
        self.loss = loss
        self.kl_weight = kl_weight
        self.kl_warmup = kl_warmup
        self.time_shift = time_shift
        self.loss_balance = loss_balance
        self.scaling = scaling
        self.max_timepoints = max_timepoints
        self.block = block
        self.clip = clip
        self.max_grad_norm = max_grad_norm
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_decay = lr_decay
        self.lr_schedule = lr_schedule
        self.max_steps = max_steps
        self.cuda = cuda
        self.device = device
        self.n_threads = n_threads
        self.print_every = print_every
        self.dload = dload
        self.log_file = log_file
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.non_deterministic = False
        return tags

    @property
    def _n_features_out(self) -> int:
        """Columns of ``transform``: ``get_feature_names_out`` gives rvagene0, rvagene1, ..."""
        return self.module_.config.latent_length

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        """Check every parameter before any work is done, naming the fix (one table)."""
        for name, ok, want in _PARAM_CHECKS:
            value = getattr(self, name)
            if not ok(value):
                msg = f"{name} must be {want}, got {value!r}."
                raise ValueError(msg)
        for name, choices in (("optimizer", ("Adam", "AdamW", "SGD")), ("block", BLOCKS),
                              ("scaling", SCALINGS), ("loss_balance", BALANCES),
                              ("lr_schedule", _train.LR_SCHEDULES)):  # fmt: skip
            value = getattr(self, name)
            known = str(value).lower() in OPTIMIZERS if name == "optimizer" else value in choices
            if not known:
                names = [repr(c) for c in choices]
                shown = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
                msg = f"Unknown {name} {value!r}; use {shown}."
                raise ValueError(msg)
        if self.clip and not (_is_number(self.max_grad_norm) and self.max_grad_norm > 0):
            msg = (
                f"max_grad_norm must be a number > 0 when clip=True, got "
                f"{self.max_grad_norm!r}; give a limit such as 5.0, or clip=False for none."
            )
            raise ValueError(msg)
        if self.callbacks is not None and not (
            isinstance(self.callbacks, list | tuple)
            and all(isinstance(cb, _train.Callback) for cb in self.callbacks)
        ):
            msg = (
                "callbacks must be a list of rvagene callbacks (subclasses of "
                f"rvagene.Callback), or None; got {self.callbacks!r}. One callback goes in "
                "a list: callbacks=[cb]."
            )
            raise ValueError(msg)
        self._make_criterion()
        check_device(self.device)
        onecycle = self.lr_schedule == "onecycle"
        warn_without_effect(self, (
            ("lr_decay", onecycle, "it decays the learning rate of lr_schedule='plateau', "
             "and lr_schedule='onecycle' follows its cycle"),
            ("n_iter_no_change", onecycle or not (self.early_stopping or self.lr_decay < 1),
             "it is the patience of the stopping rule and of lr_decay, which act only with "
             "lr_schedule='plateau' (and early_stopping=True or lr_decay < 1)"),
            ("tol", onecycle or not self.early_stopping, "the stopping rule acts only with "
             "lr_schedule='plateau' and early_stopping=True"),
            ("cuda", str(self.device) != "auto", f"device={str(self.device)!r} decides, and "
             "cuda is read only with device='auto'"),
            ("max_grad_norm", not self.clip and self.max_grad_norm is not None,
             "gradients are not clipped with clip=False"),
            ("dropout_rate", self.hidden_layer_depth == 1, "dropout acts between stacked RNN "
             "layers, and hidden_layer_depth=1 has one"),
            ("validation_fraction", not self.early_stopping, "genes are held out only with "
             "early_stopping=True"),
            ("print_every", self.log_file is None and self.print_every != 0,
             "it is how often the loss is written to log_file, which is not given "
             "(log_file=None)"),
        ))  # fmt: skip

    def _make_criterion(self) -> nn.Module:
        """The reconstruction loss as an elementwise (reduction='none') module."""
        if isinstance(self.loss, nn.Module):
            criterion = copy.deepcopy(self.loss)
        elif isinstance(self.loss, str) and self.loss.lower() in LOSSES:
            criterion = getattr(nn, LOSSES[self.loss.lower()])()
        else:
            msg = (
                f"Unknown loss {self.loss!r}; use 'MSELoss', 'SmoothL1Loss', 'L1Loss', "
                "'HuberLoss' or a torch loss instance."
            )
            raise ValueError(msg)
        criterion.reduction = "none"
        return criterion

    def _validate(self, X, reset: bool) -> tuple[np.ndarray, np.dtype]:
        """Check X and return it as float (n, time, features), plus the output dtype."""
        from .data import as_time_series, check_input

        if isinstance(X, torch.utils.data.Dataset) or torch.is_tensor(X):
            X = as_time_series(X)
        check_input(X, None if reset else self.n_features_in_, type(self).__name__)
        X = validate_data(
            self,
            X,
            reset=reset,
            allow_nd=True,
            ensure_all_finite="allow-nan",
            dtype=[np.float64, np.float32],
            ensure_min_features=1,
        )
        if X.ndim > 3:
            msg = f"X must be 2-D (genes, time) or 3-D (genes, time, features), got {X.ndim}-D."
            raise ValueError(msg)
        dtype = X.dtype
        X3 = X[:, :, None] if X.ndim == 2 else X
        if reset:
            if X3.shape[1] < 2:
                msg = (
                    f"X has {X3.shape[1]} feature(s) (time points) per series; RVAgene "
                    "needs at least 2 time points per series."
                )
                raise ValueError(msg)
            for name, have, unit in (
                ("sequence_length", X3.shape[1], "time points per series"),
                ("number_of_features", X3.shape[2], "value(s) per time point"),
            ):
                want = getattr(self, name)
                if want is not None and want != have:
                    msg = (
                        f"{name}={want} was given, but X has {have} {unit}. Fix X, or "
                        f"{name} ({name}=None takes X's)."
                    )
                    raise ValueError(msg)
        elif X3.shape[2] != self.n_dims_:
            msg = (
                f"X has {X3.shape[2]} values per time point, but this RVAgene was fitted on "
                f"{self.n_dims_}. Reshape X or refit."
            )
            raise ValueError(msg)
        return X3, dtype

    # ------------------------------------------------------------------ fitting
    def fit(self, X, y=None, times=None):
        """Train the network on the genes' series.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims), \
torch Dataset of (n_timepoints, n_dims) tensors, or TimeSeriesTable
            One series per gene. NaN (or a masked array's mask) marks a missing value: it
            is left out of the reconstruction loss (not zero-filled) and given the gene's
            mean at the input.
            Replicates (or several measurements) per time point go on the last axis. A
            table (:func:`~rvagene.read_table`, :func:`~rvagene.load_dataset`) gives its
            ``X``, and its times when they are uneven and ``times`` is None; the other
            methods take a table the same way. A pandas DataFrame's column names are read
            as a table's header is (uneven times such as ``0h,30min,1h,4h`` are used).
        y : ignored
        times : array-like of shape (n_timepoints,), default=None
            Strictly increasing time of each point, for series sampled at uneven times
            (e.g. 0, 0.5, 1, 2, 4, 8, 24 h). The network then sees the time grid: the gap
            to the previous point over the mean gap is an extra encoder input at each step
            and the decoder's input (see :mod:`rvagene.network`). Stored as ``times_``; the
            other methods use that grid. None (the default) gives the original model, one
            step per time point, exactly as without this argument.

        Returns
        -------
        self : RVAgene
        """
        self._check_params()
        _check_log_file(self.dload, self.log_file)  # the script checks --log-file its way
        forget_fit(self)  # a fit that fails leaves no fit, not half of the earlier one
        X, times = split_table(X, times, fitting=True)
        X3, _ = self._validate(X, reset=True)
        self.times_ = None if times is None else _check_times(times, X3.shape[1])
        self.bin_width_ = bin_width(X3.shape[1], self.max_timepoints)
        self.scaling_ = self.scaling
        self.n_dims_ = X3.shape[2]
        self.input_ndim_ = _input_ndim(X)
        device = resolve_device(self.device, self.cuda)
        self.device_ = str(device)
        seed = _draw_seed(self.random_state)
        split_rng = np.random.default_rng(seed)

        n = X3.shape[0]
        n_val = _n_validation(n, self.validation_fraction, self.early_stopping)
        use_val = n_val >= 1
        order = split_rng.permutation(n)
        val_idx, train_idx = (order[:n_val], order[n_val:]) if use_val else (order[:0], order)
        Xt, mask = self._to_tensor(X3, device)
        X_train, m_train = Xt[train_idx], None if mask is None else mask[train_idx]
        X_val, m_val = Xt[val_idx], None if mask is None else mask[val_idx]

        result = self._fit_network(
            device, seed, (X_train, m_train), (X_val if use_val else None, m_val)
        )
        self.history_ = result.history
        self.loss_curve_ = list(result.history["loss"])
        self.n_steps_ = result.n_steps
        self.n_skipped_steps_ = result.skipped_steps
        if result.skipped_steps:
            warnings.warn(
                f"{result.skipped_steps} of {result.n_steps} optimiser steps were skipped "
                "because their gradient overflowed (this happens through long series); the "
                "fit went on without them. If many are skipped, lower learning_rate or "
                "max_timepoints (the network's longest series).",
                RuntimeWarning,
                stacklevel=user_stacklevel(),
            )
        self.n_checks_ = result.n_checks
        self.best_check_ = result.best_check
        self.best_step_ = result.best_step
        self.n_iter_ = math.ceil(result.epochs - 1e-9)
        self.best_epoch_ = (
            result.history["epoch"][result.best_check - 1] if result.best_check else 0
        )
        self.stopped_by_ = result.stopped_by
        return self

    def _fit_network(self, device, seed: int, train: tuple, val: tuple) -> _train.TrainResult:
        """Build ``module_`` and train it on ``train`` (X, mask), watching ``val`` (X, mask).

        A ``FloatingPointError`` leaves the last finite weights in ``module_``, as its
        message says. Any other error (Ctrl-C, a callback's error, a log file that fails to
        open) leaves no fit, as a fit that fails before training does: ``module_`` stayed
        with the untrained or partly trained weights of the fit that failed, without
        ``history_``, and ``transform``, ``sample`` and ``save`` used it without a word.
        """
        devices = [device.index or 0] if device.type == "cuda" else []
        try:
            with torch_threads(self._threads()), torch.random.fork_rng(devices=devices):
                torch.manual_seed(seed)
                self.module_ = RVAE(self._config()).to(device)
                return _train.fit_module(
                    self.module_,
                    train[0],
                    self._train_config(),
                    self._make_criterion(),
                    mask=train[1],
                    X_val=val[0],
                    mask_val=val[1],
                    callbacks=self._callbacks(seed),
                )
        except FloatingPointError:
            raise
        except BaseException:
            forget_fit(self)
            raise

    def _threads(self) -> int | None:
        """Thread count to use: only on the CPU, where it matters."""
        device = getattr(self, "device_", "cpu")
        return self.n_threads if str(device).startswith("cpu") else None

    def _predict(self, X3: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and reconstructions (scaled units) of validated series."""
        Xt, _ = self._to_tensor(X3, self.device_)
        with torch_threads(self._threads()):
            return _train.predict(self.module_, Xt, max(int(self.batch_size), 256))

    def _encode(self, X3: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior means and log-variances of validated series (no decoding)."""
        Xt, _ = self._to_tensor(X3, self.device_)
        with torch_threads(self._threads()):
            return _train.encode(self.module_, Xt, max(int(self.batch_size), 256))

    def _config(self) -> RVAEConfig:
        return RVAEConfig(
            number_of_features=self.n_dims_,
            hidden_size=int(self.hidden_size),
            hidden_layer_depth=int(self.hidden_layer_depth),
            latent_length=int(self.latent_length),
            dropout_rate=float(self.dropout_rate),
            block=self.block,
            times=None if (t := self._network_times()) is None else tuple(t.tolist()),
        )

    def _grid(self) -> np.ndarray:
        """The fitted time points: ``times_``, or 0, 1, 2, ... for even steps."""
        times = getattr(self, "times_", None)
        return np.arange(self.n_features_in_, dtype=np.float64) if times is None else times

    def _network_times(self) -> np.ndarray | None:
        """The network's time grid: ``times_``, or the bins' mean times when binned.

        None (even steps, the original network) unless times were given or the last bin is
        shorter than the others.
        """
        width = self.bin_width_
        times = getattr(self, "times_", None)
        if width == 1 or (times is None and self.n_features_in_ % width == 0):
            return times
        return self._bin_times()

    def _bin_times(self) -> np.ndarray:
        """The mean time of each bin of ``bin_width_`` fitted time points."""
        return bin_means(self._grid()[None, :], self.bin_width_)[0]

    def _unbin(self, out: np.ndarray) -> np.ndarray:
        """Series on the network's bins (n, bins, F) to the fitted time points (n, time, F).

        Linear interpolation between the bins' mean times, constant beyond the end bins.
        """
        width = self.bin_width_
        if width == 1:
            return out
        grid, centres = self._grid(), self._bin_times()
        weights = np.stack([np.interp(grid, centres, e) for e in np.eye(centres.size)], axis=1)
        n, bins, features = out.shape  # one matrix product: (n * F, bins) @ (bins, time)
        rows = out.transpose(0, 2, 1).reshape(n * features, bins) @ weights.T
        return rows.reshape(n, features, grid.size).transpose(0, 2, 1)  # (n, time, F)

    def _check_fitted_times(self, times) -> None:
        """Refuse times other than the fitted ones: the network learned one time grid."""
        if times is None:
            return
        fitted = getattr(self, "times_", None)
        if fitted is None:
            msg = (
                "times were given, but this RVAgene was fitted without times (one step per "
                "time point). Leave times out, or refit with fit(X, times=...)."
            )
            raise ValueError(msg)
        t = _check_times(times, fitted.size)
        if not np.allclose(t, fitted, rtol=1e-9, atol=0.0):
            shown = ", ".join(f"{v:g}" for v in fitted[:8]) + (", ..." if fitted.size > 8 else "")
            msg = (
                f"times differ from the times this RVAgene was fitted on ({shown}). The "
                "network learned that time grid; resample X onto it (e.g. with np.interp) "
                "or refit on the new times."
            )
            raise ValueError(msg)

    def _fitted_input(self, X, times) -> tuple[np.ndarray, np.dtype]:
        """``X`` checked against the fit, as (n, time, dims) float, and its dtype to return.

        The start of every method after ``fit`` that reads series: fitted, a table's array,
        the fitted number of time points and dims, and ``times`` equal to the fitted ones.
        """
        check_is_fitted(self, "module_")
        X, times = split_table(X, times)
        X3, dtype = self._validate(X, reset=False)
        self._check_fitted_times(times)
        return X3, dtype

    def _to_tensor(self, X3: np.ndarray, device) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Scale per gene, fill missing values with the gene mean; return (X, mask)."""
        Xs, _, _ = scale_series(X3, self.scaling_)  # the fit's, whatever set_params did
        Xs = bin_means(Xs, self.bin_width_)  # the network's time points
        missing = np.isnan(Xs)
        mask = None
        if missing.any():
            mask = torch.as_tensor(~missing, device=device)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a replicate not measured
                fill = np.nanmean(Xs, axis=1, keepdims=True)
            Xs = np.where(missing, np.nan_to_num(fill, nan=0.0), Xs)  # 0: the gene's centre
        return torch.as_tensor(Xs, dtype=torch.float32, device=device), mask

    def _callbacks(self, seed: int) -> list[_train.Callback]:
        """The fit's callbacks: a progress display when ``verbose``, the log file, the user's.

        The log's lines start with ``seed <random_state>: `` for an integer ``random_state``
        (``GeneClustering`` gives each fit one), else with ``fit <seed drawn for the fit>: ``,
        and the progress lines with ``RVAgene seed <random_state>: ``, so fits that share a
        log file or stderr can be told apart.
        """
        rs = self.random_state
        which = f"seed {rs}" if _is_int(rs, 0) else f"fit {seed}"
        callbacks = [ProgressBar(name=f"RVAgene {which}")] if self.verbose > 0 else []
        if self.log_file:
            path = Path(self.dload) / self.log_file
            callbacks.append(LogFile(path, self.print_every, tag=f"{which}: "))
        return callbacks + list(self.callbacks or [])

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            optimizer=str(self.optimizer),
            n_epochs=int(self.n_epochs),
            max_steps=None if self.max_steps is None else int(self.max_steps),
            kl_weight=float(self.kl_weight),
            kl_warmup=int(self.kl_warmup),
            time_shift=float(self.time_shift),
            balance=self.loss_balance,
            max_grad_norm=float(self.max_grad_norm) if self.clip else None,
            early_stopping=bool(self.early_stopping),
            n_iter_no_change=int(self.n_iter_no_change),
            tol=float(self.tol),
            lr_decay=float(self.lr_decay),
            lr_schedule=self.lr_schedule,
        )

    # ------------------------------------------------------------------ inference
    def transform(self, X, times=None) -> np.ndarray:
        """Posterior means of the latent code, one row per gene.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        times : array-like of shape (n_timepoints,), default=None
            The time of each point. The fitted ``times_`` are used in any case; passing
            other times (or times to a model fitted without them) raises a ValueError,
            because the network learned one time grid.

        Returns
        -------
        Z : ndarray of shape (n_genes, latent_length)
        """
        X3, dtype = self._fitted_input(X, times)
        mu, _ = self._encode(X3)
        return mu.cpu().numpy().astype(dtype, copy=False)

    def latent_posterior(self, X, times=None) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of the encoder's posterior N(mean, diag(variance)), per gene.

        ``mean`` is what :meth:`transform` returns; ``variance`` (``exp(logvar)``) says how
        sure the encoder is of it. :func:`rvagene.cluster.membership_probabilities` turns
        both into a probability of each cluster per gene.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        times : array-like of shape (n_timepoints,), default=None
            Checked as in :meth:`transform`.

        Returns
        -------
        mean : ndarray of shape (n_genes, latent_length)
        variance : ndarray of shape (n_genes, latent_length)
            Positive, in the units of ``mean`` squared.
        """
        X3, dtype = self._fitted_input(X, times)
        mu, logvar = self._encode(X3)
        mean, variance = mu.cpu().numpy(), logvar.exp().cpu().numpy()  # (n, latent) each
        return mean.astype(dtype, copy=False), variance.astype(dtype, copy=False)

    def reconstruct(self, X, times=None) -> np.ndarray:
        """Rebuild each series from its latent mean, on the input's scale and layout.

        Missing (NaN) values come back filled in by the model (imputation). A flat series
        (constant over time, which ``scaling`` cannot scale) comes back as its constant: the
        scaled series is all zeros, and the decoder's output for it has no unit to return
        to. With ``scaling="none"`` the decoder's output is returned as it is.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        times : array-like of shape (n_timepoints,), default=None
            Checked as in :meth:`transform`.

        Returns
        -------
        ndarray of the shape of ``X``
        """
        X, times = split_table(X, times)  # a table's array: its layout is returned
        X3, dtype = self._fitted_input(X, times)
        _, centre, scale, flat = scale_series(X3, self.scaling_, return_flat=True)
        scale = np.where(flat, 0.0, scale)  # a flat series: its constant
        _, recon = self._predict(X3)
        out = self._unbin(recon.cpu().numpy().astype(np.float64)) * scale + centre
        return (out[:, :, 0] if _input_ndim(X) == 2 else out).astype(dtype, copy=False)

    def decode(self, Z, n_timepoints: int | None = None) -> np.ndarray:
        """Series from latent codes (any number of them), in the scaled units.

        Parameters
        ----------
        Z : array-like of shape (n_points, latent_length)
        n_timepoints : int, default=None
            Length of the decoded series; the fitted length by default. A model fitted with
            ``times`` decodes onto its time grid ``times_`` only.

        Returns
        -------
        ndarray of shape (n_points, n_timepoints) or (n_points, n_timepoints, n_dims),
        following the layout of ``fit``'s input.
        """
        check_is_fitted(self, "module_")
        Z = np.asarray(Z, dtype=np.float64)
        if Z.ndim == 1:
            Z = Z[None, :]
        latent = self.module_.config.latent_length
        if Z.ndim != 2 or Z.shape[1] != latent:
            msg = (
                f"Z has shape {Z.shape}, but this RVAgene has latent_length={latent}; "
                f"pass an array of shape (n_points, {latent})."
            )
            raise ValueError(msg)
        if not np.isfinite(Z).all():
            msg = "Z contains NaN or inf; latent codes must be finite."
            raise ValueError(msg)
        if n_timepoints is not None and not _is_int(n_timepoints, 1):
            msg = (
                f"n_timepoints must be None (the fitted {self.n_features_in_} time points) "
                f"or an integer >= 1, got {n_timepoints!r}."
            )
            raise ValueError(msg)
        T = int(self.n_features_in_ if n_timepoints is None else n_timepoints)
        width = self.bin_width_
        if getattr(self, "times_", None) is not None and T != self.times_.size:
            msg = (
                f"This RVAgene was fitted on {self.times_.size} time points at given times "
                f"(times_), so it decodes onto them only, not onto {T} points."
            )
            raise ValueError(msg)
        if width > 1 and T != self.n_features_in_:
            msg = (
                f"This RVAgene was fitted on {self.n_features_in_} time points averaged in "
                f"bins of {width} (max_timepoints={self.max_timepoints}), so it decodes onto "
                f"them only, not onto {T} points. Refit with max_timepoints=None to decode "
                "other lengths."
            )
            raise ValueError(msg)
        steps = -(-T // width)  # the network's time points
        self.module_.eval()
        zt = torch.as_tensor(Z, dtype=torch.float32, device=self.device_)
        with torch.no_grad(), torch_threads(self._threads()):
            parts = [self.module_.decode(zt[i : i + 4096], steps) for i in range(0, len(zt), 4096)]
        out = np.empty((0, steps, self.n_dims_)) if not parts else torch.cat(parts).cpu().numpy()
        out = self._unbin(out.astype(np.float64))
        return out[:, :, 0] if self.input_ndim_ == 2 else out

    def sample(self, n_samples: int = 1, random_state=None) -> np.ndarray:
        """Series decoded from z ~ N(0, I), the prior, in the scaled units (see ``scaling``).

        For series of one cluster, use :meth:`rvagene.GeneClustering.generate`.

        Parameters
        ----------
        n_samples : int, default=1
            Series to draw.
        random_state : int, numpy Generator, RandomState instance or None, default=None
            Seeds the draws; numpy's global RNG is never used.

        Returns
        -------
        ndarray of shape (n_samples, n_timepoints) or (n_samples, n_timepoints, n_dims),
        following the layout of ``fit``'s input.
        """
        check_is_fitted(self, "module_")
        check_n_samples(n_samples)
        rng = as_generator(random_state)
        return self.decode(rng.standard_normal((n_samples, self.module_.config.latent_length)))

    def score(self, X, y=None, times=None) -> float:
        """Minus the mean per-gene loss: reconstruction from the posterior mean, plus the KL.

        Higher is better. The KL counts in full and the terms are per gene whatever
        ``kl_weight`` and ``loss_balance`` the model was trained with (so scores of models
        trained with other weights compare); with ``MSELoss`` it is the ELBO up to
        constants, on the scaled data.

        Parameters
        ----------
        X : array-like of shape (n_genes, n_timepoints) or (n_genes, n_timepoints, n_dims)
        y : ignored
        times : array-like of shape (n_timepoints,), default=None
            Checked as in :meth:`transform`.

        Returns
        -------
        float
        """
        X3, _ = self._fitted_input(X, times)
        Xt, mask = self._to_tensor(X3, self.device_)
        criterion = self._make_criterion()
        batch = max(int(self.batch_size), 256)
        with torch_threads(self._threads()):
            out = _train.evaluate(
                self.module_, Xt, mask, criterion, batch_size=batch, kl_weight=1.0
            )
        return -out["loss"]

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Write hyperparameters, fitted attributes and weights to one file.

        A bare file name (a str or Path without a folder part, such as ``"m.pt"``) goes into
        ``dload``; a path with a folder part, also ``"./m.pt"``, is taken as given (relative
        to the current folder). The file is written atomically and holds only plain types
        and tensors, so :meth:`load` reads it with ``weights_only=True``. A torch loss given
        as an instance (``loss=torch.nn.HuberLoss(delta=0.3)``) is saved with its settings
        (``delta``, ``beta``, ``reduction``, ...) and rebuilt with them. Its
        ``format_version`` is 1, or 2 for a model fitted over bins (``bin_width_`` > 1), so
        that an rvagene that predates the bins refuses it instead of misreading it.

        As in scikit-learn, ``set_params`` after ``fit`` does not change the fitted network;
        a file holds one set of parameters for its weights, so ``save`` refuses a model whose
        network parameters (``hidden_size``, ``hidden_layer_depth``, ``latent_length``,
        ``dropout_rate``, ``block``) were changed since ``fit``: fit again, or set them back.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (see above for a bare name).
        overwrite : bool, default=False
            Replace an existing file; without it an existing ``path`` is a
            ``FileExistsError`` and the file is left as it was.

        Returns
        -------
        Path of the written file.

        Raises
        ------
        ValueError
            When network parameters were changed since ``fit`` (the message names them).
        FileExistsError
            When ``path`` exists and ``overwrite`` is False.
        IsADirectoryError, NotADirectoryError
            When ``path`` is a folder, or a folder on it is a file.
        OSError
            When the file cannot be written (e.g. ``PermissionError`` for a folder that
            cannot be written); the message names ``path``.
        """
        check_is_fitted(self, "module_")
        changed = _changed_since_fit(self)
        if changed:
            msg = (
                f"{', '.join(changed)} changed since fit; the weights are of the fitted "
                "network, so the file could not be loaded. Fit again, or set them back."
            )
            raise ValueError(msg)
        path = self._save_path(path, overwrite)
        params = self.get_params()
        settings = None
        if isinstance(params["loss"], nn.Module):
            settings = _loss_settings(params["loss"])
            params["loss"] = type(params["loss"]).__name__
        params["random_state"] = (
            params["random_state"] if isinstance(params["random_state"], int | None) else None
        )
        params["device"] = str(params["device"])
        params["callbacks"] = None  # code, not data: callbacks are not saved
        payload = {
            "format_version": FORMAT_VERSION if self.bin_width_ > 1 else 1,
            "rvagene_version": package_version(),
            "params": params,
            "attributes": self._saved_attributes(),
            "state_dict": {k: v.detach().cpu() for k, v in self.module_.state_dict().items()},
        }
        if settings is not None:
            payload["loss_settings"] = settings
        # Through a file object: torch.save given a path names the archive's records after
        # the file (here the random temporary name), so equal models gave unequal files.
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                torch.save(payload, fh)
        except OSError as err:  # named by its temporary file's name (.m.x1y2z3.tmp.pt)
            full = err.errno == errno.ENOSPC  # a full disk: another folder of it fails too
            msg = (
                f"Cannot save to {path}: {err.strerror or err}. "
                + ("Free some space, or choose" if full else "Choose")
                + " a folder you can write to (dload, for a bare file name)."
            )
            new = type(err)(msg)
            new.errno = err.errno  # kept for callers that test it (errno.ENOSPC, ...)
            raise new from err
        return path

    def _save_path(self, path: str | os.PathLike, overwrite: bool) -> Path:
        """Where ``save`` writes: a bare name into ``dload``; refuse folders and old files."""
        given = os.fspath(path)
        path = Path(given)
        if not os.path.dirname(given):
            path = Path(self.dload) / path
        if path.is_dir():
            msg = f"{path} is a folder; give a file path, such as {path / 'model.pt'}."
            raise IsADirectoryError(msg)
        blocked = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocked is not None:
            msg = f"Cannot save to {path}: {blocked} is a file, not a folder. Choose another path."
            raise NotADirectoryError(msg)
        if path.exists() and not overwrite:
            msg = f"{path} exists; pass overwrite=True to replace it."
            raise FileExistsError(msg)
        return path

    def _saved_attributes(self) -> dict:
        """The fitted ``_`` attributes but ``module_``, arrays as tensors (plain types)."""
        attributes = {
            k: getattr(self, k)
            for k in vars(self)
            if k.endswith("_") and not k.startswith("_") and k != "module_"
        }
        for key, value in attributes.items():  # arrays (times_) travel as tensors
            if isinstance(value, np.ndarray) and value.dtype == object:
                attributes[key] = [str(v) for v in value]  # feature_names_in_: a DataFrame's
            elif isinstance(value, np.ndarray):
                attributes[key] = torch.from_numpy(value.copy())
        return attributes

    @classmethod
    def load(cls, path: str | os.PathLike, device: str = "cpu") -> RVAgene:
        """Load a model written by :meth:`save` onto ``device`` (CPU by default).

        Only plain types and tensors are read (``weights_only=True``): a file carrying code is
        refused without running it. ``dload`` is not taken from the file: it named a folder
        of the machine (and run) that saved it, where a bare-name ``save`` or a refit's
        ``log_file`` would otherwise go, recreating that path or failing where it cannot be
        made. A loaded model has the default ``"."`` (the current folder), as a new one does;
        ``set_params(dload=...)`` chooses another. ``log_file``, a name inside ``dload``, is
        kept. Any file that is not a model written by :meth:`save`
        (another torch file, a numpy file, a damaged file, parameters that do not fit the
        weights) raises a ``ValueError`` that says why.

        Parameters
        ----------
        path : str or os.PathLike
            A file written by :meth:`save`.
        device : str, default="cpu"
            Where the network goes: ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or
            ``"auto"``; CUDA without a GPU warns and uses the CPU.

        Returns
        -------
        RVAgene
        """
        path = Path(path)
        if path.is_dir():
            msg = f"{path} is a folder, not a model file. Give a file written by save()."
            raise IsADirectoryError(msg)
        if not path.is_file():
            msg = f"No model file at {path}."
            raise FileNotFoundError(msg)
        target = resolve_device(device)
        payload = _read_model_file(path, target)
        params = _loaded_params(path, payload, set(cls().get_params()))
        params.pop("dload", None)  # a folder of the machine that saved it: the default here
        model = cls(**params)
        try:
            for key, value in payload["attributes"].items():
                if key == "feature_names_in_":  # saved as a list of str; numpy's, as fit's
                    value = np.asarray(value, dtype=object)
                setattr(model, key, value.cpu().numpy() if torch.is_tensor(value) else value)
            model.device_ = str(target)
            if not hasattr(model, "bin_width_"):  # a format-1 file from before the bins
                model.bin_width_ = 1
            if not hasattr(model, "scaling_"):  # a file from before scaling_ was kept
                model.scaling_ = model.scaling
            model.module_ = RVAE(model._config()).to(target)
            model.module_.load_state_dict(payload["state_dict"])
        except (AttributeError, KeyError, TypeError, ValueError, RuntimeError) as err:
            lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
            detail = next((ln for ln in lines if not ln.endswith(":")), type(err).__name__)
            why = f"its parameters, attributes and weights do not fit together ({detail})"
            raise ValueError(_not_a_model(path, why)) from None
        model.module_.eval()
        return model

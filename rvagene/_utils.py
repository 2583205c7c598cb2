"""Small shared helpers: device resolution, seeding, number checks and atomic file writes."""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import numbers
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "auto", cuda: bool = False) -> torch.device:
    """Turn a device request into a :class:`torch.device`.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "cuda:N", "mps"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when it is available and the CPU otherwise; ``"mps"`` is used
        only when asked for by name.
    cuda : bool, default=False
        The original tool's switch. ``cuda=True`` with ``device="auto"`` means "use the GPU".

    Returns
    -------
    torch.device

    Notes
    -----
    Asking for CUDA on a machine without it (``cuda=True`` or ``device="cuda"``) warns and
    falls back to the CPU, so that a script written on a GPU workstation still runs on a
    laptop. An unknown device name raises ``ValueError``.
    """
    name = check_device(device)
    if name == "auto":
        name = "cuda" if (cuda or torch.cuda.is_available()) else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            warnings.warn(
                "CUDA was requested but no CUDA device is available; using the CPU instead.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return torch.device("cpu")
        return torch.device(name)
    if name == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            warnings.warn(
                "MPS was requested but is not available; using the CPU instead.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            return torch.device("cpu")
        return torch.device("mps")
    return torch.device("cpu")


def check_device(device: str | torch.device) -> str:
    """The device's name in lower case; a ``ValueError`` for a name that is not a device.

    Checked with the other parameters, before any work: found by ``resolve_device`` only,
    a bad name stopped the script after its data were read and analysed, and ``"cudax"``
    or ``"cuda:one"`` passed on a machine without CUDA (and failed inside torch on one with).
    """
    if isinstance(device, torch.device):
        device = str(device)
    if not isinstance(device, str):
        msg = f"device must be 'auto', 'cpu', 'cuda' or 'mps', got {device!r}."
        raise ValueError(msg)
    name = device.lower()
    if name in ("auto", "cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", name):
        return name
    msg = f"Unknown device {device!r}. Use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    raise ValueError(msg)


def package_version() -> str:
    """The installed rvagene's version, or "1.0.0" in a source tree without installation."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rvagene")
    except PackageNotFoundError:  # running from a source tree without installation
        return "1.0.0"


def user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside rvagene.

    Called by the function that warns: the warning then names the user's line however deep
    in the package the check ran (``RVAgene.fit``, ``GeneClustering.fit`` or
    ``check_input`` called directly), where a fixed level named a line of the package.
    scikit-learn's frames are passed over too: its ``fit_predict``, ``fit_transform`` and
    ``set_output`` wrappers (and a ``Pipeline``) call the estimators' methods, and a
    warning at their line named ``sklearn/base.py``.
    """
    import sys

    import sklearn

    skipped = tuple(
        os.path.dirname(os.path.abspath(f)) + os.sep for f in (__file__, sklearn.__file__)
    )
    frame, level = sys._getframe(1), 1  # noqa: SLF001 - as the warnings module does
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(skipped):
        frame, level = frame.f_back, level + 1
    return level


def is_real_at_least(value, minimum: float) -> bool:
    """True for a finite real number (not a bool) >= ``minimum``."""
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= minimum
    )


SEEDS = (
    "None, an int in [0, 2**32 - 1] or a numpy RandomState (for a numpy Generator rng, "
    "give an int from it: rng.integers(2**32))"
)


def is_seed(value) -> bool:
    """Whether ``value`` is a ``random_state`` an estimator takes (see ``SEEDS``)."""
    import numpy as np

    if value is None or isinstance(value, np.random.RandomState):
        return True
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value < 2**32
    )


def forget_fit(estimator, private: tuple[str, ...] = ()) -> None:
    """Remove the fitted attributes (``name_``) and the ``private`` ones an earlier fit set.

    A fit calls it before it reads new data, so that a fit that fails leaves the estimator
    unfitted (``NotFittedError``), not half of one fit and half of another: the network
    of the earlier data with the shape of the new (``n_features_in_``, ``bin_width_``,
    ``times_``) would transform the new data without a word.
    """
    names = [k for k in vars(estimator) if k.endswith("_") and not k.startswith("_")]
    for name in [*names, *(k for k in private if k in vars(estimator))]:
        delattr(estimator, name)


def warn_without_effect(estimator, rules) -> None:
    """Warn for each parameter set away from its default where the others make it do nothing.

    ``rules``: ``(name, ignored, why)`` triples, ``ignored`` True where ``name`` has no effect.
    The message reads ``name=value has no effect: why.`` (scikit-learn warns so, e.g. for
    ``l1_ratio`` without ``penalty="elasticnet"``); the scripts turn ``name=value`` into
    their options. A value equal to the default says nothing, so it is not warned about.
    """
    import inspect

    defaults = inspect.signature(type(estimator).__init__).parameters
    for name, ignored, why in rules:
        value = getattr(estimator, name)
        if ignored and _differs(value, defaults[name].default):
            msg = f"{name}={value!r} has no effect: {why}."
            warnings.warn(msg, UserWarning, stacklevel=user_stacklevel())


def _differs(value, default) -> bool:
    """``value != default`` as one bool; an array (no single answer) differs."""
    try:
        return bool(value != default)
    except (TypeError, ValueError):  # e.g. numpy's "truth value of an array ... ambiguous"
        return True


def check_n_samples(n_samples) -> None:
    """Raise a ValueError unless ``n_samples`` is an integer >= 1 (not a bool)."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
        msg = f"n_samples must be a positive integer, got {n_samples!r}."
        raise ValueError(msg)


def as_generator(random_state):
    """Turn ``random_state`` into a numpy generator without ever using numpy's global RNG.

    None gives a freshly seeded ``Generator``; an int seeds one; a ``Generator`` or
    ``RandomState`` is used as it is.
    """
    import numbers

    import numpy as np

    if random_state is None:
        return np.random.default_rng()  # fresh OS entropy, global state untouched
    if isinstance(random_state, np.random.Generator | np.random.RandomState):
        return random_state
    if isinstance(random_state, numbers.Integral):
        return np.random.default_rng(int(random_state))
    msg = (
        "random_state must be None, an int, a numpy Generator or a RandomState, "
        f"got {type(random_state).__name__}."
    )
    raise ValueError(msg)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only on success.

    Whatever is written to the yielded path replaces ``path`` in one ``os.replace`` once the
    ``with`` block ends without error, so an interrupted run leaves either the old file or the
    new one, never a partial file. Parent folders are created.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("hello")
    >>> target.read_text()
    'hello'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the real suffix last so that tools choosing a format by extension
    # (matplotlib's savefig, numpy's savetxt) still see it.
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp)
    held = False
    try:
        yield tmp
        plain_mode(tmp)
        if _HELD is not None:  # inside write_together: moved with the others at its end
            _HELD.append((tmp, path))
            held = True
        else:
            os.replace(tmp, path)
    finally:
        if not held and tmp.exists():
            tmp.unlink()


def plain_mode(path: str | os.PathLike) -> None:
    """Give a file from ``mkstemp`` (private, 0600) the mode a plain ``open()`` would."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


# The (temporary, final) paths that atomic_path wrote inside write_together, not yet moved.
_HELD: list[tuple[Path, Path]] | None = None


def held_files() -> list[tuple[Path, Path]]:
    """The files written inside this process's :func:`write_together` block, not yet moved.

    A forked process that writes files for the block sends these to the parent, which
    :func:`hold` s them.
    """
    return list(_HELD or [])


def hold(pairs) -> None:
    """Add (temporary, final) paths written elsewhere (a forked process) to the block's."""
    if _HELD is None:
        msg = "hold() needs a write_together() block."
        raise RuntimeError(msg)
    _HELD.extend((Path(tmp), Path(path)) for tmp, path in pairs)


@contextlib.contextmanager
def write_together(done=None) -> Iterator[None]:
    """Files written by :func:`atomic_path` in the block replace their targets together.

    Each file is written to a temporary path as before; none is moved onto its target until
    the block ends without error, and then all are moved at once, with Ctrl-C held back
    until the last has moved (in the main thread). An error or an interrupt in the
    block removes the temporary files, so a run that stops leaves every earlier file as it
    was: never some of one run's files beside some of another's. A target that is a folder
    is refused before anything is moved. ``done``, if given, is called once every file has
    moved, with Ctrl-C still held back: what the caller does then (a record that the files
    were replaced, removing files of an earlier run) is not cut off from the moves.

    One block at a time, in one thread: the files are collected in a module-level list, so
    a block inside another, or blocks in two threads at once, are refused.
    """
    global _HELD
    if _HELD is not None:
        msg = "write_together() blocks cannot be nested or run in two threads at once."
        raise RuntimeError(msg)
    held = _HELD = []
    try:
        yield
        _HELD = None
        for _, path in held:
            if path.is_dir():
                msg = f"{path} is a folder; remove it, or write the results elsewhere."
                raise IsADirectoryError(msg)
        with _sigint_held():
            for tmp, path in held:
                os.replace(tmp, path)
            if done is not None:
                done()
    finally:
        _HELD = None
        for tmp, _ in held:
            if tmp.exists():
                tmp.unlink()


@contextlib.contextmanager
def _sigint_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) back during the block (main thread); it takes effect after it.

    Python's handler is swapped for one that only records the signal, then restored and
    called. (A signal mask would hold it back only in this thread; torch's and pytest's
    threads would take it.)
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got = []
    old = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
        if got and callable(old):
            old(signal.SIGINT, None)


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator:
    """Open a file for writing atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``n_threads`` intra-op torch threads, then restore the setting.

    ``None`` leaves torch's setting alone; ``-1`` means all cores.
    """
    if n_threads is None:
        yield
        return
    before = torch.get_num_threads()
    wanted = os.cpu_count() or 1 if n_threads == -1 else int(n_threads)
    if wanted == before:
        yield
        return
    torch.set_num_threads(wanted)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def fork_is_safe() -> bool:
    """Whether this process may fork workers that run numpy, matplotlib or CPU torch code.

    True only where forking is the platform's start method (Linux up to Python 3.13), from a
    process that is not daemonic (a daemon cannot have children) and before CUDA is
    initialised (a forked child cannot use it). The parallel fits and the script's figures
    fork only then, and otherwise fall back to fresh processes or to this one.
    """
    import multiprocessing
    import sys

    return (
        sys.platform.startswith("linux")
        and multiprocessing.get_start_method() == "fork"
        and not multiprocessing.current_process().daemon
        and not torch.cuda.is_initialized()
    )


@functools.cache
def supports_fused(optimizer: type, device_type: str) -> bool:
    """Whether the installed torch runs ``optimizer(..., fused=True)`` on ``device_type``.

    A feature check, not a version test: one step of the optimizer on a one-element
    parameter of that device. Older torch releases refuse ``fused=True`` on the CPU (or do
    not know the argument); the caller then uses the optimizer's default implementation.
    """
    try:
        param = torch.zeros(1, device=device_type, requires_grad=True)
        param.grad = torch.ones_like(param)
        optimizer([param], lr=1e-3, fused=True).step()
    except (RuntimeError, TypeError, ValueError) as err:
        logger.debug("fused %s unavailable on %s: %s", optimizer.__name__, device_type, err)
        return False
    return True

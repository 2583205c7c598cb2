"""Pieces shared by the command-line scripts: one-line errors, Ctrl-C, atomic figures and JSON."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import logging
import os
import re
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

from ._utils import atomic_open, atomic_path

logger = logging.getLogger(__name__)

DPI = 150


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Help lines end in ``(default: ...)`` unless they state the default themselves.

    The description and epilog are printed as written (examples keep their lines).
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default is argparse.SUPPRESS or not action.option_strings:
            return text
        if isinstance(action, argparse._StoreTrueAction | argparse.BooleanOptionalAction):
            return f"{text} (default: {'on' if action.default else 'off'})"
        return f"{text} (default: %(default)s)"


def announce(path, detail: str = "") -> None:
    """Tell the user that a file was written: ``wrote <path>`` on stdout."""
    print(f"wrote {path}{detail}", flush=True)


def parameter_docs(cls) -> dict[str, tuple[str, tuple[str, ...] | None]]:
    """The first sentence and the string choices of each parameter in a numpydoc docstring.

    Returns ``{name: (sentence, choices)}``; ``choices`` is the tuple of quoted strings of
    a type such as ``{"GRU", "LSTM"}``, or None. Parameters without text are left out.
    """
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, re.S | re.M)
    found: dict[str, tuple[str, tuple[str, ...] | None]] = {}
    if section is None:
        return found
    for name, kind, body in re.findall(
        r"^(\w+) : ([^\n]*)\n((?:[ \t]+[^\n]*\n?|\n(?=[ \t]))*)", section.group(1), re.M
    ):
        text = " ".join(body.split()).replace("``", "")
        sentence = re.split(r"(?<=\.)\s+(?=[A-Z\"])", text, maxsplit=1)[0].rstrip(".")
        braces = re.match(r"\s*\{([^}]*)\}", kind)
        choices = tuple(re.findall(r'"([^"]+)"', braces.group(1))) if braces else None
        if sentence:
            found[name] = (sentence, choices or None)
    return found


def setup_logging(level: int = logging.INFO) -> None:
    """Send progress messages to stdout and show each warning as one line on stderr.

    stderr is kept for problems, so a run that fails leaves exactly one ``error: ...`` line
    there (plus a ``warning: ...`` line per warning, such as CUDA falling back to the CPU).
    """
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stdout)

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"warning: {text}", file=file or sys.stderr)

    warnings.showwarning = show


def exit_now(status: int) -> NoReturn:
    """End a command's process with ``status``, skipping the interpreter's teardown.

    Once a run has written its files, Python would spend 0.5-0.8 s freeing torch's,
    scikit-learn's and matplotlib's modules object by object before the process ends
    (measured on ``train_and_gen.py demosim``: 0.7 s of its 9-10 s). The exit functions
    (``atexit``: logging's flush, joblib's and multiprocessing's clean-up) still run, and
    stdout and stderr are flushed, before ``os._exit``. Under a profiler or a debugger
    (``python -m cProfile``, ``pdb``, coverage), which write their results after the
    script returns, this is a plain ``sys.exit`` (coverage's own exit function runs either
    way). Only the scripts' ``__main__`` blocks and console commands call it, never library
    code. Ctrl-C is ignored from here on: the run's outcome is settled, and an interrupt in
    the exit functions would print "Exception ignored" tracebacks and leave their work
    half done.
    """
    if threading.current_thread() is threading.main_thread():  # signals: main thread only
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(status)
    import atexit
    import os

    atexit._run_exitfuncs()  # what the interpreter's own exit would run first
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing to keep
            stream.flush()
    os._exit(status)


# ---------------------------------------------------------------------------- Ctrl-C

_NOTED: list[int] = []  # the SIGINTs that command_interrupts' handler took


def _note(signum, frame):
    """SIGINT's handler during a command's run: Python's KeyboardInterrupt, and a note."""
    _NOTED.append(signum)
    raise KeyboardInterrupt


@contextlib.contextmanager
def command_interrupts(written: Callable[[], str | None]) -> Iterator[None]:
    """A command's run: a Ctrl-C is noted, and leaves the block saying what it left.

    In the block SIGINT raises KeyboardInterrupt, as Python's handler does, and is noted:
    Python prints a KeyboardInterrupt raised in a callback it calls itself (logging's
    at-fork hook when the fits' or figures' processes fork, matplotlib's weakref clean-up)
    as "Exception ignored in ..." and goes on, and :func:`stop_if_interrupted`, called
    before the results replace any file, stops the run then. Only where the handler is
    Python's own: a process that ignores SIGINT (started with & from a shell script) and a
    caller's own handler keep theirs.

    A KeyboardInterrupt leaves the block as ``KeyboardInterrupt("interrupted; <what>")``,
    ``<what>`` being ``written()``'s words (the results were written when it came) or "no
    file was replaced". The commands' ``main`` lets it through, as any Python function
    does, so a notebook or a loop that calls ``main`` stops too; :func:`run_command` makes
    it one line on stderr and exit status 130 at the command line.
    """
    _NOTED.clear()
    main_thread = threading.current_thread() is threading.main_thread()
    ours = main_thread and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    before = signal.signal(signal.SIGINT, _note) if ours else None
    try:
        yield
    except KeyboardInterrupt:
        msg = f"interrupted; {written() or 'no file was replaced'}"
        raise KeyboardInterrupt(msg) from None
    finally:
        if before is not None:
            signal.signal(signal.SIGINT, before)


def stop_if_interrupted() -> None:
    """Raise KeyboardInterrupt if :func:`command_interrupts` noted a Ctrl-C (one swallowed)."""
    if _NOTED:
        raise KeyboardInterrupt


def run_command(main: Callable[..., int], **kwargs) -> NoReturn:
    """A script's command line: ``main(**kwargs)``, its status the process's exit status.

    Progress goes to stdout and warnings are one line each (:func:`setup_logging`). A
    KeyboardInterrupt from ``main`` (Ctrl-C: "interrupted; no file was replaced", see
    :func:`command_interrupts`) is one line on stderr and exit status 130 (128 + SIGINT),
    not a traceback. The process ends by :func:`exit_now`.
    """
    setup_logging()
    try:
        status = main(**kwargs)
    except KeyboardInterrupt as exc:
        print(f"error: {str(exc) or 'interrupted; no file was replaced'}", file=sys.stderr)
        status = 130
    exit_now(status)


def int_at_least(minimum: int, none: bool = False, maximum: int | None = None):
    """Argparse type: an integer >= ``minimum`` (or ``none``, given as None, when allowed).

    With ``maximum``, also at most ``maximum``.
    """

    def parse(value: str) -> int | None:
        if none and value.lower() == "none":
            return None
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum or (maximum is not None and number > maximum):
            also = " or none" if none else ""
            want = f">= {minimum}" if maximum is None else f"from {minimum} to {maximum}"
            msg = f"expected an integer {want}{also}, got {value!r}"
            raise argparse.ArgumentTypeError(msg)
        return number

    return parse


def real_number(ok, want: str):
    """Argparse type: a number for which ``ok(number)`` holds, else "expected ``want``"."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            number = None
        if number is None or not ok(number):
            msg = f"expected {want}, got {value!r}"
            raise argparse.ArgumentTypeError(msg)
        return number

    return parse


def save_figure(fig, path: Path, dpi: int = DPI) -> None:
    """Save ``fig`` to ``path`` atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, metadata={"Software": None})
    finally:
        plt.close(fig)
    announce(path)


def write_config(path: Path, args: argparse.Namespace, extra: dict | None = None) -> None:
    """Write the script's arguments (and ``extra`` entries) as JSON, atomically."""
    with atomic_open(path, "w") as fh:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        settings.update(extra or {})
        json.dump(settings, fh, indent=2)
        fh.write("\n")
    announce(path)


def output_folder(option: str, folder: Path) -> None:
    """Check, before any work, that ``folder`` (an output option's value) can be written.

    An existing folder must take a new file; a missing one is created when the outputs are
    written, so its nearest existing parent must be a folder that can be written. A file in
    its place, or a folder that cannot be written, is a ``ValueError`` naming ``option``.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        msg = f"{option} {str(folder)!r} is a file; give a folder (it is created if missing)."
        raise ValueError(msg)
    parent = next(p for p in (folder, *folder.absolute().parents) if p.exists())
    problem = None
    if not parent.is_dir():
        problem = f"{str(parent)!r} is a file"
    elif parent == folder:
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as err:
            problem = err.strerror or str(err)
    elif not os.access(parent, os.W_OK | os.X_OK):
        problem = f"{str(parent)!r} cannot be written"
    if problem:
        msg = (
            f"{option} {str(folder)!r} cannot be written ({problem}); give a folder you can "
            "write to."
        )
        raise ValueError(msg)

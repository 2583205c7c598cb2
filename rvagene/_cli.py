"""Pieces shared by the command-line scripts: one-line errors, atomic figure and JSON output."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import warnings
from pathlib import Path

from ._utils import atomic_open, atomic_path

logger = logging.getLogger(__name__)

DPI = 150


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit status 2)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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


def int_at_least(minimum: int):
    """Argparse type: an integer >= ``minimum``."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < minimum:
            msg = f"expected an integer >= {minimum}, got {value!r}"
            raise argparse.ArgumentTypeError(msg)
        return number

    return parse


def save_figure(fig, path: Path, dpi: int = DPI) -> None:
    """Save ``fig`` to ``path`` atomically and close it."""
    import matplotlib.pyplot as plt

    try:
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi)
    finally:
        plt.close(fig)
    logger.info("wrote %s", path)


def write_config(path: Path, args: argparse.Namespace) -> None:
    """Write the script's arguments as JSON, atomically."""
    with atomic_open(path, "w") as fh:
        settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        json.dump(settings, fh, indent=2)
        fh.write("\n")
    logger.info("wrote %s", path)

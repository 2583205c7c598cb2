"""Generate a synthetic gene-cluster data set, as RVAgene's ``gen_synthetic_data.py`` did.

    python gen_synthetic_data.py demosim --method convolve --n-clusters 6 --seed 0

The same command is installed as ``rvagene-simulate``. Its code and every option are in
:mod:`rvagene._gen_synthetic_data` (``python gen_synthetic_data.py --help`` lists them);
this file keeps the name the original tool's users know.
"""

import sys

try:  # torch and the package take seconds to load
    from rvagene._gen_synthetic_data import console, main  # noqa: F401  (main: for tests)
except KeyboardInterrupt:  # Ctrl-C meanwhile: one line, as later, not a traceback
    print("error: interrupted; no file was replaced", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":
    console()  # ends the process with main's exit status (rvagene._cli.exit_now)

"""Train RVAgene on a data set, cluster its genes and generate new trajectories.

    python train_and_gen.py demosim
    python train_and_gen.py path/to/genes.csv --n-clusters 4 --seed 1

The same command is installed as ``rvagene-train``. Its code and every option are in
:mod:`rvagene._train_and_gen` (``python train_and_gen.py --help`` lists them); this file
keeps the name the original tool's users know.
"""

import sys

try:  # torch and the package take seconds to load
    from rvagene._cli import run_command
    from rvagene._train_and_gen import main
except KeyboardInterrupt:  # Ctrl-C meanwhile: one line, as later, not a traceback
    print("error: interrupted; no file was replaced", file=sys.stderr)
    raise SystemExit(130) from None

if __name__ == "__main__":
    run_command(main)  # Ctrl-C: exit status 130; no interpreter teardown (0.7 s)

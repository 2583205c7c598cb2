"""Print the lowest versions pyproject.toml admits, as pip pins (``name==floor``), one a line.

CI installs these in a second environment and runs the fast tests there, so that the floors
the package claims are floors that were tested. (The ``[project]`` table's ``dependencies``
list is read with a regular expression: ``tomllib`` needs Python 3.11, the package 3.10.)
"""

import re
import sys
from pathlib import Path

text = Path(sys.argv[1]).read_text()
block = re.search(r"^\[project\].*?^dependencies = \[(.*?)^\]", text, re.S | re.M)
if block is None:
    sys.exit("lowest.py: no dependencies list in the [project] table")
for requirement in re.findall(r'^\s*"([^"]+)"', block[1], re.M):
    found = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)", requirement)
    if found is None:
        sys.exit(f"lowest.py: {requirement!r} has no '>=' floor; give every dependency one")
    print(f"{found[1]}=={found[2]}")

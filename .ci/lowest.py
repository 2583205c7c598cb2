"""Print the lowest versions pyproject.toml admits, as pip pins (``name==floor``), one a line.

CI installs these in a second environment and runs the fast tests there, so that the floors
the package claims are floors that were tested. Extra pins for packages that are not ours
follow the project's pins (see .ci/run).
"""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads(Path(sys.argv[1]).read_text())["project"]
for requirement in project["dependencies"]:
    found = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)", requirement)
    if found is None:
        sys.exit(f"lowest.py: {requirement!r} has no '>=' floor; give every dependency one")
    print(f"{found[1]}=={found[2]}")

"""House rules read from the source: no import circle in the package, no long functions."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rvagene"
SCRIPTS = [ROOT / "train_and_gen.py", ROOT / "gen_synthetic_data.py"]
MAX_BODY_LINES = 60


def _imported_modules(path: Path) -> set[str]:
    """The rvagene modules a file imports (anywhere in it, lazily or not); the root is
    ``__init__``."""
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                parts = node.module.split(".") if node.module else []
            elif node.module and node.module.split(".")[0] == "rvagene":
                parts = node.module.split(".")[1:]
            else:
                continue
            if parts:
                found.add(parts[0])
            else:  # from . import x / from rvagene import x: a module, or the root's name
                found |= {a.name if a.name in modules else "__init__" for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "rvagene":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
    return found - {path.stem}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph as a path of names, or None."""
    state = {}  # name -> "open" while on the path, "done" when every path from it is known

    def visit(name, path):
        state[name] = "open"
        for nxt in sorted(graph.get(name, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[name] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_in_the_package():
    graph = {p.stem: _imported_modules(p) for p in PACKAGE.glob("*.py")}
    assert graph["pipeline"] >= {"model", "cluster"}  # the parser sees imports
    assert "cluster" not in graph["model"]
    assert "model" not in graph["cluster"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def _body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines from the first statement after the docstring to the end of the function."""
    body = node.body
    first = body[0]
    if len(body) > 1 and isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        body = body[1:]
    return node.end_lineno - body[0].lineno + 1


def _long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({_body_lines(node)} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and _body_lines(node) > MAX_BODY_LINES
    ]


def test_line_counter_counts_the_body_without_the_docstring(tmp_path):
    lines = ["def f():", '    """Doc.', "", '    More."""', *["    x = 1"] * 61]
    (tmp_path / "long.py").write_text("\n".join(lines) + "\n")
    tree = ast.parse((tmp_path / "long.py").read_text())
    assert _body_lines(tree.body[0]) == 61


def test_no_function_body_over_60_lines():
    files = [*sorted(PACKAGE.glob("*.py")), *SCRIPTS]
    long = [entry for path in files for entry in _long_functions(path)]
    assert not long, "function bodies over 60 lines: " + "; ".join(long)


# The scripts' own modules: their warnings are printed as "warning: ..." lines, without a place
SCRIPT_MODULES = {"_cli.py", "_gen_synthetic_data.py", "_outputs.py", "_train_and_gen.py"}


def _fixed_stacklevels(path: Path) -> list[str]:
    """``file:line`` of each ``stacklevel=<number>`` argument in a file."""
    return [
        f"{path.name}:{node.lineno}"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.keyword)
        and node.arg == "stacklevel"
        and isinstance(node.value, ast.Constant)
    ]


def test_library_warnings_find_the_users_line():
    """A fixed stacklevel names the user's line only when the warning is one call below it:
    called through GeneClustering, load or scikit-learn's fit_predict it named a line of the
    package. Library warnings take rvagene._utils.user_stacklevel()."""
    files = [p for p in sorted(PACKAGE.glob("*.py")) if p.name not in SCRIPT_MODULES]
    fixed = [entry for path in files for entry in _fixed_stacklevels(path)]
    assert not fixed, "fixed stacklevels (use user_stacklevel()): " + ", ".join(fixed)

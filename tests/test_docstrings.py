"""The public API's numpydoc Parameters sections agree with the signatures."""

import inspect
import re

import pytest

import rvagene
from rvagene import GeneClustering, RVAgene


def _public_callables():
    """Functions and classes in ``__all__``, and the methods of the two estimators."""
    found = []
    for name in rvagene.__all__:
        obj = getattr(rvagene, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            found.append((name, obj))
    for cls in (RVAgene, GeneClustering):
        for name, member in vars(cls).items():
            func = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
            if not name.startswith("_") and inspect.isfunction(func):
                found.append((f"{cls.__name__}.{name}", getattr(cls, name)))
    return found


def _documented(doc: str | None) -> dict[str, str]:
    """Parameter name -> its type line, from the Parameters section of a numpydoc docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    params, inside = {}, False
    for line, below in zip(lines, [*lines[1:], ""], strict=True):
        if re.fullmatch(r"-{3,}", below.strip()) and line.strip():
            inside = line.strip() == "Parameters"
            continue
        if inside and line and not line.startswith(" ") and not re.fullmatch(r"-{3,}", line):
            names, _, kind = line.partition(" : ")
            for one in names.split(","):
                params[one.strip().lstrip("*")] = kind
    return params


def _stated_default(kind: str, module) -> object:
    """The value after ``default=`` in a type line, evaluated in the function's module."""
    text = re.search(r"default=(.+)$", kind).group(1).strip()
    return eval(text, vars(module))  # noqa: S307 - the package's own docstrings


CALLABLES = _public_callables()


@pytest.mark.parametrize(("name", "obj"), CALLABLES, ids=[name for name, _ in CALLABLES])
def test_parameters_sections_match_the_signature(name, obj):
    signature = inspect.signature(obj)
    given = {n: p for n, p in signature.parameters.items() if n not in ("self", "cls")}
    documented = _documented(obj.__doc__)
    assert sorted(documented) == sorted(given), name
    module = inspect.getmodule(obj)
    for param_name, param in given.items():
        kind = documented[param_name]
        if "default=" in kind:
            assert _stated_default(kind, module) == param.default, (name, param_name)
        elif param.default is not inspect.Parameter.empty and param.default is not None:
            pytest.fail(f"{name}: {param_name}'s default {param.default!r} is not stated")

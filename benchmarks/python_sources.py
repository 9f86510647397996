"""Real text that ships with every machine: the Python sources of the standard library and
of the installed packages (tests left out), parsed, in sorted order (deterministic for a
given Python and package set). The benchmarks' data generators read their prose and code."""

from __future__ import annotations

import ast
import os
import sysconfig
from collections.abc import Iterator
from pathlib import Path


def python_sources() -> Iterator[tuple[str, ast.Module]]:
    """(source, parsed tree) of every readable ``.py`` file."""
    paths = sysconfig.get_paths()
    roots = [paths["stdlib"], paths["purelib"]]
    for root in roots:
        for dp, dn, fn in os.walk(root):
            dn.sort()
            parts = dp.split(os.sep)
            if "test" in parts or "tests" in parts or (root == roots[0] and "site-packages" in parts):
                continue
            for f in sorted(fn):
                if not f.endswith(".py"):
                    continue
                try:
                    src = Path(dp, f).read_text(encoding="utf-8")
                    tree = ast.parse(src)
                except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
                    continue
                yield src, tree


def docstrings() -> Iterator[tuple[ast.AST, str]]:
    """(node, docstring) of every documented module, class and function, in file order."""
    for _src, tree in python_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
                doc = ast.get_docstring(node)
                if doc:
                    yield node, doc

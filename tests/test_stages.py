"""One rule, one stage module, one job: the names agree, derived from the rules files and
the package (nothing kept by hand here)."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import hardneg
import hardneg.evaluate
import hardneg.stages
from conftest import REPO, demo_config, rule_blocks, rule_context, rule_stages
from hardneg.plan import Plan
from hardneg.stages import DERIVED, stage


def job_class_name(stage_name: str) -> str:
    return "".join(w.capitalize() for w in stage_name.split("_")) + "Job"


def test_one_script_runs_every_rule():
    assert sorted(p.name for p in (REPO / "workflow" / "scripts").iterdir() if p.suffix == ".py") == ["stage.py"]
    blocks = rule_blocks()
    assert blocks
    for name, block in blocks:
        assert re.search(r'script:\s*\n\s*"\.\./scripts/stage\.py"', block), name
        assert re.search(r'\*\*job\(\s*"' + name + '"', block), f"rule {name} does not pass its own job"


def test_every_rule_is_its_stage_module_and_its_job_class_lives_there():
    rules = rule_stages()
    assert {r: s for r, s in rules.items() if r != s} == DERIVED  # `use rule BASE as NAME`
    # every optional stage on: a judge, and one evaluated variant
    cfg = demo_config(
        cross_encoder={"name_or_path": "cross-encoder/x"}, evaluate={"datasets": ["hotpotqa"], "variants": {"v": {}}}
    )
    plan = Plan.from_config(cfg)
    for rule, base in rules.items():
        module = stage(rule)
        assert module.__name__ == f"hardneg.stages.{base}", rule
        assert callable(module.run) and callable(module.build), rule
        cls = getattr(module, job_class_name(base))
        assert cls.__module__ == module.__name__, (rule, cls.__module__)
        params = cls.__dataclass_params__
        assert params.frozen and all(f.kw_only for f in dataclasses.fields(cls)), rule
        job = plan.job(rule, **rule_context(rule, base))
        assert type(job) is cls, (rule, type(job))


def test_every_stage_module_is_a_rule():
    modules = {m.name for m in pkgutil.iter_modules(hardneg.stages.__path__)}
    assert modules == set(rule_stages().values())


def test_planning_imports_no_heavy_library():
    """common.smk imports the plan (and through it every stage module) while the DAG is
    built: none of them may import numpy, pyarrow or torch at module level."""
    code = (
        "import sys, pkgutil, importlib, hardneg.plan, hardneg.stages as s\n"
        "[importlib.import_module(f'hardneg.stages.{m.name}') for m in pkgutil.iter_modules(s.__path__)]\n"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'torch', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _backticked(doc: str, heading: str, column: int) -> set[str]:
    """The backticked names in one column (0-based) of the table after ``heading``."""
    text = (REPO / "docs" / doc).read_text()
    table = text[text.index(heading) :]
    table = table[: table.index("\n\n", table.index("|---"))]
    return {n for line in table.splitlines()[2:] for n in re.findall(r"`([a-z_]+)`", line.split("|")[column + 1])}


def test_the_guide_lists_every_rule_and_the_design_notes_every_module():
    assert set(rule_stages()) <= _backticked("guide.md", "## Pipeline", 1)
    top = list(pkgutil.iter_modules(hardneg.__path__))
    modules = {m.name for m in top}
    for package in [m.name for m in top if m.ispkg and m.name not in ("options", "stages")]:
        modules |= {m.name for m in pkgutil.iter_modules(importlib.import_module(f"hardneg.{package}").__path__)}
    listed = _backticked("design.md", "| module | job |", 0)
    assert modules <= listed, sorted(modules - listed)


def test_the_wheel_lists_every_subpackage():
    """pyproject names its packages (the workflow ships as one): a new subpackage must be
    among them, or `pip install` leaves it out."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        "hardneg." + ".".join(p.parent.relative_to(REPO / "src" / "hardneg").parts)
        for p in (REPO / "src" / "hardneg").rglob("__init__.py")
    }
    found = {f.rstrip(".") for f in found}
    assert found <= listed, sorted(found - listed)


def _imported(path: Path, module: list[str]) -> set[str]:
    """The hardneg modules (dotted, below hardneg) that importing ``module`` imports: its
    module-level imports, not those inside functions or under ``TYPE_CHECKING``."""
    package = module if path.name == "__init__.py" else module[:-1]
    found: set[str] = set()

    def visit(body) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.If | ast.Try | ast.With):
                for block in ("body", "orelse", "finalbody", "handlers"):
                    for part in getattr(node, block, []):
                        visit(part.body if isinstance(part, ast.ExceptHandler) else [part])
            elif isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - node.level + 1]
                if node.module:
                    found.add(".".join(base + node.module.split(".")))
                else:
                    found.update(".".join(base + [a.name]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hardneg."):
                found.add(node.module.removeprefix("hardneg."))

    visit(ast.parse(path.read_text()).body)
    return found


def test_no_import_cycle_between_subpackages_and_top_modules():
    """Each subpackage of hardneg (and each top-level module) is a node; importing one may
    not import, by any path, the one that imported it."""
    src = REPO / "src" / "hardneg"
    graph: dict[str, set[str]] = {}
    for path in src.rglob("*.py"):
        parts = list(path.relative_to(src).with_suffix("").parts)
        module = parts[:-1] if parts[-1] == "__init__" else parts
        if not module:
            continue
        graph.setdefault(module[0], set()).update(
            t.split(".")[0] for t in _imported(path, module) if t and t.split(".")[0] != module[0]
        )
    state: dict[str, int] = {}

    def walk(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            assert state.get(nxt) != 1, " -> ".join([*trail, node, nxt])
            if nxt not in state:
                walk(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            walk(node, [])
    assert {"data", "encode", "search", "mining", "formats", "report", "evaluate"} <= set(graph)

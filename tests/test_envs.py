"""Every rule's conda env holds what its code imports (checked statically: conda cannot be
reached here). From each rule's stage module (``hardneg.stages.<rule>``, which the one
script runs), every module of ``hardneg`` it reaches is read, with
the imports inside functions too, so a lazy import on a path the rule takes counts. An
import guarded by ``except ImportError`` is optional and needs no package. The check is per
module, so an env may hold a package that a module reached imports on a path the rule never
takes (the card rule reaches hardneg.data.sources, whose hub download imports huggingface_hub)."""

from __future__ import annotations

import ast
import re
import sys

import pytest
import yaml

from conftest import REPO, rule_blocks

# import name -> conda (or pip) package name
PACKAGES = {
    "numpy": "numpy",
    "pyarrow": "pyarrow",
    "pandas": "pandas",
    "yaml": "pyyaml",
    "matplotlib": "matplotlib-base",
    "faiss": "faiss-cpu",
    "torch": "torch",
    "sentence_transformers": "sentence-transformers",
    "transformers": "transformers",
    "tokenizers": "tokenizers",
    "huggingface_hub": "huggingface_hub",
    "datasets": "datasets",
    "openvino": "openvino",
}
PACKAGE = REPO / "src" / "hardneg"
# the pip spec that installs the workflow's own package, relative to the env file
OWN_PACKAGE = "../.."


def _optional(node: ast.AST, parents: dict) -> bool:
    """Inside a ``try`` whose handlers catch ImportError."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            for h in node.handlers:
                names = [h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts
                if any(isinstance(n, ast.Name) and n.id in ("ImportError", "ModuleNotFoundError") for n in names):
                    return True
    return False


def _type_checking(node: ast.AST, parents: dict) -> bool:
    """Inside ``if TYPE_CHECKING:`` (annotations only, never imported when run)."""
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return True
    return False


def module_file(mod: str):
    """The file of ``hardneg.<mod>`` (``mod`` dotted: ``stages.mine``)."""
    path = PACKAGE.joinpath(*mod.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"


def imports_of(path, package: str = "") -> tuple[set[str], set[str]]:
    """(third-party top-level names, hardneg modules, dotted below ``hardneg``) imported
    anywhere in ``path``, whose package below ``hardneg`` is ``package`` ("" or ``stages``)."""
    tree = ast.parse(path.read_text())
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    third, local = set(), set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom) or _type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif node.level:  # from .x import y, from ..x import y (inside hardneg)
            parts = package.split(".") if package else []
            base = ".".join(["hardneg", *parts[: len(parts) - node.level + 1]])
            names = [f"{base}.{node.module}"] if node.module else [f"{base}.{a.name}" for a in node.names]
        else:
            names = [node.module] if node.module != "hardneg" else [f"hardneg.{a.name}" for a in node.names]
        for name in names:
            if name.startswith("hardneg."):
                local.add(name.removeprefix("hardneg."))
            elif name.split(".")[0] not in sys.stdlib_module_names and not _optional(node, parents):
                third.add(name.split(".")[0])
    return third, local


def reached_imports(module: str) -> set[str]:
    """Third-party names that ``hardneg.<module>`` reaches through its own imports."""
    third, todo = set(), {module}
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen or not module_file(mod).exists():  # `from . import name` of a function
            continue
        seen.add(mod)
        path = module_file(mod)
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        t, more = imports_of(path, package)
        third |= t
        todo |= more - seen
    return third


def rules():
    """(rule, its env, its stage module) of each rule with a script (``use rule`` ones run
    their base rule's stage, with its env)."""
    for name, block in rule_blocks():
        env = re.search(r'conda:\s*\n\s*"\.\./(envs/[^"]+)"', block).group(1)
        assert re.search(r'script:\s*\n\s*"\.\./scripts/stage\.py"', block), name
        yield name, REPO / "workflow" / env, f"stages.{name}"


def env_packages(path) -> set[str]:
    deps = yaml.safe_load(path.read_text())["dependencies"]
    names = set()
    for d in deps:
        for spec in d["pip"] if isinstance(d, dict) else [d]:
            names.add(re.split(r"[=<>! ]", spec, maxsplit=1)[0].lower())
    return names


RULES = list(rules())


@pytest.mark.parametrize("name, env, stage", RULES, ids=[r[0] for r in RULES])
def test_rule_env_holds_what_its_code_imports(name, env, stage):
    needed = reached_imports(stage)
    unknown = needed - set(PACKAGES)
    assert not unknown, f"rule {name}: add {unknown} to PACKAGES (import name -> package)"
    missing = {PACKAGES[m] for m in needed} - env_packages(env)
    assert not missing, f"rule {name}: {env.name} lacks {sorted(missing)} (its code imports them)"


def test_every_env_pins_python_and_each_package():
    for env in sorted((REPO / "workflow" / "envs").glob("*.yaml")):
        deps = yaml.safe_load(env.read_text())["dependencies"]
        specs = [s for d in deps for s in (d["pip"] if isinstance(d, dict) else [d]) if s not in ("pip", OWN_PACKAGE)]
        assert "python=3.11" in specs, env.name
        # every env installs the package its scripts import, from the checkout it is part of
        assert OWN_PACKAGE in yaml.safe_load(env.read_text())["dependencies"][-1]["pip"], env.name
        assert (env.parent / OWN_PACKAGE / "pyproject.toml").exists()
        assert all(re.search(r"==?\d", s) for s in specs), (env.name, specs)


def test_the_check_sees_lazy_imports():
    """embed imports torch inside a function; search imports faiss inside a method."""
    assert {"torch", "sentence_transformers", "numpy", "pyarrow"} <= reached_imports("stages.embed")
    assert {"faiss", "numpy"} <= reached_imports("stages.search")
    assert "torch" not in reached_imports("stages.download")

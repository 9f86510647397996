"""The options contract: one default per option, in the dataclasses of hardneg.options, which
the config schema and the README agree with; small signatures and modules; nothing heavy
imported while the DAG is built."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import MISSING, fields

import pytest
import yaml

from conftest import REPO
from hardneg import options
from hardneg.options import BLOCKS, PRESETS, ConfigError, DatasetOptions, MiningOptions, WorkflowOptions, from_config

SCHEMA = yaml.safe_load((REPO / "schemas" / "config.schema.yaml").read_text())
DATASET_SCHEMA = SCHEMA["properties"]["datasets"]["additionalProperties"]["properties"]
MINING_SCHEMA = SCHEMA["$defs"]["mining"]["properties"]


def _schema_blocks():
    yield "top level", WorkflowOptions, {k: SCHEMA["properties"][k] for k in ("results", "output_dir")}
    for block, cls in BLOCKS.items():
        yield block, cls, SCHEMA["properties"][block]["properties"]
    yield "datasets.NAME", DatasetOptions, DATASET_SCHEMA
    yield "mining", MiningOptions, {k: v for k, v in MINING_SCHEMA.items() if k != "preset"}


@pytest.mark.parametrize("block, cls, props", list(_schema_blocks()), ids=lambda v: v if isinstance(v, str) else "")
def test_schema_declares_the_dataclass_options_with_the_same_defaults(block, cls, props):
    assert set(props) == {f.name for f in fields(cls)}, block
    for f in fields(cls):
        if cls is MiningOptions:
            # mining defaults come from the preset, never from the schema
            assert "default" not in props[f.name], f"{block}.{f.name}"
        elif f.default is MISSING:
            assert f.name in SCHEMA["properties"]["datasets"]["additionalProperties"]["required"]
        elif f.default is None:
            assert "default" not in props[f.name], f"{block}.{f.name}"
        else:
            # a list default is a tuple in the frozen dataclass
            default = list(f.default) if isinstance(f.default, tuple) else f.default
            assert props[f.name].get("default") == default, f"{block}.{f.name}"


def test_seed_preset_is_the_mining_defaults_and_presets_only_use_known_keys():
    assert MiningOptions(**PRESETS["seed"]) == MiningOptions()
    for preset in PRESETS.values():
        MiningOptions(**preset)
    assert set(MINING_SCHEMA["preset"]["enum"]) == set(PRESETS)


def test_readme_option_tables_are_generated_from_the_dataclasses():
    readme = (REPO / "README.md").read_text()
    begin, end = "<!-- options:begin (python workflow_scripts/hardneg/options.py) -->\n", "<!-- options:end -->"
    assert begin in readme and end in readme
    section = readme.split(begin, 1)[1].split(end, 1)[0]
    assert section.strip() == options.markdown_tables().strip(), (
        "regenerate with python workflow_scripts/hardneg/options.py"
    )


def test_unknown_option_is_an_error_naming_it():
    with pytest.raises(ConfigError, match=r"datasets.x.mining: unknown key\(s\) num_negativs"):
        from_config(MiningOptions, {"num_negativs": 3}, "datasets.x.mining")
    assert from_config(MiningOptions, {"num_negatives": 3}, "m").num_negatives == 3


def _functions(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_function_takes_more_than_six_positional_parameters():
    too_many = []
    for path in sorted((REPO / "workflow_scripts").rglob("*.py")):
        for fn in _functions(path):
            n = len(fn.args.posonlyargs) + len(fn.args.args)
            if n > 6:
                too_many.append(f"{path.relative_to(REPO)}:{fn.lineno} {fn.name} ({n})")
    assert not too_many, too_many


def test_no_module_is_over_400_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (REPO / "workflow_scripts" / "hardneg").glob("*.py")}
    assert max(sizes.values()) <= 400, {k: v for k, v in sizes.items() if v > 400}


def test_what_the_dag_imports_is_light():
    """rules/common.smk imports hardneg.options and hardneg.sources while the DAG is built: neither
    pulls numpy, pyarrow, pandas, matplotlib or torch; and no rule reads Snakemake internals."""
    code = (
        "import sys; sys.path.insert(0, 'workflow_scripts'); import hardneg.options, hardneg.sources; "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'matplotlib', 'torch', 'faiss') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    common = (REPO / "rules" / "common.smk").read_text()
    hnm_imports = {line.split()[1] for line in common.splitlines() if line.startswith("from hardneg")}
    assert hnm_imports == {"hardneg.options", "hardneg.sources"}
    for smk in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        text = smk.read_text()
        assert "config_settings" not in text and "overwrite_config" not in text, smk.name

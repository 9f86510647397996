"""The option docs and the config schema, generated from :mod:`hardneg.options` (their
one source).

``python -m hardneg.docs`` rewrites ``config/README.md`` and every option's property in
``workflow/schemas/config.schema.yaml``: its type (from the annotation; ``nullable``
options also take ``null``), what ``schema`` in its field metadata adds (ranges, enums,
patterns), its default (none for ``mining``, whose defaults are the preset's) and its
description; the enum of output formats comes from :mod:`hardneg.formats`. What lies
around the options (the blocks, the dataset names' pattern, the ``preset`` key) is kept
from the file. ``tests/test_options.py`` checks that both files are what this module
generates.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .formats import FORMATS
from .options import BLOCKS, PRESETS, TEACHER_DOC, DatasetOptions, MiningOptions, ModelOptions, WorkflowOptions

# config/README.md's sections: (heading, config path of the block, its dataclass)
SECTIONS = (
    ("Folders", "", WorkflowOptions),
    *((f"`{name}`", name, cls) for name, cls in BLOCKS.items()),
    ("`mining` (top level, and per dataset)", "mining", MiningOptions),
    ("`datasets.NAME`", "datasets.NAME", DatasetOptions),
)

INTRO = """\
# Configuring the workflow

`config/config.yaml` is the run: the 16 datasets of the seed recipe, mined with
`BAAI/bge-base-en-v1.5`. A deployed copy (`snakedeploy deploy-workflow`) gets its own
`config/config.yaml`, and `--configfile FILE` replaces this file rather than merging over
it: every key you leave out takes the default below, whatever this file says.

Every key is checked before anything runs: a misspelt key or an impossible combination
(for example `range_max` above `search.topk`) fails `snakemake -n`, naming the key.

`mining:` at the top level applies to every dataset; a dataset's own `mining:` overrides
it, and a `preset:` inside it starts over from that preset. Presets: {presets}. The
mining defaults below are the `seed` preset's, tDRO's `build_train_hn_dp.py`.

This file is generated from the options in `src/hardneg/options/` (`python -m hardneg.docs`).
"""


def cell(value) -> str:
    if value is MISSING:
        return "required"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{list(value)}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value == "" else f"`{value}`"
    return f"`{value}`"


def config_readme() -> str:
    out = [INTRO.format(presets=", ".join(f"`{p}`" for p in PRESETS))]
    for heading, block, cls in SECTIONS:
        lead = " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())  # its first paragraph
        out += [f"## {heading}", "", lead.replace("``", "`"), ""]
        out += ["| key | default | meaning |", "|---|---|---|"]
        for f in fields(cls):
            key = f"{block}.{f.name}" if block else f.name
            out.append(f"| `{key}` | {cell(f.default)} | {f.metadata['doc']} |")
        if block == "evaluate":
            out.append(f"| `evaluate.variants.NAME.model` | none | {TEACHER_DOC} |")
        out.append("")
    return "\n".join(out)


JSON_TYPES = {
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "tuple": "array",
    "dict": "object",
}


def option_schema(f, *, with_default: bool = True) -> dict:
    """The schema property of one option (a dataclass field)."""
    extra = dict(f.metadata.get("schema") or {})
    prop: dict = {}
    if not {"oneOf", "$ref"} & set(extra):
        (kind,) = [JSON_TYPES[t.strip()] for t in str(f.type).split("|") if t.strip() != "None"]
        prop["type"] = [kind, "null"] if f.metadata.get("nullable") else kind
    prop.update(extra)
    if with_default and f.default is not MISSING and f.default is not None:
        prop["default"] = list(f.default) if isinstance(f.default, tuple) else f.default
    prop["description"] = f.metadata["doc"]
    return prop


def generated_schema(schema: dict) -> dict:
    """``schema`` with every option's property built from its dataclass field."""
    props = schema["properties"]
    for f in fields(WorkflowOptions):
        props[f.name] = option_schema(f)
    for block, cls in BLOCKS.items():
        props[block]["properties"] = {f.name: option_schema(f) for f in fields(cls)}
    entry = props["datasets"]["additionalProperties"]
    entry["properties"] = {f.name: option_schema(f) for f in fields(DatasetOptions)}
    entry["required"] = [f.name for f in fields(DatasetOptions) if f.default is MISSING]
    mining = schema["$defs"]["mining"]
    preset = {**mining["properties"]["preset"], "type": "string", "enum": list(PRESETS)}
    mining["properties"] = {
        "preset": preset,
        **{f.name: option_schema(f, with_default=False) for f in fields(MiningOptions)},
    }
    mining["properties"]["output_format"]["enum"] = list(FORMATS)
    # an evaluation variant: mining overrides, and the teacher that mines its rows
    teacher = {
        "type": "object",
        "additionalProperties": False,
        "required": ["name_or_path"],
        "properties": {f.name: option_schema(f, with_default=False) for f in fields(ModelOptions)},
    }
    schema["$defs"]["variant"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            **mining["properties"],
            "model": {"oneOf": [{"type": "string", "minLength": 1}, teacher], "description": TEACHER_DOC},
        },
    }
    return schema


def schema_text(path: Path) -> str:
    """The schema file as :func:`generated_schema` writes it."""
    import yaml

    schema = generated_schema(yaml.safe_load(path.read_text()))
    return yaml.safe_dump(schema, sort_keys=False, width=110, allow_unicode=True)


def schema_properties(schema: dict):
    """(dataclass, {option: its schema property}) of every block the schema declares."""
    props = schema["properties"]
    yield WorkflowOptions, {k: props[k] for k in ("results", "output_dir")}
    for block, cls in BLOCKS.items():
        yield cls, props[block]["properties"]
    yield DatasetOptions, props["datasets"]["additionalProperties"]["properties"]
    yield MiningOptions, {k: v for k, v in schema["$defs"]["mining"]["properties"].items() if k != "preset"}


def main(repo: Path) -> None:

    (repo / "config" / "README.md").write_text(config_readme())
    path = repo / "workflow" / "schemas" / "config.schema.yaml"
    path.write_text(schema_text(path))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())

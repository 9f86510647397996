"""The option docs, generated from :mod:`hardneg.options` (their one source).

``python -m hardneg.docs`` rewrites ``config/README.md`` and the ``description`` of every
option in ``workflow/schemas/config.schema.yaml`` (and the enum of output formats, from
:mod:`hardneg.formats`); ``tests/test_options.py`` checks that
both are what this module generates.
"""

from __future__ import annotations

import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .formats import FORMATS
from .options import BLOCKS, PRESETS, DatasetOptions, MiningOptions, WorkflowOptions

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

This file is generated from `src/hardneg/options.py` (`python -m hardneg.docs`).
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
        out.append("")
    return "\n".join(out)


def schema_properties(schema: dict):
    """(dataclass, {option: its schema property}) of every block the schema declares."""
    props = schema["properties"]
    yield WorkflowOptions, {k: props[k] for k in ("results", "output_dir")}
    for block, cls in BLOCKS.items():
        yield cls, props[block]["properties"]
    yield DatasetOptions, props["datasets"]["additionalProperties"]["properties"]
    yield MiningOptions, {k: v for k, v in schema["$defs"]["mining"]["properties"].items() if k != "preset"}


def main(repo: Path) -> None:
    import yaml

    (repo / "config" / "README.md").write_text(config_readme())
    path = repo / "workflow" / "schemas" / "config.schema.yaml"
    schema = yaml.safe_load(path.read_text())
    for cls, props in schema_properties(schema):
        for f in fields(cls):
            props[f.name]["description"] = f.metadata["doc"]
    schema["$defs"]["mining"]["properties"]["output_format"]["enum"] = list(FORMATS)
    path.write_text(yaml.safe_dump(schema, sort_keys=False, width=110, allow_unicode=True))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path.cwd())

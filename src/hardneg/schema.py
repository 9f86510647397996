"""The config schema's verdict: every problem in one line each, naming its key (where
Snakemake's ``validate()`` prints the whole schema with the first). Imported while the DAG
is built: nothing heavy."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .options import did_you_mean, unknown_key


def describe(error) -> list[str]:
    """One line per problem of a ``jsonschema`` ValidationError (an object with two unknown
    keys has two)."""
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "oneOf":  # e.g. a name or a mapping: the problems of the form given
        branches: dict = {}
        for e in error.context:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        given = [es for es in branches.values() if all(e.validator != "type" for e in es)]
        if len(given) == 1:
            return [line for e in given[0] for line in describe(e)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in known]
        if unknown:
            return [str(unknown_key(path, key, known)) for key in unknown]
    if error.validator == "enum":
        close = did_you_mean(error.instance, error.validator_value)
        return [f"{path}: {error.instance!r} is not one of {', '.join(map(str, error.validator_value))}{close}"]
    return [f"{path or 'config'}: {error.message}"]


def schema_problems(config: dict, schema_file) -> list[str]:
    """Every problem the schema finds in ``config``, one line each, in key order (so that
    two typos take one run to find, not two)."""
    path = Path(schema_file)
    validator = _validator(str(path), path.stat().st_mtime_ns)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return [line for error in errors for line in describe(error)]


@lru_cache(maxsize=4)
def _validator(path: str, mtime_ns: int):
    """The schema file's validator, read once per file version."""
    import jsonschema
    import yaml

    with open(path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    return jsonschema.validators.validator_for(schema)(schema)

"""The config schema's verdict in one line (Snakemake's ``validate()`` prints the whole
schema with it). Imported while the DAG is built: nothing heavy."""

from __future__ import annotations

from .options import did_you_mean, unknown_key


def schema_problem(exc: BaseException) -> str:
    """One line for a failed schema check of the config (Snakemake's ``validate()`` error,
    or the ``jsonschema`` ValidationError behind it): the key's dotted path and what is
    wrong with it; an unknown key gets the closest known one. No schema dump."""
    error = exc
    while error is not None and not hasattr(error, "absolute_path"):
        error = error.__cause__ or error.__context__
    if error is None:
        return str(exc).splitlines()[0]
    return describe(error)[0]


def describe(error) -> list[str]:
    """One line per problem of a ``jsonschema`` ValidationError (an object with two unknown
    keys has two)."""
    path = ".".join(str(p) for p in error.absolute_path)
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
    import jsonschema
    import yaml

    with open(schema_file, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path])
    return [line for error in errors for line in describe(error)]

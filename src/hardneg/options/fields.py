"""How an option is declared (its default, doc, re-run scope and schema), and the config
errors that name a key."""

from __future__ import annotations

import difflib
from dataclasses import MISSING, field, fields


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key and what to change."""


def option(default, doc: str, *, cache=False, reruns: bool | tuple = True, schema=None, nullable=False, needs=()):
    """A documented option.

    ``cache``: the value changes the vectors, so it is part of the embedding cache key (a
    new value re-embeds). ``reruns``: which jobs re-run when the value changes, among those
    whose job holds it (:func:`hardneg.jobs.settings`): ``True`` all, ``False`` none (threads,
    cluster requests, paths), or a tuple of stage names. ``schema``: what the config schema
    checks besides the type of the annotation (``minimum``, ``enum``, ...); ``nullable``: an
    explicit ``null`` is a value (the option off). ``python -m hardneg.docs`` writes both
    into ``workflow/schemas/config.schema.yaml``. ``needs``: the optional inputs of the rule
    that reads the option (named as in the rule) that it needs when it is on (not none or
    false); the rule asks for them only then."""
    meta = {"doc": doc, "cache": cache, "reruns": reruns, "schema": schema or {}, "nullable": nullable, "needs": needs}
    return field(default=default, metadata=meta)


def required(doc: str, *, schema=None):
    return field(
        metadata={"doc": doc, "cache": False, "reruns": True, "schema": schema or {}, "nullable": False, "needs": ()}
    )


def defaults(cls) -> dict:
    """{option: default} of the options that have one."""
    return {f.name: f.default for f in fields(cls) if f.default is not MISSING}


def did_you_mean(key, known) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known`` to ``key``, or ``""``."""
    close = difflib.get_close_matches(str(key), [str(k) for k in known], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key(where: str, key, known) -> ConfigError:
    """The error of a key that ``where`` does not have: its path, the closest known key."""
    path = f"{where}.{key}" if where else str(key)
    return ConfigError(f"{path}: unknown key{did_you_mean(key, known)}; known: {', '.join(sorted(map(str, known)))}")


def from_config(cls, values: dict | None, where: str):
    """``cls`` from a config block; an unknown key is an error naming ``where.key``."""
    values = dict(values or {})
    known = [f.name for f in fields(cls)]
    for key in values:
        if key not in known:
            raise unknown_key(where, key, known)
    return cls(**values)

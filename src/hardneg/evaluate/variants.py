"""The evaluate stage's variants: the built-in ones, those named in ``evaluate.variants``,
and the grid of ``evaluate.sweep``, each with the mining options its training rows are
mined with.

A sweep may also vary ``negatives_per_row``, the one training option that is about the
negatives (:data:`TRAINING_KEYS`); the others hold for every variant.

A variant may also name its teacher (``model:``, a sweep may vary it too): the model whose
embed and search jobs give the candidates its rows are mined from, while the student
(``evaluate.student``) is the one fine-tuned (:func:`variant_teachers`).

A swept variant is named after its values (``sweep.range_max-10.sampling_strategy-top``; a
teacher by its folder's name), so changing one value of an axis renames, and re-runs, only
the variants that hold it. The count per dataset is capped by ``evaluate.max_variants`` at
planning.

Imported while the DAG is built, so it imports nothing heavy.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import asdict, fields, replace

from ..formats import FORMATS
from ..layout import model_slug
from ..options import (
    BUILTIN_VARIANTS,
    PRESETS,
    ConfigError,
    EvaluateOptions,
    MiningOptions,
    ModelOptions,
    check_mining,
    from_config,
    unknown_key,
)

TRAINING_FORMAT = "tevatron"  # the format of a variant's training rows (hardneg.evaluate.train reads it)
PLAIN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
SWEEP_PREFIX = "sweep"


def _training_rows(opts: MiningOptions) -> MiningOptions:
    """The options that mine a variant's training rows: tevatron rows (the trainer reads
    them), and the sentence-transformers format's rule of full rows kept."""
    full = opts.num_negatives if FORMATS[opts.output_format].full_rows else opts.min_negatives
    return replace(opts, output_format=TRAINING_FORMAT, output_scores=False, min_negatives=full)


# what a swept value of a mining option may be, by the option's annotation
TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,), "None": (type(None),)}
MINING_TYPES = {f.name: f.type for f in fields(MiningOptions)}
# the training options a variant may set (the rest of evaluate: holds for every variant)
TRAINING_KEYS = ("negatives_per_row",)
# a variant's teacher: a named variant's key, and a sweep axis (hardneg.options.TEACHER_DOC)
TEACHER_KEY = "model"
# what a sweep may vary: every mining option but the output's shape (training rows have their
# own), the training options a variant may set, and the teacher
SWEEPABLE = [k for k in MINING_TYPES if not k.startswith("output_")] + list(TRAINING_KEYS) + [TEACHER_KEY]
KEY_TYPES = {**MINING_TYPES, **{f.name: f.type for f in fields(EvaluateOptions) if f.name in TRAINING_KEYS}}


def _check_type(value, key: str, where: str) -> None:
    kinds = [k.strip() for k in str(KEY_TYPES[key]).split("|")]
    ok = any(isinstance(value, TYPES.get(k, object)) for k in kinds)
    if not ok or (isinstance(value, bool) and "bool" not in kinds):
        raise ConfigError(f"{where}: {value!r} is not a valid {key} (expected {' or '.join(kinds)})")


def _value_name(value, where: str) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value)
    if isinstance(value, (int, float, str)) and PLAIN.fullmatch(text):
        return text
    raise ConfigError(f"{where}: {value!r} cannot name a variant; give numbers, null, true/false or plain words")


def sweep_variants(sweep: dict | None) -> dict[str, dict]:
    """{variant name: its mining overrides}, one per point of the grid, axes in config order."""
    if not sweep:
        return {}
    axes = []
    for key, values in sweep.items():
        where = f"evaluate.sweep.{key}"
        if key not in SWEEPABLE:
            raise unknown_key("evaluate.sweep", key, SWEEPABLE)
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"{where}: give a non-empty list of values, e.g. [10, 30, 100]")
        for v in values:
            if key == TEACHER_KEY:
                continue  # checked by variant_teachers
            _check_type(v, key, where)
            if key in TRAINING_KEYS and v < 1:
                raise ConfigError(f"{where}: {v} is below 1 (the in_batch variant is the one with no mined negatives)")
        if key == TEACHER_KEY:
            names = [model_slug(_teacher_spec(v, where)["name_or_path"].rstrip("/")) for v in values]
        else:
            names = [_value_name(v, where) for v in values]
        if len(set(names)) != len(names):
            raise ConfigError(f"{where}: a value is given twice ({', '.join(names)})")
        axes.append([(key, v, n) for v, n in zip(values, names, strict=True)])
    out = {}
    for point in itertools.product(*axes):
        name = ".".join([SWEEP_PREFIX, *(f"{k}-{n}" for k, _, n in point)])
        out[name] = {k: v for k, v, _ in point}
    return out


def evaluation_variants(evaluate: EvaluateOptions, shipped: MiningOptions, topk: int) -> dict:
    """{variant: the MiningOptions its training rows are mined with}; ``base`` (no
    training) maps to None. A named variant's overrides apply to the dataset's own setting,
    or start over from their ``preset:``; so do a swept variant's values."""
    out = {
        "base": None,
        "in_batch": replace(_training_rows(shipped), num_negatives=0, min_negatives=0),
        "shipped": _training_rows(shipped),
    }
    named = dict(evaluate.variants or {})
    swept = sweep_variants(evaluate.sweep)
    total = len(out) + len(named) + len(swept)
    if total > evaluate.max_variants:
        raise ConfigError(
            f"evaluate.sweep: {total} variants per dataset ({len(out)} built-in, {len(named)} named, "
            f"{len(swept)} swept) exceed evaluate.max_variants ({evaluate.max_variants}); "
            "shorten an axis, or raise max_variants"
        )
    for name, overrides in named.items():
        where = f"evaluate.variants.{name}"
        if name in BUILTIN_VARIANTS or str(name).startswith(SWEEP_PREFIX + ".") or not PLAIN.fullmatch(str(name)):
            raise ConfigError(
                f"{where}: a variant name must be plain (letters, digits, _.-), not start with "
                f"'{SWEEP_PREFIX}.' and not be one of " + ", ".join(BUILTIN_VARIANTS)
            )
        out[name] = _mined_with(overrides, shipped, topk, where)
    for name, values in swept.items():
        mining = {k: v for k, v in values.items() if k not in (*TRAINING_KEYS, TEACHER_KEY)}
        out[name] = _mined_with(mining, shipped, topk, f"evaluate.sweep ({name})")
    return out


def variant_negatives(evaluate: EvaluateOptions) -> dict[str, int]:
    """{trained variant: mined negatives per training row}: ``in_batch`` none, a swept
    variant its ``negatives_per_row``, the others ``evaluate.negatives_per_row``. Checked
    by :func:`evaluation_variants`."""
    out = {"in_batch": 0, "shipped": evaluate.negatives_per_row}
    out.update({name: evaluate.negatives_per_row for name in evaluate.variants or {}})
    for name, values in sweep_variants(evaluate.sweep).items():
        out[name] = values.get("negatives_per_row", evaluate.negatives_per_row)
    return out


def _teacher_spec(spec, where: str) -> dict:
    """A teacher as ``model:`` keys: a name or path is its ``name_or_path``."""
    if isinstance(spec, str) and spec:
        return {"name_or_path": spec}
    if isinstance(spec, dict) and isinstance(spec.get("name_or_path"), str) and spec["name_or_path"]:
        return dict(spec)
    raise ConfigError(
        f"{where}: {spec!r} is not a model; give a hub id, folder or pkg:MODULE, or model: keys with name_or_path"
    )


def teacher_options(spec, model: ModelOptions, where: str) -> ModelOptions:
    """The options of a variant's teacher ``spec``: its own keys, ``model:``'s batch size
    and backend unless it gives them, the defaults for the rest (prompts and sequence limit
    belong to a model, so none is inherited)."""
    keys = {"batch_size": model.batch_size, "backend": model.backend, **_teacher_spec(spec, where)}
    return from_config(ModelOptions, keys, where)


def teacher_key(evaluate: EvaluateOptions, variant: str) -> str:
    """The config key that names ``variant``'s teacher, in messages."""
    if variant in (evaluate.variants or {}):
        return f"evaluate.variants.{variant}.{TEACHER_KEY}"
    return f"evaluate.sweep.{TEACHER_KEY} of variant {variant}"


def variant_teachers(evaluate: EvaluateOptions, model: ModelOptions) -> dict[str, ModelOptions]:
    """{variant: its teacher} of the variants that name one (``model:``, named or swept);
    the others are mined by ``model:``. Dataset-independent."""
    named = {n: o.get(TEACHER_KEY) for n, o in (evaluate.variants or {}).items() if isinstance(o, dict)}
    swept = {n: values.get(TEACHER_KEY) for n, values in sweep_variants(evaluate.sweep).items()}
    specs = {n: spec for n, spec in {**named, **swept}.items() if spec is not None}
    return {n: teacher_options(spec, model, teacher_key(evaluate, n)) for n, spec in specs.items()}


def _mined_with(overrides: dict | None, shipped: MiningOptions, topk: int, where: str) -> MiningOptions:
    o = dict(overrides or {})
    o.pop(TEACHER_KEY, None)  # the teacher: variant_teachers
    preset = o.pop("preset", None)
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"{where}.preset: unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    base = dict(PRESETS[preset]) if preset is not None else asdict(shipped)
    return _training_rows(check_mining({**base, **o}, topk, where))

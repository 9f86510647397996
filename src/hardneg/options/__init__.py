"""Every option of the workflow, with its default, unit and one-line doc, in one place.

One frozen dataclass per config block (``model``, ``embed``, ``search``, ``cross_encoder``,
``prepare``, ``evaluate``, ``mining`` and a dataset's entry): the only defaults in the
code. ``workflow/schemas/config.schema.yaml`` and ``config/README.md`` are tested equal to
them. :mod:`hardneg.plan` builds them from the config and hands each stage its job
(:mod:`hardneg.stages`). One module per concern: how an option is declared (``fields``),
the run's blocks (``blocks``), ``mining`` and ``evaluate``. Imported while the DAG is
built, so it imports nothing heavy.
"""

from __future__ import annotations

from .blocks import (
    CrossEncoderOptions,
    DatasetOptions,
    EmbedOptions,
    ModelOptions,
    PrepareOptions,
    SearchOptions,
    WorkflowOptions,
)
from .evaluate import BUILTIN_VARIANTS, TEACHER_DOC, EvaluateOptions
from .fields import ConfigError, defaults, did_you_mean, from_config, option, required, unknown_key
from .mining import PRESETS, SEED, MiningOptions, check_mining

# config block -> its dataclass (the schema and README tests walk this)
BLOCKS = {
    "model": ModelOptions,
    "embed": EmbedOptions,
    "search": SearchOptions,
    "cross_encoder": CrossEncoderOptions,
    "prepare": PrepareOptions,
    "evaluate": EvaluateOptions,
}


# the report's plots of one dataset (file names; drawn by hardneg.report.plots)
PLOTS = ("scores", "negatives_per_query", "negative_ranks", "removed", "prepare", "truncation")

__all__ = [
    "BLOCKS",
    "BUILTIN_VARIANTS",
    "PLOTS",
    "PRESETS",
    "SEED",
    "TEACHER_DOC",
    "ConfigError",
    "CrossEncoderOptions",
    "DatasetOptions",
    "EmbedOptions",
    "EvaluateOptions",
    "MiningOptions",
    "ModelOptions",
    "PrepareOptions",
    "SearchOptions",
    "WorkflowOptions",
    "check_mining",
    "defaults",
    "did_you_mean",
    "from_config",
    "option",
    "required",
    "unknown_key",
]

"""The ``evaluate`` block: what a mining setting does to a trained model."""

from __future__ import annotations

from dataclasses import dataclass

from .fields import option


@dataclass(frozen=True, kw_only=True)
class EvaluateOptions:
    """``evaluate:`` fine-tune the model on each variant's mined rows and score held-out
    queries against the whole corpus (``evaluation/NAME.json``)."""

    datasets: tuple = option(
        (),
        "datasets a plain `snakemake` run evaluates (any dataset's file can be targeted)",
        reruns=False,
        schema={"items": {"type": "string"}},
    )
    output_dir: str = option(
        "evaluation",
        "folder for `NAME.json`, its plot and page, and `summary.md`",
        reruns=False,
        schema={"minLength": 1},
    )
    split: str = option(
        "test",
        "BeIR qrels split held out (`qrels/{split}.tsv`); never the mined split",
        reruns=("holdout",),
        schema={"minLength": 1},
    )
    holdout_fraction: float = option(
        0.05,
        "pair datasets: share of distinct query texts held out (by text hash)",
        reruns=("holdout",),
        schema={"exclusiveMinimum": 0, "maximum": 1},
    )
    max_holdout: int = option(
        1000, "at most this many held-out queries (the lowest text hashes)", reruns=("holdout",), schema={"minimum": 1}
    )
    student: str | None = option(
        None,
        "the model fine-tuned and scored (hub id, folder or `pkg:MODULE`); none: `model.name_or_path`. It is "
        "loaded with `model:`'s batch size and backend, and no prompts unless it is that model",
        reruns=("train", "score", "eval_export", "evaluation"),
        nullable=True,
        schema={"minLength": 1},
    )
    variants: dict | None = option(
        None,
        "`{name: mining overrides}` trained beside `base`, `in_batch` and `shipped` (a `preset:` starts over; "
        "a `model:` is the variant's teacher)",
        reruns=("evaluation",),
        schema={"additionalProperties": {"$ref": "#/$defs/variant"}},
    )
    sweep: dict | None = option(
        None,
        "`{option: [values]}` over mining options, `negatives_per_row` and `model` (teachers, as in a "
        "variant): a grid of variants beside the named ones, each the dataset's own setting with one value per "
        "option, named after its values (`sweep.range_max-10.sampling_strategy-top`; a teacher by its "
        "folder's name)",
        reruns=("evaluation",),
        schema={"additionalProperties": {"type": "array", "minItems": 1}},
    )
    max_variants: int = option(
        24,
        "most variants per evaluated dataset (built-in, named and swept); more fails at planning",
        reruns=False,
        schema={"minimum": 3},
    )
    negatives_per_row: int = option(
        1, "mined negatives per training row, besides the in-batch ones", reruns=("train",), schema={"minimum": 0}
    )
    max_steps: int = option(
        1000,
        "optimizer steps per variant (the rows are cycled if there are fewer)",
        reruns=("train",),
        schema={"minimum": 1},
    )
    batch_size: int = option(32, "training rows per step", reruns=("train",), schema={"minimum": 2})
    learning_rate: float = option(
        2e-5, "peak learning rate (linear warm-up and decay)", reruns=("train",), schema={"exclusiveMinimum": 0}
    )
    warmup_ratio: float = option(
        0.1, "share of the steps spent warming up", reruns=("train",), schema={"minimum": 0, "maximum": 1}
    )
    max_seq_length: int = option(
        256,
        "tokens per text in training and scoring, for every variant",
        reruns=("train", "score"),
        schema={"minimum": 8},
    )
    seed: int = option(
        42, "training seed (row order and dropout; the bootstrap's seed too)", reruns=("train", "evaluation")
    )
    bootstrap: int = option(
        1000,
        "paired bootstrap resamples of the held-out queries (95% intervals)",
        reruns=("evaluation",),
        schema={"minimum": 100},
    )


# a variant's `model:` key (evaluate.variants.NAME.model, and the values of evaluate.sweep.model)
TEACHER_DOC = (
    "the teacher that mines the variant's training rows, through its own embed and search jobs (its own "
    "cache folder): a hub id, folder or `pkg:MODULE`, or `model:` keys with `name_or_path`; `batch_size` and "
    "`backend` default to `model:`'s, the rest to their defaults. None: `model:` mines"
)

# the variants every evaluation has: the model as it is, in-batch negatives only, and the
# dataset's own mining setting (the one its file in output_dir was mined with)
BUILTIN_VARIANTS = ("base", "in_batch", "shipped")

"""The ``mining`` block, its presets and the checks that span its keys."""

from __future__ import annotations

from dataclasses import dataclass, fields

from .fields import ConfigError, defaults, from_config, option


@dataclass(frozen=True, kw_only=True)
class MiningOptions:
    """``mining:`` how negatives are chosen from the cached candidates.

    The defaults are the ``seed`` preset: tDRO's ``build_train_hn_dp.py``."""

    range_min: int = option(2, "first 0-based rank of the candidate window", schema={"minimum": 0})
    range_max: int = option(100, "end of the window (exclusive); at most `search.topk`", schema={"minimum": 1})
    num_negatives: int = option(16, "at most this many negatives per query (no padding)", schema={"minimum": 1})
    min_negatives: int = option(1, "a query with fewer negatives is dropped (and counted)", schema={"minimum": 0})
    sampling_strategy: str = option(
        "random", "`random` (seeded per query from `(seed, query_id)`) or `top`", schema={"enum": ["random", "top"]}
    )
    seed: int = option(42, "sampling seed")
    rank_window: str = option(
        "raw",
        "`raw`: ranks counted before positives are removed (seed); `filtered`: positives and filtered "
        "candidates removed first, then the window (sentence-transformers)",
        schema={"enum": ["raw", "filtered"]},
    )
    exclude_query_text: bool = option(False, "drop candidates whose text equals the query")
    exclude_normalized_text: bool = option(
        False, "drop candidates equal to a positive after NFKC, casefold and collapsed whitespace"
    )
    max_positive_similarity: float | None = option(
        None,
        "drop candidates whose cosine to one of the query's positives (cached vectors) is at least this",
        schema={"minimum": -1, "maximum": 1},
        nullable=True,
        needs=("passage_vectors",),
    )
    group_identical_queries: bool = option(False, "pool the positives of rows with the same query text")
    absolute_margin: float | None = option(
        None, "keep a negative only if `score <= pos - absolute_margin`", nullable=True
    )
    relative_margin: float | None = option(
        None,
        "keep a negative only if `score <= pos - abs(pos) * relative_margin`",
        schema={"minimum": 0, "maximum": 1},
        nullable=True,
    )
    max_score: float | None = option(None, "drop negatives scoring above this", nullable=True)
    min_score: float | None = option(None, "drop negatives scoring below this", nullable=True)
    output_format: str = option(
        "tevatron",
        "`tevatron` or `flagembedding` (JSON lines); `triplet`, `n-tuple` (also called `sentence-transformers`), "
        "`labeled-pair` or `labeled-list` (parquet, as `mine_hard_negatives` writes them)",
    )
    output_scores: bool = option(False, "add `score` (and `rank` for negatives) to each passage")

    @property
    def inputs(self) -> frozenset:
        """The mine rule's optional inputs these options need: every option that is on
        (not none or false) adds its ``needs``."""
        on = (f for f in fields(self) if getattr(self, f.name) not in (None, False))
        return frozenset(name for f in on for name in f.metadata["needs"])


# ------------------------------------------------------------------ mining presets

SEED = defaults(MiningOptions)


PRESETS = {
    "seed": SEED,
    # NV-Retriever's TopK-PercPos (candidates above 95% of the positive dropped, then the
    # top survivors), less near-copies of a positive (cosine 0.9: BENCHMARKS.md)
    "percpos95": {
        **SEED,
        "range_min": 0,
        "rank_window": "filtered",
        "relative_margin": 0.05,
        "exclude_query_text": True,
        "exclude_normalized_text": True,
        "max_positive_similarity": 0.9,
        "group_identical_queries": True,
        "sampling_strategy": "top",
    },
}


def check_mining(opts: dict, topk: int, where: str) -> MiningOptions:
    """The dataset's MiningOptions; impossible combinations fail before any job runs."""
    o = from_config(MiningOptions, opts, where)
    if o.range_min >= o.range_max:
        raise ConfigError(f"{where}.range_min ({o.range_min}) must be smaller than range_max ({o.range_max})")
    if o.num_negatives > o.range_max - o.range_min:
        raise ConfigError(
            f"{where}.num_negatives ({o.num_negatives}) is larger than the window range_max - range_min = "
            f"{o.range_max - o.range_min}; lower num_negatives or widen range_min/range_max"
        )
    if o.range_max > topk:
        raise ConfigError(
            f"{where}.range_max ({o.range_max}) exceeds search.topk ({topk}), the number of cached candidates; "
            f"raise search.topk (re-runs search only) or lower range_max"
        )
    if o.min_negatives > o.num_negatives:
        raise ConfigError(f"{where}.min_negatives ({o.min_negatives}) exceeds num_negatives ({o.num_negatives})")
    for key in ("absolute_margin", "relative_margin"):
        if getattr(o, key) is not None and getattr(o, key) < 0:
            raise ConfigError(f"{where}.{key} must be >= 0, got {getattr(o, key)}")
    if o.max_score is not None and o.min_score is not None and o.min_score > o.max_score:
        raise ConfigError(f"{where}.min_score ({o.min_score}) exceeds max_score ({o.max_score})")
    return o

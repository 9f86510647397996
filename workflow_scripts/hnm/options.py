"""Mining presets and config checks. Imported by ``rules/common.smk`` when the DAG is
built, so it must not import anything heavy."""

from __future__ import annotations

# The seed (tDRO's build_train_hn_dp.py): 0-based raw ranks 2..99 of the top-100,
# positives removed afterwards, 16 sampled at random, seed 42.
SEED = {
    "range_min": 2,
    "range_max": 100,
    "num_negatives": 16,
    "min_negatives": 1,
    "sampling_strategy": "random",
    "seed": 42,
    "rank_window": "raw",
    "exclude_query_text": False,
    "group_identical_queries": False,
    "absolute_margin": None,
    "relative_margin": None,
    "max_score": None,
    "min_score": None,
    "output_format": "tevatron",
    "output_scores": False,
}

PRESETS = {
    "seed": SEED,
    # NV-Retriever's TopK-PercPos: drop candidates scoring above 95% of the positive,
    # then take the top survivors (sentence-transformers' filtered window).
    "percpos95": {
        **SEED,
        "range_min": 0,
        "rank_window": "filtered",
        "relative_margin": 0.05,
        "exclude_query_text": True,
        "group_identical_queries": True,
        "sampling_strategy": "top",
    },
}

OUTPUT_EXT = {"tevatron": "jsonl", "flagembedding": "jsonl", "sentence-transformers": "parquet"}


class ConfigError(ValueError):
    """A setting that cannot work; the message names the key and what to change."""


def resolve_mining(global_mining: dict | None, dataset_mining: dict | None) -> dict:
    """Effective mining options of one dataset.

    A dataset-level ``preset`` starts over from that preset plus the dataset's keys;
    otherwise: global preset (default ``seed``), then global keys, then dataset keys.
    """
    g = dict(global_mining or {})
    d = dict(dataset_mining or {})
    if "preset" in d:
        base = dict(PRESETS[d.pop("preset")])
        return {**base, **d}
    base = dict(PRESETS[g.pop("preset", "seed")])
    return {**base, **g, **d}


def check_mining(opts: dict, topk: int, where: str) -> None:
    """Reject impossible combinations before any job runs."""
    rmin, rmax, n = opts["range_min"], opts["range_max"], opts["num_negatives"]
    if rmin >= rmax:
        raise ConfigError(f"{where}.range_min ({rmin}) must be smaller than range_max ({rmax})")
    if n > rmax - rmin:
        raise ConfigError(
            f"{where}.num_negatives ({n}) is larger than the window range_max - range_min = {rmax - rmin}; "
            f"lower num_negatives or widen range_min/range_max"
        )
    if rmax > topk:
        raise ConfigError(
            f"{where}.range_max ({rmax}) exceeds search.topk ({topk}), the number of cached candidates; "
            f"raise search.topk (re-runs search only) or lower range_max"
        )
    if opts["min_negatives"] > n:
        raise ConfigError(f"{where}.min_negatives ({opts['min_negatives']}) exceeds num_negatives ({n})")
    for key in ("absolute_margin", "relative_margin"):
        if opts[key] is not None and opts[key] < 0:
            raise ConfigError(f"{where}.{key} must be >= 0, got {opts[key]}")
    if opts["max_score"] is not None and opts["min_score"] is not None and opts["min_score"] > opts["max_score"]:
        raise ConfigError(f"{where}.min_score ({opts['min_score']}) exceeds max_score ({opts['max_score']})")

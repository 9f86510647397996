"""``evaluate.sweep``: a grid of mining options expanded into named variants at planning."""

from __future__ import annotations

import pytest

from conftest import demo_config
from hardneg.options import ConfigError
from hardneg.plan import Plan

GRID = {"range_max": [30, 50], "sampling_strategy": ["top", "random"]}


def _plan(sweep, **evaluate) -> Plan:
    return Plan.from_config(
        demo_config(datasets=["squad_pairs"], evaluate={"datasets": ["squad_pairs"], "sweep": sweep, **evaluate})
    )


def test_a_2_by_2_sweep_expands_into_4_variants_besides_the_built_ins():
    variants = _plan(GRID).variants["squad_pairs"]
    swept = {k: v for k, v in variants.items() if k.startswith("sweep.")}
    assert set(variants) - set(swept) == {"base", "in_batch", "shipped"}
    assert sorted(swept) == [
        "sweep.range_max-30.sampling_strategy-random",
        "sweep.range_max-30.sampling_strategy-top",
        "sweep.range_max-50.sampling_strategy-random",
        "sweep.range_max-50.sampling_strategy-top",
    ]
    shipped = variants["shipped"]
    for name, opts in swept.items():
        r, s = name.split(".")[1:]
        assert (opts.range_max, opts.sampling_strategy) == (int(r.split("-")[1]), s.split("-")[1])
        # every other option is the dataset's own setting
        assert opts.num_negatives == shipped.num_negatives and opts.seed == shipped.seed


def test_changing_one_axis_value_re_plans_only_the_variants_that_hold_it():
    before, after = _plan(GRID), _plan({**GRID, "range_max": [30, 100]})
    a, b = before.variants["squad_pairs"], after.variants["squad_pairs"]
    kept = set(a) & set(b)
    assert {k for k in set(a) ^ set(b)} == {
        "sweep.range_max-50.sampling_strategy-top",
        "sweep.range_max-50.sampling_strategy-random",
        "sweep.range_max-100.sampling_strategy-top",
        "sweep.range_max-100.sampling_strategy-random",
    }
    for stage in ("eval_mine", "train", "score"):
        for v in kept - {"base"} if stage != "score" else kept:
            ctx = {"dataset": "squad_pairs", "variant": v}
            assert before.settings(stage, **ctx) == after.settings(stage, **ctx), (stage, v)


def test_a_grid_over_max_variants_fails_at_planning_naming_the_count():
    grid = {"range_max": [20, 30, 50, 70, 100], "sampling_strategy": ["top", "random"], "relative_margin": [None, 0.05]}
    with pytest.raises(
        ConfigError,
        match=r"23 variants per dataset \(3 built-in, 0 named, 20 swept\) exceed "
        r"evaluate.max_variants \(12\)",
    ):
        _plan(grid, max_variants=12)
    assert len(_plan(grid).variants["squad_pairs"]) == 23  # under the default cap of 24


def test_null_and_numbers_name_variants_and_a_bad_value_names_its_key():
    names = set(_plan({"relative_margin": [None, 0.05]}).variants["squad_pairs"])
    assert {"sweep.relative_margin-none", "sweep.relative_margin-0.05"} <= names
    with pytest.raises(ConfigError, match=r"evaluate.sweep.range_max: give a non-empty list"):
        _plan({"range_max": 30})
    with pytest.raises(ConfigError, match=r"evaluate.sweep.range_mx: unknown key \(did you mean 'range_max'\?\)"):
        _plan({"range_mx": [30]})
    with pytest.raises(ConfigError, match=r"evaluate.sweep.range_max: '30' is not a valid range_max \(expected int\)"):
        _plan({"range_max": ["30"]})
    with pytest.raises(ConfigError, match=r"evaluate.sweep.relative_margin: 'None' is not a valid relative_margin"):
        _plan({"relative_margin": ["None"]})
    with pytest.raises(ConfigError, match=r"range_max \(200\) exceeds search.topk"):
        _plan({"range_max": [200]})


def test_negatives_per_row_and_dropping_empty_queries_are_axes_too():
    """The training rows' mined negatives (1 or 3) and whether a query left with none is
    dropped (``min_negatives: 1``) or kept to get random ones (``min_negatives: 0``)."""
    plan = _plan({"negatives_per_row": [1, 3], "min_negatives": [1, 0]})
    swept = sorted(v for v in plan.variants["squad_pairs"] if v.startswith("sweep."))
    assert swept == [
        "sweep.negatives_per_row-1.min_negatives-0",
        "sweep.negatives_per_row-1.min_negatives-1",
        "sweep.negatives_per_row-3.min_negatives-0",
        "sweep.negatives_per_row-3.min_negatives-1",
    ]
    train = {v: plan.job("train", dataset="squad_pairs", variant=v) for v in [*swept, "in_batch", "shipped"]}
    assert {v: j.negatives for v, j in train.items()} == {
        **{v: int(v.split(".")[1][-1]) for v in swept},
        "in_batch": 0,
        "shipped": 1,
    }
    mined = plan.variants["squad_pairs"]
    assert [mined[v].min_negatives for v in swept] == [0, 1, 0, 1]
    # the training option changes the training job only: both mine the same rows
    a, b = swept[1], swept[3]
    ctx = {"dataset": "squad_pairs"}
    assert plan.settings("eval_mine", **ctx, variant=a) == plan.settings("eval_mine", **ctx, variant=b)
    assert plan.settings("train", **ctx, variant=a) != plan.settings("train", **ctx, variant=b)
    with pytest.raises(ConfigError, match=r"evaluate.sweep.negatives_per_row: 0 is below 1"):
        _plan({"negatives_per_row": [0]})

"""The workflow's stages: one module per rule, named as the rule.

Each module holds the rule's job dataclass (``<Rule>Job``: exactly what the stage reads
besides its files), ``build(plan, **wildcards)`` (that job, from the checked config of
:class:`hardneg.plan.Plan`) and ``run(inputs, outputs, job, logger)``, which the one
Snakemake script (``workflow/scripts/stage.py``) calls for ``snakemake.rule``. A rule made
with ``use rule BASE as NAME`` runs BASE's stage: its ``build`` reads the rule's own
wildcards (a variant's). ``tests/test_stages.py`` derives the rule, module and job names
from the rules files and this package and checks that they agree.

Imported while the DAG is built, so a stage module imports its library code inside ``run``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# rules made with `use rule BASE as NAME` (workflow/rules/evaluate.smk): NAME -> BASE
DERIVED = {"eval_mine": "mine", "eval_export": "export"}


def stage(rule: str) -> ModuleType:
    """The stage module of ``rule`` (a derived rule's: its base rule's)."""
    name = DERIVED.get(rule, rule)
    if not name.isidentifier():
        raise KeyError(f"no stage for rule {rule!r}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        raise KeyError(f"no stage for rule {rule!r}") from exc

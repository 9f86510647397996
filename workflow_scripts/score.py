"""Snakemake script: score one evaluation variant's model on the held-out queries."""

from dataclasses import replace

from hnm.io import run_script
from hnm.options import EvaluateOptions, ModelOptions, SearchOptions
from hnm.score import ScoreJob, run


def main(logger):
    sm = snakemake  # noqa: F821
    p, wc = sm.params, sm.wildcards
    model = ModelOptions(**p.model)
    if wc.variant != "base":
        model = replace(model, name_or_path=sm.input.model, revision="")
    job = ScoreJob(
        dataset=wc.dataset,
        variant=wc.variant,
        model=model,
        evaluate=EvaluateOptions(max_seq_length=p.max_seq_length),
        search=SearchOptions(**p.search),
        block_rows=p.block_rows,
        threads=sm.threads,
    )
    run(sm.input, sm.output, job, logger)


run_script(main, snakemake.log[0], "score")  # noqa: F821

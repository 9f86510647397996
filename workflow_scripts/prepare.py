"""Snakemake script: raw data -> normalized queries/passages/qrels parquet + stats."""

from hnm.io import run_script
from hnm.prepare import prepare_dataset


def main(logger):
    sm = snakemake  # noqa: F821
    prepare_dataset(
        sm.params.format,
        sm.input[0],
        sm.output.queries,
        sm.output.passages,
        sm.output.qrels,
        sm.output.stats,
        dataset=sm.wildcards.dataset,
        out_twins=sm.output.twins,
        max_rows=sm.params.max_rows,
        max_bad_rows=sm.params.max_bad_rows,
        qrels_split=sm.params.qrels_split,
        logger=logger,
    )


run_script(main, snakemake.log[0], "prepare")  # noqa: F821

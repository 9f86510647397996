import copy

from snakemake.utils import min_version

min_version("9.0")

# A --configfile (or --config) that names `datasets:` replaces the default set instead
# of being merged into it: until `configfile:` runs, `config` holds the command line's.
CLI_DATASETS = copy.deepcopy(config.get("datasets"))


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/prepare.smk"
include: "rules/embed.smk"
include: "rules/search.smk"
include: "rules/mine.smk"
include: "rules/report.smk"
include: "rules/evaluate.smk"


rule all:
    default_target: True
    input:
        [mined_output(d) for d in DATASETS],
        [f"{OUTPUT_DIR}/{d}.README.md" for d in DATASETS],
        [plot_files(d) for d in DATASETS],
        [examples_file(d) for d in DATASETS],
        f"{OUTPUT_DIR}/summary.md",
        [evaluation_file(d) for d in EVALUATE.datasets],
        [f"{EVAL_OUT}/summary.md"] if EVALUATE.datasets else [],

# report: one table over all datasets (counts, and each stage's wall time and peak memory
# from the benchmark files), as Markdown and as a page of `snakemake --report`.


rule report:
    input:
        prepare=expand(rules.prepare.output.stats, dataset=DATASETS),
        mine=[mine_stats_file(d) for d in DATASETS],
        benchmarks=[
            f for d in DATASETS for fs in benchmark_files(d).values() for f in fs
        ],
    output:
        markdown=f"{OUTPUT_DIR}/summary.md",
        html=report(
            f"{OUTPUT_DIR}/summary.html",
            caption="../report/summary.rst",
            category="Summary",
            labels={"table": "all datasets"},
        ),
    log:
        f"logs/report/{OUT_KEY}.log",
    benchmark:
        f"logs/benchmarks/report/{OUT_KEY}.tsv"
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        benchmarks={d: benchmark_files(d) for d in DATASETS},
    script:
        "../workflow_scripts/report.py"

rule report:
    input:
        prepare=expand(rules.prepare.output.stats, dataset=DATASETS),
        mine=[mine_stats_file(d) for d in DATASETS],
    output:
        f"{OUTPUT_DIR}/summary.md",
    log:
        "logs/report.log",
    benchmark:
        "logs/benchmarks/report.tsv"
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow_scripts/report.py"

rule prepare:
    input:
        raw=raw_input,
    output:
        queries=f"{PREP_DIR}/queries.parquet",
        passages=f"{PREP_DIR}/passages.parquet",
        qrels=f"{PREP_DIR}/qrels.parquet",
        twins=f"{PREP_DIR}/query_twins.npy",
        stats=f"{PREP_DIR}/prepare_stats.json",
    log:
        "logs/prepare/{dataset}.log",
    benchmark:
        BENCH["prepare"]
    conda:
        "../envs/prepare.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(2000 + 4 * input.size_mb) * attempt,
        runtime=lambda wc, input, attempt: int(30 + input.size_mb / 20) * attempt,
    params:
        format=lambda wc: DATASETS[wc.dataset]["format"],
        max_rows=lambda wc: DATASETS[wc.dataset].get("max_rows"),
        max_bad_rows=lambda wc: DATASETS[wc.dataset].get(
            "max_bad_rows", config["prepare"]["max_bad_rows"]
        ),
        qrels_split=lambda wc: DATASETS[wc.dataset]["qrels_split"],
    script:
        "../workflow_scripts/prepare.py"

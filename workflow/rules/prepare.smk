rule prepare:
    input:
        raw=raw_input,
    output:
        queries=f"{PREP_DIR}/queries.parquet",
        passages=f"{PREP_DIR}/passages.parquet",
        qrels=f"{PREP_DIR}/qrels.parquet",
        negatives=f"{PREP_DIR}/negatives.parquet",
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
        **job("prepare"),
    script:
        "../scripts/stage.py"

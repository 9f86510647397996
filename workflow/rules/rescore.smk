# rescore (optional, when cross_encoder.name_or_path is set): cross-encoder scores for the
# cached candidates and positives; mining reads them instead of the merge's.


rule rescore:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=rules.merge.output.candidates,
        positive_scores=rules.merge.output.positive_scores,
        given_scores=rules.merge.output.given_scores,
        cache_stats=rules.merge.output.stats,
    output:
        candidates=f"{RESCORE_DIR}/candidates.parquet",
        positive_scores=f"{RESCORE_DIR}/positive_scores.parquet",
        given_scores=f"{RESCORE_DIR}/given_negative_scores.parquet",
        stats=f"{RESCORE_DIR}/candidates.stats.json",
    log:
        f"logs/rescore/{{model}}/{CE_KEY}/{{dataset}}.log",
    benchmark:
        BENCH["rescore"]
    conda:
        "../envs/embed.yaml"
    threads: PLAN.embed.threads
    resources:
        mem_mb=lambda wc, input, attempt: int(
            4000 + 6 * size_mb([input.passages, input.queries])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(60 + size_mb([input.candidates]))
        * attempt,
        gpu=PLAN.embed.gpus,
    params:
        **job("rescore"),
    script:
        "../scripts/stage.py"

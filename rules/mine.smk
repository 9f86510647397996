# rescore (optional, when cross_encoder.name_or_path is set): cross-encoder scores for the
# cached candidates and positives; mining reads them instead of the merge's.


rule rescore:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=rules.merge.output.candidates,
        positive_scores=rules.merge.output.positive_scores,
    output:
        candidates=f"{RESCORE_DIR}/candidates.parquet",
        positive_scores=f"{RESCORE_DIR}/positive_scores.parquet",
    log:
        f"logs/rescore/{CE_KEY}/{{dataset}}.log",
    benchmark:
        f"logs/benchmarks/rescore/{CE_KEY}/{{dataset}}.tsv"
    conda:
        "../envs/embed.yaml"
    threads: EMBED["threads"]
    resources:
        mem_mb=lambda wc, input, attempt: int(
            4000 + 6 * size_mb([input.passages, input.queries])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(60 + size_mb([input.candidates]))
        * attempt,
        gpu=EMBED["gpus"],
    params:
        cross_encoder=CROSS_ENCODER,
    script:
        "../workflow_scripts/rescore.py"


rule mine:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=scored_candidates("candidates"),
        positive_scores=scored_candidates("positive_scores"),
    output:
        mined=f"{OUTPUT_DIR}/{{dataset}}.{{ext}}",
        stats=f"{OUTPUT_DIR}/stats/{{dataset}}.{{ext}}.mine_stats.json",
    log:
        "logs/mine/{dataset}.{ext}.log",
    benchmark:
        "logs/benchmarks/mine/{dataset}.{ext}.tsv"
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(
            2000 + 6 * size_mb([input.passages, input.queries])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(20 + size_mb([input.candidates]) / 50)
        * attempt,
    params:
        mining=lambda wc: MINING[wc.dataset],
    script:
        "../workflow_scripts/mine.py"

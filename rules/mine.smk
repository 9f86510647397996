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
        BENCH["rescore"]
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
        cross_encoder=CrossEncoderOptions(**CROSS_ENCODER).rescore_settings,
    script:
        "../workflow_scripts/rescore.py"


rule mine:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=scored_candidates("candidates"),
        positive_scores=scored_candidates("positive_scores"),
        passage_vectors=near_copy_vectors,
    output:
        mined=f"{OUTPUT_DIR}/{{dataset}}.{{ext}}",
        stats=f"{OUTPUT_DIR}/stats/{{dataset}}.{{ext}}.mine_stats.json",
    log:
        f"logs/mine/{OUT_KEY}/{{dataset}}.{{ext}}.log",
    benchmark:
        BENCH["mine"]
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(
            1500 + size_mb([input.passages, input.queries])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(20 + size_mb([input.candidates]) / 50)
        * attempt,
    params:
        mining=mining_options,
        judge=JUDGE,
    script:
        "../workflow_scripts/mine.py"


# The dataset card next to each mined file (Hugging Face format): source, model and
# settings, counts, schema.
rule card:
    input:
        mined=lambda wc: mined_output(wc.dataset),
        stats=lambda wc: mine_stats_file(wc.dataset),
        prepare_stats=rules.prepare.output.stats,
        evaluation=lambda wc: (
            evaluation_file(wc.dataset) if evaluated(wc.dataset) else []
        ),
    output:
        f"{OUTPUT_DIR}/{{dataset}}.README.md",
    log:
        f"logs/card/{OUT_KEY}/{{dataset}}.log",
    benchmark:
        f"logs/benchmarks/card/{OUT_KEY}/{{dataset}}.tsv"
    localrule: True
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        source=lambda wc: DATASETS[wc.dataset]["source"],
        checksum=lambda wc: {
            k: DATASETS[wc.dataset][k]
            for k in ("md5", "sha256")
            if k in DATASETS[wc.dataset]
        },
        model=MODEL,
        search={
            "topk": TOPK,
            "index": SEARCH["index"],
            **(
                {"nlist": SEARCH["nlist"], "nprobe": SEARCH["nprobe"]}
                if SEARCH["index"] == "ivf"
                else {}
            ),
        },
        mining=mining_options,
    script:
        "../workflow_scripts/card.py"

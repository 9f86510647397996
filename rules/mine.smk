rule mine:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        qrels=rules.prepare.output.qrels,
        candidates=rules.merge.output.candidates,
        positive_scores=rules.merge.output.positive_scores,
    output:
        mined=f"{OUTPUT_DIR}/{{dataset}}.{{ext}}",
        stats=f"{RESULTS}/mine/{{dataset}}.{{ext}}.mine_stats.json",
    log:
        "logs/mine/{dataset}.{ext}.log",
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

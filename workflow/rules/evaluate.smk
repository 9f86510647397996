# evaluate (off unless evaluate.datasets names datasets; any evaluation/NAME.json can be
# targeted): hold out queries, mine each variant's training rows from the cached
# candidates, fine-tune one model per variant, score the held-out queries against the
# whole corpus, and compare the variants.


rule holdout:
    input:
        unpack(holdout_inputs),
    output:
        heldout=f"{HOLDOUT_DIR}/heldout.parquet",
        exclude=f"{HOLDOUT_DIR}/train_exclude.npy",
        stats=f"{HOLDOUT_DIR}/holdout_stats.json",
    log:
        "logs/holdout/{dataset}.log",
    benchmark:
        "logs/benchmarks/holdout/{dataset}.tsv"
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(1500 + 3 * input.size_mb) * attempt,
        runtime=lambda wc, input, attempt: int(10 + input.size_mb / 50) * attempt,
    params:
        **job("holdout"),
    script:
        "../scripts/stage.py"


# a variant's training rows: the mine stage on the same cached candidates, held-out
# queries left out (in_batch: no negatives at all)
use rule mine as eval_mine with:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=scored_candidates("candidates"),
        positive_scores=scored_candidates("positive_scores"),
        given_scores=scored_candidates("given_negative_scores"),
        cache_stats=scored_candidates("candidates.stats", "json"),
        passage_vectors=mining_input("passage_vectors", embedding_files("passages")),
        exclude=rules.holdout.output.exclude,
    output:
        mined=f"{EVAL_DIR}/{{variant}}/train.jsonl",
        stats=f"{EVAL_DIR}/{{variant}}/mine_stats.json",
    log:
        f"{EVAL_LOGS}/mine.log",
    benchmark:
        f"{EVAL_LOGS}/mine.tsv"
    wildcard_constraints:
        variant="|".join(re.escape(v) for v in VARIANT_NAMES if v != "base"),
    params:
        **job("eval_mine"),


rule train:
    input:
        train=rules.eval_mine.output.mined,
        passages=rules.prepare.output.passages,
    output:
        model=directory(f"{EVAL_DIR}/{{variant}}/model"),
        stats=f"{EVAL_DIR}/{{variant}}/train_stats.json",
    log:
        f"{EVAL_LOGS}/train.log",
    benchmark:
        f"{EVAL_LOGS}/train.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: PLAN.embed.threads
    resources:
        # fitted to measured peaks (hardneg.memory, README's table)
        mem_mb=lambda wc, attempt: PLAN.eval_mem_mb("train") * attempt,
        runtime=lambda wc, attempt: int(30 + EVALUATE.max_steps / 20) * attempt,
        gpu=PLAN.embed.gpus,
    params:
        **job("train"),
    script:
        "../scripts/stage.py"


# a trained variant's own graph, where model.backend is not torch
use rule export as eval_export with:
    input:
        model=rules.train.output.model,
    output:
        graph=directory(f"{EVAL_DIR}/{{variant}}/exported"),
    log:
        f"{EVAL_LOGS}/export.log",
    benchmark:
        f"{EVAL_LOGS}/export.tsv"
    wildcard_constraints:
        variant="|".join(re.escape(v) for v in VARIANT_NAMES if v != "base"),
    params:
        **job("eval_export"),


rule score:
    input:
        unpack(score_inputs),
    output:
        per_query=f"{EVAL_DIR}/{{variant}}/per_query.parquet",
        stats=f"{EVAL_DIR}/{{variant}}/score_stats.json",
    log:
        f"{EVAL_LOGS}/score.log",
    benchmark:
        f"{EVAL_LOGS}/score.tsv"
    conda:
        "../envs/evaluate.yaml"
    threads: PLAN.embed.threads
    resources:
        # the fit, plus the corpus chunk's texts
        mem_mb=lambda wc, input, attempt: int(
            PLAN.eval_mem_mb("score") + size_mb([input.passages])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(30 + 2 * size_mb([input.passages]))
        * attempt,
        gpu=PLAN.embed.gpus,
    params:
        **job("score"),
    script:
        "../scripts/stage.py"


rule evaluation:
    input:
        per_query=variant_files("per_query.parquet"),
        mine_stats=variant_files("mine_stats.json", trained_only=True),
        train_stats=variant_files("train_stats.json", trained_only=True),
        holdout_stats=rules.holdout.output.stats,
    output:
        json=f"{EVAL_OUT}/{{dataset}}.json",
        plot=report(
            f"{EVAL_OUT}/{{dataset}}.svg",
            caption="../report/evaluation.rst",
            category="Evaluation",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "view": "plot"},
        ),
        page=report(
            f"{EVAL_OUT}/{{dataset}}.html",
            caption="../report/evaluation.rst",
            category="Evaluation",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "view": "table"},
        ),
    log:
        "logs/evaluate/{dataset}.log",
    benchmark:
        "logs/benchmarks/evaluate/{dataset}.tsv"
    localrule: True
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **job("evaluation"),
    script:
        "../scripts/stage.py"


rule evaluation_summary:
    input:
        [evaluation_file(d) for d in EVALUATE.datasets],
    output:
        f"{EVAL_OUT}/summary.md",
    log:
        "logs/evaluate/summary.log",
    benchmark:
        "logs/benchmarks/evaluate/summary.tsv"
    localrule: True
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **job("evaluation_summary"),
    script:
        "../scripts/stage.py"

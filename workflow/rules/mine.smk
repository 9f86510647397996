# mine: the negatives of every query from the cached candidates (the merge's, or the
# cross-encoder's), written in the dataset's output format, with its stats and sample.


rule mine:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        candidates=scored_candidates("candidates"),
        positive_scores=scored_candidates("positive_scores"),
        given_scores=scored_candidates("given_negative_scores"),
        cache_stats=scored_candidates("candidates.stats", "json"),
        passage_vectors=mining_input("passage_vectors", embedding_files("passages")),
    output:
        mined=f"{OUTPUT_DIR}/{{dataset}}.{{ext}}",
        stats=f"{OUTPUT_DIR}/stats/{{dataset}}.{{ext}}.mine_stats.json",
        sample=f"{OUTPUT_DIR}/stats/{{dataset}}.{{ext}}.sample.npz",
    log:
        f"logs/mine/{OUT_KEY}/{{dataset}}.{{ext}}.log",
    benchmark:
        BENCH["mine"]
    conda:
        "../envs/mine.yaml"
    # past 100 MB of candidates, one thread reads and decides the next runs while one writes
    threads: lambda wc, input: 2 if size_mb([input.candidates]) > 100 else 1
    resources:
        mem_mb=lambda wc, input, attempt: int(
            1500 + size_mb([input.passages, input.queries])
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(20 + size_mb([input.candidates]) / 50)
        * attempt,
    params:
        **job("mine"),
    script:
        "../scripts/stage.py"

# search: exact top-k of every query against one passage shard (memory bounded by
# that shard). merge: one global candidate table, plus the positives' scores.


rule search:
    input:
        queries=embedding_files("queries"),
        passages=f"{EMB_DIR}/passages.{{shard}}.npy",
        # the shard's embed stats: its first passage row (the global index offset)
        stats=f"{EMB_DIR}/stats.{{shard}}.json",
        all_passages=embedding_files("passages"),
        # every shard's fingerprints: the vectors are checked before they are searched
        all_stats=embedding_files("stats", "json"),
        twins=rules.prepare.output.twins,
    output:
        ids=f"{SEARCH_DIR}/{{n}}shards/ids.{{shard}}.npy",
        scores=f"{SEARCH_DIR}/{{n}}shards/scores.{{shard}}.npy",
    log:
        f"logs/search/{{model}}/{SEARCH_KEY}/{{dataset}}/{{n}}shards/{{shard}}.log",
    benchmark:
        BENCH["search"]
    conda:
        "../envs/search.yaml"
    threads: PLAN.search.threads
    resources:
        mem_mb=lambda wc, input, attempt: int(
            1500 + 2.5 * size_mb([input.passages]) + 0.1 * size_mb(input.queries)
        )
        * attempt,
        runtime=lambda wc, input, attempt: int(
            20 + size_mb([input.passages]) * size_mb(input.queries) / 2e5
        )
        * attempt,
        gpu=PLAN.search.gpus,
    params:
        **job("search"),
    script:
        "../scripts/stage.py"


rule merge:
    input:
        ids=search_files("ids"),
        scores=search_files("scores"),
        queries=embedding_files("queries"),
        passages=embedding_files("passages"),
        embed_stats=embedding_files("stats", "json"),
        qrels=rules.prepare.output.qrels,
        negatives=rules.prepare.output.negatives,
        twins=rules.prepare.output.twins,
    output:
        candidates=f"{SEARCH_DIR}/candidates.parquet",
        positive_scores=f"{SEARCH_DIR}/positive_scores.parquet",
        # the negatives the data gives (table format), scored like the positives
        given_scores=f"{SEARCH_DIR}/given_negative_scores.parquet",
        # the two tables' row counts and checksums, checked by every reader
        stats=f"{SEARCH_DIR}/candidates.stats.json",
    log:
        f"logs/merge/{{model}}/{SEARCH_KEY}/{{dataset}}.log",
    benchmark:
        BENCH["merge"]
    conda:
        "../envs/search.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(2000 + 0.05 * size_mb(input.ids))
        * attempt,
        runtime=lambda wc, input, attempt: int(20 + size_mb(input.ids) / 500) * attempt,
    params:
        **job("merge"),
    script:
        "../scripts/stage.py"

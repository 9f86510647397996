# One job per shard embeds that shard of the queries and of the passages. The output
# folder is keyed by the model settings only ({model}: model:'s or a variant's teacher's
# cache key), so it is a cache that mining or search settings never invalidate. With a
# backend other than torch, a model is first exported once, in its own CPU job
# ({export}), and the embed jobs on the CPU run that graph.


rule export:
    output:
        graph=directory(EXPORT_DIR),
    log:
        f"logs/{EXPORT_DIR}.log",
    benchmark:
        f"logs/benchmarks/{EXPORT_DIR}.tsv"
    conda:
        "../envs/embed.yaml"
    threads: PLAN.embed.threads
    resources:
        mem_mb=lambda wc, attempt: 4000 * attempt,
        runtime=lambda wc, attempt: 30 * attempt,
    params:
        **job("export"),
    script:
        "../scripts/stage.py"


rule embed:
    input:
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        twins=rules.prepare.output.twins,
        exported=lambda wc: PLAN.graph(PLAN.embedder(wc.model)),
    output:
        queries=f"{EMB_DIR}/queries.{{shard}}.npy",
        passages=f"{EMB_DIR}/passages.{{shard}}.npy",
        stats=f"{EMB_DIR}/stats.{{shard}}.json",
    log:
        "logs/embed/{model}/{dataset}/{n}shards/{shard}.log",
    benchmark:
        BENCH["embed"]
    conda:
        "../envs/embed.yaml"
    threads: PLAN.embed.threads
    resources:
        mem_mb=lambda wc, input, attempt: int(4000 + 6 * input.size_mb / int(wc.n))
        * attempt,
        runtime=lambda wc, input, attempt: int(30 + 2 * input.size_mb / int(wc.n))
        * attempt,
        gpu=PLAN.embed.gpus,
    params:
        **job("embed"),
    script:
        "../scripts/stage.py"

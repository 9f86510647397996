# plots: the six SVGs of one dataset, from the stats its stages wrote (report() pages).


rule plots:
    input:
        mine_stats=f"{OUTPUT_DIR}/stats/{{dataset}}.{{ext}}.mine_stats.json",
        prepare_stats=rules.prepare.output.stats,
        embed_stats=embedding_files("stats", "json"),
    output:
        **{
            name: report(
                f"{OUTPUT_DIR}/plots/{{dataset}}.{{ext}}/{name}.svg",
                caption=f"../report/{name}.rst",
                category="Datasets",
                subcategory="{dataset}",
                labels={"dataset": "{dataset}", "plot": name.replace("_", " ")},
            )
            for name in PLOTS
        },
    log:
        f"logs/plots/{OUT_KEY}/{{dataset}}.{{ext}}.log",
    benchmark:
        f"logs/benchmarks/plots/{OUT_KEY}/{{dataset}}.{{ext}}.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        **job("plots"),
    script:
        "../scripts/stage.py"


# report: one table over all datasets (counts, and each stage's wall time and peak memory
# from the benchmark files), as Markdown and as a page of `snakemake --report` (with the plots).


rule report:
    input:
        prepare=expand(rules.prepare.output.stats, dataset=DATASETS),
        mine=[mine_stats_file(d) for d in DATASETS],
        benchmarks=[
            f
            for d in DATASETS
            for fs in benchmark_files(PLAN, BENCH, d).values()
            for f in fs
        ],
        evaluation=[evaluation_file(d) for d in EVALUATE.datasets],
        plots=[plot_files(d) for d in DATASETS],
    output:
        markdown=f"{OUTPUT_DIR}/summary.md",
        html=report(
            f"{OUTPUT_DIR}/summary.html",
            caption="../report/summary.rst",
            category="Summary",
            labels={"table": "all datasets"},
        ),
    log:
        f"logs/report/{OUT_KEY}.log",
    benchmark:
        f"logs/benchmarks/report/{OUT_KEY}.tsv"
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **job(
            "report", benchmarks={d: benchmark_files(PLAN, BENCH, d) for d in DATASETS}
        ),
    script:
        "../scripts/stage.py"


# examples: a page of sample rows and suspicious negatives per dataset (report() page)
rule examples:
    input:
        sample=rules.mine.output.sample,
        stats=rules.mine.output.stats,
        queries=rules.prepare.output.queries,
        passages=rules.prepare.output.passages,
        twins=rules.prepare.output.twins,
        query_vectors=embedding_files("queries"),
        passage_vectors=embedding_files("passages"),
    output:
        page=report(
            f"{OUTPUT_DIR}/examples/{{dataset}}.{{ext}}.html",
            caption="../report/examples.rst",
            category="Examples",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "page": "examples"},
        ),
    log:
        f"logs/examples/{OUT_KEY}/{{dataset}}.{{ext}}.log",
    benchmark:
        f"logs/benchmarks/examples/{OUT_KEY}/{{dataset}}.{{ext}}.tsv"
    conda:
        "../envs/mine.yaml"
    threads: 1
    resources:
        # a fixed sample: its vectors and the texts it shows, whatever the dataset's size
        mem_mb=lambda wc, attempt: 2000 * attempt,
        runtime=lambda wc, attempt: 10 * attempt,
    params:
        **job("examples"),
    script:
        "../scripts/stage.py"


# The dataset card next to each mined file (Hugging Face format): source, model and
# settings, counts, schema.
rule card:
    input:
        mined=lambda wc: mined_output(wc.dataset),
        stats=lambda wc: mine_stats_file(wc.dataset),
        prepare_stats=rules.prepare.output.stats,
        evaluation=lambda wc: (
            evaluation_file(wc.dataset) if wc.dataset in EVALUATE.datasets else []
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
        **job("card"),
    script:
        "../scripts/stage.py"


# The output folder's README.md: the folder as one Hugging Face dataset, a config per
# mined dataset (datasets.load_dataset(OUTPUT_DIR, NAME)).
rule folder_card:
    input:
        cards=[f"{OUTPUT_DIR}/{d}.README.md" for d in DATASETS],
    output:
        f"{OUTPUT_DIR}/README.md",
    log:
        f"logs/folder_card/{OUT_KEY}.log",
    benchmark:
        f"logs/benchmarks/folder_card/{OUT_KEY}.tsv"
    localrule: True
    conda:
        "../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    params:
        **job("folder_card"),
    script:
        "../scripts/stage.py"

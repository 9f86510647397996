# Downloads run on the machine that runs snakemake (localrule): cluster compute
# nodes often have no internet. Local paths and file:// sources need no rule. One rule
# serves both remote kinds (`hf`: huggingface_hub; `http`: retries and checksums).


rule download:
    output:
        "resources/raw/{kind}/{dataset}/{filename}",
    log:
        "logs/download/{kind}/{dataset}/{filename}.log",
    benchmark:
        "logs/benchmarks/download/{kind}/{dataset}/{filename}.tsv"
    localrule: True
    conda:
        "../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        **job("download"),
    script:
        "../scripts/stage.py"


# A hub repo's split: every data file of it at the pinned revision (hardneg.data.hub), as a
# folder laid out as in the repo.
rule download_split:
    output:
        directory("resources/raw/hf-split/{dataset}/{split}"),
    log:
        "logs/download/hf-split/{dataset}/{split}.log",
    benchmark:
        "logs/benchmarks/download/hf-split/{dataset}/{split}.tsv"
    localrule: True
    conda:
        "../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        **job("download_split"),
    script:
        "../scripts/stage.py"

# Downloads run on the machine that runs snakemake (localrule): cluster compute
# nodes often have no internet. Local paths and file:// sources need no rule.


rule download_hf:
    output:
        "resources/raw/hf/{dataset}/{filename}",
    log:
        "logs/download/hf/{dataset}/{filename}.log",
    benchmark:
        "logs/benchmarks/download/hf/{dataset}/{filename}.tsv"
    localrule: True
    conda:
        "../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        download_params,
    script:
        "../workflow_scripts/download.py"


rule download_http:
    output:
        "resources/raw/http/{dataset}/{filename}",
    log:
        "logs/download/http/{dataset}/{filename}.log",
    benchmark:
        "logs/benchmarks/download/http/{dataset}/{filename}.tsv"
    localrule: True
    conda:
        "../envs/download.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=240,
    params:
        download_params,
    script:
        "../workflow_scripts/download.py"

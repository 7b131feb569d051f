# Compilation once, then one training job per (experiment, size, m,
# temperature, block of seeds); with points_per_job > 1 a job runs several
# consecutive m values of a size (the m wildcard lists them: 16,23,32), or
# temperatures of a Metropolis scan (temperature 1,1.5,2).


rule compile:
    input:
        COMPILE_SOURCES,
    output:
        COMPILE_FLAG,
    log:
        "results/logs/compile.log",
    benchmark:
        "results/benchmarks/compile.tsv"
    conda:
        "../../envs/mbphase.yaml"
    shell:
        MBPHASE_SHELL
        + "NUMBA_NUM_THREADS={threads} mbphase compile --flag {output:q} > {log:q} 2>&1"


rule train:
    input:
        # ancient: the flag only orders compilation before training; a
        # recompilation alone (say, after the Numba cache was cleared) must
        # not rerun finished jobs. Code changes rerun them through `code`.
        compiled=ancient(COMPILE_FLAG),
        code=CODE_VERSION_FILE,
    output:
        runs=RUN_FILE,
        trajectory=TRAJECTORY_FILE,
    log:
        f"results/logs/train/{names.JOB}.log",
    benchmark:
        f"results/benchmarks/train/{names.JOB}.tsv"
    conda:
        "../../envs/mbphase.yaml"
    threads: config["threads"]
    resources:
        mem_mb=lambda w: EXPERIMENTS[w.experiment].mem_mb,
        runtime=lambda w: EXPERIMENTS[w.experiment].runtime,
    params:
        # the job's own config, on stdin: see run_config in common.smk
        config=run_config,
    shell:
        MBPHASE_SHELL
        + "printf '%s\\n' {params.config:q} | NUMBA_NUM_THREADS={threads} "
        "mbphase run --config /dev/stdin --experiment {wildcards.experiment} "
        "--size {wildcards.size} --m {wildcards.m} --temperature {wildcards.temperature} --init {wildcards.init} "
        "--seeds {wildcards.first}:{wildcards.stop} --threads {threads} --progress off "
        "--out {output.runs:q} --trajectory-out {output.trajectory:q} > {log:q} 2>&1"


# One small file per experiment holding the hash of the simulation sources its
# runs depend on (train_code_version in common.smk), rewritten when the hash
# changes (a param): an input of the experiment's training jobs, so that a code
# change reruns exactly the jobs it can affect. One file instead of ~15
# source files per job keeps the DAG build cheap. (Not the hash as a param of
# every training job: when the compile job reruns as well, Snakemake skips
# the checks of the jobs after it and reaches them only through inputs that
# are not ancient.)
rule code_version:
    output:
        CODE_VERSION_FILE,
    log:
        "results/logs/code_version/{experiment}.log",
    conda:
        "../../envs/mbphase.yaml"
    params:
        code=lambda w: train_code_version(w.experiment),
    shell:
        "printf '%s\\n' {params.code:q} > {output:q} 2> {log:q}"

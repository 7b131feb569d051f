# Compilation once, then one training job per (experiment, size, m,
# temperature, block of seeds).


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
        "NUMBA_NUM_THREADS={threads} mbphase compile --flag {output:q} > {log:q} 2>&1"


rule train:
    input:
        # ancient: the flag only orders compilation before training; a
        # recompilation alone (say, after the Numba cache was cleared) must
        # not rerun finished jobs. Code changes rerun them through `sources`.
        compiled=ancient(COMPILE_FLAG),
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
        # the hash of the sources a run's rows depend on (train_code_version
        # in common.smk): a param, as params changes rerun jobs, at a
        # fraction of the cost of listing the files as inputs of every job
        code=lambda w: train_code_version(w.experiment),
    shell:
        "printf '%s\\n' {params.config:q} | NUMBA_NUM_THREADS={threads} "
        "mbphase run --config /dev/stdin --experiment {wildcards.experiment} "
        "--size {wildcards.size} --m {wildcards.m} --temperature {wildcards.temperature} --init {wildcards.init} "
        "--seeds {wildcards.first}:{wildcards.stop} --threads {threads} --progress off "
        "--out {output.runs:q} --trajectory-out {output.trajectory:q} > {log:q} 2>&1"

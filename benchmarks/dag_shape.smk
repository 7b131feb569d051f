# What Snakemake alone needs to build the DAG of a 10,000-job sweep shaped
# like the workflow's (benchmarks/against_ref.py's dry-run sweep), with none
# of the workflow's code: trivial rules, the same files per job.
#
#   snakemake -s benchmarks/dag_shape.smk --directory /tmp/dag-shape -n -q --cores 2 \
#       --config variant=minimal    # one output per job, nothing else
#   ... --config variant=workflow   # the workflow's shape: two outputs (run and
#                                   # trajectory file), two inputs (compile flag,
#                                   # code version), a log, a benchmark file and
#                                   # a params function per training job; the
#                                   # target rule and the aggregation list all
#                                   # 20,000 files
#
# Compare the CPU seconds of each (/usr/bin/time) with the workflow's own dry
# run of the same sweep: the difference is what the workflow's code costs.

N = 10000
WORKFLOW = config.get("variant", "workflow") == "workflow"
JOBS = [
    f"e/size{i % 4}/m{i // 4 % 25}/seeds{i // 100}-{i // 100 + 1}" for i in range(N)
]
RUNS = [f"results/runs/{j}.parquet" for j in JOBS]
TRAJECTORIES = (
    [f"results/runs/{j}.trajectory.parquet" for j in JOBS] if WORKFLOW else []
)


rule all:
    input:
        RUNS + TRAJECTORIES + ["results/aggregated.txt"],


rule aggregate:
    input:
        RUNS + TRAJECTORIES,
    output:
        "results/aggregated.txt",
    shell:
        "touch {output}"


if WORKFLOW:

    rule train:
        input:
            compiled=ancient("results/compiled.flag"),
            code="results/code_version/e.txt",
        output:
            runs="results/runs/{job}.parquet",
            trajectory="results/runs/{job}.trajectory.parquet",
        log:
            "results/logs/{job}.log",
        benchmark:
            "results/benchmarks/{job}.tsv"
        params:
            config=lambda w: w.job,
        shell:
            "touch {output}"

else:

    rule train:
        output:
            runs="results/runs/{job}.parquet",
        shell:
            "touch {output}"


rule compile:
    output:
        "results/compiled.flag",
    shell:
        "touch {output}"


rule code_version:
    output:
        "results/code_version/{experiment}.txt",
    shell:
        "touch {output}"

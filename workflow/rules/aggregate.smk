# All run files of an experiment into one checked table.


rule aggregate:
    input:
        runs=checked_run_files,
        trajectories=lambda w: train_outputs(TRAJECTORY_FILE, w.experiment),
        sources=AGGREGATE_SOURCES,
    output:
        runs=RUNS_TABLE,
        trajectories=TRAJECTORIES_TABLE,
    log:
        "results/logs/aggregate/{experiment}.log",
    conda:
        "../../envs/mbphase.yaml"
    params:
        # what to expect, and path templates, rather than the file list: a
        # long list would exceed the shell's limit on one argument (128 kB)
        spec=aggregate_spec,
        runs_template=lambda w: run_template(RUN_FILE, w.experiment),
        trajectories_template=lambda w: run_template(TRAJECTORY_FILE, w.experiment),
    shell:
        # tee: warnings (runs of one point from different code versions)
        # show on the terminal as well as in the log
        MBPHASE_SHELL + "mbphase aggregate --spec {params.spec:q} "
        "--runs-template {params.runs_template:q} "
        "--trajectories-template {params.trajectories_template:q} "
        "--out-runs {output.runs:q} --out-trajectories {output.trajectories:q} "
        "2>&1 | tee {log:q}"

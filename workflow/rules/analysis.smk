# Analysis tables per experiment, and the figures from all of them.


rule analyse:
    input:
        runs=RUNS_TABLE,
        sources=ANALYSIS_SOURCES,
    output:
        expand(ANALYSIS_TABLE, table=TABLES, allow_missing=True),
    log:
        "results/logs/analyse/{experiment}.log",
    benchmark:
        "results/benchmarks/analyse/{experiment}.tsv"
    conda:
        "../../envs/mbphase.yaml"
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        seeds=lambda w: EXPERIMENTS[w.experiment].seeds,
        budget_rule=lambda w: EXPERIMENTS[w.experiment].budget_rule,
    shell:
        "mbphase analyse --runs {input.runs:q} --expected-seeds {params.seeds} "
        "--budget-rule {params.budget_rule:q} "
        "--out-dir {params.outdir:q} > {log:q} 2>&1"


rule plot:
    input:
        tables=expand(ANALYSIS_TABLE, experiment=EXPERIMENTS, table=TABLES),
        sources=PLOT_SOURCES,
    output:
        **figure_outputs(),
    log:
        "results/logs/plot.log",
    benchmark:
        "results/benchmarks/plot.tsv"
    conda:
        "../../envs/mbphase.yaml"
    params:
        analysis=lambda w, input: directories(input.tables),
        outdir=lambda w, output: os.path.dirname(output[0]),
    shell:
        "MPLBACKEND=Agg mbphase plot --analysis {params.analysis:q} "
        "--out-dir {params.outdir:q} > {log:q} 2>&1"

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
        # the Hive layout: one tree per table, one partition per experiment
        template=lambda w: run_template(ANALYSIS_TABLE, w.experiment),
        seeds=lambda w: EXPERIMENTS[w.experiment].seeds,
        budget_rule=lambda w: EXPERIMENTS[w.experiment].budget_rule,
    shell:
        MBPHASE_SHELL
        + "mbphase analyse --runs {input.runs:q} --expected-seeds {params.seeds} "
        "--budget-rule {params.budget_rule:q} "
        "--out-template {params.template:q} > {log:q} 2>&1"


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
        outdir=lambda w, output: os.path.dirname(output[0]),
        # the config's figures section and the panel titles
        figures=figures_spec(),
    shell:
        MBPHASE_SHELL
        + (
            "MPLBACKEND=Agg mbphase plot --tables {input.tables:q} "
            "--out-dir {params.outdir:q} --figures {params.figures:q} > {log:q} 2>&1"
        )


# The report's tables (m_c, b, width, collapse) as CSV, from the analysis tables.
rule report_tables:
    input:
        tables=expand(ANALYSIS_TABLE, experiment=EXPERIMENTS, table=TABLES),
        sources=PLOT_SOURCES,
    output:
        **report_table_outputs(),
    log:
        "results/logs/report_tables.log",
    conda:
        "../../envs/mbphase.yaml"
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
    shell:
        MBPHASE_SHELL
        + (
            "mbphase report-tables --tables {input.tables:q} "
            "--out-dir {params.outdir:q} > {log:q} 2>&1"
        )

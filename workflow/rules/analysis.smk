# Analysis tables per experiment, and the figures from all of them.


rule analyse:
    input:
        runs=RUNS_TABLE,
        sources=ANALYSIS_SOURCES,
    output:
        expand(ANALYSIS_TABLE, table=ANALYSIS_TABLES, allow_missing=True),
    log:
        "results/logs/analyse/{experiment}.log",
    benchmark:
        "results/benchmarks/analyse/{experiment}.tsv"
    conda:
        "../../envs/mbphase.yaml"
    params:
        outdir=lambda w, output: os.path.dirname(output[0]),
        seeds=lambda w: EXPERIMENTS[w.experiment].seeds,
    shell:
        "mbphase analyse --runs {input.runs:q} --expected-seeds {params.seeds} "
        "--out-dir {params.outdir:q} > {log:q} 2>&1"


rule plot:
    input:
        tables=expand(ANALYSIS_TABLE, experiment=EXPERIMENTS, table=ANALYSIS_TABLES),
        sources=PLOT_SOURCES,
    output:
        fig1_png=figure("fig1_psucc", "png"),
        fig1_pdf=figure("fig1_psucc", "pdf"),
        fig2_png=figure("fig2_collapse", "png"),
        fig2_pdf=figure("fig2_collapse", "pdf"),
        fig3_png=figure("fig3_mc_scaling", "png"),
        fig3_pdf=figure("fig3_mc_scaling", "pdf"),
        fig4_png=figure("fig4_test_error", "png"),
        fig4_pdf=figure("fig4_test_error", "pdf"),
        fig5_png=figure("fig5_solve_time", "png"),
        fig5_pdf=figure("fig5_solve_time", "pdf"),
        fig6_png=figure("fig6_overlap_hist", "png"),
        fig6_pdf=figure("fig6_overlap_hist", "pdf"),
        fig7_png=figure("fig7_t_eff", "png"),
        fig7_pdf=figure("fig7_t_eff", "pdf"),
        fig9_png=figure("fig9_width", "png"),
        fig9_pdf=figure("fig9_width", "pdf"),
    log:
        "results/logs/plot.log",
    benchmark:
        "results/benchmarks/plot.tsv"
    conda:
        "../../envs/mbphase.yaml"
    params:
        analysis=lambda w, input: directories(input.tables),
        outdir=lambda w, output: os.path.dirname(output.fig1_png),
    shell:
        "MPLBACKEND=Agg mbphase plot --analysis {params.analysis:q} "
        "--out-dir {params.outdir:q} > {log:q} 2>&1"

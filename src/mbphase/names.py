"""Every name the workflow, the pipeline, the analysis and the plots share:
the experiment-name pattern, the wildcards of the file paths, the path
templates, the analysis tables and the figures with their report categories.

Declared here once and imported by the Snakefile, the rules
(workflow/rules/common.smk), ``mbphase aggregate``, the analysis and the
plots. Kept free of imports beyond the standard library: the workflow reads
it while it parses, and importing the analysis (pandas, SciPy) would add
seconds to every parse.
"""

from __future__ import annotations

import re
from typing import NamedTuple

# Experiment names become directory names: letters, digits, '_' and '-'.
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

# Snakemake's global wildcard constraints: they keep the DAG unambiguous.
WILDCARD_CONSTRAINTS = {
    "experiment": EXPERIMENT_NAME.pattern,
    "size": r"\d+",
    "m": r"\d+(,\d+)*",  # a job of several m values: '16,23,32' (points_per_job)
    "temperature": r"\d[0-9.e+-]*(,\d[0-9.e+-]*)*",  # a scan: '1,1.5,2'
    "init": r"random|teacher",
    "first": r"\d+",
    "stop": r"\d+",
}

# One training job: a point (size, m, temperature, initial state) of an
# experiment, or with points_per_job > 1 several m values of one (size,
# temperature, initial state) (m = '16,23,32') or several temperatures of
# one (size, m, initial state) (temperature = '1,1.5,2'), and a block of
# seeds first..stop-1. Its run file, trajectory file, log and benchmark
# share this stem.
JOB = "{experiment}/size{size}/m{m}_T{temperature}_{init}/seeds{first}-{stop}"
RUN_FILE = f"results/runs/{JOB}.parquet"
TRAJECTORY_FILE = f"results/runs/{JOB}.trajectory.parquet"
COMPILE_FLAG = "results/numba_compiled.json"
# The tables are Hive-partitioned by experiment: one tree per kind of table,
# one directory experiment=<name> per experiment, so that one line reads the
# runs of every experiment and nothing else (pandas.read_parquet,
# pyarrow.dataset with partitioning="hive", DuckDB; mbphase.load_runs).
# The experiment is stored in the path only: a file that also held an
# experiment column would clash with the partition key (pandas and pyarrow
# refuse to merge the two; mbphase.pipeline.partition).
TABLES_DIR = "results/tables"
ANALYSIS_DIR = "results/analysis"
RUNS_TABLE = f"{TABLES_DIR}/runs/experiment={{experiment}}/runs.parquet"
TRAJECTORIES_TABLE = f"{TABLES_DIR}/trajectories/experiment={{experiment}}/trajectories.parquet"
ANALYSIS_TABLE = f"{ANALYSIS_DIR}/{{table}}/experiment={{experiment}}/{{table}}.parquet"
FIGURE = "results/figures/{figure}.{fmt}"

# Analysis table name -> what it holds; also the file stem of its Parquet
# file (mbphase.analysis.analyse builds them in this order).
TABLES = {
    "psucc": "P_succ per (experiment, size, m) with Wilson 95% intervals",
    "critical": "m_c and the logistic width per (experiment, size), bootstrap errors over seeds, fit quality",
    "power_law": "fit m_c = A size^b per experiment, errors scaled by sqrt(chi2/dof) when above 1",
    "local_exponent": "local exponents of m_c between consecutive sizes",
    "sharpening": "fit width = C size^(-1/nu) per experiment: does the transition sharpen?",
    "collapse": "collapse of P_succ against m / size^b and its quality S",
    "overlap": "mean final overlap q of all runs per (experiment, size, m)",
    "stationary": "stationary overlap q_late and energy of the unsolved runs per (experiment, size, m)",
    "order_gap": "gap 1 - <q_late> of the unsolved runs below m_c and at m_c, per size",
    "order": "order of the transition per experiment, from the gap",
    "stationary_hist": "histograms of q_late of the unsolved runs per (experiment, size, m)",
    "solve_time": "Kaplan-Meier median time to solution, unsolved runs censored",
    "test_error": "mean test error over seeds per (experiment, size, m)",
    "t_eff": "effective temperature T_eff(m) of greedy finite-data runs",
    "metropolis_energy": "Metropolis baseline energy E(T) from both starts, equilibrium flags",
    "psucc_budget": "P_succ per (experiment, size, m) at every budget t of a log grid, from t_solve <= t",
    "mc_budget": "m_c(size, t) at every budget t of a log grid, bootstrap errors, and whether it converged (change over the last factor 2 in t within its error)",
    "b_budget": "b(t): the power law m_c = A size^b fitted at every budget t, errors scaled by sqrt(chi2/dof) when above 1",
    "local_exponent_budget": "local exponents of m_c between consecutive sizes at every budget t",
    "hitting_time": "Kaplan-Meier median and quarter time to solution per point, with m / m_c",
    "hitting_fit": "ln tau at fixed m / m_c against size: barrier (linear in size) vs power law (linear in ln size)",
}


class FigureName(NamedTuple):
    category: str  # the section of the Snakemake report that shows it
    description: str


# Figure name -> report category and what it shows. The name is the file
# stem (FIGURE) and the caption's file, workflow/report/<name>.rst; the
# drawing is in mbphase.plots.figures.plot_all.
FIGURES = {
    "fig1_psucc": FigureName("1. Success probability", "P_succ against m, one curve per size, one panel per experiment"),
    "fig2_collapse": FigureName("2. Finite-size-scaling collapse", "P_succ against m / size^b of the fitted collapse (experiments with a transition)"),
    "fig3_mc_scaling": FigureName("3. Critical mini-batch size", "m_c against size, log-log, with the fitted power law, and the local exponents"),
    "fig4_test_error": FigureName("4. Test error", "test error against m"),
    "fig5_solve_time": FigureName("5. Time to solution", "Kaplan-Meier median time to solution against m, with the number of runs that solved"),
    "fig6_overlap_hist": FigureName("6. Order of the transition", "stationary overlap of the unsolved runs against m / m_c, and its histograms near m_c"),
    "fig7_t_eff": FigureName("7. Effective temperature", "effective temperature T_eff against m, and the Metropolis baseline from both starts"),
    "fig9_width": FigureName("9. Width of the transition", "width of the transition in log m against size (does it sharpen?)"),
    "fig8_mc_budget": FigureName("8. Budget", "m_c against the budget t per size, with convergence, and the exponent b(t)"),
    "fig10_hitting_time": FigureName("10. Hitting-time landscape", "time to solution against m / m_c per size, and at fixed m / m_c against size (barrier or power law?)"),
}
FIGURE_FORMATS = ("png", "pdf")

# The report's tables: name -> (analysis table, its columns shown, what it
# holds). Written as CSV (REPORT_TABLE) by `mbphase report-tables`; the
# Snakemake report shows each as a table, caption in workflow/report/<name>.rst.
REPORT_TABLE = "results/report/{table}.csv"
REPORT_TABLES = {
    "table_m_c": ("critical", ("experiment", "size_key", "size", "temperature", "init", "m_c", "m_c_err", "method", "n_seeds", "reason"),
                  "m_c per experiment and size"),
    "table_b": ("power_law", ("experiment", "size_key", "b", "b_err", "A", "n_points", "chi2_per_dof", "reason"),
                "the exponent b of m_c = A size^b per experiment"),
    "table_width": ("critical", ("experiment", "size_key", "size", "temperature", "init", "width", "width_err", "width_reason"),
                    "the width of the transition per experiment and size"),
    "table_sharpening": ("sharpening", ("experiment", "size_key", "inv_nu", "inv_nu_err", "sharpens", "reason"),
                         "1/nu of width = C size^(-1/nu) per experiment"),
    "table_collapse": ("collapse", ("experiment", "size_key", "b", "b_err", "S", "n_sizes", "reason"),
                       "the finite-size-scaling collapse per experiment: b and its quality S"),
}

# Adaptive m grids (experiments with an `adaptive` block): per size, the
# start plan (bracket and first m values) and the decision after each round
# (m_c so far and the m values of the next round), small JSON files written
# by the checkpoints of workflow/rules/adaptive.smk.
ADAPTIVE_START = "results/adaptive/{experiment}/size{size}/start.json"
ADAPTIVE_ROUND = "results/adaptive/{experiment}/size{size}/round{round}.json"

# The code version of an experiment's training jobs: one small file per
# experiment holding the hash of the simulation sources its runs depend on,
# written by the workflow's code_version rule, an input of its training jobs.
CODE_VERSION_FILE = "results/code_version/{experiment}.txt"

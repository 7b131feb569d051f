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
    "m": r"\d+",
    "temperature": r"\d[0-9.e+-]*",
    "first": r"\d+",
    "stop": r"\d+",
}

# One training job: a point (size, m, temperature) of an experiment and a
# block of seeds first..stop-1. Its run file, trajectory file, log and
# benchmark share this stem.
JOB = "{experiment}/size{size}/m{m}_T{temperature}/seeds{first}-{stop}"
RUN_FILE = f"results/runs/{JOB}.parquet"
TRAJECTORY_FILE = f"results/runs/{JOB}.trajectory.parquet"
COMPILE_FLAG = "results/numba_compiled.json"
RUNS_TABLE = "results/tables/{experiment}/runs.parquet"
TRAJECTORIES_TABLE = "results/tables/{experiment}/trajectories.parquet"
ANALYSIS_TABLE = "results/analysis/{experiment}/{table}.parquet"
FIGURE = "results/figures/{figure}.{fmt}"

# Analysis table name -> what it holds; also the file stem of its Parquet
# file (mbphase.analysis.analyse builds them in this order).
TABLES = {
    "psucc": "P_succ per (experiment, size, m) with Wilson 95% intervals",
    "critical": "m_c per (experiment, size) with bootstrap errors over seeds",
    "power_law": "fit m_c = A size^b per experiment",
    "collapse": "finite-size-scaling collapse parameters and quality S",
    "overlap": "mean final overlap q per (experiment, size, m)",
    "overlap_jump": "largest jump of the mean overlap between consecutive m",
    "bimodality": "bimodality coefficient of q at the m nearest m_c",
    "overlap_hist": "histograms of q per (experiment, size, m)",
    "solve_time": "median time to solution of solved runs, bootstrap interval",
    "test_error": "mean test error over seeds per (experiment, size, m)",
    "t_eff": "effective temperature T_eff(m) of greedy finite-data runs",
    "metropolis_energy": "Metropolis baseline energy E(T) used for T_eff",
}


class FigureName(NamedTuple):
    category: str  # the section of the Snakemake report that shows it
    description: str


# Figure name -> report category and what it shows. The name is the file
# stem (FIGURE) and the caption's file, workflow/report/<name>.rst; the
# drawing is in mbphase.plots.figures.plot_all.
FIGURES = {
    "fig1_psucc": FigureName("1. Success probability", "P_succ against m, one curve per size, one panel per experiment"),
    "fig2_collapse": FigureName("2. Finite-size-scaling collapse", "P_succ against the scaled variable of the fitted collapse"),
    "fig3_mc_scaling": FigureName("3. Critical mini-batch size", "m_c against size, log-log, with the fitted power law"),
    "fig4_test_error": FigureName("4. Test error", "test error against m"),
    "fig5_solve_time": FigureName("5. Time to solution", "median time to solution against m"),
    "fig6_overlap_hist": FigureName("6. Overlap histograms", "histograms of the final overlap across the transition"),
    "fig7_t_eff": FigureName("7. Effective temperature", "effective temperature T_eff against m"),
}
FIGURE_FORMATS = ("png", "pdf")

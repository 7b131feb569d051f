"""Analysis of the run table: success probability, critical mini-batch size,
its width and their scaling, finite-size-scaling collapse, order of the
transition from the stationary state, times to solution (Kaplan-Meier) and
the effective temperature.

One concept per module; :func:`analyse` builds every table at once.
"""

from mbphase.analysis.collapse import CollapseResult, add_scaled_x, collapse_table, fit_collapse, quality, scaled_x
from mbphase.analysis.critical import (
    critical_m,
    estimate_log_mc,
    estimate_transition,
    fit_line,
    fit_logistic,
    interpolate_half,
    largest_drop,
    local_exponents,
    logistic_deviance,
    power_law,
    sharpening,
)
from mbphase.analysis.order import order_gaps, order_verdict, overlap_curve, stationary_histograms, stationary_table
from mbphase.analysis.success import psucc_table, wilson_interval
from mbphase.analysis.tables import TABLES, analyse, read_tables, write_tables
from mbphase.analysis.temperature import effective_temperature, invert_monotone, isotonic_increasing
from mbphase.analysis.timing import kaplan_meier_median, solve_time_table, test_error_table

__all__ = [
    "CollapseResult",
    "TABLES",
    "add_scaled_x",
    "analyse",
    "collapse_table",
    "critical_m",
    "effective_temperature",
    "estimate_log_mc",
    "estimate_transition",
    "fit_collapse",
    "fit_line",
    "fit_logistic",
    "interpolate_half",
    "invert_monotone",
    "isotonic_increasing",
    "kaplan_meier_median",
    "largest_drop",
    "local_exponents",
    "logistic_deviance",
    "order_gaps",
    "order_verdict",
    "overlap_curve",
    "power_law",
    "psucc_table",
    "quality",
    "read_tables",
    "scaled_x",
    "sharpening",
    "solve_time_table",
    "stationary_histograms",
    "stationary_table",
    "test_error_table",
    "wilson_interval",
]

"""Analysis of the run table: success probability, critical mini-batch size
and its scaling, finite-size-scaling collapse, order of the transition,
critical slowing down and the effective temperature.

One concept per module; :func:`analyse` builds every table at once.
"""

from mbphase.analysis.collapse import CollapseResult, add_scaled_x, collapse_table, fit_collapse, quality, scaled_x
from mbphase.analysis.critical import critical_m, estimate_log_mc, fit_logistic, interpolate_half, power_law
from mbphase.analysis.order import (
    bimodality_coefficient,
    bimodality_table,
    overlap_curve,
    overlap_histograms,
    overlap_jump,
)
from mbphase.analysis.success import psucc_table, wilson_interval
from mbphase.analysis.tables import TABLES, analyse, read_tables, write_tables
from mbphase.analysis.temperature import effective_temperature, invert_monotone, isotonic_increasing
from mbphase.analysis.timing import solve_time_table, test_error_table

__all__ = [
    "CollapseResult",
    "TABLES",
    "add_scaled_x",
    "analyse",
    "bimodality_coefficient",
    "bimodality_table",
    "collapse_table",
    "critical_m",
    "effective_temperature",
    "estimate_log_mc",
    "fit_collapse",
    "fit_logistic",
    "interpolate_half",
    "invert_monotone",
    "isotonic_increasing",
    "overlap_curve",
    "overlap_histograms",
    "overlap_jump",
    "power_law",
    "psucc_table",
    "quality",
    "read_tables",
    "scaled_x",
    "solve_time_table",
    "test_error_table",
    "wilson_interval",
]

"""Analysis of the run table: success probability, critical mini-batch size,
its width and their scaling, finite-size-scaling collapse, order of the
transition from the stationary state, times to solution (Kaplan-Meier) and
the effective temperature.

One concept per module; :func:`analyse` builds every table at once.
"""

# Each name is imported from its module on first use (PEP 562): a job that
# needs one estimator (the adaptive grid's checkpoints: critical_m) does not
# import every module of the analysis and the parts of SciPy they use.
_MODULES = {
    "CollapseResult": "collapse",
    "TABLES": "tables",
    "add_scaled_x": "collapse",
    "analyse": "tables",
    "collapse_table": "collapse",
    "critical_m": "critical",
    "effective_temperature": "temperature",
    "estimate_log_mc": "critical",
    "estimate_transition": "critical",
    "fit_collapse": "collapse",
    "fit_line": "critical",
    "fit_logistic": "critical",
    "interpolate_half": "critical",
    "invert_monotone": "temperature",
    "isotonic_increasing": "temperature",
    "kaplan_meier_median": "timing",
    "largest_drop": "critical",
    "local_exponents": "critical",
    "logistic_deviance": "critical",
    "order_gaps": "order",
    "order_verdict": "order",
    "overlap_curve": "order",
    "power_law": "critical",
    "psucc_table": "success",
    "quality": "collapse",
    "read_tables": "tables",
    "scaled_x": "collapse",
    "sharpening": "critical",
    "solve_time_table": "timing",
    "stationary_histograms": "order",
    "stationary_table": "order",
    "test_error_table": "timing",
    "wilson_interval": "success",
    "write_tables": "tables",
}

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


def __getattr__(name: str):
    if name in _MODULES:
        import importlib

        return getattr(importlib.import_module(f"mbphase.analysis.{_MODULES[name]}"), name)
    raise AttributeError(f"module 'mbphase.analysis' has no attribute {name!r}")

"""Time to solution and test error against m.

Critical slowing down shows as a median time to solution (Kaplan-Meier,
unsolved runs censored) that grows as m comes down towards m_c; the test error is the primary observable of the
continuous students, whose P_succ can be 0 at every m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.grouping import (
    key_dict,
    ok_mask,
    point_keys,
    require_columns,
    scanned_parameters,
)

SOLVE_TIME_STATS = ("n_runs", "n_solved", "frac_solved", "t_median", "t_ci_low", "t_ci_high", "t_max", "time_unit",
                    "reason")
TEST_ERROR_STATS = ("n_runs", "gen_error_mean", "gen_error_sem")


def _time_unit(weights) -> str:
    """Discrete students count sweeps, continuous ones SGD steps."""
    return {"discrete": "sweeps", "continuous": "steps"}.get(str(weights), "sweeps or steps")


def kaplan_meier_median(t_event, t_censored, level: float = 0.95, solved: float = 0.5) -> tuple[float, float, float, str]:
    """Kaplan-Meier median time to solution with a confidence interval.

    Parameters
    ----------
    t_event : 1-D array
        Times at which runs solved.
    t_censored : 1-D array
        Times at which unsolved runs stopped (right-censored there).
    level : float
        Confidence level of the pointwise band of the survival function
        (log-log method) from which the interval is read.
    solved : float
        The fraction of runs solved that the time is read at: 0.5 for the
        median (the default); 0.25 gives the time by which a quarter of
        the runs solved (defined further below m_c than the median).

    Returns
    -------
    median, low, high, reason
        The median is the first time at which the estimated fraction of
        runs still unsolved, S(t), falls to 1/2 or below
        (``scipy.stats.ecdf`` on ``scipy.stats.CensoredData`` does the
        estimate). low and high are the first times at which the lower and
        the upper band of S fall to 1/2 or below. The median is NaN when
        S stays above 1/2 over the observed times (fewer than half the runs
        solve); high is NaN when the upper band does (the interval reaches
        beyond the longest run). reason says why a value is NaN.
    """
    import warnings

    from scipy import stats

    t_event = np.asarray(t_event, dtype=float)
    t_censored = np.asarray(t_censored, dtype=float)
    if len(t_event) + len(t_censored) == 0:
        return np.nan, np.nan, np.nan, "no runs"
    if len(t_event) == 0:
        return np.nan, np.nan, np.nan, "no run solved"
    result = stats.ecdf(stats.CensoredData(uncensored=t_event, right=t_censored))
    times = result.sf.quantiles
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        # The band's variance is 0/0 where every run has solved; scipy warns.
        warnings.simplefilter("ignore", RuntimeWarning)
        band = result.sf.confidence_interval(level, method="log-log")
        low_sf, high_sf = band.low.probabilities, band.high.probabilities

    def first_at_half(sf) -> float:
        below = np.nonzero(np.asarray(sf) <= 1.0 - solved)[0]
        return float(times[below[0]]) if len(below) else np.nan

    median = first_at_half(result.sf.probabilities)
    low = first_at_half(np.nan_to_num(low_sf, nan=0.0))
    high = first_at_half(np.nan_to_num(high_sf, nan=1.0))
    reason = ""
    if not np.isfinite(median):
        reason = "fewer than half the runs solved" if solved == 0.5 else f"fewer than {solved:g} of the runs solved"
    elif not np.isfinite(high):
        reason = "the upper confidence limit lies beyond the longest run"
    return median, low, high, reason


def solve_time_table(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Kaplan-Meier median time to solution per point.

    Times to solution are censored data: a run that did not solve is known
    only to need more than the time it ran (``t_run``). The median of the
    solved runs alone is biased low near m_c, where only the fast runs
    solve; the Kaplan-Meier estimate counts the unsolved runs as censored.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, t_solve, t_run.
        Only ok runs count. A run with a finite t_solve solved then; any
        other is censored at its t_run.
    level : float
        Confidence level of the interval.

    Returns
    -------
    DataFrame, one row per point
        experiment, size_key, size, [scanned parameters], m, n_runs (ok),
        n_solved, frac_solved, t_median (Kaplan-Meier, sweeps or SGD
        steps; NaN where fewer than half the runs solved), t_ci_low,
        t_ci_high (see :func:`kaplan_meier_median`), t_max (the longest
        run: the censoring time), time_unit ('sweeps' for discrete
        students, 'steps' for continuous ones, from the ``weights`` column
        when present), reason (why a value is NaN).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "t_solve", "t_run"], "solve_time_table")
    keys = point_keys(runs, scanned_parameters(runs))
    ok = ok_mask(runs)
    frame = runs.loc[ok, keys].copy()
    frame["_t"] = runs.loc[ok, "t_solve"].to_numpy(dtype=float)
    frame["_run"] = runs.loc[ok, "t_run"].to_numpy(dtype=float)
    frame["_weights"] = runs.loc[ok, "weights"].to_numpy() if "weights" in runs.columns else None
    rows = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        t = group["_t"].to_numpy(dtype=float)
        solved = np.isfinite(t)
        median, low, high, reason = kaplan_meier_median(t[solved], group["_run"].to_numpy(dtype=float)[~solved], level)
        rows.append({**key_dict(keys, values), "n_runs": len(group), "n_solved": int(solved.sum()),
                     "frac_solved": solved.mean() if len(group) else np.nan, "t_median": median, "t_ci_low": low,
                     "t_ci_high": high, "t_max": float(np.nanmax(group["_run"])) if len(group) else np.nan,
                     "time_unit": _time_unit(group["_weights"].iloc[0]), "reason": reason})
    table = pd.DataFrame(rows, columns=[*keys, *SOLVE_TIME_STATS])
    return table.astype({"time_unit": str, "experiment": str, "size_key": str, "reason": str})


def test_error_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean generalization error over seeds, per point.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, gen_error and,
        for single-run points, gen_error_se. Only ok runs with a finite
        gen_error count.

    Returns
    -------
    DataFrame, one row per point
        experiment, size_key, size, [scanned parameters], m, n_runs,
        gen_error_mean (fraction of test patterns misclassified),
        gen_error_sem (standard deviation over runs / sqrt(n_runs), which
        contains both the seed-to-seed and the finite-test-set noise; for a
        single run, its own binomial gen_error_se).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "gen_error"], "test_error_table")
    keys = point_keys(runs, scanned_parameters(runs))
    frame = runs.loc[ok_mask(runs), keys].copy()
    frame["_e"] = runs.loc[ok_mask(runs), "gen_error"].to_numpy(dtype=float)
    if "gen_error_se" in runs.columns:
        frame["_se"] = runs.loc[ok_mask(runs), "gen_error_se"].to_numpy(dtype=float)
    else:
        frame["_se"] = np.nan
    frame = frame[np.isfinite(frame["_e"])]
    table = frame.groupby(keys, dropna=False, sort=True).agg(
        n_runs=("_e", "size"), gen_error_mean=("_e", "mean"), _std=("_e", "std"), _se=("_se", "first")).reset_index()
    table["gen_error_sem"] = np.where(table["n_runs"] > 1, table["_std"] / np.sqrt(table["n_runs"]), table["_se"])
    return table[[*keys, *TEST_ERROR_STATS]]


# The name starts with "test_" because it tabulates the test error; tell
# pytest that it is not a test when a test module imports it.
test_error_table.__test__ = False

"""Time to solution and test error against m.

Critical slowing down shows as a median time to solution that grows as m
comes down towards m_c; the test error is the primary observable of the
continuous students, whose P_succ can be 0 at every m.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.grouping import (
    group_rng,
    key_dict,
    ok_mask,
    point_keys,
    require_columns,
    scanned_parameters,
    success_array,
)

SOLVE_TIME_STATS = ("n_runs", "n_solved", "frac_solved", "t_median", "t_ci_low", "t_ci_high", "time_unit")
TEST_ERROR_STATS = ("n_runs", "gen_error_mean", "gen_error_sem")


def _time_unit(weights) -> str:
    """Discrete students count sweeps, continuous ones SGD steps."""
    return {"discrete": "sweeps", "continuous": "steps"}.get(str(weights), "sweeps or steps")


def solve_time_table(runs: pd.DataFrame, n_boot: int = 200, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Median time to solution of the solved runs, per point.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, success, t_solve.
        Only ok runs count.
    n_boot : int
        Bootstrap replicates of the median (0 = no interval).
    seed : int
        Bootstrap seed; the table is a deterministic function of the inputs.
    level : float
        Coverage of the percentile interval.

    Returns
    -------
    DataFrame, one row per point
        experiment, size_key, size, [scanned parameters], m, n_runs (ok),
        n_solved, frac_solved, t_median (sweeps or SGD steps, over solved
        runs only: a median conditional on success, to be read together with
        frac_solved), t_ci_low, t_ci_high (bootstrap percentile interval,
        resampling the solved runs; NaN with fewer than two), time_unit
        ('sweeps' for discrete students, 'steps' for continuous ones, from
        the ``weights`` column when present).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "success", "t_solve"], "solve_time_table")
    keys = point_keys(runs, scanned_parameters(runs))
    ok = ok_mask(runs)
    frame = runs.loc[ok, keys].copy()
    solved = success_array(runs)[ok] & np.isfinite(runs.loc[ok, "t_solve"].to_numpy(dtype=float))
    frame["_t"] = np.where(solved, runs.loc[ok, "t_solve"].to_numpy(dtype=float), np.nan)
    frame["_weights"] = runs.loc[ok, "weights"].to_numpy() if "weights" in runs.columns else None
    alpha = (1 - level) / 2
    rows = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        t = group["_t"].to_numpy(dtype=float)
        t = t[np.isfinite(t)]
        row = {**key_dict(keys, values), "n_runs": len(group), "n_solved": len(t),
               "frac_solved": len(t) / len(group) if len(group) else np.nan,
               "t_median": float(np.median(t)) if len(t) else np.nan, "t_ci_low": np.nan, "t_ci_high": np.nan,
               "time_unit": _time_unit(group["_weights"].iloc[0])}
        if n_boot > 0 and len(t) >= 2:
            rng = group_rng(seed, key_dict(keys, values))
            medians = np.median(t[rng.integers(0, len(t), size=(n_boot, len(t)))], axis=1)
            row["t_ci_low"], row["t_ci_high"] = (float(v) for v in np.quantile(medians, [alpha, 1 - alpha]))
        rows.append(row)
    table = pd.DataFrame(rows, columns=[*keys, *SOLVE_TIME_STATS])
    return table.astype({"time_unit": str, "experiment": str, "size_key": str})


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

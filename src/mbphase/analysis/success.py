"""Success probability P_succ(m; size) with Wilson score intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.grouping import ok_mask, point_keys, require_columns, scanned_parameters, success_array

# Two-sided 95% normal quantile, scipy.stats.norm.ppf(0.975).
Z95 = 1.959963984540054

PSUCC_STATS = ("n_runs", "n_success", "n_failed", "p_succ", "ci_low", "ci_high")


def wilson_interval(k, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    k : array_like of int
        Successes.
    n : array_like of int, same shape as ``k``
        Trials. Where ``n == 0`` both bounds are NaN.
    z : float
        Normal quantile of the interval (1.96 for 95%).

    Returns
    -------
    low, high : ndarray of float, the shape of ``k``
        Bounds in [0, 1]. Unlike the Wald interval they stay informative at
        k = 0 and k = n, which is where sharp transitions put most points.
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        z2n = z * z / n
        centre = (p + z2n / 2) / (1 + z2n)
        half = z * np.sqrt(p * (1 - p) / n + z2n / (4 * n)) / (1 + z2n)
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); set it so
    # rather than leave it to rounding.
    low = np.where(n > 0, np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(n > 0, np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def psucc_table(runs: pd.DataFrame, z: float = Z95) -> pd.DataFrame:
    """P_succ per measurement point.

    Parameters
    ----------
    runs : DataFrame
        The run table (:mod:`mbphase.sim.schema`); needs experiment, size_key,
        size, m, seed, success and status.
    z : float
        Normal quantile of the Wilson interval (default 95%).

    Returns
    -------
    DataFrame, one row per point, sorted by its keys
        experiment, size_key, size, [scanned parameters], m, n_runs (ok runs),
        n_success, n_failed (runs whose status is not 'ok': excluded from the
        statistics but counted so that a diverging point is visible), p_succ,
        ci_low, ci_high (Wilson).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "success"], "psucc_table")
    keys = point_keys(runs, scanned_parameters(runs))
    ok = ok_mask(runs)
    frame = runs[keys].copy()
    frame["_ok"] = ok.astype(np.int64)
    frame["_success"] = (success_array(runs) & ok).astype(np.int64)
    grouped = frame.groupby(keys, dropna=False, sort=True)
    table = grouped.agg(n_runs=("_ok", "sum"), n_success=("_success", "sum"), n_rows=("_ok", "size")).reset_index()
    table["n_failed"] = table.pop("n_rows") - table["n_runs"]
    with np.errstate(invalid="ignore", divide="ignore"):
        table["p_succ"] = np.where(table["n_runs"] > 0, table["n_success"] / table["n_runs"].where(table["n_runs"] > 0), np.nan)
    table["ci_low"], table["ci_high"] = wilson_interval(table["n_success"], table["n_runs"], z)
    return table[[*keys, *PSUCC_STATS]]


def psucc_sigma(table: pd.DataFrame, z: float = Z95) -> np.ndarray:
    """A standard error for each P_succ: the half-width of its Wilson interval
    divided by ``z``. Unlike sqrt(p(1-p)/n) it is not zero at p = 0 or 1, so it
    can weight a fit or a collapse."""
    return ((table["ci_high"] - table["ci_low"]) / (2 * z)).to_numpy(dtype=float)

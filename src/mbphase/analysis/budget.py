"""m_c and its scaling exponent as functions of the budget t.

Greedy dynamics at finite size reaches the teacher at almost any m given
time, so m_c is defined at a budget t. Runs that stop at success record
``t_solve``, so the success of a run by time t is ``t_solve <= t`` for every
t up to the budget it ran, from the same runs: P_succ(m; size, t),
m_c(size, t) and b(t) follow on a log grid of t without new runs. Each
quantity at a given t is computed by the estimators of the full-budget
analysis (:func:`mbphase.analysis.success.psucc_table`,
:func:`mbphase.analysis.critical.critical_m` with its bootstrap over seeds,
:func:`~mbphase.analysis.critical.power_law` with errors scaled by
sqrt(chi2/dof), :func:`~mbphase.analysis.critical.local_exponents`), applied
to the runs with ``success`` replaced by ``t_solve <= t``.

Convergence: m_c(size, t) has converged at t when it changed by less than
its own bootstrap error over the last factor 2 in t,
``|m_c(t) - m_c(t/2)| <= m_c_err(t)`` (the rule of docs/model.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.critical import critical_m, local_exponents, power_law
from mbphase.analysis.grouping import empty_table, ok_mask, require_columns
from mbphase.analysis.success import psucc_table

# The log grid of budgets: t = T_MIN * GRID_FACTOR^k, and every size's own
# budget and half of it (for the convergence test at the budget).
T_MIN = 16
GRID_FACTOR = 2 ** 0.5

CONVERGENCE_STATS = ("t_half", "m_c_half", "m_c_change", "converged", "convergence_reason")


def size_budget(runs: pd.DataFrame) -> pd.Series:
    """The budget (sweeps or steps) of each (experiment, size): the longest
    run of the group, ``t_run``, which for greedy runs that did not stop at
    success is ``max_sweeps``."""
    if "max_sweeps" in runs.columns and "weights" in runs.columns and (runs["weights"].astype(str) == "discrete").all():
        column = runs["max_sweeps"]
    else:
        column = runs["t_run"]
    return pd.to_numeric(column, errors="coerce").groupby([runs["experiment"], runs["size"]]).max()


def budget_grid(budget: float, t_min: float = T_MIN, factor: float = GRID_FACTOR) -> np.ndarray:
    """Integer budgets t_min * factor^k up to ``budget``, with ``budget`` and
    ``budget / 2`` added (sorted, unique)."""
    if not np.isfinite(budget) or budget < 1:
        return np.array([], dtype=np.int64)
    k = np.arange(int(np.floor(np.log(max(budget, t_min) / t_min) / np.log(factor))) + 1)
    grid = np.round(t_min * factor ** k)
    grid = np.concatenate([grid[grid <= budget], [budget, max(1.0, np.round(budget / 2))]])
    return np.unique(grid.astype(np.int64))


def runs_at(runs: pd.DataFrame, t: float) -> pd.DataFrame:
    """``runs`` with ``success`` = solved by time ``t`` (``t_solve <= t``)."""
    out = runs.copy()
    out["success"] = np.isfinite(pd.to_numeric(runs["t_solve"], errors="coerce").to_numpy(dtype=float)) & \
        (pd.to_numeric(runs["t_solve"], errors="coerce").to_numpy(dtype=float) <= t)
    return out


def _by_budget(runs: pd.DataFrame, fn, t_min: float = T_MIN) -> pd.DataFrame:
    """``fn(runs solved by t)`` for every t of every size's grid, only for the
    sizes whose budget reaches t, with a column t; concatenated."""
    budget = size_budget(runs)
    grids = {key: budget_grid(value, t_min) for key, value in budget.items()}
    times = np.unique(np.concatenate([g for g in grids.values()] or [np.array([], dtype=np.int64)]))
    keys = pd.MultiIndex.from_frame(runs[["experiment", "size"]])
    parts = []
    for t in times:
        sizes = [key for key, value in budget.items() if value >= t and t in grids[key]]
        subset = runs[keys.isin(sizes)]
        if subset.empty:
            continue
        table = fn(runs_at(subset, float(t)))
        table.insert(0, "t", int(t))
        parts.append(table)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def psucc_budget(runs: pd.DataFrame, t_min: float = T_MIN) -> pd.DataFrame:
    """P_succ(m; size, t) with Wilson intervals, on each size's log grid of
    budgets t (column t, sweeps or steps)."""
    require_columns(runs, ["experiment", "size_key", "size", "m", "t_solve", "t_run"], "psucc_budget")
    table = _by_budget(runs.loc[ok_mask(runs)], psucc_table, t_min)
    if table.empty:
        return empty_table(["t", *psucc_table(runs.iloc[:0]).columns])
    return table


def mc_budget(runs: pd.DataFrame, n_boot: int = 200, seed: int = 0, t_min: float = T_MIN) -> pd.DataFrame:
    """m_c(size, t) on each size's log grid of budgets, with the bootstrap
    errors of :func:`~mbphase.analysis.critical.critical_m`, and whether it
    has converged at t.

    Returns
    -------
    DataFrame, one row per (experiment, size, t)
        t, the columns of critical_m (m_c NaN with a reason where P_succ
        does not cross 1/2 on the m grid at that t), budget_size (the
        size's own budget), and CONVERGENCE_STATS: t_half (the grid budget
        nearest t/2), m_c_half (m_c there), m_c_change = m_c(t) -
        m_c(t_half), converged ('yes' if |m_c_change| <= m_c_err(t), 'no'
        if not, '' when it cannot be said) and convergence_reason.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "seed", "t_solve", "t_run"], "mc_budget")
    runs = runs.loc[ok_mask(runs)]
    table = _by_budget(runs, lambda r: critical_m(r, n_boot=n_boot, seed=seed), t_min)
    if table.empty:
        columns = ["t", *critical_m(runs.iloc[:0], n_boot=0).columns, "budget_size", *CONVERGENCE_STATS]
        return empty_table(columns, strings=("experiment", "size_key", "method", "reason", "width_reason", "converged",
                                             "convergence_reason"))
    budget = size_budget(runs)
    table["budget_size"] = [float(budget.get((e, s), np.nan)) for e, s in zip(table["experiment"], table["size"])]
    out = {"t_half": np.full(len(table), np.nan), "m_c_half": np.full(len(table), np.nan),
           "m_c_change": np.full(len(table), np.nan), "converged": np.full(len(table), "", dtype=object),
           "convergence_reason": np.full(len(table), "", dtype=object)}
    table = table.reset_index(drop=True)
    for _, group in table.groupby(["experiment", "size_key", "size"], sort=False):
        t = group["t"].to_numpy(dtype=float)
        m_c = group["m_c"].to_numpy(dtype=float)
        err = group["m_c_err"].to_numpy(dtype=float)
        for i, row in enumerate(group.index):
            j = int(np.argmin(np.abs(np.log(t) - np.log(t[i] / 2))))
            if j == i or abs(np.log(t[j]) - np.log(t[i] / 2)) > np.log(GRID_FACTOR) / 2:
                out["convergence_reason"][row] = "no budget near t/2 on the grid"
                continue
            out["t_half"][row], out["m_c_half"][row] = t[j], m_c[j]
            out["m_c_change"][row] = m_c[i] - m_c[j]
            if not (np.isfinite(m_c[i]) and np.isfinite(m_c[j])):
                out["convergence_reason"][row] = "no m_c at t or at t/2 (no transition on the m grid)"
            elif not np.isfinite(err[i]):
                out["convergence_reason"][row] = "m_c at t has no error"
            else:
                out["converged"][row] = "yes" if abs(m_c[i] - m_c[j]) <= err[i] else "no"
    for column in CONVERGENCE_STATS:
        table[column] = out[column]
    return table.astype({"converged": str, "convergence_reason": str})


def exponent_budget(mc: pd.DataFrame) -> pd.DataFrame:
    """b(t): the power law m_c = A size^b fitted at every budget t of the
    grid (sizes whose budget reaches t and that have an m_c there; errors
    scaled by sqrt(chi2/dof) when above 1), with the sizes that entered."""
    if mc.empty:
        return empty_table(["t", *power_law(mc).columns, "size_min", "size_max"], strings=("experiment", "size_key", "reason"))
    parts = []
    for t, group in mc.groupby("t", sort=True):
        fit = power_law(group.drop(columns=["t"]))
        good = group[np.isfinite(group["m_c"]) & (group["m_c"] > 0)]
        fit.insert(0, "t", int(t))
        fit["size_min"] = float(good["size"].min()) if len(good) else np.nan
        fit["size_max"] = float(good["size"].max()) if len(good) else np.nan
        parts.append(fit)
    return pd.concat(parts, ignore_index=True)


def local_exponent_budget(mc: pd.DataFrame) -> pd.DataFrame:
    """Local exponents of m_c between consecutive sizes at every budget t."""
    if mc.empty:
        return empty_table(["t", *local_exponents(mc).columns], strings=("experiment", "size_key", "reason"))
    parts = []
    for t, group in mc.groupby("t", sort=True):
        table = local_exponents(group.drop(columns=["t"]))
        table.insert(0, "t", int(t))
        parts.append(table)
    return pd.concat(parts, ignore_index=True)

"""Order of the transition, from the stationary state of the runs that did
not solve.

Solved runs sit at q = 1 by construction, so any sample that mixes them
with unsolved runs looks bimodal near m_c whatever the order of the
transition. The information is in the unsolved runs: their stationary
overlap ``q_late`` (and energy ``energy_late``), averaged over the second
half of the run, against x = m / m_c(size).

- First-order-like: the unsolved runs' overlap stays away from 1 up to m_c
  (a low-overlap state coexists with the solution) and this gap does not
  close with size.
- Second-order-like: the gap 1 - <q_late> closes continuously as m -> m_c.

The gap at m_c is extrapolated per size from the grid points with
0.5 <= x < 1 by a weighted fit gap(x) = g_c + s sqrt(1 - x) (a mean-field
order parameter closes like sqrt(1 - x); a gap that closes faster gives
g_c <= 0, one that does not close gives g_c near the measured gaps). See
:func:`order_verdict` for the rule.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.critical import fit_line
from mbphase.analysis.grouping import (
    empty_table,
    key_dict,
    ok_mask,
    panel_keys,
    point_keys,
    require_columns,
    scanned_parameters,
    series_keys,
    success_array,
)

# Overlaps lie in [-1, 1]; one common set of bins keeps histograms of
# different sizes and m comparable.
DEFAULT_BINS = np.linspace(-1.0, 1.0, 41)

# Unsolved runs a grid point needs for its mean q_late to count.
MIN_UNSOLVED = 3
# The window of x = m / m_c from which the gap at m_c is extrapolated.
X_WINDOW = (0.5, 1.0)
# A gap 1 - <q_late> below this is "closed": the unsolved runs sit next to
# the solution. (An overlap of 0.95 per unit leaves about 1 of 40 weights of
# a unit wrong: the solution's neighbourhood, not a distinct state.)
GAP_OPEN = 0.05
# Significance of the tests of the verdict, in standard errors.
SIGMAS = 2.0

FIRST_ORDER = "first-order-like"
SECOND_ORDER = "second-order-like"
UNDECIDED = "undecided"

STATIONARY_STATS = ("m_c", "x", "n_runs", "n_solved", "n_unsolved", "q_late_mean", "q_late_sem", "q_late_std",
                    "energy_late_mean", "energy_late_sem")
GAP_STATS = ("m_c", "m_below", "x_below", "gap_below", "gap_below_err", "n_window", "gap_at_mc", "gap_at_mc_err",
             "reason")
VERDICT_STATS = ("verdict", "gap_at_mc", "gap_at_mc_err", "gap_slope", "gap_slope_err", "n_sizes", "reason")


def _mc_lookup(mc_table: pd.DataFrame | None, keys: list[str]) -> dict:
    if mc_table is None or mc_table.empty:
        return {}
    keys = [k for k in keys if k in mc_table.columns]
    return {tuple(str(row[k]) for k in keys): float(row["m_c"]) for _, row in mc_table.iterrows()}


def stationary_table(runs: pd.DataFrame, mc_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Stationary overlap and energy of the unsolved runs, per point.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, success, q_late,
        energy_late. Ok runs that did not solve and have a finite q_late
        count (runs that stopped early have none).
    mc_table : DataFrame, optional
        Output of :func:`mbphase.analysis.critical.critical_m`, for x.

    Returns
    -------
    DataFrame, one row per point
        the point keys, m_c, x = m / m_c (NaN without an m_c), n_runs (ok),
        n_solved, n_unsolved (with a finite q_late), q_late_mean,
        q_late_sem, q_late_std, energy_late_mean (training errors per
        pattern), energy_late_sem; the means are NaN with fewer than
        MIN_UNSOLVED unsolved runs.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "success", "q_late", "energy_late"],
                    "stationary_table")
    extra = scanned_parameters(runs)
    keys = point_keys(runs, extra)
    columns = [*keys, *STATIONARY_STATS]
    if runs.empty:
        return empty_table(columns)
    ok = ok_mask(runs)
    frame = runs.loc[ok, keys].copy()
    solved = success_array(runs)[ok]
    q = runs.loc[ok, "q_late"].to_numpy(dtype=float)
    e = runs.loc[ok, "energy_late"].to_numpy(dtype=float)
    unsolved = ~solved & np.isfinite(q)
    frame["_solved"] = solved.astype(np.int64)
    frame["_q"] = np.where(unsolved, q, np.nan)
    frame["_e"] = np.where(unsolved, e, np.nan)
    mc = _mc_lookup(mc_table, series_keys(runs, extra))
    mc_keys = [k for k in series_keys(runs, extra) if mc_table is not None and k in mc_table.columns]
    rows = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        qs = group["_q"].to_numpy(dtype=float)
        es = group["_e"].to_numpy(dtype=float)
        n_u = int(np.isfinite(qs).sum())
        m_c = mc.get(tuple(str(ident[k]) for k in mc_keys), float("nan"))
        row = {**ident, "m_c": m_c, "x": ident["m"] / m_c if np.isfinite(m_c) else np.nan, "n_runs": len(group),
               "n_solved": int(group["_solved"].sum()), "n_unsolved": n_u, "q_late_mean": np.nan,
               "q_late_sem": np.nan, "q_late_std": np.nan, "energy_late_mean": np.nan, "energy_late_sem": np.nan}
        if n_u >= MIN_UNSOLVED:
            qs = qs[np.isfinite(qs)]
            es = es[np.isfinite(es)]
            row.update(q_late_mean=float(qs.mean()), q_late_std=float(qs.std(ddof=1)),
                       q_late_sem=float(qs.std(ddof=1) / np.sqrt(len(qs))),
                       energy_late_mean=float(es.mean()) if len(es) else np.nan,
                       energy_late_sem=float(es.std(ddof=1) / np.sqrt(len(es))) if len(es) > 1 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def order_gaps(stationary: pd.DataFrame) -> pd.DataFrame:
    """The gap 1 - <q_late> of the unsolved runs below m_c, per size.

    Parameters
    ----------
    stationary : DataFrame
        Output of :func:`stationary_table`.

    Returns
    -------
    DataFrame, one row per (experiment, size)
        m_c, m_below (the largest grid m below m_c with a mean q_late),
        x_below = m_below / m_c, gap_below and its error (the standard
        error of the mean q_late), n_window (points with 0.5 <= x < 1 and a
        mean q_late), gap_at_mc and its error (the gap extrapolated to m_c
        by the fit of the module docstring; needs two points in the
        window), reason (why a value is NaN).
    """
    keys = [*panel_keys(stationary), "size"] if not stationary.empty else ["experiment", "size_key", "size"]
    columns = [*keys, *GAP_STATS]
    if stationary.empty:
        return empty_table(columns, strings=("experiment", "size_key", "reason"))
    rows = []
    for values, group in stationary.groupby(keys, dropna=False, sort=True):
        group = group.sort_values("m")
        row = {**key_dict(keys, values), "m_c": float(group["m_c"].iloc[0]), "m_below": np.nan, "x_below": np.nan,
               "gap_below": np.nan, "gap_below_err": np.nan, "n_window": 0, "gap_at_mc": np.nan,
               "gap_at_mc_err": np.nan, "reason": ""}
        if not np.isfinite(row["m_c"]):
            row["reason"] = "no m_c at this size"
            rows.append(row)
            continue
        x = group["x"].to_numpy(dtype=float)
        gap = 1.0 - group["q_late_mean"].to_numpy(dtype=float)
        err = group["q_late_sem"].to_numpy(dtype=float)
        below = (x < 1) & np.isfinite(gap)
        if not below.any():
            row["reason"] = f"no grid point below m_c with {MIN_UNSOLVED} unsolved runs"
            rows.append(row)
            continue
        j = np.nonzero(below)[0][-1]
        row.update(m_below=float(group["m"].iloc[j]), x_below=float(x[j]), gap_below=float(gap[j]),
                   gap_below_err=float(err[j]))
        window = below & (x >= X_WINDOW[0])
        row["n_window"] = int(window.sum())
        # A spread of exactly 0 (every unsolved run at the same q_late) would
        # give an infinite weight; floor the error at one run's resolution.
        sigma = np.maximum(err[window], 1e-3)
        fit = fit_line(np.sqrt(1.0 - x[window]), gap[window], sigma, what=f"grid points with {X_WINDOW[0]} <= m/m_c < 1")
        if fit["reason"]:
            row["reason"] = fit["reason"]
        else:
            row.update(gap_at_mc=fit["intercept"], gap_at_mc_err=fit["intercept_err"])
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def order_verdict(gaps: pd.DataFrame) -> pd.DataFrame:
    """The order of the transition per experiment, from :func:`order_gaps`.

    The rule: with g_c the weighted mean over sizes of gap_at_mc (its error
    scaled by sqrt(chi2/dof) when that exceeds 1) and s the slope of
    gap_at_mc against log size,

    - first-order-like if g_c - 2 err > GAP_OPEN (the gap is open at m_c)
      and s + 2 err_s >= 0 (it does not close with size; needs two sizes);
    - second-order-like if g_c + 2 err < GAP_OPEN (the gap closes at m_c),
      or s + 2 err_s < 0 while g_c - 2 err <= GAP_OPEN (it closes with
      size);
    - undecided otherwise, with the reason.

    Returns
    -------
    DataFrame, one row per experiment (and scanned parameters)
        verdict (first-order-like | second-order-like | undecided | ''
        when there is nothing to judge), gap_at_mc, gap_at_mc_err,
        gap_slope, gap_slope_err, n_sizes (sizes with a gap_at_mc), reason.
    """
    keys = panel_keys(gaps) if not gaps.empty else ["experiment", "size_key"]
    columns = [*keys, *VERDICT_STATS]
    if gaps.empty:
        return empty_table(columns, strings=("experiment", "size_key", "verdict", "reason"))
    rows = []
    for values, group in gaps.groupby(keys, dropna=False, sort=True):
        row = {**key_dict(keys, values), "verdict": "", "gap_at_mc": np.nan, "gap_at_mc_err": np.nan,
               "gap_slope": np.nan, "gap_slope_err": np.nan, "n_sizes": 0, "reason": ""}
        g = group["gap_at_mc"].to_numpy(dtype=float)
        ge = group["gap_at_mc_err"].to_numpy(dtype=float)
        good = np.isfinite(g) & np.isfinite(ge) & (ge > 0)
        row["n_sizes"] = int(good.sum())
        if not np.isfinite(group["m_c"].to_numpy(dtype=float)).any():
            row["reason"] = "no transition at any size"
            rows.append(row)
            continue
        if not good.any():
            row["reason"] = "no size has two grid points with unsolved runs at 0.5 <= m/m_c < 1"
            rows.append(row)
            continue
        w = 1.0 / ge[good] ** 2
        mean = float(np.sum(w * g[good]) / np.sum(w))
        err = float(1.0 / np.sqrt(np.sum(w)))
        if good.sum() > 1:
            chi2 = float(np.sum(w * (g[good] - mean) ** 2))
            err *= max(1.0, np.sqrt(chi2 / (good.sum() - 1)))
        row.update(gap_at_mc=mean, gap_at_mc_err=err)
        closing = False
        if good.sum() >= 2:
            slope = fit_line(np.log(group["size"].to_numpy(dtype=float)[good]), g[good], ge[good], what="sizes")
            row.update(gap_slope=slope["slope"], gap_slope_err=slope["slope_err"])
            closing = bool(np.isfinite(slope["slope_err"]) and slope["slope"] + SIGMAS * slope["slope_err"] < 0)
        if mean + SIGMAS * err < GAP_OPEN:
            row["verdict"] = SECOND_ORDER
            row["reason"] = "the unsolved runs' gap closes at m_c"
        elif mean - SIGMAS * err > GAP_OPEN:
            if good.sum() < 2:
                row["verdict"] = UNDECIDED
                row["reason"] = "the gap is open at m_c, but with one size it cannot be told whether it closes with size"
            elif closing:
                row["verdict"] = UNDECIDED
                row["reason"] = "the gap is open at m_c but shrinks with size"
            else:
                row["verdict"] = FIRST_ORDER
                row["reason"] = "the gap stays open at m_c and does not close with size"
        elif closing:
            row["verdict"] = SECOND_ORDER
            row["reason"] = "the gap at m_c closes with size"
        else:
            row["verdict"] = UNDECIDED
            row["reason"] = f"the gap at m_c is within {SIGMAS:g} errors of {GAP_OPEN}"
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def overlap_curve(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean final overlap of all runs (solved included) against m.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, q. Only ok runs
        with a finite q count.

    Returns
    -------
    DataFrame, one row per point
        experiment, size_key, size, [scanned parameters], m, n_runs, q_mean,
        q_sem (standard error of the mean over runs), q_std.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "q"], "overlap_curve")
    keys = point_keys(runs, scanned_parameters(runs))
    frame = runs.loc[ok_mask(runs), [*keys, "q"]]
    frame = frame[np.isfinite(frame["q"].to_numpy(dtype=float))]
    table = frame.groupby(keys, dropna=False, sort=True)["q"].agg(n_runs="size", q_mean="mean", q_std="std").reset_index()
    table["q_sem"] = table["q_std"] / np.sqrt(table["n_runs"])
    return table[[*keys, "n_runs", "q_mean", "q_sem", "q_std"]]


def stationary_histograms(runs: pd.DataFrame, bins=DEFAULT_BINS) -> pd.DataFrame:
    """Histogram of the stationary overlap q_late of the unsolved runs at
    every point.

    Parameters
    ----------
    runs : DataFrame
        The run table (ok, unsolved runs with a finite q_late count).
    bins : 1-D array
        Common bin edges (default: 40 bins of width 0.05 over [-1, 1]; the
        last bin includes its right edge, so q = 1 is counted).

    Returns
    -------
    DataFrame
        experiment, size_key, size, [scanned parameters], m, bin_left,
        bin_right, count; every bin of every point with unsolved runs,
        empty bins included.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "q_late", "success"], "stationary_histograms")
    keys = point_keys(runs, scanned_parameters(runs))
    columns = [*keys, "bin_left", "bin_right", "count"]
    bins = np.asarray(bins, dtype=float)
    unsolved = ok_mask(runs) & ~success_array(runs)
    frame = runs.loc[unsolved, [*keys, "q_late"]]
    frame = frame[np.isfinite(frame["q_late"].to_numpy(dtype=float))]
    parts = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        counts, _ = np.histogram(group["q_late"].to_numpy(dtype=float), bins=bins)
        part = pd.DataFrame({"bin_left": bins[:-1], "bin_right": bins[1:], "count": counts.astype(np.int64)})
        for k, v in key_dict(keys, values).items():
            part.insert(len(part.columns) - 3, k, v)
        parts.append(part)
    if not parts:
        return empty_table(columns)
    return pd.concat(parts, ignore_index=True)[columns]

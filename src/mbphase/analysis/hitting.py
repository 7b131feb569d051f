"""The hitting-time landscape: how the time to solution tau(m; size) grows
with the size at a fixed distance m / m_c from the transition.

An activated process (a barrier between the initial state and the
solution that grows with the size) gives ln tau growing linearly with the
size at fixed m / m_c; critical slowing down gives a power law, ln tau
linear in ln size. Times to solution are censored data (a run that did not
solve ran out of budget): tau is the Kaplan-Meier estimate
(:func:`mbphase.analysis.timing.kaplan_meier_median`), the median above
m_c and, to reach below m_c where fewer than half the runs solve, the time
by which a quarter of the runs solved.

Caveat the tables state: at m = m_c(budget) the median is the budget by
definition, so the fits use m / m_c away from 1, and a budget rule that
scales with the size shapes tau near m_c.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.critical import fit_line
from mbphase.analysis.grouping import empty_table, key_dict, ok_mask, point_keys, require_columns, scanned_parameters
from mbphase.analysis.success import Z95
from mbphase.analysis.timing import kaplan_meier_median

HITTING_STATS = ("m_c", "m_over_mc", "n_runs", "n_solved", "tau_50", "tau_50_low", "tau_50_high", "tau_25",
                 "tau_25_low", "tau_25_high", "reason")
FIT_STATS = ("m_over_mc", "quantile", "n_points", "sizes", "barrier_slope", "barrier_slope_err", "barrier_chi2_per_dof",
             "power_exponent", "power_exponent_err", "power_chi2_per_dof", "verdict", "reason")

# Where the landscape is cut: above m_c with the median, below with the
# quarter time (m / m_c = 1 is left out: there the median is the budget).
CUTS = ((0.8, 25), (0.9, 25), (1.2, 50), (1.5, 50), (2.0, 50))
# A fit "describes the data" when its chi2/dof is at most this.
GOOD_FIT = 2.0


def hitting_time_table(runs: pd.DataFrame, critical: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier times to solution per point, with m / m_c.

    Returns one row per (experiment, size, [scanned parameters], m):
    m_c (of the ``critical`` table, at the full budget), m_over_mc, n_runs,
    n_solved, tau_50 with its 95% interval (median; NaN where fewer than
    half the runs solved), tau_25 with its interval (the time by which a
    quarter solved), reason (why tau_50 is NaN).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "t_solve", "t_run"], "hitting_time_table")
    keys = point_keys(runs, scanned_parameters(runs))
    ok = ok_mask(runs)
    frame = runs.loc[ok, keys].copy()
    frame["_t"] = runs.loc[ok, "t_solve"].to_numpy(dtype=float)
    frame["_run"] = runs.loc[ok, "t_run"].to_numpy(dtype=float)
    series = [k for k in keys if k != "m"]
    mc = {}
    if not critical.empty and set(series) <= set(critical.columns):
        mc = {tuple(r[k] for k in series): float(r["m_c"]) for _, r in critical.iterrows()}
    rows = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        t = group["_t"].to_numpy(dtype=float)
        solved = np.isfinite(t)
        censored = group["_run"].to_numpy(dtype=float)[~solved]
        t50 = kaplan_meier_median(t[solved], censored)
        t25 = kaplan_meier_median(t[solved], censored, solved=0.25)
        m_c = mc.get(tuple(ident[k] for k in series), np.nan)
        rows.append({**ident, "m_c": m_c, "m_over_mc": ident["m"] / m_c if np.isfinite(m_c) else np.nan,
                     "n_runs": len(group), "n_solved": int(solved.sum()), "tau_50": t50[0], "tau_50_low": t50[1],
                     "tau_50_high": t50[2], "tau_25": t25[0], "tau_25_low": t25[1], "tau_25_high": t25[2],
                     "reason": t50[3]})
    if not rows:
        return empty_table([*keys, *HITTING_STATS], strings=("experiment", "size_key", "reason"))
    return pd.DataFrame(rows, columns=[*keys, *HITTING_STATS])


def _at_cut(rows: pd.DataFrame, x: float, quantile: int) -> tuple[float, float]:
    """ln tau and its error at m / m_c = x for one size, by linear
    interpolation in ln m between the two grid points that bracket x (both
    with a finite tau); the error is the half-width of the Kaplan-Meier
    interval in ln tau / 1.96, interpolated likewise (NaN when an interval
    is open)."""
    col = f"tau_{quantile}"
    rows = rows[np.isfinite(rows[col].to_numpy(dtype=float)) & np.isfinite(rows["m_over_mc"].to_numpy(dtype=float))]
    rows = rows.sort_values("m_over_mc")
    r = np.log(rows["m_over_mc"].to_numpy(dtype=float))
    j = np.searchsorted(r, np.log(x))
    if len(r) < 2 or j == 0 or j == len(r):
        return np.nan, np.nan
    w = (np.log(x) - r[j - 1]) / (r[j] - r[j - 1])
    y = np.log(rows[col].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        sig = (np.log(rows[f"{col}_high"].to_numpy(dtype=float)) - np.log(rows[f"{col}_low"].to_numpy(dtype=float))) / (2 * Z95)
    return float((1 - w) * y[j - 1] + w * y[j]), float((1 - w) * sig[j - 1] + w * sig[j])


def hitting_fit(hitting: pd.DataFrame, cuts=CUTS) -> pd.DataFrame:
    """ln tau at fixed m / m_c against the size: a barrier (ln tau = a + c
    size) or a power law (ln tau = a + z ln size)?

    Returns one row per (experiment, cut): m_over_mc, quantile (50: the
    median, 25: the quarter time), n_points (sizes with a tau there), sizes,
    barrier_slope c and its error, barrier_chi2_per_dof, power_exponent z
    and its error, power_chi2_per_dof (errors scaled by sqrt(chi2/dof) when
    above 1, :func:`mbphase.analysis.critical.fit_line`), verdict
    ('barrier' or 'power law' when only that fit has chi2/dof <= 2,
    'both fit' when both do, 'neither' when none does, '' with a reason
    when it cannot be said: fewer than three sizes, or no errors).
    """
    columns = ["experiment", "size_key", *FIT_STATS]
    if hitting.empty:
        return empty_table(columns, strings=("experiment", "size_key", "sizes", "verdict", "reason"))
    rows = []
    for (experiment, size_key), group in hitting.groupby(["experiment", "size_key"], sort=True):
        for x, quantile in cuts:
            points = [(size, *_at_cut(g, x, quantile)) for size, g in group.groupby("size", sort=True)]
            points = [p for p in points if np.isfinite(p[1])]
            size = np.array([p[0] for p in points], dtype=float)
            y = np.array([p[1] for p in points], dtype=float)
            sigma = np.array([p[2] for p in points], dtype=float)
            barrier = fit_line(size, y, sigma, what="sizes with a time at this m / m_c")
            power = fit_line(np.log(size), y, sigma, what="sizes with a time at this m / m_c")
            reason, verdict = barrier["reason"], ""
            if not reason and len(points) < 3:
                reason = "fewer than three sizes: no goodness of fit to compare"
            elif not reason and not barrier["weighted"]:
                reason = "a time without a closed confidence interval: the fits are unweighted, chi2 unknown"
            if not reason:
                good_b = barrier["chi2_per_dof"] <= GOOD_FIT
                good_p = power["chi2_per_dof"] <= GOOD_FIT
                verdict = "both fit" if good_b and good_p else "barrier" if good_b else "power law" if good_p else "neither"
            rows.append({"experiment": experiment, "size_key": size_key, "m_over_mc": x, "quantile": quantile,
                         "n_points": len(points), "sizes": ",".join(str(int(s)) for s in size),
                         "barrier_slope": barrier["slope"], "barrier_slope_err": barrier["slope_err"],
                         "barrier_chi2_per_dof": barrier["chi2_per_dof"], "power_exponent": power["slope"],
                         "power_exponent_err": power["slope_err"], "power_chi2_per_dof": power["chi2_per_dof"],
                         "verdict": verdict, "reason": reason})
    return pd.DataFrame(rows, columns=columns)

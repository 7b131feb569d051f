"""The critical mini-batch size m_c(size) and its scaling law m_c = A size^b.

m_c is where P_succ(m) = 1/2. It is estimated per (experiment, size) by a
maximum-likelihood logistic fit of the individual successes against log m,

    P(success | m) = 1 / (1 + exp(-(log m - log m_c) / w)),

falling back to linear interpolation in log m between the two grid points
that bracket P_succ = 1/2 when the fit is not usable. The error comes from a
bootstrap over seeds: a seed index carries the same teacher at every m of a
size, so whole seeds are resampled, never single runs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from mbphase.analysis.grouping import (
    empty_table,
    group_rng,
    key_dict,
    ok_mask,
    panel_keys,
    require_columns,
    scanned_parameters,
    series_keys,
    success_array,
)

METHOD_LOGISTIC = "logistic"
METHOD_INTERPOLATION = "interpolation"
METHOD_NOT_BRACKETED = "not bracketed"

CRITICAL_STATS = ("m_c", "m_c_err", "method", "n_seeds", "n_boot_valid")
POWER_LAW_STATS = ("A", "A_err", "b", "b_err", "n_points", "chi2", "dof", "weighted")

# A logistic fit whose width w falls below this fraction of the span of
# log m is treated as separated data: a width far below the grid spacing is
# not resolved by the grid, and the centre is then anywhere in the gap.
_MIN_WIDTH_FRACTION = 1e-3


def _logistic_nll(a, c, x, k, n) -> float:
    """Binomial negative log-likelihood of logit P = a + c x."""
    z = a + c * x
    # k log(1 + e^{-z}) + (n - k) log(1 + e^{z}), with logaddexp so that it
    # stays finite for steep fits.
    return float(np.sum(k * np.logaddexp(0.0, -z) + (n - k) * np.logaddexp(0.0, z)))


def interpolate_half(x, p) -> float:
    """Where a curve p(x) first crosses 1/2, by linear interpolation.

    Parameters
    ----------
    x : 1-D array, increasing
        The grid (here log m).
    p : 1-D array, same length
        Success fractions; NaN entries (no runs) are skipped.

    Returns
    -------
    float
        The x of the first crossing of 1/2, scanning upwards; NaN if p never
        reaches 1/2 from below on the grid (all below or all above 1/2).
        A grid point with p exactly 1/2 is returned as is.
    """
    x = np.asarray(x, dtype=float)
    p = np.asarray(p, dtype=float)
    keep = np.isfinite(p)
    x, p = x[keep], p[keep]
    for j in range(len(p)):
        if p[j] == 0.5:
            return float(x[j])
        if j + 1 < len(p) and p[j] < 0.5 < p[j + 1]:
            return float(x[j] + (0.5 - p[j]) / (p[j + 1] - p[j]) * (x[j + 1] - x[j]))
    return float("nan")


def fit_logistic(x, k, n, mu0: float | None = None, max_iter: int = 100) -> tuple[float, float, bool]:
    """Maximum-likelihood logistic fit of binomial counts against x.

    Parameters
    ----------
    x : 1-D array
        Control variable of each grid point (here log m).
    k, n : 1-D arrays, same length as ``x``
        Successes and trials at each grid point. Counts are sufficient: the
        likelihood of the individual runs depends on them only.
    mu0 : float, optional
        Starting centre (default: the mean of x).
    max_iter : int
        Newton iterations.

    Returns
    -------
    mu, w, usable : float, float, bool
        Centre (x where P = 1/2) and width of the increasing logistic
        P = 1 / (1 + exp(-(x - mu) / w)). ``usable`` is False (and mu, w
        may be NaN) when the data are all successes or all failures, or
        (quasi-)separated (every failure at or below every success in x, or
        the reverse: then the maximum-likelihood width is zero and the centre
        anywhere in the gap), when Newton did not converge, the width fell
        below 1e-3 of the span of x, the fitted P decreases with x, or the
        centre left the range of x.

    Notes
    -----
    The fit is done in the form logit P = a + c (x - mean x), whose
    negative log-likelihood is convex, by Newton's method with backtracking;
    then mu = mean x - a / c and w = 1 / c.
    """
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    span = float(x.max() - x.min()) if len(x) else 0.0
    nan = (float("nan"), float("nan"), False)
    if span <= 0 or n.sum() == 0:
        return nan
    has_success, has_failure = k > 0, (n - k) > 0
    if not has_success.any() or not has_failure.any():
        return nan
    if x[has_failure].max() <= x[has_success].min() or x[has_success].max() <= x[has_failure].min():
        # (Quasi-)separated data: no finite maximum-likelihood estimate, the
        # likelihood keeps growing as the logistic steepens.
        return nan
    centre = float(np.mean(x))
    xc = x - centre
    c_max = 1.0 / (_MIN_WIDTH_FRACTION * span)
    mu_start = centre if mu0 is None or not np.isfinite(mu0) else float(mu0)
    c = 10.0 / span
    a = -c * (mu_start - centre)
    nll = _logistic_nll(a, c, xc, k, n)
    converged = False
    for _ in range(max_iter):
        p = special.expit(a + c * xc)
        residual = n * p - k
        grad = np.array([residual.sum(), (residual * xc).sum()])
        curvature = n * p * (1 - p)
        hess = np.array([[curvature.sum(), (curvature * xc).sum()],
                         [(curvature * xc).sum(), (curvature * xc * xc).sum()]])
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(2), grad)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        while t > 1e-10:
            a_new, c_new = a - t * step[0], c - t * step[1]
            nll_new = _logistic_nll(a_new, c_new, xc, k, n)
            if nll_new <= nll - 1e-4 * t * float(grad @ step):
                break
            t /= 2
        else:
            # No descent along the Newton direction: at the optimum to
            # machine precision.
            converged = bool(np.max(np.abs(grad)) < 1e-6 * max(n.sum(), 1.0))
            break
        decrease = nll - nll_new
        a, c, nll = a_new, c_new, nll_new
        if abs(c) > c_max:
            break
        if decrease < 1e-10 * max(nll, 1.0) and np.max(np.abs(t * step)) < 1e-8 * max(1.0, abs(c)):
            converged = True
            break
    if not converged or not (0 < c <= c_max):
        return (centre - a / c if c != 0 else float("nan")), (1.0 / c if c != 0 else float("nan")), False
    mu = centre - a / c
    return float(mu), float(1.0 / c), bool(x.min() <= mu <= x.max())


def estimate_log_mc(x, k, n) -> tuple[float, str]:
    """log m_c from counts on a grid of log m: logistic fit, else
    interpolation, else NaN.

    Parameters
    ----------
    x : 1-D array, increasing
        log m of the grid points.
    k, n : 1-D arrays
        Successes and ok runs at each grid point.

    Returns
    -------
    log_mc, method : float, str
        method is 'logistic', 'interpolation' or 'not bracketed' (P_succ
        never crosses 1/2 on the grid, or fewer than two grid points have
        runs: then log_mc is NaN, because extrapolating a transition outside
        the measured range is a guess).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, np.nan)
    # A crossing needs a curve: one grid point, even at exactly 1/2, says
    # nothing about where P_succ passes 1/2.
    crossing = interpolate_half(x, p) if np.sum(n > 0) >= 2 else float("nan")
    if not np.isfinite(crossing):
        return float("nan"), METHOD_NOT_BRACKETED
    has_runs = n > 0
    mu, _, usable = fit_logistic(np.asarray(x)[has_runs], k[has_runs], n[has_runs], mu0=crossing)
    if usable:
        return mu, METHOD_LOGISTIC
    return crossing, METHOD_INTERPOLATION


def _bracket_width(x, log_mc) -> float:
    """Width in log m of the grid interval that contains log_mc (0 if it
    falls on a grid point or outside the grid)."""
    j = np.searchsorted(x, log_mc)
    if j <= 0 or j >= len(x) or x[j] == log_mc:
        return 0.0
    return float(x[j] - x[j - 1])


def critical_m(runs: pd.DataFrame, n_boot: int = 200, seed: int = 0) -> pd.DataFrame:
    """m_c per (experiment, size) with a bootstrap error over seeds.

    Parameters
    ----------
    runs : DataFrame
        The run table; needs experiment, size_key, size, m, seed, success,
        status. Rows whose status is not 'ok' are ignored.
    n_boot : int
        Bootstrap replicates (0 = no error estimate).
    seed : int
        Seed of the bootstrap; the result is a deterministic function of
        (runs, n_boot, seed).

    Returns
    -------
    DataFrame, one row per (experiment, size, [scanned parameters])
        m_c (patterns; NaN when not bracketed), m_c_err, method
        ('logistic' | 'interpolation' | 'not bracketed'), n_seeds (distinct
        seeds with an ok run), n_boot_valid (replicates that gave a finite
        m_c).

    Notes
    -----
    m_c_err is the standard deviation of m_c over the bootstrap replicates,
    each estimated with the same rule as the point estimate. When the point
    estimate comes from interpolation, a sharp transition can give the same
    bracket in every replicate and a bootstrap spread of zero although m_c
    is only known to lie in the bracket; the error is then floored at the
    standard deviation of a uniform distribution over the bracket in log m,
    m_c * (log m_hi - log m_lo) / sqrt(12).
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "seed", "success"], "critical_m")
    keys = series_keys(runs, scanned_parameters(runs))
    rows = []
    ok = ok_mask(runs)
    frame = runs.loc[ok, [*keys, "m", "seed"]].copy()
    frame["_success"] = success_array(runs)[ok].astype(float)
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        table = group.pivot_table(index="seed", columns="m", values="_success", aggfunc="mean")
        # pivot_table averages duplicates; a (seed, m) pair should be unique,
        # and if it is not the mean keeps the point's weight equal to a seed's.
        m_grid = table.columns.to_numpy(dtype=float)
        x = np.log(m_grid)
        outcomes = table.to_numpy(dtype=float)  # seeds x m, NaN where missing
        valid = np.isfinite(outcomes)
        filled = np.where(valid, outcomes, 0.0)
        log_mc, method = estimate_log_mc(x, filled.sum(axis=0), valid.sum(axis=0))

        boot = np.full(n_boot, np.nan)
        if n_boot > 0 and outcomes.shape[0] > 0:
            rng = group_rng(seed, ident)
            draws = rng.integers(0, outcomes.shape[0], size=(n_boot, outcomes.shape[0]))
            k_boot = filled[draws].sum(axis=1)
            n_boot_runs = valid[draws].sum(axis=1)
            for b in range(n_boot):
                boot[b] = estimate_log_mc(x, k_boot[b], n_boot_runs[b])[0]
        m_c = float(np.exp(log_mc))
        finite = np.isfinite(boot)
        err = float(np.std(np.exp(boot[finite]), ddof=1)) if finite.sum() >= 2 else float("nan")
        if method == METHOD_NOT_BRACKETED:
            # Replicates may bracket by chance where the data do not; an
            # error on a missing value would only mislead.
            err = float("nan")
        if method == METHOD_INTERPOLATION:
            floor = m_c * _bracket_width(x, log_mc) / np.sqrt(12.0)
            err = floor if not np.isfinite(err) else max(err, floor)
        rows.append({**ident, "m_c": m_c, "m_c_err": err, "method": method,
                     "n_seeds": int(valid.any(axis=1).sum()), "n_boot_valid": int(finite.sum())})
    columns = [*keys, *CRITICAL_STATS]
    if not rows:
        return empty_table(columns, strings=("experiment", "size_key", "method"))
    return pd.DataFrame(rows, columns=columns)


def power_law(mc_table: pd.DataFrame) -> pd.DataFrame:
    """Fit m_c = A * size^b per experiment.

    Weighted least squares of log m_c against log size, with the error of
    log m_c taken as m_c_err / m_c. If any usable point lacks a positive
    finite error the fit is unweighted (ordinary least squares, parameter
    errors from the residual variance).

    Parameters
    ----------
    mc_table : DataFrame
        Output of :func:`critical_m`. Rows with a NaN m_c are skipped.

    Returns
    -------
    DataFrame, one row per experiment (and scanned parameters)
        A (patterns), A_err, b, b_err, n_points, chi2 (weighted residual sum
        of squares; NaN for an unweighted fit), dof (n_points - 2), weighted.
        With known errors the parameter errors are not rescaled by chi2/dof:
        a chi2 well above dof says the errors or the power law are wrong, and
        the table reports it rather than hiding it. Fewer than two points
        give NaN parameters; two points give errors only if weighted.
    """
    keys = panel_keys(mc_table)
    columns = [*keys, *POWER_LAW_STATS]
    rows = []
    if mc_table.empty:
        return empty_table(columns, strings=("experiment", "size_key"))
    for values, group in mc_table.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        good = group[np.isfinite(group["m_c"]) & (group["m_c"] > 0)]
        x = np.log(good["size"].to_numpy(dtype=float))
        y = np.log(good["m_c"].to_numpy(dtype=float))
        sigma = (good["m_c_err"] / good["m_c"]).to_numpy(dtype=float)
        rows.append({**ident, **_fit_line(x, y, sigma)})
    return pd.DataFrame(rows, columns=columns)


def _fit_line(x, y, sigma) -> dict:
    """y = log A + b x by (weighted) least squares; see :func:`power_law`."""
    n = len(x)
    out = {"A": np.nan, "A_err": np.nan, "b": np.nan, "b_err": np.nan, "n_points": n,
           "chi2": np.nan, "dof": max(n - 2, 0), "weighted": False}
    if n < 2 or np.ptp(x) == 0:
        return out
    weighted = bool(np.all(np.isfinite(sigma) & (sigma > 0)))
    w = 1.0 / sigma**2 if weighted else np.ones(n)
    design = np.column_stack([np.ones(n), x])
    normal = design.T @ (design * w[:, None])
    coef = np.linalg.solve(normal, design.T @ (w * y))
    residual = y - design @ coef
    if weighted:
        cov = np.linalg.inv(normal)
        out["chi2"] = float(np.sum(w * residual**2))
    elif n > 2:
        cov = np.linalg.inv(normal) * float(np.sum(residual**2)) / (n - 2)
    else:
        cov = np.full((2, 2), np.nan)
    log_a, b = coef
    out.update(A=float(np.exp(log_a)), A_err=float(np.exp(log_a) * np.sqrt(cov[0, 0])), b=float(b),
               b_err=float(np.sqrt(cov[1, 1])), weighted=weighted)
    return out


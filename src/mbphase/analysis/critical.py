"""The critical mini-batch size m_c(size), the width of the transition and
their scaling laws.

m_c is where P_succ(m) = 1/2. It is estimated per (experiment, size) by a
maximum-likelihood logistic fit of the individual successes against log m,

    P(success | m) = 1 / (1 + exp(-(log m - log m_c) / w)),

falling back to linear interpolation in log m between the two grid points
that bracket P_succ = 1/2 when the fit is not usable. w is the width of the
transition in log m (a relative width: m goes from P = 0.27 to 0.73 over a
factor e^(2w)). Errors come from a bootstrap over seeds: a seed index
carries the same teacher at every m of a size, so whole seeds are
resampled, never single runs. Every fit reports its goodness of fit
(deviance or chi^2 per degree of freedom).

Scaling: m_c = A size^b (:func:`power_law`, with the local exponents
between consecutive sizes, :func:`local_exponents`) and w = C size^(-1/nu)
(:func:`sharpening`): a transition that sharpens with size (1/nu > 0) is a
true phase transition in the limit of large sizes.
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

CRITICAL_STATS = ("m_c", "m_c_err", "method", "width", "width_err", "deviance", "dof", "deviance_per_dof",
                  "non_monotonic", "max_drop_sigma", "n_seeds", "n_boot_valid", "reason", "width_reason")
POWER_LAW_STATS = ("A", "A_err", "b", "b_err", "b_err_unscaled", "error_scale", "n_points", "chi2", "dof",
                   "chi2_per_dof", "weighted", "reason")
LOCAL_EXPONENT_STATS = ("size_low", "size_high", "b_local", "b_local_err", "reason")
SHARPENING_STATS = ("inv_nu", "inv_nu_err", "inv_nu_err_unscaled", "error_scale", "C", "n_points", "chi2", "dof",
                    "chi2_per_dof", "sharpens", "reason")

# A drop of P_succ between two grid points (lower m first) of more than this
# many combined standard errors flags a non-monotonic curve.
NON_MONOTONIC_SIGMAS = 2.0

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


def estimate_transition(x, k, n) -> tuple[float, float, str]:
    """(log m_c, width w in log m, method) from counts on a grid of log m.

    As :func:`estimate_log_mc`; the width is the logistic fit's (NaN unless
    the method is 'logistic': an interpolated m_c means the data are
    separated, the transition is narrower than the grid resolves).
    """
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / n, np.nan)
    # A crossing needs a curve: one grid point, even at exactly 1/2, says
    # nothing about where P_succ passes 1/2.
    crossing = interpolate_half(x, p) if np.sum(n > 0) >= 2 else float("nan")
    if not np.isfinite(crossing):
        return float("nan"), float("nan"), METHOD_NOT_BRACKETED
    has_runs = n > 0
    mu, w, usable = fit_logistic(np.asarray(x)[has_runs], k[has_runs], n[has_runs], mu0=crossing)
    if usable:
        return mu, w, METHOD_LOGISTIC
    return crossing, float("nan"), METHOD_INTERPOLATION


def logistic_deviance(x, k, n, log_mc: float, width: float) -> tuple[float, int]:
    """Binomial deviance of the logistic P = expit((x - log_mc) / width)
    against counts (k of n) at each x, and its degrees of freedom (grid
    points with runs minus the two fitted parameters).

    A deviance per degree of freedom near 1 says the logistic describes the
    data within binomial noise; much larger says it does not (a shoulder, a
    curve that falls again, seed-to-seed correlations).
    """
    x, k, n = (np.asarray(a, dtype=float) for a in (x, k, n))
    keep = n > 0
    x, k, n = x[keep], k[keep], n[keep]
    dof = int(len(x) - 2)
    if dof < 1 or not (np.isfinite(log_mc) and np.isfinite(width) and width > 0):
        return float("nan"), max(dof, 0)
    p = np.clip(special.expit((x - log_mc) / width), 1e-300, 1 - 1e-16)
    with np.errstate(invalid="ignore", divide="ignore"):
        term_k = np.where(k > 0, k * np.log(k / (n * p)), 0.0)
        term_f = np.where(n - k > 0, (n - k) * np.log((n - k) / (n * (1 - p))), 0.0)
    return float(2.0 * np.sum(term_k + term_f)), dof


def largest_drop(k, n) -> float:
    """The largest drop of P_succ from a grid point to any later (larger m)
    one, in units of the two points' combined standard error (the Wilson
    half-width / 1.96, positive even at P = 0 or 1); 0 for a non-decreasing
    curve, NaN with fewer than two points with runs."""
    from mbphase.analysis.success import Z95, wilson_interval

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    keep = n > 0
    k, n = k[keep], n[keep]
    if len(k) < 2:
        return float("nan")
    p = k / n
    low, high = wilson_interval(k, n)
    se = (high - low) / (2 * Z95)
    drop = p[:, None] - p[None, :]  # p_i - p_j
    scale = np.sqrt(se[:, None] ** 2 + se[None, :] ** 2)
    later = np.triu(np.ones((len(p), len(p)), dtype=bool), k=1)  # j > i
    return float(max(0.0, np.max(np.where(later, drop / scale, -np.inf))))


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
    log_mc, _, method = estimate_transition(x, k, n)
    return log_mc, method


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
        ('logistic' | 'interpolation' | 'not bracketed'), width (logistic
        width in log m; NaN unless the method is 'logistic'), width_err
        (bootstrap over seeds), deviance and dof of the logistic fit and
        deviance_per_dof, non_monotonic (P_succ drops by more than two
        combined standard errors from some m to a larger one; m_c is then
        the first upward crossing and should not be trusted alone),
        max_drop_sigma (that largest drop in standard errors), n_seeds
        (distinct seeds with an ok run), n_boot_valid (replicates that gave
        a finite m_c), reason (why m_c is NaN; '' when it is not) and
        width_reason (why the width is NaN or has no error).

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
        k_all, n_all = filled.sum(axis=0), valid.sum(axis=0)
        log_mc, width, method = estimate_transition(x, k_all, n_all)

        boot = np.full((n_boot, 2), np.nan)
        if n_boot > 0 and outcomes.shape[0] > 0:
            rng = group_rng(seed, ident)
            draws = rng.integers(0, outcomes.shape[0], size=(n_boot, outcomes.shape[0]))
            k_boot = filled[draws].sum(axis=1)
            n_boot_runs = valid[draws].sum(axis=1)
            for b in range(n_boot):
                boot[b] = estimate_transition(x, k_boot[b], n_boot_runs[b])[:2]
        m_c = float(np.exp(log_mc))
        finite = np.isfinite(boot[:, 0])
        err = float(np.std(np.exp(boot[finite, 0]), ddof=1)) if finite.sum() >= 2 else float("nan")
        reason = ""
        if method == METHOD_NOT_BRACKETED:
            # Replicates may bracket by chance where the data do not; an
            # error on a missing value would only mislead.
            err = float("nan")
            p = k_all / np.where(n_all > 0, n_all, np.nan)
            if np.sum(n_all > 0) < 2:
                reason = "fewer than two grid points with runs"
            elif np.nanmax(p) < 0.5:
                reason = "no transition on the grid: P_succ < 1/2 at every m"
            elif np.nanmin(p) > 0.5:
                reason = "no transition on the grid: P_succ > 1/2 at every m"
            else:
                reason = "P_succ never rises through 1/2 on the grid"
        if method == METHOD_INTERPOLATION:
            floor = m_c * _bracket_width(x, log_mc) / np.sqrt(12.0)
            err = floor if not np.isfinite(err) else max(err, floor)
        # The width's error: replicates whose fit was usable (a separated
        # replicate has no width); at least half of them must be, or the
        # spread describes a biased subset.
        w_ok = np.isfinite(boot[:, 1])
        width_err = float(np.std(boot[w_ok, 1], ddof=1)) if w_ok.sum() >= max(2, n_boot // 2) else float("nan")
        width_reason = ""
        if method == METHOD_NOT_BRACKETED:
            width_reason = "no transition"
            width = float("nan")
        elif method == METHOD_INTERPOLATION:
            width_reason = "logistic fit not usable (separated data): the transition is narrower than the grid resolves"
        elif not np.isfinite(width_err):
            width_reason = "fewer than half the bootstrap replicates give a width"
        deviance, dof = logistic_deviance(x, k_all, n_all, log_mc, width) if method == METHOD_LOGISTIC else (float("nan"), max(int(np.sum(n_all > 0)) - 2, 0))
        drop = largest_drop(k_all, n_all)
        rows.append({**ident, "m_c": m_c, "m_c_err": err, "method": method, "width": float(width),
                     "width_err": width_err, "deviance": deviance, "dof": dof,
                     "deviance_per_dof": deviance / dof if dof > 0 and np.isfinite(deviance) else float("nan"),
                     "non_monotonic": bool(drop > NON_MONOTONIC_SIGMAS), "max_drop_sigma": drop,
                     "n_seeds": int(valid.any(axis=1).sum()), "n_boot_valid": int(finite.sum()),
                     "reason": reason, "width_reason": width_reason})
    columns = [*keys, *CRITICAL_STATS]
    if not rows:
        return empty_table(columns, strings=("experiment", "size_key", "method", "reason", "width_reason"))
    return pd.DataFrame(rows, columns=columns)


def power_law(mc_table: pd.DataFrame) -> pd.DataFrame:
    """Fit m_c = A * size^b per experiment.

    Weighted least squares of log m_c against log size, with the error of
    log m_c taken as m_c_err / m_c (numpy.polyfit with its covariance).
    When chi2/dof > 1 the parameter errors are scaled by sqrt(chi2/dof): the
    points scatter more than their errors say (or the law is not a power
    law: see :func:`local_exponents`), and an error that ignores it is too
    small. b_err_unscaled keeps the error from the point errors alone.

    Parameters
    ----------
    mc_table : DataFrame
        Output of :func:`critical_m`. Rows with a NaN m_c are skipped.

    Returns
    -------
    DataFrame, one row per experiment (and scanned parameters)
        A (patterns), A_err, b, b_err, b_err_unscaled, error_scale
        (max(1, sqrt(chi2/dof))), n_points, chi2, dof (n_points - 2),
        chi2_per_dof, weighted, reason. Fewer than two sizes with an m_c
        give NaN; two give errors from the point errors only (no dof to
        judge the fit). A point without a positive finite error makes the
        fit unweighted (see :func:`fit_line`).
    """
    keys = panel_keys(mc_table)
    columns = [*keys, *POWER_LAW_STATS]
    rows = []
    if mc_table.empty:
        return empty_table(columns, strings=("experiment", "size_key", "reason"))
    for values, group in mc_table.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        good = group[np.isfinite(group["m_c"]) & (group["m_c"] > 0)]
        x = np.log(good["size"].to_numpy(dtype=float))
        y = np.log(good["m_c"].to_numpy(dtype=float))
        sigma = (good["m_c_err"] / good["m_c"]).to_numpy(dtype=float)
        fit = fit_line(x, y, sigma, what="sizes with an m_c")
        rows.append({**ident, "A": np.exp(fit["intercept"]), "A_err": np.exp(fit["intercept"]) * fit["intercept_err"],
                     "b": fit["slope"], "b_err": fit["slope_err"], "b_err_unscaled": fit["slope_err_unscaled"],
                     **{k: fit[k] for k in ("error_scale", "n_points", "chi2", "dof", "chi2_per_dof", "weighted",
                                            "reason")}})
    return pd.DataFrame(rows, columns=columns)


def fit_line(x, y, sigma, what: str = "points") -> dict:
    """y = intercept + slope x by weighted least squares (weights 1/sigma^2),
    with numpy.polyfit's covariance of the parameters; errors scaled by
    sqrt(chi2/dof) when that exceeds 1.

    Returns a dict: intercept, intercept_err, slope, slope_err,
    slope_err_unscaled, error_scale, n_points, chi2, dof, chi2_per_dof,
    weighted, reason ('' or why the fit is NaN). Fewer than two points or a
    single distinct x give NaN with a reason. If a point lacks a positive
    finite sigma the fit is unweighted (ordinary least squares, errors from
    the residual variance, chi2 NaN; with two points no error).
    """
    x, y, sigma = (np.asarray(a, dtype=float) for a in (x, y, sigma))
    n = len(x)
    out = {"intercept": np.nan, "intercept_err": np.nan, "slope": np.nan, "slope_err": np.nan,
           "slope_err_unscaled": np.nan, "error_scale": np.nan, "n_points": n, "chi2": np.nan,
           "dof": max(n - 2, 0), "chi2_per_dof": np.nan, "weighted": False, "reason": ""}
    if n < 2:
        out["reason"] = f"fewer than two {what}"
        return out
    if np.ptp(x) == 0:
        out["reason"] = f"all {what} have the same size"
        return out
    if not np.all(np.isfinite(sigma) & (sigma > 0)):
        # Unweighted: ordinary least squares, parameter errors from the
        # residual variance (numpy.polyfit's scaled covariance; needs a dof).
        if n < 3:
            out["reason"] = f"two {what} and one of them without an error: no error can be given"
            coef = np.polyfit(x, y, 1)
            out.update(slope=float(coef[0]), intercept=float(coef[1]))
            return out
        coef, cov = np.polyfit(x, y, 1, cov=True)
        out.update(slope=float(coef[0]), intercept=float(coef[1]), slope_err=float(np.sqrt(cov[0, 0])),
                   intercept_err=float(np.sqrt(cov[1, 1])), slope_err_unscaled=float(np.sqrt(cov[0, 0])))
        return out
    coef, cov = np.polyfit(x, y, 1, w=1.0 / sigma, cov="unscaled")
    chi2 = float(np.sum(((y - np.polyval(coef, x)) / sigma) ** 2))
    dof = n - 2
    scale = max(1.0, float(np.sqrt(chi2 / dof))) if dof > 0 else 1.0
    out.update(slope=float(coef[0]), intercept=float(coef[1]), slope_err_unscaled=float(np.sqrt(cov[0, 0])),
               slope_err=float(np.sqrt(cov[0, 0])) * scale, intercept_err=float(np.sqrt(cov[1, 1])) * scale,
               error_scale=scale, chi2=chi2, chi2_per_dof=chi2 / dof if dof > 0 else np.nan, weighted=True)
    return out


def local_exponents(mc_table: pd.DataFrame) -> pd.DataFrame:
    """Local exponents of m_c between consecutive sizes with an m_c:

        b_local = (log m_c(s2) - log m_c(s1)) / (log s2 - log s1),

    error from the two relative errors in quadrature (the sizes are
    independent runs). A b_local that drifts with size is a finding (the
    power law is only effective), not noise to average away.

    Returns
    -------
    DataFrame, one row per consecutive pair of sizes of each experiment
        the panel keys, size_low, size_high, b_local, b_local_err, reason.
        An experiment with fewer than two sizes with an m_c gives one row of
        NaN with the reason.
    """
    keys = panel_keys(mc_table)
    columns = [*keys, *LOCAL_EXPONENT_STATS]
    if mc_table.empty:
        return empty_table(columns, strings=("experiment", "size_key", "reason"))
    rows = []
    for values, group in mc_table.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        good = group[np.isfinite(group["m_c"]) & (group["m_c"] > 0)].sort_values("size")
        if len(good) < 2:
            rows.append({**ident, "size_low": np.nan, "size_high": np.nan, "b_local": np.nan, "b_local_err": np.nan,
                         "reason": "fewer than two sizes with an m_c"})
            continue
        size = good["size"].to_numpy(dtype=float)
        log_mc = np.log(good["m_c"].to_numpy(dtype=float))
        rel = (good["m_c_err"] / good["m_c"]).to_numpy(dtype=float)
        for i in range(len(good) - 1):
            dx = np.log(size[i + 1]) - np.log(size[i])
            rows.append({**ident, "size_low": size[i], "size_high": size[i + 1],
                         "b_local": (log_mc[i + 1] - log_mc[i]) / dx,
                         "b_local_err": float(np.hypot(rel[i], rel[i + 1]) / dx), "reason": ""})
    return pd.DataFrame(rows, columns=columns)


def sharpening(mc_table: pd.DataFrame) -> pd.DataFrame:
    """Does the transition sharpen with size? Fit w = C size^(-1/nu) to the
    logistic widths of :func:`critical_m` (weighted least squares of log w
    against log size, errors scaled by sqrt(chi2/dof) when it exceeds 1).

    Returns
    -------
    DataFrame, one row per experiment (and scanned parameters)
        inv_nu (1/nu; > 0: the width shrinks with size), inv_nu_err,
        inv_nu_err_unscaled, error_scale, C, n_points, chi2, dof,
        chi2_per_dof, sharpens ('yes' if inv_nu exceeds twice its error,
        'no' if it is below minus twice its error, 'undecided' otherwise;
        '' when inv_nu is NaN), reason (why inv_nu is NaN). Only sizes
        whose width has an error enter; fewer than two give NaN.
    """
    keys = panel_keys(mc_table)
    columns = [*keys, *SHARPENING_STATS]
    if mc_table.empty or "width" not in mc_table.columns:
        return empty_table(columns, strings=("experiment", "size_key", "sharpens", "reason"))
    rows = []
    for values, group in mc_table.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        w = group["width"].to_numpy(dtype=float)
        w_err = group["width_err"].to_numpy(dtype=float)
        good = np.isfinite(w) & (w > 0) & np.isfinite(w_err) & (w_err > 0)
        fit = fit_line(np.log(group["size"].to_numpy(dtype=float)[good]), np.log(w[good]), w_err[good] / w[good],
                       what="sizes with a measured width")
        if not np.isfinite(group["m_c"].to_numpy(dtype=float)).any():
            fit["reason"] = "no transition at any size"
        inv_nu, err = -fit["slope"], fit["slope_err"]
        verdict = "" if not np.isfinite(inv_nu) else ("yes" if inv_nu > 2 * err else "no" if inv_nu < -2 * err
                                                          else "undecided")
        rows.append({**ident, "inv_nu": inv_nu, "inv_nu_err": err, "inv_nu_err_unscaled": fit["slope_err_unscaled"],
                     "error_scale": fit["error_scale"], "C": np.exp(fit["intercept"]), "n_points": fit["n_points"],
                     "chi2": fit["chi2"], "dof": fit["dof"], "chi2_per_dof": fit["chi2_per_dof"],
                     "sharpens": verdict, "reason": fit["reason"]})
    return pd.DataFrame(rows, columns=columns)

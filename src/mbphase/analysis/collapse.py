"""Finite-size-scaling collapse of P_succ(m; size), Houdayer-Hartmann style.

Two scaling forms of the control variable are supported:

- ``"critical"``: x = (m - m_c) * size^(1/nu), parameters (m_c, nu): a
  common critical point approached with a size-dependent width;
- ``"power"``: x = m / size^b, parameter (b,): the transition sits at
  m_c proportional to size^b and has a width proportional to m_c.

The quality of a collapse is the measure of Houdayer and Hartmann (Phys.
Rev. B 70, 014418, 2004), as documented for pyfssa (Sorge, 2015, which no
longer imports under NumPy 2 and is re-implemented here): every scaled point
(x_ij, y_ij) of size i is compared with a local estimate of the master curve
built from the *other* sizes only. From each other size i' the two points
that bracket x_ij are taken; a weighted straight-line fit through all of
them gives Y_ij and its variance dY_ij^2, and

    S = (1 / N_terms) * sum_ij (y_ij - Y_ij)^2 / (dy_ij^2 + dY_ij^2)

over the points where the master curve is defined. S is close to 1 for a
collapse consistent with the errors and much larger otherwise.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import optimize

from mbphase.analysis.grouping import empty_table, key_dict, panel_keys
from mbphase.analysis.success import psucc_sigma

FORMS = {"critical": ("m_c", "nu"), "power": ("b",)}
COLLAPSE_COLUMNS = ("form", "parameter", "value", "error", "S", "n_terms", "n_points", "converged", "at_bound")


def scaled_x(m, size, form: str, params) -> np.ndarray:
    """The scaled control variable of a collapse.

    Parameters
    ----------
    m : array_like
        Mini-batch sizes, patterns.
    size : array_like, broadcastable with ``m``
        d or N of each point.
    form : 'critical' | 'power'
        See the module docstring.
    params : sequence or mapping
        (m_c, nu) for 'critical' (m_c in patterns, nu > 0), (b,) for 'power'.
        A mapping is read by parameter name.

    Returns
    -------
    ndarray of float, the broadcast shape of ``m`` and ``size``
    """
    if form not in FORMS:
        raise ValueError(f"unknown scaling form {form!r}; allowed: {sorted(FORMS)}")
    if isinstance(params, dict):
        params = [params[name] for name in FORMS[form]]
    m = np.asarray(m, dtype=float)
    size = np.asarray(size, dtype=float)
    if form == "critical":
        m_c, nu = params
        return (m - m_c) * size ** (1.0 / nu)
    (b,) = params
    return m / size**b


def quality(xs: list[np.ndarray], ys: list[np.ndarray], dys: list[np.ndarray]) -> tuple[float, int]:
    """Houdayer-Hartmann collapse quality S of scaled curves.

    Parameters
    ----------
    xs, ys, dys : lists of 1-D arrays, one entry per size
        Scaled control variable (increasing within each size), observable
        and its standard error (> 0). Sizes may have different lengths.

    Returns
    -------
    S, n_terms : float, int
        The mean squared deviation from the master curve in units of the
        combined error, and the number of points where the master curve was
        defined (NaN and 0 when there are none).
    """
    x_all = np.concatenate(xs)
    y_all = np.concatenate(ys)
    dy_all = np.concatenate(dys)
    owner = np.repeat(np.arange(len(xs)), [len(x) for x in xs])
    # Weighted sums over the selected neighbours of every point:
    # K, Kx, Ky, Kxx, Kxy of the two bracketing points of each other size.
    k, kx, ky, kxx, kxy = np.zeros((5, len(x_all)))
    for j, (xo, yo, dyo) in enumerate(zip(xs, ys, dys)):
        if len(xo) < 2:
            continue
        left = np.searchsorted(xo, x_all, side="right") - 1
        # A point equal to the last x of the other size is bracketed by its
        # last interval.
        left = np.where(x_all == xo[-1], len(xo) - 2, left)
        inside = np.nonzero((left >= 0) & (left <= len(xo) - 2) & (owner != j))[0]
        wo = 1.0 / dyo**2
        for idx in (left[inside], left[inside] + 1):
            w, xs_, ys_ = wo[idx], xo[idx], yo[idx]
            k[inside] += w
            kx[inside] += w * xs_
            ky[inside] += w * ys_
            kxx[inside] += w * xs_ * xs_
            kxy[inside] += w * xs_ * ys_
    delta = k * kxx - kx**2
    # delta vanishes where nothing was selected, or where every selected point
    # has the same x (no line to fit).
    defined = delta > 1e-12 * np.maximum(k * kxx, 1e-300)
    n_terms = int(defined.sum())
    if n_terms == 0:
        return float("nan"), 0
    k, kx, ky, kxx, kxy, delta, x = (a[defined] for a in (k, kx, ky, kxx, kxy, delta, x_all))
    master = ((kxx * ky - kx * kxy) + (k * kxy - kx * ky) * x) / delta
    master_var = (kxx - 2 * kx * x + k * x**2) / delta
    terms = (y_all[defined] - master) ** 2 / (dy_all[defined] ** 2 + master_var)
    return float(terms.mean()), n_terms


@dataclasses.dataclass
class CollapseResult:
    """Outcome of :func:`fit_collapse`.

    Attributes
    ----------
    form : str
        'critical' or 'power'.
    params, errors : dict name -> float
        Fitted parameters and their standard errors (NaN when the curvature
        of S at the minimum is not positive definite).
    S : float
        Quality at the minimum (near 1: collapse within the errors).
    n_terms, n_points : int
        Points where the master curve was defined at the minimum, and points
        used.
    converged : bool
        Whether Nelder-Mead reported convergence.
    at_bound : bool
        Whether the minimum lies on the edge of the search box (the range of
        the starting grid): then the true minimum may lie outside it and the
        parameters are not a measurement.
    """

    form: str
    params: dict
    errors: dict
    S: float
    n_terms: int
    n_points: int
    converged: bool
    at_bound: bool

    def rows(self) -> list[dict]:
        """One tidy row per parameter (columns of :data:`COLLAPSE_COLUMNS`)."""
        return [{"form": self.form, "parameter": name, "value": self.params[name], "error": self.errors[name],
                 "S": self.S, "n_terms": self.n_terms, "n_points": self.n_points, "converged": self.converged,
                 "at_bound": self.at_bound}
                for name in FORMS[self.form]]


def transition_window(p: np.ndarray) -> np.ndarray:
    """Boolean mask of the points of one curve P(m) that carry information on
    the transition: from the last point at P = 0 before the first P > 0 to
    the first point at P = 1 after the last P < 1, both included.

    The flat tails beyond them collapse trivially onto each other whatever
    the scaling parameters, and would only dilute S (and let a wrong
    parameter choice that overlaps tails with tails look good).
    """
    p = np.asarray(p, dtype=float)
    keep = np.ones(len(p), dtype=bool)
    positive = np.nonzero(p > 0)[0]
    below_one = np.nonzero(p < 1)[0]
    if len(positive):
        keep[: max(positive[0] - 1, 0)] = False
    if len(below_one):
        keep[below_one[-1] + 2:] = False
    return keep


def _curves(table: pd.DataFrame, trim: bool):
    """Per-size arrays (size, m, y, dy) from a psucc table, sorted by m."""
    table = table[table["n_runs"] > 0].sort_values(["size", "m"])
    sigma = psucc_sigma(table)
    curves = []
    for size, idx in table.groupby("size", sort=True).indices.items():
        m = table["m"].to_numpy(dtype=float)[idx]
        y = table["p_succ"].to_numpy(dtype=float)[idx]
        dy = sigma[idx]
        keep = transition_window(y) if trim else np.ones(len(y), dtype=bool)
        if keep.sum() >= 2:
            curves.append((float(size), m[keep], y[keep], dy[keep]))
    return curves


def fit_collapse(
    table: pd.DataFrame,
    form: str = "power",
    grid: dict | None = None,
    trim: bool = True,
    min_overlap: float = 0.5,
) -> CollapseResult:
    """Fit the scaling parameters of one experiment's P_succ curves.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`mbphase.analysis.success.psucc_table` for one panel
        (one experiment): size, m, p_succ, ci_low, ci_high, n_runs. The error
        of each P_succ is the Wilson half-width / 1.96, which stays positive
        at P = 0 and 1.
    form : 'critical' | 'power'
    grid : dict name -> 1-D array, optional
        Starting-grid values of each parameter. Defaults: b in [-1, 3]
        (81 values); m_c over the measured m range (25 values), nu in
        [0.2, 10] log-spaced (25 values).
    trim : bool
        Restrict each curve to its transition window
        (:func:`transition_window`).
    min_overlap : float
        A parameter choice for which the master curve is defined at fewer
        than this fraction of the points is rejected (S = inf): otherwise
        pushing the sizes apart until they barely overlap would be rewarded.

    Returns
    -------
    CollapseResult

    Notes
    -----
    Minimisation: S on the full starting grid, then Nelder-Mead from the
    best grid point (a poor start gets stuck in a local minimum of this
    piecewise-smooth function), constrained to the box spanned by the grid.

    Errors: the recipe of pyfssa (after Nelder and Mead, 1965): fit a
    quadratic form to S around the minimum, Hessian H, and take the
    covariance as 2 S_min H^{-1}. Each error is then the change of that
    parameter (the others re-optimised) that raises S from S_min to
    2 S_min in the quadratic approximation; when S_min is near 1 this is
    the rise of S by 1 of Houdayer and Hartmann. Here the quadratic is
    fitted by least squares on a grid spanning that rise (see
    :func:`_curvature_covariance`), because S has kinks on smaller scales.
    Since S is a mean over N_terms points, a rise of S by S_min is a rise of
    the total chi^2 by N_terms S_min, so these errors are wider than a
    delta-chi^2 = 1 error by about sqrt(N_terms S_min): deliberately
    conservative, as the master curve is itself estimated from the data.
    They mean something only when S_min is of order 1: a large S_min says
    the scaling form does not describe the data.
    """
    names = FORMS.get(form)
    if names is None:
        raise ValueError(f"unknown scaling form {form!r}; allowed: {sorted(FORMS)}")
    curves = _curves(table, trim)
    n_points = int(sum(len(c[1]) for c in curves))
    nan = {name: float("nan") for name in names}
    if len(curves) < 2:
        return CollapseResult(form, dict(nan), dict(nan), float("nan"), 0, n_points, False, False)

    ys = [c[2] for c in curves]
    dys = [c[3] for c in curves]

    def objective(theta) -> float:
        if form == "critical" and theta[1] <= 0:
            return np.inf
        xs = [scaled_x(c[1], c[0], form, theta) for c in curves]
        if not all(np.all(np.isfinite(x)) for x in xs):
            return np.inf
        s, n_terms = quality(xs, ys, dys)
        if n_terms < max(3, min_overlap * n_points) or not np.isfinite(s):
            return np.inf
        return s

    axes = _default_grid(form, curves) if grid is None else [np.asarray(grid[name], dtype=float) for name in names]
    mesh = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(names), -1).T
    scan = np.array([objective(theta) for theta in mesh])
    if not np.isfinite(scan).any():
        return CollapseResult(form, dict(nan), dict(nan), float("nan"), 0, n_points, False, False)
    start = mesh[int(np.argmin(scan))]
    steps = [np.ptp(a) / max(len(a) - 1, 1) for a in axes]
    simplex = np.vstack([start] + [start + np.eye(len(names))[i] * steps[i] for i in range(len(names))])
    bounds = [(float(a.min()), float(a.max())) for a in axes]
    simplex = np.clip(simplex, [b[0] for b in bounds], [b[1] for b in bounds])
    # Converged when the simplex has shrunk below 1e-4 grid steps: S jumps
    # where points enter or leave the overlap, so a tolerance on the spread
    # of S over the simplex may never be met at a minimum sitting on a jump.
    result = optimize.minimize(objective, start, method="Nelder-Mead", bounds=bounds,
                               options={"initial_simplex": simplex, "xatol": 1e-4 * min(steps), "fatol": np.inf,
                                        "maxiter": 2000})
    best = result.x if result.fun <= scan.min() else start
    spans = np.array([hi - lo for lo, hi in bounds])
    at_bound = bool(np.any((np.abs(best - [b[0] for b in bounds]) < 1e-6 * spans)
                           | (np.abs(best - [b[1] for b in bounds]) < 1e-6 * spans)))
    s_min = float(objective(best))
    xs = [scaled_x(c[1], c[0], form, best) for c in curves]
    n_terms = quality(xs, ys, dys)[1]
    cov = _curvature_covariance(objective, best, s_min, steps)
    params = {name: float(v) for name, v in zip(names, best)}
    errors = {name: float(np.sqrt(cov[i, i])) if cov[i, i] >= 0 else float("nan") for i, name in enumerate(names)}
    return CollapseResult(form, params, errors, s_min, n_terms, n_points, bool(result.success), at_bound)


def _default_grid(form: str, curves) -> list[np.ndarray]:
    if form == "power":
        return [np.linspace(-1.0, 3.0, 81)]
    m_all = np.concatenate([c[1] for c in curves])
    return [np.linspace(m_all.min(), m_all.max(), 25), np.geomspace(0.2, 10.0, 25)]


def _curvature_covariance(objective, best, s_min, scales) -> np.ndarray:
    """2 S_min H^{-1}, H the Hessian of a quadratic fitted to S around
    ``best``.

    S is only piecewise smooth: points change bracket, and enter or leave
    the set where the master curve is defined, as the parameters move, so
    finite differences with small steps measure the kinks rather than the
    width of the minimum. Instead, along each axis a step h_i is found at
    which S has risen by about S_min (the scale of the error itself), and a
    full quadratic is fitted by least squares to S on the grid
    best + {-1, -1/2, 0, 1/2, 1} h (in every dimension).
    """
    n = len(best)
    nan = np.full((n, n), np.nan)
    if not np.isfinite(s_min) or s_min <= 0:
        return nan

    def mean_rise(i, h):
        e = np.zeros(n)
        e[i] = h
        return 0.5 * (objective(best + e) + objective(best - e)) - s_min

    h = np.zeros(n)
    for i in range(n):
        low, high = 0.0, 1e-3 * max(scales[i], 1e-8)
        for _ in range(60):
            if mean_rise(i, high) >= s_min:
                break
            low, high = high, 2 * high
        else:
            return nan
        for _ in range(8):
            mid = 0.5 * (low + high)
            low, high = (mid, high) if mean_rise(i, mid) < s_min else (low, mid)
        h[i] = high
    offsets = np.array(np.meshgrid(*[np.linspace(-1, 1, 5)] * n, indexing="ij")).reshape(n, -1).T * h
    values = np.array([objective(best + d) for d in offsets])
    good = np.isfinite(values)
    pairs = [(a, b) for a in range(n) for b in range(a, n)]
    design = np.column_stack([np.ones(len(offsets)), offsets,
                              *[offsets[:, a] * offsets[:, b] * (0.5 if a == b else 1.0) for a, b in pairs]])
    if good.sum() < design.shape[1] + 1:
        return nan
    coef = np.linalg.lstsq(design[good], values[good], rcond=None)[0]
    hess = np.empty((n, n))
    for c, (a, b) in zip(coef[1 + n:], pairs):
        hess[a, b] = hess[b, a] = c
    eigenvalues = np.linalg.eigvalsh(hess)
    if eigenvalues.min() <= 0:
        return nan
    return 2.0 * s_min * np.linalg.inv(hess)


def collapse_table(psucc: pd.DataFrame, forms=("power", "critical"), **kwargs) -> pd.DataFrame:
    """Fit every scaling form for every experiment of a psucc table.

    Parameters
    ----------
    psucc : DataFrame
        Output of :func:`mbphase.analysis.success.psucc_table`.
    forms : iterable of 'critical' | 'power'
    **kwargs
        Passed on to :func:`fit_collapse`.

    Returns
    -------
    DataFrame
        experiment, size_key, [scanned parameters], form, parameter, value,
        error, S, n_terms, n_points, converged, at_bound; one row per
        parameter.
        Experiments with fewer than two sizes give NaN values.
    """
    keys = panel_keys(psucc)
    columns = [*keys, *COLLAPSE_COLUMNS]
    if psucc.empty:
        return empty_table(columns, strings=("experiment", "size_key", "form", "parameter"))
    rows = []
    for values, group in psucc.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        for form in forms:
            rows.extend({**ident, **row} for row in fit_collapse(group, form, **kwargs).rows())
    return pd.DataFrame(rows, columns=columns)


def add_scaled_x(psucc: pd.DataFrame, collapse: pd.DataFrame, form: str = "power") -> pd.DataFrame:
    """The psucc table with a column ``x_scaled``: each point's scaled
    variable under the fitted parameters of its experiment (NaN where the
    fit failed or is missing). For plotting the collapse.

    Parameters
    ----------
    psucc : DataFrame
        Output of :func:`mbphase.analysis.success.psucc_table`.
    collapse : DataFrame
        Output of :func:`collapse_table`.
    form : 'critical' | 'power'
    """
    out = psucc.copy()
    out["x_scaled"] = np.nan
    names = list(FORMS[form])
    if out.empty or collapse.empty or "form" not in collapse.columns:
        return out
    keys = [k for k in panel_keys(psucc) if k in collapse.columns]
    fitted = collapse[collapse["form"] == form]
    wide = fitted.pivot_table(index=keys, columns="parameter", values="value", aggfunc="first",
                              dropna=False).reset_index() if len(fitted) else pd.DataFrame(columns=keys)
    for name in names:
        if name not in wide.columns:
            wide[name] = np.nan
    # A merge, not a dictionary lookup: tables concatenated from several
    # experiments carry NaN in the keys one experiment scans and another does
    # not, and merge matches NaN with NaN.
    merged = out[keys].merge(wide[[*keys, *names]].drop_duplicates(subset=keys), on=keys, how="left")
    theta = [merged[name].to_numpy(dtype=float) for name in names]
    with np.errstate(invalid="ignore", divide="ignore"):
        x = scaled_x(out["m"].to_numpy(dtype=float), out["size"].to_numpy(dtype=float), form, theta)
    out["x_scaled"] = np.where(np.all(np.isfinite(theta), axis=0), x, np.nan)
    return out

"""Finite-size-scaling collapse of P_succ(m; size), Houdayer-Hartmann style.

The question is shape invariance: do the curves of all sizes fall on one
curve against x = m / size^b? (the transition sits at m_c proportional to
size^b and has a width proportional to m_c). Whether the transition
sharpens with size is a separate question, answered by the widths
(:func:`mbphase.analysis.critical.sharpening`).

Only curves that carry information on the transition enter: a size whose
P_succ has no point strictly between 0 and 1 is left out (its flat curve
overlaps anything), and fewer than two such sizes give NaN with a reason.
The search for b is centred on the power-law fit of m_c (b_pl +- 1, no
fixed bounds); a minimum on the edge of the search range is not a
measurement and gives NaN with a reason.

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

COLLAPSE_COLUMNS = ("b", "b_err", "S", "n_terms", "n_points", "n_sizes", "b_power_law", "search_low", "search_high",
                    "converged", "at_bound", "reason")
# Half-width of the search range around the power-law b, and grid points.
SEARCH_HALF_WIDTH = 1.0
SEARCH_POINTS = 81


def scaled_x(m, size, b) -> np.ndarray:
    """The scaled control variable x = m / size^b.

    Parameters
    ----------
    m : array_like
        Mini-batch sizes, patterns.
    size : array_like, broadcastable with ``m``
        d or N of each point.
    b : float or array_like broadcastable with ``m``

    Returns
    -------
    ndarray of float, the broadcast shape
    """
    m = np.asarray(m, dtype=float)
    size = np.asarray(size, dtype=float)
    return m / size ** np.asarray(b, dtype=float)


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
    b, b_err : float
        Fitted exponent of x = m / size^b and its error (NaN when the fit
        is not a measurement: see ``reason``).
    S : float
        Quality at the minimum (near 1: collapse within the errors).
    n_terms, n_points, n_sizes : int
        Points where the master curve was defined at the minimum, points
        used, sizes used (those with a transition on the grid).
    b_power_law, search_low, search_high : float
        The power-law b the search was centred on and the search range.
    converged : bool
        Whether Nelder-Mead reported convergence.
    at_bound : bool
        Whether the minimum lies on the edge of the search range.
    reason : str
        Why b is NaN ('' when it is not).
    """

    b: float
    b_err: float
    S: float
    n_terms: int
    n_points: int
    n_sizes: int
    b_power_law: float
    search_low: float
    search_high: float
    converged: bool
    at_bound: bool
    reason: str = ""

    def row(self) -> dict:
        """The result as a row of :data:`COLLAPSE_COLUMNS`."""
        return {name: getattr(self, name) for name in COLLAPSE_COLUMNS}


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


def has_transition(p) -> bool:
    """Whether a curve has at least one point strictly between 0 and 1."""
    p = np.asarray(p, dtype=float)
    return bool(np.any((p > 0) & (p < 1)))


def _curves(table: pd.DataFrame, trim: bool):
    """Per-size arrays (size, m, y, dy) from a psucc table, sorted by m; only
    sizes whose curve has a point with 0 < P_succ < 1."""
    table = table[table["n_runs"] > 0].sort_values(["size", "m"])
    sigma = psucc_sigma(table)
    curves = []
    for size, idx in table.groupby("size", sort=True).indices.items():
        m = table["m"].to_numpy(dtype=float)[idx]
        y = table["p_succ"].to_numpy(dtype=float)[idx]
        dy = sigma[idx]
        if not has_transition(y):
            continue
        keep = transition_window(y) if trim else np.ones(len(y), dtype=bool)
        if keep.sum() >= 2:
            curves.append((float(size), m[keep], y[keep], dy[keep]))
    return curves


def fit_collapse(
    table: pd.DataFrame,
    b_centre: float,
    half_width: float = SEARCH_HALF_WIDTH,
    trim: bool = True,
    min_overlap: float = 0.5,
) -> CollapseResult:
    """Fit b of the collapse x = m / size^b of one experiment's P_succ curves.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`mbphase.analysis.success.psucc_table` for one panel
        (one experiment): size, m, p_succ, ci_low, ci_high, n_runs. The error
        of each P_succ is the Wilson half-width / 1.96, which stays positive
        at P = 0 and 1.
    b_centre : float
        Centre of the search range (the power-law b of m_c); NaN gives a
        NaN result with a reason.
    half_width : float
        The search range is b_centre +- half_width (81 grid points).
    trim : bool
        Restrict each curve to its transition window
        (:func:`transition_window`).
    min_overlap : float
        A b for which the master curve is defined at fewer than this
        fraction of the points is rejected (S = inf): otherwise pushing the
        sizes apart until they barely overlap would be rewarded.

    Returns
    -------
    CollapseResult

    Notes
    -----
    Minimisation: S on the starting grid, then Nelder-Mead from the best
    grid point (a poor start gets stuck in a local minimum of this
    piecewise-smooth function), constrained to the search range.

    Error: the recipe of pyfssa (after Nelder and Mead, 1965): fit a
    quadratic to S around the minimum, curvature H, and take the variance
    as 2 S_min / H: the change of b that raises S from S_min to 2 S_min in
    the quadratic approximation; when S_min is near 1 this is the rise of S
    by 1 of Houdayer and Hartmann. The quadratic is fitted by least squares
    on a grid spanning that rise (see :func:`_curvature_covariance`),
    because S has kinks on smaller scales. Deliberately conservative (the
    master curve is itself estimated from the data); it means something
    only when S_min is of order 1.
    """
    curves = _curves(table, trim)
    n_points = int(sum(len(c[1]) for c in curves))
    lo, hi = b_centre - half_width, b_centre + half_width

    def failed(reason, **extra):
        base = dict(b=np.nan, b_err=np.nan, S=np.nan, n_terms=0, n_points=n_points, n_sizes=len(curves),
                    b_power_law=float(b_centre), search_low=float(lo), search_high=float(hi), converged=False,
                    at_bound=False, reason=reason)
        base.update(extra)
        return CollapseResult(**base)

    if len(curves) < 2:
        return failed(f"{len(curves)} size(s) with a point 0 < P_succ < 1; a collapse needs two")
    if not np.isfinite(b_centre):
        return failed("no power-law b to centre the search on")

    ys = [c[2] for c in curves]
    dys = [c[3] for c in curves]

    def objective(theta) -> float:
        xs = [scaled_x(c[1], c[0], theta[0]) for c in curves]
        if not all(np.all(np.isfinite(x)) for x in xs):
            return np.inf
        s, n_terms = quality(xs, ys, dys)
        if n_terms < max(3, min_overlap * n_points) or not np.isfinite(s):
            return np.inf
        return s

    axis = np.linspace(lo, hi, SEARCH_POINTS)
    scan = np.array([objective([b]) for b in axis])
    if not np.isfinite(scan).any():
        return failed("the curves do not overlap for any b in the search range")
    start = np.array([axis[int(np.argmin(scan))]])
    step = float(axis[1] - axis[0])
    simplex = np.clip(np.array([start, start + step]), lo, hi)
    # Converged when the simplex has shrunk below 1e-4 grid steps: S jumps
    # where points enter or leave the overlap, so a tolerance on the spread
    # of S over the simplex may never be met at a minimum sitting on a jump.
    result = optimize.minimize(objective, start, method="Nelder-Mead", bounds=[(lo, hi)],
                               options={"initial_simplex": simplex, "xatol": 1e-4 * step, "fatol": np.inf,
                                        "maxiter": 2000})
    best = result.x if result.fun <= scan.min() else start
    s_min = float(objective(best))
    xs = [scaled_x(c[1], c[0], best[0]) for c in curves]
    n_terms = quality(xs, ys, dys)[1]
    at_bound = bool(abs(best[0] - lo) < 1e-6 * (hi - lo) or abs(best[0] - hi) < 1e-6 * (hi - lo))
    if at_bound:
        return failed("the minimum of S lies on the edge of the search range", S=s_min, n_terms=n_terms,
                      at_bound=True, converged=bool(result.success))
    cov = _curvature_covariance(objective, best, s_min, [step])
    err = float(np.sqrt(cov[0, 0])) if cov[0, 0] >= 0 else float("nan")
    return CollapseResult(float(best[0]), err, s_min, n_terms, n_points, len(curves), float(b_centre), float(lo),
                          float(hi), bool(result.success), False, "")


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


def collapse_table(psucc: pd.DataFrame, power_law: pd.DataFrame | None = None, **kwargs) -> pd.DataFrame:
    """Fit the collapse of every experiment of a psucc table.

    Parameters
    ----------
    psucc : DataFrame
        Output of :func:`mbphase.analysis.success.psucc_table`.
    power_law : DataFrame, optional
        Output of :func:`mbphase.analysis.critical.power_law`: its b centres
        each experiment's search (without it, or where it is NaN, the
        collapse is NaN with a reason).
    **kwargs
        Passed on to :func:`fit_collapse`.

    Returns
    -------
    DataFrame, one row per experiment (and scanned parameters)
        the panel keys and :data:`COLLAPSE_COLUMNS`.
    """
    keys = panel_keys(psucc)
    columns = [*keys, *COLLAPSE_COLUMNS]
    if psucc.empty:
        return empty_table(columns, strings=("experiment", "size_key", "reason"))
    centres = {}
    if power_law is not None and not power_law.empty:
        pl_keys = [k for k in keys if k in power_law.columns]
        for _, row in power_law.iterrows():
            centres[tuple(str(row[k]) for k in pl_keys)] = float(row["b"])
    else:
        pl_keys = keys
    rows = []
    for values, group in psucc.groupby(keys, dropna=False, sort=True):
        ident = key_dict(keys, values)
        centre = centres.get(tuple(str(ident[k]) for k in pl_keys), float("nan"))
        rows.append({**ident, **fit_collapse(group, centre, **kwargs).row()})
    return pd.DataFrame(rows, columns=columns)


def add_scaled_x(psucc: pd.DataFrame, collapse: pd.DataFrame) -> pd.DataFrame:
    """The psucc table with a column ``x_scaled`` = m / size^b under the
    fitted b of its experiment (NaN where the fit failed or is missing, and
    for sizes without a point 0 < P_succ < 1, which the fit left out). For
    plotting the collapse.

    Parameters
    ----------
    psucc : DataFrame
        Output of :func:`mbphase.analysis.success.psucc_table`.
    collapse : DataFrame
        Output of :func:`collapse_table`.
    """
    out = psucc.copy()
    out["x_scaled"] = np.nan
    if out.empty or collapse.empty or "b" not in collapse.columns:
        return out
    keys = [k for k in panel_keys(psucc) if k in collapse.columns]
    # A merge, not a dictionary lookup: tables concatenated from several
    # experiments carry NaN in the keys one experiment scans and another does
    # not, and merge matches NaN with NaN.
    merged = out[keys].merge(collapse[[*keys, "b"]].drop_duplicates(subset=keys), on=keys, how="left")
    b = merged["b"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = scaled_x(out["m"].to_numpy(dtype=float), out["size"].to_numpy(dtype=float), b)
    transitions = out.groupby([*keys, "size"], dropna=False)["p_succ"].transform(
        lambda p: has_transition(p.to_numpy(dtype=float)))
    out["x_scaled"] = np.where(np.isfinite(b) & transitions.to_numpy(dtype=bool), x, np.nan)
    return out

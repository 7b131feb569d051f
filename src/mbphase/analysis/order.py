"""Order of the transition: how the final overlap q behaves across m_c.

A first-order transition shows two coexisting populations of runs near m_c
(failed runs at low q, solved runs at q = 1): a bimodal histogram, and a
jump of the mean overlap that sharpens with size. A second-order one shows
a single peak that moves continuously.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from mbphase.analysis.grouping import (
    empty_table,
    key_dict,
    ok_mask,
    panel_keys,
    point_keys,
    require_columns,
    scanned_parameters,
    series_keys,
)

# Overlaps lie in [-1, 1]; one common set of bins keeps histograms of
# different sizes and m comparable.
DEFAULT_BINS = np.linspace(-1.0, 1.0, 41)

# The bimodality coefficient of a uniform distribution; larger values
# suggest two modes (SAS convention).
BIMODALITY_THRESHOLD = 5.0 / 9.0


def bimodality_coefficient(values) -> float:
    """Sarle's bimodality coefficient BC = (g^2 + 1) / (k + 3 (n-1)^2 / ((n-2)(n-3))).

    Parameters
    ----------
    values : 1-D array_like
        Samples (NaN are dropped).

    Returns
    -------
    float
        g is the bias-corrected sample skewness, k the bias-corrected excess
        kurtosis. BC is 1/3 for a normal distribution, 5/9 for a uniform one
        and tends to 1 for two equal point masses; above 5/9 suggests
        bimodality. NaN with fewer than 4 finite values or zero variance.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 4 or np.ptp(x) == 0:
        return float("nan")
    g = stats.skew(x, bias=False)
    k = stats.kurtosis(x, fisher=True, bias=False)
    return float((g**2 + 1) / (k + 3 * (n - 1) ** 2 / ((n - 2) * (n - 3))))


def overlap_curve(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean final overlap against m.

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


def overlap_jump(curve: pd.DataFrame) -> pd.DataFrame:
    """Largest change of the mean overlap between consecutive m, per size.

    Parameters
    ----------
    curve : DataFrame
        Output of :func:`overlap_curve`.

    Returns
    -------
    DataFrame, one row per (experiment, size, [scanned parameters])
        jump (q_mean(m_above) - q_mean(m_below) for the consecutive pair with
        the largest absolute change; signed), jump_err (the two standard
        errors in quadrature), m_below, m_above. A jump that grows with size
        while m_above / m_below stays fixed points to a first-order
        transition. NaN with fewer than two m values.
    """
    keys = [*panel_keys(curve), "size"] if not curve.empty else ["experiment", "size_key", "size"]
    columns = [*keys, "jump", "jump_err", "m_below", "m_above"]
    if curve.empty:
        return empty_table(columns)
    rows = []
    for values, group in curve.groupby(keys, dropna=False, sort=True):
        group = group.sort_values("m")
        q = group["q_mean"].to_numpy(dtype=float)
        sem = group["q_sem"].to_numpy(dtype=float)
        m = group["m"].to_numpy()
        row = {**key_dict(keys, values), "jump": np.nan, "jump_err": np.nan, "m_below": np.nan, "m_above": np.nan}
        if len(q) >= 2 and np.isfinite(np.diff(q)).any():
            dq = np.diff(q)
            j = int(np.nanargmax(np.abs(dq)))
            row.update(jump=float(dq[j]), jump_err=float(np.hypot(sem[j], sem[j + 1])),
                       m_below=float(m[j]), m_above=float(m[j + 1]))
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def bimodality_table(runs: pd.DataFrame, mc_table: pd.DataFrame) -> pd.DataFrame:
    """Bimodality of the final overlap at the grid point nearest m_c.

    Parameters
    ----------
    runs : DataFrame
        The run table (ok runs with finite q count).
    mc_table : DataFrame
        Output of :func:`mbphase.analysis.critical.critical_m`.

    Returns
    -------
    DataFrame, one row per row of ``mc_table``
        the mc_table keys, m_c, m (the measured m nearest m_c in log m; NaN
        when m_c is NaN: without a transition there is no point to look at),
        n_runs, bimodality (:func:`bimodality_coefficient` of q there),
        bimodal (bimodality > 5/9), q_mean, q_std.
    """
    keys = series_keys(runs, scanned_parameters(runs)) if not runs.empty else ["experiment", "size_key", "size"]
    columns = [*keys, "m_c", "m", "n_runs", "bimodality", "bimodal", "q_mean", "q_std"]
    if mc_table.empty or runs.empty:
        return empty_table(columns)
    keys = [k for k in keys if k in mc_table.columns]
    columns = [*keys, "m_c", "m", "n_runs", "bimodality", "bimodal", "q_mean", "q_std"]
    ok = runs.loc[ok_mask(runs)]
    groups = {k if isinstance(k, tuple) else (k,): g for k, g in ok.groupby(keys, dropna=False, sort=False)}
    rows = []
    for _, mc_row in mc_table.iterrows():
        ident = {k: mc_row[k] for k in keys}
        row = {**ident, "m_c": mc_row["m_c"], "m": np.nan, "n_runs": 0, "bimodality": np.nan, "bimodal": False,
               "q_mean": np.nan, "q_std": np.nan}
        group = groups.get(tuple(ident[k] for k in keys))
        if group is not None and np.isfinite(mc_row["m_c"]):
            m_values = np.unique(group["m"].to_numpy(dtype=float))
            m_near = float(m_values[np.argmin(np.abs(np.log(m_values) - np.log(mc_row["m_c"])))])
            q = group.loc[group["m"] == m_near, "q"].to_numpy(dtype=float)
            q = q[np.isfinite(q)]
            bc = bimodality_coefficient(q)
            row.update(m=m_near, n_runs=len(q), bimodality=bc, bimodal=bool(bc > BIMODALITY_THRESHOLD),
                       q_mean=float(np.mean(q)) if len(q) else np.nan,
                       q_std=float(np.std(q, ddof=1)) if len(q) > 1 else np.nan)
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def overlap_histograms(runs: pd.DataFrame, bins=DEFAULT_BINS) -> pd.DataFrame:
    """Histogram of the final overlap q at every point.

    Parameters
    ----------
    runs : DataFrame
        The run table (ok runs with finite q count).
    bins : 1-D array
        Common bin edges (default: 40 bins of width 0.05 over [-1, 1]; the
        last bin includes its right edge, so q = 1 is counted).

    Returns
    -------
    DataFrame
        experiment, size_key, size, [scanned parameters], m, bin_left,
        bin_right, count; every bin of every point, empty bins included, so
        that a plot needs no further work.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "q"], "overlap_histograms")
    keys = point_keys(runs, scanned_parameters(runs))
    columns = [*keys, "bin_left", "bin_right", "count"]
    bins = np.asarray(bins, dtype=float)
    frame = runs.loc[ok_mask(runs), [*keys, "q"]]
    frame = frame[np.isfinite(frame["q"].to_numpy(dtype=float))]
    parts = []
    for values, group in frame.groupby(keys, dropna=False, sort=True):
        counts, _ = np.histogram(group["q"].to_numpy(dtype=float), bins=bins)
        part = pd.DataFrame({"bin_left": bins[:-1], "bin_right": bins[1:], "count": counts.astype(np.int64)})
        for k, v in key_dict(keys, values).items():
            part.insert(len(part.columns) - 3, k, v)
        parts.append(part)
    if not parts:
        return empty_table(columns)
    return pd.concat(parts, ignore_index=True)[columns]

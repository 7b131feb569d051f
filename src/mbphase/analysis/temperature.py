"""Effective temperature of greedy mini-batch dynamics (finite data).

With a fixed training set of P patterns, greedy dynamics on mini-batches of
m < P patterns that has not solved the problem settles in a stationary state
with training energy per pattern E_greedy(m) (``energy_late``). Metropolis
dynamics on the full training set (m = P) at temperature T settles at
E_metropolis(T). The effective temperature is the T with

    E_metropolis(T_eff(m)) = E_greedy(m),

found by inverting the measured E_metropolis(T) over the grid of T.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mbphase.analysis.grouping import empty_table, group_rng, key_dict, ok_mask, require_columns, success_array

# Columns that must agree between a greedy run and its Metropolis baseline:
# the same model and the same training-set size. (Refresh and proposal order
# do not matter at m = P.)
MATCH_COLUMNS = ("size_key", "size", "train_size", "architecture", "weights", "topology", "task", "K", "d", "N",
                 "inputs")

T_EFF_COLUMNS = ("experiment", "size_key", "size", "train_size", "m", "n_runs", "energy_late", "energy_late_sem",
                 "T_eff", "T_eff_err", "in_range", "range_side", "n_boot_valid")
BASELINE_COLUMNS = ("experiment", "size_key", "size", "train_size", "temperature", "n_runs", "energy_late",
                    "energy_late_sem", "energy_monotone")

SIDE_INSIDE = "inside"
SIDE_BELOW = "below"  # greedy energy below E(T_min): T_eff < T_min
SIDE_ABOVE = "above"  # greedy energy above E(T_max): T_eff > T_max
SIDE_NO_BASELINE = "no baseline"


def isotonic_increasing(y, w) -> np.ndarray:
    """Weighted least-squares non-decreasing fit (pool adjacent violators).

    Parameters
    ----------
    y : 1-D array
        Values in grid order (here mean energy at increasing T).
    w : 1-D array, positive
        Weights (here the number of runs at each T).

    Returns
    -------
    ndarray, the shape of ``y``
        The closest non-decreasing sequence; statistical noise that makes
        E(T) locally decrease is pooled into flat steps, so that the inverse
        is defined.
    """
    values, weights, lengths = [], [], []
    for yi, wi in zip(np.asarray(y, dtype=float), np.asarray(w, dtype=float)):
        values.append(yi)
        weights.append(wi)
        lengths.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            wsum = weights[-2] + weights[-1]
            merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
            length = lengths[-2] + lengths[-1]
            del values[-1], weights[-1], lengths[-1]
            values[-1], weights[-1], lengths[-1] = merged, wsum, length
    return np.repeat(values, lengths)


def invert_monotone(t_grid, energy, target) -> tuple[float, str]:
    """T with energy(T) = target on a non-decreasing curve, by linear
    interpolation.

    Parameters
    ----------
    t_grid : 1-D array, increasing
        Temperatures.
    energy : 1-D array, non-decreasing (e.g. from :func:`isotonic_increasing`)
    target : float

    Returns
    -------
    T, side : float, str
        side is 'inside' when target lies in [energy[0], energy[-1]]; then T
        is the interpolated temperature (on a flat step, its lowest
        temperature). Outside, T is NaN and side says which way the target
        left the grid ('below': T_eff < min T, 'above': T_eff > max T): the
        grid does not say how far out, so no number is made up.
    """
    t_grid = np.asarray(t_grid, dtype=float)
    energy = np.asarray(energy, dtype=float)
    if not np.isfinite(target):
        return float("nan"), SIDE_INSIDE
    if target < energy[0]:
        return float("nan"), SIDE_BELOW
    if target > energy[-1]:
        return float("nan"), SIDE_ABOVE
    j = int(np.argmax(energy >= target))
    if j == 0:
        return float(t_grid[0]), SIDE_INSIDE
    frac = (target - energy[j - 1]) / (energy[j] - energy[j - 1])
    return float(t_grid[j - 1] + frac * (t_grid[j] - t_grid[j - 1])), SIDE_INSIDE


def _selection(runs: pd.DataFrame):
    """Masks of the usable greedy and baseline rows."""
    ok = ok_mask(runs)
    energy = runs["energy_late"].to_numpy(dtype=float)
    train = pd.to_numeric(runs["train_size"], errors="coerce").to_numpy(dtype=float)
    temperature = runs["temperature"].to_numpy(dtype=float)
    m = runs["m"].to_numpy(dtype=float)
    finite = ok & (runs["data"].astype("string") == "finite").fillna(False).to_numpy(dtype=bool)
    finite &= np.isfinite(train) & np.isfinite(energy)
    greedy = finite & (temperature == 0) & (m < train) & ~success_array(runs)
    baseline = finite & (m == train) & (temperature > 0)
    return greedy, baseline


def _seed_matrix(frame: pd.DataFrame, column: str, seeds: np.ndarray):
    """(seeds x grid) matrix of mean energy_late, NaN where a seed has no run,
    and the grid values."""
    table = frame.pivot_table(index="seed", columns=column, values="energy_late", aggfunc="mean")
    table = table.reindex(seeds)
    return table.to_numpy(dtype=float), table.columns.to_numpy(dtype=float)


def _means(matrix, draws=None):
    """Mean over seeds of each column (optionally over a bootstrap draw of
    seed rows), with the number of runs that entered it."""
    sample = matrix if draws is None else matrix[draws]
    valid = np.isfinite(sample)
    count = valid.sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(valid, sample, 0.0).sum(axis=-2) / count
    return mean, count


def effective_temperature(runs: pd.DataFrame, n_boot: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """T_eff(m) for every greedy finite-data point with a matching baseline.

    Parameters
    ----------
    runs : DataFrame
        The run table, with both the greedy runs and the Metropolis baseline
        (they may belong to different experiments). Needs experiment,
        size_key, size, m, seed, success, temperature, data, train_size,
        energy_late, and whichever of :data:`MATCH_COLUMNS` exist.
        Greedy rows: data 'finite', temperature 0, m < train_size, not
        solved, finite energy_late. Baseline rows: data 'finite',
        m == train_size, temperature > 0, finite energy_late (so baseline
        runs that solved and stopped early do not enter: the baseline is
        the energy of the unsolved state, like the greedy one).
    n_boot : int
        Bootstrap replicates for T_eff_err.
    seed : int
        Bootstrap seed (the result is deterministic).

    Returns
    -------
    t_eff, baseline : DataFrame, DataFrame
        t_eff: one row per greedy (experiment, size, train_size, m):
        n_runs, energy_late (mean over runs, per pattern), energy_late_sem,
        T_eff, T_eff_err, in_range (bool), range_side ('inside', 'below',
        'above', 'no baseline'), n_boot_valid.
        baseline: the Metropolis curve used: experiment, size_key, size,
        train_size, temperature, n_runs, energy_late, energy_late_sem,
        energy_monotone (the non-decreasing fit that is inverted).

    Notes
    -----
    E_metropolis(T) is made non-decreasing by weighted isotonic regression
    before inversion (a higher temperature cannot lower the stationary
    energy; measured decreases are noise). T_eff_err is the standard
    deviation of T_eff over bootstrap replicates that resample whole seeds,
    with the same draw of seed labels applied to the greedy and the baseline
    runs (a seed label carries one teacher and training set when both come
    from the same experiment); replicates that fall outside the grid are
    left out and counted in n_boot_valid.
    """
    require_columns(runs, ["experiment", "size_key", "size", "m", "seed", "success", "temperature", "data",
                           "train_size", "energy_late"], "effective_temperature")
    if runs.empty:
        return empty_table(T_EFF_COLUMNS, ("experiment", "size_key", "range_side")), \
            empty_table(BASELINE_COLUMNS)
    greedy_mask, baseline_mask = _selection(runs)
    match = [c for c in MATCH_COLUMNS if c in runs.columns]
    frame = runs.copy()
    frame["train_size"] = pd.to_numeric(frame["train_size"], errors="coerce").astype(float)
    greedy_rows = frame[greedy_mask]
    baseline_rows = frame[baseline_mask]
    baselines = {k if isinstance(k, tuple) else (k,): g for k, g in baseline_rows.groupby(match, dropna=False)}

    t_eff_rows, baseline_out = [], []
    reported = set()
    for (experiment, *match_values), group in greedy_rows.groupby(["experiment", *match], dropna=False, sort=True):
        ident = key_dict(match, tuple(match_values))
        base = baselines.get(tuple(match_values))
        seeds = np.unique(np.concatenate([group["seed"].to_numpy(),
                                          base["seed"].to_numpy() if base is not None else np.array([], int)]))
        g_matrix, m_grid = _seed_matrix(group, "m", seeds)
        g_mean, g_count = _means(g_matrix)
        with np.errstate(invalid="ignore"):
            g_sem = np.nanstd(g_matrix, axis=0, ddof=1) / np.sqrt(g_count)
        g_sem = np.where(g_count > 1, g_sem, np.nan)
        base_row = {"experiment": experiment, "size_key": ident["size_key"], "size": ident["size"],
                    "train_size": ident["train_size"]}
        usable = base is not None and base["temperature"].nunique() >= 2
        if usable:
            b_matrix, t_grid = _seed_matrix(base, "temperature", seeds)
            b_mean, b_count = _means(b_matrix)
            usable = bool(np.all(b_count > 0))
        if not usable:
            for j, m in enumerate(m_grid):
                t_eff_rows.append({**base_row, "m": m, "n_runs": int(g_count[j]), "energy_late": g_mean[j],
                                   "energy_late_sem": g_sem[j], "T_eff": np.nan, "T_eff_err": np.nan,
                                   "in_range": False, "range_side": SIDE_NO_BASELINE, "n_boot_valid": 0})
            continue
        b_fit = isotonic_increasing(b_mean, b_count)
        with np.errstate(invalid="ignore"):
            b_sem = np.nanstd(b_matrix, axis=0, ddof=1) / np.sqrt(b_count)
        if tuple(match_values) not in reported:
            # One curve per baseline, however many greedy experiments use it;
            # baselines pooled from several experiments are named by all.
            reported.add(tuple(match_values))
            name = "+".join(sorted(base["experiment"].astype(str).unique()))
            for i, temperature in enumerate(t_grid):
                baseline_out.append({"experiment": name, "size_key": ident["size_key"], "size": ident["size"],
                                     "train_size": ident["train_size"], "temperature": temperature,
                                     "n_runs": int(b_count[i]), "energy_late": b_mean[i],
                                     "energy_late_sem": b_sem[i] if b_count[i] > 1 else np.nan,
                                     "energy_monotone": b_fit[i]})

        boot = np.full((n_boot, len(m_grid)), np.nan)
        if n_boot > 0:
            rng = group_rng(seed, {"experiment": experiment, **ident})
            draws = rng.integers(0, len(seeds), size=(n_boot, len(seeds)))
            g_boot, _ = _means(g_matrix, draws)
            b_boot, b_boot_count = _means(b_matrix, draws)
            for r in range(n_boot):
                if np.any(b_boot_count[r] == 0):
                    continue
                curve = isotonic_increasing(b_boot[r], b_boot_count[r])
                boot[r] = [invert_monotone(t_grid, curve, target)[0] for target in g_boot[r]]
        for j, m in enumerate(m_grid):
            t_value, side = invert_monotone(t_grid, b_fit, g_mean[j])
            finite = np.isfinite(boot[:, j])
            err = float(np.std(boot[finite, j], ddof=1)) if finite.sum() >= 2 else np.nan
            t_eff_rows.append({**base_row, "m": m, "n_runs": int(g_count[j]), "energy_late": g_mean[j],
                               "energy_late_sem": g_sem[j], "T_eff": t_value,
                               "T_eff_err": err if side == SIDE_INSIDE else np.nan,
                               "in_range": side == SIDE_INSIDE, "range_side": side, "n_boot_valid": int(finite.sum())})
    t_eff = pd.DataFrame(t_eff_rows, columns=list(T_EFF_COLUMNS))
    t_eff["m"] = t_eff["m"].astype(np.int64)
    baseline = pd.DataFrame(baseline_out, columns=list(BASELINE_COLUMNS))
    if t_eff.empty:
        t_eff = empty_table(T_EFF_COLUMNS, ("experiment", "size_key", "range_side"))
    if baseline.empty:
        baseline = empty_table(BASELINE_COLUMNS)
    return t_eff, baseline

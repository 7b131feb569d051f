"""Effective temperature of greedy mini-batch dynamics (finite data).

With a fixed training set of P patterns, greedy dynamics on mini-batches of
m < P patterns that has not solved the problem settles in a stationary state
with training energy per pattern E_greedy(m) (``energy_late``). Metropolis
dynamics on the full training set (m = P) at temperature T settles at
E_metropolis(T). The effective temperature is the T with

    E_metropolis(T_eff(m)) = E_greedy(m),

found by inverting the measured E_metropolis(T) over the grid of T. T is
in units of the total error count (Metropolis accepts a move that adds dE
misclassified training patterns with probability exp(-dE / T)), so T_eff
grows with P.

A Metropolis point counts only if it is equilibrated: every baseline point
is run from random and from teacher weights, and the two late energies must
agree within EQUILIBRIUM_SIGMAS combined standard errors. Points that fail
(or lack the teacher start) are flagged in the baseline table and left out
of the interpolation.
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
                 "T_eff", "T_eff_err", "in_range", "range_side", "n_boot_valid", "T_unit")
BASELINE_COLUMNS = ("experiment", "size_key", "size", "train_size", "temperature", "n_runs", "energy_late",
                    "energy_late_sem", "n_runs_teacher", "energy_late_teacher", "energy_late_teacher_sem",
                    "start_gap_sigma", "equilibrated", "energy_monotone", "reason", "T_unit")
T_UNIT = "total training errors (T_eff grows with P)"
# Two starts agree if their late energies differ by at most this many
# combined standard errors.
EQUILIBRIUM_SIGMAS = 2.0

SIDE_INSIDE = "inside"
SIDE_BELOW = "below"  # greedy energy below E(T_min): T_eff < T_min
SIDE_ABOVE = "above"  # greedy energy above E(T_max): T_eff > T_max
SIDE_NO_BASELINE = "no baseline"


def isotonic_increasing(y, w) -> np.ndarray:
    """Weighted least-squares non-decreasing fit
    (``scipy.optimize.isotonic_regression``).

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
    from scipy.optimize import isotonic_regression

    y = np.asarray(y, dtype=float)
    if len(y) == 0:
        return y.copy()
    return isotonic_regression(y, weights=np.asarray(w, dtype=float), increasing=True).x


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
    init = runs["init"].astype("string").fillna("random").to_numpy() if "init" in runs.columns else np.full(len(runs), "random")
    return greedy, baseline & (init != "teacher"), baseline & (init == "teacher")


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


def _start_agreement(t_grid, mean, sem, teacher: pd.DataFrame | None) -> dict:
    """Per temperature of the random-start baseline: the teacher-start late
    energy and whether the two starts agree within EQUILIBRIUM_SIGMAS
    combined standard errors."""
    n = len(t_grid)
    out = {"n_runs_teacher": np.zeros(n, dtype=np.int64), "energy_late_teacher": np.full(n, np.nan),
           "energy_late_teacher_sem": np.full(n, np.nan), "start_gap_sigma": np.full(n, np.nan),
           "equilibrated": np.zeros(n, dtype=bool), "reason": np.full(n, "", dtype=object)}
    for i, temperature in enumerate(t_grid):
        rows = teacher[teacher["temperature"] == temperature] if teacher is not None else None
        energies = rows["energy_late"].to_numpy(dtype=float) if rows is not None else np.zeros(0)
        energies = energies[np.isfinite(energies)]
        out["n_runs_teacher"][i] = len(energies)
        if len(energies) < 2 or not np.isfinite(sem[i]):
            out["reason"][i] = "no teacher-start runs to check equilibrium" if len(energies) == 0 else \
                "too few runs to compare the two starts"
            continue
        t_mean = float(energies.mean())
        t_sem = float(energies.std(ddof=1) / np.sqrt(len(energies)))
        combined = float(np.hypot(sem[i], t_sem))
        gap = abs(mean[i] - t_mean)
        # Energies equal up to rounding agree whatever their spread (a
        # noise-free baseline has a spread of rounding size too).
        if gap <= 1e-12 * max(abs(t_mean), 1.0):
            sigma = 0.0
        else:
            sigma = gap / combined if combined > 0 else np.inf
        out["energy_late_teacher"][i], out["energy_late_teacher_sem"][i] = t_mean, t_sem
        out["start_gap_sigma"][i] = sigma
        out["equilibrated"][i] = bool(sigma <= EQUILIBRIUM_SIGMAS)
        if not out["equilibrated"][i]:
            out["reason"][i] = (f"not equilibrated: random and teacher starts end {sigma:.1f} standard errors apart "
                                f"(energy {mean[i]:.4g} vs {t_mean:.4g})")
    return out


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
        'above', 'no baseline': fewer than two equilibrated baseline
        points), n_boot_valid, T_unit.
        baseline: the Metropolis curve: experiment, size_key, size,
        train_size, temperature, n_runs, energy_late, energy_late_sem (the
        random start), n_runs_teacher, energy_late_teacher,
        energy_late_teacher_sem (the teacher start), start_gap_sigma (their
        difference in combined standard errors), equilibrated, energy_monotone
        (the non-decreasing fit that is inverted, over the equilibrated
        points only; NaN elsewhere), reason (why a point is left out), T_unit.

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
        return empty_table(T_EFF_COLUMNS, ("experiment", "size_key", "range_side", "T_unit")), \
            empty_table(BASELINE_COLUMNS, ("experiment", "size_key", "reason", "T_unit"))
    greedy_mask, baseline_mask, teacher_mask = _selection(runs)
    match = [c for c in MATCH_COLUMNS if c in runs.columns]
    frame = runs.copy()
    frame["train_size"] = pd.to_numeric(frame["train_size"], errors="coerce").astype(float)
    greedy_rows = frame[greedy_mask]
    baseline_rows = frame[baseline_mask]
    baselines = {k if isinstance(k, tuple) else (k,): g for k, g in baseline_rows.groupby(match, dropna=False)}
    teachers = {k if isinstance(k, tuple) else (k,): g for k, g in frame[teacher_mask].groupby(match, dropna=False)}

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
        equilibrated = np.zeros(0, dtype=bool)
        if base is not None and len(base):
            b_matrix_all, t_all = _seed_matrix(base, "temperature", seeds)
            b_mean_all, b_count_all = _means(b_matrix_all)
            with np.errstate(invalid="ignore"):
                b_sem_all = np.nanstd(b_matrix_all, axis=0, ddof=1) / np.sqrt(b_count_all)
            b_sem_all = np.where(b_count_all > 1, b_sem_all, np.nan)
            check = _start_agreement(t_all, b_mean_all, b_sem_all, teachers.get(tuple(match_values)))
            equilibrated = check["equilibrated"]
            b_fit_all = np.full(len(t_all), np.nan)
            if equilibrated.sum() >= 1:
                b_fit_all[equilibrated] = isotonic_increasing(b_mean_all[equilibrated], b_count_all[equilibrated])
            if tuple(match_values) not in reported:
                # One curve per baseline, however many greedy experiments use
                # it; baselines pooled from several experiments are named by all.
                reported.add(tuple(match_values))
                name = "+".join(sorted(base["experiment"].astype(str).unique()))
                for i, temperature in enumerate(t_all):
                    baseline_out.append({"experiment": name, "size_key": ident["size_key"], "size": ident["size"],
                                         "train_size": ident["train_size"], "temperature": temperature,
                                         "n_runs": int(b_count_all[i]), "energy_late": b_mean_all[i],
                                         "energy_late_sem": b_sem_all[i],
                                         **{k: check[k][i] for k in ("n_runs_teacher", "energy_late_teacher",
                                                                     "energy_late_teacher_sem", "start_gap_sigma",
                                                                     "equilibrated", "reason")},
                                         "energy_monotone": b_fit_all[i], "T_unit": T_UNIT})
        usable = int(equilibrated.sum()) >= 2
        if usable:
            b_matrix, t_grid = b_matrix_all[:, equilibrated], t_all[equilibrated]
            b_mean, b_count = b_mean_all[equilibrated], b_count_all[equilibrated]
            usable = bool(np.all(b_count > 0))
        if not usable:
            for j, m in enumerate(m_grid):
                t_eff_rows.append({**base_row, "m": m, "n_runs": int(g_count[j]), "energy_late": g_mean[j],
                                   "energy_late_sem": g_sem[j], "T_eff": np.nan, "T_eff_err": np.nan,
                                   "in_range": False, "range_side": SIDE_NO_BASELINE, "n_boot_valid": 0,
                                   "T_unit": T_UNIT})
            continue
        b_fit = isotonic_increasing(b_mean, b_count)

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
                               "in_range": side == SIDE_INSIDE, "range_side": side, "n_boot_valid": int(finite.sum()),
                               "T_unit": T_UNIT})
    t_eff = pd.DataFrame(t_eff_rows, columns=list(T_EFF_COLUMNS))
    t_eff["m"] = t_eff["m"].astype(np.int64)
    baseline = pd.DataFrame(baseline_out, columns=list(BASELINE_COLUMNS))
    if t_eff.empty:
        t_eff = empty_table(T_EFF_COLUMNS, ("experiment", "size_key", "range_side", "T_unit"))
    if baseline.empty:
        baseline = empty_table(BASELINE_COLUMNS, ("experiment", "size_key", "reason", "T_unit"))
    else:
        baseline["equilibrated"] = baseline["equilibrated"].astype(bool)
    return t_eff, baseline

"""Synthetic run tables with known answers, for the analysis and plot tests.

Each factory draws every random number from one ``numpy.random.Generator``
seeded by its ``rng_seed`` argument, so the tables are identical on every
call. Only the columns the analysis reads are filled, plus a few model
columns so that the tables look like real ones.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd
from scipy.special import expit


def _base_columns(experiment: str, size_key: str, size: int, m, seed, K: int = 3) -> dict:
    n = len(m)
    d = size if size_key == "d" else 5
    return {
        "experiment": [experiment] * n,
        "size_key": [size_key] * n,
        "size": np.full(n, size, dtype=np.int64),
        "architecture": ["sparse" if size_key == "d" else "dense"] * n,
        "weights": ["discrete"] * n,
        "topology": ["tree" if size_key == "d" else "random"] * n,
        "task": ["committee"] * n,
        "K": np.full(n, K, dtype=np.int64),
        "d": np.full(n, d, dtype=np.int64),
        "N": np.full(n, K * d if size_key == "d" else size, dtype=np.int64),
        "m": np.asarray(m, dtype=np.int64),
        "base_seed": np.zeros(n, dtype=np.int64),
        "seed": np.asarray(seed, dtype=np.int64),
    }


def bernoulli_runs(
    prob: Callable[[np.ndarray, float], np.ndarray],
    sizes,
    m_grid: Callable[[float], np.ndarray],
    n_seeds: int,
    experiment: str = "sparse_committee",
    size_key: str = "d",
    rng_seed: int = 0,
    diverged_fraction: float = 0.0,
    seed_effect: float = 0.0,
) -> pd.DataFrame:
    """Runs whose success is Bernoulli(prob(m, size)).

    Parameters
    ----------
    prob : callable (m array, size) -> probabilities, same shape as m
    sizes : iterable of int
    m_grid : callable size -> 1-D int array of mini-batch sizes
    n_seeds : int
        Seeds per size; seed s is shared by every m of a size.
    diverged_fraction : float
        Fraction of rows marked status 'diverged' (success False, observables
        NaN), to exercise the status filter.
    seed_effect : float
        Standard deviation of a per-seed shift of the logit: a "hard teacher"
        effect that correlates the outcomes of one seed across m.

    Observables: a solved run has q = 1, gen_error = 0, t_solve ~ 100 (m_c/m)^2
    x Gamma noise, t_run = ceil(t_solve) (it stops), and NaN late averages; a failed run has q ~ N(0.35, 0.05)
    (a first-order picture: two well separated peaks), gen_error around 0.2,
    t_solve NaN, t_run 10000 (the budget), energy_late around 0.1.
    """
    rng = np.random.default_rng(rng_seed)
    parts = []
    for size in sizes:
        grid = np.asarray(m_grid(size), dtype=np.int64)
        m = np.tile(grid, n_seeds)
        seed = np.repeat(np.arange(n_seeds), len(grid))
        logit_shift = rng.normal(0.0, seed_effect, n_seeds)[seed] if seed_effect > 0 else 0.0
        p = np.clip(prob(m.astype(float), float(size)), 1e-12, 1 - 1e-12)
        p = expit(np.log(p / (1 - p)) + logit_shift)
        success = rng.random(len(m)) < p
        n = len(m)
        q = np.where(success, 1.0, np.clip(rng.normal(0.35, 0.05, n), -1, 1))
        gen_error = np.where(success, 0.0, np.clip(rng.normal(0.2, 0.02, n), 0, 0.5))
        t_solve = np.where(success, 100.0 * (grid.max() / m) ** 2 * rng.gamma(4.0, 0.25, n), np.nan)
        energy_late = np.where(success, np.nan, np.clip(rng.normal(0.1, 0.01, n), 0, 1))
        status = np.where(rng.random(n) < diverged_fraction, "diverged", "ok")
        bad = status != "ok"
        frame = pd.DataFrame({
            **_base_columns(experiment, size_key, int(size), m, seed),
            "data": ["online"] * n,
            "train_size": pd.array([pd.NA] * n, dtype="Int64"),
            "temperature": np.zeros(n),
            "status": status,
            "success": success & ~bad,
            "t_solve": np.where(bad, np.nan, t_solve),
            # runs stop at success; the others run the whole budget
            "t_run": np.where(success & ~bad, np.ceil(np.nan_to_num(t_solve)), 10000).astype(np.int64),
            "q": np.where(bad, np.nan, q),
            "gen_error": np.where(bad, np.nan, gen_error),
            "gen_error_se": np.where(bad, np.nan, np.sqrt(gen_error * (1 - gen_error) / 10000)),
            "q_late": np.where(bad | success, np.nan, q),
            "energy_late": np.where(bad, np.nan, energy_late),
        })
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def log_grid(m_c: float, factor: float = 2.0, points: int = 11) -> np.ndarray:
    """Integer mini-batch sizes geometrically spaced in [m_c/factor, m_c*factor]."""
    return np.unique(np.round(m_c * np.geomspace(1 / factor, factor, points)).astype(np.int64))


def transition_runs(
    A: float = 2.0,
    b: float = 1.2,
    width: float = 0.12,
    sizes=(15, 25, 35, 45),
    n_seeds: int = 40,
    experiment: str = "sparse_committee",
    size_key: str = "d",
    rng_seed: int = 0,
    diverged_fraction: float = 0.0,
) -> pd.DataFrame:
    """A sharp transition at m_c(size) = A size^b, logistic in log m:
    P_succ = expit((log m - log m_c) / width), on a grid of 11 points spanning
    a factor 2 either side of each size's m_c."""
    def prob(m, size):
        return expit((np.log(m) - np.log(A * size**b)) / width)

    return bernoulli_runs(prob, sizes, lambda size: log_grid(A * size**b), n_seeds, experiment, size_key,
                          rng_seed, diverged_fraction)


def temperature_runs(
    size: int = 15,
    train_size: int = 500,
    m_values=(5, 10, 20, 40, 80, 160, 300),
    temperatures=np.round(np.linspace(0.1, 2.0, 20), 3),
    n_seeds: int = 12,
    e0: float = 0.02,
    slope: float = 0.05,
    noise: float = 0.002,
    t_of_m: Callable[[np.ndarray], np.ndarray] = lambda m: 20.0 / m,
    greedy_experiment: str = "finite_greedy",
    baseline_experiment: str = "finite_metropolis",
    rng_seed: int = 0,
    teacher_offset: Callable[[np.ndarray], np.ndarray] | None = lambda t: np.zeros_like(t),
) -> pd.DataFrame:
    """Finite-data runs with a linear stationary energy E(T) = e0 + slope T.

    The Metropolis baseline (m = train_size, temperature on the grid) has
    energy_late = E(T) + noise; greedy runs (temperature 0, m < train_size)
    have energy_late = E(t_of_m(m)) + noise, so the effective temperature is
    t_of_m(m) where that lies inside the grid. With the defaults m = 5 lies
    above the grid (T = 4) and m = 300 below it (T = 0.067). Each greedy m
    also gets one solved run (success True, energy_late NaN) that the
    analysis must ignore.

    Every baseline point is also run from the teacher's weights (init
    'teacher'), with energy E(T) + teacher_offset(T) + noise: an offset of 0
    is an equilibrated point; a negative one a run that stayed near the
    teacher (not equilibrated). teacher_offset None: no teacher-start runs.
    """
    rng = np.random.default_rng(rng_seed)
    temperatures = np.asarray(temperatures, dtype=float)
    m_values = np.asarray(m_values, dtype=np.int64)

    def block(experiment, m, seed, temperature, energy, success, init="random"):
        n = len(m)
        return pd.DataFrame({
            **_base_columns(experiment, "d", size, m, seed),
            "init": [init] * n,
            "data": ["finite"] * n,
            "train_size": pd.array(np.full(n, train_size), dtype="Int64"),
            "temperature": temperature,
            "status": ["ok"] * n,
            "success": success,
            "t_solve": np.where(success, 10.0, np.nan),
            "t_run": np.where(success, 10, 400).astype(np.int64),
            "q": np.where(success, 1.0, 0.5),
            "gen_error": np.where(success, 0.0, 0.2),
            "gen_error_se": np.where(success, 0.0, 0.004),
            "q_late": np.where(success, np.nan, 0.5),
            "energy_late": energy,
        })

    seed_b = np.repeat(np.arange(n_seeds), len(temperatures))
    temp_b = np.tile(temperatures, n_seeds)
    baseline = block(baseline_experiment, np.full(len(seed_b), train_size), seed_b, temp_b,
                     e0 + slope * temp_b + rng.normal(0, noise, len(seed_b)), np.zeros(len(seed_b), bool))
    seed_g = np.repeat(np.arange(n_seeds), len(m_values))
    m_g = np.tile(m_values, n_seeds)
    greedy = block(greedy_experiment, m_g, seed_g, np.zeros(len(m_g)),
                   e0 + slope * t_of_m(m_g.astype(float)) + rng.normal(0, noise, len(m_g)), np.zeros(len(m_g), bool))
    solved = block(greedy_experiment, m_values, np.full(len(m_values), n_seeds), np.zeros(len(m_values)),
                   np.full(len(m_values), np.nan), np.ones(len(m_values), bool))
    parts = [greedy, solved, baseline]
    if teacher_offset is not None:
        parts.append(block(baseline_experiment, np.full(len(seed_b), train_size), seed_b, temp_b,
                           e0 + slope * temp_b + teacher_offset(temp_b) + rng.normal(0, noise, len(seed_b)),
                           np.zeros(len(seed_b), bool), init="teacher"))
    return pd.concat(parts, ignore_index=True)


def order_runs(
    kind: str,
    A: float = 2.0,
    b: float = 1.2,
    width: float = 0.08,
    sizes=(15, 25, 35),
    n_seeds: int = 40,
    noise: float = 0.03,
    rng_seed: int = 0,
) -> pd.DataFrame:
    """A transition at m_c = A size^b (as :func:`transition_runs`) whose
    unsolved runs have a known stationary overlap q_late(x), x = m / m_c:

    - ``"first"``: q_late = 0.40 + 0.05 x: a low-overlap state that ignores
      m_c; the gap 1 - q_late at m_c is 0.55 at every size;
    - ``"second"``: q_late = 1 - 0.6 sqrt(1 - x) for x < 1 (1 above): the
      gap closes continuously at m_c (a mean-field order parameter);
    - ``"near_one"``: q_late = 0.95 at every m: unsolved runs sitting next
      to the solution, which with the solved runs at q = 1 makes the final
      overlap near m_c look like two peaks (the old bimodality tautology);

    each plus N(0, noise). energy_late of the unsolved runs is 0.5 (1 -
    q_late) (with the same noise); solved runs have q = 1 and NaN late values.
    """
    shapes = {
        "first": lambda x: 0.40 + 0.05 * x,
        "second": lambda x: 1.0 - 0.6 * np.sqrt(np.clip(1.0 - x, 0.0, None)),
        "near_one": lambda x: np.full_like(x, 0.95),
    }
    runs = transition_runs(A=A, b=b, width=width, sizes=sizes, n_seeds=n_seeds, rng_seed=rng_seed)
    rng = np.random.default_rng([rng_seed, 1])
    x = runs["m"].to_numpy(float) / (A * runs["size"].to_numpy(float) ** b)
    q = np.clip(shapes[kind](x) + rng.normal(0.0, noise, len(runs)), -1.0, 1.0)
    solved = runs["success"].to_numpy(bool)
    runs["q_late"] = np.where(solved, np.nan, q)
    runs["q"] = np.where(solved, 1.0, q)
    runs["energy_late"] = np.where(solved, np.nan, np.clip(0.5 * (1.0 - q), 0.0, 1.0))
    return runs


def budget_runs(
    A: float = 1.0,
    b: float = 1.5,
    g0: float = 0.2,
    g1: float = 0.0,
    t0: float = 100.0,
    width: float = 0.1,
    sizes=(9, 27, 81),
    budget: Callable[[float], int] = lambda size: 4000,
    n_seeds: int = 48,
    rng_seed: int = 0,
    experiment: str = "budget_committee",
) -> pd.DataFrame:
    """Runs whose times to solution give a known m_c(size, t).

    m_c(size, t) = A size^b (t / t0)^(-g(size)) with g(size) = g0 + g1 ln
    size, so that b(t) = b - g1 ln(t / t0) exactly. Run r at mini-batch m
    solves at t_solve = t0 exp((ln(A size^b) - ln m + width u_r) / g(size))
    with u_r standard logistic: P(t_solve <= t) = expit((ln m - ln m_c(t)) /
    width), a logistic in ln m centred on m_c(t) at every t. A run with
    t_solve beyond its size's budget did not solve (t_solve NaN, t_run and
    max_sweeps the budget). g(size) = 0 means m_c does not depend on t:
    t_solve is then 0 above m_c and never below it.
    """
    rng = np.random.default_rng(rng_seed)
    parts = []
    for size in sizes:
        m_c = A * size**b
        grid = np.unique(np.round(m_c * np.geomspace(0.25, 4.0, 21)).astype(np.int64))
        m = np.tile(grid, n_seeds)
        seed = np.repeat(np.arange(n_seeds), len(grid))
        n = len(m)
        u = rng.logistic(size=n)
        g = g0 + g1 * np.log(size)
        excess = np.log(m_c) - np.log(m) + width * u
        if g > 0:
            t_solve = t0 * np.exp(excess / g)
        else:
            t_solve = np.where(excess < 0, 0.0, np.inf)
        T = int(budget(size))
        solved = t_solve <= T
        frame = pd.DataFrame({
            **_base_columns(experiment, "d", int(size), m, seed),
            "data": ["online"] * n,
            "train_size": pd.array([pd.NA] * n, dtype="Int64"),
            "temperature": np.zeros(n),
            "max_sweeps": np.full(n, T, dtype=np.int64),
            "status": ["ok"] * n,
            "success": solved,
            "t_solve": np.where(solved, np.ceil(t_solve), np.nan),
            "t_run": np.where(solved, np.ceil(np.where(solved, t_solve, 0)), T).astype(np.int64),
            # the other observables of the full analysis, as in bernoulli_runs
            "q": np.where(solved, 1.0, 0.35),
            "gen_error": np.where(solved, 0.0, 0.2),
            "gen_error_se": np.where(solved, 0.0, 0.004),
            "q_late": np.where(solved, np.nan, 0.35),
            "energy_late": np.where(solved, np.nan, 0.1),
        })
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def hitting_runs(log_tau: Callable[[float], float], sizes=(9, 27, 81, 243), n_seeds: int = 64, budget: float = 1e12,
                 rng_seed: int = 0, experiment: str = "hitting_committee") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs whose times to solution are exponential with mean
    exp(log_tau(size)) * (m / m_c)^(-2), m_c = size^1.5, on a grid of m / m_c
    from 0.6 to 2.5; and the matching ``critical`` table (m_c per size).
    Runs beyond ``budget`` are censored there."""
    rng = np.random.default_rng(rng_seed)
    parts, critical = [], []
    for size in sizes:
        m_c = float(size) ** 1.5
        grid = np.unique(np.round(m_c * np.geomspace(0.6, 2.5, 13)).astype(np.int64))
        m = np.tile(grid, n_seeds)
        seed = np.repeat(np.arange(n_seeds), len(grid))
        n = len(m)
        t = rng.exponential(np.exp(log_tau(size)) * (m / m_c) ** -2.0)
        solved = t <= budget
        parts.append(pd.DataFrame({
            **_base_columns(experiment, "d", int(size), m, seed),
            "status": ["ok"] * n,
            "success": solved,
            "t_solve": np.where(solved, t, np.nan),
            "t_run": np.where(solved, np.ceil(t), budget),
        }))
        critical.append({"experiment": experiment, "size_key": "d", "size": int(size), "m_c": m_c})
    return pd.concat(parts, ignore_index=True), pd.DataFrame(critical)

"""Effective temperature from a synthetic linear E(T)."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis.temperature import effective_temperature, invert_monotone, isotonic_increasing
from synthetic import temperature_runs, transition_runs


def test_isotonic_regression_pools_violators():
    assert isotonic_increasing([1, 3, 2, 4], [1, 1, 1, 1]).tolist() == [1, 2.5, 2.5, 4]
    assert isotonic_increasing([1, 3, 2], [1, 1, 3]).tolist() == pytest.approx([1, 2.25, 2.25])
    assert isotonic_increasing([3, 2, 1], [1, 1, 1]).tolist() == [2, 2, 2]
    ordered = np.array([0.1, 0.2, 0.4])
    assert isotonic_increasing(ordered, np.ones(3)).tolist() == ordered.tolist()


def test_invert_monotone():
    t = np.array([0.5, 1.0, 2.0])
    e = np.array([0.1, 0.2, 0.2])
    assert invert_monotone(t, e, 0.15) == (pytest.approx(0.75), "inside")
    assert invert_monotone(t, e, 0.2) == (1.0, "inside")  # a flat step: its lowest temperature
    assert invert_monotone(t, e, 0.1) == (0.5, "inside")
    value, side = invert_monotone(t, e, 0.05)
    assert np.isnan(value) and side == "below"
    value, side = invert_monotone(t, e, 0.3)
    assert np.isnan(value) and side == "above"


def test_noise_free_linear_energy_gives_the_exact_temperature():
    runs = temperature_runs(noise=0.0, m_values=(10, 20, 40, 80, 160))
    t_eff, _ = effective_temperature(runs, n_boot=20)
    np.testing.assert_allclose(t_eff["T_eff"], 20.0 / t_eff["m"], rtol=1e-9)
    assert t_eff["in_range"].all()


def test_t_eff_recovered_within_bootstrap_errors():
    runs = temperature_runs(noise=0.002, n_seeds=12, rng_seed=0)
    t_eff, baseline = effective_temperature(runs, n_boot=200, seed=0)
    t_eff = t_eff.set_index("m")
    assert (t_eff["experiment"] == "finite_greedy").all()
    # The solved run at each m (energy_late NaN) is not counted.
    assert (t_eff["n_runs"] == 12).all()
    inside = t_eff[t_eff["in_range"]]
    assert sorted(inside.index) == [10, 20, 40, 80, 160]
    truth = 20.0 / inside.index.to_numpy(float)
    pulls = (inside["T_eff"] - truth) / inside["T_eff_err"]
    assert np.all(np.abs(pulls) < 3), pulls.tolist()
    assert np.all(np.abs(inside["T_eff"] - truth) < 0.06)
    # Outside the grid [0.1, 2]: m = 5 has T = 4, m = 300 has T = 0.067.
    assert t_eff.loc[5, "range_side"] == "above" and np.isnan(t_eff.loc[5, "T_eff"])
    assert t_eff.loc[300, "range_side"] == "below" and np.isnan(t_eff.loc[300, "T_eff"])
    assert not t_eff.loc[[5, 300], "in_range"].any()
    # The baseline curve that was inverted.
    assert len(baseline) == 20 and (baseline["experiment"] == "finite_metropolis").all()
    assert np.all(np.diff(baseline["energy_monotone"]) >= 0)
    np.testing.assert_allclose(baseline["energy_late"], 0.02 + 0.05 * baseline["temperature"], atol=0.003)


def test_t_eff_is_deterministic():
    runs = temperature_runs(n_seeds=6)
    first = effective_temperature(runs, n_boot=30, seed=4)
    again = effective_temperature(runs, n_boot=30, seed=4)
    for a, b in zip(first, again):
        pd.testing.assert_frame_equal(a, b)


def test_greedy_runs_without_baseline_are_flagged():
    runs = temperature_runs(n_seeds=4)
    greedy_only = runs[runs["experiment"] == "finite_greedy"]
    t_eff, baseline = effective_temperature(greedy_only, n_boot=10)
    assert (t_eff["range_side"] == "no baseline").all()
    assert t_eff["T_eff"].isna().all() and not t_eff["in_range"].any()
    assert baseline.empty


def test_baseline_of_another_size_does_not_match():
    runs = temperature_runs(n_seeds=4)
    moved = runs.copy()
    is_baseline = moved["experiment"] == "finite_metropolis"
    moved.loc[is_baseline, "size"] = 25
    t_eff, _ = effective_temperature(moved, n_boot=10)
    assert (t_eff["range_side"] == "no baseline").all()


def test_online_runs_give_empty_tables_with_columns():
    t_eff, baseline = effective_temperature(transition_runs(sizes=(15,), n_seeds=3), n_boot=10)
    assert t_eff.empty and baseline.empty
    assert {"T_eff", "T_eff_err", "in_range", "range_side"} <= set(t_eff.columns)

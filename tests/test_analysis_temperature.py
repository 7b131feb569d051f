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


def test_baseline_points_that_fail_equilibrium_are_flagged_and_left_out():
    # Below T = 0.5 the teacher-start runs stay 0.02 below the random-start
    # ones (10 standard errors): those points are not equilibrated.
    runs = temperature_runs(noise=0.002, n_seeds=12, rng_seed=2, teacher_offset=lambda t: np.where(t < 0.5, -0.02, 0.0))
    t_eff, baseline = effective_temperature(runs, n_boot=100, seed=0)
    failed = baseline[~baseline["equilibrated"]]
    low = baseline["temperature"] < 0.5
    assert not baseline.loc[low, "equilibrated"].any()
    # A 2-sigma test also flags about 5% of equilibrated points by chance.
    assert (~baseline.loc[~low, "equilibrated"]).sum() <= 2
    assert failed["reason"].str.startswith("not equilibrated").all()
    assert (failed["start_gap_sigma"] > 2).all() and failed["energy_monotone"].isna().all()
    ok = baseline[baseline["equilibrated"]]
    assert (ok["reason"] == "").all() and np.all(np.diff(ok["energy_monotone"]) >= 0)
    # The interpolation uses only T >= 0.5: m = 160 (T = 0.125) is now below
    # the range, m = 20 (T = 1) is still measured.
    t_eff = t_eff.set_index("m")
    assert t_eff.loc[160, "range_side"] == "below"
    assert t_eff.loc[20, "T_eff"] == pytest.approx(1.0, abs=0.06)
    assert (t_eff["T_unit"] == "total training errors (T_eff grows with P)").all()


def test_baseline_without_teacher_starts_is_not_used():
    runs = temperature_runs(n_seeds=6, teacher_offset=None)
    t_eff, baseline = effective_temperature(runs, n_boot=10)
    assert not baseline["equilibrated"].any()
    assert (baseline["reason"] == "no teacher-start runs to check equilibrium").all()
    assert (t_eff["range_side"] == "no baseline").all()


def test_isotonic_regression_matches_a_hand_written_pool_adjacent_violators():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y, w = rng.normal(size=9), rng.uniform(0.5, 2.0, 9)
        # reference: pool adjacent violators by hand
        values, weights, lengths = [], [], []
        for yi, wi in zip(y, w):
            values.append(yi), weights.append(wi), lengths.append(1)
            while len(values) > 1 and values[-2] > values[-1]:
                wsum = weights[-2] + weights[-1]
                merged = (values[-2] * weights[-2] + values[-1] * weights[-1]) / wsum
                length = lengths.pop()
                values.pop(), weights.pop()
                values[-1], weights[-1], lengths[-1] = merged, wsum, lengths[-1] + length
        np.testing.assert_allclose(isotonic_increasing(y, w), np.repeat(values, lengths))


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

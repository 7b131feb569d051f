"""Median time to solution and test error against m."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis import timing
from synthetic import transition_runs


def _runs():
    base = {"experiment": "e", "size_key": "d", "size": 15, "weights": "discrete"}
    rows = [
        # m = 32: three solved runs (10, 20, 30 sweeps), one unsolved, one
        # diverged that must not count.
        *({**base, "m": 32, "seed": s, "success": True, "t_solve": t, "status": "ok", "gen_error": 0.0,
           "gen_error_se": 0.0} for s, t in enumerate([10.0, 20.0, 30.0])),
        {**base, "m": 32, "seed": 3, "success": False, "t_solve": np.nan, "status": "ok", "gen_error": 0.2,
         "gen_error_se": 0.004},
        {**base, "m": 32, "seed": 4, "success": False, "t_solve": np.nan, "status": "diverged",
         "gen_error": np.nan, "gen_error_se": np.nan},
        # m = 64: a single solved run.
        {**base, "m": 64, "seed": 0, "success": True, "t_solve": 7.0, "status": "ok", "gen_error": 0.01,
         "gen_error_se": 0.001},
    ]
    return pd.DataFrame(rows)


def test_median_of_solved_runs_with_interval():
    table = timing.solve_time_table(_runs(), n_boot=500, seed=0).set_index("m")
    row = table.loc[32]
    assert (row["n_runs"], row["n_solved"]) == (4, 3)
    assert row["frac_solved"] == pytest.approx(0.75)
    assert row["t_median"] == 20.0
    assert 10.0 <= row["t_ci_low"] <= 20.0 <= row["t_ci_high"] <= 30.0
    assert row["time_unit"] == "sweeps"
    single = table.loc[64]
    assert single["t_median"] == 7.0 and np.isnan(single["t_ci_low"]) and np.isnan(single["t_ci_high"])


def test_unit_follows_the_weights_and_bootstrap_is_deterministic():
    runs = _runs().assign(weights="continuous")
    first = timing.solve_time_table(runs, n_boot=100, seed=1)
    pd.testing.assert_frame_equal(first, timing.solve_time_table(runs, n_boot=100, seed=1))
    assert (first["time_unit"] == "steps").all()


def test_solve_time_on_synthetic_runs_counts_only_successes():
    runs = transition_runs(sizes=(15,), n_seeds=20, rng_seed=2)
    table = timing.solve_time_table(runs, n_boot=50)
    ok = runs[runs["success"]]
    expected = ok.groupby("m")["t_solve"].median()
    got = table.set_index("m")["t_median"].dropna()
    pd.testing.assert_series_equal(got, expected, check_names=False)


def test_test_error_mean_and_standard_error():
    table = timing.test_error_table(_runs()).set_index("m")
    errors = np.array([0.0, 0.0, 0.0, 0.2])
    assert table.loc[32, "n_runs"] == 4
    assert table.loc[32, "gen_error_mean"] == pytest.approx(errors.mean())
    assert table.loc[32, "gen_error_sem"] == pytest.approx(errors.std(ddof=1) / 2)
    # One run: its own binomial standard error.
    assert table.loc[64, "gen_error_sem"] == pytest.approx(0.001)


def test_test_error_table_is_not_collected_as_a_test():
    assert timing.test_error_table.__test__ is False

"""Median time to solution and test error against m."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis import timing
from synthetic import transition_runs


def _runs():
    base = {"experiment": "e", "size_key": "d", "size": 15, "weights": "discrete", "t_run": 100}
    rows = [
        # m = 32: three solved runs (10, 20, 30 sweeps), one unsolved
        # (censored at 100), one diverged that must not count.
        *({**base, "m": 32, "seed": s, "success": True, "t_solve": t, "status": "ok", "gen_error": 0.0,
           "gen_error_se": 0.0} for s, t in enumerate([10.0, 20.0, 30.0])),
        {**base, "m": 32, "seed": 3, "success": False, "t_solve": np.nan, "status": "ok", "gen_error": 0.2,
         "gen_error_se": 0.004},
        {**base, "m": 32, "seed": 4, "success": False, "t_solve": np.nan, "status": "diverged",
         "gen_error": np.nan, "gen_error_se": np.nan},
        # m = 64: a single solved run.
        {**base, "m": 64, "seed": 0, "success": True, "t_solve": 7.0, "status": "ok", "gen_error": 0.01,
         "gen_error_se": 0.001},
        # m = 16: one solved of three: fewer than half.
        *({**base, "m": 16, "seed": s, "success": s == 0, "t_solve": 50.0 if s == 0 else np.nan, "status": "ok",
           "gen_error": 0.1, "gen_error_se": 0.003} for s in range(3)),
    ]
    return pd.DataFrame(rows)


def test_kaplan_meier_median_by_hand():
    table = timing.solve_time_table(_runs()).set_index("m")
    row = table.loc[32]
    assert (row["n_runs"], row["n_solved"]) == (4, 3)
    assert row["frac_solved"] == pytest.approx(0.75)
    # S(10) = 3/4, S(20) = 1/2: the median is 20
    assert row["t_median"] == 20.0
    assert row["t_ci_low"] <= 20.0
    assert row["time_unit"] == "sweeps" and row["t_max"] == 100
    assert table.loc[64, "t_median"] == 7.0
    few = table.loc[16]
    assert np.isnan(few["t_median"]) and few["reason"] == "fewer than half the runs solved"


def test_kaplan_meier_product_limit_with_censoring_in_between():
    # events at 1, 3, 4; censored at 2 and 5: S(1) = 4/5, S(3) = 4/5 * 2/3 =
    # 8/15 > 1/2, S(4) = 8/15 * 1/2 = 4/15: the median is 4.
    median, low, high, reason = timing.kaplan_meier_median([1.0, 3.0, 4.0], [2.0, 5.0])
    assert median == 4.0 and reason in ("", "the upper confidence limit lies beyond the longest run")
    assert low <= 4.0 and (np.isnan(high) or high >= 4.0)


def test_kaplan_meier_recovers_a_censored_median_the_solved_runs_miss():
    rng = np.random.default_rng(0)
    t = rng.exponential(100.0, 600)  # true median 100 ln 2 = 69.3
    budget = 90.0
    solved = t <= budget
    median, low, high, _ = timing.kaplan_meier_median(t[solved], np.full((~solved).sum(), budget))
    truth = 100.0 * np.log(2.0)
    assert low <= truth <= high
    assert abs(median - truth) < 8
    # the median of the solved runs alone is biased low
    assert np.median(t[solved]) < low


def test_nothing_solved_or_nothing_at_all():
    assert timing.kaplan_meier_median([], [5.0, 5.0])[3] == "no run solved"
    assert timing.kaplan_meier_median([], [])[3] == "no runs"
    assert np.isnan(timing.kaplan_meier_median([], [5.0])[0])


def test_unit_follows_the_weights_and_table_is_deterministic():
    runs = _runs().assign(weights="continuous")
    first = timing.solve_time_table(runs)
    pd.testing.assert_frame_equal(first, timing.solve_time_table(runs))
    assert (first["time_unit"] == "steps").all()


def test_solve_time_without_censoring_is_the_plain_median_of_solved_runs():
    # every run of these points solved: Kaplan-Meier reduces to the
    # empirical distribution (its median: the lower middle value)
    runs = transition_runs(sizes=(15,), n_seeds=20, rng_seed=2).assign(t_run=10**6)
    table = timing.solve_time_table(runs).set_index("m")
    all_solved = runs.groupby("m")["success"].all()
    for m in all_solved[all_solved].index:
        t = np.sort(runs.loc[runs["m"] == m, "t_solve"].to_numpy())
        assert table.loc[m, "t_median"] == t[(len(t) - 1) // 2]


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

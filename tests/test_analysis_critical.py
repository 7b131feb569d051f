"""m_c from logistic fits with a seed bootstrap, and the power law m_c = A size^b."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from mbphase.analysis.critical import (
    critical_m,
    estimate_log_mc,
    fit_logistic,
    interpolate_half,
    largest_drop,
    local_exponents,
    logistic_deviance,
    power_law,
    sharpening,
)
from synthetic import bernoulli_runs, log_grid, transition_runs


def test_fit_logistic_recovers_parameters_from_expected_counts():
    # The maximum-likelihood fit of exact expected counts is the generating
    # curve itself.
    x = np.log(np.geomspace(20, 80, 9))
    mu, w = np.log(40.0), 0.15
    n = np.full(len(x), 1000.0)
    k = n * expit((x - mu) / w)
    mu_fit, w_fit, usable = fit_logistic(x, k, n)
    assert usable
    assert mu_fit == pytest.approx(mu, abs=1e-7)
    assert w_fit == pytest.approx(w, rel=1e-6)


def test_fit_logistic_rejects_separated_and_decreasing_data():
    x = np.log([10.0, 20.0, 40.0, 80.0])
    n = np.full(4, 20.0)
    assert not fit_logistic(x, np.array([0, 0, 20, 20.0]), n)[2]
    assert not fit_logistic(x, np.array([18, 12, 8, 2.0]), n)[2]


def test_interpolate_half():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    assert interpolate_half(x, [0.0, 0.25, 0.75, 1.0]) == pytest.approx(1.5)
    assert interpolate_half(x, [0.0, 0.5, 0.5, 1.0]) == 1.0  # first grid point at exactly 1/2
    assert interpolate_half(x, [0.0, np.nan, 1.0, 1.0]) == pytest.approx(1.0)  # NaN skipped
    assert np.isnan(interpolate_half(x, [0.0, 0.1, 0.4, 0.45]))


@pytest.mark.parametrize("k", [[0, 0, 0, 0], [10, 10, 10, 10], [0, 1, 3, 4]])
def test_not_bracketed_gives_nan(k):
    log_mc, method = estimate_log_mc(np.log([10, 20, 40, 80.0]), np.array(k, float), np.full(4, 10.0))
    assert np.isnan(log_mc)
    assert method == "not bracketed"


def test_critical_m_recovers_known_mc_and_exponent():
    A, b = 2.0, 1.2
    sizes = (15, 25, 35, 45)
    runs = transition_runs(A=A, b=b, width=0.12, sizes=sizes, n_seeds=40, rng_seed=0, diverged_fraction=0.03)
    table = critical_m(runs, n_boot=100, seed=0)
    assert list(table["size"]) == list(sizes)
    assert (table["method"] == "logistic").all()
    assert (table["n_seeds"] == 40).all()
    assert (table["n_boot_valid"] == 100).all()
    truth = A * table["size"].to_numpy(float) ** b
    pulls = (table["m_c"] - truth) / table["m_c_err"]
    assert np.all(np.abs(pulls) < 3), pulls.tolist()
    assert np.all(table["m_c_err"] / table["m_c"] < 0.1)

    fit = power_law(table).iloc[0]
    assert fit["weighted"] and fit["n_points"] == 4 and fit["dof"] == 2
    assert abs(fit["b"] - b) < 2 * fit["b_err"]
    assert abs(np.log(fit["A"] / A)) < 3 * fit["A_err"] / fit["A"]
    assert fit["chi2"] < 12  # chi2 with 2 degrees of freedom; 12 is p ~ 0.0025


def test_sharp_transition_falls_back_to_interpolation_with_a_grid_floor():
    # Width far below the grid spacing and no grid point near m_c: every run
    # below m_c fails and every run above succeeds.
    grid = np.array([30, 40, 50, 60, 70])
    runs = bernoulli_runs(lambda m, size: (m > 55).astype(float), [15], lambda size: grid, n_seeds=12)
    row = critical_m(runs, n_boot=50, seed=0).iloc[0]
    assert row["method"] == "interpolation"
    assert row["m_c"] == pytest.approx(np.sqrt(50 * 60))  # midpoint in log m
    # Every replicate gives the same bracket, so the error is the floor.
    assert row["m_c_err"] == pytest.approx(row["m_c"] * np.log(60 / 50) / np.sqrt(12))


def test_bootstrap_resamples_whole_seeds():
    # Two seeds on the grid 10, 20, 40, 80: seed 0 solves from m = 20 on,
    # seed 1 only at m = 80. Resampling whole seeds gives three possible
    # data sets, {0,0}, {0,1}, {1,1}, with probabilities 1/4, 1/2, 1/4 and
    # m_c = sqrt(10*20) (separated: interpolation), sqrt(20*40) (a
    # symmetric logistic fit) and sqrt(40*80). Resampling single runs would
    # mix the seeds' outcomes across m and give other values.
    grid = [10, 20, 40, 80]
    success = [[False, True, True, True], [False, False, False, True]]
    runs = pd.DataFrame({
        "experiment": "e", "size_key": "d", "size": 15, "m": grid * 2, "seed": [0] * 4 + [1] * 4,
        "success": success[0] + success[1], "status": "ok",
    })
    row = critical_m(runs, n_boot=2000, seed=3).iloc[0]
    assert row["method"] == "logistic"
    assert row["m_c"] == pytest.approx(np.sqrt(20 * 40), rel=1e-6)
    values = np.sqrt([200.0, 800.0, 3200.0])
    weights = np.array([0.25, 0.5, 0.25])
    expected_std = np.sqrt(weights @ values**2 - (weights @ values) ** 2)
    assert row["m_c_err"] == pytest.approx(expected_std, rel=0.05)


def test_bootstrap_is_deterministic_given_its_seed():
    runs = transition_runs(sizes=(15, 25), n_seeds=15, rng_seed=4)
    first = critical_m(runs, n_boot=40, seed=7)
    again = critical_m(runs, n_boot=40, seed=7)
    other = critical_m(runs, n_boot=40, seed=8)
    pd.testing.assert_frame_equal(first, again)
    np.testing.assert_allclose(first["m_c"], other["m_c"])  # the point estimate does not depend on it
    assert not np.allclose(first["m_c_err"], other["m_c_err"])
    # A group's bootstrap does not depend on the other groups in the table.
    alone = critical_m(runs[runs["size"] == 25], n_boot=40, seed=7)
    assert alone["m_c_err"].iloc[0] == first.loc[first["size"] == 25, "m_c_err"].iloc[0]


def test_power_law_on_exact_points():
    sizes = np.array([10.0, 20.0, 40.0, 80.0])
    m_c = 3.0 * sizes**1.1
    table = pd.DataFrame({"experiment": "e", "size_key": "d", "size": sizes, "m_c": m_c, "m_c_err": 0.05 * m_c})
    fit = power_law(table).iloc[0]
    assert fit["A"] == pytest.approx(3.0)
    assert fit["b"] == pytest.approx(1.1)
    assert fit["chi2"] == pytest.approx(0.0, abs=1e-18)
    x = np.log(sizes)
    # Weighted least squares with equal sigma = 0.05 in log m_c.
    assert fit["b_err"] == pytest.approx(0.05 / np.sqrt(np.sum((x - x.mean()) ** 2)))


def test_power_law_unweighted_fallback_matches_polyfit():
    rng = np.random.default_rng(1)
    sizes = np.array([11.0, 15.0, 21.0, 31.0, 45.0])
    m_c = 0.7 * sizes**1.4 * np.exp(rng.normal(0, 0.05, len(sizes)))
    table = pd.DataFrame({"experiment": "e", "size_key": "N", "size": sizes, "m_c": m_c,
                          "m_c_err": [1.0, np.nan, 1.0, 1.0, 1.0]})
    fit = power_law(table).iloc[0]
    coef, cov = np.polyfit(np.log(sizes), np.log(m_c), 1, cov=True)
    assert not fit["weighted"] and np.isnan(fit["chi2"])
    assert fit["b"] == pytest.approx(coef[0])
    assert fit["b_err"] == pytest.approx(np.sqrt(cov[0, 0]))
    assert np.log(fit["A"]) == pytest.approx(coef[1])


def test_power_law_skips_missing_mc_and_needs_two_points():
    table = pd.DataFrame({"experiment": ["a", "a", "a", "b"], "size_key": "d", "size": [10.0, 20.0, 40.0, 10.0],
                          "m_c": [20.0, np.nan, 80.0, 5.0], "m_c_err": [1.0, np.nan, 4.0, 1.0]})
    fits = power_law(table).set_index("experiment")
    assert fits.loc["a", "n_points"] == 2
    assert fits.loc["a", "b"] == pytest.approx(1.0)
    assert fits.loc["b", "n_points"] == 1 and np.isnan(fits.loc["b", "b"])


def test_single_grid_point_is_not_a_crossing_and_has_no_error():
    # P_succ = 1/2 at the only m measured says nothing about where it passes
    # 1/2, and bootstrap replicates that happen to land on 1/2 must not give
    # the missing m_c an error.
    runs = pd.DataFrame({"experiment": "e", "size_key": "d", "size": 15, "m": 40, "seed": range(6),
                         "success": [True, True, True, False, False, False], "status": "ok"})
    row = critical_m(runs, n_boot=50, seed=0).iloc[0]
    assert row["method"] == "not bracketed"
    assert np.isnan(row["m_c"]) and np.isnan(row["m_c_err"])


# ------------------------------------------------------------ fit quality, width, scaling


def test_width_is_recovered_with_bootstrap_errors():
    width = 0.12
    runs = transition_runs(A=2.0, b=1.2, width=width, sizes=(15, 25, 35), n_seeds=80, rng_seed=11)
    table = critical_m(runs, n_boot=100, seed=0)
    pulls = (table["width"] - width) / table["width_err"]
    assert np.all(np.abs(pulls) < 3), pulls.tolist()
    assert (table["width_reason"] == "").all()
    # a correct logistic: deviance per dof of order 1
    assert np.all(table["deviance_per_dof"] < 3) and (table["dof"] == table["dof"].iloc[0]).all()
    assert not table["non_monotonic"].any()


def test_deviance_by_hand():
    x, k, n = np.log([10.0, 20.0, 40.0]), np.array([2.0, 5.0, 9.0]), np.array([10.0, 10.0, 10.0])
    mu, w = np.log(20.0), 0.5
    p = 1 / (1 + np.exp(-(x - mu) / w))
    expected = 2 * np.sum(k * np.log(k / (n * p)) + (n - k) * np.log((n - k) / (n * (1 - p))))
    deviance, dof = logistic_deviance(x, k, n, mu, w)
    assert deviance == pytest.approx(expected) and dof == 1


def test_rising_then_falling_success_is_flagged_non_monotonic():
    # P_succ rises to 1 around m = 40 and falls back to 0.1 at large m (the
    # dense committee's stuck states): m_c is the first upward crossing and
    # the curve is flagged.
    grid = np.array([10, 20, 30, 40, 60, 80, 120, 160])
    prob = {10: 0.0, 20: 0.1, 30: 0.5, 40: 0.95, 60: 0.9, 80: 0.5, 120: 0.2, 160: 0.1}
    runs = bernoulli_runs(lambda m, size: np.array([prob[int(v)] for v in m]), [15], lambda s: grid, n_seeds=60,
                          rng_seed=2)
    row = critical_m(runs, n_boot=30, seed=0).iloc[0]
    assert row["non_monotonic"] and row["max_drop_sigma"] > 5
    assert 20 < row["m_c"] < 40
    # a monotonic logistic of the same counts is not flagged
    rising = bernoulli_runs(lambda m, size: np.minimum(np.array([prob[int(v)] for v in m]), 0.95) * (m <= 40)
                            + 0.95 * (m > 40), [15], lambda s: grid, n_seeds=60, rng_seed=2)
    assert not critical_m(rising, n_boot=0).iloc[0]["non_monotonic"]


def test_largest_drop_in_standard_errors():
    assert largest_drop([0, 5, 10], [10, 10, 10]) == 0.0
    assert np.isnan(largest_drop([3], [10]))
    # 10/10 then 0/10: a drop of 1 against Wilson errors of about 0.07 each
    assert largest_drop([10, 0], [10, 10]) > 8


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_all_failure_or_all_success_gives_nan_and_a_reason(p):
    runs = bernoulli_runs(lambda m, size: np.full_like(m, p), [15, 25], lambda s: np.array([10, 20, 40]), n_seeds=8)
    table = critical_m(runs, n_boot=20)
    assert table["m_c"].isna().all() and table["width"].isna().all()
    assert table["reason"].str.startswith("no transition on the grid").all()
    assert table["width_reason"].eq("no transition").all()
    assert power_law(table)["b"].isna().all() and (power_law(table)["reason"] == "fewer than two sizes with an m_c").all()
    assert sharpening(table)["inv_nu"].isna().all() and (sharpening(table)["reason"] == "no transition at any size").all()
    assert local_exponents(table)["b_local"].isna().all()


def test_empty_table_gives_empty_tables_with_columns():
    runs = transition_runs(sizes=(15,), n_seeds=3).iloc[:0]
    table = critical_m(runs, n_boot=10)
    assert table.empty and "reason" in table.columns
    for result in (power_law(table), local_exponents(table), sharpening(table)):
        assert result.empty and "reason" in result.columns


def test_power_law_error_is_scaled_when_the_points_scatter():
    sizes = np.array([10.0, 20.0, 40.0, 80.0])
    rng = np.random.default_rng(5)
    # true scatter of 0.1 in log m_c, quoted errors of 0.02: chi2/dof ~ 25
    m_c = 3.0 * sizes**1.1 * np.exp(rng.normal(0, 0.1, 4))
    table = pd.DataFrame({"experiment": "e", "size_key": "d", "size": sizes, "m_c": m_c, "m_c_err": 0.02 * m_c})
    fit = power_law(table).iloc[0]
    assert fit["chi2_per_dof"] > 1
    assert fit["error_scale"] == pytest.approx(np.sqrt(fit["chi2_per_dof"]))
    assert fit["b_err"] == pytest.approx(fit["b_err_unscaled"] * fit["error_scale"])
    coef, cov = np.polyfit(np.log(sizes), np.log(m_c), 1, w=np.full(4, 1 / 0.02), cov="unscaled")
    assert fit["b"] == pytest.approx(coef[0]) and fit["b_err_unscaled"] == pytest.approx(np.sqrt(cov[0, 0]))
    # a fit within its errors is not scaled
    good = table.assign(m_c=3.0 * sizes**1.1, m_c_err=0.02 * 3.0 * sizes**1.1)
    assert power_law(good).iloc[0]["error_scale"] == 1.0


def test_power_law_errors_cover_the_truth_on_sampled_runs():
    # over several replicas, |b - truth| < 2 b_err in most of them
    hits = 0
    for r in range(6):
        runs = transition_runs(A=2.0, b=1.2, sizes=(15, 25, 35), n_seeds=30, rng_seed=100 + r)
        fit = power_law(critical_m(runs, n_boot=60, seed=r)).iloc[0]
        hits += abs(fit["b"] - 1.2) < 2 * fit["b_err"]
    assert hits >= 4


def test_local_exponents_by_hand():
    sizes = np.array([10.0, 20.0, 40.0])
    m_c = np.array([20.0, 60.0, 120.0])
    table = pd.DataFrame({"experiment": "e", "size_key": "d", "size": sizes, "m_c": m_c, "m_c_err": 0.1 * m_c})
    local = local_exponents(table)
    assert local["b_local"].tolist() == pytest.approx([np.log(3) / np.log(2), 1.0])
    assert local["b_local_err"].tolist() == pytest.approx([np.hypot(0.1, 0.1) / np.log(2)] * 2)
    assert (local["size_low"].tolist(), local["size_high"].tolist()) == ([10.0, 20.0], [20.0, 40.0])
    single = local_exponents(table.iloc[:1]).iloc[0]
    assert np.isnan(single["b_local"]) and single["reason"] == "fewer than two sizes with an m_c"


def test_sharpening_exponent_recovered_from_widths():
    # w = 0.5 size^(-0.8), with 5% errors
    sizes = np.array([9.0, 15.0, 21.0, 27.0])
    w = 0.5 * sizes**-0.8
    table = pd.DataFrame({"experiment": "e", "size_key": "d", "size": sizes, "m_c": 10 * sizes, "width": w,
                          "width_err": 0.05 * w})
    row = sharpening(table).iloc[0]
    assert row["inv_nu"] == pytest.approx(0.8) and row["C"] == pytest.approx(0.5) and row["sharpens"] == "yes"
    flat = sharpening(table.assign(width=0.1, width_err=0.01)).iloc[0]
    assert flat["inv_nu"] == pytest.approx(0.0, abs=1e-9) and flat["sharpens"] == "undecided"


def test_sharpening_on_sampled_runs_tells_sharpening_from_constant_width():
    sizes = (15, 25, 35, 45)

    def runs_with(width_of):
        def prob(m, size):
            return expit((np.log(m) - np.log(2.0 * size**1.2)) / width_of(size))
        return bernoulli_runs(prob, sizes, lambda s: log_grid(2.0 * s**1.2, factor=1.6, points=13), n_seeds=80,
                              rng_seed=7)

    sharp = sharpening(critical_m(runs_with(lambda s: 2.0 * s**-1.0), n_boot=80)).iloc[0]
    assert sharp["sharpens"] == "yes" and abs(sharp["inv_nu"] - 1.0) < 3 * sharp["inv_nu_err"]
    flat = sharpening(critical_m(runs_with(lambda s: 0.1), n_boot=80)).iloc[0]
    assert flat["sharpens"] != "yes" and abs(flat["inv_nu"]) < 3 * flat["inv_nu_err"]

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
    power_law,
)
from synthetic import bernoulli_runs, transition_runs


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

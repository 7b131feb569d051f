"""Houdayer-Hartmann collapse quality and the fitted scaling parameters."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from mbphase.analysis.collapse import (
    add_scaled_x,
    collapse_table,
    fit_collapse,
    quality,
    scaled_x,
    transition_window,
)
from mbphase.analysis.success import psucc_table, wilson_interval
from synthetic import bernoulli_runs, transition_runs


def test_scaled_x_forms():
    m = np.array([50.0, 100.0])
    assert scaled_x(m, 16.0, "critical", (80.0, 2.0)) == pytest.approx((m - 80.0) * 4.0)
    assert scaled_x(m, 16.0, "power", {"b": 0.5}) == pytest.approx(m / 4.0)
    with pytest.raises(ValueError, match="unknown scaling form"):
        scaled_x(m, 16.0, "log", (1.0,))


def test_quality_by_hand():
    # Size A: y = x at x = 0, 1, 2; size B: y = 1 at x = 0.5, 1.5; all errors 1.
    # A's x = 1 sits between B's points: master 1, variance 1/2, deviation 0.
    # B's x = 0.5 and 1.5 sit on A's line y = x: master 0.5 and 1.5, variance
    # 1/2 each, deviations 0.5: terms 0.25 / 1.5. A's x = 0 and 2 are not
    # bracketed by B and do not count.
    xs = [np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.5])]
    ys = [np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0])]
    dys = [np.ones(3), np.ones(2)]
    s, n_terms = quality(xs, ys, dys)
    assert n_terms == 3
    assert s == pytest.approx((0 + 1 / 6 + 1 / 6) / 3)


def test_quality_vanishes_on_a_linear_master_curve_and_needs_overlap():
    rng = np.random.default_rng(0)
    xs = [np.sort(rng.uniform(0, 10, 8)) for _ in range(3)]
    ys = [0.3 + 0.1 * x for x in xs]
    dys = [np.full(8, 0.01) for _ in range(3)]
    s, n_terms = quality(xs, ys, dys)
    assert s == pytest.approx(0.0, abs=1e-16)
    assert n_terms > 0
    # Curves that do not overlap define no master curve anywhere.
    assert quality([np.array([0.0, 1.0]), np.array([5.0, 6.0])], [np.zeros(2)] * 2, [np.ones(2)] * 2)[1] == 0


def test_transition_window_keeps_one_anchor_on_each_side():
    p = np.array([0, 0, 0, 0.2, 0.7, 1, 1, 1.0])
    assert transition_window(p).tolist() == [False, False, True, True, True, True, False, False]
    assert transition_window(np.zeros(4)).all()  # no transition: nothing to trim against
    assert transition_window(np.array([0.3, 0.6])).all()


def _exact_table(prob, sizes, m_grid, n=400):
    """A psucc table with exact P (no sampling noise) and Wilson errors of n runs."""
    rows = []
    for size in sizes:
        m = np.asarray(m_grid(size), float)
        p = prob(m, size)
        k = np.round(p * n)
        lo, hi = wilson_interval(k, np.full(len(m), n))
        rows.append(pd.DataFrame({"experiment": "e", "size_key": "d", "size": size, "m": m, "n_runs": n,
                                  "n_success": k, "p_succ": p, "ci_low": lo, "ci_high": hi}))
    return pd.concat(rows, ignore_index=True)


def test_power_form_on_exact_data_finds_b():
    b = 1.3
    table = _exact_table(lambda m, d: expit((np.log(m) - np.log(0.8 * d**b)) / 0.15), [10, 20, 40, 80],
                         # Offset grids, so that no scaled points coincide exactly.
                         lambda d: 0.8 * d**b * np.geomspace(0.6, 1.7, 14) * (1 + 0.013 * np.log2(d)))
    result = fit_collapse(table, "power")
    assert result.params["b"] == pytest.approx(b, abs=0.01)
    assert result.S < 0.1  # exact data: only the linear-interpolation error remains
    assert not result.at_bound


def test_power_form_recovers_b_from_sampled_runs():
    b = 1.2
    runs = transition_runs(A=2.0, b=b, width=0.12, sizes=(15, 25, 35, 45), n_seeds=60, rng_seed=2)
    result = fit_collapse(psucc_table(runs), "power")
    assert abs(result.params["b"] - b) < 3 * result.errors["b"]
    assert abs(result.params["b"] - b) < 0.05
    assert 0.2 < result.S < 2.0
    assert result.converged and not result.at_bound


def test_critical_form_recovers_mc_and_nu_from_sampled_runs():
    m_c, nu = 100.0, 1.5
    runs = bernoulli_runs(lambda m, size: expit((m - m_c) * size ** (1 / nu) / 40.0), [8, 16, 32, 64],
                          lambda size: np.arange(60, 141, 5), n_seeds=100, rng_seed=0)
    result = fit_collapse(psucc_table(runs), "critical")
    for name, truth in (("m_c", m_c), ("nu", nu)):
        assert abs(result.params[name] - truth) < 3 * result.errors[name], (name, result)
        assert result.errors[name] < 0.3 * truth
    assert 0.3 < result.S < 2.0


def test_wrong_form_is_flagged_by_a_large_quality():
    # The critical form cannot collapse a transition whose position moves
    # with size; its best S is far above 1 (or its minimum sits on the edge
    # of the search box).
    runs = transition_runs(A=2.0, b=1.2, sizes=(15, 25, 35), n_seeds=60, rng_seed=5)
    result = fit_collapse(psucc_table(runs), "critical")
    assert result.S > 5 or result.at_bound


def test_collapse_table_and_scaled_x():
    runs = pd.concat([transition_runs(sizes=(15, 25, 35), n_seeds=30, rng_seed=1),
                      transition_runs(sizes=(15,), n_seeds=10, experiment="single_size", rng_seed=2)],
                     ignore_index=True)
    psucc = psucc_table(runs)
    table = collapse_table(psucc, forms=("power",))
    assert set(table["experiment"]) == {"sparse_committee", "single_size"}
    single = table[table["experiment"] == "single_size"].iloc[0]
    assert single["parameter"] == "b" and np.isnan(single["value"])  # one size: nothing to collapse
    fitted = table[table["experiment"] == "sparse_committee"].iloc[0]
    scaled = add_scaled_x(psucc, table, "power")
    sub = scaled[scaled["experiment"] == "sparse_committee"]
    np.testing.assert_allclose(sub["x_scaled"], sub["m"] / sub["size"] ** fitted["value"])
    assert scaled.loc[scaled["experiment"] == "single_size", "x_scaled"].isna().all()
    assert collapse_table(psucc.iloc[:0]).empty


def test_scaled_x_survives_concatenated_tables_with_missing_keys():
    # The workflow analyses each experiment on its own and concatenates the
    # tables for plotting; a parameter scanned by one experiment only is then
    # NaN in the other experiment's rows, and must still match.
    online = transition_runs(sizes=(15, 25), n_seeds=10, rng_seed=3)
    finite = online.assign(experiment="scanned", temperature=np.where(online["seed"] % 2 == 0, 0.0, 0.5))
    psucc = pd.concat([psucc_table(online), psucc_table(finite)], ignore_index=True)
    collapse = pd.concat([collapse_table(psucc_table(online), forms=("power",)),
                          collapse_table(psucc_table(finite), forms=("power",))], ignore_index=True)
    assert psucc.loc[psucc["experiment"] == "sparse_committee", "temperature"].isna().all()
    scaled = add_scaled_x(psucc, collapse, "power")
    assert scaled["x_scaled"].notna().all()
    b = collapse.loc[collapse["experiment"] == "sparse_committee", "value"].iloc[0]
    sub = scaled[scaled["experiment"] == "sparse_committee"]
    np.testing.assert_allclose(sub["x_scaled"], sub["m"] / sub["size"] ** b)

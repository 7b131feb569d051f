"""Houdayer-Hartmann collapse quality and the fitted exponent b of
x = m / size^b. (The 'critical' form x = (m - m_c) size^(1/nu) was removed:
it assumes a size-independent m_c, which this study's transitions do not
have; whether the transition sharpens is the width analysis.)"""

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
from mbphase.analysis.critical import critical_m, power_law
from mbphase.analysis.success import psucc_table, wilson_interval
from synthetic import bernoulli_runs, transition_runs


def test_scaled_x():
    m = np.array([50.0, 100.0])
    assert scaled_x(m, 16.0, 0.5) == pytest.approx(m / 4.0)


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
    result = fit_collapse(table, b_centre=1.0)
    assert result.b == pytest.approx(b, abs=0.01)
    assert result.S < 0.1  # exact data: only the linear-interpolation error remains
    assert not result.at_bound and result.reason == ""
    assert (result.search_low, result.search_high) == (0.0, 2.0)


def test_power_form_recovers_b_from_sampled_runs():
    b = 1.2
    runs = transition_runs(A=2.0, b=b, width=0.12, sizes=(15, 25, 35, 45), n_seeds=60, rng_seed=2)
    result = fit_collapse(psucc_table(runs), b_centre=1.5)
    assert abs(result.b - b) < 3 * result.b_err
    assert abs(result.b - b) < 0.05
    assert 0.2 < result.S < 2.0
    assert result.converged and not result.at_bound


def test_search_is_centred_on_the_power_law_without_a_fixed_bound():
    # b = 3.6, above the old fixed bound of 3
    b = 3.6
    table = _exact_table(lambda m, d: expit((np.log(m) - np.log(0.01 * d**b)) / 0.15), [10, 14, 20],
                         lambda d: 0.01 * d**b * np.geomspace(0.6, 1.7, 14) * (1 + 0.013 * np.log2(d)))
    result = fit_collapse(table, b_centre=3.5)
    assert result.b == pytest.approx(b, abs=0.02) and not result.at_bound
    # centred far off, the minimum sits on the edge: NaN with a reason
    edge = fit_collapse(table, b_centre=1.0)
    assert edge.at_bound and np.isnan(edge.b) and "edge" in edge.reason


def test_curves_without_a_transition_are_left_out():
    # size 45: P_succ = 1 at every m; size 15: 0 at every m. Only 25 and 35
    # carry the transition.
    def prob(m, size):
        if size == 45:
            return np.ones_like(m)
        if size == 15:
            return np.zeros_like(m)
        return expit((np.log(m) - np.log(2.0 * size**1.2)) / 0.12)

    runs = bernoulli_runs(prob, (15, 25, 35, 45), lambda s: np.round(2.0 * 30**1.2 * np.geomspace(0.4, 2.5, 12)),
                          n_seeds=60, rng_seed=1)
    result = fit_collapse(psucc_table(runs), b_centre=1.2)
    assert result.n_sizes == 2
    psucc = psucc_table(runs)
    one = fit_collapse(psucc[psucc["size"].isin([15, 25, 45])], b_centre=1.2)
    assert one.n_sizes == 1 and np.isnan(one.b) and "needs two" in one.reason


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_no_transition_at_all_gives_nan_and_a_reason(p):
    runs = bernoulli_runs(lambda m, size: np.full_like(m, p), (15, 25), lambda s: np.array([10, 20, 40]), n_seeds=5)
    result = fit_collapse(psucc_table(runs), b_centre=1.0)
    assert np.isnan(result.b) and np.isnan(result.S) and result.n_sizes == 0 and result.reason


def test_no_power_law_gives_nan_and_a_reason():
    runs = transition_runs(sizes=(15, 25), n_seeds=20, rng_seed=3)
    result = fit_collapse(psucc_table(runs), b_centre=float("nan"))
    assert np.isnan(result.b) and result.reason == "no power-law b to centre the search on"


def test_collapse_table_and_scaled_x():
    runs = pd.concat([transition_runs(sizes=(15, 25, 35), n_seeds=30, rng_seed=1),
                      transition_runs(sizes=(15,), n_seeds=10, experiment="single_size", rng_seed=2)],
                     ignore_index=True)
    psucc = psucc_table(runs)
    power = power_law(critical_m(runs, n_boot=30))
    table = collapse_table(psucc, power)
    assert set(table["experiment"]) == {"sparse_committee", "single_size"}
    single = table[table["experiment"] == "single_size"].iloc[0]
    assert np.isnan(single["b"]) and single["reason"]  # one size: nothing to collapse
    fitted = table[table["experiment"] == "sparse_committee"].iloc[0]
    assert fitted["b_power_law"] == pytest.approx(power.set_index("experiment").loc["sparse_committee", "b"])
    scaled = add_scaled_x(psucc, table)
    sub = scaled[scaled["experiment"] == "sparse_committee"]
    np.testing.assert_allclose(sub["x_scaled"], sub["m"] / sub["size"] ** fitted["b"])
    assert scaled.loc[scaled["experiment"] == "single_size", "x_scaled"].isna().all()
    assert collapse_table(psucc.iloc[:0]).empty


def test_scaled_x_survives_concatenated_tables_with_missing_keys():
    # The workflow analyses each experiment on its own and concatenates the
    # tables for plotting; a parameter scanned by one experiment only is then
    # NaN in the other experiment's rows, and must still match.
    online = transition_runs(sizes=(15, 25), n_seeds=10, rng_seed=3)
    finite = online.assign(experiment="scanned", temperature=np.where(online["seed"] % 2 == 0, 0.0, 0.5))
    psucc = pd.concat([psucc_table(online), psucc_table(finite)], ignore_index=True)
    collapse = pd.concat([collapse_table(psucc_table(online), power_law(critical_m(online, n_boot=20))),
                          collapse_table(psucc_table(finite), power_law(critical_m(finite, n_boot=20)))],
                         ignore_index=True)
    assert psucc.loc[psucc["experiment"] == "sparse_committee", "temperature"].isna().all()
    scaled = add_scaled_x(psucc, collapse)
    b = collapse.loc[collapse["experiment"] == "sparse_committee", "b"].iloc[0]
    sub = scaled[scaled["experiment"] == "sparse_committee"]
    assert np.isfinite(b)
    np.testing.assert_allclose(sub["x_scaled"], sub["m"] / sub["size"] ** b)

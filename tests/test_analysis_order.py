"""Order of the transition from the stationary state of the unsolved runs:
the stationary table, the gap below and at m_c, the verdict, histograms.

The old diagnostics (bimodality coefficient and jump of the final overlap of
all runs at m_c) were removed: solved runs sit at q = 1 by construction, so
at the m where P_succ = 1/2 any sample looked bimodal.
"""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis.critical import critical_m
from mbphase.analysis.order import (
    DEFAULT_BINS,
    FIRST_ORDER,
    SECOND_ORDER,
    order_gaps,
    order_verdict,
    overlap_curve,
    stationary_histograms,
    stationary_table,
)
from synthetic import order_runs


def _diagnose(runs):
    critical = critical_m(runs, n_boot=40, seed=0)
    stationary = stationary_table(runs, critical)
    gaps = order_gaps(stationary)
    return stationary, gaps, order_verdict(gaps).iloc[0]


def test_first_order_like_data_read_first_order():
    _, gaps, verdict = _diagnose(order_runs("first", rng_seed=1))
    assert verdict["verdict"] == FIRST_ORDER, verdict["reason"]
    # the known gap at m_c is 1 - 0.45 = 0.55 at every size
    assert verdict["gap_at_mc"] == pytest.approx(0.55, abs=3 * verdict["gap_at_mc_err"] + 0.02)
    assert (gaps["gap_below"] > 0.45).all()


def test_second_order_like_data_read_second_order():
    _, gaps, verdict = _diagnose(order_runs("second", rng_seed=2))
    assert verdict["verdict"] == SECOND_ORDER, verdict["reason"]
    assert abs(verdict["gap_at_mc"]) < 0.05


def test_unsolved_runs_next_to_the_solution_are_not_first_order():
    # The old tautology: half the runs solved at q = 1, the other half at
    # q = 0.95 +- 0.01. The final overlaps of all runs near m_c form two
    # peaks, but the unsolved runs' gap is 0.05: not an open gap.
    runs = order_runs("near_one", noise=0.01, rng_seed=3)
    near = runs[(runs["size"] == 25)]
    near_mc = near[np.abs(np.log(near["m"] / (2.0 * 25**1.2))) < 0.05]
    assert near_mc["success"].mean() == pytest.approx(0.5, abs=0.25)  # both populations present
    _, _, verdict = _diagnose(runs)
    assert verdict["verdict"] != FIRST_ORDER
    assert verdict["gap_at_mc"] == pytest.approx(0.05, abs=0.02)


def test_stationary_table_uses_only_unsolved_runs():
    runs = pd.DataFrame({
        "experiment": "e", "size_key": "d", "size": 15, "m": [10] * 6 + [20] * 2, "seed": list(range(6)) + [0, 1],
        "success": [True, True, False, False, False, False, False, False],
        "q_late": [np.nan, np.nan, 0.2, 0.4, 0.6, np.nan, 0.5, 0.5],
        "energy_late": [np.nan, np.nan, 0.3, 0.2, 0.1, np.nan, 0.2, 0.2],
        "status": ["ok"] * 5 + ["diverged", "ok", "ok"],
    })
    mc = pd.DataFrame({"experiment": ["e"], "size_key": ["d"], "size": [15], "m_c": [40.0]})
    table = stationary_table(runs, mc).set_index("m")
    assert table.loc[10, "n_runs"] == 5 and table.loc[10, "n_solved"] == 2 and table.loc[10, "n_unsolved"] == 3
    assert table.loc[10, "q_late_mean"] == pytest.approx(0.4)
    assert table.loc[10, "q_late_sem"] == pytest.approx(0.2 / np.sqrt(3))
    assert table.loc[10, "energy_late_mean"] == pytest.approx(0.2)
    assert table.loc[10, "x"] == pytest.approx(0.25)
    assert np.isnan(table.loc[20, "q_late_mean"])  # fewer than 3 unsolved runs


def test_no_transition_gives_nan_and_a_reason():
    runs = order_runs("first", rng_seed=4)
    runs["success"] = False
    _, gaps, verdict = _diagnose(runs)
    assert gaps["gap_at_mc"].isna().all() and (gaps["reason"] == "no m_c at this size").all()
    assert verdict["verdict"] == "" and verdict["reason"] == "no transition at any size"
    assert np.isnan(verdict["gap_at_mc"])


def test_single_size_is_not_called_first_order():
    _, _, verdict = _diagnose(order_runs("first", sizes=(25,), rng_seed=5))
    assert verdict["verdict"] == "undecided" and "one size" in verdict["reason"]


def test_empty_input_gives_empty_tables_with_columns():
    empty = order_runs("first").iloc[:0]
    table = stationary_table(empty, None)
    assert table.empty and "q_late_mean" in table.columns
    assert order_gaps(table).empty and "gap_at_mc" in order_gaps(table).columns
    assert order_verdict(order_gaps(table)).empty


def test_overlap_curve():
    runs = pd.DataFrame({"experiment": "e", "size_key": "d", "size": 15, "m": [10] * 4, "seed": range(4),
                         "q": [0.2, 0.4, 0.9, np.nan], "status": ["ok", "ok", "diverged", "ok"]})
    curve = overlap_curve(runs)
    assert curve["n_runs"].iloc[0] == 2 and curve["q_mean"].iloc[0] == pytest.approx(0.3)


def test_histograms_count_every_unsolved_run_once_including_the_edges():
    runs = pd.DataFrame({"experiment": "e", "size_key": "d", "size": 15, "m": [10] * 6 + [20] * 2,
                         "seed": list(range(6)) + [0, 1],
                         "q_late": [-1.0, -0.2, 0.33, 1.0, 1.0, np.nan, 1.0, 0.5],
                         "success": [False] * 5 + [True, False, False], "status": "ok"})
    hist = stationary_histograms(runs)
    assert len(hist) == 2 * (len(DEFAULT_BINS) - 1)
    assert hist.groupby("m")["count"].sum().to_dict() == {10: 5, 20: 2}
    at_10 = hist[hist["m"] == 10].set_index("bin_left")["count"]
    assert at_10.iloc[0] == 1 and at_10.iloc[-1] == 2

"""Order-of-transition diagnostics: overlap curve, jump, bimodality, histograms."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis.critical import critical_m
from mbphase.analysis.order import (
    BIMODALITY_THRESHOLD,
    DEFAULT_BINS,
    bimodality_coefficient,
    bimodality_table,
    overlap_curve,
    overlap_histograms,
    overlap_jump,
)
from synthetic import transition_runs


def test_bimodality_coefficient_small_sample_by_hand():
    # For [0, 0, 0, 1] the bias-corrected skewness is 2 and excess kurtosis
    # 4, so BC = (4 + 1) / (4 + 3 * 9 / 2) = 2/7.
    assert bimodality_coefficient([0, 0, 0, 1]) == pytest.approx(2 / 7)


def test_bimodality_coefficient_reference_distributions():
    rng = np.random.default_rng(0)
    assert bimodality_coefficient(rng.normal(size=20000)) == pytest.approx(1 / 3, abs=0.01)
    assert bimodality_coefficient(rng.uniform(size=20000)) == pytest.approx(5 / 9, abs=0.01)
    two_points = np.repeat([-1.0, 1.0], 500)
    assert bimodality_coefficient(two_points) > 0.99
    assert np.isnan(bimodality_coefficient([1.0, 2.0, 3.0]))
    assert np.isnan(bimodality_coefficient(np.ones(10)))


def _runs(q_by_m, status=None):
    rows = []
    for m, qs in q_by_m.items():
        for seed, q in enumerate(qs):
            rows.append({"experiment": "e", "size_key": "d", "size": 15, "m": m, "seed": seed, "q": q,
                         "success": q == 1.0, "status": "ok"})
    frame = pd.DataFrame(rows)
    if status is not None:
        frame["status"] = status
    return frame


def test_overlap_curve_and_jump():
    runs = _runs({10: [0.3, 0.3, 0.3, 0.3], 20: [0.3, 0.34, 0.3, 0.34], 40: [1.0, 1.0, 1.0, 0.6], 80: [1.0] * 4})
    curve = overlap_curve(runs)
    assert curve["q_mean"].tolist() == pytest.approx([0.3, 0.32, 0.9, 1.0])
    assert curve["n_runs"].tolist() == [4, 4, 4, 4]
    assert curve.loc[1, "q_sem"] == pytest.approx(np.std([0.3, 0.34, 0.3, 0.34], ddof=1) / 2)
    jump = overlap_jump(curve).iloc[0]
    assert jump["jump"] == pytest.approx(0.58)
    assert (jump["m_below"], jump["m_above"]) == (20, 40)
    assert jump["jump_err"] == pytest.approx(np.hypot(curve.loc[1, "q_sem"], curve.loc[2, "q_sem"]))


def test_overlap_ignores_non_ok_and_missing_values():
    runs = _runs({10: [0.2, 0.4, 0.9, np.nan]}, status=["ok", "ok", "diverged", "ok"])
    curve = overlap_curve(runs)
    assert curve["n_runs"].iloc[0] == 2
    assert curve["q_mean"].iloc[0] == pytest.approx(0.3)


def test_histograms_count_every_run_once_including_the_edges():
    runs = _runs({10: [-1.0, -0.2, 0.33, 1.0, 1.0], 20: [1.0, 0.5]})
    hist = overlap_histograms(runs)
    assert len(hist) == 2 * (len(DEFAULT_BINS) - 1)
    counts = hist.groupby("m")["count"].sum()
    assert counts.to_dict() == {10: 5, 20: 2}
    at_10 = hist[hist["m"] == 10].set_index("bin_left")["count"]
    assert at_10.iloc[0] == 1  # q = -1 in the first bin
    assert at_10.iloc[-1] == 2  # q = 1 in the last bin (closed on the right)
    assert (hist["bin_right"] - hist["bin_left"]).round(12).eq(0.05).all()


def test_bimodality_table_at_the_grid_point_nearest_mc():
    runs = transition_runs(sizes=(15, 25), n_seeds=40, rng_seed=6)
    mc = critical_m(runs, n_boot=0)
    table = bimodality_table(runs, mc)
    assert list(table["size"]) == [15, 25]
    for _, row in table.iterrows():
        grid = np.unique(runs.loc[runs["size"] == row["size"], "m"])
        nearest = grid[np.argmin(np.abs(np.log(grid) - np.log(row["m_c"])))]
        assert row["m"] == nearest
    # The synthetic transition is first order: solved runs at q = 1, failed
    # ones near q = 0.35.
    assert (table["bimodality"] > BIMODALITY_THRESHOLD).all()
    assert table["bimodal"].all()


def test_bimodality_table_without_a_transition():
    runs = transition_runs(sizes=(15,), n_seeds=5)
    mc = pd.DataFrame({"experiment": ["sparse_committee"], "size_key": ["d"], "size": [15], "m_c": [np.nan]})
    row = bimodality_table(runs, mc).iloc[0]
    assert np.isnan(row["m"]) and np.isnan(row["bimodality"]) and not row["bimodal"]

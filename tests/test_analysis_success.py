"""P_succ table and the Wilson score interval."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis.success import psucc_sigma, psucc_table, wilson_interval
from synthetic import transition_runs


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        # Newcombe, Statistics in Medicine 17, 857 (1998), Table I, method 3
        # (score interval without continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_matches_newcombe_table(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-5)
    assert hi == pytest.approx(high, abs=5e-5)


def test_wilson_matches_scipy_binomtest():
    from scipy.stats import binomtest

    rng = np.random.default_rng(0)
    n = rng.integers(1, 300, 200)
    k = np.array([rng.integers(0, v + 1) for v in n])
    k[:5], n[:5] = 0, [1, 2, 7, 50, 300]  # the edges
    k[5:10] = n[5:10]
    low, high = wilson_interval(k, n)
    for i in range(len(n)):
        ci = binomtest(int(k[i]), int(n[i])).proportion_ci(confidence_level=0.95, method="wilson")
        assert low[i] == pytest.approx(ci.low, abs=1e-12) and high[i] == pytest.approx(ci.high, abs=1e-12)


def test_wilson_closed_form_at_the_edges_and_zero_trials():
    z = 1.959963984540054
    lo, hi = wilson_interval([0, 10, 0], [10, 10, 0])
    # At k = 0 the upper bound is z^2 / (n + z^2); at k = n the lower bound
    # mirrors it.
    assert hi[0] == pytest.approx(z**2 / (10 + z**2))
    assert lo[1] == pytest.approx(1 - z**2 / (10 + z**2))
    assert lo[0] == 0.0 and hi[1] == 1.0
    assert np.isnan(lo[2]) and np.isnan(hi[2])


def test_psucc_counts_ok_runs_and_reports_failed_ones():
    runs = pd.DataFrame({
        "experiment": ["e"] * 6, "size_key": ["d"] * 6, "size": [15] * 6, "m": [10, 10, 10, 20, 20, 20],
        "seed": [0, 1, 2, 0, 1, 2],
        "success": [True, False, False, True, True, False],
        "status": ["ok", "ok", "diverged", "ok", "ok", "ok"],
    })
    table = psucc_table(runs)
    assert list(table["m"]) == [10, 20]
    assert list(table["n_runs"]) == [2, 3]
    assert list(table["n_success"]) == [1, 2]
    assert list(table["n_failed"]) == [1, 0]
    assert table["p_succ"].tolist() == pytest.approx([0.5, 2 / 3])
    lo, hi = wilson_interval([1, 2], [2, 3])
    assert table["ci_low"].tolist() == pytest.approx(lo)
    assert table["ci_high"].tolist() == pytest.approx(hi)


def test_psucc_groups_by_a_scanned_parameter():
    runs = pd.DataFrame({
        "experiment": ["e"] * 4, "size_key": ["d"] * 4, "size": [15] * 4, "m": [50] * 4, "seed": [0, 1, 0, 1],
        "temperature": [0.5, 0.5, 1.0, 1.0], "success": [True, True, False, True], "status": ["ok"] * 4,
    })
    table = psucc_table(runs)
    assert "temperature" in table.columns
    assert table.set_index("temperature")["p_succ"].to_dict() == {0.5: 1.0, 1.0: 0.5}


def test_psucc_on_synthetic_runs_matches_direct_count():
    runs = transition_runs(sizes=(15, 25), n_seeds=10, diverged_fraction=0.1)
    table = psucc_table(runs)
    ok = runs[runs["status"] == "ok"]
    direct = ok.groupby(["size", "m"])["success"].agg(solved="sum", count="size").reset_index()
    merged = table.merge(direct, on=["size", "m"])
    assert len(merged) == len(table)
    assert (merged["n_success"] == merged["solved"]).all()
    assert (merged["n_runs"] == merged["count"]).all()
    assert table["n_failed"].sum() == (runs["status"] != "ok").sum()
    assert (psucc_sigma(table) > 0).all()


def test_psucc_of_an_empty_table_has_its_columns():
    runs = transition_runs(sizes=(15,), n_seeds=2).iloc[:0]
    table = psucc_table(runs)
    assert table.empty
    assert {"experiment", "size", "m", "p_succ", "ci_low", "ci_high", "n_failed"} <= set(table.columns)

"""The hitting-time landscape tells a barrier (ln tau linear in the size)
from a power law (ln tau linear in ln size), on synthetic times to
solution with a known answer."""

import numpy as np
import pytest

from mbphase.analysis.hitting import hitting_fit, hitting_time_table
from synthetic import hitting_runs


@pytest.mark.parametrize("law, truth", [
    ("barrier", lambda size: 2.0 + 0.02 * size),
    ("power law", lambda size: 1.0 + 1.5 * np.log(size)),
])
def test_barrier_and_power_law_are_told_apart(law, truth):
    runs, critical = hitting_runs(truth)
    table = hitting_time_table(runs, critical)
    assert np.allclose(table["m_over_mc"], table["m"] / table["size"] ** 1.5)
    # exponential times: median = ln 2 * mean, quarter time = ln(4/3) * mean
    above = table[table["m_over_mc"].between(1.4, 1.6)]
    expected = np.exp(truth(above["size"].to_numpy(float))) * above["m_over_mc"] ** -2 * np.log(2)
    assert np.all(np.abs(np.log(above["tau_50"] / expected)) < 0.45)
    fits = hitting_fit(table)
    assert (fits["n_points"] == 4).all()
    assert (fits["verdict"] == law).all(), fits[["m_over_mc", "verdict", "barrier_chi2_per_dof", "power_chi2_per_dof"]]
    if law == "barrier":
        assert np.all(np.abs(fits["barrier_slope"] - 0.02) < 3 * fits["barrier_slope_err"] + 0.002)
    else:
        assert np.all(np.abs(fits["power_exponent"] - 1.5) < 3 * fits["power_exponent_err"] + 0.05)


def test_censored_runs_and_missing_sizes_give_nan_with_reasons():
    runs, critical = hitting_runs(lambda size: 3.0 + 0.0 * size, sizes=(9, 27), budget=5.0, n_seeds=16)
    table = hitting_time_table(runs, critical)
    slow = table[table["n_solved"] < table["n_runs"] / 2]
    assert len(slow) and slow["tau_50"].isna().all()
    assert slow["reason"].isin(["fewer than half the runs solved", "no run solved"]).all()
    fits = hitting_fit(table)
    assert (fits["verdict"] == "").all() and fits["reason"].str.len().gt(0).all()
    # no m_c: no m / m_c, and no fit
    no_mc = hitting_time_table(runs, critical.assign(m_c=np.nan))
    assert no_mc["m_over_mc"].isna().all()
    assert (hitting_fit(no_mc)["n_points"] == 0).all()

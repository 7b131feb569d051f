"""m_c(size, t), b(t) and the convergence column, on synthetic runs whose
m_c(size, t) = A size^b (t/t0)^(-g(size)) is known (tests/synthetic.py)."""

import numpy as np
import pytest

from mbphase.analysis.budget import budget_grid, exponent_budget, mc_budget, psucc_budget
from synthetic import budget_runs


@pytest.fixture(scope="module")
def drifting():
    # g(size) = 0.3 - 0.03 ln size: b(t) = 1.5 + 0.03 ln(t / 100)
    runs = budget_runs(g0=0.3, g1=-0.03, sizes=(9, 27, 81), n_seeds=32, budget=lambda size: 4000)
    return runs, mc_budget(runs, n_boot=40)


def test_grid_is_logarithmic_and_ends_at_the_budget():
    grid = budget_grid(1000)
    assert grid[0] == 16 and grid[-1] == 1000 and 500 in grid
    assert np.allclose(np.diff(np.log(grid[:6])), np.log(2) / 2, atol=0.05)
    assert len(budget_grid(float("nan"))) == 0


def test_mc_of_t_matches_the_known_curve(drifting):
    runs, mc = drifting
    g = 0.3 - 0.03 * np.log(mc["size"])
    truth = 1.0 * mc["size"] ** 1.5 * (mc["t"] / 100.0) ** (-g)
    pull = (mc["m_c"] - truth) / mc["m_c_err"]
    assert mc["method"].eq("logistic").all()
    assert np.all(np.abs(mc["m_c"] / truth - 1) < 0.06)
    assert np.mean(np.abs(pull) < 3) > 0.9
    # m_c keeps falling: never converged
    assert set(mc["converged"]) <= {"no", ""} and (mc["converged"] == "no").sum() > 30


def test_b_of_t_matches_the_known_drift(drifting):
    _, mc = drifting
    b = exponent_budget(mc)
    truth = 1.5 + 0.03 * np.log(b["t"] / 100.0)
    assert (b["n_points"] == 3).all()
    assert np.all(np.abs(b["b"] - truth) < 4 * b["b_err"] + 0.01)
    # the drift itself is resolved: b(4000) - b(16) well above the errors
    first, last = b.iloc[0], b.iloc[-1]
    assert last["b"] - first["b"] > 3 * np.hypot(first["b_err"], last["b_err"])


def test_a_budget_independent_mc_converges_and_sizes_drop_out_beyond_their_budget():
    runs = budget_runs(g0=0.0, g1=0.0, sizes=(9, 27), n_seeds=24, budget=lambda size: 40 * size)
    mc = mc_budget(runs, n_boot=30)
    assert mc.groupby("size")["t"].max().to_dict() == {9: 360, 27: 1080}
    at_budget = mc[mc["t"] == mc["budget_size"]]
    assert (at_budget["converged"] == "yes").all()
    assert np.allclose(at_budget["m_c"], [9**1.5, 27**1.5], rtol=0.08)
    b = exponent_budget(mc)
    assert (b.loc[b["t"] > 360, "n_points"] == 1).all() and b.loc[b["t"] > 360, "b"].isna().all()
    psucc = psucc_budget(runs)
    assert set(psucc["t"]) == set(mc["t"]) and psucc["p_succ"].between(0, 1).all()


def test_no_transition_at_short_budgets_is_nan_with_a_reason():
    runs = budget_runs(g0=1.0, sizes=(9,), n_seeds=16)  # m_c(16) = 6 m_c(100), beyond the grid
    mc = mc_budget(runs, n_boot=10)
    early = mc[mc["t"] == 16].iloc[0]
    assert np.isnan(early["m_c"]) and "no transition" in early["reason"]


def test_summary_prints_the_stored_numbers(tmp_path, capsys):
    from mbphase.analysis import analyse, write_tables
    from mbphase.analysis.summary import main

    runs = budget_runs(g0=0.3, sizes=(9, 27), n_seeds=16, budget=lambda size: 1000)
    tables = analyse(runs, n_boot=10)
    write_tables(tables, tmp_path)
    assert main([str(tmp_path), "--t", "256"]) == 0
    out = capsys.readouterr().out
    row = tables["mc_budget"].query("size == 27 and t == 256").iloc[0]
    assert f"{row['m_c']:.3g} ± {row['m_c_err']:.2g}" in out
    b = tables["b_budget"].query("t == 256").iloc[0]
    assert f"b(t = 256) = {b['b']:.3g} ± {b['b_err']:.2g}" in out


def test_summary_reads_the_workflows_results_layout(tmp_path, capsys):
    """Without directories the summary reads the workflow's Hive layout
    under --root (what `mbphase analyse --out-template` writes), only the
    experiments asked for, and names one it does not hold."""
    from mbphase.analysis import analyse, write_tables
    from mbphase.analysis.summary import main
    from mbphase.names import ANALYSIS_TABLE

    runs = budget_runs(g0=0.3, sizes=(9, 27), n_seeds=16, budget=lambda size: 1000)
    (name,) = runs["experiment"].unique()
    tables = analyse(runs, n_boot=10)
    write_tables(tables, str(tmp_path / ANALYSIS_TABLE.replace("{experiment}", name)))
    assert main(["--root", str(tmp_path), "--experiments", name, "--t", "256"]) == 0
    out = capsys.readouterr().out
    b = tables["b_budget"].query("t == 256").iloc[0]
    assert f"b(t = 256) = {b['b']:.3g} ± {b['b_err']:.2g}" in out
    with pytest.raises(SystemExit) as stop:
        main(["--root", str(tmp_path), "--experiments", "no_such_experiment"])
    assert stop.value.code == 2 and "no_such_experiment" in capsys.readouterr().err

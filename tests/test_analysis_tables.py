"""analyse(): every table at once, deterministic, and its Parquet round trip."""

import numpy as np
import pandas as pd
import pytest

from mbphase.analysis import TABLES, analyse, read_tables, write_tables
from synthetic import temperature_runs, transition_runs


@pytest.fixture(scope="module")
def runs():
    return pd.concat([
        transition_runs(sizes=(15, 25, 35), n_seeds=20, rng_seed=0, diverged_fraction=0.02),
        transition_runs(experiment="dense_perceptron", size_key="N", sizes=(15, 30), A=0.5, b=1.5, n_seeds=15,
                        rng_seed=1),
        temperature_runs(n_seeds=6, temperatures=np.round(np.linspace(0.2, 2.0, 6), 3)),
    ], ignore_index=True)


@pytest.fixture(scope="module")
def tables(runs):
    return analyse(runs, n_boot=30, seed=0)


def test_analyse_builds_every_table(tables):
    assert list(tables) == list(TABLES)
    for name in TABLES:
        assert not tables[name].empty, name
        # every table says which budget it belongs to
        assert {"budget", "budget_unit"} <= set(tables[name].columns), name
    critical = tables["critical"].set_index(["experiment", "size"])
    assert np.isfinite(critical.loc["sparse_committee", "m_c"]).all()
    assert np.isfinite(critical.loc["sparse_committee", "width"]).all()
    assert (tables["power_law"].set_index("experiment").loc["sparse_committee", "n_points"] == 3).all()
    assert np.isfinite(tables["collapse"].set_index("experiment").loc["sparse_committee", "b"])
    assert set(tables["order"]["experiment"]) >= {"sparse_committee", "dense_perceptron"}
    assert tables["t_eff"]["in_range"].any()


def test_budget_columns_follow_the_runs():
    runs = transition_runs(sizes=(15, 25), n_seeds=6).assign(max_sweeps=2000)
    assert (analyse(runs, n_boot=2)["critical"][["budget", "budget_unit"]].drop_duplicates().values.tolist()
            == [[2000.0, "sweeps"]])
    sgd = runs.assign(weights="continuous", samples_per_weight=4000.0, max_steps=3000)
    assert analyse(sgd, n_boot=2)["psucc"]["budget_unit"].eq("samples per weight").all()
    steps = runs.assign(weights="continuous", samples_per_weight=np.nan, max_steps=3000)
    assert analyse(steps, n_boot=2)["power_law"][["budget", "budget_unit"]].values.tolist() == [[3000.0, "SGD steps"]]


def test_analyse_is_deterministic(runs, tables):
    again = analyse(runs, n_boot=30, seed=0)
    for name in TABLES:
        pd.testing.assert_frame_equal(tables[name], again[name], check_exact=False, rtol=1e-12)


def test_tables_round_trip_through_parquet(tables, tmp_path):
    paths = write_tables(tables, tmp_path / "tables")
    assert set(paths) == set(TABLES)
    assert all(p.exists() and p.stat().st_size > 0 for p in paths.values())
    back = read_tables(tmp_path / "tables")
    for name in TABLES:
        pd.testing.assert_frame_equal(back[name], tables[name].reset_index(drop=True), check_dtype=False)


def test_empty_input_gives_empty_tables_that_still_write(runs, tmp_path):
    empty = analyse(runs.iloc[:0], n_boot=5)
    assert all(table.empty for table in empty.values())
    write_tables(empty, tmp_path)
    back = read_tables(tmp_path, names=["critical", "t_eff"])
    assert "m_c" in back["critical"].columns and "T_eff" in back["t_eff"].columns


@pytest.mark.parametrize("case", ["single_size", "all_success", "all_failure"])
def test_bad_input_gives_nan_with_reasons_not_numbers(case):
    if case == "single_size":
        runs = transition_runs(sizes=(25,), n_seeds=15, rng_seed=3)
    else:
        runs = transition_runs(sizes=(15, 25), n_seeds=8, rng_seed=3).assign(success=case == "all_success")
        runs["t_solve"] = np.where(runs["success"], 10.0, np.nan)
    runs = runs.assign(t_run=100)
    tables = analyse(runs, n_boot=10)
    for name, column in (("power_law", "b"), ("sharpening", "inv_nu"), ("collapse", "b"), ("local_exponent", "b_local")):
        row = tables[name].iloc[0]
        assert np.isnan(row[column]) and row["reason"], (name, row.to_dict())
    if case != "single_size":
        assert tables["critical"]["m_c"].isna().all() and tables["critical"]["reason"].str.len().gt(0).all()
        assert tables["order"]["verdict"].eq("").all()

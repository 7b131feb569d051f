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
    for name in ("psucc", "critical", "power_law", "collapse", "overlap", "overlap_jump", "bimodality",
                 "overlap_hist", "solve_time", "test_error", "t_eff", "metropolis_energy"):
        assert not tables[name].empty, name
    critical = tables["critical"].set_index(["experiment", "size"])
    assert np.isfinite(critical.loc["sparse_committee", "m_c"]).all()
    assert (tables["power_law"].set_index("experiment").loc["sparse_committee", "n_points"] == 3).all()
    assert set(tables["collapse"]["form"]) == {"power", "critical"}
    assert tables["t_eff"]["in_range"].any()


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

"""The Hive layout's pieces without a workflow: the experiment lives in the
path only (writers drop the column, readers put it back), and the loaders
refuse what they cannot find with a message that says what exists. The
loaders on a real sweep, beside pandas, pyarrow.dataset and DuckDB, are in
test_workflow.py (test_one_line_loads_exactly_the_runs_of_every_experiment)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

import mbphase
from mbphase.analysis.tables import read_table_file, write_tables
from mbphase.names import ANALYSIS_TABLE, RUNS_TABLE
from mbphase.pipeline.partition import PartitionError, partition_value, restore, strip


def test_the_partition_is_the_innermost_experiment_directory():
    assert partition_value(RUNS_TABLE.format(experiment="sd_tree")) == "sd_tree"
    assert partition_value("a/experiment=x/b/experiment=y/t.parquet") == "y"
    assert partition_value("results/tables/sd/runs.parquet") is None
    assert partition_value("experiment=x.parquet") is None  # a file name is no partition


def test_writers_drop_the_experiment_column_only_inside_a_partition_and_only_when_it_agrees():
    table = pa.table({"experiment": ["a", "a"], "size": [5, 7]})
    assert strip(table, "results/tables/runs/experiment=a/runs.parquet").column_names == ["size"]
    assert strip(table, "plain/runs.parquet").column_names == ["experiment", "size"]
    with pytest.raises(PartitionError, match=r"experiment=b/runs.parquet: the table holds rows of experiment\(s\) \['a'\].*'b'"):
        strip(table, "results/tables/runs/experiment=b/runs.parquet")


def test_analysis_tables_round_trip_through_their_partitions(tmp_path):
    tables = {"critical": pd.DataFrame({"experiment": ["sd", "sd"], "size": [5, 7], "m_c": [11.5, float("nan")]}),
              "psucc": pd.DataFrame({"experiment": pd.Series([], dtype=str), "m": pd.Series([], dtype="int64")})}
    template = str(tmp_path / ANALYSIS_TABLE.replace("{experiment}", "sd"))
    paths = write_tables(tables, template)
    assert paths["critical"] == tmp_path / "results/analysis/critical/experiment=sd/critical.parquet"
    assert "experiment" not in pd.read_parquet(paths["critical"]).columns  # stored once, in the path
    for name, table in tables.items():
        back = read_table_file(paths[name])
        pd.testing.assert_frame_equal(back, table.astype({"experiment": back["experiment"].dtype}))
    # the loader concatenates the experiments, experiment first
    write_tables({"critical": tables["critical"].assign(experiment="other")}, str(tmp_path / ANALYSIS_TABLE.replace("{experiment}", "other")))
    both = mbphase.load_analysis("critical", root=tmp_path)
    assert list(both.columns) == ["experiment", "size", "m_c"] and both["experiment"].tolist() == ["other", "other", "sd", "sd"]
    assert mbphase.load_analysis("critical", root=tmp_path, experiments="sd")["experiment"].tolist() == ["sd", "sd"]


def test_the_loaders_say_what_is_missing_and_what_exists(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"results/tables/runs: no runs table .*run the workflow first"):
        mbphase.load_runs(tmp_path)
    with pytest.raises(ValueError, match=r"table='m_c': not an analysis table; one of psucc, critical"):
        mbphase.load_analysis("m_c", tmp_path)
    path = tmp_path / RUNS_TABLE.format(experiment="sd")
    path.parent.mkdir(parents=True)
    pd.DataFrame({"seed": [0, 1]}).to_parquet(path)
    with pytest.raises(ValueError, match=r"experiments=\['sc'\]: no runs table under .* it has \['sd'\]"):
        mbphase.load_runs(tmp_path, experiments=["sd", "sc"])
    assert mbphase.load_runs(tmp_path).to_dict("list") == {"experiment": ["sd", "sd"], "seed": [0, 1]}


def test_a_file_outside_any_partition_keeps_its_experiment_column_and_one_inside_gets_it_back():
    df = pd.DataFrame({"experiment": ["a"], "size": [5]})
    assert restore(df.copy(), "x/t.parquet")["experiment"].tolist() == ["a"]
    assert restore(df.drop(columns="experiment"), "x/experiment=b/t.parquet")["experiment"].tolist() == ["b"]


def test_importing_mbphase_does_not_import_the_loaders():
    import subprocess
    import sys

    code = "import sys, mbphase; print('mbphase.load' in sys.modules); mbphase.load_runs; print('mbphase.load' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]

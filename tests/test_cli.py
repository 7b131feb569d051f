"""`mbphase run`: valid Parquet for every model and task; bad input stops
before any work with a clear message, exit status 2 and no file."""

import subprocess
import sys
import textwrap

import pandas as pd
import pyarrow.parquet as pq
import pytest

from mbphase.cli import main, parse_seeds
from mbphase.sim.params import ParamError, make_params
from mbphase.sim.schema import COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS, file_metadata

CONFIG = textwrap.dedent(
    """
    base_seed: 3
    defaults: {n_test: 500}
    experiments:
      sparse_discrete:
        {architecture: sparse, weights: discrete, topology: tree, K: 3, sizes: [5], m: [20], seeds: 4, max_sweeps: 50, trajectory_points: 4}
      dense_discrete:
        {architecture: dense, weights: discrete, topology: random, K: 1, d: 3, sizes: [7], m: [20], seeds: 4, max_sweeps: 50}
      sparse_continuous:
        {architecture: sparse, weights: continuous, topology: random, K: 3, N: 12, sizes: [3], m: [8], seeds: 4, max_steps: 200, eval_every: 50}
      dense_continuous:
        {architecture: dense, weights: continuous, topology: tree, K: 3, d: 3, sizes: [9], m: [8], seeds: 4, max_steps: 200, eval_every: 50}
    """
)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    return path


@pytest.mark.parametrize("experiment,size,m", [("sparse_discrete", 5, 20), ("dense_discrete", 7, 20), ("sparse_continuous", 3, 8), ("dense_continuous", 9, 8)])
@pytest.mark.parametrize("task", ["committee", "parity"])
def test_run_writes_a_valid_parquet_file_for_every_model_and_task(config, tmp_path, experiment, size, m, task):
    config.write_text(CONFIG.replace("K: 3", f"K: 3, task: {task}").replace("K: 1", f"K: 1, task: {task}"))
    out, traj = tmp_path / "runs.parquet", tmp_path / "traj.parquet"
    args = ["run", "--config", str(config), "--experiment", experiment, "--size", str(size), "--m", str(m), "--seeds", "0:4", "--out", str(out), "--trajectory-out", str(traj)]
    assert main(args) == 0
    table = pq.read_table(out)
    assert table.column_names == list(COLUMNS)
    meta = file_metadata(table.schema)
    assert meta["schema_version"] == SCHEMA_VERSION and meta["kind"] == "runs" and set(meta["columns"]) == set(COLUMNS)
    df = table.to_pandas()
    assert list(df["seed"]) == [0, 1, 2, 3]
    assert (df["task"] == task).all() and (df["experiment"] == experiment).all()
    assert df["status"].eq("ok").all()
    assert df["gen_error"].between(0, 1).all() and df["q"].between(-1, 1).all()
    assert (df.loc[df["success"] & (df["weights"] == "discrete"), "gen_error"] == 0).all()
    assert list(pd.read_parquet(traj).columns) == list(TRAJECTORY_COLUMNS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "runs.parquet", "traj.parquet"]  # no temporary left


def test_the_console_script_runs(config, tmp_path):
    out = tmp_path / "o.parquet"
    cmd = [sys.executable, "-m", "mbphase.cli", "run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "2", "--out", str(out), "--progress", "on"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert list(pd.read_parquet(out)["seed"]) == [2]
    assert "seed" in done.stderr  # the progress bar


BAD_PARAMS = [
    (dict(d=4), "'d'", "odd"),
    (dict(K=2), "'K'", "odd"),
    (dict(m=0), "'m'", ">= 1"),
    (dict(d=9, N=5, topology="random"), "'d'", "at most N"),
    (dict(N=50), "'N'", "K*d"),
    (dict(architecture="wide"), "'architecture'", "sparse | dense"),
    (dict(task="xor"), "'task'", "committee | parity"),
    (dict(refresh="epoch"), "'refresh'", "sweep | proposal"),
    (dict(temperature=-1.0), "'temperature'", ">= 0"),
    (dict(lr=0.0), "'lr'", "> 0"),
    (dict(lr=-2.0), "'lr'", "> 0"),
    (dict(data="finite"), "'train_size'", "finite"),
    (dict(data="finite", train_size=10, m=20), "'train_size'", "at least the mini-batch size"),
    (dict(temprature=1.0), "'temprature'", "did you mean 'temperature'"),
    (dict(max_sweeps=0), "'max_sweeps'", ">= 1"),
    (dict(K=3.0), "'K'", "an integer"),
    (dict(loss="hinge"), "'loss'", "mse | logistic"),
]


@pytest.mark.parametrize("values,key,allowed", BAD_PARAMS)
def test_bad_parameters_name_key_value_and_what_is_allowed(values, key, allowed):
    with pytest.raises(ParamError) as err:
        make_params(values)
    message = str(err.value)
    assert key in message and allowed in message
    bad_key = key.strip("'")
    if bad_key in values:
        assert repr(values[bad_key]) in message


@pytest.mark.parametrize("text", ["0:", "5:2", "a:b", "-1:3", "1:2:3", ""])
def test_malformed_seed_ranges_are_refused(text):
    with pytest.raises(ParamError, match="'seeds'"):
        parse_seeds(text)


@pytest.mark.parametrize(
    "edit,extra,expected",
    [
        ("sizes: [5], m: [20]", [], None),  # control: the unchanged config runs
        ("sizes: [5], m: [20]", ["--seeds", "3:1"], "'seeds'"),
        ("sizes: [5], m: [20]", ["--m", "0"], "'m'"),
        ("sizes: [5], m: [20]", ["--size", "4"], "'d'"),
        ("sizes: [5], m: [20]", ["--experiment", "sparse_discret"], "did you mean 'sparse_discrete'"),
        ("sizes: [5], m: [20], seeds: 4, max_sweeps: 50", [], None),
        ("topology: tree, K: 3", [], None),
        ("architecture: sparse, weights: discrete", [], None),
    ],
)
def test_cli_errors_exit_2_and_write_nothing(config, tmp_path, capsys, edit, extra, expected):
    out = tmp_path / "out.parquet"
    args = {"--config": str(config), "--experiment": "sparse_discrete", "--size": "5", "--m": "20", "--seeds": "0:2", "--out": str(out)}
    for key, value in zip(extra[::2], extra[1::2]):
        args[key] = value
    argv = ["run"] + [x for kv in args.items() for x in kv]
    code = main(argv)
    if expected is None:
        assert code == 0 and out.exists()
        return
    assert code == 2
    assert expected in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    "replace,expected",
    [
        (("architecture: sparse, weights: discrete", "architecture: sprase, weights: discrete"), "allowed: sparse | dense"),
        (("sizes: [5], m: [20]", "sizes: [5], m: [0, 20]"), "a number >= 1"),
        (("sizes: [5], m: [20]", "sizes: [4], m: [20]"), "odd"),
        (("max_sweeps: 50, trajectory_points: 4", "max_sweep: 50, trajectory_points: 4"), "did you mean 'max_sweeps'"),
        (("seeds: 4, max_sweeps: 50", "seeds: four, max_sweeps: 50"), "type integer"),
    ],
)
def test_bad_config_is_refused_before_any_work(config, tmp_path, capsys, replace, expected):
    config.write_text(CONFIG.replace(*replace, 1))
    out = tmp_path / "out.parquet"
    code = main(["run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:2", "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert expected in err and "sparse_discrete" in err
    assert not out.exists()

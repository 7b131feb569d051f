"""`mbphase run`: valid Parquet for every model and task; bad input stops
before any work with a clear message, exit status 2 and no file."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
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


def test_a_job_of_several_m_values_writes_the_rows_of_one_job_per_point(config, tmp_path):
    """`--m 8,20` (a job of points_per_job = 2): the rows and trajectory samples of
    `--m 8` and `--m 20`, one point after the other, bit for bit but the job
    columns."""
    from mbphase.sim.schema import NONDETERMINISTIC_COLUMNS

    def run(m, name):
        out, traj = tmp_path / f"{name}.parquet", tmp_path / f"{name}.trajectory.parquet"
        argv = ["run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", m, "--seeds", "0:4",
                "--progress", "off", "--out", str(out), "--trajectory-out", str(traj)]
        assert main(argv) == 0
        return pd.read_parquet(out).drop(columns=list(NONDETERMINISTIC_COLUMNS)), pd.read_parquet(traj)

    both = run("8,20", "both")
    apart = [run("8", "eight"), run("20", "twenty")]
    for i in range(2):
        pd.testing.assert_frame_equal(both[i], pd.concat([a[i] for a in apart], ignore_index=True))
    assert list(both[0]["m"]) == [8] * 4 + [20] * 4 and len(both[1]) > 0


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
        ("sizes: [5], m: [20]", ["--m", "8,20"], None),  # a job of two m values
        ("sizes: [5], m: [20]", ["--m", "20,8"], "'--m': '20,8'; allowed: a mini-batch size, or several in increasing order"),
        ("sizes: [5], m: [20]", ["--m", "8,,20"], "'--m'"),
        ("sizes: [5], m: [20]", ["--m", "8,100000000"], "'m'"),  # the second point fails before the first runs
        ("sizes: [5], m: [20]", ["--temperature", "0.5,1"], None),  # a temperature scan
        ("sizes: [5], m: [20]", ["--temperature", "1,0.5"], "'--temperature': '1,0.5'; allowed: a temperature, or several in increasing order"),
        ("sizes: [5], m: [20]", ["--temperature", "1,-2"], "'--temperature'"),
        ("sizes: [5], m: [20]", ["--temperature", "1,two"], "'--temperature'"),
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


# ---------------------------------------------------------------- issue 10: every bad argument exits 2 (unusable input 1), no traceback


@pytest.fixture
def run_file(config, tmp_path):
    out = tmp_path / "runs.parquet"
    assert main(["run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:2", "--out", str(out)]) == 0
    return out


def _special(tmp_path, kind):
    if kind == "directory":
        path = tmp_path / "a_dir"
        path.mkdir()
    elif kind == "device":  # a copy of /dev/full's node when root can make one, else /dev/null itself
        path = tmp_path / "full"
        if subprocess.run(["mknod", str(path), "c", "1", "7"], capture_output=True).returncode != 0:
            path = Path("/dev/null")
    elif kind == "symlink to a device":
        path = tmp_path / "link"
        path.symlink_to("/dev/null")
    else:
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "out.parquet"
    return path


@pytest.mark.parametrize("kind", ["directory", "device", "symlink to a device", "under a file"])
@pytest.mark.parametrize("option", ["--out", "--trajectory-out"])
def test_run_refuses_an_output_that_is_not_a_regular_file(config, tmp_path, kind, option):
    """Case 7: --out /dev/full replaced the device node; a directory ended in
    an IsADirectoryError traceback."""
    target = _special(tmp_path, kind)
    before = os.lstat(target).st_mode if os.path.lexists(target) else None
    args = {"--out": str(tmp_path / "o.parquet"), "--trajectory-out": str(tmp_path / "t.parquet")}
    args[option] = str(target)
    argv = [sys.executable, "-m", "mbphase", "run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:2"]
    done = subprocess.run(argv + [x for kv in args.items() for x in kv], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert f"'{option}'" in done.stderr and str(target) in done.stderr and "Traceback" not in done.stderr
    if before is not None:
        assert os.lstat(target).st_mode == before
    assert not (tmp_path / "o.parquet").exists() and not (tmp_path / "t.parquet").exists()


SPEC = '{"experiment":"sparse_discrete","seeds":2,"base_seed":3,"points":[[5,20,0.0]],"blocks":[[0,2]]}'


@pytest.mark.parametrize(
    "argv,code,needles",
    [
        (["aggregate", "--spec", "notjson"], 2, ["--spec: invalid", "Expecting value"]),
        (["aggregate", "--spec", "{}"], 2, ["--spec: invalid", "missing key 'experiment'"]),
        (["aggregate", "--spec", '{"experiment":"x","seeds":0,"points":[],"blocks":[]}'], 2, ["--spec: invalid", "seeds must be >= 1"]),
        (["aggregate", "--spec", SPEC, "--runs-template", "{tmp}/nothere/{size}_{m}_{first}.parquet"], 1, ["nothere/5_20_0.parquet: missing; rerun the workflow"]),
        (["aggregate", "--spec", SPEC, "--runs-template", "{run_file}", "--out-runs", "{tmp}/a_dir"], 2, ["a_dir: is a directory"]),
        (["analyse", "--runs", "{run_file}", "--out-dir", "{tmp}/an", "--n-boot", "-5"], 2, ["'--n-boot': -5", "from 1"]),
        (["analyse", "--runs", "{run_file}", "--out-dir", "{tmp}/an", "--n-boot", "0"], 2, ["'--n-boot': 0"]),
        (["analyse", "--runs", "{run_file}", "--out-dir", "{tmp}/an", "--expected-seeds", "0"], 2, ["'--expected-seeds': 0"]),
        (["analyse", "--runs", "{run_file}", "--out-dir", "{tmp}/an", "--seed", "-1"], 2, ["'--seed': -1"]),
        (["analyse", "--runs", "{tmp}/nothere.parquet", "--out-dir", "{tmp}/an"], 1, ["nothere.parquet: missing"]),
        (["analyse", "--runs", "{run_file}", "--out-dir", "{config}"], 2, ["'--out-dir'", "not one"]),
        (["plot", "--analysis", "{tmp}/nothere", "--out-dir", "{tmp}/figs"], 2, ["'--analysis'", "does not exist", "mbphase analyse"]),
        (["plot", "--analysis", "{tmp}/a_dir", "--out-dir", "{tmp}/figs"], 2, ["'--analysis'", "holds no *.parquet file"]),
        (["run", "--config", "{tmp}", "--experiment", "x", "--size", "5", "--m", "20", "--seeds", "0:2", "--out", "{tmp}/o.parquet"], 2, ["cannot be read"]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", f"0:{10**30}", "--out", "{tmp}/o.parquet"], 2, ["'seeds'", "limit 1000000"]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:2", "--threads", "5000", "--out", "{tmp}/o.parquet"], 2, ["'threads': 5000"]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", str(10**30), "--m", "20", "--seeds", "0:2", "--out", "{tmp}/o.parquet"], 2, ["'d'", str(10**30)]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", "5", "--m", str(10**12), "--seeds", "0:2", "--out", "{tmp}/o.parquet"], 2, ["'m'", str(10**12), "limit"]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--temperature", "nan", "--seeds", "0:2", "--out", "{tmp}/o.parquet"], 2, ["'temperature'", "nan", "finite"]),
        (["run", "--config", "{config}", "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:2", "--out", "{tmp}/o.parquet", "--trajectory-out", "{tmp}/o.parquet"], 2, ["'--trajectory-out'", "other than --out"]),
    ],
)
def test_bad_arguments_exit_with_a_message_and_no_traceback(config, run_file, tmp_path, argv, code, needles):
    """Case 9: tracebacks for --spec notjson and --n-boot -5; a missing run
    file was reported as unreadable Parquet; plot on a missing or empty
    directory drew 14 empty figures and exited 0."""
    (tmp_path / "a_dir").mkdir()
    fields = {"tmp": tmp_path, "run_file": run_file, "config": config}
    for key, value in fields.items():
        argv = [a.replace("{" + key + "}", str(value)) for a in argv]
    if argv[0] == "aggregate":
        argv += [a for a in ("--runs-template", str(run_file)) if "--runs-template" not in argv]
        argv += [a for a in ("--out-runs", str(tmp_path / "r.parquet")) if "--out-runs" not in argv]
        argv += ["--out-trajectories", str(tmp_path / "t.parquet")]
    done = subprocess.run([sys.executable, "-m", "mbphase", *argv], capture_output=True, text=True)
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.startswith("mbphase: error: ")
    for needle in needles:
        assert needle in done.stderr, (needle, done.stderr)
    assert not (tmp_path / "figs").exists() and not (tmp_path / "an").exists() and not (tmp_path / "r.parquet").exists()


def test_version_prints_the_package_and_the_code_version(capsys):
    from mbphase import CODE_VERSION, __version__

    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"mbphase {__version__} (code version {CODE_VERSION})"


@pytest.mark.parametrize("command", ["run", "compile", "aggregate", "analyse", "plot", "status", "report-tables"])
def test_help_shows_every_default(command, capsys):
    import argparse

    from mbphase.cli import _build_parser

    (sub,) = [a for a in _build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # undo the line wrapping
    shown = [a for a in sub.choices[command]._actions if a.default not in (None, argparse.SUPPRESS) and a.nargs != 0 and not a.required]
    for action in shown:
        assert f"(default: {action.default})" in text, action.dest
    if command in ("run", "analyse"):
        assert shown  # the test checks something
    assert "(default: None)" not in text


def test_summary_line_of_a_job_with_known_results():
    from mbphase.cli import summary_line

    runs = pd.DataFrame({
        "experiment": "sd", "size": 5, "m": 16, "temperature": 0.0, "init": "random", "weights": "discrete",
        "status": ["ok", "ok", "ok", "ok", "error"], "success": [True, True, False, False, True],
        "t_solve": [10.0, 40.0, np.nan, np.nan, 1.0], "job_wall_time_s": 2.0, "throughput": 5.0e6,
    })
    line = summary_line(runs, "d", "0:5")
    assert line == ("mbphase run: sd d=5 m=16 T=0 init=random seeds 0:5: P_succ 0.500 (2/4), 1 runs not ok; "
                    "median t_solve 25 sweeps of the 2 solved; compute 2 s; 5e+06 pattern evaluations/s")
    none = summary_line(runs.assign(success=False, weights="continuous"), "N", "0:5")
    assert "P_succ 0.000 (0/4)" in none and "no run solved" in none


def test_run_ends_with_the_summary_line(config, tmp_path, capsys):
    out = tmp_path / "runs.parquet"
    assert main(["run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5", "--m", "20", "--seeds", "0:4", "--progress", "off", "--out", str(out)]) == 0
    last = capsys.readouterr().err.strip().splitlines()[-1]
    df = pd.read_parquet(out)
    solved = int(df["success"].sum())
    assert last.startswith(f"mbphase run: sparse_discrete d=5 m=20 T=0 init=random seeds 0:4: P_succ {solved / 4:.3f} ({solved}/4); ")
    assert last.endswith("pattern evaluations/s")


def test_the_command_ends_at_once_with_its_output_flushed_and_files_complete(config, tmp_path):
    # `python -m mbphase` leaves by os._exit after main (no interpreter
    # teardown): what it printed to a file (block-buffered) must still be
    # there in full, with the exit status, and its run files complete.
    with open(tmp_path / "stdout.txt", "w") as out, open(tmp_path / "stderr.txt", "w") as err:
        done = subprocess.run([sys.executable, "-m", "mbphase", "run", "--config", str(config), "--experiment", "sparse_discrete", "--size", "5",
                               "--m", "20", "--seeds", "0:3", "--progress", "off", "--out", str(tmp_path / "o.parquet"),
                               "--trajectory-out", str(tmp_path / "t.parquet")], stdout=out, stderr=err)
    assert done.returncode == 0, (tmp_path / "stderr.txt").read_text()
    printed = (tmp_path / "stdout.txt").read_text() + (tmp_path / "stderr.txt").read_text()
    assert "mbphase run: sparse_discrete d=5 m=20" in printed and printed.endswith("\n")
    assert len(pd.read_parquet(tmp_path / "o.parquet")) == 3
    pd.read_parquet(tmp_path / "t.parquet")

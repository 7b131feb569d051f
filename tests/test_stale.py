"""Stale results cannot pass silently (issue 10, case 1).

Snakemake notices a changed parameter only through its metadata in
.snakemake/; `make clean` deletes it. A real run on a tiny config, then the
metadata deleted and max_sweeps changed: the workflow refuses the stale
table, naming it, the key and both values, with the command that recomputes
exactly the stale runs; that command works. With the table gone as well and
an m value added, aggregation refuses the stale run files the same way
instead of mixing max_sweeps 60 and 80 in one table.
"""

from __future__ import annotations

import shlex
import shutil

import pandas as pd
import pytest
import yaml

from mbphase.names import RUNS_TABLE
from mbphase.pipeline.aggregate import AggregationError, RunFile, aggregate
from mbphase.pipeline.config import check_config
from mbphase.sim.run import run_point
from mbphase.pipeline.stale import differences, expected_params
from mbphase.pipeline.storage import write_runs
from test_workflow import make_workflow, snakemake

CONFIG = {
    "base_seed": 5,
    "threads": 1,
    "defaults": {"n_test": 200},
    "experiments": {
        "sd": {"architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee", "K": 3,
               "sizes": [5], "m": [4, 16], "seeds": 2, "seeds_per_job": 2, "max_sweeps": 60},
    },
}
TABLE = RUNS_TABLE.format(experiment="sd")


def _write(root, config):
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def _command(text: str) -> list[str]:
    """The recompute command printed by the refusal."""
    line = next(line for line in text.splitlines() if line.strip().startswith("snakemake --forcerun "))
    return shlex.split(line.strip())[1:]


@pytest.mark.slow
def test_a_parameter_changed_after_the_metadata_was_deleted_is_refused_then_recomputed(tmp_path):
    root = make_workflow(tmp_path / "wf", CONFIG)
    snakemake(root, "--cores", "2", TABLE)
    assert set(pd.read_parquet(root / TABLE)["max_sweeps"]) == {60}

    shutil.rmtree(root / ".snakemake")  # what `make clean` does
    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    config["experiments"]["sd"]["max_sweeps"] = 80
    _write(root, config)
    for args in (("-n", "--cores", "2", TABLE), ("--cores", "2", TABLE)):
        done = snakemake(root, *args, check=False)
        text = done.stdout + done.stderr
        assert done.returncode != 0, text
        for needle in ("stale results", TABLE, "'max_sweeps' stored 60, configured 80", "size 5, m 4", "size 5, m 16", "snakemake --forcerun results/runs/sd/size5/m4_T0_random/seeds0-2.parquet"):
            assert needle in text, (needle, text)
    assert set(pd.read_parquet(root / TABLE)["max_sweeps"]) == {60}  # nothing was touched

    # The printed command recomputes exactly the stale runs, then all agree.
    snakemake(root, "--cores", "2", *_command(text), TABLE)
    assert set(pd.read_parquet(root / TABLE)["max_sweeps"]) == {80}
    assert "Nothing to be done" in snakemake(root, "--cores", "2", TABLE).stderr

    # Metadata gone again, max_sweeps back to 60, the table deleted too and
    # an m value added: the new point runs, and aggregation refuses the old
    # files rather than mixing 60 and 80 in one table.
    shutil.rmtree(root / ".snakemake")
    (root / TABLE).unlink()
    config["experiments"]["sd"].update(max_sweeps=60, m=[4, 16, 24])
    _write(root, config)
    done = snakemake(root, "--cores", "2", TABLE, check=False)
    text = done.stdout + done.stderr
    assert done.returncode != 0
    for needle in ("2 run file(s) of experiment 'sd'", "'max_sweeps' stored 80, configured 60", "results/runs/sd/size5/m4_T0_random/seeds0-2.parquet (size 5, m 4, temperature 0, init random)"):
        assert needle in text, (needle, text)
    assert len(_command(text)) == 3 and not any("m24" in arg for arg in _command(text))  # the new point is not stale
    assert not (root / TABLE).exists()
    snakemake(root, "--cores", "2", *_command(text), TABLE)
    runs = pd.read_parquet(root / TABLE)
    assert set(runs["max_sweeps"]) == {60} and set(runs["m"]) == {4, 16, 24}


def test_a_removed_point_or_fewer_seeds_are_reported_as_a_stale_table(tmp_path):
    from mbphase.pipeline.stale import table_problems
    from mbphase.pipeline.aggregate import AGGREGATED_COLUMNS, Aggregate, write_aggregate

    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    config["experiments"]["sd"]["max_sweeps"] = 5
    exp = check_config(config)["sd"]
    frames = [run_point(exp.params(p), [0, 1], 5, experiment="sd", size_key="d")[0] for p in exp.points]
    runs = pd.concat(frames, ignore_index=True).assign(n_runs=2)
    traj = pd.DataFrame(columns=["experiment", "size", "m", "temperature", "init", "seed", "t", "q", "test_error", "acceptance_rate", "loss"])
    write_aggregate(Aggregate(runs[list(AGGREGATED_COLUMNS)], traj.astype({"size": "int64", "m": "int64", "temperature": "float64", "seed": "int64", "t": "int64"})), tmp_path / "runs.parquet", tmp_path / "t.parquet")
    assert table_problems(tmp_path / "runs.parquet", exp, 5) == ({}, [])

    config["experiments"]["sd"]["m"] = [4]
    config["experiments"]["sd"]["seeds"] = 1
    stale, other = table_problems(tmp_path / "runs.parquet", check_config(config)["sd"], 5)
    assert stale == {}
    assert other == ["point (size 5, m 4, temperature 0, init random) has 2 runs, the config's seeds is 1", "point (size 5, m 16, temperature 0, init random) is no longer in the config"]
    stale, _ = table_problems(tmp_path / "runs.parquet", exp, 6)
    assert stale[(5, 4, 0.0, "random")] == [("base_seed", 5, 6)]


def test_aggregation_names_every_stale_file_key_and_value(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(CONFIG))
    config["experiments"]["sd"].update(max_sweeps=5, m=[4])
    exp = check_config(config)["sd"]
    point = exp.points[0]
    runs, _ = run_point(exp.params(point), [0, 1], 5, experiment="sd", size_key="d")
    path = tmp_path / "seeds0-2.parquet"
    write_runs(runs, path)
    files = [RunFile(path, None, point.size, point.m, point.temperature, 0, 2)]
    aggregate(files, "sd", 2, 5, exp.options, exp.size_key)  # agrees: accepted
    changed = dict(exp.options, max_sweeps=7, lr=0.5)
    with pytest.raises(AggregationError) as err:
        aggregate(files, "sd", 2, 5, changed, exp.size_key)
    message = str(err.value)
    assert str(path) in message and "'max_sweeps' stored 5, configured 7" in message and "'lr' stored 2.0, configured 0.5" in message
    assert f"snakemake --forcerun {path}" in message
    assert differences({"train_size": [None], "N": [15]}, expected_params(exp.options, "d", 5, 4, 0.0)) == []

"""Aggregation of run files (mbphase.pipeline.aggregate, `mbphase aggregate`): the
table is complete, sorted and identical however the seeds were split into
files; anything damaged, stale or inconsistent stops it with a message that
names the file and says what to do."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mbphase.pipeline.aggregate import (
    AGGREGATED_COLUMNS,
    AGGREGATED_TRAJECTORY_COLUMNS,
    AggregationError,
    RunFile,
    Spec,
    SpecError,
    aggregate,
    write_aggregate,
)
from mbphase.pipeline.layout import fill_template, format_m, format_temperature, job_fields, job_points, job_wildcards, parse_m
from mbphase.sim.schema import COLUMNS, METADATA_KEY, NONDETERMINISTIC_COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS
from mbphase.pipeline.storage import DamagedFileError, read_checked, write_runs, write_trajectory

RUNS = "{root}/size{{size}}/m{{m}}_T{{temperature}}/seeds{{first}}-{{stop}}.parquet"
TRAJ = "{root}/size{{size}}/m{{m}}_T{{temperature}}/seeds{{first}}-{{stop}}.trajectory.parquet"


def fake_runs(experiment, size, m, temperature, seeds, job_seeds=None, **overrides) -> pd.DataFrame:
    """Rows with every column of the run schema; observables are a function
    of (size, m, temperature, seed) only, as for real runs."""
    seeds = list(seeds)
    n = len(seeds)
    q = [float(np.random.default_rng([size, m, int(temperature * 1000), s]).random()) for s in seeds]
    noise = np.random.default_rng()  # the nondeterministic columns
    values = {
        "experiment": experiment, "size_key": "d", "size": size, "base_seed": 11,
        "architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee",
        "K": 3, "d": size, "N": 3 * size, "inputs": "binary", "data": "online", "train_size": None,
        "m": m, "init": "random", "refresh": "sweep", "order": "random", "temperature": float(temperature), "max_sweeps": 100,
        "lr": 2.0, "loss": "mse", "max_steps": 3000, "samples_per_weight": None, "eval_every": 100, "success_threshold": 0.01,
        "n_test": 1000, "trajectory_points": 3, "stop_at_success": True,
        "status": "ok", "schema_version": SCHEMA_VERSION, "mbphase_version": "0.1.0", "code_version": "abc",
        "versions": "{}", "job_seeds": job_seeds or n, "job_threads": 1, "job_wall_time_s": float(noise.random()),
        "throughput": 1e6 * float(noise.random()),
    }
    values.update(overrides)
    data = {k: [values[k]] * n for k in values}
    data["seed"] = seeds
    data.update({
        "success": [x > 0.5 for x in q], "t_solve": [10.0 if x > 0.5 else np.nan for x in q], "t_run": [100] * n,
        "q": q, "gen_error": [0.0 if x > 0.5 else 0.3 for x in q], "gen_error_se": [0.0] * n,
        "train_error": [0.1] * n, "acceptance_rate": [0.2] * n, "final_loss": [np.nan] * n,
        "q_late": [np.nan] * n, "energy_late": [np.nan] * n, "pattern_evals": [1000] * n,
    })
    for column, (kind, _) in COLUMNS.items():  # columns added to the schema later
        if column not in data:
            data[column] = [_FILLER.get(str(kind), None)] * n
    return pd.DataFrame(data)[list(COLUMNS)].astype({"train_size": "Int64"})


_FILLER = {"string": "", "int64": 0, "double": np.nan, "bool": False}


def fake_trajectory(experiment, size, m, seeds) -> pd.DataFrame:
    rows = [(experiment, size, m, s, t, 0.1 * t, 0.5 / t, 0.3, np.nan) for s in seeds for t in (1, 3, 10)]
    return pd.DataFrame(rows, columns=list(TRAJECTORY_COLUMNS))


def write_point_files(root, experiment, size, m, temperature, blocks, trajectory=True, **overrides) -> list[RunFile]:
    files = []
    for first, stop in blocks:
        runs = fill_template(RUNS.format(root=root), size, m, temperature, first, stop)
        traj = fill_template(TRAJ.format(root=root), size, m, temperature, first, stop)
        write_runs(fake_runs(experiment, size, m, temperature, range(first, stop), job_seeds=stop - first, **overrides), runs)
        if trajectory:
            write_trajectory(fake_trajectory(experiment, size, m, range(first, stop)), traj)
        files.append(RunFile(Path(runs), Path(traj) if trajectory else None, size, m, temperature, first, stop))
    return files


POINTS = [(5, 16, 0.0), (5, 4, 0.0), (7, 4, 0.0), (5, 40, 2.5), (5, 40, 0.5)]


def sweep(root, blocks):
    files = []
    for size, m, t in POINTS:
        files += write_point_files(root, "exp", size, m, t, blocks)
    return files


def comparable(df):
    return df.drop(columns=[c for c in NONDETERMINISTIC_COLUMNS if c in df.columns])


def test_table_is_sorted_complete_and_independent_of_the_seed_split(tmp_path):
    one = aggregate(sweep(tmp_path / "a", [(0, 4)]), "exp", seeds=4)
    four = aggregate(list(reversed(sweep(tmp_path / "b", [(0, 1), (1, 2), (2, 3), (3, 4)]))), "exp", seeds=4)
    assert list(one.runs.columns) == list(AGGREGATED_COLUMNS)
    assert list(one.trajectories.columns) == list(AGGREGATED_TRAJECTORY_COLUMNS)
    assert len(one.runs) == 4 * len(POINTS) and (one.runs["n_runs"] == 4).all()
    keys = one.runs[["size", "m", "temperature", "seed"]]
    assert keys.equals(keys.sort_values(["size", "m", "temperature", "seed"], ignore_index=True))
    pd.testing.assert_frame_equal(comparable(one.runs), comparable(four.runs))
    pd.testing.assert_frame_equal(one.trajectories, four.trajectories)
    # the trajectory rows carry their point's temperature: two points share m = 40
    assert sorted(one.trajectories.loc[one.trajectories["m"] == 40, "temperature"].unique()) == [0.5, 2.5]
    assert one.warnings == [] and four.warnings == []


def test_written_tables_read_back_with_their_schema(tmp_path):
    result = aggregate(sweep(tmp_path, [(0, 2), (2, 4)]), "exp", seeds=4)
    write_aggregate(result, tmp_path / "runs.parquet", tmp_path / "traj.parquet")
    back = read_checked(tmp_path / "runs.parquet", "runs")
    assert list(back.columns) == list(AGGREGATED_COLUMNS)
    assert back["train_size"].isna().all()  # null for online data, not 0 or NaN-as-float
    assert pq.read_schema(tmp_path / "runs.parquet").field("train_size").type == pa.int64()
    traj = read_checked(tmp_path / "traj.parquet", "trajectory")
    assert list(traj.columns) == list(AGGREGATED_TRAJECTORY_COLUMNS)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["runs.parquet", "traj.parquet"]


def test_empty_trajectories_give_an_empty_table_with_columns(tmp_path):
    files = write_point_files(tmp_path, "exp", 5, 4, 0.0, [(0, 3)], trajectory=False)
    result = aggregate(files, "exp", seeds=3)
    assert result.trajectories.empty and list(result.trajectories.columns) == list(AGGREGATED_TRAJECTORY_COLUMNS)
    write_aggregate(result, tmp_path / "r.parquet", tmp_path / "t.parquet")
    assert pq.read_table(tmp_path / "t.parquet").num_rows == 0


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "schema_version", "trajectory_kind"])
def test_a_damaged_file_stops_aggregation_naming_it(tmp_path, damage):
    files = sweep(tmp_path, [(0, 2), (2, 4)])
    victim = files[3].runs
    if damage == "truncated":
        data = victim.read_bytes()
        victim.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        victim.write_bytes(b"not a parquet file at all" * 10)
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "schema_version":
        table = pq.read_table(victim)
        meta = json.loads(table.schema.metadata[METADATA_KEY])
        meta["schema_version"] = 0
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()}), victim)
    else:  # a trajectory file where a run file should be
        victim.write_bytes(files[3].trajectory.read_bytes())
    with pytest.raises(DamagedFileError) as err:
        aggregate(files, "exp", seeds=4)
    assert str(victim) in str(err.value) and "delete it" in str(err.value) and "rerun" in str(err.value)


def test_a_damaged_trajectory_file_stops_aggregation_too(tmp_path):
    files = sweep(tmp_path, [(0, 4)])
    files[1].trajectory.write_bytes(b"\x00" * 100)
    with pytest.raises(DamagedFileError, match=str(files[1].trajectory)):
        aggregate(files, "exp", seeds=4)


def test_a_file_missing_seeds_is_refused_not_silently_shorter(tmp_path):
    files = sweep(tmp_path, [(0, 2), (2, 4)])
    victim = files[5]
    write_runs(fake_runs("exp", victim.size, victim.m, victim.temperature, [victim.first]), victim.runs)
    with pytest.raises(AggregationError) as err:
        aggregate(files, "exp", seeds=4)
    message = str(err.value)
    assert str(victim.runs) in message and "missing seeds" in message and "delete it" in message


@pytest.mark.parametrize(
    "column,value",
    [("m", 99), ("size", 9), ("experiment", "other"), ("temperature", 7.0)],
)
def test_a_file_whose_rows_are_not_its_point_is_refused(tmp_path, column, value):
    files = sweep(tmp_path, [(0, 4)])
    victim = files[0]
    df = fake_runs("exp", victim.size, victim.m, victim.temperature, range(4))
    df[column] = value
    write_runs(df, victim.runs)
    with pytest.raises(AggregationError, match=f"{victim.runs}: holds rows with {column}"):
        aggregate(files, "exp", seeds=4)


def test_a_file_of_another_base_seed_is_refused(tmp_path):
    files = sweep(tmp_path, [(0, 4)])
    with pytest.raises(AggregationError, match="base_seed"):
        aggregate(files, "exp", seeds=4, base_seed=12)
    assert len(aggregate(files, "exp", seeds=4, base_seed=11).runs) == 4 * len(POINTS)


def test_files_of_one_point_that_disagree_on_a_parameter_are_refused(tmp_path):
    files = write_point_files(tmp_path, "exp", 5, 4, 0.0, [(0, 2)])
    files += write_point_files(tmp_path, "exp", 5, 4, 0.0, [(2, 4)], max_sweeps=200)
    with pytest.raises(AggregationError) as err:
        aggregate(files, "exp", seeds=4)
    assert "max_sweeps" in str(err.value) and str(files[0].runs) in str(err.value) and str(files[1].runs) in str(err.value)


def test_seeds_beyond_the_configured_number_are_refused(tmp_path):
    files = sweep(tmp_path, [(0, 4)])
    with pytest.raises(AggregationError, match="expected each of 0..2 once"):
        aggregate(files, "exp", seeds=3)


def test_mixed_code_versions_in_a_point_are_a_warning(tmp_path):
    files = write_point_files(tmp_path, "exp", 5, 4, 0.0, [(0, 2)], code_version="v1")
    files += write_point_files(tmp_path, "exp", 5, 4, 0.0, [(2, 4)], code_version="v2")
    files += write_point_files(tmp_path, "exp", 5, 8, 0.0, [(0, 2), (2, 4)], code_version="v2")
    result = aggregate(files, "exp", seeds=4)
    assert len(result.runs) == 8
    assert len(result.warnings) == 1
    assert "size 5, m 4, temperature 0" in result.warnings[0] and "v1: seeds 0-1" in result.warnings[0] and "v2: seeds 2-3" in result.warnings[0]


def test_format_temperature_is_short_and_lossless():
    assert [format_temperature(t) for t in (0, 0.0, 1.5, 16, 2.25, 1e-7)] == ["0", "0", "1.5", "16", "2.25", "1e-07"]
    for t in (0.1, 1 / 3, 2.0 ** -30, 123456.789, 1e12 + 0.5):
        assert float(format_temperature(t)) == t


def test_the_m_values_of_a_job_round_trip_and_parse_strictly():
    assert format_m(16) == "16" and format_m(np.int64(16)) == "16" and format_m([4, 16, 48]) == "4,16,48"
    assert parse_m("16") == (16,) and parse_m(format_m((4, 16, 48))) == (4, 16, 48)
    for bad in ("", "16,", ",16", "16,,32", "32,16", "16,16", "-4", "+4", "4.0", "4 16", "a"):
        with pytest.raises(ValueError):
            parse_m(bad)


def test_jobs_hold_consecutive_m_values_of_a_grid_or_temperatures_of_a_scan():
    points = [(5, 48, 0.0, "random"), (5, 4, 0.0, "random"), (7, 4, 0.0, "random"), (5, 16, 0.0, "random"),
              (5, 40, 1.0, "random"), (5, 40, 1.0, "teacher"), (5, 8, 0.0, "random"), (5, 40, 2.0, "random")]
    assert job_points(points, 1) == [(p,) for p in points]  # one job per point, in the config's order
    jobs = [[(p[1], p[2], p[3]) for p in job] for job in job_points(points, 3)]
    assert jobs == [[(4, 0.0, "random"), (8, 0.0, "random"), (16, 0.0, "random")], [(48, 0.0, "random")],  # the grid of size 5
                    [(4, 0.0, "random")],  # size 7: alone at its temperature, and no other point at its m
                    [(40, 1.0, "random"), (40, 2.0, "random")], [(40, 1.0, "teacher")]]  # the scans of m = 40
    assert [[p[1] for p in job] for job in job_points(points, 3, scans=False)] == [[4, 8, 16], [48], [4], [40], [40], [40]]
    assert [len(job) for job in job_points(points, 1000)] == [4, 1, 2, 1]
    # a new m value changes the jobs of its grid from its place on only
    before, after = job_points(points, 2), job_points(points + [(5, 32, 0.0, "random")], 2)
    assert before[0] == after[0] and before[1] != after[1] and before[2:] == after[3:]
    assert job_fields(job_points(points, 3)[3]) == (5, (40,), (1.0, 2.0), "random")
    assert job_wildcards(job_points(points, 3)[3], 0, 2) == dict(size=5, m="40", temperature="1,2", init="random", first=0, stop=2)


def test_spec_round_trips_and_lists_every_file(tmp_path):
    spec = Spec("exp", 4, ((5, 4, 0.0, "random"), (5, 40, 2.5, "teacher")), ((0, 2), (2, 4)), base_seed=11)
    assert Spec.from_json(spec.to_json()) == spec
    # a point without a start (the format before init existed) is a random start
    assert Spec.from_json(spec.to_json().replace(',"teacher"', "")).points[1] == (5, 40, 2.5, "random")
    files = spec.files(RUNS.format(root=tmp_path), TRAJ.format(root=tmp_path))
    assert [f.runs.name for f in files] == ["seeds0-2.parquet", "seeds2-4.parquet"] * 2
    assert files[2].runs.parent.name == "m40_T2.5" and files[2].trajectory.name == "seeds0-2.trajectory.parquet"


def jobs_of(points, per_job, scans=True) -> tuple:
    """The spec's "jobs" for ``per_job`` points per job, as the workflow
    writes them (indices into the points of layout.job_points' groups)."""
    return tuple(tuple(points.index(p) for p in job) for job in job_points(points, per_job, scans))


def write_job_files(root, spec: Spec) -> list[RunFile]:
    """The files of ``spec`` as jobs of several points write them: one file
    per job, its points' rows one after the other (trajectory samples only
    for jobs of one temperature: a scan's samples could not be told apart)."""
    files = spec.files(RUNS.format(root=root), TRAJ.format(root=root))
    for f in files:
        points = [(m, t) for t in f.t_values for m in f.m_values]
        write_runs(pd.concat([fake_runs(spec.experiment, f.size, m, t, range(f.first, f.stop)) for m, t in points], ignore_index=True), f.runs)
        traj = [fake_trajectory(spec.experiment, f.size, m, range(f.first, f.stop)) for m, _ in points] if len(f.t_values) == 1 else []
        write_trajectory(pd.concat(traj) if traj else fake_trajectory(spec.experiment, f.size, f.m, []), f.trajectory)
    return files


def test_jobs_of_several_points_give_the_same_tables_as_one_point_per_job(tmp_path):
    blocks = ((0, 2), (2, 4))
    one = Spec("exp", 4, tuple((*p, "random") for p in POINTS), blocks, base_seed=11)
    several = Spec("exp", 4, one.points, blocks, base_seed=11, jobs=jobs_of(one.points, 2))
    assert Spec.from_json(several.to_json()) == several
    files = write_job_files(tmp_path / "b", several)
    # size 5 at T = 0: m 4 and 16 in one job; the two temperatures of m 40 in one (a scan); size 7 alone
    assert sorted({f.runs.parent.name for f in files}) == sorted(["m4,16_T0", "m40_T0.5,2.5", "m4_T0"])
    assert {(f.m_values, f.t_values) for f in files} == {((4, 16), (0.0,)), ((40,), (0.5, 2.5)), ((4,), (0.0,))}
    sweep(tmp_path / "a", blocks)
    a = aggregate(one.files(RUNS.format(root=tmp_path / "a"), TRAJ.format(root=tmp_path / "a")), "exp", 4, 11)
    b = aggregate(files, "exp", 4, 11)
    pd.testing.assert_frame_equal(comparable(a.runs), comparable(b.runs))
    pd.testing.assert_frame_equal(a.trajectories[a.trajectories["m"] != 40].reset_index(drop=True), b.trajectories)
    # without scans (runs that sample trajectories) each temperature is a job of its own
    apart = Spec("exp", 4, one.points, blocks, base_seed=11, jobs=jobs_of(one.points, 2, scans=False))
    assert sorted({f.runs.parent.name for f in apart.files(RUNS.format(root=tmp_path))}) == sorted(["m40_T0.5", "m40_T2.5", "m4,16_T0", "m4_T0"])


def test_a_spec_may_list_its_jobs_explicitly(tmp_path):
    points = ((5, 4, 0.0, "random"), (5, 16, 0.0, "random"), (5, 48, 0.0, "random"))
    spec = Spec("exp", 2, points, ((0, 2),), jobs=((1, 0), (2,)))  # (as an adaptive grid's rounds group them)
    assert Spec.from_json(spec.to_json()) == spec
    assert [f.runs.parent.name for f in spec.files(RUNS.format(root=tmp_path))] == ["m4,16_T0", "m48_T0"]
    for jobs in ([[0, 1]], [[0, 1], [1, 2]], [[0, 1], [2, 3]]):
        with pytest.raises(SpecError, match="every index of points"):
            Spec.from_json(spec.to_json().replace('"jobs":[[1,0],[2]]', f'"jobs":{json.dumps(jobs).replace(" ", "")}'))


def test_a_job_file_missing_or_adding_a_point_is_refused(tmp_path):
    points = ((5, 4, 0.0, "random"), (5, 16, 0.0, "random"))
    spec = Spec("exp", 2, points, ((0, 2),), base_seed=11, jobs=jobs_of(points, 2))
    (f,) = spec.files(RUNS.format(root=tmp_path), TRAJ.format(root=tmp_path))
    write_runs(fake_runs("exp", 5, 4, 0.0, range(2)), f.runs)  # m 16's rows missing
    with pytest.raises(AggregationError, match=f"{f.runs}: holds no rows, but the file's name and the config say size 5, m 16"):
        aggregate([f], "exp", 2, 11)
    write_runs(pd.concat([fake_runs("exp", 5, m, 0.0, range(2)) for m in (4, 16, 32)]), f.runs)  # and one too many
    with pytest.raises(AggregationError, match=r"holds rows with m \[4, 16, 32\], but the file's name and the config say size 5, m 4, 16,"):
        aggregate([f], "exp", 2, 11)
    points = ((5, 40, 1.0, "random"), (5, 40, 2.0, "random"))
    scan = Spec("exp", 2, points, ((0, 2),), base_seed=11, jobs=jobs_of(points, 2))
    (g,) = write_job_files(tmp_path / "scan", scan)
    assert aggregate([g], "exp", 2, 11).runs["temperature"].tolist() == [1.0, 1.0, 2.0, 2.0]
    write_trajectory(fake_trajectory("exp", 5, 40, range(2)), g.trajectory)
    with pytest.raises(AggregationError, match="trajectory rows of a job of several temperatures"):
        aggregate([g], "exp", 2, 11)


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "mbphase", *args], capture_output=True, text=True)


def test_cli_aggregates_and_refuses_damage_without_writing(tmp_path):
    root = tmp_path / "runs"
    for size, m, t in POINTS:
        write_point_files(root, "exp", size, m, t, [(0, 2), (2, 4)])
    spec = Spec("exp", 4, tuple(POINTS), ((0, 2), (2, 4)), base_seed=11).to_json()
    out = [f"--out-runs={tmp_path / 'agg.parquet'}", f"--out-trajectories={tmp_path / 'traj.parquet'}"]
    templates = [f"--runs-template={RUNS.format(root=root)}", f"--trajectories-template={TRAJ.format(root=root)}"]
    done = _cli("aggregate", "--spec", spec, *templates, *out)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_parquet(tmp_path / "agg.parquet")) == 4 * len(POINTS)

    (tmp_path / "agg.parquet").unlink()
    (tmp_path / "traj.parquet").unlink()
    victim = root / "size7" / "m4_T0" / "seeds2-4.parquet"
    victim.write_bytes(victim.read_bytes()[:100])
    failed = _cli("aggregate", "--spec", spec, *templates, *out)
    assert failed.returncode == 1
    assert f"mbphase: error: {victim}" in failed.stderr and "delete it" in failed.stderr
    assert not (tmp_path / "agg.parquet").exists() and not (tmp_path / "traj.parquet").exists()


def test_cli_analyse_refuses_points_with_fewer_runs_than_configured(tmp_path):
    files = sweep(tmp_path / "runs", [(0, 4)])
    write_aggregate(aggregate(files, "exp", seeds=4), tmp_path / "agg.parquet", tmp_path / "traj.parquet")
    refused = _cli("analyse", "--runs", str(tmp_path / "agg.parquet"), "--expected-seeds", "6", "--out-dir", str(tmp_path / "an"), "--n-boot", "5")
    assert refused.returncode == 1
    assert "fewer runs than the 6 seeds configured" in refused.stderr and "--allow-incomplete" in refused.stderr
    assert not (tmp_path / "an").exists()
    allowed = _cli("analyse", "--runs", str(tmp_path / "agg.parquet"), "--expected-seeds", "6", "--allow-incomplete", "--out-dir", str(tmp_path / "an"), "--n-boot", "5")
    assert allowed.returncode == 0, allowed.stderr
    assert "analysing them anyway" in allowed.stderr
    assert (tmp_path / "an" / "psucc.parquet").exists()


def test_the_readme_run_table_lists_every_column_in_order():
    """README "The run table" documents exactly the aggregated table's columns."""
    import re

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### The run table", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", section, re.M) == list(AGGREGATED_COLUMNS)

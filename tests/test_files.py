"""Every file mbphase writes goes through one atomic writer (issue 10, cases
2, 7 and 8): modes follow the umask, non-regular targets are refused, and a
full disk (an injected ENOSPC, and a real 64 kB tmpfs when the tests run as
root) leaves no partial file at the target nor beside it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from mbphase.pipeline import storage
from mbphase.plots import figures as plots
from mbphase.pipeline.aggregate import Aggregate, AGGREGATED_COLUMNS, AGGREGATED_TRAJECTORY_COLUMNS, write_aggregate
from mbphase.analysis import write_tables
from mbphase.sim.params import make_params
from mbphase.sim.run import run_point
from mbphase.pipeline.warmup import write_record

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def runs():
    return run_point(make_params(dict(K=3, d=3, m=4, max_sweeps=3, n_test=16, trajectory_points=2)), [0, 1], base_seed=1, experiment="e")


def _aggregate(runs_df, traj_df) -> Aggregate:
    agg = runs_df.assign(n_runs=len(runs_df))
    traj = traj_df.assign(temperature=0.0, init="random")
    return Aggregate(agg[list(AGGREGATED_COLUMNS)], traj[list(AGGREGATED_TRAJECTORY_COLUMNS)])


def _figure(stem):
    fig = plots._no_data  # the smallest figure the package draws
    return fig(stem, "title", "reason")


# Every kind of file the project writes: name -> function(directory) -> paths written.
WRITERS = {
    "run file": lambda runs, d: (storage.write_runs(runs[0], d / "r.parquet"), [d / "r.parquet"])[1],
    "trajectory file": lambda runs, d: (storage.write_trajectory(runs[1], d / "t.parquet"), [d / "t.parquet"])[1],
    "aggregated tables": lambda runs, d: (write_aggregate(_aggregate(*runs), d / "runs.parquet", d / "traj.parquet"), [d / "runs.parquet", d / "traj.parquet"])[1],
    "analysis tables": lambda runs, d: list(write_tables({"psucc": pd.DataFrame({"m": [1, 2]}), "critical": pd.DataFrame({"x": [0.5]})}, d).values()),
    "figures": lambda runs, d: _figure(d / "fig"),
    "compile flag": lambda runs, d: (write_record({"seconds": {}}, d / "numba_compiled.json"), [d / "numba_compiled.json"])[1],
}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_files_get_the_mode_the_umask_gives(runs, tmp_path, kind, umask):
    old = os.umask(umask)
    try:
        paths = WRITERS[kind](runs, tmp_path)
    finally:
        os.umask(old)
    assert paths
    for path in paths:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, (path, oct(path.stat().st_mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temporary left


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_an_injected_full_disk_leaves_no_partial_file(runs, tmp_path, monkeypatch, kind):
    """ENOSPC from the final flush of every file: the writer raises a
    WriteError naming the target and removes its temporary."""

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", full)
    with pytest.raises(storage.WriteError, match="No space left on device") as err:
        WRITERS[kind](runs, tmp_path)
    assert str(tmp_path) in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "x.parquet"
    target.write_bytes(b"old")

    def half(fh):
        fh.write(b"new, partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(storage.WriteError):
        storage.atomic_write(target, half)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["x.parquet"]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 64 kB filesystem (needs root and mount; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_a_really_full_disk_leaves_no_partial_file(runs, small_tmpfs, kind):
    (small_tmpfs / "ballast").write_bytes(b"\0" * (63 * 1024))  # leaves less than one block
    target = small_tmpfs / "out"
    target.mkdir()
    with pytest.raises(storage.WriteError, match="No space left on device"):
        WRITERS[kind](runs, target)
    assert list(target.iterdir()) == []


def test_analyse_on_a_full_disk_fails_cleanly_and_leaves_no_table(runs, small_tmpfs, tmp_path):
    """Case 8: a 0-byte psucc.parquet was left behind."""
    runs_path = tmp_path / "runs.parquet"
    write_aggregate(_aggregate(*runs), runs_path, tmp_path / "traj.parquet")
    out = small_tmpfs / "analysis"
    (small_tmpfs / "ballast").write_bytes(b"\0" * (63 * 1024))
    done = subprocess.run([sys.executable, "-m", "mbphase", "analyse", "--runs", str(runs_path), "--out-dir", str(out), "--n-boot", "5"], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert [p for p in small_tmpfs.rglob("*") if p.is_file() and p.name != "ballast"] == []


@pytest.mark.parametrize("target", ["directory", "/dev/null", "fifo", "symlink to /dev/null", "under a file"])
def test_non_regular_targets_are_refused_and_left_alone(tmp_path, target):
    if target == "directory":
        path = tmp_path / "d"
        path.mkdir()
    elif target == "fifo":
        path = tmp_path / "f"
        os.mkfifo(path)
    elif target == "symlink to /dev/null":
        path = tmp_path / "link"
        path.symlink_to("/dev/null")
    elif target == "under a file":
        (tmp_path / "plain").write_text("x")
        path = tmp_path / "plain" / "out.parquet"
    else:
        path = Path(target)
    before = os.lstat(path).st_mode if os.path.lexists(path) else None
    with pytest.raises(storage.OutputPathError, match="not a regular file|not a directory|cannot be written"):
        storage.atomic_write(path, lambda fh: fh.write(b"x"))
    if before is not None:
        assert os.lstat(path).st_mode == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_there_is_one_atomic_writer():
    """Only storage.py creates temporary files or writes Parquet, figures or
    JSON flags directly."""
    offenders = []
    for path in (REPO / "src" / "mbphase").rglob("*.py"):
        if path.name == "storage.py":
            continue
        text = path.read_text()
        for needle in ("mkstemp", "NamedTemporaryFile", ".to_parquet(", "pq.write_table", "json.dump(", "os.replace("):
            if needle in text:
                offenders.append(f"{path.name}: {needle}")
        if ".savefig(" in text and "atomic_write(" not in text:
            offenders.append(f"{path.name}: savefig")
    assert offenders == []

"""Interrupted and concurrent sweeps lose nothing (issue 6).

A sweep is killed part way (SIGINT to Snakemake; SIGKILL of Snakemake and all
its jobs, as in a crash; SIGKILL of one training job), then rerun: no partial
Parquet file is ever at a final path, the rerun runs only what is missing, and
the aggregated tables equal those of an uninterrupted run. A second Snakemake
on the same directory is refused by Snakemake's lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from mbphase.names import RUNS_TABLE
from mbphase.pipeline.storage import read_checked
from test_workflow import comparable, job_counts, make_workflow, snakemake

pytestmark = pytest.mark.slow

# Eight training jobs of a few seconds each, so a sweep can be caught part way
# (60,000 sweeps: at 20,000 a job took about a second once start-up got
# faster, a narrow window for the SIGINT sent after the third finished job).
CONFIG = {
    "base_seed": 11,
    "threads": 1,
    "defaults": {"n_test": 2000},
    "experiments": {
        "slow": {
            "architecture": "sparse",
            "weights": "discrete",
            "topology": "tree",
            "task": "committee",
            "K": 3,
            "sizes": [21],
            "m": [20, 30, 40, 60],
            "seeds": 4,
            "seeds_per_job": 2,
            "max_sweeps": 60000,
        }
    },
}
TABLE = RUNS_TABLE.format(experiment="slow")
N_TRAIN_JOBS = 8


def run_files(root: Path) -> list[Path]:
    return sorted((root / "results" / "runs").rglob("*.parquet"))


class Sweep:
    """Snakemake in its own process group (so a crash can take all of it),
    its output collected by a thread so the test can watch its progress."""

    def __init__(self, root: Path):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "--cores", "2", TABLE],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            # SIGINT at its default: a shell without job control starts
            # background jobs (a CI runner, `cmd &`) with SIGINT ignored, and
            # Snakemake would inherit that and never see the test's SIGINT
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def finished_jobs(self) -> int:
        """Jobs Snakemake has registered as done (their outputs are kept)."""
        return sum("Finished job" in line or "Finished jobid" in line for line in list(self.lines))

    def wait(self, timeout: float) -> str:
        self.proc.wait(timeout=timeout)
        self.reader.join(timeout=10)
        return "".join(self.lines)


def start(root: Path) -> Sweep:
    return Sweep(root)


def wait_for(predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the sweep to get part way")


def train_job_pids(snakemake_pid: int) -> list[int]:
    """Processes of `mbphase run` below the Snakemake process."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [snakemake_pid]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            todo.append(child)
            if "mbphase run" in commands.get(child, ""):
                found.append(child)
    return found


def assert_no_partial_file_at_a_final_path(root: Path) -> None:
    for path in run_files(root):
        assert not path.name.startswith("."), path
        read_checked(path, "trajectory" if path.name.endswith(".trajectory.parquet") else "runs")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    root = make_workflow(tmp_path_factory.mktemp("uninterrupted"), CONFIG)
    snakemake(root, "--cores", "2", TABLE)
    return pd.read_parquet(root / TABLE)


def finish_and_compare(root: Path, reference: pd.DataFrame, missing_before: int) -> None:
    """Rerun; only the missing training jobs run; the table equals the reference."""
    done = snakemake(root, "--cores", "2", TABLE)
    counts = job_counts(done.stdout + done.stderr)
    assert counts.get("train", 0) == missing_before
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(root / TABLE)), comparable(reference))


def missing_train_jobs(root: Path) -> int:
    dry = snakemake(root, "-n", "--cores", "2", TABLE)
    return job_counts(dry.stdout + dry.stderr).get("train", 0)


def test_sigint_part_way_then_rerun(tmp_path, reference):
    root = make_workflow(tmp_path / "wf", CONFIG)
    sweep = start(root)
    wait_for(lambda: sweep.finished_jobs() >= 3)  # compile and two training jobs
    sweep.proc.send_signal(signal.SIGINT)
    output = sweep.wait(timeout=120)
    assert sweep.proc.returncode != 0, output
    assert_no_partial_file_at_a_final_path(root)
    missing = missing_train_jobs(root)
    assert 0 < missing < N_TRAIN_JOBS
    finish_and_compare(root, reference, missing)


def test_sigkill_of_snakemake_and_its_jobs_then_rerun(tmp_path, reference):
    root = make_workflow(tmp_path / "wf", CONFIG)
    sweep = start(root)
    wait_for(lambda: sweep.finished_jobs() >= 3 and train_job_pids(sweep.pid))
    os.killpg(sweep.pid, signal.SIGKILL)  # a crash: nothing gets to clean up
    sweep.wait(timeout=60)
    assert_no_partial_file_at_a_final_path(root)
    # The dead run's lock stays; Snakemake says so and how to remove it.
    refused = snakemake(root, "--cores", "2", TABLE, check=False)
    assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
    snakemake(root, "--unlock")
    missing = missing_train_jobs(root)
    assert 0 < missing < N_TRAIN_JOBS
    finish_and_compare(root, reference, missing)


def test_sigkill_of_one_training_job_then_rerun(tmp_path, reference):
    root = make_workflow(tmp_path / "wf", CONFIG)
    sweep = start(root)
    wait_for(lambda: train_job_pids(sweep.pid))
    os.kill(train_job_pids(sweep.pid)[0], signal.SIGKILL)
    output = sweep.wait(timeout=180)
    assert sweep.proc.returncode != 0, output
    assert "Error in rule train" in output
    assert_no_partial_file_at_a_final_path(root)
    missing = missing_train_jobs(root)
    assert 0 < missing <= N_TRAIN_JOBS
    finish_and_compare(root, reference, missing)


def test_a_second_snakemake_on_the_same_directory_is_refused(tmp_path, reference):
    root = make_workflow(tmp_path / "wf", CONFIG)
    first = start(root)
    wait_for(lambda: train_job_pids(first.pid))
    second = snakemake(root, "--cores", "2", TABLE, check=False)
    assert second.returncode != 0
    assert "Directory cannot be locked" in second.stdout + second.stderr
    output = first.wait(timeout=300)
    assert first.proc.returncode == 0, output
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(root / TABLE)), comparable(reference))

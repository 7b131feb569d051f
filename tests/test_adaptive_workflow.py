"""The adaptive m grid in the real workflow (Snakemake checkpoints), on a tiny
config that converges in two rounds per size: the rounds' points are the run
table's points and the analysis finds the last round's m_c; two runs from
scratch give identical tables and decisions; a sweep interrupted in the
middle of a round resumes and ends with the same tables; a bracket that does
not contain the transition is widened up to the limit, then the workflow
stops naming the experiment and the size, with no table written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from mbphase.names import ADAPTIVE_ROUND, ADAPTIVE_START, ANALYSIS_TABLE, RUNS_TABLE
from test_interruptions import train_job_pids, wait_for
from test_workflow import comparable, make_workflow, snakemake

pytestmark = pytest.mark.slow

EXP = "ad"
SIZES = (5, 7)
CONFIG = {
    "base_seed": 8,  # a draw with which both sizes converge in two rounds (the premise above)
    "threads": 1,
    "defaults": {"n_test": 200},
    "experiments": {
        EXP: {
            "architecture": "sparse",
            "weights": "discrete",
            "topology": "tree",
            "task": "committee",
            "K": 3,
            "sizes": list(SIZES),
            "seeds": 8,
            "seeds_per_job": 8,
            "max_sweeps": 60,
            "trajectory_points": 4,
            "adaptive": {"bracket": [3, 48], "target_rel_error": 0.15, "start_points": 4, "points_per_round": 2, "max_rounds": 3},
        }
    },
}
CRITICAL = ANALYSIS_TABLE.format(experiment=EXP, table="critical")
RUNS = RUNS_TABLE.format(experiment=EXP)


def decisions(root: Path, size: int) -> list[dict]:
    out, r = [], 0
    while (root / ADAPTIVE_ROUND.format(experiment=EXP, size=size, round=r)).exists():
        out.append(json.loads((root / ADAPTIVE_ROUND.format(experiment=EXP, size=size, round=r)).read_text()))
        r += 1
    return out


def adaptive_files(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted((root / "results" / "adaptive").rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    root = make_workflow(tmp_path_factory.mktemp("adaptive"), CONFIG)
    snakemake(root, "--cores", "2", CRITICAL)
    return root


def test_rounds_converge_and_the_tables_hold_their_points(clean_run):
    root = clean_run
    runs = pd.read_parquet(root / RUNS)
    critical = pd.read_parquet(root / CRITICAL).set_index("size")
    for size in SIZES:
        rounds = decisions(root, size)
        assert 2 <= len(rounds) <= 3, rounds
        last = rounds[-1]
        assert last["status"] == "converged" and last["rel_err"] <= 0.15
        assert all(d["status"] == "continue" for d in rounds[:-1])
        start = json.loads((root / ADAPTIVE_START.format(experiment=EXP, size=size)).read_text())
        assert set(start["points"]) <= set(last["points"])
        # the run table holds exactly the points of the rounds, every seed
        assert sorted(runs.loc[runs["size"] == size, "m"].unique()) == last["points"]
        assert (runs[runs["size"] == size].groupby("m").size() == 8).all()
        # the analysis, the same estimator on the same runs, agrees with the last round
        assert critical.loc[size, "m_c"] == pytest.approx(last["m_c"], rel=1e-12)
        assert critical.loc[size, "m_c_err"] == pytest.approx(last["m_c_err"], rel=1e-12)
    again = snakemake(root, "--cores", "2", CRITICAL)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_round_killed_midway_resumes(clean_run, tmp_path):
    """A second run from scratch, killed in the middle of a round and
    resumed, ends with the clean run's tables and decisions, byte for byte:
    the rounds are a deterministic function of the results (two runs from
    scratch agree) and an interruption changes nothing. This run puts the
    points each round adds in one job (points_per_job), the clean run each
    in a job of its own: the rows do not depend on it either."""
    config = json.loads(json.dumps(CONFIG))
    config["experiments"][EXP]["points_per_job"] = 4
    root = make_workflow(tmp_path / "wf", config)
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "2", CRITICAL], cwd=root,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
    reader.start()
    # part way into round 1: a round-0 decision is written and training runs
    first = root / ADAPTIVE_ROUND.format(experiment=EXP, size=SIZES[0], round=0)
    wait_for(lambda: first.exists() and train_job_pids(proc.pid), timeout=600)
    os.killpg(proc.pid, signal.SIGKILL)  # a crash, in the middle of a training job
    proc.wait(timeout=60)
    reader.join(timeout=10)
    snakemake(root, "--unlock")
    assert not (root / CRITICAL).exists() and not (root / RUNS).exists()
    kept = {p: p.stat().st_mtime_ns for p in (root / "results" / "runs").rglob("*.parquet")}
    assert kept and not any(p.name.startswith(".") for p in kept)
    snakemake(root, "--cores", "2", CRITICAL)
    # what was done before the interruption is not recomputed
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(root / RUNS)), comparable(pd.read_parquet(clean_run / RUNS)))
    pd.testing.assert_frame_equal(pd.read_parquet(root / CRITICAL), pd.read_parquet(clean_run / CRITICAL))
    assert adaptive_files(root) == adaptive_files(clean_run)
    # one training job per round and size: the 4 start points, then each round's 2
    for size in SIZES:
        jobs = sorted(p.name for p in (root / "results" / "runs" / EXP / f"size{size}").iterdir())
        rounds = decisions(root, size)
        assert len(jobs) == len(rounds), (jobs, rounds)
        assert sum(len(j.split("_")[0][1:].split(",")) for j in jobs) == len(rounds[-1]["points"])


def test_a_bracket_without_the_transition_stops_after_the_widening_limit(tmp_path):
    config = json.loads(json.dumps(CONFIG))
    exp = config["experiments"][EXP]
    exp["sizes"] = [7]
    exp["adaptive"] = {"bracket": [1, 2], "start_points": 2, "max_widenings": 1, "max_rounds": 3}
    root = make_workflow(tmp_path / "wf", config)
    done = snakemake(root, "--cores", "2", CRITICAL, check=False)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "experiment 'ad', size 7: the transition is not in the bracket [1, 4] after 1 widening(s)" in output, output[-3000:]
    assert "max_widenings = 1" in output
    rounds = decisions(root, 7)
    assert len(rounds) == 1 and rounds[0]["widenings"] == 1  # the widening round, then the stop
    # nothing half-written: no decision for the failed round, no table, no temporary file
    assert not (root / ADAPTIVE_ROUND.format(experiment=EXP, size=7, round=1)).exists()
    assert not (root / RUNS).exists() and not (root / CRITICAL).exists()
    assert not [p for p in (root / "results").rglob(".*") if p.is_file()]

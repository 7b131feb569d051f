"""The run and trajectory tables of the tiny config, computed job by job
through ``mbphase run`` (the command each training job runs), for the
behaviour-unchanged check of tests/test_golden.py.

    python tests/golden.py --write   # regenerate tests/data/tiny_*.parquet

Regenerate only after a change that is meant to change results, and say so in
the commit message.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pandas as pd

from mbphase.cli import main
from mbphase.pipeline.layout import format_m

DATA = Path(__file__).resolve().parent / "data"
TINY = DATA / "tiny_config.yaml"
GOLDEN = {"runs": DATA / "tiny_runs.parquet", "trajectories": DATA / "tiny_trajectories.parquet"}

# Provenance that legitimately changes with the code, the machine or the load.
PROVENANCE = ("code_version", "mbphase_version", "versions", "job_wall_time_s", "throughput")


def _jobs():
    from mbphase.pipeline.config import iter_jobs, load_config

    return iter_jobs(load_config(TINY)[1])


def tiny_tables() -> dict[str, pd.DataFrame]:
    """Every job of the tiny config, one ``mbphase run`` each, concatenated."""
    runs, trajectories = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (exp, points, first, stop) in enumerate(_jobs()):
            point = points[0]
            out, traj = Path(tmp, f"{i}.parquet"), Path(tmp, f"{i}.trajectory.parquet")
            argv = ["run", "--config", str(TINY), "--experiment", exp.name, "--size", str(point.size), "--m", format_m(p.m for p in points),
                    "--temperature", repr(point.temperature), "--init", point.init, "--seeds", f"{first}:{stop}", "--progress", "off",
                    "--out", str(out), "--trajectory-out", str(traj)]
            if main(argv) != 0:
                raise RuntimeError(f"mbphase {' '.join(argv)} failed")
            runs.append(pd.read_parquet(out))
            trajectories.append(pd.read_parquet(traj))
    return {
        "runs": pd.concat(runs, ignore_index=True).drop(columns=list(PROVENANCE)),
        "trajectories": pd.concat([t for t in trajectories if len(t)], ignore_index=True),
    }


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit(__doc__)
    for name, table in tiny_tables().items():
        table.to_parquet(GOLDEN[name], index=False)
        print(f"{GOLDEN[name]}: {table.shape}")

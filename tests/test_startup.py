"""A training job starts light (issue 14): `mbphase run` writes its run and
trajectory files without importing pandas, and those files read back with
pandas exactly as files written from DataFrames did (the golden tables of
test_golden.py check the values; this checks the dtypes and the frames of
every model's kernel, including empty trajectories)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mbphase.pipeline.storage import read_checked, write_runs, write_trajectory
from mbphase.sim.params import make_params
from mbphase.sim.run import run_point, run_tables

DATA = Path(__file__).resolve().parent / "data"

CASES = {
    "greedy_bits": dict(K=3, d=5, m=8, max_sweeps=3, n_test=16, trajectory_points=3),
    "greedy finite": dict(K=3, d=5, N=9, topology="random", data="finite", train_size=12, m=4, max_sweeps=2, n_test=16, trajectory_points=2, temperature=1.0),
    "sgd": dict(K=3, d=3, weights="continuous", m=4, max_steps=4, eval_every=2, n_test=16, trajectory_points=2),
    "no trajectory sample": dict(K=3, d=3, m=4, max_sweeps=1, n_test=16, trajectory_points=1),
}


def _without_timings(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame without the columns that vary from run to run (timings)."""
    return frame.drop(columns=[c for c in ("job_wall_time_s", "throughput") if c in frame])


@pytest.mark.parametrize("case", CASES)
def test_files_written_without_pandas_read_back_as_from_pandas(case, tmp_path):
    p = make_params(CASES[case])
    runs, traj = run_tables(p, [0, 1], 3, experiment="e")
    frames = run_point(p, [0, 1], 3, experiment="e")
    write_runs(runs, tmp_path / "arrow.parquet")
    write_trajectory(traj, tmp_path / "arrow.traj.parquet")
    # the pandas path: what the run files were written from before
    write_runs(frames[0], tmp_path / "pandas.parquet")
    write_trajectory(frames[1], tmp_path / "pandas.traj.parquet")
    for name in ("", ".traj"):
        arrow = pd.read_parquet(tmp_path / f"arrow{name}.parquet")
        from_pandas = pd.read_parquet(tmp_path / f"pandas{name}.parquet")
        pd.testing.assert_frame_equal(_without_timings(arrow), _without_timings(from_pandas), check_exact=True)
    assert str(pd.read_parquet(tmp_path / "arrow.parquet")["train_size"].dtype) == "Int64"
    read_checked(tmp_path / "arrow.parquet", "runs")
    read_checked(tmp_path / "arrow.traj.parquet", "trajectory")


def test_mbphase_run_does_not_import_pandas(tmp_path):
    code = (
        "import sys\n"
        "from mbphase.cli import main\n"
        f"status = main(['run', '--config', {str(DATA / 'tiny_config.yaml')!r}, '--experiment', 'sd_tree', '--size', '5', '--m', '4',"
        f" '--seeds', '0:2', '--progress', 'off', '--out', {str(tmp_path / 'r.parquet')!r}, '--trajectory-out', {str(tmp_path / 't.parquet')!r}])\n"
        "assert status == 0, status\n"
        "heavy = sorted(m for m in ('pandas', 'matplotlib', 'seaborn', 'snakemake') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert len(pd.read_parquet(tmp_path / "r.parquet")) == 2


def test_numba_is_imported_by_the_kernels_only_and_caches_per_code_version(tmp_path):
    # The command line, the config's validation and the workflow's parse do
    # not pay Numba's import; the first kernel module sets Numba's cache
    # directory to one per code version before any of its @njit functions
    # is defined.
    code = (
        "import sys\n"
        "import mbphase, mbphase.cli, mbphase.pipeline.config, mbphase.sim.params, mbphase.sim.kernels\n"
        "assert 'numba' not in sys.modules, 'numba imported before any kernel'\n"
        "from mbphase.sim import rng\n"
        "import numba\n"
        "print(numba.config.CACHE_DIR)\n"
        "print(rng.__dict__[[n for n, f in vars(rng).items() if hasattr(f, '_cache')][0]]._cache._cache_path)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    import mbphase

    expected = str(tmp_path / "cache" / mbphase.CODE_VERSION)
    cache_dir, cache_path = out.stdout.split()
    assert cache_dir == expected
    assert cache_path.startswith(expected)


def _kernels_in_a_fresh_process(out_dir: Path, first_import: str) -> str:
    # Every kernel case of CASES run in a new process that imports
    # `first_import` before mbphase; the run tables are written to out_dir.
    code = (
        "import sys\n"
        f"{first_import}\n"
        "from mbphase.pipeline.storage import write_runs, write_trajectory\n"
        "from mbphase.sim.params import make_params\n"
        "from mbphase.sim.run import run_tables\n"
        "from numba.np import arraymath\n"
        f"for i, case in enumerate({list(CASES.values())!r}):\n"
        "    runs, traj = run_tables(make_params(case), [0, 1, 2], 3, experiment='e')\n"
        f"    write_runs(runs, {str(out_dir)!r} + f'/{{i}}.parquet')\n"
        f"    write_trajectory(traj, {str(out_dir)!r} + f'/{{i}}.traj.parquet')\n"
        "print('scipy.linalg' in sys.modules, arraymath._HAVE_BLAS)\n"
    )
    out_dir.mkdir()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_kernels_load_without_scipy_linalg_and_give_the_same_results(tmp_path):
    # Numba's check for BLAS imports scipy.linalg (0.4 CPU-s of a job's
    # start-up); mbphase.sim.numba_cache loads Numba's CPU target with it
    # hidden. The kernels, loaded from the same cache, give the same
    # results as in a process where Numba found SciPy's BLAS.
    assert _kernels_in_a_fresh_process(tmp_path / "light", "") == "False False"
    assert _kernels_in_a_fresh_process(tmp_path / "blas", "import scipy.linalg") == "True True"
    for name in sorted(p.name for p in (tmp_path / "light").iterdir()):
        light, blas = (pd.read_parquet(tmp_path / d / name) for d in ("light", "blas"))
        assert len(light) > 0 or name.endswith(".traj.parquet")
        pd.testing.assert_frame_equal(_without_timings(light), _without_timings(blas), check_exact=True)

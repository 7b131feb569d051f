"""Run one (model, task, size, m) point for a list of seeds.

Per seed, the teacher and the student's initial weights are drawn in Python
from the run's own streams (``rng.run_streams(base_seed, seed)``); the
dynamics run in a Numba kernel that parallelises over seeds. A row depends
only on (parameters, base_seed, seed): not on the thread count, nor on which
other seeds were computed in the same call.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from typing import Sequence

import numba
import numpy as np
import pandas as pd

from .. import CODE_VERSION, __version__
from .kernels import kernel_for
from .observables import SCALARS, STATUS, SUCCESS_METHODS, TRAJ_FIELDS, binomial_se, log_times
from .params import RunParams
from .rng import run_streams, xoshiro_state
from .schema import COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS
from .teacher import make_teacher


@lru_cache(maxsize=1)
def package_versions() -> str:
    """JSON of the versions of Python and the numerical packages."""
    versions = {"python": platform.python_version()}
    for name in ("numpy", "numba", "pandas", "pyarrow", "scipy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return json.dumps(versions, sort_keys=True)


@dataclass
class SeedInputs:
    """Per-seed arrays, stacked along a leading seed axis."""

    teacher_weights: np.ndarray  # (S, K, d) float64 in {-1, +1}
    teacher_fields: np.ndarray  # (S, K, d) int64
    student_weights: np.ndarray  # (S, K, F) float64, initial values
    student_inputs: np.ndarray  # (S, K, F) int64
    states: np.ndarray  # (S, 3, 4) uint64: data, dynamics, test streams


def teacher_start(p: RunParams, teacher_weights: np.ndarray, teacher_fields: np.ndarray) -> np.ndarray:
    """The student weights that compute the teacher's function: the teacher's
    weights (sparse students), or the same on the teacher units' fields and
    0 on every other input (dense students)."""
    if p.architecture == "sparse":
        return np.array(teacher_weights, dtype=np.float64)
    out = np.zeros((p.K, p.fan_in))
    for k in range(p.K):
        out[k, teacher_fields[k]] = teacher_weights[k]
    return out


def prepare_seeds(p: RunParams, base_seed: int, seeds: Sequence[int]) -> SeedInputs:
    """Draw teachers, initial students and kernel stream states for ``seeds``."""
    n = len(seeds)
    out = SeedInputs(
        np.empty((n, p.K, p.d)),
        np.empty((n, p.K, p.d), dtype=np.int64),
        np.empty((n, p.K, p.fan_in)),
        np.empty((n, p.K, p.fan_in), dtype=np.int64),
        np.empty((n, 3, 4), dtype=np.uint64),
    )
    dense_inputs = np.tile(np.arange(p.n_inputs, dtype=np.int64), (p.K, 1))
    initial_student = kernel_for(p).initial
    for i, seed in enumerate(seeds):
        streams = run_streams(base_seed, seed)
        teacher = make_teacher(p, streams["teacher"])
        out.teacher_weights[i] = teacher.weights
        out.teacher_fields[i] = teacher.fields
        if p.init == "teacher":
            out.student_weights[i] = teacher_start(p, teacher.weights, teacher.fields)
        else:
            out.student_weights[i] = initial_student(p, np.random.default_rng(streams["init"]))
        out.student_inputs[i] = teacher.fields if p.architecture == "sparse" else dense_inputs
        for j, name in enumerate(("data", "dynamics", "test")):
            out.states[i, j] = xoshiro_state(streams[name])
    return out


def run_kernel(p: RunParams, inputs: SeedInputs, traj_times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel of ``p``'s model (see :mod:`mbphase.sim.kernels`) on
    every seed of ``inputs``; returns (scalars, traj)."""
    n = inputs.student_weights.shape[0]
    scalars = np.full((n, len(SCALARS)), np.nan)
    traj = np.full((n, traj_times.size, TRAJ_FIELDS), np.nan)
    kernel = kernel_for(p)
    kernel.load()(**kernel.arguments(p, inputs, traj_times, scalars, traj))
    return scalars, traj


def trajectory_times(p: RunParams) -> np.ndarray:
    return log_times(getattr(p, kernel_for(p).budget), p.trajectory_points)


def run_point(
    p: RunParams,
    seeds: Sequence[int],
    base_seed: int,
    threads: int = 1,
    experiment: str = "",
    size_key: str = "d",
    progress: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every seed of one point; return (runs, trajectory) tables whose
    columns are schema.COLUMNS and schema.TRAJECTORY_COLUMNS.

    ``threads`` Numba threads run seeds in parallel. With ``progress`` the
    seeds go to the kernel in chunks so a progress bar can advance; chunking
    does not change any result.
    """
    seeds = [int(s) for s in seeds]
    numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    traj_times = trajectory_times(p)
    chunk = max(1, 4 * threads) if progress else max(1, len(seeds))
    scalars_parts, traj_parts = [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(seeds), unit="seed", desc=f"{experiment or p.model} m={p.m}")
    start = time.perf_counter()
    for lo in range(0, len(seeds), chunk):
        part = seeds[lo : lo + chunk]
        s, t = run_kernel(p, prepare_seeds(p, base_seed, part), traj_times)
        scalars_parts.append(s)
        traj_parts.append(t)
        if bar is not None:
            bar.update(len(part))
    wall = time.perf_counter() - start
    if bar is not None:
        bar.close()
    scalars = np.concatenate(scalars_parts) if scalars_parts else np.empty((0, len(SCALARS)))
    traj = np.concatenate(traj_parts) if traj_parts else np.empty((0, traj_times.size, TRAJ_FIELDS))
    runs = runs_table(p, seeds, base_seed, scalars, experiment, size_key, threads, wall)
    return runs, trajectory_table(p, seeds, traj, experiment, size_key)


def runs_table(p, seeds, base_seed, scalars, experiment, size_key, threads, wall) -> pd.DataFrame:
    """The run rows, in schema column order and types."""
    n = len(seeds)
    col = {name: scalars[:, i] for i, name in enumerate(SCALARS)}
    values = p.as_dict()
    evals = col["pattern_evals"].astype(np.int64)
    data = {
        "experiment": [experiment] * n,
        "size_key": [size_key] * n,
        "size": [values[size_key]] * n,
        "base_seed": [int(base_seed)] * n,
        "seed": seeds,
        **{k: [values[k]] * n for k in COLUMNS if k in values},
        "status": [STATUS[int(c)] for c in col["status"]],
        "success": col["success"] == 1.0,
        "success_method": [SUCCESS_METHODS[int(c)] for c in col["success_method"]],
        "t_solve": col["t_solve"],
        "t_run": col["t_run"].astype(np.int64),
        "q": col["q"],
        "gen_error": col["gen_error"],
        "gen_error_se": binomial_se(col["gen_error"], p.n_test),
        "train_error": col["train_error"],
        "acceptance_rate": col["acceptance_rate"],
        "final_loss": col["final_loss"],
        "q_late": col["q_late"],
        "energy_late": col["energy_late"],
        "pattern_evals": evals,
        "schema_version": [SCHEMA_VERSION] * n,
        "mbphase_version": [__version__] * n,
        "code_version": [CODE_VERSION] * n,
        "versions": [package_versions()] * n,
        "job_seeds": [n] * n,
        "job_threads": [int(threads)] * n,
        "job_wall_time_s": [wall] * n,
        "throughput": [float(evals.sum()) / wall if wall > 0 else np.nan] * n,
    }
    df = pd.DataFrame(data)[list(COLUMNS)]
    return df.astype({"train_size": "Int64"})


def trajectory_table(p, seeds, traj, experiment, size_key) -> pd.DataFrame:
    """Long table of the log-spaced samples actually reached."""
    rows = []
    discrete = kernel_for(p).budget == "max_sweeps"  # acceptance rates, not losses
    size = p.as_dict()[size_key]
    for i, seed in enumerate(seeds):
        for t, q, err, extra in traj[i]:
            if np.isnan(t):
                continue
            rows.append((experiment, size, p.m, seed, int(t), q, err, extra if discrete else np.nan, np.nan if discrete else extra))
    return pd.DataFrame(rows, columns=list(TRAJECTORY_COLUMNS)).astype({"size": "int64", "m": "int64", "seed": "int64", "t": "int64"})


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
import pyarrow as pa

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .. import CODE_VERSION, __version__
from .kernels import kernel_for
from .observables import SCALARS, STATUS, SUCCESS_METHODS, TRAJ_FIELDS, binomial_se, log_times
from .params import RunParams
from .rng import run_streams, xoshiro_state
from .schema import COLUMNS, NULLABLE_INT_COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS, table_schema
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
    # Kernels whose runs share proposals (greedy_replicas): per seed, the
    # seed whose dynamics stream makes them, and a copy of that stream.
    proposal_seeds: np.ndarray | None = None  # (S,) int64
    proposal_states: np.ndarray | None = None  # (S, 4) uint64


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
    out.proposal_seeds = np.empty(n, dtype=np.int64)
    out.proposal_states = np.empty((n, 4), dtype=np.uint64)
    dense_inputs = np.tile(np.arange(p.n_inputs, dtype=np.int64), (p.K, 1))
    kernel = kernel_for(p)
    initial_student = kernel.initial
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
        lead = kernel.proposal_seed(p, seed)
        out.proposal_seeds[i] = lead
        out.proposal_states[i] = out.states[i, 1] if lead == seed else xoshiro_state(run_streams(base_seed, lead)["dynamics"])
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
):
    """Run every seed of one point; return (runs, trajectory) DataFrames
    whose columns are schema.COLUMNS and schema.TRAJECTORY_COLUMNS: the
    tables of :func:`run_tables`, as pandas reads them from a run file."""
    runs, traj = run_tables(p, seeds, base_seed, threads, experiment, size_key, progress)
    return runs.to_pandas(), traj.to_pandas()


def run_tables(
    p: RunParams,
    seeds: Sequence[int],
    base_seed: int,
    threads: int = 1,
    experiment: str = "",
    size_key: str = "d",
    progress: bool = False,
) -> tuple[pa.Table, pa.Table]:
    """Run every seed of one point; return (runs, trajectory) Arrow tables
    with the documented schemas (what a training job writes: built without
    pandas, whose import would cost every job about half a second).

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


def runs_table(p, seeds, base_seed, scalars, experiment, size_key, threads, wall) -> pa.Table:
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
    assert set(NULLABLE_INT_COLUMNS) <= set(data)  # an option's None (train_size online) is a null
    return arrow_table(data, COLUMNS, "runs")


def trajectory_table(p, seeds, traj, experiment, size_key) -> pa.Table:
    """Long table of the log-spaced samples actually reached."""
    discrete = kernel_for(p).budget == "max_sweeps"  # acceptance rates, not losses
    size = p.as_dict()[size_key]
    seed_of = np.repeat(np.asarray(seeds, dtype=np.int64), traj.shape[1])
    flat = traj.reshape(-1, TRAJ_FIELDS)
    reached = ~np.isnan(flat[:, 0])
    t, q, err, extra = (flat[reached, j] for j in range(4))
    n = int(reached.sum())
    nan = np.full(n, np.nan)
    data = {
        "experiment": [experiment] * n,
        "size": np.full(n, size, dtype=np.int64),
        "m": np.full(n, p.m, dtype=np.int64),
        "seed": seed_of[reached],
        "t": t.astype(np.int64),
        "q": q,
        "test_error": err,
        "acceptance_rate": extra if discrete else nan,
        "loss": nan if discrete else extra,
    }
    return arrow_table(data, TRAJECTORY_COLUMNS, "trajectory")


def arrow_table(data: dict, columns, kind: str) -> pa.Table:
    """Columns (sequences or arrays) as an Arrow table of the documented
    schema, built from buffers: ``pa.table`` and ``pa.array`` import pandas
    (to check whether they were given pandas objects), which would add about
    half a second to every training job."""
    schema = table_schema(columns, kind)
    return pa.Table.from_arrays([arrow_array(data[f.name], f.type) for f in schema], schema=schema)


def arrow_array(values, arrow_type: pa.DataType) -> pa.Array:
    """One column of int64, float64, bool or string values (a column of
    None only: nulls) as an Arrow array, without pandas."""
    n = len(values)
    if n and all(v is None for v in values):
        return pa.nulls(n, arrow_type)
    if pa.types.is_string(arrow_type):
        encoded = [str(v).encode() for v in values]
        offsets = np.zeros(n + 1, dtype=np.int32)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return pa.Array.from_buffers(arrow_type, n, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if pa.types.is_boolean(arrow_type):
        bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(arrow_type, n, [None, pa.py_buffer(bits)])
    dtype = {pa.int64(): np.int64, pa.float64(): np.float64}[arrow_type]
    return pa.Array.from_buffers(arrow_type, n, [None, pa.py_buffer(np.ascontiguousarray(values, dtype=dtype))])

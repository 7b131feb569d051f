"""All run files of one experiment into one table, checked.

Each training job writes the rows of one block of seeds of one point
(size, m, temperature) to its own Parquet file. :func:`aggregate` reads
every file of an experiment and refuses to produce a table that is smaller
or less consistent than the experiment says it should be:

- a file that cannot be read, is truncated or has another schema version
  stops it (:class:`mbphase.pipeline.storage.DamagedFileError`);
- so does a file whose stored parameters are not the config's for its
  point (a stale result: :mod:`mbphase.pipeline.stale`); the message lists
  the keys with the stored and configured values and the command that
  recomputes exactly the stale files;
- so does a file whose rows are not the ones its name promises (another
  experiment, point or base seed, missing or extra seeds), and a point whose
  files disagree on a parameter (for instance ``max_sweeps`` changed between
  two blocks): :class:`AggregationError`.

Every message names the file and says what to do: delete it and rerun the
workflow. A point whose runs come from different code versions is allowed
but reported as a warning.

The result is sorted by (size, m, temperature, seed), so it does not depend
on how seeds were split into jobs nor on the order the jobs finished; each
row carries ``n_runs``, the number of runs of its point.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from .layout import fill_template, format_temperature, job_fields
from ..sim.schema import COLUMNS, PARAM_COLUMNS, TRAJECTORY_COLUMNS
from .stale import describe, differences, expected_params, forcerun_command
from .storage import atomic_write_table, read_checked

POINT_KEYS = ("size", "m", "temperature", "init")
RUN_ORDER = ("size", "m", "temperature", "init", "seed")

AGGREGATED_COLUMNS = {
    **COLUMNS,
    "n_runs": (pa.int64(), "runs of this row's point (size, m, temperature, init) in the aggregated table"),
}
# The trajectory files do not carry the temperature nor the start; the
# aggregated table does, from the file's point, so that Metropolis baseline
# runs at m = train_size can be told apart.
AGGREGATED_TRAJECTORY_COLUMNS = {
    **{k: v for k, v in TRAJECTORY_COLUMNS.items() if k in ("experiment", "size", "m")},
    "temperature": (pa.float64(), "temperature of the run's point"),
    "init": (pa.string(), "initial student weights of the run's point: random | teacher"),
    **{k: v for k, v in TRAJECTORY_COLUMNS.items() if k not in ("experiment", "size", "m")},
}
TRAJECTORY_ORDER = ("size", "m", "temperature", "init", "seed", "t")


class AggregationError(RuntimeError):
    """Run files that do not add up to the experiment: the message names the
    file(s), what is wrong and what to do."""


class SpecError(ValueError):
    """A malformed --spec: the message says what is expected."""


def _advice(path) -> str:
    return f"delete it ('rm {path}') and rerun the workflow to recompute it"


@dataclass(frozen=True)
class RunFile:
    """One training job's output: seeds ``first .. stop-1`` of one point, or
    of the points of a job of ``points_per_job`` > 1: every pair of its m
    values ``ms`` and temperatures ``temperatures`` (one of the two lists
    has one value; ``m`` and ``temperature`` are then the first)."""

    runs: Path
    trajectory: Path | None
    size: int
    m: int
    temperature: float
    first: int
    stop: int
    init: str = "random"
    ms: tuple[int, ...] = ()
    temperatures: tuple[float, ...] = ()

    @property
    def m_values(self) -> tuple[int, ...]:
        """The m values the file holds."""
        return self.ms or (self.m,)

    @property
    def t_values(self) -> tuple[float, ...]:
        """The temperatures the file holds."""
        return self.temperatures or (float(self.temperature),)

    def point(self) -> str:
        m = ", ".join(map(str, self.m_values))
        t = ", ".join(map(format_temperature, self.t_values))
        return f"size {self.size}, m {m}, temperature {t}, init {self.init}"

    def at(self, m: int, temperature: float) -> "RunFile":
        """The file as the holder of one of its points (messages, checks)."""
        return replace(self, m=int(m), temperature=float(temperature), ms=(), temperatures=())


@dataclass(frozen=True)
class Spec:
    """What one experiment's aggregation expects: its points (size, m,
    temperature, init), the blocks [first, stop) of seeds of every point, and the
    number of seeds and base seed of the experiment."""

    experiment: str
    seeds: int
    points: tuple[tuple[int, int, float, str], ...]
    blocks: tuple[tuple[int, int], ...]
    base_seed: int | None = None
    # which file holds a point: the points of each training job, as indices
    # into points (the workflow's Experiment.job_points); None: a job per point
    jobs: tuple[tuple[int, ...], ...] | None = None
    # the experiment's run options and size key (mbphase.pipeline.config.Experiment):
    # with them, every file's stored parameters are compared with the config
    options: dict | None = None
    size_key: str | None = None

    @classmethod
    def from_json(cls, text: str) -> "Spec":
        try:
            raw = json.loads(text)
            spec = cls(
                experiment=str(raw["experiment"]),
                seeds=int(raw["seeds"]),
                # [size, m, temperature] or [size, m, temperature, init]
                points=tuple((int(p[0]), int(p[1]), float(p[2]), str(p[3]) if len(p) > 3 else "random") for p in raw["points"]),
                blocks=tuple((int(a), int(b)) for a, b in raw["blocks"]),
                base_seed=None if raw.get("base_seed") is None else int(raw["base_seed"]),
                options=None if raw.get("options") is None else dict(raw["options"]),
                size_key=None if raw.get("size_key") is None else str(raw["size_key"]),
                jobs=None if raw.get("jobs") is None else tuple(tuple(int(i) for i in job) for job in raw["jobs"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            what = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise SpecError(
                f"--spec: invalid ({what}); expected JSON with experiment, seeds, points [[size, m, temperature, init], ...], "
                f"blocks [[first, stop], ...] and optionally base_seed, options, size_key, jobs"
            ) from None
        if spec.seeds < 1 or any(not 0 <= a < b for a, b in spec.blocks) or (spec.options is None) != (spec.size_key is None):
            raise SpecError("--spec: invalid (seeds must be >= 1, blocks [first, stop) with 0 <= first < stop, options and size_key given together)")
        if spec.jobs is not None and sorted(i for job in spec.jobs for i in job) != list(range(len(spec.points))):
            raise SpecError(f"--spec: invalid jobs {[list(j) for j in spec.jobs]}: every index of points (0..{len(spec.points) - 1}) must be in exactly one job")
        return spec

    def to_json(self) -> str:
        data = {"experiment": self.experiment, "seeds": self.seeds, "base_seed": self.base_seed, "points": [list(p) for p in self.points], "blocks": [list(b) for b in self.blocks]}
        if self.jobs is not None:
            data.update(jobs=[list(j) for j in self.jobs])
        if self.options is not None:
            data.update(options=self.options, size_key=self.size_key)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    def files(self, runs_template: str, trajectory_template: str | None = None) -> list[RunFile]:
        """Every run file, from path templates with the fields of
        :func:`mbphase.pipeline.layout.fill_template`."""
        out = []
        points = [(p[0], p[1], p[2], p[3] if len(p) > 3 else "random") for p in self.points]
        jobs = [[p] for p in points] if self.jobs is None else [[points[i] for i in job] for job in self.jobs]
        for job in jobs:
            size, ms, ts, init = job_fields(job)
            for first, stop in self.blocks:
                traj = Path(fill_template(trajectory_template, size, ms, ts, first, stop, init)) if trajectory_template else None
                out.append(RunFile(Path(fill_template(runs_template, size, ms, ts, first, stop, init)), traj, size, ms[0], ts[0], first, stop, init,
                                   ms if len(ms) > 1 else (), ts if len(ts) > 1 else ()))
        return out


@dataclass
class Aggregate:
    runs: pd.DataFrame
    trajectories: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _check_file_rows(df: pd.DataFrame, f: RunFile, experiment: str, base_seed: int | None, path: Path) -> None:
    """The rows of one run file are exactly the runs its name promises."""

    def fail(what: str):
        raise AggregationError(f"{path}: {what}, but the file's name and the config say {f.point()}, seeds {f.first}..{f.stop - 1}; {_advice(path)}")

    if not len(df):
        fail("holds no rows")
    for column, expected in (("experiment", experiment), ("size", f.size), ("m", f.m), ("init", f.init)):
        values = sorted(set(df[column].tolist()))
        if values != [expected]:
            fail(f"holds rows with {column} {values}")
    temps = sorted(set(df["temperature"].astype(float).tolist())) if "temperature" in df else []
    if temps and temps != [float(f.temperature)]:
        fail(f"holds rows with temperature {temps}")
    seeds = df["seed"].astype(np.int64).tolist()
    if sorted(seeds) != list(range(f.first, f.stop)):
        missing = sorted(set(range(f.first, f.stop)) - set(seeds))
        extra = sorted(set(seeds) - set(range(f.first, f.stop)))
        dups = sorted({s for s in seeds if seeds.count(s) > 1})
        detail = "; ".join(x for x in (f"missing seeds {missing}" if missing else "", f"unexpected seeds {extra}" if extra else "", f"repeated seeds {dups}" if dups else "") if x)
        fail(f"holds {len(seeds)} rows ({detail})")
    if base_seed is not None:
        bases = sorted(set(df["base_seed"].astype(np.int64).tolist()))
        if bases != [base_seed]:
            raise AggregationError(f"{path}: computed with base_seed {bases}, the config says {base_seed}; {_advice(path)}")


def _per_point(df: pd.DataFrame, f: RunFile, path: Path) -> list[tuple[RunFile, pd.DataFrame]]:
    """The rows of a run file, point by point: (the file as its holder,
    rows) for each of its points; the whole file for a file of one point
    (its m and temperature are checked with the other columns)."""
    if len(f.m_values) == 1 and len(f.t_values) == 1:
        return [(f, df)]
    for column, allowed in (("m", f.m_values), ("temperature", f.t_values)):
        found = set(df[column].tolist())
        if not found <= set(allowed):
            raise AggregationError(f"{path}: holds rows with {column} {sorted(found)}, but the file's name and the config say {f.point()}; {_advice(path)}")
    return [(f.at(m, t), df[(df["m"] == m) & (df["temperature"] == t)].reset_index(drop=True)) for t in f.t_values for m in f.m_values]


def _check_point_consistency(point_rows: list[tuple[RunFile, pd.DataFrame]], warnings: list[str]) -> None:
    """The files of one point agree on every parameter; mixed code versions
    are reported."""
    frame = pd.concat([df.assign(_file=str(f.runs)) for f, df in point_rows], ignore_index=True)
    f0 = point_rows[0][0]
    for column in PARAM_COLUMNS:
        if column in frame and frame[column].nunique(dropna=False) > 1:
            per_file = frame.groupby("_file", sort=True)[column].first()
            listing = ", ".join(f"{path}: {value!r}" for path, value in per_file.items())
            raise AggregationError(
                f"point ({f0.point()}): the run files disagree on parameter '{column}' ({listing}); "
                f"they come from different configs: delete the stale ones and rerun the workflow"
            )
    versions = frame.groupby("code_version", sort=True)["seed"].agg(lambda s: sorted(s.tolist()))
    if len(versions) > 1:
        listing = "; ".join(f"code {version}: seeds {_ranges(seeds)}" for version, seeds in versions.items())
        warnings.append(
            f"point ({f0.point()}) mixes runs from {len(versions)} code versions ({listing}); "
            f"delete its run files and rerun the workflow if the results must come from one version"
        )


def _ranges(values: list[int]) -> str:
    """[0, 1, 2, 5] -> '0-2, 5'."""
    out, start, prev = [], None, None
    for v in values:
        if start is None:
            start = prev = v
        elif v == prev + 1:
            prev = v
        else:
            out.append(f"{start}-{prev}" if prev > start else f"{start}")
            start = prev = v
    if start is not None:
        out.append(f"{start}-{prev}" if prev > start else f"{start}")
    return ", ".join(out)


def _empty_frame(columns: dict) -> pd.DataFrame:
    return pa.schema([pa.field(k, t) for k, (t, _) in columns.items()]).empty_table().to_pandas()


def _refuse_stale(stale: list[tuple[RunFile, list]], experiment: str) -> None:
    """Stop on run files computed with other parameters than the config's."""
    if not stale:
        return
    listing = "\n".join(f"  {f.runs} ({f.point()}): {describe(diffs)}" for f, diffs in stale)
    raise AggregationError(
        f"{len(stale)} run file(s) of experiment '{experiment}' were computed with other parameters than the config says "
        f"(Snakemake reruns such jobs only while its metadata in .snakemake/ is intact):\n{listing}\n"
        f"Recompute exactly these (and what depends on them):\n  {forcerun_command(f.runs for f, _ in stale)}"
    )


def aggregate(files: Sequence[RunFile], experiment: str, seeds: int, base_seed: int | None = None, options: dict | None = None, size_key: str | None = None) -> Aggregate:
    """Read, check and concatenate the run files of one experiment.

    Parameters
    ----------
    files : sequence of RunFile
        Every job output of the experiment; each covers seeds first..stop-1
        of one point, and together they must cover seeds 0..seeds-1 of every
        point exactly once.
    experiment : str
        Name of the experiment every row must carry.
    seeds : int
        Runs per point.
    base_seed : int, optional
        The experiment seed every row must carry (not checked if None).
    options, size_key : dict and str, optional
        The experiment's run options and size key in the config: every
        file's stored parameters must be those of its point (not checked if
        None).

    Returns
    -------
    Aggregate
        ``runs`` (columns :data:`AGGREGATED_COLUMNS`, sorted by size, m,
        temperature, seed), ``trajectories`` (columns
        :data:`AGGREGATED_TRAJECTORY_COLUMNS`, sorted by size, m,
        temperature, seed, t) and ``warnings`` (messages for mixed code
        versions).

    Raises
    ------
    DamagedFileError, AggregationError
        With a message naming the file and what to do.
    """
    warnings: list[str] = []
    by_point: dict[tuple, list[tuple[RunFile, pd.DataFrame]]] = {}
    trajectories = []
    stale = []
    for f in files:
        df = read_checked(f.runs, "runs")
        for view, part in _per_point(df, f, f.runs):
            _check_file_rows(part, view, experiment, base_seed, f.runs)
            if options is not None:
                diffs = differences({k: part[k].tolist() for k in part.columns}, expected_params(options, size_key, f.size, view.m, view.temperature, f.init))
                if diffs:
                    stale.append((view, diffs))
            by_point.setdefault((f.size, view.m, float(view.temperature), f.init), []).append((view, part))
        if f.trajectory is not None:
            traj = read_checked(f.trajectory, "trajectory")
            if len(f.t_values) > 1 and len(traj):  # (rows of several temperatures would be told apart by nothing)
                raise AggregationError(f"{f.trajectory}: holds trajectory rows of a job of several temperatures ({f.point()}), which its rows "
                                       f"cannot tell apart; {_advice(f.trajectory)}")
            for column, expected in (("experiment", [experiment]), ("size", [f.size]), ("m", list(f.m_values))):
                if len(traj) and not set(traj[column].tolist()) <= set(expected):
                    raise AggregationError(f"{f.trajectory}: holds trajectory rows with {column} {sorted(set(traj[column].tolist()))}, expected "
                                           f"{expected[0] if len(expected) == 1 else expected} ({f.point()}); {_advice(f.trajectory)}")
            if not set(traj["seed"].tolist()) <= set(range(f.first, f.stop)):
                raise AggregationError(f"{f.trajectory}: holds trajectory rows of seeds outside {f.first}..{f.stop - 1}; {_advice(f.trajectory)}")
            traj.insert(list(traj.columns).index("m") + 1, "temperature", float(f.temperature))
            traj.insert(list(traj.columns).index("temperature") + 1, "init", f.init)
            trajectories.append(traj)

    _refuse_stale(stale, experiment)
    parts = []
    for key, point_rows in by_point.items():
        _check_point_consistency(point_rows, warnings)
        have = sorted(s for _, df in point_rows for s in df["seed"].tolist())
        if have != list(range(seeds)):
            f0 = point_rows[0][0]
            missing = sorted(set(range(seeds)) - set(have))
            extra = sorted({s for s in have if s >= seeds or have.count(s) > 1})
            raise AggregationError(
                f"point ({f0.point()}): the run files {[str(f.runs) for f, _ in point_rows]} hold seeds {_ranges(sorted(set(have)))}, "
                f"expected each of 0..{seeds - 1} once (missing {missing}, extra or repeated {extra}); rerun the workflow "
                f"(delete the files of this point first if they come from another config)"
            )
        parts.extend(df for _, df in point_rows)

    if parts:
        runs = pd.concat(parts, ignore_index=True)
        runs = runs.sort_values(list(RUN_ORDER), kind="mergesort", ignore_index=True)
        runs["n_runs"] = runs.groupby(list(POINT_KEYS), sort=False)["seed"].transform("size").astype(np.int64)
    else:
        runs = _empty_frame(AGGREGATED_COLUMNS)
    if trajectories and any(len(t) for t in trajectories):
        traj = pd.concat([t for t in trajectories if len(t)], ignore_index=True)
        traj = traj.sort_values(list(TRAJECTORY_ORDER), kind="mergesort", ignore_index=True)
    else:
        traj = _empty_frame(AGGREGATED_TRAJECTORY_COLUMNS)
    return Aggregate(runs[list(AGGREGATED_COLUMNS)], traj[list(AGGREGATED_TRAJECTORY_COLUMNS)], warnings)


def _to_arrow(df: pd.DataFrame, columns: dict, kind: str) -> pa.Table:
    from ..sim.schema import arrow_schema

    schema = arrow_schema(columns, kind)
    # Column by column, so that a nullable integer column read back as float
    # (train_size is null for online data) converts to int64 exactly.
    arrays = [pa.array(df[name], type=schema.field(name).type, from_pandas=True) for name in columns]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_aggregate(result: Aggregate, runs_path: str | Path, trajectories_path: str | Path) -> None:
    """Write both tables atomically (schema metadata as for run files, with
    the extra columns documented). A path in a Hive partition
    (``experiment=<name>/``) stores the experiment in its name, not as a
    column (:mod:`mbphase.pipeline.partition`)."""
    from .partition import strip

    atomic_write_table(strip(_to_arrow(result.runs, AGGREGATED_COLUMNS, "runs"), runs_path), runs_path)
    atomic_write_table(strip(_to_arrow(result.trajectories, AGGREGATED_TRAJECTORY_COLUMNS, "trajectory"), trajectories_path), trajectories_path)

"""Progress of a sweep, from the files on disk: per experiment the training
jobs done and missing, and the current m_c estimate per size when the
experiment has been analysed (``mbphase status``).

A job is done when its run file exists: the workflow writes every file
atomically, so an existing file is a complete one. Whether it is up to date
with the code and the config is Snakemake's business (``snakemake -n``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mbphase.names import ANALYSIS_TABLE, RUN_FILE
from mbphase.pipeline.config import Experiment, Point, iter_jobs
from mbphase.pipeline.layout import format_temperature, job_wildcards


@dataclass
class ExperimentStatus:
    name: str
    size_key: str
    # training jobs: (their points, first seed, stop seed)
    done: list[tuple[tuple[Point, ...], int, int]] = field(default_factory=list)
    missing: list[tuple[tuple[Point, ...], int, int]] = field(default_factory=list)
    critical: object = None  # the critical table (DataFrame), None if not analysed yet
    rounds: list[str] = field(default_factory=list)  # adaptive grids: per size, the rounds so far


def sweep_status(experiments: dict[str, Experiment], root: str | Path = ".") -> list[ExperimentStatus]:
    """The status of every experiment of a config, from the files below
    ``root`` (the directory the workflow runs in)."""
    root = Path(root)
    found = {name: ExperimentStatus(name, exp.size_key) for name, exp in experiments.items()}
    experiments = {name: _adaptive_points(exp, root, found[name]) if exp.adaptive else exp for name, exp in experiments.items()}
    for exp, points, first, stop in iter_jobs(experiments):
        path = root / RUN_FILE.format(experiment=exp.name, **job_wildcards(points, first, stop))
        (found[exp.name].done if path.is_file() else found[exp.name].missing).append((points, first, stop))
    for name, status in found.items():
        table = root / ANALYSIS_TABLE.format(experiment=name, table="critical")
        if table.is_file():
            from mbphase.analysis.tables import read_table_file

            status.critical = read_table_file(table)
    return list(found.values())


def _adaptive_points(exp: Experiment, root: Path, status: ExperimentStatus) -> Experiment:
    """An adaptive experiment with the points its rounds have placed so far
    (from the start plans and decisions on disk: later rounds are unknown)."""
    import json

    from mbphase.names import ADAPTIVE_ROUND, ADAPTIVE_START
    from mbphase.pipeline.adaptive import STATUS_CONTINUE, round_points, rounds_added

    rounds = []  # the points each round of each size added
    for size in exp.adaptive.sizes:
        start = root / ADAPTIVE_START.format(experiment=exp.name, size=size)
        if not start.is_file():
            status.rounds.append(f"{exp.size_key}={size}: not started")
            continue
        states, r = [json.loads(start.read_text())], 0
        while (root / ADAPTIVE_ROUND.format(experiment=exp.name, size=size, round=r)).is_file():
            states.append(json.loads((root / ADAPTIVE_ROUND.format(experiment=exp.name, size=size, round=r)).read_text()))
            r += 1
        state = states[-1]
        ms = round_points(state)
        done = r > 0 and state["status"] != STATUS_CONTINUE
        status.rounds.append(f"{exp.size_key}={size}: {r} round(s) decided, {len(ms)} m values"
                             + (f", {state['status']}: {state['message']}" if done else f", round {r} running"))
        rounds += [[exp.adaptive.point(size, m) for m in added] for added in rounds_added(states)]
    return exp.with_rounds(rounds)


def _job_text(size_key: str, points: tuple[Point, ...], first: int, stop: int) -> str:
    w = job_wildcards(points, first, stop)
    return f"{size_key}={w['size']} m={w['m']} T={w['temperature']} init={w['init']} seeds {first}:{stop}"


def format_status(statuses: list[ExperimentStatus]) -> list[str]:
    """Lines for the terminal: a header per experiment, then its missing
    jobs and its m_c estimates."""
    lines = []
    for s in statuses:
        total = len(s.done) + len(s.missing)
        points = {p for job, _, _ in s.done + s.missing for p in job}
        complete = points - {p for job, _, _ in s.missing for p in job}
        lines.append(f"{s.name}: {len(s.done)} of {total} jobs done, {len(complete)} of {len(points)} points complete"
                     + (" (adaptive grid: the points placed so far)" if s.rounds else ""))
        lines += [f"  adaptive {line}" for line in s.rounds]
        for job, first, stop in s.missing:
            lines.append(f"  missing: {_job_text(s.size_key, job, first, stop)}")
        if s.critical is None:
            lines.append("  m_c: not analysed yet")
            continue
        # (temperature and init are columns only where they are scanned)
        scanned = [c for c in ("temperature", "init") if c in s.critical.columns]
        for row in s.critical.sort_values(["size", *scanned]).itertuples(index=False):
            where = f"{s.size_key}={row.size}"
            if len(scanned) == 2 and s.critical[scanned].drop_duplicates().shape[0] > 1:
                where += f" T={format_temperature(row.temperature)} init={row.init}"
            if row.m_c == row.m_c:  # not NaN
                lines.append(f"  m_c {where}: {row.m_c:.4g} +- {row.m_c_err:.2g} ({row.method}, {row.n_seeds} seeds)")
            else:
                lines.append(f"  m_c {where}: none ({row.reason})")
    return lines

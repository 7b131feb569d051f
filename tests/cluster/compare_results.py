#!/usr/bin/env python3
"""Compare a SLURM run of the pipeline with a local run of the same config.

Used by tests/cluster/test_slurm_pipeline.sh; exits non-zero on any mismatch.

Checks:

1. The aggregated tables (``results/tables/runs/experiment=*/runs.parquet`` and
   ``trajectories.parquet``) exist for the same experiments in both work
   directories and are identical row for row, in every column except
   :data:`mbphase.sim.schema.NONDETERMINISTIC_COLUMNS` (timings and how seeds were
   split into jobs). Values are compared exactly (NaN equals NaN; no
   tolerance), and the column names and types must agree.
2. Every training job of the SLURM run really ran under SLURM: its run file
   was produced by a ``localrule train`` block in the SLURM log of exactly one
   SLURM job listed in the job-ids file (written by slurm_single_node.sh), and
   that job ended ``COMPLETED``. A SLURM job may hold several training jobs
   (a Snakemake job group).

Usage::

    compare_results.py --local DIR --slurm DIR [--jobids FILE] [--rule train]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from mbphase.sim.schema import NONDETERMINISTIC_COLUMNS

TABLES = ("runs.parquet", "trajectories.parquet")
KEYS = ("experiment", "size", "m", "temperature", "init", "seed", "t")
RUN_FILE = re.compile(r"^results/runs/.+/seeds\d+-\d+\.parquet$")


def fail(problems: list[str], msg: str) -> None:
    problems.append(msg)
    print(f"MISMATCH: {msg}", file=sys.stderr)


def _row_key(df: pd.DataFrame, i: int) -> str:
    return ", ".join(f"{k}={df[k].iloc[i]!r}" for k in KEYS if k in df.columns)


def compare_table(local: Path, slurm: Path, problems: list[str]) -> int:
    """Compare one aggregated table; return its number of rows."""
    name = f"{local.parent.name}/{local.name}"
    a, b = pq.read_table(local), pq.read_table(slurm)
    sa = {f.name: str(f.type) for f in a.schema}
    sb = {f.name: str(f.type) for f in b.schema}
    if list(sa) != list(sb) or sa != sb:
        fail(problems, f"{name}: columns differ: local {sa} vs slurm {sb}")
        return a.num_rows
    if a.num_rows != b.num_rows:
        fail(problems, f"{name}: {a.num_rows} rows locally, {b.num_rows} under SLURM")
        return a.num_rows
    if a.num_rows == 0:
        # an experiment without trajectory_points has an empty trajectory table
        if local.name == "runs.parquet":
            fail(problems, f"{name}: the table is empty")
        else:
            print(f"  {name}: empty in both runs")
        return 0
    da, db = a.to_pandas(), b.to_pandas()
    compared = [c for c in da.columns if c not in NONDETERMINISTIC_COLUMNS]
    for col in compared:
        x, y = da[col], db[col]
        if x.equals(y):
            continue
        same = (x == y) | (x.isna() & y.isna())
        bad = [i for i, ok in enumerate(same.to_numpy()) if not ok]
        i = bad[0]
        fail(
            problems,
            f"{name}: column '{col}' differs in {len(bad)} of {len(x)} rows; "
            f"first at row {i} ({_row_key(da, i)}): local {x.iloc[i]!r}, slurm {y.iloc[i]!r}",
        )
    skipped = [c for c in da.columns if c in NONDETERMINISTIC_COLUMNS]
    print(
        f"  {name}: {a.num_rows} rows identical in {len(compared)} columns"
        + (f" (not compared: {', '.join(skipped)})" if skipped else "")
    )
    return a.num_rows


def compare_tables(local_dir: Path, slurm_dir: Path, problems: list[str]) -> None:
    found = {}
    for d in (local_dir, slurm_dir):
        found[d] = sorted(
            p.relative_to(d).as_posix()
            for t in TABLES
            for p in (d / "results" / "tables").glob(f"*/experiment=*/{t}")
        )
    if not found[local_dir]:
        fail(problems, f"no aggregated tables under {local_dir}/results/tables")
        return
    if found[local_dir] != found[slurm_dir]:
        fail(
            problems,
            f"different sets of tables: only local {sorted(set(found[local_dir]) - set(found[slurm_dir]))}, "
            f"only slurm {sorted(set(found[slurm_dir]) - set(found[local_dir]))}",
        )
    common = sorted(set(found[local_dir]) & set(found[slurm_dir]))
    experiments = sorted({Path(rel).parent.name.partition("=")[2] for rel in common})
    print(f"tables: {len(common)} files, experiments {', '.join(experiments)}")
    for rel in common:
        compare_table(local_dir / rel, slurm_dir / rel, problems)


def parse_slurm_log(path: Path, rule: str) -> list[str]:
    """Outputs of the `localrule <rule>:` blocks in a SLURM job's log: the jobs
    that the job's innermost snakemake actually executed."""
    executed = []
    in_block = False
    for line in path.read_text(errors="replace").splitlines():
        if re.match(rf"^localrule {re.escape(rule)}:\s*$", line):
            in_block = True
            continue
        if in_block:
            m = re.match(r"^\s+output:\s+(.*)$", line)
            if m:
                executed.extend(s.strip() for s in m.group(1).split(","))
                in_block = False
            elif not line.startswith((" ", "\t")):
                in_block = False
    return executed


def check_slurm_provenance(local_dir: Path, slurm_dir: Path, jobids: Path, rule: str, problems: list[str]) -> None:
    def run_files(d: Path) -> set[str]:
        return {
            p.relative_to(d).as_posix()
            for p in (d / "results" / "runs").rglob("seeds*.parquet")
            if RUN_FILE.match(p.relative_to(d).as_posix()) and not p.name.endswith(".trajectory.parquet")
        }

    expected = run_files(slurm_dir)
    local = run_files(local_dir)
    if not expected:
        fail(problems, f"no run files under {slurm_dir}/results/runs")
        return
    if expected != local:
        fail(
            problems,
            f"different training jobs: only local {sorted(local - expected)[:5]}, only slurm {sorted(expected - local)[:5]}",
        )
    if not jobids.is_file():
        fail(problems, f"no job-ids file {jobids}")
        return
    with open(jobids, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows:
        fail(problems, f"{jobids} lists no SLURM job")
        return
    ran_in = defaultdict(list)  # run file -> SLURM job ids whose log executed it
    for row in rows:
        jid, state, log = row["slurm_jobid"], row["state"], Path(row["slurm_log"])
        if state != "COMPLETED":
            fail(problems, f"SLURM job {jid} ended {state} (log {log})")
        if not log.is_file():
            fail(problems, f"SLURM job {jid}: log file {log} missing")
            continue
        for out in parse_slurm_log(log, rule):
            if RUN_FILE.match(out):
                ran_in[out].append(jid)
    missing = sorted(expected - set(ran_in))
    if missing:
        fail(
            problems,
            f"{len(missing)} of {len(expected)} {rule} jobs ran in no SLURM job that the job-ids "
            f"file lists, e.g. {missing[:3]}",
        )
    twice = {f: ids for f, ids in ran_in.items() if len(ids) > 1}
    if twice:
        f, ids = next(iter(sorted(twice.items())))
        fail(problems, f"{len(twice)} {rule} jobs ran in more than one SLURM job, e.g. {f} in {ids}")
    slurm_ids = sorted({j for ids in ran_in.values() for j in ids}, key=lambda s: [int(p) for p in s.split("_")])
    print(
        f"slurm: {len(expected)} {rule} jobs, each in exactly one COMPLETED SLURM job: "
        f"{len(slurm_ids)} SLURM job(s) ({' '.join(slurm_ids)}); {len(rows)} SLURM jobs in all"
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--local", type=Path, required=True, help="work directory of the local run")
    ap.add_argument("--slurm", type=Path, required=True, help="work directory of the SLURM run")
    ap.add_argument("--jobids", type=Path, help="job-ids file (default: SLURM/slurm_jobids.tsv)")
    ap.add_argument("--rule", default="train", help="rule whose every job must have run under SLURM")
    args = ap.parse_args(argv)
    problems: list[str] = []
    compare_tables(args.local, args.slurm, problems)
    check_slurm_provenance(args.local, args.slurm, args.jobids or args.slurm / "slurm_jobids.tsv", args.rule, problems)
    if problems:
        print(f"FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("OK: SLURM and local results agree; every training job ran under SLURM")
    return 0


if __name__ == "__main__":
    sys.exit(main())

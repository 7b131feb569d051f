"""Adaptive m grid against the fixed grid: the CPU-seconds to locate m_c of
the tree committee (sparse discrete, K = 3) at d = 9, 15, 21, 27, and the m_c
each finds.

Both grids run the default sweep's tree experiment with the same options and
the same seeds per point (benchmarks/config_fixed_grid.yaml, the default
sweep before it used the adaptive grid); the adaptive one replaces the 14
fixed m values per size by the block ADAPTIVE below. Each runs in its own
copy of the workflow, from scratch, with `snakemake --cores N` up to the
experiment's critical table (no figures).

CPU-seconds, not wall time (the machine may be shared): `total_cpu_s` is
the user + system time of the whole Snakemake process tree (training,
checkpoints, aggregation, analysis and Snakemake's own bookkeeping);
`train_cpu_s` the sum of the training jobs' `cpu_time` in their Snakemake
benchmark files (the compute the grid decides).

    .venv/bin/python benchmarks/adaptive_grid.py [--cores 2] [--work DIR]
        [--out benchmarks/adaptive_results.csv] [--quick]

`--quick` runs both grids on d = 5, 7 with few seeds and a short budget (a
smoke run; its numbers mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from mbphase.names import ADAPTIVE_ROUND, ANALYSIS_TABLE, RUNS_TABLE  # noqa: E402

BASELINE = ROOT / "benchmarks" / "config_fixed_grid.yaml"
EXPERIMENT = "sparse_discrete_committee_tree"
# The adaptive grid: the fixed grid's range as the start bracket of the
# first size, exponents 1 to 3 from it for the second, the power law through
# the two largest sizes done for the others (config.yaml uses the same block).
ADAPTIVE = {
    "bracket_per_size": [1.0, 9.5],
    "predict": True,
    "predict_factor": 1.2,
    "predict_exponents": [1, 3],
    "target_rel_error": 0.02,
    "start_points": 3,
    "points_per_round": 2,
    "max_rounds": 6,
}
COLUMNS = ["grid", "size", "m_c", "m_c_err", "rel_err", "method", "points", "rounds", "train_cpu_s", "total_cpu_s", "wall_s", "cores"]


def configs(quick: bool) -> dict[str, dict]:
    base = yaml.safe_load(BASELINE.read_text())
    exp = base["experiments"][EXPERIMENT]
    if quick:
        exp.update(sizes=[5, 7], seeds=8, seeds_per_job=8, max_sweeps=100)
        base["defaults"]["n_test"] = 400
    fixed = {k: v for k, v in base.items() if k != "experiments"}
    fixed["experiments"] = {EXPERIMENT: exp}
    adaptive = json.loads(json.dumps(fixed))
    a = adaptive["experiments"][EXPERIMENT]
    del a["m_per_size"]
    a["adaptive"] = dict(ADAPTIVE, target_rel_error=0.1, max_rounds=3) if quick else dict(ADAPTIVE)
    return {"fixed": fixed, "adaptive": adaptive}


def workflow_copy(root: Path, config: dict) -> None:
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "envs"):
        src = ROOT / name
        (shutil.copytree if src.is_dir() else shutil.copy2)(src, root / name)
    (root / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def run(grid: str, config: dict, work: Path, cores: int) -> list[dict]:
    root = work / grid
    workflow_copy(root, config)
    target = ANALYSIS_TABLE.format(experiment=EXPERIMENT, table="critical")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(ROOT / ".numba_cache"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", str(cores), target], cwd=root, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{grid}: snakemake failed:\n{done.stderr[-4000:]}")
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    train_cpu = sum(float(pd.read_csv(f, sep="\t")["cpu_time"].iloc[0])
                    for f in glob.glob(str(root / "results/benchmarks/train/**/*.tsv"), recursive=True))
    critical = pd.read_parquet(root / target)
    runs = pd.read_parquet(root / RUNS_TABLE.format(experiment=EXPERIMENT), columns=["size", "m"])
    rows = []
    for _, r in critical.sort_values("size").iterrows():
        size = int(r["size"])
        rounds = len(glob.glob(str(root / ADAPTIVE_ROUND.format(experiment=EXPERIMENT, size=size, round="*"))))
        rows.append({"grid": grid, "size": size, "m_c": r["m_c"], "m_c_err": r["m_c_err"], "rel_err": r["m_c_err"] / r["m_c"],
                     "method": r["method"], "points": int(runs.loc[runs["size"] == size, "m"].nunique()),
                     "rounds": rounds or 1, "train_cpu_s": None, "total_cpu_s": None, "wall_s": None, "cores": cores})
    rows.append({"grid": grid, "size": "all", "points": sum(r["points"] for r in rows), "rounds": max(r["rounds"] for r in rows),
                 "train_cpu_s": round(train_cpu, 1), "total_cpu_s": round(total_cpu, 1), "wall_s": round(wall, 1), "cores": cores})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores")
    parser.add_argument("--work", default=None, help="directory of the two workflow copies (default: a temporary one, removed)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "adaptive_results.csv"), help="CSV of the results")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and budget: a smoke run")
    parser.add_argument("--only", choices=["fixed", "adaptive"], default=None, help="run one grid only")
    args = parser.parse_args(argv)
    import tempfile

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="mbphase-adaptive-"))
    rows = []
    for grid, config in configs(args.quick).items():
        if args.only and grid != args.only:
            continue
        rows += run(grid, config, work, args.cores)
        for r in rows[-1:]:
            print(f"{grid}: {r['points']} points, train {r['train_cpu_s']} CPU-s, total {r['total_cpu_s']} CPU-s, wall {r['wall_s']} s", flush=True)
    with open(args.out, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    print(pd.DataFrame(rows, columns=COLUMNS).to_string(index=False))
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

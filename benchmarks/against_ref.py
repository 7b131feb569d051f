"""The pipeline's speed targets, measured side by side against another
version of the project (a git ref, default ``main``) in the same run.

    python benchmarks/against_ref.py [--ref main] [--only startup,dryrun,kernel,share,sweep,default]
        [--sweep-config benchmarks/config_fixed_grid.yaml] [--sweep-experiments a,b]
        [--rounds 3] [--quick] [--out benchmarks/against_ref.csv]

The ref is exported with ``git archive`` into a temporary directory (the
repository and its worktrees are left alone) and runs with this
interpreter and its installed dependencies, its own ``src`` first on
PYTHONPATH, and its own Numba cache; this tree runs the same way. Every
measurement alternates the two versions (this tree, the ref, this tree, ...)
so that a passing load on the shared machine does not favour one of them,
and the rows report the ratio ref / this. Wall times on a busy machine are
noisy: the CPU seconds of the measured processes are reported beside them.

Sections:
  startup  a nearly empty training job (`mbphase run`, K = 3, d = 9, m = 16,
           one seed, one sweep, n_test 1, warm Numba cache): seconds from the
           process's start to the return of its kernel call (an upper bound
           of the start-up, as the kernel itself takes microseconds), the
           whole process's wall time, and its peak RSS
  dryrun   `snakemake -n -q --cores 2` of a 10,000-job sweep (the config of
           run_benchmarks.py's dry-run row), in a copy of each version's
           workflow
  kernel   the greedy kernel's pattern evaluations per CPU second at small m
           (K = 3 tree committee, d = 51, 15, 9, m = 8 to 64, 64 seeds,
           one thread), through run.prepare_seeds and run.run_kernel as a
           training job calls them
  share    the kernel's share of a training job's time on a sample of the
           training jobs of the sweep config (default
           benchmarks/config_fixed_grid.yaml; every k-th job, --share-jobs of
           them), each run as `mbphase run` with one thread: the kernel
           call's CPU seconds (once Numba has loaded it from the cache) over
           the whole process's CPU seconds, and the run table's
           job_wall_time_s (the seeds' preparation, the cache load and the
           kernel) over the process's wall seconds
  sweep    `snakemake --cores 2` of a sweep from scratch in a copy of each
           version's workflow (default: benchmarks/config_fixed_grid.yaml,
           the default config.yaml of the day the targets were set; a subset
           of its experiments with --sweep-experiments): wall and CPU time,
           the training jobs' kernel share (kernel seconds from the run
           tables over the jobs' wall seconds from their benchmark files),
           and how many rows of the aggregated run tables are identical in
           every column but the provenance ones (rows matched on size, m,
           temperature, init and seed; either version's table layout), with
           the m values of the rows that differ (a changed kernel's range)
  default  `snakemake --cores 2` of each version's own config.yaml (its
           default sweep) from scratch: wall and CPU time, the number of
           training jobs and their kernel share (as in `sweep`)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECTIONS = ("startup", "dryrun", "kernel", "share", "sweep", "default")
COLUMNS = ("section", "case", "quantity", "unit", "this", "ref", "ratio", "ratio_of", "target", "met", "load", "note")
WORKFLOW_FILES = ("Snakefile", "workflow", "envs", "profiles")
# Provenance columns, which differ between versions without a change of results.
PROVENANCE = ("code_version", "versions", "job_seeds", "job_threads", "job_wall_time_s", "throughput")


class Tree:
    """One version of the project: its checkout and the environment that
    imports its package."""

    def __init__(self, label: str, root: Path, cache: Path):
        self.label, self.root = label, root
        self.env = {**os.environ, "PYTHONPATH": str(root / "src"), "NUMBA_CACHE_DIR": str(cache),
                    "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def python(self, *args, cwd=None, timeout=3600, check=True):
        """Run this interpreter on this version; returns (completed process,
        wall seconds, CPU seconds of the child and its descendants)."""
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=cwd, env=self.env, capture_output=True, text=True, timeout=timeout)
        wall = time.perf_counter() - start
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        if check and done.returncode != 0:
            raise RuntimeError(f"{self.label}: python {' '.join(map(str, args))[:300]} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done, wall, cpu

    def workflow_copy(self, dest: Path, config: dict) -> Path:
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        for name in WORKFLOW_FILES:
            src = self.root / name
            if src.is_dir():
                shutil.copytree(src, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
            elif src.is_file():
                shutil.copy2(src, dest / name)
        (dest / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        # the jobs' cache (.numba_cache in the working directory) is the tree's own
        (dest / ".numba_cache").symlink_to(self.env["NUMBA_CACHE_DIR"])
        return dest


def export_ref(ref: str, dest: Path) -> Path:
    """The files of ``ref`` in ``dest`` (``git archive``: no worktree, no
    change to the repository)."""
    shutil.rmtree(dest, ignore_errors=True)  # (a kept directory of an earlier run)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def row(section, case, quantity, unit, this, ref, ratio_of="ref / this", target="", met="", note=""):
    ratio = ref / this if ratio_of == "ref / this" else this / ref
    return dict(section=section, case=case, quantity=quantity, unit=unit, this=this, ref=ref, ratio=ratio, ratio_of=ratio_of,
                target=target, met=met, load=round(os.getloadavg()[0], 1), note=note)


def alternate(trees, rounds, measure):
    """``measure(tree)`` for each tree in turn, ``rounds`` times; returns
    {label: [results]}."""
    results = {t.label: [] for t in trees}
    for i in range(rounds):
        for tree in trees if i % 2 == 0 else trees[::-1]:
            results[tree.label].append(measure(tree))
    return results


def print_rows(title, rows):
    print(f"\n== {title}")
    for r in rows:
        fmt = (lambda v: f"{v:.4g}") if r["unit"] != "identical" else str
        ratio = "" if r["unit"] == "identical" else f"{r['ratio']:.3g}x ({r['ratio_of']})"
        print(f"{r['case']:<44} {r['quantity']:<38} this {fmt(r['this']):>10}  ref {fmt(r['ref']):>10} {r['unit']:<9} "
              f"{ratio:<22} {r['target']:<18} {r['met']:<4} load {r['load']}")
        if r["note"]:
            print(f"    note: {r['note']}")


# ---------------------------------------------------------------- start-up

TINY_CONFIG = {"base_seed": 1, "threads": 1, "experiments": {"tiny": {
    "architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee", "K": 3, "sizes": [9], "m": [16],
    "seeds": 1, "n_test": 1, "max_sweeps": 1, "trajectory_points": 1}}}

# Runs `mbphase run` with the registry's Kernel.load wrapped so that the
# kernel call's return is stamped (time.time(), comparable with the parent's
# clock), reports the process's peak RSS and ends the process as the
# version's `mbphase` command does (by os._exit where cli.console exists).
STARTUP_CHILD = r"""
import sys, time
import mbphase.sim.kernels as kernels
load = kernels.Kernel.load
def stamped(self):
    kernel = load(self)
    def call(*args, **kwargs):
        out = kernel(*args, **kwargs)
        print(f"KERNEL_RETURNED {time.time():.6f} {time.process_time():.6f}", file=sys.stderr)
        return out
    return call
kernels.Kernel.load = stamped
from mbphase import cli
status = cli.main(sys.argv[1:])
import resource
print(f"MAXRSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
if hasattr(cli, "console"):  # the command ends as this version's does: at once, streams flushed
    import os
    sys.stdout.flush(); sys.stderr.flush()
    os._exit(status)
sys.exit(status)
"""


def bench_startup(trees, rounds, tmp: Path):
    config = tmp / "tiny.yaml"
    config.write_text(yaml.safe_dump(TINY_CONFIG))
    argv = ["run", "--config", str(config), "--experiment", "tiny", "--size", "9", "--m", "16", "--seeds", "0:1", "--progress", "off"]

    def measure(tree):
        out = tmp / f"{tree.label}.parquet"
        started = time.time()
        done, wall, cpu = tree.python("-c", STARTUP_CHILD, *argv, "--out", str(out))
        stamp = re.search(r"KERNEL_RETURNED (\S+) (\S+)", done.stderr)
        kernel, kernel_cpu = float(stamp.group(1)) - started, float(stamp.group(2))
        rss = int(re.search(r"MAXRSS_KB (\d+)", done.stderr).group(1)) / 1024
        return kernel, wall, cpu, rss, kernel_cpu

    for tree in trees:  # warm the cache (a first call may compile)
        measure(tree)
    got = alternate(trees, rounds, measure)
    best = {label: [min(r[i] for r in results) for i in range(5)] for label, results in got.items()}
    this, ref = best["this"], best["ref"]
    case = "job: K=3 d=9 m=16, 1 seed, 1 sweep"
    note = f"fastest of {rounds} alternating runs each; warm Numba cache"
    return [
        row("startup", case, "process start to kernel return", "s", this[0], ref[0], target="<= 0.4 s", met="yes" if this[0] <= 0.4 else "NO", note=note),
        row("startup", case, "CPU seconds until the kernel returned", "s", this[4], ref[4],
            note="the process's own CPU time at the kernel's return: what the start-up costs without waiting for a core"),
        row("startup", case, "whole process, wall", "s", this[1], ref[1]),
        row("startup", case, "whole process, CPU", "s", this[2], ref[2]),
        row("startup", case, "peak RSS", "MB", this[3], ref[3], target="<= 200 MB", met="yes" if this[3] <= 200 else "NO"),
    ]


# ---------------------------------------------------------------- dry run


def bench_dryrun(trees, rounds, tmp: Path, jobs: int):
    sys.path.insert(0, str(HERE))
    from run_benchmarks import sweep_config

    config = sweep_config(jobs, yaml.safe_load((ROOT / "config.yaml").read_text()))
    copies = {t.label: t.workflow_copy(tmp / f"dag-{t.label}", config) for t in trees}

    def measure(tree):
        done, wall, cpu = tree.python("-m", "snakemake", "-n", "-q", "--cores", "2", cwd=copies[tree.label])
        return wall, cpu

    got = alternate(trees, rounds, measure)
    this = [min(r[i] for r in got["this"]) for i in range(2)]
    ref = [min(r[i] for r in got["ref"]) for i in range(2)]
    case = f"snakemake -n -q, {jobs}-job sweep"
    return [
        row("dryrun", case, "wall", "s", this[0], ref[0], target="<= 12 s", met="yes" if this[0] <= 12 else "NO",
            note=f"fastest of {rounds} alternating runs each; includes Python and Snakemake start-up"),
        row("dryrun", case, "CPU", "s", this[1], ref[1]),
    ]


# ---------------------------------------------------------------- kernel

# Pattern evaluations per CPU second of the greedy kernel (one thread), as a
# training job calls it; argv: d m seeds target-seconds. Prints "RATE
# <evals/s> <kernel name>".
KERNEL_CHILD = r"""
import dataclasses, sys, time
import numba
from mbphase.sim import kernels, run
from mbphase.sim.observables import I_EVALS
from mbphase.sim.params import make_params
d, m, seeds, target = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
p = make_params(dict(architecture="sparse", weights="discrete", topology="tree", task="committee", K=3, d=d, m=m,
                     stop_at_success=False, n_test=100, trajectory_points=0))
numba.set_num_threads(1)
def rate(sweeps):
    q = dataclasses.replace(p, max_sweeps=sweeps)
    inputs = run.prepare_seeds(q, 20240515, range(seeds))
    traj_times = run.trajectory_times(q)
    # CPU seconds of this single-threaded process: on a shared machine the
    # wall time mostly measures the wait for a core
    start = time.process_time()
    scalars, _ = run.run_kernel(q, inputs, traj_times)
    seconds = time.process_time() - start
    return scalars[:, I_EVALS].sum() / seconds, seconds
rate(1)
sweeps = 2
while rate(sweeps)[1] < target / 4:
    sweeps *= 4
sweeps = max(1, int(sweeps * target / rate(sweeps)[1]))
print("RATE", max(rate(sweeps)[0] for _ in range(3)), kernels.kernel_for(p).name)
"""


def bench_kernel(trees, rounds, cases, seeds=64, target=0.5):
    rows = []
    for d, m in cases:
        def measure(tree):
            done, _, _ = tree.python("-c", KERNEL_CHILD, str(d), str(m), str(seeds), str(target))
            _, value, name = re.search(r"RATE (\S+) (\S+)", done.stdout).group(0).split()
            return float(value), name

        got = alternate(trees, rounds, measure)
        this, ref = max(got["this"]), max(got["ref"])
        ratio = this[0] / ref[0]
        rows.append(row("kernel", f"greedy K=3 d={d} m={m}, {seeds} seeds, 1 thread", "pattern evaluations per CPU second", "evals/s",
                        this[0], ref[0], ratio_of="this / ref", target=">= 3x at m <= 32" if m <= 32 else "no loss at m > 32",
                        met=("yes" if ratio >= 3 else "NO") if m <= 32 else ("yes" if ratio >= 0.9 else "NO"),
                        note=f"this: {this[1]}; ref: {ref[1]}; best of {rounds} alternating runs x 3 each"))
    return rows


# ---------------------------------------------------------------- share

# Runs `mbphase run` with the kernel loaded from Numba's cache before its call
# (explicitly, so that the call's time is the kernel's alone) and prints the
# process's CPU seconds around the call.
SHARE_CHILD = r"""
import sys, time
import mbphase.sim.kernels as kernels
load = kernels.Kernel.load
def stamped(self):
    kernel = load(self)
    def call(**kwargs):
        from numba import typeof
        code = kernel.py_func.__code__
        kernel.compile(tuple(typeof(kwargs[n]) for n in code.co_varnames[:code.co_argcount]))
        start = time.process_time()
        out = kernel(**kwargs)
        print(f"KERNEL_CPU {time.process_time() - start:.6f}", file=sys.stderr)
        return out
    return call
kernels.Kernel.load = stamped
from mbphase.cli import main
sys.exit(main(sys.argv[1:]))
"""


def sample_jobs(config_path: Path, n: int):
    """Every k-th training job of a config (k = jobs // n), as `mbphase run`
    arguments."""
    from mbphase.pipeline.config import iter_jobs, load_config
    from mbphase.pipeline.layout import job_wildcards

    jobs = list(iter_jobs(load_config(config_path)[1]))
    step = max(1, len(jobs) // n)
    return [
        ["--experiment", exp.name, "--size", str(w["size"]), "--m", w["m"], "--temperature", w["temperature"], "--init", w["init"],
         "--seeds", f"{first}:{stop}"]
        for exp, points, first, stop in jobs[::step][:n]
        for w in [job_wildcards(points, first, stop)]
    ]


def bench_share(trees, tmp: Path, config_path: Path, n_jobs: int):
    import pyarrow.parquet as pq

    jobs = sample_jobs(config_path, n_jobs)
    for tree in trees:  # every kernel in the cache: a job's first call must not compile
        tree.python("-m", "mbphase", "compile")
    totals = {t.label: [0.0, 0.0, 0.0, 0.0] for t in trees}  # kernel CPU, process CPU, job_wall_time_s, process wall
    for i, job in enumerate(jobs):
        for tree in trees if i % 2 == 0 else trees[::-1]:
            out = tmp / f"share-{tree.label}.parquet"
            argv = ["run", "--config", str(config_path), *job, "--threads", "1", "--progress", "off",
                    "--out", str(out), "--trajectory-out", str(tmp / f"share-{tree.label}.trajectory.parquet")]
            done, wall, cpu = tree.python("-c", SHARE_CHILD, *argv)
            kernel_cpu = float(re.search(r"KERNEL_CPU (\S+)", done.stderr).group(1))
            rows = pq.read_table(out).to_pandas()
            job_wall = float(rows.groupby([c for c in ("m", "temperature", "init") if c in rows])["job_wall_time_s"].first().sum())  # one per point
            for k, v in enumerate((kernel_cpu, cpu, job_wall, wall)):
                totals[tree.label][k] += v
    this, ref = totals["this"], totals["ref"]
    case = f"{len(jobs)} training jobs of {config_path.name}, 1 thread"
    return [
        row("share", case, "kernel call / whole process, CPU", "fraction", this[0] / this[1], ref[0] / ref[1], ratio_of="this / ref",
            target=">= 0.75", met="yes" if this[0] / this[1] >= 0.75 else "NO",
            note=f"kernel {this[0]:.1f} of {this[1]:.1f} CPU s (this), {ref[0]:.1f} of {ref[1]:.1f} (ref); every k-th job, alternating"),
        row("share", case, "job_wall_time_s / process wall", "fraction", this[2] / this[3], ref[2] / ref[3], ratio_of="this / ref",
            note="the run table's timing (preparation, Numba cache load and kernel) over the process's wall time"),
        row("share", case, "whole processes, CPU", "s", this[1], ref[1]),
    ]


# ---------------------------------------------------------------- sweep


def kernel_share(results: Path) -> tuple[float, float]:
    """(kernel seconds, job wall seconds) of the training jobs of a finished
    sweep: job_wall_time_s of the run files (one value per point of a job:
    a job of several m values holds one per m) against the `s` of the jobs'
    benchmark files."""
    kernel = 0.0
    for f in (results / "runs").rglob("seeds*.parquet"):
        if f.name.endswith(".trajectory.parquet"):
            continue
        df = pd.read_parquet(f)
        kernel += float(df.groupby([c for c in ("m", "temperature", "init") if c in df])["job_wall_time_s"].first().sum())
    wall = sum(float(pd.read_csv(f, sep="\t")["s"].iloc[0]) for f in (results / "benchmarks" / "train").rglob("*.tsv"))
    return kernel, wall


def run_tables(results: Path) -> dict[str, Path]:
    """Experiment -> its aggregated runs table, in either layout of the
    tables directory (tables/runs/experiment=<name>/runs.parquet today,
    tables/<name>/runs.parquet in older versions)."""
    return {f.parent.name.removeprefix("experiment="): f for f in (results / "tables").rglob("runs.parquet")}


# Columns that say where a row is, not what it holds: the partition key,
# which older versions also stored in the file.
LAYOUT = ("experiment",)
RUN_KEY = ("size", "m", "temperature", "init", "seed")


def compare_run_tables(this: Path, ref: Path) -> list[tuple[str, int, int, list]]:
    """Per experiment of two finished sweeps: (name, rows, rows identical in
    every column but provenance and layout, the m values of the rows that
    differ). Rows are matched on (size, m, temperature, init, seed); an
    experiment missing on one side has 0 identical rows."""
    a_tables, b_tables = run_tables(this), run_tables(ref)
    out = []
    for name in sorted(set(a_tables) | set(b_tables)):
        if name not in a_tables or name not in b_tables:
            out.append((name, 0, 0, []))
            continue
        a, b = (pd.read_parquet(t[name]).drop(columns=list(LAYOUT), errors="ignore") for t in (a_tables, b_tables))
        columns = [c for c in a.columns if c not in PROVENANCE]
        if sorted(columns) != sorted(c for c in b.columns if c not in PROVENANCE) or len(a) != len(b):
            out.append((name, len(a), 0, sorted(set(a["m"]) | set(b["m"]))))
            continue
        key = list(RUN_KEY)
        a, b = (t[columns].sort_values(key).reset_index(drop=True) for t in (a, b))
        same = pd.Series(True, index=a.index)
        for c in columns:  # equal, or missing on both sides
            same &= (a[c] == b[c]).fillna(False).astype(bool) | (a[c].isna() & b[c].isna())
        out.append((name, len(a), int(same.sum()), sorted(int(m) for m in set(a.loc[~same, "m"]))))
    return out


def bench_sweep(trees, tmp: Path, config_path: Path, experiments: list[str] | None):
    config = yaml.safe_load(config_path.read_text())
    if experiments:
        unknown = sorted(set(experiments) - set(config["experiments"]))
        if unknown:
            raise SystemExit(f"--sweep-experiments: {unknown} not in {config_path}")
        config["experiments"] = {k: v for k, v in config["experiments"].items() if k in experiments}
    copies = {t.label: t.workflow_copy(tmp / f"sweep-{t.label}", config) for t in trees}
    for tree in trees:  # compile outside the timing, as a warm machine would have it
        tree.python("-m", "snakemake", "--cores", "2", "results/numba_compiled.json", cwd=copies[tree.label], timeout=7200)

    def measure(tree):
        _, wall, cpu = tree.python("-m", "snakemake", "--cores", "2", cwd=copies[tree.label], timeout=7200)
        return wall, cpu

    got = {t.label: measure(t) for t in trees}  # one run each: this tree first, then the ref
    shares = {label: kernel_share(copies[label] / "results") for label in got}
    compared = compare_run_tables(copies["this"] / "results", copies["ref"] / "results")
    case = f"snakemake --cores 2, {config_path.name}" + (f" ({', '.join(experiments)})" if experiments else "")
    this_share, ref_share = (shares[k][0] / shares[k][1] for k in ("this", "ref"))
    return [
        row("sweep", case, "wall", "s", got["this"][0], got["ref"][0], target=">= 1.8x", met="yes" if got["ref"][0] / got["this"][0] >= 1.8 else "NO",
            note="one run each from scratch after the compile job, this tree first"),
        row("sweep", case, "CPU (all jobs)", "s", got["this"][1], got["ref"][1]),
        row("sweep", case, "kernel share of training-job wall time", "fraction", this_share, ref_share, ratio_of="this / ref",
            target=">= 0.75", met="yes" if this_share >= 0.75 else "NO",
            note=f"kernel {shares['this'][0]:.0f} s of {shares['this'][1]:.0f} s (this), {shares['ref'][0]:.0f} s of {shares['ref'][1]:.0f} s (ref)"),
        dict(section="sweep", case=case, quantity="run rows identical except provenance", unit="identical",
             this=f"{sum(c[2] for c in compared)} of {sum(c[1] for c in compared)}", ref="", ratio=float("nan"), ratio_of="", target="", met="",
             load=round(os.getloadavg()[0], 1),
             note="; ".join(f"{name}: {n - k} rows differ, at m = {ms}" for name, n, k, ms in compared if k < n) or "all identical"),
    ]


def bench_default(trees, tmp: Path, quick: bool):
    """Each version's own default sweep (its config.yaml) from scratch, after
    its compilation job: wall, CPU and the training jobs' kernel share."""
    copies = {}
    for tree in trees:
        config = yaml.safe_load((tree.root / "config.yaml").read_text())
        if quick:  # one small fixed-grid experiment, a smoke run
            config["experiments"] = {"sparse_discrete_parity_tree": {**config["experiments"]["sparse_discrete_parity_tree"], "sizes": [7]}}
        copies[tree.label] = tree.workflow_copy(tmp / f"default-{tree.label}", config)
        tree.python("-m", "snakemake", "--cores", "2", "results/numba_compiled.json", cwd=copies[tree.label], timeout=7200)
    got = {}
    for tree in trees:  # this tree first
        _, wall, cpu = tree.python("-m", "snakemake", "--cores", "2", cwd=copies[tree.label], timeout=7200)
        jobs = sum(1 for _ in (copies[tree.label] / "results" / "benchmarks" / "train").rglob("*.tsv"))
        got[tree.label] = (wall, cpu, *kernel_share(copies[tree.label] / "results"), jobs)
    this, ref = got["this"], got["ref"]
    case = "snakemake --cores 2, each version's config.yaml" + (" (quick: one experiment, one size)" if quick else "")
    return [
        row("default", case, "wall", "s", this[0], ref[0], note="one run each from scratch after the compile job, this tree first"),
        row("default", case, "CPU (all jobs)", "s", this[1], ref[1]),
        row("default", case, "training jobs", "jobs", this[4], ref[4]),
        row("default", case, "kernel share of training-job wall time", "fraction", this[2] / this[3], ref[2] / ref[3], ratio_of="this / ref",
            target=">= 0.75", met="yes" if this[2] / this[3] >= 0.75 else "NO",
            note=f"kernel {this[2]:.0f} s of {this[3]:.0f} s (this), {ref[2]:.0f} s of {ref[3]:.0f} s (ref)"),
    ]


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", default="main", help="git ref to compare with")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--rounds", type=int, default=3, help="alternating measurements per version")
    parser.add_argument("--dag-jobs", type=int, default=10000, help="training jobs of the dry-run sweep")
    parser.add_argument("--sweep-config", default=str(HERE / "config_fixed_grid.yaml"))
    parser.add_argument("--share-jobs", type=int, default=12, help="training jobs of the share section")
    parser.add_argument("--sweep-experiments", default="", help="comma-separated experiments of the sweep config (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny workloads, one round: a smoke run whose numbers mean nothing")
    parser.add_argument("--keep", default=None, help="keep the checkouts and workflow copies in this directory")
    parser.add_argument("--out", default=None, help="CSV of the rows")
    args = parser.parse_args(argv)
    sections = [s for s in args.only.split(",") if s]
    bad = sorted(set(sections) - set(SECTIONS))
    if bad:
        parser.error(f"--only: unknown sections {bad}; allowed: {', '.join(SECTIONS)}")
    rounds = 1 if args.quick else args.rounds
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mbphase-against-ref-"))
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        ref_root = export_ref(args.ref, tmp / "ref")
        trees = [Tree("this", ROOT, tmp / "cache-this"), Tree("ref", ref_root, tmp / "cache-ref")]
        for tree in trees:
            (tmp / f"cache-{tree.label}").mkdir(exist_ok=True)
            version = tree.python("-c", "import mbphase; print(mbphase.CODE_VERSION, mbphase.__file__)")[0].stdout.split()
            print(f"{tree.label}: code version {version[0]} ({version[1]})")
        rows = []
        if "startup" in sections:
            rows += bench_startup(trees, rounds, tmp)
            print_rows("startup", rows[-5:])
        if "dryrun" in sections:
            part = bench_dryrun(trees, max(1, rounds - 1), tmp, 300 if args.quick else args.dag_jobs)
            print_rows("dry run", part)
            rows += part
        if "kernel" in sections:
            cases = [(15, 16)] if args.quick else [(d, m) for d in (51, 15, 9) for m in (8, 16, 32, 64)]
            part = bench_kernel(trees, rounds, cases, seeds=8 if args.quick else 64, target=0.05 if args.quick else 0.5)
            print_rows("greedy kernel at small m", part)
            rows += part
        if "share" in sections:
            part = bench_share(trees, tmp, Path(args.sweep_config), 2 if args.quick else args.share_jobs)
            print_rows("kernel share of training jobs", part)
            rows += part
        if "sweep" in sections:
            experiments = [e for e in args.sweep_experiments.split(",") if e]
            part = bench_sweep(trees, tmp, Path(args.sweep_config), experiments)
            print_rows("sweep", part)
            rows += part
        if "default" in sections:
            part = bench_default(trees, tmp, args.quick)
            print_rows("default sweep", part)
            rows += part
        if args.out:
            pd.DataFrame(rows, columns=list(COLUMNS)).to_csv(args.out, index=False)
            print(f"\nwrote {args.out}")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

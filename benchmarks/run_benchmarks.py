"""Side-by-side benchmark of the project's kernels against what users would
write instead, in one process (see benchmarks/README.md).

    python benchmarks/run_benchmarks.py [--quick] [--only greedy,sgd,scaling,pipeline] [--out FILE]

Sections:
  greedy    the greedy kernel (the one the kernel registry, mbphase.sim.kernels, picks)
            against a NumPy and a scalar Numba baseline
  sgd       the SGD kernel against PyTorch on the CPU (skipped without torch)
  scaling   threads over seeds, time against m x weights, peak memory of one
            `mbphase run`
  pipeline  compute time against wall time x cores of a finished default
            sweep, and the dry run (DAG build) of a 10,000-job sweep

Every timed call is warmed up first (Numba compilation excluded), timed
`--repeats` times and the fastest kept; work sizes are calibrated so that one
measurement takes about `--target` seconds. Rates are per pattern evaluation
(greedy) or per training sample (SGD), so runs of different lengths compare.
Prints a table and writes it as CSV to --out.
"""

from __future__ import annotations

import os

# Per-core figures: BLAS inside the NumPy baseline must not spread over cores.
# (PyTorch's threads are set explicitly; Numba's with numba.set_num_threads.)
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402

import baselines  # noqa: E402
from mbphase import CODE_VERSION  # noqa: E402
from mbphase.sim import kernels, run  # noqa: E402
from mbphase.sim.observables import I_EVALS, I_STATUS, I_T_RUN  # noqa: E402
from mbphase.sim.params import make_params  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ("greedy", "sgd", "sgd_batched", "scaling", "pipeline")
COLUMNS = ("section", "case", "implementation", "threads", "work", "seconds", "value", "unit", "ratio", "ratio_of", "target", "met", "cpu_per_wall", "load", "note")
BASE_SEED = 20240515
N_TEST = 100  # the final test-set evaluation of a run; kept small so the dynamics dominate


@dataclasses.dataclass
class Settings:
    quick: bool
    target: float  # seconds per measurement
    repeats: int
    greedy_m: tuple
    greedy_d: int
    sgd_N: tuple
    sgd_m: tuple
    sgd_threads: tuple
    grid_d: tuple
    grid_m: tuple
    scaling_seeds: int
    memory_max_sweeps: int | None
    memory_cold: bool
    dag_jobs: int
    cores: int
    sweep_dir: Path


def row(section, case, implementation, value, unit, threads=1, work=np.nan, seconds=np.nan, ratio=np.nan, ratio_of="", target="", met="", note="", cpu=np.nan):
    # The 1-minute load average when the row was measured: timings on a
    # machine busy with other work are not to be trusted.
    return dict(section=section, case=case, implementation=implementation, threads=threads, work=work, seconds=seconds, value=value,
                unit=unit, ratio=ratio, ratio_of=ratio_of, target=target, met=met, cpu_per_wall=round(cpu, 2), load=round(os.getloadavg()[0], 2), note=note)


def timed(run_n, n, repeats, threads=None, retries=6):
    """The fastest of ``repeats`` calls ``run_n(n)`` (each returns the seconds
    of its timed region). Returns (seconds, CPU seconds per wall second of
    this process during that call, clean).

    This machine is shared. A call during which this process got less than
    95% of ``threads`` cores (CPU seconds per wall second) was slowed by other
    work (a thread waited for a core): it is not counted, and up to ``retries`` more calls are made, a
    second apart. ``clean`` is False when no call met the bar (the fastest
    call is returned then). ``threads=None`` disables the check (for code
    whose threads may legitimately idle)."""
    kept, spoiled = [], []
    for _ in range(repeats + retries):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        seconds = run_n(n)
        share = (time.process_time() - cpu0) / max(time.perf_counter() - wall0, 1e-9)
        if threads is None or share >= 0.95 * threads:
            kept.append((seconds, share))
            if len(kept) == repeats:
                break
        else:
            spoiled.append((seconds, share))
            time.sleep(1.0)
    if kept:
        return (*min(kept), True)
    return (*min(spoiled), False)


def measure(run_n, n0, settings, threads=None, max_n=10**9):
    """Time ``run_n(n)`` (which runs ``n`` units of work and returns the
    seconds it spent in them): one warm-up call, a calibration of ``n`` to
    about ``settings.target`` seconds, then :func:`timed`. Returns (n,
    seconds, CPU seconds per wall second, clean)."""
    run_n(1)  # compilation and first-touch costs
    n = max(1, n0)
    t = run_n(n)
    while t < settings.target / 8 and n < max_n:
        n = min(max_n, n * 4)
        t = run_n(n)
    n = max(1, min(max_n, int(math.ceil(n * settings.target / max(t, 1e-9)))))
    return (n, *timed(run_n, n, settings.repeats, threads, 0 if settings.quick else 6))


CONTENDED = "CONTENDED: other processes held the cores during every attempt; "


def print_section(title, rows):
    print(f"\n== {title}")
    if not rows:
        return
    header = ("case", "implementation", "thr", "seconds", "value", "unit", "ratio", "ratio of", "target", "met", "cpu/wall", "load")
    cells = []
    for r in rows:
        cells.append((
            str(r["case"]), str(r["implementation"]), str(r["threads"]),
            "" if pd.isna(r["seconds"]) else f"{r['seconds']:.2f}",
            "" if pd.isna(r["value"]) else f"{r['value']:.4g}",
            r["unit"],
            "" if pd.isna(r["ratio"]) else f"{r['ratio']:.3g}x",
            r["ratio_of"], r["target"], r["met"], "" if pd.isna(r["cpu_per_wall"]) else f"{r['cpu_per_wall']:.2f}", f"{r['load']:.1f}",
        ))
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for c in cells:
        print("  ".join(v.ljust(w) for v, w in zip(c, widths)))
    for r in rows:
        if r["note"]:
            print(f"  note [{r['case']} / {r['implementation']}]: {r['note']}")


def met(ratio, bound):
    return "yes" if ratio >= bound else "NO"


# ---------------------------------------------------------------- project


def project_kernel_names(p):
    """The kernel that runs ``p``, as the kernel registry says."""
    return kernels.kernel_for(p).name


def project_runner(p, seeds, threads):
    """``run_n(n)``: run the project's kernel (``run.run_kernel``) for ``n``
    sweeps (discrete) or steps (continuous) on ``seeds`` with ``threads``
    Numba threads; return the kernel's wall time. The seeds are prepared
    outside the timed region. Records the pattern evaluations the kernel
    reports in ``run_n.evals``."""

    def run_n(n):
        q = dataclasses.replace(p, max_sweeps=n) if p.weights == "discrete" else dataclasses.replace(p, max_steps=n, eval_every=n)
        inputs = run.prepare_seeds(q, BASE_SEED, seeds)
        traj_times = run.trajectory_times(q)
        numba.set_num_threads(threads)
        start = time.perf_counter()
        scalars, _ = run.run_kernel(q, inputs, traj_times)
        seconds = time.perf_counter() - start
        expected_t = n
        if not (np.all(scalars[:, I_T_RUN] == expected_t) and np.all(scalars[:, I_STATUS] == 0)):
            raise RuntimeError(f"the project kernel did not run the {n} units asked for ({p}): t_run {scalars[:, I_T_RUN]}, status {scalars[:, I_STATUS]}")
        run_n.evals = float(scalars[:, I_EVALS].sum())
        return seconds

    run_n.evals = np.nan
    return run_n


def greedy_params(d, m):
    return make_params(dict(architecture="sparse", weights="discrete", topology="tree", task="committee", K=3, d=d, m=m,
                            data="online", refresh="sweep", stop_at_success=False, n_test=N_TEST, trajectory_points=0))


def teacher_and_student(p, seed=0):
    """Teacher weights, fields and an initial student from the project's own
    streams, so that every implementation starts from the same state."""
    inputs = run.prepare_seeds(p, BASE_SEED, [seed])
    return inputs.teacher_weights[0].copy(), inputs.teacher_fields[0].copy(), inputs.student_weights[0].copy()


# ---------------------------------------------------------------- sections


def bench_greedy(s: Settings):
    rows = []
    d = s.greedy_d
    name = project_kernel_names(greedy_params(d, s.greedy_m[0]))
    print(f"project greedy kernel: {name}", flush=True)
    for m in s.greedy_m:
        p = greedy_params(d, m)
        n_weights = p.n_weights
        case = f"K=3 d={d} m={m}"
        T, fields, W0 = teacher_and_student(p)

        project = project_runner(p, [0], 1)
        name = project_kernel_names(p)
        sweeps, secs, cpu, clean = measure(project, 16, s, 1)
        evals = sweeps * n_weights * m
        rate = evals / secs
        note = ("" if clean else CONTENDED) + f"{sweeps} sweeps; kernel: {name}"
        if project.evals != evals:
            note += f"; kernel reports {project.evals:.0f} pattern evals"
        rows.append(row("greedy", case, "project", rate, "pattern evals/s/core", 1, evals, secs, note=note, cpu=cpu))

        def numpy_run(n, stored):
            rng = np.random.default_rng(1)
            start = time.perf_counter()
            baselines.numpy_greedy(T, fields, W0, p.n_inputs, m, n, rng, stored_fields=stored)
            return time.perf_counter() - start

        def scalar_run(n):
            W = W0.copy()
            start = time.perf_counter()
            baselines.scalar_greedy(T, fields, W, p.n_inputs, m, n, 1)
            return time.perf_counter() - start

        for label, fn, bound in (
            ("numpy (recompute unit)", lambda n: numpy_run(n, False), 100),
            ("numpy (stored fields)", lambda n: numpy_run(n, True), None),
            ("scalar numba", scalar_run, 10),
        ):
            sweeps_b, secs_b, cpu_b, clean_b = measure(fn, 1, s, 1)
            evals_b = sweeps_b * n_weights * m
            rate_b = evals_b / secs_b
            ratio = rate / rate_b
            target = f">= {bound}x at m >= 64" if bound and m >= 64 else ""
            rows.append(row("greedy", case, label, rate_b, "pattern evals/s/core", 1, evals_b, secs_b, ratio, "project / this",
                            target, met(ratio, bound) if target else "", ("" if clean_b else CONTENDED) + f"{sweeps_b} sweeps", cpu_b))
        print_section(f"greedy {case}", rows[-4:])
    return rows


def sgd_params(N, m):
    return make_params(dict(architecture="dense", weights="continuous", topology="tree", task="committee", K=3, d=N // 3, m=m,
                            data="online", lr=2.0, loss="mse", stop_at_success=False, n_test=N_TEST, trajectory_points=0))


def bench_sgd(s: Settings):
    rows = []
    have_torch = baselines.torch_available()
    if have_torch:
        import torch

        torch_note = f"torch {torch.__version__}, autograd + torch.optim.SGD, fresh batch every step"
    else:
        torch_note = "skipped: torch is not installed (pip install torch==2.13.0, or make bench)"
    for N in s.sgd_N:
        for m in s.sgd_m:
            p = sgd_params(N, m)
            T, fields, W0 = teacher_and_student(p)
            T_dense = baselines.dense_teacher(T, fields, p.n_inputs)
            case = f"K=3 N={N} m={m}"
            if N == 45 and m <= 16:
                bound = 5
            elif N == 459 and m == 256:
                bound = 1
            else:
                bound = None
            for threads in s.sgd_threads:
                seeds = list(range(threads))  # the project parallelises over seeds
                project = project_runner(p, seeds, threads)
                steps, secs, cpu, clean = measure(project, 64, s, threads)
                samples = steps * m * len(seeds)
                rate = samples / secs
                rows.append(row("sgd", case, "project", rate, "samples/s", threads, samples, secs,
                                note=("" if clean else CONTENDED) + f"{len(seeds)} seed(s) x {steps} steps; one test evaluation (n_test={N_TEST}) at the end only (eval_every = steps)", cpu=cpu))
                if not have_torch:
                    rows.append(row("sgd", case, "pytorch", np.nan, "samples/s", threads, note=torch_note))
                    continue
                for dtype in ("float64", "float32"):
                    def torch_run(n, dtype=dtype):
                        return baselines.torch_sgd(T_dense, W0, m, n, p.lr, 1, threads, dtype)[2]

                    steps_t, secs_t, cpu_t, clean_t = measure(torch_run, 16, s, 1 if threads == 1 else None)
                    rate_t = steps_t * m / secs_t
                    ratio = rate / rate_t
                    target = f">= {bound}x" if bound else ""
                    rows.append(row("sgd", case, f"pytorch {dtype}", rate_t, "samples/s", threads, steps_t * m, secs_t, ratio, "project / this",
                                    target, met(ratio, bound) if target else "", ("" if clean_t else CONTENDED) + f"{steps_t} steps; {torch_note}; one model on {threads} intra-op thread(s)", cpu_t))
            print_section(f"sgd {case}", [r for r in rows if r["case"] == case])
    if have_torch:
        torch.set_num_threads(1)
    return rows


def bench_sgd_batched(s: Settings):
    """The SGD kernel on 64 seeds against one PyTorch model batched over the
    64 seeds (float32, one thread): what a competent PyTorch user writes."""
    rows = []
    n_seeds = 4 if s.quick else 64
    if not baselines.torch_available():
        return [row("sgd_batched", "K=3", "pytorch batched", np.nan, "samples/s", note="skipped: torch is not installed (pip install torch==2.13.0, or make bench)")]
    import torch

    for N in s.sgd_N:
        for m in s.sgd_m:
            p = sgd_params(N, m)
            inputs = run.prepare_seeds(p, BASE_SEED, range(n_seeds))
            T_dense = np.stack([baselines.dense_teacher(inputs.teacher_weights[i], inputs.teacher_fields[i], p.n_inputs) for i in range(n_seeds)])
            W0 = inputs.student_weights.copy()
            case = f"K=3 N={N} m={m}, {n_seeds} seeds"
            project = project_runner(p, list(range(n_seeds)), 1)

            # Both sides run on one thread: timed in CPU seconds of this
            # process, which a shared machine's other work does not inflate
            # as it does wall time (the project's include preparing the seeds)
            def project_cpu(n):
                start = time.process_time()
                project(n)
                return time.process_time() - start

            steps, secs, cpu, clean = measure(project_cpu, 16, s, None)
            rate = steps * m * n_seeds / secs
            rows.append(row("sgd_batched", case, "project", rate, "samples/s", 1, steps * m * n_seeds, secs,
                            note=f"{n_seeds} seeds x {steps} steps, float64, one thread; seconds are CPU seconds", cpu=cpu))

            def torch_run(n):
                start = time.process_time()
                baselines.torch_sgd_batched(T_dense, W0, m, n, p.lr, 1, 1, "float32")
                return time.process_time() - start

            steps_t, secs_t, cpu_t, clean_t = measure(torch_run, 4, s, None)
            rate_t = steps_t * m * n_seeds / secs_t
            ratio = rate / rate_t
            bound = 2 if m <= 16 else 1
            rows.append(row("sgd_batched", case, "pytorch batched float32", rate_t, "samples/s", 1, steps_t * m * n_seeds, secs_t, ratio,
                            "project / this", f"> {bound}x", "yes" if ratio > bound else "NO",
                            f"{steps_t} steps, CPU seconds; torch {torch.__version__}, one model with a seeds dimension "
                            f"(torch.bmm), autograd + torch.optim.SGD, fresh batches every step, one thread", cpu_t))
            print_section(f"sgd batched {case}", [r for r in rows if r["case"] == case])
    torch.set_num_threads(1)
    return rows


def max_rss_mb(cmd, extra_env=None):
    """Max RSS (MB) and wall seconds of the command ``cmd``, measured by a
    small wrapper process whose RUSAGE_CHILDREN sees only that command."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); r = subprocess.run(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, r.returncode)")
    env = dict(os.environ, **(extra_env or {}))
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env, timeout=900)
    fields = out.stdout.split()[-3:]
    if out.returncode != 0 or len(fields) != 3 or fields[2] != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    return int(fields[0]) / 1024.0, float(fields[1])


def peak_memory_mb(extra_env=None, max_sweeps=None, n_test=None, seeds="0:8"):
    """Max RSS (MB) and seconds of one `mbphase run` at default sizes: K=3,
    d=15 tree committee, default m, n_test and max_sweeps, 8 seeds, 1 thread
    (``max_sweeps``, ``n_test`` and ``seeds`` override them)."""
    options = {"architecture": "sparse", "weights": "discrete", "topology": "tree", "K": 3, "sizes": [15], "m": [64], "seeds": 8}
    if max_sweeps:
        options["max_sweeps"] = max_sweeps
    if n_test:
        options["n_test"] = n_test
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(yaml.safe_dump({"experiments": {"bench": options}}))
        script = Path(sys.executable).parent / "mbphase"
        mbphase_cmd = [str(script)] if script.is_file() else [sys.executable, "-m", "mbphase.cli"]
        cmd = mbphase_cmd + ["run", "--config", str(config), "--experiment", "bench", "--size", "15", "--m", "64", "--seeds", seeds,
                             "--progress", "off", "--out", str(Path(tmp) / "runs.parquet")]
        return max_rss_mb(cmd, extra_env)


def parallel_capacity(seconds=0.5):
    """How many cores this process can get right now: the speedup of two
    CPU-bound processes run at once over one alone (2.0 on an idle 2-core
    machine, about 1 when another process holds a core)."""
    loop = "import sys, time\nn = int(sys.argv[1]); t = time.perf_counter(); x = 0\nfor i in range(n): x += i\nprint(time.perf_counter() - t)"
    n = int(2e7 * seconds)
    one = float(subprocess.run([sys.executable, "-c", loop, str(n)], capture_output=True, text=True, check=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", loop, str(n)], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = max(float(p.communicate()[0]) for p in procs)
    return 2.0 * one / both


def bench_scaling(s: Settings):
    rows = []
    capacity = parallel_capacity(0.1 if s.quick else 0.5)
    rows.append(row("scaling", "machine check: 2 busy processes vs 1", "pure-Python loops", capacity, "speedup", 2,
                    note="the parallelism available to this benchmark now: the thread-scaling rows below cannot exceed it"))
    # Throughput with 1 and 2 Numba threads, parallel over seeds. The two
    # are timed alternately, so that a passing disturbance (another process,
    # a noisy neighbour of this virtual machine) does not bias one of them.
    cases = [("greedy", greedy_params(s.greedy_d, 256), 16, "pattern evals/s"), ("sgd", sgd_params(45, 16), 64, "samples/s")]
    max_threads = numba.config.NUMBA_NUM_THREADS
    retries = 0 if s.quick else 6
    for kind, p, n0, unit in cases:
        case = f"{kind} {p.model} K=3 {'d' if kind == 'greedy' else 'N'}={p.d if kind == 'greedy' else p.n_inputs} m={p.m}, {s.scaling_seeds} seeds"
        seeds = list(range(s.scaling_seeds))
        one = project_runner(p, seeds, 1)
        n, secs1, cpu1, clean1 = measure(one, n0, s, 1)
        per_unit = (p.n_weights * p.m) if kind == "greedy" else p.m
        work = n * per_unit * len(seeds)
        unit_name = "sweeps" if kind == "greedy" else "steps"
        if max_threads < 2:
            rows.append(row("scaling", case, "project", work / secs1, unit, 1, work, secs1, note=f"{n} {unit_name} per seed", cpu=cpu1))
            rows.append(row("scaling", case, "project", np.nan, unit, 2, note=f"skipped: NUMBA_NUM_THREADS = {max_threads}"))
            continue
        two = project_runner(p, seeds, 2)
        two(1)
        best1, best2 = (secs1, cpu1, clean1), None
        for _ in range(s.repeats):
            t2 = timed(two, n, 1, 2, retries)
            best2 = t2 if best2 is None or (t2[2], -t2[0]) > (best2[2], -best2[0]) else best2
            t1 = timed(one, n, 1, 1, retries)
            best1 = t1 if (t1[2], -t1[0]) > (best1[2], -best1[0]) else best1
        (secs1, cpu1, clean1), (secs2, cpu2, clean2) = best1, best2
        rows.append(row("scaling", case, "project", work / secs1, unit, 1, work, secs1, note=("" if clean1 else CONTENDED) + f"{n} {unit_name} per seed", cpu=cpu1))
        ratio = secs1 / secs2
        rows.append(row("scaling", case, "project", work / secs2, unit, 2, work, secs2, ratio, "2 threads / 1 thread", ">= 1.8x", met(ratio, 1.8),
                        ("" if clean2 else CONTENDED) + f"{os.cpu_count()} logical CPUs; 1 and 2 threads timed alternately, fastest clean call of each", cpu2))
    capacity = parallel_capacity(0.1 if s.quick else 0.5)
    rows.append(row("scaling", "machine check again, after the thread rows", "pure-Python loops", capacity, "speedup", 2))

    # Time against m and against the number of weights (K*d), one thread.
    grid = []
    for d in s.grid_d:
        for m in s.grid_m:
            p = greedy_params(d, m)
            sweeps, secs, cpu, clean = measure(project_runner(p, [0], 1), 4, s, 1)
            ns = secs / (sweeps * m * p.n_weights) * 1e9
            grid.append((m, p.n_weights, secs / sweeps))
            rows.append(row("scaling", f"greedy d={d} m={m}", "project", ns, "ns per (sweep x m x weight)", 1, sweeps, secs,
                            note=("" if clean else CONTENDED) + f"{sweeps} sweeps; {secs / sweeps * 1e3:.3g} ms per sweep", cpu=cpu))
    g = np.array(grid)
    design = np.column_stack([np.log(g[:, 0]), np.log(g[:, 1]), np.ones(len(g))])
    (a, b, _), *_ = np.linalg.lstsq(design, np.log(g[:, 2]), rcond=None)
    per = np.array([r["value"] for r in rows[-len(grid):]])
    rows.append(row("scaling", "fit: time per sweep ~ m^a", "project", a, "exponent a", note="least squares in log-log over the grid above"))
    rows.append(row("scaling", "fit: time per sweep ~ weights^b", "project", b, "exponent b"))
    rows.append(row("scaling", "spread of ns per (sweep x m x weight)", "project", per.max() / per.min(), "max / min",
                    note="1 = exactly linear in m x weights"))
    # A proposal costs a fixed part plus a part per pattern (per 64-pattern
    # word for a bit-packed kernel): fit time per proposal = c0 + c1 m.
    per_proposal = g[:, 2] / g[:, 1]
    (c1, c0), *_ = np.linalg.lstsq(np.column_stack([g[:, 0], np.ones(len(g))]), per_proposal, rcond=None)
    rows.append(row("scaling", "fit: time per proposal = c0 + c1 m", "project", c0 * 1e9, "c0, ns per proposal",
                    note="least squares over the grid (the data drawn per sweep is spread over its proposals)"))
    rows.append(row("scaling", "fit: time per proposal = c0 + c1 m", "project", c1 * 1e9, "c1, ns per pattern"))

    # Peak memory of one `mbphase run` at default sizes.
    peak_memory_mb(max_sweeps=s.memory_max_sweeps)  # fills the Numba cache if the code changed since this process compiled
    mb, secs = peak_memory_mb(max_sweeps=s.memory_max_sweeps)
    label = "mbphase run K=3 d=15 m=64 8 seeds n_test=10000" + (f" max_sweeps={s.memory_max_sweeps}" if s.memory_max_sweeps else "")
    rows.append(row("scaling", label, "peak RSS, warm Numba cache", mb, "MB", 1, seconds=secs, target="< 300 MB", met="yes" if mb < 300 else "NO",
                    note="max RSS of the process, via resource.getrusage(RUSAGE_CHILDREN) in a wrapper process"))
    if s.memory_cold:
        floor, _ = max_rss_mb([sys.executable, "-c", "import mbphase.cli, mbphase.sim.run, mbphase.pipeline.storage"])
        rows.append(row("scaling", label, "peak RSS of the imports alone", floor, "MB", 1,
                        note="a process that only imports what `mbphase run` imports (NumPy, Numba and llvmlite, pandas, pyarrow, SciPy, jsonschema) and exits"))
        with tempfile.TemporaryDirectory() as cache:
            mb_cold, secs_cold = peak_memory_mb({"NUMBA_CACHE_DIR": cache}, s.memory_max_sweeps)
        rows.append(row("scaling", label, "peak RSS, cold Numba cache (compiles)", mb_cold, "MB", 1, seconds=secs_cold,
                        note="empty NUMBA_CACHE_DIR: the first job of a fresh checkout compiles the kernels (the workflow compiles once before the fan-out)"))
    print_section("scaling", rows)
    return rows


# ---------------------------------------------------------------- pipeline


def benchmark_files(results: Path):
    """Snakemake `benchmark:` files (TSV with header 's  h:m:s  max_rss ...')
    under ``results``."""
    found = []
    for path in sorted(results.rglob("*.tsv")):
        try:
            with open(path) as fh:
                header = fh.readline().split("\t")
        except OSError:
            continue
        if header[:2] == ["s", "h:m:s"]:
            found.append(path)
    return found


def snakemake_elapsed(sweep_dir: Path, first_start: float, last_end: float):
    """Wall time of the Snakemake invocation that ran the jobs: the log in
    .snakemake/log/ whose run covers the benchmark files, from its
    'Elapsed time' line; None if there is none."""
    best = None
    for log in sorted((sweep_dir / ".snakemake" / "log").glob("*.snakemake.log")):
        text = log.read_text(errors="replace")
        match = re.search(r"Elapsed time: (\d+):(\d\d):(\d\d(?:\.\d+)?)", text)
        if not match:
            continue
        elapsed = int(match.group(1)) * 3600 + int(match.group(2)) * 60 + float(match.group(3))
        end = log.stat().st_mtime
        if end - elapsed <= first_start + 1 and end >= last_end - 1:
            best = elapsed
    return best


def pipeline_overhead(s: Settings):
    results = s.sweep_dir / "results"
    files = benchmark_files(results) if results.is_dir() else []
    case = f"default sweep in {s.sweep_dir}"
    if not files:
        return [row("pipeline", case, "job compute vs wall x cores", np.nan, "fraction",
                    note=f"skipped: no finished sweep (no Snakemake benchmark files under {results}); run `make run` first")]
    jobs = []
    for path in files:
        table = pd.read_csv(path, sep="\t")
        rule = path.relative_to(results).parts[1] if len(path.relative_to(results).parts) > 2 else path.stem
        jobs.append((rule, float(table["s"].iloc[-1]), path.stat().st_mtime))
    df = pd.DataFrame(jobs, columns=["rule", "s", "end"])
    start, end = float((df["end"] - df["s"]).min()), float(df["end"].max())
    elapsed = snakemake_elapsed(s.sweep_dir, start, end)
    wall, wall_source = (elapsed, "Snakemake's 'Elapsed time'") if elapsed else (end - start, "first job start to last job end (benchmark files)")
    total = df["s"].sum()
    train = df.loc[df["rule"] == "train", "s"]
    capacity = wall * s.cores
    overhead = 1.0 - total / capacity
    rows = [
        row("pipeline", case, "all jobs: compute / (wall x cores)", total / capacity, "fraction", s.cores, len(df), wall,
            target="overhead < 10%", met="yes" if overhead < 0.10 else "NO",
            note=f"{len(df)} jobs ({len(train)} train), sum of job s = {total:.1f} s, train jobs {train.sum():.1f} s; wall {wall:.1f} s ({wall_source}); "
                 f"idle/overhead {overhead:.1%} of wall x {s.cores} cores"),
    ]
    kernel = kernel_seconds(results)
    if kernel is not None and len(train):
        outside = (train.sum() - kernel) / capacity
        rows.append(row("pipeline", case, "train jobs outside the kernel / (wall x cores)", outside, "fraction", s.cores, len(train), train.sum(),
                        target="< 10% (stricter reading)", met="yes" if outside < 0.10 else "NO",
                        note=f"train jobs {train.sum():.1f} s, of which kernels {kernel:.1f} s (sum of job_wall_time_s in the run tables, seeding included); "
                             "the rest is process start, imports, Numba cache loading and Parquet writing"))
        rows.append(row("pipeline", case, "train jobs: kernel / job time", kernel / train.sum(), "fraction", s.cores, len(train), train.sum()))
    return rows


def kernel_seconds(results: Path):
    """Sum over training jobs of the kernel wall time recorded in the run
    tables (job_wall_time_s is per job, repeated on each of its rows)."""
    frames = []
    for path in results.rglob("*.parquet"):
        try:
            df = pd.read_parquet(path, columns=["experiment", "size", "m", "temperature", "seed", "job_seeds", "job_wall_time_s"])
        except Exception:
            continue
        frames.append(df)
    if not frames:
        return None
    df = pd.concat(frames).drop_duplicates(["experiment", "size", "m", "temperature", "seed"])
    return float((df["job_wall_time_s"] / df["job_seeds"]).sum())


def sweep_config(n_jobs: int, base: dict):
    """A config of about ``n_jobs`` training jobs (seeds_per_job 1): one
    sparse discrete committee experiment, 4 sizes x 25 m values x seeds."""
    seeds = max(1, int(round(n_jobs / 100)))
    experiment = {"architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee", "K": 3,
                  "sizes": [15, 25, 35, 51], "m_per_size": [round(0.5 + 0.25 * i, 2) for i in range(25)], "seeds": seeds, "seeds_per_job": 1,
                  "max_sweeps": 100}
    config = {k: v for k, v in base.items() if k not in ("experiments",)}
    config["experiments"] = {"dag": experiment}
    return config


def dry_run(s: Settings):
    case = f"dry run of a {s.dag_jobs}-job sweep"
    if not (ROOT / "Snakefile").is_file() or not (ROOT / "workflow").is_dir():
        return [row("pipeline", case, "snakemake -n", np.nan, "s", note=f"skipped: no Snakefile and workflow/ in {ROOT} yet")]
    from mbphase.pipeline.config import check_config, iter_jobs

    base = {}
    if (ROOT / "config.yaml").is_file():
        base = yaml.safe_load((ROOT / "config.yaml").read_text()) or {}
    config = sweep_config(s.dag_jobs, base)
    try:
        n_jobs = sum(1 for _ in iter_jobs(check_config(yaml.safe_load(yaml.safe_dump(config)))))
    except Exception:
        config = sweep_config(s.dag_jobs, {})
        n_jobs = sum(1 for _ in iter_jobs(check_config(yaml.safe_load(yaml.safe_dump(config)))))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "workflow-copy"
        work.mkdir()
        for name in ("Snakefile", "workflow", "profiles", "envs", "src", "pyproject.toml"):
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
            elif src.is_file():
                shutil.copy2(src, work / name)
        (work / "config.yaml").write_text(yaml.safe_dump(config))
        configfile = work / "dag.yaml"
        configfile.write_text(yaml.safe_dump(config))
        variants = [("snakemake -n", [])] + ([] if s.quick else [("snakemake -n -q (DAG only, no job listing)", ["-q"])])
        for label, extra in variants:
            cmd = [sys.executable, "-m", "snakemake", "-n", *extra, "--cores", "2", "--configfile", str(configfile)]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            out = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=1800)
            seconds = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            if out.returncode != 0:
                tail = (out.stderr or out.stdout)[-1500:]
                rows.append(row("pipeline", case, label, np.nan, "s", note=f"failed (exit {out.returncode}): {tail}"))
                break
            counts = dict(re.findall(r"^(\w+)\s+(\d+)\s*$", out.stdout + out.stderr, flags=re.M))
            listed = f"; Snakemake counts {counts.get('train')} train jobs, {counts.get('total')} in all" if "total" in counts else ""
            rows.append(row("pipeline", case, label, seconds, "s", 1, n_jobs, seconds, target="< 20 s" if s.dag_jobs >= 10000 else "",
                            met=("yes" if seconds < 20 else "NO") if s.dag_jobs >= 10000 else "",
                            note=f"{n_jobs} train jobs (seeds_per_job 1) in the config{listed}; includes Python and Snakemake start-up; "
                                 f"CPU time {cpu:.1f} s (Snakemake is serial: about the wall time it would take alone)", cpu=cpu / seconds))
    return rows


def job_fixed_cost(s: Settings):
    """Wall time of a training job that does almost nothing (`mbphase run`,
    one seed, one sweep, n_test 1, warm Numba cache): what every job pays
    before and after its kernel (interpreter, imports, loading the compiled
    kernels, seeding, writing Parquet). The fastest of 3."""
    peak_memory_mb(max_sweeps=1, n_test=1, seeds="0:1")  # warm the cache
    seconds = min(peak_memory_mb(max_sweeps=1, n_test=1, seeds="0:1")[1] for _ in range(1 if s.quick else 3))
    return [row("pipeline", "one nearly empty training job", "mbphase run, 1 seed, 1 sweep, n_test 1", seconds, "s", 1, seconds=seconds,
                note="the fixed cost of a job (start-up, imports, Numba cache loading, Parquet writing), warm cache; "
                     "sweeps of many short jobs pay it once per job: raise seeds_per_job to amortise it")]


def bench_pipeline(s: Settings):
    overhead, fixed = pipeline_overhead(s), job_fixed_cost(s)
    wall = [r for r in overhead if r["implementation"].startswith("all jobs")]
    outside = [r for r in overhead if r["implementation"].startswith("train jobs outside")]
    if wall and outside:
        n_train, capacity, cost = outside[0]["work"], wall[0]["seconds"] * s.cores, fixed[0]["value"]
        outside[0]["note"] += (f"; at the fixed cost measured below ({cost:.2f} s per job, measured in this run) the {n_train:.0f} training jobs pay at least "
                               f"{n_train * cost:.0f} s = {n_train * cost / capacity:.0%} of wall x cores")
    rows = overhead + fixed + dry_run(s)
    print_section("pipeline", rows)
    return rows


# ---------------------------------------------------------------- main


def settings_from(args) -> Settings:
    if args.quick:
        return Settings(True, 0.03, 1, (16, 64), 15, (45,), (1, 16), (1,), (15, 31), (64, 128), 2, 50, False, 200, args.cores, Path(args.sweep_dir))
    return Settings(False, args.target, args.repeats, (16, 64, 256, 1024), 51, (45, 459), (1, 16, 256), (1, 2), (15, 51, 151), (64, 256, 1024),
                    8, None, True, 10000, args.cores, Path(args.sweep_dir))


def environment_note():
    greedy_bits = importlib.util.find_spec("mbphase.sim.greedy_bits") is not None
    try:
        torch_version = importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        torch_version = "not installed"
    return (f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, torch {torch_version}; "
            f"{os.cpu_count()} logical CPUs, NUMBA_NUM_THREADS {numba.config.NUMBA_NUM_THREADS}; mbphase code version {CODE_VERSION}; "
            f"mbphase.sim.greedy_bits {'present' if greedy_bits else 'absent'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results.csv"), help="CSV file of the table (default: benchmarks/results.csv)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections among {', '.join(SECTIONS)}")
    parser.add_argument("--quick", action="store_true", help="tiny workloads, one repeat: a smoke run of every code path (numbers meaningless)")
    parser.add_argument("--target", type=float, default=0.8, help="seconds per measurement (default 0.8)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement, the fastest kept (default 3)")
    parser.add_argument("--sweep-dir", default=str(ROOT), help="directory of a finished default sweep (results/, .snakemake/) for the pipeline section")
    parser.add_argument("--cores", type=int, default=2, help="cores the default sweep ran with (default 2)")
    args = parser.parse_args(argv)
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    unknown = [x for x in only if x not in SECTIONS]
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(unknown)}; allowed: {', '.join(SECTIONS)}")
    s = settings_from(args)
    print(environment_note(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f} (1 min); with {os.cpu_count()} CPUs, a load above about 1 means other work competes", flush=True)
    rows = []
    runners = {"greedy": bench_greedy, "sgd": bench_sgd, "sgd_batched": bench_sgd_batched, "scaling": bench_scaling, "pipeline": bench_pipeline}
    for section in SECTIONS:
        if section in only:
            start = time.perf_counter()
            rows += runners[section](s)
            print(f"({section}: {time.perf_counter() - start:.0f} s; load average {os.getloadavg()[0]:.1f})", flush=True)
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    print(f"\nwrote {out} ({len(table)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where one training job's time goes: `mbphase run` with its arguments,
stamped with the process's CPU seconds and peak RSS after each phase.

    python benchmarks/job_phases.py run --config config.yaml --experiment NAME \\
        --size 15 --m 60 --seeds 0:32 --progress off --out /tmp/x.parquet

Phases: the interpreter; ``import mbphase``; the command line's modules,
the kernel registry and the runner (Numba's import and the load of its CPU
target); argument parsing and the imports before the config; reading and
validating the config; the seeds' inputs (teachers, initial
students, stream states); loading the kernel from Numba's cache (forced
before the call, so that the call is the kernel alone); the kernel; the
tables and files after it. CPU seconds, not wall: on a shared machine the
wall time mostly measures the wait for a core. Run it twice: the first call
may compile.
"""

import resource
import sys
import time

STAMPS = []


def stamp(label):
    STAMPS.append((label, time.process_time(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


stamp("interpreter")
import mbphase  # noqa: E402

stamp("import mbphase")
import mbphase.cli as cli  # noqa: E402
import mbphase.sim.kernels as kernels  # noqa: E402
import mbphase.sim.run as run  # noqa: E402

stamp("import mbphase.cli, kernels, run (Numba)")

_load, _load_config, _prepare = kernels.Kernel.load, cli._load_config, run.prepare_seeds


def load(self):
    kernel = _load(self)

    def call(**kwargs):
        from numba import typeof

        code = kernel.py_func.__code__
        kernel.compile(tuple(typeof(kwargs[n]) for n in code.co_varnames[: code.co_argcount]))
        stamp("kernel loaded from the cache")
        out = kernel(**kwargs)
        stamp("kernel")
        return out

    return call


def load_config(args):
    stamp("arguments, imports")
    out = _load_config(args)
    stamp("config read and validated")
    return out


def prepare_seeds(*args, **kwargs):
    stamp("until the seeds' inputs")
    out = _prepare(*args, **kwargs)
    stamp("seeds' inputs")
    return out


kernels.Kernel.load, cli._load_config, run.prepare_seeds = load, load_config, prepare_seeds
status = cli.main(sys.argv[1:])
stamp("tables and files")
previous = 0.0
for label, cpu, rss in STAMPS:
    print(f"{label:<32} CPU {cpu:6.3f} s (+{cpu - previous:5.3f})  peak RSS {rss:4.0f} MB", file=sys.stderr)
    previous = cpu
sys.exit(status)

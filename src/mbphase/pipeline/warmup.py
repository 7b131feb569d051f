"""Compile every Numba kernel into the cache once, before a sweep fans out.

Many processes compiling into one Numba cache at once are slow (each
compiles everything itself) and a known source of crashes. The workflow
therefore runs :func:`compile_kernels` in a single job first; the training
jobs then only load machine code from the cache.

A kernel is compiled once per argument-type signature, and every run of a
kernel passes the same types whatever the model options (flags are runtime
booleans, sizes runtime integers), so one tiny run per kernel compiles all
that a sweep will use. The example runs of every kernel of the registry
(:data:`mbphase.sim.kernels.KERNELS`) still cover each student kind and data
regime, with and without a trajectory, in case that changes.
"""

from __future__ import annotations

import json
import os
import time

def compile_kernels() -> dict:
    """Run every example of every kernel of the registry once; return what
    was done.

    Returns
    -------
    dict
        ``code_version``, ``cache_dir`` (Numba's effective cache directory),
        ``numba`` (its version) and ``seconds`` per example run (cold:
        compilation; warm: loading from the cache).
    """
    import numba

    import mbphase

    from ..sim.kernels import KERNELS, kernel_for
    from ..sim.params import make_params
    from ..sim.run import run_point

    seconds = {}
    for kernel in KERNELS.values():
        for options in kernel.examples:
            p = make_params(options)
            if kernel_for(p) is not kernel:
                raise RuntimeError(f"example {options} of kernel {kernel.name} runs {kernel_for(p).name}")
            start = time.perf_counter()
            run_point(p, [0], base_seed=0, threads=1)
            seconds[f"{kernel.name}: {', '.join(f'{k}={v}' for k, v in options.items())}"] = round(time.perf_counter() - start, 3)
    return {
        "code_version": mbphase.CODE_VERSION,
        "cache_dir": os.path.abspath(numba.config.CACHE_DIR) if numba.config.CACHE_DIR else None,
        "numba": numba.__version__,
        "seconds": seconds,
    }


def write_record(record: dict, path) -> None:
    """Write the record of a compilation as JSON, atomically (the workflow's
    flag file)."""
    from .storage import atomic_write

    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))

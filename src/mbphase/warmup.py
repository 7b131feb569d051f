"""Compile every Numba kernel into the cache once, before a sweep fans out.

Many processes compiling into one Numba cache at once are slow (each
compiles everything itself) and a known source of crashes. The workflow
therefore runs :func:`compile_kernels` in a single job first; the training
jobs then only load machine code from the cache.

A kernel is compiled once per argument-type signature, and every run of a
kernel passes the same types whatever the model options (flags are runtime
booleans, sizes runtime integers), so one tiny run per kernel compiles all
that a sweep will use. The cases below still cover each student kind and
data regime, with and without a trajectory, in case that changes.
"""

from __future__ import annotations

import json
import os
import time

# Tiny runs, one per kernel and option combination: (label, options).
CASES = (
    ("greedy_bits: sparse +-1 student, binary inputs, trajectory", dict(architecture="sparse", weights="discrete", K=3, d=3, m=4, max_sweeps=3, n_test=16, trajectory_points=2)),
    ("greedy_bits: sparse +-1 student, finite data, T > 0", dict(architecture="sparse", weights="discrete", topology="random", K=3, d=3, N=7, data="finite", train_size=8, m=4, temperature=1.0, max_sweeps=3, n_test=16)),
    ("greedy: dense student, finite data, T > 0", dict(architecture="dense", weights="discrete", topology="random", K=1, d=3, N=5, data="finite", train_size=8, m=4, temperature=1.0, max_sweeps=3, n_test=16)),
    ("greedy: sparse student, gaussian inputs, trajectory", dict(architecture="sparse", weights="discrete", inputs="gaussian", K=3, d=3, m=4, max_sweeps=3, n_test=16, trajectory_points=2)),
    ("sgd: sparse student, online data, trajectory", dict(architecture="sparse", weights="continuous", K=3, d=3, m=4, max_steps=4, eval_every=2, n_test=16, trajectory_points=2)),
    ("sgd: dense student, finite data, logistic loss", dict(architecture="dense", weights="continuous", topology="random", K=1, d=3, N=5, data="finite", train_size=8, m=4, loss="logistic", max_steps=4, eval_every=2, n_test=16)),
)


def compile_kernels() -> dict:
    """Run every case of :data:`CASES` once; return what was done.

    Returns
    -------
    dict
        ``code_version``, ``cache_dir`` (Numba's effective cache directory),
        ``numba`` (its version) and ``seconds`` per case (cold: compilation;
        warm: loading from the cache).
    """
    import numba

    import mbphase

    from .params import make_params
    from .run import run_point

    seconds = {}
    for label, options in CASES:
        start = time.perf_counter()
        run_point(make_params(options), [0], base_seed=0, threads=1)
        seconds[label] = round(time.perf_counter() - start, 3)
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

"""How the kernels' Numba starts: its cache directory, one per code version,
and its CPU target loaded without SciPy's linear algebra.

Numba's cache checks only the source file of the function it caches, not
the files of the kernels it calls, so an edit to (say) observables.py would
leave greedy.py's cached machine code stale. Keying the cache by the hash of
the simulation's sources (``mbphase.CODE_VERSION``) makes a stale hit
impossible. The base directory is NUMBA_CACHE_DIR if set, else
~/.cache/mbphase/numba.

Every module of this package that uses Numba imports this one first, and
nothing else does: importing Numba costs about half a second, which the
command line, the workflow's parse and the aggregation, analysis and plot
jobs need not pay.

When Numba first compiles or loads a function it imports its registries of
NumPy implementations, and one of them checks for BLAS by importing
``scipy.linalg`` (about 0.4 CPU-s, a fifth of a short training job's
start-up). No kernel of this package calls BLAS (no ``np.dot`` or ``@`` on
floats: the fields are sums over a unit's few inputs), so this module loads
the registries at once with ``scipy.linalg`` hidden; Numba then records that
it has no BLAS, and a future kernel that calls it fails to compile with
Numba's "scipy 0.16+ is required for linear algebra" (import
``scipy.linalg`` before this module in that kernel's module). A process that
has already imported ``scipy.linalg`` keeps Numba's usual behaviour. Neither
changes the machine code of a cached kernel: tests/test_startup.py runs the
kernels both ways and compares the results.
"""

from __future__ import annotations

import os
import sys

import numba

from .. import CODE_VERSION

_base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mbphase", "numba")
numba.config.CACHE_DIR = os.path.join(_base, CODE_VERSION)


def _load_cpu_target_without_blas() -> None:
    if "scipy.linalg" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # makes `import scipy.linalg...` raise ImportError
    try:
        from numba.core.registry import cpu_target

        cpu_target.target_context.refresh()
    finally:
        if "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is None:
            del sys.modules["scipy.linalg"]


_load_cpu_target_without_blas()

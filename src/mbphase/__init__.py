"""mbphase: phase transitions in the mini-batch size of two-layer networks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

__version__ = "0.1.0"

_PACKAGE_DIR = Path(__file__).resolve().parent


# Post-processing and workflow-only modules: they never change a run's rows,
# so editing them changes neither the rows' code version nor the kernels.
_POST_PROCESSING = ("analysis/", "plots.py", "aggregate.py", "stale.py", "layout.py", "warmup.py")


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        if path.relative_to(_PACKAGE_DIR).as_posix().startswith(_POST_PROCESSING):
            continue
        h.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODE_VERSION = _source_hash()
"""Hash of the simulation's source files: changes exactly when the code that
produces a run row does."""


def _isolate_numba_cache() -> None:
    """Give each code version its own Numba cache directory.

    Numba's cache checks only the source file of the function it caches, not
    the files of the kernels it calls, so an edit to (say) observables.py
    would leave greedy.py's cached machine code stale. Keying the cache by
    the hash of all sources makes a stale hit impossible. The base directory
    is NUMBA_CACHE_DIR if set, else ~/.cache/mbphase/numba.
    """
    import numba

    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mbphase", "numba")
    numba.config.CACHE_DIR = os.path.join(base, CODE_VERSION)


_isolate_numba_cache()

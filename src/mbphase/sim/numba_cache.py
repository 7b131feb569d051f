"""Numba's cache directory, one per code version.

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
"""

from __future__ import annotations

import os

import numba

from .. import CODE_VERSION

_base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mbphase", "numba")
numba.config.CACHE_DIR = os.path.join(_base, CODE_VERSION)

"""mbphase: phase transitions in the mini-batch size of two-layer networks."""

from __future__ import annotations

import hashlib
from pathlib import Path

__version__ = "0.1.0"

_SIM_DIR = Path(__file__).resolve().parent / "sim"


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in sorted(_SIM_DIR.rglob("*.py")):
        h.update(path.relative_to(_SIM_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


CODE_VERSION = _source_hash()
"""Hash of the sources in ``mbphase/sim/``, the code that produces a run's
rows: it changes exactly when that code does. Numba's cache is keyed by it
(mbphase.sim.numba_cache)."""


# The notebook API (mbphase.load), imported on first use: importing mbphase
# itself stays light (no pandas).
_LOADERS = ("load_runs", "load_trajectories", "load_analysis")
__all__ = ["CODE_VERSION", "__version__", *_LOADERS]


def __getattr__(name: str):
    if name in _LOADERS:
        from . import load

        return getattr(load, name)
    raise AttributeError(f"module 'mbphase' has no attribute {name!r}")

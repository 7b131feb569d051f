"""Which rows of the run table belong to one measurement point.

A point of an experiment is (experiment, size, m) plus any other parameter
that the experiment scans (for instance ``temperature`` in the Metropolis
baseline). Every analysis table is keyed the same way, so that tables can be
joined and plotted side by side.
"""

from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np
import pandas as pd

from mbphase.sim.schema import PARAM_COLUMNS

# Columns every analysis needs to tell experiments and sizes apart.
IDENTITY_COLUMNS = ("experiment", "size_key", "size")


def require_columns(frame: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    """Raise a ``KeyError`` naming the missing columns of ``frame``.

    ``where`` names the caller, so the message says which analysis needs them.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{where}: the run table lacks columns {missing}")


def ok_mask(runs: pd.DataFrame) -> np.ndarray:
    """Boolean array, True for rows whose ``status`` is 'ok' (all rows if the
    table has no ``status`` column)."""
    if "status" not in runs.columns:
        return np.ones(len(runs), dtype=bool)
    return (runs["status"].astype("string") == "ok").fillna(False).to_numpy(dtype=bool)


def success_array(runs: pd.DataFrame) -> np.ndarray:
    """``success`` as a plain bool array; missing values count as failures."""
    return runs["success"].astype("boolean").fillna(False).to_numpy(dtype=bool)


def scanned_parameters(runs: pd.DataFrame) -> list[str]:
    """Parameter columns, other than ``m``, that take more than one value
    inside at least one (experiment, size) group.

    These become extra group keys. ``d`` and ``N`` are excluded automatically
    when they follow the size, because they are then constant inside a group.
    A missing value counts as a value of its own (``train_size`` is null for
    online data).
    """
    if runs.empty:
        return []
    candidates = [c for c in PARAM_COLUMNS if c in runs.columns and c != "m"]
    if not candidates:
        return []
    keys = [c for c in ("experiment", "size") if c in runs.columns]
    counts = runs.groupby(keys, dropna=False, sort=False)[candidates].nunique(dropna=False)
    return [c for c in candidates if (counts[c] > 1).any()]


def series_keys(runs: pd.DataFrame, extra: list[str] | None = None) -> list[str]:
    """Keys of one curve against m: experiment, size_key, size and the
    scanned parameters (``extra``, computed from ``runs`` when None)."""
    extra = scanned_parameters(runs) if extra is None else extra
    return [*IDENTITY_COLUMNS, *extra]


def point_keys(runs: pd.DataFrame, extra: list[str] | None = None) -> list[str]:
    """Keys of one measurement point: :func:`series_keys` plus ``m``."""
    return [*series_keys(runs, extra), "m"]


def panel_keys(frame: pd.DataFrame) -> list[str]:
    """Keys of one panel of a figure or one scaling fit: the series keys of
    an analysis table without ``size`` (experiment, size_key and whatever
    scanned parameters the table carries)."""
    known = set(PARAM_COLUMNS) - {"m"}
    extra = [c for c in frame.columns if c in known]
    return [c for c in ("experiment", "size_key") if c in frame.columns] + extra


def key_dict(keys: list[str], values) -> dict:
    """``dict(zip(keys, values))`` that also accepts the scalar pandas gives
    for a single key."""
    if not isinstance(values, tuple):
        values = (values,)
    return dict(zip(keys, values))


def empty_table(columns, strings=("experiment", "size_key")) -> pd.DataFrame:
    """An empty table with the given columns (those in ``strings`` typed as
    str, the rest float), so that it still writes to Parquet with a schema."""
    return pd.DataFrame({c: pd.Series(dtype=str if c in strings else float) for c in columns})


def group_rng(seed: int, keys: dict) -> np.random.Generator:
    """A random stream for one group's bootstrap, from the analysis seed and
    the group's identity (its key values), so that a group's result does not
    depend on which other groups happen to be in the table."""
    label = repr(sorted((k, str(v)) for k, v in keys.items())).encode()
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(label)]))

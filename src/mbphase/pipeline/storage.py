"""Parquet files of the run tables: atomic writes and checked reads.

A file appears at its final path only complete: it is written to a temporary
file in the same directory, flushed to disk, then renamed (atomic on POSIX).
Reads check the schema version stored in the file's metadata.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..sim.schema import COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS, arrow_schema, file_metadata


class DamagedFileError(RuntimeError):
    """A run file that cannot be used: unreadable, truncated or of another
    schema version. The message names the file and what to do."""


def atomic_write_table(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to ``path`` as Parquet, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def to_arrow(df: pd.DataFrame, columns=COLUMNS, kind: str = "runs") -> pa.Table:
    """A DataFrame as an Arrow table with the documented schema."""
    return pa.Table.from_pandas(df[list(columns)], schema=arrow_schema(columns, kind), preserve_index=False)


def write_runs(df: pd.DataFrame, path: str | Path) -> None:
    atomic_write_table(to_arrow(df, COLUMNS, "runs"), path)


def write_trajectory(df: pd.DataFrame, path: str | Path) -> None:
    atomic_write_table(to_arrow(df, TRAJECTORY_COLUMNS, "trajectory"), path)


def read_checked(path: str | Path, kind: str = "runs") -> pd.DataFrame:
    """Read one run or trajectory file, refusing damaged or foreign ones."""
    path = Path(path)
    advice = f"delete it ('rm {path}') and rerun the workflow to recompute it"
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise DamagedFileError(f"{path}: cannot be read as Parquet ({exc}); {advice}") from None
    meta = file_metadata(table.schema)
    if meta.get("schema_version") != SCHEMA_VERSION or meta.get("kind") != kind:
        raise DamagedFileError(
            f"{path}: schema version {meta.get('schema_version')!r} of kind {meta.get('kind')!r}, "
            f"expected version {SCHEMA_VERSION} of kind {kind!r}; {advice}"
        )
    columns = COLUMNS if kind == "runs" else TRAJECTORY_COLUMNS
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DamagedFileError(f"{path}: missing columns {missing}; {advice}")
    return table.to_pandas()

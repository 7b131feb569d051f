"""Files of the project: one atomic writer, and checked reads of run tables.

Every file mbphase writes (run files, tables, analysis tables, figures, the
compile flag) goes through :func:`atomic_write`: it is written to a
temporary file in the same directory, flushed to disk, given the mode a
plain ``open`` would give (``0o666`` minus the umask: ``mkstemp`` alone
makes it 0600, unreadable to anyone else on a shared filesystem), then
renamed over the target (atomic on POSIX). So a file appears at its final
path only complete; an interruption or a full disk leaves the old file (or
none) and no temporary. Targets that are not regular files (a directory, a
device such as /dev/full, a FIFO) are refused rather than replaced.
Reads check the schema version stored in the file's metadata.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

import pyarrow as pa
import pyarrow.parquet as pq

from ..sim.schema import COLUMNS, SCHEMA_VERSION, TRAJECTORY_COLUMNS, arrow_schema, file_metadata
from .partition import restore

if TYPE_CHECKING:  # pandas is imported where a frame is made: training jobs write without it
    import pandas as pd


class DamagedFileError(RuntimeError):
    """A run file that cannot be used: unreadable, truncated or of another
    schema version. The message names the file and what to do."""


class MissingFileError(DamagedFileError):
    """An input file that does not exist; the message names it."""


class OutputPathError(ValueError):
    """An output path that cannot be written as a regular file (a directory,
    a device, a path through a file): refused before anything is written."""


class WriteError(OSError):
    """Writing an output failed (disk full, no permission); nothing was left
    at the target nor beside it."""


def _umask() -> int:
    """The process umask, read without changing it where Linux allows (setting
    it to read it back is not safe with threads)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_output_path(path: str | Path) -> Path:
    """Refuse an output path that is not (or cannot become) a regular file.

    Returns the path. Raises :class:`OutputPathError` naming it.
    """
    path = Path(path)
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to /dev/full is a device
    except FileNotFoundError:
        mode = None
    except OSError as exc:  # NotADirectoryError: a parent is a file; ELOOP; EACCES
        raise OutputPathError(f"{path}: cannot be written ({exc.strerror}); give the path of a regular file") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a device or special file"
        raise OutputPathError(f"{path}: is {kind}, not a regular file; give the path of a file to create or replace")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise OutputPathError(f"{path}: its parent {parent} is not a directory")
            break
    return path


def atomic_write(path: str | Path, write: Callable[[BinaryIO], None]) -> Path:
    """Create or replace the regular file ``path`` with what ``write(fh)``
    writes to a binary file object, atomically, with mode 0o666 & ~umask.

    Raises :class:`OutputPathError` for a target that is not a regular file
    and :class:`WriteError` (the path and the reason) when writing fails;
    in both cases no file is left at ``path`` or beside it.
    """
    path = check_output_path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise WriteError(exc.errno, f"{path}: cannot be written ({exc.strerror})") from None
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, WriteError):
            raise WriteError(exc.errno, f"{path}: cannot be written ({exc.strerror or exc}); nothing was left at the target") from None
        raise
    return path


def atomic_write_table(table: pa.Table, path: str | Path) -> None:
    """Write ``table`` to ``path`` as Parquet, atomically."""
    atomic_write(path, lambda fh: pq.write_table(table, fh))


def write_frame(df: pd.DataFrame, path: str | Path) -> None:
    """Write a DataFrame (an analysis table) to ``path`` as Parquet, atomically."""
    atomic_write(path, lambda fh: df.to_parquet(fh, index=False))


def to_arrow(df: pd.DataFrame | pa.Table, columns=COLUMNS, kind: str = "runs") -> pa.Table:
    """A DataFrame as an Arrow table with the documented schema; an Arrow
    table (:func:`mbphase.sim.run.run_tables`) must have that schema already."""
    schema = arrow_schema(columns, kind)
    if isinstance(df, pa.Table):
        if not df.schema.equals(schema):
            raise ValueError(f"a {kind} table with another schema than the documented one: {df.schema}")
        return df
    return pa.Table.from_pandas(df[list(columns)], schema=schema, preserve_index=False)


def write_runs(df: pd.DataFrame | pa.Table, path: str | Path) -> None:
    atomic_write_table(to_arrow(df, COLUMNS, "runs"), path)


def write_trajectory(df: pd.DataFrame | pa.Table, path: str | Path) -> None:
    atomic_write_table(to_arrow(df, TRAJECTORY_COLUMNS, "trajectory"), path)


def read_checked(path: str | Path, kind: str = "runs") -> pd.DataFrame:
    """Read one run or trajectory file, refusing damaged or foreign ones."""
    path = Path(path)
    advice = f"delete it ('rm {path}') and rerun the workflow to recompute it"
    if not path.exists():
        raise MissingFileError(f"{path}: missing; rerun the workflow to compute it")
    if not path.is_file():
        raise DamagedFileError(f"{path}: not a regular file; remove it and rerun the workflow to compute it")
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
    # a table in a Hive partition carries its experiment in the path
    df = restore(table.to_pandas(), path)
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DamagedFileError(f"{path}: missing columns {missing}; {advice}")
    return df

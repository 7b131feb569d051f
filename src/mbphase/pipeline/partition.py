"""Hive partitions: a table below ``.../experiment=<name>/`` belongs to that
experiment, and the name is stored in the path only.

Readers of a partitioned tree (pandas, pyarrow.dataset with
``partitioning="hive"``, DuckDB) add an ``experiment`` column from the
directory names. A file that held an ``experiment`` column as well would
give two sources for one column: pandas and pyarrow then refuse to read the
tree ("Unable to merge: Field experiment has incompatible types"), and a
file copied into another experiment's directory would silently disagree
with its path. So writers drop the column from files written into a
partition (:func:`strip`), after checking that it holds the partition's
name, and readers of a single file put it back from the path
(:func:`restore`). A file outside any partition keeps its column.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:  # (pandas is imported where a frame is built: `mbphase run`
    # writes its files through storage, which imports this module, without it)
    import pandas as pd

KEY = "experiment"


class PartitionError(ValueError):
    """A table whose experiment column disagrees with the partition it is
    written to; the message names the path and the values."""


def partition_value(path: str | Path) -> str | None:
    """The experiment named by the innermost ``experiment=<name>``
    directory of ``path`` (None outside a partition)."""
    for part in reversed(Path(path).parts[:-1]):
        key, sep, value = part.partition("=")
        if sep and key == KEY and value:
            return value
    return None


def strip(table: pa.Table, path: str | Path) -> pa.Table:
    """``table`` ready to be written to ``path``: without its experiment
    column when ``path`` is in a partition (every value must be the
    partition's name), unchanged otherwise."""
    value = partition_value(path)
    if value is None or KEY not in table.column_names:
        return table
    found = set(table.column(KEY).to_pylist())
    if not found <= {value}:
        raise PartitionError(
            f"{path}: the table holds rows of experiment(s) {sorted(map(str, found))}, "
            f"but its directory 'experiment={value}' says '{value}'; write each experiment to its own partition"
        )
    return table.drop_columns([KEY])


def strip_frame(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """:func:`strip` for a DataFrame (an analysis table)."""
    value = partition_value(path)
    if value is None or KEY not in df.columns:
        return df
    found = set(df[KEY].astype(object).tolist())
    if not found <= {value}:
        raise PartitionError(
            f"{path}: the table holds rows of experiment(s) {sorted(map(str, found))}, "
            f"but its directory 'experiment={value}' says '{value}'; write each experiment to its own partition"
        )
    return df.drop(columns=[KEY])


def restore(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """``df`` read from the file ``path``, with the experiment column of its
    partition put back as the first column (as the writers declare it)."""
    import pandas as pd

    value = partition_value(path)
    if value is None or KEY in df.columns:
        return df
    df.insert(0, KEY, pd.Series([value] * len(df), index=df.index, dtype=object).astype(str))
    return df

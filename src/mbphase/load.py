"""The results of a sweep as DataFrames, for notebooks and scripts.

    import mbphase
    runs = mbphase.load_runs()                    # every run of every experiment
    critical = mbphase.load_analysis("critical")  # m_c per (experiment, size)
    traj = mbphase.load_trajectories(experiments=["sd_tree"])

The workflow writes Hive-partitioned trees (:mod:`mbphase.names`): one tree
per kind of table and one directory ``experiment=<name>`` per experiment,
the name stored in the path only (:mod:`mbphase.pipeline.partition`). These
functions read one tree, put the experiment back as the first column (a
plain string) and concatenate the experiments in name order. The same trees
read with other tools, in one line each:

    pandas.read_parquet("results/tables/runs")      # experiment as a categorical
    pyarrow.dataset.dataset("results/tables/runs", partitioning="hive").to_table()
    duckdb.sql("SELECT * FROM 'results/tables/runs/*/*.parquet'")
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from .names import ANALYSIS_TABLE, RUNS_TABLE, TABLES, TRAJECTORIES_TABLE
from .pipeline.partition import restore


def _files(template: str, root, experiments: Iterable[str] | None, what: str) -> list[Path]:
    root = Path(root)
    pattern = template.format(experiment="*")
    found = {p.parent.name.partition("=")[2]: p for p in sorted(root.glob(pattern))}
    tree = root / pattern.split("/experiment=")[0]
    if not found:
        raise FileNotFoundError(f"{tree}: no {what} (no experiment=<name>/ directory holds one); run the workflow first (snakemake --cores 2) in {root.resolve()}")
    if experiments is None:
        return list(found.values())
    wanted = [experiments] if isinstance(experiments, str) else list(experiments)
    unknown = [name for name in wanted if name not in found]
    if unknown:
        raise ValueError(f"experiments={unknown}: no {what} under {tree} for them; it has {sorted(found)}")
    return [found[name] for name in sorted(set(wanted))]


def _read(files: list[Path]) -> pd.DataFrame:
    frames = [restore(pd.read_parquet(path), path) for path in files]
    filled = [f for f in frames if len(f)]
    # (concatenating empty frames would decide the dtypes from them)
    return pd.concat(filled, ignore_index=True) if filled else frames[0]


def load_runs(root=".", experiments: Iterable[str] | str | None = None) -> pd.DataFrame:
    """Every run (one row per seed and point) of the aggregated runs tables.

    Parameters
    ----------
    root : path-like
        The directory the workflow ran in (holding ``results/``).
    experiments : str or iterable of str, optional
        Only these experiments (default: every one on disk).

    Returns
    -------
    DataFrame with the columns of ``mbphase.pipeline.aggregate.AGGREGATED_COLUMNS``
    (documented in the README), ``experiment`` first.
    """
    return _read(_files(RUNS_TABLE, root, experiments, "runs table"))


def load_trajectories(root=".", experiments: Iterable[str] | str | None = None) -> pd.DataFrame:
    """Every trajectory sample (seed, point, time t) of the aggregated
    trajectory tables; arguments as :func:`load_runs`."""
    return _read(_files(TRAJECTORIES_TABLE, root, experiments, "trajectories table"))


def load_analysis(table: str, root=".", experiments: Iterable[str] | str | None = None) -> pd.DataFrame:
    """One analysis table (``mbphase.names.TABLES``: psucc, critical,
    power_law, collapse, ...) of every experiment; arguments as
    :func:`load_runs`."""
    if table not in TABLES:
        raise ValueError(f"table={table!r}: not an analysis table; one of {', '.join(TABLES)}")
    return _read(_files(ANALYSIS_TABLE.replace("{table}", table), root, experiments, f"'{table}' analysis table"))

"""All analysis tables of a run table, and their Parquet files.

:func:`analyse` is the one entry point a workflow rule needs: run table in,
named tables out. The figures (:mod:`mbphase.plots`) are drawn from these
tables only, so every figure can be regenerated from the stored Parquet.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mbphase import names
from mbphase.analysis.collapse import collapse_table
from mbphase.analysis.critical import critical_m, power_law
from mbphase.analysis.order import bimodality_table, overlap_curve, overlap_histograms, overlap_jump
from mbphase.analysis.success import psucc_table
from mbphase.analysis.temperature import effective_temperature
from mbphase.analysis.timing import solve_time_table, test_error_table

# The tables analyse() builds, in this order (declared in mbphase.names).
TABLES = names.TABLES


def analyse(
    runs: pd.DataFrame,
    n_boot: int = 200,
    seed: int = 0,
    collapse_forms=("power", "critical"),
) -> dict[str, pd.DataFrame]:
    """Every analysis table of a run table.

    Parameters
    ----------
    runs : DataFrame
        Rows of the run table (:mod:`mbphase.sim.schema`), one experiment or
        several; T_eff needs the Metropolis baseline runs in the same input.
    n_boot : int
        Bootstrap replicates (m_c, median t_solve, T_eff).
    seed : int
        Seed of all bootstraps; the tables are a deterministic function of
        (runs, n_boot, seed).
    collapse_forms : iterable of 'power' | 'critical'
        Scaling forms fitted by the collapse.

    Returns
    -------
    dict name -> DataFrame
        The tables named in :data:`TABLES`, in that order. Tables with
        nothing to report are empty but have their columns.
    """
    psucc = psucc_table(runs)
    critical = critical_m(runs, n_boot=n_boot, seed=seed)
    overlap = overlap_curve(runs)
    t_eff, metropolis = effective_temperature(runs, n_boot=n_boot, seed=seed)
    tables = {
        "psucc": psucc,
        "critical": critical,
        "power_law": power_law(critical),
        "collapse": collapse_table(psucc, forms=collapse_forms),
        "overlap": overlap,
        "overlap_jump": overlap_jump(overlap),
        "bimodality": bimodality_table(runs, critical),
        "overlap_hist": overlap_histograms(runs),
        "solve_time": solve_time_table(runs, n_boot=n_boot, seed=seed),
        "test_error": test_error_table(runs),
        "t_eff": t_eff,
        "metropolis_energy": metropolis,
    }
    return {name: tables[name] for name in TABLES}


def write_tables(tables: dict[str, pd.DataFrame], outdir) -> dict[str, Path]:
    """Write each table to ``outdir/<name>.parquet``, atomically.

    Parameters
    ----------
    tables : dict name -> DataFrame
        For instance the output of :func:`analyse`.
    outdir : path-like
        Created if missing.

    Returns
    -------
    dict name -> Path of the file written
    """
    from mbphase.pipeline.storage import write_frame

    outdir = Path(outdir)
    paths = {}
    for name, table in tables.items():
        path = outdir / f"{name}.parquet"
        write_frame(table.reset_index(drop=True), path)
        paths[name] = path
    return paths


def read_tables(indir, names=None) -> dict[str, pd.DataFrame]:
    """Read the tables written by :func:`write_tables`.

    Parameters
    ----------
    indir : path-like
    names : iterable of str, optional
        Which tables (default: every ``*.parquet`` in ``indir``).

    Returns
    -------
    dict name -> DataFrame
    """
    indir = Path(indir)
    if names is None:
        names = sorted(p.stem for p in indir.glob("*.parquet"))
    return {name: pd.read_parquet(indir / f"{name}.parquet") for name in names}

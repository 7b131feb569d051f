"""All analysis tables of a run table, and their Parquet files.

:func:`analyse` is the one entry point a workflow rule needs: run table in,
named tables out. The figures (:mod:`mbphase.plots`) are drawn from these
tables only, so every figure can be regenerated from the stored Parquet.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import numpy as np

from mbphase import names
from mbphase.analysis.budget import exponent_budget, local_exponent_budget, mc_budget, psucc_budget
from mbphase.analysis.collapse import collapse_table
from mbphase.analysis.hitting import hitting_fit, hitting_time_table
from mbphase.analysis.critical import critical_m, local_exponents, power_law, sharpening
from mbphase.analysis.order import order_gaps, order_verdict, overlap_curve, stationary_histograms, stationary_table
from mbphase.analysis.success import psucc_table
from mbphase.analysis.temperature import effective_temperature
from mbphase.analysis.timing import solve_time_table, test_error_table

# The tables analyse() builds, in this order (declared in mbphase.names).
# Every table also carries the budget of its runs (columns budget,
# budget_unit) and the rule that set it (budget_rule).
TABLES = names.TABLES

BUDGET_COLUMNS = ("budget", "budget_unit", "budget_rule")


def budgets(runs: pd.DataFrame) -> dict[str, tuple[float, str]]:
    """The budget of each experiment's runs: (value, unit).

    Discrete students: ``max_sweeps`` sweeps. Continuous students:
    ``samples_per_weight`` samples per weight when set, else ``max_steps``
    SGD steps. An experiment whose runs disagree, or a table without these
    columns, gets (NaN, 'unknown').
    """
    out = {}
    if runs.empty or "experiment" not in runs.columns:
        return out
    for experiment, group in runs.groupby("experiment", sort=True):
        weights = set(group["weights"].astype(str)) if "weights" in group.columns else set()
        value, unit = np.nan, "unknown"
        if weights == {"discrete"} and "max_sweeps" in group.columns:
            values = group["max_sweeps"].dropna().unique()
            value, unit = (float(values[0]), "sweeps") if len(values) == 1 else (np.nan, "unknown")
            if len(values) > 1 and "size" in group.columns and (group.groupby("size")["max_sweeps"].nunique() == 1).all():
                # a budget that scales with the size: one value per size
                # (size_budgets), the rule in budget_rule
                unit = "sweeps"
        elif weights == {"continuous"}:
            alpha = pd.to_numeric(group["samples_per_weight"], errors="coerce").dropna().unique() \
                if "samples_per_weight" in group.columns else []
            steps = group["max_steps"].dropna().unique() if "max_steps" in group.columns else []
            if len(alpha) == 1:
                value, unit = float(alpha[0]), "samples per weight"
            elif len(alpha) == 0 and len(steps) == 1:
                value, unit = float(steps[0]), "SGD steps"
        out[str(experiment)] = (value, unit)
    return out


def size_budgets(runs: pd.DataFrame) -> dict[tuple[str, int], float]:
    """The sweep budget of each (experiment, size) of discrete students
    whose runs agree on it: with a budget rule (``max_sweeps: {per_size,
    exponent}``) it differs between the sizes of one experiment."""
    need = {"experiment", "size", "max_sweeps", "weights"}
    if runs.empty or not need <= set(runs.columns):
        return {}
    discrete = runs[runs["weights"].astype(str) == "discrete"]
    counts = discrete.groupby(["experiment", "size"])["max_sweeps"].agg(["nunique", "first"])
    return {(str(e), int(s)): float(row["first"]) for (e, s), row in counts.iterrows() if row["nunique"] == 1}


def budget_rule_of(runs: pd.DataFrame) -> dict[str, str]:
    """The budget rule of each experiment as far as the runs tell it:
    'fixed' when all its runs share one budget, 'per size' when it differs
    between sizes (the analysis rule passes the config's rule, 'c * d^a',
    instead: :func:`analyse`'s ``budget_rule``)."""
    if runs.empty or "experiment" not in runs.columns or "max_sweeps" not in runs.columns:
        return {}
    return {str(e): ("fixed" if g["max_sweeps"].nunique() <= 1 else "per size") for e, g in runs.groupby("experiment")}


def add_budget(table: pd.DataFrame, budget: dict[str, tuple[float, str]], per_size: dict | None = None,
               rules: dict[str, str] | None = None) -> pd.DataFrame:
    """``table`` with the columns budget, budget_unit and budget_rule of its
    experiment (a baseline pooled from several experiments, named 'a+b',
    gets the first's). Where an experiment's budget differs between sizes,
    a table with a size column gets each size's budget (``per_size``,
    :func:`size_budgets`), one without gets NaN."""
    out = table.copy()
    names = out["experiment"].astype(str) if "experiment" in out.columns else pd.Series([], dtype=str)
    first = names.str.split("+").str[0]
    values = np.array([budget.get(n, (np.nan, "unknown"))[0] for n in first], dtype=float)
    if per_size and "size" in out.columns:
        sizes = pd.to_numeric(out["size"], errors="coerce").to_numpy(dtype=float)
        own = np.array([per_size.get((n, int(s)), np.nan) if np.isfinite(s) else np.nan for n, s in zip(first, sizes)], dtype=float)
        values = np.where(np.isfinite(values), values, own)
    out["budget"] = values
    out["budget_unit"] = pd.Series([budget.get(n, (np.nan, "unknown"))[1] for n in first], index=out.index, dtype=str)
    out["budget_rule"] = pd.Series([(rules or {}).get(n, "") for n in first], index=out.index, dtype=str)
    return out


def analyse(
    runs: pd.DataFrame,
    n_boot: int = 200,
    seed: int = 0,
    budget_rule: str | None = None,
) -> dict[str, pd.DataFrame]:
    """Every analysis table of a run table.

    Parameters
    ----------
    runs : DataFrame
        Rows of the run table (:mod:`mbphase.sim.schema`), one experiment or
        several; T_eff needs the Metropolis baseline runs in the same input.
    n_boot : int
        Bootstrap replicates (m_c and width, T_eff).
    seed : int
        Seed of all bootstraps; the tables are a deterministic function of
        (runs, n_boot, seed).
    budget_rule : str, optional
        The config's budget rule of the experiment(s) in ``runs`` ('fixed'
        or 'c * d^a', :attr:`mbphase.pipeline.config.Experiment.budget_rule`),
        recorded in every table's budget_rule column; by default what the
        runs tell (:func:`budget_rule_of`).

    Returns
    -------
    dict name -> DataFrame
        The tables named in :data:`TABLES`, in that order, each with the
        columns budget, budget_unit and budget_rule. Tables with nothing to report are
        empty but have their columns.
    """
    psucc = psucc_table(runs)
    critical = critical_m(runs, n_boot=n_boot, seed=seed)
    power = power_law(critical)
    stationary = stationary_table(runs, critical)
    gaps = order_gaps(stationary)
    t_eff, metropolis = effective_temperature(runs, n_boot=n_boot, seed=seed)
    tables = {
        "psucc": psucc,
        "critical": critical,
        "power_law": power,
        "local_exponent": local_exponents(critical),
        "sharpening": sharpening(critical),
        "collapse": collapse_table(psucc, power),
        "overlap": overlap_curve(runs),
        "stationary": stationary,
        "order_gap": gaps,
        "order": order_verdict(gaps),
        "stationary_hist": stationary_histograms(runs),
        "solve_time": solve_time_table(runs),
        "test_error": test_error_table(runs),
        "t_eff": t_eff,
        "metropolis_energy": metropolis,
        **budget_tables(runs, n_boot, seed),
    }
    tables["hitting_time"] = hitting_time_table(_grid_runs(runs), critical)
    tables["hitting_fit"] = hitting_fit(tables["hitting_time"])
    budget = budgets(runs)
    rules = budget_rule_of(runs)
    if budget_rule is not None:
        rules = {name: budget_rule for name in rules}
    per_size = size_budgets(runs)
    return {name: add_budget(tables[name], budget, per_size, rules) for name in TABLES}


def _grid_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """The discrete students' runs on an m grid: without the continuous
    students (their t_solve is in SGD steps of a test-error threshold) and
    without the Metropolis baseline of the T_eff analysis (m = train_size,
    one point per temperature)."""
    discrete = runs
    if "weights" in runs.columns:
        discrete = runs[runs["weights"].astype(str) == "discrete"]
    if "train_size" in discrete.columns and "data" in discrete.columns:
        same = (pd.to_numeric(discrete["m"]) == pd.to_numeric(discrete["train_size"], errors="coerce")).fillna(False)
        discrete = discrete[~((discrete["data"].astype(str) == "finite").to_numpy() & same.to_numpy(dtype=bool))]
    return discrete


def budget_tables(runs: pd.DataFrame, n_boot: int, seed: int) -> dict[str, pd.DataFrame]:
    """The budget-resolved tables (:mod:`mbphase.analysis.budget`) of the
    discrete students' runs that stopped at success (the others' t_solve is
    still the first success, but their P_succ at the budget is the
    full-budget table's); the bootstrap uses a quarter of the replicates
    (at least 50) because it runs once per budget."""
    discrete = _grid_runs(runs)
    mc = mc_budget(discrete, n_boot=max(min(n_boot, 50), n_boot // 4), seed=seed)
    return {"psucc_budget": psucc_budget(discrete), "mc_budget": mc, "b_budget": exponent_budget(mc),
            "local_exponent_budget": local_exponent_budget(mc)}


def write_tables(tables: dict[str, pd.DataFrame], outdir) -> dict[str, Path]:
    """Write each table to ``outdir/<name>.parquet``, atomically.

    Parameters
    ----------
    tables : dict name -> DataFrame
        For instance the output of :func:`analyse`.
    outdir : path-like
        Created if missing. Or a path template with the field ``{table}``
        (the workflow's ``mbphase.names.ANALYSIS_TABLE`` with the experiment
        filled in): each table goes to the template with its name.

    Returns
    -------
    dict name -> Path of the file written
    """
    from mbphase.pipeline.partition import strip_frame
    from mbphase.pipeline.storage import write_frame

    paths = {}
    for name, table in tables.items():
        path = Path(str(outdir).replace("{table}", name)) if "{table}" in str(outdir) else Path(outdir) / f"{name}.parquet"
        # in a Hive partition (experiment=<name>/) the path holds the experiment
        write_frame(strip_frame(table.reset_index(drop=True), path), path)
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
    return {name: read_table_file(indir / f"{name}.parquet") for name in names}


def read_table_file(path) -> pd.DataFrame:
    """One analysis table file, with the experiment column of its Hive
    partition (``experiment=<name>/``) put back."""
    from mbphase.pipeline.partition import restore

    return restore(pd.read_parquet(path), path)

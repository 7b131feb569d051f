"""Markdown summaries of the budget-resolved analysis, for the README.

    python -m mbphase.analysis.summary --experiments <experiment> [...] [--t 250 1000]

prints, for the given experiments of the workflow's results (``--root``,
default the current directory; or for the analysis directories given, as
``mbphase analyse --out-dir`` writes them): m_c per size at the full budget and at the budgets ``--t``
(with errors and the convergence verdict), b(t) with errors, and the
hitting-time verdicts. Every number comes from the stored tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def _read(dirs, name, root=".", experiments=None) -> pd.DataFrame:
    """One analysis table: from the directories ``dirs`` (one
    <name>.parquet each), or else from the workflow's results under
    ``root`` (:func:`mbphase.load_analysis`); empty when there is none."""
    if not dirs:
        from mbphase.load import load_analysis

        try:
            return load_analysis(name, root, experiments)
        except FileNotFoundError:  # (no experiment has this table)
            return pd.DataFrame()
    parts = [pd.read_parquet(Path(d) / f"{name}.parquet") for d in dirs if (Path(d) / f"{name}.parquet").exists()]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _value(v, e, digits=3) -> str:
    if not np.isfinite(v):
        return "n/a"
    if not np.isfinite(e):
        return f"{v:.{digits}g}"
    return f"{v:.{digits}g} ± {e:.2g}"


def mc_table(critical: pd.DataFrame, mc_budget: pd.DataFrame, power: pd.DataFrame, b_budget: pd.DataFrame,
             times) -> str:
    """One line per experiment: budget rule, m_c per size (full budget and
    each t), b with errors."""
    lines = ["| experiment | budget | size | " + " | ".join(["m_c at the budget", *(f"m_c at t = {t}" for t in times)])
             + " | converged at the budget |", "|---" * (5 + len(times)) + "|"]
    for experiment, group in critical.groupby("experiment", sort=False):
        for _, row in group.sort_values("size").iterrows():
            mb = mc_budget[(mc_budget["experiment"] == experiment) & (mc_budget["size"] == row["size"])] \
                if len(mc_budget) else pd.DataFrame()
            at = []
            for t in times:
                r = mb[mb["t"] == t] if len(mb) else mb
                at.append(_value(float(r["m_c"].iloc[0]), float(r["m_c_err"].iloc[0])) if len(r) else "beyond budget")
            own = mb[mb["t"] == mb["budget_size"]] if len(mb) else mb
            conv = (own["converged"].iloc[0] or own["convergence_reason"].iloc[0]) if len(own) else "n/a"
            budget = f"{row['budget']:g} ({row['budget_rule']})" if "budget_rule" in row else f"{row['budget']:g}"
            lines.append(f"| {experiment} | {budget} | {row['size_key']} = {row['size']} | "
                         + " | ".join([_value(row["m_c"], row["m_c_err"]), *at]) + f" | {conv} |")
        p = power[power["experiment"] == experiment]
        bits = [f"b at the budget = {_value(p['b'].iloc[0], p['b_err'].iloc[0])} (chi2/dof {p['chi2_per_dof'].iloc[0]:.2g}, "
                f"{int(p['n_points'].iloc[0])} sizes)"] if len(p) else []
        for t in times:
            r = b_budget[(b_budget["experiment"] == experiment) & (b_budget["t"] == t)] if len(b_budget) else b_budget
            if len(r):
                bits.append(f"b(t = {t}) = {_value(r['b'].iloc[0], r['b_err'].iloc[0])} ({int(r['n_points'].iloc[0])} sizes)")
        lines.append(f"| {experiment} | | b | " + "; ".join(bits) + " |" + " |" * (len(times) + 1))
    return "\n".join(lines)


def b_of_t(b_budget: pd.DataFrame) -> str:
    lines = ["| experiment | t | b(t) | chi2/dof | sizes |", "|---|---|---|---|---|"]
    for _, r in b_budget.iterrows():
        if np.isfinite(r["b"]):
            lines.append(f"| {r['experiment']} | {int(r['t'])} | {_value(r['b'], r['b_err'])} | {r['chi2_per_dof']:.2g} | "
                         f"{int(r['size_min'])}-{int(r['size_max'])} ({int(r['n_points'])}) |")
    return "\n".join(lines)


def local(local_budget: pd.DataFrame, times) -> str:
    lines = ["| experiment | t | sizes | local exponent |", "|---|---|---|---|"]
    for _, r in local_budget[local_budget["t"].isin(times)].iterrows():
        if np.isfinite(r["b_local"]):
            lines.append(f"| {r['experiment']} | {int(r['t'])} | {int(r['size_low'])}-{int(r['size_high'])} | "
                         f"{_value(r['b_local'], r['b_local_err'])} |")
    return "\n".join(lines)


def hitting(fits: pd.DataFrame) -> str:
    lines = ["| experiment | m/m_c | quantile | sizes | barrier slope (chi2/dof) | power exponent (chi2/dof) | verdict |",
             "|---|---|---|---|---|---|---|"]
    for _, r in fits.iterrows():
        lines.append(f"| {r['experiment']} | {r['m_over_mc']:g} | {int(r['quantile'])}% | {r['sizes']} | "
                     f"{_value(r['barrier_slope'], r['barrier_slope_err'])} ({r['barrier_chi2_per_dof']:.2g}) | "
                     f"{_value(r['power_exponent'], r['power_exponent_err'])} ({r['power_chi2_per_dof']:.2g}) | "
                     f"{r['verdict'] or r['reason']} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", help="analysis directories, one <table>.parquet each (default: the workflow's results under --root)")
    parser.add_argument("--root", default=".", help="the directory the workflow ran in (holding results/)")
    parser.add_argument("--experiments", nargs="*", default=None, help="only these experiments of --root (default: every one)")
    parser.add_argument("--t", type=int, nargs="*", default=[], help="budgets t at which to show m_c and b")
    parser.add_argument("--local-t", type=int, nargs="*", default=None, help="budgets of the local-exponent table")
    args = parser.parse_args(argv)
    if args.experiments is not None and args.dirs:
        parser.error("--experiments chooses experiments of --root; analysis directories are given instead")

    def read(name):
        return _read(args.dirs, name, args.root, args.experiments)

    try:
        critical = read("critical")
    except ValueError as exc:  # an experiment that --root does not hold
        parser.error(str(exc))
    mc_budget = read("mc_budget")
    b_budget = read("b_budget")
    print(mc_table(critical, mc_budget, read("power_law"), b_budget, args.t), end="\n\n")
    print(b_of_t(b_budget), end="\n\n")
    print(local(read("local_exponent_budget"), args.local_t or args.t), end="\n\n")
    fits = read("hitting_fit")
    if len(fits):
        print(hitting(fits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

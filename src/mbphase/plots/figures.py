"""The figures of the study, drawn from the analysis tables only.

Every function takes analysis tables (:func:`mbphase.analysis.analyse`, or
the Parquet files it wrote) and an output path stem, writes ``stem.png`` and
``stem.pdf`` and returns their paths. Nothing here looks at raw simulation
output, so every figure can be regenerated from the stored tables. A figure
whose tables hold nothing to show is still written, with a "no data" panel
that says why, so a workflow never fails on a missing figure.

Figures are built on :class:`matplotlib.figure.Figure` objects rather than
through pyplot: no global figure state and no GUI backend (rendering goes
through Agg), whatever backend the caller's process uses.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import ticker
from matplotlib.figure import Figure

from mbphase import names
from mbphase.analysis.collapse import FORMS, add_scaled_x
from mbphase.analysis.grouping import panel_keys

FORMATS = names.FIGURE_FORMATS
DPI = 150

M_LABEL = "mini-batch size m (patterns)"
PSUCC_LABEL = "success probability $P_\\mathrm{succ}$"
SIZE_AXIS_LABELS = {"d": "connectivity d (inputs per hidden unit)", "N": "number of inputs N"}

# The figures plot_all() draws (declared in mbphase.names).
FIGURES = names.FIGURES


# ----------------------------------------------------------------- helpers


def save_figure(fig: Figure, path_stem, formats=FORMATS) -> list[Path]:
    """Write ``fig`` to ``path_stem.<format>`` for each format; returns the
    paths. The stem's directory is created if missing; each file is written
    atomically."""
    from mbphase.pipeline.storage import atomic_write

    stem = Path(path_stem)
    paths = []
    for fmt in formats:
        # Append rather than with_suffix: a stem may itself contain dots.
        path = Path(f"{stem}.{fmt}")
        atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=DPI))
        paths.append(path)
        # The first save has laid the figure out; keep those positions for
        # the other formats instead of solving the layout again (it is most
        # of the cost of a figure with many panels).
        fig.set_layout_engine("none")
    return paths


def _new_figure(n_panels: int, ncols: int = 3, panel_size=(4.2, 3.3), sharey: bool = False):
    """A figure with a grid of ``n_panels`` axes (surplus axes hidden)."""
    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    with sns.axes_style("ticks"):
        fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _no_data(path_stem, title: str, reason: str) -> list[Path]:
    """Write a single panel that says there is nothing to plot, and why."""
    fig, (ax,) = _new_figure(1, panel_size=(5.0, 3.0))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, f"no data\n{reason}", ha="center", va="center", fontsize=11, transform=ax.transAxes,
            wrap=True)
    return save_figure(fig, path_stem)


def _has(table: pd.DataFrame | None, columns) -> bool:
    """Whether ``table`` has rows and every column in ``columns``."""
    return table is not None and not table.empty and all(c in table.columns for c in columns)


def _panels(table: pd.DataFrame, per_fit: bool = False) -> list[tuple[str, pd.DataFrame]]:
    """Split a table into figure panels, one per experiment, with a title.

    With ``per_fit`` a panel is one scaling fit instead: an experiment and
    one value of each parameter it scans besides m (see
    :func:`mbphase.analysis.grouping.panel_keys`), named in the title.
    """
    keys = panel_keys(table) if per_fit else ["experiment"]
    panels = []
    for values, group in table.groupby(keys, dropna=False, sort=True):
        ident = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        title = str(ident.get("experiment", ""))
        varying = [k for k in keys if k not in ("experiment", "size_key")
                   and table.loc[table["experiment"] == ident.get("experiment"), k].nunique(dropna=False) > 1]
        if varying:
            title += ", " + ", ".join(f"{k} = {_fmt(ident[k])}" for k in varying)
        panels.append((title, group))
    return panels


def _curves(group: pd.DataFrame):
    """(colour, label, rows sorted by m) for each curve of a panel: one
    curve per size and per value of any scanned parameter that varies in
    the panel (temperature, say), coloured from small (light) to large
    (dark)."""
    scanned = [k for k in panel_keys(group) if k not in ("experiment", "size_key")
               and group[k].nunique(dropna=False) > 1]
    keys = ["size", *scanned]
    items = list(group.groupby(keys, dropna=False, sort=True))
    colours = sns.color_palette("viridis_r" if len(items) > 1 else "deep", max(len(items), 1))
    for colour, (values, rows) in zip(colours, items):
        ident = dict(zip(keys, values if isinstance(values, tuple) else (values,)))
        size_key = rows["size_key"].iloc[0] if "size_key" in rows.columns else "size"
        label = ", ".join([_size_label(size_key, ident["size"]), *(f"{k} = {_fmt(ident[k])}" for k in scanned)])
        yield colour, label, rows.sort_values("m")


def _fmt(value) -> str:
    """A compact number for labels (integers without decimals)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(v):
        return "n/a"
    return str(int(v)) if v == int(v) else f"{v:.3g}"


def _size_label(size_key, size) -> str:
    return f"{size_key} = {_fmt(size)}"


def _log_axis(axis) -> None:
    """Log scale with plain labels at 1, 2, 5 x 10^k and unlabelled minor
    ticks: the default labels every minor tick when the range is under a
    decade, and they overlap."""
    axis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_locator(ticker.LogLocator(base=10, subs=np.arange(1, 10)))
    axis.set_minor_formatter(ticker.NullFormatter())


def _set_log(ax, which: str = "x") -> None:
    """Log scale on the x and/or y axis of ``ax`` with :func:`_log_axis` ticks."""
    for name in which:
        getattr(ax, f"set_{name}scale")("log")
        _log_axis(getattr(ax, f"{name}axis"))


def _errorbars(values, low, high) -> np.ndarray:
    """Asymmetric error bars from interval bounds (NaN bounds draw none)."""
    lower = np.nan_to_num(np.asarray(values, float) - np.asarray(low, float), nan=0.0)
    upper = np.nan_to_num(np.asarray(high, float) - np.asarray(values, float), nan=0.0)
    return np.vstack([np.clip(lower, 0, None), np.clip(upper, 0, None)])


# ----------------------------------------------------------------- figures


def plot_psucc(psucc: pd.DataFrame, path_stem) -> list[Path]:
    """Figure 1: P_succ against m (log axis), one curve per size with Wilson
    95% error bars, one panel per experiment.

    Parameters
    ----------
    psucc : DataFrame
        The ``psucc`` table (experiment, size_key, size, m, p_succ, ci_low,
        ci_high).
    path_stem : path-like
        Output path without extension.
    """
    title = "Success probability against mini-batch size"
    if not _has(psucc, ["experiment", "size", "m", "p_succ", "ci_low", "ci_high"]):
        return _no_data(path_stem, title, "the psucc table is empty")
    panels = _panels(psucc[psucc["n_runs"] > 0] if "n_runs" in psucc.columns else psucc)
    fig, axes = _new_figure(len(panels))
    for ax, (panel_title, group) in zip(axes, panels):
        for colour, label, rows in _curves(group):
            ax.errorbar(rows["m"], rows["p_succ"], yerr=_errorbars(rows["p_succ"], rows["ci_low"], rows["ci_high"]),
                        marker="o", ms=3.5, lw=1.2, capsize=2, color=colour, label=label)
        _set_log(ax, "x")
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel(M_LABEL)
        ax.set_ylabel(PSUCC_LABEL)
        ax.set_title(panel_title)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title)
    return save_figure(fig, path_stem)


def plot_collapse(psucc: pd.DataFrame, collapse: pd.DataFrame, path_stem, form: str = "power") -> list[Path]:
    """Figure 2: P_succ against the scaled variable of the fitted collapse.

    Parameters
    ----------
    psucc : DataFrame
        The ``psucc`` table.
    collapse : DataFrame
        The ``collapse`` table (form, parameter, value, error, S per
        experiment).
    path_stem : path-like
    form : 'power' | 'critical'
        Which fitted scaling form to show: x = m / size^b or
        x = (m - m_c) size^(1/nu).

    Only experiments with a finite fit are drawn; each panel states the
    fitted parameters with their errors and the quality S.
    """
    title = "Finite-size-scaling collapse of the success probability"
    needed = ["experiment", "size", "m", "p_succ", "ci_low", "ci_high"]
    if not _has(psucc, needed) or not _has(collapse, ["form", "parameter", "value"]):
        return _no_data(path_stem, title, "no P_succ data or no collapse fit")
    scaled = add_scaled_x(psucc, collapse, form)
    scaled = scaled[np.isfinite(scaled["x_scaled"].to_numpy(dtype=float))]
    if scaled.empty:
        return _no_data(path_stem, title, f"no experiment has a '{form}' collapse (fewer than two sizes?)")
    fits = collapse[collapse["form"] == form]
    panels = _panels(scaled, per_fit=True)
    fit_keys = [k for k in panel_keys(scaled) if k in fits.columns]
    fig, axes = _new_figure(len(panels))
    for ax, (panel_title, group) in zip(axes, panels):
        size_key = str(group["size_key"].iloc[0])
        for colour, label, rows in _curves(group):
            ax.errorbar(rows["x_scaled"], rows["p_succ"],
                        yerr=_errorbars(rows["p_succ"], rows["ci_low"], rows["ci_high"]),
                        marker="o", ms=3.5, lw=1.0, capsize=2, color=colour, label=label)
        fit = fits
        for k in fit_keys:
            value = group[k].iloc[0]
            fit = fit[(fit[k] == value) | (pd.isna(fit[k]) & pd.isna(value))]
        lines = []
        for name in FORMS[form]:
            row = fit[fit["parameter"] == name]
            if len(row):
                symbol = {"b": "b", "nu": "\\nu", "m_c": "m_c"}[name]
                lines.append(f"${symbol}$ = {row['value'].iloc[0]:.3g} ± {row['error'].iloc[0]:.2g}")
        if len(fit):
            lines.append(f"S = {fit['S'].iloc[0]:.2f}")
            if "at_bound" in fit.columns and bool(fit["at_bound"].iloc[0]):
                lines.append("(minimum on the search boundary)")
        ax.text(0.03, 0.97, "\n".join(lines), transform=ax.transAxes, va="top", fontsize=8)
        if form == "power":
            _set_log(ax, "x")
            ax.set_xlabel(f"scaled mini-batch size $m / {size_key}^{{b}}$")
        else:
            ax.set_xlabel(f"scaled distance $(m - m_c)\\, {size_key}^{{1/\\nu}}$")
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(PSUCC_LABEL)
        ax.set_title(panel_title)
        ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.suptitle(title)
    return save_figure(fig, path_stem)


def plot_critical_scaling(critical: pd.DataFrame, power_law: pd.DataFrame, path_stem) -> list[Path]:
    """Figure 3: m_c against size (log-log) with the fitted power law
    m_c = A size^b; b ± its error in the legend. One panel per size
    parameter (d or N), one colour per experiment.

    Parameters
    ----------
    critical : DataFrame
        The ``critical`` table (experiment, size_key, size, m_c, m_c_err).
    power_law : DataFrame
        The ``power_law`` table (experiment, A, b, b_err).
    path_stem : path-like
    """
    title = "Critical mini-batch size against size"
    if not _has(critical, ["experiment", "size_key", "size", "m_c", "m_c_err"]):
        return _no_data(path_stem, title, "the critical table is empty")
    finite = critical[np.isfinite(critical["m_c"].to_numpy(dtype=float))]
    if finite.empty:
        return _no_data(path_stem, title, "no experiment brackets P_succ = 1/2 on its grid")
    size_keys = sorted(finite["size_key"].astype(str).unique())
    fig, axes = _new_figure(len(size_keys), ncols=2, panel_size=(5.0, 4.0))
    experiments = sorted(finite["experiment"].astype(str).unique())
    colours = dict(zip(experiments, sns.color_palette("deep", len(experiments))))
    for ax, size_key in zip(axes, size_keys):
        sub = finite[finite["size_key"].astype(str) == size_key]
        for experiment, rows in sub.groupby("experiment", sort=True):
            rows = rows.sort_values("size")
            label = str(experiment)
            fit = power_law[power_law["experiment"] == experiment] if _has(power_law, ["experiment", "b"]) else None
            if fit is not None and len(fit) == 1 and np.isfinite(fit["b"].iloc[0]):
                a, b, b_err = (float(fit[c].iloc[0]) for c in ("A", "b", "b_err"))
                label += f": $b$ = {b:.2f} ± {b_err:.2f}" if np.isfinite(b_err) else f": $b$ = {b:.2f}"
                grid = np.geomspace(rows["size"].min() / 1.1, rows["size"].max() * 1.1, 50)
                ax.plot(grid, a * grid**b, color=colours[str(experiment)], lw=1.0, ls="--")
            ax.errorbar(rows["size"], rows["m_c"], yerr=np.nan_to_num(rows["m_c_err"].to_numpy(dtype=float)),
                        marker="o", ms=4, ls="none", capsize=2, color=colours[str(experiment)], label=label)
        _set_log(ax, "xy")
        # Label the measured sizes themselves: there are few of them and
        # they rarely fall on 1-2-5 ticks.
        ax.set_xticks(np.sort(sub["size"].unique().astype(float)))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(SIZE_AXIS_LABELS.get(size_key, f"size {size_key}"))
        ax.set_ylabel("critical mini-batch size $m_c$ (patterns)")
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title + " (dashed: fitted $m_c = A\\,\\mathrm{size}^b$)")
    return save_figure(fig, path_stem)


def plot_test_error(test_error: pd.DataFrame, path_stem) -> list[Path]:
    """Figure 4: mean test error against m, one curve per size with its
    standard error over seeds, one panel per experiment.

    Parameters
    ----------
    test_error : DataFrame
        The ``test_error`` table (experiment, size_key, size, m,
        gen_error_mean, gen_error_sem).
    path_stem : path-like
    """
    title = "Test error against mini-batch size"
    if not _has(test_error, ["experiment", "size", "m", "gen_error_mean", "gen_error_sem"]):
        return _no_data(path_stem, title, "the test_error table is empty")
    panels = _panels(test_error)
    fig, axes = _new_figure(len(panels))
    for ax, (panel_title, group) in zip(axes, panels):
        for colour, label, rows in _curves(group):
            ax.errorbar(rows["m"], rows["gen_error_mean"], yerr=np.nan_to_num(rows["gen_error_sem"].to_numpy(float)),
                        marker="o", ms=3.5, lw=1.2, capsize=2, color=colour, label=label)
        _set_log(ax, "x")
        ax.set_ylim(bottom=0)
        ax.set_xlabel(M_LABEL)
        ax.set_ylabel("test error (fraction misclassified)")
        ax.set_title(panel_title)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title)
    return save_figure(fig, path_stem)


def plot_solve_time(solve_time: pd.DataFrame, path_stem, critical: pd.DataFrame | None = None) -> list[Path]:
    """Figure 5: median time to solution of the solved runs against m
    (log-log), with bootstrap 95% intervals; one panel per experiment.

    Parameters
    ----------
    solve_time : DataFrame
        The ``solve_time`` table (experiment, size_key, size, m, t_median,
        t_ci_low, t_ci_high, time_unit).
    path_stem : path-like
    critical : DataFrame, optional
        The ``critical`` table; if given, m_c of each size is marked by a
        dotted vertical line of the size's colour.
    """
    title = "Time to solution against mini-batch size (solved runs only)"
    if not _has(solve_time, ["experiment", "size", "m", "t_median", "t_ci_low", "t_ci_high"]):
        return _no_data(path_stem, title, "the solve_time table is empty")
    shown = solve_time[np.isfinite(solve_time["t_median"].to_numpy(dtype=float))]
    if shown.empty:
        return _no_data(path_stem, title, "no run reached success")
    panels = _panels(shown)
    fig, axes = _new_figure(len(panels))
    for ax, (panel_title, group) in zip(axes, panels):
        for colour, label, rows in _curves(group):
            ax.errorbar(rows["m"], rows["t_median"], yerr=_errorbars(rows["t_median"], rows["t_ci_low"],
                                                                      rows["t_ci_high"]),
                        marker="o", ms=3.5, lw=1.2, capsize=2, color=colour, label=label)
            if _has(critical, ["experiment", "size", "m_c"]):
                mc = critical[(critical["experiment"] == rows["experiment"].iloc[0])
                              & (critical["size"] == rows["size"].iloc[0])]
                for value in np.unique(mc["m_c"].to_numpy(dtype=float)):
                    if np.isfinite(value):
                        ax.axvline(value, color=colour, ls=":", lw=1.0)
        units = group["time_unit"].astype(str).unique() if "time_unit" in group.columns else ["sweeps or steps"]
        _set_log(ax, "xy")
        ax.set_xlabel(M_LABEL)
        ax.set_ylabel(f"median time to solution ({' / '.join(units)})")
        ax.set_title(panel_title)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title + (" (dotted: $m_c$)" if _has(critical, ["m_c"]) else ""))
    return save_figure(fig, path_stem)


def plot_overlap_histograms(overlap_hist: pd.DataFrame, critical: pd.DataFrame | None, path_stem,
                            n_values: int = 7) -> list[Path]:
    """Figure 6: histograms of the final overlap q across the transition.

    One panel per (experiment, size); inside it the histograms of
    ``n_values`` consecutive grid values of m, centred on the one nearest
    m_c (in log m; the middle of the grid when m_c is unknown), are stacked
    upwards with increasing m (a ridge plot; each histogram is the fraction
    of runs per bin, scaled to the band height). A bimodal histogram near
    m_c points to a first-order transition, a single peak that moves with m
    to a second-order one.

    Parameters
    ----------
    overlap_hist : DataFrame
        The ``overlap_hist`` table (experiment, size_key, size, m, bin_left,
        bin_right, count).
    critical : DataFrame or None
        The ``critical`` table, to centre the m values on m_c.
    path_stem : path-like
    n_values : int
        Number of m values per panel.
    """
    title = "Final overlap across the transition"
    if not _has(overlap_hist, ["experiment", "size", "m", "bin_left", "bin_right", "count"]):
        return _no_data(path_stem, title, "the overlap_hist table is empty")
    specs = []
    keys = [*panel_keys(overlap_hist), "size"]
    for values, group in overlap_hist.groupby(keys, dropna=False, sort=True):
        ident = dict(zip(keys, values))
        m_values = np.sort(group["m"].unique())
        m_c = np.nan
        if _has(critical, ["experiment", "size", "m_c"]):
            match = critical
            for k, v in ident.items():
                if k in critical.columns and k != "size_key":
                    match = match[(match[k] == v) | (pd.isna(match[k]) & pd.isna(v))]
            finite = match["m_c"].to_numpy(dtype=float)
            finite = finite[np.isfinite(finite)]
            m_c = float(finite[0]) if len(finite) else np.nan
        centre = int(np.argmin(np.abs(np.log(m_values) - np.log(m_c)))) if np.isfinite(m_c) else len(m_values) // 2
        start = int(np.clip(centre - n_values // 2, 0, max(len(m_values) - n_values, 0)))
        specs.append((ident, group, m_values[start:start + n_values], m_values[centre], m_c))
    n_sizes = max(sum(1 for sp in specs if sp[0]["experiment"] == e) for e in {sp[0]["experiment"] for sp in specs})
    fig, axes = _new_figure(len(specs), ncols=min(n_sizes, 4), panel_size=(3.6, 0.45 * n_values + 1.2))
    band = 0.9  # height of the tallest possible histogram (all runs in one bin)
    for ax, (ident, group, m_shown, m_near, m_c) in zip(axes, specs):
        colour = sns.color_palette("deep")[0]
        for level, m in enumerate(m_shown):
            cell = group[group["m"] == m].sort_values("bin_left")
            total = cell["count"].sum()
            heights = (cell["count"] / total).to_numpy(float) if total > 0 else np.zeros(len(cell))
            edges = np.append(cell["bin_left"].to_numpy(float), cell["bin_right"].to_numpy(float)[-1:])
            near = m == m_near and np.isfinite(m_c)
            # One filled step artist per histogram (not one bar per bin):
            # quick to lay out and small in PDF.
            ax.stairs(level + band * heights, edges, baseline=level, fill=True,
                      color=sns.color_palette("deep")[3] if near else colour, alpha=0.85)
        ax.set_yticks(np.arange(len(m_shown)))
        ax.set_yticklabels([f"m = {_fmt(m)}" + (" ($\\approx m_c$)" if m == m_near and np.isfinite(m_c) else "")
                            for m in m_shown], fontsize=8)
        ax.set_ylim(-0.1, len(m_shown))
        occupied = group[(group["count"] > 0) & group["m"].isin(m_shown)]
        if len(occupied):
            # Zoom on the occupied part of [-1, 1]: failed and solved runs
            # usually sit in a narrow range of q.
            ax.set_xlim(max(occupied["bin_left"].min() - 0.05, -1.02), min(occupied["bin_right"].max() + 0.05, 1.02))
        ax.set_xlabel("final overlap q")
        size_key = group["size_key"].iloc[0] if "size_key" in group.columns else "size"
        extra = [f"{k} = {_fmt(v)}" for k, v in ident.items()
                 if k not in ("experiment", "size_key", "size")
                 and overlap_hist.loc[overlap_hist["experiment"] == ident["experiment"], k].nunique(dropna=False) > 1]
        ax.set_title(", ".join([str(ident["experiment"]), _size_label(size_key, ident["size"]), *extra]), fontsize=9)
    fig.suptitle(title + " (band height: fraction of runs; red: m nearest $m_c$)")
    return save_figure(fig, path_stem)


def plot_temperature(t_eff: pd.DataFrame, path_stem, metropolis: pd.DataFrame | None = None) -> list[Path]:
    """Figure 7: effective temperature T_eff against m.

    Left column: T_eff(m) with bootstrap errors, one panel per greedy
    experiment, one curve per (size, training-set size); points outside the
    baseline's temperature grid have no value and are listed in the panel.
    Right column (when ``metropolis`` is given): the Metropolis baseline
    E(T) with the greedy stationary energies as horizontal lines, which
    shows why a point is out of range.

    Parameters
    ----------
    t_eff : DataFrame
        The ``t_eff`` table (experiment, size_key, size, train_size, m,
        energy_late, T_eff, T_eff_err, in_range, range_side).
    path_stem : path-like
    metropolis : DataFrame, optional
        The ``metropolis_energy`` table.
    """
    title = "Effective temperature of greedy mini-batch dynamics"
    if not _has(t_eff, ["experiment", "size", "m", "T_eff", "T_eff_err", "range_side"]):
        return _no_data(path_stem, title, "no finite-data greedy runs with a Metropolis baseline")
    experiments = sorted(t_eff["experiment"].astype(str).unique())
    show_baseline = _has(metropolis, ["size", "train_size", "temperature", "energy_late"])
    ncols = 2 if show_baseline else 1
    with sns.axes_style("ticks"):
        fig = Figure(figsize=(5.0 * ncols, 3.8 * len(experiments)), layout="constrained")
        axes = fig.subplots(len(experiments), ncols, squeeze=False)
    for r, experiment in enumerate(experiments):
        group = t_eff[t_eff["experiment"].astype(str) == experiment]
        ax = axes[r, 0]
        curves = list(group.groupby(["size", "train_size"], dropna=False, sort=True))
        colours = sns.color_palette("deep", max(len(curves), 1))
        notes = []
        for colour, ((size, train_size), rows) in zip(colours, curves):
            rows = rows.sort_values("m")
            size_key = rows["size_key"].iloc[0] if "size_key" in rows.columns else "size"
            label = f"{_size_label(size_key, size)}, P = {_fmt(train_size)}"
            inside = rows[rows["range_side"] == "inside"]
            ax.errorbar(inside["m"], inside["T_eff"], yerr=np.nan_to_num(inside["T_eff_err"].to_numpy(float)),
                        marker="o", ms=4, lw=1.2, capsize=2, color=colour, label=label)
            for side, rows_side in rows[rows["range_side"] != "inside"].groupby("range_side"):
                where = {"above": "T_eff above the T grid", "below": "T_eff below the T grid"}.get(side, side)
                notes.append(f"{label}, m = {', '.join(_fmt(v) for v in rows_side['m'])}: {where}")
            if show_baseline:
                base = metropolis[(metropolis["size"] == size) & (metropolis["train_size"] == train_size)]
                base = base.sort_values("temperature")
                axb = axes[r, 1]
                axb.errorbar(base["temperature"], base["energy_late"],
                             yerr=np.nan_to_num(base["energy_late_sem"].to_numpy(float)), marker="s", ms=3,
                             lw=1.0, capsize=2, color=colour, label=f"Metropolis, {label}")
                for energy in rows["energy_late"].to_numpy(dtype=float):
                    if np.isfinite(energy):
                        axb.axhline(energy, color=colour, lw=0.6, ls="--", alpha=0.6)
        if notes:
            ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=7,
                    va="bottom")
        inside_any = bool(np.isfinite(group["T_eff"].to_numpy(dtype=float)).any())
        if inside_any:
            _set_log(ax, "x")
        else:
            ax.text(0.5, 0.5, "no m inside the temperature grid", transform=ax.transAxes, ha="center")
        ax.set_xlabel(M_LABEL)
        ax.set_ylabel("effective temperature $T_\\mathrm{eff}$\n(energy unit: one misclassified pattern)")
        ax.set_title(experiment)
        if inside_any:
            ax.legend(fontsize=8, frameon=False)
        if show_baseline:
            axb = axes[r, 1]
            axb.set_xlabel("Metropolis temperature T")
            axb.set_ylabel("stationary training error per pattern")
            axb.set_title("baseline (dashed: greedy energies)")
            if axb.has_data():
                axb.legend(fontsize=8, frameon=False)
    fig.suptitle(title)
    return save_figure(fig, path_stem)


def plot_all(tables: dict[str, pd.DataFrame], outdir, collapse_form: str = "power") -> dict[str, list[Path]]:
    """Draw every figure of :data:`FIGURES` from the analysis tables.

    Parameters
    ----------
    tables : dict name -> DataFrame
        Output of :func:`mbphase.analysis.analyse` (or
        :func:`mbphase.analysis.read_tables`); missing tables count as
        empty.
    outdir : path-like
        Directory of the figures, files ``<figure name>.png`` and ``.pdf``.
    collapse_form : 'power' | 'critical'
        The scaling form shown in figure 2.

    Returns
    -------
    dict figure name -> list of paths written
    """
    outdir = Path(outdir)
    empty = pd.DataFrame()

    def get(name):
        return tables.get(name, empty)

    return {
        "fig1_psucc": plot_psucc(get("psucc"), outdir / "fig1_psucc"),
        "fig2_collapse": plot_collapse(get("psucc"), get("collapse"), outdir / "fig2_collapse", form=collapse_form),
        "fig3_mc_scaling": plot_critical_scaling(get("critical"), get("power_law"), outdir / "fig3_mc_scaling"),
        "fig4_test_error": plot_test_error(get("test_error"), outdir / "fig4_test_error"),
        "fig5_solve_time": plot_solve_time(get("solve_time"), outdir / "fig5_solve_time", critical=get("critical")),
        "fig6_overlap_hist": plot_overlap_histograms(get("overlap_hist"), get("critical"), outdir / "fig6_overlap_hist"),
        "fig7_t_eff": plot_temperature(get("t_eff"), outdir / "fig7_t_eff", metropolis=get("metropolis_energy")),
    }

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
from matplotlib.lines import Line2D

from mbphase import names
from mbphase.analysis.collapse import add_scaled_x
from mbphase.analysis.grouping import panel_keys
from mbphase.plots.style import default_experiments, figure_size, font, is_paper, select, title_of, use_look

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
        atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=DPI if not is_paper() else 300))
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
        fig = Figure(figsize=figure_size(ncols, nrows, panel_size), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, sharey=sharey).ravel()
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes[:n_panels])


def _no_data(path_stem, title: str, reason: str) -> list[Path]:
    """Write a single panel that says there is nothing to plot, and why."""
    fig, (ax,) = _new_figure(1, panel_size=(5.0, 3.0))
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, f"no data\n{reason}", ha="center", va="center", fontsize=font(11), transform=ax.transAxes,
            wrap=True)
    return save_figure(fig, path_stem)


def _footnote(fig: Figure, heading: str, lines: list[str]) -> None:
    """List what a figure leaves out (and why) under its panels, one line
    each (repeated lines once), in space added below the panels."""
    lines = list(dict.fromkeys(lines))
    if not lines:
        return
    text = heading + "\n" + "\n".join(f"  {line}" for line in lines)
    height = fig.get_figheight()
    extra = (0.17 if not is_paper() else 0.13) * (len(lines) + 1) + 0.1
    fig.set_figheight(height + extra)
    fig.text(0.01, 0.01, text, fontsize=font(7.5), va="bottom", ha="left")
    fig.get_layout_engine().set(rect=(0, extra / (height + extra), 1, height / (height + extra)))


def _without_baseline(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of a per-point table other than the Metropolis baseline
    (temperature > 0, and teacher starts): one point per temperature and
    start, shown in figure 7, and a legend too long for a panel elsewhere."""
    keep = np.ones(len(table), dtype=bool)
    if "temperature" in table.columns:
        keep &= ~(pd.to_numeric(table["temperature"], errors="coerce").fillna(0.0).to_numpy() > 0)
    if "init" in table.columns:
        keep &= (table["init"].astype("string").fillna("random") != "teacher").to_numpy(dtype=bool)
    return table[keep]


def _chunks(names: list[str], per_line: int = 3) -> list[str]:
    """Names joined a few per line, for :func:`_footnote`."""
    return [", ".join(names[i:i + per_line]) for i in range(0, len(names), per_line)]


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
        title = title_of(ident.get("experiment", ""))
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


def _suptitle(fig: Figure, text: str) -> None:
    """The figure's title; on paper wrapped to the figure's width (each
    line at most as many characters as fit at the title's font size)."""
    if is_paper():
        import textwrap

        per_line = int(fig.get_figwidth() * 72 / (0.55 * 9))
        # (never inside $...$: a split formula does not parse)
        parts = text.split("$")
        glued = "$".join(p.replace(" ", "\0") if i % 2 else p for i, p in enumerate(parts))
        text = "\n".join(textwrap.fill(line, per_line, break_on_hyphens=False) for line in glued.split("\n")).replace("\0", " ")
    fig.suptitle(text)


def _one_line(title: str) -> str:
    """A panel title as one line, for a legend entry."""
    return title.replace("\n", ", ")


def _size_label(size_key, size) -> str:
    return f"{size_key} = {_fmt(size)}"


def _log_axis(axis) -> None:
    """Log scale with plain labels at 1, 2, 5 x 10^k and unlabelled minor
    ticks: the default labels every minor tick when the range is under a
    decade, and they overlap."""
    axis.axes.autoscale_view()
    low, high = axis.get_view_interval()
    decades = np.log10(high / low) if low > 0 and high > low else 0.0
    # 1, 2, 5 x 10^k labels crowd a narrow panel over more than a decade or two
    subs = (1.0,) if decades > (1.3 if is_paper() else 2.5) else (1.0, 2.0, 5.0)
    axis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
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
    psucc = _without_baseline(psucc)
    if psucc.empty:
        return _no_data(path_stem, title, "only Metropolis baseline points (figure 7)")
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
        ax.legend(fontsize=font(8), frameon=False)
    _suptitle(fig, title)
    return save_figure(fig, path_stem)


def plot_collapse(psucc: pd.DataFrame, collapse: pd.DataFrame, path_stem) -> list[Path]:
    """Figure 2: P_succ against the scaled variable m / size^b of the fitted
    collapse.

    Parameters
    ----------
    psucc : DataFrame
        The ``psucc`` table.
    collapse : DataFrame
        The ``collapse`` table (b, b_err, S, reason per experiment).
    path_stem : path-like

    Only experiments with a finite b are drawn, and in them only the sizes
    that entered the fit (a point 0 < P_succ < 1); each panel states b with
    its error and the quality S. The experiments left out are listed with
    their reasons under the panels.
    """
    title = "Finite-size-scaling collapse of the success probability"
    needed = ["experiment", "size", "m", "p_succ", "ci_low", "ci_high"]
    if not _has(psucc, needed) or not _has(collapse, ["b", "b_err", "S"]):
        return _no_data(path_stem, title, "no P_succ data or no collapse fit")
    scaled = add_scaled_x(psucc, collapse)
    scaled = scaled[np.isfinite(scaled["x_scaled"].to_numpy(dtype=float))]
    left_out = collapse[~np.isfinite(collapse["b"].to_numpy(dtype=float))]
    notes = [f"{row['experiment']}: {row['reason']}" for _, row in left_out.iterrows()
             if row["experiment"] not in set(scaled["experiment"])]
    if scaled.empty:
        return _no_data(path_stem, title, "no experiment has a collapse:\n" + "\n".join(notes))
    panels = _panels(scaled, per_fit=True)
    fit_keys = [k for k in panel_keys(scaled) if k in collapse.columns]
    fig, axes = _new_figure(len(panels), panel_size=(4.6, 3.6))
    for ax, (panel_title, group) in zip(axes, panels):
        size_key = str(group["size_key"].iloc[0])
        for colour, label, rows in _curves(group):
            ax.errorbar(rows["x_scaled"], rows["p_succ"],
                        yerr=_errorbars(rows["p_succ"], rows["ci_low"], rows["ci_high"]),
                        marker="o", ms=3.5, lw=1.0, capsize=2, color=colour, label=label)
        fit = collapse
        for k in fit_keys:
            value = group[k].iloc[0]
            fit = fit[(fit[k] == value) | (pd.isna(fit[k]) & pd.isna(value))]
        if len(fit):
            row = fit.iloc[0]
            text = f"$b$ = {row['b']:.3g} ± {row['b_err']:.2g}\nS = {row['S']:.2f}"
            if np.isfinite(row.get("b_power_law", np.nan)):
                text += f"\n(power law of $m_c$: {row['b_power_law']:.3g})"
            ax.text(0.03, 0.97, text, transform=ax.transAxes, va="top", fontsize=font(8))
        _set_log(ax, "x")
        ax.set_xlabel(f"scaled mini-batch size $m / {size_key}^{{b}}$")
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel(PSUCC_LABEL)
        ax.set_title(panel_title, fontsize=font(10))
        ax.legend(fontsize=font(8), frameon=False, loc="lower right")
    _footnote(fig, "Not drawn:", notes)
    _suptitle(fig, title)
    return save_figure(fig, path_stem)


def plot_critical_scaling(critical: pd.DataFrame, power_law: pd.DataFrame, path_stem,
                          local_exponent: pd.DataFrame | None = None, min_sizes: int = 3) -> list[Path]:
    """Figure 3: m_c against size (log-log) with the fitted power law
    m_c = A size^b (b ± its error, scaled by sqrt(chi2/dof) when above 1, in
    the legend), and a second panel of the local exponents between
    consecutive sizes. One colour per experiment.

    Only experiments with at least ``min_sizes`` sizes with an m_c are
    drawn: with fewer there is no scaling to judge (they are named under the
    figure).

    Parameters
    ----------
    critical : DataFrame
        The ``critical`` table (experiment, size_key, size, m_c, m_c_err).
    power_law : DataFrame
        The ``power_law`` table (experiment, A, b, b_err, chi2_per_dof).
    path_stem : path-like
    local_exponent : DataFrame, optional
        The ``local_exponent`` table.
    min_sizes : int
    """
    title = "Critical mini-batch size against size"
    if not _has(critical, ["experiment", "size_key", "size", "m_c", "m_c_err"]):
        return _no_data(path_stem, title, "the critical table is empty")
    finite = critical[np.isfinite(critical["m_c"].to_numpy(dtype=float))]
    counts = finite.groupby("experiment")["size"].nunique()
    shown = sorted(counts[counts >= min_sizes].index.astype(str))
    left_out = sorted(set(critical["experiment"].astype(str)) - set(shown))
    if not shown:
        return _no_data(path_stem, title, f"no experiment has an m_c at {min_sizes} or more sizes")
    finite = finite[finite["experiment"].astype(str).isin(shown)]
    with sns.axes_style("ticks"):
        fig = Figure(figsize=figure_size(2, 1, (5.5, 4.6)), layout="constrained")
        ax, axl = fig.subplots(1, 2)
    colours = dict(zip(shown, sns.color_palette("deep", len(shown))))
    for experiment, rows in finite.groupby("experiment", sort=True):
        rows = rows.sort_values("size")
        colour = colours[str(experiment)]
        label = _one_line(title_of(experiment))
        fit = power_law[power_law["experiment"] == experiment] if _has(power_law, ["experiment", "b"]) else None
        if fit is not None and len(fit) == 1 and np.isfinite(fit["b"].iloc[0]):
            a, b, b_err = (float(fit[c].iloc[0]) for c in ("A", "b", "b_err"))
            label += f": $b$ = {b:.2f} ± {b_err:.2f}" if np.isfinite(b_err) else f": $b$ = {b:.2f}"
            if "chi2_per_dof" in fit.columns and np.isfinite(fit["chi2_per_dof"].iloc[0]):
                label += f", $\\chi^2$/dof = {fit['chi2_per_dof'].iloc[0]:.1f}"
            grid = np.geomspace(rows["size"].min() / 1.1, rows["size"].max() * 1.1, 50)
            ax.plot(grid, a * grid**b, color=colour, lw=1.0, ls="--")
        ax.errorbar(rows["size"], rows["m_c"], yerr=np.nan_to_num(rows["m_c_err"].to_numpy(dtype=float)),
                    marker="o", ms=4, ls="none", capsize=2, color=colour, label=label)
        if _has(local_exponent, ["experiment", "size_low", "size_high", "b_local", "b_local_err"]):
            loc = local_exponent[(local_exponent["experiment"] == experiment)
                                 & np.isfinite(local_exponent["b_local"].to_numpy(dtype=float))]
            mid = np.sqrt(loc["size_low"].to_numpy(float) * loc["size_high"].to_numpy(float))
            axl.errorbar(mid, loc["b_local"], yerr=np.nan_to_num(loc["b_local_err"].to_numpy(float)), marker="o",
                         ms=4, lw=1.0, capsize=2, color=colour)
            if fit is not None and len(fit) == 1 and np.isfinite(fit["b"].iloc[0]):
                axl.axhline(float(fit["b"].iloc[0]), color=colour, lw=0.8, ls="--")
    size_keys = sorted(finite["size_key"].astype(str).unique())
    xlabel = " / ".join(SIZE_AXIS_LABELS.get(k, f"size {k}") for k in size_keys)
    _set_log(ax, "xy")
    ax.set_xticks(np.sort(finite["size"].unique().astype(float)))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("critical mini-batch size $m_c$ (patterns)")
    ax.set_title("$m_c$ (dashed: fitted $m_c = A\\,\\mathrm{size}^b$)", fontsize=font(10))
    # one legend for both panels (the colours are the experiments'), below
    # them (inside a panel it covered the data), ending with the
    # experiments left out
    handles, labels = ax.get_legend_handles_labels()
    if left_out:
        handles.append(Line2D([], [], alpha=0.0))
        labels.append(f"not drawn (an m_c at fewer than {min_sizes} sizes): " + ", ".join(left_out))
    fig.legend(handles, labels, loc="outside lower center", ncols=1, fontsize=font(8), frameon=False)
    _set_log(axl, "x")
    axl.set_xticks(np.sort(finite["size"].unique().astype(float)))
    axl.xaxis.set_minor_formatter(ticker.NullFormatter())
    axl.set_xlabel("size (" + " / ".join(size_keys) + "): geometric mean of the pair")
    axl.set_ylabel("local exponent $b_\\mathrm{loc}$")
    axl.set_title("local exponents between consecutive sizes\n(dashed: fitted $b$)", fontsize=font(10))
    _suptitle(fig, title)
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
    test_error = _without_baseline(test_error)
    if test_error.empty:
        return _no_data(path_stem, title, "only Metropolis baseline points (figure 7)")
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
        ax.legend(fontsize=font(8), frameon=False)
    _suptitle(fig, title)
    return save_figure(fig, path_stem)


def plot_solve_time(solve_time: pd.DataFrame, path_stem, critical: pd.DataFrame | None = None) -> list[Path]:
    """Figure 5: Kaplan-Meier median time to solution against m (log-log),
    with its 95% interval (an open upper end is drawn as an arrow); one
    panel per experiment that has a median anywhere. Each point is labelled
    with the number of runs that solved out of the runs made.

    Parameters
    ----------
    solve_time : DataFrame
        The ``solve_time`` table (experiment, size_key, size, m, n_runs,
        n_solved, t_median, t_ci_low, t_ci_high, time_unit).
    path_stem : path-like
    critical : DataFrame, optional
        The ``critical`` table; if given, m_c of each size is marked by a
        dotted vertical line of the size's colour.
    """
    title = "Kaplan-Meier median time to solution (unsolved runs censored)"
    if not _has(solve_time, ["experiment", "size", "m", "t_median", "t_ci_low", "t_ci_high"]):
        return _no_data(path_stem, title, "the solve_time table is empty")
    solve_time = _without_baseline(solve_time)
    finite = np.isfinite(solve_time["t_median"].to_numpy(dtype=float))
    with_median = set(solve_time.loc[finite, "experiment"].astype(str))
    shown = solve_time[finite]
    if shown.empty:
        return _no_data(path_stem, title, "at no point did half the runs solve")
    panels = _panels(shown)
    fig, axes = _new_figure(len(panels), ncols=2, panel_size=(5.6, 4.2))
    for ax, (panel_title, group) in zip(axes, panels):
        for colour, label, rows in _curves(group):
            high = rows["t_ci_high"].to_numpy(dtype=float)
            open_end = ~np.isfinite(high)
            ax.errorbar(rows["m"], rows["t_median"],
                        yerr=_errorbars(rows["t_median"], rows["t_ci_low"], np.where(open_end, rows["t_median"], high)),
                        marker="o", ms=3.5, lw=1.2, capsize=2, color=colour, label=label)
            if open_end.any():
                ax.plot(rows["m"].to_numpy()[open_end], rows["t_median"].to_numpy(float)[open_end] * 1.6,
                        marker="^", ls="none", ms=5, color=colour)
            if {"n_solved", "n_runs"} <= set(rows.columns):
                for m, t, k, n in zip(rows["m"], rows["t_median"], rows["n_solved"], rows["n_runs"]):
                    if is_paper() and k == n:
                        continue  # on paper only the points where some runs did not solve: the labels collided
                    ax.annotate(f"{int(k)}/{int(n)}", (m, t), xytext=(3, -9), textcoords="offset points",
                                fontsize=font(6.5), color=colour)
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
        ax.set_title(panel_title, fontsize=font(10))
        ax.legend(fontsize=font(8), frameon=False)
    skipped = sorted(set(solve_time["experiment"].astype(str)) - with_median)
    _footnote(fig, "Not drawn (fewer than half the runs solve at every m):", _chunks(skipped))
    labels = ("\nlabels: runs solved / runs where some did not solve" if is_paper() else "; labels: runs solved / runs")
    _suptitle(fig, title + labels + (", dotted: $m_c$" if _has(critical, ["m_c"]) else ""))
    return save_figure(fig, path_stem)


def plot_stationary(stationary: pd.DataFrame, stationary_hist: pd.DataFrame, order: pd.DataFrame | None,
                    path_stem, n_values: int = 4) -> list[Path]:
    """Figure 6: the stationary state of the unsolved runs across the
    transition, one row per experiment with an m_c.

    Left: mean q_late of the unsolved runs (standard errors) against
    m / m_c, one curve per size; the verdict of the order diagnostic and the
    gap at m_c are written in the panel. Middle: their mean training error
    per pattern (energy_late). Right: histograms of q_late at the
    ``n_values`` (at most four) grid values of m of the largest size
    nearest m_c, each normalised to its own runs and labelled with the
    number of unsolved runs.

    Parameters
    ----------
    stationary : DataFrame
        The ``stationary`` table.
    stationary_hist : DataFrame
        The ``stationary_hist`` table.
    order : DataFrame or None
        The ``order`` table (verdict, gap_at_mc, gap_at_mc_err).
    path_stem : path-like
    n_values : int
        Histograms per experiment (capped at 4).
    """
    title = "Stationary state of the runs that did not solve"
    n_values = min(int(n_values), 4)
    if not _has(stationary, ["experiment", "size", "m", "x", "q_late_mean", "q_late_sem"]):
        return _no_data(path_stem, title, "the stationary table is empty")
    usable = stationary[np.isfinite(stationary["x"].to_numpy(dtype=float))
                        & np.isfinite(stationary["q_late_mean"].to_numpy(dtype=float))]
    if usable.empty:
        return _no_data(path_stem, title, "no experiment has an m_c and unsolved runs")
    experiments = sorted(usable["experiment"].astype(str).unique())
    with sns.axes_style("ticks"):
        fig = Figure(figsize=figure_size(3, len(experiments), (13.0 / 3, 3.4), aspect=0.85), layout="constrained")
        axes = fig.subplots(len(experiments), 3, squeeze=False)
    for r, experiment in enumerate(experiments):
        group = usable[usable["experiment"].astype(str) == experiment]
        axq, axe, axh = axes[r]
        for colour, label, rows in _curves(group):
            rows = rows.sort_values("x")
            axq.errorbar(rows["x"], rows["q_late_mean"], yerr=np.nan_to_num(rows["q_late_sem"].to_numpy(float)),
                         marker="o", ms=3.5, lw=1.2, capsize=2, color=colour, label=label)
            if "energy_late_mean" in rows.columns:
                axe.errorbar(rows["x"], rows["energy_late_mean"],
                             yerr=np.nan_to_num(rows["energy_late_sem"].to_numpy(float)), marker="o", ms=3.5,
                             lw=1.2, capsize=2, color=colour, label=label)
        for axis in (axq, axe):
            axis.axvline(1.0, color="0.5", lw=0.8, ls=":")
            _set_log(axis, "x")
            axis.set_xlabel("$m / m_c$")
        axq.axhline(1.0, color="0.5", lw=0.8)
        axq.set_ylabel("stationary overlap $\\langle q_\\mathrm{late}\\rangle$\n(unsolved runs)")
        verdict = ""
        if _has(order, ["experiment", "verdict", "gap_at_mc", "gap_at_mc_err"]):
            row = order[order["experiment"].astype(str) == experiment]
            if len(row):
                row = row.iloc[0]
                verdict = row["verdict"] or "no verdict"
                if np.isfinite(row["gap_at_mc"]):
                    verdict += f", gap at $m_c$: {row['gap_at_mc']:.3f} ± {row['gap_at_mc_err']:.3f}"
        axq.set_title(title_of(experiment) + (f"\n{verdict}" if verdict else ""), fontsize=font(9))
        axe.set_ylabel("stationary training error\nper pattern (unsolved runs)")
        axe.set_ylim(bottom=0)
        axe.legend(fontsize=font(7), frameon=False, loc="best")
        # Histograms at the largest size.
        largest = group["size"].max()
        hist = stationary_hist[(stationary_hist["experiment"].astype(str) == experiment)
                               & (stationary_hist["size"] == largest)] if _has(stationary_hist, ["m", "count"]) \
            else pd.DataFrame()
        rows_l = stationary[(stationary["experiment"].astype(str) == experiment) & (stationary["size"] == largest)]
        rows_l = rows_l[rows_l["n_unsolved"] > 0]
        if len(hist) and len(rows_l):
            order_m = np.argsort(np.abs(np.log(rows_l["x"].to_numpy(dtype=float))))
            chosen = np.sort(rows_l["m"].to_numpy()[order_m[:n_values]])
            colours = sns.color_palette("rocket_r", len(chosen) + 1)[1:]
            # Line styles as well as colours: histograms that coincide (a
            # stationary state that does not move with m) stay visible.
            for colour, style, m in zip(colours, ("-", "--", "-.", ":"), chosen):
                cell = hist[hist["m"] == m].sort_values("bin_left")
                total = cell["count"].sum()
                x_val = float(rows_l.loc[rows_l["m"] == m, "x"].iloc[0])
                edges = np.append(cell["bin_left"].to_numpy(float), cell["bin_right"].to_numpy(float)[-1:])
                axh.stairs((cell["count"] / total).to_numpy(float) if total else np.zeros(len(cell)), edges,
                           color=colour, lw=1.8, ls=style,
                           label=f"{x_val:.2f} ({int(total)} runs)" if is_paper() else f"m = {_fmt(m)} ($m/m_c$ = {x_val:.2f}), {int(total)} runs")
            occupied = hist[(hist["count"] > 0) & hist["m"].isin(chosen)]
            if len(occupied):
                axh.set_xlim(max(occupied["bin_left"].min() - 0.1, -1.02), 1.02)
            size_key = str(group["size_key"].iloc[0])
            what = "unsolved runs" if is_paper() else "$q_\\mathrm{late}$ of the unsolved runs"
            axh.set_title(f"{_size_label(size_key, largest)}: {what}", fontsize=font(10))
            # (on paper the entries are m / m_c alone: the full ones were wider than the panel)
            axh.legend(fontsize=font(7), frameon=False, loc="best", title="$m/m_c$" if is_paper() else None,
                       title_fontsize=font(7))
        else:
            axh.text(0.5, 0.5, "no unsolved runs near $m_c$", ha="center", va="center", transform=axh.transAxes)
        axh.set_xlabel("stationary overlap $q_\\mathrm{late}$")
        axh.set_ylabel("fraction of unsolved runs")
    _suptitle(fig, title + " (x axis: m over the size's own $m_c$)")
    return save_figure(fig, path_stem)


def plot_width(critical: pd.DataFrame, sharpening: pd.DataFrame | None, path_stem) -> list[Path]:
    """Figure 9: the width of the transition in log m (the logistic's
    1/slope) against size, log-log, with its bootstrap error and the fitted
    w = C size^(-1/nu) (1/nu ± its error in the legend). A width that falls
    with size means the transition sharpens.

    Parameters
    ----------
    critical : DataFrame
        The ``critical`` table (experiment, size_key, size, width, width_err).
    sharpening : DataFrame or None
        The ``sharpening`` table (experiment, inv_nu, inv_nu_err, C, sharpens).
    path_stem : path-like
    """
    title = "Width of the transition against size"
    if not _has(critical, ["experiment", "size", "width", "width_err"]):
        return _no_data(path_stem, title, "the critical table has no widths")
    finite = critical[np.isfinite(critical["width"].to_numpy(dtype=float))
                      & np.isfinite(critical["width_err"].to_numpy(dtype=float))]
    if finite.empty:
        return _no_data(path_stem, title, "no size has a measured width")
    experiments = sorted(finite["experiment"].astype(str).unique())
    colours = dict(zip(experiments, sns.color_palette("deep", len(experiments))))
    fig, (ax,) = _new_figure(1, panel_size=(6.5, 4.6))
    if is_paper():
        fig.set_figheight(4.4)  # room for the legend below the panel
    for experiment, rows in finite.groupby("experiment", sort=True):
        rows = rows.sort_values("size")
        colour = colours[str(experiment)]
        # (on paper, one column wide: the title on its own lines)
        label = title_of(experiment) + "\n" if is_paper() else _one_line(title_of(experiment))
        if _has(sharpening, ["experiment", "inv_nu", "inv_nu_err", "C"]):
            fit = sharpening[sharpening["experiment"] == experiment]
            if len(fit) and np.isfinite(fit["inv_nu"].iloc[0]):
                inv_nu, err, c = (float(fit[k].iloc[0]) for k in ("inv_nu", "inv_nu_err", "C"))
                label += ("" if is_paper() else ": ") + f"$1/\\nu$ = {inv_nu:.2f} ± {err:.2f}"
                grid = np.geomspace(rows["size"].min() / 1.1, rows["size"].max() * 1.1, 50)
                ax.plot(grid, c * grid ** (-inv_nu), color=colour, lw=1.0, ls="--")
        ax.errorbar(rows["size"], rows["width"], yerr=rows["width_err"].to_numpy(float), marker="o", ms=4,
                    ls="none", capsize=2, color=colour, label=label.rstrip("\n"))
    _set_log(ax, "xy")
    if not is_paper():  # (every size labelled: too crowded one column wide)
        ax.set_xticks(np.sort(finite["size"].unique().astype(float)))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    size_keys = sorted(finite["size_key"].astype(str).unique())
    names = {"d": "connectivity d", "N": "inputs N"} if is_paper() else SIZE_AXIS_LABELS
    ax.set_xlabel(" / ".join(names.get(k, f"size {k}") for k in size_keys))
    ax.set_ylabel("width $w$ of the transition in $\\ln m$")
    low, high = ax.get_ylim()
    if high / low < 20:
        # Less than about a decade: label every 1..9 x 10^k tick, or the
        # axis shows a single number.
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=np.arange(1, 10)))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    if is_paper():
        fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", fontsize=font(8), frameon=False)
    else:
        ax.legend(fontsize=font(8), frameon=False)
    _suptitle(fig, title + ("\n" if is_paper() else " ") + "(dashed: fitted $w = C\\,\\mathrm{size}^{-1/\\nu}$)")
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
        fig = Figure(figsize=figure_size(ncols, len(experiments), (5.0, 3.8)), layout="constrained")
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
                             lw=1.0, capsize=2, color=colour, label=f"Metropolis from random weights, {label}")
                if "energy_late_teacher" in base.columns:
                    axb.errorbar(base["temperature"], base["energy_late_teacher"],
                                 yerr=np.nan_to_num(base["energy_late_teacher_sem"].to_numpy(float)), marker="D",
                                 ms=3, lw=1.0, ls="--", capsize=2, color=colour, mfc="white",
                                 label="from the teacher's weights")
                if "equilibrated" in base.columns:
                    failed = base[~base["equilibrated"].astype(bool)]
                    if len(failed):
                        axb.plot(failed["temperature"], failed["energy_late"], ls="none", marker="x", ms=9,
                                 mew=1.8, color="crimson", label="not equilibrated (left out)")
                        notes.append("not equilibrated, left out: T = "
                                     + ", ".join(_fmt(t) for t in failed["temperature"]))
                for energy in rows["energy_late"].to_numpy(dtype=float):
                    if np.isfinite(energy):
                        axb.axhline(energy, color=colour, lw=0.6, ls="--", alpha=0.6)
        if notes:
            ax.text(0.02, 0.02, "\n".join(notes), transform=ax.transAxes, fontsize=font(7),
                    va="bottom")
        inside_any = bool(np.isfinite(group["T_eff"].to_numpy(dtype=float)).any())
        if inside_any:
            _set_log(ax, "x")
        else:
            ax.text(0.5, 0.5, "no m inside the temperature grid", transform=ax.transAxes, ha="center")
        ax.set_xlabel(M_LABEL)
        ax.set_ylabel("effective temperature $T_\\mathrm{eff}$\n(unit: one misclassified training pattern)")
        ax.set_title(title_of(experiment))
        if inside_any:
            ax.legend(fontsize=font(8), frameon=False)
        if show_baseline:
            axb = axes[r, 1]
            _set_log(axb, "x")
            axb.set_xlabel("Metropolis temperature T (unit: one training error)")
            axb.set_ylabel("stationary training error per pattern")
            axb.set_title("baseline (dashed: greedy energies)")
            if axb.has_data():
                axb.legend(fontsize=font(8), frameon=False)
    _suptitle(fig, title)
    return save_figure(fig, path_stem)


def plot_all(tables: dict[str, pd.DataFrame], outdir, style: str = "screen", include: dict | None = None,
             titles: dict | None = None) -> dict[str, list[Path]]:
    """Draw every figure of :data:`FIGURES` from the analysis tables.

    Parameters
    ----------
    tables : dict name -> DataFrame
        Output of :func:`mbphase.analysis.analyse` (or
        :func:`mbphase.analysis.read_tables`); missing tables count as
        empty.
    outdir : path-like
        Directory of the figures, files ``<figure name>.png`` and ``.pdf``.
    style : "screen" or "paper"
        :mod:`mbphase.plots.style`.
    include : dict figure name -> list of experiments, optional
        The experiments each figure shows (the config's
        ``figures.include``); a figure not named shows the experiments with
        something to show in it (:func:`mbphase.plots.style.default_experiments`).
    titles : dict experiment -> panel title, optional
        Titles in physics terms (the workflow derives them from the config);
        without one a panel is titled with the experiment's name.

    Returns
    -------
    dict figure name -> list of paths written
    """
    outdir = Path(outdir)
    empty = pd.DataFrame()
    include = include or {}

    def drawn(figure, draw):
        chosen = include.get(figure)
        if chosen is None:
            chosen = default_experiments(figure, tables)
        if chosen is not None and not chosen:
            how = "figures.include" if figure in include else "no experiment has something to show in it; figures.include"
            return _no_data(outdir / figure, FIGURES[figure].description, f"{how} chooses the experiments")
        chosen_tables = select(tables, chosen)
        return draw(lambda name: chosen_tables.get(name, empty), outdir / figure)

    with use_look(style, titles):
        return {
            "fig1_psucc": drawn("fig1_psucc", lambda get, stem: plot_psucc(get("psucc"), stem)),
            "fig2_collapse": drawn("fig2_collapse", lambda get, stem: plot_collapse(get("psucc"), get("collapse"), stem)),
            "fig3_mc_scaling": drawn("fig3_mc_scaling", lambda get, stem: plot_critical_scaling(
                get("critical"), get("power_law"), stem, local_exponent=get("local_exponent"))),
            "fig4_test_error": drawn("fig4_test_error", lambda get, stem: plot_test_error(get("test_error"), stem)),
            "fig5_solve_time": drawn("fig5_solve_time", lambda get, stem: plot_solve_time(get("solve_time"), stem, critical=get("critical"))),
            "fig6_overlap_hist": drawn("fig6_overlap_hist", lambda get, stem: plot_stationary(
                get("stationary"), get("stationary_hist"), get("order"), stem)),
            "fig7_t_eff": drawn("fig7_t_eff", lambda get, stem: plot_temperature(get("t_eff"), stem, metropolis=get("metropolis_energy"))),
            "fig9_width": drawn("fig9_width", lambda get, stem: plot_width(get("critical"), get("sharpening"), stem)),
            "fig8_mc_budget": drawn("fig8_mc_budget", lambda get, stem: plot_mc_budget(get("mc_budget"), get("b_budget"), stem)),
            "fig10_hitting_time": drawn("fig10_hitting_time", lambda get, stem: plot_hitting_time(
                get("hitting_time"), get("hitting_fit"), stem)),
        }


def _size_curves(group: pd.DataFrame, x: str):
    """(colour, label, rows sorted by ``x``) for each size of a panel,
    coloured from small (light) to large (dark)."""
    sizes = sorted(group["size"].unique())
    colours = sns.color_palette("viridis_r" if len(sizes) > 1 else "deep", len(sizes))
    for colour, size in zip(colours, sizes):
        rows = group[group["size"] == size].sort_values(x)
        yield colour, _size_label(rows["size_key"].iloc[0], size), rows


def plot_mc_budget(mc_budget: pd.DataFrame, b_budget: pd.DataFrame | None, path_stem) -> list[Path]:
    """Figure 8: m_c(size, t) against the budget t, one curve per size
    (bootstrap errors; an open marker where m_c has converged, i.e. changed
    by less than its error over the last factor 2 in t), one panel per
    experiment; and b(t), the exponent of m_c = A size^b fitted at each t,
    with its error (scaled by sqrt(chi2/dof) when above 1).

    Parameters
    ----------
    mc_budget : DataFrame
        The ``mc_budget`` table (experiment, size_key, size, t, m_c, m_c_err,
        converged).
    b_budget : DataFrame or None
        The ``b_budget`` table (experiment, t, b, b_err, n_points).
    path_stem : path-like
    """
    title = "Critical mini-batch size against the budget"
    if not _has(mc_budget, ["experiment", "size", "t", "m_c", "m_c_err"]):
        return _no_data(path_stem, title, "the mc_budget table is empty (no discrete runs with t_solve)")
    finite = mc_budget[np.isfinite(mc_budget["m_c"].to_numpy(dtype=float))]
    if finite.empty:
        return _no_data(path_stem, title, "no budget t has an m_c at any size (P_succ never crosses 1/2)")
    panels = _panels(finite)
    fig, axes = _new_figure(2 * len(panels), ncols=2, panel_size=(5.2, 3.9))
    for i, (name, group) in enumerate(panels):
        ax, bx = axes[2 * i], axes[2 * i + 1]
        for colour, label, rows in _size_curves(group, "t"):
            ax.errorbar(rows["t"], rows["m_c"], yerr=rows["m_c_err"].to_numpy(float), marker="o", ms=3.5, lw=1.0,
                        capsize=2, color=colour, label=label)
            if "converged" in rows.columns:
                done = rows[rows["converged"].astype(str) == "yes"]
                ax.plot(done["t"], done["m_c"], ls="none", marker="o", ms=8, mfc="none", color=colour)
        _set_log(ax, "xy")
        ax.set_xlabel("budget t (sweeps)")
        ax.set_ylabel("$m_c$(size, t)")
        ax.set_title(name, fontsize=font(9))
        ax.legend(fontsize=font(7), frameon=False, ncol=2)
        bx.set_title("exponent b(t)", fontsize=font(9))
        if _has(b_budget, ["experiment", "t", "b", "b_err"]):
            fits = b_budget[(b_budget["experiment"] == group["experiment"].iloc[0])
                            & np.isfinite(b_budget["b"].to_numpy(dtype=float))].sort_values("t")
            if "n_points" in fits.columns:
                for n_points, rows in fits.groupby("n_points", sort=True):
                    bx.errorbar(rows["t"], rows["b"], yerr=rows["b_err"].to_numpy(float), marker="s", ms=3.5, ls="none",
                                capsize=2, label=f"{int(n_points)} sizes")
            bx.legend(fontsize=font(7), frameon=False)
        bx.axhline(1.0, color="0.6", lw=0.8, ls=":")
        bx.set_xscale("log")
        _log_axis(bx.xaxis)
        bx.set_xlabel("budget t (sweeps)")
        bx.set_ylabel("b(t) in $m_c = A\\,\\mathrm{size}^b$")
    _suptitle(fig, title + " (open circles: converged within the error over the last factor 2 in t; dotted: b = 1)")
    return save_figure(fig, path_stem)


def plot_hitting_time(hitting: pd.DataFrame, fits: pd.DataFrame | None, path_stem) -> list[Path]:
    """Figure 10: the hitting-time landscape. Left: the Kaplan-Meier median
    time to solution (filled) and the time by which a quarter of the runs
    solved (open, dashed) against m / m_c, one curve per size, log-log.
    Right: the median at the cuts m / m_c > 1 of the ``hitting_fit`` table
    against the size (log y, linear x: a barrier is a straight line), with
    the fitted barrier (solid) and power law (dashed) and the verdict.

    Parameters
    ----------
    hitting : DataFrame
        The ``hitting_time`` table.
    fits : DataFrame or None
        The ``hitting_fit`` table.
    path_stem : path-like
    """
    from mbphase.analysis.hitting import _at_cut

    title = "Hitting-time landscape"
    if not _has(hitting, ["experiment", "size", "m_over_mc", "tau_50", "tau_25"]):
        return _no_data(path_stem, title, "the hitting_time table is empty")
    finite = hitting[np.isfinite(hitting["m_over_mc"].to_numpy(dtype=float))
                     & (np.isfinite(hitting["tau_50"].to_numpy(dtype=float)) | np.isfinite(hitting["tau_25"].to_numpy(dtype=float)))]
    if finite.empty:
        return _no_data(path_stem, title, "no point has both an m_c and a time to solution")
    panels = _panels(finite)
    fig, axes = _new_figure(2 * len(panels), ncols=2, panel_size=(5.2, 3.9))
    for i, (name, group) in enumerate(panels):
        ax, bx = axes[2 * i], axes[2 * i + 1]
        for colour, label, rows in _size_curves(group, "m_over_mc"):
            ax.plot(rows["m_over_mc"], rows["tau_50"], marker="o", ms=3.5, lw=1.0, color=colour, label=label)
            ax.plot(rows["m_over_mc"], rows["tau_25"], marker="o", ms=3.5, mfc="none", lw=0.8, ls="--", color=colour)
        ax.axvline(1.0, color="0.6", lw=0.8, ls=":")
        _set_log(ax, "xy")
        ax.set_xlabel("$m / m_c$ (m_c at the full budget)")
        ax.set_ylabel("time to solution $\\tau$ (sweeps)")
        ax.set_title(name, fontsize=font(9))
        ax.legend(fontsize=font(7), frameon=False, ncol=2)
        bx.set_title("$\\tau$ at fixed $m / m_c$", fontsize=font(9))
        experiment = group["experiment"].iloc[0]
        cuts = fits[(fits["experiment"] == experiment) & (fits["quantile"] == 50)] if _has(fits, ["experiment", "quantile"]) else None
        if cuts is not None and len(cuts):
            palette = sns.color_palette("deep", len(cuts))
            for colour, (_, cut) in zip(palette, cuts.iterrows()):
                x = float(cut["m_over_mc"])
                pts = [(s, *_at_cut(g, x, 50)) for s, g in group.groupby("size", sort=True)]
                pts = [p for p in pts if np.isfinite(p[1])]
                if not pts:
                    continue
                s = np.array([p[0] for p in pts], dtype=float)
                y = np.array([p[1] for p in pts])
                err = np.nan_to_num(np.array([p[2] for p in pts]), nan=0.0)
                label = f"m/m_c = {x:g}: {cut['verdict'] or 'n/a'}"
                bx.errorbar(s, np.exp(y), yerr=[np.exp(y) - np.exp(y - err), np.exp(y + err) - np.exp(y)], marker="o",
                            ms=3.5, ls="none", capsize=2, color=colour, label=label)
                if len(pts) >= 2:
                    grid = np.linspace(s.min(), s.max(), 50)
                    cb = np.polyfit(s, y, 1)
                    cp = np.polyfit(np.log(s), y, 1)
                    bx.plot(grid, np.exp(np.polyval(cb, grid)), color=colour, lw=0.9)
                    bx.plot(grid, np.exp(np.polyval(cp, np.log(grid))), color=colour, lw=0.9, ls="--")
            bx.legend(fontsize=font(7), frameon=False)
        bx.set_yscale("log")
        _log_axis(bx.yaxis)
        size_key = str(group["size_key"].iloc[0])
        bx.set_xlabel(SIZE_AXIS_LABELS.get(size_key, f"size {size_key}"))
        bx.set_ylabel("median $\\tau$ (sweeps)")
    _suptitle(fig, title + " (left: median, dashed: quarter time; right: solid barrier fit, dashed power-law fit)")
    return save_figure(fig, path_stem)

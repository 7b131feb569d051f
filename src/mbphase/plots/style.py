"""How the figures look and what they show: the style (``screen`` or
``paper``), the panel titles in physics terms, and which experiments go into
which figure (the config's ``figures:`` section).

``paper`` draws at journal sizes, 3.4 in for a single column and 7 in for
a double column, with fonts of 7 to 9 pt at that size; ``screen`` draws
larger panels for a monitor. The figure functions of
:mod:`mbphase.plots.figures` ask :func:`figure_size` and :func:`font` for
their sizes, so a new figure adopts the style through the same helpers.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import matplotlib as mpl
import numpy as np
import pandas as pd

from mbphase.plots.titles import physics_title  # noqa: F401 (part of this module's interface)

STYLES = ("screen", "paper")
SINGLE_COLUMN_IN = 3.4
DOUBLE_COLUMN_IN = 7.0
MIN_FONT_PT = 7.0


@dataclass
class Look:
    style: str = "screen"
    titles: dict = field(default_factory=dict)  # experiment -> title in physics terms


_LOOK = Look()


@contextlib.contextmanager
def use_look(style: str = "screen", titles: dict | None = None):
    """Draw the figures inside in ``style`` with these panel titles."""
    global _LOOK
    if style not in STYLES:
        raise ValueError(f"style {style!r}: expected one of {', '.join(STYLES)}")
    previous = _LOOK
    _LOOK = Look(style, dict(titles or {}))
    rc = {}
    if style == "paper":
        rc = {"font.size": 8, "axes.titlesize": 8, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
              "legend.fontsize": 7, "figure.titlesize": 9, "lines.linewidth": 1.0, "lines.markersize": 3.5,
              "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6, "savefig.dpi": 300}
    try:
        with mpl.rc_context(rc):
            yield _LOOK
    finally:
        _LOOK = previous


def is_paper() -> bool:
    return _LOOK.style == "paper"


def font(screen_pt: float) -> float:
    """A font size: ``screen_pt`` on screen; on paper four fifths of it,
    never under 7 pt at print size."""
    return float(screen_pt) if not is_paper() else max(MIN_FONT_PT, round(0.8 * screen_pt, 1))


def figure_size(ncols: int, nrows: int, screen_panel=(4.2, 3.3), aspect: float = 0.78) -> tuple[float, float]:
    """The size in inches of a grid of panels: on screen ``screen_panel``
    each; on paper one column wide (3.4 in) for a single panel, two (7 in)
    otherwise, each panel ``aspect`` as high as wide."""
    if not is_paper():
        return screen_panel[0] * ncols, screen_panel[1] * nrows
    width = SINGLE_COLUMN_IN if ncols == 1 else DOUBLE_COLUMN_IN
    return width, max(1.6, width / ncols * aspect) * nrows + 0.35


def title_of(experiment) -> str:
    """The panel title of an experiment: the model in physics terms when the
    workflow gave it (:func:`physics_title`), else its name."""
    return _LOOK.titles.get(str(experiment), str(experiment))


# ------------------------------------------------------------------ selection


def _varies(table: pd.DataFrame, value: str, at_least: int = 2) -> set[str]:
    """Experiments with a curve of ``at_least`` m values whose ``value``
    changes along it (not a flat line of P_succ = 1, say)."""
    shown = set()
    if table is None or table.empty or value not in table.columns:
        return shown
    for (experiment, _), rows in table.groupby(["experiment", "size"], sort=True):
        values = rows[value].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if rows["m"].nunique() >= at_least and len(values) and np.ptp(values) > 0:
            shown.add(str(experiment))
    return shown


def with_transition(tables: dict) -> set[str]:
    """Experiments whose P_succ crosses 1/2 at some size (an m_c on the grid)."""
    critical = tables.get("critical")
    if critical is None or critical.empty or "m_c" not in critical.columns:
        return set()
    finite = critical[np.isfinite(critical["m_c"].to_numpy(dtype=float))]
    return set(finite["experiment"].astype(str))


def default_experiments(figure: str, tables: dict) -> set[str] | None:
    """The experiments a figure shows when the config does not say: those
    with something to show in it. None: every experiment (the figure
    chooses itself, e.g. figure 3 needs m_c at three sizes)."""
    from mbphase.plots.figures import _without_baseline

    psucc = tables.get("psucc")
    if figure == "fig1_psucc":
        return _varies(_without_baseline(psucc), "p_succ") if psucc is not None and not psucc.empty else set()
    if figure == "fig4_test_error":
        test_error = tables.get("test_error")
        if test_error is None or test_error.empty:
            return set()
        return _varies(_without_baseline(test_error), "gen_error_mean")
    if figure in ("fig2_collapse", "fig6_overlap_hist"):
        return with_transition(tables)
    return None


def select(tables: dict, experiments) -> dict:
    """The tables restricted to some experiments (None: unchanged)."""
    if experiments is None:
        return tables
    keep = {str(e) for e in experiments}
    return {name: t[t["experiment"].astype(str).isin(keep)] if t is not None and "experiment" in t.columns else t
            for name, t in tables.items()}

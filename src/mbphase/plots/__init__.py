"""The figures of the study, drawn from the analysis tables only."""

from mbphase.plots.figures import FIGURES, plot_all

__all__ = ["FIGURES", "plot_all"]

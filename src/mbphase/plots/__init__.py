"""The figures of the study, drawn from the analysis tables only."""

__all__ = ["FIGURES", "plot_all"]


def __getattr__(name: str):
    # imported on first use: importing mbphase.plots.titles (the workflow,
    # while it parses) must not import matplotlib and seaborn
    if name in __all__:
        from mbphase.plots import figures

        return getattr(figures, name)
    raise AttributeError(f"module 'mbphase.plots' has no attribute {name!r}")

"""Figures for a paper (the config's `figures:` section): journal widths and
fonts of at least 7 pt at print size, tick labels that do not overlap,
panel titles in physics terms, and by default only the experiments with
something to show in a figure."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from mbphase.pipeline.config import ConfigError, check_config, load_yaml
from mbphase.plots import figures as plots
from mbphase.plots.style import DOUBLE_COLUMN_IN, MIN_FONT_PT, SINGLE_COLUMN_IN, default_experiments
from synthetic import transition_runs
from test_plots import stored_tables  # noqa: F401  (a fixture)
from test_workflow import TINY

TITLES = {"sparse_committee": "sparse discrete committee, K = 3\ntree teacher"}


@pytest.fixture
def drawn(monkeypatch):
    """The figures plot_all draws, by stem, once laid out and saved."""
    figures = {}
    save = plots.save_figure

    def keep(fig, stem, formats=plots.FORMATS):
        paths = save(fig, stem, formats=("png",))
        figures[stem.name] = fig
        return paths

    monkeypatch.setattr(plots, "save_figure", keep)
    return figures


def _texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t.get_figure() is not None]


def test_paper_figures_are_one_or_two_columns_wide_with_readable_fonts(stored_tables, drawn, tmp_path):  # noqa: F811
    plots.plot_all(stored_tables, tmp_path, style="paper", titles=TITLES)
    assert set(drawn) == set(plots.FIGURES)
    for name, fig in drawn.items():
        width = fig.get_figwidth()
        assert width in (SINGLE_COLUMN_IN, DOUBLE_COLUMN_IN), (name, width)
        small = [(t.get_text()[:30], t.get_fontsize()) for t in _texts(fig) if t.get_fontsize() < MIN_FONT_PT]
        assert not small, (name, small)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()  # (positions at the figure's own dpi again, after the 300 dpi save)
        renderer = canvas.get_renderer()
        page = fig.bbox
        ticks = {id(t) for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()}  # (those beyond the axis range are not drawn)
        cut = [t.get_text()[:30] for t in _texts(fig)
               if id(t) not in ticks and not (page.x0 - 2 <= t.get_window_extent(renderer).x0 and t.get_window_extent(renderer).x1 <= page.x1 + 2)]
        assert not cut, (name, "text cut off at the figure's edge", cut)
        for ax in fig.axes:
            if not ax.get_visible():
                continue
            labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            inside = [b for b in boxes if ax.get_window_extent(renderer).x0 - 5 <= b.x0 and b.x1 <= ax.get_window_extent(renderer).x1 + 5]
            for a, b in itertools.combinations(inside, 2):
                assert not a.overlaps(b), (name, [t.get_text() for t in labels])
    titles = [t.get_text() for t in _texts(drawn["fig1_psucc"])]
    assert TITLES["sparse_committee"] in titles and "sparse_committee" not in titles


def test_by_default_a_figure_shows_only_experiments_with_something_to_show(drawn, tmp_path):
    flat = transition_runs(sizes=(15, 25), n_seeds=4, experiment="always_solves").assign(success=True)  # P_succ = 1 at every m
    moving = transition_runs(sizes=(15, 25, 35), n_seeds=8, experiment="sparse_committee")
    from mbphase.analysis import analyse

    tables = analyse(pd.concat([flat, moving], ignore_index=True), n_boot=5, seed=0)
    assert default_experiments("fig1_psucc", tables) == {"sparse_committee"}
    assert default_experiments("fig6_overlap_hist", tables) == {"sparse_committee"}
    plots.plot_all(tables, tmp_path)
    titles = {t.get_text() for t in _texts(drawn["fig1_psucc"])}
    assert "sparse_committee" in titles and "always_solves" not in titles
    # the config chooses: the flat experiment alone, and no experiment at all
    plots.plot_all(tables, tmp_path, include={"fig1_psucc": ["always_solves"], "fig2_collapse": []})
    titles = {t.get_text() for t in _texts(drawn["fig1_psucc"])}
    assert "always_solves" in titles and "sparse_committee" not in titles
    assert any("figures.include chooses the experiments" in t for t in (x.get_text() for x in _texts(drawn["fig2_collapse"])))


@pytest.mark.parametrize("figures, needle", [
    ({"style": "print"}, "'print'"),
    ({"include": {"fig1_pucc": ["sd_tree"]}}, "key 'figures.include': unknown figure 'fig1_pucc' (did you mean 'fig1_psucc'?)"),
    ({"include": {"fig1_psucc": ["sd_tre"]}}, "key 'figures.include.fig1_psucc': unknown experiment 'sd_tre'"),
    ({"width": 3}, "'width'"),
])
def test_the_figures_section_is_checked_at_parse_time(figures, needle):
    config = load_yaml(TINY)
    config["figures"] = figures
    with pytest.raises(ConfigError) as err:
        check_config(config)
    assert needle in str(err.value)


def test_the_figures_section_defaults_to_screen_and_automatic_choice():
    config = load_yaml(TINY)
    check_config(config)
    assert config["figures"] == {"style": "screen", "include": {}}

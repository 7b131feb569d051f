"""Every figure is written as PNG and PDF, from stored tables, with or without data."""

import numpy as np
import pandas as pd
import pytest

from mbphase.plots import figures as plots
from mbphase.analysis import analyse, read_tables, write_tables
from synthetic import temperature_runs, transition_runs

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PDF_MAGIC = b"%PDF"


def _check_files(paths, stem):
    assert [p.name for p in paths] == [f"{stem.name}.png", f"{stem.name}.pdf"]
    png, pdf = paths
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 1000
    assert pdf.read_bytes()[:4] == PDF_MAGIC and pdf.stat().st_size > 1000


@pytest.fixture(scope="module")
def stored_tables(tmp_path_factory):
    """Analysis tables of a small synthetic study, written to Parquet and read
    back: the figures must need nothing else."""
    # Small on purpose: drawing time grows with the number of panels.
    runs = pd.concat([
        transition_runs(sizes=(15, 25, 35), n_seeds=12, rng_seed=0),
        temperature_runs(n_seeds=4, m_values=(5, 20, 300), temperatures=(0.2, 1.1, 2.0)),
    ], ignore_index=True)
    directory = tmp_path_factory.mktemp("tables")
    write_tables(analyse(runs, n_boot=10, seed=0), directory)
    return read_tables(directory)


@pytest.fixture(scope="module")
def empty_tables():
    runs = transition_runs(sizes=(15,), n_seeds=2).iloc[:0]
    return analyse(runs, n_boot=2)


def test_plot_all_from_stored_tables(stored_tables, tmp_path):
    # Every figure has something to draw here (none falls back to "no data").
    assert stored_tables["t_eff"]["in_range"].any()
    assert np.isfinite(stored_tables["critical"]["m_c"]).sum() >= 2
    assert np.isfinite(stored_tables["collapse"]["b"]).any()
    written = plots.plot_all(stored_tables, tmp_path / "figures")
    assert list(written) == list(plots.FIGURES)
    for name, paths in written.items():
        _check_files(paths, tmp_path / "figures" / name)


def test_figure_stem_with_a_dot(stored_tables, tmp_path):
    stem = tmp_path / "collapse.power"  # a dot in the stem must survive
    _check_files(plots.plot_collapse(stored_tables["psucc"], stored_tables["collapse"], stem), stem)


FIGURE_CALLS = {
    "psucc": lambda t, stem: plots.plot_psucc(t["psucc"], stem),
    "collapse": lambda t, stem: plots.plot_collapse(t["psucc"], t["collapse"], stem),
    "mc_scaling": lambda t, stem: plots.plot_critical_scaling(t["critical"], t["power_law"], stem,
                                                              local_exponent=t["local_exponent"]),
    "test_error": lambda t, stem: plots.plot_test_error(t["test_error"], stem),
    "solve_time": lambda t, stem: plots.plot_solve_time(t["solve_time"], stem, critical=t["critical"]),
    "stationary": lambda t, stem: plots.plot_stationary(t["stationary"], t["stationary_hist"], t["order"], stem),
    "width": lambda t, stem: plots.plot_width(t["critical"], t["sharpening"], stem),
    "t_eff": lambda t, stem: plots.plot_temperature(t["t_eff"], stem, metropolis=t["metropolis_energy"]),
    "mc_budget": lambda t, stem: plots.plot_mc_budget(t["mc_budget"], t["b_budget"], stem),
    "hitting_time": lambda t, stem: plots.plot_hitting_time(t["hitting_time"], t["hitting_fit"], stem),
}


@pytest.mark.parametrize("figure", list(FIGURE_CALLS))
def test_figures_with_empty_tables(figure, empty_tables, tmp_path):
    # Empty tables with their columns (analyse of no runs) ...
    stem = tmp_path / f"{figure}_empty"
    _check_files(FIGURE_CALLS[figure](empty_tables, stem), stem)
    # ... and tables without even columns.
    bare = {name: pd.DataFrame() for name in empty_tables}
    stem = tmp_path / f"{figure}_bare"
    _check_files(FIGURE_CALLS[figure](bare, stem), stem)


def test_temperature_figure_when_only_other_experiments_have_data(stored_tables, tmp_path):
    # Online experiments only: figure 7 has nothing to show but is still written.
    tables = dict(stored_tables)
    tables["t_eff"] = tables["t_eff"].iloc[:0]
    tables["metropolis_energy"] = tables["metropolis_energy"].iloc[:0]
    stem = tmp_path / "t_eff"
    _check_files(FIGURE_CALLS["t_eff"](tables, stem), stem)


def test_critical_figure_when_no_size_is_bracketed(stored_tables, tmp_path):
    critical = stored_tables["critical"].assign(m_c=np.nan, method="not bracketed")
    stem = tmp_path / "mc"
    _check_files(plots.plot_critical_scaling(critical, stored_tables["power_law"].iloc[:0], stem), stem)

"""The package as a user outside this checkout gets it: build the wheel,
install it into a directory of its own, and run the tiny config's steps
(run, aggregate, analyse, plot) through the installed command, from a
working directory outside the source tree and with the source tree off the
import path. Catches data files missing from the wheel (the config schema)
and any reliance on the checkout's layout.

The wheel is installed with ``pip install --no-deps --target`` and the
dependencies come from the test's own environment, so nothing is downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mbphase import CODE_VERSION, __version__
from mbphase.names import FIGURE_FORMATS, FIGURES, TABLES
from mbphase.pipeline.config import load_config
from mbphase.pipeline.layout import format_temperature

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny_config.yaml"
EXPERIMENT = "sd_parity"  # two points, four seeds: a few seconds


def _build_and_install(tmp: Path) -> Path:
    """The wheel of a copy of the project (a build writes build/ next to the
    sources: not into the checkout), installed into tmp/site; returns it."""
    project = tmp / "project"
    shutil.copytree(REPO / "src", project / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, project / name)
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(project)], check=True, cwd=tmp)
    (wheel,) = wheels.glob("mbphase-*.whl")
    site = tmp / "site"
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)], check=True, cwd=tmp)
    return site


def test_the_installed_wheel_runs_the_tiny_config_end_to_end(tmp_path):
    site = _build_and_install(tmp_path)
    work = tmp_path / "user"  # the user's directory: no source tree in it or above it
    work.mkdir()
    shutil.copy(TINY, work / "config.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NUMBA_CACHE_DIR"))}
    # -P: the working directory is not put on the path; PYTHONPATH holds
    # only the installed copy, which comes before the test environment's
    # site-packages (and its editable install of the checkout)
    env.update(PYTHONPATH=str(site), NUMBA_CACHE_DIR=str(tmp_path / "numba"), MPLBACKEND="Agg")

    def mbphase(*args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-P", "-m", "mbphase", *args], cwd=work, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"mbphase {' '.join(args)} failed:\n{done.stderr}"
        return done

    where = subprocess.run([sys.executable, "-P", "-c", "import mbphase; print(mbphase.__file__)"], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout
    assert (site / "mbphase" / "pipeline" / "config.schema.yaml").is_file()

    config, experiments = load_config(TINY)
    exp = experiments[EXPERIMENT]
    runs_template = f"runs/size{{size}}/m{{m}}_T{{temperature}}_{{init}}/seeds{{first}}-{{stop}}.parquet"
    trajectories_template = runs_template.replace(".parquet", ".trajectory.parquet")
    for point in exp.points:
        for first, stop in exp.seed_blocks():
            fields = dict(size=point.size, m=point.m, temperature=format_temperature(point.temperature), init=point.init, first=first, stop=stop)
            out = work / runs_template.format(**fields)
            out.parent.mkdir(parents=True, exist_ok=True)
            mbphase("run", "--config", "config.yaml", "--experiment", EXPERIMENT, "--size", str(point.size), "--m", str(point.m),
                    "--temperature", repr(float(point.temperature)), "--init", point.init, "--seeds", f"{first}:{stop}", "--threads", "1",
                    "--progress", "off", "--out", str(out), "--trajectory-out", str(out.with_suffix(".trajectory.parquet")))
    spec = {"experiment": exp.name, "seeds": exp.seeds, "base_seed": config["base_seed"], "points": [[p.size, p.m, p.temperature, p.init] for p in exp.points],
            "blocks": [list(b) for b in exp.seed_blocks()], "options": exp.options, "size_key": exp.size_key}
    mbphase("aggregate", "--spec", json.dumps(spec), "--runs-template", runs_template, "--trajectories-template", trajectories_template,
            "--out-runs", "tables/runs.parquet", "--out-trajectories", "tables/trajectories.parquet")
    mbphase("analyse", "--runs", "tables/runs.parquet", "--expected-seeds", str(exp.seeds), "--out-dir", "analysis")
    mbphase("plot", "--analysis", "analysis", "--out-dir", "figures")

    runs = pd.read_parquet(work / "tables" / "runs.parquet")
    assert len(runs) == exp.seeds * len(exp.points)
    assert set(runs["code_version"]) == {CODE_VERSION} and set(runs["mbphase_version"]) == {__version__}
    assert sorted(p.stem for p in (work / "analysis").glob("*.parquet")) == sorted(TABLES)
    assert sorted(p.name for p in (work / "figures").iterdir()) == sorted(f"{name}.{fmt}" for name in FIGURES for fmt in FIGURE_FORMATS)

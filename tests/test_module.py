"""This workflow imported by another one as a Snakemake module with a
prefix (tests/data/module_host/Snakefile): the host passes the sweep with
`config:` and runs with its own --configfile and --config, and every file
mbphase writes lands under the prefix, through to the figures; the host's
own rule sees none of mbphase's shell set-up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mbphase.names import FIGURE, FIGURE_FORMATS, FIGURES, RUNS_TABLE
from test_workflow import REPO, shared_numba_cache, tiny

pytestmark = pytest.mark.slow

HOST = REPO / "tests" / "data" / "module_host" / "Snakefile"


def test_the_workflow_runs_as_a_module_under_a_prefix(tmp_path):
    sweep = tiny()
    # two experiments of the tiny config keep it cheap; both go through every figure
    sweep["experiments"] = {k: v for k, v in sweep["experiments"].items() if k in ("sd_tree", "dd_perceptron")}
    sweep["experiments"]["sd_tree"]["sizes"] = [5]
    host = {"greeting": "the host's own key", "mbphase_snakefile": str(REPO / "Snakefile"), "mbphase": sweep}
    (tmp_path / "host_config.yaml").write_text(yaml.safe_dump(host, sort_keys=False))
    # a --configfile of the host's (it used to clear the module's config) and a --config of its own
    (tmp_path / "host_extra.yaml").write_text("greeting: hello\n")
    shutil.copy2(HOST, tmp_path / "Snakefile")
    (tmp_path / "mbphase").mkdir()
    (tmp_path / "mbphase" / ".numba_cache").symlink_to(shared_numba_cache())
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    done = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--configfile", "host_config.yaml", "host_extra.yaml",
                           "--config", "other=1"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]

    for name in FIGURES:
        for fmt in FIGURE_FORMATS:
            assert (tmp_path / "mbphase" / FIGURE.format(figure=name, fmt=fmt)).stat().st_size > 0
    assert (tmp_path / "mbphase" / RUNS_TABLE.format(experiment="sd_tree")).is_file()
    # nothing outside the prefix but the host's own files (and Snakemake's metadata)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".snakemake", "Snakefile", "host_config.yaml", "host_extra.yaml", "host_step.txt", "mbphase"]
    assert (tmp_path / "host_step.txt").read_text().split("\n")[:2] == ["no mbphase function", "NUMBA_CACHE_DIR=unset"]

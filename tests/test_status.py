"""`mbphase status`: jobs done and missing and the m_c estimates, read from
a results layout on disk."""

from pathlib import Path

import numpy as np
import pandas as pd

from mbphase.cli import main
from mbphase.names import ANALYSIS_TABLE, RUN_FILE
from mbphase.pipeline.config import iter_jobs, load_config
from mbphase.pipeline.layout import format_temperature

TINY = Path(__file__).resolve().parent / "data" / "tiny_config.yaml"


def run_file(root, exp, point, first, stop) -> Path:
    return root / RUN_FILE.format(experiment=exp.name, size=point.size, m=point.m, temperature=format_temperature(point.temperature), init=point.init, first=first, stop=stop)


def test_status_lists_the_missing_jobs_and_the_m_c_estimates(tmp_path, capsys):
    _, experiments = load_config(TINY)
    for exp, (point,), first, stop in iter_jobs(experiments):
        if exp.name == "sd_tree" and not (point.size == 7 and point.m == 48):
            path = run_file(tmp_path, exp, point, first, stop)
            path.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"seed": range(first, stop)}).to_parquet(path)
    critical = pd.DataFrame({"experiment": "sd_tree", "size_key": "d", "size": [7, 5], "init": "random", "temperature": 0.0,
                             "m_c": [np.nan, 11.5], "m_c_err": [np.nan, 1.25], "method": ["not bracketed", "logistic"],
                             "n_seeds": 4, "reason": ["no transition on the grid: P_succ < 1/2 at every m", ""]})
    table = tmp_path / ANALYSIS_TABLE.format(experiment="sd_tree", table="critical")
    table.parent.mkdir(parents=True)
    critical = critical.drop(columns="experiment")  # as written into its partition
    critical.to_parquet(table)

    assert main(["status", "--config", str(TINY), "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("sd_tree: 5 of 6 jobs done, 5 of 6 points complete")
    assert lines[start + 1 : start + 5] == [
        "  missing: d=7 m=48 T=0 init=random seeds 0:4",
        "  m_c d=5: 11.5 +- 1.2 (logistic, 4 seeds)",
        "  m_c d=7: none (no transition on the grid: P_succ < 1/2 at every m)",
        "sd_parity: 0 of 2 jobs done, 0 of 2 points complete",
    ]
    assert lines[start + 7] == "  m_c: not analysed yet"
    headers = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert headers == list(experiments)


def test_status_of_an_empty_directory_says_everything_is_missing(tmp_path, capsys):
    _, experiments = load_config(TINY)
    assert main(["status", "--config", str(TINY), "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("  missing: ") == sum(1 for _ in iter_jobs(experiments))
    assert out.count("not analysed yet") == len(experiments)


def test_status_refuses_a_root_that_is_not_a_directory(tmp_path, capsys):
    assert main(["status", "--config", str(TINY), "--root", str(tmp_path / "nowhere")]) == 2
    assert "--root" in capsys.readouterr().err


def test_status_into_a_reader_that_stops_early_prints_no_traceback(tmp_path):
    import subprocess
    import sys

    # more missing jobs than a pipe holds (64 kB): the writer is still
    # writing when head exits
    config = tmp_path / "config.yaml"
    config.write_text(f"experiments:\n  many: {{architecture: sparse, weights: discrete, K: 3, sizes: [5], seeds: 4, m: {list(range(1, 4001))}}}\n")
    line = subprocess.run(f"{sys.executable} -m mbphase status --config {config} --root {tmp_path} 2>{tmp_path / 'err'} | head -n 1",
                          shell=True, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert line.stdout.startswith("many: 0 of 4000 jobs done")
    assert (tmp_path / "err").read_text() == ""

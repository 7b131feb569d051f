"""The Snakemake workflow, run for real on a tiny config in a copy of the
workflow: every output exists and is well formed; a second run does nothing;
deleting a run file or adding an m value reruns only what depends on it; the
aggregated tables do not depend on --cores or seeds_per_job; bad configs stop
at parse time with a clear message and create no results; lint and format
checks; dry runs of the default config and of the paper preset.

Snakemake is called in a subprocess (`python -m snakemake`), the
version-stable interface. Numba's cache is shared by all workflow copies (and
with the unit tests: the package's default cache directory), so kernels are
compiled at most once per test session.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from mbphase.names import ANALYSIS_TABLE, FIGURES, REPORT_TABLES, RUNS_TABLE, TABLES, TRAJECTORIES_TABLE
from mbphase.pipeline.aggregate import AGGREGATED_COLUMNS, AGGREGATED_TRAJECTORY_COLUMNS
from mbphase.pipeline.config import load_config
from mbphase.pipeline.layout import format_temperature
from mbphase.sim.schema import NONDETERMINISTIC_COLUMNS
from mbphase.pipeline.storage import read_checked

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "data" / "tiny_config.yaml"
BAD = REPO / "tests" / "data" / "bad_configs"
WORKFLOW_FILES = ("Snakefile", "workflow", "envs")


def shared_numba_cache() -> Path:
    """The package's own default cache base (see mbphase.__init__), so the
    workflow copies reuse what the unit tests compiled."""
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mbphase", "numba")
    Path(base).mkdir(parents=True, exist_ok=True)
    return Path(base)


def make_workflow(root: Path, config: dict | str | Path) -> Path:
    """A copy of the workflow in ``root`` with ``config`` as its config.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, root / name)
    (root / "profiles").symlink_to("workflow/profiles")
    (root / ".numba_cache").symlink_to(shared_numba_cache())
    write_config(root, config)
    return root


def write_config(root: Path, config) -> None:
    if isinstance(config, Path):
        config = config.read_text()
    if isinstance(config, dict):
        config = yaml.safe_dump(config, sort_keys=False)
    (root / "config.yaml").write_text(config)


def snakemake(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=root, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-4000:]}\n{done.stderr[-6000:]}")
    return done


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run or dry run."""
    stats = output.split("Job stats:", 1)[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.M) if m.group(1) != "total"}


def tiny() -> dict:
    return yaml.safe_load(TINY.read_text())


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in NONDETERMINISTIC_COLUMNS if c in df.columns]).reset_index(drop=True)


def snapshot(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns for p in sorted(directory.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The tiny config run to completion with --cores 2; the Numba cache is
    snapshotted between the compile job and the rest."""
    root = make_workflow(tmp_path_factory.mktemp("tiny"), TINY)
    snakemake(root, "--cores", "2", "results/numba_compiled.json")
    cache = Path(json.loads((root / "results" / "numba_compiled.json").read_text())["cache_dir"])
    after_compile = snapshot(cache)
    done = snakemake(root, "--cores", "2")
    return {"root": root, "cache": cache, "after_compile": after_compile, "output": done.stdout + done.stderr}


def expected_outputs(config_path: Path) -> dict:
    _, experiments = load_config(config_path)
    return experiments


def test_every_expected_output_exists_and_is_well_formed(tiny_run):
    root = tiny_run["root"]
    experiments = expected_outputs(TINY)
    for name, exp in experiments.items():
        runs = read_checked(root / RUNS_TABLE.format(experiment=name), "runs")
        assert list(runs.columns) == list(AGGREGATED_COLUMNS)
        assert len(runs) == len(exp.points) * exp.seeds
        assert (runs["n_runs"] == exp.seeds).all() and (runs["experiment"] == name).all()
        got = set(zip(runs["size"], runs["m"], runs["temperature"], runs["init"]))
        assert got == {(p.size, p.m, p.temperature, p.init) for p in exp.points}
        assert runs["status"].eq("ok").all()
        order = ["size", "m", "temperature", "init", "seed"]
        assert runs[order].equals(runs[order].sort_values(order, ignore_index=True))
        traj = read_checked(root / TRAJECTORIES_TABLE.format(experiment=name), "trajectory")
        assert list(traj.columns) == list(AGGREGATED_TRAJECTORY_COLUMNS)
        if exp.options.get("trajectory_points"):
            assert len(traj) > 0 and set(traj["seed"]) == set(range(exp.seeds))
        for table in TABLES:
            assert pq.read_table(root / ANALYSIS_TABLE.format(experiment=name, table=table)) is not None
        for point in exp.points:
            for first, stop in exp.seed_blocks():
                stem = f"{name}/size{point.size}/m{point.m}_T{format_temperature(point.temperature)}_{point.init}/seeds{first}-{stop}"
                assert (root / f"results/runs/{stem}.parquet").is_file()
                log = (root / f"results/logs/train/{stem}.log").read_text().splitlines()
                assert log and log[-1].startswith(f"mbphase run: {name} {exp.size_key}={point.size} m={point.m} ")  # the job's summary
                assert (root / f"results/benchmarks/train/{stem}.tsv").is_file()
    psucc = pd.read_parquet(root / ANALYSIS_TABLE.format(experiment="sd_tree", table="psucc"))
    assert psucc["p_succ"].between(0, 1).all() and len(psucc) == len(experiments["sd_tree"].points)
    assert len(pd.read_parquet(root / ANALYSIS_TABLE.format(experiment="finite_teff", table="metropolis_energy"))) > 0
    for figure in FIGURES:
        assert (root / f"results/figures/{figure}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (root / f"results/figures/{figure}.pdf").read_bytes()[:5] == b"%PDF-"
    for log in ("compile.log", "plot.log", "aggregate/sd_tree.log", "analyse/sd_tree.log"):
        assert (root / "results/logs" / log).is_file()
    leftovers = [p for p in (root / "results").rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []


def test_training_jobs_only_load_kernels_compiled_before_the_fan_out(tiny_run):
    assert len(tiny_run["after_compile"]) > 0
    assert snapshot(tiny_run["cache"]) == tiny_run["after_compile"]


def test_the_report_holds_every_figure(tiny_run):
    root = tiny_run["root"]
    snakemake(root, "--report", "report.zip")
    names = subprocess.run(["unzip", "-l", str(root / "report.zip")], capture_output=True, text=True).stdout if shutil.which("unzip") else ""
    if not names:
        import zipfile

        names = "\n".join(zipfile.ZipFile(root / "report.zip").namelist())
    for figure in FIGURES:
        assert f"{figure}.png" in names and f"{figure}.pdf" in names


def chromium() -> str | None:
    """The headless browser of the report test: .ci/run installs it, so in
    CI (the CI environment variable set) its absence is a failure."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("CI"):
        pytest.fail("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
    if found is None:
        pytest.skip("chromium is not installed (CI installs it: apt-get install -y chromium)")
    return found


def test_the_report_renders_in_a_browser_with_every_figure_and_table(tiny_run):
    """(Before the tests that change the tiny run's config.) results/report.html opened in headless Chromium: the page the
    report's JavaScript renders lists every figure's section and the tables'
    (its menu), and the report holds every figure and table file."""
    browser = chromium()
    root = tiny_run["root"]
    snakemake(root, "--report", "results/report.html")
    for name in REPORT_TABLES:
        table = pd.read_csv(root / "results/report" / f"{name}.csv")
        assert len(table) > 0 and list(table.columns)[0] == "experiment", name
    done = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=15000", "--dump-dom",
                           (root / "results/report.html").as_uri()], capture_output=True, text=True, timeout=180)
    dom = done.stdout
    assert "Snakemake Report" in dom, done.stderr[-2000:]
    rendered = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)))
    # (none of the sections is in the page before its JavaScript ran)
    for figure in FIGURES.values():
        assert figure.category in rendered, figure.category
    assert "Tables" in rendered
    for figure in FIGURES:
        assert f"{figure}.png" in dom and f"{figure}.pdf" in dom
    for name in REPORT_TABLES:
        assert f"{name}.csv" in dom


def test_a_second_run_does_nothing(tiny_run):
    root = tiny_run["root"]
    before = snapshot(root / "results")
    done = snakemake(root, "--cores", "2")
    assert "Nothing to be done" in done.stdout + done.stderr
    assert snapshot(root / "results") == before


def test_deleting_a_run_file_reruns_only_that_job_and_what_depends_on_it(tiny_run):
    root = tiny_run["root"]
    victim = root / "results/runs/sd_tree/size7/m16_T0_random/seeds0-4.parquet"
    table = root / RUNS_TABLE.format(experiment="sd_tree")
    old_table = pd.read_parquet(table)
    before = snapshot(root / "results/runs")
    victim.unlink()
    planned = job_counts(snakemake(root, "-n", "--cores", "2").stdout)
    assert planned == {"train": 1, "aggregate": 1, "analyse": 1, "plot": 1, "report_tables": 1, "all": 1}
    snakemake(root, "--cores", "2")
    after = snapshot(root / "results/runs")
    changed = {k for k in after if after[k] != before.get(k)}
    rel = str(victim.relative_to(root / "results/runs"))
    assert changed == {rel, rel.replace(".parquet", ".trajectory.parquet")}  # the outputs of that one job
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(table)), comparable(old_table))


def test_adding_an_m_value_runs_only_the_new_jobs(tiny_run):
    root = tiny_run["root"]
    config = tiny()
    config["experiments"]["sd_tree"]["m"].append(24)
    write_config(root, config)
    try:
        before = snapshot(root / "results/runs")
        planned = job_counts(snakemake(root, "-n", "--cores", "2").stdout)
        sizes = len(config["experiments"]["sd_tree"]["sizes"])
        blocks = -(-config["experiments"]["sd_tree"]["seeds"] // config["experiments"]["sd_tree"]["seeds_per_job"])
        assert planned == {"train": sizes * blocks, "aggregate": 1, "analyse": 1, "plot": 1, "report_tables": 1, "all": 1}
        snakemake(root, "--cores", "2")
        after = snapshot(root / "results/runs")
        assert {k: v for k, v in after.items() if k in before} == before
        assert all("/m24_T0_random/" in k for k in set(after) - set(before))
        runs = pd.read_parquet(root / RUNS_TABLE.format(experiment="sd_tree"))
        assert 24 in set(runs["m"]) and (runs["n_runs"] == config["experiments"]["sd_tree"]["seeds"]).all()
    finally:
        write_config(root, TINY)


def test_tables_do_not_depend_on_cores_seeds_per_job_or_points_per_job(tiny_run, tmp_path):
    """One job per seed and two points per job (m values, temperatures of a
    scan) on one core against the fixture's blocks of four seeds and one
    point on two cores, for a discrete experiment with trajectories, a
    continuous one and the finite-data one (rows depend only on the
    parameters and the seed, so a subset of points is enough)."""
    config = tiny()
    keep = {"sd_tree", "sc_committee", "finite_teff"}
    config["experiments"] = {k: v for k, v in config["experiments"].items() if k in keep}
    config["experiments"]["sd_tree"]["sizes"] = [5]
    config["experiments"]["finite_teff"]["m"] = [4]
    for exp in config["experiments"].values():
        exp["seeds_per_job"] = 1
        exp["points_per_job"] = 2
    root = make_workflow(tmp_path / "one_by_one", config)
    TABLE_OF = {"runs": RUNS_TABLE, "trajectories": TRAJECTORIES_TABLE}
    targets = [TABLE_OF[table].format(experiment=name) for name in sorted(keep) for table in ("runs", "trajectories")]
    snakemake(root, "--cores", "1", *targets)
    for name in sorted(keep):
        for table, keys in (("runs", ["size", "m", "temperature", "init"]), ("trajectories", ["size", "m", "temperature", "init"])):
            mine = pd.read_parquet(root / TABLE_OF[table].format(experiment=name))
            theirs = pd.read_parquet(tiny_run["root"] / TABLE_OF[table].format(experiment=name))
            points = set(map(tuple, mine[keys].drop_duplicates().to_numpy().tolist()))
            mask = pd.Series([tuple(row) in points for row in theirs[keys].to_numpy().tolist()], index=theirs.index, dtype=bool)
            theirs = theirs.loc[mask]
            assert len(mine) == len(theirs) > 0 or table == "trajectories"
            pd.testing.assert_frame_equal(comparable(mine), comparable(theirs))
        assert set(pd.read_parquet(root / RUNS_TABLE.format(experiment=name))["job_seeds"]) == {1}
    # m 4, 16 and 48 of sd_tree: one job for the first two, one for the last
    assert sorted(p.name for p in (root / "results/runs/sd_tree/size5").iterdir()) == ["m4,16_T0_random", "m48_T0_random"]
    # finite_teff: its Metropolis scans, one job per start; m 4 alone
    assert sorted(p.name for p in (root / "results/runs/finite_teff/size5").iterdir()) == ["m40_T0.5,2_random", "m40_T0.5,2_teacher", "m4_T0_random"]

    # A damaged run file (newer than the table, so aggregation reruns) stops
    # the workflow with a message naming it; deleting it and rerunning heals.
    victim = root / "results/runs/sd_tree/size5/m4,16_T0_random/seeds2-3.parquet"
    victim.write_bytes(victim.read_bytes()[:200])
    failed = snakemake(root, "--cores", "1", *targets, check=False)
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert f"mbphase: error: {victim.relative_to(root)}" in text and "delete it" in text
    assert not (root / RUNS_TABLE.format(experiment="sd_tree")).exists()  # no stale table left behind
    victim.unlink()
    snakemake(root, "--cores", "1", *targets)
    assert len(pd.read_parquet(root / RUNS_TABLE.format(experiment="sd_tree"))) == 3 * 4


# ---------------------------------------------------------------- static checks


def test_lint_reports_nothing():
    done = snakemake(REPO, "--lint", check=False)
    text = done.stdout + done.stderr
    assert done.returncode == 0, text
    assert "Lints for" not in text, text


def test_snakefmt_check_passes():
    snakefmt = Path(sys.executable).with_name("snakefmt")
    done = subprocess.run([str(snakefmt), "--check", "Snakefile", "workflow/rules"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_dry_run_of_the_default_config(tmp_path):
    root = make_workflow(tmp_path / "default", REPO / "config.yaml")
    done = snakemake(root, "-n", "--cores", "2")
    counts = job_counts(done.stdout)
    _, experiments = load_config(REPO / "config.yaml")
    n_train = sum(len(e.job_points()) * len(e.seed_blocks()) for e in experiments.values())
    # (a code-version file is planned with the training jobs that read it:
    # an adaptive experiment's only once its first round is placed)
    fixed = sum(1 for e in experiments.values() if e.adaptive is None)
    expected = {"compile": 1, "code_version": fixed, "train": n_train, "aggregate": len(experiments), "analyse": len(experiments), "plot": 1, "report_tables": 1, "all": 1}
    # an adaptive grid's training jobs depend on its rounds: a dry run shows
    # the start plan of every size, the jobs after it only once it is written
    adaptive_sizes = sum(len(e.adaptive.sizes) for e in experiments.values() if e.adaptive)
    if adaptive_sizes:
        expected["adaptive_start"] = adaptive_sizes
    assert counts == expected
    assert not (root / "results").exists()


def test_default_config_covers_every_model_task_and_topology():
    _, experiments = load_config(REPO / "config.yaml")
    opts = [e.options for e in experiments.values()]
    models = {(o["architecture"], o["weights"]) for o in opts}
    assert models == {("sparse", "discrete"), ("sparse", "continuous"), ("dense", "discrete"), ("dense", "continuous")}
    assert {o.get("task", "committee") for o in opts} == {"committee", "parity"}
    sparse_discrete_topologies = {o.get("topology", "tree") for o in opts if (o["architecture"], o["weights"]) == ("sparse", "discrete")}
    assert sparse_discrete_topologies == {"tree", "random"}
    reference = [e for e in experiments.values() if (e.options["architecture"], e.options["weights"], e.options.get("topology", "tree"), e.options.get("task", "committee"), e.options.get("data", "online")) == ("sparse", "discrete", "tree", "committee", "online")]
    assert any(len(set(e.adaptive.sizes) if e.adaptive else {p.size for p in e.points}) >= 4 for e in reference)
    assert any("metropolis_temperatures" in yaml.safe_load((REPO / "config.yaml").read_text())["experiments"][e.name] for e in experiments.values())


def test_a_config_file_on_the_command_line_replaces_config_yaml(tmp_path):
    root = make_workflow(tmp_path / "preset", TINY)
    preset = tiny()
    preset["experiments"] = {"only_this": preset["experiments"]["dd_perceptron"]}
    (root / "preset.yaml").write_text(yaml.safe_dump(preset))
    done = snakemake(root, "-n", "--cores", "2", "--configfile", "preset.yaml")
    counts = job_counts(done.stdout)
    assert counts["train"] == 2 and counts["aggregate"] == 1
    assert "sd_tree" not in done.stdout  # the tiny config's experiments are gone
    assert "(it replaces config.yaml)" in done.stdout + done.stderr


def test_the_paper_preset_is_valid_and_larger_than_the_default():
    _, paper = load_config(REPO / "workflow/presets/paper.yaml")
    _, default = load_config(REPO / "config.yaml")
    for name, exp in default.items():
        big = paper[name]
        for key in ("architecture", "weights", "topology", "task", "K", "d", "data", "train_size", "stop_at_success"):
            assert big.options.get(key) == exp.options.get(key), (name, key)  # the same model under the same name
        assert len({p.size for p in big.points}) >= len({p.size for p in exp.points})
        assert big.seeds >= exp.seeds
    assert sum(len(e.points) * len(e.seed_blocks()) for e in paper.values()) > 10 * sum(len(e.points) * len(e.seed_blocks()) for e in default.values())


def test_every_figure_has_a_caption():
    for figure in FIGURES:
        assert (REPO / "workflow/report" / f"{figure}.rst").read_text().strip()


# ---------------------------------------------------------------- bad configs


def _bad(config_edit) -> dict:
    config = tiny()
    config_edit(config)
    return config


BAD_CONFIGS = {
    "unknown_model": (
        lambda c: c["experiments"]["sd_tree"].update(architecture="sparsest"),
        ["experiment 'sd_tree'", "architecture", "'sparsest'", "sparse | dense"],
    ),
    "non_positive_m": (
        lambda c: c["experiments"]["sd_tree"].update(m=[4, 0, 16]),
        ["experiment 'sd_tree'", "m[1]", "0", ">= 1"],
    ),
    "negative_m": (
        lambda c: c["experiments"]["dd_perceptron"].update(m=[-8]),
        ["experiment 'dd_perceptron'", "m[0]", "-8", ">= 1"],
    ),
    "size_incompatible_with_topology": (
        lambda c: c["experiments"]["dd_perceptron"].update(topology="tree"),
        ["experiment 'dd_perceptron'", "'N'", "5", "K*d = 3", "tree"],
    ),
    "missing_key": (
        lambda c: c["experiments"]["sc_committee"].pop("seeds"),
        ["experiment 'sc_committee'", "missing", "seeds"],
    ),
    "wrong_type": (
        lambda c: c["experiments"]["sd_parity"].update(seeds="many"),
        ["experiment 'sd_parity'", "seeds", "'many'", "integer"],
    ),
    "bad_experiment_name": (
        lambda c: c["experiments"].update({"a/b": c["experiments"].pop("dc_perceptron")}),
        ["experiment 'a/b'", "name", "letters, digits"],
    ),
    # issue 10: accepted at parse before, then a traceback naming no key
    "integral_float_seeds": (
        lambda c: c["experiments"]["sd_parity"].update(seeds=4.0),
        ["experiment 'sd_parity'", "'seeds'", "4.0", "an integer"],
    ),
    "nan_in_m_per_size": (
        lambda c: (c["experiments"]["sd_parity"].pop("m"), c["experiments"]["sd_parity"].update(m_per_size=[float("nan")])),
        ["experiment 'sd_parity'", "m_per_size[0]", "nan", "finite"],
    ),
    "experiment_name_read_as_int": (
        lambda c: c["experiments"].update({123: c["experiments"].pop("dc_perceptron")}),
        ["invalid name 123", "quote it"],
    ),
    "base_seed_beyond_int64": (
        lambda c: c.update(base_seed=2**63),
        ["base_seed", "9223372036854775808", "64-bit"],
    ),
    "max_sweeps_2_70": (
        lambda c: c["experiments"]["sd_parity"].update(max_sweeps=2**70),
        ["max_sweeps", str(2**70), "64-bit"],
    ),
    "too_many_jobs": (
        lambda c: c["experiments"]["sd_parity"].update(seeds=100000, seeds_per_job=1),
        ["training jobs", "at most 50000", "raise seeds_per_job"],
    ),
    "colliding_points": (
        lambda c: c["experiments"]["finite_teff"].update(temperature=0.5, m=[4, 40]),
        ["experiment 'finite_teff'", "'metropolis_temperatures'", "'train_size'", "(size 5, m 40, temperature 0.5)"],
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_a_bad_config_fails_at_parse_time_with_a_clear_message(tmp_path, name):
    edit, needles = BAD_CONFIGS[name]
    root = make_workflow(tmp_path / name, _bad(edit))
    done = snakemake(root, "--cores", "1", check=False)
    text = done.stdout + done.stderr
    assert done.returncode != 0
    assert "mbphase: invalid config:" in text
    for needle in needles:
        assert needle in text, (needle, text)
    assert "Traceback" not in text
    assert not (root / "results").exists()


def test_an_alias_bomb_fails_fast_at_parse_time(tmp_path):
    """Issue 10, case 6: a 9-level bomb in a description exhausted memory."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    text = TINY.read_text().replace("    description: sparse discrete committee on a tree", "    description: *a8")
    root = make_workflow(tmp_path / "bomb", "\n".join(lines) + "\n" + text)
    done = snakemake(root, "-n", "--cores", "1", check=False)
    text = done.stdout + done.stderr
    assert done.returncode != 0 and "values once YAML aliases are expanded" in text and "Traceback" not in text
    assert len(text) < 20000


def test_merge_keys_work_in_the_workflow(tmp_path):
    """Issue 10, case 3: `<<: *common` was a YAML syntax error, with the path printed twice."""
    text = TINY.read_text().replace("defaults:\n  n_test: 400", "defaults: &common\n  n_test: 400")
    text = text.replace("  sd_parity:\n", "  sd_parity:\n    <<: *common\n")
    root = make_workflow(tmp_path / "merge", text)
    done = snakemake(root, "-n", "--cores", "1")
    assert job_counts(done.stdout)["train"] > 0


def test_a_duplicated_experiment_name_fails_at_parse_time(tmp_path):
    """Snakemake's own YAML loading would keep only the second definition."""
    text = TINY.read_text() + "  sd_tree:\n    architecture: dense\n    weights: discrete\n    sizes: [5]\n    m: [3]\n    seeds: 1\n"
    root = make_workflow(tmp_path / "duplicate", text)
    done = snakemake(root, "--cores", "1", check=False)
    text = done.stdout + done.stderr
    assert done.returncode != 0
    assert "mbphase: invalid config: config.yaml: duplicate key 'sd_tree'" in text
    assert not (root / "results").exists()


def test_one_line_loads_exactly_the_runs_of_every_experiment(tiny_run):
    """The Hive layout read by pandas, pyarrow.dataset and DuckDB in one line
    each, and by mbphase's loaders: the runs of every experiment, nothing
    else (no trajectory rows), one experiment column with the right names."""
    import duckdb
    import pyarrow.dataset as ds

    import mbphase

    root = tiny_run["root"]
    names = sorted(expected_outputs(TINY))
    expected = pd.concat([read_checked(root / RUNS_TABLE.format(experiment=n), "runs") for n in names], ignore_index=True)
    assert list(expected.columns) == list(AGGREGATED_COLUMNS) and set(expected["experiment"]) == set(names)

    def same_runs(df):
        assert sorted(df.columns) == sorted(AGGREGATED_COLUMNS) and list(df.columns).count("experiment") == 1
        df = df[list(AGGREGATED_COLUMNS)].astype({"experiment": str})
        order = ["experiment", "size", "m", "temperature", "init", "seed"]
        return df.sort_values(order, ignore_index=True)

    tree = root / "results/tables/runs"
    readers = {
        "pandas": lambda: pd.read_parquet(tree),
        "pyarrow.dataset": lambda: ds.dataset(tree, partitioning="hive").to_table().to_pandas(),
        "duckdb": lambda: duckdb.sql(f"SELECT * FROM '{tree}/*/*.parquet'").df(),
    }
    for reader, read in readers.items():
        got = same_runs(read())
        pd.testing.assert_frame_equal(got, same_runs(expected), check_dtype=False, obj=reader)
    pd.testing.assert_frame_equal(mbphase.load_runs(root), expected)

    trajectories = pd.concat([read_checked(root / TRAJECTORIES_TABLE.format(experiment=n), "trajectory") for n in names], ignore_index=True)
    assert len(trajectories) > 0
    pd.testing.assert_frame_equal(mbphase.load_trajectories(root), trajectories)
    assert len(pd.read_parquet(root / "results/tables/trajectories")) == len(trajectories)
    for table in ("critical", "psucc"):
        loaded = mbphase.load_analysis(table, root)
        assert list(loaded.columns)[0] == "experiment" and set(loaded["experiment"]) <= set(names)
        assert len(loaded) == sum(len(pd.read_parquet(root / ANALYSIS_TABLE.format(experiment=n, table=table))) for n in names)
        assert len(pd.read_parquet(root / "results/analysis" / table)) == len(loaded)


def test_a_code_change_reruns_exactly_the_training_jobs_that_run_it(tiny_run, tmp_path):
    """Training jobs depend on one code-version file per experiment (the
    hash of the simulation sources its model runs), not on the files:
    against a copy of the package, editing the SGD kernel plans the
    continuous students' jobs again and no other, editing a module every
    kernel uses plans them all (dry runs; the compile job reruns too, which
    must not hide them)."""
    import mbphase

    root = tiny_run["root"]
    package = tmp_path / "src" / "mbphase"
    shutil.copytree(Path(mbphase.__file__).resolve().parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "src")}

    def planned_training_jobs() -> int:
        # (--forcerun aggregate: the tables may hold points an earlier test added,
        # which the stale-table check would refuse; only training jobs count here)
        done = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--forcerun", "aggregate"], cwd=root, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr[-4000:]
        return job_counts(done.stdout).get("train", 0)

    imported = subprocess.run([sys.executable, "-c", "import mbphase; print(mbphase.__file__)"], capture_output=True, text=True, env=env)
    assert imported.stdout.strip() == str(package / "__init__.py")
    from mbphase.pipeline.config import iter_jobs

    jobs = list(iter_jobs(expected_outputs(TINY)))
    continuous = sum(1 for exp, *_ in jobs if exp.options.get("weights") == "continuous")
    assert 0 < continuous < len(jobs)
    assert planned_training_jobs() == 0  # the same sources elsewhere: nothing to rerun
    with open(package / "sim" / "sgd.py", "a") as fh:
        fh.write("\n# an edit of the SGD kernel\n")
    assert planned_training_jobs() == continuous
    with open(package / "sim" / "observables.py", "a") as fh:
        fh.write("\n# an edit every kernel sees\n")
    assert planned_training_jobs() == len(jobs)

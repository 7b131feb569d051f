"""Nested config keys from the command line: `key.path=value` with YAML
types (mbphase.pipeline.overrides), in `mbphase --set` and in the workflow's
`--config set=...`, and the nested values of Snakemake's own `--config`
mappings, which it hands over as strings."""

from __future__ import annotations

import pytest
import yaml

from mbphase.cli import main
from mbphase.pipeline.config import ConfigError, check_config, load_yaml
from mbphase.pipeline.overrides import apply_settings, parse_setting, typed, typed_overrides
from test_workflow import TINY, job_counts, make_workflow, snakemake


def test_a_setting_is_a_dotted_path_and_a_yaml_value():
    assert parse_setting("experiments.sd_tree.max_sweeps=100") == (["experiments", "sd_tree", "max_sweeps"], 100)
    assert parse_setting("experiments.sd.m=[4, 8]") == (["experiments", "sd", "m"], [4, 8])
    assert parse_setting("defaults.lr=1.0e-3")[1] == 0.001 and parse_setting("x.stop_at_success=false")[1] is False
    assert parse_setting("x.task=parity")[1] == "parity" and parse_setting("x.description=a=b")[1] == "a=b"
    assert parse_setting("x.description=")[1] is None


@pytest.mark.parametrize("text, needle", [
    ("experiments.sd.max_sweeps", "expected key.path=value"),
    ("experiments..max_sweeps=3", "the key path 'experiments..max_sweeps' has an empty part"),
    ("experiments.sd.m=[4, 8", "is not valid YAML"),
    ("base_seed.x=3", "base_seed is int 7, not a mapping"),
    ("experiments.sd tree.seeds=3", "'sd tree' is not a key name"),
    # Snakemake hands over a YAML list it could not read as one string
    ("[experiments.sd.sizes=[5], base_seed=3]", "needs those settings quoted"),
])
def test_a_bad_setting_says_what_is_wrong(text, needle):
    with pytest.raises(ConfigError, match="set .*" + needle.replace("[", r"\[").replace("(", r"\(")):
        apply_settings({"base_seed": 7}, [text])


def test_settings_apply_in_order_and_the_result_is_validated_like_a_file():
    config = load_yaml(TINY)
    apply_settings(config, ["experiments.sd_tree.max_sweeps=100", "experiments.sd_tree.sizes=[5]", "base_seed=3"])
    experiments = check_config(config)
    assert experiments["sd_tree"].options["max_sweeps"] == 100 and config["base_seed"] == 3
    assert {p.size for p in experiments["sd_tree"].points} == {5}
    with pytest.raises(ConfigError, match="max_sweeps"):
        check_config(apply_settings(load_yaml(TINY), "experiments.sd_tree.max_sweeps=lots"))


def test_nested_values_of_snakemakes_config_get_their_yaml_types():
    # what Snakemake's --config 'experiments={sd: {max_sweeps: 100, m: [4, 8]}}' hands over
    parsed = yaml.load("{sd: {max_sweeps: 100, m: [4, 8], task: parity, stop_at_success: false}}", Loader=yaml.BaseLoader)
    assert parsed["sd"]["max_sweeps"] == "100"
    assert typed(parsed) == {"sd": {"max_sweeps": 100, "m": [4, 8], "task": "parity", "stop_at_success": False}}
    assert typed_overrides({"experiments": parsed, "set": ["a.b=1"], "base_seed": 3}) == {
        "experiments": typed(parsed), "set": ["a.b=1"], "base_seed": 3}


def test_mbphase_status_takes_set(tmp_path, capsys):
    assert main(["status", "--config", str(TINY), "--root", str(tmp_path), "--set", "experiments.sd_tree.sizes=[5]",
                 "--set", "experiments.sd_tree.seeds_per_job=2"]) == 0
    assert "sd_tree: 0 of 6 jobs done, 0 of 3 points complete" in capsys.readouterr().out
    assert main(["status", "--config", str(TINY), "--root", str(tmp_path), "--set", "experiments.sd_tree.seeds=-1"]) == 2
    assert "'seeds'" in capsys.readouterr().err


@pytest.mark.slow
def test_the_workflow_takes_nested_keys_from_the_command_line(tmp_path):
    root = make_workflow(tmp_path / "set", TINY)
    base = job_counts(snakemake(root, "-n", "--cores", "1").stdout)["train"]
    # sd_tree: 2 sizes x 3 m values, 4 seeds in one job each; with one size
    # and a seed per job, 3 points x 4 jobs
    done = snakemake(root, "-n", "--cores", "1", "--config", 'set=["experiments.sd_tree.sizes=[5]", experiments.sd_tree.seeds_per_job=1]')
    assert job_counts(done.stdout)["train"] == base - 6 + 12
    done = snakemake(root, "-n", "--cores", "1", "--config", "experiments={sd_tree: {seeds_per_job: 1}}")
    assert job_counts(done.stdout)["train"] == base - 6 + 24
    failed = snakemake(root, "-n", "--cores", "1", "--config", "set=experiments.sd_tree.max_sweeps=lots", check=False)
    text = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "mbphase: invalid config:" in text and "max_sweeps" in text and "'lots'" in text
    failed = snakemake(root, "-n", "--cores", "1", "--config", "set=experiments.sd_tree", check=False)
    assert failed.returncode != 0 and "mbphase: invalid --config: set 'experiments.sd_tree': expected key.path=value" in failed.stdout + failed.stderr

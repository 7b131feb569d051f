"""Bad configurations fail at parse time, naming the experiment, the key, the
value and what is allowed (issue 6: at least 25 distinct cases)."""

import copy
import textwrap

import pytest
import yaml

from mbphase.pipeline.config import ConfigError, check_config, load_config

GOOD = {
    "base_seed": 1,
    "experiments": {
        "sd": {"architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee", "K": 3, "sizes": [5, 7], "m": [10, 20], "seeds": 4},
        "fin": {"architecture": "sparse", "weights": "discrete", "K": 3, "sizes": [5], "m": [10], "seeds": 2, "data": "finite", "train_size": 40, "metropolis_temperatures": [0.5, 1.0]},
        "dc": {"architecture": "dense", "weights": "continuous", "topology": "random", "K": 1, "d": 3, "sizes": [9], "m_per_size": [1, 2], "seeds": 2, "lr": 2.0},
    },
}


def edited(path, value, delete=False):
    config = copy.deepcopy(GOOD)
    node = config
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return config


# (config, substrings the message must contain)
CASES = {
    "unknown key with suggestion": (edited(["experiments", "sd", "temprature"], 1.0), ["experiment 'sd'", "temprature", "did you mean 'temperature'"]),
    "unknown top-level key": (edited(["base_sed"], 3), ["base_sed", "did you mean 'base_seed'"]),
    "unknown architecture": (edited(["experiments", "sd", "architecture"], "wide"), ["experiment 'sd'", "'architecture'", "'wide'", "sparse | dense"]),
    "unknown weights": (edited(["experiments", "sd", "weights"], "binary"), ["'weights'", "'binary'", "discrete | continuous"]),
    "unknown task": (edited(["experiments", "sd", "task"], "xor"), ["'task'", "'xor'", "committee | parity"]),
    "unknown topology": (edited(["experiments", "sd", "topology"], "ring"), ["'topology'", "'ring'", "tree | random"]),
    "non-positive m": (edited(["experiments", "sd", "m"], [0, 10]), ["experiment 'sd'", "m[0]", "0", ">= 1"]),
    "negative m": (edited(["experiments", "sd", "m"], [-5]), ["m[0]", "-5", ">= 1"]),
    "empty m grid": (edited(["experiments", "sd", "m"], []), ["experiment 'sd'", "'m'", "must not be empty"]),
    "empty sizes": (edited(["experiments", "sd", "sizes"], []), ["'sizes'", "must not be empty"]),
    "no experiments": ({"experiments": {}}, ["experiments", "must not be empty"]),
    "even d with binary inputs": (edited(["experiments", "sd", "sizes"], [4]), ["experiment 'sd'", "'d'", "4", "odd"]),
    "even K for committee": (edited(["experiments", "sd", "K"], 2), ["experiment 'sd'", "'K'", "2", "odd"]),
    "d larger than N": (edited(["experiments", "dc", "d"], 11), ["experiment 'dc'", "'d'", "11", "at most N"]),
    "tree with N != K*d": (edited(["experiments", "sd", "N"], 20), ["experiment 'sd'", "'N'", "20", "K*d"]),
    "negative temperature": (edited(["experiments", "sd", "temperature"], -0.5), ["'temperature'", "-0.5", ">= 0"]),
    "zero lr": (edited(["experiments", "dc", "lr"], 0), ["experiment 'dc'", "'lr'", "0", "> 0"]),
    "negative lr": (edited(["experiments", "dc", "lr"], -1.0), ["'lr'", "-1.0", "> 0"]),
    "seeds_per_job zero": (edited(["experiments", "sd", "seeds_per_job"], 0), ["'seeds_per_job'", "0", ">= 1"]),
    "train_size below m": (edited(["experiments", "fin", "train_size"], 5), ["experiment 'fin'", "'train_size'", "5", "at least the mini-batch size"]),
    "finite without train_size": (edited(["experiments", "fin", "train_size"], None, delete=True), ["experiment 'fin'", "'train_size'"]),
    "metropolis baseline with online data": (edited(["experiments", "sd", "metropolis_temperatures"], [1.0]), ["experiment 'sd'", "'metropolis_temperatures'", "finite"]),
    "missing seeds": (edited(["experiments", "sd", "seeds"], None, delete=True), ["experiment 'sd'", "missing", "seeds"]),
    "missing architecture": (edited(["experiments", "sd", "architecture"], None, delete=True), ["experiment 'sd'", "missing", "architecture"]),
    "both m and m_per_size": (edited(["experiments", "sd", "m_per_size"], [2.0]), ["experiment 'sd'", "'m'", "'m_per_size'", "exactly one"]),
    "neither m nor m_per_size": (edited(["experiments", "sd", "m"], None, delete=True), ["experiment 'sd'", "exactly one"]),
    "wrong type for seeds": (edited(["experiments", "sd", "seeds"], "many"), ["experiment 'sd'", "'seeds'", "'many'", "integer"]),
    "wrong type for K": (edited(["experiments", "sd", "K"], 3.5), ["'K'", "3.5", "integer"]),
    "wrong type for sizes": (edited(["experiments", "sd", "sizes"], 15), ["'sizes'", "15", "array"]),
    "wrong type for stop_at_success": (edited(["experiments", "sd", "stop_at_success"], "yes"), ["'stop_at_success'", "'yes'", "boolean"]),
    "duplicate m values": (edited(["experiments", "sd", "m"], [10, 10]), ["'m'", "[10, 10]", "without repeated values"]),
    "success_threshold of 1": (edited(["experiments", "dc", "success_threshold"], 1.0), ["'success_threshold'", "< 1"]),
    "unknown loss": (edited(["experiments", "dc", "loss"], "hinge"), ["'loss'", "'hinge'", "mse | logistic"]),
    "size key set twice": (edited(["experiments", "sd", "d"], 5), ["experiment 'sd'", "'d'", "set by 'sizes'"]),
    "dense committee with d = 1": (
        edited(["experiments", "dc"], {"architecture": "dense", "weights": "discrete", "topology": "random", "K": 3, "d": 1, "sizes": [9], "m": [5], "seeds": 2}),
        ["experiment 'dc'", "'d'", "1", ">= 3"],
    ),
    "unknown defaults key": (edited(["defaults"], {"max_sweep": 10}), ["defaults", "max_sweep", "did you mean 'max_sweeps'"]),
    "negative base_seed": (edited(["base_seed"], -1), ["base_seed", "-1", ">= 0"]),
    "threads zero": (edited(["threads"], 0), ["threads", "0", ">= 1"]),
}


def test_the_good_config_is_accepted_and_defaults_are_filled():
    config = copy.deepcopy(GOOD)
    experiments = check_config(config)
    assert set(experiments) == {"sd", "fin", "dc"}
    assert config["experiments"]["sd"]["seeds_per_job"] == 8 and config["threads"] == 1
    fin = experiments["fin"]
    assert {(p.m, p.temperature) for p in fin.points} == {(10, 0.0), (40, 0.5), (40, 1.0)}
    assert [p.m for p in experiments["dc"].points] == [9, 18]


def test_there_are_at_least_25_distinct_bad_configs():
    assert len(CASES) >= 25


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_config_is_refused_with_a_clear_message(name):
    config, expected = CASES[name]
    with pytest.raises(ConfigError) as err:
        check_config(config)
    message = str(err.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_yaml_syntax_error_names_the_file(tmp_path):
    path = write(tmp_path, "experiments:\n  sd: {architecture: sparse\n")
    with pytest.raises(ConfigError, match="YAML syntax error"):
        load_config(path)


def test_duplicate_experiment_names_are_refused(tmp_path):
    text = yaml.safe_dump(GOOD, sort_keys=False)
    text += "  sd:\n    architecture: dense\n"
    path = write(tmp_path, text.replace("experiments:\n", "experiments:\n", 1))
    with pytest.raises(ConfigError, match="duplicate key 'sd'"):
        load_config(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


# ---------------------------------------------------------------- issue 10: inputs that crashed at run time, limits, collisions

def _renamed(name):
    config = copy.deepcopy(GOOD)
    config["experiments"] = {name: config["experiments"].pop("sd"), **config["experiments"]}
    return config


ISSUE_10_CASES = {
    "seeds 4.0 (integral float)": (edited(["experiments", "sd", "seeds"], 4.0), ["experiment 'sd'", "'seeds'", "4.0", "an integer"]),
    "seeds_per_job 2.0": (edited(["experiments", "sd", "seeds_per_job"], 2.0), ["experiment 'sd'", "'seeds_per_job'", "2.0", "an integer"]),
    "sizes item 5.0": (edited(["experiments", "sd", "sizes"], [5.0]), ["'sizes[0]'", "5.0", "an integer"]),
    "max_sweeps 4.0": (edited(["experiments", "sd", "max_sweeps"], 4.0), ["experiment 'sd'", "'max_sweeps'", "4.0", "an integer"]),
    "m_per_size NaN": (edited(["experiments", "dc", "m_per_size"], [float("nan")]), ["experiment 'dc'", "m_per_size[0]", "nan", "finite"]),
    "m_per_size inf": (edited(["experiments", "dc", "m_per_size"], [float("inf")]), ["experiment 'dc'", "m_per_size[0]", "inf", "finite"]),
    "temperature -inf": (edited(["experiments", "sd", "temperature"], float("-inf")), ["'temperature'", "-inf", "finite"]),
    "lr NaN in defaults": (edited(["defaults"], {"lr": float("nan")}), ["defaults.lr", "nan", "finite"]),
    "metropolis temperature inf": (edited(["experiments", "fin", "metropolis_temperatures"], [float("inf")]), ["metropolis_temperatures[0]", "inf", "finite"]),
    "experiment name read as int": (_renamed(123), ["experiments", "invalid name 123", "an integer", "quote it"]),
    "experiment name read as bool": (_renamed(True), ["experiments", "invalid name True", "a boolean", "quote it"]),
    "experiment name read as null": (_renamed(None), ["experiments", "invalid name None", "null", "quote it"]),
    "experiment name too long for a directory": (_renamed("x" * 101), ["invalid name", "at most 100 characters"]),
    "non-string key in defaults": (edited(["defaults"], {1: 2}), ["defaults", "invalid name 1", "strings"]),
    "a date value": (edited(["experiments", "sd", "description"], __import__("datetime").date(2024, 1, 1)), ["description", "date", "allowed"]),
    "base_seed 2**63": (edited(["base_seed"], 2**63), ["base_seed", "9223372036854775808", "64-bit", "9223372036854775807"]),
    "max_sweeps 2**70": (edited(["experiments", "sd", "max_sweeps"], 2**70), ["max_sweeps", str(2**70), "64-bit"]),
    "n_test 2**70": (edited(["experiments", "sd", "n_test"], 2**70), ["n_test", str(2**70), "64-bit"]),
    "max_sweeps above its limit": (edited(["experiments", "sd", "max_sweeps"], 10**9), ["experiment 'sd'", "'max_sweeps'", "1000000000", "<= 100000000", "limit"]),
    "n_test above its limit": (edited(["experiments", "sd", "n_test"], 10**9), ["'n_test'", "1000000000", "<= 100000000"]),
    "trajectory_points 1e10": (edited(["experiments", "sd", "trajectory_points"], 10**10), ["'trajectory_points'", "10000000000", "<= 10000"]),
    "m 1e12": (edited(["experiments", "sd", "m"], [10**12]), ["experiment 'sd'", "'m[0]'", "1000000000000", "<= 10000000"]),
    "N x m beyond the pattern limit": (
        edited(["experiments", "dc"], {**GOOD["experiments"]["dc"], "sizes": [20000], "m_per_size": [500]}),
        ["experiment 'dc'", "'m'", "10000000", "at most 5000 with N = 20000", "N x m"],
    ),
    "seeds 1e9": (edited(["experiments", "sd", "seeds"], 10**9), ["experiment 'sd'", "'seeds'", "1000000000", "<= 1000000"]),
    "seeds 100000 with one seed per job": (
        edited(["experiments", "sd"], {**GOOD["experiments"]["sd"], "seeds": 100000, "seeds_per_job": 1}),
        ["'experiments'", "400007 training jobs", "'sd': 400000", "at most 50000", "raise seeds_per_job"],
    ),
    "threads above its limit": (edited(["threads"], 5000), ["threads", "5000", "<= 1024"]),
    "many jobs, fewer with points_per_job": (
        edited(["experiments", "sd"], {**GOOD["experiments"]["sd"], "m": list(range(4, 104)), "seeds": 1000, "seeds_per_job": 1}),
        ["'experiments'", "200007 training jobs", "'sd': 200000", "points_per_job", "at most 50000"],
    ),
    "points_per_job of zero": (edited(["experiments", "sd", "points_per_job"], 0), ["experiment 'sd'", "'points_per_job'", "0", ">= 1"]),
    "points_per_job above its limit": (edited(["experiments", "sd", "points_per_job"], 1001), ["experiment 'sd'", "'points_per_job'", "1001", "<= 1000"]),
    "points_per_job not an integer": (edited(["experiments", "sd", "points_per_job"], 2.0), ["experiment 'sd'", "'points_per_job'", "2.0", "integer"]),
    "K above its limit": (edited(["experiments", "sd", "K"], 1001), ["'K'", "1001", "<= 999"]),
    "m_per_size above its limit": (edited(["experiments", "dc", "m_per_size"], [20000.0]), ["m_per_size[0]", "20000", "<= 10000"]),
    "metropolis point colliding with the grid": (
        edited(["experiments", "fin"], {**GOOD["experiments"]["fin"], "m": [10, 40], "temperature": 0.5}),
        ["experiment 'fin'", "'temperature'", "'metropolis_temperatures'", "'train_size'", "(size 5, m 40, temperature 0.5)", "both a grid point"],
    ),
}


@pytest.mark.parametrize("name", sorted(ISSUE_10_CASES))
def test_issue_10_bad_config_is_refused_at_parse_time(name):
    config, expected = ISSUE_10_CASES[name]
    with pytest.raises(ConfigError) as err:
        check_config(config)
    message = str(err.value)
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_values_at_the_limits_are_accepted():
    from mbphase.sim.params import LIMITS, MAX_INT64

    config = edited(["base_seed"], MAX_INT64)
    config["experiments"]["sd"].update(max_sweeps=LIMITS["max_sweeps"].hi, n_test=LIMITS["n_test"].hi, trajectory_points=LIMITS["trajectory_points"].hi, seeds=LIMITS["seeds"].hi, seeds_per_job=LIMITS["seeds_per_job"].hi)
    check_config(config)


def test_points_per_job_counts_towards_the_job_limit():
    """The sweep of the "many jobs" case above (200,000 one-point jobs) fits
    the limit with ten points per job, and points_per_job's largest value is
    accepted."""
    config = edited(["experiments", "sd"], {**GOOD["experiments"]["sd"], "m": list(range(4, 104)), "seeds": 1000, "seeds_per_job": 1, "points_per_job": 10})
    assert len(check_config(config)["sd"].job_points()) == 2 * 10
    config["experiments"]["sd"]["points_per_job"] = 1000
    assert len(check_config(config)["sd"].job_points()) == 2


def test_a_metropolis_temperature_equal_to_the_experiment_temperature_alone_does_not_collide():
    """Only the same (size, m, temperature) twice shares a file: temperature
    in metropolis_temperatures with train_size outside the m grid, or
    train_size in the m grid at another temperature, are distinct points."""
    fin = GOOD["experiments"]["fin"]
    for change in ({"temperature": 0.5}, {"m": [10, 40]}):
        experiments = check_config(edited(["experiments", "fin"], {**fin, **change}))
        points = experiments["fin"].points
        assert len(set(points)) == len(points)


def test_merge_keys_are_supported_and_duplicates_still_refused(tmp_path):
    """Case 3: `<<: *common` was a YAML syntax error."""
    from mbphase.pipeline.config import load_yaml

    text = """
    base_seed: 1
    defaults: &common {max_sweeps: 5}
    experiments:
      a:
        <<: *common
        architecture: sparse
        m: [4]
      b:
        <<: *common
        max_sweeps: 9
        m: [8]
    """
    data = load_yaml(write(tmp_path, text))
    assert data["experiments"]["a"] == {"max_sweeps": 5, "architecture": "sparse", "m": [4]}
    assert data["experiments"]["b"]["max_sweeps"] == 9  # a written key overrides a merged one
    dup = write(tmp_path, "experiments:\n  a:\n    <<: {K: 3}\n    K: 5\n    K: 7\n")
    with pytest.raises(ConfigError, match="duplicate key 'K' at line 5"):
        load_yaml(dup)


def test_merge_key_config_runs(tmp_path, capsys):
    from mbphase.cli import main

    text = """
    base_seed: 1
    defaults: &base {n_test: 50, max_sweeps: 5}
    experiments:
      a:
        <<: *base
        architecture: sparse
        weights: discrete
        K: 3
        sizes: [5]
        m: [4]
        seeds: 2
    """
    path = write(tmp_path, text)
    assert main(["run", "--config", str(path), "--experiment", "a", "--size", "5", "--m", "4", "--seeds", "0:2", "--out", str(tmp_path / "o.parquet")]) == 0


def test_yaml_errors_name_the_file_once(tmp_path):
    path = write(tmp_path, "experiments:\n  sd: {architecture: sparse\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).count(str(path)) == 1 and "line 3" in str(err.value)


def _bomb(levels: int, where: str = "description") -> str:
    lines = ["base_seed: 1", "a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    lines += ["experiments:", f"  sd: {{{where}: *a{levels - 1}, architecture: sparse, weights: discrete, K: 3, sizes: [5], m: [8], seeds: 2}}"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [8, 9, 30])
def test_an_alias_bomb_is_refused_fast_with_little_memory(tmp_path, levels):
    import time
    import tracemalloc

    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(levels))
    tracemalloc.start()
    start = time.perf_counter()
    with pytest.raises(ConfigError) as err:
        load_config(path)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    message = str(err.value)
    assert "values once YAML aliases are expanded" in message and "limit of 20000" in message
    assert len(message) < 500 and seconds < 5 and peak < 20e6, (len(message), seconds, peak)


def test_a_bomb_handed_over_as_a_parsed_config_is_refused_before_the_schema():
    """The workflow validates Snakemake's own parse of the file."""
    config = yaml.load(_bomb(9), Loader=yaml.SafeLoader)
    with pytest.raises(ConfigError, match="values once YAML aliases are expanded"):
        check_config(config)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("a: &a [*a]\nexperiments: {}\n", "recursive"),
        ("experiments:\n  sd: !!python/object/apply:os.system ['true']\n", "YAML syntax error"),
        ("experiments:\n  sd: !!binary aGVsbG8=\n", "YAML type bytes"),
        ("experiments:\n  sd: !!set {a, b}\n", "YAML type set"),
        ("experiments:\n  ? [a, b]\n  : 1\n", "YAML syntax error"),
        ("experiments: " + "[" * 200 + "]" * 200 + "\n", "nested deeper"),
    ],
)
def test_yaml_tags_and_structures_no_option_accepts(tmp_path, text, expected):
    with pytest.raises(ConfigError, match=expected):
        load_config(write(tmp_path, text))


def test_file_size_and_unreadable_files(tmp_path):
    from mbphase.pipeline.config import MAX_CONFIG_BYTES

    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_CONFIG_BYTES + "\nexperiments: {}\n")
    with pytest.raises(ConfigError, match=f"larger than the limit of {MAX_CONFIG_BYTES} bytes"):
        load_config(big)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path)
    binary = tmp_path / "b.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_the_readme_limits_table_is_the_limits_table():
    """README "Limits" lists every entry of params.LIMITS with its values."""
    import re
    from pathlib import Path

    from mbphase.pipeline.config import MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, MAX_CONFIG_VALUES, MAX_NAME_LENGTH
    from mbphase.sim.params import LIMITS, MAX_JOBS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("### Limits", 1)[1].split("\n## ", 1)[0]

    def fmt(x):
        return str(x) if isinstance(x, int) else f"{x:g}".replace("e+0", "e")

    seen = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        for key in re.findall(r"`(\w+)`", cells[0]):
            if key in LIMITS:
                lim = LIMITS[key]
                assert cells[1] == f"{'> ' if lim.lo_open else ''}{fmt(lim.lo)} to {'< ' if lim.hi_open else ''}{fmt(lim.hi)}", (key, cells[1])
                seen.add(key)
    assert seen == set(LIMITS)
    for number in (MAX_JOBS, MAX_CONFIG_BYTES, MAX_CONFIG_VALUES, MAX_CONFIG_DEPTH, MAX_NAME_LENGTH):
        assert f"at most {number} " in section or f"at most {number}|" in section.replace(" |", "|")


def test_the_options_table_of_docs_model_is_the_declarations():
    """docs/model.md shows exactly the options table the declarations give."""
    from pathlib import Path

    from mbphase.sim.params import options_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "model.md").read_text()
    table = text.split("<!-- options table: generated from the declarations -->\n", 1)[1].split("<!-- end of options table -->", 1)[0]
    assert table == options_markdown()

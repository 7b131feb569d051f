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

"""max_sweeps as a number or as a rule c * size^a: resolution, refusal at
parse time, and the budget columns of the analysis tables."""

import copy

import numpy as np
import pytest

from mbphase.analysis import analyse
from mbphase.pipeline.config import ConfigError, check_config
from mbphase.pipeline.stale import expected_params
from synthetic import transition_runs

CONFIG = {
    "experiments": {
        "e": {"architecture": "sparse", "weights": "discrete", "K": 3, "sizes": [5, 9, 25], "m": [4, 8], "seeds": 2,
              "max_sweeps": {"per_size": 10, "exponent": 0.5}},
    }
}


def with_budget(value, where=("experiments", "e")):
    config = copy.deepcopy(CONFIG)
    config["experiments"]["e"].pop("max_sweeps")
    target = config
    for key in where:
        target = target.setdefault(key, {})
    target["max_sweeps"] = value
    return config


def test_rule_resolves_per_size_and_in_defaults():
    for config in (copy.deepcopy(CONFIG), with_budget({"per_size": 10, "exponent": 0.5}, ("defaults",))):
        exp = check_config(config)["e"]
        assert {p.size: exp.params(p).max_sweeps for p in exp.points} == {5: round(10 * 5**0.5), 9: 30, 25: 50}
        assert exp.budget_rule == "10 * d^0.5"
        # the aggregation's and the stale check's expectation is the resolved integer
        assert expected_params(exp.options, exp.size_key, 9, 4, 0.0)["max_sweeps"] == 30
    assert check_config(with_budget(300))["e"].budget_rule == "fixed"
    assert check_config(with_budget({"per_size": 7, "exponent": 0}))["e"].params(check_config(with_budget({"per_size": 7, "exponent": 0}))["e"].points[0]).max_sweeps == 7


@pytest.mark.parametrize("value, words", [
    ({"per_size": 10, "exponent": -0.5}, ["experiment 'e'", "'max_sweeps.exponent'", "-0.5", ">= 0"]),
    ({"per_size": 10, "power": 1}, ["'max_sweeps.power'", "unknown budget rule", "per_size and exponent"]),
    ({"per_size": 0.1, "exponent": 0.5}, ["'max_sweeps'", "at size 5", "= 0", "between 1 and"]),
    ({"per_size": 10}, ["'max_sweeps'", "'exponent' is missing"]),
    ({"per_size": -1, "exponent": 1}, ["'max_sweeps.per_size'", "-1", "> 0"]),
    ({"per_size": "ten", "exponent": 1}, ["'max_sweeps.per_size'", "'ten'", "a finite number"]),
    ("10 * d^0.5", ["'max_sweeps'", "'10 * d^0.5'", "an integer", "{per_size: c, exponent: a}"]),
    (2.5, ["'max_sweeps'", "2.5", "an integer"]),
])
def test_bad_rules_are_refused_at_parse_time(value, words):
    for where in (("experiments", "e"), ("defaults",)):
        with pytest.raises(ConfigError) as err:
            check_config(with_budget(value, where))
        for word in words:
            assert word in str(err.value), (word, str(err.value))


def test_tables_record_the_per_size_budget_and_the_rule():
    runs = transition_runs(sizes=(15, 25), n_seeds=8)
    runs["max_sweeps"] = np.where(runs["size"] == 15, 100, 200).astype(np.int64)
    tables = analyse(runs, n_boot=2, budget_rule="10 * d^0.5")
    critical = tables["critical"].sort_values("size")
    assert critical["budget"].tolist() == [100.0, 200.0] and (critical["budget_unit"] == "sweeps").all()
    assert all((t["budget_rule"] == "10 * d^0.5").all() for t in tables.values())
    # a table without sizes cannot carry one budget
    assert np.isnan(tables["power_law"]["budget"]).all()
    # without the config's rule, the runs tell only that it changes with size
    assert (analyse(runs, n_boot=2)["critical"]["budget_rule"] == "per size").all()
    runs["max_sweeps"] = 100
    assert (analyse(runs, n_boot=2)["psucc"]["budget_rule"] == "fixed").all()


def test_train_size_rule_gives_p_alpha_n():
    config = copy.deepcopy(CONFIG)
    config["experiments"]["e"].update(data="finite", train_size={"per_size": 30, "exponent": 1}, m=[4, 8])
    exp = check_config(config)["e"]
    assert {p.size: exp.params(p).train_size for p in exp.points} == {5: 150, 9: 270, 25: 750}
    config["experiments"]["e"]["train_size"] = {"per_size": 30, "exponent": -1}
    with pytest.raises(ConfigError, match="train_size.exponent"):
        check_config(config)

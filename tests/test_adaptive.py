"""The adaptive m grid's decisions (mbphase.pipeline.adaptive) on synthetic
P_succ data with a known m_c, and its config block's validation."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.special import expit

from mbphase.pipeline.adaptive import (
    FINAL_STATUSES,
    added_points,
    rounds_added,
    STATUS_CONTINUE,
    STATUS_CONVERGED,
    AdaptiveError,
    Settings,
    choose_points,
    decide,
    lattice_between,
    predicted_bracket,
    round_points,
    snap,
    spread,
    start_plan,
    unresolved_gap,
)
from mbphase.pipeline.config import ConfigError, check_config
from synthetic import bernoulli_runs

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = dict(target_rel_error=0.03, start_points=5, points_per_round=3, max_rounds=8, max_widenings=2, lattice=0.02)


def settings(**changes) -> Settings:
    block = {**SETTINGS, "bracket_per_size": [1.0, 8.0], **changes}
    if "bracket" in changes:
        block.pop("bracket_per_size")
    return Settings.from_dict(block)


def runs_at(ms, size, m_c, width=0.15, seeds=64):
    """Runs of a logistic transition at m_c; each m's outcomes depend on m
    only (a point measured in an earlier round keeps its runs)."""
    prob = lambda m, s: expit((np.log(m) - math.log(m_c)) / width)  # noqa: E731
    return pd.concat([bernoulli_runs(prob, [size], lambda s, m=m: [m], seeds, rng_seed=1000 + m) for m in ms], ignore_index=True)


def refine(s: Settings, size: int, m_c: float, seeds=64, experiment="exp"):
    """Every decision of one size, from the start plan to the last round."""
    state = start_plan(s, size)
    decisions = []
    for r in range(s.max_rounds):
        runs = runs_at(round_points(state), size, m_c, seeds=seeds)
        state = decide(runs, state, s, r, experiment, seeds)
        decisions.append(state)
        if state["status"] != STATUS_CONTINUE:
            break
    return decisions


def test_lattice_is_fixed_integer_and_fine():
    low = lattice_between(1, 45, 0.02)
    assert low == list(range(1, 46))  # below about 1/step every integer is on it
    high = lattice_between(1000, 5000, 0.02)
    ratios = np.diff(np.log(high))
    assert np.all(ratios > 0) and np.all(ratios < 0.021) and np.all(ratios > 0.018)
    # sub-ranges are slices of one lattice: rounds and sizes share points
    assert set(lattice_between(2000, 3000, 0.02)) <= set(high)
    assert snap(2500.3, 0.02) in high and snap(0.3, 0.02) == 1


def test_spread_covers_the_bracket_and_skips_measured_points():
    pts = spread(10, 200, 5, 0.02)
    assert len(pts) == 5 and pts[0] == 10 and pts[-1] == lattice_between(1, 200, 0.02)[-1]
    again = spread(10, 200, 5, 0.02, exclude=pts)
    assert not set(again) & set(pts) and len(again) == 5
    assert spread(10, 12, 5, 0.02) == [10, 11, 12]  # fewer free lattice points than asked


@pytest.mark.parametrize("size,m_c", [(9, 31.0), (21, 95.0)])
def test_refinement_converges_on_the_known_m_c(size, m_c):
    s = settings()
    decisions = refine(s, size, m_c)
    last = decisions[-1]
    assert last["status"] == STATUS_CONVERGED, last["message"]
    assert last["rel_err"] <= s.target_rel_error
    assert abs(last["m_c"] - m_c) < 3 * last["m_c_err"]
    # every round adds points_per_round new lattice points inside the bracket
    for before, after in zip(decisions, decisions[1:]):
        assert set(before["next"]) == set(after["points"]) - set(before["points"])
    lo, hi = last["bracket"]
    assert all(lo <= m <= hi for m in last["points"])
    # the points it added are near the transition: within a factor 1.6 of m_c
    added = set(last["points"]) - set(start_plan(s, size)["points"])
    assert added and all(abs(math.log(m / m_c)) < math.log(1.6) for m in added)


def test_decisions_are_a_deterministic_function_of_the_runs():
    s = settings()
    assert refine(s, 15, 52.0) == refine(s, 15, 52.0)


def test_a_bracket_below_the_transition_is_widened_upwards():
    s = settings(bracket=[4, 16])
    decisions = refine(s, 9, 80.0)
    first = decisions[0]
    assert first["status"] == STATUS_CONTINUE and first["widenings"] == 1
    assert min(first["next"]) >= 16 and first["bracket"][0] == 4 and first["bracket"][1] > 16
    assert decisions[-1]["status"] in FINAL_STATUSES and math.isfinite(decisions[-1]["m_c"])


def test_a_bracket_above_the_transition_is_widened_downwards():
    s = settings(bracket=[64, 256])
    first = refine(s, 9, 20.0)[0]
    assert first["widenings"] == 1 and max(first["next"]) <= 64 and first["bracket"][0] < 64


def test_past_the_widening_limit_it_stops_naming_experiment_and_size():
    s = settings(bracket=[4, 16], max_widenings=1)
    with pytest.raises(AdaptiveError) as err:
        refine(s, 9, 1000.0, experiment="tree")
    text = str(err.value)
    for needed in ("experiment 'tree', size 9", "not in the bracket", "max_widenings = 1", "above"):
        assert needed in text


def test_max_rounds_ends_a_size_that_has_not_converged():
    s = settings(target_rel_error=0.001, max_rounds=2)
    decisions = refine(s, 9, 31.0)
    assert len(decisions) == 2 and decisions[-1]["status"] == "max_rounds" and decisions[-1]["next"] == []


def test_choose_points_prefers_the_transition_and_new_lattice_points():
    measured = [10, 20, 40, 80]
    candidates = lattice_between(10, 80, 0.02)
    chosen = choose_points(measured, 32, math.log(30.0), 0.1, candidates, 3)
    assert len(chosen) == 3 and not set(chosen) & set(measured)
    assert all(abs(math.log(m / 30.0)) < 0.35 for m in chosen)
    assert choose_points(measured, 32, math.log(30.0), 0.1, measured, 3) == []


def test_predicted_bracket_follows_the_power_law_of_the_sizes_done():
    s = settings(predict=True, predict_factor=1.5)
    done = {9: (2.0 * 9**1.5, 1.0), 15: (2.0 * 15**1.5, 1.5)}
    (lo, hi), origin = predicted_bracket(s, 21, done)
    truth = 2.0 * 21**1.5
    assert lo < truth < hi and hi / lo == pytest.approx(2.25, rel=0.05)
    assert "predicted" in origin
    assert predicted_bracket(s, 21, {9: done[9]}) is None  # one size: no power law
    assert start_plan(s, 21, {9: done[9]})["origin"] == "configured"
    assert start_plan(s, 21, done)["origin"].startswith("predicted")


def test_one_size_done_predicts_the_next_from_the_exponent_range():
    s = settings(predict=True, predict_factor=1.2, predict_exponents=[1.0, 3.0])
    (lo, hi), origin = predicted_bracket(s, 15, {9: (19.2, 0.3)})
    assert (lo, hi) == (snap(19.2 * 15 / 9, 0.02), snap(19.2 * (15 / 9) ** 3, 0.02))
    assert "b in [1, 3]" in origin and "size 9" in origin
    # with two sizes done the power law through them wins
    assert "A size^b" in predicted_bracket(s, 21, {9: (19.2, 0.3), 15: (57.0, 0.8)})[1]


def test_a_transition_with_a_saturated_flank_and_a_gap_is_unresolved():
    psucc = {9: 0.0, 15: 0.16, 16: 0.14, 28: 1.0, 86: 1.0}
    assert unresolved_gap(sorted(psucc), psucc, 18.0, 0.02) == (18.0, 28)  # the saturated side only
    low = {9: 0.0, 15: 0.0, 24: 0.7, 86: 1.0}
    assert unresolved_gap(sorted(low), low, 21.0, 0.02) == (15, 21.0)
    # any point inside the transition on a side will do: with few seeds P_succ
    # is not monotone, and a saturated point between it and m_c is noise
    noisy = {3: 0.0, 19: 0.375, 24: 0.25, 28: 1.0, 30: 0.5, 48: 1.0}
    assert unresolved_gap(sorted(noisy), noisy, 24.96, 0.02) is None
    both = {9: 0.0, 12: 0.0, 30: 1.0}
    assert unresolved_gap(sorted(both), both, 19.0, 0.02) == (12, 30)
    # both flanks inside the transition: resolved
    psucc2 = {**psucc, 20: 0.6}
    assert unresolved_gap(sorted(psucc2), psucc2, 18.0, 0.02) is None
    # saturated flanks on neighbouring lattice points: the lattice cannot do better
    sharp = {9: 0.0, 17: 0.0, 18: 1.0, 86: 1.0}
    assert unresolved_gap(sorted(sharp), sharp, 17.5, 0.02) is None


def test_a_precise_fit_across_an_unmeasured_transition_is_not_converged():
    """The case that motivated the rule (the tree committee at d = 9): the
    lower tail and P = 1 far above give a small bootstrap error on an m_c
    that no point tests; the round goes on inside the gap and converges
    once it is resolved, on the known m_c."""
    s = settings(target_rel_error=0.1, points_per_round=2)
    m_c = 19.0
    runs = lambda ms: runs_at(ms, 9, m_c, width=0.08)  # noqa: E731
    state = {"size": 9, "bracket": [9, 86], "points": [9, 15, 16, 28, 86]}
    first = decide(runs(state["points"]), state, s, 1, "exp", 64)
    assert first["psucc"]["28"] == 1.0 and first["psucc"]["16"] < 0.5
    assert first["status"] == STATUS_CONTINUE and "not resolved" in first["message"]
    assert first["next"] and all(first["m_c"] < m < 28 for m in first["next"])
    second = decide(runs(round_points(first)), first, s, 2, "exp", 64)
    assert second["status"] == STATUS_CONVERGED, second["message"]
    assert abs(second["m_c"] - m_c) < 3 * second["m_c_err"]


# ------------------------------------------------------------------ config

GOOD = {
    "experiments": {
        "ad": {"architecture": "sparse", "weights": "discrete", "topology": "tree", "task": "committee", "K": 3, "sizes": [5, 7], "seeds": 4,
               "adaptive": {"bracket": [4, 64]}},
    },
}


def edited(**changes):
    config = copy.deepcopy(GOOD)
    exp = config["experiments"]["ad"]
    for key, value in changes.items():
        if key.startswith("a_"):
            if value is None:
                del exp["adaptive"][key[2:]]
            else:
                exp["adaptive"][key[2:]] = value
        else:
            exp[key] = value
    return config


def test_a_good_adaptive_block_gets_its_defaults_and_no_fixed_points():
    config = copy.deepcopy(GOOD)
    exp = check_config(config)["ad"]
    assert exp.points == () and exp.adaptive.sizes == (5, 7)
    assert config["experiments"]["ad"]["adaptive"]["target_rel_error"] == 0.02
    assert exp.adaptive.settings.bracket == (4, 64)


BAD = {
    "adaptive and m": (edited(m=[4, 8]), ["experiment 'ad'", "'m'", "'adaptive'", "exactly one"]),
    "no bracket": (edited(a_bracket=None), ["experiment 'ad'", "'bracket'", "'bracket_per_size'", "exactly one"]),
    "two brackets": (edited(a_bracket_per_size=[1.0, 4.0]), ["'bracket'", "'bracket_per_size'", "exactly one"]),
    "bracket reversed": (edited(a_bracket=[64, 4]), ["experiment 'ad'", "adaptive.bracket", "[64, 4]", "low < high"]),
    "bracket of three": (edited(a_bracket=[4, 8, 16]), ["experiment 'ad'", "adaptive.bracket", "at most 2"]),
    "bracket not an integer": (edited(a_bracket=[4.5, 64]), ["adaptive.bracket[0]", "4.5", "integer"]),
    "bracket of zero": (edited(a_bracket=[0, 64]), ["adaptive.bracket[0]", "0", ">= 1"]),
    "target of zero": (edited(a_target_rel_error=0), ["adaptive.target_rel_error", "0", "> 0"]),
    "target of one": (edited(a_target_rel_error=1.0), ["adaptive.target_rel_error", "< 1"]),
    "no rounds": (edited(a_max_rounds=0), ["adaptive.max_rounds", ">= 1"]),
    "one start point": (edited(a_start_points=1), ["adaptive.start_points", ">= 2"]),
    "negative widenings": (edited(a_max_widenings=-1), ["adaptive.max_widenings", ">= 0"]),
    "coarse lattice": (edited(a_lattice=0.9), ["adaptive.lattice", "0.9", "<= 0.5"]),
    "predict factor 1": (edited(a_predict_factor=1.0), ["adaptive.predict_factor", "> 1"]),
    "exponents reversed": (edited(a_predict_exponents=[3, 1]), ["experiment 'ad'", "adaptive.predict_exponents", "[3, 1]", "low < high"]),
    "exponent of zero": (edited(a_predict_exponents=[0, 2]), ["adaptive.predict_exponents[0]", "0", "> 0"]),
    "unknown key": (edited(a_target=0.1), ["experiment 'ad'", "unknown key 'target'", "target_rel_error"]),
    "metropolis baseline": (edited(data="finite", train_size=200, metropolis_temperatures=[1.0]), ["'metropolis_temperatures'", "adaptive"]),
    "bracket beyond train_size": (edited(data="finite", train_size=20), ["experiment 'ad'", "train_size", "start bracket"]),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_adaptive_block_is_refused_at_parse_time(name):
    config, needed = BAD[name]
    with pytest.raises(ConfigError) as err:
        check_config(config)
    for text in needed:
        assert text in str(err.value), (name, str(err.value))


def test_status_lists_the_points_placed_so_far(tmp_path):
    import json

    from mbphase.names import ADAPTIVE_ROUND, ADAPTIVE_START, RUN_FILE
    from mbphase.pipeline.status import format_status, sweep_status

    experiments = check_config(copy.deepcopy(GOOD))
    start = tmp_path / ADAPTIVE_START.format(experiment="ad", size=5)
    start.parent.mkdir(parents=True)
    start.write_text(json.dumps({"size": 5, "bracket": [4, 64], "points": [4, 16, 64]}))
    (tmp_path / ADAPTIVE_ROUND.format(experiment="ad", size=5, round=0)).write_text(
        json.dumps({"size": 5, "points": [4, 16, 64], "next": [8, 11], "status": "continue", "message": ""}))
    done = tmp_path / RUN_FILE.format(experiment="ad", size=5, m=4, temperature="0", init="random", first=0, stop=4)
    done.parent.mkdir(parents=True)
    done.write_bytes(b"")
    [status] = sweep_status(experiments, tmp_path)
    assert sorted(p.m for (p,), _, _ in status.missing) == [8, 11, 16, 64] and [p.m for (p,), _, _ in status.done] == [4]
    text = "\n".join(format_status([status]))
    assert "d=5: 1 round(s) decided, 5 m values, round 1 running" in text and "d=7: not started" in text


def test_the_points_a_round_adds_share_its_jobs():
    start = {"size": 5, "bracket": [4, 64], "origin": "configured", "points": [4, 16, 64]}
    decision = {"round": 0, "size": 5, "points": [4, 16, 64], "next": [8, 11], "status": STATUS_CONTINUE}
    final = {"round": 1, "size": 5, "points": [4, 8, 11, 16, 64], "next": [], "status": STATUS_CONVERGED}
    assert added_points(start) == [4, 16, 64] and added_points(decision) == [8, 11] and added_points(final) == []
    assert rounds_added([start, decision, final]) == [[4, 16, 64], [8, 11]]  # the final decision starts no round
    config = copy.deepcopy(GOOD)
    config["experiments"]["ad"]["points_per_job"] = 2
    exp = check_config(config)["ad"]
    assert exp.job_points() == []  # no points before the rounds place them
    grid = exp.adaptive
    placed = exp.with_rounds([[grid.point(5, m) for m in (64, 4, 16)], [grid.point(5, m) for m in (8, 11)], [grid.point(7, 20)]])
    assert [p.m for p in placed.points] == [4, 16, 64, 8, 11, 20]
    assert [[p.m for p in job] for job in placed.job_points()] == [[4, 16], [64], [8, 11], [20]]
    placed = check_config(copy.deepcopy(GOOD))["ad"].with_rounds(placed.rounds)  # one point per job
    assert [[p.m for p in job] for job in placed.job_points()] == [[4], [16], [64], [8], [11], [20]]


def test_the_prediction_follows_the_local_exponent_of_the_two_largest_sizes():
    # an effective exponent that drifts with size (2.2, then 1.6): the power
    # law through the two largest sizes done predicts the next one, a fit to
    # all three would not
    done = {9: (20.0, 0.3), 15: (20.0 * (15 / 9) ** 2.2, 0.8)}
    done[21] = (done[15][0] * (21 / 15) ** 1.6, 1.3)
    truth = done[21][0] * (27 / 21) ** 1.6
    s = settings(predict=True, predict_factor=1.05)
    (lo, hi), origin = predicted_bracket(s, 27, done)
    assert lo < truth < hi and "[15, 21]" in origin and "b = 1.600" in origin


def test_the_default_sweeps_block_converges_on_a_sharp_and_a_wide_transition():
    # config.yaml's block (3 start points, 2 per round) on transitions as wide
    # as the tree committee's at d = 9 (w = 0.12) and sharper than at d = 27
    block = yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"]["sparse_discrete_committee_tree"]["adaptive"]
    s = Settings.from_dict({**SETTINGS, "max_rounds": 6, **block})
    for size, m_c, width in [(9, 19.5, 0.12), (27, 150.0, 0.03)]:
        state, decisions = start_plan(s, size), []
        for r in range(s.max_rounds):
            state = decide(runs_at(round_points(state), size, m_c, width=width), state, s, r, "exp", 64)
            decisions.append(state)
            if state["status"] != STATUS_CONTINUE:
                break
        last = decisions[-1]
        assert last["status"] == STATUS_CONVERGED and abs(last["m_c"] - m_c) < 3 * last["m_c_err"], last["message"]
        assert all(len(d["next"]) <= 2 for d in decisions)


def test_the_benchmark_measures_the_default_sweeps_block():
    import importlib.util

    spec = importlib.util.spec_from_file_location("adaptive_grid", ROOT / "benchmarks" / "adaptive_grid.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    block = yaml.safe_load((ROOT / "config.yaml").read_text())["experiments"][bench.EXPERIMENT]["adaptive"]
    assert block == bench.ADAPTIVE


def test_a_round_job_imports_only_the_estimator_it_uses():
    # the checkpoint job's imports (cmd_adaptive_round): not the whole
    # analysis package and the parts of SciPy its other modules need
    code = ("import sys, mbphase.cli, mbphase.pipeline.aggregate, mbphase.pipeline.stale, mbphase.analysis.critical; "
            "from mbphase.pipeline.adaptive import estimate; "
            "print(sorted(m for m in ('scipy.stats', 'scipy.optimize', 'mbphase.analysis.collapse', 'mbphase.analysis.tables') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    import mbphase.analysis as analysis

    for name in analysis.__all__:  # the package's names still resolve, on first use
        assert getattr(analysis, name) is not None

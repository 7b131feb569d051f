"""The initial-state option (random | teacher) and the SGD budget in samples
per weight (alpha = steps * m / fan_in)."""

import math

import numpy as np
import pytest

from mbphase.pipeline.config import check_config
from mbphase.sim.params import ParamError, make_params
from mbphase.sim.run import prepare_seeds, run_point
from naive import same_function


@pytest.mark.parametrize(
    "opts",
    [
        dict(architecture="sparse", weights="discrete", K=3, d=5),
        dict(architecture="sparse", weights="discrete", K=3, d=5, task="parity"),
        dict(architecture="dense", weights="discrete", topology="random", K=1, d=3, N=9),
        dict(architecture="dense", weights="discrete", topology="tree", K=3, d=3),
    ],
)
def test_teacher_start_computes_the_teacher(opts):
    p = make_params({**opts, "m": 8, "init": "teacher", "max_sweeps": 5})
    inputs = prepare_seeds(p, base_seed=3, seeds=[0, 1, 2])
    for s in range(3):  # the naive reference, on every binary input
        assert same_function(inputs.student_weights[s], inputs.student_inputs[s], inputs.teacher_weights[s], inputs.teacher_fields[s], p.task, p.n_inputs)
    runs, _ = run_point(p, [0, 1, 2], base_seed=3)
    assert (runs["t_solve"] == 0).all() and np.allclose(runs["q"], 1.0) and (runs["init"] == "teacher").all()


def test_random_start_is_unchanged_by_the_option():
    p = make_params(dict(K=3, d=5, m=8, max_sweeps=5))
    q = make_params(dict(K=3, d=5, m=8, max_sweeps=5, init="random"))
    a, _ = run_point(p, [0, 1], base_seed=3)
    b, _ = run_point(q, [0, 1], base_seed=3)
    np.testing.assert_array_equal(a["q"], b["q"])


@pytest.mark.parametrize("m", [1, 4, 7])
def test_samples_per_weight_sets_the_steps(m):
    opts = dict(architecture="sparse", weights="continuous", K=3, d=5, m=m, samples_per_weight=30.0, eval_every=7, stop_at_success=False, n_test=64)
    p = make_params(opts)
    assert p.sgd_steps == math.ceil(30.0 * 5 / m)
    runs, _ = run_point(p, [0], base_seed=1)
    assert int(runs["t_run"].iloc[0]) == p.sgd_steps
    assert runs["samples_per_weight"].iloc[0] == 30.0
    # without it, max_steps is the budget
    assert make_params({**opts, "samples_per_weight": None, "max_steps": 11}).sgd_steps == 11


@pytest.mark.parametrize("key, value", [("samples_per_weight", 0), ("samples_per_weight", -1.0), ("samples_per_weight", "many"), ("init", "zero")])
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ParamError, match=key):
        make_params({key: value})


def test_metropolis_points_run_from_both_starts():
    config = {
        "experiments": {
            "t": dict(architecture="sparse", weights="discrete", K=3, sizes=[5], m=[4, 8], seeds=2, data="finite", train_size=20, metropolis_temperatures=[1.0, 2.0]),
        }
    }
    exp = check_config(config)["t"]
    starts = sorted((p.m, p.temperature, p.init) for p in exp.points)
    assert starts == [(4, 0.0, "random"), (8, 0.0, "random"), (20, 1.0, "random"), (20, 1.0, "teacher"), (20, 2.0, "random"), (20, 2.0, "teacher")]
    assert exp.params(exp.points[-1]).init in ("random", "teacher")

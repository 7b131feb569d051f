"""Overlap, exact success and test error against brute-force references."""

import itertools

import numpy as np
import pytest

import naive
from mbphase.sim import observables as obs
from mbphase.sim import rng
from mbphase.sim.params import make_params
from mbphase.sim.teacher import COMMITTEE, PARITY, make_teacher

TASKS = {"committee": COMMITTEE, "parity": PARITY}


def teacher_for(seed, K, d, N, topology="random"):
    p = make_params(dict(K=K, d=d, N=N, topology=topology))
    return make_teacher(p, np.random.SeedSequence(seed))


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("task", ["committee", "parity"])
def test_overlap_matches_brute_force(seed, task):
    r = np.random.default_rng(seed)
    K = int(r.choice([1, 3, 5]))
    d = int(r.choice([1, 3, 5]))
    N = K * d + int(r.integers(0, 3))
    t = teacher_for(seed, K, d, N)
    # sparse student, real weights
    W = r.standard_normal((K, d))
    assert obs.overlap(W, t.fields, t.weights, t.fields, N, TASKS[task], False) == pytest.approx(
        naive.overlap(W, t.fields, t.weights, t.fields, N, task, False), abs=1e-12
    )
    # dense student with some all-zero units
    Wd = r.choice([-1.0, 0.0, 1.0], size=(K, N))
    Wd[r.random(K) < 0.2] = 0.0
    dense_inputs = np.tile(np.arange(N), (K, 1))
    assert obs.overlap(Wd, dense_inputs, t.weights, t.fields, N, TASKS[task], True) == pytest.approx(
        naive.overlap(Wd, dense_inputs, t.weights, t.fields, N, task, True), abs=1e-12
    )


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("task", ["committee", "parity"])
def test_exact_success_matches_brute_force_on_near_solutions(seed, task):
    """Students built from the teacher by permuting units, negating units and
    perturbing single weights: the DP criterion equals the brute force one."""
    r = np.random.default_rng(100 + seed)
    K = int(r.choice([1, 3, 5]))
    d = int(r.choice([1, 3]))
    N = K * d + int(r.integers(0, 3))
    t = teacher_for(seed, K, d, N)
    dense_inputs = np.tile(np.arange(N), (K, 1))
    B = naive.dense_vectors(t.weights, t.fields, N)
    for _ in range(10):
        perm = r.permutation(K)
        signs = r.choice([-1.0, 1.0], size=K) if r.random() < 0.5 else np.ones(K)
        Wd = signs[:, None] * B[perm]
        if r.random() < 0.3:
            Wd[r.integers(K), r.integers(N)] = r.choice([-1.0, 0.0, 1.0])
        got = obs.exact_success(Wd, dense_inputs, t.weights, t.fields, N, TASKS[task], True)
        assert got == naive.exact_success(Wd, dense_inputs, t.weights, t.fields, N, task, True)
        Ws = signs[:, None] * t.weights  # sparse student, identity wiring
        got = obs.exact_success(Ws, t.fields, t.weights, t.fields, N, TASKS[task], False)
        assert got == naive.exact_success(Ws, t.fields, t.weights, t.fields, N, task, False)


def all_students(values, K, F):
    for flat in itertools.product(values, repeat=K * F):
        yield np.array(flat, dtype=float).reshape(K, F)


@pytest.mark.parametrize(
    "K,d,N,topology,task",
    [
        (3, 3, 9, "tree", "committee"),
        (3, 3, 9, "tree", "parity"),
        (3, 3, 5, "random", "committee"),
        (3, 3, 5, "random", "parity"),
        (3, 3, 7, "random", "committee"),
        (1, 5, 5, "tree", "committee"),
        (1, 3, 6, "random", "parity"),
        (5, 1, 5, "tree", "parity"),
    ],
)
def test_success_is_exact_for_sparse_students(K, d, N, topology, task):
    """Every +-1 sparse student: the run's success criterion holds iff the
    student computes the teacher's function on all 2^N inputs. Where the
    weights decide (tree, or K = 1) the weight test alone must be exact."""
    t = teacher_for(7, K, d, N, topology)
    X = naive.all_binary_inputs(N)
    target = naive.network_output(t.weights, t.fields, task, X)
    check_function = not obs.weights_decide_success("sparse", topology, K)
    state = rng.xoshiro_state(np.random.SeedSequence(0))
    for W in all_students((-1.0, 1.0), K, d):
        same = np.array_equal(naive.network_output(W, t.fields, task, X), target)
        method = obs.success_method(W, t.fields, t.weights, t.fields, TASKS[task], N, False, check_function, False, 1000, state)
        assert (method != obs.METHOD_NONE) == same
        if not check_function:
            assert method in (obs.METHOD_NONE, obs.METHOD_WEIGHTS)


def test_overlapping_fields_admit_other_weights_for_the_same_function():
    """Why the random topology compares functions: a student whose weights
    differ from the teacher's computes the same committee (found by the
    exhaustive test above with K = 3, d = 3, N = 5)."""
    t = teacher_for(7, 3, 3, 5, "random")
    found = [
        W for W in all_students((-1.0, 1.0), 3, 3)
        if naive.same_function(W, t.fields, t.weights, t.fields, "committee", 5)
        and not naive.exact_success(W, t.fields, t.weights, t.fields, 5, "committee", False)
    ]
    assert found
    state = rng.xoshiro_state(np.random.SeedSequence(0))
    assert obs.success_method(found[0], t.fields, t.weights, t.fields, COMMITTEE, 5, False, True, False, 1000, state) == obs.METHOD_ENUMERATION


def test_functional_success_on_the_test_set_beyond_enumeration():
    """N > ENUMERATION_MAX_INPUTS: a student equal to the teacher up to a
    permutation decides by weights; a wrong one fails on the test set."""
    K, d, N = 3, 7, 21
    t = teacher_for(2, K, d, N, "random")
    state = rng.xoshiro_state(np.random.SeedSequence(0))
    assert obs.success_method(t.weights.copy(), t.fields, t.weights, t.fields, COMMITTEE, N, False, True, False, 1000, state) == obs.METHOD_WEIGHTS
    W = t.weights.copy()
    W[0, 0] *= -1
    assert obs.success_method(W, t.fields, t.weights, t.fields, COMMITTEE, N, False, True, False, 1000, state) == obs.METHOD_NONE


@pytest.mark.parametrize("d,N", [(1, 4), (3, 4), (3, 5), (5, 6)])
def test_weight_criterion_is_exact_for_dense_perceptrons(d, N):
    """Every {-1,0,+1} dense perceptron student (K = 1)."""
    t = teacher_for(3, 1, d, N)
    X = naive.all_binary_inputs(N)
    target = naive.network_output(t.weights, t.fields, "committee", X)
    inputs = np.arange(N)[None, :]
    for W in all_students((-1.0, 0.0, 1.0), 1, N):
        same = np.array_equal(naive.network_output(W, inputs, "committee", X), target)
        assert obs.exact_success(W, inputs, t.weights, t.fields, N, COMMITTEE, True) == same


@pytest.mark.parametrize("task", ["committee", "parity"])
def test_weight_criterion_is_exact_for_dense_committees_one_unit_away(task):
    """Dense K = 3 students that equal the (permuted) teacher except for one
    arbitrary {-1,0,+1} unit: all 3^N choices of that unit, for each slot.
    (Exhaustive over all students is 3^(K N), out of reach; the one-unit
    neighbourhood is where a counterexample would sit, as the d = 1 case
    shows: there a majority of the three inputs replaces a unit.)"""
    K, d, N = 3, 3, 9
    t = teacher_for(5, K, d, N, "tree")
    X = naive.all_binary_inputs(N)
    target = naive.network_output(t.weights, t.fields, task, X)
    inputs = np.tile(np.arange(N), (K, 1))
    B = naive.dense_vectors(t.weights, t.fields, N)[[2, 0, 1]]
    for slot in range(K):
        for unit in itertools.product((-1.0, 0.0, 1.0), repeat=N):
            W = B.copy()
            W[slot] = unit
            same = np.array_equal(naive.network_output(W, inputs, task, X), target)
            assert obs.exact_success(W, inputs, t.weights, t.fields, N, TASKS[task], True) == same


def test_dense_committee_with_d1_has_a_counterexample_and_is_rejected():
    """Why params.validate refuses d = 1 for dense discrete committees."""
    N = 3
    T = np.ones((3, 1))
    fields = np.arange(3)[:, None]
    inputs = np.tile(np.arange(N), (3, 1))
    W = np.array([[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 1.0]])  # third unit: majority of all three
    assert naive.same_function(W, inputs, T, fields, "committee", N)
    assert not obs.exact_success(W, inputs, T, fields, N, COMMITTEE, True)
    with pytest.raises(ValueError, match="'d'"):
        make_params(dict(architecture="dense", K=3, d=1, N=3, topology="random"))


@pytest.mark.parametrize("d", [1, 3, 5, 9, 15])
def test_gen_error_agrees_with_exact_enumeration(d):
    """K = 1: the test-set error of random students is within its standard
    error of the exact error over all 2^d inputs (z-scores are checked
    individually at 3 sigma and on average)."""
    t = teacher_for(d, 1, d, d, "tree")
    r = np.random.default_rng(d)
    z = []
    for i in range(6):
        W = r.choice([-1.0, 1.0], size=(1, d))
        exact = naive.exact_gen_error(W, t.fields, t.weights, t.fields, "committee", d)
        state = rng.xoshiro_state(np.random.SeedSequence([d, i]))
        n_test = 10000
        est = obs.test_error_sign(W, t.fields, t.weights, t.fields, COMMITTEE, d, False, n_test, state)
        se = max(obs.binomial_se(exact, n_test), 1e-12)
        if exact in (0.0, 1.0):
            assert est == exact
            continue
        z.append((est - exact) / se)
        assert abs(z[-1]) < 3
    if z:
        assert abs(np.mean(z)) < 3 / np.sqrt(len(z))


def test_test_set_is_the_same_at_every_evaluation():
    t = teacher_for(1, 3, 3, 9, "tree")
    W = np.random.default_rng(0).choice([-1.0, 1.0], size=(3, 3))
    state = rng.xoshiro_state(np.random.SeedSequence(1))
    before = state.copy()
    a = obs.test_error_sign(W, t.fields, t.weights, t.fields, COMMITTEE, 9, False, 500, state)
    b = obs.test_error_sign(W, t.fields, t.weights, t.fields, COMMITTEE, 9, False, 500, state)
    assert a == b
    np.testing.assert_array_equal(state, before)


def test_log_times_are_distinct_and_span_the_run():
    times = obs.log_times(2000, 20)
    assert times[0] == 1 and times[-1] == 2000
    assert np.all(np.diff(times) > 0)
    assert obs.log_times(100, 0).size == 0


@pytest.mark.parametrize("seed", range(6))
def test_test_error_sign_on_bitsets_counts_as_pattern_by_pattern(seed):
    """Random sign networks (fan-ins odd and even, +-1 or ternary weights,
    K odd and even, N across one to three 64-bit words, n_test not a multiple
    of 64): the error rate is the naive one on the test stream's patterns,
    whichever path bits_network picks, and the bitset path is taken exactly
    for +-1 networks with odd fan-ins (and odd K for a committee)."""
    from mbphase.sim import bitsets
    from mbphase.sim.patterns import draw_patterns

    r = np.random.default_rng(1000 + seed)
    for _ in range(12):
        K = int(r.integers(1, 6))
        F, d = int(r.integers(1, 16)), int(r.integers(1, 16))
        N = max(F, d) + int(r.integers(0, 150))
        task = ["committee", "parity"][int(r.integers(0, 2))]
        code = COMMITTEE if task == "committee" else PARITY
        ternary = bool(r.random() < 0.3)
        W = r.choice([-1.0, 0.0, 1.0] if ternary else [-1.0, 1.0], size=(K, F))
        T = r.choice([-1.0, 1.0], size=(K, d))
        w_inputs = np.stack([np.sort(r.choice(N, F, replace=False)) for _ in range(K)]).astype(np.int64)
        t_fields = np.stack([np.sort(r.choice(N, d, replace=False)) for _ in range(K)]).astype(np.int64)
        n_test = int(r.integers(1, 700))
        state = rng.xoshiro_state(np.random.SeedSequence([seed, n_test]))
        before = state.copy()
        X = np.empty((N, n_test))
        draw_patterns(state.copy(), False, X)
        expected = float(np.mean(naive.network_output(W, w_inputs, task, X) != naive.network_output(T, t_fields, task, X)))
        eligible = bool((np.abs(W) == 1).all() and F % 2 == 1 and d % 2 == 1 and (task == "parity" or K % 2 == 1))
        assert (bitsets.bits_network(W, w_inputs, code) and bitsets.bits_network(T, t_fields, code)) == eligible
        assert obs.test_error_sign(W, w_inputs, T, t_fields, code, N, False, n_test, state) == pytest.approx(expected, abs=0)
        assert obs.test_error_by_pattern(W, w_inputs, T, t_fields, code, N, False, n_test, state) == pytest.approx(expected, abs=0)
        if eligible:
            assert bitsets.test_error_bits(W, w_inputs, T, t_fields, code, N, n_test, state) == pytest.approx(expected, abs=0)
        np.testing.assert_array_equal(state, before)

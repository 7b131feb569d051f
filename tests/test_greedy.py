"""The greedy/Metropolis kernel against the naive references, over random
sizes, tasks, weight alphabets, input distributions and seeds."""

import numpy as np
import pytest

import naive
from mbphase.sim import greedy, patterns, rng
from mbphase.sim.params import make_params
from mbphase.sim.run import prepare_seeds
from mbphase.sim.teacher import COMMITTEE, PARITY, make_teacher, sign_network_labels, sign_network_output

CASES = [(seed, task, ternary, gaussian) for seed in range(6) for task in (COMMITTEE, PARITY) for ternary in (False, True) for gaussian in (False, True)]


def random_network(seed, task, ternary, gaussian):
    """A random teacher, student and labelled batch of random sizes."""
    r = np.random.default_rng(seed)
    K = int(r.choice([1, 3, 5]))
    d = int(r.choice([1, 3, 5, 7]))
    N = K * d + int(r.integers(0, 4))
    m = int(r.integers(1, 40))
    p = make_params(dict(K=K, d=d, N=N, topology="random", m=m, task="committee" if task == COMMITTEE else "parity"))
    teacher = make_teacher(p, np.random.SeedSequence(seed))
    if ternary:
        w_inputs = np.tile(np.arange(N), (K, 1))
        W = r.choice([-1.0, 0.0, 1.0], size=(K, N))
    else:
        w_inputs = teacher.fields
        W = r.choice([-1.0, 1.0], size=(K, d))
    X = r.standard_normal((N, m)) if gaussian else r.choice([-1.0, 1.0], size=(N, m))
    y = naive.network_output(teacher.weights, teacher.fields, "committee" if task == COMMITTEE else "parity", X)
    return teacher, W, w_inputs, X, y, r


def task_name(task):
    return "committee" if task == COMMITTEE else "parity"


@pytest.mark.parametrize("seed,task,ternary,gaussian", CASES)
def test_labels_and_batch_energy_match_naive(seed, task, ternary, gaussian):
    teacher, W, w_inputs, X, y, _ = random_network(seed, task, ternary, gaussian)
    labels = np.empty(X.shape[1])
    sign_network_labels(teacher.weights, teacher.fields, task, X, labels)
    np.testing.assert_array_equal(labels, y)
    K, m = W.shape[0], X.shape[1]
    H, S, C = np.empty((K, m)), np.empty((K, m)), np.empty(m)
    E = greedy.batch_state(W, w_inputs, task, X, y, H, S, C)
    assert E == naive.energy(W, w_inputs, task_name(task), X, y)
    for k in range(K):
        np.testing.assert_allclose(H[k], W[k] @ X[w_inputs[k]], atol=1e-12)
    np.testing.assert_array_equal(S, naive.hidden_signs(W, w_inputs, X))


@pytest.mark.parametrize("seed,task,ternary,gaussian", CASES)
def test_flip_energy_change_and_update_match_recomputation(seed, task, ternary, gaussian):
    teacher, W, w_inputs, X, y, r = random_network(seed, task, ternary, gaussian)
    K, F = W.shape
    m = X.shape[1]
    H, S, C = np.empty((K, m)), np.empty((K, m)), np.empty(m)
    E = greedy.batch_state(W, w_inputs, task, X, y, H, S, C)
    for _ in range(30):
        k, j = int(r.integers(K)), int(r.integers(F))
        new = float(r.choice([v for v in ((-1.0, 0.0, 1.0) if ternary else (-1.0, 1.0)) if v != W[k, j]]))
        delta = new - W[k, j]
        dE = greedy.flip_delta_energy(k, w_inputs[k, j], delta, task, X, y, H, S, C)
        assert dE == naive.flip_energy_change(W, w_inputs, task_name(task), X, y, k, j, new)
        if r.random() < 0.5:  # accept: the incremental state must equal a fresh one
            W[k, j] = new
            greedy.apply_flip(k, w_inputs[k, j], delta, task, X, H, S, C)
            E += dE
            H2, S2, C2 = np.empty((K, m)), np.empty((K, m)), np.empty(m)
            assert greedy.batch_state(W, w_inputs, task, X, y, H2, S2, C2) == E
            np.testing.assert_allclose(H, H2, atol=1e-9)
            np.testing.assert_array_equal(S, S2)
            np.testing.assert_allclose(C, C2, atol=1e-12)


@pytest.mark.parametrize("n_patterns", [4, 8, 70])
def test_pattern_stream_matches_naive_bit_extraction(n_patterns):
    state = rng.xoshiro_state(np.random.SeedSequence(3))
    for n_inputs in (1, 5, 63, 64, 65, 130):
        outputs = naive.xoshiro_reference(list(state), n_patterns * (-(-n_inputs // 64)))
        X = np.empty((n_inputs, n_patterns))
        patterns.draw_patterns(state, False, X)
        np.testing.assert_array_equal(X, naive.draw_binary_patterns(outputs, n_inputs, n_patterns))


@pytest.mark.parametrize("gaussian", [False, True])
def test_draw_patterns_is_draw_pattern_column_by_column(gaussian):
    """Few patterns (one by one) and blocks of them (buffered, then stored
    input by input), across block and word boundaries: the same values, and
    the stream left in the same state."""
    for n_patterns in (1, 7, 8, 9, 63, 64, 65, 200):
        for n_inputs in (1, 5, 63, 64, 65, 130):
            state = rng.xoshiro_state(np.random.SeedSequence([n_patterns, n_inputs]))
            one_by_one = state.copy()
            expected = np.empty((n_inputs, n_patterns))
            for mu in range(n_patterns):
                patterns.draw_pattern(one_by_one, gaussian, expected, mu)
            X = np.full((n_inputs, n_patterns), np.nan)
            patterns.draw_patterns(state, gaussian, X)
            np.testing.assert_array_equal(X, expected)
            np.testing.assert_array_equal(state, one_by_one)


@pytest.mark.parametrize("gaussian", [False, True])
def test_sign_network_labels_over_blocks_match_naive(gaussian):
    """Few patterns (one by one) and blocks of fields, ternary weights so that
    fields can vanish: the labels of naive.network_output and of
    sign_network_output column by column."""
    r = np.random.default_rng(17)
    for n_patterns in (1, 7, 8, 255, 256, 257, 600):
        for task in (COMMITTEE, PARITY):
            K, F, N = int(r.choice([1, 3, 5])), int(r.integers(1, 12)), 30
            W = r.choice([-1.0, 0.0, 1.0], size=(K, F))
            inputs = np.stack([np.sort(r.choice(N, F, replace=False)) for _ in range(K)]).astype(np.int64)
            X = r.standard_normal((N, n_patterns)) if gaussian else r.choice([-1.0, 1.0], size=(N, n_patterns))
            y = np.full(n_patterns, np.nan)
            sign_network_labels(W, inputs, task, X, y)
            np.testing.assert_array_equal(y, naive.network_output(W, inputs, task_name(task), X))
            np.testing.assert_array_equal(y, [sign_network_output(W, inputs, task, X, mu) for mu in range(n_patterns)])


def test_proposed_value_is_uniform_over_the_other_values():
    state = rng.xoshiro_state(np.random.SeedSequence(5))
    for w in (-1.0, 0.0, 1.0):
        draws = [greedy.proposed_value(w, True, state) for _ in range(4000)]
        values, counts = np.unique(draws, return_counts=True)
        assert w not in values and len(values) == 2
        assert abs(counts[0] - 2000) < 4 * np.sqrt(1000)
    assert greedy.proposed_value(1.0, False, state) == -1.0


@pytest.mark.parametrize(
    "options",
    [
        dict(architecture="sparse", task="committee", K=3, d=3, temperature=0.0, order="random"),
        dict(architecture="sparse", task="parity", K=3, d=3, temperature=0.7, order="sequential"),
        dict(architecture="dense", task="committee", K=1, d=3, N=5, topology="random", temperature=0.0, order="random"),
        dict(architecture="dense", task="parity", K=3, d=1, N=4, topology="random", temperature=1.5, order="random"),
    ],
)
def test_whole_run_matches_naive_dynamics(options):
    """A run of the kernel and of the naive dynamics, driven by the same
    streams, end with the same weights and acceptance counts."""
    p = make_params(dict(options, m=7, max_sweeps=12, stop_at_success=False))
    inputs = prepare_seeds(p, base_seed=11, seeds=[0])
    scalars = np.zeros(12)
    traj = np.zeros((0, 4))
    W_kernel = inputs.student_weights[0].copy()
    states = inputs.states[0].copy()
    greedy.greedy_one(
        inputs.teacher_weights[0], inputs.teacher_fields[0], COMMITTEE if p.task == "committee" else PARITY, p.n_inputs,
        W_kernel, inputs.student_inputs[0], p.architecture == "dense", p.architecture == "dense", False, False, p.m, 0, False,
        p.order == "sequential", p.temperature, p.max_sweeps, False, 100, np.zeros(0, np.int64),
        states[0], states[1], states[2], scalars, traj,
    )
    task = COMMITTEE if p.task == "committee" else PARITY
    T, fields = inputs.teacher_weights[0], inputs.teacher_fields[0]

    def draw_batch(state, m):
        X, y = np.empty((p.n_inputs, m)), np.empty(m)
        patterns.draw_labelled(state, False, T, fields, task, X, y)
        return X, y

    data, dyn = inputs.states[0, 0].copy(), inputs.states[0, 1].copy()
    W_naive, accepted, proposals, energies = naive.greedy_dynamics(
        T, fields, p.task, p.n_inputs, inputs.student_weights[0], inputs.student_inputs[0], p.architecture == "dense",
        p.m, p.max_sweeps, p.temperature, p.order == "sequential", data, dyn, draw_batch, rng.randbelow, rng.uniform,
    )
    np.testing.assert_array_equal(W_kernel, W_naive)
    assert scalars[6] == accepted / proposals
    assert scalars[5] == energies[-1] / p.m


def test_finite_batches_cover_the_training_set_each_epoch():
    state = rng.xoshiro_state(np.random.SeedSequence(9))
    P, m, N = 10, 3, 2
    Xtr = np.tile(np.arange(P, dtype=float), (N, 1))
    ytr = np.arange(P, dtype=float)
    perm, cursor = np.arange(P, dtype=np.int64), P
    X, y = np.empty((N, m)), np.empty(m)
    seen = []
    for _ in range(3):  # one epoch: 3 batches of 3, the 10th pattern dropped
        cursor = patterns.next_finite_batch(state, Xtr, ytr, perm, cursor, X, y)
        np.testing.assert_array_equal(X[0], y)
        seen += list(y)
    assert len(set(seen)) == 9
    cursor = patterns.next_finite_batch(state, Xtr, ytr, perm, cursor, X, y)
    assert cursor == m  # a new epoch started with a reshuffle

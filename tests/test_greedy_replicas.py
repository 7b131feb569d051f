"""The replica-packed kernel (greedy_replicas): every run bit for bit the run
of greedy_bits (itself checked against greedy_one and the naive reference)
driven by its group's proposal stream, and against the naive reference
directly; results independent of threads and packing; and a statistical
check that replicas sharing their proposals do not bias P_succ or its
bootstrap error."""

import numba
import numpy as np
import pytest

import naive
from mbphase.sim import bitsets as bs, greedy_bits as gb, greedy_replicas as gr, rng
from mbphase.sim.kernels import KERNELS, kernel_for
from mbphase.sim.observables import SCALARS, weights_decide_success
from mbphase.sim.params import make_params
from mbphase.sim.run import prepare_seeds, run_kernel, trajectory_times
from mbphase.sim.teacher import task_code

I_SUCCESS = SCALARS.index("success")


def replica_options(case):
    """Random options of the kernel's scope; each value cycled by case."""
    r = np.random.default_rng(2000 + case)
    K = (1, 3, 5, 2)[case % 4]
    task = "parity" if K == 2 else ("committee", "parity")[(case // 2) % 2]
    d = int(r.choice(range(1, 16, 2)))
    topology = ("tree", "random")[(case // 3) % 2]
    opts = dict(
        K=K, d=d, topology=topology, task=task, m=int(r.choice([1, 2, 3, 5, 8, 13, 16, 21, 31, 32])),
        refresh=("sweep", "proposal")[(case // 5) % 2], order=("random", "random", "sequential")[case % 3],
        max_sweeps=int(r.integers(1, 40)), stop_at_success=bool((case // 4) % 2),
        init=("random", "random", "random", "teacher")[case % 4],
        n_test=int(r.choice([64, 257])), trajectory_points=int(r.choice([0, 3, 8])),
    )
    if topology == "random" or K == 2:
        opts["topology"] = "random"
        opts["N"] = K * d + int(r.choice([0, 1, 5, 60]))
    return opts


def reference_runs(p, inputs, traj_times):
    """greedy_bits_one per seed, with the seed's proposal stream as its
    dynamics stream: (W, scalars, traj)."""
    n = inputs.states.shape[0]
    W = inputs.student_weights.copy()
    scalars = np.full((n, len(SCALARS)), np.nan)
    traj = np.full((n, traj_times.size, 4), np.nan)
    check_function = not weights_decide_success(p.architecture, p.topology, p.K)
    for i in range(n):
        states = inputs.states[i].copy()
        gb.greedy_bits_one(
            inputs.teacher_weights[i], inputs.teacher_fields[i], task_code(p.task), p.n_inputs, W[i], inputs.student_inputs[i],
            check_function, p.m, 0, p.refresh == "proposal", p.order == "sequential", 0.0, p.max_sweeps, p.stop_at_success,
            p.n_test, traj_times, states[0], inputs.proposal_states[i].copy(), states[2], scalars[i], traj[i],
        )
    return W, scalars, traj


def replica_runs(p, base_seed, seeds):
    inputs = prepare_seeds(p, base_seed, seeds)
    traj_times = trajectory_times(p)
    ref = reference_runs(p, prepare_seeds(p, base_seed, seeds), traj_times)
    scalars, traj = run_kernel(p, inputs, traj_times)
    return (inputs.student_weights, scalars, traj), ref


@pytest.mark.parametrize("case", range(60))
def test_every_replica_is_the_greedy_bits_run_with_its_groups_proposals(case):
    p = make_params(replica_options(case))
    assert kernel_for(p) is KERNELS["greedy_replicas"]
    r = np.random.default_rng(case)
    # seeds in no order, groups partly present, one seed alone in its group
    seeds = [int(s) for s in r.permutation(100)[: int(r.integers(1, 16))]] + [101]
    got, ref = replica_runs(p, 7, seeds)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)  # NaN == NaN here


def test_cases_cover_the_scope():
    seen = {}
    for case in range(60):
        for key, value in replica_options(case).items():
            seen.setdefault(key, set()).add(value)
    assert seen["K"] == {1, 2, 3, 5} and len(seen["m"]) >= 8 and 1 in seen["m"] and 32 in seen["m"]
    for key in ("topology", "task", "refresh", "order", "stop_at_success", "init"):
        assert len(seen[key]) == 2, key


def test_sequential_order_is_greedy_bits_with_each_seeds_own_streams():
    """Sequential proposals use no stream: every replica is exactly the
    greedy_bits run of the same seed."""
    p = make_params(dict(K=3, d=7, m=12, order="sequential", max_sweeps=25, trajectory_points=4, stop_at_success=False))
    bits = make_params(dict(K=3, d=7, m=12, order="sequential", max_sweeps=25, trajectory_points=4, stop_at_success=False, temperature=0.0))
    seeds = list(range(11))
    inputs = prepare_seeds(p, 3, seeds)
    s1, t1 = run_kernel(p, inputs, trajectory_times(p))
    ref = prepare_seeds(bits, 3, seeds)
    s0 = np.full_like(s1, np.nan)
    t0 = np.full_like(t1, np.nan)
    gb.greedy_bits_many(ref.teacher_weights, ref.teacher_fields, task_code(p.task), p.n_inputs, ref.student_weights, ref.student_inputs,
                        True, p.m, 0, False, True, 0.0, p.max_sweeps, p.stop_at_success, p.n_test, trajectory_times(p), ref.states, s0, t0)
    np.testing.assert_array_equal(s1, s0)
    np.testing.assert_array_equal(t1, t0)
    np.testing.assert_array_equal(inputs.student_weights, ref.student_weights)


@pytest.mark.parametrize("task", ["committee", "parity"])
@pytest.mark.parametrize("m, n_seeds", [(10, 9), (32, 33), (16, 48)])
def test_replicas_against_the_naive_reference(task, m, n_seeds):
    """Each replica's weights, acceptances and per-sweep energies equal the
    naive dynamics (energies recomputed from scratch) fed the replica's
    patterns and its group's proposals: in words one by one (m = 10, two
    words), in one vector of 16 words and one loose word (m = 32, 33 seeds),
    and in a vector of 8 words and one of 4 (m = 16, 48 seeds: a group of 8
    words and one of 4)."""
    K, d, sweeps = 3, 5, 12
    p = make_params(dict(K=K, d=d, m=m, task=task, max_sweeps=sweeps, stop_at_success=False))
    seeds = list(range(n_seeds))
    inputs = prepare_seeds(p, 11, seeds)
    ref = prepare_seeds(p, 11, seeds)
    scalars, _ = run_kernel(p, inputs, trajectory_times(p))

    def draw_batch(state, n):
        X = naive.draw_binary_patterns([int(rng.next_u64(state)) for _ in range(n * -(-p.n_inputs // 64))], p.n_inputs, n)
        y = naive.network_output(ref.teacher_weights[i], ref.teacher_fields[i], task, X)
        return X, y

    for i in range(len(seeds)):
        W, accepted, proposals, energies = naive.greedy_dynamics(
            ref.teacher_weights[i], ref.teacher_fields[i], task, p.n_inputs, ref.student_weights[i], ref.student_inputs[i],
            False, m, sweeps, 0.0, False, ref.states[i, 0].copy(), ref.proposal_states[i].copy(), draw_batch, rng.randbelow, rng.uniform,
        )
        np.testing.assert_array_equal(inputs.student_weights[i], W)
        assert scalars[i, SCALARS.index("acceptance_rate")] == accepted / proposals
        assert scalars[i, SCALARS.index("train_error")] == energies[-1] / m


def test_groups_and_their_proposal_streams():
    # groups of about 32 runs: whole words of G = 64 // m runs each
    assert [gr.group_size(m) for m in (32, 21, 16, 8, 5, 3, 2, 1)] == [32, 30, 32, 32, 24, 21, 32, 64]
    p = make_params(dict(K=3, d=5, m=16))
    inputs = prepare_seeds(p, 1, [0, 1, 31, 32, 40, 63, 70])
    assert list(inputs.proposal_seeds) == [0, 0, 0, 32, 32, 32, 64]
    np.testing.assert_array_equal(inputs.proposal_states[:3], np.repeat(inputs.states[:1, 1], 3, axis=0))
    seventy = rng.xoshiro_state(rng.run_streams(1, 64)["dynamics"])
    np.testing.assert_array_equal(inputs.proposal_states[6], seventy)
    rows = gr.pack_groups(np.array([4, 0, 0, 8, 4, 0, 0, 0]), 4)
    assert rows.tolist() == [[1, 2, 5, 6], [7, -1, -1, -1], [0, 4, -1, -1], [3, -1, -1, -1]]


@pytest.mark.parametrize("case", [1, 2, 4, 9, 14, 21])
def test_groups_of_several_words(case, monkeypatch):
    """Groups that end inside a word (here 3 G + 1 runs) are the same runs:
    each replica is still greedy_bits with its group's proposals."""
    monkeypatch.setattr(gr, "group_size", lambda m: 3 * gr.replicas_per_word(m) + 1)
    p = make_params(replica_options(case))
    seeds = list(range(3 * gr.replicas_per_word(p.m) + 3))
    got, ref = replica_runs(p, 9, seeds)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m, case", [(32, 0), (23, 1), (21, 2), (16, 3), (12, 4), (8, 5), (5, 6)])
def test_full_groups(m, case):
    """Whole groups (and one more run), so that the proposals run on vectors
    of 16, 8 and 4 words (m = 32 and 23: one vector of 16; m = 21: 8 and two
    words; m = 12: 4 and one word): every replica is still greedy_bits with
    its group's proposals."""
    p = make_params(dict(replica_options(case), m=m, max_sweeps=12))
    seeds = list(range(gr.group_size(m) + 1))
    got, ref = replica_runs(p, 13, seeds)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("words", [15, 31])
def test_groups_of_every_vector_width_and_loose_words(words, monkeypatch):
    """A group of 15 words runs a vector of 8, one of 4 and three words one
    by one; of 31 words, vectors of 16, 8 and 4 and three words."""
    monkeypatch.setattr(gr, "group_size", lambda m: words * gr.replicas_per_word(m))
    for case in (0, 7):
        p = make_params(dict(replica_options(case), m=32, max_sweeps=10))
        got, ref = replica_runs(p, 21, list(range(2 * words)))
        for a, b in zip(got, ref):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m", [32, 16, 5, 3, 1])
@pytest.mark.parametrize("task", ["committee", "parity"])
def test_success_and_overlap_from_the_packed_signs(m, task):
    """Disagreements counted on the packed signs (every lane at once when F
    fits in a lane's m bits: here at m = 32, 16 and 5; lane by lane at m =
    3 and 1) give greedy_bits' sparse success and overlap, bit for bit, for
    students equal to the teacher, to its negation unit by unit, and
    random."""
    r = np.random.default_rng(m)
    K, F = 3, 9
    G = gr.replicas_per_word(m)
    lane_masks = np.array([((1 << m) - 1) << (g * m) for g in range(G)], dtype=np.uint64)
    code = task_code(task)
    for trial in range(20):
        T = np.where(r.random((1, K, F)) < 0.5, -1.0, 1.0).repeat(G, axis=0)
        W = np.where(r.random((G, K, F)) < 0.5, -1.0, 1.0)
        for g in range(G):
            kind = (trial + g) % 4
            if kind < 3:  # the teacher with kind units negated, or (kind 0) equal
                W[g] = T[g] * np.array([-1.0 if k < kind else 1.0 for k in range(K)])[:, None]
        slots = np.arange(G)
        PM = np.zeros((K * F, 1), dtype=np.uint64)
        TM = np.zeros((K * F, 1), dtype=np.uint64)
        gr.packed_signs(W, slots, G, lane_masks, PM)
        gr.packed_signs(T, slots, G, lane_masks, TM)
        dis = np.zeros((K, G), dtype=np.int64)
        gr.packed_disagreements(PM, TM, 0, G, m, K, F, dis)
        for g in range(G):
            np.testing.assert_array_equal(dis[:, g], (W[g] != T[g]).sum(axis=1))
            assert gr.disagreements_success(dis, g, F, code) == gb.sparse_exact_success(W[g], T[g], code)
            assert gr.disagreements_overlap(dis, g, F, code) == gb.sparse_overlap(W[g], T[g], code)


@pytest.mark.parametrize("task", ["committee", "parity"])
@pytest.mark.parametrize("nw", [1, 5, 13, 31])
def test_batch_records_as_vectors_equal_the_word_by_word_state(task, nw):
    """The records a fresh batch gives, computed as vectors of 16, 8 and 4
    words and then word by word (31 words: one of each and three loose
    ones), field by field, equal greedy_bits' labels and student state
    computed word by word, record by record."""
    r = np.random.default_rng(nw)
    K, d = (3, 9) if task == "committee" else (2, 7)
    F = d
    code = task_code(task)
    nbu, nbc = bs.n_planes(F), bs.n_planes(K)
    lay = gb.layout(K, nbu, nbc)
    R, oY, oMASK = lay[0], lay[8], lay[9]
    words = lambda *shape: r.integers(0, 2**64, shape, dtype=np.uint64, endpoint=False)  # noqa: E731
    XT, XW = words(K * d, nw), words(K * F, nw)
    word_mask = np.where(r.random(nw) < 0.3, words(nw), ~np.uint64(0))
    ident_t, zeros_t = np.arange(K * d), np.zeros(K * d, dtype=np.uint64)
    ident_w, zeros_w = np.arange(K * F), np.zeros(K * F, dtype=np.uint64)
    Y = np.zeros(nw, dtype=np.uint64)
    bs.network_output_bits(ident_t, zeros_t, K, d, code, XT, nw, Y, bs.make_scratch(K))
    ST = np.zeros(nw * R, dtype=np.uint64)
    ST[oY::R] = Y & word_mask
    ST[oMASK::R] = word_mask
    gb.student_state(ident_w, zeros_w, K, F, code, XW, nw, ST, lay, bs.make_scratch(K))
    SV = np.zeros(R * nw, dtype=np.uint64)
    gr.batch_records(XT, XW, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, code, SV, lay, bs.make_scratch(K, gr.SCRATCH_WIDTH))
    np.testing.assert_array_equal(SV.reshape(R, nw).T, ST.reshape(nw, R))


def test_results_do_not_depend_on_threads_or_on_the_other_seeds_of_a_call():
    p = make_params(dict(K=3, d=9, m=8, max_sweeps=30, trajectory_points=4))
    seeds = list(range(21))
    times = trajectory_times(p)
    out = {}
    for threads in (1, 2):
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        inputs = prepare_seeds(p, 5, seeds)
        out[threads] = run_kernel(p, inputs, times) + (inputs.student_weights,)
    numba.set_num_threads(1)
    alone = [run_kernel(p, prepare_seeds(p, 5, [s]), times) for s in seeds[::4]]
    for a, b in zip(out[1], out[2]):
        np.testing.assert_array_equal(a, b)
    for j, s in enumerate(seeds[::4]):
        np.testing.assert_array_equal(alone[j][0][0], out[1][0][s])
        np.testing.assert_array_equal(alone[j][1][0], out[1][1][s])


def test_selection():
    assert gr.replicas_eligible(make_params(dict(K=3, d=5, m=32)))
    assert not gr.replicas_eligible(make_params(dict(K=3, d=5, m=33)))
    assert not gr.replicas_eligible(make_params(dict(K=3, d=5, m=16, temperature=0.5)))
    assert not gr.replicas_eligible(make_params(dict(K=3, d=5, m=16, data="finite", train_size=100)))
    assert not gr.replicas_eligible(make_params(dict(K=3, d=5, m=16, inputs="gaussian")))
    assert kernel_for(make_params(dict(K=3, d=5, m=33))) is KERNELS["greedy_bits"]
    assert gr.replicas_per_word(32) == 2 and gr.replicas_per_word(21) == 3 and gr.replicas_per_word(1) == 64


# --- replicas sharing proposals stay independent samples ---


def success_runs(p, n, same_run_per_group=False, kernel="greedy_replicas"):
    """Success (0/1) of seeds 0..n-1 by ``kernel``; with ``same_run_per_group`` every replica of a group is
    given the first one's teacher, start and data (a negative control: fully
    correlated replicas)."""
    inputs = prepare_seeds(p, 17, range(n))
    if same_run_per_group:
        g = gr.group_size(p.m)
        lead = (np.arange(n) // g) * g
        for field in ("teacher_weights", "teacher_fields", "student_weights", "student_inputs", "states"):
            getattr(inputs, field)[:] = getattr(inputs, field)[lead]
    times = trajectory_times(p)
    scalars = np.full((n, len(SCALARS)), np.nan)
    traj = np.full((n, times.size, 4), np.nan)
    KERNELS[kernel].load()(**KERNELS[kernel].arguments(p, inputs, times, scalars, traj))
    return scalars[:, I_SUCCESS]


def group_statistics(success, G, n_boot=2000):
    """(design effect, bootstrap SE of P_succ resampling seeds, the same
    resampling whole groups). Independent replicas: design effect (variance
    of the group sums over G p (1 - p)) near 1 and equal bootstrap SEs."""
    r = np.random.default_rng(0)
    n = success.size - success.size % G
    groups = success[:n].reshape(-1, G)
    p = groups.mean()
    design = groups.sum(axis=1).var(ddof=1) / (G * p * (1 - p))
    seeds_se = success[:n][r.integers(0, n, (n_boot, n))].mean(axis=1).std()
    groups_se = groups[r.integers(0, groups.shape[0], (n_boot, groups.shape[0]))].mean(axis=(1, 2)).std()
    return design, seeds_se, groups_se


@pytest.mark.parametrize("m, sweeps", [(32, 150), (16, 2000)])
def test_shared_proposals_do_not_bias_p_succ_or_its_bootstrap_error(m, sweeps):
    """K = 3, d = 9, 1024 seeds near the transition. P_succ of replicas that
    share their group's proposals equals that of independent greedy_bits
    runs within 4 standard errors; the group's successes are uncorrelated
    (design effect within 4 of its standard errors of 1); the bootstrap
    error resampling seeds equals the one resampling whole groups (valid
    under any correlation within a group) within 20% (about 4 of their
    standard errors). The negative control, replicas copied within a
    group, fails both."""
    n = 1024
    opts = dict(K=3, d=9, m=m, max_sweeps=sweeps, n_test=64, trajectory_points=0)
    p = make_params(opts)
    assert kernel_for(p) is KERNELS["greedy_replicas"]
    shared = success_runs(p, n)
    alone = success_runs(p, n, kernel="greedy_bits")  # each seed its own proposals
    p1, p0 = shared.mean(), alone.mean()
    assert 0.15 < p0 < 0.85  # near the transition, where correlations would show
    assert abs(p1 - p0) < 4 * np.sqrt((p0 * (1 - p0) + p1 * (1 - p1)) / n)
    G = gr.group_size(m)
    tolerance = 4 * np.sqrt(2 / (n // G - 1))
    design, seeds_se, groups_se = group_statistics(shared, G)
    assert abs(design - 1) < tolerance
    assert 0.8 < seeds_se / groups_se < 1.25
    design, seeds_se, groups_se = group_statistics(success_runs(p, n, same_run_per_group=True), G)
    assert design > 1 + tolerance and seeds_se / groups_se < 0.8

"""The bit-packed kernel (greedy_bits) against plain references piece by
piece, and whole runs against greedy.greedy_one: identical weights, scalars
and trajectories for the same inputs and streams."""

import numpy as np
import pytest
from numba import njit

import naive
from mbphase.sim import bitsets as bs, greedy, greedy_bits as gb, observables, patterns, rng
from mbphase.sim.observables import METHOD_ENUMERATION, METHOD_TEST_SET, SCALARS, weights_decide_success
from mbphase.sim.params import make_params
from mbphase.sim.run import prepare_seeds, run_kernel, trajectory_times
from mbphase.sim.teacher import COMMITTEE, PARITY, make_teacher, task_code

U64 = np.uint64


def random_words(r, shape):
    return r.integers(0, 2**64, size=shape, dtype=np.uint64, endpoint=False)


def bits_of(words, n):
    """Bits 0..n-1 of a word array (..., ceil(n/64)), as a bool array (..., n)."""
    words = np.asarray(words, dtype=np.uint64)
    b = (words[..., :, None] >> np.arange(64, dtype=np.uint64)) & U64(1)
    return b.reshape(*words.shape[:-1], -1)[..., :n].astype(bool)


def decode_planes(planes):
    """Two's-complement integers, one per bit column, from the bit planes
    ``planes`` (nb, n_words): (64 n_words,) values."""
    planes = np.asarray(planes, dtype=np.uint64)
    nb = planes.shape[0]
    words = planes.reshape(nb, -1)
    bits = bits_of(words, 64 * words.shape[1])
    v = sum(bits[b].astype(np.int64) << b for b in range(nb))
    return np.where(v >= 1 << (nb - 1), v - (1 << nb), v)


# --- word primitives ---


@njit
def popcounts(words):
    out = np.empty(words.size, np.int64)
    for i in range(words.size):
        out[i] = bs.popcount(words[i])
    return out


def test_popcount_matches_python_bit_count():
    r = np.random.default_rng(0)
    words = np.concatenate([np.array([0, 1, 2**63, 2**64 - 1, 0x5555555555555555, 2**32 - 1], dtype=np.uint64), random_words(r, 1000)])
    sparse = random_words(r, 300) & random_words(r, 300) & random_words(r, 300)
    words = np.concatenate([words, sparse])
    np.testing.assert_array_equal(popcounts(words), [int(w).bit_count() for w in words])


def test_transpose64_matches_numpy_transpose():
    r = np.random.default_rng(1)
    for trial in range(20):
        A = random_words(r, 3 * 64)
        if trial % 4 == 0:
            A &= random_words(r, A.size)  # uneven densities
        B = A.copy()
        off = 64 * (trial % 3)
        bs.transpose64(B, off)
        M = bits_of(A[off:off + 64, None], 64).reshape(64, 64)
        T = bits_of(B[off:off + 64, None], 64).reshape(64, 64)
        np.testing.assert_array_equal(T, M.T)
        mask = np.ones(A.size, bool)
        mask[off:off + 64] = False
        np.testing.assert_array_equal(B[mask], A[mask])  # other blocks untouched


def test_tail_masks():
    for n in (1, 5, 63, 64, 65, 128, 130):
        masks = bs.tail_masks(n)
        assert masks.size == -(-n // 64)
        assert sum(int(w).bit_count() for w in masks) == n
        np.testing.assert_array_equal(bits_of(masks, 64 * masks.size)[:n], True)


@pytest.mark.parametrize("n", [1, 3, 5, 7, 9, 11, 15, 17, 23, 25, 51, 63, 101, 255])
def test_count_planes_is_column_count_minus_half(n):
    r = np.random.default_rng(n)
    nw = 3
    X = random_words(r, (n + 4, nw))
    rows = r.permutation(n + 4)[:n].astype(np.int64)
    masks = np.where(r.random(n) < 0.5, U64(0), ~U64(0)).astype(np.uint64)
    nb = bs.n_planes(n)
    assert nb <= bs.MAX_PLANES and n < 2**nb and 2 ** (nb - 1) >= (n + 1) // 2
    out = np.zeros(16, np.uint64)
    for w in range(nw):
        bs.count_planes(U64(0), X.reshape(-1), U64(nw), U64(w), rows, masks, 0, n, nb, out, 1)
        agree = bits_of((X[rows, w] ^ masks)[:, None], 64).reshape(n, 64)
        expected = agree.sum(axis=0) - (n + 1) // 2
        np.testing.assert_array_equal(decode_planes(out[:nb]), expected)
        # the flags used by the kernel: z = 0 is h = +1, z = -1 is h = -1, top plane is h < 0
        h = 2 * agree.sum(axis=0) - n
        np.testing.assert_array_equal(bits_of(out[nb - 1 : nb], 64), h < 0)
        z = decode_planes(out[:nb])
        np.testing.assert_array_equal(z == 0, h == 1)
        np.testing.assert_array_equal(z == -1, h == -1)


@njit
def add_pm1_all(planes, inc, dec):
    for b in range(planes.size):
        planes[b], inc, dec = gb.add_pm1(planes[b], inc, dec)


@pytest.mark.parametrize("nb", [1, 2, 3, 6, 11])
def test_bit_sliced_plus_minus_one_update(nb):
    r = np.random.default_rng(nb)
    for _ in range(20):
        planes = random_words(r, nb)
        inc = random_words(r, 1)[0]
        dec = random_words(r, 1)[0] & ~inc
        before = decode_planes(planes)
        add_pm1_all(planes, inc, dec)
        step = bits_of(np.array([inc]), 64).astype(int) - bits_of(np.array([dec]), 64).astype(int)
        wrapped = (before + step + (1 << (nb - 1))) % (1 << nb) - (1 << (nb - 1))
        np.testing.assert_array_equal(decode_planes(planes), wrapped)


# --- patterns as bitsets ---


def to_float(Xbits, n_patterns):
    """+-1 float patterns (N, n_patterns) from input-major bitsets."""
    return np.where(bits_of(Xbits, n_patterns), 1.0, -1.0)


@pytest.mark.parametrize("n_inputs", [1, 5, 63, 64, 65, 130, 153])
def test_draw_bits_takes_the_stream_like_draw_patterns(n_inputs):
    state0 = rng.xoshiro_state(np.random.SeedSequence(n_inputs))
    for m in (1, 7, 63, 64, 65, 130):
        s_ref, s_bits = state0.copy(), state0.copy()
        Xf = np.empty((n_inputs, m))
        patterns.draw_patterns(s_ref, False, Xf)
        Xb = np.zeros((n_inputs, -(-m // 64)), np.uint64)
        bs.draw_bits(s_bits, n_inputs, m, Xb, np.zeros(64 * -(-n_inputs // 64), np.uint64))
        np.testing.assert_array_equal(to_float(Xb, m), Xf)
        np.testing.assert_array_equal(s_bits, s_ref)
        state0 = s_ref


def test_gather_bits_follows_next_finite_batch():
    r = np.random.default_rng(3)
    n_inputs, P = 70, 200
    Xtr = r.choice([-1.0, 1.0], size=(n_inputs, P))
    ytr = r.choice([-1.0, 1.0], size=P)
    L = -(-n_inputs // 64)
    Ptr = np.zeros((P, L), np.uint64)  # pattern-major words, as drawn
    for mu in range(P):
        for i in range(n_inputs):
            if Xtr[i, mu] > 0:
                Ptr[mu, i // 64] |= U64(1) << U64(i % 64)
    ytr_bits = np.zeros(-(-P // 64), np.uint64)
    for mu in np.flatnonzero(ytr > 0):
        ytr_bits[mu // 64] |= U64(1) << U64(mu % 64)
    state = rng.xoshiro_state(np.random.SeedSequence(4))
    perm, cursor = np.arange(P, dtype=np.int64), P
    for m in (1, 64, 65, 130, 66, 3):
        X, y = np.empty((n_inputs, m)), np.empty(m)
        cursor = patterns.next_finite_batch(state, Xtr, ytr, perm, cursor, X, y)
        Xb, Yb = np.zeros((n_inputs, -(-m // 64)), np.uint64), np.zeros(-(-m // 64), np.uint64)
        gb.gather_bits(Ptr, ytr_bits, perm, cursor - m, m, n_inputs, Xb, Yb, np.zeros(64 * L, np.uint64))
        np.testing.assert_array_equal(to_float(Xb, m), X)
        np.testing.assert_array_equal(np.where(bits_of(Yb, m), 1.0, -1.0), y)


# --- networks and the batch state ---

STATE_CASES = [(seed, task) for seed in range(8) for task in ("committee", "parity")]


def random_sparse_network(seed, task):
    r = np.random.default_rng(100 + seed)
    K = int(r.choice([1, 3, 5]))
    d = int(r.choice([1, 3, 5, 7, 9, 15, 17, 51]))
    topology = "tree" if seed % 2 else "random"
    N = K * d if topology == "tree" else K * d + int(r.integers(0, 5))
    m = int(r.choice([1, 30, 63, 64, 65, 130]))
    p = make_params(dict(K=K, d=d, N=N, topology=topology, task=task, m=m))
    teacher = make_teacher(p, np.random.SeedSequence(seed))
    W = r.choice([-1.0, 1.0], size=(K, d))
    X = r.choice([-1.0, 1.0], size=(N, m))
    return teacher, W, X, r


def to_bits(X):
    """Input-major bitsets of +-1 float patterns (N, m)."""
    n, m = X.shape
    out = np.zeros((n, -(-m // 64)), np.uint64)
    for mu in range(m):
        out[X[:, mu] > 0, mu // 64] |= U64(1) << U64(mu % 64)
    return out


class BitState:
    """The kernel's records for one student and batch, built as in greedy_bits_one."""

    def __init__(self, W, fields, task, X, y):
        self.K, self.F = W.shape
        self.task = COMMITTEE if task == "committee" else PARITY
        self.m = X.shape[1]
        self.nw = -(-self.m // 64)
        self.nbu, self.nbc = bs.n_planes(self.F), bs.n_planes(self.K)
        self.lay = gb.layout(self.K, self.nbu, self.nbc)
        self.R = self.lay[0]
        self.X = to_bits(X)
        self.rows = fields.reshape(-1).copy()
        self.masks = bs.sign_masks(W)
        self.scratch = bs.make_scratch(self.K)
        self.ST = np.zeros(self.nw * self.R, np.uint64)
        Y = to_bits(y[None, :])[0]
        mask = bs.tail_masks(self.m)
        for w in range(self.nw):
            self.ST[w * self.R + self.lay[8]] = Y[w]
            self.ST[w * self.R + self.lay[9]] = mask[w]

    def fill(self, masks=None):
        ST = self.ST.copy() if masks is not None else self.ST
        errors = gb.student_state(self.rows, self.masks if masks is None else masks, self.K, self.F, self.task, self.X, self.nw, ST, self.lay, self.scratch)
        return errors, ST

    def field(self, name):
        """(count, nw) words of one record field."""
        R, oA, oB, oCOR, oE1, oEM1, oS, oPIV, oY, oMASK, oU, oZ = self.lay
        off, count = dict(A=(oA, self.K), B=(oB, self.K), COR=(oCOR, 1), E1=(oE1, self.K), EM1=(oEM1, self.K), S=(oS, self.K), PIV=(oPIV, self.K), U=(oU, self.nbc), Z=(oZ, self.K * self.nbu))[name]
        return self.ST.reshape(self.nw, R)[:, off : off + count].T


@njit
def delta_energy(X, row, fmask, k, ST, lay, nw):
    return gb.flip_delta_energy_bits(X, row, fmask, k, ST, lay, nw)


@njit
def apply_flip(X, row, fmask, k, K, nbu, nbc, task, ST, lay, nw):
    gb.apply_flip_bits(X, row, fmask, k, K, nbu, nbc, task, ST, lay, nw)


@pytest.mark.parametrize("seed,task", STATE_CASES)
def test_network_output_bits_matches_naive_labels(seed, task):
    teacher, W, X, _ = random_sparse_network(seed, task)
    m = X.shape[1]
    out = np.zeros(-(-m // 64), np.uint64)
    K, d = teacher.weights.shape
    bs.network_output_bits(teacher.fields.reshape(-1).copy(), bs.sign_masks(teacher.weights), K, d, task_code(task), to_bits(X), out.size, out, bs.make_scratch(K))
    np.testing.assert_array_equal(np.where(bits_of(out, m), 1.0, -1.0), naive.network_output(teacher.weights, teacher.fields, task, X))


@pytest.mark.parametrize("seed,task", STATE_CASES)
def test_batch_state_energy_changes_and_flips_match_naive(seed, task):
    """Fields, flags and energy of the records against recomputation; the
    energy change of random flips against naive.flip_energy_change; after an
    accepted flip the incrementally updated records equal fresh ones."""
    teacher, W, X, r = random_sparse_network(seed, task)
    y = naive.network_output(teacher.weights, teacher.fields, task, X)
    fields = teacher.fields
    st = BitState(W, fields, task, X, y)
    m, K, F = X.shape[1], st.K, st.F
    errors, _ = st.fill()
    assert errors == naive.energy(W, fields, task, X, y)
    H = np.stack([W[k] @ X[fields[k]] for k in range(K)])
    for k in range(K):
        planes = st.field("Z")[k * st.nbu : (k + 1) * st.nbu]  # (nbu, nw)
        z = decode_planes(planes)[:m]
        np.testing.assert_array_equal(2 * z + 1, H[k])  # h = 2 a - d = 2 z + 1
    np.testing.assert_array_equal(bits_of(st.field("E1"), m), H == 1)
    np.testing.assert_array_equal(bits_of(st.field("EM1"), m), H == -1)
    for _ in range(40):
        k, j = int(r.integers(K)), int(r.integers(F))
        ri = k * F + j
        dE = delta_energy(st.X, st.rows[ri], st.masks[ri], k, st.ST, st.lay, st.nw)
        assert dE == naive.flip_energy_change(W, fields, task, X, y, k, j, -W[k, j])
        if r.random() < 0.5:
            apply_flip(st.X, st.rows[ri], st.masks[ri], k, K, st.nbu, st.nbc, st.task, st.ST, st.lay, st.nw)
            st.masks[ri] = ~st.masks[ri]
            W[k, j] = -W[k, j]
            errors += dE
            fresh_errors, fresh = st.fill(masks=st.masks)
            assert fresh_errors == errors == naive.energy(W, fields, task, X, y)
            np.testing.assert_array_equal(st.ST, fresh)
            cor = bits_of(st.field("COR"), 64 * st.nw)[0]
            np.testing.assert_array_equal(cor[:m], naive.network_output(W, fields, task, X) == y)
            assert not cor[m:].any()  # tail bits never count


def test_sparse_observables_equal_the_general_ones():
    r = np.random.default_rng(8)
    for trial in range(300):
        K, d = int(r.choice([1, 2, 3, 5])), int(r.choice([1, 3, 5, 7]))
        task = COMMITTEE if trial % 2 else PARITY
        T = r.choice([-1.0, 1.0], size=(K, d))
        fields = np.sort(r.permuted(np.tile(np.arange(K * d + 3), (K, 1)), axis=1)[:, :d], axis=1)
        W = T * r.choice([-1.0, 1.0], size=(K, 1))  # whole units negated
        if trial % 3 == 0:
            W = np.where(r.random((K, d)) < 0.2, -W, W)
        n = K * d + 3
        assert gb.sparse_overlap(W, T, task) == observables.overlap(W, fields, T, fields, n, task, False)
        assert gb.sparse_exact_success(W, T, task) == observables.exact_success(W, fields, T, fields, n, task, False)


def test_randbelow_fast_equals_randbelow():
    for n in (1, 3, 7, 153, 2**40 + 3):
        s1 = rng.xoshiro_state(np.random.SeedSequence(n))
        s2 = s1.copy()
        limit = gb.randbelow_limit(n)
        for _ in range(200):
            assert rng.randbelow(s1, n) == _randbelow_fast(s2, U64(n), limit)
        np.testing.assert_array_equal(s1, s2)


@njit
def _randbelow_fast(s, bound, limit):
    return gb.randbelow_fast(s, bound, limit)


# --- whole runs against greedy.greedy_one ---

M_VALUES = (1, 63, 64, 65, 130)


def run_options(case):
    """Random options; each option's values are cycled through with the case
    number so every value is covered many times."""
    r = np.random.default_rng(1000 + case)
    K = (1, 3, 5)[case % 3]
    d = int(r.choice(range(1, 16, 2)))
    topology = ("tree", "random")[case % 2]
    opts = dict(
        K=K, d=d, topology=topology, task=("committee", "parity")[(case // 2) % 2],
        m=M_VALUES[case % 5], refresh=("sweep", "proposal")[(case // 3) % 2],
        order=("random", "sequential")[(case // 5) % 2],
        temperature=(0.0, 0.0, 0.4, 2.0)[(case // 7) % 4],
        max_sweeps=int(r.integers(1, 30)), stop_at_success=bool((case // 4) % 2),
        n_test=int(r.choice([64, 257])), trajectory_points=int(r.choice([0, 3, 8])),
    )
    if topology == "random":
        opts["N"] = K * d + int(r.choice([0, 1, 5, 60]))
    if (case // 6) % 3 == 0:
        opts["data"] = "finite"
        opts["train_size"] = opts["m"] + int(r.choice([0, 1, 37, 150]))
    return opts


N_CASES = 240


def run_both(opts, base_seed=5, seed=0):
    p = make_params(opts)
    inputs = prepare_seeds(p, base_seed, [seed])
    traj_times = trajectory_times(p)
    check_function = not weights_decide_success(p.architecture, p.topology, p.K)
    train_size = p.train_size if p.data == "finite" else 0
    out = []
    for kernel in ("scalar", "bits"):
        W = inputs.student_weights[0].copy()
        states = inputs.states[0].copy()
        scalars = np.full(len(SCALARS), -7.0)
        traj = np.full((traj_times.size, 4), -7.0)
        head = (inputs.teacher_weights[0], inputs.teacher_fields[0], task_code(p.task), p.n_inputs, W, inputs.student_inputs[0])
        tail = (p.m, train_size, p.refresh == "proposal", p.order == "sequential", p.temperature, p.max_sweeps,
                p.stop_at_success, p.n_test, traj_times, states[0], states[1], states[2], scalars, traj)
        if kernel == "scalar":
            greedy.greedy_one(*head, False, False, check_function, False, *tail)
        else:
            gb.greedy_bits_one(*head, check_function, *tail)
        out.append((W, scalars, traj, states))
    return out


@pytest.mark.parametrize("case", range(N_CASES))
def test_whole_run_is_identical_to_greedy_one(case):
    opts = run_options(case)
    (W0, s0, t0, st0), (W1, s1, t1, st1) = run_both(opts, seed=case)
    np.testing.assert_array_equal(W1, W0)
    np.testing.assert_array_equal(s1, s0)  # NaN == NaN here
    np.testing.assert_array_equal(t1, t0)
    np.testing.assert_array_equal(st1, st0)  # the streams were consumed identically


def test_run_cases_cover_every_option_value():
    seen = {}
    for case in range(N_CASES):
        o = run_options(case)
        o.setdefault("data", "online")
        for key in ("K", "d", "topology", "task", "m", "refresh", "order", "temperature", "stop_at_success", "data", "trajectory_points"):
            seen.setdefault(key, set()).add(o[key])
    assert seen["K"] == {1, 3, 5} and seen["d"] == set(range(1, 16, 2)) and seen["m"] == set(M_VALUES)
    for key in ("topology", "task", "refresh", "order", "stop_at_success", "data"):
        assert len(seen[key]) == 2, key
    assert 0.0 in seen["temperature"] and len(seen["temperature"]) > 1 and 0 in seen["trajectory_points"]


@pytest.mark.parametrize(
    "opts",
    [
        # solved quickly and stopped early (t_solve, q_late = NaN)
        dict(K=3, d=5, m=130, max_sweeps=40, stop_at_success=True, trajectory_points=5),
        # solved, not stopped: success checks stop, late averages continue
        dict(K=3, d=3, task="parity", m=65, max_sweeps=60, stop_at_success=False, trajectory_points=6),
        # overlapping fields: other weight vectors compute the teacher's function,
        # so success is decided by enumerating the inputs (N <= 20) or on the test set
        dict(K=3, d=3, N=4, topology="random", m=64, max_sweeps=31, stop_at_success=False, temperature=0.3),
        dict(K=7, d=1, N=21, topology="random", m=64, max_sweeps=20, stop_at_success=False, n_test=300),
        # parity allows an even number of units
        dict(K=2, d=5, N=13, topology="random", task="parity", m=65, max_sweeps=20, stop_at_success=False, trajectory_points=3),
        dict(K=4, d=3, task="parity", m=33, max_sweeps=20, temperature=0.5, data="finite", train_size=100),
        # larger fields, finite data, the benchmark's m
        dict(K=3, d=51, m=64, max_sweeps=12, stop_at_success=False, data="finite", train_size=300, trajectory_points=4),
        dict(K=5, d=25, task="parity", m=256, max_sweeps=8, stop_at_success=False, refresh="proposal", temperature=1.0),
    ],
)
def test_whole_run_identical_in_targeted_regimes(opts):
    for seed in range(4):
        (W0, s0, t0, st0), (W1, s1, t1, st1) = run_both(opts, seed=seed)
        np.testing.assert_array_equal(W1, W0)
        np.testing.assert_array_equal(s1, s0)
        np.testing.assert_array_equal(t1, t0)
        np.testing.assert_array_equal(st1, st0)


def test_targeted_regimes_reach_the_success_paths():
    """The targeted cases above do exercise early stopping and success by
    enumeration and by test set (otherwise they would test less than they
    claim)."""
    stopped = run_both(dict(K=3, d=5, m=130, max_sweeps=40, stop_at_success=True), seed=0)[1][1]
    assert stopped[SCALARS.index("t_solve")] < 40 and np.isnan(stopped[SCALARS.index("q_late")])
    method = SCALARS.index("success_method")
    enumerated = [run_both(dict(K=3, d=3, N=4, topology="random", m=64, max_sweeps=31, stop_at_success=False, temperature=0.3), seed=s)[1][1][method] for s in range(4)]
    test_set = [run_both(dict(K=7, d=1, N=21, topology="random", m=64, max_sweeps=20, stop_at_success=False, n_test=300), seed=s)[1][1][method] for s in range(4)]
    assert METHOD_ENUMERATION in enumerated and METHOD_TEST_SET in test_set


# --- dispatch ---


def test_bits_eligible_selects_sparse_discrete_binary():
    assert gb.bits_eligible(make_params(dict(K=3, d=5)))
    assert gb.bits_eligible(make_params(dict(K=3, d=5, N=20, topology="random", task="parity", data="finite", train_size=100)))
    assert not gb.bits_eligible(make_params(dict(K=3, d=5, inputs="gaussian")))
    assert not gb.bits_eligible(make_params(dict(K=1, d=3, N=5, topology="random", architecture="dense")))
    assert not gb.bits_eligible(make_params(dict(K=3, d=5, weights="continuous")))


@pytest.mark.parametrize("opts", [dict(K=3, d=7, m=65, max_sweeps=15, trajectory_points=4), dict(K=3, d=3, N=12, topology="random", task="parity", m=20, max_sweeps=10, data="finite", train_size=50, temperature=0.5)])
def test_run_kernel_dispatches_to_the_bit_kernel_with_the_reference_results(opts):
    p = make_params(opts)
    inputs = prepare_seeds(p, 3, [0, 1, 2])
    traj_times = trajectory_times(p)
    ref_inputs = prepare_seeds(p, 3, [0, 1, 2])
    scalars, traj = run_kernel(p, inputs, traj_times)
    ref_scalars = np.full_like(scalars, np.nan)
    ref_traj = np.full_like(traj, np.nan)
    greedy.greedy_many(
        ref_inputs.teacher_weights, ref_inputs.teacher_fields, task_code(p.task), p.n_inputs, ref_inputs.student_weights, ref_inputs.student_inputs,
        False, False, not weights_decide_success(p.architecture, p.topology, p.K), False,
        p.m, p.train_size if p.data == "finite" else 0, p.refresh == "proposal", p.order == "sequential", p.temperature, p.max_sweeps,
        p.stop_at_success, p.n_test, traj_times, ref_inputs.states, ref_scalars, ref_traj,
    )
    np.testing.assert_array_equal(scalars, ref_scalars)
    np.testing.assert_array_equal(traj, ref_traj)
    np.testing.assert_array_equal(inputs.student_weights, ref_inputs.student_weights)

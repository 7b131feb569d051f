"""Bit-packed greedy/Metropolis dynamics for sparse +-1 students on binary
inputs: the runs of :func:`mbphase.sim.greedy.greedy_one`, bit for bit (same
weights, scalars and trajectory for the same streams), with 64 patterns per
machine word.

Inputs and weights are +-1, so a mini-batch is a set of bitsets, one per
input: ``X[i, w]`` has bit ``b`` set iff input ``i`` of pattern ``64 w + b``
is +1. A hidden unit with ``n`` (odd) +-1 terms has field ``h = 2 a - n``,
``a`` the number of terms whose input agrees with the weight; it is stored
bit-sliced as the two's-complement counter ``z = a - (n + 1) / 2`` over a few
bit planes, so that ``h = +1`` is ``z = 0`` (every plane 0), ``h = -1`` is
``z = -1`` (every plane 1) and ``sign(h) = -1`` is the top plane.

Flipping the weight of input ``i`` moves ``z`` by -1 where the input agrees
with the old weight and by +1 elsewhere, so the unit's sign changes exactly on
``(E1 & agree) | (Em1 & ~agree)`` with ``E1 = {h = +1}``, ``Em1 = {h = -1}``.
The committee vote is a counter of the same kind over the hidden signs
(``u = #(units at +1) - (K + 1) / 2``): unit ``k`` is pivotal where the vote
is +-1 with the unit's own sign. A parity output changes wherever the unit
does. Per unit the state keeps ``A = E1 & pivotal`` and ``B = Em1 &
pivotal``, so a proposal costs, per word, ``changed = (A & agree) | (B &
~agree)`` and ``dE += 2 popcount(changed & correct) - popcount(changed)``.
An accepted flip ripples +-1 through the unit's planes, then recomputes that
word's flags, committee counter, pivots and correctness: O(m / 64) word
operations either way.

Patterns are taken from the data stream exactly as
:func:`mbphase.sim.patterns.draw_pattern` takes them (pattern-major, ``ceil(N /
64)`` draws per pattern, bit ``i % 64`` of draw ``i // 64`` is input ``i``);
each block of 64 patterns is turned input-major by 64 x 64 bit-matrix
transposes. The finite regime draws the training set the same way and cuts
batches with the same shuffle and cursor as
:func:`mbphase.sim.patterns.next_finite_batch`. The dynamics stream is used as in
greedy_one: ``randbelow(n_weights)`` per proposal in random order, and
``uniform()`` only when ``temperature > 0`` and ``dE > 0``.

Bits beyond ``m`` in the last word of a batch are masked out of every flag
(``E1``, ``Em1``, hidden signs, pivots, ``A``, ``B``, correct), so they never
count, and an incrementally updated state equals a freshly computed one word
for word (tests/test_greedy_bits.py checks both).

The bitset primitives (counters, transposes, network outputs, pattern
blocks) are in :mod:`mbphase.sim.bitsets`.

Cost per proposal: one 64-bit draw and division (the stream's randbelow), then
per word of the batch five loads, a handful of logic operations and two
POPCNTs; per accepted flip, per word, a ripple through the unit's planes and
the recomputation of that word's flags for the K units. Per batch refresh:
``ceil(N / 64)`` draws per pattern, one transpose per 64 patterns and 64
inputs, and carry-save counts of the teacher's and the student's fields.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .bitsets import (
    MAX_PLANES,
    ONE,
    ONES,
    ZERO,
    count_planes,
    count_votes,
    draw_bits,
    make_scratch,
    n_planes,
    network_output_bits,
    popcount,
    scatter_block,
    sign_masks,
    store_planes,
    tail_masks,
)
from .greedy_loop import add_late, is_late, loop_state, mark_if_solved, running, sample_if_due, unsolved, write_scalars
from .observables import (
    METHOD_NONE,
    METHOD_WEIGHTS,
    overlap,
    sign_match,
    success_method,
)
from .patterns import shuffle
from .rng import next_u64, uniform
from .teacher import COMMITTEE, PARITY
from .wordvec import load, store

def bits_eligible(p) -> bool:
    """Whether :class:`mbphase.sim.params.RunParams` ``p`` is a model this kernel
    runs: a sparse discrete (+-1) student on binary inputs with odd d (the
    fields then never vanish), d and K within the counters' range."""
    return (
        p.weights == "discrete"
        and p.architecture == "sparse"
        and p.inputs == "binary"
        and p.d % 2 == 1
        and p.d < 2**MAX_PLANES
        and p.K < 2**MAX_PLANES
    )


# --- bit-sliced counters ---


@njit(cache=True, inline="always")
def add_pm1(p, inc, dec):
    """One plane of a bit-sliced +-1 update: the counter gains +1 on the
    columns of ``inc`` and -1 on those of ``dec`` (disjoint); returns the new
    plane and the carries and borrows into the next one."""
    return p ^ (inc | dec), inc & p, dec & ~p


# --- batches from the training set ---


@njit(cache=True)
def gather_bits(Ptr, ytr_bits, perm, cursor, m, n_inputs, X, Y, buf):
    """Patterns ``perm[cursor .. cursor + m)`` of the pattern-major training
    set ``Ptr`` (P, L) and their label bits ``ytr_bits`` into the
    input-major batch ``X`` and label words ``Y``."""
    L = buf.size // 64
    for blk in range((m + 63) // 64):
        rows = min(64, m - 64 * blk)
        yw = ZERO
        for r in range(rows):
            src = perm[cursor + 64 * blk + r]
            for l in range(L):
                buf[64 * l + r] = Ptr[src, l]
            yw |= ((ytr_bits[src >> 6] >> uint64(src & 63)) & ONE) << uint64(r)
        for r in range(rows, 64):
            for l in range(L):
                buf[64 * l + r] = ZERO
        scatter_block(buf, L, n_inputs, X, blk)
        Y[blk] = yw


# --- the student's batch state ---
# One record of R words per 64 patterns, so that a proposal and a flip touch
# contiguous memory: A[K], B[K], COR, E1[K], EM1[K], S[K], PIV[K], Y, MASK,
# U[nbc] (committee counter planes), Z[K * nbu] (unit counter planes).


@njit(cache=True)
def layout(K, nbu, nbc):
    """Record length and offsets: (R, oA, oB, oCOR, oE1, oEM1, oS, oPIV, oY,
    oMASK, oU, oZ)."""
    oU = 6 * K + 3
    oZ = oU + nbc
    return oZ + K * nbu, 0, K, 2 * K, 2 * K + 1, 3 * K + 1, 4 * K + 1, 5 * K + 1, 6 * K + 1, 6 * K + 2, oU, oZ


@njit(cache=True)
def student_state(rows, masks, K, F, task, X, nw, ST, lay, scratch):
    """Fill the records ``ST`` (nw * R words) of the student on the batch
    ``X`` (labels ``Y`` and tail masks already in the records): unit planes,
    flags, committee counter, pivots, ``A``, ``B`` and correctness. Returns
    the number of misclassified patterns."""
    R = lay[0]
    Xf = X.reshape(-1)
    stride = uint64(X.shape[1])
    errors = 0
    for w in range(nw):
        wrong = student_record(ZERO, uint64(w), rows, masks, K, F, task, Xf, stride, ST, uint64(w * R), uint64(1), lay, scratch, 1)
        errors += popcount(wrong)
    return errors


@njit(cache=True, inline="always")
def student_record(proto, w, rows, masks, K, F, task, Xf, stride, ST, base, fs, lay, scratch, ps):
    """:func:`student_state` of batch word ``w`` (or of the vector of words
    from ``w``, like ``proto``): field ``f`` of its record at ``ST[base + f
    fs]`` (records word by word: ``base = w R``, ``fs = 1``; field by field:
    ``base = w``, ``fs`` the number of words). ``scratch`` from
    bitsets.make_scratch with ``width`` ``ps``. Returns the misclassified
    patterns' bits."""
    R, oA, oB, oCOR, oE1, oEM1, oS, oPIV, oY, oMASK, oU, oZ = lay
    planes, sg, ids, zeros = scratch
    nbu = n_planes(F)
    nbc = n_planes(K)
    ups = uint64(ps)
    mk = load(proto, ST, base + uint64(oMASK) * fs)
    neg = proto
    for k in range(K):
        count_planes(proto, Xf, stride, w, rows, masks, k * F, F, nbu, planes, ps)
        zero, m1 = store_planes(proto, planes, ps, nbu, ST, base + uint64(oZ + k * nbu) * fs, fs)
        store(ST, base + uint64(oE1 + k) * fs, zero & mk)
        store(ST, base + uint64(oEM1 + k) * fs, m1 & mk)
        # masked like every flag, so that an incremental update (which
        # never touches tail bits) keeps the records equal to fresh ones
        top = load(proto, planes, uint64(nbu - 1) * ups)
        s = ~top & mk
        store(ST, base + uint64(oS + k) * fs, s)
        store(sg, uint64(k) * ups, s)
        neg = neg ^ top
    if task == COMMITTEE:
        count_votes(proto, sg, ups, K, nbc, planes, ps)
        zero, m1 = store_planes(proto, planes, ps, nbc, ST, base + uint64(oU) * fs, fs)
        out = ~load(proto, planes, uint64(nbc - 1) * ups)
        one = (zero | m1) & mk
        for k in range(K):
            piv = one & ~(load(proto, ST, base + uint64(oS + k) * fs) ^ out)
            store(ST, base + uint64(oPIV + k) * fs, piv)
            store(ST, base + uint64(oA + k) * fs, load(proto, ST, base + uint64(oE1 + k) * fs) & piv)
            store(ST, base + uint64(oB + k) * fs, load(proto, ST, base + uint64(oEM1 + k) * fs) & piv)
    else:
        out = ~neg
        for k in range(K):
            store(ST, base + uint64(oPIV + k) * fs, mk)
            store(ST, base + uint64(oA + k) * fs, load(proto, ST, base + uint64(oE1 + k) * fs))
            store(ST, base + uint64(oB + k) * fs, load(proto, ST, base + uint64(oEM1 + k) * fs))
    cor = ~(out ^ load(proto, ST, base + uint64(oY) * fs)) & mk
    store(ST, base + uint64(oCOR) * fs, cor)
    return ~cor & mk


@njit(cache=True, inline="always")
def flip_delta_energy_bits(X, row, fmask, k, ST, lay, nw):
    """Energy change of flipping the weight of unit ``k`` on input ``row``,
    whose sign mask before the flip is ``fmask``."""
    R, oA, oB, oCOR = lay[0], lay[1], lay[2], lay[3]
    ia = uint64(oA + k)
    ib = uint64(oB + k)
    ic = uint64(oCOR)
    ur = uint64(R)
    dE = 0
    for w in range(nw):
        base = uint64(w) * ur
        agree = X[row, w] ^ fmask
        ch = (ST[base + ia] & agree) | (ST[base + ib] & ~agree)
        dE += 2 * popcount(ch & ST[base + ic]) - popcount(ch)
    return dE


@njit(cache=True, inline="always")
def apply_flip_bits(X, row, fmask, k, K, nbu, nbc, task, ST, lay, nw):
    """Update the records after the flip of unit ``k``'s weight on input
    ``row`` (``fmask``: the weight's sign mask before the flip)."""
    R, oA, oB, oCOR, oE1, oEM1, oS, oPIV, oY, oMASK, oU, oZ = lay
    for w in range(nw):
        base = uint64(w * R)
        mk = ST[base + uint64(oMASK)]
        agree = X[row, w] ^ fmask
        ie1 = base + uint64(oE1 + k)
        iem1 = base + uint64(oEM1 + k)
        flip = (ST[ie1] & agree) | (ST[iem1] & ~agree)
        # z loses 1 where the input agreed with the old weight, gains 1 elsewhere
        inc = ~agree
        dec = agree
        zero = ONES
        m1 = ONES
        iz = base + uint64(oZ + k * nbu)
        for b in range(nbu):
            q, inc, dec = add_pm1(ST[iz + uint64(b)], inc, dec)
            ST[iz + uint64(b)] = q
            zero &= ~q
            m1 &= q
        e1 = zero & mk
        em1 = m1 & mk
        ST[ie1] = e1
        ST[iem1] = em1
        i_s = base + uint64(oS + k)
        s_old = ST[i_s]
        ST[i_s] = s_old ^ flip
        if task == COMMITTEE:
            inc = flip & ~s_old
            dec = flip & s_old
            zero = ONES
            m1 = ONES
            top = ZERO
            iu = base + uint64(oU)
            for b in range(nbc):
                q, inc, dec = add_pm1(ST[iu + uint64(b)], inc, dec)
                ST[iu + uint64(b)] = q
                zero &= ~q
                m1 &= q
                top = q
            out = ~top
            one = (zero | m1) & mk
            ST[base + uint64(oCOR)] = ~(out ^ ST[base + uint64(oY)]) & mk
            for kk in range(K):
                piv = one & ~(ST[base + uint64(oS + kk)] ^ out)
                ST[base + uint64(oPIV + kk)] = piv
                ST[base + uint64(oA + kk)] = ST[base + uint64(oE1 + kk)] & piv
                ST[base + uint64(oB + kk)] = ST[base + uint64(oEM1 + kk)] & piv
        else:
            ST[base + uint64(oCOR)] ^= flip
            ST[base + uint64(oA + k)] = e1
            ST[base + uint64(oB + k)] = em1


# --- the dynamics stream and the observables, specialised ---


@njit(cache=True)
def randbelow_limit(n):
    """The rejection threshold rng.randbelow computes for bound ``n``."""
    bound = uint64(n)
    return uint64(0xFFFFFFFFFFFFFFFF) - (uint64(0xFFFFFFFFFFFFFFFF) % bound + uint64(1)) % bound


@njit(cache=True, inline="always")
def randbelow_fast(s, bound, limit):
    """rng.randbelow(s, bound) with its threshold precomputed: the same draws
    and the same result, two 64-bit divisions fewer."""
    while True:
        r = next_u64(s)
        if r <= limit:
            return np.int64(r % bound)


@njit(cache=True)
def same_fields(a, b):
    if a.shape != b.shape:
        return False
    for k in range(a.shape[0]):
        for j in range(a.shape[1]):
            if a[k, j] != b[k, j]:
                return False
    return True


@njit(cache=True)
def sparse_exact_success(W, T, task):
    """observables.exact_success for a sparse student that reads its teacher
    units' inputs (w_inputs == t_fields, distinct within a unit): unit k
    matches iff W[k] == T[k] (committee), or W[k] == +-T[k] with an even
    number of minus signs (parity)."""
    K = W.shape[0]
    minus = 0
    for k in range(K):
        match = sign_match(W[k], T[k])
        if match == 1:
            continue
        if match == -1 and task == PARITY:
            minus += 1
            continue
        return False
    return minus % 2 == 0


@njit(cache=True)
def sparse_overlap(W, T, task):
    """observables.overlap for a sparse student on its teacher's fields, with
    the same floating-point operations on the same values (dot products and
    squared norms are small integers, exact in any order of summation)."""
    K, F = W.shape
    total = 0.0
    for k in range(K):
        dot = 0.0
        na2 = 0.0
        nb2 = 0.0
        for j in range(F):
            dot += W[k, j] * T[k, j]
            na2 += W[k, j] * W[k, j]
            nb2 += T[k, j] * T[k, j]
        total += unit_overlap(dot, na2, nb2, task)
    return total / K


@njit(cache=True, inline="always")
def unit_overlap(dot, na2, nb2, task):
    """One unit's term of observables.overlap from its dot product and
    squared norms, with the same operations."""
    na = np.sqrt(na2)
    nb = np.sqrt(nb2)
    q = 0.0
    if na > 0.0 and nb > 0.0:
        q = min(1.0, max(-1.0, dot / (na * nb)))
    if task == PARITY:
        q = abs(q)
    return q


# --- the kernel ---


@njit(cache=True)
def greedy_bits_one(
    T, t_fields, task, n_inputs, W, w_inputs, check_function,
    m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
    stop_at_success, n_test, traj_times, data_state, dyn_state, test_state,
    scalars, traj,
):
    """:func:`mbphase.sim.greedy.greedy_one` for a +-1 student (odd fan-in) on
    binary inputs: the same arguments without ``ternary``, ``dense`` and
    ``gaussian`` (all False here), the same draws from the three streams and
    the same outputs (W (K, F) in place, ``scalars``, ``traj``)."""
    K, F = W.shape
    n_weights = K * F
    L = (n_inputs + 63) // 64
    nw = (m + 63) // 64
    nbu = n_planes(F)
    nbc = n_planes(K)
    lay = layout(K, nbu, nbc)
    R, oY, oMASK = lay[0], lay[8], lay[9]
    ST = np.zeros(nw * R, dtype=np.uint64)
    mask = tail_masks(m)
    for w in range(nw):
        ST[w * R + oMASK] = mask[w]
    X = np.zeros((n_inputs, nw), dtype=np.uint64)
    Y = np.zeros(nw, dtype=np.uint64)
    buf = np.zeros(64 * L, dtype=np.uint64)
    scratch = make_scratch(K)
    t_rows = t_fields.copy().reshape(-1)
    t_masks = sign_masks(T)
    rows = w_inputs.copy().reshape(-1)
    masks = sign_masks(W)
    unit_of = np.empty(n_weights, dtype=np.int64)
    for r in range(n_weights):
        unit_of[r] = r // F
    bound = uint64(n_weights)
    limit = randbelow_limit(n_weights)
    # Sparse students read their teacher units' inputs; then success and
    # overlap have cheap exact forms.
    sparse_fast = same_fields(w_inputs, t_fields)

    finite = train_size > 0
    nwt = (train_size + 63) // 64
    Ptr = np.empty((train_size, L), dtype=np.uint64)  # pattern-major, for batches
    Xtr = np.zeros((n_inputs, nwt), dtype=np.uint64)  # input-major, for the set error
    ytr_bits = np.zeros(nwt, dtype=np.uint64)
    out_tr = np.zeros(nwt, dtype=np.uint64)
    mask_tr = tail_masks(train_size)
    perm = np.arange(train_size)
    cursor = train_size  # forces a shuffle before the first batch
    if finite:
        for mu in range(train_size):
            for l in range(L):
                Ptr[mu, l] = next_u64(data_state)
        for blk in range(nwt):
            n_rows = min(64, train_size - 64 * blk)
            for r in range(64):
                for l in range(L):
                    buf[64 * l + r] = Ptr[64 * blk + r, l] if r < n_rows else ZERO
            scatter_block(buf, L, n_inputs, Xtr, blk)
        network_output_bits(t_rows, t_masks, K, F, task, Xtr, nwt, ytr_bits, scratch)
        for w in range(nwt):
            ytr_bits[w] &= mask_tr[w]

    st = loop_state(traj, success_method(W, w_inputs, T, t_fields, task, n_inputs, False, check_function, False, n_test, test_state))
    accepted = 0
    proposals = 0
    errors = 0
    sweep = 0
    while running(st, sweep, max_sweeps, stop_at_success):
        sweep += 1
        for p in range(n_weights):
            if p == 0 or refresh_proposal:
                if finite:
                    if cursor + m > train_size:
                        shuffle(data_state, perm)
                        cursor = 0
                    gather_bits(Ptr, ytr_bits, perm, cursor, m, n_inputs, X, Y, buf)
                    cursor += m
                else:
                    draw_bits(data_state, n_inputs, m, X, buf)
                    network_output_bits(t_rows, t_masks, K, F, task, X, nw, Y, scratch)
                for w in range(nw):
                    ST[w * R + oY] = Y[w]
                errors = student_state(rows, masks, K, F, task, X, nw, ST, lay, scratch)
            r = p if sequential else randbelow_fast(dyn_state, bound, limit)
            k = unit_of[r]
            fmask = masks[r]
            row = rows[r]
            dE = flip_delta_energy_bits(X, row, fmask, k, ST, lay, nw)
            proposals += 1
            if dE <= 0 or (temperature > 0.0 and uniform(dyn_state) < np.exp(-dE / temperature)):
                W[k, r - k * F] = -W[k, r - k * F]
                masks[r] = ~fmask
                apply_flip_bits(X, row, fmask, k, K, nbu, nbc, task, ST, lay, nw)
                errors += dE
                accepted += 1
        if unsolved(st):
            # As in greedy_one: the functional comparison only once the
            # mini-batch is learnt perfectly.
            if sparse_fast and sparse_exact_success(W, T, task):
                method = METHOD_WEIGHTS
            elif sparse_fast and not (check_function and errors == 0):
                method = METHOD_NONE
            else:
                method = success_method(W, w_inputs, T, t_fields, task, n_inputs, False, check_function and errors == 0, False, n_test, test_state)
            mark_if_solved(st, method, sweep)
        if is_late(sweep, max_sweeps):
            if sparse_fast:
                q = sparse_overlap(W, T, task)
            else:
                q = overlap(W, w_inputs, T, t_fields, n_inputs, task, False)
            if finite:
                network_output_bits(rows, masks, K, F, task, Xtr, nwt, out_tr, scratch)
                wrong = 0
                for w in range(nwt):
                    wrong += popcount((out_tr[w] ^ ytr_bits[w]) & mask_tr[w])
                add_late(st, q, wrong / train_size)
            else:
                add_late(st, q, errors / m)
        sample_if_due(st, traj, traj_times, sweep, W, w_inputs, T, t_fields, task, n_inputs, False, False, n_test, test_state, accepted, proposals)

    write_scalars(scalars, st, W, w_inputs, T, t_fields, task, n_inputs, False, check_function, False, n_test, test_state, sweep, max_sweeps, stop_at_success, errors, m, accepted, proposals)


@njit(cache=True, parallel=True)
def greedy_bits_many(
    T, t_fields, task, n_inputs, W, w_inputs, check_function,
    m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
    stop_at_success, n_test, traj_times, states, scalars, traj,
):
    """:func:`greedy_bits_one` for every seed in parallel, as
    greedy.greedy_many (``states`` (seeds, 3, 4): data, dynamics, test).
    Runs are serial inside, so results do not depend on the thread count."""
    for s in prange(W.shape[0]):
        greedy_bits_one(
            T[s], t_fields[s], task, n_inputs, W[s], w_inputs[s], check_function,
            m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
            stop_at_success, n_test, traj_times, states[s, 0], states[s, 1], states[s, 2],
            scalars[s], traj[s],
        )

"""Greedy dynamics at small mini-batches, several runs (replicas) per machine
word and several words per proposal: multi-spin coding of
:mod:`mbphase.sim.greedy_bits`.

The bit-packed kernel puts the ``m`` patterns of one run's mini-batch in the
bits of a 64-bit word; at ``m <= 32`` most of each word is empty, and the
cost of a proposal (a random draw, a handful of word operations, the update
of an accepted flip) is paid for ``m`` patterns only. Here ``G = 64 // m``
runs share a word: run ``g`` (lane ``g``) owns bits ``[g m, (g + 1) m)``.
Every bit-sliced counter, flag and update of greedy_bits acts bit by bit, so
the lanes never mix; only the energy change is counted per lane (two POPCNTs
of the lane's bits) and the flip is applied in the lanes that accept it.

A group of about 32 runs (:func:`group_size`: whole words, 16 of them at
m = 32, 8 at m = 16, 4 at m = 8) makes the same proposals: weight ``r``
(unit and position) is drawn once per proposal, from one stream for the
group, and tested and applied word by word. Each run keeps its own teacher,
initial student, data stream and test stream, so it is exactly the run
greedy_bits would make with the group's proposal stream as its dynamics
stream (tests/test_greedy_replicas.py checks this bit for bit, and that
sharing the proposals does not correlate the runs' successes). The group of
a seed and its proposal stream depend on the seed alone
(:func:`replica_group`), never on which other seeds a job runs, nor on the
thread count: seeds ``S j .. S j + S - 1`` (``S`` the group size) form
group ``j``, whose proposals come from the dynamics stream of seed ``S j``
(which therefore runs exactly as under greedy_bits). A group's runs fill
its words from the first, so a job with fewer seeds than a group runs
fewer words.

A proposal's test and update, and the records a fresh batch gives (the
teacher's labels, the student's counters and flags: greedy_bits'
network_output_bits and student_state), are the same bitwise operations on
every word of the group, so they run on vectors of words
(:mod:`mbphase.sim.wordvec`): the group's records are kept field by field
(field ``f`` of word ``w`` at ``f NW + w``), so that one field of 16, 8 or
4 consecutive words is one vector load, and the words left over run one by
one through the same code (:func:`vector_ends`). A vector of 16 words
spans several registers; the gain is in the loop control and branches paid
once per vector. (An earlier attempt that left the vectorising to LLVM,
every step of a proposal one loop over the words, gained 12% to 25% at
m = 32 and lost elsewhere: LLVM's vector loops wanted 32 iterations before
they ran.)

Between sweeps, a sparse student's success and overlap are computed from
the packed signs (:func:`packed_disagreements`, every lane of a word at
once), and its weights are unpacked only when a trajectory sample, a
success check on the test set or a dense overlap needs them.

Measured at m = 32 (64 seeds, K = 3, one thread, pattern evaluations per
CPU second, d = 9 / 51): word by word 1.8e9 / 2.7e9; the proposals as
vectors 2.3e9 / 4.5e9; with the packed bookkeeping 2.7e9 / 5.0e9; with
the batch's records as vectors too 3.5e9 / 6.0e9. Before the packed
bookkeeping, the work between sweeps (the weights unpacked every sweep, the
overlap in floating point) took a quarter of the time at d = 9.

Scope: online data, zero temperature (the only acceptance is ``dE <= 0``, so
the dynamics stream is used for proposals alone), ``m <= 32``, the students
of greedy_bits. The input ``i`` read by student weight ``r`` is kept as the
agreement word ``XW[r] = x_i ^ sign mask`` of every lane, so that a proposal
reads one word whatever each replica's wiring, and an accepted flip toggles
it in the accepting lanes.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, uint64

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .bitsets import (
    ONE,
    ZERO,
    make_scratch,
    n_planes,
    network_output_word,
    popcount,
    scatter_block,
)
from .greedy_bits import (
    add_pm1,
    bits_eligible,
    layout,
    randbelow_fast,
    randbelow_limit,
    same_fields,
    student_record,
    unit_overlap,
)
from .greedy_loop import add_late, is_late, loop_state, mark_if_solved, running, sample_due, sample_if_due, unsolved, write_scalars
from .observables import METHOD_NONE, METHOD_WEIGHTS, overlap, success_method
from .rng import next_u64
from .teacher import COMMITTEE, PARITY
from .wordvec import accept_lanes, load, nonzero, splat_like, store, vzero

MAX_M = 32
"""Largest mini-batch run here: two replicas per word."""


def replicas_per_word(m: int) -> int:
    """Runs packed into one 64-bit word at mini-batch ``m``."""
    return 64 // m


@njit(cache=True)
def replicas_per_word_jit(m):
    return 64 // m


GROUP_RUNS = 32
"""Runs a group holds (at most; 64 at m = 1, one word's): a job of 32 seeds
fills its groups."""


def words_per_group(m: int) -> int:
    """Words of one group at mini-batch ``m``: 16 at m = 32, 8 at m = 16."""
    return max(1, GROUP_RUNS // replicas_per_word(m))


def group_size(m: int) -> int:
    """Runs per group, which share their proposals: whole words, about
    :data:`GROUP_RUNS` runs. A proposal's fixed work (the draw, the loop
    control, the acceptance test's branch) is then paid once for all of
    them (module docstring)."""
    return replicas_per_word(m) * words_per_group(m)


def replicas_eligible(p) -> bool:
    """Whether :class:`mbphase.sim.params.RunParams` ``p`` runs here: a
    greedy_bits student on online data at zero temperature with ``m <=``
    :data:`MAX_M` (at least two replicas per word)."""
    return bits_eligible(p) and p.data == "online" and p.temperature == 0.0 and p.m <= MAX_M


def replica_group(seed: int, m: int) -> tuple[int, int]:
    """(group of ``seed``, the seed whose dynamics stream is the group's
    proposal stream)."""
    g = group_size(m)
    return seed // g, g * (seed // g)


def pack_groups(groups: np.ndarray, per_group: int) -> np.ndarray:
    """Rows of at most ``per_group`` indices into ``groups`` that share a
    group, -1 for an empty slot: (rows, per_group) int64. A group with more
    members (a seed given twice) spans several rows, each with the group's
    proposal stream, so every index runs the same way wherever it lands."""
    order = np.argsort(groups, kind="stable")
    rows = []
    i = 0
    while i < order.size:
        row = [int(order[i])]
        i += 1
        while i < order.size and len(row) < per_group and groups[order[i]] == groups[row[0]]:
            row.append(int(order[i]))
            i += 1
        rows.append(row + [-1] * (per_group - len(row)))
    return np.array(rows, dtype=np.int64).reshape(-1, per_group)


# --- packing the lanes ---


@njit(cache=True, inline="always")
def _next(s):
    return next_u64(s)


@njit(cache=True)
def draw_lanes(data_states, live, G, m, n_inputs, X, buf):
    """Fresh patterns for every live slot: slot ``i = G w + g`` (lane ``g``
    of word ``w``) takes its ``m`` patterns from its own data stream
    ``data_states[i]`` in the order of patterns.draw_pattern, into rows ``g
    m .. g m + m - 1`` of word ``w``'s pattern-major block, which one
    transpose per 64 inputs turns into the input-major words ``X[:, w]``.
    Rows of other slots are zero."""
    L = buf.size // 64
    for w in range(X.shape[1]):
        buf[:] = ZERO
        for g in range(G):
            i = w * G + g
            if not live[i]:
                continue
            s = data_states[i]
            for r in range(g * m, g * m + m):
                for l in range(L):
                    buf[64 * l + r] = _next(s)
        scatter_block(buf, L, n_inputs, X, w)


@njit(cache=True)
def agreement_words(X, rows, masks, lane_masks, shared, out):
    """``out[t, w]``: in each lane ``g`` of word ``w``, the agreement of input
    ``rows[G w + g, t]`` with the sign mask ``masks[t, w]``. With ``shared``
    wiring (every slot reads the same inputs) one load per term and word."""
    G = lane_masks.size
    for t in range(out.shape[0]):
        for w in range(out.shape[1]):
            if shared:
                out[t, w] = X[rows[0, t], w] ^ masks[t, w]
            else:
                v = ZERO
                for g in range(G):
                    v |= X[rows[w * G + g, t], w] & lane_masks[g]
                out[t, w] = v ^ masks[t, w]


@njit(cache=True)
def packed_signs(W, slots, G, lane_masks, out):
    """Per weight ``t = k F + j`` and word: the lanes whose run has weight -1
    there (all of the lane's bits set)."""
    out[:, :] = ZERO
    for i in range(slots.size):
        if slots[i] < 0:
            continue
        Wi = W[slots[i]].reshape(-1)
        for t in range(out.shape[0]):
            if Wi[t] < 0.0:
                out[t, i // G] |= lane_masks[i % G]


@njit(cache=True)
def unpack_signs(PM, w, lane_bit, Wi):
    """The +-1 weights of one slot (bit ``lane_bit`` of word ``w``) from the
    packed sign masks, into ``Wi`` (K, F)."""
    flat = Wi.reshape(-1)
    sh = uint64(lane_bit)
    for t in range(flat.size):
        flat[t] = -1.0 if (PM[t, w] >> sh) & ONE else 1.0


# --- a sparse student against its teacher, from the packed signs ---


@njit(cache=True)
def packed_disagreements(PM, TM, w, G, m, K, F, out):
    """``out[k, g]``: the weights of unit ``k`` whose sign differs from the
    teacher's, for the run in lane ``g`` of word ``w`` of the packed sign
    masks (a sparse student that reads its teacher units' inputs, so that
    weight ``k F + j`` of both reads the same input). A lane's mask is all
    ones where its weight is -1, so its lowest bit says whether the run's
    signs differ: every lane is counted at once in its own m-bit field when
    F fits there, else lane by lane."""
    if F < (1 << min(m, 62)):
        low = ZERO
        for g in range(G):
            low |= ONE << uint64(g * m)
        field = (ONE << uint64(m)) - ONE
        for k in range(K):
            c = ZERO
            for t in range(k * F, k * F + F):
                c += (PM[t, w] ^ TM[t, w]) & low
            for g in range(G):
                out[k, g] = np.int64((c >> uint64(g * m)) & field)
    else:
        for g in range(G):
            sh = uint64(g * m)
            for k in range(K):
                c = 0
                for t in range(k * F, k * F + F):
                    c += np.int64(((PM[t, w] ^ TM[t, w]) >> sh) & ONE)
                out[k, g] = c


@njit(cache=True)
def disagreements_success(dis, g, F, task):
    """greedy_bits.sparse_exact_success from the disagreements per unit
    (column ``g`` of ``dis``):
    none (committee), or none or all with an even number of units all
    different (parity)."""
    minus = 0
    for k in range(dis.shape[0]):
        if dis[k, g] == 0:
            continue
        if dis[k, g] == F and task == PARITY:
            minus += 1
            continue
        return False
    return minus % 2 == 0


@njit(cache=True)
def disagreements_overlap(dis, g, F, task):
    """greedy_bits.sparse_overlap from the disagreements per unit (column
    ``g`` of ``dis``), with the
    same values (for +-1 weights the dot product is F - 2 dis and both
    squared norms F, exact integers) and so the same result."""
    total = 0.0
    for k in range(dis.shape[0]):
        total += unit_overlap(float(F - 2 * dis[k, g]), float(F), float(F), task)
    return total / dis.shape[0]


@njit(cache=True, inline="always")
def apply_flip_lanes(proto, agree, acc, uk, K, nbu, nbc, task, SV, nw, j, lay):
    """greedy_bits.apply_flip_bits for word ``j`` (or the vector of words
    from ``j``, like ``proto``) of the field-major records ``SV``, in the
    lanes ``acc`` only (``agree``: the agreement of the flipped weight's
    input with its old sign). Field ``f`` of word ``j`` is ``SV[f nw + j]``.
    Unsigned indices, as in greedy_bits, spare Numba's negative-index
    checks."""
    R, oA, oB, oCOR, oE1, oEM1, oS, oPIV, oY, oMASK, oU, oZ = lay
    mk = load(proto, SV, uint64(oMASK) * nw + j)
    ie1 = (uint64(oE1) + uk) * nw + j
    iem1 = (uint64(oEM1) + uk) * nw + j
    flip = ((load(proto, SV, ie1) & agree) | (load(proto, SV, iem1) & ~agree)) & acc
    inc = ~agree & acc
    dec = agree & acc
    zero = ~proto
    m1 = ~proto
    iz = (uint64(oZ) + uk * uint64(nbu)) * nw + j
    for b in range(nbu):
        ib = iz + uint64(b) * nw
        q, inc, dec = add_pm1(load(proto, SV, ib), inc, dec)
        store(SV, ib, q)
        zero = zero & ~q
        m1 = m1 & q
    e1 = zero & mk
    em1 = m1 & mk
    store(SV, ie1, e1)
    store(SV, iem1, em1)
    i_s = (uint64(oS) + uk) * nw + j
    s_old = load(proto, SV, i_s)
    store(SV, i_s, s_old ^ flip)
    i_cor = uint64(oCOR) * nw + j
    if task == COMMITTEE:
        inc = flip & ~s_old
        dec = flip & s_old
        zero = ~proto
        m1 = ~proto
        top = proto
        for b in range(nbc):
            ib = (uint64(oU) + uint64(b)) * nw + j
            q, inc, dec = add_pm1(load(proto, SV, ib), inc, dec)
            store(SV, ib, q)
            zero = zero & ~q
            m1 = m1 & q
            top = q
        out = ~top
        one = (zero | m1) & mk
        store(SV, i_cor, ~(out ^ load(proto, SV, uint64(oY) * nw + j)) & mk)
        for kk in range(K):
            ukk = uint64(kk)
            piv = one & ~(load(proto, SV, (uint64(oS) + ukk) * nw + j) ^ out)
            store(SV, (uint64(oPIV) + ukk) * nw + j, piv)
            store(SV, (uint64(oA) + ukk) * nw + j, load(proto, SV, (uint64(oE1) + ukk) * nw + j) & piv)
            store(SV, (uint64(oB) + ukk) * nw + j, load(proto, SV, (uint64(oEM1) + ukk) * nw + j) & piv)
    else:
        store(SV, i_cor, load(proto, SV, i_cor) ^ flip)
        store(SV, (uint64(oA) + uk) * nw + j, e1)
        store(SV, (uint64(oB) + uk) * nw + j, em1)


# --- the kernel ---


@njit(cache=True)
def flush_accepted(counts, G, m, accepted):
    """Add the per-lane counters ``counts`` (an m-bit field per lane of each
    word) to ``accepted`` (per slot) and clear them."""
    field = (ONE << uint64(m)) - ONE
    for w in range(counts.size):
        c = counts[w]
        for g in range(G):
            accepted[w * G + g] += np.int64((c >> uint64(g * m)) & field)
        counts[w] = ZERO


SCRATCH_WIDTH = 4
"""Words of the vectors of :func:`batch_records`: the stride of the counting
routines' scratch."""


@njit(cache=True, inline="always")
def batch_record(proto, j, XTf, XWf, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, task, SV, nw, lay, scratch):
    """The records of word ``j`` (or of the vector of words from ``j``, like
    ``proto``) on a fresh batch: the teacher's labels (from the agreement
    words ``XTf``), the tail mask, and the student's state (from ``XWf``),
    as greedy_bits.student_state computes them, field by field."""
    oY, oMASK = lay[8], lay[9]
    mk = load(proto, word_mask, j)
    y = network_output_word(proto, j, ident_t, zeros_t, K, d, task, XTf, nw, scratch, SCRATCH_WIDTH)
    store(SV, uint64(oY) * nw + j, y & mk)
    store(SV, uint64(oMASK) * nw + j, mk)
    student_record(proto, j, ident_w, zeros_w, K, F, task, XWf, nw, SV, j, nw, lay, scratch, SCRATCH_WIDTH)


@njit(cache=True)
def batch_records(XT, XW, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, task, SV, lay, scratch):
    """:func:`batch_record` of every word of the group, as vectors of 4
    words, then one by one. A batch's work per word is long (the counters of
    every unit), so the loop control that wider vectors save in
    :func:`propose` matters little here, and each width is one more copy of
    the inlined counting code to compile: with vectors of 4 words the
    kernel's cold compilation takes 38 s and 0.55 GB (25 s and 0.45 GB
    before any vectors; 152 s in a variant with vectors of 16, 8 and 4
    words and every helper inlined)."""
    NW = XW.shape[1]
    nw = uint64(NW)
    XTf = XT.reshape(-1)
    XWf = XW.reshape(-1)
    j4 = NW - NW % 4
    for j in range(0, j4, 4):
        batch_record(vzero(4), uint64(j), XTf, XWf, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, task, SV, nw, lay, scratch)
    for j in range(j4, NW):
        batch_record(ZERO, uint64(j), XTf, XWf, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, task, SV, nw, lay, scratch)


@njit(cache=True, inline="always")
def vector_ends(n_words):
    """Where the vectors of 16, 8 and 4 words end when ``n_words`` words
    are taken as vectors, widest first: words ``[0, j16)`` in vectors of
    16, ``[j16, j8)`` of 8, ``[j8, j4)`` of 4, the rest one by one."""
    return n_words - n_words % 16, n_words - n_words % 8, n_words - n_words % 4


@njit(cache=True, inline="always")
def propose_at(proto, j, row, uk, XWf, PMf, SV, nw, lay, G, lane_masks, run_mask, counts, low, K, nbu, nbc, task):
    """One proposal (weight ``row / nw``, of unit ``uk``) on word ``j``, or
    on the vector of words from ``j`` (like ``proto``): the lanes that accept
    it (dE <= 0), counted and flipped. Each lane accepts about half of the
    time, so the test has no branch per lane."""
    oA, oB, oCOR = lay[1], lay[2], lay[3]
    agree = load(proto, XWf, row + j)
    ch = (load(proto, SV, (uint64(oA) + uk) * nw + j) & agree) | (load(proto, SV, (uint64(oB) + uk) * nw + j) & ~agree)
    chc = ch & load(proto, SV, uint64(oCOR) * nw + j)
    acc = proto
    for g in range(G):
        acc = acc | accept_lanes(ch, chc, lane_masks[g])
    acc = acc & load(proto, run_mask, j)
    store(counts, j, load(proto, counts, j) + (acc & splat_like(proto, low)))
    # a word none of whose lanes accepts is left alone: common with two
    # lanes (m = 32, where skipping measured 10% faster)
    if nonzero(acc):
        apply_flip_lanes(proto, agree, acc, uk, K, nbu, nbc, task, SV, nw, j, lay)
        store(XWf, row + j, agree ^ acc)
        store(PMf, row + j, load(proto, PMf, row + j) ^ acc)


@njit(cache=True)
def propose(props, start, stop, unit_of, XW, PM, SV, lay, G, m, lane_masks, run_mask, counts, accepted, K, nbu, nbc, task):
    """Proposals ``props[start:stop]`` on every word of a group, the flips
    applied in the lanes that accept them: several words at a time as one
    vector (:mod:`mbphase.sim.wordvec`), the words left over one by one. Its own function, so
    that this loop is compiled apart from the bookkeeping around it
    (registers).

    The acceptances are counted per lane in the lane's own m-bit field of
    ``counts`` (``acc & low`` adds one at the lowest bit of each accepting
    lane), flushed to ``accepted`` before a field could overflow: one add
    per word and proposal instead of one per run."""
    NW = XW.shape[1]
    nw = uint64(NW)
    XWf = XW.reshape(-1)
    PMf = PM.reshape(-1)
    low = ZERO
    for g in range(G):
        low |= ONE << uint64(g * m)
    capacity = (1 << min(m, 12)) - 1
    pending = 0
    j16, j8, j4 = vector_ends(NW)
    for p in range(start, stop):
        r = props[p]
        uk = uint64(unit_of[r])
        row = uint64(r) * nw
        # The group's words as vectors of 16, 8 and 4 words (the widest
        # that fit), then one by one. At m = 32, d = 51 (64 seeds, one
        # thread, before the batch's records were vectors too) the kernel
        # measured 4.5e9 pattern evaluations per second with a group's 16
        # words as one vector here, 3.4e9 as four vectors of 4 words and
        # 2.7e9 word by word. (Passing this body to one function that walks
        # the widths made it an indirect call, never inlined: 25% slower.)
        for j in range(0, j16, 16):
            propose_at(vzero(16), uint64(j), row, uk, XWf, PMf, SV, nw, lay, G, lane_masks, run_mask, counts, low, K, nbu, nbc, task)
        for j in range(j16, j8, 8):
            propose_at(vzero(8), uint64(j), row, uk, XWf, PMf, SV, nw, lay, G, lane_masks, run_mask, counts, low, K, nbu, nbc, task)
        for j in range(j8, j4, 4):
            propose_at(vzero(4), uint64(j), row, uk, XWf, PMf, SV, nw, lay, G, lane_masks, run_mask, counts, low, K, nbu, nbc, task)
        for j in range(j4, NW):
            propose_at(ZERO, uint64(j), row, uk, XWf, PMf, SV, nw, lay, G, lane_masks, run_mask, counts, low, K, nbu, nbc, task)
        pending += 1
        if pending == capacity:
            flush_accepted(counts, G, m, accepted)
            pending = 0
    flush_accepted(counts, G, m, accepted)


@njit(cache=True)
def greedy_replicas_group(
    T, t_fields, task, n_inputs, W, w_inputs, check_function, m, refresh_proposal, sequential,
    max_sweeps, stop_at_success, n_test, traj_times, states, slots, prop_state, scalars, traj,
):
    """The runs ``slots`` (seed indices, -1 = empty; filled slots first) of
    one group: greedy_bits.greedy_bits_one of each at zero temperature on
    online data, with ``prop_state`` as the dynamics stream they share. Slot
    ``i`` is lane ``i % G`` of word ``i // G``. Writes ``W``, ``scalars``
    and ``traj`` of those seeds."""
    G = replicas_per_word_jit(m)
    n_slots = 0
    for i in range(slots.size):
        if slots[i] >= 0:
            n_slots = i + 1
    NW = (n_slots + G - 1) // G
    n_slots = NW * G
    K, F = W.shape[1], W.shape[2]
    d = T.shape[2]
    n_weights = K * F
    L = (n_inputs + 63) // 64
    nbu = n_planes(F)
    nbc = n_planes(K)
    lay = layout(K, nbu, nbc)
    R, oCOR = lay[0], lay[3]
    SV = np.zeros(R * NW, dtype=np.uint64)  # the records, field by field
    scratch = make_scratch(K, SCRATCH_WIDTH)

    lane_masks = np.zeros(G, dtype=np.uint64)
    for g in range(G):
        lane_masks[g] = ((ONE << uint64(m)) - ONE) << uint64(g * m)
    seed_of = np.full(n_slots, -1, dtype=np.int64)
    seed_of[: min(n_slots, slots.size)] = slots[: min(n_slots, slots.size)]
    live = np.zeros(n_slots, dtype=np.bool_)
    word_mask = np.zeros(NW, dtype=np.uint64)
    for i in range(n_slots):
        if seed_of[i] >= 0:
            live[i] = True
            word_mask[i // G] |= lane_masks[i % G]
    first = seed_of[0]
    # Wiring per slot (empty slots copy the first), and whether all agree.
    s_rows = np.empty((n_slots, n_weights), dtype=np.int64)
    t_rows = np.empty((n_slots, K * d), dtype=np.int64)
    shared_s = True
    shared_t = True
    for i in range(n_slots):
        s = seed_of[i] if seed_of[i] >= 0 else first
        s_rows[i] = w_inputs[s].reshape(-1)
        t_rows[i] = t_fields[s].reshape(-1)
        shared_s = shared_s and same_fields(w_inputs[s], w_inputs[first])
        shared_t = shared_t and same_fields(t_fields[s], t_fields[first])
    PM = np.empty((n_weights, NW), dtype=np.uint64)  # the students' signs
    TM = np.empty((K * d, NW), dtype=np.uint64)  # the teachers' signs
    packed_signs(W, seed_of, G, lane_masks, PM)
    packed_signs(T, seed_of, G, lane_masks, TM)
    X = np.zeros((n_inputs, NW), dtype=np.uint64)
    XW = np.zeros((n_weights, NW), dtype=np.uint64)
    XT = np.zeros((K * d, NW), dtype=np.uint64)
    counts = np.zeros(NW, dtype=np.uint64)
    buf = np.zeros(64 * L, dtype=np.uint64)
    ident_w = np.arange(n_weights)
    ident_t = np.arange(K * d)
    zeros_w = np.zeros(n_weights, dtype=np.uint64)
    zeros_t = np.zeros(K * d, dtype=np.uint64)
    unit_of = np.empty(n_weights, dtype=np.int64)
    for r in range(n_weights):
        unit_of[r] = r // F
    bound = uint64(n_weights)
    limit = randbelow_limit(n_weights)
    props = np.empty(n_weights, dtype=np.int64)
    # The slots' data streams, contiguous (written back at the end)
    data_states = np.zeros((n_slots, 4), dtype=np.uint64)
    for i in range(n_slots):
        if seed_of[i] >= 0:
            data_states[i] = states[seed_of[i], 0]

    # Per slot: loop state, counters, the sweep it stopped at.
    sts = np.zeros((n_slots, 7))
    sparse_fast = np.zeros(n_slots, dtype=np.bool_)
    errors = np.zeros(n_slots, dtype=np.int64)
    dis = np.zeros((K, G), dtype=np.int64)
    accepted = np.zeros(n_slots, dtype=np.int64)
    t_run = np.zeros(n_slots, dtype=np.int64)
    for i in range(n_slots):
        s = seed_of[i]
        if s < 0:
            continue
        sts[i] = loop_state(traj[s], success_method(W[s], w_inputs[s], T[s], t_fields[s], task, n_inputs, False, check_function, False, n_test, states[s, 2]))
        sparse_fast[i] = same_fields(w_inputs[s], t_fields[s])
        live[i] = running(sts[i], 0, max_sweeps, stop_at_success)

    run_mask = np.zeros(NW, dtype=np.uint64)
    proposals = 0
    sweep = 0
    any_live = live.any()
    while any_live:
        sweep += 1
        for w in range(NW):
            run_mask[w] = ZERO
            for g in range(G):
                if live[w * G + g]:
                    run_mask[w] |= lane_masks[g]
        # The sweep's proposals first: a tight loop of draws, which the
        # flips below (data-dependent branches) would otherwise interrupt.
        for p in range(n_weights):
            props[p] = p if sequential else randbelow_fast(prop_state, bound, limit)
        for p in range(n_weights):
            if p == 0 or refresh_proposal:
                draw_lanes(data_states, live, G, m, n_inputs, X, buf)
                agreement_words(X, t_rows, TM, lane_masks, shared_t, XT)
                agreement_words(X, s_rows, PM, lane_masks, shared_s, XW)
                batch_records(XT, XW, word_mask, ident_t, zeros_t, ident_w, zeros_w, K, d, F, task, SV, lay, scratch)
                stop = p + 1 if refresh_proposal else n_weights
                propose(props, p, stop, unit_of, XW, PM, SV, lay, G, m, lane_masks, run_mask, counts, accepted, K, nbu, nbc, task)
        proposals += n_weights
        dis_word = -1  # the word whose lanes dis holds
        for i in range(n_slots):
            if not live[i]:
                continue
            s = seed_of[i]
            w, g = i // G, i % G
            # the batch errors, exact in the incrementally kept state
            errors[i] = popcount(~SV[oCOR * NW + w] & lane_masks[g])
            # A sparse student is compared with its teacher on the packed
            # signs; the weights are unpacked only for what needs them
            # (module docstring).
            unpacked = False
            if sparse_fast[i] and dis_word != w:
                packed_disagreements(PM, TM, w, G, m, K, F, dis)  # every lane of the word
                dis_word = w
            st = sts[i]
            if unsolved(st):
                if sparse_fast[i] and disagreements_success(dis, g, F, task):
                    method = METHOD_WEIGHTS
                elif sparse_fast[i] and not (check_function and errors[i] == 0):
                    method = METHOD_NONE
                else:
                    unpack_signs(PM, w, g * m, W[s])
                    unpacked = True
                    method = success_method(W[s], w_inputs[s], T[s], t_fields[s], task, n_inputs, False, check_function and errors[i] == 0, False, n_test, states[s, 2])
                mark_if_solved(st, method, sweep)
            if is_late(sweep, max_sweeps):
                if sparse_fast[i]:
                    q = disagreements_overlap(dis, g, F, task)
                else:
                    if not unpacked:
                        unpack_signs(PM, w, g * m, W[s])
                        unpacked = True
                    q = overlap(W[s], w_inputs[s], T[s], t_fields[s], n_inputs, task, False)
                add_late(st, q, errors[i] / m)
            if sample_due(st, traj_times, sweep):
                if not unpacked:
                    unpack_signs(PM, w, g * m, W[s])
                sample_if_due(st, traj[s], traj_times, sweep, W[s], w_inputs[s], T[s], t_fields[s], task, n_inputs, False, False, n_test, states[s, 2], accepted[i], proposals)
            t_run[i] = sweep
            live[i] = running(st, sweep, max_sweeps, stop_at_success)
        any_live = live.any()

    for i in range(n_slots):
        s = seed_of[i]
        if s < 0:
            continue
        unpack_signs(PM, i // G, (i % G) * m, W[s])  # a lane's signs stop changing when its run stops
        states[s, 0] = data_states[i]
        write_scalars(scalars[s], sts[i], W[s], w_inputs[s], T[s], t_fields[s], task, n_inputs, False, check_function, False,
                      n_test, states[s, 2], t_run[i], max_sweeps, stop_at_success, errors[i], m, accepted[i], t_run[i] * n_weights)


@njit(cache=True, parallel=True)
def greedy_replicas_many(
    T, t_fields, task, n_inputs, W, w_inputs, check_function, m, refresh_proposal, sequential,
    max_sweeps, stop_at_success, n_test, traj_times, states, groups, prop_states, scalars, traj,
):
    """:func:`greedy_replicas_group` for every row of ``groups`` (seed
    indices per slot) in parallel, with ``prop_states[i]`` (a copy of the
    group's proposal stream) for group ``i``. Groups are serial inside, and
    a seed's run depends only on its own streams and its group's proposals,
    so results depend neither on the thread count nor on the packing."""
    for i in prange(groups.shape[0]):
        greedy_replicas_group(
            T, t_fields, task, n_inputs, W, w_inputs, check_function, m, refresh_proposal, sequential,
            max_sweeps, stop_at_success, n_test, traj_times, states, groups[i], prop_states[i], scalars, traj,
        )

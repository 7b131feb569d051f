"""Sign networks on bitsets: 64 binary patterns per machine word.

Binary inputs and +-1 weights are bits: ``X[i, w]`` has bit ``b`` set iff
input ``i`` of pattern ``64 w + b`` is +1, and a weight is a mask that is all
ones where it is -1, so ``X ^ mask`` marks where input and weight agree. A
unit with ``n`` (odd) +-1 terms has field ``h = 2 a - n``, ``a`` the number
of agreeing terms; it is counted bit-sliced (one word per bit plane of the
two's-complement counter ``z = a - (n + 1) / 2``, so that ``sign(h) = -1`` is
the top plane) by a carry-save tree. Patterns are drawn from a stream exactly
as :func:`mbphase.sim.patterns.draw_pattern` draws them, 64 at a time, and
turned input-major by 64 x 64 bit-matrix transposes.

The counters and the network outputs take one word or a vector of words
(:mod:`mbphase.sim.wordvec`, whose word constants and popcount this module
re-exports), so that the replica kernel computes a batch's records four
words at a time with the same code.

The greedy kernels (:mod:`mbphase.sim.greedy_bits`,
:mod:`mbphase.sim.greedy_replicas`) run their dynamics on these bitsets;
:func:`test_error_bits` measures a run's test error with them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .rng import next_u64
from .teacher import COMMITTEE
from .wordvec import ONE, ONES, ZERO, load, popcount, splat_like, store

MAX_PLANES = 11
"""Planes of the bit-sliced counters: sums of at most 2^11 - 1 = 2047 terms
(d and K up to 2047)."""


# --- word primitives ---


@njit(cache=True, inline="always")
def _transpose_stage(A, off, j, msk):
    """Swap the off-diagonal j x j blocks of every 2j x 2j diagonal block.
    Unsigned indices spare Numba's negative-index wraparound, which lets LLVM
    vectorise the stage."""
    sj = uint64(j)
    for base in range(0, 64, 2 * j):
        for kk in range(j):
            k = uint64(off + base + kk)
            t = ((A[k] >> sj) ^ A[k + sj]) & msk
            A[k + sj] ^= t
            A[k] ^= t << sj


@njit(cache=True)
def transpose64(A, off):
    """Transpose in place the 64 x 64 bit matrix held in the words ``A[off:off
    + 64]`` (1-D uint64): bit c of word r goes to bit r of word c, bits
    counted from the least significant. Six rounds of block swaps (Hacker's
    Delight, section 7-3)."""
    _transpose_stage(A, off, 32, uint64(0x00000000FFFFFFFF))
    _transpose_stage(A, off, 16, uint64(0x0000FFFF0000FFFF))
    _transpose_stage(A, off, 8, uint64(0x00FF00FF00FF00FF))
    _transpose_stage(A, off, 4, uint64(0x0F0F0F0F0F0F0F0F))
    _transpose_stage(A, off, 2, uint64(0x3333333333333333))
    _transpose_stage(A, off, 1, uint64(0x5555555555555555))


@njit(cache=True)
def tail_masks(n_bits):
    """Per word of an ``n_bits`` bitset: the bits that hold patterns."""
    nw = (n_bits + 63) // 64
    mask = np.full(nw, ONES, dtype=np.uint64)
    r = n_bits % 64
    if r:
        mask[nw - 1] = (ONE << uint64(r)) - ONE
    return mask


# --- bit-sliced counters ---


@njit(cache=True)
def n_planes(n_terms):
    """Bit planes of the two's-complement counter ``z = a - (n + 1) / 2`` of a
    sum of ``n_terms`` (odd) +-1 terms, ``a`` in [0, n]: the smallest ``nb``
    with ``2^(nb - 1) >= (n + 1) / 2`` (then also ``a < 2^nb``)."""
    v = (n_terms + 1) // 2 - 1
    b = 0
    while v > 0:
        b += 1
        v >>= 1
    return 1 + b


@njit(cache=True, inline="always")
def _csa(a, b, c):
    """Carry-save adder: bitwise a + b + c = sum + 2 carry."""
    h = a ^ b
    return h ^ c, (a & b) | (h & c)


@njit(cache=True, inline="always")
def _bit(proto, Xf, stride, w, rows, masks, i):
    return load(proto, Xf, uint64(rows[i]) * stride + w) ^ splat_like(proto, masks[i])


@njit(cache=True, inline="always")
def _ripple(c, h3, h4, h5, h6, h7, h8, h9, h10):
    """Add the carry word ``c`` (weight 8) into the planes h3..h10."""
    h3, c = h3 ^ c, h3 & c
    h4, c = h4 ^ c, h4 & c
    h5, c = h5 ^ c, h5 & c
    h6, c = h6 ^ c, h6 & c
    h7, c = h7 ^ c, h7 & c
    h8, c = h8 ^ c, h8 & c
    h9, c = h9 ^ c, h9 & c
    h10 = h10 ^ c
    return h3, h4, h5, h6, h7, h8, h9, h10


@njit(cache=True, inline="always")
def _const_plane(proto, kc, b):
    return ~proto if (kc >> b) & 1 else proto


@njit(cache=True, inline="always")
def store_planes(proto, planes, ps, nb, dst, at, stride):
    """Copy the counter planes ``b < nb`` (``planes[b * ps]``) to ``dst[at +
    b * stride]`` and return (where the counter is 0, where it is -1): the
    flags of a field +1 and -1 for a unit, of a tied or near-tied vote for
    a committee."""
    zero = ~proto
    m1 = ~proto
    for b in range(nb):
        q = load(proto, planes, uint64(b) * uint64(ps))
        store(dst, at + uint64(b) * stride, q)
        zero = zero & ~q
        m1 = m1 & q
    return zero, m1


@njit(cache=True)
def count_votes(proto, src, stride, n, nb, out, ostride):
    """:func:`count_planes`, planes ``b < nb`` only, of the ``n`` words (or vectors like ``proto``)
    ``src[i * stride]``, i < n, with no masks, by one ripple-carry addition
    per word: for the few votes of a committee, where the carry-save tree
    gains nothing and its code would be copied once more per kernel."""
    kc = (1 << nb) - (n + 1) // 2
    os = uint64(ostride)
    for b in range(nb):
        store(out, uint64(b) * os, _const_plane(proto, kc, b))
    for i in range(n):
        c = load(proto, src, uint64(i) * uint64(stride))
        for b in range(nb):
            q = load(proto, out, uint64(b) * os)
            store(out, uint64(b) * os, q ^ c)
            c = q & c


@njit(cache=True, inline="always")
def count_planes(proto, Xf, stride, w, rows, masks, o, n, nb, out, ostride):
    """Bit-sliced ``z = c - (n + 1) / 2`` for odd ``n``, plane ``b`` into
    ``out[b * ostride]`` for ``b < MAX_PLANES`` (two's complement mod 2^nb,
    ``nb = n_planes(n) <= MAX_PLANES``; the planes from ``nb`` on are
    meaningless), where ``c`` counts, in each bit column, the set bits of
    the n words ``X[rows[o + j], w] ^ masks[o + j]``, j < n, of the bitsets
    ``X`` given flat as ``Xf`` with row length ``stride``: of word ``w``, or
    of the words from ``w`` as one vector like ``proto``
    (:mod:`mbphase.sim.wordvec`).

    The counter starts at -(n + 1) / 2 and the words are added eight at a
    time by a carry-save tree (Harley-Seal) into the planes of weight 1, 2
    and 4; carries of weight 8 ripple into the higher planes. Every plane
    lives in a register. Inlined: with a call, the bit-packed kernel
    measured about 10% slower at m = 64, d = 9."""
    kc = (1 << nb) - (n + 1) // 2
    ones = _const_plane(proto, kc, 0)
    twos = _const_plane(proto, kc, 1)
    fours = _const_plane(proto, kc, 2)
    h3 = _const_plane(proto, kc, 3)
    h4 = _const_plane(proto, kc, 4)
    h5 = _const_plane(proto, kc, 5)
    h6 = _const_plane(proto, kc, 6)
    h7 = _const_plane(proto, kc, 7)
    h8 = _const_plane(proto, kc, 8)
    h9 = _const_plane(proto, kc, 9)
    h10 = _const_plane(proto, kc, 10)
    j = o
    end = o + n
    while j + 8 <= end:
        ones, ta = _csa(ones, _bit(proto, Xf, stride, w, rows, masks, j), _bit(proto, Xf, stride, w, rows, masks, j + 1))
        ones, tb = _csa(ones, _bit(proto, Xf, stride, w, rows, masks, j + 2), _bit(proto, Xf, stride, w, rows, masks, j + 3))
        twos, fa = _csa(twos, ta, tb)
        ones, ta = _csa(ones, _bit(proto, Xf, stride, w, rows, masks, j + 4), _bit(proto, Xf, stride, w, rows, masks, j + 5))
        ones, tb = _csa(ones, _bit(proto, Xf, stride, w, rows, masks, j + 6), _bit(proto, Xf, stride, w, rows, masks, j + 7))
        twos, fb = _csa(twos, ta, tb)
        fours, c = _csa(fours, fa, fb)
        if nb > 3:
            h3, h4, h5, h6, h7, h8, h9, h10 = _ripple(c, h3, h4, h5, h6, h7, h8, h9, h10)
        j += 8
    while j < end:
        c = _bit(proto, Xf, stride, w, rows, masks, j)
        ones, c = ones ^ c, ones & c
        twos, c = twos ^ c, twos & c
        fours, c = fours ^ c, fours & c
        if nb > 3:
            h3, h4, h5, h6, h7, h8, h9, h10 = _ripple(c, h3, h4, h5, h6, h7, h8, h9, h10)
        j += 1
    os = uint64(ostride)
    store(out, 0 * os, ones)
    store(out, 1 * os, twos)
    store(out, 2 * os, fours)
    store(out, 3 * os, h3)
    store(out, 4 * os, h4)
    store(out, 5 * os, h5)
    store(out, 6 * os, h6)
    store(out, 7 * os, h7)
    store(out, 8 * os, h8)
    store(out, 9 * os, h9)
    store(out, 10 * os, h10)


# --- networks on bitsets ---


@njit(cache=True)
def sign_masks(W):
    """Per weight, flattened as ``r = k * F + j``: all ones where the weight
    is -1, zero where it is +1, so that ``x ^ mask`` is the agreement of
    input and weight."""
    K, F = W.shape
    out = np.empty(K * F, dtype=np.uint64)
    for k in range(K):
        for j in range(F):
            out[k * F + j] = ONES if W[k, j] < 0.0 else ZERO
    return out


@njit(cache=True)
def make_scratch(K, width=1):
    """Work space of the counting routines for words or vectors of up to
    ``width`` words: (counter planes, the K hidden sign words of one batch
    word, arange(K), K zero masks); plane or unit ``i`` at ``i * width``."""
    return (np.zeros(MAX_PLANES * width, dtype=np.uint64), np.zeros(K * width, dtype=np.uint64), np.arange(K), np.zeros(K, dtype=np.uint64))


@njit(cache=True)
def network_output_bits(rows, masks, K, F, task, X, n_words, out, scratch):
    """Outputs of a +-1 sign network on the input-major bitsets ``X``
    (N, >= n_words): unit k reads the inputs ``rows[k*F:(k+1)*F]`` with the
    sign masks ``masks`` (:func:`sign_masks`); ``out[w]`` has bit b set iff
    the output on pattern 64 w + b is +1. Tail bits are not masked."""
    Xf = X.reshape(-1)
    stride = uint64(X.shape[1])
    for w in range(n_words):
        out[w] = network_output_word(ZERO, uint64(w), rows, masks, K, F, task, Xf, stride, scratch, 1)


@njit(cache=True, inline="always")
def network_output_word(proto, w, rows, masks, K, F, task, Xf, stride, scratch, ps):
    """:func:`network_output_bits` of word ``w`` (or of the vector of words
    from ``w``, like ``proto``) of the bitsets ``Xf`` (flat, rows of
    ``stride`` words); ``scratch`` from :func:`make_scratch` with ``width``
    ``ps``."""
    planes, sg, ids, zeros = scratch
    nbu = n_planes(F)
    nbc = n_planes(K)
    ups = uint64(ps)
    neg = proto
    for k in range(K):
        count_planes(proto, Xf, stride, w, rows, masks, k * F, F, nbu, planes, ps)
        top = load(proto, planes, uint64(nbu - 1) * ups)
        store(sg, uint64(k) * ups, ~top)
        neg = neg ^ top
    if task == COMMITTEE:
        count_votes(proto, sg, ups, K, nbc, planes, ps)
        return ~load(proto, planes, uint64(nbc - 1) * ups)
    return ~neg


# --- patterns as bitsets ---


@njit(cache=True)
def fill_block(state, buf, rows, L):
    """Draw ``rows`` patterns of ``L`` words each, in the order of
    patterns.draw_pattern, into the pattern-major block ``buf`` (word l of
    pattern r at 64 l + r); zero the remaining rows."""
    for r in range(rows):
        for l in range(L):
            buf[64 * l + r] = next_u64(state)
    for r in range(rows, 64):
        for l in range(L):
            buf[64 * l + r] = ZERO


@njit(cache=True)
def scatter_block(buf, L, n_inputs, X, blk):
    """Transpose the pattern-major block ``buf`` and store it as word ``blk``
    of the input-major bitsets ``X`` (N, n_words)."""
    for l in range(L):
        transpose64(buf, 64 * l)
        lo = 64 * l
        for c in range(min(64, n_inputs - lo)):
            X[lo + c, blk] = buf[lo + c]


@njit(cache=True)
def draw_bits(state, n_inputs, n_patterns, X, buf):
    """``n_patterns`` fresh binary patterns from ``state`` (the same draws as
    patterns.draw_patterns) into the input-major bitsets ``X`` (N,
    ceil(n_patterns / 64)); ``buf`` holds 64 ceil(N / 64) words."""
    L = buf.size // 64
    for blk in range((n_patterns + 63) // 64):
        fill_block(state, buf, min(64, n_patterns - 64 * blk), L)
        scatter_block(buf, L, n_inputs, X, blk)


# --- the test error of two sign networks ---


@njit(cache=True)
def bits_network(W, inputs, task):
    """Whether the sign network (``W`` (K, F), ``inputs``) is one that
    :func:`network_output_bits` computes: +-1 weights, an odd fan-in within
    the counters' range, and for a committee an odd K (the vote never ties)."""
    K, F = W.shape
    if F % 2 == 0 or F >= 2**MAX_PLANES or K >= 2**MAX_PLANES:
        return False
    if task == COMMITTEE and K % 2 == 0:
        return False
    for k in range(K):
        for j in range(F):
            if W[k, j] != 1.0 and W[k, j] != -1.0:
                return False
    return True


@njit(cache=True)
def test_error_bits(W, w_inputs, T, t_fields, task, n_inputs, n_test, test_state):
    """:func:`mbphase.sim.observables.test_error_sign` on binary inputs for two
    networks that :func:`bits_network` accepts: the same ``n_test`` patterns
    of the test stream (``test_state`` is copied), the same error rate, 64
    patterns per word operation."""
    K, F = W.shape
    Kt, d = T.shape
    state = test_state.copy()
    buf = np.zeros(64 * ((n_inputs + 63) // 64), dtype=np.uint64)
    X = np.zeros((n_inputs, 1), dtype=np.uint64)
    rows, masks = w_inputs.copy().reshape(-1), sign_masks(W)
    t_rows, t_masks = t_fields.copy().reshape(-1), sign_masks(T)
    scratch, t_scratch = make_scratch(K), make_scratch(Kt)
    student = np.zeros(1, dtype=np.uint64)
    teacher = np.zeros(1, dtype=np.uint64)
    held = tail_masks(n_test)
    errors = 0
    for w in range(held.size):  # one word of 64 test patterns at a time
        draw_bits(state, n_inputs, min(64, n_test - 64 * w), X, buf)
        network_output_bits(rows, masks, K, F, task, X, 1, student, scratch)
        network_output_bits(t_rows, t_masks, Kt, d, task, X, 1, teacher, t_scratch)
        errors += popcount((student[0] ^ teacher[0]) & held[w])
    return errors / n_test

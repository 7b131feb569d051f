"""The vectors of words (mbphase.sim.wordvec): every operation on a vector of
16, 8 or 4 words equals the same operation word by word, checked against
NumPy and a popcount written out in Python, on random words."""

import numpy as np
import pytest
from numba import njit

from mbphase.sim.bitsets import ZERO
from mbphase.sim.wordvec import WIDTHS, accept_lanes, load, nonzero, splat_like, store, vzero


@njit
def _combine(proto, a, b, c, out, i):
    x = load(proto, a, i)
    y = load(proto, b, i)
    z = load(proto, c, i)
    store(out[0], i, x & y)
    store(out[1], i, x | y)
    store(out[2], i, x ^ y)
    store(out[3], i, ~x)
    store(out[4], i, x + y)
    store(out[5], i, (x & ~y) | (z ^ splat_like(proto, 12345)))


@njit
def combine(width, a, b, c, out):
    """Every operation, at each offset: a vector of ``width`` words (0: one
    word)."""
    for i in range(a.size - max(width, 1) + 1):
        if width == 16:
            _combine(vzero(16), a, b, c, out, i)
        elif width == 8:
            _combine(vzero(8), a, b, c, out, i)
        elif width == 4:
            _combine(vzero(4), a, b, c, out, i)
        else:
            _combine(ZERO, a, b, c, out, i)


@njit
def _accept(proto, ch, chc, lane, out, flags, i):
    acc = accept_lanes(load(proto, ch, i), load(proto, chc, i), lane)
    store(out, i, acc)
    flags[i] = nonzero(acc)


@njit
def accept(width, ch, chc, lane, out, flags):
    for i in range(0, ch.size, max(width, 1)):
        if width == 16:
            _accept(vzero(16), ch, chc, lane, out, flags, i)
        elif width == 8:
            _accept(vzero(8), ch, chc, lane, out, flags, i)
        elif width == 4:
            _accept(vzero(4), ch, chc, lane, out, flags, i)
        else:
            _accept(ZERO, ch, chc, lane, out, flags, i)


def random_words(r, n):
    return r.integers(0, 2**64, n, dtype=np.uint64, endpoint=False)


@pytest.mark.parametrize("width", WIDTHS + (0,))
def test_bitwise_operations_word_by_word(width):
    r = np.random.default_rng(width)
    n = 37
    a, b, c = (random_words(r, n) for _ in range(3))
    out = np.zeros((6, n), dtype=np.uint64)
    combine(width, a, b, c, out)  # every word, the last vector ending at the arrays' end
    with np.errstate(over="ignore"):
        want = np.stack([a & b, a | b, a ^ b, ~a, a + b, (a & ~b) | (c ^ np.uint64(12345))])
    np.testing.assert_array_equal(out, want)


def popcount(x):
    return bin(int(x)).count("1")


@pytest.mark.parametrize("width", WIDTHS + (0,))
@pytest.mark.parametrize("m", [32, 21, 16, 5, 1])
def test_acceptance_per_lane(width, m):
    """``lane`` where 2 popcount(chc & lane) - popcount(ch & lane) <= 0, for
    every lane of a word at mini-batch m; ``nonzero`` of the result."""
    r = np.random.default_rng(m)
    n = 16 * 6
    ch = random_words(r, n)
    # correct changed patterns: a random part of ch, sparse or dense, so that
    # both outcomes occur
    chc = ch & random_words(r, n) & np.where(np.arange(n) % 2 == 0, random_words(r, n), ~np.uint64(0))
    chc[:16] = 0  # accepted in every lane
    for g in range(64 // m):
        lane = np.uint64(((1 << m) - 1) << (g * m))
        out = np.zeros(n, dtype=np.uint64)
        flags = np.zeros(n, dtype=np.bool_)
        accept(width, ch, chc, lane, out, flags)
        want = np.array([lane if 2 * popcount(y & lane) - popcount(x & lane) <= 0 else 0 for x, y in zip(ch, chc)], dtype=np.uint64)
        np.testing.assert_array_equal(out, want)
        step = max(width, 1)
        np.testing.assert_array_equal(flags[::step], (want.reshape(-1, step) != 0).any(axis=1))
        assert 0 < (want != 0).sum() < n or m == 1

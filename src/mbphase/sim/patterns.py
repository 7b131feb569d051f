"""Input patterns and mini-batches, drawn inside kernels from a run's streams.

Patterns are stored feature-major, ``X[i, mu]`` with shape (N, P), so that the
inputs one weight multiplies are contiguous over the batch. A pattern always
takes the same random numbers from its stream whatever the batch size (binary:
ceil(N/64) 64-bit draws; gaussian: N normal deviates), so the data stream is
one sequence of patterns that mini-batches cut into pieces.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .rng import next_u64, normal, randbelow
from .teacher import sign_network_labels


@njit(cache=True)
def draw_pattern(state, gaussian, X, mu):
    """Fill column ``mu`` of ``X`` (N, P) with one fresh input pattern:
    uniform +-1 (one random bit per input) or standard normal."""
    n = X.shape[0]
    if gaussian:
        for i in range(n):
            X[i, mu] = normal(state)
        return
    i = 0
    while i < n:
        bits = next_u64(state)
        j = 0
        while j < 64 and i < n:
            X[i, mu] = 1.0 if (bits >> uint64(j)) & uint64(1) else -1.0
            i += 1
            j += 1


# Patterns drawn together by draw_patterns before they are stored; below
# _FEW_PATTERNS they are stored one by one (the block's set-up would cost more).
_DRAW_BLOCK = 64
_FEW_PATTERNS = 8


@njit(cache=True)
def draw_patterns(state, gaussian, X):
    """Fill every column of ``X`` (N, P) with fresh patterns, in order: the
    same numbers as :func:`draw_pattern` column by column.

    A block of patterns takes its random numbers pattern by pattern (the
    stream's order) into a small buffer, which is then stored input by input:
    writing one column of a feature-major ``X`` at a time touches a new cache
    line per input, and took most of an SGD step at large m."""
    n, P = X.shape
    if P < _FEW_PATTERNS:
        for mu in range(P):
            draw_pattern(state, gaussian, X, mu)
        return
    L = (n + 63) // 64
    words = np.empty((_DRAW_BLOCK, L), dtype=np.uint64)
    values = np.empty((_DRAW_BLOCK, n if gaussian else 0))
    for start in range(0, P, _DRAW_BLOCK):
        count = min(_DRAW_BLOCK, P - start)
        for c in range(count):
            if gaussian:
                for i in range(n):
                    values[c, i] = normal(state)
            else:
                for w in range(L):
                    words[c, w] = next_u64(state)
        for i in range(n):
            row = X[i, start : start + count]
            if gaussian:
                for c in range(count):
                    row[c] = values[c, i]
            else:
                shift = uint64(i & 63)
                for c in range(count):
                    row[c] = 1.0 if (words[c, i >> 6] >> shift) & uint64(1) else -1.0


@njit(cache=True)
def draw_labelled(state, gaussian, teacher_w, teacher_fields, task, X, y):
    """Fresh patterns into ``X`` (N, P) and their teacher labels into ``y``."""
    draw_patterns(state, gaussian, X)
    sign_network_labels(teacher_w, teacher_fields, task, X, y)


@njit(cache=True)
def training_set(state, gaussian, teacher_w, teacher_fields, task, n_inputs, train_size):
    """The finite regime's training set (Xtr (N, P), ytr (P,)), drawn if
    ``train_size`` > 0 (empty otherwise), with the visiting order ``perm``
    and a cursor at its end, which forces a shuffle before the first batch
    (see :func:`next_finite_batch`)."""
    Xtr = np.empty((n_inputs, train_size))
    ytr = np.empty(train_size)
    if train_size > 0:
        draw_labelled(state, gaussian, teacher_w, teacher_fields, task, Xtr, ytr)
    return Xtr, ytr, np.arange(train_size), train_size


@njit(cache=True)
def shuffle(state, perm):
    """Fisher-Yates shuffle of ``perm`` in place."""
    for i in range(perm.size - 1, 0, -1):
        j = randbelow(state, i + 1)
        perm[i], perm[j] = perm[j], perm[i]


@njit(cache=True)
def next_finite_batch(state, Xtr, ytr, perm, cursor, X, y):
    """Copy the next ``m = X.shape[1]`` training patterns into (X, y).

    Mini-batches are drawn without replacement within an epoch: the training
    set is visited in the order ``perm``; when fewer than ``m`` patterns are
    left the epoch ends (the remainder is dropped) and ``perm`` is reshuffled.
    ``cursor`` is the position in ``perm``; returns the new cursor.
    """
    m = X.shape[1]
    if cursor + m > perm.size:
        shuffle(state, perm)
        cursor = 0
    n = X.shape[0]
    for mu in range(m):
        src = perm[cursor + mu]
        for i in range(n):
            X[i, mu] = Xtr[i, src]
        y[mu] = ytr[src]
    return cursor + m

"""The sparse teacher network: its wiring, its weights and its labels.

A teacher has ``K`` hidden sign units; unit ``k`` reads the ``d`` inputs
``fields[k]`` with weights ``T[k]`` in {-1,+1}. The output is the committee
vote ``sign(sum_k tau_k)`` or the parity ``prod_k tau_k`` of the hidden signs
``tau_k = sign(T[k] . x[fields[k]])``, with ``sign(0) = +1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .params import RunParams

COMMITTEE, PARITY = 0, 1


@dataclass(frozen=True)
class Teacher:
    """``fields``: int64 (K, d) input indices, sorted within each unit;
    ``weights``: float64 (K, d) in {-1,+1}; ``task``: COMMITTEE or PARITY."""

    fields: np.ndarray
    weights: np.ndarray
    task: int
    n_inputs: int


def task_code(task: str) -> int:
    return COMMITTEE if task == "committee" else PARITY


def make_fields(p: RunParams, rng: np.random.Generator) -> np.ndarray:
    """Receptive fields: ``tree`` gives unit k the inputs k*d .. k*d+d-1;
    ``random`` gives each unit d distinct inputs drawn uniformly from N."""
    if p.topology == "tree":
        return np.arange(p.K * p.d, dtype=np.int64).reshape(p.K, p.d)
    fields = np.empty((p.K, p.d), dtype=np.int64)
    for k in range(p.K):
        fields[k] = np.sort(rng.choice(p.n_inputs, size=p.d, replace=False))
    return fields


def make_teacher(p: RunParams, ss: np.random.SeedSequence) -> Teacher:
    """Draw the wiring and the +-1 weights from the run's teacher stream."""
    rng = np.random.default_rng(ss)
    fields = make_fields(p, rng)
    weights = rng.choice(np.array([-1.0, 1.0]), size=(p.K, p.d))
    return Teacher(fields, weights, task_code(p.task), p.n_inputs)


@njit(cache=True)
def sign(h):
    """sign with sign(0) = +1, as float64."""
    return 1.0 if h >= 0.0 else -1.0


@njit(cache=True)
def sign_network_output(weights, inputs, task, X, mu):
    """Output (+-1) of a sign network on pattern ``mu`` of ``X`` (N, P).

    ``weights`` (K, F) and ``inputs`` (K, F): unit k computes
    sign(sum_j weights[k, j] * X[inputs[k, j], mu]). Used for the teacher and
    for discrete students alike.
    """
    K, F = weights.shape
    out = 0.0 if task == COMMITTEE else 1.0
    for k in range(K):
        h = 0.0
        for j in range(F):
            h += weights[k, j] * X[inputs[k, j], mu]
        s = sign(h)
        if task == COMMITTEE:
            out += s
        else:
            out *= s
    return sign(out) if task == COMMITTEE else out


# From this many patterns on, block_fields sums input by input over rows;
# below it the vectorized loop's set-up costs more than it saves.
_FEW_PATTERNS = 8


@njit(cache=True)
def block_fields(weights, inputs, X, start, n, H):
    """Raw fields ``H[k, b] = sum_j weights[k, j] X[inputs[k, j], start + b]``
    of the ``n`` patterns from ``start`` of ``X`` (N, P), float64 or int8,
    each adding its products in index order (the bits of
    :func:`sign_network_output`'s sum): for a few patterns one pattern at a
    time, else input by input over contiguous rows, so that the inner loop
    vectorizes."""
    K, F = weights.shape
    if n < _FEW_PATTERNS:
        for b in range(n):
            for k in range(K):
                h = 0.0
                for j in range(F):
                    h += weights[k, j] * X[inputs[k, j], start + b]
                H[k, b] = h
        return
    H[:, :n] = 0.0
    for k in range(K):
        # Loops over 1-d views: with 2-d indexing Numba's index arithmetic
        # kept LLVM from vectorizing (5x slower).
        h = H[k, :n]
        for j in range(F):
            w = weights[k, j]
            x = X[inputs[k, j], start : start + n]
            for b in range(n):
                h[b] += w * x[b]


# Patterns whose fields sign_network_labels computes together.
_LABEL_BLOCK = 256


@njit(cache=True)
def sign_network_labels(weights, inputs, task, X, y):
    """Labels (+-1) of every pattern of ``X`` (N, P) into ``y`` (P,), the same
    as :func:`sign_network_output` pattern by pattern.

    The fields of a block of patterns come from :func:`block_fields`, the
    same to the bit as :func:`sign_network_output`'s. A batch of a few
    patterns (SGD at m = 1) is labelled pattern by pattern: allocating the
    block's buffer cost more than the labels."""
    K = weights.shape[0]
    P = X.shape[1]
    if P < _FEW_PATTERNS:  # a few patterns: no buffer to allocate
        for mu in range(P):
            y[mu] = sign_network_output(weights, inputs, task, X, mu)
        return
    H = np.empty((K, _LABEL_BLOCK))
    for start in range(0, P, _LABEL_BLOCK):
        n = min(_LABEL_BLOCK, P - start)
        block_fields(weights, inputs, X, start, n, H)
        for b in range(n):
            out = 0.0 if task == COMMITTEE else 1.0
            for k in range(K):
                s = sign(H[k, b])
                if task == COMMITTEE:
                    out += s
                else:
                    out *= s
            y[start + b] = sign(out) if task == COMMITTEE else out

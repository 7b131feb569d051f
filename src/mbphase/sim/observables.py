"""Observables of a run: overlap with the teacher, exact success, test error.

Student weights ``W`` (K, F) act on inputs ``student_inputs`` (K, F): for a
sparse student these are the teacher's fields, for a dense one every unit
reads all N inputs. Dense hidden units are interchangeable, so overlap and
success use the best matching of student units to teacher units, found
exactly by dynamic programming over subsets of teacher units (O(K^2 2^K)).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .bitsets import bits_network, test_error_bits
from .patterns import draw_pattern
from .teacher import COMMITTEE, PARITY, sign_network_output

# Per-run scalar results, in the order the kernels write them.
SCALARS = (
    "success",
    "t_solve",
    "t_run",
    "q",
    "gen_error",
    "train_error",
    "acceptance_rate",
    "final_loss",
    "q_late",
    "energy_late",
    "pattern_evals",
    "status",
    "success_method",
)
I_SUCCESS, I_T_SOLVE, I_T_RUN, I_Q, I_GEN, I_TRAIN, I_ACC, I_LOSS, I_Q_LATE, I_E_LATE, I_EVALS, I_STATUS, I_METHOD = range(len(SCALARS))
STATUS = ("ok", "diverged")
# How success was decided: by the weights; by the function on every binary
# input; by zero errors on the run's test set; not successful.
METHOD_NONE, METHOD_WEIGHTS, METHOD_ENUMERATION, METHOD_TEST_SET = range(4)
SUCCESS_METHODS = ("none", "weights", "enumeration", "test_set")
# Largest N whose 2^N binary inputs are enumerated to compare functions.
ENUMERATION_MAX_INPUTS = 20
# Test patterns checked first, before a full functional comparison.
SCREEN_PATTERNS = 256
# Trajectory samples: (t, q, test_error, acceptance rate since last sample or loss)
TRAJ_FIELDS = 4


@njit(cache=True)
def embed(W, inputs, n_inputs):
    """Weights (K, F) on ``inputs`` as dense vectors (K, N) with zeros elsewhere."""
    K, F = W.shape
    out = np.zeros((K, n_inputs))
    for k in range(K):
        for j in range(F):
            out[k, inputs[k, j]] = W[k, j]
    return out


@njit(cache=True)
def overlap_matrix(W, w_inputs, T, t_fields, n_inputs):
    """Q[a, b] = W_a . T_b / (|W_a| |T_b|) in input space; 0 for a zero vector."""
    A = embed(W, w_inputs, n_inputs)
    B = embed(T, t_fields, n_inputs)
    Ka, Kb = A.shape[0], B.shape[0]
    Q = np.zeros((Ka, Kb))
    for a in range(Ka):
        na = np.sqrt(np.sum(A[a] * A[a]))
        for b in range(Kb):
            nb = np.sqrt(np.sum(B[b] * B[b]))
            if na > 0.0 and nb > 0.0:
                # clipped: rounding of the norms can give 1 + 1e-16
                Q[a, b] = min(1.0, max(-1.0, np.sum(A[a] * B[b]) / (na * nb)))
    return Q


@njit(cache=True)
def best_matching_sum(S):
    """max over permutations pi of sum_a S[a, pi(a)], for a square S (K, K):
    student units a = 0..K-1 are assigned in order; ``best[mask]`` is the best
    sum for the first popcount(mask) students using teacher units ``mask``."""
    K = S.shape[0]
    best = np.full(1 << K, -np.inf)
    best[0] = 0.0
    for mask in range((1 << K) - 1):
        if best[mask] == -np.inf:
            continue
        a = 0
        for b in range(K):
            if mask & (1 << b):
                a += 1
        for b in range(K):
            if not mask & (1 << b):
                v = best[mask] + S[a, b]
                if v > best[mask | (1 << b)]:
                    best[mask | (1 << b)] = v
    return best[(1 << K) - 1]


@njit(cache=True)
def overlap(W, w_inputs, T, t_fields, n_inputs, task, dense):
    """Mean normalized overlap q of the student with the teacher: identity
    matching for sparse students, best matching for dense ones; |q_k| for
    parity (a unit and its negation are the same up to the sign gauge)."""
    Q = overlap_matrix(W, w_inputs, T, t_fields, n_inputs)
    K = Q.shape[0]
    if task == PARITY:
        Q = np.abs(Q)
    if not dense:
        total = 0.0
        for k in range(K):
            total += Q[k, k]
        return total / K
    return best_matching_sum(Q) / K


@njit(cache=True)
def sign_match(u, v):
    """+1 if the vectors ``u`` and ``v`` are equal, -1 if ``u`` equals
    ``-v``, 0 otherwise."""
    same = True
    neg = True
    for i in range(u.size):
        if u[i] != v[i]:
            same = False
        if u[i] != -v[i]:
            neg = False
    return 1 if same else (-1 if neg else 0)


@njit(cache=True)
def unit_match(W, w_inputs, T, t_fields, n_inputs):
    """M[a, b] = +1 if student unit a equals teacher unit b as a vector in
    input space, -1 if it equals its negation, 0 otherwise."""
    A = embed(W, w_inputs, n_inputs)
    B = embed(T, t_fields, n_inputs)
    K = A.shape[0]
    M = np.zeros((K, B.shape[0]), dtype=np.int64)
    for a in range(K):
        for b in range(B.shape[0]):
            M[a, b] = sign_match(A[a], B[b])
    return M


@njit(cache=True)
def exact_success(W, w_inputs, T, t_fields, n_inputs, task, dense):
    """Whether a discrete student computes exactly the teacher's function,
    decided from the weights (exact for sign units with odd teacher fields;
    tests/test_observables.py checks it against enumerating the inputs).

    Committee: each student unit equals its teacher unit. Parity: each equals
    its teacher unit up to sign, with an even number of minus signs. Sparse
    students use the identity matching; dense ones any permutation, found by
    dynamic programming over (used teacher units, parity of minus signs).
    """
    M = unit_match(W, w_inputs, T, t_fields, n_inputs)
    K = M.shape[0]
    if not dense:
        minus = 0
        for k in range(K):
            if M[k, k] == 0 or (task == COMMITTEE and M[k, k] == -1):
                return False
            if M[k, k] == -1:
                minus += 1
        return minus % 2 == 0
    # reach[mask, s]: first popcount(mask) students matched to teacher units
    # `mask` with s = parity of the number of negated units.
    reach = np.zeros((1 << K, 2), dtype=np.bool_)
    reach[0, 0] = True
    for mask in range(1 << K):
        a = 0
        for b in range(K):
            if mask & (1 << b):
                a += 1
        if a == K:
            continue
        for s in range(2):
            if not reach[mask, s]:
                continue
            for b in range(K):
                if mask & (1 << b):
                    continue
                if M[a, b] == 1:
                    reach[mask | (1 << b), s] = True
                elif M[a, b] == -1 and task == PARITY:
                    reach[mask | (1 << b), 1 - s] = True
    return reach[(1 << K) - 1, 0]


@njit(cache=True)
def test_error_sign(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state):
    """Error rate of a discrete student on ``n_test`` patterns of the test
    stream. ``test_state`` is copied: every call sees the same test set.

    On binary inputs, when both networks have +-1 weights and odd fan-ins
    (every sparse +-1 student of the bit-packed kernels), the patterns are
    evaluated 64 at a time on bitsets (:func:`mbphase.sim.bitsets.test_error_bits`,
    the same patterns and the same count); otherwise one by one."""
    if not gaussian and bits_network(W, w_inputs, task) and bits_network(T, t_fields, task):
        return test_error_bits(W, w_inputs, T, t_fields, task, n_inputs, n_test, test_state)
    return test_error_by_pattern(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state)


@njit(cache=True)
def test_error_by_pattern(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state):
    """:func:`test_error_sign` pattern by pattern, for any sign networks."""
    state = test_state.copy()
    x = np.empty((n_inputs, 1))
    errors = 0
    for _ in range(n_test):
        draw_pattern(state, gaussian, x, 0)
        if sign_network_output(W, w_inputs, task, x, 0) != sign_network_output(T, t_fields, task, x, 0):
            errors += 1
    return errors / n_test


@njit(cache=True)
def same_function_enumerated(W, w_inputs, T, t_fields, task, n_inputs):
    """Whether two sign networks agree on all 2^N binary inputs."""
    x = np.empty((n_inputs, 1))
    for code in range(1 << n_inputs):
        for i in range(n_inputs):
            x[i, 0] = 1.0 if (code >> i) & 1 else -1.0
        if sign_network_output(W, w_inputs, task, x, 0) != sign_network_output(T, t_fields, task, x, 0):
            return False
    return True


def weights_decide_success(architecture: str, topology: str, K: int) -> bool:
    """Whether matching weights is also necessary for computing the teacher's
    function. Proved and tested exhaustively for sparse students on a tree
    (fields are disjoint, so every unit is pivotal somewhere) and for single
    units; with overlapping fields (random topology) a different student can
    compute the same committee (tests/test_observables.py finds one), and for
    dense students with K >= 3 only the one-unit neighbourhood was checked."""
    return K == 1 or (architecture == "sparse" and topology == "tree")


@njit(cache=True)
def success_method(W, w_inputs, T, t_fields, task, n_inputs, dense, check_function, gaussian, n_test, test_state):
    """How (and whether) a discrete student computes the teacher's function.

    Matching weights suffice. Where they are not necessary
    (``check_function``, see :func:`weights_decide_success`) the functions
    are compared: after a screen on the first test patterns, on all 2^N
    binary inputs when N <= ENUMERATION_MAX_INPUTS, else on the whole test
    set (zero errors)."""
    if exact_success(W, w_inputs, T, t_fields, n_inputs, task, dense):
        return METHOD_WEIGHTS
    if not check_function:
        return METHOD_NONE
    if test_error_sign(W, w_inputs, T, t_fields, task, n_inputs, gaussian, min(SCREEN_PATTERNS, n_test), test_state) > 0.0:
        return METHOD_NONE
    if not gaussian and n_inputs <= ENUMERATION_MAX_INPUTS:
        return METHOD_ENUMERATION if same_function_enumerated(W, w_inputs, T, t_fields, task, n_inputs) else METHOD_NONE
    if test_error_sign(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state) == 0.0:
        return METHOD_TEST_SET
    return METHOD_NONE


def binomial_se(rate: np.ndarray, n: int) -> np.ndarray:
    """Standard error of an error rate measured on n independent patterns."""
    rate = np.asarray(rate, dtype=float)
    return np.sqrt(rate * (1.0 - rate) / n)


def log_times(t_max: int, n_points: int) -> np.ndarray:
    """Up to ``n_points`` distinct integer times, log-spaced in [1, t_max]."""
    if n_points <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.round(np.geomspace(1, t_max, n_points)).astype(np.int64))


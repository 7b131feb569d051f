"""Greedy (zero-temperature) and Metropolis mini-batch dynamics for discrete
students.

The energy is the number of mini-batch patterns the student misclassifies.
A proposal changes one weight; its energy change is computed from the stored
fields of the flipped unit only: a pattern's output can change only where
that unit's sign changes (and, for a committee, where the unit is pivotal).
An accepted flip updates that unit's fields in place, O(m) per proposal.

State for a batch of ``m`` patterns ``X`` (N, m) with labels ``y``:
``H`` (K, m) student fields, ``S`` (K, m) hidden signs, ``C`` (m,) committee
sum or parity product of the signs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .greedy_loop import add_late, is_late, loop_state, mark_if_solved, running, sample_if_due, unsolved, write_scalars
from .observables import overlap, success_method
from .patterns import draw_labelled, next_finite_batch, training_set
from .rng import randbelow, uniform
from .teacher import COMMITTEE, sign, sign_network_output


@njit(cache=True)
def batch_state(W, w_inputs, task, X, y, H, S, C):
    """Fill the fields H, signs S and outputs C of batch (X, y); return the
    number of misclassified patterns."""
    K, F = W.shape
    errors = 0
    for mu in range(X.shape[1]):
        c = 0.0 if task == COMMITTEE else 1.0
        for k in range(K):
            h = 0.0
            for j in range(F):
                h += W[k, j] * X[w_inputs[k, j], mu]
            H[k, mu] = h
            s = sign(h)
            S[k, mu] = s
            c = c + s if task == COMMITTEE else c * s
        C[mu] = c
        out = sign(c) if task == COMMITTEE else c
        if out != y[mu]:
            errors += 1
    return errors


@njit(cache=True)
def flip_delta_energy(k, row, delta, task, X, y, H, S, C):
    """Energy change if unit ``k``'s field changes by ``delta * X[row]``."""
    dE = 0
    for mu in range(X.shape[1]):
        s_new = sign(H[k, mu] + delta * X[row, mu])
        s_old = S[k, mu]
        if s_new != s_old:
            c = C[mu]
            if task == COMMITTEE:
                out_old = sign(c)
                out_new = sign(c + s_new - s_old)
            else:
                out_old = c
                out_new = -c
            if out_new != out_old:
                dE += 1 if out_old == y[mu] else -1
    return dE


@njit(cache=True)
def apply_flip(k, row, delta, task, X, H, S, C):
    """Update the state after unit ``k``'s field changed by ``delta * X[row]``."""
    for mu in range(X.shape[1]):
        h = H[k, mu] + delta * X[row, mu]
        H[k, mu] = h
        s_new = sign(h)
        s_old = S[k, mu]
        if s_new != s_old:
            S[k, mu] = s_new
            C[mu] = C[mu] + s_new - s_old if task == COMMITTEE else -C[mu]


@njit(cache=True)
def proposed_value(w, ternary, dyn):
    """The other sign for +-1 weights; one of the two other values of
    {-1, 0, +1}, uniformly, for ternary weights."""
    if not ternary:
        return -w
    r = randbelow(dyn, 2)
    if w == -1.0:
        return 0.0 if r == 0 else 1.0
    if w == 0.0:
        return -1.0 if r == 0 else 1.0
    return -1.0 if r == 0 else 0.0


@njit(cache=True)
def set_error(W, w_inputs, task, X, y):
    """Misclassified patterns of the set (X, y)."""
    errors = 0
    for mu in range(X.shape[1]):
        if sign_network_output(W, w_inputs, task, X, mu) != y[mu]:
            errors += 1
    return errors


@njit(cache=True)
def greedy_one(
    T, t_fields, task, n_inputs, W, w_inputs, ternary, dense, check_function, gaussian,
    m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
    stop_at_success, n_test, traj_times, data_state, dyn_state, test_state,
    scalars, traj,
):
    """Run the dynamics for one seed; W (K, F) is updated in place.

    ``train_size`` 0 means online data (a fresh batch at every refresh);
    otherwise batches come from a fixed training set of that many patterns.
    Writes the observables into ``scalars`` (see observables.SCALARS) and the
    log-spaced samples into ``traj`` (len(traj_times), 4), NaN where unreached.
    Success is checked after every sweep (observables.success_method; the
    functional comparison only when the mini-batch is learnt perfectly).
    """
    K, F = W.shape
    n_weights = K * F
    X = np.empty((n_inputs, m))
    y = np.empty(m)
    H = np.empty((K, m))
    S = np.empty((K, m))
    C = np.empty(m)
    finite = train_size > 0
    Xtr, ytr, perm, cursor = training_set(data_state, gaussian, T, t_fields, task, n_inputs, train_size)

    accepted = 0
    proposals = 0
    errors = 0
    sweep = 0
    st = loop_state(traj, success_method(W, w_inputs, T, t_fields, task, n_inputs, dense, check_function, gaussian, n_test, test_state))
    while running(st, sweep, max_sweeps, stop_at_success):
        sweep += 1
        for p in range(n_weights):
            if p == 0 or refresh_proposal:
                if finite:
                    cursor = next_finite_batch(data_state, Xtr, ytr, perm, cursor, X, y)
                else:
                    draw_labelled(data_state, gaussian, T, t_fields, task, X, y)
                errors = batch_state(W, w_inputs, task, X, y, H, S, C)
            r = p if sequential else randbelow(dyn_state, n_weights)
            k = r // F
            j = r % F
            w_old = W[k, j]
            w_new = proposed_value(w_old, ternary, dyn_state)
            delta = w_new - w_old
            row = w_inputs[k, j]
            dE = flip_delta_energy(k, row, delta, task, X, y, H, S, C)
            proposals += 1
            if dE <= 0 or (temperature > 0.0 and uniform(dyn_state) < np.exp(-dE / temperature)):
                W[k, j] = w_new
                apply_flip(k, row, delta, task, X, H, S, C)
                errors += dE
                accepted += 1
        if unsolved(st):
            # A functional comparison is worth its cost only once the
            # mini-batch is learnt perfectly (the teacher's function has
            # zero energy on every batch).
            method = success_method(W, w_inputs, T, t_fields, task, n_inputs, dense, check_function and errors == 0, gaussian, n_test, test_state)
            mark_if_solved(st, method, sweep)
        if is_late(sweep, max_sweeps):
            q = overlap(W, w_inputs, T, t_fields, n_inputs, task, dense)
            add_late(st, q, set_error(W, w_inputs, task, Xtr, ytr) / train_size if finite else errors / m)
        sample_if_due(st, traj, traj_times, sweep, W, w_inputs, T, t_fields, task, n_inputs, dense, gaussian, n_test, test_state, accepted, proposals)

    write_scalars(scalars, st, W, w_inputs, T, t_fields, task, n_inputs, dense, check_function, gaussian, n_test, test_state, sweep, max_sweeps, stop_at_success, errors, m, accepted, proposals)


@njit(cache=True, parallel=True)
def greedy_many(
    T, t_fields, task, n_inputs, W, w_inputs, ternary, dense, check_function, gaussian,
    m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
    stop_at_success, n_test, traj_times, states, scalars, traj,
):
    """:func:`greedy_one` for every seed ``s`` in parallel; per-seed arrays
    carry a leading seed axis (``states`` is (seeds, 3, 4): data, dynamics,
    test). Runs are independent and serial inside, so the result does not
    depend on the thread count."""
    for s in prange(W.shape[0]):
        greedy_one(
            T[s], t_fields[s], task, n_inputs, W[s], w_inputs[s], ternary, dense, check_function, gaussian,
            m, train_size, refresh_proposal, sequential, temperature, max_sweeps,
            stop_at_success, n_test, traj_times, states[s, 0], states[s, 1], states[s, 2],
            scalars[s], traj[s],
        )


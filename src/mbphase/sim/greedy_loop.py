"""What the greedy kernels share around their proposal loops: the state of a
run kept from sweep to sweep (time of success, second-half averages, the
trajectory cursor), the trajectory samples and the final observables. The
general kernel (:mod:`mbphase.sim.greedy`) and the bit-packed one
(:mod:`mbphase.sim.greedy_bits`) differ only inside a sweep.

The state is a small float64 array (Numba caches no class instances); its
entries are named by the indices below. Per-proposal counters (accepted
flips, proposals) stay local to the kernels, in registers.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .observables import I_ACC, I_E_LATE, I_EVALS, I_GEN, I_LOSS, I_METHOD, I_Q, I_Q_LATE, I_STATUS, I_SUCCESS, I_T_RUN, I_T_SOLVE, I_TRAIN
from .observables import METHOD_NONE, overlap, success_method, test_error_sign

# Entries of the loop state: first sweep with success (NaN until then); sums
# and count of the second-half averages of q and the energy; the next
# trajectory sample and the accepted flips and proposals at the previous one.
T_SOLVE, Q_SUM, E_SUM, N_LATE, NEXT_SAMPLE, ACCEPTED_AT_SAMPLE, PROPOSALS_AT_SAMPLE = range(7)


@njit(cache=True)
def loop_state(traj, initial_method):
    """The state of a run before its first sweep, given the success method
    of the initial student; clears the trajectory to NaN (unreached)."""
    traj[:, :] = np.nan
    st = np.zeros(7)
    st[T_SOLVE] = 0.0 if initial_method != METHOD_NONE else np.nan
    return st


@njit(cache=True)
def unsolved(st):
    return st[T_SOLVE] != st[T_SOLVE]


@njit(cache=True)
def running(st, sweep, max_sweeps, stop_at_success):
    """Whether another sweep runs: budget left, and not stopped at success."""
    return sweep < max_sweeps and not (stop_at_success and not unsolved(st))


@njit(cache=True)
def mark_if_solved(st, method, sweep):
    if method != METHOD_NONE:
        st[T_SOLVE] = float(sweep)


@njit(cache=True)
def is_late(sweep, max_sweeps):
    """Whether ``sweep`` is in the second half of the budget (the stationary
    averages q_late and energy_late)."""
    return sweep >= max_sweeps // 2 + 1


@njit(cache=True)
def add_late(st, q, energy):
    st[Q_SUM] += q
    st[E_SUM] += energy
    st[N_LATE] += 1


@njit(cache=True)
def record_sample(row, sweep, W, w_inputs, T, t_fields, task, n_inputs, dense, gaussian, n_test, test_state, accepted, proposals):
    """One trajectory sample into ``row``: (t, q, test error, acceptance rate
    of the ``accepted`` / ``proposals`` flips since the previous sample)."""
    row[0] = sweep
    row[1] = overlap(W, w_inputs, T, t_fields, n_inputs, task, dense)
    row[2] = test_error_sign(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state)
    row[3] = accepted / proposals


@njit(cache=True)
def write_scalars(
    scalars, st, W, w_inputs, T, t_fields, task, n_inputs, dense, check_function, gaussian, n_test, test_state,
    sweep, max_sweeps, stop_at_success, errors, m, accepted, proposals,
):
    """The observables of a finished greedy run (observables.SCALARS), shared
    by the general and the bit-packed kernels. Stationary averages are NaN
    for a run that stopped early at its success."""
    t_solve, q_sum, e_sum, n_late = st[T_SOLVE], st[Q_SUM], st[E_SUM], st[N_LATE]
    stopped_early = stop_at_success and t_solve == t_solve and sweep < max_sweeps
    method = success_method(W, w_inputs, T, t_fields, task, n_inputs, dense, check_function, gaussian, n_test, test_state)
    scalars[I_SUCCESS] = 1.0 if method != METHOD_NONE else 0.0
    scalars[I_METHOD] = method
    scalars[I_T_SOLVE] = t_solve
    scalars[I_T_RUN] = sweep
    scalars[I_Q] = overlap(W, w_inputs, T, t_fields, n_inputs, task, dense)
    scalars[I_GEN] = test_error_sign(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, test_state)
    scalars[I_TRAIN] = errors / m if sweep > 0 else np.nan
    scalars[I_ACC] = accepted / proposals if proposals > 0 else np.nan
    scalars[I_LOSS] = np.nan
    scalars[I_Q_LATE] = q_sum / n_late if n_late > 0 and not stopped_early else np.nan
    scalars[I_E_LATE] = e_sum / n_late if n_late > 0 and not stopped_early else np.nan
    scalars[I_EVALS] = float(proposals) * m
    scalars[I_STATUS] = 0.0


@njit(cache=True)
def sample_due(st, traj_times, sweep):
    """Whether ``sweep`` is the time of the next trajectory sample."""
    i = int(st[NEXT_SAMPLE])
    return i < traj_times.size and sweep == traj_times[i]


@njit(cache=True)
def sample_if_due(st, traj, traj_times, sweep, W, w_inputs, T, t_fields, task, n_inputs, dense, gaussian, n_test, test_state, accepted, proposals):
    """Record the next trajectory sample if ``sweep`` is its time."""
    i = int(st[NEXT_SAMPLE])
    if sample_due(st, traj_times, sweep):
        record_sample(
            traj[i], sweep, W, w_inputs, T, t_fields, task, n_inputs, dense, gaussian, n_test,
            test_state, accepted - st[ACCEPTED_AT_SAMPLE], proposals - st[PROPOSALS_AT_SAMPLE],
        )
        st[ACCEPTED_AT_SAMPLE] = accepted
        st[PROPOSALS_AT_SAMPLE] = proposals
        st[NEXT_SAMPLE] = i + 1

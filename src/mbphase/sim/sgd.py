"""Mini-batch SGD for continuous students (soft committee or soft parity of
erf units).

Student unit ``k`` reads the inputs ``w_inputs[k]`` (K, F) with real weights
``W[k]``; its normalized field is ``h_k = W_k . x[w_inputs[k]] / sqrt(F)``
and its activation ``g(h) = erf(h / sqrt(2))`` (so ``g'(h) = sqrt(2/pi)
exp(-h^2/2)``). The soft output is ``yhat = sum_k g(h_k) / K`` (committee) or
``yhat = prod_k g(h_k)`` (parity); both lie in (-1, 1). The prediction is
``sign(yhat)`` with ``sign(0) = +1``.

Losses of one pattern with label ``y`` in {-1,+1}:
- ``mse``: ``(yhat - y)^2 / 2``;
- ``logistic``: ``log(1 + exp(-y * yhat))``, the logistic loss applied to the
  soft output itself (no extra scale). Because ``|yhat| < 1`` it never goes
  below ``log(1 + e^-1) ~ 0.313``; its gradient keeps pushing every pattern
  towards a saturated margin.

One step: ``W <- W - lr * grad(mean loss over the mini-batch)``.

Batch buffers for ``m`` patterns ``X`` (N, m): ``H`` (K, m) raw fields
``W_k . x`` (not yet divided by sqrt(F)), ``G`` (K, m) activations, ``D``
(K, m) the derivative of the pattern's loss with respect to ``h_k``. The
forward pass fills them once per pattern; the backward pass reuses them, so a
step costs O(m K F) and allocates nothing.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)
from .observables import (
    METHOD_NONE,
    METHOD_TEST_SET,
    I_ACC,
    I_E_LATE,
    I_EVALS,
    I_GEN,
    I_LOSS,
    I_METHOD,
    I_Q,
    I_Q_LATE,
    I_STATUS,
    I_SUCCESS,
    I_T_RUN,
    I_T_SOLVE,
    I_TRAIN,
    overlap,
)
from .patterns import draw_labelled, draw_pattern, next_finite_batch, training_set
from .teacher import COMMITTEE, block_fields, sign, sign_network_output

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)

STATUS_OK, STATUS_DIVERGED = 0.0, 1.0


@njit(cache=True)
def activation(h):
    """g(h) = erf(h / sqrt(2)), in (-1, 1)."""
    return math.erf(h * _INV_SQRT2)


@njit(cache=True)
def activation_prime(h):
    """g'(h) = sqrt(2/pi) exp(-h^2 / 2)."""
    return _SQRT_2_OVER_PI * math.exp(-0.5 * h * h)


@njit(cache=True)
def soft_output(W, w_inputs, task, X, mu):
    """Soft output yhat of the student on pattern ``mu`` of ``X`` (N, P)."""
    K, F = W.shape
    sqrt_f = math.sqrt(F)
    out = 0.0 if task == COMMITTEE else 1.0
    for k in range(K):
        h = 0.0
        for j in range(F):
            h += W[k, j] * X[w_inputs[k, j], mu]
        g = activation(h / sqrt_f)
        if task == COMMITTEE:
            out += g
        else:
            out *= g
    return out / K if task == COMMITTEE else out


@njit(cache=True)
def pattern_loss(yhat, y, logistic):
    """Loss of one pattern and its derivative with respect to yhat.

    Logistic: ``softplus(-z)`` with ``z = y * yhat``, written so that no
    exponential of a large positive number is ever taken."""
    if not logistic:
        r = yhat - y
        return 0.5 * r * r, r
    z = y * yhat
    if z >= 0.0:
        e = math.exp(-z)
        return math.log1p(e), -y * e / (1.0 + e)
    e = math.exp(z)
    return -z + math.log1p(e), -y / (1.0 + e)


@njit(cache=True)
def sgd_step(W, w_inputs, task, logistic, lr, X, y, H, G, D):
    """One SGD step on the mini-batch ``(X, y)``: ``X`` (N, m), ``y`` (m,).

    ``W`` (K, F) is updated in place; ``H``, ``G``, ``D`` (K, m) are scratch
    buffers (see the module docstring). Returns ``(loss, errors, finite)``:
    the mean loss and the number of patterns with ``sign(yhat) != y``, both
    measured in the forward pass (with the weights before the update), and
    whether every updated weight is finite.
    """
    K, F = W.shape
    m = X.shape[1]
    sqrt_f = math.sqrt(F)

    # Forward: raw fields, each summed over its inputs in index order.
    block_fields(W, w_inputs, X, 0, m, H)

    loss_sum = 0.0
    errors = 0
    for mu in range(m):
        out = 0.0 if task == COMMITTEE else 1.0
        for k in range(K):
            h = H[k, mu] / sqrt_f
            g = activation(h)
            G[k, mu] = g
            D[k, mu] = activation_prime(h)
            if task == COMMITTEE:
                out += g
            else:
                out *= g
        yhat = out / K if task == COMMITTEE else out
        loss, dl = pattern_loss(yhat, y[mu], logistic)
        loss_sum += loss
        if sign(yhat) != y[mu]:
            errors += 1
        if task == COMMITTEE:
            for k in range(K):
                D[k, mu] *= dl / K
        else:
            # d yhat / d h_k = g'(h_k) prod_{l != k} g(h_l), by prefix and
            # suffix products (no division: a g may be exactly 0).
            pre = 1.0
            for k in range(K):
                D[k, mu] *= pre
                pre *= G[k, mu]
            suf = dl
            for k in range(K - 1, -1, -1):
                D[k, mu] *= suf
                suf *= G[k, mu]

    # Backward and update: dL/dW_kj = mean_mu D[k, mu] x_row,mu / sqrt(F).
    # Each weight's gradient depends only on D, so updating in place is safe.
    # Each sum runs over the batch in order (no reassociation, so the same
    # bits as one weight at a time); four weights at a time give the CPU four
    # independent additions to overlap instead of one chain.
    scale = lr / (m * sqrt_f)
    finite = True
    for k in range(K):
        d = D[k]
        j = 0
        while j < F:
            x0 = X[w_inputs[k, j]]
            x1 = X[w_inputs[k, min(j + 1, F - 1)]]
            x2 = X[w_inputs[k, min(j + 2, F - 1)]]
            x3 = X[w_inputs[k, min(j + 3, F - 1)]]
            s0 = 0.0
            s1 = 0.0
            s2 = 0.0
            s3 = 0.0
            for mu in range(m):
                dm = d[mu]
                s0 += dm * x0[mu]
                s1 += dm * x1[mu]
                s2 += dm * x2[mu]
                s3 += dm * x3[mu]
            for i, s in enumerate((s0, s1, s2, s3)):
                if j + i < F:
                    w = W[k, j + i] - scale * s
                    W[k, j + i] = w
                    if not math.isfinite(w):
                        finite = False
            j += 4
    return loss_sum / m, errors, finite


# A run keeps at most this many input values of its test set in memory (64 MB
# of Gaussian inputs as float64, 8 MB of binary ones as int8); test patterns
# beyond them are regenerated from the test stream at every evaluation, in the
# same order, so the test set is the same.
TEST_SET_MAX_VALUES = 1 << 23
# Test patterns whose fields are computed together (the fields fit in L1).
_FIELD_BLOCK = 256
# Fields below this in absolute value never decide an output by their sign
# alone (see _sign_by_field_signs): far above any underflow of erf or of a
# product of up to _PARITY_SIGN_MAX_K erf values.
_SIGN_DECIDES = 1e-30
_PARITY_SIGN_MAX_K = 10


@njit(cache=True)
def stored_test_set(test_state, gaussian, T, t_fields, task, n_inputs, n_test, max_values):
    """The first patterns of the test stream and their teacher labels, drawn
    once per run: ``(Xg, Xb, y, rest)`` with ``n = min(n_test, max_values // N)``
    patterns, Gaussian ones in ``Xg`` (N, n) float64 or binary ones in ``Xb``
    (N, n) int8 (the other is empty), labels ``y`` (n,), and ``rest`` the
    stream's state after them (``test_state`` is not advanced).

    Evaluating the test error used to draw all ``n_test`` patterns and the
    teacher's labels afresh at every evaluation; with 10^4 test patterns and
    an evaluation every 100 steps that was most of an SGD run's time. Binary
    inputs are kept as int8 so that the set stays in cache; +-1 converts back
    to the same float64."""
    n = min(n_test, max_values // n_inputs)
    rest = test_state.copy()
    Xg = np.empty((n_inputs, n if gaussian else 0))
    Xb = np.empty((n_inputs, 0 if gaussian else n), dtype=np.int8)
    y = np.empty(n)
    x = np.empty((n_inputs, 1))
    for mu in range(n):
        draw_pattern(rest, gaussian, x, 0)
        y[mu] = sign_network_output(T, t_fields, task, x, 0)
        for i in range(n_inputs):
            if gaussian:
                Xg[i, mu] = x[i, 0]
            else:
                Xb[i, mu] = np.int8(x[i, 0])
    return Xg, Xb, y, rest


@njit(cache=True, inline="always")
def _sign_by_field_signs(H, b, task):
    """``sign(yhat)`` of pattern ``b`` from the signs of its raw fields
    ``H[:, b]`` alone, where they decide it to the bit; 0.0 where they do not.

    Committee: if every field is >= 0, every erf is >= 0 and so is their sum:
    +1. If every field is below -_SIGN_DECIDES, every erf is negative (no
    underflow) and a sum of negative numbers is negative: -1. Parity of at
    most _PARITY_SIGN_MAX_K units with every |field| >= _SIGN_DECIDES: no erf
    and no product underflows to 0, so the sign of the product is the product
    of the signs. Mixed cases need the erf values."""
    K = H.shape[0]
    if task == COMMITTEE:
        n_neg = 0
        n_far_neg = 0
        for k in range(K):
            if H[k, b] < 0.0:
                n_neg += 1
                if H[k, b] < -_SIGN_DECIDES:
                    n_far_neg += 1
        if n_neg == 0:
            return 1.0
        if n_far_neg == K:
            return -1.0
        return 0.0
    if K > _PARITY_SIGN_MAX_K:
        return 0.0
    out = 1.0
    for k in range(K):
        h = H[k, b]
        if abs(h) < _SIGN_DECIDES:
            return 0.0
        if h < 0.0:
            out = -out
    return out


@njit(cache=True)
def soft_errors(W, w_inputs, task, X, y):
    """Number of patterns of ``X`` (N, P) with ``sign(yhat) != y``, to the bit
    the same as :func:`soft_output` pattern by pattern.

    The fields of a block of patterns are computed together
    (:func:`mbphase.sim.teacher.block_fields`), each adding the same
    products in the same order as :func:`soft_output`. The erf values are taken only where the fields'
    signs do not decide the output (:func:`_sign_by_field_signs`)."""
    K, F = W.shape
    sqrt_f = math.sqrt(F)
    P = X.shape[1]
    H = np.empty((K, _FIELD_BLOCK))
    errors = 0
    for start in range(0, P, _FIELD_BLOCK):
        n = min(_FIELD_BLOCK, P - start)
        block_fields(W, w_inputs, X, start, n, H)
        for b in range(n):
            s = _sign_by_field_signs(H, b, task)
            if s == 0.0:
                out = 0.0 if task == COMMITTEE else 1.0
                for k in range(K):
                    g = activation(H[k, b] / sqrt_f)
                    if task == COMMITTEE:
                        out += g
                    else:
                        out *= g
                s = sign(out / K if task == COMMITTEE else out)
            if s != y[start + b]:
                errors += 1
    return errors


@njit(cache=True)
def test_error_soft(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, stored):
    """Error rate of ``sign(yhat)`` of a continuous student on the run's
    ``n_test`` test patterns: the stored ones (``stored`` from
    :func:`stored_test_set`), then the rest generated one by one from the
    stream state after them (copied: every call sees the same test set)."""
    Xg, Xb, ys, rest = stored
    errors = soft_errors(W, w_inputs, task, Xg, ys) if gaussian else soft_errors(W, w_inputs, task, Xb, ys)
    state = rest.copy()
    x = np.empty((n_inputs, 1))
    for _ in range(n_test - ys.size):
        draw_pattern(state, gaussian, x, 0)
        if sign(soft_output(W, w_inputs, task, x, 0)) != sign_network_output(T, t_fields, task, x, 0):
            errors += 1
    return errors / n_test


@njit(cache=True)
def sgd_one(
    T, t_fields, task, n_inputs, W, w_inputs, dense, gaussian, m, train_size, lr, logistic,
    max_steps, eval_every, success_threshold, stop_at_success, n_test, traj_times,
    data_state, test_state, scalars, traj,
):
    """Train one continuous student by mini-batch SGD; ``W`` (K, F) (initial
    weights, drawn by the caller) is updated in place.

    Teacher ``T``, ``t_fields`` (K, d); student inputs ``w_inputs`` (K, F);
    ``task`` COMMITTEE or PARITY; ``dense`` selects the best-permutation
    overlap; ``gaussian`` the input distribution; ``m`` the mini-batch size;
    ``train_size`` 0 for online data (a fresh batch every step), else the size
    of a fixed training set drawn first from ``data_state``; ``lr`` the
    learning rate; ``logistic`` the loss (False: mse). Time is in steps.

    The test error (on ``n_test`` patterns of ``test_state``, the same set at
    every evaluation) is measured after the update of steps ``eval_every``,
    ``2 * eval_every``, ... and of the final step. ``t_solve`` is the first
    such step with test error ``<= success_threshold``; with
    ``stop_at_success`` the run stops there. ``success`` and ``gen_error``
    come from the final evaluation. ``train_error`` and ``final_loss`` are the
    error rate and mean loss of the last step's mini-batch, measured in its
    forward pass (before its update). ``q_late`` and ``energy_late`` average
    the overlap and that mini-batch error rate over the evaluation steps
    ``> max_steps // 2``, NaN for runs that stop early. ``traj`` (len(traj_times),
    4) gets (t, q, test error, mini-batch loss) at the steps ``traj_times``,
    NaN where unreached.

    Divergence: if a mini-batch loss or any weight becomes NaN or infinite,
    the run stops at once with ``status`` 1 (diverged), ``success`` 0 and
    ``t_solve``, ``q``, ``gen_error``, ``q_late``, ``energy_late`` NaN;
    ``t_run`` is the step at which it was detected, ``train_error`` and
    ``final_loss`` that step's values.
    """
    K, F = W.shape
    X = np.empty((n_inputs, m))
    y = np.empty(m)
    H = np.empty((K, m))
    G = np.empty((K, m))
    D = np.empty((K, m))
    finite_data = train_size > 0
    Xtr, ytr, perm, cursor = training_set(data_state, gaussian, T, t_fields, task, n_inputs, train_size)
    stored = stored_test_set(test_state, gaussian, T, t_fields, task, n_inputs, n_test, TEST_SET_MAX_VALUES)

    traj[:, :] = np.nan
    next_sample = 0
    t_solve = np.nan
    test_err = np.nan
    q_sum = 0.0
    e_sum = 0.0
    n_late = 0
    late_start = max_steps // 2 + 1
    loss = np.nan
    errors = 0
    diverged = False
    step = 0
    while step < max_steps:
        step += 1
        if finite_data:
            cursor = next_finite_batch(data_state, Xtr, ytr, perm, cursor, X, y)
        else:
            draw_labelled(data_state, gaussian, T, t_fields, task, X, y)
        loss, errors, finite = sgd_step(W, w_inputs, task, logistic, lr, X, y, H, G, D)
        if not finite or not math.isfinite(loss):
            diverged = True
            break
        evaluated = step % eval_every == 0 or step == max_steps
        sampled = next_sample < traj_times.size and step == traj_times[next_sample]
        q = np.nan
        if evaluated or sampled:
            test_err = test_error_soft(W, w_inputs, T, t_fields, task, n_inputs, gaussian, n_test, stored)
        if (evaluated and step >= late_start) or sampled:
            q = overlap(W, w_inputs, T, t_fields, n_inputs, task, dense)
        if evaluated:
            if t_solve != t_solve and test_err <= success_threshold:
                t_solve = float(step)
            if step >= late_start:
                q_sum += q
                e_sum += errors / m
                n_late += 1
        if sampled:
            traj[next_sample, 0] = step
            traj[next_sample, 1] = q
            traj[next_sample, 2] = test_err
            traj[next_sample, 3] = loss
            next_sample += 1
        if evaluated and stop_at_success and t_solve == t_solve:
            break

    stopped_early = step < max_steps or diverged
    scalars[I_T_RUN] = step
    scalars[I_TRAIN] = errors / m if step > 0 else np.nan
    scalars[I_ACC] = np.nan
    scalars[I_LOSS] = loss
    scalars[I_EVALS] = float(step) * m
    if diverged:
        scalars[I_SUCCESS] = 0.0
        scalars[I_METHOD] = METHOD_NONE
        scalars[I_T_SOLVE] = np.nan
        scalars[I_Q] = np.nan
        scalars[I_GEN] = np.nan
        scalars[I_Q_LATE] = np.nan
        scalars[I_E_LATE] = np.nan
        scalars[I_STATUS] = STATUS_DIVERGED
        return
    # The last step executed is always an evaluation step (max_steps, or the
    # evaluation at which the run solved), so test_err is the final one.
    scalars[I_SUCCESS] = 1.0 if test_err <= success_threshold else 0.0
    scalars[I_METHOD] = METHOD_TEST_SET if test_err <= success_threshold else METHOD_NONE
    scalars[I_T_SOLVE] = t_solve
    scalars[I_Q] = overlap(W, w_inputs, T, t_fields, n_inputs, task, dense)
    scalars[I_GEN] = test_err
    scalars[I_Q_LATE] = q_sum / n_late if n_late > 0 and not stopped_early else np.nan
    scalars[I_E_LATE] = e_sum / n_late if n_late > 0 and not stopped_early else np.nan
    scalars[I_STATUS] = STATUS_OK


@njit(cache=True, parallel=True)
def sgd_many(
    T, t_fields, task, n_inputs, W, w_inputs, dense, gaussian, m, train_size, lr, logistic,
    max_steps, eval_every, success_threshold, stop_at_success, n_test, traj_times, states, scalars, traj,
):
    """:func:`sgd_one` for every seed ``s`` in parallel; per-seed arrays carry
    a leading seed axis: ``T``, ``t_fields`` (S, K, d), ``W``, ``w_inputs``
    (S, K, F), ``states`` (S, 3, 4) uint64 (data, dynamics, test; SGD draws
    nothing from the dynamics stream), ``scalars`` (S, len(SCALARS)), ``traj``
    (S, len(traj_times), 4). Runs are independent and serial inside, so the
    result does not depend on the thread count."""
    for s in prange(W.shape[0]):
        sgd_one(
            T[s], t_fields[s], task, n_inputs, W[s], w_inputs[s], dense, gaussian, m, train_size, lr, logistic,
            max_steps, eval_every, success_threshold, stop_at_success, n_test, traj_times,
            states[s, 0], states[s, 2], scalars[s], traj[s],
        )

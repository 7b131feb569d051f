"""Slow, obviously correct NumPy references for the kernels' tests.

Everything here recomputes from scratch: no stored fields, no incremental
updates, plain loops where they make the rule clearer.
"""

from __future__ import annotations

import itertools

import numpy as np

# --- random streams ---

_MASK = (1 << 64) - 1


def xoshiro_reference(state: list[int], n: int) -> list[int]:
    """Pure-Python xoshiro256**: ``n`` outputs from ``state``."""
    s = [int(v) & _MASK for v in state]

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & _MASK

    out = []
    for _ in range(n):
        out.append((rotl((s[1] * 5) & _MASK, 7) * 9) & _MASK)
        t = (s[1] << 17) & _MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


# --- sign networks (teacher and discrete students) ---


def sign(h):
    """sign with sign(0) = +1."""
    return np.where(np.asarray(h) >= 0, 1.0, -1.0)


def hidden_signs(W, inputs, X):
    """(K, P) hidden signs of a sign network; X is (N, P)."""
    return np.stack([sign(W[k] @ X[inputs[k]]) for k in range(W.shape[0])])


def network_output(W, inputs, task, X):
    """(P,) outputs: committee sign(sum of signs) or parity (product)."""
    tau = hidden_signs(W, inputs, X)
    if task == "committee":
        return sign(tau.sum(axis=0))
    return np.prod(tau, axis=0)


def energy(W, inputs, task, X, y):
    """Number of patterns of (X, y) the network misclassifies."""
    return int(np.sum(network_output(W, inputs, task, X) != y))


def flip_energy_change(W, inputs, task, X, y, k, j, new_value):
    """Energy change of setting W[k, j] to new_value, by recomputation."""
    W2 = W.copy()
    W2[k, j] = new_value
    return energy(W2, inputs, task, X, y) - energy(W, inputs, task, X, y)


def dense_vectors(W, inputs, n_inputs):
    out = np.zeros((W.shape[0], n_inputs))
    for k in range(W.shape[0]):
        out[k, inputs[k]] = W[k]
    return out


def overlap(W, w_inputs, T, t_fields, n_inputs, task, dense):
    """Mean normalized overlap; best permutation (brute force) for dense."""
    A = dense_vectors(W, w_inputs, n_inputs)
    B = dense_vectors(T, t_fields, n_inputs)
    K = A.shape[0]

    def q(a, b):
        na, nb = np.linalg.norm(A[a]), np.linalg.norm(B[b])
        v = 0.0 if na == 0 or nb == 0 else A[a] @ B[b] / (na * nb)
        return abs(v) if task == "parity" else v

    if not dense:
        return float(np.mean([q(k, k) for k in range(K)]))
    return max(float(np.mean([q(a, perm[a]) for a in range(K)])) for perm in itertools.permutations(range(K)))


def exact_success(W, w_inputs, T, t_fields, n_inputs, task, dense):
    """Weight criterion, by brute force over permutations and signs."""
    A = dense_vectors(W, w_inputs, n_inputs)
    B = dense_vectors(T, t_fields, n_inputs)
    K = A.shape[0]
    perms = itertools.permutations(range(K)) if dense else [tuple(range(K))]
    for perm in perms:
        signs = []
        for a in range(K):
            if np.array_equal(A[a], B[perm[a]]):
                signs.append(1)
            elif task == "parity" and np.array_equal(A[a], -B[perm[a]]):
                signs.append(-1)
            else:
                break
        else:
            if np.prod(signs) == 1:
                return True
    return False


def all_binary_inputs(n):
    """(n, 2^n) matrix of every +-1 input."""
    return np.array(list(itertools.product([-1.0, 1.0], repeat=n))).T


def same_function(W, w_inputs, T, t_fields, task, n_inputs):
    """Whether two sign networks agree on every binary input."""
    X = all_binary_inputs(n_inputs)
    return np.array_equal(network_output(W, w_inputs, task, X), network_output(T, t_fields, task, X))


def exact_gen_error(W, w_inputs, T, t_fields, task, n_inputs):
    """Exact generalization error over all 2^N binary inputs."""
    X = all_binary_inputs(n_inputs)
    return float(np.mean(network_output(W, w_inputs, task, X) != network_output(T, t_fields, task, X)))


# --- continuous students (SGD) ---
# Imports of this section kept here so the section stands alone in the shared file.
import math  # noqa: E402


def erf_unit(h):
    """g(h) = erf(h / sqrt(2))."""
    return math.erf(h / math.sqrt(2.0))


def erf_unit_prime(h):
    """g'(h) = sqrt(2/pi) exp(-h^2 / 2)."""
    return math.sqrt(2.0 / math.pi) * math.exp(-h * h / 2.0)


def soft_fields(W, inputs, x):
    """(K,) normalized fields h_k = W_k . x[inputs[k]] / sqrt(F) of one pattern x (N,)."""
    F = W.shape[1]
    return np.array([W[k] @ x[inputs[k]] for k in range(W.shape[0])]) / np.sqrt(F)


def soft_output(W, inputs, task, X):
    """(P,) soft outputs: mean of g(h_k) (committee) or product (parity)."""
    out = np.empty(X.shape[1])
    for mu in range(X.shape[1]):
        g = np.array([erf_unit(h) for h in soft_fields(W, inputs, X[:, mu])])
        out[mu] = g.mean() if task == "committee" else g.prod()
    return out


def soft_loss(yhat, y, loss):
    """Per-pattern loss: (yhat - y)^2 / 2 or log(1 + exp(-y yhat))."""
    if loss == "mse":
        return (yhat - y) ** 2 / 2.0
    return np.log(1.0 + np.exp(-y * yhat))


def mean_soft_loss(W, inputs, task, loss, X, y):
    return float(np.mean(soft_loss(soft_output(W, inputs, task, X), y, loss)))


def soft_loss_gradient(W, inputs, task, loss, X, y):
    """Analytic gradient (K, F) of the mean loss, pattern by pattern, by the
    chain rule: dL/dW_kj = dL/dyhat * dyhat/dh_k * x_j / sqrt(F)."""
    K, F = W.shape
    P = X.shape[1]
    grad = np.zeros((K, F))
    for mu in range(P):
        x = X[:, mu]
        h = soft_fields(W, inputs, x)
        g = np.array([erf_unit(v) for v in h])
        gp = np.array([erf_unit_prime(v) for v in h])
        yhat = g.mean() if task == "committee" else g.prod()
        if loss == "mse":
            dl = yhat - y[mu]
        else:
            dl = -y[mu] * np.exp(-y[mu] * yhat) / (1.0 + np.exp(-y[mu] * yhat))
        for k in range(K):
            if task == "committee":
                dyhat_dh = gp[k] / K
            else:
                dyhat_dh = gp[k] * np.prod(np.delete(g, k))
            grad[k] += dl * dyhat_dh * x[inputs[k]] / np.sqrt(F)
    return grad / P


def finite_difference_gradient(W, inputs, task, loss, X, y, eps=1e-6):
    """Central differences of the mean loss, one weight at a time."""
    grad = np.zeros_like(W)
    for k in range(W.shape[0]):
        for j in range(W.shape[1]):
            Wp, Wm = W.copy(), W.copy()
            Wp[k, j] += eps
            Wm[k, j] -= eps
            grad[k, j] = (mean_soft_loss(Wp, inputs, task, loss, X, y) - mean_soft_loss(Wm, inputs, task, loss, X, y)) / (2 * eps)
    return grad


def soft_error_rate(W, inputs, task, X, y):
    """Fraction of patterns with sign(yhat) != y (sign(0) = +1)."""
    return float(np.mean(sign(soft_output(W, inputs, task, X)) != y))


def sgd_run(
    T, t_fields, task, n_inputs, W0, w_inputs, dense, gaussian, m, train_size, lr, loss,
    max_steps, eval_every, success_threshold, stop_at_success, n_test, traj_times, data_state, test_state,
):
    """Plain mini-batch SGD following the rules of the kernel's docstring.

    The random patterns come from the kernels' own generator on copies of the
    states (the data stream is the same sequence of patterns); labels, losses,
    gradients, errors and overlaps are recomputed here. Returns (W, scalars
    as a dict, traj)."""
    from mbphase.sim.patterns import draw_patterns, next_finite_batch

    data_state = data_state.copy()
    Xtest = np.empty((n_inputs, n_test))
    draw_patterns(test_state.copy(), gaussian, Xtest)
    ytest = network_output(T, t_fields, task, Xtest)
    if train_size > 0:
        Xtr = np.empty((n_inputs, train_size))
        draw_patterns(data_state, gaussian, Xtr)
        ytr = network_output(T, t_fields, task, Xtr)
        perm, cursor = np.arange(train_size), train_size
    X, y = np.empty((n_inputs, m)), np.empty(m)
    W = W0.copy()
    traj = np.full((len(traj_times), 4), np.nan)
    t_solve, test_err, diverged = np.nan, np.nan, False
    late_q, late_e = [], []
    step = 0
    while step < max_steps:
        step += 1
        if train_size > 0:
            cursor = next_finite_batch(data_state, Xtr, ytr, perm, cursor, X, y)
        else:
            draw_patterns(data_state, gaussian, X)
            y = network_output(T, t_fields, task, X)
        batch_loss = mean_soft_loss(W, w_inputs, task, loss, X, y)
        batch_err = soft_error_rate(W, w_inputs, task, X, y)
        W = W - lr * soft_loss_gradient(W, w_inputs, task, loss, X, y)
        if not np.isfinite(batch_loss) or not np.all(np.isfinite(W)):
            diverged = True
            break
        evaluated = step % eval_every == 0 or step == max_steps
        sampled = step in list(traj_times)
        if evaluated or sampled:
            test_err = soft_error_rate(W, w_inputs, task, Xtest, ytest)
        if evaluated:
            if np.isnan(t_solve) and test_err <= success_threshold:
                t_solve = float(step)
            if step > max_steps // 2:
                late_q.append(overlap(W, w_inputs, T, t_fields, n_inputs, task, dense))
                late_e.append(batch_err)
        if sampled:
            i = list(traj_times).index(step)
            traj[i] = (step, overlap(W, w_inputs, T, t_fields, n_inputs, task, dense), test_err, batch_loss)
        if evaluated and stop_at_success and not np.isnan(t_solve):
            break
    full = step == max_steps and not diverged
    out = {
        "t_run": float(step),
        "train_error": batch_err,
        "acceptance_rate": np.nan,
        "final_loss": batch_loss,
        "pattern_evals": float(step * m),
        "status": 1.0 if diverged else 0.0,
        "success": 0.0 if diverged else float(test_err <= success_threshold),
        # method codes of mbphase.sim.observables: 0 none, 3 test set
        "success_method": 0.0 if diverged or test_err > success_threshold else 3.0,
        "t_solve": np.nan if diverged else t_solve,
        "q": np.nan if diverged else overlap(W, w_inputs, T, t_fields, n_inputs, task, dense),
        "gen_error": np.nan if diverged else test_err,
        "q_late": float(np.mean(late_q)) if late_q and full else np.nan,
        "energy_late": float(np.mean(late_e)) if late_e and full else np.nan,
    }
    return W, out, traj


def draw_binary_patterns(u64_outputs, n_inputs, n_patterns):
    """+-1 patterns (N, P) from a list of 64-bit outputs: each pattern uses
    ceil(N/64) fresh outputs, bit j of an output is input j (1 -> +1)."""
    per = -(-n_inputs // 64)
    X = np.empty((n_inputs, n_patterns))
    for mu in range(n_patterns):
        words = u64_outputs[mu * per : (mu + 1) * per]
        for i in range(n_inputs):
            X[i, mu] = 1.0 if (words[i // 64] >> (i % 64)) & 1 else -1.0
    return X


def greedy_dynamics(T, t_fields, task, n_inputs, W, w_inputs, ternary, m, max_sweeps, temperature, sequential,
                    data_state, dyn_state, draw_batch, randbelow, uniform):
    """Greedy/Metropolis mini-batch dynamics (online data, sweep refresh) with
    every energy recomputed from scratch. Random numbers come from the same
    primitives as the kernel so the trajectories can be compared exactly.
    Returns (final W, accepted, proposals, per-sweep energies after the sweep)."""
    W = W.copy()
    K, F = W.shape
    accepted = proposals = 0
    energies = []
    for _ in range(max_sweeps):
        X, y = draw_batch(data_state, m)
        for p in range(K * F):
            r = p if sequential else randbelow(dyn_state, K * F)
            k, j = divmod(r, F)
            old = W[k, j]
            if ternary:
                others = [v for v in (-1.0, 0.0, 1.0) if v != old]
                new = others[randbelow(dyn_state, 2)]
            else:
                new = -old
            dE = flip_energy_change(W, w_inputs, task, X, y, k, j, new)
            proposals += 1
            if dE <= 0 or (temperature > 0 and uniform(dyn_state) < np.exp(-dE / temperature)):
                W[k, j] = new
                accepted += 1
        energies.append(energy(W, w_inputs, task, X, y))
    return W, accepted, proposals, energies

"""What a user would write instead of the project's kernels: the baselines of
``run_benchmarks.py``.

They implement the same models and the same dynamics as ``mbphase`` (see
docs/model.md), written the obvious way, so that the benchmark's ratios say
what the project's kernels buy over them. They are kept deliberately plain:
no bit packing, no stored fields beyond what the dynamics obviously needs.
They use their own random streams (NumPy's Generator, Numba's ``np.random``,
PyTorch's generator), so their trajectories are statistically, not bitwise,
the project's.

Greedy mini-batch dynamics, sparse discrete committee (student weights +-1 on
the teacher's receptive fields ``fields`` (K, d); online data; a fresh batch
of ``m`` patterns at the start of every sweep; a sweep is K*d proposals of a
uniformly random weight; accept a flip iff the number of misclassified batch
patterns does not grow; ``sign(0) = +1``):

- :func:`numpy_greedy`: vectorised over the mini-batch, a Python loop over
  proposals. Per proposal it recomputes the flipped unit's fields over the
  batch with one matrix-vector product (``stored_fields=False``, the default)
  or updates stored fields by one row of the batch (``stored_fields=True``,
  what a more careful NumPy user writes); the other units' signs are kept.
- :func:`scalar_greedy`: the obvious first Numba version: scalar loops,
  patterns stored one per row, one ``np.random`` call per input bit, and per
  proposal the flipped unit's fields recomputed pattern by pattern.

Mini-batch SGD, dense continuous committee (erf units on normalized fields,
MSE, online data):

- :func:`torch_sgd`: the same model and update in PyTorch on the CPU, with
  autograd and ``torch.optim.SGD``. PyTorch is an optional extra
  (``pip install torch==2.13.0``) and is imported only when called.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# --- greedy: plain NumPy ---


def np_sign(h):
    """sign with sign(0) = +1, as float64."""
    return np.where(h >= 0, 1.0, -1.0)


def numpy_committee_labels(T, Xu):
    """Committee outputs (m,) of weights ``T`` (K, d) on ``Xu`` (K, d, m), the
    batch restricted to each unit's receptive field."""
    return np_sign(np_sign(np.einsum("kd,kdm->km", T, Xu)).sum(axis=0))


def numpy_unit_proposal(W, Xu, y, C, S, k):
    """Misclassified patterns if unit ``k`` had its current weights ``W[k]``
    while the other units keep their signs: recompute unit k's fields over the
    batch. ``S`` (K, m) hidden signs and ``C`` (m,) committee sums of the
    weights before the change. Returns (errors, new signs of k, new sums)."""
    s = np_sign(W[k] @ Xu[k])
    c = C - S[k] + s
    return int(np.count_nonzero(np_sign(c) != y)), s, c


def numpy_greedy(T, fields, W0, n_inputs, m, sweeps, rng, stored_fields=False):
    """Greedy mini-batch dynamics of a sparse +-1 committee in NumPy.

    ``T`` (K, d) teacher weights, ``fields`` (K, d) int receptive fields (the
    student reads the same inputs), ``W0`` (K, d) initial student weights (not
    modified), ``n_inputs`` N, ``m`` patterns per batch, ``sweeps`` sweeps,
    ``rng`` a ``numpy.random.Generator``. Returns (W, accepted proposals,
    proposals, batch errors at the end of each sweep).
    """
    W = np.array(W0, dtype=np.float64)
    K, d = W.shape
    n_weights = K * d
    accepted = 0
    energies = []
    for _ in range(sweeps):
        X = rng.integers(0, 2, size=(n_inputs, m)).astype(np.float64) * 2.0 - 1.0
        Xu = X[fields]  # (K, d, m)
        y = numpy_committee_labels(T, Xu)
        H = np.einsum("kd,kdm->km", W, Xu)
        S = np_sign(H)
        C = S.sum(axis=0)
        E = int(np.count_nonzero(np_sign(C) != y))
        for r in rng.integers(0, n_weights, size=n_weights):
            k, j = divmod(int(r), d)
            W[k, j] = -W[k, j]
            if stored_fields:
                h = H[k] + 2.0 * W[k, j] * Xu[k, j]
                s = np_sign(h)
                c = C - S[k] + s
                E_new = int(np.count_nonzero(np_sign(c) != y))
            else:
                E_new, s, c = numpy_unit_proposal(W, Xu, y, C, S, k)
            if E_new <= E:
                if stored_fields:
                    H[k] = h
                S[k] = s
                C = c
                E = E_new
                accepted += 1
            else:
                W[k, j] = -W[k, j]
        energies.append(E)
    return W, accepted, sweeps * n_weights, energies


# --- greedy: the obvious scalar Numba loop ---


@njit(cache=True)
def scalar_sign(h):
    return 1.0 if h >= 0.0 else -1.0


@njit(cache=True)
def scalar_batch_state(W, fields, X, y, S, C):
    """Hidden signs ``S`` (K, m) and committee sums ``C`` (m,) of the student
    ``W`` (K, d) on the batch ``X`` (m, N), one pattern per row; returns the
    number of misclassified patterns."""
    K, d = W.shape
    errors = 0
    for mu in range(X.shape[0]):
        c = 0.0
        for k in range(K):
            h = 0.0
            for j in range(d):
                h += W[k, j] * X[mu, fields[k, j]]
            S[k, mu] = scalar_sign(h)
            c += S[k, mu]
        C[mu] = c
        if scalar_sign(c) != y[mu]:
            errors += 1
    return errors


@njit(cache=True)
def scalar_delta_energy(W, fields, X, y, S, C, k, j, new_value, s_new):
    """Energy change of setting ``W[k, j]`` to ``new_value``: unit k's fields
    recomputed pattern by pattern, the other units' signs taken from ``S``.
    Fills ``s_new`` (m,) with unit k's new signs; ``W`` is left unchanged."""
    old_value = W[k, j]
    W[k, j] = new_value
    d = W.shape[1]
    dE = 0
    for mu in range(X.shape[0]):
        h = 0.0
        for i in range(d):
            h += W[k, i] * X[mu, fields[k, i]]
        s = scalar_sign(h)
        s_new[mu] = s
        out_old = scalar_sign(C[mu])
        out_new = scalar_sign(C[mu] - S[k, mu] + s)
        dE += (out_new != y[mu]) - (out_old != y[mu])
    W[k, j] = old_value
    return dE


@njit(cache=True)
def scalar_greedy(T, fields, W, n_inputs, m, sweeps, seed):
    """Greedy mini-batch dynamics of a sparse +-1 committee, scalar Numba.

    Same arguments as :func:`numpy_greedy`, but ``W`` (K, d) is updated in
    place and the random numbers come from Numba's ``np.random`` seeded with
    ``seed``. Returns (accepted proposals, proposals, batch errors after the
    last sweep).
    """
    np.random.seed(seed)
    K, d = W.shape
    n_weights = K * d
    X = np.empty((m, n_inputs))
    y = np.empty(m)
    S = np.empty((K, m))
    C = np.empty(m)
    s_new = np.empty(m)
    accepted = 0
    E = 0
    for _ in range(sweeps):
        for mu in range(m):
            for i in range(n_inputs):
                X[mu, i] = 1.0 if np.random.random() < 0.5 else -1.0
            c = 0.0
            for k in range(K):
                h = 0.0
                for j in range(d):
                    h += T[k, j] * X[mu, fields[k, j]]
                c += scalar_sign(h)
            y[mu] = scalar_sign(c)
        E = scalar_batch_state(W, fields, X, y, S, C)
        for _p in range(n_weights):
            r = np.random.randint(0, n_weights)
            k = r // d
            j = r % d
            dE = scalar_delta_energy(W, fields, X, y, S, C, k, j, -W[k, j], s_new)
            if dE <= 0:
                W[k, j] = -W[k, j]
                for mu in range(m):
                    C[mu] += s_new[mu] - S[k, mu]
                    S[k, mu] = s_new[mu]
                E += dE
                accepted += 1
    return accepted, sweeps * n_weights, E


# --- SGD: PyTorch on the CPU ---


def torch_available() -> bool:
    """Whether PyTorch can be imported (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec("torch") is not None


def dense_teacher(T, fields, n_inputs):
    """Teacher weights (K, d) on ``fields`` as dense vectors (K, N)."""
    out = np.zeros((T.shape[0], n_inputs))
    for k in range(T.shape[0]):
        out[k, fields[k]] = T[k]
    return out


def torch_sgd_step(W, optimizer, X, y):
    """One SGD step of the soft committee ``yhat = mean_k erf(h_k / sqrt 2)``,
    ``h_k = W_k . x / sqrt(N)``, on the mean of ``(yhat - y)^2 / 2`` over the
    batch ``X`` (m, N), ``y`` (m,). Returns the batch loss before the step."""
    import torch

    h = X @ W.T / math.sqrt(W.shape[1])
    yhat = torch.erf(h / math.sqrt(2.0)).mean(dim=1)
    loss = 0.5 * ((yhat - y) ** 2).mean()
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss


def torch_sgd(T_dense, W0, m, steps, lr, seed, threads=1, dtype="float64"):
    """Online mini-batch SGD of a dense continuous committee in PyTorch.

    ``T_dense`` (K, N) teacher (zeros outside its fields), ``W0`` (K, N)
    initial student, ``m`` patterns per step, ``steps`` steps, learning rate
    ``lr``; fresh +-1 patterns every step from a ``torch.Generator`` seeded
    with ``seed``; ``threads`` intra-op threads. Returns (W as a NumPy array,
    last batch loss, seconds spent in the loop).
    """
    import time

    import torch

    torch.set_num_threads(threads)
    dt = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(int(seed))
    T = torch.as_tensor(T_dense, dtype=dt)
    W = torch.tensor(W0, dtype=dt, requires_grad=True)
    optimizer = torch.optim.SGD([W], lr=lr)
    n_inputs = T.shape[1]
    loss = torch.tensor(float("nan"))
    start = time.perf_counter()
    for _ in range(steps):
        X = torch.randint(0, 2, (m, n_inputs), generator=gen, dtype=dt) * 2 - 1
        with torch.no_grad():
            tau = torch.where(X @ T.T >= 0, 1.0, -1.0)
            y = torch.where(tau.sum(dim=1) >= 0, 1.0, -1.0).to(dt)
        loss = torch_sgd_step(W, optimizer, X, y)
    seconds = time.perf_counter() - start
    return W.detach().numpy().copy(), loss.item(), seconds


def torch_sgd_batched(T_dense, W0, m, steps, lr, seed, threads=1, dtype="float32"):
    """:func:`torch_sgd` for S seeds at once, as a competent PyTorch user
    writes it: one model with a leading seeds dimension, ``T_dense`` and
    ``W0`` (S, K, N), a fresh batch (S, m, N) every step, the loss summed
    over seeds of each seed's batch mean (so each seed gets exactly its own
    gradient), autograd and one ``torch.optim.SGD`` step for all seeds.
    Returns (W (S, K, N) as a NumPy array, last loss, seconds in the loop).
    """
    import time

    import torch

    torch.set_num_threads(threads)
    dt = getattr(torch, dtype)
    gen = torch.Generator().manual_seed(int(seed))
    T = torch.as_tensor(T_dense, dtype=dt)
    W = torch.tensor(W0, dtype=dt, requires_grad=True)
    optimizer = torch.optim.SGD([W], lr=lr)
    S, _, n_inputs = T.shape
    scale = 1.0 / math.sqrt(n_inputs)
    loss = torch.tensor(float("nan"))
    start = time.perf_counter()
    for _ in range(steps):
        X = torch.randint(0, 2, (S, m, n_inputs), generator=gen, dtype=dt) * 2 - 1
        with torch.no_grad():
            tau = torch.where(torch.bmm(X, T.transpose(1, 2)) >= 0, 1.0, -1.0)
            y = torch.where(tau.sum(dim=2) >= 0, 1.0, -1.0).to(dt)
        h = torch.bmm(X, W.transpose(1, 2)) * scale  # (S, m, K)
        yhat = torch.erf(h / math.sqrt(2.0)).mean(dim=2)
        loss = (0.5 * ((yhat - y) ** 2).mean(dim=1)).sum()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start
    return W.detach().numpy().copy(), loss.item(), seconds

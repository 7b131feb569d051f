"""The transitions the model specification expects, with fixed seeds (so the
tests are deterministic, not flaky)."""

import pytest

from mbphase.sim.params import make_params
from mbphase.sim.run import run_point

pytestmark = pytest.mark.slow


def p_succ(options, seeds=32):
    runs, _ = run_point(make_params(options), range(seeds), base_seed=2024, threads=2)
    return runs["success"].mean()


def test_sparse_committee_on_a_tree_fails_at_m_d_and_succeeds_at_8d():
    base = dict(architecture="sparse", weights="discrete", topology="tree", task="committee", K=3, d=15, max_sweeps=2000, n_test=1000)
    assert p_succ(dict(base, m=15)) <= 0.1
    assert p_succ(dict(base, m=120)) >= 0.9


def test_dense_discrete_perceptron_recovers_at_large_m_only():
    base = dict(architecture="dense", weights="discrete", topology="random", task="committee", K=1, d=5, N=15, max_sweeps=1000, n_test=1000)
    assert p_succ(dict(base, m=5)) <= 0.1
    assert p_succ(dict(base, m=320)) >= 0.9


def test_dense_continuous_perceptron_generalizes():
    options = dict(architecture="dense", weights="continuous", topology="random", task="committee", K=1, d=5, N=15, m=16, lr=2.0, max_steps=3000)
    assert p_succ(options) >= 0.9

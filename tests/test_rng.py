"""The xoshiro256** streams against a pure-Python reference."""

import numpy as np

import naive
from mbphase.sim import rng


def test_next_u64_matches_reference():
    for seed in range(5):
        state = rng.xoshiro_state(np.random.SeedSequence(seed))
        expected = naive.xoshiro_reference(list(state), 200)
        assert [int(rng.next_u64(state)) for _ in range(200)] == expected


def test_randbelow_is_in_range_and_uniform():
    state = rng.xoshiro_state(np.random.SeedSequence(1))
    for n in (1, 2, 3, 7, 45):
        draws = np.array([rng.randbelow(state, n) for _ in range(20000)])
        assert draws.min() >= 0 and draws.max() < n
        counts = np.bincount(draws, minlength=n)
        expected = 20000 / n
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < n - 1 + 5 * np.sqrt(2 * max(n - 1, 1))


def test_uniform_and_normal_moments():
    state = rng.xoshiro_state(np.random.SeedSequence(2))
    u = np.array([rng.uniform(state) for _ in range(50000)])
    assert u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / 50000)
    z = np.array([rng.normal(state) for _ in range(50000)])
    assert abs(z.mean()) < 5 / np.sqrt(50000)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / 50000)


def test_streams_are_distinct_and_reproducible():
    a = rng.run_streams(7, 3)
    b = rng.run_streams(7, 3)
    states = {name: tuple(rng.xoshiro_state(ss)) for name, ss in a.items()}
    assert len(set(states.values())) == len(rng.STREAMS)
    assert states == {name: tuple(rng.xoshiro_state(ss)) for name, ss in b.items()}
    assert tuple(rng.xoshiro_state(rng.run_streams(7, 4)["data"])) != states["data"]

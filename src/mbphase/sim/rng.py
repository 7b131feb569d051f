"""Random streams: per-run seeds and the xoshiro256** generator used in kernels.

Every run owns its streams, passed explicitly as ``uint64[4]`` state arrays,
so a run's numbers never depend on which thread runs it or on what ran before
(Numba's own ``np.random`` state is per thread, and seeding it from a
``prange`` loop would make results depend on the thread count).
The state of run ``seed`` of an experiment with ``base_seed`` comes from
``numpy.random.SeedSequence([base_seed, seed])``; its children give one
independent stream per purpose (:data:`STREAMS`).

xoshiro256** (Blackman and Vigna, 2018) is small, fast and passes BigCrush; it
gives 64 random bits per call, which the binary-input kernels use one bit per
input.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)

# One independent stream per purpose. The teacher and the student's initial
# weights are drawn with NumPy in Python (obviously correct); the data,
# dynamics and test streams drive the kernels.
STREAMS = ("teacher", "init", "data", "dynamics", "test")


def seed_sequence(base_seed: int, seed: int) -> np.random.SeedSequence:
    """The root of every stream of one run."""
    return np.random.SeedSequence([int(base_seed), int(seed)])


def run_streams(base_seed: int, seed: int) -> dict[str, np.random.SeedSequence]:
    """One child SeedSequence per purpose in :data:`STREAMS`."""
    return dict(zip(STREAMS, seed_sequence(base_seed, seed).spawn(len(STREAMS))))


def xoshiro_state(ss: np.random.SeedSequence) -> np.ndarray:
    """A non-zero xoshiro256** state (``uint64[4]``) from a SeedSequence."""
    state = ss.generate_state(4, dtype=np.uint64)
    if not state.any():  # the all-zero state is a fixed point; astronomically unlikely
        state[0] = 1
    return state


@njit(cache=True, inline="always")
def _rotl(x, k):
    return (x << uint64(k)) | (x >> uint64(64 - k))


@njit(cache=True)
def next_u64(s):
    """Advance the state ``s`` (uint64[4], in place); return 64 random bits."""
    result = _rotl(s[1] * uint64(5), 7) * uint64(9)
    t = s[1] << uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return result


@njit(cache=True)
def uniform(s):
    """A float64 uniform in [0, 1), from the top 53 bits."""
    return float(next_u64(s) >> uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def randbelow(s, n):
    """An integer uniform in [0, n), by rejection (no modulo bias)."""
    bound = uint64(n)
    # Largest multiple of n that fits in 64 bits; draws above it are rejected.
    limit = uint64(0xFFFFFFFFFFFFFFFF) - (uint64(0xFFFFFFFFFFFFFFFF) % bound + uint64(1)) % bound
    while True:
        r = next_u64(s)
        if r <= limit:
            return np.int64(r % bound)


@njit(cache=True)
def normal(s):
    """A standard normal deviate (Box-Muller; one of the pair is discarded so
    that a draw depends on no hidden cache)."""
    u1 = 1.0 - uniform(s)  # in (0, 1], safe for log
    u2 = uniform(s)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

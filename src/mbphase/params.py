"""The parameters of one training run, their defaults and their validation.

Every option of the model specification (shared/MODEL.md) is a field of
:class:`RunParams`. Validation happens here, once, before any work: the
kernels trust what they are given.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping, NamedTuple

ARCHITECTURES = ("sparse", "dense")
WEIGHTS = ("discrete", "continuous")
TOPOLOGIES = ("tree", "random")
TASKS = ("committee", "parity")
INPUTS = ("binary", "gaussian")
DATA_REGIMES = ("online", "finite")
REFRESH = ("sweep", "proposal")
ORDERS = ("random", "sequential")
LOSSES = ("mse", "logistic")


def show(value: Any, limit: int = 120) -> str:
    """repr(value), cut to about ``limit`` characters: a message must stay
    readable when the value is a large list (a YAML alias expands to one)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ParamError(ValueError):
    """An invalid parameter: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str, where: str = ""):
        self.key, self.value, self.allowed, self.where = key, value, allowed, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid value for '{key}': {show(value)}; allowed: {allowed}")


@dataclasses.dataclass(frozen=True)
class RunParams:
    """One (model, task, size, m) point; the seed is not part of it.

    Sizes: ``N`` inputs, ``K`` hidden units, ``d`` inputs per teacher unit.
    ``N`` defaults to ``K*d`` (required for ``tree``). ``m`` is the mini-batch
    size in patterns. Times are in sweeps (discrete students: one sweep is as
    many proposals as the student has weights) or SGD steps (continuous).
    """

    # model
    architecture: str = "sparse"
    weights: str = "discrete"
    topology: str = "tree"
    task: str = "committee"
    K: int = 3
    d: int = 15
    N: int | None = None
    inputs: str = "binary"
    # data
    data: str = "online"
    train_size: int | None = None
    m: int = 64
    # greedy dynamics (discrete students)
    refresh: str = "sweep"
    order: str = "random"
    temperature: float = 0.0
    max_sweeps: int = 2000
    # SGD (continuous students)
    lr: float = 2.0
    loss: str = "mse"
    max_steps: int = 3000
    eval_every: int = 100
    success_threshold: float = 0.01
    # observables
    n_test: int = 10000
    trajectory_points: int = 0
    stop_at_success: bool = True

    @property
    def n_inputs(self) -> int:
        """N, with its default K*d filled in."""
        return self.K * self.d if self.N is None else self.N

    @property
    def fan_in(self) -> int:
        """Inputs read by one student hidden unit."""
        return self.d if self.architecture == "sparse" else self.n_inputs

    @property
    def n_weights(self) -> int:
        return self.K * self.fan_in

    @property
    def model(self) -> str:
        return f"{self.architecture}_{self.weights}"

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["N"] = self.n_inputs
        return out


FIELDS = {f.name: f for f in dataclasses.fields(RunParams)}
_CHOICES = {
    "architecture": ARCHITECTURES,
    "weights": WEIGHTS,
    "topology": TOPOLOGIES,
    "task": TASKS,
    "inputs": INPUTS,
    "data": DATA_REGIMES,
    "refresh": REFRESH,
    "order": ORDERS,
    "loss": LOSSES,
}
_INTS = ("K", "d", "N", "train_size", "m", "max_sweeps", "max_steps", "eval_every", "n_test", "trajectory_points")
_FLOATS = ("temperature", "lr", "success_threshold")

MAX_INT64 = 2**63 - 1


class Limit(NamedTuple):
    """Allowed range of a numeric option: lo <= value <= hi, or strictly
    above lo with ``lo_open`` (lr > 0), or strictly below hi with ``hi_open``."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, value) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def describe(self) -> str:
        def show(x):
            return str(x) if isinstance(x, int) else f"{x:g}"

        return f"{'>' if self.lo_open else '>='} {show(self.lo)} and {'<' if self.hi_open else '<='} {show(self.hi)}"


# The bounds of every numeric option, checked when a config is parsed (each
# message names the key, the value and the limit), in one table: the run
# options of RunParams, then the sweep keys of a config (experiment and
# top-level keys, checked in mbphase.config; for list keys, every item).
# Why these values: integers are stored as int64; a run holds N x m and
# N x train_size pattern values at once (MAX_PATTERN_VALUES); budgets and
# trajectory samples bound the run time and its arrays; the job count of a
# whole sweep (MAX_JOBS) bounds the time Snakemake takes to build its DAG
# (about 5 s per 10,000 jobs). README "Limits" documents them.
LIMITS: dict[str, Limit] = {
    # run options (fields of RunParams)
    "K": Limit(1, 999),
    "d": Limit(1, 100_000),
    "N": Limit(1, 1_000_000),
    "train_size": Limit(1, 10_000_000),
    "m": Limit(1, 10_000_000),
    "temperature": Limit(0, 1e6),
    "max_sweeps": Limit(1, 100_000_000),
    "lr": Limit(0, 1e6, lo_open=True),
    "max_steps": Limit(1, 1_000_000_000),
    "eval_every": Limit(1, 1_000_000_000),
    "success_threshold": Limit(0, 1, hi_open=True),
    "n_test": Limit(1, 100_000_000),
    "trajectory_points": Limit(0, 10_000),
    # sweep keys (mbphase.config)
    "base_seed": Limit(0, MAX_INT64),
    "threads": Limit(1, 1024),
    "sizes": Limit(1, 1_000_000),
    "m_per_size": Limit(0, 10_000, lo_open=True),
    "metropolis_temperatures": Limit(0, 1e6, lo_open=True),
    "seeds": Limit(1, 1_000_000),
    "seeds_per_job": Limit(1, 100_000),
    "mem_mb": Limit(1, 100_000_000),
    "runtime": Limit(1, 1_000_000),
}
# Pattern values (inputs x patterns) one run holds at once, as N x m and
# N x train_size: 10^8 float64 values are 800 MB per run computed at once.
MAX_PATTERN_VALUES = 100_000_000
# Training jobs of a whole sweep (all experiments, points and seed blocks).
MAX_JOBS = 50_000


def suggest(key: str, known) -> str:
    """A ' (did you mean ...?)' hint for a misspelt key, or ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def make_params(values: Mapping[str, Any], where: str = "") -> RunParams:
    """Build and validate :class:`RunParams` from a mapping of option names.

    Raises :class:`ParamError` naming the first bad key, its value and what is
    allowed; unknown keys get a "did you mean" suggestion.
    """
    for key in values:
        if key not in FIELDS:
            raise ParamError(key, values[key], "a known option" + suggest(key, FIELDS) + "; known options: " + ", ".join(FIELDS), where)
    for key, value in values.items():
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ParamError(key, value, " | ".join(_CHOICES[key]), where)
        if key in _INTS and not (_is_int(value) or (key in ("N", "train_size") and value is None)):
            raise ParamError(key, value, "an integer" + (" (written without a decimal point)" if isinstance(value, float) and value.is_integer() else ""), where)
        if key in _FLOATS and not (_is_number(value) and math.isfinite(value)):
            raise ParamError(key, value, "a finite number", where)
        if key == "stop_at_success" and not isinstance(value, bool):
            raise ParamError(key, value, "true | false", where)
        if key in LIMITS and value is not None and not LIMITS[key].contains(value):
            raise ParamError(key, value, f"{'an integer' if key in _INTS else 'a number'} {LIMITS[key].describe()} (limit)", where)
    params = RunParams(**{k: (float(v) if k in _FLOATS else v) for k, v in values.items()})
    validate(params, where)
    return params


def validate(p: RunParams, where: str = "") -> None:
    """Check the cross-field constraints of the model specification."""

    def need(ok: bool, key: str, allowed: str) -> None:
        if not ok:
            raise ParamError(key, getattr(p, key) if key != "N" else p.n_inputs, allowed, where)

    need(p.K >= 1, "K", "an integer >= 1")
    need(p.task != "committee" or p.K % 2 == 1, "K", "an odd integer for task 'committee' (the committee vote must not tie)")
    need(p.d >= 1, "d", "an integer >= 1")
    need(p.inputs != "binary" or p.d % 2 == 1, "d", "an odd integer with binary inputs (a teacher field must never be 0)")
    need(p.N is None or p.N >= 1, "N", "an integer >= 1")
    need(p.d <= p.n_inputs, "d", f"at most N = {p.n_inputs}")
    need(p.topology != "tree" or p.n_inputs == p.K * p.d, "N", f"K*d = {p.K * p.d} for topology 'tree' (non-overlapping fields)")
    need(p.m >= 1, "m", "an integer >= 1")
    if p.data == "finite":
        need(p.train_size is not None and p.train_size >= 1, "train_size", "an integer >= 1 when data is 'finite'")
        need(p.train_size >= p.m, "train_size", f"at least the mini-batch size m = {p.m}")
    need(p.temperature >= 0, "temperature", "a number >= 0 (0 = greedy)")
    need(p.max_sweeps >= 1, "max_sweeps", "an integer >= 1")
    need(p.lr > 0, "lr", "a number > 0")
    need(p.max_steps >= 1, "max_steps", "an integer >= 1")
    need(p.eval_every >= 1, "eval_every", "an integer >= 1")
    need(0 <= p.success_threshold < 1, "success_threshold", "a number in [0, 1)")
    need(p.n_test >= 1, "n_test", "an integer >= 1")
    need(p.trajectory_points >= 0, "trajectory_points", "an integer >= 0 (0 = no trajectory)")
    need(p.n_inputs * p.m <= MAX_PATTERN_VALUES, "m", f"at most {MAX_PATTERN_VALUES // p.n_inputs} with N = {p.n_inputs} (limit: N x m <= {MAX_PATTERN_VALUES} pattern values held at once)")
    if p.data == "finite":
        need(p.n_inputs * p.train_size <= MAX_PATTERN_VALUES, "train_size", f"at most {MAX_PATTERN_VALUES // p.n_inputs} with N = {p.n_inputs} (limit: N x train_size <= {MAX_PATTERN_VALUES} pattern values held at once)")
    # Weight-based success is exact only when every student weight vector is
    # fixed by its unit's function. A dense committee of K >= 3 units reading
    # d = 1 input each is itself one majority unit, which other weight
    # configurations compute too (see tests/test_success_exact.py).
    need(
        not (p.architecture == "dense" and p.weights == "discrete" and p.task == "committee" and p.K >= 3 and p.d == 1),
        "d",
        ">= 3 for a dense discrete committee with K >= 3 (with d = 1 the teacher is a single majority unit and success by weights is not exact)",
    )

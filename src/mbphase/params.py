"""The parameters of one training run, their defaults and their validation.

Every option of the model specification (shared/MODEL.md) is a field of
:class:`RunParams`. Validation happens here, once, before any work: the
kernels trust what they are given.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping

ARCHITECTURES = ("sparse", "dense")
WEIGHTS = ("discrete", "continuous")
TOPOLOGIES = ("tree", "random")
TASKS = ("committee", "parity")
INPUTS = ("binary", "gaussian")
DATA_REGIMES = ("online", "finite")
REFRESH = ("sweep", "proposal")
ORDERS = ("random", "sequential")
LOSSES = ("mse", "logistic")
INITS = ("random", "teacher")


class ParamError(ValueError):
    """An invalid parameter: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str, where: str = ""):
        self.key, self.value, self.allowed, self.where = key, value, allowed, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid value for '{key}': {value!r}; allowed: {allowed}")


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
    # initial student weights: random (uniform over the allowed values, or
    # N(0, 1) for continuous students) or the teacher's (the equilibrium test
    # of the Metropolis baseline starts from both ends)
    init: str = "random"
    # greedy dynamics (discrete students)
    refresh: str = "sweep"
    order: str = "random"
    temperature: float = 0.0
    max_sweeps: int = 2000
    # SGD (continuous students)
    lr: float = 2.0
    loss: str = "mse"
    max_steps: int = 3000
    # SGD budget in samples per weight, alpha = steps * m / fan_in; when set
    # it replaces max_steps (steps = ceil(alpha * fan_in / m)) so that every
    # size and mini-batch size gets the same training per weight
    samples_per_weight: float | None = None
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
    def sgd_steps(self) -> int:
        """SGD step budget: ``max_steps``, or ``ceil(samples_per_weight *
        fan_in / m)`` when the budget is given in samples per weight."""
        if self.samples_per_weight is None:
            return self.max_steps
        return max(1, math.ceil(self.samples_per_weight * self.fan_in / self.m))

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
    "init": INITS,
}
_INTS = ("K", "d", "N", "train_size", "m", "max_sweeps", "max_steps", "eval_every", "n_test", "trajectory_points")
_FLOATS = ("temperature", "lr", "success_threshold", "samples_per_weight")
_NULLABLE = ("N", "train_size", "samples_per_weight")


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
            raise ParamError(key, value, "an integer", where)
        if key in _FLOATS and not (_is_number(value) and math.isfinite(value)) and not (key in _NULLABLE and value is None):
            raise ParamError(key, value, "a finite number", where)
        if key == "stop_at_success" and not isinstance(value, bool):
            raise ParamError(key, value, "true | false", where)
    params = RunParams(**{k: (float(v) if k in _FLOATS and v is not None else v) for k, v in values.items()})
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
    need(p.samples_per_weight is None or p.samples_per_weight > 0, "samples_per_weight", "a number > 0 (SGD samples per weight, alpha = steps * m / fan_in), or null to use max_steps")
    need(p.eval_every >= 1, "eval_every", "an integer >= 1")
    need(0 <= p.success_threshold < 1, "success_threshold", "a number in [0, 1)")
    need(p.n_test >= 1, "n_test", "an integer >= 1")
    need(p.trajectory_points >= 0, "trajectory_points", "an integer >= 0 (0 = no trajectory)")
    # Weight-based success is exact only when every student weight vector is
    # fixed by its unit's function. A dense committee of K >= 3 units reading
    # d = 1 input each is itself one majority unit, which other weight
    # configurations compute too (see tests/test_success_exact.py).
    need(
        not (p.architecture == "dense" and p.weights == "discrete" and p.task == "committee" and p.K >= 3 and p.d == 1),
        "d",
        ">= 3 for a dense discrete committee with K >= 3 (with d = 1 the teacher is a single majority unit and success by weights is not exact)",
    )

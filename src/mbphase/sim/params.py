"""The parameters of one training run, their defaults and their validation.

Every run option is a field of :class:`RunParams`, declared once with its
default, type, choices, bounds and doc (:func:`option`); its validation, the
config schema's options (:func:`option_schema`) and its run-table column
(:mod:`mbphase.sim.schema`) are derived from that declaration. Adding an
option is one line here (and its use in a kernel). Validation happens here,
once, before any work: the kernels trust what they are given.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import typing
from typing import Any, Mapping, NamedTuple

from .kernels import ARCHITECTURES, MODELS, WEIGHTS

MAX_INT64 = 2**63 - 1


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
class Option:
    """What one run option is, declared once on its :class:`RunParams` field;
    validation, the config schema's options and the run-table parameter
    columns with their docs are all derived from it.

    ``choices`` are the allowed values of a string option; ``minimum`` and
    ``maximum`` bound a number (``exclusive_*``: the bound itself is not
    allowed). ``unit`` and ``note`` complete the one-line ``doc`` in the
    column docs (``doc, unit (note)``); ``note`` also ends the error message
    of a value out of bounds.
    """

    doc: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    unit: str = ""
    note: str = ""

    def column_doc(self) -> str:
        """The documentation of the option's run-table column."""
        text = self.doc + (f", {self.unit}" if self.unit else "") + (f" ({self.note})" if self.note else "")
        return text + (f": {' | '.join(self.choices)}" if self.choices else "")


def option(default: Any, doc: str, **meta: Any) -> Any:
    """A :class:`RunParams` field with its :class:`Option` metadata."""
    return dataclasses.field(default=default, metadata={"option": Option(doc, **meta)})


@dataclasses.dataclass(frozen=True)
class RunParams:
    """One (model, task, size, m) point; the seed is not part of it.

    Sizes: ``N`` inputs, ``K`` hidden units, ``d`` inputs per teacher unit.
    ``N`` defaults to ``K*d`` (required for ``tree``). ``m`` is the mini-batch
    size in patterns. Times are in sweeps (discrete students: one sweep is as
    many proposals as the student has weights) or SGD steps (continuous).
    """

    # model
    architecture: str = option("sparse", "student architecture", choices=ARCHITECTURES)
    weights: str = option("discrete", "student weights", choices=WEIGHTS)
    topology: str = option("tree", "teacher wiring", choices=("tree", "random"))
    task: str = option("committee", "output rule", choices=("committee", "parity"))
    K: int = option(3, "hidden units", minimum=1, maximum=999)
    d: int = option(15, "inputs per teacher hidden unit", minimum=1, maximum=100_000)
    N: int | None = option(None, "inputs", minimum=1, maximum=1_000_000)
    inputs: str = option("binary", "input distribution", choices=("binary", "gaussian"))
    # data
    data: str = option("online", "data regime", choices=("online", "finite"))
    train_size: int | None = option(None, "training-set size P (finite regime; null when online)", minimum=1, maximum=10_000_000)
    m: int = option(64, "mini-batch size", minimum=1, maximum=10_000_000, unit="patterns")
    init: str = option(
        "random", "initial student weights", choices=("random", "teacher"),
        note="random: uniform over the allowed values, N(0, 1) for continuous students; teacher: the teacher's "
        "weights (the equilibrium test of the Metropolis baseline starts from both)",
    )
    # greedy dynamics (discrete students)
    refresh: str = option("sweep", "greedy mini-batch refresh", choices=("sweep", "proposal"))
    order: str = option("random", "greedy proposal order", choices=("random", "sequential"))
    temperature: float = option(0.0, "Metropolis temperature on the mini-batch energy", minimum=0, maximum=1e6, note="0 = greedy")
    max_sweeps: int = option(2000, "greedy sweep budget", minimum=1, maximum=100_000_000)
    # SGD (continuous students)
    lr: float = option(
        2.0, "SGD learning rate", minimum=0, exclusive_minimum=True, maximum=1e6,
        note="not rescaled with fan_in: the normalised field w.x / sqrt(fan_in) already makes one step move the overlap by O(lr / fan_in)",
    )
    loss: str = option("mse", "SGD loss", choices=("mse", "logistic"))
    max_steps: int = option(3000, "SGD step budget", minimum=1, maximum=1_000_000_000, note="ignored when samples_per_weight is set")
    samples_per_weight: float | None = option(
        None, "SGD budget in samples per weight, alpha = steps * m / fan_in", minimum=0, exclusive_minimum=True,
        maximum=1e7, note="null: max_steps is the budget; when set, a run makes ceil(alpha * fan_in / m) steps",
    )
    eval_every: int = option(100, "SGD steps between test-error evaluations", minimum=1, maximum=1_000_000_000)
    success_threshold: float = option(0.01, "continuous students: success iff test error <= this", minimum=0, maximum=1, exclusive_maximum=True)
    # observables
    n_test: int = option(10000, "test patterns for gen_error", minimum=1, maximum=100_000_000)
    trajectory_points: int = option(0, "log-spaced trajectory samples", minimum=0, maximum=10_000, note="0 = none")
    stop_at_success: bool = option(True, "whether a run stops at its first success")

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
        fan_in / m)`` when the budget is given in samples per weight (so that
        every size and m get the same training per weight)."""
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
OPTIONS: dict[str, Option] = {name: f.metadata["option"] for name, f in FIELDS.items()}
_HINTS = typing.get_type_hints(RunParams)
TYPES: dict[str, type] = {name: next(t for t in typing.get_args(_HINTS[name]) or (_HINTS[name],) if t is not type(None)) for name in FIELDS}
"""The value type of each option (str, int, float or bool)."""
NULLABLE = tuple(name for name in FIELDS if type(None) in typing.get_args(_HINTS[name]))
"""Options whose default None means 'derived from the others'."""

_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true | false"}


class Limit(NamedTuple):
    """Allowed range of a number: lo <= value <= hi, or strictly above lo
    with ``lo_open`` (lr > 0), or strictly below hi with ``hi_open``."""

    lo: float
    hi: float
    lo_open: bool = False
    hi_open: bool = False

    def contains(self, value) -> bool:
        above = value > self.lo if self.lo_open else value >= self.lo
        below = value < self.hi if self.hi_open else value <= self.hi
        return above and below

    def describe(self) -> str:
        def text(x):
            return str(x) if isinstance(x, int) else f"{x:g}"

        return f"{'>' if self.lo_open else '>='} {text(self.lo)} and {'<' if self.hi_open else '<='} {text(self.hi)}"


# The bounds of every number a config holds, checked when it is parsed (each
# message names the key, the value and the limit): the run options' bounds
# come from their declarations above; the sweep keys (experiment and
# top-level keys of mbphase.pipeline.config; for list keys, every item) are
# declared here. Why these values: integers are stored as int64; a run holds
# N x m and N x train_size pattern values at once (MAX_PATTERN_VALUES);
# budgets and trajectory samples bound a run's time and arrays; the job count
# of a whole sweep (MAX_JOBS) bounds the time Snakemake takes to build its DAG
# (about 5 s per 10,000 jobs). README "Limits" documents them.
SWEEP_LIMITS: dict[str, Limit] = {
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
LIMITS: dict[str, Limit] = {
    **{name: Limit(o.minimum, o.maximum, o.exclusive_minimum, o.exclusive_maximum) for name, o in OPTIONS.items() if TYPES[name] in (int, float)},
    **SWEEP_LIMITS,
}
# Pattern values (inputs x patterns) one run holds at once, as N x m and
# N x train_size: 10^8 float64 values are 800 MB per run computed at once.
MAX_PATTERN_VALUES = 100_000_000
# Training jobs of a whole sweep (all experiments, points and seed blocks).
MAX_JOBS = 50_000


def allowed(name: str) -> str:
    """What option ``name`` allows, in words ('an integer >= 1 and <= 999 (limit)', 'sparse | dense')."""
    o = OPTIONS[name]
    if o.choices:
        return " | ".join(o.choices)
    bounds = f" {LIMITS[name].describe()} (limit)" if name in LIMITS else ""
    return _TYPE_WORDS[TYPES[name]] + bounds + (f" ({o.note})" if o.note else "")


def check_option(name: str, value: Any, where: str = "") -> None:
    """Raise :class:`ParamError` unless ``value`` has option ``name``'s type,
    is one of its choices and lies within its bounds."""
    o, kind = OPTIONS[name], TYPES[name]
    if value is None and name in NULLABLE:
        return
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = _is_int(value)
    elif kind is float:
        ok = _is_number(value) and math.isfinite(value)
    else:
        ok = isinstance(value, str) and (not o.choices or value in o.choices)
    if not ok:
        if kind is int:
            integral_float = isinstance(value, float) and value.is_integer()
            raise ParamError(name, value, "an integer" + (" (written without a decimal point)" if integral_float else ""), where)
        raise ParamError(name, value, "a finite number" if kind is float else allowed(name), where)
    if kind in (int, float) and not LIMITS[name].contains(value):
        raise ParamError(name, value, allowed(name), where)


def option_schema() -> dict[str, dict]:
    """The JSON schema of every option (the config schema's options block)."""
    out = {}
    for name, o in OPTIONS.items():
        kind = TYPES[name]
        prop: dict[str, Any] = {"description": o.column_doc()}
        if o.choices:
            prop["enum"] = list(o.choices)
        else:
            prop["type"] = {str: "string", int: "integer", float: "number", bool: "boolean"}[kind]
            if name in NULLABLE:  # null: derived from the other options
                prop["type"] = [prop["type"], "null"]
        for bound, key in ((o.minimum, "minimum"), (o.maximum, "maximum")):
            if bound is not None:
                exclusive = o.exclusive_minimum if key == "minimum" else o.exclusive_maximum
                prop["exclusive" + key.capitalize() if exclusive else key] = bound
        out[name] = prop
    return out


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
        check_option(key, value, where)
    params = RunParams(**{k: (float(v) if TYPES[k] is float and v is not None else v) for k, v in values.items()})
    validate(params, where)
    return params


def validate(p: RunParams, where: str = "") -> None:
    """Check the cross-field constraints of the model specification."""

    def need(ok: bool, key: str, allowed: str) -> None:
        if not ok:
            raise ParamError(key, getattr(p, key) if key != "N" else p.n_inputs, allowed, where)

    for name in FIELDS:
        check_option(name, getattr(p, name), where)
    need((p.architecture, p.weights) in MODELS, "weights", f"{' | '.join(w for a, w in MODELS if a == p.architecture)} for architecture '{p.architecture}' (no kernel runs this model)")
    need(p.task != "committee" or p.K % 2 == 1, "K", "an odd integer for task 'committee' (the committee vote must not tie)")
    need(p.inputs != "binary" or p.d % 2 == 1, "d", "an odd integer with binary inputs (a teacher field must never be 0)")
    need(p.d <= p.n_inputs, "d", f"at most N = {p.n_inputs}")
    need(p.topology != "tree" or p.n_inputs == p.K * p.d, "N", f"K*d = {p.K * p.d} for topology 'tree' (non-overlapping fields)")
    need(p.sgd_steps <= LIMITS["max_steps"].hi, "samples_per_weight", f"at most {LIMITS['max_steps'].hi * p.m / p.fan_in:g} with m = {p.m} and fan_in = {p.fan_in} (limit: {LIMITS['max_steps'].hi} SGD steps)")
    need(p.n_inputs * p.m <= MAX_PATTERN_VALUES, "m", f"at most {MAX_PATTERN_VALUES // p.n_inputs} with N = {p.n_inputs} (limit: N x m <= {MAX_PATTERN_VALUES} pattern values held at once)")
    if p.data == "finite":
        need(p.train_size is not None, "train_size", "an integer >= 1 when data is 'finite'")
        need(p.train_size >= p.m, "train_size", f"at least the mini-batch size m = {p.m}")
        need(p.n_inputs * p.train_size <= MAX_PATTERN_VALUES, "train_size", f"at most {MAX_PATTERN_VALUES // p.n_inputs} with N = {p.n_inputs} (limit: N x train_size <= {MAX_PATTERN_VALUES} pattern values held at once)")
    # Weight-based success is exact only when every student weight vector is
    # fixed by its unit's function. A dense committee of K >= 3 units reading
    # d = 1 input each is itself one majority unit, which other weight
    # configurations compute too.
    need(
        not (p.architecture == "dense" and p.weights == "discrete" and p.task == "committee" and p.K >= 3 and p.d == 1),
        "d",
        ">= 3 for a dense discrete committee with K >= 3 (with d = 1 the teacher is a single majority unit and success by weights is not exact)",
    )


def options_markdown() -> str:
    """The table of every run option (name, default, allowed values, meaning)
    that docs/model.md shows, from the declarations above; a test checks that
    the document holds exactly this table."""
    rows = ["| option | default | allowed | meaning |", "|---|---|---|---|"]
    for name, field in FIELDS.items():
        o = OPTIONS[name]
        default = "null" if field.default is None else str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
        meaning = o.doc + (f", {o.unit}" if o.unit else "") + (f" ({o.note})" if o.note else "")
        if o.choices or TYPES[name] is bool:
            values = ", ".join(f"`{c}`" for c in (o.choices or ("true", "false")))
        else:
            values = allowed(name).split(" (")[0]  # the bounds, without '(limit)'
        rows.append(f"| `{name}` | {default} | {values} | {meaning} |")
    return "\n".join(rows) + "\n"

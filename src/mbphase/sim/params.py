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
from typing import Any, Mapping

from .kernels import ARCHITECTURES, MODELS, WEIGHTS

class ParamError(ValueError):
    """An invalid parameter: names the key, the value and what is allowed."""

    def __init__(self, key: str, value: Any, allowed: str, where: str = ""):
        self.key, self.value, self.allowed, self.where = key, value, allowed, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid value for '{key}': {value!r}; allowed: {allowed}")


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
    K: int = option(3, "hidden units", minimum=1)
    d: int = option(15, "inputs per teacher hidden unit", minimum=1)
    N: int | None = option(None, "inputs", minimum=1)
    inputs: str = option("binary", "input distribution", choices=("binary", "gaussian"))
    # data
    data: str = option("online", "data regime", choices=("online", "finite"))
    train_size: int | None = option(None, "training-set size P (finite regime; null when online)", minimum=1)
    m: int = option(64, "mini-batch size", minimum=1, unit="patterns")
    # greedy dynamics (discrete students)
    refresh: str = option("sweep", "greedy mini-batch refresh", choices=("sweep", "proposal"))
    order: str = option("random", "greedy proposal order", choices=("random", "sequential"))
    temperature: float = option(0.0, "Metropolis temperature on the mini-batch energy", minimum=0, note="0 = greedy")
    max_sweeps: int = option(2000, "greedy sweep budget", minimum=1)
    # SGD (continuous students)
    lr: float = option(2.0, "SGD learning rate", minimum=0, exclusive_minimum=True)
    loss: str = option("mse", "SGD loss", choices=("mse", "logistic"))
    max_steps: int = option(3000, "SGD step budget", minimum=1)
    eval_every: int = option(100, "SGD steps between test-error evaluations", minimum=1)
    success_threshold: float = option(0.01, "continuous students: success iff test error <= this", minimum=0, maximum=1, exclusive_maximum=True)
    # observables
    n_test: int = option(10000, "test patterns for gen_error", minimum=1)
    trajectory_points: int = option(0, "log-spaced trajectory samples", minimum=0, note="0 = none")
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


def _bounds(o: Option) -> str:
    lo = None if o.minimum is None else f"{'>' if o.exclusive_minimum else '>='} {o.minimum:g}"
    hi = None if o.maximum is None else f"{'<' if o.exclusive_maximum else '<='} {o.maximum:g}"
    if lo and hi:
        return f" in {'(' if o.exclusive_minimum else '['}{o.minimum:g}, {o.maximum:g}{')' if o.exclusive_maximum else ']'}"
    return f" {lo or hi}" if lo or hi else ""


def allowed(name: str) -> str:
    """What option ``name`` allows, in words ('an integer >= 1', 'sparse | dense')."""
    o = OPTIONS[name]
    if o.choices:
        return " | ".join(o.choices)
    return _TYPE_WORDS[TYPES[name]] + _bounds(o) + (f" ({o.note})" if o.note else "")


def _within_bounds(o: Option, v: float) -> bool:
    if o.minimum is not None and (v <= o.minimum if o.exclusive_minimum else v < o.minimum):
        return False
    return o.maximum is None or (v < o.maximum if o.exclusive_maximum else v <= o.maximum)


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
        raise ParamError(name, value, "a finite number" if kind is float else allowed(name) if kind is not int else "an integer", where)
    if kind in (int, float) and not _within_bounds(o, value):
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
    params = RunParams(**{k: (float(v) if TYPES[k] is float else v) for k, v in values.items()})
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
    if p.data == "finite":
        need(p.train_size is not None, "train_size", "an integer >= 1 when data is 'finite'")
        need(p.train_size >= p.m, "train_size", f"at least the mini-batch size m = {p.m}")
    # Weight-based success is exact only when every student weight vector is
    # fixed by its unit's function. A dense committee of K >= 3 units reading
    # d = 1 input each is itself one majority unit, which other weight
    # configurations compute too.
    need(
        not (p.architecture == "dense" and p.weights == "discrete" and p.task == "committee" and p.K >= 3 and p.d == 1),
        "d",
        ">= 3 for a dense discrete committee with K >= 3 (with d = 1 the teacher is a single majority unit and success by weights is not exact)",
    )

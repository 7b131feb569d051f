"""The greedy sweep budget of an experiment: a number, or a rule that scales
it with the size.

In a config ``max_sweeps`` is either an integer (every size gets that many
sweeps) or a mapping

    max_sweeps: {per_size: c, exponent: a}

meaning ``max_sweeps = round(c * size^a)`` at each size of the experiment
(size: the experiment's size key, d for sparse students, N for dense ones).
The rule is resolved here, once per point, into the integer every run
stores in its ``max_sweeps`` column; the analysis tables record the rule
itself in ``budget_rule`` (:func:`rule_text`).
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..sim.params import LIMITS, ParamError, show

RULE_KEYS = ("per_size", "exponent")
# The options that may be given as a size rule: the sweep budget, and the
# training-set size of finite data (P = alpha N is {per_size: alpha K,
# exponent: 1} with size d on a tree, or {per_size: alpha, exponent: 1}
# with size N).
RULE_OPTIONS = ("max_sweeps", "train_size")
ALLOWED = ("an integer (the same budget at every size), or a rule {per_size: c, exponent: a} "
           "meaning round(c * size^a) sweeps, with c > 0 and a >= 0")


def is_rule(value: Any) -> bool:
    """Whether a ``max_sweeps`` value is a size rule (a mapping)."""
    return isinstance(value, Mapping)


def check_rule(value: Any, sizes, where: str = "", key: str = "max_sweeps") -> None:
    """Raise :class:`ParamError` unless ``value`` is a valid rule at every
    size in ``sizes``: only the keys per_size and exponent, both numbers,
    per_size > 0, exponent >= 0, and round(c * size^a) within max_sweeps'
    limits (at least 1 sweep) at every size."""
    unknown = [k for k in value if k not in RULE_KEYS]
    if unknown:
        raise ParamError(f"{key}.{unknown[0]}", value[unknown[0]], f"the keys {' and '.join(RULE_KEYS)} only (unknown budget rule); {key} is {ALLOWED}", where)
    for part in RULE_KEYS:
        if part not in value:
            raise ParamError(key, dict(value), f"{ALLOWED} (the key '{part}' is missing)", where)
        number = value[part]
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
            raise ParamError(f"{key}.{part}", number, "a finite number", where)
    if value["per_size"] <= 0:
        raise ParamError(f"{key}.per_size", value["per_size"], "a number > 0 (the value at size 1)", where)
    if value["exponent"] < 0:
        raise ParamError(f"{key}.exponent", value["exponent"], "a number >= 0 (a budget must not shrink as the size grows)", where)
    limit = LIMITS[key]
    for size in sizes:
        try:
            sweeps = resolve(value, size)
        except OverflowError:
            sweeps = math.inf
        if not limit.contains(sweeps):
            raise ParamError(
                key, dict(value),
                f"a rule that gives between 1 and {limit.hi} at every size; at size {size} it gives "
                f"round({value['per_size']:g} * {size}^{value['exponent']:g}) = {show(sweeps)}", where,
            )


def resolve(value: Any, size: int) -> int:
    """The integer budget at ``size``: ``value`` itself, or round(c * size^a)
    for a rule (round half to even, Python's ``round``)."""
    if not is_rule(value):
        return value
    return int(round(float(value["per_size"]) * float(size) ** float(value["exponent"])))


def resolve_options(options: Mapping[str, Any], size: int) -> dict:
    """``options`` with every size rule (:data:`RULE_OPTIONS`) replaced by
    its integer at ``size`` (the run options of one point)."""
    out = dict(options)
    for key in RULE_OPTIONS:
        if is_rule(out.get(key)):
            out[key] = resolve(out[key], size)
    return out


def rule_text(value: Any, size_key: str) -> str:
    """How a table names the budget rule: 'fixed' for an integer (the number
    itself is in the budget column), 'c * d^a' for a rule."""
    if not is_rule(value):
        return "fixed"
    return f"{float(value['per_size']):g} * {size_key}^{float(value['exponent']):g}"

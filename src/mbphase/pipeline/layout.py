"""How the wildcards of the path templates of :mod:`mbphase.names` are
filled: the conventions that the Snakemake rules and the ``mbphase
aggregate`` command must agree on.

Kept free of heavy imports (no NumPy, no Numba): the workflow reads it while
it parses the config.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence


def format_temperature(temperature: float) -> str:
    """The temperature as it appears in a file name: short ('0', '1.5',
    '16') and lossless, so that ``float(format_temperature(t)) == t``.

    ``'g'`` formatting keeps six significant digits; a value that needs more
    falls back to ``repr``, which round-trips exactly.
    """
    t = float(temperature)
    short = format(t, "g")
    return short if float(short) == t else repr(t)


def format_m(m: int | Sequence[int]) -> str:
    """The mini-batch sizes of one training job as they appear in a file name
    and after ``mbphase run --m``: '16', or '16,23,32' for a job of several
    (in increasing order)."""
    if not hasattr(m, "__iter__"):  # one value (an int or a NumPy integer)
        return str(int(m))
    return ",".join(str(int(v)) for v in m)


def parse_m(text: str) -> tuple[int, ...]:
    """The inverse of :func:`format_m`: '16,23,32' -> (16, 23, 32). Raises
    ValueError on anything else (empty items, signs, repeats, or values out
    of increasing order)."""
    items = text.split(",")
    if not all(item.isdigit() for item in items):
        raise ValueError(f"{text!r} is not a comma-separated list of positive integers")
    values = tuple(int(item) for item in items)
    if any(b <= a for a, b in zip(values, values[1:])):
        raise ValueError(f"{text!r}: the values must increase (each m once)")
    return values


def format_temperatures(temperature: float | Sequence[float]) -> str:
    """The temperatures of one training job as they appear in a file name and
    after ``mbphase run --temperature``: '0', or '1,1.5,2' for a job of
    several (in increasing order), each as :func:`format_temperature`."""
    if not hasattr(temperature, "__iter__"):
        return format_temperature(temperature)
    return ",".join(format_temperature(t) for t in temperature)


def parse_temperatures(text: str) -> tuple[float, ...]:
    """The inverse of :func:`format_temperatures`: '1,1.5,2' -> (1.0, 1.5,
    2.0). Raises ValueError on an item that is not a number, or values out
    of increasing order (whether each is an allowed temperature is the run
    options' check)."""
    try:
        values = tuple(float(item) for item in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of numbers") from None
    if any(not b > a for a, b in zip(values, values[1:])):
        raise ValueError(f"{text!r}: the values must increase (each temperature once)")
    return values


def job_points(points: Iterable[Sequence], per_job: int, scans: bool = True) -> list[tuple]:
    """The points of every training job. ``points`` are (size, m,
    temperature, init) sequences (or :class:`mbphase.pipeline.config.Point`).

    - The points of one (size, temperature, init), an m grid, share jobs:
      in increasing m, ``per_job`` at a time (the last job of a grid may
      have fewer).
    - With ``scans``, the points left alone at their temperature (a
      temperature scan at one m, as the Metropolis baseline) share jobs
      with those of the same (size, m, init): in increasing temperature,
      ``per_job`` at a time. (Not when the runs sample trajectories: their
      rows carry m, not the temperature, and would mix in one file.)

    Jobs come in the order of their first point (with ``per_job`` 1, one
    per point in the order of ``points``). Consecutive values share
    a job, so a job's kernels are of one size and similar lengths; adding a
    value to a grid changes the jobs from its place on (they are rerun).
    """
    points = list(points)
    if per_job == 1:
        return [(p,) for p in points]
    grid_size = Counter((size, float(temperature), init) for size, _, temperature, init in map(_fields, points))
    groups: dict[tuple, list] = {}
    for point in points:
        size, m, temperature, init = _fields(point)
        if scans and grid_size[size, float(temperature), init] == 1:
            groups.setdefault(("scan", size, m, init), []).append(point)
        else:
            groups.setdefault(("grid", size, float(temperature), init), []).append(point)
    out = []
    for key, group in groups.items():
        group.sort(key=lambda p: float(_fields(p)[2 if key[0] == "scan" else 1]))
        out += [tuple(group[i : i + per_job]) for i in range(0, len(group), per_job)]
    return out


def job_fields(points: Sequence) -> tuple:
    """(size, m values, temperatures, init) of the points of one job: its
    m values and temperatures each once, in increasing order (one of the
    two lists has a single value)."""
    fields = [_fields(p) for p in points]
    ms = tuple(sorted({f[1] for f in fields}))
    temperatures = tuple(sorted({float(f[2]) for f in fields}))
    return fields[0][0], ms, temperatures, fields[0][3]


def job_wildcards(points: Sequence, first: int, stop: int) -> dict:
    """The fields of the path templates of :mod:`mbphase.names` but the
    experiment (``size``, ``m``, ``temperature``, ``init``, ``first``,
    ``stop``) for the training job of ``points`` and seeds first..stop-1."""
    size, ms, temperatures, init = job_fields(points)
    return dict(size=int(size), m=format_m(ms), temperature=format_temperatures(temperatures), init=init, first=int(first), stop=int(stop))


def _fields(point) -> tuple:
    """(size, m, temperature, init) of a Point or of such a sequence."""
    if hasattr(point, "size"):
        return point.size, point.m, point.temperature, point.init
    return tuple(point)


def fill_template(template: str, size: int, m: int | Sequence[int], temperature: float | Sequence[float], first: int, stop: int,
                  init: str = "random") -> str:
    """A run-file path from a template with the fields ``{size}``, ``{m}``
    and ``{temperature}`` (one value, or the values of a job of several:
    :func:`format_m`, :func:`format_temperatures`), ``{init}``, ``{first}``
    and ``{stop}`` (seeds first..stop-1)."""
    return template.format(size=int(size), m=format_m(m), temperature=format_temperatures(temperature), init=init, first=int(first), stop=int(stop))

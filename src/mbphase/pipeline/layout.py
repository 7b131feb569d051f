"""How the wildcards of the path templates of :mod:`mbphase.names` are
filled: the conventions that the Snakemake rules and the ``mbphase
aggregate`` command must agree on.

Kept free of heavy imports (no NumPy, no Numba): the workflow reads it while
it parses the config.
"""

from __future__ import annotations

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


def job_points(points: Iterable[Sequence], m_per_job: int) -> list[tuple]:
    """The points of every training job: the points of one (size,
    temperature, init), in increasing m, ``m_per_job`` at a time (the last
    job of a group may have fewer). Groups come in the order of their first
    point. ``points`` are (size, m, temperature, init) sequences (or
    :class:`mbphase.pipeline.config.Point`).

    Consecutive m values share a job, so a job's kernels are of one size and
    similar lengths; adding an m value to a grid changes the jobs from its
    place in the grid on (they are rerun).
    """
    groups: dict[tuple, list] = {}
    for point in points:
        size, m, temperature, init = _fields(point)
        groups.setdefault((size, float(temperature), init), []).append(point)
    out = []
    for group in groups.values():
        group.sort(key=lambda p: _fields(p)[1])
        out += [tuple(group[i : i + m_per_job]) for i in range(0, len(group), m_per_job)]
    return out


def _fields(point) -> tuple:
    """(size, m, temperature, init) of a Point or of such a sequence."""
    if hasattr(point, "size"):
        return point.size, point.m, point.temperature, point.init
    return tuple(point)


def fill_template(template: str, size: int, m: int | Sequence[int], temperature: float, first: int, stop: int, init: str = "random") -> str:
    """A run-file path from a template with the fields ``{size}``, ``{m}``
    (one value, or the values of a job of several: :func:`format_m`),
    ``{temperature}``, ``{init}``, ``{first}`` and ``{stop}`` (seeds
    first..stop-1)."""
    return template.format(size=int(size), m=format_m(m), temperature=format_temperature(temperature), init=init, first=int(first), stop=int(stop))

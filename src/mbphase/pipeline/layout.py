"""How the wildcards of the path templates of :mod:`mbphase.names` are
filled: the conventions that the Snakemake rules and the ``mbphase
aggregate`` command must agree on.

Kept free of heavy imports (no NumPy, no Numba): the workflow reads it while
it parses the config.
"""

from __future__ import annotations


def format_temperature(temperature: float) -> str:
    """The temperature as it appears in a file name: short ('0', '1.5',
    '16') and lossless, so that ``float(format_temperature(t)) == t``.

    ``'g'`` formatting keeps six significant digits; a value that needs more
    falls back to ``repr``, which round-trips exactly.
    """
    t = float(temperature)
    short = format(t, "g")
    return short if float(short) == t else repr(t)


def fill_template(template: str, size: int, m: int, temperature: float, first: int, stop: int, init: str = "random") -> str:
    """A run-file path from a template with the fields ``{size}``, ``{m}``,
    ``{temperature}``, ``{init}``, ``{first}`` and ``{stop}`` (seeds
    first..stop-1)."""
    return template.format(size=int(size), m=int(m), temperature=format_temperature(temperature), init=init, first=int(first), stop=int(stop))

"""``python -m mbphase ...`` is the ``mbphase`` command (the workflow calls
it this way, so that it runs with the interpreter Snakemake runs with)."""

from .cli import console

console()

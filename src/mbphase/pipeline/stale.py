"""Results computed with other parameters than the config says.

Every run row stores the parameters it was computed with. Snakemake reruns a
job whose parameters changed only while its metadata (``.snakemake/``) is
intact: after ``make clean``, or with run files copied from elsewhere,
changing ``max_sweeps`` would leave old results in place and the tables
would silently disagree with the config. These helpers compare what is
stored with what the config defines, point by point; aggregation refuses
stale run files with them, and the workflow refuses a stale runs table
before it decides what is up to date.

Kept light (no NumPy, no pandas): the workflow uses it while it builds the
job graph; pyarrow is imported only to read a table.
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..sim.params import FIELDS, make_params
from .budget import resolve_options

# The parameter columns of a run row (every RunParams field, N filled in).
PARAM_KEYS = tuple(FIELDS)


def expected_params(options: Mapping[str, Any], size_key: str, size: int, m: int, temperature: float, init: str = "random") -> dict:
    """The parameters a run of this point stores, from an experiment's
    options (:attr:`mbphase.pipeline.config.Experiment.options`)."""
    values = resolve_options(options, int(size))
    values[size_key] = int(size)
    values["m"] = int(m)
    values["temperature"] = float(temperature)
    values["init"] = init
    return make_params(values).as_dict()


def _plain(value):
    """A stored value as a comparable Python value (NaN and NA as None)."""
    if hasattr(value, "item"):
        value = value.item()
    if value is None or type(value).__name__ == "NAType" or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def differences(stored: Mapping[str, Iterable], expected: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(key, stored, configured) for every parameter whose stored values
    (an iterable per key, for instance a column) are not exactly the
    configured one."""
    out = []
    for key in PARAM_KEYS:
        if key not in stored:
            continue
        values = sorted({_plain(v) for v in stored[key]}, key=repr)
        want = _plain(expected[key])
        if values != [want]:
            out.append((key, values[0] if len(values) == 1 else values, want))
    return out


def describe(diffs: list[tuple[str, Any, Any]]) -> str:
    return "; ".join(f"'{key}' stored {stored!r}, configured {want!r}" for key, stored, want in diffs)


def forcerun_command(paths: Iterable) -> str:
    """The command that recomputes exactly these files (and what depends on
    them) with the current config."""
    return "snakemake --forcerun " + " ".join(shlex.quote(str(p)) for p in paths)


def table_problems(path: str | Path, experiment, base_seed: int) -> tuple[dict[tuple, list], list[str]]:
    """Compare an aggregated runs table with an experiment of the config.

    Parameters
    ----------
    path : path of the experiment's runs table (``mbphase aggregate`` output)
    experiment : :class:`mbphase.pipeline.config.Experiment`
    base_seed : the config's base seed

    Returns
    -------
    (stale, other) : dict, list of str
        ``stale`` maps a configured point ``(size, m, temperature, init)`` to the
        differences of its stored parameters (or base seed) from the config's:
        its run files must be recomputed. ``other`` lists disagreements of
        the table itself (points the config no longer has, another number of
        runs): re-aggregation fixes them.
    """
    import pyarrow.parquet as pq

    keys = ["size", "m", "temperature", "init"]
    columns = list(dict.fromkeys(keys + ["base_seed", "n_runs", *PARAM_KEYS]))
    table = pq.read_table(path, columns=columns)
    configured = {(p.size, p.m, p.temperature, p.init): p for p in experiment.points}
    stale: dict[tuple, list] = {}
    other: list[str] = []
    by_point: dict[tuple, dict[str, set]] = {}
    distinct = table.group_by(columns).aggregate([]).to_pylist()
    for row in distinct:
        point = (int(row["size"]), int(row["m"]), float(row["temperature"]), str(row["init"]))
        slot = by_point.setdefault(point, {k: set() for k in ("base_seed", "n_runs", *PARAM_KEYS)})
        for k in slot:
            slot[k].add(row[k])
    counts = {(int(r["size"]), int(r["m"]), float(r["temperature"]), str(r["init"])): r["seed_count"] for r in table.group_by(keys).aggregate([("base_seed", "count")]).rename_columns(keys + ["seed_count"]).to_pylist()}
    for point, stored in sorted(by_point.items()):
        if point not in configured:
            other.append(f"point (size {point[0]}, m {point[1]}, temperature {point[2]:g}, init {point[3]}) is no longer in the config")
            continue
        p = configured[point]
        diffs = differences(stored, expected_params(experiment.options, experiment.size_key, p.size, p.m, p.temperature, p.init))
        if stored["base_seed"] != {base_seed}:
            diffs.append(("base_seed", sorted(stored["base_seed"])[0] if len(stored["base_seed"]) == 1 else sorted(stored["base_seed"]), base_seed))
        if diffs:
            stale[point] = diffs
        elif counts[point] != experiment.seeds:
            other.append(f"point (size {point[0]}, m {point[1]}, temperature {point[2]:g}, init {point[3]}) has {counts[point]} runs, the config's seeds is {experiment.seeds}")
    return stale, other

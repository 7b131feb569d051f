"""The sweep configuration: loading, validation and the points it defines.

A config names experiments; each is one model and teacher swept over sizes,
a grid of mini-batch sizes and seeds (schema: ``config.schema.yaml`` beside
this file, the single source of truth, also used by the Snakemake workflow).
Validation runs in full before any work: the JSON schema first, translated
into messages that name the experiment, the key, the value and what is
allowed; then every point is built as :class:`RunParams`, so cross-field
rules (odd ``d``, ``tree`` with ``N = K*d``, ...) fail here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import jsonschema
import yaml

from .params import FIELDS, ParamError, RunParams, make_params, suggest

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")
EXPERIMENT_KEYS = ("description", "size_key", "sizes", "m", "m_per_size", "metropolis_temperatures", "seeds", "seeds_per_job", "mem_mb", "runtime")


class ConfigError(ValueError):
    """A bad configuration; the message says where, what and what is allowed."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps
    the last one, which would hide a duplicated experiment name)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConfigError(f"duplicate key '{key}' at line {key_node.start_mark.line + 1}: every key (and experiment name) must appear once")
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_yaml(path: str | Path) -> dict:
    """Parse a YAML config file, with clear errors for syntax and duplicates."""
    try:
        with open(path) as fh:
            data = yaml.load(fh, Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: YAML syntax error: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping with an 'experiments' key, got {type(data).__name__}")
    return data


def load_schema() -> dict:
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _where(path) -> str:
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "experiments":
        rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts[2:])
        return f"experiment '{parts[1]}'" + (f", key '{rest[1:]}'" if rest else "")
    return "key '" + ".".join(str(p) for p in parts) + "'" if parts else "config"


def _schema_message(err: jsonschema.ValidationError, schema: dict) -> str:
    """One validation error as 'where: value: what is allowed'."""
    where = _where(err.absolute_path)
    v = err.validator
    if v == "additionalProperties":
        known = err.schema.get("properties", {})
        unknown = sorted(set(err.instance) - set(known))
        key = unknown[0]
        return f"{where}: unknown key '{key}'{suggest(key, known)}; allowed keys: {', '.join(known)}"
    if v == "required":
        return f"{where}: missing required key: {err.message.split(' is a required')[0]}"
    if v == "enum":
        return f"{where}: invalid value {err.instance!r}; allowed: {' | '.join(map(str, err.validator_value))}"
    if v == "type":
        return f"{where}: invalid value {err.instance!r}; allowed: a value of type {err.validator_value}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return f"{where}: invalid value {err.instance!r}; allowed: a number {op} {err.validator_value}"
    if v in ("minItems", "minProperties"):
        return f"{where}: invalid value {err.instance!r}; allowed: at least {err.validator_value} entr{'y' if err.validator_value == 1 else 'ies'} (it must not be empty)"
    if v == "uniqueItems":
        return f"{where}: invalid value {err.instance!r}; allowed: a list without repeated values"
    return f"{where}: {err.message}"


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    """Set the schema's `default:` values for absent keys, recursively."""
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].split("/")[-1]]
    if not isinstance(instance, dict):
        return
    for key, sub in schema.get("properties", {}).items():
        if "default" in sub and key not in instance:
            instance[key] = sub["default"]
        if key in instance:
            _fill_defaults(instance[key], sub, root)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        for key, value in instance.items():
            if key not in schema.get("properties", {}):
                _fill_defaults(value, extra, root)


@dataclass(frozen=True)
class Point:
    """One (size, m, temperature, init) point of an experiment."""

    size: int
    m: int
    temperature: float
    init: str = "random"


@dataclass(frozen=True)
class Experiment:
    name: str
    options: dict  # run options shared by all points (without size, m, temperature)
    size_key: str
    points: tuple[Point, ...]
    seeds: int
    seeds_per_job: int
    mem_mb: int
    runtime: int

    def params(self, point: Point) -> RunParams:
        values = dict(self.options)
        values[self.size_key] = point.size
        values["m"] = point.m
        values["temperature"] = point.temperature
        values["init"] = point.init
        return make_params(values, where=f"experiment '{self.name}' (size {point.size}, m {point.m}, temperature {point.temperature:g}, init {point.init})")

    def seed_blocks(self) -> list[tuple[int, int]]:
        """[first, stop) seed ranges of the training jobs of one point."""
        return [(a, min(a + self.seeds_per_job, self.seeds)) for a in range(0, self.seeds, self.seeds_per_job)]


def _experiment(name: str, exp: dict, defaults: dict) -> Experiment:
    where = f"experiment '{name}'"
    options = {**defaults, **{k: v for k, v in exp.items() if k in FIELDS}}
    size_key = exp.get("size_key", "d" if options.get("architecture") == "sparse" else "N")
    if size_key in exp and size_key in FIELDS:
        raise ConfigError(f"{where}, key '{size_key}': value {exp[size_key]!r} is set by 'sizes' (size_key is '{size_key}'); remove it")
    if ("m" in exp) == ("m_per_size" in exp):
        raise ConfigError(f"{where}: keys 'm' and 'm_per_size': exactly one of them must be given (absolute mini-batch sizes, or multiples of the size)")
    temps = exp.get("metropolis_temperatures")
    if temps is not None and options.get("data", "online") != "finite":
        raise ConfigError(f"{where}, key 'metropolis_temperatures': value {temps!r}; allowed only with data: finite (the baseline is Metropolis on the full training set)")
    if temps is not None and "train_size" not in options:
        raise ConfigError(f"{where}, key 'train_size': missing; required with data: finite")
    options.pop("temperature", None)
    temperature = float(exp.get("temperature", defaults.get("temperature", 0.0)))
    init = options.pop("init", "random")
    points = []
    for size in exp["sizes"]:
        grid = exp["m"] if "m" in exp else sorted({max(1, round(c * size)) for c in exp["m_per_size"]})
        points += [Point(int(size), int(m), temperature, init) for m in grid]
        if temps:
            # every Metropolis point from both ends: random and teacher
            # weights; it is equilibrated if the two late energies agree
            points += [Point(int(size), int(options["train_size"]), float(t), start) for t in temps for start in ("random", "teacher")]
    result = Experiment(name, options, size_key, tuple(points), exp["seeds"], exp["seeds_per_job"], exp["mem_mb"], exp["runtime"])
    for point in result.points:  # cross-field rules, for every point, before any work
        try:
            result.params(point)
        except ParamError as exc:
            raise ConfigError(str(exc)) from None
    return result


def check_config(config: dict) -> dict[str, Experiment]:
    """Validate a parsed config (filling defaults in place); return its
    experiments by name. Raises :class:`ConfigError` on the first problem."""
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a mapping with an 'experiments' key, got {type(config).__name__}")
    schema = load_schema()
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        # The deepest error is the most specific (an unknown key inside an
        # experiment rather than "the experiment is invalid").
        raise ConfigError(_schema_message(max(errors, key=lambda e: len(e.absolute_path)), schema))
    _fill_defaults(config, schema, schema)
    defaults = config.get("defaults", {})
    return {name: _experiment(name, exp, defaults) for name, exp in config["experiments"].items()}


def load_config(path: str | Path) -> tuple[dict, dict[str, Experiment]]:
    """Read and validate a config file: (config with defaults, experiments)."""
    config = load_yaml(path)
    return config, check_config(config)


def iter_jobs(experiments: dict[str, Experiment]) -> Iterator[tuple[Experiment, Point, int, int]]:
    """Every training job: (experiment, point, first seed, stop seed)."""
    for exp in experiments.values():
        for point in exp.points:
            for first, stop in exp.seed_blocks():
                yield exp, point, first, stop

"""The sweep configuration: loading, validation and the points it defines.

A config names experiments; each is one model and teacher swept over sizes,
a grid of mini-batch sizes and seeds (schema: ``config.schema.yaml`` beside
this file, completed by the run options' declarations: :func:`load_schema`).
Validation runs in full before any work: the JSON schema first, translated
into messages that name the experiment, the key, the value and what is
allowed; then every point is built as :class:`RunParams`, so cross-field
rules (odd ``d``, ``tree`` with ``N = K*d``, ...) fail here too.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Iterator

import jsonschema
import yaml

from ..names import EXPERIMENT_NAME
from .layout import job_points
from . import budget
from ..sim.params import FIELDS, LIMITS as RUN_LIMITS, MAX_INT64, MAX_JOBS, Limit, ParamError, RunParams, make_params, option_schema, show, suggest

# The run options' and sweep keys' limits, and the workflow's own: points_per_job
# (here, not in sim/: a key that only groups jobs must not change the code
# version that the runs record and their jobs are rerun by).
LIMITS = {**RUN_LIMITS, "points_per_job": Limit(1, 1000)}

SCHEMA_PATH = Path(__file__).with_name("config.schema.yaml")


class ConfigError(ValueError):
    """A bad configuration; the message says where, what and what is allowed."""


# Limits checked before anything else looks at a config (the schema
# validator walks every value; an alias bomb of a few lines expands to
# billions): the file's size, the number of values with YAML aliases
# expanded, and the nesting depth.
MAX_CONFIG_BYTES = 1_000_000
MAX_CONFIG_VALUES = 20_000
MAX_CONFIG_DEPTH = 32
# Experiment names become directory and file names (most file systems allow 255 bytes).
MAX_NAME_LENGTH = 100
_MERGE_TAG = "tag:yaml.org,2002:merge"
_YAML_NAMES = {bool: "a boolean (YAML reads yes/no/on/off/true/false so)", type(None): "null (YAML reads null, ~ and an empty name so)", int: "an integer", float: "a number"}


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys (PyYAML silently keeps
    the last one, which would hide a duplicated experiment name). Merge keys
    (``<<: *common``) work as in SafeLoader: keys written in the mapping
    override merged ones, and only the written keys must be unique."""

    def construct_object(self, node, deep=False):
        # A tag the value does not fit (`!!int abc`, `!!bool maybe`) makes
        # PyYAML raise plain ValueError or KeyError: report it with its line.
        try:
            return super().construct_object(node, deep=deep)
        except ConfigError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {show(node.value)} as {node.tag} ({exc})", node.start_mark) from None

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:  # unhashable: SafeLoader refuses it below
                    continue
                if duplicate:
                    raise ConfigError(f"duplicate key '{key}' at line {key_node.start_mark.line + 1}: every key (and experiment name) must appear once")
        return super().construct_mapping(node, deep)


def _yaml_error(path, exc: yaml.YAMLError) -> ConfigError:
    """A YAML error as 'path: YAML syntax error: what, at line L, column C'
    (PyYAML's own text names the file a second time)."""
    mark = getattr(exc, "problem_mark", None)
    what = " ".join(x for x in (getattr(exc, "context", None), getattr(exc, "problem", None)) if x) or str(exc)
    where = f", at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return ConfigError(f"{path}: YAML syntax error: {what}{where}")


def load_yaml(path: str | Path) -> dict:
    """Parse a YAML config file, with clear errors for syntax, duplicates,
    and a file or an expansion beyond the limits (every message names the
    file once)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: the config file is larger than the limit of {MAX_CONFIG_BYTES} bytes")
    try:
        stream = io.StringIO(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    stream.name = str(path)
    try:
        data = yaml.load(stream, Loader=_StrictLoader)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    except RecursionError:
        raise ConfigError(f"{path}: nested deeper than the limit of {MAX_CONFIG_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping with an 'experiments' key, got {type(data).__name__}")
    try:
        check_structure(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return data


def _path_text(path) -> str:
    return _where(path) if path else "config"


def check_structure(config: Any) -> None:
    """Refuse, before the schema validator walks it, a config that is too
    large once YAML aliases are expanded, nested too deeply, recursive, or
    holds what no option accepts: a key that is not a string, a value that
    is not plain data (a date, binary, a set), a NaN or infinite number, an
    integer outside int64. Shared subtrees (aliases) are visited once, so
    this takes time proportional to the file, not to its expansion."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def visit(value, path: list, depth: int) -> int:
        if depth > MAX_CONFIG_DEPTH:
            raise ConfigError(f"{_path_text(path)}: nested deeper than the limit of {MAX_CONFIG_DEPTH} levels")
        if isinstance(value, bool) or value is None or isinstance(value, str):
            return 1
        if isinstance(value, int):
            if not -MAX_INT64 - 1 <= value <= MAX_INT64:
                raise ConfigError(f"{_path_text(path)}: invalid value {value}; allowed: an integer within the 64-bit range (limit: {MAX_INT64})")
            return 1
        if isinstance(value, float):
            if not math.isfinite(value):
                raise ConfigError(f"{_path_text(path)}: invalid value {value}; allowed: a finite number (not NaN or infinite)")
            return 1
        if not isinstance(value, (dict, list)):
            raise ConfigError(f"{_path_text(path)}: invalid value {show(value)} (YAML type {type(value).__name__}); allowed: a string, number, boolean, list or mapping")
        key = id(value)
        if key in active:
            raise ConfigError(f"{_path_text(path)}: a YAML alias refers to a mapping or list that contains it (a recursive config)")
        if key in sizes:
            return sizes[key]
        active.add(key)
        total, largest = 1, (0, None)
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    where = "experiments" if path == ["experiments"] else _path_text(path)
                    what = _YAML_NAMES.get(type(k), f"of type {type(k).__name__}")
                    quote = f" ('{k}')" if isinstance(k, (int, float)) and not isinstance(k, bool) else " (as written, in quotes)"
                    raise ConfigError(f"{where}: invalid name {show(k)}: it is {what}, and names and keys must be strings; quote it{quote}")
                n = visit(v, path + [k], depth + 1)
                total, largest = total + n, max(largest, (n, path + [k]), key=lambda t: t[0])
        else:
            for i, v in enumerate(value):
                n = visit(v, path + [i], depth + 1)
                total, largest = total + n, max(largest, (n, path + [i]), key=lambda t: t[0])
        active.discard(key)
        sizes[key] = total
        if total > MAX_CONFIG_VALUES:
            raise ConfigError(
                f"{_path_text(path)}: holds more than the limit of {MAX_CONFIG_VALUES} values once YAML aliases are expanded "
                f"({total}; the largest part, {_path_text(largest[1])}, holds {largest[0]})"
            )
        return total

    visit(config, [], 0)


@functools.lru_cache(maxsize=1)
def load_schema() -> dict:
    """The config's JSON schema (parsed once; callers must not modify it):
    the file, with the properties of every run option (declared once, on
    RunParams) in ``options`` and ``experiment``."""
    with open(SCHEMA_PATH) as fh:
        schema = yaml.safe_load(fh)
    options = option_schema()
    # max_sweeps is an integer or a size rule {per_size, exponent}: its
    # values are checked by mbphase.pipeline.budget (clearer messages than
    # the schema's for a mapping).
    for key in budget.RULE_OPTIONS:
        options[key] = {"description": options[key]["description"] + "; or a rule {per_size: c, exponent: a}: round(c * size^a)",
                        "type": ["integer", "object", "string", "number", "null"]}
    schema["definitions"]["options"]["properties"] = options
    schema["definitions"]["experiment"]["properties"] = {**options, **schema["definitions"]["experiment"]["properties"]}
    return schema


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema())


def _where(path) -> str:
    def dotted(parts):
        text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts)
        return text[1:] if text.startswith(".") else text

    parts = list(path)
    if len(parts) >= 2 and parts[0] == "experiments" and isinstance(parts[1], str):
        rest = dotted(parts[2:])
        return f"experiment '{parts[1]}'" + (f", key '{rest}'" if rest else "")
    return f"key '{dotted(parts)}'" if parts else "config"


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
        return f"{where}: invalid value {show(err.instance)}; allowed: {' | '.join(map(str, err.validator_value))}"
    if v == "type":
        return f"{where}: invalid value {show(err.instance)}; allowed: a value of type {err.validator_value}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        # above a maximum: say it is the limit of that key (README "Limits")
        key = next((p for p in reversed(list(err.absolute_path)) if isinstance(p, str)), None)
        if key in LIMITS and v in ("maximum", "exclusiveMaximum"):
            kind = "an integer" if isinstance(err.instance, int) else "a number"
            return f"{where}: invalid value {show(err.instance)}; allowed: {kind} {LIMITS[key].describe()} (limit)"
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}[v]
        return f"{where}: invalid value {show(err.instance)}; allowed: a number {op} {err.validator_value}"
    if v == "maxItems":
        return f"{where}: invalid value {show(err.instance)}; allowed: at most {err.validator_value} entries"
    if v in ("minItems", "minProperties"):
        return f"{where}: invalid value {show(err.instance)}; allowed: at least {err.validator_value} entr{'y' if err.validator_value == 1 else 'ies'} (it must not be empty)"
    if v == "uniqueItems":
        return f"{where}: invalid value {show(err.instance)}; allowed: a list without repeated values"
    return f"{where}: {show(err.instance)}: {err.validator} {show(err.validator_value)}"


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
class AdaptiveGrid:
    """An experiment's adaptive m grid: its settings
    (:class:`mbphase.pipeline.adaptive.Settings`), sizes, and the
    temperature and initial state of its points."""

    settings: Any
    sizes: tuple[int, ...]
    temperature: float
    init: str

    def point(self, size: int, m: int) -> Point:
        return Point(int(size), int(m), self.temperature, self.init)


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
    # the adaptive m grid, None for a fixed grid; an adaptive experiment has
    # no points here: the workflow places them round by round
    adaptive: "AdaptiveGrid | None" = None
    # points per training job: consecutive m values of a grid, or
    # temperatures of a Metropolis scan (layout.job_points), or new m values
    # of one round of an adaptive grid
    points_per_job: int = 1
    # an adaptive experiment's points round by round (the m values each
    # round of each size added), once the workflow has placed them: with_rounds
    rounds: tuple[tuple[Point, ...], ...] = ()

    @property
    def first_point(self) -> Point:
        """A point standing for the experiment's model, task and options:
        its first point, or for an adaptive grid (no points before its
        rounds) the first size at m = 1."""
        if self.adaptive is None:
            return self.points[0]
        return self.adaptive.point(self.adaptive.sizes[0], 1)

    @property
    def budget_rule(self) -> str:
        """The greedy budget's rule as the analysis tables record it
        ('fixed', or 'c * d^a')."""
        return budget.rule_text(self.options.get("max_sweeps"), self.size_key)

    def params(self, point: Point) -> RunParams:
        values = budget.resolve_options(self.options, point.size)
        values[self.size_key] = point.size
        values["m"] = point.m
        values["temperature"] = point.temperature
        values["init"] = point.init
        return make_params(values, where=f"experiment '{self.name}' (size {point.size}, m {point.m}, temperature {point.temperature:g}, init {point.init})")

    def seed_blocks(self) -> list[tuple[int, int]]:
        """[first, stop) seed ranges of the training jobs of one point."""
        return [(a, min(a + self.seeds_per_job, self.seeds)) for a in range(0, self.seeds, self.seeds_per_job)]

    @property
    def scans_share_jobs(self) -> bool:
        """Whether the points of a temperature scan (the Metropolis
        baseline) share jobs: not when the runs sample trajectories, whose
        rows do not say their temperature."""
        return not self.options.get("trajectory_points")

    def job_points(self) -> list[tuple[Point, ...]]:
        """The points of each training job (of each seed block): up to
        ``points_per_job`` consecutive m values of one (size, temperature,
        init), or temperatures of a scan at one (size, m, init)
        (:func:`mbphase.pipeline.layout.job_points`); of an adaptive grid,
        up to ``points_per_job`` of the m values one round adds to a size."""
        if self.adaptive is not None:
            k = self.points_per_job
            return [tuple(r[i : i + k]) for r in self.rounds for i in range(0, len(r), k)]
        return job_points(self.points, self.points_per_job, self.scans_share_jobs)

    def with_rounds(self, rounds: Iterable[Iterable[Point]]) -> "Experiment":
        """This adaptive experiment with the points its rounds placed: one
        sequence of points (of one size) per round."""
        rounds = tuple(tuple(sorted(r, key=lambda p: p.m)) for r in rounds)
        return replace(self, points=tuple(p for r in rounds for p in r), rounds=rounds)

    def job_of(self, point: Point) -> tuple[Point, ...]:
        """The points of the training jobs that run ``point``."""
        for points in self.job_points():
            if point in points:
                return points
        raise KeyError(point)


def _experiment(name: str, exp: dict, defaults: dict) -> Experiment:
    where = f"experiment '{name}'"
    options = {**defaults, **{k: v for k, v in exp.items() if k in FIELDS}}
    size_key = exp.get("size_key", "d" if options.get("architecture") == "sparse" else "N")
    if size_key in exp and size_key in FIELDS:
        raise ConfigError(f"{where}, key '{size_key}': value {show(exp[size_key])} is set by 'sizes' (size_key is '{size_key}'); remove it")
    if sum(key in exp for key in ("m", "m_per_size", "adaptive")) != 1:
        raise ConfigError(f"{where}: keys 'm', 'm_per_size' and 'adaptive': exactly one of them must be given (absolute mini-batch sizes, multiples of the size, or an adaptive grid)")
    if "adaptive" in exp:
        return _adaptive_experiment(name, exp, defaults, options, size_key)
    temps = exp.get("metropolis_temperatures")
    if temps is not None and options.get("data", "online") != "finite":
        raise ConfigError(f"{where}, key 'metropolis_temperatures': value {show(temps)}; allowed only with data: finite (the baseline is Metropolis on the full training set)")
    if temps is not None and options.get("train_size") is None:
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
            points += [Point(int(size), int(budget.resolve(options["train_size"], size)), float(t), start) for t in temps for start in ("random", "teacher")]
    seen = set()
    for point in points:
        if point in seen:  # two points, one run file: only the Metropolis baseline can collide with the grid
            raise ConfigError(
                f"{where}, keys 'temperature', 'metropolis_temperatures' and 'train_size': the point (size {point.size}, m {point.m}, temperature {point.temperature:g}) "
                f"from the {point.init} start is both a grid point (train_size {point.m} is in the m grid, at the experiment's temperature {temperature:g}) and a Metropolis baseline point; "
                f"allowed: a train_size outside the m grid, or metropolis_temperatures without {temperature:g}"
            )
        seen.add(point)
    for key in budget.RULE_OPTIONS:
        value = options.get(key)
        if budget.is_rule(value):
            try:
                budget.check_rule(value, exp["sizes"], where, key)
            except ParamError as exc:
                raise ConfigError(str(exc)) from None
        elif value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ConfigError(str(ParamError(key, value, budget.ALLOWED.replace(" sweeps", ""), where)))
    result = Experiment(name, options, size_key, tuple(points), exp["seeds"], exp["seeds_per_job"], exp["mem_mb"], exp["runtime"], points_per_job=exp["points_per_job"])
    for point in result.points:  # cross-field rules, for every point, before any work
        try:
            result.params(point)
        except ParamError as exc:
            raise ConfigError(str(exc)) from None
    return result


# Sweep keys holding integers (for lists: every item); the others hold numbers.
_SWEEP_INTS = ("base_seed", "threads", "seeds", "seeds_per_job", "points_per_job", "mem_mb", "runtime", "sizes", "m")


def _check_sweep_value(where: str, key: str, value: Any) -> None:
    """Integral type and LIMITS of one sweep key (run options are checked by
    make_params)."""
    for i, item in enumerate(value if isinstance(value, list) else [value]):
        label = f"{key}[{i}]" if isinstance(value, list) else key
        if key in _SWEEP_INTS and not (isinstance(item, int) and not isinstance(item, bool)):
            raise ConfigError(f"{where}key '{label}': invalid value {show(item)}; allowed: an integer (written without a decimal point)")
        if key in LIMITS and not LIMITS[key].contains(item):
            kind = "an integer" if key in _SWEEP_INTS else "a number"
            raise ConfigError(f"{where}key '{label}': invalid value {show(item)}; allowed: {kind} {LIMITS[key].describe()} (limit)")


def _check_sweep_keys(config: dict) -> None:
    for key in ("base_seed", "threads"):
        if key in config:
            _check_sweep_value("", key, config[key])
    for name, exp in config["experiments"].items():
        if not EXPERIMENT_NAME.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise ConfigError(
                f"experiment '{show(name, 60)[1:-1]}': invalid name; allowed: letters, digits, '_' and '-', starting with a letter or digit, "
                f"at most {MAX_NAME_LENGTH} characters (the name becomes a directory name)"
            )
        for key in ("seeds", "seeds_per_job", "points_per_job", "mem_mb", "runtime", "sizes", "m", "m_per_size", "metropolis_temperatures"):
            if key in exp:
                _check_sweep_value(f"experiment '{name}', ", key, exp[key])


def _count_jobs(name: str, exp: dict) -> int:
    """Training jobs of one experiment, counted before any point is built
    (an m_per_size grid may merge values after rounding: this is the upper
    bound)."""
    grid = len(exp.get("m") or exp.get("m_per_size") or [])
    if "adaptive" in exp:
        from .adaptive import Settings

        grid = Settings.from_dict(exp["adaptive"]).max_points()
    per_job = exp.get("points_per_job", 1) if "adaptive" not in exp else 1  # (an adaptive grid's jobs: per round)
    scan = len(exp.get("metropolis_temperatures") or [])  # from two starts
    return len(exp["sizes"]) * (-(-grid // per_job) + 2 * scan) * -(-exp["seeds"] // exp["seeds_per_job"])


def check_config(config: dict) -> dict[str, Experiment]:
    """Validate a parsed config (filling defaults in place); return its
    experiments by name. Raises :class:`ConfigError` on the first problem."""
    if not isinstance(config, dict):
        raise ConfigError(f"the config must be a mapping with an 'experiments' key, got {type(config).__name__}")
    check_structure(config)
    schema = load_schema()
    errors = sorted(_validator().iter_errors(config), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        # The deepest error is the most specific (an unknown key inside an
        # experiment rather than "the experiment is invalid").
        raise ConfigError(_schema_message(max(errors, key=lambda e: len(e.absolute_path)), schema))
    _fill_defaults(config, schema, schema)
    _check_sweep_keys(config)
    jobs = {name: _count_jobs(name, exp) for name, exp in config["experiments"].items()}
    if sum(jobs.values()) > MAX_JOBS:
        listing = ", ".join(f"'{name}': {n}" for name, n in sorted(jobs.items(), key=lambda kv: -kv[1])[:5])
        raise ConfigError(
            f"key 'experiments': the sweep has {sum(jobs.values())} training jobs (sizes x m values / points_per_job x seeds / seeds_per_job; {listing}); "
            f"allowed: at most {MAX_JOBS} (limit); raise seeds_per_job (or points_per_job), or split the sweep into configs run one after the other"
        )
    _check_figures(config)
    defaults = config.get("defaults", {})
    return {name: _experiment(name, exp, defaults) for name, exp in config["experiments"].items()}


def load_config(path: str | Path) -> tuple[dict, dict[str, Experiment]]:
    """Read and validate a config file: (config with defaults, experiments)."""
    config = load_yaml(path)
    return config, check_config(config)


def iter_jobs(experiments: dict[str, Experiment]) -> Iterator[tuple[Experiment, tuple[Point, ...], int, int]]:
    """Every training job: (experiment, its points, first seed, stop seed);
    the points are one, or with ``points_per_job`` > 1 several of one size
    (:meth:`Experiment.job_points`)."""
    for exp in experiments.values():
        for points in exp.job_points():
            for first, stop in exp.seed_blocks():
                yield exp, points, first, stop


def _check_figures(config: dict) -> None:
    """The figures section names figures and experiments that exist."""
    from mbphase.names import FIGURES

    include = config.get("figures", {}).get("include", {})
    for figure, names in include.items():
        if figure not in FIGURES:
            raise ConfigError(f"key 'figures.include': unknown figure '{figure}'{suggest(figure, FIGURES)}; allowed: {', '.join(FIGURES)}")
        for name in names:
            if name not in config["experiments"]:
                raise ConfigError(f"key 'figures.include.{figure}': unknown experiment '{name}'{suggest(name, config['experiments'])}; "
                                  f"allowed: {', '.join(config['experiments'])}")


def _adaptive_experiment(name: str, exp: dict, defaults: dict, options: dict, size_key: str) -> Experiment:
    """An experiment with an ``adaptive`` block: no points (the workflow
    places them); its settings are checked here, and every size's start
    bracket is built as run parameters, so that a bracket no point may use
    fails before any work."""
    from .adaptive import Settings, configured_bracket

    where = f"experiment '{name}', key 'adaptive"
    block = exp["adaptive"]
    if ("bracket" in block) == ("bracket_per_size" in block):
        raise ConfigError(f"{where}': keys 'bracket' and 'bracket_per_size': exactly one of them must be given (the start bracket [low, high], absolute or as multiples of the size)")
    for key in ("bracket", "bracket_per_size", "predict_exponents"):
        if key not in block:
            continue
        lo, hi = block[key]
        if key == "bracket":
            for i, item in enumerate(block[key]):
                if not (isinstance(item, int) and not isinstance(item, bool)):
                    raise ConfigError(f"{where}.{key}[{i}]': invalid value {show(item)}; allowed: an integer (written without a decimal point)")
        if not lo < hi:
            raise ConfigError(f"{where}.{key}': invalid value {show(block[key])}; allowed: [low, high] with low < high")
    if "metropolis_temperatures" in exp:
        raise ConfigError(f"experiment '{name}', key 'metropolis_temperatures': not allowed with an adaptive grid (the Metropolis baseline needs fixed points); use 'm'")
    settings = Settings.from_dict(block)
    options.pop("temperature", None)
    temperature = float(exp.get("temperature", defaults.get("temperature", 0.0)))
    init = options.pop("init", "random")
    grid = AdaptiveGrid(settings, tuple(int(v) for v in exp["sizes"]), temperature, init)
    result = Experiment(name, options, size_key, (), exp["seeds"], exp["seeds_per_job"], exp["mem_mb"], exp["runtime"], grid, exp["points_per_job"])
    for size in exp["sizes"]:
        for m in configured_bracket(settings, int(size)):
            try:
                result.params(grid.point(size, m))
            except ParamError as exc:
                raise ConfigError(f"{exc} (an end of the start bracket, key 'adaptive')") from None
    return result


"""Overrides of single config values from the command line, nested keys
included: ``key.path=value`` with a YAML-typed value.

    snakemake --cores 2 --config set=experiments.sd_tree.max_sweeps=100
    snakemake --cores 2 --config 'set=[experiments.sd_tree.seeds=8, base_seed=3]'
    mbphase status --config config.yaml --set experiments.sd_tree.m=[4,8,16]

Snakemake's own ``--config key=value`` accepts top-level keys only (a dot is
not allowed in its key), and a mapping given as a value, ``--config
'experiments={sd_tree: {max_sweeps: 100}}'``, arrives with every nested value
a string ('100'), which the schema then refuses. So the workflow reads one
top-level key, ``set``, holding one ``key.path=value`` or a list of them,
and applies each to the config before it is validated; it also gives the
nested values of Snakemake's ``--config`` mappings their YAML types
(:func:`typed`), so both spellings work.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

import yaml

from .config import ConfigError

SET_KEY = "set"
_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def typed(value: Any) -> Any:
    """A value parsed by Snakemake's ``--config`` (YAML's BaseLoader: every
    scalar inside a mapping or list is a string) with each nested string
    read again as YAML, as in a config file: '100' -> 100, 'true' -> True.
    Top-level scalars are returned as they are (Snakemake types those)."""

    def retype(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: retype(x) for k, x in v.items()}
        if isinstance(v, list):
            return [retype(x) for x in v]
        if isinstance(v, str):
            try:
                return yaml.safe_load(v) if v.strip() else v
            except yaml.YAMLError:
                return v
        return v

    return retype(value) if isinstance(value, (dict, list)) else value


def parse_setting(text: str) -> tuple[list[str], Any]:
    """'experiments.sd.max_sweeps=100' -> (['experiments', 'sd', 'max_sweeps'], 100)."""
    if not isinstance(text, str) or "=" not in text:
        raise ConfigError(f"set {text!r}: expected key.path=value (for instance experiments.sd_tree.max_sweeps=100)")
    path, _, raw = text.partition("=")
    keys = path.strip().split(".")
    if not all(keys):
        raise ConfigError(f"set {text!r}: the key path {path.strip()!r} has an empty part; expected names joined by dots, such as experiments.sd_tree.max_sweeps")
    bad = [k for k in keys if not _KEY.fullmatch(k)]
    if bad:
        hint = ""
        if text.lstrip().startswith("["):
            hint = "; a list of settings whose values hold brackets needs those settings quoted: set='[\"a.b=[5]\", c=1]'"
        raise ConfigError(f"set {text!r}: {bad[0]!r} is not a key name (letters, digits, '_' and '-'){hint}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0]
        raise ConfigError(f"set {text!r}: the value {raw!r} is not valid YAML ({problem}); quote it, e.g. {path}='\"{raw}\"'") from None
    return keys, value


def apply_settings(config: dict, settings: Iterable[str] | str | None) -> dict:
    """Set each ``key.path=value`` in ``config`` (in place, in order;
    missing mappings on the path are created) and return it. The result is
    validated afterwards like any config (mbphase.pipeline.config.check_config)."""
    if settings is None:
        return config
    for text in [settings] if isinstance(settings, str) else list(settings):
        keys, value = parse_setting(text)
        node = config
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise ConfigError(f"set {text!r}: {where} is {type(child).__name__} {child!r}, not a mapping; set it whole instead ({where}=...)")
            node = child
        node[keys[-1]] = value
    return config


def typed_overrides(overrides: dict) -> dict:
    """Snakemake's parsed ``--config`` entries with :func:`typed` nested
    values (the ``set`` entry left as it is, for :func:`apply_settings`)."""
    return {key: value if key == SET_KEY else typed(value) for key, value in overrides.items()}

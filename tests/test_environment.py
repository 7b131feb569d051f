"""The pinned environment: requirements.lock pins every dependency that
pyproject.toml declares for the runtime, the workflow and the tests, at a
version its range allows, with nothing that only one machine has (paths,
URLs, local version labels); envs/mbphase.yaml installs from the same lock."""

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.!]*)", line)
        assert match, f"requirements.lock: {line!r} is not an exact pin 'name==version' from an index"
        pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def test_the_lock_pins_every_declared_dependency_within_its_range():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    declared = [Requirement(text) for text in [*project["dependencies"], *extras["workflow"], *extras["test"]]]
    pins = lock_pins()
    assert "mbphase" not in pins
    for req in declared:
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but not pinned in requirements.lock"
        assert req.specifier.contains(pins[name], prereleases=True), f"{req.name}=={pins[name]} is outside {req.specifier}"


def test_the_conda_environment_installs_the_lock_and_the_checkout():
    env = yaml.safe_load((REPO / "envs" / "mbphase.yaml").read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip == ["-r ../../requirements.lock", "-e ../.."]

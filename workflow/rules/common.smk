# Config validation, the list of jobs, paths and helpers shared by the rules.

import copy
import functools
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version, update_config

min_version("9.0")

try:
    import mbphase
    from mbphase.pipeline.config import (
        ConfigError,
        check_config,
        iter_jobs,
        load_yaml,
    )
    from mbphase import names
    from mbphase.names import (
        ANALYSIS_TABLE,
        COMPILE_FLAG,
        FIGURE,
        FIGURES,
        RUN_FILE,
        RUNS_TABLE,
        TABLES,
        TRAJECTORIES_TABLE,
        TRAJECTORY_FILE,
    )
    from mbphase.pipeline.layout import format_temperature
    from mbphase.sim.kernels import MODELS, kernel_modules
except ImportError as exc:
    raise WorkflowError(
        f"mbphase: the mbphase package cannot be imported ({exc}); install it into "
        "the environment that runs Snakemake: pip install -e '.[workflow]'"
    )


report: "../report/workflow.rst"


wildcard_constraints:
    **names.WILDCARD_CONSTRAINTS,


# A config file given on the command line (a preset) is a complete sweep: it
# replaces config.yaml instead of being merged into it, which would add the
# laptop sweep's experiments to every preset. --config key=value still
# overrides single values.
if workflow.overwrite_configfiles:
    config.clear()
    update_config(config, copy.deepcopy(workflow.config_settings.overwrite_config))
    _files = ", ".join(map(str, workflow.overwrite_configfiles))
    logger.info(f"mbphase: the sweep is {_files} (it replaces config.yaml)")

# check_config validates the config against the schema (and fills in its
# defaults) with messages that name the experiment, the key, the value and
# what is allowed; it is the schema of load_schema, completed by the run
# options' declarations, which Snakemake's validate (a file only) cannot
# read. Snakemake's YAML loading keeps the last of two equal
# keys, which would hide a duplicated experiment name: the files are read
# again, strictly.
try:
    for _path in workflow.overwrite_configfiles or workflow.configfiles:
        try:
            load_yaml(_path)
        except ConfigError as exc:
            raise ConfigError(f"{_path}: {exc}") from None
    EXPERIMENTS = check_config(config)
except ConfigError as exc:
    raise WorkflowError(f"mbphase: invalid config: {exc}")
for _name in EXPERIMENTS:
    if not names.EXPERIMENT_NAME.fullmatch(_name):
        raise WorkflowError(
            f"mbphase: invalid config: experiment '{_name}': invalid name; allowed: "
            "letters, digits, '_' and '-', starting with a letter or digit "
            "(the name becomes a directory name)"
        )


# ------------------------------------------------------------------ commands

# Every shell command runs `mbphase` with the interpreter that runs Snakemake
# (so no environment needs activating), or with the rule's conda environment
# under --sdm conda; and with Numba's cache inside the project (mbphase keys
# it by code version below this directory; relative, as jobs run in the
# working directory). A shell function keeps the commands as they would be
# typed, and keeps both settings out of the rules' code and params, where a
# change of interpreter path would rerun every job.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    _MBPHASE = "python -m mbphase"
else:
    _MBPHASE = f"{shlex.quote(sys.executable)} -m mbphase"
# (Snakemake formats the prefix: braces are doubled.)
_MBPHASE = _MBPHASE.replace("{", "{{").replace("}", "}}")
shell.prefix(
    "set -euo pipefail; export NUMBA_CACHE_DIR=.numba_cache; "
    f'mbphase() {{{{ {_MBPHASE} "$@"; }}}}; '
)


# ------------------------------------------------------------------ sources

# The package's source files are inputs of the rules that run them, so that
# editing the code reruns exactly the jobs it can affect. The folders are the
# layers: a run's rows depend on sim/ only (its hash is mbphase.CODE_VERSION,
# which also keys Numba's cache); the pipeline/, analysis/ and plots/ steps
# on their own folder, the layers below it and the top-level modules (the
# command line and the names).
PACKAGE_DIR = Path(mbphase.__file__).resolve().parent


def _relative(path):
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def sources(*folders):
    """The source files of some package folders ('' for the top-level modules)."""
    found = set()
    for folder in folders:
        found.update(
            PACKAGE_DIR.joinpath(folder).glob("*.py" if folder == "" else "**/*.py")
        )
    return sorted(_relative(p) for p in found)


COMPILE_SOURCES = sources("sim", "pipeline")
AGGREGATE_SOURCES = sources("", "sim", "pipeline")
ANALYSIS_SOURCES = sources("", "sim", "pipeline", "analysis")
PLOT_SOURCES = sources("", "analysis", "plots")
KERNEL_MODULES = kernel_modules(MODELS)


@functools.cache
def train_sources(experiment):
    """The simulation sources, what a run's rows depend on, without the
    kernels that the experiment's model never runs (the kernel registry)."""
    exp = EXPERIMENTS[experiment]
    p = exp.params(exp.points[0])
    unused = KERNEL_MODULES - kernel_modules({(p.architecture, p.weights)})
    return [f for f in sources("sim") if Path(f).stem not in unused]


# ------------------------------------------------------------------ paths

# The path templates, tables and figures are those of mbphase.names.


def run_wildcards(exp, point, first, stop):
    return dict(
        experiment=exp.name,
        size=point.size,
        m=point.m,
        temperature=format_temperature(point.temperature),
        first=first,
        stop=stop,
    )


def train_outputs(template, experiment=None):
    """Every training output of one experiment (or of all), from iter_jobs."""
    return [
        template.format(**run_wildcards(exp, point, first, stop))
        for exp, point, first, stop in iter_jobs(EXPERIMENTS)
        if experiment is None or exp.name == experiment
    ]


def all_targets():
    # The run files are targets too: Snakemake does not recompute a missing
    # intermediate file whose consumers are up to date, and a deleted run
    # file must be recomputed (and the tables after it).
    return (
        train_outputs(RUN_FILE)
        + train_outputs(TRAJECTORY_FILE)
        + expand(RUNS_TABLE, experiment=EXPERIMENTS)
        + expand(TRAJECTORIES_TABLE, experiment=EXPERIMENTS)
        + expand(ANALYSIS_TABLE, experiment=EXPERIMENTS, table=TABLES)
        + expand(FIGURE, figure=FIGURES, fmt=names.FIGURE_FORMATS)
    )


def figure_outputs():
    """The plot rule's outputs: every figure in every format, declared for
    the report with its caption and category, named <figure>_<format>."""
    return {
        f"{name}_{fmt}": report(
            FIGURE.format(figure=name, fmt=fmt),
            caption=f"../report/{name}.rst",
            category=figure.category,
            labels={"figure": name, "format": fmt.upper()},
        )
        for name, figure in FIGURES.items()
        for fmt in names.FIGURE_FORMATS
    }


def directories(files):
    """The distinct directories of some files, in order."""
    return list(dict.fromkeys(os.path.dirname(f) for f in files))


# ------------------------------------------------------------------ params


def run_config(wildcards):
    """The config of one training job, as JSON for `mbphase run --config`.

    It holds only what the job's rows depend on (the experiment's options,
    base_seed and this point), so that adding an m value or a size, or more
    seeds, leaves the other jobs' params unchanged and does not rerun them,
    while changing an option (max_sweeps, lr, ...) reruns every job of the
    experiment.
    """
    exp = EXPERIMENTS[wildcards.experiment]
    options = {k: v for k, v in exp.options.items() if k != exp.size_key}
    experiment = {
        **options,
        "size_key": exp.size_key,
        "sizes": [int(wildcards.size)],
        "m": [int(wildcards.m)],
        "seeds": int(wildcards.stop),
    }
    return json.dumps(
        {"base_seed": config["base_seed"], "experiments": {exp.name: experiment}},
        sort_keys=True,
        separators=(",", ":"),
    )


def aggregate_spec(wildcards):
    """What `mbphase aggregate` must find for one experiment (JSON)."""
    exp = EXPERIMENTS[wildcards.experiment]
    spec = {
        "experiment": exp.name,
        "seeds": exp.seeds,
        "base_seed": config["base_seed"],
        "points": [[p.size, p.m, p.temperature] for p in exp.points],
        "blocks": [list(b) for b in exp.seed_blocks()],
    }
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def run_template(template, experiment):
    """A run-file path template for `mbphase aggregate`: the experiment
    filled in, the other wildcards left as fields."""
    return template.replace("{experiment}", experiment)

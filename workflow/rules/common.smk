# Config validation, the list of jobs, paths and helpers shared by the rules.

import copy
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import min_version, update_config, validate

min_version("9.0")

try:
    import mbphase
    from mbphase.config import (
        SCHEMA_PATH,
        ConfigError,
        check_config,
        iter_jobs,
        load_yaml,
    )
    from mbphase.layout import EXPERIMENT_NAME, format_temperature
except ImportError as exc:
    raise WorkflowError(
        f"mbphase: the mbphase package cannot be imported ({exc}); install it into "
        "the environment that runs Snakemake: pip install -e '.[workflow]'"
    )


report: "../report/workflow.rst"


# A config file given on the command line (a preset) is a complete sweep: it
# replaces config.yaml instead of being merged into it, which would add the
# laptop sweep's experiments to every preset. --config key=value still
# overrides single values.
if workflow.overwrite_configfiles:
    config.clear()
    update_config(config, copy.deepcopy(workflow.config_settings.overwrite_config))
    _files = ", ".join(map(str, workflow.overwrite_configfiles))
    logger.info(f"mbphase: the sweep is {_files} (it replaces config.yaml)")

# Our checks first: their messages name the experiment, the key, the value
# and what is allowed. Then Snakemake's schema validation, which fills in the
# schema's defaults. Snakemake's YAML loading keeps the last of two equal
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
validate(config, str(SCHEMA_PATH))
for _name in EXPERIMENTS:
    if not EXPERIMENT_NAME.fullmatch(_name):
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
# editing the code reruns exactly the jobs it can affect.
PACKAGE_DIR = Path(mbphase.__file__).resolve().parent


def _relative(path):
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _sources(*patterns, exclude=()):
    found = set()
    for pattern in patterns:
        found.update(PACKAGE_DIR.glob(pattern))
    skip = set()
    for pattern in exclude:
        skip.update(PACKAGE_DIR.glob(pattern))
    return sorted(_relative(p) for p in found - skip)


# Post-processing modules never touch a run (mbphase.CODE_VERSION, which also
# keys Numba's cache, leaves out the same three); warmup and layout serve the
# workflow only.
_POST_PROCESSING = ("analysis/**/*.py", "plots.py", "aggregate.py")
_NOT_SIMULATION = _POST_PROCESSING + ("warmup.py", "layout.py")
KERNEL_MODULES = {
    "discrete": ("greedy.py", "greedy_bits.py"),
    "continuous": ("sgd.py",),
}
# Numba's cache is keyed by the hash of the simulation sources: the compile
# step depends on them (and on its own module).
COMPILE_SOURCES = _sources("**/*.py", exclude=_POST_PROCESSING)
AGGREGATE_SOURCES = _sources(
    "aggregate.py", "layout.py", "storage.py", "schema.py", "cli.py"
)
ANALYSIS_SOURCES = _sources("analysis/**/*.py", "storage.py", "schema.py", "cli.py")
PLOT_SOURCES = _sources("plots.py", "analysis/**/*.py", "cli.py")


_TRAIN_SOURCES = {
    weights: _sources(
        "**/*.py",
        exclude=_NOT_SIMULATION
        + tuple(f for w, fs in KERNEL_MODULES.items() if w != weights for f in fs),
    )
    for weights in KERNEL_MODULES
}


def train_sources(experiment):
    """The simulation sources, without the kernel of the other weight type."""
    return _TRAIN_SOURCES[EXPERIMENTS[experiment].options.get("weights")]


# ------------------------------------------------------------------ paths

RUN_FILE = "results/runs/{experiment}/size{size}/m{m}_T{temperature}_{init}/seeds{first}-{stop}.parquet"
TRAJECTORY_FILE = "results/runs/{experiment}/size{size}/m{m}_T{temperature}_{init}/seeds{first}-{stop}.trajectory.parquet"
COMPILE_FLAG = "results/numba_compiled.json"
RUNS_TABLE = "results/tables/{experiment}/runs.parquet"
TRAJECTORIES_TABLE = "results/tables/{experiment}/trajectories.parquet"
ANALYSIS_TABLE = "results/analysis/{experiment}/{table}.parquet"
FIGURE = "results/figures/{figure}.{fmt}"

# The tables of mbphase.analysis.TABLES (named here rather than imported:
# importing the analysis would add seconds to every parse;
# tests/test_workflow.py checks that the names agree).
ANALYSIS_TABLES = (
    "psucc",
    "critical",
    "power_law",
    "local_exponent",
    "sharpening",
    "collapse",
    "overlap",
    "stationary",
    "order_gap",
    "order",
    "stationary_hist",
    "solve_time",
    "test_error",
    "t_eff",
    "metropolis_energy",
)
# The figures of mbphase.plots.FIGURES: name -> report category.
FIGURES = {
    "fig1_psucc": "1. Success probability",
    "fig2_collapse": "2. Finite-size-scaling collapse",
    "fig3_mc_scaling": "3. Critical mini-batch size",
    "fig4_test_error": "4. Test error",
    "fig5_solve_time": "5. Time to solution",
    "fig6_overlap_hist": "6. Order of the transition",
    "fig7_t_eff": "7. Effective temperature",
    "fig9_width": "9. Width of the transition",
}
FIGURE_FORMATS = ("png", "pdf")


def run_wildcards(exp, point, first, stop):
    return dict(
        experiment=exp.name,
        size=point.size,
        m=point.m,
        temperature=format_temperature(point.temperature),
        init=point.init,
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
        + expand(ANALYSIS_TABLE, experiment=EXPERIMENTS, table=ANALYSIS_TABLES)
        + expand(FIGURE, figure=FIGURES, fmt=FIGURE_FORMATS)
    )


def analysis_tables(wildcards):
    return expand(
        ANALYSIS_TABLE, experiment=wildcards.experiment, table=ANALYSIS_TABLES
    )


def figure(name, fmt):
    """A figure file, declared for the report with its caption."""
    return report(
        FIGURE.format(figure=name, fmt=fmt),
        caption=f"../report/{name}.rst",
        category=FIGURES[name],
        labels={"figure": name, "format": fmt.upper()},
    )


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
        "points": [[p.size, p.m, p.temperature, p.init] for p in exp.points],
        "blocks": [list(b) for b in exp.seed_blocks()],
    }
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def run_template(template, experiment):
    """A run-file path template for `mbphase aggregate`: the experiment
    filled in, the other wildcards left as fields."""
    return template.replace("{experiment}", experiment)

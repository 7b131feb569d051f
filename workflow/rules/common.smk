# Config validation, the list of jobs, paths and helpers shared by the rules.

import copy
import functools
import hashlib
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
        Point,
        check_config,
        iter_jobs,
        load_yaml,
    )
    from mbphase import names
    from mbphase.names import (
        ANALYSIS_TABLE,
        CODE_VERSION_FILE,
        COMPILE_FLAG,
        FIGURE,
        FIGURES,
        RUN_FILE,
        RUNS_TABLE,
        TABLES,
        TRAJECTORIES_TABLE,
        TRAJECTORY_FILE,
    )
    from mbphase.pipeline.layout import job_wildcards, parse_m
    from mbphase.pipeline.overrides import SET_KEY, apply_settings, typed_overrides
    from mbphase.plots.titles import physics_title
    from mbphase.sim.kernels import MODELS, kernel_modules
    from mbphase.pipeline.stale import describe, forcerun_command, table_problems
except ImportError as exc:
    raise WorkflowError(
        f"mbphase: the mbphase package cannot be imported ({exc}); install it into "
        "the environment that runs Snakemake: pip install -e '.[workflow]'"
    )


report: "../report/workflow.rst"


# ------------------------------------------------------------------ module use

# Imported by another workflow (`module mbphase: snakefile: ..., config:
# ..., prefix: "x"`, README), this workflow's config is the one the host
# passes with `config:`, and the host's --configfile and --config are the
# host's business. Snakemake puts the rules' input, output, log and
# benchmark paths under the prefix, but not the paths the rules compute
# themselves (params, the stale check, the Numba cache): prefixed() does.
# Read while the module is parsed: later, workflow.modifier is the host's.
IS_MODULE = not workflow.modifier.is_main_snakefile()
PREFIX = (workflow.modifier.path_modifier.prefix or "") if IS_MODULE else ""


def prefixed(path):
    """A path the workflow writes or reads, under the module's prefix."""
    return path if os.path.isabs(path) else PREFIX + path


wildcard_constraints:
    **names.WILDCARD_CONSTRAINTS,


# A config file given on the command line (a preset) is a complete sweep: it
# replaces config.yaml instead of being merged into it, which would add the
# laptop sweep's experiments to every preset. --config key=value still
# overrides single values.
if workflow.overwrite_configfiles and not IS_MODULE:
    config.clear()
    update_config(config, copy.deepcopy(workflow.config_settings.overwrite_config))
    _files = ", ".join(map(str, workflow.overwrite_configfiles))
    logger.info(f"mbphase: the sweep is {_files} (it replaces config.yaml)")

# Nested keys from the command line (mbphase.pipeline.overrides): the values
# inside a mapping given to --config arrive as strings and get their YAML
# types; --config set=key.path=value (or a list of them) sets single values.
try:
    if not IS_MODULE:
        update_config(
            config, typed_overrides(workflow.config_settings.overwrite_config)
        )
    apply_settings(config, config.pop(SET_KEY, None))
except ConfigError as exc:
    raise WorkflowError(f"mbphase: invalid --config: {exc}")

# check_config validates the config against the schema (and fills in its
# defaults) with messages that name the experiment, the key, the value and
# what is allowed; it is the schema of load_schema, completed by the run
# options' declarations, which Snakemake's validate (a file only) cannot
# read. Snakemake's YAML loading keeps the last of two equal
# keys, which would hide a duplicated experiment name: the files are read
# again, strictly.
try:
    for _path in (
        [] if IS_MODULE else workflow.overwrite_configfiles or workflow.configfiles
    ):
        load_yaml(_path)  # its messages name the file
    EXPERIMENTS = check_config(config)
except ConfigError as exc:
    raise WorkflowError(f"mbphase: invalid config: {exc}")


# ------------------------------------------------------------------ commands

# Every shell command runs `mbphase` with the interpreter that runs Snakemake
# (so no environment needs activating), or with the rule's conda environment
# under --sdm conda; and with Numba's cache inside the project (mbphase keys
# it by code version below this directory; relative, as jobs run in the
# working directory). A shell function keeps the commands as they would be
# typed. The interpreter reaches it through the environment, not the
# command's text: the text is the rule's code, and a change of interpreter
# path would rerun every job.
# (set here, not required from the user: no envvars directive)
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    os.environ.update(MBPHASE_PYTHON="python")
else:
    os.environ.update(MBPHASE_PYTHON=sys.executable)
# Every rule's command starts with MBPHASE_SHELL rather than a global
# shell.prefix, which would also prefix the commands of a host workflow that
# imports this one as a module. (Snakemake formats commands: braces are
# doubled.)
_CACHE = shlex.quote(prefixed(".numba_cache")).replace("{", "{{").replace("}", "}}")
MBPHASE_SHELL = (
    f"set -euo pipefail; export NUMBA_CACHE_DIR={_CACHE}; "
    'mbphase() {{ "$MBPHASE_PYTHON" -m mbphase "$@"; }}; '
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
    if IS_MODULE:  # absolute: a relative path would be put under the prefix
        return path.as_posix()
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
PLOT_SOURCES = sources("", "pipeline", "analysis", "plots")
KERNEL_MODULES = kernel_modules(MODELS)


@functools.cache
def train_sources(experiment):
    """The simulation sources, what a run's rows depend on, without the
    kernels that the experiment's model never runs (the kernel registry)."""
    exp = EXPERIMENTS[experiment]
    p = exp.params(exp.first_point)
    unused = KERNEL_MODULES - kernel_modules({(p.architecture, p.weights)})
    return [f for f in sources("sim") if Path(f).stem not in unused]


@functools.cache
def train_code_version(experiment):
    """Hash of the contents of train_sources(experiment), written to the
    experiment's code-version file (rule code_version), an input of its
    training jobs: editing a file a run depends on reruns exactly the jobs
    that run it, and one file instead of ~15 inputs per job makes the dry
    run of a large sweep faster."""
    h = hashlib.sha256()
    for f in train_sources(experiment):
        h.update(Path(f).resolve().relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------ paths

# The path templates, tables and figures are those of mbphase.names.


def run_wildcards(exp, points, first, stop):
    """The wildcards of one training job: its points (Experiment.job_points)
    and seeds first..stop-1."""
    return dict(experiment=exp.name, **job_wildcards(points, first, stop))


def checked_run_files(wildcards):
    """The run files of one experiment, once its runs table (if any) has been
    compared with the config.

    Snakemake reruns jobs whose parameters changed only while its metadata
    in .snakemake/ is intact; a table computed with another max_sweeps (say)
    would otherwise stay "up to date". So a runs table that disagrees with
    the config stops the workflow, naming the points, keys and values and
    the exact command that recomputes them; files named in --forcerun
    (or --forceall, or --forcerun train / aggregate) are being recomputed
    and pass. Evaluated while the job graph is built, when the --forcerun
    targets are known; only in the main Snakemake process.
    """
    # (a job's own Snakemake, on a cluster node, neither knows --forcerun nor
    # needs to check)
    if workflow.is_main_process:
        _refuse_stale_table(wildcards.experiment)
    return train_outputs(RUN_FILE, wildcards.experiment)


def _refuse_stale_table(experiment):
    table = prefixed(RUNS_TABLE.format(experiment=experiment))
    if not os.path.exists(table):
        return
    exp = resolved(experiment)
    try:
        stale, other = table_problems(table, exp, config["base_seed"])
    except Exception as exc:  # unreadable: analysis would fail on it later
        raise WorkflowError(
            f"mbphase: {table}: cannot be read ({exc}); recompute it: snakemake --forcerun {table}"
        )
    forced = {os.path.normpath(f) for f in workflow.dag_settings.forcerun}
    everything = workflow.dag_settings.forceall
    # the jobs of the stale points, each once
    jobs = dict.fromkeys(exp.job_of(Point(*point)) for point in stale)
    files = [
        prefixed(RUN_FILE.format(**run_wildcards(exp, points, first, stop)))
        for points in jobs
        for first, stop in exp.seed_blocks()
    ]
    if files and not (everything or "train" in forced or set(files) <= forced):
        listing = "\n".join(
            f"  size {s}, m {m}, temperature {t:g}, init {i}: {describe(d)}"
            for (s, m, t, i), d in sorted(stale.items())
        )
        raise WorkflowError(
            f"mbphase: stale results: {table} holds runs computed with other parameters "
            f"than the config says for experiment '{experiment}' (Snakemake reruns them only "
            f"while its metadata in .snakemake/ is intact):\n{listing}\n"
            f"Recompute exactly these runs (and what depends on them):\n  {forcerun_command(files)}"
        )
    if other and not files and not (everything or {"aggregate", table} & forced):
        raise WorkflowError(
            f"mbphase: stale results: {table} disagrees with the config: "
            + "; ".join(other)
            + f". Aggregate it again: {forcerun_command([table])}"
        )


def train_outputs(template, experiment=None):
    """Every training output of one experiment (or of all), from iter_jobs.
    Of all: the fixed grids' only (adaptive_targets adds the others); of one
    adaptive experiment: every round's (from an input function only)."""
    experiments = (
        EXPERIMENTS if experiment is None else {experiment: resolved(experiment)}
    )
    return [
        template.format(**run_wildcards(exp, points, first, stop))
        for exp, points, first, stop in iter_jobs(experiments)
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
        + expand(names.REPORT_TABLE, table=names.REPORT_TABLES)
        # adaptive grids: their run files once the rounds have placed them
        + ([adaptive_targets] if any(e.adaptive for e in EXPERIMENTS.values()) else [])
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


# ------------------------------------------------------------------ params


def run_config(wildcards):
    """The config of one training job, as JSON for `mbphase run --config`.

    It holds only what the job's rows depend on (the experiment's options,
    base_seed and this job's points), so that adding an m value or a size, or
    more seeds, leaves the other jobs' params unchanged and does not rerun them
    (with points_per_job > 1, adding an m value changes the jobs of its size from
    its place in the grid on: layout.job_points),
    while changing an option (max_sweeps, lr, ...) reruns every job of the
    experiment.
    """
    exp = EXPERIMENTS[wildcards.experiment]
    options = {k: v for k, v in exp.options.items() if k != exp.size_key}
    experiment = {
        **options,
        "size_key": exp.size_key,
        "sizes": [int(wildcards.size)],
        "m": list(parse_m(wildcards.m)),
        "seeds": int(wildcards.stop),
    }
    return json.dumps(
        {"base_seed": config["base_seed"], "experiments": {exp.name: experiment}},
        sort_keys=True,
        separators=(",", ":"),
    )


def aggregate_spec(wildcards):
    """What `mbphase aggregate` must find for one experiment (JSON)."""
    exp = resolved(wildcards.experiment, in_params=True)
    spec = {
        "experiment": exp.name,
        "seeds": exp.seeds,
        "base_seed": config["base_seed"],
        "points": [[p.size, p.m, p.temperature, p.init] for p in exp.points],
        "blocks": [list(b) for b in exp.seed_blocks()],
        "jobs": spec_jobs(exp),
        "options": exp.options,
        "size_key": exp.size_key,
    }
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


def spec_jobs(exp):
    """The points of each of an experiment's training jobs, as indices into
    its points (the aggregation spec's "jobs": which file holds a point)."""
    index = {p: i for i, p in enumerate(exp.points)}
    return [[index[p] for p in points] for points in exp.job_points()]


def run_template(template, experiment):
    """A path template for an `mbphase` command: the experiment filled in,
    the other wildcards left as fields, under the module's prefix."""
    return prefixed(template.replace("{experiment}", experiment))


def figures_spec():
    """The config's figures section for `mbphase plot --figures` (JSON),
    with each experiment's panel title in physics terms."""
    titles = {
        name: physics_title(exp.params(exp.first_point))
        for name, exp in EXPERIMENTS.items()
    }
    return json.dumps(
        {**config["figures"], "titles": titles},
        sort_keys=True,
        separators=(",", ":"),
    )


def report_table_outputs():
    """The report-tables rule's outputs: each CSV table, declared for the
    report with its caption, in the category "Tables"."""
    return {
        name: report(
            names.REPORT_TABLE.format(table=name),
            caption=f"../report/{name}.rst",
            category="Tables",
            labels={"table": name},
        )
        for name in names.REPORT_TABLES
    }

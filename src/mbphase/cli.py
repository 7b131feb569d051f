"""Command line: ``mbphase run`` computes one point for a range of seeds.

    mbphase run --config config.yaml --experiment NAME --size 15 --m 60 \\
        --seeds 0:32 --threads 2 --out results/x.parquet [--trajectory-out t.parquet]

(``--m 16,23,32`` or ``--temperature 1,1.5,2``: several points of one size,
one after the other, their runs in one file: a training job of an
experiment with ``points_per_job`` > 1.)

Everything is validated before any computation; on a bad value the command
prints what is wrong, exits with status 2 and writes no file.

The workflow's other steps (each a Snakemake rule):

    mbphase compile --flag results/numba_compiled.json
    mbphase aggregate --spec JSON --runs-template T --trajectories-template T2 \\
        --out-runs runs.parquet --out-trajectories trajectories.parquet
    mbphase analyse --runs runs.parquet --expected-seeds 64 --out-dir DIR   (or --out-template T)
    mbphase plot --analysis DIR [DIR ...] --out-dir results/figures       (or --tables FILE ...)
    mbphase report-tables --tables FILE ... --out-dir results/report

and ``mbphase status --config config.yaml``: the jobs done and missing and the
current m_c estimates, from the files on disk.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .pipeline.config import ConfigError, Point, load_config
from .sim.params import LIMITS, MAX_INT64, ParamError, suggest


def parse_seeds(text: str) -> range:
    """'A:B' is seeds A..B-1 (Python slice convention); 'A' is the one seed A."""
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text)
    if not m:
        raise ParamError("seeds", text, "'A:B' with integers 0 <= A < B (seeds A..B-1), or a single integer A")
    first = int(m.group(1))
    stop = int(m.group(2)) if m.group(2) is not None else first + 1
    if stop <= first:
        raise ParamError("seeds", text, "'A:B' with A < B")
    most = LIMITS["seeds"][1]
    if stop > most:
        raise ParamError("seeds", text, f"seeds below the limit {most} of 'seeds'")
    return range(first, stop)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's line breaks and shows every option's default,
    except where there is nothing to show: required options, defaults of
    None (their help says what applies) and on/off flags."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "%(default)" in text or action.required or default is None or default is argparse.SUPPRESS or action.nargs == 0:
            return text
        return f"{text} (default: %(default)s)"


def version_text() -> str:
    from . import CODE_VERSION, __version__

    return f"mbphase {__version__} (code version {CODE_VERSION})"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mbphase", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=version_text(), help="print the package version and the code version (hash of mbphase/sim) and exit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=lambda **kw: argparse.ArgumentParser(formatter_class=HelpFormatter, **kw))
    run = sub.add_parser("run", help="run one (experiment, size, m) point, or several m values or temperatures, for a range of seeds")
    run.add_argument("--config", required=True, help="sweep config (YAML)")
    run.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override one config value, nested keys joined by dots, the value read as YAML: experiments.NAME.max_sweeps=100 (repeatable)")
    run.add_argument("--experiment", required=True, help="experiment name in the config")
    run.add_argument("--size", type=int, required=True, help="value of the experiment's size parameter (d or N)")
    run.add_argument("--m", required=True, help="mini-batch size, or several in increasing order (16,23,32): one file holds their runs")
    run.add_argument("--temperature", default=None, help="temperature (default: the experiment's), or several in increasing order (1,1.5,2)")
    run.add_argument("--init", choices=("random", "teacher"), default=None, help="initial student weights (default: the experiment's)")
    run.add_argument("--seeds", required=True, help="seed range A:B (seeds A..B-1)")
    run.add_argument("--threads", type=int, default=1, help="Numba threads (parallel over seeds)")
    run.add_argument("--out", required=True, help="Parquet file of the run rows")
    run.add_argument("--trajectory-out", default=None, help="Parquet file of the trajectory samples")
    run.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="progress bar (auto: on a terminal)")
    _add_workflow_commands(sub)
    return parser


# ---------------------------------------------------------------- workflow steps


def _add_workflow_commands(sub) -> None:
    comp = sub.add_parser("compile", help="compile every Numba kernel into the cache (NUMBA_CACHE_DIR) once")
    comp.add_argument("--flag", default=None, help="write a JSON record of the compilation here (the workflow's flag file)")

    agg = sub.add_parser("aggregate", help="check and concatenate the run files of one experiment")
    agg.add_argument("--spec", required=True, help="JSON: experiment, seeds, base_seed, points [[size, m, temperature, init], ...], blocks [[first, stop], ...], options and size_key (the experiment's run options: stored parameters are checked against them)")
    agg.add_argument("--runs-template", required=True, help="run-file path with {size} {m} {temperature} {init} {first} {stop}")
    agg.add_argument("--trajectories-template", default=None, help="trajectory-file path, same fields")
    agg.add_argument("--out-runs", required=True, help="aggregated run table (Parquet)")
    agg.add_argument("--out-trajectories", required=True, help="aggregated trajectory table (Parquet)")

    ana = sub.add_parser("analyse", help="every analysis table of an aggregated run table")
    ana.add_argument("--runs", required=True, help="aggregated run table (Parquet)")
    out = ana.add_mutually_exclusive_group(required=True)
    out.add_argument("--out-dir", help="directory of the analysis tables, one <name>.parquet each")
    out.add_argument("--out-template", help="path of each analysis table with the field {table} (the workflow's Hive layout, e.g. results/analysis/{table}/experiment=NAME/{table}.parquet)")
    ana.add_argument("--expected-seeds", type=int, default=None, help="runs every point must have (the config's seeds)")
    ana.add_argument("--allow-incomplete", action="store_true", help="analyse points with fewer runs than --expected-seeds instead of refusing")
    ana.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates")
    ana.add_argument("--seed", type=int, default=0, help="seed of the bootstraps")
    ana.add_argument("--budget-rule", default=None, help="the config's sweep-budget rule, recorded in every table ('fixed' or 'c * d^a'; default: what the runs tell)")

    sta = sub.add_parser("status", help="per experiment: the jobs done and missing, and the current m_c estimates, from the files on disk")
    sta.add_argument("--config", required=True, help="sweep config (YAML)")
    sta.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="override one config value, nested keys joined by dots, the value read as YAML: experiments.NAME.max_sweeps=100 (repeatable)")
    sta.add_argument("--root", default=".", help="the directory the workflow runs in (holding results/)")

    plo = sub.add_parser("plot", help="the figures, from analysis tables")
    src = plo.add_mutually_exclusive_group(required=True)
    src.add_argument("--analysis", nargs="+", help="analysis directories (one per experiment)")
    src.add_argument("--tables", nargs="+", help="analysis table files, <table>.parquet, of any experiments (the workflow's Hive layout)")
    plo.add_argument("--out-dir", required=True, help="directory of the figures, <figure>.png and .pdf")
    rep = sub.add_parser("report-tables", help="the report's tables (m_c, b, width, collapse) as CSV, from analysis tables")
    rep.add_argument("--tables", nargs="+", required=True, help="analysis table files, <table>.parquet, of any experiments")
    rep.add_argument("--out-dir", required=True, help="directory of the CSV files, <name>.csv (mbphase.names.REPORT_TABLES)")
    plo.add_argument("--figures", default=None, help='JSON: {"style": "screen" | "paper", "include": {figure: [experiments]}, "titles": {experiment: title}} (the config\'s figures section; the workflow passes it)')
    _add_adaptive_commands(sub)


def _add_adaptive_commands(sub) -> None:
    sta = sub.add_parser("adaptive-start", help="adaptive m grid: the start bracket and first m values of one size (JSON)")
    sta.add_argument("--settings", required=True, help="JSON: the experiment's adaptive block, defaults filled in")
    sta.add_argument("--size", type=int, required=True, help="the size")
    sta.add_argument("--done", nargs="*", default=[], help="final decisions (JSON files) of the smaller sizes, for predict")
    sta.add_argument("--out", required=True, help="the start plan (JSON)")
    rnd = sub.add_parser("adaptive-round", help="adaptive m grid: aggregate one size's runs so far, fit m_c and decide the next m values (JSON)")
    rnd.add_argument("--spec", required=True, help="JSON as for aggregate, with the points measured so far of one size")
    rnd.add_argument("--settings", required=True, help="JSON: the experiment's adaptive block, defaults filled in")
    rnd.add_argument("--state", required=True, help="the start plan (round 0) or the previous round's decision (JSON)")
    rnd.add_argument("--round", type=int, required=True, help="this round's number, from 0")
    rnd.add_argument("--runs-template", required=True, help="run-file path with {size} {m} {temperature} {init} {first} {stop}")
    rnd.add_argument("--out", required=True, help="the decision (JSON)")


def cmd_compile(args) -> int:
    from .pipeline.warmup import compile_kernels, write_record

    record = compile_kernels()
    for label, seconds in record["seconds"].items():
        print(f"{seconds:8.2f} s  {label}")
    print(f"code version {record['code_version']}, Numba {record['numba']}, cache {record['cache_dir']}")
    if args.flag:
        write_record(record, args.flag)
    return 0


def cmd_aggregate(args) -> int:
    from .pipeline.aggregate import Spec, aggregate, write_aggregate
    from .pipeline.storage import check_output_path

    spec = Spec.from_json(args.spec)
    for path in (args.out_runs, args.out_trajectories):
        check_output_path(path)
    result = aggregate(spec.files(args.runs_template, args.trajectories_template), spec.experiment, spec.seeds, spec.base_seed, spec.options, spec.size_key)
    for message in result.warnings:
        print(f"mbphase: warning: {message}", file=sys.stderr)
    write_aggregate(result, args.out_runs, args.out_trajectories)
    n_points = result.runs.groupby(["size", "m", "temperature", "init"]).ngroups if len(result.runs) else 0
    print(f"{spec.experiment}: {len(result.runs)} runs in {n_points} points, {len(result.trajectories)} trajectory samples")
    return 0


def cmd_analyse(args) -> int:
    from .analysis import analyse, write_tables
    from .pipeline.storage import read_checked

    for option, value, least in (("--n-boot", args.n_boot, 1), ("--expected-seeds", args.expected_seeds, 1), ("--seed", args.seed, 0)):
        if value is not None and not least <= value <= MAX_INT64:
            raise ParamError(option, value, f"an integer from {least} to {MAX_INT64}")
    if args.out_template is not None and "{table}" not in args.out_template:
        raise ParamError("--out-template", args.out_template, "a path with the field {table}")
    if args.out_dir is not None and Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise ParamError("--out-dir", args.out_dir, "a directory (it exists and is not one)")
    runs = read_checked(args.runs, "runs")
    if args.expected_seeds is not None and len(runs):
        counts = runs.groupby(["size", "m", "temperature", "init"]).size()
        short = counts[counts < args.expected_seeds]
        if len(short):
            listing = ", ".join(f"(size {s}, m {m}, T {t:g}, init {i}): {n}" for (s, m, t, i), n in short.items())
            message = f"{args.runs}: {len(short)} point(s) have fewer runs than the {args.expected_seeds} seeds configured: {listing}"
            if not args.allow_incomplete:
                from .pipeline.aggregate import AggregationError

                raise AggregationError(f"{message}; rerun the workflow to complete them, or pass --allow-incomplete to analyse them anyway")
            print(f"mbphase: warning: {message}; analysing them anyway (--allow-incomplete)", file=sys.stderr)
    tables = analyse(runs, n_boot=args.n_boot, seed=args.seed, budget_rule=args.budget_rule)
    paths = write_tables(tables, args.out_dir or args.out_template)
    print(f"{args.runs}: {len(runs)} runs -> {len(paths)} tables in {args.out_dir or args.out_template}")
    return 0


def cmd_plot(args) -> int:
    import pandas as pd

    from .analysis import read_tables
    from .plots import plot_all

    from .analysis.tables import read_table_file

    parts: dict[str, list] = {}
    for directory in args.analysis or ():
        if not Path(directory).is_dir():
            raise ParamError("--analysis", directory, "a directory of analysis tables (it does not exist); run `mbphase analyse` first")
        if not any(Path(directory).glob("*.parquet")):
            raise ParamError("--analysis", directory, "a directory of analysis tables (it holds no *.parquet file); run `mbphase analyse` first")
    for path in args.tables or ():
        if not Path(path).is_file() or not path.endswith(".parquet"):
            raise ParamError("--tables", path, "an existing analysis table file <table>.parquet; run `mbphase analyse` first")
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise ParamError("--out-dir", args.out_dir, "a directory (it exists and is not one)")
    for directory in args.analysis or ():
        for name, table in read_tables(directory).items():
            parts.setdefault(name, []).append(table)
    for path in args.tables or ():
        parts.setdefault(Path(path).stem, []).append(read_table_file(path))
    tables = {name: pd.concat([t for t in frames if len(t)], ignore_index=True) if any(len(t) for t in frames) else frames[0] for name, frames in parts.items()}
    look = _figures_spec(args.figures)
    written = plot_all(tables, args.out_dir, style=look.get("style", "screen"), include=look.get("include"), titles=look.get("titles"))
    for name, paths in written.items():
        print(f"{name}: {', '.join(str(p) for p in paths)}")
    return 0


def _figures_spec(text: str | None) -> dict:
    import json

    from .plots.style import STYLES

    if text is None:
        return {}
    try:
        spec = json.loads(text)
    except ValueError as exc:
        raise ParamError("--figures", text, f"JSON ({exc})") from None
    if not isinstance(spec, dict) or set(spec) - {"style", "include", "titles"} or spec.get("style", "screen") not in STYLES \
            or not isinstance(spec.get("include", {}), dict) or not isinstance(spec.get("titles", {}), dict):
        raise ParamError("--figures", text, f'a JSON object with style ({" | ".join(STYLES)}), include {{figure: [experiments]}} and titles {{experiment: title}}')
    return spec


def cmd_report_tables(args) -> int:
    import io

    import pandas as pd

    from .analysis.tables import read_table_file
    from .names import REPORT_TABLES
    from .pipeline.storage import atomic_write

    parts: dict[str, list] = {}
    for path in args.tables:
        if not Path(path).is_file():
            raise ParamError("--tables", path, "an existing analysis table file <table>.parquet; run `mbphase analyse` first")
        parts.setdefault(Path(path).stem, []).append(read_table_file(path))
    for name, (source, columns, _) in REPORT_TABLES.items():
        frames = [f for f in parts.get(source, []) if len(f)]
        table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))
        table = table[[c for c in columns if c in table.columns]]
        text = io.StringIO()
        table.to_csv(text, index=False, float_format="%.4g")
        path = atomic_write(Path(args.out_dir) / f"{name}.csv", lambda fh: fh.write(text.getvalue().encode()))
        print(f"{name}: {len(table)} rows -> {path}")
    return 0


def cmd_status(args) -> int:
    from .pipeline.status import format_status, sweep_status

    if not Path(args.root).is_dir():
        raise ParamError("--root", args.root, "an existing directory (the one the workflow runs in)")
    _, experiments = _load_config(args)
    for line in format_status(sweep_status(experiments, args.root)):
        print(line)
    return 0


def _load_config(args):
    """The --config file with the --set overrides applied, validated."""
    from .pipeline.config import check_config, load_yaml
    from .pipeline.overrides import apply_settings

    if not args.set:
        return load_config(args.config)
    config = apply_settings(load_yaml(args.config), args.set)
    return config, check_config(config)


def cmd_run(args) -> int:
    config, experiments = _load_config(args)
    if args.experiment not in experiments:
        raise ConfigError(f"--experiment: unknown experiment '{args.experiment}'{suggest(args.experiment, experiments)}; allowed: {', '.join(experiments)}")
    exp = experiments[args.experiment]
    lo, hi = LIMITS["threads"][:2]
    if not lo <= args.threads <= hi:
        raise ParamError("threads", args.threads, f"an integer from {lo} to {hi}")
    seeds = parse_seeds(args.seeds)
    if seeds.stop > exp.seeds:
        print(f"note: seeds {args.seeds} go beyond the experiment's {exp.seeds} seeds", file=sys.stderr)
    init = exp.first_point.init if args.init is None else args.init
    from .pipeline.layout import parse_m, parse_temperatures

    try:
        ms = parse_m(args.m)
    except ValueError:
        raise ParamError("--m", args.m, "a mini-batch size, or several in increasing order separated by commas (16,23,32)") from None
    try:
        temperatures = (exp.first_point.temperature,) if args.temperature is None else parse_temperatures(args.temperature)
    except ValueError:
        raise ParamError("--temperature", args.temperature, "a temperature, or several in increasing order separated by commas (1,1.5,2)") from None
    # every point (each temperature, then each m) checked before any work
    params = [exp.params(Point(args.size, m, t, init)) for t in temperatures for m in ms]
    progress = sys.stderr.isatty() if args.progress == "auto" else args.progress == "on"
    from .pipeline.storage import OutputPathError, check_output_path

    for option, path in (("--out", args.out), ("--trajectory-out", args.trajectory_out)):
        if path is not None:
            try:
                check_output_path(path)
            except OutputPathError as exc:
                raise ParamError(option, path, f"the path of a regular file to create or replace ({exc})") from None
    if args.trajectory_out is not None and Path(args.trajectory_out).resolve() == Path(args.out).resolve():
        raise ParamError("--trajectory-out", args.trajectory_out, "a path other than --out")

    from .sim.run import run_tables
    from .pipeline.storage import write_runs, write_trajectory

    import pyarrow as pa

    runs, traj = [], []
    for p in params:  # one point after the other, each exactly as in a job of its own
        r, t = run_tables(p, seeds, config["base_seed"], args.threads, exp.name, exp.size_key, progress)
        print(summary_line(r, exp.size_key, args.seeds), file=sys.stderr)
        runs.append(r)
        traj.append(t)
    write_runs(pa.concat_tables(runs), args.out)
    if args.trajectory_out:
        write_trajectory(pa.concat_tables(traj), args.trajectory_out)
    return 0


def summary_line(runs, size_key: str, seeds: str) -> str:
    """One line on a finished job, the last of its log: the point, its
    seeds, P_succ, the median time to solution of the runs that solved, the
    compute time and the pattern evaluations per second.

    The median is that of the solved runs only (biased low near m_c, where
    only the fast runs solve): the analysis's Kaplan-Meier median needs
    SciPy, whose import would add about a second to every job.
    """
    import numpy as np

    # runs: a DataFrame or an Arrow table (what `mbphase run` has; its
    # to_pylist, unlike np.asarray, does not import pandas)
    def column(name):
        values = runs[name]
        return np.asarray(values.to_pylist() if hasattr(values, "to_pylist") else values)

    row = {name: column(name)[0] for name in ("experiment", "size", "m", "temperature", "init", "weights", "job_wall_time_s", "throughput")}
    ok = column("status") == "ok"
    solved = ok & column("success").astype(bool)
    unit = "sweeps" if row["weights"] == "discrete" else "steps"
    t_solve = column("t_solve").astype(float)[solved]
    median = f"median t_solve {np.median(t_solve):.4g} {unit} of the {len(t_solve)} solved" if len(t_solve) else "no run solved"
    p_succ = f"P_succ {solved.sum() / ok.sum():.3f} ({solved.sum()}/{ok.sum()})" if ok.any() else "P_succ n/a (no ok run)"
    failed = f", {len(ok) - ok.sum()} runs not ok" if not ok.all() else ""
    point = f"{row['experiment']} {size_key}={row['size']} m={row['m']} T={row['temperature']:g} init={row['init']}"
    return (f"mbphase run: {point} seeds {seeds}: {p_succ}{failed}; {median}; "
            f"compute {row['job_wall_time_s']:.3g} s; {row['throughput']:.3g} pattern evaluations/s")


def _write_json(data: dict, path: str) -> None:
    import json

    from .pipeline.storage import atomic_write

    text = json.dumps(data, sort_keys=True, indent=1) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode()))


def cmd_adaptive_start(args) -> int:
    import json

    from .pipeline.adaptive import Settings, start_plan

    settings = Settings.from_dict(json.loads(args.settings))
    done = {}
    for path in args.done:
        with open(path) as fh:
            final = json.load(fh)
        done[int(final["size"])] = (float(final["m_c"]), float(final["m_c_err"]))
    plan = start_plan(settings, args.size, done)
    _write_json(plan, args.out)
    print(f"size {args.size}: bracket {plan['bracket']} ({plan['origin']}), round 0 m = {plan['points']}")
    return 0


def cmd_adaptive_round(args) -> int:
    import json

    from .pipeline.adaptive import Settings, decide
    from .pipeline.aggregate import Spec, aggregate
    from .pipeline.stale import expected_params

    spec = Spec.from_json(args.spec)
    settings = Settings.from_dict(json.loads(args.settings))
    with open(args.state) as fh:
        state = json.load(fh)
    result = aggregate(spec.files(args.runs_template), spec.experiment, spec.seeds, spec.base_seed, spec.options, spec.size_key)
    for message in result.warnings:
        print(f"mbphase: warning: {message}", file=sys.stderr)
    decision = decide(result.runs, state, settings, args.round, spec.experiment, spec.seeds)
    temperature, init = spec.points[0][2], spec.points[0][3]
    for m in decision["next"]:  # a point no run may use fails here, naming it
        expected_params(spec.options, spec.size_key, decision["size"], m, temperature, init)
    _write_json(decision, args.out)
    print(f"{spec.experiment} size {decision['size']} round {args.round}: {decision['status']}: {decision['message']}")
    return 0


COMMANDS = {"run": cmd_run, "compile": cmd_compile, "aggregate": cmd_aggregate, "analyse": cmd_analyse, "plot": cmd_plot, "status": cmd_status,
            "report-tables": cmd_report_tables, "adaptive-start": cmd_adaptive_start, "adaptive-round": cmd_adaptive_round}


def _loaded_errors(module_name: str, *names) -> tuple:
    """The exception classes ``names`` of ``mbphase.<module_name>``, if the
    command loaded that module (evaluated when an exception is being
    matched): importing the aggregation or the adaptive grid only to name
    them would import pandas into `mbphase run`, which does without, and a
    module never imported raised nothing."""
    module = sys.modules.get(f"{__package__}.{module_name}")
    return tuple(getattr(module, name) for name in names) if module else ()


def main(argv=None) -> int:
    """Run one command; bad arguments and configs exit 2, unusable inputs and
    failed writes exit 1, each with a one-line message and no traceback."""
    args = _build_parser().parse_args(argv)
    from .pipeline.storage import DamagedFileError, OutputPathError, WriteError

    try:
        return COMMANDS[args.command](args)
    except (ConfigError, ParamError, OutputPathError, *_loaded_errors("pipeline.aggregate", "SpecError")) as exc:
        print(f"mbphase: error: {exc}", file=sys.stderr)
        return 2
    except (DamagedFileError, WriteError, *_loaded_errors("pipeline.aggregate", "AggregationError"), *_loaded_errors("pipeline.adaptive", "AdaptiveError")) as exc:
        print(f"mbphase: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader stopped early (`mbphase status | head`): no traceback
        _stdout_to_devnull()
        return 1


def _stdout_to_devnull() -> None:
    """After a BrokenPipeError on stdout: send it to /dev/null so that a
    later flush does not fail again (the recipe of Python's documentation of
    signal/SIGPIPE)."""
    import os

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def console() -> None:
    """The ``mbphase`` command (and ``python -m mbphase``): ``main``, then the
    process ends at once. Python's orderly teardown of a process that holds
    Numba, LLVM and pyarrow takes about 0.3 s, a fifth of a short training
    job; by the time ``main`` returns every file is written, closed and
    renamed into place, so only the standard streams need flushing."""
    import os

    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left after main returned: as main does
        _stdout_to_devnull()
        status = 1
    os._exit(status)


if __name__ == "__main__":
    console()

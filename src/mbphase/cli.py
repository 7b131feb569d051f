"""Command line: ``mbphase run`` computes one point for a range of seeds.

    mbphase run --config config.yaml --experiment NAME --size 15 --m 60 \\
        --seeds 0:32 --threads 2 --out results/x.parquet [--trajectory-out t.parquet]

Everything is validated before any computation; on a bad value the command
prints what is wrong, exits with status 2 and writes no file.

The workflow's other steps (each a Snakemake rule):

    mbphase compile --flag results/numba_compiled.json
    mbphase aggregate --spec JSON --runs-template T --trajectories-template T2 \\
        --out-runs runs.parquet --out-trajectories trajectories.parquet
    mbphase analyse --runs runs.parquet --expected-seeds 64 --out-dir DIR
    mbphase plot --analysis DIR [DIR ...] --out-dir results/figures

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
    run = sub.add_parser("run", help="run one (experiment, size, m) point for a range of seeds")
    run.add_argument("--config", required=True, help="sweep config (YAML)")
    run.add_argument("--experiment", required=True, help="experiment name in the config")
    run.add_argument("--size", type=int, required=True, help="value of the experiment's size parameter (d or N)")
    run.add_argument("--m", type=int, required=True, help="mini-batch size")
    run.add_argument("--temperature", type=float, default=None, help="temperature (default: the experiment's)")
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
    ana.add_argument("--out-dir", required=True, help="directory of the analysis tables, one <name>.parquet each")
    ana.add_argument("--expected-seeds", type=int, default=None, help="runs every point must have (the config's seeds)")
    ana.add_argument("--allow-incomplete", action="store_true", help="analyse points with fewer runs than --expected-seeds instead of refusing")
    ana.add_argument("--n-boot", type=int, default=200, help="bootstrap replicates")
    ana.add_argument("--seed", type=int, default=0, help="seed of the bootstraps")

    sta = sub.add_parser("status", help="per experiment: the jobs done and missing, and the current m_c estimates, from the files on disk")
    sta.add_argument("--config", required=True, help="sweep config (YAML)")
    sta.add_argument("--root", default=".", help="the directory the workflow runs in (holding results/)")

    plo = sub.add_parser("plot", help="the figures, from analysis tables")
    plo.add_argument("--analysis", nargs="+", required=True, help="analysis directories (one per experiment)")
    plo.add_argument("--out-dir", required=True, help="directory of the figures, <figure>.png and .pdf")


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
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
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
    tables = analyse(runs, n_boot=args.n_boot, seed=args.seed)
    paths = write_tables(tables, args.out_dir)
    print(f"{args.runs}: {len(runs)} runs -> {len(paths)} tables in {args.out_dir}")
    return 0


def cmd_plot(args) -> int:
    import pandas as pd

    from .analysis import read_tables
    from .plots import plot_all

    parts: dict[str, list] = {}
    for directory in args.analysis:
        if not Path(directory).is_dir():
            raise ParamError("--analysis", directory, "a directory of analysis tables (it does not exist); run `mbphase analyse` first")
        if not any(Path(directory).glob("*.parquet")):
            raise ParamError("--analysis", directory, "a directory of analysis tables (it holds no *.parquet file); run `mbphase analyse` first")
    if Path(args.out_dir).exists() and not Path(args.out_dir).is_dir():
        raise ParamError("--out-dir", args.out_dir, "a directory (it exists and is not one)")
    for directory in args.analysis:
        for name, table in read_tables(directory).items():
            parts.setdefault(name, []).append(table)
    tables = {name: pd.concat([t for t in frames if len(t)], ignore_index=True) if any(len(t) for t in frames) else frames[0] for name, frames in parts.items()}
    written = plot_all(tables, args.out_dir)
    for name, paths in written.items():
        print(f"{name}: {', '.join(str(p) for p in paths)}")
    return 0


def cmd_status(args) -> int:
    from .pipeline.status import format_status, sweep_status

    if not Path(args.root).is_dir():
        raise ParamError("--root", args.root, "an existing directory (the one the workflow runs in)")
    _, experiments = load_config(args.config)
    for line in format_status(sweep_status(experiments, args.root)):
        print(line)
    return 0


def cmd_run(args) -> int:
    config, experiments = load_config(args.config)
    if args.experiment not in experiments:
        raise ConfigError(f"--experiment: unknown experiment '{args.experiment}'{suggest(args.experiment, experiments)}; allowed: {', '.join(experiments)}")
    exp = experiments[args.experiment]
    lo, hi = LIMITS["threads"][:2]
    if not lo <= args.threads <= hi:
        raise ParamError("threads", args.threads, f"an integer from {lo} to {hi}")
    seeds = parse_seeds(args.seeds)
    if seeds.stop > exp.seeds:
        print(f"note: seeds {args.seeds} go beyond the experiment's {exp.seeds} seeds", file=sys.stderr)
    temperature = exp.points[0].temperature if args.temperature is None else args.temperature
    init = exp.points[0].init if args.init is None else args.init
    params = exp.params(Point(args.size, args.m, temperature, init))
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

    runs, traj = run_tables(params, seeds, config["base_seed"], args.threads, exp.name, exp.size_key, progress)
    write_runs(runs, args.out)
    if args.trajectory_out:
        write_trajectory(traj, args.trajectory_out)
    print(summary_line(runs, exp.size_key, args.seeds), file=sys.stderr)
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


COMMANDS = {"run": cmd_run, "compile": cmd_compile, "aggregate": cmd_aggregate, "analyse": cmd_analyse, "plot": cmd_plot, "status": cmd_status}


def _aggregate_errors(*names) -> tuple:
    """The aggregation's exception classes ``names``, if the command loaded
    that module (evaluated when an exception is being matched): importing it
    only to name them would import pandas into `mbphase run`, which does
    without, and a module never imported raised nothing."""
    module = sys.modules.get(f"{__package__}.pipeline.aggregate")
    return tuple(getattr(module, name) for name in names) if module else ()


def main(argv=None) -> int:
    """Run one command; bad arguments and configs exit 2, unusable inputs and
    failed writes exit 1, each with a one-line message and no traceback."""
    args = _build_parser().parse_args(argv)
    from .pipeline.storage import DamagedFileError, OutputPathError, WriteError

    try:
        return COMMANDS[args.command](args)
    except (ConfigError, ParamError, OutputPathError, *_aggregate_errors("SpecError")) as exc:
        print(f"mbphase: error: {exc}", file=sys.stderr)
        return 2
    except (DamagedFileError, WriteError, *_aggregate_errors("AggregationError")) as exc:
        print(f"mbphase: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # the reader stopped early (`mbphase status | head`): no traceback;
        # stdout goes to /dev/null so that the flush at exit does not fail
        # again (the recipe of Python's documentation of signal/SIGPIPE)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

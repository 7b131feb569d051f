"""Command line: ``mbphase run`` computes one point for a range of seeds.

    mbphase run --config config.yaml --experiment NAME --size 15 --m 60 \\
        --seeds 0:32 --threads 2 --out results/x.parquet [--trajectory-out t.parquet]

Everything is validated before any computation; on a bad value the command
prints what is wrong, exits with status 2 and writes no file.
"""

from __future__ import annotations

import argparse
import re
import sys

from .config import ConfigError, Point, load_config
from .params import ParamError, suggest


def parse_seeds(text: str) -> range:
    """'A:B' is seeds A..B-1 (Python slice convention); 'A' is the one seed A."""
    m = re.fullmatch(r"\s*(\d+)\s*(?::\s*(\d+)\s*)?", text)
    if not m:
        raise ParamError("seeds", text, "'A:B' with integers 0 <= A < B (seeds A..B-1), or a single integer A")
    first = int(m.group(1))
    stop = int(m.group(2)) if m.group(2) is not None else first + 1
    if stop <= first:
        raise ParamError("seeds", text, "'A:B' with A < B")
    return range(first, stop)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mbphase", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one (experiment, size, m) point for a range of seeds")
    run.add_argument("--config", required=True, help="sweep config (YAML)")
    run.add_argument("--experiment", required=True, help="experiment name in the config")
    run.add_argument("--size", type=int, required=True, help="value of the experiment's size parameter (d or N)")
    run.add_argument("--m", type=int, required=True, help="mini-batch size")
    run.add_argument("--temperature", type=float, default=None, help="temperature (default: the experiment's)")
    run.add_argument("--seeds", required=True, help="seed range A:B (seeds A..B-1)")
    run.add_argument("--threads", type=int, default=1, help="Numba threads (parallel over seeds)")
    run.add_argument("--out", required=True, help="Parquet file of the run rows")
    run.add_argument("--trajectory-out", default=None, help="Parquet file of the trajectory samples")
    run.add_argument("--progress", choices=("auto", "on", "off"), default="auto", help="progress bar (auto: on a terminal)")
    return parser


def cmd_run(args) -> int:
    config, experiments = load_config(args.config)
    if args.experiment not in experiments:
        raise ConfigError(f"--experiment: unknown experiment '{args.experiment}'{suggest(args.experiment, experiments)}; allowed: {', '.join(experiments)}")
    exp = experiments[args.experiment]
    if args.threads < 1:
        raise ParamError("threads", args.threads, "an integer >= 1")
    seeds = parse_seeds(args.seeds)
    if seeds.stop > exp.seeds:
        print(f"note: seeds {args.seeds} go beyond the experiment's {exp.seeds} seeds", file=sys.stderr)
    temperature = exp.points[0].temperature if args.temperature is None else args.temperature
    params = exp.params(Point(args.size, args.m, temperature))
    progress = sys.stderr.isatty() if args.progress == "auto" else args.progress == "on"

    from .run import run_point
    from .storage import write_runs, write_trajectory

    runs, traj = run_point(params, seeds, config["base_seed"], args.threads, exp.name, exp.size_key, progress)
    write_runs(runs, args.out)
    if args.trajectory_out:
        write_trajectory(traj, args.trajectory_out)
    return 0


def main(argv=None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        return cmd_run(args)
    except (ConfigError, ParamError) as exc:
        print(f"mbphase: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

# Adaptive m grids: for every size of an experiment with an `adaptive` block,
# a start plan, then rounds of training jobs, each ended by a checkpoint that
# fits m_c to the runs so far and decides the next m values (or that the size
# is done). The decisions are mbphase.pipeline.adaptive's; these rules only
# chain them. The run files are the ordinary ones (train.smk), so aggregate,
# analyse and plot see an adaptive experiment like any other.

from snakemake.exceptions import IncompleteCheckpointException

from mbphase.names import ADAPTIVE_ROUND, ADAPTIVE_START


def _settings_json(experiment):
    return json.dumps(
        EXPERIMENTS[experiment].adaptive.settings.as_dict(),
        sort_keys=True,
        separators=(",", ":"),
    )


def _read_json(path):
    with open(path) as fh:
        return json.load(fh)


def _states(experiment, size, rounds=None):
    """The start plan of one size and its decisions: of rounds 0 ..
    rounds-1, or (rounds None) up to the one that ends the size. Walks them
    through the checkpoints: raises Snakemake's
    IncompleteCheckpointException (the DAG is then extended by the missing
    round) until it has them."""
    states = [
        _read_json(
            checkpoints.adaptive_start.get(experiment=experiment, size=size).output[0]
        )
    ]
    r = 0
    while rounds is None or r < rounds:
        states.append(
            _read_json(
                checkpoints.adaptive_round.get(
                    experiment=experiment, size=size, round=r
                ).output[0]
            )
        )
        if states[-1]["status"] != "continue":
            break
        r += 1
    return states


def _rounds(grid, size, states):
    """The points each round of one size added
    (mbphase.pipeline.adaptive.rounds_added)."""
    from mbphase.pipeline.adaptive import rounds_added

    return [[grid.point(size, m) for m in added] for added in rounds_added(states)]


def adaptive_final(experiment, size):
    """The last decision of one size (through the checkpoints: _states)."""
    return _states(experiment, size)[-1]


def adaptive_finals(experiment, sizes):
    """The last decisions of some sizes. The sizes advance side by side:
    while any is unfinished, one IncompleteCheckpointException names the
    pending checkpoint of every unfinished size (raising at the first would
    run the sizes one after the other)."""
    finals, pending = {}, []
    for size in sizes:
        try:
            finals[size] = adaptive_final(experiment, size)
        except IncompleteCheckpointException as exc:
            pending.append(exc)
    _raise_pending(pending)
    return finals


def _raise_pending(pending):
    """One IncompleteCheckpointException for several pending checkpoints."""
    if pending:
        targets = [
            t
            for e in pending
            for t in ([e.targetfile] if isinstance(e.targetfile, str) else e.targetfile)
        ]
        raise IncompleteCheckpointException(pending[0].rule, [str(t) for t in targets])


def resolved(experiment, in_params=False):
    """An experiment with its points: an adaptive one's are those of every
    round of every size (from input functions, or from params with
    in_params=True: Snakemake accepts a pending checkpoint there only if it
    is one file of the job's input)."""
    exp = EXPERIMENTS[experiment]
    if exp.adaptive is None:
        return exp
    grid = exp.adaptive
    try:  # every size decided, or one exception for all the pending rounds
        adaptive_finals(experiment, grid.sizes)
    except IncompleteCheckpointException as exc:
        if in_params and not isinstance(exc.targetfile, str):
            raise IncompleteCheckpointException(exc.rule, str(exc.targetfile[0]))
        raise
    rounds = [
        points
        for size in grid.sizes
        for points in _rounds(grid, size, _states(experiment, size))
    ]
    return exp.with_rounds(rounds)


def adaptive_targets(wildcards):
    """The run and trajectory files of every adaptive experiment (targets of
    `all`, like the fixed grids' ones)."""
    files, pending = [], []
    for name in EXPERIMENTS:
        if EXPERIMENTS[name].adaptive is None:
            continue
        try:
            exp = resolved(name)
        except IncompleteCheckpointException as exc:
            pending.append(exc)
            continue
        files += [
            template.format(**run_wildcards(exp, points, first, stop))
            for points in exp.job_points()
            for first, stop in exp.seed_blocks()
            for template in (RUN_FILE, TRAJECTORY_FILE)
        ]
    _raise_pending(pending)
    return files


def _start_inputs(wildcards):
    """With predict: the final decisions of the smaller sizes."""
    grid = EXPERIMENTS[wildcards.experiment].adaptive
    if not grid.settings.predict:
        return []
    smaller = [s for s in grid.sizes if s < int(wildcards.size)]
    finals = adaptive_finals(wildcards.experiment, smaller)
    return [
        ADAPTIVE_ROUND.format(
            experiment=wildcards.experiment, size=s, round=finals[s]["round"]
        )
        for s in smaller
    ]


def _round_state(wildcards):
    """The state a round starts from: the start plan, or the previous
    round's decision."""
    r = int(wildcards.round)
    if r == 0:
        return checkpoints.adaptive_start.get(
            experiment=wildcards.experiment, size=wildcards.size
        ).output[0]
    return checkpoints.adaptive_round.get(
        experiment=wildcards.experiment, size=wildcards.size, round=r - 1
    ).output[0]


def _round_experiment(wildcards):
    """The experiment restricted to the points this round measures: those
    of this size that rounds 0 .. this one added."""
    exp = EXPERIMENTS[wildcards.experiment]
    size, r = int(wildcards.size), int(wildcards.round)
    states = _states(wildcards.experiment, size, rounds=r)
    return exp.with_rounds(_rounds(exp.adaptive, size, states))


def _round_runs(wildcards):
    exp = _round_experiment(wildcards)
    return [
        RUN_FILE.format(**run_wildcards(exp, points, a, b))
        for points in exp.job_points()
        for a, b in exp.seed_blocks()
    ]


def _round_spec(wildcards):
    exp = _round_experiment(wildcards)
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


checkpoint adaptive_start:
    input:
        done=_start_inputs,
        sources=ANALYSIS_SOURCES,
    output:
        ADAPTIVE_START,
    log:
        "results/logs/adaptive/{experiment}/size{size}/start.log",
    benchmark:
        "results/benchmarks/adaptive/{experiment}/size{size}/start.tsv"
    conda:
        "../../envs/mbphase.yaml"
    params:
        settings=lambda w: _settings_json(w.experiment),
    shell:
        MBPHASE_SHELL
        + "mbphase adaptive-start --settings {params.settings:q} --size {wildcards.size} "
        "--done {input.done:q} --out {output:q} 2>&1 | tee {log:q}"


checkpoint adaptive_round:
    input:
        state=_round_state,
        runs=_round_runs,
        sources=ANALYSIS_SOURCES,
    output:
        ADAPTIVE_ROUND,
    log:
        "results/logs/adaptive/{experiment}/size{size}/round{round}.log",
    benchmark:
        "results/benchmarks/adaptive/{experiment}/size{size}/round{round}.tsv"
    wildcard_constraints:
        round=r"\d+",
    conda:
        "../../envs/mbphase.yaml"
    params:
        settings=lambda w: _settings_json(w.experiment),
        spec=_round_spec,
        runs_template=lambda w: run_template(RUN_FILE, w.experiment),
    shell:
        # tee: the decision (or why the transition cannot be located) shows
        # on the terminal as well as in the log
        MBPHASE_SHELL
        + "mbphase adaptive-round --spec {params.spec:q} --settings {params.settings:q} "
        "--state {input.state:q} --round {wildcards.round} "
        "--runs-template {params.runs_template:q} --out {output:q} 2>&1 | tee {log:q}"

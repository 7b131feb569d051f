#!/usr/bin/env bash
# test_slurm_pipeline.sh -- the pipeline under SLURM gives the same results as
# locally (issue 4). The one entry point for CI: needs root and Debian (see
# slurm_single_node.sh, which installs slurm-wlm, munge and the executor
# plugin if they are missing).
#
# Usage: tests/cluster/test_slurm_pipeline.sh [--config FILE] [--all-targets]
#            [--root DIR] [--keep] [--no-failure-check]
#
#   --config FILE       sweep to run (default tests/data/tiny_config.yaml)
#   --all-targets       run the whole pipeline (analysis and figures too);
#                       default: through aggregation (`--until aggregate`)
#   --root DIR          put the work directories here (default: a new temp dir)
#   --keep              keep the work directories (default: removed on success)
#   --no-failure-check  skip the failing-job check of step 1
#
# Steps, all in fresh work directories under the root, on one private
# single-node SLURM cluster (slurm_single_node.sh):
#   1. locally, the compile job alone (`--cores 2`, default profile): it fills
#      a Numba cache that all runs share (each work directory's .numba_cache
#      is a symlink to ROOT/numba_cache). Meanwhile, on the cluster, a run in
#      which one training job fails on purpose (a sitecustomize.py on
#      PYTHONPATH makes `mbphase run ... --m <M>` exit 3): the harness must
#      fail and show the job's SLURM log and the rule's own log;
#   2. the config locally (in the background) and through
#      workflow/profiles/slurm-test (every job an sbatch job, the training
#      jobs batched in job groups as in the user profile);
#   3. compare_results.py: aggregated tables identical row for row in every
#      seeded column, every training job in exactly one COMPLETED SLURM job.
# Exit status 0 if all hold; non-zero otherwise.
#
# Environment: MBPHASE_PYTHON (default .venv/bin/python) and the
# SLURM_HARNESS_* variables of slurm_single_node.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=slurm_single_node.sh
source "$HERE/slurm_single_node.sh"
PY=${MBPHASE_PYTHON:-$REPO/.venv/bin/python}
[[ $PY == /* ]] || PY=$REPO/$PY

config="$REPO/tests/data/tiny_config.yaml"
all_targets=0 keep=0 failure_check=1 root=""
while (( $# )); do
    case $1 in
        --config) config=$(realpath "$2"); shift 2 ;;
        --all-targets) all_targets=1; shift ;;
        --root) root=$2; shift 2 ;;
        --keep) keep=1; shift ;;
        --no-failure-check) failure_check=0; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

_t() { printf '[slurm-test %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
T0=$(_sh_now)
if [[ -z $root ]]; then root=$(mktemp -d "${TMPDIR:-/tmp}/mbphase-slurm-test.XXXXXX"); fi
mkdir -p "$root"; root=$(realpath "$root")
LOCAL=$root/local SLURM=$root/slurm FAILDIR=$root/slurm-fail
for d in "$LOCAL" "$SLURM" "$FAILDIR"; do
    [[ ! -e $d ]] || { echo "$d exists: use a fresh --root" >&2; exit 2; }
done
mkdir -p "$root/numba_cache" "$LOCAL" "$SLURM" "$FAILDIR"
for d in "$LOCAL" "$SLURM" "$FAILDIR"; do
    # the workflow sets NUMBA_CACHE_DIR=.numba_cache, relative to the work dir
    ln -s "$root/numba_cache" "$d/.numba_cache"
done

status=1 LOCAL_PID=""
finish() {
    local rc=$? i
    if [[ -n $LOCAL_PID ]] && kill -0 "$LOCAL_PID" 2>/dev/null; then
        # the background local run: its snakemake stops (and kills its jobs) on TERM
        pkill -TERM -P "$LOCAL_PID" 2>/dev/null || true
        for (( i = 0; i < 100; i++ )); do kill -0 "$LOCAL_PID" 2>/dev/null || break; sleep 0.1; done
    fi
    slurm_tear_down || true
    (( status == 0 )) && rc=0
    if (( rc == 0 && keep == 0 )); then
        rm -rf -- "$root"
    else
        _t "work directories kept in $root"
    fi
    _t "$( (( rc == 0 )) && echo PASSED || echo "FAILED (exit $rc)") after $(_sh_secs "$T0" "$(_sh_now)")s"
    exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

scope=(--until aggregate)
(( all_targets )) && scope=()

local_smk=("$PY" -m snakemake --snakefile "$REPO/Snakefile" --directory "$LOCAL"
    --configfile "$config" --cores 2)
local_bg() {  # name snakemake-args...: a local snakemake in the background
    local name=$1; shift
    (
        t=$(_sh_now); rc=0
        "${local_smk[@]}" "$@" >"$LOCAL/snakemake.$name.log" 2>&1 || rc=$?
        echo "$rc $(_sh_secs "$t" "$(_sh_now)")" >"$LOCAL/.exit.$name"
    ) &
    LOCAL_PID=$!
}
local_wait() {  # name: wait for it, fail if it failed; sets LOCAL_SECONDS
    local name=$1 rc
    wait "$LOCAL_PID" || true
    LOCAL_PID=""
    read -r rc LOCAL_SECONDS <"$LOCAL/.exit.$name" || { rc=1; LOCAL_SECONDS=?; }
    if [[ $rc != 0 ]]; then
        tail -n 60 "$LOCAL/snakemake.$name.log" >&2
        _t "local $name FAILED (log: $LOCAL/snakemake.$name.log)"; exit 1
    fi
}

# ---- 1. the cold Numba compile, locally; meanwhile a failing SLURM job -------
# The compile job (about a minute, one core) fills the Numba cache that all
# runs share; the SLURM run's compile job then only loads it. The failure
# check needs no compiled kernels (its job fails at Python start-up), so it
# runs on the cluster meanwhile.
_t "1/3 local compile job (fills the shared Numba cache), in the background"
local_bg compile results/numba_compiled.json
slurm_bring_up

if (( failure_check )); then
    _t "1/3 a training job that fails under SLURM, in $FAILDIR"
    # one training job of the config (from a dry run), and a stand-in for the
    # compile flag, so that only that job runs
    target=$("$PY" -m snakemake --snakefile "$REPO/Snakefile" --directory "$FAILDIR" \
        --configfile "$config" --cores 1 -n --until train 2>&1 \
        | grep -oE 'results/runs/[^ ,]+/seeds[0-9]+-[0-9]+\.parquet' | sort | head -n 1 || true)
    [[ -n $target ]] || { _t "FAILED: no training job found in a dry run of $config"; exit 1; }
    m=$(sed -E 's|.*/m([0-9]+)_T.*|\1|' <<<"$target")
    mkdir -p "$FAILDIR/results" "$FAILDIR/inject"
    echo '{"note": "stand-in written by tests/cluster/test_slurm_pipeline.sh"}' \
        >"$FAILDIR/results/numba_compiled.json"
    cat >"$FAILDIR/inject/sitecustomize.py" <<EOF
# written by tests/cluster/test_slurm_pipeline.sh: \`mbphase run ... --m $m\` fails
import os, sys
if sys.argv[1:2] == ["run"] and "--m" in sys.argv and sys.argv[sys.argv.index("--m") + 1] == "$m":
    print("INJECTED FAILURE (tests/cluster/test_slurm_pipeline.sh): mbphase run --m $m exits 3", file=sys.stderr, flush=True)
    os._exit(3)
EOF
    rc=0
    PYTHONPATH="$FAILDIR/inject${PYTHONPATH:+:$PYTHONPATH}" slurm_run_workflow \
        --snakefile "$REPO/Snakefile" --configfile "$config" --directory "$FAILDIR" \
        --timeout 180 -- "$target" 2>"$FAILDIR/harness.err" || rc=$?
    if (( rc == 0 )); then
        cat "$FAILDIR/harness.err" >&2
        _t "FAILED: the run with a failing SLURM job succeeded"; exit 1
    fi
    if ! grep -q "ended FAILED; its log" "$FAILDIR/harness.err" \
            || ! grep -q "^INJECTED FAILURE" "$FAILDIR/harness.err"; then
        cat "$FAILDIR/harness.err" >&2
        _t "FAILED: the harness did not show the failed job's SLURM log and its rule's log"; exit 1
    fi
    _t "OK: the failing SLURM job failed the run (exit $rc) and its logs were shown:"
    grep -E "ended FAILED; its log|^----- the rule's log|^INJECTED FAILURE" "$FAILDIR/harness.err" \
        | head -n 6 >&2
fi

local_wait compile
COMPILE_SECONDS=$LOCAL_SECONDS
_t "local compile done in ${COMPILE_SECONDS}s"

# ---- 2. the local run (background) and the SLURM run side by side -----------
# The local run is about half a minute of CPU; the SLURM run's wall time is
# mostly scheduling and polling latency.
_t "2/3 local run ($(basename "$config"), --cores 2, default profile) in $LOCAL, in the background"
local_bg run "${scope[@]}"
_t "2/3 SLURM run (profile slurm-test) in $SLURM"
slurm_run_workflow --snakefile "$REPO/Snakefile" --configfile "$config" --directory "$SLURM" \
    -- "${scope[@]}"
SLURM_SECONDS=$SLURM_HARNESS_RUN_SECONDS
local_wait run
_t "local run done in ${LOCAL_SECONDS}s (alongside the SLURM run)"

# ---- 3. compare -------------------------------------------------------------
_t "3/3 comparing"
"$PY" "$HERE/compare_results.py" --local "$LOCAL" --slurm "$SLURM" \
    --jobids "$SLURM/slurm_jobids.tsv" --rule train

status=0
_t "summary: local compile ${COMPILE_SECONDS}s, local run ${LOCAL_SECONDS}s, SLURM run ${SLURM_SECONDS}s ($(( $(wc -l <"$SLURM/slurm_jobids.tsv") - 1 )) SLURM jobs), cluster bring-up ${SLURM_HARNESS_UP_SECONDS}s"

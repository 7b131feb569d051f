#!/usr/bin/env bash
# slurm_single_node.sh -- run a Snakemake workflow on a real, private,
# single-node SLURM cluster brought up on this machine (issue 4).
#
# Usage (as a program):
#   tests/cluster/slurm_single_node.sh [--snakefile PATH] [--configfile PATH]...
#       [--directory WORKDIR] [--profile DIR] [--jobids-file PATH]
#       [--timeout SECS] [-- EXTRA SNAKEMAKE ARGS...]
#
#   --snakefile PATH   workflow to run        (default: $MBPHASE_SNAKEFILE, else
#                      <repo>/Snakefile, else <repo>/workflow/Snakefile)
#   --configfile PATH  passed to snakemake; may be repeated (default: none)
#   --directory DIR    snakemake working directory; created if missing
#                      (default: a fresh temporary directory, kept)
#   --profile DIR      snakemake profile    (default: <repo>/workflow/profiles/slurm-test)
#   --jobids-file PATH where the SLURM job ids are recorded
#                      (default: WORKDIR/slurm_jobids.tsv)
#   --timeout SECS     upper bound for the snakemake run (default: 600)
#   -- ARGS...         anything after `--` is appended to the snakemake call
#                      (targets, --config k=v, --forceall, ...)
#
# What it does: installs what is missing (Debian packages slurm-wlm and munge,
# PyPI package snakemake-executor-plugin-slurm into $MBPHASE_PYTHON's
# environment), writes a slurm.conf for THIS host into a private temporary
# state directory, starts its own munged, slurmctld and slurmd (on free
# ports, with their own munge key and socket), waits until the node is idle,
# runs `$PY -m snakemake` with the profile and `--slurm-status-command squeue`
# (no accounting database here, so sacct cannot be used), checks that every
# job went through SLURM (job ids from snakemake's log, their SLURM state and
# their SLURM log files) and writes the ids to the job-ids file. On every exit
# path it cancels its jobs, stops the daemons it started (by pid) and removes
# the state directory. A failing SLURM job makes the script fail and print that
# job's SLURM log. Exit status: snakemake's, or 1 for a harness failure.
#
# Usage (as a library, e.g. to run two workflows on one cluster session):
#   source tests/cluster/slurm_single_node.sh   # defines functions only;
#                                               # note: turns on set -euo pipefail
#   trap slurm_tear_down EXIT
#   slurm_bring_up
#   slurm_run_workflow --snakefile A/Snakefile --directory /tmp/a
#   slurm_run_workflow --snakefile B/Snakefile --directory /tmp/b -- --forceall
#   slurm_tear_down
#
# Environment:
#   MBPHASE_PYTHON            python with snakemake (default: <repo>/.venv/bin/python)
#   SLURM_HARNESS_UP_TIMEOUT  seconds to wait for the node to become idle (60)
#   SLURM_HARNESS_MEM_MARGIN  MB of memory withheld from SLURM (1024)
#   SLURM_HARNESS_NO_INSTALL  set to 1 to never install anything (fail instead)
#   SLURM_HARNESS_KEEP_STATE  set to 1 to keep the state dir (conf, logs) on exit
# Needs: root (apt-get, daemons as SlurmUser=root), bash, Debian/Ubuntu.
set -euo pipefail

_SH_SELF="${BASH_SOURCE[0]}"
_SH_REPO="$(cd "$(dirname "$_SH_SELF")/../.." && pwd)"
_SH_PY="${MBPHASE_PYTHON:-$_SH_REPO/.venv/bin/python}"
_SH_STATE_PREFIX="${TMPDIR:-/tmp}/mbphase-slurm."

SLURM_HARNESS_STATE=""   # set by slurm_bring_up
_SH_PIDS=()              # daemons started by this shell, in start order
_SH_SMK_PID=""           # running snakemake, if any
_SH_JOBIDS=()            # SLURM job ids of the current run
_SH_OLD_PATH=""          # PATH before bring-up (an srun wrapper is put first)

_sh_log() { printf '[slurm-harness %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
_sh_die() { _sh_log "ERROR: $*"; return 1; }
_sh_now() { date +%s.%N; }
_sh_secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# --------------------------------------------------------------------------
# prerequisites
# --------------------------------------------------------------------------
slurm_install_prereqs() {
    local need_apt=0 tool
    for tool in munged mungekey slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
        command -v "$tool" >/dev/null 2>&1 || need_apt=1
    done
    if [[ $need_apt == 1 ]]; then
        [[ ${SLURM_HARNESS_NO_INSTALL:-0} == 1 ]] && { _sh_die "slurm/munge missing and SLURM_HARNESS_NO_INSTALL=1"; return 1; }
        [[ $(id -u) == 0 ]] || { _sh_die "installing slurm-wlm/munge needs root"; return 1; }
        _sh_log "installing Debian packages slurm-wlm munge"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            slurm-wlm munge >/dev/null
    fi
    [[ -x $_SH_PY ]] || { _sh_die "python not found: $_SH_PY (set MBPHASE_PYTHON)"; return 1; }
    "$_SH_PY" -c 'import snakemake' 2>/dev/null || { _sh_die "$_SH_PY has no snakemake"; return 1; }
    if ! "$_SH_PY" -c 'import snakemake_executor_plugin_slurm' 2>/dev/null; then
        [[ ${SLURM_HARNESS_NO_INSTALL:-0} == 1 ]] && { _sh_die "executor plugin missing and SLURM_HARNESS_NO_INSTALL=1"; return 1; }
        _sh_log "installing snakemake-executor-plugin-slurm into $("$_SH_PY" -c 'import sys; print(sys.prefix)')"
        "$_SH_PY" -m pip install -q 'snakemake-executor-plugin-slurm>=1.4,<3'
    fi
}

# --------------------------------------------------------------------------
# stale state of harness runs that were killed with SIGKILL
# --------------------------------------------------------------------------
_sh_pid_is_ours() {  # pid statedir: is pid alive and started with statedir on its command line?
    [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -qF -- "$2"
}

_sh_reap_stale() {
    local d owner pid marker ids i
    for d in "$_SH_STATE_PREFIX"*; do
        [[ -d $d && -f $d/owner.pid ]] || continue
        owner=$(cat "$d/owner.pid" 2>/dev/null || true)
        [[ -n $owner ]] && kill -0 "$owner" 2>/dev/null && continue   # still in use
        _sh_log "cleaning up after a killed harness run: $d (owner pid $owner is gone)"
        # 1. the snakemake it had started (verified by its --directory)
        if [[ -f $d/snakemake.pid ]]; then
            read -r pid marker <"$d/snakemake.pid" || true
            if [[ -n ${pid:-} && -n ${marker:-} ]] && _sh_pid_is_ours "$pid" "$marker"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        # 2. its SLURM jobs, while its controller still answers
        if [[ -f $d/slurm.conf ]]; then
            ids=$(SLURM_CONF=$d/slurm.conf timeout 10 squeue -h -o %i 2>/dev/null | paste -sd, - || true)
            if [[ -n $ids ]]; then
                SLURM_CONF=$d/slurm.conf timeout 10 scancel --full "$ids" 2>/dev/null || true
                for (( i = 0; i < 40; i++ )); do
                    [[ -z $(find "$d/spool" -maxdepth 1 -type s 2>/dev/null) ]] && break
                    sleep 0.25
                done
            fi
        fi
        # 3. its daemons, newest first (verified by the state dir on their command line)
        if [[ -f $d/daemons.pids ]]; then
            for pid in $(tac "$d/daemons.pids"); do
                _sh_pid_is_ours "$pid" "$d" && kill -TERM "$pid" 2>/dev/null || true
            done
            for pid in $(cat "$d/daemons.pids"); do
                for (( i = 0; i < 50; i++ )); do _sh_pid_is_ours "$pid" "$d" || break; sleep 0.1; done
                _sh_pid_is_ours "$pid" "$d" && kill -KILL "$pid" 2>/dev/null || true
            done
        fi
        rm -rf -- "$d"
    done
}

# --------------------------------------------------------------------------
# bring up / tear down
# --------------------------------------------------------------------------
_sh_start_daemon() {  # name cmd...   (foreground daemon, started in the background)
    local name=$1; shift
    "$@" >"$SLURM_HARNESS_STATE/log/$name.out" 2>&1 &
    local pid=$!
    _SH_PIDS+=("$pid")
    echo "$pid" >>"$SLURM_HARNESS_STATE/daemons.pids"
    _sh_log "started $name (pid $pid)"
}

_sh_show_logs() {
    local f n
    [[ -n $SLURM_HARNESS_STATE && -d $SLURM_HARNESS_STATE/log ]] || return 0
    # *.log: the daemons' log files; *.out: their stdout/stderr (mostly the
    # same lines, but also what they print before their log file is open)
    for f in "$SLURM_HARNESS_STATE"/log/*.log "$SLURM_HARNESS_STATE"/log/*.out; do
        [[ -s $f ]] || continue
        n=40; [[ $f == *.out && -s ${f%.out}.log ]] && n=8
        echo "----- $(basename "$f") (last $n lines) -----" >&2
        tail -n "$n" "$f" >&2
    done
}

_sh_show_rule_logs() {  # slurm_log workdir: the rule logs its failed jobs name
    # snakemake's error block inside the SLURM log names the rule's own log
    # ("    log: results/logs/....log (check log file(s) for error details)"),
    # where the job's command wrote its error; show the end of each.
    local f
    { grep -oE '^ +log: .* \(check log file' "$1" 2>/dev/null || true; } \
        | sed -E 's/^ +log: //; s/ \(check log file$//; s/, /\n/g' | sort -u \
        | while read -r f; do
            [[ $f == /* ]] || f=$2/$f
            [[ -f $f ]] || continue
            echo "----- the rule's log $f (last 30 lines) -----" >&2
            tail -n 30 "$f" >&2
        done
    return 0
}

slurm_bring_up() {
    if [[ -n $SLURM_HARNESS_STATE ]]; then
        _sh_die "cluster already up ($SLURM_HARNESS_STATE)"; return 1
    fi
    local t0 host ncpu mem_kb mem_mb margin ctld_port slurmd_port st
    t0=$(_sh_now)
    slurm_install_prereqs
    SLURM_HARNESS_INSTALL_SECONDS=$(_sh_secs "$t0" "$(_sh_now)")
    t0=$(_sh_now)
    _sh_reap_stale

    # SLURM variables of an enclosing allocation would confuse sbatch/srun and the plugin
    local v
    for v in $(compgen -e | grep -E '^(SLURM|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL)_' | grep -v '^SLURM_HARNESS_' || true); do
        unset "$v"
    done

    SLURM_HARNESS_STATE=$(mktemp -d "${_SH_STATE_PREFIX}XXXXXX")
    echo "${BASHPID:-$$}" >"$SLURM_HARNESS_STATE/owner.pid"
    : >"$SLURM_HARNESS_STATE/daemons.pids"
    local S=$SLURM_HARNESS_STATE
    # munged insists that every directory on its socket path is world-executable
    # and that the key is private to its owner.
    chmod 0711 "$S"
    mkdir -p "$S/log" "$S/ctld" "$S/spool" "$S/run"
    mkdir -m 0711 "$S/munge-run"
    mkdir -m 0700 "$S/munge"
    mungekey --create --keyfile="$S/munge/munge.key" 2>/dev/null \
        || dd if=/dev/urandom of="$S/munge/munge.key" bs=1024 count=1 status=none
    chmod 0400 "$S/munge/munge.key"

    host=$(hostname -s)
    ncpu=$(nproc)
    mem_kb=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
    margin=${SLURM_HARNESS_MEM_MARGIN:-1024}
    mem_mb=$(( mem_kb / 1024 - margin ))
    (( mem_mb >= 256 )) || mem_mb=256
    # two free TCP ports, so a site's SLURM (6817/6818) or another harness is not disturbed
    read -r ctld_port slurmd_port < <("$_SH_PY" -c '
import socket
ss = [socket.socket() for _ in range(2)]
for s in ss:
    s.bind(("", 0))
print(*[s.getsockname()[1] for s in ss])
')

    cat >"$S/slurm.conf" <<EOF
# written by tests/cluster/slurm_single_node.sh for host $host
ClusterName=mbphase-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge-run/munge.socket
StateSaveLocation=$S/ctld
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/run/slurmctld.pid
SlurmdPidFile=$S/run/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
MailProg=/bin/true
# Finished jobs stay visible to squeue this long (there is no accounting
# database to ask later): the executor plugin's squeue status mode needs
# >= 3 x its first status-check delay, and the harness reads the final states
# after the run. They count against MaxJobCount meanwhile.
MinJobAge=3600
MaxJobCount=100000
KillWait=5
InactiveLimit=0
SlurmctldTimeout=60
SlurmdTimeout=60
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$ncpu RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF="$S/slurm.conf"
    # snakemake-executor-plugin-slurm-jobstep (0.6) strips every SLURM_* variable
    # but the job's identity, SLURM_CONF included, before it calls `srun` inside
    # the job; srun then finds no configuration (no /etc/slurm/slurm.conf, no DNS
    # SRV record). An `srun` first on PATH puts our SLURM_CONF back.
    local real_srun
    real_srun=$(command -v srun)
    mkdir -p "$S/bin"
    cat >"$S/bin/srun" <<EOF2
#!/bin/sh
# written by slurm_single_node.sh: the jobstep plugin drops SLURM_CONF
SLURM_CONF="\${SLURM_CONF:-$S/slurm.conf}"
export SLURM_CONF
exec $real_srun "\$@"
EOF2
    chmod 0755 "$S/bin/srun"
    _SH_OLD_PATH=$PATH
    export PATH="$S/bin:$PATH"
    _sh_log "state dir $S; slurm $(slurmctld -V | awk '{print $2}'); node $host CPUs=$ncpu RealMemory=$mem_mb; ports $ctld_port/$slurmd_port"
    _sh_log "slurmd -C: $(slurmd -C 2>/dev/null | head -1)"

    _sh_start_daemon munged munged -F \
        --key-file="$S/munge/munge.key" --socket="$S/munge-run/munge.socket" \
        --pid-file="$S/munge-run/munged.pid" --log-file="$S/log/munged.log" \
        --seed-file="$S/munge/munged.seed"
    local i
    for (( i = 0; i < 50; i++ )); do
        [[ -S $S/munge-run/munge.socket ]] && break
        sleep 0.1
    done
    munge -S "$S/munge-run/munge.socket" -n | unmunge -S "$S/munge-run/munge.socket" >/dev/null \
        || { _sh_show_logs; _sh_die "munged does not answer"; return 1; }

    _sh_start_daemon slurmctld slurmctld -D -c -f "$S/slurm.conf"
    _sh_start_daemon slurmd slurmd -D -f "$S/slurm.conf" -N "$host"

    local timeout=${SLURM_HARNESS_UP_TIMEOUT:-60} deadline
    deadline=$(( $(date +%s) + timeout ))
    while :; do
        st=$(sinfo -h -n "$host" -o '%T' 2>/dev/null || true)
        [[ $st == idle ]] && break
        for i in "${_SH_PIDS[@]}"; do
            kill -0 "$i" 2>/dev/null || { _sh_show_logs; _sh_die "a daemon (pid $i) exited during bring-up"; return 1; }
        done
        if (( $(date +%s) >= deadline )); then
            _sh_show_logs
            sinfo -N -l >&2 || true
            _sh_die "node $host not idle after ${timeout}s (state: '${st:-none}')"; return 1
        fi
        sleep 0.5
    done
    SLURM_HARNESS_UP_SECONDS=$(_sh_secs "$t0" "$(_sh_now)")
    _sh_log "cluster up in ${SLURM_HARNESS_UP_SECONDS}s: $(sinfo -h -o '%P %a %D %T %C' | head -1)"
}

_sh_stop_snakemake() {  # SIGINT: snakemake cancels its SLURM jobs and exits
    local pid=$_SH_SMK_PID i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    _sh_log "stopping snakemake (pid $pid) with SIGINT"
    kill -INT "$pid" 2>/dev/null || true
    for (( i = 0; i < 300; i++ )); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    _sh_log "snakemake (pid $pid) still running after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
}

slurm_tear_down() {
    local rc=$? pid i
    trap - INT TERM
    _sh_stop_snakemake
    _SH_SMK_PID=""
    if [[ -z $SLURM_HARNESS_STATE ]]; then return "$rc"; fi
    local S=$SLURM_HARNESS_STATE
    # cancel whatever still runs in OUR cluster, and let slurmd reap the job steps
    if [[ ${#_SH_PIDS[@]} -gt 0 ]] && kill -0 "${_SH_PIDS[-1]}" 2>/dev/null; then
        if [[ -n $(squeue -h -o %i 2>/dev/null) ]]; then
            _sh_log "cancelling remaining SLURM jobs: $(squeue -h -o %i | tr '\n' ' ')"
            scancel --full "$(squeue -h -o %i | tr '\n' ',' | sed 's/,$//')" 2>/dev/null || true
            for (( i = 0; i < 60; i++ )); do
                [[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
                sleep 0.5
            done
        fi
        for (( i = 0; i < 40; i++ )); do   # slurmstepd's sockets (<node>_<job>.<step>)
            [[ -z $(find "$S/spool" -maxdepth 1 -type s 2>/dev/null) ]] && break
            sleep 0.25
        done
    fi
    # stop the daemons this shell started, newest first, by pid
    for (( i = ${#_SH_PIDS[@]} - 1; i >= 0; i-- )); do
        pid=${_SH_PIDS[i]}
        _sh_pid_is_ours "$pid" "$S" && kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${_SH_PIDS[@]}"; do
        for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if _sh_pid_is_ours "$pid" "$S"; then
            _sh_log "pid $pid did not stop on TERM; killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
    _SH_PIDS=()
    if [[ ${SLURM_HARNESS_KEEP_STATE:-0} == 1 ]]; then
        rm -f "$S/owner.pid" "$S/daemons.pids" "$S/snakemake.pid"
        _sh_log "daemons stopped; state kept in $S"
    else
        rm -rf -- "$S"
        _sh_log "daemons stopped; state removed"
    fi
    SLURM_HARNESS_STATE=""
    unset SLURM_CONF
    [[ -n $_SH_OLD_PATH ]] && PATH=$_SH_OLD_PATH
    _SH_OLD_PATH=""
    return "$rc"
}

# --------------------------------------------------------------------------
# one workflow run
# --------------------------------------------------------------------------
slurm_run_workflow() {
    local snakefile=${MBPHASE_SNAKEFILE:-}
    if [[ -z $snakefile ]]; then
        snakefile=$_SH_REPO/Snakefile
        [[ -f $snakefile ]] || snakefile=$_SH_REPO/workflow/Snakefile
    fi
    local profile="$_SH_REPO/workflow/profiles/slurm-test"
    local workdir="" jobids_file="" run_timeout=600
    local -a configfiles=() extra=()
    while (( $# )); do
        case $1 in
            --snakefile) snakefile=$2; shift 2 ;;
            --configfile) configfiles+=("$2"); shift 2 ;;
            --directory) workdir=$2; shift 2 ;;
            --profile) profile=$2; shift 2 ;;
            --jobids-file) jobids_file=$2; shift 2 ;;
            --timeout) run_timeout=$2; shift 2 ;;
            --) shift; extra=("$@"); break ;;
            -h|--help) sed -n '2,/^set -euo/p' "$_SH_SELF" | sed '$d; s/^# \{0,1\}//'; return 0 ;;
            *) _sh_die "unknown option '$1' (see --help)"; return 1 ;;
        esac
    done
    [[ -n $SLURM_HARNESS_STATE ]] || { _sh_die "cluster not up: call slurm_bring_up first"; return 1; }
    [[ -f $snakefile ]] || { _sh_die "no Snakefile at $snakefile"; return 1; }
    [[ -d $profile ]] || { _sh_die "no profile directory $profile"; return 1; }
    snakefile=$(realpath "$snakefile"); profile=$(realpath "$profile")
    local cf args_cf=()
    for cf in "${configfiles[@]+"${configfiles[@]}"}"; do
        [[ -f $cf ]] || { _sh_die "no config file $cf"; return 1; }
        args_cf+=(--configfile "$(realpath "$cf")")
    done
    if [[ -z $workdir ]]; then workdir=$(mktemp -d "${TMPDIR:-/tmp}/mbphase-slurm-run.XXXXXX"); fi
    mkdir -p "$workdir"; workdir=$(realpath "$workdir")
    [[ -n $jobids_file ]] || jobids_file="$workdir/slurm_jobids.tsv"
    local smk_log="$workdir/slurm_harness.snakemake.log"

    local -a cmd=("$_SH_PY" -m snakemake
        --snakefile "$snakefile" --directory "$workdir" --profile "$profile"
        "${args_cf[@]+"${args_cf[@]}"}"
        --executor slurm --slurm-status-command squeue --slurm-keep-successful-logs
        "${extra[@]+"${extra[@]}"}")
    _sh_log "workdir $workdir"
    _sh_log "running: ${cmd[*]}"
    local t0 rc=0
    t0=$(_sh_now)
    # In the background, so that INT/TERM reach our trap within a second.
    # Background jobs of a script start with SIGINT ignored, and Python then
    # never raises KeyboardInterrupt: `env --default-signal` undoes that, so
    # that SIGINT makes snakemake cancel its SLURM jobs (SIGTERM would make it
    # wait for them).
    : >"$smk_log"   # exists before `tail` below opens it
    env --default-signal=INT "${cmd[@]}" >>"$smk_log" 2>&1 &
    _SH_SMK_PID=$!
    echo "$_SH_SMK_PID $workdir" >"$SLURM_HARNESS_STATE/snakemake.pid"
    local tail_pid deadline
    tail -n +1 -f --pid="$_SH_SMK_PID" "$smk_log" >&2 &
    tail_pid=$!
    deadline=$(( $(date +%s) + run_timeout ))
    while kill -0 "$_SH_SMK_PID" 2>/dev/null; do
        if (( $(date +%s) >= deadline )); then
            _sh_log "snakemake timed out after ${run_timeout}s"
            _sh_stop_snakemake
            break
        fi
        sleep 1
    done
    wait "$_SH_SMK_PID" 2>/dev/null || rc=$?
    _SH_SMK_PID=""
    rm -f "$SLURM_HARNESS_STATE/snakemake.pid"
    wait "$tail_pid" 2>/dev/null || true
    SLURM_HARNESS_RUN_SECONDS=$(_sh_secs "$t0" "$(_sh_now)")

    # ---- which jobs went through SLURM, and how did they end? -------------
    # plugin lines:
    #   "Job 3 has been submitted with SLURM jobid 12 (log: /…/12.log)."
    #   (a group job's snakemake id is a UUID: "Job 1b2c…-… has been submitted …")
    #   "Submitted array job with Snakemake IDs 4,7,5 and SLURM job ID 13. The
    #    individual task IDs are 1-3."  (--slurm-array-jobs; task i is SLURM
    #    job 13_i, its log .snakemake/slurm_logs/rule_<rule>/13_i.log)
    local line jid logf state n_bad=0 i a b
    local -a e_jid=() e_smk=() e_log=() smk_ids=()
    declare -A states=() when=()
    _SH_JOBIDS=()
    while IFS='|' read -r jid state times; do
        [[ -n $jid ]] && { states[$jid]=$state; when[$jid]=$times; }
    done < <(squeue -h --states=all -r -o '%i|%T|%S	%e' 2>/dev/null || true)
    while read -r line; do
        if [[ $line =~ Job\ ([^ ]+)\ has\ been\ submitted\ with\ SLURM\ jobid\ ([0-9]+)\ \(log:\ (.*)\)\.$ ]]; then
            e_jid+=("${BASH_REMATCH[2]}"); e_smk+=("${BASH_REMATCH[1]}"); e_log+=("${BASH_REMATCH[3]}")
        elif [[ $line =~ Submitted\ array\ job\ with\ Snakemake\ IDs\ ([0-9,]+)\ and\ SLURM\ job\ ID\ ([0-9]+)\.\ The\ individual\ task\ IDs\ are\ ([0-9]+)-([0-9]+)\. ]]; then
            IFS=, read -r -a smk_ids <<<"${BASH_REMATCH[1]}"
            jid=${BASH_REMATCH[2]}; a=${BASH_REMATCH[3]}; b=${BASH_REMATCH[4]}
            for (( i = a; i <= b; i++ )); do
                logf=$(find "$workdir/.snakemake/slurm_logs" -name "${jid}_${i}.log" -print -quit 2>/dev/null || true)
                e_jid+=("${jid}_${i}"); e_smk+=("${smk_ids[i - a]:-?}")
                e_log+=("${logf:-$workdir/.snakemake/slurm_logs/?/${jid}_${i}.log}")
            done
        fi
    done <"$smk_log"
    printf 'slurm_jobid\tstate\tstart\tend\tsnakemake_jobid\tslurm_log\n' >"$jobids_file"
    for i in "${!e_jid[@]}"; do
        jid=${e_jid[i]}; logf=${e_log[i]}
        state=${states[$jid]:-UNKNOWN}
        _SH_JOBIDS+=("$jid")
        printf '%s\t%s\t%s\t%s\t%s\n' "$jid" "$state" "${when[$jid]:-?$'\t'?}" \
            "${e_smk[i]}" "$logf" >>"$jobids_file"
        if [[ $state != COMPLETED ]]; then
            n_bad=$(( n_bad + 1 ))
            echo "===== SLURM job $jid ended $state; its log $logf: =====" >&2
            if [[ -f $logf ]]; then
                tail -n 60 "$logf" >&2
                _sh_show_rule_logs "$logf" "$workdir"
            else
                echo "(log file missing: the job may not have started; daemon logs follow)" >&2
                _sh_show_logs
            fi
        elif [[ ! -s $logf ]]; then
            n_bad=$(( n_bad + 1 ))
            _sh_log "SLURM job $jid: log file $logf missing"
        fi
    done
    _sh_log "snakemake exit $rc after ${SLURM_HARNESS_RUN_SECONDS}s; ${#_SH_JOBIDS[@]} SLURM job(s): ${_SH_JOBIDS[*]:-none}; ids in $jobids_file"
    if (( rc != 0 )); then
        _sh_log "workflow FAILED (snakemake log: $smk_log)"
        return "$rc"
    fi
    if (( n_bad > 0 )); then
        _sh_die "$n_bad SLURM job(s) did not complete cleanly"; return 1
    fi
    if (( ${#_SH_JOBIDS[@]} == 0 )) && ! grep -qE 'Nothing to be done|0 of 0 steps' "$smk_log"; then
        _sh_die "snakemake succeeded but no job was submitted through SLURM"; return 1
    fi
    _sh_log "OK: all ${#_SH_JOBIDS[@]} job(s) ran under SLURM and COMPLETED"
}

# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------
slurm_harness_main() {
    case ${1:-} in -h|--help) slurm_run_workflow --help; return 0 ;; esac
    trap slurm_tear_down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    slurm_bring_up
    slurm_run_workflow "$@"
    _sh_log "summary: installs ${SLURM_HARNESS_INSTALL_SECONDS}s, bring-up ${SLURM_HARNESS_UP_SECONDS}s, workflow ${SLURM_HARNESS_RUN_SECONDS}s, ${#_SH_JOBIDS[@]} SLURM job(s)"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    slurm_harness_main "$@"
fi

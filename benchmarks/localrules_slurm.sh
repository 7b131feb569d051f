#!/usr/bin/env bash
# localrules_slurm.sh -- what the workflow's `localrules` save on a SLURM
# cluster: SLURM submissions and wall time of a whole small sweep (the tiny
# config, to the figures and the report tables) through
# workflow/profiles/slurm-test on a private single-node cluster
# (tests/cluster/slurm_single_node.sh), once with the Snakefile as it is and
# once with a copy of the workflow whose `localrules:` directive is removed.
#
# Usage: benchmarks/localrules_slurm.sh [--config FILE] [--rounds N]
#   --config FILE  sweep to run (default tests/data/tiny_config.yaml)
#   --rounds N     runs of each variant, alternating (default 1)
#
# Needs root and Debian, like the SLURM test (it installs slurm-wlm and munge
# if missing). The Numba cache is filled once, locally, before the timed runs;
# every run starts from an empty work directory. Prints one line per run and
# a summary: sbatch submissions (SLURM job ids recorded by the harness) and
# the Snakemake run's wall seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
# shellcheck source=../tests/cluster/slurm_single_node.sh
source "$REPO/tests/cluster/slurm_single_node.sh"
PY=${MBPHASE_PYTHON:-$REPO/.venv/bin/python}
[[ $PY == /* ]] || PY=$REPO/$PY

config="$REPO/tests/data/tiny_config.yaml" rounds=1
while (( $# )); do
    case $1 in
        --config) config=$(realpath "$2"); shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

root=$(mktemp -d "${TMPDIR:-/tmp}/mbphase-localrules.XXXXXX")
finish() { slurm_tear_down || true; rm -rf -- "$root"; }
trap finish EXIT

# The workflow without its localrules: a copy of Snakefile and workflow/
# (the package is the installed one, as in the original).
mkdir -p "$root/without-localrules"
cp -r "$REPO/Snakefile" "$REPO/workflow" "$REPO/envs" "$root/without-localrules/"
"$PY" - "$root/without-localrules/Snakefile" <<'EOF'
import re, sys
path = sys.argv[1]
text = open(path).read()
stripped = re.sub(r"\nlocalrules:\n(    \w+,\n)+", "\n", text)
assert stripped != text and "localrules" not in stripped.split("#")[0], "no localrules directive found"
open(path, "w").write(stripped)
EOF
declare -A SNAKEFILE=([with]="$REPO/Snakefile" [without]="$root/without-localrules/Snakefile")

mkdir -p "$root/numba_cache"
work() {  # variant round: a fresh work directory sharing the Numba cache
    local dir="$root/run-$1-$2"
    mkdir -p "$dir"
    ln -s "$root/numba_cache" "$dir/.numba_cache"
    echo "$dir"
}
echo "filling the Numba cache locally" >&2
"$PY" -m snakemake --snakefile "$REPO/Snakefile" --directory "$(work warm 0)" --configfile "$config" \
    --cores 2 results/numba_compiled.json >/dev/null 2>&1

slurm_bring_up
declare -A SUBMITS=() SECONDS_=()
for (( r = 1; r <= rounds; r++ )); do
    variants=(with without)
    (( r % 2 == 0 )) && variants=(without with)
    for v in "${variants[@]}"; do
        dir=$(work "$v" "$r")
        slurm_run_workflow --snakefile "${SNAKEFILE[$v]}" --configfile "$config" --directory "$dir" \
            --timeout 1200 >/dev/null
        n=$(( $(wc -l <"$dir/slurm_jobids.tsv") - 1 ))
        echo "round $r, $v localrules: $n sbatch submissions, ${SLURM_HARNESS_RUN_SECONDS} s wall"
        SUBMITS[$v]+="$n "
        SECONDS_[$v]+="$SLURM_HARNESS_RUN_SECONDS "
    done
done
echo "summary ($(basename "$config"), profile slurm-test, load $(cut -d' ' -f1 /proc/loadavg)):"
for v in with without; do
    echo "  $v localrules: submissions ${SUBMITS[$v]}; wall seconds ${SECONDS_[$v]}"
done

# mbphase: phase transitions in the mini-batch size of two-layer networks.
#
#   snakemake --cores 2                                        # default sweep
#   snakemake --cores 2 --configfile workflow/presets/paper.yaml   # a preset
#
# The rules live in workflow/rules/, the science in the mbphase package; the
# names of files, tables and figures in mbphase.names.


include: "workflow/rules/preflight.smk"


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/adaptive.smk"


# Seconds of work each, on files the whole sweep shares: on a cluster they
# run in the main Snakemake process instead of each paying a submission and
# a queue wait; the adaptive grid's checkpoints aggregate a few run files.
# (Training jobs and the compilation go to the cluster.)
localrules:
    all,
    code_version,
    aggregate,
    analyse,
    plot,
    report_tables,
    adaptive_start,
    adaptive_round,


rule all:
    default_target: True
    input:
        all_targets(),

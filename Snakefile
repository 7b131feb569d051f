# mbphase: phase transitions in the mini-batch size of two-layer networks.
#
#   snakemake --cores 2                                        # default sweep
#   snakemake --cores 2 --configfile workflow/presets/paper.yaml   # a preset
#
# The rules live in workflow/rules/, the science in the mbphase package.


configfile: "config.yaml"


wildcard_constraints:
    experiment=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    size=r"\d+",
    m=r"\d+",
    temperature=r"\d[0-9.e+-]*",
    init=r"random|teacher",
    first=r"\d+",
    stop=r"\d+",


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/analysis.smk"


rule all:
    default_target: True
    input:
        all_targets(),

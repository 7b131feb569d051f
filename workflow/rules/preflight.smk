# Checks of config.yaml that must come before Snakemake reads it: its merge
# of a config walks every value a YAML alias expands to, so an alias bomb
# would hang Snakemake before any other check runs. The file's size and
# expansion are bounded here (mbphase.pipeline.config.load_yaml); everything else is
# checked in common.smk. (A --configfile is read by Snakemake before this
# file runs: see README, Limits.)

import os

from snakemake.exceptions import WorkflowError

try:
    from mbphase.pipeline.config import ConfigError, load_yaml
except ImportError:
    pass  # common.smk says how to install the package
else:
    # (imported as a module, the config is the host's `config:`, and a
    # config.yaml in the working directory is the host's)
    if workflow.modifier.is_main_snakefile() and os.path.exists("config.yaml"):
        try:
            load_yaml("config.yaml")
        except ConfigError as exc:
            raise WorkflowError(f"mbphase: invalid config: {exc}")

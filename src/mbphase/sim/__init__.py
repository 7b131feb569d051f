"""The simulation: everything that determines a run's rows (random streams,
parameters, teacher, patterns, observables, the kernels and the driver that
turns their output into the run table). ``mbphase.CODE_VERSION`` is the hash
of this folder, so editing anything here marks the old rows as stale, and
editing anything elsewhere does not."""

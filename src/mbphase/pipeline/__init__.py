"""The glue between the simulation and the workflow: the sweep
configuration, run-file layout, checked Parquet storage, aggregation of run
files and the compile warm-up. Nothing here changes a run's rows."""

"""The run table: one row per (experiment, size, m, seed), its columns and
their meaning, stored as Parquet with the schema version in the metadata.

Bump :data:`SCHEMA_VERSION` whenever a column is added, removed or changes
meaning; aggregation refuses files of another version.
"""

from __future__ import annotations

import json

import pyarrow as pa

from .params import OPTIONS, TYPES

SCHEMA_VERSION = 2
METADATA_KEY = b"mbphase"

# Parameter columns: every option of RunParams (N with its default filled
# in), typed and documented by its declaration.
_ARROW_TYPES = {str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_()}
PARAM_COLUMNS = {name: (_ARROW_TYPES[TYPES[name]], option.column_doc()) for name, option in OPTIONS.items()}

ID_COLUMNS = {
    "experiment": (pa.string(), "experiment name in the config"),
    "size_key": (pa.string(), "which parameter the experiment's sizes set: d | N"),
    "size": (pa.int64(), "value of the size parameter"),
    "base_seed": (pa.int64(), "experiment seed; run streams come from SeedSequence([base_seed, seed])"),
    "seed": (pa.int64(), "run index within the point"),
}

OBSERVABLE_COLUMNS = {
    "status": (pa.string(), "ok | diverged (the SGD loss or a weight became NaN or inf; the run stopped there and its observables are NaN)"),
    "success": (pa.bool_(), "discrete: the student computes the teacher's function (see success_method); continuous: gen_error <= success_threshold"),
    "success_method": (pa.string(), "how success was decided: weights | enumeration (all 2^N binary inputs) | test_set (zero test errors) | none"),
    "t_solve": (pa.float64(), "first sweep (discrete) or evaluated step (continuous) with success; NaN if never"),
    "t_run": (pa.int64(), "sweeps or steps actually run"),
    "q": (pa.float64(), "final overlap, mean over units of W_k.T_k/(|W_k||T_k|), best unit matching for dense, |q_k| for parity"),
    "gen_error": (pa.float64(), "error rate on n_test fresh patterns (0 on success for discrete students)"),
    "gen_error_se": (pa.float64(), "binomial standard error of gen_error"),
    "train_error": (pa.float64(), "error rate on the last mini-batch"),
    "acceptance_rate": (pa.float64(), "accepted / proposed flips over the run (discrete; NaN for continuous)"),
    "final_loss": (pa.float64(), "mean loss on the last mini-batch (continuous; NaN for discrete)"),
    "q_late": (pa.float64(), "overlap averaged over the second half of a run that did not stop early (NaN otherwise)"),
    "energy_late": (pa.float64(), "training error per pattern averaged over the second half of the run; greedy: at the end of each sweep, on the full training set (finite data) or the mini-batch (online); SGD: the mini-batch at each evaluation; NaN if stopped early"),
    "pattern_evals": (pa.int64(), "work done: proposals x m (discrete) or steps x m (continuous)"),
}

PROVENANCE_COLUMNS = {
    "schema_version": (pa.int64(), "version of this table's schema"),
    "mbphase_version": (pa.string(), "package version"),
    "code_version": (pa.string(), "hash of the simulation's source files (mbphase.CODE_VERSION)"),
    "versions": (pa.string(), "JSON of python, numpy, numba, pandas, pyarrow versions"),
    "job_seeds": (pa.int64(), "seeds computed by the job that wrote this row"),
    "job_threads": (pa.int64(), "Numba threads of that job"),
    "job_wall_time_s": (pa.float64(), "wall time of that job's computation, seconds"),
    "throughput": (pa.float64(), "that job's pattern evaluations per second"),
}

# Columns that legitimately differ between identical runs (timing and how
# the seeds were split into jobs); everything else is bit-identical.
NONDETERMINISTIC_COLUMNS = ("job_seeds", "job_threads", "job_wall_time_s", "throughput")

COLUMNS = {**ID_COLUMNS, **PARAM_COLUMNS, **OBSERVABLE_COLUMNS, **PROVENANCE_COLUMNS}

TRAJECTORY_COLUMNS = {
    "experiment": (pa.string(), "experiment name"),
    "size": (pa.int64(), "value of the size parameter"),
    "m": (pa.int64(), "mini-batch size"),
    "seed": (pa.int64(), "run index"),
    "t": (pa.int64(), "sweep (discrete) or step (continuous)"),
    "q": (pa.float64(), "overlap at t"),
    "test_error": (pa.float64(), "error rate on the run's test set at t"),
    "acceptance_rate": (pa.float64(), "discrete: accepted / proposed since the previous sample; NaN for continuous"),
    "loss": (pa.float64(), "continuous: mean loss of the step at t; NaN for discrete"),
}


def arrow_schema(columns=COLUMNS, kind: str = "runs") -> pa.Schema:
    """The Arrow schema, with column docs and the schema version as metadata."""
    meta = {"schema_version": SCHEMA_VERSION, "kind": kind, "columns": {k: doc for k, (_, doc) in columns.items()}}
    return pa.schema([pa.field(k, t) for k, (t, _) in columns.items()], metadata={METADATA_KEY: json.dumps(meta).encode()})


def file_metadata(schema: pa.Schema) -> dict:
    """The mbphase metadata of a Parquet/Arrow schema ({} if absent)."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


# Integer columns that may hold nulls (an option that does not apply, such as
# train_size for online data): pandas reads them as its nullable Int64.
NULLABLE_INT_COLUMNS = ("train_size",)


def pandas_metadata(columns=COLUMNS) -> bytes:
    """The 'pandas' schema metadata that pyarrow's ``Table.from_pandas``
    writes for a frame of ``columns``, derived from the declared types, so
    that a table built without pandas (a training job does not import it)
    reads back with ``pd.read_parquet`` as one written from pandas: strings
    as str, nullable integers (:data:`NULLABLE_INT_COLUMNS`) as Int64."""
    from importlib import metadata

    def kind(name, arrow_type):
        if pa.types.is_string(arrow_type):
            return "unicode", "str"
        if pa.types.is_boolean(arrow_type):
            return "bool", "bool"
        numpy = "Int64" if name in NULLABLE_INT_COLUMNS else str(arrow_type)
        return str(arrow_type), numpy

    entries = []
    for name, (arrow_type, _) in columns.items():
        pandas_type, numpy_type = kind(name, arrow_type)
        entries.append({"name": name, "field_name": name, "pandas_type": pandas_type, "numpy_type": numpy_type, "metadata": None})
    try:
        pandas_version = metadata.version("pandas")
    except metadata.PackageNotFoundError:
        pandas_version = None
    meta = {
        "index_columns": [], "column_indexes": [], "columns": entries, "attributes": {},
        "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": pandas_version,
    }
    return json.dumps(meta).encode()


def table_schema(columns=COLUMNS, kind: str = "runs") -> pa.Schema:
    """:func:`arrow_schema` with the pandas metadata of :func:`pandas_metadata`:
    the schema of a run or trajectory file written without pandas."""
    schema = arrow_schema(columns, kind)
    return schema.with_metadata({**schema.metadata, b"pandas": pandas_metadata(columns)})

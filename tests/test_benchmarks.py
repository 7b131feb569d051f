"""The benchmark: its baselines implement the project's dynamics, and the
script runs every section and writes the table. Behaviour only: no timing
is ever asserted."""

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import naive
from mbphase.sim import sgd
from mbphase.sim.params import make_params
from mbphase.sim.run import run_point
from mbphase.sim.teacher import COMMITTEE

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import baselines  # noqa: E402

COLUMNS = ["section", "case", "implementation", "threads", "work", "seconds", "value", "unit", "ratio", "ratio_of", "target", "met", "cpu_per_wall", "load", "note"]


def random_committee(seed):
    """A random sparse committee (random topology, so fields overlap), a
    student on the same fields and a labelled +-1 batch (X is (N, m))."""
    r = np.random.default_rng(seed)
    K = int(r.choice([1, 3, 5]))
    d = int(r.choice([1, 3, 5, 7]))
    N = K * d + int(r.integers(0, 4))
    m = int(r.integers(1, 40))
    fields = np.stack([np.sort(r.choice(N, d, replace=False)) for _ in range(K)])
    T = r.choice([-1.0, 1.0], size=(K, d))
    W = r.choice([-1.0, 1.0], size=(K, d))
    X = r.choice([-1.0, 1.0], size=(N, m))
    y = naive.network_output(T, fields, "committee", X)
    return T, fields, W, X, y, r


@pytest.mark.parametrize("seed", range(40))
def test_baselines_energy_change_matches_naive_recomputation(seed):
    T, fields, W, X, y, r = random_committee(seed)
    K, d = W.shape
    m = X.shape[1]
    rows = np.ascontiguousarray(X.T)  # the scalar baseline stores one pattern per row
    S, C, s_new = np.empty((K, m)), np.empty(m), np.empty(m)
    E = baselines.scalar_batch_state(W, fields, rows, y, S, C)
    assert E == naive.energy(W, fields, "committee", X, y)
    Xu = X[fields]
    S_np = baselines.np_sign(np.einsum("kd,kdm->km", W, Xu))
    np.testing.assert_array_equal(S_np, S)
    for _ in range(5):
        k, j = int(r.integers(K)), int(r.integers(d))
        expected = naive.flip_energy_change(W, fields, "committee", X, y, k, j, -W[k, j])
        before = W.copy()
        assert baselines.scalar_delta_energy(W, fields, rows, y, S, C, k, j, -W[k, j], s_new) == expected
        np.testing.assert_array_equal(W, before)
        flipped = W.copy()
        flipped[k, j] = -flipped[k, j]
        np.testing.assert_array_equal(s_new, naive.hidden_signs(flipped, fields, X)[k])
        errors, _, _ = baselines.numpy_unit_proposal(flipped, Xu, y, S_np.sum(axis=0), S_np, k)
        assert errors - E == expected


def test_baselines_and_project_recover_the_teacher_at_large_m():
    p = make_params(dict(architecture="sparse", weights="discrete", topology="tree", K=3, d=7, m=300, max_sweeps=60, n_test=500))
    runs, _ = run_point(p, range(3), 11)
    assert runs["success"].all()
    r = np.random.default_rng(5)
    fields = np.arange(21).reshape(3, 7)
    for seed in range(3):
        T = r.choice([-1.0, 1.0], size=(3, 7))
        W0 = r.choice([-1.0, 1.0], size=(3, 7))
        W_plain, acc_plain, proposals, E_plain = baselines.numpy_greedy(T, fields, W0, 21, 300, 60, np.random.default_rng(seed))
        W_stored, acc_stored, _, E_stored = baselines.numpy_greedy(T, fields, W0, 21, 300, 60, np.random.default_rng(seed), stored_fields=True)
        # Same random numbers, same dynamics: the two NumPy variants agree exactly.
        np.testing.assert_array_equal(W_plain, W_stored)
        assert acc_plain == acc_stored and E_plain == E_stored
        np.testing.assert_array_equal(W_plain, T)
        assert E_plain[-1] == 0 and proposals == 60 * 21
        W = W0.copy()
        accepted, proposals, E = baselines.scalar_greedy(T, fields, W, 21, 300, 60, seed)
        np.testing.assert_array_equal(W, T)
        assert E == 0 and proposals == 60 * 21 and 0 < accepted < proposals


def test_baselines_fail_well_below_the_transition():
    """At m = 4 (far below m_c) greedy dynamics does not find a d = 15 teacher:
    the baselines are not trivially 'successful'."""
    r = np.random.default_rng(2)
    fields = np.arange(45).reshape(3, 15)
    T = r.choice([-1.0, 1.0], size=(3, 15))
    W0 = r.choice([-1.0, 1.0], size=(3, 15))
    W, _, _, _ = baselines.numpy_greedy(T, fields, W0, 45, 4, 40, np.random.default_rng(0))
    assert not np.array_equal(W, T)
    W = W0.copy()
    baselines.scalar_greedy(T, fields, W, 45, 4, 40, 0)
    assert not np.array_equal(W, T)


def test_torch_step_matches_the_project_sgd_step():
    torch = pytest.importorskip("torch")
    r = np.random.default_rng(3)
    K, N, m, lr = 3, 12, 9, 0.7
    W = r.standard_normal((K, N))
    X = r.choice([-1.0, 1.0], size=(N, m))
    y = r.choice([-1.0, 1.0], size=m)
    W_project = W.copy()
    H, G, D = np.empty((K, m)), np.empty((K, m)), np.empty((K, m))
    loss, _, finite = sgd.sgd_step(W_project, np.tile(np.arange(N), (K, 1)), COMMITTEE, False, lr, X, y, H, G, D)
    assert finite
    Wt = torch.tensor(W, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([Wt], lr=lr)
    loss_t = baselines.torch_sgd_step(Wt, optimizer, torch.tensor(X.T), torch.tensor(y))
    assert math.isclose(loss_t.item(), loss, rel_tol=1e-12)
    np.testing.assert_allclose(Wt.detach().numpy(), W_project, rtol=1e-12, atol=1e-12)


def test_torch_sgd_learns_a_perceptron_teacher():
    pytest.importorskip("torch")
    r = np.random.default_rng(4)
    T = np.zeros((1, 15))
    T[0, :5] = r.choice([-1.0, 1.0], size=5)
    W, loss, _ = baselines.torch_sgd(T, r.standard_normal((1, 15)), 32, 800, 2.0, seed=1)
    X = r.choice([-1.0, 1.0], size=(2000, 15))
    agree = np.mean(baselines.np_sign(X @ W[0]) == baselines.np_sign(X @ T[0]))
    assert agree > 0.97 and loss < 0.1


def fake_sweep(root: Path):
    """A finished 'sweep': two train jobs of 3 s and 5 s and a compile job of
    1 s within a 10 s Snakemake run, on 2 cores."""
    now = time.time()
    jobs = {"benchmarks/compile.tsv": (1.0, now - 8), "benchmarks/train/e/size5/m4_T0/seeds0-2.tsv": (3.0, now - 4),
            "benchmarks/train/e/size5/m8_T0/seeds0-2.tsv": (5.0, now - 1)}
    for rel, (seconds, end) in jobs.items():
        path = root / "results" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
                        f"{seconds}\t0:00:0{int(seconds)}\t100\t200\t90\t95\t0\t0\t50\t{seconds}\n")
        os.utime(path, (end, end))
    log = root / ".snakemake" / "log" / "x.snakemake.log"
    log.parent.mkdir(parents=True)
    log.write_text("Building DAG of jobs...\nComplete log(s): x\nElapsed time: 0:00:10.000000\n")
    os.utime(log, (now, now))


@pytest.mark.slow
def test_quick_benchmark_writes_every_section(tmp_path):
    # Compile the kernels here, into the Numba cache the script then loads
    # from, rather than inside the timed script.
    run_point(make_params(dict(K=3, d=5, m=8, max_sweeps=2, stop_at_success=False, n_test=10)), [0], 1)
    run_point(make_params(dict(architecture="dense", weights="continuous", K=3, d=3, m=4, max_steps=2, stop_at_success=False, n_test=10)), [0], 1)
    fake_sweep(tmp_path / "sweep")
    out = tmp_path / "bench.csv"
    script = ROOT / "benchmarks" / "run_benchmarks.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--out", str(out), "--sweep-dir", str(tmp_path / "sweep")],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    table = pd.read_csv(out)
    assert list(table.columns) == COLUMNS
    assert set(table["section"]) == {"greedy", "sgd", "sgd_batched", "scaling", "pipeline"}
    for section in ("greedy", "sgd", "scaling", "pipeline"):
        assert f"== {section}" in done.stdout

    greedy = table[table["section"] == "greedy"]
    for _, case in greedy.groupby("case"):
        assert set(case["implementation"]) == {"project", "numpy (recompute unit)", "numpy (stored fields)", "scalar numba"}
        assert (case["value"] > 0).all()
        baseline = case[case["implementation"] != "project"]
        assert (baseline["ratio"] > 0).all() and (baseline["ratio_of"] == "project / this").all()

    sgd_rows = table[table["section"] == "sgd"]
    assert (sgd_rows.loc[sgd_rows["implementation"] == "project", "value"] > 0).all()
    torch_rows = sgd_rows[sgd_rows["implementation"].str.startswith("pytorch")]
    assert len(torch_rows) > 0
    if baselines.torch_available():
        assert (torch_rows["ratio"] > 0).all()
    else:
        assert torch_rows["note"].str.contains("skipped").all()

    batched = table[table["section"] == "sgd_batched"]
    if baselines.torch_available():
        assert set(batched["implementation"]) == {"project", "pytorch batched float32"}
        assert (batched["value"] > 0).all()
        assert (batched.loc[batched["implementation"] != "project", "ratio"] > 0).all()
    else:
        assert batched["note"].str.contains("skipped").all()

    scaling = table[table["section"] == "scaling"]
    assert set(scaling.loc[scaling["case"].str.contains("seeds"), "threads"]) >= {1}
    assert (scaling["unit"] == "MB").sum() >= 1 and (scaling.loc[scaling["unit"] == "MB", "value"] > 0).all()
    assert scaling["unit"].str.startswith("exponent").sum() == 2

    pipeline = table[table["section"] == "pipeline"]
    overhead = pipeline[pipeline["implementation"].str.startswith("all jobs")]
    assert len(overhead) == 1
    # 9 s of jobs in a 10 s run on 2 cores (Snakemake's own 'Elapsed time').
    assert overhead["value"].iloc[0] == pytest.approx(9.0 / 20.0)
    dry = pipeline[pipeline["case"].str.startswith("dry run")]
    assert len(dry) >= 1
    assert dry["value"].notna().all() or dry["note"].str.contains("skipped|failed").all()


def test_against_ref_compares_run_tables_row_by_row_in_either_layout(tmp_path):
    # The sweep section's check of "bit-identical run tables where the
    # kernel is unchanged": rows matched on their key, provenance and the
    # partition column ignored, the m values of differing rows reported.
    import against_ref

    rows = pd.DataFrame({"size": [9, 9, 9, 15], "m": [8, 40, 40, 8], "temperature": 0.0, "init": "random",
                         "seed": [0, 0, 1, 0], "q": [1.0, 0.5, np.nan, 0.25], "code_version": "a", "job_wall_time_s": 1.0})
    this = tmp_path / "this" / "tables" / "runs" / "experiment=e"
    ref = tmp_path / "ref" / "tables" / "e"  # the older layout, which also stored the partition column
    for path in (this, ref):
        path.mkdir(parents=True)
    rows.to_parquet(this / "runs.parquet")
    other = rows.iloc[::-1].assign(experiment="e", code_version="b", job_wall_time_s=2.0)
    other.loc[other["m"] == 8, "q"] = [0.75, 1.0]  # (size 15, size 9): the size-15 row now differs
    other.to_parquet(ref / "runs.parquet")
    assert against_ref.compare_run_tables(tmp_path / "this", tmp_path / "ref") == [("e", 4, 3, [8])]
    rows.drop(columns="q").to_parquet(this / "runs.parquet")  # another set of columns: nothing is identical
    assert against_ref.compare_run_tables(tmp_path / "this", tmp_path / "ref") == [("e", 4, 0, [8, 40])]
    (tmp_path / "this" / "tables" / "runs" / "experiment=f").mkdir()
    rows.to_parquet(tmp_path / "this" / "tables" / "runs" / "experiment=f" / "runs.parquet")
    assert against_ref.compare_run_tables(tmp_path / "this", tmp_path / "ref")[1] == ("f", 0, 0, [])

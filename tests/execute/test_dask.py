"""Chunks on a loopback Dask cluster: the same results as in this process, a killed worker's
chunk retried elsewhere, a vanished cluster a clear error with a clean cache, the CLI's
``--dask`` against a scheduler and workers started by hand. Nothing leaves 127.0.0.1."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gxapp import cache, execute
from gxapp.errors import ExecutorError

pytest.importorskip("distributed")
from chunks_for_dask import die_once, square  # noqa: E402

from gxapp.execute.dask import DaskExecutor, _free_port  # noqa: E402

from helpers import TINY_RUN  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def _loopback(spec, **kw) -> DaskExecutor:
    """A ``local:N`` cluster whose scheduler and workers can import this module's chunk functions."""
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parent), str(ROOT / "tests")]))
    try:
        return DaskExecutor(spec, **kw)
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def cluster():
    ex = _loopback("local:2")
    yield ex
    ex.close()


def _sim(root, seed=5):
    from gxapp.analyses import cohorts
    from gxapp.data.simulate import SimParams

    p = SimParams(
        scenario="simple", n_samples=400, n_genes=4, snr=1.0, seed=seed, genotype_model="binomial", snps_per_gene=4
    )
    return cohorts.from_simulation(p, root=root).key


def test_the_cluster_runs_chunks_and_says_what_it_is(cluster):
    out = dict(cluster.map(square, [1, 2, 3], shared={"k": 2}, stage="test"))
    assert out == {0: 2, 1: 8, 2: 18}
    d = cluster.describe()
    assert d["kind"] == "dask" and d["n_workers"] == 2 and d["address"].startswith("tcp://127.0.0.1:")
    assert d["data"] == "shared filesystem"  # the workers see this machine's cache folder
    assert len(cluster.workers()) == 2


def test_scatter_mode_sends_the_data_once_per_worker(tmp_path):
    with _loopback("local:1", data="scatter", exchange_dir=tmp_path) as ex:
        assert ex.describe()["data"] == "scattered to each worker"
        out = dict(ex.map(square, [1, 2], shared={"k": 3}))
        assert out == {0: 3, 1: 12}
    assert not list(tmp_path.iterdir())  # nothing was written for the workers


def test_run_permutations_and_cv_folds_are_identical_on_the_cluster(cluster, tmp_path):
    from gxapp.analyses import cohorts, comparisons, runs
    from gxapp.analyses import interactions as ia

    P = ia.InteractionParams(permutations=4, chunk=2)
    C = comparisons.ComparisonParams(models=("logreg", "dense"), folds=2, repeats=2, seed=1)
    out = {}
    for name, ex in (("local", execute.InProcess()), ("dask", cluster)):
        root = tmp_path / name
        key = _sim(root)
        with execute.use(ex):
            run = runs.get(key, TINY_RUN, root)
            res = ia.get(run.key, P, root)
            cmp = comparisons.get(_casecontrol(root), C, root)
        out[name] = (run, res, cmp)
    (r0, a0, c0), (r1, a1, c1) = out["local"], out["dask"]
    assert r0.key == r1.key and a0.key == a1.key and c0.key == c1.key  # the executor is not in any key
    assert a1.meta["executor"]["kind"] == "dask" and a0.meta["executor"]["kind"] == "local"
    X = r0.params.prepare(cohorts.open_cohort(r0.cohort_key, tmp_path / "local")).X
    np.testing.assert_allclose(r1.interaction.predict(X), r0.interaction.predict(X), atol=1e-6)
    np.testing.assert_allclose(r1.main.predict(X), r0.main.predict(X), atol=1e-6)
    np.testing.assert_allclose(a1.observed, a0.observed, atol=1e-6)
    np.testing.assert_allclose(a1.null, a0.null, atol=1e-6)
    for col in ("p_global", "q_global", "p_maxt", "p", "q"):
        np.testing.assert_allclose(a1.table[col], a0.table[col], atol=1e-6)
    for m in c0.data["models"]:  # 4 folds split over 2 workers: the same AUCs
        np.testing.assert_allclose(c1.data["models"][m]["aucs"], c0.data["models"][m]["aucs"], atol=1e-6)


def _casecontrol(root):
    from gxapp.analyses import cohorts
    from gxapp.data.simulate import SimParams

    p = SimParams(scenario="casecontrol", n_samples=240, n_genes=8, seed=2, genotype_model="binomial", snps_per_gene=3)
    return cohorts.from_simulation(p, root=root).key


def test_a_killed_worker_chunk_is_retried_elsewhere_with_the_same_result(cluster, tmp_path):
    marker = tmp_path / "killed"
    out = dict(cluster.map(die_once, [0, 1, 2, 3], shared={"marker": str(marker)}, stage="retry"))
    assert marker.exists()  # a worker really died running chunk 1
    assert out == {0: 0, 1: 10, 2: 20, 3: 30}


def test_a_vanished_cluster_is_a_clear_error_and_the_cache_stays_clean(tmp_path, monkeypatch):
    from gxapp.analyses import interactions as ia
    from gxapp.analyses import runs
    from gxapp.execute import dask as dmod

    monkeypatch.setattr(dmod, "LOST_SECONDS", 1.0)
    key = _sim(tmp_path, seed=6)
    run = runs.get(key, TINY_RUN, tmp_path)
    ex = DaskExecutor("local:1")
    seen = []

    def kill_after_first_chunk(f, m):
        if "1 of 3 chunks done" in m and not seen:
            seen.append(m)
            ex._cluster.close()  # the scheduler and its worker go away mid-run

    with execute.use(ex), pytest.raises(ExecutorError, match="went away.*1 of 3 chunks had finished"):
        ia.get(run.key, ia.InteractionParams(permutations=3, chunk=1), tmp_path, progress=kill_after_first_chunk)
    ex.close()
    assert seen
    nulls = cache.Store(ia.NULL_KIND, tmp_path)
    kept = [m["key"] for m in nulls.list()]
    assert len(kept) == 1 and all(nulls.verify(k) for k in kept)  # the finished chunk stays cached, verified
    assert not cache.Store(ia.KIND, tmp_path).list()  # no half result published
    assert not [p for p in (tmp_path / ia.NULL_KIND).iterdir() if p.name.startswith(".tmp")]
    # rerun in this process: the cached chunk is reused, the rest trained
    res = ia.get(run.key, ia.InteractionParams(permutations=3, chunk=1), tmp_path)
    assert res.null.shape[0] == 3


def test_a_scheduler_without_gxapp_is_named_at_connect(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _start(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        {**env, "PYTHONPATH": str(tmp_path)},
        cwd=tmp_path,
    )
    try:
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{port}", timeout=60):
            pass
        with pytest.raises(ExecutorError, match="gxapp cannot be imported on the scheduler.*PYTHONPATH="):
            DaskExecutor(f"tcp://127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _start(cmd, env, cwd=None):
    return subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_cli_dask_against_a_hand_started_scheduler_matches_in_process(tmp_path):
    """The issue's acceptance check, small: a scheduler and two workers started by hand on
    loopback; ``interactions --permutations 4 --dask`` gives what it gives without ``--dask``."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    py = sys.executable
    procs = [
        _start(
            [py, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            env,
        )
    ]
    procs += [
        _start(
            [py, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--name", f"w{i}", "--no-dashboard"],
            env,
        )
        for i in range(2)
    ]
    try:
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(2, timeout=90)
        sim = tmp_path / "sim"
        flags = "--scenario simple --n-samples 400 --n-genes 4 --snr 1 --genotype-model binomial --snps-per-gene 4"
        e = {**env, "GXAPP_CACHE": str(tmp_path / "cache0")}
        subprocess.run(
            [py, "-m", "gxapp", "simulate", *flags.split(), "--seed", "5", "--out", str(sim)],
            env=e,
            check=True,
            capture_output=True,
        )
        data = [
            "--bfile",
            str(sim / "cohort"),
            "--pheno",
            str(sim / "phenotype.tsv"),
            "--genes",
            str(sim / "genes.tsv"),
        ]
        base = [
            py,
            "-m",
            "gxapp",
            "interactions",
            *data,
            "--ensemble",
            "2",
            "--epochs",
            "3",
            "--permutations",
            "4",
            "--quiet",
        ]
        outs = {}
        for name, extra in (("local", []), ("dask", ["--dask", address])):
            e = {**env, "GXAPP_CACHE": str(tmp_path / f"cache-{name}")}  # nothing reused between the two
            js = tmp_path / f"{name}.json"
            r = subprocess.run(base + extra + ["--json", str(js)], env=e, capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
            outs[name] = json.loads(js.read_text())
        a, b = outs["local"], outs["dask"]
        assert a["executor"]["kind"] == "local"
        assert b["executor"] == {**b["executor"], "kind": "dask", "address": address, "n_workers": 2}
        assert a["analysis"] == b["analysis"] and len(a["pairs"]) == 6
        for pa, pb in zip(a["pairs"], b["pairs"]):
            assert (pa["gene_a"], pa["gene_b"]) == (pb["gene_a"], pb["gene_b"])
            for col in ("score", "p", "q", "p_global", "q_global", "p_maxt"):
                assert pa[col] is not None and abs(pa[col] - pb[col]) <= 1e-6, col
        with Client(address, timeout=30) as c:  # the scheduler ran gxapp's chunks
            prefixes = c.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.task_prefixes])
        assert any(p.startswith("gxapp") for p in prefixes), prefixes
    finally:
        for p in procs[::-1]:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)

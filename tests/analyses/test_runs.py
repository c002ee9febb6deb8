"""Training runs: cache keys, hits, invalidation, killed and cancelled jobs, bad input."""

import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from gxapp import cache
from gxapp.analyses import cohorts, runs
from gxapp.data.io.cohort_files import save_cohort
from gxapp.data.simulate import SimParams
from gxapp.errors import CacheError, Cancelled, ParameterError

from helpers import TINY_RUN

SMALL = TINY_RUN


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    h = cohorts.from_simulation(
        SimParams(
            scenario="complex", n_samples=300, n_genes=4, snr=1.0, seed=1, genotype_model="binomial", snps_per_gene=4
        ),
        root=root,
    )
    return h.key, root


def test_every_science_parameter_changes_the_key_but_device_does_not(cohort):
    key, root = cohort
    base = runs.key(key, SMALL, root)
    changed = {
        "ensemble": 3,
        "l1": 0.5,
        "l1_cv": True,
        "cv_folds": 3,
        "gene_hidden": 4,
        "head_hidden": 9,
        "snp_scale": 2.0,
        "lr": 0.01,
        "batch_size": 64,
        "max_epochs": 5,
        "patience": 3,
        "val_fraction": 0.3,
        "test_fraction": 0.4,
        "covariates": False,
        "inverse_normal": False,
        "seed": 1,
    }
    assert set(changed) | set(runs.RunParams.EXECUTION_ONLY) == {f.name for f in fields(runs.RunParams)}
    keys = {runs.key(key, replace(SMALL, **{k: v}), root) for k, v in changed.items()}
    assert len(keys) == len(changed) and base not in keys
    assert runs.key(key, replace(SMALL, device="cpu", threads=1), root) == base


def test_another_cohort_changes_the_key(cohort, tmp_path):
    key, root = cohort
    other = cohorts.from_simulation(
        SimParams(
            scenario="complex", n_samples=300, n_genes=4, snr=1.0, seed=2, genotype_model="binomial", snps_per_gene=4
        ),
        root=root,
    ).key
    assert runs.key(key, SMALL, root) != runs.key(other, SMALL, root)


def test_miss_then_hit_gives_the_same_models(cohort):
    key, root = cohort
    first = runs.get(key, SMALL, root)
    assert not first.cached
    t0 = time.perf_counter()
    second = runs.get(key, SMALL, root)
    assert second.cached and time.perf_counter() - t0 < 1.0
    X = np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)
    np.testing.assert_allclose(first.interaction.predict(X), second.interaction.predict(X), atol=1e-6)
    meta = second.meta
    assert meta["params"]["ensemble"] == 2 and meta["seed"] == 0 and meta["versions"]["torch"]
    assert {"r2_ensemble", "r2_main", "r2_topsnp_ols"} <= set(meta["metrics"])
    assert [m["key"] for m in runs.entries(key, root)] == [first.key]


FOREVER = replace(SMALL, max_epochs=100_000, patience=100_000, seed=7)
WRITE_KILLED = replace(SMALL, seed=9)


def _train_until_killed(key, root, marker):
    """Child: train "forever"; touch ``marker`` once the interaction ensemble is 3 epochs in."""

    def progress(fraction, message):
        if "interaction ensemble: epoch 3/" in message and not marker.exists():
            marker.touch()

    runs.get(key, FOREVER, root, progress=progress)


def _train_and_hang_inside_the_write(key, root, marker):
    """Child: train normally, but hang inside ``Store.write`` once the artefacts are in the .tmp-
    folder and before meta.json / the rename — the worst moment to die."""
    real = cache.Store.write

    def write(self, k, writer, meta):
        def hanging_writer(d):
            writer(d)
            marker.write_text(str(d))
            time.sleep(600)

        return real(self, k, hanging_writer, meta)

    cache.Store.write = write  # only in this forked child
    runs.get(key, WRITE_KILLED, root)


def _start_and_kill_at(target, args, marker, timeout=60.0):
    """Fork ``target``, wait (bounded) until it writes ``marker``, then SIGKILL it."""
    p = mp.get_context("fork").Process(target=target, args=args)
    p.start()
    try:
        deadline = time.monotonic() + timeout
        while not marker.exists():
            assert p.is_alive(), f"the child died before the critical point (exit code {p.exitcode})"
            assert time.monotonic() < deadline, "the child never reached the critical point"
            time.sleep(0.05)
        assert p.is_alive()
        os.kill(p.pid, signal.SIGKILL)
    finally:
        p.join(10)
        if p.is_alive():
            p.kill()
            p.join()
    assert p.exitcode == -signal.SIGKILL


def test_killed_training_leaves_nothing(cohort, tmp_path):
    key, root = cohort
    before = runs.entries(key, root)
    tmp_before = set(root.glob("runs/.tmp-*"))
    marker = tmp_path / "mid-training"
    _start_and_kill_at(_train_until_killed, (key, root, marker), marker)
    assert runs.entries(key, root) == before
    assert not runs.store(root).exists(runs.key(key, FOREVER, root))
    assert set(root.glob("runs/.tmp-*")) == tmp_before  # killed before the write began: no leftover


def test_killed_while_writing_publishes_no_half_entry_and_a_rerun_trains(cohort, tmp_path):
    key, root = cohort
    st = runs.store(root)
    rkey = runs.key(key, WRITE_KILLED, root)
    before = runs.entries(key, root)
    marker = tmp_path / "mid-write"
    _start_and_kill_at(_train_and_hang_inside_the_write, (key, root, marker), marker)
    half = Path(marker.read_text())
    # the half-written entry is on disk, but only as a hidden .tmp- folder
    assert half.parent == st.dir and half.name.startswith(".tmp-") and (half / "interaction.pt").is_file()
    assert not (half / "meta.json").exists()
    assert not st.exists(rkey) and not st.path(rkey).exists() and rkey not in st.keys()
    assert runs.entries(key, root) == before
    with pytest.raises(CacheError, match="no cached run"):
        runs.load(rkey, root)
    again = runs.get(key, WRITE_KILLED, root)
    assert not again.cached and again.key == rkey and st.exists(rkey)
    assert runs.get(key, WRITE_KILLED, root).cached
    assert [m["key"] for m in runs.entries(key, root) if m["key"] == rkey] == [rkey]
    assert st.sweep(older_than=0) >= 1 and not half.exists()  # the killed writer's leftover is swept


def test_cancel_flag_stops_training(cohort):
    key, root = cohort
    flag = threading.Event()
    timer = threading.Timer(0.5, flag.set)
    timer.start()
    with pytest.raises(Cancelled):
        runs.get(key, replace(SMALL, max_epochs=100_000, patience=100_000, seed=8), root, cancel=flag)
    assert not runs.store(root).exists(
        runs.key(key, replace(SMALL, max_epochs=100_000, patience=100_000, seed=8), root)
    )


@pytest.mark.parametrize(
    "change, match", [({"ensemble": 0}, "ensemble"), ({"l1": -1.0}, "l1")], ids=["ensemble-zero", "negative-l1"]
)
def test_bad_parameters_name_the_parameter(cohort, change, match):
    key, root = cohort
    with pytest.raises(ParameterError, match=match):
        runs.get(key, replace(SMALL, **change), root)


def test_one_gene_cohort_is_refused(tmp_path):
    h = cohorts.from_simulation(
        SimParams(scenario="null", n_samples=200, n_genes=2, seed=1, genotype_model="binomial", snps_per_gene=3),
        root=tmp_path,
    )
    one = h.cohort.subset_genes(h.cohort.gene_names[:1])
    one.meta["label"] = "one gene"
    k = "0" * 32
    cohorts.store(tmp_path).write(k, lambda d: save_cohort(one, d), {"fingerprint": one.fingerprint()})
    with pytest.raises(ParameterError, match="at least 2 genes"):
        runs.get(k, SMALL, tmp_path)

"""Training runs: cache keys, hits, invalidation, killed and cancelled jobs, bad input."""
import multiprocessing as mp
import os
import signal
import threading
import time
from dataclasses import fields, replace

import numpy as np
import pytest

from gxapp.data.io.cohort_files import save_cohort
from gxapp.analyses import cohorts, runs
from gxapp.errors import Cancelled, ParameterError
from gxapp.data.simulate import SimParams

SMALL = runs.RunParams(ensemble=2, gene_hidden=3, head_hidden=8, max_epochs=4, patience=2)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    h = cohorts.from_simulation(SimParams(scenario="complex", n_samples=300, n_genes=4, snr=1.0, seed=1,
                                          genotype_model="binomial", snps_per_gene=4), root=root)
    return h.key, root


def test_every_science_parameter_changes_the_key_but_device_does_not(cohort):
    key, root = cohort
    base = runs.key(key, SMALL, root)
    changed = {"ensemble": 3, "l1": 0.5, "l1_cv": True, "cv_folds": 3, "gene_hidden": 4, "head_hidden": 9,
               "lr": 0.01, "batch_size": 64, "max_epochs": 5, "patience": 3, "val_fraction": 0.3,
               "test_fraction": 0.4, "covariates": False, "inverse_normal": False, "seed": 1}
    assert set(changed) | set(runs.RunParams.EXECUTION_ONLY) == {f.name for f in fields(runs.RunParams)}
    keys = {runs.key(key, replace(SMALL, **{k: v}), root) for k, v in changed.items()}
    assert len(keys) == len(changed) and base not in keys
    assert runs.key(key, replace(SMALL, device="cpu", threads=1), root) == base


def test_another_cohort_changes_the_key(cohort, tmp_path):
    key, root = cohort
    other = cohorts.from_simulation(SimParams(scenario="complex", n_samples=300, n_genes=4, snr=1.0, seed=2,
                                              genotype_model="binomial", snps_per_gene=4), root=root).key
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


def _train_forever(key, root):
    runs.get(key, replace(SMALL, max_epochs=100_000, patience=100_000, seed=7), root)


def test_killed_training_leaves_nothing(cohort):
    key, root = cohort
    before = runs.entries(key, root)
    p = mp.get_context("fork").Process(target=_train_forever, args=(key, root))
    p.start()
    time.sleep(1.5)
    os.kill(p.pid, signal.SIGKILL)
    p.join()
    assert runs.entries(key, root) == before
    assert not list(root.glob("runs/.tmp-*"))


def test_cancel_flag_stops_training(cohort):
    key, root = cohort
    flag = threading.Event()
    timer = threading.Timer(0.5, flag.set)
    timer.start()
    with pytest.raises(Cancelled):
        runs.get(key, replace(SMALL, max_epochs=100_000, patience=100_000, seed=8), root, cancel=flag)
    assert not runs.store(root).exists(runs.key(key, replace(SMALL, max_epochs=100_000, patience=100_000,
                                                                 seed=8), root))


def test_bad_parameters_name_the_parameter(cohort):
    key, root = cohort
    with pytest.raises(ParameterError, match="ensemble"):
        runs.get(key, replace(SMALL, ensemble=0), root)
    with pytest.raises(ParameterError, match="l1"):
        runs.get(key, replace(SMALL, l1=-1.0), root)


def test_one_gene_cohort_is_refused(tmp_path):
    h = cohorts.from_simulation(SimParams(scenario="null", n_samples=200, n_genes=2, seed=1,
                                          genotype_model="binomial", snps_per_gene=3), root=tmp_path)
    one = h.cohort.subset_genes(h.cohort.gene_names[:1])
    one.meta["label"] = "one gene"
    k = "0" * 32
    cohorts.store(tmp_path).write(k, lambda d: save_cohort(one, d), {"fingerprint": one.fingerprint()})
    with pytest.raises(ParameterError, match="at least 2 genes"):
        runs.get(k, SMALL, tmp_path)

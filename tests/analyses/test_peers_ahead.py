"""The classical tests computed beside the training (gxapp.analyses.peers_ahead): the same table as
computed after the scores, computed in another thread, and never started when nothing would use it."""

import threading

import numpy as np
import pandas as pd
import pytest

from gxapp.analyses import cohorts, peers_ahead, runs
from gxapp.analyses import interactions as ia
from gxapp.data.simulate import SimParams
from gxapp.errors import Cancelled

RUN = runs.RunParams(ensemble=2, head_hidden=8, max_epochs=20, patience=4, threads=1)
IA = ia.InteractionParams(permutations=2, max_rows=150)


def _cohort(root):
    sim = SimParams(scenario="complex", n_samples=600, n_genes=4, seed=7, genotype_model="binomial", snps_per_gene=4)
    return cohorts.from_simulation(sim, root=root).key


@pytest.fixture
def two_cores(monkeypatch):
    monkeypatch.setattr(peers_ahead, "available_cores", lambda: 2)


def test_peers_computed_beside_training_are_the_peers_of_the_analysis(tmp_path, two_cores, monkeypatch):
    threads = []
    real = ia.classical_peers

    def spy(*a, **k):
        threads.append(threading.current_thread().name)
        return real(*a, **k)

    monkeypatch.setattr(ia, "classical_peers", spy)
    key = _cohort(tmp_path / "a")
    with peers_ahead.ahead(key, RUN, IA, tmp_path / "a") as future:
        assert future is not None
        run = runs.get(key, RUN, tmp_path / "a")
        ahead = ia.get(run.key, IA, tmp_path / "a")
    assert threads == ["gxapp-peers_0"]  # once, in the peers' thread, not again after the scores
    key_b = _cohort(tmp_path / "b")
    plain = ia.get(runs.get(key_b, RUN, tmp_path / "b").key, IA, tmp_path / "b")
    assert threads[-1] == "MainThread"
    pd.testing.assert_frame_equal(ahead.table, plain.table)
    for k in plain.peers:
        np.testing.assert_array_equal(ahead.peers[k], plain.peers[k])


def test_nothing_is_started_for_a_cached_analysis_or_on_one_core(tmp_path, two_cores, monkeypatch):
    key = _cohort(tmp_path)
    ia.get(runs.get(key, RUN, tmp_path).key, IA, tmp_path)
    with peers_ahead.ahead(key, RUN, IA, tmp_path) as future:
        assert future is None
    monkeypatch.setattr(peers_ahead, "available_cores", lambda: 1)
    with peers_ahead.ahead(key, RUN, ia.InteractionParams(permutations=0, max_rows=100), tmp_path) as future:
        assert future is None


def test_a_cancelled_pipeline_stops_the_peers_too(tmp_path, two_cores):
    key = _cohort(tmp_path)
    cancel = threading.Event()
    with pytest.raises(Cancelled):
        with peers_ahead.ahead(key, RUN, IA, tmp_path, cancel) as future:
            cancel.set()
            runs.get(key, RUN, tmp_path, cancel=cancel)
    assert future.done()  # the block waited for the peers' thread, which saw the flag

"""AppTest for the Train page: train a tiny ensemble in the background, see the
result, hit the cache, and cancel a long run."""
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gxapp import cohorts, runs
from gxapp.simulate import SimParams

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("traincache")
    mp = pytest.MonkeyPatch()
    mp.setenv("GXAPP_CACHE", str(d))
    st.cache_resource.clear()
    h = cohorts.from_simulation(SimParams(scenario="complex", n_samples=400, n_genes=4, snr=1.0, seed=3,
                                          genotype_model="binomial", snps_per_gene=5))
    yield h.key, d
    mp.undo()
    st.cache_resource.clear()


def _train_page(cohort_key):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["cohort_key"] = cohort_key
    at.run()
    at.switch_page("pages/2_Train.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _set_small(at, epochs=3, patience=2):
    at.number_input(key="tr_ensemble").set_value(2)
    at.number_input(key="tr_gh").set_value(3)
    at.number_input(key="tr_hh").set_value(8)
    at.number_input(key="tr_epochs").set_value(epochs)
    at.number_input(key="tr_patience").set_value(patience)


def _until(at, cond, timeout=90):
    t0 = time.time()
    while not cond(at):
        assert time.time() - t0 < timeout, "timed out waiting for the training job"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]


def test_train_in_background_then_cache_hit(small_cohort):
    key, _ = small_cohort
    at = _train_page(key)
    assert any("Training on the" in m.value or "CUDA" in m.value for m in at.markdown)
    _set_small(at)
    at.button(key="tr_submit").click()
    at.run()
    _until(at, lambda a: any(m.label.startswith("Test R², interaction") for m in a.metric))
    assert any("Training finished" in s.value for s in at.success)
    assert len(runs.list_runs(key)) == 1
    # same knobs again: instant, from the cache, no new run
    _set_small(at)
    at.button(key="tr_submit").click()
    at.run()
    assert any("Loaded from the cache" in s.value for s in at.success)
    assert len(runs.list_runs(key)) == 1


def test_cancel_a_long_run_leaves_nothing(small_cohort):
    key, d = small_cohort
    before = len(runs.list_runs(key))
    at = _train_page(key)
    _set_small(at, epochs=5000, patience=5000)
    at.number_input(key="tr_seed").set_value(99)
    at.button(key="tr_submit").click()
    at.run()
    _until(at, lambda a: any(b.label == "Cancel" for b in a.button))
    next(b for b in at.button if b.label == "Cancel").click()
    at.run()
    _until(at, lambda a: any("cancelled" in w.value for w in a.warning))
    assert len(runs.list_runs(key)) == before
    assert not list((d / "runs").glob(".tmp-*"))

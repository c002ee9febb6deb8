"""AppTest: the app on a Dask cluster (GXAPP_DASK=local:2) — the sidebar shows the cluster and
its workers, a permutation job runs there with progress, and Cancel stops it."""

import time

import pytest

from gxapp import cache, execute
from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.data.simulate import SimParams

from helpers import app_cache, open_page, run_until

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def on_cluster(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    with app_cache(tmp_path_factory.mktemp("dask-app")) as root:
        c = cohorts.from_simulation(
            SimParams(
                scenario="complex",
                n_samples=400,
                n_genes=4,
                snr=1.0,
                seed=3,
                genotype_model="binomial",
                snps_per_gene=4,
            )
        )
        runs.get(c.key, runs.RunParams(ensemble=2, gene_hidden=3, head_hidden=8, max_epochs=5, patience=2))
        mp.setenv(execute.ENV, "local:2")
        try:
            yield c.key, root
        finally:
            mp.undo()
            execute.configure(None)  # closes the LocalCluster


def _compute_box(at):
    return next(e for e in at.sidebar.expander if e.label.startswith("Compute"))


def test_sidebar_shows_the_cluster_and_a_permutation_job_runs_on_it(on_cluster):
    key, root = on_cluster
    at = open_page("pages/3_Interactions.py", key)
    box = _compute_box(at)
    assert box.label == "Compute: Dask, 2 workers"
    assert any("Open the Dask dashboard" in m.value for m in box.markdown)
    assert any("127.0.0.1" in m.value for m in box.markdown)
    at.number_input(key="ia_B").set_value(3)
    at.number_input(key="ia_rows").set_value(50)
    at.button(key="ia_submit").click()
    at.run()
    run_until(at, lambda a: any(h.value == "Ranked gene pairs" for h in a.header), 180, "the scoring job")
    done = [m for m in cache.Store(ia.KIND, root).list()]
    assert done and done[0]["executor"]["kind"] == "dask" and done[0]["executor"]["n_workers"] == 2
    nulls = cache.Store(ia.NULL_KIND, root).list()
    assert nulls and all(m["executor"]["kind"] == "dask" for m in nulls)


def test_cancel_on_the_cluster_stores_nothing(on_cluster):
    key, root = on_cluster
    at = open_page("pages/3_Interactions.py", key)
    at.number_input(key="ia_B").set_value(40)
    at.number_input(key="ia_rows").set_value(60)
    at.button(key="ia_submit").click()
    at.run()
    run_until(at, lambda a: any(b.label == "Cancel" for b in a.button), 60, "the job to start")
    time.sleep(3)  # the chunks are on the cluster by now
    at.run()
    next(b for b in at.button if b.label == "Cancel").click()
    at.run()
    run_until(at, lambda a: any("cancelled" in w.value for w in a.warning), 60, "the cancel")
    published = [m for m in cache.Store(ia.KIND, root).list() if m["params"]["permutations"] == 40]
    assert not published


def test_a_wrong_address_is_a_message_and_work_stays_here(tmp_path, monkeypatch):
    with app_cache(tmp_path):
        monkeypatch.setenv(execute.ENV, "tcp://127.0.0.1:1")
        import streamlit as st

        st.cache_resource.clear()
        try:
            at = open_page()
            box = _compute_box(at)
            assert box.label == "Compute: this computer"
            assert any("GXAPP_DASK" in w.value and "No Dask scheduler answers" in w.value for w in box.warning)
        finally:
            monkeypatch.delenv(execute.ENV)
            st.cache_resource.clear()


def test_local_processes_spec_is_steered_to_local_n(tmp_path):
    with app_cache(tmp_path):
        at = open_page()
        before = execute.current().spec
        at.text_input(key="compute_address").set_value("processes:2")
        next(b for b in at.button if b.label == "Use it").click()
        at.run()
        assert any("use local:N" in e.value for e in at.error)
        assert execute.current().spec == before  # nothing was switched

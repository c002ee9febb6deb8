"""AppTest for the Interactions page: launch scoring with permutations in the
background, then see the ranked table, plots and downloads."""
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gxapp import cohorts, runs
from gxapp.simulate import SimParams

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("iapage")
    mp = pytest.MonkeyPatch()
    mp.setenv("GXAPP_CACHE", str(d))
    st.cache_resource.clear()
    c = cohorts.from_simulation(SimParams(scenario="complex", n_samples=400, n_genes=4, snr=1.0, seed=3,
                                          genotype_model="binomial", snps_per_gene=4))
    runs.train_run(c.key, runs.RunParams(ensemble=2, gene_hidden=3, head_hidden=8, max_epochs=5, patience=2))
    yield c.key
    mp.undo()
    st.cache_resource.clear()


def _page(cohort_key):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["cohort_key"] = cohort_key
    at.run()
    at.switch_page("pages/3_Interactions.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_score_with_permutations_then_explore(trained):
    at = _page(trained)
    at.number_input(key="ia_B").set_value(3)
    at.number_input(key="ia_rows").set_value(50)
    at.button(key="ia_submit").click()
    at.run()
    t0 = time.time()
    while not any(h.value == "Ranked gene pairs" for h in at.header):
        assert time.time() - t0 < 120, "scoring job did not finish"
        time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    assert any("Scoring finished" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert len(table) == 6 and {"score", "p", "q", "p_maxt", "p_topsnp", "p_snppair", "true"} <= set(table.columns)
    assert {t.label for t in at.tabs} >= {"Heatmap", "Q-Q & FDR", "Null distribution", "Interaction surface",
                                          "Against the truth"}
    assert not at.error


def test_page_without_runs_points_to_train(tmp_path, monkeypatch):
    monkeypatch.setenv("GXAPP_CACHE", str(tmp_path))
    st.cache_resource.clear()
    c = cohorts.from_simulation(SimParams(scenario="null", n_samples=200, n_genes=3, seed=1,
                                          genotype_model="binomial", snps_per_gene=3))
    at = _page(c.key)
    assert any("No trained run" in i.value for i in at.info)
    st.cache_resource.clear()

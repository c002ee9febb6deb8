"""AppTest for the Epistasis page: a quantitative cohort is redirected; on a
case/control cohort a small comparison runs in the background and shows AUCs."""
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from gxapp import cohorts
from gxapp.simulate import SimParams

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cc_cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("epipage")
    mp = pytest.MonkeyPatch()
    mp.setenv("GXAPP_CACHE", str(d))
    st.cache_resource.clear()
    c = cohorts.from_simulation(SimParams(scenario="casecontrol", n_samples=300, n_genes=12, seed=2,
                                          genotype_model="binomial", snps_per_gene=4))
    q = cohorts.from_simulation(SimParams(scenario="null", n_samples=100, n_genes=3, seed=2,
                                          genotype_model="binomial", snps_per_gene=3))
    yield c.key, q.key
    mp.undo()
    st.cache_resource.clear()


def _page(cohort_key):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["cohort_key"] = cohort_key
    at.run()
    at.switch_page("pages/4_Epistasis.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_quantitative_cohort_is_explained(cc_cohort):
    at = _page(cc_cohort[1])
    assert any("case/control" in w.value for w in at.warning)


def test_small_comparison_runs_in_the_background(cc_cohort):
    at = _page(cc_cohort[0])
    at.multiselect(key="epi_models").set_value(["logreg", "dense", "l2"])
    at.number_input(key="epi_folds").set_value(2)
    at.number_input(key="epi_repeats").set_value(1)
    at.button(key="epi_submit").click()
    at.run()
    t0 = time.time()
    while not any("highest mean AUC" in m.value for m in at.markdown):
        assert time.time() - t0 < 180, "comparison did not finish"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert list(table["model"]) == ["logreg", "dense", "l2"]
    assert table["AUC mean"].between(0, 1).all() and (table["parameters"] > 0).all()
    assert not at.error

"""AppTest for the Epistasis page: a quantitative cohort is redirected; on a
case/control cohort a small comparison runs in the background and shows AUCs."""

import pytest

from gxapp.analyses import cohorts
from gxapp.data.simulate import SimParams

from helpers import app_cache, open_page, run_until


@pytest.fixture(scope="module")
def cc_cohort(tmp_path_factory):
    with app_cache(tmp_path_factory.mktemp("epipage")):
        c = cohorts.from_simulation(
            SimParams(
                scenario="casecontrol", n_samples=300, n_genes=12, seed=2, genotype_model="binomial", snps_per_gene=4
            )
        )
        q = cohorts.from_simulation(
            SimParams(scenario="null", n_samples=100, n_genes=3, seed=2, genotype_model="binomial", snps_per_gene=3)
        )
        yield c.key, q.key


def _page(cohort_key):
    return open_page("pages/4_Epistasis.py", cohort_key)


def test_quantitative_cohort_is_explained(cc_cohort):
    at = _page(cc_cohort[1])
    assert any("case/control" in w.value for w in at.warning)


def test_small_comparison_runs_in_the_background(cc_cohort):
    at = _page(cc_cohort[0])
    at.multiselect(key="epi_models").set_value(["logreg", "dense", "l2", "l1-snps"])
    at.number_input(key="epi_folds").set_value(2)
    at.number_input(key="epi_repeats").set_value(1)
    at.button(key="epi_submit").click()
    at.run()
    run_until(at, lambda a: any("highest mean AUC" in m.value for m in a.markdown), 180, "the comparison")
    table = next(d.value for d in at.dataframe if "model" in d.value)  # the AUC table (after the truth's)
    assert list(table["model"]) == ["logreg", "dense", "l2", "l1-snps"]
    assert table["AUC mean"].between(0, 1).all() and (table["parameters"] > 0).all()
    assert table.set_index("model").loc["l1-snps", "parameters"] == 12 * 4 + 1  # one per SNP dosage
    assert not at.error


def test_epistasis_presets_fill_the_cv_settings(cc_cohort):
    at = _page(cc_cohort[0])
    at.selectbox(key="epi_preset").set_value("paper")
    at.run()
    assert (at.number_input(key="epi_folds").value, at.number_input(key="epi_repeats").value) == (3, 10)
    at.selectbox(key="epi_preset").set_value("quick")
    at.run()
    assert at.number_input(key="epi_repeats").value == 1 and not at.exception


def test_the_case_control_demo_opens_on_its_learning_curve(tmp_path, monkeypatch):
    """The case/control demo starts paper B's learning curve by itself (once) and shows the story
    sentence, the curve and the full-size comparison; here with a small stand-in demo and story."""
    from gxapp.analyses import comparisons

    small = SimParams(scenario="casecontrol", n_samples=400, n_genes=12, seed=3, genotype_model="binomial")
    monkeypatch.setattr(cohorts, "DEMO_CASECONTROL", small)
    story = comparisons.ComparisonParams(
        analysis="learning_curve", models=("logreg", "l2"), folds=2, repeats=1, fractions=(0.5, 1.0)
    )
    monkeypatch.setattr(comparisons, "DEMO_STORY", story)
    with app_cache(tmp_path):
        key = cohorts.demo_casecontrol().key
        assert cohorts.demo_casecontrol_key() == key
        at = _page(key)
        assert any("opens with paper B's learning curve" in i.value for i in at.info)
        assert any(e.label.startswith("Planted truth (simulation): ") for e in at.expander)
        truth = at.dataframe[0].value  # the planted pairs, with their epistasis type in words
        assert set(truth["epistasis"]) == {"positive", "negative", "reciprocal"}
        run_until(at, lambda a: any("The comparison at 400 samples" in h.value for h in a.subheader), 180, "the story")
        assert any("At **200** samples" in m.value for m in at.markdown)
        assert comparisons.COMPARISONS.exists(key, story)
        at = _page(key)  # a new session: the cached story is shown, nothing is started again
        assert not any("opens with paper B's learning curve" in i.value for i in at.info)
        assert any("The comparison at 400 samples" in h.value for h in at.subheader)
        assert not at.error


def test_a_running_learning_curve_is_drawn_size_by_size(cc_cohort, monkeypatch):
    """While a learning curve runs, the page draws what it has published so far (here held after
    its first sizes are in, so the picture cannot be missed), then the finished result."""
    import threading

    from gxapp.analyses import comparisons
    from gxapp.epistasis import cv
    from gxapp.ui import epistasis_view, jobs_panel

    gate, held = threading.Event(), threading.Event()
    real = cv.publish

    def publish_then_wait(progress, partial):
        real(progress, partial)
        if any(m.kind == "network" for r in partial.results.values() for m in r.models.values()):
            held.set()
            gate.wait(60)  # the job holds with one size's networks drawn

    monkeypatch.setattr(cv, "publish", publish_then_wait)
    params = comparisons.ComparisonParams(
        analysis="learning_curve", models=("logreg", "l2"), folds=2, repeats=1, fractions=(0.5, 1.0), seed=11
    )
    at = _page(cc_cohort[0])
    at.session_state[epistasis_view.JOB_KEY] = (
        jobs_panel.manager().submit(comparisons.job_spec(cc_cohort[0], params)).id
    )
    try:
        assert held.wait(120), "the learning curve published no size with its networks"
        at.run()
        so_far = [c.value for c in at.caption if c.value.startswith("The curve so far")]
        assert so_far and "additive models at 2 sample size(s), networks at 1" in so_far[0]
        assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    finally:
        gate.set()
    run_until(at, lambda a: any("The comparison at" in h.value for h in a.subheader), 180, "the curve")
    assert not at.error

"""AppTest for the Train page: train a tiny ensemble in the background, see the
result, hit the cache, and cancel a long run."""

import pytest

from gxapp.analyses import cohorts, runs
from gxapp.data.simulate import SimParams

from helpers import app_cache, open_page, run_until


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory):
    with app_cache(tmp_path_factory.mktemp("traincache")) as d:
        h = cohorts.from_simulation(
            SimParams(
                scenario="complex",
                n_samples=400,
                n_genes=4,
                snr=1.0,
                seed=3,
                genotype_model="binomial",
                snps_per_gene=5,
            )
        )
        yield h.key, d


def _train_page(cohort_key):
    return open_page("pages/2_Train.py", cohort_key)


def _set_small(at, epochs=3, patience=2):
    at.number_input(key="tr_ensemble").set_value(2)
    at.number_input(key="tr_gh").set_value(3)
    at.number_input(key="tr_hh").set_value(8)
    at.number_input(key="tr_epochs").set_value(epochs)
    at.number_input(key="tr_patience").set_value(patience)


def test_train_in_background_then_cache_hit(small_cohort):
    key, _ = small_cohort
    at = _train_page(key)
    assert any("Training on the" in m.value or "CUDA" in m.value for m in at.markdown)
    _set_small(at)
    at.button(key="tr_submit").click()
    at.run()
    run_until(at, lambda a: any(m.label.startswith("Test R², interaction") for m in a.metric))
    assert any("Training finished" in s.value for s in at.success)
    assert len(runs.entries(key)) == 1
    assert runs.entries(key)[0]["params"]["snp_scale"] == runs.RunParams().snp_scale  # the default reached the run
    # same knobs again: instant, from the cache, no new run
    _set_small(at)
    at.button(key="tr_submit").click()
    at.run()
    assert any("Loaded from the cache" in s.value for s in at.success)
    assert len(runs.entries(key)) == 1
    # the SNP scale is a science knob: another value is another run
    _set_small(at)
    at.number_input(key="tr_snp_scale").set_value(2.5)
    at.button(key="tr_submit").click()
    at.run()
    run_until(at, lambda a: len(runs.entries(key)) == 2, what="the second run")
    assert sorted(m["params"]["snp_scale"] for m in runs.entries(key)) == [2.5, runs.RunParams().snp_scale]


def test_cancel_a_long_run_leaves_nothing(small_cohort):
    key, d = small_cohort
    before = len(runs.entries(key))
    at = _train_page(key)
    _set_small(at, epochs=5000, patience=5000)
    at.number_input(key="tr_seed").set_value(99)
    at.button(key="tr_submit").click()
    at.run()
    run_until(at, lambda a: any(b.label == "Cancel" for b in a.button))
    next(b for b in at.button if b.label == "Cancel").click()
    at.run()
    run_until(at, lambda a: any("cancelled" in w.value for w in a.warning))
    assert len(runs.entries(key)) == before
    assert not list((d / "runs").glob(".tmp-*"))


def test_two_sessions_training_at_once_each_get_their_own_run(small_cohort):
    key, _ = small_cohort
    a, b = _train_page(key), _train_page(key)
    for at, seed in ((a, 11), (b, 12)):
        _set_small(at, epochs=40, patience=40)
        at.number_input(key="tr_seed").set_value(seed)
        at.button(key="tr_submit").click()
        at.run()  # both jobs now run in the one server-wide job manager
    for at in (a, b):
        run_until(at, lambda x: any("Training finished" in s.value for s in x.success))
    shown = [at.session_state["train_run_key"] for at in (a, b)]
    seeds = [runs.load(k).params.seed for k in shown]
    assert shown[0] != shown[1] and seeds == [11, 12]  # no cross-talk between the sessions
    assert not a.exception and not b.exception


def test_sparsity_path_trains_as_one_job_and_compares(small_cohort):
    """Three λ values typed → one background job → three runs, compared: R² and AP per λ, the bump
    chart and the rank agreement."""
    key, _ = small_cohort
    at = _train_page(key)
    at.text_input(key="path_values").set_value("1e-5, 3e-4 1e-2")
    at.number_input(key="path_E").set_value(2)
    at.button(key="path_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    run_until(at, lambda a: any("sparsity path" in s.value.lower() and "finished" in s.value for s in a.success))
    at.run()
    table = next(d.value for d in at.dataframe if "AP (planted pairs)" in d.value.columns)
    assert sorted(table["λ"]) == [1e-5, 3e-4, 1e-2] and table["test R²"].notna().all()
    assert table["AP (planted pairs)"].between(0, 1).all()
    assert len(at.multiselect(key="path_compare").value) == 3
    entries = runs.entries(key)
    batched = [m for m in entries if m.get("trained_with")]
    assert len(batched) == 3 and {tuple(m["trained_with"]["l1_values"]) for m in batched} == {(1e-5, 3e-4, 1e-2)}
    # a typo is a message, not a traceback
    at.text_input(key="path_values").set_value("1e-3, lots")
    at.button(key="path_submit").click()
    at.run()
    assert not at.exception and any("l1_values" in e.value for e in at.error)


def test_presets_fill_the_form_and_lambda_is_typed(small_cohort):
    key, _ = small_cohort
    at = _train_page(key)
    at.selectbox(key="tr_preset").set_value("paper")
    at.run()
    assert at.number_input(key="tr_ensemble").value == 50  # Paper protocol: E = 50
    at.selectbox(key="tr_preset").set_value("quick")
    at.run()
    assert at.number_input(key="tr_ensemble").value == 3
    at.text_input(key="tr_l1").set_value("lots")
    at.button(key="tr_submit").click()
    at.run()
    assert not at.exception and any("Sparsity λ: expected a number" in e.value for e in at.error)
    from helpers import TINY_RUN

    runs.get(key, TINY_RUN)  # the Interactions page needs a run to score
    at.switch_page("pages/3_Interactions.py")
    at.run()
    at.selectbox(key="ia_preset").set_value("demo")
    at.run()
    assert not at.exception and at.number_input(key="ia_B").value == 20  # Lab-meeting demo: B = 20

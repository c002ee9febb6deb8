"""AppTest for the Interactions page: launch scoring with permutations in the
background, then see the ranked table, plots and downloads."""

import pytest

from gxapp.analyses import cohorts, runs
from gxapp.data.simulate import SimParams

from helpers import app_cache, open_page, run_until


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with app_cache(tmp_path_factory.mktemp("iapage")):
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
        yield c.key


def _page(cohort_key):
    return open_page("pages/3_Interactions.py", cohort_key)


def _scored_page(cohort_key, B=0, rows=40):
    """The Interactions page after a quick scoring (B permutations, ``rows`` individuals) has finished."""
    at = _page(cohort_key)
    at.number_input(key="ia_B").set_value(B)
    at.number_input(key="ia_rows").set_value(rows)
    at.button(key="ia_submit").click()
    at.run()
    run_until(at, lambda a: any(h.value == "Ranked gene pairs" for h in a.header), 120, "the scoring job")
    return at


def test_score_with_permutations_then_explore(trained):
    at = _scored_page(trained, B=3, rows=50)
    assert any("Scoring finished" in s.value for s in at.success)
    table = at.dataframe[0].value
    assert len(table) == 6 and {"score", "p", "q", "p_global", "q_global", "p_maxt", "p_topsnp", "true"} <= set(
        table.columns
    )
    assert table["p_global"].between(0.25, 1).all() and table["p"].between(0, 1).all()
    assert any("held-out test" in c.value for c in at.caption) and any("Perm I (B = 3" in c.value for c in at.caption)
    peers = {f"{w}_{m}_{r}" for w in ("score", "p") for m in ("lasso", "xgb") for r in ("topsnp", "pca")}
    assert peers | {"nn_only"} <= set(table.columns)
    assert table["p_lasso_topsnp"].between(0.25, 1).all()  # B = 3: p on the grid 1/4 .. 1
    # the truth tab lists AP / AUROC of every method, the new peers included
    methods = {m for d in at.dataframe if "method" in d.value for m in d.value["method"]}
    assert {"NN", "Lasso (top-SNP)", "Lasso (PCA)", "XGBoost (top-SNP)", "XGBoost (PCA)"} <= methods
    assert {t.label for t in at.tabs} >= {
        "Heatmap",
        "Q-Q & FDR",
        "Null distribution",
        "Interaction surface",
        "Against the truth",
    }
    assert not at.error


def test_a_newly_finished_analysis_is_shown(trained):
    """B = 0 first, then B = 2: the page must show the new result, not keep the first one."""
    at = _page(trained)
    at.number_input(key="ia_B").set_value(0)
    at.number_input(key="ia_rows").set_value(40)
    at.button(key="ia_submit").click()
    at.run()
    done = lambda a: any("Scoring finished" in s.value for s in a.success)  # noqa: E731
    run_until(at, done, 120, "the B = 0 job")
    assert "p_global" not in at.dataframe[0].value  # the B = 0 result (no Perm I column), not the B = 3 one cached
    at.number_input(key="ia_B").set_value(2)
    at.button(key="ia_submit").click()
    at.run()
    run_until(at, lambda a: done(a) and a.dataframe[0].value["p_global"].notna().all(), 120, "the B = 2 job")
    box = at.selectbox(key="ia_chosen")
    assert "B=2" in box.format_func(box.value) and len(box.options) >= 3
    # afterwards the user's own choice stands
    box.select_index(len(box.options) - 1).run()
    assert at.selectbox(key="ia_chosen").index == len(box.options) - 1
    assert not at.error


def test_page_without_runs_points_to_train(tmp_path):
    with app_cache(tmp_path):
        c = cohorts.from_simulation(
            SimParams(scenario="null", n_samples=200, n_genes=3, seed=1, genotype_model="binomial", snps_per_gene=3)
        )
        at = _page(c.key)
        assert any("No trained run" in i.value for i in at.info)


def test_the_page_says_what_b_can_reach():
    from gxapp.ui.interactions_view import reachable_line

    assert "B = 20: 0.048" in reachable_line() and "no such floor" in reachable_line()
    line = reachable_line(20, 45, 10)
    assert "1/(B+1) = 0.0476" in line and "top 10 of 45 pairs" in line and "pools" in line
    assert "no Perm I" in reachable_line(0, 45, 10)


def test_find_genes_filters_the_ranked_table_and_zoom_shows_partners(trained):
    at = _scored_page(trained)
    gene = at.selectbox(key="ia_heat_zoom").options[1]
    at.text_input(key="ia_find").set_value(gene)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "gene_a" in d.value.columns)
    assert len(table) > 0 and ((table["gene_a"] == gene) | (table["gene_b"] == gene)).all()
    at.selectbox(key="ia_heat_zoom").set_value(gene)
    at.run()
    assert not at.exception


def test_the_surface_fits_as_a_background_job(trained):
    at = _scored_page(trained)
    at.button(key="surface_go").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    run_until(at, lambda a: any("Training R²: joint h" in c.value for c in a.caption), 120, "the surface job")

"""AppTests (no browser): home page and Data page — demo, simulate, bad files."""

import numpy as np
import pytest

from gxapp.data.io.genotypes import Genotypes
from gxapp.data.io.plink import write_plink

from helpers import app_cache as isolated_cache
from helpers import open_page


@pytest.fixture(scope="module")
def app_cache(tmp_path_factory):
    """One cache for the module, so the demo is simulated once."""
    with isolated_cache(tmp_path_factory.mktemp("appcache")) as d:
        yield d


def _run(page=None):
    return open_page(page)


def _metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_home_opens_on_the_demo(app_cache):
    at = _run()
    assert _metric(at, "Samples") == "5,000"
    assert _metric(at, "Genes") == "10"
    assert _metric(at, "Planted pairs") == "6"
    assert any("demo" in str(d.value) for d in at.dataframe)  # listed among cached cohorts
    assert (app_cache / "cohorts").is_dir()


def test_data_page_shows_demo_charts(app_cache):
    at = _run("pages/1_Data.py")
    assert _metric(at, "Samples") == "5,000"
    names = [t.label for t in at.tabs]
    assert {"Overview", "QC report", "LD", "Genes & truth", "Download"} <= set(names)
    # demo button keeps working and the page stays error-free
    next(b for b in at.button if b.label.startswith("Complex interactions")).click()
    at.run()
    assert not at.exception and not at.error


def test_data_page_simulate(app_cache):
    at = _run("pages/1_Data.py")
    at.selectbox(key="sim_scenario").set_value("null")
    at.number_input(key="sim_n").set_value(400)
    at.number_input(key="sim_genes").set_value(4)
    at.selectbox(key="sim_model").set_value("binomial")
    at.number_input(key="sim_spg").set_value(8)
    at.button(key="sim_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "Samples") == "400"
    assert _metric(at, "Genes") == "4"
    assert any("Cohort ready" in s.value for s in at.success)


def test_data_page_simulates_a_case_control_cohort_by_heritability(app_cache):
    """The case/control form's heritability slider reaches the simulator: the cohort's truth has
    the liability-scale heritability asked for."""
    from gxapp.analyses import cohorts
    from gxapp.ui import session

    at = _run("pages/1_Data.py")
    at.selectbox(key="sim_scenario").set_value("casecontrol")
    at.run()
    at.number_input(key="sim_n").set_value(400)
    at.number_input(key="sim_genes").set_value(8)
    at.selectbox(key="sim_model").set_value("binomial")
    at.number_input(key="sim_spg").set_value(6)
    at.select_slider(key="sim_h2").set_value(0.3)
    at.button(key="sim_submit").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    truth = cohorts.open_cohort(at.session_state[session.KEY]).truth
    assert truth["h2_target"] == 0.3 and abs(truth["h2_liability"] - 0.3) < 1e-9


def test_data_page_bad_plink_file_gives_a_message(app_cache, tmp_path):
    rng = np.random.default_rng(0)
    import pandas as pd

    g = rng.integers(0, 3, size=(30, 20)).astype(np.int8)
    samples = pd.DataFrame({"fid": [f"s{i}" for i in range(30)], "iid": [f"s{i}" for i in range(30)]})
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(20)],
            "chrom": "22",
            "pos": 30_000_000 + 1000 * np.arange(20),
            "a1": "A",
            "a2": "G",
        }
    )
    write_plink(tmp_path / "bad", Genotypes(g, samples, snps))
    data = (tmp_path / "bad.bed").read_bytes()
    (tmp_path / "bad.bed").write_bytes(data[: len(data) // 2])  # truncated

    at = _run("pages/1_Data.py")
    at.radio(key="files_mode").set_value("path")
    at.run()
    at.text_input(key="geno_plink_path").set_value(str(tmp_path / "bad"))
    at.button(key="files_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    msgs = " ".join(e.value for e in at.error)
    assert "bad.bed" in msgs and "truncated" in msgs
    # the app stays usable and the cache holds no half-written entry
    assert _metric(at, "Samples") == "5,000"
    assert not list((app_cache / "cohorts").glob(".tmp-*"))


def test_data_page_casecontrol_demo(app_cache):
    at = _run("pages/1_Data.py")
    next(b for b in at.button if b.label.startswith("Case/control")).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "Samples") == "2,000"
    cases, controls = _metric(at, "Cases / controls").split(" / ")
    assert int(cases.replace(",", "")) + int(controls.replace(",", "")) == 2000


def test_data_page_loads_files_with_pruning_and_pcs(app_cache, tmp_path):
    """Files → LD pruning to 90 % of each gene's variance and 4 PCs: the LD tab charts what each gene
    kept, the Population structure tab plots PC1/PC2 coloured by the covariate file's population column."""
    import pandas as pd

    from gxapp.data.io.export import export_cohort
    from gxapp.data.simulate.structure import structured_cohort

    c = structured_cohort(n_samples=300, n_genes=3, snps_per_gene=12, fst=0.05, seed=3)
    export_cohort(c, tmp_path)
    cov = pd.DataFrame({"FID": c.samples["fid"], "IID": c.samples["iid"], "population": c.samples["population"]})
    cov.to_csv(tmp_path / "covar.tsv", sep="\t", index=False)
    at = _run("pages/1_Data.py")
    at.radio(key="files_mode").set_value("path")
    at.run()
    at.text_input(key="geno_plink_path").set_value(str(tmp_path / "cohort"))
    at.text_input(key="pheno_path").set_value(str(tmp_path / "phenotype.tsv"))
    at.text_input(key="covar_path").set_value(str(tmp_path / "covar.tsv"))
    at.selectbox(key="files_genes").set_value("file")
    at.text_input(key="genes_path").set_value(str(tmp_path / "genes.tsv"))
    at.selectbox(key="files_prune").set_value("variance")
    at.number_input(key="files_pca").set_value(4)
    at.button(key="files_submit").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "Samples") == "300"
    text = " ".join(m.value for m in at.markdown)
    assert "LD pruning (keep 90% of each gene's variance) kept" in text
    assert "4 genotype PCs regressed out with the covariates" in text
    assert "population" in at.radio[-1].options  # colour by the population column
    assert "Population structure" in [t.label for t in at.tabs]
    qc = next(d.value for d in at.dataframe if "Step" in d.value.columns)  # plain words, no empty cells
    assert "Hardy–Weinberg (--hwe)" in set(qc["Step"]) and not qc.isna().any().any()
    assert not any("None" in str(v) or "skipped: mind" in str(v) for v in qc.to_numpy().ravel())
    assert any(s.value.startswith("QC removed nothing") for s in at.success)  # no empty "Removed by QC" chart


def test_home_one_click_demo_analysis_opens_interactions(app_cache):
    """Home → "Run the demo analysis" (Quick look preset): one background job trains and scores, then
    the Interactions page opens on that run and analysis with the ranked pairs and held-out q."""
    from helpers import run_until

    at = _run()
    at.selectbox(key="home_preset").set_value("quick")
    at.run()
    at.button(key="home_run").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    run_until(at, lambda a: any(h.value == "Ranked gene pairs" for h in a.header), what="the one-click analysis")
    assert at.session_state["ia_run"] == at.selectbox(key="ia_run").value  # the run just trained
    table = next(d.value for d in at.dataframe if "q" in map(str, d.value.columns) or "FDR" in str(d.value.columns))
    assert len(table) == 45


def test_the_url_holds_the_cohort_run_and_analysis(app_cache):
    """A reload or a shared link (``?cohort=…&run=…&analysis=…``) opens the same view; a malformed or
    unknown key in the URL is ignored (the demo opens)."""
    from streamlit.testing.v1 import AppTest

    from gxapp.analyses import cohorts, runs
    from gxapp.analyses import interactions as ia
    from gxapp.data.simulate import SimParams

    from helpers import ROOT, TINY_RUN

    small = cohorts.from_simulation(SimParams(n_samples=300, n_genes=3, genotype_model="binomial", snps_per_gene=4))
    run = runs.get(small.key, TINY_RUN)
    first = ia.get(run.key, ia.InteractionParams(max_rows=100))
    ia.get(run.key, ia.InteractionParams(max_rows=120))  # a newer analysis: the URL must win over "newest"

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["cohort"] = small.key
    at.run()
    assert _metric(at, "Samples") == "300" and at.query_params["cohort"] == small.key

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)  # a fresh session opening a link
    link = {"cohort": small.key, "run": run.key, "analysis": first.key}
    at.query_params.update(link)
    at.run()
    at.switch_page("pages/3_Interactions.py")
    at.query_params.update(link)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="ia_run").value == run.key
    assert at.selectbox(key="ia_chosen").value == first.key

    for bad in ("../../etc/passwd", "f" * 32):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["cohort"] = bad
        at.run()
        assert not at.exception and _metric(at, "Samples") == "5,000"  # the demo


def test_interactions_run_box_follows_the_run_opened_on_train(app_cache):
    """The Run box opens on the run last trained or opened on the Train page, not simply the newest."""
    from gxapp.analyses import cohorts, runs
    from gxapp.data.simulate import SimParams

    from helpers import TINY_RUN

    c = cohorts.from_simulation(SimParams(n_samples=300, n_genes=3, genotype_model="binomial", snps_per_gene=4, seed=9))
    runs.get(c.key, TINY_RUN)
    runs.get(c.key, TINY_RUN.__class__(**{**TINY_RUN.to_dict(), "seed": 5}))
    first, older = (m["key"] for m in runs.entries(c.key))  # the Run box's default would be ``first``
    at = open_page("pages/2_Train.py", c.key)
    next(s for s in at.selectbox if s.label == "Show run").set_value(older)
    at.run()
    at.switch_page("pages/3_Interactions.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="ia_run").value == older != first

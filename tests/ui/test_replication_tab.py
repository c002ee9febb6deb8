"""AppTest: the Interactions page's Replication tab — a run on the discovery part of a split
cohort, replicated in the replication part: Table 1, the Fig. 7a scatter, downloads."""

import pytest

from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.data.simulate import SimParams

from helpers import app_cache, open_page, run_until


@pytest.fixture(scope="module")
def split_run(tmp_path_factory):
    with app_cache(tmp_path_factory.mktemp("reptab")):
        base = cohorts.from_simulation(
            SimParams(
                scenario="simple",
                n_samples=3000,
                n_genes=4,
                snr=1.0,
                seed=3,
                genotype_model="binomial",
                snps_per_gene=4,
            )
        )
        disc, rep = cohorts.split(base.key, 0.3)
        run = runs.get(disc.key, runs.RunParams(ensemble=2, seed=0))
        ia.get(run.key, ia.InteractionParams())
        yield disc.key, rep.key, run.key


def test_replicate_every_pair_in_the_other_part(split_run):
    disc, rep, run = split_run
    at = open_page("pages/3_Interactions.py", disc)
    at.selectbox(key="rep_target").set_value(rep)
    at.radio(key="rep_which").set_value("all")
    next(b for b in at.button if b.label == "Replicate").click()
    at.run()
    run_until(
        at, lambda a: any("replication p (Eq. 5)" in d.value.columns for d in a.dataframe), 180, "the replication"
    )
    table = next(d.value for d in at.dataframe if "replication p (Eq. 5)" in d.value.columns)
    assert len(table) == 6 and table["planted"].sum() >= 1
    assert (table.loc[table["planted"], "replication p (Eq. 5)"] < 1e-3).all()
    assert any("pair(s) replicate (replication q < 0.1)" in m.value for m in at.markdown)
    assert any(b.label == "Table (CSV)" for b in at.get("download_button"))
    assert not at.exception and not at.error


def test_split_button_makes_the_discovery_part_current(split_run, tmp_path):
    with app_cache(tmp_path):
        base = cohorts.from_simulation(
            SimParams(scenario="simple", n_samples=600, n_genes=3, seed=1, genotype_model="binomial", snps_per_gene=3)
        )
        run = runs.get(base.key, runs.RunParams(ensemble=2, max_epochs=3, patience=2))
        ia.get(run.key, ia.InteractionParams())
        at = open_page("pages/3_Interactions.py", base.key)
        next(b for b in at.button if b.label == "Split").click()
        at.run()
        assert not at.exception
        assert any("is now the current cohort" in s.value for s in at.success)
        current = at.session_state["cohort_key"]
        assert current != base.key and cohorts.open_cohort(current).meta["base_cohort"] == base.key

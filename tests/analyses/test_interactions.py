"""Interactions end to end on a small planted cohort: scores, permutations
(reused when B grows), peers, table, truth metrics, bad input."""

from dataclasses import replace

import numpy as np
import pytest

from gxapp import cache
from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.data.simulate import SimParams
from gxapp.errors import ParameterError

RUN = runs.RunParams(ensemble=3, gene_hidden=4, head_hidden=16, max_epochs=60, patience=8, batch_size=512, lr=0.01)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("ia")
    c = cohorts.from_simulation(
        SimParams(
            scenario="simple",
            n_samples=1500,
            n_genes=5,
            snr=2.0,
            mi=0.25,
            seed=4,
            genotype_model="binomial",
            snps_per_gene=3,
        ),
        root=root,
    )
    r = runs.get(c.key, RUN, root)
    return c, r, root


def test_scores_table_and_truth_metrics(trained):
    c, r, root = trained
    res = ia.get(r.key, ia.InteractionParams(permutations=0, max_rows=200), root)
    t = res.table
    assert len(t) == 10 and list(t.columns[:3]) == ["gene_a", "gene_b", "score"]
    assert t["score"].is_monotonic_decreasing and t["p"].isna().all()
    assert {"p_topsnp", "p_pca", "p_snppair", "true", "type"} <= set(t.columns)
    assert set(res.meta["metrics"]) == {"NN", "top-SNP", "PCA", "SNP-pair"}
    # the planted product pairs of the simple scenario dominate the classical SNP-pair test
    assert t.loc[t["true"], "p_snppair"].min() < 1e-6
    assert ia.get(r.key, ia.InteractionParams(permutations=0, max_rows=200), root).key == res.key


def test_permutations_are_chunk_cached_and_reused(trained):
    _, r, root = trained
    small = ia.InteractionParams(permutations=4, chunk=2, max_rows=200)
    res4 = ia.get(r.key, small, root)
    null_store = cache.Store(ia.NULL_KIND, root)
    assert len(null_store.keys()) == 2
    res6 = ia.get(r.key, replace(small, permutations=6), root)
    assert len(null_store.keys()) == 3  # only the new chunk was trained
    np.testing.assert_allclose(res6.null[:4], res4.null)
    assert res6.meta["perm_seeds"][:4] == res4.meta["perm_seeds"] and len(set(res6.meta["perm_seeds"])) == 6
    t = res6.table
    assert ((t["p"] >= 1 / 7) & (t["p"] <= 1)).all() and (t["p_maxt"] >= t["p"]).all()
    assert t["q"].between(0, 1).all()


@pytest.mark.parametrize(
    "bad, word",
    [(dict(permutations=-1), "permutations"), (dict(index="XYZ"), "index"), (dict(perm_method="Q"), "perm_method")],
    ids=["negative-permutations", "unknown-index", "unknown-perm-method"],
)
def test_bad_parameters(trained, bad, word):
    _, r, root = trained
    with pytest.raises(ParameterError, match=word):
        ia.get(r.key, ia.InteractionParams(**bad), root)

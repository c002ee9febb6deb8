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
    assert t["score"].is_monotonic_decreasing and t["p_global"].isna().all() and t["q_global"].isna().all()
    # the held-out test needs no permutations: a p and a BH q for every pair, and the planted pairs lead
    assert t["p"].between(0, 1).all() and (t["q"] >= t["p"] - 1e-12).all()
    assert t.loc[t["true"], "p"].min() == t["p"].min() < 1e-6
    assert res.heldout.n_test == len(r.params.prepare(c.cohort).test_idx) and res.heldout.n_fit > 0
    fdp = res.meta["metrics"]["NN"]["fdp"]
    assert fdp["Perm I q"] is None and fdp["held-out q"]["planted"] <= fdp["held-out q"]["called"]
    assert {"p_topsnp", "p_pca", "p_snppair", "true", "type", "nn_only"} <= set(t.columns)
    assert {f"{w}_{stem}" for w in ("score", "p") for stem in ia.PERM_PEERS} <= set(t.columns)
    assert set(res.meta["metrics"]) == {"NN", "top-SNP", "PCA", "SNP-pair", *ia.PERM_PEERS.values()}
    assert set(res.meta["metrics"]) >= {"Lasso (top-SNP)", "Lasso (PCA)", "XGBoost (top-SNP)", "XGBoost (PCA)"}
    # the planted product pairs of the simple scenario dominate the classical SNP-pair test
    assert t.loc[t["true"], "p_snppair"].min() < 1e-6
    # B = 0: the permutation-tested peers give scores only; the NN's calls come from the held-out test
    for stem in ia.PERM_PEERS:
        assert (t[f"score_{stem}"] >= 0).all() and t[f"p_{stem}"].isna().all()
    assert t["nn_only"].equals(ia.only_nn(t)) and not (t["nn_only"] & (t["q"] >= 0.1)).any()
    # the simple scenario's products of top SNPs: Lasso and XGBoost on top SNPs rank a planted pair first
    for stem in ("lasso_topsnp", "xgb_topsnp"):
        assert t.loc[t[f"score_{stem}"].idxmax(), "true"], stem
        assert res.meta["metrics"][ia.PERM_PEERS[stem]]["AP"] > 0.5
    assert res.meta["peer_settings"]["perm_method"] == "R"
    assert res.meta["peer_settings"]["xgb_topsnp"]["scored_rows"] == res.meta["scored_rows"]
    assert res.meta["timings"]["lasso_s"] >= 0 and res.meta["timings"]["xgb_s"] >= 0
    # read back from the cache: the same peers
    again = ia.load(res.key, root)
    assert set(again.peers) == set(res.peers) and again.cached
    np.testing.assert_array_equal(again.heldout.p, res.heldout.p)
    np.testing.assert_array_equal(again.peers["score_xgb_pca"], res.peers["score_xgb_pca"])
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
    assert ((t["p_global"] >= 1 / 7) & (t["p_global"] <= 1)).all() and (t["p_maxt"] >= t["p_global"]).all()
    assert t["q_global"].between(0, 1).all()
    np.testing.assert_array_equal(t["p"], res4.table["p"])  # the held-out test does not depend on B
    # the peers get the same B permutations: p on the grid 1/(B+1) .. 1
    for stem in ia.PERM_PEERS:
        assert t[f"p_{stem}"].between(1 / 7 - 1e-12, 1).all(), stem
    # nn_only: NN held-out q < 0.1 and no peer at p < 0.05 — the one definition the page uses too
    peer_found = (t[list(ia.PEER_P_COLUMNS)] < 0.05).any(axis=1)
    assert t["nn_only"].equals((t["q"] < 0.1) & ~peer_found)
    assert ia.only_nn(t).equals(t["nn_only"]) and not (ia.only_nn(t) & ia.only_peer(t)).any()


def test_only_nn_and_only_peer_definitions():
    import pandas as pd

    df = pd.DataFrame(
        {
            "q": [0.01, 0.01, 0.5, 0.5, np.nan],
            "p_topsnp": [0.5, 0.01, 0.01, 0.5, 0.01],
            "p_snppair": [np.nan, 0.5, 0.5, 0.5, 0.5],
            "p_xgb_pca": [0.2, 0.5, 0.5, 0.5, 0.5],
        }
    )
    assert ia.only_nn(df).tolist() == [True, False, False, False, False]  # NaN p: the peer found nothing
    assert ia.only_peer(df).tolist() == [False, False, True, False, False]  # no q (B = 0): nobody is compared
    assert ia.only_nn(df, fdr=0.001).tolist() == [False] * 5
    assert ia.only_nn(df, p=0.005).tolist() == [True, True, False, False, False]


@pytest.mark.parametrize(
    "bad, word",
    [
        (dict(permutations=-1), "permutations"),
        (dict(index="XYZ"), "index"),
        (dict(perm_method="Q"), "perm_method"),
        (dict(peer_perm_method="I"), "peer_perm_method"),
    ],
    ids=["negative-permutations", "unknown-index", "unknown-perm-method", "peer-perm-method-I"],
)
def test_bad_parameters(trained, bad, word):
    _, r, root = trained
    with pytest.raises(ParameterError, match=word):
        ia.get(r.key, ia.InteractionParams(**bad), root)


def test_candidate_pairs_of_the_heldout_fdr():
    scores = np.array([[0, 3, 1], [3, 0, 2], [1, 2, 0]], dtype=float)
    mask = ia.top_pairs(scores, 2)
    assert mask[0, 1] and mask[1, 2] and not mask[0, 2] and (mask == mask.T).all()
    assert ia.InteractionParams().n_candidates(10) == 10  # as many as genes, at least 10
    assert ia.InteractionParams().n_candidates(4) == 6  # never more than the pairs
    assert ia.InteractionParams().n_candidates(65) == 65
    assert ia.InteractionParams(candidates=0).n_candidates(10) == 45
    assert ia.InteractionParams(candidates=3).n_candidates(10) == 3


def test_heldout_caution_beyond_the_validated_width():
    """No caution where the held-out q was validated; beyond it the caution names the width and what to do."""
    assert ia.heldout_caution(2) is None and ia.heldout_caution(ia.HELDOUT_VALIDATED_GENES) is None
    text = ia.heldout_caution(65)
    assert "65 genes" in text and "replication" in text and "screen" in text

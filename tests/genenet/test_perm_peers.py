"""Permutation-tested classical peers: Lasso with product terms (gxapp.genenet.lasso_peer)
and boosted trees with SHAP interaction values (gxapp.genenet.tree_peer), on hand-built designs."""

import threading

import numpy as np
import pytest
import xgboost as xgb

from gxapp.errors import Cancelled, ParameterError
from gxapp.genenet import lasso_peer, peer_perm, peers, tree_peer
from gxapp.genenet.baselines import top_snps

SEEDS = (0, 1, 2)
# small models keep every test at a fraction of a second
FAST_TREES = dict(n_trees=60, max_depth=3)


def _product_design(seed, n=1500, kind="gauss"):
    """Five independent variables, y = a·b + noise on variables 1 and 3 (plus main effects)."""
    rng = np.random.default_rng(seed)
    if kind == "gauss":
        R = rng.normal(size=(n, 5))
    else:  # dosages, as a top-SNP representation is
        R = rng.binomial(2, rng.uniform(0.2, 0.5, 5), size=(n, 5)).astype(float)
    c = (R - R.mean(0)) / R.std(0)
    y = 0.3 * c[:, 0] + 0.2 * c[:, 2] + 0.5 * c[:, 1] * c[:, 3] + rng.normal(size=n)
    return R, y


def _top_pair(score):
    i, j = np.triu_indices(len(score), 1)
    k = int(np.argmax(np.nan_to_num(score[i, j], nan=-np.inf)))
    return int(i[k]), int(j[k])


def _check_matrices(res, M, B):
    assert res.score.shape == res.p.shape == (M, M) and res.null.shape == (B, M, M)
    assert np.array_equal(res.score, res.score.T, equal_nan=True)
    assert np.array_equal(res.p, res.p.T, equal_nan=True)
    assert (np.diag(res.score) == 0).all() and np.isnan(np.diag(res.p)).all()
    iu = np.triu_indices(M, 1)
    if B:
        p = res.p[iu]
        assert ((p >= 1 / (B + 1) - 1e-12) & (p <= 1)).all()
        # p lives on the grid k / (B + 1)
        np.testing.assert_allclose(p * (B + 1), np.round(p * (B + 1)), atol=1e-9)
    else:
        assert np.isnan(res.p).all()


# ---------------------------------------------------------------------------
# Lasso
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["gauss", "dosage"])
def test_lasso_ranks_the_product_pair_first_with_a_small_p(seed, kind):
    R, y = _product_design(seed, kind=kind)
    res = lasso_peer.lasso_interaction_test(R, y, permutations=9, random_state=seed)
    _check_matrices(res, 5, 9)
    assert _top_pair(res.score) == (1, 3)
    assert res.p[1, 3] == pytest.approx(0.1)  # 1 / (B + 1): no permutation reaches it
    assert res.settings["alpha"] > 0


def test_lasso_on_an_additive_phenotype_gives_small_products():
    rng = np.random.default_rng(3)
    R = rng.normal(size=(2000, 5))
    y = R @ np.array([1.0, -0.8, 0.6, 0.0, 0.5]) + rng.normal(size=2000)
    res = lasso_peer.lasso_interaction_test(R, y, permutations=0)
    iu = np.triu_indices(5, 1)
    # main effects are of size ~0.5–1 per SD; every product is shrunk to (near) zero
    assert np.max(res.score[iu]) < 0.05
    # the same design with a planted product makes that coefficient an order of magnitude larger
    y2 = y + 0.5 * R[:, 0] * R[:, 4]
    res2 = lasso_peer.lasso_interaction_test(R, y2, permutations=0)
    assert res2.score[0, 4] > 0.3 and _top_pair(res2.score) == (0, 4)


def test_lasso_design_is_standardised_products_of_centred_columns():
    rng = np.random.default_rng(0)
    R = rng.binomial(2, 0.3, size=(500, 4)).astype(float) + 5.0  # an offset must not matter
    Z, valid = lasso_peer.interaction_design(R)
    assert Z.shape == (500, 4 + 6) and valid.all()
    np.testing.assert_allclose(Z.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Z.std(0), 1, rtol=1e-12)
    c = R - R.mean(0)
    w = c[:, 1] * c[:, 3]
    np.testing.assert_allclose(Z[:, 4 + 4], (w - w.mean()) / w.std())  # pair (1, 3) is the 5th pair


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lasso_penalty_is_the_one_lasso_cv_chooses(seed):
    """The shared-Gram cross-validation picks the α scikit-learn's LassoCV picks on the same
    folds and grid, with the same held-out error curve."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LassoCV
    from sklearn.model_selection import KFold

    rng = np.random.default_rng(seed)
    R = rng.standard_normal((300, 6))
    y = R[:, 0] * R[:, 1] + 0.5 * R[:, 2] + rng.standard_normal(300)
    Z, _ = lasso_peer.interaction_design(R)
    yc = y - y.mean()
    p = lasso_peer.LassoPeerParams(random_state=seed)
    alpha, G = lasso_peer._choose_alpha(Z, yc, p)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LassoCV(
            alphas=lasso_peer._alpha_grid(Z, yc, p.n_alphas),
            cv=KFold(p.cv, shuffle=True, random_state=seed),
            max_iter=p.max_iter,
            tol=p.tol,
        ).fit(Z, yc)
    assert alpha == pytest.approx(ref.alpha_, rel=1e-12)
    np.testing.assert_allclose(G, Z.T @ Z, rtol=1e-10, atol=1e-8)


def test_lasso_constant_gene_pairs_are_nan():
    R, y = _product_design(0, n=400)
    R[:, 2] = 1.0
    res = lasso_peer.lasso_interaction_test(R, y, permutations=3)
    assert np.isnan(res.score[2, [0, 1, 3, 4]]).all() and np.isnan(res.p[2, [0, 1, 3, 4]]).all()
    assert np.isfinite(res.score[1, 3])


def test_lasso_permutations_reuse_the_observed_alpha_and_are_reproducible():
    R, y = _product_design(4, n=800)
    a = lasso_peer.lasso_interaction_test(R, y, permutations=5, random_state=7)
    b = lasso_peer.lasso_interaction_test(R, y, permutations=5, random_state=7)
    c = lasso_peer.lasso_interaction_test(R, y, permutations=0, random_state=7)
    np.testing.assert_array_equal(a.null, b.null)
    np.testing.assert_array_equal(a.score, c.score)  # B does not change the observed fit
    assert a.settings["alpha"] == c.settings["alpha"]
    assert a.seeds == b.seeds and len(set(a.seeds)) == 5


def test_perm_r_and_t_build_their_targets():
    rng = np.random.default_rng(2)
    R = rng.normal(size=(300, 3))
    y = 2.0 * R[:, 0] + rng.normal(size=300)
    YR, seeds = peer_perm.null_phenotypes(R, y, "R", 4, 0)
    YT, seeds_t = peer_perm.null_phenotypes(R, y, "T", 4, 0)
    assert seeds == seeds_t
    resid = y - peer_perm.main_effect_fit(R, y)
    for b in range(4):
        np.testing.assert_allclose(np.sort(YR[:, b]), np.sort(resid))
        np.testing.assert_allclose(np.sort(YT[:, b]), np.sort(y))
    # Perm R's targets carry no main effect left
    assert abs(np.corrcoef(YR[:, 0], R[:, 0])[0, 1]) < 0.2


# ---------------------------------------------------------------------------
# boosted trees
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [2, 3, 4])
@pytest.mark.parametrize("kind", ["gauss", "dosage"])
def test_closed_form_interactions_match_xgboost(depth, kind):
    R, y = _product_design(5, n=1200, kind=kind)
    y = y + np.maximum(R[:, 0], R[:, 4])
    booster = tree_peer.fit_trees(R, y, tree_peer.XGBoostPeerParams(n_trees=30, max_depth=depth))
    Rs = R[:300]
    ref = booster.predict(xgb.DMatrix(Rs.astype(np.float32)), pred_interactions=True)[:, :5, :5]
    ref = ref + np.transpose(ref, (0, 2, 1))  # φ_ij + φ_ji
    ref[:, np.arange(5), np.arange(5)] = 0.0
    got = tree_peer.pair_interactions(booster, Rs)
    assert got.shape == (300, 5, 5)
    np.testing.assert_allclose(got, ref, atol=2e-5 * np.abs(ref).max())


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("kind", ["gauss", "dosage"])
def test_xgboost_ranks_the_product_pair_first_with_a_small_p(seed, kind):
    R, y = _product_design(seed, kind=kind)
    fit, score = np.arange(1000), np.arange(1000, 1500)
    # the default model: with 60 trees a symmetric (Gaussian) saddle a·b is sometimes missed,
    # since no single split on a or b alone reduces the error of a pure product
    res = tree_peer.xgboost_interaction_test(R, y, fit, score, permutations=9, random_state=seed)
    _check_matrices(res, 5, 9)
    assert _top_pair(res.score) == (1, 3)
    assert res.p[1, 3] == pytest.approx(0.1)
    assert res.settings["fit_rows"] == 1000 and res.settings["scored_rows"] == 500


def test_xgboost_is_reproducible_and_permutation_method_matters():
    R, y = _product_design(1, n=600)
    a = tree_peer.xgboost_interaction_test(R, y, permutations=3, random_state=2, **FAST_TREES)
    b = tree_peer.xgboost_interaction_test(R, y, permutations=3, random_state=2, **FAST_TREES)
    t = tree_peer.xgboost_interaction_test(R, y, permutations=3, perm_method="T", random_state=2, **FAST_TREES)
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_array_equal(a.null, b.null)
    np.testing.assert_array_equal(a.score, t.score)  # the observed fit does not depend on the null
    assert not np.allclose(a.null, t.null) and t.perm_method == "T"


def test_xgboost_cancel_and_progress():
    R, y = _product_design(0, n=300)
    seen = []
    tree_peer.xgboost_interaction_test(R, y, permutations=2, progress=lambda f, m: seen.append(f), n_trees=5)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    ev = threading.Event()
    ev.set()
    with pytest.raises(Cancelled):
        tree_peer.xgboost_interaction_test(R, y, permutations=2, cancel=ev, n_trees=5)
    with pytest.raises(Cancelled):
        lasso_peer.lasso_interaction_test(R, y, permutations=2, cancel=ev)


# ---------------------------------------------------------------------------
# gene representations, bad inputs
# ---------------------------------------------------------------------------
def test_gene_representation_is_top_snps_or_first_pcs():
    rng = np.random.default_rng(0)
    X = rng.binomial(2, 0.3, size=(400, 9)).astype(np.float32)
    y = X[:, 4] + rng.normal(size=400)
    blocks = [np.arange(0, 3), np.arange(3, 6), np.arange(6, 9)]
    rows = np.arange(300)
    top = peer_perm.gene_representation(X, y, blocks, rows, "topsnp")
    np.testing.assert_array_equal(top, X[np.ix_(rows, top_snps(X, y, blocks, rows))])
    assert top_snps(X, y, blocks, rows)[1] == 4
    np.testing.assert_array_equal(
        peer_perm.gene_representation(X, y, blocks, rows, "pca"), peers.gene_pcs(X, blocks, rows)
    )
    with pytest.raises(ParameterError, match="kind"):
        peer_perm.gene_representation(X, y, blocks, rows, "mean")


def _lasso(R, y, **kw):
    lasso_peer.lasso_interaction_test(R, y, **kw)


def _trees(R, y, **kw):
    tree_peer.xgboost_interaction_test(R, y, n_trees=3, **kw)


@pytest.mark.parametrize("run", [_lasso, _trees], ids=["lasso", "xgboost"])
@pytest.mark.parametrize(
    "change, kw, word",
    [
        ("nan_y", {}, "y"),
        ("short_y", {}, "y"),
        ("one_gene", {}, "R"),
        ("nan_R", {}, "R"),
        ("constant_y", {}, "y"),
        (None, dict(permutations=-1), "permutations"),
        (None, dict(permutations=2.5), "permutations"),
        (None, dict(perm_method="I"), "perm_method"),
        (None, dict(random_state=-3), "random_state"),
        (None, dict(rows=np.arange(5)), "rows"),
    ],
)
def test_bad_inputs_raise_typed_errors_naming_the_parameter(run, change, kw, word):
    rng = np.random.default_rng(0)
    R, y = rng.normal(size=(100, 4)), rng.normal(size=100)
    if change == "nan_y":
        y[3] = np.nan
    elif change == "short_y":
        y = y[:-1]
    elif change == "one_gene":
        R = R[:, :1]
    elif change == "nan_R":
        R[7, 2] = np.inf
    elif change == "constant_y":
        y[:] = 2.0
    if run is _trees and "rows" in kw:
        kw = {"fit_rows": kw["rows"]}
    with pytest.raises(ParameterError, match=rf"^{word}:"):
        run(R, y, **kw)


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(cv=1), "cv"),
        (dict(n_alphas=1), "n_alphas"),
        (dict(threads=0), "threads"),
    ],
)
def test_bad_lasso_settings(kw, word):
    R, y = _product_design(0, n=100)
    with pytest.raises(ParameterError, match=rf"^{word}:"):
        lasso_peer.lasso_interaction_test(R, y, **kw)


@pytest.mark.parametrize(
    "kw, word",
    [
        (dict(n_trees=0), "n_trees"),
        (dict(max_depth=0), "max_depth"),
        (dict(eta=0.0), "eta"),
        (dict(threads=0), "threads"),
        (dict(score_rows=np.array([], dtype=int)), "score_rows"),
        (dict(score_rows=np.array([0, 100])), "score_rows"),
    ],
)
def test_bad_xgboost_settings(kw, word):
    R, y = _product_design(0, n=100)
    with pytest.raises(ParameterError, match=rf"^{word}:"):
        tree_peer.xgboost_interaction_test(R, y, **{"n_trees": 3, **kw})

"""Architecture comparison of paper B (gxapp.epistasis): batched trainer, CV, t-test, surfaces."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch

from gxapp.data.cohort import Cohort
from gxapp.data.io.variants import CLASSES, standardise_counts
from gxapp.data.simulate import SimParams, simulate_cohort
from gxapp.epistasis import (
    EpiTrainConfig,
    RowGroup,
    compare,
    corrected_ttest,
    decision_surfaces,
    fit_networks,
    gene_features,
    learning_curve,
    make_splits,
    sparsity_sweep,
)
from gxapp.epistasis import cv as cvmod
from gxapp.epistasis import models as M
from gxapp.epistasis.features import MAF_BINS, RowMoments
from gxapp.epistasis.genemodule import GeneModuleKernel
from gxapp.errors import GeneMappingError, ParameterError

FAST = dict(lr=1e-2, max_epochs=40, patience=10, batch_size=64, dropout=0.0, threads=1)


def counts_cohort(X, y, pathways=None, classes=CLASSES) -> Cohort:
    """A case/control cohort whose variant table holds the counts X (N, G, C)."""
    n, G, C = X.shape
    genes = [f"G{i}" for i in range(G)]
    ids = [f"s{i}" for i in range(n)]
    i, g, c = np.nonzero(X)
    variants = pd.DataFrame(
        {
            "iid": np.array(ids)[i],
            "gene": np.array(genes)[g],
            "class": np.array(classes)[c],
            "count": X[i, g, c].astype(float),
        }
    )
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(G)],
            "chrom": "1",
            "pos": np.arange(G, dtype=np.int64) * 1000 + 1,
            "a1": "A",
            "a2": "G",
        }
    )
    gdf = pd.DataFrame({"gene": genes, "chrom": "1", "start": snps["pos"], "end": snps["pos"] + 10})
    return Cohort(
        genotypes=np.zeros((n, G), np.int8),
        samples=pd.DataFrame({"fid": ids, "iid": ids}),
        snps=snps,
        genes=gdf,
        gene_snps={gn: np.array([j]) for j, gn in enumerate(genes)},
        phenotype=np.asarray(y, float),
        trait="binary",
        pathways=pathways,
        variants=variants,
    )


PATHWAYS = {"P1": ["G0", "G1", "G2"], "P2": ["G3", "G4", "G5"]}


def additive_cohort(n=600, G=8, seed=0) -> Cohort:
    """Strong additive signal: the class-0 counts of genes 0-3 raise the risk."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(0.6, size=(n, G, 4)).astype(np.float32)
    z = X[:, :4, 0].sum(1)
    y = (rng.random(n) < 1 / (1 + np.exp(-2.0 * (z - z.mean())))).astype(float)
    return counts_cohort(X, y, PATHWAYS, classes=CLASSES[:4])


def xor_cohort(n=800, G=6, seed=0) -> Cohort:
    """Reciprocal sign epistasis: carriers of gene 0 XOR gene 1 are at risk."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(0.3, size=(n, G, 3)).astype(np.float32)
    h = rng.integers(0, 2, size=(n, 2))
    X[:, 0, 0] = h[:, 0] * rng.integers(1, 3, n)
    X[:, 1, 0] = h[:, 1] * rng.integers(1, 3, n)
    eta = 6.0 * (h[:, 0] ^ h[:, 1]) - 3.0
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return counts_cohort(X, y, PATHWAYS, classes=CLASSES[:3])


# ------------------------------------------------------------------ batched engine


def test_gene_module_kernel_matches_autograd():
    torch.manual_seed(0)
    for n_tanh, S, min_cells in ((1, 1, 1), (0, 1, 1), (2, 3, 1), (2, 3, 2048)):
        J, H, C, N = 3, 5, 3, 40
        X = torch.randn(N, C)
        cells = torch.randint(0, N, (J, 17))
        W = torch.randn(J, C, S * H, requires_grad=True)
        b = torch.randn(J, S * H, requires_grad=True)
        w2 = torch.randn(J * S, H, requires_grad=True)
        b2 = torch.randn(J * S, requires_grad=True)
        k = GeneModuleKernel(J, S, n_tanh, hidden=H, block_elements=200, min_cells=min_cells)  # several blocks
        g = k.forward(X, cells, W.detach(), b.detach(), w2.detach(), b2.detach())
        dg = torch.randn_like(g)
        grads = k.backward(X, cells, W.detach(), b.detach(), w2.detach(), dg)
        u = (X[cells] @ W + b[:, None]).view(J, -1, S, H)
        act = torch.cat([torch.tanh(u[:, :, :n_tanh]), u[:, :, n_tanh:]], 2)
        ref = (act * w2.view(J, 1, S, H)).sum(-1) + b2.view(J, 1, S)
        assert torch.allclose(ref, g, atol=1e-5)
        ref.backward(dg)
        for got, t in zip(grads, (W, b, w2, b2)):
            assert torch.allclose(got, t.grad, atol=1e-4, rtol=1e-4)


def test_batched_training_equals_one_model_at_a_time():
    rng = np.random.default_rng(0)
    N, G, C = 240, 10, 4
    X = rng.poisson(1.0, (N, G, C)).astype(np.float32)
    y = (rng.random(N) < 0.4).astype(float)
    wire, names = M.pathway_wiring([f"g{i}" for i in range(G)], {"A": ["g0", "g1", "g2"], "B": ["g3", "g4"]})
    specs = [
        M.logreg_spec(),
        M.sparse_spec(wire, len(names)),
        M.dense_spec(5),
        M.sparse_spec(wire, len(names), name="linear", linear=True),
        M.sparse_spec(M.random_wiring(G, 3, 0.5, 1), 3, name="random"),
    ]
    perm = rng.permutation(N)
    groups = [
        RowGroup(key=(0, 0, f), train=np.setdiff1d(np.arange(N), perm[f::3]), test=np.sort(perm[f::3]))
        for f in range(3)
    ]
    cfg = EpiTrainConfig(max_epochs=3, lr=1e-2, patience=2, dropout=0.2, batch_size=32, threads=1)
    batched = fit_networks(X, y, copy.deepcopy(groups), specs, cfg)
    for j, g in enumerate(groups):
        for s, spec in enumerate(specs):
            alone = fit_networks(X, y, [copy.deepcopy(g)], [spec], cfg)
            assert alone.best_epoch[0, 0] == batched.best_epoch[j, s]
            np.testing.assert_allclose(alone.test_prob[0][0], batched.test_prob[j][s], atol=1e-5)


def _small_and_large_group(seed: int, n: int, cuts: tuple):
    """Random counts (n, 6 genes, 3 classes), 0/1 y and two row groups of a random order of the
    rows: a small one (training rows [0, a), test [a, b)) and a large one ([b, c), test [c, n)),
    as a learning curve's smallest and largest sizes."""
    rng = np.random.default_rng(seed)
    X = rng.poisson(1.0, (n, 6, 3)).astype(np.float32)
    y = (rng.random(n) < 0.5).astype(float)
    perm = rng.permutation(n)
    a, b, c = cuts
    return (
        X,
        y,
        [
            RowGroup(key=(0, 0, 0), train=np.sort(perm[:a]), test=np.sort(perm[a:b])),
            RowGroup(key=(1, 0, 0), train=np.sort(perm[b:c]), test=np.sort(perm[c:])),
        ],
    )


def test_groups_with_nothing_to_train_are_left_out_of_a_step(monkeypatch):
    """Row groups of very different sizes (a learning curve's subsets) and networks that stop
    early: a step computes only the groups with an active network, and every network is still
    the one trained alone."""
    X, y, groups = _small_and_large_group(1, 300, (40, 60, 260))  # one batch per epoch vs five
    specs = [M.logreg_spec(), M.dense_spec(3)]
    cfg = EpiTrainConfig(max_epochs=8, lr=5e-2, patience=1, dropout=0.2, batch_size=32, threads=1)
    seen = []
    real = GeneModuleKernel.forward

    def spy(self, X_, cells, W_eff, *a):
        seen.append(W_eff.shape[0])
        return real(self, X_, cells, W_eff, *a)

    monkeypatch.setattr(GeneModuleKernel, "forward", spy)
    batched = fit_networks(X, y, copy.deepcopy(groups), specs, cfg)
    assert 1 in seen and 2 in seen  # the small group sat out the steps it had no rows for
    monkeypatch.setattr(GeneModuleKernel, "forward", real)
    for j, g in enumerate(groups):
        alone = fit_networks(X, y, [copy.deepcopy(g)], specs, cfg)
        np.testing.assert_array_equal(alone.best_epoch[0], batched.best_epoch[j])
        for s in range(len(specs)):
            np.testing.assert_allclose(alone.test_prob[0][s], batched.test_prob[j][s], atol=1e-5)


def test_groups_reported_as_they_stop_hold_the_final_numbers():
    """``on_groups_done``: each group is reported once, as soon as all its networks have stopped
    (a small group before a large one), with exactly the test probabilities of the result — and
    the result is the same as without the hook."""
    X, y, groups = _small_and_large_group(2, 400, (60, 90, 370))
    specs = [M.logreg_spec(), M.dense_spec(3)]
    cfg = EpiTrainConfig(max_epochs=30, lr=5e-2, patience=2, dropout=0.0, batch_size=32, threads=1)
    calls = []
    hooked = fit_networks(X, y, copy.deepcopy(groups), specs, cfg, on_groups_done=lambda js, p: calls.append((js, p)))
    plain = fit_networks(X, y, copy.deepcopy(groups), specs, cfg)
    order = [j for js, _ in calls for j in js]
    assert sorted(order) == [0, 1]  # every group once
    assert len(calls) == 2 and order == [0, 1]  # the small group stopped first and was reported on its own
    for js, probs in calls:
        for j, p in zip(js, probs):
            np.testing.assert_array_equal(p, hooked.test_prob[j])
    for j in range(2):
        np.testing.assert_array_equal(hooked.test_prob[j], plain.test_prob[j])
        np.testing.assert_array_equal(hooked.best_epoch[j], plain.best_epoch[j])


def test_learning_curve_is_published_size_by_size():
    """A watcher of the progress callback (a background job) gets the curve drawn so far: the
    additive baselines of every size first, then each size's networks as they stop; the last
    picture is the final curve, and watching changes no number."""
    from gxapp.epistasis.results import LearningCurve

    cohort = additive_cohort(n=300)
    cfg = EpiTrainConfig(**{**FAST, "max_epochs": 30, "patience": 2, "dropout": 0.0})
    kw = dict(fractions=(0.3, 1.0), models=("logreg", "l2"), folds=2, repeats=1, config=cfg)
    seen = []

    def progress(fraction, message=""):
        pass

    progress.publish = seen.append
    watched = learning_curve(cohort, progress=progress, **kw)
    plain = learning_curve(cohort, **kw)
    assert seen and all(isinstance(lc, LearningCurve) for lc in seen)
    tables = [lc.table() for lc in seen]
    first_networks = next(i for i, t in enumerate(tables) if (t["kind"] == "network").any())
    assert (tables[first_networks - 1]["kind"] == "additive").sum() == 2  # both sizes' baselines before any network
    sizes_with_networks = [sorted(t.loc[t["kind"] == "network", "fraction"]) for t in tables[first_networks:]]
    assert sizes_with_networks[-1] == [0.3, 1.0]
    assert len(sizes_with_networks[0]) == 1  # one size drawn before the other finished
    pd.testing.assert_frame_equal(tables[-1], watched.table())
    pd.testing.assert_frame_equal(watched.table(), plain.table())


def test_standardisation_stats_match_standardise_counts():
    rng = np.random.default_rng(1)
    X = rng.poisson(2.0, (50, 7, 3)).astype(np.float32)
    X[:, :, 2] = 0  # a class without variance: only centred
    rows = np.arange(0, 50, 2)
    _, mean, sd = standardise_counts(X, rows, return_stats=True)
    m, s = RowMoments(X).stats(rows)
    np.testing.assert_allclose(m, mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(s[:2], sd[:2], rtol=1e-6)
    assert s[2] == 1.0


# ------------------------------------------------------------------ CV and statistics


def test_corrected_ttest_matches_hand_computation():
    a = np.array([0.71, 0.69, 0.73, 0.70, 0.72, 0.74])
    b = np.array([0.68, 0.69, 0.70, 0.66, 0.71, 0.70])
    d = a - b
    J = 6
    var = ((d - d.mean()) ** 2).sum() / (J - 1)
    t = d.mean() / np.sqrt((1 / J + 100 / 200) * var)
    from scipy import stats

    p = 2 * (1 - stats.t.cdf(abs(t), J - 1))
    r = corrected_ttest(a, b, n_train=200, n_test=100)
    assert r["t"] == pytest.approx(t, rel=1e-12)
    assert r["p"] == pytest.approx(p, rel=1e-9)
    assert r["df"] == 5
    same = corrected_ttest(a, a, 200, 100)
    assert same["t"] == 0 and same["p"] == 1


def test_identical_splits_for_every_model(monkeypatch):
    cohort = additive_cohort(n=300)
    seen = {}
    real_fit, real_add = cvmod.fit_networks, cvmod.additive.fit_additive

    def fit_spy(X, y, groups, *a, **k):
        seen["nn"] = [(g.train.copy(), g.test.copy()) for g in groups]
        return real_fit(X, y, groups, *a, **k)

    def add_spy(X, y, groups, penalty, *a, **k):
        seen[penalty] = [(np.asarray(g.train).copy(), np.asarray(g.test).copy()) for g in groups]
        return real_add(X, y, groups, penalty, *a, **k)

    monkeypatch.setattr(cvmod, "fit_networks", fit_spy)
    monkeypatch.setattr(cvmod.additive, "fit_additive", add_spy)
    cfg = EpiTrainConfig(**{**FAST, "max_epochs": 2})
    res = compare(cohort, models=("logreg", "biosparse", "l2", "l1"), folds=2, repeats=2, seed=3, config=cfg)
    y = cohort.phenotype
    ref = make_splits(y, 2, 2, 3)
    for key in ("nn", "l2", "l1"):
        assert len(seen[key]) == 4
        for (tr, te), (_, _, rtr, rte) in zip(seen[key], ref):
            np.testing.assert_array_equal(tr, rtr)
            np.testing.assert_array_equal(np.sort(te), rte)
    assert res.splits == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(len(m.aucs) == 4 for m in res.models.values())
    d = json.loads(res.to_json())
    assert set(d["models"]) == {"logreg", "biosparse", "l2", "l1"}
    for m in d["models"].values():
        assert {"auc_mean", "auc_sd", "aucs", "n_params"} <= set(m)
    assert len(d["ttest"]) == 6 and {"model_a", "model_b", "t", "p"} <= set(d["ttest"][0])
    C = len(CLASSES)  # the gene-centric encoding keeps every class, even those absent here
    assert d["models"]["logreg"]["n_params"] == C * 50 + 50 + 50 + 1 + 8 + 1


def test_strong_additive_signal_is_found_by_every_model():
    res = compare(
        additive_cohort(),
        models=("logreg", "biosparse", "dense", "linear", "l2"),
        folds=2,
        repeats=2,
        seed=0,
        config=EpiTrainConfig(**FAST),
    )
    for name, m in res.models.items():
        assert m.auc_mean > 0.75, (name, m.auc_mean)


def test_dense_beats_logreg_on_reciprocal_sign_pair():
    cfg = EpiTrainConfig(**{**FAST, "lr": 3e-2, "max_epochs": 60})
    res = compare(xor_cohort(), models=("logreg", "dense"), folds=2, repeats=2, seed=0, config=cfg, dense_hidden=8)
    dense, logreg = res.models["dense"], res.models["logreg"]
    assert logreg.auc_mean < 0.6
    assert dense.auc_mean > logreg.auc_mean + 0.15
    assert max(dense.aucs) > 0.9


def test_sweep_and_learning_curve_run_on_the_same_splits(monkeypatch):
    from helpers import same_groups as _same_groups
    from helpers import spy_epistasis_fits

    cohort = additive_cohort(n=300)
    y = cohort.phenotype
    cfg = EpiTrainConfig(**{**FAST, "max_epochs": 2})
    calls = spy_epistasis_fits(monkeypatch)
    sw = sparsity_sweep(
        cohort, degrees=(0.5, 1.0), wiring=("random", "pathway"), folds=2, repeats=1, config=cfg, baselines=("l2",)
    )
    t = sw.table()
    assert list(t["model"]) == ["random@50%", "random@100%", "pathway@50%", "pathway@100%", "dense", "l2"]
    assert list(t["n_connections"][:4]) == [4, 8, 4, 8]
    assert t["n_params"].iloc[1] < t["n_params"].iloc[4]
    # every sweep network is trained in ONE batched fit, on the splits make_splits gives; the
    # additive baseline gets the very same rows
    ref = make_splits(y, 2, 1, 0)
    assert len(calls["nn"]) == 1 and len(calls["add"]) == 1
    assert set(calls["nn"][0]["names"]) == {"random@50%", "random@100%", "pathway@50%", "pathway@100%", "dense"}
    _same_groups(calls["nn"][0]["groups"], ref)
    _same_groups(calls["add"][0]["groups"], ref)
    assert sw.comparison.splits == [(0, 0), (0, 1)]

    calls["nn"].clear(), calls["add"].clear()
    lc = learning_curve(cohort, fractions=(0.5, 1.0), models=("biosparse", "l2"), folds=2, repeats=1, config=cfg)
    tab = lc.table()
    assert list(tab["n_samples"].unique()) == [150, 300]
    json.loads(lc.to_json())
    subsets = cvmod.nested_subsets(y, (0.5, 1.0), 0)
    assert np.isin(subsets[0.5], subsets[1.0]).all()
    # every size's networks in ONE batched fit; one additive fit per size
    assert len(calls["nn"]) == 1 and len(calls["add"]) == 2
    nn_groups = calls["nn"][0]["groups"]
    assert len(nn_groups) == 4
    for i, f in enumerate((0.5, 1.0)):
        # within one subset the network and the additive model see identical splits of that subset
        rows = subsets[f]
        ref = [(r, k, rows[tr], rows[te]) for r, k, tr, te in make_splits(y[rows], 2, 1, 0)]
        _same_groups(nn_groups[2 * i : 2 * i + 2], ref, subset=i)
        _same_groups(calls["add"][i]["groups"], ref, subset=i)
        assert lc.results[f].splits == [(0, 0), (0, 1)]


def test_learning_curve_batched_sizes_equal_each_size_trained_alone():
    """The learning curve trains every size x fold x head as ONE batched model; each size's AUCs
    are those of that size's networks trained alone (the reference: a plain fit per size on its
    own rows, keyed as the curve keys them)."""
    from sklearn.metrics import roc_auc_score

    cohort = additive_cohort(n=240)
    cfg = EpiTrainConfig(**{**FAST, "max_epochs": 4, "patience": 2, "dropout": 0.2})
    fr = (0.5, 1.0)
    lc = learning_curve(
        cohort, fractions=fr, models=("logreg", "dense"), folds=2, repeats=1, config=cfg, dense_hidden=4
    )
    assert lc.results[1.0].settings["trained_with_sizes"] == 2
    X, y, _, _, _ = cvmod._prepare(cohort, "auto")
    subsets = cvmod.nested_subsets(y, fr, 0)
    specs = [M.logreg_spec("logreg"), M.dense_spec(4, "dense")]
    for i, f in enumerate(fr):
        rows = subsets[f]
        Xs, ys = X[rows], y[rows]
        groups = [RowGroup(key=(i, r, k), train=tr, test=te) for r, k, tr, te in make_splits(ys, 2, 1, 0)]
        alone = fit_networks(Xs, ys, groups, specs, cfg)
        for s, name in enumerate(("logreg", "dense")):
            ref = [roc_auc_score(ys[g.test], alone.test_prob[j][s]) for j, g in enumerate(groups)]
            np.testing.assert_allclose(lc.results[f].models[name].aucs, ref, atol=1e-6)


def test_ensemble_averages_random_wirings(monkeypatch):
    from sklearn.metrics import roc_auc_score

    from helpers import spy_epistasis_fits

    cfg = EpiTrainConfig(**{**FAST, "max_epochs": 2})
    cohort = additive_cohort(n=200)
    calls = spy_epistasis_fits(monkeypatch)
    res = compare(
        cohort, models=("biosparse", "ensemble"), folds=2, repeats=1, config=cfg, ensemble_size=3, wiring="random"
    )
    gm_and_out = len(CLASSES) * 50 + 50 + 50 + 1 + 1 + 8  # gene module, output bias, 8 connections
    n_par = res.models["ensemble"].n_params
    assert 3 * (gm_and_out + 2) <= n_par <= 3 * (gm_and_out + 2 * 3)  # + 2 per used neuron (1-3 of 3)
    assert res.models["ensemble"].details["n_networks"] == 3
    (call,) = calls["nn"]
    members = [s for s in call["specs"] if s.member_of == "ensemble"]
    assert [s.name for s in members] == ["ensemble[0]", "ensemble[1]", "ensemble[2]"]
    # random wirings: every member is a sparse net with all 8 genes connected, and no two are wired alike
    assert all(s.head == "sparse" and s.n_connections == 8 for s in members)
    wirings = {tuple(s.wiring) for s in members}
    assert len(wirings) == 3
    # the ensemble's AUC is that of the members' mean probability (not of one member, not of the sum
    # of AUCs): recompute it from the fitted probabilities on each test fold
    fit = call["result"]
    idx = [call["names"].index(s.name) for s in members]
    y = cohort.phenotype
    for j, g in enumerate(fit.groups):
        p = fit.test_prob[j][idx]
        assert p.shape == (3, len(g.test))
        assert res.models["ensemble"].aucs[j] == pytest.approx(roc_auc_score(y[g.test], p.mean(0)), abs=1e-12)
        assert not np.allclose(p[0], p[1])  # the members really differ


# ------------------------------------------------------------------ wiring


def test_wiring_is_an_index_with_the_paper_rules():
    genes = [f"G{i}" for i in range(10)]
    w, names = M.pathway_wiring(genes, {"A": ["G0", "G1"], "B": ["G1", "G2", "G3"]}, seed=0)
    assert names == ["A", "B", "other"]
    assert w[0] == 0 and w[1] in (0, 1) and w[2] == 1 and (w[4:] == 2).all()
    w75, _ = M.pathway_wiring(genes, {"A": ["G0", "G1"]}, connected=0.5, seed=0)
    assert (w75 >= 0).sum() == 5
    r = M.random_wiring(10, 4, 0.75, seed=0)
    assert (r >= 0).sum() == 8 and r.max() < 4
    spec = M.sparse_spec(r, 4)
    assert M.n_params(spec, 10, 16) == 901 + 8 + 2 * len(spec.used_neurons()) + 1
    assert M.n_params(M.dense_spec(4), 10, 16) == 901 + 40 + 8 + 1


# ------------------------------------------------------------------ errors


@pytest.fixture(scope="module")
def small_cohort():
    return additive_cohort(n=100)


def _few_cases(c):
    y = np.zeros(100)
    y[:2] = 1
    return Cohort(**{**c.__dict__, "phenotype": y})


def _same(c):
    return c


@pytest.mark.parametrize(
    "variant, call, error, match",
    [
        (_same, lambda c: compare(c, models=("logreg", "resnet")), ParameterError, "valid names are"),
        (_same, lambda c: compare(c, sparsity=0), ParameterError, "sparsity"),
        (_same, lambda c: compare(c, sparsity=1.5), ParameterError, "sparsity"),
        (_same, lambda c: compare(c, sparsity=-0.2), ParameterError, "sparsity"),
        (
            _same,
            lambda c: compare(c, models=("biosparse",), pathways={"X": ["NOPE1", "NOPE2"]}),
            GeneMappingError,
            None,
        ),
        (_same, lambda c: compare(c, models=("biosparse",), wiring="kegg"), ParameterError, "wiring"),
        (_few_cases, lambda c: compare(c, models=("logreg",), folds=3), ParameterError, "lower k"),
        (
            lambda c: Cohort(**{**c.__dict__, "phenotype": np.ones(100)}),
            lambda c: compare(c, models=("logreg",)),
            ParameterError,
            "both classes",
        ),
        (
            lambda c: Cohort(**{**c.__dict__, "phenotype": np.linspace(0, 1, 100), "trait": "quantitative"}),
            gene_features,
            ParameterError,
            "case/control",
        ),
    ],
    ids=[
        "unknown_model",
        "sparsity_zero",
        "sparsity_above_one",
        "sparsity_negative",
        "pathway_genes_not_in_cohort",
        "unknown_wiring",
        "too_few_cases_for_folds",
        "one_class",
        "quantitative_trait",
    ],  # no pathways is no error: random wiring stands in (tests/epistasis/test_random_wiring_fallback.py)
)
def test_errors_say_what_to_do(small_cohort, variant, call, error, match):
    cohort = variant(small_cohort)
    with pytest.raises(error, match=match):
        call(cohort)


def test_features_of_a_snp_cohort():
    c = simulate_cohort(
        SimParams(scenario="complex", n_samples=200, n_genes=3, snps_per_gene=10, genotype_model="binomial", seed=2)
    )
    y = (c.phenotype > np.median(c.phenotype)).astype(float)
    cc = Cohort(**{**c.__dict__, "phenotype": y, "trait": "binary"})
    X, genes, classes = gene_features(cc)
    assert X.shape == (200, 3, len(MAF_BINS)) and classes == list(MAF_BINS) and genes == cc.gene_names
    f = cc.allele_freq()
    minor = np.where(f > 0.5, 2 - cc.genotypes, cc.genotypes).astype(float)
    for gi, g in enumerate(genes):
        np.testing.assert_allclose(X[:, gi].sum(1), minor[:, cc.gene_snps[g]].sum(1), rtol=1e-6)
    res = compare(
        cc,
        models=("logreg", "biosparse"),
        wiring="random",
        folds=2,
        repeats=1,
        config=EpiTrainConfig(**{**FAST, "max_epochs": 2}),
    )
    # a SNP cohort's comparison adds each gene's first DEFAULT_GENE_PCS principal components
    assert res.classes == list(MAF_BINS) + [f"PC{i + 1}" for i in range(cvmod.DEFAULT_GENE_PCS)]


# ------------------------------------------------------------------ surfaces (paper B, Fig. 3)


def test_surfaces_show_which_head_expresses_which_epistasis():
    s = decision_surfaces(grid=21)
    summ = s.summary.set_index(["type", "head"])
    assert summ.loc[("reciprocal", "dense"), "auc"] > 0.9
    assert summ.loc[("reciprocal", "logreg"), "auc"] < 0.65
    expected = {
        "additive": {"logreg", "biosparse", "dense"},
        "positive": {"biosparse", "dense"},
        "negative": {"biosparse", "dense"},
        "reciprocal": {"dense"},
    }
    for t, heads in expected.items():
        got = {h for h in ("logreg", "biosparse", "dense") if summ.loc[(t, h), "expresses"]}
        assert got == heads, (t, got)
    assert set(s.grid.columns) == {"type", "head", "x", "y", "p"}
    assert len(s.grid) == 4 * 4 * 21 * 21


def test_progress_is_reported_and_cancel_stops_training():
    import threading

    from gxapp.errors import Cancelled

    seen = []
    compare(
        additive_cohort(n=200),
        models=("logreg", "l2"),
        folds=2,
        repeats=1,
        config=EpiTrainConfig(**{**FAST, "max_epochs": 2}),
        progress=lambda f, m: seen.append(f),
    )
    assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        compare(
            additive_cohort(n=200), models=("logreg",), folds=2, repeats=1, config=EpiTrainConfig(**FAST), cancel=flag
        )


@pytest.mark.parametrize(
    "net_aucs, expected",
    [
        ((0.50, 0.55, 0.62, 0.70), 800),  # behind, behind, ahead, ahead: the crossover at the third size
        ((0.50, 0.62, 0.58, 0.70), 1600),  # ahead at 400 but behind at 800: only from the last size on
        ((0.50, 0.55, 0.58, 0.59), None),  # never ahead
        ((0.65, 0.66, 0.67, 0.70), None),  # ahead everywhere: no crossover
    ],
)
def test_crossover_reads_paper_b_story_off_the_curve(net_aucs, expected):
    from gxapp.epistasis import crossover

    sizes, add = (200, 400, 800, 1600), (0.55, 0.60, 0.61, 0.62)
    rows = [{"n_samples": n, "model": "l2", "kind": "additive", "auc_mean": a} for n, a in zip(sizes, add)]
    rows += [{"n_samples": n, "model": "dense", "kind": "network", "auc_mean": a} for n, a in zip(sizes, net_aucs)]
    rows += [{"n_samples": n, "model": "logreg", "kind": "network", "auc_mean": 0.5} for n in sizes]
    c = crossover(rows)
    assert c["crossover_n"] == expected
    assert c["small"]["n"] == 200 and c["large"]["n"] == 1600
    assert c.get("networks_lead_everywhere", False) == (min(net_aucs) > 0.62)
    assert c["large_additive"] == {"model": "l2", "auc": 0.62, "n": 1600}

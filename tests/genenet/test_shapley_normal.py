"""The normal-approximation estimator (gxapp.genenet.shapley.normal): against its slow
pair-by-pair reference, against the exact kernel on trained networks, its quadrature
and closed form, invariants, chunking and the entry point."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig, init_params
from gxapp.genenet.shapley import INDICES, exact_scores, normal_scores, score_pairs, size_distribution
from gxapp.genenet.shapley.normal import gaussian_relu_mean, size_quadrature
from gxapp.genenet.train import TrainConfig, train_ensemble

from helpers import planted_net, random_net
from reference.shapley import normal_reference


def _rel(a, b) -> float:
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("index", INDICES)
def test_fast_normal_matches_its_reference(index, seed):
    """Random heads scaled so that ReLU kinks fall among the coalitions (the hard case):
    the fast kernel's quadrature and surface fit stay close to the size-by-size formula,
    and closer with more nodes."""
    params, cfg, nodes, base = random_net(12, K=1, B=2, H=7, seed=seed)
    ref = np.stack([normal_reference(params, cfg, 0, nodes[0, b].numpy(), base[0].numpy(), index) for b in range(2)])
    fine = normal_scores(params, cfg, nodes, base, index, degree=7, size_nodes=64)[0].numpy()
    default = normal_scores(params, cfg, nodes, base, index)[0].numpy()
    assert _rel(fine, ref) < 0.06, _rel(fine, ref)
    assert _rel(default, ref) < 0.12, _rel(default, ref)


def test_reference_is_exact_for_three_genes():
    """With one other gene every coalition sum is deterministic: the 'approximation'
    is the exact index (checks the reference's moments and weights)."""
    params, cfg, nodes, base = random_net(3, K=1, B=2, H=7, seed=3)
    for index in INDICES:
        ex = exact_scores(params, cfg, nodes, base, index)[0].double().numpy()
        for b in range(2):
            ref = normal_reference(params, cfg, 0, nodes[0, b].numpy(), base[0].numpy(), index)
            np.testing.assert_allclose(ref, ex[b], atol=1e-6)


@pytest.fixture(scope="module")
def trained16():
    """16 genes x 2 SNPs, y = g0*g1 + 0.7*g2*g3 + main effects + noise; 2 members."""
    rng = np.random.default_rng(4)
    n, M = 1500, 16
    x = rng.binomial(2, 0.4, size=(n, 2 * M)).astype(np.float32)
    x -= x.mean(0)
    blocks = [np.arange(2 * i, 2 * i + 2) for i in range(M)]
    g = np.stack([x[:, b].sum(1) for b in blocks], 1)
    g /= g.std(0)
    y = g[:, 0] * g[:, 1] + 0.7 * g[:, 2] * g[:, 3] + g[:, 4:8].sum(1) * 0.5 + rng.normal(0, 0.7, n)
    net = NetConfig(gene_hidden=0, head_hidden=32)
    cfg = TrainConfig(batch_size=128, max_epochs=40, patience=6, lr=0.01, threads=1)
    return x, train_ensemble(x, y, blocks, np.arange(1200), net, cfg, n_members=2)


@pytest.mark.parametrize("index", INDICES)
def test_normal_close_to_exact_on_a_trained_network(trained16, index):
    x, result = trained16
    rows, base = np.arange(1200, 1300), np.arange(1200)
    exact = score_pairs(result, x, rows, base, index=index, method="exact")
    approx = score_pairs(result, x, rows, base, index=index, method="normal")
    assert approx.method == "normal" and approx.stderr is None
    i, j = np.triu_indices(16, 1)
    e, a = exact.mean[i, j], approx.mean[i, j]
    top = np.argsort(-e)[:10]
    assert np.abs(a[top] - e[top]).max() / e[top].max() < 0.05
    assert list(np.argsort(-a)[:2]) == list(top[:2])  # the planted pairs come first, in order
    assert (i[top[0]], j[top[0]]) == (0, 1)


@pytest.mark.parametrize("index", INDICES)
@pytest.mark.parametrize("n_nodes", [1, 3, 6])
def test_size_quadrature_is_gauss_for_the_size_distribution(index, n_nodes):
    M = 40
    r, w = map(np.asarray, size_quadrature(index, M, n_nodes))
    p = size_distribution(index, M)
    x = np.arange(M - 1) / (M - 2)
    assert r.size == n_nodes and (w > 0).all() and ((r >= 0) & (r <= 1)).all()
    for k in range(2 * n_nodes):  # exact for every polynomial of degree 2Q - 1
        assert np.sum(w * r**k) == pytest.approx(np.sum(p * x**k), rel=1e-9, abs=1e-12)
    assert np.sum(w * r ** (2 * n_nodes)) != pytest.approx(np.sum(p * x ** (2 * n_nodes)), rel=1e-9)
    all_r, all_w = size_quadrature(index, 5, 64)  # more nodes than sizes: every size
    np.testing.assert_allclose(all_w, size_distribution(index, 5))


def test_gaussian_relu_mean_closed_form():
    m = torch.tensor([-2.0, -0.3, 0.0, 0.5, 3.0], dtype=torch.float64)
    v = torch.tensor([0.5, 2.0, 1.0, 0.0, 0.1], dtype=torch.float64)
    got = gaussian_relu_mean(m, v).numpy()
    for k in range(5):
        sd = math.sqrt(v[k])
        want = max(float(m[k]), 0.0) if sd == 0 else float(m[k] * norm.cdf(m[k] / sd) + sd * norm.pdf(m[k] / sd))
        assert got[k] == pytest.approx(want, rel=1e-12, abs=1e-15)
    draws = np.random.default_rng(0).normal(-0.3, math.sqrt(2.0), 400_000)
    assert got[1] == pytest.approx(np.maximum(draws, 0).mean(), abs=5e-3)


def test_additive_planted_and_linear_heads():
    params, cfg, nodes, base = random_net(9, H=10, seed=1)
    mask = torch.zeros(9, 10)
    mask[torch.arange(10) % 9, torch.arange(10)] = 1
    params["Wh"] = params["Wh"] * mask  # every unit reads one gene: no interaction at all
    for index in INDICES:
        assert normal_scores(params, cfg, nodes, base, index).abs().max() < 1e-6
    params, cfg = planted_net()
    gen = torch.Generator().manual_seed(0)
    nodes, base = torch.randn(1, 50, 5, generator=gen), torch.zeros(1, 5)
    s = normal_scores(params, cfg, nodes, base, "SII", reduce="mean_abs")[0]
    assert s[0, 1] > 0.1
    s[0, 1] = s[1, 0] = 0
    assert s.abs().max() < 1e-6
    linear = NetConfig(gene_hidden=0, head_hidden=0)
    p0 = init_params([1] * 5, 2, linear, [0, 1])
    assert torch.count_nonzero(normal_scores(p0, linear, torch.randn(2, 4, 5), torch.randn(2, 5))) == 0


def test_normal_chunking_symmetry_and_reduce():
    params, cfg, nodes, base = random_net(20, K=3, B=7, H=9, seed=5)
    full = normal_scores(params, cfg, nodes, base, "SII")
    tiny = normal_scores(params, cfg, nodes, base, "SII", max_bytes=1)
    torch.testing.assert_close(full, tiny)
    torch.testing.assert_close(full, full.transpose(2, 3))
    assert torch.count_nonzero(torch.diagonal(full, dim1=2, dim2=3)) == 0
    torch.testing.assert_close(normal_scores(params, cfg, nodes, base, "SII", reduce="mean_abs"), full.abs().mean(1))


def test_auto_uses_normal_beyond_fourteen_genes():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 15)).astype(np.float32)
    blocks = [np.array([k]) for k in range(15)]
    cfg = TrainConfig(batch_size=32, max_epochs=2, patience=2, threads=1)
    res = train_ensemble(x, x[:, 0] * x[:, 1], blocks, np.arange(100), NetConfig(0, 8), cfg, n_members=1)
    s = score_pairs(res, x, np.arange(100, 120), np.arange(100))
    assert s.method == "normal" and s.stderr is None and s.n_permutations is None


@pytest.mark.parametrize(
    "kwargs, match",
    [({"degree": 2}, "odd"), ({"degree": 9}, "degree"), ({"size_nodes": 0}, "size_nodes"), ({"index": "X"}, "index")],
)
def test_normal_parameter_errors(kwargs, match):
    params, cfg, nodes, base = random_net(4)
    with pytest.raises(ParameterError, match=match):
        normal_scores(params, cfg, nodes, base, **kwargs)

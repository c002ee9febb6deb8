"""interaction_surface (paper A, Fig. 7b): h − h_i − h_j on a planted multiplicative gene pair.

Cohort: N=600, 4 genes x 2 SNPs, y = g0 + g1 + β·g0·g1 + 0.7·g2 + noise (sd 0.5), standardised;
a 1-member network with linear gene nodes (60 epochs), surfaces with 150 steps (as here; seeds 0-3 also
with 200). Measured over seeds 0-9 and β = ±1 (20 cohorts), sign fixed by each gene node's orientation:
* planted pair (0, 1): corr(grid surface, centred g_a·g_b) 0.84-0.93 (threshold 0.7); corr over the
  individuals' points 0.96-0.99 (threshold 0.85); grid surface sd 0.79-0.94 (threshold 0.5);
  r2_joint − r2_additive 0.21-0.29 (threshold 0.15).
* pair (2, 3) with no interaction: grid surface sd 0.11-0.35, at most 0.43 of the planted pair's
  (threshold 0.6); r2_joint − r2_additive 0.005-0.07 (threshold 0.1).
"""

import numpy as np
import pytest

from gxapp.errors import ParameterError
from gxapp.genenet.models import NetConfig
from gxapp.genenet.surface import gene_nodes, interaction_surface
from gxapp.genenet.train import TrainConfig, train_ensemble

GENES = ["A", "B", "C", "D"]
TRAIN = np.arange(480)
FAST = dict(grid=15, steps=150, width=16)


def planted(seed, beta, n=600, genes=4, snps=2):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, 0.4, size=(n, genes * snps)).astype(np.float32)
    X = ((G - G.mean(0)) / G.std(0)).astype(np.float32)
    blocks = [np.arange(g * snps, (g + 1) * snps) for g in range(genes)]
    g = np.stack([X[:, b].sum(1) for b in blocks], 1) / np.sqrt(snps)
    y = g[:, 0] + g[:, 1] + beta * g[:, 0] * g[:, 1] + 0.7 * g[:, 2] + 0.5 * rng.normal(size=n)
    y = (y - y.mean()) / y.std()
    res = train_ensemble(
        X,
        y.astype(np.float32),
        blocks,
        TRAIN,
        NetConfig(gene_hidden=0, head_hidden=16),
        TrainConfig(lr=0.02, batch_size=128, max_epochs=60, patience=10, seed=seed, device="cpu", threads=1),
        1,
    )
    return X, y.astype(np.float32), g, res


@pytest.fixture(scope="module")
def fitted():
    cache = {}

    def get(seed, beta):
        if (seed, beta) not in cache:
            cache[seed, beta] = planted(seed, beta)
        return cache[seed, beta]

    return get


def _orientation(res, X, g):
    """+1/-1 per gene: does the learned gene node increase with the gene's genotype score?"""
    nodes = gene_nodes(res, X, int(np.nanargmin(res.best_val)))
    return np.sign([np.corrcoef(nodes[:, k], g[:, k])[0, 1] for k in range(g.shape[1])])


def _product_corr(a, b, v):
    return float(np.corrcoef(v, (a - a.mean()) * (b - b.mean()))[0, 1])


@pytest.mark.parametrize("seed, beta", [(0, 1.0), (1, -1.0)], ids=["synergy", "antagonism"])
def test_planted_pair_shows_the_product_and_a_null_pair_is_flat(fitted, seed, beta):
    X, y, g, res = fitted(seed, beta)
    s = _orientation(res, X, g)
    on = interaction_surface(res, X, y, TRAIN, (0, 1), GENES, seed=seed, **FAST)
    off = interaction_surface(res, X, y, TRAIN, (2, 3), GENES, seed=seed, **FAST)
    sign = np.sign(beta) * s[0] * s[1]  # the product's sign in the nodes' coordinates
    G, P = on.grid, on.points
    assert sign * _product_corr(G.g_a, G.g_b, G.interaction) > 0.7
    assert sign * _product_corr(P.g_a, P.g_b, P.interaction) > 0.85
    assert G.interaction.std() > 0.5
    assert on.r2_joint - on.r2_additive > 0.15
    assert off.grid.interaction.std() < 0.6 * G.interaction.std()
    assert off.r2_joint - off.r2_additive < 0.1


def test_shapes_grid_points_and_groups(fitted):
    X, y, _, res = fitted(0, 1.0)
    sf = interaction_surface(res, X, y, TRAIN, (1, 0), GENES, grid=7, steps=20, width=8, max_points=250, seed=0)
    assert (sf.gene_a, sf.gene_b) == ("B", "A")
    assert list(sf.grid.columns) == ["g_a", "g_b", "interaction"] and len(sf.grid) == 49
    assert sf.grid.g_a.nunique() == 7 and sf.grid.g_b.nunique() == 7
    nodes = gene_nodes(res, X, int(np.nanargmin(res.best_val)))[TRAIN][:, [1, 0]]
    lo, hi = np.percentile(nodes, [1, 99], axis=0)
    np.testing.assert_allclose([sf.grid.g_a.min(), sf.grid.g_a.max()], [lo[0], hi[0]], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose([sf.grid.g_b.min(), sf.grid.g_b.max()], [lo[1], hi[1]], rtol=1e-5, atol=1e-6)
    assert list(sf.points.columns) == ["g_a", "g_b", "interaction", "group"] and len(sf.points) == 250
    assert set(sf.points.group) <= {"low", "medium", "high"}
    assert np.isfinite(sf.grid.interaction).all() and np.isfinite(sf.points.interaction).all()
    order = sf.points.groupby("group").interaction.mean()
    assert order["low"] < order["medium"] < order["high"]
    full = interaction_surface(res, X, y, TRAIN, (1, 0), GENES, grid=7, steps=20, width=8, max_points=10_000, seed=0)
    assert len(full.points) == len(y)  # capped at the cohort
    assert abs(np.median(full.points.interaction)) < 1e-6  # centred on the individuals' median
    counts = full.points.group.value_counts()
    assert all(abs(counts[k] - len(y) / 3) <= 0.05 * len(y) for k in ("low", "medium", "high"))  # tertiles


def test_same_seed_same_surface(fitted):
    X, y, _, res = fitted(0, 1.0)
    kw = dict(grid=5, steps=20, width=8, max_points=100)
    a = interaction_surface(res, X, y, TRAIN, (0, 1), GENES, seed=3, **kw)
    b = interaction_surface(res, X, y, TRAIN, (0, 1), GENES, seed=3, **kw)
    np.testing.assert_array_equal(a.grid.to_numpy(), b.grid.to_numpy())
    assert a.points.equals(b.points) and a.r2_joint == b.r2_joint


@pytest.mark.parametrize(
    "pair", [(0, 0), (0, 4), (-1, 1), (4, 5)], ids=["same-gene", "j-too-big", "negative", "both-out-of-range"]
)
def test_bad_pair_is_a_parameter_error(fitted, pair):
    X, y, _, res = fitted(0, 1.0)
    with pytest.raises(ParameterError, match="pair"):
        interaction_surface(res, X, y, TRAIN, pair, GENES, grid=5, steps=5)


def test_the_surface_fit_leaves_the_global_torch_generator_alone(fitted):
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    X, y, _, res = fitted(0, 1.0)
    torch.manual_seed(123)
    interaction_surface(res, X, y, TRAIN, (0, 1), GENES, grid=5, steps=5, width=4, max_points=50, seed=7)
    assert torch.equal(torch.rand(3), expected)

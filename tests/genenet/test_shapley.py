"""Shapley interaction scores (gxapp.genenet.shapley): the fast exact kernel against the
slow masked-head reference and shapiq, Monte-Carlo against exact, the coalition
weights against simulation, planted and additive networks, the entry point."""

import dataclasses
import math
import threading

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from gxapp.errors import Cancelled, ParameterError
from gxapp.genenet.models import NetConfig, gene_layer, init_params, slice_models, split_columns
from gxapp.genenet.shapley import (
    INDICES,
    PairScores,
    baseline_nodes,
    coalition_values,
    exact_scores,
    group_mean,
    mc_scores,
    pair_weight,
    pair_weights,
    score_pairs,
    size_distribution,
    weight_matrix,
)
from gxapp.genenet.train import TrainConfig, train_ensemble

from helpers import planted_net, random_net
from reference.shapley import masked_head, reference_scores

# ---------------------------------------------------------------- weights


@pytest.mark.parametrize("M", [2, 3, 6, 10])
@pytest.mark.parametrize("index", INDICES)
def test_weights_are_distributions(index, M):
    assert size_distribution(index, M).sum() == pytest.approx(1.0, abs=1e-12)


def test_weights_closed_forms():
    M = 7
    for s in range(M - 1):
        assert pair_weight("SII", M, s) == pytest.approx(
            math.factorial(s) * math.factorial(M - s - 2) / math.factorial(M - 1)
        )
        assert pair_weight("BII", M, s) == pytest.approx(1 / 2 ** (M - 2))
        # Shapley-Taylor top order: (2/M) / C(M-1, s)
        assert pair_weight("STII", M, s) == pytest.approx(2 / M / math.comb(M - 1, s))


def _coalition_frequencies(S_masks, M, i, j):
    """Empirical probability of every S ⊆ F∖{i,j} (as a bit mask) and the list of masks."""
    codes = (S_masks * (1 << np.arange(M))).sum(1)
    freq = np.bincount(codes, minlength=2**M) / len(codes)
    rest = [x for x in range(M) if x not in (i, j)]
    masks = [sum(1 << rest[b] for b in range(len(rest)) if m >> b & 1) for m in range(2 ** len(rest))]
    return freq, masks


def test_stii_and_sii_samplers_match_weights_by_simulation():
    """S = players before the earlier of i, j (STII), and S = players before i with
    j deleted (the SII sampler of montecarlo.py): every set's frequency matches
    its weight within 4.5 binomial standard errors."""
    M, i, j, n = 6, 1, 4, 200_000
    rng = np.random.default_rng(0)
    pos = np.argsort(np.argsort(rng.random((n, M)), axis=1), axis=1)  # position of each player
    first = np.minimum(pos[:, i], pos[:, j])
    samplers = {
        "STII": pos < first[:, None],
        "SII": (pos < pos[:, [i]]) & (np.arange(M) != j),
    }
    for index, S in samplers.items():
        assert not S[:, [i, j]].any()
        freq, masks = _coalition_frequencies(S, M, i, j)
        assert freq[masks].sum() == pytest.approx(1.0)
        for m in masks:
            p = pair_weight(index, M, bin(m).count("1"))
            assert abs(freq[m] - p) < 4.5 * math.sqrt(p * (1 - p) / n), (index, m, freq[m], p)


@pytest.mark.parametrize(
    "call",
    [lambda: pair_weights("shapley", 4), lambda: exact_scores(*random_net(3)[:4], index="XII")],
    ids=["pair_weights", "exact_scores"],
)
def test_unknown_index_lists_the_names(call):
    with pytest.raises(ParameterError, match="SII, BII, STII"):
        call()


# ---------------------------------------------------------------- exact vs reference


@pytest.mark.parametrize("M", [3, 4, 5, 6])
def test_fast_exact_equals_reference(M):
    params, cfg, nodes, base = random_net(M, seed=M)
    K, B = nodes.shape[:2]
    for index in INDICES:
        fast = exact_scores(params, cfg, nodes, base, index).numpy()
        assert fast.shape == (K, B, M, M)
        ref = np.stack(
            [
                np.stack(
                    [reference_scores(params, cfg, k, nodes[k, b].numpy(), base[k].numpy(), index) for b in range(B)]
                )
                for k in range(K)
            ]
        )
        assert np.abs(ref).max() > 1e-3  # the test is not vacuous
        np.testing.assert_allclose(fast, ref, atol=1e-5, rtol=1e-5)
        np.testing.assert_allclose(fast, fast.transpose(0, 1, 3, 2))
        assert np.all(np.diagonal(fast, axis1=2, axis2=3) == 0)
        mean_abs = exact_scores(params, cfg, nodes, base, index, reduce="mean_abs").numpy()
        np.testing.assert_allclose(mean_abs, np.abs(ref).mean(1), atol=1e-5)


def test_coalition_values_and_chunking():
    """f(T) of every coalition equals the masked full head; tiny memory budgets
    (chunked models, rows and coalitions) change nothing."""
    params, cfg, nodes, base = random_net(7, K=3, B=4, seed=3)
    f = coalition_values(params, cfg, nodes, base)
    head = masked_head(params, cfg, 2, nodes[2, 1].numpy(), base[2].numpy())
    for T in (0, 1, 5, 77, 127):
        assert f[2, 1, T].item() == pytest.approx(head([i for i in range(7) if T >> i & 1]), abs=1e-5)
    np.testing.assert_allclose(coalition_values(params, cfg, nodes, base, max_bytes=1), f, atol=1e-6)
    full = exact_scores(params, cfg, nodes, base, "SII")
    np.testing.assert_allclose(exact_scores(params, cfg, nodes, base, "SII", max_bytes=2000), full, atol=1e-6)


def test_weight_matrix_matches_definition():
    M, index = 4, "SII"
    W = weight_matrix(M, index, dtype=torch.float64).numpy().reshape(2**M, M, M)
    i, j = 0, 2
    expected = np.zeros(2**M)
    for S in range(2**M):
        if S >> i & 1 or S >> j & 1:
            continue
        w = pair_weight(index, M, bin(S).count("1"))
        for add, sign in ((1 << i | 1 << j, 1), (1 << i, -1), (1 << j, -1), (0, 1)):
            expected[S | add] += sign * w
    np.testing.assert_allclose(W[:, i, j], expected)
    with pytest.raises(ParameterError, match="mc"):
        weight_matrix(17)


# ---------------------------------------------------------------- additive and planted networks


def test_linear_head_gives_exact_zeros():
    cfg = NetConfig(gene_hidden=0, head_hidden=0)
    params = init_params([1] * 5, 2, cfg, [0, 1])
    nodes, base = torch.randn(2, 4, 5), torch.randn(2, 5)
    for index in INDICES:
        assert torch.count_nonzero(exact_scores(params, cfg, nodes, base, index)) == 0
        mean, se = mc_scores(params, cfg, nodes, base, index, n_permutations=4)
        assert torch.count_nonzero(mean) == 0 and torch.count_nonzero(se) == 0


def test_additive_relu_head_gives_zero_scores():
    """Every hidden unit reads one gene: the head is a sum of per-gene functions."""
    params, cfg, nodes, base = random_net(5, H=10, seed=1)
    mask = torch.zeros(5, 10)
    mask[torch.arange(10) % 5, torch.arange(10)] = 1
    params["Wh"] = params["Wh"] * mask
    for index in INDICES:
        assert exact_scores(params, cfg, nodes, base, index).abs().max() < 1e-6
        mean, _ = mc_scores(params, cfg, nodes, base, index, n_permutations=8)
        assert mean.abs().max() < 1e-6


def test_planted_interaction_by_hand():
    params, cfg = planted_net()
    gen = torch.Generator().manual_seed(0)
    nodes, base = torch.randn(1, 50, 5, generator=gen), torch.zeros(1, 5)
    for index in INDICES:
        s = exact_scores(params, cfg, nodes, base, index, reduce="mean_abs")[0]
        assert s[0, 1] > 0.1
        off = s.clone()
        off[0, 1] = off[1, 0] = 0
        assert off.abs().max() < 1e-6


def interaction_data(n=600, seed=0):
    """6 genes x 3 SNPs; y = g0*g1 + 0.6*g2*g3 + g4 + noise (gene 5 is noise; the
    small networks below learn the g0*g1 interaction, not always the weaker one)."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(2, 0.4, size=(n, 18)).astype(np.float32)
    x -= x.mean(0)
    blocks = [np.arange(3 * i, 3 * i + 3) for i in range(6)]
    g = np.stack([x[:, b].sum(1) for b in blocks], 1)
    g /= g.std(0)
    y = g[:, 0] * g[:, 1] + 0.6 * g[:, 2] * g[:, 3] + g[:, 4] + rng.normal(0, 0.5, n)
    return x, y, blocks


@pytest.fixture(scope="module")
def trained():
    x, y, blocks = interaction_data()
    net = NetConfig(gene_hidden=4, head_hidden=16)
    cfg = TrainConfig(batch_size=128, max_epochs=60, patience=8, l1=1e-4, lr=0.01, threads=1)
    return x, train_ensemble(x, y, blocks, np.arange(450), net, cfg, n_members=2)


def test_planted_interaction_trained(trained):
    x, result = trained
    scores = score_pairs(result, x, np.arange(450, 600), np.arange(450))
    top = scores.to_frame()
    assert (top.gene_a[0], top.gene_b[0]) == (0, 1)
    assert top.score[0] > 3 * top.score[1]  # the planted pair stands out


def test_live_unit_kernel_on_a_trained_net(trained):
    """The fast kernel skips hidden units that cannot change sign; on a trained
    network it must still equal all coalition values times the weight matrix."""
    x, result = trained
    blocks = result.gene_blocks
    xt = torch.from_numpy(x[:, np.concatenate(blocks)])
    with torch.no_grad():
        nodes = gene_layer(result.params, split_columns(xt, [b.size for b in blocks]), result.net)
    base, rows = nodes[:, :450].mean(1), nodes[:, 450:480]
    f = coalition_values(result.params, result.net, rows, base).double()
    for index in INDICES:
        full = (f.reshape(-1, 64) @ weight_matrix(6, index, dtype=torch.float64)).view(2, 30, 6, 6)
        fast = exact_scores(result.params, result.net, rows, base, index)
        np.testing.assert_allclose(fast.numpy(), full.numpy(), atol=2e-6)


def test_rankings_of_the_three_indices_agree(trained):
    x, result = trained
    rows, base = np.arange(450, 600), np.arange(450)
    i, j = np.triu_indices(6, 1)
    s = {index: score_pairs(result, x, rows, base, index=index).mean[i, j] for index in INDICES}
    for a in ("BII", "STII"):
        assert spearmanr(s["SII"], s[a])[0] > 0.9


def test_shapiq_exact_computer_agrees():
    shapiq = pytest.importorskip("shapiq", reason="shapiq is not installed (pip install shapiq>=1.4)")
    params, cfg, nodes, base = random_net(5, K=1, B=1, seed=7)
    head = masked_head(params, cfg, 0, nodes[0, 0].numpy(), base[0].numpy())

    def game(coalitions):
        return np.array([head(np.flatnonzero(c)) for c in np.asarray(coalitions, bool)])

    computer = shapiq.ExactComputer(game, n_players=5)
    for index in INDICES:
        ours = exact_scores(params, cfg, nodes, base, index)[0, 0].numpy()
        values = computer(index=index, order=2)
        theirs = np.array([[values[(a, b)] if a != b else 0.0 for b in range(5)] for a in range(5)])
        assert np.abs(theirs).max() > 1e-3
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


# ---------------------------------------------------------------- Monte-Carlo


def test_monte_carlo_converges_to_exact():
    params, cfg, nodes, base = random_net(5, seed=11)
    off = ~torch.eye(5, dtype=torch.bool)
    for index in INDICES:
        exact = exact_scores(params, cfg, nodes, base, index).double()
        mean, se = mc_scores(params, cfg, nodes, base, index, n_permutations=2000, random_state=1)
        err = (mean - exact).abs()[..., off]
        assert (err <= 4 * se[..., off] + 1e-6).all(), (index, (err / se[..., off]).max())
        assert err.max() < 0.05
        small, se_small = mc_scores(params, cfg, nodes, base, index, n_permutations=200, random_state=2)
        _, se_big = mc_scores(params, cfg, nodes, base, index, n_permutations=800, random_state=2)
        ratio = (se_big[..., off] / se_small[..., off]).median()
        assert 0.4 < ratio < 0.6  # SE ~ 1/sqrt(n)


def test_monte_carlo_is_deterministic_and_chunk_free():
    params, cfg, nodes, base = random_net(6, K=3, B=5, seed=2)
    keys = np.array([10, 11, 12, 13, 14])
    for index in INDICES:
        a = mc_scores(params, cfg, nodes, base, index, 16, random_state=3, row_keys=keys)
        b = mc_scores(params, cfg, nodes, base, index, 16, random_state=3, row_keys=keys, max_bytes=1)
        torch.testing.assert_close(a[0], b[0])
        torch.testing.assert_close(a[1], b[1])
        # an individual's draws depend on its key only
        c = mc_scores(params, cfg, nodes[:, 2:4], base, index, 16, random_state=3, row_keys=keys[2:4])
        torch.testing.assert_close(a[0][:, 2:4], c[0])
        d = mc_scores(params, cfg, nodes, base, index, 16, random_state=4, row_keys=keys)
        assert not torch.equal(a[0], d[0])


# ---------------------------------------------------------------- entry point and result


def test_score_pairs_mc_matches_exact_and_reports(trained):
    x, result = trained
    rows, base = np.arange(450, 500), np.arange(450)
    exact = score_pairs(result, x, rows, base, method="exact")
    seen = []
    mc = score_pairs(
        result, x, rows, base, method="mc", n_permutations=256, batch_rows=16, progress=lambda f, m: seen.append(f)
    )
    assert exact.stderr is None and mc.stderr.shape == (2, 6, 6)
    assert mc.method == "mc" and mc.n_permutations == 256
    np.testing.assert_allclose(mc.per_model, exact.per_model, atol=6 * mc.stderr.max() + 0.02)
    assert seen[-1] == 1.0 and len(seen) == 4
    again = score_pairs(result, x, rows, base, method="mc", n_permutations=256, batch_rows=50)
    np.testing.assert_allclose(again.per_model, mc.per_model, rtol=1e-5, atol=1e-7)  # same draws


def test_pair_scores_result(trained):
    x, result = trained
    s = score_pairs(result, x, np.arange(450, 480), np.arange(450), gene_names=list("ABCDEF"))
    assert isinstance(s, PairScores) and s.per_model.shape == (2, 6, 6) and s.n_rows == 30
    assert np.allclose(s.per_model, s.per_model.transpose(0, 2, 1))
    assert np.all(np.diagonal(s.per_model, axis1=1, axis2=2) == 0)
    # the ensemble's score: members' indices averaged per individual, then |.|, by hand
    nodes = gene_layer(
        result.params, split_columns(torch.from_numpy(x[450:480]), [b.size for b in result.gene_blocks]), result.net
    )
    base = baseline_nodes(result, x, np.arange(450))
    ind = exact_scores(result.params, result.net, nodes, base).double().numpy()  # (K, B, M, M)
    np.testing.assert_allclose(s.per_target[0], np.abs(ind.mean(0)).mean(0), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(s.per_model, np.abs(ind).mean(1), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(s.mean, s.per_target[0])
    assert np.all(s.mean <= s.per_model.mean(0) + 1e-9)  # averaging first can only cancel
    assert s.targets.tolist() == [0, 0] and s.target_stderr is None
    frame = s.to_frame()
    assert list(frame.columns) == ["gene_a", "gene_b", "score"] and len(frame) == 15
    assert frame.score.is_monotonic_decreasing and (frame.gene_a[0], frame.gene_b[0]) == ("A", "B")
    assert list(s.to_frame([f"g{i}" for i in range(6)]).gene_a[:1]) == ["g0"]
    g = group_mean(np.arange(4 * 4).reshape(4, 2, 2).astype(float), [0, 0, 1, 1])
    np.testing.assert_allclose(g, [[[2, 3], [4, 5]], [[10, 11], [12, 13]]])


def test_ensemble_scores_per_target_and_mc():
    """Several targets (a permutation chunk): each target's ensemble score averages its own
    members only; the Monte-Carlo path gives the same grouping within its error."""
    x, y, blocks = interaction_data()
    Y = np.stack([y, np.random.default_rng(0).permutation(y)], 1)
    net = NetConfig(gene_hidden=0, head_hidden=8)
    cfg = TrainConfig(batch_size=128, max_epochs=5, patience=3, lr=0.01, threads=1)
    res = train_ensemble(x, Y, blocks, np.arange(450), net, cfg, n_members=3)
    rows, base_rows = np.arange(450, 500), np.arange(450)
    s = score_pairs(res, x, rows, base_rows, method="exact", batch_rows=7)
    assert s.per_target.shape == (2, 6, 6) and s.targets.tolist() == [0, 0, 0, 1, 1, 1]
    for t in (0, 1):
        one = train_result_slice(res, np.flatnonzero(res.targets_of_model == t))
        alone = score_pairs(one, x, rows, base_rows, method="exact")
        np.testing.assert_allclose(s.per_target[t], alone.per_target[0], rtol=1e-5, atol=1e-9)
    mc = score_pairs(res, x, rows, base_rows, method="mc", n_permutations=128)
    assert mc.target_stderr.shape == (2, 6, 6)
    np.testing.assert_allclose(mc.per_target, s.per_target, atol=6 * mc.target_stderr.max() + 0.01)


def train_result_slice(res, idx):
    return dataclasses.replace(
        res, params=slice_models(res.params, idx), targets_of_model=np.zeros(len(idx), dtype=np.int64)
    )


def _cancelled_flag():
    flag = threading.Event()
    flag.set()
    return flag


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda result, x, base: score_pairs(result, x, [500], base, index="shap"), ParameterError, "SII, BII, STII"),
        (lambda result, x, base: score_pairs(result, x, [], base), ParameterError, "rows"),
        (lambda result, x, base: score_pairs(result, x, [500], []), ParameterError, "baseline_rows"),
        (lambda result, x, base: score_pairs(result, x, [500], base, method="fast"), ParameterError, "method"),
        (
            lambda result, x, base: score_pairs(
                dataclasses.replace(result, gene_blocks=result.gene_blocks[:1]), x, [500], base
            ),
            ParameterError,
            "at least 2 genes",
        ),
        (lambda result, x, base: score_pairs(result, x, [500], base, cancel=_cancelled_flag()), Cancelled, None),
    ],
    ids=["unknown_index", "no_rows", "no_baseline_rows", "unknown_method", "one_gene", "cancelled"],
)
def test_score_pairs_errors(trained, call, error, match):
    x, result = trained
    base = np.arange(450)
    with pytest.raises(error, match=match):
        call(result, x, base)

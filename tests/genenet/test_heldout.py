"""The held-out interaction test (gxapp.genenet.heldout) on hand-built gene nodes."""

import numpy as np
import pytest
from scipy import stats

from gxapp.errors import InputFormatError, ParameterError
from gxapp.genenet.heldout import additive_basis, bh_qvalues, mixed_basis, pair_test


def _nodes(rng, n, M, K=3, noise=0.1):
    """True genes (n, M) and K members' noisy, randomly signed and scaled copies (K, n, M)."""
    g = rng.standard_normal((n, M))
    members = np.stack(
        [g * rng.choice([-1, 1], M) * rng.uniform(0.5, 2, M) + noise * rng.standard_normal((n, M)) for _ in range(K)]
    )
    return g, members


def _split(g, members, y, n_fit):
    return members[:, :n_fit], y[:n_fit], members[:, n_fit:], y[n_fit:]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_pairs_called_and_neighbours_of_a_square_difference_not(seed):
    """y = g0·g1 + (g2 − g3)² + main effects: the two planted pairs get tiny p; the pairs that
    share a gene with them (g0–g2, g1–g3 …) do not, although g2² and g3² are strong main effects."""
    rng = np.random.default_rng(seed)
    g, members = _nodes(rng, 6000, 5)
    y = (
        0.4 * g[:, 0] * g[:, 1]
        + 0.3 * (g[:, 2] - g[:, 3]) ** 2
        + 0.5 * g[:, 4]
        + 0.3 * g[:, 0]
        + rng.standard_normal(6000)
    )
    res = pair_test(*_split(g, members, y, 4000))
    assert res.p[0, 1] < 1e-6 and res.p[2, 3] < 1e-6 and res.q[0, 1] < 0.01
    assert res.slope[0, 1] == pytest.approx(1, abs=0.3)  # the learned pattern's full size replicates
    false = [(i, j) for i in range(5) for j in range(i + 1, 5) if (i, j) not in ((0, 1), (2, 3))]
    assert min(res.p[i, j] for i, j in false) > 1e-3
    assert np.allclose(res.p, res.p.T, equal_nan=True) and np.isnan(np.diag(res.p)).all()
    assert res.n_fit == 4000 and res.n_test == 2000


def test_valid_under_the_null_for_any_seed():
    """Additive (nonlinear) main effects only: one-sided p-values are uniform."""
    ps = []
    for seed in range(12):
        rng = np.random.default_rng(100 + seed)
        g, members = _nodes(rng, 1500, 4, K=2)
        y = 0.5 * g[:, 0] ** 2 + 0.5 * np.abs(g[:, 1]) + 0.3 * g[:, 2] + rng.standard_normal(1500)
        res = pair_test(*_split(g, members, y, 1000))
        ps.extend(res.p[np.triu_indices(4, 1)].tolist())
    ps = np.asarray(ps)
    assert stats.kstest(ps, "uniform").pvalue > 0.01
    assert 0.0 <= (ps < 0.05).mean() <= 0.15


def test_a_linear_adjustment_would_not_be_enough():
    """The reason the adjustment is cubic: with (g0 − g1)², the pair g0–g2 must not be called."""
    rng = np.random.default_rng(5)
    g, members = _nodes(rng, 8000, 3)
    y = 0.5 * (g[:, 0] - g[:, 1]) ** 2 + rng.standard_normal(8000)
    res = pair_test(*_split(g, members, y, 5000))
    assert res.p[0, 1] < 1e-10 and res.p[0, 2] > 1e-3 and res.p[1, 2] > 1e-3


def test_bases_and_bh():
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    np.testing.assert_allclose(additive_basis(a, b)[1], [1, 2, 4, 8, -1, 1, -1])
    np.testing.assert_allclose(mixed_basis(a, b)[1], [-2, -4, 2, 4])
    q = bh_qvalues(np.array([0.01, 0.04, np.nan, 0.03]))
    np.testing.assert_allclose(q[[0, 1, 3]], [0.03, 0.04, 0.04])
    assert np.isnan(q[2])


@pytest.mark.parametrize(
    "change, error, match",
    [
        (
            lambda a: {**a, "nodes_fit": a["nodes_fit"][:, :, :1], "nodes_test": a["nodes_test"][:, :, :1]},
            ParameterError,
            "at least 2 genes",
        ),
        (lambda a: {**a, "y_fit": a["y_fit"][:-1]}, ParameterError, "y_fit"),
        (
            lambda a: {**a, "nodes_test": a["nodes_test"][:, :10], "y_test": a["y_test"][:10]},
            ParameterError,
            "at least 30",
        ),
        (lambda a: {**a, "nodes_test": a["nodes_test"][:2]}, ParameterError, "same K and M"),
        (
            lambda a: {**a, "y_test": np.where(np.arange(a["y_test"].size) == 3, np.nan, a["y_test"])},
            InputFormatError,
            "y_test",
        ),
    ],
)
def test_bad_inputs(change, error, match):
    rng = np.random.default_rng(0)
    g, members = _nodes(rng, 400, 3)
    y = g[:, 0] * g[:, 1] + rng.standard_normal(400)
    fit, yf, test, yt = _split(g, members, y, 300)
    with pytest.raises(error, match=match):
        pair_test(**change({"nodes_fit": fit, "y_fit": yf, "nodes_test": test, "y_test": yt}))


def test_candidates_restrict_the_fdr_to_the_screened_pairs():
    rng = np.random.default_rng(3)
    g, members = _nodes(rng, 3000, 5)
    y = 0.3 * g[:, 0] * g[:, 1] + rng.standard_normal(3000)
    args = _split(g, members, y, 2000)
    every = pair_test(*args)
    mask = np.zeros((5, 5), dtype=bool)
    mask[0, 1] = mask[1, 0] = mask[2, 3] = mask[3, 2] = True
    few = pair_test(*args, candidates=mask)
    np.testing.assert_array_equal(few.p, every.p)  # p does not depend on the screen
    np.testing.assert_allclose(few.q[0, 1], bh_qvalues(np.array([every.p[0, 1], every.p[2, 3]]))[0])
    assert np.isnan(few.q[0, 2]) and few.q[0, 1] <= every.q[0, 1]
    with pytest.raises(ParameterError, match="candidates"):
        pair_test(*args, candidates=mask[:4, :4])


def test_slope_test_matches_statsmodels_hc3():
    """The slope test against the obviously correct reference: statsmodels OLS with HC3."""
    import statsmodels.api as sm

    from gxapp.genenet.heldout import _slope_test

    rng = np.random.default_rng(11)
    a, b = rng.standard_normal(300), rng.standard_normal(300)
    pattern = a * b + 0.3 * rng.standard_normal(300)
    y = 0.2 * pattern + a**2 + np.abs(a) * rng.standard_normal(300)  # heteroscedastic on purpose
    D = np.column_stack([additive_basis(a, b), pattern])
    slope, t, p = _slope_test(D, y)
    ref = sm.OLS(y, D).fit(cov_type="HC3")
    assert slope == pytest.approx(ref.params[-1], rel=1e-9)
    assert t == pytest.approx(ref.tvalues[-1], rel=1e-6)
    assert p == pytest.approx(stats.t.sf(ref.tvalues[-1], ref.df_resid), rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
def test_batched_test_equals_the_pair_by_pair_reference(seed):
    """The moment-based, batched computation against the loop that fits every pair and
    member on its own (tests/reference/heldout.py), including a gene whose node is constant
    in one member (no pattern for its pairs there) and pairs split over blocks."""
    from gxapp.genenet import heldout

    from reference.heldout import reference_pair_test

    rng = np.random.default_rng(seed)
    g, members = _nodes(rng, 900, 7, K=2)
    y = g[:, 0] * g[:, 1] + (g[:, 2] - g[:, 3]) ** 2 + g[:, 4] + rng.standard_normal(900)
    members[:, :, 6] = 0.0  # gene 6: every weight shrunk to zero
    args = _split(g, members, y, 600)
    ref = reference_pair_test(*args)
    old = heldout._PAIR_CHUNK
    try:
        heldout._PAIR_CHUNK = 4
        res = pair_test(*args)
    finally:
        heldout._PAIR_CHUNK = old
    for key in ("p", "t", "slope"):
        np.testing.assert_allclose(getattr(res, key), ref[key], rtol=1e-7, atol=1e-12, equal_nan=True)
    assert np.isnan(res.p[0, 6]) and np.isfinite(res.p[0, 1])

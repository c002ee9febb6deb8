import numpy as np
import pytest

from gxapp.errors import ParameterError
from gxapp.genenet.permutation import PermutationResult, null_targets, permutation_seed

from reference.fdr import fdr_reference


def _sym(a):
    a = np.triu(a, 1)
    return a + a.swapaxes(-1, -2)


def test_null_targets_keep_or_destroy_what_they_should():
    rng = np.random.default_rng(0)
    y_main = rng.normal(size=200)
    y = y_main + rng.normal(size=200)
    seeds = [permutation_seed(1, b) for b in range(3)]
    assert len(set(seeds)) == 3 and seeds == [permutation_seed(1, b) for b in range(3)]
    perm_i = null_targets(y, y_main, "I", seeds)
    r = y - y_main
    # Perm I keeps the main-effect part and permutes the residual
    np.testing.assert_allclose(np.sort(perm_i[:, 0] - y_main), np.sort(r))
    assert not np.allclose(perm_i[:, 0], y)
    np.testing.assert_allclose(np.sort(null_targets(y, y_main, "R", seeds)[:, 1]), np.sort(r))
    np.testing.assert_allclose(np.sort(null_targets(y, y_main, "T", seeds)[:, 2]), np.sort(y))
    with pytest.raises(ParameterError, match="perm_method"):
        null_targets(y, y_main, "X", seeds)


def test_p_values_max_t_and_q_match_their_definitions():
    rng = np.random.default_rng(1)
    M, B = 5, 40
    null = _sym(rng.exponential(size=(B, M, M)))
    obs = _sym(rng.exponential(size=(M, M)))
    obs[0, 1] = obs[1, 0] = 50.0  # a planted strong pair
    res = PermutationResult(obs, null, "I", list(range(B)))
    p = res.p_values()
    for i, j in [(0, 1), (2, 3), (1, 4)]:
        assert p[i, j] == (1 + sum(null[b, i, j] >= obs[i, j] for b in range(B))) / (B + 1)
    assert p[0, 1] == 1 / (B + 1)
    maxt = res.p_maxt()
    iu = np.triu_indices(M, 1)
    mx = null[:, iu[0], iu[1]].max(axis=1)
    assert maxt[2, 3] == (1 + (mx >= obs[2, 3]).sum()) / (B + 1)
    assert (maxt[iu] >= p[iu]).all()
    q = res.q_values()
    np.testing.assert_allclose(q[iu], fdr_reference(obs, null)[iu])
    assert q[0, 1] == 1 / (B + 1)  # above every null score, ranked first: the smallest FDR B can tell, not 0
    # monotone: a higher score never gets a larger q
    order = np.argsort(-obs[iu])
    assert (np.diff(q[iu][order]) >= -1e-12).all()


def test_under_the_null_p_values_are_uniform():
    rng = np.random.default_rng(2)
    M, B, reps = 6, 99, 200
    below = []
    for _ in range(reps):
        draws = _sym(rng.normal(size=(B + 1, M, M)))
        res = PermutationResult(draws[0], draws[1:], "I", [])
        below.append((res.p_values()[np.triu_indices(M, 1)] <= 0.05).mean())
    assert abs(np.mean(below) - 0.05) < 0.01

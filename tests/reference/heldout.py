"""Slow, obviously-correct held-out pair test of :mod:`gxapp.genenet.heldout`.

Pair by pair and member by member, as the method reads (docs/method.md#held-out-test):
the cubic surface of the two standardised gene nodes fitted by OLS on the fitting rows,
its mixed part averaged over members on the test rows, then OLS of the test phenotype on
both genes' cubic additive terms + the pattern and the one-sided HC3 t-test of the
pattern's slope (``_slope_test``, itself checked against statsmodels in the tests).
"""

from __future__ import annotations

import numpy as np

from gxapp.genenet.heldout import _N_ADD, _aligned_mean, _ols, _slope_test, _standardise, additive_basis, mixed_basis


def reference_pair_test(nodes_fit, y_fit, nodes_test, y_test) -> dict:
    """``{"p", "t", "slope"}``: ``(M, M)`` symmetric, NaN on the diagonal and where a pair
    has no pattern (a constant gene node)."""
    nodes_fit = np.asarray(nodes_fit, dtype=np.float64)
    nodes_test = np.asarray(nodes_test, dtype=np.float64)
    y_fit, y_test = np.asarray(y_fit, np.float64).ravel(), np.asarray(y_test, np.float64).ravel()
    K, _, M = nodes_fit.shape
    fit, test = _standardise(nodes_fit, nodes_test)
    mean_test = _aligned_mean(test)
    out = {k: np.full((M, M), np.nan) for k in ("p", "t", "slope")}
    for i in range(M):
        for j in range(i + 1, M):
            pattern = np.zeros(test.shape[1])
            for k in range(K):
                a, b = fit[k, :, i], fit[k, :, j]
                coef = _ols(np.column_stack([additive_basis(a, b), mixed_basis(a, b)]), y_fit)
                pattern += mixed_basis(test[k, :, i], test[k, :, j]) @ coef[_N_ADD:]
            pattern /= K
            if pattern.std() > 0:
                D = np.column_stack([additive_basis(mean_test[:, i], mean_test[:, j]), pattern])
                for key, v in zip(("slope", "t", "p"), _slope_test(D, y_test)):
                    out[key][i, j] = out[key][j, i] = v
    return out

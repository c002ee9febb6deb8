"""Permutation test for gene-pair interaction scores (docs/method.md#permutation-test, paper A Fig. 1c/8).

Null targets (B of them) are built from the observed phenotype:

- **Perm I** (default): ``y_b = ŷ_main + permute(y − ŷ_main)`` — main effects kept,
  interactions destroyed (ŷ_main: the run's main-effect network);
- **Perm R**: ``y_b = permute(y − ŷ_main)``;
- **Perm T**: ``y_b = permute(y)``.

All B targets × E members are trained as one batched model with exactly the
run's split, architecture, λ and budget, and scored with the same estimator on
the same individuals. Null scores are cached per chunk of permutations with
their seeds, so raising B later trains only the new permutations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gxapp.errors import ParameterError

METHODS = ("I", "R", "T")


def permutation_seed(seed: int, b: int) -> int:
    """Distinct, recorded seed of permutation ``b``."""
    return int(np.random.SeedSequence([int(seed), int(b), 0x9E3779B9]).generate_state(1)[0])


def null_targets(y: np.ndarray, y_main: np.ndarray, method: str, seeds) -> np.ndarray:
    """(N, len(seeds)) permuted targets, one column per permutation seed."""
    if method not in METHODS:
        raise ParameterError(f"perm_method: expected one of {', '.join(METHODS)}, got {method!r}")
    y = np.asarray(y, np.float64)
    r = y - np.asarray(y_main, np.float64)
    cols = []
    for s in seeds:
        perm = np.random.default_rng(s).permutation(len(y))
        if method == "I":
            cols.append(y_main + r[perm])
        elif method == "R":
            cols.append(r[perm])
        else:
            cols.append(y[perm])
    return np.column_stack(cols)


@dataclass
class PermutationResult:
    """Observed scores (M, M), null scores (B, M, M) and the derived statistics."""

    observed: np.ndarray
    null: np.ndarray
    method: str
    seeds: list

    @property
    def n_permutations(self) -> int:
        return int(self.null.shape[0])

    def p_values(self) -> np.ndarray:
        """Per-pair ``(1 + #{b: s_b ≥ s}) / (B + 1)``."""
        exceed = (self.null >= self.observed[None]).sum(axis=0)
        return (1.0 + exceed) / (self.n_permutations + 1.0)

    def p_maxt(self) -> np.ndarray:
        """max-T adjusted p: the null of the largest score over all pairs."""
        iu = np.triu_indices(self.observed.shape[0], 1)
        max_null = self.null[:, iu[0], iu[1]].max(axis=1)
        exceed = (max_null[:, None, None] >= self.observed[None]).sum(axis=0)
        return (1.0 + exceed) / (self.n_permutations + 1.0)

    def q_values(self) -> np.ndarray:
        """FDR at each observed score t: ``(1 + Σ_b #{null ≥ t}) / (B + 1) / #{observed ≥ t}``, made
        monotone. The added one, as in the p-values, keeps q above 0 when no null score reaches t: B
        permutations cannot tell an FDR below ``1 / ((B + 1) · #{observed ≥ t})``."""
        M = self.observed.shape[0]
        iu = np.triu_indices(M, 1)
        obs = self.observed[iu]
        null = np.sort(self.null[:, iu[0], iu[1]].ravel())
        order = np.argsort(-obs, kind="stable")
        t = obs[order]
        n_obs = np.arange(1, len(t) + 1)  # observed scores >= t (descending order)
        n_null = (1.0 + len(null) - np.searchsorted(null, t, side="left")) / (self.n_permutations + 1.0)
        fdr = np.minimum(n_null / n_obs, 1.0)
        q_sorted = np.minimum.accumulate(fdr[::-1])[::-1]
        q = np.empty_like(obs)
        q[order] = q_sorted
        out = np.full((M, M), np.nan)
        out[iu] = q
        out[(iu[1], iu[0])] = q
        return out

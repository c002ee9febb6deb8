"""Shapley interaction scores between genes (paper A, Eqs. 8–12; docs/method.md#shapley).

One algorithm per module: :mod:`.weights` (coalition weights of SII, BII,
STII), :mod:`.exact` (all ``2^M`` coalitions by bit-DP, one product for all
pairs), :mod:`.normal` (the coalition sum as a normal variable, one product for all pairs;
many genes), :mod:`.montecarlo` (one random permutation/coalition serves every pair),
:mod:`.scores` (the entry point :func:`score_pairs` and its result
:class:`PairScores`). The slow per-pair loops the tests compare against are
``tests/reference/shapley.py``.
"""

from gxapp.genenet.shapley.exact import MAX_EXACT_GENES, coalition_values, exact_scores, weight_matrix
from gxapp.genenet.shapley.montecarlo import DEFAULT_PERMUTATIONS, mc_scores
from gxapp.genenet.shapley.normal import normal_scores
from gxapp.genenet.shapley.scores import AUTO_EXACT_MAX_GENES, PairScores, baseline_nodes, group_mean, score_pairs
from gxapp.genenet.shapley.weights import INDICES, check_index, pair_weight, pair_weights, size_distribution

__all__ = [
    "AUTO_EXACT_MAX_GENES",
    "DEFAULT_PERMUTATIONS",
    "INDICES",
    "MAX_EXACT_GENES",
    "PairScores",
    "baseline_nodes",
    "check_index",
    "coalition_values",
    "exact_scores",
    "group_mean",
    "mc_scores",
    "normal_scores",
    "pair_weight",
    "pair_weights",
    "score_pairs",
    "size_distribution",
    "weight_matrix",
]

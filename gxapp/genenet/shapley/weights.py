"""Coalition weights of the three pairwise interaction indices (docs/method.md#shapley).

For players ``F`` (``|F| = M``) and a pair ``i != j`` every index is a weighted
sum of discrete second differences over the coalitions ``S ⊆ F∖{i,j}``::

    δ_ij(S) = f(S∪{i,j}) − f(S∪{i}) − f(S∪{j}) + f(S)
    I_ij    = Σ_S w(|S|) δ_ij(S)

and the weight depends on ``|S| = s`` only:

* **SII** (Shapley interaction index, Grabisch & Roubens 1999)::

      w(s) = s! (M−s−2)! / (M−1)!

  This is the probability of ``S`` when ``{i,j}`` is merged into one unit, the
  ``M−1`` units are put in a uniformly random order and ``S`` is the set of units
  before the merged one.

* **BII** (Banzhaf interaction index): ``w(s) = 1 / 2^(M−2)``; ``S`` uniform over
  all ``2^(M−2)`` subsets (the literal reading of paper A's "uniformly").

* **STII** (Shapley-Taylor, as paper A's public code samples it: ``S`` = the
  players before the earlier of ``i`` and ``j`` in a uniformly random permutation
  of all ``M`` players).  Derivation: ``S`` equals a given set of size ``s`` iff
  the first ``s`` positions hold exactly ``S`` (``s!`` orders), position ``s+1``
  holds ``i`` or ``j`` (2 ways) and the other ``M−s−1`` players follow in any
  order (``(M−s−1)!`` ways), so::

      w(s) = 2 s! (M−s−1)! / M!  =  (2/M) / C(M−1, s)

  which is exactly the top-order (k = 2) Shapley-Taylor weight of Sundararajan et
  al. (2020).  The weights sum to one: ``Σ_s C(M−2,s) w(s) = Σ_s 2(M−1−s) /
  (M(M−1)) = 1``; the size ``|S|`` has probability ``2(M−1−s)/(M(M−1))``.

All three weight vectors are probability distributions over the subsets (they sum
to one over the ``2^(M−2)`` sets), so each index is an expectation of ``δ_ij``.
"""

from __future__ import annotations

import math

import numpy as np

from gxapp.errors import ParameterError

INDICES = ("SII", "BII", "STII")


def check_index(index) -> str:
    """The canonical index name ("SII", "BII" or "STII"; case-insensitive)."""
    name = index.upper() if isinstance(index, str) else index
    if name not in INDICES:
        raise ParameterError(f"index: expected one of {', '.join(INDICES)}, got {index!r}")
    return name


def check_players(n_players) -> int:
    if isinstance(n_players, bool) or not isinstance(n_players, (int, np.integer)) or n_players < 2:
        raise ParameterError(f"n_players: a pairwise interaction needs at least 2 genes, got {n_players!r}")
    return int(n_players)


def pair_weight(index: str, n_players: int, size: int) -> float:
    """Weight ``w(size)`` of one coalition ``S ⊆ F∖{i,j}`` with ``|S| = size``."""
    index, M = check_index(index), check_players(n_players)
    s = int(size)
    if not 0 <= s <= M - 2:
        raise ParameterError(f"size: expected 0..{M - 2} for {M} players, got {size!r}")
    if index == "SII":
        return math.factorial(s) * math.factorial(M - s - 2) / math.factorial(M - 1)
    if index == "BII":
        return 1.0 / 2 ** (M - 2)
    return 2.0 * math.factorial(s) * math.factorial(M - s - 1) / math.factorial(M)


def pair_weights(index: str, n_players: int) -> np.ndarray:
    """``w(s)`` for ``s = 0 .. M−2`` as float64, shape ``(M−1,)``."""
    M = check_players(n_players)
    return np.array([pair_weight(index, M, s) for s in range(M - 1)], dtype=np.float64)


def size_distribution(index: str, n_players: int) -> np.ndarray:
    """Probability of ``|S| = s`` (``s = 0 .. M−2``): ``C(M−2, s) w(s)``; sums to 1."""
    M = check_players(n_players)
    return np.array([math.comb(M - 2, s) for s in range(M - 1)]) * pair_weights(index, M)

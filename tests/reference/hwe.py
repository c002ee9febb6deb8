"""The exact HWE test of Wigginton, Cutler & Abecasis (2005) as the paper writes it."""

from __future__ import annotations

from gxapp.data.hwe import TIE_RTOL
from gxapp.errors import ParameterError

__all__ = ["hwe_exact_reference"]


def hwe_exact_reference(n_het: int, n_hom1: int, n_hom2: int, midp: bool = False) -> float:
    """Exact HWE p-value, straight from Wigginton, Cutler & Abecasis (2005), in plain Python.

    Slow (visits every heterozygote count) but obviously right; used to test
    :func:`gxapp.data.hwe.hwe_pvalues_from_counts`. Probabilities equal within a
    relative 1e-7 (``TIE_RTOL``) count as ties.
    """
    n_het, n_hom1, n_hom2 = int(n_het), int(n_hom1), int(n_hom2)
    if min(n_het, n_hom1, n_hom2) < 0:
        raise ParameterError("HWE: genotype counts must be non-negative")
    obs_homc = max(n_hom1, n_hom2)
    obs_homr = min(n_hom1, n_hom2)
    rare_copies = 2 * obs_homr + n_het
    genotypes = n_het + obs_homc + obs_homr
    if genotypes == 0 or rare_copies == 0:  # nothing called, or monomorphic: no information
        return 1.0
    het_probs = [0.0] * (rare_copies + 1)
    # start at the midpoint (close to the mode)
    mid = rare_copies * (2 * genotypes - rare_copies) // (2 * genotypes)
    if (rare_copies & 1) ^ (mid & 1):  # same parity as the number of rare alleles
        mid += 1
    curr_homr = (rare_copies - mid) // 2
    curr_homc = genotypes - mid - curr_homr
    het_probs[mid] = 1.0
    total = 1.0
    curr_hets = mid
    while curr_hets > 1:  # downwards: fewer hets
        het_probs[curr_hets - 2] = (
            het_probs[curr_hets] * curr_hets * (curr_hets - 1.0) / (4.0 * (curr_homr + 1.0) * (curr_homc + 1.0))
        )
        total += het_probs[curr_hets - 2]
        curr_homr += 1
        curr_homc += 1
        curr_hets -= 2
    curr_hets = mid
    curr_homr = (rare_copies - mid) // 2
    curr_homc = genotypes - mid - curr_homr
    while curr_hets <= rare_copies - 2:  # upwards: more hets
        het_probs[curr_hets + 2] = (
            het_probs[curr_hets] * 4.0 * curr_homr * curr_homc / ((curr_hets + 2.0) * (curr_hets + 1.0))
        )
        total += het_probs[curr_hets + 2]
        curr_homr -= 1
        curr_homc -= 1
        curr_hets += 2
    het_probs = [x / total for x in het_probs]
    obs = het_probs[n_het]
    p = 0.0
    for i in range(n_het % 2, rare_copies + 1, 2):  # states of the right parity
        q = het_probs[i]
        if q > obs * (1.0 + TIE_RTOL):
            continue
        if midp and q >= obs * (1.0 - TIE_RTOL):
            p += 0.5 * q
        else:
            p += q
    return min(p, 1.0)

"""Genotype simulators: coalescent (realistic LD, msprime) and independent binomial.

Both return ``(X, blocks, positions)``:

* ``X`` -- int8 array (N, P), dosage of allele ``a1`` (0/1/2);
* ``blocks`` -- list (one per gene) of int64 arrays of the gene's columns in ``X``
  (genes are contiguous and in order);
* ``positions`` -- list (one per gene) of sorted int64 arrays, 1-based positions of
  the gene's SNPs inside its simulated region (``1 .. region_length``).
"""

from __future__ import annotations

from typing import Optional

import msprime
import numpy as np

from gxapp.errors import EmptyDataError, ParameterError
from gxapp.params import check_int
from gxapp.progress import check_cancel, report

POPULATION_SIZE = 10_000
RECOMBINATION_RATE = 1e-8
MUTATION_RATE = 1.5e-8
MAX_TRIES = 5


def region_length(snps_per_gene: int) -> int:
    """Length (bp) of one simulated gene region: 50 kb, more for many SNPs per gene.

    With Ne = 10,000 and mu = 1.5e-8 a 50 kb region holds ~100-160 SNPs with
    MAF >= 0.01, whatever N is.
    """
    return int(max(50_000, 1_500 * int(snps_per_gene)))


def _check_sizes(n_samples, n_genes, snps_per_gene):
    for name, value, low in (("n_samples", n_samples, 1), ("n_genes", n_genes, 1), ("snps_per_gene", snps_per_gene, 1)):
        check_int(name, value, low)


def _spread(n_have: int, n_want: int) -> np.ndarray:
    """Indices of an evenly spread subset of size ``min(n_have, n_want)``."""
    if n_have <= n_want:
        return np.arange(n_have)
    return np.unique(np.round(np.linspace(0, n_have - 1, n_want)).astype(np.int64))


def _one_gene(n_samples, length, snps_per_gene, maf_min, seeds):
    """Simulate one unlinked gene region; return (int8 genotypes N x k, positions) ."""
    ts = msprime.sim_ancestry(
        samples=n_samples,
        ploidy=2,
        population_size=POPULATION_SIZE,
        sequence_length=length,
        recombination_rate=RECOMBINATION_RATE,
        random_seed=int(seeds[0]),
    )
    ts = msprime.sim_mutations(ts, rate=MUTATION_RATE, model=msprime.BinaryMutationModel(), random_seed=int(seeds[1]))
    if ts.num_sites == 0:
        return np.zeros((n_samples, 0), np.int8), np.zeros(0, np.int64)
    hap = ts.genotype_matrix()  # (sites, 2N) int8, samples are nodes 0..2N-1 (individual i = 2i, 2i+1)
    geno = hap[:, 0::2] + hap[:, 1::2]  # (sites, N)
    freq = geno.sum(axis=1, dtype=np.int64) / (2.0 * n_samples)
    maf = np.minimum(freq, 1.0 - freq)
    keep = np.flatnonzero(maf >= maf_min)
    keep = keep[_spread(len(keep), snps_per_gene)]
    pos = ts.tables.sites.position[keep].astype(np.int64) + 1
    return np.ascontiguousarray(geno[keep].T), pos


def coalescent_genotypes(
    n_samples: int,
    n_genes: int,
    snps_per_gene: int = 40,
    seed: Optional[int] = None,
    maf_min: float = 0.01,
    progress=None,
    cancel=None,
):
    """Diploid genotypes with realistic LD from the coalescent with recombination.

    Each gene is an independent (unlinked) region of :func:`region_length` bp simulated
    with msprime (Hudson model, Ne = 10,000, r = 1e-8 /bp, binary mutations at
    mu = 1.5e-8 /bp). Genotype = sum of an individual's two haplotypes (derived allele
    count, so ``a1`` is the derived allele). Sites with MAF < ``maf_min`` are dropped;
    when more than ``snps_per_gene`` remain an evenly spread subset is kept (so the LD
    pattern along the gene is preserved); fewer are accepted. A gene with no SNP is
    re-simulated (new seeds) up to 5 times before :class:`EmptyDataError` is raised.
    msprime seeds come from ``numpy.random.default_rng(seed)``.
    """
    _check_sizes(n_samples, n_genes, snps_per_gene)
    if not 0.0 <= float(maf_min) < 0.5:
        raise ParameterError(f"maf_min: expected a value in [0, 0.5), got {maf_min!r}")
    rng = np.random.default_rng(seed)
    length = region_length(snps_per_gene)
    blocks, positions, mats = [], [], []
    start = 0
    for gi in range(n_genes):
        check_cancel(cancel)
        report(progress, gi / n_genes, f"coalescent simulation: gene {gi + 1} of {n_genes}")
        for _ in range(MAX_TRIES):
            g, pos = _one_gene(n_samples, length, snps_per_gene, maf_min, rng.integers(1, 2**31 - 1, size=2))
            if g.shape[1] > 0:
                break
        else:
            raise EmptyDataError(
                f"coalescent_genotypes: gene {gi + 1} has no SNP with MAF >= {maf_min} after {MAX_TRIES} tries; "
                f"lower maf_min or raise n_samples"
            )
        mats.append(g)
        positions.append(pos)
        blocks.append(np.arange(start, start + g.shape[1], dtype=np.int64))
        start += g.shape[1]
    report(progress, 1.0, "coalescent simulation done")
    return np.ascontiguousarray(np.concatenate(mats, axis=1), dtype=np.int8), blocks, positions


def binomial_genotypes(
    n_samples: int,
    n_genes: int,
    snps_per_gene: int = 40,
    seed: Optional[int] = None,
    maf_range=(0.05, 0.5),
):
    """Independent SNPs: dosage ~ Binomial(2, MAF), MAF ~ Uniform(maf_range), no LD.

    Positions are random distinct sites in a region of :func:`region_length` bp.
    """
    _check_sizes(n_samples, n_genes, snps_per_gene)
    lo, hi = (float(v) for v in maf_range)
    if not 0.0 < lo <= hi <= 0.5:
        raise ParameterError(f"maf_range: expected 0 < low <= high <= 0.5, got {maf_range!r}")
    rng = np.random.default_rng(seed)
    p = n_genes * snps_per_gene
    maf = rng.uniform(lo, hi, size=p)
    x = rng.binomial(2, maf, size=(n_samples, p)).astype(np.int8)
    length = region_length(snps_per_gene)
    blocks = [np.arange(i * snps_per_gene, (i + 1) * snps_per_gene, dtype=np.int64) for i in range(n_genes)]
    positions = [
        np.sort(rng.choice(length, size=snps_per_gene, replace=False)).astype(np.int64) + 1 for _ in range(n_genes)
    ]
    return x, blocks, positions

"""A cohort of several populations and no interaction (docs/method.md#population-structure): the
check that genotype PCs keep the networks from learning ancestry in place of interaction.

Allele frequencies follow the Balding–Nichols model: an ancestral frequency ``p ~ U(0.05, 0.95)`` per
SNP, and per population ``Beta(p (1 - F) / F, (1 - p)(1 - F) / F)`` with differentiation ``F = fst``;
genotypes are Binomial(2, population frequency), SNPs independent. The phenotype is
``ancestry_effect × population index + N(0, 1)``: it depends on ancestry alone, so every "interaction"
a method reports on it is false (``truth["pairs"]`` is empty).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.errors import ParameterError


def structured_cohort(
    n_samples: int = 4000,
    n_genes: int = 8,
    snps_per_gene: int = 20,
    n_pops: int = 2,
    fst: float = 0.1,
    ancestry_effect: float = 1.0,
    seed: int = 0,
) -> Cohort:
    """A quantitative cohort of ``n_pops`` equally sized populations whose phenotype is driven by
    ancestry only (module docstring); ``samples["population"]`` names each individual's population."""
    if n_pops < 2 or not 0 < fst < 1 or n_samples < 2 * n_pops or n_genes < 2 or snps_per_gene < 1:
        raise ParameterError(
            "structured_cohort: expected n_pops ≥ 2, 0 < fst < 1, n_genes ≥ 2, snps_per_gene ≥ 1 and "
            f"at least 2 samples per population; got n_pops={n_pops}, fst={fst}, n_samples={n_samples}"
        )
    rng = np.random.default_rng(seed)
    p_snps = n_genes * snps_per_gene
    anc = rng.uniform(0.05, 0.95, p_snps)
    a, b = anc * (1 - fst) / fst, (1 - anc) * (1 - fst) / fst
    freq = rng.beta(a, b, size=(n_pops, p_snps)).clip(0.01, 0.99)
    pop = np.arange(n_samples) % n_pops
    rng.shuffle(pop)
    G = rng.binomial(2, freq[pop]).astype(np.int8)
    y = ancestry_effect * pop + rng.standard_normal(n_samples)
    names = [f"POP{k + 1}" for k in range(n_pops)]
    samples = pd.DataFrame(
        {
            "fid": [f"F{i}" for i in range(n_samples)],
            "iid": [f"I{i}" for i in range(n_samples)],
            "population": [names[k] for k in pop],
        }
    )
    gene_names = [f"GENE{g + 1}" for g in range(n_genes)]
    pos = np.arange(p_snps, dtype=np.int64) * 1000 + 1_000_000
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j + 1}" for j in range(p_snps)],
            "chrom": "1",
            "pos": pos,
            "a1": "A",
            "a2": "G",
        }
    )
    gene_snps = {
        g: np.arange(i * snps_per_gene, (i + 1) * snps_per_gene, dtype=np.int64) for i, g in enumerate(gene_names)
    }
    genes = pd.DataFrame(
        {
            "gene": gene_names,
            "chrom": "1",
            "start": [int(pos[v[0]]) for v in gene_snps.values()],
            "end": [int(pos[v[-1]]) for v in gene_snps.values()],
        }
    )
    cohort = Cohort(
        genotypes=G,
        samples=samples,
        snps=snps,
        genes=genes,
        gene_snps=gene_snps,
        phenotype=y,
        truth={"pairs": [], "scenario": "ancestry only", "types": {}},
        meta={"source": "simulation", "label": f"{n_pops} populations, F_ST {fst:g}, no interaction"},
    )
    return validate(cohort)

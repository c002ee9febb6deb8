"""Small hand-built objects shared by tests."""
import numpy as np
import pandas as pd

from gxapp.cohort import Cohort


def make_cohort(G, genes=None, phenotype=None, trait="quantitative", covariates=None) -> Cohort:
    """A small hand-built cohort. ``genes``: gene name per SNP column (default two SNPs per gene)."""
    G = np.asarray(G, dtype=np.int8)
    n, p = G.shape
    if genes is None:
        genes = [f"G{j // 2}" for j in range(p)]
    samples = pd.DataFrame({"fid": [f"f{i}" for i in range(n)], "iid": [f"s{i}" for i in range(n)]})
    snps = pd.DataFrame({
        "snp": [f"rs{j}" for j in range(p)],
        "chrom": "1",
        "pos": np.arange(p, dtype=np.int64) * 1000 + 1,
        "a1": "A",
        "a2": "G",
    })
    names = list(dict.fromkeys(genes))
    gene_snps = {g: np.array([j for j in range(p) if genes[j] == g], dtype=np.int64) for g in names}
    gene_df = pd.DataFrame({
        "gene": names,
        "chrom": "1",
        "start": [int(snps["pos"].iloc[gene_snps[g]].min()) for g in names],
        "end": [int(snps["pos"].iloc[gene_snps[g]].max()) for g in names],
    })
    ph = None if phenotype is None else np.asarray(phenotype, dtype=np.float64)
    return Cohort(genotypes=G, samples=samples, snps=snps, genes=gene_df, gene_snps=gene_snps,
                  phenotype=ph, trait=trait, covariates=covariates)

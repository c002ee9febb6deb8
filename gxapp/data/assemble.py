"""Tie raw genotypes, a gene table, phenotype and covariates into one Cohort.

Sample ids are the join key: phenotype and covariate rows whose id matches no
genotype sample are counted and reported; if none match at all the ids are
wrong (e.g. FID given instead of IID) and we say so.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.io.gene_mapping import MappingResult
from gxapp.data.io.genotypes import Genotypes
from gxapp.errors import SampleMismatchError


def _examples(values, k=3) -> str:
    return ", ".join(f"'{v}'" for v in list(values)[:k])


def align_table(iids: pd.Series, table_iids: pd.Series, what: str, n_geno: int) -> np.ndarray:
    """Positions in ``table_iids`` for each genotype sample (-1 where absent).

    Raises SampleMismatchError when no id matches."""
    pos = pd.Index(table_iids.astype(str)).get_indexer(iids.astype(str))
    n_match = int((pos >= 0).sum())
    if n_match == 0:
        raise SampleMismatchError(
            f"{what}: none of its {len(table_iids)} sample ids match the {n_geno} genotype samples "
            f"(it has {_examples(table_iids)}; the genotypes have {_examples(iids)}). "
            f"Check that the file uses the same IIDs as the genotype file."
        )
    return pos


def assemble(
    geno: Genotypes,
    mapping: MappingResult,
    pheno: Optional[pd.DataFrame] = None,
    trait: str = "quantitative",
    covar: Optional[pd.DataFrame] = None,
    pathways: Optional[dict] = None,
    variants: Optional[pd.DataFrame] = None,
    meta: Optional[dict] = None,
) -> Cohort:
    """Build a validated Cohort.

    ``mapping`` comes from :func:`gxapp.data.io.gene_mapping.map_snps_to_genes` on
    ``geno.snps``; only SNPs in at least one gene are kept. ``pheno`` has
    columns ``iid``, ``value``; ``covar`` is indexed by iid.
    """
    meta = dict(meta or {})
    report = dict(meta.get("load_report", {}))
    keep = np.flatnonzero(mapping.snp_mask)
    remap = np.full(len(geno.snps), -1, dtype=np.int64)
    remap[keep] = np.arange(len(keep))
    gene_snps = {g: remap[np.asarray(idx)] for g, idx in mapping.gene_snps.items()}
    genes = mapping.genes.reset_index(drop=True)
    genes = genes[genes["gene"].isin([g for g, v in gene_snps.items() if len(v)])].reset_index(drop=True)
    gene_snps = {g: np.sort(gene_snps[g]) for g in genes["gene"]}

    samples = geno.samples[["fid", "iid"]].astype(str).reset_index(drop=True)
    n = len(samples)
    phenotype = None
    if pheno is not None:
        pos = align_table(samples["iid"], pheno["iid"], "phenotype file", n)
        vals = pheno["value"].to_numpy(dtype=np.float64)
        phenotype = np.where(pos >= 0, vals[np.maximum(pos, 0)], np.nan)
        report["phenotype_ids"] = int(len(pheno))
        report["phenotype_matched"] = int((pos >= 0).sum())
        report["phenotype_unmatched_ids"] = int(len(pheno) - (pos >= 0).sum())
    covariates = None
    if covar is not None:
        pos = align_table(samples["iid"], pd.Series(covar.index), "covariate file", n)
        covariates = covar.reindex(samples["iid"].to_numpy()).reset_index(drop=True).astype(np.float64)
        missing = covariates.isna().any(axis=1).to_numpy()
        report["covariates_matched"] = int((pos >= 0).sum())
        if phenotype is not None and missing.any():
            hit = missing & np.isfinite(phenotype)
            if hit.any():
                report["excluded_missing_covariates"] = int(hit.sum())
                phenotype = np.where(missing, np.nan, phenotype)
    if variants is not None:
        known = set(samples["iid"])
        n_unknown = int((~variants["iid"].astype(str).isin(known)).sum())
        if n_unknown == len(variants):
            raise SampleMismatchError(
                f"variant table: none of its sample ids match the {n} genotype samples "
                f"(it has {_examples(variants['iid'].unique())}; the genotypes have {_examples(samples['iid'])})"
            )
        report["variant_rows_unmatched"] = n_unknown
        variants = variants[variants["iid"].astype(str).isin(known)].reset_index(drop=True)
    meta["load_report"] = report
    meta["mapping"] = mapping.report
    every = keep.size == geno.genotypes.shape[1]  # the loaders read only SNPs inside genes: no copy then
    cohort = Cohort(
        genotypes=geno.genotypes if every else np.ascontiguousarray(geno.genotypes[:, keep]),
        dosages=None
        if geno.dosages is None
        else (geno.dosages if every else np.ascontiguousarray(geno.dosages[:, keep])).astype(np.float32, copy=False),
        samples=samples,
        snps=geno.snps.iloc[keep].reset_index(drop=True),
        genes=genes,
        gene_snps=gene_snps,
        phenotype=phenotype,
        trait=trait,
        covariates=covariates,
        pathways=pathways,
        variants=variants,
        meta=meta,
    )
    return validate(cohort)

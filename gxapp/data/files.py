"""Cohorts from files: which files, how to read them, and reading them (genotypes →
SNP→gene mapping → samples aligned with phenotype and covariates → QC)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from gxapp import cache
from gxapp.data.assemble import assemble
from gxapp.data.cohort import Cohort
from gxapp.data.prune import prune_cohort
from gxapp.data.qc import QCParams, run_qc
from gxapp.data.structure import population_structure
from gxapp.errors import InputFormatError, ParameterError
from gxapp.params import InstanceOf, Integral, Interval, Options, Params, Real
from gxapp.progress import check_cancel, report, sub_progress

FORMATS = ("plink", "pgen", "bgen", "vcf", "table")
PLINK_EXTS = (".bed", ".bim", ".fam")


@dataclass
class FileSpec(Params):
    """Which files make a cohort, and how to read them (all paths on this machine)."""

    genotypes: str
    format: str = "auto"
    pheno: Optional[str] = None
    pheno_column: Optional[str] = None
    covar: Optional[str] = None
    genes: str = "grch37"
    flank: int = 10_000
    keep_genes: Optional[list] = None
    snp_map: Optional[str] = None
    pathways: Optional[str] = None
    variants: Optional[str] = None
    multiallelic: str = "split"
    duplicate_ids: str = "rename"
    sample: Optional[str] = None  # BGEN: the Oxford .sample file (else the BGEN's own sample ids)
    min_info: float = 0.4  # BGEN: drop variants with an info score below this (paper A)
    pca_bfile: Optional[str] = None  # genome-wide PLINK prefix the genotype PCs come from (else the loaded SNPs)
    truth: Optional[str] = None  # a planted truth (truth.json) for one's own simulated files
    label: Optional[str] = None

    _parameter_constraints = {
        "genotypes": [str, InstanceOf(Path, "a path")],
        "format": [Options(("auto",) + FORMATS)],
        "genes": [str, InstanceOf(Path, "a path")],
        "flank": [Interval(Integral, 0, None)],
        "multiallelic": [Options(("split", "skip"))],
        "duplicate_ids": [Options(("rename", "drop"))],
        "min_info": [Interval(Real, 0, 1)],
    }

    def resolved_format(self) -> str:
        fmt = self.format
        if fmt == "auto":
            fmt = detect_format(self.genotypes)
        if fmt not in FORMATS:
            raise ParameterError(f"format: expected one of {FORMATS} or 'auto', got '{self.format}'")
        return fmt

    def plink_prefix(self) -> str:
        return _strip(self.genotypes, PLINK_EXTS)

    def pgen_prefix(self) -> str:
        return _strip(self.genotypes, (".pgen", ".pvar", ".psam"))

    def pca_prefix(self) -> Optional[str]:
        """The genome-wide PLINK set the PCs come from, as a prefix (None: the loaded SNPs)."""
        return _strip(self.pca_bfile, PLINK_EXTS) if self.pca_bfile else None

    def input_files(self) -> list:
        fmt = self.resolved_format()
        if fmt == "plink":
            files = [self.plink_prefix() + e for e in (".bed", ".bim", ".fam")]
        elif fmt == "pgen":
            files = [self.pgen_prefix() + e for e in (".pgen", ".pvar", ".psam")]
        else:
            files = [self.genotypes]
        for p in (self.pheno, self.covar, self.snp_map, self.pathways, self.variants, self.sample, self.truth):
            if p:
                files.append(p)
        if self.pca_bfile:
            files += [self.pca_prefix() + e for e in PLINK_EXTS]
        if self.genes.lower() not in ("grch37", "grch38", "hg19", "hg38"):
            files.append(self.genes)
        return files


def _strip(path, exts) -> str:
    p = str(path)
    for ext in exts:
        if p.endswith(ext):
            return p[: -len(ext)]
    return p


def detect_format(path) -> str:
    p = str(path).lower()
    if p.endswith((".bed", ".bim", ".fam")) or Path(str(path) + ".bed").exists():
        return "plink"
    if p.endswith((".pgen", ".pvar", ".psam")) or Path(str(path) + ".pgen").exists():
        return "pgen"
    if p.endswith(".bgen"):
        return "bgen"
    if p.endswith((".vcf", ".vcf.gz", ".bcf", ".vcf.bgz")):
        return "vcf"
    if p.endswith((".csv", ".tsv", ".txt", ".parquet", ".csv.gz", ".tsv.gz")):
        return "table"
    raise InputFormatError(
        f"{Path(path).name}: cannot tell the genotype format from the name; use a PLINK prefix, "
        f".vcf/.vcf.gz/.bcf, or .csv/.tsv/.parquet (or pass format=)"
    )


def digest_inputs(spec: FileSpec) -> dict:
    out = {}
    sampled = {spec.pca_prefix() + ".bed"} if spec.pca_bfile else set()
    for f in spec.input_files():
        if not Path(f).is_file():
            raise InputFormatError(f"{f}: file not found")
        # a genome-wide .bed for the PCs can be 100+ GB: identified by its size and sampled blocks
        out[str(f)] = cache.sampled_digest(f) if str(f) in sampled else cache.file_digest(f)
    return out


def read_cohort_files(spec: FileSpec, qc: QCParams, progress, cancel) -> Cohort:
    from gxapp.data.io import gmt, pheno, plink, table, vcf
    from gxapp.data.io import variants as variants_io
    from gxapp.data.io.gene_mapping import map_snps_to_genes
    from gxapp.data.io.gene_tables import load_gene_table

    """Read genotypes, map SNPs to genes, align samples with phenotype and covariates, run QC."""
    spec.validate()
    qc.validate()
    fmt = spec.resolved_format()
    t0 = time.perf_counter()
    gene_table = load_gene_table(spec.genes)
    keep_genes = list(spec.keep_genes) if spec.keep_genes else None
    check_cancel(cancel)
    read_progress = sub_progress(progress, 0.05, 0.7)

    def map_then_read(variants, read):
        """Map the file's whole variant table to genes, read only the SNPs inside them, then map again
        on the SNPs read (indices refer to their columns; the report stays the whole file's)."""
        whole = map_snps_to_genes(variants, gene_table, flank=spec.flank, keep_genes=keep_genes)
        geno = read(np.flatnonzero(whole.snp_mask))
        mapping = map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
        mapping.report = whole.report
        return geno, mapping

    common = dict(progress=read_progress, cancel=cancel, duplicate_ids=spec.duplicate_ids)
    if fmt == "plink":
        prefix = spec.plink_prefix()
        geno, mapping = map_then_read(
            plink.check_plink(prefix)[1], lambda sel: plink.read_plink(prefix, select=sel, **common)
        )
    elif fmt == "pgen":
        from gxapp.data.io import pgen

        prefix = spec.pgen_prefix()
        geno, mapping = map_then_read(
            pgen.check_pgen(prefix)[1],
            lambda sel: pgen.read_pgen(prefix, select=sel, multiallelic=spec.multiallelic, **common),
        )
    elif fmt == "bgen":
        from gxapp.data.io import bgen

        geno, mapping = map_then_read(
            bgen.variant_table(spec.genotypes),
            lambda sel: bgen.read_bgen(
                spec.genotypes, sample=spec.sample, select=sel, min_info=spec.min_info, **common
            ),
        )
    elif fmt == "vcf":
        sel = gene_table if keep_genes is None else gene_table[gene_table["gene"].isin(keep_genes)]
        regions = list(zip(sel["chrom"], (sel["start"] - spec.flank).clip(lower=1), sel["end"] + spec.flank))
        geno = vcf.read_vcf(
            spec.genotypes,
            regions=regions,
            multiallelic=spec.multiallelic,
            **common,
        )
        mapping = map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
    else:
        geno = table.read_genotype_table(spec.genotypes, snp_map=spec.snp_map)
        mapping = map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
    check_cancel(cancel)
    report(progress, 0.75, "reading phenotype, covariates, pathways")
    pheno_df, trait = (None, "quantitative")
    if spec.pheno:
        pheno_df, trait = pheno.read_pheno(spec.pheno, column=spec.pheno_column)
    covar_df = pheno.read_covar(spec.covar, exclude=pheno.POPULATION_COLUMNS) if spec.covar else None
    pathways = gmt.read_gmt(spec.pathways) if spec.pathways else None
    var_df = variants_io.read_variant_table(spec.variants) if spec.variants else None
    meta = {
        "label": spec.label
        or Path({"plink": spec.plink_prefix(), "pgen": spec.pgen_prefix()}.get(fmt, spec.genotypes)).name,
        "source": fmt,
        "spec": {k: v for k, v in asdict(spec).items() if k != "label"},
        "load_report": dict(geno.meta),
    }
    cohort = assemble(geno, mapping, pheno_df, trait, covar_df, pathways, var_df, meta)
    if spec.covar:
        labels = pheno.read_population(spec.covar)
        if labels is not None:
            cohort.samples["population"] = labels.reindex(cohort.samples["iid"].to_numpy()).fillna("unknown").to_numpy()
    if pathways is not None:
        cohort.pathways, cohort.meta["pathway_report"] = gmt.restrict_pathways(
            pathways, cohort.gene_names, source=spec.pathways
        )
    check_cancel(cancel)
    report(progress, 0.8, "quality control")
    del geno  # the cohort holds the genotypes now; QC and pruning compact them in place (one copy in memory)
    cohort, qc_report = run_qc(cohort, qc, cancel=cancel, in_place=True)
    cohort.meta["qc"] = qc_report.to_dict()
    cohort, _ = prune_cohort(
        cohort, qc.prune_params(), progress=sub_progress(progress, 0.85, 0.9), cancel=cancel, in_place=True
    )
    cohort = population_structure(
        cohort, qc.pca_params(), spec.pca_prefix(), progress=sub_progress(progress, 0.9, 0.99), cancel=cancel
    )
    if spec.truth:
        from gxapp.data.io.truth import check_truth_genes, read_truth

        cohort.truth = check_truth_genes(read_truth(spec.truth), cohort.gene_names)
    cohort.meta["seconds"] = round(time.perf_counter() - t0, 3)
    return cohort

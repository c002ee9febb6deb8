"""Where cohorts come from — files, a simulation, or the demo — each cached
under a content key so that the same inputs load instantly the second time.

``from_files``/``from_simulation`` return a :class:`CohortHandle` (key,
cohort, whether it came from the cache); ``open_cohort(key)`` reopens one.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from gxapp import cache
from gxapp.data.assemble import assemble
from gxapp.data.cohort import Cohort
from gxapp.errors import InputFormatError, ParameterError
from gxapp.data.io.cohort_files import load_cohort_dir, save_cohort
from gxapp.progress import check_cancel, report, sub_progress
from gxapp.data.qc import QCParams, run_qc
from gxapp.data.simulate import SimParams, simulate_cohort, simulate_on_cohort

KIND = "cohorts"
FORMATS = ("plink", "vcf", "table")


@dataclass
class CohortHandle:
    key: str
    cohort: Cohort
    cached: bool


def store(root=None) -> cache.Store:
    return cache.Store(KIND, root)


# ---- files -------------------------------------------------------------------
@dataclass
class FileSpec:
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
    label: Optional[str] = None

    def resolved_format(self) -> str:
        fmt = self.format
        if fmt == "auto":
            fmt = detect_format(self.genotypes)
        if fmt not in FORMATS:
            raise ParameterError(f"format: expected one of {FORMATS} or 'auto', got '{self.format}'")
        return fmt

    def plink_prefix(self) -> str:
        p = str(self.genotypes)
        for ext in (".bed", ".bim", ".fam"):
            if p.endswith(ext):
                return p[: -len(ext)]
        return p

    def input_files(self) -> list:
        fmt = self.resolved_format()
        files = [self.plink_prefix() + e for e in (".bed", ".bim", ".fam")] if fmt == "plink" else [self.genotypes]
        for p in (self.pheno, self.covar, self.snp_map, self.pathways, self.variants):
            if p:
                files.append(p)
        if self.genes.lower() not in ("grch37", "grch38", "hg19", "hg38"):
            files.append(self.genes)
        return files


def detect_format(path) -> str:
    p = str(path).lower()
    if p.endswith((".bed", ".bim", ".fam")) or Path(str(path) + ".bed").exists():
        return "plink"
    if p.endswith((".vcf", ".vcf.gz", ".bcf", ".vcf.bgz")):
        return "vcf"
    if p.endswith((".csv", ".tsv", ".txt", ".parquet", ".csv.gz", ".tsv.gz")):
        return "table"
    raise InputFormatError(
        f"{Path(path).name}: cannot tell the genotype format from the name; use a PLINK prefix, "
        f".vcf/.vcf.gz/.bcf, or .csv/.tsv/.parquet (or pass format=)"
    )


def _digest_inputs(spec: FileSpec) -> dict:
    out = {}
    for f in spec.input_files():
        if not Path(f).is_file():
            raise InputFormatError(f"{f}: file not found")
        out[str(f)] = cache.file_digest(f)
    return out


def from_files(spec: FileSpec, qc: QCParams = None, root=None, progress=None, cancel=None) -> CohortHandle:
    """Load, map to genes, align samples, QC — or reopen the cached result."""
    from gxapp.data.io import genes as genes_io
    from gxapp.data.io import gmt, pheno, plink, table, variants as variants_io, vcf

    qc = qc or QCParams()
    qc.validate()
    if spec.flank < 0:
        raise ParameterError(f"flank: must be >= 0 bp, got {spec.flank}")
    fmt = spec.resolved_format()
    st = store(root)
    report(progress, 0.0, "hashing input files")
    params = {k: v for k, v in asdict(spec).items() if k not in ("label",)}
    key = cache.make_key("files", params, _digest_inputs(spec), asdict(qc))
    if st.exists(key):
        return CohortHandle(key, open_cohort(key, root), True)
    t0 = time.perf_counter()
    gene_table = genes_io.load_gene_table(spec.genes)
    keep_genes = list(spec.keep_genes) if spec.keep_genes else None
    check_cancel(cancel)
    read_progress = sub_progress(progress, 0.05, 0.7)
    if fmt == "plink":
        prefix = spec.plink_prefix()
        _, bim = plink.check_plink(prefix)
        whole = genes_io.map_snps_to_genes(bim, gene_table, flank=spec.flank, keep_genes=keep_genes)
        geno = plink.read_plink(prefix, select=np.flatnonzero(whole.snp_mask), progress=read_progress, cancel=cancel)
        # re-map on the SNPs read so indices refer to their columns; report on the whole file
        mapping = genes_io.map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
        mapping.report = whole.report
    elif fmt == "vcf":
        sel = gene_table if keep_genes is None else gene_table[gene_table["gene"].isin(keep_genes)]
        regions = list(zip(sel["chrom"], (sel["start"] - spec.flank).clip(lower=1), sel["end"] + spec.flank))
        geno = vcf.read_vcf(spec.genotypes, regions=regions, multiallelic=spec.multiallelic,
                            progress=read_progress, cancel=cancel)
        mapping = genes_io.map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
    else:
        geno = table.read_genotype_table(spec.genotypes, snp_map=spec.snp_map)
        mapping = genes_io.map_snps_to_genes(geno.snps, gene_table, flank=spec.flank, keep_genes=keep_genes)
    check_cancel(cancel)
    report(progress, 0.75, "reading phenotype, covariates, pathways")
    pheno_df, trait = (None, "quantitative")
    if spec.pheno:
        pheno_df, trait = pheno.read_pheno(spec.pheno, column=spec.pheno_column)
    covar_df = pheno.read_covar(spec.covar) if spec.covar else None
    pathways = gmt.read_gmt(spec.pathways) if spec.pathways else None
    var_df = variants_io.read_variant_table(spec.variants) if spec.variants else None
    meta = {
        "label": spec.label or Path(spec.plink_prefix() if fmt == "plink" else spec.genotypes).name,
        "source": fmt,
        "spec": params,
        "load_report": dict(geno.meta),
    }
    cohort = assemble(geno, mapping, pheno_df, trait, covar_df, pathways, var_df, meta)
    if pathways is not None:
        cohort.pathways, cohort.meta["pathway_report"] = gmt.restrict_pathways(pathways, cohort.gene_names, source=spec.pathways)
    check_cancel(cancel)
    report(progress, 0.85, "quality control")
    cohort, qc_report = run_qc(cohort, qc, cancel=cancel)
    cohort.meta["qc"] = qc_report.to_dict()
    cohort.meta["seconds"] = round(time.perf_counter() - t0, 3)
    _save(st, key, cohort, {"qc": asdict(qc)})
    report(progress, 1.0, "done")
    return CohortHandle(key, cohort, False)


# ---- simulation --------------------------------------------------------------
def from_simulation(params: SimParams, root=None, progress=None, cancel=None, label=None) -> CohortHandle:
    params.validate()
    st = store(root)
    key = cache.make_key("simulation", params.to_dict())
    if st.exists(key):
        return CohortHandle(key, open_cohort(key, root), True)
    t0 = time.perf_counter()
    cohort = simulate_cohort(params, progress=sub_progress(progress, 0.0, 0.95), cancel=cancel)
    cohort.meta["label"] = label or default_label(params)
    cohort.meta["seconds"] = round(time.perf_counter() - t0, 3)
    _save(st, key, cohort, {"simulation": params.to_dict(), "seed": params.seed})
    report(progress, 1.0, "done")
    return CohortHandle(key, cohort, False)


def simulate_on(base_key: str, params: SimParams, root=None, genes=None, progress=None, cancel=None) -> CohortHandle:
    """Simulate a phenotype on the genotypes of a cached cohort (power analysis)."""
    params.validate()
    st = store(root)
    key = cache.make_key("simulate-on", base_key, params.to_dict(), genes)
    if st.exists(key):
        return CohortHandle(key, open_cohort(key, root), True)
    base = open_cohort(base_key, root)
    cohort = simulate_on_cohort(base, params, genes=genes, progress=progress, cancel=cancel)
    cohort.meta["label"] = f"{base.meta.get('label', base_key[:8])} + {default_label(params)}"
    cohort.meta["base_cohort"] = base_key
    _save(st, key, cohort, {"simulation": params.to_dict(), "seed": params.seed, "base_cohort": base_key})
    return CohortHandle(key, cohort, False)


def default_label(p: SimParams) -> str:
    return f"sim {p.scenario} N={p.n_samples:,} genes={p.n_genes} S/N={p.snr:g} M/I={p.mi:g} seed={p.seed}"


# ---- demo ----------------------------------------------------------------------
DEMO = SimParams(scenario="complex", n_samples=5_000, n_genes=10, snr=0.5, mi=1.0, prop_causal=0.5, seed=1)
DEMO_CASECONTROL = SimParams(scenario="casecontrol", n_samples=2_000, n_genes=40, seed=1)


def demo(root=None, progress=None, cancel=None) -> CohortHandle:
    """The embedded demo: paper A's complex scenario with six planted gene pairs."""
    return from_simulation(DEMO, root, progress, cancel, label="demo: complex interactions (paper A, Eq. 1)")


def demo_casecontrol(root=None, progress=None, cancel=None) -> CohortHandle:
    """Case/control demo with pathways and annotated variants (for the Epistasis page)."""
    return from_simulation(DEMO_CASECONTROL, root, progress, cancel, label="demo: case/control epistasis (paper B)")


# ---- cache access -----------------------------------------------------------------
def _save(st: cache.Store, key: str, cohort: Cohort, params: dict) -> None:
    meta = cache.provenance(
        label=cohort.meta.get("label"),
        source=cohort.meta.get("source"),
        summary=cohort.summary(),
        fingerprint=cohort.fingerprint(),
        params=params,
    )
    st.write(key, lambda d: save_cohort(cohort, d), meta)


def open_cohort(key: str, root=None) -> Cohort:
    st = store(root)
    if not st.exists(key):
        from gxapp.errors import CacheError

        raise CacheError(f"no cached cohort with key {key}; load or simulate it again")
    return load_cohort_dir(st.path(key))


def list_cohorts(root=None) -> list:
    return store(root).list()


def delete_cohort(key: str, root=None) -> None:
    store(root).delete(key)

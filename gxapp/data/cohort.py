"""The one in-memory cohort type, and its validation.

Every public function that takes a cohort calls :func:`validate` first (the
sgkit habit: one declared data spec, checked at every door).

Data spec
---------
genotypes : int8 array (N, P); number of copies of allele ``a1`` (0, 1, 2), -1 = missing.
samples   : DataFrame with str columns ``fid``, ``iid``; ``iid`` unique; row i is genotype row i.
snps      : DataFrame with columns ``snp`` (unique str), ``chrom`` (str, no "chr" prefix),
            ``pos`` (int, 1-based), ``a1``, ``a2``; optional ``cm``, ``class`` (functional class).
genes     : DataFrame with columns ``gene`` (unique str), ``chrom``, ``start``, ``end``; the
            order of its rows is the gene order used everywhere.
gene_snps : dict gene -> sorted int64 array of genotype columns (a SNP may sit in two genes).
phenotype : float64 array (N,) with NaN for missing, or None.
trait     : "quantitative" or "binary" (binary coded 0/1).
covariates: float DataFrame (N, C) aligned with ``samples``, or None.
pathways  : dict pathway -> list of genes, or None.
variants  : annotated variant table with columns ``iid``, ``gene``, ``class``, ``count``, or None.
truth     : planted truth of a simulation (``{"pairs": [[a, b], ...], ...}``), or None.
meta      : free-form provenance (source, build, parameters, QC report...).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError, ParameterError

TRAITS = ("quantitative", "binary")
SNP_COLUMNS = ("snp", "chrom", "pos", "a1", "a2")
GENE_COLUMNS = ("gene", "chrom", "start", "end")


def _take_columns(a: np.ndarray, cols: np.ndarray, in_place: bool) -> np.ndarray:
    """``a[:, cols]`` (``cols`` sorted) in ``a``'s memory order: moved to the front of ``a`` itself when
    ``in_place`` and ``a`` is column-major, else one new array filled in column blocks."""
    if in_place and a.flags.f_contiguous:
        for i, c in enumerate(cols.tolist()):
            if c != i:
                a[:, i] = a[:, c]
        return a[:, : cols.size]
    if a.flags.f_contiguous and not a.flags.c_contiguous:
        out = np.empty((a.shape[0], cols.size), dtype=a.dtype, order="F")
        for s in range(0, cols.size, 512):
            out[:, s : s + 512] = a[:, cols[s : s + 512]]
        return out
    return np.ascontiguousarray(a[:, cols])


@dataclass(eq=False)
class Cohort:
    genotypes: np.ndarray
    samples: pd.DataFrame
    snps: pd.DataFrame
    genes: pd.DataFrame
    gene_snps: dict
    phenotype: Optional[np.ndarray] = None
    trait: str = "quantitative"
    covariates: Optional[pd.DataFrame] = None
    pathways: Optional[dict] = None
    variants: Optional[pd.DataFrame] = None
    truth: Optional[dict] = None
    meta: dict = field(default_factory=dict)
    # imputed dosages of a1 (float32 in [0, 2], NaN missing) when the input had them (BGEN); the
    # networks and peers read these (docs/method.md#data-model), QC reads the hard calls in ``genotypes``
    dosages: Optional[np.ndarray] = None

    # ---- sizes -------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        return int(self.genotypes.shape[0])

    @property
    def n_snps(self) -> int:
        return int(self.genotypes.shape[1])

    @property
    def n_genes(self) -> int:
        return int(len(self.genes))

    @property
    def gene_names(self) -> list:
        return list(self.genes["gene"])

    def snps_per_gene(self) -> pd.Series:
        return pd.Series({g: len(self.gene_snps[g]) for g in self.gene_names}, name="n_snps")

    # ---- per-SNP statistics ------------------------------------------------
    def missing_rate(self) -> np.ndarray:
        return (self.genotypes < 0).mean(axis=0) if self.n_samples else np.zeros(self.n_snps)

    def allele_freq(self) -> np.ndarray:
        """Frequency of allele ``a1`` among called genotypes (NaN if none called)."""
        g = self.genotypes
        called = g >= 0
        n = called.sum(axis=0)
        s = np.where(called, g, 0).sum(axis=0, dtype=np.int64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(n > 0, s / (2.0 * np.maximum(n, 1)), np.nan)

    def maf(self) -> np.ndarray:
        f = self.allele_freq()
        return np.minimum(f, 1.0 - f)

    # ---- subsetting --------------------------------------------------------
    def subset_samples(self, rows) -> "Cohort":
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        iids = set(self.samples["iid"].iloc[rows])
        variants = self.variants
        if variants is not None:
            variants = variants[variants["iid"].isin(iids)].reset_index(drop=True)
        return replace(
            self,
            genotypes=np.ascontiguousarray(self.genotypes[rows]),
            dosages=None if self.dosages is None else np.ascontiguousarray(self.dosages[rows]),
            samples=self.samples.iloc[rows].reset_index(drop=True),
            phenotype=None if self.phenotype is None else self.phenotype[rows].copy(),
            covariates=None if self.covariates is None else self.covariates.iloc[rows].reset_index(drop=True),
            variants=variants,
            meta=dict(self.meta),
        )

    def subset_snps(self, cols, in_place: bool = False) -> "Cohort":
        """Keep genotype columns ``cols``; genes left without SNPs are dropped
        (and listed in ``meta['dropped_genes']``). Keeping every column copies nothing; ``in_place``
        moves the kept columns of a column-major matrix to its front instead of copying them (the
        loader's way to stay near one copy of a biobank-sized matrix; THIS cohort's genotypes are
        then overwritten)."""
        cols = np.asarray(cols)
        if cols.dtype == bool:
            cols = np.flatnonzero(cols)
        cols = np.sort(cols.astype(np.int64))
        if cols.size == self.n_snps and (cols == np.arange(self.n_snps)).all():
            return replace(self, meta=dict(self.meta))
        remap = np.full(self.n_snps, -1, dtype=np.int64)
        remap[cols] = np.arange(len(cols))
        gene_snps, keep, dropped = {}, [], []
        for g in self.gene_names:
            new = remap[self.gene_snps[g]]
            new = np.sort(new[new >= 0])
            if len(new):
                gene_snps[g] = new
                keep.append(g)
            else:
                dropped.append(g)
        meta = dict(self.meta)
        if dropped:
            meta["dropped_genes"] = list(meta.get("dropped_genes", [])) + dropped
        genes = self.genes[self.genes["gene"].isin(keep)].reset_index(drop=True)
        return replace(
            self,
            genotypes=_take_columns(self.genotypes, cols, in_place),
            dosages=None if self.dosages is None else _take_columns(self.dosages, cols, in_place),
            snps=self.snps.iloc[cols].reset_index(drop=True),
            genes=genes,
            gene_snps=gene_snps,
            meta=meta,
        )

    def subset_genes(self, keep_genes) -> "Cohort":
        """Keep only the listed genes (and the SNPs they hold)."""
        keep_genes = [g for g in self.gene_names if g in set(keep_genes)]
        genes = self.genes[self.genes["gene"].isin(keep_genes)].reset_index(drop=True)
        c = replace(self, genes=genes, gene_snps={g: self.gene_snps[g] for g in keep_genes})
        used = np.unique(np.concatenate([c.gene_snps[g] for g in keep_genes])) if keep_genes else np.array([], int)
        return c.subset_snps(used)

    # ---- identity ----------------------------------------------------------
    def fingerprint(self) -> str:
        """Content hash of everything that defines the cohort (not ``meta``)."""
        h = hashlib.blake2b(digest_size=16)
        g = self.genotypes
        step = max(1, (64 << 20) // max(1, g.shape[1] * g.itemsize))
        for r in range(0, g.shape[0], step):  # row blocks: the digest of the C-order bytes, no whole copy
            h.update(np.ascontiguousarray(g[r : r + step]).tobytes())
        h.update(str(self.genotypes.shape).encode())
        if self.dosages is not None:
            h.update(b"dosages")
            d = self.dosages
            step = max(1, (64 << 20) // max(1, d.shape[1] * 4))
            for r in range(0, d.shape[0], step):
                h.update(np.ascontiguousarray(d[r : r + step], dtype=np.float32).tobytes())
        for df in (self.samples, self.snps, self.genes, self.covariates, self.variants):
            h.update(b"|" if df is None else df.to_csv(index=False).encode())
        for g in self.gene_names:
            h.update(g.encode() + np.asarray(self.gene_snps[g], dtype=np.int64).tobytes())
        h.update(b"|" if self.phenotype is None else np.asarray(self.phenotype, np.float64).tobytes())
        h.update(self.trait.encode())
        h.update(json.dumps(self.pathways, sort_keys=True).encode())
        h.update(json.dumps(self.truth, sort_keys=True, default=str).encode())
        return h.hexdigest()

    def summary(self) -> dict:
        n_pheno = None if self.phenotype is None else int(np.isfinite(self.phenotype).sum())
        out = {
            "n_samples": self.n_samples,
            "n_snps": self.n_snps,
            "n_genes": self.n_genes,
            "trait": self.trait,
            "n_with_phenotype": n_pheno,
            "n_covariates": 0 if self.covariates is None else int(self.covariates.shape[1]),
            "n_pathways": 0 if self.pathways is None else len(self.pathways),
            "has_variants": self.variants is not None,
            "has_truth": self.truth is not None,
        }
        if self.trait == "binary" and self.phenotype is not None:
            y = self.phenotype[np.isfinite(self.phenotype)]
            out["n_cases"] = int((y == 1).sum())
            out["n_controls"] = int((y == 0).sum())
        return out


def check_gene_blocks(
    blocks,
    n_snps: int,
    *,
    names=None,
    min_genes: int = 1,
    purpose: str = "",
    field: str = "gene_blocks",
    empty_error=ParameterError,
    range_error=ParameterError,
) -> list:
    """Gene blocks (one array of SNP column indices per gene) as int64 arrays, checked:
    at least ``min_genes`` genes (``purpose`` says what needs them), each with 1+ column
    indices in ``[0, n_snps)``. ``names`` label the genes in messages (else their
    position); ``field`` names the argument; the error types default to ParameterError."""
    out = [np.asarray(b, dtype=np.int64).ravel() for b in blocks]
    if len(out) < min_genes:
        raise ParameterError(f"{field}: {purpose or 'this'} needs at least {min_genes} genes, got {len(out)}")
    for k, b in enumerate(out):
        label = f"'{names[k]}'" if names is not None else str(k)
        if b.size == 0:
            raise empty_error(f"{field}: gene {label} has no SNP; drop the gene")
        if b.min() < 0 or b.max() >= n_snps:
            raise range_error(f"{field}: gene {label} has a column index out of range 0..{n_snps - 1}")
    return out


def validate(cohort: Cohort) -> Cohort:
    """Check ``cohort`` against the data spec; raise a typed error naming the fault."""
    if not isinstance(cohort, Cohort):
        raise TypeError(f"cohort: expected a gxapp Cohort, got {type(cohort).__name__}")
    g = cohort.genotypes
    if not isinstance(g, np.ndarray) or g.ndim != 2 or g.dtype != np.int8:
        raise InputFormatError(
            f"cohort.genotypes: expected a 2-D int8 array, got "
            f"{getattr(g, 'dtype', type(g).__name__)} with shape {getattr(g, 'shape', '?')}"
        )
    n, p = g.shape
    if n == 0:
        raise EmptyDataError("cohort: no samples are left")
    if p == 0:
        raise EmptyDataError("cohort: no SNPs are left")
    if g.min(initial=0) < -1 or g.max(initial=0) > 2:
        raise InputFormatError("cohort.genotypes: values must be 0, 1, 2 or -1 (missing)")
    d = cohort.dosages
    if d is not None:
        if d.shape != g.shape or d.dtype != np.float32:
            raise InputFormatError(f"cohort.dosages: expected float32 of shape {g.shape}, got {d.dtype} {d.shape}")
        if np.nanmin(d, initial=0) < 0 or np.nanmax(d, initial=0) > 2:
            raise InputFormatError("cohort.dosages: values must lie in [0, 2] (NaN for missing)")
    for col in ("fid", "iid"):
        if col not in cohort.samples.columns:
            raise InputFormatError(f"cohort.samples: missing column '{col}'")
    if len(cohort.samples) != n:
        raise InputFormatError(f"cohort.samples: {len(cohort.samples)} rows for {n} genotype rows")
    dup = cohort.samples["iid"][cohort.samples["iid"].duplicated()]
    if len(dup):
        raise DuplicateIdError(
            f"cohort.samples: {len(dup)} duplicated sample id(s), e.g. '{dup.iloc[0]}'; sample ids must be unique"
        )
    for col in SNP_COLUMNS:
        if col not in cohort.snps.columns:
            raise InputFormatError(f"cohort.snps: missing column '{col}'")
    if len(cohort.snps) != p:
        raise InputFormatError(f"cohort.snps: {len(cohort.snps)} rows for {p} genotype columns")
    dup = cohort.snps["snp"][cohort.snps["snp"].duplicated()]
    if len(dup):
        raise DuplicateIdError(
            f"cohort.snps: {len(dup)} duplicated SNP id(s), e.g. '{dup.iloc[0]}'; SNP ids must be unique"
        )
    for col in GENE_COLUMNS:
        if col not in cohort.genes.columns:
            raise InputFormatError(f"cohort.genes: missing column '{col}'")
    names = list(cohort.genes["gene"])
    if len(set(names)) != len(names):
        raise DuplicateIdError("cohort.genes: gene names must be unique")
    if len(names) == 0:
        raise EmptyDataError("cohort: no genes are left")
    if set(cohort.gene_snps) != set(names):
        raise InputFormatError("cohort.gene_snps: keys must be exactly the genes of cohort.genes")
    check_gene_blocks(
        [cohort.gene_snps[g] for g in names],
        p,
        names=names,
        field="cohort.gene_snps",
        empty_error=EmptyDataError,
        range_error=InputFormatError,
    )
    if cohort.trait not in TRAITS:
        raise InputFormatError(f"cohort.trait: expected one of {TRAITS}, got '{cohort.trait}'")
    if cohort.phenotype is not None:
        y = np.asarray(cohort.phenotype)
        if y.shape != (n,) or y.dtype != np.float64:
            raise InputFormatError(f"cohort.phenotype: expected float64 of shape ({n},), got {y.dtype} {y.shape}")
        if cohort.trait == "binary":
            ok = y[np.isfinite(y)]
            if not np.isin(ok, (0.0, 1.0)).all():
                raise InputFormatError("cohort.phenotype: a binary trait must be coded 0/1 (NaN = missing)")
    if cohort.covariates is not None:
        if len(cohort.covariates) != n:
            raise InputFormatError(f"cohort.covariates: {len(cohort.covariates)} rows for {n} samples")
    if cohort.variants is not None:
        for col in ("iid", "gene", "class", "count"):
            if col not in cohort.variants.columns:
                raise InputFormatError(f"cohort.variants: missing column '{col}'")
    return cohort

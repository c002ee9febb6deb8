"""Per-gene input features of the architecture comparison (paper B;
docs/method.md#gene-centric-encoding, #architecture-comparison).

``gene_features(cohort)`` gives the (N samples, G genes, C classes) tensor of RAW counts
the shared gene module reads:

* ``source="variants"`` - the gene-centric encoding: per sample and gene, how many variants
  of each functional class (``gxapp.data.io.variants.CLASSES``) hit the gene, from the cohort's
  annotated variant table.
* ``source="snps"`` - for cohorts without a variant table (SNP arrays, the quantitative
  demo): per sample and gene, the number of MINOR alleles carried in SNPs of each MAF bin
  (``MAF_BINS``: < 1 %, 1-5 %, 5-20 %, >= 20 %). Missing dosages count as their expected
  value ``2 * maf``.
* ``"auto"`` - variants when the cohort has a variant table, else SNPs.

Counts are NOT standardised here: standardisation is per fold on the fold's training rows
only (docs/method.md#gene-centric-encoding). :func:`class_stats` gives those per-class statistics with exactly the rule
of :func:`gxapp.data.io.variants.standardise_counts`; the trainer folds them into the first
layer of each fold's networks instead of copying the tensor once per fold.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from gxapp.data.cohort import Cohort, validate
from gxapp.data.io.variants import CLASSES, gene_centric_tensor, standardise_counts
from gxapp.errors import ParameterError
from gxapp.params import check_int

SOURCES = ("auto", "variants", "snps")
#: MAF bin edges of the SNP-based classes: [0, 0.01), [0.01, 0.05), [0.05, 0.2), [0.2, 0.5].
MAF_EDGES = (0.0, 0.01, 0.05, 0.20, 0.5000001)
MAF_BINS = ("maf<1%", "maf1-5%", "maf5-20%", "maf>=20%")

__all__ = [
    "gene_features",
    "gene_pcs",
    "snp_dosages",
    "binary_phenotype",
    "class_stats",
    "RowMoments",
    "standardise_counts",
    "SOURCES",
    "MAF_BINS",
]


def binary_phenotype(cohort: Cohort) -> np.ndarray:
    """The 0/1 phenotype as float64; raises ParameterError when the cohort is not case/control
    or has a single class. Missing values (NaN) are kept; callers drop those rows."""
    if cohort.phenotype is None:
        raise ParameterError(
            "phenotype: the cohort has no phenotype; the architecture comparison needs a case/control "
            "phenotype (load one, or simulate the 'casecontrol' scenario)"
        )
    if cohort.trait != "binary":
        raise ParameterError(
            f"phenotype: the architecture comparison (paper B) predicts a case/control status, but this "
            f"cohort's trait is '{cohort.trait}'; use a case/control cohort (trait 'binary', e.g. the "
            "'casecontrol' simulation)"
        )
    y = np.asarray(cohort.phenotype, dtype=np.float64)
    ok = y[np.isfinite(y)]
    n_case, n_ctrl = int((ok == 1).sum()), int((ok == 0).sum())
    if n_case == 0 or n_ctrl == 0:
        raise ParameterError(
            f"phenotype: {n_case} case(s) and {n_ctrl} control(s); a case/control comparison needs both classes"
        )
    return y


def _snp_features(cohort: Cohort) -> np.ndarray:
    """(N, G, 4) minor-allele counts per MAF bin."""
    geno = cohort.genotypes
    n = geno.shape[0]
    f = cohort.allele_freq()
    f = np.where(np.isfinite(f), f, 0.0)
    maf = np.minimum(f, 1.0 - f)
    flip = f > 0.5  # a1 is the major allele: minor count = 2 - dosage
    bins = np.clip(np.searchsorted(MAF_EDGES, maf, side="right") - 1, 0, len(MAF_BINS) - 1)
    out = np.zeros((n, cohort.n_genes, len(MAF_BINS)), dtype=np.float32)
    for gi, gname in enumerate(cohort.gene_names):
        cols = np.asarray(cohort.gene_snps[gname], dtype=np.int64)
        d = geno[:, cols].astype(np.float32)
        miss = d < 0
        d = np.where(flip[cols], 2.0 - d, d)
        if miss.any():
            d = np.where(miss, (2.0 * maf[cols]).astype(np.float32), d)
        b = bins[cols]
        for k in np.unique(b):
            out[:, gi, k] = d[:, b == k].sum(axis=1)
    return out


def gene_features(cohort: Cohort, source: str = "auto", classes: Optional[tuple] = None, pcs: int = 0):
    """``(tensor float32 (N, G, C), genes list, classes list)`` of raw per-gene counts.

    ``source``: "auto" | "variants" | "snps" (see the module doc). ``classes`` restricts the
    variant classes (default: all of ``CLASSES``). ``pcs``: with the SNP summary, each gene's first
    ``pcs`` principal-component scores are added as classes "PC1"... (:func:`gene_pcs`; the
    annotated-variant encoding is paper B's and is left as it is). Also checks that the phenotype
    is a case/control status with both classes (ParameterError otherwise).
    """
    validate(cohort)
    if source not in SOURCES:
        raise ParameterError(f"source: expected one of {SOURCES}, got {source!r}")
    binary_phenotype(cohort)
    genes = [str(g) for g in cohort.gene_names]
    if source == "auto":
        source = "variants" if cohort.variants is not None else "snps"
    if source == "variants":
        if cohort.variants is None:
            raise ParameterError(
                "source: 'variants' needs an annotated variant table (sample, gene, class[, count]); this cohort has "
                "none - load one, or use source='snps' for per-gene MAF-bin counts"
            )
        cls = list(CLASSES if classes is None else classes)
        tensor = gene_centric_tensor(cohort.variants, list(cohort.samples["iid"]), genes, cls, dtype=np.float32)
        return tensor, genes, cls
    pcs = check_int("gene_pcs", pcs, 0)
    if not pcs:
        return _snp_features(cohort), genes, list(MAF_BINS)
    tensor = np.concatenate([_snp_features(cohort), gene_pcs(cohort, pcs)], axis=2)
    return tensor, genes, list(MAF_BINS) + [f"PC{i + 1}" for i in range(pcs)]


def _in_gene_columns(cohort: Cohort) -> np.ndarray:
    """Genotype columns of the SNPs inside genes, each once, in genotype order; ParameterError when
    there are none (an annotated variant table only)."""
    cols = sorted({int(c) for g in cohort.gene_names for c in np.asarray(cohort.gene_snps[g]).ravel()})
    if not cols:
        raise ParameterError(
            "models: the SNP-dosage baselines (l2-snps, l1-snps) need genotyped SNPs inside genes; this cohort has "
            "none (an annotated variant table only) - use the per-gene baselines l2 / l1"
        )
    return np.asarray(cols, dtype=np.int64)


def _dosages(cohort: Cohort, idx: np.ndarray) -> np.ndarray:
    """float32 (N, len(idx)) dosages of these columns: imputed ones when the cohort has them, else
    hard calls; a missing value is the SNP's mean over the called samples."""
    if cohort.dosages is not None:
        d = np.asarray(cohort.dosages[:, idx], dtype=np.float32)
        miss = ~np.isfinite(d)
    else:
        g = cohort.genotypes[:, idx]
        miss = g < 0
        d = g.astype(np.float32)
    if miss.any():
        d[miss] = 0.0
        called = np.maximum((~miss).sum(axis=0), 1)
        mean = (d.sum(axis=0) / called).astype(np.float32)
        d = np.where(miss, mean, d)
    return np.ascontiguousarray(d)


def snp_dosages(cohort: Cohort) -> tuple:
    """``(dosages float32 (N, P), snp_ids list)``: the dosage of every SNP that sits in a gene
    (each once, in genotype order), for the dosage-level baselines ("l2-snps" / "l1-snps"; paper
    B's additive models on the individual variants). Imputed dosages when the cohort has them
    (BGEN), else hard calls; a missing value is the SNP's mean over the called samples."""
    validate(cohort)
    idx = _in_gene_columns(cohort)
    ids = cohort.snps["snp"].astype(str).to_numpy()[idx].tolist()
    return _dosages(cohort, idx), ids


def gene_pcs(cohort: Cohort, k: int) -> np.ndarray:
    """(N, G, k) float32: each gene's first ``k`` principal-component scores of its SNP dosages
    (every SNP standardised over all samples, missing calls at the SNP's mean; a gene with fewer
    than k varying SNPs gets zeros for the rest). No phenotype is used, so computing them on every
    sample leaks nothing into a CV split (docs/method.md#gene-centric-encoding). Signs are fixed:
    each component's largest loading is positive. They keep what the MAF-bin sums dilute: a strong
    single SNP, and LD-tagged signal. One gene's dosages at a time (never every SNP at once)."""
    k = check_int("gene_pcs", k, 1)
    validate(cohort)
    _in_gene_columns(cohort)
    out = np.zeros((cohort.n_samples, cohort.n_genes, k), dtype=np.float32)
    for gi, g in enumerate(cohort.gene_names):
        x = _dosages(cohort, np.asarray(cohort.gene_snps[g], dtype=np.int64).ravel()).astype(np.float64)
        sd = x.std(axis=0)
        x = x[:, sd > 0]
        if x.shape[1] == 0:
            continue
        x = (x - x.mean(axis=0)) / sd[sd > 0]
        u, sv, vt = np.linalg.svd(x, full_matrices=False)
        kk = min(k, int((sv > 1e-8 * max(sv[0], 1.0)).sum()))
        sign = np.sign(vt[np.arange(kk), np.abs(vt[:kk]).argmax(axis=1)])
        out[:, gi, :kk] = (u[:, :kk] * sv[:kk] * sign).astype(np.float32)
    return out


class RowMoments:
    """Per-row sums of the counts and of their squares over genes, float64 (N, C), so the
    per-class statistics of any set of rows cost O(rows x C) (one per fold)."""

    def __init__(self, tensor: np.ndarray, chunk_rows: int = 256):
        x = np.asarray(tensor)
        if x.ndim != 3:
            raise ParameterError(f"tensor: expected (samples, genes, classes), got shape {x.shape}")
        self.n_genes = x.shape[1]
        self.s1 = np.zeros((x.shape[0], x.shape[2]))
        self.s2 = np.zeros((x.shape[0], x.shape[2]))
        for s in range(0, x.shape[0], chunk_rows):
            blk = x[s : s + chunk_rows].astype(np.float64)
            self.s1[s : s + chunk_rows] = blk.sum(axis=1)
            self.s2[s : s + chunk_rows] = np.square(blk).sum(axis=1)

    def stats(self, rows) -> tuple:
        """``(mean, scale)`` (C,) over the (sample, gene) cells of ``rows``, with the rule of
        :func:`gxapp.data.io.variants.standardise_counts`."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size == 0:
            raise ParameterError("rows: standardisation needs at least one training sample")
        n = rows.size * self.n_genes
        mean = self.s1[rows].sum(axis=0) / n
        var = np.maximum(self.s2[rows].sum(axis=0) / n - mean**2, 0.0)
        sd = np.sqrt(var)
        scale = np.where(sd > 1e-12 * np.maximum(np.abs(mean), 1.0), sd, 1.0)
        return mean, scale


def class_stats(tensor: np.ndarray, rows) -> tuple:
    """``(mean, scale)`` float64 (C,) over all (sample, gene) cells of ``rows``: the statistics
    of :func:`gxapp.data.io.variants.standardise_counts` (population sd; a class without variance
    in those rows gets scale 1, i.e. is only centred)."""
    return RowMoments(np.asarray(tensor)[np.asarray(rows, dtype=np.int64)]).stats(np.arange(len(np.asarray(rows))))

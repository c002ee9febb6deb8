"""Population structure: genotype principal components (docs/method.md#population-structure).

Paper A regresses the first 10 genotypic PCs out of the phenotype with the covariates, so that the
networks cannot learn ancestry in place of interaction. gxapp computes them as EIGENSOFT / PLINK do:
variants with MAF ≥ ``maf`` (0.05), LD-pruned with PLINK's ``--indep-pairwise 50 5 0.2`` rule
(:func:`gxapp.data.prune.keep_r2`, per chromosome), each standardised by ``sqrt(2p(1-p))``; then a
randomised SVD (Halko, Martinsson & Tropp's range finder with power iterations, in column blocks) of the
individuals × variants
matrix. The PCs come either from the loaded genes' SNPs or — better, because a handful of candidate
genes carries little ancestry information and their own main effects then load on the PCs — from a
separate genome-wide PLINK set (:func:`pcs_from_plink`), read in blocks of variants, never whole.

The PC scores stored with a cohort are the left singular vectors scaled to unit variance
(``PC1``, ``PC2``, …), with each PC's share of the total standardised variance (for a scree plot).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.ld import LD_ROWS
from gxapp.data.prune import allele_freq, keep_r2, minor_allele_freq
from gxapp.errors import DuplicateIdError, EmptyDataError, SampleMismatchError
from gxapp.params import Integral, Interval, Params, Real
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

PC_NAME = "PC{}"
MAX_VARIANTS = 50_000
MAX_BYTES = 2 << 30  # int8 genotypes held for a genome-wide PCA: 50,000 variants up to ~43,000 people
_BLOCK = 4096


@dataclass
class PCAParams(Params):
    """Genotype PCs: ``k`` components (0: none) from variants with MAF ≥ ``maf``, LD-pruned by
    ``--indep-pairwise window step r2``, at most ``max_variants`` of them."""

    k: int = 10
    maf: float = 0.05
    r2: float = 0.2
    window: int = 50
    step: int = 5
    max_variants: int = MAX_VARIANTS
    max_bytes: int = MAX_BYTES
    seed: int = 0

    _parameter_constraints = {
        "k": [Interval(Integral, 0, None)],
        "maf": [Interval(Real, 0, 0.5)],
        "r2": [Interval(Real, 0, 1, closed="right")],
        "window": [Interval(Integral, 2, None)],
        "step": [Interval(Integral, 1, None)],
        "max_variants": [Interval(Integral, 2, None)],
        "max_bytes": [Interval(Integral, 1, None)],
        "seed": [Interval(Integral, 0, None)],
    }


@dataclass
class PCAResult:
    """PC scores (N, k) of the cohort's individuals (unit variance), each PC's share of the total
    standardised genotype variance, and what they were computed from."""

    scores: np.ndarray
    explained: np.ndarray
    n_variants: int
    source: str
    notes: list = field(default_factory=list)

    @property
    def k(self) -> int:
        return int(self.scores.shape[1])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.scores, columns=[PC_NAME.format(i + 1) for i in range(self.k)])

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "explained": [float(v) for v in self.explained],
            "n_variants": int(self.n_variants),
            "source": self.source,
            "notes": list(self.notes),
        }


class StandardisedGenotypes:
    """The EIGENSOFT-standardised matrix ``Z`` of ``genotypes[:, cols]`` as an operator: column ``j`` is
    ``(x_j - 2 p_j) / sqrt(2 p_j (1 - p_j))``, missing values 0. ``Z @ M`` and ``Z.T @ M`` are computed
    in blocks of columns straight from the int8 genotypes (or dosages), so ``Z`` is never held in
    memory: at 400,000 individuals a float copy of even 2,000 variants would be 3 GB."""

    def __init__(self, genotypes: np.ndarray, cols=None, block_bytes: int = 64 << 20):
        cols = np.arange(genotypes.shape[1]) if cols is None else np.asarray(cols, dtype=np.int64)
        n = genotypes.shape[0]
        self.block = int(max(8, block_bytes // max(1, 8 * n)))  # float temporaries of one block ≈ block_bytes
        if genotypes.flags.f_contiguous:  # variant-major (the loader's layout): gather each block on the fly
            self.g, self.cols = genotypes, cols
        else:  # row-major: copy the chosen columns once, variant-major (int8, ≤ PCAParams.max_bytes)
            self.g = np.empty((n, cols.size), dtype=genotypes.dtype, order="F")
            for s in range(0, cols.size, self.block):
                self.g[:, s : s + self.block] = genotypes[:, cols[s : s + self.block]]
            self.cols = np.arange(cols.size)
        self.p = allele_freq(self.g, None, self.cols, self.block)
        self.sd = np.sqrt(np.maximum(2 * self.p * (1 - self.p), 1e-12))

    @property
    def shape(self) -> tuple:
        return (self.g.shape[0], self.cols.size)

    def _raw_blocks(self):
        contiguous = self.cols.size == self.g.shape[1] and (self.cols == np.arange(self.cols.size)).all()
        for s in range(0, self.cols.size, self.block):
            yield s, (self.g[:, s : s + self.block] if contiguous else self.g[:, self.cols[s : s + self.block]])

    def blocks(self):
        """``(start, Z[:, start:start + block] float32)``."""
        for s, b in self._raw_blocks():
            x = b.astype(np.float32)
            miss = (b < 0) if np.issubdtype(b.dtype, np.integer) else ~np.isfinite(x)
            sl = slice(s, s + b.shape[1])
            x -= (2 * self.p[sl]).astype(np.float32)
            x /= self.sd[sl].astype(np.float32)
            x[miss] = 0.0
            yield s, x

    def matmul(self, m: np.ndarray) -> np.ndarray:
        out = np.zeros((self.shape[0], m.shape[1]), dtype=np.float64)
        for s, z in self.blocks():
            out += z @ m[s : s + z.shape[1]].astype(np.float32)
        return out

    def rmatmul(self, m: np.ndarray) -> np.ndarray:
        out = np.empty((self.shape[1], m.shape[1]), dtype=np.float64)
        m32 = m.astype(np.float32)
        for s, z in self.blocks():
            out[s : s + z.shape[1]] = z.T @ m32
        return out

    def total(self) -> float:
        return float(sum(np.square(z, dtype=np.float64).sum() for _, z in self.blocks()))


def randomized_pcs(op: StandardisedGenotypes, k: int, seed: int = 0, n_iter: int = 4, oversample: int = 10):
    """``(scores (N, k) unit variance, share of total variance (k,))``: the top ``k`` left singular vectors
    of ``op`` by the randomised range finder with power iterations (Halko, Martinsson & Tropp 2011,
    Alg. 4.4), every product in column blocks; ``k`` is capped at ``min(N, V) - 1``."""
    n, v = op.shape
    k = int(min(k, n - 1, v - 1))
    if k < 1:
        return np.zeros((n, 0)), np.zeros(0)
    ell = min(k + oversample, n, v)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(op.matmul(rng.standard_normal((v, ell))))
    for _ in range(n_iter):
        w, _ = np.linalg.qr(op.rmatmul(q))
        q, _ = np.linalg.qr(op.matmul(w))
    ub, s, _ = np.linalg.svd(op.rmatmul(q).T, full_matrices=False)
    u = q @ ub[:, :k]
    u *= np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(k)])  # deterministic signs
    return u * np.sqrt(n), s[:k] ** 2 / max(op.total(), 1e-300)


def top_pcs(z: np.ndarray, k: int, seed: int = 0) -> tuple:
    """:func:`randomized_pcs` of an already standardised float matrix (tests, small inputs)."""
    op = _Dense(np.asarray(z, dtype=np.float32))
    return randomized_pcs(op, k, seed)


class _Dense(StandardisedGenotypes):
    def __init__(self, z):
        self.g, self.cols, self.block = z, np.arange(z.shape[1]), 512

    def blocks(self):
        for s in range(0, self.cols.size, self.block):
            yield s, self.g[:, s : s + self.block]


def standardise_variants(genotypes: np.ndarray, maf: float = 0.05) -> tuple:
    """``(Z float32, kept columns)``: the columns with MAF ≥ ``maf``, EIGENSOFT-standardised (small
    inputs only; large ones go through :class:`StandardisedGenotypes`)."""
    cols = np.flatnonzero(minor_allele_freq(genotypes) >= max(maf, 1e-12) - 1e-12)
    op = StandardisedGenotypes(np.asarray(genotypes), cols)
    z = np.concatenate([b for _, b in op.blocks()], axis=1) if cols.size else np.zeros((len(genotypes), 0))
    return z, cols


def _select_by_chrom(genotypes, cols, chrom_of_col, params: PCAParams) -> np.ndarray:
    cols = np.asarray(cols, dtype=np.int64)
    cols = cols[minor_allele_freq(genotypes, LD_ROWS, cols) >= max(params.maf, 1e-12) - 1e-12]
    if cols.size == 0 or params.r2 >= 1:
        return cols
    chrom = np.asarray(chrom_of_col)[cols]
    out = []
    for c in pd.unique(chrom):
        part = cols[chrom == c]
        out.append(part[keep_r2(genotypes, params.r2, params.window, params.step, LD_ROWS, part)])
    return np.concatenate(out)


def cohort_pcs(
    cohort: Cohort,
    params: Optional[PCAParams] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PCAResult:
    """PCs from the cohort's own SNPs (positions sorted within chromosomes)."""
    validate(cohort)
    params = (params if params is not None else PCAParams()).validate()
    report(progress, 0.0, "population structure: choosing variants")
    values = cohort.dosages if cohort.dosages is not None else cohort.genotypes
    chrom = cohort.snps["chrom"].astype(str).to_numpy()
    order = np.lexsort((cohort.snps["pos"].to_numpy(), chrom))
    check_cancel(cancel)
    cols = _select_by_chrom(values, order, chrom, params)
    cap = _max_variants(params, cohort.n_samples, 1 if values.flags.f_contiguous else values.itemsize)
    if cols.size > cap:
        cols = cols[np.linspace(0, cols.size - 1, cap).round().astype(np.int64)]
    notes = [
        f"from the {cols.size:,} loaded SNPs with MAF ≥ {params.maf:g} left after r² ≤ {params.r2:g} pruning; "
        "PCs of a genome-wide PLINK set of the same people (Files → LD pruning and population structure; "
        "CLI --pca-bfile) separate ancestry from these genes' own effects better"
    ]
    if cols.size < 2 or cohort.n_samples < 3:
        notes = [
            f"no PCs: {cols.size} loaded SNP(s) with MAF ≥ {params.maf:g} and {cohort.n_samples} individuals are "
            "too few; point at a genome-wide PLINK set of the same people (CLI --pca-bfile)"
        ]
        return PCAResult(np.zeros((cohort.n_samples, 0)), np.zeros(0), int(cols.size), "loaded genes", notes)
    report(progress, 0.5, f"population structure: randomised PCA of {cols.size:,} variants")
    return _finish(StandardisedGenotypes(values, cols), "loaded genes", params, notes, progress)


def _max_variants(params: PCAParams, n: int, itemsize: int = 1) -> int:
    """At most ``max_variants``, and at most ``max_bytes`` of genotypes (``itemsize`` bytes each: 1 for
    hard calls, 4 for dosages) held for the PCA."""
    return int(max(2, min(params.max_variants, params.max_bytes // max(n * itemsize, 1))))


def _finish(op, source, params, notes, progress) -> PCAResult:
    n_variants = op.shape[1]
    if n_variants < 2:
        raise EmptyDataError(
            f"population structure: only {n_variants} variant(s) with MAF ≥ {params.maf:g} to compute PCs from; "
            "point at a genome-wide PLINK set (CLI --pca-bfile) or set the number of PCs to 0"
        )
    scores, explained = randomized_pcs(op, params.k, params.seed)
    if scores.shape[1] < params.k:
        notes.append(
            f"{scores.shape[1]} PCs, not {params.k}: limited by {op.shape[0]} individuals × {n_variants} variants"
        )
    report(progress, 1.0, f"population structure: {scores.shape[1]} PCs")
    return PCAResult(scores=scores, explained=explained, n_variants=int(n_variants), source=source, notes=notes)


def match_samples(cohort_iids, fam: pd.DataFrame, what: str) -> np.ndarray:
    """Rows of ``fam`` (columns fid, iid) for each cohort IID; every cohort sample must be there, once."""
    iids = fam["iid"].astype(str)
    dup = iids[iids.duplicated()]
    if len(dup):
        raise DuplicateIdError(
            f"{what}: IID '{dup.iloc[0]}' appears {int((iids == dup.iloc[0]).sum())} times ({len(dup)} repeated "
            "IIDs in all); the PCs are matched to the cohort by IID, so each must be unique"
        )
    pos = pd.Index(iids).get_indexer(pd.Index(cohort_iids).astype(str))
    missing = np.flatnonzero(pos < 0)
    if missing.size:
        ex = ", ".join(f"'{cohort_iids[i]}'" for i in missing[:3])
        raise SampleMismatchError(
            f"{what}: {missing.size} of the cohort's {len(cohort_iids)} samples are not in it (e.g. {ex}); "
            "the PCs must cover every analysed individual (same IIDs as the genotype file)"
        )
    return pos


def pcs_from_plink(
    prefix: str,
    cohort: Cohort,
    params: Optional[PCAParams] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> PCAResult:
    """PCs from a genome-wide PLINK 1 set (``prefix``.bed/.bim/.fam), for the cohort's samples.

    Reads at most ~3 × the variants it may keep (``max_variants``, and ``max_bytes`` of int8), evenly
    spaced, in blocks of 4,096, keeping those that pass the MAF filter and LD pruning (thinned evenly
    when more pass); peak memory ≈ N × (kept + 4,096) bytes.
    """
    from gxapp.data.io import plink

    validate(cohort)
    params = (params if params is not None else PCAParams()).validate()
    fam, bim = plink.check_plink(prefix)
    rows = match_samples(cohort.samples["iid"].astype(str).to_numpy(), fam, f"{prefix}.fam")
    cap = _max_variants(params, len(rows))
    order = np.lexsort((bim["pos"].to_numpy(), bim["chrom"].astype(str).to_numpy()))
    if order.size > 3 * cap:
        order = order[np.linspace(0, order.size - 1, 3 * cap).round().astype(np.int64)]
    chrom = bim["chrom"].astype(str).to_numpy()
    # kept variants go into one buffer of ``cap`` columns; when it is full, every other column is kept and
    # from then on every other kept variant is taken (an even thinning): memory ≈ N × cap bytes + one block
    buf = np.empty((len(rows), cap), dtype=np.int8, order="F")
    filled, stride, seen = 0, 1, 0
    for start in range(0, order.size, _BLOCK):
        check_cancel(cancel)
        report(
            progress,
            0.8 * start / max(1, order.size),
            f"population structure: reading variants {start + 1:,}–{min(start + _BLOCK, order.size):,} "
            f"of {order.size:,}",
        )
        cols = order[start : start + _BLOCK]
        block = plink.read_bed_block(prefix, rows, cols, fam=fam, bim=bim)
        keep = _select_by_chrom(block, np.arange(cols.size), chrom[cols], params)
        idx = keep[(seen + np.arange(keep.size)) % stride == 0]
        seen += keep.size
        while idx.size:
            if filled == cap:
                for i, c in enumerate(range(0, cap, 2)):  # in place: column c moves to i <= c
                    buf[:, i] = buf[:, c]
                filled, stride, idx = (cap + 1) // 2, stride * 2, idx[::2]
                continue
            n_take = min(cap - filled, idx.size)
            buf[:, filled : filled + n_take] = block[:, idx[:n_take]]
            filled, idx = filled + n_take, idx[n_take:]
        del block
    if not filled:
        raise EmptyDataError(f"{prefix}: no variant with MAF ≥ {params.maf:g} to compute PCs from")
    block = buf[:, :filled]
    notes = [f"from {block.shape[1]:,} of {len(bim):,} variants of {prefix} (MAF ≥ {params.maf:g}, r² ≤ {params.r2:g})"]
    report(progress, 0.85, f"population structure: randomised PCA of {block.shape[1]:,} variants")
    return _finish(StandardisedGenotypes(block), f"{prefix} (genome-wide)", params, notes, progress)


def add_pcs(cohort: Cohort, pca: PCAResult) -> Cohort:
    """The cohort with ``PC1..PCk`` appended to its covariates and ``meta['pca']`` set."""
    frame = pca.frame()
    cov = frame if cohort.covariates is None else pd.concat([cohort.covariates.reset_index(drop=True), frame], axis=1)
    meta = {**cohort.meta, "pca": pca.to_dict()}
    return validate(replace(cohort, covariates=cov.astype(np.float64), meta=meta))


def existing_pc_columns(cohort: Cohort) -> list:
    """Covariate columns that already look like PCs (``PC1``, ``pc2``…)."""
    if cohort.covariates is None:
        return []
    return [c for c in map(str, cohort.covariates.columns) if c.upper().startswith("PC") and c[2:].isdigit()]


def population_structure(
    cohort: Cohort,
    params: Optional[PCAParams] = None,
    pca_bfile: Optional[str] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
) -> Cohort:
    """The cohort with its genotype PCs among the covariates (``params.k`` of them, from ``pca_bfile``
    when given, else from the loaded SNPs); ``meta['pca']`` says what was done. With ``k = 0``, or when
    the covariates already hold PC columns (then those are used), nothing is computed."""
    params = (params if params is not None else PCAParams()).validate()
    have = existing_pc_columns(cohort)
    if params.k == 0:
        return _with_meta(cohort, {"k": 0, "notes": ["no genotype PCs (number of PCs set to 0)"]})
    if have:
        return _with_meta(
            cohort,
            {"k": 0, "notes": [f"the covariates already hold PCs ({', '.join(have[:3])}…): used as given"]},
        )
    if pca_bfile:
        res = pcs_from_plink(pca_bfile, cohort, params, progress, cancel)
    else:
        res = cohort_pcs(cohort, params, progress, cancel)
    if res.k == 0:
        return _with_meta(cohort, res.to_dict())
    return add_pcs(cohort, res)


def _with_meta(cohort: Cohort, info: dict) -> Cohort:
    cohort.meta = {**cohort.meta, "pca": info}
    return cohort


def describe_pca(info: Optional[dict]) -> str:
    """One sentence for a stored ``meta['pca']``."""
    if not info:
        return ""
    if not info.get("k"):
        return "; ".join(info.get("notes", [])) or "no genotype PCs"
    ex = info.get("explained", [])
    return (
        f"{info['k']} genotype PCs regressed out with the covariates (PC1 {ex[0]:.1%} of the variance, "
        f"PC1–{info['k']} {sum(ex):.1%}); {'; '.join(info.get('notes', []))}"
    )

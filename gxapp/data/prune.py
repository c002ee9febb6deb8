"""LD pruning of the SNPs in each gene (docs/method.md#ld-pruning).

Two rules, both per gene (a SNP is kept when every gene it sits in keeps it):

- ``"variance"`` (paper A, Methods: "prune SNPs to keep 90 % of total variance according to the LD
  score"): within a gene, repeatedly keep the SNP with the largest LD score computed on what the kept
  SNPs do not yet explain (the first pick is the SNP with the largest plain LD score), until the kept
  SNPs explain ``variance`` of the gene's total standardised genotype variance (the fraction of
  ``Σ_j var(x_j)`` that least squares on the kept SNPs recovers). Greedy pivoted Cholesky of the
  gene's correlation matrix: each pick is the best next SNP, so few SNPs are kept where LD is strong.
- ``"r2"`` (PLINK ``--indep-pairwise W S R2``): a window of ``W`` SNPs slides along the gene ``S`` SNPs at
  a time; while a pair in the window has r² above ``R2`` the SNP of the pair with the lower MAF is
  removed (the later one on a tie).

r² and correlations come from at most ``ld_rows`` individuals (evenly spaced rows; 20,000 by default:
the standard error of an r² is then below 0.01, and pruning a 400,000-person cohort costs the same as
a 20,000-person one). Array-level functions work on one genotype block; :func:`prune_cohort` applies
them gene by gene and returns the per-gene report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.ld import LD_ROWS, TOL, ld_subset, standardised, take_block
from gxapp.errors import ParameterError
from gxapp.params import Integral, Interval, Options, Params, Real
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

METHODS = ("none", "variance", "r2")


@dataclass
class PruneParams(Params):
    """How each gene's SNPs are pruned (``method`` "none", "variance" or "r2")."""

    method: str = "none"
    variance: float = 0.9
    r2: float = 0.2
    window: int = 50
    step: int = 5
    ld_rows: Optional[int] = LD_ROWS

    _parameter_constraints = {
        "method": [Options(METHODS)],
        "variance": [Interval(Real, 0, 1, closed="right")],
        "r2": [Interval(Real, 0, 1, closed="neither")],
        "window": [Interval(Integral, 2, None)],
        "step": [Interval(Integral, 1, None)],
        "ld_rows": [None, Interval(Integral, 2, None)],
    }

    def _check(self) -> None:
        if self.step > self.window:
            raise ParameterError(
                f"step: expected at most window ({self.window}), got {self.step} (SNPs between windows would "
                "never be compared)"
            )

    def describe(self) -> str:
        if self.method == "variance":
            return f"keep {self.variance:.0%} of each gene's variance"
        if self.method == "r2":
            return f"r² ≤ {self.r2:g} in windows of {self.window} SNPs (step {self.step})"
        return "no LD pruning"


def keep_variance(
    genotypes: np.ndarray, fraction: float = 0.9, rows: Optional[int] = LD_ROWS, return_share: bool = False
):
    """Sorted column indices of the SNPs kept by the variance rule (module docstring) for one gene;
    with ``return_share``, also the share of the gene's variance they explain."""
    z = standardised(genotypes, rows)
    p = z.shape[1]
    c = z.T @ z  # correlation matrix (zero rows/columns for constant SNPs)
    total = float(np.trace(c))
    if p == 0 or total <= 0:
        return (np.arange(min(p, 1)), 1.0) if return_share else np.arange(min(p, 1))
    kept, explained = [], 0.0
    while explained < fraction * total * (1 - 1e-9) and len(kept) < p:
        d = np.diag(c).copy()
        ok = d > TOL * total
        if not ok.any():
            break
        score = np.where(ok, (c * c).sum(axis=0) / np.where(ok, d, 1.0), -1.0)
        k = int(np.argmax(score))
        kept.append(k)
        explained += float(score[k])
        ck = c[:, k].copy()
        c -= np.outer(ck, ck) / d[k]
    out = np.sort(np.asarray(kept, dtype=np.int64))
    return (out, min(1.0, explained / total)) if return_share else out


_BAND_BLOCK = 256


def r2_band(genotypes: np.ndarray, window: int, rows: Optional[int] = LD_ROWS, cols=None) -> np.ndarray:
    """``band[j, d]`` = r² between columns ``j`` and ``j + d`` (0 < d < window; 0 elsewhere) of
    ``genotypes[:, cols]``, computed in blocks of columns (memory: ``rows`` × (256 + window) floats)."""
    g = np.asarray(genotypes)
    cols = np.arange(g.shape[1]) if cols is None else np.asarray(cols, dtype=np.int64)
    sub = ld_subset(g.shape[0], rows)
    p = cols.size
    band = np.zeros((p, window), dtype=np.float64)
    offs = np.arange(window)[None, :]
    for s in range(0, p, _BAND_BLOCK):
        e, e2 = min(s + _BAND_BLOCK, p), min(s + _BAND_BLOCK + window - 1, p)
        z = standardised(take_block(g, sub, cols[s:e2]), None)
        r = z[:, : e - s].T @ z
        i = np.arange(e - s)[:, None]
        j = i + offs
        ok = (j < e2 - s) & (offs > 0)
        band[s:e][ok] = np.square(r[np.broadcast_to(i, j.shape)[ok], j[ok]])
    return band


def allele_freq(genotypes: np.ndarray, rows: Optional[int] = None, cols=None, block: int = 1024) -> np.ndarray:
    """Frequency of allele ``a1`` in ``genotypes[:, cols]`` over called values (int8 with -1 missing, or
    dosages with NaN), in column blocks (no float copy of the whole matrix)."""
    g = np.asarray(genotypes)
    cols = np.arange(g.shape[1]) if cols is None else np.asarray(cols, dtype=np.int64)
    sub = ld_subset(g.shape[0], rows)
    out = np.zeros(cols.size)
    for s in range(0, cols.size, block):
        b = take_block(g, sub, cols[s : s + block])
        integer = np.issubdtype(b.dtype, np.integer)
        called = b >= 0 if integer else np.isfinite(b)
        total = np.where(called, b, 0).sum(axis=0, dtype=np.int64 if integer else np.float64)
        out[s : s + block] = total / np.maximum(2 * called.sum(axis=0), 1)
    return out


def minor_allele_freq(genotypes: np.ndarray, rows: Optional[int] = None, cols=None, block: int = 1024) -> np.ndarray:
    """MAF of ``genotypes[:, cols]`` (see :func:`allele_freq`)."""
    f = allele_freq(genotypes, rows, cols, block)
    return np.minimum(f, 1 - f)


def keep_r2(
    genotypes: np.ndarray,
    r2: float = 0.2,
    window: int = 50,
    step: int = 5,
    rows: Optional[int] = LD_ROWS,
    cols=None,
) -> np.ndarray:
    """Positions (into ``cols``, default every column; columns in position order) kept by PLINK-style
    ``--indep-pairwise window step r2``."""
    band = r2_band(genotypes, window, rows, cols)
    maf = minor_allele_freq(genotypes, rows, cols)
    p = band.shape[0]
    keep = np.ones(p, dtype=bool)
    start = 0
    while start < p:
        idx = np.arange(start, min(start + window, p))
        idx = idx[keep[idx]]
        if idx.size > 1:
            d = idx[None, :] - idx[:, None]
            r = np.where(d > 0, band[idx[:, None], np.clip(d, 0, window - 1)], 0.0)
            hi = np.argwhere(r > r2)
            alive = np.ones(idx.size, dtype=bool)
            for a, b in hi:  # row-major: pairs in window order
                if alive[a] and alive[b]:
                    drop = a if maf[idx[a]] < maf[idx[b]] else b
                    alive[drop] = False
            keep[idx[~alive]] = False
        if start + window >= p:
            break
        start += step
    return np.flatnonzero(keep)


@dataclass
class PruneReport:
    """What pruning kept, per gene (``table``: gene, snps_before, snps_kept, variance_kept)."""

    params: dict = field(default_factory=dict)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_snps_before: int = 0  # distinct SNPs (a SNP in two genes counts once)
    n_snps_kept: int = 0

    @property
    def before(self) -> int:
        return int(self.table["snps_before"].sum()) if len(self.table) else 0

    @property
    def kept(self) -> int:
        return int(self.table["snps_kept"].sum()) if len(self.table) else 0

    def to_dict(self) -> dict:
        return {
            "params": dict(self.params),
            "n_snps_before": int(self.n_snps_before),
            "n_snps_kept": int(self.n_snps_kept),
            "genes": self.table.to_dict(orient="records"),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "PruneReport":
        return cls(
            params=dict(d.get("params", {})),
            table=pd.DataFrame(d.get("genes", [])),
            n_snps_before=int(d.get("n_snps_before", 0)),
            n_snps_kept=int(d.get("n_snps_kept", 0)),
        )


def variance_explained(genotypes: np.ndarray, kept: np.ndarray, rows: Optional[int] = LD_ROWS) -> float:
    """Fraction of a gene's total standardised variance that least squares on the ``kept`` columns
    recovers."""
    z = standardised(genotypes, rows)
    total = float((z * z).sum())
    if total <= 0 or len(kept) == 0:
        return 1.0 if total <= 0 else 0.0
    beta, *_ = np.linalg.lstsq(z[:, kept], z, rcond=None)
    resid = z - z[:, kept] @ beta
    return float(1.0 - (resid * resid).sum() / total)


def prune_cohort(
    cohort: Cohort,
    params: Optional[PruneParams] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
    in_place: bool = False,
) -> tuple:
    """Prune every gene's SNPs (``params.method``); returns ``(cohort, PruneReport)``. The report is
    also stored in ``meta['prune']``. Every gene keeps at least one SNP; a SNP in two genes is kept
    when either gene keeps it."""
    validate(cohort)
    params = (params if params is not None else PruneParams()).validate()
    if params.method == "none":
        return cohort, PruneReport(params=params.to_dict(), table=pd.DataFrame())
    values = cohort.dosages if cohort.dosages is not None else cohort.genotypes
    order = np.lexsort((cohort.snps["pos"].to_numpy(), cohort.snps["chrom"].astype(str).to_numpy()))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    keep = np.zeros(cohort.n_snps, dtype=bool)
    rows, chosen = [], {}
    names = cohort.gene_names
    for i, gene in enumerate(names):
        check_cancel(cancel)
        report(progress, i / max(1, len(names)), f"LD pruning: gene {i + 1} of {len(names)} ({gene})")
        cols = np.asarray(cohort.gene_snps[gene], dtype=np.int64)
        cols = cols[np.argsort(rank[cols], kind="stable")]
        block = values[:, cols]
        share = None
        if params.method == "variance":
            local, share = keep_variance(block, params.variance, params.ld_rows, return_share=True)
        else:
            local = keep_r2(block, params.r2, params.window, params.step, params.ld_rows)
        keep[cols[local]] = True
        chosen[gene] = (np.sort(cols[local]), share)
    # a SNP shared by two genes stays when either keeps it: every gene keeps at least what it chose
    final = keep
    for gene in names:
        cols = np.asarray(cohort.gene_snps[gene], dtype=np.int64)
        kept = np.flatnonzero(final[cols])
        picked, share = chosen[gene]
        if share is None or not np.array_equal(np.sort(cols[kept]), picked):  # r², or SNPs another gene kept
            share = variance_explained(values[:, cols], kept, params.ld_rows)
        rows.append(
            {
                "gene": gene,
                "snps_before": int(cols.size),
                "snps_kept": int(kept.size),
                "variance_kept": round(float(share), 4),
            }
        )
    table = pd.DataFrame(rows)
    out = cohort.subset_snps(np.flatnonzero(final), in_place=in_place)
    rep = PruneReport(params=params.to_dict(), table=table, n_snps_before=cohort.n_snps, n_snps_kept=out.n_snps)
    meta = dict(out.meta)
    meta["prune"] = rep.to_dict()
    out.meta = meta
    report(progress, 1.0, "LD pruning done")
    return out, rep


def describe_prune(info: Optional[dict]) -> str:
    """One sentence for a stored ``meta['prune']`` (empty when no pruning ran)."""
    if not info or not info.get("genes"):
        return ""
    rep = PruneReport.from_dict(info)
    t = rep.table
    how = PruneParams(**rep.params).describe()

    def span(lo, hi, fmt):
        a, b = format(lo, fmt), format(hi, fmt)
        return a if a == b else f"{a}–{b}"

    snps = span(int(t["snps_kept"].min()), int(t["snps_kept"].max()), "d")
    share = span(float(t["variance_kept"].min()), float(t["variance_kept"].max()), ".0%")
    return (
        f"LD pruning ({how}) kept {rep.n_snps_kept:,} of {rep.n_snps_before:,} SNPs in {len(t)} genes "
        f"(per gene {snps} SNPs, {share} of the variance)"
    )

"""SNP and sample quality control (docs/method.md#preprocessing), in PLINK's order.

Steps, in the order they run (each SNP or sample is counted under the first
step it fails):

1. ``no_phenotype``      samples whose phenotype is missing (only when a phenotype is loaded)
2. ``sample_missing``    samples missing more than ``mind`` of their genotypes (only when ``mind`` is set)
3. ``all_missing_snps``  SNPs with no called genotype at all
4. ``snp_missing``       SNPs missing in more than ``geno`` of the samples
5. ``maf``               SNPs with minor allele frequency below ``maf``; monomorphic SNPs always
6. ``hwe``               SNPs with Hardy-Weinberg exact p below ``hwe`` (controls only for a
                         binary trait, like PLINK; ``hwe=0`` disables)
7. ``genes_without_snps`` genes left with no SNP; dropped and named in the report

Boundaries follow PLINK: a SNP whose missing rate equals ``geno``, whose MAF equals
``maf`` or whose p equals ``hwe`` is kept (comparisons allow 1e-12 of float slack).

The HWE test is the exact test PLINK uses, in :mod:`gxapp.data.hwe`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

from gxapp.data.cohort import Cohort, validate
from gxapp.data.hwe import hwe_pvalues_from_counts
from gxapp.errors import EmptyDataError
from gxapp.params import Integral, Interval, Options, Params, Real
from gxapp.progress import CancelFlag, ProgressFn, check_cancel, report

STEPS = (
    "no_phenotype",
    "sample_missing",
    "all_missing_snps",
    "snp_missing",
    "maf",
    "hwe",
    "genes_without_snps",
)
_SLACK = 1e-12  # float slack at the thresholds
_N_EXAMPLES = 10


# ---------------------------------------------------------------------------
# parameters
# ---------------------------------------------------------------------------
@dataclass
class QCParams(Params):
    """QC thresholds (PLINK names).

    geno : max SNP missing rate (SNPs missing in more than this fraction are removed)
    maf  : min minor allele frequency (SNPs below are removed; monomorphic always)
    hwe  : min HWE exact-test p-value (SNPs below are removed); 0 disables
    mind : max sample missing rate, or None to skip the sample filter
    """

    geno: float = 0.05
    maf: float = 0.01
    hwe: float = 1e-6
    mind: Optional[float] = None
    # after QC (paper A, Methods; docs/method.md#ld-pruning, #population-structure):
    # "none" (default), "variance" (keep prune_variance of each gene's variance, paper A) or "r2". Not on by
    # default: on paper A's complex scenario (coalescent LD, N = 20,000, S/N 0.25, seeds 1-5) keeping 90 %
    # of each gene's variance halved the SNPs and lowered the networks' AP and the SNP-pair test's
    # (bench/README.md, "LD pruning and population structure"); the PCs cost nothing there.
    prune: str = "none"
    prune_variance: float = 0.9
    prune_r2: float = 0.2  # "r2": PLINK --indep-pairwise prune_window prune_step prune_r2
    prune_window: int = 50
    prune_step: int = 5
    pca: int = 10  # genotype PCs regressed out with the covariates (0: none)

    _parameter_constraints = {
        "geno": [Interval(Real, 0, 1)],
        "maf": [Interval(Real, 0, 0.5)],
        "hwe": [Interval(Real, 0, 1)],
        "mind": [None, Interval(Real, 0, 1)],
        "prune": [Options(("variance", "r2", "none"))],
        "prune_variance": [Interval(Real, 0, 1, closed="right")],
        "prune_r2": [Interval(Real, 0, 1, closed="neither")],
        "prune_window": [Interval(Integral, 2, None)],
        "prune_step": [Interval(Integral, 1, None)],
        "pca": [Interval(Integral, 0, None)],
    }

    def _check(self) -> None:
        if self.prune_step > self.prune_window:
            from gxapp.errors import ParameterError

            raise ParameterError(
                f"prune_step: expected at most prune_window ({self.prune_window}), got {self.prune_step} "
                "(SNPs between windows would never be compared)"
            )

    def prune_params(self):
        from gxapp.data.prune import PruneParams

        return PruneParams(
            method=self.prune,
            variance=self.prune_variance,
            r2=self.prune_r2,
            window=self.prune_window,
            step=self.prune_step,
        ).validate()

    def pca_params(self):
        from gxapp.data.structure import PCAParams

        return PCAParams(k=self.pca).validate()


# ---------------------------------------------------------------------------
# genotype counts
# ---------------------------------------------------------------------------
def genotype_counts(
    genotypes: np.ndarray, rows=None, cancel: Optional[CancelFlag] = None, block: int = 2048
) -> np.ndarray:
    """Per-SNP counts of genotypes 0, 1, 2 and missing over ``rows`` (all rows if None).

    Returns an int64 array (4, P): rows are n(0), n(1), n(2), n(missing).
    Works in blocks of rows so that no (N, P) temporary is made.
    """
    g = np.asarray(genotypes)
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
    n_rows = g.shape[0] if rows is None else len(rows)
    out = np.zeros((4, g.shape[1]), dtype=np.int64)
    for r0 in range(0, n_rows, block):
        check_cancel(cancel)
        b = g[r0 : r0 + block] if rows is None else g[rows[r0 : r0 + block]]
        for k in range(3):
            out[k] += np.add.reduce(b == k, axis=0, dtype=np.int32)
    out[3] = n_rows - out[:3].sum(axis=0)
    return out


def sample_missing_rate(genotypes: np.ndarray, block: int = 4096) -> np.ndarray:
    """Fraction of missing genotypes per sample (row)."""
    g = np.asarray(genotypes)
    n, p = g.shape
    out = np.zeros(n, dtype=np.float64)
    if p == 0:
        return out
    for r0 in range(0, n, block):
        out[r0 : r0 + block] = np.add.reduce(g[r0 : r0 + block] < 0, axis=1, dtype=np.int64) / p
    return out


def hwe_pvalues(
    genotypes: np.ndarray, rows=None, midp: bool = False, cancel: Optional[CancelFlag] = None
) -> np.ndarray:
    """Exact HWE p-value of every SNP (column) of an int8 genotype matrix.

    Uses the called genotypes of ``rows`` (all rows if None); SNPs with no called
    genotype get p = 1. See :func:`gxapp.data.hwe.hwe_pvalues_from_counts`.
    """
    c = genotype_counts(genotypes, rows=rows, cancel=cancel)
    return hwe_pvalues_from_counts(c[1], c[0], c[2], midp=midp, cancel=cancel)


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
@dataclass
class QCReport:
    """What QC removed, step by step (see the module docstring for the steps).

    steps : ordered list of dicts with keys ``step``, ``unit`` ("samples", "SNPs",
            "genes"), ``removed``, ``remaining``, ``threshold``, ``detail`` (a short
            sentence) and ``examples`` (up to 10 removed ids or gene names).
    """

    steps: list = field(default_factory=list)
    dropped_genes: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)

    @property
    def removed(self) -> dict:
        return {s["step"]: int(s["removed"]) for s in self.steps}

    def to_dict(self) -> dict:
        return {
            "params": dict(self.params),
            "before": dict(self.before),
            "after": dict(self.after),
            "steps": [dict(s, examples=list(s["examples"])) for s in self.steps],
            "removed": self.removed,
            "dropped_genes": list(self.dropped_genes),
        }

    def to_frame(self) -> pd.DataFrame:
        cols = ["step", "unit", "removed", "remaining", "threshold", "detail"]
        return pd.DataFrame([{c: s[c] for c in cols} for s in self.steps], columns=cols)

    def _add(self, step, unit, removed, remaining, threshold, detail, examples=()):
        self.steps.append(
            {
                "step": step,
                "unit": unit,
                "removed": int(removed),
                "remaining": int(remaining),
                "threshold": threshold,
                "detail": detail,
                "examples": [str(e) for e in list(examples)[:_N_EXAMPLES]],
            }
        )


def _removed_sentence(ids, unit) -> str:
    ids = [str(i) for i in ids]
    if not ids:
        return f"no {unit} removed"
    shown = ", ".join(ids[:_N_EXAMPLES])
    more = f" (+{len(ids) - _N_EXAMPLES} more)" if len(ids) > _N_EXAMPLES else ""
    return f"removed {unit}: {shown}{more}"


# ---------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------
def run_qc(
    cohort: Cohort,
    params: Optional[QCParams] = None,
    progress: Optional[ProgressFn] = None,
    cancel: Optional[CancelFlag] = None,
    in_place: bool = False,
) -> tuple:
    """Apply sample and SNP QC; return ``(cleaned cohort, QCReport)``. ``in_place``: see
    :meth:`Cohort.subset_snps` (the input cohort's genotypes are overwritten).

    The report is also stored in ``cleaned.meta['qc']``. Raises EmptyDataError
    naming the step (and the threshold to relax) when nothing would be left.
    """
    validate(cohort)
    params = (params if params is not None else QCParams()).validate()
    rep = QCReport(
        params=params.to_dict(),
        before={"n_samples": cohort.n_samples, "n_snps": cohort.n_snps, "n_genes": cohort.n_genes},
    )
    report(progress, 0.0, "QC: samples")
    check_cancel(cancel)
    iids = cohort.samples["iid"].astype(str).to_numpy()
    snp_ids = cohort.snps["snp"].astype(str).to_numpy()

    # 1. samples without phenotype
    keep_s = np.ones(cohort.n_samples, dtype=bool)
    if cohort.phenotype is not None:
        bad = ~np.isfinite(cohort.phenotype)
        keep_s &= ~bad
        rep._add(
            "no_phenotype", "samples", bad.sum(), keep_s.sum(), None, _removed_sentence(iids[bad], "samples"), iids[bad]
        )
        if not keep_s.any():
            raise EmptyDataError(
                f"QC step 'no_phenotype': none of the {cohort.n_samples} samples has a phenotype value; "
                "check that the phenotype file's sample ids match the genotype sample ids"
            )
    else:
        rep._add("no_phenotype", "samples", 0, keep_s.sum(), None, "skipped: no phenotype loaded")

    # 2. sample missingness (over all SNPs, before SNP filters, as PLINK)
    check_cancel(cancel)
    if params.mind is not None:
        rate = sample_missing_rate(cohort.genotypes)
        bad = keep_s & (rate > params.mind + _SLACK)
        keep_s &= ~bad
        rep._add(
            "sample_missing",
            "samples",
            bad.sum(),
            keep_s.sum(),
            params.mind,
            _removed_sentence(iids[bad], "samples"),
            iids[bad],
        )
        if not keep_s.any():
            raise EmptyDataError(
                f"QC step 'sample_missing' removed all remaining {int(bad.sum())} samples: each misses more "
                f"than mind={params.mind} of its genotypes; relax QCParams.mind (e.g. 0.1) or set it to None"
            )
    else:
        rep._add("sample_missing", "samples", 0, keep_s.sum(), None, "skipped: mind not set")

    report(progress, 0.2, "QC: counting genotypes")
    rows = None if keep_s.all() else np.flatnonzero(keep_s)
    counts = genotype_counts(cohort.genotypes, rows=rows, cancel=cancel)
    n0, n1, n2, nmiss = counts
    n_kept_samples = int(keep_s.sum())
    called = n0 + n1 + n2
    keep = np.ones(cohort.n_snps, dtype=bool)

    def snp_step(name, fails, threshold, detail_extra, relax):
        nonlocal keep
        bad = keep & fails
        keep &= ~bad
        detail = _removed_sentence(snp_ids[bad], "SNPs")
        if detail_extra:
            detail = f"{detail}; {detail_extra}"
        rep._add(name, "SNPs", bad.sum(), keep.sum(), threshold, detail, snp_ids[bad])
        if not keep.any():
            raise EmptyDataError(f"QC step '{name}' removed the last {int(bad.sum())} SNPs; {relax}")

    # 3. all-missing SNPs
    snp_step(
        "all_missing_snps",
        called == 0,
        None,
        "",
        "every SNP is missing in every kept sample: check the genotype file (and QCParams.mind)",
    )
    # 4. SNP missing rate
    check_cancel(cancel)
    miss_rate = nmiss / max(n_kept_samples, 1)
    snp_step(
        "snp_missing",
        miss_rate > params.geno + _SLACK,
        params.geno,
        "",
        f"every SNP misses more than geno={params.geno} of its genotypes; relax QCParams.geno (e.g. 0.1)",
    )
    # 5. MAF (monomorphic SNPs always go)
    with np.errstate(invalid="ignore", divide="ignore"):
        freq = (n1 + 2.0 * n2) / (2.0 * np.maximum(called, 1))
    maf = np.minimum(freq, 1.0 - freq)
    mono = keep & (maf <= 0)
    snp_step(
        "maf",
        (maf < params.maf - _SLACK) | (maf <= 0),
        params.maf,
        f"{int(mono.sum())} monomorphic",
        f"every remaining SNP has MAF below maf={params.maf} (or is monomorphic); relax QCParams.maf",
    )
    # 6. HWE
    report(progress, 0.5, "QC: Hardy-Weinberg tests")
    check_cancel(cancel)
    if params.hwe > 0:
        hwe_rows, hwe_counts = "all kept samples", counts
        if cohort.trait == "binary" and cohort.phenotype is not None:
            ctrl = keep_s & (cohort.phenotype == 0)
            if ctrl.any():
                hwe_rows = f"{int(ctrl.sum())} controls"
                hwe_counts = genotype_counts(cohort.genotypes, rows=np.flatnonzero(ctrl), cancel=cancel)
            else:
                hwe_rows = "all kept samples (no controls)"
        pv = np.ones(cohort.n_snps)
        idx = np.flatnonzero(keep)
        pv[idx] = hwe_pvalues_from_counts(hwe_counts[1, idx], hwe_counts[0, idx], hwe_counts[2, idx], cancel=cancel)
        snp_step(
            "hwe",
            pv < params.hwe * (1 - 1e-9),
            params.hwe,
            f"tested in {hwe_rows}",
            f"every remaining SNP has HWE p below hwe={params.hwe}; relax QCParams.hwe (smaller, or 0 to disable)",
        )
    else:
        rep._add("hwe", "SNPs", 0, keep.sum(), 0.0, "skipped: hwe = 0")

    # 7. subset, genes without SNPs
    report(progress, 0.8, "QC: subsetting")
    check_cancel(cancel)
    out = cohort
    if rows is not None:
        out = out.subset_samples(rows)
    before_genes = list(cohort.gene_names)
    left_genes = [g for g in before_genes if keep[np.asarray(cohort.gene_snps[g], dtype=np.int64)].any()]
    dropped = [g for g in before_genes if g not in set(left_genes)]
    rep.dropped_genes = dropped
    rep._add(
        "genes_without_snps",
        "genes",
        len(dropped),
        len(left_genes),
        None,
        (
            "dropped genes (all their SNPs failed QC): "
            + ", ".join(dropped[:_N_EXAMPLES])
            + (f" (+{len(dropped) - _N_EXAMPLES} more)" if len(dropped) > _N_EXAMPLES else "")
        )
        if dropped
        else "no gene dropped",
        dropped,
    )
    if not left_genes:
        raise EmptyDataError(
            f"QC step 'genes_without_snps': no gene keeps a SNP after QC ({int(keep.sum())} SNPs left, none "
            "inside a gene); relax the SNP thresholds or check the SNP-to-gene mapping (flank, genome build)"
        )
    out = out.subset_snps(np.flatnonzero(keep), in_place=in_place and rows is None)
    rep.after = {"n_samples": out.n_samples, "n_snps": out.n_snps, "n_genes": out.n_genes}
    meta = dict(out.meta)
    meta["qc"] = rep.to_dict()
    out.meta = meta
    report(progress, 1.0, "QC done")
    return out, rep

"""Phenotype and genotype preprocessing (docs/method.md#preprocessing, paper A Methods).

- quantitative phenotype: regress out the covariates (genotype PCs among them,
  :mod:`gxapp.data.structure`) by OLS fit on the training rows, then a rank-based
  inverse-normal transform (Blom) of the residual;
- binary phenotype: kept as 0/1 (no regression, no INT);
- SNPs: mean-impute missing genotypes and centre, both with the training rows'
  means only (no test leakage);
- a 70 / 30 train / test split with a recorded seed, stratified by case/control
  for binary traits.

The covariate coefficients come from the training rows only (the test rows'
phenotypes inform nothing); the inverse-normal ranks use all samples (as the paper
does): a fixed function of y that observed and permuted analyses share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm, rankdata

from gxapp.data.cohort import Cohort, validate
from gxapp.errors import EmptyDataError, InputFormatError, ParameterError

BLOM_C = 3.0 / 8.0


# ---------------------------------------------------------------------------
# phenotype
# ---------------------------------------------------------------------------
def residualise(y, covariates, return_info: bool = False, fit_rows=None):
    """Residual of the OLS of ``y`` on ``[1, covariates]`` (statsmodels).

    fit_rows : rows the coefficients are estimated on (the training rows; all rows if None); the
        residual is then ``y - design @ coef`` for every row.
    covariates : DataFrame (N, C) or array (N,) / (N, C). Columns that are constant
        are dropped (listed in the info). NaN in a covariate raises
        InputFormatError naming the column: impute it or drop those samples first.
    return_info : also return ``{"used": [...], "dropped_constant": [...], "coef": {...}}``.
    """
    import statsmodels.api as sm

    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise InputFormatError(f"residualise: y must be 1-D, got shape {y.shape}")
    n = len(y)
    if n == 0:
        raise EmptyDataError("residualise: no samples")
    if not np.isfinite(y).all():
        raise InputFormatError(
            f"residualise: the phenotype has {int((~np.isfinite(y)).sum())} missing value(s); "
            "run QC (gxapp.data.qc.run_qc) first, which removes samples without a phenotype"
        )
    if isinstance(covariates, pd.DataFrame):
        cov = covariates.reset_index(drop=True)
    else:
        arr = np.asarray(covariates, dtype=np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise InputFormatError(f"residualise: covariates must be 1-D or 2-D, got shape {arr.shape}")
        cov = pd.DataFrame(arr, columns=[f"covariate_{i}" for i in range(arr.shape[1])])
    if len(cov) != n:
        raise InputFormatError(f"residualise: {len(cov)} covariate rows for {n} phenotype values")
    used, dropped = [], []
    cols = []
    for name in cov.columns:
        try:
            v = pd.to_numeric(cov[name], errors="raise").to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise InputFormatError(
                f"covariate '{name}': not numeric ({exc}); encode it as numbers (e.g. sex 1/2) or drop it"
            ) from None
        bad = ~np.isfinite(v)
        if bad.any():
            raise InputFormatError(
                f"covariate '{name}': {int(bad.sum())} of {n} samples have a missing (NaN) value; "
                "impute the covariate or drop those samples (or that covariate) before preprocessing"
            )
        if n < 2 or np.ptp(v) == 0:
            dropped.append(str(name))
            continue
        used.append(str(name))
        cols.append(v)
    design = np.column_stack([np.ones(n)] + cols)
    fit_idx = np.arange(n) if fit_rows is None else np.asarray(fit_rows, dtype=np.int64)
    if fit_rows is not None:  # constant on the fitting rows: drop too (not estimable there)
        flat = [i for i in range(1, design.shape[1]) if np.ptp(design[fit_idx, i]) == 0]
        for i in reversed(flat):
            dropped.append(used.pop(i - 1))
        design = np.delete(design, flat, axis=1)
    fit = sm.OLS(y[fit_idx], design[fit_idx]).fit()
    resid = y - design @ np.asarray(fit.params, dtype=np.float64)
    if return_info:
        names = ["const"] + used
        info = {
            "used": used,
            "dropped_constant": dropped,
            "coef": {k: float(b) for k, b in zip(names, np.asarray(fit.params))},
        }
        return resid, info
    return resid


def inverse_normal(x) -> np.ndarray:
    """Rank-based inverse-normal transform, Blom offset c = 3/8.

    ``Phi^-1((rank - 3/8) / (n - 2*3/8 + 1))`` with tied values given their average
    rank; NaN stays NaN (and is not counted in n).
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    ok = np.isfinite(x)
    n = int(ok.sum())
    if n == 0:
        return out
    r = rankdata(x[ok], method="average")
    out[ok] = norm.ppf((r - BLOM_C) / (n - 2 * BLOM_C + 1))
    return out


# ---------------------------------------------------------------------------
# genotypes
# ---------------------------------------------------------------------------
def impute_centre(genotypes: np.ndarray, rows=None, return_means: bool = False, block: int = 512):
    """Mean-impute missing genotypes (-1) and centre every SNP, as float32.

    The per-SNP mean is taken over the called genotypes of ``rows`` only (the
    training rows; all rows if None), so test rows never inform it. A missing
    genotype becomes 0 after centring. A SNP with no call among ``rows`` gets mean 0.
    ``return_means=True`` also returns the float64 means used.
    """
    g = np.asarray(genotypes)
    if g.ndim != 2:
        raise InputFormatError(f"impute_centre: genotypes must be 2-D, got shape {g.shape}")
    if rows is not None:
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64)
        if len(rows) == 0:
            raise EmptyDataError("impute_centre: no rows to compute the SNP means from")
    n, p = g.shape
    out = np.empty((n, p), dtype=np.float32)
    means = np.zeros(p, dtype=np.float64)
    for c0 in range(0, p, block):
        b = g[:, c0 : c0 + block]
        fit = b if rows is None else b[rows]
        called = fit >= 0
        cnt = called.sum(axis=0)
        s = np.where(called, fit, 0).sum(axis=0, dtype=np.int64)
        m = np.where(cnt > 0, s / np.maximum(cnt, 1), 0.0)
        means[c0 : c0 + block] = m
        bf = b.astype(np.float32)
        bf -= m.astype(np.float32)
        bf[b < 0] = 0.0
        out[:, c0 : c0 + block] = bf
    return (out, means) if return_means else out


def impute_centre_dosages(dosages: np.ndarray, rows=None, block: int = 512) -> tuple:
    """:func:`impute_centre` for imputed dosages (float, NaN missing): ``(X float32, means)``."""
    d = np.asarray(dosages)
    n, p = d.shape
    out = np.empty((n, p), dtype=np.float32)
    means = np.zeros(p, dtype=np.float64)
    rows = None if rows is None else np.asarray(rows, dtype=np.int64)
    for c0 in range(0, p, block):
        b = d[:, c0 : c0 + block].astype(np.float64)
        fit = b if rows is None else b[rows]
        called = np.isfinite(fit)
        cnt = called.sum(axis=0)
        m = np.where(cnt > 0, np.where(called, fit, 0.0).sum(axis=0) / np.maximum(cnt, 1), 0.0)
        means[c0 : c0 + block] = m
        out[:, c0 : c0 + block] = np.nan_to_num(b - m, nan=0.0)
    return out, means


# ---------------------------------------------------------------------------
# split
# ---------------------------------------------------------------------------
# Share of individuals held out as test rows (the reported R² and the explained individuals).
# 10 %, not paper A's 30 %: the networks learn the gene representations from the training rows
# only, and the recipe study found more training rows the largest single gain in detection power
# (bench/README.md, "Training recipe"); at N = 20,000 10 % still leaves 2,000 individuals to score.
TEST_FRACTION = 0.1


def train_test_split_idx(n: int, test_fraction: float = TEST_FRACTION, seed: int = 0, stratify=None) -> tuple:
    """Reproducible train/test split of ``range(n)``; returns sorted int64 (train_idx, test_idx).

    ``stratify``: labels (length n) whose proportions both parts keep (case/control).
    ``test_fraction = 0`` puts every row in train.
    """
    from sklearn.model_selection import train_test_split

    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ParameterError(f"train_test_split_idx: n must be a positive integer, got {n!r}")
    n = int(n)
    if isinstance(test_fraction, bool) or not (0 <= float(test_fraction) < 1):
        raise ParameterError(f"test_fraction: must be in [0, 1), got {test_fraction!r}")
    idx = np.arange(n, dtype=np.int64)
    if float(test_fraction) == 0:
        return idx, np.array([], dtype=np.int64)
    n_test = int(np.ceil(test_fraction * n))
    if n_test < 1 or n - n_test < 1:
        raise ParameterError(
            f"test_fraction={test_fraction} leaves an empty train or test set with {n} samples; "
            "use more samples or another test_fraction"
        )
    if stratify is not None:
        stratify = np.asarray(stratify)
        if len(stratify) != n:
            raise ParameterError(f"stratify: {len(stratify)} labels for {n} samples")
    try:
        tr, te = train_test_split(
            idx, test_size=float(test_fraction), random_state=int(seed), shuffle=True, stratify=stratify
        )
    except ValueError as exc:
        raise ParameterError(
            f"cannot split {n} samples with test_fraction={test_fraction}"
            + (" stratified by case/control" if stratify is not None else "")
            + f": {exc}. Each class needs at least 2 samples (and enough for both parts)"
        ) from None
    return np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)


# ---------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------
@dataclass(eq=False)
class Prepared:
    """Model-ready data.

    X          : float32 (N, P), imputed + centred with the training rows' means
    y          : float64 (N,), transformed phenotype (residual + INT, or 0/1)
    y_raw      : float64 (N,), the phenotype as loaded
    train_idx, test_idx : sorted int64 row indices
    gene_blocks: list of int64 column-index arrays of X, one per gene, in gene order
    gene_names : list of gene names (same order)
    trait      : "quantitative" or "binary"
    report     : what was done (covariates used/dropped, INT, split seed/fractions,
                 n_train/n_test, ``snp_means``...)
    """

    X: np.ndarray
    y: np.ndarray
    y_raw: np.ndarray
    train_idx: np.ndarray
    test_idx: np.ndarray
    gene_blocks: list
    gene_names: list
    trait: str
    report: dict = field(default_factory=dict)
    snp_ids: list = field(default_factory=list)
    sample_ids: list = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_snps(self) -> int:
        return int(self.X.shape[1])


def prepare(
    cohort: Cohort,
    covariates=True,
    inverse_normal_transform: bool = True,
    test_fraction: float = TEST_FRACTION,
    seed: int = 0,
) -> Prepared:
    """Turn a QC'd cohort into :class:`Prepared` data.

    covariates : True (all of the cohort's covariates), False/None (none) or a list of
        covariate column names. Regressed out of quantitative traits only.
    inverse_normal_transform : apply INT after the regression (quantitative traits only).
    """
    validate(cohort)
    if cohort.phenotype is None:
        raise ParameterError("prepare: the cohort has no phenotype; load a phenotype first")
    y_raw = np.asarray(cohort.phenotype, dtype=np.float64).copy()
    n_missing = int((~np.isfinite(y_raw)).sum())
    if n_missing:
        raise InputFormatError(
            f"prepare: {n_missing} sample(s) have no phenotype value; run QC (gxapp.data.qc.run_qc) first, "
            "which removes them"
        )
    if np.ptp(y_raw) == 0:
        what = (
            f"every sample is {'a case' if y_raw[0] == 1 else 'a control'}"
            if cohort.trait == "binary"
            else f"every value is {y_raw[0]:g}"
        )
        raise ParameterError(f"prepare: phenotype has zero variance ({what}); nothing to model")

    # covariates to use
    cov_df = None
    if covariates is True:
        cov_df = cohort.covariates
    elif covariates is not None and covariates is not False:
        names = [covariates] if isinstance(covariates, str) else list(covariates)
        have = [] if cohort.covariates is None else list(map(str, cohort.covariates.columns))
        missing = [c for c in names if str(c) not in have]
        if missing:
            raise ParameterError(
                f"covariates: unknown covariate(s) {missing}; the cohort has {have or 'no covariates'}"
            )
        cov_df = cohort.covariates[[c for c in cohort.covariates.columns if str(c) in set(map(str, names))]]
    if cov_df is not None and cov_df.shape[1] == 0:
        cov_df = None

    rep: dict = {"trait": cohort.trait}
    stratify = y_raw.astype(np.int64) if cohort.trait == "binary" else None
    train_idx, test_idx = train_test_split_idx(
        cohort.n_samples, test_fraction=test_fraction, seed=seed, stratify=stratify
    )
    if cohort.trait == "quantitative":
        y = y_raw
        if cov_df is not None:
            y, info = residualise(y, cov_df, return_info=True, fit_rows=train_idx)
            rep["covariates_used"] = info["used"]
            rep["covariates_dropped_constant"] = info["dropped_constant"]
            rep["covariate_coef"] = info["coef"]
            rep["covariates_fit_on"] = "training rows"
            if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y_raw).max())):
                raise ParameterError(
                    "prepare: phenotype has zero variance after regressing out the covariates "
                    f"{info['used']}; use fewer covariates (covariates=False or a list)"
                )
        else:
            rep["covariates_used"] = []
            rep["covariates_dropped_constant"] = []
        if inverse_normal_transform:
            y = inverse_normal(y)
        rep["inverse_normal"] = bool(inverse_normal_transform)
        rep["phenotype_transform"] = ("OLS residual on covariates" if rep["covariates_used"] else "raw") + (
            " -> rank-based inverse normal (Blom, c=3/8)" if inverse_normal_transform else ""
        )
    else:
        y = y_raw.copy()
        rep["covariates_used"] = []
        rep["covariates_dropped_constant"] = []
        rep["covariates_available"] = [] if cov_df is None else list(map(str, cov_df.columns))
        rep["inverse_normal"] = False
        rep["phenotype_transform"] = "binary trait: kept as 0/1 (no covariate regression, no inverse-normal)"

    if cohort.dosages is not None:
        X, means = impute_centre_dosages(cohort.dosages, rows=train_idx)
    else:
        X, means = impute_centre(cohort.genotypes, rows=train_idx, return_means=True)
    rep.update(
        {
            "split_seed": int(seed),
            "test_fraction": float(test_fraction),
            "train_fraction": 1.0 - float(test_fraction),
            "stratified": stratify is not None,
            "n_train": int(len(train_idx)),
            "n_test": int(len(test_idx)),
            "snp_means": means,
            "snp_means_from": "training rows",
            "genotype_values": "imputed dosages" if cohort.dosages is not None else "hard calls",
            "n_missing_imputed": int((cohort.genotypes < 0).sum()),
        }
    )
    if stratify is not None:
        rep["case_fraction_train"] = float(y_raw[train_idx].mean())
        rep["case_fraction_test"] = float(y_raw[test_idx].mean()) if len(test_idx) else None
    names = cohort.gene_names
    return Prepared(
        X=X,
        y=np.asarray(y, dtype=np.float64),
        y_raw=y_raw,
        train_idx=train_idx,
        test_idx=test_idx,
        gene_blocks=[np.asarray(cohort.gene_snps[g], dtype=np.int64) for g in names],
        gene_names=list(names),
        trait=cohort.trait,
        report=rep,
        snp_ids=list(map(str, cohort.snps["snp"])),
        sample_ids=list(map(str, cohort.samples["iid"])),
    )

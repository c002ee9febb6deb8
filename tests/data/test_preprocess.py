"""Phenotype / genotype preprocessing (gxapp.data.preprocess)."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm, spearmanr

from gxapp.data.preprocess import (
    TEST_FRACTION,
    Prepared,
    impute_centre,
    inverse_normal,
    prepare,
    residualise,
    train_test_split_idx,
)
from gxapp.data.qc import run_qc
from gxapp.errors import EmptyDataError, InputFormatError, ParameterError

from helpers import make_cohort


def random_cohort(n=600, p=12, trait="quantitative", seed=0, case_fraction=0.25, missing=0.02):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.1, 0.5, p), size=(n, p)).astype(np.int8)
    G[rng.random(G.shape) < missing] = -1
    cov = pd.DataFrame({"age": rng.normal(50, 10, n), "sex": rng.integers(1, 3, n).astype(float)})
    if trait == "binary":
        y = (rng.random(n) < case_fraction).astype(float)
    else:
        y = 0.3 * cov["age"].to_numpy() + rng.exponential(2.0, n)
    return make_cohort(G, phenotype=y, trait=trait, covariates=cov)


# ---------------------------------------------------------------------------
# inverse normal
# ---------------------------------------------------------------------------
def test_inverse_normal_is_standard_normal_and_rank_preserving():
    rng = np.random.default_rng(0)
    x = rng.exponential(3.0, 5000) ** 2  # very skewed
    z = inverse_normal(x)
    assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 0.02
    assert spearmanr(x, z).statistic == pytest.approx(1.0)
    assert (np.argsort(x) == np.argsort(z)).all()
    assert abs(pd.Series(z).skew()) < 0.01


def test_inverse_normal_blom_formula_ties_and_nan():
    x = np.array([3.0, 1.0, 2.0, 2.0, np.nan, 10.0])
    z = inverse_normal(x)
    ranks = np.array([4, 1, 2.5, 2.5, np.nan, 5])
    n = 5
    expected = norm.ppf((ranks - 3 / 8) / (n - 2 * 3 / 8 + 1))
    np.testing.assert_allclose(z[[0, 1, 2, 3, 5]], expected[[0, 1, 2, 3, 5]])
    assert z[2] == z[3] and np.isnan(z[4])


# ---------------------------------------------------------------------------
# residualise
# ---------------------------------------------------------------------------
def test_residualise_removes_planted_covariate_effect():
    rng = np.random.default_rng(1)
    n = 2000
    age = rng.normal(50, 10, n)
    pc1 = rng.normal(size=n)
    noise = rng.normal(size=n)
    y = 5.0 + 0.8 * age - 2.0 * pc1 + noise
    assert abs(np.corrcoef(y, age)[0, 1]) > 0.9
    cov = pd.DataFrame({"age": age, "pc1": pc1, "batch": np.ones(n)})
    r, info = residualise(y, cov, return_info=True)
    assert abs(np.corrcoef(r, age)[0, 1]) < 1e-10 and abs(np.corrcoef(r, pc1)[0, 1]) < 1e-10
    assert abs(r.mean()) < 1e-10
    assert np.corrcoef(r, noise)[0, 1] > 0.99
    assert info["used"] == ["age", "pc1"] and info["dropped_constant"] == ["batch"]
    assert info["coef"]["age"] == pytest.approx(0.8, abs=0.01)
    # plain arrays work too
    np.testing.assert_allclose(residualise(y, np.column_stack([age, pc1])), r, atol=1e-8)


@pytest.mark.parametrize(
    "spoil, match",
    [
        (lambda y, cov: (y, cov), r"covariate 'bmi'.*impute"),
        (lambda y, cov: (np.r_[np.nan, y[1:]], cov[["age"]]), "run QC"),
        (lambda y, cov: (y, cov.iloc[:5]), "rows"),
    ],
    ids=["nan-covariate", "nan-phenotype", "row-mismatch"],
)
def test_residualise_nan_covariate_names_column(spoil, match):
    y = np.arange(10.0)
    cov = pd.DataFrame({"age": np.arange(10.0) ** 2, "bmi": [1.0] * 9 + [np.nan]})
    with pytest.raises(InputFormatError, match=match):
        residualise(*spoil(y, cov))


# ---------------------------------------------------------------------------
# impute / centre
# ---------------------------------------------------------------------------
def test_impute_centre_uses_only_training_rows():
    G = np.array(
        [
            [0, 2, -1],
            [2, 2, 1],
            [-1, 0, 1],
            [2, 2, 2],  # test rows from here: very different values
            [2, 2, -1],
        ],
        dtype=np.int8,
    )
    train = np.array([0, 1, 2])
    X, means = impute_centre(G, rows=train, return_means=True)
    assert X.dtype == np.float32 and X.shape == G.shape
    np.testing.assert_allclose(means, [1.0, 4 / 3, 1.0])  # over the called training genotypes only
    np.testing.assert_allclose(X[:, 0], [-1, 1, 0, 1, 1])
    np.testing.assert_allclose(X[:, 2], [0, 0, 0, 1, 0])  # missing test genotype -> training mean -> 0
    np.testing.assert_allclose(X[train].sum(axis=0), [0, 0, 0], atol=1e-6)
    # all rows by default; boolean rows accepted
    Xall = impute_centre(G)
    np.testing.assert_allclose(Xall[:, 0], np.array([0, 2, 1.5, 2, 2]) - 1.5)
    np.testing.assert_allclose(impute_centre(G, rows=np.array([1, 1, 1, 0, 0], bool)), X)
    with pytest.raises(EmptyDataError):
        impute_centre(G, rows=np.array([], int))


# ---------------------------------------------------------------------------
# split
# ---------------------------------------------------------------------------
def test_split_reproducible_and_the_declared_fraction():
    tr, te = train_test_split_idx(1000, seed=7)
    tr2, te2 = train_test_split_idx(1000, seed=7)
    assert (tr == tr2).all() and (te == te2).all()
    assert TEST_FRACTION == 0.1 and len(te) == 100 and len(tr) == 900
    assert len(train_test_split_idx(1000, test_fraction=0.3, seed=7)[1]) == 300
    assert (np.diff(tr) > 0).all() and (np.diff(te) > 0).all()
    assert np.intersect1d(tr, te).size == 0 and np.union1d(tr, te).size == 1000
    assert tr.dtype == np.int64
    _, te3 = train_test_split_idx(1000, seed=8)
    assert not np.array_equal(te, te3)
    tr0, te0 = train_test_split_idx(10, test_fraction=0)
    assert len(tr0) == 10 and len(te0) == 0


@pytest.mark.parametrize("bad", [1.0, -0.1, 1.5])
def test_split_bad_test_fraction(bad):
    with pytest.raises(ParameterError, match="test_fraction"):
        train_test_split_idx(10, test_fraction=bad)


def test_split_stratification_keeps_case_fraction():
    rng = np.random.default_rng(3)
    y = (rng.random(1000) < 0.1).astype(int)
    tr, te = train_test_split_idx(1000, seed=1, stratify=y)
    assert abs(y[tr].mean() - y.mean()) < 0.005 and abs(y[te].mean() - y.mean()) < 0.005
    with pytest.raises(ParameterError, match="stratified"):
        train_test_split_idx(10, stratify=np.r_[1, np.zeros(9)])


# ---------------------------------------------------------------------------
# prepare
# ---------------------------------------------------------------------------
def test_prepare_quantitative_regresses_and_transforms():
    c = random_cohort()
    c, _ = run_qc(c)
    prep = prepare(c)
    assert isinstance(prep, Prepared)
    assert prep.X.dtype == np.float32 and prep.X.shape == (c.n_samples, c.n_snps)
    assert prep.y.dtype == np.float64
    assert abs(prep.y.mean()) < 1e-9 and abs(prep.y.std() - 1) < 0.05
    # the planted age effect is gone (INT of a skewed residual is not exactly orthogonal to it)
    assert np.corrcoef(c.phenotype, c.covariates["age"])[0, 1] > 0.7
    assert abs(np.corrcoef(prep.y, c.covariates["age"])[0, 1]) < 0.1
    np.testing.assert_array_equal(prep.y_raw, c.phenotype)
    r = prep.report
    assert r["covariates_used"] == ["age", "sex"] and r["inverse_normal"] is True
    assert r["n_train"] + r["n_test"] == c.n_samples and r["split_seed"] == 0
    assert abs(r["n_test"] / c.n_samples - TEST_FRACTION) < 0.01
    assert prep.gene_names == c.gene_names and len(prep.gene_blocks) == c.n_genes
    for g, b in zip(prep.gene_names, prep.gene_blocks):
        np.testing.assert_array_equal(b, c.gene_snps[g])
    # imputation/centring used the training rows only
    np.testing.assert_allclose(prep.X[prep.train_idx].mean(axis=0), 0, atol=1e-5)
    # same seed -> same data; covariates / INT can be switched off
    again = prepare(c)
    np.testing.assert_array_equal(again.test_idx, prep.test_idx)
    np.testing.assert_array_equal(again.X, prep.X)
    raw = prepare(c, covariates=False, inverse_normal_transform=False)
    np.testing.assert_array_equal(raw.y, c.phenotype)
    only_age = prepare(c, covariates=["age"])
    assert only_age.report["covariates_used"] == ["age"]
    with pytest.raises(ParameterError, match="unknown covariate"):
        prepare(c, covariates=["height"])


def test_prepare_binary_skips_int_and_stratifies():
    c = random_cohort(n=1000, trait="binary", seed=4, case_fraction=0.2)
    c, _ = run_qc(c)
    prep = prepare(c, seed=3)
    assert set(np.unique(prep.y)) == {0.0, 1.0}
    np.testing.assert_array_equal(prep.y, c.phenotype)
    r = prep.report
    assert r["inverse_normal"] is False and "no inverse-normal" in r["phenotype_transform"]
    assert r["stratified"] is True and r["covariates_used"] == []
    overall = c.phenotype.mean()
    assert abs(r["case_fraction_train"] - overall) < 0.005 and abs(r["case_fraction_test"] - overall) < 0.01


def _nan_at(values, i, column=None):
    v = values.copy()
    if column is None:
        v[i] = np.nan
    else:
        v.loc[i, column] = np.nan
    return v


@pytest.mark.parametrize(
    "build, exc, match",
    [
        (lambda c: make_cohort(c.genotypes, phenotype=np.full(100, 2.5)), ParameterError, "zero variance"),
        (lambda c: make_cohort(c.genotypes, phenotype=np.ones(100), trait="binary"), ParameterError, "zero variance"),
        (lambda c: make_cohort(c.genotypes), ParameterError, "load a phenotype"),
        (lambda c: make_cohort(c.genotypes, phenotype=_nan_at(c.phenotype, 5)), InputFormatError, "run QC"),
        (
            lambda c: make_cohort(c.genotypes, phenotype=c.phenotype, covariates=_nan_at(c.covariates, 3, "age")),
            InputFormatError,
            "covariate 'age'",
        ),
    ],
    ids=["constant-quantitative", "one-class-binary", "no-phenotype", "nan-phenotype", "nan-covariate"],
)
def test_prepare_errors(build, exc, match):
    cohort = build(random_cohort(n=100))
    with pytest.raises(exc, match=match):
        prepare(cohort)

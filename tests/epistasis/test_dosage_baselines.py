"""The dosage-level additive baselines of the architecture comparison (l2-snps, l1-snps;
docs/method.md#additive-baselines): paper B's logistic regressions on the individual variants."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from gxapp.data.cohort import Cohort
from gxapp.data.simulate import SimParams, simulate_cohort
from gxapp.epistasis import RowGroup, compare, compare_arrays, gene_features
from gxapp.epistasis.additive import fit_additive
from gxapp.epistasis.features import snp_dosages
from gxapp.errors import ParameterError


def single_snp_cohort(n=800, seed=0) -> tuple:
    """4 genes x 20 binomial SNPs; the risk follows ONE common SNP of gene 0, which the MAF-bin
    burden of its gene dilutes among the other SNPs of its bin. Returns (cohort, causal column)."""
    c = simulate_cohort(
        SimParams(scenario="complex", n_samples=n, n_genes=4, snps_per_gene=20, genotype_model="binomial", seed=seed)
    )
    f = c.allele_freq()
    maf = np.minimum(f, 1 - f)
    cols = np.asarray(c.gene_snps[c.gene_names[0]])
    causal = int(cols[np.argmax(maf[cols])])  # the commonest SNP: its bin holds many others
    x = c.genotypes[:, causal].astype(float)
    rng = np.random.default_rng(seed)
    eta = 2.0 * (x - x.mean()) / x.std()
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return Cohort(**{**c.__dict__, "phenotype": y, "trait": "binary"}), causal


@pytest.mark.parametrize("seed", [0, 1])
def test_a_strong_single_snp_is_kept_by_the_dosage_baselines(seed):
    cohort, _ = single_snp_cohort(seed=seed)
    res = compare(cohort, models=("l2", "l1-snps", "l2-snps"), folds=3, repeats=1, seed=seed)
    per_gene, l1s, l2s = (res.models[m].auc_mean for m in ("l2", "l1-snps", "l2-snps"))
    assert l1s > 0.75 and l2s > 0.75, (l1s, l2s)
    assert l1s > per_gene + 0.05, (l1s, per_gene)  # the burden of the SNP's MAF bin dilutes it
    assert res.models["l1-snps"].n_params == cohort.n_snps + 1
    assert res.models["l1-snps"].details["n_snps"] == cohort.n_snps
    assert list(res.models) == ["l2", "l1-snps", "l2-snps"]


def test_dosages_are_the_genotypes_with_missing_calls_at_the_snp_mean():
    c = simulate_cohort(
        SimParams(scenario="complex", n_samples=50, n_genes=2, snps_per_gene=5, genotype_model="binomial", seed=3)
    )
    g = c.genotypes.copy()
    g[0, 1] = g[3, 7] = -1
    # a SNP outside every gene is left out
    gene_snps = {c.gene_names[0]: np.array([0, 1, 2, 3, 4]), c.gene_names[1]: np.array([6, 7, 8, 9])}
    cc = Cohort(**{**c.__dict__, "genotypes": g, "gene_snps": gene_snps})
    d, ids = snp_dosages(cc)
    keep = [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert d.dtype == np.float32 and d.shape == (50, 9)
    assert ids == c.snps["snp"].astype(str).iloc[keep].tolist()
    for k, col in enumerate(keep):
        called = g[:, col] >= 0
        np.testing.assert_allclose(d[called, k], g[called, col])
        np.testing.assert_allclose(d[~called, k], g[called, col].mean(), rtol=1e-6)


def test_fit_additive_on_dosages_is_a_standardised_logistic_regression():
    """One split by hand: columns standardised with the training rows' mean and sd, then
    scikit-learn's logistic regression with the single C given."""
    rng = np.random.default_rng(4)
    d = rng.binomial(2, [0.1, 0.3, 0.5, 0.2], size=(300, 4)).astype(np.float32)
    d[:, 3] = 1.0  # a constant column is only centred
    y = (rng.random(300) < 1 / (1 + np.exp(-(d[:, 1] - 0.6)))).astype(float)
    train, test = np.arange(200), np.arange(200, 300)
    for penalty in ("l2", "l1"):
        probs, cs = fit_additive(d, y, [RowGroup(key=(0, 0, 0), train=train, test=test)], penalty, Cs=[0.1], seed=0)
        mu, sd = d[train].mean(0), d[train].std(0)
        sd[sd == 0] = 1
        z = (d - mu) / sd
        ref = LogisticRegression(C=0.1, l1_ratio=1.0 if penalty == "l1" else 0.0, solver="liblinear", max_iter=2000)
        ref.fit(z[train], y[train].astype(int))
        np.testing.assert_allclose(probs[0], ref.predict_proba(z[test])[:, 1], rtol=1e-6)
        assert cs == [0.1]


def test_compare_arrays_needs_dosages_for_the_snp_baselines():
    cohort, _ = single_snp_cohort(n=200)
    X, genes, classes = gene_features(cohort)
    y = cohort.phenotype
    with pytest.raises(ParameterError, match="dosages"):
        compare_arrays(X, y, genes, classes, models=("l1-snps",), folds=2, repeats=1)
    with pytest.raises(ParameterError, match="dosages"):
        compare_arrays(X, y, genes, classes, models=("l1-snps",), folds=2, repeats=1, dosages=np.zeros((5, 3)))
    d, _ = snp_dosages(cohort)
    res = compare_arrays(X, y, genes, classes, models=("l2-snps",), folds=2, repeats=1, dosages=d)
    assert res.models["l2-snps"].auc_mean > 0.6


def test_learning_curve_subsets_the_dosages_with_the_rows():
    from gxapp.epistasis import learning_curve

    cohort, _ = single_snp_cohort(n=400)
    lc = learning_curve(cohort, fractions=(0.5, 1.0), models=("l1-snps",), folds=2, repeats=1)
    for f in (0.5, 1.0):
        assert lc.results[f].n_samples == round(400 * f)
        assert lc.results[f].models["l1-snps"].auc_mean > 0.7

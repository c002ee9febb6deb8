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


# ---- per-gene principal components (docs/method.md#gene-centric-encoding) ------------------------
def _standardised_pca_scores(x, k):
    """The slow, obvious reference: standardise every varying SNP, scikit-learn's PCA scores,
    the sign that makes each component's largest loading positive."""
    from sklearn.decomposition import PCA

    x = x[:, x.std(0) > 0]
    z = (x - x.mean(0)) / x.std(0)
    pca = PCA(n_components=min(k, z.shape[1]), svd_solver="full").fit(z)
    scores = pca.transform(z)
    sign = np.sign(pca.components_[np.arange(len(scores.T)), np.abs(pca.components_).argmax(1)])
    return scores * sign


def test_gene_pcs_are_each_genes_standardised_pca_scores():
    from gxapp.epistasis.features import MAF_BINS, gene_pcs

    cohort, _ = single_snp_cohort(n=300, seed=2)
    g = cohort.genotypes.copy()
    g[5, 3] = -1  # a missing call: the SNP's mean
    gene_snps = dict(cohort.gene_snps)
    gene_snps[cohort.gene_names[3]] = np.asarray(cohort.gene_snps[cohort.gene_names[3]])[:1]  # one SNP
    c = Cohort(**{**cohort.__dict__, "genotypes": g, "gene_snps": gene_snps})
    pcs = gene_pcs(c, 3)
    d, _ = snp_dosages(c)
    assert pcs.shape == (300, 4, 3) and pcs.dtype == np.float32
    col = 0
    for gi, gene in enumerate(c.gene_names):
        n = len(c.gene_snps[gene])
        ref = _standardised_pca_scores(d[:, col : col + n].astype(np.float64), 3)
        col += n
        np.testing.assert_allclose(pcs[:, gi, : ref.shape[1]], ref, atol=2e-4)
        assert not pcs[:, gi, ref.shape[1] :].any()  # fewer SNPs than components: zeros
    x = d[:, -1]
    np.testing.assert_allclose(pcs[:, 3, 0], (x - x.mean()) / x.std(), atol=1e-5)  # one SNP: its z-score
    X, _, classes = gene_features(c, "snps", pcs=2)
    assert classes == list(MAF_BINS) + ["PC1", "PC2"] and X.shape == (300, 4, 6)
    np.testing.assert_allclose(X[:, :, 4:], pcs[:, :, :2])
    with pytest.raises(ParameterError, match="gene_pcs"):
        gene_features(c, "snps", pcs=-1)


@pytest.mark.parametrize("seed", [0, 1])
def test_gene_pcs_give_back_what_the_maf_bins_dilute(seed):
    """The strong single SNP of ``single_snp_cohort``: the per-gene L1 model on the MAF-bin sums
    misses it; on the bins plus each gene's first 5 PCs it gets back a large part of the gap to
    the dosage-level model (independent SNPs here: no LD to concentrate the SNP in few PCs)."""
    cohort, _ = single_snp_cohort(seed=seed)
    bins = compare(cohort, models=("l1", "l1-snps"), folds=3, repeats=1, seed=seed, gene_pcs=0)
    with_pcs = compare(cohort, models=("l1",), folds=3, repeats=1, seed=seed, gene_pcs=5)
    b, s, p = bins.models["l1"].auc_mean, bins.models["l1-snps"].auc_mean, with_pcs.models["l1"].auc_mean
    assert p > b + 0.1 and p - b > 0.4 * (s - b), (b, p, s)
    assert with_pcs.classes[-5:] == ["PC1", "PC2", "PC3", "PC4", "PC5"]

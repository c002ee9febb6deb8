"""LD pruning (gxapp.data.prune) and genotype PCs (gxapp.data.structure) against slow references,
planted cases, PLINK itself where it is installed, and through the file loader and the CLI."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from gxapp.analyses import cohorts
from gxapp.data import prune, structure
from gxapp.data.files import FileSpec
from gxapp.data.io.export import export_cohort
from gxapp.data.qc import QCParams
from gxapp.data.simulate.structure import structured_cohort
from gxapp.errors import ParameterError, SampleMismatchError

from helpers import make_cohort
from reference.prune import keep_r2_reference, keep_variance_reference, pcs_reference


def _ld_block(rng, n=300, p=12, missing=0.0):
    """Correlated genotypes: SNPs share latent haplotype factors."""
    f = rng.standard_normal((n, 3))
    load = rng.standard_normal((3, p)) * rng.uniform(0.2, 1.5, p)
    liab = f @ load + rng.standard_normal((n, p))
    g = (liab > np.quantile(liab, 0.4, axis=0)).astype(np.int8) + (liab > np.quantile(liab, 0.85, axis=0))
    if missing:
        g[rng.random(g.shape) < missing] = -1
    return g.astype(np.int8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_variance_rule_matches_reference(seed, fraction):
    g = _ld_block(np.random.default_rng(seed), missing=0.02 * (seed % 2))
    fast = prune.keep_variance(g, fraction)
    assert fast.tolist() == keep_variance_reference(g, fraction)
    # the kept SNPs explain the share asked for; one fewer does not (greedy stops at once)
    assert prune.variance_explained(g, fast) >= fraction - 1e-9
    assert prune.variance_explained(g, fast[:-1]) < fraction


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("window,step,r2", [(50, 5, 0.2), (4, 1, 0.1), (6, 3, 0.5)])
def test_r2_rule_matches_reference(seed, window, step, r2):
    g = _ld_block(np.random.default_rng(seed), p=20, missing=0.01 * seed)
    assert prune.keep_r2(g, r2, window, step).tolist() == keep_r2_reference(g, r2, window, step)


def test_planted_duplicates_are_pruned_and_independent_snps_kept():
    rng = np.random.default_rng(7)
    indep = rng.binomial(2, [0.2, 0.3, 0.4, 0.5], size=(2000, 4)).astype(np.int8)
    g = np.column_stack([indep[:, 0], indep[:, 0], indep[:, 1], indep[:, 2], indep[:, 2], indep[:, 3]])
    assert prune.keep_variance(g, 0.9).tolist() == [0, 2, 3, 5]  # one copy of each duplicate, first on a tie
    kept = prune.keep_r2(g, 0.2, 50, 5).tolist()
    assert kept == [0, 2, 3, 5]  # exact duplicates: the later copy goes
    assert prune.variance_explained(g, np.array(kept)) == pytest.approx(1.0)


def test_prune_cohort_reports_each_gene_and_keeps_every_gene():
    rng = np.random.default_rng(3)
    g = np.column_stack([_ld_block(rng, p=10), _ld_block(rng, p=8), rng.binomial(2, 0.3, (300, 1))]).astype(np.int8)
    genes = ["A"] * 10 + ["B"] * 8 + ["C"]
    c = make_cohort(g, genes=genes, phenotype=rng.standard_normal(300))
    out, rep = prune.prune_cohort(c, prune.PruneParams(method="variance", variance=0.8))
    assert out.gene_names == ["A", "B", "C"]
    t = rep.table.set_index("gene")
    assert t.loc["C", "snps_kept"] == 1 and t.loc["A", "snps_before"] == 10
    assert (t["variance_kept"] >= 0.8 - 1e-9).all() and t.loc["A", "snps_kept"] < 10
    assert out.n_snps == rep.n_snps_kept == t["snps_kept"].sum()
    assert "kept" in prune.describe_prune(out.meta["prune"])
    same, rep0 = prune.prune_cohort(c, prune.PruneParams(method="none"))
    assert same is c and rep0.kept == 0
    with pytest.raises(ParameterError, match="method"):
        prune.PruneParams(method="ld").validate()


def test_pcs_match_full_svd_and_separate_populations():
    c = structured_cohort(n_samples=600, n_genes=4, snps_per_gene=30, n_pops=3, fst=0.05, seed=1)
    z, cols = structure.standardise_variants(c.genotypes, 0.0)
    fast, share = structure.top_pcs(z, 4, seed=0)
    ref, ref_share = pcs_reference(c.genotypes[:, cols], 4)
    for i in range(2):  # the well-separated leading PCs agree up to sign
        assert abs(np.corrcoef(fast[:, i], ref[:, i])[0, 1]) > 0.999
    assert share[:2] == pytest.approx(ref_share[:2], rel=1e-3)
    # the first two PCs tell the three populations apart: population explains most of their variance
    for i in range(2):
        means = pd.Series(fast[:, i]).groupby(c.samples["population"].to_numpy()).transform("mean")
        assert np.var(means) / np.var(fast[:, i]) > 0.8
    assert np.allclose(fast.std(axis=0), 1.0, atol=0.05)


def test_population_structure_adds_pcs_as_covariates_or_says_why_not():
    c = structured_cohort(n_samples=400, n_genes=3, snps_per_gene=20, seed=2)
    out = structure.population_structure(c, structure.PCAParams(k=3))
    assert list(out.covariates.columns) == ["PC1", "PC2", "PC3"] and out.meta["pca"]["k"] == 3
    assert "3 genotype PCs" in structure.describe_pca(out.meta["pca"])
    none = structure.population_structure(c, structure.PCAParams(k=0))
    assert none.covariates is None and "set to 0" in structure.describe_pca(none.meta["pca"])
    given = structure.population_structure(out, structure.PCAParams(k=5))  # PC columns already there
    assert list(given.covariates.columns) == ["PC1", "PC2", "PC3"] and "already" in given.meta["pca"]["notes"][0]
    tiny = make_cohort(np.zeros((5, 2), dtype=np.int8), phenotype=np.arange(5.0))
    assert structure.population_structure(tiny).meta["pca"]["k"] == 0  # nothing to compute from: said, no error


def test_pcs_from_a_genome_wide_plink_set(tmp_path):
    c = structured_cohort(n_samples=300, n_genes=3, snps_per_gene=25, fst=0.05, seed=4)
    export_cohort(c, tmp_path)
    prefix = str(tmp_path / "cohort")
    from_file = structure.pcs_from_plink(prefix, c, structure.PCAParams(k=2))
    own = structure.cohort_pcs(c, structure.PCAParams(k=2))
    assert from_file.n_variants == own.n_variants
    np.testing.assert_allclose(np.abs(from_file.scores), np.abs(own.scores), atol=1e-6)
    assert "genome-wide" in from_file.source
    sub = c.subset_samples(np.arange(100))
    assert structure.pcs_from_plink(prefix, sub, structure.PCAParams(k=2)).scores.shape == (100, 2)
    other = make_cohort(c.genotypes[:10], phenotype=np.zeros(10))  # ids s0.. not in the .fam
    with pytest.raises(SampleMismatchError, match="not in it"):
        structure.pcs_from_plink(prefix, other)


@pytest.mark.skipif(shutil.which("plink1.9") is None, reason="Debian's plink1.9 is not installed")
def test_r2_pruning_agrees_with_plink(shared_data, tmp_path):
    from gxapp.data.io import plink

    pre = str(shared_data / "plink_eur_test" / "EUR_test")
    subprocess.run(
        ["plink1.9", "--bfile", pre, "--indep-pairwise", "50", "5", "0.2", "--out", str(tmp_path / "p")],
        check=True,
        capture_output=True,
    )
    ref = set((tmp_path / "p.prune.in").read_text().split())
    g = plink.read_plink(pre)
    ours = set()
    for chrom in g.snps["chrom"].unique():
        cols = np.flatnonzero(g.snps["chrom"].to_numpy() == chrom)
        cols = cols[np.argsort(g.snps["pos"].to_numpy()[cols], kind="stable")]
        ours |= set(g.snps["snp"].to_numpy()[cols[prune.keep_r2(g.genotypes[:, cols])]])
    assert len(ours & ref) / len(ours | ref) > 0.95  # measured 0.982 (826 shared of 828 / 839)


def test_file_loader_prunes_and_adds_pcs(tmp_path, shared_data):
    pre = str(shared_data / "plink_eur_test" / "EUR_test")
    spec = FileSpec(genotypes=pre)
    root = tmp_path / "cache"
    base = cohorts.from_files(spec, QCParams(prune="none", pca=0), root=root).cohort
    assert QCParams().prune == "none" and QCParams().pca == 10  # the defaults (bench/README.md)
    pruned = cohorts.from_files(spec, QCParams(prune="variance"), root=root).cohort
    assert pruned.n_snps < base.n_snps and pruned.n_genes == base.n_genes
    assert pruned.meta["prune"]["n_snps_kept"] == pruned.n_snps
    assert [f"PC{i}" for i in range(1, 11)] == list(pruned.covariates.columns)
    r2 = cohorts.from_files(spec, QCParams(prune="r2", prune_window=20, prune_step=2, pca=2), root=root).cohort
    assert r2.meta["prune"]["params"]["window"] == 20 and list(r2.covariates.columns) == ["PC1", "PC2"]
    with_file = cohorts.from_files(FileSpec(genotypes=pre, pca_bfile=pre + ".bed"), QCParams(pca=2), root=root)
    assert "genome-wide" in with_file.cohort.meta["pca"]["source"]


def test_covariates_are_fit_on_training_rows_only():
    from gxapp.data.preprocess import prepare

    rng = np.random.default_rng(0)
    n = 200
    cov = pd.DataFrame({"age": rng.normal(50, 10, n)})
    y = 0.1 * cov["age"].to_numpy() + rng.standard_normal(n)
    c = make_cohort(rng.binomial(2, 0.3, (n, 4)), phenotype=y, covariates=cov)
    a = prepare(c, inverse_normal_transform=False)
    y2 = y.copy()
    y2[a.test_idx] += 100.0  # the test rows' phenotypes must not move the fit
    c2 = make_cohort(c.genotypes, phenotype=y2, covariates=cov)
    b = prepare(c2, inverse_normal_transform=False)
    np.testing.assert_allclose(a.y[a.train_idx], b.y[b.train_idx])
    assert a.report["covariates_fit_on"] == "training rows"


def test_cli_qc_prunes_and_reports_pcs(shared_data, tmp_path, monkeypatch, capsys):
    import json

    from gxapp.cli import main

    monkeypatch.setenv("GXAPP_CACHE", str(tmp_path / "cache"))
    pre = str(shared_data / "plink_eur_test" / "EUR_test")
    js = tmp_path / "qc.json"
    args = ["qc", "--bfile", pre, "--prune", "r2", "--indep-pairwise", "20", "2", "0.3", "--pca", "3"]
    assert main(args + ["--json", str(js)]) == 0
    out = json.loads(js.read_text())
    assert out["ld_pruning"]["params"]["window"] == 20 and out["ld_pruning"]["params"]["r2"] == 0.3
    assert out["ld_pruning"]["n_snps_kept"] == out["n_snps"] < out["ld_pruning"]["n_snps_before"]
    assert out["pca"]["k"] == 3 and len(out["pca"]["explained"]) == 3
    printed = capsys.readouterr().out
    assert "LD pruning (r² ≤ 0.3 in windows of 20 SNPs (step 2)) kept" in printed and "3 genotype PCs" in printed
    assert main(["qc", "--bfile", pre, "--prune", "r2", "--indep-pairwise", "20", "x", "0.3"]) != 0
    assert "--indep-pairwise: expected WINDOW STEP R2" in capsys.readouterr().err


def test_a_truth_file_with_ones_own_files(tmp_path, monkeypatch):
    """truth.json as `simulate` writes it, given with the files: the cohort carries the planted pairs (AP and
    PR become available); a malformed file or one naming no cohort gene is a clear error."""
    import json

    from gxapp.data.io.truth import read_truth
    from gxapp.data.simulate import SimParams, simulate_cohort
    from gxapp.errors import InputFormatError

    c = simulate_cohort(SimParams(n_samples=200, n_genes=4, genotype_model="binomial", snps_per_gene=3))
    export_cohort(c, tmp_path)
    spec = dict(genotypes=str(tmp_path / "cohort"), pheno=str(tmp_path / "phenotype.tsv"), flank=0)
    spec["genes"] = str(tmp_path / "genes.tsv")
    loaded = cohorts.from_files(FileSpec(**spec, truth=str(tmp_path / "truth.json")), root=tmp_path / "c").cohort
    assert loaded.truth["pairs"] == c.truth["pairs"] and loaded.truth["types"] == c.truth["types"]
    (tmp_path / "bad.json").write_text('{"pairs": [["G01"]]}')
    with pytest.raises(InputFormatError, match="bad.json"):
        read_truth(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text(json.dumps({"pairs": [["X1", "X2"]]}))
    with pytest.raises(InputFormatError, match="none of its 1 pairs"):
        cohorts.from_files(FileSpec(**spec, truth=str(tmp_path / "other.json")), root=tmp_path / "c")


def test_genome_wide_pcs_stay_within_their_memory_cap_and_reject_repeated_iids(tmp_path):
    from gxapp.errors import DuplicateIdError

    c = structured_cohort(n_samples=200, n_genes=4, snps_per_gene=25, fst=0.05, seed=6)
    export_cohort(c, tmp_path)
    prefix = str(tmp_path / "cohort")
    full = structure.pcs_from_plink(prefix, c, structure.PCAParams(k=2))
    capped = structure.pcs_from_plink(prefix, c, structure.PCAParams(k=2, max_bytes=200 * 40))  # 40 variants
    assert 20 <= capped.n_variants <= 40 < full.n_variants and capped.scores.shape == (200, 2)
    pop = (c.samples["population"] == "POP2").to_numpy()
    for res in (full, capped):  # thinned evenly, PC1 still follows ancestry
        assert abs(np.corrcoef(res.scores[:, 0], pop)[0, 1]) > 0.7
    fam = (tmp_path / "cohort.fam").read_text().splitlines()
    fam[1] = fam[0]
    (tmp_path / "cohort.fam").write_text("\n".join(fam) + "\n")
    with pytest.raises(DuplicateIdError, match="appears 2 times"):
        structure.pcs_from_plink(prefix, c)


def test_review_fixes_truth_checks_pruning_flags_and_population_labels(tmp_path, shared_data, capsys):
    import json

    from gxapp.cli import _qc_params, build_parser
    from gxapp.data.io.truth import read_truth
    from gxapp.errors import InputFormatError

    for bad, match in (
        ({"pairs": []}, "no planted pair"),
        ({"pairs": [["A", "A"]]}, "with itself"),
        ({"pairs": [["A", "B"], ["C", "D"]], "types": {"A|B": "max"}}, "no type for C × D"),
    ):
        (tmp_path / "t.json").write_text(json.dumps(bad))
        with pytest.raises(InputFormatError, match=match):
            read_truth(tmp_path / "t.json")
    # --indep-pairwise means r² pruning (as in PLINK), and a step longer than the window is refused
    pre = str(shared_data / "plink_eur_test" / "EUR_test")
    a = build_parser().parse_args(["qc", "--bfile", pre, "--indep-pairwise", "20", "2", "0.3"])
    q = _qc_params(a)
    assert (q.prune, q.prune_window, q.prune_step, q.prune_r2) == ("r2", 20, 2, 0.3)
    with pytest.raises(ParameterError, match="prune_step"):
        QCParams(prune="r2", prune_window=4, prune_step=10).validate()
    # a population column of the covariate file labels the PC plot; it is not regressed out
    c = structured_cohort(n_samples=120, n_genes=2, snps_per_gene=10, n_pops=3, seed=8)
    export_cohort(c, tmp_path)
    cov = pd.DataFrame({"IID": c.samples["iid"], "population": c.samples["population"], "age": 50.0})
    cov["age"] += np.arange(len(cov)) % 7
    cov.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    spec = FileSpec(
        genotypes=str(tmp_path / "cohort"), covar=str(tmp_path / "cov.tsv"), genes=str(tmp_path / "genes.tsv")
    )
    got = cohorts.from_files(spec, QCParams(pca=2), root=tmp_path / "c").cohort
    assert list(got.covariates.columns) == ["age", "PC1", "PC2"]
    assert set(got.samples["population"]) == {"POP1", "POP2", "POP3"}

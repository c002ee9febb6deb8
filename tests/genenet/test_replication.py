"""Replication in a second cohort (paper A, Eq. 5): SNP matching with flips and gaps, the
alignment of genotypes to the discovery coding, and a planted pair that must replicate while
the others must not."""

import json

import numpy as np
import pandas as pd
import pytest

from gxapp.analyses import cohorts, runs
from gxapp.analyses import replications as rp
from gxapp.data.simulate import SimParams
from gxapp.errors import GeneMappingError, ParameterError
from gxapp.genenet.replication import align_genotypes, check_match, eq5_pair_test, match_snps


def _snps(rows):
    return pd.DataFrame(rows, columns=["snp", "chrom", "pos", "a1", "a2"])


DISC = _snps(
    [
        ("rs1", "1", 100, "A", "G"),  # same position and alleles
        ("rs2", "1", 200, "C", "T"),  # alleles swapped in the replication cohort: flipped
        ("rs3", "1", 300, "A", "C"),  # same position, other alleles: not the same variant
        ("rs4", "2", 400, "G", "T"),  # moved (other build) but the same id and alleles
        ("rs5", "2", 500, "A", "T"),  # absent
    ]
)
REP = _snps(
    [
        ("x2", "1", 200, "T", "C"),
        ("rs1", "1", 100, "a", "g"),  # case does not matter
        ("x3", "1", 300, "A", "G"),
        ("rs4", "2", 999, "G", "T"),
    ]
)


def test_snps_match_by_position_and_alleles_then_by_id_with_flips():
    m = match_snps(DISC, REP)
    assert m.index.tolist() == [1, 0, -1, 3, -1]
    assert m.flip.tolist() == [False, True, False, False, False]
    rep = m.report()
    assert rep["matched_by_position"] == 2 and rep["matched_by_id"] == 1 and rep["flipped"] == 1
    assert rep["allele_mismatch"] == 1 and rep["missing"] == 2 and rep["missing_examples"] == ["rs3", "rs5"]


def test_aligned_genotypes_use_the_discovery_coding_and_means():
    m = match_snps(DISC, REP)
    G = np.array([[0, 2, 1, 1], [1, -1, 2, 0], [2, 0, 0, 2]], np.int8)  # replication columns x2, rs1, x3, rs4
    means = np.array([0.5, 1.0, 0.7, 1.2, 0.9])
    X = align_genotypes(G, m, means)
    # rs1 = column 1 as is; rs2 = column 0 flipped (2 − g); rs3, rs5 absent → 0; rs4 = column 3
    expect = np.zeros((3, 5), np.float32)
    for r in range(3):
        expect[r, 0] = 0.0 if G[r, 1] < 0 else G[r, 1] - means[0]
        expect[r, 1] = (2 - G[r, 0]) - means[1]
        expect[r, 3] = G[r, 3] - means[3]
    np.testing.assert_allclose(X, expect, atol=1e-6)


def test_too_many_absent_snps_is_refused_with_what_to_check():
    m = match_snps(DISC, REP.iloc[:1])
    with pytest.raises(GeneMappingError, match="4 of the run's 5 SNPs.*genome build"):
        check_match(m, [np.arange(5)])
    share = check_match(match_snps(DISC, REP), [np.array([0, 1]), np.array([2, 3, 4])])
    np.testing.assert_allclose(share, [0.0, 2 / 3])


def test_eq5_slope_is_positive_for_a_real_interaction_and_null_without_one():
    rng = np.random.default_rng(0)
    n = 4000
    g = rng.normal(size=(2 * n, 2))
    y_int = g[:, 0] + g[:, 1] + 0.8 * g[:, 0] * g[:, 1] + rng.normal(size=2 * n)
    y_add = g[:, 0] + g[:, 1] + rng.normal(size=2 * n)
    hit = eq5_pair_test(g[:n], y_int[:n], g[n:], y_int[n:], steps=300)
    assert hit.slope > 0.5 and hit.p < 1e-10
    miss = eq5_pair_test(g[:n], y_add[:n], g[n:], y_add[n:], steps=300)
    assert miss.p > 0.001


@pytest.fixture(scope="module")
def discovery_and_replication(tmp_path_factory):
    root = tmp_path_factory.mktemp("replication")
    base = cohorts.from_simulation(
        SimParams(
            scenario="simple", n_samples=5000, n_genes=5, snr=1.0, seed=3, genotype_model="binomial", snps_per_gene=6
        ),
        root=root,
    )
    disc, rep = cohorts.split(base.key, 0.3, 0, root)
    run = runs.get(disc.key, runs.RunParams(ensemble=3, seed=0), root)
    return run, disc, rep, root


def test_split_parts_are_disjoint_cached_and_keep_the_truth(discovery_and_replication):
    run, disc, rep, root = discovery_and_replication
    a, b = set(disc.cohort.samples["iid"]), set(rep.cohort.samples["iid"])
    assert not a & b and len(a) + len(b) == 5000 and len(b) == 1500
    assert disc.cohort.truth == rep.cohort.truth and disc.cohort.truth["pairs"]
    again = cohorts.split(cohorts.open_cohort(disc.key, root).meta["base_cohort"], 0.3, 0, root)
    assert again[1].key == rep.key and again[1].cached


def test_planted_pairs_replicate_and_the_others_do_not(discovery_and_replication):
    run, disc, rep, root = discovery_and_replication
    res = rp.get(run.key, rep.key, rp.ReplicationParams(pairs="all"), root)
    t = res.table
    assert len(t) == 10 and t["true"].sum() == 2 and (t["n_snps_missing"] == 0).all()
    planted, others = t[t["true"]], t[~t["true"]]
    assert (planted["p_replication"] < 1e-4).all() and (planted["slope"] > 0).all()
    assert (others["p_replication"] > 1e-3).all()
    assert (planted["p_topsnp_replication"] < 0.05).all()
    assert set(res.points["pair"]) == {f"{a} × {b}" for a, b in zip(t["gene_a"], t["gene_b"])}
    assert set(res.points["group"]) == {"low", "medium", "high"}
    assert rp.get(run.key, rep.key, rp.ReplicationParams(pairs="all"), root).cached
    # the default set: the discovery pairs at held-out FDR < 0.1
    fdr = rp.get(run.key, rep.key, rp.ReplicationParams(), root).table
    assert set(zip(fdr["gene_a"], fdr["gene_b"])) >= set(zip(planted["gene_a"], planted["gene_b"]))
    assert (fdr["q_discovery"] < 0.1).all()


def test_bad_replication_requests_say_what_to_do(discovery_and_replication):
    run, disc, rep, root = discovery_and_replication
    with pytest.raises(ParameterError, match="another cohort"):
        rp.get(run.key, disc.key, rp.ReplicationParams(pairs="all"), root)
    with pytest.raises(ParameterError, match="not among the run's genes"):
        rp.get(run.key, rep.key, rp.ReplicationParams(pairs="list", chosen=("G01:NOPE",)), root)
    with pytest.raises(ParameterError, match="GENE_A:GENE_B"):
        rp.ReplicationParams(pairs="list", chosen=("G01",)).validate()


def test_cli_replicate_json(discovery_and_replication, monkeypatch, tmp_path):
    from gxapp.cli import main

    run, disc, rep, root = discovery_and_replication
    monkeypatch.setenv("GXAPP_CACHE", str(root))
    js = tmp_path / "rep.json"
    assert (
        main(["replicate", "--run", run.key[:12], "--cohort", rep.key, "--pairs", "all", "--quiet", "--json", str(js)])
        == 0
    )
    out = json.loads(js.read_text())
    assert out["run"] == run.key and out["replication_cohort"] == rep.key and out["n_replication"] == 1500
    assert len(out["pairs"]) == 10 and out["snp_match"]["missing"] == 0
    first = out["pairs"][0]
    assert {"gene_a", "gene_b", "p_replication", "p_topsnp_replication", "n_snps_missing"} <= set(first)
    assert main(["replicate", "--run", "ffffffffffff", "--cohort", rep.key, "--quiet"]) == 2


def test_cli_replicate_with_the_second_cohort_as_plink2_files(discovery_and_replication, monkeypatch, tmp_path):
    import shutil
    import subprocess

    from gxapp.cli import main
    from gxapp.data.io.export import export_cohort

    if shutil.which("plink2") is None:
        pytest.skip("Debian's plink2 is not installed")
    run, disc, rep, root = discovery_and_replication
    monkeypatch.setenv("GXAPP_CACHE", str(root))
    export_cohort(rep.cohort, tmp_path / "second")
    subprocess.run(
        ["plink2", "--bfile", str(tmp_path / "second" / "cohort"), "--make-pgen", "--out", str(tmp_path / "second2")],
        check=True,
        capture_output=True,
    )
    js = tmp_path / "rep.json"
    args = ["replicate", "--run", run.key, "--pfile", str(tmp_path / "second2"), "--pheno"]
    args += [str(tmp_path / "second" / "phenotype.tsv"), "--genes", str(tmp_path / "second" / "genes.tsv")]
    assert main(args + ["--pairs", "all", "--pca", "0", "--quiet", "--json", str(js)]) == 0  # as the split cohort
    out = json.loads(js.read_text())
    by_cohort = rp.get(run.key, rep.key, rp.ReplicationParams(pairs="all"), root).table
    assert out["n_replication"] == 1500 and out["snp_match"]["missing"] == 0
    np.testing.assert_allclose(
        [p["p_replication"] for p in out["pairs"]], by_cohort["p_replication"].to_numpy(), rtol=1e-6, atol=1e-12
    )


def test_the_fig7a_scatter_renders(discovery_and_replication):
    from gxapp import plots as charts

    run, disc, rep, root = discovery_and_replication
    res = rp.get(run.key, rep.key, rp.ReplicationParams(pairs="all"), root)
    pair = res.points["pair"].iloc[0]
    svg = charts.to_svg(charts.replication_scatter(res.points, pair))
    assert "<svg" in svg and "predicted interaction" in svg  # the regression layer used to break the whole chart


def test_a_run_trained_on_the_replication_individuals_is_refused(discovery_and_replication):
    run, disc, rep, root = discovery_and_replication
    base = cohorts.open_cohort(disc.key, root).meta["base_cohort"]
    full_run = runs.get(base, runs.RunParams(ensemble=2, max_epochs=3, patience=2), root)
    with pytest.raises(ParameterError, match="were used to train this run.*split the cohort before training"):
        rp.get(full_run.key, rep.key, rp.ReplicationParams(pairs="all"), root)


def test_id_names_alone_do_not_count_as_the_same_individuals(tmp_path):
    from gxapp.analyses.replications import check_independent

    sim = dict(scenario="null", n_samples=300, n_genes=3, genotype_model="binomial", snps_per_gene=10)
    a = cohorts.from_simulation(SimParams(seed=1, **sim), root=tmp_path).cohort
    b = cohorts.from_simulation(SimParams(seed=2, **sim), root=tmp_path).cohort
    assert set(a.samples["iid"]) == set(b.samples["iid"])  # the simulator reuses names
    check_independent(a, b, np.arange(300), match_snps(a.snps, b.snps))  # different people: no error
    with pytest.raises(ParameterError, match="300 of the replication"):
        check_independent(a, a, np.arange(300), match_snps(a.snps, a.snps))

"""Cohort sources end to end: files -> genes -> samples -> QC -> cache, the
simulate -> PLINK -> load round trip, and bad inputs across files."""

import json

import numpy as np
import pandas as pd
import pytest

from gxapp.analyses import cohorts
from gxapp.data.cohort import validate
from gxapp.data.io.export import export_cohort
from gxapp.data.qc import QCParams
from gxapp.data.simulate import SimParams
from gxapp.errors import GeneMappingError, InputFormatError, SampleMismatchError

NO_QC = QCParams(geno=1.0, maf=0.0, hwe=0.0)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    root = tmp_path_factory.mktemp("simcache")
    params = SimParams(
        scenario="complex", n_samples=600, n_genes=10, snr=1.0, seed=7, genotype_model="binomial", snps_per_gene=6
    )
    h = cohorts.from_simulation(params, root=root)
    out = tmp_path_factory.mktemp("export")
    export_cohort(h.cohort, out)
    return h, out, root


def test_simulation_is_cached(sim):
    h, _, root = sim
    again = cohorts.from_simulation(
        SimParams(
            scenario="complex", n_samples=600, n_genes=10, snr=1.0, seed=7, genotype_model="binomial", snps_per_gene=6
        ),
        root=root,
    )
    assert again.cached and again.key == h.key
    assert np.array_equal(again.cohort.genotypes, h.cohort.genotypes)
    assert again.cohort.truth == h.cohort.truth
    assert h.key in [m["key"] for m in cohorts.list_cohorts(root)]


def test_round_trip_simulate_plink_load(sim, tmp_path):
    h, out, _ = sim
    spec = cohorts.FileSpec(
        genotypes=str(out / "cohort"), pheno=str(out / "phenotype.tsv"), genes=str(out / "genes.tsv")
    )
    loaded = cohorts.from_files(spec, NO_QC, root=tmp_path).cohort
    c = h.cohort
    assert np.array_equal(loaded.genotypes, c.genotypes)
    assert list(loaded.samples["iid"]) == list(c.samples["iid"])
    assert list(loaded.snps["snp"]) == list(c.snps["snp"])
    assert loaded.gene_names == c.gene_names
    for g in c.gene_names:
        assert np.array_equal(loaded.gene_snps[g], c.gene_snps[g])
    np.testing.assert_allclose(loaded.phenotype, c.phenotype, rtol=1e-6)
    truth = json.loads((out / "truth.json").read_text())
    assert truth["pairs"] == c.truth["pairs"] and len(truth["pairs"]) == 6
    # second load of the same files is a cache hit
    again = cohorts.from_files(spec, NO_QC, root=tmp_path)
    assert again.cached


def test_changed_file_or_parameter_changes_the_key(sim, tmp_path):
    _, out, _ = sim
    spec = cohorts.FileSpec(
        genotypes=str(out / "cohort"), pheno=str(out / "phenotype.tsv"), genes=str(out / "genes.tsv")
    )
    k1 = cohorts.from_files(spec, NO_QC, root=tmp_path).key
    k2 = cohorts.from_files(spec, QCParams(geno=1.0, maf=0.2, hwe=0.0), root=tmp_path).key
    p = pd.read_csv(out / "phenotype.tsv", sep="\t")
    p.loc[0, "y"] = 123.0
    alt = tmp_path / "pheno2.tsv"
    p.to_csv(alt, sep="\t", index=False)
    spec2 = cohorts.FileSpec(genotypes=str(out / "cohort"), pheno=str(alt), genes=str(out / "genes.tsv"))
    k3 = cohorts.from_files(spec2, NO_QC, root=tmp_path).key
    assert len({k1, k2, k3}) == 3


def test_phenotype_ids_matching_nothing(sim, tmp_path):
    _, out, _ = sim
    bad = tmp_path / "pheno.txt"
    bad.write_text("".join(f"F{i} X{i} {i % 3}.5\n" for i in range(50)))
    spec = cohorts.FileSpec(genotypes=str(out / "cohort"), pheno=str(bad), genes=str(out / "genes.tsv"))
    with pytest.raises(SampleMismatchError, match="none of its 50 sample ids match the 600"):
        cohorts.from_files(spec, NO_QC, root=tmp_path)
    assert cohorts.list_cohorts(tmp_path) == []


def test_partial_phenotype_reports_matches_and_qc_drops_the_rest(sim, tmp_path):
    _, out, _ = sim
    p = pd.read_csv(out / "phenotype.tsv", sep="\t").iloc[:500]
    f = tmp_path / "p.tsv"
    p.to_csv(f, sep="\t", index=False)
    spec = cohorts.FileSpec(genotypes=str(out / "cohort"), pheno=str(f), genes=str(out / "genes.tsv"))
    c = cohorts.from_files(spec, NO_QC, root=tmp_path).cohort
    assert c.meta["load_report"]["phenotype_matched"] == 500
    assert c.n_samples == 500
    assert c.meta["qc"]["removed"]["no_phenotype"] == 100


@pytest.mark.parametrize(
    "name, match",
    [("x.vcf", "not found"), ("x.xyz", "cannot tell the genotype format")],
    ids=["missing-file", "unknown-format"],
)
def test_missing_file_and_unknown_format(tmp_path, name, match):
    with pytest.raises(InputFormatError, match=match):
        cohorts.from_files(cohorts.FileSpec(genotypes=str(tmp_path / name)), root=tmp_path)


def test_real_plink_grch37(shared_data, tmp_path):
    spec = cohorts.FileSpec(genotypes=str(shared_data / "plink_eur_test" / "EUR_test"), genes="grch37")
    h = cohorts.from_files(spec, root=tmp_path)
    c = validate(h.cohort)
    assert c.n_samples == 379
    assert 20 < c.n_genes and 0 < c.n_snps <= 2000
    assert c.meta["mapping"]["n_snps_mapped"] > 0.3 * 2000
    assert sum(c.meta["qc"]["removed"].values()) >= 0
    assert cohorts.from_files(spec, root=tmp_path).cached


def test_real_vcf_with_gene_list(shared_data, tmp_path):
    spec = cohorts.FileSpec(genotypes=str(shared_data / "vcf" / "beagle_chr22.vcf"), genes="grch37")
    c = cohorts.from_files(spec, root=tmp_path).cohort
    assert c.n_samples == 191 and c.n_genes > 5
    keep = c.gene_names[:3]
    c3 = cohorts.from_files(
        cohorts.FileSpec(genotypes=spec.genotypes, genes="grch37", keep_genes=keep), root=tmp_path
    ).cohort
    assert c3.gene_names == keep


def test_real_plink_on_wrong_build_says_so(shared_data, tmp_path):
    spec = cohorts.FileSpec(genotypes=str(shared_data / "plink_eur_test" / "EUR_test"), genes="grch38", flank=0)
    try:
        c = cohorts.from_files(spec, root=tmp_path).cohort
    except GeneMappingError as exc:
        assert "grch37" in str(exc).lower() or "build" in str(exc).lower()
    else:
        assert any("GRCh37" in w or "grch37" in w.lower() for w in c.meta["mapping"].get("warnings", []))


def test_simulate_on_real_genotypes(shared_data, tmp_path):
    base = cohorts.from_files(
        cohorts.FileSpec(genotypes=str(shared_data / "plink_eur_test" / "EUR_test"), genes="grch37"), root=tmp_path
    )
    genes = list(base.cohort.snps_per_gene().sort_values(ascending=False).index[:10])
    h = cohorts.simulate_on(
        base.key, SimParams(scenario="complex", n_samples=379, n_genes=10, snr=1.0, seed=2), root=tmp_path, genes=genes
    )
    c = h.cohort
    assert np.array_equal(np.sort(c.samples["iid"]), np.sort(base.cohort.samples["iid"]))
    assert len(c.truth["pairs"]) == 6
    assert all(g in genes for pair in c.truth["pairs"] for g in pair)
    assert np.isfinite(c.phenotype).all()

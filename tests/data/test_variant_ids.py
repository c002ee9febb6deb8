"""Duplicate and missing variant ids (issue: real files carry them): exact duplicates dropped,
distinct variants sharing an id renamed (or dropped), missing ids set to chrom:pos:ref:alt —
in the resolver, in the VCF and PLINK loaders, and in the CLI's QC line."""

import numpy as np
import pandas as pd
import pytest

from gxapp.data.io.genotypes import Genotypes, describe_variant_ids, resolve_variant_ids
from gxapp.data.io.plink import read_plink, write_plink
from gxapp.data.io.vcf import read_vcf


def _snps(rows):
    return pd.DataFrame(rows, columns=["snp", "chrom", "pos", "a1", "a2"])


SNPS = _snps(
    [
        ("rs1", "22", 100, "C", "T"),
        ("rs1", "22", 100, "G", "T"),  # split multi-allelic: another variant, the same id
        ("rs1", "22", 100, "C", "T"),  # exact duplicate of the first (dropped whatever its id)
        (".", "22", 200, "A", "G"),  # missing id
        ("rs1_2", "22", 300, "A", "C"),  # already named like a renamed id
        ("rs9", "22", 400, "A", "G"),
        ("rs9x", "22", 400, "G", "A"),  # the same position and alleles (swapped): an exact duplicate
    ]
)


def test_rename_policy():
    keep, ids, rep = resolve_variant_ids(SNPS, "rename")
    assert keep.tolist() == [True, True, False, True, True, True, False]
    assert list(ids) == ["rs1", "rs1_3", "22:200:G:A", "rs1_2", "rs9"]  # rs1_2 was taken: the next free suffix
    assert rep["missing_ids_set"] == 1 and rep["exact_duplicates_dropped"] == 2 and rep["shared_id_rows_renamed"] == 1
    assert rep["exact_duplicate_examples"] == ["rs1", "rs9x"] and rep["shared_id_examples"] == ["rs1"]
    assert len(set(ids)) == len(ids)


def test_drop_policy_keeps_the_first_of_each_shared_id():
    keep, ids, rep = resolve_variant_ids(SNPS, "drop")
    assert keep.tolist() == [True, False, False, True, True, True, False]
    assert list(ids) == ["rs1", "22:200:G:A", "rs1_2", "rs9"]
    assert rep["shared_id_rows_dropped"] == 1
    assert "1 variants sharing an id dropped (e.g. rs1)" in describe_variant_ids(rep)


def test_unique_ids_are_left_alone():
    snps = SNPS.iloc[[0, 3, 4, 5]].assign(snp=["a", "b", "c", "d"])
    keep, ids, rep = resolve_variant_ids(snps)
    assert keep.all() and list(ids) == ["a", "b", "c", "d"] and not rep["changed"]
    assert describe_variant_ids(rep) == "all unique"


def test_genotype_columns_follow_the_ids():
    g = np.arange(3 * 7, dtype=np.int8).reshape(3, 7) % 3
    samples = pd.DataFrame({"fid": ["a", "b", "c"], "iid": ["a", "b", "c"]})
    geno = Genotypes(g, samples, SNPS).with_unique_variant_ids("rename").validate()
    np.testing.assert_array_equal(geno.genotypes, g[:, [0, 1, 3, 4, 5]])
    assert geno.meta["variant_ids"]["exact_duplicates_dropped"] == 2


def _vcf_with_duplicates(src, out):
    """The real beagle VCF with: three records given one id, one record repeated, one id '.'."""
    lines = src.read_text().splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln.split("\t") for ln in lines if not ln.startswith("#")][:40]
    for k in (1, 2, 3):
        body[k][2] = body[0][2]  # distinct variants (other positions) sharing rs id
    body[5][2] = "."
    body.insert(8, list(body[7]))  # an exact duplicate record
    out.write_text("\n".join(head + ["\t".join(r) for r in body]) + "\n")
    return body[0][2]


def test_a_real_vcf_with_duplicate_ids_loads_and_says_what_it_did(shared_data, tmp_path):
    path = tmp_path / "dup.vcf"
    rs = _vcf_with_duplicates(shared_data / "vcf" / "beagle_chr22.vcf", path)
    geno = read_vcf(path)
    ids = list(geno.snps["snp"])
    assert len(ids) == len(set(ids)) == 40  # 41 records, one exact duplicate dropped
    assert [rs, f"{rs}_2", f"{rs}_3", f"{rs}_4"] == ids[:4]
    row5 = geno.snps.iloc[5]
    assert ids[5] == f"22:{row5['pos']}:{row5['a2']}:{row5['a1']}"
    rep = geno.meta["variant_ids"]
    assert rep["exact_duplicates_dropped"] == 1 and rep["shared_id_rows_renamed"] == 3 and rep["missing_ids_set"] == 1
    dropped = read_vcf(path, duplicate_ids="drop")
    assert len(dropped.snps) == 37


def test_plink_bim_with_duplicate_ids(tmp_path):
    g = np.random.default_rng(0).integers(0, 3, size=(20, 4)).astype(np.int8)
    samples = pd.DataFrame({"fid": [f"s{i}" for i in range(20)], "iid": [f"s{i}" for i in range(20)]})
    snps = _snps(
        [("rsA", "1", 10, "A", "G"), ("rsA", "1", 20, "C", "T"), ("rsB", "1", 30, "A", "C"), (".", "1", 40, "G", "T")]
    )
    snps["snp"] = ["rsA", "rsA2", "rsB", "rsD"]
    write_plink(tmp_path / "p", Genotypes(g, samples, snps))
    bim = (tmp_path / "p.bim").read_text().replace("rsA2", "rsA").replace("rsD", ".")
    (tmp_path / "p.bim").write_text(bim)
    geno = read_plink(tmp_path / "p")
    assert list(geno.snps["snp"]) == ["rsA", "rsA_2", "rsB", "1:40:T:G"]
    np.testing.assert_array_equal(geno.genotypes, g)


def test_cli_qc_prints_the_variant_id_line(shared_data, tmp_path, cache_dir, capsys):
    from gxapp.cli import main

    path = tmp_path / "dup.vcf"
    _vcf_with_duplicates(shared_data / "vcf" / "beagle_chr22.vcf", path)
    assert main(["qc", "--vcf", str(path), "--genes", "grch37", "--maf", "0", "--hwe", "0"]) == 0
    out = capsys.readouterr().out
    assert "variant ids — 1 missing set to chrom:pos:ref:alt; 1 exact duplicates dropped" in out
    assert "3 variants sharing an id renamed id_2" in out


@pytest.mark.parametrize("policy", ["nope"])
def test_bad_policy_is_named(policy):
    from gxapp.errors import InputFormatError

    with pytest.raises(InputFormatError, match="duplicate_ids"):
        resolve_variant_ids(SNPS, policy)

"""PLINK 2 (.pgen/.pvar/.psam) through pgenlib: the same samples, SNPs and genotypes as the
PLINK 1 fileset it was converted from by Debian's plink2; IID-only .psam; multi-allelic split;
only the selected variants read; the same cohort through `qc` and the cohort loader."""

import shutil
import subprocess

import numpy as np
import pytest

from gxapp.data.io.pgen import check_pgen, read_pgen, read_psam
from gxapp.data.io.plink import read_plink
from gxapp.errors import InputFormatError

needs_plink2 = pytest.mark.skipif(shutil.which("plink2") is None, reason="Debian's plink2 is not installed")


@pytest.fixture
def eur_pgen(shared_data, tmp_path):
    if shutil.which("plink2") is None:
        pytest.skip("Debian's plink2 is not installed")
    bfile = shared_data / "plink_eur_test" / "EUR_test"
    subprocess.run(
        ["plink2", "--bfile", str(bfile), "--make-pgen", "--out", str(tmp_path / "eur")],
        check=True,
        capture_output=True,
    )
    return bfile, tmp_path / "eur"


def test_pgen_reads_what_plink1_reads(eur_pgen):
    bfile, prefix = eur_pgen
    a, b = read_pgen(prefix), read_plink(bfile)
    np.testing.assert_array_equal(a.genotypes, b.genotypes)
    cols = ["snp", "chrom", "pos", "a1", "a2"]
    assert (a.snps[cols].to_numpy() == b.snps[cols].to_numpy()).all()
    assert list(a.samples["iid"]) == list(b.samples["iid"]) and a.meta["sample_ids"] == "FID and IID"


def test_only_the_selected_variants_are_read(eur_pgen):
    bfile, prefix = eur_pgen
    sel = np.array([5, 1, 700, 1999])
    a = read_pgen(prefix, select=sel)
    b = read_plink(bfile)
    np.testing.assert_array_equal(a.genotypes, b.genotypes[:, np.sort(sel)])


def test_iid_only_psam_and_multiallelic_split(tmp_path):
    if shutil.which("plink2") is None:
        pytest.skip("Debian's plink2 is not installed")
    vcf = tmp_path / "m.vcf"
    vcf.write_text(
        '##fileformat=VCFv4.2\n##contig=<ID=1>\n##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
        "1\t100\trs1\tA\tG\t.\t.\t.\tGT\t0/1\t1/1\t0/0\n"
        "1\t200\trs2\tC\tT,G\t.\t.\t.\tGT\t0/2\t1/2\t./.\n"
    )
    subprocess.run(
        ["plink2", "--vcf", str(vcf), "--make-pgen", "--out", str(tmp_path / "m")], check=True, capture_output=True
    )
    assert read_psam(tmp_path / "m.psam").attrs["ids"] == "IID only (FID set to IID)"
    g = read_pgen(tmp_path / "m")
    assert list(g.snps["snp"]) == ["rs1", "rs2:T", "rs2:G"]
    np.testing.assert_array_equal(g.genotypes, [[1, 0, 1], [2, 1, 1], [0, -1, -1]])
    assert len(read_pgen(tmp_path / "m", multiallelic="skip").snps) == 1


def test_missing_or_damaged_files_are_clear(tmp_path):
    with pytest.raises(InputFormatError, match="x.pgen: file not found"):
        check_pgen(tmp_path / "x")
    for ext in (".pgen", ".pvar", ".psam"):
        (tmp_path / f"y{ext}").write_text("#IID\na\n" if ext == ".psam" else "not a pgen\n")
    (tmp_path / "y.pvar").write_text("#CHROM\tPOS\tID\tREF\tALT\n1\t10\trs1\tA\tG\n")
    with pytest.raises(InputFormatError, match="y.pgen: not a readable .pgen"):
        check_pgen(tmp_path / "y")


def test_the_same_cohort_through_qc_from_plink1_and_plink2(eur_pgen, cache_dir, capsys):
    import json

    from gxapp.cli import main

    bfile, prefix = eur_pgen
    outs = {}
    for flag, path in (("--bfile", bfile), ("--pfile", prefix)):
        js = cache_dir.parent / f"qc{flag}.json"
        assert main(["qc", flag, str(path), "--genes", "grch37", "--json", str(js)]) == 0
        outs[flag] = json.loads(js.read_text())
    a, b = outs["--bfile"], outs["--pfile"]
    assert (a["n_samples"], a["n_snps"], a["n_genes"]) == (b["n_samples"], b["n_snps"], b["n_genes"])
    assert a["genes"] == b["genes"] and a["removed"] == b["removed"]

"""PLINK reader/writer: round trips, broken filesets, the real EUR_test fileset."""

import threading

import numpy as np
import pandas as pd
import pytest
from bed_reader import open_bed

from gxapp.data.io import plink
from gxapp.data.io.genotypes import Genotypes
from gxapp.data.io.plink import read_bim, read_fam, read_plink, write_plink
from gxapp.errors import Cancelled, DuplicateIdError, EmptyDataError, InputFormatError


def _geno(n=7, p=5, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(-1, 3, size=(n, p)).astype(np.int8)
    samples = pd.DataFrame({"fid": [f"F{i}" for i in range(n)], "iid": [f"S{i}" for i in range(n)]})
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(p)],
            "chrom": ["1"] * (p - 1) + ["X"],
            "pos": np.arange(1, p + 1, dtype=np.int64) * 100,
            "a1": ["A"] * p,
            "a2": ["G"] * p,
        }
    )
    return Genotypes(g, samples, snps)


@pytest.fixture
def fileset(tmp_path):
    geno = _geno()
    write_plink(tmp_path / "x", geno)
    return tmp_path / "x", geno


def test_round_trip_with_missing_and_phenotype(tmp_path):
    geno = _geno(n=9, p=6)  # n not a multiple of 4: padding bits
    pheno = np.array([1.5, np.nan, 2, 0, 1, 1, 2, 2, -3.25])
    write_plink(tmp_path / "x.bed", geno, phenotype=pheno)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bed", "x.bim", "x.fam"]
    back = read_plink(tmp_path / "x")
    assert back.genotypes.dtype == np.int8
    np.testing.assert_array_equal(back.genotypes, geno.genotypes)
    assert (back.genotypes == -1).any()
    pd.testing.assert_frame_equal(back.samples, geno.samples)
    pd.testing.assert_frame_equal(back.snps[list(geno.snps.columns)], geno.snps)
    assert back.meta == {"source": "plink", "path": str(tmp_path / "x.bed"), "n_snps_in_file": 6}
    fam = read_fam(tmp_path / "x.fam")
    assert list(fam["pheno"]) == ["1.5", "-9", "2", "0", "1", "1", "2", "2", "-3.25"]
    # bed-reader agrees with our encoder (a1 counted, missing = NaN)
    with open_bed(tmp_path / "x.bed") as b:
        ref = b.read(dtype="float32")
    np.testing.assert_array_equal(np.where(np.isnan(ref), -1, ref).astype(np.int8), geno.genotypes)


def test_select_subset_keeps_bim_order(fileset):
    prefix, geno = fileset
    sub = read_plink(prefix, select=np.array([4, 0, 2, 2]))
    np.testing.assert_array_equal(sub.genotypes, geno.genotypes[:, [0, 2, 4]])
    assert list(sub.snps["snp"]) == ["rs0", "rs2", "rs4"]
    assert sub.meta["n_snps_in_file"] == 5


@pytest.mark.parametrize(
    "select, exc, match",
    [([5], InputFormatError, "out of range"), ([], EmptyDataError, None)],
    ids=["out-of-range", "empty"],
)
def test_bad_select(fileset, select, exc, match):
    prefix, _ = fileset
    with pytest.raises(exc, match=match):
        read_plink(prefix, select=select)


def test_progress_and_cancel(fileset, monkeypatch):
    prefix, _ = fileset
    monkeypatch.setattr(plink, "_CHUNK_CELLS", 7 * 2)  # 2 SNPs per chunk
    calls = []
    read_plink(prefix, progress=lambda f, m: calls.append(f))
    assert calls == pytest.approx([0.4, 0.8, 1.0])
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        read_plink(prefix, cancel=flag)


def test_missing_files(fileset):
    prefix, _ = fileset
    (prefix.parent / "x.bim").unlink()
    (prefix.parent / "x.fam").unlink()
    with pytest.raises(InputFormatError, match=r"missing x\.bim, x\.fam"):
        read_plink(prefix)


def test_truncated_bed(fileset):
    prefix, _ = fileset
    bed = prefix.parent / "x.bed"
    bed.write_bytes(bed.read_bytes()[:-3])
    with pytest.raises(
        InputFormatError, match=r"x\.bed has 10 bytes but x\.fam \(7 samples\) and x\.bim \(5 SNPs\) need 13"
    ):
        read_plink(prefix)


def test_bim_with_fewer_snps_than_bed(fileset):
    prefix, _ = fileset
    bim = prefix.parent / "x.bim"
    bim.write_text("".join(bim.read_text().splitlines(keepends=True)[:4]))
    with pytest.raises(InputFormatError, match="do not belong together"):
        read_plink(prefix)


@pytest.mark.parametrize(
    "corrupt, match",
    [
        (lambda d: b"\x00\x00\x01" + d[3:], "not a PLINK .bed"),
        (lambda d: d[:2] + b"\x00" + d[3:], "sample-major"),
    ],
    ids=["bad-magic", "sample-major"],
)
def test_bad_magic_and_sample_major(fileset, corrupt, match):
    prefix, _ = fileset
    bed = prefix.parent / "x.bed"
    bed.write_bytes(corrupt(bed.read_bytes()))
    with pytest.raises(InputFormatError, match=match):
        read_plink(prefix)


def test_duplicated_sample_ids_are_an_error(fileset):
    prefix, _ = fileset
    f = prefix.with_suffix(".fam")
    f.write_text(f.read_text().replace("S3", "S1"))
    with pytest.raises(DuplicateIdError, match="S1"):
        read_plink(prefix)


def test_a_snp_id_shared_by_two_variants_is_renamed_not_refused(fileset):
    prefix, _ = fileset
    f = prefix.with_suffix(".bim")
    f.write_text(f.read_text().replace("rs4", "rs2"))
    geno = read_plink(prefix)
    assert "rs2_2" in set(geno.snps["snp"]) and geno.meta["variant_ids"]["shared_id_rows_renamed"] == 1


def test_bim_format(tmp_path):
    bim = tmp_path / "b.bim"
    bim.write_text("chr1 rs1 0 10 A G\n\n23 rs2 0.5 20 C T\n")
    df = read_bim(bim)
    assert list(df.columns) == ["snp", "chrom", "cm", "pos", "a1", "a2"]
    assert list(df["chrom"]) == ["1", "X"] and df["pos"].dtype == np.int64


@pytest.mark.parametrize(
    "text, exc, match",
    [
        ("1 rs1 0 10 A G\n1 rs2 0 20 A\n", InputFormatError, r"b\.bim line 2: 5 columns"),
        ("1 rs1 0 10 A G\n1 rs2 0 abc A G\n", InputFormatError, r"b\.bim line 2: pos 'abc' is not a number"),
        ("1 rs1 0 10 A G x y\n", InputFormatError, r"b\.bim"),
        ("", EmptyDataError, None),
    ],
    ids=["too-few-columns", "bad-position", "too-many-columns", "empty"],
)
def test_bim_format_errors(tmp_path, text, exc, match):
    bim = tmp_path / "b.bim"
    bim.write_text(text)
    with pytest.raises(exc, match=match):
        read_bim(bim)


def test_write_is_atomic(tmp_path, monkeypatch):
    geno = _geno()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(plink, "_fam_text", boom)
    with pytest.raises(OSError):
        write_plink(tmp_path / "x", geno)
    assert list(tmp_path.iterdir()) == []


def test_real_eur_test(shared_data):
    prefix = shared_data / "plink_eur_test" / "EUR_test"
    geno = read_plink(prefix)
    assert geno.genotypes.shape == (379, 2000)
    assert set(np.unique(geno.genotypes)) <= {-1, 0, 1, 2}
    assert geno.samples["iid"].iloc[0] == "HG00096"
    assert set(geno.snps["chrom"]) == {"21", "22"}
    with open_bed(prefix.with_suffix(".bed")) as b:
        ref = b.read(dtype="float32")  # count_A1=True by default
    np.testing.assert_array_equal(geno.genotypes, np.where(np.isnan(ref), -1, ref).astype(np.int8))
    cols = np.array([1999, 3, 1000])
    sub = read_plink(str(prefix) + ".bed", select=cols)
    np.testing.assert_array_equal(sub.genotypes, geno.genotypes[:, np.sort(cols)])
    assert list(sub.snps["snp"]) == list(geno.snps["snp"].iloc[np.sort(cols)])


def test_real_eur_test_rewrites_identically(shared_data, tmp_path):
    prefix = shared_data / "plink_eur_test" / "EUR_test"
    write_plink(tmp_path / "copy", read_plink(prefix))
    assert (tmp_path / "copy.bed").read_bytes() == prefix.with_suffix(".bed").read_bytes()


@pytest.mark.parametrize("n,dropped", [(2000, 1), (2000, 2), (2000, 3), (10, 1), (11, 2)])
def test_a_fam_missing_lines_is_refused_by_the_padding_bits(tmp_path, n, dropped):
    # The byte size cannot see it (2,000 and 1,997..1,999 samples need the same bytes per SNP);
    # the padding slots after the last listed sample then hold real genotypes.
    rng = np.random.default_rng(n + dropped)
    geno = _geno(n=n, p=40)
    geno.genotypes[:] = rng.integers(0, 3, size=(n, 40)).astype(np.int8)
    write_plink(tmp_path / "x", geno)
    fam = (tmp_path / "x.fam").read_text().splitlines(keepends=True)
    (tmp_path / "x.fam").write_text("".join(fam[:-dropped]))
    assert (n - dropped) % 4, "the shortened .fam must leave padding slots for the check to see"
    with pytest.raises(InputFormatError, match=r"x\.bed: .* hold genotypes beyond the .* samples that x\.fam lists"):
        read_plink(tmp_path / "x")


@pytest.mark.parametrize("n", [5, 6, 7, 8, 9])
def test_intact_filesets_pass_the_padding_check(tmp_path, n):
    geno = _geno(n=n, p=12, seed=n)
    write_plink(tmp_path / "x", geno)
    np.testing.assert_array_equal(read_plink(tmp_path / "x").genotypes, geno.genotypes)


def test_duplicate_sample_ids_name_the_file_they_are_in(tmp_path):
    write_plink(tmp_path / "x", _geno(n=6, p=4))
    f = tmp_path / "x.fam"
    f.write_text(f.read_text().replace("S1", "S0"))
    with pytest.raises(DuplicateIdError, match=r"^x\.fam: duplicated"):
        read_plink(tmp_path / "x")

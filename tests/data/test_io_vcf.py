"""VCF reader: dosages from GT, multi-allelic sites, regions, broken files, the real beagle VCF."""

import gzip
import shutil
import subprocess
import threading

import cyvcf2
import numpy as np
import pytest

from gxapp.data.io import vcf as vcf_module
from gxapp.data.io.vcf import read_vcf
from gxapp.errors import Cancelled, DuplicateIdError, InputFormatError, ParameterError

HEADER = (
    "##fileformat=VCFv4.2\n"
    "##contig=<ID=1,length=1000>\n##contig=<ID=X,length=1000>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
)
COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\ts2\ts3\n"
RECORDS = [
    "1\t10\trs1\tA\tG\t.\t.\t.\tGT\t0/0\t0|1\t1/1",
    "1\t20\t.\tC\tT,G\t.\t.\t.\tGT\t0/1\t1/2\t./.",
    "1\t25\trs25\tC\tT,G\t.\t.\t.\tGT\t2/2\t0/1\t0/0",
    "X\t30\trs3\tG\tA\t.\t.\t.\tGT\t0\t1\t./1",
]


def _write(path, records=RECORDS, header=HEADER, columns=COLUMNS):
    path.write_text(header + columns + "".join(r + "\n" for r in records))
    return path


def test_split_multiallelic_and_missing(tmp_path):
    g = read_vcf(_write(tmp_path / "a.vcf"))
    assert list(g.snps["snp"]) == ["rs1", "1:20:C:T", "1:20:C:G", "rs25:T", "rs25:G", "rs3"]
    assert list(g.snps["a1"]) == ["G", "T", "G", "T", "G", "A"]
    assert list(g.snps["a2"]) == ["A", "C", "C", "C", "C", "G"]
    assert g.snps["pos"].dtype == np.int64
    expected = np.array(
        [
            [0, 1, 0, 0, 2, 0],
            [1, 1, 1, 1, 0, 1],
            [2, -1, -1, 0, 0, -1],
        ],
        dtype=np.int8,
    )
    np.testing.assert_array_equal(g.genotypes, expected)
    assert list(g.samples["iid"]) == ["s1", "s2", "s3"] and list(g.samples["fid"]) == ["s1", "s2", "s3"]
    assert g.meta["n_multiallelic_split"] == 2 and g.meta["n_multiallelic_skipped"] == 0


def test_skip_multiallelic(tmp_path):
    g = read_vcf(_write(tmp_path / "a.vcf"), multiallelic="skip")
    assert list(g.snps["snp"]) == ["rs1", "rs3"]
    assert g.meta["n_multiallelic_skipped"] == 2 and g.meta["n_multiallelic_split"] == 0
    with pytest.raises(ParameterError):
        read_vcf(tmp_path / "a.vcf", multiallelic="keep")


def test_regions(tmp_path):
    g = read_vcf(_write(tmp_path / "a.vcf"), regions=[("chr1", 1, 15), ("X", 30, 30)])
    assert list(g.snps["snp"]) == ["rs1", "rs3"]
    assert list(g.snps["chrom"]) == ["1", "X"]


def test_gzip_and_bcf(tmp_path):
    plain = read_vcf(_write(tmp_path / "a.vcf"))
    gz = tmp_path / "a.vcf.gz"
    gz.write_bytes(gzip.compress((tmp_path / "a.vcf").read_bytes()))
    np.testing.assert_array_equal(read_vcf(gz).genotypes, plain.genotypes)
    src = cyvcf2.VCF(str(tmp_path / "a.vcf"))
    w = cyvcf2.Writer(str(tmp_path / "a.bcf"), src, mode="wb")
    for rec in src:
        w.write_record(rec)
    w.close()
    src.close()
    bcf = read_vcf(tmp_path / "a.bcf")
    np.testing.assert_array_equal(bcf.genotypes, plain.genotypes)
    assert list(bcf.snps["snp"]) == list(plain.snps["snp"])


@pytest.mark.skipif(shutil.which("bgzip") is None, reason="bgzip not installed")
def test_bgzip(tmp_path):
    plain = read_vcf(_write(tmp_path / "a.vcf"))
    subprocess.run(["bgzip", "-k", str(tmp_path / "a.vcf")], check=True)
    np.testing.assert_array_equal(read_vcf(tmp_path / "a.vcf.gz").genotypes, plain.genotypes)


def test_no_gt_field(tmp_path):
    header = HEADER.replace("ID=GT,Number=1,Type=String", "ID=DS,Number=1,Type=Float")
    records = [
        r.replace("\tGT\t", "\tDS\t").replace("0/0", "0").replace("0|1", "1").replace("1/1", "2") for r in RECORDS[:1]
    ]
    with pytest.raises(InputFormatError, match=r"a\.vcf has no GT \(genotype\) field"):
        read_vcf(_write(tmp_path / "a.vcf", records, header))


@pytest.mark.parametrize(
    "text, match",
    [("hello world\n", r"bad\.vcf is not a readable VCF"), (None, "not found")],
    ids=["not-a-vcf", "missing-file"],
)
def test_not_a_vcf(tmp_path, text, match):
    bad = tmp_path / "bad.vcf"
    if text is not None:
        bad.write_text(text)
    with pytest.raises(InputFormatError, match=match):
        read_vcf(bad)


def test_malformed_record(tmp_path):
    records = [RECORDS[0], "1\tabc\trs2\tA"]
    with pytest.raises(InputFormatError, match=r"a\.vcf: cannot parse the record after 1:10"):
        read_vcf(_write(tmp_path / "a.vcf", records))


def test_duplicated_sample(tmp_path):
    columns = COLUMNS.replace("s3", "s1")
    with pytest.raises(DuplicateIdError, match="'s1'"):
        read_vcf(_write(tmp_path / "a.vcf", columns=columns))


def test_progress_and_cancel(tmp_path, monkeypatch):
    path = _write(tmp_path / "a.vcf")
    monkeypatch.setattr(vcf_module, "_REPORT_EVERY", 1)
    calls = []
    read_vcf(path, progress=lambda f, m: calls.append(f))
    assert len(calls) == 5 and calls[-1] == 1.0 and calls == sorted(calls)
    flag = threading.Event()
    flag.set()
    with pytest.raises(Cancelled):
        read_vcf(path, cancel=flag)


def test_real_beagle_vcf(shared_data):
    g = read_vcf(shared_data / "vcf" / "beagle_chr22.vcf")
    assert g.genotypes.shape == (191, 1356)
    assert set(np.unique(g.genotypes)) <= {0, 1, 2}
    assert set(g.snps["chrom"]) == {"22"}
    assert g.snps["snp"].is_unique and g.samples["iid"].iloc[0] == "HG00096"
    assert g.snps.iloc[0].to_dict() == {"snp": "rs138720731", "chrom": "22", "pos": 20000086, "a1": "C", "a2": "T"}
    start, end = int(g.snps["pos"].iloc[10]), int(g.snps["pos"].iloc[19])
    part = read_vcf(shared_data / "vcf" / "beagle_chr22.vcf", regions=[("chr22", start, end)])
    np.testing.assert_array_equal(part.genotypes, g.genotypes[:, 10:20])

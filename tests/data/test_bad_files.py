"""Damaged and hostile input files: corrupt or bomb-like gzip, folders and missing paths. Each must
give a typed gxapp error naming the file, never a Python exception (issue: reliability)."""

import gzip
import zlib

import pytest

from gxapp.data.io import sources
from gxapp.data.io.gene_tables import load_gene_table
from gxapp.data.io.gmt import read_gmt
from gxapp.data.io.pheno import read_pheno
from gxapp.data.io.plink import read_bim, read_fam
from gxapp.data.io.table import read_genotype_table
from gxapp.data.io.variants import read_variant_table
from gxapp.errors import GxError, InputFormatError

GMT = b"P1\tdesc\tA\tB\nP2\tdesc\tB\tC\n"
GENES = b"gene\tchrom\tstart\tend\nA\t1\t100\t200\n"
VARIANTS = b"sample\tgene\tclass\ts1\tA\tUTR3\n"
TABLE = b"iid,1:100,1:200\ns1,0,1\ns2,2,1\n"


def _broken_deflate(text: bytes) -> bytes:
    gz = bytearray(gzip.compress(text * 50))
    gz[12:20] = b"\xff" * 8  # inside the deflate stream
    return bytes(gz)


READERS = {
    "gene table": (lambda p: load_gene_table(str(p)), "genes.tsv.gz", GENES),
    "pathways": (read_gmt, "p.gmt.gz", GMT),
    "variants": (read_variant_table, "v.tsv.gz", VARIANTS),
    "genotype table": (read_genotype_table, "g.csv.gz", TABLE),
    "phenotype": (read_pheno, "y.txt.gz", b"FID IID y\nf s1 1.5\n"),
}


@pytest.mark.parametrize("damage", ["broken_deflate", "truncated", "bit_flipped_crc"])
@pytest.mark.parametrize("what", list(READERS))
def test_corrupt_gzip_is_a_typed_error_naming_the_file(tmp_path, what, damage):
    reader, name, text = READERS[what]
    good = gzip.compress(text * 50)
    data = {
        "broken_deflate": _broken_deflate(text),
        "truncated": good[: len(good) // 2],
        "bit_flipped_crc": good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:],
    }[damage]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputFormatError, match=rf"{name}.*(corrupt or truncated gzip|re-compress)"):
        reader(path)


def test_gzip_bombs_stop_at_the_expanded_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "MAX_EXPANDED_MB", 1)
    path = tmp_path / "p.gmt.gz"
    path.write_bytes(gzip.compress(b"\n" * (3 * 2**20)))  # 3 MB of newlines in ~3 kB
    assert path.stat().st_size < 20_000
    with pytest.raises(InputFormatError, match=r"p\.gmt\.gz: expands to more than 1 MB .*GXAPP_MAX_EXPANDED_MB"):
        read_gmt(path)


def test_gunzip_reads_multi_member_bgzip_like_streams_exactly():
    a, b = b"first member\n" * 1000, b"second\n" * 1000
    data = gzip.compress(a) + gzip.compress(b) + gzip.compress(b"")
    assert sources.gunzip(data, "x.gz") == a + b == gzip.decompress(data)
    assert sources.gunzip(gzip.compress(a) + b"\x00" * 16, "x.gz") == a  # zero padding is ignored
    with pytest.raises(InputFormatError, match="unexpected data after the end"):
        sources.gunzip(gzip.compress(a) + b"junk", "x.gz")
    assert zlib  # the module the implementation streams with


@pytest.mark.parametrize(
    "reader",
    [
        read_fam,
        read_bim,
        read_pheno,
        read_genotype_table,
        read_gmt,
        read_variant_table,
        lambda p: load_gene_table(str(p)),
    ],
    ids=["fam", "bim", "pheno", "genotype_table", "gmt", "variants", "gene_table"],
)
@pytest.mark.parametrize("where", ["folder", "missing"])
def test_folders_and_missing_paths_are_typed_errors(tmp_path, reader, where):
    path = tmp_path / "thing.txt"
    if where == "folder":
        path.mkdir()
    with pytest.raises(GxError, match="thing.txt"):
        reader(path)


@pytest.mark.parametrize("value", [5, 3.5, None, object()])
def test_a_gene_table_that_is_not_a_name_or_a_file_is_a_typed_error(value):
    with pytest.raises(GxError):
        load_gene_table(value)


@pytest.mark.parametrize(
    "text,line",
    [
        (b"iid,1:100,1:200,1:300\ns1,0,1,2\nS99999,0,1\n", 3),
        (b"iid\t1:100\t1:200\ns1\t0\n", 2),
        (b"iid 1:100 1:200\ns1 0\n", 2),
    ],
    ids=["csv", "tsv", "whitespace"],
)
def test_a_genotype_row_with_too_few_fields_is_refused_naming_the_line(tmp_path, text, line):
    path = tmp_path / ("g.csv" if b"," in text else "g.tsv")
    path.write_bytes(text)
    with pytest.raises(InputFormatError, match=rf"line {line}: \d field\(s\) but the header has"):
        read_genotype_table(path)


def test_explicit_missing_cells_are_still_accepted(tmp_path):
    path = tmp_path / "g.csv"
    path.write_bytes(b"iid,1:100,1:200\ns1,0,NA\ns2,,1\n")
    g = read_genotype_table(path)
    assert (g.genotypes < 0).sum() == 2


@pytest.mark.parametrize("reader", ["pheno", "covar"])
@pytest.mark.parametrize("value", ["inf", "-Inf", "1e999"])
def test_an_infinite_phenotype_or_covariate_is_refused_naming_the_line(tmp_path, reader, value):
    from gxapp.data.io.pheno import read_covar

    path = tmp_path / "c.txt"
    path.write_text(f"FID IID age\nf s1 40\nf s2 {value}\n")
    with pytest.raises(InputFormatError, match=r"c\.txt line 3: value .* in column 'age' .*infinite"):
        (read_pheno if reader == "pheno" else read_covar)(path)

"""Genotype tables (csv/tsv/txt/parquet) and SNP maps."""

import io

import numpy as np
import pandas as pd
import pytest

from gxapp.data.io.table import read_genotype_table, read_snp_map
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError

CSV = "id,1:100,chr2:200:A:G,X:5\ns1,0,1,2\ns2,NA,,-9\ns3,2,1.0,0\n"
EXPECTED = np.array([[0, 1, 2], [-1, -1, -1], [2, 1, 0]], dtype=np.int8)


def test_csv_with_positions_in_names(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text(CSV)
    g = read_genotype_table(path)
    np.testing.assert_array_equal(g.genotypes, EXPECTED)
    assert g.genotypes.dtype == np.int8
    assert list(g.samples["iid"]) == ["s1", "s2", "s3"] and list(g.samples["fid"]) == ["s1", "s2", "s3"]
    assert list(g.snps["snp"]) == ["1:100", "chr2:200:A:G", "X:5"]
    assert list(g.snps["chrom"]) == ["1", "2", "X"]
    assert list(g.snps["pos"]) == [100, 200, 5] and g.snps["pos"].dtype == np.int64
    assert list(g.snps["a1"]) == [".", "A", "."] and list(g.snps["a2"]) == [".", "G", "."]


@pytest.mark.parametrize("name,sep", [("g.tsv", "\t"), ("g.txt", "\t"), ("g.txt", " ")])
def test_tsv_and_whitespace_uploads(name, sep):
    text = CSV.replace(",,", ",NA,").replace(",", sep)
    g = read_genotype_table(io.BytesIO(text.encode()), name=name)
    np.testing.assert_array_equal(g.genotypes, EXPECTED)


def test_parquet_with_snp_map_and_gene(tmp_path):
    df = pd.DataFrame(
        {
            "iid": ["a", "b", "c"],
            "rs1": [0.0, np.nan, 2.0],
            "rs2": pd.array([2, None, 1], dtype="Int8"),
            "rs3": [1, 1, -9],
        }
    )
    df.to_parquet(tmp_path / "g.parquet")
    snp_map = pd.DataFrame(
        {
            "SNP": ["rs3", "rs1", "rs2", "rs9"],
            "chrom": ["chr1", "1", "2", "3"],
            "pos": [30, 10, 20, 90],
            "a1": ["T", "A", "C", "G"],
            "a2": ["C", "G", "T", "A"],
            "gene": ["GENE1", "GENE1", None, "GENE9"],
        }
    )
    map_path = tmp_path / "map.tsv"
    snp_map.to_csv(map_path, sep="\t", index=False)
    for m in (snp_map, map_path):
        g = read_genotype_table(tmp_path / "g.parquet", snp_map=m)
        np.testing.assert_array_equal(g.genotypes, [[0, 2, 1], [-1, -1, 1], [2, 1, -1]])
        assert list(g.snps["snp"]) == ["rs1", "rs2", "rs3"]
        assert list(g.snps["chrom"]) == ["1", "2", "1"] and list(g.snps["pos"]) == [10, 20, 30]
        assert list(g.snps["a1"]) == ["A", "C", "T"]
        assert list(g.snps["gene"]) == ["GENE1", "", "GENE1"]


def test_parquet_upload_bytes():
    buf = io.BytesIO()
    pd.DataFrame({"id": ["a", "b"], "1:5": [0, 1]}).to_parquet(buf)
    g = read_genotype_table(io.BytesIO(buf.getvalue()), name="up.parquet")
    np.testing.assert_array_equal(g.genotypes, [[0], [1]])


def test_non_numeric_cells():
    text = "id,1:100,1:200\ns1,0,x\ns2,3,0.5\n"
    with pytest.raises(InputFormatError, match=r"g\.csv: sample 's1', column '1:200': value 'x' .*3 such cell"):
        read_genotype_table(io.BytesIO(text.encode()), name="g.csv")


def test_bad_column_names_without_map():
    with pytest.raises(InputFormatError, match="name SNP columns chrom:pos .* or supply a SNP map"):
        read_genotype_table(io.BytesIO(b"id,rs1,rs2\ns1,0,1\n"), name="g.csv")


def test_snp_missing_from_map():
    snp_map = pd.DataFrame({"snp": ["rs1"], "chrom": ["1"], "pos": [10]})
    with pytest.raises(InputFormatError, match="'rs2'"):
        read_genotype_table(io.BytesIO(b"id,rs1,rs2\ns1,0,1\n"), name="g.csv", snp_map=snp_map)


@pytest.mark.parametrize(
    "data, exc, match",
    [
        (b"", EmptyDataError, None),
        (b"id,1:1\n", EmptyDataError, None),
        (b"id,1:1\ns1,0\ns1,1\n", DuplicateIdError, "'s1'"),
        (b"id,1:1,1:1\ns1,0,1\n", DuplicateIdError, "'1:1'"),
    ],
    ids=["empty", "header-only", "duplicate-sample", "duplicate-snp"],
)
def test_empty_and_duplicates(data, exc, match):
    with pytest.raises(exc, match=match):
        read_genotype_table(io.BytesIO(data), name="g.csv")


def test_unknown_format():
    with pytest.raises(InputFormatError, match="fmt="):
        read_genotype_table(io.BytesIO(CSV.encode()))
    g = read_genotype_table(io.BytesIO(CSV.encode()), fmt="csv")
    np.testing.assert_array_equal(g.genotypes, EXPECTED)


@pytest.mark.parametrize(
    "data, exc, match",
    [
        (b"snp,chrom\nrs1,1\n", InputFormatError, "lacks column.*pos"),
        (b"snp,chrom,pos\nrs1,1,5\nrs2,1,abc\n", InputFormatError, "row 2 .*'rs2'.*'abc'"),
        (b"snp,chrom,pos\nrs1,1,5\nrs1,1,6\n", DuplicateIdError, "'rs1'"),
    ],
    ids=["missing-pos-column", "bad-position", "duplicate-snp"],
)
def test_read_snp_map_errors(data, exc, match):
    with pytest.raises(exc, match=match):
        read_snp_map(io.BytesIO(data), name="m.csv")

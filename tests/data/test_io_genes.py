import gzip
import io
import time

import numpy as np
import pandas as pd
import pytest

from gxapp.data.io.gene_lists import read_gene_list
from gxapp.data.io.gene_mapping import MappingResult, map_snps_to_genes
from gxapp.data.io.gene_tables import BUILTIN, builtin_table, load_gene_table
from gxapp.data.io.genome_build import CHROM_LENGTHS, guess_build
from gxapp.errors import EmptyDataError, GeneMappingError, InputFormatError, ParameterError


# --------------------------------------------------------------------------- helpers
def table(rows, build=None):
    df = pd.DataFrame(rows, columns=["gene", "chrom", "start", "end"])
    df.attrs["source"] = "test table"
    df.attrs["build"] = build
    return df


def snps_at(chrom, positions, gene=None):
    df = pd.DataFrame({"snp": [f"s{i}" for i in range(len(positions))], "chrom": chrom, "pos": positions})
    if gene is not None:
        df["gene"] = gene
    return df


@pytest.fixture
def bim(shared_data):
    """The real PLINK .bim (GRCh37): chrom, snp, cm, pos, a1, a2."""
    return pd.read_csv(
        shared_data / "plink_eur_test" / "EUR_test.bim",
        sep=r"\s+",
        header=None,
        names=["chrom", "snp", "cm", "pos", "a1", "a2"],
        dtype={"chrom": str},
    )


# --------------------------------------------------------------------------- built-in tables
@pytest.mark.parametrize("build,alias", [("grch37", "hg19"), ("grch38", "HG38")])
def test_builtin_tables_load(build, alias):
    df = load_gene_table(build)
    assert list(df.columns[:4]) == ["gene", "chrom", "start", "end"]
    assert {"gene_type", "strand"} <= set(df.columns)
    assert 27_500 < len(df) < 29_000
    assert df["gene"].is_unique
    assert not df["chrom"].str.startswith("chr").any()
    assert set(df["chrom"]) == {str(i) for i in range(1, 23)} | {"X", "Y"}
    assert (df["start"] <= df["end"]).all() and df["start"].dtype == np.int64
    assert df.attrs["build"] == build
    assert df.attrs["n_duplicates_dropped"] > 100  # the raw tables repeat some symbols (PAR, multi-copy genes)
    # genome order: chromosome 2 before 10, X after 22, positions sorted within a chromosome
    firsts = list(dict.fromkeys(df["chrom"]))
    assert firsts.index("2") < firsts.index("10") < firsts.index("22") < firsts.index("X")
    chr1 = df[df["chrom"] == "1"]["start"].to_numpy()
    assert (np.diff(chr1) >= 0).all()
    same = load_gene_table(alias)
    assert same.equals(df)
    assert BUILTIN[build].exists()


def test_builtin_cached_and_copy_safe():
    a = load_gene_table("grch38")
    a.loc[0, "gene"] = "MUTATED"
    b = load_gene_table("grch38")
    assert b.loc[0, "gene"] != "MUTATED"
    assert builtin_table.cache_info().hits >= 1


def test_gene_types_filter():
    pc = load_gene_table("grch38", gene_types=["protein_coding"])
    assert 18_000 < len(pc) < 20_000
    assert set(pc["gene_type"]) == {"protein-coding"}
    with pytest.raises(EmptyDataError, match="available types"):
        load_gene_table("grch38", gene_types=["lincRNA"])


def test_unknown_builtin_name():
    with pytest.raises(ParameterError, match="grch37"):
        load_gene_table("grch36")


def test_builtin_data_readme_present():
    readme = BUILTIN["grch37"].parent / "README.md"
    text = readme.read_text()
    assert "org.Hs.eg.db" in text and "Artistic-2.0" in text and "1-based" in text


# --------------------------------------------------------------------------- user tables
def test_bed_table_is_converted_to_one_based(tmp_path):
    p = tmp_path / "genes.bed"
    p.write_text("track name=genes\n# a comment\nchr1\t99\t200\tA\t0\t+\nchr2\t0\t50\tB\t0\t-\nchrX\t10\t20\tC\t0\t+\n")
    df = load_gene_table(p)
    assert list(df["gene"]) == ["A", "B", "C"]
    assert list(df["start"]) == [100, 1, 11] and list(df["end"]) == [200, 50, 20]
    assert list(df["chrom"]) == ["1", "2", "X"]
    assert list(df["strand"]) == ["+", "-", "+"]
    assert df.attrs["format"] == "bed"


def test_bed_upload_as_bytesio():
    up = io.BytesIO(b"chr3 10 20 G1\nchr3 30 40 G2\n")
    df = load_gene_table(up, name="my_genes.bed")
    assert list(df["start"]) == [11, 31]
    assert df.attrs["source"] == "my_genes.bed"


def test_tsv_and_csv_headers_case_insensitive(tmp_path):
    p = tmp_path / "g.tsv"
    p.write_text("Symbol\tChromosome\tSTART\tEnd\textra\nAAA\tchr7\t100\t200\tx\nBBB\t7\t50\t60\ty\n")
    df = load_gene_table(p)
    assert list(df["gene"]) == ["BBB", "AAA"]  # genome order
    assert list(df["start"]) == [50, 100]  # 1-based, unchanged
    c = tmp_path / "g.csv.gz"
    c.write_bytes(gzip.compress(b"name,chr,start,end,gene_type\nQ,1,5,9,protein-coding\n"))
    df = load_gene_table(c)
    assert df.loc[0, "gene"] == "Q" and df.loc[0, "gene_type"] == "protein-coding"


def test_user_table_duplicates_keep_first(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("gene\tchrom\tstart\tend\nA\t1\t10\t20\nA\t2\t10\t20\nB\t1\t30\t40\nB\t1\t50\t60\n")
    df = load_gene_table(p)
    assert list(df["gene"]) == ["A", "B"]
    assert df.set_index("gene").loc["A", "chrom"] == "1"
    assert df.attrs["n_duplicates_dropped"] == 2


@pytest.mark.parametrize(
    "filename, content, error, match",
    [
        ("bad.tsv", "gene\tposition\tstart\n", InputFormatError, r"bad\.tsv, line 1.*end"),
        (
            "bad.tsv",
            "gene\tchrom\tstart\tend\nA\t1\t10\t20\nB\t1\tten\t20\n",
            InputFormatError,
            r"bad\.tsv, line 3.*start 'ten'",
        ),
        (
            "bad.tsv",
            "gene\tchrom\tstart\tend\nA\t1\t10\t20\n\nB\t1\t30\t20\n",
            InputFormatError,
            r"line 4: gene 'B' has start 30 > end 20",
        ),
        ("bad.tsv", "gene\tchrom\tstart\tend\nA\t1\t10\n", InputFormatError, "line 2"),
        ("three.bed", "chr1\t10\t20\n", InputFormatError, r"three\.bed, line 1.*name"),
        ("empty.bed", "\n# nothing\n", EmptyDataError, "empty"),
        ("missing.bed", None, InputFormatError, "not found"),
    ],
    ids=["missing_column", "non_integer_start", "start_after_end", "short_row", "bed_without_name", "empty", "missing"],
)
def test_user_table_errors_name_file_and_line(tmp_path, filename, content, error, match):
    p = tmp_path / filename
    if content is not None:
        p.write_text(content)
    with pytest.raises(error, match=match):
        load_gene_table(p)


# --------------------------------------------------------------------------- gene lists
def test_read_gene_list(tmp_path):
    p = tmp_path / "genes.txt"
    p.write_text("# my genes\ngene\nBRCA1\nTP53, EGFR;KRAS\n\n  MYC  # oncogene\nTP53\n")
    assert read_gene_list(p) == ["BRCA1", "TP53", "EGFR", "KRAS", "MYC"]
    assert read_gene_list(io.BytesIO(b"A B\tC")) == ["A", "B", "C"]
    # typed text (the app's text box) and lists
    assert read_gene_list("APOE, LDLR\nPCSK9") == ["APOE", "LDLR", "PCSK9"]
    assert read_gene_list("APOE") == ["APOE"]
    assert read_gene_list(["A", " B ", "A"]) == ["A", "B"]
    assert read_gene_list(str(p)) == read_gene_list(p)


@pytest.mark.parametrize(
    "source, kwargs, error, match",
    [
        (lambda tmp_path: io.BytesIO(b"# only a comment\n\n"), {"name": "list.txt"}, EmptyDataError, None),
        (lambda tmp_path: str(tmp_path / "nope.txt"), {}, InputFormatError, "not found"),
    ],
    ids=["only_comments", "missing_file"],
)
def test_read_gene_list_errors(tmp_path, source, kwargs, error, match):
    src = source(tmp_path)
    with pytest.raises(error, match=match):
        read_gene_list(src, **kwargs)


# --------------------------------------------------------------------------- mapping
def test_flank_boundaries_exact():
    genes = table([("A", "1", 1000, 2000)])
    pos = [899, 900, 1500, 2100, 2101]
    r = map_snps_to_genes(snps_at("1", pos), genes, flank=100)
    assert isinstance(r, MappingResult)
    assert r.gene_snps["A"].tolist() == [1, 2, 3]
    assert r.snp_mask.tolist() == [False, True, True, True, False]
    assert r.gene_snps["A"].dtype == np.int64
    r0 = map_snps_to_genes(snps_at("1", [999, 1000, 2000, 2001]), genes, flank=0)
    assert r0.gene_snps["A"].tolist() == [1, 2]
    # default flank is 10 kb
    r10 = map_snps_to_genes(snps_at("1", [999, 1000, 21_500, 21_501]), table([("A", "1", 11_000, 11_500)]))
    assert r10.gene_snps["A"].tolist() == [1, 2]


def test_negative_flank_rejected():
    with pytest.raises(ParameterError, match="flank"):
        map_snps_to_genes(snps_at("1", [5]), table([("A", "1", 1, 10)]), flank=-1)


def test_overlapping_genes_share_snps_and_order():
    genes = table([("B", "chr10", 100, 300), ("A", "1", 100, 300), ("C", "1", 250, 400), ("D", "2", 1, 10)])
    snps = snps_at(["1", "1", "1", "10", "chr1"], [260, 120, 390, 150, 1000])
    r = map_snps_to_genes(snps, genes, flank=0)
    assert list(r.genes["gene"]) == ["A", "C", "B"]  # genome order; D has no SNP
    assert r.gene_snps["A"].tolist() == [0, 1]
    assert r.gene_snps["C"].tolist() == [0, 2]
    assert r.gene_snps["B"].tolist() == [3]
    assert r.report["n_snps_multi_gene"] == 1
    assert r.report["n_snps_mapped"] == 4 and r.report["n_snps"] == 5
    assert r.report["n_genes_with_snps"] == 3
    assert r.snp_mask.tolist() == [True, True, True, True, False]


def test_explicit_gene_column_wins():
    genes = table([("A", "1", 100, 200), ("B", "1", 5000, 6000)])
    snps = snps_at("1", [150, 160, 170, 99999], gene=[None, "B", "NEW", "A;B"])
    r = map_snps_to_genes(snps, genes, flank=0)
    assert r.gene_snps["A"].tolist() == [0, 3]
    assert r.gene_snps["B"].tolist() == [1, 3]
    assert r.gene_snps["NEW"].tolist() == [2]
    new = r.genes.set_index("gene").loc["NEW"]
    assert (new["chrom"], new["start"], new["end"]) == ("1", 170, 170)
    assert r.report["n_snps_explicit"] == 3
    assert r.report["explicit_genes_not_in_table"] == ["NEW"]
    # no gene table at all: every SNP must carry a gene
    r2 = map_snps_to_genes(snps_at("2", [10, 20], gene=["X1", "X1"]), None)
    assert r2.gene_snps == {"X1": r2.gene_snps["X1"]} and r2.gene_snps["X1"].tolist() == [0, 1]
    with pytest.raises(ParameterError, match="gene table"):
        map_snps_to_genes(snps_at("2", [10, 20], gene=["X1", None]), None)


def test_keep_genes_unknown_and_without_snps_reported():
    genes = table([("A", "1", 100, 200), ("B", "1", 5000, 6000), ("C", "2", 100, 200)])
    snps = snps_at("1", [150, 5500, 5600])
    r = map_snps_to_genes(snps, genes, flank=0, keep_genes=["B", "C", "NOPE", "A"])
    assert list(r.genes["gene"]) == ["A", "B"]
    assert r.report["genes_without_snps"] == ["C"]
    assert r.report["keep_genes_unknown"] == ["NOPE"]
    assert any("C" in w for w in r.report["warnings"])
    r = map_snps_to_genes(snps, genes, flank=0, keep_genes=["B"])
    assert list(r.gene_snps) == ["B"] and r.snp_mask.tolist() == [False, True, True]


@pytest.mark.parametrize(
    "keep_genes, match",
    [
        (["NOPE", "ALSO_NOPE"], r"none of the 2 requested.*build"),
        (["a"], "case"),
    ],
    ids=["none_known", "wrong_case"],
)
def test_keep_genes_none_found_raises(keep_genes, match):
    genes = table([("A", "1", 100, 200), ("B", "1", 5000, 6000), ("C", "2", 100, 200)])
    snps = snps_at("1", [150, 5500, 5600])
    with pytest.raises(GeneMappingError, match=match):
        map_snps_to_genes(snps, genes, keep_genes=keep_genes)


@pytest.mark.parametrize(
    "chrom, match",
    [
        ("1", "build"),
        ("5", "chromosome"),
    ],
    ids=["right_chromosome_wrong_positions", "other_chromosome"],
)
def test_no_snp_maps_says_build(chrom, match):
    genes = table([("A", "1", 10_000_000, 10_001_000)])
    with pytest.raises(GeneMappingError, match=match):
        map_snps_to_genes(snps_at(chrom, [5, 6, 7]), genes)


def test_under_one_percent_with_good_coverage_is_an_error():
    # genes cover half of chr1:1-1,000,000; 995 SNPs fall between genes and 5 inside
    rows = [(f"G{i}", "1", i * 20_000 + 1, i * 20_000 + 10_000) for i in range(50)]
    genes = table(rows)
    pos = [i * 20_000 + 15_000 + (i % 3) for i in range(50)] * 20
    pos = sorted(pos)[:995] + [5, 20_005, 40_005, 60_005, 80_005]
    with pytest.raises(GeneMappingError, match="probably"):
        map_snps_to_genes(snps_at("1", pos), genes, flank=0)
    # a sparse user table (a few genes) is not an error even if few SNPs map
    sparse = table([("G0", "1", 1, 100)])
    r = map_snps_to_genes(snps_at("1", [50] + list(range(100_000, 300_000, 1000))), sparse, flank=0)
    assert r.report["n_snps_mapped"] == 1


def test_real_bim_maps_to_grch37(bim):
    g37 = load_gene_table("grch37")
    r = map_snps_to_genes(bim, g37)
    assert r.report["n_snps"] == 2000
    assert r.report["n_snps_mapped"] / 2000 > 0.6
    assert r.report["n_genes_with_snps"] > 100
    assert r.report["warnings"] == []
    assert set(r.genes["chrom"]) <= {"21", "22"}
    gb = guess_build(bim)
    assert gb["best"] == "grch37"
    assert gb["beyond_end"]["grch38"] > 100 and gb["beyond_end"]["grch37"] == 0
    assert 0 < gb["grch37"] <= 1 and 0 < gb["grch38"] <= 1


def test_real_bim_wrong_build_warns_or_fails(bim):
    r = map_snps_to_genes(bim, load_gene_table("grch38"))
    assert any("GRCh37" in w and "you chose GRCh38" in w for w in r.report["warnings"])
    shifted = load_gene_table("grch37").copy()
    shifted["start"] += 300_000_000
    shifted["end"] += 300_000_000
    shifted.attrs = {"source": "shifted.tsv", "build": None}
    with pytest.raises(GeneMappingError, match=r"build is probably wrong.*GRCh37"):
        map_snps_to_genes(bim, shifted)


def test_mapping_speed_100k_snps():
    g = load_gene_table("grch38")
    load_gene_table("grch37")  # warm the cache used by the build check
    rng = np.random.default_rng(1)
    lengths = CHROM_LENGTHS["grch38"]
    chroms = rng.choice(list(lengths), 100_000)
    pos = (rng.random(100_000) * np.array([lengths[c] for c in chroms])).astype(np.int64) + 1
    snps = pd.DataFrame({"chrom": chroms, "pos": pos})
    t = time.perf_counter()
    r = map_snps_to_genes(snps, g)
    dt = time.perf_counter() - t
    assert dt < 2.0, f"mapping took {dt:.2f} s"
    assert 0.3 < r.report["n_snps_mapped"] / 100_000 < 0.9
    # agrees with a brute-force check on a few genes
    for name in list(r.gene_snps)[:: max(1, len(r.gene_snps) // 20)]:
        row = g.set_index("gene").loc[name]
        brute = np.flatnonzero(
            (snps["chrom"] == row["chrom"]).to_numpy() & (pos >= row["start"] - 10_000) & (pos <= row["end"] + 10_000)
        )
        assert r.gene_snps[name].tolist() == brute.tolist()

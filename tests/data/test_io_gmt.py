import io

import pytest

from gxapp.data.io.gmt import read_gmt, restrict_pathways, write_gmt
from gxapp.errors import DuplicateIdError, EmptyDataError, GeneMappingError, InputFormatError, ParameterError


def test_progeny_gmt(shared_data):
    pw = read_gmt(shared_data / "pathways" / "progeny_top100.gmt")
    assert len(pw) == 14
    assert "Androgen" in pw
    assert all(len(g) == 100 for g in pw.values())
    assert pw["Androgen"][:3] == ["TMPRSS2", "NKX3-1", "MBOAT2"]


def test_go_bp_gmt(shared_data):
    pw = read_gmt(shared_data / "pathways" / "go_bp_10to500.gmt")
    assert len(pw) == 6482
    sizes = [len(g) for g in pw.values()]
    assert min(sizes) >= 10 and max(sizes) <= 500


def test_blank_lines_and_upload():
    up = io.BytesIO(b"P1\tdesc\tA\tB\tA\n\n\nP2\t\tC\t\r\n")
    pw = read_gmt(up, name="up.gmt")
    assert pw == {"P1": ["A", "B"], "P2": ["C"]}


@pytest.mark.parametrize(
    "text, exc, match",
    [
        ("P1\td\tA\tB\nP2\tonly-description\n", InputFormatError, r"bad\.gmt, line 2"),
        ("P1 d A B\n", InputFormatError, "tabs"),
        ("P1\td\tA\nP2\td\tB\nP1\td\tC\n", DuplicateIdError, r"line 3.*'P1'.*line 1"),
        ("\n\n", EmptyDataError, "empty"),
    ],
    ids=["no-genes-on-line-2", "spaces-not-tabs", "duplicate-pathway", "empty"],
)
def test_malformed_duplicate_and_empty_files(tmp_path, text, exc, match):
    p = tmp_path / "bad.gmt"
    p.write_text(text)
    with pytest.raises(exc, match=match):
        read_gmt(p)


def test_write_read_roundtrip(tmp_path):
    pw = {"P1": ["A", "B"], "P2": ["C"]}
    p = tmp_path / "out.gmt"
    write_gmt(p, pw, descriptions={"P1": "first pathway"})
    assert p.read_text().splitlines()[0] == "P1\tfirst pathway\tA\tB"
    assert read_gmt(p) == pw
    buf = io.StringIO()
    write_gmt(buf, pw)
    assert read_gmt(io.BytesIO(buf.getvalue().encode())) == pw
    with pytest.raises(ParameterError, match="tab"):
        write_gmt(tmp_path / "x.gmt", {"bad\tname": ["A"]})


def test_restrict_pathways():
    pw = {"P1": ["A", "B", "C"], "P2": ["D", "E"], "P3": ["A", "Z"]}
    kept, rep = restrict_pathways(pw, ["A", "B", "D", "Q"], min_size=2)
    assert kept == {"P1": ["A", "B"]}
    assert rep["n_genes_cohort"] == 4 and rep["n_genes_matched"] == 3
    assert rep["genes_unmatched"] == ["Q"]
    assert rep["n_pathways_kept"] == 1 and rep["n_pathways_dropped"] == 2
    kept, rep = restrict_pathways(pw, ["A", "D"])
    assert kept == {"P1": ["A"], "P2": ["D"], "P3": ["A"]}


@pytest.mark.parametrize(
    "genes, kw, exc, match",
    [
        (
            ["X1", "X2"],
            {"source": "my.gmt"},
            GeneMappingError,
            r"none of the 2 genes of the cohort appear in my\.gmt: check gene symbols",
        ),
        (["a", "b"], {}, GeneMappingError, "case"),
        (["A"], {"min_size": 0}, ParameterError, "min_size"),
    ],
    ids=["no-gene-matches", "wrong-case", "min-size-zero"],
)
def test_restrict_pathways_errors(genes, kw, exc, match):
    pw = {"P1": ["A", "B", "C"], "P2": ["D", "E"], "P3": ["A", "Z"]}
    with pytest.raises(exc, match=match):
        restrict_pathways(pw, genes, **kw)


def test_restrict_real_pathways_to_builtin_genes(shared_data):
    from gxapp.data.io.gene_tables import load_gene_table

    pw = read_gmt(shared_data / "pathways" / "progeny_top100.gmt")
    genes = load_gene_table("grch38")["gene"]
    kept, rep = restrict_pathways(pw, genes, min_size=10)
    assert len(kept) == 14
    assert rep["n_genes_matched"] > 1000

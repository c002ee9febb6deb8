import io

import pytest

from gxapp.errors import DuplicateIdError, EmptyDataError, GeneMappingError, InputFormatError, ParameterError
from gxapp.data.io.gmt import read_gmt, restrict_pathways, write_gmt


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


def test_malformed_line_names_line(tmp_path):
    p = tmp_path / "bad.gmt"
    p.write_text("P1\td\tA\tB\nP2\tonly-description\n")
    with pytest.raises(InputFormatError, match=r"bad\.gmt, line 2"):
        read_gmt(p)
    p.write_text("P1 d A B\n")
    with pytest.raises(InputFormatError, match="tabs"):
        read_gmt(p)


def test_duplicate_and_empty(tmp_path):
    p = tmp_path / "dup.gmt"
    p.write_text("P1\td\tA\nP2\td\tB\nP1\td\tC\n")
    with pytest.raises(DuplicateIdError, match=r"line 3.*'P1'.*line 1"):
        read_gmt(p)
    e = tmp_path / "empty.gmt"
    e.write_text("\n\n")
    with pytest.raises(EmptyDataError, match="empty"):
        read_gmt(e)


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
    with pytest.raises(GeneMappingError, match=r"none of the 2 genes of the cohort appear in my\.gmt: check gene symbols"):
        restrict_pathways(pw, ["X1", "X2"], source="my.gmt")
    with pytest.raises(GeneMappingError, match="case"):
        restrict_pathways(pw, ["a", "b"])
    with pytest.raises(ParameterError, match="min_size"):
        restrict_pathways(pw, ["A"], min_size=0)


def test_restrict_real_pathways_to_builtin_genes(shared_data):
    from gxapp.data.io.gene_tables import load_gene_table

    pw = read_gmt(shared_data / "pathways" / "progeny_top100.gmt")
    genes = load_gene_table("grch38")["gene"]
    kept, rep = restrict_pathways(pw, genes, min_size=10)
    assert len(kept) == 14
    assert rep["n_genes_matched"] > 1000

import io

import numpy as np
import pandas as pd
import pytest

from gxapp.data.io.variants import (
    CLASS_ALIASES,
    CLASSES,
    canonical_class,
    gene_centric_tensor,
    read_variant_table,
    standardise_counts,
)
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError, ParameterError


def test_classes_unchanged():
    assert len(CLASSES) == 17
    assert CLASSES[0] == "UTR3" and CLASSES[-1] == "nonsynonymous"
    assert set(CLASS_ALIASES.values()) <= set(CLASSES)


@pytest.mark.parametrize(
    "spelling,canon",
    [
        ("UTR3", "UTR3"),
        ("3'UTR", "UTR3"),
        ("utr5", "UTR5"),
        ("nonsynonymous SNV", "nonsynonymous"),
        ("frameshift insertion", "frameshift_insertion"),
        ("non-frameshift deletion", "nonframeshift_deletion"),
        ("exonic;splicing", "splicing"),
        ("ncRNA_exonic", "ncRNA_exonic"),
        ("stopgain", "stopgain"),
        ("nonframeshift deletion", "nonframeshift_deletion"),
        ("missense_variant", "nonsynonymous"),
        ("UTR5;UTR3", "UTR5"),
        ("splice_region_variant&intron_variant", "splicing"),
        ("Stop_Lost", "stoploss"),
    ],
)
def test_aliases(spelling, canon):
    assert canonical_class(spelling) == canon


def test_ignored_and_unknown_spellings():
    assert canonical_class("synonymous SNV") is None
    assert canonical_class("intergenic") is None
    with pytest.raises(KeyError):
        canonical_class("weird")


def test_read_csv_canonicalises_and_sums(tmp_path):
    p = tmp_path / "v.csv"
    p.write_text(
        "Sample,Gene,Func,Count\n"
        "s1,BRCA1,nonsynonymous SNV,2\n"
        "s1,BRCA1,missense_variant,1\n"
        "s2,TP53,3'UTR,1\n"
        "s2,TP53,synonymous SNV,4\n"
        "s2,TP53,exonic;splicing,1\n"
    )
    df = read_variant_table(p)
    assert list(df.columns) == ["iid", "gene", "class", "count"]
    got = {(r.iid, r.gene, r["class"]): r["count"] for _, r in df.iterrows()}
    assert got == {("s1", "BRCA1", "nonsynonymous"): 3.0, ("s2", "TP53", "UTR3"): 1.0, ("s2", "TP53", "splicing"): 1.0}
    assert df["count"].dtype == np.float64
    assert df.attrs["n_rows_ignored"] == 1 and df.attrs["ignored_classes"] == ["synonymous SNV"]
    assert df.attrs["n_duplicates_summed"] == 1


def test_tsv_upload_default_count_and_annovar_columns():
    up = io.BytesIO(
        b"iid\tGene.refGene\tFunc.refGene\tExonicFunc.refGene\n"
        b"a\tG1\texonic\tstopgain\n"
        b"a\tG1\tintronic\t.\n"
        b"a\tG1\tintronic\t.\n"
        b"b\tG2\texonic;splicing\tframeshift deletion\n"
    )
    df = read_variant_table(up, name="annovar.tsv")
    got = {(r.iid, r.gene, r["class"]): r["count"] for _, r in df.iterrows()}
    assert got == {("a", "G1", "stopgain"): 1.0, ("a", "G1", "intronic"): 2.0, ("b", "G2", "frameshift_deletion"): 1.0}
    assert df.attrs["source"] == "annovar.tsv"


def test_parquet(tmp_path):
    p = tmp_path / "v.parquet"
    pd.DataFrame(
        {"sample": ["x", "y"], "symbol": ["G", "G"], "type": ["UTR5", "stoploss"], "count": [1, 3]}
    ).to_parquet(p)
    df = read_variant_table(p)
    assert df["count"].tolist() == [1.0, 3.0] and df["class"].tolist() == ["UTR5", "stoploss"]


def test_unknown_classes_are_listed(tmp_path):
    p = tmp_path / "u.tsv"
    rows = ["sample\tgene\tclass"] + [f"s\tG\tfoo{i}" for i in range(12)] + ["s\tG\tUTR3", "s\tG\texonic"]
    p.write_text("\n".join(rows) + "\n")
    with pytest.raises(InputFormatError) as e:
        read_variant_table(p)
    msg = str(e.value)
    assert "u.tsv" in msg and "13 unknown" in msg
    assert "'foo0'" in msg and "'foo9'" in msg and "'foo10'" not in msg and "..." in msg
    assert "nonframeshift_deletion" in msg  # accepted names listed
    assert "line 2" in msg


def test_exonic_without_exonic_function_is_explained(tmp_path):
    p = tmp_path / "u.tsv"
    p.write_text("sample\tgene\tclass\ns\tG\tbar\ns\tG\texonic\n")
    with pytest.raises(InputFormatError, match=r"'bar'.*'exonic'.*ExonicFunc"):
        read_variant_table(p)


@pytest.mark.parametrize(
    "text, match",
    [
        ("iid,gene,class,count\na,G,UTR3,1\n\nb,G,UTR3,-2\n", r"c\.csv, line 4: count '-2'"),
        ("iid,gene,class,count\na,G,UTR3,two\n", r"line 2: count 'two'"),
        ("iid,gene,class\na,,UTR3\n", r"line 2: the gene is missing"),
    ],
    ids=["negative-count", "non-numeric-count", "missing-gene"],
)
def test_bad_counts_name_the_line(tmp_path, text, match):
    p = tmp_path / "c.csv"
    p.write_text(text)
    with pytest.raises(InputFormatError, match=match):
        read_variant_table(p)


@pytest.mark.parametrize(
    "text, exc, match",
    [
        ("", EmptyDataError, None),
        ("iid,gene,class\n", EmptyDataError, None),
        ("iid,gene,class\na,G,intergenic\n", EmptyDataError, "intergenic"),
        ("iid,what,class\na,G,UTR3\n", InputFormatError, "gene/symbol"),
    ],
    ids=["empty", "header-only", "only-intergenic", "no-gene-column"],
)
def test_empty_and_missing_columns(tmp_path, text, exc, match):
    p = tmp_path / "e.csv"
    p.write_text(text)
    with pytest.raises(exc, match=match):
        read_variant_table(p)


def test_tensor_tiny_example():
    v = pd.DataFrame(
        {
            "iid": ["s1", "s1", "s2", "s2", "ghost"],
            "gene": ["A", "B", "A", "OTHER", "A"],
            "class": ["UTR3", "nonsynonymous", "UTR3", "UTR3", "UTR3"],
            "count": [2.0, 1.0, 3.0, 5.0, 7.0],
        }
    )
    t, rep = gene_centric_tensor(v, ["s1", "s2", "s3"], ["A", "B"], return_report=True)
    assert t.shape == (3, 2, len(CLASSES)) and t.dtype == np.float32
    u, ns = CLASSES.index("UTR3"), CLASSES.index("nonsynonymous")
    expect = np.zeros_like(t)
    expect[0, 0, u] = 2
    expect[0, 1, ns] = 1
    expect[1, 0, u] = 3
    np.testing.assert_array_equal(t, expect)
    assert rep["n_rows_unknown_gene"] == 1 and rep["genes_not_listed"] == ["OTHER"]
    assert rep["n_rows_unknown_sample"] == 1 and rep["n_samples_without_variants"] == 1
    t2 = gene_centric_tensor(v, ["s1"], ["A"], classes=("UTR3",), dtype=np.float64)
    assert t2.shape == (1, 1, 1) and t2[0, 0, 0] == 2.0
    with pytest.raises(DuplicateIdError):
        gene_centric_tensor(v, ["s1", "s1"], ["A"])


def test_tensor_from_file_roundtrip(tmp_path):
    p = tmp_path / "v.tsv"
    p.write_text("iid\tgene\tclass\tcount\na\tG\tUTR3\t1\na\tG\t3'UTR\t2\nb\tH\tstopgain\t1\n")
    t = gene_centric_tensor(read_variant_table(p), ["a", "b"], ["G", "H"])
    assert t[0, 0, CLASSES.index("UTR3")] == 3 and t[1, 1, CLASSES.index("stopgain")] == 1 and t.sum() == 4


def test_standardise_uses_train_rows_only():
    rng = np.random.default_rng(0)
    x = rng.poisson(2.0, size=(10, 4, 3)).astype(np.float32)
    x[:, :, 2] = 5.0  # constant class
    train = np.array([0, 2, 4, 6, 8])
    z = standardise_counts(x, train)
    assert z.dtype == np.float32 and z.shape == x.shape
    zt = z[train].astype(np.float64)
    np.testing.assert_allclose(zt[:, :, :2].mean(axis=(0, 1)), 0, atol=1e-6)
    np.testing.assert_allclose(zt[:, :, :2].std(axis=(0, 1)), 1, atol=1e-5)
    np.testing.assert_array_equal(z[:, :, 2], 0)  # zero variance: centred only
    # changing the test rows does not change the standardisation of the train rows
    y = x.copy()
    y[1::2] += 100
    z2 = standardise_counts(y, np.isin(np.arange(10), train))
    np.testing.assert_array_equal(z2[train], z[train])
    _, mean, sd = standardise_counts(x, train, return_stats=True)
    np.testing.assert_allclose(mean, x[train].mean(axis=(0, 1)), rtol=1e-6)
    with pytest.raises(ParameterError):
        standardise_counts(x, [])

"""Phenotype and covariate files."""

import io

import numpy as np
import pandas as pd
import pytest

from gxapp.data.io.pheno import read_covar, read_pheno
from gxapp.errors import DuplicateIdError, EmptyDataError, InputFormatError


def _src(text):
    return io.BytesIO(text.encode())


def test_plink_no_header_binary(tmp_path):
    path = tmp_path / "p.phe"
    path.write_text("F1 s1 1\nF2 s2 2\n\nF3 s3 -9\nF4 s4 2\n")
    df, trait = read_pheno(path)
    assert trait == "binary"
    assert list(df.columns) == ["iid", "value"] and list(df["iid"]) == ["s1", "s2", "s3", "s4"]
    np.testing.assert_array_equal(df["value"], [0, 1, np.nan, 1])
    assert df["value"].dtype == np.float64


def test_header_iid_with_na_and_columns():
    text = "#FID\tIID\tbmi\tcase\nF1\ts1\t22.5\t0\nF2\ts2\tNA\t1\nF3\ts3\t\t.\n"
    df, trait = read_pheno(_src(text), name="p.tsv")
    assert trait == "quantitative"
    np.testing.assert_array_equal(df["value"], [22.5, np.nan, np.nan])
    df, trait = read_pheno(_src(text), column="CASE")
    assert trait == "binary"
    np.testing.assert_array_equal(df["value"], [0, 1, np.nan])
    df2, _ = read_pheno(_src(text), column=2)
    pd.testing.assert_frame_equal(df, df2)


def test_comma_header_without_fid_quantitative():
    df, trait = read_pheno(_src("IID,height\na,1.70\nb,nan\nc,1.82\n"))
    assert trait == "quantitative"
    np.testing.assert_array_equal(df["value"], [1.70, np.nan, 1.82])


@pytest.mark.parametrize(
    "text, column, exc, match",
    [
        (
            "IID height\na 1.7\nb tall\n",
            None,
            InputFormatError,
            r"p\.txt line 3: value 'tall' in column 'height' \(sample 'b'\)",
        ),
        ("F s1 1\nF s1 2\n", None, DuplicateIdError, "'s1' appears on lines 1 and 2"),
        ("", None, EmptyDataError, None),
        ("FID IID bmi\n", None, EmptyDataError, None),
        ("IID bmi age\na 1 2\n", "height", InputFormatError, "not found; value columns there are: bmi, age"),
        ("IID bmi\na 1 2\n", None, InputFormatError, "line 2: 3 columns"),
    ],
    ids=["bad-value", "duplicate-id", "empty", "header-only", "missing-column", "extra-column"],
)
def test_errors(text, column, exc, match):
    kw = {} if column is None else {"column": column}
    with pytest.raises(exc, match=match):
        read_pheno(_src(text), name="p.txt", **kw)


def test_covar_with_sex_and_missing():
    text = "FID IID age sex\nf a 30 M\nf b NA F\nf c 41 .\nf d -9 M\n"
    cov = read_covar(_src(text))
    assert list(cov.columns) == ["age", "sex_M"]
    assert list(cov.index) == ["a", "b", "c", "d"] and cov.index.name == "iid"
    assert (cov.dtypes == np.float64).all()
    np.testing.assert_array_equal(cov["age"], [30, np.nan, 41, np.nan])
    np.testing.assert_array_equal(cov["sex_M"], [1, 0, np.nan, 1])
    only_age = read_covar(_src(text), columns=["age"])
    assert list(only_age.columns) == ["age"]


@pytest.mark.parametrize(
    "text, match",
    [
        ("IID age\na 30\nb 4O\n", r"c\.txt line 3: value '4O' in column 'age'"),
        ("IID site\n" + "".join(f"s{i} L{i}\n" for i in range(11)), "column 'site' has 11 distinct text values"),
    ],
    ids=["bad-number", "too-many-levels"],
)
def test_covar_errors(text, match):
    with pytest.raises(InputFormatError, match=match):
        read_covar(_src(text), name="c.txt")

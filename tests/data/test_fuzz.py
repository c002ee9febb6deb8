"""Fuzzing the readers: valid files of every format, mutated by a seeded generator (truncated,
bytes flipped, lines dropped or duplicated, numbers changed). Every mutant must load or raise a
typed gxapp error — never another exception — and a failed cohort load must publish no cache entry.
Bounded to a few seconds: a fixed number of mutants per format, the same on every run."""

import numpy as np
import pandas as pd
import pytest

from gxapp.analyses import cohorts
from gxapp.data.io.genotypes import Genotypes
from gxapp.data.io.gmt import read_gmt
from gxapp.data.io.pheno import read_covar, read_pheno
from gxapp.data.io.plink import read_plink, write_plink
from gxapp.data.io.table import read_genotype_table
from gxapp.data.io.variants import read_variant_table
from gxapp.data.io.vcf import read_vcf
from gxapp.errors import GxError

MUTANTS = 25


def _plink(tmp_path):
    rng = np.random.default_rng(0)
    n, p = 11, 6
    g = rng.integers(-1, 3, size=(n, p)).astype(np.int8)
    samples = pd.DataFrame({"fid": [f"F{i}" for i in range(n)], "iid": [f"S{i}" for i in range(n)]})
    snps = pd.DataFrame(
        {
            "snp": [f"rs{j}" for j in range(p)],
            "chrom": ["1"] * p,
            "pos": np.arange(1, p + 1) * 1000,
            "a1": ["A"] * p,
            "a2": ["G"] * p,
        }
    )
    write_plink(tmp_path / "x", Genotypes(g, samples, snps))
    return {ext: (tmp_path / f"x{ext}").read_bytes() for ext in (".bed", ".bim", ".fam")}


VCF = (
    "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ta\tb\tc\n"
    "1\t100\trs1\tA\tG\t.\tPASS\t.\tGT\t0/0\t0/1\t1/1\n"
    "1\t200\trs2\tC\tT\t.\tPASS\t.\tGT\t0|1\t./.\t1|1\n"
    "1\t300\trs3\tG\tA,C\t.\tPASS\t.\tGT\t0/2\t1/1\t0/0\n"
).encode()
TEXT_FILES = {
    "table": ("g.csv", b"iid,1:100,1:200,1:300\ns1,0,1,2\ns2,2,NA,1\ns3,1,1,0\n", read_genotype_table),
    "pheno": ("y.txt", b"FID IID y\nf s1 1.5\nf s2 -0.25\nf s3 NA\n", read_pheno),
    "covar": ("c.txt", b"FID IID age sex\nf s1 40 M\nf s2 55 F\nf s3 61 F\n", read_covar),
    "gmt": ("p.gmt", b"P1\tdesc\tA\tB\tC\nP2\thttp://x\tB\tD\n", read_gmt),
    "variants": ("v.tsv", b"sample\tgene\tclass\tcount\ns1\tA\tUTR3\t1\ns2\tB\tstopgain\t2\n", read_variant_table),
    "vcf": ("a.vcf", VCF, read_vcf),
}


def mutate(data: bytes, rng) -> bytes:
    """One random damage of ``data``."""
    kind = rng.integers(6)
    b = bytearray(data)
    if kind == 0 and len(b) > 1:  # truncate
        return bytes(b[: rng.integers(1, len(b))])
    if kind == 1:  # flip a few bytes
        for i in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[i] ^= 1 << int(rng.integers(8))
        return bytes(b)
    lines = data.split(b"\n")
    i = int(rng.integers(len(lines)))
    if kind == 2:  # drop a line
        return b"\n".join(lines[:i] + lines[i + 1 :])
    if kind == 3:  # duplicate a line
        return b"\n".join(lines[: i + 1] + lines[i:])
    if kind == 4:  # change a number
        digits = [k for k, c in enumerate(b) if chr(c).isdigit()]
        if digits:
            b[digits[int(rng.integers(len(digits)))]] = ord(rng.choice(list("0123456789-.e")))
        return bytes(b)
    return bytes(b) + bytes(rng.integers(0, 256, size=int(rng.integers(1, 20)), dtype=np.uint8))  # garbage tail


def _load_or_typed_error(fn, *args) -> bool:
    """True when ``fn`` raised a typed gxapp error; any other exception fails the test."""
    try:
        fn(*args)
    except GxError:
        return True
    return False


@pytest.mark.parametrize("fmt", list(TEXT_FILES))
def test_mutated_text_files_load_or_raise_typed_errors(tmp_path, fmt):
    name, data, reader = TEXT_FILES[fmt]
    rng = np.random.default_rng(sum(map(ord, fmt)))
    errors = 0
    for k in range(MUTANTS):
        path = tmp_path / f"{k}-{name}"
        path.write_bytes(mutate(data, rng))
        errors += _load_or_typed_error(reader, path)
    assert 0 < errors, "no mutant reached an error path: the fuzzing is not biting"


@pytest.mark.parametrize("part", [".bed", ".bim", ".fam"])
def test_mutated_plink_filesets_load_or_raise_typed_errors(tmp_path, part):
    files = _plink(tmp_path)
    rng = np.random.default_rng(sum(map(ord, part)))
    errors = 0
    for k in range(MUTANTS):
        d = tmp_path / str(k)
        d.mkdir()
        for ext, data in files.items():
            (d / f"x{ext}").write_bytes(mutate(data, rng) if ext == part else data)
        errors += _load_or_typed_error(read_plink, d / "x")
    assert 0 < errors < MUTANTS


def test_a_failed_cohort_load_publishes_no_cache_entry(tmp_path):
    files = _plink(tmp_path)
    genes = tmp_path / "genes.tsv"
    genes.write_text("gene\tchrom\tstart\tend\nA\t1\t500\t3500\nB\t1\t3600\t7000\n")
    rng = np.random.default_rng(7)
    root = tmp_path / "cache"
    failures = 0
    for k in range(12):
        d = tmp_path / f"m{k}"
        d.mkdir()
        for ext, data in files.items():
            (d / f"x{ext}").write_bytes(mutate(data, rng) if ext == ".fam" else data)
        before = set(cohorts.store(root).keys())
        try:
            cohorts.from_files(cohorts.FileSpec(genotypes=str(d / "x"), genes=str(genes)), root=root)
        except GxError:
            failures += 1
            assert set(cohorts.store(root).keys()) == before
    assert failures > 0  # the mutations did reach the error paths
    assert not list(root.rglob(".tmp-*"))

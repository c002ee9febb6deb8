"""BGEN input (cbgen): the same cohort as the PLINK set it was exported from by Debian's
plink2; imputed dosages kept for the networks (and hard calls for QC); the info-score filter;
samples from the .sample file; the variant index never written beside the user's file."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from gxapp.data.io.bgen import info_score, read_bgen, read_sample_file, variant_table
from gxapp.data.io.plink import read_plink
from gxapp.errors import InputFormatError


def _plink2(*args):
    if shutil.which("plink2") is None:
        pytest.skip("Debian's plink2 is not installed")
    subprocess.run(["plink2", *map(str, args)], check=True, capture_output=True)


@pytest.fixture
def eur_bgen(shared_data, tmp_path):
    bfile = shared_data / "plink_eur_test" / "EUR_test"
    _plink2("--bfile", bfile, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", tmp_path / "eur")
    return bfile, tmp_path / "eur.bgen", tmp_path / "eur.sample"


def test_bgen_reads_what_plink1_reads(eur_bgen):
    bfile, bgen, sample = eur_bgen
    before = sorted(p.name for p in bgen.parent.iterdir())
    a, b = read_bgen(bgen, sample=sample), read_plink(bfile)
    np.testing.assert_array_equal(a.genotypes, b.genotypes)
    np.testing.assert_allclose(a.dosages, np.where(b.genotypes < 0, np.nan, b.genotypes), atol=1e-6)
    cols = ["snp", "chrom", "pos", "a1", "a2"]
    assert (a.snps[cols].to_numpy() == b.snps[cols].to_numpy()).all()
    assert list(a.samples["iid"]) == list(b.samples["iid"]) and list(a.samples["fid"]) == list(b.samples["fid"])
    assert a.meta["dropped_low_info"] == 0 and "eur.sample" in a.meta["sample_ids"]
    assert sorted(p.name for p in bgen.parent.iterdir()) == before  # no index file beside the user's data


def test_dosages_survive_and_low_info_variants_are_dropped(tmp_path):
    rng = np.random.default_rng(0)
    n = 60
    ds_good = rng.integers(0, 3, n).astype(float)  # certain calls
    ds_soft = np.clip(ds_good + rng.normal(0, 0.15, n), 0, 2)  # imputed, still informative
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        '##FORMAT=<ID=DS,Number=1,Type=Float,Description="dosage">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(f"s{i}" for i in range(n)),
    ]
    for k, ds in enumerate((ds_good, ds_soft)):
        lines.append(f"1\t{100 * (k + 1)}\trs{k}\tA\tG\t.\t.\t.\tDS\t" + "\t".join(f"{v:.3f}" for v in ds))
    (tmp_path / "d.vcf").write_text("\n".join(lines) + "\n")
    _plink2(
        "--vcf",
        tmp_path / "d.vcf",
        "dosage=DS",
        "--export",
        "bgen-1.2",
        "bits=16",
        "ref-first",
        "--out",
        tmp_path / "d",
    )
    g = read_bgen(tmp_path / "d.bgen", sample=tmp_path / "d.sample", min_info=0.0)
    np.testing.assert_allclose(g.dosages[:, 0], ds_good, atol=1e-3)
    np.testing.assert_allclose(g.dosages[:, 1], ds_soft, atol=2e-3)
    assert set(np.unique(g.genotypes)) <= {0, 1, 2}
    strict = read_bgen(tmp_path / "d.bgen", sample=tmp_path / "d.sample", min_info=0.999)
    assert list(strict.snps["snp"]) == ["rs0"] and strict.meta["dropped_low_info"] == 1


def test_info_score():
    certain = np.zeros((100, 1, 3))
    certain[:50, 0, 0] = 1
    certain[50:, 0, 2] = 1
    flat = np.tile([0.25, 0.5, 0.25], (100, 1, 1))
    np.testing.assert_allclose(info_score(np.concatenate([certain, flat], axis=1)), [1.0, 0.0], atol=1e-12)


def test_damaged_inputs_are_clear(tmp_path):
    (tmp_path / "x.bgen").write_bytes(b"not a bgen file at all")
    with pytest.raises(InputFormatError, match="x.bgen: not a readable BGEN"):
        variant_table(tmp_path / "x.bgen")
    with pytest.raises(InputFormatError, match="file not found"):
        variant_table(tmp_path / "nope.bgen")
    (tmp_path / "s.sample").write_text("foo bar\n1 2\n")
    with pytest.raises(InputFormatError, match="Oxford .sample"):
        read_sample_file(tmp_path / "s.sample")


def test_qc_and_the_model_ready_data_from_bgen(eur_bgen, tmp_path, cache_dir):
    from gxapp.analyses import cohorts
    from gxapp.cli import main
    from gxapp.data.files import FileSpec
    from gxapp.data.preprocess import prepare

    bfile, bgen, sample = eur_bgen
    outs = {}
    for flags in (["--bfile", bfile], ["--bgen", bgen, "--sample", sample]):
        js = tmp_path / f"{flags[0]}.json"
        assert main(["qc", *map(str, flags), "--genes", "grch37", "--json", str(js)]) == 0
        outs[flags[0]] = json.loads(js.read_text())
    a, b = outs["--bfile"], outs["--bgen"]
    assert (a["n_samples"], a["n_snps"], a["n_genes"], a["genes"]) == (
        b["n_samples"],
        b["n_snps"],
        b["n_genes"],
        b["genes"],
    )
    c = cohorts.from_files(FileSpec(genotypes=str(bgen), sample=str(sample), genes="grch37")).cohort
    assert c.dosages is not None and c.dosages.dtype == np.float32
    rng = np.random.default_rng(1)
    c.phenotype = rng.normal(size=c.n_samples)
    p = prepare(c)
    assert p.report["genotype_values"] == "imputed dosages"
    d = c.dosages.astype(np.float64)
    mu = np.nanmean(d[p.train_idx], axis=0)
    np.testing.assert_allclose(p.X, np.nan_to_num(d - mu), atol=1e-5)

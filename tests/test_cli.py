import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from gxapp.cli import main

ROOT = Path(__file__).resolve().parents[1]


def _files(out) -> list:
    """The data flags for a simulated cohort in ``out`` (PLINK files, phenotype, gene table)."""
    return ["--bfile", str(out / "cohort"), "--pheno", str(out / "phenotype.tsv"), "--genes", str(out / "genes.tsv")]


def _simulate(out, flags: str) -> int:
    """``python -m gxapp simulate FLAGS --out OUT`` in-process."""
    return main(["simulate", *flags.split(), "--out", str(out)])


def test_simulate_writes_the_documented_files(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    rc = main(
        [
            "simulate",
            "--scenario",
            "complex",
            "--n-samples",
            "300",
            "--n-genes",
            "10",
            "--snr",
            "0.5",
            "--mi",
            "1",
            "--prop-causal",
            "0.5",
            "--seed",
            "3",
            "--genotype-model",
            "binomial",
            "--snps-per-gene",
            "5",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("simulated complex: 300 samples") and "\n" not in line
    for f in ("cohort.bed", "cohort.bim", "cohort.fam", "phenotype.tsv", "genes.tsv", "truth.json"):
        assert (out / f).is_file(), f
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["pairs"]) == 6
    head = (out / "phenotype.tsv").read_text().splitlines()[0].split("\t")
    assert head == ["FID", "IID", "y"]
    assert (out / "genes.tsv").read_text().splitlines()[0].split("\t") == ["gene", "chrom", "start", "end"]


def test_simulate_casecontrol_writes_variants_and_pathways(tmp_path, cache_dir):
    out = tmp_path / "cc"
    assert (
        _simulate(
            out, "--scenario casecontrol --n-samples 300 --n-genes 12 --genotype-model binomial --snps-per-gene 5"
        )
        == 0
    )
    assert (out / "variants.tsv").is_file() and (out / "pathways.gmt").is_file()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["effect"] == 3.0 and truth["h2_target"] is None
    flags = "--scenario casecontrol --n-samples 300 --n-genes 12 --genotype-model binomial --snps-per-gene 5 --h2 0.3"
    assert _simulate(tmp_path / "h2", flags) == 0
    truth = json.loads((tmp_path / "h2" / "truth.json").read_text())
    assert truth["h2_target"] == 0.3 and truth["h2_liability"] == pytest.approx(0.3)


def test_qc_json_on_the_simulated_files(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    assert _simulate(out, "--n-samples 300 --n-genes 10 --genotype-model binomial --snps-per-gene 5 --seed 1") == 0
    js = tmp_path / "qc.json"
    rc = main(
        [
            "qc",
            *_files(out),
            "--maf",
            "0.01",
            "--json",
            str(js),
        ]
    )
    assert rc == 0
    rep = json.loads(js.read_text())
    assert rep["n_samples"] == 300 and rep["n_genes"] == 10
    assert rep["n_snps"] == sum(len(v) for v in rep["genes"].values())
    assert set(rep["removed"]) >= {"snp_missing", "maf", "hwe"}
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("qc: 300 samples")


def test_qc_real_plink(shared_data, tmp_path, cache_dir):
    js = tmp_path / "qc.json"
    assert (
        main(
            ["qc", "--bfile", str(shared_data / "plink_eur_test" / "EUR_test"), "--genes", "grch37", "--json", str(js)]
        )
        == 0
    )
    rep = json.loads(js.read_text())
    assert rep["n_samples"] == 379 and rep["n_genes"] > 0


def test_bad_input_exits_nonzero_with_a_message(tmp_path, cache_dir):
    (tmp_path / "x.bed").write_bytes(b"not a bed")
    (tmp_path / "x.bim").write_text("1 rs1 0 100 A G\n")
    (tmp_path / "x.fam").write_text("f1 i1 0 0 1 -9\n")
    r = subprocess.run(
        [sys.executable, "-m", "gxapp", "qc", "--bfile", str(tmp_path / "x"), "--genes", "grch37"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "GXAPP_CACHE": str(cache_dir)},
    )
    assert r.returncode == 2
    assert r.stderr.startswith("error: ") and "x.bed" in r.stderr
    assert "Traceback" not in r.stderr


def test_bad_parameter_exits_nonzero(tmp_path, cache_dir, capsys):
    rc = main(["simulate", "--n-samples", "300", "--snr", "-1", "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "snr" in capsys.readouterr().err


def test_train_json_and_cache_hit(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    assert (
        _simulate(out, "--n-samples 300 --n-genes 4 --snr 1 --genotype-model binomial --snps-per-gene 4 --seed 5") == 0
    )
    js = tmp_path / "train.json"
    args = [
        "train",
        *_files(out),
        "--ensemble",
        "2",
        "--l1",
        "1e-4",
        "--gene-hidden",
        "3",
        "--head-hidden",
        "8",
        "--epochs",
        "4",
        "--seed",
        "1",
        "--device",
        "cpu",
        "--json",
        str(js),
        "--quiet",
    ]
    assert main(args) == 0
    rep = json.loads(js.read_text())
    assert rep["device"] == "cpu" and not rep["cached"]
    assert len(rep["r2_test"]["members"]) == 2 and len(rep["epochs"]["interaction"]) == 2
    assert set(rep["r2_test"]) >= {"ensemble", "main_effect", "topsnp_ols"}
    assert main(args) == 0
    again = json.loads(js.read_text())
    assert again["cached"] and again["run"] == rep["run"]
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("s")


def test_train_bad_parameters_are_clear(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    assert _simulate(out, "--n-samples 200 --n-genes 3 --genotype-model binomial --snps-per-gene 3") == 0
    base = [
        "train",
        *_files(out),
        "--quiet",
    ]
    capsys.readouterr()
    assert main(base + ["--l1", "-1"]) == 2
    assert "l1" in capsys.readouterr().err
    assert main(base + ["--ensemble", "0"]) == 2
    assert "ensemble" in capsys.readouterr().err
    import torch

    if not torch.cuda.is_available():
        assert main(base + ["--device", "cuda"]) == 2
        assert "CUDA requested but no GPU" in capsys.readouterr().err


def test_interactions_json(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    assert (
        _simulate(out, "--n-samples 300 --n-genes 4 --snr 1 --genotype-model binomial --snps-per-gene 4 --seed 5") == 0
    )
    base = [
        *_files(out),
        "--ensemble",
        "2",
        "--gene-hidden",
        "3",
        "--head-hidden",
        "8",
        "--epochs",
        "4",
        "--quiet",
    ]
    js = tmp_path / "ia.json"
    assert main(["interactions", *base, "--permutations", "0", "--json", str(js)]) == 0
    rep = json.loads(js.read_text())
    assert rep["B"] == 0 and rep["perm_method"] == "I" and len(rep["pairs"]) == 6
    first = rep["pairs"][0]
    peers = {f"{w}_{m}_{r}" for w in ("score", "p") for m in ("lasso", "xgb") for r in ("topsnp", "pca")}
    nn = {"score", "p", "q", "slope", "p_global", "q_global", "p_maxt"}
    assert set(first) == {"gene_a", "gene_b", "p_topsnp", "p_pca", "p_snppair", "nn_only"} | nn | peers
    # B = 0: no Perm I, but the held-out test gives every pair a p and a q
    assert first["p_global"] is None and first["q_global"] is None and first["p_maxt"] is None
    assert all(0 <= p["p"] <= 1 and p["q"] >= p["p"] - 1e-12 for p in rep["pairs"]) and rep["cached"] is False
    assert set(rep["tests"]) == {"p", "q", "p_global", "q_global", "p_maxt"} and rep["heldout_rows"]["n_test"] > 0
    assert rep["candidates"] == 6  # 4 genes: every one of the 6 pairs
    assert first["p_lasso_topsnp"] is None and first["score_xgb_pca"] >= 0
    assert rep["peer_perm_method"] == "R"
    assert main(["interactions", *base, "--permutations", "0", "--json", str(js)]) == 0
    again = json.loads(js.read_text())
    assert again["cached"] is True and again["analysis"] == rep["analysis"] and again["pairs"] == rep["pairs"]
    assert "(cached)" in capsys.readouterr().out
    assert main(["interactions", *base, "--permutations", "0", "--candidates", "2", "--json", str(js)]) == 0
    two = json.loads(js.read_text())
    assert two["candidates"] == 2 and sum(p["q"] is not None for p in two["pairs"]) == 2
    assert [p["p"] for p in two["pairs"]] == [p["p"] for p in rep["pairs"]]  # the screen leaves p alone
    assert (
        main(
            [
                "interactions",
                *base,
                "--permutations",
                "2",
                "--perm-method",
                "T",
                "--index",
                "BII",
                "--peer-perm-method",
                "T",
                "--json",
                str(js),
            ]
        )
        == 0
    )
    rep = json.loads(js.read_text())
    assert rep["B"] == 2 and rep["index"] == "BII" and all(1 / 3 - 1e-9 <= p["p_global"] <= 1 for p in rep["pairs"])
    assert rep["peer_perm_method"] == "T"
    assert all(1 / 3 - 1e-9 <= p[f"p_{m}"] <= 1 for p in rep["pairs"] for m in ("lasso_pca", "xgb_topsnp"))
    assert "interactions: 6 gene pairs scored" in capsys.readouterr().out


def test_epistasis_json_from_variants_and_from_plink(tmp_path, cache_dir, capsys):
    out = tmp_path / "cc"
    assert (
        _simulate(
            out,
            "--scenario casecontrol --n-samples 300 --n-genes 12 --genotype-model binomial --snps-per-gene 4 --seed 2",
        )
        == 0
    )
    js = tmp_path / "epi.json"
    common = ["--models", "logreg,dense,l2", "--folds", "2", "--repeats", "1", "--seed", "1", "--quiet"]
    variants = ["--variants", str(out / "variants.tsv"), "--pheno", str(out / "phenotype.tsv")]
    from_variants = ["epistasis", *variants, "--pathways", str(out / "pathways.gmt"), *common, "--json", str(js)]
    assert main(from_variants) == 0
    rep = json.loads(js.read_text())
    assert list(rep["models"]) == ["logreg", "dense", "l2"] and rep["cached"] is False
    assert main(from_variants) == 0
    again = json.loads(js.read_text())
    assert again["cached"] is True and again["analysis"] == rep["analysis"] and again["models"] == rep["models"]
    for m in rep["models"].values():
        assert {"auc_mean", "auc_sd", "aucs", "n_params"} <= set(m) and len(m["aucs"]) == 2
    assert {"model_a", "model_b", "t", "p"} <= set(rep["ttest"][0]) and len(rep["ttest"]) == 3
    assert (
        main(
            [
                "epistasis",
                *_files(out),
                *common,
                "--json",
                str(js),
            ]
        )
        == 0
    )
    assert json.loads(js.read_text())["n_samples"] == 300
    assert "epistasis: 3 models" in capsys.readouterr().out
    # paper B's dosage-level baselines read the PLINK genotypes: one coefficient per SNP
    snps = ["--models", "l1-snps,l2-snps", "--folds", "2", "--repeats", "1", "--quiet", "--json", str(js)]
    assert main(["epistasis", *_files(out), *snps]) == 0
    dos = json.loads(js.read_text())["models"]
    assert list(dos) == ["l1-snps", "l2-snps"] and dos["l1-snps"]["n_params"] == 12 * 4 + 1
    # a variant table has no genotypes: the message says what to use instead
    assert main(["epistasis", *variants, *snps]) == 2
    assert "use the per-gene baselines l2 / l1" in capsys.readouterr().err
    assert (
        main(
            [
                "epistasis",
                "--variants",
                str(out / "variants.tsv"),
                "--pheno",
                str(out / "phenotype.tsv"),
                "--models",
                "logreg,nope",
                "--quiet",
            ]
        )
        == 2
    )
    assert "nope" in capsys.readouterr().err


def test_surface_command_fits_caches_and_names_bad_genes(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    flags = "--scenario simple --n-samples 400 --n-genes 4 --genotype-model binomial --snps-per-gene 4 --snr 1"
    assert _simulate(out, flags + " --seed 3") == 0
    train = [
        *_files(out),
        "--ensemble",
        "2",
        "--epochs",
        "3",
        "--quiet",
    ]
    js, grid = tmp_path / "s.json", tmp_path / "grid.csv"
    genes = [ln.split("\t")[0] for ln in (out / "genes.tsv").read_text().splitlines()[1:3]]
    cmd = [
        "surface",
        *train,
        "--pair",
        *genes,
        "--grid",
        "8",
        "--steps",
        "20",
        "--json",
        str(js),
        "--grid-csv",
        str(grid),
    ]
    assert main(cmd) == 0
    rep = json.loads(js.read_text())
    assert [rep["gene_a"], rep["gene_b"]] == genes and rep["cached"] is False
    assert len(grid.read_text().splitlines()) == 1 + 8 * 8
    assert main(cmd) == 0
    again = json.loads(js.read_text())
    assert again["cached"] is True and again["analysis"] == rep["analysis"] and again["r2_joint"] == rep["r2_joint"]
    capsys.readouterr()
    assert main(["surface", *train, "--pair", genes[0], "NOPE"]) == 2
    assert "NOPE not among the run's genes" in capsys.readouterr().err


def test_cache_verify_finds_damage_and_gc_removes_killed_writers_leftovers(cache_dir, capsys):
    import os
    import time

    from gxapp import cache

    st = cache.Store("runs", cache_dir)
    good, bad = cache.make_key("t", 1), cache.make_key("t", 2)
    for k in (good, bad):
        st.write(k, lambda d: (d / "w.npy").write_bytes(b"weights"), {})
    (st.path(bad) / "w.npy").write_bytes(b"forged!")
    assert main(["cache", "verify"]) == 1
    out = capsys.readouterr()
    assert "2 entries" in out.out and "1 damaged" in out.out and f"runs/{bad}" in out.err
    assert st.exists(bad)  # verify alone never deletes
    assert main(["cache", "verify", "--delete"]) == 0
    assert not st.exists(bad) and st.exists(good)
    left = st.dir / ".tmp-killed"
    left.mkdir()
    old = time.time() - 2 * 3600
    os.utime(left, (old, old))
    assert main(["cache", "gc"]) == 0
    assert not left.exists() and "removed 1" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["simulate", "--n-samples", "100", "--n-genes", "2", "--out", "{file}"], "--out .*: is a file"),
        (["simulate", "--n-samples", "100", "--n-genes", "2", "--out", "/proc/gxapp-nope"], "--out .*cannot create"),
        (["qc", "--bfile", "x", "--json", "/proc/nope/q.json"], "--json .*cannot create"),
        (["qc", "--bfile", "x", "--json", "{folder}"], "--json .*: is a folder"),
    ],
    ids=["out_is_a_file", "out_uncreatable", "json_uncreatable", "json_is_a_folder"],
)
def test_unwritable_outputs_are_refused_before_any_work(tmp_path, cache_dir, capsys, args, message):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "a_folder").mkdir()
    args = [a.format(file=tmp_path / "a_file", folder=tmp_path / "a_folder") for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and "Traceback" not in err
    assert not (cache_dir / "cohorts").exists()  # nothing was computed


def test_interactions_prints_its_own_progress_after_training(tmp_path, cache_dir, capsys):
    out = tmp_path / "sim"
    assert _simulate(out, "--n-samples 300 --n-genes 3 --genotype-model binomial --snps-per-gene 3 --seed 2") == 0
    capsys.readouterr()
    args = ["--bfile", str(out / "cohort"), "--pheno", str(out / "phenotype.tsv"), "--genes", str(out / "genes.tsv")]
    assert main(["interactions", *args, "--ensemble", "2", "--epochs", "3", "--permutations", "0"]) == 0
    err = capsys.readouterr().err
    assert "training: " in err and "scoring: " in err


def test_cli_demo_runs_the_one_click_pipeline(tmp_path, cache_dir, capsys):
    from gxapp.analyses import pipeline

    js = tmp_path / "demo.json"
    assert main(["demo", "--preset", "quick", "--quiet", "--json", str(js)]) == 0
    out = json.loads(js.read_text())
    assert out["preset"] == "quick" and len(out["pairs"]) == 45 and len(out["truth"]["pairs"]) == 6
    assert all("q" in p for p in out["pairs"]) and out["metrics"]["NN"]["AP"] > 0.3
    assert "gene pairs at FDR < 0.1" in capsys.readouterr().out
    # the same cached run and analysis as the library's pipeline
    again = pipeline.run_pipeline(out["cohort"], "quick")
    assert (again.run_key, again.interactions_key) == (out["run"], out["analysis"])
    from gxapp.errors import ParameterError

    with pytest.raises(ParameterError, match="preset"):
        pipeline.preset("fast")


def test_cli_path_trains_several_l1_as_one_batch(tmp_path, cache_dir, capsys):
    assert (
        main(
            ["simulate", "--scenario", "complex", "--n-samples", "400", "--n-genes", "3"]
            + ["--genotype-model", "binomial", "--snps-per-gene", "4", "--out", str(tmp_path / "sim")]
        )
        == 0
    )
    js = tmp_path / "path.json"
    src = ["--bfile", str(tmp_path / "sim" / "cohort"), "--pheno", str(tmp_path / "sim" / "phenotype.tsv")]
    src += ["--genes", str(tmp_path / "sim" / "genes.tsv"), "--ensemble", "2", "--epochs", "5"]
    assert main(["path", *src, "--l1-values", "1e-4", "1e-2", "--top", "2", "--quiet", "--json", str(js)]) == 0
    out = json.loads(js.read_text())
    assert out["l1_values"] == [1e-4, 1e-2] and out["trained_now"] == [1e-4, 1e-2]
    assert [r["l1"] for r in out["runs"]] == [1e-4, 1e-2] and all(len(r["top_pairs"]) == 2 for r in out["runs"])
    assert "as one batch" in capsys.readouterr().out
    assert main(["path", *src, "--l1-values", "1e-4", "oops", "--quiet"]) != 0

"""Without gene sets the pathway-wired networks fall back to random wiring (paper B: random as good as
KEGG) and say so — in the library result, the sweep, and the CLI on real PLINK files."""

from dataclasses import replace

import numpy as np
import pandas as pd

from gxapp import epistasis as epi
from gxapp.data.simulate import SimParams, simulate_cohort
from gxapp.epistasis.cv import NO_PATHWAYS_NOTE


def _no_pathways():
    c = simulate_cohort(
        SimParams(scenario="casecontrol", n_samples=240, n_genes=8, seed=2, genotype_model="binomial", snps_per_gene=3)
    )
    return replace(c, pathways=None)


def test_compare_without_pathways_uses_random_wiring_and_says_so():
    c = _no_pathways()
    r = epi.compare(c, models=("logreg", "biosparse", "linear"), folds=2, repeats=1)
    assert r.settings["wiring"] == "random" and r.settings["wiring_note"] == NO_PATHWAYS_NOTE
    assert {"biosparse", "linear"} <= set(r.models)
    with_pw = epi.compare(replace(c, pathways={"P1": c.gene_names[:4]}), models=("biosparse",), folds=2, repeats=1)
    assert with_pw.settings["wiring"] == "pathway" and "wiring_note" not in with_pw.settings


def test_sweep_without_pathways_draws_the_random_curve_only():
    s = epi.sparsity_sweep(_no_pathways(), degrees=(0.5, 1.0), folds=2, repeats=1)
    assert [r["model"] for r in s.table_rows] == ["random@50%", "random@100%", "dense"]
    assert "random wiring only" in s.comparison.settings["wiring_note"]


def test_cli_epistasis_on_real_plink_without_gmt(shared_data, tmp_path, cache_dir, capsys):
    import json

    from gxapp.cli import main

    pre = shared_data / "plink_eur_test" / "EUR_test"
    fam = pd.read_csv(str(pre) + ".fam", sep=r"\s+", header=None)
    rng = np.random.default_rng(0)
    pheno = pd.DataFrame({"FID": fam[0], "IID": fam[1], "status": rng.integers(1, 3, len(fam))})  # PLINK 1/2
    pheno.to_csv(tmp_path / "cc.txt", sep="\t", index=False)
    js = tmp_path / "epi.json"
    args = ["epistasis", "--bfile", str(pre), "--pheno", str(tmp_path / "cc.txt"), "--genes", "grch37"]
    assert main(args + ["--folds", "2", "--repeats", "1", "--quiet", "--json", str(js)]) == 0
    out = json.loads(js.read_text())
    assert out["settings"]["wiring"] == "random" and "random wiring" in out["settings"]["wiring_note"]
    assert "biosparse" in out["models"]
    assert "no gene sets (GMT) loaded" in capsys.readouterr().out

"""Paper A regresses genotype PCs out of the phenotype so that the networks do not learn ancestry
as "interaction": a phenotype driven by ancestry alone, loaded from PLINK files, yields significant
interactions without PCs and none with them (the many-seed check is bench/structure_study.py)."""

from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.data.files import FileSpec
from gxapp.data.io.export import export_cohort
from gxapp.data.qc import QCParams
from gxapp.data.simulate.structure import structured_cohort


def test_pcs_remove_ancestry_driven_false_interactions(tmp_path):
    # two populations that overlap (F_ST 0.02): E[y | genotypes] is a sigmoid of the genes' sum,
    # i.e. non-additive across genes, although no interaction was planted
    c = structured_cohort(n_samples=8000, n_genes=6, snps_per_gene=15, fst=0.02, ancestry_effect=2.0, seed=1)
    export_cohort(c, tmp_path)
    spec = FileSpec(
        genotypes=str(tmp_path / "cohort"),
        pheno=str(tmp_path / "phenotype.tsv"),
        genes=str(tmp_path / "genes.tsv"),
        flank=0,
    )
    root = tmp_path / "cache"
    calls = {}
    for k in (0, 10):
        h = cohorts.from_files(spec, QCParams(pca=k), root=root)
        run = runs.get(h.key, runs.RunParams(ensemble=5, seed=1, threads=1), root)
        table = ia.get(run.key, ia.InteractionParams(permutations=0), root).table
        calls[k] = int((table["q"] < 0.1).sum())
        if k:
            assert h.cohort.meta["pca"]["k"] == 10 and run.metrics["r2_ensemble"] < 0.02  # ancestry gone
        else:
            assert run.metrics["r2_ensemble"] > 0.15  # the networks learned ancestry
    assert calls[0] >= 3, calls  # false "interactions" without PCs
    # PCs of the loaded genes leave a little of ancestry in the genotypes (bench/README.md, "LD pruning
    # and population structure": 12 false calls over 5 cohorts at N = 20,000; a genome-wide set: 0);
    # on this cohort 0 with SNP scale 1 and 1 with the default 5 (p = 5e-4; 0 on seeds 2-4)
    assert calls[10] <= 1 and calls[10] < calls[0], calls

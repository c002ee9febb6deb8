"""Detection power with the default recipe: a strong planted gene pair must come out on top.

Paper A's "simple" scenario on 4 genes plants one interaction, G01 × G02 (the product of the two
genes' top SNPs). Trained with gxapp's defaults (only a smaller ensemble) and scored with the default
Shapley index, the planted pair ranks first; measured on seeds 0-5 its score was 7.1-19.5 times the
runner-up's, so the 3x margin asserted here leaves room for any seed.
"""

import pytest

from gxapp.analyses import cohorts, runs
from gxapp.analyses import interactions as ia
from gxapp.data.simulate import SimParams


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_recipe_ranks_the_planted_pair_first(tmp_path, seed):
    c = cohorts.from_simulation(
        SimParams(
            scenario="simple",
            n_samples=2000,
            n_genes=4,
            snr=1.0,
            mi=0.25,
            seed=seed,
            genotype_model="binomial",
            snps_per_gene=5,
        ),
        root=tmp_path,
    )
    assert c.cohort.truth["pairs"] == [["G01", "G02"]]
    run = runs.get(c.key, runs.RunParams(ensemble=3, seed=seed), tmp_path)
    table = ia.get(run.key, ia.InteractionParams(), tmp_path).table
    top, second = table.iloc[0], table.iloc[1]
    assert {top.gene_a, top.gene_b} == {"G01", "G02"}
    assert top.score > 3 * second.score

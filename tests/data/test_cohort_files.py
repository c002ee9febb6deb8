"""A cohort written to a folder and read back (gxapp.data.io.cohort_files)."""

import numpy as np

from gxapp.data.io.cohort_files import load_cohort_dir, save_cohort
from gxapp.data.simulate import SimParams, simulate_cohort


def test_save_and_load_round_trip(tmp_path):
    cohort = simulate_cohort(
        SimParams(scenario="casecontrol", n_samples=60, n_genes=4, snps_per_gene=5, genotype_model="binomial", seed=3)
    )
    save_cohort(cohort, tmp_path)
    back = load_cohort_dir(tmp_path)
    assert back.fingerprint() == cohort.fingerprint()
    np.testing.assert_array_equal(back.genotypes, cohort.genotypes)
    assert back.gene_names == cohort.gene_names and back.pathways == cohort.pathways
    assert back.meta == cohort.meta and back.trait == "binary"

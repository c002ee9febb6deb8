"""Words a geneticist reads, shared by the app, the CLI and the HTML report (one wording everywhere):
what the p-value columns test, and the QC steps in plain names."""

from __future__ import annotations

import pandas as pd

# What the NN's p-values test, in one line each (docs/method.md#held-out-test, #permutation-test).
HELDOUT_LINE = (
    "p and q: held-out test of each pair — does the interaction pattern learned on the training individuals "
    "predict the phenotype of the test individuals, beyond both genes' (nonlinear) main effects? Valid per pair "
    "whatever the other pairs do; q is Benjamini–Hochberg over the network's top-scoring candidate pairs. "
    "Needs no permutations."
)
GLOBAL_LINE = (
    "p global, q global, p max-T: Perm I — networks retrained on phenotypes with every interaction removed. "
    "They test 'no interaction anywhere': once one pair truly interacts, pairs sharing a gene with it also beat "
    "this null, so read them as a global test, not per pair."
)

QC_STEP_NAMES = {
    "no_phenotype": "Samples without a phenotype",
    "sample_missing": "Sample missing rate (--mind)",
    "all_missing_snps": "SNPs never called",
    "snp_missing": "SNP missing rate (--geno)",
    "maf": "Minor allele frequency (--maf)",
    "hwe": "Hardy–Weinberg (--hwe)",
    "genes_without_snps": "Genes left without SNPs",
}


def qc_table(steps: list) -> pd.DataFrame:
    """The QC steps as a geneticist reads them: plain step names, thresholds as given, no empty cells."""
    rows = []
    for s in steps:
        thr = s.get("threshold")
        rows.append(
            {
                "Step": QC_STEP_NAMES.get(s["step"], s["step"]),
                "Removed": f"{s['removed']:,} {s['unit']}",
                "Remaining": f"{s['remaining']:,}",
                "Threshold": "—" if thr is None else f"{thr:g}",
                "What was done": str(s.get("detail", "")).replace("skipped: mind not set", "off (no --mind)"),
            }
        )
    return pd.DataFrame(rows)

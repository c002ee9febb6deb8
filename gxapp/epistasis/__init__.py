"""Architecture comparison of paper B (Verplaetse et al. 2023; docs/method.md#architecture-comparison).

Public API::

    gene_features(cohort, source="auto") -> (tensor (N, G, C), genes, classes)
    compare(cohort, models=("logreg", "biosparse", "dense", "linear", "l2"), folds=3, repeats=10,
            sparsity=1.0, wiring="pathway", seed=0, progress=None, cancel=None, ...) -> ComparisonResult
    compare_arrays(X (N, G, C), y (0/1), genes, classes, models=..., ...) -> ComparisonResult  (array level)
    learning_curve(cohort, fractions=(0.1, 0.2, 0.4, 0.6, 0.8, 1.0), ...) -> LearningCurve
    sparsity_sweep(cohort, degrees=(0.25, 0.5, 0.75, 1.0), wiring=("random", "pathway"), ...) -> SweepResult
    corrected_ttest(a, b, n_train, n_test) -> {t, p, df, mean_diff}
    decision_surfaces(...) -> Surfaces (paper B, Fig. 3)

Modules: features (inputs), genemodule (shared gene module kernel), models (specs, wiring,
heads), train (batched trainer), additive (L2/L1 baselines), results, cv, surfaces.
"""

from gxapp.epistasis.cv import (  # noqa: F401
    ADDITIVE,
    DEFAULT_GENE_PCS,
    MODELS,
    NETWORKS,
    SNP_MODELS,
    WIRINGS,
    compare,
    compare_arrays,
    learning_curve,
    make_splits,
    nested_subsets,
    sparsity_sweep,
)
from gxapp.epistasis.features import gene_features  # noqa: F401
from gxapp.epistasis.models import n_params  # noqa: F401
from gxapp.epistasis.results import (  # noqa: F401
    ComparisonResult,
    LearningCurve,
    ModelResult,
    SweepResult,
    corrected_ttest,
    crossover,
)
from gxapp.epistasis.surfaces import Surfaces, decision_surfaces  # noqa: F401
from gxapp.epistasis.train import EpiTrainConfig, FitResult, RowGroup, fit_networks  # noqa: F401

__all__ = [
    "ADDITIVE",
    "DEFAULT_GENE_PCS",
    "MODELS",
    "NETWORKS",
    "SNP_MODELS",
    "WIRINGS",
    "compare",
    "compare_arrays",
    "learning_curve",
    "make_splits",
    "nested_subsets",
    "sparsity_sweep",
    "gene_features",
    "n_params",
    "ComparisonResult",
    "LearningCurve",
    "ModelResult",
    "SweepResult",
    "corrected_ttest",
    "crossover",
    "Surfaces",
    "decision_surfaces",
    "EpiTrainConfig",
    "FitResult",
    "RowGroup",
    "fit_networks",
]

"""Architecture comparisons (paper B) as cached, background-able analyses:
``compare`` (AUC per model + corrected t-tests), ``learning_curve`` and
``sparsity_sweep`` on a cached cohort, and ``compare`` straight from an
annotated variant table (:data:`VARIANT_TABLES`). Results are JSON, keyed by
the data's fingerprint and every parameter (:mod:`gxapp.analyses.base`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from gxapp import cache
from gxapp import epistasis as epi
from gxapp.analyses.base import OnCohort, Result
from gxapp.errors import ParameterError, SampleMismatchError
from gxapp.params import Integral, Interval, Options, Params, Real, SubsetOf

KIND = "comparisons"
ANALYSES = ("compare", "learning_curve", "sparsity_sweep")


@dataclass(frozen=True)
class ComparisonParams(Params):
    analysis: str = "compare"
    models: tuple = ("logreg", "biosparse", "dense", "linear", "l2")
    folds: int = 3
    repeats: int = 3
    sparsity: float = 1.0
    wiring: str = "pathway"
    seed: int = 0
    fractions: tuple = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
    degrees: tuple = (0.25, 0.5, 0.75, 1.0)
    gene_pcs: int = epi.DEFAULT_GENE_PCS  # SNP cohorts: per-gene principal components beside the MAF bins

    _parameter_constraints = {
        "analysis": [Options(ANALYSES)],
        "models": [SubsetOf(epi.MODELS)],
        "folds": [Interval(Integral, 2, None)],
        "repeats": [Interval(Integral, 1, None)],
        "sparsity": [Interval(Real, 0, 1, closed="right")],
        "wiring": [Options(epi.WIRINGS)],
        "seed": [Interval(Integral, 0, None)],
        "gene_pcs": [Interval(Integral, 0, 50)],
    }

    def _check(self) -> None:
        for name in ("fractions", "degrees"):
            values = getattr(self, name)
            ok = Interval(Real, 0, 1, closed="right")
            if not values or not all(ok.is_satisfied_by(v) for v in values):
                raise ParameterError(f"{name}: expected a non-empty list of numbers in (0, 1], got {values!r}")


# The case/control demo opens on paper B's story (docs/method.md#learning-curve): the learning curve of
# the default models on 1 x 3-fold CV at five sizes, started on first open and cached — additive ahead
# at a few hundred people, the networks at 2,000 (bench/README.md, "Learning curve", seeds 1-3; five
# sizes, not the six of the form, keep it within a minute in the app beside the browser on 2 cores).
DEMO_STORY = ComparisonParams(analysis="learning_curve", repeats=1, fractions=(0.1, 0.2, 0.4, 0.7, 1.0))


@dataclass
class Comparison(Result):
    """An architecture comparison, learning curve or sparsity sweep; ``data`` is its JSON
    (``epistasis.ComparisonResult.to_dict()`` and friends)."""

    data: dict = field(default_factory=dict)

    @property
    def analysis(self) -> str:
        return self.params.analysis


class Comparisons(OnCohort):
    """On a cached cohort (source: its key)."""

    kind = KIND
    job_kind = "comparison"
    params_type = ComparisonParams

    def describe(self, params: ComparisonParams) -> str:
        return f"{params.analysis.replace('_', ' ')} ({params.repeats}×{params.folds} CV)"

    def compute(self, cohort_key, params: ComparisonParams, root, progress, cancel) -> tuple:
        from gxapp.analyses import cohorts

        cohort = cohorts.open_cohort(cohort_key, root)
        common = dict(
            folds=params.folds,
            repeats=params.repeats,
            seed=params.seed,
            progress=progress,
            cancel=cancel,
            gene_pcs=params.gene_pcs,
        )
        if params.analysis == "compare":
            res = epi.compare(cohort, models=params.models, sparsity=params.sparsity, wiring=params.wiring, **common)
        elif params.analysis == "learning_curve":
            nets = [m for m in params.models if m in epi.NETWORKS] or ["biosparse"]
            res = epi.learning_curve(
                cohort, fractions=params.fractions, models=nets + [m for m in params.models if m not in nets], **common
            )
        else:
            res = epi.sparsity_sweep(
                cohort, degrees=params.degrees, baselines=[m for m in params.models if m in epi.ADDITIVE], **common
            )
        return self._result(res.to_dict(), params, {"cohort": cohort_key, "label": cohort.meta.get("label")})

    def _result(self, data: dict, params, meta: dict) -> tuple:
        meta = dict(meta, seed=params.seed, analysis=params.analysis)
        return (Comparison("", params, meta, data=data), lambda d: (d / "result.json").write_text(json.dumps(data)))

    def read(self, key, meta, d, root) -> Comparison:
        return Comparison(
            key, ComparisonParams.from_dict(meta["params"]), meta, data=json.loads((d / "result.json").read_text())
        )


class VariantTableComparisons(Comparisons):
    """``compare`` straight from files, no genotypes: source ``{"variants": path, "pheno": path,
    "pheno_column": name or None, "pathways": GMT path or None}``. Samples are the phenotype's
    ids, genes those of the table (the gene-centric tensor, docs/method.md)."""

    job_kind = "comparison_variants"

    def fingerprint(self, source: dict, root) -> dict:
        files = {k: source.get(k) for k in ("variants", "pheno", "pathways") if source.get(k)}
        for k, f in files.items():
            try:
                files[k] = cache.file_digest(f)
            except OSError:
                raise ParameterError(f"{k}: {f}: file not found or unreadable") from None
        return {"files": files, "pheno_column": source.get("pheno_column")}

    def compute(self, source: dict, params: ComparisonParams, root, progress, cancel) -> tuple:
        from gxapp.data.io import gmt, pheno, variants
        from gxapp.data.io.variants import CLASSES, gene_centric_tensor

        if params.analysis != "compare":
            raise ParameterError(
                f"analysis: a variant table supports 'compare' only, got {params.analysis!r}; "
                "load it as a cohort for learning curves and sweeps"
            )
        snp_models = [m for m in params.models if m in epi.SNP_MODELS]
        if snp_models:
            raise ParameterError(
                f"models: {', '.join(snp_models)} fit every SNP's dosage, and a variant table has no genotypes; "
                "use the per-gene baselines l2 / l1, or load the genotypes (PLINK, BGEN, VCF)"
            )
        ph, trait = pheno.read_pheno(source["pheno"], column=source.get("pheno_column"))
        if trait != "binary":
            raise ParameterError("phenotype: the architecture comparison needs a case/control phenotype (1/2 or 0/1)")
        table = variants.read_variant_table(source["variants"])
        ph = ph[np.isfinite(ph["value"].to_numpy(dtype=float))]
        iids = ph["iid"].astype(str).tolist()
        known = set(table["iid"].astype(str))
        if not known & set(iids):
            raise SampleMismatchError(
                f"variant table: none of its {len(known)} sample ids match the "
                f"{len(iids)} phenotype ids; check the sample column"
            )
        genes = sorted(set(table["gene"].astype(str)))
        X = gene_centric_tensor(table, iids, genes, CLASSES)
        y = ph["value"].to_numpy(dtype=float)
        pathways = gmt.read_gmt(source["pathways"]) if source.get("pathways") else None
        res = epi.compare_arrays(
            X,
            y,
            genes,
            list(CLASSES),
            models=params.models,
            folds=params.folds,
            repeats=params.repeats,
            sparsity=params.sparsity,
            wiring=params.wiring,
            seed=params.seed,
            pathways=pathways,
            progress=progress,
            cancel=cancel,
        )
        return self._result(res.to_dict(), params, {"label": str(source["variants"])})


COMPARISONS, VARIANT_TABLES = Comparisons(), VariantTableComparisons()
key, get, load, entries, delete = (
    COMPARISONS.key,
    COMPARISONS.get,
    COMPARISONS.load,
    COMPARISONS.entries,
    COMPARISONS.delete,
)
job_spec, run_job = COMPARISONS.job_spec, COMPARISONS.run_job

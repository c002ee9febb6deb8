"""Architecture comparisons (paper B) as cached, background-able analyses:
``compare`` (AUC per model + corrected t-tests), ``learning_curve`` and
``sparsity_sweep``. Results are stored as JSON under a key of (cohort
fingerprint, every parameter, gxapp version)."""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, fields

from gxapp import cache
from gxapp.analyses import cohorts
from gxapp import epistasis as epi
from gxapp.errors import ParameterError
from gxapp.jobs import JobSpec

KIND = "comparisons"
ANALYSES = ("compare", "learning_curve", "sparsity_sweep")


@dataclass(frozen=True)
class ComparisonParams:
    analysis: str = "compare"
    models: tuple = ("logreg", "biosparse", "dense", "linear", "l2")
    folds: int = 3
    repeats: int = 3
    sparsity: float = 1.0
    wiring: str = "pathway"
    seed: int = 0
    fractions: tuple = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
    degrees: tuple = (0.25, 0.5, 0.75, 1.0)

    def validate(self) -> "ComparisonParams":
        if self.analysis not in ANALYSES:
            raise ParameterError(f"analysis: expected one of {', '.join(ANALYSES)}, got {self.analysis!r}")
        bad = [m for m in self.models if m not in epi.MODELS]
        if bad or not self.models:
            raise ParameterError(f"models: unknown {bad or 'none given'}; choose from {', '.join(epi.MODELS)}")
        if not 0 < self.sparsity <= 1:
            raise ParameterError(f"sparsity: the fraction of genes connected must be in (0, 1], got {self.sparsity}")
        if self.folds < 2 or self.repeats < 1:
            raise ParameterError(f"folds/repeats: need folds >= 2 and repeats >= 1, got {self.folds}/{self.repeats}")
        if self.wiring not in epi.WIRINGS:
            raise ParameterError(f"wiring: expected one of {', '.join(epi.WIRINGS)}, got {self.wiring!r}")
        return self

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "ComparisonParams":
        names = {f.name for f in fields(cls)}
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in names})


def compare_variant_table(variants, pheno, trait: str, pathways=None, models=ComparisonParams.models, folds=3,
                          repeats=3, sparsity=1.0, wiring="pathway", seed=0, progress=None, cancel=None):
    """The comparison straight from an annotated variant table and a phenotype (no genotypes):
    samples are the phenotype's ids; genes those of the table (SPEC §1 gene-centric tensor)."""
    import numpy as np

    from gxapp.epistasis import cv as ecv
    from gxapp.epistasis.train import EpiTrainConfig
    from gxapp.errors import SampleMismatchError
    from gxapp.data.io.variants import CLASSES, gene_centric_tensor

    if trait != "binary":
        raise ParameterError("phenotype: the architecture comparison needs a case/control phenotype (1/2 or 0/1)")
    pheno = pheno[np.isfinite(pheno["value"].to_numpy(dtype=float))]
    iids = pheno["iid"].astype(str).tolist()
    known = set(variants["iid"].astype(str))
    if not known & set(iids):
        raise SampleMismatchError(f"variant table: none of its {len(known)} sample ids match the "
                                  f"{len(iids)} phenotype ids; check the sample column")
    genes = sorted(set(variants["gene"].astype(str)))
    X = gene_centric_tensor(variants, iids, genes, CLASSES)
    y = pheno["value"].to_numpy(dtype=float)
    ComparisonParams(models=tuple(models), folds=folds, repeats=repeats, sparsity=sparsity, wiring=wiring).validate()
    splits = ecv.make_splits(y, folds, repeats, seed)
    return ecv._run(X, y, genes, list(CLASSES), list(models), splits, wiring=wiring, sparsity=float(sparsity),
                    seed=seed, pathways=pathways, cohort_pathways=None, config=EpiTrainConfig(seed=seed).validate(),
                    dense_hidden=None, ensemble_size=10, n_neurons=None, additive_cs=epi.additive.DEFAULT_CS,
                    progress=progress, cancel=cancel)


def result_key(cohort_key: str, params: ComparisonParams, root=None) -> str:
    meta = cohorts.store(root).read_meta(cohort_key)
    return cache.make_key("comparison", meta.get("fingerprint", cohort_key), params.to_dict())


def run(cohort_key: str, params: ComparisonParams, root=None, progress=None, cancel=None) -> tuple:
    """Run (or load) an analysis; returns (key, result dict, meta)."""
    params.validate()
    st = cache.Store(KIND, root)
    key = result_key(cohort_key, params, root)
    if st.exists(key):
        return load(key, root)
    cohort = cohorts.open_cohort(cohort_key, root)
    t0 = time.perf_counter()
    common = dict(folds=params.folds, repeats=params.repeats, seed=params.seed, progress=progress, cancel=cancel)
    if params.analysis == "compare":
        res = epi.compare(cohort, models=params.models, sparsity=params.sparsity, wiring=params.wiring, **common)
    elif params.analysis == "learning_curve":
        nets = [m for m in params.models if m in epi.NETWORKS] or ["biosparse"]
        res = epi.learning_curve(cohort, fractions=params.fractions,
                                 models=nets + [m for m in params.models if m not in nets], **common)
    else:
        res = epi.sparsity_sweep(cohort, degrees=params.degrees, baselines=[m for m in params.models
                                                                            if m in epi.ADDITIVE], **common)
    result = res.to_dict()
    meta = cache.provenance(cohort=cohort_key, label=cohort.meta.get("label"), params=params.to_dict(),
                            seed=params.seed, seconds=round(time.perf_counter() - t0, 3), analysis=params.analysis)
    st.write(key, lambda d: (d / "result.json").write_text(json.dumps(result)), meta)
    return key, result, meta


def load(key: str, root=None) -> tuple:
    st = cache.Store(KIND, root)
    meta = st.read_meta(key)
    return key, json.loads((st.path(key) / "result.json").read_text()), meta


def list_results(cohort_key=None, root=None) -> list:
    return [m for m in cache.Store(KIND, root).list() if cohort_key is None or m.get("cohort") == cohort_key]


def job_spec(cohort_key: str, params: ComparisonParams, root=None) -> JobSpec:
    params.validate()
    return JobSpec(kind="comparison", key=result_key(cohort_key, params, root),
                   params={"cohort_key": cohort_key, "params": params.to_dict(),
                           "root": None if root is None else str(root)},
                   label=f"{params.analysis.replace('_', ' ')} ({params.repeats}×{params.folds} CV)")


def run_job(spec: JobSpec, progress, cancel) -> str:
    p = spec.params
    return run(p["cohort_key"], ComparisonParams.from_dict(p["params"]), root=p.get("root"),
               progress=progress, cancel=cancel)[0]

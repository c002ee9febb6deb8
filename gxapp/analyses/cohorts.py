"""Where cohorts come from — files, a simulation, or the demo — each cached
under a content key so that the same inputs load instantly the second time.

``from_files``/``from_simulation`` return a :class:`CohortResult` (key,
cohort, whether it came from the cache); ``open_cohort(key)`` reopens one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Optional

from gxapp import cache
from gxapp.analyses.base import Analysis, Result, source_fingerprint_of_cohort
from gxapp.data.cohort import Cohort
from gxapp.data.files import FORMATS, FileSpec, detect_format, digest_inputs, read_cohort_files  # noqa: F401
from gxapp.data.io.cohort_files import load_cohort_dir, save_cohort
from gxapp.data.qc import QCParams
from gxapp.data.simulate import SimParams, simulate_cohort, simulate_on_cohort
from gxapp.errors import CacheError
from gxapp.progress import report, sub_progress

KIND = "cohorts"


@dataclass
class CohortResult(Result):
    """A cohort and its cache entry (key, params, provenance, whether it was cached)."""

    cohort: Optional[Cohort] = None


def store(root=None) -> cache.Store:
    return cache.Store(KIND, root)


class _Cohorts(Analysis):
    """Shared by every way of making a cohort: stored as int8 genotypes + Parquet tables."""

    kind = "cohorts"
    origin = ""

    def read(self, key, meta, folder, root) -> CohortResult:
        ptype = _ORIGINS.get(meta.get("origin"), _ORIGINS["files"]).params_type
        return CohortResult(key, ptype.from_dict(meta.get("params") or {}), meta, cohort=load_cohort_dir(folder))

    def _publish(self, cohort: Cohort, extra: dict) -> tuple:
        meta = dict(
            extra,
            origin=self.origin,
            label=cohort.meta.get("label"),
            source=cohort.meta.get("source"),
            summary=cohort.summary(),
            fingerprint=cohort.fingerprint(),
        )
        return CohortResult("", None, meta, cohort=cohort), lambda d: save_cohort(cohort, d)


class FromFiles(_Cohorts):
    """Load, map to genes, align samples, QC. Source: a :class:`FileSpec`; params: QC thresholds."""

    origin = "files"
    job_kind = "cohort_files"
    params_type = QCParams

    def source_ref(self, spec: FileSpec) -> dict:
        return asdict(spec)

    def source_from_ref(self, ref) -> FileSpec:
        return ref if isinstance(ref, FileSpec) else FileSpec(**ref)

    def fingerprint(self, spec: FileSpec, root) -> dict:
        spec.validate()
        spec.resolved_format()
        return {"spec": {k: v for k, v in asdict(spec).items() if k != "label"}, "files": digest_inputs(spec)}

    def describe(self, params) -> str:
        return "load cohort"

    def compute(self, spec: FileSpec, qc: QCParams, root, progress, cancel) -> tuple:
        cohort = read_cohort_files(spec, qc, progress, cancel)
        return self._publish(cohort, {"qc": asdict(qc)})


class FromSimulation(_Cohorts):
    """Simulated genotypes and phenotype. Source: the label to show (not part of the key)."""

    origin = "simulation"
    job_kind = "simulate"
    params_type = SimParams

    def fingerprint(self, label, root) -> str:
        return "simulation"

    def describe(self, params) -> str:
        return default_label(params)

    def compute(self, label, params: SimParams, root, progress, cancel) -> tuple:
        t0 = time.perf_counter()
        cohort = simulate_cohort(params, progress=sub_progress(progress, 0.0, 0.95), cancel=cancel)
        cohort.meta["label"] = label or default_label(params)
        cohort.meta["seconds"] = round(time.perf_counter() - t0, 3)
        return self._publish(cohort, {"seed": params.seed})


class SimulateOn(_Cohorts):
    """A simulated phenotype on a cached cohort's genotypes (power analysis).
    Source: ``{"cohort": key, "genes": [names] or None}``."""

    origin = "simulate_on"
    job_kind = "simulate_on"
    params_type = SimParams

    def fingerprint(self, source, root) -> list:
        return [source_fingerprint_of_cohort(source["cohort"], root), source.get("genes")]

    def compute(self, source, params: SimParams, root, progress, cancel) -> tuple:
        base = open_cohort(source["cohort"], root)
        cohort = simulate_on_cohort(base, params, genes=source.get("genes"), progress=progress, cancel=cancel)
        cohort.meta["label"] = f"{base.meta.get('label', source['cohort'][:8])} + {default_label(params)}"
        cohort.meta["base_cohort"] = source["cohort"]
        return self._publish(cohort, {"seed": params.seed, "base_cohort": source["cohort"]})


FROM_FILES, SIMULATION, SIMULATE_ON = FromFiles(), FromSimulation(), SimulateOn()
_ORIGINS = {a.origin: a for a in (FROM_FILES, SIMULATION, SIMULATE_ON)}


def from_files(spec: FileSpec, qc: QCParams = None, root=None, progress=None, cancel=None) -> CohortResult:
    """Load, map to genes, align samples, QC — or reopen the cached result."""
    report(progress, 0.0, "hashing input files")
    return FROM_FILES.get(spec, qc or QCParams(), root, progress, cancel)


def from_simulation(params: SimParams, root=None, progress=None, cancel=None, label=None) -> CohortResult:
    return SIMULATION.get(label, params, root, progress, cancel)


def simulate_on(base_key: str, params: SimParams, root=None, genes=None, progress=None, cancel=None) -> CohortResult:
    """Simulate a phenotype on the genotypes of a cached cohort (power analysis)."""
    return SIMULATE_ON.get(
        {"cohort": base_key, "genes": None if genes is None else list(genes)}, params, root, progress, cancel
    )


def default_label(p: SimParams) -> str:
    return f"sim {p.scenario} N={p.n_samples:,} genes={p.n_genes} S/N={p.snr:g} M/I={p.mi:g} seed={p.seed}"


# ---- demo ----------------------------------------------------------------------
DEMO = SimParams(scenario="complex", n_samples=5_000, n_genes=10, snr=0.5, mi=1.0, prop_causal=0.5, seed=1)
DEMO_CASECONTROL = SimParams(scenario="casecontrol", n_samples=2_000, n_genes=40, seed=1)


def demo(root=None, progress=None, cancel=None) -> CohortResult:
    """The embedded demo: paper A's complex scenario with six planted gene pairs."""
    return from_simulation(DEMO, root, progress, cancel, label="demo: complex interactions (paper A, Eq. 1)")


def demo_casecontrol(root=None, progress=None, cancel=None) -> CohortResult:
    """Case/control demo with pathways and annotated variants (for the Epistasis page)."""
    return from_simulation(DEMO_CASECONTROL, root, progress, cancel, label="demo: case/control epistasis (paper B)")


# ---- cache access -----------------------------------------------------------------
def open_cohort(key: str, root=None) -> Cohort:
    """A published cohort, its files verified (CacheError when missing or damaged)."""
    if not store(root).exists(key):
        raise CacheError(f"no cached cohort with key {key}; load or simulate it again")
    return FROM_FILES.load(key, root).cohort


def list_cohorts(root=None) -> list:
    return FROM_FILES.entries(root=root)


def delete_cohort(key: str, root=None) -> None:
    FROM_FILES.delete(key, root)

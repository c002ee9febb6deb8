"""Where cohorts come from — files, a simulation, or the demo — each cached
under a content key so that the same inputs load instantly the second time.

``from_files``/``from_simulation`` return a :class:`CohortResult` (key,
cohort, whether it came from the cache); ``open_cohort(key)`` reopens one.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from gxapp import cache
from gxapp.analyses.base import Analysis, Result, source_fingerprint_of_cohort
from gxapp.data.cohort import Cohort
from gxapp.data.files import FORMATS, FileSpec, detect_format, digest_inputs, read_cohort_files  # noqa: F401
from gxapp.data.io.cohort_files import load_cohort_dir, save_cohort
from gxapp.data.qc import QCParams
from gxapp.data.simulate import SimParams, simulate_cohort, simulate_on_cohort
from gxapp.errors import CacheError, ParameterError
from gxapp.params import Integral, Interval, Options, Params, Real
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


@dataclass(frozen=True)
class SplitParams(Params):
    """One part of a cohort split into discovery and replication individuals: ``part``;
    ``replication_fraction`` of the individuals go to the replication part (a seeded draw)."""

    part: str = "discovery"
    replication_fraction: float = 0.2
    seed: int = 0

    _parameter_constraints = {
        "part": [Options(("discovery", "replication"))],
        "replication_fraction": [Interval(Real, 0, 1, closed="neither")],
        "seed": [Interval(Integral, 0, None)],
    }


class SplitCohort(_Cohorts):
    """The discovery or the replication part of a cached cohort (disjoint individuals; the
    same genotyped variants and, for a simulation, the same planted truth). Source: its key."""

    origin = "split"
    job_kind = "split_cohort"
    params_type = SplitParams

    def fingerprint(self, base_key, root) -> str:
        return source_fingerprint_of_cohort(base_key, root)

    def describe(self, params) -> str:
        return f"{params.part} part of a cohort"

    def compute(self, base_key, params: SplitParams, root, progress, cancel) -> tuple:
        base = open_cohort(base_key, root)
        rep = split_rows(base.n_samples, params.replication_fraction, params.seed)
        rows = rep if params.part == "replication" else np.setdiff1d(np.arange(base.n_samples), rep)
        if len(rows) < 10:
            raise ParameterError(f"replication_fraction: the {params.part} part would have {len(rows)} individuals")
        cohort = base.subset_samples(rows)
        cohort.meta["label"] = f"{base.meta.get('label', base_key[:8])} — {params.part} {len(rows):,}"
        cohort.meta["base_cohort"] = base_key
        return self._publish(cohort, {"seed": params.seed, "base_cohort": base_key, "part": params.part})


def split_rows(n: int, replication_fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of the replication part (the rest is the discovery part)."""
    k = int(round(replication_fraction * n))
    return np.sort(np.random.default_rng([seed, 7]).choice(n, k, replace=False))


FROM_FILES, SIMULATION, SIMULATE_ON, SPLIT = FromFiles(), FromSimulation(), SimulateOn(), SplitCohort()
_ORIGINS = {a.origin: a for a in (FROM_FILES, SIMULATION, SIMULATE_ON, SPLIT)}


def split(base_key: str, replication_fraction: float = 0.2, seed: int = 0, root=None, progress=None, cancel=None):
    """``(discovery, replication)`` parts of a cached cohort (each a cached cohort)."""
    return tuple(
        SPLIT.get(base_key, SplitParams(part=part, replication_fraction=replication_fraction, seed=seed), root)
        for part in ("discovery", "replication")
    )


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
# the case/control demo: the simulator's default effect 3, so that its learning curve shows paper B's
# crossover (additive ahead at a few hundred people, the networks at 2,000; bench/README.md, "Learning
# curve": seeds 1-3); with effect 1 every model stayed below AUC 0.61 and l2 led at every size
DEMO_CASECONTROL = SimParams(scenario="casecontrol", n_samples=2_000, n_genes=40, seed=1)
DEMO_CASECONTROL_LABEL = "demo: case/control epistasis (paper B)"


def demo(root=None, progress=None, cancel=None) -> CohortResult:
    """The embedded demo: paper A's complex scenario with six planted gene pairs."""
    return from_simulation(DEMO, root, progress, cancel, label="demo: complex interactions (paper A, Eq. 1)")


def demo_casecontrol(root=None, progress=None, cancel=None) -> CohortResult:
    """Case/control demo with pathways and annotated variants (for the Epistasis page)."""
    return from_simulation(DEMO_CASECONTROL, root, progress, cancel, label=DEMO_CASECONTROL_LABEL)


def demo_casecontrol_key(root=None) -> str:
    """The case/control demo's cache key (computes nothing)."""
    return SIMULATION.key(DEMO_CASECONTROL_LABEL, DEMO_CASECONTROL, root)


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

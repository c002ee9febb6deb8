"""One protocol for every cached analysis (cohort, run, interactions, comparison, surface).

An analysis turns a *source* (a cohort key, a run key, a set of input files) and
a :class:`~gxapp.params.Params` into a :class:`Result`. Every analysis is cached
the same way (docs/cache.md):

* **key** = hash of (analysis kind, its format version, gxapp version, the
  source's fingerprint, the science parameters). Execution settings (device,
  threads, executor: ``Params.EXECUTION_ONLY``) stay out, so a GPU run and a CPU
  run of the same science share an entry.
* **atomic publish**: computed into a temporary folder, renamed into place
  (:class:`gxapp.cache.Store`); a killed writer publishes nothing.
* **verified load**: every artefact's digest is recorded when published and
  checked when loaded; a damaged entry is a :class:`~gxapp.errors.CacheError`
  from :meth:`Analysis.load`, and :meth:`Analysis.get` recomputes it.
* **provenance**: ``meta.json`` holds the parameters, the source, versions,
  seed, execution settings and timings.

A subclass declares ``kind``, ``job_kind``, ``params_type`` and writes four
methods: ``fingerprint`` (what identifies the source's data), ``compute``,
``save`` and ``read``. Everything else — key, get, load, list, delete,
job_spec, run_job — is here, once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from gxapp import cache, execute
from gxapp.errors import CacheError, ParameterError
from gxapp.jobs import JobSpec
from gxapp.params import Params
from gxapp.progress import report


@dataclass
class Result:
    """What every analysis returns: its cache key, the parameters, the provenance
    (``meta``) and whether it was served from the cache. Subclasses add the payload."""

    key: str
    params: Params
    meta: dict = field(repr=False)
    cached: bool = False

    @property
    def input(self):
        return self.meta.get("input", "")


class Analysis:
    kind: ClassVar[str]  # the cache folder (``cache/<kind>/``)
    job_kind: ClassVar[str]  # the background-job name
    params_type: ClassVar[type]
    version: ClassVar[int] = 1  # bump when this analysis's stored format or science changes

    # ---- what a subclass writes ------------------------------------------------------
    def fingerprint(self, source, root) -> object:
        """A JSON-able identity of the source's data (a cohort fingerprint, a run key…)."""
        raise NotImplementedError

    def compute(self, source, params, root, progress, cancel) -> tuple:
        """``(result, write)``: the Result (``key``/``meta`` filled by the protocol) and a
        ``write(folder)`` that stores its artefacts."""
        raise NotImplementedError

    def read(self, key: str, meta: dict, folder: Path, root) -> Result:
        """Rebuild the Result from a verified entry."""
        raise NotImplementedError

    def describe(self, params) -> str:
        """A short label of a job with these parameters."""
        return self.kind

    def source_ref(self, source):
        """The source as stored in meta and job specs (JSON-able; a key, or a dict of paths)."""
        return source

    def source_from_ref(self, ref):
        """Inverse of :meth:`source_ref` (a job spec carries the ref to its worker)."""
        return ref

    # ---- the protocol ------------------------------------------------------------------
    def store(self, root=None) -> cache.Store:
        return cache.Store(self.kind, root)

    def check_params(self, params) -> Params:
        if not isinstance(params, self.params_type):
            raise ParameterError(f"params: expected {self.params_type.__name__}, got {type(params).__name__}")
        return params.validate()

    def key(self, source, params, root=None) -> str:
        self.check_params(params)
        return cache.make_key(self.kind, self.version, self.fingerprint(source, root), params.science())

    def exists(self, source, params, root=None) -> bool:
        return self.store(root).exists(self.key(source, params, root))

    def get(self, source, params, root=None, progress=None, cancel=None) -> Result:
        """The result for ``(source, params)``: from the cache when it is there and intact,
        else computed, published atomically and returned."""
        key = self.key(source, params, root)
        st = self.store(root)
        if st.exists(key):
            try:
                res = self.load(key, root)
                report(progress, 1.0, "loaded from the cache")
                return res
            except CacheError:
                st.delete(key)  # damaged: recompute rather than serve it or fail
                report(progress, 0.0, "the cached result was damaged; computing it again")
        t0 = time.perf_counter()
        res, write = self.compute(source, params, root, progress, cancel)
        meta = cache.provenance(
            **{
                **res.meta,
                "analysis_version": self.version,
                "input": self.source_ref(source),
                "params": params.to_dict(),
                "seconds": round(time.perf_counter() - t0, 3),
                "executor": execute.current().describe(),
            }
        )
        st.write(key, write, meta)
        res.key, res.meta, res.cached = key, st.read_meta(key), False
        report(progress, 1.0, "done")
        return res

    def load(self, key: str, root=None) -> Result:
        """A published result, its files checked against their recorded digests."""
        st = self.store(root)
        meta = st.verify(key)
        try:
            res = self.read(key, meta, st.path(key), root)
        except CacheError:
            raise
        except (OSError, KeyError, ValueError, RuntimeError, TypeError) as exc:
            raise CacheError(
                f"cached {self.kind} entry {key} is unreadable ({exc}); delete it and compute it again"
            ) from None
        res.cached = True
        return res

    def entries(self, source=None, root=None) -> list:
        """Meta of every published result (of ``source`` when given), newest first."""
        ref = None if source is None else self.source_ref(source)
        return [m for m in self.store(root).list() if ref is None or m.get("input") == ref]

    def delete(self, key: str, root=None) -> None:
        self.store(root).delete(key)

    # ---- background jobs -----------------------------------------------------------------
    def job_spec(self, source, params, root=None) -> JobSpec:
        """A plain, picklable description of computing ``(source, params)``."""
        return JobSpec(
            kind=self.job_kind,
            key=self.key(source, params, root),
            params={
                "source": self.source_ref(source),
                "params": params.to_dict(),
                "root": None if root is None else str(root),
            },
            label=self.describe(params),
        )

    def run_job(self, spec: JobSpec, progress, cancel) -> str:
        p = spec.params
        return self.get(
            self.source_from_ref(p["source"]),
            self.params_type.from_dict(p["params"]),
            root=p.get("root"),
            progress=progress,
            cancel=cancel,
        ).key


def source_fingerprint_of_cohort(cohort_key: str, root=None) -> str:
    """A cohort's data fingerprint (content hash of genotypes, phenotype, tables)."""
    from gxapp.analyses import cohorts

    return cohorts.store(root).read_meta(cohort_key).get("fingerprint", cohort_key)


class OnCohort(Analysis):
    """An analysis of a cached cohort (source: its key; identity: its content fingerprint)."""

    def fingerprint(self, cohort_key: str, root) -> str:
        return source_fingerprint_of_cohort(cohort_key, root)


class OnRun(Analysis):
    """An analysis of a trained run (source: its key, which already holds the cohort's
    fingerprint and every training parameter)."""

    def fingerprint(self, run_key: str, root) -> str:
        return run_key

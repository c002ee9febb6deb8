"""Background jobs: long work off the UI thread, surviving page switches and
browser reloads (the manager lives as long as the server process).

A job is described by a plain, picklable :class:`JobSpec` (what to do, on
which cohort, with which parameters) so the same description can later be
shipped to another process or machine. The thread touches only its
:class:`Job` object — never any UI — and the UI polls it.
"""

from __future__ import annotations

import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Callable, Optional

from gxapp.errors import Cancelled, GxError

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)


@dataclass(frozen=True)
class JobSpec:
    """What to run: ``kind`` names a registered runner; ``key`` is the cache key
    of the result (two identical specs share one job)."""

    kind: str
    key: str
    params: dict
    label: str = ""


@dataclass(eq=False)
class Job:
    spec: JobSpec
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    state: str = QUEUED
    fraction: float = 0.0
    message: str = ""
    error: Optional[str] = None
    result: object = None
    partial: object = None  # the latest partial result the work published (gxapp.progress.publish)
    created: float = field(default_factory=time.time)
    started: Optional[float] = None
    finished: Optional[float] = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # called from the worker thread
    def progress(self, fraction: float, message: str = "") -> None:
        with self._lock:
            self.fraction = float(min(max(fraction, 0.0), 1.0))
            self.message = message

    def publish(self, partial: object) -> None:
        """Keep ``partial`` (replacing the previous one) for the UI to draw while the job runs."""
        with self._lock:
            self.partial = partial

    def latest(self) -> object:
        """The latest partial result (None before the first)."""
        with self._lock:
            return self.partial

    def reporter(self) -> Callable[[float, str], None]:
        """The job's progress callback, with :meth:`publish` attached (gxapp.progress)."""

        def progress(fraction: float, message: str = "") -> None:
            self.progress(fraction, message)

        progress.publish = self.publish
        return progress

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def done(self) -> bool:
        return self.state in FINISHED

    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def eta(self) -> Optional[float]:
        """Seconds left, extrapolated from the progress so far (None if unknown)."""
        if self.state != RUNNING or self.fraction <= 0.02:
            return None
        return self.elapsed() * (1.0 - self.fraction) / self.fraction

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "id": self.id,
                "kind": self.spec.kind,
                "label": self.spec.label,
                "key": self.spec.key,
                "state": self.state,
                "fraction": self.fraction,
                "message": self.message,
                "error": self.error,
                "elapsed": self.elapsed(),
                "eta": self.eta(),
            }


Runner = Callable[[JobSpec, Callable[[float, str], None], threading.Event], object]


class JobManager:
    """Runs jobs in daemon threads, at most ``max_running`` at once (the rest wait)."""

    def __init__(self, max_running: int = 1):
        self._runners: dict = {}
        self._jobs: dict = {}
        self._lock = threading.Lock()
        self._slots = threading.Semaphore(max_running)

    def register(self, kind: str, runner: Runner) -> None:
        self._runners[kind] = runner

    def submit(self, spec: JobSpec) -> Job:
        """Start ``spec``, or return the unfinished job already running the same key."""
        if spec.kind not in self._runners:
            raise GxError(f"no runner registered for job kind '{spec.kind}'")
        with self._lock:
            for job in self._jobs.values():
                if job.spec.key == spec.key and job.spec.kind == spec.kind and not job.done:
                    return job
            job = Job(spec)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job,), name=f"gxapp-job-{job.id}", daemon=True).start()
        return job

    def _run(self, job: Job) -> None:
        with self._slots:
            job.started = time.time()
            if job.cancel_event.is_set():
                job.state, job.finished = CANCELLED, time.time()
                return
            job.state = RUNNING
            try:
                job.result = self._runners[job.spec.kind](job.spec, job.reporter(), job.cancel_event)
                job.fraction, job.state = 1.0, DONE
            except Cancelled:
                job.state = CANCELLED
            except GxError as exc:
                job.error, job.state = str(exc), FAILED
            except MemoryError:
                job.error, job.state = "out of memory: use fewer models, samples or a smaller batch", FAILED
            except Exception as exc:  # keep the server alive; the trace goes with the job
                job.error = f"{type(exc).__name__}: {exc}"
                job.state = FAILED
                job.message = traceback.format_exc(limit=5)
            finally:
                job.finished = time.time()

    def get(self, job_id: str) -> Optional[Job]:
        return self._jobs.get(job_id)

    def jobs(self, kind: Optional[str] = None) -> list:
        with self._lock:
            js = [j for j in self._jobs.values() if kind is None or j.spec.kind == kind]
        return sorted(js, key=lambda j: j.created, reverse=True)

    def wait(self, job: Job, timeout: Optional[float] = None) -> Job:
        t0 = time.time()
        while not job.done:
            if timeout is not None and time.time() - t0 > timeout:
                break
            time.sleep(0.05)
        return job


_MANAGER: Optional[JobManager] = None
_MANAGER_LOCK = threading.Lock()


def manager() -> JobManager:
    """The process-wide job manager (shared by every browser session)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager(max_running=2)  # two sessions can train at once
        return _MANAGER

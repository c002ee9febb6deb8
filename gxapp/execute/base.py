"""The executor seam (docs/scale-out.md): every chunk of models that is trained as one
batched model — a run's ensembles, a chunk of permutations × members, a set of
cross-validation folds × heads — goes through :meth:`Executor.map`.

A *task* is a plain top-level function ``fn(shared, item, progress, cancel)``:
``shared`` is the data every chunk reads (genotypes, phenotype…; shipped to each worker
once), ``item`` what makes the chunk (its seeds, its folds), ``progress`` a callback or
None and ``cancel`` a flag or None. Results come back in completion order as
``(index, result)``; the caller (the client) writes every finished chunk to the cache
itself, so a chunk is cached as soon as it is done whatever happens to the others.

Seeds are per model, so a chunk's result does not depend on which executor ran it,
on how many workers there were, or on the order the chunks finished in.
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, Optional

from gxapp.progress import CancelFlag, ProgressFn, report

TaskFn = Callable[[object, object, Optional[ProgressFn], Optional[CancelFlag]], object]


class Executor:
    """Runs the chunks of one stage; subclasses: in-process, local processes, Dask."""

    kind: str = "local"

    @property
    def n_workers(self) -> int:
        return 1

    @property
    def address(self) -> Optional[str]:
        return None

    @property
    def spec(self) -> str:
        """What :func:`gxapp.execute.from_spec` was given ("" for this process)."""
        return ""

    def describe(self) -> dict:
        """What provenance and the JSON record (never part of a cache key)."""
        return {"kind": self.kind, "address": self.address, "n_workers": self.n_workers}

    def map(
        self,
        fn: TaskFn,
        items: Iterable,
        *,
        shared: object = None,
        progress: Optional[ProgressFn] = None,
        cancel: Optional[CancelFlag] = None,
        stage: str = "chunks",
    ) -> Iterator[tuple]:
        """``(index, fn(shared, item, ...))`` for every item, as they finish."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers or the cluster connection (the default has none)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ChunkProgress:
    """Chunk-level progress with the stage name, the count done and an ETA from the
    chunks finished so far (the in-process executor adds each chunk's own progress)."""

    def __init__(self, progress: Optional[ProgressFn], n: int, stage: str, where: str = ""):
        self.progress, self.n, self.stage, self.where = progress, max(n, 1), stage, where
        self.done = 0
        self.t0 = time.perf_counter()

    def eta(self) -> str:
        if not self.done:
            return ""
        left = (time.perf_counter() - self.t0) / self.done * (self.n - self.done)
        return f", about {left:.0f} s left" if left >= 1 else ""

    def started(self) -> None:
        report(self.progress, 0.0, f"{self.stage}: {self.n} chunk{'s' * (self.n != 1)}{self.where}")

    def finished_one(self) -> None:
        self.done += 1
        report(
            self.progress,
            self.done / self.n,
            f"{self.stage}: {self.done} of {self.n} chunks done{self.where}{self.eta()}",
        )

    def partial(self, running: float, detail: str = "") -> None:
        """Chunks still running report ``running`` chunk-equivalents done (their fractions summed)."""
        f = (self.done + min(max(running, 0.0), self.n - self.done)) / self.n
        head = f"{self.stage}: {self.done} of {self.n} chunk{'s' * (self.n != 1)} done{self.where}"
        report(self.progress, f, f"{head} · {detail}" if detail else head)

    def within(self, i: int) -> Optional[ProgressFn]:
        """The progress callback of chunk ``i`` when it runs in this process."""
        if self.progress is None:
            return None
        lo = self.done / self.n

        def child(f: float, message: str = "") -> None:
            head = f"{self.stage} (chunk {self.done + 1} of {self.n})" if self.n > 1 else self.stage
            report(self.progress, lo + min(max(f, 0.0), 1.0) / self.n, f"{head}: {message}" if message else head)

        return child

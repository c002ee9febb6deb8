"""In-process and local worker-process executors, on joblib (docs/scale-out.md).

:class:`InProcess` is the default: joblib's sequential backend, i.e. the chunks run one
after another in the calling thread, exactly as before the seam existed, with each
chunk's own progress and the caller's cancel flag. :class:`Processes` runs chunks on
``n`` loky worker processes of this machine; large arrays in ``shared`` are memory-mapped
by joblib (written once per stage, not sent per chunk), and cancel reaches running chunks
through a marker file (:class:`gxapp.execute.cancel.FileCancel`).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import joblib

from gxapp.errors import Cancelled, ExecutorError, GxError
from gxapp.execute.base import ChunkProgress, Executor
from gxapp.execute.cancel import FileCancel
from gxapp.params import check_int
from gxapp.progress import check_cancel


class InProcess(Executor):
    """Chunks in the calling thread (joblib ``sequential``): unchanged behaviour."""

    kind = "local"

    def map(self, fn, items, *, shared=None, progress=None, cancel=None, stage="chunks"):
        items = list(items)
        cp = ChunkProgress(progress, len(items), stage)
        cp.started()
        par = joblib.Parallel(n_jobs=1, backend="sequential", return_as="generator")
        calls = (joblib.delayed(fn)(shared, item, cp.within(i), cancel) for i, item in enumerate(items))
        for i, out in enumerate(par(calls)):
            cp.finished_one()
            yield i, out
            check_cancel(cancel)


def _indexed(fn, i, shared, item, cancel):
    return i, fn(shared, item, None, cancel)


class Processes(Executor):
    """Chunks on ``n_workers`` local processes (joblib's loky backend)."""

    kind = "processes"

    def __init__(self, n_workers: int):
        self._n = check_int("n_workers", n_workers, 1)

    @property
    def n_workers(self) -> int:
        return self._n

    @property
    def spec(self) -> str:
        return f"processes:{self._n}"

    def map(self, fn, items, *, shared=None, progress=None, cancel=None, stage="chunks"):
        items = list(items)
        cp = ChunkProgress(progress, len(items), stage, f" on {self._n} local processes")
        cp.started()
        with tempfile.TemporaryDirectory(prefix="gxapp-cancel-") as tmp:
            flag = FileCancel(Path(tmp) / "cancelled")
            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(cancel, flag, stop), daemon=True)
            watcher.start()
            try:
                par = joblib.Parallel(n_jobs=self._n, backend="loky", return_as="generator_unordered")
                calls = (joblib.delayed(_indexed)(fn, i, shared, item, flag) for i, item in enumerate(items))
                gen = par(calls)
                try:
                    for i, out in gen:
                        cp.finished_one()
                        yield i, out
                        check_cancel(cancel)
                finally:
                    gen.close()
            except (GxError, KeyboardInterrupt):
                raise
            except Exception as exc:  # a worker process died, or joblib failed
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled by the user") from None
                raise ExecutorError(
                    f"local worker processes failed during {stage}: {type(exc).__name__}: {exc}"
                ) from exc
            finally:
                stop.set()
                watcher.join(timeout=2)


def _watch(cancel, flag: "FileCancel", stop: threading.Event) -> None:
    """Raise the marker file as soon as the caller's cancel flag is set."""
    if cancel is None:
        return
    while not stop.wait(0.1):
        if cancel.is_set():
            flag.set()
            return

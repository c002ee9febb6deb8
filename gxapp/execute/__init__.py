"""Where chunks of models run: in this process (default), on local worker processes, or on
a Dask cluster (docs/scale-out.md). The executor is an execution setting: it is recorded in
provenance and JSON (``"executor"``) but never enters a cache key.

The process has one *current* executor: :func:`configure` sets it from an address (the CLI's
``--dask``, the app's ``GXAPP_DASK``), :func:`use` sets one for a block, :func:`current`
returns it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Optional

from gxapp.errors import ParameterError
from gxapp.execute.base import ChunkProgress, Executor
from gxapp.execute.local import InProcess, Processes

__all__ = ["Executor", "ChunkProgress", "InProcess", "Processes", "from_spec", "current", "use", "configure", "ENV"]

ENV = "GXAPP_DASK"
_LOCK = threading.Lock()
_CURRENT: list = [InProcess()]


def from_spec(spec: Optional[str]) -> Executor:
    """``None``/``""``/``local`` → in this process; ``processes:N`` → N local worker
    processes (joblib/loky); ``local:N`` → a Dask LocalCluster of N worker processes;
    ``tcp://host:port`` (or ``tls://``, ``ucx://``, ``host:port``) → a running Dask scheduler."""
    spec = (spec or "").strip()
    if spec in ("", "local", "none"):
        return InProcess()
    if spec.startswith("processes:"):
        n = spec.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ParameterError(f"executor: expected processes:N with N ≥ 1, got {spec!r}")
        return Processes(int(n))
    if spec.startswith("local:") or "://" in spec or ":" in spec:
        from gxapp.execute.dask import DaskExecutor

        return DaskExecutor(spec)
    raise ParameterError(
        f"dask: expected tcp://host:port of a running scheduler or local:N for N local worker processes, got {spec!r}"
    )


def current() -> Executor:
    with _LOCK:
        return _CURRENT[0]


def configure(spec: Optional[str]) -> Executor:
    """Make ``spec`` the process's executor (closing the one it replaces) and return it;
    the current one is kept when it was made from the same ``spec``."""
    if (spec or "").strip() == current().spec:
        return current()
    ex = from_spec(spec)
    with _LOCK:
        old, _CURRENT[0] = _CURRENT[0], ex
    if old is not ex:
        old.close()
    return ex


def configure_from_env() -> Executor:
    """The app's executor: ``$GXAPP_DASK`` when set, else in-process."""
    return configure(os.environ.get(ENV))


@contextlib.contextmanager
def use(executor: Executor):
    """Run the block with ``executor`` as the current one (restored afterwards, not closed)."""
    with _LOCK:
        old, _CURRENT[0] = _CURRENT[0], executor
    try:
        yield executor
    finally:
        with _LOCK:
            _CURRENT[0] = old

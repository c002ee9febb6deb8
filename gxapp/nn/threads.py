"""CPU thread counts while training or scoring: one torch limiter for the app (and the
BLAS limiter of the numpy-based peer tests).

``torch.set_num_threads`` is process-wide, so :func:`torch_threads` changes it under a
lock and keeps a record of the blocks that are open: when a block ends, the count goes
back to what the innermost still-open block asked for, or, when none is left, to the
count before the first one (nested blocks in one thread restore exactly as a stack).
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Optional

import torch

from gxapp.params import check_int

__all__ = ["resolve_threads", "torch_threads", "available_cores", "blas_threads"]

_LOCK = threading.Lock()
_OPEN: list = []  # [(token, n)] of the blocks inside torch_threads, oldest first
_BEFORE: list = [None]  # the count before the outermost open block


def available_cores() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0))


def resolve_threads(threads: Optional[int] = None, spare: int = 1) -> int:
    """``threads``, or every core this process may use but ``spare`` (at least 1).

    Both trainers leave one core free (``spare=1``, see ``gxapp.genenet.config.DEFAULT_THREADS``
    and ``gxapp.epistasis.train.torch_threads``); paper B's additive baselines use every core
    (``spare=0``: liblinear releases the GIL)."""
    return int(threads) if threads else max(1, available_cores() - spare)


@contextlib.contextmanager
def torch_threads(threads: Optional[int] = None, spare: int = 1):
    """Use ``resolve_threads(threads, spare)`` torch CPU threads inside the block, then
    restore the previous count."""
    n = resolve_threads(threads, spare)
    token = object()
    with _LOCK:
        if not _OPEN:
            _BEFORE[0] = torch.get_num_threads()
        _OPEN.append((token, n))
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        with _LOCK:
            _OPEN[:] = [entry for entry in _OPEN if entry[0] is not token]
            torch.set_num_threads(_OPEN[-1][1] if _OPEN else _BEFORE[0])


def blas_threads(threads: Optional[int]):
    """Context limiting numpy's BLAS to ``threads`` threads (a no-op for None, or without
    threadpoolctl). Paper A's peer tests run their large products in numpy, not torch."""
    if threads is None:
        return contextlib.nullcontext()
    check_int("threads", threads, 1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(threads), user_api="blas")

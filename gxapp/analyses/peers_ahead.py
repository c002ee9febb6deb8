"""The classical tests of an analysis computed ahead, on a spare core, while its networks train.

The peers (top-SNP, PCA, SNP-pair, Lasso, boosted trees; docs/method.md#classical-tests) need a
run's split and the analysis' settings, never its networks. A command that trains and then scores
(``python -m gxapp interactions``, the one-click demo) wraps the training in :func:`ahead`: a
thread computes the peers of the analysis to come, and the analysis takes them (:func:`take`)
instead of computing them after the scores. The numbers are those the analysis would compute (the
same function on the same rows); only when they are computed changes. Used only where there is a
core to spare (the trainer leaves one free) and the work runs in this process.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Optional

from gxapp import execute
from gxapp.nn.threads import available_cores

_AHEAD: contextvars.ContextVar = contextvars.ContextVar("gxapp_peers_ahead", default=None)


def _compute(cohort_key, run_params, ia_params, root, cancel):
    from gxapp.analyses import cohorts
    from gxapp.analyses import interactions as ia

    data = run_params.prepare(cohorts.open_cohort(cohort_key, root))
    rows = ia._scored_rows(data.test_idx, ia_params)
    return ia.classical_peers(data.X, data.y, data.gene_blocks, data.train_idx, rows, ia_params, None, cancel)


class _Either:
    """Set when the caller's cancel flag is set or the block is left early."""

    def __init__(self, cancel):
        self.cancel, self.stop = cancel, threading.Event()

    def is_set(self) -> bool:
        return self.stop.is_set() or (self.cancel is not None and self.cancel.is_set())


@contextlib.contextmanager
def ahead(cohort_key: str, run_params, ia_params, root=None, cancel=None):
    """Inside the block, the peers of the analysis ``ia_params`` of the run ``run_params`` on
    ``cohort_key`` are computed in a thread; an analysis in the block takes them. Nothing is
    started when the analysis is cached already, on one core, or with a Dask / process executor."""
    from gxapp.analyses import interactions as ia
    from gxapp.analyses import runs

    if available_cores() < 2 or execute.current().kind != "local":
        yield None
        return
    analysis_key = ia.key(runs.key(cohort_key, run_params, root), ia_params, root)  # the analysis to come
    if ia.INTERACTIONS.store(root).exists(analysis_key):
        yield None
        return
    flag = _Either(cancel)
    pool = ThreadPoolExecutor(1, thread_name_prefix="gxapp-peers")
    future = pool.submit(_compute, cohort_key, run_params, ia_params, root, flag)
    token = _AHEAD.set({analysis_key: future})
    try:
        yield future
    finally:
        _AHEAD.reset(token)
        if not future.done():
            flag.stop.set()  # the block ended first (an error, a cancel): stop the peers too
        pool.shutdown(wait=True)


def take(analysis_key: str) -> Optional[Future]:
    """The peers computed ahead for the analysis with this cache key (a future of ``(peers,
    settings, timings)``), or None."""
    return (_AHEAD.get() or {}).get(analysis_key)

"""Progress callbacks and cancel flags shared by all long-running library code.

A ``progress`` callback is any callable ``progress(fraction, message)`` with
``fraction`` in [0, 1]. A cancel flag is anything with ``is_set()`` (a
``threading.Event`` works). Both are optional everywhere.

A progress callback may also carry a ``publish(partial)`` attribute: long work that has a
meaningful part of its result early (a learning curve's finished sample sizes) hands it over with
:func:`publish`, and a background job keeps the latest one for the UI to draw while the work goes
on. Plain callbacks ignore it.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol

from gxapp.errors import Cancelled

ProgressFn = Callable[[float, str], None]


class CancelFlag(Protocol):
    def is_set(self) -> bool: ...


def report(progress: Optional[ProgressFn], fraction: float, message: str = "") -> None:
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)), message)


def publish(progress: Optional[ProgressFn], partial: object) -> None:
    """Hand a partial result to the watcher of ``progress`` (a no-op for a plain callback)."""
    target = getattr(progress, "publish", None)
    if target is not None:
        target(partial)


def check_cancel(cancel: Optional[CancelFlag]) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled by the user")


def sub_progress(progress: Optional[ProgressFn], start: float, stop: float) -> Optional[ProgressFn]:
    """Map a child's [0, 1] progress onto [start, stop] of the parent's."""
    if progress is None:
        return None

    def child(fraction: float, message: str = "") -> None:
        progress(start + (stop - start) * min(max(fraction, 0.0), 1.0), message)

    if getattr(progress, "publish", None) is not None:
        child.publish = progress.publish  # partial results pass through unchanged
    return child

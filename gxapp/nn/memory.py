"""Out-of-memory during training: one typed error, one place that recognises it."""

from __future__ import annotations

import contextlib

from gxapp.errors import GxError

__all__ = ["TrainingMemoryError", "is_out_of_memory", "memory_errors"]


class TrainingMemoryError(GxError, MemoryError):
    """The models, batch or activations did not fit in memory."""


def is_out_of_memory(exc: BaseException) -> bool:
    """A ``MemoryError``, or a torch allocation failure (CPU or CUDA)."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@contextlib.contextmanager
def memory_errors(message: str):
    """Turn allocation failures inside the block into ``TrainingMemoryError(message)``;
    ``message`` says what was being trained and what to lower."""
    try:
        yield
    except (RuntimeError, MemoryError) as exc:
        if is_out_of_memory(exc):
            raise TrainingMemoryError(message) from exc
        raise

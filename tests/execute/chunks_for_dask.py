"""Chunk functions of the Dask tests, in a module of their own: the scheduler and the workers
import it by name, and it imports nothing heavy (no torch), so they start fast."""

import os
import time
from pathlib import Path


def square(shared, item, progress=None, cancel=None):
    return shared["k"] * item * item


def die_once(shared, item, progress=None, cancel=None):
    """Chunk 1 kills its worker process the first time it runs (a worker lost mid-run)."""
    marker = Path(shared["marker"])
    if item == 1 and not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)
    time.sleep(0.2)
    return item * 10

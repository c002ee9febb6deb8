"""Cancel flags that reach chunks running in other processes or on other machines.

Training checks its cancel flag at every minibatch; these flags look across a process
boundary at most every ``every`` seconds, so the check stays cheap."""

from __future__ import annotations

import os
import time


class _Throttled:
    every = 0.5

    def __init__(self):
        self._last, self._seen = 0.0, False

    def is_set(self) -> bool:
        if self._seen:
            return True
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._seen = self._look()
        return self._seen

    def _look(self) -> bool:
        raise NotImplementedError

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._last, self._seen = 0.0, False


class FileCancel(_Throttled):
    """Set when a marker file exists (local worker processes share the filesystem)."""

    def __init__(self, path):
        super().__init__()
        self.path = str(path)

    def set(self) -> None:
        with open(self.path, "w") as fh:
            fh.write("cancelled\n")

    def _look(self) -> bool:
        return os.path.exists(self.path)


class EventCancel(_Throttled):
    """Set when a named ``distributed.Event`` is set (Dask workers anywhere)."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def _look(self) -> bool:
        from distributed import Event

        try:
            return bool(Event(self.name).is_set())
        except Exception:  # no scheduler reachable from here: nothing to cancel through
            return False

"""Chunks on a Dask cluster (docs/scale-out.md): a running scheduler (``tcp://host:port``)
or a ``LocalCluster`` of N worker processes started here (``local:N``).

Why ``distributed``'s futures and not joblib's ``dask`` backend: gxapp needs two things that
backend does not do. *Cancel*: its ``abort_everything`` only forgets the waiting futures
(joblib/_dask.py) — the chunks go on running on the cluster — and a joblib generator blocks
with no place to look at the cancel flag; here the client waits in short steps, cancels the
futures and sets a ``distributed.Event`` that the running chunks poll. *Data once*: the
backend broadcasts its ``scatter`` list each time a ``Parallel`` is built and auto-scatters
other large arguments to *some* workers; here ``shared`` is broadcast once per stage to every
worker — or, when the workers see the client's cache folder (a shared filesystem, checked with
a marker file), written there once and memory-mapped by each worker.

Worker faults are the scheduler's: a chunk on a worker that dies is rescheduled on another
(up to ``distributed.scheduler.allowed-failures`` times); since its seeds are its own the
result is the same. A cluster that goes away is an :class:`~gxapp.errors.ExecutorError`;
the chunks already returned were cached by the caller.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Optional

from gxapp.errors import Cancelled, ExecutorError, GxError, ParameterError
from gxapp.execute.base import ChunkProgress, Executor
from gxapp.execute.cancel import EventCancel

# How long the client waits for a scheduler that stopped answering before giving up.
LOST_SECONDS = 20.0
CONNECT_SECONDS = 10.0


def local_worker_envs(n_workers: int, n_gpus: int) -> list:
    """Extra environment of each ``local:N`` worker: with GPUs, worker ``i`` sees only GPU
    ``i mod n_gpus`` (``CUDA_VISIBLE_DEVICES``), so each trains on a device of its own."""
    return [{"CUDA_VISIBLE_DEVICES": str(i % n_gpus)} if n_gpus else {} for i in range(n_workers)]


def _cuda_devices() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except Exception:  # pragma: no cover - torch without CUDA support
        return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackCluster:
    """``local:N``: a scheduler and N single-threaded workers on 127.0.0.1, each its own
    process: the scheduler by :mod:`gxapp.execute._scheduler` (it stops when this process is
    gone, however it ended), the workers by Dask's ``dask_worker`` command (they stop 60 s after
    their scheduler).

    Not ``distributed.LocalCluster``: its worker processes are started with multiprocessing's
    *spawn*, which re-runs the parent's ``__main__`` — inside ``streamlit run`` that is the page
    script, which then fails to start. Separate processes have none of that, and give each
    worker its own environment (its GPU)."""

    def __init__(self, n_workers: int, n_gpus: int = 0, timeout: float = 90.0):
        root = str(Path(__file__).resolve().parents[2])
        base = dict(os.environ)
        base["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [base.get("PYTHONPATH")] if p])
        port, dash = _free_port(), _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        py = sys.executable
        self._procs = [
            self._start([py, "-m", "gxapp.execute._scheduler", str(port), str(dash), str(os.getpid())], base)
        ]
        for i, extra in enumerate(local_worker_envs(n_workers, n_gpus)):
            self._procs.append(
                self._start(
                    [
                        py,
                        "-m",
                        "distributed.cli.dask_worker",
                        self.address,
                        "--nthreads",
                        "1",
                        "--name",
                        f"gxapp-{i}",
                        "--no-dashboard",
                        "--death-timeout",
                        "60",
                    ],
                    {**base, **extra},
                )
            )
        self.n_workers, self.timeout = n_workers, timeout

    def _start(self, cmd, env):
        """Start one process, its output to a log file in ``log_dir`` (kept for a look when
        something fails)."""
        if not hasattr(self, "log_dir"):
            self.log_dir = Path(tempfile.mkdtemp(prefix="gxapp-dask-"))
        n = len(getattr(self, "_procs", []))
        with open(self.log_dir / f"{'scheduler' if n == 0 else f'worker-{n - 1}'}.log", "wb") as log:
            return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def close(self) -> None:
        for p in self._procs[::-1]:
            if p.poll() is None:
                p.terminate()
        for p in self._procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        if hasattr(self, "log_dir"):
            shutil.rmtree(self.log_dir, ignore_errors=True)


def _sees(path: str, token: str) -> bool:
    try:
        return Path(path).read_text() == token
    except OSError:
        return False


class _FileRef:
    """``shared`` written once to a folder every worker sees; loaded memory-mapped."""

    _loaded: dict = {}

    def __init__(self, path: str):
        self.path = path

    def load(self):
        import joblib

        if self.path not in _FileRef._loaded:
            _FileRef._loaded.clear()  # one stage's data at a time per worker process
            _FileRef._loaded[self.path] = joblib.load(self.path, mmap_mode="r")
        return _FileRef._loaded[self.path]


# glibc's mallopt parameter numbers (malloc.h).
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
_WORKER_READY: list = []


def prepare_worker() -> None:
    """Once per worker process: undo a side effect of Dask's nanny on torch's speed.

    The nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (so freed memory goes back
    to the OS). Setting any glibc malloc threshold switches off glibc's adaptive mmap threshold:
    every tensor above 128 KB is then a fresh mmap and page-faulted in, and training ran 2.0×
    slower on a worker than in-process (bench/README.md, "Scale-out"). A 32 MiB mmap threshold
    (glibc's own adaptive ceiling) brings heap reuse back; the trim threshold stays as Dask set it."""
    if _WORKER_READY:
        return
    _WORKER_READY.append(True)
    if os.environ.get("MALLOC_TRIM_THRESHOLD_") is None or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


class RemoteProgress:
    """A chunk's progress callback on a worker: at most once a second, its latest
    ``(fraction, message)`` goes to the scheduler's metadata, where the client reads it."""

    every = 1.0

    def __init__(self, run: str, index: int):
        self.path = ["gxapp-progress", run, str(index)]
        self._last = 0.0

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < self.every and fraction < 1.0:
            return
        self._last = now
        try:
            from distributed import get_client

            get_client().set_metadata(self.path, [float(fraction), str(message)])
        except Exception:  # progress is best effort: never fail a chunk over it
            pass

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.path, self._last = state["path"], 0.0


def _remote(fn, shared, item, progress, cancel):
    prepare_worker()
    if isinstance(shared, _FileRef):
        shared = shared.load()
    return fn(shared, item, progress, cancel)


def _probe_tcp(address: str, timeout: float) -> None:
    """Fail at once (not after the client's retries) when nothing listens at a tcp:// address."""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://") :].rpartition(":")
    if not port.isdigit():
        raise ParameterError(f"dask: expected tcp://host:port, got {address!r}")
    with socket.create_connection((host or "127.0.0.1", int(port)), timeout=min(timeout, 5.0)):
        pass


def _connect(Client, address, timeout):
    """A client of a scheduler that may still be starting."""
    t0 = time.monotonic()
    while True:
        try:
            return Client(address, timeout=5, set_as_default=False)
        except OSError:
            if time.monotonic() - t0 > timeout:
                raise
            time.sleep(0.2)


class DaskExecutor(Executor):
    """``address``: ``tcp://host:port`` (or any scheduler address) or ``local:N``.
    ``data``: ``auto`` (shared filesystem when the workers see ``exchange_dir``, else
    scatter), ``scatter`` or ``shared``."""

    kind = "dask"

    def __init__(
        self, address: str, *, data: str = "auto", exchange_dir=None, connect_timeout: float = CONNECT_SECONDS
    ):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - in requirements
            raise ExecutorError(
                "dask: the 'distributed' package is not installed (pip install -r requirements.txt)"
            ) from None
        if data not in ("auto", "scatter", "shared"):
            raise ParameterError(f"data: expected 'auto', 'scatter' or 'shared', got {data!r}")
        self._spec, self._cluster = str(address), None
        self._data_mode, self._data = data, None
        if exchange_dir is None:
            from gxapp.cache import exchange_dir as default_exchange

            exchange_dir = default_exchange()
        self._exchange = Path(exchange_dir)
        try:
            if self._spec.startswith("local:"):
                n = self._spec.split(":", 1)[1]
                if not n.isdigit() or int(n) < 1:
                    raise ParameterError(f"dask: expected local:N with N ≥ 1 worker processes, got {address!r}")
                self._cluster = LoopbackCluster(int(n), _cuda_devices())
                self.client = _connect(Client, self._cluster.address, self._cluster.timeout)
                self.client.wait_for_workers(int(n), timeout=self._cluster.timeout)
            else:
                _probe_tcp(self._spec, connect_timeout)
                self.client = Client(self._spec, timeout=connect_timeout, set_as_default=False)
                self._check_environment()
        except GxError:
            raise
        except Exception as exc:
            self.close()
            if self._cluster is not None:
                raise ExecutorError(
                    f"dask: could not start {address!r} ({type(exc).__name__}: {exc}); check that `python -m "
                    "distributed.cli.dask_scheduler` runs here, or leave the Dask setting empty to work in this process"
                ) from None
            reason = "connection refused" if isinstance(exc, ConnectionRefusedError) else f"{type(exc).__name__}: {exc}"
            raise ExecutorError(
                f"No Dask scheduler answers at {address} ({reason}). Start one with `dask scheduler` and workers "
                f"with `dask worker {address}`, or use local:2 for two workers on this computer."
            ) from None

    def _check_environment(self) -> None:
        """The scheduler reads gxapp's task specs and the workers run them: both must import gxapp
        (Dask's "consistent software environments"); say so now rather than fail mid-run."""
        probe = lambda: __import__("importlib.util").util.find_spec("gxapp") is not None  # noqa: E731
        try:
            on_scheduler = self.client.run_on_scheduler(probe)
            on_workers = self.client.run(probe)
        except Exception:
            return  # an old or restricted scheduler: the first chunk will tell
        missing = [w for w, ok in on_workers.items() if not ok]
        if not on_scheduler or missing:
            where = "the scheduler" if not on_scheduler else ""
            if missing:
                where += (" and " if where else "") + f"{len(missing)} worker(s) (e.g. {missing[0]})"
            root = Path(__file__).resolve().parents[2]
            self.close()
            raise ExecutorError(
                f"dask: gxapp cannot be imported on {where} at {self._spec}; start them in gxapp's environment "
                f"with this checkout importable, e.g. `PYTHONPATH={root} dask scheduler` and "
                f"`PYTHONPATH={root} dask worker {self._spec}`"
            )

    # ---- what the cluster is -----------------------------------------------------------
    @property
    def spec(self) -> str:
        return self._spec

    @property
    def address(self) -> Optional[str]:
        return self.client.scheduler.address

    @property
    def n_workers(self) -> int:
        try:
            return len(self.client.scheduler_info()["workers"])
        except Exception:
            return 0

    @property
    def dashboard_link(self) -> Optional[str]:
        try:
            return self.client.dashboard_link
        except Exception:
            return None

    def workers(self) -> list:
        """``[{address, threads, memory_limit, gpu}]`` of the workers now connected."""
        out = []
        for addr, w in sorted(self.client.scheduler_info()["workers"].items()):
            out.append(
                {
                    "address": addr,
                    "threads": w.get("nthreads"),
                    "memory_gb": round((w.get("memory_limit") or 0) / 1e9, 1),
                    "name": w.get("name"),
                }
            )
        return out

    def data_mode(self) -> str:
        """``shared`` when every worker sees ``exchange_dir`` (checked once), else ``scatter``."""
        if self._data is None:
            self._data = self._data_mode if self._data_mode != "auto" else self._probe()
        return self._data

    def _probe(self) -> str:
        token = uuid.uuid4().hex
        try:
            self._exchange.mkdir(parents=True, exist_ok=True)
            probe = self._exchange / f"probe-{token}"
            probe.write_text(token)
        except OSError:
            return "scatter"
        try:
            seen = self.client.run(_sees, str(probe), token)
            return "shared" if seen and all(seen.values()) else "scatter"
        except Exception:
            return "scatter"
        finally:
            probe.unlink(missing_ok=True)

    def describe(self) -> dict:
        d = super().describe()
        d["data"] = {"shared": "shared filesystem", "scatter": "scattered to each worker"}.get(self.data_mode())
        return d

    # ---- running a stage ---------------------------------------------------------------
    def _ship(self, shared):
        if shared is None:
            return None, None
        if self.data_mode() == "shared":
            import joblib

            self._exchange.mkdir(parents=True, exist_ok=True)
            path = self._exchange / f"shared-{uuid.uuid4().hex}.joblib"
            tmp = path.with_suffix(".tmp")
            joblib.dump(shared, tmp)
            os.replace(tmp, path)
            return _FileRef(str(path)), path
        return self.client.scatter(shared, broadcast=True, hash=False), None

    def map(self, fn, items, *, shared=None, progress=None, cancel=None, stage="chunks"):
        from distributed import Event

        items = list(items)
        cp = ChunkProgress(progress, len(items), stage, f" on {self.n_workers} Dask workers")
        cp.started()
        run = uuid.uuid4().hex[:10]
        event_name = f"gxapp-cancel-{run}"
        event = Event(event_name, client=self.client)
        ref, path = None, None
        futures = []
        try:
            ref, path = self._ship(shared)
            slug = "".join(c if c.isalnum() else "-" for c in stage)[:40]
            for i, item in enumerate(items):
                futures.append(
                    self.client.submit(
                        _remote,
                        fn,
                        ref,
                        item,
                        RemoteProgress(run, i),
                        EventCancel(event_name),
                        key=f"gxapp-{slug}-{run}-{i}",
                        pure=False,
                    )
                )
            index = {f.key: i for i, f in enumerate(futures)}
            pending = set(futures)
            lost_since, last_look = None, 0.0
            while pending:
                if cancel is not None and cancel.is_set():
                    event.set()
                    raise Cancelled("cancelled by the user")
                done = [f for f in pending if f.status in ("finished", "error", "cancelled", "lost")]
                if not done:
                    if self.client.status != "running":
                        lost_since = lost_since or time.monotonic()
                        if time.monotonic() - lost_since > LOST_SECONDS:
                            raise ExecutorError(self._lost(stage, cp))
                    else:
                        lost_since = None
                        if time.monotonic() - last_look >= 0.5:
                            last_look = time.monotonic()
                            self._show_running(cp, run, {index[f.key] for f in pending})
                    time.sleep(0.1)
                    continue
                for f in done:
                    pending.discard(f)
                    yield index[f.key], self._result(f, stage, cp)
                    cp.finished_one()
        finally:
            left = [f for f in futures if f.status == "pending"]
            if left and self.client.status == "running":  # cancelled, interrupted or failed: stop the rest
                try:
                    event.set()
                    self.client.cancel(left)
                except Exception:
                    pass
            if path is not None:
                path.unlink(missing_ok=True)
            try:
                if self.client.status == "running":
                    self.client.set_metadata(["gxapp-progress", run], {})
            except Exception:
                pass

    def _show_running(self, cp, run: str, pending: set) -> None:
        """Fold the running chunks' own progress (from the scheduler's metadata) into the stage's."""
        try:
            seen = self.client.get_metadata(["gxapp-progress", run], default=None) or {}
        except Exception:
            return
        parts = {int(k): v for k, v in seen.items() if int(k) in pending}
        if parts:
            lead = max(parts.values(), key=lambda v: v[0])
            cp.partial(sum(v[0] for v in parts.values()), lead[1])

    def _result(self, f, stage, cp):
        if f.status == "finished":
            try:
                return f.result()
            except Exception as exc:
                raise ExecutorError(
                    f"dask: could not fetch a result of {stage} ({type(exc).__name__}: {exc})"
                ) from None
        if f.status == "error":
            exc = f.exception()
            if isinstance(exc, GxError):
                raise exc
            raise ExecutorError(f"dask: a chunk of {stage} failed on the cluster: {type(exc).__name__}: {exc}")
        raise ExecutorError(self._lost(stage, cp))

    def _lost(self, stage, cp) -> str:
        return (
            f"dask: the cluster at {self._spec} went away during {stage} ({cp.done} of {cp.n} chunks had finished "
            "and are cached); start it again and rerun to go on from there"
        )

    def close(self) -> None:
        """Disconnect; a ``local:N`` cluster started here is shut down (scheduler and workers)."""
        client, cluster = getattr(self, "client", None), getattr(self, "_cluster", None)
        if client is not None:
            try:
                if cluster is not None and client.status == "running":
                    client.shutdown()  # asks the scheduler and workers to stop (faster than signals)
                else:
                    client.close()
            except Exception:
                pass
        if cluster is not None:
            cluster.close()

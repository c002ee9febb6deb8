"""Content-addressed, atomically written result store.

An entry is a folder ``<root>/<kind>/<key>/`` holding the artefact files and a
``meta.json`` with provenance (parameters, versions, seed, timings). It is
first written under ``<root>/<kind>/.tmp-<random>/`` and then renamed into
place, so a reader sees either nothing or a complete entry: a killed writer
leaves only a ``.tmp-`` folder, which is swept away later.

The key is a hash of (kind, data fingerprint, parameters, gxapp version).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Callable, Optional

import gxapp
from gxapp.errors import CacheError

CACHE_ENV = "GXAPP_CACHE"
STALE_TMP_SECONDS = 6 * 3600


def cache_root() -> Path:
    """``$GXAPP_CACHE`` if set, else the ``cache/`` folder beside the package."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(__file__).resolve().parents[1] / "cache"


def make_key(kind: str, *parts, version: str = gxapp.__version__) -> str:
    """A stable 32-hex key for ``parts`` (JSON-serialisable), the kind and the code version."""
    blob = json.dumps([kind, version, parts], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()


def file_digest(path, chunk: int = 1 << 22) -> str:
    """blake2b of a file's content (fast: ~1 GB/s)."""
    h = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def sampled_digest(path, full_below: int = 1 << 30, blocks: int = 256, block: int = 1 << 16) -> str:
    """A file's identity without reading all of it: its size and ``blocks`` evenly spaced 64 KB blocks
    (the first and last included); a file below ``full_below`` bytes is hashed whole. For inputs that are
    only sampled, such as a genome-wide PLINK set the PCs read a subset of (a change that leaves size and
    every sampled block identical goes unnoticed: say so where it is used)."""
    size = Path(path).stat().st_size
    if size < full_below:
        return file_digest(path)
    h = hashlib.blake2b(digest_size=16)
    h.update(f"sampled:{size}:{blocks}:{block}".encode())
    with open(path, "rb") as fh:
        for k in range(blocks):
            fh.seek(int(k * (size - block) / max(1, blocks - 1)))
            h.update(fh.read(block))
    return h.hexdigest()


def bytes_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _version(pkg: str) -> Optional[str]:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:
        return None


def provenance(**extra) -> dict:
    """Versions and machine of a result, plus whatever the caller adds (params, seed...)."""
    info = {
        "gxapp": gxapp.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": {
            p: _version(p) for p in ("numpy", "pandas", "torch", "bed-reader", "cyvcf2", "msprime", "statsmodels")
        },
    }
    info.update(extra)
    return info


def _meta_digest(meta: dict) -> str:
    """Digest of meta.json's own content (every field but this one), as JSON would store it."""
    body = json.loads(json.dumps({k: v for k, v in meta.items() if k != "meta_digest"}, default=str))
    return bytes_digest(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _digests(folder: Path) -> dict:
    """relative path -> blake2b of every file under ``folder``."""
    return {p.relative_to(folder).as_posix(): file_digest(p) for p in sorted(folder.rglob("*")) if p.is_file()}


class Store:
    """One kind of cached artefact (``cohorts``, ``runs``...) under the cache root."""

    def __init__(self, kind: str, root: Optional[Path] = None):
        self.kind = kind
        self.dir = Path(root if root is not None else cache_root()) / kind

    def path(self, key: str) -> Path:
        if not key or any(c not in "0123456789abcdef" for c in key):
            raise CacheError(f"cache key '{key}' is not a hex key")
        return self.dir / key

    def exists(self, key: str) -> bool:
        return (self.path(key) / "meta.json").is_file()

    def write(self, key: str, writer: Callable[[Path], None], meta: dict) -> Path:
        """Run ``writer(tmp_dir)`` then publish the folder under ``key`` atomically.

        If ``writer`` raises (or the process dies) nothing is published."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.sweep()
        tmp = self.dir / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        try:
            writer(tmp)
            meta = dict(meta, key=key, kind=self.kind, files=_digests(tmp))
            meta["meta_digest"] = _meta_digest(meta)
            with open(tmp / "meta.json", "w") as fh:
                json.dump(meta, fh, indent=1, sort_keys=True, default=str)
            final = self.path(key)
            try:
                os.rename(tmp, final)
            except OSError:
                if self.exists(key):  # someone else published the same content first
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    raise
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    def read_meta(self, key: str) -> dict:
        p = self.path(key) / "meta.json"
        try:
            with open(p) as fh:
                return json.load(fh)
        except FileNotFoundError:
            raise CacheError(f"no cached {self.kind[:-1]} with key {key}") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise CacheError(f"cache entry {p.parent} is unreadable ({exc}); delete it") from None

    def verify(self, key: str) -> dict:
        """The entry's meta after checking every artefact file against the digest
        recorded when it was published; a missing, truncated or altered file raises
        :class:`CacheError` naming the entry to delete (nothing is read silently wrong)."""
        meta = self.read_meta(key)
        recorded = meta.get("files")
        if meta.get("meta_digest") != _meta_digest(meta) and "meta_digest" in meta:
            raise CacheError(
                f"cache entry {self.path(key)} is damaged (meta.json changed since it was written); "
                "delete it and compute it again"
            )
        if not isinstance(recorded, dict) or "meta_digest" not in meta:
            raise CacheError(
                f"cache entry {self.path(key)} has no content digests (written by an older gxapp); "
                "delete it and compute it again"
            )
        d = self.path(key)
        for name, digest in recorded.items():
            f = d / name
            if not f.is_file() or file_digest(f) != digest:
                raise CacheError(
                    f"cache entry {d} is damaged ({name} {'is missing' if not f.is_file() else 'changed'} "
                    "since it was written); delete it and compute it again"
                )
        return meta

    def keys(self) -> list:
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir() if not p.name.startswith(".") and (p / "meta.json").is_file())

    def list(self) -> list:
        """Meta of every entry, newest first (unreadable entries skipped)."""
        out = []
        for k in self.keys():
            try:
                out.append(self.read_meta(k))
            except CacheError:
                continue
        return sorted(out, key=lambda m: m.get("created", ""), reverse=True)

    def delete(self, key: str) -> None:
        p = self.path(key)
        if p.exists():
            # rename first so a concurrent reader never sees a half-deleted entry
            trash = self.dir / f".tmp-del-{uuid.uuid4().hex}"
            os.rename(p, trash)
            shutil.rmtree(trash, ignore_errors=True)

    def sweep(self, older_than: float = STALE_TMP_SECONDS) -> int:
        """Remove ``.tmp-`` folders left by killed writers; returns how many."""
        n = 0
        if not self.dir.is_dir():
            return 0
        now = time.time()
        for p in self.dir.glob(".tmp-*"):
            try:
                if now - p.stat().st_mtime > older_than:
                    shutil.rmtree(p, ignore_errors=True)
                    n += 1
            except FileNotFoundError:
                continue
        return n


def stores(root: Optional[Path] = None) -> list:
    """Every kind of result under the cache root (uploads are files, not entries)."""
    base = Path(root if root is not None else cache_root())
    if not base.is_dir():
        return []
    return [
        Store(p.name, base)
        for p in sorted(base.iterdir())
        if p.is_dir() and p.name != "uploads" and not p.name.startswith(".")
    ]


# Where a Dask client leaves data for workers that share this filesystem (docs/scale-out.md).
EXCHANGE = ".exchange"


def exchange_dir(root: Optional[Path] = None) -> Path:
    return Path(root if root is not None else cache_root()) / EXCHANGE


def sweep_exchange(root: Optional[Path] = None, older_than: float = STALE_TMP_SECONDS) -> int:
    """Remove data files left in the exchange folder by a killed Dask client; returns how many."""
    d, n, now = exchange_dir(root), 0, time.time()
    if not d.is_dir():
        return 0
    for p in d.iterdir():
        try:
            if p.is_file() and now - p.stat().st_mtime > older_than:
                p.unlink()
                n += 1
        except FileNotFoundError:
            continue
    return n


def verify_all(root: Optional[Path] = None, delete: bool = False) -> dict:
    """Check every entry's files against their recorded digests: ``{kind: {"ok": n, "damaged":
    [(key, reason)]}}``; ``delete`` removes the damaged ones (they are recomputed when next needed)."""
    out = {}
    for st in stores(root):
        ok, damaged = 0, []
        for key in st.keys():
            try:
                st.verify(key)
                ok += 1
            except CacheError as exc:
                damaged.append((key, str(exc)))
                if delete:
                    st.delete(key)
        out[st.kind] = {"ok": ok, "damaged": damaged}
    return out

"""Checks on user uploads, before anything is parsed or written."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from gxapp.cache import bytes_digest, cache_root
from gxapp.errors import EmptyDataError, InputFormatError, UploadTooLargeError

DEFAULT_MAX_MB = int(os.environ.get("GXAPP_MAX_UPLOAD_MB", "1024"))


def check_upload(name: str, size: int, max_mb: int = DEFAULT_MAX_MB) -> None:
    """Raise if an upload is empty or larger than ``max_mb`` megabytes."""
    if size == 0:
        raise EmptyDataError(f"{name}: the uploaded file is empty")
    if size > max_mb * 1024 * 1024:
        raise UploadTooLargeError(
            f"{name}: {size / 2**20:,.1f} MB is over the {max_mb:,} MB upload limit; "
            f"give a path on the server instead (or raise GXAPP_MAX_UPLOAD_MB)"
        )


def upload_name(name: str) -> str:
    """The file name an upload is stored under: the last part of what the browser sent, so a
    name such as ``/etc/passwd`` or ``../../x.bed`` can never point outside the upload folder."""
    base = Path(str(name).replace("\\", "/")).name
    if not base or base in (".", "..") or "\x00" in base or base.startswith(".tmp-"):
        raise InputFormatError(f"upload: {name!r} is not a usable file name; rename the file and upload it again")
    return base


def save_uploads(files: dict, max_mb: int = DEFAULT_MAX_MB, root=None) -> Path:
    """Store uploaded files ``{name: bytes}`` together in one content-addressed
    folder under ``cache/uploads/`` and return it (the same bytes land in the same
    folder, so a re-upload hits the cohort cache). Each file is stored as
    :func:`upload_name` of its name; reads of an upload must go through that name too."""
    names = {}
    for name, data in files.items():
        check_upload(name, len(data), max_mb)
        safe = upload_name(name)
        if safe in names.values():
            raise InputFormatError(f"upload: two files are named {safe!r}; upload files with different names")
        names[name] = safe
    key = bytes_digest(b"".join(bytes_digest(d).encode() + names[n].encode() for n, d in sorted(files.items())))
    folder = Path(root if root is not None else cache_root()) / "uploads" / key
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        target = folder / names[name]
        if not target.exists() or target.stat().st_size != len(data):
            tmp = target.with_name(f".tmp-{uuid.uuid4().hex}-{target.name}")  # unique: concurrent uploads
            try:
                tmp.write_bytes(data)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
    return folder

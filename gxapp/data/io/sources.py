"""Raw bytes of a user's file: a path, bytes or an upload (file-like), gunzipped, with a
label for messages; shared by the text readers (gene tables and lists, GMT, variant tables)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Optional

from gxapp.errors import InputFormatError

__all__ = ["read_bytes", "decode_text", "file_suffix"]


def read_bytes(source, name: Optional[str] = None) -> tuple[bytes, str]:
    """Raw (gunzipped) bytes of a path, bytes or file-like (an upload), and a label for messages."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise InputFormatError(f"{label}: file not found; check the path")
        if path.is_dir():
            raise InputFormatError(f"{label}: is a folder, not a file; give the file inside it")
        data = path.read_bytes()
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), name or "<uploaded data>"
    elif hasattr(source, "read"):
        try:
            source.seek(0)
        except Exception:  # not seekable: read what is left
            pass
        data = source.read()
        if isinstance(data, str):
            data = data.encode("utf-8")
        label = name or getattr(source, "name", None) or "<uploaded file>"
        label = str(label)
    else:
        raise TypeError(f"expected a path or a file-like object, got {type(source).__name__}")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputFormatError(
                f"{label}: corrupt or truncated gzip file ({exc}); re-compress or upload it again"
            ) from exc
    return data, label


def decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def file_suffix(label: str) -> str:
    """Lower-case suffix of a file name, ignoring a trailing .gz (``a.tsv.gz`` -> ``.tsv``)."""
    s = str(label).lower()
    if s.endswith(".gz"):
        s = s[:-3]
    return os.path.splitext(s)[1]

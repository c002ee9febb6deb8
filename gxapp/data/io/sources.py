"""Raw bytes of a user's file: a path, bytes or an upload (file-like), gunzipped, with a
label for messages; shared by the text readers (gene tables and lists, GMT, variant tables)."""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import Optional

from gxapp.errors import InputFormatError

__all__ = ["read_bytes", "decode_text", "file_suffix", "gunzip", "MAX_EXPANDED_MB"]

# A gzip/bgzip file may expand to at most this many MB (a 300 kB file of newlines expands to 300 MB).
MAX_EXPANDED_MB = int(os.environ.get("GXAPP_MAX_EXPANDED_MB", "2048"))


def gunzip(data: bytes, label: str, max_mb: Optional[int] = None) -> bytes:
    """Decompress gzip or bgzip (several members) ``data``, stopping as soon as the output would
    pass ``max_mb`` (default ``MAX_EXPANDED_MB``); a corrupt or truncated stream is an
    :class:`InputFormatError` naming the file."""
    limit = (MAX_EXPANDED_MB if max_mb is None else max_mb) * 1024 * 1024
    out, rest = bytearray(), bytes(data)
    try:
        while rest and rest[:2] == b"\x1f\x8b":
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while True:
                out += d.decompress(rest, limit + 1 - len(out))
                if len(out) > limit:
                    raise InputFormatError(
                        f"{label}: expands to more than {limit // 2**20:,} MB when decompressed; give a smaller "
                        "file, or raise GXAPP_MAX_EXPANDED_MB"
                    )
                rest = d.unconsumed_tail
                if d.eof or not rest:
                    break
            if not d.eof:
                raise EOFError("the compressed stream ends before its end marker")
            rest = d.unused_data
    except (zlib.error, EOFError) as exc:
        raise InputFormatError(
            f"{label}: corrupt or truncated gzip file ({exc}); re-compress or upload it again"
        ) from None
    if rest.strip(b"\x00"):
        raise InputFormatError(f"{label}: unexpected data after the end of the gzip stream; re-compress it")
    return bytes(out)


def read_bytes(source, name: Optional[str] = None) -> tuple[bytes, str]:
    """Raw (gunzipped) bytes of a path, bytes or file-like (an upload), and a label for messages."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = name or str(path)
        if not path.exists():
            raise InputFormatError(f"{label}: file not found; check the path")
        if path.is_dir():
            raise InputFormatError(f"{label}: is a folder, not a file; give the file inside it")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputFormatError(f"{label}: cannot read the file ({exc.strerror or exc})") from None
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
        raise InputFormatError(
            f"{name or 'input'}: expected a file path or an uploaded file, got {type(source).__name__}"
        )
    if data[:2] == b"\x1f\x8b":
        data = gunzip(data, label)
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

"""Helpers shared by the I/O tests."""

from __future__ import annotations

import gzip
import io


def compress(data: bytes, suffix: str) -> bytes:
    """Compress ``data`` as a file ending in ``suffix`` would be (.gz, .zst, or not)."""
    if suffix == ".gz":
        return gzip.compress(data, mtime=0)
    if suffix == ".zst":
        import zstandard

        return zstandard.ZstdCompressor().compress(data)
    return data


def decompress(data: bytes, suffix: str) -> bytes:
    """Undo :func:`compress`."""
    if suffix.lower() == ".gz":
        return gzip.decompress(data)
    if suffix.lower() == ".zst":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read()
    return data

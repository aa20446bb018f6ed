"""Files at fsspec URLs (``s3://bucket/key``, ``gs://...``): open, stat, fetch, publish.

Inputs at a URL are fetched, a file at a time, into a local temporary copy by the task
that reads them (``io.ranges.local_shard``), so every reader of every format serves them as it
serves local files, and a worker on any node reads only its own shard: of a large plain
JSONL or Parquet object cut into shards, only its range (``io/ranges.py``). Outputs at a URL
are written into a local temporary folder and published file by file
(:func:`staged_folder`, :func:`staged_file`) before the task records that it is done:
on an object store one PUT makes an object visible whole or not at all, and elsewhere
the file is uploaded under a marked temporary name and moved, so no half-written file
ever shows under its own name.

The protocol's package (``s3fs`` for ``s3://``) and fsspec come with the ``s3`` extra
(``pip install 'thresher[s3]'``); credentials and the endpoint come from the protocol's
usual settings (for S3: ``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ~/.aws/...).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from thresher.errors import ConfigError
from thresher.io.atomic import TEMPORARY_MARK, temporary_name

__all__ = ["fetch", "filesystem", "info", "is_remote", "join", "local_copy",
           "one_line", "open_file", "publish", "read_bytes", "remember", "staged_file",
           "staged_folder", "version_of", "write_bytes"]

# Object stores whose PUT makes an object visible whole or not at all: a file goes
# straight to its name. Elsewhere it goes under a marked temporary name, then is moved.
_WHOLE_PUT = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"})
# What each object's size and version were when the inputs were listed: the run's
# fingerprint takes them from here rather than asking again, one object at a time.
_SEEN: dict[str, tuple[int, str]] = {}


def is_remote(path: str | os.PathLike[str]) -> bool:
    """True for an fsspec URL that thresher reads and writes through fsspec (the Hub's
    ``hf://`` inputs are fetched whole instead, by ``io/hub.py``).

    Example:
        >>> is_remote("s3://b/crawl/a.jsonl"), is_remote("crawl/a.jsonl")
        (True, False)
        >>> is_remote("hf://datasets/acme/web")
        False
    """
    text = os.fspath(path)
    return "://" in text and not text.startswith("hf://")


def join(root: str | os.PathLike[str], *parts: str) -> str:
    """A path under ``root``: a URL's joined with ``/``, a local one as the OS joins it.

    Example:
        >>> join("s3://b/out/", "kept", "a.jsonl")
        's3://b/out/kept/a.jsonl'
    """
    text = os.fspath(root)
    if is_remote(text):
        return "/".join((text.rstrip("/"), *parts))
    return str(Path(text, *parts))


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec file system of ``url`` and the path inside it; a :class:`ConfigError`
    names the extra when fsspec or the protocol's package is missing."""
    try:
        import fsspec
    except ImportError:
        raise ConfigError(f"{url}: paths at URLs need fsspec: pip install 'thresher[s3]'"
                          ) from None
    try:
        # no listing cache: other processes (the workers) write where this one lists
        fs, path = fsspec.core.url_to_fs(url, use_listings_cache=False)
    except ImportError as exc:
        raise ConfigError(f"{url}: this protocol needs its fsspec package "
                          f"(s3://: pip install 'thresher[s3]'): {one_line(exc)}") from None
    except ValueError as exc:
        raise ConfigError(f"{url}: not a URL fsspec can open: {one_line(exc)}") from None
    return fs, str(path).rstrip("/")


def one_line(exc: BaseException) -> str:
    """An exception as one line of text."""
    return " ".join(str(exc).split()) or type(exc).__name__


def version_of(detail: dict[str, Any]) -> str:
    """What changes when an object is rewritten: its ETag, else its modification time."""
    for key in ("ETag", "etag", "md5Hash", "mtime", "LastModified", "last_modified",
                "created"):
        if detail.get(key) is not None:
            return str(detail[key]).strip('"')
    return ""


def remember(url: str, detail: dict[str, Any]) -> None:
    """Keep an object's size and version, as a listing returned them."""
    _SEEN[url] = (int(detail.get("size") or 0), version_of(detail))


def info(url: str) -> tuple[int, str]:
    """An input object's size and version (its ETag or modification time)."""
    if url not in _SEEN:
        fs, path = filesystem(url)
        try:
            remember(url, fs.info(path))
        except FileNotFoundError:
            raise ConfigError(f"input {url} does not exist") from None
    return _SEEN[url]


def read_bytes(url: str) -> bytes:
    """The whole of a small object (a marker, a summary, a listing)."""
    fs, path = filesystem(url)
    return bytes(fs.cat_file(path))


@contextmanager
def open_file(url: str, mode: str = "rb") -> Iterator[IO[Any]]:
    """An open object, a local file or one at a URL, for reading."""
    if not is_remote(url):
        with open(url, mode) as fh:
            yield fh
        return
    fs, path = filesystem(url)
    with fs.open(path, mode) as fh:
        yield fh


def publish(local: str, url: str) -> None:
    """Upload the finished local file ``local`` to ``url``, visible whole or not at all."""
    fs, path = filesystem(url)
    protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
    parent = path.rsplit("/", 1)[0]
    if parent:
        fs.makedirs(parent, exist_ok=True)
    if protocols & _WHOLE_PUT:
        fs.put_file(local, path)
        return
    tmp = temporary_name(path)
    fs.put_file(local, tmp)
    fs.mv(tmp, path)


def write_bytes(url: str, data: bytes) -> None:
    """Write a small object whole (through a local temporary file, as :func:`publish`)."""
    with staged_file(url) as local, open(local, "wb") as fh:
        fh.write(data)


@contextmanager
def staged_file(target: str) -> Iterator[str]:
    """Yield where to write ``target``: itself when local; for a URL a local temporary
    file, published to the URL when the block succeeds."""
    if not is_remote(target):
        yield target
        return
    folder = tempfile.mkdtemp(prefix="thresher-out-")
    try:
        local = os.path.join(folder, target.rstrip("/").rsplit("/", 1)[-1])
        yield local
        publish(local, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def staged_folder(target: str) -> Iterator[str]:
    """Yield where to write the folder ``target``: itself when local; for a URL a local
    temporary folder whose files are published under the URL, each by its relative
    path, when the block succeeds (the temporaries a writer left are not)."""
    if not is_remote(target):
        yield target
        return
    folder = tempfile.mkdtemp(prefix="thresher-out-")
    try:
        yield folder
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                if TEMPORARY_MARK in name:
                    continue
                local = os.path.join(root, name)
                rel = os.path.relpath(local, folder).replace(os.sep, "/")
                publish(local, join(target, rel))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def fetch(url: str, local: str) -> None:
    """Copy the object ``url`` to the local file ``local``; a missing or unreadable
    object is a :class:`ConfigError` naming the URL in one line."""
    fs, path = filesystem(url)
    try:
        fs.get_file(path, local)
    except FileNotFoundError:
        raise ConfigError(f"input {url} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"input {url}: cannot read it: {one_line(exc)}") from None


@contextmanager
def local_copy(path: str) -> Iterator[str]:
    """``path`` itself when local; for a URL a local temporary copy named as the object
    is (a reader finds the format by name), removed after the block."""
    if not is_remote(path):
        yield path
        return
    folder = tempfile.mkdtemp(prefix="thresher-in-")
    try:
        local = os.path.join(folder, path.rstrip("/").rsplit("/", 1)[-1])
        fetch(path, local)
        yield local
    finally:
        shutil.rmtree(folder, ignore_errors=True)

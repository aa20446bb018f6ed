"""Inputs named other than by a local path: URLs, globs, and listing files.

* ``s3://bucket/crawl/`` (a prefix): every object under it that thresher reads, as a
  local folder's files are found;
* ``s3://bucket/crawl/*.warc.wet.gz`` (``*``, ``?``, ``[...]``; ``**`` for any depth):
  the objects that match;
* ``s3://bucket/crawl/part-0.jsonl.gz``: one object;
* ``crawl/*.jsonl.gz``: a local glob that the shell left unexpanded (quoted, or from a
  config file), the local files that match; a path that exists is never a glob;
* ``@paths.txt`` (a local file or a URL, plain or ``.gz``): the files and URLs it lists,
  one a line, like Common Crawl's ``wet.paths.gz``. Blank lines and lines starting with
  ``#`` are passed over; a relative line is taken relative to the listing's folder.

The files found are named, in ids and under ``kept/``, by their path below the folder
they share: the prefix, the glob's folder (the part before its first wildcard), or the
deepest folder holding every listed file. So a run on ``s3://b/crawl/`` and a run on a
local copy of it name every record alike.
"""

from __future__ import annotations

import glob
import gzip
import logging
import os
import posixpath
from pathlib import Path
from typing import Any

from thresher.errors import ConfigError
from thresher.io import remote
from thresher.io.sources import FORMATS, glob_root, kind_of, local_glob

__all__ = ["LIST_MARK", "expand"]

log = logging.getLogger(__name__)

LIST_MARK = "@"


def expand(given: str) -> tuple[list[tuple[str, str]], bool] | None:
    """The files of an input at a URL or a listing, as ``(location, name)`` sorted by
    name, and whether it stands for a folder; None for a local path (``sources``
    finds its files). A :class:`ConfigError` says in one line what is wrong."""
    if given.startswith(LIST_MARK):
        return _listed(given[len(LIST_MARK):]), True
    if not remote.is_remote(given):
        return (_local_globbed(given), True) if local_glob(given) else None
    fs, path = remote.filesystem(given)
    try:
        if glob_root(path) is not None:
            return _globbed(fs, given, path), True
        if not fs.exists(path):
            raise ConfigError(f"input {given} does not exist")
        if fs.isdir(path):
            return _under(fs, given, path), True
        if kind_of(path) is None:
            raise ConfigError(f"{given}: unknown input format; thresher reads {FORMATS}")
        remote.remember(given, fs.info(path))
        return [(given, path.rsplit("/", 1)[-1])], False
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - auth, network, no such bucket: one line
        raise ConfigError(f"input {given}: cannot list it: {remote.one_line(exc)}") from None


def _found(fs: Any, given: str, details: dict[str, dict[str, Any]], *, root: str
           ) -> list[tuple[str, str]]:
    """The files among ``details`` (path -> fsspec detail) that thresher reads, named
    by their path below ``root``."""
    out = []
    for path, detail in details.items():
        if detail.get("type") == "directory" or kind_of(path) is None:
            continue
        url = fs.unstrip_protocol(path)
        remote.remember(url, detail)
        out.append((url, posixpath.relpath(path, root)))
    if not out:
        raise ConfigError(f"no input files in {given}: thresher reads {FORMATS}")
    return sorted(out, key=lambda item: item[1])


def _under(fs: Any, given: str, path: str) -> list[tuple[str, str]]:
    details = fs.find(path, detail=True)
    return _found(fs, given, details, root=path)


def _globbed(fs: Any, given: str, path: str) -> list[tuple[str, str]]:
    details = fs.glob(path, detail=True)
    return _found(fs, given, details, root=glob_root(path) or "")


def _local_globbed(given: str) -> list[tuple[str, str]]:
    """The local files a glob matches, named by their path below the glob's folder."""
    root = glob_root(given) or "."
    matched = [p for p in glob.glob(given, recursive=True) if os.path.isfile(p)]
    if not matched:
        raise ConfigError(f"input {given} matches no file")
    found = [(p, os.path.relpath(p, root).replace(os.sep, "/")) for p in matched
             if kind_of(p) is not None]
    if not found:
        raise ConfigError(f"no input files in {given}: thresher reads {FORMATS}")
    return sorted(found, key=lambda item: item[1])


def _lines(listing: str) -> list[str]:
    try:
        data = (remote.read_bytes(listing) if remote.is_remote(listing)
                else Path(listing).read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"listing {listing} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"listing {listing}: cannot read it: {remote.one_line(exc)}") from None
    if listing.lower().endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ConfigError(f"listing {listing}: {remote.one_line(exc)}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"listing {listing} is not UTF-8 text") from None
    return [s for s in (line.strip() for line in text.splitlines())
            if s and not s.startswith("#")]


def _resolve(line: str, listing: str) -> str:
    if "://" in line or os.path.isabs(line):
        return line
    if remote.is_remote(listing):
        return remote.join(listing.rsplit("/", 1)[0], line)
    return os.path.join(os.path.dirname(os.path.abspath(listing)), line)


def _listed(listing: str) -> list[tuple[str, str]]:
    """The files a listing names, each checked, named below the folder they share."""
    entries = [_resolve(line, listing) for line in _lines(listing)]
    if not entries:
        raise ConfigError(f"listing {listing} names no input")
    for entry in entries:
        if not remote.is_remote(entry) and os.path.isdir(entry):
            raise ConfigError(f"{entry} (in {listing}) is a folder: a listing names files "
                              "and URLs; give a folder as an input of its own")
        if kind_of(entry) is None:
            raise ConfigError(f"{entry} (in {listing}): unknown input format; thresher "
                              f"reads {FORMATS}")
        if remote.is_remote(entry):
            continue
        if not os.path.isfile(entry):
            raise ConfigError(f"input {entry} (in {listing}) does not exist")
    _stat_remote([e for e in entries if remote.is_remote(e)])
    root = posixpath.commonpath([_split(e)[1] for e in entries]) if len(entries) > 1 else (
        posixpath.dirname(_split(entries[0])[1]))
    named = [(e, posixpath.relpath(_split(e)[1], root)) for e in entries]
    names = [n for _, n in named]
    if len(set(names)) < len(names):
        raise ConfigError(f"listing {listing} names a file twice")
    return sorted(named, key=lambda item: item[1])


def _split(entry: str) -> tuple[str, str]:
    """An entry's scheme and path (its bucket included), to find the folder they share."""
    if "://" in entry:
        scheme, _, path = entry.partition("://")
        return scheme, "/" + path
    return "", entry.replace(os.sep, "/")


def _stat_remote(urls: list[str]) -> None:
    """Check the listed objects exist, taking their sizes and versions a folder at a
    time (one listing a folder, not one request an object)."""
    folders: dict[str, list[str]] = {}
    for url in urls:
        folders.setdefault(url.rsplit("/", 1)[0], []).append(url)
    for folder, members in folders.items():
        fs, path = remote.filesystem(folder)
        try:
            details = {fs.unstrip_protocol(d["name"]): d
                       for d in fs.ls(path, detail=True)}
        except FileNotFoundError:
            details = {}
        except Exception as exc:  # noqa: BLE001 - auth, network, no such bucket: one line
            raise ConfigError(f"input {members[0]}: cannot list {folder}: "
                              f"{remote.one_line(exc)}") from None
        for url in members:
            if url not in details:
                raise ConfigError(f"input {url} does not exist")
            remote.remember(url, details[url])

"""The index's segments as the workers of a run held at a URL read them.

A run whose work folder is a URL (an object store, for a cluster whose nodes share no
file system) cannot expect the index folder on every node: only the driver holds it.
So the driver copies what the workers read of each segment the run matches against
into the work folder, once per run (:func:`ship`), and hands the tasks that folder's
URL instead of the index path. A worker copies each segment it needs once into a
folder of its node's own (:func:`fetched`), then memory-maps it as it would the index's:
a segment never changes once listed, and every copy is kept under a name made for it
when it was shipped, so a copy on a node is never stale. Each run ships under new names,
so a node drops the copies that no task has used for :data:`KEEP_UNUSED_S` whenever it
makes a new one: a node that serves run after run does not fill its disk. A local work
folder changes nothing: the tasks read the index folder itself, as they always did.

Layout, under the work folder::

    probe/segments/seg-NNNNNN/   the segment's arrays, as in the index (not docs.parquet:
                                 only the driver reads the documents' ids)
        shipped.json             written last: where the copy came from, its name on the
                                 nodes, and its files
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from thresher.errors import ConfigError
from thresher.io import remote

__all__ = ["KEEP_UNUSED_S", "SHIPPED", "cache_root", "fetched", "ship"]

SHIPPED = ("probe", "segments")  # where, in the work folder, the copies go
_LISTING = "shipped.json"
_DRIVER_ONLY = frozenset({"docs.parquet"})  # read by the driver alone (ids, urls)
_COPY_NAME = re.compile(r"[0-9a-f]{32}")
_FILE_NAME = re.compile(r"[A-Za-z0-9_]+\.npy")
# A day: longer than any task, and a copy a task uses is touched each time it is asked for,
# so only the copies of finished runs (or of attempts that died) are that old.
KEEP_UNUSED_S = 24 * 3600

Entries = tuple[tuple[str, int, int, int], ...]  # (name, batch, documents, first)


def ship(index: str | Path, entries: Entries, work: Any) -> str:
    """Where the tasks of a run in ``work`` (a ``WorkDir``) read the index's ``entries``
    from: the index folder itself for a local work folder; else the work folder's copy of
    them, made here unless an earlier attempt of the run already made it."""
    if not work.url:
        return str(index)
    target = remote.join(str(work.root), *SHIPPED)
    fs, base = remote.filesystem(target)
    for name, batch, docs, _ in entries:
        folder = Path(index) / "segments" / name
        source = {"index": str(Path(index).absolute()), "name": name, "batch": batch,
                  "docs": docs}
        if _listing(fs, f"{base}/{name}").get("source") == source:
            continue  # shipped by an earlier attempt of this run
        files = sorted(p.name for p in folder.iterdir()
                       if p.is_file() and p.name not in _DRIVER_ONLY)
        fs.makedirs(f"{base}/{name}", exist_ok=True)
        fs.put([str(folder / f) for f in files], [f"{base}/{name}/{f}" for f in files])
        listing = {"source": source, "copy": uuid.uuid4().hex, "files": files}
        fs.pipe_file(f"{base}/{name}/{_LISTING}", json.dumps(listing).encode())
    return target


def _listing(fs: Any, at: str) -> dict[str, Any]:
    """A shipped segment's listing ({} where none was written, or it cannot be read)."""
    try:
        data = json.loads(fs.cat_file(f"{at}/{_LISTING}"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cache_root() -> Path:
    """The node's folder of segment copies (under the temporary folder: ``TMPDIR``)."""
    return Path(tempfile.gettempdir()) / "thresher-segments"


def fetched(url: str, name: str) -> Path:
    """The local folder of this node's copy of segment ``name``, shipped under ``url``
    (copied here first if this node has none)."""
    fs, base = remote.filesystem(url)
    listing = _listing(fs, f"{base}/{name}")
    copy, files = listing.get("copy"), listing.get("files")
    if (not isinstance(copy, str) or _COPY_NAME.fullmatch(copy) is None
            or not isinstance(files, list)
            or not all(isinstance(f, str) and _FILE_NAME.fullmatch(f) for f in files)):
        raise ConfigError(f"{url}/{name}: no segment shipped there for this run's tasks")
    root = cache_root()
    target = root / copy
    if target.is_dir():
        os.utime(target)  # in use: kept by the next node's pruning
        return target
    root.mkdir(parents=True, exist_ok=True)
    _prune(root, older_than=time.time() - KEEP_UNUSED_S)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        fs.get([f"{base}/{name}/{f}" for f in files], [str(tmp / f) for f in files])
        try:
            os.rename(tmp, target)  # whole or not at all: the others see a finished copy
        except OSError:
            if not target.is_dir():  # else another task of this node was first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _prune(root: Path, *, older_than: float) -> None:
    """Delete the copies (and half-made copies) under ``root`` last used before
    ``older_than``. Only folders named as this module names them are touched: the cache
    folder is this module's, but a user may have put something else there. A task that
    still has a pruned copy's files mapped keeps reading them (the inodes live on)."""
    for entry in root.iterdir():
        named = (_COPY_NAME.fullmatch(entry.name) is not None
                 or entry.name.startswith(".tmp-"))
        try:
            stale = named and entry.is_dir() and entry.stat().st_mtime < older_than
        except OSError:
            continue  # gone already: another task of this node pruned it
        if stale:
            shutil.rmtree(entry, ignore_errors=True)

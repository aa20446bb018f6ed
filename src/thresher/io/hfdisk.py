"""Hugging Face ``datasets`` save_to_disk folders, read and written without ``datasets``.

``Dataset.save_to_disk(folder)`` writes the rows as Arrow IPC streams
(``data-00000-of-00002.arrow``, ...), the features in ``dataset_info.json`` and, in
``state.json``, which files hold the rows and in what order (``_data_files``) and the
dataset's ``_fingerprint``. A ``DatasetDict`` puts one such folder per split under a
folder whose ``dataset_dict.json`` names the splits. ``load_from_disk`` reads the data
files that ``state.json`` lists, in its order, and nothing else.

thresher reads the listed files as Arrow inputs (:mod:`thresher.io.arrow`) and writes the
kept rows of each in the same format and place under ``kept/``; :func:`finish_saved` then
writes the state files beside them, so that ``load_from_disk(OUT/kept)`` gives the kept
rows, in the input's order, with the input's features.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import xxhash

from thresher.io.atomic import atomic_path, write_atomically


class SavedShard(Protocol):
    """What :func:`finish_saved` reads of a shard (``io.sources.Shard`` has it)."""

    @property
    def dataset(self) -> bool: ...
    @property
    def prefix(self) -> str: ...
    @property
    def names(self) -> tuple[str, ...]: ...
    @property
    def files(self) -> tuple[str, ...]: ...

__all__ = ["finish_saved", "listed_files"]

log = logging.getLogger(__name__)

STATE, INFO, SPLITS = "state.json", "dataset_info.json", "dataset_dict.json"
# What dataset_info.json says of the sizes of the rows: no longer true of the kept ones.
_SIZES = ("splits", "dataset_size", "size_in_bytes")


def _json(path: str | Path) -> Any:
    try:
        return json.loads(Path(path).read_bytes())
    except (OSError, ValueError):
        return None


def listed_files(folder: str | Path) -> list[str] | None:
    """The data files that the save_to_disk folder ``folder`` lists, in order; ``None``
    where ``folder`` holds no ``state.json`` of that shape.

    Example:
        >>> listed_files("/nonexistent") is None
        True
    """
    state = _json(os.path.join(folder, STATE))
    files = state.get("_data_files") if isinstance(state, dict) else None
    if not isinstance(files, list):
        return None
    names = [f.get("filename") if isinstance(f, dict) else None for f in files]
    if not all(isinstance(n, str) and n and "/" not in n and "\\" not in n for n in names):
        return None  # not a layout this module knows: the folder is read as plain files
    return [str(n) for n in names]


def _dump(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def _fingerprint(old: object, kept: str, files: list[str]) -> str:
    """A new fingerprint for the kept rows: of the old one and the kept files' bytes, as
    ``datasets`` derives a transformed dataset's from its parent's (so cached results
    of the input's transforms are never taken for the kept rows')."""
    h = xxhash.xxh3_64(str(old).encode())
    for name in files:
        with open(os.path.join(kept, name), "rb") as fh:
            while block := fh.read(1 << 24):
                h.update(block)
    return h.hexdigest()


def _write_empty(source: str, first: str, target: str) -> bool:
    """Write ``target``: no rows, the schema of ``source``'s first data file (a dataset
    none of whose rows is kept is still one ``load_from_disk`` reads)."""
    from thresher.io.arrow import write_empty

    try:
        with atomic_path(target) as tmp:
            write_empty(os.path.join(source, first), tmp)
    except Exception as exc:  # noqa: BLE001 - any pyarrow failure: the read stage said why
        log.warning("thresher: no kept dataset for %s: %s", source, exc)
        return False
    return True


def _write_state(source: str, kept: str) -> bool:
    """Write the state files of the kept folder ``kept`` of the dataset at ``source``."""
    listed = listed_files(source) or []
    files = [n for n in listed if os.path.exists(os.path.join(kept, n))]
    if not files and listed:
        if not _write_empty(source, listed[0], os.path.join(kept, listed[0])):
            return False
        files = listed[:1]
    state = _json(os.path.join(source, STATE))
    state["_data_files"] = [{"filename": n} for n in files]
    state["_fingerprint"] = _fingerprint(state.get("_fingerprint"), kept, files)
    write_atomically(os.path.join(kept, STATE), _dump(state))
    info = _json(os.path.join(source, INFO))
    if isinstance(info, dict):
        write_atomically(os.path.join(kept, INFO),
                         _dump({k: v for k, v in info.items() if k not in _SIZES}))
    return True


def _write_splits(source: str, kept: str, written: set[str]) -> None:
    """Write ``dataset_dict.json`` in ``kept`` naming the splits written there, as the
    one in ``source`` names them."""
    splits = _json(os.path.join(source, SPLITS))
    if not isinstance(splits, dict) or not isinstance(splits.get("splits"), list):
        return
    here = [s for s in splits["splits"] if os.path.join(kept, str(s)) in written]
    if here:
        write_atomically(os.path.join(kept, SPLITS), _dump({**splits, "splits": here}))


def finish_saved(shards: Sequence[SavedShard], root: str) -> int:
    """Make each save_to_disk folder among the inputs a save_to_disk folder under
    ``root`` too: write its ``state.json`` (the kept data files) and ``dataset_info.json``
    beside the kept rows, and a ``DatasetDict``'s ``dataset_dict.json`` above its splits.
    Run after the kept rows are written; writes the same bytes when run again.

    Returns how many datasets were written.
    """
    folders: dict[str, str] = {}  # kept folder -> source folder
    parents: dict[str, str] = {}  # the same, for a folder above splits inside an input
    for s in shards:
        if s.dataset:
            inner = posixpath.dirname(s.prefix + s.names[0])
            kept = os.path.join(root, inner)
            folders.setdefault(kept, os.path.dirname(s.files[0]))
            if posixpath.dirname(s.names[0]):  # the folder above is inside the input
                parents.setdefault(os.path.dirname(kept), os.path.dirname(folders[kept]))
    written = {kept for kept, source in folders.items() if _write_state(source, kept)}
    for kept, source in parents.items():
        _write_splits(source, kept, written)
    return len(written)

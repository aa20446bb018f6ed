"""Files written whole or not at all: under a marked temporary name, then renamed.

A killed run leaves only marked names half-written; a resumed run removes them (see
:func:`remove_temporaries`). No input file is likely to carry the mark, and thresher
removes no other name it finds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TEMPORARY_MARK", "atomic_path", "remove_temporaries", "temporary_name",
           "write_atomically"]

TEMPORARY_MARK = ".thresher-tmp-"


def temporary_name(target: str | os.PathLike[str]) -> str:
    """The name ``target`` is written under until it is complete."""
    return f"{os.fspath(target)}{TEMPORARY_MARK}{os.getpid()}"


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a temporary path to write; move it to ``target`` if the block succeeds."""
    os.makedirs(os.path.dirname(os.fspath(target)) or ".", exist_ok=True)
    tmp = temporary_name(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_atomically(target: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``target`` whole or not at all."""
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)


def remove_temporaries(folder: Path, *, skip: tuple[Path, ...] = ()) -> int:
    """Remove the temporary files a killed run left under ``folder`` (not descending
    into ``skip``); return how many."""
    removed = 0
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if Path(root, d) not in skip]
        for name in files:
            if TEMPORARY_MARK in name:
                Path(root, name).unlink(missing_ok=True)
                removed += 1
    return removed

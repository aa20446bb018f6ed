"""How a CLI run ends badly: one line on stderr and an exit code, never a traceback.

Exit codes (``docs/cli.md``): 0 success; 1 an error (a bad option or config file, unusable
input, a full disk, a dead worker); 2 a usage error (click's); 3 every record was rejected;
4 the inputs hold no records.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import click

__all__ = ["EXIT_ALL_REJECTED", "EXIT_NO_RECORDS", "Failure", "disk_full", "nothing_read"]

EXIT_ALL_REJECTED = 3
EXIT_NO_RECORDS = 4
_FULL = {errno.ENOSPC: os.strerror(errno.ENOSPC), errno.EDQUOT: os.strerror(errno.EDQUOT)}


class Failure(click.ClickException):
    """One ``Error:`` line on stderr and exit code 1."""


class AllRejected(Failure):
    """Every record was rejected."""

    exit_code = EXIT_ALL_REJECTED


class NoRecords(Failure):
    """The inputs hold no records."""

    exit_code = EXIT_NO_RECORDS


def nothing_read(summary: dict[str, Any]) -> Failure | None:
    """The failure of a run that kept nothing because nothing could be read, if it is one."""
    c = summary["counts"]
    if c["kept"] + c["duplicate"] > 0:
        return None
    if c["rejected"] == 0:
        return NoRecords("the inputs hold no records: nothing to deduplicate")
    reason, count = next(iter(summary["rejected_by_reason"].items()), ("", 0))
    examples = summary["rejected_examples"]
    most = f", {count:,} for {reason}" if reason else ""
    example = f" (e.g. {examples[0]})" if examples else ""
    return AllRejected(f"nothing could be read: all {c['rejected']:,} records were rejected"
                       f"{most}{example}")


def _full_disk_error(exc: BaseException | None) -> OSError | None:
    """The out-of-space error in ``exc`` or the exceptions it was raised from, if any."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and (
                exc.errno in _FULL or any(text in str(exc) for text in _FULL.values())):
            return exc  # pyarrow says it in the message only: "... [errno 28] No space ..."
        exc = exc.__cause__ or exc.__context__
    return None


def _under(name: str, folder: str | Path) -> bool:
    return Path(name).absolute().is_relative_to(Path(folder).absolute())


def disk_full(exc: BaseException, output: Path, work_dir: str | None) -> Failure | None:
    """The one-line failure for ``exc`` if it (or its cause) is a full disk or quota."""
    full = _full_disk_error(exc)
    if full is None:
        return None
    what = _FULL.get(full.errno or 0) or next(t for t in _FULL.values() if t in str(full))
    out = Path(output).absolute()
    work = work_dir or str(out / "_work")
    name = str(full.filename or "")
    if name and _under(name, work):
        where = f"the work folder {work}"
    elif (name and _under(name, out)) or work_dir is None:  # the default work folder is in it
        where = f"the output folder {out}"
    else:
        where = f"the output folder {out} or the work folder {work}"
    return Failure(f"{what.lower()}: {where} filled up"
                   + (f" (writing {name})" if name else "")
                   + "; free some space and rerun the same command to resume")

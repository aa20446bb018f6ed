"""The output folder: what a run may write, trust and delete there.

::

    OUT/.thresher-run.json   which run the outputs belong to, and whether it finished
    OUT/.thresher.lock       held (flock) while a run writes the folder
    OUT/kept/, annotated/, decisions.parquet, pairs.parquet, summary.json,
    OUT/boilerplate.parquet, report.html, sweep.html, _work/
    OUT/.thresher-stdin.jsonl  with the input ``-``: standard input, spooled while it runs

A folder is thresher's once it holds ``.thresher-run.json``; thresher writes into an
empty or new folder, or into its own, and never into one holding anything else. It
deletes only the names above, and the marked temporaries of its own killed runs. The
outputs of a finished run are replaced only with ``overwrite``: a run with the same
options and inputs finds them done and does nothing.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO, Any

from thresher.errors import ConfigError
from thresher.io.atomic import remove_temporaries, write_atomically
from thresher.io.sources import glob_root, local_glob

__all__ = ["OUTPUTS", "STDIN", "OutputDir", "check_apart", "finished_same", "identity_of",
           "spool_stdin"]

MARKER = ".thresher-run.json"
LOCK = ".thresher.lock"
# Standard input (the input "-") copied to a file: the stages read their inputs more than
# once (the write stage copies kept lines), and workers read them in other processes.
STDIN = ".thresher-stdin.jsonl"
# What a run writes in its output folder (and so may delete there).
OUTPUTS = ("kept", "annotated", "decisions.parquet", "pairs.parquet", "summary.json",
           "boilerplate.parquet", "report.html", "sweep.html")


def identity_of(data: Any) -> str:
    """A short hash of JSON-able ``data``: what a run's marker records of its fingerprint."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _real(path: str | Path) -> Path:
    """The path with every link followed (a link loop is left as it stands, not raised)."""
    return Path(os.path.realpath(path))


def _local(work: str | None) -> str | None:
    """A work folder's local path (``file://`` URLs included), or None for a remote one."""
    if work is not None and work.startswith("file://"):
        return work[len("file://"):]
    return None if work is None or "://" in work else work


def _named(folder: str | Path, what: str) -> None:
    try:
        str(folder).encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigError(f"the {what} name {str(folder)!r} is not UTF-8: choose another "
                          "name") from None


def check_apart(inputs: tuple[str, ...], *, output: Path, work: str | None) -> None:
    """Refuse an output or work folder that holds an input or lies inside one, or that
    lies inside the other where a run writes or clears: a run clears its folders, and
    must never touch what it reads or what the other folder holds."""
    _named(output, "output folder")
    if work is not None:
        _named(work, "work folder")
    folders = _folders(output, work)
    local = _local(work)
    if local is not None:
        _check_work_place(folders[1][1], folders[0][1], local)
    for given in inputs:
        if given == "-" or "://" in given or given.startswith("@"):
            continue  # a listing's local files are checked once found (check_found)
        if local_glob(given):
            if "**" not in given:
                continue  # a glob's files are checked once found (check_found)
            # a glob of any depth would find a later run's outputs in a folder under it
            given = glob_root(given) or "."
        _check_input(given, _real(given), folders)


def _folders(output: Path, work: str | None) -> list[tuple[str, Path]]:
    """The output folder and the local work folder (its default place when remote or not
    given), links followed."""
    return [("output folder", _real(output)),
            ("work folder", _real(_local(work) or output / "_work"))]


def _check_work_place(work: Path, out: Path, given: str) -> None:
    if work == out or out.is_relative_to(work):
        raise ConfigError(f"work folder {given} is or holds the output folder {out}: choose "
                          "another --work-dir")
    if work.is_relative_to(out):
        top = work.relative_to(out).parts[0]
        if top in OUTPUTS or top.startswith(".thresher"):
            raise ConfigError(f"work folder {given} is inside {out / top}, which a run "
                              "writes: choose another --work-dir")


def _check_input(given: str, path: Path, folders: list[tuple[str, Path]]) -> None:
    for what, folder in folders:
        if path == folder or path.is_relative_to(folder):
            raise ConfigError(f"input {given} is inside the {what} {folder}, which a run "
                              "clears: choose a folder apart from the inputs")
        if folder.is_relative_to(path):
            raise ConfigError(f"the {what} {folder} is inside input {given}: choose a "
                              "folder apart from the inputs")


def check_found(files: list[str], *, output: Path, work: str | None) -> None:
    """Refuse input files found inside the inputs (through links) that are in the output
    or work folder. Only an existing folder can hold them, so new folders cost nothing."""
    folders = [(what, folder) for what, folder in _folders(output, work) if folder.exists()]
    if not folders:
        return
    for name in files:
        _check_input(name, _real(name), folders)


class OutputDir:
    """A run's claim on its output folder, from the checks to the finish."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock: IO[bytes] | None = None

    def claim(self) -> dict[str, Any] | None:
        """Check the folder is thresher's to write and lock it; return what its marker
        says of the run whose outputs it holds (None for a new or empty folder)."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"output {self.root} exists and is not a folder")
        marker = self._marker()
        linked = [name for name in (*OUTPUTS, "_work") if (self.root / name).is_symlink()]
        if linked:
            raise ConfigError(f"{self.root / linked[0]} is a link: thresher writes its "
                              "outputs only into real folders it made; remove the link")
        if marker is None and self.root.is_dir():
            foreign = sorted(p.name for p in self.root.iterdir()
                             if not p.name.startswith(".thresher"))
            if foreign:
                raise ConfigError(f"output folder {self.root} holds files thresher did not "
                                  f"write ({', '.join(foreign[:3])}); choose an empty folder")
        self.root.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        return marker

    def _marker(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.root / MARKER).read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _take_lock(self) -> None:
        self._lock = open(self.root / LOCK, "ab")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.release()
            raise ConfigError(f"another thresher run is writing {self.root}; wait for it "
                              "or choose another folder") from None

    def begin(self, identity: dict[str, Any], *, fresh: bool) -> None:
        """Mark the folder as this run's, unfinished; with ``fresh``, delete an earlier
        run's outputs. Temporaries of a killed attempt go either way."""
        write_atomically(self.root / MARKER, _encode({**identity, "finished": False}))
        if fresh:
            self.clear()
        remove_temporaries(self.root, skip=(self.root / "_work",))

    def clear(self) -> None:
        """Delete the outputs a run writes (and nothing else)."""
        for name in OUTPUTS:
            path = self.root / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)

    def finish(self, identity: dict[str, Any]) -> None:
        """Record that the outputs are complete (after summary.json is written).

        What a task lost mid-write left (its node died; another ran it again) goes first.
        """
        remove_temporaries(self.root, skip=(self.root / "_work",))
        write_atomically(self.root / MARKER, _encode({**identity, "finished": True}))

    def summary(self) -> dict[str, Any] | None:
        """The finished run's summary, or None if it cannot be read."""
        try:
            data = json.loads((self.root / "summary.json").read_bytes())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def release(self) -> None:
        """Let other runs write the folder."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def spool_stdin(root: Path, source: IO[bytes] | None = None) -> str:
    """Copy standard input (or ``source``) to ``root/STDIN``; return its SHA-256, which
    stands for its modification time in the run's fingerprint: the same input piped
    again is the same run (it resumes, or is found done), other input is another."""
    import sys

    if source is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise ConfigError("input - reads JSONL from standard input, which is a terminal "
                              "here: pipe the records in (... | thresher dedup - -o OUT)")
        source = sys.stdin.buffer
    digest = hashlib.sha256()
    with open(root / STDIN, "wb") as fh:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
            fh.write(chunk)
    return digest.hexdigest()


def _encode(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def finished_same(marker: dict[str, Any] | None, identity: dict[str, Any]) -> bool:
    """Whether the folder's outputs are a finished run of this very identity."""
    return bool(marker and marker.get("finished") and marker.get("run") == identity["run"])


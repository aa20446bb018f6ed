"""An output folder at an fsspec URL (``-o s3://bucket/run``): the claim of ``outdir.py``
kept through fsspec.

The same rules as a local folder's: the folder is thresher's once it holds
``.thresher-run.json``; a run writes into a new or empty folder (an object-store
"folder" with no object under it), or into its own, and deletes there only the names
it writes (``OUTPUTS``). Each output file is published whole by the task that wrote it
(``io/remote.py``) before the task is marked done in the work folder, and the marker
says ``finished`` only after ``summary.json`` is there: a reader who waits for it never
sees a half-written run, and a run started again resumes from the work folder.

An object store has no lock: two runs must not write one output URL at once.
"""

from __future__ import annotations

import json
from typing import Any

from thresher.errors import ConfigError
from thresher.io import remote
from thresher.io.atomic import TEMPORARY_MARK
from thresher.pipeline.outdir import MARKER, OUTPUTS

__all__ = ["RemoteOutputDir", "check_apart_remote"]


def _encode(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def _inside(path: str, folder: str) -> bool:
    path, folder = path.rstrip("/"), folder.rstrip("/")
    return path == folder or path.startswith(folder + "/")


def check_apart_remote(inputs: tuple[str, ...], *, output: str, work: str | None) -> None:
    """Refuse an output or work URL that holds an input URL or lies inside one, and a
    work URL inside the outputs a run writes (the URL counterpart of
    ``outdir.check_apart``; wildcards and listings are checked by their fixed part)."""
    folders = [("output folder", output), ("work folder", work or remote.join(output,
                                                                           "_work"))]
    if work is not None and remote.is_remote(work):
        if _inside(output, work):
            raise ConfigError(f"work folder {work} is or holds the output folder {output}: "
                              "choose another --work-dir")
        for name in OUTPUTS:
            if _inside(work, remote.join(output, name)):
                raise ConfigError(f"work folder {work} is inside {remote.join(output, name)}"
                                  ", which a run writes: choose another --work-dir")
    for given in inputs:
        fixed = given.removeprefix("@").split("*")[0].split("?")[0].split("[")[0]
        if not remote.is_remote(fixed):
            continue
        for what, folder in folders:
            if not remote.is_remote(folder):
                continue
            if _inside(fixed, folder) or _inside(folder, fixed.rstrip("/")):
                raise ConfigError(f"input {given} and the {what} {folder} overlap: choose "
                                  "a folder apart from the inputs")


class RemoteOutputDir:
    """A run's claim on an output folder at a URL, from the checks to the finish."""

    def __init__(self, root: str) -> None:
        self.root = root.rstrip("/")
        self.fs, self._base = remote.filesystem(self.root)

    def _names(self) -> list[str]:
        """The names directly under the folder ([] if it holds nothing yet)."""
        try:
            listed = self.fs.ls(self._base, detail=False)
        except FileNotFoundError:
            return []
        return [str(p).rstrip("/").rsplit("/", 1)[-1] for p in listed
                if str(p).rstrip("/") != self._base]

    def claim(self) -> dict[str, Any] | None:
        """Check the folder is thresher's to write; return what its marker says of the
        run whose outputs it holds (None for a new or empty folder)."""
        try:
            if self.fs.isfile(self._base):
                raise ConfigError(f"output {self.root} exists and is not a folder")
            marker = self._marker()
            names = self._names()
        except ConfigError:
            raise
        except Exception as exc:  # noqa: BLE001 - auth, network, no such bucket: one line
            raise ConfigError(f"output {self.root}: cannot open it: {remote.one_line(exc)}"
                              ) from None
        if marker is None:
            foreign = sorted(n for n in names if not n.startswith(".thresher"))
            if foreign:
                raise ConfigError(f"output folder {self.root} holds files thresher did not "
                                  f"write ({', '.join(foreign[:3])}); choose an empty folder")
        return marker

    def _marker(self) -> dict[str, Any] | None:
        try:
            data = json.loads(remote.read_bytes(remote.join(self.root, MARKER)))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def begin(self, identity: dict[str, Any], *, fresh: bool) -> None:
        """Mark the folder as this run's, unfinished; with ``fresh``, delete an earlier
        run's outputs. Temporaries of a killed attempt go either way."""
        remote.write_bytes(remote.join(self.root, MARKER),
                           _encode({**identity, "finished": False}))
        if fresh:
            self.clear()
        self._remove_temporaries()

    def _remove_temporaries(self) -> None:
        """Delete the marked temporaries that an upload cut short left (on file systems
        where a file is uploaded under one and moved), outside ``_work``."""
        for name in OUTPUTS:
            top = f"{self._base}/{name}"
            try:
                found = self.fs.find(top) if self.fs.isdir(top) else []
            except FileNotFoundError:
                continue
            for path in found:
                if TEMPORARY_MARK in str(path).rsplit("/", 1)[-1]:
                    self.fs.rm_file(path)

    def clear(self) -> None:
        """Delete the outputs a run writes (and nothing else)."""
        for name in OUTPUTS:
            target = f"{self._base}/{name}"
            if self.fs.exists(target):
                self.fs.rm(target, recursive=True)

    def finish(self, identity: dict[str, Any]) -> None:
        """Record that the outputs are complete (after summary.json is written)."""
        remote.write_bytes(remote.join(self.root, MARKER),
                           _encode({**identity, "finished": True}))

    def summary(self) -> dict[str, Any] | None:
        """The finished run's summary, or None if it cannot be read."""
        try:
            data = json.loads(remote.read_bytes(remote.join(self.root, "summary.json")))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def release(self) -> None:
        """Nothing to let go: an object store has no lock."""

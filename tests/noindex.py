"""A stage's task function that may not open the index folder in a worker process.

For the tests of an index run whose work folder is a URL: the workers read the segments
through it, never the index folder, which only the driver holds. The wrapper is pickled
to the worker and there installs an audit hook (``sys.addaudithook``: every ``open``,
``os.open``, listing and ``mmap`` of a file goes through it, whatever library asks) that
refuses any path inside the index folder, then runs the real function (looked up on the
worker: a forked one finds the patch, and is handed the function it replaced). Where the task runs in the driver itself (an executor
that runs a lone task inline) nothing is installed: the driver holds the index. Each
worker that ran a wrapped task leaves ``<signals>/<stage>-<pid>`` behind, so a test sees
the guard was in place.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

_GUARDED: set[str] = set()  # index folders this process refuses already
_REAL: dict[tuple[str, str], Callable[[Any], Any]] = {}  # the functions patched over
_EVENTS = frozenset({"open", "os.listdir", "os.scandir"})


def _refuse(index: str) -> None:
    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in _EVENTS or not args or isinstance(args[0], int):
            return
        try:
            path = os.path.abspath(os.fsdecode(args[0]))
        except TypeError:
            return
        if path == index or path.startswith(index + os.sep):
            raise PermissionError(f"a worker opened {path}, inside the index folder")

    if index not in _GUARDED:
        _GUARDED.add(index)
        sys.addaudithook(hook)


@dataclass(frozen=True)
class NoIndex:
    """``module.name``, run in a worker that may not open anything under ``index``."""

    module: str
    name: str
    stage: str
    index: str  # absolute
    driver: int  # the driver's process id
    signals: str
    inner: Callable[[Any], Any] | None = None  # run instead (another test wrapper of it)

    def __call__(self, task: Any) -> Any:
        fn: Callable[[Any], Any] = self.inner or getattr(importlib.import_module(self.module),
                                                         self.name)
        if isinstance(fn, NoIndex):  # a forked worker inherits the driver's patch
            fn = _REAL[(self.module, self.name)]
        if os.getpid() != self.driver:
            _refuse(self.index)
            Path(self.signals, f"{self.stage}-{os.getpid()}").touch()
        return fn(task)


def guard(monkeypatch: pytest.MonkeyPatch, index: Path, signals: Path,
          stages: dict[str, tuple[str, str]], *,
          inner: dict[str, Callable[[Any], Any]] | None = None) -> None:
    """Wrap each stage's function (``stage: (module, name)``) in :class:`NoIndex`;
    ``inner``: a stage's wrapper of its function, run in the guard instead."""
    signals.mkdir(exist_ok=True)
    for stage, (module, name) in stages.items():
        found = getattr(importlib.import_module(module), name)
        if not isinstance(found, NoIndex):
            _REAL[(module, name)] = found
        monkeypatch.setattr(importlib.import_module(module), name, NoIndex(
            module, name, stage, str(index.absolute()), os.getpid(), str(signals),
            (inner or {}).get(stage)))

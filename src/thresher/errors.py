"""The exceptions thresher raises.

```text
ThresherError
├── ConfigError (also ValueError)   a bad option value; the message says the fix
├── InputError                      unreadable input; carries path and line
├── StageError                      a stage's artifact is missing or corrupt
└── WorkerError                     a worker process died (killed, out of memory)
```
"""

from __future__ import annotations

__all__ = ["ConfigError", "InputError", "StageError", "ThresherError", "WorkerError"]


class ThresherError(Exception):
    """Base of every error thresher raises on purpose."""


class ConfigError(ThresherError, ValueError):
    """An option has a value thresher cannot use."""


class InputError(ThresherError):
    """An input record or file cannot be read; ``path`` and ``line`` say where."""

    def __init__(self, message: str, *, path: str = "", line: int = 0) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if path and line else (f"{path}: " if path else "")
        super().__init__(f"{where}{message}")


class StageError(ThresherError):
    """A stage's artifact on disk is missing, from another version, or corrupt."""


class WorkerError(ThresherError):
    """A worker process died while the run needed it; what finished before is kept."""

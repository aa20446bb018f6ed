"""How stages report progress; the CLI draws bars, the Python API stays silent."""

from __future__ import annotations

from typing import Protocol

__all__ = ["NullProgress", "Progress"]


class Progress(Protocol):
    """Receives stage events from a run."""

    def start(self, stage: str, total: int) -> None:
        """A stage begins with ``total`` units of work."""

    def advance(self, stage: str, units: int = 1) -> None:
        """``units`` more units of the stage are done."""

    def finish(self, stage: str, seconds: float) -> None:
        """The stage is complete."""

    def note(self, stage: str, text: str) -> None:
        """Show a live detail of the stage (e.g. records read so far)."""


class NullProgress:
    """Reports nothing."""

    def start(self, stage: str, total: int) -> None:
        """Ignore."""

    def advance(self, stage: str, units: int = 1) -> None:
        """Ignore."""

    def finish(self, stage: str, seconds: float) -> None:
        """Ignore."""

    def note(self, stage: str, text: str) -> None:
        """Ignore."""

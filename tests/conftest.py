"""Shared fixtures: paths to the shared dev sets and small corpora built on the fly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# The two crawls of one page: shipped in the repository (a copy of the shared set's, checked
# byte for byte by tests/test_examples.py where ../shared is there), so a clone runs them.
SPECIMENS = ROOT / "examples" / "sample" / "specimens"
SHARED_SPECIMENS = SHARED / "specimens" / "gzero-kim-hits-the-rails"
CRAWLBENCH = SHARED / "crawlbench-dev"


def need_shared(path: Path) -> Path:
    """Return ``path`` or skip the test, saying why, when ../shared is not beside the repo."""
    if not path.exists():
        pytest.skip(f"{path} not found: the shared dev sets sit beside the repository in CI; "
                    "this check is skipped in a clone without them")
    return path


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    """Write rows as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def unfinish(out: Path) -> None:
    """Make ``out`` look as a run killed just before it finished left it: its work is
    resumed by the next run with the same options, not found done."""
    marker = out / ".thresher-run.json"
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "finished": False}))


# An S3-API server on loopback (moto's server mode) and a fresh bucket on it: tests of
# object-store paths, anywhere under tests/, take ``s3_server`` (see tests/s3server.py).
from tests.s3server import _moto_endpoint, s3_server  # noqa: F401

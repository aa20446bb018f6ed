"""`thresher index stats` says "1 batch" and "2 batches"."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from thresher.cli import main


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_index_stats_counts_batches_in_words(tmp_path: Path) -> None:
    ix = tmp_path / "ix"
    _run("index", "create", str(ix))
    for n in (1, 2):
        src = tmp_path / f"crawl{n}.jsonl"
        src.write_text(json.dumps({"id": f"d{n}", "url": f"https://site{n}.example/p",
                                   "text": f"page {n} says something of its own here"}) + "\n")
        _run("index", "add", str(ix), str(src), "-o", str(tmp_path / f"out{n}"), "-q",
             "--executor", "serial")
        said = _run("index", "stats", str(ix))
        assert f"in {n} {'batch' if n == 1 else 'batches'}, " in said, said

"""An index run whose work folder is a URL: its workers read the segments through the work
folder (``index/shipped.py``), never the index folder, and the results are a local run's."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.noindex import guard
from tests.pipeline.corpus import make_corpus
from tests.tools import load_tool
from thresher import index

ROOT = Path(__file__).resolve().parents[2]
SPLIT = 20_000  # input bytes per shard: a few shards, so the pool's workers run the tasks
# The worker stages that read the index: the content stage (the indexed site statistics)
# and the probe.
READERS = {"content": ("thresher.pipeline.stages.content", "content_task"),
           "probe": ("thresher.index.probe", "probe_task")}


IDENTITY = load_tool("identity")


def _outputs(out: Path) -> list[str]:
    """The outputs' hashes, summary.json without what names where the run ran."""
    lines = [line for line in IDENTITY._hashes(out, "out")
             if not line.endswith("/summary.json")]
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("run")
    summary["index"].pop("path")
    summary["config"].pop("work_dir", None)
    return [*lines, json.dumps(IDENTITY._untimed(summary), sort_keys=True)]


def test_workers_read_the_index_through_a_work_folder_at_a_url(
        tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = make_corpus(tmp_path / "c", files=2, per_file=60, seed=3)
    a, b = sorted(corpus.glob("*.jsonl"))
    options = {"executor": "local", "workers": 2, "split_bytes": SPLIT}
    for name in ("ix", "ix-ref", "ix-local"):
        index.create(tmp_path / name, match="content")
        index.add(tmp_path / name, [a], tmp_path / f"{name}-a", executor="serial")
    ref = index.add(tmp_path / "ix-ref", [b], tmp_path / "ref", **options)
    assert ref["index"]["matched"] > 0 and ref["index"]["added"] > 0

    # the workers (forked) keep their copies of the segments here
    (tmp_path / "node").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node"))
    signals = tmp_path / "signals"
    guard(monkeypatch, tmp_path / "ix", signals, READERS)
    index.add(tmp_path / "ix", [b], tmp_path / "got", work_dir=s3_server.url("work"),
              **options)
    ran = {p.name.split("-")[0] for p in signals.iterdir()}
    assert ran == {"content", "probe"}  # in workers, guarded
    assert IDENTITY._index_hashes(tmp_path / "ix") == IDENTITY._index_hashes(
        tmp_path / "ix-ref")
    assert _outputs(tmp_path / "got") == _outputs(tmp_path / "ref")
    shipped = s3_server.keys("work", "probe", "segments")
    assert "seg-000001/shipped.json" in shipped and "seg-000001/keys.npy" in shipped
    assert not any(k.endswith("docs.parquet") for k in shipped)  # the driver's alone
    (copy,) = (tmp_path / "node" / "thresher-segments").iterdir()  # one, shared
    assert (copy / "sh.npy").read_bytes() == (
        tmp_path / "ix" / "segments" / "seg-000001" / "sh.npy").read_bytes()

    # the guard can fail: a local work folder has the workers read the index itself
    guard(monkeypatch, tmp_path / "ix-local", signals, READERS)
    with pytest.raises(Exception, match="inside the index folder"):
        index.add(tmp_path / "ix-local", [b], tmp_path / "local", work_dir=tmp_path / "w",
                  **options)
    shutil.rmtree(tmp_path / "node")


def test_a_node_drops_the_copies_no_task_used_for_a_day(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from thresher.index import shipped

    segments = tmp_path / "work" / "probe" / "segments"
    (segments / "seg-000001").mkdir(parents=True)
    (segments / "seg-000001" / "keys.npy").write_bytes(b"keys")
    new_copy = "a" * 32
    (segments / "seg-000001" / "shipped.json").write_text(
        json.dumps({"copy": new_copy, "files": ["keys.npy"]}))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "node"))
    root = shipped.cache_root()
    day_and_more = shipped.KEEP_UNUSED_S + 60
    old, recent, half = root / ("b" * 32), root / ("c" * 32), root / ".tmp-dead"
    mine = root / "notes"  # not a name this module makes: never touched
    for folder in (old, recent, half, mine):
        folder.mkdir(parents=True)
        (folder / "x.npy").write_bytes(b"x")
    for folder in (old, half, mine):
        stamp = folder.stat().st_mtime - day_and_more
        os.utime(folder, (stamp, stamp))

    got = shipped.fetched(f"file://{segments}", "seg-000001")
    assert got == root / new_copy and (got / "keys.npy").read_bytes() == b"keys"
    assert sorted(p.name for p in root.iterdir()) == sorted(
        [new_copy, recent.name, mine.name])

    # asking again for a copy marks it used, so the next pruning keeps it
    stamp = got.stat().st_mtime - day_and_more
    os.utime(got, (stamp, stamp))
    assert shipped.fetched(f"file://{segments}", "seg-000001") == got
    assert got.stat().st_mtime > stamp + day_and_more - 5

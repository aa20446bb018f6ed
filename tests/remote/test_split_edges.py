"""Objects at URLs cut where cutting is hard: lines at and across the cuts, odd line
endings, byte order marks, bytes that are not UTF-8, Parquet files of one row group or
none, and a run killed midway. Each reads as the same local file does (the S3-API
server of tests/s3server.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.remote.test_s3 import _OPTIONS, _run
from tests.remote.test_split import _compare, _lines, _parquet
from tests.s3server import S3
from thresher.io.listing import expand
from thresher.io.ranges import local_shard
from thresher.io.reading import read_shard
from thresher.io.records import Fields, Record
from thresher.io.sources import Shard, discover

SRC = Path(__file__).resolve().parents[2] / "src"


def _shards(path: str, split: int) -> list[Shard]:
    found = {p: f for p in (path,) if (f := expand(p)) is not None}
    return discover((path,), txt_per_shard=10, split_bytes=split, found=found)


def _records(shards: list[Shard]) -> list[Record]:
    out = []
    for shard in shards:
        with local_shard(shard) as local:
            out.extend(read_shard(local, Fields()))
    return out


def _read_both(s3: S3, path: Path, splits: list[int]) -> None:
    """``path`` and its object cut at each of ``splits``: the same cuts, and the records
    (their numbers, texts and rejections) of the whole file."""
    s3.fs.put_file(str(path), f"{s3.bucket}/crawl/{path.name}")
    url = s3.url("crawl", path.name)
    whole = _records(_shards(str(path), 0))
    for split in splits:
        local, remote = _shards(str(path), split), _shards(url, split)
        assert [(s.start, s.stop, s.first_line) for s in remote] == [
            (s.start, s.stop, s.first_line) for s in local], split
        assert _records(remote) == _records(local) == whole, split


def _doc(i: int, text: str = "words") -> bytes:
    return json.dumps({"id": f"r{i}", "text": f"{text} {i}"}, ensure_ascii=False).encode()


_DOCS = [_doc(i) for i in range(4)]
# a byte order mark, CRLF and LF endings, blank lines, characters of 2, 3 and 4 bytes,
# bytes that are not UTF-8, a line longer than most cuts, no newline at the end
_EDGY = b"".join([
    b"\xef\xbb\xbf", _DOCS[0], b"\r\n", _doc(1, "\u00e9\u4e2d\U0001f600" * 4), b"\n\n \n",
    _DOCS[2][:-4], b"\xff\xfe", _DOCS[2][-4:], b"\r\n\r\n", _doc(9, "x" * 300), b"\n",
    _doc(5, "\u00e9\u4e2d\U0001f600" * 9), b"\n\t\n", _DOCS[3]])


def test_a_jsonl_object_cut_anywhere_reads_as_the_file(s3_server: S3,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "edge.jsonl"
    path.write_bytes(_EDGY)
    n = len(_EDGY)
    first = _EDGY.index(b"\n") + 1  # a cut just at, before and after the first line's end
    # cuts across the characters and the bad bytes, and the file's own size, one byte
    # less and one more
    _read_both(s3_server, path, [1, first - 1, first, first + 1, 37, 90, n // 2, n - 1, n,
                                 n + 1])


@pytest.mark.parametrize("case", ["one row group", "row groups larger than a cut",
                                  "zero rows", "empty file"])
def test_a_parquet_object_with_few_row_groups_reads_as_the_file(
        s3_server: S3, tmp_path: Path, case: str) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(_parquet(tmp_path / "src"))
    path = tmp_path / "edge.parquet"
    if case == "empty file":
        path.write_bytes(b"")
    else:
        pq.write_table(table.slice(0, 0) if case == "zero rows" else table, path,
                       row_group_size=None if case == "one row group" else 60)
    size = path.stat().st_size
    _read_both(s3_server, path, [1, max(size // 3, 1)])
    if case == "row groups larger than a cut":
        assert len(_shards(str(path), 1)) == pq.read_metadata(path).num_row_groups > 1


def test_a_run_on_a_cut_object_killed_midway_resumes_to_the_same_outputs(
        s3_server: S3, tmp_path: Path) -> None:
    path = tmp_path / "in" / "big.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"".join(_lines() * 6))
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.jsonl")
    url, split = s3_server.url("crawl", "big.jsonl"), path.stat().st_size // 8
    _run([url], str(tmp_path / "clean"), **_OPTIONS, split_bytes=split)
    out, work, config = tmp_path / "killed", tmp_path / "work", tmp_path / "split.toml"
    config.write_text(f"[input]\nsplit_bytes = {split}\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "thresher.cli", "dedup", url, "-o", str(out), "--work-dir",
         str(work), "--config", str(config), "--executor", "serial", "--quiet",
         "--output-format", "jsonl", "--annotate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(SRC)})
    deadline = time.monotonic() + 120
    while len(list((work / "read").glob("*.done"))) < 3:  # some of its ranges read
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    summary = _run([url], str(out), **_OPTIONS, split_bytes=split, work_dir=str(work))
    assert summary["run"]["resumed"] is True
    _compare(tmp_path / "clean", out)

"""Large JSONL and Parquet objects are cut into shards as the same local files are, and
each task fetches only its own range (the S3-API server of tests/s3server.py)."""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import thresher
from tests.remote.test_s3 import _OPTIONS, _files, _run, _same_outputs
from tests.s3server import S3
from tests.tools import load_tool
from thresher.io.remote import is_remote
from thresher.io.sources import Shard, discover

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample" / "crawl.jsonl.gz"
IDENTITY = load_tool("identity")  # kept/, decisions and the summary, hashed its way


def _lines() -> list[bytes]:
    """Sample records, with duplicates of earlier ones further on."""
    lines = gzip.decompress(SAMPLE.read_bytes()).splitlines(keepends=True)
    return lines[:160] + lines[100:140]


def _jsonl(folder: Path, *, bad: int | None = None) -> Path:
    """A plain JSONL file, line ``bad`` (from 1) broken, blank lines near its end."""
    lines = _lines()
    if bad is not None:
        lines[bad - 1] = b'{"id": "broken", "text": \n'
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.jsonl"
    path.write_bytes(b"".join(lines[:-3]) + b"\n\n" + b"".join(lines[-3:]))
    return path


def _parquet(folder: Path) -> Path:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for line in _lines():
        try:
            rows.append(json.loads(line))
        except ValueError:  # the sample's broken records
            continue
    rows[150]["text"] = None  # a rejected row in a later row group keeps its number
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "big.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=16)
    return path


def _watch_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Shard, Shard, int]]:
    """Record what every read task's ``local_shard`` gave it: ``(shard, as read, bytes of
    its local copy, else bytes fetched from the server while it read)``."""
    import s3fs

    import thresher.pipeline.read as read_stage

    seen: list[tuple[Shard, Shard, int]] = []
    fetched = [0]
    real_fetch, real_shard = s3fs.core.S3File._fetch_range, read_stage.local_shard

    def counting(self: Any, start: int, end: int) -> bytes:
        data: bytes = real_fetch(self, start, end)
        fetched[0] += len(data)
        return data

    @contextmanager
    def watched(shard: Shard) -> Iterator[Shard]:
        fetched[0] = 0
        with real_shard(shard) as local:
            yield local
            copy = local.files[0]
            size = os.path.getsize(copy) if os.path.exists(copy) else fetched[0]
        seen.append((shard, local, size))

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    monkeypatch.setattr(read_stage, "local_shard", watched)
    return seen


def _cuts(seen: list[tuple[Shard, Shard, int]]) -> list[tuple[int, int | None, int]]:
    return [(s.start, s.stop, s.first_line) for s, _, _ in seen]


def _local_cuts(path: Path, split: int) -> list[tuple[int, int | None, int]]:
    shards = discover((str(path),), txt_per_shard=10, split_bytes=split)
    return [(s.start, s.stop, s.first_line) for s in shards]


def _broken_in_third_range(folder: Path) -> tuple[Path, int, list[tuple[int, int | None, int]]]:
    """The JSONL file with the second line of its third range (of five) broken; the cut
    size and the file's cuts."""
    split = _jsonl(folder).stat().st_size // 5
    bad = _local_cuts(folder / "big.jsonl", split)[2][2] + 1
    path = _jsonl(folder, bad=bad)
    cuts = _local_cuts(path, split)
    assert len(cuts) >= 4 and cuts[2][2] < bad < cuts[3][2]
    return path, split, cuts


def _compare(local: Path, remote: Path) -> None:
    _same_outputs(_files(local), _files(remote))
    # summary.json names the inputs and the output: _same_outputs compares it without them
    hashes = [[h for h in IDENTITY._hashes(out, "o") if not h.endswith("summary.json")]
              for out in (local, remote)]
    assert hashes[0] == hashes[1] and any("/kept/" in h for h in hashes[0])


def test_a_large_jsonl_at_a_url_is_cut_and_read_as_the_local_file(
        s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, split, cuts = _broken_in_third_range(tmp_path / "in")
    # the fourth range starts with a byte order mark: not the file's, so not taken off
    data = path.read_bytes()
    path.write_bytes(data[:cuts[3][0]] + b"\xef\xbb\xbf" + data[cuts[3][0]:])
    start = cuts[3][0]
    cuts = _local_cuts(path, split)
    assert cuts[3][0] == start
    _run([str(path)], str(tmp_path / "local"), **_OPTIONS, split_bytes=split)
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.jsonl")
    seen = _watch_reads(monkeypatch)
    summary = _run([s3_server.url("crawl", "big.jsonl")], str(tmp_path / "remote"),
                   **_OPTIONS, split_bytes=split)
    assert _cuts(seen) == cuts  # the same shards, the same first line numbers
    assert summary["counts"]["rejected"] >= 1
    _compare(tmp_path / "local", tmp_path / "remote")


def test_a_jsonl_task_copies_only_its_range(s3_server: S3, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = _jsonl(tmp_path / "in")
    size = path.stat().st_size
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.jsonl")
    seen = _watch_reads(monkeypatch)
    _run([s3_server.url("crawl", "big.jsonl")], str(tmp_path / "o"), split_bytes=size // 4)
    assert len(seen) >= 3
    for shard, local, copied in seen:
        assert not is_remote(local.files[0])
        # the range, and the newline before it for a range after the first
        assert copied <= (shard.stop or size) - shard.start + 1 < size


def test_a_large_parquet_at_a_url_reads_only_its_row_groups(
        s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    path = _parquet(tmp_path / "in")
    size = path.stat().st_size
    split = size // 4
    cuts = _local_cuts(path, split)
    assert len(cuts) >= 3
    _run([str(path)], str(tmp_path / "local"), **_OPTIONS, split_bytes=split)
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.parquet")
    seen = _watch_reads(monkeypatch)
    _run([s3_server.url("crawl", "big.parquet")], str(tmp_path / "remote"), **_OPTIONS,
         split_bytes=split)
    assert _cuts(seen) == cuts
    _compare(tmp_path / "local", tmp_path / "remote")
    meta = pq.read_metadata(path)
    for shard, _, fetched in seen:
        groups = sum(meta.row_group(g).column(c).total_compressed_size
                     for g in range(shard.start, shard.stop or meta.num_row_groups)
                     for c in range(meta.num_columns))
        # its row groups, the footer, and pyarrow's first read of the file's tail
        assert 0 < fetched <= groups + meta.serialized_size + (64 << 10) < size


def test_a_bad_line_in_a_later_range_names_the_url_and_its_line(s3_server: S3,
                                                               tmp_path: Path) -> None:
    path, split, cuts = _broken_in_third_range(tmp_path / "in")
    bad = cuts[2][2] + 1
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.jsonl")
    url = s3_server.url("crawl", "big.jsonl")
    with pytest.raises(thresher.InputError, match="invalid JSON") as err:
        thresher.dedup(inputs=[url], output=tmp_path / "o", split_bytes=split, strict=True,
                       executor="serial")
    assert str(err.value).startswith(f"{url}:{bad}: ")
    assert (err.value.path, err.value.line) == (url, bad)


def test_a_connection_lost_in_a_parquet_range_fails_the_task_not_its_rows(
        s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    import thresher.pipeline.read as read_stage

    path = _parquet(tmp_path / "in")
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.parquet")
    url = s3_server.url("crawl", "big.parquet")
    real_fetch, real_shard, lost = s3fs.core.S3File._fetch_range, read_stage.local_shard, [0]

    def flaky(self: Any, start: int, end: int) -> bytes:
        if lost[0]:
            raise OSError("connection reset by peer")
        data: bytes = real_fetch(self, start, end)
        return data

    @contextmanager
    def third_loses(shard: Shard) -> Iterator[Shard]:
        lost[0] = shard.index == 2
        with real_shard(shard) as local:
            yield local

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", flaky)
    monkeypatch.setattr(read_stage, "local_shard", third_loses)
    with pytest.raises(thresher.ConfigError, match="connection reset") as err:
        _run([url], str(tmp_path / "o"), split_bytes=path.stat().st_size // 4)
    assert str(err.value).startswith(f"input {url}: cannot read it")


def test_the_driver_reads_a_jsonl_object_once_to_cut_it(
        s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    from thresher.io.ranges import split_ranges

    path = _jsonl(tmp_path / "in")
    size = path.stat().st_size
    s3_server.fs.put_file(str(path), f"{s3_server.bucket}/crawl/big.jsonl")
    real_fetch, fetched = s3fs.core.S3File._fetch_range, []

    def counting(self: Any, start: int, end: int) -> bytes:
        data: bytes = real_fetch(self, start, end)
        fetched.append(len(data))
        return data

    monkeypatch.setattr(s3fs.core.S3File, "_fetch_range", counting)
    url = s3_server.url("crawl", "big.jsonl")
    cuts = split_ranges(url, size, size // 6)
    assert cuts == split_ranges(str(path), size, size // 6) and len(cuts) >= 5
    # each byte once, and what a line's tail read past the cut (fsspec's own readline
    # would have fetched a whole block, 50 MiB for s3fs, at every cut)
    assert sum(fetched) <= size + len(cuts) * (64 << 10)


def _rewritten(tmp_path: Path) -> dict[str, bytes]:
    """A JSONL and a Parquet object, and another version of each (other records, another
    size), to put in their place while a run reads them."""
    import pyarrow.parquet as pq

    jsonl, parquet = _jsonl(tmp_path / "in"), _parquet(tmp_path / "in")
    table = pq.read_table(parquet)
    pq.write_table(table.slice(20), tmp_path / "in" / "new.parquet", row_group_size=12)
    return {"big.jsonl": jsonl.read_bytes(),
            "big.jsonl.new": b"".join(_lines()[30:] + _lines()[:30]) + b"\n",
            "big.parquet": parquet.read_bytes(),
            "big.parquet.new": (tmp_path / "in" / "new.parquet").read_bytes()}


@pytest.mark.parametrize("name", ["big.jsonl", "big.parquet"])
@pytest.mark.parametrize("stage", ["read", "write"])
def test_an_object_rewritten_during_a_run_fails_it_not_mixes_versions(
        s3_server: S3, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
        stage: str) -> None:
    import thresher.pipeline.read as read_stage
    import thresher.pipeline.stages.write as write_stage

    data = _rewritten(tmp_path)
    key = f"{s3_server.bucket}/crawl/{name}"
    s3_server.fs.pipe_file(key, data[name])
    url = s3_server.url("crawl", name)
    module = read_stage if stage == "read" else write_stage
    real = module.local_shard

    @contextmanager
    def rewriting(shard: Shard) -> Iterator[Shard]:
        # after the run listed and cut the object: its second range, or its whole copy
        if shard.index == (1 if stage == "read" else 0):
            s3_server.fs.pipe_file(key, data[name + ".new"])
        with real(shard) as local:
            yield local

    monkeypatch.setattr(module, "local_shard", rewriting)
    with pytest.raises(thresher.ConfigError) as err:
        _run([url], str(tmp_path / "o"), split_bytes=len(data[name]) // 4)
    assert str(err.value).startswith(f"input {url} changed while the run read it")
    assert "\n" not in str(err.value)

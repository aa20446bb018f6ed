"""Lines over --max-doc-bytes and runs of blank lines are read past in bounded memory and time."""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from thresher.io.batches import Batch, read_batches
from thresher.io.lines import LineReader, too_long
from thresher.io.reading import read_shard
from thresher.io.records import Fields, iter_lines
from thresher.io.sources import discover
from thresher.io.writers import write_kept

LIMIT = 1 << 20
GIANT = 48 << 20  # a line 48 times the limit: holding it once would break the bound below
BOUND = 16 * LIMIT  # the limit, a chunk, a line
BLANKS = 8 << 20  # blank lines after it
HEAD, TAIL = b'{"id": "a", "text": "first record"}\n', b'{"id": "b", "text": "last record"}\n'


def _writer(path: Path) -> IO[bytes]:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        return gzip.open(path, "wb", compresslevel=1)
    if path.name.endswith(".zst"):
        import zstandard

        return zstandard.ZstdCompressor(level=1).stream_writer(open(path, "wb"))
    return open(path, "wb")


def _bomb(path: Path, filler: bytes = b"0", ending: bytes = b"\r\n") -> Path:
    """A record, one line of GIANT filler bytes, BLANKS blank lines, a last record."""
    block = filler * (1 << 20)
    with _writer(path) as out:
        out.write(HEAD)
        for _ in range(GIANT >> 20):
            out.write(block)
        out.write(ending)
        for _ in range(BLANKS >> 20):
            out.write(b"\n" * ((1 << 20) - 4) + b" \t\r\n")  # runs of every kind of blank
        out.write(TAIL)
    return path


def _peak(fn: Callable[[], Any]) -> tuple[Any, int]:
    """What ``fn`` returns, and the most memory Python held while it ran."""
    tracemalloc.start()
    try:
        return fn(), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _rows(batches: list[Batch]) -> list[tuple[int, str, str | None]]:
    return [(line, rid, reason) for b in batches
            for line, rid, reason in zip(b.lines, b.ids, b.rejects, strict=True)]


@pytest.fixture(autouse=True)
def _warm(tmp_path: Path) -> None:
    warm = tmp_path / "warm" / "warm.jsonl"  # loading the compiled code is not the reader's
    warm.parent.mkdir()
    warm.write_bytes(HEAD + b"\n" + TAIL)
    list(read_batches(discover((str(warm),), txt_per_shard=1)[0], Fields()))


# .zst is left out of the bound: zstandard's decompressobj() gives out all a piece of input
# holds at once, and 32 KiB of a zstd bomb hold gigabytes (its stream_reader is bounded
# but ends quietly at a truncated frame)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_giant_line_is_rejected_without_being_held(tmp_path: Path, suffix: str) -> None:
    path = _bomb(tmp_path / f"bomb.jsonl{suffix}")
    shard = discover((str(path),), txt_per_shard=1)[0]
    fields = Fields(max_bytes=LIMIT)
    rows, peak = _peak(lambda: _rows(list(read_batches(shard, fields))))
    last = 3 + (BLANKS >> 20) * ((1 << 20) - 3)  # each blank block ends (1 << 20) - 3 lines
    assert rows == [(1, "a", None), (2, f"{path.name}:2", too_long(GIANT, LIMIT)),
                    (last, "b", None)]
    assert peak < BOUND, f"{peak:,} bytes held for a line of {GIANT:,}"


def test_the_record_readers_agree_on_a_giant_line(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "bomb.jsonl")
    shard = discover((str(path),), txt_per_shard=1)[0]
    fields = Fields(max_bytes=LIMIT)
    rows, peak = _peak(lambda: [(r.line, r.id, r.reject) for r in read_shard(shard, fields)])
    assert rows == _rows(list(read_batches(shard, fields)))
    assert peak < BOUND


def test_a_blank_giant_line_is_no_record(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "spaces.jsonl.gz", filler=b" ")
    shard = discover((str(path),), txt_per_shard=1)[0]
    rows, peak = _peak(lambda: _rows(list(read_batches(shard, Fields(max_bytes=LIMIT)))))
    assert [(line > 3, rid) for line, rid, _ in rows] == [(False, "a"), (True, "b")]
    assert peak < BOUND


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_blank_lines_are_skipped_in_bulk(tmp_path: Path, suffix: str) -> None:
    """32 million blank lines: a Python step a line took half a minute and more."""
    path = tmp_path / f"blank.jsonl{suffix}"
    with _writer(path) as out:
        for _ in range(32):
            out.write(b"\n" * (1 << 20))
        out.write(TAIL)
    shard = discover((str(path),), txt_per_shard=1)[0]
    started = time.process_time()
    rows = _rows(list(read_batches(shard, Fields())))
    assert rows == [(32 * (1 << 20) + 1, "b", None)]
    assert time.process_time() - started < 8


def test_kept_lines_after_a_giant_line_are_written(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "in" / "bomb.jsonl.gz")
    shard = discover((str(path),), txt_per_shard=1)[0]
    out = tmp_path / "out"
    written, peak = _peak(lambda: write_kept(shard, np.array([True, False, True]), str(out),
                                             fmt="input", fields=Fields(max_bytes=LIMIT)))
    assert written == 2
    assert gzip.decompress((out / "bomb.jsonl.gz").read_bytes()) == HEAD + TAIL
    assert peak < BOUND


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
@pytest.mark.parametrize("chunk", [3, 7, 1 << 20])
def test_line_reader_sizes_and_numbers(monkeypatch: pytest.MonkeyPatch, ending: bytes,
                                       chunk: int) -> None:
    import io

    from thresher.io import lines

    monkeypatch.setattr(lines, "_CHUNK", chunk)
    data = b"\xef\xbb\xbf  \n" + b"ab\r\n" + b"\n \n" + b"x" * 40 + b"\r\n" + b"  cd" + ending
    got = list(LineReader(io.BytesIO(data), limit=10, bom=True))
    last = b"  cd" + ending if ending else b"  cd"
    assert got == [(2, b"ab\r\n", 2), (5, None, 40), (6, last, 4)]
    raw = list(LineReader(io.BytesIO(b"\xef\xbb\xbfab\n"), limit=10, bom=True, raw=True))
    assert raw == [(1, b"\xef\xbb\xbfab\n", 2)]


def test_iter_lines_names_a_giant_line_in_place(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(HEAD + b"x" * 5000 + b"\n" + TAIL)
    got = list(iter_lines(str(path), max_bytes=1000))
    assert got == [(1, HEAD.rstrip(), None), (2, None, too_long(5000, 1000)),
                   (3, TAIL.rstrip(), None)]

"""Large outputs written past the page cache: the same bytes as a plain write, whatever
the sizes, and the plain way where O_DIRECT is refused or turned off."""

from __future__ import annotations

import errno
import fcntl
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from thresher.io import direct
from thresher.io.direct import DirectFile, direct_enabled, save_npy


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Buffers of two pages, so that a few KiB cross several of them."""
    monkeypatch.setattr(direct, "_CHUNK", 8192)
    return 8192


def _takes_o_direct(folder: Path) -> bool:
    if not direct_enabled():
        return False
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o644)
    except OSError:
        return False
    os.close(fd)
    return True


@pytest.mark.parametrize("sizes", [[0], [1], [4096], [8192], [8193], [3, 8190, 5, 20_000, 1],
                                   [50_000], [4096] * 5, [100, 4096 * 3 + 7]])
def test_the_file_holds_exactly_what_was_written(tmp_path: Path, small_chunks: int,
                                                 sizes: list[int]) -> None:
    rng = np.random.default_rng(len(sizes) * 1000 + sum(sizes))
    parts = [rng.integers(0, 256, n, dtype=np.uint8).tobytes() for n in sizes]
    with DirectFile(tmp_path / "out.bin") as fh:
        for part in parts:
            assert fh.write(part) == len(part)
        assert fh.tell() == sum(sizes)
    assert (tmp_path / "out.bin").read_bytes() == b"".join(parts)


def test_a_file_system_that_takes_o_direct_is_written_past_the_cache(
        tmp_path: Path, small_chunks: int) -> None:
    if not _takes_o_direct(tmp_path):
        pytest.skip("this file system refuses O_DIRECT")
    data = bytes(range(256)) * 200  # 51,200 bytes: six buffers and a tail
    with DirectFile(tmp_path / "out.bin") as fh:
        fh.write(data)
        assert fh.direct
    assert (tmp_path / "out.bin").read_bytes() == data


def test_turned_off_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THRESHER_DIRECT_IO", "0")
    with DirectFile(tmp_path / "out.bin") as fh:
        fh.write(b"abc")
        assert not fh.direct
    assert (tmp_path / "out.bin").read_bytes() == b"abc"


def test_a_refused_write_is_done_the_plain_way(tmp_path: Path, small_chunks: int,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    refused = []

    def write(fd: int, data: memoryview) -> int:
        if direct._O_DIRECT & fcntl.fcntl(fd, fcntl.F_GETFL):
            refused.append(len(data))
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, data)

    monkeypatch.setattr(direct.os, "write", write)
    data = bytes(range(256)) * 100
    with DirectFile(tmp_path / "out.bin") as fh:
        fh.write(data)
        assert not fh.direct
    assert (tmp_path / "out.bin").read_bytes() == data
    assert len(refused) <= 1  # refused once at most, then plain


def test_a_short_write_goes_on_the_plain_way(tmp_path: Path, small_chunks: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.write
    calls = []

    def write(fd: int, data: memoryview) -> int:
        calls.append(len(data))
        return real(fd, data[:1000] if len(calls) == 1 else data)

    monkeypatch.setattr(direct.os, "write", write)
    data = bytes(range(256)) * 100
    with DirectFile(tmp_path / "out.bin") as fh:
        fh.write(data)
    assert (tmp_path / "out.bin").read_bytes() == data
    assert calls[0] == small_chunks and len(calls) > 2


def test_another_error_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write(fd: int, data: memoryview) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(direct.os, "write", write)
    fh = DirectFile(tmp_path / "out.bin")
    fh.write(b"x" * 10)
    with pytest.raises(OSError, match="No space"):
        fh.close()
    assert fh.closed


@pytest.mark.parametrize("array", [
    np.arange(10), np.arange(30_001, dtype=np.uint64).reshape(-1, 1), np.zeros((0, 2)),
    np.array(["a", "bc"]), np.arange(6, dtype=np.uint32).reshape(2, 3), np.float32(2.5)])
def test_save_npy_writes_what_np_save_writes(tmp_path: Path, small_chunks: int,
                                             array: np.ndarray) -> None:
    save_npy(tmp_path / "a.npy", np.asarray(array))
    expected = io.BytesIO()
    np.save(expected, np.asarray(array))
    assert (tmp_path / "a.npy").read_bytes() == expected.getvalue()
    assert np.array_equal(np.load(tmp_path / "a.npy"), array)


def _child_writes(path: str, ready: Any, go: Any) -> None:
    with DirectFile(path) as fh:
        fh.write(b"c" * 1000)  # held in the buffer until closed
        ready.set()
        go.wait(10)


def test_a_forked_worker_does_not_share_a_buffer_with_its_parent(tmp_path: Path) -> None:
    import multiprocessing

    with DirectFile(tmp_path / "warm.bin") as fh:  # a spare buffer for both to take
        fh.write(b"w")
    ctx = multiprocessing.get_context("fork")
    ready, go = ctx.Event(), ctx.Event()
    child = ctx.Process(target=_child_writes, args=(str(tmp_path / "c.bin"), ready, go))
    child.start()
    try:
        assert ready.wait(10)
        with DirectFile(tmp_path / "p.bin") as fh:
            fh.write(b"p" * 1000)
            go.set()
    finally:
        go.set()
        child.join(10)
    assert child.exitcode == 0
    assert (tmp_path / "c.bin").read_bytes() == b"c" * 1000
    assert (tmp_path / "p.bin").read_bytes() == b"p" * 1000

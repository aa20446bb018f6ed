"""read_batches: plain JSONL read through the compiled scanner gives exactly the records
read_shard gives (orjson), whatever the lines hold, how the file is cut and read."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from thresher.io import lines, plain
from thresher.io.batches import Batch, read_batches
from thresher.io.jsonscan import FAST, scan_lines
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import discover

COLUMNS = ("ids", "urls", "files", "lines", "rejects", "generated", "groups", "lengths")

# Lines at the edges of the scanner's subset of JSON, and past them.
EDGES = [
    b'{"id":"a","text":"hello world","url":"http://a.org/x"}', b"", b"   ", b"\t\r",
    b'{"id":"b","text":"x"}\r', b'{"id": 5, "text": "five"}', b'{"id": 5.0, "text": "f"}',
    b'{"id": true, "text": "t"}', b'{"id": null, "text": "n"}', b'{"id": "", "text": "e"}',
    b'{"id": [1], "text": "l"}', b'{"id": {"a":1}, "text": "d"}',
    b'{"id": "\\u00e9\\n", "text": "esc"}', b'{"text": null}', b'{"text": 5}', b'{"text": ""}',
    b'{"text": "   "}', b'{"text": "\\u00a0\\u2028"}', b'{"text": "\\u001c x"}',
    b'{"text": "\\u001c\\u001f\\t"}', b'{"text":"\\ud83d\\ude00 emoji"}',
    b'{"text":"\\ud800 lone"}', b'{"text":"bad \xff utf8"}', b'{"text":"ok \xc3\xa9"}',
    b'{"text":"over \xc0\xaf"}', b'{"text":"surr \xed\xa0\x80"}', b"not json", b"[1,2]",
    b'"str"', b'{"text":"a","text":"b"}', b'{"te\\u0078t":"escaped key"}',
    b'{"text":"x", "n": 1e999}', b'{"text":"x", "n": 123456789012345678901234567890}',
    b'{"text":"x", "n": -0.5e-10}', b'{"text":"x", "n": 01}', b'{"text":"x",}',
    b'{"text":"x"} trailing', b'  {"text":"spaced"}  ', b'{"text":"ctl \x01 char"}',
    b'{"text":"tab\\tok", "url": 5}', b'{"text":"deep", "a":' + b"[" * 70 + b"]" * 70 + b"}",
    b'{"text":"nest", "a":{"b":[{"c":"\\"q\\""}]}}', b'{"text":"nul \\u0000 x"}',
    b'{"url":"http://b.org/", "text":"url first", "id":"u"}',
    b'{"id":"g","text":"grp","site":"s1"}', b'{"id":"g2","text":"grp","site":7}',
    b'{"text":"\\/slash\\b\\f\\r"}', b'\xef\xbb\xbf{"text":"a byte order mark, not first"}',
    b'{"text":"' + b"long " * 100 + b'"}', b'{"text":"x","big":"' + b"y" * 3000 + b'"}',
    b"{ }", b"{}", b'{"text":"a" "b"}', b'{"text":"x","k":tru}', b'{"text":"x","k":[1 2]}',
    b'{"text":"x","k":{"a" 1}}', b'{"text":"x","k":-}', b'{"text":"\\u00e9t\\u00e9 \\u4e2d"}',
]


def _value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if r < 0.3:
        return "".join(rng.choice('ab \u00e9\n\t"\\/\u2028\U0001F600\x00\x1f')
                       for _ in range(rng.randint(0, 8)))
    if r < 0.45:
        return rng.choice([0, -1, 1.5, 10**20, 1e300, -0.0, True, False, None])
    if r < 0.6 and depth < 3:
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if r < 0.75 and depth < 3:
        return {rng.choice(["a", "text", "id", "url"]): _value(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    return rng.choice(["", " ", "x"])


def _line(rng: random.Random) -> bytes:
    obj: dict[str, Any] = {}
    for key in rng.sample(["id", "text", "url", "site", "other", "t\u00e9xt"], rng.randint(0, 5)):
        v = _value(rng)
        obj[key] = v if rng.random() < 0.4 or key != "text" else \
            "text " + (v if isinstance(v, str) else "plain")
    data = json.dumps(obj, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    r = rng.random()
    if r < 0.05 and data:  # a damaged byte
        i = rng.randrange(len(data))
        data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
    elif r < 0.08:  # cut short
        data = data[:rng.randrange(len(data) + 1)]
    return data


def _file(tmp_path: Path, seed: int) -> Path:
    rng = random.Random(seed)
    lines = EDGES + [_line(rng) for _ in range(600)]
    rng.shuffle(lines)
    data = b"".join(line + rng.choice([b"\n", b"\r\n", b"\n"]) for line in lines)
    if seed % 2:
        data = data.rstrip(b"\n")  # no newline after the last line
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + data)
    return path


def _columns(batches_: list[Batch]) -> tuple[dict[str, list[Any]], bytes, list[str]]:
    cols = {c: [x for b in batches_ for x in getattr(b, c)] for c in COLUMNS}
    data = b"".join(b.prepared[0][:int(b.prepared[1][-1])].tobytes() for b in batches_)
    return cols, data, [t for b in batches_ for t in b.texts]


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("fields", [Fields(), Fields(group="site", max_bytes=400),
                                    Fields(id="text")], ids=["default", "group", "id=text"])
@pytest.mark.parametrize("block", [1 << 24, 64, 1000])
def test_the_scanner_gives_orjsons_records(tmp_path: Path, seed: int, fields: Fields,
                                           block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plain, "_BLOCK", block)  # lines across and longer than a block
    monkeypatch.setattr(lines, "_CHUNK", block)  # and the same for the line reader
    path = _file(tmp_path, seed)
    for split in (1 << 40, 20_000, 3_000):  # whole, and cut into byte ranges
        for shard in discover((str(path),), txt_per_shard=100, split_bytes=split):
            want = _columns([Batch.of_records(list(read_shard(shard, fields)))])
            got = _columns(list(read_batches(shard, fields, size=7)))
            assert got[0] == want[0]
            assert got[1] == want[1]  # the texts laid out for the sketches
            assert got[2] == want[2]


def test_ordinary_lines_take_the_fast_path() -> None:
    lines = [orjson.dumps({"id": f"d{i}", "text": f"Line {i}\n\u00e9t\u00e9 \"q\" \\ \u4e2d\U0001F600",
                           "url": f"https://ex.org/{i}", "meta": {"a": [1, 2.5, None]}})
             for i in range(50)]
    buf = np.frombuffer(b"".join(lines), dtype=np.uint8)
    ends = np.cumsum([len(line) for line in lines]).astype(np.int64)
    starts = np.concatenate(([0], ends[:-1])).astype(np.int64)
    out, at, status, spans, chars = scan_lines(buf, starts, ends,
                                               names=[b"id", b"text", b"url", None])
    assert (status == FAST).all()
    for i, line in enumerate(lines):
        text = orjson.loads(line)["text"]
        assert out[at[i]:at[i + 1] - 1].tobytes() == text.encode("utf-8")
        assert chars[i] == len(text)
        a, b, _ = spans[i, 0]
        assert orjson.loads(buf[a:b].tobytes()) == f"d{i}"


@pytest.mark.parametrize("line", [
    b'{"text":"x", "n": 1e999}', b'{"text":"\\ud800"}', b'{"text":"a\xffb"}', b'{"text":"  "}',
    b'{"text":"x","text":"y"}', b'{"te\\u0078t":"x"}', b'{"text":"x"} y', b'[{"text":"x"}]'])
def test_lines_outside_the_subset_are_left_to_orjson(line: bytes) -> None:
    buf = np.frombuffer(line, dtype=np.uint8)
    bounds = np.array([0], dtype=np.int64), np.array([len(line)], dtype=np.int64)
    _, _, status, _, _ = scan_lines(buf, *bounds, names=[b"id", b"text", b"url", None])
    assert status[0] != FAST


def test_a_long_line_is_left_to_the_size_check(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"id":"a","text":"' + b"w " * 400 + b'"}\n{"id":"b","text":"ok"}\n')
    shard = discover((str(path),), txt_per_shard=100)[0]
    [batch] = list(read_batches(shard, Fields(max_bytes=100)))
    assert batch.rejects[0] is not None and "exceeds --max-doc-bytes" in batch.rejects[0]
    assert batch.rejects[1] is None and batch.slots == [1] and list(batch.texts) == ["ok"]

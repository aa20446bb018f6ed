"""read_batches: the records of read_shard, whatever the lines hold and however the file
is cut, batched, their texts laid out for the sketches; bad lines are one-line reasons."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from thresher.io import lines
from thresher.io.batches import Batch, read_batches
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import discover

COLUMNS = ("ids", "urls", "files", "lines", "rejects", "generated", "groups", "lengths")

# Lines at the edges of JSON, and past them.
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
def test_batches_hold_read_shards_records(tmp_path: Path, seed: int, fields: Fields,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lines, "_CHUNK", 1000)  # lines across and longer than a chunk
    path = _file(tmp_path, seed)
    for split in (1 << 40, 20_000, 3_000):  # whole, and cut into byte ranges
        for shard in discover((str(path),), txt_per_shard=100, split_bytes=split):
            records = list(read_shard(shard, fields))
            got = _columns(list(read_batches(shard, fields, size=7)))
            assert got[0] == _columns([Batch.of_records(records)])[0]
            usable = [r.text for r in records if r.reject is None and r.text is not None]
            assert got[2] == usable
            assert got[1] == b"".join(t.encode("utf-8", "surrogatepass") + b"\n" for t in usable)


def test_bad_lines_are_one_line_reasons_naming_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id":"a","text":"ok"}\n{"id":"b","text":"cut\n\n[1]\n'
                     b'{"id":"c","text":"bad \xff"}\n{"text":5}\n')
    shard = discover((str(path),), txt_per_shard=100)[0]
    [batch] = list(read_batches(shard, Fields()))
    assert batch.lines == [1, 2, 4, 5, 6]
    assert batch.ids == ["a", "bad.jsonl:2", "bad.jsonl:4", "bad.jsonl:5", "bad.jsonl:6"]
    reasons = batch.rejects
    assert reasons[0] is None and batch.slots == [0]
    assert reasons[1] is not None and reasons[1].startswith("invalid JSON")
    assert reasons[2] == "not a JSON object but list"
    assert reasons[3] == "invalid UTF-8 at byte 22"
    assert reasons[4] == "field 'text' is int, not a string"
    assert all("\n" not in r for r in reasons if r is not None)


def test_a_long_line_is_left_to_the_size_check(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"id":"a","text":"' + b"w " * 400 + b'"}\n{"id":"b","text":"ok"}\n')
    shard = discover((str(path),), txt_per_shard=100)[0]
    [batch] = list(read_batches(shard, Fields(max_bytes=100)))
    assert batch.rejects[0] is not None and "exceeds --max-doc-bytes" in batch.rejects[0]
    assert batch.rejects[1] is None and batch.slots == [1] and list(batch.texts) == ["ok"]

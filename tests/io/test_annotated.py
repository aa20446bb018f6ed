"""The annotation is added beside a record's own data, never over it."""

from __future__ import annotations

import gzip
import json

import pytest

from thresher.io.annotated import _annotated_record, _headers, _object_line, annotated_name
from thresher.io.sources import Shard

MARK = b'{"decision":"kept"}'


@pytest.mark.parametrize(("line", "want"), [
    (b'{"id": 1, "text": "a"}\n', b'{"id": 1, "text": "a","thresher":{"decision":"kept"}}\n'),
    (b'{"id":1}\r\n', b'{"id":1,"thresher":{"decision":"kept"}}\r\n'),
    (b'  {"id":1}  \n', b'  {"id":1,"thresher":{"decision":"kept"}}  \n'),
    (b'{}', b'{"thresher":{"decision":"kept"}}\n'),  # a last line without its newline
    (b'{ \t }\n', b'{ \t "thresher":{"decision":"kept"}}\n'),
    (b'\xef\xbb\xbf{"a":{"b":[1]}}\n', b'\xef\xbb\xbf{"a":{"b":[1]},"thresher":{"decision":"kept"}}\n'),
])
def test_object_lines_keep_their_bytes(line: bytes, want: bytes) -> None:
    got = _object_line(line, b"thresher", MARK, check=True)
    assert got == want
    assert json.loads(got.removeprefix(b"\xef\xbb\xbf"))["thresher"] == {"decision": "kept"}


@pytest.mark.parametrize("line", [b"not json\n", b"[1, 2]\n", b'{"a": 1\n', b'"text"\n'])
def test_lines_that_are_not_objects_are_told(line: bytes) -> None:
    assert _object_line(line, b"thresher", MARK, check=True) is None


def test_headers_name_each_field_and_leave_out_empty_ones() -> None:
    got = _headers({"decision": "duplicate", "cluster_size": 3, "representative": None,
                    "reason": "near-duplicate of x:\r\n Jaccard 0.9"}, "WARC-Thresher-")
    assert got == (b"WARC-Thresher-Decision: duplicate\r\nWARC-Thresher-Cluster-Size: 3\r\n"
                   b"WARC-Thresher-Reason: near-duplicate of x: Jaccard 0.9\r\n")


@pytest.mark.parametrize("packed", [False, True])
def test_a_record_gets_its_headers_before_the_blank_line(packed: bool) -> None:
    record = (b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 5\r\n\r\nhello"
              b"\r\n\r\n")
    data = gzip.compress(record, mtime=0) if packed else record
    got = _annotated_record(data, b"WARC-Thresher-Decision: kept\r\n")
    assert got is not None
    plain = gzip.decompress(got) if packed else got
    assert plain == (b"WARC/1.0\r\nWARC-Type: conversion\r\nContent-Length: 5\r\n"
                     b"WARC-Thresher-Decision: kept\r\n\r\nhello\r\n\r\n")
    assert _annotated_record(b"\x1f\x8b broken", b"") is None
    assert _annotated_record(b"no header end", b"") is None


def test_text_files_have_one_sidecar_per_group() -> None:
    shard = Shard(index=0, kind="txt", files=("/d/a/b.txt", "/d/c.txt"),
                  names=("a/b.txt", "c.txt"), prefix="crawl/")
    assert annotated_name(shard) == "crawl/texts-from-a_b.thresher.jsonl"
    assert annotated_name(Shard(index=1, kind="jsonl", files=("/d/x.jsonl.gz",),
                                names=("x.jsonl.gz",))) == \
        "x.jsonl.gz"

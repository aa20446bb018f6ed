"""read_shard: every input record comes out once, in order, kept or rejected with a reason."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.io.util import compress
from thresher.io.reading import read_shard
from thresher.io.records import Fields, Record, iter_lines
from thresher.io.sources import Shard, discover

COMPRESSIONS = ["", ".gz", ".zst"]




def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(compress(data, "".join(s for s in (".gz", ".zst") if path.name.endswith(s))))
    return path


def shard_of(path: Path, *, txt_per_shard: int = 100) -> Shard:
    shards = discover((str(path),), txt_per_shard=txt_per_shard)
    assert len(shards) == 1
    return shards[0]


def read(path: Path, **fields: object) -> list[Record]:
    return list(read_shard(shard_of(path), Fields(**fields)))  # type: ignore[arg-type]


def jl(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")


def noisy_lines(n: int, seed: int = 0) -> list[bytes]:
    """Lines that compress poorly, so a cut file really loses data."""
    rng = random.Random(seed)
    return [jl({"id": f"d{i}", "text": f"doc {i} " + rng.randbytes(64).hex()}) for i in range(n)]


# --- JSONL: good records and field handling ---------------------------------------


@pytest.mark.parametrize("suffix", COMPRESSIONS)
def test_good_jsonl_records_in_order(tmp_path: Path, suffix: str) -> None:
    lines = [jl({"id": "a", "text": "héllo wörld", "url": "https://x/a"}),
             jl({"id": 7, "text": "seven", "url": 3}),
             jl({"text": "no id", "id": "b", "extra": [1, 2]})]
    recs = read(write(tmp_path / f"in.jsonl{suffix}", b"\n".join(lines) + b"\n"))
    assert [(r.id, r.text, r.url, r.line, r.reject, r.id_generated) for r in recs] == [
        ("a", "héllo wörld", "https://x/a", 1, None, False),
        ("7", "seven", None, 2, None, False),  # numeric id as text, non-string url dropped
        ("b", "no id", None, 3, None, False),
    ]
    assert {r.file for r in recs} == {f"in.jsonl{suffix}"}


def test_custom_field_names(tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl",
                 jl({"doc_id": "x1", "content": "body text", "link": "u"}) + b"\n")
    (rec,) = read(path, id="doc_id", text="content", url="link")
    assert (rec.id, rec.text, rec.url, rec.reject) == ("x1", "body text", "u", None)


@pytest.mark.parametrize("suffix", COMPRESSIONS)
def test_broken_json_line_is_rejected_and_reading_goes_on(tmp_path: Path, suffix: str) -> None:
    data = jl({"id": "a", "text": "one"}) + b'\n{"id": "b", "text": "two\n' + \
        jl({"id": "c", "text": "three"}) + b"\n"
    recs = read(write(tmp_path / f"in.jsonl{suffix}", data))
    assert [r.line for r in recs] == [1, 2, 3]
    assert recs[1].reject is not None and recs[1].reject.startswith("invalid JSON")
    assert (recs[1].id, recs[1].id_generated, recs[1].text) == (f"in.jsonl{suffix}:2", True, None)
    assert [r.reject for r in (recs[0], recs[2])] == [None, None]


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe9t\xe9"])
def test_invalid_utf8_is_rejected_with_byte_offset(tmp_path: Path, bad: bytes) -> None:
    line = b'{"id": "a", "text": "caf' + bad + b' ok"}'
    recs = read(write(tmp_path / "in.jsonl", line + b"\n" + jl({"text": "fine"}) + b"\n"))
    assert len(recs) == 2
    assert recs[0].reject == f"invalid UTF-8 at byte {line.index(bad)}"
    assert recs[0].text is None
    assert recs[1].reject is None and recs[1].text == "fine"


@pytest.mark.parametrize("text", ["", " ", "\t\n  \r\n", "\u3000\u00a0"])
def test_empty_or_whitespace_text_is_rejected(tmp_path: Path, text: str) -> None:
    (rec,) = read(write(tmp_path / "in.jsonl", jl({"id": "a", "text": text}) + b"\n"))
    assert (rec.reject, rec.text, rec.id) == ("empty text", None, "a")


def test_missing_text_field_reason_names_field_fields_and_option(tmp_path: Path) -> None:
    (rec,) = read(write(tmp_path / "in.jsonl",
                        jl({"id": "a", "body": "hello", "title": "t"}) + b"\n"))
    assert rec.text is None and rec.reject is not None
    assert "'text'" in rec.reject
    assert "body" in rec.reject and "title" in rec.reject and "id" in rec.reject
    assert "--text-field" in rec.reject


def test_missing_custom_text_field_names_that_field(tmp_path: Path) -> None:
    (rec,) = read(write(tmp_path / "in.jsonl", jl({"text": "hello"}) + b"\n"), text="content")
    assert rec.reject is not None and "'content'" in rec.reject and "text" in rec.reject


@pytest.mark.parametrize(("value", "what"), [(5, "int"), (None, "null"), (1.5, "float"),
                                              (True, "bool"), (["a"], "list"), ({"a": 1}, "dict")])
def test_non_string_text_is_rejected(tmp_path: Path, value: object, what: str) -> None:
    (rec,) = read(write(tmp_path / "in.jsonl", jl({"id": "a", "text": value}) + b"\n"))
    assert rec.text is None
    assert rec.reject == f"field 'text' is {what}, not a string"


@pytest.mark.parametrize(("line", "what"), [(b'["text", "x"]', "list"), (b'"just a string"', "str"),
                                             (b"42", "int"), (b"null", "NoneType")])
def test_json_value_that_is_not_an_object_is_rejected(tmp_path: Path, line: bytes,
                                                      what: str) -> None:
    (rec,) = read(write(tmp_path / "in.jsonl", line + b"\n"))
    assert rec.reject == f"not a JSON object but {what}"
    assert (rec.id, rec.id_generated, rec.line) == ("in.jsonl:1", True, 1)


@pytest.mark.parametrize("value", ["missing", None, "", [1], {"a": 1}])
def test_missing_or_unusable_id_is_generated_from_name_and_line(tmp_path: Path,
                                                                value: object) -> None:
    obj: dict[str, object] = {"text": "some text"}
    if value != "missing":
        obj["id"] = value
    path = write(tmp_path / "sub" / "in.jsonl", b"\n" + jl({"id": "x", "text": "t"}) + b"\n"
                 + jl(obj) + b"\n")
    recs = read(path)
    assert recs[1].id == "in.jsonl:3" and recs[1].id_generated is True
    assert recs[1].reject is None and recs[1].text == "some text"
    assert recs[0].id_generated is False


def test_blank_lines_are_not_records_but_count_as_lines(tmp_path: Path) -> None:
    data = (b"\n   \n" + jl({"text": "a"}) + b"\n\t\n\n" + jl({"text": "b"}) + b"\r\n \r\n\n")
    recs = read(write(tmp_path / "in.jsonl", data))
    assert [(r.line, r.text) for r in recs] == [(3, "a"), (6, "b")]
    assert [n for n, _, _ in iter_lines(str(tmp_path / "in.jsonl"))] == [3, 6]


@pytest.mark.parametrize("suffix", COMPRESSIONS)
def test_crlf_line_endings(tmp_path: Path, suffix: str) -> None:
    data = jl({"id": "a", "text": "one\r\ntwo"}) + b"\r\n" + jl({"id": "b", "text": "x"}) + b"\r\n"
    recs = read(write(tmp_path / f"in.jsonl{suffix}", data))
    assert [(r.id, r.text, r.line, r.reject) for r in recs] == [
        ("a", "one\r\ntwo", 1, None), ("b", "x", 2, None)]
    lines = [line for _, line, _ in iter_lines(str(tmp_path / f"in.jsonl{suffix}"))]
    assert all(line is not None and not line.endswith(b"\r") for line in lines)


def test_last_line_without_newline_is_read(tmp_path: Path) -> None:
    recs = read(write(tmp_path / "in.jsonl", jl({"text": "a"}) + b"\n" + jl({"text": "b"})))
    assert [(r.line, r.text) for r in recs] == [(1, "a"), (2, "b")]


# --- compressed streams that break ---------------------------------------------------


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_truncated_stream_keeps_lines_before_and_rejects_once(tmp_path: Path,
                                                              suffix: str) -> None:
    lines = noisy_lines(3000)  # several zstd blocks of 128 KiB
    blob = compress(b"\n".join(lines) + b"\n", suffix)
    path = tmp_path / f"in.jsonl{suffix}"
    path.write_bytes(blob[: len(blob) // 2])
    recs = read(path)
    good, last = recs[:-1], recs[-1]
    assert 0 < len(good) < len(lines)
    assert [r.line for r in good] == list(range(1, len(good) + 1))
    assert all(r.reject is None for r in good)
    assert [r.text for r in good] == [json.loads(x)["text"] for x in lines[: len(good)]]
    assert last.line == len(good) + 1
    assert last.reject is not None and "truncated or corrupt" in last.reject
    assert f"line {last.line}" in last.reject
    assert (last.id, last.id_generated) == (f"in.jsonl{suffix}:{last.line}", True)


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_stream_cut_in_its_trailer_reads_every_line_then_rejects(tmp_path: Path,
                                                                 suffix: str) -> None:
    lines = noisy_lines(50)
    blob = compress(b"\n".join(lines) + b"\n", suffix)
    path = tmp_path / f"in.jsonl{suffix}"
    path.write_bytes(blob[:-3])  # gzip CRC/size, or zstd end of last block
    recs = read(path)
    rejected = [r for r in recs if r.reject is not None]
    assert len(rejected) == 1 and rejected[0] is recs[-1]
    assert rejected[0].line == len(recs)
    assert len(recs) - 1 <= len(lines)  # zstd may lose the tail of the last block
    assert [r.text for r in recs[:-1]] == [json.loads(x)["text"] for x in lines[: len(recs) - 1]]


def test_small_truncated_zst_is_not_read_as_an_empty_file(tmp_path: Path) -> None:
    blob = compress(b"\n".join(noisy_lines(3)) + b"\n", ".zst")
    path = tmp_path / "in.jsonl.zst"
    path.write_bytes(blob[: len(blob) - 10])
    recs = read(path)
    assert len(recs) >= 1
    assert recs[-1].reject is not None and "truncated" in recs[-1].reject


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_corrupt_compressed_file_gives_one_rejection_at_line_1(tmp_path: Path,
                                                               suffix: str) -> None:
    path = tmp_path / f"in.jsonl{suffix}"
    path.write_bytes(random.Random(1).randbytes(4000))
    recs = read(path)
    assert len(recs) == 1
    assert recs[0].line == 1 and recs[0].text is None
    assert recs[0].reject is not None and "line 1" in recs[0].reject


def test_zst_with_several_frames_reads_them_all(tmp_path: Path) -> None:
    a, b = noisy_lines(3, seed=1), noisy_lines(2, seed=2)
    path = tmp_path / "in.jsonl.zst"
    path.write_bytes(compress(b"\n".join(a) + b"\n", ".zst") + compress(b"\n".join(b) + b"\n",
                                                                        ".zst"))
    recs = read(path)
    assert [r.reject for r in recs] == [None] * 5
    assert [r.line for r in recs] == [1, 2, 3, 4, 5]


def test_gz_with_garbage_after_the_member_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(compress(b"\n".join(noisy_lines(3)) + b"\n", ".gz") + b"garbage!")
    recs = read(path)
    assert [r.reject for r in recs[:3]] == [None] * 3
    assert len(recs) == 4 and recs[3].line == 4 and recs[3].reject is not None


def test_empty_compressed_files_have_no_records(tmp_path: Path) -> None:
    for name in ("a.jsonl.gz", "b.jsonl.zst", "c.jsonl"):
        assert read(write(tmp_path / name, b"")) == []
        (tmp_path / name).write_bytes(b"")
        assert read(tmp_path / name) == []


def test_upper_case_compressed_suffix_is_decompressed(tmp_path: Path) -> None:
    for name in ("IN.JSONL.GZ", "IN.JSONL.ZST"):
        suffix = ".gz" if name.endswith("GZ") else ".zst"
        path = tmp_path / name
        path.write_bytes(compress(jl({"id": "a", "text": "upper"}) + b"\n", suffix))
        assert [(r.id, r.text, r.reject) for r in read(path)] == [("a", "upper", None)]


# --- size limits ---------------------------------------------------------------------


def test_record_bigger_than_max_bytes_is_rejected(tmp_path: Path) -> None:
    small = jl({"id": "s", "text": "x" * 50})
    exact = jl({"id": "e", "text": "y" * (1000 - len(jl({"id": "e", "text": ""})))})
    big = jl({"id": "b", "text": "z" * 2000})
    assert len(exact) == 1000
    recs = read(write(tmp_path / "in.jsonl", b"\n".join([small, big, exact]) + b"\n"),
                max_bytes=1000)
    assert [r.reject is None for r in recs] == [True, False, True]
    assert recs[1].reject == (f"record of {len(big):,} bytes exceeds --max-doc-bytes 1,000")
    assert recs[1].line == 2 and recs[1].text is None


def test_fifty_megabyte_line_against_default_limit(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    with open(path, "wb") as fh:
        fh.write(jl({"id": "a", "text": "before"}) + b"\n")
        fh.write(b'{"id": "huge", "text": "' + b"w " * (25 * 1024 * 1024) + b'"}\n')
        fh.write(jl({"id": "c", "text": "after"}) + b"\n")
    start = time.perf_counter()
    recs = read(path)
    assert time.perf_counter() - start < 10
    assert [r.line for r in recs] == [1, 2, 3]
    assert [r.text for r in (recs[0], recs[2])] == ["before", "after"]
    assert recs[1].text is None
    assert recs[1].reject is not None and "exceeds --max-doc-bytes 8,388,608" in recs[1].reject


# --- lone surrogates -----------------------------------------------------------------


@pytest.mark.parametrize("escaped", [r"\ud800", r"\udfff", r"a\ud800b", r"\udc00\ud800",
                                     r"\ud800\u0041"])
def test_lone_surrogate_escape_never_reaches_encoding(tmp_path: Path, escaped: str) -> None:
    data = (b'{"id": "s", "text": "bad ' + escaped.encode() + b' text"}\n'
            + b'{"id": "u", "text": "ok", "url": "' + escaped.encode() + b'"}\n'
            + b'{"id": "p", "text": "pair \\ud83d\\ude00"}\n')
    recs = read(write(tmp_path / "in.jsonl", data))
    assert len(recs) == 3
    for rec in recs:
        for value in (rec.id, rec.text, rec.url):
            if value is not None:
                value.encode("utf-8")  # the read stage does this; it must not raise
    assert recs[0].text is None and recs[0].reject is not None
    assert recs[2].text == "pair \U0001f600" and recs[2].reject is None


# --- .txt files ----------------------------------------------------------------------


def test_txt_files_read_whole_with_name_as_id(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes("first line\r\nsecond ünïcode\n".encode())
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(b"other")
    recs = read(tmp_path / "d")
    assert [(r.id, r.file, r.line, r.text, r.reject, r.id_generated) for r in recs] == [
        ("a.txt", "a.txt", 0, "first line\r\nsecond ünïcode\n", None, False),
        ("sub/b.txt", "sub/b.txt", 0, "other", None, False)]


def test_txt_invalid_utf8_empty_and_too_large(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "1-bad.txt").write_bytes(b"abc\xffdef")
    (d / "2-empty.txt").write_bytes(b"")
    (d / "3-blank.txt").write_bytes(b" \n\t\r\n")
    (d / "4-big.txt").write_bytes(b"x" * 1001)
    (d / "5-exact.txt").write_bytes(b"y" * 1000)
    recs = read(d, max_bytes=1000)
    assert [(r.id, r.reject) for r in recs] == [
        ("1-bad.txt", "invalid UTF-8 at byte 3"),
        ("2-empty.txt", "empty text"),
        ("3-blank.txt", "empty text"),
        ("4-big.txt", "file exceeds --max-doc-bytes 1,000"),
        ("5-exact.txt", None)]
    assert all(r.text is None for r in recs[:4]) and recs[4].text == "y" * 1000


# --- several inputs -------------------------------------------------------------------


def test_same_file_name_in_two_inputs_gives_distinct_names_and_ids(tmp_path: Path) -> None:
    a = write(tmp_path / "a" / "data.jsonl", jl({"text": "one"}) + b"\n")
    b = write(tmp_path / "b" / "data.jsonl", jl({"text": "two"}) + b"\n")
    (tmp_path / "ta").mkdir()
    (tmp_path / "tb").mkdir()
    (tmp_path / "ta" / "x.txt").write_text("three")
    (tmp_path / "tb" / "x.txt").write_text("four")
    shards = discover((str(a), str(b), str(tmp_path / "ta"), str(tmp_path / "tb")),
                      txt_per_shard=10)
    recs = [r for s in shards for r in read_shard(s, Fields())]
    assert [(r.id, r.file, r.text) for r in recs] == [
        ("data~1.jsonl:1", "data~1.jsonl", "one"), ("data~2.jsonl:1", "data~2.jsonl", "two"),
        ("ta/x.txt", "ta/x.txt", "three"), ("tb/x.txt", "tb/x.txt", "four")]


# --- Parquet -------------------------------------------------------------------------


def write_parquet(path: Path, columns: dict[str, Any], **kw: Any) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path, **kw)
    return path


def test_parquet_normal_read(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "in.parquet", {
        "id": ["a", None, "", "d"], "text": ["alpha", "beta", "gamma", "delta"],
        "url": ["https://a", None, "https://c", None], "other": [1, 2, 3, 4]})
    recs = read(path)
    assert [(r.id, r.text, r.url, r.line, r.reject, r.id_generated) for r in recs] == [
        ("a", "alpha", "https://a", 1, None, False),
        ("in.parquet:2", "beta", None, 2, None, True),
        ("in.parquet:3", "gamma", "https://c", 3, None, True),
        ("d", "delta", None, 4, None, False)]


def test_parquet_integer_ids_and_custom_fields(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "in.parquet", {"doc": [10, 11], "body": ["x y", "z"]})
    recs = read(path, id="doc", text="body")
    assert [(r.id, r.text, r.url) for r in recs] == [("10", "x y", None), ("11", "z", None)]


def test_parquet_missing_text_column_rejects_every_row(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "in.parquet", {"id": ["a", "b", "c"],
                                                   "content": ["x", "y", "z"]})
    recs = read(path)
    assert [r.line for r in recs] == [1, 2, 3]
    assert all(r.text is None for r in recs)
    reason = recs[0].reject
    assert reason is not None and "'text' column" in reason
    assert "content" in reason and "--text-field" in reason
    assert {r.reject for r in recs} == {reason}


def test_parquet_null_empty_and_non_string_text(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "in.parquet", {"id": ["a", "b", "c"],
                                                   "text": [None, "  ", "ok"]})
    recs = read(path)
    assert [r.reject for r in recs] == ["field 'text' is null, not a string", "empty text", None]
    path = write_parquet(tmp_path / "num.parquet", {"text": [1, 2]})
    assert {r.reject for r in read(path)} == {"field 'text' is int, not a string"}


def test_parquet_text_over_max_bytes(tmp_path: Path) -> None:
    path = write_parquet(tmp_path / "in.parquet", {"text": ["é" * 600, "a" * 600]})
    recs = read(path, max_bytes=1000)  # 1,200 bytes in UTF-8, then 600
    assert recs[0].reject == "text exceeds --max-doc-bytes 1,000"
    assert recs[1].reject is None


@pytest.mark.parametrize("content", [b"", b"PAR1", random.Random(3).randbytes(5000),
                                     b"PAR1" + bytes(100) + b"PAR1"])
def test_corrupt_parquet_file_is_one_rejection(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "in.parquet"
    path.write_bytes(content)
    recs = read(path)
    assert len(recs) == 1
    assert recs[0].text is None and recs[0].line == 0
    assert recs[0].reject is not None and recs[0].reject.startswith("cannot read Parquet file")


def test_parquet_with_a_corrupt_row_group_rejects_its_rows_and_reads_the_rest(
        tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    n = 300
    texts = [f"row {i} " + os.urandom(16).hex() for i in range(n)]
    path = write_parquet(tmp_path / "in.parquet", {"id": [f"r{i}" for i in range(n)],
                                                   "text": texts},
                         row_group_size=100, compression="none", use_dictionary=False)
    col = pq.ParquetFile(path).metadata.row_group(1).column(1)
    data = bytearray(path.read_bytes())
    start = col.data_page_offset
    data[start : start + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    recs = read(path)
    assert [r.line for r in recs] == list(range(1, n + 1))  # one record per row, none lost
    assert all(r.reject is None for r in recs[:100] + recs[200:])
    assert [r.text for r in recs[200:]] == texts[200:]
    bad = recs[100:200]
    assert all(r.text is None and r.reject is not None for r in bad)
    assert "row group 1" in (bad[0].reject or "")


# --- ids that are not strings, and made-up ids ---------------------------------------


ID_CASES = [(True, "true"), (False, "false"), (1, "1"), (-7, "-7"), (1.5, "1.5"),
            ("1", "1"), ("True", "True"), (2**70, str(2**70))]


@pytest.mark.parametrize(("value", "want"), ID_CASES)
def test_a_scalar_id_becomes_its_json_text(value: object, want: str) -> None:
    from thresher.io.records import id_value

    assert id_value(value, "f:1") == (want, False)


@pytest.mark.parametrize("suffix", ["", ".gz"])  # a plain file and a compressed one
def test_json_ids_read_as_json_text_on_both_paths(tmp_path: Path, suffix: str) -> None:
    from thresher.io.batches import read_batches

    rows = [{"id": v, "text": f"text {i}"} for i, v in enumerate(
        [True, False, 1, 1.5, "1", None, {"a": 1}, ""])]
    path = write(tmp_path / f"in.jsonl{suffix}", b"".join(jl(r) + b"\n" for r in rows))
    got = [(b.ids, b.generated) for b in read_batches(shard_of(path), Fields())]
    made_up = [f"in.jsonl{suffix}:{n}" for n in (6, 7, 8)]
    assert got == [(["true", "false", "1", "1.5", "1", *made_up], [False] * 5 + [True] * 3)]


def test_parquet_ids_read_as_json_text(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"id": [True, False, None], "text": ["a b", "c d", "e f"]}),
                   tmp_path / "in.parquet")
    recs = read(tmp_path / "in.parquet")
    assert [(r.id, r.id_generated) for r in recs] == [("true", False), ("false", False),
                                                      ("in.parquet:3", True)]

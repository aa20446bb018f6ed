"""write_kept: the kept corpus is exactly the kept records, copied or converted."""

from __future__ import annotations

import gzip
import json
import os
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.io.util import compress, decompress
from thresher.io.reading import read_shard
from thresher.io.records import Fields
from thresher.io.sources import Shard, discover
from thresher.io.writers import write_kept

FIELDS = Fields()






def shard_of(*paths: Path, txt_per_shard: int = 100) -> Shard:
    shards = discover(tuple(str(p) for p in paths), txt_per_shard=txt_per_shard)
    assert len(shards) == 1
    return shards[0]


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)).replace(os.sep, "/")
                  for p in root.rglob("*") if p.is_file())


# Lines whose bytes a re-serialization would change: spacing, key order, escapes.
LINES = [
    b'{"text":"alpha one","id":"a"}',
    b'{ "id" : "b", "text" : "caf\\u00e9 \\"quoted\\"", "n": 1.50 }',
    '{"id": "c", "text": "日本語のテキスト", "url": "https://x/c"}'.encode(),
    b'{"id":"d","text":"tab\\tand\\/slash","extra":{"k":[1,2,3]}}',
    b'{"id":"e",   "text":"the last one"}',
]


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_jsonl_kept_lines_are_byte_identical_in_order(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "in" / f"data.jsonl{suffix}"
    src.parent.mkdir()
    # blank lines and a rejected line in between: keep[] counts records, not lines
    body = b"\n".join([LINES[0], b"", LINES[1], b"{broken", b"   ", LINES[2], LINES[3],
                       LINES[4]]) + b"\n"
    src.write_bytes(compress(body, suffix))
    shard = shard_of(src)
    recs = list(read_shard(shard, FIELDS))
    assert len(recs) == 6
    keep = np.array([True, False, False, True, False, True])
    assert not keep[2] and recs[2].reject is not None
    out = tmp_path / "out"
    assert write_kept(shard, keep, str(out), fmt="input", fields=FIELDS) == 3
    assert files_under(out) == [f"data.jsonl{suffix}"]
    written = decompress((out / f"data.jsonl{suffix}").read_bytes(), suffix)
    assert written == LINES[0] + b"\n" + LINES[2] + b"\n" + LINES[4] + b"\n"


@pytest.mark.parametrize("suffix", ["", ".gz", ".zst"])
def test_jsonl_records_keep_their_exact_bytes(tmp_path: Path, suffix: str) -> None:
    """Line endings, a byte order mark and blank lines: kept lines are copied as they are."""
    body = (b"\xef\xbb\xbf" + LINES[0] + b"\r\n  \n\n" + LINES[1] + b"\r\n" + LINES[2] + b"\n"
            + LINES[3])  # the last line has no line ending
    src = tmp_path / f"data.jsonl{suffix}"
    src.write_bytes(compress(body, suffix) if suffix else body)
    written = tmp_path / "out" / f"data.jsonl{suffix}"
    assert write_kept(shard_of(src), np.array([True, False, True, True]),
                      str(tmp_path / "out"), fmt="input", fields=FIELDS) == 3
    data = written.read_bytes()
    if suffix:
        data = decompress(data, suffix)
    assert data == b"\xef\xbb\xbf" + LINES[0] + b"\r\n" + LINES[2] + b"\n" + LINES[3] + b"\n"


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed_output_is_deterministic(tmp_path: Path, suffix: str) -> None:
    src = tmp_path / "in" / f"data.jsonl{suffix}"
    src.parent.mkdir()
    src.write_bytes(compress(b"\n".join(LINES) + b"\n", suffix))
    shard = shard_of(src)
    keep = np.array([True, True, False, True, True])
    blobs = []
    for run in range(2):
        root = tmp_path / f"out{run}"
        write_kept(shard, keep, str(root), fmt="input", fields=FIELDS)
        os.utime(src, (1_000_000 * (run + 1), 1_000_000 * (run + 1)))
        blobs.append((root / f"data.jsonl{suffix}").read_bytes())
    assert blobs[0] == blobs[1]
    if suffix == ".gz":
        header = blobs[0][:10]
        assert header[:2] == b"\x1f\x8b"
        assert header[4:8] == b"\0\0\0\0"  # no time stamp
        assert header[3] & 0x08 == 0  # no file name


def test_upper_case_gz_output_is_gzip(tmp_path: Path) -> None:
    src = tmp_path / "in" / "DATA.JSONL.GZ"
    src.parent.mkdir()
    src.write_bytes(compress(b"\n".join(LINES[:2]) + b"\n", ".gz"))
    write_kept(shard_of(src), np.array([True, True]), str(tmp_path / "out"), fmt="input",
               fields=FIELDS)
    assert gzip.decompress((tmp_path / "out" / "DATA.JSONL.GZ").read_bytes()) == \
        b"\n".join(LINES[:2]) + b"\n"


def test_truncated_gz_input_writes_the_kept_lines_before_the_break(tmp_path: Path) -> None:
    rng = random.Random(5)
    lines = [json.dumps({"id": f"r{i}", "text": rng.randbytes(40).hex()}).encode()
             for i in range(3000)]
    blob = compress(b"\n".join(lines) + b"\n", ".gz")
    src = tmp_path / "in" / "cut.jsonl.gz"
    src.parent.mkdir()
    src.write_bytes(blob[: len(blob) // 2])
    shard = shard_of(src)
    recs = list(read_shard(shard, FIELDS))
    assert recs[-1].reject is not None and 0 < len(recs) - 1 < len(lines)
    keep = np.array([r.reject is None and i % 3 != 1 for i, r in enumerate(recs)])
    n = write_kept(shard, keep, str(tmp_path / "out"), fmt="input", fields=FIELDS)
    got = gzip.decompress((tmp_path / "out" / "cut.jsonl.gz").read_bytes()).splitlines()
    assert n == int(keep.sum()) == len(got)
    assert got == [lines[i] for i in np.flatnonzero(keep)]


def test_file_with_no_kept_record_is_not_written(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path / "in"
    d.mkdir()
    (d / "a.jsonl").write_bytes(b"\n".join(LINES[:2]) + b"\n")
    pq.write_table(pa.table({"text": ["x", "y"]}), d / "b.parquet")
    (d / "c.txt").write_text("hello")
    out = tmp_path / "out"
    for shard in discover((str(d),), txt_per_shard=10):
        keep = np.zeros(len(list(read_shard(shard, FIELDS))), dtype=bool)
        for fmt in ("input", "jsonl", "parquet"):
            assert write_kept(shard, keep, str(out), fmt=fmt, fields=FIELDS) == 0
    assert not out.exists() or files_under(out) == []


def test_parquet_kept_rows_keep_every_column_and_the_schema(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    n = 25
    table = pa.table({
        "id": pa.array([f"r{i}" for i in range(n)]),
        "text": pa.array([f"text {i}" if i != 3 else None for i in range(n)]),
        "score": pa.array([i / 7 for i in range(n)], pa.float32()),
        "tags": pa.array([[f"t{i}"] * (i % 3) for i in range(n)], pa.list_(pa.string())),
        "meta": pa.array([{"k": i, "v": str(i)} for i in range(n)]),
        "when": pa.array(list(range(n)), pa.timestamp("ms", tz="UTC")),
        "url": pa.array([None] * n, pa.string()),
    }).replace_schema_metadata({b"origin": b"crawl-7"})
    src = tmp_path / "in" / "rows.parquet"
    src.parent.mkdir()
    pq.write_table(table, src, row_group_size=10)  # three row groups
    shard = shard_of(src)
    keep = np.array([i % 4 == 0 and i < 10 or i in (21, 24) for i in range(n)])  # group 1 empty
    assert write_kept(shard, keep, str(tmp_path / "out"), fmt="input", fields=FIELDS) == 5
    out = pq.read_table(tmp_path / "out" / "rows.parquet")
    assert out.schema.equals(pq.read_schema(src), check_metadata=True)
    assert out.schema.metadata[b"origin"] == b"crawl-7"
    assert out.to_pylist() == table.filter(pa.array(keep)).to_pylist()


def test_txt_files_are_copied_byte_for_byte(tmp_path: Path) -> None:
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    contents = {"a.txt": "first\r\nfile ünï\n".encode(), "b.txt": b"second",
                "sub/c.txt": b"third  \n\n"}
    for name, data in contents.items():
        (d / name).write_bytes(data)
    shard = shard_of(d)
    assert shard.names == ("a.txt", "b.txt", "sub/c.txt")
    out = tmp_path / "out"
    assert write_kept(shard, np.array([True, False, True]), str(out), fmt="input",
                      fields=FIELDS) == 2
    assert files_under(out) == ["a.txt", "sub/c.txt"]
    for name in ("a.txt", "sub/c.txt"):
        assert (out / name).read_bytes() == contents[name]


def test_several_inputs_write_under_their_prefix(tmp_path: Path) -> None:
    for part in ("x", "y"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "data.jsonl").write_bytes(LINES[0] + b"\n")
    shards = discover((str(tmp_path / "x"), str(tmp_path / "y")), txt_per_shard=10)
    out = tmp_path / "out"
    for shard in shards:
        write_kept(shard, np.array([True]), str(out), fmt="input", fields=FIELDS)
    assert files_under(out) == ["x/data.jsonl", "y/data.jsonl"]


def test_convert_to_jsonl_and_parquet(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    src = tmp_path / "in" / "data.jsonl.gz"
    src.parent.mkdir()
    src.write_bytes(compress(b"\n".join(LINES) + b"\n", ".gz"))
    shard = shard_of(src)
    keep = np.array([False, True, True, False, True])
    expected = [
        {"id": "b", "text": 'café "quoted"', "url": None},
        {"id": "c", "text": "日本語のテキスト", "url": "https://x/c"},
        {"id": "e", "text": "the last one", "url": None},
    ]
    out = tmp_path / "out"
    assert write_kept(shard, keep, str(out / "j"), fmt="jsonl", fields=FIELDS) == 3
    assert write_kept(shard, keep, str(out / "p"), fmt="parquet", fields=FIELDS) == 3
    assert files_under(out) == ["j/data.jsonl", "p/data.parquet"]
    rows = [json.loads(x) for x in (out / "j" / "data.jsonl").read_text().splitlines()]
    assert rows == expected
    table = pq.read_table(out / "p" / "data.parquet")
    assert table.column_names == ["id", "text", "url"]
    assert all(str(t) == "string" for t in table.schema.types)
    assert table.to_pylist() == expected


def test_convert_txt_and_parquet_inputs(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    d = tmp_path / "txt"
    d.mkdir()
    (d / "a.txt").write_text("alpha")
    (d / "b.txt").write_text("beta")
    pq.write_table(pa.table({"doc": [1, 2, 3], "body": ["x", "y", "z"], "link": ["u", None, "w"]}),
                   tmp_path / "p.parquet")
    out = tmp_path / "out"
    assert write_kept(shard_of(d), np.array([False, True]), str(out), fmt="jsonl",
                      fields=FIELDS) == 1
    assert [json.loads(x) for x in (out / "texts-from-a.jsonl").read_text().splitlines()] == [
        {"id": "b.txt", "text": "beta", "url": None}]
    fields = Fields(id="doc", text="body", url="link")
    pshard = shard_of(tmp_path / "p.parquet")
    assert write_kept(pshard, np.array([True, False, True]), str(out / "pq"), fmt="parquet",
                      fields=fields) == 2
    assert pq.read_table(out / "pq" / "p.parquet").to_pylist() == [
        {"id": "1", "text": "x", "url": "u"}, {"id": "3", "text": "z", "url": "w"}]


def test_no_temporary_files_are_left_behind(tmp_path: Path) -> None:
    src = tmp_path / "in" / "data.jsonl.zst"
    src.parent.mkdir()
    src.write_bytes(compress(b"\n".join(LINES) + b"\n", ".zst"))
    out = tmp_path / "out"
    shard = shard_of(src)
    for fmt in ("input", "jsonl", "parquet"):
        write_kept(shard, np.ones(5, dtype=bool), str(out / fmt), fmt=fmt, fields=FIELDS)
    assert files_under(out) == ["input/data.jsonl.zst", "jsonl/data.jsonl",
                                "parquet/data.parquet"]


def test_parquet_kept_rows_that_cannot_be_copied_raise_input_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from thresher.errors import InputError

    n = 40
    src = tmp_path / "in" / "rows.parquet"
    src.parent.mkdir()
    pq.write_table(pa.table({"id": [f"r{i}" for i in range(n)], "text": ["t"] * n,
                             "extra": [os.urandom(8).hex() for _ in range(n)]}),
                   src, row_group_size=20, compression="none", use_dictionary=False)
    col = pq.ParquetFile(src).metadata.row_group(1).column(2)  # "extra", rows 21-40
    data = bytearray(src.read_bytes())
    data[col.data_page_offset : col.data_page_offset + 32] = b"\xff" * 32
    src.write_bytes(bytes(data))
    shard = shard_of(src)
    recs = list(read_shard(shard, FIELDS))  # id and text still read fine
    assert [r.reject for r in recs] == [None] * n
    out = tmp_path / "out"
    # kept rows only in the intact row group: copied
    keep = np.arange(n) < 20
    assert write_kept(shard, keep, str(out / "a"), fmt="input", fields=FIELDS) == 20
    assert pq.read_table(out / "a" / "rows.parquet").num_rows == 20
    # a kept row in the broken row group: a clear error naming file and row, no partial file
    keep[25] = True
    with pytest.raises(InputError, match=r"rows\.parquet:21: cannot copy kept rows"):
        write_kept(shard, keep, str(out / "b"), fmt="input", fields=FIELDS)
    assert files_under(out / "b") == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([b'{"id": 1}', b"  ", b"", b'{"t": "x y"}\r', b"\t{}", b"\xef\xbb\xbf"]),
                max_size=30),
       st.booleans(), st.integers(1, 40), st.randoms(use_true_random=False))
def test_block_copy_matches_line_copy(tmp_path: Path, lines: list[bytes], final_newline: bool,
                                      block: int, rnd: random.Random) -> None:
    """The block-wise copier of plain files keeps exactly what the line-wise one keeps."""
    import tempfile

    from thresher.io import writers

    tmp_path = Path(tempfile.mkdtemp(dir=tmp_path))  # one folder per example
    body = b"\n".join(lines) + (b"\n" if final_newline else b"")
    plain, packed = tmp_path / "p" / "a.jsonl", tmp_path / "g" / "a.jsonl.gz"
    for path, data in ((plain, body), (packed, compress(body, ".gz"))):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
    records = len(list(read_shard(shard_of(plain), FIELDS)))
    keep = np.array([rnd.random() < 0.6 for _ in range(records)], dtype=bool)
    old = writers._BLOCK
    writers._BLOCK = block
    try:
        for path in (plain, packed):
            out = tmp_path / "out" / path.parent.name
            write_kept(shard_of(path), keep, str(out), fmt="input", fields=FIELDS)
    finally:
        writers._BLOCK = old
    got = [tmp_path / "out" / d / n for d, n in (("p", "a.jsonl"), ("g", "a.jsonl.gz"))]
    if not keep.any():
        assert not any(p.exists() for p in got)
        return
    assert got[0].read_bytes() == decompress(got[1].read_bytes(), ".gz")


@pytest.mark.parametrize(("fmt", "rewrite", "want"), [
    ("input", True, ["crawl.warc.gz.jsonl", "crawl.warc.wet.gz.jsonl", None]),
    ("input", False, [None, None, None]),  # WARC and WET copied under their own names
    ("parquet", False, ["crawl.warc.gz.parquet", "crawl.warc.wet.gz.parquet",
                        "crawl.jsonl.parquet"]),
])
def test_converted_files_never_share_a_name(fmt: str, rewrite: bool,
                                             want: list[str | None]) -> None:
    from thresher.io.writers import converted_names

    shards = [Shard(index=0, kind="warc", files=("/in/crawl.warc.gz",),
                    names=("crawl.warc.gz",)),
              Shard(index=1, kind="wet", files=("/in/crawl.warc.wet.gz",),
                    names=("crawl.warc.wet.gz",)),
              Shard(index=2, kind="jsonl", files=("/in/crawl.jsonl",), names=("crawl.jsonl",))]
    assert converted_names(shards, fmt, rewrite) == want
    alone = converted_names(shards[1:2], fmt, rewrite)  # no clash: the short name
    assert alone == [None if want[1] is None else f"crawl.{want[1].rsplit('.', 1)[1]}"]


def test_a_converted_name_a_copied_file_has_is_lengthened_or_refused() -> None:
    from thresher.errors import ConfigError
    from thresher.io.writers import converted_names

    warc = Shard(index=0, kind="warc", files=("/in/a.warc.gz",), names=("a.warc.gz",))
    copied = Shard(index=1, kind="jsonl", files=("/in/a.jsonl",), names=("a.jsonl",))
    # the converted WARC would be a.jsonl, which the copied JSONL already is
    assert converted_names([warc, copied], "input", True)[0] == "a.warc.gz.jsonl"
    odd = Shard(index=2, kind="jsonl", files=("/in/a.warc.gz.jsonl",),
                names=("a.warc.gz.jsonl",))
    with pytest.raises(ConfigError, match="same kept file"):
        converted_names([warc, copied, odd], "input", True)


def test_warc_and_wet_of_one_crawl_keep_every_kept_record(tmp_path: Path) -> None:
    """Both files of one crawl (same stem) converted to JSONL: two kept files, not one.
    (Whole-text matching keeps both: on content they are one page, see test_content.)"""
    from tests.conftest import SHARED, need_shared
    from thresher import dedup

    src = need_shared(SHARED / "eval" / "cc-whirlwind")
    inp = tmp_path / "in"
    inp.mkdir()
    for name in ("whirlwind.warc.gz", "whirlwind.warc.wet.gz"):
        (inp / name).write_bytes((src / name).read_bytes())
    summary = dedup(inputs=[inp], output=tmp_path / "out", executor="serial",
                    match="full", output_format="jsonl")
    kept = list((tmp_path / "out" / "kept").iterdir())
    lines = sum(len(p.read_text().splitlines()) for p in kept)
    assert summary["counts"]["kept"] == lines == len(kept) == 2

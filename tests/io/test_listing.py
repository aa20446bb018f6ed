"""Inputs named by listing files and URLs (io/listing.py), and files published to URLs
(io/remote.py), on local files and fsspec's in-memory and file:// file systems."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from thresher.errors import ConfigError
from thresher.io import remote
from thresher.io.atomic import TEMPORARY_MARK
from thresher.io.listing import expand
from thresher.io.sources import discover, input_names

fsspec = pytest.importorskip("fsspec", reason="URLs need fsspec: pip install 'thresher[s3]'")


def _files(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text('{"text": "a b c"}\n')


def test_a_listing_names_files_below_the_folder_they_share(tmp_path: Path) -> None:
    _files(tmp_path / "crawl", ["x/b.jsonl", "a.jsonl.gz", "x/y/c.parquet"])
    listing = tmp_path / "crawl" / "paths.txt.gz"
    listing.write_bytes(gzip.compress(b"# three files\n\nx/y/c.parquet\n  x/b.jsonl\n"
                                      + str(tmp_path / "crawl" / "a.jsonl.gz").encode()))
    found, folder = expand(f"@{listing}") or ([], False)
    assert folder
    assert [name for _, name in found] == ["a.jsonl.gz", "x/b.jsonl", "x/y/c.parquet"]
    assert all(os.path.isabs(path) for path, _ in found)


def test_a_listing_is_one_input_named_after_itself(tmp_path: Path) -> None:
    _files(tmp_path, ["a/one.jsonl", "b/one.jsonl"])
    (tmp_path / "p.txt").write_text("a/one.jsonl\nb/one.jsonl\n")
    given = (f"@{tmp_path / 'p.txt'}", str(tmp_path / "a" / "one.jsonl"))
    shards = discover(given, txt_per_shard=10, found={given[0]: expand(given[0])})
    assert input_names(given) == ["p.txt", "one.jsonl"]
    assert [(s.prefix, s.names) for s in shards] == [
        ("p.txt/", ("a/one.jsonl",)), ("p.txt/", ("b/one.jsonl",)), ("", ("one.jsonl",))]


@pytest.mark.parametrize(("lines", "said"), [
    ("missing.jsonl\n", "missing.jsonl (in"),
    ("notes.csv\n", "unknown input format"),
    ("# nothing\n\n", "names no input"),
    ("a.jsonl\na.jsonl\n", "names a file twice"),
])
def test_a_bad_listing_is_one_line_saying_what(tmp_path: Path, lines: str, said: str
                                               ) -> None:
    _files(tmp_path, ["a.jsonl"])
    (tmp_path / "p.txt").write_text(lines)
    with pytest.raises(ConfigError) as err:
        expand(f"@{tmp_path / 'p.txt'}")
    assert said in str(err.value) and "\n" not in str(err.value)


def test_a_missing_listing_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="listing .*nope.txt does not exist"):
        expand(f"@{tmp_path / 'nope.txt'}")


def test_urls_are_found_by_prefix_and_glob_in_name_order() -> None:
    fs = fsspec.filesystem("memory")
    for name in ("c/z.jsonl", "c/a.jsonl.gz", "c/sub/m.parquet", "c/notes.csv"):
        fs.pipe_file(f"/listing-test/{name}", b"{}\n")
    prefix = expand("memory://listing-test/c/")
    assert prefix is not None and prefix[1]
    assert [n for _, n in prefix[0]] == ["a.jsonl.gz", "sub/m.parquet", "z.jsonl"]
    url = prefix[0][0][0]  # as fsspec writes it: memory:// URLs take a leading slash
    assert url.startswith("memory://") and url.endswith("/listing-test/c/a.jsonl.gz")
    globbed = expand("memory://listing-test/c/*.jsonl")
    assert globbed is not None and [n for _, n in globbed[0]] == ["z.jsonl"]
    one = expand("memory://listing-test/c/sub/m.parquet")
    assert one == ([("memory://listing-test/c/sub/m.parquet", "m.parquet")], False)
    assert remote.info(one[0][0][0])[0] == 3  # its size, kept from the listing
    assert expand("local/path.jsonl") is None
    with pytest.raises(ConfigError, match="memory://listing-test/c/none.jsonl does not exist"):
        expand("memory://listing-test/c/none.jsonl")
    with pytest.raises(ConfigError, match="no input files in memory://listing-test/c/q"):
        expand("memory://listing-test/c/q*.jsonl")


def test_a_published_folder_shows_only_whole_files(tmp_path: Path) -> None:
    target = f"file://{tmp_path / 'out'}"  # no whole-file PUT: a temporary name, moved
    with remote.staged_folder(target) as local:
        Path(local, "sub").mkdir()
        Path(local, "sub", "a.jsonl").write_bytes(b"x" * 100_000)
        Path(local, "b.jsonl" + TEMPORARY_MARK + "1").write_bytes(b"half")
        assert not (tmp_path / "out").exists()  # nothing there before the block ends
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in
                  (tmp_path / "out").rglob("*") if p.is_file()) == ["sub/a.jsonl"]
    assert (tmp_path / "out" / "sub" / "a.jsonl").read_bytes() == b"x" * 100_000
    assert not os.path.exists(local)


def test_a_failed_block_publishes_nothing() -> None:
    with pytest.raises(RuntimeError), remote.staged_file("memory://pub-test/x.json") as local:
        Path(local).write_bytes(b"{}")
        raise RuntimeError("killed")
    assert not fsspec.filesystem("memory").exists("/pub-test/x.json")

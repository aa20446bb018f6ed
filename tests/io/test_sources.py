"""discover(): which files are read, in which order, and how they are cut into shards."""

from __future__ import annotations

import logging
import os
from collections import Counter
from pathlib import Path

import pytest

from thresher.errors import ConfigError
from thresher.io.sources import discover, kind_of


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def layout(shards: list) -> list[tuple[int, str, tuple[str, ...], str]]:  # type: ignore[type-arg]
    return [(s.index, s.kind, s.names, s.prefix) for s in shards]


@pytest.mark.parametrize(("name", "kind"), [
    ("a.jsonl", "jsonl"), ("a.jsonl.gz", "jsonl"), ("a.jsonl.zst", "jsonl"),
    ("a.ndjson", "jsonl"), ("a.ndjson.gz", "jsonl"), ("a.ndjson.zst", "jsonl"),
    ("a.json.gz", "jsonl"), ("A.JSONL.GZ", "jsonl"), ("dir.d/a.parquet", "parquet"),
    ("a.txt", "txt"), ("a.TXT", "txt"), ("a.csv", None), ("a.gz", None),
    ("a.jsonl.tmp-123", None), ("README", None), ("a.txt.bak", None),
])
def test_kind_of(name: str, kind: str | None) -> None:
    assert kind_of(name) == kind


def test_files_are_sorted_whatever_order_they_were_made_in(tmp_path: Path) -> None:
    touch(tmp_path, "c.jsonl", "a.jsonl", "b.parquet", "B.jsonl", "a10.jsonl", "a2.jsonl")
    shards = discover((str(tmp_path),), txt_per_shard=10)
    assert [s.names[0] for s in shards] == ["B.jsonl", "a.jsonl", "a10.jsonl", "a2.jsonl",
                                             "b.parquet", "c.jsonl"]
    assert [s.index for s in shards] == list(range(6))
    assert [s.files[0] for s in shards] == [str(tmp_path / s.names[0]) for s in shards]
    assert discover((str(tmp_path),), txt_per_shard=10) == shards


def test_nested_folders(tmp_path: Path) -> None:
    touch(tmp_path, "z.jsonl", "b/2.jsonl", "b/1.jsonl", "a/deep/er/x.parquet", "a/y.jsonl.gz")
    shards = discover((str(tmp_path),), txt_per_shard=10)
    names = [s.names[0] for s in shards]
    # sorted by relative path, whatever the nesting
    assert names == ["a/deep/er/x.parquet", "a/y.jsonl.gz", "b/1.jsonl", "b/2.jsonl", "z.jsonl"]
    for s in shards:
        assert Path(s.files[0]) == tmp_path / s.names[0]
        assert Path(s.files[0]).is_file()


def test_txt_files_are_grouped_into_shards(tmp_path: Path) -> None:
    touch(tmp_path, "e.txt", "d.txt", "c.txt", "sub/a.txt", "b.txt", "m.jsonl", "n.parquet")
    shards = discover((str(tmp_path),), txt_per_shard=2)
    assert layout(shards) == [
        (0, "jsonl", ("m.jsonl",), ""),
        (1, "parquet", ("n.parquet",), ""),
        (2, "txt", ("b.txt", "c.txt"), ""),
        (3, "txt", ("d.txt", "e.txt"), ""),
        (4, "txt", ("sub/a.txt",), ""),
    ]
    assert all(len(s.files) == len(s.names) for s in shards)
    assert layout(discover((str(tmp_path),), txt_per_shard=1000))[2:] == [
        (2, "txt", ("b.txt", "c.txt", "d.txt", "e.txt", "sub/a.txt"), "")]


def test_unknown_extensions_are_ignored_in_folders(tmp_path: Path) -> None:
    touch(tmp_path, "a.jsonl", "notes.csv", "README", "data.xml", "x.jsonl.tmp-99",
          "sub/photo.png", "sub/b.txt")
    shards = discover((str(tmp_path),), txt_per_shard=10)
    assert [n for s in shards for n in s.names] == ["a.jsonl", "sub/b.txt"]


def test_unknown_single_file_is_a_config_error(tmp_path: Path) -> None:
    touch(tmp_path, "notes.csv")
    with pytest.raises(ConfigError, match=r"notes\.csv: unknown input format"):
        discover((str(tmp_path / "notes.csv"),), txt_per_shard=10)


def test_single_file_is_named_by_its_base_name(tmp_path: Path) -> None:
    touch(tmp_path, "deep/down/data.jsonl.zst")
    (shard,) = discover((str(tmp_path / "deep" / "down" / "data.jsonl.zst"),), txt_per_shard=1)
    assert layout([shard]) == [(0, "jsonl", ("data.jsonl.zst",), "")]
    assert shard.files == (str(tmp_path / "deep" / "down" / "data.jsonl.zst"),)


def test_missing_path_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(ConfigError, match="does not exist") as err:
        discover((str(missing),), txt_per_shard=10)
    assert str(missing) in str(err.value)


@pytest.mark.parametrize("contents", [(), ("readme.md", "sub/x.csv"), ("sub/",)])
def test_folder_without_input_files_is_a_config_error(tmp_path: Path,
                                                      contents: tuple[str, ...]) -> None:
    root = tmp_path / "in"
    root.mkdir()
    for name in contents:
        if name.endswith("/"):
            (root / name).mkdir()
        else:
            touch(root, name)
    with pytest.raises(ConfigError, match="no input files in") as err:
        discover((str(root),), txt_per_shard=10)
    assert str(root) in str(err.value)


def test_one_bad_input_among_several_fails_the_whole_discovery(tmp_path: Path) -> None:
    touch(tmp_path, "ok/a.jsonl")
    with pytest.raises(ConfigError, match="does not exist"):
        discover((str(tmp_path / "ok"), str(tmp_path / "missing")), txt_per_shard=10)


def test_several_inputs_go_under_their_own_names_in_the_order_given(tmp_path: Path
                                                                      ) -> None:
    touch(tmp_path, "x/data.jsonl", "x/t1.txt", "y/data.jsonl", "y/t2.txt", "z.parquet")
    shards = discover((str(tmp_path / "y"), str(tmp_path / "x"), str(tmp_path / "z.parquet")),
                      txt_per_shard=10)
    assert layout(shards) == [
        (0, "jsonl", ("data.jsonl",), "y/"),
        (1, "txt", ("t2.txt",), "y/"),
        (2, "jsonl", ("data.jsonl",), "x/"),
        (3, "txt", ("t1.txt",), "x/"),
        (4, "parquet", ("z.parquet",), ""),
    ]
    assert shards[0].files[0] == str(tmp_path / "y" / "data.jsonl")


def test_inputs_of_one_name_are_numbered_by_position(tmp_path: Path) -> None:
    touch(tmp_path, "a/crawl/p.jsonl", "b/crawl/p.jsonl", "a/d.jsonl", "b/d.jsonl",
          "c/Crawl/q.txt")
    given = [tmp_path / "a/crawl", tmp_path / "a/d.jsonl", tmp_path / "b/crawl",
             tmp_path / "b/d.jsonl", tmp_path / "c/Crawl"]
    shards = discover(tuple(map(str, given)), txt_per_shard=10)
    assert [s.prefix + s.names[0] for s in shards] == [
        "crawl~1/p.jsonl", "d~2.jsonl", "crawl~3/p.jsonl", "d~4.jsonl", "Crawl~5/q.txt"]
    assert discover(tuple(map(str, given)), txt_per_shard=10) == shards  # deterministic


def test_a_name_made_up_that_an_input_has_is_refused(tmp_path: Path) -> None:
    touch(tmp_path, "a/x/p.jsonl", "b/x/p.jsonl", "x~1/p.jsonl")
    with pytest.raises(ConfigError, match="both be named 'x~1'"):
        discover((str(tmp_path / "a/x"), str(tmp_path / "b/x"), str(tmp_path / "x~1")),
                 txt_per_shard=10)


def test_within_an_input_other_files_come_before_txt_files(tmp_path: Path) -> None:
    touch(tmp_path, "a.txt", "b.jsonl", "c.txt", "d.parquet")
    assert [s.names for s in discover((str(tmp_path),), txt_per_shard=10)] == [
        ("b.jsonl",), ("d.parquet",), ("a.txt", "c.txt")]


def test_an_unknown_format_names_every_format(tmp_path: Path) -> None:
    touch(tmp_path, "x.csv")
    with pytest.raises(ConfigError) as err:
        discover((str(tmp_path / "x.csv"),), txt_per_shard=10)
    for fmt in (".txt", ".jsonl", ".parquet", "WARC (.warc, .warc.gz)", "WET (.warc.wet"):
        assert fmt in str(err.value)


def test_single_input_has_no_prefix(tmp_path: Path) -> None:
    touch(tmp_path, "a.jsonl")
    assert [s.prefix for s in discover((str(tmp_path),), txt_per_shard=10)] == [""]


def test_skip_passes_over_an_output_folder_inside_the_input(tmp_path: Path) -> None:
    touch(tmp_path, "a.jsonl", "out/kept/a.jsonl", "out/decisions.parquet")
    shards = discover((str(tmp_path),), txt_per_shard=10, skip=(str(tmp_path / "out"),))
    assert [s.names[0] for s in shards] == ["a.jsonl"]


# --- files that are not regular files ------------------------------------------------


def _odd_files(root: Path) -> dict[str, str]:
    """Make a folder of readable and unreadable inputs; return the reasons expected."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "good.jsonl").write_bytes(b'{"id": "g", "text": "a good record here"}\n')
    os.mkfifo(root / "pipe.jsonl")  # would block a reader forever
    (root / "z.jsonl").symlink_to("/dev/zero")  # would never end
    (root / "gone.jsonl").symlink_to(root / "nowhere.jsonl")
    (root / "loop.jsonl").symlink_to(root / "loop.jsonl")
    return {"pipe.jsonl": "not a regular file: FIFO",
            "z.jsonl": "not a regular file: character device",
            "gone.jsonl": "broken symbolic link", "loop.jsonl": "symbolic link loop"}


@pytest.mark.timeout(60)  # a FIFO that is opened blocks: the test must not hang
def test_files_that_cannot_be_read_are_passed_over_and_counted(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    want = _odd_files(tmp_path / "in")
    with caplog.at_level(logging.WARNING):
        shards = discover((str(tmp_path / "in"),), txt_per_shard=10)
    assert [s.names for s in shards] == [("good.jsonl",)]
    assert sorted(shards[0].passed_over) == sorted(want.values())
    for name, why in want.items():
        assert any(name in r.getMessage() and why in r.getMessage() for r in caplog.records)
    from thresher.io.batches import read_batches
    from thresher.io.records import Fields

    skipped: Counter[str] = Counter()
    batches = list(read_batches(shards[0], Fields(), skipped=skipped))
    assert [b.ids for b in batches] == [["g"]]
    assert skipped == Counter(want.values())


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["pipe.jsonl", "z.jsonl", "gone.jsonl", "loop.jsonl"])
def test_an_unreadable_input_named_directly_is_a_one_line_error(tmp_path: Path,
                                                                 name: str) -> None:
    want = _odd_files(tmp_path / "in")[name]
    with pytest.raises(ConfigError, match=f"in/{name}: {want}$"):
        discover((str(tmp_path / "in" / name),), txt_per_shard=10)


def test_a_file_name_that_is_not_utf8_gives_a_utf8_name(tmp_path: Path) -> None:
    try:
        with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9 \xff.txt"), "wb") as fh:
            fh.write(b"text of a file with an odd name")
    except OSError as exc:  # a file system that takes only UTF-8 names
        pytest.skip(f"cannot make the file: {exc}")
    (shard,) = discover((str(tmp_path),), txt_per_shard=10)
    assert shard.names == ("caf\\xe9 \\xff.txt",)
    assert os.path.exists(shard.files[0])  # the real name, to open it

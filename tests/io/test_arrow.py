"""Arrow IPC files and save_to_disk folders, made with pyarrow alone (no ``datasets``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from thresher.errors import ConfigError
from thresher.io.arrow import copy_kept_arrow, read_arrow
from thresher.io.hfdisk import finish_saved, listed_files
from thresher.io.hub import HubPath, local_copy, parse_hub
from thresher.io.records import Fields
from thresher.io.sources import discover
from thresher.io.writers import write_kept

SCHEMA = pa.schema([("text", pa.string()), ("id", pa.int64()),
                    ("metadata", pa.struct([("url", pa.string())]))],
                   metadata={b"huggingface": b'{"info": {"features": {}}}'})


def _batch(lo: int, hi: int) -> pa.RecordBatch:
    return pa.record_batch([pa.array([f"text number {i}" for i in range(lo, hi)]),
                            pa.array(range(lo, hi), pa.int64()),
                            pa.array([{"url": f"https://x/{i}"} for i in range(lo, hi)])],
                           schema=SCHEMA)


def _write(path: Path, batches: list[pa.RecordBatch], *, file_format: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with pa.OSFile(str(path), "wb") as sink, (
            pa.ipc.new_file if file_format else pa.ipc.new_stream)(sink, SCHEMA) as writer:
        for b in batches:
            writer.write_batch(b)
    return path


def _read(path: Path) -> tuple[pa.Table, bool]:
    with pa.memory_map(str(path)) as src:
        if path.read_bytes()[:6] == b"ARROW1":
            return pa.ipc.open_file(src).read_all(), True
        return pa.ipc.open_stream(src).read_all(), False


def _saved(folder: Path, parts: list[list[pa.RecordBatch]]) -> Path:
    """A save_to_disk folder, as ``datasets`` lays it out."""
    names = [f"data-{i:05d}-of-{len(parts):05d}.arrow" for i in range(len(parts))]
    for name, batches in zip(names, parts, strict=True):
        _write(folder / name, batches)
    (folder / "state.json").write_text(json.dumps(
        {"_data_files": [{"filename": n} for n in names], "_fingerprint": "f00d",
         "_split": None}))
    (folder / "dataset_info.json").write_text(json.dumps(
        {"features": {"text": {"dtype": "string", "_type": "Value"}}, "dataset_size": 1}))
    return folder


@pytest.mark.parametrize("file_format", [False, True])
def test_rows_are_records_in_order(tmp_path: Path, file_format: bool) -> None:
    path = _write(tmp_path / "a.arrow", [_batch(0, 3), _batch(3, 5)], file_format=file_format)
    recs = list(read_arrow(str(path), "a.arrow", Fields(url="metadata.url")))
    assert [(r.id, r.line, r.text, r.url) for r in recs] == [
        (str(i), i + 1, f"text number {i}", f"https://x/{i}") for i in range(5)]


def test_a_missing_text_column_rejects_every_row(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.arrow", [_batch(0, 4)])
    recs = list(read_arrow(str(path), "a.arrow", Fields(text="content")))
    assert len(recs) == 4 and all(r.text is None for r in recs)
    assert recs[0].reject == "no 'content' column (columns: text, id, metadata); see --text-field"


def test_a_cut_file_keeps_the_rows_before_the_cut(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.arrow", [_batch(0, 3), _batch(3, 6)])
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])  # inside the second batch
    recs = list(read_arrow(str(path), "a.arrow", Fields()))
    assert [r.text is not None for r in recs] == [True] * 3 + [False]
    assert recs[3].line == 4 and (recs[3].reject or "").startswith("unreadable Arrow file from row 4 on")
    out = tmp_path / "kept.arrow"
    # the kept rows lie before the cut: the copy never reads it
    assert copy_kept_arrow(str(path), np.array([True, False, True, False]), str(out)) == 2
    assert _read(out)[0]["id"].to_pylist() == [0, 2]


@pytest.mark.parametrize("file_format", [False, True])
def test_kept_rows_keep_format_schema_and_order(tmp_path: Path, file_format: bool) -> None:
    path = _write(tmp_path / "in" / "a.arrow", [_batch(0, 3), _batch(3, 7)],
                  file_format=file_format)
    shard = discover((str(path),), txt_per_shard=10)[0]
    assert shard.kind == "arrow" and not shard.dataset
    keep = np.array([True, False, True, True, False, False, True])
    assert write_kept(shard, keep, str(tmp_path / "kept"), fmt="input", fields=Fields()) == 4
    table, is_file = _read(tmp_path / "kept" / "a.arrow")
    assert is_file == file_format and table.schema.metadata == SCHEMA.metadata
    assert table.schema == SCHEMA and table["id"].to_pylist() == [0, 2, 3, 6]
    texts = [f"clean {i}" for i in range(7)]
    write_kept(shard, keep, str(tmp_path / "k2"), fmt="input", fields=Fields(), texts=texts)
    assert _read(tmp_path / "k2" / "a.arrow")[0]["text"].to_pylist() == [
        "clean 0", "clean 2", "clean 3", "clean 6"]
    assert write_kept(shard, keep, str(tmp_path / "k3"), fmt="jsonl", fields=Fields()) == 4
    assert (tmp_path / "k3" / "a.jsonl").read_text().count("\n") == 4


def test_save_to_disk_folder_reads_its_listed_files_only(tmp_path: Path) -> None:
    ds = _saved(tmp_path / "ds", [[_batch(0, 2)], [_batch(2, 4)]])
    _write(ds / "cache-0a1b2c.arrow", [_batch(100, 105)])  # left by Dataset.map
    assert listed_files(ds) == ["data-00000-of-00002.arrow", "data-00001-of-00002.arrow"]
    shards = discover((str(ds),), txt_per_shard=10)
    assert [s.names for s in shards] == [("data-00000-of-00002.arrow",),
                                         ("data-00001-of-00002.arrow",)]
    assert all(s.dataset for s in shards)
    (ds / "data-00001-of-00002.arrow").unlink()
    shards = discover((str(ds),), txt_per_shard=10)
    assert len(shards) == 1 and shards[0].passed_over == ("listed in state.json but missing",)


def test_kept_folder_is_a_save_to_disk_folder(tmp_path: Path) -> None:
    ds = _saved(tmp_path / "in" / "train", [[_batch(0, 2)], [_batch(2, 4)]])
    (tmp_path / "in" / "dataset_dict.json").write_text('{"splits": ["train"]}')
    shards = discover((str(tmp_path / "in"),), txt_per_shard=10)
    root = str(tmp_path / "kept")
    write_kept(shards[0], np.array([False, True]), root, fmt="input", fields=Fields())
    write_kept(shards[1], np.array([False, False]), root, fmt="input", fields=Fields())
    assert finish_saved(shards, root) == 1
    kept = tmp_path / "kept" / "train"
    state = json.loads((kept / "state.json").read_text())
    assert state["_data_files"] == [{"filename": "data-00000-of-00002.arrow"}]
    assert state["_fingerprint"] not in ("f00d", None) and state["_split"] is None
    assert "dataset_size" not in json.loads((kept / "dataset_info.json").read_text())
    assert json.loads((tmp_path / "kept" / "dataset_dict.json").read_text()) == {
        "splits": ["train"]}
    before = {p.name: p.read_bytes() for p in kept.iterdir()}
    finish_saved(shards, root)  # again, as a resumed run does: the same bytes
    assert {p.name: p.read_bytes() for p in kept.iterdir()} == before
    assert ds.exists()


@pytest.mark.parametrize(("url", "want"), [
    ("hf://datasets/acme/web", HubPath(repo="acme/web", revision=None, path="")),
    ("hf://datasets/acme/web/data/", HubPath(repo="acme/web", revision=None, path="data")),
    ("hf://datasets/acme/web@v1.0/en/train",
     HubPath(repo="acme/web", revision="v1.0", path="en/train")),
    ("hf://datasets/acme/web@refs/pr/3/x.parquet",
     HubPath(repo="acme/web", revision="refs/pr/3", path="x.parquet")),
    ("hf://datasets/acme/web@refs%2Fconvert%2Fparquet/default",
     HubPath(repo="acme/web", revision="refs/convert/parquet", path="default")),
])
def test_hub_paths_are_parsed(url: str, want: HubPath) -> None:
    assert parse_hub(url) == want


@pytest.mark.parametrize("url", ["hf://acme/model", "hf://datasets/acme", "hf://datasets//x",
                                 "hf://datasets/acme/web@/x"])
def test_hub_paths_other_than_datasets_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match=r"reads Hub datasets as hf://datasets/OWNER/NAME"):
        parse_hub(url)


def test_hub_inputs_without_the_extra_name_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    with pytest.raises(ConfigError, match=r"need the hf extra: pip install 'thresher\[hf\]'"):
        local_copy("hf://datasets/acme/web/data")

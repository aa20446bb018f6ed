"""Hugging Face datasets in and out: save_to_disk folders, Hub-style Parquet, hf:// paths.

Every dataset is made here and saved locally; nothing reaches the network (the Hub's
offline mode is set before huggingface_hub is imported, and hf:// inputs come from a
Hub cache laid out in a temporary folder).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import thresher
from tests.pipeline.corpus import article, edit
from thresher.cli import main

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read when huggingface_hub is imported
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
datasets = pytest.importorskip("datasets")


@pytest.fixture(autouse=True)
def _quiet() -> None:
    datasets.disable_progress_bars()


def _table(n: int, seed: int = 0) -> dict[str, list[Any]]:
    """``n`` rows: ``text``, ``id``, and a ``metadata`` struct with ``url`` and ``lang``;
    about a third exact or near copies of earlier rows."""
    rng = random.Random(seed)
    texts: list[str] = []
    for i in range(n):
        if i > 4 and rng.random() < 0.35:
            src = texts[rng.randrange(len(texts))]
            texts.append(src if rng.random() < 0.5 else edit(rng, src, 0.02))
        else:
            texts.append(article(rng, rng.randint(120, 250)))
    return {"text": texts, "id": [f"doc-{seed}-{i}" for i in range(n)],
            "metadata": [{"url": f"https://site{i % 5}.example/{seed}/{i}", "lang": "en"}
                         for i in range(n)]}


def _kept_ids(out: Path) -> list[str]:
    rows = pq.read_table(out / "decisions.parquet", columns=["id", "decision"]).to_pylist()
    return [r["id"] for r in rows if r["decision"] == "kept"]


def _expected(ds: Any, kept: set[str]) -> list[dict[str, Any]]:
    """The rows of ``ds`` that ``kept`` names, in order."""
    return [row for row in ds if row["id"] in kept]


def test_save_to_disk_round_trips_through_load_from_disk(tmp_path: Path) -> None:
    ds = datasets.Dataset.from_dict(_table(120))
    ds.save_to_disk(str(tmp_path / "ds"), num_shards=3)
    (tmp_path / "ds" / "cache-0123456789abcdef.arrow").write_bytes(  # map's cache: not rows
        (tmp_path / "ds" / "data-00000-of-00003.arrow").read_bytes())
    summary = thresher.dedup(inputs=[str(tmp_path / "ds")], output=tmp_path / "o",
                             url_field="metadata.url", executor="serial")
    c = summary["counts"]
    assert c["read"] == 120 and c["duplicate"] > 10 and c["rejected"] == 0
    back = datasets.load_from_disk(str(tmp_path / "o" / "kept"))
    kept = _kept_ids(tmp_path / "o")
    assert back.num_rows == c["kept"] == len(kept)
    assert list(back) == _expected(ds, set(kept))  # rows, columns and order
    assert back.features == ds.features  # the nested metadata struct too
    assert back._fingerprint != ds._fingerprint
    urls = pq.read_table(tmp_path / "o" / "decisions.parquet", columns=["url"])
    assert urls["url"].to_pylist() == [m["url"] for m in ds["metadata"]]


def test_dataset_dict_keeps_its_splits(tmp_path: Path) -> None:
    rows = _table(90, seed=1)
    whole = datasets.Dataset.from_dict(rows)
    dd = datasets.DatasetDict({"train": whole.select(range(60)),
                               "validation": whole.select(range(60, 90))})
    dd.save_to_disk(str(tmp_path / "dd"))
    thresher.dedup(inputs=[str(tmp_path / "dd")], output=tmp_path / "o",
                   url_field="metadata.url", executor="serial")
    back = datasets.load_from_disk(str(tmp_path / "o" / "kept"))
    assert list(back) == ["train", "validation"]  # as dataset_dict.json lists them
    kept = set(_kept_ids(tmp_path / "o"))
    for split in ("train", "validation"):
        assert list(back[split]) == _expected(dd[split], kept)
    assert sum(back.num_rows.values()) == len(kept) < 90


def test_a_split_with_nothing_kept_is_still_a_dataset(tmp_path: Path) -> None:
    train = datasets.Dataset.from_dict(_table(20, seed=2))
    blank = datasets.Dataset.from_dict(
        {"text": ["", "   "], "id": ["e1", "e2"],
         "metadata": [{"url": "https://x.example/", "lang": "en"}] * 2}, features=train.features)
    datasets.DatasetDict({"train": train, "blank": blank}).save_to_disk(str(tmp_path / "dd"))
    summary = thresher.dedup(inputs=[str(tmp_path / "dd")], output=tmp_path / "o",
                             executor="serial")
    assert summary["counts"]["rejected"] == 2
    back = datasets.load_from_disk(str(tmp_path / "o" / "kept"))
    assert list(back) == ["train", "blank"]
    assert back["blank"].num_rows == 0 and back["blank"].features == train.features
    assert list(back["train"]) == _expected(train, set(_kept_ids(tmp_path / "o")))


def test_hub_parquet_folder_round_trips_through_load_dataset(tmp_path: Path) -> None:
    src = tmp_path / "repo"
    ds = datasets.Dataset.from_dict(_table(100, seed=3))
    parts = {"train": [ds.select(range(40)), ds.select(range(40, 80))],
             "test": [ds.select(range(80, 100))]}
    for split, shards in parts.items():
        for i, part in enumerate(shards):
            part.to_parquet(str(src / "data" / f"{split}-{i:05d}-of-{len(shards):05d}.parquet"))
    result = CliRunner().invoke(main, ["dedup", str(src), "-o", str(tmp_path / "o"),
                                       "--url-field", "metadata.url", "--executor", "serial",
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    kept = set(_kept_ids(tmp_path / "o"))
    files = {split: sorted(str(p) for p in (tmp_path / "o" / "kept" / "data").glob(
        f"{split}-*.parquet")) for split in parts}
    cache = str(tmp_path / "cache")
    back = datasets.load_dataset("parquet", data_files=files, cache_dir=cache)
    inferred = datasets.load_dataset(str(tmp_path / "o" / "kept"), cache_dir=cache)
    for split, shards in parts.items():
        want = [row for part in shards for row in _expected(part, kept)]
        assert list(back[split]) == want and list(inferred[split]) == want
        assert back[split].features == ds.features
    assert sum(back.num_rows.values()) == len(kept) < 100


def test_converted_output_loads_as_parquet(tmp_path: Path) -> None:
    ds = datasets.Dataset.from_dict(_table(40, seed=4))
    ds.save_to_disk(str(tmp_path / "ds"))
    thresher.dedup(inputs=[str(tmp_path / "ds")], output=tmp_path / "o",
                   url_field="metadata.url", output_format="parquet", executor="serial")
    kept = _kept_ids(tmp_path / "o")
    back = datasets.load_dataset("parquet", cache_dir=str(tmp_path / "cache"), data_files=str(
        tmp_path / "o" / "kept" / "data-00000-of-00001.parquet"))["train"]
    want = _expected(ds, set(kept))
    assert back.column_names == ["id", "text", "url"]
    assert list(back) == [{"id": r["id"], "text": r["text"], "url": r["metadata"]["url"]}
                          for r in want]
    assert not (tmp_path / "o" / "kept" / "state.json").exists()


def _hub_cache(root: Path, repo: str, files: dict[str, Path]) -> Path:
    """Lay out ``files`` as the Hub cache holds a dataset snapshot at ``main``."""
    folder = root / f"datasets--{repo.replace('/', '--')}"
    commit = "0" * 40
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    for name, path in files.items():
        target = folder / "snapshots" / commit / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return folder / "snapshots" / commit


def test_hf_path_reads_the_hub_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = pytest.importorskip("huggingface_hub")
    ds = datasets.Dataset.from_dict(_table(30, seed=5))
    ds.to_parquet(str(tmp_path / "train.parquet"))
    snapshot = _hub_cache(tmp_path / "hub", "acme/web",
                          {"data/train-00000-of-00001.parquet": tmp_path / "train.parquet",
                           "README.md": tmp_path / "train.parquet"})
    monkeypatch.setattr(hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hub.constants, "HF_HUB_OFFLINE", True)
    result = CliRunner().invoke(main, ["dedup", "hf://datasets/acme/web/data", "-o",
                                       str(tmp_path / "o"), "--executor", "serial", "--json"])
    assert result.exit_code == 0, result.output
    kept = set(_kept_ids(tmp_path / "o"))
    back = pq.read_table(tmp_path / "o" / "kept" / "train-00000-of-00001.parquet")
    assert back.to_pylist() == _expected(ds, kept)
    assert f'"{snapshot / "data"}"' in result.output  # the local copy is what was read
    missing = CliRunner().invoke(main, ["dedup", "hf://datasets/acme/web/nothing-here", "-o",
                                        str(tmp_path / "o2")])
    assert missing.exit_code != 0 and "nothing-here is not in acme/web" in missing.output


def test_a_saved_dataset_is_annotated_in_its_own_format(tmp_path: Path) -> None:
    import pyarrow as pa
    from datasets import Dataset, load_from_disk

    texts = ["the same words again and again " * 8, "the same words again and again " * 8,
             "something else entirely, said once " * 8]
    Dataset.from_dict({"id": ["a", "b", "c"], "text": texts}).save_to_disk(tmp_path / "ds")
    thresher.dedup(inputs=[tmp_path / "ds"], output=tmp_path / "o", match="full",
                   annotate=True)
    (arrow,) = (tmp_path / "o" / "annotated").rglob("*.arrow")
    table = pa.ipc.open_stream(pa.memory_map(str(arrow))).read_all()
    marks = table["thresher"].to_pylist()
    assert table["id"].to_pylist() == ["a", "b", "c"]
    assert [m["decision"] for m in marks] == ["kept", "duplicate", "kept"]
    assert [m["cluster_size"] for m in marks] == [2, 2, 1]
    assert load_from_disk(str(tmp_path / "o" / "kept")).num_rows == 2

"""The index store: segments, manifest, one writer, crash safety, lookups."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

import thresher
from thresher.core.lookup import fp_tables
from thresher.index.store import IndexStore

CONFIG = {"minhash": {"threshold": 0.8, "num_perm": 128}, "content": {"match": "content"}}


def _batch(n: int, seed: int, first: int = 0) -> tuple[dict[str, Any], Any]:
    rng = np.random.default_rng(seed)
    keys = rng.integers(1, 2**63, size=(n, 3)).astype(np.uint64)
    flat, owner = keys.reshape(-1), np.repeat(np.arange(n, dtype=np.uint32), 3)
    order = np.argsort(flat, kind="stable")
    fp = rng.integers(1, 2**63, size=(n, 2)).astype(np.uint64)
    sizes = rng.integers(1, 6, size=n)
    shoff = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
    arrays = {"keys": flat[order], "kdocs": owner[order], "fp": fp,
              **fp_tables(fp),
              "sh": np.arange(shoff[-1], dtype=np.uint32), "shoff": shoff,
              "site": np.zeros(n, np.uint64), "title": np.zeros(n, np.uint64),
              "span": np.zeros((n, 2), np.int64), "tkeys": np.zeros(0, np.uint64),
              "tcounts": np.zeros(0, np.uint32), "gkeys": np.zeros(0, np.uint64),
              "gpages": np.zeros(0, np.int64)}
    decided = {"sim": rng.random(n), "cont": rng.random(n),
               "why": rng.integers(0, 4, n).astype(np.uint8)}
    if seed % 2:  # whole-text fingerprints (index-wide numbers): only in some segments
        text = fp_tables(fp ^ np.uint64(1))
        if seed % 4 == 1:  # and how each page was decided: only in some of those
            text.update({f"fp{k}": v[text["fporder"]] for k, v in decided.items()})
        else:
            decided = {"sim": np.ones(n), "cont": np.ones(n), "why": np.full(n, 3, np.uint8)}
        text["fporder"] = text["fporder"] + first
        arrays.update({f"t{k}": v for k, v in text.items()})
    docs = pa.table({"id": [f"b{seed}-{i}" for i in range(n)], "url": [None] * n,
                     "file": ["f"] * n, "line": list(range(1, n + 1))})
    return {"arrays": arrays, "keys": keys, "decided": decided}, docs


def test_create_commit_and_look_up(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "ix", CONFIG)
    assert store.stats()["documents"] == 0
    made = []
    for seed in (1, 2):
        batch, docs = _batch(50, seed)
        with store.writer():
            store.commit(batch["arrays"], docs, {"inputs": ["x"]})
        made.append(batch)
    segs = store.segments()
    assert [s.batch for s in segs] == [1, 2] and [s.first for s in segs] == [0, 50]
    which, local = segs[1].lookup(made[1]["keys"][7])
    assert set(local.tolist()) == {7} and sorted(which.tolist()) == [0, 1, 2]
    which, local = segs[0].lookup(made[1]["keys"][7])
    assert local.shape[0] == 0
    fp = made[0]["arrays"]["fp"]
    assert segs[0].lookup_fp(fp[[3, 9]]).tolist() == [3, 9]
    assert segs[1].lookup_fp(fp[[3]]).tolist() == [-1]
    flat, off = segs[0].shingles(np.array([2, 0]))
    sh, shoff = made[0]["arrays"]["sh"], made[0]["arrays"]["shoff"]
    assert flat[off[0]:off[1]].tolist() == sh[shoff[2]:shoff[3]].tolist()
    assert segs[1].table(["id"])["id"][0].as_py() == "b2-0"
    stats = store.stats()
    assert stats["documents"] == 100 and stats["batches"] == 2 and stats["bytes_per_document"]


def test_a_segment_begun_early_holds_its_streamed_file(tmp_path: Path) -> None:
    """A file streamed into a segment begun before the commit is in the segment; a
    stream that fails fails the commit, which then lists nothing and leaves no folder."""
    store = IndexStore.create(tmp_path / "ix", CONFIG)
    batch, docs = _batch(40, 2)
    sh = batch["arrays"].pop("sh")
    with store.writer():
        segment = store.new_segment()
        segment.stream("sh", lambda path: np.save(path, sh))
        store.commit(batch["arrays"], docs, {"inputs": ["x"]}, segment=segment)
    seg = store.segments()[0]
    flat, off = seg.shingles(np.array([5]))
    shoff = batch["arrays"]["shoff"]
    assert flat[off[0]:off[1]].tolist() == sh[shoff[5]:shoff[6]].tolist()

    def broken(path: Path) -> None:
        raise OSError(28, "No space left on device")

    again, docs = _batch(40, 4)
    again["arrays"].pop("sh")
    with store.writer():
        segment = store.new_segment()
        segment.stream("sh", broken)
        with pytest.raises(OSError, match="No space left"):
            store.commit(again["arrays"], docs, {"inputs": ["y"]}, segment=segment)
    assert store.stats()["documents"] == 40 and len(store.segments()) == 1
    assert [p.name for p in (tmp_path / "ix" / "segments").iterdir()] == [seg.name]


def test_config_mismatch_and_non_index_are_refused(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "ix", CONFIG)
    other = {"minhash": {"threshold": 0.7, "num_perm": 128}, "content": {"match": "content"}}
    with pytest.raises(thresher.ConfigError, match=r"minhash.threshold: index 0.8, given 0.7"):
        store.check_config(other)
    store.check_config(CONFIG)
    with pytest.raises(thresher.ConfigError, match="not a thresher index"):
        IndexStore(tmp_path / "nothing").manifest()
    with pytest.raises(thresher.ConfigError, match="already a thresher index"):
        IndexStore.create(tmp_path / "ix", CONFIG)


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    store = IndexStore.create(tmp_path / "ix", CONFIG)
    second = IndexStore(tmp_path / "ix").writer()
    with store.writer(), pytest.raises(thresher.ConfigError, match="another thresher"), second:
        pass


_KILLED_WRITER = """
import sys, time, numpy as np
sys.path.insert(0, {tests!r})
from tests.index.test_store import _batch
from thresher.core.lookup import fp_tables
from thresher.index.store import IndexStore
import thresher.index.store as st
store = IndexStore({path!r})
real = st._fsync
def slow(path):  # the segment is written, not yet listed: stop here and wait to be killed
    real(path)
    if ".tmp-" in str(path):
        print("written", flush=True)
        time.sleep(60)
st._fsync = slow
batch, docs = _batch(40, 3)
with store.writer():
    store.commit(batch["arrays"], docs, {{}})
"""


def test_a_killed_writer_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "ix"
    store = IndexStore.create(path, CONFIG)
    batch, docs = _batch(30, 1)
    with store.writer():
        store.commit(batch["arrays"], docs, {})
    before = (path / "manifest.json").read_bytes()
    code = _KILLED_WRITER.format(tests=str(Path(__file__).resolve().parents[2]), path=str(path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (path / "manifest.json").read_bytes() == before  # the batch is not half there
    assert [s.docs for s in store.segments()] == [30]
    leftovers = [p for p in (path / "segments").iterdir() if p.name.startswith(".tmp-")]
    assert leftovers  # what the killed writer left, unlisted
    batch, docs = _batch(20, 2)
    started = time.monotonic()
    with store.writer():  # the lock died with its holder; the leftovers are removed
        store.commit(batch["arrays"], docs, {})
    assert time.monotonic() - started < 30
    assert not [p for p in (path / "segments").iterdir() if p.name.startswith(".tmp-")]
    assert [s.docs for s in store.segments()] == [30, 20]


def test_segments_are_merged_and_numbers_kept(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import thresher.index.store as st
    from thresher.index.segment import FENCE

    store = IndexStore.create(tmp_path / "ix", CONFIG)
    store.max_segments = 3
    made = []
    for seed in range(1, 8):
        batch, docs = _batch(10 + seed, seed, sum(10 + k for k in range(1, seed)))
        with store.writer():
            store.commit(batch["arrays"], docs, {})
        made.append(batch)
    segs = store.segments()
    assert len(segs) == 3 and store.stats()["batches"] == 7
    assert sum(s.docs for s in segs) == sum(10 + seed for seed in range(1, 8))
    first = 0
    for b, batch in enumerate(made, start=1):
        for local in (0, 5):
            want = first + local
            (seg,) = [s for s in segs if s.first <= want < s.first + s.docs]
            _, found = seg.lookup(batch["keys"][local])
            assert set((seg.first + found).tolist()) == {want}
            assert seg.batch_of(found[:1]).tolist() == [b]
            assert seg.lookup_fp(batch["arrays"]["fp"][[local]]).tolist() == [want - seg.first]
            text_fp = batch["arrays"]["fp"][[local]] ^ np.uint64(1)
            assert seg.lookup_fp(text_fp, "tfp").tolist() == [
                want if "tfpkey" in batch["arrays"] else -1]
            if "tfpkey" in batch["arrays"]:  # how it was decided, kept through merges
                number, sim, cont, why = seg.lookup_text(text_fp)
                assert number.tolist() == [want]
                assert (sim[0], cont[0], why[0]) == tuple(
                    batch["decided"][k][local] for k in ("sim", "cont", "why"))
            flat, _ = seg.shingles(np.array([want - seg.first]))
            sh, shoff = batch["arrays"]["sh"], batch["arrays"]["shoff"]
            assert flat.tolist() == sh[shoff[local]:shoff[local + 1]].tolist()
        first += batch["keys"].shape[0]
    # Merged tables: sorted, holding every batch's keys and fingerprints, nothing else.
    starts = np.cumsum([0] + [b["keys"].shape[0] for b in made])
    for seg in segs:
        keys, kdocs = np.asarray(seg.keys), np.asarray(seg.kdocs)
        assert np.all(keys[:-1] <= keys[1:])
        want = sorted((int(k), int(start - seg.first + d))
                      for batch, start in zip(made, starts.tolist(), strict=False)
                      if seg.first <= start < seg.first + seg.docs
                      for d, row in enumerate(batch["keys"]) for k in row)
        assert sorted(zip(keys.tolist(), kdocs.tolist(), strict=True)) == want
        if seg.name.count("-") > 1:  # merged: the fence was written from the merged keys
            assert np.array_equal(np.load(seg.path / "kfence.npy"), keys[::FENCE])
        tables = fp_tables(np.asarray(seg.array("fp")))
        for name, table in tables.items():
            assert np.array_equal(seg.array(name), table)
    # Merged-away segments stay for readers that opened the index before, then go.
    names = {p.name for p in (tmp_path / "ix" / "segments").iterdir()}
    assert len(names) > 3
    stats = store.stats()  # disk per document counts the listed segments only
    assert 0 < stats["retired_bytes"] < stats["disk_bytes"]
    assert stats["bytes_per_document"] == round(
        (stats["disk_bytes"] - stats["retired_bytes"]) / stats["documents"], 1)
    monkeypatch.setattr(st, "RETIRED_SECONDS", 0)
    with store.writer():
        pass
    assert {p.name for p in (tmp_path / "ix" / "segments").iterdir()} == {s.name for s in segs}
    assert store.stats()["retired_bytes"] == 0


def test_summed_site_tables_answer_what_the_segments_sum_to(tmp_path: Path) -> None:
    from thresher.core.lookup import sorted_lookup
    from thresher.index.segment import site_stats, summed_site_tables

    store = IndexStore.create(tmp_path / "ix", CONFIG)
    rng = np.random.default_rng(8)
    for seed in (1, 2, 3):
        batch, docs = _batch(20, seed)
        tkeys = np.unique(rng.integers(1, 60, 30).astype(np.uint64))
        gkeys = np.unique(rng.integers(1, 9, 4).astype(np.uint64))
        batch["arrays"].update({
            "tkeys": tkeys, "tcounts": rng.integers(2, 9, tkeys.shape[0]).astype(np.uint32),
            "gkeys": gkeys, "gpages": rng.integers(1, 30, gkeys.shape[0]).astype(np.int64)})
        with store.writer():
            store.commit(batch["arrays"], docs, {})
    segs = store.segments()
    keys, ghash = np.arange(0, 70, dtype=np.uint64), np.arange(0, 12, dtype=np.uint64)
    counts, pages = site_stats(segs, keys, ghash)
    assert counts.sum() > 0 and pages.sum() > 0
    t = summed_site_tables(segs)
    assert sorted_lookup(keys, t["tkeys"], t["tcounts"], default=0).tolist() == counts.tolist()
    assert sorted_lookup(ghash, t["gkeys"], t["gpages"], default=0).tolist() == pages.tolist()


def test_store_keys_are_the_band_keys_with_the_band_mixed_in() -> None:
    """The index's keys: band b's LSH key (as band 0 computes it) mixed with b + 1."""
    from thresher.core.lsh import band_keys, store_keys

    rng = np.random.default_rng(4)
    sig = rng.integers(0, 2**32, size=(7, 12), dtype=np.uint64).astype(np.uint32)
    title = np.array([0, 5, 0, 0, 9, 0, 0], dtype=np.uint64)
    keys, owners = store_keys(sig, 3, 4, title=title)
    want = []
    for b in range(3):
        k = band_keys(np.ascontiguousarray(sig[:, b * 4:(b + 1) * 4]), 0, 4)
        with np.errstate(over="ignore"):
            k = (k ^ (np.uint64(b + 1) * np.uint64(0xD6E8FEB86659FD93))) * np.uint64(
                0xFF51AFD7ED558CCD)
        want += (k ^ (k >> np.uint64(31))).tolist()
    assert keys.tolist() == [*want, 5, 9]
    assert owners.tolist() == [*range(7), *range(7), *range(7), 1, 4]


def test_keys_dealt_shard_by_shard_are_the_stable_sort_of_all_keys(tmp_path: Path) -> None:
    """The commit's key table: each shard's store keys (of its kept rows, owners numbered
    across the shards) dealt straight into parts and sorted is the stable sort of all
    the shards' keys laid end to end."""
    from thresher.core.lsh import count_store_keys, store_keys
    from thresher.core.sorting import part_bits
    from thresher.executors import thread_pool
    from thresher.index.commit import _sorted_keys
    from thresher.pipeline.workdir import WorkDir

    rng = np.random.default_rng(8)
    work = WorkDir(tmp_path / "work")
    bands, rows = 4, 3
    locals_, titled, all_keys, all_owners, first = [], [], [], [], 0
    for s, n in enumerate((50_000, 0, 7, 30_000)):  # an empty shard, a small one
        sig = rng.integers(0, 2**32, size=(n, bands * rows)).astype(np.uint32)
        if n > 100:
            sig[n // 2:n // 2 + 40] = sig[:40]  # repeated rows: equal keys
        (work.root / "content").mkdir(parents=True, exist_ok=True)
        sig.tofile(work.root / "content" / f"{s:05d}.sig.bin")
        local = np.flatnonzero(rng.random(n) < 0.8)
        title = np.where(rng.random(local.shape[0]) < 0.3,
                         rng.integers(1, 50, local.shape[0]), 0).astype(np.uint64)
        keys, owners = store_keys(sig[local], bands, rows, title=title)
        all_keys.append(keys)
        all_owners.append(owners + first)
        first += local.shape[0]
        locals_.append(local)
        titled.append((title, np.flatnonzero(title != 0)))
    keys = np.concatenate(all_keys)
    order = np.argsort(keys, kind="stable")
    want_owners, want_keys = np.concatenate(all_owners)[order], keys[order]
    bits = part_bits(keys.shape[0])
    counts = np.zeros((len(locals_), 1 << bits), dtype=np.int64)
    for s, local in enumerate(locals_):
        sig = np.fromfile(work.root / "content" / f"{s:05d}.sig.bin", np.uint32).reshape(
            -1, bands * rows)
        count_store_keys(sig, local, bands, rows, *titled[s], bits, counts[s])
    for threads in (1, 2):
        helpers = thread_pool(threads - 1)
        owners, got = _sorted_keys(work, "content", locals_, titled=titled, counts=counts,
                                   bands=bands, rows=rows, columns=bands * rows, bits=bits,
                                   helpers=helpers)
        helpers.shutdown()
        assert owners.dtype == np.uint32 and np.array_equal(got, want_keys)
        assert np.array_equal(owners, want_owners)


@pytest.mark.parametrize("entry", [
    {"name": "../../../victim/seg", "batch": 1, "docs": 1},
    {"name": "seg-000001/../../victim", "batch": 1, "docs": 1},
    {"name": "/tmp/seg-000001", "batch": 1, "docs": 1},
    {"name": "seg-000001\n", "batch": 1, "docs": 1},
    {"name": "seg-1", "batch": 1, "docs": 1},
    {"name": 7, "batch": 1, "docs": 1},
    {"name": "seg-000001", "batch": "1", "docs": 1},
    {"name": "seg-000001", "batch": 1},
    "seg-000001",
])
def test_a_manifest_naming_what_thresher_does_not_write_is_refused(tmp_path: Path,
                                                                   entry: Any) -> None:
    store = IndexStore.create(tmp_path / "ix", CONFIG)
    manifest = store.manifest()
    good = [{"name": "seg-000001", "batch": 1, "docs": 1},
            {"name": "seg-1000000", "batch": 1000000, "docs": 1},
            {"name": "seg-000002-000003-1a2b3c", "batch": 2, "docs": 2},
            {"name": "seg-000001-1a2b3c-d4e5f6", "batch": 1, "docs": 3}]
    store._write_manifest({**manifest, "segments": good})
    assert [s.name for s in store.segments()] == [e["name"] for e in good]
    store._write_manifest({**manifest, "segments": [*good, entry]})
    with pytest.raises(thresher.StageError, match="lists a segment thresher does not write") \
            as refused:
        store.manifest()
    assert str(tmp_path / "ix") in str(refused.value) and "\n" not in str(refused.value)
    assert json.dumps(entry, sort_keys=True) in str(refused.value)
    with pytest.raises(thresher.StageError):
        store.segments({"segments": [entry]})


PAGES = (("The council met on Monday evening and voted to rebuild the old river bridge, "
          "which had been closed to traffic since the spring floods damaged its piers."),
         ("A different story about the harbour, its ferries, the new timetable for the "
          "winter months and the fares that the town will charge from next year on."))


def _tampered(tmp_path: Path) -> tuple[Path, Path]:
    """A two-batch index whose manifest names its second segment ``../../../victim/seg``,
    where a copy of that segment lies: (the index, the victim folder)."""
    from thresher import index

    ix = tmp_path / "a" / "ix"
    index.create(ix)
    for k, text in enumerate(PAGES):
        (tmp_path / f"in{k}").mkdir()
        (tmp_path / f"in{k}" / f"{k}.txt").write_text(text)
        index.add(ix, [tmp_path / f"in{k}"], tmp_path / f"out{k}", executor="serial")
    manifest = json.loads((ix / "manifest.json").read_text())
    victim = tmp_path / "victim" / "seg"
    shutil.copytree(ix / "segments" / manifest["segments"][1]["name"], victim)
    manifest["segments"][1]["name"] = "../../../victim/seg"
    assert (ix / "segments" / "../../../victim/seg").resolve() == victim.resolve()
    (ix / "manifest.json").write_text(json.dumps(manifest))
    return ix, victim


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_segment_outside_the_index_is_neither_queried_nor_merged(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thresher import index
    from thresher.cli import main

    ix, victim = _tampered(tmp_path)
    before = _tree(victim.parent)
    bad = "../../../victim/seg"
    with pytest.raises(thresher.StageError, match=rf"{ix}.*{bad}"):
        index.Index(ix)
    with pytest.raises(thresher.StageError, match=bad):
        index.query(ix, [tmp_path / "in1"], tmp_path / "q", executor="serial")
    store = IndexStore(ix)
    store.max_segments = 1  # the next commit would merge the two segments
    with pytest.raises(thresher.StageError, match=bad):
        index.add(ix, [tmp_path / "in0"], tmp_path / "again", executor="serial")
    raw = json.loads((ix / "manifest.json").read_text())
    with pytest.raises(thresher.StageError, match=bad):
        store._merge_smallest(raw)
    assert _tree(victim.parent) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["a", "victim", "in0", "in1", "out0", "out1"])
    run = CliRunner().invoke
    for args in (["index", "query", str(ix), str(tmp_path / "in1"), "-o", str(tmp_path / "q"),
                  "-q"], ["index", "stats", str(ix)]):
        refused = run(main, args)
        assert refused.exit_code == 1 and "Traceback" not in refused.output
        (line,) = refused.output.strip().splitlines()
        assert line.startswith("Error: ") and bad in line and str(ix) in line

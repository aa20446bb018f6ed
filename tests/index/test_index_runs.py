"""index create / add / query / stats end to end: new crawls against what was kept."""

from __future__ import annotations

import json
import mmap
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import thresher
from tests.conftest import SPECIMENS
from tests.pipeline.corpus import make_corpus
from thresher import index


def _rows(out: Path) -> dict[str, dict[str, object]]:
    return {str(r["id"]): r for r in pq.read_table(out / "decisions.parquet").to_pylist()}


def _indexed(tmp_path: Path, per_file: int, seed: int, out: str = "o"
             ) -> tuple[Path, Path]:
    """One generated JSONL file added to a new index: (the file, the index)."""
    corpus = make_corpus(tmp_path / "c", files=1, per_file=per_file, seed=seed)
    (data,) = sorted(corpus.glob("*.jsonl"))
    ix = tmp_path / "ix"
    index.create(ix)
    index.add(ix, [data], tmp_path / out, executor="serial")
    return data, ix


def test_specimens_second_crawl_is_a_duplicate_of_the_first(tmp_path: Path) -> None:
    folder = SPECIMENS
    first, second = sorted(folder.glob("*.txt"))
    for name, f in (("one", first), ("two", second)):
        (tmp_path / name).mkdir()
        shutil.copy(f, tmp_path / name / f.name)
    ix = tmp_path / "ix"
    index.create(ix)
    a = index.add(ix, [tmp_path / "one"], tmp_path / "out1")
    assert a["counts"]["kept"] == 1 and a["index"]["added"] == 1 and a["index"]["batch"] == 1
    b = index.add(ix, [tmp_path / "two"], tmp_path / "out2")
    assert b["counts"]["duplicate"] == 1 and b["index"]["added"] == 0
    (row,) = _rows(tmp_path / "out2").values()
    assert row["decision"] == "duplicate" and row["representative"] == first.name
    assert row["representative_batch"] == 1 and row["cluster"] is None
    # the same content, the whole texts differ (their "More from ..." runs)
    assert row["match"] == "same-content" and f"{first.name} (in the index, batch 1)" in str(
        row["reason"])
    text = second.read_text()
    assert 0 <= row["content_start"] < row["content_end"] < len(text)  # type: ignore[operator]
    assert row["rep_content_end"] is not None
    assert not list((tmp_path / "out2" / "kept").rglob("*.txt"))
    stats = index.stats(ix)
    assert stats["documents"] == 1 and stats["batches"] == 2  # the second added no document
    assert stats["bytes_per_document"] > 0


def test_a_batch_that_brings_nothing_adds_no_segment(tmp_path: Path) -> None:
    """Everything rejected: the batch is recorded (its run is known as done, batch
    numbers stay in step with the summaries) but no empty segment is listed."""
    data, ix = _indexed(tmp_path, per_file=20, seed=3)
    segments = index.stats(ix)["segments"]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1, "body": "no text field"}\nnot json\n')
    out = index.add(ix, [broken], tmp_path / "o2", executor="serial")
    assert out["counts"]["kept"] == 0 and out["index"]["batch"] == 2
    stats = index.stats(ix)
    assert stats["segments"] == segments and stats["batches"] == 2
    assert not list((ix / "segments").glob(".tmp-*"))
    again = index.add(ix, [broken], tmp_path / "o2", executor="serial")
    assert again["up_to_date"] and index.stats(ix)["batches"] == 2
    third = index.add(ix, [data], tmp_path / "o3", executor="serial")
    assert third["index"]["batch"] == 3 and third["counts"]["kept"] == 0


def test_add_dedups_within_the_batch_and_against_the_index(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", files=2, per_file=150, seed=21)
    files = sorted(corpus.glob("*.jsonl"))
    ix = tmp_path / "ix"
    index.create(ix)
    one = index.add(ix, [files[0]], tmp_path / "o1", executor="serial")
    # The same file again: every usable record is a duplicate of an indexed one.
    again = index.query(ix, [files[0]], tmp_path / "q", executor="serial")
    assert again["counts"]["kept"] == 0
    assert again["counts"]["duplicate"] == one["counts"]["kept"] + one["counts"]["duplicate"]
    # Unchanged pages are exact copies: none is looked up by band keys and verified.
    assert again["index"]["exact"] == again["index"]["matched"] > 0
    assert again["index"]["candidates"] == 0
    assert index.stats(ix)["documents"] == one["counts"]["kept"]  # query changed nothing
    rows = _rows(tmp_path / "q")
    kept_first = {i for i, r in _rows(tmp_path / "o1").items() if r["decision"] == "kept"}
    assert {r["representative"] for r in rows.values() if r["decision"] == "duplicate"} \
        <= kept_first
    # A second file: its own near-duplicates found as in a plain run, and none of the
    # documents it shares with the first is kept again.
    two = index.add(ix, [files[1]], tmp_path / "o2", executor="serial")
    plain = thresher.dedup(inputs=[files[1]], output=tmp_path / "p", executor="serial")
    assert two["counts"]["kept"] <= plain["counts"]["kept"]
    assert index.stats(ix)["documents"] == one["counts"]["kept"] + two["counts"]["kept"]
    # The second file crawled again, unchanged: each page is decided as it was, a near or
    # partial duplicate still one (same representative and similarity), not an exact copy.
    before = _rows(tmp_path / "o2")
    index.query(ix, [files[1]], tmp_path / "q1", executor="serial")
    after = _rows(tmp_path / "q1")
    was = {i: r for i, r in before.items() if r["match"] in ("near", "partial", "title")}
    assert len(was) > 5 and {r["match"] for r in was.values()} >= {"near"}
    assert {i: (r["representative"], r["match"], r["similarity"]) for i, r in was.items()} \
        == {i: (after[i]["representative"], after[i]["match"], after[i]["similarity"])
            for i in was}
    # Against both batches, the union of the files is all duplicates.
    both = index.query(ix, [corpus], tmp_path / "q2", executor="serial")
    assert both["counts"]["kept"] == 0


def test_the_index_options_are_kept_and_other_ones_refused(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", files=1, per_file=40, seed=3)
    index.create(tmp_path / "ix", threshold=0.7)
    assert index.stats(tmp_path / "ix")["config"]["minhash"]["threshold"] == 0.7
    with pytest.raises(thresher.ConfigError, match="minhash.threshold: index 0.7, given 0.8"):
        index.add(tmp_path / "ix", [corpus], tmp_path / "o", threshold=0.8)
    with pytest.raises(thresher.ConfigError, match="not a thresher index"):
        index.add(tmp_path / "none", [corpus], tmp_path / "o")


def test_a_killed_add_leaves_the_index_as_it_was(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "c", files=12, per_file=80, seed=8)
    ix = tmp_path / "ix"
    index.create(ix)
    before = (ix / "manifest.json").read_bytes()
    code = ("import sys; from thresher import index; "
            f"index.add({str(ix)!r}, [{str(corpus)!r}], {str(tmp_path / 'o')!r}, "
            "executor='serial')")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "o" / "_work" / "read").glob("*.done")):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (ix / "manifest.json").read_bytes() == before
    assert index.stats(ix)["documents"] == 0
    done = index.add(ix, [corpus], tmp_path / "o", executor="serial")  # resumes
    assert done["run"]["resumed"] and index.stats(ix)["documents"] == done["counts"]["kept"]
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["index"]["batch"] == 1


def test_the_index_commands(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from thresher.cli import main

    corpus = make_corpus(tmp_path / "c", files=1, per_file=60, seed=4)
    run = CliRunner().invoke
    ix = str(tmp_path / "ix")
    assert run(main, ["index", "create", ix, "--threshold", "0.75"]).exit_code == 0
    added = run(main, ["index", "add", ix, str(corpus), "-o", str(tmp_path / "o"), "--json",
                       "--executor", "serial"])
    assert added.exit_code == 0, added.output
    summary = json.loads(added.output)
    assert summary["index"]["added"] == summary["counts"]["kept"]
    stats = json.loads(run(main, ["index", "stats", ix, "--json"]).output)
    assert stats["documents"] == summary["counts"]["kept"]
    assert stats["config"]["minhash"]["threshold"] == 0.75
    queried = run(main, ["index", "query", ix, str(corpus), "-o", str(tmp_path / "q"), "-q"])
    assert queried.exit_code == 0 and queried.output == ""
    missing = run(main, ["index", "stats", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a thresher index" in missing.output
    assert "Traceback" not in missing.output


def test_a_live_index_answers_lone_queries_as_add_decided(tmp_path: Path) -> None:
    data, ix = _indexed(tmp_path, 120, 31)
    live = index.Index(ix)
    rows = [json.loads(x) for x in data.read_text().splitlines()]
    decided = _rows(tmp_path / "o")
    found = live.query([r["text"] for r in rows], urls=[r.get("url") for r in rows])
    kept = [i for i, r in enumerate(rows) if decided[r["id"]]["decision"] == "kept"]
    assert kept and all(found[i] is not None and found[i]["id"] == rows[i]["id"]  # type: ignore[index]
                        for i in kept)
    dups = [i for i, r in enumerate(rows) if decided[r["id"]]["decision"] == "duplicate"]
    agree = sum(found[i] is not None and found[i]["id"] == decided[rows[i]["id"]][  # type: ignore[index]
        "representative"] for i in dups)
    assert agree >= 0.9 * len(dups)
    assert live.query(["nothing like any of them, a page never crawled before today"]) == [None]


@pytest.mark.parametrize("madvise", [True, False])
def test_a_warmed_index_faults_in_every_lookup_table_and_answers_alike(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, madvise: bool) -> None:
    """Index(warm=True) maps each segment's tables (not its shingle sets) and faults them
    in on a thread of its own (by madvise, or a byte a page where there is none), and
    answers as an index opened cold does."""
    from thresher.index import live
    from thresher.index.live import warm_files

    if not madvise:
        monkeypatch.setattr(live, "_MADVISE", False)
    data, ix = _indexed(tmp_path, 80, 37)
    warm, cold = index.Index(ix, warm=True), index.Index(ix)
    assert warm.warming is not None and cold.warming is None
    warm.warming.join(timeout=60)
    files = warm_files(warm.segments)
    names = {f.name for f in files}
    assert {"keys.npy", "kdocs.npy", "kfence.npy", "fpkey.npy"} <= names
    assert "sh.npy" not in names
    (seg,) = warm.segments
    assert set(seg._arrays) == {f.stem for f in files}  # the mappings the queries use
    assert warm.warmed == sum(seg.array(f.stem).nbytes for f in files) > 0
    assert all(type(live._mapping(seg.array(f.stem))) is mmap.mmap for f in files)
    texts = [json.loads(x)["text"] for x in data.read_text().splitlines()[:30]]
    assert warm.query(texts) == cold.query(texts)


def test_a_new_crawl_is_cleaned_with_the_site_seen_before(tmp_path: Path) -> None:
    from tests.conftest import write_jsonl
    from tests.pipeline.test_content import CHROME, TAIL, _article, _page

    foot = ("The Example Times is published every morning by the Example Media Group, which "
            "also owns several regional papers across the country and a radio station.")

    def page(topic: str) -> dict[str, str]:
        return {"id": topic, "url": f"https://example.org/{topic}",
                "text": _page(f"The {topic} report", _article(topic, 6), CHROME, [foot, *TAIL])}

    write_jsonl(tmp_path / "b1.jsonl", [page(t) for t in ("schools", "rivers", "trains",
                                                         "forests", "harbours", "parks")])
    write_jsonl(tmp_path / "b2.jsonl", [page("bridges")])
    index.create(tmp_path / "ix")
    index.add(tmp_path / "ix", [tmp_path / "b1.jsonl"], tmp_path / "o1", strip_boilerplate=True)
    index.add(tmp_path / "ix", [tmp_path / "b2.jsonl"], tmp_path / "o2", strip_boilerplate=True)
    thresher.dedup(inputs=[tmp_path / "b2.jsonl"], output=tmp_path / "alone",
                   strip_boilerplate=True)

    def cleaned(out: str) -> str:
        return str(json.loads((tmp_path / out / "kept" / "b2.jsonl").read_text())["text"])

    # One page of a site says nothing of its template; the six indexed before do.
    assert foot in cleaned("alone") and foot not in cleaned("o2")
    assert "committee heard evidence" in cleaned("o2")


def test_readers_run_while_a_writer_adds(tmp_path: Path) -> None:
    data, ix = _indexed(tmp_path, 40, 6)
    holder = ("import sys, time; from thresher.index.store import IndexStore\n"
              f"with IndexStore({str(ix)!r}).writer():\n"
              "    print('holding', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        with pytest.raises(thresher.ConfigError, match="another thresher is adding"):
            index.add(ix, [data], tmp_path / "o2", executor="serial")
        text = json.loads(data.read_text().splitlines()[0])["text"]
        assert index.Index(ix).query([text])[0] is not None  # a reader takes no lock
        summary = index.query(ix, [data], tmp_path / "q", executor="serial")
        assert summary["counts"]["kept"] == 0
    finally:
        proc.kill()
        proc.wait()


def test_the_report_of_an_add_names_the_indexed_duplicates(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data, ix = _indexed(tmp_path, 60, 9, out="o1")
    again = index.add(ix, [data], tmp_path / "o2", executor="serial")
    page = thresher.write_report(tmp_path / "o2").read_text()
    assert f"{again['counts']['duplicate']:,} documents are duplicates of documents indexed" \
        in page


def test_an_add_killed_after_its_commit_resumes_without_adding_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from thresher.pipeline import run

    corpus = make_corpus(tmp_path / "c", files=2, per_file=80, seed=12)
    index.create(tmp_path / "clean")
    clean = index.add(tmp_path / "clean", [corpus], tmp_path / "co", executor="serial")
    ix = tmp_path / "ix"
    index.create(ix)
    real = run._write_json

    def killed(path: Path, data: dict[str, object]) -> None:
        raise KeyboardInterrupt  # the batch is listed; the summary is never written

    monkeypatch.setattr(run, "_write_json", killed)
    with pytest.raises(KeyboardInterrupt):
        index.add(ix, [corpus], tmp_path / "o", executor="serial")
    assert index.stats(ix)["documents"] == clean["counts"]["kept"] > 0
    monkeypatch.setattr(run, "_write_json", real)
    again = index.add(ix, [corpus], tmp_path / "o", executor="serial")
    assert again["run"]["resumed"] and again["counts"] == clean["counts"]
    assert again["index"] == {**clean["index"], "path": str(ix)}
    stats = index.stats(ix)
    assert stats["batches"] == 1 and stats["documents"] == clean["counts"]["kept"]
    assert _rows(tmp_path / "o") == _rows(tmp_path / "co")
    # A later add of the same crawl is a new batch, and every page is found in the first:
    # a kept page as itself, a duplicate as the page it was a duplicate of, though the
    # site statistics now count both batches' pages and clean some pages otherwise.
    later = index.add(ix, [corpus], tmp_path / "o2", executor="serial")
    assert later["index"]["batch"] == 2 and later["counts"]["kept"] == 0
    rows = _rows(tmp_path / "o2")
    for i, row in _rows(tmp_path / "o").items():
        if row["decision"] != "rejected":
            assert rows[i]["representative"] == (row["representative"] or i)
            assert rows[i]["representative_batch"] == 1


def test_an_unchanged_page_is_found_however_its_site_is_cleaned_later(tmp_path: Path
                                                                      ) -> None:
    """More pages of a site change what its cleaning removes; a page crawled again
    unchanged is still an exact copy of itself (the whole texts' fingerprints)."""
    corpus = make_corpus(tmp_path / "c", files=2, per_file=80, seed=12)
    ix = tmp_path / "ix"
    index.create(ix)
    index.add(ix, [corpus], tmp_path / "o1", executor="serial")
    # The site statistics now count the indexed pages and the queried ones.
    again = index.query(ix, [corpus], tmp_path / "q", executor="serial")
    rows = _rows(tmp_path / "q")
    kept = [i for i, r in _rows(tmp_path / "o1").items() if r["decision"] == "kept"]
    moved = sum(rows[i]["content_start"] != r["content_start"]
                for i, r in _rows(tmp_path / "o1").items() if i in kept)
    assert moved > 0  # the cleaning did change
    for i in kept:
        assert (rows[i]["representative"], rows[i]["match"]) == (i, "exact")
    assert again["index"]["exact"] >= len(kept)


def test_probe_tasks_however_grouped_decide_alike(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited copies of indexed pages (near duplicates, not exact ones), read as several
    shards: one probe task for all of them, or several, decide every page alike."""
    from thresher.index import probe

    data, ix = _indexed(tmp_path, per_file=300, seed=31)
    edited = tmp_path / "edited.jsonl"
    with data.open() as src, edited.open("w") as out:
        for line in src:
            rec = json.loads(line)
            words = str(rec.get("text", "")).split(" ")
            rec["text"] = " ".join(words[:-3])  # its last words cut: a near copy
            rec["id"] = f"e-{rec.get('id')}"
            out.write(json.dumps(rec) + "\n")
    tasks: list[tuple[int, ...]] = []
    real = probe.probe_task

    def counted(task: probe.ProbeTask) -> probe.ProbeCounts:
        tasks.append(task.shards)
        return real(task)

    monkeypatch.setattr(probe, "probe_task", counted)
    runs = {}
    for label, cap in (("one task", 10**9), ("small tasks", 1)):
        monkeypatch.setattr(probe, "PROBE_DOCS", cap)
        tasks.clear()
        s = index.query(ix, [edited], tmp_path / label, executor="serial",
                        split_bytes=40_000)
        runs[label] = (s["index"], pq.read_table(tmp_path / label / "decisions.parquet"))
        runs[label] += (len(tasks), sum(len(t) for t in tasks))
    (one, rows_one, n_one, shards), (many, rows_many, n_many, covered) = runs.values()
    assert n_one == 1 and n_many > 2 and shards == covered > 2  # the same shards, grouped

    assert one["matched"] == many["matched"] > 100 and one["candidates"] == many["candidates"]
    assert one["matched"] > one["exact"]  # found through band keys, verified
    assert rows_one.equals(rows_many)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("summary.json", "manifest.json", "report.html")
            and not p.name.startswith(".thresher")}  # the run's identity names its folders


def test_add_with_workers_gives_the_serial_outputs(tmp_path: Path) -> None:
    # With workers, the segment is written while the kept corpus and the decisions are:
    # the outputs, the segment and what the summary says of the index are the same.
    corpus = make_corpus(tmp_path / "c", files=3, per_file=150, seed=11)
    first = min(corpus.glob("*.jsonl"))  # indexed first, then crawled again
    runs = {}
    for executor in ("serial", "local"):
        ix = tmp_path / f"ix-{executor}"
        index.create(ix)
        index.add(ix, [first], tmp_path / f"a-{executor}", executor=executor, workers=2)
        runs[executor] = index.add(ix, [corpus], tmp_path / f"b-{executor}",
                                   executor=executor, workers=2)
    serial, local = runs["serial"], runs["local"]
    assert local["index"] == {**serial["index"], "path": local["index"]["path"]}
    assert serial["index"]["added"] > 0 and serial["index"]["matched"] > 0
    assert local["run"]["stage_seconds"].keys() == serial["run"]["stage_seconds"].keys()
    assert list(local["run"]["stage_seconds"])[-1] == "index-add"
    assert _files(tmp_path / "b-local") == _files(tmp_path / "b-serial")
    assert _files(tmp_path / "ix-local") == _files(tmp_path / "ix-serial")


def _paragraphs(topic: str, n: int) -> list[str]:
    return [f"Paragraph {i} about {topic}: the committee heard evidence from witnesses, "
            f"weighed the costs of {topic} against its benefits, and wrote down why the "
            f"decision number {i} on {topic} matters to readers." for i in range(n)]


def test_a_new_page_containing_a_shorter_indexed_one_is_kept(tmp_path: Path) -> None:
    # An indexed page is always a representative: a longer new page that quotes it whole
    # holds text the index lacks, so it is not removed as its partial duplicate.
    quote = _paragraphs("harbours", 3)
    first = tmp_path / "first.jsonl"
    first.write_text(json.dumps({"id": "short", "url": "https://b.net/x", "text": "\n".join(
        ["Harbours", "Front page", "Opinion", *quote, "Feedback"])}) + "\n")
    second = tmp_path / "second.jsonl"
    second.write_text(json.dumps({"id": "long", "url": "https://a.org/1", "text": "\n".join(
        ["Tunnels", "Home", "World", *quote, *_paragraphs("tunnels", 9), "Contact"])}) + "\n")
    ix = tmp_path / "ix"
    index.create(ix)
    index.add(ix, [first], tmp_path / "o1", executor="serial")
    long_text = json.loads(second.read_text())["text"]
    assert index.Index(ix).query([long_text], urls=["https://a.org/1"]) == [None]
    index.add(ix, [second], tmp_path / "o2", executor="serial")
    assert _rows(tmp_path / "o2")["long"]["decision"] == "kept"
    # the other way round, the short page is not the duplicate of the indexed long one,
    # which holds it under another headline; under its own, it is
    ix2 = tmp_path / "ix2"
    index.create(ix2)
    index.add(ix2, [second], tmp_path / "o3", executor="serial")
    short_text = json.loads(first.read_text())["text"]
    assert index.Index(ix2).query([short_text], urls=["https://b.net/x"]) == [None]
    index.add(ix2, [first], tmp_path / "o4", executor="serial")
    assert _rows(tmp_path / "o4")["short"]["decision"] == "kept"
    third = tmp_path / "third.jsonl"
    third.write_text(json.dumps({"id": "again", "url": "https://c.com/2", "text": "\n".join(
        ["Tunnels", "Menu", "Local", *quote, *_paragraphs("tunnels", 1), "Imprint"])}) + "\n")
    index.add(ix2, [third], tmp_path / "o5", executor="serial")
    assert _rows(tmp_path / "o5")["again"]["match"] == "partial"

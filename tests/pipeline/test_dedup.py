from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import thresher
from tests.conftest import unfinish, write_jsonl
from tests.pipeline.corpus import article, make_corpus


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _outputs(out: Path) -> dict[str, object]:
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("run")
    return {"kept": _tree(out / "kept"), "decisions": (out / "decisions.parquet").read_bytes(),
            "pairs": _read(out / "pairs.parquet"), "summary": summary}


def _read(path: Path) -> bytes | None:
    """A file's bytes, or None where it is not written (pairs.parquet, against an index)."""
    return path.read_bytes() if path.exists() else None


def _rows(out: Path) -> list[dict[str, object]]:
    return pq.read_table(out / "decisions.parquet").to_pylist()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("corpus"))


def test_finds_exact_and_near_duplicates(corpus: Path, tmp_path: Path) -> None:
    summary = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                             match="full")
    c = summary["counts"]
    assert summary["counts_add_up"] and c["read"] == 180 == c["kept"] + c["duplicate"]
    assert summary["duplicates"]["exact"] > 10 and summary["duplicates"]["near"] > 10
    rows = {r["id"]: r for r in _rows(tmp_path / "o")}
    texts = {}
    for f in sorted(corpus.glob("*.jsonl")):
        for line in f.read_text().splitlines():
            rec = json.loads(line)
            texts[rec["id"]] = rec["text"]
    for r in rows.values():
        if r["decision"] == "duplicate":
            rep = rows[r["representative"]]
            assert rep["decision"] == "kept" and r["cluster"] == rep["cluster"]
            assert r["similarity"] >= 0.8 and r["reason"]
            if r["match"] == "exact":
                assert thresher.core.text.normalize(texts[r["id"]]) == \
                    thresher.core.text.normalize(texts[rep["id"]])
    kept_ids = {json.loads(line)["id"] for f in (tmp_path / "o" / "kept").glob("*.jsonl")
                for line in f.read_text().splitlines()}
    assert kept_ids == {i for i, r in rows.items() if r["decision"] == "kept"}


def test_executors_and_workers_give_identical_outputs(corpus: Path, tmp_path: Path) -> None:
    runs = [("serial", 1), ("local", 1), ("local", 2), ("local", 3)]
    results = []
    for executor, workers in runs:
        out = tmp_path / f"{executor}{workers}"
        thresher.dedup(inputs=[corpus], output=out, executor=executor, workers=workers)
        results.append(_outputs(out))
    assert all(r == results[0] for r in results[1:])


def test_rerun_on_finished_output_gives_same_result(corpus: Path, tmp_path: Path) -> None:
    thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial")
    first = _outputs(tmp_path / "o")
    thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial")
    assert _outputs(tmp_path / "o") == first


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_output_format_conversion(corpus: Path, tmp_path: Path, fmt: str) -> None:
    summary = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                             output_format=fmt)
    files = sorted((tmp_path / "o" / "kept").glob(f"*.{fmt}"))
    if fmt == "jsonl":
        rows = [json.loads(x) for f in files for x in f.read_text().splitlines()]
    else:
        rows = [r for f in files for r in pq.read_table(f).to_pylist()]
    assert len(rows) == summary["counts"]["kept"]
    assert set(rows[0]) == {"id", "text", "url"}


def _start(corpus: Path, out: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "thresher.cli", "dedup", str(corpus), "-o", str(out),
           "--executor", "serial", "--quiet"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.mark.parametrize("stage", ["read", "content", "lsh"])
def test_resume_after_kill_9(tmp_path: Path, stage: str) -> None:
    """Killed once a task of ``stage`` is done (with ``content``: once pass two has
    deleted what pass one kept of a shard), the run resumes to the same outputs."""
    corpus = make_corpus(tmp_path / "c", files=24, per_file=80, seed=5)
    thresher.dedup(inputs=[corpus], output=tmp_path / "clean", executor="serial")
    out = tmp_path / "killed"
    proc = _start(corpus, out)
    deadline = time.monotonic() + 120
    while not list((out / "_work" / stage).glob("*.done")):
        assert proc.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "summary.json").exists()
    summary = thresher.dedup(inputs=[corpus], output=out, executor="serial")
    assert summary["run"]["resumed"] is True
    assert _outputs(out) == _outputs(tmp_path / "clean")


def test_the_summary_counts_the_tasks_run_again(tmp_path: Path) -> None:
    """A task whose attempt was lost (its worker, node or run killed before it recorded
    that it was done) runs again, and ``run.reruns`` counts it, by stage."""
    corpus = make_corpus(tmp_path / "c", files=6, per_file=40, seed=9)
    out = tmp_path / "o"
    first = thresher.dedup(inputs=[corpus], output=out, executor="serial", keep_work=True)
    assert first["run"]["reruns"] == {}
    before = _outputs(out)
    lost = sorted((out / "_work" / "write").glob("*.done"))[:2]
    assert len(lost) == 2
    for marker in lost:  # as a kill before the task finished leaves it
        marker.unlink()
    unfinish(out)
    again = thresher.dedup(inputs=[corpus], output=out, executor="serial", keep_work=True)
    assert again["run"]["resumed"] is True
    assert again["run"]["reruns"] == {"write": 2}
    assert _outputs(out) == before


def test_pass_two_deletes_what_pass_one_kept_for_it(corpus: Path, tmp_path: Path) -> None:
    thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial", keep_work=True)
    read = tmp_path / "o" / "_work" / "read"
    assert list(read.glob("*.blk00.bin")) and list(read.glob("*.meta.parquet"))
    assert not list(read.glob("*.text.bin")) and not list(read.glob("*.bstat.bin"))


def test_key_files_hold_their_rows_band_after_band(corpus: Path, tmp_path: Path) -> None:
    """The LSH stage takes each band's rows of a key file as one slice of it: every file's
    (band << 32 | document) column ascends, and every band and title band is there."""
    import numpy as np

    thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial", keep_work=True)
    files = sorted((tmp_path / "o" / "_work" / "keys").glob("*.p*.bin"))
    bands = set()
    for f in files:
        first = np.fromfile(f, dtype=np.uint64).reshape(-1, 2)[:, 0]
        assert (first[1:] >= first[:-1]).all(), f.name
        bands |= set((first >> np.uint64(32)).tolist())
    assert files and len(bands) > 2


@pytest.mark.parametrize("executor", ["serial", "local"])
def test_every_stage_reports_its_cpu_time_beside_its_wall_time(
        corpus: Path, tmp_path: Path, executor: str) -> None:
    run = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor=executor,
                         workers=2)["run"]
    wall, cpu = run["stage_seconds"], run["stage_cpu_seconds"]
    assert list(cpu) == list(wall) and "read" in cpu and "decisions" in cpu
    assert all(v >= 0 for v in cpu.values()) and cpu["read"] > 0 and cpu["content"] > 0
    unfinish(tmp_path / "o")
    again = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor=executor,
                           workers=2, keep_work=True)["run"]  # finished work is not timed
    unfinish(tmp_path / "o")
    resumed = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor=executor,
                             workers=2)["run"]
    assert again["stage_cpu_seconds"]["read"] > 0 and resumed["resumed"]
    assert resumed["stage_cpu_seconds"]["read"] == 0


@pytest.mark.parametrize("match", ["content", "full"])
def test_the_work_folder_keeps_the_signature_values_the_bands_use(
        corpus: Path, tmp_path: Path, match: str) -> None:
    summary = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                             keep_work=True, match=match)
    lsh = thresher.plan(match=match)
    assert lsh.bands * lsh.rows < 128
    sigs = sorted((tmp_path / "o" / "_work" / ("read" if match == "full" else match))
                  .glob("*.sig.bin"))
    size = sum(p.stat().st_size for p in sigs)
    assert sigs and size == summary["counts"]["read"] * lsh.bands * lsh.rows * 4


def test_a_work_folder_of_an_earlier_layout_starts_afresh(corpus: Path, tmp_path: Path) -> None:
    from thresher.pipeline.workdir import FORMAT

    first = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                           keep_work=True)
    run_json = tmp_path / "o" / "_work" / "run.json"
    meta = json.loads(run_json.read_text())
    assert meta["format"] == FORMAT
    run_json.write_text(json.dumps({**meta, "format": FORMAT - 1}))  # as an older version left it
    unfinish(tmp_path / "o")
    again = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                           keep_work=True)
    assert again["run"]["resumed"] is False and again["counts"] == first["counts"]
    assert json.loads(run_json.read_text())["format"] == FORMAT
    unfinish(tmp_path / "o")
    resumed = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial")
    assert resumed["run"]["resumed"] is True


def test_changed_options_do_not_reuse_work(corpus: Path, tmp_path: Path) -> None:
    a = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                       keep_work=True)
    with pytest.raises(thresher.ConfigError, match="--overwrite"):
        thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                       threshold=0.99, keep_work=True)
    b = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="serial",
                       threshold=0.99, keep_work=True, overwrite=True)
    assert b["run"]["resumed"] is False
    assert b["duplicates"]["near"] < a["duplicates"]["near"]


def test_specimens_are_read_as_txt(tmp_path: Path) -> None:
    from tests.conftest import SPECIMENS

    summary = thresher.dedup(inputs=[SPECIMENS], output=tmp_path / "o",
                             executor="serial")
    assert summary["counts"]["read"] == 2
    assert {r["id"] for r in _rows(tmp_path / "o")} == {p.name for p in SPECIMENS.glob("*.txt")}


texts = st.lists(st.text(min_size=1, max_size=200), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts, st.lists(st.integers(0, 11), max_size=6), st.randoms(use_true_random=False))
def test_properties(tmp_path_factory: pytest.TempPathFactory, docs: list[str],
                    copies: list[int], rnd: random.Random) -> None:
    """Copies always cluster; decisions partition the input; order does not matter."""
    root = tmp_path_factory.mktemp("prop")
    rows = [{"id": f"doc{i}", "text": t} for i, t in enumerate(docs)]
    rows += [{"id": f"copy{j}", "text": docs[c % len(docs)]} for j, c in enumerate(copies)]
    write_jsonl(root / "in" / "a.jsonl", rows)
    summary = thresher.dedup(inputs=[root / "in"], output=root / "o", executor="serial")
    got = {r["id"]: r for r in _rows(root / "o")}
    c = summary["counts"]
    assert len(got) == len(rows) == c["read"] == c["kept"] + c["duplicate"] + c["rejected"]
    assert set(got) == {r["id"] for r in rows}
    for j, src in enumerate(copies):
        a, b = got[f"copy{j}"], got[f"doc{src % len(docs)}"]
        assert a["decision"] == b["decision"] == "rejected" or a["cluster"] == b["cluster"]
    rnd.shuffle(rows)
    write_jsonl(root / "in2" / "a.jsonl", rows)
    thresher.dedup(inputs=[root / "in2"], output=root / "o2", executor="serial")
    again = {r["id"]: (r["decision"], r["representative"]) for r in _rows(root / "o2")}
    assert again == {k: (r["decision"], r["representative"]) for k, r in got.items()}


def test_long_and_cjk_documents(tmp_path: Path) -> None:
    rng = random.Random(1)
    long_doc = article(rng, 20000)
    cjk = "東京は日本の首都です。人口が多い都市で、多くの人が電車で通勤しています。" * 5
    rows = [{"id": "long", "text": long_doc}, {"id": "long2", "text": long_doc + " extra"},
            {"id": "cjk", "text": cjk}, {"id": "cjk2", "text": cjk + "終わり"}]
    write_jsonl(tmp_path / "in.jsonl", rows)
    thresher.dedup(inputs=[tmp_path / "in.jsonl"], output=tmp_path / "o", executor="serial")
    got = {r["id"]: r for r in _rows(tmp_path / "o")}
    assert got["long"]["representative"] == "long2"
    assert got["cjk"]["representative"] == "cjk2"
    assert "character 5-grams" in got["cjk"]["reason"]


def test_large_jsonl_split_into_ranges_gives_identical_outputs(tmp_path: Path) -> None:
    from thresher.io.sources import discover

    corpus = make_corpus(tmp_path / "c", files=1, per_file=300, seed=9)
    with (corpus / "part-0.jsonl").open("a") as fh:  # blank lines and a broken record
        fh.write("\n\n{broken\n")
    shards = discover((str(corpus),), txt_per_shard=10, split_bytes=20_000)
    assert len(shards) > 10
    assert [s.first_line for s in shards][:2] == [1, shards[1].first_line]
    outs = []
    for split, workers in ((0, 1), (20_000, 1), (20_000, 2)):
        out = tmp_path / f"o{split}-{workers}"
        thresher.dedup(inputs=[corpus], output=out, split_bytes=split, workers=workers)
        outs.append(_outputs(out))
    for o in outs[1:]:
        o["summary"]["config"]["input"]["split_bytes"] = 0
    assert outs[1] == outs[0] and outs[2] == outs[0]
    rows = _rows(tmp_path / "o0-1")
    assert rows[-1]["line"] == 303 and rows[-1]["decision"] == "rejected"


@pytest.mark.parametrize("content", ["", '{"id": 1}\n{"text": ""}\n'])
def test_empty_or_all_rejected_input(tmp_path: Path, content: str) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text(content)
    summary = thresher.dedup(inputs=[tmp_path / "in"], output=tmp_path / "o", executor="serial")
    c = summary["counts"]
    assert c["kept"] == c["duplicate"] == 0 and c["rejected"] == c["read"] == content.count("\n")
    assert len(_rows(tmp_path / "o")) == c["read"]


def test_a_new_run_replaces_the_outputs_of_an_earlier_one(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a" / "first.jsonl", [{"id": "1", "text": "one text here"}])
    write_jsonl(tmp_path / "b" / "second.jsonl", [{"id": "2", "text": "another text"}])
    thresher.dedup(inputs=[tmp_path / "a"], output=tmp_path / "o", executor="serial")
    with pytest.raises(thresher.ConfigError, match="finished outputs of a run with other"):
        thresher.dedup(inputs=[tmp_path / "b"], output=tmp_path / "o", executor="serial")
    assert sorted(p.name for p in (tmp_path / "o" / "kept").iterdir()) == ["first.jsonl"]
    thresher.dedup(inputs=[tmp_path / "b"], output=tmp_path / "o", executor="serial",
                   overwrite=True)
    assert sorted(p.name for p in (tmp_path / "o" / "kept").iterdir()) == ["second.jsonl"]


def test_large_parquet_split_by_row_groups_gives_identical_outputs(tmp_path: Path) -> None:
    import json as _json

    import pyarrow as pa

    from thresher.io.sources import discover

    corpus = make_corpus(tmp_path / "c", files=1, per_file=300, seed=13)
    rows = [_json.loads(x) for x in (corpus / "part-0.jsonl").read_text().splitlines()]
    rows[7]["text"] = None  # a rejected row inside a later row group keeps its number
    (tmp_path / "p").mkdir()
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p" / "a.parquet", row_group_size=40)
    shards = discover((str(tmp_path / "p"),), txt_per_shard=10, split_bytes=20_000)
    assert len(shards) > 2 and shards[1].first_line > 1
    outs = []
    for split in (0, 20_000):
        out = tmp_path / f"o{split}"
        thresher.dedup(inputs=[tmp_path / "p"], output=out, split_bytes=split, workers=2)
        outs.append(_outputs(out))
    outs[1]["summary"]["config"]["input"]["split_bytes"] = 0
    assert outs[1] == outs[0]
    got = _rows(tmp_path / "o0")
    assert got[7]["decision"] == "rejected" and got[7]["line"] == 8


def test_exact_copies_and_same_content_in_other_chrome_are_told_apart(tmp_path: Path) -> None:
    """The specimens share their content, not their whole text: same-content; a byte copy
    of one is exact."""
    from tests.conftest import SPECIMENS

    first, second = sorted(SPECIMENS.glob("*.txt"))
    folder = tmp_path / "in"
    folder.mkdir()
    for f in (first, second):
        shutil.copy(f, folder / f.name)
    shutil.copy(first, folder / "copy.txt")
    summary = thresher.dedup(inputs=[folder], output=tmp_path / "o", executor="serial")
    rows = {str(r["id"]): r for r in _rows(tmp_path / "o")}
    (kept,) = [i for i, r in rows.items() if r["decision"] == "kept"]
    text = {i: (folder / i).read_bytes() for i in rows}
    for i, row in rows.items():
        if i != kept:
            same = text[i] == text[kept]
            assert row["match"] == ("exact" if same else "same-content"), (i, row)
            assert same or "the whole texts differ" in str(row["reason"])
    counts = summary["duplicates"]
    assert counts["exact"] + counts["same_content"] == 2 and counts["same_content"] >= 1

"""Inputs, work folder and outputs on an S3-API server (moto, on loopback): the same
bytes as a local run, resumed after a kill, and one-line errors for bad URLs."""

from __future__ import annotations

import gzip
import json
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.s3server import S3
from thresher.cli import main
from thresher.config import config_from_mapping
from thresher.io.atomic import TEMPORARY_MARK
from thresher.pipeline.run import run_dedup

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample" / "crawl.jsonl.gz"
# summary.json fields that name where and when a run ran (as tools/identity.py leaves out)
_WHERE_WHEN = {"seconds", "stage_seconds", "stage_cpu_seconds", "reruns", "added", "created",
               "runs", "output", "inputs", "resumed", "executor", "workers", "paths",
               "directory", "work_dir"}

# every output a run may write at a URL: kept/ (converted), annotated/, the tables
_OPTIONS: dict[str, Any] = {"output_format": "jsonl", "annotate": True}


def _wet(records: list[tuple[str, str]]) -> bytes:
    from warcio.warcwriter import WARCWriter

    out = BytesIO()
    writer = WARCWriter(out, gzip=True)
    for url, text in records:
        writer.write_record(writer.create_warc_record(
            url, "conversion", payload=BytesIO(text.encode()),
            warc_headers_dict={"Content-Type": "text/plain"}))
    return out.getvalue()


def _corpus(folder: Path) -> Path:
    """Three formats, with duplicates within and across files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    lines = gzip.decompress(SAMPLE.read_bytes()).splitlines(keepends=True)
    (folder / "a.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[:300]), mtime=0))
    (folder / "sub").mkdir()
    (folder / "sub" / "b.jsonl.gz").write_bytes(gzip.compress(b"".join(lines[200:450]),
                                                              mtime=0))
    rows = [json.loads(line) for line in lines[400:500]]
    pq.write_table(pa.table({"id": [str(r.get("id", i)) for i, r in enumerate(rows)],
                             "text": [r["text"] for r in rows]}), folder / "c.parquet")
    words = " ".join(f"w{i}" for i in range(80))
    (folder / "d.warc.wet.gz").write_bytes(_wet([
        ("https://x.example/1", f"A page\n{words}."),
        ("https://y.example/2", f"A page\n{words}."),
        ("https://z.example/3", "Something else entirely, " + " ".join(f"z{i}" for i in
                                                                     range(80)))]))
    return folder


def _upload(s3: S3, folder: Path, prefix: str) -> None:
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        s3.fs.put_file(str(path), f"{s3.bucket}/{prefix}/{path.relative_to(folder)}")


def _run(inputs: list[str], output: str, **options: Any) -> dict[str, Any]:
    config = config_from_mapping({"inputs": inputs, "output_dir": output,
                                  "executor": "serial", **options})
    return run_dedup(config)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".thresher")}


def _download(s3: S3, prefix: str, to: Path) -> dict[str, bytes]:
    for key in s3.keys(prefix):
        (to / key).parent.mkdir(parents=True, exist_ok=True)
        s3.fs.get_file(f"{s3.bucket}/{prefix}/{key}", str(to / key))
    return _files(to)


def _untimed(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _untimed(v) for k, v in data.items() if k not in _WHERE_WHEN}
    if isinstance(data, list):
        return [_untimed(v) for v in data]
    return data


def _same_outputs(local: dict[str, bytes], remote: dict[str, bytes]) -> None:
    assert sorted(local) == sorted(remote)
    for name, data in local.items():
        if name == "summary.json":
            assert _untimed(json.loads(remote[name])) == _untimed(json.loads(data))
        else:
            assert remote[name] == data, name


@pytest.fixture
def local_run(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """The corpus and the outputs of a local run of it."""
    corpus = _corpus(tmp_path / "crawl")
    out = tmp_path / "local"
    summary = _run([str(corpus)], str(out), **_OPTIONS)
    assert summary["counts"]["duplicate"] > 0  # the comparisons compare something
    files = _files(out)
    assert {"kept", "annotated", "decisions.parquet", "pairs.parquet"} <= {
        name.split("/")[0] for name in files}
    return corpus, files


@pytest.mark.slow
def test_a_run_from_and_to_s3_writes_the_bytes_a_local_run_writes(
        s3_server: S3, local_run: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    corpus, local = local_run
    _upload(s3_server, corpus, "crawl")
    out = s3_server.url("runs", "one")
    summary = _run([s3_server.url("crawl") + "/"], out, **_OPTIONS,
                   work_dir=s3_server.url("work"), executor="local", workers=2)
    assert summary["run"]["output"] == out
    keys = s3_server.keys("runs", "one")
    assert ".thresher-run.json" in keys and not any(TEMPORARY_MARK in k for k in keys)
    marker = json.loads(s3_server.fs.cat_file(f"{s3_server.bucket}/runs/one/"
                                              ".thresher-run.json"))
    assert marker["finished"] is True
    _same_outputs(local, _download(s3_server, "runs/one", tmp_path / "got"))
    again = _run([s3_server.url("crawl") + "/"], out, **_OPTIONS,
                 work_dir=s3_server.url("work"))
    assert again.get("up_to_date") is True


def test_globs_and_listings_name_files_as_a_local_folder_does(
        s3_server: S3, local_run: tuple[Path, dict[str, bytes]], tmp_path: Path) -> None:
    corpus, local = local_run
    _upload(s3_server, corpus, "crawl")
    # a glob: the files below crawl/ that match, named below crawl/
    _run([s3_server.url("crawl", "**")], str(tmp_path / "glob"), **_OPTIONS)
    _same_outputs(local, _files(tmp_path / "glob"))
    # a listing at a URL: relative lines are below the listing's folder
    names = sorted(str(p.relative_to(corpus)) for p in corpus.rglob("*") if p.is_file())
    s3_server.fs.pipe_file(f"{s3_server.bucket}/crawl.paths.gz", gzip.compress(
        ("# the crawl\n" + "".join(f"crawl/{n}\n" for n in names)).encode()))
    _run(["@" + s3_server.url("crawl.paths.gz")], str(tmp_path / "listed"),
         **_OPTIONS)
    _same_outputs(local, _files(tmp_path / "listed"))


def test_a_glob_takes_only_what_matches_in_a_fixed_order(s3_server: S3,
                                                        tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "crawl")
    _upload(s3_server, corpus, "crawl")
    summary = _run([s3_server.url("crawl", "*.jsonl.gz")], str(tmp_path / "out"),
                   output_format="jsonl")
    assert sorted(p.name for p in (tmp_path / "out" / "kept").iterdir()) == ["a.jsonl"]
    assert summary["counts"]["read"] == 300


@pytest.mark.slow
def test_a_run_that_fails_while_writing_resumes_and_ends_the_same(
        s3_server: S3, local_run: tuple[Path, dict[str, bytes]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import thresher.pipeline.read as read_stage
    import thresher.pipeline.stages.write as write_stage

    corpus, local = local_run
    _upload(s3_server, corpus, "crawl")
    out, work = s3_server.url("out"), s3_server.url("work")
    args = {**_OPTIONS, "work_dir": work}
    real, calls = write_stage.write_kept, []

    def fail_third(*a: Any, **k: Any) -> int:  # the serial executor: in this process
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(*a, **k)

    monkeypatch.setattr(write_stage, "write_kept", fail_third)
    with pytest.raises(RuntimeError, match="killed"):
        _run([s3_server.url("crawl")], out, **args)
    keys = s3_server.keys("out")
    marker = json.loads(s3_server.fs.cat_file(f"{s3_server.bucket}/out/.thresher-run.json"))
    assert marker["finished"] is False and "summary.json" not in keys
    assert len([k for k in keys if k.startswith("kept/")]) == 2  # the two tasks done
    assert not any(TEMPORARY_MARK in k for k in keys)
    monkeypatch.setattr(write_stage, "write_kept", real)

    def no_reading(*a: Any, **k: Any) -> Any:
        raise AssertionError("a finished read task ran again")

    monkeypatch.setattr(read_stage, "read_batches", no_reading)
    summary = _run([s3_server.url("crawl")], out, **args)
    assert summary["run"]["resumed"] is True
    _same_outputs(local, _download(s3_server, "out", tmp_path / "got"))
    marker = json.loads(s3_server.fs.cat_file(f"{s3_server.bucket}/out/.thresher-run.json"))
    assert marker["finished"] is True


def test_an_output_url_holding_other_objects_is_refused_and_left_alone(
        s3_server: S3, tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "crawl")
    s3_server.fs.pipe_file(f"{s3_server.bucket}/out/notes.txt", b"mine")
    result = CliRunner().invoke(main, ["dedup", str(corpus), "-o", s3_server.url("out"),
                                       "-q", "--executor", "serial"])
    assert result.exit_code != 0
    assert "holds files thresher did not write (notes.txt)" in result.stderr
    assert s3_server.keys("out") == ["notes.txt"]


@pytest.mark.parametrize("where", ["crawl/missing.jsonl.gz", "crawl/none-*.jsonl",
                                   "crawl/"])
def test_a_missing_input_url_is_one_line_naming_it(s3_server: S3, tmp_path: Path,
                                                   where: str) -> None:
    url = s3_server.url(where)
    result = CliRunner().invoke(main, ["dedup", url, "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and url in lines[0], lines
    assert "Traceback" not in result.output


def test_a_missing_bucket_and_a_bad_listing_line_are_one_line(s3_server: S3,
                                                              tmp_path: Path) -> None:
    url = "s3://no-such-bucket-here/crawl/a.jsonl.gz"
    listing = tmp_path / "paths.txt"
    listing.write_text(f"{url}\n")
    for given in (url, f"@{listing}"):
        result = CliRunner().invoke(main, ["dedup", given, "-o", str(tmp_path / "o"), "-q"])
        lines = result.stderr.strip().splitlines()
        assert result.exit_code != 0 and len(lines) == 1 and url in lines[0], lines


def test_an_output_or_work_url_inside_an_input_url_is_refused(s3_server: S3,
                                                              tmp_path: Path) -> None:
    s3_server.fs.pipe_file(f"{s3_server.bucket}/crawl/a.jsonl", b'{"text": "x y z"}\n')
    for args in (["-o", s3_server.url("crawl", "out")],
                 ["-o", str(tmp_path / "o"), "--work-dir", s3_server.url("crawl", "w")]):
        result = CliRunner().invoke(main, ["dedup", s3_server.url("crawl", "*.jsonl"),
                                           *args, "-q"])
        assert result.exit_code != 0 and "overlap" in result.stderr, result.stderr
    assert s3_server.keys("crawl") == ["a.jsonl"]

"""Breaks found by adversarial testing of the folder, id and config promises.

Each test shows a bug found by someone who had not seen the other tests; those still
open are marked ``xfail(strict=True)``, so that a fix turns the marker into a failure
and it is removed with the fix.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from thresher.cli import main

from .conftest import unfinish, write_jsonl


def dedup(*args: str) -> Result:
    return CliRunner().invoke(main, ["dedup", *args, "--executor", "serial", "-q"])


def corpus(path: Path, n: int = 12) -> Path:
    return write_jsonl(path, [{"id": f"d{i}", "text": f"document number {i} says " +
                               " ".join(f"w{i}x{k}" for k in range(30))} for i in range(n)])


def no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    assert "Traceback" not in result.output


def test_resume_does_not_write_through_a_kept_symlink(tmp_path: Path) -> None:
    src = corpus(tmp_path / "in" / "c.jsonl")
    with src.open("a") as fh:  # an exact copy of d0: kept/c.jsonl is shorter than c.jsonl
        fh.write(src.read_text().splitlines()[0].replace('"d0"', '"copy"') + "\n")
    original = src.read_bytes()
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out), "--keep-work").exit_code == 0
    # A run killed before its write stage: its work is there, its kept/ is not.
    shutil.rmtree(out / "kept")
    shutil.rmtree(out / "_work" / "write")
    unfinish(out)
    (out / "kept").symlink_to(src.parent)  # a link the user made, to the input folder
    dedup(str(src), "-o", str(out), "--keep-work")
    assert src.read_bytes() == original


def test_already_done_rerun_keeps_a_user_folder_in_out_work(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out)).exit_code == 0
    mine = out / "_work" / "read" / "important.txt"
    mine.parent.mkdir(parents=True)
    mine.write_text("precious")
    assert dedup(str(src), "-o", str(out)).exit_code == 0  # already done
    assert mine.read_text() == "precious"


def test_output_folder_inside_the_work_folder_is_refused(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    work = tmp_path / "w"
    assert dedup(str(src), "-o", str(tmp_path / "o1"), "--work-dir", str(work)).exit_code == 0
    out = work / "probe"
    result = dedup(str(src), "-o", str(out), "--work-dir", str(work))
    if result.exit_code != 0:
        return  # refused: what the promise asks
    (out / "notes.txt").write_text("mine")
    assert dedup(str(src), "-o", str(tmp_path / "o1"), "--work-dir", str(work),
                 "--threshold", "0.7", "--overwrite").exit_code == 0
    assert (out / "notes.txt").read_text() == "mine"


def test_input_linking_into_out_kept_is_refused(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out)).exit_code == 0
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "x.jsonl").symlink_to(out / "kept" / "c.jsonl")
    corpus(folder / "other.jsonl", 3)
    dedup(str(folder), "-o", str(out), "--overwrite")
    assert (out / "kept" / "c.jsonl").exists() or (folder / "x.jsonl").exists()


def test_work_dir_named_as_an_output_is_refused_in_one_line(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out), "--work-dir", str(out / "summary.json"))
    no_traceback(result)
    assert result.exit_code in (0, 1)


def test_work_dir_url_inside_kept_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("fsspec")
    src = corpus(tmp_path / "c.jsonl")
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out), "--work-dir", f"file://{out}/kept")
    assert result.exit_code == 1


def test_symlink_loop_on_the_command_line_is_one_line(tmp_path: Path) -> None:
    loop = tmp_path / "loop.jsonl"
    loop.symlink_to(loop)
    result = dedup(str(loop), "-o", str(tmp_path / "out"))
    no_traceback(result)
    assert result.exit_code == 1


def test_a_work_folder_left_by_a_failed_claim_is_not_foreign(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    work = tmp_path / "w"
    work.mkdir()
    (work / ".thresher-work.tmp-12345").write_bytes(b"")  # what ENOSPC left
    result = dedup(str(src), "-o", str(tmp_path / "out"), "--work-dir", str(work))
    assert result.exit_code == 0, result.output


def test_big_integer_ids_stay_distinct(tmp_path: Path) -> None:
    # orjson reads integers past 64 bits as floats: these two ids would be one
    src = tmp_path / "big.jsonl"
    src.write_text('{"id": 12345678901234567890123, "text": "acorns and oak trees grow"}\n'
                   '{"id": 12345678901234567890124, "text": "rivers and lakes are wet"}\n')
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out)).exit_code == 0
    rows = pq.read_table(out / "decisions.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["12345678901234567890123", "12345678901234567890124"]
    assert [r["decision"] for r in rows] == ["kept", "kept"]


def test_a_rewritten_record_keeps_its_big_integers(tmp_path: Path) -> None:
    # --strip-boilerplate writes each kept JSONL record again with its text replaced:
    # every other field must come out digit for digit
    src = tmp_path / "big.jsonl"
    numbers = ('"n": 123456789012345678901234567890, "m": [-98765432109876543210, 1.5], '
               '"small": 7')
    src.write_text(f'{{"id": "a", {numbers}, "text": "acorns and oak trees grow tall"}}\n'
                   '{"id": "b", "text": "rivers and lakes are wet and wide"}\n')
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out), "--strip-boilerplate").exit_code == 0
    first = (out / "kept" / "big.jsonl").read_text().splitlines()[0]
    assert '"n":123456789012345678901234567890' in first.replace(" ", "")
    assert '"m":[-98765432109876543210,1.5]' in first.replace(" ", "")


def test_config_output_table_survives_dash_o(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    cfg = tmp_path / "t.toml"
    cfg.write_text('[output]\nformat = "parquet"\nkeep_work = true\n')
    out = tmp_path / "out"
    assert dedup(str(src), "-o", str(out), "--config", str(cfg)).exit_code == 0
    assert (out / "kept" / "c.parquet").exists()
    assert (out / "_work").is_dir()


def test_huge_max_doc_bytes_is_one_line(tmp_path: Path) -> None:
    src = corpus(tmp_path / "c.jsonl")
    result = dedup(str(src), "-o", str(tmp_path / "out"), "--max-doc-bytes",
                   "99999999999999999999")
    no_traceback(result)


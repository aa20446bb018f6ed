"""How ``thresher dedup`` ends when nothing can be read or the disk fills: one line, an exit code."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from thresher._console import print_summary
from thresher.cli import main
from thresher.pipeline.counts import Counts
from thresher.pipeline.workdir import WorkDir

from .conftest import write_jsonl


def two_files(tmp_path: Path, field: str = "text") -> Path:
    for part in range(2):
        write_jsonl(tmp_path / "in" / f"{part}.jsonl",
                    [{"id": f"{part}-{i}", field: f"words {part} {i} " * 8} for i in range(3)])
    return tmp_path / "in"


def dedup(*args: str) -> Result:
    return CliRunner().invoke(main, ["dedup", *args])


def one_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("flags", [["--quiet"], ["--json"], []])
def test_every_record_rejected_exits_3_naming_the_reason(tmp_path: Path, flags: list[str]
                                                          ) -> None:
    src = two_files(tmp_path, field="body")
    result = dedup(str(src), "-o", str(tmp_path / "out"), "--executor", "serial", *flags)
    assert result.exit_code == 3, result.output
    error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(error) == 1, result.stderr
    assert "all 6 records were rejected" in error[0] and "6 for no 'text' field" in error[0]
    assert "--text-field" in error[0]
    if flags == ["--quiet"]:
        one_line(result, 3)
        assert result.stdout == ""


def test_nothing_kept_still_writes_an_empty_kept_folder(tmp_path: Path) -> None:
    src = two_files(tmp_path, field="body")
    dedup(str(src), "-o", str(tmp_path / "out"), "-q", "--executor", "serial")
    assert (tmp_path / "out" / "kept").is_dir()
    assert list((tmp_path / "out" / "kept").iterdir()) == []


def test_one_matched_document_is_said_in_the_singular(tmp_path: Path) -> None:
    src = two_files(tmp_path)
    runner = CliRunner()
    ix = tmp_path / "ix"
    assert runner.invoke(main, ["index", "create", str(ix)]).exit_code == 0
    write_jsonl(tmp_path / "b" / "one.jsonl", [{"id": "x", "text": "words 0 1 " * 8}])
    for inputs, out in (([str(src)], "o1"), ([str(tmp_path / "b")], "o2")):
        result = runner.invoke(main, ["index", "add", str(ix), *inputs, "-o",
                                      str(tmp_path / out), "--executor", "serial"])
        assert result.exit_code == 0, result.output
    assert "1 matched document indexed before" in result.stderr, result.stderr
    assert "1 matched documents" not in result.stderr


def test_the_summary_is_headed_by_the_command_that_ran(tmp_path: Path) -> None:
    src = two_files(tmp_path)
    runner = CliRunner()
    ix = tmp_path / "ix"
    assert runner.invoke(main, ["index", "create", str(ix)]).exit_code == 0
    for command, out in (("add", "o1"), ("query", "o2")):
        result = runner.invoke(main, ["index", command, str(ix), str(src), "-o",
                                      str(tmp_path / out), "--executor", "serial"])
        assert result.exit_code == 0, result.output
        assert headings(result) == [f"thresher index {command}"], result.stderr
    result = dedup(str(src), "-o", str(tmp_path / "o3"), "--executor", "serial")
    assert headings(result) == ["thresher dedup"], result.stderr


def headings(result: Result) -> list[str]:
    """The summary table's title: the one line of stderr that starts with the program."""
    return [line.strip() for line in result.stderr.splitlines()
            if line.strip().startswith("thresher ")]


@pytest.mark.parametrize("n", [1, 2])
def test_summary_counts_agree_with_their_nouns(tmp_path: Path, n: int,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert dedup(str(two_files(tmp_path)), "-o", str(out), "-q", "--executor",
                 "serial").exit_code == 0
    summary = json.loads((out / "summary.json").read_text())
    summary["output"] = str(out)  # as the command adds it
    summary["skipped_by_reason"] = {"a request": n}
    summary["annotated"] = {"written": n, "left_out": 0}
    print_summary(summary)
    said = " ".join(capsys.readouterr().err.split())
    noun = "record" if n == 1 else "records"
    assert f"{n} WARC {noun} skipped" in said and f"{n} {noun} in annotated/" in said, said
    assert "ran again" not in said  # no task was
    summary["run"]["reruns"] = {"write": n}
    print_summary(summary)
    said = " ".join(capsys.readouterr().err.split())
    assert f"ran again {n} {'task' if n == 1 else 'tasks'} (write {n})" in said, said


def test_empty_input_exits_4(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_bytes(b"")
    line = one_line(dedup(str(src), "-o", str(tmp_path / "out"), "-q", "--executor", "serial"),
                    4)
    assert "no records" in line


def test_a_kept_record_is_success(tmp_path: Path) -> None:
    src = two_files(tmp_path)
    result = dedup(str(src), "-o", str(tmp_path / "out"), "-q", "--executor", "serial")
    assert result.exit_code == 0 and result.output == ""


def full_disk_at_read(monkeypatch: pytest.MonkeyPatch, error: OSError | None = None) -> None:
    """Make the read stage's completion marker hit a full disk (in worker processes too:
    they are forked from this one)."""
    real = WorkDir.mark_done

    def mark_done(self: WorkDir, stage: str, task: str, stats: Counts) -> None:
        if stage == "read":
            where = self.path(stage, task)
            raise error or OSError(errno.ENOSPC, "No space left on device", str(where))
        real(self, stage, task, stats)

    monkeypatch.setattr(WorkDir, "mark_done", mark_done)


@pytest.mark.parametrize("executor", [["--executor", "serial"],
                                      ["--executor", "local", "--workers", "2"]])
def test_full_disk_is_one_line_naming_the_folder(tmp_path: Path, executor: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src = two_files(tmp_path)
    full_disk_at_read(monkeypatch)
    line = one_line(dedup(str(src), "-o", str(tmp_path / "out"), "-q", *executor), 1)
    assert f"the work folder {tmp_path / 'out' / '_work'} filled up" in line
    assert "no space left on device" in line and "rerun the same command to resume" in line


def test_full_disk_said_only_in_the_message_still_names_the_folders(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = two_files(tmp_path)
    pyarrow_like = OSError("Error writing bytes to file. Detail: [errno 28] No space left on "
                           "device")
    full_disk_at_read(monkeypatch, pyarrow_like)
    line = one_line(dedup(str(src), "-o", str(tmp_path / "out"), "-q", "--executor", "serial",
                          "--work-dir", str(tmp_path / "work")), 1)
    assert f"the output folder {tmp_path / 'out'} or the work folder {tmp_path / 'work'}" in line


def test_other_os_errors_are_not_called_a_full_disk(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    src = two_files(tmp_path)
    full_disk_at_read(monkeypatch, PermissionError(errno.EACCES, "Permission denied", "x"))
    result = dedup(str(src), "-o", str(tmp_path / "out"), "-q", "--executor", "serial")
    assert isinstance(result.exception, PermissionError)


def test_stdin_is_one_jsonl_file_named_stdin_and_a_rerun_of_it_is_done(tmp_path: Path
                                                                      ) -> None:
    import pyarrow.parquet as pq

    lines = "".join(f'{{"text": "page {i} words words words words"}}\n' for i in range(3))
    lines += '{"text": "page 0 words words words words"}\n'
    out = tmp_path / "out"
    args = ["dedup", "-", "-o", str(out), "-q", "--executor", "serial"]
    result = CliRunner().invoke(main, args, input=lines)
    assert result.exit_code == 0, result.output
    rows = pq.read_table(out / "decisions.parquet").to_pylist()
    assert [r["file"] for r in rows] == ["stdin.jsonl"] * 4
    assert rows[0]["id"] == "stdin.jsonl:1" and rows[3]["decision"] == "duplicate"
    assert not (out / ".thresher-stdin.jsonl").exists()  # the spooled copy is gone
    assert (out / "kept" / "stdin.jsonl").read_text() == lines[: -len(lines) // 4]
    # the same input piped again is the same run; other input is another
    again = CliRunner().invoke(main, [*args[:-3], "--json", "--executor", "serial"],
                               input=lines)
    assert again.exit_code == 0 and '"up_to_date": true' in again.stdout
    other = CliRunner().invoke(main, args, input=lines[:-len(lines) // 4])
    assert other.exit_code == 1 and "--overwrite" in other.stderr


def test_stdin_beside_a_file_is_named_stdin(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    src = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "one two three four"}])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["dedup", str(src), "-", "-o", str(out), "-q",
                                       "--executor", "serial"],
                                input='{"id": "b", "text": "five six seven eight"}\n')
    assert result.exit_code == 0, result.output
    files = pq.read_table(out / "decisions.parquet")["file"].to_pylist()
    assert files == ["a.jsonl", "stdin.jsonl"]
    assert sorted(p.name for p in (out / "kept").iterdir()) == ["a.jsonl", "stdin.jsonl"]


def test_a_spooled_stdin_left_by_a_killed_run_is_not_a_foreign_file(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".thresher-stdin.jsonl").write_text('{"text": "half of it"}\n')
    result = CliRunner().invoke(main, ["dedup", "-", "-o", str(out), "-q", "--executor",
                                       "serial"], input='{"text": "all of it, now"}\n')
    assert result.exit_code == 0, result.output
    assert (out / "kept" / "stdin.jsonl").read_text() == '{"text": "all of it, now"}\n'


@pytest.mark.parametrize(("keep", "said"), [("oldest", "needs --date-field for jsonl"),
                                            ("max:q", ".txt files have none")])
def test_a_policy_the_inputs_cannot_serve_leaves_no_output_folder(tmp_path: Path, keep: str,
                                                                  said: str) -> None:
    src = two_files(tmp_path)
    if keep.startswith("max:"):
        (src / "a.txt").write_text("words of a text file " * 8)
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out), "--keep", keep, "-q", "--executor", "serial")
    assert said in one_line(result, 1)
    assert not out.exists()

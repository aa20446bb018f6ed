"""Inputs a user names loosely: a quoted local glob, a listing that names a folder, a
text field that no record of a file has. Each is found as a demanding user expects, or
stops with one line that says why, before anything is written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result

from tests.conftest import write_jsonl
from thresher.cli import main

WORDS = ["acorn", "beech", "cedar", "dogwood", "elm", "fir", "ginkgo", "hazel", "juniper",
         "larch", "maple", "oak", "pine", "rowan", "spruce", "teak", "walnut", "willow",
         "yew", "alder"]


def dedup(*args: str) -> Result:
    return CliRunner().invoke(main, ["dedup", *args, "--executor", "serial", "--quiet"])


def one_line(result: Result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def rows(n: int, *, start: int = 0, field: str = "text") -> list[dict[str, object]]:
    return [{"id": f"d{start + i}", field: " ".join(WORDS[(start + i + k) % len(WORDS)]
                                                    for k in range(12)) + f" number {i}"}
            for i in range(n)]


def crawl(root: Path) -> Path:
    write_jsonl(root / "a.jsonl", rows(6))
    write_jsonl(root / "sub" / "b.jsonl", rows(6, start=40))
    (root / "notes.md").write_text("not an input")
    return root


def kept(out: Path) -> list[str]:
    return sorted(p.relative_to(out / "kept").as_posix()
                  for p in (out / "kept").rglob("*") if p.is_file())


def test_a_quoted_glob_finds_the_files_it_matches(tmp_path: Path) -> None:
    root = crawl(tmp_path / "c")
    assert dedup(f"{root}/**/*.jsonl", "-o", str(tmp_path / "all")).exit_code == 0
    assert kept(tmp_path / "all") == ["a.jsonl", "sub/b.jsonl"]
    assert dedup(f"{root}/*.jsonl", "-o", str(tmp_path / "top")).exit_code == 0
    assert kept(tmp_path / "top") == ["a.jsonl"]
    # beside another input, a glob is named after its folder, as a folder is
    result = dedup(f"{root}/*.jsonl", str(root / "sub"), "-o", str(tmp_path / "two"))
    assert result.exit_code == 0, result.output
    assert kept(tmp_path / "two") == ["c/a.jsonl", "sub/b.jsonl"]


def test_a_glob_that_matches_nothing_stops_before_writing(tmp_path: Path) -> None:
    root = crawl(tmp_path / "c")
    out = tmp_path / "out"
    assert one_line(dedup(f"{root}/*.parquet", "-o", str(out))).endswith("matches no file")
    assert "thresher reads" in one_line(dedup(f"{root}/*.md", "-o", str(out)))
    assert not out.exists()


def test_a_glob_of_any_depth_keeps_its_output_outside(tmp_path: Path) -> None:
    root = crawl(tmp_path / "c")
    assert "inside input" in one_line(dedup(f"{root}/**/*.jsonl", "-o", str(root / "out")))
    assert not (root / "out").exists()


def test_a_listing_that_names_a_folder_says_so(tmp_path: Path) -> None:
    root = crawl(tmp_path / "c")
    listing = tmp_path / "paths.txt"
    listing.write_text(f"{root / 'a.jsonl'}\n{root / 'sub'}\n")
    line = one_line(dedup(f"@{listing}", "-o", str(tmp_path / "out")))
    assert "is a folder" in line and "sub" in line


def test_a_text_field_no_record_of_a_file_has_stops_the_run(tmp_path: Path) -> None:
    # a .txt input beside it would otherwise carry the run to a corpus of one file
    write_jsonl(tmp_path / "in" / "a.jsonl", rows(5, field="body")[:2] + rows(3))
    write_jsonl(tmp_path / "in" / "b.jsonl", rows(4, start=20))
    (tmp_path / "in" / "page.txt").write_text("a page of plain text " * 5)
    out = tmp_path / "out"
    assert dedup(str(tmp_path / "in"), "-o", str(out), "--text-field", "body").exit_code != 0
    line = one_line(dedup(str(tmp_path / "in"), "-o", str(tmp_path / "o2"), "--text-field",
                          "body"))
    assert "b.jsonl" in line and "'body'" in line and "--text-field" in line
    assert "id, text" in line  # the fields the file has
    # a file where some records have it reads them, and rejects the others
    (tmp_path / "in" / "b.jsonl").unlink()
    assert dedup(str(tmp_path / "in"), "-o", str(tmp_path / "o3"), "--text-field",
                 "body").exit_code == 0

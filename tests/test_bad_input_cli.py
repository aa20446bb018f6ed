"""Bad input through the ``thresher dedup`` command: nothing is lost, nothing crashes."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from thresher.cli import main

pq = pytest.importorskip("pyarrow.parquet")

_WORDS = ["river", "stone", "cloud", "maple", "orbit", "lantern", "copper", "meadow", "violet",
          "harbor", "thunder", "pepper", "falcon", "marble", "willow", "canyon", "ember",
          "glacier", "saffron", "tundra", "quartz", "cobalt", "juniper", "nectar", "prairie",
          "summit", "velvet", "basalt", "cinder", "dune"]


def prose(seed: int, n: int = 40) -> str:
    """A text that shares few shingles with any other seed's."""
    rng = random.Random(seed)
    return " ".join(rng.choice(_WORDS) + str(rng.randrange(100)) for _ in range(n))


def jl(obj: object) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


# (line bytes or None for an empty line, expected decision ("" for a blank line, which is
# not a record), text the reason must contain)
CASES: list[tuple[bytes | None, str, str]] = [
    (jl({"id": "A", "text": prose(1)}), "kept", ""),
    (None, "", ""),
    (b'{"id": "broken", "text": "no end', "rejected", "invalid JSON"),
    (b'{"id": "utf", "text": "bad \xff\xfe bytes"}', "rejected", "invalid UTF-8"),
    (jl({"id": "empty", "text": ""}), "rejected", "empty text"),
    (jl({"id": "spaces", "text": " \t\n "}), "rejected", "empty text"),
    (jl({"id": "nofield", "body": prose(2)}), "rejected", "no 'text' field"),
    (jl({"id": "int", "text": 12345}), "rejected", "is int, not a string"),
    (jl({"id": "null", "text": None}), "rejected", "is null, not a string"),
    (jl({"id": "obj", "text": {"nested": "x"}}), "rejected", "is dict, not a string"),
    (b'["an", "array"]', "rejected", "not a JSON object"),
    (b'{"id": "surrogate", "text": "lone \\ud800 here"}', "rejected", "surrogate"),
    (jl({"id": "big", "text": prose(3, 600)}), "rejected", "exceeds --max-doc-bytes"),
    (b"   \t ", "", ""),
    (jl({"id": "B", "text": prose(4)}) + b"\r", "kept", ""),
    (jl({"text": prose(5)}), "kept", ""),  # no id: in.jsonl:16
    (jl({"id": "A-copy", "text": prose(1)}), "duplicate", "exact duplicate of A"),
    (jl({"id": "punct", "text": "!!! ??? ... ---"}), "rejected", "no letters or digits"),
    (jl({"id": "A", "text": prose(6)}), "rejected", "duplicate id"),
    (jl({"id": "D", "text": prose(7)}), "kept", ""),
]
FIRST_BAD_LINE = 3
MAX_BYTES = "3000"


def mixed_jsonl(path: Path) -> Path:
    lines = [line if line is not None else b"" for line, _, _ in CASES]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines))  # the last line has no newline
    return path


def dedup(*args: str) -> Result:
    return CliRunner().invoke(main, ["dedup", *args, "--executor", "serial", "--quiet"])


def no_crash(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"crashed with {result.exception!r}")
    assert "Traceback" not in result.output


def decisions(out: Path) -> list[dict[str, Any]]:
    table = pq.read_table(out / "decisions.parquet")
    assert table.column_names == [
        "id", "decision", "cluster", "representative", "similarity", "containment", "match",
        "reason", "file", "line", "url", "length", "content_start", "content_end", "rep_content_start",
        "rep_content_end"]
    return table.to_pylist()  # type: ignore[no-any-return]


def summary(out: Path) -> dict[str, Any]:
    return json.loads((out / "summary.json").read_text())  # type: ignore[no-any-return]


def test_mixed_bad_records_are_all_accounted_for(tmp_path: Path) -> None:
    src = mixed_jsonl(tmp_path / "in" / "in.jsonl")
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out), "--max-doc-bytes", MAX_BYTES)
    no_crash(result)
    assert result.exit_code == 0, result.output

    expected = {n: (d, why) for n, (_, d, why) in enumerate(CASES, start=1) if d}  # not blank
    rows = decisions(out)
    assert [r["line"] for r in rows] == sorted(expected)  # one row per non-blank line, in order
    for row in rows:
        decision, why = expected[row["line"]]
        assert row["file"] == "in.jsonl"
        assert row["decision"] == decision, row
        if decision == "kept":
            assert row["reason"] is None
        else:
            assert row["reason"] and why in row["reason"], row
    assert rows[[r["line"] for r in rows].index(16)]["id"] == "in.jsonl:16"

    s = summary(out)
    c = s["counts"]
    assert c["read"] == len(expected) == c["kept"] + c["duplicate"] + c["rejected"]
    assert (c["kept"], c["duplicate"]) == (4, 1)
    assert c["rejected"] == sum(d == "rejected" for d, _ in expected.values())
    assert s["counts_add_up"] is True
    assert sum(s["rejected_by_reason"].values()) == c["rejected"]

    kept = (out / "kept" / "in.jsonl").read_bytes().splitlines()
    assert kept == [(CASES[n - 1][0] or b"").rstrip(b"\r")
                    for n, (d, _) in sorted(expected.items()) if d == "kept"]


def test_strict_stops_at_the_first_bad_record(tmp_path: Path) -> None:
    src = mixed_jsonl(tmp_path / "in" / "in.jsonl")
    result = dedup(str(src), "-o", str(tmp_path / "out"), "--strict")
    no_crash(result)
    assert result.exit_code != 0
    assert f"in.jsonl:{FIRST_BAD_LINE}" in result.output
    assert "invalid JSON" in result.output
    assert not (tmp_path / "out" / "decisions.parquet").exists()


def test_strict_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl.gz"
    src.write_bytes(gzip.compress(jl({"id": "a", "text": prose(1)}) + b"\n\n"
                                  + jl({"id": "b", "text": 7}) + b"\n"))
    proc = subprocess.run(
        [sys.executable, "-c", "from thresher.cli import main; main()", "dedup", str(src),
         "-o", str(tmp_path / "out"), "--executor", "serial", "--quiet", "--strict"],
        check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "in.jsonl.gz:3" in proc.stderr and "is int" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_strict_with_clean_input_succeeds(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(jl({"id": "a", "text": prose(1)}) + b"\n" + jl({"id": "b", "text": prose(2)}))
    result = dedup(str(src), "-o", str(tmp_path / "out"), "--strict")
    no_crash(result)
    assert result.exit_code == 0
    assert summary(tmp_path / "out")["counts"]["kept"] == 2


def test_wrong_text_field_stops_the_run_naming_the_fields(tmp_path: Path) -> None:
    # no record of the file has the field: a misspelt name, as for --id-field or
    # --url-field, and every record would be rejected for it
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"".join(jl({"id": f"r{i}", "content": prose(i)}) + b"\n" for i in range(5)))
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out), "--text-field", "body")
    no_crash(result)
    assert result.exit_code == 1
    (line,) = [x for x in result.output.splitlines() if x.strip()]
    assert "in.jsonl" in line and "no record has the field 'body' named by --text-field" in line
    assert "(the records' fields: id, content)" in line
    assert not (out / "kept" / "in.jsonl").exists()


def test_nonexistent_input_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "data.jsonl"
    result = dedup(str(missing), "-o", str(tmp_path / "out"))
    no_crash(result)
    assert result.exit_code != 0
    assert "does not exist" in result.output and str(missing) in result.output


def test_unknown_single_input_format_is_a_clear_error(tmp_path: Path) -> None:
    src = tmp_path / "data.csv"
    src.write_text("id,text\n1,hello\n")
    result = dedup(str(src), "-o", str(tmp_path / "out"))
    no_crash(result)
    assert result.exit_code != 0 and "unknown input format" in result.output


def test_output_folder_with_foreign_files_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(jl({"id": "a", "text": prose(1)}) + b"\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("do not touch")
    result = dedup(str(src), "-o", str(out))
    no_crash(result)
    assert result.exit_code != 0
    assert "precious.txt" in result.output and "did not write" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    assert (out / "precious.txt").read_text() == "do not touch"


def test_output_that_is_a_file_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(jl({"id": "a", "text": prose(1)}) + b"\n")
    (tmp_path / "out").write_text("a file")
    result = dedup(str(src), "-o", str(tmp_path / "out"))
    no_crash(result)
    assert result.exit_code != 0 and "not a folder" in result.output


def test_broken_files_of_every_format_in_one_run(tmp_path: Path) -> None:
    rng = random.Random(9)
    d = tmp_path / "in"
    d.mkdir()
    lines = [jl({"id": f"g{i}", "text": prose(100 + i) + " " + rng.randbytes(30).hex()})
             for i in range(2000)]
    blob = gzip.compress(b"\n".join(lines) + b"\n")
    (d / "cut.jsonl.gz").write_bytes(blob[: len(blob) // 2])
    (d / "junk.jsonl.zst").write_bytes(rng.randbytes(300))
    (d / "junk.parquet").write_bytes(rng.randbytes(300))
    (d / "bad.txt").write_bytes(b"\xff\xfe not utf-8")
    (d / "good.txt").write_text(prose(50))
    out = tmp_path / "out"
    result = dedup(str(d), "-o", str(out))
    no_crash(result)
    assert result.exit_code == 0, result.output
    rows = decisions(out)
    by_file: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_file.setdefault(row["file"], []).append(row)
    cut = by_file["cut.jsonl.gz"]
    assert 0 < len(cut) - 1 < len(lines)
    assert [r["decision"] for r in cut[:-1]] == ["kept"] * (len(cut) - 1)
    assert cut[-1]["decision"] == "rejected" and cut[-1]["line"] == len(cut)
    assert "truncated" in cut[-1]["reason"]
    assert [(r["decision"], r["line"]) for r in by_file["junk.jsonl.zst"]] == [("rejected", 1)]
    assert [(r["decision"], r["line"]) for r in by_file["junk.parquet"]] == [("rejected", 0)]
    assert [r["decision"] for r in by_file["bad.txt"]] == ["rejected"]
    assert [r["decision"] for r in by_file["good.txt"]] == ["kept"]
    c = summary(out)["counts"]
    assert c["read"] == len(rows) == c["kept"] + c["duplicate"] + c["rejected"]
    assert c["kept"] == len(cut)  # the cut file's good lines and good.txt
    kept_lines = gzip.decompress((out / "kept" / "cut.jsonl.gz").read_bytes()).splitlines()
    assert kept_lines == lines[: len(cut) - 1]


def test_same_names_in_two_inputs_are_not_duplicate_ids(tmp_path: Path) -> None:
    for i, part in enumerate(("x", "y")):
        (tmp_path / part).mkdir()
        (tmp_path / part / "data.jsonl").write_bytes(jl({"text": prose(10 + i)}) + b"\n")
        (tmp_path / part / "doc.txt").write_text(prose(20 + i))
    out = tmp_path / "out"
    result = dedup(str(tmp_path / "x"), str(tmp_path / "y"), "-o", str(out))
    no_crash(result)
    assert result.exit_code == 0, result.output
    rows = decisions(out)
    assert [r["decision"] for r in rows] == ["kept"] * 4, rows
    assert sorted(r["file"] for r in rows) == ["x/data.jsonl", "x/doc.txt", "y/data.jsonl",
                                                "y/doc.txt"]
    assert len({r["id"] for r in rows}) == 4


@pytest.mark.timeout(120)  # a FIFO opened by a reader would block it forever
def test_files_that_are_not_regular_files_are_skipped_and_counted(tmp_path: Path) -> None:
    import os

    src = tmp_path / "in"
    src.mkdir()
    (src / "good.jsonl").write_bytes(jl({"id": "g", "text": prose(1)}) + b"\n")
    os.mkfifo(src / "pipe.jsonl")
    (src / "z.jsonl").symlink_to("/dev/zero")
    (src / "gone.jsonl").symlink_to(src / "nowhere.jsonl")
    (src / "loop.jsonl").symlink_to(src / "loop.jsonl")
    odd = os.path.join(os.fsencode(src), b"caf\xe9.txt")
    try:
        with open(odd, "wb") as fh:
            fh.write(prose(2).encode())
    except OSError:  # a file system that takes only UTF-8 names
        odd = b""
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out))
    no_crash(result)
    assert result.exit_code == 0, result.output
    assert summary(out)["skipped_by_reason"] == {
        "broken symbolic link": 1, "not a regular file: FIFO": 1,
        "not a regular file: character device": 1, "symbolic link loop": 1}
    rows = {r["id"]: r["decision"] for r in decisions(out)}
    assert rows == {"g": "kept", **({"caf\\xe9.txt": "kept"} if odd else {})}
    if odd:
        assert (out / "kept" / "caf\\xe9.txt").read_text() == prose(2)


@pytest.mark.timeout(60)
def test_a_fifo_named_on_the_command_line_is_a_one_line_error(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.jsonl")
    result = dedup(str(tmp_path / "pipe.jsonl"), "-o", str(tmp_path / "out"))
    no_crash(result)
    assert result.exit_code != 0
    assert "pipe.jsonl: not a regular file: FIFO" in result.output


def test_a_made_up_id_never_rejects_a_given_one(tmp_path: Path) -> None:
    """Line 1 has no id, so it is called in.jsonl:1, as the record of line 2 is: both are
    kept. 1 and "1" are one id (the second is a repeated id); true is "true"."""
    rows = [{"text": prose(1)}, {"id": "in.jsonl:1", "text": prose(2)},
            {"id": 1, "text": prose(3)}, {"id": "1", "text": prose(4)},
            {"id": True, "text": prose(5)}]
    src = tmp_path / "in" / "in.jsonl"
    src.parent.mkdir()
    src.write_bytes(b"".join(jl(r) + b"\n" for r in rows))
    out = tmp_path / "out"
    result = dedup(str(src), "-o", str(out))
    no_crash(result)
    assert result.exit_code == 0, result.output
    got = [(r["id"], r["decision"], r["reason"]) for r in decisions(out)]
    assert got == [("in.jsonl:1", "kept", None), ("in.jsonl:1", "kept", None),
                   ("1", "kept", None),
                   ("1", "rejected", "duplicate id: '1' first seen at in.jsonl:3"),
                   ("true", "kept", None)]

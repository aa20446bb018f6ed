"""``thresher dedup --config FILE``: the file wins over the defaults, given flags over the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from thresher.cli import main
from thresher.config import load_toml

from .conftest import write_jsonl


def run(tmp_path: Path, toml: str | None, *flags: str) -> Result:
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "one two three four five six"},
                                              {"id": "b", "text": "seven eight nine ten"}])
    args = ["dedup", str(src), "-o", str(tmp_path / "out"), "--quiet", *flags]
    if toml is not None:
        (tmp_path / "t.toml").write_text(toml)
        args += ["--config", str(tmp_path / "t.toml")]
    return CliRunner().invoke(main, args)


def used(tmp_path: Path) -> dict[str, dict[str, object]]:
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    return json.loads(json.dumps(summary["config"]))  # type: ignore[no-any-return]


def one_error_line(result: Result) -> str:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    return lines[0]


@pytest.mark.parametrize("toml", ['threshold = 0.5\nexecutor = "serial"\nmatch = "full"\n',
                                  ('[minhash]\nthreshold = 0.5\n[run]\nexecutor = "serial"\n'
                                   '[content]\nmatch = "full"\n')])
def test_flat_keys_and_tables_beat_the_defaults(tmp_path: Path, toml: str) -> None:
    result = run(tmp_path, toml)
    assert result.exit_code == 0, result.output
    assert used(tmp_path)["minhash"]["threshold"] == 0.5
    assert used(tmp_path)["content"]["match"] == "full"


@pytest.mark.parametrize("toml", ['threshold = 0.5\nngram = 3\n',
                                  '[minhash]\nthreshold = 0.5\nngram = 3\n'])
def test_given_flags_beat_the_file(tmp_path: Path, toml: str) -> None:
    result = run(tmp_path, toml, "--threshold", "0.7", "--executor", "serial")
    assert result.exit_code == 0, result.output
    assert used(tmp_path)["minhash"]["threshold"] == 0.7
    assert used(tmp_path)["minhash"]["ngram"] == 3


@pytest.mark.parametrize(("toml", "words"), [
    ('threshold = "high"\n', ["threshold = 'high'", "expected a number", "got str"]),
    ('[minhash]\nngram = 2.5\n', ["minhash.ngram = 2.5", "expected an integer", "got float"]),
    ('workers = true\n', ["workers = True", "expected an integer"]),
    ('treshold = 0.5\n', ["unknown option 'treshold'", "did you mean 'threshold'"]),
    ('[minhash]\nexecutor = "serial"\n', ["'executor' belongs in [run]"]),
    ('threshold = 0.5\n[minhash]\nthreshold = 0.6\n', ["minhash.threshold is given twice"]),
    ('threshold = 0.5\nngram =\n', ["not valid TOML", "line 2"]),
    ('threshold = 1.5\n', ["--threshold must be in (0, 1], got 1.5"]),
])
def test_config_errors_are_one_line(tmp_path: Path, toml: str, words: list[str]) -> None:
    line = one_error_line(run(tmp_path, toml))
    for word in words:
        assert word in line
    assert not (tmp_path / "out").exists()


def test_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dedup", str(tmp_path), "-o", str(tmp_path / "out"),
                                       "--config", str(tmp_path / "nowhere.toml")])
    line = one_error_line(result)
    assert "nowhere.toml" in line and "not found" in line


def test_load_toml_returns_tables(tmp_path: Path) -> None:
    (tmp_path / "t.toml").write_text('threshold = 1\noutput = "o"\n[run]\nworkers = 2\n')
    assert load_toml(tmp_path / "t.toml") == {"minhash": {"threshold": 1.0},
                                              "output": {"directory": "o"},
                                              "run": {"workers": 2}}


def index_run(tmp_path: Path, mode: str, out: str, toml: str, *flags: str) -> Result:
    src = write_jsonl(tmp_path / f"{out}.jsonl",
                      [{"id": f"{out}-{i}", "text": f"page {i} of {out}, a few more words"}
                       for i in range(3)])
    (tmp_path / f"{out}.toml").write_text(toml)
    return CliRunner().invoke(main, ["index", mode, str(tmp_path / "ix"), str(src), "-o",
                                     str(tmp_path / out), "--config",
                                     str(tmp_path / f"{out}.toml"), "--quiet", *flags])


@pytest.mark.parametrize("mode", ["add", "query"])
def test_index_runs_take_config_output_format_and_report(tmp_path: Path, mode: str) -> None:
    assert CliRunner().invoke(main, ["index", "create", str(tmp_path / "ix")]).exit_code == 0
    toml = 'executor = "serial"\noutput_format = "jsonl"\n[minhash]\nseed = 42\n'
    result = index_run(tmp_path, mode, "o1", toml)
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "o1" / "kept").iterdir()] == ["o1.jsonl"]
    summary = json.loads((tmp_path / "o1" / "summary.json").read_text())
    assert summary["run"]["executor"] == "serial"
    assert summary["config"]["minhash"]["threshold"] == 0.8  # the index's, kept
    # a flag given on the command line beats the file; --report writes the page after
    result = index_run(tmp_path, mode, "o2", toml, "--output-format", "parquet", "--report")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "o2" / "kept").iterdir()] == ["o2.parquet"]
    assert (tmp_path / "o2" / "report.html").stat().st_size > 1000
    # the file's matching options are the index's or refused, as flags are
    result = index_run(tmp_path, mode, "o3", "threshold = 0.7\n")
    assert result.exit_code == 1 and "minhash.threshold: index 0.8, given 0.7" in result.output

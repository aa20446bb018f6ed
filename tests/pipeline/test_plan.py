"""``thresher plan`` shows the plan a run follows, and the run records that very plan."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.pipeline.corpus import make_corpus
from thresher.cli import main


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus(tmp_path_factory.mktemp("plan"), files=2, per_file=40)


def _json(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.mark.parametrize("options", [[], ["--threshold", "0.2", "--no-titles"],
                                     ["--match", "full", "--threshold", "0.7"],
                                     ["--match", "full", "--bands", "10", "--rows", "5"]])
def test_plan_is_the_plan_the_run_records(corpus: Path, tmp_path: Path,
                                          options: list[str]) -> None:
    shown = _json("plan", "--json", *options)
    summary = _json("dedup", str(corpus), "-o", str(tmp_path / "o"), "--executor", "serial",
                    "--json", *options)
    assert summary["plan"] == shown
    lsh = summary["lsh"]
    assert isinstance(lsh, dict)
    assert (lsh["bands"], lsh["rows"], lsh["candidate_threshold"]) == (
        shown["bands"], shown["rows"], shown["candidate_threshold"])


def test_plan_describes_each_mode() -> None:
    content = _json("plan", "--json")
    assert (content["match"], content["threshold"], content["candidate_threshold"]) == (
        "content", 0.8, 0.3)
    assert content["extra_bands"] == ["title", "page"]
    assert set(content["verification"]) == {"near", "partial", "title"}  # type: ignore[arg-type]
    full = _json("plan", "--json", "--match", "full")
    assert (full["candidate_threshold"], full["bands"], full["rows"]) == (0.8, 14, 9)
    assert full["extra_bands"] == [] and full["verification"] == {"near": {"jaccard": 0.8}}
    given = _json("plan", "--json", "--bands", "16", "--rows", "8")
    assert (given["bands"], given["rows"], given["chosen"]) == (16, 8, False)


def test_plan_text_names_what_the_run_does(tmp_path: Path) -> None:
    toml = tmp_path / "t.toml"
    toml.write_text('[content]\nmatch = "full"\n[output]\ndirectory = "x"\n')
    result = CliRunner().invoke(main, ["plan", "--config", str(toml), "--threshold", "0.9"])
    assert result.exit_code == 0, result.output
    assert "whole text (--match full), threshold 0.9" in result.output
    assert "candidates: LSH from Jaccard 0.9" in result.output
    assert "partial" not in result.output
    bad = CliRunner().invoke(main, ["plan", "--threshold", "1.5"])
    assert bad.exit_code == 1 and "--threshold must be in" in bad.output

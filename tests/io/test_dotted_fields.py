"""Dotted field names (``metadata.url``) in JSONL, gzipped JSONL and Parquet struct columns."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import thresher
from thresher.cli import main
from thresher.io.records import MISSING, field_value


def _rows(*, number_id: bool = True) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"text": f"record {i} speaks of subject {i} in words of its own, {i} times over",
         "metadata": {"url": f"https://site{i % 3}.example/{i}", "id": f"m{i}",
                      "source": {"name": f"s{i % 2}"}}}
        for i in range(12)]
    rows[5]["metadata"] = {"id": "m5"}  # no URL: None for this one, as today
    rows[7]["metadata"]["id"] = 7 if number_id else "7"  # a number: its JSON text
    rows[8]["metadata"]["note"] = "a \u00e9 \\ \" escaped value"  # escapes inside an object
    return rows


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in rows)
    if path.suffix == ".gz":
        with gzip.open(path, "wt") as fh:
            fh.write(data)
    elif path.suffix == ".parquet":
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text(data)
    return path


def _decisions(out: Path) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in pq.read_table(out / "decisions.parquet").to_pylist()}


def test_field_value_prefers_a_literal_key() -> None:
    obj = {"a.b": 1, "a": {"b": 2, "c.d": 3, "c": {"d": 4}}}
    assert field_value(obj, "a.b") == 1
    assert field_value(obj, "a.c.d") == 3  # one level down, a literal key wins again
    assert field_value(obj, "a.x") is MISSING and field_value({"a": 5}, "a.b") is MISSING


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz", "in.parquet"])
def test_dotted_fields_walk_into_nested_objects(tmp_path: Path, name: str) -> None:
    src = _write(tmp_path / name, _rows(number_id=not name.endswith(".parquet")))
    thresher.dedup(inputs=[src], output=tmp_path / "o", id_field="metadata.id",
                   url_field="metadata.url", group_by="metadata.source.name",
                   executor="serial")
    d = _decisions(tmp_path / "o")
    assert sorted(d) == sorted([f"m{i}" for i in range(12) if i != 7] + ["7"])
    assert d["m0"]["url"] == "https://site0.example/0" and d["m5"]["url"] is None
    assert d["m8"]["url"] == "https://site2.example/8"


def test_a_literal_dotted_key_wins_over_the_nested_one(tmp_path: Path) -> None:
    rows = _rows()
    for r in rows:
        r["metadata.url"] = "https://literal.example/"
    thresher.dedup(inputs=[_write(tmp_path / "in.jsonl", rows)], output=tmp_path / "o",
                   url_field="metadata.url", executor="serial")
    assert {r["url"] for r in _decisions(tmp_path / "o").values()} == {
        "https://literal.example/"}


def test_a_nested_text_field_is_read(tmp_path: Path) -> None:
    rows = [{"id": f"d{i}", "body": {"text": r["text"]}} for i, r in enumerate(_rows())]
    summary = thresher.dedup(inputs=[_write(tmp_path / "in.jsonl", rows)],
                             output=tmp_path / "o", text_field="body.text", executor="serial")
    assert summary["counts"]["kept"] == 12


@pytest.mark.parametrize("name", ["in.jsonl", "in.jsonl.gz", "in.parquet"])
def test_a_named_field_in_no_record_is_a_one_line_error(tmp_path: Path, name: str) -> None:
    src = _write(tmp_path / name, _rows(number_id=False))
    result = CliRunner().invoke(main, ["dedup", str(src), "-o", str(tmp_path / "o"),
                                       "--executor", "serial", "--url-field", "metadata.link"])
    assert result.exit_code != 0
    lines = [x for x in result.output.splitlines() if x.startswith("Error")]
    assert len(lines) == 1, result.output
    assert str(src) in lines[0] and "'metadata.link'" in lines[0] and "--url-field" in lines[0]
    assert "metadata.url" in lines[0]  # the fields the records have

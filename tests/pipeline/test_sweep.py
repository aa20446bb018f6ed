"""``thresher sweep``: a rerun at a swept threshold gives the counts the sweep predicted."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tests.conftest import write_jsonl
from tests.pipeline.corpus import WORDS, article, edit
from thresher.cli import main

NAV = "Home | World | Sport | Culture | Contact"


def _page(rng: random.Random, site: int, title: str, body: str) -> str:
    """A page of a site: its navigation, the title, the article, its footer."""
    return (f"{NAV}\nSite {site} news\n{title}\n\n{body}\n\nMore from site {site}\n"
            f"Copyright site {site}, all rights reserved")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Articles with copies at a spread of edit rates (so the counts move with the
    threshold), exact copies and shortened ones, on five sites."""
    rng = random.Random(7)
    rows = []
    for k in range(30):
        base = article(rng, rng.randint(160, 320))
        title = f"Story {k} " + " ".join(rng.choice(WORDS) for _ in range(4))
        texts = [base, *(edit(rng, base, rate) for rate in rng.sample(
            [0.003, 0.01, 0.02, 0.04, 0.07, 0.1, 0.15], rng.randint(1, 4)))]
        if k % 3 == 0:
            texts.append(base)
        if k % 4 == 0:
            words = base.split(" ")
            texts.append(" ".join(words[: len(words) * 2 // 3]))
        for j, text in enumerate(texts):
            site = (k + j) % 5
            rows.append({"id": f"s{k:02d}-{j}", "text": _page(rng, site, title, text),
                         "url": f"https://site{site}.example/{k}/{j}"})
    root = tmp_path_factory.mktemp("sweep")
    write_jsonl(root / "in" / "pages.jsonl", rows)
    return root / "in"


def _ok(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def _dedup(*args: str) -> dict[str, Any]:
    summary: dict[str, Any] = json.loads(_ok("dedup", *args, "--executor", "serial", "--json"))
    return summary


def _counts(summary: dict[str, Any]) -> tuple[int, int, int]:
    return (summary["counts"]["duplicate"], summary["clusters"]["with_duplicates"],
            summary["clusters"]["largest"])


@pytest.mark.parametrize(("options", "picked"), [
    ([], (0.3, 0.35)),  # content: any threshold from 0.3 seeks the same candidates
    (["--containment", "0.9"], (0.5, 0.9)),  # an option the rerun must carry too
    (["--match", "full", "--threshold", "0.7"], (0.8, 0.9)),  # full: pinned bands and rows
])
def test_a_rerun_gives_the_counts_the_sweep_predicted(
        corpus: Path, tmp_path: Path, options: list[str], picked: tuple[float, float]) -> None:
    run = tmp_path / "run"
    summary = _dedup(str(corpus), "-o", str(run), *options)
    swept = json.loads(_ok("sweep", str(run), "--json"))
    rows = {r["threshold"]: r for r in swept["thresholds"]}
    own = rows[summary["plan"]["threshold"]]
    assert (own["duplicates"], own["clusters"], own["largest"]) == _counts(summary)
    assert min(rows) == summary["plan"]["candidate_threshold"] and max(rows) == 1.0
    assert len({(r["duplicates"], r["largest"]) for r in rows.values()}) > 2  # it moves
    assert len({rows[t]["duplicates"] for t in (*picked, summary["plan"]["threshold"])}) == 3
    for t in picked:
        row = rows[t]
        assert row["pin"] == ("full" in options)
        argv = row["rerun"]
        assert argv[:2] == ["thresher", "dedup"] and argv[argv.index("--threshold") + 1] == str(t)
        again = _dedup(*argv[2:])
        assert _counts(again) == (row["duplicates"], row["clusters"], row["largest"])


def test_the_sweep_says_what_it_cannot_answer_and_shows_pairs(corpus: Path,
                                                                tmp_path: Path) -> None:
    run = tmp_path / "run"
    summary = _dedup(str(corpus), "-o", str(run))
    text = _ok("sweep", str(run), "--step", "0.1", "--html", str(run / "sweep.html"))
    assert "Below the LSH's reach: thresholds under 0.3 (0.1 to 0.2)" in text
    assert f"-o {run}-t0.2 --threshold 0.2" in text and f"thresher sweep {run}-t0.2" in text
    assert "(this run)" in text and "pin" not in text
    page = (run / "sweep.html").read_text()
    assert page.count('<div class="pair">') >= 4 and "<s>" in page  # chrome struck through
    assert "Jaccard 0.9 to 1.0" in page and "Jaccard 0.3 to 0.4" in page
    # Every duplicate's match with its representative is among the pairs, as the run judged it.
    pairs = pq.read_table(run / "pairs.parquet").to_pylist()
    by = {(min(p["a"], p["b"]), max(p["a"], p["b"])): p for p in pairs}
    decisions = pq.read_table(run / "decisions.parquet").to_pylist()
    for row, d in enumerate(decisions):
        copy = "(exact copy of" in (d["reason"] or "")  # follows its leader, no pair
        if d["match"] in ("near", "partial", "title") and not copy:
            pair = by[(min(row, d["cluster"]), max(row, d["cluster"]))]
            assert pair["similarity"] == d["similarity"]
            assert pair["match"] in ("near", "partial", "title")
    assert sum(p["match"] == "exact" for p in pairs) >= summary["duplicates"]["exact"]
    assert all(p["similarity"] >= 0.3 or p["match"] for p in pairs)


def test_a_run_without_pairs_is_refused(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _dedup(str(corpus), "-o", str(run), "--match", "full")
    copy = tmp_path / "older"
    shutil.copytree(run, copy)
    (copy / "pairs.parquet").unlink()
    result = CliRunner().invoke(main, ["sweep", str(copy)])
    assert result.exit_code == 1 and "has no pairs.parquet" in result.output


def test_a_run_against_an_index_is_refused(corpus: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    _dedup(str(corpus), "-o", str(run), "--match", "full")
    summary = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**summary, "index": {"mode": "add"}}))
    result = CliRunner().invoke(main, ["sweep", str(run)])
    assert result.exit_code == 1 and "against a persistent index" in result.output


def test_the_rerun_carries_the_runs_options() -> None:
    from thresher._console import rerun_argv, sweep_lines
    from thresher.cli import dedup

    flags = {p.name for p in dedup.params if p.name}
    data: dict[str, Any] = {
        "run": "out", "inputs": ["a b.jsonl"], "bands": 14, "rows": 9, "match": "full",
        "threshold": 0.8, "candidate_threshold": 0.8, "below_reach": [0.75],
        "options": {"titles": False, "strip_boilerplate": True, "group_by": "site",
                    "fn_weight": 0.85},
        "thresholds": [{"threshold": 0.8, "duplicates": 3, "clusters": 2, "largest": 2,
                        "pin": False},
                       {"threshold": 0.9, "duplicates": 1, "clusters": 1, "largest": 2,
                        "pin": True}]}
    assert rerun_argv(data, 0.9, pin=True, flags=flags) == [
        "thresher", "dedup", "a b.jsonl", "-o", "out-t0.9", "--no-titles",
        "--strip-boilerplate", "--group-by", "site", "--threshold", "0.9", "--bands", "14",
        "--rows", "9"]
    text = "\n".join(sweep_lines(data, flags))
    assert "'a b.jsonl'" in text and "in a --config file: fn_weight = 0.85" in text
    assert "0.9           1         1        2  pin" in text

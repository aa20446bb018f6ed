"""Thousands of near-copies of one text: memory and results stay those of a normal corpus.

Every copy shares a bucket with most others in every band; pairing each member of such a
bucket with dozens of others made hundreds of candidate pairs per document, all verified
and then held at once by the clustering of the one component they form.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.conftest import write_jsonl
from tests.pipeline.corpus import WORDS

N = 8000  # documents in each corpus
WORDS_PER_DOC = 250
EDITS = 3  # words replaced in each copy
MEMORY_SLACK = 1.2  # the giant component's peak RSS against the distinct corpus's


def _words(rng: random.Random) -> list[str]:
    return [rng.choice(WORDS) for _ in range(WORDS_PER_DOC)]


def _giant(path: Path) -> Path:
    """``N`` copies of one text, each with ``EDITS`` words replaced, each on its own site."""
    rng = random.Random(7)
    source = _words(rng)
    rows = []
    for i in range(N):
        text = list(source)
        for _ in range(EDITS if i else 0):
            text[rng.randrange(WORDS_PER_DOC)] = rng.choice(WORDS)
        rows.append({"id": f"g{i:05d}", "text": " ".join(text),
                     "url": f"https://site{i}.example/page"})
    return write_jsonl(path, rows)


def _distinct(path: Path) -> Path:
    """``N`` unrelated texts of the same length: the normal corpus to measure against."""
    rng = random.Random(8)
    return write_jsonl(path, [{"id": f"d{i:05d}", "text": " ".join(_words(rng)),
                               "url": f"https://site{i}.example/page"} for i in range(N)])


def _dedup(corpus: Path, out: Path) -> tuple[dict[str, Any], int]:
    """Run the CLI in one process (``--workers 1``); return its summary and peak RSS."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "thresher.cli", "dedup", str(corpus), "-o", str(out),
         "--workers", "1", "--quiet", "--json"], stdout=subprocess.PIPE)
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)  # the process's own peak, not the test's
    proc.returncode = status
    assert status == 0
    return json.loads(stdout), usage.ru_maxrss * 1024


@pytest.mark.slow
def test_giant_component_stays_within_the_normal_budget(tmp_path: Path) -> None:
    normal, normal_peak = _dedup(_distinct(tmp_path / "distinct.jsonl"), tmp_path / "d")
    giant, giant_peak = _dedup(_giant(tmp_path / "giant.jsonl"), tmp_path / "g")
    assert normal["counts"]["kept"] == N
    # a few candidate pairs per document, not hundreds
    assert giant["lsh"]["candidates"] <= 20 * N
    assert giant_peak <= MEMORY_SLACK * normal_peak, (giant_peak, normal_peak)
    counts = giant["counts"]
    assert counts["read"] == N and giant["counts_add_up"] and counts["rejected"] == 0
    dec = pq.read_table(tmp_path / "g" / "decisions.parquet").to_pylist()
    kept = {r["id"]: r["cluster"] for r in dec if r["decision"] == "kept"}
    dups = [r for r in dec if r["decision"] == "duplicate"]
    assert len(kept) + len(dups) == N and len(dups) >= 0.99 * N  # near-copies, all but a few
    cfg = giant["config"]
    for r in dups:  # no chaining: every duplicate is within the threshold of its representative
        assert kept[r["representative"]] == r["cluster"]
        assert (r["similarity"] >= cfg["minhash"]["threshold"]
                or r["containment"] >= cfg["content"]["containment"]), r

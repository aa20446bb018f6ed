"""A per-shard task's memory is bounded by its shard, not by the corpus around it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pipeline.corpus import make_corpus

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("read", "content", "keys")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc/self/status")


def _peaks(corpus: Path) -> tuple[dict[str, float], int]:
    """Each stage's largest task peak (resident MiB above its worker's size before its
    first task: the parent, which differs a little with the plan, left out) on the
    files of ``corpus`` (one shard each), measured by ``bench/task_memory.py`` in a fresh
    process (so both corpora's workers fork from alike parents) with one worker and the
    work folder at a URL (artifacts read whole, as on an object store); and how many
    shards it saw."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "task_memory.py"),
                           "--corpus", str(corpus), "--workers", "1", "--url",
                           "--split-bytes", str(64 << 20),
                           "--stages", ",".join(STAGES)],
                          check=True, capture_output=True, text=True, env=env)
    row = json.loads(done.stdout.splitlines()[-1])
    peaks = {key.split("/")[0]: found["above_base_mib"] for key, found in row["stages"].items()}
    return peaks, int(row["shards"])


@pytest.mark.slow
def test_per_shard_tasks_do_not_grow_with_the_corpus(tmp_path: Path) -> None:
    """Four times the shards (5.7 MB more input): each read, content and keys task peaks
    less than 3 MiB above where it did (a worker's high-water mark settles after its first
    three tasks, hence four shards at least); a task that held the added input would not."""
    large_corpus = make_corpus(tmp_path / "c16", files=16, per_file=400, seed=5)
    small_corpus = tmp_path / "c4"
    small_corpus.mkdir()
    for f in range(4):  # shards the larger corpus has too
        shutil.copy(large_corpus / f"part-{f}.jsonl", small_corpus / f"part-{f}.jsonl")
    _peaks(small_corpus)  # compiles and caches what the workers call: a first run's
    # worker peaks with numba's compiler in it, whatever its corpus
    small, four = _peaks(small_corpus)
    large, sixteen = _peaks(large_corpus)
    assert (four, sixteen) == (4, 16)
    for stage in STAGES:
        assert large[stage] - small[stage] < 3, (stage, small, large)

"""Measure the clustering stage's peak memory, beyond the artifacts on disk.

Usage: python bench/cluster_memory.py CORPUS.jsonl [--threshold 0.8]

Runs ``thresher dedup`` once with ``--keep-work``, then runs the clustering stage again
under ``tracemalloc`` (which sees every numpy allocation) and prints the peak, per input
record and per candidate pair (what it actually grows with). The signatures and shingles
stay on disk; clustering never loads them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("--threshold", type=float, default=0.8)
    args = parser.parse_args()
    from thresher.pipeline.match import VERIFY_CHUNK
    from thresher.pipeline.stages.cluster import cluster_stage
    from thresher.pipeline.workdir import WorkDir

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "thresher.cli", "dedup", args.corpus, "-o",
                        str(out), "--keep-work", "--quiet", "--threshold",
                        str(args.threshold)], check=True)
        summary = json.loads((out / "summary.json").read_text())
        work = WorkDir(out / "_work")
        chunks = -(-summary["lsh"]["candidates"] // VERIFY_CHUNK)
        cluster_stage(work, chunks)  # loads the compiled kernels first
        tracemalloc.start()
        cluster_stage(work, chunks)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    n = summary["counts"]["read"]
    cand = summary["lsh"]["candidates"]
    print(json.dumps({"records": n, "candidate_pairs": cand,
                      "verified_pairs": summary["lsh"]["verified"], "peak_bytes": peak,
                      "bytes_per_record": round(peak / n, 1),
                      "bytes_per_candidate_pair": round(peak / max(cand, 1), 1)}))


if __name__ == "__main__":
    main()

"""One giant component: N near-copies of one document, against a normal corpus of N.

Usage: python bench/giant_component.py --docs 50000 [--edits 4] [--seed 1]
                                       [--dir bench/.cache/giant] [--only giant|normal]
                                       [--match content|full]

The giant corpus is one source page (about 520 words from ``gen_corpus``'s vocabulary)
and ``N - 1`` copies, each with ``--edits`` words replaced by others at random places,
each on its own host (syndication, not a site's template): every pair of copies is a
near duplicate, so LSH puts most of them in one bucket of every band and verification
finds one connected component of N documents. The normal corpus is ``gen_corpus.py``'s
of the same size and seed. Each runs through ``thresher dedup --executor local
--workers 1`` (one process; its peak RSS from ``wait4``); printed per corpus: wall
seconds, peak RSS, candidates, verified pairs, kept and duplicate counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def giant_records(n: int, seed: int, edits: int) -> list[str]:
    """JSONL lines: one source page and ``n - 1`` copies with ``edits`` words replaced."""
    import gen_corpus as g

    rng = np.random.default_rng(seed)
    w = g.Writer(rng)
    source = " ".join(w.bodies(np.array([520]), para_len=(520, 521))[0]).split(" ")
    title = w.title()
    at = rng.integers(0, len(source), size=(n, edits))
    words = w.vocab[w.ids(n * edits)].reshape(n, edits)
    lines = []
    for i in range(n):
        text = list(source)
        if i:  # the first record is the source itself
            for j, word in zip(at[i].tolist(), words[i].tolist(), strict=True):
                text[j] = word
        lines.append(json.dumps({"id": f"g{i:08d}", "text": title + "\n" + " ".join(text),
                                 "url": f"https://site{i}.example/{title.replace(' ', '-')}"}))
    return lines


def make(kind: str, n: int, seed: int, edits: int, folder: Path) -> Path:
    """Write (or find) the ``giant`` or ``normal`` corpus of ``n`` records."""
    name = f"{kind}-n{n}-s{seed}" + (f"-e{edits}" if kind == "giant" else "")
    path = folder / f"{name}.jsonl"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        if kind == "normal":
            subprocess.run([sys.executable, str(Path(__file__).with_name("gen_corpus.py")),
                            "--docs", str(n), "--seed", str(seed), "--out", str(path)],
                           check=True)
        else:
            tmp = path.with_suffix(".tmp")
            tmp.write_text("\n".join(giant_records(n, seed, edits)) + "\n")
            tmp.rename(path)
    return path


def run(corpus: Path, out: Path, match: str) -> dict[str, Any]:
    """Dedup ``corpus`` in one process; return wall seconds, peak RSS and counts."""
    subprocess.run(["rm", "-rf", str(out)], check=True)
    start = time.perf_counter()
    proc = subprocess.Popen([
        sys.executable, "-m", "thresher.cli", "dedup", str(corpus), "-o", str(out),
        "--executor", "local", "--workers", "1", "--json", "--match", match],
        stdout=subprocess.PIPE)
    stdout = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)  # one process: its own peak is the run's
    wall = time.perf_counter() - start
    if status:
        raise SystemExit(f"thresher failed on {corpus} (status {status})")
    summary = json.loads(stdout)
    return {"wall_s": round(wall, 1), "peak_rss_gib": round(usage.ru_maxrss / 2**20, 2),
            "candidates": summary["lsh"]["candidates"],
            "verified": summary["lsh"]["verified"], "counts": summary["counts"],
            "clusters": summary["clusters"],
            "stage_seconds": summary["run"]["stage_seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, required=True)
    parser.add_argument("--edits", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, default=Path("bench/.cache/giant"))
    parser.add_argument("--only", choices=["giant", "normal"])
    parser.add_argument("--match", choices=["content", "full"], default="content")
    args = parser.parse_args()
    for kind in ("giant", "normal"):
        if args.only not in (None, kind):
            continue
        t0 = time.perf_counter()
        corpus = make(kind, args.docs, args.seed, args.edits, args.dir)
        print(f"{kind}: {corpus} ({time.perf_counter() - t0:.0f} s to make or find)",
              file=sys.stderr, flush=True)
        result = run(corpus, args.dir / f"out-{kind}", args.match)
        print(json.dumps({"corpus": kind, "docs": args.docs, "match": args.match, **result}),
              flush=True)


if __name__ == "__main__":
    main()

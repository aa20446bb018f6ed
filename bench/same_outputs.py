"""Run a fixed set of thresher commands with one source tree, or compare two such runs.

Usage:
    python bench/same_outputs.py run --src SRC --out DIR [--inputs DIR] [--workers 2]
    python bench/same_outputs.py compare DIR_A DIR_B

``run`` runs, with ``PYTHONPATH=SRC``, each case below into ``DIR/<case>``; ``compare``
then holds every file of one run's folders against the other's, byte for byte, except
what names the output folder or the hour: ``summary.json`` is compared without its
``run`` section (paths, timings) and the index's path, the index's ``manifest.json``
without its times and with its runs' numbers only (they are keyed by a hash of the
output's path), and the run markers (``.thresher-run.json``: hashes of the run's paths,
``.thresher.lock``) are left out. The cases:

- ``sample``: the bundled sample (``examples/sample``, gzipped JSONL), and
  ``sample-plain``, the same file uncompressed (the plain JSONL reader);
- ``crawlbench-content``, ``crawlbench-full``: ``../shared/crawlbench-dev/docs.jsonl.gz``
  with ``--match content`` and ``--match full``; ``crawlbench-plain``: the same file
  uncompressed, content matching;
- ``warc``, ``wet``: the Common Crawl fixture of ``../shared/eval/cc-whirlwind``;
- ``gen-content``, ``gen-full``: ``gen_corpus.py``'s corpus (``--gen-docs``, seed 2);
- ``index``: ``index create``, then ``index add`` of the corpus's first and second halves
  as two batches (``add-1``, ``add-2``: their outputs; ``ix``: the index's files).

The uncompressed copies and the corpus are made once in ``--inputs`` (shared by both
runs, so that the paths in the summaries agree). ``tools/identity.py`` is the shorter
check (hashes of fewer runs, one listing per tree); this one adds the uncompressed
inputs, the WET file and a generated corpus.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def _inputs(folder: Path, gen_docs: int) -> dict[str, Path]:
    """Make (once) the uncompressed copies and the generated corpus and its halves."""
    folder.mkdir(parents=True, exist_ok=True)
    made = {"sample-plain": folder / "sample.jsonl", "crawlbench-plain": folder / "cb.jsonl",
            "gen": folder / f"gen-{gen_docs}.jsonl", "half-1": folder / "half-1.jsonl",
            "half-2": folder / "half-2.jsonl"}
    for key, src in (("sample-plain", ROOT / "examples/sample/crawl.jsonl.gz"),
                     ("crawlbench-plain", SHARED / "crawlbench-dev/docs.jsonl.gz")):
        if not made[key].exists():
            with gzip.open(src, "rb") as fh, open(made[key], "wb") as out:
                shutil.copyfileobj(fh, out)
    if not made["gen"].exists():
        subprocess.run([sys.executable, str(ROOT / "bench/gen_corpus.py"), "--docs",
                        str(gen_docs), "--seed", "2", "--out", str(made["gen"])], check=True)
    if not made["half-2"].exists():
        lines = made["gen"].read_bytes().splitlines(keepends=True)
        made["half-1"].write_bytes(b"".join(lines[:len(lines) // 2]))
        made["half-2"].write_bytes(b"".join(lines[len(lines) // 2:]))
    return made


def _cases(made: dict[str, Path]) -> dict[str, list[list[str]]]:
    cb = str(SHARED / "crawlbench-dev/docs.jsonl.gz")
    cc = SHARED / "eval/cc-whirlwind"
    return {
        "sample": [["dedup", str(ROOT / "examples/sample"), "-o", "{out}"]],
        "sample-plain": [["dedup", str(made["sample-plain"]), "-o", "{out}"]],
        "crawlbench-content": [["dedup", cb, "-o", "{out}", "--match", "content"]],
        "crawlbench-full": [["dedup", cb, "-o", "{out}", "--match", "full"]],
        "crawlbench-plain": [["dedup", str(made["crawlbench-plain"]), "-o", "{out}"]],
        "warc": [["dedup", str(cc / "whirlwind.warc.gz"), "-o", "{out}"]],
        "wet": [["dedup", str(cc / "whirlwind.warc.wet.gz"), "-o", "{out}"]],
        "gen-content": [["dedup", str(made["gen"]), "-o", "{out}"]],
        "gen-full": [["dedup", str(made["gen"]), "-o", "{out}", "--match", "full"]],
        "index": [["index", "create", "{out}/ix"],
                  ["index", "add", "{out}/ix", str(made["half-1"]), "-o", "{out}/add-1"],
                  ["index", "add", "{out}/ix", str(made["half-2"]), "-o", "{out}/add-2"]],
    }


def run(src: Path, out: Path, inputs: Path, *, workers: int, gen_docs: int,
        only: list[str] | None) -> None:
    """Run every case with the source tree ``src`` into ``out``."""
    env = {**os.environ, "PYTHONPATH": str(src.resolve())}
    main = "from thresher.cli import main; main()"
    for case, commands in _cases(_inputs(inputs, gen_docs)).items():
        if only and case not in only:
            continue
        folder = out / case
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for args in commands:
            args = [a.replace("{out}", str(folder)) for a in args]
            if args[0] == "dedup" or args[:2] == ["index", "add"]:
                args += ["--quiet", "--workers", str(workers)]
            done = subprocess.run([sys.executable, "-c", main, *args], env=env, check=False,
                                  capture_output=True, text=True)
            if done.returncode not in (0, 1):  # 1: some records were rejected
                sys.exit(f"{case}: {' '.join(args)} exited {done.returncode}\n{done.stderr}")
        print(f"{case}: done", flush=True)


_SKIPPED = (".thresher-run.json", ".thresher.lock")


def _normal(path: Path) -> object:
    """A summary or a manifest without what names the output folder or the hour."""
    data = json.loads(path.read_text())
    if path.name == "summary.json":
        data.pop("run", None)
        data.get("index", {}).pop("path", None)
    else:
        data.pop("created", None)
        data["runs"] = sorted(data["runs"].values())
        for seg in data["segments"]:
            seg.pop("added", None)
    return data


def compare(a: Path, b: Path) -> int:
    """Print, per case, how many files were compared and which differ; return how many differ."""
    bad = 0
    for case in sorted(p.name for p in a.iterdir() if p.is_dir()):
        files_a, files_b = ({p.relative_to(root / case) for p in (root / case).rglob("*")
                             if p.is_file() and p.name not in _SKIPPED} for root in (a, b))
        differ = sorted(str(p) for p in files_a ^ files_b)
        for rel in sorted(files_a & files_b):
            x, y = a / case / rel, b / case / rel
            same = (_normal(x) == _normal(y)) if rel.name in ("summary.json", "manifest.json") \
                else x.read_bytes() == y.read_bytes()
            if not same:
                differ.append(str(rel))
        bad += len(differ)
        print(f"{case}: {len(files_a)} files, " + (f"DIFFER: {differ}" if differ else "same"))
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--src", type=Path, default=ROOT / "src")
    r.add_argument("--out", type=Path, required=True)
    r.add_argument("--inputs", type=Path, default=ROOT / "bench/.cache/same-outputs")
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--gen-docs", type=int, default=20000)
    r.add_argument("--only", nargs="*")
    c = sub.add_parser("compare")
    c.add_argument("a", type=Path)
    c.add_argument("b", type=Path)
    args = parser.parse_args()
    if args.cmd == "run":
        run(args.src, args.out, args.inputs, workers=args.workers, gen_docs=args.gen_docs,
            only=args.only)
    else:
        sys.exit(1 if compare(args.a, args.b) else 0)


if __name__ == "__main__":
    main()

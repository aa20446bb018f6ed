"""Seeded stress sets built from ../shared/crawlbench-dev (issue 23, item 5).

Usage:
    python bench/stress_sets.py captures --pages 300 --extra 10 --out DIR [--seed 23]
    python bench/stress_sets.py no-urls IN.jsonl[.gz] OUT.jsonl[.gz]

``captures`` writes ``DIR/docs.jsonl.gz``, ``DIR/labels.jsonl`` and ``DIR/gold.jsonl``:
real ``page`` documents, each with ``--extra`` more captures of itself on its own site.
A capture is the page's text plus one trailing line no other capture of it has, taken
from another page of the same site, and the page's URL with ``crawl=i`` added to its
query. All captures of a page are one cluster with it (``kind`` ``capture``,
``source_page`` the page), so the scorer's recall for that kind is the share of captures
joined to their page. The gold holds the pages only: the captured article is the page's.

``no-urls`` copies a JSONL corpus without its ``url`` field: crawlbench-dev's documents,
or ``gen_corpus.py``'s, whose truth file scores it as it is.

Pages are drawn in one seeded order, so a smaller set is the start of a larger one, and
a page's captures for ``--extra 5`` are the first five of ``--extra 10``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

CRAWLBENCH = Path(__file__).resolve().parents[2] / "shared" / "crawlbench-dev"
SEED = 23
# A trailing line stands for what changes between crawls of one page (a related story, a
# teaser, a date line): a few words to a sentence or two, not a menu item nor an essay.
LINE_WORDS = (3, 30)
MAX_EXTRA = 10


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a JSONL file, gzip if its name ends in ``.gz``."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> Path:
    """Write rows as JSON lines, gzip (with a fixed mtime) if the name ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    if path.suffix == ".gz":  # mtime=0: the same seed gives the same bytes
        data = gzip.compress(data, compresslevel=6, mtime=0)
    path.write_bytes(data)
    return path


def with_crawl(url: str, *, crawl: int) -> str:
    """Return ``url`` with ``crawl=N`` added to its query, before any fragment."""
    parts = urlsplit(url)
    query = f"{parts.query}&crawl={crawl}" if parts.query else f"crawl={crawl}"
    return urlunsplit(parts._replace(query=query))


def _usable(line: str) -> bool:
    return LINE_WORDS[0] <= len(line.split()) <= LINE_WORDS[1]


def _lines_by_page(docs: dict[str, dict[str, Any]], pages: list[dict[str, Any]]
                   ) -> dict[str, list[str]]:
    """Each page's distinct usable lines, in page order."""
    return {p["id"]: list(dict.fromkeys(ln.strip() for ln in docs[p["id"]]["text"].split("\n")
                                        if _usable(ln.strip())))
            for p in pages}


def trailing_lines(page: dict[str, Any], *, extra: int, site_pages: list[str],
                   lines: dict[str, list[str]], rng: random.Random) -> list[tuple[str, str]]:
    """``extra`` distinct lines absent from ``page``, each with where it came from.

    Lines from the site's other pages come first, in a seeded order. A site with one page
    in crawlbench-dev (most of them) or too few new lines is topped up from the other
    pages of the whole set: still a real line of a real page, which is what a changing
    widget (related stories, ads) carries, and drawing them from a handful of sites would
    make those sites' lines look like a template that every capture shares.
    """
    own = set(lines[page["id"]])
    site = [ln for pid in site_pages if pid != page["id"] for ln in lines[pid]]
    rng.shuffle(site)
    chosen: dict[str, str] = {}
    for ln in site:
        if len(chosen) == extra:
            break
        if ln not in own:
            chosen.setdefault(ln, "site")
    others = sorted(lines)
    for _ in range(1000 * extra):  # bounded: a page could hold every line drawn
        if len(chosen) == extra:
            break
        pick = rng.choice(lines[rng.choice(others)] or [""])
        if pick and pick not in own:
            chosen.setdefault(pick, "other_site")
    return list(chosen.items())


def page_order(pages: list[dict[str, Any]], *, seed: int) -> list[dict[str, Any]]:
    """The pages in one seeded order: every set takes a prefix of it."""
    ordered = sorted(pages, key=lambda p: p["id"])
    random.Random(seed).shuffle(ordered)
    return ordered


def capture_rows(page: dict[str, Any], doc: dict[str, Any],
                 picks: list[tuple[str, str]]) -> Iterator[tuple[dict[str, Any], ...]]:
    """Yield (document, label) for the page, then for each of its captures."""
    yield (doc, {"id": page["id"], "cluster": page["cluster"], "kind": "page",
                 "source_page": page["id"], "domain": page["domain"]})
    for i, (line, origin) in enumerate(picks, start=1):
        cid = f"{page['id']}-c{i:02d}"
        yield ({"id": cid, "text": doc["text"].rstrip("\n") + "\n" + line,
                "url": with_crawl(doc["url"], crawl=i)},
               {"id": cid, "cluster": page["cluster"], "kind": "capture",
                "source_page": page["id"], "domain": page["domain"],
                "params": {"crawl": i, "line_from": origin}})


def captures(out: Path, *, pages: int, extra: int, seed: int = SEED,
             source: Path = CRAWLBENCH) -> dict[str, int]:
    """Write the captures set for the first ``pages`` pages; return its counts."""
    docs = {r["id"]: r for r in read_jsonl(source / "docs.jsonl.gz")}
    golds = {r["id"]: r["gold"] for r in read_jsonl(source / "gold.jsonl.gz")}
    all_pages = [r for r in read_jsonl(source / "labels.jsonl") if r["kind"] == "page"]
    lines = _lines_by_page(docs, all_pages)
    by_site: dict[str, list[str]] = defaultdict(list)
    for p in all_pages:
        by_site[p["domain"]].append(p["id"])
    chosen = page_order(all_pages, seed=seed)[:pages]
    rows, labels, gold = [], [], []
    for page in chosen:
        rng = random.Random(f"{seed}:{page['id']}")  # a page's lines do not depend on --pages
        picks = trailing_lines(page, extra=MAX_EXTRA, site_pages=by_site[page["domain"]],
                               lines=lines, rng=rng)[:extra]
        for doc, label in capture_rows(page, docs[page["id"]], picks):
            rows.append(doc)
            labels.append(label)
        gold.append({"id": page["id"], "kind": "page", "gold": golds[page["id"]]})
    write_jsonl(out / "docs.jsonl.gz", rows)
    write_jsonl(out / "labels.jsonl", labels)
    write_jsonl(out / "gold.jsonl", gold)
    from_site = sum(1 for r in labels if r.get("params", {}).get("line_from") == "site")
    return {"pages": len(chosen), "docs": len(rows), "lines_from_site": from_site}


def no_urls(src: Path, out: Path) -> int:
    """Copy the JSONL corpus ``src`` to ``out`` without ``url`` fields; return the count."""
    rows = [{k: v for k, v in r.items() if k != "url"} for r in read_jsonl(src)]
    write_jsonl(out, rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("captures", help="pages with extra captures of themselves")
    cap.add_argument("--pages", type=int, default=300)
    cap.add_argument("--extra", type=int, choices=range(MAX_EXTRA + 1), default=10)
    cap.add_argument("--seed", type=int, default=SEED)
    cap.add_argument("--out", type=Path, required=True)
    nu = sub.add_parser("no-urls", help="a JSONL corpus without its url field")
    nu.add_argument("src", type=Path)
    nu.add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.command == "captures":
        print(json.dumps(captures(args.out, pages=args.pages, extra=args.extra, seed=args.seed)))
    else:
        print(f"{no_urls(args.src, args.out)} records -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

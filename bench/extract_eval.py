"""Main-content extraction quality and speed on ../shared/eval, with each benchmark's metric.

Usage: python bench/extract_eval.py [--extractors trafilatura,resiliparse] [--limit N]

- Scrapinghub article-extraction benchmark (181 pages): multisets of token 4-gram
  shingles (``\\w+`` tokens); precision and recall averaged over pages; F1 from the means.
- WCXB dev split (1,358 pages): per page, bag-of-words F1 of ``\\w+`` tokens (lowercase)
  against ``main_content``; the mean over pages (the 2 pages without one are left out).

Pages/s counts decoding, parsing and extraction as thresher does them (``extract_page``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path

from thresher.io.html import extract_page

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    toks = re.findall(r"\w+", text)
    return Counter(tuple(toks[i : i + n]) for i in range(max(len(toks) - n + 1, 1)))


def _pr(pred: Counter, gold: Counter) -> tuple[float, float]:  # type: ignore[type-arg]
    inter = sum((pred & gold).values())
    p = inter / sum(pred.values()) if pred else 0.0
    r = inter / sum(gold.values()) if gold else 0.0
    return p, r


def scrapinghub(extractor: str, limit: int) -> dict[str, float]:
    root = EVAL / "scrapinghub-aeb"
    truth = json.loads((root / "ground-truth.json").read_text())
    ps, rs, seconds = [], [], 0.0
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((root / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8")
        t0 = time.perf_counter()
        page = extract_page(html, extractor)  # type: ignore[arg-type]
        seconds += time.perf_counter() - t0
        p, r = _pr(_shingles(page.text), _shingles(truth[key]["articleBody"]))
        ps.append(p)
        rs.append(r)
    p, r = sum(ps) / len(ps), sum(rs) / len(rs)
    return {"pages": len(ps), "precision": p, "recall": r, "f1": 2 * p * r / (p + r),
            "pages_per_s": len(ps) / seconds}


def wcxb(extractor: str, limit: int) -> dict[str, float]:
    root = EVAL / "wcxb-dev"
    scores, seconds = [], 0.0
    for gt in sorted((root / "ground-truth").glob("*.json"))[:limit]:
        gold = json.loads(gt.read_text())["ground_truth"].get("main_content")
        if gold is None:  # two pages of the split have no main text to score against
            continue
        html = gzip.decompress((root / "html" / f"{gt.stem}.html.gz").read_bytes()).decode(
            "utf-8")
        t0 = time.perf_counter()
        page = extract_page(html, extractor)  # type: ignore[arg-type]
        seconds += time.perf_counter() - t0
        p, r = _pr(Counter(_tokens(page.text)), Counter(_tokens(gold)))
        scores.append(2 * p * r / (p + r) if p + r else 0.0)
    return {"pages": len(scores), "f1": sum(scores) / len(scores),
            "pages_per_s": len(scores) / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractors", default="trafilatura,resiliparse")
    parser.add_argument("--limit", type=int, default=100_000)
    parser.add_argument("--json")
    args = parser.parse_args()
    results = {}
    for name in args.extractors.split(","):
        results[name] = {"scrapinghub": scrapinghub(name, args.limit),
                         "wcxb_dev": wcxb(name, args.limit)}
        print(name, json.dumps(results[name]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

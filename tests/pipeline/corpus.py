"""Small corpora with known duplicates, made on the fly for pipeline tests."""

from __future__ import annotations

import random
from pathlib import Path

from tests.conftest import write_jsonl

WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "gu")
         for b in ("n", "r", "st", "mb", "lt", "x", "q", "v", "nd", "sh")]


def article(rng: random.Random, words: int) -> str:
    """Return paragraphs of random words."""
    paras = []
    while words > 0:
        n = min(words, rng.randint(30, 80))
        paras.append(" ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + ".")
        words -= n
    return "\n\n".join(paras)


def edit(rng: random.Random, text: str, rate: float) -> str:
    """Replace a fraction of the words."""
    toks = text.split(" ")
    for i in range(len(toks)):
        if rng.random() < rate:
            toks[i] = rng.choice(WORDS)
    return " ".join(toks)


def make_corpus(root: Path, *, files: int = 3, per_file: int = 60, seed: int = 0) -> Path:
    """Write JSONL files with exact copies, near copies (~2 % edits) and distinct docs."""
    rng = random.Random(seed)
    base = [article(rng, rng.randint(150, 400)) for _ in range(files * per_file // 2)]
    rows = []
    for i in range(files * per_file):
        src = base[i % len(base)]
        kind = rng.random()
        text = src if kind < 0.3 else (edit(rng, src, 0.01) if kind < 0.6 else article(rng, 200))
        rows.append({"id": f"d{i:04d}", "text": text, "url": f"https://site{i % 4}.example/{i}"})
    for f in range(files):
        write_jsonl(root / f"part-{f}.jsonl", rows[f * per_file : (f + 1) * per_file])
    return root

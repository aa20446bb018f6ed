"""Seeded generator of a web-like English corpus with injected near-duplicates.

Writes ``OUT`` (JSONL records ``{"id", "text", "url"}``, gzip if the name ends in
``.gz``) and ``<OUT stem>.truth.jsonl`` with one record per document:
``{"id", "cluster"}``, plus, for injected copies, ``"jaccard"`` (true word-5-gram
Jaccard to the source) and ``"edit"`` (what was done to it).

The text is synthetic: a Zipf-distributed vocabulary (common English function
words at the top ranks, then syllable words generated from a fixed seed), sentences,
paragraphs, a title, and per-host site chrome (menu and footer lines).

Example::

    python bench/gen_corpus.py --docs 100000 --seed 1 --out bench/.cache/c.jsonl
"""

from __future__ import annotations

import argparse
import gc
import gzip
import io
import itertools
import json
import re
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

GEN_VERSION = 1  # bump when the output for a given seed changes (run.py cache key)
VOCAB_SEED = 20240601  # the vocabulary is the same for every --seed
VOCAB_SIZE = 40_000
ZIPF_S = 1.05
SHINGLE = 5
WORDS_MIN, WORDS_MAX = 200, 1500

FUNCTION_WORDS = ["the", "of", "and", "to", "a", "in", "is", "that", "for", "it", "as", "was", "with", "be", "by", "on", "not", "he", "i", "this", "are", "or", "his", "from", "at", "which", "but", "have", "an", "they", "you", "were", "her", "she", "there", "one", "been", "we", "their", "all", "has", "would", "will", "more", "if", "no", "when", "can", "about", "so", "out", "what", "up", "some", "into", "them", "other", "than", "its", "our", "time", "only", "new", "could", "also", "two", "may", "first", "these", "like", "any", "after", "over", "people", "most", "very", "where", "just", "made", "between", "2019", "through", "years", "back", "10", "well", "even", "because", "much", "here", "many", "how", "those", "before", "three", "your", "day", "same", "should", "each", "while", "both", "2020", "still", "under", "world", "last", "never", "us", "100", "own", "might", "great", "since", "against", "right", "2021", "around", "state", "another", "come", "being", "used", "5", "without", "does", "12", "life", "home", "work"]

ONSETS = ("", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t",
          "v", "w", "z", "br", "ch", "cl", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "sl",
          "sp", "st", "str", "th", "tr", "qu")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "io", "ou", "oo", "y")
CODAS = ("", "", "", "n", "r", "s", "t", "l", "m", "nd", "st", "ng", "ck", "rt", "x")
ACCENTS = {"e": "é", "a": "á", "o": "ö", "u": "ü", "i": "í"}
TLDS = ("com", "net", "org", "io", "co.uk", "de", "info", "news")
MENU_WORDS = ("Home", "About", "Blog", "News", "Shop", "Contact", "Archive", "Events",
              "Careers", "Support", "Login", "Search", "Topics", "Reviews", "Guides")
SUFFIXES = ("", ",", ".", ".", ".", ".", "?", "!")  # after 0: comma, then sentence ends
EDIT_KINDS = ("exact", "format", "words", "append", "remove", "truncate")
EDIT_CDF = np.cumsum([0.12, 0.13, 0.40, 0.10, 0.10, 0.15])
TOKEN_RE = re.compile(r"[^\W_]+")


# --------------------------------------------------------------------------- vocabulary


def build_vocab(size: int = VOCAB_SIZE) -> np.ndarray:
    """Return ``size`` words by Zipf rank: function words, then syllable words."""
    rng = np.random.default_rng(VOCAB_SEED)
    n = 3 * size
    n_syl = rng.choice(np.array([1, 1, 2, 2, 2, 3, 3, 4]), size=n)
    parts = [np.array(x, dtype=object)[rng.integers(len(x), size=(n, 4))]
             for x in (ONSETS, VOWELS, CODAS)]
    syl = parts[0] + parts[1] + parts[2]
    accent = rng.random(n) < 0.02  # a few non-ASCII words, as on the real web
    seen: set[str] = set(FUNCTION_WORDS)
    synth: list[tuple[float, str]] = []
    noise = rng.random(n) * 2.0
    for i in range(n):
        word = "".join(syl[i, :n_syl[i]])
        if accent[i]:
            word = "".join(ACCENTS.get(ch, ch) if j % 2 else ch for j, ch in enumerate(word))
        if len(word) < 2 or word in seen:
            continue
        seen.add(word)
        synth.append((n_syl[i] + noise[i], word))  # short words rank higher
        if len(synth) == size - len(FUNCTION_WORDS):
            break
    synth.sort()
    return np.array(list(FUNCTION_WORDS) + [w for _, w in synth], dtype=object)


def zipf_cdf(n: int, s: float) -> np.ndarray:
    """Cumulative distribution of a Zipf-Mandelbrot law over ``n`` ranks."""
    weights = 1.0 / np.power(np.arange(1, n + 1) + 2.7, s)
    cdf: np.ndarray = np.cumsum(weights)
    cdf /= cdf[-1]
    return cdf


# --------------------------------------------------------------------------- documents


@dataclass
class Host:
    """A fake web site: its name and the chrome lines shared by its pages."""

    name: str
    header: str
    footer: str


@dataclass
class Doc:
    """A generated page before serialisation."""

    host: int
    slug: str
    title: str
    paragraphs: list[str]
    cluster: int = -1  # position of the source document (itself for originals)
    edit: str = ""
    jaccard: float | None = None
    fmt: dict[str, bool] = field(default_factory=dict)


class Writer:
    """Generates sentences, paragraphs, hosts and whole documents from one rng."""

    length_scale = 1.0  # scales body lengths (and their bounds); 1.0 is the benchmark's

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.vocab = build_vocab()
        self.caps = np.array([w.capitalize() for w in self.vocab], dtype=object)
        self.forms = np.concatenate([table + sfx for table in (self.vocab, self.caps)
                                     for sfx in SUFFIXES])
        # inverse-CDF lookup table: a uniform integer indexes straight to a rank
        grid = (np.arange(1 << 22) + 0.5) / (1 << 22)
        self.table = np.searchsorted(zipf_cdf(len(self.vocab), ZIPF_S), grid).astype(np.int32)

    def ids(self, n: int) -> np.ndarray:
        """Draw ``n`` Zipf-distributed word ranks."""
        return self.table[self.rng.integers(0, len(self.table), size=n)]

    def words(self, n: int) -> list[str]:
        """Draw ``n`` Zipf-distributed words."""
        return self.vocab[self.ids(n)].tolist()  # type: ignore[no-any-return]

    def paragraph(self, n_words: int) -> str:
        """One paragraph of ``n_words`` words."""
        return "\n\n".join(self.bodies(np.array([n_words]), para_len=(n_words, n_words + 1))[0])

    def title(self) -> str:
        """A short Title Case headline."""
        return self.phrases(np.array([int(self.rng.integers(4, 10))]), self.caps, " ")[0]

    def phrases(self, lengths: np.ndarray, table: np.ndarray, sep: str) -> list[str]:
        """One string of ``lengths[i]`` words from ``table`` per entry, joined by ``sep``."""
        words = table[self.ids(int(lengths.sum()))].tolist()
        bounds = np.r_[0, np.cumsum(lengths)].tolist()
        return [sep.join(words[a:b]) for a, b in itertools.pairwise(bounds)]

    def bodies(self, lengths: np.ndarray,
               para_len: tuple[int, int] = (30, 160)) -> list[list[str]]:
        """For each entry of ``lengths``, paragraphs of sentences (5-24 words)."""
        out: list[list[str]] = []
        chunk = 2000
        for i in range(0, len(lengths), chunk):
            out.extend(self._bodies(lengths[i:i + chunk], para_len))
        return out

    def _bodies(self, lengths: np.ndarray, para_len: tuple[int, int]) -> list[list[str]]:
        """Vectorised :meth:`bodies` for one batch: one word stream, cut per document.

        Every token is one gather from :attr:`forms` (case x trailing punctuation),
        so no string is built per word.
        """
        rng = self.rng
        total = int(lengths.sum())
        doc_ends = np.cumsum(lengths)
        ends = np.cumsum(rng.integers(5, 25, size=total // 5 + 2))
        ends = np.union1d(ends[ends < total], doc_ends)  # exclusive sentence ends
        suffix = (rng.random(total) < 0.05).astype(np.int64)  # 1 = comma
        suffix[ends - 1] = rng.integers(2, 2 + len(SUFFIXES) - 2, size=len(ends))
        case = np.zeros(total, dtype=np.int64)
        case[np.r_[0, ends[:-1]]] = 1
        codes = (case * len(SUFFIXES) + suffix) * len(self.vocab) + self.ids(total)
        flat = self.forms[codes].tolist()
        # paragraph breaks after the sentence end nearest to every lo-hi words
        lo, hi = para_len
        target = np.cumsum(rng.integers(lo, hi, size=total // lo + 2))
        pick = np.unique(np.searchsorted(ends, target[target < total]))
        cuts = np.union1d(ends[pick[pick < len(ends)]], doc_ends).tolist()
        out: list[list[str]] = []
        paras: list[str] = []
        start, d = 0, 0
        doc_end = int(doc_ends[0])
        for cut in cuts:
            paras.append(" ".join(flat[start:cut]))
            start = cut
            if cut == doc_end:
                out.append(paras)
                paras = []
                d += 1
                doc_end = int(doc_ends[d]) if d < len(doc_ends) else -1
        return out

    def host(self) -> Host:
        """A fake host with its own menu and footer (some hosts have no chrome)."""
        name = "".join(self.words(2)).strip(",") + "." + str(self.rng.choice(TLDS))
        name = re.sub(r"[^a-z0-9.]", "", name) or "site.com"
        if self.rng.random() < 0.25:
            return Host(name, "", "")
        menu = list(self.rng.choice(MENU_WORDS, size=int(self.rng.integers(4, 8)), replace=False))
        menu += [w.capitalize() for w in self.words(int(self.rng.integers(1, 4)))]
        year = int(self.rng.integers(2005, 2025))
        footer = (f"© {year} {name}. All rights reserved. Privacy Policy | Terms of Use | "
                  f"{' '.join(w.capitalize() for w in self.words(4))}")
        return Host(name, " | ".join(menu), footer)

    def doc_lengths(self, n: int) -> np.ndarray:
        """Body lengths in words: log-normal, clipped to [200, 1500]."""
        k = self.length_scale
        x = self.rng.lognormal(np.log(520.0 * k), 0.55, size=n)
        return np.clip(x, WORDS_MIN * k, WORDS_MAX * k).astype(np.int64)

    def slugs(self, n: int) -> list[str]:
        """URL path segments."""
        return [re.sub(r"[^\w-]", "", x) or "page"
                for x in self.phrases(np.full(n, 4), self.vocab, "-")]


def render(doc: Doc, hosts: list[Host]) -> str:
    """Serialise a document: chrome header, title, paragraphs, chrome footer."""
    host = hosts[doc.host]
    parts = [p for p in (host.header, doc.title) if p]
    parts.append("\n\n".join(doc.paragraphs))
    if host.footer:
        parts.append(host.footer)
    return "\n".join(parts)


def url_of(doc: Doc, hosts: list[Host], index: int) -> str:
    """A plausible URL; copies on the same host get a tracking query string."""
    base = f"https://{hosts[doc.host].name}/{doc.slug}-{index}"
    return base + ("?utm_source=feed" if doc.edit and doc.edit != "rehost" else "")


# --------------------------------------------------------------------------- edits


def edit_words(w: Writer, paragraphs: list[str], rate: float) -> list[str]:
    """Substitute/delete/insert about ``rate`` of the words, in bursts of 1-4 words."""
    words_per = [p.split(" ") for p in paragraphs]
    flat = [x for ws in words_per for x in ws]
    n_bursts = max(1, round(rate * len(flat) / 2.5))
    out = list(flat)
    starts = np.sort(w.rng.choice(len(flat), size=min(n_bursts, len(flat)), replace=False))[::-1]
    for s in starts.tolist():  # right to left keeps earlier indices valid
        length = int(w.rng.integers(1, 5))
        op = int(w.rng.integers(3))
        if op == 0:
            out[s:s + length] = w.words(length)
        elif op == 1:
            del out[s:s + length]
        else:
            out[s:s] = w.words(length)
    # re-split into the same number of paragraphs, proportionally
    bounds = np.cumsum([len(ws) for ws in words_per])
    bounds = np.round(bounds * (len(out) / max(1, len(flat)))).astype(int)
    return [" ".join(out[a:b]) for a, b in itertools.pairwise([0, *bounds.tolist()]) if b > a]


def truncate(paragraphs: list[str], keep: float) -> list[str]:
    """Keep the first ``keep`` fraction of the characters, cut at a word boundary."""
    text = "\n\n".join(paragraphs)
    cut = text.rfind(" ", 0, int(len(text) * keep))
    return text[:cut].split("\n\n")


def reformat(text: str, w: Writer) -> str:
    """Whitespace and case changes that normalisation undoes."""
    r = w.rng.random(4)
    if r[0] < 0.5:
        text = text.replace("\n\n", "\n")
    if r[1] < 0.5:
        text = text.replace(". ", ".  ")
    if r[2] < 0.3:
        text = text.upper()
    elif r[3] < 0.5:
        lines = text.split("\n")
        lines[0] = lines[0].upper()
        text = "\n".join(lines) + "\n"
    return text


def make_copy(w: Writer, src: Doc, n_hosts: int) -> tuple[Doc, bool]:
    """Derive one near-duplicate of ``src``; returns it and whether to reformat."""
    kind = EDIT_KINDS[int(np.searchsorted(EDIT_CDF, w.rng.random(), side="right"))]
    paras = list(src.paragraphs)
    label = kind
    if kind == "words":
        rate = 0.01 + 0.09 * float(w.rng.beta(1.0, 3.0))
        paras = edit_words(w, paras, rate)
        label = f"words:{rate:.3f}"
    elif kind == "append":
        paras.append(w.paragraph(int(w.rng.integers(40, 150))))
    elif kind == "remove":  # drop a paragraph holding at most a quarter of the words
        sizes = np.array([p.count(" ") + 1 for p in paras])
        small = np.flatnonzero(sizes <= 0.25 * sizes.sum())
        if len(small):
            del paras[int(small[w.rng.integers(len(small))])]
        else:
            label = "exact"
    elif kind == "truncate":
        paras = truncate(paras, 0.9)
    host = src.host
    if w.rng.random() < 0.3:
        host = int(w.rng.integers(n_hosts))
        label += "+rehost"
    fmt = kind == "format" or (kind != "exact" and w.rng.random() < 0.25)
    if fmt and kind != "format":
        label += "+format"
    copy = Doc(host, src.slug, src.title, paras, cluster=src.cluster, edit=label)
    return copy, fmt


# --------------------------------------------------------------------------- truth


class ShingleHasher:
    """Hashes word-5-grams of normalised text to uint64 for exact Jaccard.

    Tokens are hashed with Python's ``hash`` (salted per process, but only
    set sizes are reported, so results do not depend on the salt).
    """

    mult = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                     0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD], dtype=np.uint64)

    def shingles(self, text: str) -> np.ndarray:
        """Sorted unique 5-gram hashes (NFKC, casefold, ``[^\\W_]+`` tokens)."""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        tokens = TOKEN_RE.findall(text.casefold())
        arr = np.fromiter(map(hash, tokens), np.int64, len(tokens)).view(np.uint64)
        n = len(arr) - SHINGLE + 1
        if n <= 0:  # fewer tokens than a shingle: the whole text is one shingle
            return np.unique(np.array([arr.sum()], dtype=np.uint64))
        h = np.zeros(n, dtype=np.uint64)
        for k in range(SHINGLE):
            h = (h ^ (arr[k:k + n] * self.mult[k])) * np.uint64(0x100000001B3)
        h.sort()
        return h[np.r_[True, h[1:] != h[:-1]]]


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard of two sorted unique arrays."""
    inter = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - inter
    return inter / union if union else 1.0


# --------------------------------------------------------------------------- corpus


def plan_copies(rng: np.random.Generator, n_docs: int, dup_rate: float) -> list[int]:
    """Return the number of copies (0-4) for each original document.

    About half of the originals get copies until ``dup_rate * n_docs`` copies are
    planned; originals plus copies add up to exactly ``n_docs``.
    """
    n_copies = round(dup_rate * n_docs)
    choices = (1, 1, 1, 2, 2, 3, 4)
    counts: list[int] = []
    total = planned = 0
    while total < n_docs:
        need, left = n_copies - planned, n_docs - total
        k = 0
        if need > 0 and left > 1 and rng.random() < 0.5:
            k = min(choices[int(rng.integers(len(choices)))], need, left - 1)
        counts.append(k)
        planned += k
        total += k + 1
    return counts


def generate(n_docs: int, seed: int, dup_rate: float) -> tuple[list[str], list[Doc], list[Host]]:
    """Generate ``n_docs`` rendered texts (shuffled) with their Doc metadata."""
    rng = np.random.default_rng(seed)
    w = Writer(rng)
    hosts = [w.host() for _ in range(max(20, n_docs // 40))]
    counts = plan_copies(rng, n_docs, dup_rate)
    n_src = len(counts)
    host_of = np.searchsorted(zipf_cdf(len(hosts), 0.9), rng.random(n_src)).tolist()
    titles = w.phrases(rng.integers(4, 10, size=n_src), w.caps, " ")
    slugs = w.slugs(n_src)
    bodies = w.bodies(w.doc_lengths(n_src))
    hasher = ShingleHasher()
    texts: list[str] = []
    docs: list[Doc] = []
    for i, k in enumerate(counts):
        src = Doc(host_of[i], slugs[i], titles[i], bodies[i], cluster=len(docs))
        src_text = render(src, hosts)
        texts.append(src_text)
        docs.append(src)
        if not k:
            continue
        src_sh = hasher.shingles(src_text)
        for _ in range(k):
            copy, fmt = make_copy(w, src, len(hosts))
            text = render(copy, hosts)
            if fmt:
                text = reformat(text, w)
            copy.jaccard = round(jaccard(src_sh, hasher.shingles(text)), 4)
            texts.append(text)
            docs.append(copy)
    order = rng.permutation(len(docs))
    new_pos = np.empty(len(docs), dtype=np.int64)
    new_pos[order] = np.arange(len(docs))
    for d in docs:
        d.cluster = int(new_pos[d.cluster])
    return [texts[i] for i in order], [docs[i] for i in order], hosts


def open_out(path: Path) -> IO[str]:
    """Open a text file for writing, gzip-compressed if it ends in ``.gz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":  # mtime=0 keeps the bytes identical across runs
        raw = gzip.GzipFile(path, "wb", compresslevel=3, mtime=0)
        return io.TextIOWrapper(raw, encoding="utf-8")
    return path.open("w", encoding="utf-8")


def truth_path(out: Path) -> Path:
    """``x.jsonl`` / ``x.jsonl.gz`` -> ``x.truth.jsonl``."""
    name = out.name
    for suffix in (".gz", ".jsonl", ".json"):
        name = name.removesuffix(suffix)
    return out.with_name(name + ".truth.jsonl")


def records(texts: list[str], docs: list[Doc], hosts: list[Host]) -> Iterator[tuple[str, str]]:
    """Yield (corpus line, truth line) pairs in output order, assigning ids."""
    for i, (text, doc) in enumerate(zip(texts, docs, strict=True)):
        doc_id = f"d{i:08d}"
        rec = {"id": doc_id, "text": text, "url": url_of(doc, hosts, i)}
        truth: dict[str, object] = {"id": doc_id, "cluster": f"d{doc.cluster:08d}"}
        if doc.edit:
            truth["jaccard"] = doc.jaccard
            truth["edit"] = doc.edit
        yield json.dumps(rec, ensure_ascii=False), json.dumps(truth)


def main(argv: list[str] | None = None) -> int:
    """CLI entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, required=True, help="number of documents")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="PATH.jsonl or PATH.jsonl.gz")
    ap.add_argument("--dup-rate", type=float, default=0.2,
                    help="fraction of output documents that are injected copies")
    args = ap.parse_args(argv)
    gc.disable()  # millions of long-lived strings: cyclic GC passes only cost time
    t0 = time.perf_counter()
    texts, docs, hosts = generate(args.docs, args.seed, args.dup_rate)
    t1 = time.perf_counter()
    with open_out(args.out) as f_out, truth_path(args.out).open("w", encoding="utf-8") as f_tr:
        for line, truth in records(texts, docs, hosts):
            f_out.write(line + "\n")
            f_tr.write(truth + "\n")
    t2 = time.perf_counter()
    js = np.array([d.jaccard for d in docs if d.edit], dtype=float)
    n_bytes = sum(len(t.encode("utf-8")) for t in texts)
    print(f"{len(texts)} docs ({n_bytes / 2**20:.1f} MiB text), {len(js)} copies, "
          f"{(js >= 0.8).mean() if len(js) else 0:.1%} of copies with J>=0.8; "
          f"generated in {t1 - t0:.1f}s, written in {t2 - t1:.1f}s -> {args.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Blocks of plain text and the counts that tell an article from its page's chrome.

A document is cut into blocks at line breaks; a block is a line with something visible
on it. For every block one compiled pass over the UTF-8 text counts what a reader sees
in it: words, punctuation, sentence ends, capitalised and short words, digits, list
bullets, separators, links and copyright signs, and a key (its case-folded words with
digit runs masked) under which it is counted across the other pages of its site.
``core/features.py`` turns those counts into the rows the block model reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from numba import njit
from numpy.typing import NDArray

from thresher.core.hashing import FNV_OFFSET, FNV_PRIME, MUL, fmix64
from thresher.core.sketch import next_code_point
from thresher.core.text import CONTINUOUS, ORDINARY, case_folds, char_classes, folds, prepare_batch

__all__ = ["STAT_NAMES", "Blocks", "line_breaks", "split_blocks", "split_counted",
           "split_prepared"]

# Raw per-block counts, columns of Blocks.stats.
(_WORDS, _CHARS, _PUNCT, _TERM, _COLON, _SENTS, _COMMAS, _CAPS, _DIGITS, _SHORT, _WORDLEN,
 _SEPS, _SLASH, _BULLET, _UPPER, _LOWER, _COPY, _LINK) = range(18)
_N_STATS = 18
STAT_NAMES = ("words", "chars", "punct", "ends_sentence", "ends_colon", "sentences", "commas",
              "capitalised", "digits", "short_words", "word_chars", "separators", "slashes",
              "bullet", "upper", "lower", "copyright", "links")
_MIN_LONG_WORD = 3  # code points: words shorter than this do not carry a topic
@dataclass(frozen=True)
class Blocks:
    """The blocks of a batch of ``n`` documents (``m`` blocks in all)."""

    doc_offsets: NDArray[np.int64]  # (n + 1,): blocks of document d are [off[d], off[d+1])
    start: NDArray[np.int64]  # (m,): first code point of the block in its document
    end: NDArray[np.int64]  # (m,): one past its last visible code point
    key: NDArray[np.uint64]  # (m,): case-folded words, digit runs masked
    stats: NDArray[np.float64]  # (m, 18): raw counts
    word_hashes: NDArray[np.uint64]  # flat: topic-word hashes per block, in text order
    word_offsets: NDArray[np.int64]  # (m + 1,)
    # (m, 2): the block's first and past-its-last byte in its document's UTF-8
    bytes: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 2), np.int64))


@njit(cache=True, nogil=True)
def _decode(data, lo, hi, out, pos):  # type: ignore[no-untyped-def]
    """Decode data[lo:hi] into out; pos[k] is where code point k starts (from lo)."""
    n = 0
    i = lo
    while i < hi:
        pos[n] = i - lo
        out[n], i = next_code_point(data, i, hi)
        n += 1
    pos[n] = hi - lo
    return n


_INVIS, _TERMF, _CLOSE, _PUNCTF, _SEPF, _COMMA, _BULLETF = 1, 2, 4, 8, 16, 32, 64


@lru_cache(maxsize=1)
def _flags() -> NDArray[np.uint8]:
    """Return, per code point, the marks the block counts look for, as bits."""
    marks: dict[int, int] = {}
    for c in [*range(0x21), 0x7F, 0xA0, 0xAD, *range(0x2000, 0x2010), 0x2028, 0x2029,
              0x202F, 0x205F, 0x3000, 0xFEFF]:
        marks[c] = marks.get(c, 0) | _INVIS
    for c in (0x2E, 0x21, 0x3F, 0x3002, 0xFF01, 0xFF1F, 0x2026, 0x0964, 0x061F, 0xFF0E):
        marks[c] = marks.get(c, 0) | _TERMF | _PUNCTF
    for c in (0x22, 0x27, 0x29, 0x5D, 0xBB, 0x201D, 0x2019, 0x300D, 0x300F, 0xFF09):
        marks[c] = marks.get(c, 0) | _CLOSE
    for c in (0x2C, 0x3B, 0x3A, 0x3001, 0xFF0C, 0xFF1B, 0xFF1A, 0x060C):
        marks[c] = marks.get(c, 0) | _PUNCTF
    for c in (0x2C, 0x3001, 0xFF0C, 0x060C):
        marks[c] = marks.get(c, 0) | _COMMA
    for c in (0x7C, 0xBB, 0xAB, 0x203A, 0x2039, 0xB7, 0x2022, 0x2192, 0x2190, 0x25B8, 0x25BA,
              0x2023, 0x25AA):
        marks[c] = marks.get(c, 0) | _SEPF
    for c in (0x2D, 0x2A, 0x2022, 0xB7, 0x2013, 0x2014, 0x25AA, 0x25BA, 0x25B8, 0x2023):
        marks[c] = marks.get(c, 0) | _BULLETF
    table = np.zeros(0x110000, dtype=np.uint8)
    table[list(marks)] = list(marks.values())
    return table


@lru_cache(maxsize=1)
def _simple_folds() -> NDArray[np.int32]:
    """What :func:`split_counted` needs of NFKC and case folding (:func:`folds`): for a
    word character that they turn into one word character, that character; for any other
    character that they turn into none, or into characters that are not word characters
    (a space, the three dots of an ellipsis), 0; for any other, -1."""
    table = char_classes()
    fold, expand = folds()
    out = np.full(fold.shape[0], -1, dtype=np.int32)
    word = table != 0
    single = np.flatnonzero(fold >= 0)
    kept = word[single] == (table[fold[single]] != 0)
    out[single[kept]] = np.where(word[single[kept]], fold[single[kept]], 0)
    length, kind, last = expand[:, 0], expand[:, 1], expand[:, 2]
    inside = np.arange(expand.shape[1] - 3) < length[:, None]
    any_word = (table[expand[:, 3:]].astype(bool) & inside).any(axis=1)
    harmless = (kind == ORDINARY) & (last == 0) & ~any_word  # by row
    many = np.flatnonzero(fold < 0)
    out[many[harmless[-fold[many]] & ~word[many]]] = 0
    return out


@njit(cache=True, nogil=True)
def _split_batch(data, offsets, table, fold, flags, starts, ends, spans, keys,  # type: ignore[no-untyped-def]
                 stats, doc_off, whash, woff, nfold, fps, tokens):
    n_docs = offsets.shape[0] - 1
    want = fps.shape[0] > 0  # also the documents' fingerprints (see split_prepared)
    longest = 1
    for d in range(n_docs):
        longest = max(longest, offsets[d + 1] - offsets[d])
    codes = np.empty(longest, dtype=np.uint32)
    pos = np.empty(longest + 1, dtype=np.int64)
    seen = np.empty(longest, dtype=np.uint64)
    m = 0
    nw = 0
    for d in range(n_docs):
        n = _decode(data, offsets[d], offsets[d + 1], codes, pos)
        line = 0
        # the document's word tokens under NFKC and case folding, as the sketch hashes them
        fa, fb = FNV_OFFSET, np.uint64(0x84222325CBF29CE4)
        n_tok = chars2 = cont2 = 0
        simple = True
        while line <= n:
            stop = line
            while stop < n and codes[stop] != 0x0A:
                stop += 1
            a, b = line, stop
            while a < b and flags[codes[a]] & _INVIS:
                a += 1
            while b > a and flags[codes[b - 1]] & _INVIS:
                b -= 1
            if a < b:
                words = chars = punct = sents = commas = caps = digits = short = 0
                wordlen = seps = slash = upper = lower = copy = link = 0
                key = FNV_OFFSET
                h = FNV_OFFSET
                length = 0
                upper_first = False
                n_seen = 0
                last, prev1 = np.uint32(0), np.uint32(0)
                core = np.uint32(0)  # the last character that is not a closing mark
                h2 = FNV_OFFSET
                for i in range(a, b + 1):
                    c = codes[i] if i < b else np.uint32(0x20)
                    word = i < b and table[c] != 0
                    if word and c < 0x80:  # ASCII, most text: NFKC leaves it, fold lowers
                        f = fold[c]
                        if want:
                            h2 = (h2 ^ np.uint64(f)) * FNV_PRIME
                        if c - np.uint32(0x30) < np.uint32(10):
                            digits += 1
                            if length == 0 or not (0x30 <= last <= 0x39):
                                h = (h ^ np.uint64(0x30)) * FNV_PRIME
                        else:
                            h = (h ^ np.uint64(f)) * FNV_PRIME
                            if f != np.int32(c):
                                upper += 1
                                if length == 0:
                                    upper_first = True
                            else:
                                lower += 1
                        length += 1
                    elif word:
                        if want:  # a word character folds to one word character here
                            f2 = nfold[c]
                            if f2 < 0:
                                simple = False
                                f2 = 0
                            h2 = (h2 ^ np.uint64(f2)) * FNV_PRIME
                            cont2 += table[f2] == CONTINUOUS
                        f = fold[c]
                        if 0x30 <= c <= 0x39:
                            digits += 1
                            if length == 0 or not (0x30 <= last <= 0x39):
                                h = (h ^ np.uint64(0x30)) * FNV_PRIME
                        else:
                            h = (h ^ (np.uint64(f) if f >= 0 else np.uint64(c))) * FNV_PRIME
                            if f >= 0 and f != np.int32(c):
                                upper += 1
                                if length == 0:
                                    upper_first = True
                            elif table[c] == 1:
                                lower += 1
                        length += 1
                    elif length > 0:
                        if want:
                            t = fmix64(h2 ^ np.uint64(length))
                            fa = (fa ^ t) * MUL
                            fb = (fb + t) * FNV_PRIME
                            n_tok += 1
                            chars2 += length
                            h2 = FNV_OFFSET
                        wh = fmix64(h ^ np.uint64(length))
                        key = (key ^ wh) * MUL
                        words += 1
                        wordlen += length
                        if length <= 3:
                            short += 1
                        if upper_first:
                            caps += 1
                        if length >= _MIN_LONG_WORD:
                            seen[n_seen] = wh
                            n_seen += 1
                        h = FNV_OFFSET
                        length = 0
                        upper_first = False
                    if i == b:
                        break
                    chars += 1
                    if not word:
                        if want and nfold[c] < 0:  # folds to more, or to a word character
                            simple = False
                        fl = flags[c]
                        if fl != 0:
                            if fl & _PUNCTF:
                                punct += 1
                            if fl & _COMMA:
                                commas += 1
                            if fl & _TERMF and (i + 1 == b or flags[codes[i + 1]] & (
                                    _INVIS | _CLOSE)):
                                sents += 1
                            if fl & _SEPF:
                                seps += 1
                        if c == 0x2F:
                            slash += 1
                            if last == 0x2F and prev1 == 0x3A:
                                link += 1
                        elif c == 0x40:
                            link += 1
                        elif c == 0xA9:
                            copy += 1
                        if not fl & _CLOSE:
                            core = c
                    else:
                        core = c
                    prev1, last = last, c
                s = stats[m]
                s[_WORDS], s[_CHARS], s[_PUNCT], s[_SENTS] = words, chars, punct, sents
                s[_COMMAS], s[_CAPS], s[_DIGITS], s[_SHORT] = commas, caps, digits, short
                s[_WORDLEN], s[_SEPS], s[_SLASH], s[_UPPER] = wordlen, seps, slash, upper
                s[_LOWER], s[_COPY], s[_LINK] = lower, copy, link
                s[_TERM] = 1.0 if flags[core] & _TERMF else 0.0
                s[_COLON] = 1.0 if core == 0x3A or core == 0xFF1A else 0.0
                s[_BULLET] = 1.0 if flags[codes[a]] & _BULLETF else 0.0
                starts[m], ends[m] = a, b
                spans[m, 0], spans[m, 1] = pos[a], pos[b]
                keys[m] = fmix64(key ^ np.uint64(words))
                whash[nw:nw + n_seen] = seen[:n_seen]
                nw += n_seen
                m += 1
                woff[m] = nw
            line = stop + 1
        doc_off[d + 1] = m
        if want:
            fps[d, 0] = fmix64(fa ^ np.uint64(n_tok))
            fps[d, 1] = fmix64(fb + np.uint64(n_tok))
            tokens[d, 0], tokens[d, 1], tokens[d, 2] = n_tok, chars2, cont2
            tokens[d, 3] = simple
    return m, nw


def split_blocks(texts: list[str]) -> Blocks:
    """Cut a batch of documents into blocks and count what is in each.

    Examples:
        >>> b = split_blocks(["Title\\n\\nA sentence, with words.\\n  Home | About  "])
        >>> b.doc_offsets.tolist(), b.start.tolist(), b.end.tolist()
        ([0, 3], [0, 7, 33], [5, 30, 45])
    """
    return split_prepared(*prepare_batch(texts))


@njit(cache=True, nogil=True)
def line_breaks(data):  # type: ignore[no-untyped-def]
    """How many line breaks ``data`` holds (without a mask of its size to count)."""
    n = 0
    for i in range(data.shape[0]):
        n += data[i] == 0x0A
    return n


def split_prepared(data: NDArray[np.uint8], offsets: NDArray[np.int64]) -> Blocks:
    """:func:`split_blocks` of texts already encoded by :func:`prepare_batch` (each one
    followed by its newline, which ends its last line and makes no block)."""
    return _split(data, offsets, False)[0]


def split_counted(data: NDArray[np.uint8], offsets: NDArray[np.int64]
                  ) -> tuple[Blocks, NDArray[np.uint64], NDArray[np.int64]]:
    """:func:`split_prepared`, and in the same pass what the sketch finds of every whole
    text (``sketch_texts`` without signatures): its fingerprint, and per document (word
    tokens, word characters, of them in scripts without spaces, simple). Not ``simple``:
    the text holds a character that NFKC and case folding turn into more than one, or
    that composes with its neighbour; its figures are then not worked out here.
    """
    return _split(data, offsets, True)


def _split(data: NDArray[np.uint8], offsets: NDArray[np.int64], counted: bool
           ) -> tuple[Blocks, NDArray[np.uint64], NDArray[np.int64]]:
    n = offsets.shape[0] - 1 if counted else 0
    fps = np.zeros((n, 2), dtype=np.uint64)
    tokens = np.zeros((n, 4), dtype=np.int64)
    cap = int(line_breaks(data)) + 1
    starts = np.empty(cap, dtype=np.int64)
    ends = np.empty(cap, dtype=np.int64)
    spans = np.empty((cap, 2), dtype=np.int64)
    keys = np.empty(cap, dtype=np.uint64)
    stats = np.empty((cap, _N_STATS), dtype=np.float64)
    doc_off = np.zeros(offsets.shape[0], dtype=np.int64)
    whash = np.empty(max(data.shape[0] // 2 + 1, 1), dtype=np.uint64)
    woff = np.zeros(cap + 1, dtype=np.int64)
    fold, _ = case_folds()
    m, nw = _split_batch(data, offsets, char_classes(), fold, _flags(), starts, ends, spans,
                         keys, stats, doc_off, whash, woff, _simple_folds(), fps, tokens)
    return Blocks(doc_off, starts[:m].copy(), ends[:m].copy(), keys[:m].copy(),
                  stats[:m].copy(), whash[:nw].copy(), woff[: m + 1].copy(),
                  spans[:m].copy()), fps, tokens

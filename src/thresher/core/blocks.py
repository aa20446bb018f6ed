"""Blocks of plain text and the evidence that tells an article from its page's chrome.

A document is cut into blocks at line breaks; a block is a line with something visible
on it. For every block one compiled pass over the UTF-8 text counts what a reader sees
in it: words, punctuation, sentence ends, capitalised and short words, digits, list
bullets, separators, links and copyright signs, and a key (its case-folded words with
digit runs masked) under which it is counted across the other pages of its site.

:func:`block_features` turns those counts into one row of numbers per block, adding
what only the whole document shows: where the block sits, how long its neighbours are,
how many of its words it shares with the title and with the document's other long
blocks (an article's paragraphs share their topic's words; a run of teasers for other
stories does not), and on how many other pages of the same site the block recurs.
Nothing here names a site or a phrase.
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

__all__ = ["FEATURES", "MIN_SITE_PAGES", "STAT_NAMES", "Blocks", "block_features", "headings",
           "line_breaks", "split_blocks", "split_counted", "split_prepared", "word_features"]

# Raw per-block counts, columns of Blocks.stats.
(_WORDS, _CHARS, _PUNCT, _TERM, _COLON, _SENTS, _COMMAS, _CAPS, _DIGITS, _SHORT, _WORDLEN,
 _SEPS, _SLASH, _BULLET, _UPPER, _LOWER, _COPY, _LINK) = range(18)
_N_STATS = 18
STAT_NAMES = ("words", "chars", "punct", "ends_sentence", "ends_colon", "sentences", "commas",
              "capitalised", "digits", "short_words", "word_chars", "separators", "slashes",
              "bullet", "upper", "lower", "copyright", "links")
_MIN_LONG_WORD = 3  # code points: words shorter than this do not carry a topic
_LONG_BLOCK = 8  # words: a block this long can be a paragraph
_CONTEXT = (-3, -2, -1, 1, 2, 3)
# With fewer distinct pages than this, a block on every page may as well be a copied
# article as a template: the site's counts are not used.
MIN_SITE_PAGES = 3

FEATURES: tuple[str, ...] = (
    "log_words", "log_chars", "punct_share", "ends_sentence", "ends_colon", "sentences",
    "commas_per_word", "capitalised_share", "digit_share", "short_word_share",
    "mean_word_length", "separators", "slashes", "bullet", "all_caps", "copyright", "link",
    "position", "words_before", "words_after", "log_blocks", "log_doc_words",
    "title_overlap", "recurrence", "log_site_pages_with_block", "site_share_with_block",
    "log_site_pages", "first_block",
    *[f"{name}_{off:+d}" for off in _CONTEXT
      for name in ("log_words", "ends_sentence", "title_overlap")],
    "short_blocks_around", "log_words_around", "title_overlap_ahead",
    "doc_words_on_other_pages", "blocks_around_on_other_pages",
    "title_words_before", "title_words_after",
)


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


@njit(cache=True, nogil=True)
def _doc_word_features(lo, hi, stats, whash, woff, title_out, rec_out, tkey, tlast, tcount,  # type: ignore[no-untyped-def]
                       ttitle, slot_of, first):
    """Title overlap and recurrence of blocks lo..hi of one document (-1: no topic words).

    Each distinct word gets a slot of an open-addressing table (``tkey`` ...), which
    counts the long blocks holding it and whether the title (block ``lo``) does.
    """
    total = woff[hi] - woff[lo]
    if total == 0:
        title_out[lo:hi] = -1.0
        rec_out[lo:hi] = -1.0
        return
    size = 16
    while size < 2 * total:
        size *= 2
    mask = size - 1
    tlast[:size] = -1
    base = woff[lo]
    n_long = 0
    for b in range(lo, hi):
        long_block = stats[b, _WORDS] >= _LONG_BLOCK
        n_long += 1 if long_block else 0
        for k in range(woff[b] - base, woff[b + 1] - base):
            h = whash[base + k]
            j = np.int64(h >> np.uint64(40)) & mask
            while tlast[j] != -1 and tkey[j] != h:
                j = (j + 1) & mask
            if tlast[j] == -1:
                tkey[j] = h
                tcount[j] = 0
                ttitle[j] = False
                tlast[j] = lo - 1
            slot_of[k] = j
            first[k] = tlast[j] != b  # the word's first occurrence in its block
            if first[k]:
                tlast[j] = b
                if long_block:
                    tcount[j] += 1
            if b == lo:
                ttitle[j] = True
    for b in range(lo, hi):
        own = 1 if stats[b, _WORDS] >= _LONG_BLOCK else 0
        words = 0
        shared = 0
        titled = 0
        for k in range(woff[b] - base, woff[b + 1] - base):
            df = tcount[slot_of[k]]
            if not first[k] or (n_long >= 4 and df * 2 > n_long):
                continue  # the document's function words: in most of its paragraphs
            words += 1
            if df - own >= 1:
                shared += 1
            if ttitle[slot_of[k]]:
                titled += 1
        if words == 0:
            title_out[b] = -1.0
            rec_out[b] = -1.0
        else:
            title_out[b] = titled / words if b != lo else -1.0
            rec_out[b] = shared / words


@njit(cache=True, nogil=True)
def _word_features(doc_off, stats, whash, woff, out):  # type: ignore[no-untyped-def]
    m = stats.shape[0]
    title = np.empty(m, dtype=np.float64)
    rec = np.empty(m, dtype=np.float64)
    most = 1
    for d in range(doc_off.shape[0] - 1):
        most = max(most, woff[doc_off[d + 1]] - woff[doc_off[d]])
    size = 16
    while size < 2 * most:
        size *= 2
    tkey = np.empty(size, dtype=np.uint64)
    tlast = np.empty(size, dtype=np.int64)
    tcount = np.empty(size, dtype=np.int64)
    ttitle = np.empty(size, dtype=np.bool_)
    slot_of = np.empty(most, dtype=np.int64)
    first = np.empty(most, dtype=np.bool_)
    for d in range(doc_off.shape[0] - 1):
        lo, hi = doc_off[d], doc_off[d + 1]
        if hi > lo:
            _doc_word_features(lo, hi, stats, whash, woff, title, rec, tkey, tlast, tcount,
                               ttitle, slot_of, first)
    out[:, 0] = title
    out[:, 1] = rec


def word_features(blocks: Blocks) -> NDArray[np.float64]:
    """Return per block ``(title overlap, recurrence)``: the share of its topic words in
    the title, and in the document's other long blocks (-1: no topic words). They depend
    on the document alone, so they can be worked out once and kept."""
    out = np.empty((blocks.stats.shape[0], 2), dtype=np.float64)
    _word_features(blocks.doc_offsets, blocks.stats, blocks.word_hashes, blocks.word_offsets,
                   out)
    return out


@njit(cache=True, nogil=True)
def _features(doc_off, stats, title, rec, site_count, site_pages, out):  # type: ignore[no-untyped-def]
    for d in range(doc_off.shape[0] - 1):
        lo, hi = doc_off[d], doc_off[d + 1]
        if hi == lo:
            continue
        n = hi - lo
        total = 0.0
        for b in range(lo, hi):
            total += stats[b, _WORDS]
        before = 0.0
        pages = site_pages[d] if site_pages[d] >= MIN_SITE_PAGES else 1
        for b in range(lo, hi):
            s = stats[b]
            w = s[_WORDS]
            c = s[_CHARS]
            f = out[b]
            f[0] = np.log1p(w)
            f[1] = np.log1p(c)
            f[2] = s[_PUNCT] / max(c, 1.0)
            f[3] = s[_TERM]
            f[4] = s[_COLON]
            f[5] = s[_SENTS]
            f[6] = s[_COMMAS] / max(w, 1.0)
            f[7] = s[_CAPS] / max(w, 1.0)
            f[8] = s[_DIGITS] / max(c, 1.0)
            f[9] = s[_SHORT] / max(w, 1.0)
            f[10] = s[_WORDLEN] / max(w, 1.0)
            f[11] = s[_SEPS]
            f[12] = s[_SLASH]
            f[13] = s[_BULLET]
            f[14] = 1.0 if s[_UPPER] >= 2 and s[_LOWER] == 0 else 0.0
            f[15] = s[_COPY]
            f[16] = s[_LINK]
            f[17] = (b - lo) / max(n - 1, 1)
            f[18] = before / max(total, 1.0)
            before += w
            f[19] = before / max(total, 1.0)
            f[20] = np.log1p(n)
            f[21] = np.log1p(total)
            f[22] = title[b]
            f[23] = rec[b]
            others = max(site_count[b] - 1, 0) if pages > 1 else 0
            f[24] = np.log1p(others)
            f[25] = others / (pages - 1) if pages > 1 else -1.0
            f[26] = np.log1p(max(pages - 1, 0))
            f[27] = 1.0 if b == lo else 0.0
        col = 28
        for off in (-3, -2, -1, 1, 2, 3):
            for b in range(lo, hi):
                o = b + off
                if lo <= o < hi:
                    out[b, col] = out[o, 0]
                    out[b, col + 1] = out[o, 3]
                    out[b, col + 2] = title[o]
                else:
                    out[b, col] = -1.0
                    out[b, col + 1] = -1.0
                    out[b, col + 2] = -1.0
            col += 3
        for b in range(lo, hi):
            short = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 3), min(hi, b + 4)):
                short += 1.0 if stats[o, _WORDS] < 5 else 0.0
                cnt += 1.0
            out[b, col] = short / cnt
            lw = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 5), min(hi, b + 6)):
                lw += out[o, 0]
                cnt += 1.0
            out[b, col + 1] = lw / cnt
            ahead = 0.0
            cnt = 0.0
            for o in range(b + 1, min(hi, b + 11)):
                ahead += max(title[o], 0.0)
                cnt += 1.0
            out[b, col + 2] = ahead / cnt if cnt else -1.0
        shared_words = 0.0
        for b in range(lo, hi):
            if site_count[b] > 1 and pages > 1:
                shared_words += stats[b, _WORDS]
        for b in range(lo, hi):
            out[b, col + 3] = shared_words / max(total, 1.0) if pages > 1 else -1.0
            near = 0.0
            cnt = 0.0
            for o in range(max(lo, b - 3), min(hi, b + 4)):
                if o != b:
                    near += 1.0 if site_count[o] > 1 and pages > 1 else 0.0
                    cnt += 1.0
            out[b, col + 4] = near / cnt if cnt and pages > 1 else -1.0
        mass = 0.0
        for b in range(lo, hi):
            mass += max(title[b], 0.0) * stats[b, _WORDS]
        seen = 0.0
        for b in range(lo, hi):
            here = max(title[b], 0.0) * stats[b, _WORDS]
            out[b, col + 5] = seen / mass if mass > 0 else -1.0
            seen += here
            out[b, col + 6] = (mass - seen) / mass if mass > 0 else -1.0


def block_features(blocks: Blocks, site_count: NDArray[np.int64],
                   site_pages: NDArray[np.int64], words: NDArray[np.float64] | None = None
                   ) -> NDArray[np.float64]:
    """Return the ``(m, len(FEATURES))`` feature rows of the blocks.

    ``site_count[b]``: on how many pages of its site (distinct texts, this one included)
    block ``b``'s key occurs; ``site_pages[d]``: how many pages document ``d``'s site has;
    ``words``: :func:`word_features`, when they were kept (else worked out here).
    """
    if words is None:
        words = word_features(blocks)
    out = np.empty((blocks.stats.shape[0], len(FEATURES)), dtype=np.float64)
    _features(blocks.doc_offsets, blocks.stats, np.ascontiguousarray(words[:, 0]),
              np.ascontiguousarray(words[:, 1]), np.asarray(site_count, dtype=np.int64),
              np.asarray(site_pages, dtype=np.int64), out)
    return out


def headings(blocks: Blocks) -> NDArray[np.bool_]:
    """Return which blocks read as headings: at most six words and no sentence end."""
    s = blocks.stats
    out: NDArray[np.bool_] = ((s[:, _WORDS] >= 1) & (s[:, _WORDS] <= 6) & (s[:, _TERM] == 0)
                              & (s[:, _COLON] == 0))
    return out

"""Content matching: site block statistics (two passes), then each page's content.

Pass one (in the read stage) cuts every usable document into blocks and writes, per
shard, the pairs (site-and-block key, document fingerprint) into ``PARTITIONS`` files
by the key's top bits, and the pairs (site key, document fingerprint); it also keeps the
texts and their blocks for pass two.

The ``articles`` stage (``stages/articles.py``) tells which documents of a site are
crawls of one article. The ``template`` stage (``stages/template.py``) counts, one
partition per task, each block key's support: on how many distinct documents it occurs
(exact copies count once), or 1 where they are all crawls of one article
(``core/articles.py`` says why), and keeps only the keys on two or more: the table's
size is the number of distinct repeated blocks, not the corpus. Counts are exact and
sorted, so they depend neither on the order of the input nor on the number of workers.

Pass two (the ``content`` stage, ``stages/content.py``) takes each shard's blocks as
pass one kept them (the input is neither parsed nor cut again), looks them up in that
table, scores every block with the shipped model, keeps the main-text span, and sketches
the content for matching.
A document in which no content is found is matched on its whole text.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import xxhash
from numba import njit
from numpy.typing import NDArray

from thresher.core.blocks import (
    FEATURES,
    STAT_NAMES,
    Blocks,
    block_features,
    headings,
    split_prepared,
    word_features,
)
from thresher.core.content import KEEP, load_model, predict, select_content
from thresher.core.sorting import group_order
from thresher.core.titles import first_keys, head_keys, title_keys
from thresher.io.batches import Decoded
from thresher.io.records import Fields, Record
from thresher.pipeline.stages.articles import article_rows

__all__ = [
    "PARTITIONS",
    "Decoded",
    "cleaned",
    "content_spans",
    "group_of",
    "kept_content",
    "pass_one",
    "pass_one_files",
    "site_hashes",
    "site_of",
    "title_keys",
]

PARTITIONS = 16
_SHIFT = np.uint64(60)  # top four bits pick the partition
_MIX = np.uint64(0x9E3779B97F4A7C15)
TITLE_OVERLAP = FEATURES.index("title_overlap")


def group_of(record: Record, fields: Fields) -> str:
    """Return the site a record belongs to: the ``--group-by`` value, else its URL's host.

    Records with neither share one group, the whole input.

    Example:
        >>> group_of(Record("a", "t", "https://WWW.Example.org/x", "f", 1), Fields())
        'example.org'
    """
    return site_of(record.url, record.group, fields)


def site_of(url: str | None, group: str | None, fields: Fields) -> str:
    """:func:`group_of` a record whose URL and ``--group-by`` value are given."""
    if fields.group is not None:
        return group or ""
    if not url:
        return ""
    # The host depends on the scheme and network location alone: pages of one site share
    # them, so it is worked out once per site. A URL that urlsplit would clean first
    # (leading blanks or controls, tabs or line breaks inside) is split whole.
    head = _SCHEME_NETLOC.match(url)
    if head is None or url[0] <= " " or "\t" in url or "\r" in url or "\n" in url:
        return _host_of(url)
    return _host_of(head.group())


_SCHEME_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*")


def site_hashes(urls: list[str | None], groups: list[str | None], fields: Fields
                ) -> NDArray[np.uint64]:
    """The hashes of :func:`site_of` of many records, each site worked out once.

    The scheme and network location are cut from every URL at once (Arrow's compute
    functions); only the distinct ones are split and hashed.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if fields.group is not None or not urls:
        return _group_hash([site_of(u, g, fields) for u, g in zip(urls, groups, strict=True)])
    try:
        url = pa.array(urls, pa.string())
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: one at a time
        return _group_hash([site_of(u, None, fields) for u in urls])
    head = pc.struct_field(pc.extract_regex(url, "^(?P<h>" + _SCHEME_NETLOC.pattern + ")"), [0])
    # as site_of: a URL that urlsplit would clean first is split whole (one that starts
    # with a blank or a control has no head: a scheme starts with a letter)
    whole = pc.or_kleene(pc.is_null(head), pc.match_substring_regex(url, "[\t\r\n]"))
    key = pc.fill_null(pc.if_else(whole, url, head), "")
    codes = pc.dictionary_encode(key)
    hosts = [_host_of(k) if k else "" for k in codes.dictionary.to_pylist()]
    out: NDArray[np.uint64] = _group_hash(hosts)[codes.indices.to_numpy()]
    return out


@lru_cache(maxsize=1 << 16)
def _host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _group_hash(groups: list[str]) -> NDArray[np.uint64]:
    return np.fromiter((xxhash.xxh3_64_intdigest(g.encode("utf-8", "surrogatepass"))
                        for g in groups), dtype=np.uint64, count=len(groups))


def _site_keys(blocks: Blocks, ghash: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Mix every block's key with its document's site: one key per (site, block)."""
    return _site_mix(blocks.key, np.repeat(ghash, np.diff(blocks.doc_offsets)))


def _site_mix(keys: NDArray[np.uint64], ghash: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """One key per (site, key): the same key on another site is another key."""
    with np.errstate(over="ignore"):
        k = (keys ^ (ghash * _MIX)) * np.uint64(0xFF51AFD7ED558CCD)
    return k ^ (k >> np.uint64(29))


# What pass one keeps of every shard for pass two, which then reads neither the input
# nor cuts it again: the usable texts as UTF-8 (each followed by a newline, as
# ``prepare_batch`` lays them out) and, per record, (usable, UTF-8 bytes with that
# newline, blocks, code points), its site and its first block's own key (for its
# headline); per block, its place (code points, then bytes, in its document), site key,
# raw counts and word features.
_KEPT: dict[str, tuple[Any, int]] = {
    "text": (np.uint8, 0), "doc": (np.int64, 4), "ghash": (np.uint64, 0),
    "first": (np.uint64, 0),
    "bpos": (np.int64, 4), "bsite": (np.uint64, 0), "bstat": (np.int32, len(STAT_NAMES)),
    "bword": (np.float64, 2)}


def pass_one_files() -> list[str]:
    """The artifacts pass one writes per shard (besides its fingerprints)."""
    return [f"blk{p:02d}" for p in range(PARTITIONS)] + ["grp", "art", "asig", *_KEPT]


def pass_one(files: dict[str, Any], n: int, slots: list[int], chars: list[int],
             ghash: NDArray[np.uint64], prepared: tuple[NDArray[np.uint8], NDArray[np.int64]],
             blocks: Blocks, fps: NDArray[np.uint64], counted: NDArray[np.bool_], *,
             pages: NDArray[np.uint64]) -> None:
    """Pass one for a batch of ``n`` records, whose rows ``slots`` hold the texts
    ``prepared`` (of ``chars`` code points each), cut into ``blocks``; ``ghash``: the
    hashes of their sites (:func:`site_hashes`); ``pages``: their page keys.

    Writes, for the documents ``counted`` (those with a token), the (site-and-block key,
    document key) pairs by partition, the (site, document key) pairs, what tells which
    documents are one article (:func:`article_rows`), and what pass two needs. A
    document's key is its fingerprint mixed with its site: exact copies on one site share
    it.
    """
    data, offsets = prepared
    keys = _site_keys(blocks, ghash)
    per_doc = np.diff(blocks.doc_offsets)
    on = np.repeat(counted, per_doc)
    docs = _site_mix(fps, ghash)
    pairs = np.stack((keys[on], np.repeat(docs, per_doc)[on]), axis=1)
    order, bounds = group_order((pairs[:, 0] >> _SHIFT).astype(np.int64), PARTITIONS)
    pairs = pairs[order]
    for p in range(PARTITIONS):
        files[f"blk{p:02d}"].write(pairs[bounds[p]:bounds[p + 1]])
    files["grp"].write(np.stack((ghash[counted], docs[counted]), axis=1))
    art, sigs = article_rows(blocks, keys, ghash, docs, pages=pages,
                             known=ghash != _group_hash([""])[0])
    files["art"].write(art[counted])
    files["asig"].write(sigs[counted])
    doc = np.zeros((n, 4), dtype=np.int64)
    site = np.zeros(n, dtype=np.uint64)
    first = np.zeros(n, dtype=np.uint64)
    if slots:
        where = np.asarray(slots)
        doc[where, 0] = 1
        doc[where, 1] = np.diff(offsets)
        doc[where, 2] = per_doc
        doc[where, 3] = chars
        site[where] = ghash
        first[where] = first_keys(blocks)
    files["text"].write(data)
    files["doc"].write(doc)
    files["ghash"].write(site)
    files["first"].write(first)
    files["bpos"].write(np.column_stack((blocks.start, blocks.end, blocks.bytes)))
    files["bsite"].write(keys)
    files["bstat"].write(np.minimum(blocks.stats, np.iinfo(np.int32).max).astype(np.int32))
    files["bword"].write(word_features(blocks))


def cleaned(prepared: tuple[NDArray[np.uint8], NDArray[np.int64]], ghash: NDArray[np.uint64],
            kind: str, tables: Any) -> tuple[Blocks, NDArray[np.uint8], NDArray[np.uint64],
                                             NDArray[np.uint64],
                                             tuple[NDArray[np.uint8], NDArray[np.int64]]]:
    """Cut texts (as ``prepare_batch`` lays them out) into blocks and decide each block's
    fate; return also the title and headline keys and the contents, laid out the same way.

    ``tables(site keys, site hashes)`` gives the site statistics: each block's count of
    pages holding it, and each document's count of site pages.
    """
    blocks = split_prepared(*prepared)
    fate, titles, heads = _decide(blocks, None, ghash, kind, tables, firsts=first_keys(blocks))
    return blocks, fate, titles, heads, kept_content(prepared, blocks, fate == KEEP)


def _decide(blocks: Blocks, words: NDArray[np.float64] | None, ghash: NDArray[np.uint64],
            kind: str, tables: Any, keys: NDArray[np.uint64] | None = None, *,
            firsts: NDArray[np.uint64]
            ) -> tuple[NDArray[np.uint8], NDArray[np.uint64], NDArray[np.uint64]]:
    """Each block's fate and each document's title and headline keys (``keys``: the
    blocks' site keys, when kept; ``words``: their word features, when kept; ``firsts``:
    the documents' first blocks' own keys)."""
    n = blocks.doc_offsets.shape[0] - 1
    if kind == "warc":  # the HTML extractor already chose the main text
        none = np.zeros(n, dtype=np.uint64)
        return np.zeros(blocks.start.shape[0], dtype=np.uint8), none, none.copy()
    if keys is None:
        keys = _site_keys(blocks, ghash)
    counts, pages = tables(keys, ghash)
    model = load_model()
    x = block_features(blocks, counts, pages, words)
    p = predict(model, x)
    fate = select_content(blocks.doc_offsets, p, blocks.stats[:, 0], cut=model.cut,
                          drop=model.drop, title=np.ascontiguousarray(x[:, TITLE_OVERLAP]),
                          heading=headings(blocks))
    return (fate, title_keys(blocks, keys, counts, pages),
            head_keys(blocks, firsts, counts, pages))


@njit(cache=True, nogil=True)
def _join_kept(data, offsets, doc_off, spans, keep, gaps, out, out_off):  # type: ignore[no-untyped-def]
    """Lay out each document's kept blocks (its whole text when none is kept), as
    ``prepare_batch`` would lay out those texts: one per line, or with ``gaps``, each
    followed by the text's own separator after it (a blank line stays a blank line)."""
    at = 0
    for d in range(offsets.shape[0] - 1):
        base = offsets[d]
        last = -1
        for b in range(doc_off[d], doc_off[d + 1]):
            if keep[b]:
                if last >= 0:
                    lo, hi = base + spans[last, 1], base + spans[last + 1, 0]
                    if gaps and hi > lo:
                        out[at:at + hi - lo] = data[lo:hi]
                        at += hi - lo
                    else:
                        out[at] = 0x0A
                        at += 1
                lo, hi = base + spans[b, 0], base + spans[b, 1]
                out[at:at + hi - lo] = data[lo:hi]
                at += hi - lo
                last = b
        if last < 0:
            size = offsets[d + 1] - 1 - base
            out[at:at + size] = data[base:base + size]
            at += size
        out[at] = 0x0A
        at += 1
        out_off[d + 1] = at


def kept_content(prepared: tuple[NDArray[np.uint8], NDArray[np.int64]], blocks: Blocks,
                 keep: NDArray[np.bool_], *, gaps: bool = False
                 ) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Each document's content (its ``keep`` blocks; the whole text when none is kept),
    laid out as ``prepare_batch`` lays out texts. The blocks are joined by a newline
    (what the sketches read), or with ``gaps`` by the separator the text has after each
    (what a cleaned text keeps: its paragraphs)."""
    data, offsets = prepared
    out = np.empty(data.shape[0], dtype=np.uint8)  # never longer than the texts
    out_off = np.zeros(offsets.shape[0], dtype=np.int64)
    _join_kept(data, offsets, blocks.doc_offsets, blocks.bytes, keep, gaps, out, out_off)
    return out[:out_off[-1]], out_off


def content_spans(blocks: Blocks, keep: NDArray[np.bool_], lengths: NDArray[np.int64]
                  ) -> NDArray[np.int64]:
    """Return each document's content span (code points, from its first kept block's
    start to its last one's end; the whole text, of ``lengths``, where none is kept)."""
    n = blocks.doc_offsets.shape[0] - 1
    kept_blocks = np.flatnonzero(keep)
    doc_of = np.repeat(np.arange(n), np.diff(blocks.doc_offsets))
    last = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last, doc_of[kept_blocks], kept_blocks)
    first = _first_kept(blocks.doc_offsets, keep)
    found = last >= 0
    top = max(blocks.start.shape[0] - 1, 0)
    starts = np.append(blocks.start, 0)[np.clip(first, 0, top)]
    ends = np.append(blocks.end, 0)[np.clip(last, 0, top)]
    return np.stack((np.where(found, starts, 0), np.where(found, ends, lengths)), axis=1)


def _first_kept(doc_offsets: NDArray[np.int64], keep: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Return each document's first kept block (or its end when none is kept)."""
    m = keep.shape[0]
    nxt = np.where(keep, np.arange(m), m)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1] if m else nxt  # next kept block at or after
    starts = doc_offsets[:-1]
    return np.where(starts < m, nxt[np.minimum(starts, max(m - 1, 0))], m) if m else \
        np.zeros(starts.shape[0], dtype=np.int64)

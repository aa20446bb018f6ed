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
from numpy.typing import NDArray

from thresher.core.articles import article_rows
from thresher.core.blocks import STAT_NAMES, Blocks
from thresher.core.cleaning import group_hashes, site_keys, site_mix
from thresher.core.features import word_features
from thresher.core.sorting import group_order
from thresher.core.titles import first_keys
from thresher.io.batches import Decoded
from thresher.io.records import Fields, Record

__all__ = [
    "PARTITIONS",
    "PASS_ONE_KEPT",
    "Decoded",
    "group_of",
    "pass_one",
    "pass_one_files",
    "site_hashes",
    "site_of",
]

PARTITIONS = 16
_SHIFT = np.uint64(60)  # top four bits pick the partition


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
        return group_hashes([site_of(u, g, fields) for u, g in zip(urls, groups, strict=True)])
    try:
        url = pa.array(urls, pa.string())
    except (pa.ArrowException, UnicodeEncodeError):  # a lone surrogate: one at a time
        return group_hashes([site_of(u, None, fields) for u in urls])
    head = pc.struct_field(pc.extract_regex(url, "^(?P<h>" + _SCHEME_NETLOC.pattern + ")"), [0])
    # as site_of: a URL that urlsplit would clean first is split whole (one that starts
    # with a blank or a control has no head: a scheme starts with a letter)
    whole = pc.or_kleene(pc.is_null(head), pc.match_substring_regex(url, "[\t\r\n]"))
    key = pc.fill_null(pc.if_else(whole, url, head), "")
    codes = pc.dictionary_encode(key)
    hosts = [_host_of(k) if k else "" for k in codes.dictionary.to_pylist()]
    out: NDArray[np.uint64] = group_hashes(hosts)[codes.indices.to_numpy()]
    return out


@lru_cache(maxsize=1 << 16)
def _host_of(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


# What pass one keeps of every shard for pass two, which then reads neither the input
# nor cuts it again: the usable texts as UTF-8 (each followed by a newline, as
# ``prepare_batch`` lays them out) and, per record, (usable, UTF-8 bytes with that
# newline, blocks, code points), its site and its first block's own key (for its
# headline); per block, its place (code points, then bytes, in its document), site key,
# raw counts and word features.
PASS_ONE_KEPT: dict[str, tuple[Any, int]] = {
    "text": (np.uint8, 0), "doc": (np.int64, 4), "ghash": (np.uint64, 0),
    "first": (np.uint64, 0),
    "bpos": (np.int64, 4), "bsite": (np.uint64, 0), "bstat": (np.int32, len(STAT_NAMES)),
    "bword": (np.float64, 2)}


def pass_one_files() -> list[str]:
    """The artifacts pass one writes per shard (besides its fingerprints)."""
    return [f"blk{p:02d}" for p in range(PARTITIONS)] + ["grp", "art", "asig", *PASS_ONE_KEPT]


def pass_one(files: dict[str, Any], n: int, slots: list[int], *, chars: list[int],
             ghash: NDArray[np.uint64], prepared: tuple[NDArray[np.uint8], NDArray[np.int64]],
             blocks: Blocks, fps: NDArray[np.uint64], counted: NDArray[np.bool_],
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
    keys = site_keys(blocks, ghash)
    per_doc = np.diff(blocks.doc_offsets)
    on = np.repeat(counted, per_doc)
    docs = site_mix(fps, ghash)
    pairs = np.stack((keys[on], np.repeat(docs, per_doc)[on]), axis=1)
    order, bounds = group_order((pairs[:, 0] >> _SHIFT).astype(np.int64), PARTITIONS)
    pairs = pairs[order]
    for p in range(PARTITIONS):
        files[f"blk{p:02d}"].write(pairs[bounds[p]:bounds[p + 1]])
    files["grp"].write(np.stack((ghash[counted], docs[counted]), axis=1))
    art, sigs = article_rows(blocks, keys, ghash, docs=docs, pages=pages,
                             known=ghash != group_hashes([""])[0])
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



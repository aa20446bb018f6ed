"""Stages 2 to 4: global index, LSH candidates per band, verification, matching (the
clustering that follows is in :mod:`thresher.pipeline.clusters`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.cluster import headlines_allow, may_take
from thresher.core.lsh import band_keys, bucket_pairs
from thresher.core.sorting import distinct, group_order, lex_order
from thresher.core.verify import distinct_sets, gather_slices, overlaps
from thresher.pipeline.graph import artifact, numbered, shard_key
from thresher.pipeline.workdir import WorkDir

__all__ = [
    "EDGE_SAME_CONTENT",
    "KIND_EXACT",
    "KIND_EXACT_NEAR",
    "KIND_KEPT",
    "KIND_NEAR",
    "KIND_PARTIAL",
    "KIND_REJECTED",
    "KIND_SAME_CONTENT",
    "KIND_TITLE",
    "BandTask",
    "EdgeTask",
    "KeysTask",
    "VerifyTask",
    "band_task",
    "build_index",
    "edge_task",
    "keys_task",
    "lsh_parts",
    "merge_candidates",
    "overlay",
    "per_doc",
    "record_ranks",
    "verify_task",
    "ways_of",
]

(KIND_KEPT, KIND_EXACT, KIND_NEAR, KIND_EXACT_NEAR, KIND_REJECTED, KIND_PARTIAL,
 KIND_TITLE, KIND_SAME_CONTENT) = range(8)
# KIND_EXACT: the same whole text (normalized); KIND_SAME_CONTENT: matching on content, the
# same content in a different whole text (another wrapper, other chrome).
EDGE_SAME_CONTENT = 4  # a probe's exact copy of an indexed page's content only
VERIFY_CHUNK = 50_000  # pairs per task: bounds the shingle sets a task holds


def shard_offsets(work: WorkDir, n_shards: int) -> NDArray[np.int64]:
    """Return where each shard's records start in the global numbering (and the total)."""
    sizes = [work.load_raw("read", artifact(s, "mode"), np.uint8).shape[0] for s in range(n_shards)]
    offsets = np.zeros(n_shards + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    return offsets


def build_index(work: WorkDir, n_shards: int, src: str = "read", threads: int = 1,
                keep: str = "connected") -> dict[str, Any]:
    """Rank records, reject repeated ids, and group exact duplicates; save global arrays.

    With ``threads`` > 1, the records are ranked (Arrow's and numpy's sorts, which let go
    of the GIL) by a second thread while this one finds the repeated ids. With a ``keep``
    policy other than ``connected``, each record's priority under it is saved, and the
    rank puts it first (then the default order): the leader of exact copies, and the
    members a crowded LSH bucket pairs every other with, are the policy's first.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from thresher.pipeline.survivor import priority, sort_kind

    wanted = ["id", "length", "reason", "id_generated"] + (["sort_key"] if sort_kind(keep)
                                                           else [])
    metas = [work.read_parquet("read", artifact(s, "meta.parquet"), wanted)
             for s in range(n_shards)]
    table = pa.concat_tables(metas)
    with ThreadPoolExecutor(1) as pool:
        ranked = pool.submit(record_ranks, table) if threads > 1 else None
        ok, repeated, repeated_first = _repeated_ids(table)
        fp = np.concatenate([work.load_raw(src, artifact(s, "fp"), np.uint64, 2)
                             for s in range(n_shards)])
        active = np.flatnonzero(ok)
        rank = record_ranks(table) if ranked is None else ranked.result()
    first = priority(keep, table["sort_key"].to_numpy() if sort_kind(keep) else None,
                     table.num_rows)
    if first is not None:
        rank[np.lexsort((rank, first))] = np.arange(table.num_rows, dtype=np.int64)
    key_order = active[lex_order(fp[active, 0], np.column_stack(
        (fp[active, 1], rank[active].astype(np.uint64))))]  # ranks are not negative
    same = np.zeros(key_order.shape[0], dtype=bool)
    same[1:] = (fp[key_order[1:]] == fp[key_order[:-1]]).all(axis=1)
    group_start = np.maximum.accumulate(np.where(same, 0, np.arange(key_order.shape[0])))
    leaders = key_order[group_start]
    members = leaders != key_order
    order = np.argsort(key_order[members], kind="mergesort")
    exact_doc, exact_leader = key_order[members][order], leaders[members][order]
    # Sparse where it can be: only exact copies and repeated ids get a row.
    saved = {"ok": ok, "rank": rank, "exact_doc": exact_doc, "exact_leader": exact_leader,
             "repeated": repeated, "repeated_first": repeated_first}
    if first is not None:
        saved["priority"] = first
    for name, arr in saved.items():
        work.save("index", name, arr)
    return {"records": table.num_rows, "repeated_ids": int(repeated.shape[0]),
            "exact_members": int(exact_doc.shape[0])}


def record_ranks(table: Any) -> NDArray[np.int64]:
    """Each record's place when the longest come first, then the smallest ids.

    The ids are sorted alone (Arrow's stable sort of strings, quick on ids that come
    mostly in order), then records by length and that order: three times as fast as
    Arrow's sort on both columns, and the same order.
    """
    import pyarrow.compute as pc

    n = table.num_rows
    by_id = np.empty(n, dtype=np.int64)
    by_id[pc.sort_indices(table["id"]).to_numpy()] = np.arange(n, dtype=np.int64)
    length = table["length"].to_numpy()
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((by_id, -length))] = np.arange(n, dtype=np.int64)
    return rank


def _repeated_ids(table: Any) -> tuple[NDArray[np.bool_], NDArray[np.int64],
                                       NDArray[np.int64]]:
    """Which records are usable (no reason to reject them, and the first usable one of
    their id), the later ones of a repeated id, and the first of each of those.

    Only given ids can repeat: a made-up id (``FILE:LINE``, for a record without one) is
    unique by its place, and one that spells a given id is not that id, so neither record
    is rejected for it.
    """
    import pyarrow.compute as pc

    ok = pc.is_null(table["reason"]).to_numpy(zero_copy_only=False)
    codes = pc.dictionary_encode(table["id"]).combine_chunks().indices.to_numpy()
    given = ~pc.fill_null(table["id_generated"], False).to_numpy(zero_copy_only=False)
    good = np.flatnonzero(ok & given)
    _, first = np.unique(codes[good], return_index=True)
    first_of_code = np.full(int(codes.max(initial=0)) + 1, -1, dtype=np.int64)
    first_of_code[codes[good[first]]] = good[first]
    repeated = good[first_of_code[codes[good]] != good]
    ok[repeated] = False
    return ok, repeated, first_of_code[codes[repeated]]


def overlay(keys: NDArray[np.int64], lo: int, hi: int) -> slice:
    """The slice of sorted record numbers ``keys`` that falls in records ``lo`` to ``hi``."""
    return slice(int(np.searchsorted(keys, lo)), int(np.searchsorted(keys, hi)))


def active_docs(work: WorkDir, lo: int, hi: int) -> NDArray[np.int64]:
    """Return the records ``lo`` to ``hi`` that take part in LSH, as offsets from ``lo``:
    usable, and not an exact copy of another."""
    mask = np.asarray(work.load("index", "ok", mmap=True)[lo:hi]).copy()
    exact = work.load("index", "exact_doc", mmap=True)
    mask[np.asarray(exact[overlay(exact, lo, hi)]) - lo] = False
    return np.flatnonzero(mask)


PART_BUDGET = 256 << 20  # bytes of band keys one LSH task may hold


MIN_PARTS = 8  # enough tasks to keep workers busy on a small corpus


def lsh_parts(n_active: int, bands: int) -> int:
    """Return how many key ranges the band keys are cut into (24 bytes per key)."""
    return max(MIN_PARTS, -(-(n_active * bands * 24) // PART_BUDGET))


@dataclass(frozen=True)
class KeysTask:
    """Write one shard's band keys, every band, into files by key range."""

    work: str
    n_shards: int
    shard: int
    bands: int
    rows: int
    columns: int  # signature values kept per document
    parts: int
    src: str = "read"  # the stage whose sketches are matched: read (whole text) or content
    titles: bool = False  # one more band: pages of a site under the same title
    pages: bool = False  # one more band (after the titles'): records of the same page


def keys_task(task: KeysTask) -> dict[str, Any]:
    """Spill the shard's (band << 32 | document, key) rows to ``parts`` files by the key's
    top bits.

    Every bucket of a band lands whole in one file, so each range can be bucketed on its
    own; rows are written band after band, each in document order, which the bucketing
    keeps (and relies on: a band's rows are one slice of each file). With ``titles``,
    band number ``bands`` holds the content stage's title keys, so that two pages of a
    site under one title are compared whatever their sketches say; with ``pages``, the
    next band holds its page keys, so that two records of one address are compared even
    when one holds much more than the other (an extract and its page's whole text).
    """
    work = WorkDir(task.work)
    offsets = shard_offsets(work, task.n_shards)
    lo, hi = int(offsets[task.shard]), int(offsets[task.shard + 1])
    local = active_docs(work, lo, hi)
    sig = work.load_raw(task.src, artifact(task.shard, "sig"), np.uint32, task.columns)
    sig = np.ascontiguousarray(sig[local])
    docs = (local + lo).astype(np.uint64)  # below 2**32: pairs pack two of them
    out = [work.appender("keys", artifact(task.shard, f"p{p:04d}")) for p in range(task.parts)]

    def spill(band: int, keys: NDArray[np.uint64], owners: NDArray[np.uint64]) -> None:
        """One band's rows of the shard (they fit in cache), dealt to the parts in one
        stable pass."""
        which = (keys >> np.uint64(32)).astype(np.int64) * task.parts >> 32
        order, bounds = group_order(which, task.parts)
        rows = np.stack(((np.uint64(band) << np.uint64(32)) | owners, keys), axis=1)[order]
        for p in range(task.parts):
            out[p].write(rows[bounds[p]:bounds[p + 1]])

    for b in range(task.bands):
        spill(b, band_keys(np.ascontiguousarray(sig[:, b * task.rows:(b + 1) * task.rows]),
                           0, task.rows), docs)
    extra = [part for part, on in (("title", task.titles), ("page", task.pages)) if on]
    for band, part in enumerate(extra, task.bands):
        key = work.load_raw("content", artifact(task.shard, part), np.uint64)[local]
        has = key != 0
        spill(band, np.ascontiguousarray(key[has]), docs[has])
    for f in out:
        f.close()
    stats = {"documents": int(local.shape[0])}
    work.mark_done("keys", shard_key(task.shard), stats)
    return stats


@dataclass(frozen=True)
class BandTask:
    """One key range of every band: bucket its documents and pair them."""

    work: str
    n_shards: int
    part: int
    bands: int
    cap: int  # a bucket of up to cap + 1 documents gives all its pairs
    heads: int  # a larger one pairs each member with this many (see bucket_pairs)


def band_task(task: BandTask) -> dict[str, Any]:
    """Bucket one key range of every band and save the candidate pairs."""
    work = WorkDir(task.work)
    rank = work.load("index", "rank")
    shards = [work.load_raw("keys", artifact(s, f"p{task.part:04d}"), np.uint64, 2)
              for s in range(task.n_shards)]
    # Each file holds its rows band after band, in document order (see keys_task), so
    # its (band << 32 | document) column ascends: a band's rows are one slice of it.
    firsts = np.arange(task.bands + 1, dtype=np.uint64) << np.uint64(32)
    cuts = [np.searchsorted(rows[:, 0], firsts) for rows in shards]
    low = np.uint64(0xFFFFFFFF)
    pairs = []
    for b in range(task.bands):  # every shard's rows of the band, shard after shard
        mine = [rows[cut[b]:cut[b + 1]] for rows, cut in zip(shards, cuts, strict=True)]
        docs = np.concatenate([part[:, 0] for part in mine])
        docs &= low  # documents are below 2**32
        pairs.append(bucket_pairs(np.concatenate([part[:, 1] for part in mine]),
                                  docs.view(np.int64), rank, cap=task.cap,
                                  heads=task.heads))
    out = distinct(np.concatenate(pairs)) if pairs else np.zeros(0, dtype=np.uint64)
    work.save("lsh", f"part-{task.part:04d}", out)
    stats = {"pairs": int(out.shape[0])}
    work.mark_done("lsh", f"part-{task.part:04d}", stats)
    return stats


def merge_candidates(work: WorkDir, parts_: int) -> int:
    """Merge the key ranges' pairs into one sorted array of distinct candidates."""
    parts = [work.load("lsh", f"part-{p:04d}") for p in range(parts_)]
    cand = distinct(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.uint64)
    work.save("verify", "cand", cand)
    return int(cand.shape[0])


@dataclass(frozen=True)
class VerifyTask:
    """Compute the exact Jaccard of one chunk of candidate pairs."""

    work: str
    n_shards: int
    chunk: int
    src: str = "read"


def _gather_sets(work: WorkDir, n_shards: int, docs: NDArray[np.int64], src: str
                 ) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
    """Return the distinct shingle sets of ``docs`` (sorted global numbers), in that order."""
    offsets = shard_offsets(work, n_shards)
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    pieces: list[NDArray[np.uint32]] = []
    lengths: list[NDArray[np.int64]] = []
    for s in distinct(shard_of):
        sh = work.load_raw(src, artifact(s, "sh"), np.uint32)
        shoff = work.load_raw(src, artifact(s, "shoff"), np.int64)
        local = docs[shard_of == s] - offsets[s]
        starts, counts = shoff[local], shoff[local + 1] - shoff[local]
        pieces.append(gather_slices(sh, starts, counts))
        lengths.append(counts)
    flat_off = np.zeros(docs.shape[0] + 1, dtype=np.int64)
    if lengths:
        np.cumsum(np.concatenate(lengths), out=flat_off[1:])
    flat = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.uint32)
    return distinct_sets(flat, flat_off)


def verify_task(task: VerifyTask) -> dict[str, Any]:
    """Save the Jaccard similarity and containment of every candidate pair in the chunk.

    Containment is the share of the smaller document's distinct shingles that the other
    holds; it is saved next to the similarity (``chunk-N`` and ``cont-N``).
    """
    work = WorkDir(task.work)
    cand = work.load("verify", "cand", mmap=True)
    part = np.asarray(cand[task.chunk * VERIFY_CHUNK : (task.chunk + 1) * VERIFY_CHUNK])
    u = (part >> np.uint64(32)).astype(np.int64)
    v = (part & np.uint64(0xFFFFFFFF)).astype(np.int64)
    docs = distinct(np.concatenate((u, v)))
    flat, offsets = _gather_sets(work, task.n_shards, docs, task.src)
    sims, inter, cont = overlaps(flat, offsets, np.searchsorted(docs, u),
                                 np.searchsorted(docs, v))
    work.save("verify", numbered("chunk", task.chunk), sims)
    work.save("verify", numbered("cont", task.chunk), cont)
    work.save("verify", numbered("inter", task.chunk), inter.astype(np.int64))
    stats = {"pairs": int(part.shape[0])}
    work.mark_done("verify", numbered("chunk", task.chunk), stats)
    return stats


@dataclass(frozen=True)
class EdgeTask:
    """Decide which candidate pairs of one verified chunk are matches."""

    work: str
    n_shards: int
    chunk: int
    rule: MatchRule
    skip: tuple[str, str] | None = None  # (stage, name) of documents to leave out


EDGE_NEAR, EDGE_PARTIAL, EDGE_TITLE = 0, 1, 2  # why an edge was accepted


@dataclass(frozen=True)
class MatchRule:
    """When a verified pair is a match (see :func:`edge_task`)."""

    threshold: float
    containment: float | None = None
    min_shared: int = 1
    site_containment: float | None = None
    title_containment: float | None = None

    def decide(self, sims: NDArray[np.float64], conts: NDArray[np.float64],
               inter: NDArray[np.int64] | None,
               sites: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None,
               titles: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None,
               pages: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None, *,
               heads: tuple[NDArray[np.uint64], NDArray[np.uint64]] | None = None
               ) -> tuple[NDArray[np.bool_], NDArray[np.uint8]]:
        """Return which pairs match, and why (``EDGE_*``)."""
        hit = sims >= self.threshold
        why = np.full(sims.shape[0], EDGE_NEAR, dtype=np.uint8)
        if self.containment is None or inter is None:
            return hit, why
        need = np.full(sims.shape[0], self.containment)
        shared = inter >= self.min_shared
        same_page = _same(pages) if pages is not None else np.zeros(sims.shape[0], bool)
        if self.site_containment is not None and sites is not None:
            same_site = sites[0] == sites[1]
            # Two crawls of one page share its own text, not text the site puts on many
            # pages: they are judged as pages of different sites are.
            need[same_site & ~same_page] = self.site_containment
            if self.title_containment is not None and titles is not None:
                tu, tv = titles
                titled = same_site & (tu != 0) & (tv != 0)
                apart = titled & (tu != tv)
                need[apart] = np.inf
                hit &= ~apart
                same = titled & (tu == tv) & ~hit & (conts >= self.title_containment) & shared
                hit |= same
                why[same] = EDGE_TITLE
        if heads is not None:  # under different headlines containment is quoting
            need[~headlines_allow(*heads) & ~same_page] = np.inf
        partial = ~hit & (conts >= need) & shared
        hit |= partial
        why[partial] = EDGE_PARTIAL
        return hit, why


def _same(keys: tuple[NDArray[np.uint64], NDArray[np.uint64]]) -> NDArray[np.bool_]:
    """Which pairs have the same key (0: no key, the same as none)."""
    same: NDArray[np.bool_] = (keys[0] == keys[1]) & (keys[0] != 0)
    return same


SIMILARITY_BINS = 20  # the verified candidates' Jaccard, accepted and not, in the summary


def edge_task(task: EdgeTask) -> dict[str, Any]:
    """Save the chunk's matching pairs (``edges-N``: u, v, similarity, containment, why,
    and ``eway-N``: which way each may go, see :func:`edge_ways`).

    A pair matches when its Jaccard similarity reaches the threshold. With
    ``containment``, it also matches when the smaller document has at least that share of
    its distinct shingles (and ``min_shared`` of them) in the other: a partial duplicate,
    such as an article syndicated with a paragraph cut. Two pages of one site share text
    that the site puts on many pages (a product blurb, a notice, comments shown under
    several posts), so between them a partial match needs ``site_containment`` instead
    (read from the content stage's ``site`` keys).

    With ``title_containment``, the pages' titles weigh in (the content stage's ``title``
    keys, set only where a title names one article of its site). Two pages of one site
    under the same title are crawls of one article when the smaller content has that
    share of its shingles in the other; two pages under different titles are different
    articles, which no similarity joins (what they share is the site's, kept in by the
    cleaning); only an exact copy of the content still is one.

    Two records of one page (the content stage's ``page`` keys: the same address, say a
    WARC response's main text and the WET conversion's whole-page text) are not two pages
    of a site: between them a partial match needs ``containment`` only.

    With titles, a partial match also needs the pages not to carry different headlines
    (the content stage's ``head`` keys, any site; see
    :func:`~thresher.core.cluster.headlines_allow`), two records of one page aside.
    """
    work = WorkDir(task.work)
    c = task.chunk
    cand = np.asarray(work.load("verify", "cand", mmap=True)[
        c * VERIFY_CHUNK:(c + 1) * VERIFY_CHUNK])
    sims, conts = work.load("verify", numbered("chunk", c)), work.load("verify", numbered("cont", c))
    u = (cand >> np.uint64(32)).astype(np.int64)
    v = (cand & np.uint64(0xFFFFFFFF)).astype(np.int64)
    rule = task.rule
    keys: dict[str, tuple[NDArray[np.uint64], NDArray[np.uint64]]] = {}
    if rule.site_containment is not None and cand.shape[0]:
        both = np.concatenate((u, v))
        titled = ("title", "head") if rule.title_containment is not None else ()
        for part in ("site", "page", *titled):
            key = per_doc(work, task.n_shards, both, part)
            keys[part] = (key[:u.shape[0]], key[u.shape[0]:])
    inter = work.load("verify", numbered("inter", c)) if rule.containment is not None else None
    hit, why = rule.decide(sims, conts, inter, keys.get("site"), keys.get("title"),
                           keys.get("page"), heads=keys.get("head"))
    if task.skip is not None and cand.shape[0]:  # matched to an indexed document already
        skip = work.load(*task.skip)
        hit &= ~(np.isin(u, skip) | np.isin(v, skip))
    edges = np.stack((u[hit], v[hit]), axis=1)
    work.save("cluster", numbered("edges", c), edges)
    work.save("cluster", numbered("esim", c), sims[hit])
    work.save("cluster", numbered("econt", c), conts[hit])
    work.save("cluster", numbered("ewhy", c), why[hit])
    work.save("cluster", numbered("eway", c), edge_ways(work, task.n_shards, u[hit], v[hit],
                                                    why[hit]))
    bins = np.minimum((sims * SIMILARITY_BINS).astype(np.int64), SIMILARITY_BINS - 1)
    stats = {"edges": int(hit.sum()),
             "accepted": np.bincount(bins[hit], minlength=SIMILARITY_BINS).tolist(),
             "rejected": np.bincount(bins[~hit], minlength=SIMILARITY_BINS).tolist()}
    work.mark_done("edges", numbered("chunk", c), stats)
    return stats


WAY_FWD, WAY_BWD = 1, 2  # bits of ``eway``: u may take v, v may take u


def edge_ways(work: WorkDir, n_shards: int, u: NDArray[np.int64], v: NDArray[np.int64],
              why: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Return which way each match may go: a partial match (containment) only to a
    document whose content is not much shorter (:func:`~thresher.core.cluster.may_take`),
    sizes being the content spans' characters; a near or title match either way.

    A title match says two pages of one site under one title are crawls of one article:
    what one holds beyond the other is the site's own blocks that cleaning kept (related
    stories, comments), not text found nowhere else. Directed too, they cost recall on
    crawlbench-dev (re-crawls 0.963 to 0.954, syndicated copies 0.897 to 0.884) for no
    precision.
    """
    if not (why == EDGE_PARTIAL).any():  # every match goes both ways: no sizes needed
        return np.full(u.shape[0], WAY_FWD | WAY_BWD, dtype=np.uint8)
    size = content_chars(work, n_shards, np.concatenate((u, v)))
    return ways_of(why, size[:u.shape[0]], size[u.shape[0]:])


def ways_of(why: NDArray[np.uint8], su: NDArray[np.int64], sv: NDArray[np.int64]
            ) -> NDArray[np.uint8]:
    """Return which way each match may go (``WAY_*`` bits), given both documents'
    content sizes: the rule of :func:`edge_ways`, without the reading."""
    directed = why == EDGE_PARTIAL
    return (may_take(su, sv, directed) * WAY_FWD
            + may_take(sv, su, directed) * WAY_BWD).astype(np.uint8)


def content_chars(work: WorkDir, n_shards: int, docs: NDArray[np.int64]) -> NDArray[np.int64]:
    """Return each document's content size: the characters of its content span."""
    span = per_doc(work, n_shards, docs, "span", np.int64, 2)
    size: NDArray[np.int64] = span[:, 1] - span[:, 0]
    return size


def per_doc(work: WorkDir, n_shards: int, docs: NDArray[np.int64], part: str,
            dtype: type[Any] = np.uint64, width: int = 0, *, stage: str = "content"
            ) -> NDArray[Any]:
    """Return a stage's per-record ``part`` of each document (global numbers): the
    content stage's site, title or page key, or with ``width`` a row (its span; the
    read stage's whole-text fingerprint), reading shard by shard (memory sized by
    ``docs``)."""
    offsets = shard_offsets(work, n_shards)
    out = np.zeros((docs.shape[0], width) if width else docs.shape[0], dtype=dtype)
    shard_of = np.searchsorted(offsets, docs, side="right") - 1
    for s in distinct(shard_of):
        mask = shard_of == s
        rows = work.load_raw(stage, artifact(s, part), dtype, width)
        out[mask] = rows[docs[mask] - offsets[s]]
    return out

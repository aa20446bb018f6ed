"""Match a run's documents against a persistent index, and add its kept ones to it.

The ``probe`` stage runs after the run's own ``index`` stage. For every usable document of
a shard that is not an exact copy of another in the run, it looks up its content
fingerprint and its band keys (every band and the title band) in each segment of the
index, verifies the candidates on their exact shingle sets, and keeps those that pass the
run's own match rule (:class:`~thresher.core.rule.MatchRule`): the best one per
document (an exact copy first, then the highest similarity, then the earliest indexed).

A document matched so is a duplicate of the indexed one: indexed documents were kept
before and stay kept, so they are visited first, as representatives, and such documents
take no part in the run's own clustering (no chain runs through them). Its exact copies
in the run follow it. A partial match (containment) counts only where the indexed
content is not much shorter than the document's
(:func:`~thresher.core.cluster.may_take`): a new page that contains a short indexed one
holds text the index lacks, so it is not its duplicate and takes part in the run as any
other page.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.cluster import may_take
from thresher.core.lookup import fp_tables
from thresher.core.lsh import count_store_keys, deal_store_keys, store_keys
from thresher.core.rule import (
    EDGE_EXACT,
    EDGE_NEAR,
    EDGE_PARTIAL,
    EDGE_SAME_CONTENT,
    EDGE_TITLE,
    MatchRule,
    best_matches,
)
from thresher.core.sorting import (
    distinct,
    part_bits,
    sort_dealt,
    stable_argsort,
)
from thresher.core.verify import gather_slices, overlaps
from thresher.executors import Threads, thread_pool
from thresher.index.segment import Segment, fence_of, open_segments
from thresher.index.store import IndexStore, npy_stream
from thresher.pipeline.counts import Counts
from thresher.pipeline.match import (
    KIND_EXACT_NEAR,
    KIND_NEAR,
    KIND_PARTIAL,
    KIND_SAME_CONTENT,
    KIND_TITLE,
    active_docs,
    gather_sets,
    shard_offsets,
)
from thresher.pipeline.stages.cluster import ShardDecisions
from thresher.pipeline.workdir import WorkDir

__all__ = ["ProbeCounts", "ProbeTask", "ProbedCounts", "commit_run", "merge_probes",
           "probe_task"]


@dataclass(frozen=True, kw_only=True)
class ProbeCounts(Counts):
    """One group of shards looked up: documents matched, candidates verified."""

    matched: int = 0
    candidates: int = 0


@dataclass(frozen=True, kw_only=True)
class ProbedCounts(Counts):
    """The index matches gathered: documents matched, of which exact and near."""

    matched: int = 0
    exact: int = 0
    near: int = 0

@dataclass(frozen=True, kw_only=True)
class ProbeTask:
    """Match the documents of consecutive shards against the index's segments."""

    work: str
    n_shards: int
    shards: tuple[int, ...]
    index: str
    segments: tuple[tuple[str, int, int, int], ...]  # (name, batch, docs, first)
    bands: int
    rows: int
    columns: int  # signature values kept per document
    titles: bool
    rule: MatchRule
    src: str = "content"


PROBE_DOCS = 500_000  # documents a probe task takes at most (about 16 bytes a band key)


def probe_groups(offsets: NDArray[np.int64], workers: int) -> list[tuple[int, ...]]:
    """Cut the shards into runs of consecutive shards, one probe task each.

    A task's band keys, sorted, are searched in every segment from one end to the other:
    the more keys a task holds, the less each search costs (one pass over a segment's
    table serves them all), so tasks are as large as ``PROBE_DOCS`` allows while there
    are still as many as workers. How shards are grouped never changes a result.
    """
    n = offsets.shape[0] - 1
    if n == 0:
        return []
    total = int(offsets[-1])
    tasks = min(n, max(max(workers, 1), -(-total // PROBE_DOCS)))
    # the shard where each task starts: equal shares of the documents
    starts = np.searchsorted(offsets[:-1], np.arange(tasks) * total / tasks, side="right") - 1
    starts = distinct(np.maximum(starts, 0))
    bounds = [*starts.tolist(), n]
    return [tuple(range(a, b)) for a, b in pairwise(bounds) if b > a]


def probe_task(task: ProbeTask) -> ProbeCounts:
    """Save, per matched document of the shards, its best indexed match
    (``probe/NNNNN-*`` per shard)."""
    work = WorkDir(task.work)
    offsets = shard_offsets(work, task.n_shards)
    name = f"{task.shards[0]:05d}-{task.shards[-1]:05d}"
    content = task.src == "content"
    parts: dict[str, list[NDArray[Any]]] = {k: [] for k in (
        "docs", "sig", "fp", "title", "head", "site", "tfp", "chars")}
    for shard in task.shards:
        lo, hi = int(offsets[shard]), int(offsets[shard + 1])
        local = active_docs(work, lo, hi)
        parts["docs"].append(local + lo)
        if not task.segments:
            continue
        at = f"{shard:05d}"
        parts["sig"].append(np.asarray(work.load_raw(task.src, f"{at}.sig", np.uint32,
                                                     width=task.columns)[local]))
        parts["fp"].append(np.asarray(work.load_raw(task.src, f"{at}.fp", np.uint64,
                                                    width=2)[local]))
        if task.titles and content:
            for key in ("title", "head"):
                parts[key].append(np.asarray(work.load_raw("content", f"{at}.{key}",
                                                           np.uint64)[local]))
        parts["site"].append(np.asarray(work.load_raw("content", f"{at}.site", np.uint64)
                                        [local]) if content else
                             np.zeros(local.shape[0], dtype=np.uint64))
        if content:
            parts["tfp"].append(np.asarray(work.load_raw("read", f"{at}.fp", np.uint64, width=2)
                                           [local]))
            span = work.load_raw("content", f"{at}.span", np.int64, width=2)[local]
            parts["chars"].append(span[:, 1] - span[:, 0])
    docs = np.concatenate(parts["docs"])
    found: list[tuple[NDArray[Any], ...]] = []
    candidates = 0
    if task.segments:  # else an empty index: nothing to match

        def joined(key: str) -> Any:
            if not parts[key]:
                return None
            return np.ascontiguousarray(np.concatenate(parts[key]))

        def sets_of(rows: NDArray[np.int64]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
            return gather_sets(work, task.n_shards, docs[rows], src=task.src)

        found, candidates = match_batch(
            open_segments(task.index, task.segments), joined("sig"), joined("fp"),
            sets_of=sets_of, site=joined("site"), title=joined("title"), rule=task.rule,
            bands=task.bands, rows=task.rows, content=content, tfp=joined("tfp"),
            chars=joined("chars"), heads=joined("head"))
    mine, ref, sim, cont, why = best_matches(found)
    matched = docs[mine]
    for shard in task.shards:  # per shard, as the later stages read them
        a, b = np.searchsorted(matched, offsets[shard:shard + 2])
        for part, arr in (("doc", matched), ("ref", ref), ("sim", sim), ("cont", cont),
                          ("why", why)):
            work.save("probe", f"{shard:05d}-{part}", arr[a:b])
    stats = ProbeCounts(matched=int(mine.shape[0]), candidates=candidates)
    work.mark_done("probe", name, stats)
    return stats


def match_batch(segments: list[Segment], sig: NDArray[np.uint32], fp: NDArray[np.uint64],
                *, sets_of: Any, site: NDArray[np.uint64], title: NDArray[np.uint64] | None,
                rule: MatchRule, bands: int, rows: int, content: bool,
                tfp: NDArray[np.uint64] | None = None, chars: NDArray[np.int64] | None = None,
                heads: NDArray[np.uint64] | None = None
                ) -> tuple[list[tuple[NDArray[Any], ...]], int]:
    """Match documents (rows of ``sig``/``fp``) against indexed ones.

    ``sets_of(rows)`` returns the documents' distinct shingle sets (flat, offsets) in the
    order given; ``tfp`` are the whole texts' fingerprints when matching on content (an
    unchanged page is an exact copy whatever its cleaning). Returns every match as (row,
    indexed number, similarity, containment, why) arrays, and the number of candidates
    verified. A document with an exact copy indexed is not looked up by its band keys:
    its best match is an exact copy whatever those would find; one whose whole text is
    indexed is matched as that page was decided when it was indexed (a re-crawl of
    unchanged pages verifies nothing). ``chars`` are the documents' content sizes (the
    characters of their content spans): a partial match needs the indexed content
    to be at least :data:`~thresher.core.cluster.CONTAIN_MARGIN` of the document's.
    """
    found: list[tuple[NDArray[Any], ...]] = []
    copied = np.zeros(sig.shape[0], dtype=bool)
    for seg in segments:
        same = seg.lookup_fp(fp)
        exact = np.flatnonzero(same >= 0)
        if exact.shape[0]:
            copied[exact] = True
            # Matching on content, the same content alone; the whole text is found below.
            found.append((exact, seg.first + same[exact], np.ones(exact.shape[0]),
                          np.ones(exact.shape[0]),
                          np.full(exact.shape[0], EDGE_EXACT if tfp is None
                                  else EDGE_SAME_CONTENT, dtype=np.uint8)))
        if tfp is not None:  # an unchanged page: decided as it was (numbers index-wide)
            number, sim, cont, why = seg.lookup_text(tfp)
            hit = np.flatnonzero(number >= 0)
            if hit.shape[0]:
                copied[hit] = True
                found.append((hit, number[hit], sim[hit], cont[hit], why[hit]))
    keys, owner = store_keys(sig, bands, rows, title=title)
    left = ~copied[owner]
    keys, owner = keys[left], owner[left]
    ask = stable_argsort(keys)
    keys, owner = keys[ask], owner[ask]
    candidates = 0
    for seg in segments:
        which, old = seg.lookup(keys)
        if not which.shape[0]:
            continue
        pair = distinct((owner[which] << np.int64(32)) | old)
        mine, old = pair >> np.int64(32), pair & np.int64(0xFFFFFFFF)
        candidates += int(pair.shape[0])
        found.append(_verify(seg, sets_of, (mine, old), site=site, title=title, rule=rule,
                             content=content, chars=chars, heads=heads))
    return found, candidates


def _verify(seg: Segment, sets_of: Any, pairs: tuple[NDArray[np.int64], NDArray[np.int64]],
            *, site: NDArray[np.uint64], title: NDArray[np.uint64] | None, rule: MatchRule,
            content: bool, chars: NDArray[np.int64] | None,
            heads: NDArray[np.uint64] | None = None) -> tuple[NDArray[Any], ...]:
    """Verify (document, indexed) pairs; return the matching ones as probe rows.

    ``chars`` (matching on content) are the documents' content sizes: a document is a
    partial duplicate only of an indexed page that may take it, and (``heads``: the
    documents' headline keys) not under another headline."""
    mine, old = pairs
    new_docs = distinct(mine)
    new_flat, new_off = sets_of(new_docs)
    old_docs = distinct(old)
    old_flat, old_off = seg.shingles(old_docs)
    flat = np.concatenate((new_flat, old_flat))
    offsets = np.concatenate((new_off, new_off[-1] + old_off[1:]))
    iu = np.searchsorted(new_docs, mine)
    iv = new_docs.shape[0] + np.searchsorted(old_docs, old)
    sims, inter, conts = overlaps(flat, offsets, iu, right=iv)
    sites = (site[mine], np.asarray(seg.array("site")[old])) if content else None
    titles = (title[mine], np.asarray(seg.array("title")[old])) if title is not None else None
    pair_heads = (heads[mine], seg.heads()[old]) if heads is not None else None
    hit, why = rule.decide(sims, conts, inter.astype(np.int64), sites=sites, titles=titles,
                           heads=pair_heads)
    if chars is not None:
        span = np.asarray(seg.array("span")[old])
        hit &= may_take(span[:, 1] - span[:, 0], chars[mine], why == EDGE_PARTIAL)
    return (mine[hit], seg.first + old[hit], sims[hit], conts[hit], why[hit])


def merge_probes(work: WorkDir, n_shards: int) -> ProbedCounts:
    """Put the shards' matches together (sorted by document): ``probe/all-*``."""
    out = {}
    for part in ("doc", "ref", "sim", "cont", "why"):
        out[part] = np.concatenate([work.load("probe", f"{s:05d}-{part}")
                                    for s in range(n_shards)]) if n_shards else np.zeros(0)
        work.save("probe", f"all-{part}", out[part])
    kinds = np.bincount(out["why"].astype(np.int64), minlength=5) if out["why"].shape[0] \
        else np.zeros(5, dtype=np.int64)
    # "exact": found by a fingerprint, not verified (the same text or the same content)
    return ProbedCounts(matched=int(out["doc"].shape[0]),
                        exact=int(kinds[EDGE_EXACT] + kinds[EDGE_SAME_CONTENT]),
                        near=int(kinds[EDGE_NEAR]))


def commit_run(work: WorkDir, store: IndexStore, n_shards: int, *, kept: NDArray[np.bool_],
               bands: int, rows: int, columns: int, titles: bool, src: str,
               info: dict[str, Any], token: str = "",
               decided: ShardDecisions | None = None, threads: int = 1,
               cpu: list[float] | None = None) -> dict[str, Any]:
    """Add the run's kept documents to the index as one new segment (under its writer lock).

    Memory holds the batch's band keys and per-document columns (about 300 bytes per
    document); the shingle sets (about 1 KB per document) are streamed from the work
    folder into the segment, one shard at a time, as they are (made distinct when read).
    With ``threads`` > 1, the whole texts' tables, the shards' columns and the sort of the
    keys are shared with helper threads (the compiled kernels release the GIL), whose
    CPU seconds are appended to ``cpu``. The segment is the same either way.
    """
    helpers = thread_pool(threads - 1)
    try:
        return _commit_run(work, store, n_shards, kept=kept, bands=bands, rows=rows,
                           columns=columns, titles=titles, src=src, info=info, token=token,
                           decided=decided, helpers=helpers)
    finally:
        helpers.shutdown()
        if cpu is not None:
            cpu.append(helpers.cpu)


def _shard_columns(work: WorkDir, src: str, s: int, *, local: NDArray[np.int64], bands: int,
                   rows: int, columns: int, titled: tuple[NDArray[np.uint64], NDArray[np.int64]],
                   bits: int, counts: NDArray[np.int64]) -> dict[str, Any]:
    """The columns of the segment that shard ``s``'s kept documents (``local``) fill; how
    many of their keys fall in each part of ``bits`` bits is added to ``counts`` (see
    :func:`_sorted_keys`)."""
    import pyarrow as pa

    content = src == "content"
    name = f"{s:05d}"
    n = local.shape[0]
    sig = np.asarray(work.load_raw(src, f"{name}.sig", np.uint32, width=columns))  # the map
    count_store_keys(sig, local, bands, rows, titled[0], titled[1], bits, counts)
    shoff = work.load_raw(src, f"{name}.shoff", np.int64)
    meta = work.read_parquet("read", f"{name}.meta.parquet", ["id", "url", "file", "line"])
    return {
        "fp": np.asarray(work.load_raw(src, f"{name}.fp", np.uint64, width=2)[local]),
        "title": titled[0],
        "head": np.asarray(work.load_raw("content", f"{name}.head", np.uint64)[local])
        if content else np.zeros(n, np.uint64),
        "site": np.asarray(work.load_raw("content", f"{name}.site", np.uint64)[local])
        if content else np.zeros(n, np.uint64),
        "span": np.asarray(work.load_raw("content", f"{name}.span", np.int64, width=2)[local])
        if content else np.zeros((n, 2), np.int64),
        "count": np.asarray(shoff[local + 1] - shoff[local]),
        "table": meta.take(pa.array(local))}


def _sorted_keys(work: WorkDir, src: str, locals_: list[NDArray[np.int64]],
                 *, titled: list[tuple[NDArray[np.uint64], NDArray[np.int64]]],
                 counts: NDArray[np.int64], bands: int, rows: int, columns: int,
                 bits: int, helpers: Threads) -> tuple[NDArray[np.uint32], NDArray[np.uint64]]:
    """The keys of every shard's kept documents (:func:`store_keys`'s, shard after shard,
    owners numbered across the shards) in stable order, and their owners in that order.

    As :func:`~thresher.core.sorting.stable_sort` does, the keys are dealt into parts by
    their top ``bits`` bits, in input order, and each part is then sorted; but each shard
    deals its own keys straight from its signatures, to the places in each part that the
    ``counts`` of the shards before it leave free. No table of all the keys in input
    order is made: that is 12 bytes a key (300 MiB for a million pages) of fresh memory,
    dearer to map than the keys are to make twice.
    """
    starts = np.zeros(counts.shape[1] + 1, dtype=np.int64)
    np.cumsum(counts.sum(axis=0), out=starts[1:])
    fills = starts[:-1] + (np.cumsum(counts, axis=0) - counts)  # after the shards before
    dealt = np.empty(int(starts[-1]), dtype=np.uint64)
    owners = np.empty(int(starts[-1]), dtype=np.uint32)
    firsts = np.cumsum([0] + [int(x.shape[0]) for x in locals_])

    def deal(s: int) -> None:
        sig = np.asarray(work.load_raw(src, f"{s:05d}.sig", np.uint32, width=columns))
        deal_store_keys(sig, locals_[s], bands, rows, titled[s][0], titled[s][1], bits,
                         int(firsts[s]), fills[s], dealt, owners)

    odd = [helpers.submit(deal, s) for s in range(1, len(locals_), 2)]
    for s in range(0, len(locals_), 2):
        deal(s)
    for done in odd:
        done.result()
    sort_dealt(starts, owners, dealt, pool=helpers.threaded)
    return owners, dealt


def _titled(work: WorkDir, src: str, s: int, *, local: NDArray[np.int64], titles: bool
            ) -> tuple[NDArray[np.uint64], NDArray[np.int64]]:
    """Shard ``s``'s title keys of its kept documents, and which of them have one (none
    where titles are not matched)."""
    title = np.asarray(work.load_raw("content", f"{s:05d}.title", np.uint64)[local]) \
        if src == "content" and titles else np.zeros(local.shape[0], np.uint64)
    return title, np.flatnonzero(title != 0) if titles else np.zeros(0, np.int64)


def _commit_run(work: WorkDir, store: IndexStore, n_shards: int, *, kept: NDArray[np.bool_],
                bands: int, rows: int, columns: int, titles: bool, src: str,
                info: dict[str, Any], token: str, decided: ShardDecisions | None,
                helpers: Threads) -> dict[str, Any]:
    import pyarrow as pa

    offsets = shard_offsets(work, n_shards)
    content = src == "content"
    # the whole texts' fingerprints too: see _text_tables
    text_tables = helpers.submit(_text_tables, work, n_shards, kept, decided=decided,
                                 before=int(store.manifest()["documents"])) if content else None
    template_tables = helpers.submit(_template_tables, work, src)
    locals_ = [np.flatnonzero(kept[int(offsets[s]):int(offsets[s + 1])])
               for s in range(n_shards)]
    titled = [_titled(work, src, s, local=locals_[s], titles=titles) for s in range(n_shards)]
    bits = part_bits(sum(bands * x.shape[0] + t[1].shape[0]
                         for x, t in zip(locals_, titled, strict=True)))
    counts = np.zeros((n_shards, 1 << bits), dtype=np.int64)

    def columns_of(s: int) -> dict[str, Any]:
        return _shard_columns(work, src, s, local=locals_[s], bands=bands, rows=rows,
                              columns=columns, titled=titled[s], bits=bits, counts=counts[s])

    # the odd shards to a helper, the even ones made here meanwhile
    odd = {s: helpers.submit(columns_of, s) for s in range(1, n_shards, 2)}
    even = {s: columns_of(s) for s in range(0, n_shards, 2)}
    shards = [odd[s].result() if s % 2 else even[s] for s in range(n_shards)]
    tables = [part.pop("table") for part in shards]
    joined = {k: np.concatenate([part[k] for part in shards]) if shards else np.zeros(0)
              for k in ("fp", "site", "title", "head", "span", "count")}
    done = sum(int(x.shape[0]) for x in locals_)
    shoff = np.zeros(done + 1, dtype=np.int64)
    np.cumsum(joined["count"], out=shoff[1:])

    def write_sh(path: Any) -> None:
        """Write the kept shingle sets as one .npy, a shard at a time through one buffer."""
        buffer = np.empty(0, dtype=np.uint32)
        with npy_stream(path, np.uint32, (int(shoff[-1]),)) as fh:
            for s, local in enumerate(locals_):
                raw_off = work.load_raw(src, f"{s:05d}.shoff", np.int64)
                sizes = np.asarray(raw_off[local + 1] - raw_off[local])
                if buffer.shape[0] < int(sizes.sum()):
                    buffer = np.empty(int(sizes.sum()), dtype=np.uint32)
                fh.write(gather_slices(np.asarray(work.load_raw(src, f"{s:05d}.sh", np.uint32)),
                                       np.asarray(raw_off[local]), sizes, buffer=buffer).data)

    # The shingle sets (the segment's largest file) are written from now, on a thread of
    # their own, while the keys are dealt and sorted.
    segment = store.new_segment()
    try:
        segment.stream("sh", write_sh)
        kdocs, keys = _sorted_keys(work, src, locals_, titled=titled, counts=counts, bands=bands,
                                   rows=rows, columns=columns, bits=bits, helpers=helpers)
        fp = joined["fp"].reshape(-1, 2).astype(np.uint64)
        arrays: dict[str, Any] = {
            **template_tables.result(), **(text_tables.result() if text_tables else {}),
            "keys": keys, "kfence": fence_of(keys),
            "kdocs": kdocs, "fp": fp, **fp_tables(fp),
            "shoff": shoff, "site": joined["site"].astype(np.uint64),
            "title": joined["title"].astype(np.uint64),
            "head": joined["head"].astype(np.uint64),
            "span": joined["span"].reshape(-1, 2).astype(np.int64)}
    except BaseException:
        segment.abandon()
        raise
    return store.commit(arrays, pa.concat_tables(tables), info, token=token, segment=segment)


def _text_tables(work: WorkDir, n_shards: int, kept: NDArray[np.bool_],
                 *, decided: ShardDecisions | None, before: int) -> dict[str, NDArray[Any]]:
    """The whole-text fingerprints of the batch's pages, sorted, each with the index-wide
    number of the indexed page it stands for: itself if kept, else its representative
    (kept in this batch or indexed before), and how the page was decided against it (an
    exact copy; a near, partial or title duplicate with its similarity and containment).
    A page crawled again unchanged is then found whatever its site's cleaning makes of
    it next time, and decided as it was.
    """
    records = kept.shape[0]
    number = np.full(records, -1, dtype=np.int64)
    number[kept] = before + np.arange(int(kept.sum()), dtype=np.int64)
    sim, cont = np.ones(records), np.ones(records)
    why = np.full(records, EDGE_EXACT, dtype=np.uint8)
    if decided is not None:
        dup = np.flatnonzero(~kept & (decided.rep >= 0))
        r = decided.rep[dup]
        number[dup] = np.where(r >= records, r - records, number[np.minimum(r, records - 1)])
        sim[dup], cont[dup] = decided.sim[dup], decided.cont[dup]
        why[dup] = _WHY_OF_KIND[decided.kind[dup]]
    fps = np.concatenate([np.asarray(work.load_raw("read", f"{s:05d}.fp", np.uint64, width=2))
                          for s in range(n_shards)]) if n_shards else np.zeros((0, 2))
    has = np.flatnonzero(number >= 0)
    tables = fp_tables(np.ascontiguousarray(fps[has]).astype(np.uint64))
    at = has[tables["fporder"]]
    tables.update({"fporder": number[at], "fpsim": sim[at], "fpcont": cont[at],
                   "fpwhy": why[at]})
    return {f"t{k}": v for k, v in tables.items()}


# A duplicate's kind as the probe's reason for matching it (an exact copy of a page that
# was a near duplicate is that page's near duplicate, at its similarity).
_WHY_OF_KIND = np.full(KIND_SAME_CONTENT + 1, EDGE_EXACT, dtype=np.uint8)
_WHY_OF_KIND[KIND_SAME_CONTENT] = EDGE_SAME_CONTENT
_WHY_OF_KIND[[KIND_NEAR, KIND_EXACT_NEAR]] = EDGE_NEAR
_WHY_OF_KIND[KIND_PARTIAL] = EDGE_PARTIAL
_WHY_OF_KIND[KIND_TITLE] = EDGE_TITLE


def _template_tables(work: WorkDir, src: str) -> dict[str, NDArray[Any]]:
    """The run's site statistics (block keys on two or more pages, pages per site), kept
    with the segment so that a later lone query can weigh its blocks against them."""
    if src != "content":
        empty = np.zeros(0, dtype=np.uint64)
        return {"tkeys": empty, "tcounts": np.zeros(0, np.uint32), "gkeys": empty,
                "gpages": np.zeros(0, np.int64)}
    from thresher.pipeline.chrome import PARTITIONS

    keys = np.concatenate([work.load("template", f"keys-{p:02d}") for p in range(PARTITIONS)])
    counts = np.concatenate([work.load("template", f"counts-{p:02d}")
                             for p in range(PARTITIONS)])
    order = stable_argsort(keys)  # distinct keys: any sort gives this order
    return {"tkeys": keys[order], "tcounts": counts[order],
            "gkeys": work.load("template", "group_keys"),
            "gpages": work.load("template", "group_pages")}

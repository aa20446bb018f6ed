"""Match a run's documents against a persistent index (``commit.py`` adds its kept ones).

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
from thresher.core.lsh import store_keys
from thresher.core.rule import (
    EDGE_EXACT,
    EDGE_NEAR,
    EDGE_PARTIAL,
    EDGE_SAME_CONTENT,
    MatchRule,
    best_matches,
)
from thresher.core.sorting import distinct, stable_argsort
from thresher.core.verify import overlaps
from thresher.index.segment import Segment, open_segments
from thresher.pipeline.counts import Counts
from thresher.pipeline.match import active_docs, gather_sets, shard_offsets
from thresher.pipeline.workdir import WorkDir

__all__ = ["ProbeCounts", "ProbeTask", "ProbedCounts", "match_batch", "merge_probes",
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

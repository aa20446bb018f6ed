"""An index opened in this process, for lone queries: a crawler's "have I seen this?".

Opening reads the manifest once (a snapshot: batches added later are not seen until the
index is opened again) and memory-maps the segments. A query runs, for a handful of
pages, what a run does for a shard: blocks and the block model (the site statistics are
the index's, plus the page itself), the content's sketch, the fingerprint and band-key
lookups in every segment, verification and the run's match rule.
"""

from __future__ import annotations

import mmap
import threading
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.core.lookup import sorted_lookup
from thresher.core.rule import (
    EDGE_EXACT,
    EDGE_PARTIAL,
    EDGE_SAME_CONTENT,
    EDGE_TITLE,
    best_matches,
)
from thresher.core.sketch import sketch_as
from thresher.core.text import prepare_batch
from thresher.core.verify import distinct_sets, gather_slices
from thresher.index.probe import match_batch
from thresher.index.segment import Segment, summed_site_tables
from thresher.index.store import IndexStore
from thresher.io.records import Fields

__all__ = ["Index", "warm_files"]

_MATCH = {EDGE_EXACT: "exact", EDGE_SAME_CONTENT: "same-content", EDGE_PARTIAL: "partial",
          EDGE_TITLE: "title"}


def _populate(table: NDArray[Any]) -> int:
    """Fault every page of a memory-mapped ``table`` into this process (reading it from
    the disk where it is not cached): ``MADV_POPULATE_READ`` on its mapping where the
    kernel has it (Linux 5.14), else a read of one byte a page. A query then takes no
    page fault on it (about 19 a query on a 10M-page index, a third of its p99). Returns
    the bytes."""
    if table.nbytes == 0:
        return 0
    mapping = _mapping(table)
    if _MADVISE and mapping is not None:
        try:
            mapping.madvise(_POPULATE_READ)
            return int(table.nbytes)
        except OSError:  # a kernel older than the flag
            pass
    flat = table.reshape(-1).view(np.uint8)
    int(flat[::mmap.PAGESIZE].sum())  # one byte a page
    return int(table.nbytes)


def _mapping(table: NDArray[Any]) -> mmap.mmap | None:
    """The ``mmap`` that ``table`` (a view of ``np.load(..., mmap_mode=...)``) lies in."""
    base: Any = table
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


_MADVISE = hasattr(mmap.mmap, "madvise")  # Linux, and some other systems
_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)  # Linux's number, 5.14 on


def warm_files(segments: list[Segment]) -> list[Path]:
    """The files of ``segments`` that lookups read (every table but the shingle sets,
    which verification reads only for the few candidates: about half of what the index
    holds per document)."""
    return [f for seg in segments for f in sorted(seg.path.glob("*.npy")) if f.name != "sh.npy"]


class Index:
    """A read-only snapshot of an index, kept open for many small queries.

    Examples:
        >>> import tempfile, pathlib, thresher.index as index
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (d / "in").mkdir()
        >>> text = "a page that the crawler has fetched once already and kept as it was"
        >>> _ = (d / "in" / "1.txt").write_text(text)
        >>> _ = index.create(d / "ix")
        >>> _ = index.add(d / "ix", [d / "in"], d / "out", executor="serial")
        >>> ix = index.Index(d / "ix")
        >>> ix.query([text])[0]["id"], ix.query(["something else entirely, never seen"])
        ('1.txt', [None])
    """

    def __init__(self, path: str | Path, *, warm: bool = False) -> None:
        """Open the index at ``path`` (a snapshot: batches added later are not seen).

        Args:
            path: The index folder.
            warm: Start a thread that maps what every lookup touches (the segments'
                tables, not their shingle sets) and faults it all in, so that queries
                neither wait on the disk (segments long unread leave the page cache)
                nor take page faults for them. ``warming`` is that thread, ``warmed`` the
                bytes it has faulted in so far.
        """
        from thresher.config import config_from_mapping
        from thresher.pipeline.dedup import match_rule
        from thresher.pipeline.plan import match_plan

        self.store = IndexStore(path)
        manifest = self.store.manifest()
        self.config = config_from_mapping({**manifest["config"], "inputs": ["."],
                                           "output": "."})
        self.segments: list[Segment] = self.store.segments(manifest)
        self.documents = int(manifest["documents"])
        self.batches = int(manifest["next_batch"]) - 1  # a merged segment holds several
        matching = match_plan(self.config)
        self.plan = matching.lsh
        c = self.config.content
        self.content = c.match == "content"
        self.titles = self.content and c.titles
        self.rule = match_rule(matching)
        self._ids: dict[str, Any] = {}
        self.warming: threading.Thread | None = None
        self.warmed = 0  # bytes faulted in by the warming thread so far
        if warm:
            self.warming = threading.Thread(target=self._warm, name="thresher-warm",
                                            daemon=True)
            self.warming.start()

    def _warm(self) -> None:
        for seg in self.segments:
            for path in warm_files([seg]):
                try:
                    table = seg.array(path.stem)  # the mapping the queries use
                except (OSError, ValueError):  # merged away and removed meanwhile
                    continue
                self.warmed += _populate(table)

    @cached_property
    def _sites(self) -> dict[str, NDArray[Any]]:
        return summed_site_tables(self.segments)  # one lookup a query, not one a segment

    def _site_stats(self, keys: NDArray[np.uint64], ghash: NDArray[np.uint64]
                    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Counts over the indexed batches, the queried page itself included."""
        t = self._sites
        return (sorted_lookup(keys, t["tkeys"], t["tcounts"], default=0) + 1,
                sorted_lookup(ghash, t["gkeys"], t["gpages"], default=0) + 1)

    def query(self, texts: list[str], urls: list[str | None] | None = None,
              groups: list[str] | None = None) -> list[dict[str, Any] | None]:
        """Return, for each text, its best indexed match, or ``None``.

        Args:
            texts: The pages' texts.
            urls: Their URLs, which tell each page's site (``None`` where unknown).
            groups: Instead of ``urls``, each page's site as ``--group-by`` gives it.

        Returns:
            Per text, ``None`` or a dict: ``id`` and ``batch`` of the indexed page,
            ``similarity``, ``containment``, and ``match``: ``exact``,
            ``same-content``, ``near``, ``partial`` or ``title``.
        """
        from thresher.core.blocks import split_prepared
        from thresher.core.cleaning import find_content, group_hashes
        from thresher.pipeline.chrome import Decoded, site_of

        n = len(texts)
        if groups is None:
            groups = [site_of(u, None, Fields()) for u in (urls or [None] * n)]
        ghash = group_hashes(groups)
        title: NDArray[np.uint64] | None = None
        heads: NDArray[np.uint64] | None = None
        whole = prepare_batch(texts)  # encoded once: for the blocks and the fingerprint
        content: Any = texts
        laid_out = whole
        chars: NDArray[np.int64] | None = None
        if self.content:
            page = find_content(whole, split_prepared(*whole), ghash=ghash, kind="text",
                                tables=self._site_stats,
                                lengths=np.array([len(t) for t in texts], dtype=np.int64))
            chars = page.spans[:, 1] - page.spans[:, 0]
            laid_out = page.text
            content = Decoded(*laid_out)
            if self.titles:
                title, heads = page.titles, page.heads
        mh = self.config.minhash
        s = sketch_as(content, mh, prepared=laid_out)

        def sets_of(rows: NDArray[np.int64]) -> tuple[NDArray[np.uint32], NDArray[np.int64]]:
            off = s.shingle_offsets
            counts = (off[rows + 1] - off[rows]).astype(np.int64)
            flat = gather_slices(s.shingles, off[rows].astype(np.int64), counts)
            offsets = np.zeros(rows.shape[0] + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            return distinct_sets(flat, offsets)

        # the whole texts' fingerprints (an unchanged page)
        tfp = sketch_as(texts, mh, num_perm=0, prepared=whole).fingerprints \
            if self.content else None
        found, _ = match_batch(self.segments, s.signatures, s.fingerprints, sets_of=sets_of,
                               site=ghash, title=title, rule=self.rule, bands=self.plan.bands,
                               rows=self.plan.rows, content=self.content, tfp=tfp,
                               chars=chars, heads=heads)
        rows, ref, sim, cont, why = best_matches(found)
        out: list[dict[str, Any] | None] = [None] * n
        for row, r, si, co, w in zip(rows.tolist(), ref.tolist(), sim.tolist(), cont.tolist(),
                                     why.tolist(), strict=True):
            seg = next(g for g in self.segments if g.first <= r < g.first + g.docs)
            local = r - seg.first
            out[row] = {"id": self._id(seg, local),
                        "batch": int(seg.batch_of(np.array([local]))[0]),
                        "similarity": round(si, 4), "containment": round(co, 4),
                        "match": _MATCH.get(w, "near" if si >= self.rule.threshold
                                            else "partial")}
        return out

    def _id(self, seg: Segment, local: int) -> str:
        if seg.name not in self._ids:
            self._ids[seg.name] = seg.table(["id"])["id"]
        return str(self._ids[seg.name][local].as_py())

"""What the report computes from a run's outputs: its clusters, the texts of those shown
(read again from the run's inputs), and the share of boilerplate per site."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thresher.errors import ConfigError

__all__ = ["Cluster", "Columns", "columns_of", "dup_clusters", "indexed_count", "load_run",
           "pick_clusters", "read_texts", "site_shares"]

TOP_SITES = 20


@dataclass(kw_only=True)
class Cluster:
    """A cluster with duplicates, by decision row."""

    rep: int  # row of the representative (kept document)
    members: list[int] = field(default_factory=list)  # rows of its duplicates

    @property
    def size(self) -> int:
        """Its documents, the representative included."""
        return 1 + len(self.members)


def load_run(run: Path) -> tuple[dict[str, Any], Any, Any]:
    """A finished run's summary, decisions and removed blocks (``None`` when the run
    stripped none)."""
    import pyarrow.parquet as pq

    try:
        summary = json.loads((run / "summary.json").read_text())
        decisions = pq.read_table(run / "decisions.parquet")
    except FileNotFoundError as exc:
        raise ConfigError(f"{run} is not a finished thresher run: {exc.filename} is "
                          "missing") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the run in {run}: {exc}") from None
    removed = None
    if (run / "boilerplate.parquet").exists():
        removed = pq.read_table(run / "boilerplate.parquet",
                                columns=["id", "start", "end", "reason"])
    return summary, decisions, removed


def dup_clusters(decisions: Any) -> list[Cluster]:
    """Every cluster with duplicates, largest first (then by its row)."""
    import pyarrow.compute as pc

    dup = decisions.filter(pc.equal(decisions["decision"], "duplicate"))
    rows = pc.indices_nonzero(pc.equal(decisions["decision"], "duplicate")).to_pylist()
    by: dict[int, Cluster] = {}
    for row, cluster in zip(rows, dup["cluster"].to_pylist(), strict=True):
        if cluster is None:  # a duplicate of a document in a persistent index
            continue
        by.setdefault(cluster, Cluster(rep=cluster)).members.append(row)
    return sorted(by.values(), key=lambda c: (-c.size, c.rep))


def pick_clusters(clusters: list[Cluster], *, top: int, sample: int, seed: int
                  ) -> list[Cluster]:
    """The ``top`` first clusters and a seeded random ``sample`` of the others."""
    head, rest = clusters[:top], clusters[top:]
    rng = random.Random(seed)
    extra = sorted(rng.sample(range(len(rest)), min(sample, len(rest))))
    return head + [rest[i] for i in extra]


def read_texts(summary: dict[str, Any], decisions: Any, rows: set[int]) -> dict[int, str]:
    """Read the texts of ``rows`` (decision rows) again from the run's inputs."""
    from thresher.io.reading import read_shard
    from thresher.io.records import Fields
    from thresher.io.sources import discover
    from thresher.io.warc import WarcOptions

    if not rows:
        return {}
    cfg = summary["config"]["input"]
    paths = tuple(summary.get("run", {}).get("inputs") or cfg["paths"])
    if not all(Path(p).exists() for p in paths):
        return {}
    fields = Fields(id=cfg["id_field"], text=cfg["text_field"], url=cfg["url_field"],
                    max_bytes=cfg["max_doc_bytes"],
                    group=summary["config"].get("content", {}).get("group_by"))
    want: dict[tuple[str, int], int] = {}
    files, lines = decisions["file"].to_pylist(), decisions["line"].to_pylist()
    for row in rows:
        want[(files[row], lines[row])] = row
    wanted_files = {f for f, _ in want}
    out: dict[int, str] = {}
    skip = (summary.get("run", {}).get("output", ""),)
    try:
        shards = discover(paths, txt_per_shard=cfg["txt_files_per_shard"], skip=skip,
                          split_bytes=cfg["split_bytes"])
    except (OSError, ValueError):
        return {}
    warc = WarcOptions(id_from=cfg.get("warc_id", "record"),
                       extractor=cfg.get("extractor", "trafilatura"))
    for shard in shards:
        names = set(shard.names) | {shard.prefix + n for n in shard.names}
        if not names & wanted_files:
            continue
        for record in read_shard(shard, fields, skipped=Counter(), warc=warc):
            found = want.get((record.file, record.line))
            if found is not None and record.text is not None:
                out[found] = record.text
        if len(out) == len(want):
            break
    return out


def site_shares(decisions: Any, removed: Any) -> list[tuple[str, float, int]]:
    """(site, share of its characters removed, characters) for the largest sites."""
    if "content_start" not in decisions.column_names or "length" not in decisions.column_names:
        return []
    urls = decisions["url"].to_pylist()
    lengths = decisions["length"].to_pylist()
    gone: Counter[int] = Counter()
    if removed is not None:
        index = {i: k for k, i in enumerate(decisions["id"].to_pylist())}
        for i, a, b in zip(removed["id"].to_pylist(), removed["start"].to_pylist(),
                           removed["end"].to_pylist(), strict=True):
            if i in index:
                gone[index[i]] += b - a
    else:
        for k, (a, b, n) in enumerate(zip(decisions["content_start"].to_pylist(),
                                          decisions["content_end"].to_pylist(), lengths,
                                          strict=True)):
            if a is not None and b is not None:
                gone[k] = n - (b - a)
    chars: Counter[str] = Counter()
    cut: Counter[str] = Counter()
    for k, (url, n) in enumerate(zip(urls, lengths, strict=True)):
        host = (urlsplit(url).hostname or "") if url else ""
        host = host.removeprefix("www.") or "(no site)"
        chars[host] += n or 0
        cut[host] += gone.get(k, 0)
    top = sorted(chars, key=lambda h: (-chars[h], h))[:TOP_SITES]
    return [(h, cut[h] / chars[h] if chars[h] else 0.0, chars[h]) for h in top]


def indexed_count(decisions: Any) -> int:
    """How many documents are duplicates of documents indexed before."""
    import pyarrow.compute as pc

    if "representative_batch" not in decisions.column_names:
        return 0
    return int(pc.sum(pc.is_valid(decisions["representative_batch"])).as_py() or 0)


@dataclass(kw_only=True)
class Columns:
    """The decisions' columns the page shows, by row (``None`` where a run has none)."""

    ids: list[str]
    urls: list[str | None]
    sims: list[float | None]
    conts: list[float | None]
    match: list[str | None]
    reasons: list[str | None]
    starts: list[int | None]
    ends: list[int | None]

    def span(self, row: int) -> tuple[int, int] | None:
        """A row's content span, if the run found one."""
        a, b = self.starts[row], self.ends[row]
        return (a, b) if a is not None and b is not None else None


def columns_of(decisions: Any) -> Columns:
    """The :class:`Columns` of a decisions table."""
    def col(name: str) -> list[Any]:
        if name in decisions.column_names:
            return list(decisions[name].to_pylist())
        return [None] * decisions.num_rows

    return Columns(ids=col("id"), urls=col("url"), sims=col("similarity"),
                   conts=col("containment"), match=col("match"), reasons=col("reason"),
                   starts=col("content_start"), ends=col("content_end"))

"""The run's summary: counts that add up, duplicates by kind, rejections by reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from thresher._version import __version__
from thresher.config import Config
from thresher.io.remote import join, open_file
from thresher.pipeline.counts import ClusterCounts, ContentCounts, EdgeCounts, ReadCounts

__all__ = ["summarize"]


def summarize(out: str | Path, config: Config, *, plan: dict[str, Any], read: ReadCounts,
              cluster: ClusterCounts, edges: EdgeCounts, kept_bytes: int,
              content: ContentCounts | None, run: dict[str, Any],
              scope: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary of a run whose ``decisions.parquet`` is written in ``out``; ``plan`` is
    the plan it followed (:func:`~thresher.pipeline.plan.plan_data`), ``read``,
    ``cluster``, ``edges`` and (matching on content) ``content`` its stages' counts,
    ``run`` its ``run`` section (how it ran: executor, workers, seconds); ``scope``,
    matching on content, the scope of its site evidence
    (:func:`~thresher.core.scope.scope_counts`)."""
    import numpy as np
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    with open_file(join(out, "decisions.parquet")) as fh:  # a local file, or at a URL
        dec = pq.read_table(fh, columns=["decision", "match", "reason", "cluster", "file",
                                         "line"])
    decisions, matches = _value_counts(dec["decision"]), _value_counts(dec["match"])
    rejected_rows = dec.filter(pc.equal(dec["decision"], "rejected"))
    rejected = rejected_rows["reason"].to_pylist()
    reasons = Counter(_category(x) for x in rejected if x)
    examples = [f"{row['file']}:{row['line']}: {row['reason']}" if row["line"] else
                f"{row['file']}: {row['reason']}"
                for row in rejected_rows.slice(0, 5).to_pylist()]
    sizes = np.bincount(dec["cluster"].drop_null().to_numpy()) if dec.num_rows else np.zeros(0)
    sizes = sizes[sizes > 1]
    records = dec.num_rows
    counts = {"read": records, "kept": decisions["kept"], "duplicate": decisions["duplicate"],
              "rejected": decisions["rejected"]}
    return {
        "thresher": __version__,
        "counts": counts,
        "counts_add_up": records == counts["kept"] + counts["duplicate"] + counts["rejected"],
        "duplicates": {"exact": matches["exact"], "same_content": matches["same-content"],
                       "near": matches["near"],
                       "partial": matches["partial"], "title": matches["title"]},
        "matched_on": config.content.match,
        **({"boilerplate": _boilerplate_share(content)} if content is not None else {}),
        **({"scope": dict(scope)} if scope is not None else {}),
        "clusters": {"with_duplicates": int(sizes.shape[0]),
                     "largest": int(sizes.max()) if sizes.shape[0] else 1},
        "rejected_by_reason": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "skipped_by_reason": dict(sorted(read.skipped.items(), key=lambda kv: (-kv[1], kv[0]))),
        "rejected_examples": examples,
        "text_bytes": {"read": read.text_bytes, "kept": kept_bytes},
        "plan": plan,
        "lsh": {"bands": plan["bands"], "rows": plan["rows"],
                "candidates": cluster.candidates, "verified": cluster.verified,
                "candidate_threshold": plan["candidate_threshold"],
                # verified candidates by Jaccard, in equal bins over [0, 1]
                "similarity": {"accepted": list(edges.accepted),
                               "rejected": list(edges.rejected)}},
        "config": json.loads(config.results_fingerprint()),
        "run": run,
    }


def _value_counts(column: Any) -> Counter[str]:
    """How often each value occurs in a string column (nulls and blanks left out)."""
    import pyarrow.compute as pc

    counts = pc.value_counts(column)
    return Counter({v: c for v, c in zip(counts.field("values").to_pylist(),
                                         counts.field("counts").to_pylist(), strict=True) if v})


def _boilerplate_share(content: ContentCounts) -> dict[str, Any]:
    blocks, kept = content.block_chars, content.content_chars
    return {"block_chars": blocks, "content_chars": kept,
            "share_removed": round(1 - kept / blocks, 4) if blocks else 0.0}


def _category(reason: str) -> str:
    head = re.split(r":| \(|;", reason, maxsplit=1)[0]
    return re.sub(r"\d[\d,]*", "N", head).strip()

"""What the ``thresher`` command shows on the terminal: a progress bar per stage, and the
run's summary as a table (both on stderr)."""

from __future__ import annotations

from typing import Any

__all__ = ["RichProgress", "print_summary"]

_STAGE_LABELS = {"read": "Reading and sketching", "template": "Counting site blocks",
                 "groups": "Counting site pages", "content": "Finding content",
                 "index": "Indexing", "keys": "Band keys", "lsh": "LSH buckets",
                 "merge": "Merging candidates", "verify": "Verifying candidates",
                 "edges": "Matching pairs", "components": "Finding components",
                 "buckets": "Clustering components", "cluster": "Collecting clusters",
                 "write": "Writing kept corpus", "probe": "Looking up the index",
                 "probed": "Gathering index matches", "sizes": "Counting cluster sizes",
                 "annotate": "Writing annotated records"}


class RichProgress:
    """Draws one progress bar per stage on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.console = Console(stderr=True)
        self.bars = Progress(TextColumn("{task.description:<24}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(),
                             TextColumn("{task.fields[note]}"), console=self.console,
                             transient=False)
        self.ids: dict[str, Any] = {}

    def start(self, stage: str, total: int) -> None:
        if not self.ids:
            self.bars.start()
        self.ids[stage] = self.bars.add_task(_STAGE_LABELS.get(stage, stage), total=total,
                                             note="")

    def advance(self, stage: str, units: int = 1) -> None:
        self.bars.advance(self.ids[stage], units)

    def finish(self, stage: str, seconds: float) -> None:
        task = self.ids[stage]
        self.bars.update(task, completed=self.bars.tasks[task].total)

    def note(self, stage: str, text: str) -> None:
        self.bars.update(self.ids[stage], note=text)

    def close(self) -> None:
        if self.ids:
            self.bars.stop()


def print_summary(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    c = summary["counts"]
    table = Table(title="thresher dedup", show_header=False, box=None)
    table.add_row("read", f"{c['read']:,}")
    table.add_row("kept", f"{c['kept']:,}")
    d = summary["duplicates"]
    table.add_row("duplicate", f"{c['duplicate']:,}  (exact {d['exact']:,}, same content "
                               f"{d.get('same_content', 0):,}, near {d['near']:,}, "
                               f"partial {d.get('partial', 0):,}, same title "
                               f"{d.get('title', 0):,}; on {summary.get('matched_on', 'text')})")
    if "boilerplate" in summary:
        table.add_row("chrome", f"{summary['boilerplate']['share_removed']:.0%} of the text set "
                                "aside as page chrome")
    table.add_row("rejected", f"{c['rejected']:,}")
    for reason, count in list(summary["rejected_by_reason"].items())[:5]:
        table.add_row("", f"  {count:,} × {reason}")
    for example in summary["rejected_examples"][:3]:
        table.add_row("", f"  e.g. {example}")
    skipped = summary.get("skipped_by_reason", {})
    if skipped:
        table.add_row("not documents", f"{sum(skipped.values()):,} WARC records skipped")
        for reason, count in list(skipped.items())[:5]:
            table.add_row("", f"  {count:,} × {reason}")
    ok = "yes" if summary["counts_add_up"] else "NO"
    table.add_row("counts add up", f"{ok}: {c['read']:,} = {c['kept']:,} + {c['duplicate']:,} "
                  f"+ {c['rejected']:,}")
    run = summary["run"]
    rate = c["read"] / run["seconds"] if run["seconds"] else 0.0
    table.add_row("time", f"{run['seconds']:.1f} s ({rate:,.0f} docs/s)")
    if summary.get("up_to_date"):
        table.add_row("", "already done: the output folder holds this very run's outputs "
                          "(nothing was changed)")
    table.add_row("output", summary["output"])
    if "annotated" in summary:
        a = summary["annotated"]
        left = f"; {a['left_out']:,} left out (see docs/outputs.md)" if a["left_out"] else ""
        table.add_row("annotated", f"{a['written']:,} records in annotated/{left}")
    if "report" in summary:
        table.add_row("report", summary["report"])
    if "index" in summary:
        ix = summary["index"]
        line = f"{_count(ix['matched'], 'matched document')} indexed before ({ix['path']})"
        if ix["mode"] == "add":
            line += (f"; {ix['added']:,} added as batch {ix['batch']}, "
                     f"{_count(ix['documents'], 'document')} in all")
        table.add_row("index", line)
    Console(stderr=True).print(table)


def _count(n: int, noun: str) -> str:
    """``1 document``, ``2 documents``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"

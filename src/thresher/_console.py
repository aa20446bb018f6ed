"""What the ``thresher`` command shows on the terminal: a progress bar per stage, and the
run's summary as a table (both on stderr)."""

from __future__ import annotations

from typing import Any

__all__ = ["RichProgress", "plan_lines", "print_summary"]

_STAGE_LABELS = {"read": "Reading and sketching", "template": "Counting site blocks",
                 "groups": "Counting site pages", "content": "Finding content",
                 "index": "Indexing", "keys": "Band keys", "lsh": "LSH buckets",
                 "merge": "Merging candidates", "verify": "Verifying candidates",
                 "edges": "Matching pairs", "components": "Finding components",
                 "buckets": "Clustering components", "cluster": "Collecting clusters",
                 "write": "Writing kept corpus", "probe": "Looking up the index",
                 "probed": "Gathering index matches"}


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
    if "plan" in summary:
        table.add_row("plan", _plan_line(summary["plan"], summary["lsh"]["candidates"]))
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


_EXTRA = {"title": "titles (pages of one site under one title)",
          "page": "pages (records of one address)"}


def _plan_line(plan: dict[str, Any], candidates: int) -> str:
    """The summary's line on the plan the run followed (``thresher plan`` says more)."""
    rule = f"near >= {plan['threshold']:g}"
    if "partial" in plan["verification"]:
        rule += f", partial >= {plan['verification']['partial']['containment']:g}"
    if "title" in plan["verification"]:
        rule += f", title >= {plan['verification']['title']['containment']:g}"
    extra = " + " + ", ".join(plan["extra_bands"]) if plan["extra_bands"] else ""
    return (f"{rule}; {_count(candidates, 'candidate')} from Jaccard "
            f"{plan['candidate_threshold']:g} ({plan['bands']} bands x {plan['rows']} rows"
            f"{extra})")


def plan_lines(plan: dict[str, Any]) -> list[str]:
    """What ``thresher plan`` prints: the plan's data (see
    :func:`~thresher.pipeline.plan.plan_data`) as text."""
    on = "content, page chrome set aside" if plan["match"] == "content" else "whole text"
    how = "chosen for it" if plan["chosen"] else "given by --bands and --rows"
    lines = [f"matching on the {on} (--match {plan['match']}), threshold {plan['threshold']:g}"]
    lines.append(f"candidates: LSH from Jaccard {plan['candidate_threshold']:g}: "
                 f"{plan['bands']} bands x {plan['rows']} rows of the {plan['num_perm']} "
                 f"sketch values ({how})")
    lines.append(f"  false-positive area {plan['false_positive_area']:.4f}, false-negative "
                 f"area {plan['false_negative_area']:.4f} (weights "
                 f"{1 - plan['fn_weight']:.2f} / {plan['fn_weight']:.2f})")
    if plan["candidate_threshold"] < plan["threshold"]:
        lines.append("  below the threshold: a partial duplicate's Jaccard is lower than its "
                     "containment")
    lines += [f"  + one band of {_EXTRA.get(band, band)}" for band in plan["extra_bands"]]
    lines.append("every candidate verified (the exact Jaccard and containment of their "
                 "distinct shingles), a match when:")
    lines += [*_rule_lines(plan["verification"]), "", " similarity  P(candidate by the sketches)"]
    for key, prob in plan["curve"].items():
        s = float(key)
        mark = "".join(f"  <- {name}" for name, at in (
            ("threshold", plan["threshold"]), ("candidates from", plan["candidate_threshold"]))
            if abs(s - at) < 0.025)
        lines.append(f"   {s:5.2f}     {prob:6.3f}  {'#' * round(prob * 40)}{mark}")
    return lines


def _rule_lines(rule: dict[str, Any]) -> list[str]:
    """The verification rule, one line per kind of match."""
    lines = [f"  near     Jaccard >= {rule['near']['jaccard']:g}"]
    if "partial" in rule:
        p = rule["partial"]
        lines.append(f"  partial  containment >= {p['containment']:g} (between pages of one "
                     f"site >= {p['site_containment']:g}, of one page {p['containment']:g}), "
                     f"{p['min_shared']} shingles shared at least")
    if "title" in rule:
        lines.append(f"  title    pages of one site under one title: containment >= "
                     f"{rule['title']['containment']:g}; under different titles: never "
                     "(exact copies of the content only)")
    return lines


def _count(n: int, noun: str) -> str:
    """``1 document``, ``2 documents``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"

"""What the ``thresher`` command shows on the terminal: a progress bar per stage, and the
run's summary as a table (both on stderr)."""

from __future__ import annotations

import json
import shlex
from typing import Any

from thresher.pipeline.graph import LABELS

__all__ = ["RichProgress", "add_reruns", "plan_lines", "print_summary", "rerun_argv",
           "sweep_lines"]

_STAGE_LABELS = LABELS


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
    # an index run's summary names its index and mode: the command that ran
    command = f"index {summary['index']['mode']}" if "index" in summary else "dedup"
    table = Table(title=f"thresher {command}", show_header=False, box=None)
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
    if "scope" in summary:
        table.add_row("scope", _scope_line(summary["scope"]))
    table.add_row("rejected", f"{c['rejected']:,}")
    for reason, count in list(summary["rejected_by_reason"].items())[:5]:
        table.add_row("", f"  {count:,} × {reason}")
    for example in summary["rejected_examples"][:3]:
        table.add_row("", f"  e.g. {example}")
    skipped = summary.get("skipped_by_reason", {})
    if skipped:
        table.add_row("not documents", _count(sum(skipped.values()), "WARC record") + " skipped")
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
    if run.get("reruns"):
        by_stage = ", ".join(f"{stage} {n:,}" for stage, n in run["reruns"].items())
        table.add_row("ran again", f"{_count(sum(run['reruns'].values()), 'task')} "
                                   f"({by_stage}): a worker, node or run was lost; "
                                   "the outputs are the same")
    if summary.get("up_to_date"):
        table.add_row("", "already done: the output folder holds this very run's outputs "
                          "(nothing was changed)")
    table.add_row("output", summary["output"])
    if "annotated" in summary:
        a = summary["annotated"]
        left = f"; {a['left_out']:,} left out (see docs/outputs.md)" if a["left_out"] else ""
        table.add_row("annotated", f"{_count(a['written'], 'record')} in annotated/{left}")
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


def _scope_line(scope: dict[str, Any]) -> str:
    """Where the site evidence came from: sites, or records each judged on its own."""
    alone = "without a site key (URL or --group-by), each judged on its own"
    if scope["kind"] == "corpus":
        return f"{_count(scope['records'], 'record')} {alone}"
    line = f"{_count(scope['sites'], 'site')}"
    if scope["kind"] == "mixed":
        line += f"; {scope['without_site']:,} of {scope['records']:,} records {alone}"
    return line


def _count(n: int, noun: str) -> str:
    """``1 document``, ``2 documents``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def rerun_argv(sweep: dict[str, Any], threshold: float, *, pin: bool, flags: set[str]
               ) -> list[str]:
    """The dedup command that reruns a swept run at ``threshold`` (``pin``: with its bands
    and rows), from the sweep's data; ``flags``: the option names dedup takes."""
    argv = ["thresher", "dedup", *sweep["inputs"], "-o", f"{sweep['run']}-t{threshold}"]
    for name, value in sweep["options"].items():
        flag = "--" + name.replace("_", "-")
        if name not in flags:
            continue  # a config file's option only (see sweep_lines)
        if isinstance(value, bool):
            argv.append(flag if value else f"--no-{flag[2:]}")
        else:
            argv += [flag, str(value)]
    argv += ["--threshold", str(threshold)]
    return argv + (["--bands", str(sweep["bands"]), "--rows", str(sweep["rows"])] if pin
                   else [])


def add_reruns(sweep: dict[str, Any], flags: set[str]) -> dict[float, list[str]]:
    """Give each swept threshold of the sweep's data its rerun command (``rerun``); return
    them by threshold, with the highest below the LSH's reach too."""
    out = {}
    for row in sweep["thresholds"]:
        row["rerun"] = rerun_argv(sweep, row["threshold"], pin=row["pin"], flags=flags)
        out[row["threshold"]] = row["rerun"]
    for low in sweep["below_reach"][-1:]:
        out[low] = rerun_argv(sweep, low, pin=False, flags=flags)
    return out


def sweep_lines(sweep: dict[str, Any], flags: set[str]) -> list[str]:
    """What ``thresher sweep`` prints: the sweep's data (see
    :func:`~thresher.sweep.sweep_data`) as a table, with how to rerun."""
    head = (f"{sweep['run']}: matched on {sweep['match']} at threshold {sweep['threshold']}, "
            f"candidates from Jaccard {sweep['candidate_threshold']} ({sweep['bands']} bands "
            f"x {sweep['rows']} rows)")
    lines = [head, "", "  threshold  duplicates  clusters  largest"]
    for row in sweep["thresholds"]:
        mark = "  (this run)" if row["threshold"] == sweep["threshold"] else ""
        pin = "  pin" if row["pin"] else ""
        lines.append(f"  {row['threshold']:>9}  {row['duplicates']:>10,}  {row['clusters']:>8,}"
                     f"  {row['largest']:>7,}{pin}{mark}")
    return lines + _exact_note(sweep, flags) + _below_note(sweep, flags)


def _exact_note(sweep: dict[str, Any], flags: set[str]) -> list[str]:
    """Which rerun gives the table's counts exactly."""
    rows = sweep["thresholds"]
    others = [r for r in rows if r["threshold"] != sweep["threshold"]] or rows
    example = next((r for r in others if r["pin"]), others[len(others) // 2])
    note = ("Exact: a run with this run's options at one of these thresholds gives these "
            "counts, as it seeks the same candidates")
    if any(r["pin"] for r in rows):
        note += (f"; 'pin': given --bands {sweep['bands']} --rows {sweep['rows']} (the plan it "
                 "chooses for that threshold seeks others, and finds or misses a few pairs "
                 "more)")
    argv = rerun_argv(sweep, example["threshold"], pin=example["pin"], flags=flags)
    lines = ["", note + ". For instance:", "  " + shlex.join(argv)]
    only = {k: v for k, v in sweep["options"].items() if k not in flags}
    if only:
        lines.append("  with, in a --config file: " + ", ".join(
            f"{k} = {json.dumps(v)}" for k, v in only.items()))
    return lines


def _below_note(sweep: dict[str, Any], flags: set[str]) -> list[str]:
    """The thresholds the run's candidates cannot answer, and how to sweep them."""
    below = sweep["below_reach"]
    if not below:
        return []
    low = below[-1]
    note = (f"Below the LSH's reach: thresholds under {sweep['candidate_threshold']} "
            f"({below[0]} to {low}), for which the run sought no candidates. To sweep from "
            "a lower threshold, rerun at it (candidates are then sought from it) and sweep "
            "that run:")
    argv = rerun_argv(sweep, low, pin=False, flags=flags)
    return ["", note, "  " + shlex.join(argv),
            "  thresher sweep " + shlex.quote(f"{sweep['run']}-t{low}")]

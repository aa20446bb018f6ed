"""``thresher report``: the page itself, put together from what ``runs`` computes,
``plots`` draws and ``compare`` marks, with the styles and script of ``assets/``."""

from __future__ import annotations

import html
import json
from collections import defaultdict
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from thresher._version import __version__
from thresher.io.atomic import temporary_name
from thresher.report.compare import DOC_CHARS, compare_blocks, side_html, text_blocks
from thresher.report.plots import plots_of
from thresher.report.runs import (
    Cluster,
    Columns,
    columns_of,
    dup_clusters,
    indexed_count,
    load_run,
    pick_clusters,
    read_texts,
    site_shares,
)

__all__ = ["asset", "esc", "fmt", "write_report"]

MEMBERS_SHOWN = 8  # members per cluster shown side by side with the representative
REJECTED_SHOWN = 1000


@cache
def asset(name: str) -> str:
    """A file of ``assets/`` (the page's styles and script), inlined: the page opens
    without a network."""
    return files("thresher.report").joinpath("assets", name).read_text(encoding="utf-8")


def esc(value: Any) -> str:
    """``value`` as text escaped for HTML."""
    return html.escape(str(value))


def fmt(x: float | None) -> str:
    """A similarity or containment as the page shows it (blank: none)."""
    return "" if x is None else f"{x:.3f}"


def _glance(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    cards = [f'<div class="card">{esc(k)}<b class="count" data-key="{esc(k)}">'
             f'{counts[k]:,}</b></div>' for k in ("read", "kept", "duplicate", "rejected")]
    tb = summary.get("text_bytes", {})
    cards.append(f'<div class="card">text bytes read<b>{tb.get("read", 0):,}</b></div>')
    cards.append(f'<div class="card">text bytes kept<b>{tb.get("kept", 0):,}</b></div>')
    if "boilerplate" in summary:
        share = summary["boilerplate"]["share_removed"]
        cards.append(f'<div class="card">boilerplate<b>{100 * share:.1f} %</b></div>')
    dup = summary.get("duplicates", {})
    kinds = ", ".join(f"{k.replace('_', '-')} {v:,}" for k, v in dup.items())  # as in match
    stages = summary.get("run", {}).get("stage_seconds", {})
    cpu = summary.get("run", {}).get("stage_cpu_seconds", {})
    rows = "".join(f"<tr><td>{esc(k)}</td><td>{v:.2f}</td><td>"
                   f"{'' if cpu.get(k) is None else f'{cpu[k]:.2f}'}</td></tr>"
                   for k, v in stages.items())
    ok = "yes" if summary.get("counts_add_up") else "NO"
    return (f'<div class="cards">{"".join(cards)}</div>'
            f'<p>Counts add up: <b>{ok}</b>. Duplicates by match: {esc(kinds)}. Matched on '
            f'{esc(summary.get("matched_on", "text"))}; '
            f'{summary.get("run", {}).get("seconds", 0):.1f} s in all.</p>'
            f"<details><summary>Time per stage</summary><table><tr><th>stage</th>"
            f"<th>seconds</th><th>CPU seconds</th></tr>{rows}</table></details>"
            f"<details><summary>Configuration</summary><pre>"
            f"{esc(json.dumps(summary['config'], indent=1, sort_keys=True))}</pre></details>")


def _cluster_html(c: Cluster, cols: Columns, texts: dict[int, str], *,
                  chrome: dict[str, list[tuple[int, int]]], with_text: bool,
                  past_budget: str = "") -> str:
    rep = cols.ids[c.rep]
    words = [rep, cols.urls[c.rep] or ""] + [x for m in c.members
                                               for x in (cols.ids[m], cols.urls[m] or "")]
    search = esc(" ".join(words).lower())
    head = (f'<summary><b>{c.size}</b> documents · kept <code>{esc(rep)}</code> '
            f'<span class="note">{esc(cols.urls[c.rep] or "")}</span></summary>')
    rows = "".join(
        f"<tr><td><code>{esc(cols.ids[m])}</code></td><td>{esc(cols.match[m])}</td>"
        f"<td>{fmt(cols.sims[m])}</td><td>{fmt(cols.conts[m])}</td>"
        f"<td>{esc(cols.reasons[m])}</td></tr>" for m in c.members)
    table = ("<table><tr><th>duplicate</th><th>match</th><th>similarity</th>"
             f"<th>containment</th><th>reason</th></tr>{rows}</table>")
    pairs = []
    if with_text and c.rep in texts:
        rep_blocks = text_blocks(texts[c.rep], chrome.get(rep, []), cols.span(c.rep))
        for m in c.members[:MEMBERS_SHOWN]:
            if m not in texts:
                continue
            mine = text_blocks(texts[m], chrome.get(cols.ids[m], []), cols.span(m))
            ma, mb, wa, wb = compare_blocks(rep_blocks, mine)
            pairs.append(
                f'<div class="pair" data-member="{esc(cols.ids[m])}">'
                f'<div class="doc rep"><h4>kept: {esc(rep)}</h4>'
                f"{side_html(rep_blocks, ma, DOC_CHARS, words=wa)}</div>"
                f'<div class="doc member"><h4>{esc(cols.ids[m])}: {esc(cols.match[m])}, '
                f"similarity {fmt(cols.sims[m])}, containment {fmt(cols.conts[m])}</h4>"
                f"{side_html(mine, mb, DOC_CHARS, words=wb)}</div></div>")
        if len(c.members) > MEMBERS_SHOWN:
            pairs.append(f'<p class="note">The first {MEMBERS_SHOWN} of {len(c.members)} '
                         "duplicates are shown side by side.</p>")
    elif with_text:
        pairs.append('<p class="note">The texts could not be read again from the inputs.</p>')
    else:
        pairs.append(f'<p class="note">{esc(past_budget)}</p>')
    return (f'<details class="cluster" data-search="{search}" data-rep="{esc(rep)}">'
            f"{head}{table}{''.join(pairs)}</details>")


def write_report(run_dir: str | Path, target: str | Path | None = None, *,
                 clusters: int = 2000, sample: int = 500, text_budget: int = 8_000_000,
                 seed: int = 0) -> Path:
    """Write the HTML report of the run in ``run_dir``; return its path.

    Args:
        run_dir: A finished run's output folder.
        target: The HTML file to write; ``RUN_DIR/report.html`` by default.
        clusters: How many of the largest clusters the page lists.
        sample: How many other clusters, drawn at random (seeded by ``seed``), it lists.
        text_budget: Characters of document text the page may embed: the largest listed
            clusters it allows are shown side by side.
        seed: Seed of the random sample.

    Returns:
        The path of the page written.
    """
    run = Path(run_dir)
    summary, decisions, removed = load_run(run)
    every = dup_clusters(decisions)
    shown = pick_clusters(every, top=clusters, sample=sample, seed=seed)
    cols = columns_of(decisions)
    with_text = _with_text(shown, decisions, text_budget)
    rows = {d for k in with_text for d in (shown[k].rep, *shown[k].members[:MEMBERS_SHOWN])}
    texts = read_texts(summary, decisions, rows)
    chrome = _chrome_of(removed, {cols.ids[r] for r in rows})
    plots = plots_of(summary, [c.size for c in every], site_shares(decisions, removed))
    past = _past_budget(run, text_budget)
    cluster_html = "".join(_cluster_html(c, cols, texts, chrome=chrome, with_text=k in with_text,
                                         past_budget=past) for k, c in enumerate(shown))
    indexed = indexed_count(decisions)
    note = ((f"{indexed:,} documents are duplicates of documents indexed before (their "
             "representative is in the index, not in this run). ") if indexed else "") + (
        listed_note(len(every), len(shown), top=clusters, with_text=len(with_text)))
    legend = ('<p class="legend"><span class="shared">shared with the kept document</span>'
              '<span class="diff">differs (<mark>words</mark> changed)</span><span '
              'class="chrome"><s>page chrome (not content)</s></span></p>')
    rejected = _rejected_html(decisions, summary.get("rejected_by_reason", {}))
    figures = "".join(f'<figure id="plot-{k}">{v}</figure>' for k, v in plots.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thresher report: {esc(run.name)}</title>
<style>
{asset("report.css")}</style></head><body>
<header><h1>thresher report</h1><div>{esc(run.resolve())} · thresher {esc(__version__)}
(the run: {esc(summary.get("thresher", "?"))})</div></header><main>
<section id="glance"><h2>The run at a glance</h2>{_glance(summary)}</section>
<section id="plots"><h2>Plots</h2><div class="plots">{figures}</div></section>
<section id="clusters"><h2>Clusters, largest first</h2><p class="note">{note}</p>
<input id="search" type="search" placeholder="Search by id or URL">{legend}
{cluster_html}</section>
<section id="rejected"><h2>Rejected records</h2>{rejected}</section>
</main><script>
{asset("report.js")}</script></body></html>
"""
    out = Path(target) if target is not None else run / "report.html"
    tmp = Path(temporary_name(out))
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def listed_note(every: int, shown: int, *, top: int, with_text: int) -> str:
    """What the list of clusters holds, of the ``every`` clusters with duplicates: all of
    them, or the ``top`` largest and a random draw of the others (``shown`` in all)."""
    if not every:  # the search script still counts into #shown
        return 'No cluster has duplicates.<span id="shown" hidden>0</span>'
    head = "1 cluster has" if every == 1 else f"{every:,} clusters have"
    if shown == every:
        listed = "it" if every == 1 else f"all {every:,}"
        matching = f"<span id=\"shown\">{shown}</span> matching the search"
    else:
        largest = min(top, every)
        listed = f"the {largest:,} largest"
        if shown > largest:
            listed += f" and {shown - largest:,} drawn at random from the others"
        matching = f"{shown:,} in all, <span id=\"shown\">{shown}</span> matching the search"
    side = "all of them" if with_text == shown else f"the first {with_text:,} of them"
    return f"{head} duplicates. Listed: {listed} ({matching}); side by side: {side}."


def _with_text(shown: list[Cluster], decisions: Any, text_budget: int) -> set[int]:
    """Which of the ``shown`` clusters are shown side by side: the first whose texts fit
    in ``text_budget`` characters."""
    lengths = decisions["length"].to_pylist() if "length" in decisions.column_names else None
    with_text: set[int] = set()
    budget = text_budget
    for k, c in enumerate(shown):
        docs = [c.rep, *c.members[:MEMBERS_SHOWN]]
        need = sum(min(lengths[d] or 0, DOC_CHARS) for d in docs) if lengths else 0
        if need > budget:
            break
        budget -= need
        with_text.add(k)
    return with_text


def _chrome_of(removed: Any, wanted: set[str]) -> dict[str, list[tuple[int, int]]]:
    """The removed blocks' spans of the documents ``wanted``, by id."""
    chrome: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if removed is not None:
        for i, a, b in zip(removed["id"].to_pylist(), removed["start"].to_pylist(),
                           removed["end"].to_pylist(), strict=True):
            if i in wanted:
                chrome[i].append((a, b))
    return chrome


def _past_budget(run: Path, text_budget: int) -> str:
    """What a cluster past the text budget says instead of its texts (an empty cluster
    would look like a broken page)."""
    return (f"Not shown side by side: the page embeds at most {text_budget:,} characters of "
            "document text, spent on the larger clusters above. To see it, write the report "
            f"again with a larger budget: thresher report {run} --text-budget "
            f"{max(text_budget * 2, 1_000_000)}")


def _rejected_html(decisions: Any, by_reason: dict[str, int]) -> str:
    import pyarrow.compute as pc

    rej = decisions.filter(pc.equal(decisions["decision"], "rejected"))
    if rej.num_rows == 0:
        return "<p>None.</p>"
    by = "".join(f"<tr><td>{esc(k)}</td><td>{v:,}</td></tr>" for k, v in by_reason.items())
    rows = "".join(
        f"<tr><td><code>{esc(i)}</code></td><td>{esc(f)}:{esc(n)}</td><td>{esc(r)}</td></tr>"
        for i, f, n, r in zip(*(rej[c].to_pylist()[:REJECTED_SHOWN]
                                for c in ("id", "file", "line", "reason")), strict=True))
    more = (f'<p class="note">The first {REJECTED_SHOWN:,} of {rej.num_rows:,}.</p>'
            if rej.num_rows > REJECTED_SHOWN else "")
    return (f"<table><tr><th>reason</th><th>records</th></tr>{by}</table><p></p>"
            f"<table><tr><th>id</th><th>where</th><th>reason</th></tr>{rows}</table>{more}")

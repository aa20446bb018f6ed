"""``thresher sweep --html``: the sweep as one self-contained page, with sampled pairs of
each similarity band side by side (page chrome struck through, as in the report), so
that a threshold is picked by looking at what it would join."""

from __future__ import annotations

import shlex
from collections import defaultdict
from pathlib import Path
from typing import Any

from thresher.io.atomic import temporary_name
from thresher.report.compare import DOC_CHARS, compare_blocks, side_html, text_blocks
from thresher.report.page import asset, esc, fmt
from thresher.report.runs import load_run, read_texts
from thresher.sweep import SampledPair, Sweep

__all__ = ["write_sweep_page"]

_LEGEND = ('<p class="legend"><span class="shared">in both</span><span class="diff">differs '
           '(<mark>words</mark> changed)</span><span class="chrome"><s>page chrome (not '
           "content)</s></span></p>")


def write_sweep_page(sweep: Sweep, target: str | Path, *, rerun: dict[float, list[str]]
                     ) -> Path:
    """Write the page of ``sweep`` to ``target``; ``rerun``: the command that reruns the
    run at each threshold (and at the highest below the LSH's reach)."""
    summary, decisions, removed = load_run(sweep.run)
    cols = _Records(decisions, removed)
    wanted = {x for pairs in sweep.samples.values() for p in pairs for x in (p.a, p.b)}
    texts = read_texts(summary, decisions, wanted)
    cols.chrome_of({cols.ids[r] for r in wanted})
    bands = "".join(_band_html(sweep, edge, pairs, cols=cols, texts=texts)
                    for edge, pairs in reversed(sweep.samples.items()))
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thresher sweep: {esc(sweep.run.name)}</title>
<style>
{asset("report.css")}</style></head><body>
<header><h1>thresher sweep</h1><div>{esc(sweep.run.resolve())}</div></header><main>
<section id="table"><h2>Thresholds</h2>{_table_html(sweep, rerun)}</section>
<section id="bands"><h2>Verified pairs by similarity, side by side</h2>{_LEGEND}{bands}
</section></main></body></html>
"""
    out = Path(target)
    tmp = Path(temporary_name(out))
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


class _Records:
    """The decision columns a pair's view reads, and the chrome of the shown records."""

    def __init__(self, decisions: Any, removed: Any) -> None:
        def col(name: str) -> list[Any]:
            if name in decisions.column_names:
                return list(decisions[name].to_pylist())
            return [None] * decisions.num_rows

        self.ids, self.urls = col("id"), col("url")
        self.starts, self.ends = col("content_start"), col("content_end")
        self.removed = removed
        self.chrome: dict[str, list[tuple[int, int]]] = defaultdict(list)

    def chrome_of(self, ids: set[str]) -> None:
        """Gather the removed blocks (with --strip-boilerplate) of the records ``ids``."""
        if self.removed is None:
            return
        for i, a, b in zip(self.removed["id"].to_pylist(), self.removed["start"].to_pylist(),
                           self.removed["end"].to_pylist(), strict=True):
            if i in ids:
                self.chrome[i].append((a, b))

    def blocks(self, row: int, text: str) -> list[tuple[str, bool]]:
        a, b = self.starts[row], self.ends[row]
        span = (a, b) if a is not None and b is not None else None
        return text_blocks(text, self.chrome.get(self.ids[row], []), span)


def _table_html(sweep: Sweep, rerun: dict[float, list[str]]) -> str:
    p = sweep.plan
    rows = "".join(
        f"<tr><td>{o.threshold}</td><td>{o.duplicates:,}</td><td>{o.clusters:,}</td>"
        f"<td>{o.largest:,}</td><td><code>{esc(shlex.join(rerun[o.threshold]))}</code></td>"
        f"<td>{'this run' if o.threshold == p.threshold else ''}</td></tr>"
        for o in sweep.outcomes)
    below = ""
    if sweep.below:
        low = sweep.below[-1]
        below = (f"<p>Below the LSH's reach: thresholds under {p.candidate_threshold} "
                 f"({sweep.below[0]} to {low}), for which the run sought no candidates. To "
                 "sweep from a lower threshold, rerun at it (candidates are then sought from "
                 f"it) and sweep that run: <code>{esc(shlex.join(rerun[low]))}</code></p>")
    return (f'<p class="note">Matched on {esc(p.match)} at threshold {p.threshold}, '
            f"candidates from Jaccard {p.candidate_threshold} ({p.bands} bands x {p.rows} "
            "rows). Each row is what a run at that threshold gives, exactly, with the "
            "command beside it: it seeks the same candidates.</p><table><tr><th>threshold"
            "</th><th>duplicates</th><th>clusters</th><th>largest</th><th>rerun</th><th>"
            f"</th></tr>{rows}</table>{below}")


def _band_html(sweep: Sweep, edge: float, pairs: tuple[SampledPair, ...], *, cols: _Records,
               texts: dict[int, str]) -> str:
    top = min(round(edge + sweep.band_width, 4), 1.0)
    head = (f"<h3>Jaccard {edge} to {top}: {sweep.in_band[edge]:,} verified pairs, "
            f"{len(pairs)} drawn at random</h3>")
    return head + "".join(_pair_html(p, cols, texts) for p in pairs)


def _pair_html(p: SampledPair, cols: _Records, texts: dict[int, str]) -> str:
    where = ("a match at no threshold swept" if not p.matched_at else
             f"a match at thresholds {p.matched_at[0]} to {p.matched_at[-1]}")
    head = (f"<p><code>{esc(cols.ids[p.a])}</code> and <code>{esc(cols.ids[p.b])}</code>: "
            f"similarity {fmt(p.similarity)}, containment {fmt(p.containment)}; "
            f"this run: {esc(p.match or 'not a match')}; {where}</p>")
    if p.a not in texts or p.b not in texts:
        return head + '<p class="note">The texts could not be read again from the inputs.</p>'
    left, right = cols.blocks(p.a, texts[p.a]), cols.blocks(p.b, texts[p.b])
    ma, mb, wa, wb = compare_blocks(left, right)
    return (f'{head}<div class="pair"><div class="doc"><h4>{esc(cols.ids[p.a])} '
            f'<span class="note">{esc(cols.urls[p.a] or "")}</span></h4>'
            f"{side_html(left, ma, DOC_CHARS, words=wa)}</div>"
            f'<div class="doc"><h4>{esc(cols.ids[p.b])} <span class="note">'
            f'{esc(cols.urls[p.b] or "")}</span></h4>{side_html(right, mb, DOC_CHARS, words=wb)}</div>'
            "</div>")

"""``thresher report``: one self-contained HTML page about a run.

Everything is inline (plots as SVG from matplotlib, styles, a little script): the page
opens without a network. It is built from the run's outputs (``summary.json``,
``decisions.parquet``, ``boilerplate.parquet`` when the run stripped boilerplate) and,
for the side-by-side views, the texts of the shown clusters' documents, read again from
the run's inputs.

A run of millions of documents stays readable: the page lists the ``clusters`` largest
clusters and a seeded random sample of ``sample`` others, shows side by side only as
many of them as ``text_budget`` characters of text allow (largest first), and says so.
"""

from __future__ import annotations

import difflib
import html
import io
import json
import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from thresher._version import __version__
from thresher.errors import ConfigError
from thresher.io.atomic import temporary_name

__all__ = ["write_report"]

MEMBERS_SHOWN = 8  # members per cluster shown side by side with the representative
DOC_CHARS = 6000  # characters of each shown document
CHROME_RUN = 3  # blocks shown of a run of chrome; the rest are counted
TOP_SITES = 20
REJECTED_SHOWN = 1000


@dataclass
class _Cluster:
    rep: int  # row of the representative (kept document)
    members: list[int] = field(default_factory=list)  # rows of its duplicates

    @property
    def size(self) -> int:
        return 1 + len(self.members)


def _load(run: Path) -> tuple[dict[str, Any], Any, Any]:
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


def _clusters(decisions: Any) -> list[_Cluster]:
    """Every cluster with duplicates, largest first (then by its row)."""
    import pyarrow.compute as pc

    dup = decisions.filter(pc.equal(decisions["decision"], "duplicate"))
    rows = pc.indices_nonzero(pc.equal(decisions["decision"], "duplicate")).to_pylist()
    by: dict[int, _Cluster] = {}
    for row, cluster in zip(rows, dup["cluster"].to_pylist(), strict=True):
        if cluster is None:  # a duplicate of a document in a persistent index
            continue
        by.setdefault(cluster, _Cluster(cluster)).members.append(row)
    return sorted(by.values(), key=lambda c: (-c.size, c.rep))


def _pick(clusters: list[_Cluster], top: int, sample: int, seed: int) -> list[_Cluster]:
    head, rest = clusters[:top], clusters[top:]
    rng = random.Random(seed)
    extra = sorted(rng.sample(range(len(rest)), min(sample, len(rest))))
    return head + [rest[i] for i in extra]


def _texts(summary: dict[str, Any], decisions: Any, rows: set[int]) -> dict[int, str]:
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


# ---------------------------------------------------------------- side by side

def _blocks(text: str, chrome: list[tuple[int, int]], span: tuple[int, int] | None
            ) -> list[tuple[str, bool]]:
    """Cut a text into lines, each marked chrome or not (removed block or outside span)."""
    out: list[tuple[str, bool]] = []
    at = 0
    for line in text.split("\n"):
        start, end = at, at + len(line)
        at = end + 1
        if not line.strip():
            continue
        gone = any(a < end and start < b for a, b in chrome)
        if span is not None and (end <= span[0] or start >= span[1]):
            gone = True
        out.append((line, gone))
    return out


_SPACE = re.compile(r"\s+")


def _norm(line: str) -> str:
    return _SPACE.sub(" ", line.casefold()).strip()


def _side(blocks: list[tuple[str, bool]], marks: list[str], limit: int,
          words: dict[int, str] | None = None) -> str:
    parts, used, run = [], 0, 0
    for k, ((line, _), mark) in enumerate(zip(blocks, marks, strict=True)):
        run = run + 1 if mark == "chrome" else 0
        if run > CHROME_RUN:  # a long run of chrome: its first blocks stand for it
            if run == CHROME_RUN + 1:
                rest = next((i for i in range(k, len(marks)) if marks[i] != "chrome"),
                            len(marks)) - k
                parts.append(f'<p class="blk more">… {rest:,} more blocks of page chrome'
                             "</p>")
            continue
        if used >= limit:
            parts.append('<p class="blk more">… (cut here: the page shows the first '
                         f'{limit:,} characters)</p>')
            break
        shown = line[: max(limit - used, 0)]
        used += len(line)
        body = words[k] if mark == "diff" and words and k in words and \
            len(shown) == len(line) else html.escape(shown)
        if mark == "chrome":
            body = f"<s>{body}</s>"
        parts.append(f'<p class="blk {mark}">{body}</p>')
    return "".join(parts)


_TOKEN = re.compile(r"\S+\s*|\s+")  # words with their trailing space


def _word_diff(a: str, b: str) -> tuple[str, str] | None:
    """Both lines as HTML with the words that differ marked, if they are alike at all."""
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    if len(ta) * len(tb) > 250_000:
        return None
    matcher = difflib.SequenceMatcher(None, ta, tb)
    if matcher.real_quick_ratio() < 0.5 or matcher.quick_ratio() < 0.5 or \
            matcher.ratio() < 0.5:
        return None
    out_a, out_b = [], []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        pa, pb = "".join(ta[i1:i2]), "".join(tb[j1:j2])
        if tag == "equal":
            out_a.append(html.escape(pa))
            out_b.append(html.escape(pb))
        else:
            out_a.append(_marked(pa))
            out_b.append(_marked(pb))
    return "".join(out_a), "".join(out_b)


def _marked(text: str) -> str:
    """``text`` escaped, its words (not the space after them) marked."""
    words = text.rstrip()
    if not words:
        return html.escape(text)
    return f"<mark>{html.escape(words)}</mark>{html.escape(text[len(words):])}"


def _compare(rep: list[tuple[str, bool]], other: list[tuple[str, bool]]
             ) -> tuple[list[str], list[str], dict[int, str], dict[int, str]]:
    """Mark each block of both documents: shared content, chrome, or a difference; for
    blocks changed in place, also the words that differ (HTML by block)."""
    a, b = [_norm(x) for x, _ in rep], [_norm(x) for x, _ in other]
    ma, mb = ["diff"] * len(a), ["diff"] * len(b)
    wa: dict[int, str] = {}
    wb: dict[int, str] = {}
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ma[i1:i2] = ["shared"] * (i2 - i1)
            mb[j1:j2] = ["shared"] * (j2 - j1)
        elif tag == "replace":
            for i, j in zip(range(i1, i2), range(j1, j2)):
                both = _word_diff(rep[i][0], other[j][0])
                if both is not None:
                    wa[i], wb[j] = both
    for marks, blocks in ((ma, rep), (mb, other)):
        for k, (_, gone) in enumerate(blocks):
            if gone:
                marks[k] = "chrome"
    return ma, mb, wa, wb


# ---------------------------------------------------------------- plots

def _svg(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def _plots(summary: dict[str, Any], sizes: list[int], sites: list[tuple[str, float, int]]
           ) -> dict[str, str]:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("the report's plots need matplotlib: pip install "
                          "'thresher[report]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.hashsalt": "thresher", "svg.fonttype": "none",
                                "font.size": 9})
    import matplotlib.pyplot as plt

    plots: dict[str, str] = {}
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    if sizes and max(sizes) <= 40:
        count = Counter(sizes)
        ax.bar(list(count), list(count.values()), width=0.8, color="#4c72b0")
        ax.set_xticks(sorted(count))
        ax.set_yscale("log")
    elif sizes:
        top = max(sizes)
        edges = sorted({round(2 * (top / 2) ** (k / 30)) for k in range(31)} | {top + 1})
        ax.hist(sizes, bins=edges, color="#4c72b0")
        ax.set_yscale("log")
        ax.set_xscale("log")
    ax.set_xlabel("documents in the cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Cluster sizes")
    plots["sizes"] = _svg(fig)

    lsh = summary.get("lsh", {})
    sim = lsh.get("similarity", {})
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    acc, rej = sim.get("accepted", []), sim.get("rejected", [])
    if not any(acc) and not any(rej):
        ax.text(0.5, 0.5, "no candidate pair was verified\n(exact copies need none)",
                ha="center", va="center", transform=ax.transAxes, color="#555")
    else:
        width = 1.0 / max(len(acc), len(rej), 1)
        xs = [i * width for i in range(max(len(acc), len(rej)))]
        ax.bar(xs, rej or [0] * len(xs), width=width, align="edge", color="#c44e52",
               label="not matched")
        ax.bar(xs, acc or [0] * len(xs), width=width, align="edge", color="#55a868",
               bottom=rej or None, label="matched")
        ax.legend(frameon=False)
    ax.set_xlabel("Jaccard similarity of the verified candidate")
    ax.set_ylabel("pairs")
    ax.set_title("Verified candidates")
    plots["similarity"] = _svg(fig)

    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    b, r = int(lsh.get("bands", 1)), int(lsh.get("rows", 1))
    xs = [i / 200 for i in range(201)]
    ax.plot(xs, [1 - (1 - s ** r) ** b for s in xs], color="#4c72b0",
            label=f"{b} bands x {r} rows")
    threshold = summary["config"]["minhash"]["threshold"]
    ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold:g}")
    cand = lsh.get("candidate_threshold")
    if cand is not None and not math.isclose(cand, threshold):
        ax.axvline(cand, color="#8172b2", linestyle=":", label=f"candidates from {cand:g}")
    ax.set_xlabel("Jaccard similarity")
    ax.set_ylabel("probability of being a candidate")
    ax.set_title("LSH detection curve")
    ax.legend(frameon=False, loc="lower right")
    plots["lsh"] = _svg(fig)

    if sites:
        fig, ax = plt.subplots(figsize=(4.6, 0.25 * len(sites) + 0.8))
        names = [s for s, _, _ in sites][::-1]
        ax.barh(names, [100 * v for _, v, _ in sites][::-1], color="#dd8452")
        ax.set_xlabel("share of the text removed as boilerplate (%)")
        ax.set_title(f"Boilerplate per site (the {len(sites)} largest sites)")
        plots["sites"] = _svg(fig)
    return plots


def _site_shares(decisions: Any, removed: Any) -> list[tuple[str, float, int]]:
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


# ---------------------------------------------------------------- page

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#243447;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
main{padding:8px 24px 40px}section{margin:18px 0}h2{font-size:17px;border-bottom:1px solid #ddd}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #ddd;
border-radius:6px;padding:8px 14px;min-width:120px}.card b{display:block;font-size:20px}
.plots{display:flex;flex-wrap:wrap;gap:14px}.plots figure{margin:0;background:#fff;
border:1px solid #ddd;border-radius:6px;padding:6px}table{border-collapse:collapse;
background:#fff}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
details.cluster{background:#fff;border:1px solid #ddd;border-radius:6px;margin:6px 0;
padding:4px 10px}details.cluster summary{cursor:pointer}.pair{display:grid;
grid-template-columns:1fr 1fr;gap:12px;margin:8px 0 14px}.doc{border:1px solid #eee;
padding:4px 8px;max-height:520px;overflow:auto;font-size:12.5px}.doc h4{margin:2px 0 6px}
.blk{margin:2px 0;padding:1px 4px;border-radius:3px}.shared{background:#dff3df}
.chrome{color:#999}.diff{background:#fff2cc}.diff mark{background:#ffc766}.more{color:#777;font-style:italic}
.legend span{margin-right:14px;padding:1px 6px;border-radius:3px}.note{color:#555}
pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto;max-height:300px}
input#search{width:420px;padding:5px 8px;font-size:14px}
"""

_SCRIPT = """
document.getElementById('search').addEventListener('input', function (e) {
  var q = e.target.value.trim().toLowerCase(), shown = 0;
  document.querySelectorAll('details.cluster').forEach(function (d) {
    var hit = !q || d.dataset.search.indexOf(q) >= 0;
    d.style.display = hit ? '' : 'none';
    if (hit) shown += 1;
  });
  document.getElementById('shown').textContent = shown;
});
"""


def _e(value: Any) -> str:
    return html.escape(str(value))


def _glance(summary: dict[str, Any]) -> str:
    counts = summary["counts"]
    cards = [f'<div class="card">{_e(k)}<b class="count" data-key="{_e(k)}">'
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
    rows = "".join(f"<tr><td>{_e(k)}</td><td>{v:.2f}</td><td>"
                   f"{'' if cpu.get(k) is None else f'{cpu[k]:.2f}'}</td></tr>"
                   for k, v in stages.items())
    ok = "yes" if summary.get("counts_add_up") else "NO"
    return (f'<div class="cards">{"".join(cards)}</div>'
            f'<p>Counts add up: <b>{ok}</b>. Duplicates by match: {_e(kinds)}. Matched on '
            f'{_e(summary.get("matched_on", "text"))}; '
            f'{summary.get("run", {}).get("seconds", 0):.1f} s in all.</p>'
            f"<details><summary>Time per stage</summary><table><tr><th>stage</th>"
            f"<th>seconds</th><th>CPU seconds</th></tr>{rows}</table></details>"
            f"<details><summary>Configuration</summary><pre>"
            f"{_e(json.dumps(summary['config'], indent=1, sort_keys=True))}</pre></details>")


@dataclass
class _Columns:
    ids: list[str]
    urls: list[str | None]
    sims: list[float | None]
    conts: list[float | None]
    match: list[str | None]
    reasons: list[str | None]
    starts: list[int | None]
    ends: list[int | None]


def _columns(decisions: Any) -> _Columns:
    def col(name: str) -> list[Any]:
        if name in decisions.column_names:
            return list(decisions[name].to_pylist())
        return [None] * decisions.num_rows

    return _Columns(col("id"), col("url"), col("similarity"), col("containment"),
                    col("match"), col("reason"), col("content_start"), col("content_end"))


def _cluster_html(c: _Cluster, cols: _Columns, texts: dict[int, str],
                  chrome: dict[str, list[tuple[int, int]]], with_text: bool, *,
                  past_budget: str = "") -> str:
    rep = cols.ids[c.rep]
    words = [rep, cols.urls[c.rep] or ""] + [x for m in c.members
                                               for x in (cols.ids[m], cols.urls[m] or "")]
    search = _e(" ".join(words).lower())
    head = (f'<summary><b>{c.size}</b> documents · kept <code>{_e(rep)}</code> '
            f'<span class="note">{_e(cols.urls[c.rep] or "")}</span></summary>')
    rows = "".join(
        f"<tr><td><code>{_e(cols.ids[m])}</code></td><td>{_e(cols.match[m])}</td>"
        f"<td>{_fmt(cols.sims[m])}</td><td>{_fmt(cols.conts[m])}</td>"
        f"<td>{_e(cols.reasons[m])}</td></tr>" for m in c.members)
    table = ("<table><tr><th>duplicate</th><th>match</th><th>similarity</th>"
             f"<th>containment</th><th>reason</th></tr>{rows}</table>")
    pairs = []
    if with_text and c.rep in texts:
        rep_blocks = _blocks(texts[c.rep], chrome.get(rep, []), _span(cols, c.rep))
        for m in c.members[:MEMBERS_SHOWN]:
            if m not in texts:
                continue
            mine = _blocks(texts[m], chrome.get(cols.ids[m], []), _span(cols, m))
            ma, mb, wa, wb = _compare(rep_blocks, mine)
            pairs.append(
                f'<div class="pair" data-member="{_e(cols.ids[m])}">'
                f'<div class="doc rep"><h4>kept: {_e(rep)}</h4>'
                f"{_side(rep_blocks, ma, DOC_CHARS, wa)}</div>"
                f'<div class="doc member"><h4>{_e(cols.ids[m])}: {_e(cols.match[m])}, '
                f"similarity {_fmt(cols.sims[m])}, containment {_fmt(cols.conts[m])}</h4>"
                f"{_side(mine, mb, DOC_CHARS, wb)}</div></div>")
        if len(c.members) > MEMBERS_SHOWN:
            pairs.append(f'<p class="note">The first {MEMBERS_SHOWN} of {len(c.members)} '
                         "duplicates are shown side by side.</p>")
    elif with_text:
        pairs.append('<p class="note">The texts could not be read again from the inputs.</p>')
    else:
        pairs.append(f'<p class="note">{_e(past_budget)}</p>')
    return (f'<details class="cluster" data-search="{search}" data-rep="{_e(rep)}">'
            f"{head}{table}{''.join(pairs)}</details>")


def _span(cols: _Columns, row: int) -> tuple[int, int] | None:
    a, b = cols.starts[row], cols.ends[row]
    return (a, b) if a is not None and b is not None else None


def _fmt(x: float | None) -> str:
    return "" if x is None else f"{x:.3f}"


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
    summary, decisions, removed = _load(run)
    every = _clusters(decisions)
    shown = _pick(every, clusters, sample, seed)
    cols = _columns(decisions)
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
    rows = {d for k in with_text for d in (shown[k].rep, *shown[k].members[:MEMBERS_SHOWN])}
    texts = _texts(summary, decisions, rows)
    chrome: dict[str, list[tuple[int, int]]] = defaultdict(list)
    if removed is not None:
        wanted = {cols.ids[r] for r in rows}
        for i, a, b in zip(removed["id"].to_pylist(), removed["start"].to_pylist(),
                           removed["end"].to_pylist(), strict=True):
            if i in wanted:
                chrome[i].append((a, b))
    plots = _plots(summary, [c.size for c in every], _site_shares(decisions, removed))
    past = _past_budget(run, text_budget)
    cluster_html = "".join(_cluster_html(c, cols, texts, chrome, k in with_text,
                                         past_budget=past) for k, c in enumerate(shown))
    indexed = _indexed_count(decisions)
    note = ((f"{indexed:,} documents are duplicates of documents indexed before (their "
             "representative is in the index, not in this run). ") if indexed else "") + (
        f"{len(every):,} clusters have duplicates. Listed: the {min(clusters, len(every)):,}"
            f" largest and {max(len(shown) - clusters, 0):,} drawn at random from the others "
            f"({len(shown):,} in all, <span id=\"shown\">{len(shown)}</span> matching the "
            f"search); side by side: the first {len(with_text):,} of them.")
    legend = ('<p class="legend"><span class="shared">shared with the kept document</span>'
              '<span class="diff">differs (<mark>words</mark> changed)</span><span '
              'class="chrome"><s>page chrome (not content)</s></span></p>')
    rejected = _rejected_html(decisions, summary.get("rejected_by_reason", {}))
    figures = "".join(f'<figure id="plot-{k}">{v}</figure>' for k, v in plots.items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>thresher report: {_e(run.name)}</title>
<style>{_STYLE}</style></head><body>
<header><h1>thresher report</h1><div>{_e(run.resolve())} · thresher {_e(__version__)}
(the run: {_e(summary.get("thresher", "?"))})</div></header><main>
<section id="glance"><h2>The run at a glance</h2>{_glance(summary)}</section>
<section id="plots"><h2>Plots</h2><div class="plots">{figures}</div></section>
<section id="clusters"><h2>Clusters, largest first</h2><p class="note">{note}</p>
<input id="search" type="search" placeholder="Search by id or URL">{legend}
{cluster_html}</section>
<section id="rejected"><h2>Rejected records</h2>{rejected}</section>
</main><script>{_SCRIPT}</script></body></html>
"""
    out = Path(target) if target is not None else run / "report.html"
    tmp = Path(temporary_name(out))
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return out


def _past_budget(run: Path, text_budget: int) -> str:
    """What a cluster past the text budget says instead of its texts (an empty cluster
    would look like a broken page)."""
    return (f"Not shown side by side: the page embeds at most {text_budget:,} characters of "
            "document text, spent on the larger clusters above. To see it, write the report "
            f"again with a larger budget: thresher report {run} --text-budget "
            f"{max(text_budget * 2, 1_000_000)}")


def _indexed_count(decisions: Any) -> int:
    import pyarrow.compute as pc

    if "representative_batch" not in decisions.column_names:
        return 0
    return int(pc.sum(pc.is_valid(decisions["representative_batch"])).as_py() or 0)


def _rejected_html(decisions: Any, by_reason: dict[str, int]) -> str:
    import pyarrow.compute as pc

    rej = decisions.filter(pc.equal(decisions["decision"], "rejected"))
    if rej.num_rows == 0:
        return "<p>None.</p>"
    by = "".join(f"<tr><td>{_e(k)}</td><td>{v:,}</td></tr>" for k, v in by_reason.items())
    rows = "".join(
        f"<tr><td><code>{_e(i)}</code></td><td>{_e(f)}:{_e(n)}</td><td>{_e(r)}</td></tr>"
        for i, f, n, r in zip(*(rej[c].to_pylist()[:REJECTED_SHOWN]
                                for c in ("id", "file", "line", "reason")), strict=True))
    more = (f'<p class="note">The first {REJECTED_SHOWN:,} of {rej.num_rows:,}.</p>'
            if rej.num_rows > REJECTED_SHOWN else "")
    return (f"<table><tr><th>reason</th><th>records</th></tr>{by}</table><p></p>"
            f"<table><tr><th>id</th><th>where</th><th>reason</th></tr>{rows}</table>{more}")

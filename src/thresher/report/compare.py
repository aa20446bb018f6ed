"""Two documents side by side: each cut into lines, marked as shared, changed (with the
words that differ) or page chrome, as HTML."""

from __future__ import annotations

import difflib
import html
import re

__all__ = ["CHROME_RUN", "DOC_CHARS", "compare_blocks", "side_html", "text_blocks"]

DOC_CHARS = 6000  # characters of each shown document
CHROME_RUN = 3  # blocks shown of a run of chrome; the rest are counted

_SPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"\S+\s*|\s+")  # words with their trailing space


def text_blocks(text: str, chrome: list[tuple[int, int]], span: tuple[int, int] | None
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


def _norm(line: str) -> str:
    return _SPACE.sub(" ", line.casefold()).strip()


def side_html(blocks: list[tuple[str, bool]], marks: list[str], limit: int, *,
              words: dict[int, str] | None = None) -> str:
    """One document's side: its ``blocks`` as marked by :func:`compare_blocks`, at most
    ``limit`` characters, a long run of chrome cut short; ``words``: the changed lines
    with their words marked, by block."""
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


def compare_blocks(rep: list[tuple[str, bool]], other: list[tuple[str, bool]]
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

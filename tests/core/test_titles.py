"""Headline keys: a page's first line, compared across sites."""

from __future__ import annotations

import numpy as np

from thresher.core.blocks import split_blocks
from thresher.core.titles import first_keys, head_keys


def _heads(texts: list[str], counts: list[int] | None = None, pages: int = 1) -> list[int]:
    blocks = split_blocks(texts)
    c = np.ones(blocks.key.shape[0], dtype=np.int64)
    if counts is not None:
        c[blocks.doc_offsets[:-1]] = counts  # the site's pages that carry each first line
    keys = head_keys(blocks, first_keys(blocks), c, pages=np.full(len(texts), pages, np.int64))
    return [int(k) for k in keys]


def test_one_headline_has_one_key_on_every_site_case_and_numbers_aside() -> None:
    a, b, c, d = _heads(["Storm hits coast in 2024\nbody", "STORM hits coast in 2025\nother",
                         "Storm hits coast\nbody", "Harbours\nbody"])
    assert a == b != 0
    assert c not in (0, a) and d not in (0, a, c)  # a one-word first line counts too


def test_no_headline_for_a_single_line_a_template_or_a_paragraph() -> None:
    long_line = " ".join(["word"] * 31)
    assert _heads(["just one line", f"{long_line}\nbody", "—\nbody"]) == [0, 0, 0]
    # on most of a site's 8 pages: its template; on a site too small to tell, a headline
    template, own = _heads(["Latest news\nbody", "Harbours report\nbody"], [5, 1], pages=8)
    assert template == 0 and own != 0
    assert _heads(["Latest news\nbody"], [2], pages=2)[0] != 0


def test_first_keys_are_the_first_blocks_own_keys() -> None:
    blocks = split_blocks(["Harbours\nbody", "", "Tunnels\nbody"])
    firsts = first_keys(blocks)
    assert firsts[0] == blocks.key[0] and firsts[2] == blocks.key[blocks.doc_offsets[2]]
    assert firsts[1] == 0

"""Headline keys: a page's first line, compared across sites."""

from __future__ import annotations

import numpy as np

from thresher.core.blocks import split_blocks
from thresher.core.cluster import headlines_allow
from thresher.core.titles import HEADLINE, first_keys, head_keys, title_keys


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
    assert _heads(["just one line", f"{long_line}\nbody"]) == [0, 0]
    # on most of a site's 8 pages: its template; on a site too small to tell, a headline
    template, own = _heads(["Latest news\nbody", "Harbours report\nbody"], [5, 1], pages=8)
    assert template == 0 and own & int(HEADLINE)
    assert _heads(["Latest news\nbody"], [2], pages=2)[0] & int(HEADLINE)


def test_a_first_line_without_letters_is_no_headline_on_any_site() -> None:
    # a rule, a number, a ranked item; on a site that repeats it (template) or not
    keys = _heads(["—\nbody", "17\nbody", "#6\nbody", "1\nbody", "1\nbody"],
                  [1, 1, 1, 5, 1], pages=8)
    assert all(k != 0 and not k & int(HEADLINE) for k in keys)
    # letters among digits make a headline
    assert all(k & int(HEADLINE) for k in _heads(["2019 Q3\nbody", "x2\nbody"]))


def test_first_keys_are_the_first_blocks_own_keys() -> None:
    blocks = split_blocks(["Harbours\nbody", "", "Tunnels\nbody"])
    firsts = first_keys(blocks)
    assert firsts[0] == blocks.key[0] and firsts[2] == blocks.key[blocks.doc_offsets[2]]
    assert firsts[1] == 0


def test_a_number_its_site_repeats_is_no_headline_and_keeps_a_headlined_page_apart() -> None:
    # a long page of a 4-page site starts with "1", a line its chrome repeats on 3 pages
    # (a cart count, a page number); a short page of another site is headlined
    blocks = split_blocks(["1\nmenu\nshared line one\nshared line two",
                           "Furniture\nshared line one\nshared line two"])
    counts = np.ones(blocks.key.shape[0], dtype=np.int64)
    counts[0] = 3
    keys = head_keys(blocks, first_keys(blocks), counts, pages=np.array([4, 1], np.int64))
    assert keys[0] != 0 and not keys[0] & int(HEADLINE) and keys[1] & int(HEADLINE)
    assert not headlines_allow(keys[:1], keys[1:]).any()


def test_within_a_site_a_first_line_without_letters_still_tells_pages_apart() -> None:
    blocks = split_blocks(["#10\nbody", "Reviews\nbody"])
    counts = np.ones(blocks.key.shape[0], dtype=np.int64)
    titles = title_keys(blocks, blocks.key, counts, pages=np.full(2, 8, np.int64))
    assert titles[0] != 0 and titles[1] != 0 and titles[0] != titles[1]

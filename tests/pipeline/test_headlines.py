"""A partial match needs the two pages not to carry different headlines."""

from __future__ import annotations

import numpy as np

from thresher.core.rule import EDGE_NEAR, EDGE_PARTIAL, MatchRule

RULE = MatchRule(threshold=0.8, containment=0.55, min_shared=20, site_containment=0.9,
                 title_containment=0.5)


def _pair(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    return np.array([a], np.uint64), np.array([b], np.uint64)


def _decide(sim: float, cont: float, *, heads: tuple[int, int] | None,
            page: tuple[int, int] = (0, 0)) -> tuple[bool, int]:
    hit, why = RULE.decide(np.array([sim]), np.array([cont]), np.array([100]),
                           sites=_pair(1, 2), titles=_pair(0, 0), pages=_pair(*page),
                           heads=None if heads is None else _pair(*heads))
    return bool(hit[0]), int(why[0])


def test_a_page_contained_under_another_headline_is_not_a_partial_duplicate() -> None:
    assert _decide(0.2, 0.95, heads=(11, 13)) == (False, EDGE_NEAR)
    assert _decide(0.2, 0.95, heads=(11, 11)) == (True, EDGE_PARTIAL)  # the same headline


def test_without_a_headline_containment_decides() -> None:
    assert _decide(0.2, 0.95, heads=(0, 13)) == (True, EDGE_PARTIAL)
    assert _decide(0.2, 0.95, heads=None) == (True, EDGE_PARTIAL)  # titles off
    assert _decide(0.2, 0.5, heads=(11, 11)) == (False, EDGE_NEAR)  # below --containment


def test_headlines_weigh_on_containment_only() -> None:
    # two records of one page (a WARC main text without its title line, the WET text)
    assert _decide(0.2, 0.95, heads=(11, 13), page=(5, 5)) == (True, EDGE_PARTIAL)
    # most text in common is a near duplicate whatever the headlines say
    assert _decide(0.85, 0.9, heads=(11, 13)) == (True, EDGE_NEAR)


def test_a_headline_keeps_apart_from_a_start_without_letters() -> None:
    # head keys with the low bit clear: first lines without letters ("1", "17", a rule)
    assert _decide(0.2, 0.95, heads=(13, 10)) == (False, EDGE_NEAR)
    assert _decide(0.2, 0.95, heads=(10, 18)) == (True, EDGE_PARTIAL)  # neither a headline

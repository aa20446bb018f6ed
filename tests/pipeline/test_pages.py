"""Records of one page (one address) are judged as one page, not as two pages of a site."""

from __future__ import annotations

import numpy as np

from thresher.core.rule import EDGE_NEAR, EDGE_PARTIAL, MatchRule
from thresher.pipeline.pages import page_hashes, page_of

RULE = MatchRule(threshold=0.8, containment=0.55, min_shared=20, site_containment=0.9,
                 title_containment=0.5)


def _decide(cont: float, *, page: tuple[int, int], title: tuple[int, int] = (0, 0)
            ) -> tuple[bool, int]:
    def pair(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        return np.array([a], np.uint64), np.array([b], np.uint64)

    hit, why = RULE.decide(np.array([0.5]), np.array([cont]), np.array([100]),
                           sites=pair(7, 7), titles=pair(*title), pages=pair(*page))
    return bool(hit[0]), int(why[0])


def test_page_of_ignores_scheme_www_fragment_and_default_port() -> None:
    same = ["https://an.example.org/wiki/X", "http://www.an.example.org/wiki/X#History",
            "https://AN.example.org:443/wiki/X", " https://an.example.org/wiki/X "]
    assert len({page_of(u) for u in same}) == 1
    assert page_of("https://an.example.org/wiki/Y") != page_of(same[0])
    assert page_of("https://an.example.org/wiki/X?a=1") != page_of(same[0])
    assert page_of("https://an.example.org:8080/wiki/X") != page_of(same[0])
    assert page_of(None) == page_of("") == ""
    assert page_of("not a url") == "not a url"
    assert page_of("http://[::1") == "http://[::1"  # unparsable: the string itself


def test_page_hashes_are_zero_only_without_a_url() -> None:
    keys = page_hashes(["https://a.example/x", "http://www.a.example/x", None, "", "b"])
    assert keys[0] == keys[1] and keys[0] != 0 and keys[4] != 0
    assert keys[2] == keys[3] == 0


def test_one_page_needs_the_cross_site_bar_not_the_site_bar() -> None:
    assert _decide(0.81, page=(5, 5)) == (True, EDGE_PARTIAL)
    assert _decide(0.81, page=(5, 6)) == (False, EDGE_NEAR)  # two pages of a site
    assert _decide(0.81, page=(0, 0)) == (False, EDGE_NEAR)  # no address: no evidence
    assert _decide(0.5, page=(5, 5)) == (False, EDGE_NEAR)  # below --containment


def test_one_address_under_two_titles_is_still_two_articles() -> None:
    assert _decide(0.95, page=(5, 5), title=(11, 13))[0] is False


def test_page_hashes_of_a_batch_are_page_of_one_url_at_a_time() -> None:
    import random

    import xxhash

    rng = random.Random(5)
    parts = ["http://", "https://", "HTTP://", "ftp://", "", "www.", "WWW.", "Ex.org",
             "ex.org:80", "ex.org:8080", "ex.org:x", "[::1", "[::1]", "/a", "/a/b", "?",
             "?q=1", "??", "#f", "#f?g", " ", "\t", "\x1f", "\u00a0", "é", "\n", "x", ":"]
    urls: list[str | None] = [None, "", " ", "http://a.org"]
    urls += ["".join(rng.choice(parts) for _ in range(rng.randrange(1, 7)))
             for _ in range(3000)]
    want = [xxhash.xxh3_64_intdigest(page_of(u).encode()) | 1 if page_of(u) else 0
            for u in urls]
    assert page_hashes(urls).tolist() == want

"""Stress gate (issue 23, item 5): the shapes of crawl that thresher's default mode meets badly.

Small versions of ``bench/stress_eval.py``'s sets, made by ``bench/stress_sets.py`` and
scored by crawlbench's scorer: (a) pages with extra captures of themselves, (b) documents
without URLs (crawlbench-dev's, and ``gen_corpus.py``'s), (c) short and long pages sharing
lines (crawlbench-dev-scale10k). Floors are what main reached when the gate was written,
less a small margin; several are far below the issue's targets, marked ``BELOW TARGET``:
raise them as the fixes land, do not tune a rule to these sets alone.
"""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest

from tests.conftest import CRAWLBENCH, ROOT, need_shared

sys.path.insert(0, str(ROOT / "bench"))

import stress_eval
from stress_sets import trailing_lines, with_crawl

CAPTURE_PAGES = 100  # the first 100 of stress_eval's 300: its figures at 300 are in bench/README
FLOORS: dict[str, dict[str, float]] = {
    "captures": {
        # the kept page's cleaned-text token F1 against gold, the page alone: 0.838
        "kept_page_f1_0": 0.82,
        # with 10 extra captures: 0.840 (0.563 before support counted articles); target:
        # within 0.01 of the page alone
        "kept_page_f1_10": 0.82,
        # captures put in their page's cluster, of 1,000: 1.000 (0.947 before); target 0.98
        "captures_joined_10": 0.98,
    },
    "no_urls": {
        # crawlbench-dev without URLs: 0.960 (0.954 while they were one site), against
        # 0.965 with them (test_quality_gate); target: within 0.02 of that
        "f1": 0.95,
        "precision": 0.995,  # reached: 1.000
    },
    "generator_no_urls": {
        # gen_corpus.py's 5,000 documents without URLs, content matching: 1.000 (0.784
        # while they were one site; 0.979 with URLs, 0.897 with --match full); target 0.95
        "f1": 0.98,
    },
    "shared_lines": {
        # crawlbench-dev-scale10k: 0.989 (0.977 before a first line without letters kept
        # a page apart from one under a headline; 0.561 before partial matches needed
        # the same headline); target 0.98 at recall >= 0.90
        "precision": 0.985,
        "recall": 0.95,  # reached: 0.969; target 0.90
    },
}
CEILINGS: dict[str, dict[str, float]] = {
    # the page alone less 10 captures: -0.002 (0.275 before); target 0.01
    "captures": {"kept_page_f1_drop": 0.01},
    # crawlbench-dev without URLs: 0.0 (0 of 6,705 pairs); target 0.001
    "no_urls": {"chrome_merge_rate": 0.001},
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    need_shared(CRAWLBENCH)
    work = tmp_path_factory.mktemp("captures")
    alone, ten = (stress_eval.captures_figures(work, pages=CAPTURE_PAGES, extra=k)
                  for k in (0, 10))
    print("captures:", alone, ten)
    return {"kept_page_f1_0": alone["kept_page_f1"], "kept_page_f1_10": ten["kept_page_f1"],
            "captures_joined_10": ten["captures_joined"],
            "kept_page_f1_drop": alone["kept_page_f1"] - ten["kept_page_f1"]}


@pytest.fixture(scope="module")
def no_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    need_shared(CRAWLBENCH)
    work = tmp_path_factory.mktemp("no_urls")
    figures: dict[str, float] = stress_eval.no_urls_figures(
        work, runs=("content_no_urls",))["content_no_urls"]
    print("crawlbench-dev without URLs:", figures)
    return figures


@pytest.fixture(scope="module")
def generator_no_urls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    work = tmp_path_factory.mktemp("generator")
    figures: dict[str, float] = stress_eval.generator_figures(
        work, docs=5000, cache=work, runs=("content_no_urls",))["content_no_urls"]
    print("gen_corpus without URLs:", figures)
    return figures


@pytest.fixture(scope="module")
def shared_lines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    need_shared(stress_eval.SCALE10K)
    figures: dict[str, float] = stress_eval.shared_lines_figures(
        tmp_path_factory.mktemp("shared_lines"))
    print("crawlbench-dev-scale10k:", figures)
    return figures


def _check(shape: str, figures: dict[str, Any]) -> None:
    low = {n: round(figures[n], 4) for n, floor in FLOORS.get(shape, {}).items()
           if figures[n] < floor}
    high = {n: round(figures[n], 4) for n, cap in CEILINGS.get(shape, {}).items()
            if figures[n] > cap}
    assert not low, f"{shape}: below the floor: {low}"
    assert not high, f"{shape}: above the ceiling: {high}"


def test_repeated_captures(captures: dict[str, float]) -> None:
    _check("captures", captures)


def test_crawlbench_without_urls(no_urls: dict[str, float]) -> None:
    _check("no_urls", no_urls)


def test_generator_without_urls(generator_no_urls: dict[str, float]) -> None:
    _check("generator_no_urls", generator_no_urls)


def test_shared_lines(shared_lines: dict[str, float]) -> None:
    _check("shared_lines", shared_lines)


def test_captures_get_a_crawl_query_before_the_fragment() -> None:
    assert with_crawl("https://a.org/p", crawl=3) == "https://a.org/p?crawl=3"
    assert with_crawl("https://a.org/p?x=1#top", crawl=10) == "https://a.org/p?x=1&crawl=10#top"


def test_trailing_lines_come_from_the_site_first_and_are_new_to_the_page() -> None:
    lines = {"p": ["shared menu line here", "the article itself"],
             "q": ["shared menu line here", "another story on the site"],
             "r": [f"a line of another site {i}" for i in range(20)]}
    picks = trailing_lines({"id": "p"}, extra=5, site_pages=["p", "q"], lines=lines,
                           rng=random.Random(1))
    assert picks[0] == ("another story on the site", "site")
    assert [o for _, o in picks[1:]] == ["other_site"] * 4
    assert len({ln for ln, _ in picks}) == 5 and not {ln for ln, _ in picks} & set(lines["p"])
    assert picks == trailing_lines({"id": "p"}, extra=5, site_pages=["p", "q"], lines=lines,
                                   rng=random.Random(1))

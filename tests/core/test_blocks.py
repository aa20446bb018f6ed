"""Blocks, their counts and features, the shipped model, and the content span."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.core.blocks import split_blocks
from thresher.core.content import (
    HEADER,
    INLINE,
    KEEP,
    NONE_FOUND,
    TEASERS,
    TRAILER,
    load_model,
    predict,
    select_content,
)
from thresher.core.features import FEATURES, block_features, headings


def test_blocks_are_visible_lines_with_python_offsets() -> None:
    text = "Überschrift\n\u200b\n  Zweite Zeile, mit Wörtern.  \r\nHome | About"
    b = split_blocks([text, "", "one"])
    assert b.doc_offsets.tolist() == [0, 3, 3, 4]
    got = [text[s:e] for s, e in zip(b.start[:3], b.end[:3], strict=True)]
    assert got == ["Überschrift", "Zweite Zeile, mit Wörtern.", "Home | About"]


def test_counts_of_a_block() -> None:
    b = split_blocks(["Dr. Smith said: it works, mostly. Really!\nREUTERS/Jo Doe\n- item",
                      "© 2024 Example | Terms | https://example.org"])
    s = b.stats
    words, chars, term, sents, commas, caps = s[0, 0], s[0, 1], s[0, 3], s[0, 5], s[0, 6], s[0, 7]
    assert (words, term, sents, commas, caps) == (7, 1, 3, 1, 3) and chars == 41
    assert s[1, 12] == 1  # a slash
    assert s[2, 13] == 1  # a bullet
    assert s[3, 16] == 1 and s[3, 17] == 1 and s[3, 11] == 2  # copyright, link, separators


def test_keys_mask_numbers_and_case_but_not_words() -> None:
    b = split_blocks(["Page 2 of 10", "PAGE 3 of 11", "Page 3 of eleven"])
    assert b.key[0] == b.key[1] != b.key[2]


def test_features_see_title_and_site_counts() -> None:
    text = ("Volcano erupts near town\nMenu\nThe volcano erupted at dawn, and the town was "
            "evacuated before noon today.\nOther story about football results in the league.")
    b = split_blocks([text])
    x = block_features(b, np.array([1, 5, 1, 1]), np.array([10]))
    f = {name: x[:, i] for i, name in enumerate(FEATURES)}
    assert f["title_overlap"][2] > 0 and f["title_overlap"][3] == 0
    assert f["site_share_with_block"][1] == pytest.approx(4 / 9)
    assert f["site_share_with_block"][2] == 0
    # With too few pages, a shared block is no evidence either way.
    y = block_features(b, np.array([2, 2, 2, 2]), np.array([2]))
    assert (y[:, FEATURES.index("site_share_with_block")] == -1).all()


def test_model_prefers_paragraphs_to_menus() -> None:
    menu = "Home\nNews\nSport\nContact us\nLogin"
    body = ("Heavy rain flooded the valley on Tuesday, and officials closed three roads "
            "while crews cleared the debris.\nResidents said the water rose faster than in "
            "any storm they remembered, reaching the doors of the church by evening.")
    b = split_blocks([f"Flooding in the valley\n{menu}\n{body}\n{menu}"])
    p = predict(load_model(), block_features(b, np.ones(b.key.shape[0], np.int64),
                                             np.ones(1, np.int64)))
    assert p[6] > 0.5 and p[7] > 0.5
    assert max(p[1:6]) < 0.5 and max(p[8:]) < 0.5


@pytest.mark.parametrize("rows", [1, 3, 7, 8, 9, 16, 23])
def test_rows_scored_eight_at_a_time_score_as_one_row_alone(rows: int) -> None:
    rng = np.random.default_rng(rows)
    texts = [" ".join(f"w{int(k)}" for k in rng.integers(0, 40, int(rng.integers(1, 30))))
             + ("." if rng.random() < 0.5 else "") for _ in range(rows)]
    b = split_blocks(["\n".join(texts)])
    x = block_features(b, rng.integers(1, 5, b.key.shape[0]), np.array([6]))
    model = load_model()
    alone = [float(predict(model, x[i:i + 1])[0]) for i in range(x.shape[0])]
    assert predict(model, x).tolist() == alone
    assert rows == 1 or len(set(alone)) > 1  # the rows differ, so a mix-up would show


def test_span_selection_and_reasons() -> None:
    p = np.array([0.1, 0.9, 0.2, 0.9, 0.1, 0.0])
    fate = select_content(np.array([0, 6]), p, np.full(6, 9.0), cut=0.5, drop=0.3)
    assert fate.tolist() == [HEADER, KEEP, INLINE, KEEP, TRAILER, TRAILER]
    none = select_content(np.array([0, 2]), np.array([0.1, 0.2]), np.ones(2), cut=0.5,
                          drop=0.3)
    assert none.tolist() == [NONE_FOUND, NONE_FOUND]


def test_a_span_of_a_few_words_is_no_main_text() -> None:
    # a label picked alone ("What it is") would make every page that shows it one page
    p = np.array([0.1, 0.9, 0.1])
    words = np.array([9.0, 3.0, 9.0])
    fate = select_content(np.array([0, 3]), p, words, cut=0.5, drop=0.3)
    assert fate.tolist() == [NONE_FOUND] * 3
    words[1] = 5.0
    fate = select_content(np.array([0, 3]), p, words, cut=0.5, drop=0.3)
    assert fate.tolist() == [HEADER, KEEP, TRAILER]


@pytest.mark.parametrize("heading", ["More from the Daily Planet", "Lesen Sie auch",
                                     "Plus d'articles", "Related"])
def test_a_heading_that_opens_unrelated_stories_ends_the_article(heading: str) -> None:
    article = [
        "Glacier retreat speeds up",
        ("The glacier lost more ice this summer than in any year on record, scientists "
         "said."),
        ("Glacier melt now adds to sea level rise faster than the ice sheets, the study of "
         "the glacier found."),
        "Researchers measured the glacier from planes and satellites.",
    ]
    teasers = ["Football club signs a new coach after a difficult season.", "Photo: Agency",
               "Parliament votes on the budget after a long night of debate.",
               "Stock markets rose on Friday as investors cheered earnings."]
    b = split_blocks(["\n".join([*article, heading, *teasers])])
    x = block_features(b, np.ones(b.key.shape[0], np.int64), np.ones(1, np.int64))
    p = np.array([0.4, 0.9, 0.9, 0.9, 0.6, 0.9, 0.6, 0.9, 0.9])
    fate = select_content(b.doc_offsets, p, b.stats[:, 0], cut=0.5, drop=0.3,
                          title=np.ascontiguousarray(x[:, FEATURES.index("title_overlap")]),
                          heading=headings(b))
    assert fate.tolist() == [KEEP] * 4 + [TEASERS] * 5


_AWKWARD = st.text(alphabet=st.sampled_from(list("ab .,\n\t\r|é—日本\u0301😀Ωß") + ["\ud800"]),
                   max_size=60)


@settings(max_examples=200, deadline=None)
@given(st.lists(_AWKWARD, min_size=1, max_size=6))
def test_block_byte_spans_hold_the_blocks_text(texts: list[str]) -> None:
    from thresher.core.text import prepare_batch

    data, offsets = prepare_batch(texts)
    b = split_blocks(texts)
    raw = data.tobytes()
    for d, text in enumerate(texts):
        for k in range(b.doc_offsets[d], b.doc_offsets[d + 1]):
            lo, hi = offsets[d] + b.bytes[k]
            assert raw[lo:hi].decode("utf-8", "surrogatepass") == text[b.start[k]:b.end[k]]


def test_kept_word_features_give_the_same_rows() -> None:
    from thresher.core.features import word_features

    b = split_blocks([("Flooding in the valley\nRiver flooding closed the valley road today.\n"
                      "Menu | Home\nThe valley road reopens when the river falls."), "one"])
    counts, pages = np.arange(b.key.shape[0]) % 3 + 1, np.array([5, 5])
    assert (word_features(b)[:, 0] >= 0).any()  # the title's words are found
    np.testing.assert_array_equal(block_features(b, counts, pages, words=word_features(b)),
                                  block_features(b, counts, pages))


# Characters that take each branch of split_counted: plain and accented letters, digits,
# separators and invisible ones, ones NFKC and case folding turn into one character (full
# and half width forms), into several separators (an ellipsis), into letters (a trade
# mark, a ligature, "ß"), ones that compose (Hangul vowels, combining marks, an Indic
# vowel sign), and scripts written without spaces.
_MIXED = ("abcXYZ019 .,;:!?-|/@\n\n\t\r \xa0\xad\u200b\u2028\u3000\ufeff\u2026\u2033\u2122"
          "\ufb01\xdf\u1e9e\u03a3\u03c2\u0130\xc5\u212b\xe9e\u0301\u0308\u0323\uff71\uff21"
          "\uff11\u2460\xb2\xbd\u216b\uac00\u1161\u65e5\u672c\u30ab\u3099\u0e44\u09be"
          "\U0001d400\U0001f600\xab\xbb\u2014\u201c")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from(_MIXED + "plain words\n" * 8), max_size=120),
                min_size=1, max_size=12))
def test_split_counted_finds_what_the_sketch_finds(texts: list[str]) -> None:
    from thresher.core.blocks import split_counted, split_prepared
    from thresher.core.sketch import MODE_AUTO, choose_modes, sketch_texts
    from thresher.core.text import prepare_batch

    prepared = prepare_batch(texts)
    blocks, fps, tokens = split_counted(*prepared)
    alone = split_prepared(*prepared)
    for name in ("doc_offsets", "start", "end", "key", "stats", "word_hashes", "bytes"):
        assert np.array_equal(getattr(blocks, name), getattr(alone, name)), name
    s = sketch_texts(texts, num_perm=0, ngram=5, char_ngram=5, prepared=prepared)
    simple = tokens[:, 3] == 1
    assert np.array_equal(fps[simple], s.fingerprints[simple])
    assert np.array_equal(tokens[simple, 0], s.n_tokens[simple])
    modes = choose_modes(tokens[:, 1], tokens[:, 2], MODE_AUTO)
    assert np.array_equal(modes[simple], s.modes[simple])


def test_split_counted_leaves_only_texts_that_fold_into_more() -> None:
    from thresher.core.blocks import _flags, _simple_folds, split_counted
    from thresher.core.text import prepare_batch

    texts = ["Plain text, Ｗｉｄｅ and ｶﾅ\u2026 done.", "Stra\xdfe", "Brand\u2122", "",
             "\u65e5\u672c\u8a9e\u306e\u6587", "e\u0301 then \u0323"]
    _, _, tokens = split_counted(*prepare_batch(texts))
    assert tokens[:, 3].tolist() == [1, 0, 0, 1, 1, 0]
    assert tokens[4, 2] == tokens[4, 1] == 5  # all of it in a script without spaces
    # Characters the splitter trims or skips (line breaks, invisible ones) are never
    # looked at: they must fold to no word character
    invisible = np.flatnonzero(_flags() & 1)
    assert (_simple_folds()[[*invisible, 0x0A]] == 0).all()


def test_ascii_word_characters_fold_as_the_splitters_short_path_takes_them() -> None:
    from thresher.core.blocks import _simple_folds
    from thresher.core.text import WORD, case_folds, char_classes

    table, fold, simple = char_classes(), case_folds()[0], _simple_folds()
    word = np.flatnonzero(table[:0x80] != 0)
    assert set(range(0x30, 0x3A)) <= set(word.tolist())
    # NFKC leaves them, case folding lowers them into a word character of the same kind
    assert (fold[word] >= 0).all() and (simple[word] == fold[word]).all()
    assert (table[word] == WORD).all() and (table[fold[word]] == WORD).all()
    upper = (word >= 0x41) & (word <= 0x5A)
    assert (fold[word] != word).tolist() == upper.tolist()


@pytest.mark.parametrize("shingle", ["auto", "word", "char"])
def test_the_read_stage_counts_in_the_split_what_the_sketch_counts(shingle: str) -> None:
    from thresher.core.text import prepare_batch
    from thresher.io.records import Fields
    from thresher.io.sources import Shard
    from thresher.pipeline.read import ReadTask, counted_rows, sketch_rows

    task = ReadTask(work="", shard=Shard(index=0, kind="jsonl", files=(), names=()),
                    fields=Fields(), num_perm=16,
                    ngram=5, char_ngram=5, shingle=shingle, seed=7, blocks=True)
    texts = ["Plain text.\nTwo lines", "Stra\xdfe und Br\xfccke", "...!", "Brand\u2122 name",
             "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0", "Ｗｉｄｅ ｔｅｘｔ", "e\u0301\u0323 x"]
    slots = [0, 2, 3, 5, 6, 8, 9]
    prepared = prepare_batch(texts)
    _, got, got_empty = counted_rows(task, 10, slots, texts=texts, prepared=prepared)
    want, want_empty = sketch_rows(task, 10, slots, texts=texts, whole=False,
                                   prepared=prepared)
    assert got_empty == want_empty == [3]
    assert got.keys() == want.keys()
    for key in want:
        assert np.array_equal(got[key], want[key]), key

"""The stages' typed counts: adding, summing, and their completion markers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thresher.pipeline.counts import (
    EdgeCounts,
    GroupCounts,
    IndexCounts,
    PairCounts,
    ReadCounts,
    WriteCounts,
)
from thresher.pipeline.workdir import WorkDir

_bins = st.lists(st.integers(0, 10**6), min_size=3, max_size=3).map(tuple)
_edges = st.builds(EdgeCounts, edges=st.integers(0, 10**6), accepted=_bins, rejected=_bins)
# Cheap draws, but a loaded machine can stall one: no timing checks.
_relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_relaxed
@given(st.lists(_edges, max_size=6))
def test_edge_counts_add_field_by_field(parts: list[EdgeCounts]) -> None:
    total = EdgeCounts.total(parts)
    assert total == sum(parts, EdgeCounts())
    assert total.edges == sum(p.edges for p in parts)
    for i in range(3):
        assert (total.accepted or (0, 0, 0))[i] == sum(p.accepted[i] for p in parts)


@_relaxed
@given(_edges, _edges, _edges)
def test_adding_is_associative_and_zero_is_neutral(a: EdgeCounts, b: EdgeCounts,
                                                   c: EdgeCounts) -> None:
    assert (a + b) + c == a + (b + c)
    assert a + EdgeCounts() == a == EdgeCounts() + a


def test_mappings_add_key_by_key_in_the_order_first_seen() -> None:
    a = ReadCounts(records=2, skipped={"b": 1, "a": 2}, found={"f2": {"object": 2}})
    b = ReadCounts(records=3, skipped={"c": 4, "a": 1},
                   found={"f1": {"mark": 1}, "f2": {"object": 1, "mark": 3}})
    total = a + b
    assert total.records == 5
    assert list(total.skipped.items()) == [("b", 1), ("a", 3), ("c", 4)]
    assert list(total.found) == ["f2", "f1"]
    assert total.found["f2"] == {"object": 3, "mark": 3}


def test_counts_of_two_kinds_do_not_add() -> None:
    with pytest.raises(TypeError):
        _ = PairCounts(pairs=1) + WriteCounts(pairs=1)
    with pytest.raises(TypeError):
        PairCounts.total([PairCounts(pairs=1), WriteCounts(pairs=1)])
    with pytest.raises(TypeError):
        IndexCounts.of(PairCounts())
    with pytest.raises(TypeError):
        PairCounts.total(PairCounts())  # a global stage's result is not a list


def test_differing_texts_and_bins_do_not_add() -> None:
    with pytest.raises(ValueError, match="texts"):
        _ = GroupCounts(scope={"kind": "site"}) + GroupCounts(scope={"kind": "corpus"})
    with pytest.raises(ValueError, match="sequences"):
        _ = EdgeCounts(accepted=(1, 2)) + EdgeCounts(accepted=(1, 2, 3))


def test_a_marker_holds_the_counts_as_json_and_reads_back(tmp_path: Path) -> None:
    work = WorkDir(tmp_path)
    read = ReadCounts(records=4, rejected=1, text_bytes=90, skipped={"empty": 2},
                      found={"in/a.jsonl": {"object": 4, "mark": 1}})
    work.mark_done("read", "00000", read)
    marker = json.loads((tmp_path / "read" / "00000.done").read_text())
    assert marker == {"records": 4, "rejected": 1, "text_bytes": 90, "skipped": {"empty": 2},
                      "found": {"file": "in/a.jsonl", "object": 4, "mark": 1}}
    assert work.done("read", "00000", ReadCounts) == read
    edges = EdgeCounts(edges=3, accepted=(0, 3), rejected=(1, 0))
    work.mark_done("edges", "chunk-00000", edges)
    assert json.loads((tmp_path / "edges" / "chunk-00000.done").read_text())[
        "accepted"] == [0, 3]
    assert work.done("edges", "chunk-00000", EdgeCounts) == edges
    assert work.done("edges", "chunk-00001", EdgeCounts) is None


def test_a_marker_of_fewer_fields_reads_back_with_zeros(tmp_path: Path) -> None:
    (tmp_path / "write").mkdir()
    (tmp_path / "write" / "00000.done").write_text('{"written": 7}')
    (tmp_path / "write" / "00001.done").write_text('{"found": {}, "records": 1}')
    work = WorkDir(tmp_path)
    assert work.done("write", "00000", WriteCounts) == WriteCounts(written=7)
    assert work.done("write", "00001", ReadCounts) == ReadCounts(records=1)


def test_a_task_run_again_returns_its_recorded_counts_typed(tmp_path: Path) -> None:
    """An executor that runs a finished task again (a Ray retry) gets the counts its
    marker holds, of the stage's kind, and the task is not run a second time."""
    from thresher.pipeline.runner import _Timed

    ran: list[str] = []

    def task(name: str) -> EdgeCounts:
        ran.append(name)
        return EdgeCounts(edges=1, accepted=(1, 0), rejected=(0, 0))

    work = WorkDir(tmp_path)
    recorded = EdgeCounts(edges=5, accepted=(2, 3), rejected=(4, 0))
    work.mark_done("edges", "chunk-00000", recorded)
    timed = _Timed(fn=task, kind=EdgeCounts, work=str(tmp_path), stage="edges")
    again, _ = timed(("chunk-00000", "first"))
    assert again == recorded and type(again) is EdgeCounts and ran == []
    fresh, _ = timed(("chunk-00001", "second"))
    assert fresh == EdgeCounts(edges=1, accepted=(1, 0), rejected=(0, 0))
    assert ran == ["second"]

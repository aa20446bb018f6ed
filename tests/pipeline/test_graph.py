"""The stage registry, the plan's records, and the pipeline's independence of the index."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import thresher
from thresher._console import _STAGE_LABELS
from thresher.pipeline import graph
from thresher.pipeline.counts import MergeCounts, PairCounts
from thresher.pipeline.workdir import STAGES


def test_names_come_from_one_registry() -> None:
    assert tuple(graph.STAGES) == STAGES
    assert _STAGE_LABELS is graph.LABELS


def test_artifact_names() -> None:
    assert graph.shard_key(42) == "00042"
    assert graph.artifact(42, "meta.parquet") == "00042.meta.parquet"
    assert graph.numbered("chunk", 7) == "chunk-00007"


def test_a_stage_must_be_registered() -> None:
    with pytest.raises(ValueError, match="registry"):
        graph.Stage(name="nowhere", task=lambda _: MergeCounts(), counts=MergeCounts,
                    tasks=lambda _: [])


def test_a_global_stage_has_no_task_list() -> None:
    with pytest.raises(ValueError, match="global"):
        graph.Stage(name="merge", task=lambda _: MergeCounts(), counts=MergeCounts,
                    scope="global", tasks=lambda _: [])
    assert graph.Stage(name="merge", task=lambda _: MergeCounts(), counts=MergeCounts,
                       scope="global").label == "Merging candidates"


def test_pipeline_never_imports_the_index() -> None:
    root = Path(thresher.__file__).parent / "pipeline"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith("thresher.index") for n in names), path


def test_a_stage_reads_only_registered_stages() -> None:
    with pytest.raises(ValueError, match="nowhere"):
        graph.Stage(name="merge", task=lambda _: MergeCounts(), counts=MergeCounts, scope="global",
                    inputs=("nowhere",))


def test_a_stage_runs_only_after_the_stages_it_reads(tmp_path: Path) -> None:
    from thresher.config import config_from_mapping
    from thresher.errors import StageError
    from thresher.pipeline.progress import NullProgress
    from thresher.pipeline.runner import Runner
    from thresher.pipeline.workdir import WorkDir

    cfg = config_from_mapping({"inputs": ["."], "output": str(tmp_path / "out"),
                               "executor": "serial"})
    work = WorkDir(tmp_path / "work")
    runner = Runner(cfg, NullProgress(), work)
    merge = graph.Stage(name="merge", scope="global", inputs=("lsh",), counts=MergeCounts,
                        task=lambda _: MergeCounts(candidates=3))
    with pytest.raises(StageError, match="'lsh'"):
        runner.run(merge, {})
    runner.run(graph.Stage(name="lsh", scope="global", counts=PairCounts,
                           task=lambda _: PairCounts()), {})
    assert runner.run(merge, {}) == MergeCounts(candidates=3)
    assert runner.ran == ["lsh", "merge"]

"""Nodes that disappear: a three-node Ray cluster loses a worker node in the middle of each
heavy stage, and the run still ends with the local executor's outputs, byte for byte.

The nodes run on this machine (``ray.cluster_utils.Cluster``). In the first test they see
the same input and output folders, as nodes on a shared file system would, and the work
folder is a ``file://`` URL, so every artifact is written whole and read whole through
fsspec; in the second, inputs, work folder and outputs are all in a bucket of an S3
server on loopback (moto's server mode), the only thing the nodes share; the third runs an
``index add`` so, the index in the driver's folder alone (an audit hook in every worker
refuses to open it: ``tests/noindex.py``). Which task dies is
chosen, not timed: the first task of a chosen stage tells the test its node (a file in a
folder the test watches) and waits; the test kills that node's processes
(``remove_node``, no grace) and adds a fresh node. Ray runs the task again elsewhere.
Four of the seven kills come before the task wrote anything, three after it finished its
writes and its completion marker but before its result reached the driver (the content
stage then deletes what it read: a second run must not need it).

Select with ``-m cluster``; two and a half to four minutes on two cores shared with other
jobs.
"""

from __future__ import annotations

import gzip
import importlib
import importlib.util
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import pytest

import thresher
from tests.noindex import guard
from tests.tools import load_tool
from thresher import index
from thresher.index.shipped import cache_root

ray = pytest.importorskip("ray")
cluster_utils = pytest.importorskip("ray.cluster_utils")

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample" / "crawl.jsonl.gz"
STORE = 80 << 20  # object store bytes per node: tasks pass only small statistics
SPLIT = 300_000  # input bytes per shard: the sample (2.9 MB) in about ten shards
# Where each stage's function is looked up when the plan is built, and whether its first
# task dies after its writes ("after") or before any ("before").
DOOMED: dict[str, tuple[str, str, str]] = {
    "read": ("thresher.pipeline.dedup", "read_stage_task", "before"),
    "content": ("thresher.pipeline.stages.content", "content_task", "after"),
    "keys": ("thresher.pipeline.stages.keys", "keys_task", "before"),
    "lsh": ("thresher.pipeline.stages.lsh", "band_task", "after"),
    "verify": ("thresher.pipeline.stages.verify", "verify_task", "before"),
    "write": ("thresher.pipeline.run", "output_task", "after"),
    "probe": ("thresher.index.probe", "probe_task", "before"),
}


IDENTITY = load_tool("identity")  # what a refactoring must not change, hashed its way


def _listing(out: Path, *, where: bool = False) -> list[str]:
    """Every output's hash as tools/identity.py lists it; summary.json without its ``run``
    section (the executor's name, the output path, the workers) and the index's path, and
    with ``where`` without the input paths and the work folder either (an object store's
    URLs against a local run's paths)."""
    lines = [line for line in IDENTITY._hashes(out, "out")
             if not line.endswith("/summary.json")]
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("run")
    summary.get("index", {}).pop("path", None)
    if where:
        summary["config"]["input"].pop("paths")
        summary["config"].pop("work_dir", None)
    return [*lines, json.dumps(IDENTITY._untimed(summary), sort_keys=True)]


@dataclass(frozen=True)
class _LoseNode:
    """A stage's task function whose first call, across the cluster, loses its node.

    The real function is named by module and attribute (looked up on the worker, where
    nothing is patched). The first caller claims ``<signals>/<stage>.claim``, writes its
    node's id to ``<stage>.node`` and waits for the test to kill the node under it.
    """

    module: str
    name: str
    stage: str
    when: str  # "before" or "after" the real function's writes
    signals: str

    def __call__(self, task: Any) -> Any:
        fn: Callable[[Any], Any] = getattr(importlib.import_module(self.module), self.name)
        base = Path(self.signals) / self.stage
        try:
            os.close(os.open(f"{base}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return fn(task)  # a later task, or this one run again: the real work
        if self.when == "after":
            fn(task)
        node = ray.get_runtime_context().get_node_id()
        Path(f"{base}.tmp").write_text(node)
        os.replace(f"{base}.tmp", f"{base}.node")
        for _ in range(900):  # the node dies under this task
            time.sleep(0.1)
            if os.path.exists(f"{base}.failed"):
                break
        why = Path(f"{base}.failed").read_text() if os.path.exists(f"{base}.failed") else ""
        raise RuntimeError(f"the test did not kill node {node} in stage {self.stage}: {why}")


class _Killer:
    """Watches the signal folder; kills the node each doomed task names, adds a new one."""

    def __init__(self, cluster: Any, signals: Path) -> None:
        self.cluster, self.signals = cluster, signals
        self.killed: list[str] = []
        self.failed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self.stop.wait(0.1):
            for found in sorted(self.signals.glob("*.node")):
                if found.stem in self.killed or found.stem in self.failed:
                    continue
                try:
                    self._kill(found.stem, found.read_text())
                except Exception as exc:  # noqa: BLE001 - the waiting task fails with it
                    self.failed.append(found.stem)
                    found.with_suffix(".failed").write_text(repr(exc))

    def _kill(self, stage: str, node_id: str) -> None:
        nodes = {n.node_id: n for n in self.cluster.worker_nodes}
        if node_id not in nodes:
            raise LookupError(f"{node_id} is none of the worker nodes {sorted(nodes)}")
        node = nodes[node_id]
        self.cluster.remove_node(node, allow_graceful=False)
        self.killed.append(stage)
        self.cluster.add_node(num_cpus=1, object_store_memory=STORE)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@pytest.fixture(scope="module")
def three_nodes(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A head node that runs no task (the driver's) and two worker nodes of one CPU."""
    try:  # the S3 server first, where there is one: its address reaches every node
        request.getfixturevalue("_moto_endpoint")
    except pytest.skip.Exception:
        pass
    fast = {"health_check_initial_delay_ms": 0, "health_check_period_ms": 1000,
            "health_check_timeout_ms": 1000, "health_check_failure_threshold": 3}
    # Nodes are added from a thread: no exit hooks (signal handlers need the main one).
    cluster = cluster_utils.Cluster(
        initialize_head=True, shutdown_at_exit=False, head_node_args={
            "num_cpus": 0, "object_store_memory": STORE, "include_dashboard": False,
            "_system_config": fast})
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, object_store_memory=STORE)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(params=["file"])
def work_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the cluster's work folders go: a URL, so nothing is shared as POSIX files
    (an object store's URL is one more parameter)."""
    roots = {"file": f"file://{tmp_path}/work"}
    return roots[request.param]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample crawl as plain JSONL (cut into shards by bytes), and its two halves."""
    root = tmp_path_factory.mktemp("corpus")
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines(keepends=True)
    half = len(lines) // 2
    paths = {"all": lines, "a": lines[:half], "b": lines[half:]}
    for name, rows in paths.items():
        (root / f"{name}.jsonl").write_text("".join(rows), encoding="utf-8")
    return {name: root / f"{name}.jsonl" for name in paths}


def _doom(monkeypatch: pytest.MonkeyPatch, signals: Path, stages: list[str]) -> None:
    signals.mkdir(exist_ok=True)
    for stage in stages:
        module, name, when = DOOMED[stage]
        monkeypatch.setattr(importlib.import_module(module), name,
                            _LoseNode(module, name, stage, when, str(signals)))


def test_a_node_lost_in_each_heavy_stage_costs_a_retry(
        three_nodes: Any, corpus: dict[str, Path], tmp_path: Path, work_root: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"split_bytes": SPLIT, "match": "content", "strip_boilerplate": True}
    ref = tmp_path / "ref"
    thresher.dedup(inputs=[corpus["all"]], output=ref, executor="local", workers=2,
                   **options)
    index.create(tmp_path / "ix-ref", match="content")
    index.add(tmp_path / "ix-ref", [corpus["a"]], tmp_path / "ref-a", executor="local",
              workers=2, split_bytes=SPLIT)
    shutil.copytree(tmp_path / "ix-ref", tmp_path / "ix")  # both hold batch a, alike
    index.add(tmp_path / "ix-ref", [corpus["b"]], tmp_path / "ref-b", executor="local",
              workers=2, split_bytes=SPLIT)

    signals = tmp_path / "signals"
    dedup_kills = ["read", "content", "keys", "lsh", "verify", "write"]
    _doom(monkeypatch, signals, [*dedup_kills, "probe"])
    out = tmp_path / "ray"
    with _Killer(three_nodes, signals) as killer:
        summary = thresher.dedup(inputs=[corpus["all"]], output=out, executor="ray",
                                 work_dir=f"{work_root}/dedup", **options)
        assert killer.killed == dedup_kills
        index.add(tmp_path / "ix", [corpus["b"]], tmp_path / "ray-b", executor="ray",
                  split_bytes=SPLIT, work_dir=f"{work_root}/add")
    assert not killer.failed
    assert killer.killed == [*dedup_kills, "probe"]
    _drop_copies([p.read_bytes() for p in tmp_path.glob("work/add/probe/segments/*/shipped.json")])
    assert summary["run"]["executor"] == "ray" and summary["duplicates"]["near"] > 0
    # each lost task ran again, and the summary says where
    assert set(summary["run"]["reruns"]) == set(dedup_kills), summary["run"]["reruns"]
    assert _listing(out) == _listing(ref)
    assert _listing(tmp_path / "ray-b") == _listing(tmp_path / "ref-b")
    assert IDENTITY._index_hashes(tmp_path / "ix") == IDENTITY._index_hashes(
        tmp_path / "ix-ref")


@pytest.mark.slow
def test_a_run_held_in_an_object_store_survives_lost_nodes(
        three_nodes: Any, corpus: dict[str, Path], tmp_path: Path, s3_server: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"split_bytes": SPLIT, "match": "content"}
    ref = tmp_path / "ref"
    thresher.dedup(inputs=[corpus["all"]], output=ref, executor="local", workers=2,
                   **options)
    s3_server.fs.put_file(str(corpus["all"]), f"{s3_server.bucket}/crawl/all.jsonl")

    kills = ["read", "write"]  # the two stages that read inputs and write outputs
    _doom(monkeypatch, tmp_path / "signals", kills)
    with _Killer(three_nodes, tmp_path / "signals") as killer:
        thresher.dedup(inputs=[s3_server.url("crawl") + "/"], output=s3_server.url("out"),
                       executor="ray", work_dir=s3_server.url("work"), **options)
    assert not killer.failed and killer.killed == kills
    got = tmp_path / "got"
    for key in s3_server.keys("out"):
        (got / key).parent.mkdir(parents=True, exist_ok=True)
        s3_server.fs.get_file(f"{s3_server.bucket}/out/{key}", str(got / key))
    assert (got / "kept" / "all.jsonl").is_file()
    assert _listing(got, where=True) == _listing(ref, where=True)


def test_an_index_add_held_in_an_object_store_needs_no_index_on_the_nodes(
        three_nodes: Any, corpus: dict[str, Path], tmp_path: Path, s3_server: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Inputs, work folder and outputs in the bucket, the index in the driver's folder: the
    workers read its segments through the work folder (an audit hook in each refuses the
    index folder), a node lost in the probe stage costs a retry on a fresh node (with no
    copy of the segments yet), and index and outputs are the local executor's."""
    for half in ("a", "b"):
        s3_server.fs.put_file(str(corpus[half]), f"{s3_server.bucket}/crawl/{half}.jsonl")
    options = {"split_bytes": SPLIT}
    index.create(tmp_path / "ix-ref", match="content")
    index.add(tmp_path / "ix-ref", [s3_server.url("crawl", "a.jsonl")], tmp_path / "ref-a",
              executor="local", workers=2, **options)
    shutil.copytree(tmp_path / "ix-ref", tmp_path / "ix")  # both hold batch a, alike
    index.add(tmp_path / "ix-ref", [s3_server.url("crawl", "b.jsonl")], tmp_path / "ref",
              executor="local", workers=2, **options)

    signals, guarded = tmp_path / "signals", tmp_path / "guarded"
    signals.mkdir()
    module, name, when = DOOMED["probe"]
    guard(monkeypatch, tmp_path / "ix", guarded,
          {stage: (module, name) for stage, (module, name, _) in DOOMED.items()},
          inner={"probe": _LoseNode(module, name, "probe", when, str(signals))})
    with _Killer(three_nodes, signals) as killer:
        summary = index.add(tmp_path / "ix", [s3_server.url("crawl", "b.jsonl")],
                            s3_server.url("out"), executor="ray",
                            work_dir=s3_server.url("work"), **options)
    assert not killer.failed and killer.killed == ["probe"]
    assert summary["index"]["matched"] > 0 and summary["index"]["added"] > 0
    assert {"content", "probe"} <= {p.name.split("-")[0] for p in guarded.iterdir()}
    got = tmp_path / "got"
    for key in s3_server.keys("out"):
        (got / key).parent.mkdir(parents=True, exist_ok=True)
        s3_server.fs.get_file(f"{s3_server.bucket}/out/{key}", str(got / key))
    assert _listing(got, where=True) == _listing(tmp_path / "ref", where=True)
    assert IDENTITY._index_hashes(tmp_path / "ix") == IDENTITY._index_hashes(
        tmp_path / "ix-ref")
    _drop_copies([s3_server.fs.cat_file(f"{s3_server.bucket}/work/probe/segments/{key}")
                  for key in s3_server.keys("work", "probe", "segments")
                  if key.endswith("/shipped.json")])


def _drop_copies(listings: list[bytes]) -> None:
    """Delete the nodes' copies of the segments a run shipped (one temporary folder for
    all the nodes of this machine)."""
    for listing in listings:
        shutil.rmtree(cache_root() / json.loads(listing)["copy"], ignore_errors=True)

"""The Ray executor gives byte-identical outputs to the serial and local executors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import thresher
from tests.pipeline.corpus import make_corpus
from tests.pipeline.test_dedup import _outputs

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


@pytest.mark.parametrize("match", ["content", "full"])
def test_ray_matches_serial_and_local(local_ray: None, tmp_path: Path, match: str) -> None:
    corpus = make_corpus(tmp_path / "c", files=3, per_file=120, seed=11)
    outs = {}
    strip = match == "content"
    # Ray with its work folder at an fsspec URL (as s3:// would be on a cluster).
    url = {"work_dir": f"file://{tmp_path}/work"} if strip else {}
    for name, executor, extra in (("serial", "serial", {}), ("local", "local", {}),
                                  ("ray", "ray", url)):
        out = tmp_path / name
        summary = thresher.dedup(inputs=[corpus], output=out, executor=executor,
                                 split_bytes=50_000, match=match, strip_boilerplate=strip,
                                 **extra)
        assert summary["counts_add_up"] and summary["duplicates"]["near"] > 0
        outs[name] = (_outputs(out), (out / "boilerplate.parquet").read_bytes()
                      if strip else b"")
    assert outs["ray"] == outs["serial"] == outs["local"]


def test_ray_address_needs_the_ray_executor() -> None:
    with pytest.raises(thresher.ConfigError, match="--ray-address goes with --executor ray"):
        thresher.config_from_mapping({"inputs": ["x"], "output": "o", "ray_address": "auto"})


def test_errors_in_ray_tasks_come_back_as_themselves(local_ray: None) -> None:
    from thresher.executors.ray import RayExecutor

    with pytest.raises(thresher.InputError, match="broken"):
        RayExecutor().map(_fail, [1])


def _fail(_: int) -> None:
    raise thresher.InputError("broken", path="f", line=1)


def test_a_task_whose_worker_dies_is_run_again(local_ray: None, tmp_path: Path) -> None:
    """Ray retries a task whose worker process dies; stage tasks are safe to run twice."""
    from thresher.executors.ray import RayExecutor

    marker = tmp_path / "died-once"
    assert RayExecutor().map(_die_once, [(str(marker), 3), (str(marker), 4)]) == [9, 16]
    assert marker.exists()


def _die_once(task: tuple[str, int]) -> int:
    import os

    marker, x = task
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)  # the worker process dies mid-task, as a killed node would
    return x * x


def test_a_restarted_driver_resumes_with_the_same_outputs(
        local_ray: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver dies after the Ray tasks of the first stages finished; run again, it
    reuses their files (completion markers) and ends with the outputs of a clean run."""
    from thresher.pipeline.stages import cluster as clusters

    corpus = make_corpus(tmp_path / "c", files=2, per_file=120, seed=12)
    thresher.dedup(inputs=[corpus], output=tmp_path / "clean", executor="serial",
                   strip_boilerplate=True)

    def driver_dies(*_: object) -> None:
        raise KeyboardInterrupt  # what a killed driver leaves: no later stage ran

    real = clusters.component_labels
    monkeypatch.setattr(clusters, "component_labels", driver_dies)
    with pytest.raises(KeyboardInterrupt):
        thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="ray",
                       strip_boilerplate=True)
    assert not (tmp_path / "o" / "summary.json").exists()
    monkeypatch.setattr(clusters, "component_labels", real)
    summary = thresher.dedup(inputs=[corpus], output=tmp_path / "o", executor="ray",
                             strip_boilerplate=True)
    assert summary["run"]["resumed"] is True
    assert _outputs(tmp_path / "o") == _outputs(tmp_path / "clean")


def test_without_an_address_a_local_instance_starts_whatever_runs_here(tmp_path: Path) -> None:
    """No --ray-address: a new local Ray instance, as documented, not a cluster that
    ``ray start`` left running (stood in for by RAY_ADDRESS, which ray.init would join)."""
    code = ("from thresher.executors.ray import RayExecutor; import ray; "
            "ex = RayExecutor(workers=1); print(ex.workers); ex.close()")
    env = {**os.environ, "RAY_ADDRESS": "127.0.0.1:9"}  # nothing listens there
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "1"

"""The local process pool: its workers die with the run, and a dead worker is one error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from thresher.cli import main
from thresher.errors import WorkerError
from thresher.executors import LocalExecutor
from thresher.pipeline.counts import Counts
from thresher.pipeline.workdir import WorkDir

from ..conftest import write_jsonl

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _kill_self(task: int) -> int:
    if task == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return task


def _exit_3(task: int) -> int:
    if task == 1:
        os._exit(3)
    return task


def test_a_killed_worker_is_one_error_naming_the_signal() -> None:
    ex = LocalExecutor(2)
    with pytest.raises(WorkerError) as caught:
        ex.map(_kill_self, list(range(6)))
    assert str(caught.value) == ("a worker process died (killed by signal 9 (SIGKILL): out of "
                                 "memory?); rerun the same command to resume")
    ex.close()
    assert ex.map(abs, [-1, -2]) == [1, 2]  # a fresh pool


def test_a_worker_that_exits_says_its_code() -> None:
    ex = LocalExecutor(2)
    with pytest.raises(WorkerError, match=r"died \(exited with code 3\)"):
        ex.map(_exit_3, list(range(4)))
    ex.close()


_PARENT = """
import os, sys, time
from thresher.executors import LocalExecutor

def pid(_task):
    time.sleep(0.2)
    return os.getpid()

ex = LocalExecutor(2)
print(*sorted(set(ex.map(pid, list(range(8))))), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has died: only its parent has not reaped it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_workers_die_with_their_parent(sig: signal.Signals) -> None:
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE,
                              text=True, env=env)
    try:
        assert parent.stdout is not None
        workers = [int(p) for p in parent.stdout.readline().split()]
        assert workers and all(_alive(p) for p in workers)
        parent.send_signal(sig)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [p for p in workers if _alive(p)]
        for p in left:
            os.kill(p, signal.SIGKILL)
        assert not left, f"workers {left} outlived their parent"
    finally:
        parent.kill()
        parent.wait()


def test_dedup_with_a_killed_worker_prints_one_line(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for part in range(2):
        write_jsonl(tmp_path / "in" / f"{part}.jsonl",
                    [{"id": f"{part}-{i}", "text": f"words {part} {i} " * 8} for i in range(3)])
    real, parent = WorkDir.mark_done, os.getpid()

    def mark_done(self: WorkDir, stage: str, task: str, stats: Counts) -> None:
        if os.getpid() != parent:  # in a worker (forked from this process)
            os.kill(os.getpid(), signal.SIGKILL)
        real(self, stage, task, stats)

    monkeypatch.setattr(WorkDir, "mark_done", mark_done)
    result = CliRunner().invoke(main, ["dedup", str(tmp_path / "in"), "-o",
                                       str(tmp_path / "out"), "-q", "--workers", "2"])
    assert result.exit_code == 1, result.output
    assert result.stderr.strip() == ("Error: a worker process died (killed by signal 9 "
                                     "(SIGKILL): out of memory?); rerun the same command to "
                                     "resume")

"""Benchmark thresher against datasketch and rensa on one seeded synthetic corpus.

Each tool runs in a fresh subprocess (so peak RSS is its own), pinned to CPU 0
(``sched_setaffinity``, as ``taskset -c 0``) with single-thread environment
variables, end to end: reading the JSONL, tokenising, sketching, LSH, clustering
and writing its result. Quality is scored against the injected near-duplicate
truth written by ``gen_corpus.py``.

Example::

    python bench/run.py --docs 100000 --seed 1 --peers thresher,rensa,datasketch
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_PEERS = "thresher,datasketch,rensa,rensa-b16,rensa-dedup,rensa-flat,rensa-rho"
THREAD_VARS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS",
               "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# --------------------------------------------------------------------------- corpus


@dataclass
class Truth:
    """Injected ground truth, in corpus order."""

    ids: list[str]
    cluster: np.ndarray  # int64 cluster index per document
    source: np.ndarray  # int64 position of the source document (itself for originals)
    jaccard: np.ndarray  # float64 true 5-gram Jaccard to the source; nan for originals
    text_bytes: int


def corpus_path(cache: Path, docs: int, seed: int, dup_rate: float) -> Path:
    """Cache location of the corpus for these parameters."""
    sys.path.insert(0, str(HERE))
    from gen_corpus import GEN_VERSION

    return cache / f"corpus-v{GEN_VERSION}-n{docs}-s{seed}-d{dup_rate:g}.jsonl"


def ensure_corpus(path: Path, docs: int, seed: int, dup_rate: float) -> None:
    """Generate the corpus with ``gen_corpus.py`` unless it is cached already."""
    truth = path.with_name(path.name.removesuffix(".jsonl") + ".truth.jsonl")
    if path.exists() and truth.exists():
        return
    print(f"generating {path} ...", file=sys.stderr)
    cmd = [sys.executable, str(HERE / "gen_corpus.py"), "--docs", str(docs), "--seed",
           str(seed), "--dup-rate", str(dup_rate), "--out", str(path)]
    subprocess.run(cmd, check=True)


def load_truth(path: Path) -> Truth:
    """Read ``*.truth.jsonl`` and the corpus byte size of the texts."""
    truth_file = path.with_name(path.name.removesuffix(".jsonl") + ".truth.jsonl")
    ids: list[str] = []
    clusters: list[str] = []
    jac: list[float] = []
    with truth_file.open() as f:
        for line in f:
            rec = json.loads(line)
            ids.append(rec["id"])
            clusters.append(rec["cluster"])
            jac.append(rec.get("jaccard", float("nan")))
    pos = {d: i for i, d in enumerate(ids)}
    source = np.array([pos[c] for c in clusters], dtype=np.int64)
    text_bytes = 0
    with path.open("rb") as fb:
        for raw in fb:
            text_bytes += len(json.loads(raw)["text"].encode("utf-8"))
    return Truth(ids, source.copy(), source, np.array(jac, dtype=np.float64), text_bytes)


# --------------------------------------------------------------------------- scoring


def pair_count(counts: np.ndarray) -> int:
    """Number of unordered pairs inside groups of the given sizes."""
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


def pairwise_scores(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Pairwise precision/recall/F1 from the (truth, predicted) contingency counts."""
    _, t_idx = np.unique(truth, return_inverse=True)
    _, p_idx = np.unique(pred, return_inverse=True)
    joint = t_idx.astype(np.int64) * (int(p_idx.max()) + 1) + p_idx
    tp = pair_count(np.unique(joint, return_counts=True)[1])
    true_pairs = pair_count(np.bincount(t_idx))
    pred_pairs = pair_count(np.bincount(p_idx))
    p = tp / pred_pairs if pred_pairs else 1.0
    r = tp / true_pairs if true_pairs else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "true_pairs": true_pairs,
            "pred_pairs": pred_pairs, "tp_pairs": tp}


def copy_recall(truth: Truth, pred: np.ndarray) -> dict[str, float]:
    """Share of injected copies put with their source, split at true J = 0.8."""
    is_copy = ~np.isnan(truth.jaccard)
    hit = pred == pred[truth.source]
    out: dict[str, float] = {}
    for name, mask in (("copy_recall_ge_0.8", is_copy & (truth.jaccard >= 0.8)),
                       ("copy_recall_lt_0.8", is_copy & (truth.jaccard < 0.8))):
        out[name] = float(hit[mask].mean()) if mask.any() else float("nan")
    return out


def oracle_labels(truth: Truth, threshold: float = 0.8) -> np.ndarray:
    """Clusters a perfect tool at ``threshold`` would find from copy-source links alone."""
    linked = ~np.isnan(truth.jaccard) & (truth.jaccard >= threshold)
    return np.where(linked, truth.source, np.arange(len(truth.ids)))


def flag_scores(truth: Truth, flags: np.ndarray) -> dict[str, float]:
    """Doc-level P/R/F1 of duplicate flags; truth flag = in a cluster of size >= 2."""
    sizes = np.bincount(truth.cluster, minlength=len(truth.ids))
    want = sizes[truth.cluster] >= 2
    tp = int((flags & want).sum())
    p = tp / int(flags.sum()) if flags.any() else 1.0
    r = tp / int(want.sum()) if want.any() else 1.0
    return {"flag_precision": p, "flag_recall": r,
            "flag_f1": 2 * p * r / (p + r) if p + r else 0.0}


def score(truth: Truth, labels: np.ndarray | None, flags: np.ndarray | None) -> dict[str, float]:
    """All quality figures available for one tool's output."""
    if labels is not None:
        return {**pairwise_scores(truth.cluster, labels), **copy_recall(truth, labels)}
    if flags is not None:
        return flag_scores(truth, flags)
    return {}


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    """One tool's measured run."""

    tool: str
    status: str = "ok"
    wall_s: float = float("nan")
    peak_rss_mib: float = float("nan")
    docs_per_s: float = float("nan")
    mb_per_s: float = float("nan")
    scores: dict[str, float] = field(default_factory=dict)
    detail: dict[str, object] = field(default_factory=dict)


# Runs as ``python -S -I -c LAUNCHER RESULT CPUS CMD...``: a tiny (~8 MiB) process that
# forks, pins and execs the tool, then records the tool's own wall time and peak RSS.
# Measuring from run.py directly would floor every child's ru_maxrss at run.py's RSS,
# because Linux carries the pre-exec (forked) high-water mark into the child.
LAUNCHER = """
import os, sys, time
result, cpus, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        if cpus and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(result, "w") as f:
    f.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def child_env(threads: int) -> dict[str, str]:
    """Environment pinning every thread pool to ``threads`` threads."""
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = str(threads)
    env["PYTHONHASHSEED"] = "0"
    return env


def cpu_list(threads: int) -> str:
    """CPUs 0..threads-1 (as ``taskset -c`` would pin), or '' if pinning is unsupported."""
    if not hasattr(os, "sched_setaffinity"):
        return ""
    allowed = sorted(os.sched_getaffinity(0))
    return ",".join(str(c) for c in allowed[:threads])


def timed(cmd: list[str], threads: int) -> tuple[float, float, int, str, str]:
    """Run ``cmd`` pinned; return (wall s, peak RSS MiB, return code, stdout, stderr)."""
    with tempfile.NamedTemporaryFile("r", suffix=".rusage") as res:
        proc = subprocess.run([sys.executable, "-S", "-I", "-c", LAUNCHER, res.name,
                               cpu_list(threads), *cmd],
                              capture_output=True, env=child_env(threads), check=False)
        fields = Path(res.name).read_text().split()
    if len(fields) != 3:
        return (float("nan"), float("nan"), proc.returncode or 1, "",
                proc.stderr.decode(errors="replace"))
    wall, maxrss_kib, rc = float(fields[0]), int(fields[1]), int(fields[2])
    return (wall, maxrss_kib / 1024.0, rc, proc.stdout.decode(errors="replace"),
            proc.stderr.decode(errors="replace"))


def thresher_exe() -> str | None:
    """The ``thresher`` console script next to this interpreter, or on PATH."""
    local = Path(sys.executable).parent / "thresher"
    return str(local) if local.exists() else shutil.which("thresher")


def thresher_labels(outdir: Path, ids: list[str]) -> np.ndarray:
    """Cluster label per document from ``decisions.parquet`` (null -> singleton)."""
    import pyarrow.parquet as pq

    table = pq.read_table(outdir / "decisions.parquet", columns=["id", "cluster"])
    got = dict(zip(table.column("id").to_pylist(), table.column("cluster").to_pylist(),
                   strict=True))
    missing = [i for i in ids if i not in got]
    if missing:
        raise RuntimeError(f"{len(missing)} ids missing from decisions.parquet, e.g. {missing[0]}")
    raw = [got[i] for i in ids]
    labels = np.empty(len(ids), dtype=np.int64)
    base = max([c for c in raw if c is not None] + [0]) + 1
    for k, c in enumerate(raw):  # null or negative cluster: the document stands alone
        labels[k] = c if c is not None and c >= 0 else base + k
    return labels


def run_thresher(corpus: Path, truth: Truth, threads: int, extra: list[str],
                 work: Path) -> RunResult:
    """``thresher dedup CORPUS -o OUTDIR ... --quiet --json``, scored from its parquet."""
    exe = thresher_exe()
    if exe is None:
        return RunResult("thresher", status="skipped: `thresher` command not found")
    outdir = work / "thresher-out"
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [exe, "dedup", str(corpus), "-o", str(outdir), *extra, "--quiet", "--json"]
    wall, rss, rc, out, err = timed(cmd, threads)
    res = RunResult("thresher", wall_s=wall, peak_rss_mib=rss,
                    detail={"cmd": shlex.join(cmd)})
    if rc != 0:
        res.status = f"failed rc={rc}: {err.strip()[-400:]}"
        return res
    try:
        res.detail["summary"] = json.loads(out) if out.strip() else None
    except json.JSONDecodeError:
        res.detail["stdout"] = out[-2000:]
    res.scores = score(truth, thresher_labels(outdir, truth.ids), None)
    return res


def run_peer(name: str, corpus: Path, truth: Truth, threads: int, work: Path) -> RunResult:
    """``peers.py NAME CORPUS OUT.npz`` in a fresh pinned interpreter."""
    out_npz = work / f"{name}.npz"
    cmd = [sys.executable, str(HERE / "peers.py"), name, str(corpus), str(out_npz)]
    wall, rss, rc, out, err = timed(cmd, threads)
    res = RunResult(name, wall_s=wall, peak_rss_mib=rss)
    if rc != 0:
        res.status = f"failed rc={rc}: {err.strip()[-400:]}"
        return res
    res.detail = json.loads(out.strip().splitlines()[-1])
    with np.load(out_npz) as z:
        res.scores = score(truth, z.get("labels"), z.get("flags"))
    return res


# --------------------------------------------------------------------------- report


def fmt(x: float, spec: str) -> str:
    """Format a number, or '-' for nan."""
    return "-" if math.isnan(x) else format(x, spec)


def table(results: list[RunResult]) -> str:
    """Markdown table of the results (flag-only rows marked with a dagger)."""
    thr = next((r for r in results if r.tool == "thresher" and r.status == "ok"), None)
    head = ("| tool | wall s | docs/s | MB/s | peak RSS MiB | precision | recall | F1 "
            "| recall J>=0.8 | thresher speed-up |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        if r.status != "ok":
            lines.append(f"| {r.tool} | {r.status} |  |  |  |  |  |  |  |  |")
            continue
        s = r.scores
        if "flag_precision" in s:
            p, rec, f1 = (fmt(s[k], ".3f") + "†" for k in
                          ("flag_precision", "flag_recall", "flag_f1"))
        else:
            p, rec, f1 = (fmt(s.get(k, float("nan")), ".3f")
                          for k in ("precision", "recall", "f1"))
        ratio = "-" if thr is None else f"{thr.docs_per_s / r.docs_per_s:.2f}x"
        lines.append(
            f"| {r.tool} | {r.wall_s:.2f} | {r.docs_per_s:,.0f} | {r.mb_per_s:.2f} | "
            f"{r.peak_rss_mib:,.0f} | {p} | {rec} | {f1} | "
            f"{fmt(s.get('copy_recall_ge_0.8', float('nan')), '.3f')} | {ratio} |")
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """CPU model, core count and memory of this machine."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": model, "nproc": os.cpu_count(), "mem_gib": round(mem, 1),
            "python": platform.python_version()}


def versions() -> dict[str, str]:
    """Installed versions of the benchmarked packages."""
    from importlib import metadata

    out = {}
    for pkg in ("thresher", "datasketch", "rensa", "numpy", "xxhash"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    git = ["git", "-C", str(HERE.parent)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=False).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "src"], capture_output=True,
                           text=True, check=False).stdout.strip()
    out["thresher_git"] = (head or "unknown") + ("+dirty-src" if dirty else "")
    return out


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dup-rate", type=float, default=0.2)
    ap.add_argument("--peers", default=DEFAULT_PEERS,
                    help=f"comma list; known: thresher,{','.join(peer_names())}")
    ap.add_argument("--threads", type=int, default=1, help="CPUs/threads per tool")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per tool; the table shows the median wall time")
    ap.add_argument("--thresher-args", default="--executor serial",
                    help="extra arguments for `thresher dedup`")
    ap.add_argument("--cache", type=Path, default=HERE / ".cache")
    ap.add_argument("--json", type=Path, help="also write the results here")
    return ap.parse_args(argv)


def peer_names() -> list[str]:
    """Peers known to ``peers.py`` (imported lazily: it pulls in numpy only)."""
    sys.path.insert(0, str(HERE))
    from peers import PEERS

    return list(PEERS)


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the corpus, run every tool, print and save the table."""
    args = parse_args(argv)
    tools = [t.strip() for t in args.peers.split(",") if t.strip()]
    unknown = set(tools) - {"thresher", *peer_names()}
    if unknown:
        raise SystemExit(f"unknown tools: {sorted(unknown)}")
    corpus = corpus_path(args.cache, args.docs, args.seed, args.dup_rate)
    args.cache.mkdir(parents=True, exist_ok=True)
    ensure_corpus(corpus, args.docs, args.seed, args.dup_rate)
    truth = load_truth(corpus)
    n, mb = len(truth.ids), truth.text_bytes / 1e6
    results: list[RunResult] = []
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        for tool in tools:
            print(f"running {tool} ...", file=sys.stderr, flush=True)
            runs = []
            for _ in range(args.repeat):
                if tool == "thresher":
                    res = run_thresher(corpus, truth, args.threads,
                                       shlex.split(args.thresher_args), Path(tmp))
                else:
                    res = run_peer(tool, corpus, truth, args.threads, Path(tmp))
                runs.append(res)
                if res.status != "ok":
                    break
            if res.status == "ok" and len(runs) > 1:  # median wall, worst peak RSS
                walls = [r.wall_s for r in runs]
                res.detail["walls_s"] = walls
                res.wall_s = float(np.median(walls))
                res.peak_rss_mib = max(r.peak_rss_mib for r in runs)
            if res.status == "ok":
                res.docs_per_s, res.mb_per_s = n / res.wall_s, mb / res.wall_s
            else:
                print(f"  {tool}: {res.status}", file=sys.stderr)
            results.append(res)
    print(f"\ncorpus: {corpus} ({n:,} docs, {mb:.1f} MB of text, "
          f"{int(np.isnan(truth.jaccard).sum()):,} originals); threads={args.threads}, "
          f"repeat={args.repeat}\n")
    print(table(results))
    oracle = pairwise_scores(truth.cluster, oracle_labels(truth))
    print(f"\nceiling at J>=0.8 (exact copy-source links only): precision "
          f"{oracle['precision']:.3f}, recall {oracle['recall']:.3f}, F1 {oracle['f1']:.3f}")
    if any("flag_precision" in r.scores for r in results):
        print("† flags-only output: doc-level duplicate-flag P/R/F1, not pairwise")
    if args.json:
        payload = {"docs": n, "seed": args.seed, "dup_rate": args.dup_rate,
                   "repeat": args.repeat, "text_mb": mb, "threads": args.threads,
                   "corpus": str(corpus),
                   "machine": machine(), "versions": versions(), "oracle_0.8": oracle,
                   "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

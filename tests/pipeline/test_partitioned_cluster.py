"""Clustering cut into components and buckets gives the single-graph clustering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from thresher.core.cluster import cluster_nodes
from thresher.pipeline.stages import cluster as clusters
from thresher.pipeline.stages import keys
from thresher.pipeline.workdir import WorkDir


def _components(n: int, pairs: list[tuple[int, int]]) -> dict[int, int]:
    """Smallest member of each node's component, by breadth-first search."""
    nbr: dict[int, list[int]] = {}
    for a, b in pairs:
        nbr.setdefault(a, []).append(b)
        nbr.setdefault(b, []).append(a)
    out: dict[int, int] = {}
    for start in sorted(nbr):
        if start in out:
            continue
        seen, todo = {start}, [start]
        while todo:
            x = todo.pop()
            for y in nbr[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        low = min(seen)
        out.update(dict.fromkeys(seen, low))
    return out


edges = st.lists(st.tuples(st.integers(0, 59), st.integers(0, 59)), max_size=150)


@settings(max_examples=60, deadline=None)
@given(edges, st.integers(1, 4), st.randoms(use_true_random=False), st.booleans())
def test_buckets_give_the_single_graph_clusters(pairs: list[tuple[int, int]], chunks: int,
                                                rnd: object, keep: bool) -> None:
    """With a --keep policy's priority (ties among them) too."""
    import tempfile

    pairs = sorted({(min(a, b), max(a, b)) for a, b in pairs if a != b})
    n = 60
    perm = list(range(n))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    rank = np.array(perm, dtype=np.int64)
    sims = np.array([0.8 + 0.2 * ((a * 7 + b) % 11) / 11 for a, b in pairs])
    # containment matches go one way or both (never neither): 1, 2 or 3
    ways = np.array([1 + (a * 5 + b * 3) % 3 for a, b in pairs], dtype=np.uint8)
    first = np.array([rnd.randrange(6) for _ in range(n)]) if keep else None  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory() as tmp:
        work = WorkDir(Path(tmp))
        work.save("index", "rank", rank)
        if first is not None:
            work.save("index", "priority", first)
        cut = np.array_split(np.arange(len(pairs)), chunks)
        for c, part in enumerate(cut):
            e = np.array([pairs[i] for i in part], dtype=np.int64).reshape(-1, 2)
            work.save("cluster", f"edges-{c:05d}", e)
            work.save("cluster", f"esim-{c:05d}", sims[part])
            work.save("cluster", f"econt-{c:05d}", np.ones(part.shape[0]))
            work.save("cluster", f"ewhy-{c:05d}", np.zeros(part.shape[0], dtype=np.uint8))
            work.save("cluster", f"eway-{c:05d}", ways[part])
        stats = clusters.component_labels(work, chunks)
        labels = dict(zip(work.load("cluster", "nodes").tolist(),
                          work.load("cluster", "labels").tolist(), strict=True))
        assert labels == _components(n, pairs)
        assert stats.components == len(set(labels.values()))
        for b in range(clusters.CLUSTER_BUCKETS):
            clusters.bucket_task(clusters.BucketTask(work=str(tmp), chunks=chunks, bucket=b,
                                                     priority=keep))
        got = {}
        for b in range(clusters.CLUSTER_BUCKETS):
            doc = work.load("cluster", f"bucket-{b:03d}-doc")
            rep = work.load("cluster", f"bucket-{b:03d}-rep")
            sim = work.load("cluster", f"bucket-{b:03d}-sim")
            got.update(zip(doc.tolist(), zip(rep.tolist(), sim.tolist(), strict=True),
                           strict=True))
    u = np.array([a for a, _ in pairs], dtype=np.int64)
    v = np.array([b for _, b in pairs], dtype=np.int64)
    nodes, rep, rep_sim = cluster_nodes(rank, u, v, sim=sims, fwd=(ways & 1) != 0,
                                        bwd=(ways & 2) != 0, priority=first)
    want = {d: (r, s) for d, r, s in zip(nodes.tolist(), rep.tolist(), rep_sim.tolist(),
                                         strict=True) if d != r}
    assert got == want


def test_band_keys_cut_into_ranges_give_the_same_results(tmp_path: Path,
                                                          monkeypatch: object) -> None:
    import thresher
    from tests.pipeline.corpus import make_corpus
    from tests.pipeline.test_dedup import _outputs

    corpus = make_corpus(tmp_path / "c", files=2, per_file=150, seed=3)
    one = thresher.dedup(inputs=[corpus], output=tmp_path / "one", executor="serial")
    monkeypatch.setattr(keys, "PART_BUDGET", 2_000)
    assert keys.lsh_parts(300, 32) > 100
    many = thresher.dedup(inputs=[corpus], output=tmp_path / "many", executor="serial")
    assert one["duplicates"]["near"] > 0 and many["lsh"] == one["lsh"]
    assert _outputs(tmp_path / "one") == _outputs(tmp_path / "many")

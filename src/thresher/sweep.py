"""``thresher sweep``: what other thresholds would do, read from one finished run.

Verification computes the true similarity of every candidate, and a run keeps the pairs
it judged (``pairs.parquet``, written by ``thresher.pipeline.stages.pairs``). For each
threshold the sweep judges them again by the run's rule with that threshold
(``MatchRule.decide`` and ``ways_of`` in ``thresher.core.rule``) and clusters the
matches again (``thresher.core.cluster.cluster_nodes``: the same order and tie-breaks), so its counts are those of a run at that threshold that seeks
the same candidates: the same bands and rows. Each outcome says whether a rerun must
be given them (``pin``). Thresholds below the plan's candidate threshold are beyond
what LSH looked for: they are listed, not predicted.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from thresher.config import Config, ContentConfig, InputConfig, MinHashConfig, config_from_mapping
from thresher.errors import ConfigError
from thresher.pipeline.plan import MatchPlan, match_plan

__all__ = ["Outcome", "SampledPair", "Sweep", "sweep", "sweep_data"]


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What a run at ``threshold`` gives (with the run's candidates).

    Attributes:
        threshold: The threshold swept.
        duplicates: Documents that would be removed as duplicates.
        clusters: Clusters with duplicates.
        largest: Documents in the largest cluster (1 when none has duplicates).
        pin: Whether a rerun must be given the run's ``--bands`` and ``--rows`` to seek
            the same candidates.
    """

    threshold: float
    duplicates: int
    clusters: int  # clusters with duplicates
    largest: int  # documents in the largest cluster (1 when none has duplicates)
    pin: bool  # a rerun must be given the run's --bands and --rows to seek its candidates


@dataclass(frozen=True, kw_only=True)
class SampledPair:
    """A verified pair drawn from a similarity band, with the thresholds it matches at.

    Attributes:
        a: Record number of one document: its row of ``decisions.parquet``.
        b: That of the other.
        similarity: Their Jaccard similarity.
        containment: The share of the smaller one's shingles found in the other.
        match: The run's verdict on the pair (``None``: no match).
        matched_at: The swept thresholds at which the rule matches it.
    """

    a: int  # record numbers: rows of decisions.parquet
    b: int
    similarity: float
    containment: float
    match: str | None  # the run's verdict
    matched_at: tuple[float, ...]  # the swept thresholds at which the rule matches it


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """One run's outcomes over thresholds, and pairs sampled per similarity band.

    Attributes:
        run: The run's output folder.
        plan: The plan the run followed.
        outcomes: One per threshold swept, from the candidate threshold up.
        below: Thresholds of the grid below the candidate threshold: listed, not
            predicted.
        inputs: The run's inputs.
        options: The run's options that differ from the defaults.
        samples: Pairs drawn per similarity band, by the band's lower edge.
        in_band: Verified pairs per band, by its lower edge.
        band_width: The width of each band.
    """

    run: Path
    plan: MatchPlan  # the plan the run followed
    outcomes: tuple[Outcome, ...]
    below: tuple[float, ...]  # thresholds of the grid below the candidate threshold
    inputs: tuple[str, ...]
    options: dict[str, Any]  # the run's options that differ from the defaults
    samples: dict[float, tuple[SampledPair, ...]]  # by the band's lower edge
    in_band: dict[float, int]  # verified pairs per band, by its lower edge
    band_width: float


@dataclass(frozen=True, kw_only=True)
class _Judged:
    """The run's verified candidates and exact copies, and what the rule and the
    clustering read of each record."""

    a: NDArray[np.int64]
    b: NDArray[np.int64]
    sim: NDArray[np.float64]
    cont: NDArray[np.float64]
    shared: NDArray[np.int64]
    match: list[str | None]
    keys: dict[str, tuple[NDArray[np.uint64], NDArray[np.uint64]]]
    copy: NDArray[np.int64]  # exact copies, and the leader each follows
    leader: NDArray[np.int64]
    rank: NDArray[np.int64]  # per record
    size: NDArray[np.int64]  # per record: content characters (0 without content spans)


def sweep(run_dir: str | Path, *, step: float = 0.05, pairs_per_band: int = 4,
          band_width: float = 0.1, seed: int = 0) -> Sweep:
    """Return what thresholds from the run's candidate threshold up to 1 would give.

    Args:
        run_dir: A finished run's output folder (it must hold ``pairs.parquet``).
        step: Thresholds every ``step``, and the run's own.
        pairs_per_band: Verified pairs drawn from each similarity band.
        band_width: The width of those bands.
        seed: Seed of the draw.

    Returns:
        The outcomes and the sampled pairs.

    Raises:
        ConfigError: ``step`` or ``band_width`` out of range, or ``run_dir`` is not a
            finished run with ``pairs.parquet`` (nor one against a persistent index).
    """
    if not 0.0 < step <= 0.5 or not 0.0 < band_width <= 1.0:
        raise ConfigError(f"--step must be in (0, 0.5] and the band width in (0, 1], got "
                          f"{step} and {band_width}")
    run = Path(run_dir)
    summary, judged = _load(run)
    plan = match_plan(_config(summary, summary["config"]["minhash"]["threshold"]))
    grid = _grid(step, plan.candidate_threshold, plan.threshold)
    outcomes, hits = [], []
    for t in (x for x in grid if x >= plan.candidate_threshold):
        at = match_plan(_config(summary, t))
        hit, counts = _outcome(judged, at)
        duplicates, clusters, largest = counts
        outcomes.append(Outcome(threshold=t, duplicates=duplicates, clusters=clusters,
                                largest=largest, pin=not plan.chosen or (
                                    at.bands, at.rows) != (plan.bands, plan.rows)))
        hits.append(hit)
    samples, in_band = _samples(judged, outcomes, hits, low=plan.candidate_threshold,
                                width=band_width, k=pairs_per_band, seed=seed)
    return Sweep(run=run, plan=plan, outcomes=tuple(outcomes),
                 below=tuple(x for x in grid if x < plan.candidate_threshold),
                 inputs=tuple(summary.get("run", {}).get("inputs") or summary["config"][
                     "input"]["paths"]), options=_changed(summary["config"]),
                 samples=samples, in_band=in_band, band_width=band_width)


def _load(run: Path) -> tuple[dict[str, Any], _Judged]:
    """The run's summary, and its pairs and records as the sweep reads them."""
    import pyarrow.parquet as pq

    from thresher.pipeline.stages.index import record_ranks
    from thresher.pipeline.stages.pairs import KEYS

    try:
        summary = json.loads((run / "summary.json").read_text())
        decisions = pq.read_table(run / "decisions.parquet")
    except FileNotFoundError as exc:
        raise ConfigError(f"{run} is not a finished thresher run: {exc.filename} is "
                          "missing") from None
    if "index" in summary:
        raise ConfigError(f"{run} is a run against a persistent index: its matches with "
                          "indexed documents are not among its pairs, so it cannot be swept")
    if not (run / "pairs.parquet").exists():
        raise ConfigError(f"{run} has no pairs.parquet (it was written by an older "
                          "thresher): run dedup again to sweep it")
    pairs = pq.read_table(run / "pairs.parquet")
    exact = np.asarray(pairs["match"].to_numpy(zero_copy_only=False) == "exact")
    cand = pairs.filter(~exact)

    def col(table: Any, name: str, dtype: type[Any]) -> NDArray[Any]:
        return np.asarray(table[name].to_numpy(), dtype=dtype)

    keys = {part: (col(cand, f"{part}_a", np.uint64), col(cand, f"{part}_b", np.uint64))
            for part in KEYS if f"{part}_a" in cand.column_names}
    size = np.zeros(decisions.num_rows, dtype=np.int64)
    if "content_start" in decisions.column_names:
        ends = decisions["content_end"].fill_null(0).to_numpy()
        size = np.asarray(ends - decisions["content_start"].fill_null(0).to_numpy(), np.int64)
    copies = pairs.filter(exact)
    return summary, _Judged(
        a=col(cand, "a", np.int64), b=col(cand, "b", np.int64),
        sim=col(cand, "similarity", np.float64), cont=col(cand, "containment", np.float64),
        shared=col(cand, "shared", np.int64), match=cand["match"].to_pylist(), keys=keys,
        copy=col(copies, "a", np.int64), leader=col(copies, "b", np.int64),
        rank=record_ranks(decisions.select(["id", "length"])), size=size)


def _config(summary: dict[str, Any], threshold: float) -> Config:
    """The run's config (as its summary records it) with another threshold."""
    cfg = summary["config"]
    return config_from_mapping({
        "input": cfg["input"], "content": cfg["content"],
        "minhash": {**cfg["minhash"], "threshold": threshold},
        "output": {"directory": ".", "format": cfg["format"]}})


def _grid(step: float, low: float, own: float) -> list[float]:
    """Every multiple of ``step`` in (0, 1], with the candidate threshold and the run's."""
    grid = {round(k * step, 4) for k in range(1, int(1 / step + 1e-9) + 1)}
    return sorted(x for x in grid | {low, own, 1.0} if 0.0 < x <= 1.0)


def _outcome(j: _Judged, plan: MatchPlan) -> tuple[NDArray[np.bool_], tuple[int, int, int]]:
    """Which pairs match at the plan's threshold, and the duplicates, clusters with
    duplicates and largest cluster that follow."""
    from thresher.core.cluster import cluster_nodes
    from thresher.core.rule import WAY_BWD, WAY_FWD, ways_of
    from thresher.pipeline.dedup import match_rule

    rule = match_rule(plan)
    hit, why = rule.decide(j.sim, j.cont, j.shared, sites=j.keys.get("site"),
                           titles=j.keys.get("title"), pages=j.keys.get("page"))
    u, v = j.a[hit], j.b[hit]
    way = ways_of(why[hit], j.size[u], j.size[v])
    members, rep, _ = cluster_nodes(j.rank, u, v, sim=j.sim[hit], fwd=(way & WAY_FWD) != 0,
                                    bwd=(way & WAY_BWD) != 0)
    # An exact copy follows its leader, to the leader's representative (as the run does).
    final = np.arange(j.rank.shape[0], dtype=np.int64)
    final[members] = rep
    final[j.copy] = final[j.leader]
    dup = np.concatenate((members[rep != members], j.copy))
    sizes = np.unique(final[dup], return_counts=True)[1] + 1
    return hit, (int(dup.shape[0]), int(sizes.shape[0]),
                 int(sizes.max()) if sizes.shape[0] else 1)


def _samples(j: _Judged, outcomes: list[Outcome], hits: list[NDArray[np.bool_]], *,
             low: float, width: float, k: int, seed: int
             ) -> tuple[dict[float, tuple[SampledPair, ...]], dict[float, int]]:
    """``k`` verified pairs drawn (seeded) from each similarity band from ``low`` on, and
    how many each band holds."""
    rng = np.random.default_rng(seed)
    out: dict[float, tuple[SampledPair, ...]] = {}
    counts: dict[float, int] = {}
    edge = round(np.floor(low / width + 1e-9) * width, 4)
    while edge < 1.0:
        top = round(edge + width, 4)
        inside = np.flatnonzero((j.sim >= edge) & ((j.sim < top) | (top >= 1.0)))
        picked = np.sort(rng.choice(inside, min(k, inside.shape[0]), replace=False))
        out[edge] = tuple(SampledPair(
            a=int(j.a[i]), b=int(j.b[i]), similarity=float(j.sim[i]),
            containment=float(j.cont[i]), match=j.match[i],
            matched_at=tuple(o.threshold for o, hit in zip(outcomes, hits, strict=True)
                             if hit[i]))
            for i in picked.tolist())
        counts[edge] = int(inside.shape[0])
        edge = top
    return out, counts


# Set per rerun, or not options of a run.
_PER_RERUN = {"paths", "threshold", "bands", "rows"}


def _changed(cfg: dict[str, Any]) -> dict[str, Any]:
    """The run's options that shape results and differ from the defaults, by option name."""
    out: dict[str, Any] = {}
    for section, cls in (("input", InputConfig), ("minhash", MinHashConfig),
                         ("content", ContentConfig)):
        for f in dataclasses.fields(cls):
            value = cfg[section].get(f.name, f.default)
            if f.name not in _PER_RERUN and value != f.default:
                out[f.name] = value
    if cfg.get("format", "input") != "input":
        out["output_format"] = cfg["format"]
    return out


def sweep_data(s: Sweep) -> dict[str, Any]:
    """The sweep as plain JSON-able data (``thresher sweep --json``)."""
    return {
        "run": str(s.run), "match": s.plan.match, "threshold": s.plan.threshold,
        "candidate_threshold": s.plan.candidate_threshold, "bands": s.plan.bands,
        "rows": s.plan.rows, "below_reach": list(s.below), "inputs": list(s.inputs),
        "options": s.options,
        "thresholds": [dataclasses.asdict(o) for o in s.outcomes],
        "bands_of_similarity": [
            {"from": edge, "to": min(round(edge + s.band_width, 4), 1.0),
             "pairs": s.in_band[edge], "sampled": [dataclasses.asdict(p) for p in pairs]}
            for edge, pairs in s.samples.items()],
    }

"""What a run does to find and accept duplicates, computed once from its config.

``thresher plan`` prints it, a run follows it and records it in ``summary.json``: both
call ``match_plan``, so the plan shown is the plan run. It imports neither numba
nor pyarrow (``thresher.plan`` stays light).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from thresher.config import Config
from thresher.core.plan import LshPlan, choose_bands, plan_for

__all__ = ["CONTENT_CANDIDATES", "CURVE", "MatchPlan", "match_plan", "plan_data"]

CONTENT_CANDIDATES = 0.3  # content matching: LSH finds pairs from this Jaccard on
CURVE = tuple(round(k * 0.05, 2) for k in range(21))  # similarities the plan's curve is given at


@dataclass(frozen=True, kw_only=True)
class MatchPlan:
    """The candidates a run seeks (LSH) and the rule each verified candidate is judged by.

    ``containment`` and what follows are ``None`` when the rule does not use them
    (matching on the whole text uses Jaccard only; ``--no-titles`` drops the titles).

    Attributes:
        match: ``content`` or ``full``: what documents are compared on.
        threshold: Jaccard similarity from which a verified pair is a near-duplicate.
        lsh: The bands and rows; its threshold is the candidate threshold.
        num_perm: MinHash signature length.
        chosen: Whether bands and rows were chosen from the candidate threshold (not given).
        fn_weight: Weight of missed duplicates against false candidates in that choice.
        extra_bands: One LSH band each beside the sketch's: ``title``, ``page``.
        containment: Share of the smaller document's shingles in the other that makes
            a partial duplicate (pages of different sites).
        site_containment: The same between two pages of one site.
        title_containment: The same between two pages of one site under one title.
        min_shared: Distinct shingles a partial or title match must share at least.
    """

    match: str
    threshold: float
    lsh: LshPlan  # its threshold is the candidate threshold
    num_perm: int
    chosen: bool  # bands and rows chosen from the candidate threshold, not given
    fn_weight: float
    extra_bands: tuple[str, ...]  # one LSH band each, beside the sketch's: title, page
    containment: float | None = None
    site_containment: float | None = None
    title_containment: float | None = None
    min_shared: int = 1

    @property
    def candidate_threshold(self) -> float:
        """The Jaccard similarity from which LSH is meant to find pairs."""
        return self.lsh.threshold

    @property
    def bands(self) -> int:
        """LSH bands of the sketch (``lsh.bands``)."""
        return self.lsh.bands

    @property
    def rows(self) -> int:
        """Signature rows per band (``lsh.rows``)."""
        return self.lsh.rows

    def at(self, s: float) -> float:
        """Return the probability that a pair of Jaccard ``s`` becomes a candidate by its
        sketches (the extra bands aside)."""
        return self.lsh.at(s)


def match_plan(config: Config) -> MatchPlan:
    """Return the plan a run with ``config`` follows.

    Matching on content also accepts partial duplicates (containment), whose Jaccard is
    lower than their containment: candidates are then sought from ``CONTENT_CANDIDATES``
    (or the threshold, if lower). Given ``bands`` and ``rows`` are used as they are.

    Examples:
        >>> from thresher.config import config_from_mapping
        >>> cfg = config_from_mapping({"inputs": ["x"], "output": "o", "match": "full"})
        >>> p = match_plan(cfg)
        >>> (p.candidate_threshold, p.bands, p.rows, p.extra_bands)
        (0.8, 14, 9, ())
    """
    mh, c = config.minhash, config.content
    content = c.match == "content"
    target = min(mh.threshold, CONTENT_CANDIDATES) if content else mh.threshold
    if mh.bands is not None and mh.rows is not None:
        lsh = plan_for(target, mh.bands, mh.rows)
    else:
        lsh = choose_bands(target, mh.num_perm, fn_weight=mh.fn_weight)
    titles = content and c.titles
    return MatchPlan(
        match=c.match, threshold=mh.threshold, lsh=lsh, num_perm=mh.num_perm,
        chosen=mh.bands is None,
        fn_weight=mh.fn_weight,
        extra_bands=("title",) * titles + ("page",) * content,
        containment=c.containment if content else None,
        site_containment=c.site_containment if content else None,
        title_containment=c.title_containment if titles else None,
        min_shared=c.min_shared if content else 1)


def plan_data(plan: MatchPlan) -> dict[str, Any]:
    """The plan as plain JSON-able data: what ``thresher plan --json`` prints and a run
    records as ``summary.json``'s ``plan``."""
    rule: dict[str, Any] = {"near": {"jaccard": plan.threshold}}
    if plan.containment is not None:
        rule["partial"] = {"containment": plan.containment,
                           "site_containment": plan.site_containment,
                           "min_shared": plan.min_shared}
    if plan.title_containment is not None:
        rule["title"] = {"containment": plan.title_containment}
    return {
        "match": plan.match, "threshold": plan.threshold,
        "candidate_threshold": plan.candidate_threshold, "num_perm": plan.num_perm,
        "bands": plan.bands, "rows": plan.rows, "chosen": plan.chosen,
        "fn_weight": plan.fn_weight,
        "false_positive_area": plan.lsh.false_positive_area,
        "false_negative_area": plan.lsh.false_negative_area,
        "extra_bands": list(plan.extra_bands),
        "curve": {f"{s:g}": plan.at(s) for s in CURVE},
        "verification": rule,
    }

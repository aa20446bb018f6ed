"""The report's plots: matplotlib figures, as inline SVG."""

from __future__ import annotations

import io
import math
from collections import Counter
from typing import Any

from thresher.errors import ConfigError

__all__ = ["plots_of", "svg_of"]


def svg_of(fig: Any) -> str:
    """A matplotlib figure as inline SVG, without a date (the page is reproducible)."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def plots_of(summary: dict[str, Any], sizes: list[int], sites: list[tuple[str, float, int]]
             ) -> dict[str, str]:
    """The page's plots as SVG, by name: cluster sizes, verified candidates, the LSH
    curve and, when ``sites`` are given, boilerplate per site."""
    try:
        import matplotlib
    except ImportError:
        raise ConfigError("the report's plots need matplotlib: pip install "
                          "'thresher[report]'") from None
    matplotlib.use("Agg")
    matplotlib.rcParams.update({"svg.hashsalt": "thresher", "svg.fonttype": "none",
                                "font.size": 9})
    import matplotlib.pyplot as plt

    plots = {"sizes": _sizes(plt, sizes), "similarity": _similarity(plt, summary),
             "lsh": _lsh(plt, summary)}
    if sites:
        plots["sites"] = _sites(plt, sites)
    return plots


def _sizes(plt: Any, sizes: list[int]) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    if sizes and max(sizes) <= 40:
        count = Counter(sizes)
        ax.bar(list(count), list(count.values()), width=0.8, color="#4c72b0")
        ax.set_xticks(sorted(count))
        ax.set_yscale("log")
        _plain_counts(ax.yaxis, max(count.values()))
    elif sizes:
        top = max(sizes)
        edges = sorted({round(2 * (top / 2) ** (k / 30)) for k in range(31)} | {top + 1})
        heights, _, _ = ax.hist(sizes, bins=edges, color="#4c72b0")
        ax.set_yscale("log")
        ax.set_xscale("log")
        _plain_counts(ax.yaxis, max(heights))
        _plain_counts(ax.xaxis, top)
    ax.set_xlabel("documents in the cluster")
    ax.set_ylabel("clusters")
    ax.set_title("Cluster sizes")
    return svg_of(fig)


def _plain_counts(axis: Any, top: float) -> None:
    """Label a log axis of counts 1, 2, 5, 10, 20 ... up to ``top``: matplotlib's own
    labels read 2×10^0, 3×10^0 over a short range. Over more than three decades, the
    powers of ten only, lest the labels crowd."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    steps = (1, 2, 5) if top <= 1000 else (1,)
    ticks = [m * 10 ** k for k in range(len(str(int(top))) + 1) for m in steps]
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axis.set_minor_formatter(NullFormatter())


def _similarity(plt: Any, summary: dict[str, Any]) -> str:
    sim = summary.get("lsh", {}).get("similarity", {})
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    acc, rej = sim.get("accepted", []), sim.get("rejected", [])
    if not any(acc) and not any(rej):
        ax.text(0.5, 0.5, "no candidate pair was verified\n(exact copies need none)",
                ha="center", va="center", transform=ax.transAxes, color="#555")
    else:
        width = 1.0 / max(len(acc), len(rej), 1)
        xs = [i * width for i in range(max(len(acc), len(rej)))]
        ax.bar(xs, rej or [0] * len(xs), width=width, align="edge", color="#c44e52",
               label="not matched")
        ax.bar(xs, acc or [0] * len(xs), width=width, align="edge", color="#55a868",
               bottom=rej or None, label="matched")
        ax.legend(frameon=False)
    ax.set_xlabel("Jaccard similarity of the verified candidate")
    ax.set_ylabel("pairs")
    ax.set_title("Verified candidates")
    return svg_of(fig)


def _lsh(plt: Any, summary: dict[str, Any]) -> str:
    lsh = summary.get("lsh", {})
    fig, ax = plt.subplots(figsize=(4.6, 2.8))
    b, r = int(lsh.get("bands", 1)), int(lsh.get("rows", 1))
    xs = [i / 200 for i in range(201)]
    ax.plot(xs, [1 - (1 - s ** r) ** b for s in xs], color="#4c72b0",
            label=f"{b} bands x {r} rows")
    threshold = summary["config"]["minhash"]["threshold"]
    ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold:g}")
    cand = lsh.get("candidate_threshold")
    if cand is not None and not math.isclose(cand, threshold):
        ax.axvline(cand, color="#8172b2", linestyle=":", label=f"candidates from {cand:g}")
    ax.set_xlabel("Jaccard similarity")
    ax.set_ylabel("probability of being a candidate")
    ax.set_title("LSH detection curve")
    ax.legend(frameon=False, loc="lower right")
    return svg_of(fig)


def _sites(plt: Any, sites: list[tuple[str, float, int]]) -> str:
    fig, ax = plt.subplots(figsize=(4.6, 0.25 * len(sites) + 0.8))
    names = [s for s, _, _ in sites][::-1]
    ax.barh(names, [100 * v for _, v, _ in sites][::-1], color="#dd8452")
    ax.set_xlabel("share of the text removed as boilerplate (%)")
    ax.set_title(f"Boilerplate per site (the {len(sites)} largest sites)")
    return svg_of(fig)

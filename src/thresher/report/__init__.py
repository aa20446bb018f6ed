"""``thresher report``: one self-contained HTML page about a run.

Everything is inline (plots as SVG from matplotlib, styles, a little script): the page
opens without a network. It is built from the run's outputs (``summary.json``,
``decisions.parquet``, ``boilerplate.parquet`` when the run stripped boilerplate) and,
for the side-by-side views, the texts of the shown clusters' documents, read again from
the run's inputs.

A run of millions of documents stays readable: the page lists the ``clusters`` largest
clusters and a seeded random sample of ``sample`` others, shows side by side only as
many of them as ``text_budget`` characters of text allow (largest first), and says so.

The modules: ``runs`` computes from the run's outputs, ``compare`` marks two documents
side by side, ``plots`` draws, ``page`` puts the page together (its styles and script
are the files of ``assets/``).
"""

from __future__ import annotations

from thresher.report.page import write_report

__all__ = ["write_report"]

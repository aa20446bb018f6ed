"""The dedup plan: which stages a run runs, in order, and the tasks of each.

Each stage's tasks are built from the results of the stages before it (``done``, by
stage name); ``run.py`` walks the list. An extension's stages (the index's probe) come
right after ``index``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from thresher.core.rule import MatchRule
from thresher.errors import InputError
from thresher.io.records import Fields
from thresher.io.remote import is_remote, local_copy
from thresher.io.sources import Shard
from thresher.pipeline import match
from thresher.pipeline.chrome import PARTITIONS
from thresher.pipeline.counts import (
    ArticleCounts,
    BucketCounts,
    ClusterCounts,
    ComponentCounts,
    ContentCounts,
    EdgeCounts,
    GroupCounts,
    IndexCounts,
    KeyCounts,
    MergeCounts,
    PairCounts,
    ReadCounts,
    TemplateCounts,
)
from thresher.pipeline.graph import (
    Context,
    Extension,
    Results,
    Stage,
    artifact,
    numbered,
    shard_key,
)
from thresher.pipeline.read import fields_of, missing_fields, read_stage_task
from thresher.pipeline.stages import (
    annotate,
    articles,
    cluster,
    content,
    edges,
    index,
    keys,
    lsh,
    template,
    verify,
)
from thresher.pipeline.workdir import WorkDir

__all__ = ["dedup_plan", "match_rule"]


def match_rule(plan: Any) -> MatchRule:
    """When a verified pair is a match, by the plan: Jaccard, and matching on content
    containment (across sites, within a site, under one title) too."""
    return MatchRule(threshold=plan.threshold, containment=plan.containment,
                     min_shared=plan.min_shared, site_containment=plan.site_containment,
                     title_containment=plan.title_containment)


def dedup_plan(ctx: Context, extension: Extension | None) -> list[Stage]:
    """The stages from reading to collecting clusters (the write stage follows)."""
    stages = [*_read_stages(ctx, extension), *_index_stages(ctx)]
    if extension is not None:
        stages += extension.stages(ctx)
    return [*stages, *_match_stages(ctx), *_cluster_stages(ctx, extension)]


def _read_stages(ctx: Context, extension: Extension | None) -> list[Stage]:
    cfg, work, n = ctx.config, ctx.work, ctx.n
    root = str(work.root)
    on_content = ctx.src == "content"
    sites = None if extension is None else extension.site_stats()
    return [
        Stage(name="read", task=read_stage_task, counts=ReadCounts,
              tasks=lambda _: [(shard_key(t.shard.index), t) for t in ctx.reads],
              check=lambda stats: _check_read(ctx, stats)),
        Stage(name="articles", task=articles.article_task, counts=ArticleCounts, scope="part",
              inputs=("read",), when=on_content, tasks=lambda _: [(f"part-{p:02d}", articles.ArticleTask(
                  work=root, n_shards=n, part=p)) for p in range(articles.PARTS)]),
        Stage(name="template", task=template.template_task, counts=TemplateCounts,
              scope="part", inputs=("read", "articles"),
              when=on_content, tasks=lambda _: [(f"part-{p:02d}", template.TemplateTask(
                  work=root, n_shards=n, part=p)) for p in range(PARTITIONS)]),
        Stage(name="groups", task=lambda _: template.count_groups(work, n), counts=GroupCounts,
              scope="global", inputs=("read", "articles"), when=on_content),
        Stage(name="content", task=content.content_task, counts=ContentCounts,
              inputs=("read", "template", "groups"),
              when=on_content, tasks=lambda _: [(shard_key(t.shard.index), content.ContentTask(
                  read=t, strip=cfg.content.strip_boilerplate, sites=sites)) for t in ctx.reads]),
    ]


def _index_stages(ctx: Context) -> list[Stage]:
    cfg, work, n = ctx.config, ctx.work, ctx.n
    def check(index: object) -> None:
        if cfg.run.strict and IndexCounts.of(index).repeated_ids:
            _raise_repeated_id(work, n)

    return [Stage(name="index", scope="global", inputs=(ctx.src,), check=check,
                  counts=IndexCounts, task=lambda _: (
        index.build_index(work, n, ctx.src, threads=min(ctx.workers, 2),
                          keep=cfg.cluster.keep)))]


def _match_stages(ctx: Context) -> list[Stage]:
    mh, plan, n = ctx.config.minhash, ctx.matching.lsh, ctx.n
    root = str(ctx.work.root)
    columns = plan.bands * plan.rows
    titles = "title" in ctx.matching.extra_bands
    pages = "page" in ctx.matching.extra_bands
    bands = plan.bands + len(ctx.matching.extra_bands)  # the sketches', titles', pages'

    def parts(done: Results) -> int:
        index = IndexCounts.of(done["index"])
        return keys.lsh_parts(index.records - index.exact_members, bands)

    return [
        Stage(name="keys", task=keys.keys_task, counts=KeyCounts, inputs=(ctx.src, "index"),
              tasks=lambda done: [(shard_key(s), keys.KeysTask(
                  work=root, n_shards=n, shard=s, bands=plan.bands, rows=plan.rows,
                  columns=columns, parts=parts(done), src=ctx.src, titles=titles, pages=pages))
                  for s in range(n)]),
        Stage(name="lsh", task=lsh.band_task, counts=PairCounts, scope="part", inputs=("keys",),
              tasks=lambda done: [(f"part-{p:04d}", lsh.BandTask(
                  work=root, n_shards=n, part=p, bands=bands, cap=mh.max_bucket_pairs,
                  heads=mh.bucket_heads)) for p in range(parts(done))]),
        Stage(name="merge", scope="global", inputs=("lsh",), counts=MergeCounts,
              task=lambda done: MergeCounts(
                  candidates=lsh.merge_candidates(ctx.work, parts(done)))),
    ]


def chunks(done: Results) -> int:
    """How many chunks the verified candidates are cut into."""
    return -(-MergeCounts.of(done["merge"]).candidates // match.VERIFY_CHUNK)


def _cluster_stages(ctx: Context, extension: Extension | None) -> list[Stage]:
    cfg, work, n = ctx.config, ctx.work, ctx.n
    root = str(work.root)
    rule = match_rule(ctx.matching)
    extra = None if extension is None else extension.edge_sources()
    return [
        Stage(name="verify", task=verify.verify_task, counts=PairCounts, scope="part",
              inputs=("merge",),
              tasks=lambda done: [(numbered("chunk", c), verify.VerifyTask(
                  work=root, n_shards=n, chunk=c, src=ctx.src)) for c in range(chunks(done))]),
        Stage(name="edges", task=edges.edge_task, counts=EdgeCounts, scope="part",
              inputs=("verify",),
              tasks=lambda done: [(numbered("chunk", c), edges.EdgeTask(
                  work=root, n_shards=n, chunk=c, rule=rule, skip=extra))
                  for c in range(chunks(done))]),
        Stage(name="components", scope="global", inputs=("edges",), counts=ComponentCounts,
              task=lambda done: cluster.component_labels(work, chunks(done))),
        Stage(name="buckets", task=cluster.bucket_task, counts=BucketCounts, scope="part",
              inputs=("components",), tasks=lambda done: [(
                  f"bucket-{b:03d}", cluster.BucketTask(
                      work=root, chunks=chunks(done), bucket=b,
                      priority=cfg.cluster.keep != "connected"))
                  for b in range(cluster.CLUSTER_BUCKETS)]),
        Stage(name="cluster", scope="global", inputs=("buckets",), counts=ClusterCounts,
              task=lambda done: cluster.cluster_stage(
                  work, chunks(done), old=extension is not None,
                  content_of=n if ctx.src == "content" else 0)),
    ]


def _check_read(ctx: Context, results: object) -> None:
    read_stats = [ReadCounts.of(r) for r in results] if isinstance(results, list) else []
    _check_named_fields(read_stats, ctx.fields)
    annotate.check_marked(read_stats, ctx.fields)
    if ctx.config.run.strict:
        _raise_first_rejection(ctx.work, ctx.shards)


def _check_named_fields(read_stats: list[ReadCounts], fields: Fields) -> None:
    """Stop where a named id, URL or group field is in no record of a file: every record
    would silently get none (a misspelt name, or one that needs a dotted path)."""
    missing = missing_fields(read_stats, fields)
    if missing is not None:
        path, option, field = missing
        with local_copy(path) as local:  # an input at a URL: a local copy
            have = ", ".join(fields_of(local)) or "none"
        raise InputError(f"no record has the field {field!r} named by {option} "
                         f"(the records' fields: {have})", path=path)


def _raise_first_rejection(work: WorkDir, shards: Sequence[Shard]) -> None:
    for s, shard in enumerate(shards):
        meta = work.read_parquet("read", artifact(s, "meta.parquet"),
                                 ["file", "line", "reason"]).to_pylist()
        # a file at a URL is named by its URL: its name alone would not say where it is
        urls = {shard.prefix + name: path for name, path in zip(shard.names, shard.files,
                                                                strict=True)
                if is_remote(path)}
        for row in meta:
            if row["reason"] is not None:
                raise InputError(row["reason"], path=urls.get(row["file"], row["file"]),
                                 line=row["line"])


def _raise_repeated_id(work: WorkDir, n_shards: int) -> None:
    import pyarrow as pa

    table = pa.concat_tables([work.read_parquet("read", artifact(s, "meta.parquet"),
                                                ["id", "file", "line"])
                              for s in range(n_shards)])
    first = int(work.load("index", "repeated")[0])
    row = table.slice(first, 1).to_pylist()[0]
    orig = table.slice(int(work.load("index", "repeated_first")[0]), 1)
    seen = orig.to_pylist()[0]
    raise InputError(f"duplicate id {row['id']!r} (first seen at {seen['file']}:{seen['line']})",
                     path=row["file"], line=row["line"])

"""``thresher serve``: the index over HTTP, JSON in and out, for crawlers.

Routes:

- ``GET /health``: ``{"status": "ok", "documents": N, "batches": B}``;
- ``GET /stats``: what ``thresher index stats --json`` prints;
- ``POST /query``: ``{"text": ..., "url": ...}`` or ``{"documents": [{"text", "url"}, ...]}``
  (at most ``MAX_DOCUMENTS``); answers ``{"results": [{"seen": bool, "id", "batch",
  "similarity", "containment", "match"}, ...]}`` in the same order;
- ``POST /add`` (only with ``--allow-add``, and ``Authorization: Bearer TOKEN``):
  ``{"documents": [{"id", "text", "url"}, ...]}`` runs ``index add`` on them (one add at
  a time) and answers what it decided.

Bad requests get a 4xx with a message (``{"error": ...}``), never a traceback: a body
over ``MAX_BODY`` is refused as soon as that much has come (or at once, from its
``Content-Length``), JSON nested deeper than orjson's 1,024 levels is a 400, and a
request naming another host or coming from another site's page is a 403
(:mod:`thresher.index.access`). The index is read as a snapshot, opened again when its
manifest changes (an ``add`` by this server or by another process).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from thresher.errors import ConfigError, ThresherError
from thresher.index.access import TOKEN_ENV, Hosts, allowed_hosts, bearer_ok, read_token

__all__ = ["MAX_BODY", "MAX_DOCUMENTS", "make_app", "serve"]

MAX_DOCUMENTS = 1000
MAX_BODY = 16 << 20
_NEEDS = "thresher serve needs starlette and uvicorn: pip install 'thresher[serve]'"

_log = logging.getLogger(__name__)


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers


async def _body(request: Any) -> Any:
    """The request's JSON, read a chunk at a time: a body over ``MAX_BODY`` is refused
    as soon as that much has come, not once it is all in memory."""
    from starlette.requests import ClientDisconnect

    # Connection: close, or uvicorn would read the rest of the body to reuse the connection
    too_large = _BadRequest(f"the body is larger than {MAX_BODY:,} bytes", 413,
                            {"Connection": "close"})
    length = request.headers.get("content-length")
    if length is not None and not (length.isascii() and length.isdigit()):
        raise _BadRequest(f"Content-Length {length[:40]!r} is not a number")
    if length is not None and (len(length) > 12 or int(length) > MAX_BODY):  # int() of
        raise too_large  # thousands of digits is refused by Python itself
    raw = bytearray()
    try:
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise too_large
    except ClientDisconnect:
        raise _BadRequest("the client went away before the body came") from None
    try:  # orjson: no recursion, and a 400 for nesting past 1,024 levels
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _BadRequest(f"the body is not JSON: {exc}") from None


def _authorize(request: Any, token: str | None) -> None:
    """Refuse an add without the server's token (401, as HTTP has it)."""
    given = request.headers.get("authorization")
    if token is not None and bearer_ok(given, token):
        return
    what = "no token" if given is None else "a wrong token"
    raise _BadRequest(f"POST /add came with {what}: send the server's token as "
                      "'Authorization: Bearer TOKEN'", 401, {"WWW-Authenticate": "Bearer"})


def _documents(body: Any, *, need_id: bool) -> list[dict[str, Any]]:
    """The request's documents, checked: a list of objects with a string text."""
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    if "documents" in body:
        docs = body["documents"]
        if not isinstance(docs, list) or not docs:
            raise _BadRequest('"documents" must be a non-empty list')
    elif "text" in body and not need_id:
        docs = [body]
    else:
        raise _BadRequest('give "documents": [{"text": ..., "url": ...}]' +
                          ("" if need_id else ' or "text"'))
    if len(docs) > MAX_DOCUMENTS:
        raise _BadRequest(f"at most {MAX_DOCUMENTS} documents per request, got {len(docs)}",
                          413)
    for k, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise _BadRequest(f"documents[{k}] must be an object")
        if not isinstance(doc.get("text"), str) or not doc["text"].strip():
            raise _BadRequest(f"documents[{k}].text must be a non-empty string")
        if doc.get("url") is not None and not isinstance(doc["url"], str):
            raise _BadRequest(f"documents[{k}].url must be a string")
        if need_id and (not isinstance(doc.get("id"), str) or not doc["id"]):
            raise _BadRequest(f"documents[{k}].id must be a non-empty string")
    return docs


class _Live:
    """The open index, reopened when its manifest changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.adding = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._index: Any = None

    def get(self) -> Any:
        from thresher.index.live import Index
        from thresher.index.store import IndexStore

        try:
            st = (self.path / "manifest.json").stat()
        except FileNotFoundError:
            IndexStore(self.path).manifest()  # raises the clear error
            raise
        stamp = (st.st_mtime_ns, st.st_size)
        with self.lock:
            if stamp != self._stamp:
                # warmed: a server's first queries should not wait on the disk
                self._index, self._stamp = Index(self.path, warm=True), stamp
            return self._index


def make_app(path: str | Path, *, allow_add: bool = False, token: str | None = None,
             hosts: Hosts | None = None) -> Any:
    """Return the ASGI application serving the index at ``path``.

    ``allow_add`` needs a ``token``, which ``POST /add`` must send as ``Authorization:
    Bearer TOKEN``. ``hosts``: the names requests may give in ``Host`` (see
    :func:`~thresher.index.access.allowed_hosts`; the loopback names by default).
    """
    if allow_add and not token:
        raise ConfigError("allow_add needs a token, which POST /add must send")
    try:
        from starlette.applications import Starlette
        from starlette.exceptions import HTTPException
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route
    except ImportError:
        raise ConfigError(_NEEDS) from None
    from thresher import index
    from thresher.index.access import Guard

    live = _Live(Path(path))
    live.get()  # fail now, not at the first request, if it is no index

    async def health(request: Request) -> JSONResponse:
        ix = live.get()
        return JSONResponse({"status": "ok", "documents": ix.documents,
                             "batches": ix.batches})

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(index.stats(path))

    async def query(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        docs = _documents(await _body(request), need_id=False)
        found = await run_in_threadpool(live.get().query, [d["text"] for d in docs],
                                        [d.get("url") for d in docs])
        return JSONResponse({"results": [{"seen": False} if f is None else {"seen": True, **f}
                                         for f in found]})

    async def add(request: Request) -> JSONResponse:
        from starlette.concurrency import run_in_threadpool

        if not allow_add:
            raise _BadRequest("adding is off: start the server with --allow-add", 403)
        _authorize(request, token)  # before reading the body
        docs = _documents(await _body(request), need_id=True)
        return JSONResponse(await run_in_threadpool(_add, path, live, docs))

    async def bad_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, _BadRequest)
        return JSONResponse({"error": str(exc)}, status_code=exc.status,
                            headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def thresher_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": str(exc)}, status_code=400)

    async def server_error(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server "
                                      "log has the details"}, status_code=500)

    app = Starlette(routes=[
        Route("/health", health, methods=["GET"]), Route("/stats", stats, methods=["GET"]),
        Route("/query", query, methods=["POST"]), Route("/add", add, methods=["POST"]),
    ], exception_handlers={_BadRequest: bad_request, HTTPException: http_error,
                           ThresherError: thresher_error, Exception: server_error})
    return Guard(app, hosts=hosts or allowed_hosts("127.0.0.1"), log=_log)


def serve(path: str | Path, *, host: str = "127.0.0.1", port: int = 8000,
          allow_add: bool = False, token_file: Path | None = None,
          allow_hosts: Iterable[str] = ()) -> None:
    """Serve the index at ``path`` until stopped: ``thresher serve``. Logs a startup line
    and one line per request on this module's logger, at INFO."""
    from thresher.index.store import IndexStore

    token = read_token(token_file) if allow_add else None
    if allow_add and token is None:
        raise ConfigError(f"--allow-add needs a token: put one in a file and pass "
                          f"--token-file FILE, or set {TOKEN_ENV}; clients send it as "
                          "'Authorization: Bearer TOKEN'")
    hosts = allowed_hosts(host, allow_hosts)
    app = make_app(path, allow_add=allow_add, token=token, hosts=hosts)
    try:
        import uvicorn
    except ImportError:
        raise ConfigError(_NEEDS) from None
    shown = f"[{host}]" if ":" in host else host
    docs = int(IndexStore(path).manifest()["documents"])
    _log.info("thresher serve: http://%s:%d, index %s (%s document%s), POST /add %s; "
              "answers Host %s%s", shown, port, path, f"{docs:,}", "" if docs == 1 else "s",
              "allowed (token required)" if allow_add else "off",
              ", ".join(sorted(hosts.names)), " or any IP address" if hosts.any_ip else "")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _add(path: str | Path, live: _Live, docs: list[dict[str, Any]]) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from thresher import index

    with live.adding, tempfile.TemporaryDirectory(prefix="thresher-serve-") as tmp:
        data = Path(tmp) / "posted.jsonl"
        data.write_text("".join(json.dumps({"id": d["id"], "text": d["text"],
                                            "url": d.get("url")}) + "\n" for d in docs))
        summary = index.add(path, [data], Path(tmp) / "out", executor="serial")
        rows = pq.read_table(Path(tmp) / "out" / "decisions.parquet",
                             columns=["id", "decision", "representative", "reason"]).to_pylist()
    return {"batch": summary["index"]["batch"], "added": summary["index"]["added"],
            "documents": summary["index"]["documents"], "decisions": rows}

"""thresher serve: JSON in and out, 4xx with a message for bad requests, never a traceback;
bodies read within a bound, a token for adds, other hosts and sites refused."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import thresher
from thresher import index

pytest.importorskip("starlette")
pytest.importorskip("httpx")

TEXT = ("The council met on Monday evening and voted to rebuild the old river bridge, "
        "which had been closed to traffic since the spring floods damaged its piers.")
TOKEN = "s3cret-token-for-the-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HERE = "http://127.0.0.1:8000"  # where the test client says the server is


@pytest.fixture
def client(tmp_path: Path) -> Any:
    from starlette.testclient import TestClient

    from thresher.index.serve import make_app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bridge.txt").write_text(TEXT)
    index.create(tmp_path / "ix")
    index.add(tmp_path / "ix", [tmp_path / "in"], tmp_path / "out", executor="serial")
    with TestClient(make_app(tmp_path / "ix", allow_add=True, token=TOKEN), base_url=HERE,
                    raise_server_exceptions=False) as c:
        c.ix = tmp_path / "ix"  # type: ignore[attr-defined]
        yield c


def test_query_health_and_stats(client: Any) -> None:
    assert client.get("/health").json() == {"status": "ok", "documents": 1, "batches": 1}
    r = client.post("/query", json={"text": TEXT})
    assert r.status_code == 200
    (hit,) = r.json()["results"]
    assert hit["seen"] and hit["id"] == "bridge.txt" and hit["batch"] == 1
    r = client.post("/query", json={"documents": [{"text": "Something else, never seen."},
                                                  {"text": TEXT, "url": None}]})
    assert [x["seen"] for x in r.json()["results"]] == [False, True]
    assert client.get("/stats").json()["documents"] == 1


def test_add_then_query_sees_it(client: Any) -> None:
    other = "A different story about the harbour, its ferries and the new timetable."
    r = client.post("/add", json={"documents": [{"id": "harbour", "text": other},
                                                {"id": "again", "text": TEXT}]},
                    headers=AUTH)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["added"] == 1 and body["batch"] == 2
    decided = {d["id"]: d for d in body["decisions"]}
    assert decided["again"]["representative"] == "bridge.txt"
    assert client.post("/query", json={"text": other}).json()["results"][0]["id"] == "harbour"


@pytest.mark.parametrize(("body", "status", "message"), [
    (b"{not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b'{"documents": []}', 400, "non-empty list"),
    (b'{"documents": [{"text": 3}]}', 400, "documents[0].text"),
    (b'{"documents": [{"text": "x", "url": 5}]}', 400, "documents[0].url"),
    (b'{"txt": "x"}', 400, "give"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "depth limit"),
    (b'{"documents": [{"text": ' + b"[" * 50_000 + b"]" * 50_000 + b"}]}", 400, "depth limit"),
    (b'{"text": "\\ud800 a lone surrogate"}', 400, "not JSON"),
    (b"", 400, "not JSON"),
])
def test_bad_queries_get_400_with_a_message(client: Any, body: bytes, status: int,
                                             message: str) -> None:
    r = client.post("/query", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status and message in r.json()["error"]
    assert "Traceback" not in r.text and "\n" not in r.json()["error"]


def test_other_errors(client: Any, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from thresher.index.serve import MAX_DOCUMENTS, make_app

    r = client.post("/query", json={"documents": [{"text": "x"}] * (MAX_DOCUMENTS + 1)})
    assert r.status_code == 413
    assert client.post("/add", json={"documents": [{"text": "no id"}]},
                       headers=AUTH).status_code == 400
    assert client.get("/nothing").status_code == 404 and "error" in client.get("/x").json()
    assert client.get("/query").status_code == 405
    with TestClient(make_app(client.ix), base_url=HERE) as read_only:
        r = read_only.post("/add", json={"documents": [{"id": "a", "text": "t"}]}, headers=AUTH)
        assert r.status_code == 403 and "--allow-add" in r.json()["error"]
    with pytest.raises(thresher.ConfigError, match="not a thresher index"):
        make_app(tmp_path / "missing")


def _documents(ix: Path) -> tuple[int, int]:
    """(documents, batches) of the index, from its manifest: what an add would change."""
    from thresher.index.store import IndexStore

    m = IndexStore(ix).manifest()
    return int(m["documents"]), int(m["next_batch"])


def _asgi_post(app: Any, path: str, chunks: Iterator[bytes],
               headers: list[tuple[bytes, bytes]]) -> tuple[int, int]:
    """POST a body that comes a chunk at a time (as uvicorn hands a chunked upload to the
    app) straight to the ASGI ``app``: (status, bytes of the body the app took)."""
    taken = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal taken
        chunk = next(chunks, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        taken += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "client": ("127.0.0.1", 50000),
             "server": ("127.0.0.1", 8000),
             "headers": [(b"host", b"127.0.0.1:8000"), (b"content-type", b"application/json"),
                         *headers]}
    asyncio.run(app(scope, receive, send))
    (start,) = [m for m in sent if m["type"] == "http.response.start"]
    return start["status"], taken


def test_an_oversized_body_is_refused_before_it_is_all_read(client: Any) -> None:
    from thresher.index.serve import MAX_BODY, make_app

    app = make_app(client.ix, allow_add=True, token=TOKEN)
    chunk, total = 1 << 16, 300_000_000  # a 300 MB chunked upload, made as it is sent

    def body() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(total // chunk):
            yield b"x" * chunk

    status, taken = _asgi_post(app, "/query", body(), [(b"transfer-encoding", b"chunked")])
    assert status == 413 and MAX_BODY < taken <= MAX_BODY + chunk + 16
    auth = [(b"authorization", f"Bearer {TOKEN}".encode())]
    status, taken = _asgi_post(app, "/add", body(), auth)
    assert status == 413 and taken <= MAX_BODY + chunk + 16
    # a Content-Length over the bound: refused before any of the body is read
    status, taken = _asgi_post(app, "/query", body(), [(b"content-length", b"300000000")])
    assert (status, taken) == (413, 0)
    status, taken = _asgi_post(app, "/query", body(), [(b"content-length", b"9" * 5000)])
    assert (status, taken) == (413, 0)
    status, _ = _asgi_post(app, "/query", iter([b'{"text": "a page"}']),
                           [(b"content-length", b"18")])
    assert status == 200
    r = client.post("/query", content=b" " * (MAX_BODY + 1))
    assert r.status_code == 413 and r.headers["connection"] == "close"  # not read to the end
    r = client.post("/query", content=b"{}", headers={"content-length": "1e3"})
    assert r.status_code == 400 and "Content-Length" in r.json()["error"]


def test_add_needs_the_token(client: Any) -> None:
    from thresher.index.serve import make_app

    docs = {"documents": [{"id": "harbour", "text": "The harbour's new ferry timetable."}]}
    before = _documents(client.ix)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"},
                    {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer"},
                    {"Authorization": f"Bearer {TOKEN[:-1]}é".encode()}):
        r = client.post("/add", json=docs, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer" and "token" in r.json()["error"]
    assert _documents(client.ix) == before
    r = client.post("/add", json=docs, headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["added"] == 1
    assert _documents(client.ix) == (before[0] + 1, before[1] + 1)
    with pytest.raises(thresher.ConfigError, match="token"):
        make_app(client.ix, allow_add=True)
    with pytest.raises(thresher.ConfigError, match="token"):
        make_app(client.ix, allow_add=True, token="")


FOREIGN = [
    {"Host": "evil.example"}, {"Host": "evil.example:8000"}, {"Host": "localhost@evil.example"},
    {"Host": "127.0.0.1.evil.example"}, {"Origin": "http://evil.example"},
    {"Origin": "http://localhost:3000"}, {"Origin": "null"}, {"Origin": "https://127.0.0.1"},
]


def test_another_host_or_site_is_refused(client: Any) -> None:
    before = _documents(client.ix)
    for headers in FOREIGN:
        for method, path, body in (("POST", "/add", {"documents": [{"id": "x", "text": TEXT}]}),
                                   ("POST", "/query", {"text": TEXT}),
                                   ("GET", "/health", None)):
            r = client.request(method, path, json=body, headers={**AUTH, **headers})
            assert r.status_code == 403, (headers, method, path)
            assert "refused" in r.json()["error"] or "unknown Host" in r.json()["error"]
    assert _documents(client.ix) == before  # no write happened


def test_the_servers_own_names_are_answered(client: Any) -> None:
    from starlette.testclient import TestClient

    from thresher.index.access import allowed_hosts
    from thresher.index.serve import make_app

    for host in ("localhost:8000", "LOCALHOST", "[::1]:8000", "127.0.0.1"):
        assert client.get("/health", headers={"Host": host}).status_code == 200, host
    same = client.post("/query", json={"text": TEXT}, headers={"Origin": HERE})
    assert same.status_code == 200
    hosts = allowed_hosts("127.0.0.1", ["crawler.internal"])
    with TestClient(make_app(client.ix, hosts=hosts), base_url="http://crawler.internal") as c:
        assert c.get("/health").status_code == 200
        assert c.get("/health", headers={"Host": "other.internal"}).status_code == 403
    anywhere = allowed_hosts("0.0.0.0")
    assert anywhere.allow("10.1.2.3:8000") and anywhere.allow("[fe80::1]")
    assert not anywhere.allow("evil.example") and allowed_hosts("10.0.0.5").names == {
        "10.0.0.5"}
    with pytest.raises(thresher.ConfigError, match="--allow-host"):
        allowed_hosts("127.0.0.1", ["a b"])


def test_each_request_is_logged(client: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="thresher.index.serve")
    client.post("/query", json={"text": TEXT})
    client.get("/health", headers={"Host": "evil.example"})
    client.post("/query", content=b"[" * 5000)
    lines = [r.getMessage() for r in caplog.records if r.name == "thresher.index.serve"]
    assert len(lines) == 3
    for line, want in zip(lines, ("POST /query 200", "GET /health 403", "POST /query 400"),
                          strict=True):
        assert want in line and line.endswith(" ms")


def test_the_command(client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from click.testing import CliRunner

    from thresher.cli import main

    ran: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append({"app": app, **kw}))
    monkeypatch.delenv("THRESHER_TOKEN", raising=False)
    run = CliRunner().invoke
    ix = str(client.ix)
    refused = run(main, ["serve", ix, "--allow-add"])
    assert refused.exit_code == 1 and not ran and "Traceback" not in refused.output
    (line,) = refused.output.strip().splitlines()
    assert "--token-file" in line and "THRESHER_TOKEN" in line
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "empty" in run(main, ["serve", ix, "--allow-add", "--token-file", str(empty)]).output
    (tmp_path / "token").write_text(TOKEN + "\n")
    started = run(main, ["serve", ix, "--allow-add", "--token-file", str(tmp_path / "token"),
                         "--port", "8123", "--allow-host", "crawler.internal"])
    assert started.exit_code == 0, started.output
    assert "http://127.0.0.1:8123" in started.output and "(1 document)" in started.output
    assert "allowed (token required)" in started.output and "crawler.internal" in started.output
    quiet = run(main, ["serve", ix, "-q"], env={"THRESHER_TOKEN": TOKEN})
    assert quiet.exit_code == 0 and quiet.output == "" and len(ran) == 2
    run(main, ["serve", ix, "--allow-add", "-q"], env={"THRESHER_TOKEN": TOKEN})
    from starlette.testclient import TestClient

    with TestClient(ran[-1]["app"], base_url=HERE) as c:  # the environment's token
        r = c.post("/add", json={"documents": [{"id": "b", "text": "Bees at the fair."}]},
                   headers=AUTH)
        assert r.status_code == 200, r.text


def test_the_readmes_example_is_accepted(client: Any) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (body,) = re.findall(r"^echo '(\{.*\})' > pages\.json$", readme, flags=re.MULTILINE)
    r = client.post("/add", content=body.encode(), headers=AUTH)
    assert r.status_code == 200, r.text
    decisions = r.json()["decisions"]
    assert len(decisions) == len(json.loads(body)["documents"])
    assert all(d["decision"] != "rejected" for d in decisions), decisions

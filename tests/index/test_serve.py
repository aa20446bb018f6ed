"""thresher serve: JSON in and out, 4xx with a message for bad requests, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import thresher
from thresher import index

pytest.importorskip("starlette")
pytest.importorskip("httpx")

TEXT = ("The council met on Monday evening and voted to rebuild the old river bridge, "
        "which had been closed to traffic since the spring floods damaged its piers.")


@pytest.fixture
def client(tmp_path: Path) -> Any:
    from starlette.testclient import TestClient

    from thresher.index.serve import make_app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bridge.txt").write_text(TEXT)
    index.create(tmp_path / "ix")
    index.add(tmp_path / "ix", [tmp_path / "in"], tmp_path / "out", executor="serial")
    with TestClient(make_app(tmp_path / "ix", allow_add=True),
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
                                                {"id": "again", "text": TEXT}]})
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
])
def test_bad_queries_get_400_with_a_message(client: Any, body: bytes, status: int,
                                             message: str) -> None:
    r = client.post("/query", content=body, headers={"content-type": "application/json"})
    assert r.status_code == status and message in r.json()["error"]
    assert "Traceback" not in r.text


def test_other_errors(client: Any, tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from thresher.index.serve import MAX_DOCUMENTS, make_app

    r = client.post("/query", json={"documents": [{"text": "x"}] * (MAX_DOCUMENTS + 1)})
    assert r.status_code == 413
    assert client.post("/add", json={"documents": [{"text": "no id"}]}).status_code == 400
    assert client.get("/nothing").status_code == 404 and "error" in client.get("/x").json()
    assert client.get("/query").status_code == 405
    with TestClient(make_app(client.ix)) as read_only:
        r = read_only.post("/add", json={"documents": [{"id": "a", "text": "t"}]})
        assert r.status_code == 403 and "--allow-add" in r.json()["error"]
    with pytest.raises(thresher.ConfigError, match="not a thresher index"):
        make_app(tmp_path / "missing")

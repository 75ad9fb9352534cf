"""Readiness and smoke checks against a small real HTTP server (no engine)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from llmserve import readiness
from llmserve.errors import ReadyTimeout, SmokeFailed, SpecError


class Scripted(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, Any]]] = {}

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        code, body = self.routes.get(self.path, (404, {"error": "no"}))
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, tuple[int, Any]]]]:
    routes: dict[str, tuple[int, Any]] = {}
    handler = type("Handler", (Scripted,), {"routes": routes})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()


COMPLETION = {"choices": [{"text": " hi there"}], "usage": {"completion_tokens": 2}}


def test_healthy_server_passes_smoke(server: tuple[str, dict[str, Any]]) -> None:
    url, routes = server
    routes.update(
        {
            "/health": (200, {}),
            "/v1/models": (200, {"data": [{"id": "m"}]}),
            "/v1/completions": (200, COMPLETION),
        }
    )
    report = readiness.smoke(url, None, None)
    assert [c.name for c in report.checks] == ["health", "models", "completion"]
    assert report.model == "m"
    assert report.to_dict()["passed"] is True


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ({"/health": (503, {})}, "/health answered HTTP 503"),
        ({"/health": (200, {}), "/v1/models": (200, {"data": []})}, "lists no model"),
        (
            {
                "/health": (200, {}),
                "/v1/models": (200, {"data": [{"id": "m"}]}),
                "/v1/completions": (500, {}),
            },
            "answered HTTP 500",
        ),
        (
            {
                "/health": (200, {}),
                "/v1/models": (200, {"data": [{"id": "m"}]}),
                "/v1/completions": (200, {"choices": [{"text": ""}], "usage": {"completion_tokens": 0}}),
            },
            "generated no tokens",
        ),
        (
            {
                "/health": (200, {}),
                "/v1/models": (200, {"data": [{"id": "m"}]}),
                "/v1/completions": (401, {}),
            },
            "wants an API key",
        ),
    ],
)
def test_smoke_failures(server: tuple[str, dict[str, Any]], routes: dict[str, Any], message: str) -> None:
    url, table = server
    table.update(routes)
    with pytest.raises(SmokeFailed) as raised:
        readiness.smoke(url, None, None)
    assert message in raised.value.message


def test_smoke_of_a_wrong_model_name(server: tuple[str, dict[str, Any]]) -> None:
    url, routes = server
    routes.update({"/health": (200, {}), "/v1/models": (200, {"data": [{"id": "m"}]})})
    with pytest.raises(SmokeFailed, match="serves m, not other"):
        readiness.smoke(url, "other", None)


@pytest.mark.parametrize("url", ["notaurl", "", "http://", "http://[::1", "ftp://x"])
def test_smoke_of_something_that_is_not_a_url(url: str) -> None:
    with pytest.raises(SpecError, match=r"is not (a valid|an http)"):
        readiness.smoke(url, None, None)


def test_smoke_of_nothing_listening() -> None:
    with pytest.raises(SmokeFailed, match="could not connect"):
        readiness.smoke("http://127.0.0.1:9", None, None)


def test_wait_until_healthy_returns_once_healthy(server: tuple[str, dict[str, Any]]) -> None:
    url, routes = server
    routes["/health"] = (200, {})
    assert readiness.wait_until_healthy(url, exit_code=lambda: None, timeout=5) < 5


def test_wait_until_healthy_notices_a_dead_engine() -> None:
    with pytest.raises(readiness.EngineGone) as raised:
        readiness.wait_until_healthy("http://127.0.0.1:9", exit_code=lambda: 3, timeout=5)
    assert raised.value.exit_code == 3


def test_wait_until_healthy_times_out() -> None:
    with pytest.raises(ReadyTimeout, match="--ready-timeout"):
        readiness.wait_until_healthy("http://127.0.0.1:9", exit_code=lambda: None, timeout=0.3)

"""`llmserve smoke` against real local servers that misbehave: exit 7 with one clean line, never a
traceback or a hang, the bearer token never shown, nothing written anywhere."""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve import readiness
from llmserve.cli import app
from llmserve.errors import ExitCode, ReadyTimeout
from tests.fixtures.hostile_http import (
    GOOD_COMPLETION,
    GOOD_MODELS,
    Responder,
    answer,
    echo_authorization,
    endless_chunked,
    gzip_bomb,
    hang_up,
    hostile_server,
    http,
    send,
    silent,
    trickle,
)

API_KEY = "sk-HoStIlE-test-bearer-0451"
DEADLINE = 1.5  # smoke --timeout for these tests; a hang would blow it by far
ONE_CLEAN_LINE = re.compile(r"^llmserve: error: [^\x00-\x1f\x7f-\x9f]{1,600}\n$")
runner = CliRunner()

# Behaviours any route can have.
GENERIC: dict[str, Responder] = {
    "500 echoing the bearer token": echo_authorization(500),
    "401 echoing the bearer token": echo_authorization(401),
    "503 html with newlines and escapes": answer(503, "<html>\n\x1b[31mdown\x1b[0m\r\n\x00</html>"),
    "404": answer(404, {"error": "no such route"}),
    "302 elsewhere": answer(302, b"", {"Location": "http://example.invalid/"}),
    "closes without answering": hang_up(),
    "not http at all": send(b"SSH-2.0-OpenSSH_9.2\r\n"),
    "invalid status line": send(b"HTTP/1.1 abc\r\n\r\n"),
    "content-length longer than the body": send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}"),
    "negative content-length": send(b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n{}"),
    "gzip bomb": gzip_bomb(),
    "corrupt gzip": answer(200, b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}),
    "unknown content encoding": answer(200, b"{}", {"Content-Encoding": "zstd"}),
    "endless chunked body": endless_chunked(),
    "two megabytes of json": answer(200, b"[" + b"0," * (1 << 20) + b"0]"),
    "body trickles a byte at a time": trickle(http(200, {"data": [{"id": "m"}]}), 0.4),
    "headers trickle a byte at a time": trickle(b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100, 0.3),
    "never answers": silent(),
}
# Bodies of the wrong shape for /v1/models.
MODELS_SHAPES: dict[str, Any] = {
    "[]": [],
    "null": None,
    "data 5": {"data": 5},
    "data null": {"data": None},
    "data string": {"data": "m"},
    "data of numbers": {"data": [5]},
    "id a number": {"data": [{"id": 5}]},
    "id null": {"data": [{"id": None}]},
    "no data": {"object": "list"},
    "empty data": {"data": []},
    "a string": "models",
    "true": True,
    "deeply nested": json.loads("[" * 200 + "]" * 200),
}
MODELS_RAW: dict[str, bytes] = {
    "not json": b"<html>models</html>",
    "truncated json": b'{"data": [{"id": "m"',
    "non-utf8": b'{"data": [{"id": "\xff\xfe"}]}',
    "json nested past any parser's depth": b"[" * 100_000 + b"]" * 100_000,
    "empty body": b"",
}
COMPLETION_SHAPES: dict[str, Any] = {
    "{}": {},
    "[]": [],
    "null": None,
    "choices empty": {"choices": []},
    "choices 5": {"choices": 5},
    "choices null": {"choices": None},
    "choice null": {"choices": [None]},
    "choice a string": {"choices": ["hi"]},
    "text a number": {"choices": [{"text": 5}]},
    "text null": {"choices": [{"text": None}]},
    "text missing": {"choices": [{"message": "hi"}]},
    "usage 5": {"choices": [{"text": "x"}], "usage": 5},
    "usage a list": {"choices": [{"text": "x"}], "usage": []},
    "completion_tokens a string": {"choices": [{"text": "x"}], "usage": {"completion_tokens": "3"}},
    "completion_tokens a float": {"choices": [{"text": "x"}], "usage": {"completion_tokens": 1.5}},
    "completion_tokens true": {"choices": [{"text": "x"}], "usage": {"completion_tokens": True}},
    "zero tokens": {"choices": [{"text": ""}], "usage": {"completion_tokens": 0}},
    "negative tokens": {"choices": [{"text": ""}], "usage": {"completion_tokens": -4}},
}

CASES: list[tuple[str, dict[str, Responder], list[str]]] = []
for _name, _responder in GENERIC.items():
    for _route in ("/health", "/v1/models", "/v1/completions"):
        CASES.append((f"{_route}: {_name}", {_route: _responder}, []))
for _name, _body in MODELS_SHAPES.items():
    CASES.append((f"/v1/models: {_name}", {"/v1/models": answer(200, json.dumps(_body))}, []))
for _name, _raw in MODELS_RAW.items():
    CASES.append((f"/v1/models: {_name}", {"/v1/models": answer(200, _raw)}, []))
for _name, _body in COMPLETION_SHAPES.items():
    CASES.append((f"/v1/completions: {_name}", {"/v1/completions": answer(200, json.dumps(_body))}, []))
CASES += [
    ("wrong model asked for", {}, ["--model", "other"]),
    (
        "model ids with escapes and the token",
        {"/v1/models": answer(200, {"data": [{"id": f"\x1b[2Jm\n{API_KEY}"}]})},
        ["--model", "other"],
    ),
]


@pytest.fixture
def quiet_dirs(tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, HOME and state directory: nothing may appear in them."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


def _files(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()}


def _smoke(url: str, key_file: Path, *extra: str) -> Any:
    return runner.invoke(
        app, ["smoke", url, "--api-key-file", str(key_file), "--timeout", str(DEADLINE), *extra]
    )


@pytest.mark.parametrize(("routes", "extra"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_server_gives_exit_7_and_one_clean_line(
    routes: dict[str, Responder], extra: list[str], quiet_dirs: Path
) -> None:
    key_file = quiet_dirs / "api-key"
    key_file.write_text(API_KEY + "\n")
    before = _files(quiet_dirs)
    with hostile_server(routes) as server:
        started = time.monotonic()
        result = _smoke(server.url, key_file, *extra)
        elapsed = time.monotonic() - started
    assert result.exit_code == ExitCode.SMOKE_FAILED, (result.stdout, result.stderr, result.exception)
    assert ONE_CLEAN_LINE.match(result.stderr), result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert API_KEY not in result.stderr
    assert elapsed < DEADLINE + 5.0  # the deadline holds (a hang would take 10 s or forever)
    assert _files(quiet_dirs) == before


def test_a_500_body_echoing_the_token_is_shown_masked(quiet_dirs: Path) -> None:
    key_file = quiet_dirs / "api-key"
    key_file.write_text(API_KEY)
    with hostile_server({"/v1/models": echo_authorization(500)}) as server:
        result = _smoke(server.url, key_file)
    assert "answered HTTP 500: unauthorized header was: Bearer *** {'api_key': '***'}" in result.stderr


def test_a_healthy_server_passes_with_the_token_sent(quiet_dirs: Path) -> None:
    key_file = quiet_dirs / "api-key"
    key_file.write_text(API_KEY)
    with hostile_server({}) as server:
        result = _smoke(server.url, key_file, "--json")
        sent = {request.headers.get("authorization") for request in server.requests}
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "m"
    assert sent == {f"Bearer {API_KEY}"}


def test_a_gzipped_answer_within_the_cap_is_read() -> None:
    body = gzip.compress(json.dumps(GOOD_MODELS).encode())
    deflated = zlib.compress(json.dumps(GOOD_COMPLETION).encode())
    routes = {
        "/v1/models": answer(200, body, {"Content-Encoding": "gzip"}),
        "/v1/completions": answer(200, deflated, {"Content-Encoding": "deflate"}),
    }
    with hostile_server(routes) as server:
        report = readiness.smoke(server.url, None, None, timeout=5)
    assert report.model == "m"


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999", "http://127.0.0.1:0", "http://h:abc", "ftp://127.0.0.1:1", "http://", "x",
     "http://user:pass@127.0.0.1:1", "http://127.0.0.1:1\n", "http://[::1", "http://u:pass@h:99999",
     "http://u:pass@h:abc", "ftp://u:pass@h", "http://:pass@h/x@y"],
)  # fmt: skip
def test_an_invalid_url_is_a_usage_error(url: str, quiet_dirs: Path) -> None:
    result = runner.invoke(app, ["smoke", url])
    assert result.exit_code == ExitCode.USAGE
    assert ONE_CLEAN_LINE.match(result.stderr), result.stderr
    assert "pass" not in result.stderr.replace("password", "")


def test_readiness_poll_is_not_held_by_a_trickling_health_route() -> None:
    with hostile_server({"/health": trickle(http(200, b"ok"), 1.0)}) as server:
        started = time.monotonic()
        with pytest.raises(ReadyTimeout):
            readiness.wait_until_healthy(server.url, exit_code=lambda: None, timeout=1.0)
        assert time.monotonic() - started < 4.0


# Any answer at all, generated: status, encoding, body bytes or JSON of any shape.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
shaped = st.fixed_dictionaries(
    {},
    optional={
        "data": st.lists(st.fixed_dictionaries({}, optional={"id": json_values}) | json_values, max_size=3)
        | json_values,
        "choices": st.lists(
            st.fixed_dictionaries({}, optional={"text": json_values}) | json_values, max_size=3
        )
        | json_values,
        "usage": st.fixed_dictionaries({}, optional={"completion_tokens": json_values}) | json_values,
    },
)
bodies = st.one_of(
    shaped.map(lambda value: json.dumps(value).encode()),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
)


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    route=st.sampled_from(["/health", "/v1/models", "/v1/models", "/v1/completions", "/v1/completions"]),
    status=st.sampled_from([200] * 8 + [201, 204, 301, 400, 401, 404, 500, 503]),
    body=bodies,
    encoding=st.sampled_from(["", "gzip", "deflate", "identity", "br"]),
)
def test_any_answer_is_a_pass_or_a_smoke_failure(
    route: str, status: int, body: bytes, encoding: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers: dict[str, str] = {}
    if encoding:
        headers["Content-Encoding"] = encoding
        if encoding == "gzip":
            body = gzip.compress(body)
        elif encoding == "deflate":
            body = zlib.compress(body)
    monkeypatch.setenv("LLMSERVE_API_KEY", API_KEY)
    with hostile_server({route: answer(status, body, headers)}) as server:
        result = runner.invoke(app, ["smoke", server.url, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (ExitCode.OK, ExitCode.SMOKE_FAILED), result.stderr
    assert API_KEY not in result.stdout + result.stderr
    if result.exit_code == ExitCode.SMOKE_FAILED:
        assert ONE_CLEAN_LINE.match(result.stderr), result.stderr
    else:
        assert json.loads(result.stdout)["passed"] is True

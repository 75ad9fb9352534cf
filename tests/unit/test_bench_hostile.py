"""`llmserve bench` against servers that answer wrongly: the request fails, the run goes on."""

from __future__ import annotations

import asyncio

import pytest

from llmserve import redaction
from llmserve.bench.load import EVENT_BYTES, _Stream, _StreamError
from llmserve.bench.metrics import RequestRecord
from llmserve.bench.stream_client import StreamBroken, _Connection


def feed(*events: bytes) -> RequestRecord:
    record = RequestRecord(sent=0.0)
    stream = _Stream(record)
    for event in events:
        stream.feed(b"data: " + event + b"\n\n", 1.0)
    return record


@pytest.mark.parametrize(
    "event",
    [b'{"choices": ["x"]}', b'{"choices": [{"delta": "x"}]}', b'{"choices": {"0": 1}}', b'{"usage": [1]}'],
)
def test_a_malformed_event_fails_the_request_with_a_reason(event: bytes) -> None:
    with pytest.raises(_StreamError, match="malformed event"):
        feed(event)


def test_an_error_event_that_echoes_the_api_key_is_masked() -> None:
    redaction.remember("sk-echoed-9876")
    with pytest.raises(_StreamError) as raised:
        feed(b'{"error": {"message": "key sk-echoed-9876 rejected\\nretry"}}')
    assert str(raised.value) == "error event: key *** rejected retry"


class _Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def answer(*pieces: bytes) -> BaseException | None:
    """What a connection makes of a response arriving in these pieces: the exception it ends in."""

    async def run() -> BaseException | None:
        connection = _Connection()
        connection.connection_made(_Transport())
        done = connection.start(b"POST / HTTP/1.1\r\n\r\n", lambda data: None)
        for piece in pieces:
            connection.data_received(piece)
        return done.exception() if done.done() else None

    return asyncio.run(run())


CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"


@pytest.mark.parametrize(
    ("pieces", "reason"),
    [
        ((b"HTTP/1.1 200 OK\r\n", b"X-Pad: y\r\n" * 8000), "response headers over 64 KiB"),
        ((CHUNKED + b"-5\r\nhello\r\n",), "not a chunk size"),
        ((CHUNKED + b"zz\r\n",), "not a chunk size"),
        ((CHUNKED + b"ffffffffffff\r\n",), "not a chunk size (at most 16 MiB)"),
        ((CHUNKED + b"1" * 2000,), "a chunk size line over 1024 bytes"),
    ],
)
def test_a_response_that_would_grow_without_end_or_is_not_http_breaks_the_request(
    pieces: tuple[bytes, ...], reason: str
) -> None:
    error = answer(*pieces)
    assert isinstance(error, StreamBroken) and reason in str(error)


def test_an_event_with_no_end_fails_the_request_before_it_fills_memory() -> None:
    stream = _Stream(RequestRecord(sent=0.0))
    stream.feed(b"data: " + b"x" * (EVENT_BYTES - 6), 1.0)  # at the limit: still waiting
    with pytest.raises(_StreamError, match="an event over 1 MiB with no end"):
        stream.feed(b"x" * 16, 1.0)

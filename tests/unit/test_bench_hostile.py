"""`llmserve bench` against servers that answer wrongly: the request fails, the run goes on."""

from __future__ import annotations

import pytest

from llmserve import redaction
from llmserve.bench.load import _Stream, _StreamError
from llmserve.bench.metrics import RequestRecord


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

"""Is the engine ready, and does it really generate?

Neither engine listens until it is ready, so a refused or reset connection means "not yet" as long
as the engine is alive. A 200 from /health is not proof of generation: `prove_generation` sends
one tiny request.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from llmserve import redaction
from llmserve.bounded_http import Answer, BoundedClient, HttpFailure, checked_url
from llmserve.errors import ReadyTimeout, SmokeFailed
from llmserve.redaction import one_line

POLL_SECONDS = 0.05
HEALTH_TIMEOUT_SECONDS = 2.0
REQUEST_TIMEOUT_SECONDS = 10.0
GENERATION_TIMEOUT_SECONDS = 120.0
SMOKE_TIMEOUT_SECONDS = 180.0
MAX_LISTED_MODELS = 10_000
BODY_SHOWN_CHARS = 200
SAMPLE_SHOWN_CHARS = 80
PROGRESS_EVERY_SECONDS = 15.0
SMOKE_PROMPT = "Hello"
SMOKE_MAX_TOKENS = 4


class EngineGone(Exception):
    """The engine stopped while llmserve waited on it."""

    def __init__(self, exit_code: int | None) -> None:
        super().__init__(f"engine exited with code {exit_code}")
        self.exit_code = exit_code


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def wait_until_healthy(
    endpoint: str,
    *,
    exit_code: Callable[[], int | None],
    timeout: float,
    on_progress: Callable[[float], None] | None = None,
) -> float:
    """Poll /health until it answers 200 while the engine lives; returns seconds waited."""
    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_SECONDS
    with BoundedClient() as client:
        while True:
            code = exit_code()
            if code is not None:
                raise EngineGone(code)
            now = time.monotonic()
            try:
                answer = client.request(
                    "GET", f"{endpoint}/health", timeout=min(HEALTH_TIMEOUT_SECONDS, started + timeout - now)
                )
                if answer.status == 200:
                    return time.monotonic() - started
            except HttpFailure:
                pass  # not listening yet
            now = time.monotonic()
            if now - started > timeout:
                raise ReadyTimeout(
                    f"the engine was not ready after {timeout:.0f} s; raise --ready-timeout "
                    "or look at its log lines above"
                )
            if on_progress is not None and now >= next_progress:
                on_progress(now - started)
                next_progress = now + PROGRESS_EVERY_SECONDS
            time.sleep(POLL_SECONDS)


@dataclass
class Check:
    name: str
    seconds: float
    detail: str


@dataclass
class SmokeReport:
    endpoint: str
    model: str
    checks: list[Check] = field(default_factory=list)
    sample: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "model": self.model,
            "passed": True,
            "checks": [
                {"name": c.name, "seconds": round(c.seconds, 3), "detail": c.detail} for c in self.checks
            ],
            "sample": self.sample,
        }


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _ModelEntry(_Answer):
    id: StrictStr


class _ModelList(_Answer):
    data: list[_ModelEntry] = Field(max_length=MAX_LISTED_MODELS)


class _Choice(_Answer):
    text: StrictStr


class _Usage(_Answer):
    completion_tokens: StrictInt | None = None


class _Completion(_Answer):
    choices: list[_Choice] = Field(min_length=1)
    usage: _Usage | None = None


_Shape = TypeVar("_Shape", bound=_Answer)


def _shown(text: str, api_key: str | None, limit: int = BODY_SHOWN_CHARS) -> str:
    """Text a server sent, as one clean, short line with secrets masked."""
    return one_line(text, limit, extra=[api_key] if api_key else [])


def _parsed(answer: Answer, route: str, shape: type[_Shape], api_key: str | None) -> _Shape:
    """The answer's JSON body in the shape a working server gives; SmokeFailed otherwise."""
    if answer.status == 401:
        raise SmokeFailed(f"{route} answered 401: the server wants an API key (--api-key-file)")
    if answer.status != 200:
        raise SmokeFailed(f"{route} answered HTTP {answer.status}: {_shown(answer.text, api_key)}")
    try:
        return shape.model_validate_json(answer.body)
    except ValidationError as error:
        problem = error.errors(include_url=False)[0]
        if problem["type"] == "json_invalid":
            raise SmokeFailed(
                f"{route} answered something that is not JSON: {_shown(answer.text, api_key)}"
            ) from None
        where = ".".join(map(str, problem["loc"])) or "the body"
        raise SmokeFailed(
            f"{route} answered JSON of an unexpected shape ({where}: {problem['msg'].lower()}): "
            f"{_shown(answer.text, api_key)}"
        ) from None


def _request(
    client: BoundedClient, method: str, url: str, timeout: float, deadline: float, **kwargs: Any
) -> Answer:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise SmokeFailed(f"{method} {url}: the smoke test ran out of time")
    try:
        return client.request(method, url, timeout=min(timeout, remaining), **kwargs)
    except HttpFailure as failure:
        raise SmokeFailed(f"{method} {url} failed: {failure.reason}") from None


def prove_generation(
    endpoint: str,
    model: str,
    api_key: str | None,
    *,
    timeout: float = GENERATION_TIMEOUT_SECONDS,
    client: BoundedClient | None = None,
    deadline: float | None = None,
) -> Check:
    """One tiny completion; raises SmokeFailed unless the server generated tokens."""
    started = time.monotonic()
    payload = {"model": model, "prompt": SMOKE_PROMPT, "max_tokens": SMOKE_MAX_TOKENS, "temperature": 0}
    url = f"{endpoint}/v1/completions"
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(BoundedClient(_headers(api_key)))
        answer = _request(client, "POST", url, timeout, deadline or started + timeout, json=payload)
    body = _parsed(answer, "/v1/completions", _Completion, api_key)
    tokens = body.usage.completion_tokens if body.usage is not None else None
    if tokens is not None and tokens < 1:
        raise SmokeFailed(f"{url} generated no tokens")
    text = _shown(body.choices[0].text, api_key, SAMPLE_SHOWN_CHARS)
    return Check(
        "completion", time.monotonic() - started, f"{tokens if tokens is not None else '?'} tokens: {text!r}"
    )


def smoke(
    endpoint: str, model: str | None, api_key: str | None, *, timeout: float = SMOKE_TIMEOUT_SECONDS
) -> SmokeReport:
    """Check /health, /v1/models and one completion against any TGI or vLLM endpoint.

    Each request has its own deadline, and the whole check `timeout` seconds.
    """
    endpoint = checked_url(endpoint)
    redaction.remember(api_key)
    deadline = time.monotonic() + timeout
    report = SmokeReport(endpoint=endpoint, model=model or "")
    with BoundedClient(_headers(api_key)) as client:
        started = time.monotonic()
        health = _request(client, "GET", f"{endpoint}/health", REQUEST_TIMEOUT_SECONDS, deadline)
        if health.status != 200:
            raise SmokeFailed(
                f"{endpoint}/health answered HTTP {health.status}: {_shown(health.text, api_key)}"
            )
        report.checks.append(Check("health", time.monotonic() - started, "200"))
        started = time.monotonic()
        answer = _request(client, "GET", f"{endpoint}/v1/models", REQUEST_TIMEOUT_SECONDS, deadline)
        names = [entry.id for entry in _parsed(answer, "/v1/models", _ModelList, api_key).data]
        if not names:
            raise SmokeFailed(f"{endpoint}/v1/models lists no model")
        listed = _shown(", ".join(names), api_key)
        if model is not None and model not in names:
            raise SmokeFailed(f"{endpoint} serves {listed}, not {model}")
        report.model = model or names[0]
        report.checks.append(Check("models", time.monotonic() - started, listed))
        completion = prove_generation(
            endpoint,
            report.model,
            api_key,
            timeout=GENERATION_TIMEOUT_SECONDS,
            client=client,
            deadline=deadline,
        )
    report.checks.append(completion)
    report.sample = completion.detail
    return report

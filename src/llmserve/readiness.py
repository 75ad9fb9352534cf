"""Is the engine ready, and does it really generate?

Neither engine listens until it is ready, so a refused or reset connection means "not yet" as long
as the engine is alive. A 200 from /health is not proof of generation: `prove_generation` sends
one tiny request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llmserve.errors import ReadyTimeout, SmokeFailed, SpecError

POLL_SECONDS = 0.05
HEALTH_TIMEOUT_SECONDS = 2.0
GENERATION_TIMEOUT_SECONDS = 120.0
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
    import httpx

    started = time.monotonic()
    next_progress = started + PROGRESS_EVERY_SECONDS
    with httpx.Client(timeout=HEALTH_TIMEOUT_SECONDS) as client:
        while True:
            code = exit_code()
            if code is not None:
                raise EngineGone(code)
            try:
                if client.get(f"{endpoint}/health").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
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


def prove_generation(
    endpoint: str, model: str, api_key: str | None, *, timeout: float = GENERATION_TIMEOUT_SECONDS
) -> Check:
    """One tiny completion; raises SmokeFailed unless the server generated tokens."""
    import httpx

    started = time.monotonic()
    payload = {
        "model": model,
        "prompt": SMOKE_PROMPT,
        "max_tokens": SMOKE_MAX_TOKENS,
        "temperature": 0,
    }
    try:
        response = httpx.post(
            f"{endpoint}/v1/completions", json=payload, headers=_headers(api_key), timeout=timeout
        )
    except httpx.HTTPError as error:
        raise SmokeFailed(f"POST {endpoint}/v1/completions failed: {type(error).__name__}") from None
    body = _json_body(response, "/v1/completions")
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict) or not isinstance(choices[0].get("text"), str):
        raise SmokeFailed(f"{endpoint}/v1/completions answered without generated text")
    usage = body.get("usage") or {}
    tokens = usage.get("completion_tokens")
    if isinstance(tokens, int) and tokens < 1:
        raise SmokeFailed(f"{endpoint}/v1/completions generated no tokens")
    text = choices[0]["text"]
    return Check("completion", time.monotonic() - started, f"{tokens or '?'} tokens: {text!r}")


def _json_body(response: Any, route: str) -> Any:
    if response.status_code == 401:
        raise SmokeFailed(f"{route} answered 401: the server wants an API key (--api-key-file)")
    if response.status_code != 200:
        raise SmokeFailed(f"{route} answered HTTP {response.status_code}: {response.text[:200]}")
    try:
        return response.json()
    except ValueError:
        raise SmokeFailed(f"{route} answered something that is not JSON") from None


def _checked_url(endpoint: str) -> str:
    import httpx

    try:
        url = httpx.URL(endpoint)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise SpecError(f"{endpoint!r} is not an http(s) URL; give one like http://127.0.0.1:8000")
    return endpoint


def smoke(endpoint: str, model: str | None, api_key: str | None) -> SmokeReport:
    """Check /health, /v1/models and one completion against any TGI or vLLM endpoint."""
    import httpx

    endpoint = _checked_url(endpoint.rstrip("/"))
    report = SmokeReport(endpoint=endpoint, model=model or "")
    with httpx.Client(timeout=HEALTH_TIMEOUT_SECONDS * 5, headers=_headers(api_key)) as client:
        started = time.monotonic()
        try:
            health = client.get(f"{endpoint}/health")
        except httpx.HTTPError as error:
            raise SmokeFailed(
                f"{endpoint}/health did not answer ({type(error).__name__}); is the server up?"
            ) from None
        if health.status_code != 200:
            raise SmokeFailed(f"{endpoint}/health answered HTTP {health.status_code}")
        report.checks.append(Check("health", time.monotonic() - started, "200"))
        started = time.monotonic()
        try:
            models = _json_body(client.get(f"{endpoint}/v1/models"), "/v1/models")
        except httpx.HTTPError as error:
            raise SmokeFailed(f"{endpoint}/v1/models failed: {type(error).__name__}") from None
        names = [m.get("id") for m in models.get("data", []) if isinstance(m, dict)]
        if not names:
            raise SmokeFailed(f"{endpoint}/v1/models lists no model")
        if model is not None and model not in names:
            raise SmokeFailed(f"{endpoint} serves {', '.join(map(str, names))}, not {model}")
        report.model = model or str(names[0])
        report.checks.append(Check("models", time.monotonic() - started, ", ".join(map(str, names))))
    completion = prove_generation(endpoint, report.model, api_key)
    report.checks.append(completion)
    report.sample = completion.detail
    return report

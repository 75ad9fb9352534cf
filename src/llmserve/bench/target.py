"""The server under test: which model it serves, which engine and version it is, its tokenizer.

vLLM answers `GET /version` and tokenizes with `POST /tokenize` {"prompt"} (and `/detokenize`);
TGI answers `GET /info` and tokenizes with `POST /tokenize` {"inputs"} (tokens with offsets).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmserve.bounded_http import checked_url
from llmserve.errors import SmokeFailed

PROBE_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Target:
    url: str
    model: str
    engine: str  # vllm, tgi or unknown
    engine_version: str | None

    @property
    def supports_ignore_eos(self) -> bool:
        return self.engine == "vllm"

    @property
    def reports_usage_per_chunk(self) -> bool:
        return self.engine == "vllm"  # stream_options.continuous_usage_stats


def _get(client: Any, url: str) -> Any:
    """A JSON body, or None when the route is missing or answers something else."""
    import httpx

    try:
        response = client.get(url)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def probe(url: str, model: str | None, headers: dict[str, str]) -> Target:
    """Ask the server what it serves and what it is; SmokeFailed when it does not answer."""
    import httpx

    url = checked_url(url.rstrip("/"))
    with httpx.Client(headers=headers, timeout=PROBE_TIMEOUT_S) as client:
        try:
            response = client.get(f"{url}/v1/models")
        except httpx.HTTPError as error:
            raise SmokeFailed(
                f"{url}/v1/models did not answer ({type(error).__name__}); is the server up?"
            ) from None
        if response.status_code == 401:
            raise SmokeFailed(f"{url}/v1/models answered 401: the server wants an API key (--api-key-file)")
        listed = _get(client, f"{url}/v1/models")
        data = listed.get("data") if isinstance(listed, dict) else None
        names = [m.get("id") for m in data or [] if isinstance(m, dict)]
        if not names:
            raise SmokeFailed(f"{url}/v1/models lists no model")
        if model is not None and model not in names:
            raise SmokeFailed(f"{url} serves {', '.join(map(str, names))}, not {model}; fix --model")
        info = _get(client, f"{url}/info")
        if isinstance(info, dict) and "model_id" in info:
            return Target(url, model or str(names[0]), "tgi", _text(info.get("version")))
        version = _get(client, f"{url}/version")
        if isinstance(version, dict) and "version" in version:
            return Target(url, model or str(names[0]), "vllm", _text(version.get("version")))
    return Target(url, model or str(names[0]), "unknown", None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)

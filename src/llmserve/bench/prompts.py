"""Prompts: synthetic ones of exactly N tokens as the server's tokenizer counts them, or the user's.

Every synthetic prompt is different (seeded random words), so that prefix caching cannot make a
benchmark look faster than traffic would be, as with vLLM's random dataset.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmserve.bench.target import Target
from llmserve.errors import SpecError

WORDS = (  # noqa: SIM905
    "time year people way day man thing woman life child world school state family student group "
    "country problem hand part place case week company system program question work government "
    "number night point home water room mother area money story fact month lot right study book "
    "eye job word business issue side kind head house service friend father power hour game line "
    "end member law car city community name president team minute idea kid body information back "
    "parent face others level office door health person art war history party result change "
    "morning reason research girl guy moment air teacher force education river light music"
).split()
ADJUSTMENTS = (0, -1, 1, -2, 2)  # cut lengths to try when a cut re-tokenizes to another length
TOKENIZE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class Prompt:
    text: str | None = None
    messages: list[dict[str, Any]] | None = None
    input_tokens: int | None = None  # as the server's tokenizer counts the text
    output_tokens: int | None = None  # the user's own max_tokens for this prompt


@dataclass(frozen=True)
class PromptSet:
    prompts: list[Prompt]
    source: str  # what made them, for the report
    warnings: tuple[str, ...] = ()


class _Tokenizer:
    """The server's tokenize route: vLLM's /tokenize + /detokenize, or TGI's /tokenize offsets."""

    def __init__(self, client: Any, target: Target) -> None:
        self.client = client
        self.target = target
        self.route = f"{target.url}/tokenize"

    def ids(self, text: str) -> list[Any]:
        if self.target.engine == "tgi":
            response = self.client.post(self.route, json={"inputs": text})
            response.raise_for_status()
            # TGI adds the model's special tokens; they have empty offsets and are not the prompt's.
            return [t for t in response.json() if t.get("stop", 0) > t.get("start", 0)]
        body = {"model": self.target.model, "prompt": text, "add_special_tokens": False}
        response = self.client.post(self.route, json=body)
        response.raise_for_status()
        return list(response.json()["tokens"])

    def cut(self, text: str, tokens: list[Any], count: int) -> str:
        if self.target.engine == "tgi":
            return text[: tokens[count - 1]["stop"]]
        body = {"model": self.target.model, "tokens": tokens[:count]}
        response = self.client.post(f"{self.target.url}/detokenize", json=body)
        response.raise_for_status()
        return str(response.json()["prompt"])

    def exact(self, text: str, count: int) -> tuple[str, int]:
        tokens = self.ids(text)
        while len(tokens) < count + max(ADJUSTMENTS):
            text = f"{text} {text}"
            tokens = self.ids(text)
        best = ("", 0)
        for adjustment in ADJUSTMENTS:
            candidate = self.cut(text, tokens, count + adjustment)
            counted = len(self.ids(candidate))
            if counted == count:
                return candidate, counted
            if abs(counted - count) < abs(best[1] - count):
                best = (candidate, counted)
        return best


def synthetic(target: Target, headers: dict[str, str], count: int, input_tokens: int, seed: int) -> PromptSet:
    """`count` different prompts of `input_tokens` tokens each, by the server's own tokenizer."""
    import httpx

    rng = random.Random(seed)
    texts = [" ".join(rng.choices(WORDS, k=input_tokens * 2)) for _ in range(count)]
    with httpx.Client(headers=headers, timeout=TOKENIZE_TIMEOUT_S) as client:
        tokenizer = _Tokenizer(client, target)
        try:
            made = [tokenizer.exact(text, input_tokens) for text in texts]
        except (httpx.HTTPError, ValueError, KeyError, TypeError, IndexError, AttributeError):
            made = []
    if not made:
        words = [" ".join(text.split()[:input_tokens]) for text in texts]
        warning = (
            f"{target.url} has no tokenize route llmserve can use; prompts are {input_tokens} words, "
            "about as many tokens; the input lengths reported come from the server's usage"
        )
        return PromptSet([Prompt(text=w) for w in words], f"estimate: {input_tokens} words", (warning,))
    prompts = [Prompt(text=text, input_tokens=counted) for text, counted in made]
    warnings: tuple[str, ...] = ()
    inexact = sum(1 for _, counted in made if counted != input_tokens)
    if inexact:
        warnings = (f"{inexact} prompt(s) could not be cut to exactly {input_tokens} tokens (±2 at most)",)
    route = "POST /tokenize (TGI)" if target.engine == "tgi" else "POST /tokenize and /detokenize (vLLM)"
    return PromptSet(prompts, f"synthetic, {input_tokens} tokens by the server's {route}", warnings)


def from_file(path: Path) -> PromptSet:
    """JSON Lines: {"prompt": "..."} or {"messages": [...]}, with an optional "max_tokens"."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise SpecError(
            f"--prompts {path}: cannot read it ({type(error).__name__}); give a JSONL file"
        ) from None
    prompts: list[Prompt] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            item = None
        text = item.get("prompt") if isinstance(item, dict) else None
        messages = item.get("messages") if isinstance(item, dict) else None
        max_tokens = item.get("max_tokens") if isinstance(item, dict) else None
        valid_text = isinstance(text, str) and text
        valid_messages = isinstance(messages, list) and messages
        if not (valid_text or valid_messages) or not (max_tokens is None or isinstance(max_tokens, int)):
            raise SpecError(
                f'--prompts {path}:{number}: each line must be {{"prompt": "..."}} or '
                '{"messages": [...]}, with an optional integer "max_tokens"'
            )
        prompts.append(
            Prompt(text=text if valid_text else None, messages=messages if valid_messages else None,
                   output_tokens=max_tokens)
        )  # fmt: skip
    if not prompts:
        raise SpecError(f"--prompts {path} has no prompt; write one JSON object per line")
    return PromptSet(prompts, f"file {path.name}")

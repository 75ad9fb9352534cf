"""The one secret policy: what counts as a secret, and how every output hides it.

Three rules, applied together by `redact` (text), `mask_args` (argument lists) and `mask_env`:
- a value given to an engine's secret flag (`--api-key S`, `--api-key=S`), or to a flag or an
  environment variable whose name looks secret (token, key, secret, password, passwd, credential,
  auth; any case), is shown as `***`;
- every secret value llmserve has seen (spec secrets, secret files, secret-looking variables of its
  environment) is replaced by `***` wherever it appears, however it got there;
- `Authorization: Bearer S` and quoted `"api_key": "S"` pairs in free text (logs, HTTP bodies).
Every printer (the console, `llmserve logs`, forwarded engine logs, state records) goes through it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping, Sequence

MASK = "***"
# Shorter values ("1", "on") would mask ordinary words in every line.
MIN_SECRET_LENGTH = 4
# Values of this process's own environment are masked only when long enough not to be ordinary words
# ("true", "auto"): a variable named *_KEY=true must not turn every `true` into ***.
MIN_AMBIENT_SECRET_LENGTH = 8
# "tokens" counts (max_total_tokens) and "tokenizer" names a model: neither is a secret.
_SECRET_WORD = re.compile(r"secret|passw(?:or)?d|credential|auth|key|token(?!s|izer)", re.IGNORECASE)
# References, placeholders and stdin say where a secret comes from; they are not secret themselves.
_NOT_A_VALUE = ("env:", "file:", "$", "<", "/dev/std", "/dev/fd/", MASK)
_QUOTED_OR_WORD = r"(\"[^\"]*\"|'[^']*'|[^\s'\",;)}\]]+)"
_FLAG_VALUE = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)(=|[ \t]+)" + _QUOTED_OR_WORD)
_ASSIGNMENT = re.compile(r"(?<![\w-])([A-Za-z_][A-Za-z0-9_]*)=" + _QUOTED_OR_WORD)
_QUOTED_PAIR = re.compile(r"([\"']?)([A-Za-z_][\w-]*)\1(\s*[:=]\s*(?:Some\()?)(\"[^\"]*\"|'[^']*')")
# A credential is at least 8 characters: "no basic auth credentials" (Docker's words) is not one.
_AUTHORIZATION = re.compile(r"\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# Lines without any of these (most log lines: "tokens/s") skip the pattern rules.
# Lines without any of these (most log lines: "tokens/s") skip the pattern rules. Searched in the
# lower-cased line: much faster than an IGNORECASE search, and log forwarding runs it on every line.
_TRIGGER = re.compile(_SECRET_WORD.pattern + r"|bearer|basic")
# `--ssl-keyfile PATH`, `--api-key-file PATH`: the value says where a secret is, not what it is.
_NAMES_A_PLACE = re.compile(r"(file|path|dir)$", re.IGNORECASE)
# In prose ("--api-key carries a secret") the word after a flag is no value: a secret is not one
# lower-case word. Argument lists are masked by position (`mask_args`), not by this guess.
_PROSE_WORD = re.compile(r"[a-z]+")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")

_known: set[str] = set()
_generation = [0]  # bumped when _known changes: compiled patterns are rebuilt


def is_secret_name(name: str) -> bool:
    """An environment variable or flag name that looks like it holds a secret (any case)."""
    return bool(_SECRET_WORD.search(name))


@functools.cache
def _engine_secret_flags() -> frozenset[str]:
    from llmserve.engines.flags import TGI_FLAGS, VLLM_FLAGS

    return frozenset(f.name for f in (*TGI_FLAGS.values(), *VLLM_FLAGS.values()) if f.kind == "secret")


def is_secret_flag(word: str) -> bool:
    """`--api-key`, `--api-key=…`, `--ngrok-authtoken`, or any flag whose name looks secret."""
    if not word.startswith("-"):
        return False
    name = word.lstrip("-").split("=", 1)[0]
    if name in _engine_secret_flags():
        return True
    return bool(name) and is_secret_name(name) and not _NAMES_A_PLACE.search(name)


def remember(*values: str | None) -> None:
    """Mask these values wherever they appear in llmserve's output from now on."""
    new = {v for v in values if v and len(v) >= MIN_SECRET_LENGTH and not v.startswith(_NOT_A_VALUE)}
    if not new <= _known:
        _known.update(new)
        _generation[0] += 1


def reset() -> None:
    """Forget every remembered value and re-read the environment (for a fresh run, as in tests)."""
    _known.clear()
    _generation[0] += 1
    _ambient_secrets.cache_clear()


def secret_values_of(env_pairs: Iterable[str]) -> list[str]:
    """Values of the secret-named variables among `NAME=value` pairs (a container's or process's)."""
    values = []
    for pair in env_pairs:
        name, _, value = pair.partition("=")
        if len(value) >= MIN_SECRET_LENGTH and is_secret_name(name):
            values.append(value)
    return values


@functools.cache
def _ambient_secrets() -> frozenset[str]:
    pairs = (f"{name}={value}" for name, value in os.environ.items())
    return frozenset(v for v in secret_values_of(pairs) if len(v) >= MIN_AMBIENT_SECRET_LENGTH)


def _scan(argv: Sequence[str]) -> Iterable[tuple[str, str | None]]:
    """Each word as shown, with the secret value it hides (None when it hides nothing)."""
    hide_next = False
    for word in argv:
        if hide_next and not word.startswith("--"):
            hide_next = False
            yield MASK, word
            continue
        hide_next = False
        name, eq, value = word.partition("=")
        if word.startswith("-") and is_secret_flag(word):
            hide_next = not eq
            yield (f"{name}={MASK}", value) if eq and value else (word, None)
        elif eq and value and not word.startswith("-") and is_secret_name(name):
            yield f"{name}={MASK}", value
        else:
            yield word, None


def mask_args(argv: Sequence[str]) -> list[str]:
    """Argument words with the values of secret flags and secret-named assignments masked."""
    return [_replace_known(shown) if hidden is None else shown for shown, hidden in _scan(argv)]


def secret_values_in_args(argv: Sequence[str]) -> list[str]:
    """The values that `mask_args` hides."""
    return [hidden for _, hidden in _scan(argv) if hidden]


def mask_env(env: Mapping[str, str], secret_names: Iterable[str] = ()) -> dict[str, str]:
    """An environment with the values of the named and the secret-looking variables masked."""
    named = set(secret_names)
    return {k: MASK if (k in named or is_secret_name(k)) and v else v for k, v in env.items()}


def _hidden(value: str) -> str:
    quote = value[0] if value[:1] in ("'", '"') else ""
    inner = value[1:-1] if quote else value
    if not inner or inner.startswith(_NOT_A_VALUE) or inner.startswith("-"):
        return value
    return f"{quote}{MASK}{quote}"


def _flag_value(match: re.Match[str]) -> str:
    flag, separator, value = match[1], match[2], match[3]
    if not is_secret_flag(flag) or (separator != "=" and _PROSE_WORD.fullmatch(value)):
        return match[0]
    return flag + separator + _hidden(value)


class Redactor:
    """The policy with a fixed set of extra secrets (a server's), compiled once for many lines."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        self._extra = frozenset(v for v in extra if v and len(v) >= MIN_SECRET_LENGTH)
        self._generation = -1
        self._known: re.Pattern[str] | None = None

    def known_replaced(self, text: str) -> str:
        if self._generation != _generation[0]:
            values = sorted(_known | _ambient_secrets() | self._extra, key=len, reverse=True)
            # Longest first: a secret that contains another is masked whole.
            self._known = re.compile("|".join(map(re.escape, values))) if values else None
            self._generation = _generation[0]
        return self._known.sub(MASK, text) if self._known is not None else text

    def text(self, text: str) -> str:
        """Free text (a message, a log line, an HTTP body) with every secret in it masked."""
        text = self.known_replaced(text)
        if not _TRIGGER.search(text.lower()):
            return text
        text = _AUTHORIZATION.sub(lambda m: m[1] + m[2] + _hidden(m[3]), text)
        text = _FLAG_VALUE.sub(_flag_value, text)
        text = _ASSIGNMENT.sub(lambda m: m[1] + "=" + (_hidden(m[2]) if is_secret_name(m[1]) else m[2]), text)
        return _QUOTED_PAIR.sub(
            lambda m: m[1] + m[2] + m[1] + m[3] + (_hidden(m[4]) if is_secret_name(m[2]) else m[4]), text
        )

    def bytes(self, line: bytes) -> bytes:
        """`text` for raw log lines, whatever their encoding."""
        text = line.decode("utf-8", errors="surrogateescape")
        redacted = self.text(text)
        return line if redacted == text else redacted.encode("utf-8", errors="surrogateescape")


_DEFAULT = Redactor()


def _replace_known(text: str) -> str:
    return _DEFAULT.known_replaced(text)


def holds_secret(text: str) -> bool:
    """Whether `text` holds a secret value llmserve has seen (which every output would mask)."""
    return _replace_known(text) != text


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """Free text (a message, a log line, an HTTP body) with every secret in it masked."""
    return (Redactor(extra) if extra else _DEFAULT).text(text)


def redact_bytes(line: bytes, extra: Iterable[str] = ()) -> bytes:
    """`redact` for raw log lines, whatever their encoding."""
    return (Redactor(extra) if extra else _DEFAULT).bytes(line)


def one_line(text: str, limit: int = 200, extra: Iterable[str] = ()) -> str:
    """Foreign text (an HTTP body) as one clean line: secrets masked, controls gone, cut to `limit`."""
    text = _CONTROL.sub(" ", _ANSI.sub("", redact(text, extra)))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def masked_word(word: str) -> str:
    """A malformed `NAME…` word shown without what may be a secret after the name."""
    name = re.match(r"[A-Za-z_][A-Za-z0-9_]*", word)
    shown = name[0] if name else ""
    return shown if shown == word else f"{shown}…"

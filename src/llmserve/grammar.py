"""The grammar of the spec's string values, as regular expressions the JSON Schema carries too.

Each pattern is anchored with `^` and `\\Z` (not `$`, which lets a trailing newline through), and
is written for Python's `re`, which both pydantic (regex_engine="python-re") and the schema's
validators in the tests use.
"""

from __future__ import annotations

import re

END = r"\Z"

HUB_ID = r"(?!.*(?:\.\.|--))(?:[A-Za-z0-9][A-Za-z0-9._-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
PATH_LIKE = r"(?:/|\./|\.\./|~)[^\x00]*|\.|\.\."
MODEL = rf"^(?:{HUB_ID}|{PATH_LIKE}){END}"

ENV_NAME = rf"^[A-Za-z_][A-Za-z0-9_]*{END}"
ENV_VALUE = rf"^[^\x00]*{END}"
SIZE = rf"^[0-9]+(?:\.[0-9]+)?[bkmgBKMG]?{END}"
GPUS = rf"^(?:all|none|(?!(?:[0-9]+,)*([0-9]+),(?:[0-9]+,)*\1(?:,|{END}))[0-9]+(?:,[0-9]+)*){END}"
# A branch, tag or commit, by git's check-ref-format rules (and never a word the engine could read as
# a flag): no `..`, no empty part (`//`, a trailing `/`), no part starting with `.` or ending with
# `.lock`, no trailing `.`; the characters leave out `~^:?*[\@{`, spaces and controls.
_REVISION_REFUSED = rf"(?!.*(?:\.\.|//|/\.|\.lock(?:/|{END})))"
REVISION = rf"^{_REVISION_REFUSED}[A-Za-z0-9_][A-Za-z0-9._/+-]{{0,255}}(?<![./]){END}"
# What vLLM's parser takes as one name: spaces inside are fine; not a leading '-' (an option).
SERVED_NAME = rf"^[^\s\x00-\x1f\x7f-](?:[^\x00-\x1f\x7f]{{0,254}}[^\s\x00-\x1f\x7f])?{END}"
LORA = rf"^[^\s=-][^\s=]*(?:=[^\s]+)?{END}"
ONE_LINE = rf"^[^\x00-\x1f\x7f]+{END}"  # a path or a name: printable, on one line
VOLUME = rf"^(?:none|[^:\x00-\x1f\x7f]+){END}"
# A vLLM version as pip and vLLM print it: 0.13.0, v0.10.1rc1, 0.11.0.post1, 0.13.0+cpu.
VLLM_VERSION = rf"^v?[0-9]+\.[0-9]+(?:\.[0-9]+)?(?:\.?(?:a|b|rc|post|dev)[0-9]+)*(?:\+[A-Za-z0-9.]+)?{END}"

# Docker's image reference grammar (distribution/reference), pinned: a tag other than `latest`, a
# digest, or both.
_DOMAIN_COMPONENT = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE = rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?{END}"
PINNED_IMAGE = (
    rf"^(?=.{{1,255}}(?:@|{END})){_NAME}(?::(?!latest(?:@|{END})){_TAG}(?:@{_DIGEST})?|@{_DIGEST}){END}"
)

SECRET_REFERENCE_ENV = "env:"
SECRET_REFERENCE_FILE = "file:"
# A secret: a reference to where it lives (env:NAME, file:PATH), or the secret itself on one line.
SECRET = rf"^(?:env:[A-Za-z_][A-Za-z0-9_]*|file:[^\x00-\x1f\x7f]+|(?!env:|file:)[^\x00-\x1f\x7f]+){END}"

# Engine flags llmserve sets itself, for either engine, and the llmserve option that sets them.
MANAGED_ENGINE_FLAGS: dict[str, str] = {
    "host": "--host (host: in a spec file)",
    "hostname": "--host (host: in a spec file)",
    "port": "--port (port: in a spec file)",
    "model": "the MODEL argument (model: in a spec file)",
    "model-id": "the MODEL argument (model: in a spec file)",
    "api-key": "--api-key-file or $LLMSERVE_API_KEY (api_key: in a spec file)",
    "hf-token": "--hf-token-file or $HF_TOKEN (hf_token: in a spec file)",
}
SECRET_OPTIONS = frozenset({MANAGED_ENGINE_FLAGS["api-key"], MANAGED_ENGINE_FLAGS["hf-token"]})
# vLLM's argparse takes unambiguous prefixes (--ho) and underscores (--api_key) too.
_SHORTEST_PREFIX = 2


def _managed_flag_alternatives() -> list[str]:
    names: set[str] = set()
    for name in MANAGED_ENGINE_FLAGS:
        for length in range(_SHORTEST_PREFIX, len(name) + 1):
            prefix = name[:length]
            names.add("[-_]".join(re.escape(part) for part in prefix.split("-")))
    return sorted(names, key=len, reverse=True)


MANAGED_ENGINE_FLAG = rf"^(?:--(?:{'|'.join(_managed_flag_alternatives())})(?:=|{END})|-p(?:=|[0-9]|{END}))"
ENGINE_ARG = rf"^(?!{MANAGED_ENGINE_FLAG[1:]})[^\x00]*{END}"


def managed_flag_option(word: str) -> str | None:
    """The llmserve option to use instead of a managed engine flag `word`, if it is one."""
    if not re.match(MANAGED_ENGINE_FLAG, word):
        return None
    if re.match(r"^-p(?:=|[0-9]|\Z)", word):
        return MANAGED_ENGINE_FLAGS["port"]
    name = word.lstrip("-").split("=", 1)[0].replace("_", "-")
    return next(option for flag, option in MANAGED_ENGINE_FLAGS.items() if flag.startswith(name))


def matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None

"""Why an image pull failed, from the Docker daemon's own message, and what to do about it.

Pure: the daemon's text in, one cause and one fix out. The daemon's explanation is kept in the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmserve.errors import ExitCode
from llmserve.spec import DEFAULT_TGI_IMAGE, DEFAULT_VLLM_CPU_IMAGE, DEFAULT_VLLM_IMAGE

DOCKER_HUB = "docker.io"
PINNED_IMAGES = frozenset({DEFAULT_TGI_IMAGE, DEFAULT_VLLM_IMAGE, DEFAULT_VLLM_CPU_IMAGE})
_MAX_DAEMON_TEXT = 240


@dataclass(frozen=True)
class PullFailure:
    cause: str
    fix: str
    exit_code: ExitCode


@dataclass(frozen=True)
class _Class:
    pattern: str
    cause: str
    fix: str
    exit_code: ExitCode = ExitCode.ENVIRONMENT


_OFFLINE_FIX = (
    "check the network or the daemon's proxy settings, or put the image on this machine "
    "(`docker load`, or a local tag with --image) and use --pull never"
)
# The first class whose pattern is in the message wins: the most specific first.
_CLASSES = (
    _Class(
        r"toomanyrequests|pull rate limit|429 Too Many Requests",
        "{registry} refuses more pulls for now (rate limited)",
        "`docker login {registry}` (authenticated pulls have a higher limit), wait, or use a mirror",
    ),
    _Class(
        r"no space left on device",
        "the Docker engine's disk is full",
        "free space where Docker keeps images (`docker system df`, `docker image prune`), then retry",
    ),
    _Class(
        r"no basic auth credentials|unauthorized|authentication required|denied: requested access|"
        r"pull access denied|incorrect username or password",
        "{registry} wants credentials this Docker engine does not have (or the repository does not exist)",
        "`docker login {registry}`, and check the image name",
    ),
    _Class(
        r"manifest unknown|manifest for .* not found|not found: manifest|name unknown|"
        r"repository name not known",
        "{registry} has no {image}",
        "{tag_advice}",
        ExitCode.USAGE,
    ),
    _Class(
        r"server gave HTTP response to HTTPS client",
        "{registry} speaks plain http and the Docker engine asks for https",
        "add {registry} to the daemon's insecure-registries (/etc/docker/daemon.json) and restart it",
    ),
    _Class(
        r"no such host|server misbehaving|Temporary failure in name resolution|lookup .* on ",
        "{registry} cannot be resolved (DNS): this machine cannot reach it",
        _OFFLINE_FIX,
    ),
    _Class(
        r"connection refused|connect: network is unreachable|no route to host|proxyconnect",
        "{registry} is unreachable (connection refused or no route)",
        _OFFLINE_FIX,
    ),
    _Class(
        r"i/o timeout|Client\.Timeout exceeded|TLS handshake timeout|context deadline exceeded|"
        r"request canceled while waiting for connection",
        "{registry} did not answer in time (timeout)",
        _OFFLINE_FIX,
    ),
)
_UNKNOWN = _Class(
    r"",
    "{registry} refused {image}",
    "check the image name and the registry, or put the image on this machine (`docker load`) "
    "and use --pull never",
    ExitCode.FAILURE,
)


def registry_of(image: str) -> str:
    """The registry host an image reference names (Docker's rule: a first part with . or : or localhost)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def tag_of(image: str) -> str:
    name = image.partition("@")[0]
    last = name.rpartition("/")[2]
    return last.rpartition(":")[2] if ":" in last else "latest"


def classify(daemon_message: str, image: str) -> PullFailure:
    """The cause (with the daemon's own words) and the fix for a failed pull of `image`."""
    found = next((c for c in _CLASSES if re.search(c.pattern, daemon_message, re.IGNORECASE)), _UNKNOWN)
    tag = tag_of(image)
    tag_advice = (
        f"llmserve pins tag {tag}; give a tag that exists with --image, or load the image locally"
        if image in PINNED_IMAGES
        else f"check that tag {tag} exists (llmserve's defaults are pinned), or give another with --image"
    )
    values = {"registry": registry_of(image), "image": image, "tag_advice": tag_advice}
    said = _daemon_text(daemon_message)
    return PullFailure(
        cause=f"{found.cause.format(**values)} ({said})",
        fix=found.fix.format(**values),
        exit_code=found.exit_code,
    )


def _daemon_text(message: str) -> str:
    """The daemon's explanation on one line, without the SDK's request URL wrapping it."""
    text = " ".join(message.split())
    wrapped = re.search(r'Server Error for http\+docker://\S+: [^(]*\("(.*)"\)$', text)
    if wrapped:
        text = wrapped.group(1)
    return text[:_MAX_DAEMON_TEXT]

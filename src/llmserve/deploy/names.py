"""Kubernetes names from any model id: valid DNS labels, stable across runs, apart for different models."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from llmserve.deploy.settings import MAX_NAME_LENGTH
from llmserve.spec import ServeSpec

_HASH_LENGTH = 6


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def dns_label(text: str, limit: int = MAX_NAME_LENGTH) -> str:
    """`text` as a DNS-1035 label of at most `limit` characters; a hash of `text` keeps cut names apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"m-{slug}".rstrip("-")
    if len(slug) <= limit:
        return slug
    return f"{slug[: limit - _HASH_LENGTH - 1].rstrip('-')}-{_digest(text)}"


def workload_name(spec: ServeSpec) -> str:
    """The objects' name: the spec's deploy.name, or the engine and the whole model id (organisation
    too: `org-a/llama` and `org-b/llama` are different models). A local directory gives its name and a
    hash of its path, so that two directories named alike stay apart and the name shows no path."""
    if spec.deploy.name:
        return spec.deploy.name
    if spec.is_local_model:
        return dns_label(f"{spec.engine}-{PurePosixPath(spec.model).name}-{_digest(spec.model)}")
    return dns_label(f"{spec.engine}-{spec.model}")

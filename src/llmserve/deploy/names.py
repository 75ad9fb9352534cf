"""Kubernetes names from any model id: valid DNS labels, stable across runs."""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from llmserve.deploy.settings import MAX_NAME_LENGTH
from llmserve.spec import ServeSpec

_HASH_LENGTH = 6


def dns_label(text: str, limit: int = MAX_NAME_LENGTH) -> str:
    """`text` as a DNS-1035 label of at most `limit` characters; a hash of `text` keeps cut names apart."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if not slug or not slug[0].isalpha():
        slug = f"m-{slug}".rstrip("-")
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]
    return f"{slug[: limit - _HASH_LENGTH - 1].rstrip('-')}-{digest}"


def workload_name(spec: ServeSpec) -> str:
    """The objects' name: the spec's deploy.name, or the engine and the model's own name."""
    if spec.deploy.name:
        return spec.deploy.name
    return dns_label(f"{spec.engine}-{PurePosixPath(spec.model).name}")

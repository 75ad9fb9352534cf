"""Offline checks of rendered objects: Kubernetes' own OpenAPI schemas and LeaderWorkerSet's CRD schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

# The oldest and newest Kubernetes versions kubernetes-validate carries; llmserve supports both ends.
KUBERNETES_VERSIONS = ("1.25", "1.37")
LWS_CRD = Path(__file__).parents[1] / "fixtures" / "lws" / "leaderworkerset.x-k8s.io_leaderworkersets.yaml"


def _strict(schema: Any) -> Any:
    """The schema with unknown fields as errors, as `kubectl apply` (strict field validation) treats them."""
    if isinstance(schema, dict):
        schema = {key: _strict(value) for key, value in schema.items()}
        if (
            schema.get("type") == "object"
            and "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    return schema


@functools.cache
def lws_schema() -> dict[str, Any]:
    crd = yaml.safe_load(LWS_CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return dict(_strict(version["schema"]["openAPIV3Schema"]))


def validate_lws(document: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.Draft7Validator(lws_schema()).validate(document)


def validate_kubernetes(document: dict[str, Any], version: str) -> None:
    """Strict validation against the official schema of `version`; LeaderWorkerSets against their CRD,
    and their pod templates against Kubernetes' PodTemplate schema."""
    import kubernetes_validate

    if document["kind"] == "LeaderWorkerSet":
        validate_lws(document)
        templates = document["spec"]["leaderWorkerTemplate"]
        for key in ("leaderTemplate", "workerTemplate"):
            wrapper = {
                "apiVersion": "v1",
                "kind": "PodTemplate",
                "metadata": {"name": "check"},
                "template": templates[key],
            }
            kubernetes_validate.validate(wrapper, version, strict=True)
        return
    kubernetes_validate.validate(document, version, strict=True)

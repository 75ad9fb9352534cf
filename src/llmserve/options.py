"""The serve commands' options and the spec fields they set, shared by the CLI and `convert`."""

from __future__ import annotations

import shlex
from typing import Any

# option parameter name -> spec field (dotted). The option's flag is `--` + the name with dashes.
OPTION_FIELDS: dict[str, str] = {
    "revision": "revision", "runtime": "runtime", "host": "host", "port": "port", "gpus": "gpus",
    "tensor_parallel_size": "tensor_parallel_size", "dtype": "dtype", "quantization": "quantization",
    "max_model_len": "max_model_len", "trust_remote_code": "trust_remote_code",
    "served_model_name": "served_model_name", "image": "image", "pull": "pull",
    "shm_size": "shm_size", "volume": "volume",
    "max_input_tokens": "tgi.max_input_tokens", "max_batch_prefill_tokens": "tgi.max_batch_prefill_tokens",
    "max_batch_total_tokens": "tgi.max_batch_total_tokens",
    "max_concurrent_requests": "tgi.max_concurrent_requests",
    "impl": "vllm.impl", "vllm_python": "vllm.python", "vllm_version": "vllm.version",
    "gpu_memory_utilization": "vllm.gpu_memory_utilization", "enforce_eager": "vllm.enforce_eager",
    "cpu_kvcache_space": "vllm.cpu_kvcache_space",
}  # fmt: skip

# Options of `render` (and of the serve commands with --render) that set the spec's deploy section.
DEPLOY_OPTION_FIELDS: dict[str, str] = {
    "namespace": "deploy.namespace", "replicas": "deploy.replicas", "nodes": "deploy.nodes",
    "deploy_name": "deploy.name", "service_type": "deploy.service_type",
    "startup_budget": "deploy.startup_budget",
}  # fmt: skip

SECRET_REFERENCE_OPTIONS = {"api_key": "--api-key-file", "hf_token": "--hf-token-file"}


def _get(data: dict[str, Any], dotted: str) -> Any:
    section, _, key = dotted.rpartition(".")
    container = data.get(section, {}) if section else data
    return container.get(key) if isinstance(container, dict) else None


def command_line(data: dict[str, Any]) -> str:
    """The `llmserve ENGINE MODEL …` command for raw spec data (secrets by reference only)."""
    words = ["llmserve", str(data["engine"]), str(data["model"])]
    for option, dotted in OPTION_FIELDS.items():
        value = _get(data, dotted)
        flag = "--" + option.replace("_", "-")
        if value is True:
            words.append(flag)
        elif value not in (None, False):
            words += [flag, str(value)]
    for name, value in (data.get("env") or {}).items():
        words += ["-e", f"{name}={value}"]
    for adapter in data.get("lora_adapters") or []:
        words += ["--lora", adapter]
    for secret, flag in SECRET_REFERENCE_OPTIONS.items():
        reference = str(data.get(secret) or "")
        if reference.startswith("file:"):
            words += [flag, reference.removeprefix("file:")]
    if data.get("engine_args"):
        words += ["--", *data["engine_args"]]
    return shlex.join(words)

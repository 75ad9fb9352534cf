"""Every engine flag llmserve knows, and what it is to llmserve.

`kind`:
- "field": a spec field sets it (`field` names the field);
- "managed": llmserve sets it itself (listen address and port inside a container, ...);
- "secret": a secret; llmserve passes it through the environment, never argv;
- "passthrough": llmserve has no field for it; it stays an engine argument for the same engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FlagKind = Literal["field", "managed", "secret", "passthrough"]


@dataclass(frozen=True)
class Flag:
    name: str
    takes_value: bool
    kind: FlagKind
    field: str | None = None
    short: str | None = None
    multiple: bool = False  # takes every value up to the next flag (argparse nargs="+")


def _field(
    name: str, field: str, *, value: bool = True, short: str | None = None, multiple: bool = False
) -> Flag:
    return Flag(name, value, "field", field, short, multiple)


def _other(name: str, kind: FlagKind, *, value: bool = True, short: str | None = None) -> Flag:
    return Flag(name, value, kind, None, short)


# TGI 3.3's text-generation-launcher (launcher/src/main.rs, struct Args).
TGI_FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        _field("model-id", "model"),
        _field("revision", "revision"),
        _other("validation-workers", "passthrough"),
        _other("sharded", "passthrough"),
        _field("num-shard", "tensor_parallel_size"),
        _field("quantize", "quantization"),
        _other("speculate", "passthrough"),
        _field("dtype", "dtype"),
        _other("kv-cache-dtype", "passthrough"),
        _field("trust-remote-code", "trust_remote_code", value=False),
        _field("max-concurrent-requests", "tgi.max_concurrent_requests"),
        _other("max-best-of", "passthrough"),
        _other("max-stop-sequences", "passthrough"),
        _other("max-top-n-tokens", "passthrough"),
        _field("max-input-tokens", "tgi.max_input_tokens"),
        _field("max-input-length", "tgi.max_input_tokens"),
        _field("max-total-tokens", "max_model_len"),
        _other("waiting-served-ratio", "passthrough"),
        _field("max-batch-prefill-tokens", "tgi.max_batch_prefill_tokens"),
        _field("max-batch-total-tokens", "tgi.max_batch_total_tokens"),
        _other("max-waiting-tokens", "passthrough"),
        _other("max-batch-size", "passthrough"),
        _other("cuda-graphs", "passthrough"),
        _other("hostname", "managed"),
        _other("port", "managed", short="p"),
        _other("prometheus-port", "passthrough"),
        _other("shard-uds-path", "passthrough"),
        _other("master-addr", "passthrough"),
        _other("master-port", "passthrough"),
        _other("huggingface-hub-cache", "passthrough"),
        _other("weights-cache-override", "passthrough"),
        _other("disable-custom-kernels", "passthrough", value=False),
        _other("cuda-memory-fraction", "passthrough"),
        _other("rope-scaling", "passthrough"),
        _other("rope-factor", "passthrough"),
        _other("json-output", "passthrough", value=False),
        _other("otlp-endpoint", "passthrough"),
        _other("otlp-service-name", "passthrough"),
        _other("cors-allow-origin", "passthrough"),
        _other("api-key", "secret"),
        _other("watermark-gamma", "passthrough"),
        _other("watermark-delta", "passthrough"),
        _other("ngrok", "passthrough", value=False),
        _other("ngrok-authtoken", "secret"),
        _other("ngrok-edge", "passthrough"),
        _other("tokenizer-config-path", "passthrough"),
        _other("disable-grammar-support", "passthrough", value=False),
        _other("env", "passthrough", value=False, short="e"),
        _other("max-client-batch-size", "passthrough"),
        _field("lora-adapters", "lora_adapters"),
        _other("usage-stats", "passthrough"),
        _other("payload-limit", "passthrough"),
        _other("enable-prefill-logprobs", "passthrough", value=False),
        _other("graceful-termination-timeout", "passthrough"),
    )
}

# `vllm serve` flags llmserve knows (vllm/engine/arg_utils.py, vllm/entrypoints/openai/cli_args.py).
VLLM_FLAGS: dict[str, Flag] = {
    flag.name: flag
    for flag in (
        _field("model", "model"),
        _field("host", "host"),  # inside a container these are the container's own: see convert
        _field("port", "port"),
        _field("model-impl", "vllm.impl"),
        _field("trust-remote-code", "trust_remote_code", value=False),
        _field("tensor-parallel-size", "tensor_parallel_size", short="tp"),
        _other("pipeline-parallel-size", "passthrough", short="pp"),
        _other("data-parallel-size", "passthrough", short="dp"),
        _field("dtype", "dtype"),
        _field("quantization", "quantization", short="q"),
        _field("max-model-len", "max_model_len"),
        _field("gpu-memory-utilization", "vllm.gpu_memory_utilization"),
        _field("served-model-name", "served_model_name"),
        _other("api-key", "secret"),
        _other("enable-lora", "managed", value=False),
        _field("lora-modules", "lora_adapters", multiple=True),
        _field("revision", "revision"),
        _other("download-dir", "passthrough"),
        _other("generation-config", "passthrough"),
        _field("enforce-eager", "vllm.enforce_eager", value=False),
        _other("seed", "passthrough"),
        _other("distributed-executor-backend", "passthrough"),
        _other("task", "managed"),
        _other("runner", "passthrough"),
        _other("convert", "passthrough"),
        _other("max-num-seqs", "passthrough"),
        _other("max-num-batched-tokens", "passthrough"),
        _other("chat-template", "passthrough"),
        _other("tokenizer", "passthrough"),
        _other("kv-cache-dtype", "passthrough"),
        _other("enable-prefix-caching", "passthrough", value=False),
        _other("disable-log-requests", "passthrough", value=False),
        _other("uvicorn-log-level", "passthrough"),
    )
}


def lookup(table: dict[str, Flag], word: str) -> Flag | None:
    """The flag a command-line word names (`--max-model-len`, `-tp`, `-p`), if known."""
    name = word.lstrip("-").split("=", 1)[0]
    if word.startswith("--"):
        return table.get(name)
    return next((flag for flag in table.values() if flag.short == name), None)

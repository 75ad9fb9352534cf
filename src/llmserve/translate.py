"""One spec, either engine: how each field reaches TGI and vLLM, and moving a spec between them."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from llmserve.errors import SpecError

MappingKind = Literal["exact", "approximate", "tgi only", "vllm only"]


@dataclass(frozen=True)
class FieldMapping:
    field: str
    tgi: str
    vllm: str
    kind: MappingKind
    note: str = ""


FIELD_MAPPINGS: tuple[FieldMapping, ...] = (
    FieldMapping("engine", "TGI in Docker", "vLLM", "exact"),
    FieldMapping("model", "--model-id", "vllm serve MODEL", "exact"),
    FieldMapping("revision", "--revision", "--revision", "exact"),
    FieldMapping("runtime", "docker only", "process, or docker", "approximate", "TGI always runs in Docker"),
    FieldMapping("host", "docker -p HOST:…", "--host", "exact"),
    FieldMapping("port", "docker -p …:PORT:80", "--port", "exact"),
    FieldMapping("gpus", "docker --gpus", "CUDA_VISIBLE_DEVICES", "exact"),
    FieldMapping("tensor_parallel_size", "--num-shard", "--tensor-parallel-size", "exact"),
    FieldMapping("dtype", "--dtype", "--dtype", "approximate", "TGI knows float16 and bfloat16 only"),
    FieldMapping(
        "quantization",
        "--quantize",
        "--quantization",
        "approximate",
        "method names differ; some exist in one only",
    ),
    FieldMapping(
        "max_model_len",
        "--max-total-tokens",
        "--max-model-len",
        "approximate",
        "TGI also caps the prompt (tgi.max_input_tokens)",
    ),
    FieldMapping("trust_remote_code", "--trust-remote-code", "--trust-remote-code", "exact"),
    FieldMapping(
        "served_model_name", "-", "--served-model-name", "vllm only", "TGI answers to any model name"
    ),
    FieldMapping("api_key", "API_KEY (env)", "VLLM_API_KEY (env)", "exact"),
    FieldMapping("hf_token", "HF_TOKEN (env)", "HF_TOKEN (env)", "exact"),
    FieldMapping("env", "docker -e", "process environment", "exact"),
    FieldMapping("lora_adapters", "--lora-adapters", "--enable-lora --lora-modules", "exact"),
    FieldMapping(
        "engine_args", "launcher args", "vllm serve args", "approximate", "flags translated one by one"
    ),
    FieldMapping(
        "image", "docker image", "docker image (--runtime docker)", "approximate", "each engine its own image"
    ),
    FieldMapping("pull", "image pull policy", "image pull policy", "exact"),
    FieldMapping("shm_size", "docker --shm-size", "docker --shm-size", "exact"),
    FieldMapping("volume", "-v DIR:/data", "-v DIR:/root/.cache/huggingface", "exact"),
    FieldMapping(
        "tgi.max_input_tokens", "--max-input-tokens", "-", "tgi only", "vLLM caps prompt+output only"
    ),
    FieldMapping(
        "tgi.max_batch_prefill_tokens",
        "--max-batch-prefill-tokens",
        "--max-num-batched-tokens",
        "approximate",
        "vLLM's budget also covers decode tokens",
    ),
    FieldMapping(
        "tgi.max_batch_total_tokens", "--max-batch-total-tokens", "-", "tgi only", "vLLM sizes its KV cache"
    ),
    FieldMapping(
        "tgi.max_concurrent_requests",
        "--max-concurrent-requests",
        "--max-num-seqs",
        "approximate",
        "TGI refuses requests past the limit; vLLM queues them",
    ),
    FieldMapping(
        "vllm.impl", "-", "--model-impl", "vllm only", "TGI picks its Transformers fallback by itself"
    ),
    FieldMapping("vllm.version", "-", "flags for that version", "vllm only"),
    FieldMapping("vllm.python", "-", "interpreter that runs vLLM", "vllm only"),
    FieldMapping(
        "vllm.gpu_memory_utilization",
        "--cuda-memory-fraction",
        "--gpu-memory-utilization",
        "approximate",
        "TGI's fraction caps all CUDA memory, vLLM's what it plans to use",
    ),
    FieldMapping(
        "vllm.enforce_eager", "--cuda-graphs 0", "--enforce-eager", "approximate", "both skip CUDA graphs"
    ),
    FieldMapping("vllm.cpu_kvcache_space", "-", "VLLM_CPU_KVCACHE_SPACE", "vllm only"),
    FieldMapping(
        "deploy",
        "llmserve render k8s|compose",
        "llmserve render k8s|compose",
        "approximate",
        "TGI has no multi-node mode (deploy.nodes > 1)",
    ),
)
MAPPINGS_BY_FIELD = {mapping.field: mapping for mapping in FIELD_MAPPINGS}

# Quantization methods: TGI name -> vLLM name, and back, where the meaning holds.
TGI_TO_VLLM_QUANTIZATION = {
    "awq": "awq",
    "gptq": "gptq",
    "marlin": "marlin",
    "fp8": "fp8",
    "compressed-tensors": "compressed-tensors",
    "bitsandbytes": "bitsandbytes",
    "bitsandbytes-nf4": "bitsandbytes",
    "bitsandbytes-fp4": "bitsandbytes",
}
VLLM_TO_TGI_QUANTIZATION = {
    "awq": "awq",
    "awq_marlin": "awq",
    "gptq": "gptq",
    "gptq_marlin": "gptq",
    "marlin": "marlin",
    "fp8": "fp8",
    "fbgemm_fp8": "fp8",
    "compressed-tensors": "compressed-tensors",
    "bitsandbytes": "bitsandbytes",
}
EXACT_QUANTIZATION = {"awq", "gptq", "marlin", "fp8", "compressed-tensors", "bitsandbytes"}

# Engine flags without a spec field whose meaning carries over: TGI flag <-> vLLM flag.
TGI_TO_VLLM_ARGS = {
    "--max-concurrent-requests": "--max-num-seqs",
    "--max-batch-prefill-tokens": "--max-num-batched-tokens",
}
VLLM_TO_TGI_ARGS = {value: key for key, value in TGI_TO_VLLM_ARGS.items()}


ENGINE_NAMES = {"tgi": "TGI", "vllm": "vLLM"}


class Retargeting:
    """Moves spec data from one engine to the other, collecting what changed or was dropped."""

    def __init__(self, data: dict[str, Any], target: str, *, lenient: bool) -> None:
        self.data = copy.deepcopy(data)
        self.source = str(data.get("engine"))
        self.target = target
        self.lenient = lenient
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)

    def unavailable(self, option: str, why: str) -> None:
        """An option with no equivalent: an error, or with --lenient a warning and a drop."""
        message = f"{option} has no equivalent in {ENGINE_NAMES[self.target]} ({why})"
        if not self.lenient:
            raise SpecError(f"{message}; remove it, or pass --lenient to drop it with a warning")
        self.note(f"dropped {message}")

    def _take(self, key: str, kind: type[Any]) -> Any:
        """Remove and return a section of the spec data, which must be of `kind` (empty if absent)."""
        value = self.data.pop(key, None)
        if value is None:
            return kind()
        if not isinstance(value, kind):
            raise SpecError(f"invalid spec: {key}: must be a {'mapping' if kind is dict else 'list'}")
        return value

    def _section(self, key: str) -> dict[str, Any]:
        """The engine section `key`, checked against its model before its values are translated."""
        from pydantic import ValidationError

        from llmserve.spec import TgiOptions, VllmOptions, describe_validation_error

        section: dict[str, Any] = self._take(key, dict)
        try:
            (TgiOptions if key == "tgi" else VllmOptions).model_validate(section)
        except ValidationError as error:
            raise SpecError(describe_validation_error(error, prefix=key)) from None
        return section

    def run(self) -> dict[str, Any]:
        if self.source == self.target:
            return self.data
        self.data["engine"] = self.target
        self._image()
        self._quantization()
        self._dtype()
        if self.target == "tgi":
            self._to_tgi()
        else:
            self._to_vllm()
        return self.data

    def _image(self) -> None:
        image = self.data.pop("image", None)
        if image is not None:
            source, target = ENGINE_NAMES[self.source], ENGINE_NAMES[self.target]
            self.note(f"image {image} is a {source} image: {target}'s default is used")

    def _quantization(self) -> None:
        method = self.data.get("quantization")
        if not isinstance(method, str):  # absent, or for the spec's validation to refuse
            return
        table = TGI_TO_VLLM_QUANTIZATION if self.target == "vllm" else VLLM_TO_TGI_QUANTIZATION
        if method not in table:
            self.data.pop("quantization")
            self.unavailable(f"quantization {method}", "no such method there")
            return
        self.data["quantization"] = table[method]
        if method not in EXACT_QUANTIZATION:
            self.note(f"quantization {method} becomes {table[method]} (approximate)")

    def _dtype(self) -> None:
        dtype = self.data.get("dtype")
        if self.target != "tgi" or not isinstance(dtype, str) or dtype == "auto":
            return
        from llmserve.spec import DTYPE_SYNONYMS, TGI_DTYPES

        same = DTYPE_SYNONYMS.get(dtype, dtype)
        if same not in TGI_DTYPES:
            self.data.pop("dtype")
            self.unavailable(f"dtype {dtype}", f"TGI knows {' and '.join(TGI_DTYPES)}")
        elif self.data.get("quantization") is not None:
            self.data.pop("dtype")
            self.note(f"dtype {dtype} dropped: TGI takes no dtype together with quantization")
        elif same != dtype:
            self.data["dtype"] = same
            self.note(f"dtype {dtype} becomes {same} (the same type)")

    def _to_tgi(self) -> None:
        if self.data.pop("runtime", None) == "process":
            self.note("runtime process becomes docker (TGI runs in Docker only)")
        if self.data.pop("served_model_name", None) is not None:
            self.unavailable("served_model_name", "TGI answers to any model name")
        options = self._section("vllm")
        tgi = self.data.setdefault("tgi", {})
        engine_args: list[str] = []
        impl = options.pop("impl", None)
        if impl not in (None, "auto"):
            self.unavailable(f"vllm.impl {impl}", "TGI chooses its model implementation itself")
        for tooling in ("version", "python", "cpu_kvcache_space"):
            if options.pop(tooling, None) is not None:
                self.note(f"vllm.{tooling} does not apply to TGI: dropped")
        fraction = options.pop("gpu_memory_utilization", None)
        if fraction is not None:
            engine_args += ["--cuda-memory-fraction", str(fraction)]
            self.note("vllm.gpu_memory_utilization becomes --cuda-memory-fraction (approximate)")
        if options.pop("enforce_eager", False):
            engine_args += ["--cuda-graphs", "0"]
            self.note("vllm.enforce_eager becomes --cuda-graphs 0 (approximate)")
        engine_args += self._translate_args(VLLM_TO_TGI_ARGS)
        self._set_engine_args(engine_args)
        if not tgi:
            self.data.pop("tgi")

    def _to_vllm(self) -> None:
        options = self._section("tgi")
        engine_args: list[str] = []
        for field, why in (
            ("max_input_tokens", "vLLM caps prompt and output together with max_model_len"),
            ("max_batch_total_tokens", "vLLM sizes its KV cache itself"),
        ):
            if options.pop(field, None) is not None:
                self.unavailable(f"tgi.{field}", why)
        for field, flag in (
            ("max_concurrent_requests", "--max-num-seqs"),
            ("max_batch_prefill_tokens", "--max-num-batched-tokens"),
        ):
            value = options.pop(field, None)
            if value is not None:
                engine_args += [flag, str(value)]
                self.note(f"tgi.{field} becomes {flag} (approximate)")
        engine_args += self._translate_args(TGI_TO_VLLM_ARGS)
        self._set_engine_args(engine_args)

    def _translate_args(self, table: dict[str, str]) -> list[str]:
        """Engine arguments of the source engine, in the target's terms where the meaning holds."""
        args = self._take("engine_args", list)
        if not all(isinstance(arg, str) for arg in args):
            raise SpecError("invalid spec: engine_args: must be a list of strings; quote each one")
        translated: list[str] = []
        while args:
            word = args.pop(0)
            flag, _, attached = word.partition("=")
            value = attached or (args.pop(0) if args and not args[0].startswith("-") else None)
            if flag in table and value is not None:
                translated += [table[flag], value]
                self.note(f"{flag} becomes {table[flag]} (approximate)")
            else:
                self.unavailable(f"engine argument {word}", f"a {ENGINE_NAMES[self.source]} flag")
        return translated

    def _set_engine_args(self, engine_args: list[str]) -> None:
        if engine_args:
            self.data["engine_args"] = engine_args


def retarget(data: dict[str, Any], target: str, *, lenient: bool) -> tuple[dict[str, Any], list[str]]:
    """`data` (raw spec data) moved to `target`; and notes on each approximation or drop."""
    retargeting = Retargeting(data, target, lenient=lenient)
    return retargeting.run(), retargeting.notes

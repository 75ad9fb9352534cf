"""Will it fit? The memory a model needs against what the engine will have, before anything starts.

Pure: model facts (config.json, weight file sizes), the spec (dtype, quantization, context, tensor
parallel size) and the machine in; the arithmetic and a verdict out. It follows vLLM's own accounting:

- KV cache: 2 (K and V) x layers x KV heads per GPU (max(1, kv_heads // tp)) x head_dim x dtype
  bytes per token, allotted in blocks (16 tokens on GPUs, 128 on vLLM's CPU engine); one request of
  max_model_len tokens must fit, beside the one block the pool keeps back.
- GPU: each GPU offers total memory x gpu_memory_utilization; weights (split over the tensor
  parallel GPUs), the activation peak vLLM profiles (a batch of max_num_batched_tokens and the
  sampler's logits), CUDA graphs and the CUDA context come off it; the rest is KV cache.
- CPU: the KV cache is exactly VLLM_CPU_KVCACHE_SPACE; weights, that space and the engine's
  processes must fit the memory available now.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any, TypeGuard

from llmserve.errors import ExitCode, LlmserveError

if TYPE_CHECKING:
    from llmserve.defaults import Choice
    from llmserve.machine import Machine
    from llmserve.modelfacts import ModelFacts
    from llmserve.spec import ServeSpec

GIB = 2**30
AUTO = "auto"
NONE = "none"  # a row with nothing to count: no GPU
# `fit` and `doctor` need the estimate; a serve command only for its `auto` values.
NO_ESTIMATE_FIX = "fix config.json, or serve with --tp and --max-model-len as numbers instead of auto"
DTYPE_BYTES = {"float32": 4.0, "float16": 2.0, "bfloat16": 2.0}  # by canonical name (`canonical_dtype`)
HALF_BYTES = 2.0
FP8_BYTES = 1.0
# Methods that quantize a 16-bit checkpoint while loading it: bytes per linear-layer weight.
LOAD_TIME_QUANTIZATION_BYTES = {
    "fp8": 1.0,
    "fbgemm_fp8": 1.0,
    "experts_int8": 1.0,
    "eetq": 1.0,
    "bitsandbytes": 0.5,
    "bitsandbytes-nf4": 0.5,
    "bitsandbytes-fp4": 0.5,
}
# Where vLLM finds the model's longest context (config keys, the smallest wins), and the RoPE types
# whose max_position_embeddings is already scaled.
MAX_LENGTH_KEYS = (
    "max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "model_max_length",
    "max_target_positions", "max_sequence_length", "max_seq_length", "seq_len",
)  # fmt: skip
PRESCALED_ROPE_TYPES = frozenset(
    {"su", "longrope", "llama3", "yarn", "deepseek_yarn", "deepseek_llama_scaling"}
)
MAX_CONFIG_COUNT = 1 << 40  # beyond any real model's layers, widths or context: a broken config
DEFAULT_MAX_LENGTH = 2048  # vLLM's assumption when the config names none
# Architectures whose MLP has two matrices (up, down) rather than three (gate, up, down).
UNGATED_MLP_TYPES = frozenset({"gpt2", "gpt_neox", "gptj", "opt", "bloom", "falcon", "phi", "gpt_bigcode"})

# vLLM's block sizes (tokens per KV cache block): CUDA 16; its CPU engine 128.
GPU_BLOCK_SIZE = 16
CPU_BLOCK_SIZE = 128
# vLLM's --gpu-memory-utilization default: 0.9 before 0.20, 0.92 since. TGI's --cuda-memory-fraction: 1.
VLLM_GPU_UTILIZATION = 0.92
VLLM_GPU_UTILIZATION_BEFORE_0_20 = 0.9
TGI_CUDA_MEMORY_FRACTION = 1.0
# vLLM's batch defaults for its API server (max_num_batched_tokens, max_num_seqs), by GPU memory:
# 160 GiB and more; 70 GiB and more (not A100); smaller GPUs.
LARGE_GPU_BYTES = 160 * GIB
H100_CLASS_GPU_BYTES = 70 * GIB
BATCH_DEFAULTS = ((LARGE_GPU_BYTES, 16384, 1024), (H100_CLASS_GPU_BYTES, 8192, 1024), (0, 2048, 256))
TGI_PREFILL_TOKENS = 4096  # TGI's --max-batch-prefill-tokens default
# Estimates of what vLLM's profiling finds beside the weights (no GPU here to measure them on):
# per batched token, activations of about 6 x hidden + 3 x intermediate values in the model dtype;
# the sampler's float32 logits and probabilities for max_num_seqs requests; the CUDA context, cuBLAS
# and NCCL buffers; CUDA graphs unless --enforce-eager.
ACTIVATION_HIDDEN_FACTOR = 6
ACTIVATION_INTERMEDIATE_FACTOR = 3
SAMPLER_FLOAT32_COPIES = 2
FLOAT32_BYTES = 4
GPU_RUNTIME_BYTES = 1 * GIB
CUDA_GRAPH_BYTES = GIB // 2
MAX_TENSOR_PARALLEL = 64


class DoesNotFit(LlmserveError):
    """The model does not fit the memory the engine will have; nothing was started."""

    exit_code = ExitCode.DOES_NOT_FIT


class CannotEstimate(LlmserveError):
    """The model's config.json lacks what the estimate needs."""

    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Architecture:
    """What the estimate needs from config.json (the language model's part of a multimodal one)."""

    model_type: str
    layers: int
    hidden_size: int
    attention_heads: int
    kv_heads: int
    head_dim: int
    vocab_size: int
    intermediate_size: int
    experts: int  # routed experts of an MoE layer; 0 for a dense model
    experts_per_token: int
    expert_intermediate_size: int
    shared_expert_intermediate_size: int
    tie_embeddings: bool
    max_length: int  # the context the model is made for, as vLLM derives it
    checkpoint_dtype: str | None
    prequantized: str | None  # the checkpoint's own quantization method
    kv_latent_size: int = 0  # multi-head latent attention (DeepSeek): one latent vector per token and layer

    @classmethod
    def from_config(cls, config: Mapping[str, Any], model: str) -> Architecture:
        text = config.get("text_config")
        text = text if isinstance(text, Mapping) else config

        def number(*keys: str, default: int | None = None) -> int:
            """The first of `keys` the config gives; 0 means none where that is the default (experts,
            latent attention); any other value that is not a sane count is a broken config."""
            for key in keys:
                value = text.get(key)
                if value is None or (value == 0 and default == 0):
                    continue
                if not _is_number(value) or not _is_count(value):
                    raise CannotEstimate(_unusable(model, key, value))
                return int(value)
            if default is None:
                raise CannotEstimate(
                    f"{model}'s config.json has no {keys[0]}, so its memory cannot be estimated; "
                    f"{NO_ESTIMATE_FIX}"
                )
            return default

        layers = number("num_hidden_layers", "n_layer", "num_layers")
        hidden = number("hidden_size", "n_embd", "d_model")
        heads = number("num_attention_heads", "n_head")
        multi_query = bool(text.get("multi_query"))
        kv_heads = number("num_key_value_heads", "num_kv_heads", default=1 if multi_query else heads)
        intermediate = number("intermediate_size", "ffn_dim", "n_inner", default=4 * hidden)
        experts = number("num_local_experts", "num_experts", "n_routed_experts", default=0)
        quantization = config.get("quantization_config")
        dtype = (
            config.get("torch_dtype") or config.get("dtype") or text.get("torch_dtype") or text.get("dtype")
        )
        return cls(
            model_type=str(text.get("model_type") or config.get("model_type") or "unknown"),
            layers=layers,
            hidden_size=hidden,
            attention_heads=heads,
            kv_heads=kv_heads,
            head_dim=number("head_dim", default=hidden // heads),
            vocab_size=number("vocab_size"),
            intermediate_size=intermediate,
            experts=experts,
            experts_per_token=number("num_experts_per_tok", "moe_topk", default=1 if experts else 0),
            expert_intermediate_size=number("moe_intermediate_size", default=intermediate),
            shared_expert_intermediate_size=number("shared_expert_intermediate_size", default=0)
            + number("n_shared_experts", default=0) * number("moe_intermediate_size", default=intermediate),
            tie_embeddings=bool(config.get("tie_word_embeddings", text.get("tie_word_embeddings", False))),
            max_length=_max_length(text, model),
            checkpoint_dtype=dtype if isinstance(dtype, str) else None,
            prequantized=str(quantization.get("quant_method", "quantized"))
            if isinstance(quantization, Mapping)
            else None,
            kv_latent_size=number("kv_lora_rank", default=0) + number("qk_rope_head_dim", default=0)
            if text.get("kv_lora_rank")
            else 0,
        )

    @property
    def embedding_parameters(self) -> int:
        return self.vocab_size * self.hidden_size * (1 if self.tie_embeddings else 2)

    @property
    def parameters(self) -> int:
        """Parameters the config implies (biases left out): attention, MLP or experts, embeddings."""
        q_size = self.attention_heads * self.head_dim
        kv_size = self.kv_heads * self.head_dim
        attention = 2 * self.hidden_size * q_size + 2 * self.hidden_size * kv_size
        matrices = 2 if self.model_type in UNGATED_MLP_TYPES else 3
        if self.experts:
            mlp = self.experts * matrices * self.hidden_size * self.expert_intermediate_size
            mlp += self.hidden_size * self.experts  # the router
            mlp += matrices * self.hidden_size * self.shared_expert_intermediate_size
        else:
            mlp = matrices * self.hidden_size * self.intermediate_size
        norms = 2 * self.hidden_size
        return self.layers * (attention + mlp + norms) + self.hidden_size + self.embedding_parameters

    def kv_cache_values_per_token(self, tensor_parallel_size: int) -> tuple[int, str]:
        """Values the KV cache holds per token on each GPU, and how they are counted (vLLM's specs:
        K and V for each KV head; for latent attention one latent vector, on every GPU whole)."""
        if self.kv_latent_size:
            return self.layers * self.kv_latent_size, f"{self.layers} layers x latent {self.kv_latent_size}"
        heads = self.kv_heads_per_gpu(tensor_parallel_size)
        return (
            2 * self.layers * heads * self.head_dim,
            f"2 x {self.layers} layers x {heads} KV heads x {self.head_dim}",
        )

    def kv_heads_per_gpu(self, tensor_parallel_size: int) -> int:
        """As vLLM splits them: at least one per GPU (replicated when there are fewer than GPUs)."""
        return max(1, self.kv_heads // tensor_parallel_size)

    def splits_over(self, tensor_parallel_size: int) -> bool:
        """vLLM's rule: attention heads divide evenly; KV heads divide or are replicated evenly."""
        tp = tensor_parallel_size
        return self.attention_heads % tp == 0 and (self.kv_heads % tp == 0 or tp % self.kv_heads == 0)


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_count(value: float) -> bool:
    """A whole number a real model could have (no infinity, fraction or 1e300 layers)."""
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return False
    return 0 < value <= MAX_CONFIG_COUNT


def _unusable(model: str, key: str, value: object) -> str:
    return (
        f"{model}'s config.json has an invalid {key} ({repr(value)[:60]}: not a whole number from 1 to "
        f"{MAX_CONFIG_COUNT}), so its memory cannot be estimated; {NO_ESTIMATE_FIX}"
    )


def _max_length(config: Mapping[str, Any], model: str) -> int:
    lengths = {key: config[key] for key in MAX_LENGTH_KEYS if _is_number(config.get(key))}
    key, shortest = min(lengths.items(), key=lambda item: item[1], default=("", DEFAULT_MAX_LENGTH))
    if not _is_count(shortest):
        raise CannotEstimate(_unusable(model, key, shortest))
    length = float(shortest)
    rope = config.get("rope_scaling") or config.get("rope_parameters")
    if isinstance(rope, Mapping):
        rope_type = rope.get("rope_type") or rope.get("type") or "default"
        factor = rope.get("factor")
        if rope_type not in PRESCALED_ROPE_TYPES and _is_number(factor) and factor:
            length *= factor
            if not _is_count(int(length) if math.isfinite(length) else length):
                raise CannotEstimate(_unusable(model, "rope_scaling factor", factor))
    return int(length)


@dataclass(frozen=True)
class Request:
    """What the spec asks that matters to memory, with vLLM's defaults where it is silent."""

    engine: str
    cpu_engine: bool
    dtype: str | None
    quantization: str | None
    kv_cache_dtype: str | None
    max_model_len: int | None
    tensor_parallel_size: int
    gpu_memory_utilization: float | None
    cpu_kvcache_bytes: int | None
    enforce_eager: bool
    max_num_batched_tokens: int | None
    max_num_seqs: int | None
    engine_version: str | None = None


@dataclass(frozen=True)
class Capacity:
    """What the engine will have: the GPUs it may use, or the CPU's memory."""

    gpus: tuple[tuple[str, int, int], ...] = ()  # (name, total bytes, free bytes) of each visible GPU
    memory_total_bytes: int = 0
    memory_available_bytes: int = 0
    cpu_bf16_flags: tuple[str, ...] = ()  # the CPU's bfloat16 instructions (avx512_bf16, amx_bf16, ...)


@dataclass(frozen=True)
class Line:
    """One line of the arithmetic: what, how much, and how it is reckoned."""

    item: str
    bytes: int | None
    how: str


@dataclass(frozen=True)
class Estimate:
    model: str
    engine: str
    device: str  # "gpu" or "cpu"
    tensor_parallel_size: int
    max_model_len: int
    model_max_length: int
    parameters: int
    weight_file_bytes: int
    weights_bytes: int  # on each GPU (or in RAM)
    overhead_bytes: int  # activations, sampler, runtime
    kv_bytes_per_token: int  # on each GPU
    block_size: int
    kv_needed_bytes: int  # one request of max_model_len, in whole blocks
    kv_budget_bytes: int  # what is left for the KV cache
    kv_cache_tokens: int  # what the engine would report
    longest_context: int  # 0: not even one block
    fits: bool
    problem: str | None
    fixes: tuple[str, ...]
    lines: tuple[Line, ...]
    smallest_tensor_parallel_size: int | None = None
    visible_gpus: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = [asdict(line) for line in self.lines]
        data["fixes"] = list(self.fixes)
        return data

    def refusal(self) -> str:
        """The one line that refuses a launch: the problem and the fixes."""
        fixes = " or ".join(self.fixes) if self.fixes else "a machine with more memory"
        return f"{self.model} does not fit: {self.problem}; use {fixes} (`llmserve fit` shows the arithmetic)"

    def table(self) -> list[str]:
        """The arithmetic, and the verdict when it fits; when it does not, `refusal()` is the one line
        that says so (the commands end with it as their error)."""
        rows = [
            (line.item, _size(line.bytes) if line.bytes is not None else "", line.how) for line in self.lines
        ]
        width = max(len(row[0]) for row in rows)
        number = max(len(row[1]) for row in rows)
        text = [f"{item.ljust(width)}  {value.rjust(number)}  {how}".rstrip() for item, value, how in rows]
        if self.fits:
            text.append(f"fits: {self.model} with max_model_len {self.max_model_len} on {self._where()}")
        return text

    def _where(self) -> str:
        if self.device == "cpu":
            return "the CPU"
        return f"{self.tensor_parallel_size} GPU(s)"


def _gib(value: int) -> str:
    return f"{value / GIB:,.2f} GiB"


def _size(value: int) -> str:
    """Bytes in the unit that reads best: GiB, MiB or KiB."""
    for unit, name in ((GIB, "GiB"), (2**20, "MiB")):
        if abs(value) >= unit:
            return f"{value / unit:,.2f} {name}"
    return f"{value / 1024:,.2f} KiB"


def canonical_dtype(dtype: str) -> str:
    """vLLM's other names for a dtype (half, float) as the one name."""
    from llmserve.spec import DTYPE_SYNONYMS

    return DTYPE_SYNONYMS.get(dtype, dtype)


def _dtype_bytes(dtype: str | None) -> float:
    return DTYPE_BYTES.get(canonical_dtype(dtype or ""), HALF_BYTES)


def engine_dtype(request: Request, arch: Architecture) -> str:
    """The dtype the engine computes in: the one asked for, else the checkpoint's (a float32 checkpoint
    comes down to 16 bits on a GPU, as vLLM's `auto` does; the defaults pick float16 where needed)."""
    if request.dtype not in (None, AUTO):
        return canonical_dtype(str(request.dtype))
    checkpoint = canonical_dtype(arch.checkpoint_dtype or "bfloat16")
    if checkpoint == "float32" and not request.cpu_engine:
        return "bfloat16"
    return checkpoint if checkpoint in DTYPE_BYTES else "bfloat16"


def weights_in_memory(request: Request, arch: Architecture, file_bytes: int, dtype: str) -> tuple[int, str]:
    """Bytes of weights once loaded (all GPUs together), and how they were reckoned."""
    checkpoint_bytes = _dtype_bytes(arch.checkpoint_dtype)
    if file_bytes <= 0:
        file_bytes = int(arch.parameters * checkpoint_bytes)
        source = f"{arch.parameters / 1e9:.2f} B parameters from config.json x {checkpoint_bytes:g} bytes"
    else:
        source = "weight files"
    if arch.prequantized is not None:
        return file_bytes, f"{source}, as stored ({arch.prequantized} checkpoint)"
    quantized = LOAD_TIME_QUANTIZATION_BYTES.get(request.quantization or "")
    if quantized is not None:
        embeddings = arch.embedding_parameters * _dtype_bytes(dtype)
        linear = max(0.0, file_bytes / checkpoint_bytes - arch.embedding_parameters) * quantized
        return int(
            embeddings + linear
        ), f"{source}: linear layers at {quantized:g} byte(s) ({request.quantization})"
    scale = _dtype_bytes(dtype) / checkpoint_bytes
    if scale == 1:
        return file_bytes, f"{source}, loaded as stored ({dtype})"
    return int(file_bytes * scale), f"{source} x {scale:g} ({arch.checkpoint_dtype} stored, {dtype} loaded)"


def kv_dtype_bytes(request: Request, dtype: str) -> float:
    kv = request.kv_cache_dtype
    if kv is not None and kv.startswith("fp8"):
        return FP8_BYTES
    if kv not in (None, AUTO):
        return _dtype_bytes(kv)
    return _dtype_bytes(dtype)


def _gpu_utilization(request: Request) -> float:
    if request.gpu_memory_utilization is not None:
        return request.gpu_memory_utilization
    if request.engine == "tgi":
        return TGI_CUDA_MEMORY_FRACTION
    from llmserve.engines.vllm import parse_version

    parsed = parse_version(request.engine_version) if request.engine_version else None
    return (
        VLLM_GPU_UTILIZATION_BEFORE_0_20
        if parsed is not None and parsed < (0, 20, 0)
        else VLLM_GPU_UTILIZATION
    )


def _batch(request: Request, gpu_total: int, gpu_name: str) -> tuple[int, int]:
    """(max_num_batched_tokens, max_num_seqs) of vLLM's profiling run on this GPU."""
    if request.engine == "tgi":
        return request.max_num_batched_tokens or TGI_PREFILL_TOKENS, request.max_num_seqs or 1
    for floor, tokens, seqs in BATCH_DEFAULTS:
        if gpu_total >= floor and not (floor == H100_CLASS_GPU_BYTES and "a100" in gpu_name.lower()):
            return request.max_num_batched_tokens or tokens, request.max_num_seqs or seqs
    raise AssertionError("BATCH_DEFAULTS ends with a floor of 0")


@dataclass(frozen=True)
class _Memory:
    """One device's side of the arithmetic: weights, overhead, what is left for the KV cache."""

    weights: int
    overhead: int
    budget: int
    problem: str | None
    lines: tuple[Line, ...]


def _leftovers_how(loader: int, repacked: bool) -> str:
    if not loader:
        return "loaded as stored: nothing more"
    why = "repacking for this CPU's bfloat16 instructions" if repacked else "converting"
    return f"{why}: the checkpoint's bytes as read stay with the worker"


def _cpu_memory(
    request: Request, capacity: Capacity, weights: int, weights_how: str, checkpoint_bytes: int, dtype: str
) -> _Memory:
    from llmserve.defaults import CPU_RUNTIME_RESERVE_BYTES

    # Measured (tests/integration/test_fit_engine.py): converting a checkpoint to another dtype, the
    # CPU worker keeps the bytes it read besides the converted weights (freed to its allocator, not to
    # the system). Loading one as stored, it keeps nothing more, except in bfloat16 on a CPU with
    # bfloat16 instructions: there vLLM repacks each weight for oneDNN and the bytes read stay too
    # (SmolLM2: +0.46 GiB on an avx512_bf16 EPYC, +0.26 GiB on an AVX2 one).
    repacked = dtype == "bfloat16" and bool(capacity.cpu_bf16_flags)
    loader = checkpoint_bytes if weights != checkpoint_bytes or repacked else 0
    overhead = CPU_RUNTIME_RESERVE_BYTES + loader
    kv_space = request.cpu_kvcache_bytes
    if kv_space is None:  # vLLM sizes it: memory x gpu_memory_utilization, less what the worker holds
        utilization = request.gpu_memory_utilization or VLLM_GPU_UTILIZATION
        kv_space = max(0, int(capacity.memory_total_bytes * utilization) - weights - overhead)
        kv_how = f"{utilization:g} x the memory, less weights and processes"
    else:
        kv_how = "VLLM_CPU_KVCACHE_SPACE"
    available = capacity.memory_available_bytes
    problem = None
    if weights + overhead + kv_space > available:
        problem = (
            f"weights {_gib(weights)} + KV cache space {_gib(kv_space)} + engine processes and loader "
            f"{_gib(overhead)} exceed the {_gib(available)} of memory available"
        )
    lines = (
        Line("weights", weights, weights_how),
        Line("loader leftovers", loader, _leftovers_how(loader, repacked)),
        Line(
            "engine processes",
            CPU_RUNTIME_RESERVE_BYTES,
            "API server, engine core, worker (each imports torch)",
        ),
        Line("KV cache space", kv_space, kv_how),
        Line("memory available", available, f"of {_gib(capacity.memory_total_bytes)}"),
    )
    return _Memory(weights, overhead, kv_space, problem, lines)


def _gpu_memory(
    request: Request, arch: Architecture, capacity: Capacity, all_weights: int, weights_how: str, dtype: str
) -> _Memory:
    tp = request.tensor_parallel_size
    gpus = capacity.gpus
    name, total, free = min(gpus, key=lambda gpu: gpu[1]) if gpus else ("GPU", 0, 0)
    utilization = _gpu_utilization(request)
    usable = int(total * utilization)
    if request.engine == "tgi":  # TGI takes its fraction of what is free, where vLLM refuses a busy GPU
        usable = min(usable, free)
    weights = math.ceil(all_weights / tp)
    tokens, seqs = _batch(request, total, name)
    intermediate = (
        arch.expert_intermediate_size * arch.experts_per_token + arch.shared_expert_intermediate_size
        if arch.experts
        else arch.intermediate_size
    )
    per_token = (
        ACTIVATION_HIDDEN_FACTOR * arch.hidden_size + ACTIVATION_INTERMEDIATE_FACTOR * intermediate // tp
    )
    activations = int(tokens * per_token * _dtype_bytes(dtype))
    sampler = seqs * arch.vocab_size * FLOAT32_BYTES * SAMPLER_FLOAT32_COPIES
    graphs = 0 if request.enforce_eager else CUDA_GRAPH_BYTES
    overhead = activations + sampler + GPU_RUNTIME_BYTES + graphs
    problem = None
    if gpus and free < usable and request.engine != "tgi":
        problem = (
            f"{name} has {_gib(free)} free, less than the {_gib(usable)} the engine takes "
            f"(gpu-memory-utilization {utilization:g}); free the GPU or lower --gpu-memory-utilization"
        )
    capacity_lines: tuple[Line, ...]
    if gpus:
        capacity_lines = (
            Line("GPU memory", total, f"{name}, {len(gpus)} visible"),
            Line("usable per GPU", usable, f"x {utilization:g} (gpu-memory-utilization)"),
        )
        budget = usable - weights - overhead
    else:  # what one GPU would need is still told; there is nothing to take it from
        capacity_lines = (Line("GPU memory", None, f"{NONE}: nvidia-smi and NVML find no GPU"),)
        budget = 0
    lines = (
        *capacity_lines,
        Line("weights per GPU", weights, f"{weights_how}, split over {tp} GPU(s)"),
        Line("activations", activations, f"estimate: a profiling batch of {tokens} tokens"),
        Line("sampler", sampler, f"estimate: float32 logits, {seqs} requests x {arch.vocab_size}"),
        Line("CUDA context, graphs", GPU_RUNTIME_BYTES + graphs, "estimate" + ("" if graphs else ", eager")),
    )
    return _Memory(weights, overhead, budget, problem, lines)


def estimate(
    model: str,
    arch: Architecture,
    weight_file_bytes: int,
    request: Request,
    capacity: Capacity,
) -> Estimate:
    """The arithmetic for one tensor parallel size, and whether one request of max_model_len fits."""
    tp = request.tensor_parallel_size
    dtype = engine_dtype(request, arch)
    all_weights, weights_how = weights_in_memory(request, arch, weight_file_bytes, dtype)
    stored_bytes = weight_file_bytes or int(arch.parameters * _dtype_bytes(arch.checkpoint_dtype))
    if request.cpu_engine:
        memory = _cpu_memory(request, capacity, all_weights, weights_how, stored_bytes, dtype)
    else:
        memory = _gpu_memory(request, arch, capacity, all_weights, weights_how, dtype)
    per_gpu = "" if request.cpu_engine else " per GPU"
    block = CPU_BLOCK_SIZE if request.cpu_engine else GPU_BLOCK_SIZE
    kv_bytes = kv_dtype_bytes(request, dtype)
    values, values_how = arch.kv_cache_values_per_token(tp)
    per_token = int(values * kv_bytes)
    block_bytes = per_token * block
    length = request.max_model_len or arch.max_length
    kv_needed = math.ceil(length / block) * block_bytes
    budget = memory.budget
    visible = request.cpu_engine or bool(capacity.gpus)
    usable_blocks = budget // block_bytes - 1 if budget > 0 else 0  # the pool keeps one block back
    longest = max(0, min(arch.max_length, usable_blocks * block))
    tokens = _kv_cache_tokens(budget, block_bytes, block, length)
    experts = f", {arch.experts} experts ({arch.experts_per_token} per token)" if arch.experts else ""
    lines = (
        Line(
            "model",
            None,
            f"{arch.model_type}: {arch.layers} layers, hidden {arch.hidden_size}, {arch.attention_heads} "
            f"heads, {arch.kv_heads} KV heads x {arch.head_dim}, vocab {arch.vocab_size}{experts}; "
            f"{arch.parameters / 1e9:.2f} B parameters",
        ),
        Line("weight files", weight_file_bytes, f"{arch.checkpoint_dtype or 'dtype unknown'} on disk"),
        *memory.lines,
        Line(
            "KV cache per token",
            per_token,
            f"{values_how} x {kv_bytes:g} bytes{per_gpu}",
        ),
        Line("KV cache needed", kv_needed, f"{length} tokens (max_model_len) in blocks of {block}"),
        Line("KV cache budget", budget, f"{tokens} tokens; the longest context that fits: {longest}")
        if visible
        else Line("KV cache budget", None, f"{NONE}: no GPU to hold it, so no verdict"),
    )
    problem = memory.problem
    if problem is None and visible and budget <= block_bytes:
        problem = (
            f"weights {_gib(memory.weights)} and overhead {_gib(memory.overhead)} leave no room for the "
            f"KV cache in {_gib(budget + memory.weights + memory.overhead)}{per_gpu}"
        )
    elif problem is None and visible and kv_needed > budget - block_bytes:
        problem = (
            f"one request of {length} tokens needs {_gib(kv_needed)} of KV cache, "
            f"{_gib(max(budget - block_bytes, 0))} is left{per_gpu}"
        )
    return Estimate(
        model=model,
        engine=request.engine,
        device="cpu" if request.cpu_engine else "gpu",
        tensor_parallel_size=tp,
        max_model_len=length,
        model_max_length=arch.max_length,
        parameters=arch.parameters,
        weight_file_bytes=weight_file_bytes,
        weights_bytes=memory.weights,
        overhead_bytes=memory.overhead,
        kv_bytes_per_token=per_token,
        block_size=block,
        kv_needed_bytes=kv_needed,
        kv_budget_bytes=budget,
        kv_cache_tokens=tokens,
        longest_context=longest,
        fits=problem is None and visible,
        problem=problem,
        fixes=(),
        lines=lines,
        visible_gpus=len(capacity.gpus),
    )


def _kv_cache_tokens(budget: int, block_bytes: int, block: int, length: int) -> int:
    """What vLLM logs as "KV cache size: N tokens": blocks in the budget, per request of `length`."""
    if budget <= 0:
        return 0
    blocks = budget // block_bytes
    return int(blocks / math.ceil(length / block) * length)


def _tensor_parallel_sizes(arch: Architecture, limit: int) -> list[int]:
    return [tp for tp in range(1, limit + 1) if arch.splits_over(tp)]


def assess(
    model: str,
    arch: Architecture,
    weight_file_bytes: int,
    request: Request,
    capacity: Capacity,
) -> Estimate:
    """The estimate for the request, with the smallest tensor parallel size that fits and the fixes."""
    current = estimate(model, arch, weight_file_bytes, request, capacity)
    if request.cpu_engine:
        return replace(current, fixes=_cpu_fixes(current, arch, weight_file_bytes, request, capacity))
    if not capacity.gpus:
        return current
    smallest = None
    for tp in _tensor_parallel_sizes(arch, MAX_TENSOR_PARALLEL):
        trial = replace(request, tensor_parallel_size=tp)
        if estimate(model, arch, weight_file_bytes, trial, capacity).fits:
            smallest = tp
            break
    current = replace(current, smallest_tensor_parallel_size=smallest)
    if current.fits:
        return current
    return replace(current, fixes=_gpu_fixes(current, arch, weight_file_bytes, request, capacity))


def _gpu_fixes(
    current: Estimate, arch: Architecture, weight_file_bytes: int, request: Request, capacity: Capacity
) -> tuple[str, ...]:
    fixes: list[str] = []
    visible = len(capacity.gpus)
    smallest = current.smallest_tensor_parallel_size
    if smallest is not None and smallest != request.tensor_parallel_size:
        fixes.append(
            f"--tp {smallest}"
            + ("" if smallest <= visible else f" ({smallest} such GPUs; {visible} visible)")
        )
    if current.longest_context >= GPU_BLOCK_SIZE and current.longest_context < current.max_model_len:
        fixes.append(f"--max-model-len {current.longest_context}")
    if arch.prequantized is None and request.quantization is None:
        for method, label in (
            ("fp8", "-q fp8"),
            ("bitsandbytes", "a 4-bit (AWQ or GPTQ) variant of the model"),
        ):
            trial = estimate(
                current.model, arch, weight_file_bytes, replace(request, quantization=method), capacity
            )
            if trial.fits:
                fixes.append(label)
                break
    return tuple(fixes)


def _cpu_fixes(
    current: Estimate, arch: Architecture, weight_file_bytes: int, request: Request, capacity: Capacity
) -> tuple[str, ...]:
    if current.fits:
        return ()
    fixes: list[str] = []
    if current.longest_context >= CPU_BLOCK_SIZE and current.longest_context < current.max_model_len:
        fixes.append(f"--max-model-len {current.longest_context}")
    needed_space = math.ceil(
        (current.kv_needed_bytes + current.kv_bytes_per_token * current.block_size) / GIB
    )
    room = capacity.memory_available_bytes - current.weights_bytes - current.overhead_bytes
    if needed_space * GIB <= room and needed_space * GIB != request.cpu_kvcache_bytes:
        fixes.append(f"--cpu-kvcache-space {needed_space}")
    if not fixes and arch.prequantized is None:
        fixes.append("a smaller or quantized variant of the model")
    return tuple(fixes)


def engine_arg(args: Sequence[str], flag: str) -> str | None:
    """The value of `flag` among engine arguments (`--flag value` or `--flag=value`), the last one."""
    found = None
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            found = args[index + 1]
        elif arg.startswith(flag + "="):
            found = arg.partition("=")[2]
    return found


@dataclass(frozen=True)
class Autos:
    """`--tp auto` and `--max-model-len auto`: values llmserve chooses from the estimate."""

    tensor_parallel_size: bool = False
    max_model_len: bool = False

    @classmethod
    def take(cls, data: dict[str, Any]) -> Autos:
        """Remove the `auto` values from spec data (options or a spec file), remembering them."""
        autos = {}
        for key in ("tensor_parallel_size", "max_model_len"):
            autos[key] = isinstance(data.get(key), str) and str(data[key]).strip().lower() == AUTO
            if autos[key]:
                del data[key]
        return cls(**autos)

    def __bool__(self) -> bool:
        return self.tensor_parallel_size or self.max_model_len


NOT_RECKONED = "llmserve reckons TGI on GPUs only (its CPU image sizes its memory itself)"
_AUTO_OPTIONS = (("tensor_parallel_size", "--tp"), ("max_model_len", "--max-model-len"))


def applies(spec: ServeSpec, *, cpu_engine: bool) -> bool:
    """vLLM on GPUs or CPUs, TGI on GPUs: the engines whose accounting this follows (else NOT_RECKONED)."""
    return spec.engine == "vllm" or not cpu_engine


def left_to_engine(engine: str, autos: Autos, why: str) -> tuple[Choice, ...]:
    """The `auto` values llmserve cannot choose (`why`), each left to the engine and said in one line."""
    from llmserve.defaults import Choice

    return tuple(
        Choice(engine, name, "unset", f"{why}: left to the engine ({option} auto)")
        for name, option in _AUTO_OPTIONS
        if getattr(autos, name)
    )


def request_for(spec: ServeSpec, *, cpu_engine: bool, engine_version: str | None) -> Request:
    from llmserve.engines.vllm import CPU_KVCACHE_ENV, DEFAULT_CPU_KVCACHE_GIB

    args = spec.engine_args
    kv_space_gib = spec.env.get(CPU_KVCACHE_ENV) or spec.vllm.cpu_kvcache_space or DEFAULT_CPU_KVCACHE_GIB
    batched = engine_arg(args, "--max-num-batched-tokens") or (
        str(spec.tgi.max_batch_prefill_tokens) if spec.tgi.max_batch_prefill_tokens else None
    )
    seqs = engine_arg(args, "--max-num-seqs")
    return Request(
        engine=spec.engine,
        cpu_engine=cpu_engine,
        dtype=spec.dtype,
        quantization=spec.quantization,
        kv_cache_dtype=engine_arg(args, "--kv-cache-dtype"),
        max_model_len=spec.max_model_len,
        tensor_parallel_size=spec.tensor_parallel_size or 1,
        gpu_memory_utilization=spec.vllm.gpu_memory_utilization,
        cpu_kvcache_bytes=int(kv_space_gib) * GIB if str(kv_space_gib).isdigit() else None,
        enforce_eager=spec.vllm.enforce_eager or "--enforce-eager" in args,
        max_num_batched_tokens=int(batched) if batched and batched.isdigit() else None,
        max_num_seqs=int(seqs) if seqs and seqs.isdigit() else None,
        engine_version=engine_version,
    )


def capacity_for(spec: ServeSpec, machine: Machine, *, cpu_engine: bool) -> Capacity:
    mib = 2**20
    gpus = () if cpu_engine else machine.selected_gpus(spec.gpus)
    return Capacity(
        gpus=tuple((gpu.name, gpu.memory_total_mib * mib, gpu.memory_free_mib * mib) for gpu in gpus),
        memory_total_bytes=machine.memory.total_bytes,
        memory_available_bytes=machine.memory.available_bytes,
        cpu_bf16_flags=machine.cpu.bf16_flags,
    )


@dataclass(frozen=True)
class Settled:
    spec: ServeSpec  # with the auto values chosen
    choices: tuple[Choice, ...]
    estimate: Estimate


def settle(
    spec: ServeSpec,
    facts: ModelFacts,
    machine: Machine,
    *,
    cpu_engine: bool,
    engine_version: str | None = None,
    autos: Autos = Autos(),
) -> Settled:
    """The estimate for the spec on this machine, with `auto` values chosen from it (never refusing:
    the caller decides what a verdict of "does not fit" means)."""
    from llmserve.defaults import Choice

    arch = Architecture.from_config(facts.config, spec.model)
    capacity = capacity_for(spec, machine, cpu_engine=cpu_engine)
    choices: list[Choice] = []
    if autos.tensor_parallel_size:
        tp, why = _auto_tensor_parallel(spec, facts, arch, capacity, cpu_engine, engine_version, autos)
        spec = spec.model_copy(update={"tensor_parallel_size": tp})
        choices.append(Choice(spec.engine, "tensor_parallel_size", str(tp), why))
    if autos.max_model_len:
        request = request_for(spec.model_copy(update={"max_model_len": None}), cpu_engine=cpu_engine,
                              engine_version=engine_version)  # fmt: skip
        longest = estimate(spec.model, arch, facts.weight_bytes, request, capacity).longest_context
        if longest > 0:
            spec = spec.model_copy(update={"max_model_len": longest})
            full = (
                "the model's full context" if longest == arch.max_length else "the longest context that fits"
            )
            choices.append(
                Choice(spec.engine, "max_model_len", str(longest), f"{full} (--max-model-len auto)")
            )
        else:
            why = (
                "no GPU is visible to reckon against" if not (cpu_engine or capacity.gpus) else "nothing fits"
            )
            choices += left_to_engine(spec.engine, Autos(max_model_len=True), why)
    request = request_for(spec, cpu_engine=cpu_engine, engine_version=engine_version)
    return Settled(spec, tuple(choices), assess(spec.model, arch, facts.weight_bytes, request, capacity))


def _auto_tensor_parallel(
    spec: ServeSpec,
    facts: ModelFacts,
    arch: Architecture,
    capacity: Capacity,
    cpu_engine: bool,
    engine_version: str | None,
    autos: Autos,
) -> tuple[int, str]:
    if cpu_engine:
        return 1, "a CPU engine runs on one device (--tp auto)"
    visible = len(capacity.gpus)
    if not visible:
        return 1, "no GPU is visible to reckon against (--tp auto)"
    sizes = _tensor_parallel_sizes(arch, visible) or [1]
    length = None if autos.max_model_len else spec.max_model_len
    for tp in sizes:
        trial = spec.model_copy(update={"tensor_parallel_size": tp, "max_model_len": length})
        request = request_for(trial, cpu_engine=cpu_engine, engine_version=engine_version)
        if estimate(spec.model, arch, facts.weight_bytes, request, capacity).fits:
            return tp, f"the smallest tensor parallel size that fits, of {visible} visible GPU(s) (--tp auto)"
    return sizes[-1], f"nothing fits {visible} visible GPU(s); the most it splits over (--tp auto)"

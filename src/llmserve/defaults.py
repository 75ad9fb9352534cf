"""Defaults that give right answers on the machine at hand: pure functions of (spec, machine).

What the user set always wins; each default chosen comes with the reason, shown by --dry-run,
--explain and --json.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

from llmserve.fit import canonical_dtype
from llmserve.machine import Machine
from llmserve.spec import ServeSpec

GIB = 2**30
CPU_KVCACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
CPU_THREADS_BIND_ENV = "VLLM_CPU_OMP_THREADS_BIND"
# What vLLM's CPU engine needs beside weights and KV cache: three processes (API server, engine
# core, worker) that each import torch, and the activations of a batch.
CPU_RUNTIME_RESERVE_BYTES = 3 * GIB
# The memory available now is shared with whatever else runs and grows here: take half of what is
# left after weights and runtime, and never more than a quarter of the machine.
CPU_KVCACHE_SHARE = 0.5
CPU_KVCACHE_MAX_SHARE_OF_TOTAL = 0.25
MIN_CPU_KVCACHE_GIB = 1
# Without the model's size, assume its weights may take this share of the memory available.
UNKNOWN_WEIGHTS_SHARE = 0.25
WEIGHT_FILE_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
HALF_PRECISION_BYTES = 2
FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Choice:
    """One default llmserve chose: for which engine, which setting, its value and why."""

    engine: str
    field: str
    value: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def line(self) -> str:
        return f"default {self.field} {self.value}: {self.reason}"


@dataclass(frozen=True)
class Defaults:
    spec: ServeSpec  # the spec with the defaults filled in
    choices: tuple[Choice, ...]


def local_weight_bytes(spec: ServeSpec) -> int | None:
    """Bytes of a local model directory's weight files; None for a hub id.

    The seam for a fuller model-facts reader (HF cache, hub metadata): the defaults need only this number.
    """
    if not spec.is_local_model:
        return None
    try:
        files = [p for p in Path(spec.model).iterdir() if p.is_file() and p.suffix in WEIGHT_FILE_SUFFIXES]
        return sum(p.stat().st_size for p in files) or None
    except OSError:
        return None


def is_cpu_engine(spec: ServeSpec, cpu_build: bool) -> bool:
    """Whether the engine will compute on the CPU: no GPU asked for, or vLLM's CPU build."""
    return spec.gpus == "none" or (spec.engine == "vllm" and cpu_build)


def choose(spec: ServeSpec, machine: Machine, *, cpu_engine: bool, weight_bytes: int | None) -> Defaults:
    """Fill in what the user left unset, from what the machine is."""
    choices: list[Choice] = []
    if spec.engine == "vllm" and cpu_engine:
        spec = _vllm_cpu(spec, machine, weight_bytes, choices)
    elif not cpu_engine:
        spec = _gpu_dtype(spec, machine, choices)
    return Defaults(spec, tuple(choices))


def machine_defaults(machine: Machine) -> tuple[Choice, ...]:
    """What a vLLM spec that sets nothing gets on this machine (for `doctor`)."""
    probe = ServeSpec(engine="vllm", model="model", gpus="all" if machine.gpus else "none")
    return choose(probe, machine, cpu_engine=not machine.gpus, weight_bytes=None).choices


def _vllm_cpu(
    spec: ServeSpec, machine: Machine, weight_bytes: int | None, choices: list[Choice]
) -> ServeSpec:
    if spec.dtype is None and spec.quantization is None:
        # Evidence (vLLM CPU 0.32, SmolLM2-135M-Instruct, greedy, same token ids as transformers):
        # in bfloat16 it answers "What is the capital of France?" with noise, both on this AVX2-only
        # EPYC and on a CPU that reported avx512_bf16; in float32 it answers "Paris" on both. No CPU
        # has yet been seen to give right bfloat16 answers, so float32 is the default on every CPU;
        # the reason names what this CPU has, and --dtype bfloat16 takes the risk knowingly.
        flags = machine.cpu.bf16_flags
        why = (
            f"vLLM's CPU engine gave wrong bfloat16 answers even with {'/'.join(flags)}"
            if flags
            else "this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16): "
            "bfloat16 answers are wrong here"
        )
        spec = spec.model_copy(update={"dtype": "float32"})
        choices.append(Choice("vllm", "dtype", "float32", f"{why}; --dtype overrides"))
    if "enforce_eager" not in spec.vllm.model_fields_set:
        # Graph compilation doubles start-up on a CPU (about 130 s against 53 s for SmolLM2 here).
        spec = spec.model_copy(update={"vllm": spec.vllm.model_copy(update={"enforce_eager": True})})
        choices.append(
            Choice(
                "vllm",
                "vllm.enforce_eager",
                "true",
                "CPU: eager mode starts twice as fast; --no-enforce-eager overrides",
            )
        )
    env = dict(spec.env)
    if spec.vllm.cpu_kvcache_space is None and CPU_KVCACHE_ENV not in env:
        gib, why = cpu_kvcache_gib(machine, weight_bytes, spec.dtype)
        spec = spec.model_copy(update={"vllm": spec.vllm.model_copy(update={"cpu_kvcache_space": gib})})
        choices.append(Choice("vllm", "vllm.cpu_kvcache_space", f"{gib} GiB", why))
    bind = cpu_threads_bind(machine)
    if bind is not None and CPU_THREADS_BIND_ENV not in env:
        cpus, why = bind
        env[CPU_THREADS_BIND_ENV] = cpus
        spec = spec.model_copy(update={"env": env})
        choices.append(Choice("vllm", f"env.{CPU_THREADS_BIND_ENV}", cpus, why))
    return spec


def cpu_kvcache_gib(machine: Machine, weight_bytes: int | None, dtype: str | None) -> tuple[int, str]:
    """GiB of KV cache for a CPU engine: half of what is available after weights and runtime."""
    memory = machine.memory
    if weight_bytes is None:
        weights = int(memory.available_bytes * UNKNOWN_WEIGHTS_SHARE)
        weights_said = f"weights unknown, {weights / GIB:.1f} GiB assumed"
    else:
        # Weight files are mostly 16-bit; in float32 the engine holds twice their size.
        in_float32 = canonical_dtype(dtype or "") == "float32"
        weights = weight_bytes * (FLOAT32_BYTES // HALF_PRECISION_BYTES if in_float32 else 1)
        weights_said = f"weights {weights / GIB:.1f} GiB"
    left = memory.available_bytes - weights - CPU_RUNTIME_RESERVE_BYTES
    cap = memory.total_bytes * CPU_KVCACHE_MAX_SHARE_OF_TOTAL
    gib = max(MIN_CPU_KVCACHE_GIB, math.floor(min(left * CPU_KVCACHE_SHARE, cap) / GIB))
    why = (
        f"{memory.available_bytes / GIB:.1f} GiB available, {weights_said}, "
        f"{CPU_RUNTIME_RESERVE_BYTES // GIB} GiB for the engine's processes: half of the rest, "
        f"at most a quarter of {memory.total_bytes / GIB:.0f} GiB; --cpu-kvcache-space overrides"
    )
    return gib, why


def cpu_threads_bind(machine: Machine) -> tuple[str, str] | None:
    """The CPUs to bind vLLM's compute threads to, when its own `auto` binding would be wrong.

    `auto` binds one thread per physical core of the NUMA node and keeps one core for the engine's
    scheduler, which spins: on this 2-core machine SmolLM2 generates 13-15 tokens/s with `auto`
    (one compute thread) and 3.5-4 with both cores bound, so `auto` stays. It cannot see a cgroup
    CPU quota (a container allowed 4 of 64 CPUs would get 63 threads): under a quota the threads
    are bound to one CPU fewer than the quota allows.
    """
    cpu = machine.cpu
    if cpu.usable_cores >= len(cpu.usable_cpu_ids) or not cpu.usable_cpu_ids:
        return None
    compute = max(1, cpu.usable_cores - 1)  # one CPU stays with the scheduler, as `auto` does
    cpus = ",".join(str(i) for i in cpu.usable_cpu_ids[:compute])
    return cpus, (
        f"a CPU quota allows {cpu.usable_cores} of the {len(cpu.usable_cpu_ids)} CPUs seen: "
        f"{compute} for compute threads, one for the scheduler (vLLM's auto binding would use them all)"
    )


def _gpu_dtype(spec: ServeSpec, machine: Machine, choices: list[Choice]) -> ServeSpec:
    gpus = machine.selected_gpus(spec.gpus)
    if spec.dtype is not None or spec.quantization is not None or not gpus:
        return spec
    old = [gpu for gpu in gpus if not gpu.has_bfloat16]
    if not old:
        return spec
    gpu = old[0]
    spec = spec.model_copy(update={"dtype": "float16"})
    choices.append(
        Choice(
            spec.engine,
            "dtype",
            "float16",
            f"GPU {gpu.index} ({gpu.name}) has compute capability {gpu.compute_capability}: "
            "no bfloat16 below 8.0; --dtype overrides",
        )
    )
    return spec

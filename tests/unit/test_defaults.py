"""Defaults are pure functions of (spec, machine): tested with recorded machines."""

from __future__ import annotations

from typing import Any

import pytest

from llmserve.defaults import GIB, Choice, choose, cpu_kvcache_gib, is_cpu_engine, machine_defaults
from llmserve.machine import Gpu, Machine, describe_cpu
from llmserve.spec import ServeSpec
from tests.unit.recorded import MACHINES, recorded

EPYC = recorded("amd-epyc-avx2")
XEON = recorded("xeon-amx-bf16")
H200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
SMOLLM2_BYTES = 269_060_552  # its model.safetensors, bfloat16


def spec(**fields: Any) -> ServeSpec:
    return ServeSpec(**{"engine": "vllm", "model": "org/model", **fields})


def fields(choices: tuple[Choice, ...]) -> dict[str, str]:
    return {choice.field: choice.value for choice in choices}


def test_cpu_without_bfloat16_gets_float32_eager_and_a_sized_kv_cache() -> None:
    chosen = choose(spec(gpus="none"), EPYC, cpu_engine=True, weight_bytes=SMOLLM2_BYTES)
    assert fields(chosen.choices) == {
        "dtype": "float32",
        "vllm.enforce_eager": "true",
        "vllm.cpu_kvcache_space": "5 GiB",
    }
    assert chosen.spec.dtype == "float32"
    assert chosen.spec.vllm.enforce_eager is True
    assert chosen.spec.vllm.cpu_kvcache_space == 5
    (dtype,) = [c for c in chosen.choices if c.field == "dtype"]
    assert dtype.reason.startswith("this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16)")


def test_cpu_with_avx512_bf16_and_amx_still_gets_float32_and_says_why() -> None:
    chosen = choose(spec(gpus="none"), XEON, cpu_engine=True, weight_bytes=SMOLLM2_BYTES)
    (dtype,) = [c for c in chosen.choices if c.field == "dtype"]
    assert dtype.value == "float32"
    assert "wrong bfloat16 answers even with avx512_bf16/amx_bf16" in dtype.reason
    # 6.8 GiB available, 0.5 GiB of float32 weights, 3 GiB for the processes: half of 3.3 is 1.
    assert chosen.spec.vllm.cpu_kvcache_space == 1


@pytest.mark.parametrize(
    "given",
    [
        {"dtype": "bfloat16"},
        {"dtype": "auto"},
        {"quantization": "awq"},
    ],
)
def test_what_the_user_sets_about_dtype_wins(given: dict[str, Any]) -> None:
    chosen = choose(spec(gpus="none", **given), EPYC, cpu_engine=True, weight_bytes=None)
    assert "dtype" not in fields(chosen.choices)
    assert chosen.spec.dtype == given.get("dtype")


def test_user_settings_for_eager_and_kv_cache_win() -> None:
    given = spec(gpus="none", vllm={"enforce_eager": False, "cpu_kvcache_space": 3})
    chosen = choose(given, EPYC, cpu_engine=True, weight_bytes=None)
    assert set(fields(chosen.choices)) == {"dtype"}
    assert (chosen.spec.vllm.enforce_eager, chosen.spec.vllm.cpu_kvcache_space) == (False, 3)
    from_env = spec(gpus="none", env={"VLLM_CPU_KVCACHE_SPACE": "7"})
    assert "vllm.cpu_kvcache_space" not in fields(
        choose(from_env, EPYC, cpu_engine=True, weight_bytes=None).choices
    )


def test_kv_cache_arithmetic() -> None:
    machine = Machine(
        cpu=EPYC.cpu, memory=EPYC.memory.__class__(total_bytes=64 * GIB, available_bytes=40 * GIB)
    )
    # 40 - 2 x 4 (float32 of 4 GiB of 16-bit files) - 3 = 29; half is 14.5; a quarter of 64 is 16.
    assert cpu_kvcache_gib(machine, 4 * GIB, "float32")[0] == 14
    assert cpu_kvcache_gib(machine, 4 * GIB, "bfloat16")[0] == 16  # 40 - 4 - 3 = 33 -> 16.5, capped at 16
    assert cpu_kvcache_gib(machine, None, "float32")[0] == 13  # weights assumed 10 GiB: (40 - 10 - 3) / 2
    tight = Machine(cpu=EPYC.cpu, memory=EPYC.memory.__class__(total_bytes=4 * GIB, available_bytes=3 * GIB))
    gib, why = cpu_kvcache_gib(tight, 2 * GIB, "float32")
    assert gib == 1  # never less than 1 GiB: the engine needs some cache to start
    assert "3.0 GiB available, weights 4.0 GiB" in why


def test_a_cpu_quota_binds_threads_within_it() -> None:
    cpuinfo = (MACHINES / "amd-epyc-avx2" / "cpuinfo").read_text()
    quota = Machine(cpu=describe_cpu(cpuinfo, tuple(range(64)), 4.0), memory=EPYC.memory)
    chosen = choose(spec(gpus="none"), quota, cpu_engine=True, weight_bytes=None)
    assert fields(chosen.choices)["env.VLLM_CPU_OMP_THREADS_BIND"] == "0,1,2"
    assert chosen.spec.env == {"VLLM_CPU_OMP_THREADS_BIND": "0,1,2"}
    assert "env.VLLM_CPU_OMP_THREADS_BIND" not in fields(
        choose(spec(gpus="none"), EPYC, cpu_engine=True, weight_bytes=None).choices
    )
    mine = spec(gpus="none", env={"VLLM_CPU_OMP_THREADS_BIND": "nobind"})
    assert choose(mine, quota, cpu_engine=True, weight_bytes=None).spec.env == {
        "VLLM_CPU_OMP_THREADS_BIND": "nobind"
    }


def test_h200_needs_no_gpu_default() -> None:
    assert choose(spec(), H200, cpu_engine=False, weight_bytes=None).choices == ()
    assert choose(spec(engine="tgi", model="gpt2"), H200, cpu_engine=False, weight_bytes=None).choices == ()


def v100_like(machine: Machine) -> Machine:
    """The H200 recording with the compute capability of a V100 (7.0), which has no bfloat16."""
    (gpu,) = machine.gpus
    old = Gpu(gpu.index, "Tesla V100-SXM2-32GB", gpu.memory_total_mib, gpu.memory_free_mib, "7.0", gpu.driver)
    return Machine(cpu=machine.cpu, memory=machine.memory, gpus=(old,), gpu_source=machine.gpu_source)


@pytest.mark.parametrize("engine", ["vllm", "tgi"])
def test_gpu_below_ampere_gets_float16(engine: str) -> None:
    chosen = choose(spec(engine=engine, model="gpt2"), v100_like(H200), cpu_engine=False, weight_bytes=None)
    (choice,) = chosen.choices
    assert (choice.engine, choice.field, choice.value) == (engine, "dtype", "float16")
    assert "compute capability 7.0: no bfloat16 below 8.0" in choice.reason
    assert chosen.spec.dtype == "float16"
    # Only the GPUs the spec selects count; a quantized model keeps its own dtype rules.
    assert choose(spec(gpus="1"), v100_like(H200), cpu_engine=False, weight_bytes=None).choices == ()
    assert (
        choose(spec(quantization="awq"), v100_like(H200), cpu_engine=False, weight_bytes=None).choices == ()
    )


def test_tgi_on_cpu_gets_nothing_it_cannot_take() -> None:
    # TGI has no float32 and no eager or KV cache settings of vLLM's.
    assert (
        choose(
            spec(engine="tgi", model="gpt2", gpus="none"), EPYC, cpu_engine=True, weight_bytes=None
        ).choices
        == ()
    )


def test_which_engines_compute_on_the_cpu() -> None:
    assert is_cpu_engine(spec(gpus="none"), cpu_build=False)
    assert is_cpu_engine(spec(), cpu_build=True)
    assert not is_cpu_engine(spec(), cpu_build=False)
    assert not is_cpu_engine(spec(engine="tgi", model="gpt2"), cpu_build=True)


def test_doctor_defaults_for_recorded_machines() -> None:
    assert fields(machine_defaults(EPYC)) == {
        "dtype": "float32",
        "vllm.enforce_eager": "true",
        "vllm.cpu_kvcache_space": "5 GiB",
    }
    assert machine_defaults(H200) == ()
    assert fields(machine_defaults(v100_like(H200))) == {"dtype": "float16"}


def test_vllms_float_is_float32_for_the_kv_cache_space() -> None:
    """`--dtype float` is vLLM's float32: the weights take twice their 16-bit files' size there too."""
    assert cpu_kvcache_gib(EPYC, 4 * GIB, "float") == cpu_kvcache_gib(EPYC, 4 * GIB, "float32")
    assert cpu_kvcache_gib(EPYC, 4 * GIB, "float32") != cpu_kvcache_gib(EPYC, 4 * GIB, "bfloat16")

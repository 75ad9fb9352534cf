"""The machine description: recorded /proc files, nvidia-smi and NVML outputs, cgroup quotas."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from llmserve import machine
from tests.unit.recorded import MACHINES, READ_MACHINE, recorded

H200 = Path(__file__).parents[1] / "fixtures" / "nvidia-h200"
EXPECTED = machine.Gpu(0, "NVIDIA H200", 143771, 143156, "9.0", "580.159.04")


def test_parse_recorded_nvidia_smi_query() -> None:
    assert machine.parse_nvidia_smi((H200 / "nvidia-smi-query-noheader.csv").read_text()) == [EXPECTED]


def test_nvidia_smi_on_path_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\nexec /bin/cat {H200 / 'nvidia-smi-query-noheader.csv'}\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine.gpus_from_nvidia_smi() == [EXPECTED]


def test_no_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert machine.gpus_from_nvidia_smi() is None


def fake_pynvml(recorded: dict[str, Any]) -> types.ModuleType:
    """A pynvml that answers what NVML answered on the H200 machine."""
    module = types.ModuleType("pynvml")
    memory = types.SimpleNamespace(total=recorded["total"], free=recorded["free"])
    module.nvmlInit = lambda: None  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    module.nvmlSystemGetDriverVersion = lambda: recorded["driver"]  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: recorded["count"]  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda index: index  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda handle: recorded["name"]  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda handle: memory  # type: ignore[attr-defined]
    module.nvmlDeviceGetCudaComputeCapability = lambda handle: tuple(recorded["cc"])  # type: ignore[attr-defined]
    return module


def test_nvml_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    recorded = json.loads((H200 / "nvml.json").read_text())
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(recorded))
    (gpu,) = machine.gpus_from_nvml() or []
    assert (gpu.name, gpu.memory_total_mib, gpu.compute_capability, gpu.driver) == (
        "NVIDIA H200",
        143771,
        "9.0",
        "580.159.04",
    )


def test_this_epyc_has_no_bfloat16() -> None:
    epyc = recorded("amd-epyc-avx2")
    assert epyc.cpu.model == "AMD EPYC"
    assert (epyc.cpu.usable_cores, epyc.cpu.usable_cpu_ids) == (2, (0, 1))
    assert "avx2" in epyc.cpu.flags
    assert epyc.cpu.bf16_flags == ()
    assert epyc.memory.total_bytes == 24684096 * 1024
    assert epyc.memory.available_bytes == 21393064 * 1024
    assert epyc.gpus == () and epyc.gpu_source is None


def test_xeon_with_amx_reports_its_bfloat16_flags() -> None:
    xeon = recorded("xeon-amx-bf16")
    assert xeon.cpu.model == "INTEL(R) XEON(R) PLATINUM 8573C"
    assert xeon.cpu.bf16_flags == ("avx512_bf16", "amx_bf16")
    assert xeon.cpu.usable_cores == 2


def test_h200_machine() -> None:
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    assert h200.gpu_source == "nvidia-smi"
    (gpu,) = h200.gpus
    assert (gpu.capability, gpu.has_bfloat16, gpu.memory_total_mib) == ((9, 0), True, 143771)
    assert h200.selected_gpus("all") == (gpu,)
    assert h200.selected_gpus("0") == (gpu,)
    assert h200.selected_gpus("1") == ()
    assert h200.selected_gpus("none") == ()


@pytest.mark.parametrize(
    ("capability", "bf16"),
    [("7.0", False), ("7.5", False), ("8.0", True), ("8.6", True), ("12.0", True), ("?", False)],
)
def test_bfloat16_needs_ampere(capability: str, bf16: bool) -> None:
    assert machine.Gpu(0, "g", 1, 1, capability, "d").has_bfloat16 is bf16


@pytest.mark.parametrize(
    ("text", "cpus"),
    [("max 100000", None), ("200000 100000", 2.0), ("150000 100000", 1.5), ("", None), ("x y", None)],
)
def test_cgroup_cpu_quota(text: str, cpus: float | None) -> None:
    assert machine.parse_cgroup_cpu_max(text) == cpus


def test_a_cpu_quota_caps_usable_cores() -> None:
    cpuinfo = (MACHINES / "amd-epyc-avx2" / "cpuinfo").read_text()
    cpu = machine.describe_cpu(cpuinfo, tuple(range(64)), 4.5)
    assert (cpu.usable_cores, len(cpu.usable_cpu_ids)) == (4, 64)
    assert machine.describe_cpu(cpuinfo, (3,), None).usable_cpu_ids == (3,)


def test_nvidia_smi_rows_it_cannot_read_are_skipped() -> None:
    assert machine.parse_nvidia_smi("0, GPU, [N/A], [N/A], 7.0, 1\nnot a row\n") == []


def test_the_machine_running_the_tests_is_read() -> None:
    here = READ_MACHINE(gpus=False)
    assert 1 <= here.cpu.usable_cores == len(here.cpu.usable_cpu_ids) or here.cpu.usable_cores >= 1
    assert 0 < here.memory.available_bytes <= here.memory.total_bytes
    assert here.cpu.flags  # every Linux CPU lists its flags

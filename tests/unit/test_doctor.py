"""GPU detection against what a real one-H200 machine printed (tests/fixtures/nvidia-h200/)."""

from __future__ import annotations

import json
import sys
import types
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from llmserve import doctor

H200 = Path(__file__).parents[1] / "fixtures" / "nvidia-h200"
EXPECTED = doctor.Gpu(0, "NVIDIA H200", 143771, 143156, "9.0", "580.159.04")


def test_parse_recorded_nvidia_smi_query() -> None:
    assert doctor.parse_nvidia_smi((H200 / "nvidia-smi-query-noheader.csv").read_text()) == [EXPECTED]


def test_nvidia_smi_on_path_is_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "nvidia-smi"
    tool.write_text(f"#!/bin/sh\nexec /bin/cat {H200 / 'nvidia-smi-query-noheader.csv'}\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert doctor.gpus_from_nvidia_smi() == [EXPECTED]


def test_no_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert doctor.gpus_from_nvidia_smi() is None


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
    (gpu,) = doctor.gpus_from_nvml() or []
    assert (gpu.name, gpu.memory_total_mib, gpu.compute_capability, gpu.driver) == (
        "NVIDIA H200",
        143771,
        "9.0",
        "580.159.04",
    )


@pytest.mark.parametrize(
    ("docker_ok", "vllm_ok", "engine", "missing"),
    [
        (True, False, "tgi", []),
        (True, False, "vllm", ["vLLM"]),
        (False, True, "tgi", ["a Docker engine (TGI runs in Docker)"]),
        (False, True, None, []),
        (False, False, None, ["a Docker engine (TGI runs in Docker)", "vLLM"]),
    ],
)
def test_missing_for(docker_ok: bool, vllm_ok: bool, engine: str | None, missing: list[str]) -> None:
    report = doctor.Report(docker={"reachable": docker_ok}, vllm={"found": vllm_ok})
    assert report.missing_for(engine) == missing


def test_describe_a_gpu_machine() -> None:
    report = doctor.Report(
        docker={"reachable": True, "version": "28.2.2", "api_version": "1.50", "nvidia_runtime": True},
        gpus={"count": 1, "source": "nvidia-smi", "devices": [asdict(EXPECTED)]},
        vllm={"found": False, "problem": "vLLM was not found"},
        disk={"free_gib": 10.0, "hf_cache": "/c"},
        hf_token={"present": True, "source": "$HF_TOKEN"},
    )
    lines = doctor.describe(report)
    assert (
        "gpu 0:    NVIDIA H200, 143156/143771 MiB free, compute capability 9.0, driver 580.159.04" in lines[1]
    )
    assert lines[0] == "docker:   28.2.2 (API 1.50), NVIDIA runtime present"
    assert lines[-1] == "hf token: present ($HF_TOKEN)"

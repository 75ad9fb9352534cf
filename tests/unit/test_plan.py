from __future__ import annotations

from llmserve.plan import ContainerLaunch, LaunchPlan, ProcessLaunch


def process_plan(host: str = "127.0.0.1", env: dict[str, str] | None = None) -> LaunchPlan:
    return LaunchPlan(
        name="llmserve-vllm-m-8000",
        engine="vllm", model="m", served_model_name="m", host=host, port=8000,
        launch=ProcessLaunch(argv=("vllm", "serve", "my model", "--chat-template", "{{ x }}"), env=env or {}),
        secret_env=frozenset({"VLLM_API_KEY"}),
    )  # fmt: skip


def test_shell_line_quotes_what_needs_quoting() -> None:
    assert process_plan().shell_line() == "vllm serve 'my model' --chat-template '{{ x }}'"


def test_shell_line_prefixes_environment_with_secrets_masked() -> None:
    plan = process_plan(env={"A": "b c", "VLLM_API_KEY": "secret"})
    assert (
        plan.shell_line() == "env 'A=b c' 'VLLM_API_KEY=***' vllm serve 'my model' --chat-template '{{ x }}'"
    )


def test_endpoint_for_wildcard_and_ipv6_hosts() -> None:
    assert process_plan("0.0.0.0").endpoint == "http://127.0.0.1:8000"
    assert process_plan("::").endpoint == "http://[::1]:8000"
    assert process_plan("::1").endpoint == "http://[::1]:8000"
    assert process_plan("10.1.2.3").endpoint == "http://10.1.2.3:8000"


def test_container_plan_json() -> None:
    plan = LaunchPlan(
        name="n",
        engine="tgi", model="gpt2", served_model_name="gpt2", host="127.0.0.1", port=8080,
        launch=ContainerLaunch(name="n", image="i:1", command=("--model-id", "gpt2"), container_port=80,
                               env={"HF_TOKEN": "t"}, gpus="all", shm_size="1g"),
        secret_env=frozenset({"HF_TOKEN"}),
    )  # fmt: skip
    document = plan.to_dict()
    assert document["launch"]["ports"] == {"80/tcp": ["127.0.0.1", 8080]}
    assert document["launch"]["env"] == {"HF_TOKEN": "***"}
    assert document["command"] == (
        "docker run --rm --name n --gpus all --shm-size 1g -p 127.0.0.1:8080:80 -e 'HF_TOKEN=***' i:1 --model-id gpt2"
    )

"""`render k8s`: golden objects for the examples, validated offline against Kubernetes' schemas."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from llmserve.deploy import k8s
from llmserve.deploy.documents import to_yaml_documents
from llmserve.deploy.names import workload_name
from llmserve.deploy.settings import DNS1035_LABEL, MAX_NAME_LENGTH
from llmserve.deploy.workload import container_render
from llmserve.errors import SpecError
from llmserve.spec import build_spec
from llmserve.specfile import read_spec_file
from tests.unit.deploy_checks import KUBERNETES_VERSIONS, validate_kubernetes, validate_lws

EXAMPLES = Path(__file__).parents[2] / "examples"
GOLDEN = Path(__file__).parent / "golden" / "deploy"
UPDATE_GOLDEN = os.environ.get("LLMSERVE_UPDATE_GOLDEN") == "1"
K8S_EXAMPLES = ("qwen.yaml", "tgi-gpt2.yaml", "llama-405b-two-nodes.yaml")


def objects_for(data: dict[str, Any]) -> list[dict[str, Any]]:
    return k8s.render(build_spec(data))


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE_GOLDEN:
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs; LLMSERVE_UPDATE_GOLDEN=1 rewrites it after review"


@pytest.mark.parametrize("example", K8S_EXAMPLES)
def test_examples_render_their_golden_objects(example: str) -> None:
    spec = build_spec(read_spec_file(EXAMPLES / example), base_dir=EXAMPLES)
    check_golden(example.replace(".yaml", ".k8s.yaml"), to_yaml_documents(k8s.render(spec)))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("example", K8S_EXAMPLES)
def test_example_objects_validate_strictly(example: str, version: str) -> None:
    spec = build_spec(read_spec_file(EXAMPLES / example), base_dir=EXAMPLES)
    for document in k8s.render(spec):
        validate_kubernetes(document, version)


def test_strict_validation_rejects_an_unknown_field() -> None:
    import kubernetes_validate

    (deployment,) = [o for o in objects_for({"engine": "tgi", "model": "gpt2"}) if o["kind"] == "Deployment"]
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["shmSize"] = "1Gi"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate_kubernetes(broken, KUBERNETES_VERSIONS[-1])


def test_lws_schema_rejects_an_unknown_field() -> None:
    import jsonschema

    data = {"engine": "vllm", "model": "org/big", "tensor_parallel_size": 8, "deploy": {"nodes": 2}}
    (lws,) = [o for o in objects_for(data) if o["kind"] == "LeaderWorkerSet"]
    validate_lws(lws)
    broken = copy.deepcopy(lws)
    broken["spec"]["leaderWorkerTemplate"]["nodes"] = 2
    with pytest.raises(jsonschema.ValidationError):
        validate_lws(broken)


def by_kind(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {o["kind"]: o for o in objects}


def test_one_node_is_a_deployment_with_recreate_and_a_claim() -> None:
    kinds = by_kind(objects_for({"engine": "vllm", "model": "Qwen/Qwen2.5-1.5B-Instruct"}))
    assert list(kinds) == ["PersistentVolumeClaim", "Deployment", "Service"]
    assert kinds["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert kinds["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    assert pod["enableServiceLinks"] is False
    container = pod["containers"][0]
    assert container["args"][:5] == ["Qwen/Qwen2.5-1.5B-Instruct", "--host", "0.0.0.0", "--port", "8000"]
    assert container["ports"] == [{"name": "http", "containerPort": 8000, "protocol": "TCP"}]
    assert container["volumeMounts"][0]["mountPath"] == "/root/.cache/huggingface"


def test_several_replicas_share_a_read_write_many_claim_and_roll() -> None:
    kinds = by_kind(objects_for({"engine": "vllm", "model": "m", "deploy": {"replicas": 3}}))
    assert kinds["PersistentVolumeClaim"]["spec"]["accessModes"] == ["ReadWriteMany"]
    assert "strategy" not in kinds["Deployment"]["spec"]
    assert kinds["Deployment"]["spec"]["replicas"] == 3


def test_an_existing_claim_or_none_creates_no_claim() -> None:
    existing = by_kind(
        objects_for({"engine": "tgi", "model": "gpt2", "deploy": {"storage": {"existing_claim": "models"}}})
    )
    assert "PersistentVolumeClaim" not in existing
    volumes = existing["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert volumes[0] == {"name": "hf-cache", "persistentVolumeClaim": {"claimName": "models"}}
    # Its access mode is unknown: one pod must not roll onto another node while the old one holds it.
    assert existing["Deployment"]["spec"]["strategy"] == {"type": "Recreate"}
    shared = {"storage": {"existing_claim": "models"}, "replicas": 2}  # several pods: it must be shared
    assert (
        "strategy"
        not in by_kind(objects_for({"engine": "tgi", "model": "gpt2", "deploy": shared}))["Deployment"][
            "spec"
        ]
    )
    scratch = by_kind(objects_for({"engine": "tgi", "model": "gpt2", "deploy": {"storage": "none"}}))
    assert "PersistentVolumeClaim" not in scratch
    assert scratch["Deployment"]["spec"]["template"]["spec"]["volumes"][0] == {
        "name": "hf-cache",
        "emptyDir": {},
    }


@pytest.mark.parametrize(
    ("deploy", "message"),
    [
        ({"replicas": 2, "storage": {"access_mode": "ReadWriteOnce"}}, "cannot share one ReadWriteOnce"),
        ({"name": "vllm"}, "VLLM_PORT"),
        ({"name": "My.Model"}, "not a valid name"),
        ({"namespace": "LLM"}, "not a valid namespace"),
        ({"startup_budget": 95}, "multiple of the 10 s probe period"),
        ({"resources": {"memory": "lots"}}, "not a Kubernetes quantity"),
        ({"replicas": 0}, "greater than or equal to 1"),
        # Kubernetes' counts are int32: larger values make objects the API server cannot decode.
        ({"replicas": 2**31}, r"deploy\.replicas: input should be less than or equal to 2147483647"),
        ({"nodes": 2**31}, r"deploy\.nodes: input should be less than or equal to 2147483647"),
        ({"startup_budget": 10**14}, r"deploy\.startup_budget: input should be less than or equal to"),
        ({"storage": {"size": "0"}}, r"deploy\.storage: size: '0' is an empty volume"),
        ({"storage": {"size": "0.0Gi"}}, r"'0\.0Gi' is an empty volume"),
        # A trailing newline passes a `$`-anchored pattern; Kubernetes would refuse the name.
        ({"namespace": "llm\n"}, "not a valid namespace"),
        ({"name": "qwen\n"}, "not a valid name"),
        ({"hf_token_secret": "hf-token\n"}, "not a valid Secret name"),
        ({"resources": {"cpu": "8\n"}}, "not a Kubernetes quantity"),
        ({"node_selector": {"pool": "gpu\n"}}, "is not a node label"),
        ({"storage": {"existing_claim": "models\n"}}, "not a valid name"),
    ],
)
def test_unworkable_deploy_settings_are_spec_errors(deploy: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        build_spec({"engine": "vllm", "model": "m", "deploy": deploy})


def test_tgi_across_nodes_is_a_spec_error_naming_the_fix() -> None:
    with pytest.raises(
        SpecError, match=r"deploy\.nodes: 2 nodes: TGI has no multi-node mode; serve with engine: vllm"
    ):
        build_spec({"engine": "tgi", "model": "gpt2", "deploy": {"nodes": 2, "storage": "none"}})


def test_a_local_model_directory_cannot_be_deployed(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="which pods cannot see"):
        objects_for({"engine": "vllm", "model": str(tmp_path)})


def test_multi_node_vllm_runs_ray_on_leader_and_workers() -> None:
    data = {"engine": "vllm", "model": "org/big", "tensor_parallel_size": 8, "deploy": {"nodes": 2}}
    kinds = by_kind(objects_for(data))
    assert list(kinds) == ["PersistentVolumeClaim", "LeaderWorkerSet", "Service"]
    group = kinds["LeaderWorkerSet"]["spec"]["leaderWorkerTemplate"]
    assert group["size"] == 2
    leader = group["leaderTemplate"]["spec"]["containers"][0]
    worker = group["workerTemplate"]["spec"]["containers"][0]
    assert leader["command"][:2] == ["/bin/sh", "-c"]
    assert leader["command"][2].startswith("ray start --head --port=6379 && exec vllm serve")
    assert leader["args"][-4:] == ["--pipeline-parallel-size", "2", "--distributed-executor-backend", "ray"]
    assert "--tensor-parallel-size" in leader["args"]
    assert 'ray start --address="$LWS_LEADER_ADDRESS:6379" --block' in worker["command"][2]
    assert (
        leader["resources"]["limits"]["nvidia.com/gpu"]
        == worker["resources"]["limits"]["nvidia.com/gpu"]
        == "8"
    )
    assert "ports" not in worker and "startupProbe" not in worker
    keyed = by_kind(objects_for({**data, "api_key": "sk-live-123456"}))["LeaderWorkerSet"]["spec"]
    templates = keyed["leaderWorkerTemplate"]
    names = {
        role: [e["name"] for e in templates[role]["spec"]["containers"][0]["env"]]
        for role in templates
        if role.endswith("Template")
    }
    assert names == {
        "leaderTemplate": ["HF_TOKEN", "VLLM_API_KEY"],
        "workerTemplate": ["HF_TOKEN"],
    }  # least privilege
    assert (
        kinds["Service"]["metadata"]["name"] == "vllm-org-big-leader"
    )  # LWS owns the headless `vllm-org-big`


def test_the_leader_script_runs_ray_then_vllm_with_exactly_the_rendered_arguments(tmp_path: Path) -> None:
    # Run the leader's and a worker's command in a real shell, with `ray` and `vllm` recording their argv.
    import json
    import subprocess
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "calls.jsonl"
    for tool in ("ray", "vllm"):
        script = bin_dir / tool
        script.write_text(
            f"#!{sys.executable}\nimport json, sys\n"
            f"open({str(record)!r}, 'a').write(json.dumps(['{tool}', *sys.argv[1:]]) + '\\n')\n"
        )
        script.chmod(0o755)
    tricky = ["--chat-template", '$(HOME) it\'s "quoted" $$x', "--seed", "1"]
    data = {"engine": "vllm", "model": "org/big", "tensor_parallel_size": 2, "deploy": {"nodes": 2}}
    group = by_kind(objects_for({**data, "engine_args": tricky}))["LeaderWorkerSet"]["spec"][
        "leaderWorkerTemplate"
    ]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LWS_LEADER_ADDRESS": "big-0.big.llm", "HOME": str(tmp_path)}
    for role in ("leaderTemplate", "workerTemplate"):
        container = group[role]["spec"]["containers"][0]
        argv = container["command"] + [
            a.replace("$$", "$") for a in container.get("args", [])
        ]  # as kubelet does
        subprocess.run(argv, env=env, check=True, timeout=30)
    calls = [json.loads(line) for line in record.read_text().splitlines()]
    local = list(container_render(build_spec({**data, "engine_args": tricky})).launch.command)  # type: ignore[union-attr]
    assert calls == [
        ["ray", "start", "--head", "--port=6379"],
        ["vllm", "serve", *local, "--pipeline-parallel-size", "2", "--distributed-executor-backend", "ray"],
        ["ray", "start", "--address=big-0.big.llm:6379", "--block"],
    ]


def test_api_key_and_user_secrets_are_references_and_commands_use_variables() -> None:
    data = {"engine": "vllm", "model": "m", "api_key": "sk-live-123456", "env": {"WANDB_API_KEY": "wb-999"}}
    objects = objects_for(data)
    text = to_yaml_documents(objects)
    assert "sk-live-123456" not in text and "wb-999" not in text
    env = by_kind(objects)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in env}
    assert refs["HF_TOKEN"] == {"name": "hf-token", "key": "token", "optional": True}
    assert refs["VLLM_API_KEY"] == {"name": "vllm-m-api-key", "key": "api-key", "optional": False}
    assert refs["WANDB_API_KEY"]["name"] == "vllm-m-env"
    commands = k8s.secret_commands(build_spec(data))
    assert commands[1] == (
        ': "${LLMSERVE_API_KEY:?is not set}" && printf %s "$LLMSERVE_API_KEY" | '
        "kubectl create secret generic vllm-m-api-key --from-file=api-key=/dev/stdin"
    )
    assert all("sk-live" not in line and "wb-999" not in line for line in commands)


def test_dollar_signs_in_engine_arguments_survive_kubernetes_expansion() -> None:
    data = {"engine": "vllm", "model": "m", "engine_args": ["--chat-template", "$(HOME)/t.jinja"]}
    args = by_kind(objects_for(data))["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-1] == "$$(HOME)/t.jinja"


def test_dollar_signs_in_environment_values_survive_kubernetes_expansion() -> None:
    # Kubernetes would put HF_TOKEN's value (or drop `$$` to `$`) where the spec says this text.
    data = {"engine": "vllm", "model": "m", "env": {"PROMPT_PREFIX": "$(HF_TOKEN) costs $$5"}}
    env = by_kind(objects_for(data))["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "PROMPT_PREFIX", "value": "$$(HF_TOKEN) costs $$$$5"} in env


@pytest.mark.parametrize(
    ("docker_size", "expected"),
    [("1g", "1Gi"), ("512m", "512Mi"), ("2.5G", "2.5Gi"), ("64k", "64Ki"), ("1000", "1000")],
)
def test_shm_sizes_become_kubernetes_quantities(docker_size: str, expected: str) -> None:
    from llmserve.deploy.workload import quantity

    assert quantity(docker_size) == expected
    data = {"engine": "vllm", "model": "m", "shm_size": docker_size}
    volumes = by_kind(objects_for(data))["Deployment"]["spec"]["template"]["spec"]["volumes"]
    assert volumes[1] == {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": expected}}


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ({"storage_class": "Fast"}, r"deploy\.storage: storage_class: 'Fast' is not a valid name"),
        ({"sise": "1Gi"}, r"deploy\.storage: sise: unknown key; use size, storage_class"),
        ("nfs", r"deploy\.storage: 'nfs' is not a storage; use none, or a mapping"),
        (None, r"deploy\.storage: None is not a storage; use none, or a mapping"),  # `storage:` left empty
        ({"size": "lots"}, r"deploy\.storage: size: 'lots' is not a Kubernetes quantity"),
        (
            {"existing_claim": "models", "size": "1Ti"},
            r"deploy\.storage: existing_claim: the claim exists, so size would be ignored; remove it",
        ),
        (
            {"existing_claim": "models", "access_mode": "ReadWriteOnce", "storage_class": "nfs"},
            r"so access_mode, storage_class would be ignored; remove them",
        ),
    ],
)
def test_bad_storage_gives_one_message_naming_the_key(storage: object, message: str) -> None:
    with pytest.raises(SpecError, match=message) as raised:
        build_spec({"engine": "vllm", "model": "m", "deploy": {"storage": storage}})
    assert raised.value.message.count(";") <= 2


def test_tolerations_are_checked() -> None:
    with pytest.raises(SpecError, match="operator Exists takes no value"):
        build_spec(
            {
                "engine": "vllm",
                "model": "m",
                "deploy": {"tolerations": [{"operator": "Exists", "value": "x"}]},
            }
        )


def test_models_that_differ_only_by_organisation_get_different_names(tmp_path: Path) -> None:
    # Two fine-tunes of one base model in one namespace: one name would make one replace the other.
    def name(model: str, **deploy: str) -> str:
        return workload_name(build_spec({"engine": "vllm", "model": model, "deploy": deploy}))

    assert [name(m) for m in ("org-a/llama", "org-b/llama", "llama")] == [
        "vllm-org-a-llama", "vllm-org-b-llama", "vllm-llama",
    ]  # fmt: skip
    long_org = "a-very-long-organisation-name-for-models"
    cut = {name(f"{long_org}{n}/llama") for n in "12"}
    assert len(cut) == 2 and all(len(n) <= MAX_NAME_LENGTH and DNS1035_LABEL.match(n) for n in cut)
    # Compose serves local directories: two named alike are told apart by where they are.
    for parent in ("a", "b"):
        (tmp_path / parent / "llama").mkdir(parents=True)
    local = {name(str(tmp_path / parent / "llama")) for parent in ("a", "b")}
    assert len(local) == 2 and all(n.startswith("vllm-llama-") for n in local)
    assert name("org-a/llama", name="chat") == "chat"
    assert by_kind(objects_for({"engine": "vllm", "model": "org-a/llama"}))["Service"]["metadata"][
        "name"
    ] == ("vllm-org-a-llama")


def run_secret_commands(lines: list[str], tmp_path: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Run the printed lines in sh, with a `kubectl` that records the Secret each would create."""
    import json
    import subprocess
    import sys

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / "secrets.jsonl"
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        "name, source = sys.argv[4], sys.argv[-1]\n"
        "text = sys.stdin.read()\n"
        "if source.startswith('--from-env-file='):\n"
        "    data = dict(line.split('=', 1) for line in text.splitlines())\n"
        "else:\n"
        "    data = {source.removeprefix('--from-file=').split('=', 1)[0]: text}\n"
        f"open({str(record)!r}, 'a').write(json.dumps([name, data]) + '\\n')\n"
    )
    kubectl.chmod(0o755)
    for line in lines:
        subprocess.run(["sh", "-c", line], env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env}, check=False)
    return dict(json.loads(line) for line in record.read_text().splitlines()) if record.exists() else {}


def test_the_secret_commands_read_each_secret_where_the_spec_keeps_it(tmp_path: Path) -> None:
    # A key read from a file must not be looked for in $LLMSERVE_API_KEY, nor a referenced variable in
    # a variable of another name: the Secret would be created empty.
    (tmp_path / "keys dir").mkdir()
    (tmp_path / "keys dir" / "api.key").write_text("sk-from-file-123\n")
    (tmp_path / "pat.txt").write_text("pat-from-file-456\n")
    data = {
        "engine": "vllm",
        "model": "org/m",
        "api_key": "file:keys dir/api.key",
        "hf_token": "env:MY_HF",
        "env": {"DB_PASSWORD": "env:DB_PASS", "GH_PAT": "file:pat.txt", "PLAIN": "x"},
    }
    lines = k8s.secret_commands(build_spec(data, base_dir=tmp_path))
    assert "LLMSERVE_API_KEY" not in " ".join(lines) and all("sk-from" not in line for line in lines)
    secrets = run_secret_commands(lines, tmp_path, {"MY_HF": "hf_abc", "DB_PASS": "db-secret"})
    assert secrets == {
        "hf-token": {"token": "hf_abc"},
        "vllm-org-m-api-key": {"api-key": "sk-from-file-123"},
        "vllm-org-m-env": {"DB_PASSWORD": "db-secret", "GH_PAT": "pat-from-file-456"},
    }


def test_a_secret_command_creates_nothing_when_its_variable_is_unset(tmp_path: Path) -> None:
    # An empty API key Secret would start vLLM with no key at all: a server open to anyone.
    data = {"engine": "vllm", "model": "org/m", "api_key": "env:MY_KEY", "env": {"A_TOKEN": "env:MY_TOKEN"}}
    lines = k8s.secret_commands(build_spec(data))
    assert run_secret_commands(lines, tmp_path, {"MY_TOKEN": "t-123"}) == {
        "hf-token": {"token": ""},  # optional: anonymous downloads
        "vllm-org-m-env": {"A_TOKEN": "t-123"},
    }


def test_environment_entries_given_by_reference_are_secret_references_never_values(tmp_path: Path) -> None:
    # `file:` is read when the spec is loaded: its content must not land in the objects (nor, masked
    # as ***, in the documents on stdout); `env:NAME` must not reach the pod as the text "env:NAME".
    (tmp_path / "pat.txt").write_text("pat-from-file-456\n")
    data = {"engine": "vllm", "model": "org/m", "env": {"GH_PAT": "file:pat.txt", "MY_SETTING": "env:FOO"}}
    objects = k8s.render(build_spec(data, base_dir=tmp_path))
    text = to_yaml_documents(objects)
    assert "pat-from-file-456" not in text and "env:FOO" not in text
    env = by_kind(objects)["Deployment"]["spec"]["template"]["spec"]["containers"][0]["env"]
    refs = {item["name"]: item["valueFrom"]["secretKeyRef"] for item in env}
    assert refs["GH_PAT"] == {"name": "vllm-org-m-env", "key": "GH_PAT", "optional": False}
    assert refs["MY_SETTING"] == {"name": "vllm-org-m-env", "key": "MY_SETTING", "optional": False}


@pytest.mark.parametrize(
    "deploy",
    [
        {"tolerations": [{"key": "bad key!", "operator": "Exists"}]},
        {"tolerations": [{"key": "gpu", "value": "v a l"}]},
        {"tolerations": [{"key": "gpu", "value": "x" * 64}]},
        {"tolerations": [{"key": "Example.com/gpu", "operator": "Exists"}]},
        {"node_selector": {"example.com/" + "n" * 64: "x"}},
        {"node_selector": {"x" * 254 + "/gpu": "x"}},
    ],
)
def test_tolerations_and_node_labels_kubernetes_would_refuse_are_refused_here(deploy: dict[str, Any]) -> None:
    # The schemas have no patterns for these: the objects would validate offline and fail at apply.
    with pytest.raises(SpecError, match=r"deploy\.(tolerations|node_selector)") as raised:
        build_spec({"engine": "vllm", "model": "m", "deploy": deploy})
    assert "\n" not in raised.value.message


def test_well_formed_tolerations_render_as_given() -> None:
    tolerations = [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "llm-serving"},
    ]
    deploy = {
        "tolerations": tolerations,
        "node_selector": {"nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3"},
    }
    pod = by_kind(objects_for({"engine": "vllm", "model": "m", "deploy": deploy}))["Deployment"]["spec"][
        "template"
    ]
    assert pod["spec"]["tolerations"] == [tolerations[0], {"operator": "Equal", **tolerations[1]}]
    for version in KUBERNETES_VERSIONS:
        validate_kubernetes(
            by_kind(objects_for({"engine": "vllm", "model": "m", "deploy": deploy}))["Deployment"], version
        )


def test_cpu_may_be_a_yaml_number_and_a_size_without_unit_is_refused_with_the_fix() -> None:
    # `cpu: 8` is how Kubernetes manifests write it; `memory: 64` would be 64 bytes, never meant.
    data = {"engine": "vllm", "model": "m", "deploy": {"resources": {"cpu": 8, "memory": "64Gi"}}}
    container = by_kind(objects_for(data))["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["requests"]["cpu"] == "8"
    half = {"engine": "vllm", "model": "m", "deploy": {"resources": {"cpu": 0.5}}}
    assert (
        by_kind(objects_for(half))["Deployment"]["spec"]["template"]["spec"]["containers"][0]["resources"][
            "requests"
        ]["cpu"]
        == "0.5"
    )
    for deploy, fix in (({"resources": {"memory": 64}}, "64Gi"), ({"storage": {"size": 100}}, "100Gi")):
        with pytest.raises(SpecError, match=f"has no unit.*{fix}"):
            build_spec({"engine": "vllm", "model": "m", "deploy": deploy})
    with pytest.raises(SpecError, match="a string"):
        build_spec({"engine": "vllm", "model": "m", "deploy": {"resources": {"cpu": True}}})
    # `llmserve schema` agrees, for editors.
    from jsonschema import Draft202012Validator

    from llmserve.spec import ServeSpec

    schema = Draft202012Validator(ServeSpec.model_json_schema())
    verdicts = [
        schema.is_valid({"engine": "vllm", "model": "m", "deploy": {"resources": resources}})
        for resources in ({"cpu": 8}, {"cpu": 0.5}, {"cpu": True}, {"memory": 64})
    ]
    assert verdicts == [True, True, False, False]


def test_an_unknown_key_in_a_toleration_is_named_in_full() -> None:
    data = {"engine": "vllm", "model": "m", "deploy": {"tolerations": [{"key": "a", "tolerationSeconds": 5}]}}
    with pytest.raises(SpecError, match=r"deploy\.tolerations\.tolerationSeconds: unknown key"):
        build_spec(data)

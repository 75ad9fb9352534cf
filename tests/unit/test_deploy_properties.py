"""Properties of every render over generated specs: GPUs, shared memory, secrets, probes, names,
selectors, and the container running exactly the engine's own render."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmserve import engines
from llmserve.deploy import compose, k8s
from llmserve.deploy.documents import to_yaml, to_yaml_documents
from llmserve.deploy.names import dns_label
from llmserve.deploy.settings import DNS1035_LABEL, DNS1123_LABEL, MAX_NAME_LENGTH
from llmserve.deploy.workload import container_render
from llmserve.errors import SpecError
from llmserve.plan import ProcessLaunch
from llmserve.spec import ServeSpec, build_spec
from tests.unit.deploy_checks import KUBERNETES_VERSIONS, validate_kubernetes

_NAME_CHARS = st.sampled_from("abcXYZ019._-")
_name = st.text(_NAME_CHARS, min_size=1, max_size=70).filter(lambda s: s[0].isalnum())
model_ids = st.one_of(_name, st.builds(lambda org, name: f"{org}/{name}", _name, _name))
secret_values = st.text(st.sampled_from("abcdefghijkmnpqrstuvwxyz23456789"), min_size=12, max_size=20).map(
    lambda s: f"s3cr3t-{s}"
)
storages: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.just({"storage": "none"}),
    st.just({"storage": {"existing_claim": "models"}}),
    st.just({"storage": {"access_mode": "ReadWriteMany", "size": "2Ti", "storage_class": "nfs"}}),
)


@st.composite
def spec_data(draw: st.DrawFn) -> dict[str, Any]:
    engine = draw(st.sampled_from(["tgi", "vllm"]))
    gpus = draw(st.sampled_from(["all", "none", "0,1,2,3,4,5,6,7"]))
    data: dict[str, Any] = {
        "engine": engine,
        "model": draw(model_ids),
        "gpus": gpus,
        "tensor_parallel_size": draw(st.integers(1, 8)),
        "port": draw(st.integers(1024, 65535)),
        "engine_args": draw(st.lists(st.sampled_from(["--seed", "1", "$(HOME)", "a$b"]), max_size=3)),
    }
    deploy: dict[str, Any] = {
        "replicas": draw(st.integers(1, 4)),
        "nodes": draw(st.integers(1, 3)) if engine == "vllm" and gpus != "none" else 1,
        "startup_budget": 10 * draw(st.integers(1, 720)),
        **draw(storages),
    }
    if draw(st.booleans()):
        deploy["namespace"] = "llm"
    data["deploy"] = deploy
    if draw(st.booleans()):
        data["api_key"] = draw(secret_values)
    if draw(st.booleans()):
        data["hf_token"] = draw(secret_values)
    if draw(st.booleans()):
        data["env"] = {"MY_SERVICE_TOKEN": draw(secret_values), "PLAIN": "x"}
    return data


def spec_from(data: dict[str, Any]) -> ServeSpec:
    try:
        return build_spec(data)
    except SpecError:
        assume(False)
        raise


def unescape(argument: str) -> str:
    return argument.replace("$$", "$")


def pod_templates(objects: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """Each pod template with whether its pods serve HTTP."""
    templates = []
    for document in objects:
        if document["kind"] == "Deployment":
            templates.append((document["spec"]["template"], True))
        elif document["kind"] == "LeaderWorkerSet":
            group = document["spec"]["leaderWorkerTemplate"]
            templates += [(group["leaderTemplate"], True), (group["workerTemplate"], False)]
    return templates


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@SETTINGS
@given(spec_data())
def test_kubernetes_render_properties(data: dict[str, Any]) -> None:
    spec = spec_from(data)
    objects = k8s.render(spec)
    tp = spec.tensor_parallel_size or 1
    local_args = list(container_render(spec).launch.command)  # type: ignore[union-attr]
    service = next(o for o in objects if o["kind"] == "Service")
    for template, serving in pod_templates(objects):
        pod = template["spec"]
        (container,) = pod["containers"]
        gpus = container["resources"].get("limits", {}).get("nvidia.com/gpu")
        assert gpus == (None if spec.gpus == "none" else str(tp))
        assert container["resources"].get("requests", {}).get("nvidia.com/gpu") == gpus
        shm = [v for v in pod["volumes"] if v.get("emptyDir", {}).get("medium") == "Memory"]
        if tp > 1:
            assert len(shm) == 1
            assert {"name": shm[0]["name"], "mountPath": "/dev/shm"} in container["volumeMounts"]
        assert pod["enableServiceLinks"] is False
        assert pod["automountServiceAccountToken"] is False  # no API credentials in a server's pod
        selected = service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        assert selected == serving
        if serving:
            startup = container["startupProbe"]
            assert startup["periodSeconds"] * startup["failureThreshold"] == spec.deploy.startup_budget
            assert "initialDelaySeconds" not in startup
            args = [unescape(a) for a in container["args"]]
            extra = [] if spec.deploy.nodes == 1 else ["--pipeline-parallel-size", str(spec.deploy.nodes)]
            assert args[: len(local_args)] == local_args
            assert args[len(local_args) : len(local_args) + len(extra)] == extra
            assert container["ports"][0]["containerPort"] == container_render(spec).launch.container_port  # type: ignore[union-attr]
    for document in objects:
        name = document["metadata"]["name"]
        assert DNS1123_LABEL.match(name) and len(name) <= 63, name
        for value in document["metadata"]["labels"].values():
            assert len(value) <= 63
    assert DNS1035_LABEL.match(service["metadata"]["name"])
    rendered = to_yaml_documents(objects) + "\n".join(k8s.secret_commands(spec))
    for secret in (spec.api_key, spec.hf_token):
        if secret is not None:
            assert secret.get_secret_value() not in rendered
    for value in spec.env.values():
        if value != "x":
            assert value not in rendered
    assert k8s.render(spec) == objects  # stable


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(spec_data())
def test_every_generated_object_validates_strictly(data: dict[str, Any]) -> None:
    for document in k8s.render(spec_from(data)):
        for version in KUBERNETES_VERSIONS:
            validate_kubernetes(document, version)


@SETTINGS
@given(spec_data())
def test_compose_render_properties(data: dict[str, Any]) -> None:
    data["deploy"] = {"startup_budget": data["deploy"]["startup_budget"]}
    spec = spec_from(data)
    document = compose.render(spec)
    (service,) = document["services"].values()
    assert [unescape(a) for a in service["command"]] == list(container_render(spec).launch.command)  # type: ignore[union-attr]
    assert service["ports"][0].startswith("127.0.0.1:")
    assert service["healthcheck"]["start_period"] == f"{spec.deploy.startup_budget}s"
    text = to_yaml(document)
    for secret in (spec.api_key, spec.hf_token):
        if secret is not None:
            assert secret.get_secret_value() not in text
    assert all(value not in text for value in spec.env.values() if value != "x")


@given(st.text(min_size=1, max_size=200))
def test_names_are_dns_labels_and_cut_names_stay_apart(text: str) -> None:
    name = dns_label(text)
    assert len(name) <= MAX_NAME_LENGTH
    assert DNS1035_LABEL.match(name), name
    assert dns_label(text) == name
    longer = dns_label(text + "x" * 60)
    assert longer != dns_label(text + "x" * 61)


@SETTINGS
@given(spec_data())
def test_vllm_pods_run_the_local_process_command_on_all_interfaces(data: dict[str, Any]) -> None:
    assume(data["engine"] == "vllm")
    data["vllm"] = {"version": "0.32.0"}  # what the image runs, and what a local vLLM 0.32 would get
    spec = spec_from(data)
    local = engines.render(spec).launch
    assert isinstance(local, ProcessLaunch)
    assert local.argv[:2] == ("vllm", "serve")
    expected = list(local.argv[2:])
    expected[expected.index("--host") + 1] = "0.0.0.0"
    expected[expected.index("--port") + 1] = "8000"  # the container's port; the Service maps the spec's
    document = next(o for o in k8s.render(spec) if o["kind"] in ("Deployment", "LeaderWorkerSet"))
    template = document["spec"].get("template") or document["spec"]["leaderWorkerTemplate"]["leaderTemplate"]
    args = [unescape(a) for a in template["spec"]["containers"][0]["args"]]
    assert args[: len(expected)] == expected

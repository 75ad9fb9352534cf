"""Kubernetes objects for a spec: a Deployment (one node) or a LeaderWorkerSet (vLLM across nodes),
a Service for the serving pods, and a PersistentVolumeClaim for the Hugging Face cache.

Pure: spec in, plain dicts out (the YAML documents `kubectl apply -f` takes).
"""

from __future__ import annotations

from typing import Any

from llmserve.deploy.documents import MANAGED_BY
from llmserve.deploy.settings import PROBE_PERIOD_SECONDS, is_label_value
from llmserve.deploy.workload import (
    API_KEY_KEY,
    DRAIN_SECONDS,
    HEALTH_PATH,
    PRE_STOP_SECONDS,
    SecretEnv,
    Workload,
    layout_engine_argument,
    quantity,
    workload,
)
from llmserve.errors import SpecError
from llmserve.plan import LABEL_PREFIX
from llmserve.spec import ServeSpec

Object = dict[str, Any]

LWS_API_VERSION = "leaderworkerset.x-k8s.io/v1"
GPU_RESOURCE = "nvidia.com/gpu"
PORT_NAME = "http"
RAY_PORT = 6379
ROLE_LABEL = f"{LABEL_PREFIX}role"
PROBE_TIMEOUT_SECONDS = 5
READINESS_FAILURES = 3
LIVENESS_FAILURES = 6
CACHE_VOLUME = "hf-cache"
SHM_VOLUME = "dshm"
SHM_PATH = "/dev/shm"  # noqa: S108 (the container's shared memory, not a temporary file)
# The leader starts Ray's head, then vLLM, which waits until the workers' GPUs have joined.
LEADER_SCRIPT = f'ray start --head --port={RAY_PORT} && exec vllm serve "$@"'
# A worker may start before the leader's Ray head listens: it retries until it joins, then blocks.
WORKER_SCRIPT = f'until ray start --address="$LWS_LEADER_ADDRESS:{RAY_PORT}" --block; do sleep 5; done'


def k8s_escape(argument: str) -> str:
    """Kubernetes expands $(VAR) in command, args and env values; $$ stands for a literal $."""
    return argument.replace("$", "$$")


def render(spec: ServeSpec) -> list[Object]:
    """The objects for `kubectl apply -f`, in the order they should be created."""
    if spec.is_local_model:
        raise SpecError(
            f"model {spec.model} is a directory on this machine, which pods cannot see; "
            "give a Hub id (org/name), or serve it with `render compose`"
        )
    layout_flag = layout_engine_argument(spec)
    if layout_flag is not None:
        raise SpecError(
            f"engine argument {layout_flag} changes how many GPUs a pod needs; set tensor_parallel_size "
            "(GPUs per pod) and deploy.nodes (vLLM pipeline parallel across nodes) instead"
        )
    work = workload(spec)
    objects: list[Object] = []
    cache = work.options.cache
    if cache is not None and cache.existing_claim is None:
        objects.append(_claim(work))
    objects.append(_leader_worker_set(work) if work.options.nodes > 1 else _deployment(work))
    objects.append(_service(work))
    return objects


def serving_selector(work: Workload) -> dict[str, str]:
    """Labels of exactly the pods that serve HTTP (the leaders, with several nodes)."""
    return {
        "app.kubernetes.io/name": work.spec.engine,
        "app.kubernetes.io/instance": work.name,
        ROLE_LABEL: "leader" if work.options.nodes > 1 else "server",
    }


def _labels(work: Workload) -> dict[str, str]:
    labels = {
        "app.kubernetes.io/name": work.spec.engine,
        "app.kubernetes.io/instance": work.name,
        "app.kubernetes.io/component": "inference-server",
        "app.kubernetes.io/part-of": "llmserve",
        "app.kubernetes.io/managed-by": MANAGED_BY,
        f"{LABEL_PREFIX}engine": work.spec.engine,
    }
    version = work.plan.engine_version
    if version and is_label_value(version):
        labels["app.kubernetes.io/version"] = version
    return labels


def _annotations(work: Workload) -> dict[str, str]:
    return {
        f"{LABEL_PREFIX}model": work.spec.model,
        f"{LABEL_PREFIX}served-model-name": work.plan.served_model_name,
    }


def _metadata(work: Workload, name: str) -> Object:
    metadata: Object = {"name": name}
    if work.options.namespace:
        metadata["namespace"] = work.options.namespace
    metadata["labels"] = _labels(work)
    metadata["annotations"] = _annotations(work)
    return metadata


def _claim_name(work: Workload) -> str | None:
    cache = work.options.cache
    if cache is None:
        return None
    return cache.existing_claim or f"{work.name}-hf-cache"


def _claim(work: Workload) -> Object:
    cache = work.options.cache
    assert cache is not None
    spec: Object = {
        "accessModes": [work.options.cache_access_mode],
        "resources": {"requests": {"storage": cache.size}},
    }
    if cache.storage_class:
        spec["storageClassName"] = cache.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(work, f"{work.name}-hf-cache"),
        "spec": spec,
    }


def _deployment(work: Workload) -> Object:
    cache = work.options.cache
    # One ReadWriteOnce volume cannot be mounted by the old and the new pod at once (on two nodes the
    # rollout would wait forever); an existing claim's mode is unknown, so one pod on it is treated alike.
    single_writer = cache is not None and (
        (cache.existing_claim is None and work.options.cache_access_mode == "ReadWriteOnce")
        or (cache.existing_claim is not None and work.options.replicas == 1)
    )
    spec: Object = {
        "replicas": work.options.replicas,
        "selector": {"matchLabels": serving_selector(work)},
    }
    if single_writer:
        spec["strategy"] = {"type": "Recreate"}
    spec["template"] = {
        "metadata": {
            "labels": {**_labels(work), **serving_selector(work)},
            "annotations": _annotations(work),
        },
        "spec": _pod_spec(work, _engine_container(work, args=list(work.container.command), serving=True)),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(work, work.name),
        "spec": spec,
    }


def multi_node_args(work: Workload) -> list[str]:
    """The local render's arguments, then what spreads the model over the group's nodes."""
    return [
        *work.container.command,
        "--pipeline-parallel-size",
        str(work.options.nodes),
        "--distributed-executor-backend",
        "ray",
    ]


def _leader_worker_set(work: Workload) -> Object:
    leader_command = ["/bin/sh", "-c", LEADER_SCRIPT, "vllm-leader"]
    leader = _engine_container(work, command=leader_command, args=multi_node_args(work), serving=True)
    worker = _engine_container(work, command=["/bin/sh", "-c", WORKER_SCRIPT], serving=False)
    worker_labels = {**_labels(work), ROLE_LABEL: "worker"}
    spec: Object = {
        "replicas": work.options.replicas,
        "leaderWorkerTemplate": {
            "size": work.options.nodes,
            "restartPolicy": "RecreateGroupOnPodRestart",  # a lost node breaks the whole group
            "leaderTemplate": {
                "metadata": {
                    "labels": {**_labels(work), **serving_selector(work)},
                    "annotations": _annotations(work),
                },
                "spec": _pod_spec(work, leader),
            },
            "workerTemplate": {
                "metadata": {"labels": worker_labels, "annotations": _annotations(work)},
                "spec": _pod_spec(work, worker),
            },
        },
    }
    return {
        "apiVersion": LWS_API_VERSION,
        "kind": "LeaderWorkerSet",
        "metadata": _metadata(work, work.name),
        "spec": spec,
    }


def _service(work: Workload) -> Object:
    # LeaderWorkerSet makes a headless Service of its own name for the group: ours is `-leader`.
    name = f"{work.name}-leader" if work.options.nodes > 1 else work.name
    port = {"name": PORT_NAME, "port": work.spec.effective_port, "targetPort": PORT_NAME, "protocol": "TCP"}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(work, name),
        "spec": {"type": work.options.service_type, "selector": serving_selector(work), "ports": [port]},
    }


def _pod_spec(work: Workload, container: Object) -> Object:
    options = work.options
    spec: Object = {
        "enableServiceLinks": False,  # no FOO_PORT variables for the engines to misread
        "automountServiceAccountToken": False,  # the engines never call the Kubernetes API
        "terminationGracePeriodSeconds": PRE_STOP_SECONDS + DRAIN_SECONDS,
        "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": _volumes(work),
    }
    if options.node_selector:
        spec["nodeSelector"] = dict(options.node_selector)
    if options.tolerations:
        spec["tolerations"] = [
            toleration.model_dump(exclude_none=True, mode="json") for toleration in options.tolerations
        ]
    return spec


def _volumes(work: Workload) -> list[Object]:
    claim = _claim_name(work)
    cache: Object = {"name": CACHE_VOLUME}
    if claim is None:
        cache["emptyDir"] = {}
    else:
        cache["persistentVolumeClaim"] = {"claimName": claim}
    shm = {"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": quantity(work.shm_size)}}
    return [cache, shm]


def _engine_container(
    work: Workload, *, command: list[str] | None = None, args: list[str] | None = None, serving: bool
) -> Object:
    """One container spec for single pods, leaders and workers: the engine's image and arguments."""
    container: Object = {"name": work.spec.engine, "image": work.container.image}
    if command is not None:
        container["command"] = command
    if args is not None:
        container["args"] = [k8s_escape(argument) for argument in args]
    if serving:
        port = {"name": PORT_NAME, "containerPort": work.container.container_port, "protocol": "TCP"}
        container["ports"] = [port]
    env: list[Object] = [{"name": key, "value": k8s_escape(value)} for key, value in work.env.items()]
    for secret in work.secrets:
        if not serving and secret.key == API_KEY_KEY:  # Ray workers answer no HTTP request
            continue
        reference = {"name": secret.secret, "key": secret.key, "optional": secret.optional}
        env.append({"name": secret.env, "valueFrom": {"secretKeyRef": reference}})
    if env:
        container["env"] = env
    container["resources"] = _resources(work)
    container["volumeMounts"] = [
        {"name": CACHE_VOLUME, "mountPath": work.hf_cache_dir},
        {"name": SHM_VOLUME, "mountPath": SHM_PATH},
    ]
    if serving:
        container.update(_probes(work))
        container["lifecycle"] = {"preStop": {"exec": {"command": ["sleep", str(PRE_STOP_SECONDS)]}}}
    capabilities: Object = {"drop": ["ALL"]}
    if work.needs_low_port:  # TGI listens on port 80
        capabilities["add"] = ["NET_BIND_SERVICE"]
    # The engines' images run as root and write their caches under it: runAsNonRoot would break them.
    container["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "capabilities": capabilities,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return container


def _probes(work: Workload) -> Object:
    def probe(failures: int) -> Object:
        return {
            "httpGet": {"path": HEALTH_PATH, "port": PORT_NAME},
            "periodSeconds": PROBE_PERIOD_SECONDS,
            "timeoutSeconds": PROBE_TIMEOUT_SECONDS,
            "failureThreshold": failures,
        }

    # Downloads and loading take long: the start-up budget is period x failureThreshold, no guessed delay.
    return {
        "startupProbe": probe(work.startup_failure_threshold),
        "readinessProbe": probe(READINESS_FAILURES),
        "livenessProbe": probe(LIVENESS_FAILURES),
    }


def _resources(work: Workload) -> Object:
    requests: dict[str, str] = {}
    limits: dict[str, str] = {}
    wanted = work.options.resources
    if wanted.cpu:
        requests["cpu"] = wanted.cpu
    if wanted.memory:
        requests["memory"] = limits["memory"] = wanted.memory
    if work.gpus:
        requests[GPU_RESOURCE] = limits[GPU_RESOURCE] = str(work.gpus)
    resources: Object = {}
    if requests:
        resources["requests"] = requests
    if limits:
        resources["limits"] = limits
    return resources


def secret_commands(spec: ServeSpec) -> list[str]:
    """`kubectl create secret` lines for the Secrets the objects reference: each value is read from the
    variable or file the user keeps it in (printf is a shell builtin: no value shows in a process list)."""
    work = workload(spec)
    namespace = f" --namespace {work.options.namespace}" if work.options.namespace else ""
    groups: dict[str, list[SecretEnv]] = {}
    for secret in work.secrets:
        groups.setdefault(secret.secret, []).append(secret)
    lines: list[str] = []
    for name, members in groups.items():
        create = f"kubectl create secret generic {name}{namespace}"
        if len(members) == 1:
            line = f"printf %s {members[0].shell_value()} | {create} --from-file={members[0].key}=/dev/stdin"
        else:  # printf repeats its format: one KEY=value line per member
            pairs = " ".join(f"{item.key} {item.shell_value()}" for item in members)
            line = f"printf '%s=%s\\n' {pairs} | {create} --from-env-file=/dev/stdin"
        # An unset variable would make an empty key (for an API key: a server open to anyone).
        required = [
            f'"${{{item.variable}:?is not set}}"' for item in members if not item.optional and not item.file
        ]
        if required:
            line = f": {' '.join(required)} && {line}"
        if all(item.optional for item in members):
            line += "  # optional: for gated or private models"
        lines.append(line)
    return lines

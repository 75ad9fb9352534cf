"""vLLM: its flags across versions, its image, what its logs say."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from llmserve.engines.common import (
    HUB_FAILURES,
    TRUST_REMOTE_CODE_NEEDED,
    EngineTraits,
    Hint,
    container_labels,
    engine_env,
    gpu_selection_env,
    local_model_mount,
    server_name,
)
from llmserve.plan import ContainerLaunch, LaunchPlan, Mount, ProcessLaunch
from llmserve.spec import NO_VOLUME, ServeSpec

CONTAINER_PORT = 8000
CONTAINER_HF_CACHE = "/root/.cache/huggingface"
API_KEY_ENV = "VLLM_API_KEY"
CPU_KVCACHE_ENV = "VLLM_CPU_KVCACHE_SPACE"
DEFAULT_CPU_KVCACHE_GIB = 2
API_SERVER_MODULE = "vllm.entrypoints.openai.api_server"

# `--task` was deprecated in 0.10.1 and removed in 0.13.0 (an argparse error there).
TASK_FLAG_DEPRECATED_IN = (0, 10, 1)
# The vllm/vllm-openai image's entry point: `vllm serve` (model positional) from 0.11.1; before, the
# API server module, which takes the model as `--model` only.
IMAGE_ENTRY_SERVE_SINCE = (0, 11, 1)

TRAITS = EngineTraits(
    name="vllm",
    milestones=(  # (a line vLLM logs, what it is doing from then on)
        ("Resolved architecture", "starting the engine"),
        ("Starting to load model", "loading weights"),
        ("Loading weights took", "weights loaded"),
        ("Warming up model", "warming up (compiling)"),
        ("KV cache", "sizing the KV cache"),
        ("Capturing CUDA graph", "capturing CUDA graphs"),
        ("init engine", "starting the API server"),
        ("Starting vLLM", "starting the API server"),
        ("Application startup complete", "ready"),
    ),
    hints=(  # the first whose pattern is in the log wins: the most specific come first
        Hint(
            r"unrecognized arguments|invalid choice",
            "the engine rejected a flag: check the pass-through arguments against this vLLM version",
        ),
        Hint(
            r"Address already in use",
            "the port is taken: stop what holds it or choose another with --port",
        ),
        Hint(
            r"Unsupported CPU attention configuration",
            "the CPU engine cannot run this model's attention shape (head size): "
            "serve it on a GPU or pick a model with a supported head size (e.g. 64 or 128)",
        ),
        Hint(
            r"larger than the (available|maximum) KV cache|estimated maximum model length",
            "the KV cache cannot hold --max-model-len tokens: lower --max-model-len "
            "(the engine's message gives the largest that fits) or give the cache more memory",
        ),
        Hint(
            r"Free memory on device .* is less than desired GPU memory utilization",
            "not enough free GPU memory: free the GPU or lower --gpu-memory-utilization",
        ),
        Hint(
            TRUST_REMOTE_CODE_NEEDED,
            "the model ships its own code: add --trust-remote-code if you trust it",
        ),
        Hint(
            r"GatedRepoError|401 Client Error|403 Client Error|Cannot access gated repo",
            "the model is gated or private: accept its licence on the Hub and pass a token "
            "(HF_TOKEN in the environment or --hf-token-file)",
        ),
        *HUB_FAILURES,
        Hint(
            r"not a registered model in the Transformers library|"
            r"Transformers implementation of .* is not compatible with vLLM",
            "the Transformers backend cannot serve this model: try --impl vllm or --impl auto",
        ),
        Hint(
            r"OutOfMemoryError|CUDA out of memory|Cannot allocate memory",
            "out of memory: lower --max-model-len, quantize, or use a smaller model",
        ),
    ),
)


@dataclass(frozen=True)
class VllmInstallation:
    """Where vLLM was found and how to start it.

    `script`: a working `vllm` console script. `module`: the interpreter runs the API server module
    (used when the console script is broken, as with the `vllm-cpu` distribution).
    """

    python: str
    version: str
    distribution: str
    launcher: Literal["script", "module"]
    script: str | None = None
    package_dir: str | None = None  # the `vllm` package's directory, to read its own definitions

    @property
    def is_cpu_build(self) -> bool:
        return self.distribution.endswith("-cpu") or "+cpu" in self.version


def parse_version(version: str) -> tuple[int, int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", version)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def image_version(image: str) -> str | None:
    """The vLLM version an image's tag names (`v0.10.0`, `0.9.2-cu128`), if it names one."""
    tag = image.partition("@")[0].rpartition(":")[2]  # a digest after the tag is not the tag
    return tag.split("-")[0] if parse_version(tag) else None


def render(spec: ServeSpec, installation: VllmInstallation | None = None) -> LaunchPlan:
    if spec.effective_runtime == "docker":
        return _render_container(spec)
    version = spec.vllm.version or (installation.version if installation else None)
    if installation is not None and installation.launcher == "module":
        command = [installation.python, "-m", API_SERVER_MODULE, "--model", spec.model]
    else:
        command = [installation.script if installation and installation.script else "vllm"]
        command += ["serve", spec.model]
    command += ["--host", spec.host, "--port", str(spec.effective_port)]
    command += serve_flags(spec, version)
    env, secrets = engine_env(spec)
    env.update(gpu_selection_env(spec.gpus))
    if spec.gpus == "none" or (installation is not None and installation.is_cpu_build):
        kvcache = spec.vllm.cpu_kvcache_space or DEFAULT_CPU_KVCACHE_GIB
        env.setdefault(CPU_KVCACHE_ENV, str(kvcache))
    _add_api_key(spec, env, secrets)
    return LaunchPlan(
        name=server_name(spec),
        engine="vllm",
        engine_version=version,
        model=spec.model,
        served_model_name=spec.served_model_name or spec.model,
        host=spec.host,
        port=spec.effective_port,
        launch=_process(command, env),
        secret_env=frozenset(secrets),
        api_key_env=API_KEY_ENV if spec.api_key is not None else None,
    )


def serve_flags(spec: ServeSpec, version: str | None) -> list[str]:
    """vLLM's own flags for the spec, for the given version (portable when it is unknown)."""
    flags: list[str] = []
    parsed = parse_version(version) if version else None
    if parsed is not None and parsed < TASK_FLAG_DEPRECATED_IN:
        flags += ["--task", "generate"]
    if spec.vllm.impl is not None:
        flags += ["--model-impl", spec.vllm.impl]
    optional: list[tuple[str, object]] = [
        ("--revision", spec.revision),
        ("--tensor-parallel-size", spec.tensor_parallel_size),
        ("--dtype", spec.dtype),
        ("--quantization", spec.quantization),
        ("--max-model-len", spec.max_model_len),
        ("--served-model-name", spec.served_model_name),
        ("--gpu-memory-utilization", spec.vllm.gpu_memory_utilization),
    ]
    for flag, value in optional:
        if value is not None:
            flags += [flag, str(value)]
    if spec.trust_remote_code:
        flags.append("--trust-remote-code")
    if spec.vllm.enforce_eager:
        flags.append("--enforce-eager")
    if spec.lora_adapters:
        flags += ["--enable-lora", "--lora-modules", *(_lora_module(a) for a in spec.lora_adapters)]
    return [*flags, *spec.engine_args]


def _lora_module(adapter: str) -> str:
    """`name=path`, or vLLM's JSON form where its `name=path` parsing would break on the value.

    vLLM reads an entry holding `=` and no `,` as `name=path` (older versions crash on a second `=`),
    anything else as JSON; an entry starting with `-` would be taken for an option.
    """
    name, _, path = adapter.partition("=")
    path = path or name
    if "=" in path or "," in adapter or adapter.startswith("-"):
        return json.dumps({"name": name, "path": path})
    return f"{name}={path}"


def _add_api_key(spec: ServeSpec, env: dict[str, str], secrets: set[str]) -> None:
    # The key goes to the environment (vLLM reads VLLM_API_KEY), never to argv.
    if spec.api_key is not None:
        env[API_KEY_ENV] = spec.api_key.get_secret_value()
        secrets.add(API_KEY_ENV)


def _process(command: list[str], env: dict[str, str]) -> ProcessLaunch:
    return ProcessLaunch(argv=tuple(command), env=env)


def _render_container(spec: ServeSpec) -> LaunchPlan:
    image = spec.effective_image
    version = spec.vllm.version or image_version(image)
    mount, model_path = local_model_mount(spec)
    served_name = spec.served_model_name or spec.model
    parsed = parse_version(version) if version else None
    # The image's entry point takes the model positionally from 0.11.1, as `--model` before.
    command = [model_path] if parsed is None or parsed >= IMAGE_ENTRY_SERVE_SINCE else ["--model", model_path]
    notes = () if parsed is not None else (_unversioned_image_note(image),)
    command += ["--host", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    if spec.is_local_model and not spec.served_model_name:
        # Clients name the model as the user did, not by its path inside the container.
        command += ["--served-model-name", served_name]
    command += serve_flags(spec, version)
    env, secrets = engine_env(spec)
    if spec.gpus == "none":  # the CPU image
        env.setdefault(CPU_KVCACHE_ENV, str(spec.vllm.cpu_kvcache_space or DEFAULT_CPU_KVCACHE_GIB))
    _add_api_key(spec, env, secrets)
    mounts = [] if spec.volume == NO_VOLUME else [Mount(spec.volume, CONTAINER_HF_CACHE)]
    if mount is not None:
        mounts.append(mount)
    container = ContainerLaunch(
        name=server_name(spec),
        image=image,
        command=tuple(command),
        container_port=CONTAINER_PORT,
        env=env,
        mounts=tuple(mounts),
        labels=container_labels(spec, served_name),
        gpus=spec.gpus,
        shm_size=spec.effective_shm_size,
        ipc_mode="host",
        pull=spec.pull,
    )
    return LaunchPlan(
        name=server_name(spec),
        engine="vllm",
        engine_version=version,
        model=spec.model,
        served_model_name=served_name,
        host=spec.host,
        port=spec.effective_port,
        launch=container,
        secret_env=frozenset(secrets),
        api_key_env=API_KEY_ENV if spec.api_key is not None else None,
        notes=notes,
    )


def _unversioned_image_note(image: str) -> str:
    since = ".".join(map(str, IMAGE_ENTRY_SERVE_SINCE))
    return (
        f"image {image} names no vLLM version, so it is taken to be {since} or later (the model passed "
        "positionally, as `vllm serve` takes it); give --vllm-version to render for its version"
    )

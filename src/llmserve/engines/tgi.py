"""TGI: its launcher flags, its image, what its logs say."""

from __future__ import annotations

from llmserve.engines.common import (
    HUB_FAILURES,
    TRUST_REMOTE_CODE_NEEDED,
    EngineTraits,
    Hint,
    container_labels,
    engine_env,
    local_model_mount,
    server_name,
)
from llmserve.plan import ContainerLaunch, LaunchPlan, Mount
from llmserve.spec import NO_VOLUME, ServeSpec

CONTAINER_PORT = 80
DATA_DIR = "/data"  # the image sets HF_HOME=/data
API_KEY_ENV = "API_KEY"  # the launcher reads each flag from its upper-case env var

TRAITS = EngineTraits(
    name="tgi",
    milestones=(
        ("Starting check and download process", "downloading weights"),
        ("Successfully downloaded weights", "weights downloaded"),
        ("Starting shard", "starting shards"),
        ("Waiting for shard to be ready", "waiting for shards"),
        ("Shard ready in", "shard ready"),
        ("Warming up model", "warming up"),
        ("Connected", "connected"),
    ),
    hints=(  # the first whose pattern is in the log wins: the most specific come first
        Hint(
            r"error: unexpected argument|error: invalid value",
            "the launcher rejected a flag: check the pass-through arguments against this TGI version",
        ),
        Hint(
            r"GatedRepoError|401 Client Error|403 Client Error|Cannot access gated repo",
            "the model is gated or private: accept its licence on the Hub and pass a token "
            "(HF_TOKEN in the environment or --hf-token-file)",
        ),
        Hint(
            TRUST_REMOTE_CODE_NEEDED,
            "the model ships its own code: add --trust-remote-code if you trust it",
        ),
        Hint(
            r"Error while creating shared memory segment|NCCL.*shm|/dev/shm",
            "the shared memory segment is too small for sharding: raise --shm-size (e.g. 2g)",
        ),
        Hint(
            r"Not enough memory to handle|CUDA out of memory|OutOfMemoryError",
            "out of memory at warm-up: lower --max-batch-prefill-tokens or --max-model-len, "
            "or quantize the model",
        ),
        Hint(
            r"not supported.*(compute capability|flash attention)|compute capability.*not supported",
            "this GPU is too old for TGI's kernels (compute capability 8.0 or newer)",
        ),
        *HUB_FAILURES,
        Hint(
            r"DownloadError|Connection error",
            "the weights could not be downloaded: check the model id, the network, "
            "or give a local model directory",
        ),
        Hint(r"ShardCannotStart", "a shard failed to start: the log lines above say why"),
        Hint(r"WebserverFailed", "TGI's web server failed to start: the log lines above say why"),
    ),
)


def render(spec: ServeSpec) -> LaunchPlan:
    mount, model_id = local_model_mount(spec)
    served_name = model_id
    env, secrets = engine_env(spec)
    if spec.api_key is not None:
        env[API_KEY_ENV] = spec.api_key.get_secret_value()
        secrets.add(API_KEY_ENV)
    mounts = [] if spec.volume == NO_VOLUME else [Mount(spec.volume, DATA_DIR)]
    if mount is not None:
        mounts.append(mount)
    container = ContainerLaunch(
        name=server_name(spec),
        image=spec.effective_image,
        command=tuple(launcher_args(spec, model_id)),
        container_port=CONTAINER_PORT,
        env=env,
        mounts=tuple(mounts),
        labels=container_labels(spec, served_name),
        gpus=spec.gpus,
        shm_size=spec.effective_shm_size,
        pull=spec.pull,
    )
    return LaunchPlan(
        name=server_name(spec),
        engine="tgi",
        engine_version=spec.effective_image.rpartition(":")[2],
        model=spec.model,
        served_model_name=served_name,
        host=spec.host,
        port=spec.effective_port,
        launch=container,
        secret_env=frozenset(secrets),
        api_key_env=API_KEY_ENV if spec.api_key is not None else None,
    )


def launcher_args(spec: ServeSpec, model_id: str) -> list[str]:
    """Arguments of text-generation-launcher, in the order its --help lists them."""
    # Docker sets HOSTNAME to the container id and the launcher would bind to it: name it.
    args = ["--model-id", model_id, "--hostname", "0.0.0.0", "--port", str(CONTAINER_PORT)]
    options = spec.tgi
    optional: list[tuple[str, object]] = [
        ("--revision", spec.revision),
        ("--num-shard", spec.tensor_parallel_size),
        ("--quantize", spec.quantization),
        ("--dtype", None if spec.dtype == "auto" else spec.dtype),
        ("--max-concurrent-requests", options.max_concurrent_requests),
        ("--max-input-tokens", options.max_input_tokens),
        ("--max-total-tokens", spec.max_model_len),
        ("--max-batch-prefill-tokens", options.max_batch_prefill_tokens),
        ("--max-batch-total-tokens", options.max_batch_total_tokens),
    ]
    for flag, value in optional:
        if value is not None:
            args += [flag, str(value)]
    if spec.trust_remote_code:
        args.append("--trust-remote-code")
    if spec.lora_adapters:
        args += ["--lora-adapters", ",".join(spec.lora_adapters)]
    return [*args, *spec.engine_args]

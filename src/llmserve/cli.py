"""The command line. Thin: each command turns its options into a spec and calls one function.

Errors of llmserve's own become one line on stderr and a documented exit code here, and only here.
"""

# Typer reads these annotations at run time: no `from __future__ import annotations` here.
import functools
import math
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

from llmserve import __version__, grammar
from llmserve.errors import ExitCode, Interrupted, LlmserveError, SpecError
from llmserve.options import DEPLOY_OPTION_FIELDS, OPTION_FIELDS
from llmserve.redaction import masked_word, remember

if TYPE_CHECKING:
    from llmserve.console import Console
    from llmserve.spec import ServeSpec


class OneLineErrors(TyperGroup):
    """Usage errors (a bad option value, a missing argument) as one line naming the value."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        from typer._click import exceptions  # Typer's own copy of Click

        no_args = getattr(exceptions, "NoArgsIsHelpError", ())
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[misc]
        except no_args as error:
            typer.echo(error.ctx.get_help() if error.ctx else "")
            sys.exit(int(ExitCode.USAGE))
        except exceptions.UsageError as error:
            command = error.ctx.command_path if error.ctx else "llmserve"
            message = error.format_message().rstrip(".")
            param = getattr(error, "param", None)
            given = _given_value(kwargs.get("args"), param)
            kind = next((kind for words, kind in _KINDS.items() if words in message), None)
            if given is not None and kind is not None and isinstance(error, exceptions.BadParameter):
                message = f"{message.partition(': Input should')[0]}: {given!r:.80} is not {kind}"
            elif given is not None and repr(given) not in message:
                message += f" (got {given!r:.80})"
            _report_usage(f"{message}; see `{command} --help`")
            sys.exit(int(ExitCode.USAGE))
        except exceptions.ClickException as error:
            _report_usage(error.format_message())
            sys.exit(int(ExitCode.USAGE))
        except typer.Abort:
            sys.exit(int(ExitCode.INTERRUPTED))
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


# Typer's words for a value of the wrong type -> ours
_KINDS = {"valid integer": "a whole number", "valid number": "a number", "valid boolean": "true or false"}


def _given_value(args: Any, param: Any) -> str | None:
    """The value the user gave for the option `param`, to name it in the error."""
    words = list(sys.argv[1:] if args is None else args)
    for index, word in enumerate(words):
        for flag in getattr(param, "opts", ()):
            if word == flag and index + 1 < len(words):
                return str(words[index + 1])
            if word.startswith(f"{flag}="):
                return str(word[len(flag) + 1 :])
    envvar = getattr(param, "envvar", None)
    return os.environ.get(envvar) if isinstance(envvar, str) else None


def _report_usage(message: str) -> None:
    from llmserve.console import Console

    Console().error(message)


app = typer.Typer(
    cls=OneLineErrors,
    name="llmserve",
    help="Serve a Transformers model with TGI or vLLM: one validated spec, the right engine "
    "command, logs, readiness, a clean stop.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=True,
)

API_KEY_ENV = "LLMSERVE_API_KEY"
HF_TOKEN_ENVS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
DEBUG_ENV = "LLMSERVE_DEBUG"

_state = {"debug": False}

# Options each serve command shares. Their names are the spec fields they set (see OPTION_FIELDS).
ModelArg = Annotated[
    str, typer.Argument(metavar="MODEL", help="Hub id (org/name) or a local model directory.")
]
EngineArgs = Annotated[
    list[str] | None,
    typer.Argument(metavar="[-- ENGINE_ARGS...]", help="Passed to the engine as they are."),
]
Revision = Annotated[str | None, typer.Option(help="Model revision (branch, tag or commit).")]
Host = Annotated[str | None, typer.Option(help="Interface to listen on [default: 127.0.0.1].")]
Port = Annotated[int | None, typer.Option("--port", "-p", help="Host port [default: TGI 8080, vLLM 8000].")]
Gpus = Annotated[str | None, typer.Option(help="all, none, or device indices such as 0,1 [default: all].")]


def _count_or_auto(value: str) -> int | str:
    """A positive whole number, or `auto` (llmserve chooses it from the fit estimate)."""
    if value.strip().lower() == "auto":
        return "auto"
    try:
        return int(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither a whole number nor auto") from None


def _output_path(value: str) -> Path:
    """A path to write to, on one line: an empty one (`-o "$UNSET"`) would mean the current directory."""
    if not value:
        raise typer.BadParameter("the path is empty; name a file or directory to write")
    if not grammar.matches(grammar.ONE_LINE, value):
        raise typer.BadParameter("the path holds a line break or control character; choose a plain name")
    if value == "-":  # not standard output: it would be a file named `-` in the current directory
        raise typer.BadParameter("'-' would be a file named -; leave -o out to print, or use /dev/stdout")
    if len(os.fsencode(value)) >= 4096 or any(len(os.fsencode(part)) > 255 for part in Path(value).parts):
        raise typer.BadParameter(
            "the path or a name in it is too long (255 bytes a name); choose a shorter one"
        )
    return Path(value)


TensorParallel = Annotated[
    Any,
    typer.Option(
        "--tensor-parallel-size",
        "--tp",
        "--num-shard",
        parser=_count_or_auto,
        metavar="N|auto",
        help="GPUs to shard across; auto: the fewest the model fits on.",
    ),
]
Dtype = Annotated[
    str | None,
    typer.Option(
        help="vLLM: auto, half, float16, bfloat16, float or float32; TGI: auto, float16 or bfloat16."
    ),
]
Quantization = Annotated[
    str | None, typer.Option("--quantization", "--quantize", "-q", help="Quantization method.")
]
MaxModelLen = Annotated[
    Any,
    typer.Option(
        "--max-model-len",
        "--max-total-tokens",
        parser=_count_or_auto,
        metavar="N|auto",
        help="Longest sequence, in tokens; auto: the longest that fits.",
    ),
]
TrustRemoteCode = Annotated[
    bool | None,
    typer.Option("--trust-remote-code/--no-trust-remote-code", help="Run the model's own code."),
]
ServedName = Annotated[str | None, typer.Option(help="Name clients send as `model`.")]
ApiKeyFile = Annotated[
    Path | None,
    typer.Option(help=f"File holding the API key clients must send (or set {API_KEY_ENV})."),
]
HfTokenFile = Annotated[
    Path | None, typer.Option(help="File holding a Hugging Face token (or set HF_TOKEN).")
]
Env = Annotated[list[str] | None, typer.Option("--env", "-e", help="KEY=VALUE for the engine; repeatable.")]
Lora = Annotated[list[str] | None, typer.Option("--lora", help="LoRA adapter: id or name=path; repeatable.")]
Image = Annotated[str | None, typer.Option(help="Container image (pinned tag).")]
Pull = Annotated[str | None, typer.Option(help="always, missing or never [default: missing].")]
ShmSize = Annotated[str | None, typer.Option(help="Size of /dev/shm in the container [TGI default: 1g].")]
Volume = Annotated[str | None, typer.Option(help="Host HF cache to mount; 'none' for none.")]
Runtime = Annotated[str | None, typer.Option(help="docker or process [default: TGI docker, vLLM process].")]
MaxInputTokens = Annotated[int | None, typer.Option(help="TGI: longest prompt, in tokens.")]
MaxPrefill = Annotated[int | None, typer.Option(help="TGI: prefill token budget.")]
MaxBatchTotal = Annotated[int | None, typer.Option(help="TGI: batch token budget.")]
MaxConcurrent = Annotated[int | None, typer.Option(help="TGI: concurrent request limit.")]
Impl = Annotated[str | None, typer.Option(help="vLLM --model-impl: auto, vllm, transformers, terratorch.")]
VllmPython = Annotated[
    str | None,
    typer.Option(envvar="LLMSERVE_VLLM_PYTHON", help="Interpreter that has vLLM installed."),
]
VllmVersion = Annotated[
    str | None, typer.Option(help="Render for this vLLM version instead of the detected one.")
]
GpuMemory = Annotated[float | None, typer.Option(help="vLLM: fraction of GPU memory to use.")]
EnforceEager = Annotated[
    bool | None, typer.Option("--enforce-eager/--no-enforce-eager", help="vLLM: no CUDA graphs.")
]
CpuKvCache = Annotated[
    int | None, typer.Option(help="vLLM CPU: GiB of KV cache [default: from the memory available].")
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the command, start nothing.")]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print the plan as JSON and start nothing; with --detach or --smoke, the running server; "
        "with --bench, the benchmark.",
    ),
]
Explain = Annotated[
    bool, typer.Option("--explain", help="Show what each setting becomes in TGI and in vLLM; start nothing.")
]
Detach = Annotated[bool, typer.Option("--detach", "-d", help="Leave the server running once ready.")]
Smoke = Annotated[
    bool, typer.Option("--smoke", help="Once ready, check /health, /v1/models and a completion.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]
EngineOpt = Annotated[
    str | None, typer.Option(help="Serve with this engine (tgi or vllm), translating the spec.")
]
Lenient = Annotated[bool, typer.Option(help="Drop what the other engine cannot do, with a warning.")]
ReadyTimeout = Annotated[float, typer.Option(help="Seconds to wait for readiness.")]
RenderTarget = Annotated[
    str | None,
    typer.Option(
        "--render", metavar="k8s|compose", help="Print Kubernetes objects or a Compose file; start nothing."
    ),
]
RenderOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        parser=_output_path,
        metavar="PATH",
        help="With a render: write here (FILE.yaml: one file; DIR: one file per object).",
    ),
]
Namespace = Annotated[str | None, typer.Option(help="Kubernetes namespace [default: kubectl's].")]
Replicas = Annotated[int | None, typer.Option(help="Serving copies [default: 1].")]
Nodes = Annotated[int | None, typer.Option(help="Nodes per copy; > 1 runs vLLM across nodes [default: 1].")]
DeployName = Annotated[
    str | None, typer.Option("--name", help="Name of the objects [default: engine-model].")
]
ServiceType = Annotated[
    str | None, typer.Option(help="ClusterIP, NodePort or LoadBalancer [default: ClusterIP].")
]
StartupBudget = Annotated[
    int | None, typer.Option(help="Seconds a pod may take to start before it is restarted [default: 1800].")
]
NoPreflight = Annotated[
    bool,
    typer.Option("--no-preflight", help="Start the engine without checking that it can have the model."),
]

# Benchmark options (`bench` and `run --bench`).
BenchRequests = Annotated[
    int | None,
    typer.Option("--requests", help="Requests to measure [default: 100, or all --duration allows]."),
]
BenchConcurrency = Annotated[
    int | None,
    typer.Option(help="Requests in flight (closed loop) [default: 1]; with --rate, a cap [default: none]."),
]
InputTokens = Annotated[int, typer.Option(help="Synthetic prompt length, counted by the server's tokenizer.")]
OutputTokens = Annotated[
    int, typer.Option(help="max_tokens per request (ignore_eos where the engine has it).")
]
SloOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--slo", help="Limit such as ttft.p99<=500ms or tpot.p50<=40ms; repeatable. Exit 9 if missed."
    ),
]

BenchModel = Annotated[
    str | None, typer.Option(help="Model to ask for [default: the first /v1/models lists].")
]
BenchDuration = Annotated[
    float | None, typer.Option(help="Seconds to send requests for, instead of --requests.")
]
BenchRate = Annotated[float | None, typer.Option(help="Open loop: Poisson arrivals, requests per second.")]
BenchSweep = Annotated[str | None, typer.Option(help="One run per level: concurrency=1,2,4 or rate=1,2,4.")]
BenchOutput = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        parser=_output_path,
        metavar="PATH",
        help="Write JSON, CSV, plots and an HTML report here.",
    ),
]

F = TypeVar("F", bound=Callable[..., Any])


def reports_errors(command: F) -> F:
    """The one boundary: llmserve's errors become a line on stderr and their exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from llmserve.console import Console

        try:
            return command(*args, **kwargs)
        except LlmserveError as error:
            if _state["debug"]:  # the traceback, then the same line and exit code as without --debug
                traceback.print_exc()
            console = Console()
            if isinstance(error, Interrupted):
                console.info(error.message)
                raise typer.Exit(int(error.exit_code)) from None
            console.error(error.message)
            for line in error.details:
                console.detail(f"| {line}")
            raise typer.Exit(int(error.exit_code)) from None
        except KeyboardInterrupt:
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"llmserve {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar=DEBUG_ENV, help="Show tracebacks.")] = False,
) -> None:
    _state["debug"] = debug


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, key = dotted.rpartition(".")
    target = data.setdefault(section, {}) if section else data
    target[key] = value


def _overrides(options: dict[str, Any]) -> dict[str, Any]:
    """Spec data from the options the user gave (None means: not given)."""
    data: dict[str, Any] = {}
    for option, dotted in {**OPTION_FIELDS, **DEPLOY_OPTION_FIELDS}.items():
        if options.get(option) is not None:
            _set(data, dotted, options[option])
    for pair in options.get("env") or []:
        name, sep, value = pair.partition("=")
        if not sep:  # what follows the name may be a secret typed with the wrong separator
            raise SpecError(f"--env {masked_word(name)!r} has no value; write it as NAME=VALUE")
        data.setdefault("env", {})[name] = value
    if options.get("lora"):
        data["lora_adapters"] = options["lora"]
    if options.get("engine_args"):
        data["engine_args"] = options["engine_args"]
    # Secret files are read by the spec (file:PATH), like the references a spec file may hold.
    for option, field in (("api_key_file", "api_key"), ("hf_token_file", "hf_token")):
        if options.get(option) is not None:
            data[field] = f"file:{_option_path(option, options[option])}"
    return data


def _option_path(option: str, path: Path) -> Path:
    from llmserve.spec import host_path

    try:
        return host_path(str(path), Path.cwd())
    except ValueError as problem:
        raise SpecError(f"--{option.replace('_', '-')}: {problem}") from None


def _environment_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """Secrets from the environment, where neither the file nor an option gave one."""
    secrets: dict[str, Any] = {}
    if "api_key" not in data and os.environ.get(API_KEY_ENV):
        secrets["api_key"] = _secret_from_environment(API_KEY_ENV)
    name = next((name for name in HF_TOKEN_ENVS if os.environ.get(name)), None)
    if "hf_token" not in data and name is not None:
        secrets["hf_token"] = _secret_from_environment(name)
    return secrets


def _secret_from_environment(name: str) -> str:
    """A secret set in the environment: the value itself, never read as env:/file: reference."""
    value = os.environ[name].strip()
    if not value.isprintable():
        raise SpecError(f"${name} spans lines or holds a control character; set it to the secret alone")
    if value.startswith(("env:", "file:")):
        raise SpecError(f"${name} must hold the secret itself, not a reference; set it to the secret")
    return value


def _serve(base: dict[str, Any], options: dict[str, Any], base_dir: Path | None = None) -> None:
    from llmserve.console import Console
    from llmserve.fit import Autos
    from llmserve.launch import LaunchOptions, announce_defaults, model_facts, plan_for, serve
    from llmserve.spec import build_spec
    from llmserve.specfile import merge

    if options.get("output") is not None and not options.get("render"):
        from llmserve.errors import SpecError

        raise SpecError("-o writes a render; add --render k8s or --render compose (or drop -o to serve)")
    data = merge(base, _overrides(options))
    data = {**data, **_environment_secrets(data)}
    autos = Autos.take(data)
    spec = build_spec(data, base_dir=base_dir)
    console = Console()
    _warn_when_open(spec, console)
    if options.get("render"):
        from llmserve.deploy.targets import render_target

        render_target(spec, options["render"], options.get("output"), console)
        return
    if options.get("explain"):
        _explain(spec, console, json_output=options["json_output"])
        return
    plan_only = options["json_output"] and not (
        options.get("detach") or options.get("smoke") or options.get("bench")
    )
    if options.get("dry_run") or plan_only:
        facts = model_facts(spec, preflight=False, autos=autos)
        plan = plan_for(spec, console, facts=facts, autos=autos)
        if options["json_output"]:
            console.json(plan.to_dict())
        else:
            if plan.engine_version:
                console.info(f"{plan.engine} {plan.engine_version}")
            announce_defaults(plan, console)
            console.result(plan.shell_line())
        return
    launch_options = LaunchOptions(
        detach=options["detach"],
        smoke=options["smoke"],
        json_output=options["json_output"],
        ready_timeout=options["ready_timeout"],
        preflight=not options.get("no_preflight"),
        after_ready=_bench_after_ready(options, console),
    )
    code = serve(spec.with_secrets_resolved(), launch_options, console, autos)
    if code:
        raise typer.Exit(code)


def _warn_when_open(spec: "ServeSpec", console: "Console") -> None:
    """A server other machines can reach, with no key to keep them out."""
    import ipaddress

    if spec.api_key is None and not ipaddress.ip_address(spec.host).is_loopback:
        console.warn(
            f"listening on {spec.host} without an API key: anyone who can reach this machine can use "
            f"the server; give --api-key-file or set {API_KEY_ENV}"
        )


def _bench_after_ready(options: dict[str, Any], console: "Console") -> Any:
    """`run --bench`: once the server generates, benchmark it (then it is stopped)."""
    if not options.get("bench"):
        return None
    if options.get("detach"):
        raise SpecError("--bench stops the server when it is done; leave out --detach")
    settings = {
        key: options[key] for key in ("requests", "concurrency", "input_tokens", "output_tokens", "slo")
    }
    _bench_options("http://127.0.0.1", model=None, api_key=None, **settings)  # bad values fail before launch

    def bench(plan: Any) -> None:
        bench_options = _bench_options(
            plan.endpoint, model=plan.served_model_name, api_key=plan.api_key, **settings
        )
        _run_bench(bench_options, json_output=options["json_output"], output=None, console=console)

    return bench


def _explain(spec: "ServeSpec", console: "Console", *, json_output: bool) -> None:
    from llmserve.engines import accepted
    from llmserve.engines.vllm_discovery import find_vllm
    from llmserve.explain import explain, table
    from llmserve.launch import machine_defaults

    installation = None
    if spec.engine == "vllm" and spec.vllm.version is None:
        try:
            installation = find_vllm(spec.vllm.python)
        except LlmserveError:
            installation = None
    accepted.check(spec, installation)
    chosen = machine_defaults(spec, installation)
    rows = explain(spec, installation.version if installation else None, chosen.choices)
    if json_output:
        console.json([row.to_dict() for row in rows])
    else:
        for line in table(rows):
            console.result(line)


@app.command()
@reports_errors
def tgi(
    model: ModelArg,
    engine_args: EngineArgs = None,
    revision: Revision = None, host: Host = None, port: Port = None, gpus: Gpus = None,
    tensor_parallel_size: TensorParallel = None, dtype: Dtype = None, quantization: Quantization = None,
    max_model_len: MaxModelLen = None, trust_remote_code: TrustRemoteCode = None,
    api_key_file: ApiKeyFile = None, hf_token_file: HfTokenFile = None, env: Env = None, lora: Lora = None,
    image: Image = None, pull: Pull = None, shm_size: ShmSize = None, volume: Volume = None,
    max_input_tokens: MaxInputTokens = None, max_batch_prefill_tokens: MaxPrefill = None,
    max_batch_total_tokens: MaxBatchTotal = None, max_concurrent_requests: MaxConcurrent = None,
    dry_run: DryRun = False, json_output: Json = False, explain: Explain = False,
    detach: Detach = False, smoke: Smoke = False, ready_timeout: ReadyTimeout = 1800.0,
    render: RenderTarget = None, output: RenderOutput = None,
    namespace: Namespace = None, replicas: Replicas = None, nodes: Nodes = None,
    no_preflight: NoPreflight = False,
) -> None:  # fmt: skip
    """Serve MODEL with TGI in Docker."""
    _serve({"engine": "tgi", "model": model}, locals())


@app.command()
@reports_errors
def vllm(
    model: ModelArg,
    engine_args: EngineArgs = None,
    impl: Impl = None, runtime: Runtime = None,
    vllm_python: VllmPython = None, vllm_version: VllmVersion = None,
    revision: Revision = None, host: Host = None, port: Port = None, gpus: Gpus = None,
    tensor_parallel_size: TensorParallel = None, dtype: Dtype = None, quantization: Quantization = None,
    max_model_len: MaxModelLen = None, trust_remote_code: TrustRemoteCode = None,
    served_model_name: ServedName = None,
    api_key_file: ApiKeyFile = None, hf_token_file: HfTokenFile = None, env: Env = None, lora: Lora = None,
    gpu_memory_utilization: GpuMemory = None, enforce_eager: EnforceEager = None,
    cpu_kvcache_space: CpuKvCache = None,
    image: Image = None, pull: Pull = None, shm_size: ShmSize = None, volume: Volume = None,
    dry_run: DryRun = False, json_output: Json = False, explain: Explain = False,
    detach: Detach = False, smoke: Smoke = False, ready_timeout: ReadyTimeout = 1800.0,
    render: RenderTarget = None, output: RenderOutput = None,
    namespace: Namespace = None, replicas: Replicas = None, nodes: Nodes = None,
    no_preflight: NoPreflight = False,
) -> None:  # fmt: skip
    """Serve MODEL with vLLM (a local process, or Docker with --runtime docker)."""
    _serve({"engine": "vllm", "model": model}, locals())


@app.command()
@reports_errors
def run(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC_FILE", help="A .yaml or .toml spec file.")],
    engine_args: EngineArgs = None,
    engine: EngineOpt = None,
    lenient: Lenient = False,
    model: Annotated[str | None, typer.Option(help="Override the file's model.")] = None,
    impl: Impl = None, runtime: Runtime = None,
    vllm_python: VllmPython = None, vllm_version: VllmVersion = None,
    revision: Revision = None, host: Host = None, port: Port = None, gpus: Gpus = None,
    tensor_parallel_size: TensorParallel = None, dtype: Dtype = None, quantization: Quantization = None,
    max_model_len: MaxModelLen = None, trust_remote_code: TrustRemoteCode = None,
    served_model_name: ServedName = None,
    api_key_file: ApiKeyFile = None, hf_token_file: HfTokenFile = None, env: Env = None, lora: Lora = None,
    gpu_memory_utilization: GpuMemory = None, enforce_eager: EnforceEager = None,
    cpu_kvcache_space: CpuKvCache = None,
    image: Image = None, pull: Pull = None, shm_size: ShmSize = None, volume: Volume = None,
    max_input_tokens: MaxInputTokens = None, max_batch_prefill_tokens: MaxPrefill = None,
    max_batch_total_tokens: MaxBatchTotal = None, max_concurrent_requests: MaxConcurrent = None,
    dry_run: DryRun = False, json_output: Json = False, explain: Explain = False,
    detach: Detach = False, smoke: Smoke = False, ready_timeout: ReadyTimeout = 1800.0,
    render: RenderTarget = None, output: RenderOutput = None,
    namespace: Namespace = None, replicas: Replicas = None, nodes: Nodes = None,
    no_preflight: NoPreflight = False,
    bench: Annotated[
        bool, typer.Option("--bench", help="Once ready, benchmark the server (as `bench`), then stop it.")
    ] = False,
    requests: BenchRequests = None, concurrency: BenchConcurrency = None,
    input_tokens: InputTokens = 256, output_tokens: OutputTokens = 128, slo: SloOpt = None,
) -> None:  # fmt: skip
    """Serve what a spec file describes; options override the file's values."""

    base = _spec_file_for(spec_file, engine, lenient)
    if model is not None:
        base["model"] = model
    _serve(base, locals(), base_dir=spec_file.resolve().parent)  # readable, so it resolves


def _spec_file_for(spec_file: Path, engine: str | None, lenient: bool) -> dict[str, Any]:
    """The file's spec data, moved to `engine` when another one is asked for."""
    from llmserve.console import Console
    from llmserve.specfile import read_spec_file
    from llmserve.translate import retarget

    if engine not in (None, "tgi", "vllm"):
        raise SpecError(f"--engine {engine!r} is not an engine; use tgi or vllm")
    data = read_spec_file(spec_file)
    source = data.get("engine")
    if engine is None or engine == source:
        return data
    if source is None:  # the file leaves the engine to the command line
        return {**data, "engine": engine}
    if source not in ("tgi", "vllm"):
        raise SpecError(f"invalid spec: engine: must be tgi or vllm (got {source!r:.60}); fix the file")
    data, notes = retarget(data, engine, lenient=lenient)
    console = Console()
    for note in notes:
        console.warn(note)
    return data


render_app = typer.Typer(
    help="Render a spec as Kubernetes objects or a Compose file instead of running it.",
    no_args_is_help=True,
)
app.add_typer(render_app, name="render")


def _render_command(
    target: str, spec_file: Path, engine: str | None, lenient: bool, options: dict[str, Any]
) -> None:
    base = _spec_file_for(spec_file, engine, lenient)
    _serve(base, {**options, "render": target}, base_dir=spec_file.resolve().parent)


SpecFileArg = Annotated[Path, typer.Argument(metavar="SPEC_FILE", help="A .yaml or .toml spec file.")]


@render_app.command("k8s")
@reports_errors
def render_k8s(
    spec_file: SpecFileArg,
    engine_args: EngineArgs = None,
    output: RenderOutput = None,
    namespace: Namespace = None, replicas: Replicas = None, nodes: Nodes = None,
    deploy_name: DeployName = None, service_type: ServiceType = None, startup_budget: StartupBudget = None,
    engine: EngineOpt = None, lenient: Lenient = False,
    image: Image = None, port: Port = None, gpus: Gpus = None, tensor_parallel_size: TensorParallel = None,
    max_model_len: MaxModelLen = None,
) -> None:  # fmt: skip
    """Kubernetes objects: a Deployment (or a LeaderWorkerSet across nodes), a Service, a cache claim."""
    _render_command("k8s", spec_file, engine, lenient, locals())


@render_app.command("compose")
@reports_errors
def render_compose(
    spec_file: SpecFileArg,
    engine_args: EngineArgs = None,
    output: RenderOutput = None,
    replicas: Replicas = None, nodes: Nodes = None,
    deploy_name: DeployName = None, startup_budget: StartupBudget = None,
    engine: EngineOpt = None, lenient: Lenient = False,
    image: Image = None, host: Host = None, port: Port = None, gpus: Gpus = None,
    tensor_parallel_size: TensorParallel = None, max_model_len: MaxModelLen = None,
) -> None:  # fmt: skip
    """A Compose file with one service: the engine's container, its GPUs, cache, health check."""
    _render_command("compose", spec_file, engine, lenient, locals())


@app.command("explain")
@reports_errors
def explain_command(
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC_FILE", help="A .yaml or .toml spec file.")],
    engine: EngineOpt = None,
    lenient: Lenient = False,
    json_output: JsonOpt = False,
) -> None:
    """Show each spec field, its value, and what it becomes in TGI and in vLLM."""
    base = _spec_file_for(spec_file, engine, lenient)
    _serve(base, {"explain": True, "json_output": json_output}, base_dir=spec_file.resolve().parent)


@app.command("fit")
@reports_errors
def fit_command(
    model: ModelArg,
    engine_args: EngineArgs = None,
    engine: Annotated[str, typer.Option(help="The engine to reckon for: vllm or tgi.")] = "vllm",
    runtime: Runtime = None, vllm_python: VllmPython = None, vllm_version: VllmVersion = None,
    revision: Revision = None, gpus: Gpus = None,
    tensor_parallel_size: TensorParallel = None, dtype: Dtype = None, quantization: Quantization = None,
    max_model_len: MaxModelLen = None, hf_token_file: HfTokenFile = None, env: Env = None,
    gpu_memory_utilization: GpuMemory = None, enforce_eager: EnforceEager = None,
    cpu_kvcache_space: CpuKvCache = None, volume: Volume = None,
    json_output: JsonOpt = False,
) -> None:  # fmt: skip
    """Will MODEL fit? Weights, activations and KV cache against the memory the engine will have.

    Reads only config.json and the weight files' sizes (local directory, HF cache or the hub's
    metadata). Exit 0 when it fits, 11 when it does not.
    """
    from llmserve.console import Console
    from llmserve.errors import EnvironmentMissing
    from llmserve.fit import NOT_RECKONED, Autos, DoesNotFit
    from llmserve.launch import model_facts, settle
    from llmserve.spec import build_spec
    from llmserve.specfile import merge

    if engine not in ("tgi", "vllm"):
        raise SpecError(f"--engine {engine!r} is not an engine; use tgi or vllm")
    data = merge({"engine": engine, "model": model}, _overrides(locals()))
    data = {**data, **_environment_secrets(data)}
    autos = Autos.take(data)
    spec = build_spec(data)
    console = Console()
    facts = model_facts(spec, preflight=True, autos=autos)
    settled = settle(spec, tolerate_missing_vllm=True, need_estimate=True, facts=facts, autos=autos)
    estimate = settled.estimate
    if estimate is None:
        raise SpecError(f"{NOT_RECKONED}; leave out --gpus none, or reckon for vLLM (--engine vllm)")
    if json_output:
        console.json({**estimate.to_dict(), "chosen": [choice.to_dict() for choice in settled.choices]})
    else:
        for choice in settled.choices:
            console.info(choice.line())
        for line in estimate.table():
            console.result(line)
    if not estimate.fits and estimate.problem:
        raise DoesNotFit(estimate.refusal())
    if not estimate.fits:
        raise EnvironmentMissing(
            "no GPU is visible (nvidia-smi and NVML find none), so there is nothing to reckon against; "
            "run it where the GPUs are, or use --gpus none for vLLM's CPU engine"
        )


@app.command()
@reports_errors
def convert(
    command: Annotated[
        list[str], typer.Argument(metavar="-- COMMAND...", help="A TGI or vLLM command line.")
    ],
    to: Annotated[str | None, typer.Option(help="Target engine [default: vllm].")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", parser=_output_path, metavar="PATH", help="Write the spec to this file."
        ),
    ] = None,
) -> None:
    """Turn a docker run / text-generation-launcher / vllm serve line into an llmserve spec."""
    from llmserve.console import Console
    from llmserve.conversion_output import converted, output_file
    from llmserve.output_files import write_atomically

    if to not in (None, "tgi", "vllm"):
        raise SpecError(f"--to {to!r} is not an engine; use tgi or vllm")
    console = Console()
    target = None if output is None else output_file(output)
    text, notes = converted(command, to or "vllm")
    if target is None:  # the notes head the YAML as comments
        console.result(text.rstrip("\n"))
        return
    for note in notes:
        console.warn(note)
    write_atomically(target, text)
    console.info(f"wrote {output}")


@app.command()
@reports_errors
def schema() -> None:
    """Print the spec's JSON Schema (for editors and CI linting)."""
    import json

    from llmserve.spec import ServeSpec

    typer.echo(json.dumps(ServeSpec.model_json_schema(), indent=2))


@app.command()
@reports_errors
def smoke(
    url: Annotated[str, typer.Argument(help="Base URL of a running TGI or vLLM server.")],
    model: Annotated[
        str | None, typer.Option(help="Model name to ask for [default: the first listed].")
    ] = None,
    api_key_file: ApiKeyFile = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds the whole check may take (each request has its own cap).")
    ] = 180.0,
) -> None:
    """Check that a running server answers /health and /v1/models, and generates."""
    from llmserve.console import Console
    from llmserve.readiness import smoke as run_smoke
    from llmserve.spec import read_secret_file

    api_key = os.environ.get(API_KEY_ENV)
    if api_key_file is not None:
        try:
            api_key = read_secret_file(api_key_file.expanduser())
        except ValueError as problem:
            raise SpecError(f"--api-key-file: {problem}") from None
    report = run_smoke(url, model, api_key, timeout=timeout)
    console = Console()
    if json_output:
        console.json(report.to_dict())
        return
    for check in report.checks:
        console.detail(f"{check.name}: ok in {check.seconds:.2f} s ({check.detail})")
    console.success(f"smoke passed: {report.endpoint} generates with {report.model}")


@app.command()
@reports_errors
def ps(json_output: JsonOpt = False) -> None:
    """List the servers llmserve started: name, engine, model, endpoint, since, state."""
    from llmserve.console import Console
    from llmserve.lifecycle import age, list_servers

    servers = list_servers()
    console = Console()
    if json_output:
        console.json([server.to_dict() for server in servers])
        return
    rows = [("NAME", "ENGINE", "MODEL", "ENDPOINT", "SINCE", "STATE")]
    rows += [(s.name, s.engine, s.model, s.endpoint, age(s.since), s.state) for s in servers]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        console.result("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@app.command()
@reports_errors
def logs(
    name: Annotated[str, typer.Argument(help="Server name (from `llmserve ps`).")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines.")] = False,
) -> None:
    """Print a server's log lines."""
    from llmserve.lifecycle import log_lines

    out = sys.stdout.buffer
    for line in log_lines(name, follow=follow):
        out.write(line)
        out.flush()


@app.command()
@reports_errors
def stop(
    name: Annotated[str | None, typer.Argument(help="Server name (from `llmserve ps`).")] = None,
    all_servers: Annotated[bool, typer.Option("--all", help="Stop every server llmserve started.")] = False,
    json_output: JsonOpt = False,
) -> None:
    """Stop a server llmserve started (gracefully, then forcibly) and remove what it left."""
    from llmserve.console import Console
    from llmserve.lifecycle import stop as stop_server
    from llmserve.lifecycle import stop_all

    if (name is None) == (not all_servers):
        raise SpecError("name one server to stop, or use --all")
    stopped = stop_all() if all_servers else [stop_server(name or "")]
    console = Console()
    if json_output:
        console.json([server.to_dict() for server in stopped])
        return
    for server in stopped:
        console.info(f"stopped {server.name} ({server.engine}, {server.model})")


@app.command()
@reports_errors
def doctor(
    engine: Annotated[
        str | None, typer.Option(help="Exit non-zero unless this engine (tgi or vllm) can run.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Check that this model (hub id or local directory) can be had, as before a launch."
        ),
    ] = None,
    revision: Revision = None,
    json_output: JsonOpt = False,
) -> None:
    """Report Docker, GPUs, vLLM, disk, HF token, servers; with --model, whether the model can be had
    and whether it fits (exit 11 when it does not)."""
    from llmserve.console import Console
    from llmserve.doctor import describe, gather
    from llmserve.errors import EnvironmentMissing
    from llmserve.modelfacts import ModelUnavailable, Reason

    if engine not in (None, "tgi", "vllm"):
        raise SpecError(f"--engine {engine!r} is not an engine; use tgi or vllm")
    report = gather(model, revision, engine)
    console = Console()
    if json_output:
        console.json(report.to_dict())
    else:
        for line in describe(report):
            console.result(line)
    if report.model is not None and not report.model["available"]:  # the question asked comes first
        raise ModelUnavailable(Reason(report.model["reason"]), report.model["problem"])
    if report.model is not None and (report.model.get("fit") or {}).get("refusal"):
        from llmserve.fit import DoesNotFit

        raise DoesNotFit(report.model["fit"]["refusal"])
    missing = report.missing_for(engine)
    if missing:
        raise EnvironmentMissing(f"missing for {engine or 'any engine'}: {', '.join(missing)}")


class _BenchGroup(typer.core.TyperGroup):
    """`llmserve bench URL …` runs a benchmark; `llmserve bench compare …` compares two."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return list(super().parse_args(ctx, args))


bench_app = typer.Typer(
    cls=_BenchGroup,
    help="Measure a served model as vLLM's benchmark does: `llmserve bench URL [OPTIONS]`, "
    "or `llmserve bench compare BASE.json NEW.json`.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(bench_app, name="bench")


def _client_api_key(api_key_file: Path | None) -> str | None:
    """The key a client sends: --api-key-file, else LLMSERVE_API_KEY."""
    from llmserve.spec import read_secret_file

    if api_key_file is None:
        key = os.environ.get(API_KEY_ENV) or None
        remember(key)  # masked however short, wherever a server echoes it
        return key
    try:
        return read_secret_file(api_key_file.expanduser())
    except ValueError as problem:
        raise SpecError(f"--api-key-file: {problem}") from None


# The most a benchmark takes of each: prompts are made before the run, a worker per request in flight.
BENCH_MAXIMA = {
    "--requests": 100_000,
    "--warmup": 100_000,
    "--concurrency": 10_000,
    "--input-tokens": 1_048_576,
    "--output-tokens": 1_048_576,
    "--duration": 30 * 86_400,
    "--rate": 100_000,
}


def _positive(name: str, value: float | None) -> None:
    if value is not None and not 0 < value < math.inf:  # NaN too: it would never end a run
        raise SpecError(f"{name} {value:g} must be a number above 0")
    _at_most(name, value)


def _at_most(name: str, value: float | None) -> None:
    most = BENCH_MAXIMA[name]
    if value is not None and value > most:
        raise SpecError(f"{name} {value:g} is more than a benchmark takes; use at most {most:,}")


def _bench_options(
    url: str, *, model: str | None, api_key: str | None, endpoint: str = "chat",
    requests: int | None, duration: float | None = None, concurrency: int | None, rate: float | None = None,
    warmup: int = 0, seed: int = 0, input_tokens: int, output_tokens: int, prompts: Path | None = None,
    slo: list[str] | None, sweep: str | None = None,
) -> Any:  # fmt: skip
    from llmserve.bench.limits import parse_slo
    from llmserve.bench.load import Load
    from llmserve.bench.runner import BenchOptions, parse_sweep

    for name, number in (
        ("--requests", requests),
        ("--duration", duration),
        ("--concurrency", concurrency),
        ("--rate", rate),
        ("--input-tokens", input_tokens),
        ("--output-tokens", output_tokens),
    ):
        _positive(name, number)  # fmt: skip
    if warmup < 0:
        raise SpecError(f"--warmup {warmup} must be 0 or more")
    _at_most("--warmup", warmup)
    if model is not None and not model.strip():
        raise SpecError("--model '' names no model; give the served model's name, or leave --model out")
    if requests is None and duration is None:
        requests = 100
    if concurrency is None and rate is None:
        concurrency = 1
    levels = None if sweep is None else parse_sweep(sweep)
    if levels is not None:
        for level in levels[1]:
            _at_most(f"--{levels[0]}", level)
    load = Load(
        concurrency=concurrency, rate=rate, requests=requests, duration_s=duration, warmup=warmup, seed=seed
    )
    return BenchOptions(
        url=url, model=model, api_key=api_key, endpoint=endpoint, load=load, input_tokens=input_tokens,
        output_tokens=output_tokens, prompts_file=prompts, slos=tuple(parse_slo(s) for s in slo or ()),
        sweep=levels,
    )  # fmt: skip


def _run_bench(options: Any, *, json_output: bool, output: Path | None, console: "Console") -> None:
    """Measure, report (stderr table, --json on stdout, --output files), and fail on a missed SLO."""
    from llmserve.bench.report import table_lines
    from llmserve.bench.runner import combined_document, console_progress, run_bench
    from llmserve.errors import SloMissed

    if output is not None:
        from llmserve.bench.output import check_writable
        from llmserve.bench.plots import _pyplot

        _pyplot()  # a missing matplotlib is said before the run, not after it
        check_writable(output)
    progress, close = console_progress(console, console.err.isatty())
    try:
        runs = run_bench(options, progress)
    finally:
        close()
    document = combined_document(runs, options.sweep)
    for run in runs:
        for line in table_lines(run.document):
            console.detail(line.removeprefix("  ")) if line.startswith("  ") else console.info(line)
        for warning in run.document["warnings"]:
            console.warn(warning)
    if output is not None:
        from llmserve.bench.output import write_all

        written = write_all(output, document, runs)
        console.info(f"wrote {len(written)} files to {output}; open {written[-1]}")
    if json_output:
        console.json(document)
    missed = [
        f"{slo['metric']} {'-' if slo['value_ms'] is None else format(slo['value_ms'], '.1f')} ms > "
        f"{slo['limit_ms']:g} ms"
        for run in runs for slo in run.document["slo"] if not slo["ok"]
    ]  # fmt: skip
    if missed:
        raise SloMissed(f"SLO missed: {'; '.join(missed)}")


@bench_app.command("run")
@reports_errors
def bench_run(
    url: Annotated[str, typer.Argument(help="Base URL of an OpenAI-compatible server (vLLM, TGI).")],
    model: BenchModel = None,
    api_key_file: ApiKeyFile = None,
    endpoint: Annotated[str, typer.Option(help="chat or completions.")] = "chat",
    requests: BenchRequests = None,
    duration: BenchDuration = None,
    concurrency: BenchConcurrency = None,
    rate: BenchRate = None,
    warmup: Annotated[int, typer.Option(help="Requests sent first and not measured.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the prompts and arrival times.")] = 0,
    input_tokens: InputTokens = 256,
    output_tokens: OutputTokens = 128,
    prompts: Annotated[Path | None, typer.Option(help='JSONL of {"prompt": …} or {"messages": […]}.')] = None,
    sweep: BenchSweep = None,
    slo: SloOpt = None,
    output: BenchOutput = None,
    json_output: JsonOpt = False,
) -> None:  # fmt: skip
    """Benchmark a running server: TTFT, ITL, TPOT, E2EL, throughput, goodput."""
    from llmserve.console import Console

    options = _bench_options(
        url, model=model, api_key=_client_api_key(api_key_file), endpoint=endpoint, requests=requests,
        duration=duration, concurrency=concurrency, rate=rate, warmup=warmup, seed=seed,
        input_tokens=input_tokens, output_tokens=output_tokens, prompts=prompts, slo=slo, sweep=sweep,
    )  # fmt: skip
    _run_bench(options, json_output=json_output, output=output, console=Console())


@bench_app.command("compare")
@reports_errors
def bench_compare(
    base: Annotated[Path, typer.Argument(help="The reference run (`bench --json` output).")],
    new: Annotated[Path, typer.Argument(help="The run to judge.")],
    max_regression: Annotated[
        list[str] | None,
        typer.Option(
            help="METRIC=PERCENT%, e.g. tpot.p50=5% or output_tokens_per_s=10%; repeatable. Exit 10 if worse."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Compare runs of different models or loads anyway.")] = False,
    json_output: JsonOpt = False,
) -> None:  # fmt: skip
    """Compare two benchmark results; fail when a metric regressed beyond its limit."""
    from llmserve.bench.compare import compare, read, table_lines
    from llmserve.bench.limits import parse_regression
    from llmserve.console import Console
    from llmserve.errors import Regression

    limits = [parse_regression(text) for text in max_regression or ()]
    rows = compare(read(base), read(new), limits, force=force)
    console = Console()
    for line in table_lines(rows):
        console.detail(line.removeprefix("  "))
    if json_output:
        console.json({"base": str(base), "new": str(new), "rows": [row.to_dict() for row in rows]})
    regressed = [row for row in rows if row.regressed]
    if regressed:
        raise Regression(
            "regression: " + "; ".join(
                f"{row.metric} ({row.level}) {row.change_percent:+.1f}% beyond {row.limit_percent:g}%"
                for row in regressed
            )
        )  # fmt: skip
    console.success("no regression beyond the limits" if limits else "compared")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(int(ExitCode.INTERRUPTED))

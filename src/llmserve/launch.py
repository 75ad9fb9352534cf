"""Launching a plan: preflight checks, start, readiness, proof of generation, and a clean stop."""

from __future__ import annotations

import contextlib
import io
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

from llmserve import engines, readiness, state
from llmserve.console import Console
from llmserve.errors import EngineExited, ExitCode, Interrupted, LlmserveError
from llmserve.logstream import LogForwarder
from llmserve.plan import ContainerLaunch, LaunchPlan
from llmserve.ports import ensure_port_free
from llmserve.spec import ServeSpec

DEFAULT_READY_TIMEOUT_SECONDS = 1800.0
DYING_ENGINE_GRACE_SECONDS = 20.0
ERROR_TAIL_LINES = 15
_SIGNAL_EXIT_CODES = {
    signal.SIGHUP: ExitCode.HANGUP,  # the terminal closed
    signal.SIGINT: ExitCode.INTERRUPTED,
    signal.SIGTERM: ExitCode.TERMINATED,
}


class Server(Protocol):
    @property
    def identity(self) -> str: ...
    def exit_code(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int | None: ...
    def stop(self) -> int: ...


@dataclass(frozen=True)
class LaunchOptions:
    detach: bool = False
    smoke: bool = False
    json_output: bool = False
    ready_timeout: float = DEFAULT_READY_TIMEOUT_SECONDS
    preflight: bool = True  # check that the engine can have the model before starting it


def plan_for(spec: ServeSpec, console: Console | None = None) -> LaunchPlan:
    """Render the spec, for the vLLM actually installed when it runs as a local process.

    With a console (a dry run), a missing vLLM gives a warning and the portable command.
    """
    installation = None
    if spec.engine == "vllm" and spec.effective_runtime == "process":
        from llmserve.engines.vllm_discovery import find_vllm

        try:
            installation = find_vllm(spec.vllm.python)
        except LlmserveError as missing:
            if console is None or spec.vllm.python:
                raise
            if spec.vllm.version is None:  # with a version given, the command is already exact
                console.warn(f"{missing.message.split(';')[0]}; showing the portable command")
    return engines.render(spec, installation)


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """SIGHUP, SIGINT and SIGTERM raise Interrupted, even when the shell started us with SIGINT ignored."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        # Further signals must not cut the clean-up that this one starts.
        for sig in _SIGNAL_EXIT_CODES:
            signal.signal(sig, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name, _SIGNAL_EXIT_CODES[signal.Signals(signum)])

    previous = {sig: signal.signal(sig, interrupt) for sig in _SIGNAL_EXIT_CODES}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def launch(plan: LaunchPlan, options: LaunchOptions, console: Console) -> int:
    client = _docker_client(plan)
    ensure_port_free(plan.host, plan.port)
    if client is not None:
        from llmserve.runtimes import docker

        assert isinstance(plan.launch, ContainerLaunch)
        docker.ensure_image(client, plan.launch.image, plan.launch.pull, console)
    log_sink = _log_sink(options, console)
    forwarder = LogForwarder(
        engines.TRAITS[plan.engine], log_sink, decorate=log_sink.isatty(), secrets=plan.secret_values
    )
    server: Server | None = None
    left_running = False
    with signals_as_interrupts():
        try:
            server = _start(plan, options, forwarder, client)
            console.info(
                f"started {plan.engine} ({plan.runtime} {server.identity}); waiting until it is ready"
            )
            report = _wait_until_serving(plan, options, server, forwarder, console)
            _announce(plan, options, server, report, console)
            if options.detach:
                left_running = True
                return ExitCode.OK
            code = _wait_for_exit(server)
        finally:
            # Whatever ended the wait (a signal, a failure, the engine itself), nothing stays behind.
            if server is not None and not left_running:
                _stop(server, plan, console)
                state.forget(plan.name, keep_log=True)
    raise EngineExited(
        f"{plan.engine} exited with code {code} after it was ready",
        details=tuple(forwarder.tail(ERROR_TAIL_LINES)),
    )


def _docker_client(plan: LaunchPlan) -> Any:
    if plan.runtime != "docker":
        return None
    from llmserve.runtimes import docker

    return docker.connect()


def _log_sink(options: LaunchOptions, console: Console) -> Any:
    if options.detach:
        return io.BytesIO()  # kept only for the tail and milestones while starting
    stream = console.err if options.json_output else console.out
    return getattr(stream, "buffer", stream)


def _start(plan: LaunchPlan, options: LaunchOptions, forwarder: LogForwarder, client: Any) -> Server:
    if client is not None:
        from llmserve.runtimes import docker

        return docker.start(client, plan, forwarder)
    from llmserve.runtimes import process

    if not options.detach:
        return process.start(plan, forwarder)
    log_file = state.log_path(plan.name)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    log_file.write_bytes(b"")
    server = process.start(plan, None, log_file=log_file)
    try:
        # Recorded at once, so that `llmserve ps` and `stop` know it even if llmserve dies while it starts.
        _record_detached(plan, server)
        forwarder.follow(process.follow_file(log_file, server.exit_code))
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_serving(
    plan: LaunchPlan,
    options: LaunchOptions,
    server: Server,
    forwarder: LogForwarder,
    console: Console,
) -> dict[str, Any]:
    def progress(elapsed: float) -> None:
        doing = forwarder.last_milestone or "starting"
        console.info(f"still starting after {elapsed:.0f} s (last seen: {doing})")

    try:
        ready_seconds = readiness.wait_until_healthy(
            plan.endpoint,
            exit_code=server.exit_code,
            timeout=options.ready_timeout,
            on_progress=progress,
        )
        console.info(f"/health answered after {ready_seconds:.1f} s; checking that it generates")
        if options.smoke:
            report = readiness.smoke(plan.endpoint, plan.served_model_name, plan.api_key)
            return {"ready_seconds": ready_seconds, "smoke": report.to_dict()}
        check = readiness.prove_generation(plan.endpoint, plan.served_model_name, plan.api_key)
        return {
            "ready_seconds": ready_seconds,
            "generation": {"seconds": check.seconds, "detail": check.detail},
        }
    except readiness.EngineGone as gone:
        raise _exited_during_start(plan, gone.exit_code, forwarder) from None
    except LlmserveError:
        # A failed first request often means the engine is dying: if it ends, that is the story.
        code = server.wait(DYING_ENGINE_GRACE_SECONDS)
        if code is not None:
            raise _exited_during_start(plan, code, forwarder) from None
        raise


def _exited_during_start(plan: LaunchPlan, code: int | None, forwarder: LogForwarder) -> EngineExited:
    forwarder.join(timeout=2.0)  # let the last lines arrive
    message = f"{plan.engine} exited with code {code} while starting"
    details = forwarder.tail(ERROR_TAIL_LINES)
    diagnosis = forwarder.diagnose()
    if diagnosis is not None:
        advice, cause = diagnosis
        message += f"; hint: {advice}"
        details = [f"cause: {cause}", "last lines:", *details]
    return EngineExited(message, details=tuple(details))


def _announce(
    plan: LaunchPlan,
    options: LaunchOptions,
    server: Server,
    report: dict[str, Any],
    console: Console,
) -> None:
    if options.json_output:
        console.json({**plan_summary(plan), "id": server.identity, **report})
        return
    console.success(f"ready: {plan.engine} is serving {plan.served_model_name}")
    console.detail(f"endpoint:        {plan.endpoint}")
    console.detail(f"OpenAI base URL: {plan.endpoint}/v1")
    console.detail(f"model:           {plan.served_model_name}")
    for check in report.get("smoke", {}).get("checks", []):
        console.detail(f"smoke {check['name']}: ok in {check['seconds']:.2f} s ({check['detail']})")
    console.detail(f"try:             {curl_example(plan)}")
    if options.detach:
        console.detail(f"logs:            llmserve logs {plan.name} -f")
        console.detail(f"stop it with:    llmserve stop {plan.name}")


def plan_summary(plan: LaunchPlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "engine": plan.engine,
        "engine_version": plan.engine_version,
        "runtime": plan.runtime,
        "model": plan.model,
        "served_model_name": plan.served_model_name,
        "endpoint": plan.endpoint,
        "openai_base_url": f"{plan.endpoint}/v1",
    }


def curl_example(plan: LaunchPlan) -> str:
    import json
    import shlex

    body = json.dumps(
        {
            "model": plan.served_model_name,
            "messages": [{"role": "user", "content": "Hello!"}],
            "max_tokens": 32,
        }
    )
    auth = ' -H "Authorization: Bearer $LLMSERVE_API_KEY"' if plan.api_key_env else ""
    return (
        f"curl {plan.endpoint}/v1/chat/completions -H 'Content-Type: application/json'{auth} "
        f"-d {shlex.quote(body)}"
    )


def _record_detached(plan: LaunchPlan, server: Server) -> None:
    state.save(
        state.ServerRecord(
            name=plan.name,
            engine=plan.engine,
            model=plan.model,
            served_model_name=plan.served_model_name,
            endpoint=plan.endpoint,
            pid=int(server.identity),
            started=time.time(),
            command=plan.shell_line(),
        )
    )


def _wait_for_exit(server: Server) -> int:
    # Blocking waits cost no CPU while the server runs; SIGINT and SIGTERM still interrupt them.
    while True:
        code = server.wait(None)
        if code is not None:
            return code


def _stop(server: Server, plan: LaunchPlan, console: Console) -> None:
    if server.exit_code() is None:
        console.info(f"stopping {plan.engine} ({server.identity})")
    server.stop()
    console.info("stopped; nothing left running")


def serve(spec: ServeSpec, options: LaunchOptions, console: Console) -> int:
    if options.preflight:  # before anything else: looking for vLLM or Docker takes longer
        from llmserve import availability

        availability.check(spec)
    return launch(plan_for(spec), options, console)

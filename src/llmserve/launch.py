"""Launching a plan: preflight checks, start, readiness, proof of generation, and a clean stop."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, Protocol

from llmserve import engines, readiness, state
from llmserve.console import Console
from llmserve.errors import EngineExited, ExitCode, Interrupted, LlmserveError
from llmserve.logstream import LogForwarder
from llmserve.plan import ContainerLaunch, LaunchPlan
from llmserve.ports import ensure_port_free
from llmserve.spec import ServeSpec

if TYPE_CHECKING:
    from llmserve.defaults import Choice, Defaults
    from llmserve.engines.vllm import VllmInstallation
    from llmserve.fit import Autos, Estimate
    from llmserve.machine import Machine
    from llmserve.modelfacts import ModelFacts

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
    # Work to do once the server is proven to generate (`run --bench`); the server is stopped after it.
    after_ready: Callable[[LaunchPlan], None] | None = None


def plan_for(
    spec: ServeSpec,
    console: Console | None = None,
    *,
    facts: ModelFacts | None = None,
    autos: Autos | None = None,
) -> LaunchPlan:
    """Render the spec for the engine version that will run and the machine it runs on.

    Values that version would refuse are refused here (SpecError); what the user left unset gets the
    defaults this machine needs (listed in the plan). With a console (a dry run), a missing vLLM
    gives a warning and the portable command. With the model's facts, a model that does not fit the
    memory the engine will have is refused (DoesNotFit), and `auto` values are chosen.
    """
    settled = settle(spec, tolerate_missing_vllm=console is not None, facts=facts, autos=autos)
    # With a version given the command is already exact: nothing to warn about.
    if settled.missing_vllm is not None and console is not None and spec.vllm.version is None:
        console.warn(f"{settled.missing_vllm}; showing the portable command")
    if settled.estimate is not None and not settled.estimate.fits and settled.estimate.problem:
        from llmserve.fit import DoesNotFit

        raise DoesNotFit(settled.estimate.refusal())
    plan = engines.render(settled.spec, settled.installation)
    return dataclasses.replace(plan, defaults=tuple(choice.to_dict() for choice in settled.choices))


@dataclass(frozen=True)
class Settled:
    """The spec with this machine's defaults (and `auto` values) filled in, and the fit estimate."""

    spec: ServeSpec
    choices: tuple[Choice, ...]
    installation: VllmInstallation | None
    estimate: Estimate | None
    missing_vllm: str | None = None  # why vLLM was not found, when that was tolerated


def settle(
    spec: ServeSpec,
    *,
    tolerate_missing_vllm: bool = False,
    need_estimate: bool = False,
    facts: ModelFacts | None = None,
    autos: Autos | None = None,
) -> Settled:
    from llmserve import fit
    from llmserve.defaults import choose, local_weight_bytes
    from llmserve.engines import accepted

    installation = None
    warning = None
    if spec.engine == "vllm" and spec.effective_runtime == "process":
        from llmserve.engines.vllm_discovery import find_vllm

        try:
            installation = find_vllm(spec.vllm.python)
        except LlmserveError as missing:
            if not tolerate_missing_vllm or spec.vllm.python:
                raise
            warning = missing.message.split(";")[0]
    accepted.check(spec, installation)  # bad input is refused first, in one line
    machine, cpu_engine = this_machine(spec, installation)
    known = facts.weight_bytes if facts is not None else 0
    weight_bytes = known or local_weight_bytes(spec)
    chosen = choose(spec, machine, cpu_engine=cpu_engine, weight_bytes=weight_bytes)
    if not fit.applies(spec, cpu_engine=cpu_engine):
        left = fit.left_to_engine(spec.engine, autos or fit.Autos(), fit.NOT_RECKONED)
        return Settled(chosen.spec, chosen.choices + left, installation, None, warning)
    if facts is None:
        return Settled(chosen.spec, chosen.choices, installation, None, warning)
    version = spec.vllm.version or (installation.version if installation is not None else None)
    try:
        fitted = fit.settle(
            chosen.spec,
            facts,
            machine,
            cpu_engine=cpu_engine,
            engine_version=version,
            autos=autos or fit.Autos(),
        )
    except fit.CannotEstimate:
        if need_estimate or autos:
            raise
        # A config.json in a form the estimate does not know (custom code) is the engine's to judge.
        return Settled(chosen.spec, chosen.choices, installation, None, warning)
    return Settled(fitted.spec, chosen.choices + fitted.choices, installation, fitted.estimate, warning)


def model_facts(spec: ServeSpec, *, preflight: bool, autos: Autos | None) -> ModelFacts | None:
    """The model's facts for the checks before launch: when the preflight runs, or `auto` needs them."""
    if not preflight and not autos:
        return None
    from llmserve import availability

    return availability.check(spec)


def machine_defaults(spec: ServeSpec, installation: VllmInstallation | None) -> Defaults:
    """The spec with what this machine needs filled in where the user left it unset."""
    from llmserve.defaults import choose, local_weight_bytes

    machine, cpu_engine = this_machine(spec, installation)
    return choose(spec, machine, cpu_engine=cpu_engine, weight_bytes=local_weight_bytes(spec))


def this_machine(spec: ServeSpec, installation: VllmInstallation | None) -> tuple[Machine, bool]:
    """This machine, and whether the engine will compute on its CPU (then its GPUs are not probed)."""
    from llmserve.defaults import is_cpu_engine
    from llmserve.machine import read_machine

    cpu_engine = is_cpu_engine(spec, installation is not None and installation.is_cpu_build)
    return read_machine(gpus=not cpu_engine), cpu_engine


def announce_defaults(plan: LaunchPlan, console: Console) -> None:
    """One line per default chosen for this machine, with its reason, and per note of the render."""
    for choice in plan.defaults:
        console.info(f"default {choice['field']} {choice['value']}: {choice['reason']}")
    for note in plan.notes:
        console.info(f"note: {note}")


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
            if options.after_ready is not None:
                options.after_ready(plan)
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
    stream = console.err if options.json_output or options.after_ready else console.out
    return getattr(stream, "buffer", stream)


def _start(plan: LaunchPlan, options: LaunchOptions, forwarder: LogForwarder, client: Any) -> Server:
    if client is not None:
        from llmserve.runtimes import docker

        return docker.start(client, plan, forwarder)
    from llmserve.runtimes import process

    if not options.detach:
        return process.start(plan, forwarder)
    log_file = state.create_log(plan.name)
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
    if options.json_output and options.after_ready is None:
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


def serve(spec: ServeSpec, options: LaunchOptions, console: Console, autos: Autos | None = None) -> int:
    # Before anything else (looking for vLLM or Docker takes longer): can the engine have the model?
    facts = model_facts(spec, preflight=options.preflight, autos=autos)
    plan = plan_for(spec, facts=facts, autos=autos)
    announce_defaults(plan, console)
    return launch(plan, options, console)

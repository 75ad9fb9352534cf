"""Servers llmserve started and left running: list them, show their logs, stop them.

Containers are found by llmserve's labels; local processes by their records in the state directory.
A record whose process has died is shown once as exited, then forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from llmserve import state
from llmserve.errors import LlmserveError, NotFound
from llmserve.logstream import split_lines
from llmserve.plan import LABEL_PREFIX, MANAGED_LABEL
from llmserve.redaction import Redactor, redact_bytes, secret_values_of
from llmserve.runtimes import process

GUARDIAN_MARK = b"llmserve.runtimes.guardian"


@dataclass(frozen=True)
class ServerInfo:
    name: str
    engine: str
    model: str
    endpoint: str
    runtime: str
    since: str
    state: str
    id: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _guardian_alive(pid: int) -> bool:
    """The pid is alive and still our guardian (not a recycled pid)."""
    if not process.pid_alive(pid):
        return False
    try:
        return GUARDIAN_MARK in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _report_damaged(message: str) -> None:
    from llmserve.console import Console

    Console().warn(message)


def _records() -> list[state.ServerRecord]:
    return state.load_all(report=_report_damaged)


def _local_servers() -> list[ServerInfo]:
    servers = []
    for record in _records():
        running = _guardian_alive(record.pid)
        servers.append(
            ServerInfo(
                name=record.name,
                engine=record.engine,
                model=record.model,
                endpoint=record.endpoint,
                runtime="process",
                since=datetime.fromtimestamp(record.started, tz=UTC).isoformat(timespec="seconds"),
                state="running" if running else "exited",
                id=str(record.pid),
            )
        )
        if not running:
            state.forget(record.name, keep_log=True)
    return servers


def _docker_client() -> Any | None:
    """A docker client, or None when no Docker engine answers (then there are no containers)."""
    try:
        from llmserve.runtimes import docker

        return docker.connect()
    except LlmserveError:
        return None


def _containers(client: Any) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"}))


def _container_info(container: Any) -> ServerInfo:
    labels = container.labels
    return ServerInfo(
        name=container.name,
        engine=labels.get(f"{LABEL_PREFIX}engine", "?"),
        model=labels.get(f"{LABEL_PREFIX}model", "?"),
        endpoint=labels.get(f"{LABEL_PREFIX}endpoint", "?"),
        runtime="docker",
        since=str(container.attrs.get("State", {}).get("StartedAt", ""))[:19] + "+00:00",
        state=container.status,
        id=container.short_id,
    )


def list_servers() -> list[ServerInfo]:
    servers = _local_servers()
    client = _docker_client()
    if client is not None:
        servers += [_container_info(c) for c in _containers(client)]
    return servers


def _find_container(client: Any | None, name: str) -> Any | None:
    if client is None:
        return None
    return next((c for c in _containers(client) if name in (c.name, c.short_id)), None)


def _find_record(name: str) -> state.ServerRecord | None:
    return next((r for r in _records() if name in (r.name, str(r.pid))), None)


def _unknown(name: str) -> NotFound:
    return NotFound(f"no server named {name!r}; `llmserve ps` lists the servers llmserve started")


def stop(name: str) -> ServerInfo:
    record = _find_record(name)
    if record is not None:
        if _guardian_alive(record.pid):  # else the pid is gone, or now someone else's: leave it be
            process.stop_pid(record.pid)
        state.forget(record.name)
        return ServerInfo(
            record.name,
            record.engine,
            record.model,
            record.endpoint,
            "process",
            "",
            "stopped",
            str(record.pid),
        )
    client = _docker_client()
    container = _find_container(client, name)
    if container is None:
        raise _unknown(name)
    info = _container_info(container)
    from llmserve.runtimes.docker import ContainerServer

    ContainerServer(container).stop()
    return info


def stop_all() -> list[ServerInfo]:
    return [stop(server.name) for server in list_servers() if server.state != "exited"]


def log_lines(name: str, *, follow: bool) -> Iterator[bytes]:
    """A server's log lines, with the secrets it was given masked (TGI logs its API key)."""
    record = _find_record(name)
    if record is not None:
        handle = state.open_log(record.name)
        if handle is None:
            raise NotFound(f"{record.name} has no log file in {state.servers_dir()}")
        running: Callable[[], int | None] = (
            (lambda: None if _guardian_alive(record.pid) else 0) if follow else lambda: 0
        )
        lines = process.follow_file(handle, running)
        yield from (redact_bytes(line) for line in lines)  # the guardian masked them as it wrote
        return
    container = _find_container(_docker_client(), name)
    if container is None:
        raise _unknown(name)
    secrets = secret_values_of(container.attrs["Config"].get("Env") or [])
    chunks = container.logs(stream=True, follow=True) if follow else [container.logs()]
    redact = Redactor(secrets).bytes
    yield from (redact(line) for line in split_lines(chunks))


def age(since_iso: str) -> str:
    try:
        started = datetime.fromisoformat(since_iso).timestamp()
    except ValueError:
        return since_iso
    seconds = max(0, int(time.time() - started))
    return (
        f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
        if seconds >= 3600
        else f"{seconds // 60}m{seconds % 60:02d}s"
    )

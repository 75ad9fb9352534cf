"""The process runtime: an engine started as a local process, under the guardian."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from llmserve.errors import EnvironmentMissing
from llmserve.logstream import LogForwarder
from llmserve.plan import LaunchPlan, ProcessLaunch

GUARDIAN_MODULE = "llmserve.runtimes.guardian"
STOP_GRACE_SECONDS = 15.0


def guarded_argv(launch: ProcessLaunch, *, watch_parent: bool, log_file: Path | None = None) -> list[str]:
    head = [sys.executable, "-m", GUARDIAN_MODULE, "--grace", str(STOP_GRACE_SECONDS)]
    if watch_parent:
        head.append("--watch-parent")
    if log_file is not None:
        head += ["--log", str(log_file)]
    return [*head, "--", *launch.argv]


class ProcessServer:
    """A running engine process (through its guardian)."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self._process = process

    @property
    def identity(self) -> str:
        return str(self._process.pid)

    def exit_code(self) -> int | None:
        return self._process.poll()

    def wait(self, timeout: float | None = None) -> int | None:
        try:
            return self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> int:
        """Ask the guardian to end the engine's whole process group; wait until it has."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
        try:
            return self._process.wait(STOP_GRACE_SECONDS + 5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait()


def start(plan: LaunchPlan, forwarder: LogForwarder | None, *, log_file: Path | None = None) -> ProcessServer:
    """Start the plan's process. Logs go to `forwarder`, or to `log_file` for a detached server."""
    assert isinstance(plan.launch, ProcessLaunch)
    env = {**os.environ, **plan.launch.env}
    detached = log_file is not None
    argv = guarded_argv(plan.launch, watch_parent=not detached, log_file=log_file)
    try:
        if detached:
            assert log_file is not None
            with log_file.open("ab") as log:
                process = subprocess.Popen(
                    argv,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        else:
            process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
            )
    except OSError as error:
        raise EnvironmentMissing(f"cannot start {argv[0]}: {error.strerror}") from None
    if forwarder is not None and process.stdout is not None and process.stderr is not None:
        forwarder.follow(process.stdout)
        forwarder.follow(process.stderr)
    return ProcessServer(process)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_pid(pid: int, grace: float = STOP_GRACE_SECONDS + 5) -> None:
    """Stop a detached server's guardian by pid, then make sure it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        os.killpg(pid, signal.SIGKILL)


MAX_LINE_BYTES = 1 << 20  # a longer "line" is cut: an endless one must not fill memory


def follow_file(source: Path | BinaryIO, exit_code: Callable[[], int | None]) -> Iterator[bytes]:
    """Lines of a growing log file, until its writer has exited and everything is read."""
    with source.open("rb") if isinstance(source, Path) else source as handle:
        pending = b""
        while True:
            chunk = handle.readline(MAX_LINE_BYTES)
            if chunk:
                pending += chunk
                if pending.endswith(b"\n") or len(pending) >= MAX_LINE_BYTES:
                    yield pending
                    pending = b""
                continue
            if exit_code() is not None:
                if pending:
                    yield pending
                return
            time.sleep(0.1)

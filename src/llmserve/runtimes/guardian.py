"""Runs an engine and makes sure none of its processes outlive a stop.

llmserve starts this module, not the engine itself. The guardian starts the engine in a process
group of its own and, when asked to stop (SIGTERM, SIGINT, SIGHUP) or when llmserve dies (a
parent-death signal), sends SIGTERM to that whole group, waits a grace period, then SIGKILLs the
group. vLLM's engine-core children would otherwise live on after the API server is killed.

With `--log FILE` (a detached server), the engine's output goes through the guardian into FILE,
its secrets masked: the log on disk never holds them.

Usage: python -m llmserve.runtimes.guardian [--watch-parent] [--grace SECONDS] [--log FILE] -- COMMAND...
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import IO

PR_SET_PDEATHSIG = 1
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
DEFAULT_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.1
LOG_DRAIN_SECONDS = 5.0


def _set_parent_death_signal(sig: signal.Signals) -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)


def _engine_preexec() -> None:
    # A background shell starts jobs with SIGINT ignored; the engine must not inherit that.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    _set_parent_death_signal(signal.SIGKILL)


def _exit_status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


def _end_group(engine: subprocess.Popen[bytes], grace: float) -> int:
    pgid = engine.pid
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while engine.poll() is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
    with contextlib.suppress(ProcessLookupError):
        # Whatever is left of the group (the engine, or children it left behind) ends now.
        os.killpg(pgid, signal.SIGKILL)
    return engine.wait()


class _StopRequested(Exception):
    pass


def _request_stop(_signum: int, _frame: FrameType | None) -> None:
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    raise _StopRequested


def _copy_masked(source: IO[bytes], log_path: Path, secrets: list[str]) -> None:
    from llmserve.redaction import Redactor

    redact = Redactor(secrets).bytes
    with source:
        try:
            with log_path.open("ab") as log:
                for line in source:
                    log.write(redact(line))
                    log.flush()
        except OSError:
            for _line in source:  # the log is gone or full: keep draining, or the engine would block
                pass


def _start_log_copy(engine: subprocess.Popen[bytes], log_path: Path, command: list[str]) -> threading.Thread:
    from llmserve.redaction import secret_values_in_args, secret_values_of

    secrets = secret_values_of(f"{k}={v}" for k, v in os.environ.items()) + secret_values_in_args(command)
    assert engine.stdout is not None
    thread = threading.Thread(target=_copy_masked, args=(engine.stdout, log_path, secrets), daemon=True)
    thread.start()
    return thread


def run(command: list[str], *, watch_parent: bool, grace: float, log_path: Path | None = None) -> int:
    engine: subprocess.Popen[bytes] | None = None
    copier: threading.Thread | None = None
    try:
        for sig in STOP_SIGNALS:
            signal.signal(sig, _request_stop)
        if watch_parent:
            parent = os.getppid()
            _set_parent_death_signal(signal.SIGTERM)
            if os.getppid() != parent:  # the parent died before the signal was armed
                return 1
        try:
            output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT} if log_path else {}
            engine = subprocess.Popen(command, process_group=0, preexec_fn=_engine_preexec, **output)  # type: ignore[call-overload]
            if log_path is not None:
                copier = _start_log_copy(engine, log_path, command)
        except OSError as error:
            print(f"llmserve: cannot start {command[0]}: {error.strerror}", file=sys.stderr)
            return 127
        returncode = engine.wait()  # blocks without polling; a stop signal interrupts it
    except _StopRequested:
        if engine is None:
            return 128 + signal.SIGTERM
        returncode = _end_group(engine, grace)
    else:
        # The engine ended by itself; its children may not have.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.pid, signal.SIGKILL)
    if copier is not None:
        copier.join(LOG_DRAIN_SECONDS)
    return _exit_status(returncode)


def main(argv: list[str]) -> int:
    watch_parent = False
    grace = DEFAULT_GRACE_SECONDS
    log_path: Path | None = None
    while argv and argv[0] != "--":
        option = argv.pop(0)
        if option == "--watch-parent":
            watch_parent = True
        elif option == "--grace":
            grace = float(argv.pop(0))
        elif option == "--log":
            log_path = Path(argv.pop(0))
        else:
            print(f"guardian: unknown option {option}", file=sys.stderr)
            return 2
    command = argv[1:]
    if not command:
        print("guardian: no command after --", file=sys.stderr)
        return 2
    return run(command, watch_parent=watch_parent, grace=grace, log_path=log_path)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

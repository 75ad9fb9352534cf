"""The project's own errors and the exit codes they map to.

Domain code raises these; only the CLI boundary turns them into a message and an exit code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented exit codes (the README's table lists the same)."""

    OK = 0
    FAILURE = 1
    USAGE = 2
    ENVIRONMENT = 3
    PORT_BUSY = 4
    ENGINE_EXITED = 5
    READY_TIMEOUT = 6
    SMOKE_FAILED = 7
    NOT_FOUND = 8
    SLO_MISSED = 9
    REGRESSION = 10
    DOES_NOT_FIT = 11
    HANGUP = 129
    INTERRUPTED = 130
    TERMINATED = 143


class LlmserveError(Exception):
    """Root of every error llmserve reports to its user as one line."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, details: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class SpecError(LlmserveError):
    """The user's spec or options are invalid."""

    exit_code = ExitCode.USAGE


class EnvironmentMissing(LlmserveError):
    """Something llmserve needs on this machine is missing (Docker, vLLM, a GPU runtime)."""

    exit_code = ExitCode.ENVIRONMENT


class PortBusy(LlmserveError):
    """The host port the server should listen on is already taken."""

    exit_code = ExitCode.PORT_BUSY


class EngineExited(LlmserveError):
    """The engine stopped before it became ready."""

    exit_code = ExitCode.ENGINE_EXITED


class ReadyTimeout(LlmserveError):
    """The engine did not become ready in time."""

    exit_code = ExitCode.READY_TIMEOUT


class SmokeFailed(LlmserveError):
    """The server answered, but not as a working inference server should."""

    exit_code = ExitCode.SMOKE_FAILED


class NotFound(LlmserveError):
    """A server llmserve was asked about is not known."""

    exit_code = ExitCode.NOT_FOUND


class SloMissed(LlmserveError):
    """A benchmark finished, and one of its --slo limits was not met."""

    exit_code = ExitCode.SLO_MISSED


class Regression(LlmserveError):
    """`bench compare` found a metric worse than its --max-regression allows."""

    exit_code = ExitCode.REGRESSION


class Interrupted(LlmserveError):
    """The user or a CI system asked llmserve to stop (SIGINT, SIGTERM)."""

    def __init__(self, signal_name: str, exit_code: ExitCode) -> None:
        super().__init__(f"stopped by {signal_name}")
        self.exit_code = exit_code

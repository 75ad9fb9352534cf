"""Forwarding an engine's log lines: as they come, in order, told apart from llmserve's own.

Each source (a pipe, a container's log stream) is read by its own thread. Every line is written
to the sink, kept in a short tail for error reports, and checked for the engine's milestones.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterable
from typing import BinaryIO

from llmserve.engines.common import EngineTraits
from llmserve.redaction import Redactor

TAIL_LINES = 500  # searched for known failures; the last few are shown
_DIM = b"\x1b[2m"
_RESET = b"\x1b[0m"


class LogForwarder:
    def __init__(
        self, traits: EngineTraits, sink: BinaryIO, *, decorate: bool, secrets: Iterable[str] = ()
    ) -> None:
        self._traits = traits
        # TGI logs its whole argument struct, API key included: mask secrets in every line we keep.
        self._redactor = Redactor(secrets)
        self._sink = sink
        self._prefix = _DIM + traits.name.encode() + b" | " + _RESET if decorate else b""
        self._lock = threading.Lock()
        self._tail: collections.deque[bytes] = collections.deque(maxlen=TAIL_LINES)
        self._threads: list[threading.Thread] = []
        self.last_milestone: str | None = None

    def follow(self, lines: Iterable[bytes], on_end: Callable[[], None] | None = None) -> None:
        """Forward `lines` on a background thread until they end."""
        thread = threading.Thread(target=self._pump, args=(lines, on_end), daemon=True)
        thread.start()
        self._threads.append(thread)

    def _pump(self, lines: Iterable[bytes], on_end: Callable[[], None] | None) -> None:
        write, flush, prefix = self._sink.write, self._sink.flush, self._prefix
        milestones = [(needle.encode(), label) for needle, label in self._traits.milestones]
        redact = self._redactor.bytes
        try:
            for raw in lines:
                line = raw if raw.endswith(b"\n") else raw + b"\n"
                line = redact(line)
                with self._lock:
                    write(prefix + line if prefix else line)
                    flush()
                    self._tail.append(line)
                for needle, label in milestones:
                    if needle in line:
                        self.last_milestone = label
        except (OSError, ValueError):
            pass  # the sink or the source closed under us: nothing more to forward
        finally:
            if on_end is not None:
                on_end()

    def join(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def tail(self, count: int = 15) -> list[str]:
        with self._lock:
            lines = list(self._tail)[-count:]
        return [line.decode(errors="replace").rstrip("\n") for line in lines]

    def diagnose(self) -> tuple[str, str] | None:
        return self._traits.diagnose(self.tail(TAIL_LINES))


def split_lines(chunks: Iterable[bytes]) -> Iterable[bytes]:
    """Re-cut a stream of arbitrary chunks (a container's log stream) into whole lines."""
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        for line in complete:
            yield line + b"\n"
    if pending:
        yield pending + b"\n"

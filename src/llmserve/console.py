"""llmserve's own output: human lines on stderr, results on stdout, every one of them through the
secret policy (`redaction.redact`), whatever produced it.

rich is imported only where it draws something (pull progress), so that --help stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from llmserve.redaction import redact

PREFIX = "llmserve: "
LAYER_STATUSES = frozenset(
    {"Pulling fs layer", "Waiting", "Downloading", "Verifying Checksum", "Download complete",
     "Extracting", "Pull complete", "Already exists"}
)  # fmt: skip


def one_line(message: str) -> str:
    """A message as one printable line: line breaks and control characters shown escaped."""
    if message.isprintable():
        return message
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in message)


class Console:
    def __init__(self, *, err: TextIO | None = None, out: TextIO | None = None, quiet: bool = False) -> None:
        self.err = err or sys.stderr
        self.out = out or sys.stdout
        self.quiet = quiet
        self.color = self.err.isatty()

    def info(self, message: str) -> None:
        if not self.quiet:
            self._line(message, "1;36")

    def success(self, message: str) -> None:
        if not self.quiet:
            self._line(message, "1;32")

    def warn(self, message: str) -> None:
        self._line(f"warning: {one_line(message)}", "1;33")

    def error(self, message: str) -> None:
        self._line(f"error: {one_line(message)}", "1;31")

    def detail(self, message: str) -> None:
        self.err.write(f"  {redact(message)}\n")
        self.err.flush()

    def _line(self, message: str, color: str) -> None:
        prefix = f"\x1b[{color}m{PREFIX}\x1b[0m" if self.color else PREFIX
        self.err.write(f"{prefix}{redact(message)}\n")
        self.err.flush()

    def result(self, text: str) -> None:
        self.out.write(redact(text) + "\n")
        self.out.flush()

    def json(self, document: Any) -> None:
        self.result(json.dumps(document, indent=2))

    def pull_progress(self, image: str, events: Iterable[dict[str, Any]]) -> None:
        """Show a docker pull's per-layer progress (bytes) as it streams."""
        self.info(f"pulling {image}")
        if not self.err.isatty():
            for event in events:
                _raise_pull_error(event)
                if event.get("status") in ("Pull complete", "Already exists"):
                    self.detail(f"layer {event.get('id')}: {event['status'].lower()}")
            return
        from rich.console import Console as RichConsole
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        tasks: dict[str, Any] = {}
        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
        with Progress(*columns, console=RichConsole(file=self.err), transient=False) as progress:
            for event in events:
                _raise_pull_error(event)
                layer = event.get("id")
                if not layer or event.get("status", "") not in LAYER_STATUSES:
                    continue  # "Pulling from …", digests: not a layer
                detail = event.get("progressDetail") or {}
                if layer not in tasks:
                    tasks[layer] = progress.add_task(f"layer {layer}", total=None)
                status = event.get("status", "")
                if status == "Downloading" and detail.get("total"):
                    progress.update(tasks[layer], completed=detail.get("current", 0), total=detail["total"])
                elif status in ("Pull complete", "Already exists", "Download complete"):
                    task = progress.tasks[tasks[layer]]
                    progress.update(tasks[layer], completed=task.total or 1, total=task.total or 1)


def _raise_pull_error(event: dict[str, Any]) -> None:
    if "error" in event:
        from docker.errors import APIError

        message = str(event["error"])
        raise APIError(message, explanation=message)

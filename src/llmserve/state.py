"""Where llmserve keeps what it knows of detached local servers: one JSON file each, plus its log."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_DIR_ENV = "LLMSERVE_STATE_DIR"


def state_dir() -> Path:
    """$LLMSERVE_STATE_DIR, else $XDG_STATE_HOME/llmserve, else ~/.local/state/llmserve."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "llmserve"


@dataclass(frozen=True)
class ServerRecord:
    name: str
    engine: str
    model: str
    served_model_name: str
    endpoint: str
    pid: int
    started: float
    command: str

    @property
    def log_path(self) -> Path:
        return log_path(self.name)


def servers_dir() -> Path:
    return state_dir() / "servers"


def log_path(name: str) -> Path:
    return servers_dir() / f"{name}.log"


def save(record: ServerRecord) -> None:
    directory = servers_dir()
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{record.name}.json"
    partial = target.with_suffix(".json.partial")
    partial.write_text(json.dumps(asdict(record), indent=2))
    partial.replace(target)  # never a half-written record


def load_all() -> list[ServerRecord]:
    records = []
    for path in sorted(servers_dir().glob("*.json")):
        try:
            records.append(ServerRecord(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError):
            path.unlink(missing_ok=True)  # unreadable: a stale entry
    return records


def forget(name: str, *, keep_log: bool = False) -> None:
    (servers_dir() / f"{name}.json").unlink(missing_ok=True)
    if not keep_log:
        log_path(name).unlink(missing_ok=True)

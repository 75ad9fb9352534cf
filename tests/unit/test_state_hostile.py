"""Damaged, hand-made and malicious state records: reported once, skipped, never followed outside
the state directory; `ps`, `logs` and `stop` keep working beside them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from llmserve import lifecycle
from llmserve.cli import app

runner = CliRunner()
GOOD = "llmserve-vllm-ok-8000"
VICTIM_TEXT = "precious data outside the state directory\n"
CLEAN_LINE = re.compile(r"^llmserve: (warning: |error: )?[^\x00-\x1f\x7f-\x9f]{1,400}$")


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


def _record(**fields: Any) -> dict[str, Any]:
    base = {
        "name": GOOD, "engine": "vllm", "model": "m", "served_model_name": "m",
        "endpoint": "http://127.0.0.1:8000", "pid": _DEAD, "started": 1_700_000_000.0, "command": "vllm serve m",
    }  # fmt: skip
    return {**base, **fields}


_DEAD = _dead_pid()


def _json(**fields: Any) -> Callable[[Path, Path], object]:
    return lambda path, _victim: path.write_text(json.dumps(_record(name=path.stem, **fields)))


def _raw(data: bytes) -> Callable[[Path, Path], object]:
    return lambda path, _victim: path.write_bytes(data)


def _symlink_to_victim(path: Path, victim: Path) -> None:
    path.symlink_to(victim)


def _huge(path: Path, _victim: Path) -> None:
    with path.open("wb") as handle:
        handle.truncate(200 << 20)  # sparse: no disk used


def _directory(path: Path, _victim: Path) -> None:
    path.mkdir()


def _fifo(path: Path, _victim: Path) -> None:
    os.mkfifo(path)


def _log_symlink(path: Path, victim: Path) -> None:
    """A valid record whose log file is a symlink to a file outside."""
    path.write_text(json.dumps(_record(name=path.stem)))
    path.with_suffix(".log").symlink_to(victim)


DAMAGE: dict[str, Callable[[Path, Path], object]] = {
    "pid abc": _json(pid="abc"),
    "pid null": _json(pid=None),
    "pid -1": _json(pid=-1),
    "pid 0": _json(pid=0),
    "pid 1": _json(pid=1),
    "pid true": _json(pid=True),
    "pid float": _json(pid=1e30),
    "pid huge": _json(pid=10**30),
    "pid a list": _json(pid=[1]),
    "name ../../../victim": lambda path, _v: path.write_text(json.dumps(_record(name="../../../victim"))),
    "name with a slash": lambda path, _v: path.write_text(json.dumps(_record(name="a/b"))),
    "name of another record": lambda path, _v: path.write_text(json.dumps(_record(name=GOOD))),
    "name with NUL": lambda path, _v: path.write_text(json.dumps(_record(name="x\u0000y"))),
    "name 5": lambda path, _v: path.write_text(json.dumps(_record(name=5))),
    "started yesterday": _json(started="yesterday"),
    "started NaN": _raw(json.dumps(_record(name="bad", started=float("nan"))).encode()),
    "engine a dict": _json(engine={"x": 1}),
    "command 600 KB": _json(command="x" * 600_000),
    "extra field": _json(secret="s"),
    "missing fields": _raw(b'{"name": "bad"}'),
    "bad json": _raw(b'{"name": '),
    "empty file": _raw(b""),
    "a list": _raw(b"[]"),
    "a string": _raw(b'"record"'),
    "null": _raw(b"null"),
    "non-utf8": _raw(b'{"name": "\xff\xfe"}'),
    "deeply nested": _raw(b"[" * 30_000 + b"]" * 30_000),
    "symlink to a file outside": _symlink_to_victim,
    "huge sparse file": _huge,
    "a directory": _directory,
    "a fifo": _fifo,
    "log is a symlink outside": _log_symlink,
}
COMMANDS: dict[str, list[str]] = {
    "ps": ["ps", "--json"],
    "logs": ["logs", GOOD],
    "stop": ["stop", GOOD],
    "stop --all": ["stop", "--all"],
}


@pytest.fixture
def dirs(tmp_path: Path, isolated_environment: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The state directory's servers/ and a victim file outside it; no Docker engine."""
    monkeypatch.setattr(lifecycle, "_docker_client", lambda: None)
    servers = tmp_path / "state" / "servers"
    servers.mkdir(parents=True)
    victim = tmp_path / "victim.json"
    victim.write_text(VICTIM_TEXT)
    (tmp_path / "victim.log").write_text(VICTIM_TEXT)
    return servers, victim


def _plant_good(servers: Path) -> None:
    (servers / f"{GOOD}.json").write_text(json.dumps(_record()))
    (servers / f"{GOOD}.log").write_text("the good server's log\n")


def _outside(tmp_path: Path) -> dict[Path, bytes]:
    state = tmp_path / "state"
    return {
        p: p.read_bytes()
        for p in tmp_path.rglob("*")
        if p.is_file() and not p.is_symlink() and state not in p.parents
    }


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
def test_a_damaged_record_is_reported_once_and_skipped(
    damage: Callable[[Path, Path], object], command: list[str], dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    servers, victim = dirs
    name = "llmserve-vllm-bad-9000" if damage is not _log_symlink else GOOD
    if damage is not _log_symlink:
        _plant_good(servers)
    damage(servers / f"{name}.json", victim)
    before = _outside(tmp_path)
    result = runner.invoke(app, command)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert all(CLEAN_LINE.match(line) for line in lines), result.stderr
    assert _outside(tmp_path) == before  # nothing outside the state directory written or deleted
    assert victim.read_text() == VICTIM_TEXT
    assert "precious" not in result.stdout + result.stderr  # nor read
    if damage is _log_symlink:
        assert result.exit_code in (0, 8), result.stderr
        return
    assert result.exit_code == 0, result.stderr
    assert sum("damaged state record" in line for line in lines) == 1
    if command[0] == "ps":
        assert [server["name"] for server in json.loads(result.stdout)] == [GOOD]
    if command[0] == "logs":
        assert result.stdout == "the good server's log\n"
    again = runner.invoke(app, ["ps"])
    assert "damaged" not in again.stderr  # reported once: it was set aside


def test_the_old_escape_is_closed(dirs: tuple[Path, Path], tmp_path: Path) -> None:
    """A record that names a file outside (../../../victim) made `ps` delete that file."""
    servers, victim = dirs
    escape = os.path.relpath(tmp_path / "victim", servers)
    (servers / "x.json").write_text(json.dumps(_record(name=escape)))
    assert runner.invoke(app, ["ps"]).exit_code == 0
    assert runner.invoke(app, ["stop", "--all"]).exit_code == 0
    assert victim.read_text() == VICTIM_TEXT
    assert (tmp_path / "victim.log").read_text() == VICTIM_TEXT


def test_state_files_are_private(dirs: tuple[Path, Path]) -> None:
    from llmserve import state

    state.save(state.ServerRecord.model_validate(_record()))
    log = state.create_log(GOOD)
    assert state.servers_dir().stat().st_mode & 0o777 == 0o700
    assert state.record_path(GOOD).stat().st_mode & 0o777 == 0o600
    assert log.stat().st_mode & 0o777 == 0o600


names = st.one_of(
    st.sampled_from(["../../../victim", "../victim", "/tmp/x", ".", "..", "a/../../b", "", GOOD, "ok-1"]),
    st.text(max_size=30),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
)
records = st.fixed_dictionaries(
    {},
    optional={
        "name": names, "engine": st.sampled_from(["vllm", "tgi"]) | values, "model": values,
        "served_model_name": values, "endpoint": values,
        "pid": st.sampled_from([_DEAD, -1, 0, 1, os.getpid()]) | values,
        "started": st.floats() | values, "command": values,
    },
)  # fmt: skip
record_bytes = st.one_of(
    records.map(lambda data: json.dumps(data).encode()),
    st.binary(max_size=100),
)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(st.tuples(st.sampled_from(["a", "b", GOOD, "c.x"]), record_bytes), max_size=3))
def test_fuzzed_records_never_escape_nor_crash(files: list[tuple[str, bytes]], tmp_path_factory: Any) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    servers = root / "state" / "servers"
    servers.mkdir(parents=True)
    for stem, data in files:
        (servers / f"{stem}.json").write_bytes(data)
    victim = root / "victim.json"
    victim.write_text(VICTIM_TEXT)
    (root / "victim.log").write_text(VICTIM_TEXT)
    os.environ["LLMSERVE_STATE_DIR"] = str(root / "state")
    before = _outside(root)
    for command in (["ps"], ["logs", GOOD], ["stop", "--all"]):
        result = runner.invoke(app, command)
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 8), result.stderr
        assert "Traceback" not in result.stderr
    assert _outside(root) == before
    time.sleep(0)


@pytest.fixture(autouse=True)
def _no_docker_for_fuzz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "_docker_client", lambda: None)

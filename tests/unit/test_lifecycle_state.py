"""Records of detached local servers: a dead pid is shown once as exited, then forgotten."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from llmserve import lifecycle, state
from llmserve.errors import NotFound


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lifecycle, "_docker_client", lambda: None)


def record(name: str, pid: int) -> state.ServerRecord:
    return state.ServerRecord(
        name=name, engine="vllm", model="m", served_model_name="m", endpoint="http://127.0.0.1:1",
        pid=pid, started=time.time(), command="vllm serve m",
    )  # fmt: skip


@pytest.mark.usefixtures("no_docker")
def test_dead_pid_is_shown_as_exited_then_cleaned_up() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    state.save(record("llmserve-vllm-gone-1", int(finished.stdout)))
    state.log_path("llmserve-vllm-gone-1").write_text("last words\n")
    (listed,) = lifecycle.list_servers()
    assert (listed.name, listed.state) == ("llmserve-vllm-gone-1", "exited")
    assert lifecycle.list_servers() == []
    assert state.log_path("llmserve-vllm-gone-1").exists()  # kept for `llmserve logs`


@pytest.mark.usefixtures("no_docker")
def test_a_live_pid_that_is_not_our_guardian_counts_as_exited() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as stranger:
        state.save(record("llmserve-vllm-reused-2", stranger.pid))
        assert [s.state for s in lifecycle.list_servers()] == ["exited"]
        stranger.kill()


@pytest.mark.usefixtures("no_docker")
def test_unreadable_record_is_dropped() -> None:
    state.servers_dir().mkdir(parents=True)
    (state.servers_dir() / "broken.json").write_text("{not json")
    assert lifecycle.list_servers() == []
    assert not (state.servers_dir() / "broken.json").exists()


@pytest.mark.usefixtures("no_docker")
def test_stop_unknown() -> None:
    with pytest.raises(NotFound, match="no server named 'nope'"):
        lifecycle.stop("nope")


@pytest.mark.usefixtures("no_docker")
def test_stop_never_signals_a_recycled_pid() -> None:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as stranger:
        state.save(record("llmserve-vllm-recycled-3", stranger.pid))
        stopped = lifecycle.stop("llmserve-vllm-recycled-3")
        assert stopped.name == "llmserve-vllm-recycled-3"
        assert stranger.poll() is None  # still running: it was never ours
        assert state.load_all() == []
        stranger.kill()

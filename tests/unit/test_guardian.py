"""The guardian ends an engine's whole process group, also when llmserve itself dies.

Real processes, no engine: a shell that starts children which ignore SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from llmserve.plan import ProcessLaunch
from llmserve.runtimes.process import guarded_argv

# Starts a grandchild that ignores SIGTERM (as a stuck engine worker would), records its pid.
STUBBORN = """
import os, signal, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(300)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "State:\tZ" not in status.read_text()


def wait_for_file(path: Path, timeout: float = 15.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return int(path.read_text())
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def start_guardian(tmp_path: Path, *, watch_parent: bool) -> tuple[subprocess.Popen[bytes], int]:
    pid_file = tmp_path / "grandchild.pid"
    launch = ProcessLaunch(argv=(sys.executable, "-c", STUBBORN, str(pid_file)))
    argv = guarded_argv(launch, watch_parent=watch_parent)
    argv[argv.index("--grace") + 1] = "0.5"
    guardian = subprocess.Popen(argv, start_new_session=True)
    return guardian, wait_for_file(pid_file)


def test_sigterm_ends_the_whole_group_even_children_that_ignore_it(tmp_path: Path) -> None:
    guardian, grandchild = start_guardian(tmp_path, watch_parent=False)
    guardian.send_signal(signal.SIGTERM)
    assert guardian.wait(10) == 128 + signal.SIGTERM  # the engine's own status, passed on
    assert wait_gone(grandchild, 5)


def test_engine_ending_by_itself_takes_its_children_along(tmp_path: Path) -> None:
    pid_file = tmp_path / "orphan.pid"
    script = (
        "import subprocess, sys; "
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)']); "
        f"open({str(pid_file)!r}, 'w').write(str(c.pid)); sys.exit(3)"
    )
    guardian = subprocess.Popen(
        guarded_argv(ProcessLaunch(argv=(sys.executable, "-c", script)), watch_parent=False)
    )
    assert guardian.wait(10) == 3
    assert wait_gone(wait_for_file(pid_file), 5)


def test_parent_death_ends_the_engine(tmp_path: Path) -> None:
    """A stand-in for llmserve starts the guardian and is then SIGKILLed."""
    pid_file = tmp_path / "grandchild.pid"
    parent_script = f"""
import subprocess, sys, time
from llmserve.runtimes.process import guarded_argv
from llmserve.plan import ProcessLaunch
argv = guarded_argv(ProcessLaunch(argv=(sys.executable, "-c", {STUBBORN!r}, {str(pid_file)!r})), watch_parent=True)
argv[argv.index("--grace") + 1] = "0.5"
subprocess.Popen(argv, start_new_session=True)
time.sleep(300)
"""
    parent = subprocess.Popen([sys.executable, "-c", parent_script])
    grandchild = wait_for_file(pid_file)
    parent.kill()
    parent.wait()
    assert wait_gone(grandchild, 10)


def test_command_that_cannot_start(tmp_path: Path) -> None:
    result = subprocess.run(
        guarded_argv(ProcessLaunch(argv=(str(tmp_path / "no-such-engine"),)), watch_parent=False),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 127
    assert "cannot start" in result.stderr

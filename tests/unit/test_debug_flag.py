"""`--debug` adds a traceback to an error and changes nothing else: the line and the exit code stay."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_debug_adds_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_STATE_HOME": str(tmp_path)}
    argv = [sys.executable, "-m", "llmserve", "--debug", "logs", "no-such-server"]
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert "Traceback" in result.stderr
    assert result.returncode == 8  # NOT_FOUND, as without --debug

"""What the benchmark scripts share: the test environment's variables and a free local port."""

from __future__ import annotations

import os
import socket
import sys

ENV_HINT = 'eval "$(./scripts/setup-test-env.sh)" first'


def env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"{name} is not set; {ENV_HINT}")
    return value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

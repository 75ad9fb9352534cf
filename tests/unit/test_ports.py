from __future__ import annotations

import os
import socket

import pytest

from llmserve.errors import PortBusy
from llmserve.ports import ensure_port_free, port_is_free


def test_free_and_busy_ports() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert not port_is_free("127.0.0.1", port)
        with pytest.raises(PortBusy) as raised:
            ensure_port_free("127.0.0.1", port)
        message = raised.value.message
        assert f"port {port} on 127.0.0.1 is already in use" in message
        assert f"pid {os.getpid()}" in message
        assert "--port" in message
    assert port_is_free("127.0.0.1", port)

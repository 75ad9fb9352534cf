"""Is a host port free, and if not, who holds it (where Linux's /proc can tell)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

from llmserve.errors import PortBusy

_LISTEN_STATE = "0A"


def port_is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a port left in TIME_WAIT by a server that just stopped counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def ensure_port_free(host: str, port: int) -> None:
    if port_is_free(host, port):
        return
    holder = port_holder(port)
    held_by = f" (held by {holder})" if holder else ""
    raise PortBusy(f"port {port} on {host} is already in use{held_by}; stop it or choose another with --port")


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _LISTEN_STATE:
                inodes.add(fields[9])
    return inodes


def port_holder(port: int) -> str | None:
    """`pid 123 (python3 -m http.server)` for the process listening on `port`, if visible."""
    inodes = _listening_inodes(port)
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            for fd in (process / "fd").iterdir():
                if str(fd.readlink()) in targets:
                    return f"pid {process.name} ({_command_line(process)})"
        except OSError:
            continue
    return None


def _command_line(process: Path) -> str:
    try:
        raw = (process / "cmdline").read_bytes()
    except OSError:
        return "?"
    words = raw.rstrip(b"\0").split(b"\0")
    text = " ".join(word.decode(errors="replace") for word in words[:3])
    return text if len(text) <= 80 else text[:77] + "..."
